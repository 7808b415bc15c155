//! One-line errors with a fix, and the exit codes scripts rely on.
//!
//! Every failure reaches the user as a single line on stderr that names the object and
//! says what to do, never a panic or a raw API body.

/// Documented exit codes (see `--help` and the README).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    /// The verdict failed: not settled, data lost, rollout stuck, orphans found.
    Failed = 1,
    /// Usage error or bad input, including a StatefulSet, namespace or context that does not exist.
    Usage = 2,
    /// API or cluster error: unreachable, unauthorized, forbidden, server errors.
    Api = 3,
    Timeout = 4,
    Interrupted = 130,
    /// stdout's reader went away (`| head -1`): the command ended quietly, its output
    /// cut short. 141 is what a shell shows for kubectl killed by SIGPIPE.
    OutputClosed = 141,
}

/// What went wrong, decided once where the API answer (or the local failure) is read.
///
/// Code that reacts to an error looks at its kind, never at its message text; the kind
/// also decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 404: the object (or its namespace) does not exist.
    NotFound,
    /// 403 from the API server (RBAC or an admission plugin).
    Forbidden,
    /// 401: the credentials were rejected.
    Unauthorized,
    /// The API server could not be reached or the connection broke.
    Unreachable,
    /// A request or the whole command ran out of time.
    TimedOut,
    /// 409: someone else changed the object (or a precondition did not hold).
    Conflict,
    /// 400/422: the server refused the request as invalid.
    Invalid,
    /// 429 after the retries ran out.
    Throttled,
    /// 5xx, or another API answer that is the cluster's fault.
    Server,
    /// The container has no such program (distroless or scratch image).
    MissingExecutable,
    /// Bad input caught before any request (flags, names, files).
    Usage,
    /// The command ran and its verdict failed (data lost, stuck, orphans found).
    Failed,
    /// Ctrl-C.
    Interrupted,
    /// stdout's reader went away; the command stopped following (nothing to print).
    OutputClosed,
}

impl ErrorKind {
    pub fn exit(self) -> Exit {
        match self {
            ErrorKind::NotFound | ErrorKind::Invalid | ErrorKind::MissingExecutable | ErrorKind::Usage => Exit::Usage,
            ErrorKind::Forbidden
            | ErrorKind::Unauthorized
            | ErrorKind::Unreachable
            | ErrorKind::Conflict
            | ErrorKind::Throttled
            | ErrorKind::Server => Exit::Api,
            ErrorKind::TimedOut => Exit::Timeout,
            ErrorKind::Failed => Exit::Failed,
            ErrorKind::Interrupted => Exit::Interrupted,
            ErrorKind::OutputClosed => Exit::OutputClosed,
        }
    }
}

/// One line for the user, and what kind of failure it is.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CliError {
    pub kind: ErrorKind,
    pub message: String,
}

impl CliError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> CliError {
        CliError {
            kind,
            message: message.into(),
        }
    }
    pub fn exit(&self) -> Exit {
        self.kind.exit()
    }
    /// The same kind of failure, told with more context.
    pub fn with_message(self, message: impl Into<String>) -> CliError {
        CliError::new(self.kind, message)
    }
    /// A failure of the cluster or its API not covered by a sharper kind.
    pub fn api(message: impl Into<String>) -> CliError {
        CliError::new(ErrorKind::Server, message)
    }
    pub fn usage(message: impl Into<String>) -> CliError {
        CliError::new(ErrorKind::Usage, message)
    }
    /// The verdict failed: the one way a command says so (exit 1).
    pub fn failed(message: impl Into<String>) -> CliError {
        CliError::new(ErrorKind::Failed, message)
    }
    pub fn timeout(message: impl Into<String>) -> CliError {
        CliError::new(ErrorKind::TimedOut, message)
    }
    pub fn interrupted(message: impl Into<String>) -> CliError {
        CliError::new(ErrorKind::Interrupted, message)
    }
    /// A failure whose story the command has already printed (its report, or one line
    /// per failed object): the exit code says the rest, nothing more is printed.
    pub fn reported(kind: ErrorKind) -> CliError {
        CliError::new(kind, String::new())
    }
    pub fn is(&self, kind: ErrorKind) -> bool {
        self.kind == kind
    }
}

pub type Result<T, E = CliError> = std::result::Result<T, E>;

/// What a request was about, so an error can name it: `get statefulset "web" in namespace "prod"`.
#[derive(Debug, Clone)]
pub struct Target {
    pub verb: &'static str,
    /// Singular, lowercase kind as a user writes it: `statefulset`, `pod`, `persistentvolumeclaim`.
    pub kind: &'static str,
    pub name: Option<String>,
    pub namespace: Option<String>,
}

impl Target {
    pub fn new(verb: &'static str, kind: &'static str, name: Option<&str>, namespace: Option<&str>) -> Target {
        Target {
            verb,
            kind,
            name: name.map(str::to_string),
            namespace: namespace.map(str::to_string),
        }
    }

    fn object(&self) -> String {
        match &self.name {
            Some(n) => format!("{} \"{n}\"", self.kind),
            None => format!("{}s", self.kind),
        }
    }

    fn scope(&self) -> String {
        match &self.namespace {
            Some(ns) => format!(" in namespace \"{ns}\""),
            None => String::new(),
        }
    }
}

/// Where requests go, for messages about reaching it.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub server: String,
    pub context: String,
}

/// Turn a kube error into one line that names the object and the fix.
pub fn from_kube(err: &kube::Error, target: &Target, endpoint: &Endpoint) -> CliError {
    match err {
        kube::Error::Api(status) => from_status(status.code, &status.reason, &status.message, target, endpoint),
        other => unreachable_server(&error_chain(other), endpoint),
    }
}

/// An error and all its sources on one line (kube's Display shows only the outermost).
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut msg = err.to_string();
    let mut src = err.source();
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg.replace('\n', " ")
}

pub fn from_status(code: u16, reason: &str, message: &str, target: &Target, endpoint: &Endpoint) -> CliError {
    let ctx = &endpoint.context;
    match code {
        401 => CliError::new(
            ErrorKind::Unauthorized,
            format!(
                "the API server at {} (context \"{ctx}\") rejected your credentials (401 Unauthorized): \
             log in again or refresh the token in your kubeconfig",
                endpoint.server
            ),
        ),
        403 => CliError::new(ErrorKind::Forbidden, forbidden_line(message, target)),
        404 => {
            let hint = if target.namespace.is_some() {
                "check the name, or pick the namespace with -n NAMESPACE (list everything with -A)"
            } else {
                "check the name"
            };
            CliError::new(
                ErrorKind::NotFound,
                format!("{} not found{}: {hint}", target.object(), target.scope()),
            )
        }
        409 => CliError::new(
            ErrorKind::Conflict,
            format!(
                "cannot {} {}{}: {} (someone else changed it; re-run to use the latest version)",
                target.verb,
                target.object(),
                target.scope(),
                first_line(message)
            ),
        ),
        422 | 400 => CliError::new(
            ErrorKind::Invalid,
            format!(
                "cannot {} {}{}: {}",
                target.verb,
                target.object(),
                target.scope(),
                first_line(message)
            ),
        ),
        429 => CliError::new(
            ErrorKind::Throttled,
            format!(
                "the API server at {} is throttling requests (429 TooManyRequests) and retries ran out: try again later",
                endpoint.server
            ),
        ),
        504 | 408 => CliError::timeout(format!(
            "the API server at {} timed out on {} {}{} ({code} {reason}): retry, or raise --request-timeout",
            endpoint.server,
            target.verb,
            target.object(),
            target.scope()
        )),
        c if c >= 500 => CliError::new(
            ErrorKind::Server,
            format!(
                "the API server at {} failed to {} {}{} ({c} {reason}: {}): retry later or check the control plane",
                endpoint.server,
                target.verb,
                target.object(),
                target.scope(),
                first_line(message)
            ),
        ),
        c => CliError::new(
            ErrorKind::Server,
            format!(
                "cannot {} {}{}: {} ({c} {reason})",
                target.verb,
                target.object(),
                target.scope(),
                first_line(message)
            ),
        ),
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("").trim()
}

/// `statefulsets.apps "web" is forbidden: User "viewer" cannot patch resource
/// "statefulsets/scale" in API group "apps" in the namespace "default"` becomes
/// `forbidden: user "viewer" may not patch statefulsets/scale in namespace "default" ...`.
fn forbidden_line(message: &str, target: &Target) -> String {
    let quoted_after = |key: &str| -> Option<String> {
        let rest = &message[message.find(key)? + key.len()..];
        let rest = rest.trim_start().strip_prefix('"')?;
        Some(rest[..rest.find('"')?].to_string())
    };
    let user = quoted_after("User").unwrap_or_else(|| "you".into());
    let verb = message
        .find("cannot ")
        .map(|i| {
            message[i + 7..]
                .split_whitespace()
                .next()
                .unwrap_or(target.verb)
                .to_string()
        })
        .unwrap_or_else(|| target.verb.to_string());
    let resource = quoted_after("resource").unwrap_or_else(|| format!("{}s", target.kind));
    let group = quoted_after("API group").filter(|g| !g.is_empty());
    let scope = match quoted_after("namespace") {
        Some(ns) => format!(" in namespace \"{ns}\""),
        None if message.contains("cluster scope") => " at cluster scope".into(),
        None => target.scope(),
    };
    let res = match group {
        Some(g) => format!("{resource} (API group {g})"),
        None => resource,
    };
    format!(
        "forbidden: user \"{user}\" may not {verb} {res}{scope}: ask your cluster admin for a Role granting it (docs/rbac.yaml lists what each command needs)"
    )
}

/// The server could not be reached or the connection broke.
pub fn unreachable_server(detail: &str, endpoint: &Endpoint) -> CliError {
    let lower = detail.to_lowercase();
    let why = if lower.contains("connection refused") {
        "connection refused"
    } else if lower.contains("dns") || lower.contains("failed to lookup") || lower.contains("name or service not known")
    {
        "the host name does not resolve"
    } else if lower.contains("certificate") || lower.contains("tls") {
        "TLS handshake failed"
    } else if lower.contains("timed out") || lower.contains("timeout") {
        "connection timed out"
    } else if lower.contains("reset") || lower.contains("closed") || lower.contains("broken pipe") {
        "the connection was closed"
    } else {
        "connection failed"
    };
    CliError::new(
        ErrorKind::Unreachable,
        format!(
            "cannot reach the API server at {} (context \"{}\"): {why}: check that the cluster is up and that --context/--kubeconfig point at it",
            endpoint.server, endpoint.context
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep() -> Endpoint {
        Endpoint {
            server: "https://10.0.0.1:6443".into(),
            context: "prod".into(),
        }
    }

    #[test]
    fn forbidden_names_verb_and_resource() {
        let t = Target::new("patch", "statefulset", Some("web"), Some("default"));
        let e = from_status(
            403,
            "Forbidden",
            "statefulsets.apps \"web\" is forbidden: User \"viewer\" cannot patch resource \"statefulsets/scale\" in API group \"apps\" in the namespace \"default\"",
            &t,
            &ep(),
        );
        assert_eq!(e.exit(), Exit::Api);
        assert!(
            e.message
                .contains("user \"viewer\" may not patch statefulsets/scale (API group apps) in namespace \"default\""),
            "{}",
            e.message
        );
        assert!(!e.message.contains('\n'));
    }

    #[test]
    fn forbidden_cluster_scope() {
        let t = Target::new("list", "persistentvolume", None, None);
        let e = from_status(
            403,
            "Forbidden",
            "persistentvolumes is forbidden: User \"viewer\" cannot list resource \"persistentvolumes\" in API group \"\" at the cluster scope",
            &t,
            &ep(),
        );
        assert!(
            e.message.contains("may not list persistentvolumes at cluster scope"),
            "{}",
            e.message
        );
    }

    #[test]
    fn not_found_suggests_namespace() {
        let t = Target::new("get", "statefulset", Some("nosuch"), Some("default"));
        let e = from_status(404, "NotFound", "statefulsets.apps \"nosuch\" not found", &t, &ep());
        assert_eq!(e.exit(), Exit::Usage);
        assert_eq!(
            e.message,
            "statefulset \"nosuch\" not found in namespace \"default\": check the name, or pick the namespace with -n NAMESPACE (list everything with -A)"
        );
    }

    #[test]
    fn unauthorized_names_server_and_context() {
        let t = Target::new("get", "statefulset", Some("web"), Some("default"));
        let e = from_status(401, "Unauthorized", "Unauthorized", &t, &ep());
        assert!(e.message.contains("https://10.0.0.1:6443") && e.message.contains("\"prod\""));
    }

    #[test]
    fn unreachable_is_classified() {
        let e = unreachable_server(
            "client error (Connect): tcp connect error: Connection refused (os error 111)",
            &ep(),
        );
        assert!(e.message.contains("connection refused"));
        assert_eq!(e.exit(), Exit::Api);
    }
}
