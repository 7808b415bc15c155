//! `pods/{name}/log` over HTTP: which container instance (`previous`), `tailLines`,
//! `limitBytes`, `container`, and the errors a real API server gives; then real
//! kubectl: `kubectl logs --previous` and `kubectl rollout undo` (skipped when kubectl
//! is missing, except under `CI=true`).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, LogParams, PostParams};
use kube::runtime::wait::await_condition;
use serde_json::{Value, json};
use sts_sim::{Sim, SimConfig, annotations};

const TIMEOUT: Duration = Duration::from_secs(60);

fn sts(name: &str, replicas: i32, anns: Value, containers: Value) -> StatefulSet {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "serviceName": name,
            "template": {"metadata": {"labels": {"app": name}, "annotations": anns},
                         "spec": {"containers": containers}},
        }
    }))
    .unwrap()
}

fn nginx() -> Value {
    json!([{"name": "nginx", "image": "nginx"}])
}

async fn create(sim: &Sim, s: StatefulSet) {
    let api: Api<StatefulSet> = Api::namespaced(sim.client(), "default");
    api.create(&PostParams::default(), &s).await.unwrap();
}

/// Wait until pod `name` satisfies `f`.
async fn pod_until(sim: &Sim, name: &str, what: &str, f: impl Fn(&Value) -> bool) -> Value {
    let pods: Api<Pod> = Api::namespaced(sim.client(), "default");
    let cond = move |p: Option<&Pod>| p.is_some_and(|p| f(&serde_json::to_value(p).unwrap()));
    let p = tokio::time::timeout(TIMEOUT, await_condition(pods, name, cond))
        .await
        .unwrap_or_else(|_| panic!("{name}: {what}"))
        .unwrap()
        .unwrap();
    serde_json::to_value(p).unwrap()
}

fn restarts(p: &Value) -> i64 {
    p["status"]["containerStatuses"][0]["restartCount"]
        .as_i64()
        .unwrap_or(0)
}

fn running(p: &Value) -> bool {
    p["status"]["containerStatuses"][0]["state"]["running"].is_object()
}

async fn log_err(pods: &Api<Pod>, name: &str, lp: &LogParams) -> (u16, String) {
    match pods.logs(name, lp).await {
        Err(kube::Error::Api(s)) => (s.code, s.message),
        other => panic!("{name}: expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn log_subresource_previous_tail_limit_container() {
    let sim = Sim::start(SimConfig::default()).await.unwrap();
    // Long-running instances, so the pod can be caught running after a crash.
    create(
        &sim,
        sts(
            "crash",
            1,
            json!({annotations::CRASH_LOOP: "3", annotations::CRASH_AFTER: "3s",
                   annotations::CRASH_MESSAGE: "starting\nboom: config missing"}),
            nginx(),
        ),
    )
    .await;
    create(&sim, sts("good", 1, json!({}), nginx())).await;
    create(
        &sim,
        sts(
            "two",
            1,
            json!({}),
            json!([{"name": "nginx", "image": "nginx"}, {"name": "sidecar", "image": "busybox"}]),
        ),
    )
    .await;
    let pods: Api<Pod> = Api::namespaced(sim.client(), "default");

    // The second instance runs: its own log is empty so far, the crashed one's is there.
    pod_until(&sim, "crash-0", "running after a crash", |p| {
        restarts(p) == 1 && running(p)
    })
    .await;
    let prev = LogParams {
        previous: true,
        ..LogParams::default()
    };
    assert_eq!(
        pods.logs("crash-0", &prev).await.unwrap(),
        "starting\nboom: config missing\n"
    );
    assert_eq!(pods.logs("crash-0", &LogParams::default()).await.unwrap(), "");
    let tail = LogParams {
        previous: true,
        tail_lines: Some(1),
        container: Some("nginx".into()),
        ..LogParams::default()
    };
    assert_eq!(pods.logs("crash-0", &tail).await.unwrap(), "boom: config missing\n");
    let limit = LogParams {
        previous: true,
        limit_bytes: Some(4),
        ..LogParams::default()
    };
    assert_eq!(pods.logs("crash-0", &limit).await.unwrap(), "star");
    let stamped = LogParams {
        previous: true,
        tail_lines: Some(1),
        timestamps: true,
        ..LogParams::default()
    };
    let line = pods.logs("crash-0", &stamped).await.unwrap();
    let (t, rest) = line.split_once(' ').unwrap();
    assert_eq!(rest, "boom: config missing\n");
    assert!(t.parse::<jiff::Timestamp>().is_ok() && t.ends_with('Z'), "{line}");
    // Exited: without previous the last exited instance's log.
    pod_until(&sim, "crash-0", "exited again", |p| {
        p["status"]["containerStatuses"][0]["state"]["terminated"].is_object()
    })
    .await;
    assert_eq!(
        pods.logs("crash-0", &LogParams::default()).await.unwrap(),
        "starting\nboom: config missing\n"
    );

    pod_until(&sim, "good-0", "running", running).await;
    assert_eq!(
        log_err(&pods, "good-0", &prev).await,
        (
            400,
            "previous terminated container \"nginx\" in pod \"good-0\" not found".to_string()
        )
    );
    assert_eq!(pods.logs("good-0", &LogParams::default()).await.unwrap(), "");
    let bad = LogParams {
        container: Some("nope".into()),
        ..LogParams::default()
    };
    assert_eq!(
        log_err(&pods, "good-0", &bad).await,
        (400, "container nope is not valid for pod good-0".to_string())
    );
    let neg = LogParams {
        tail_lines: Some(-1),
        ..LogParams::default()
    };
    assert_eq!(log_err(&pods, "good-0", &neg).await.0, 422);

    pod_until(&sim, "two-0", "running", running).await;
    assert_eq!(
        log_err(&pods, "two-0", &LogParams::default()).await,
        (
            400,
            "a container name must be specified for pod two-0, choose one of: [nginx sidecar]".to_string()
        )
    );
}

#[tokio::test]
async fn log_of_a_container_waiting_to_start() {
    let sim = Sim::start(SimConfig::default()).await.unwrap();
    create(
        &sim,
        sts("nopull", 1, json!({annotations::IMAGE_PULL_FAIL: "true"}), nginx()),
    )
    .await;
    pod_until(&sim, "nopull-0", "ImagePullBackOff", |p| {
        p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "ImagePullBackOff"
    })
    .await;
    let pods: Api<Pod> = Api::namespaced(sim.client(), "default");
    let (code, msg) = log_err(&pods, "nopull-0", &LogParams::default()).await;
    assert_eq!(code, 400);
    assert!(
        msg.starts_with("container \"nginx\" in pod \"nopull-0\" is waiting to start: "),
        "{msg}"
    );
}

/// `$KUBECTL`, else `kubectl` on PATH; None (skip) outside CI.
fn kubectl_or_skip() -> Option<PathBuf> {
    let k = std::env::var_os("KUBECTL")
        .filter(|k| !k.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::split_paths(&std::env::var_os("PATH")?)
                .map(|d| d.join("kubectl"))
                .find(|p| p.is_file())
        });
    if k.is_none() {
        assert!(
            std::env::var("CI").map(|v| v != "true").unwrap_or(true),
            "CI=true but kubectl was not found (set KUBECTL or put kubectl on PATH)"
        );
        eprintln!("kubectl not found (set KUBECTL): skipping");
    }
    k
}

/// (exit code, stdout, stderr)
async fn kubectl(bin: &PathBuf, sim: &Sim, args: &[&str]) -> (i32, String, String) {
    let child = tokio::process::Command::new(bin)
        .arg("--kubeconfig")
        .arg(sim.kubeconfig_path())
        .args(args)
        .env_remove("KUBECONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("kubectl starts");
    let o = tokio::time::timeout(TIMEOUT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("kubectl {args:?} timed out"))
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[tokio::test]
async fn kubectl_logs_previous() {
    let Some(k) = kubectl_or_skip() else { return };
    let sim = Sim::start(SimConfig::default()).await.unwrap();
    create(
        &sim,
        sts(
            "web",
            1,
            json!({annotations::CRASH_LOOP: "true", annotations::CRASH_MESSAGE: "boom: config missing"}),
            nginx(),
        ),
    )
    .await;
    create(&sim, sts("good", 1, json!({}), nginx())).await;
    pod_until(&sim, "web-0", "crashed", |p| {
        !p["status"]["containerStatuses"][0]["lastState"]["terminated"].is_null()
    })
    .await;
    let (code, out, err) = kubectl(&k, &sim, &["logs", "--previous", "web-0"]).await;
    assert_eq!((code, out.as_str()), (0, "boom: config missing\n"), "{err}");
    let (code, out, err) = kubectl(&k, &sim, &["logs", "-p", "web-0", "-c", "nginx", "--tail=1"]).await;
    assert_eq!((code, out.as_str()), (0, "boom: config missing\n"), "{err}");
    pod_until(&sim, "good-0", "running", running).await;
    let (code, _, err) = kubectl(&k, &sim, &["logs", "--previous", "good-0"]).await;
    assert_eq!(code, 1);
    assert_eq!(
        err.trim(),
        "Error from server (BadRequest): previous terminated container \"nginx\" in pod \"good-0\" not found"
    );
}

fn revision_of(p: &Value) -> String {
    p["metadata"]["labels"]["controller-revision-hash"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

#[tokio::test]
async fn kubectl_rollout_undo() {
    let Some(k) = kubectl_or_skip() else { return };
    let sim = Sim::start(SimConfig::default()).await.unwrap();
    create(
        &sim,
        sts("web", 2, json!({}), json!([{"name": "nginx", "image": "nginx:1.25"}])),
    )
    .await;
    let first = revision_of(&pod_until(&sim, "web-0", "ready", running).await);
    let (code, _, err) = kubectl(&k, &sim, &["set", "image", "statefulset/web", "nginx=nginx:1.26"]).await;
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = kubectl(&k, &sim, &["rollout", "status", "statefulset/web", "--timeout=60s"]).await;
    assert_eq!(code, 0, "{err}");
    let second = revision_of(&pod_until(&sim, "web-0", "updated", running).await);
    assert_ne!(first, second);

    let (code, out, err) = kubectl(&k, &sim, &["rollout", "undo", "statefulset/web"]).await;
    assert_eq!((code, out.trim()), (0, "statefulset.apps/web rolled back"), "{err}");
    let (code, _, err) = kubectl(&k, &sim, &["rollout", "status", "statefulset/web", "--timeout=60s"]).await;
    assert_eq!(code, 0, "{err}");
    let api: Api<StatefulSet> = Api::namespaced(sim.client(), "default");
    let s = serde_json::to_value(api.get("web").await.unwrap()).unwrap();
    assert_eq!(s["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.25");
    // The controller reuses the first revision (same template), numbered anew.
    assert_eq!(s["status"]["updateRevision"], first.as_str());
    for name in ["web-0", "web-1"] {
        let p = pod_until(&sim, name, "back at the first revision", |p| {
            revision_of(p) == first && running(p)
        })
        .await;
        assert_eq!(p["spec"]["containers"][0]["image"], "nginx:1.25");
    }
    let (code, out, err) = kubectl(&k, &sim, &["rollout", "history", "statefulset/web"]).await;
    assert_eq!(code, 0, "{err}");
    let revs: Vec<&str> = out
        .lines()
        .skip(2)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(revs, vec!["2", "3"], "{out}");
    // Undo again goes back to the second template.
    let (code, _, err) = kubectl(&k, &sim, &["rollout", "undo", "statefulset/web", "--to-revision=2"]).await;
    assert_eq!(code, 0, "{err}");
    let s = serde_json::to_value(api.get("web").await.unwrap()).unwrap();
    assert_eq!(s["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.26");
}
