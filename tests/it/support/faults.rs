//! What every fault-matrix scenario asserts (tests/faults_*.rs): the cluster as it was
//! (pods and their UIDs, PVCs and their volumes, replicas, marker files in every
//! volume directory), no panic and no raw API dump in the output, and the one error
//! line that names the object and the fix.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::{Api, ListParams};
use sts_sim::Sim;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

/// The cluster as far as "loses nothing" is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterState {
    /// `ns/name` -> UID.
    pub pods: BTreeMap<String, String>,
    /// `ns/name` -> (UID, bound PV).
    pub pvcs: BTreeMap<String, (String, Option<String>)>,
    /// `ns/name` -> spec.replicas.
    pub replicas: BTreeMap<String, Option<i32>>,
    /// Marker files under the sim's volume directories.
    pub markers: Vec<PathBuf>,
}

fn key(m: &kube::core::ObjectMeta) -> String {
    format!(
        "{}/{}",
        m.namespace.as_deref().unwrap_or(""),
        m.name.as_deref().unwrap_or("")
    )
}

/// Read the state through a client that bypasses the sim's faults? No: the sim's
/// faults apply to every request, so call this with faults reset.
pub async fn state(sim: &Sim) -> ClusterState {
    let c = sim.client();
    let lp = ListParams::default();
    let pods = Api::<Pod>::all(c.clone()).list(&lp).await.expect("list pods");
    let pvcs = Api::<PersistentVolumeClaim>::all(c.clone())
        .list(&lp)
        .await
        .expect("list pvcs");
    let sets = Api::<StatefulSet>::all(c).list(&lp).await.expect("list statefulsets");
    ClusterState {
        pods: pods
            .items
            .iter()
            .map(|p| (key(&p.metadata), p.metadata.uid.clone().unwrap_or_default()))
            .collect(),
        pvcs: pvcs
            .items
            .iter()
            .map(|p| {
                (
                    key(&p.metadata),
                    (
                        p.metadata.uid.clone().unwrap_or_default(),
                        p.spec.as_ref().and_then(|s| s.volume_name.clone()),
                    ),
                )
            })
            .collect(),
        replicas: sets.items.iter().map(|s| (key(&s.metadata), s.spec.replicas)).collect(),
        markers: markers(sim),
    }
}

/// Every `.kubectl-sts-marker-*` file in any volume directory of the sim.
pub fn markers(sim: &Sim) -> Vec<PathBuf> {
    markers_under(&sim.ctx().runtime.root().join("volumes"))
}

pub fn markers_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(".kubectl-sts-marker-"))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Requests that change something (create/update/patch/delete/deletecollection). A
/// SelfSubjectAccessReview is created but never stored: a question, not a change.
pub fn writes(sim: &Sim) -> Vec<String> {
    sim.requests()
        .all()
        .into_iter()
        .filter(|r| {
            matches!(
                r.verb.as_str(),
                "create" | "update" | "patch" | "delete" | "deletecollection"
            ) && r.resource != "selfsubjectaccessreviews"
        })
        .map(|r| format!("{} {} {} -> {}", r.verb, r.resource, r.name, r.status))
        .collect()
}

/// No panic, no raw API body, no Rust debug dump of an error, anywhere in the output.
pub fn assert_no_dump(o: &Output) {
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    for bad in [
        "panicked",
        "RUST_BACKTRACE",
        "\"kind\":\"Status\"",
        "\"kind\": \"Status\"",
        "ApiError",
        "ErrorResponse",
        "Api(Status",
        "Error {",
        "hyper::",
    ] {
        assert!(!all.contains(bad), "output contains {bad:?}:\n{all}");
    }
}

/// The run ended with exactly one `error: ...` line, the last thing on stderr (progress
/// lines before it are allowed), and no dump. Returns the line.
pub fn final_error(o: &Output) -> String {
    assert_no_dump(o);
    let e = String::from_utf8_lossy(&o.stderr).into_owned();
    let lines: Vec<&str> = e.lines().filter(|l| !l.trim().is_empty()).collect();
    let errors: Vec<&&str> = lines.iter().filter(|l| l.starts_with("error")).collect();
    assert_eq!(errors.len(), 1, "expected one error line:\n{e}");
    assert_eq!(
        lines.last(),
        errors.first().copied(),
        "the error is not the last line:\n{e}"
    );
    lines.last().unwrap().to_string()
}

/// `final_error`, and the error line must contain every needle.
pub fn assert_error(o: &Output, code: i32, needles: &[&str]) -> String {
    let line = final_error(o);
    assert_eq!(
        o.status.code(),
        Some(code),
        "exit code for {line}\nstdout: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    for n in needles {
        assert!(line.contains(n), "{n:?} not in: {line}");
    }
    line
}

/// A clap usage error: exit 2, first line `error: ...` naming the value, no request sent.
pub fn assert_usage(o: &Output, needles: &[&str]) {
    assert_no_dump(o);
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    let e = String::from_utf8_lossy(&o.stderr).into_owned();
    let first = e.lines().next().unwrap_or("");
    assert!(first.starts_with("error: "), "{e}");
    for n in needles {
        assert!(first.contains(n), "{n:?} not in the first line: {e}");
    }
}

/// A running `kubectl-sts` whose stderr (or stdout) lines we can wait on, then signal.
pub struct Running {
    pub child: tokio::process::Child,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStderr>>,
    pub seen: Vec<String>,
}

pub fn spawn(sim: &Sim, args: &[&str]) -> Running {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_kubectl-sts"))
        .arg("--kubeconfig")
        .arg(sim.kubeconfig_path())
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("KUBECONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn kubectl-sts");
    let lines = BufReader::new(child.stderr.take().unwrap()).lines();
    Running {
        child,
        lines,
        seen: Vec::new(),
    }
}

impl Running {
    /// Wait (bounded) for a stderr line containing `needle`.
    pub async fn wait_line(&mut self, needle: &str) {
        let fut = async {
            while let Some(l) = self.lines.next_line().await.unwrap() {
                self.seen.push(l.clone());
                if l.contains(needle) {
                    return;
                }
            }
            panic!("no stderr line with {needle:?}: {:#?}", self.seen);
        };
        tokio::time::timeout(Duration::from_secs(30), fut)
            .await
            .unwrap_or_else(|_| panic!("no stderr line with {needle:?} within 30s"));
    }

    pub fn sigint(&self) {
        let pid = self.child.id().expect("still running").to_string();
        assert!(
            std::process::Command::new("kill")
                .args(["-INT", &pid])
                .status()
                .unwrap()
                .success()
        );
    }

    /// Wait (bounded) for the exit; the whole stdout and stderr.
    pub async fn finish(self) -> Output {
        let Running {
            mut child,
            mut lines,
            seen,
        } = self;
        let mut stdout = Vec::new();
        let mut out = child.stdout.take().unwrap();
        let rest = async move {
            let mut s = seen.join("\n");
            if !s.is_empty() {
                s.push('\n');
            }
            while let Some(l) = lines.next_line().await.unwrap() {
                s.push_str(&l);
                s.push('\n');
            }
            s
        };
        let (stderr, _, status) = tokio::time::timeout(Duration::from_secs(60), async {
            tokio::join!(rest, out.read_to_end(&mut stdout), child.wait())
        })
        .await
        .expect("exits within 60s");
        Output {
            status: status.unwrap(),
            stdout,
            stderr: stderr.into_bytes(),
        }
    }
}

/// Wait (bounded, on the request log) until `pred` holds. For synchronising with a
/// child process's requests without sleeping.
pub async fn until_request(sim: &Sim, what: &str, pred: impl Fn(&sts_sim::reqlog::RequestRecord) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if sim.requests().all().iter().any(&pred) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "no request {what} within 30s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The plugin with a pseudo-terminal on stdin, as at an SRE's shell: `confirm` prompts
/// (on stderr, with no newline after `[y/N] `) and reads the answer from the terminal.
pub struct OnTty {
    child: tokio::process::Child,
    /// The terminal's other end: what is written here is typed at the prompt.
    master: std::fs::File,
    stderr: tokio::process::ChildStderr,
    seen: Vec<u8>,
}

pub fn spawn_on_tty(sim: &Sim, args: &[&str]) -> OnTty {
    use std::os::fd::{FromRawFd, OwnedFd};
    let (mut master, mut slave) = (-1, -1);
    // SAFETY: openpty writes two new descriptors into the out-parameters; the null name,
    // termios and winsize pointers are allowed (defaults).
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened by openpty and are owned here only.
    let (master, slave) = unsafe { (std::fs::File::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_kubectl-sts"));
    cmd.arg("--kubeconfig")
        .arg(sim.kubeconfig_path())
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("KUBECONFIG")
        .stdin(Stdio::from(slave))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().expect("spawn kubectl-sts");
    drop(cmd);
    let stderr = child.stderr.take().unwrap();
    OnTty {
        child,
        master,
        stderr,
        seen: Vec::new(),
    }
}

impl OnTty {
    /// Wait (bounded) until stderr so far contains `needle` (a prompt has no newline).
    pub async fn wait_text(&mut self, needle: &str) {
        let fut = async {
            let mut buf = [0u8; 4096];
            while !String::from_utf8_lossy(&self.seen).contains(needle) {
                let n = self.stderr.read(&mut buf).await.unwrap();
                assert!(
                    n > 0,
                    "stderr ended without {needle:?}: {}",
                    String::from_utf8_lossy(&self.seen)
                );
                self.seen.extend_from_slice(&buf[..n]);
            }
        };
        tokio::time::timeout(Duration::from_secs(30), fut)
            .await
            .unwrap_or_else(|_| panic!("no {needle:?} on stderr within 30s"));
    }

    /// Type `line` and Enter at the terminal.
    pub fn type_line(&mut self, line: &str) {
        use std::io::Write;
        self.master.write_all(format!("{line}\n").as_bytes()).unwrap();
    }

    pub fn sigint(&self) {
        let pid = self.child.id().expect("still running").to_string();
        assert!(
            std::process::Command::new("kill")
                .args(["-INT", &pid])
                .status()
                .unwrap()
                .success()
        );
    }

    /// Wait (bounded) for the exit; the whole stdout and stderr.
    pub async fn finish(mut self) -> Output {
        let mut stdout = Vec::new();
        let mut out = self.child.stdout.take().unwrap();
        let mut rest = Vec::new();
        let (_, _, status) = tokio::time::timeout(Duration::from_secs(60), async {
            tokio::join!(
                self.stderr.read_to_end(&mut rest),
                out.read_to_end(&mut stdout),
                self.child.wait()
            )
        })
        .await
        .expect("exits within 60s");
        self.seen.extend_from_slice(&rest);
        Output {
            status: status.unwrap(),
            stdout,
            stderr: self.seen,
        }
    }
}
