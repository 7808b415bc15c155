//! What an update may change on a StatefulSet and on a PVC, through every write path
//! (PUT, merge / strategic / JSON patch), against the v1.26 error captures copied
//! into fixtures/: the claim template is immutable (422), a claim may grow only when
//! its StorageClass allows expansion (403) and never shrink (422).

#[path = "resize_support.rs"]
mod support;

use serde_json::{Value, json};
use sts_sim::{Sim, SimConfig};
use support::*;

const MERGE: &str = "application/merge-patch+json";
const STRATEGIC: &str = "application/strategic-merge-patch+json";
const JSON_PATCH: &str = "application/json-patch+json";

/// The Status body of a capture file (after its request and `HTTP nnn` lines).
fn captured(text: &str) -> Value {
    serde_json::from_str(&text[text.find('{').unwrap()..]).unwrap()
}

/// The same change sent as a merge patch, a strategic merge patch, a JSON patch and
/// a PUT of the edited object; every answer must be `want` (code, body).
async fn every_write_path(sim: &Sim, plural: &str, name: &str, merge: Value, json_patch: Value, want: (u16, &Value)) {
    let p = path(plural, name);
    for (ct, body) in [(MERGE, &merge), (STRATEGIC, &merge), (JSON_PATCH, &json_patch)] {
        let (code, got) = raw(sim, "PATCH", &p, Some(ct), body.clone()).await;
        assert_eq!((code, &got), want, "PATCH {ct} {body}");
    }
    let mut obj = (*get(sim, plural, name).unwrap()).clone();
    json_patch::merge(&mut obj, &merge);
    let (code, got) = raw(sim, "PUT", &p, None, obj).await;
    assert_eq!((code, &got), want, "PUT");
}

fn storage_patch(size: &str) -> (Value, Value) {
    (
        json!({"spec": {"resources": {"requests": {"storage": size}}}}),
        json!([{"op": "replace", "path": "/spec/resources/requests/storage", "value": size}]),
    )
}

#[tokio::test]
async fn claim_template_changes_are_the_captured_422_on_every_path() {
    let sim = start(SimConfig::default()).await;
    let set = create_web(&sim, "20Gi").await;
    let want = captured(include_str!("fixtures/err-422-sts-vct-immutable.txt"));
    let vct = json!([{"metadata": {"name": "disk-ssd"}, "spec": {"accessModes": ["ReadWriteOnce"],
        "storageClassName": CLASS, "resources": {"requests": {"storage": "30Gi"}}}}]);
    let jp = json!([{"op": "replace", "path": "/spec/volumeClaimTemplates/0/spec/resources/requests/storage", "value": "30Gi"}]);
    every_write_path(
        &sim,
        "statefulsets",
        "web",
        json!({"spec": {"volumeClaimTemplates": vct}}),
        jp,
        (422, &want),
    )
    .await;
    // Every other field outside the mutable list is refused the same way.
    for (field, value) in [
        ("serviceName", json!("other")),
        ("podManagementPolicy", json!("Parallel")),
    ] {
        let (code, got) = raw(
            &sim,
            "PATCH",
            &path("statefulsets", "web"),
            Some(MERGE),
            json!({"spec": {field: value}}),
        )
        .await;
        assert_eq!((code, &got), (422, &want), "{field}");
    }
    let unchanged = get(&sim, "statefulsets", "web").unwrap();
    assert_eq!(
        unchanged["metadata"]["resourceVersion"],
        set["metadata"]["resourceVersion"]
    );
}

#[tokio::test]
async fn the_mutable_statefulset_fields_still_change() {
    let sim = start(SimConfig::default()).await;
    create_web(&sim, "20Gi").await;
    let patches = [
        json!({"spec": {"replicas": 3}}),
        json!({"spec": {"minReadySeconds": 1}}),
        json!({"spec": {"updateStrategy": {"rollingUpdate": {"partition": 1}}}}),
        json!({"spec": {"persistentVolumeClaimRetentionPolicy": {"whenScaled": "Delete"}}}),
        json!({"spec": {"ordinals": {"start": 0}}}),
        json!({"spec": {"template": {"metadata": {"annotations": {"a": "b"}}}}}),
        // The same storage written another way is the same value (Quantity.Cmp).
        json!({"spec": {"volumeClaimTemplates": [{"metadata": {"name": "disk-ssd"}, "spec": {"accessModes": ["ReadWriteOnce"],
            "storageClassName": CLASS, "resources": {"requests": {"storage": "20480Mi"}}}}]}}),
    ];
    for p in patches {
        let (code, got) = raw(&sim, "PATCH", &path("statefulsets", "web"), Some(MERGE), p.clone()).await;
        assert_eq!(code, 200, "{p}: {got}");
    }
}

#[tokio::test]
async fn shrinking_a_claim_is_the_captured_422() {
    let sim = start(SimConfig::default()).await;
    create_web(&sim, "20Gi").await;
    let want = captured(include_str!("fixtures/err-422-pvc-shrink.txt"));
    let (merge, jp) = storage_patch("10Gi");
    every_write_path(
        &sim,
        "persistentvolumeclaims",
        "disk-ssd-web-0",
        merge,
        jp,
        (422, &want),
    )
    .await;
}

#[tokio::test]
async fn growing_a_claim_of_a_class_without_expansion_is_the_captured_403() {
    let sim = start(SimConfig::default()).await;
    let sc = json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "fixed-ssd"},
        "provisioner": "sts-sim.dev/hostpath", "reclaimPolicy": "Delete"});
    let (code, body) = raw(&sim, "POST", "/apis/storage.k8s.io/v1/storageclasses", None, sc).await;
    assert_eq!(code, 201, "{body}");
    let mut set = web("20Gi");
    set["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"] = json!("fixed-ssd");
    let (code, body) = raw(&sim, "POST", "/apis/apps/v1/namespaces/cap/statefulsets", None, set).await;
    assert_eq!(code, 201, "{body}");
    wait(&sim, "disk-ssd-web-0 Bound", |s| {
        get(s, "persistentvolumeclaims", "disk-ssd-web-0").filter(|c| c["status"]["phase"] == "Bound")
    })
    .await;
    let want = captured(include_str!("fixtures/err-403-pvc-expand-not-supported.txt"));
    let (merge, jp) = storage_patch("30Gi");
    every_write_path(
        &sim,
        "persistentvolumeclaims",
        "disk-ssd-web-0",
        merge,
        jp,
        (403, &want),
    )
    .await;
}

#[tokio::test]
async fn a_bound_claim_keeps_the_rest_of_its_spec() {
    let sim = start(SimConfig::default()).await;
    create_web(&sim, "20Gi").await;
    let p = path("persistentvolumeclaims", "disk-ssd-web-0");
    let (code, got) = raw(
        &sim,
        "PATCH",
        &p,
        Some(MERGE),
        json!({"spec": {"accessModes": ["ReadWriteMany"]}}),
    )
    .await;
    assert_eq!(code, 422, "{got}");
    let msg = got["message"].as_str().unwrap();
    let head = "PersistentVolumeClaim \"disk-ssd-web-0\" is invalid: spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n";
    assert!(msg.starts_with(head), "{msg}");
    assert!(msg.contains("- \tAccessModes: [\"ReadWriteOnce\"]"), "{msg}");
    assert!(msg.contains("+ \tAccessModes: [\"ReadWriteMany\"]"), "{msg}");
    assert_eq!(got["details"]["causes"][0]["field"], "spec");
    assert_eq!(got["details"]["kind"], "PersistentVolumeClaim");
    // Several errors at once are listed together, as field.ErrorList aggregates them.
    let both = json!({"spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "1Gi"}}}});
    let (code, got) = raw(&sim, "PATCH", &p, Some(MERGE), both).await;
    assert_eq!(code, 422);
    let msg = got["message"].as_str().unwrap();
    assert!(
        msg.starts_with("PersistentVolumeClaim \"disk-ssd-web-0\" is invalid: [spec: Forbidden: "),
        "{msg}"
    );
    assert!(
        msg.ends_with(", spec.resources.requests.storage: Forbidden: field can not be less than previous value]"),
        "{msg}"
    );
    assert_eq!(got["details"]["causes"].as_array().unwrap().len(), 2);
    // Labels and annotations are metadata, not spec: they change freely.
    let (code, got) = raw(
        &sim,
        "PATCH",
        &p,
        Some(MERGE),
        json!({"metadata": {"labels": {"tier": "db"}}}),
    )
    .await;
    assert_eq!(code, 200, "{got}");
}

#[tokio::test]
async fn growing_past_a_resource_quota_is_the_real_403() {
    let sim = start(SimConfig::default()).await;
    create_web(&sim, "20Gi").await;
    let quota = json!({"metadata": {"name": "storage"}, "spec": {"hard": {"requests.storage": "45Gi", "persistentvolumeclaims": "10"}}});
    let (code, body) = raw(&sim, "POST", "/api/v1/namespaces/cap/resourcequotas", None, quota).await;
    assert_eq!((code, &body["status"]), (201, &json!({})), "{body}");
    let used = |s: &Sim| get(s, "resourcequotas", "storage").map(|q| q["status"].clone());
    let want = json!({"hard": {"requests.storage": "45Gi", "persistentvolumeclaims": "10"},
        "used": {"requests.storage": "40Gi", "persistentvolumeclaims": "2"}});
    wait(&sim, "quota usage", |s| used(s).filter(|u| *u == want)).await;

    let p = path("persistentvolumeclaims", "disk-ssd-web-0");
    let (code, got) = raw(&sim, "PATCH", &p, Some(MERGE), storage_patch("30Gi").0).await;
    assert_eq!(code, 403, "{got}");
    assert_eq!(
        got["message"],
        "persistentvolumeclaims \"disk-ssd-web-0\" is forbidden: exceeded quota: storage, requested: requests.storage=10Gi, used: requests.storage=40Gi, limited: requests.storage=45Gi"
    );
    assert_eq!(
        got["details"],
        json!({"name": "disk-ssd-web-0", "kind": "persistentvolumeclaims"})
    );
    let (code, got) = raw(&sim, "PATCH", &p, Some(MERGE), storage_patch("25Gi").0).await;
    assert_eq!(code, 200, "up to the limit is allowed: {got}");

    // The StatefulSet controller's claims go through the same admission.
    let (code, got) = raw(
        &sim,
        "PATCH",
        &path("statefulsets", "web"),
        Some(MERGE),
        json!({"spec": {"replicas": 3}}),
    )
    .await;
    assert_eq!(code, 200, "{got}");
    let msg = wait(&sim, "FailedCreate for the claim", |s| {
        list(s, "events")
            .iter()
            .find(|e| {
                e["reason"] == "FailedCreate" && e["message"].as_str().is_some_and(|m| m.contains("disk-ssd-web-2"))
            })
            .map(|e| e["message"].as_str().unwrap().to_string())
    })
    .await;
    assert!(
        msg.ends_with("is forbidden: exceeded quota: storage, requested: requests.storage=20Gi, used: requests.storage=45Gi, limited: requests.storage=45Gi"),
        "{msg}"
    );
    assert!(get(&sim, "persistentvolumeclaims", "disk-ssd-web-2").is_none());
    assert!(get(&sim, "pods", "web-2").is_none());
}
