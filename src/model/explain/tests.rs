use std::time::Duration;

use k8s_openapi::api::core::v1::{Event, Pod};
use serde_json::json;

use super::*;

/// A real v1.26 server: `kubectl delete pod web-0` of a pod whose container ignores
/// SIGTERM, grace period 4 s (tests/fixtures/k8s-1.26, copied from the captures).
const PODS: &str = include_str!("../../../tests/fixtures/k8s-1.26/watch-pods-sigterm-ignored.jsonl");
const EVENTS: &str = include_str!("../../../tests/fixtures/k8s-1.26/watch-events-sigterm-ignored.jsonl");

fn watch<T: serde::de::DeserializeOwned>(jsonl: &str) -> Vec<(String, T)> {
    jsonl
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["type"].as_str().unwrap().to_string(),
                serde_json::from_value(v["object"].clone()).unwrap(),
            )
        })
        .collect()
}

fn secs(s: f64) -> Option<Duration> {
    Some(Duration::from_secs_f64(s))
}

fn event(uid: &str, reason: &str, message: &str, count: i32) -> Event {
    serde_json::from_value(json!({
        "metadata": {"name": format!("web-0.{reason}"), "namespace": "default"},
        "involvedObject": {"kind": "Pod", "name": "web-0", "namespace": "default", "uid": uid},
        "reason": reason, "message": message, "count": count,
        "firstTimestamp": "2026-12-02T20:54:41Z", "lastTimestamp": "2026-12-02T20:54:41Z",
        "type": "Warning"
    }))
    .unwrap()
}

fn pod(uid: &str, extra: serde_json::Value) -> Pod {
    let mut v = json!({
        "metadata": {"name": "web-0", "namespace": "default", "uid": uid},
        "spec": {"containers": [{"name": "nginx", "image": "nginx:1.26"}], "nodeName": "node-1"},
        "status": {"phase": "Pending"}
    });
    crate::model::merge_json(&mut v, extra);
    serde_json::from_value(v).unwrap()
}

fn phase(phases: &[PhaseReport], name: PhaseName) -> &PhaseReport {
    phases
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no {name:?} in {phases:#?}"))
}

#[test]
fn captured_sigterm_ignored_is_a_kill_at_the_grace_deadline() {
    let pods: Vec<(String, Pod)> = watch(PODS);
    let events: Vec<(String, Event)> = watch(EVENTS);
    let old_uid = pods[0].1.metadata.uid.clone();
    let old_first = pods
        .iter()
        .map(|(_, p)| p)
        .find(|p| p.metadata.uid == old_uid && p.metadata.deletion_timestamp.is_some());
    let old_last = pods.iter().filter(|(t, _)| t == "DELETED").map(|(_, p)| p).next_back();
    let new = pods.iter().map(|(_, p)| p).rfind(|p| p.metadata.uid != old_uid);
    let evs: Vec<&Event> = events.iter().map(|(_, e)| e).collect();
    let t = Transition {
        marks: Marks {
            gone: secs(4.3),
            created: secs(4.35),
            scheduled: secs(4.4),
            ..Marks::default()
        },
        elapsed: Duration::from_secs(5),
        deletes: true,
        recreates: true,
        old_first,
        old_last,
        new,
        events: &evs,
        ..Transition::default()
    };
    let phases = explain(&t, Detail::Slow);
    let term = phase(&phases, PhaseName::Terminating);
    let why = term.explanation.as_deref().unwrap();
    assert!(term.slow && term.done, "{term:#?}");
    assert!(why.contains("container nginx ignored SIGTERM"), "{why}");
    assert!(why.contains("4s grace period") && why.contains("exit 137"), "{why}");
    assert!(
        term.evidence
            .iter()
            .any(|e| e.contains("Killing") && e.contains("Stopping container nginx")),
        "{:?}",
        term.evidence
    );
    assert!(
        term.evidence
            .iter()
            .any(|e| e.contains("exit code 137") && e.contains("2026-12-02T20:54:39Z")),
        "{:?}",
        term.evidence
    );
    // The replacement's token-volume FailedMount is noise: evidence, not a cause.
    let vols = phase(&phases, PhaseName::Volumes);
    assert!(!vols.done && !vols.slow, "{vols:#?}");
    assert!(
        vols.evidence
            .iter()
            .any(|e| e.starts_with("ignored") && e.contains("kube-api-access")),
        "{vols:#?}"
    );
    assert!(
        !vols.explanation.as_deref().unwrap_or("").contains("failed"),
        "{vols:#?}"
    );
    // Scheduling and recreation were quick: nothing said without --explain=all.
    assert_eq!(phase(&phases, PhaseName::Scheduling).explanation, None);
    let all = explain(&t, Detail::All);
    assert!(phase(&all, PhaseName::Scheduling).explanation.is_some());
}

#[test]
fn a_clean_quick_stop_is_not_explained_and_a_slow_one_is() {
    let old = pod(
        "old",
        json!({"metadata": {"deletionTimestamp": "2026-12-02T20:55:05Z", "deletionGracePeriodSeconds": 30},
        "status": {"containerStatuses": [{"name": "nginx", "ready": false, "restartCount": 0, "image": "x", "imageID": "",
            "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}}),
    );
    let mut t = Transition {
        marks: Marks {
            gone: secs(0.8),
            ..Marks::default()
        },
        elapsed: Duration::from_secs(1),
        deletes: true,
        old_first: Some(&old),
        old_last: Some(&old),
        ..Transition::default()
    };
    let quick = explain(&t, Detail::Slow);
    assert_eq!(quick.len(), 1);
    assert!(!quick[0].slow && quick[0].explanation.is_none(), "{quick:#?}");
    t.marks.gone = secs(6.5);
    let slow = explain(&t, Detail::Slow);
    let why = slow[0].explanation.as_deref().unwrap();
    assert!(
        slow[0].slow && why.contains("6.5s to stop after SIGTERM (grace period 30s)"),
        "{why}"
    );
}

#[test]
fn a_termination_stuck_on_a_not_ready_node_warns_against_force_deletion() {
    let old = pod(
        "old",
        json!({"metadata": {"deletionTimestamp": "2026-12-02T20:55:05Z", "deletionGracePeriodSeconds": 30}}),
    );
    let node = NodeState {
        name: "node-1".into(),
        ready: false,
        since: None,
        reason: Some("NodeStatusUnknown".into()),
    };
    let t = Transition {
        elapsed: Duration::from_secs(90),
        deletes: true,
        recreates: true,
        old_first: Some(&old),
        old_node: Some(&node),
        ..Transition::default()
    };
    let p = explain(&t, Detail::Slow);
    assert_eq!(p.len(), 1, "stops at the open phase");
    let why = p[0].explanation.as_deref().unwrap();
    assert!(!p[0].done && why.contains("node node-1 is NotReady"), "{why}");
    assert!(why.contains("second pod with the same identity"), "{why}");
}

fn after_scheduling(new: &Pod, evs: &[&Event], running: Option<f64>, elapsed: f64) -> Vec<PhaseReport> {
    let t = Transition {
        marks: Marks {
            gone: secs(0.5),
            created: secs(0.6),
            scheduled: secs(0.7),
            running: running.and_then(secs),
            ..Marks::default()
        },
        elapsed: Duration::from_secs_f64(elapsed),
        deletes: true,
        recreates: true,
        new: Some(new),
        events: evs,
        ..Transition::default()
    };
    explain(&t, Detail::Slow)
}

#[test]
fn a_multi_attach_error_explains_the_volumes_phase() {
    let new = pod("new", json!({}));
    let e = event(
        "new",
        "FailedAttachVolume",
        "Multi-Attach error for volume \"pvc-1\" Volume is already exclusively attached to one node and can't be attached to another",
        4,
    );
    let p = after_scheduling(&new, &[&e], None, 12.0);
    let vols = phase(&p, PhaseName::Volumes);
    let why = vols.explanation.as_deref().unwrap();
    assert!(vols.slow && !vols.done, "{vols:#?}");
    assert!(
        why.contains("still attached to another node") && why.contains("4 times"),
        "{why}"
    );
    let other = event(
        "new",
        "FailedAttachVolume",
        "AttachVolume.Attach failed for volume \"pvc-1\" : rpc error",
        2,
    );
    let p = after_scheduling(&new, &[&other], Some(5.0), 6.0);
    let why = phase(&p, PhaseName::Volumes).explanation.clone().unwrap();
    assert!(
        why.starts_with("attaching the volume failed (2 times): AttachVolume.Attach failed"),
        "{why}"
    );
}

#[test]
fn the_kubelets_pull_time_is_the_image_phase() {
    let new = pod("new", json!({}));
    let pulling = event("new", "Pulling", "Pulling image \"nginx:1.26\"", 1);
    let pulled = event(
        "new",
        "Pulled",
        "Successfully pulled image \"nginx:1.26\" in 6.5s (6.5s including waiting). Image size: 1 bytes.",
        1,
    );
    let p = after_scheduling(&new, &[&pulling, &pulled], Some(7.5), 8.0);
    let img = phase(&p, PhaseName::Image);
    assert!((img.seconds - 6.5).abs() < 0.01 && img.slow, "{img:#?}");
    assert!(
        img.explanation.as_deref().unwrap().contains("pulled it in 6.5s"),
        "{img:#?}"
    );
    assert!((phase(&p, PhaseName::Volumes).seconds - 0.3).abs() < 0.01, "{p:#?}");
    let failed = event("new", "Failed", "Failed to pull image \"nginx:nope\": not found", 3);
    let p = after_scheduling(&new, &[&pulling, &failed], None, 8.0);
    let img = phase(&p, PhaseName::Image);
    assert!(
        img.explanation
            .as_deref()
            .unwrap()
            .starts_with("the image cannot be pulled on node node-1"),
        "{img:#?}"
    );
}

#[test]
fn a_volume_node_affinity_conflict_explains_scheduling() {
    let new = pod("new", json!({"spec": {"nodeName": null}}));
    let e = event(
        "new",
        "FailedScheduling",
        "0/3 nodes are available: 3 node(s) had volume node affinity conflict.",
        1,
    );
    // The same reason as a v1.33+ scheduler words it.
    let newer = event(
        "new",
        "FailedScheduling",
        "0/3 nodes are available: 3 node(s) didn't match PersistentVolume's node affinity. preemption: \
         0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
        1,
    );
    for e in [&e, &newer] {
        scheduling_pinned(&new, e);
    }
}

fn scheduling_pinned(new: &Pod, e: &Event) {
    let t = Transition {
        marks: Marks {
            created: secs(0.1),
            ..Marks::default()
        },
        elapsed: Duration::from_secs(30),
        recreates: true,
        new: Some(new),
        events: &[e],
        ..Transition::default()
    };
    let p = explain(&t, Detail::Slow);
    let s = phase(&p, PhaseName::Scheduling);
    assert!(
        s.explanation.as_deref().unwrap().contains("pinned to a node or zone"),
        "{s:#?}"
    );
    assert_eq!(
        p[0].name,
        PhaseName::Creating,
        "a scale-up starts with the controller creating the pod"
    );
}

#[test]
fn readiness_within_the_probe_delay_is_expected_and_failing_probes_are_named() {
    let new = pod(
        "new",
        json!({"spec": {"containers": [{"name": "nginx", "readinessProbe": {"initialDelaySeconds": 10, "tcpSocket": {"port": 80}}}]}}),
    );
    let p = after_scheduling(&new, &[], Some(1.0), 12.0);
    let r = phase(&p, PhaseName::Readiness);
    assert!(!r.slow && !r.done, "11s is within the 10s delay + slack: {r:#?}");
    assert!(
        r.explanation
            .as_deref()
            .unwrap()
            .contains("readinessProbe initialDelaySeconds 10"),
        "{r:#?}"
    );
    let e = event("new", "Unhealthy", "Readiness probe failed: connection refused", 7);
    let p = after_scheduling(&new, &[&e], Some(1.0), 30.0);
    let r = phase(&p, PhaseName::Readiness);
    assert!(
        r.slow
            && r.explanation
                .as_deref()
                .unwrap()
                .starts_with("probe failing: Readiness probe failed"),
        "{r:#?}"
    );
}

#[test]
fn a_crash_loop_explains_readiness_with_the_log() {
    let new = pod(
        "new",
        json!({"status": {"phase": "Running", "containerStatuses": [{"name": "nginx", "ready": false, "restartCount": 3, "image": "x", "imageID": "",
        "state": {"waiting": {"reason": "CrashLoopBackOff"}}, "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}}]}}),
    );
    let t = Transition {
        marks: Marks {
            created: secs(0.1),
            scheduled: secs(0.2),
            running: secs(1.0),
            ..Marks::default()
        },
        elapsed: Duration::from_secs(20),
        recreates: true,
        new: Some(&new),
        crash_log: Some("; last log lines: \"boom\"".into()),
        ..Transition::default()
    };
    let p = explain(&t, Detail::Slow);
    let why = phase(&p, PhaseName::Readiness).explanation.clone().unwrap();
    assert!(
        why.contains("CrashLoopBackOff, 3 restarts") && why.ends_with("\"boom\""),
        "{why}"
    );
}

#[test]
fn go_durations_parse_as_the_kubelet_writes_them() {
    assert_eq!(evidence::go_duration("1.5s"), Some(Duration::from_millis(1500)));
    assert_eq!(evidence::go_duration("523ms"), Some(Duration::from_millis(523)));
    assert_eq!(evidence::go_duration("1m2.5s"), Some(Duration::from_millis(62_500)));
    assert_eq!(evidence::go_duration("abc"), None);
    assert_eq!(evidence::go_duration(""), None);
    assert_eq!(
        evidence::pulled_in(
            "Successfully pulled image \"nginx:1.25\" in 2.4s (2.4s including waiting). Image size: 5 bytes."
        ),
        Some(Duration::from_millis(2400))
    );
    assert_eq!(
        evidence::pulled_in("Container image \"nginx\" already present on machine"),
        None
    );
}

#[test]
fn causes_are_one_line_per_explained_phase() {
    let lines = causes(&[
        PhaseReport {
            name: PhaseName::Terminating,
            seconds: 8.1,
            done: true,
            slow: true,
            explanation: Some("killed".into()),
            evidence: vec![],
        },
        PhaseReport {
            name: PhaseName::Scheduling,
            seconds: 0.1,
            done: true,
            slow: false,
            explanation: None,
            evidence: vec![],
        },
        PhaseReport {
            name: PhaseName::Volumes,
            seconds: 3.0,
            done: false,
            slow: true,
            explanation: Some("attach".into()),
            evidence: vec![],
        },
    ]);
    assert_eq!(lines, vec!["terminating 8.1s: killed", "volumes 3.0s so far: attach"]);
}
