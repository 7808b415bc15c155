//! Exec into a container through kube-rs's WebSocket support, with the real exit code.
//!
//! - The command is argv, never a shell string: callers pass data (paths, nonces) as
//!   separate arguments.
//! - kube-rs offers `v5.channel.k8s.io, v4.channel.k8s.io`; both end the stream with a
//!   `metav1.Status` on channel 3: `Success`, `NonZeroExitCode` with an `ExitCode`
//!   cause, or `InternalError` (500) when the runtime could not start the process
//!   (kubelet `v4WriteStatusFunc`, the API server's stream translator for v5). A stream
//!   that closes without a status is [`ExitStatus::Unknown`], never success.
//! - stdout and stderr are read concurrently (a full pipe must not stall the other) and
//!   kept up to a bound; the rest is drained and counted as truncated.

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;
use kube::api::{Api, AttachParams};
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::error::{CliError, ErrorKind, Result, Target};
use crate::kubeconfig::Kube;

/// Default bound on captured stdout/stderr, each.
pub const DEFAULT_LIMIT: usize = 64 * 1024;

/// How the remote process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExitStatus {
    /// It ran and exited with this code (0 for `Success`).
    Code(i32),
    /// The container runtime could not run it (`InternalError`, 500): the message.
    RuntimeError(String),
    /// The runtime said the program itself is absent (no shell, distroless image).
    MissingExecutable,
    /// The stream ended without a status: the outcome is not known.
    Unknown,
    /// No end of the stream within this long: abandoned; the outcome is not known.
    NoAnswer(Duration),
}

#[derive(Debug, Clone)]
pub struct ExecOutput {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub stdout_truncated: bool,
    pub stderr_truncated: bool,
    pub status: ExitStatus,
}

impl ExecOutput {
    pub fn success(&self) -> bool {
        self.status == ExitStatus::Code(0)
    }

    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// stderr on one line, trimmed, for messages.
    pub fn stderr_line(&self) -> String {
        let s = String::from_utf8_lossy(&self.stderr);
        s.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

/// Read the exit status from the status-channel object.
pub fn exit_status(status: Option<&Status>) -> ExitStatus {
    let Some(s) = status else {
        return ExitStatus::Unknown;
    };
    match s.status.as_deref() {
        Some("Success") => ExitStatus::Code(0),
        _ if s.reason.as_deref() == Some("NonZeroExitCode") => s
            .details
            .as_ref()
            .and_then(|d| d.causes.as_ref())
            .and_then(|cs| cs.iter().find(|c| c.reason.as_deref() == Some("ExitCode")))
            .and_then(|c| c.message.as_deref())
            .and_then(|m| m.trim().parse().ok())
            .map(ExitStatus::Code)
            .unwrap_or(ExitStatus::Unknown),
        _ if s.message.as_deref().is_some_and(is_missing_executable) => ExitStatus::MissingExecutable,
        _ => ExitStatus::RuntimeError(
            s.message
                .clone()
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| format!("exec failed ({})", s.reason.as_deref().unwrap_or("no reason"))),
        ),
    }
}

/// The runtime's message says the program itself is absent (no shell, distroless).
/// The runtime answers only in text (an OCI error in a 500 `Status`), so this is read
/// once here, where the answer arrives, and becomes [`ExitStatus::MissingExecutable`]
/// or [`crate::error::ErrorKind::MissingExecutable`].
fn is_missing_executable(message: &str) -> bool {
    message.contains("executable file not found") || message.contains("no such file or directory")
}

/// The one-line error for a container that lacks `program`.
pub fn missing_executable_error(pod: &str, container: &str, program: &str) -> CliError {
    CliError::new(
        ErrorKind::MissingExecutable,
        format!(
            "container \"{container}\" in pod {pod} has no {program} (a distroless or scratch image?): \
         pick a container that has a shell and coreutils with -c CONTAINER"
        ),
    )
}

/// Read up to `limit` bytes into `out`, then drain and discard the rest; returns
/// whether anything was discarded. What was read stays in `out` if the future is
/// dropped half-way.
async fn capture<R: AsyncRead + Unpin>(reader: Option<R>, limit: usize, out: &mut Vec<u8>) -> bool {
    let Some(mut r) = reader else {
        return false;
    };
    let mut truncated = false;
    let mut buf = [0u8; 8192];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = limit.saturating_sub(out.len());
                out.extend_from_slice(&buf[..n.min(room)]);
                truncated |= n > room;
            }
        }
    }
    truncated
}

/// How long output may still arrive once the stream has ended. kube-rs closes the
/// stdout/stderr readers when the stream ends cleanly, but not when the connection
/// breaks (its message loop returns early): then the readers never reach EOF and what
/// was sent is already buffered.
const DRAIN_AFTER_END: Duration = Duration::from_secs(2);

/// How long one exec may take without `--request-timeout`: a connection that stalls
/// without closing is never noticed by the stream itself (kube-rs only pings every
/// 60 s, and a dead path takes TCP many minutes to give up on).
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(120);

/// Run `argv` in `container` of pod `ns/pod` and collect its output and exit status.
/// Err only when the exec could not be started (the pod or container is gone, RBAC,
/// the server refused the upgrade); a process that ran and failed is an `Ok`.
pub async fn run(kube: &Kube, ns: &str, pod: &str, container: &str, argv: &[&str], limit: usize) -> Result<ExecOutput> {
    let api: Api<Pod> = Api::namespaced(kube.client.clone(), ns);
    let ap = AttachParams::default()
        .container(container)
        .stdin(false)
        .stdout(true)
        .stderr(true)
        .max_stdout_buf_size(limit.max(1024))
        .max_stderr_buf_size(limit.max(1024));
    let target = Target::new("exec into", "pod", Some(pod), Some(ns));
    let argv_owned: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
    let mut proc = match kube.call(target, api.exec(pod, argv_owned, &ap)).await {
        Ok(p) => p,
        Err(e) => {
            // A 500 before the upgrade carries the runtime's text (container not running,
            // or the kubelet's own error); a missing program is the user's container choice.
            if e.is(ErrorKind::Server) && is_missing_executable(&e.message) {
                return Err(missing_executable_error(
                    pod,
                    container,
                    argv.first().copied().unwrap_or(""),
                ));
            }
            return Err(e);
        }
    };
    let status = proc.take_status();
    let (stdout, stderr) = (proc.stdout(), proc.stderr());
    // Resolves when the stream has ended, with its status or None (closed without one,
    // or the connection broke).
    let status_fut = async {
        match status {
            Some(f) => f.await,
            None => None,
        }
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut truncated = (false, false);
    let deadline = kube.request_timeout.unwrap_or(DEFAULT_DEADLINE);
    let st = {
        let readers = async {
            truncated = tokio::join!(capture(stdout, limit, &mut out), capture(stderr, limit, &mut err));
        };
        tokio::pin!(readers, status_fut);
        tokio::time::timeout(deadline, async {
            tokio::select! {
                () = &mut readers => (&mut status_fut).await,
                st = &mut status_fut => {
                    let _ = tokio::time::timeout(DRAIN_AFTER_END, &mut readers).await;
                    st
                }
            }
        })
        .await
    };
    proc.abort();
    Ok(ExecOutput {
        stdout: out,
        stderr: err,
        stdout_truncated: truncated.0,
        stderr_truncated: truncated.1,
        status: match st {
            Ok(st) => exit_status(st.as_ref()),
            Err(_) => ExitStatus::NoAnswer(deadline),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(json: &str) -> Status {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn statuses_from_the_captures() {
        assert_eq!(
            exit_status(Some(&st(r#"{"metadata":{},"status":"Success"}"#))),
            ExitStatus::Code(0)
        );
        let exit3 = r#"{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: error executing command [sh -c echo out; exit 3], exit code 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}"#;
        assert_eq!(exit_status(Some(&st(exit3))), ExitStatus::Code(3));
        let internal = r#"{"metadata":{},"status":"Failure","message":"Internal error occurred: error executing command in container: failed to exec in container: failed to start exec \"0d7f\": OCI runtime exec failed: exec failed: unable to start container process: exec: \"sh\": executable file not found in $PATH: unknown","reason":"InternalError","details":{"causes":[{"message":"x"}]},"code":500}"#;
        assert_eq!(exit_status(Some(&st(internal))), ExitStatus::MissingExecutable);
        assert_eq!(exit_status(None), ExitStatus::Unknown);
        // A failure without an exit-code cause is not silently a code.
        let odd = r#"{"metadata":{},"status":"Failure","reason":"NonZeroExitCode"}"#;
        assert_eq!(exit_status(Some(&st(odd))), ExitStatus::Unknown);
    }

    #[tokio::test]
    async fn capture_is_bounded_but_drains() {
        let data = vec![b'x'; 20_000];
        let mut out = Vec::new();
        assert!(capture(Some(&data[..]), 1000, &mut out).await);
        assert_eq!(out.len(), 1000);
        let mut out = Vec::new();
        assert!(!capture(Some(&b"abc"[..]), 1000, &mut out).await);
        assert_eq!(out, b"abc");
    }
}
