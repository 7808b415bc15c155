//! Fault matrix, verify-persistence's own steps: exec failing mid-marker, marker cleanup
//! failing, a crash-looping replacement, and Ctrl-C (SIGINT) at each step (preflight,
//! marking, waiting, verifying). The rule checked every time: nothing is deleted that was
//! not asked for, and every marker file is either removed or named in the output.
//! Covered elsewhere: tests/it/verify.rs `exec_failure_after_marking_reports_and_keeps_pod`
//! (one mount, read-back fails), `ctrl_c_while_waiting_stops_and_states_what_is_left`,
//! `evict_blocked_by_pdb`, `data_loss_fault_gives_lost_and_exit_1`.

use std::time::Duration;

use crate::support::*;
use serde_json::{Value, json};
use sts_sim::annotations;

fn two_mounts() -> Value {
    json!({"containers":[{"name":"app","image":"busybox","volumeMounts":[
        {"name":"data","mountPath":"/data"},{"name":"logs","mountPath":"/logs"}]}]})
}

/// Two mounts; the exec that writes the second marker fails (after 2 execs: write and
/// read-back of the first). The first marker cannot be removed either (exec keeps
/// failing): the pod is not deleted and the line names the marker left, which is the
/// only marker on disk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_fails_mid_marker() {
    let ann = json!({annotations::EXEC_FAIL: "after-2"});
    let sim = sim_with_settled(&on_delete_manifest("mm", two_mounts(), &["data", "logs"], ann), "mm").await;
    let before = state(&sim).await;
    sim.requests().clear();
    let o = kubectl_sts(&sim, &["verify-persistence", "mm", "--yes"]).await;
    let line = assert_error(
        &o,
        3,
        &[
            "write the marker /logs/",
            "nothing was deleted",
            "marker files remain",
            "on PVC data-mm-0",
        ],
    );
    assert!(!line.contains("on PVC logs-mm-0"), "{line}");
    assert_eq!(sim.requests().count("delete", "pods"), 0);
    let after = state(&sim).await;
    assert_eq!(after.pods, before.pods);
    assert_eq!(after.pvcs, before.pvcs);
    let pv = before.pvcs["default/data-mm-0"].1.clone().unwrap();
    assert_eq!(after.markers, markers_under(&sim.ctx().runtime.volume_dir(&pv)));
    assert_eq!(after.markers.len(), 1);
}

/// The exec writing the second marker runs, but its answer is lost (no status): the
/// marker may or may not be there, so it is removed like a written one. The pod is not
/// deleted and no marker is left on any volume.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_answer_lost_mid_marker() {
    // Exec 0 writes /data's marker, 1 reads it back, 2 writes /logs's: its answer is lost.
    let ann = json!({annotations::EXEC_LOST_RESPONSE: "only-2"});
    let sim = sim_with_settled(&on_delete_manifest("ml", two_mounts(), &["data", "logs"], ann), "ml").await;
    let before = state(&sim).await;
    sim.requests().clear();
    let o = kubectl_sts(&sim, &["verify-persistence", "ml", "--yes", "-o", "json"]).await;
    let line = assert_error(
        &o,
        3,
        &[
            "write the marker /logs/",
            "closed without an exit status",
            "nothing was deleted",
        ],
    );
    assert!(!line.contains("remain"), "{line}");
    assert_eq!(sim.requests().count("delete", "pods"), 0);
    let after = state(&sim).await;
    assert_eq!(after.pods, before.pods);
    assert_eq!(after.pvcs, before.pvcs);
    assert_eq!(after.markers, Vec::<std::path::PathBuf>::new(), "{line}");
}

/// The exec writing the second marker runs, then its connection stalls, open and
/// silent: the exec is abandoned after --request-timeout (exit 4), the maybe-written
/// marker is removed, the pod is not deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_stall_mid_marker_is_bounded() {
    let ann = json!({annotations::EXEC_STALL: "only-2"});
    let sim = sim_with_settled(&on_delete_manifest("ms", two_mounts(), &["data", "logs"], ann), "ms").await;
    let before = state(&sim).await;
    let started = std::time::Instant::now();
    let o = kubectl_sts(&sim, &["verify-persistence", "ms", "--yes", "--request-timeout", "2s"]).await;
    let line = assert_error(
        &o,
        4,
        &[
            "write the marker /logs/",
            "no answer from the exec into pod ms-0 within 2s",
            "--request-timeout",
            "nothing was deleted",
        ],
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    assert!(!line.contains("remain"), "{line}");
    let after = state(&sim).await;
    assert_eq!(after.pods, before.pods);
    assert_eq!(after.markers, Vec::<std::path::PathBuf>::new(), "{line}");
}

/// The replacement pod lets kubectl-sts read the marker but not remove it: the verdict
/// stands (PERSISTED), and the marker left is named in the report, in the table, and is
/// exactly the file on disk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marker_cleanup_failing() {
    let spec =
        json!({"containers":[{"name":"app","image":"busybox","volumeMounts":[{"name":"data","mountPath":"/data"}]}]});
    let sim = sim_with_settled(&on_delete_manifest("mc", spec, &["data"], json!({})), "mc").await;
    template_annotation(&sim, "mc", annotations::EXEC_FAIL, "after-1").await;
    let o = kubectl_sts(&sim, &["verify-persistence", "mc", "--yes", "--force", "-o", "json"]).await;
    assert_no_dump(&o);
    let r = json(&o);
    assert_eq!(r["pods"][0]["mounts"][0]["verdict"], "PERSISTED", "{r:#}");
    let left = r["pods"][0]["markersRemaining"].as_array().unwrap();
    assert_eq!(left.len(), 1, "{r:#}");
    assert_eq!(left[0]["pvc"], "data-mc-0");
    let on_disk = markers(&sim);
    assert_eq!(on_disk.len(), 1);
    assert!(
        on_disk[0].ends_with(left[0]["pathInVolume"].as_str().unwrap()),
        "{on_disk:?} {left:?}"
    );
    // The verdict stands (exit 0), and stderr says which file to remove by hand.
    o.assert_exit(0);
    let e = stderr(&o);
    assert!(
        e.lines().any(|l| l.starts_with("warning: could not remove the marker")
            && l.contains("on PVC data-mc-0")
            && l.contains("remove it by hand")),
        "{e}"
    );
}

/// The replacement crash-loops: the wait ends at --timeout (exit 4) with the state of
/// the new pod and the marker named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_looping_replacement() {
    let spec =
        json!({"containers":[{"name":"app","image":"busybox","volumeMounts":[{"name":"data","mountPath":"/data"}]}]});
    let sim = sim_with_settled(&on_delete_manifest("cl", spec, &["data"], json!({})), "cl").await;
    template_annotation(&sim, "cl", annotations::CRASH_LOOP, "true").await;
    let o = kubectl_sts(
        &sim,
        &["verify-persistence", "cl", "--yes", "--force", "--timeout", "3s"],
    )
    .await;
    let line = assert_error(&o, 4, &["timed out after 3s", "cl-0"]);
    let on_disk = markers(&sim);
    if on_disk.is_empty() {
        assert!(!line.contains("marker files remain"), "{line}");
    } else {
        assert!(
            line.contains("marker files remain") && line.contains("data-cl-0"),
            "{line}"
        );
    }
}

/// Ctrl-C during the preflight (the StatefulSet GET is slow): nothing changed, 130.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_during_preflight() {
    let sim = seeded().await;
    let before = state(&sim).await;
    sim.requests().clear();
    sim.faults().slow("list", "pods", Duration::from_secs(5));
    let r = spawn(&sim, &["verify-persistence", "web", "--yes"]);
    // The GET before the slow list has been answered: the command is in its preflight.
    until_request(&sim, "get statefulset", |q| {
        q.verb == "get" && q.resource == "statefulsets"
    })
    .await;
    r.sigint();
    let o = r.finish().await;
    sim.faults().reset();
    assert_error(&o, 130, &["interrupted during the preflight: nothing was changed"]);
    assert_eq!(writes(&sim), Vec::<String>::new());
    assert_eq!(state(&sim).await, before);
}

/// Ctrl-C while the marker write is in flight (exec slowed): nothing deleted, and no
/// marker left behind once the in-flight write has landed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_while_marking() {
    let sim = seeded().await;
    let before = state(&sim).await;
    sim.requests().clear();
    sim.faults().slow("*", "pods/exec", Duration::from_millis(1500));
    let r = spawn(&sim, &["verify-persistence", "web", "--yes"]);
    // The claim GET is the last request before the first exec.
    until_request(&sim, "get pvc", |q| {
        q.verb == "get" && q.resource == "persistentvolumeclaims"
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    r.sigint();
    let o = r.finish().await;
    let line = assert_error(&o, 130, &["interrupted while marking pod web-1: nothing was deleted"]);
    // Give an exec the server may already have accepted the time to land (the fault's
    // own delay), then look at the disk.
    tokio::time::sleep(Duration::from_millis(2000)).await;
    sim.faults().reset();
    assert_eq!(sim.requests().count("delete", "pods"), 0);
    let after = state(&sim).await;
    assert_eq!(after.pods, before.pods);
    if !after.markers.is_empty() {
        assert!(
            line.contains("marker"),
            "marker left but not named: {line} {:?}",
            after.markers
        );
    }
}

/// Ctrl-C after the replacement is Ready, while its marker is being read (exec slowed):
/// exit 130, the verification is reported as interrupted, the marker is removed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_while_verifying() {
    let sim = seeded().await;
    let before = state(&sim).await;
    let mut r = spawn(&sim, &["verify-persistence", "web", "--yes", "--timeout", "30s"]);
    r.wait_line("waiting for its replacement").await;
    sim.faults().slow("*", "pods/exec", Duration::from_millis(1500));
    r.wait_line("web-1: ready").await;
    r.sigint();
    let o = r.finish().await;
    sim.faults().reset();
    assert_error(&o, 130, &["interrupted while verifying web-1"]);
    let after = state(&sim).await;
    assert_eq!(after.pods["default/web-0"], before.pods["default/web-0"]);
    assert_eq!(after.pvcs, before.pvcs);
    assert_eq!(after.markers, Vec::<std::path::PathBuf>::new());
}

/// On a terminal the command asks before deleting, naming the pod, the namespace and
/// the context; "n" changes nothing (exit 1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompt_on_a_terminal_answered_no_changes_nothing() {
    let sim = seeded().await;
    let before = state(&sim).await;
    sim.requests().clear();
    let mut r = spawn_on_tty(&sim, &["verify-persistence", "web"]);
    r.wait_text("[y/N] ").await;
    r.type_line("n");
    let o = r.finish().await;
    let err = stderr(&o);
    o.assert_exit(1);
    let prompt = err.lines().find(|l| l.contains("[y/N]")).unwrap();
    for needle in ["web-1", "namespace \"default\"", "context \"sts-sim\""] {
        assert!(prompt.contains(needle), "{needle:?} not in the prompt: {prompt}");
    }
    assert!(err.contains("Nothing was changed."), "{err}");
    assert_no_dump(&o);
    assert_eq!(writes(&sim), Vec::<String>::new());
    assert_eq!(state(&sim).await, before);
}

/// "y" at the prompt goes ahead: the drill runs to its verdict and cleans up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompt_on_a_terminal_answered_yes_verifies() {
    let sim = seeded().await;
    let before = state(&sim).await;
    let mut r = spawn_on_tty(&sim, &["verify-persistence", "web", "-o", "json"]);
    r.wait_text("[y/N] ").await;
    r.type_line("y");
    let o = r.finish().await;
    o.assert_exit(0);
    assert_eq!(json(&o)["result"], "Persisted");
    let after = state(&sim).await;
    assert_ne!(after.pods["default/web-1"], before.pods["default/web-1"]);
    assert_eq!(after.pods["default/web-0"], before.pods["default/web-0"]);
    assert_eq!(after.pvcs, before.pvcs);
    assert_eq!(after.markers, Vec::<std::path::PathBuf>::new());
}

/// Ctrl-C while the prompt waits for an answer: exit 130, nothing written or deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_at_the_prompt() {
    let sim = seeded().await;
    let before = state(&sim).await;
    sim.requests().clear();
    let mut r = spawn_on_tty(&sim, &["verify-persistence", "web"]);
    r.wait_text("[y/N] ").await;
    r.sigint();
    let o = r.finish().await;
    assert_error(&o, 130, &["interrupted at the prompt: nothing was changed"]);
    assert_eq!(writes(&sim), Vec::<String>::new());
    assert_eq!(state(&sim).await, before);
}

/// Ctrl-C while the markers are being removed: the cleanup is what keeps the volumes
/// clean, so it finishes; the verdict, reached before, stands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_during_cleanup_lets_it_finish() {
    let sim = seeded().await;
    let mut r = spawn(&sim, &["verify-persistence", "web", "--yes", "-o", "json"]);
    r.wait_line("web-1: ready").await;
    sim.faults().slow("*", "pods/exec", Duration::from_millis(1500));
    r.wait_line("web-1: removing the marker").await;
    r.sigint();
    let o = r.finish().await;
    sim.faults().reset();
    let err = stderr(&o);
    assert!(err.contains("interrupted: stopping safely"), "{err}");
    o.assert_exit(0);
    let rep = json(&o);
    assert_eq!(rep["result"], "Persisted");
    assert_eq!(rep["pods"][0]["markersRemaining"], json!([]), "{rep}");
    assert_eq!(state(&sim).await.markers, Vec::<std::path::PathBuf>::new());
}

/// A second Ctrl-C during the cleanup exits at once, and the line names every marker
/// file it leaves, by PVC and path in the volume, so it can be removed by hand.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_sigint_during_cleanup_names_the_markers_left() {
    let sim = seeded().await;
    let mut r = spawn(&sim, &["verify-persistence", "web", "--yes"]);
    r.wait_line("web-1: ready").await;
    sim.faults().slow("*", "pods/exec", Duration::from_millis(3000));
    r.wait_line("web-1: removing the marker").await;
    r.sigint();
    r.wait_line("interrupted: stopping safely").await;
    r.sigint();
    let o = r.finish().await;
    sim.faults().reset();
    let left = state(&sim).await.markers;
    assert_eq!(left.len(), 1, "the rm was cut short, so its marker is still there");
    let name = left[0].file_name().unwrap().to_string_lossy().to_string();
    assert_error(
        &o,
        130,
        &[
            "interrupted twice",
            "marker files may remain",
            &format!("{name} on PVC disk-ssd-web-1"),
            "remove them by hand",
        ],
    );
}
