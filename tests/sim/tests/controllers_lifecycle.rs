//! Retention policy + garbage collection, volumes, pod faults and PDB status, driven
//! through the store.

#[path = "controllers_support.rs"]
mod support;

use serde_json::{Value, json};
use sts_sim::annotations;
use sts_sim::store::Key;
use support::*;

fn owner_kinds(v: &Value) -> Vec<String> {
    v["metadata"]["ownerReferences"]
        .as_array()
        .map(|a| a.iter().map(|r| r["kind"].as_str().unwrap_or("").to_string()).collect())
        .unwrap_or_default()
}

async fn retention_case(when_deleted: &str, when_scaled: &str) {
    let h = start();
    let mut s = sts("web", 2);
    s["spec"]["persistentVolumeClaimRetentionPolicy"] = json!({"whenDeleted": when_deleted, "whenScaled": when_scaled});
    h.create_sts(s);
    h.wait_ready(&["web-0", "web-1"]).await;
    let want_set = when_deleted == "Delete";
    h.wait(&format!("claim refs for {when_deleted}/{when_scaled}"), |h| {
        let c = h.get("persistentvolumeclaims", "data-web-0")?;
        (owner_kinds(&c)
            == if want_set {
                vec!["StatefulSet".to_string()]
            } else {
                vec![]
            })
        .then_some(())
    })
    .await;
    // Scale in: web-1's claim goes only with whenScaled=Delete.
    h.edit_sts("web", |s| s["spec"]["replicas"] = json!(1));
    h.wait_ready(&["web-0"]).await;
    if when_scaled == "Delete" {
        h.wait("data-web-1 garbage collected", |h| {
            h.get("persistentvolumeclaims", "data-web-1").is_none().then_some(())
        })
        .await;
    } else {
        h.wait_status("web", "scaled in", |s| s["replicas"] == 1).await;
        let c = h.get("persistentvolumeclaims", "data-web-1").expect("data-web-1 kept");
        assert!(c["metadata"]["deletionTimestamp"].is_null());
        assert!(!owner_kinds(&c).contains(&"Pod".to_string()));
    }
    // Delete the set (background propagation): pods go; claims only with whenDeleted=Delete.
    h.store()
        .delete(&Key::new("statefulsets", NS, "web"), None, None, None)
        .unwrap();
    h.wait("pods garbage collected", |h| h.list("pods").is_empty().then_some(()))
        .await;
    if want_set {
        h.wait("data-web-0 garbage collected", |h| {
            h.get("persistentvolumeclaims", "data-web-0").is_none().then_some(())
        })
        .await;
        // reclaimPolicy Delete: its volume went too.
        h.wait("volumes deleted", |h| {
            let bound_to_web0 = h
                .store()
                .list("persistentvolumes", None)
                .0
                .iter()
                .any(|pv| pv["spec"]["claimRef"]["name"] == "data-web-0");
            (!bound_to_web0).then_some(())
        })
        .await;
    } else {
        let c = h.get("persistentvolumeclaims", "data-web-0").expect("data-web-0 kept");
        assert!(c["metadata"]["deletionTimestamp"].is_null());
    }
}

#[tokio::test]
async fn retention_retain_retain() {
    retention_case("Retain", "Retain").await;
}

#[tokio::test]
async fn retention_delete_retain() {
    retention_case("Delete", "Retain").await;
}

#[tokio::test]
async fn retention_retain_delete() {
    retention_case("Retain", "Delete").await;
}

#[tokio::test]
async fn retention_delete_delete() {
    retention_case("Delete", "Delete").await;
}

#[tokio::test]
async fn orphan_and_foreground_deletion() {
    let h = start();
    h.create_sts(sts("a", 1));
    h.create_sts(sts("b", 1));
    h.wait_ready(&["a-0", "b-0"]).await;
    // Orphan: the pod stays, without its owner reference.
    h.store()
        .modify(&Key::new("statefulsets", NS, "a"), |s| {
            s["metadata"]["finalizers"] = json!(["orphan"]);
            Ok(())
        })
        .unwrap();
    h.store()
        .delete(&Key::new("statefulsets", NS, "a"), None, None, None)
        .unwrap();
    h.wait("a deleted", |h| h.get("statefulsets", "a").is_none().then_some(()))
        .await;
    let p = h.get("pods", "a-0").expect("orphaned pod kept");
    assert!(p["metadata"]["ownerReferences"].is_null());
    // Foreground: the set stays until its pod is gone.
    h.store()
        .modify(&Key::new("statefulsets", NS, "b"), |s| {
            s["metadata"]["finalizers"] = json!(["foregroundDeletion"]);
            Ok(())
        })
        .unwrap();
    let mut rx = h.store().subscribe();
    h.store()
        .delete(&Key::new("statefulsets", NS, "b"), None, None, None)
        .unwrap();
    h.wait("b deleted", |h| h.get("statefulsets", "b").is_none().then_some(()))
        .await;
    let mut pod_gone = false;
    while let Ok(ev) = rx.try_recv() {
        if ev.kind == sts_sim::store::EventType::Deleted && ev.key.name == "b-0" {
            pod_gone = true;
        }
        if ev.kind == sts_sim::store::EventType::Deleted && ev.key.plural == "statefulsets" {
            assert!(pod_gone, "owner removed before its dependent");
        }
    }
}

#[tokio::test]
async fn unknown_storage_class_leaves_claim_pending_and_pod_unschedulable() {
    let h = start();
    let mut s = sts("pending", 1);
    s["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"] = json!("nosuchclass");
    h.create_sts(s);
    h.wait("FailedScheduling", |h| {
        let p = h.get("pods", "pending-0")?;
        let c = p["status"]["conditions"].as_array()?.first()?.clone();
        (c["reason"] == "Unschedulable").then_some(())
    })
    .await;
    let p = h.get("pods", "pending-0").unwrap();
    assert_eq!(p["status"]["phase"], "Pending");
    assert_eq!(
        p["status"]["conditions"][0]["message"],
        "0/1 nodes are available: 1 pod has unbound immediate PersistentVolumeClaims. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
    );
    let pvc = h.get("persistentvolumeclaims", "data-pending-0").unwrap();
    assert_eq!(pvc["status"]["phase"], "Pending");
    let evs = h.list("events");
    assert!(evs.iter().any(|e| e["reason"] == "ProvisioningFailed"
        && e["message"] == "storageclass.storage.k8s.io \"nosuchclass\" not found"
        && e["involvedObject"]["name"] == "data-pending-0"));
    assert!(
        evs.iter()
            .any(|e| e["reason"] == "FailedScheduling" && e["involvedObject"]["name"] == "pending-0")
    );
    // The class appearing unblocks both.
    h.store()
        .create(
            "",
            "storageclasses",
            json!({"metadata": {"name": "nosuchclass"}, "provisioner": "x.dev/y"}),
        )
        .unwrap();
    h.wait_ready(&["pending-0"]).await;
}

fn with_fault(name: &str, ann: &str, value: &str) -> Value {
    let mut s = sts(name, 1);
    s["spec"]["template"]["metadata"]["annotations"] = json!({ ann: value });
    s
}

#[tokio::test]
async fn crash_loop_fault() {
    let h = start();
    // Without crash-after the container exits before it is reported running: never Ready.
    h.create_sts(with_fault("crash", annotations::CRASH_LOOP, "3"));
    let p = h
        .wait("restarts", |h| {
            let p = h.get("pods", "crash-0")?;
            let c = &p["status"]["containerStatuses"][0];
            (c["restartCount"].as_i64()? >= 2 && c["state"]["waiting"].is_object()).then_some(p)
        })
        .await;
    let c = &p["status"]["containerStatuses"][0];
    assert_eq!(c["state"]["waiting"]["reason"], "CrashLoopBackOff");
    assert_eq!(c["lastState"]["terminated"]["exitCode"], 3);
    assert_eq!(c["ready"], false);
    assert_eq!(p["status"]["phase"], "Running");
    assert!(!ready(&p));
    assert!(
        h.list("events")
            .iter()
            .any(|e| e["reason"] == "BackOff" && e["count"].as_i64() >= Some(2))
    );
    // OrderedReady: nothing more while crash-0 is not ready.
    h.edit_sts("crash", |s| s["spec"]["replicas"] = json!(2));
    h.wait_status("crash", "observed scale", |s| s["replicas"] == 1).await;
    assert!(h.get("pods", "crash-1").is_none());
}

#[tokio::test]
async fn never_ready_fault() {
    let h = start();
    h.create_sts(with_fault("unready", annotations::NEVER_READY, "true"));
    h.wait("Unhealthy event", |h| {
        h.list("events")
            .iter()
            .any(|e| e["reason"] == "Unhealthy")
            .then_some(())
    })
    .await;
    let p = h.get("pods", "unready-0").unwrap();
    assert_eq!(p["status"]["phase"], "Running");
    assert!(!ready(&p));
    assert_eq!(p["status"]["containerStatuses"][0]["started"], true);
    let e = h
        .list("events")
        .into_iter()
        .find(|e| e["reason"] == "Unhealthy")
        .unwrap();
    assert_eq!(e["message"], "Readiness probe failed: ");
    assert_eq!(e["type"], "Warning");
}

#[tokio::test]
async fn image_pull_fault() {
    let h = start();
    h.create_sts(with_fault("nopull", annotations::IMAGE_PULL_FAIL, "true"));
    let mut seen_err = false;
    h.wait("ImagePullBackOff", |h| {
        let p = h.get("pods", "nopull-0")?;
        let r = p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"]
            .as_str()?
            .to_string();
        seen_err |= r == "ErrImagePull";
        (seen_err && r == "ImagePullBackOff").then_some(())
    })
    .await;
    let p = h.get("pods", "nopull-0").unwrap();
    assert_eq!(p["status"]["phase"], "Pending");
    let evs = h.list("events");
    assert!(
        evs.iter()
            .any(|e| e["reason"] == "Failed" && e["message"] == "Error: ErrImagePull")
    );
    assert!(evs.iter().any(|e| e["reason"] == "BackOff"));
}

#[tokio::test]
async fn graceful_termination_sequence() {
    let h = start();
    h.create_sts(sts("web", 1));
    h.wait_ready(&["web-0"]).await;
    let mut rx = h.store().subscribe();
    h.store()
        .delete(&Key::new("pods", NS, "web-0"), None, None, None)
        .unwrap();
    let mut steps = Vec::new();
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let ev = tokio::time::timeout_at(deadline, rx.recv()).await.unwrap().unwrap();
        if ev.key.plural != "pods" || ev.key.name != "web-0" {
            continue;
        }
        let o = &ev.object;
        steps.push((ev.kind, ready(o), o["metadata"]["deletionGracePeriodSeconds"].as_i64()));
        if ev.kind == sts_sim::store::EventType::Deleted {
            break;
        }
    }
    use sts_sim::store::EventType::*;
    // As watch-pods.jsonl (rv 1088, 1093, 1094, 1097): the kubelet's zero-grace delete
    // is a MODIFIED (deletionGracePeriodSeconds 0) before the DELETED.
    assert_eq!(
        steps,
        vec![
            (Modified, true, Some(30)),
            (Modified, false, Some(30)),
            (Modified, false, Some(0)),
            (Deleted, false, Some(0))
        ]
    );
    assert!(h.list("events").iter().any(|e| e["reason"] == "Killing"));
}

#[tokio::test]
async fn pdb_status() {
    let h = start();
    h.create_sts(sts("web", 3));
    h.store()
        .create(
            NS,
            "poddisruptionbudgets",
            json!({"metadata": {"name": "web"}, "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}}}),
        )
        .unwrap();
    h.store()
        .create(
            NS,
            "poddisruptionbudgets",
            json!({"metadata": {"name": "web-pct"}, "spec": {"maxUnavailable": "50%", "selector": {"matchLabels": {"app": "web"}}}}),
        )
        .unwrap();
    h.wait_ready(&["web-0", "web-1", "web-2"]).await;
    let st = h
        .wait("pdb healthy", |h| {
            let p = h.get("poddisruptionbudgets", "web")?;
            (p["status"]["currentHealthy"] == 3).then(|| p["status"].clone())
        })
        .await;
    assert_eq!(st["desiredHealthy"], 2);
    assert_eq!(st["disruptionsAllowed"], 1);
    assert_eq!(st["expectedPods"], 3);
    assert_eq!(st["conditions"][0]["type"], "DisruptionAllowed");
    assert_eq!(st["conditions"][0]["status"], "True");
    let st = h
        .wait("pct pdb", |h| {
            let p = h.get("poddisruptionbudgets", "web-pct")?;
            (p["status"]["currentHealthy"] == 3).then(|| p["status"].clone())
        })
        .await;
    // 50% of 3 rounded up = 2 may be unavailable: desired 1, allowed 2.
    assert_eq!(st["desiredHealthy"], 1);
    assert_eq!(st["disruptionsAllowed"], 2);
}

#[tokio::test]
async fn data_loss_fault_wipes_volume_on_restart() {
    let h = start();
    h.create_sts(with_fault("dl", annotations::DATA_LOSS, "true"));
    h.wait_ready(&["dl-0"]).await;
    let pv = h.get("persistentvolumeclaims", "data-dl-0").unwrap()["spec"]["volumeName"]
        .as_str()
        .unwrap()
        .to_string();
    let dir = h.ctx.runtime.volume_dir(&pv);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("marker"), "x").unwrap();
    let uid = h.get("pods", "dl-0").unwrap()["metadata"]["uid"].clone();
    h.store()
        .delete(&Key::new("pods", NS, "dl-0"), None, None, None)
        .unwrap();
    h.wait("dl-0 back", |h| {
        let p = h.get("pods", "dl-0")?;
        (p["metadata"]["uid"] != uid && ready(&p)).then_some(())
    })
    .await;
    assert!(!dir.join("marker").exists(), "data survived the data-loss fault");
}
