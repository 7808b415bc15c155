//! pods/exec end to end: a tiny axum app routing to `sts_sim::exec::handle_request`,
//! driven by kube-rs (`Api::<Pod>::exec`) and by a raw WebSocket client that sees the
//! frames. Pods, PVCs and PVs are put straight into the store. Real processes run in
//! bubblewrap sandboxes, so the exit codes and outputs below are real.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, RawQuery, Request, State};
use axum::response::Response;
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{AttachParams, AttachedProcess};
use serde_json::{Value, json};
use sts_sim::annotations;
use sts_sim::runtime::Runtime;
use sts_sim::store::{Key, Store};
use sts_sim::{Context, SimConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::{self, client::IntoClientRequest, protocol::frame::coding::CloseCode};

const NS: &str = "default";
const TIMEOUT: Duration = Duration::from_secs(20);

struct Harness {
    ctx: Arc<Context>,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

async fn exec_route(
    State(ctx): State<Arc<Context>>,
    Path((ns, name)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    req: Request,
) -> Response {
    sts_sim::exec::handle_request(ctx, ns, name, q.unwrap_or_default(), req).await
}

async fn harness() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let ctx = Arc::new(Context {
        config: SimConfig::default(),
        store: Store::default(),
        runtime: Runtime::new(&dir.path().join("runtime")).unwrap(),
    });
    let app = axum::Router::new()
        .route(
            "/api/v1/namespaces/{ns}/pods/{name}/exec",
            axum::routing::any(exec_route),
        )
        .with_state(ctx.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Harness { ctx, addr, _dir: dir }
}

impl Harness {
    fn client(&self) -> kube::Client {
        let cfg = kube::Config::new(format!("http://{}", self.addr).parse().unwrap());
        kube::Client::try_from(cfg).unwrap()
    }

    fn pods(&self) -> kube::Api<Pod> {
        kube::Api::namespaced(self.client(), NS)
    }

    /// A bound PVC `claim` -> PV `pv-<claim>`.
    fn claim(&self, claim: &str) -> String {
        let pv = format!("pv-{claim}");
        let store = &self.ctx.store;
        store
            .create("", "persistentvolumes", json!({"metadata": {"name": pv}, "spec": {"claimRef": {"name": claim, "namespace": NS}}, "status": {"phase": "Bound"}}))
            .unwrap();
        store
            .create(
                NS,
                "persistentvolumeclaims",
                json!({"metadata": {"name": claim}, "spec": {"volumeName": pv}, "status": {"phase": "Bound"}}),
            )
            .unwrap();
        pv
    }

    /// A Running pod with container `nginx` mounting `data-<name>` at /data plus
    /// whatever `extra` adds (merged into the pod object).
    fn running_pod(&self, name: &str, extra: Value) -> Arc<Value> {
        let mut pod = json!({
            "metadata": {"name": name, "annotations": {}},
            "spec": {
                "nodeName": "sts-sim-node-1",
                "hostname": name,
                "containers": [{
                    "name": "nginx",
                    "image": "nginx:1.25",
                    "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                }],
                "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": format!("data-{name}")}}],
            },
            "status": {"phase": "Running", "containerStatuses": [{"name": "nginx", "state": {"running": {}}}]},
        });
        merge(&mut pod, extra);
        let created = self.ctx.store.create(NS, "pods", pod).unwrap();
        self.ctx.runtime.prepare_pod(&created).unwrap();
        created
    }

    fn uid(&self, pod: &str) -> String {
        let p = self.ctx.store.get(&Key::new("pods", NS, pod)).unwrap();
        p["metadata"]["uid"].as_str().unwrap().to_string()
    }

    /// The kubelet's side of deleting a pod: gone from the store, sandbox removed.
    fn delete_pod(&self, pod: &str) {
        let uid = self.uid(pod);
        self.ctx.store.remove(&Key::new("pods", NS, pod)).unwrap();
        self.ctx.runtime.remove_pod(&uid);
    }
}

fn merge(a: &mut Value, b: Value) {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (a, b) => *a = b,
    }
}

struct Run {
    stdout: String,
    stderr: String,
    status: k8s_openapi::apimachinery::pkg::apis::meta::v1::Status,
}

async fn collect(mut p: AttachedProcess) -> Run {
    let mut out = p.stdout().unwrap();
    let mut err = p.stderr().unwrap();
    let status = p.take_status().unwrap();
    let (mut o, mut e) = (String::new(), String::new());
    let (r1, r2, st) = tokio::join!(out.read_to_string(&mut o), err.read_to_string(&mut e), status);
    r1.unwrap();
    r2.unwrap();
    Run {
        stdout: o,
        stderr: e,
        status: st.expect("a status on the error channel"),
    }
}

/// `kubectl exec` through kube-rs: stdout, stderr, status.
async fn kexec(h: &Harness, pod: &str, argv: &[&str]) -> Run {
    let ap = AttachParams::default().container("nginx").stdout(true).stderr(true);
    let p = tokio::time::timeout(TIMEOUT, h.pods().exec(pod, argv.to_vec(), &ap))
        .await
        .expect("exec upgrade in time")
        .expect("exec upgrade");
    tokio::time::timeout(TIMEOUT, collect(p))
        .await
        .expect("exec finished in time")
}

fn exit_code(run: &Run) -> i32 {
    match run.status.status.as_deref() {
        Some("Success") => 0,
        _ => run
            .status
            .details
            .as_ref()
            .and_then(|d| d.causes.as_ref())
            .and_then(|c| c.iter().find(|c| c.reason.as_deref() == Some("ExitCode")))
            .and_then(|c| c.message.as_deref())
            .and_then(|m| m.parse().ok())
            .unwrap_or(-1),
    }
}

/// What a raw WebSocket client saw.
#[derive(Debug)]
struct Frames {
    protocol: Option<String>,
    frames: Vec<(u8, Vec<u8>)>,
    close: Option<CloseCode>,
}

impl Frames {
    fn channel(&self, ch: u8) -> Vec<u8> {
        self.frames
            .iter()
            .filter(|f| f.0 == ch)
            .flat_map(|f| f.1.clone())
            .collect()
    }
    fn status(&self) -> Value {
        serde_json::from_slice(&self.channel(3)).expect("status JSON on channel 3")
    }
}

/// Open a raw exec WebSocket; Err((http status, body)) when the handshake is refused.
async fn raw_connect(
    h: &Harness,
    pod: &str,
    query: &str,
    protocols: &str,
) -> Result<
    (
        tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
        Option<String>,
    ),
    (u16, String),
> {
    let url = format!("ws://{}/api/v1/namespaces/{NS}/pods/{pod}/exec?{query}", h.addr);
    let mut req = url.into_client_request().unwrap();
    if !protocols.is_empty() {
        req.headers_mut()
            .insert("Sec-WebSocket-Protocol", protocols.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((ws, resp)) => {
            let proto = resp
                .headers()
                .get("Sec-WebSocket-Protocol")
                .map(|v| v.to_str().unwrap().to_string());
            Ok((ws, proto))
        }
        Err(tungstenite::Error::Http(resp)) => {
            let body = resp.body().as_ref().map(|b| String::from_utf8_lossy(b).to_string());
            Err((resp.status().as_u16(), body.unwrap_or_default()))
        }
        Err(e) => panic!("websocket connect: {e}"),
    }
}

async fn raw_exec(h: &Harness, pod: &str, query: &str, protocols: &str) -> Result<Frames, (u16, String)> {
    let (mut ws, protocol) = raw_connect(h, pod, query, protocols).await?;
    let mut frames = Vec::new();
    let mut close = None;
    let read = async {
        while let Some(m) = ws.next().await {
            match m.expect("websocket message") {
                tungstenite::Message::Binary(b) => frames.push((b[0], b[1..].to_vec())),
                tungstenite::Message::Close(c) => {
                    close = c.map(|c| c.code);
                    break;
                }
                _ => {}
            }
        }
    };
    tokio::time::timeout(TIMEOUT, read)
        .await
        .expect("exec finished in time");
    Ok(Frames {
        protocol,
        frames,
        close,
    })
}

fn q(argv: &[&str]) -> String {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for a in argv {
        ser.append_pair("command", a);
    }
    ser.append_pair("container", "nginx");
    ser.append_pair("stdout", "true");
    ser.append_pair("stderr", "true");
    ser.finish()
}

// ------------------------------------------------------------------------------------

#[tokio::test]
async fn kube_exec_streams_stdout_stderr_and_success() {
    let h = harness().await;
    h.claim("data-web-0");
    h.running_pod("web-0", json!({}));
    let run = kexec(
        &h,
        "web-0",
        &["sh", "-c", "echo out; echo err >&2; hostname; cat /etc/hostname"],
    )
    .await;
    assert_eq!(run.stdout, "out\nweb-0\nweb-0\n");
    assert_eq!(run.stderr, "err\n");
    assert_eq!(run.status.status.as_deref(), Some("Success"));
    assert_eq!(exit_code(&run), 0);
}

#[tokio::test]
async fn exit_code_3_has_the_real_frames() {
    let h = harness().await;
    h.claim("data-web-0");
    h.running_pod("web-0", json!({}));
    let f = raw_exec(&h, "web-0", &q(&["sh", "-c", "echo out; exit 3"]), "v4.channel.k8s.io")
        .await
        .unwrap();
    assert_eq!(f.protocol.as_deref(), Some("v4.channel.k8s.io"));
    // One empty frame on the lowest writable channel, then output, then the status.
    assert_eq!(f.frames[0], (1, vec![]));
    assert_eq!(f.frames.iter().filter(|x| x.1.is_empty()).count(), 1);
    assert_eq!(f.channel(1), b"out\n");
    assert_eq!(f.frames.last().unwrap().0, 3);
    assert_eq!(
        String::from_utf8(f.channel(3)).unwrap(),
        r#"{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: error executing command [sh -c echo out; exit 3], exit code 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}"#
    );
    assert_eq!(f.close, Some(CloseCode::Normal));

    let run = kexec(&h, "web-0", &["sh", "-c", "exit 42"]).await;
    assert_eq!(exit_code(&run), 42);
    assert_eq!(run.status.reason.as_deref(), Some("NonZeroExitCode"));
}

#[tokio::test]
async fn v5_is_preferred_and_v4_only_clients_work() {
    let h = harness().await;
    h.claim("data-web-0");
    h.running_pod("web-0", json!({}));
    let argv = q(&["echo", "hi"]);
    let f = raw_exec(&h, "web-0", &argv, "v4.channel.k8s.io, v5.channel.k8s.io")
        .await
        .unwrap();
    assert_eq!(f.protocol.as_deref(), Some("v5.channel.k8s.io"));
    assert_eq!(f.channel(1), b"hi\n");
    assert_eq!(f.channel(3), br#"{"metadata":{},"status":"Success"}"#);
    let f = raw_exec(&h, "web-0", &argv, "v4.channel.k8s.io").await.unwrap();
    assert_eq!(f.protocol.as_deref(), Some("v4.channel.k8s.io"));
    assert_eq!(f.channel(3), br#"{"metadata":{},"status":"Success"}"#);
    // The oldest protocol: no status on success, the message text on failure.
    let f = raw_exec(&h, "web-0", &argv, "channel.k8s.io").await.unwrap();
    assert_eq!(f.protocol.as_deref(), Some("channel.k8s.io"));
    assert_eq!(f.channel(1), b"hi\n");
    assert!(f.channel(3).is_empty());
    // Unsupported offers are refused like golang.org/x/net/websocket does.
    let e = raw_exec(&h, "web-0", &argv, "v6.channel.k8s.io").await.unwrap_err();
    assert_eq!(e.0, 403);
    let e = raw_exec(&h, "web-0", &argv, "base64.channel.k8s.io").await.unwrap_err();
    assert_eq!(e.0, 403);
}

fn assert_runtime_error(status: &Value, cause: &str) {
    assert_eq!(status["status"], "Failure");
    assert_eq!(status["reason"], "InternalError");
    assert_eq!(status["code"], 500);
    let msg = status["message"].as_str().unwrap();
    let inner = msg
        .strip_prefix("Internal error occurred: ")
        .expect("internal error prefix");
    assert_eq!(status["details"]["causes"][0]["message"], inner);
    let rest = inner
        .strip_prefix("error executing command in container: failed to exec in container: failed to start exec \"")
        .expect("runtime prefix");
    let (id, rest) = rest.split_at(64);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "exec id {id}");
    assert_eq!(
        rest,
        format!("\": OCI runtime exec failed: exec failed: unable to start container process: {cause}: unknown")
    );
}

#[tokio::test]
async fn missing_binary_and_distroless_give_the_runtime_error() {
    let h = harness().await;
    h.claim("data-web-0");
    h.claim("data-app-0");
    h.running_pod("web-0", json!({}));
    h.running_pod(
        "app-0",
        json!({"spec": {"containers": [{"name": "nginx", "image": "gcr.io/distroless/static:nonroot", "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}}),
    );
    let f = raw_exec(&h, "web-0", &q(&["/nonexistent"]), "v4.channel.k8s.io")
        .await
        .unwrap();
    assert_eq!(f.frames[0], (1, vec![]));
    assert_runtime_error(
        &f.status(),
        "exec: \"/nonexistent\": stat /nonexistent: no such file or directory",
    );
    assert_eq!(f.close, Some(CloseCode::Normal));

    let f = raw_exec(&h, "web-0", &q(&["no-such-tool", "x"]), "v5.channel.k8s.io")
        .await
        .unwrap();
    assert_runtime_error(
        &f.status(),
        "exec: \"no-such-tool\": executable file not found in $PATH",
    );

    let f = raw_exec(&h, "app-0", &q(&["sh", "-c", "ls /data"]), "v5.channel.k8s.io")
        .await
        .unwrap();
    assert_runtime_error(&f.status(), "exec: \"sh\": executable file not found in $PATH");
    // Through kube-rs too.
    let run = kexec(&h, "app-0", &["ls", "/data"]).await;
    assert_eq!(run.status.code, Some(500));
    assert_eq!(run.status.reason.as_deref(), Some("InternalError"));

    // The no-shell annotation does the same to any image.
    h.claim("data-cm-0");
    h.running_pod(
        "cm-0",
        json!({"metadata": {"annotations": {annotations::NO_SHELL: "nginx"}}}),
    );
    let f = raw_exec(&h, "cm-0", &q(&["sh"]), "v5.channel.k8s.io").await.unwrap();
    assert_runtime_error(&f.status(), "exec: \"sh\": executable file not found in $PATH");
}

#[tokio::test]
async fn pvc_data_survives_pod_recreation_the_rest_does_not() {
    let h = harness().await;
    let pv = h.claim("data-web-0");
    h.running_pod("web-0", json!({}));
    let run = kexec(
        &h,
        "web-0",
        &[
            "sh",
            "-c",
            "ls /data; echo v1 > /data/marker; echo tmp > /root/scratch; sync",
        ],
    )
    .await;
    assert_eq!(run.stdout, "lost+found\n");
    assert_eq!(exit_code(&run), 0, "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(h.ctx.runtime.volume_dir(&pv).join("marker")).unwrap(),
        "v1\n"
    );

    let old_uid = h.uid("web-0");
    h.delete_pod("web-0");
    assert!(!h.ctx.runtime.pod_dir(&old_uid).exists());
    h.running_pod("web-0", json!({}));
    assert_ne!(h.uid("web-0"), old_uid);
    let run = kexec(&h, "web-0", &["cat", "/data/marker"]).await;
    assert_eq!((run.stdout.as_str(), exit_code(&run)), ("v1\n", 0));
    let run = kexec(&h, "web-0", &["test", "-e", "/root/scratch"]).await;
    assert_eq!(exit_code(&run), 1);
}

#[tokio::test]
async fn read_only_mount_rejects_writes() {
    let h = harness().await;
    let pv = h.claim("data-web-0");
    std::fs::write(h.ctx.runtime.volume_dir(&pv).join("seed"), "x").unwrap();
    h.running_pod(
        "web-0",
        json!({"spec": {"containers": [{"name": "nginx", "image": "nginx", "volumeMounts": [{"name": "data", "mountPath": "/data", "readOnly": true}]}]}}),
    );
    let run = kexec(&h, "web-0", &["touch", "/data/new"]).await;
    assert_eq!(exit_code(&run), 1);
    assert!(run.stderr.contains("Read-only file system"), "stderr: {}", run.stderr);
    let run = kexec(&h, "web-0", &["cat", "/data/seed"]).await;
    assert_eq!((run.stdout.as_str(), exit_code(&run)), ("x", 0));
    assert!(!h.ctx.runtime.volume_dir(&pv).join("new").exists());
}

#[tokio::test]
async fn read_only_root_filesystem_keeps_volumes_writable() {
    let h = harness().await;
    let pv = h.claim("data-web-0");
    h.running_pod(
        "web-0",
        json!({"spec": {"containers": [{"name": "nginx", "image": "nginx", "workingDir": "/work/dir",
            "securityContext": {"readOnlyRootFilesystem": true},
            "volumeMounts": [{"name": "data", "mountPath": "/data"}, {"name": "data", "mountPath": "/data/nested/logs", "subPath": "logs"}]}]}}),
    );
    let run = kexec(
        &h,
        "web-0",
        &["sh", "-c", "pwd; touch /data/nested/logs/l /data/ok; touch /root/x"],
    )
    .await;
    assert_eq!(run.stdout, "/work/dir\n");
    assert_eq!(exit_code(&run), 1);
    assert!(run.stderr.contains("Read-only file system"), "{}", run.stderr);
    assert!(h.ctx.runtime.volume_dir(&pv).join("logs/l").is_file());
    assert!(h.ctx.runtime.volume_dir(&pv).join("ok").is_file());
}

#[tokio::test]
async fn sub_path_and_awkward_mount_paths() {
    let h = harness().await;
    let pv = h.claim("data-web-0");
    let odd = "/var/lib/my data/it's \"quoted\"/ünïcødé";
    h.running_pod(
        "web-0",
        json!({"spec": {"containers": [{"name": "nginx", "image": "nginx", "volumeMounts": [
            {"name": "data", "mountPath": "/data"},
            {"name": "data", "mountPath": "/srv/pg", "subPath": "pgdata/main"},
            {"name": "data", "mountPath": odd},
            {"name": "scratch", "mountPath": "/scratch"},
        ]}], "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data-web-0"}}, {"name": "scratch", "emptyDir": {}}]}}),
    );
    let file = format!("{odd}/f 1");
    let run = kexec(&h, "web-0", &["touch", "/srv/pg/PG_VERSION", &file, "/scratch/s"]).await;
    assert_eq!(exit_code(&run), 0, "{}", run.stderr);
    let vol = h.ctx.runtime.volume_dir(&pv);
    assert!(vol.join("pgdata/main/PG_VERSION").is_file());
    assert!(vol.join("f 1").is_file());
    let run = kexec(&h, "web-0", &["ls", "/data/pgdata/main", odd]).await;
    assert!(
        run.stdout.contains("PG_VERSION") && run.stdout.contains("f 1"),
        "{}",
        run.stdout
    );
    // The emptyDir belongs to the pod.
    let uid = h.uid("web-0");
    assert!(
        h.ctx
            .runtime
            .pod_volume_dir(&uid, "scratch")
            .unwrap()
            .join("s")
            .is_file()
    );
}

#[tokio::test]
async fn exec_fail_after_n() {
    let h = harness().await;
    h.claim("data-web-0");
    h.running_pod(
        "web-0",
        json!({"metadata": {"annotations": {annotations::EXEC_FAIL: "after-2"}}}),
    );
    for _ in 0..2 {
        assert_eq!(exit_code(&kexec(&h, "web-0", &["true"]).await), 0);
    }
    let f = raw_exec(&h, "web-0", &q(&["true"]), "v5.channel.k8s.io").await.unwrap();
    assert_runtime_error(&f.status(), "error executing setns process: exit status 1");
    let run = kexec(&h, "web-0", &["true"]).await;
    assert_eq!(run.status.code, Some(500));
}

/// The exec runs, but its answer is lost: no output, no status, the connection just
/// ends. The command's effect is there all the same.
#[tokio::test]
async fn exec_lost_response_runs_the_command_but_answers_nothing() {
    let h = harness().await;
    let pv = h.claim("data-web-0");
    h.running_pod(
        "web-0",
        json!({"metadata": {"annotations": {annotations::EXEC_LOST_RESPONSE: "after-1"}}}),
    );
    assert_eq!(exit_code(&kexec(&h, "web-0", &["true"]).await), 0);
    let ap = AttachParams::default().container("nginx").stdout(true).stderr(true);
    let mut p = h
        .pods()
        .exec("web-0", vec!["sh", "-c", "echo ran > /data/f; echo visible"], &ap)
        .await
        .expect("exec upgrade");
    let status = p.take_status().unwrap();
    let mut stdout = p.stdout().unwrap();
    // The status future ends with the stream. (kube-rs does not close the stdout reader
    // when the connection breaks, so EOF is not waited for: nothing is buffered.)
    let st = tokio::time::timeout(TIMEOUT, status).await.expect("the stream ends");
    assert_eq!(st, None, "no status frame");
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_millis(300), stdout.read(&mut buf)).await;
    assert!(matches!(read, Err(_) | Ok(Ok(0))), "no output: {read:?}");
    assert_eq!(
        std::fs::read_to_string(h.ctx.runtime.volume_dir(&pv).join("f")).unwrap(),
        "ran\n"
    );
}

#[tokio::test]
async fn stdin_is_piped_and_half_closed_with_v5() {
    let h = harness().await;
    h.claim("data-web-0");
    h.running_pod("web-0", json!({}));
    let ap = AttachParams::default()
        .container("nginx")
        .stdin(true)
        .stdout(true)
        .stderr(true);
    let mut p = h
        .pods()
        .exec("web-0", vec!["sh", "-c", "cat > /data/in; wc -c < /data/in"], &ap)
        .await
        .unwrap();
    let mut stdin = p.stdin().unwrap();
    let payload = "line one\nline two with ünïcode\n".repeat(1000);
    stdin.write_all(payload.as_bytes()).await.unwrap();
    // EOF: kube-rs sends the v5 close signal for channel 0 (dropping the half is not
    // enough: both halves share the pipe).
    stdin.shutdown().await.unwrap();
    let run = tokio::time::timeout(TIMEOUT, collect(p)).await.unwrap();
    assert_eq!(run.stdout.trim(), payload.len().to_string());
    assert_eq!(exit_code(&run), 0);
}

#[tokio::test]
async fn concurrent_execs_are_independent() {
    let h = harness().await;
    h.claim("data-web-0");
    h.running_pod("web-0", json!({}));
    let runs = futures::future::join_all((0..8).map(|i| {
        let h = &h;
        async move {
            let arg = format!("n{i}");
            let run = kexec(
                h,
                "web-0",
                &["sh", "-c", "echo $0; echo $0 >&2; exit $1", &arg, &i.to_string()],
            )
            .await;
            (i, run)
        }
    }))
    .await;
    for (i, run) in runs {
        assert_eq!(run.stdout, format!("n{i}\n"));
        assert_eq!(run.stderr, format!("n{i}\n"));
        assert_eq!(exit_code(&run), i);
    }
}

#[tokio::test]
async fn wipe_volume_leaves_a_fresh_disk() {
    let h = harness().await;
    let pv = h.claim("data-web-0");
    h.running_pod("web-0", json!({}));
    let run = kexec(
        &h,
        "web-0",
        &[
            "sh",
            "-c",
            "mkdir -p /data/d/e && echo x > /data/d/e/f && echo y > /data/g",
        ],
    )
    .await;
    assert_eq!(exit_code(&run), 0);
    h.ctx.runtime.wipe_volume(&pv);
    let run = kexec(&h, "web-0", &["ls", "-A", "/data"]).await;
    assert_eq!(run.stdout, "lost+found\n");
}

#[tokio::test]
async fn errors_before_the_upgrade_match_the_api_server() {
    let h = harness().await;
    h.claim("data-web-0");
    h.running_pod("web-0", json!({}));
    let argv = q(&["true"]);
    // Unknown pod: 404 Status.
    let (code, body) = raw_exec(&h, "nope", &argv, "v5.channel.k8s.io").await.unwrap_err();
    assert_eq!(code, 404);
    let st: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(st["message"], "pods \"nope\" not found");
    // Unknown container: 400.
    let (code, body) = raw_exec(
        &h,
        "web-0",
        "command=true&container=redis&stdout=true",
        "v5.channel.k8s.io",
    )
    .await
    .unwrap_err();
    assert_eq!(code, 400);
    let st: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(st["reason"], "BadRequest");
    assert_eq!(st["message"], "container redis is not valid for pod web-0");
    // Through kube-rs the Status becomes an API error.
    let ap = AttachParams::default().container("redis");
    match h.pods().exec("web-0", vec!["true"], &ap).await {
        Err(kube::Error::Api(s)) => assert_eq!(s.code, 400),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("exec into an unknown container succeeded"),
    }
    // A single container is the default.
    let f = raw_exec(&h, "web-0", "command=echo&command=ok&stdout=true", "v5.channel.k8s.io")
        .await
        .unwrap();
    assert_eq!(f.channel(1), b"ok\n");
    // Several containers and none named: 400 listing them.
    h.claim("data-two-0");
    h.running_pod(
        "two-0",
        json!({"spec": {"containers": [{"name": "nginx", "image": "nginx"}, {"name": "sidecar", "image": "busybox"}]}}),
    );
    let (code, body) = raw_exec(&h, "two-0", "command=true&stdout=true", "v5.channel.k8s.io")
        .await
        .unwrap_err();
    assert_eq!(code, 400);
    assert!(body.contains("a container name must be specified for pod two-0, choose one of: [nginx sidecar]"));
    // A pod whose container is not running yet: the kubelet does not find it.
    h.claim("data-web-1");
    h.running_pod(
        "web-1",
        json!({"status": {"phase": "Pending", "containerStatuses": [{"name": "nginx", "state": {"waiting": {"reason": "ContainerCreating"}}}]}}),
    );
    let (code, body) = raw_exec(&h, "web-1", &argv, "v5.channel.k8s.io").await.unwrap_err();
    assert_eq!((code, body.trim()), (500, "container not found (\"nginx\")"));
    // Not a WebSocket (an SPDY client): validated, then 400.
    let url = format!("http://{}/api/v1/namespaces/{NS}/pods/nope/exec?{argv}", h.addr);
    let r = post(&url).await;
    assert_eq!(r, 404);
    let url = format!("http://{}/api/v1/namespaces/{NS}/pods/web-0/exec?{argv}", h.addr);
    assert_eq!(post(&url).await, 400);
}

/// A bare HTTP/1.1 POST; returns the status code.
async fn post(url: &str) -> u16 {
    let uri: axum::http::Uri = url.parse().unwrap();
    let mut s = tokio::net::TcpStream::connect(uri.authority().unwrap().as_str())
        .await
        .unwrap();
    let req = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        uri.path_and_query().unwrap(),
        uri.authority().unwrap()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).await.unwrap();
    resp.split(' ').nth(1).unwrap().parse().unwrap()
}

/// Processes whose command line contains `needle`.
fn processes_with(needle: &str) -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .filter(|c| String::from_utf8_lossy(c).contains(needle))
        .count()
}

#[tokio::test]
async fn client_going_away_kills_the_process_tree() {
    let h = harness().await;
    h.claim("data-web-0");
    h.running_pod("web-0", json!({}));
    let marker = format!("{}", 90000 + u32::from(rand_u16()));
    let (mut ws, _) = raw_connect(
        &h,
        "web-0",
        &q(&["sh", "-c", "echo started; sleep $0 & wait", &marker]),
        "v5.channel.k8s.io",
    )
    .await
    .unwrap();
    // Wait for the process to be up.
    let started = async {
        while let Some(Ok(m)) = ws.next().await {
            if let tungstenite::Message::Binary(b) = m
                && b.as_ref() == b"\x01started\n"
            {
                return;
            }
        }
        panic!("stream ended before the process started");
    };
    tokio::time::timeout(TIMEOUT, started).await.unwrap();
    assert!(processes_with(&marker) > 0);
    ws.close(None).await.unwrap();
    drop(ws);
    let gone = async {
        while processes_with(&marker) > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(TIMEOUT, gone)
        .await
        .expect("the sandboxed processes were killed");
}

fn rand_u16() -> u16 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    (t.subsec_nanos() % 9000) as u16 + std::process::id() as u16 % 1000
}

#[test]
fn prepare_pod_is_cheap_and_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let rt = Runtime::new(dir.path()).unwrap();
    let pod = |i: usize| {
        json!({"metadata": {"name": format!("web-{i}"), "uid": format!("uid-{i}")},
            "spec": {"containers": [{"name": "nginx", "image": "nginx"}], "volumes": [{"name": "tmp", "emptyDir": {}}]}})
    };
    let start = std::time::Instant::now();
    for i in 0..5000 {
        rt.prepare_pod(&pod(i)).unwrap();
        rt.prepare_pod(&pod(i)).unwrap();
    }
    let took = start.elapsed();
    eprintln!("prepare_pod x2 for 5000 pods: {took:?}");
    assert!(took < Duration::from_secs(2), "5000 pods took {took:?}");
    // remove_pod takes everything of the pod, and only that pod.
    for i in [1, 2] {
        rt.container_rootfs(&pod(i), "nginx").unwrap();
        rt.pod_volume_dir(&format!("uid-{i}"), "tmp").unwrap();
    }
    rt.remove_pod("uid-1");
    assert!(!rt.pod_dir("uid-1").exists());
    assert!(rt.pod_dir("uid-2").join("volumes/tmp").is_dir());
    rt.remove_pod("uid-never-started");
    // A fresh volume looks like a fresh ext4 disk.
    assert!(rt.volume_dir("pv-1").join("lost+found").is_dir());
    // Names from objects cannot escape the root.
    assert!(rt.ensure_volume("../x").is_err());
    for bad in ["..", ".", "../x", "a/b", ""] {
        let d = rt.volume_dir(bad);
        assert_eq!(
            d.parent(),
            Some(dir.path().join("volumes").as_path()),
            "{bad:?} -> {d:?}"
        );
        assert_ne!(d, dir.path().join("volumes"));
    }
    assert!(rt.prepare_pod(&json!({"metadata": {"uid": "../../etc"}})).is_err());
}

#[test]
fn first_exec_rootfs_build_is_fast_and_rebuilt_on_image_change() {
    let dir = tempfile::tempdir().unwrap();
    let rt = Runtime::new(dir.path()).unwrap();
    let pod = |image: &str| json!({"metadata": {"name": "web-0", "uid": "u1"}, "spec": {"containers": [{"name": "nginx", "image": image}]}});
    let start = std::time::Instant::now();
    let rootfs = rt.container_rootfs(&pod("nginx:1.25"), "nginx").unwrap();
    let took = start.elapsed();
    assert!(took < Duration::from_secs(2), "first rootfs build took {took:?}");
    assert!(rootfs.join("bin/sh").is_file() && rootfs.join("usr/bin/env").is_file());
    std::fs::write(rootfs.join("root/scratch"), "x").unwrap();
    // Same image: the writable layer is kept.
    assert_eq!(rt.container_rootfs(&pod("nginx:1.25"), "nginx").unwrap(), rootfs);
    assert!(rootfs.join("root/scratch").exists());
    // New image (kubectl set image on the pod): the container is recreated.
    let rootfs = rt.container_rootfs(&pod("nginx:1.26"), "nginx").unwrap();
    assert!(!rootfs.join("root/scratch").exists());
    let rootfs = rt.container_rootfs(&pod("gcr.io/distroless/base"), "nginx").unwrap();
    assert!(!rootfs.join("bin").exists() && rootfs.join("etc/hostname").is_file());
    // Later pods only hard-link busybox and write the applet links.
    let start = std::time::Instant::now();
    for i in 0..20 {
        let p = json!({"metadata": {"name": "web-0", "uid": format!("n{i}")}, "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}});
        rt.container_rootfs(&p, "nginx").unwrap();
    }
    eprintln!(
        "first rootfs build: {took:?}, then {:?} per container",
        start.elapsed() / 20
    );
    // The applet links come from one image layer by hard link (a new inode per applet
    // costs ~1 ms on a journaling disk), yet each rootfs stays its own: removing or
    // replacing a link in one container leaves the others and the layer intact.
    use std::os::unix::fs::MetadataExt;
    let a = rt.pod_dir("n0").join("containers/nginx/rootfs");
    let b = rt.pod_dir("n1").join("containers/nginx/rootfs");
    let sh = std::fs::symlink_metadata(a.join("bin/sh")).unwrap();
    assert!(sh.file_type().is_symlink());
    assert!(
        sh.nlink() >= 3,
        "bin/sh is not shared from the layer: nlink {}",
        sh.nlink()
    );
    std::fs::remove_file(a.join("bin/sh")).unwrap();
    std::fs::remove_file(a.join("usr/bin/env")).unwrap();
    std::os::unix::fs::symlink("/nowhere", a.join("usr/bin/env")).unwrap();
    assert!(b.join("bin/sh").is_file() && b.join("usr/bin/env").is_file());
    let c = rt
        .container_rootfs(&json!({"metadata": {"name": "web-1", "uid": "fresh"}, "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}), "nginx")
        .unwrap();
    assert!(c.join("bin/sh").is_file() && c.join("usr/bin/env").is_file());
}

#[tokio::test]
async fn exec_dies_with_its_pod() {
    let h = harness().await;
    h.claim("data-web-0");
    h.running_pod("web-0", json!({}));
    let (mut ws, _) = raw_connect(
        &h,
        "web-0",
        &q(&["sh", "-c", "echo started; exec sleep 600"]),
        "v5.channel.k8s.io",
    )
    .await
    .unwrap();
    let mut frames = Vec::new();
    let read = async {
        while let Some(Ok(m)) = ws.next().await {
            if let tungstenite::Message::Binary(b) = m {
                if b.as_ref() == b"\x01started\n" {
                    h.delete_pod("web-0");
                }
                frames.push((b[0], b[1..].to_vec()));
            }
        }
    };
    tokio::time::timeout(TIMEOUT, read)
        .await
        .expect("the exec ended with its pod");
    let status: Value = serde_json::from_slice(&frames.last().unwrap().1).unwrap();
    assert_eq!(status["reason"], "NonZeroExitCode");
    assert_eq!(status["details"]["causes"][0]["message"], "137");
}

#[tokio::test]
async fn large_output_arrives_complete_and_in_order() {
    let h = harness().await;
    h.claim("data-web-0");
    h.running_pod("web-0", json!({}));
    let run = kexec(&h, "web-0", &["sh", "-c", "seq 1 200000; seq 1 1000 >&2"]).await;
    let want: String = (1..=200_000).map(|i| format!("{i}\n")).collect();
    assert_eq!(run.stdout.len(), want.len());
    assert!(run.stdout == want, "stdout differs from seq's output");
    assert_eq!(run.stderr.lines().count(), 1000);
    assert_eq!(exit_code(&run), 0);
}

#[tokio::test]
async fn tty_gets_a_pty_and_resizes() {
    let h = harness().await;
    h.claim("data-web-0");
    h.running_pod("web-0", json!({}));
    let ap = AttachParams::interactive_tty().container("nginx");
    // The shell waits (bounded) for the resize to land, so the order in which kube-rs
    // sends the resize and the input does not matter.
    let script = r#"i=0; while [ "$(stty size)" != "45 123" ] && [ $i -lt 2000 ]; do i=$((i+1)); done
[ -t 0 ] && [ -t 1 ] && echo is-a-tty; stty size; read x; echo "got $x"; exit 5"#;
    let mut p = h.pods().exec("web-0", vec!["sh", "-c", script], &ap).await.unwrap();
    p.terminal_size()
        .unwrap()
        .try_send(kube::api::TerminalSize { width: 123, height: 45 })
        .unwrap();
    let mut stdin = p.stdin().unwrap();
    stdin.write_all(b"go\n").await.unwrap();
    let mut stdout = p.stdout().unwrap();
    let status = p.take_status().unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(TIMEOUT, stdout.read_to_end(&mut out))
        .await
        .unwrap()
        .unwrap();
    let st = tokio::time::timeout(TIMEOUT, status).await.unwrap().unwrap();
    let out = String::from_utf8_lossy(&out);
    // A terminal: input echoed, \n turned into \r\n, the window size applied.
    assert!(out.contains("is-a-tty\r\n"), "{out:?}");
    assert!(out.contains("45 123\r\n"), "{out:?}");
    assert!(out.contains("got go\r\n"), "{out:?}");
    assert_eq!(st.reason.as_deref(), Some("NonZeroExitCode"));
}
