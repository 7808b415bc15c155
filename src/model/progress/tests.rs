use jiff::Timestamp;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Event, PersistentVolumeClaim, Pod};

use super::*;
use crate::model::statefulset::Facts;
use serde_json::{Value, json};

fn t(s: &str) -> Timestamp {
    format!("2026-11-22T03:00:{s}Z").parse().unwrap()
}

fn sts(replicas: i32, policy: &str, when_scaled: &str, observed: i64) -> StatefulSet {
    serde_json::from_value(json!({
        "metadata": {"name": "web", "namespace": "default", "generation": 2},
        "spec": {"replicas": replicas, "selector": {}, "template": {}, "serviceName": "nginx",
            "podManagementPolicy": policy,
            "persistentVolumeClaimRetentionPolicy": {"whenScaled": when_scaled, "whenDeleted": "Retain"},
            "volumeClaimTemplates": [{"metadata": {"name": "disk-ssd"}}]},
        "status": {"observedGeneration": observed, "replicas": replicas}
    }))
    .unwrap()
}

fn pod(name: &str, uid: &str, state: &str) -> Pod {
    let mut v: Value = json!({"metadata": {"name": name, "uid": uid},
        "spec": {"containers": [{"name": "nginx"}]},
        "status": {"phase": "Pending"}});
    match state {
        "running" => {
            v["status"] = json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}],
                "containerStatuses": [{"name": "nginx", "ready": false, "restartCount": 0, "image": "", "imageID": "", "state": {"running": {}}}]})
        }
        "ready" => {
            v["status"] = json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-11-22T03:00:01Z"}],
                "containerStatuses": [{"name": "nginx", "ready": true, "restartCount": 0, "image": "", "imageID": "", "state": {"running": {}}}]})
        }
        "terminating" => {
            v["metadata"]["deletionTimestamp"] = json!("2026-11-22T03:00:05Z");
            v["status"] = json!({"phase": "Running"});
        }
        _ => {}
    }
    serde_json::from_value(v).unwrap()
}

fn pvc(name: &str, uid: &str, phase: &str, volume: Option<&str>) -> PersistentVolumeClaim {
    serde_json::from_value(json!({"metadata": {"name": name, "uid": uid},
        "spec": {"volumeName": volume, "storageClassName": "alicloud-disk-ssd"},
        "status": {"phase": phase}}))
    .unwrap()
}

fn world<'a>(s: &'a StatefulSet, pods: &'a [Pod], pvcs: &'a [PersistentVolumeClaim], events: &'a [Event]) -> World<'a> {
    World {
        sts: Some(s),
        pods: pods.iter().collect(),
        pvcs: pvcs.iter().collect(),
        events: events.iter().collect(),
    }
}

#[test]
fn plan_scale_in_with_delete_needs_confirmation() {
    let s = sts(3, "OrderedReady", "Delete", 2);
    let claims = [
        pvc("disk-ssd-web-0", "c0", "Bound", Some("pv0")),
        pvc("disk-ssd-web-1", "c1", "Bound", Some("pv1")),
        pvc("disk-ssd-web-2", "c2", "Bound", Some("pv2")),
        pvc("disk-ssd-web-20", "c20", "Bound", Some("pv20")),
    ];
    let refs: Vec<&PersistentVolumeClaim> = claims.iter().collect();
    let p = plan(&Facts::of(&s), 1, &refs);
    assert_eq!(p.removing, vec![2, 1]);
    assert!(p.adding.is_empty());
    assert_eq!(
        p.left_behind.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(),
        vec!["disk-ssd-web-2", "disk-ssd-web-1"]
    );
    assert!(p.left_behind.iter().all(|l| l.will_be_deleted));
    let c = p.confirmation("web", "default", "ctx").unwrap();
    assert!(c.contains("DELETE PVCs disk-ssd-web-2, disk-ssd-web-1"), "{c}");
    // Retain: scale-in needs no confirmation, scale to 0 does.
    let s = sts(3, "OrderedReady", "Retain", 2);
    let p = plan(&Facts::of(&s), 1, &refs);
    assert!(p.left_behind.iter().all(|l| !l.will_be_deleted));
    assert_eq!(p.confirmation("web", "default", "ctx"), None);
    let p = plan(&Facts::of(&s), 0, &refs);
    assert!(p.confirmation("web", "default", "ctx").unwrap().contains("to 0"));
    // Scale-out reuses kept claims and never asks.
    let s = sts(1, "OrderedReady", "Retain", 2);
    let p = plan(&Facts::of(&s), 3, &refs);
    assert_eq!(p.adding, vec![1, 2]);
    assert_eq!(p.reusing.len(), 2);
    assert_eq!(p.reusing[1].volume.as_deref(), Some("pv2"));
    assert_eq!(p.confirmation("web", "default", "ctx"), None);
}

#[test]
fn plan_honours_start_ordinal() {
    let mut v = serde_json::to_value(sts(2, "OrderedReady", "Retain", 2)).unwrap();
    v["spec"]["ordinals"] = json!({"start": 5});
    let s: StatefulSet = serde_json::from_value(v).unwrap();
    let p = plan(&Facts::of(&s), 4, &[]);
    assert_eq!(p.adding, vec![7, 8]);
    let p = plan(&Facts::of(&s), 0, &[]);
    assert_eq!(p.removing, vec![6, 5]);
}

#[test]
fn scale_out_order_reuse_and_settle() {
    let before = sts(2, "OrderedReady", "Retain", 2);
    let claims0 = [
        pvc("disk-ssd-web-0", "c0", "Bound", Some("pv0")),
        pvc("disk-ssd-web-1", "c1", "Bound", Some("pv1")),
        pvc("disk-ssd-web-2", "c2", "Bound", Some("pv2")),
    ];
    let pods0 = [pod("web-0", "p0", "ready"), pod("web-1", "p1", "ready")];
    let mut p = Progress::new(&Facts::of(&before), 4, &world(&before, &pods0, &claims0, &[]), t("00"));
    assert!(!p.settled());
    let after = {
        let mut v = serde_json::to_value(sts(4, "OrderedReady", "Retain", 2)).unwrap();
        v["metadata"]["generation"] = json!(3);
        serde_json::from_value::<StatefulSet>(v).unwrap()
    };
    // web-2 created while web-1 ready: fine; web-3 created while web-2 not ready: violation.
    let pods1 = [
        pod("web-0", "p0", "ready"),
        pod("web-1", "p1", "ready"),
        pod("web-2", "p2", "pending"),
    ];
    let tr = p.observe(t("01"), &world(&after, &pods1, &claims0, &[]));
    assert!(tr.iter().any(|x| x.name == "web-2" && x.event.as_str() == "created"));
    assert!(p.violations.is_empty());
    let rows = p.rows();
    let r2 = rows.iter().find(|r| r.ordinal == 2).unwrap();
    assert_eq!(r2.role, Role::Adding);
    assert_eq!(r2.claims[0].state, ClaimState::Reused);
    let r3 = rows.iter().find(|r| r.ordinal == 3).unwrap();
    assert_eq!(r3.claims[0].state, ClaimState::Waiting);
    let pods2 = [
        pod("web-0", "p0", "ready"),
        pod("web-1", "p1", "ready"),
        pod("web-2", "p2", "running"),
        pod("web-3", "p3", "pending"),
    ];
    let mut claims1 = claims0.to_vec();
    claims1.push(pvc("disk-ssd-web-3", "c3", "Pending", None));
    let tr = p.observe(t("02"), &world(&after, &pods2, &claims1, &[]));
    assert_eq!(p.violations.len(), 1, "{tr:?}");
    assert!(p.violations[0].message.contains("web-2 was not Running and Ready"));
    assert!(
        tr.iter()
            .any(|x| x.kind == "pvc" && x.name == "disk-ssd-web-3" && x.event.as_str() == "created")
    );
    assert_eq!(p.blocking().unwrap().pod, "web-2");
    // Everything ready, but generation not observed yet: not settled.
    let pods3 = [
        pod("web-0", "p0", "ready"),
        pod("web-1", "p1", "ready"),
        pod("web-2", "p2", "ready"),
        pod("web-3", "p3", "ready"),
    ];
    claims1[3] = pvc("disk-ssd-web-3", "c3", "Bound", Some("pv3"));
    let tr = p.observe(t("03"), &world(&after, &pods3, &claims1, &[]));
    assert!(
        tr.iter()
            .any(|x| x.name == "disk-ssd-web-3" && x.event.as_str() == "bound")
    );
    assert!(!p.settled());
    assert!(p.waiting_for().contains("observe"), "{}", p.waiting_for());
    let observed = {
        let mut v = serde_json::to_value(&after).unwrap();
        v["status"]["observedGeneration"] = json!(3);
        serde_json::from_value::<StatefulSet>(v).unwrap()
    };
    p.observe(t("04"), &world(&observed, &pods3, &claims1, &[]));
    assert!(p.settled());
    assert_eq!(p.elapsed(2, t("09")).map(|d| d.as_secs()), Some(2), "frozen at ready");
    assert_eq!(p.elapsed(0, t("09")), None, "unchanged ordinals have no clock");
    let s = p.summary();
    assert_eq!(s.pvcs.reused.len(), 1);
    assert_eq!(s.pvcs.created.len(), 1);
    let o2 = s.ordinals.iter().find(|o| o.row.ordinal == 2).unwrap();
    assert_eq!(o2.duration_seconds, Some(2.0));
}

#[test]
fn parallel_expects_no_order() {
    let before = sts(0, "Parallel", "Retain", 2);
    let mut p = Progress::new(&Facts::of(&before), 3, &world(&before, &[], &[], &[]), t("00"));
    let after = sts(3, "Parallel", "Retain", 2);
    let pods = [pod("web-2", "p2", "pending"), pod("web-0", "p0", "pending")];
    p.observe(t("01"), &world(&after, &pods, &[], &[]));
    assert!(p.violations.is_empty());
}

#[test]
fn scale_in_order_and_retention() {
    let before = sts(3, "OrderedReady", "Delete", 2);
    let claims = [
        pvc("disk-ssd-web-0", "c0", "Bound", Some("pv0")),
        pvc("disk-ssd-web-1", "c1", "Bound", Some("pv1")),
        pvc("disk-ssd-web-2", "c2", "Bound", Some("pv2")),
    ];
    let pods = [
        pod("web-0", "p0", "ready"),
        pod("web-1", "p1", "ready"),
        pod("web-2", "p2", "ready"),
    ];
    let mut p = Progress::new(&Facts::of(&before), 1, &world(&before, &pods, &claims, &[]), t("00"));
    let after = sts(1, "OrderedReady", "Delete", 2);
    // web-1 terminates before web-2 is gone: a departure.
    let pods1 = [
        pod("web-0", "p0", "ready"),
        pod("web-1", "p1", "terminating"),
        pod("web-2", "p2", "ready"),
    ];
    let tr = p.observe(t("01"), &world(&after, &pods1, &claims, &[]));
    assert!(tr.iter().any(|x| x.event.as_str() == "order-violation"), "{tr:?}");
    let r2 = p.rows().iter().find(|r| r.ordinal == 2).unwrap();
    assert_eq!(r2.claims[0].state, ClaimState::Deleting);
    assert_eq!(p.blocking().unwrap().pod, "web-2");
    let pods2 = [pod("web-0", "p0", "ready")];
    let claims2 = [claims[0].clone()];
    let tr = p.observe(t("03"), &world(&after, &pods2, &claims2, &[]));
    assert!(
        tr.iter()
            .any(|x| x.kind == "pvc" && x.event.as_str() == "deleted" && x.fields[0].1.contains("whenScaled=Delete"))
    );
    assert!(p.settled());
    let s = p.summary();
    assert_eq!(s.pvcs.deleted.len(), 2);
    assert!(s.pvcs.left_behind.is_empty());
}

#[test]
fn retained_claims_are_left_behind() {
    let before = sts(3, "OrderedReady", "Retain", 2);
    let claims = [
        pvc("disk-ssd-web-0", "c0", "Bound", Some("pv0")),
        pvc("disk-ssd-web-1", "c1", "Bound", Some("pv1")),
        pvc("disk-ssd-web-2", "c2", "Bound", Some("pv2")),
    ];
    let pods = [
        pod("web-0", "p0", "ready"),
        pod("web-1", "p1", "ready"),
        pod("web-2", "p2", "ready"),
    ];
    let mut p = Progress::new(&Facts::of(&before), 2, &world(&before, &pods, &claims, &[]), t("00"));
    let after = sts(2, "OrderedReady", "Retain", 2);
    p.observe(t("02"), &world(&after, &pods[..2], &claims, &[]));
    assert!(p.settled());
    let s = p.summary();
    assert_eq!(s.pvcs.left_behind.len(), 1);
    assert!(!s.pvcs.left_behind[0].will_be_deleted);
    assert_eq!(s.pvcs.left_behind[0].name, "disk-ssd-web-2");
}

#[test]
fn superseded_and_deleted() {
    let before = sts(2, "OrderedReady", "Retain", 2);
    let mut p = Progress::new(&Facts::of(&before), 3, &world(&before, &[], &[], &[]), t("00"));
    let after = sts(3, "OrderedReady", "Retain", 1);
    p.observe(t("01"), &world(&after, &[], &[], &[]));
    assert_eq!(p.superseded, None);
    let other = sts(5, "OrderedReady", "Retain", 1);
    let tr = p.observe(t("02"), &world(&other, &[], &[], &[]));
    assert_eq!(p.superseded, Some(5));
    assert_eq!(tr[0].event.as_str(), "replicas-changed");
    assert!(!p.settled());
    p.observe(t("03"), &World::default());
    assert!(p.sts_gone);
}

/// Shapes from the real captures (k8s-reference pod-failure-*.json).
fn captured(name: &str) -> Pod {
    let v = match name {
        "crash" => json!({"metadata": {"name": "crash-0", "uid": "c"}, "status": {"phase": "Running",
            "conditions": [{"type": "Ready", "status": "False", "reason": "ContainersNotReady"}, {"type": "PodScheduled", "status": "True"}],
            "containerStatuses": [{"name": "c", "ready": false, "restartCount": 3, "started": false, "image": "nginx:1.25", "imageID": "",
              "lastState": {"terminated": {"exitCode": 2, "reason": "Error"}},
              "state": {"terminated": {"exitCode": 2, "reason": "Error"}}}]}}),
        "nopull" => json!({"metadata": {"name": "nopull-0", "uid": "n"}, "status": {"phase": "Pending",
            "containerStatuses": [{"name": "c", "ready": false, "restartCount": 0, "image": "example.invalid/app:9", "imageID": "",
              "state": {"waiting": {"reason": "ErrImagePull", "message": "rpc error: failed to pull"}}}]}}),
        _ => json!({"metadata": {"name": "pending-0", "uid": "p"}, "status": {"phase": "Pending",
            "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
              "message": "0/1 nodes are available: 1 pod has unbound immediate PersistentVolumeClaims. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."}]}}),
    };
    serde_json::from_value(v).unwrap()
}

#[test]
fn stuck_causes_from_containers() {
    let p: Pod = serde_json::from_value(json!({"metadata": {"name": "web-2", "uid": "u"},
        "status": {"phase": "Pending", "containerStatuses": [{"name": "c", "ready": false, "restartCount": 0, "image": "", "imageID": "",
          "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image \"x\""}}}]}}))
    .unwrap();
    let s = stuck_cause(Some(&p), &[], &[]).unwrap();
    assert_eq!((s.reason, s.clear), ("ImagePullBackOff", true));
    assert!(s.message.contains("Back-off pulling"));
    let p: Pod = serde_json::from_value(json!({"metadata": {"name": "web-2", "uid": "u"},
        "status": {"phase": "Pending", "containerStatuses": [{"name": "c", "ready": false, "restartCount": 0, "image": "", "imageID": "",
          "state": {"waiting": {"reason": "ErrImagePull"}}}]}}))
    .unwrap();
    let s = stuck_cause(Some(&p), &[], &[]).unwrap();
    assert_eq!((s.reason, s.clear), ("ErrImagePull", false));
    let p: Pod = serde_json::from_value(json!({"metadata": {"name": "web-2", "uid": "u"},
        "status": {"phase": "Running", "containerStatuses": [{"name": "c", "ready": false, "restartCount": 3, "image": "", "imageID": "",
          "state": {"waiting": {"reason": "CrashLoopBackOff"}}, "lastState": {"terminated": {"exitCode": 2, "reason": "Error"}}}]}}))
    .unwrap();
    let s = stuck_cause(Some(&p), &[], &[]).unwrap();
    assert_eq!((s.reason, s.clear), ("CrashLoopBackOff", true));
    assert!(
        s.message.contains("exit code 2") && s.message.contains("3 restarts"),
        "{}",
        s.message
    );
    // The real capture (terminated between crashes).
    let s = stuck_cause(Some(&captured("crash")), &[], &[]).unwrap();
    assert_eq!((s.reason, s.clear), ("CrashLoopBackOff", true));
    assert_eq!(
        stuck_cause(Some(&captured("nopull")), &[], &[]).unwrap().reason,
        "ErrImagePull"
    );
}

#[test]
fn stuck_readiness_needs_unhealthy_event() {
    let p: Pod = serde_json::from_value(json!({"metadata": {"name": "web-2", "uid": "u2"},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}],
          "containerStatuses": [{"name": "c", "ready": false, "restartCount": 0, "image": "", "imageID": "", "state": {"running": {}}}]}}))
    .unwrap();
    assert_eq!(stuck_cause(Some(&p), &[], &[]), None);
    let e: Event = serde_json::from_value(json!({"metadata": {"name": "web-2.1"},
        "involvedObject": {"kind": "Pod", "name": "web-2", "uid": "u2"}, "reason": "Unhealthy", "type": "Warning",
        "message": "Readiness probe failed: ", "count": 17, "lastTimestamp": "2026-11-22T03:07:43Z"}))
    .unwrap();
    let old: Event = serde_json::from_value(json!({"metadata": {"name": "web-2.0"},
        "involvedObject": {"kind": "Pod", "name": "web-2", "uid": "old-uid"}, "reason": "Unhealthy", "type": "Warning",
        "message": "Readiness probe failed: stale"}))
    .unwrap();
    let s = stuck_cause(Some(&p), &[], &[&old, &e]).unwrap();
    assert_eq!((s.reason, s.clear), ("ReadinessProbeFailing", false));
    assert!(s.message.contains("17 times"));
}

#[test]
fn stuck_pvc_unknown_class_is_clear() {
    let c = pvc("disk-ssd-web-2", "cu", "Pending", None);
    let e: Event = serde_json::from_value(json!({"metadata": {"name": "x"},
        "involvedObject": {"kind": "PersistentVolumeClaim", "name": "disk-ssd-web-2", "uid": "cu"},
        "reason": "ProvisioningFailed", "type": "Warning",
        "message": "storageclass.storage.k8s.io \"nosuchclass\" not found"}))
    .unwrap();
    let s = stuck_cause(None, &[&c], &[&e]).unwrap();
    assert_eq!((s.reason, s.clear), ("PVCPending", true));
    assert!(s.message.contains("\"nosuchclass\" not found"));
    assert_eq!(s.object, "pvc/disk-ssd-web-2");
    // Without the event, an unschedulable pod on a pending claim points at the claim.
    // Unschedulable only because the claim is not bound yet: progress, no cause.
    let p = captured("pending");
    assert_eq!(stuck_cause(Some(&p), &[&c], &[]), None);
    // Nor when the claim is already Bound and the condition lags behind.
    let bound = pvc("disk-ssd-web-2", "cu", "Bound", Some("pv"));
    assert_eq!(stuck_cause(Some(&p), &[&bound], &[]), None);
    // With the claim's warning event, the claim is the cause.
    assert_eq!(stuck_cause(Some(&p), &[&c], &[&e]).unwrap().reason, "PVCPending");
    // Unschedulable for any other reason: the pod is the cause.
    let cpu: Pod = serde_json::from_value(
        json!({"metadata": {"name": "web-2", "uid": "u"}, "status": {"phase": "Pending",
        "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
          "message": "0/1 nodes are available: 1 Insufficient cpu."}]}}),
    )
    .unwrap();
    let s = stuck_cause(Some(&cpu), &[&bound], &[]).unwrap();
    assert_eq!((s.reason, s.clear), ("Unschedulable", false));
    assert!(s.message.contains("Insufficient cpu"));
    // A pending claim with no evidence is just in progress.
    assert_eq!(stuck_cause(None, &[&c], &[]), None);
}

#[test]
fn claim_labels() {
    let r = ClaimRow {
        template: "d".into(),
        name: "d-web-2".into(),
        state: ClaimState::New,
        phase: Some("Pending".into()),
        volume: None,
        previous_volume: None,
    };
    assert_eq!(r.label(), "new:Pending");
    let r = ClaimRow {
        state: ClaimState::Kept,
        phase: Some("Bound".into()),
        ..r
    };
    assert_eq!(r.label(), "kept");
}
