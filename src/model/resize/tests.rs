use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use k8s_openapi::api::storage::v1::StorageClass;
use serde_json::json;

use super::*;

fn sts(templates: &[(&str, &str)], replicas: i32) -> StatefulSet {
    let vct: Vec<_> = templates
        .iter()
        .map(|(n, s)| json!({"metadata":{"name":n},"spec":{"accessModes":["ReadWriteOnce"],"storageClassName":"ssd","resources":{"requests":{"storage":s}}}}))
        .collect();
    serde_json::from_value(json!({
        "metadata": {"name": "web", "namespace": "default", "uid": "u1", "resourceVersion": "7", "generation": 3,
            "creationTimestamp": "2026-12-01T00:00:00Z", "labels": {"app": "web"}, "annotations": {"a": "b"},
            "managedFields": [{"manager": "kubectl"}]},
        "spec": {"replicas": replicas, "serviceName": "web", "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}},
            "volumeClaimTemplates": vct},
        "status": {"replicas": replicas}
    }))
    .unwrap()
}

fn pvc(name: &str, request: &str, capacity: &str, phase: &str, class: &str) -> PersistentVolumeClaim {
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"storageClassName": class, "resources": {"requests": {"storage": request}}},
        "status": {"phase": phase, "capacity": {"storage": capacity}}
    }))
    .unwrap()
}

fn class(name: &str, expand: bool) -> StorageClass {
    serde_json::from_value(json!({"metadata": {"name": name}, "provisioner": "p", "allowVolumeExpansion": expand}))
        .unwrap()
}

fn ask(storage: Option<&str>, claims: &[&str]) -> Ask {
    Ask {
        storage: storage.map(str::to_string),
        claims: claims.iter().map(|c| c.to_string()).collect(),
    }
}

#[test]
fn every_claim_by_exact_name_including_leftovers_is_planned() {
    let s = sts(&[("data", "20Gi")], 2);
    let t = targets(&s, &ask(Some("30Gi"), &[])).unwrap();
    let pvcs = [
        pvc("data-web-0", "20Gi", "20Gi", "Bound", "ssd"),
        pvc("data-web-1", "30Gi", "30Gi", "Bound", "ssd"),
        pvc("data-web-2", "20Gi", "20Gi", "Bound", "ssd"),
        pvc("data-web-10x", "1Gi", "1Gi", "Pending", "ssd"),
        pvc("data-webby-0", "1Gi", "1Gi", "Pending", "ssd"),
    ];
    let p = plan(&s, t, &pvcs, &[class("ssd", true)]).unwrap();
    let got: Vec<(&str, ClaimAction, bool)> = p
        .claims
        .iter()
        .map(|c| (c.name.as_str(), c.action, c.leftover))
        .collect();
    assert_eq!(
        got,
        [
            ("data-web-0", ClaimAction::Expand, false),
            ("data-web-1", ClaimAction::Done, false),
            ("data-web-2", ClaimAction::Expand, true),
        ]
    );
}

#[test]
fn refusals_name_the_object_and_the_fix() {
    let s = sts(&[("data", "20Gi")], 1);
    let t = || targets(&s, &ask(Some("30Gi"), &[])).unwrap();
    let e = plan(
        &s,
        t(),
        &[pvc("data-web-0", "20Gi", "20Gi", "Bound", "slow")],
        &[class("slow", false)],
    )
    .unwrap_err();
    assert!(
        e.starts_with("storageclass slow (of persistentvolumeclaim data-web-0) does not allow volume expansion"),
        "{e}"
    );
    let e = plan(
        &s,
        t(),
        &[pvc("data-web-0", "40Gi", "40Gi", "Bound", "ssd")],
        &[class("ssd", true)],
    )
    .unwrap_err();
    assert!(
        e.contains("data-web-0 already requests 40Gi") && e.contains("only grow"),
        "{e}"
    );
    let e = plan(
        &s,
        t(),
        &[pvc("data-web-0", "20Gi", "20Gi", "Pending", "ssd")],
        &[class("ssd", true)],
    )
    .unwrap_err();
    assert!(e.contains("data-web-0 is Pending, not Bound"), "{e}");
    let shrink = targets(&s, &ask(Some("10Gi"), &[])).unwrap();
    let e = plan(&s, shrink, &[], &[class("ssd", true)]).unwrap_err();
    assert!(e.contains("would shrink it"), "{e}");
}

#[test]
fn claim_flags_pick_templates_and_sizes() {
    let two = sts(&[("data", "20Gi"), ("logs", "5Gi")], 1);
    let e = targets(&two, &ask(Some("30Gi"), &[])).unwrap_err();
    assert!(
        e.contains("has 2 claim templates (data, logs)") && e.contains("--claim"),
        "{e}"
    );
    let t = targets(&two, &ask(Some("30Gi"), &["data"])).unwrap();
    assert_eq!((t.len(), t[0].to.as_str()), (1, "30Gi"));
    let t = targets(&two, &ask(None, &["data=30Gi", "logs=10Gi"])).unwrap();
    assert_eq!(t.iter().map(|c| c.to.as_str()).collect::<Vec<_>>(), ["30Gi", "10Gi"]);
    assert!(
        targets(&two, &ask(None, &["nope=1Gi"]))
            .unwrap_err()
            .contains("no claim template \"nope\" (it has: data, logs)")
    );
    assert!(
        targets(&two, &ask(None, &["data=lots"]))
            .unwrap_err()
            .contains("invalid size \"lots\"")
    );
    assert!(
        targets(&two, &ask(None, &["data"]))
            .unwrap_err()
            .contains("needs a size")
    );
    assert!(targets(&two, &ask(None, &[])).unwrap_err().contains("--storage SIZE"));
}

#[test]
fn the_recreated_statefulset_keeps_everything_but_server_fields() {
    let s = sts(&[("data", "20Gi")], 3);
    let t = targets(&s, &ask(Some("30Gi"), &[])).unwrap();
    let r = recreated(&s, &t);
    assert_eq!(r.metadata.uid, None);
    assert_eq!(r.metadata.resource_version, None);
    assert_eq!(r.metadata.managed_fields, None);
    assert_eq!(r.status, None);
    assert_eq!(r.metadata.labels, s.metadata.labels);
    assert_eq!(r.metadata.annotations, s.metadata.annotations);
    assert_eq!(
        r.spec.template, s.spec.template,
        "the pod template (and so the revision hash) is unchanged"
    );
    assert!(template_done(&r, &t) && !template_done(&s, &t));
}

#[test]
fn progress_follows_capacity_and_conditions() {
    let mut c = pvc("data-web-0", "30Gi", "20Gi", "Bound", "ssd");
    let to = parse_bytes("30Gi").unwrap();
    assert_eq!(progress(&c, to), ClaimProgress::Requested);
    let cond = |t: &str| json!([{"type": t, "status": "True", "message": "m"}]);
    c.status.as_mut().unwrap().conditions = serde_json::from_value(cond("Resizing")).unwrap();
    assert_eq!(progress(&c, to), ClaimProgress::Resizing);
    c.status.as_mut().unwrap().conditions = serde_json::from_value(cond("FileSystemResizePending")).unwrap();
    assert_eq!(progress(&c, to), ClaimProgress::FileSystemResizePending);
    c.status.as_mut().unwrap().conditions = serde_json::from_value(cond("ControllerResizeError")).unwrap();
    assert_eq!(progress(&c, to), ClaimProgress::Failed("m".into()));
    c.status.as_mut().unwrap().capacity = Some([("storage".to_string(), Quantity("30Gi".into()))].into());
    assert_eq!(progress(&c, to), ClaimProgress::Done);
}

#[test]
fn adoption_is_a_controller_reference_to_the_new_uid() {
    let pod = |name: &str, owner: Option<&str>| -> Pod {
        let refs = owner.map(
            |u| json!([{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "uid": u, "controller": true}]),
        );
        serde_json::from_value(json!({"metadata": {"name": name, "ownerReferences": refs}})).unwrap()
    };
    let pods = [pod("web-0", Some("new")), pod("web-1", Some("old")), pod("web-2", None)];
    assert_eq!(not_adopted(&pods, "new"), ["web-1", "web-2"]);
}

#[test]
fn a_quota_that_cannot_hold_the_growth_refuses() {
    let q: k8s_openapi::api::core::v1::ResourceQuota = serde_json::from_value(json!({
        "metadata": {"name": "storage"},
        "spec": {"hard": {"requests.storage": "100Gi"}},
        "status": {"hard": {"requests.storage": "100Gi"}, "used": {"requests.storage": "60Gi"}}
    }))
    .unwrap();
    let gi = |n: u128| n << 30;
    let claims = |to: u128| {
        vec![
            ("a".to_string(), Some("ssd".to_string()), gi(20), gi(to)),
            ("b".into(), Some("ssd".into()), gi(20), gi(to)),
        ]
    };
    assert_eq!(
        quota_refusal(std::slice::from_ref(&q), &claims(40)),
        None,
        "60 + 2x20 = 100 fits"
    );
    let e = quota_refusal(&[q], &claims(41)).unwrap();
    assert!(
        e.starts_with("resourcequota storage allows requests.storage 100Gi, 60Gi used: growing the claims by 42Gi"),
        "{e}"
    );
}
