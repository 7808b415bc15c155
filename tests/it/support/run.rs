//! Running a program from a test: the built `kubectl-sts` against a sim (to completion,
//! followed line by line, or on a terminal), and what it left: a `Run`, whose
//! `assert_exit` prints the command line, the exit, stdout and stderr when it fails.

use std::fmt;
use std::ops::Deref;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::pin::Pin;
use std::process::{Output, Stdio};
use std::time::Duration;

use sts_sim::Sim;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};

/// A finished command: its command line and its output (which it derefs to).
pub struct Run {
    pub command: String,
    pub output: Output,
}

impl Deref for Run {
    type Target = Output;
    fn deref(&self) -> &Output {
        &self.output
    }
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = &self.output.status;
        let exit = match (status.code(), status.signal()) {
            (Some(code), _) => format!("exit {code}"),
            (None, Some(sig)) => format!("killed by signal {sig}"),
            (None, None) => "no exit status".to_string(),
        };
        write!(
            f,
            "command: {}\n{exit}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.command,
            String::from_utf8_lossy(&self.output.stdout),
            String::from_utf8_lossy(&self.output.stderr)
        )
    }
}

impl Run {
    /// The command exited with `code`; otherwise fail with the command, stdout and stderr.
    #[track_caller]
    pub fn assert_exit(&self, code: i32) -> &Self {
        self.assert_exit_in(&[code])
    }

    /// The command exited with one of `codes`.
    #[track_caller]
    pub fn assert_exit_in(&self, codes: &[i32]) -> &Self {
        let code = self.output.status.code();
        assert!(
            code.is_some_and(|c| codes.contains(&c)),
            "expected exit {codes:?}, got {code:?}\n{self}"
        );
        self
    }

    /// The command exited with a non-zero code (not killed by a signal).
    #[track_caller]
    pub fn assert_failure(&self) -> &Self {
        let code = self.output.status.code();
        assert!(
            code.is_some_and(|c| c != 0),
            "expected a failing exit, got {code:?}\n{self}"
        );
        self
    }
}

/// The command line as a shell would take it (arguments with spaces or quotes quoted).
fn command_line(cmd: &std::process::Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| {
            let a = a.to_string_lossy();
            if a.is_empty() || a.contains(|c: char| c.is_whitespace() || "'\"\\$*?".contains(c)) {
                format!("'{}'", a.replace('\'', r"'\''"))
            } else {
                a.into_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Run a command to completion and keep its command line with its output.
pub trait RunExt {
    fn run(&mut self) -> Run;
}

impl RunExt for std::process::Command {
    fn run(&mut self) -> Run {
        let command = command_line(self);
        let output = self.output().unwrap_or_else(|e| panic!("run {command}: {e}"));
        Run { command, output }
    }
}

/// `tool` is on PATH (tests of optional tools skip without it).
pub fn have(tool: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {tool} >/dev/null")])
        .status()
        .is_ok_and(|s| s.success())
}

/// `RunExt::run` for a tokio command.
pub async fn run_async(cmd: &mut tokio::process::Command) -> Run {
    let command = command_line(cmd.as_std());
    let output = cmd.output().await.unwrap_or_else(|e| panic!("run {command}: {e}"));
    Run { command, output }
}

/// The built `kubectl-sts` with `--kubeconfig` and `args`, as an SRE runs it: no
/// ambient KUBECONFIG, no colour, stdin closed.
pub fn kubectl_sts_command(kubeconfig: &Path, args: &[&str]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_kubectl-sts"));
    cmd.arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("KUBECONFIG")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    cmd
}

/// Run the built `kubectl-sts` with `args` against the sim (its kubeconfig, no colour).
pub async fn kubectl_sts(sim: &Sim, args: &[&str]) -> Run {
    kubectl_sts_with_kubeconfig(&sim.kubeconfig_path(), args).await
}

/// `kubectl_sts` for a command line built at run time.
pub async fn kubectl_sts_owned(sim: &Sim, args: &[String]) -> Run {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    kubectl_sts(sim, &args).await
}

pub async fn kubectl_sts_with_kubeconfig(kubeconfig: &Path, args: &[&str]) -> Run {
    run_async(&mut kubectl_sts_command(kubeconfig, args)).await
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Parse a command's `-o json` output.
pub fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", stdout(o)))
}

type Stream = Pin<Box<dyn AsyncRead + Send>>;

/// A running `kubectl-sts` whose lines on one stream (stderr, or stdout) a test waits
/// on, then signals or lets finish.
pub struct Running {
    command: String,
    child: tokio::process::Child,
    lines: tokio::io::Lines<BufReader<Stream>>,
    other: Stream,
    follows_stdout: bool,
    pub seen: Vec<String>,
}

/// Start `kubectl-sts args` against the sim, following its stderr (progress lines).
pub fn spawn(sim: &Sim, args: &[&str]) -> Running {
    spawn_following(sim, args, false)
}

/// Start `kubectl-sts args` against the sim, following its stdout (an event stream).
pub fn spawn_following_stdout(sim: &Sim, args: &[&str]) -> Running {
    spawn_following(sim, args, true)
}

fn spawn_following(sim: &Sim, args: &[&str], follows_stdout: bool) -> Running {
    let mut cmd = kubectl_sts_command(&sim.kubeconfig_path(), args);
    let command = command_line(cmd.as_std());
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {command}: {e}"));
    let out: Stream = Box::pin(child.stdout.take().unwrap());
    let err: Stream = Box::pin(child.stderr.take().unwrap());
    let (followed, other) = if follows_stdout { (out, err) } else { (err, out) };
    Running {
        command,
        child,
        lines: BufReader::new(followed).lines(),
        other,
        follows_stdout,
        seen: Vec::new(),
    }
}

impl Running {
    /// The next line of the followed stream (None at its end), bounded by 30s.
    pub async fn next_line(&mut self) -> Option<String> {
        let line = tokio::time::timeout(Duration::from_secs(30), self.lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("no line within 30s from {}: {:#?}", self.command, self.seen))
            .expect("read a line");
        self.seen.extend(line.clone());
        line
    }

    /// Wait (bounded) for a line of the followed stream containing `needle`.
    pub async fn wait_line(&mut self, needle: &str) {
        let fut = async {
            while let Some(l) = self.lines.next_line().await.unwrap() {
                self.seen.push(l.clone());
                if l.contains(needle) {
                    return;
                }
            }
            panic!("no line with {needle:?}: {:#?}", self.seen);
        };
        tokio::time::timeout(Duration::from_secs(30), fut)
            .await
            .unwrap_or_else(|_| panic!("no line with {needle:?} within 30s"));
    }

    pub fn sigint(&self) {
        sigint(&self.child);
    }

    /// SIGKILL: the process dies at once, as in an OOM kill or a lost laptop session.
    pub fn kill(&mut self) {
        self.child.start_kill().expect("send SIGKILL");
    }

    /// Wait (bounded) for the exit; the whole stdout and stderr.
    pub async fn finish(self) -> Run {
        let Running {
            command,
            mut child,
            mut lines,
            mut other,
            follows_stdout,
            seen,
        } = self;
        let followed = async move {
            let mut s = seen.join("\n");
            if !s.is_empty() {
                s.push('\n');
            }
            while let Some(l) = lines.next_line().await.unwrap() {
                s.push_str(&l);
                s.push('\n');
            }
            s.into_bytes()
        };
        let mut rest = Vec::new();
        let (followed, _, status) = tokio::time::timeout(Duration::from_secs(60), async {
            tokio::join!(followed, other.read_to_end(&mut rest), child.wait())
        })
        .await
        .unwrap_or_else(|_| panic!("{command} did not exit within 60s"));
        let (stdout, stderr) = if follows_stdout {
            (followed, rest)
        } else {
            (rest, followed)
        };
        Run {
            command,
            output: Output {
                status: status.unwrap(),
                stdout,
                stderr,
            },
        }
    }
}

/// Ctrl-C, as a terminal sends it: SIGINT to the process.
fn sigint(child: &tokio::process::Child) {
    let pid = child.id().expect("still running").to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
}

/// The plugin with a pseudo-terminal on stdin, as at an SRE's shell: `confirm` prompts
/// (on stderr, with no newline after `[y/N] `) and reads the answer from the terminal.
pub struct OnTty {
    command: String,
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
    let mut cmd = kubectl_sts_command(&sim.kubeconfig_path(), args);
    let command = command_line(cmd.as_std());
    cmd.stdin(Stdio::from(slave))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {command}: {e}"));
    drop(cmd);
    let stderr = child.stderr.take().unwrap();
    OnTty {
        command,
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
        sigint(&self.child);
    }

    /// Wait (bounded) for the exit; the whole stdout and stderr.
    pub async fn finish(mut self) -> Run {
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
        .unwrap_or_else(|_| panic!("{} did not exit within 60s", self.command));
        self.seen.extend_from_slice(&rest);
        Run {
            command: self.command,
            output: Output {
                status: status.unwrap(),
                stdout,
                stderr: self.seen,
            },
        }
    }
}
