//! Real kubectl (if installed) execs into a StatefulSet's pods in a running sim: the
//! seed runbook's steps. Skipped, with a note, when `kubectl` is not on PATH.

use std::process::{Output, Stdio};
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::runtime::wait::await_condition;
use sts_sim::{Sim, SimConfig};
use tokio::io::AsyncWriteExt;

const TIMEOUT: Duration = Duration::from_secs(60);

fn kubectl_available() -> bool {
    std::process::Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success())
}

async fn kubectl(sim: &Sim, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut cmd = tokio::process::Command::new("kubectl");
    cmd.env("KUBECONFIG", sim.kubeconfig_path())
        .args(args)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().expect("kubectl runs");
    if let Some(input) = stdin {
        let mut w = child.stdin.take().unwrap();
        w.write_all(input).await.unwrap();
        drop(w);
    }
    tokio::time::timeout(TIMEOUT, child.wait_with_output())
        .await
        .expect("kubectl finished in time")
        .unwrap()
}

/// Wait until pod `name` runs with a uid other than `not_uid`; returns its uid.
async fn running_pod(sim: &Sim, name: &str, not_uid: Option<&str>) -> String {
    let pods: kube::Api<Pod> = kube::Api::namespaced(sim.client(), "default");
    let not_uid = not_uid.map(str::to_string);
    let cond = move |p: Option<&Pod>| {
        p.is_some_and(|p| {
            p.metadata.uid != not_uid
                && p.metadata.deletion_timestamp.is_none()
                && p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
        })
    };
    let pod = tokio::time::timeout(TIMEOUT, await_condition(pods, name, cond))
        .await
        .unwrap_or_else(|_| panic!("pod {name} running in time"))
        .unwrap()
        .unwrap();
    pod.metadata.uid.unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[tokio::test]
async fn kubectl_exec_runbook_against_the_seed_statefulset() {
    if !kubectl_available() {
        eprintln!("kubectl not installed: skipping");
        return;
    }
    let sim = Sim::start(SimConfig {
        storage_classes: vec!["alicloud-disk-ssd".into()],
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/seed-003-statefulset.yaml");
    let out = kubectl(&sim, &["apply", "-f", manifest], None).await;
    assert!(out.status.success(), "apply: {}", text(&out.stderr));
    let uid = running_pod(&sim, "web-0", None).await;

    // The fresh volume, as on a real ext4 disk.
    let out = kubectl(&sim, &["exec", "web-0", "--", "ls", "/data"], None).await;
    assert_eq!(
        (text(&out.stdout).as_str(), out.status.code()),
        ("lost+found\n", Some(0))
    );

    // Exit codes and both streams come back as kubectl shows them.
    let out = kubectl(
        &sim,
        &["exec", "web-0", "--", "sh", "-c", "echo out; echo err >&2; exit 3"],
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(text(&out.stdout), "out\n");
    let err = text(&out.stderr);
    assert!(
        err.contains("err\n") && err.contains("command terminated with exit code 3"),
        "{err}"
    );

    // Write through stdin onto the PVC, and something into the container's own fs.
    let payload = b"persist me\n";
    let out = kubectl(
        &sim,
        &[
            "exec",
            "-i",
            "web-0",
            "--",
            "sh",
            "-c",
            "cat > /data/marker && echo tmp > /root/scratch",
        ],
        Some(payload),
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));

    // Recreate the pod: the PVC data stays, the rest of the filesystem does not.
    let out = kubectl(&sim, &["delete", "pod", "web-0", "--wait=false"], None).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    running_pod(&sim, "web-0", Some(&uid)).await;
    let out = kubectl(
        &sim,
        &["exec", "web-0", "-c", "nginx", "--", "cat", "/data/marker"],
        None,
    )
    .await;
    assert_eq!((out.stdout.as_slice(), out.status.code()), (&payload[..], Some(0)));
    let out = kubectl(&sim, &["exec", "web-0", "--", "ls", "-A", "/root"], None).await;
    assert_eq!((text(&out.stdout).as_str(), out.status.code()), ("", Some(0)));

    // A missing binary: the runtime's error, exit code 1 from kubectl.
    let out = kubectl(&sim, &["exec", "web-0", "--", "/nonexistent"], None).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("OCI runtime exec failed"),
        "{}",
        text(&out.stderr)
    );
    sim.shutdown().await;
}
