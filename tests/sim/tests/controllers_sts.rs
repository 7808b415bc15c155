//! The StatefulSet controller with the volume controller, kubelet and GC, driven
//! through the store: ordering, scaling, start ordinal, revisions and status.

#[path = "controllers_support.rs"]
mod support;

use serde_json::json;
use sts_sim::store::Key;
use support::*;

#[tokio::test]
async fn ordered_creation_waits_for_ready_predecessor() {
    let h = start();
    let mut rx = h.store().subscribe();
    h.create_sts(sts("web", 2));
    h.wait_ready(&["web-0", "web-1"]).await;
    // Replay the pod writes: web-1 must be ADDED only after web-0 was Running+Ready.
    let mut web0_ready = false;
    while let Ok(ev) = rx.try_recv() {
        if ev.key.plural != "pods" {
            continue;
        }
        if ev.key.name == "web-0" && ready(&ev.object) {
            web0_ready = true;
        }
        if ev.key.name == "web-1" && ev.kind == sts_sim::store::EventType::Added {
            assert!(web0_ready, "web-1 was created before web-0 was Ready");
        }
    }
    let p = h.get("pods", "web-1").unwrap();
    let m = &p["metadata"];
    assert_eq!(m["labels"]["app"], "web");
    assert_eq!(m["labels"]["statefulset.kubernetes.io/pod-name"], "web-1");
    assert_eq!(m["labels"]["apps.kubernetes.io/pod-index"], "1");
    let set = h.get("statefulsets", "web").unwrap();
    assert_eq!(m["ownerReferences"][0]["uid"], set["metadata"]["uid"]);
    assert_eq!(m["ownerReferences"][0]["controller"], true);
    assert_eq!(m["ownerReferences"][0]["blockOwnerDeletion"], true);
    assert_eq!(p["spec"]["hostname"], "web-1");
    assert_eq!(p["spec"]["subdomain"], "web");
    assert_eq!(
        p["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"],
        "data-web-1"
    );
    assert_eq!(p["spec"]["nodeName"], h.ctx.config.node_name.as_str());
    // PVC labelled with the selector, bound to a provisioned PV.
    let pvc = h.get("persistentvolumeclaims", "data-web-1").unwrap();
    assert_eq!(pvc["metadata"]["labels"]["app"], "web");
    assert_eq!(pvc["metadata"]["finalizers"][0], "kubernetes.io/pvc-protection");
    assert_eq!(pvc["status"]["phase"], "Bound");
    assert_eq!(pvc["spec"]["storageClassName"], "standard");
    assert_eq!(pvc["metadata"]["annotations"]["pv.kubernetes.io/bind-completed"], "yes");
    let pv_name = format!("pvc-{}", pvc["metadata"]["uid"].as_str().unwrap());
    assert_eq!(pvc["spec"]["volumeName"], pv_name.as_str());
    let pv = h.store().get(&Key::new("persistentvolumes", "", &pv_name)).unwrap();
    assert_eq!(pv["status"]["phase"], "Bound");
    assert_eq!(pv["spec"]["claimRef"]["name"], "data-web-1");
    assert_eq!(pv["spec"]["persistentVolumeReclaimPolicy"], "Delete");
    assert_eq!(pv["metadata"]["finalizers"][0], "kubernetes.io/pv-protection");
    // Status and revision.
    let st = h
        .wait_status("web", "status 2/2", |s| {
            s["readyReplicas"] == 2 && s["availableReplicas"] == 2
        })
        .await;
    assert_eq!(st["replicas"], 2);
    assert_eq!(st["currentReplicas"], 2);
    assert_eq!(st["updatedReplicas"], 2);
    assert_eq!(st["currentRevision"], st["updateRevision"]);
    assert_eq!(st["collisionCount"], 0);
    let rev = st["currentRevision"].as_str().unwrap();
    assert_eq!(m["labels"]["controller-revision-hash"], rev);
    let cr = h.get("controllerrevisions", rev).unwrap();
    assert_eq!(cr["revision"], 1);
    assert_eq!(cr["data"]["spec"]["template"]["$patch"], "replace");
    assert_eq!(
        format!(
            "web-{}",
            cr["metadata"]["labels"]["controller.kubernetes.io/hash"]
                .as_str()
                .unwrap()
        ),
        rev
    );
    // Events from the StatefulSet controller, like watch-events.jsonl.
    let msgs: Vec<String> = h
        .list("events")
        .iter()
        .filter(|e| e["source"]["component"] == "statefulset-controller")
        .map(|e| e["message"].as_str().unwrap().to_string())
        .collect();
    assert!(msgs.contains(&"create Claim data-web-0 Pod web-0 in StatefulSet web success".to_string()));
    assert!(msgs.contains(&"create Pod web-1 in StatefulSet web successful".to_string()));
}

#[tokio::test]
async fn scale_in_high_to_low_keeps_claims_and_scale_out_reuses_them() {
    let h = start();
    h.create_sts(sts("web", 3));
    h.wait_ready(&["web-0", "web-1", "web-2"]).await;
    let pv1 = h.get("persistentvolumeclaims", "data-web-1").unwrap()["spec"]["volumeName"].clone();
    let uid1 = h.get("persistentvolumeclaims", "data-web-1").unwrap()["metadata"]["uid"].clone();
    let mut rx = h.store().subscribe();
    h.edit_sts("web", |s| s["spec"]["replicas"] = json!(1));
    h.wait_ready(&["web-0"]).await;
    // web-2 was gone before web-1 started terminating.
    let mut web2_gone = false;
    while let Ok(ev) = rx.try_recv() {
        if ev.key.plural == "pods" && ev.key.name == "web-2" && ev.kind == sts_sim::store::EventType::Deleted {
            web2_gone = true;
        }
        if ev.key.plural == "pods" && ev.key.name == "web-1" && !ev.object["metadata"]["deletionTimestamp"].is_null() {
            assert!(web2_gone, "web-1 terminated before web-2 was gone");
        }
    }
    assert!(web2_gone);
    h.wait_status("web", "status after scale-in", |s| s["replicas"] == 1)
        .await;
    // Claims are retained by default.
    for c in ["data-web-0", "data-web-1", "data-web-2"] {
        assert!(h.get("persistentvolumeclaims", c).is_some(), "{c} was deleted");
    }
    h.edit_sts("web", |s| s["spec"]["replicas"] = json!(2));
    h.wait_ready(&["web-0", "web-1"]).await;
    let pvc = h.get("persistentvolumeclaims", "data-web-1").unwrap();
    assert_eq!(pvc["metadata"]["uid"], uid1, "claim was recreated");
    assert_eq!(pvc["spec"]["volumeName"], pv1, "volume changed");
}

#[tokio::test]
async fn start_ordinal_and_parallel() {
    let h = start();
    let mut s = sts("db", 3);
    s["spec"]["ordinals"] = json!({"start": 5});
    s["spec"]["podManagementPolicy"] = json!("Parallel");
    let mut rx = h.store().subscribe();
    h.create_sts(s);
    h.wait_ready(&["db-5", "db-6", "db-7"]).await;
    // Parallel: all three pods were created before any became ready.
    let mut created = 0;
    while let Ok(ev) = rx.try_recv() {
        if ev.key.plural == "pods" && ev.kind == sts_sim::store::EventType::Added {
            created += 1;
        }
        if ev.key.plural == "pods" && ready(&ev.object) {
            assert_eq!(created, 3, "a pod became ready before all were created");
            break;
        }
    }
    assert!(h.get("persistentvolumeclaims", "data-db-5").is_some());
    assert!(h.get("persistentvolumeclaims", "data-db-0").is_none());
    assert_eq!(
        h.get("pods", "db-7").unwrap()["metadata"]["labels"]["apps.kubernetes.io/pod-index"],
        "7"
    );
}

fn set_image(h: &Harness, name: &str, image: &str) {
    h.edit_sts(name, |s| {
        s["spec"]["template"]["spec"]["containers"][0]["image"] = json!(image)
    });
}

fn revision(h: &Harness, pod: &str) -> String {
    h.get("pods", pod).unwrap()["metadata"]["labels"]["controller-revision-hash"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn rolling_update_high_to_low_with_revisions() {
    let h = start();
    h.create_sts(sts("web", 3));
    h.wait_ready(&["web-0", "web-1", "web-2"]).await;
    let old = h.sts_status("web")["currentRevision"].as_str().unwrap().to_string();
    let mut rx = h.store().subscribe();
    set_image(&h, "web", "nginx:1.25");
    let st = h
        .wait_status("web", "rollout complete", |s| {
            s["currentRevision"] == s["updateRevision"] && s["updatedReplicas"] == 3 && s["readyReplicas"] == 3
        })
        .await;
    let new = st["updateRevision"].as_str().unwrap().to_string();
    assert_ne!(old, new);
    // Order of deletions: web-2, web-1, web-0.
    let mut order = Vec::new();
    let mut saw_mid_rollout = false;
    while let Ok(ev) = rx.try_recv() {
        if ev.key.plural == "pods" && ev.kind == sts_sim::store::EventType::Deleted {
            order.push(ev.key.name.clone());
        }
        if ev.key.plural == "statefulsets" {
            let s = &ev.object["status"];
            if s["updateRevision"] == new.as_str() && s["currentRevision"] == old.as_str() {
                saw_mid_rollout = true;
            }
        }
    }
    assert_eq!(order, ["web-2", "web-1", "web-0"]);
    assert!(saw_mid_rollout, "status never showed currentRevision != updateRevision");
    for p in ["web-0", "web-1", "web-2"] {
        assert_eq!(revision(&h, p), new);
    }
    let crs = h.list("controllerrevisions");
    assert_eq!(crs.len(), 2);
    assert_eq!(h.get("controllerrevisions", &new).unwrap()["revision"], 2);
    // Rolling back re-uses the old revision with a new revision number.
    set_image(&h, "web", "nginx");
    h.wait_status("web", "rollback complete", |s| {
        s["currentRevision"] == old.as_str() && s["updatedReplicas"] == 3
    })
    .await;
    assert_eq!(h.get("controllerrevisions", &old).unwrap()["revision"], 3);
}

#[tokio::test]
async fn partition_keeps_low_ordinals_and_recreates_them_at_current() {
    let h = start();
    let mut s = sts("web", 3);
    s["spec"]["updateStrategy"] = json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 2}});
    h.create_sts(s);
    h.wait_ready(&["web-0", "web-1", "web-2"]).await;
    let old = h.sts_status("web")["currentRevision"].as_str().unwrap().to_string();
    set_image(&h, "web", "nginx:1.25");
    let st = h
        .wait_status("web", "partitioned rollout", |s| {
            s["updatedReplicas"] == 1 && s["readyReplicas"] == 3
        })
        .await;
    let new = st["updateRevision"].as_str().unwrap().to_string();
    assert_eq!(st["currentRevision"], old.as_str());
    assert_eq!(st["currentReplicas"], 2);
    assert_eq!(revision(&h, "web-2"), new);
    assert_eq!(revision(&h, "web-1"), old);
    // A deleted pod below the partition comes back at the current revision.
    let uid = h.get("pods", "web-0").unwrap()["metadata"]["uid"].clone();
    h.store()
        .delete(&Key::new("pods", NS, "web-0"), None, None, None)
        .unwrap();
    h.wait("web-0 recreated", |h| {
        let p = h.get("pods", "web-0")?;
        (p["metadata"]["uid"] != uid && ready(&p)).then_some(())
    })
    .await;
    assert_eq!(revision(&h, "web-0"), old);
}

#[tokio::test]
async fn on_delete_only_replaces_deleted_pods() {
    let h = start();
    let mut s = sts("web", 2);
    s["spec"]["updateStrategy"] = json!({"type": "OnDelete"});
    h.create_sts(s);
    h.wait_ready(&["web-0", "web-1"]).await;
    let old = revision(&h, "web-1");
    set_image(&h, "web", "nginx:1.25");
    let st = h
        .wait_status("web", "new update revision", |s| {
            s["updateRevision"] != s["currentRevision"]
        })
        .await;
    let new = st["updateRevision"].as_str().unwrap().to_string();
    assert_eq!(st["updatedReplicas"], json!(null));
    assert_eq!(revision(&h, "web-1"), old, "OnDelete replaced a pod by itself");
    h.store()
        .delete(&Key::new("pods", NS, "web-1"), None, None, None)
        .unwrap();
    h.wait("web-1 back at the update revision", |h| {
        let p = h.get("pods", "web-1")?;
        (ready(&p) && p["metadata"]["labels"]["controller-revision-hash"] == new.as_str()).then_some(())
    })
    .await;
    assert_eq!(revision(&h, "web-0"), old);
}

#[tokio::test]
async fn max_unavailable_two_replaces_two_at_a_time() {
    let cfg = sts_sim::config::SimConfig {
        pod_ready_delay: std::time::Duration::from_millis(300),
        pod_start_delay: std::time::Duration::from_millis(10),
        termination_delay: std::time::Duration::from_millis(10),
        ..Default::default()
    };
    let h = start_with(cfg);
    let mut s = sts("web", 4);
    s["spec"]["podManagementPolicy"] = json!("Parallel");
    s["spec"]["updateStrategy"] = json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 2}});
    h.create_sts(s);
    h.wait_ready(&["web-0", "web-1", "web-2", "web-3"]).await;
    let mut rx = h.store().subscribe();
    set_image(&h, "web", "nginx:1.25");
    h.wait_status("web", "rollout complete", |s| {
        s["currentRevision"] == s["updateRevision"] && s["readyReplicas"] == 4
    })
    .await;
    // Track how many pods were unavailable at once.
    let mut terminating_or_unready = std::collections::BTreeMap::new();
    let mut max_seen = 0;
    while let Ok(ev) = rx.try_recv() {
        if ev.key.plural != "pods" {
            continue;
        }
        let down = ev.kind == sts_sim::store::EventType::Deleted
            || !ready(&ev.object)
            || !ev.object["metadata"]["deletionTimestamp"].is_null();
        terminating_or_unready.insert(ev.key.name.clone(), down);
        max_seen = max_seen.max(terminating_or_unready.values().filter(|d| **d).count());
    }
    assert_eq!(max_seen, 2, "expected two pods down at once with maxUnavailable 2");
}

#[tokio::test]
async fn min_ready_seconds_delays_available_replicas() {
    let h = start();
    let mut s = sts("web", 1);
    s["spec"]["minReadySeconds"] = json!(2);
    h.create_sts(s);
    let st = h.wait_status("web", "ready", |s| s["readyReplicas"] == 1).await;
    assert_eq!(st["availableReplicas"], 0, "available before minReadySeconds");
    let st = h.wait_status("web", "available", |s| s["availableReplicas"] == 1).await;
    assert_eq!(st["readyReplicas"], 1);
}

#[tokio::test]
async fn failed_pod_is_recreated() {
    let h = start();
    h.create_sts(sts("web", 1));
    h.wait_ready(&["web-0"]).await;
    let uid = h.get("pods", "web-0").unwrap()["metadata"]["uid"].clone();
    h.store()
        .modify(&Key::new("pods", NS, "web-0"), |p| {
            p["status"]["phase"] = json!("Failed");
            Ok(())
        })
        .unwrap();
    h.wait("web-0 replaced", |h| {
        let p = h.get("pods", "web-0")?;
        (p["metadata"]["uid"] != uid && ready(&p)).then_some(())
    })
    .await;
}
