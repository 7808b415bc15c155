//! stdout's reader gone (`kubectl sts ... | head -1`): every command, in every output
//! format, ends quietly with exit 141 — no panic, no message, no abort — and a command
//! that changes the cluster still finishes what it was asked to do.

use std::process::{Output, Stdio};

use crate::support::*;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;

const NS: &str = "default";

/// Run the binary with stdout a pipe whose reader is already closed, so its first write
/// to stdout fails with EPIPE, as it does after `head -1` has read its line.
async fn run_closed_stdout(sim: &Sim, args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_kubectl-sts"))
        .arg("--kubeconfig")
        .arg(sim.kubeconfig_path())
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("KUBECONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("run kubectl-sts");
    tokio::time::timeout(std::time::Duration::from_secs(60), child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("kubectl-sts {args:?} did not end after its stdout closed"))
        .expect("wait for kubectl-sts")
}

fn assert_quiet_141(args: &[&str], o: &Output) {
    let err = stderr(o);
    assert_eq!(
        o.status.code(),
        Some(141),
        "kubectl-sts {} with stdout closed: exit {:?}, stderr:\n{err}",
        args.join(" "),
        o.status
    );
    // Live lines that go to stderr anyway (with -o json) are fine; a word about the
    // pipe, an error line or a panic is not.
    for bad in ["panicked", "Broken pipe", "error:", "backtrace"] {
        assert!(
            !err.contains(bad),
            "kubectl-sts {} with stdout closed printed {bad:?}:\n{err}",
            args.join(" ")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_commands_in_every_format_end_quietly() {
    let sim = seeded().await;
    let cases: &[&[&str]] = &[
        &["status", "web"],
        &["status", "web", "-o", "wide"],
        &["status", "web", "-o", "json"],
        &["status", "web", "-o", "yaml"],
        &["status", "-A"],
        &["status", "-A", "-o", "json"],
        &["status", "-A", "-o", "yaml"],
        &["rollout", "history", "web"],
        &["rollout", "history", "web", "-o", "json"],
        &["rollout", "history", "web", "-o", "yaml"],
        &["rollout", "web"],
        &["rollout", "web", "-o", "json"],
        &["rollout", "web", "-o", "yaml"],
        &["orphans", "-A"],
        &["orphans", "-A", "-o", "json"],
        &["orphans", "-A", "-o", "yaml"],
        &["orphans", "prune", "-A", "--dry-run"],
        &["scale", "web", "--replicas", "3", "--dry-run"],
        &["scale", "web", "--replicas", "3", "--dry-run", "-o", "json"],
        &["restart", "web", "--dry-run"],
        &["restart", "web", "--dry-run", "-o", "json"],
        &["verify-persistence", "web", "--dry-run"],
        &["verify-persistence", "web", "--dry-run", "-o", "json"],
        &["verify-persistence", "web", "--dry-run", "-o", "yaml"],
        &["version"],
        &["version", "-o", "json"],
        &["completion", "bash"],
        &["completion", "zsh"],
    ];
    for args in cases {
        let o = run_closed_stdout(&sim, args).await;
        assert_quiet_141(args, &o);
    }
    // Dry runs changed nothing.
    let sts = Api::<StatefulSet>::namespaced(sim.client(), NS)
        .get("web")
        .await
        .unwrap();
    assert_eq!(sts.spec.replicas, Some(2));
}

/// scale writes spec.replicas, then follows; with nobody reading, it stops following
/// (the scale was requested and the controller carries on), quietly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_with_closed_stdout_still_scales() {
    let sim = seeded().await;
    for args in [
        &["scale", "web", "--replicas", "3"][..],
        &["scale", "web", "--replicas", "4", "-o", "json"][..],
    ] {
        let o = run_closed_stdout(&sim, args).await;
        assert_quiet_141(args, &o);
    }
    let sts = Api::<StatefulSet>::namespaced(sim.client(), NS)
        .get("web")
        .await
        .unwrap();
    assert_eq!(sts.spec.replicas, Some(4));
}

/// verify-persistence is mid-drill when it first prints: it must not stop half way (a
/// marker on the volume, a pod deleted and not followed). It finishes the drill, cleans
/// up, and only then ends with 141.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_with_closed_stdout_finishes_the_drill() {
    let sim = seeded().await;
    let pods = Api::<Pod>::namespaced(sim.client(), NS);
    let before = pods.get("web-1").await.unwrap().metadata.uid.unwrap();
    let args = ["verify-persistence", "web", "--yes"];
    let o = run_closed_stdout(&sim, &args).await;
    // Its progress lines go to stderr; only the verdict table went to the closed stdout.
    assert_eq!(o.status.code(), Some(141), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    wait_sts(&sim.client(), NS, "web", settled()).await;
    let after = pods.get("web-1").await.unwrap().metadata.uid.unwrap();
    assert_ne!(before, after, "the drill deleted and recreated web-1");
    let root = sim.ctx().runtime.root().join("volumes");
    let mut stack = vec![root];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            assert!(
                !p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(".kubectl-sts-marker-")),
                "marker left behind: {p:?}"
            );
            if p.is_dir() {
                stack.push(p);
            }
        }
    }
}

/// A failure other than the closed pipe keeps its own exit code and message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_failure_keeps_its_exit_code() {
    let sim = seeded().await;
    let args = ["status", "nosuch"];
    let o = run_closed_stdout(&sim, &args).await;
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("statefulset \"nosuch\" not found"),
        "{}",
        stderr(&o)
    );
}
