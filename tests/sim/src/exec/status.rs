//! The `metav1.Status` objects an exec stream ends with, on channel 3 (v4/v5).
//!
//! Shapes and field order follow the real server byte for byte (see the reference
//! capture of exec frames): the kubelet's v4 `writeStatus`
//! (pkg/kubelet/cri/streaming/remotecommand/httpstream.go `v4WriteStatusFunc`), which
//! marshals a `metav1.Status` without `kind`/`apiVersion`, and the API server's stream
//! translator for v5 (apiserver/pkg/util/proxy/streamtranslator.go), which writes the
//! same shapes: `codeExitToStatusError` for a non-zero exit, `NewInternalError` for a
//! runtime failure.

use serde::Serialize;

#[derive(Serialize)]
struct Empty {}

#[derive(Serialize)]
struct Cause {
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    message: String,
}

#[derive(Serialize)]
struct Details {
    causes: Vec<Cause>,
}

/// `metav1.Status` in the field order Go marshals it.
#[derive(Serialize)]
struct Status {
    metadata: Empty,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<Details>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<u16>,
}

/// How an exec ended, as reported on the error channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The process exited 0.
    Success,
    /// The process exited with this non-zero code (128+N when killed by signal N).
    Exit { argv: Vec<String>, code: i32 },
    /// The runtime could not run the command (`InternalError`, 500). The message is
    /// the runtime's, without the `Internal error occurred: ` prefix.
    Internal(String),
}

impl Outcome {
    /// The human message (`status.message`); None for success.
    pub fn message(&self) -> Option<String> {
        match self {
            Outcome::Success => None,
            Outcome::Exit { argv, code } => Some(format!(
                "command terminated with non-zero exit code: error executing command [{}], exit code {code}",
                argv.join(" ")
            )),
            Outcome::Internal(m) => Some(format!("Internal error occurred: {m}")),
        }
    }

    /// The JSON status for the v4/v5 protocols.
    pub fn to_json(&self) -> Vec<u8> {
        let status = match self {
            Outcome::Success => Status {
                metadata: Empty {},
                status: "Success",
                message: None,
                reason: None,
                details: None,
                code: None,
            },
            Outcome::Exit { code, .. } => Status {
                metadata: Empty {},
                status: "Failure",
                message: self.message(),
                reason: Some("NonZeroExitCode"),
                details: Some(Details {
                    causes: vec![Cause {
                        reason: Some("ExitCode"),
                        message: code.to_string(),
                    }],
                }),
                code: None,
            },
            Outcome::Internal(m) => Status {
                metadata: Empty {},
                status: "Failure",
                message: self.message(),
                reason: Some("InternalError"),
                details: Some(Details {
                    causes: vec![Cause {
                        reason: None,
                        message: m.clone(),
                    }],
                }),
                code: Some(500),
            },
        };
        serde_json::to_vec(&status).unwrap_or_default()
    }
}

/// A 64-hex-digit exec id, as containerd names exec processes.
pub fn new_exec_id() -> String {
    (0..4).map(|_| format!("{:016x}", rand::random::<u64>())).collect()
}

/// The error containerd + runc report when an exec cannot start, wrapped as the
/// kubelet wraps it (`error executing command in container: ...`).
pub fn runtime_exec_error(exec_id: &str, cause: &str) -> String {
    format!(
        "error executing command in container: failed to exec in container: failed to start exec \"{exec_id}\": \
         OCI runtime exec failed: exec failed: unable to start container process: {cause}: unknown"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_is_exactly_the_captured_bytes() {
        assert_eq!(
            Outcome::Success.to_json(),
            br#"{"metadata":{},"status":"Success"}"#.to_vec()
        );
    }

    #[test]
    fn exit_code_matches_the_capture() {
        let o = Outcome::Exit {
            argv: vec!["sh".into(), "-c".into(), "echo out; exit 3".into()],
            code: 3,
        };
        let want = r#"{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: error executing command [sh -c echo out; exit 3], exit code 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}"#;
        assert_eq!(String::from_utf8(o.to_json()).unwrap(), want);
    }

    #[test]
    fn internal_error_matches_the_capture() {
        let id = "0d7f045b07059a497ea1f0233196c2a07f9979742770237fae8de7a7d49250ef";
        let m = runtime_exec_error(
            id,
            "exec: \"/nonexistent\": stat /nonexistent: no such file or directory",
        );
        let want = r#"{"metadata":{},"status":"Failure","message":"Internal error occurred: error executing command in container: failed to exec in container: failed to start exec \"0d7f045b07059a497ea1f0233196c2a07f9979742770237fae8de7a7d49250ef\": OCI runtime exec failed: exec failed: unable to start container process: exec: \"/nonexistent\": stat /nonexistent: no such file or directory: unknown","reason":"InternalError","details":{"causes":[{"message":"error executing command in container: failed to exec in container: failed to start exec \"0d7f045b07059a497ea1f0233196c2a07f9979742770237fae8de7a7d49250ef\": OCI runtime exec failed: exec failed: unable to start container process: exec: \"/nonexistent\": stat /nonexistent: no such file or directory: unknown"}]},"code":500}"#;
        assert_eq!(String::from_utf8(Outcome::Internal(m).to_json()).unwrap(), want);
        assert_eq!(new_exec_id().len(), 64);
    }
}
