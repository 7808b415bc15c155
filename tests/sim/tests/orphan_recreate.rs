//! The manual StatefulSet volume-resize runbook's second half, against the v1.26
//! capture watch-{sts,pods,revisions}-orphan-delete-recreate.jsonl (reduced to what is
//! asserted in fixtures/watch-orphan-delete-recreate.jsonl): `DELETE` with
//! `propagationPolicy: Orphan` and a uid precondition, then a new StatefulSet of the
//! same template with a bigger claim template adopts the running pods and the revision.

#[path = "resize_support.rs"]
mod support;

use serde_json::{Value, json};
use sts_sim::SimConfig;
use sts_sim::store::{EventType, WatchEvent};
use support::*;

const CAPTURE: &str = include_str!("fixtures/watch-orphan-delete-recreate.jsonl");

fn of(evs: &[WatchEvent], plural: &str) -> Vec<(EventType, Value)> {
    evs.iter()
        .filter(|e| e.key.plural == plural)
        .map(|e| (e.kind, (*e.object).clone()))
        .collect()
}

/// The keys of `metadata`, sorted (what a watcher can rely on being there or not).
/// The metadata keys, without managedFields: the fixture leaves them out, and the sim
/// records them only for writes through the API, not its controllers' (they are
/// checked against the reference capture in the sim's `api::managed` tests).
fn meta_keys(o: &Value) -> Vec<String> {
    let mut k: Vec<String> = o["metadata"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| *k != "managedFields")
        .cloned()
        .collect();
    k.sort();
    k
}

fn captured(kind: &str, type_: &str) -> Vec<Value> {
    fixture_lines(CAPTURE)
        .into_iter()
        .filter(|e| e["object"]["kind"] == kind && e["type"] == type_)
        .map(|e| e["object"].clone())
        .collect()
}

fn position(evs: &[WatchEvent], f: impl Fn(&WatchEvent) -> bool) -> usize {
    evs.iter().position(f).expect("event present")
}

#[tokio::test]
async fn orphan_delete_then_recreate_adopts_pods_and_revision_without_restart() {
    let sim = start(SimConfig::default()).await;
    let old = create_web(&sim, "20Gi").await;
    let pod_uids: Vec<String> = ["web-0", "web-1"]
        .iter()
        .map(|p| uid(&get(&sim, "pods", p).unwrap()).to_string())
        .collect();
    let revision = old["status"]["updateRevision"].as_str().unwrap().to_string();
    let mut rx = sim.ctx().store.subscribe();

    // kubectl delete --cascade=orphan, with the uid precondition the plugin sends.
    let opts = json!({"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Orphan",
        "preconditions": {"uid": uid(&old)}});
    let (code, body) = raw(&sim, "DELETE", &path("statefulsets", "web"), None, opts).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        body["metadata"]["finalizers"],
        json!(["orphan"]),
        "the object while terminating"
    );
    wait(&sim, "web gone", |s| {
        get(s, "statefulsets", "web").is_none().then_some(())
    })
    .await;
    let (code, body) = raw(
        &sim,
        "POST",
        "/apis/apps/v1/namespaces/cap/statefulsets",
        None,
        web("30Gi"),
    )
    .await;
    assert_eq!(code, 201, "{body}");
    let new_uid = uid(&body).to_string();
    assert_ne!(new_uid, uid(&old));
    let adopted = |s: &sts_sim::Sim, plural: &str, n: &str| {
        get(s, plural, n).is_some_and(|o| o["metadata"]["ownerReferences"][0]["uid"] == new_uid.as_str())
    };
    wait(&sim, "pods and revision adopted, status settled", |s| {
        let set = get(s, "statefulsets", "web")?;
        (adopted(s, "pods", "web-0")
            && adopted(s, "pods", "web-1")
            && adopted(s, "controllerrevisions", &revision)
            && set["status"]["readyReplicas"] == 2
            && set["status"]["observedGeneration"] == 1)
            .then_some(())
    })
    .await;
    let evs = drain(&mut rx);

    check_delete_sequence(&evs, &old);
    check_adoption(&evs, &new_uid, &revision);
    check_nothing_restarted(&sim, &evs, &pod_uids, &revision);
    scale_out_uses_the_new_template(&sim).await;
}

/// No restart: the same pods all along, never deleted or re-created; the revision is
/// reused (same hash, nothing new); the claims keep their size.
fn check_nothing_restarted(sim: &sts_sim::Sim, evs: &[WatchEvent], pod_uids: &[String], revision: &str) {
    let pods = of(evs, "pods");
    assert!(pods.iter().all(|(t, _)| *t == EventType::Modified), "{pods:?}");
    for (p, u) in ["web-0", "web-1"].iter().zip(pod_uids) {
        assert_eq!(uid(&get(sim, "pods", p).unwrap()), u);
    }
    // The revision is reused: same hash, nothing new; the claims keep their size.
    assert!(
        of(evs, "controllerrevisions")
            .iter()
            .all(|(t, _)| *t == EventType::Modified)
    );
    let set = get(sim, "statefulsets", "web").unwrap();
    assert_eq!(set["status"]["currentRevision"], revision);
    assert_eq!(set["status"]["updateRevision"], revision);
    for c in ["disk-ssd-web-0", "disk-ssd-web-1"] {
        let c = get(sim, "persistentvolumeclaims", c).unwrap();
        assert_eq!(c["spec"]["resources"]["requests"]["storage"], "20Gi");
        assert_eq!(c["status"]["capacity"]["storage"], "20Gi");
    }
}

/// The old set: one MODIFIED with finalizer, deletionTimestamp, grace 0 and the
/// generation bumped; its status observed at that generation; the pods and the
/// revision lose their ownerReferences; DELETED still shows the finalizer.
fn check_delete_sequence(evs: &[WatchEvent], old: &Value) {
    let sts = of(evs, "statefulsets");
    let want = captured("StatefulSet", "MODIFIED");
    let (t, first) = &sts[0];
    assert_eq!(*t, EventType::Modified);
    assert_eq!(meta_keys(first), meta_keys(&want[0]), "{first}");
    assert_eq!(first["metadata"]["finalizers"], want[0]["metadata"]["finalizers"]);
    assert_eq!(first["metadata"]["deletionGracePeriodSeconds"], 0);
    let gen_before = old["metadata"]["generation"].as_i64().unwrap();
    assert_eq!(first["metadata"]["generation"], gen_before + 1);
    assert!(
        sts.iter()
            .any(|(_, o)| o["status"]["observedGeneration"] == gen_before + 1),
        "the controller writes the status of the terminating set: {sts:?}"
    );
    let deleted = sts.iter().find(|(t, _)| *t == EventType::Deleted).expect("DELETED");
    assert_eq!(
        deleted.1["metadata"]["finalizers"],
        captured("StatefulSet", "DELETED")[0]["metadata"]["finalizers"]
    );
    let cap_pod = &captured("Pod", "MODIFIED")[0];
    let cap_rev = &captured("ControllerRevision", "MODIFIED")[0];
    let gone = position(evs, |e| e.kind == EventType::Deleted && e.key.plural == "statefulsets");
    for (plural, cap) in [("pods", cap_pod), ("controllerrevisions", cap_rev)] {
        let stripped: Vec<&WatchEvent> = evs[..gone].iter().filter(|e| e.key.plural == plural).collect();
        assert!(!stripped.is_empty(), "{plural} stripped before the set is gone");
        for e in stripped {
            assert!(e.object["metadata"].get("ownerReferences").is_none(), "{}", e.object);
            assert_eq!(cap["metadata"].get("ownerReferences"), None);
        }
    }
}

/// The new set: ADDED after the old one is gone, then every pod and the revision get
/// exactly the capture's controller reference, pointing at the new uid.
fn check_adoption(evs: &[WatchEvent], new_uid: &str, revision: &str) {
    let gone = position(evs, |e| e.kind == EventType::Deleted && e.key.plural == "statefulsets");
    let added = position(evs, |e| e.kind == EventType::Added && e.key.plural == "statefulsets");
    assert!(gone < added);
    assert_eq!(evs[added].object["metadata"]["generation"], 1);
    let cap = captured("Pod", "MODIFIED").pop().unwrap();
    let mut want = cap["metadata"]["ownerReferences"].clone();
    want[0]["uid"] = json!(new_uid);
    for (plural, n) in [("pods", "web-0"), ("pods", "web-1"), ("controllerrevisions", revision)] {
        let adoption = evs[added..]
            .iter()
            .find(|e| {
                e.key.plural == plural && e.key.name == n && e.object["metadata"].get("ownerReferences").is_some()
            })
            .unwrap_or_else(|| panic!("{n} adopted"));
        assert_eq!(adoption.object["metadata"]["ownerReferences"], want, "{n}");
    }
}

/// A later scale-out's claim comes from the new claim template: 30Gi.
async fn scale_out_uses_the_new_template(sim: &sts_sim::Sim) {
    let (code, body) = raw(
        sim,
        "PATCH",
        &format!("{}/scale", path("statefulsets", "web")),
        Some("application/merge-patch+json"),
        json!({"spec": {"replicas": 3}}),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    let c = wait(sim, "disk-ssd-web-2 Bound", |s| {
        get(s, "persistentvolumeclaims", "disk-ssd-web-2").filter(|c| c["status"]["phase"] == "Bound")
    })
    .await;
    assert_eq!(c["spec"]["resources"]["requests"]["storage"], "30Gi");
    assert_eq!(c["status"]["capacity"]["storage"], "30Gi");
}

#[tokio::test]
async fn orphan_delete_with_a_stale_uid_is_409_and_changes_nothing() {
    let sim = start(SimConfig::default()).await;
    let set = create_web(&sim, "20Gi").await;
    let opts = json!({"propagationPolicy": "Orphan", "preconditions": {"uid": "00000000-0000-0000-0000-000000000000"}});
    let (code, body) = raw(&sim, "DELETE", &path("statefulsets", "web"), None, opts).await;
    assert_eq!(code, 409, "{body}");
    assert_eq!(
        body["message"],
        format!(
            "Operation cannot be fulfilled on StatefulSet.apps \"web\": the UID in the precondition (00000000-0000-0000-0000-000000000000) does not match the UID in record ({}). The object might have been deleted and then recreated",
            uid(&set)
        )
    );
    assert_eq!(body["reason"], "Conflict");
    assert_eq!(
        body["details"],
        json!({"name": "web", "group": "apps", "kind": "StatefulSet"})
    );
    let now = get(&sim, "statefulsets", "web").unwrap();
    assert_eq!(now["metadata"]["resourceVersion"], set["metadata"]["resourceVersion"]);
    assert!(now["metadata"].get("finalizers").is_none());
}

#[tokio::test]
async fn orphan_policy_in_the_query_orphans_too() {
    let sim = start(SimConfig::default()).await;
    create_web(&sim, "20Gi").await;
    let p = format!("{}?propagationPolicy=Orphan", path("statefulsets", "web"));
    let (code, body) = raw(&sim, "DELETE", &p, None, Value::Null).await;
    assert_eq!(code, 200, "{body}");
    wait(&sim, "web gone", |s| {
        get(s, "statefulsets", "web").is_none().then_some(())
    })
    .await;
    for p in ["web-0", "web-1"] {
        let pod = get(&sim, "pods", p).expect("the pod outlives its set");
        assert!(pod["metadata"].get("ownerReferences").is_none(), "{pod}");
        assert!(pod["metadata"]["deletionTimestamp"].is_null());
    }
}

#[tokio::test]
async fn a_pod_that_stops_matching_the_selector_is_released() {
    let sim = start(SimConfig::default()).await;
    create_web(&sim, "20Gi").await;
    let body = json!({"metadata": {"labels": {"app": "debug"}}});
    let (code, got) = raw(
        &sim,
        "PATCH",
        &path("pods", "web-1"),
        Some("application/merge-patch+json"),
        body,
    )
    .await;
    assert_eq!(code, 200, "{got}");
    let pod = wait(&sim, "web-1 released", |s| {
        get(s, "pods", "web-1").filter(|p| p["metadata"].get("ownerReferences").is_none())
    })
    .await;
    // Released, not deleted: the same pod keeps running outside the set.
    assert_eq!(pod["metadata"]["uid"], got["metadata"]["uid"]);
    assert!(pod["metadata"]["deletionTimestamp"].is_null());
}
