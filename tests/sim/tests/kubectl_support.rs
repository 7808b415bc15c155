//! Real kubectl against a sim, shared by the kubectl_* tests: find the binary (skip
//! outside CI when it is missing), run a command to completion or stream a watch's
//! lines, and read kubectl's tables by their headers.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

/// Upper bound for any one kubectl command or awaited watch line.
pub const TIMEOUT: Duration = Duration::from_secs(90);

/// The kubectl binary: `$KUBECTL`, else the first `kubectl` on `PATH`.
pub fn find_kubectl() -> Option<PathBuf> {
    if let Some(k) = std::env::var_os("KUBECTL").filter(|k| !k.is_empty()) {
        return Some(PathBuf::from(k));
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join("kubectl"))
        .find(|p| p.is_file())
}

/// kubectl, or None (skip) outside CI. Panics under `CI=true` when it is missing.
pub fn kubectl_or_skip() -> Option<PathBuf> {
    let k = find_kubectl();
    if k.is_none() {
        assert!(
            std::env::var("CI").map(|v| v != "true").unwrap_or(true),
            "CI=true but kubectl was not found (set KUBECTL or put kubectl on PATH)"
        );
        eprintln!("kubectl not found (set KUBECTL): skipping the kubectl fidelity test");
    }
    k
}

pub struct Kubectl {
    pub bin: PathBuf,
    pub kubeconfig: PathBuf,
}

pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Kubectl {
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.bin);
        c.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .env_remove("KUBECONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        c
    }

    /// Run kubectl to completion.
    pub async fn run(&self, args: &[&str]) -> Out {
        let child = self.command(args).spawn().expect("kubectl starts");
        let o = tokio::time::timeout(TIMEOUT, child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("kubectl {args:?} did not finish in {TIMEOUT:?}"))
            .expect("kubectl output");
        Out {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// Run kubectl and require exit 0; returns stdout.
    pub async fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args).await;
        assert_eq!(
            o.code, 0,
            "kubectl {args:?} exited {}\nstdout:\n{}\nstderr:\n{}",
            o.code, o.stdout, o.stderr
        );
        o.stdout
    }

    /// Start a long-running kubectl (a watch) whose stdout lines arrive on a channel.
    pub fn stream(&self, args: &[&str]) -> Stream {
        let mut child = self.command(args).spawn().expect("kubectl starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(l)) = lines.next_line().await {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        Stream {
            _child: child,
            rx,
            seen: Vec::new(),
            args: args.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// A background kubectl's output, read line by line as it arrives.
pub struct Stream {
    _child: Child,
    rx: mpsc::UnboundedReceiver<String>,
    /// Every line received so far.
    pub seen: Vec<String>,
    args: Vec<String>,
}

impl Stream {
    /// Read lines until one satisfies `pred`; returns the lines read by this call
    /// (the matching one last). Panics after TIMEOUT.
    pub async fn until(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> Vec<String> {
        let mut got = Vec::new();
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        loop {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(l)) => {
                    self.seen.push(l.clone());
                    got.push(l.clone());
                    if pred(&l) {
                        return got;
                    }
                }
                Ok(None) => panic!(
                    "kubectl {:?} ended before {what}; output so far:\n{}",
                    self.args,
                    self.seen.join("\n")
                ),
                Err(_) => panic!(
                    "no {what} from kubectl {:?} within {TIMEOUT:?}; output so far:\n{}",
                    self.args,
                    self.seen.join("\n")
                ),
            }
        }
    }
}

/// A kubectl table (`get`) as rows of header -> cell, cut at the header's column
/// offsets (kubectl's tabwriter aligns every cell under its header).
pub fn table(out: &str) -> Vec<std::collections::HashMap<String, String>> {
    let mut lines = out.lines().filter(|l| !l.trim().is_empty());
    let Some(header) = lines.next() else { return Vec::new() };
    // Headers are separated by 2+ spaces; single spaces are inside one ("ACCESS MODES").
    let mut cols: Vec<(usize, String)> = Vec::new();
    let mut i = 0;
    let b = header.as_bytes();
    while i < b.len() {
        if b[i] != b' ' && (i == 0 || (b[i - 1] == b' ' && (i < 2 || b[i - 2] == b' '))) {
            let end = header[i..].find("  ").map(|e| i + e).unwrap_or(header.len());
            cols.push((i, header[i..end].trim().to_string()));
            i = end;
        } else {
            i += 1;
        }
    }
    lines
        .map(|l| {
            cols.iter()
                .enumerate()
                .map(|(k, (start, name))| {
                    let end = cols.get(k + 1).map(|c| c.0).unwrap_or(l.len()).min(l.len());
                    let cell = l.get((*start).min(l.len())..end).unwrap_or("").trim().to_string();
                    (name.clone(), cell)
                })
                .collect()
        })
        .collect()
}

pub fn names(rows: &[std::collections::HashMap<String, String>]) -> Vec<String> {
    rows.iter().map(|r| r["NAME"].clone()).collect()
}
