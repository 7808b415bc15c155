//! `pods/exec` over WebSocket: runs the command as a real process in the container's
//! sandbox (see [`crate::runtime`] and [`sandbox`]), so stdout, stderr and exit codes
//! are real.
//!
//! What the real server does, and this follows:
//! - Validation before the upgrade (pkg/registry/core/pod/strategy.go `streamLocation`):
//!   404 for a missing pod; `validateContainer`: no `container` and exactly one
//!   container picks it, several give 400 `a container name must be specified for pod
//!   web-0, choose one of: [a b]` (kubectl sends the first one), an unknown one 400
//!   `container x is not valid for pod y`; no node: 400 `pod x does not have a host
//!   assigned`. A container that is not running is not found by the kubelet
//!   (`GetExec` -> `findContainer` over running pods): 500, plain text
//!   `container not found ("nginx")`, echoed through the API server's proxy.
//! - Subprotocols: an offer containing `v5.channel.k8s.io` goes to the API server's
//!   stream translator (1.30+, `TranslateStreamCloseWebsocketRequests`), which speaks
//!   v5 only. Other offers reach the kubelet, which picks the first offered of
//!   `v4.channel.k8s.io`, `channel.k8s.io` (or no subprotocol at all). Anything else:
//!   403 with an empty body, as golang.org/x/net/websocket's handshake answers (the
//!   1.24 capture shows it for a v5-only offer). `base64.channel.k8s.io` variants are
//!   not implemented (403).
//! - Frames: binary, first byte = channel (0 stdin, 1 stdout, 2 stderr, 3 error,
//!   4 resize, 255 v5 close). After the upgrade the server writes one empty frame to
//!   the lowest writable channel (stdout, else stderr, else error:
//!   remotecommand/websocket.go `createWebSocketStreams`), streams output as the
//!   process writes it, then writes the status on channel 3 and closes with 1000.
//!   v1 (`channel.k8s.io`) writes only a failure's message text on channel 3.
//! - The sandbox (see [`sandbox`]): the container's rootfs at `/` (read-only with
//!   `securityContext.readOnlyRootFilesystem`), its volumeMounts bound in (PVC -> PV
//!   data dir, `subPath`, `readOnly` -> EROFS), `/proc`, `/dev`, own pid/uts/ipc
//!   namespaces, hostname = the pod's, env = PATH/HOSTNAME/HOME + literal `env`, cwd =
//!   `workingDir` or `/`. argv is passed as is, never through a shell. A missing
//!   executable is detected first and reported as runc does (`InternalError`).
//! - A client that goes away kills the process tree (bwrap `--die-with-parent` in its
//!   own pid namespace); so does the pod's removal ([`crate::runtime::Runtime::remove_pod`]:
//!   exit 137, as for a stopped container).
//!
//! Not implemented: SPDY (`POST` with `Upgrade: SPDY/3.1`): [`handle_request`] answers
//! it with a 400 `Upgrade request required`, after the same validation, so kubectl's
//! fallback reports the right error; `$(VAR)` expansion in env; `base64.channel.k8s.io`.
//! `tty=true` gets a real pty (see [`tty`]), stderr merged into it as the kubelet does.

pub mod sandbox;
pub mod status;
pub mod tty;

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::annotations;
use crate::context::Context;
use crate::error::ApiError;
use crate::runtime;
use crate::store::Key;

use sandbox::{Mount, Sandbox};
use status::Outcome;

pub const V5: &str = "v5.channel.k8s.io";
pub const V4: &str = "v4.channel.k8s.io";
pub const V1: &str = "channel.k8s.io";

const STDIN: u8 = 0;
const STDOUT: u8 = 1;
const STDERR: u8 = 2;
const ERROR: u8 = 3;
const RESIZE: u8 = 4;
const CLOSE: u8 = 255;

/// The negotiated stream protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// `v5.channel.k8s.io`: v4 + the close signal (channel 255) for half-closing stdin.
    V5,
    /// `v4.channel.k8s.io`: JSON `metav1.Status` on the error channel.
    V4,
    /// `channel.k8s.io` or no subprotocol: plain error text on the error channel.
    /// The `bool` says whether the client named it (and so gets it echoed).
    V1(bool),
}

impl Protocol {
    pub fn name(self) -> Option<&'static str> {
        match self {
            Protocol::V5 => Some(V5),
            Protocol::V4 => Some(V4),
            Protocol::V1(true) => Some(V1),
            Protocol::V1(false) => None,
        }
    }
}

/// Pick the protocol for the client's offer (in its order), as described in the
/// module doc. None: unsupported offer (403).
pub fn negotiate<'a>(offered: impl IntoIterator<Item = &'a str>) -> Option<Protocol> {
    let offered: Vec<&str> = offered.into_iter().map(str::trim).filter(|p| !p.is_empty()).collect();
    if offered.is_empty() {
        return Some(Protocol::V1(false));
    }
    if offered.contains(&V5) {
        return Some(Protocol::V5);
    }
    offered.iter().find_map(|p| match *p {
        V4 => Some(Protocol::V4),
        V1 => Some(Protocol::V1(true)),
        _ => None,
    })
}

/// `PodExecOptions` from the query string.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecOptions {
    pub command: Vec<String>,
    pub container: Option<String>,
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub tty: bool,
}

/// Parse the query the way the API server's parameter codec does: `command` repeats in
/// order; a boolean is false only for `0` or `false` (any case), else true
/// (apimachinery runtime `Convert_Slice_string_To_bool`); the first value wins.
pub fn parse_query(raw: &str) -> ExecOptions {
    let mut o = ExecOptions::default();
    let mut seen = std::collections::HashSet::new();
    for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
        let b = !(v == "0" || v.eq_ignore_ascii_case("false"));
        match k.as_ref() {
            "command" => o.command.push(v.into_owned()),
            _ if !seen.insert(k.clone().into_owned()) => {}
            "container" => o.container = Some(v.into_owned()).filter(|c| !c.is_empty()),
            "stdin" => o.stdin = b,
            "stdout" => o.stdout = b,
            "stderr" => o.stderr = b,
            "tty" => o.tty = b,
            _ => {}
        }
    }
    o
}

fn api_error(e: &ApiError) -> Response {
    let mut r = (
        StatusCode::from_u16(e.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        serde_json::to_vec(&e.status()).unwrap_or_default(),
    )
        .into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// A plain-text error as the kubelet writes it (`http.Error`), proxied unchanged.
fn plain_error(code: StatusCode, message: &str) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{message}\n"),
    )
        .into_response()
}

/// Why an exec is refused before the upgrade.
enum Refusal {
    /// A `metav1.Status` from the API server.
    Api(ApiError),
    /// A plain-text error from the kubelet, proxied unchanged.
    Kubelet(StatusCode, String),
}

impl Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Api(e) => api_error(&e),
            Refusal::Kubelet(code, m) => plain_error(code, &m),
        }
    }
}

/// Everything resolved before the upgrade.
struct Plan {
    ctx: Arc<Context>,
    pod: Arc<Value>,
    container: String,
    opts: ExecOptions,
    mounts: Vec<Mount>,
    env: Vec<(String, String)>,
    workdir: PathBuf,
}

/// The checks the API server and the kubelet make before the upgrade.
fn plan(ctx: &Arc<Context>, namespace: &str, pod_name: &str, raw_query: &str) -> Result<Plan, Refusal> {
    let mut opts = parse_query(raw_query);
    let key = Key::new("pods", namespace, pod_name);
    let pod = ctx
        .store
        .get(&key)
        .ok_or_else(|| Refusal::Api(ApiError::not_found(key.resource(), pod_name)))?;
    let container = match opts.container.clone() {
        Some(c) if runtime::find_container(&pod, &c).is_some() => c,
        Some(c) => {
            return Err(Refusal::Api(ApiError::bad_request(format!(
                "container {c} is not valid for pod {pod_name}"
            ))));
        }
        None => {
            let names: Vec<&str> = ["containers", "initContainers", "ephemeralContainers"]
                .iter()
                .filter_map(|f| pod["spec"][f].as_array())
                .flatten()
                .filter_map(|c| c["name"].as_str())
                .collect();
            let main = pod["spec"]["containers"].as_array().map_or(0, Vec::len);
            match (main, names.first()) {
                (1, Some(n)) => n.to_string(),
                (0, _) | (_, None) => {
                    return Err(Refusal::Api(ApiError::bad_request(format!(
                        "a container name must be specified for pod {pod_name}"
                    ))));
                }
                _ => {
                    return Err(Refusal::Api(ApiError::bad_request(format!(
                        "a container name must be specified for pod {pod_name}, choose one of: [{}]",
                        names.join(" ")
                    ))));
                }
            }
        }
    };
    if pod["spec"]["nodeName"].as_str().is_none_or(str::is_empty) {
        return Err(Refusal::Api(ApiError::bad_request(format!(
            "pod {pod_name} does not have a host assigned"
        ))));
    }
    if let Some(addr) = crate::controllers::nodelifecycle::unreachable_kubelet(&ctx.store, &pod) {
        // The kubelet is down: the proxy's dial error, no metav1.Status (500, no reason).
        return Err(Refusal::Api(ApiError::new(
            500,
            "",
            format!("error dialing backend: dial tcp {addr}: connect: connection refused"),
        )));
    }
    if !container_running(&pod, &container) {
        return Err(Refusal::Kubelet(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("container not found (\"{container}\")"),
        ));
    }
    if opts.command.is_empty() {
        return Err(Refusal::Api(ApiError::bad_request(
            "you must specify at least one command for the container",
        )));
    }
    if opts.tty && opts.stderr {
        // remotecommand NewOptions: "Access to exec with tty and stderr is not supported,
        // bypassing stderr".
        opts.stderr = false;
    }
    if !opts.stdin && !opts.stdout && !opts.stderr {
        return Err(Refusal::Kubelet(
            StatusCode::BAD_REQUEST,
            "you must specify at least 1 of stdin, stdout, stderr".into(),
        ));
    }
    let spec = runtime::find_container(&pod, &container)
        .cloned()
        .unwrap_or(Value::Null);
    let mounts = sandbox::plan_mounts(&ctx.store, &ctx.runtime, &pod, &spec).map_err(Refusal::Api)?;
    let env = sandbox::environment(&pod, &spec);
    let workdir = spec["workingDir"]
        .as_str()
        .filter(|w| w.starts_with('/'))
        .map_or_else(|| PathBuf::from("/"), PathBuf::from);
    Ok(Plan {
        ctx: ctx.clone(),
        pod,
        container,
        opts,
        mounts,
        env,
        workdir,
    })
}

/// Whether the kubelet would find the container running: the pod is Running and the
/// container's status (when reported) is `running`.
fn container_running(pod: &Value, container: &str) -> bool {
    if pod["status"]["phase"].as_str() != Some("Running") {
        return false;
    }
    let statuses = [
        "containerStatuses",
        "initContainerStatuses",
        "ephemeralContainerStatuses",
    ]
    .iter()
    .filter_map(|f| pod["status"][f].as_array())
    .flatten()
    .find(|s| s["name"].as_str() == Some(container));
    statuses.is_none_or(|s| s["state"].get("running").is_some())
}

/// The `pods/exec` handler for a WebSocket request (GET with `Upgrade: websocket`).
pub async fn handle(
    ctx: Arc<Context>,
    namespace: String,
    pod: String,
    raw_query: String,
    ws: WebSocketUpgrade,
    headers: HeaderMap,
) -> Response {
    let _ = headers;
    let plan = match plan(&ctx, &namespace, &pod, &raw_query) {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    let offered: Vec<String> = ws
        .requested_protocols()
        .filter_map(|p| p.to_str().ok().map(str::to_string))
        .collect();
    let Some(proto) = negotiate(offered.iter().map(String::as_str)) else {
        return (StatusCode::FORBIDDEN, [(header::CONNECTION, "close")], Body::empty()).into_response();
    };
    let ws = match proto.name() {
        Some(name) => ws.protocols([name]),
        None => ws,
    };
    ws.on_upgrade(move |socket| session(socket, plan, proto))
}

/// The `pods/exec` handler for any request (GET or POST, WebSocket or not). A request
/// that is not a WebSocket upgrade gets the same validation errors, then 400
/// `Upgrade request required` (SPDY is not implemented).
pub async fn handle_request(
    ctx: Arc<Context>,
    namespace: String,
    pod: String,
    raw_query: String,
    req: axum::extract::Request,
) -> Response {
    let (mut parts, _body) = req.into_parts();
    let headers = parts.headers.clone();
    match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(ws) => handle(ctx, namespace, pod, raw_query, ws, headers).await,
        Err(_) => match plan(&ctx, &namespace, &pod, &raw_query) {
            Err(r) => r.into_response(),
            Ok(_) => api_error(&ApiError::bad_request("Upgrade request required")),
        },
    }
}

fn frame(channel: u8, data: &[u8]) -> Message {
    let mut v = Vec::with_capacity(data.len() + 1);
    v.push(channel);
    v.extend_from_slice(data);
    Message::Binary(v.into())
}

async fn finish(socket: &mut WebSocket, proto: Protocol, outcome: &Outcome) {
    let payload = match proto {
        Protocol::V5 | Protocol::V4 => Some(outcome.to_json()),
        Protocol::V1(_) => outcome.message().map(String::into_bytes),
    };
    if let Some(p) = payload {
        let _ = socket.send(frame(ERROR, &p)).await;
    }
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code: 1000,
            reason: "".into(),
        })))
        .await;
}

/// Whether [`annotations::EXEC_FAIL`] fails the exec that had `before` execs before it.
fn exec_fault(pod: &Value, before: u64) -> bool {
    fires(pod, annotations::EXEC_FAIL, before)
}

/// Whether an `"always"` / `"after-N"` annotation applies to the exec that had
/// `before` execs before it (`"only-N"`: to that one exec alone).
fn fires(pod: &Value, annotation: &str, before: u64) -> bool {
    let number = |v: &str, prefix: &str| v.strip_prefix(prefix).and_then(|n| n.parse::<u64>().ok());
    match pod["metadata"]["annotations"][annotation].as_str().map(str::trim) {
        Some("always" | "true") => true,
        Some(v) => number(v, "after-").is_some_and(|n| before >= n) || number(v, "only-") == Some(before),
        None => false,
    }
}

async fn session(mut socket: WebSocket, plan: Plan, proto: Protocol) {
    let o = &plan.opts;
    let first = if o.stdout {
        STDOUT
    } else if o.stderr {
        STDERR
    } else {
        ERROR
    };
    if socket.send(frame(first, &[])).await.is_err() {
        return;
    }
    let exec_id = status::new_exec_id();
    let uid = plan.pod["metadata"]["uid"].as_str().unwrap_or("").to_string();
    let before = plan.ctx.runtime.count_exec(&uid);
    if exec_fault(&plan.pod, before) {
        let cause = "error executing setns process: exit status 1";
        let outcome = Outcome::Internal(status::runtime_exec_error(&exec_id, cause));
        return finish(&mut socket, proto, &outcome).await;
    }
    let stall = fires(&plan.pod, annotations::EXEC_STALL, before);
    if stall || fires(&plan.pod, annotations::EXEC_LOST_RESPONSE, before) {
        // The command runs to its end; then the connection just closes (no output, no
        // status, no close frame), or stays open and silent until the client leaves.
        if let Ok((child, pty)) = start(&plan).await {
            let _ = child.wait_with_output().await;
            drop(pty);
        }
        if stall {
            while let Some(Ok(m)) = socket.recv().await {
                if matches!(m, Message::Close(_)) {
                    break;
                }
            }
        }
        return;
    }
    let outcome = match start(&plan).await {
        Ok((child, pty)) => match pump(&mut socket, child, pty, &plan, proto).await {
            Some(outcome) => outcome,
            None => return, // the client went away; the process was killed
        },
        Err(cause) => Outcome::Internal(status::runtime_exec_error(&exec_id, &cause)),
    };
    finish(&mut socket, proto, &outcome).await;
}

/// Build the rootfs if needed, check the executable, spawn bwrap. Err: the runtime's
/// cause text.
async fn start(plan: &Plan) -> Result<(tokio::process::Child, Option<tty::Pty>), String> {
    let ctx = plan.ctx.clone();
    let pod = plan.pod.clone();
    let container = plan.container.clone();
    let rootfs = tokio::task::spawn_blocking(move || ctx.runtime.container_rootfs(&pod, &container))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("container rootfs: {e}"))?;
    let path_env = plan
        .env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map_or(runtime::DEFAULT_PATH, |(_, v)| v.as_str());
    let argv = &plan.opts.command;
    sandbox::resolve_executable(&rootfs, &plan.mounts, &plan.workdir, path_env, &argv[0])?;
    sandbox::create_mount_points(&rootfs, &plan.mounts, &plan.workdir)
        .map_err(|e| format!("preparing mount points: {e}"))?;
    let hostname = runtime::pod_hostname(&plan.pod);
    let spec = runtime::find_container(&plan.pod, &plan.container);
    let sb = Sandbox {
        rootfs: &rootfs,
        read_only_root: spec.is_some_and(|c| c["securityContext"]["readOnlyRootFilesystem"] == true),
        mounts: &plan.mounts,
        hostname: &hostname,
        workdir: &plan.workdir,
        argv,
    };
    let mut cmd = tokio::process::Command::new(sandbox::bwrap_binary());
    cmd.args(sb.bwrap_args())
        .env_clear()
        .envs(plan.env.iter().map(|(k, v)| (k, v)))
        .kill_on_drop(true);
    let pty = if plan.opts.tty {
        let (pty, slave) = tty::open().map_err(|e| format!("opening a pty: {e}"))?;
        let dup = |fd: &std::os::fd::OwnedFd| fd.try_clone().map_err(|e| format!("pty: {e}"));
        cmd.stdin(dup(&slave)?).stdout(dup(&slave)?).stderr(slave);
        // SAFETY: the closure only makes async-signal-safe calls (setsid, ioctl).
        unsafe { cmd.pre_exec(tty::make_controlling_terminal) };
        Some(pty)
    } else {
        let pipe = |on: bool| if on { Stdio::piped() } else { Stdio::null() };
        cmd.stdin(pipe(plan.opts.stdin))
            .stdout(pipe(plan.opts.stdout))
            .stderr(pipe(plan.opts.stderr));
        None
    };
    let child = cmd.spawn().map_err(|e| format!("starting the sandbox (bwrap): {e}"))?;
    // Our copies of the slave close with `cmd`, so the master reads EOF (EIO) once
    // the process tree is gone.
    drop(cmd);
    Ok((child, pty))
}

type Reader = Box<dyn tokio::io::AsyncRead + Send + Unpin>;
type Writer = Box<dyn tokio::io::AsyncWrite + Send + Unpin>;

async fn read_some(r: &mut Option<Reader>, buf: &mut [u8]) -> std::io::Result<usize> {
    match r {
        Some(r) => r.read(buf).await,
        None => std::future::pending().await,
    }
}

/// Stream the process's output and the client's stdin until the process exits and its
/// output is drained. None if the client went away (the process is killed).
async fn pump(
    socket: &mut WebSocket,
    mut child: tokio::process::Child,
    pty: Option<tty::Pty>,
    plan: &Plan,
    proto: Protocol,
) -> Option<Outcome> {
    let (mut stdout, mut stderr, stdin): (Option<Reader>, Option<Reader>, Option<Writer>) = match &pty {
        Some(pty) => match (pty.file(), pty.file()) {
            (Ok(r), Ok(w)) => (Some(Box::new(r)), None, plan.opts.stdin.then(|| Box::new(w) as Writer)),
            (Err(e), _) | (_, Err(e)) => return Some(Outcome::Internal(format!("pty: {e}"))),
        },
        None => (
            child.stdout.take().map(|r| Box::new(r) as Reader),
            child.stderr.take().map(|r| Box::new(r) as Reader),
            child.stdin.take().map(|w| Box::new(w) as Writer),
        ),
    };
    let mut out_done = stdout.is_none();
    let mut err_done = stderr.is_none();
    // Stdin is written by its own task, so a process that does not read its input
    // cannot block the output.
    let mut stdin_tx = stdin.map(|mut w| {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<bytes::Bytes>();
        tokio::spawn(async move {
            while let Some(chunk) = rx.recv().await {
                if w.write_all(&chunk).await.is_err() {
                    break;
                }
            }
            let _ = w.shutdown().await;
        });
        tx
    });
    let uid = plan.pod["metadata"]["uid"].as_str().unwrap_or("");
    let mut stopped = plan.ctx.runtime.stopped(uid);
    let mut watch_stop = true;
    let mut obuf = vec![0u8; 32 * 1024];
    let mut ebuf = vec![0u8; 32 * 1024];
    let mut exit: Option<std::process::ExitStatus> = None;
    loop {
        if exit.is_some() && out_done && err_done {
            break;
        }
        tokio::select! {
            r = read_some(&mut stdout, &mut obuf), if !out_done => match r {
                Ok(n) if n > 0 => {
                    if socket.send(frame(STDOUT, &obuf[..n])).await.is_err() {
                        return None;
                    }
                }
                _ => out_done = true,
            },
            r = read_some(&mut stderr, &mut ebuf), if !err_done => match r {
                Ok(n) if n > 0 => {
                    if socket.send(frame(STDERR, &ebuf[..n])).await.is_err() {
                        return None;
                    }
                }
                _ => err_done = true,
            },
            st = child.wait(), if exit.is_none() => match st {
                Ok(st) => exit = Some(st),
                Err(e) => return Some(Outcome::Internal(format!("waiting for the process: {e}"))),
            },
            // The pod's containers were stopped: SIGKILL, as the runtime does to the
            // processes of a stopped container (exit 137).
            r = async { stopped.wait_for(|s| *s).await.is_ok() }, if watch_stop && exit.is_none() => {
                if r {
                    let _ = child.start_kill();
                }
                watch_stop = false;
            }
            m = socket.next() => match m {
                Some(Ok(Message::Binary(b))) => match b.first() {
                    Some(&STDIN) => {
                        if let Some(tx) = &stdin_tx {
                            let _ = tx.send(b.slice(1..));
                        }
                    }
                    Some(&CLOSE) if proto == Protocol::V5 && b.get(1) == Some(&STDIN) => stdin_tx = None,
                    Some(&RESIZE) => {
                        if let Some(pty) = &pty {
                            pty.resize(&b[1..]);
                        }
                    }
                    _ => {} // unknown channels
                },
                Some(Ok(Message::Close(_)) | Err(_)) | None => return None,
                Some(Ok(_)) => {} // ping/pong/text
            },
        }
    }
    let st = exit?;
    let code = st.code().unwrap_or_else(|| {
        use std::os::unix::process::ExitStatusExt;
        128 + st.signal().unwrap_or(9)
    });
    Some(if code == 0 {
        Outcome::Success
    } else {
        Outcome::Exit {
            argv: plan.opts.command.clone(),
            code,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_follows_the_real_server() {
        assert_eq!(negotiate([V5, V4]), Some(Protocol::V5));
        assert_eq!(negotiate([V4, V5]), Some(Protocol::V5));
        assert_eq!(negotiate([V4]), Some(Protocol::V4));
        assert_eq!(negotiate(["base64.channel.k8s.io", V4]), Some(Protocol::V4));
        assert_eq!(negotiate([V1]), Some(Protocol::V1(true)));
        assert_eq!(negotiate([]), Some(Protocol::V1(false)));
        assert_eq!(negotiate(["v6.channel.k8s.io"]), None);
    }

    #[test]
    fn query_parsing_keeps_command_order_and_go_bool_rules() {
        let o = parse_query(
            "command=sh&command=-c&command=echo+a%3B+exit+3&container=nginx&stdout=true&stderr=1&stdin=false&tty=0",
        );
        assert_eq!(o.command, vec!["sh", "-c", "echo a; exit 3"]);
        assert_eq!(o.container.as_deref(), Some("nginx"));
        assert!(o.stdout && o.stderr && !o.stdin && !o.tty);
        let o = parse_query("stdin=FALSE&stdin=true&stdout=");
        assert!(!o.stdin && o.stdout);
    }

    #[test]
    fn exec_fail_annotation() {
        let pod = |v: &str| serde_json::json!({"metadata": {"annotations": {annotations::EXEC_FAIL: v}}});
        assert!(exec_fault(&pod("always"), 0));
        assert!(!exec_fault(&pod("after-2"), 1));
        assert!(exec_fault(&pod("after-2"), 2));
        assert!(!exec_fault(&serde_json::json!({}), 5));
        let lost = serde_json::json!({"metadata": {"annotations": {annotations::EXEC_LOST_RESPONSE: "after-1"}}});
        assert!(!fires(&lost, annotations::EXEC_LOST_RESPONSE, 0));
        assert!(fires(&lost, annotations::EXEC_LOST_RESPONSE, 1));
        assert!(!exec_fault(&lost, 1));
        let once = serde_json::json!({"metadata": {"annotations": {annotations::EXEC_FAIL: "only-2"}}});
        assert_eq!(
            (0..5).map(|n| exec_fault(&once, n)).collect::<Vec<_>>(),
            [false, false, true, false, false]
        );
    }
}
