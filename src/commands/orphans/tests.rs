use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};

use super::audit::{claim_info, pod_info};
use super::merge;
use super::prune::PruneStatus;
use super::report::totals;
use crate::cli::OrphansScope;
use crate::model::claims::{ClaimFinding, ClaimInfo, Cleanup, Confidence, Reason};

fn finding(name: &str, reason: Reason, class: Option<&str>, cap: &str) -> ClaimFinding {
    ClaimFinding {
        claim: ClaimInfo {
            namespace: "default".into(),
            name: name.into(),
            storage_class: class.map(str::to_string),
            capacity: Some(cap.into()),
            ..ClaimInfo::default()
        },
        reason,
        statefulset: Some("web".into()),
        template: Some("data".into()),
        ordinal: Some(2),
        confidence: (reason == Reason::StatefulsetDeleted).then_some(Confidence::High),
        evidence: vec![],
        cleanup: Cleanup::Never,
        note: String::new(),
        mounted_by: vec![],
        reclaim_policy: Some("Delete".into()),
        last_mounted: None,
        bytes: crate::model::quantity::parse_bytes(cap),
        drift: Vec::new(),
    }
}

#[test]
fn totals_saturate_instead_of_overflowing() {
    let huge = "300000000000000000000000000000000000000"; // 3e38, fits u128 once
    let fs = [
        finding("a", Reason::ScaledIn, Some("ssd"), huge),
        finding("b", Reason::ScaledIn, Some("ssd"), huge),
    ];
    let t = totals(&fs);
    assert_eq!(t.orphan_bytes, u128::MAX);
    assert_eq!(t.by_storage_class[0].claims, 2);
}

#[test]
fn totals_per_storage_class() {
    let fs = [
        finding("a", Reason::ScaledIn, Some("ssd"), "20Gi"),
        finding("b", Reason::StatefulsetDeleted, Some("ssd"), "1.5Gi"),
        finding("c", Reason::ScaledIn, None, "1G"),
        finding("d", Reason::PendingCleanup, Some("ssd"), "100Gi"),
        finding("e", Reason::Unmounted, Some("hdd"), "1Ti"),
        finding("f", Reason::ScaledIn, Some("hdd"), "lots"),
    ];
    let t = totals(&fs);
    assert_eq!((t.orphans, t.scaled_in, t.statefulset_deleted), (4, 3, 1));
    assert_eq!((t.pending_cleanup, t.unmounted, t.unknown_capacity), (1, 1, 1));
    assert_eq!(t.orphan_bytes, (20u128 << 30) + (1536u128 << 20) + 1_000_000_000);
    let by: Vec<(&str, usize, &str)> = t
        .by_storage_class
        .iter()
        .map(|c| (c.storage_class.as_str(), c.claims, c.capacity.as_str()))
        .collect();
    assert_eq!(
        by,
        vec![("<none>", 1, "953.7Mi"), ("hdd", 1, "0"), ("ssd", 2, "21.5Gi")]
    );
}

#[test]
fn scopes_merge_before_and_after_prune() {
    let parent = OrphansScope {
        all_namespaces: true,
        contexts: vec!["a".into()],
        ..OrphansScope::default()
    };
    let child = OrphansScope {
        selector: Some("app=x".into()),
        contexts: vec!["b".into()],
        ..OrphansScope::default()
    };
    let m = merge(&parent, &child);
    assert!(m.all_namespaces);
    assert_eq!(m.selector.as_deref(), Some("app=x"));
    assert_eq!(m.contexts, vec!["a", "b"]);
}

#[test]
fn pod_mounts_include_ephemeral_claims() {
    let p: Pod = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "web-0", "namespace": "default", "uid": "u"},
        "spec": {"containers": [], "volumes": [
            {"name": "data", "persistentVolumeClaim": {"claimName": "data-web-0"}},
            {"name": "scratch", "ephemeral": {"volumeClaimTemplate": {"spec": {}}}},
            {"name": "cfg", "configMap": {"name": "c"}}
        ]}
    }))
    .unwrap();
    assert_eq!(pod_info(p).claims, vec!["data-web-0", "web-0-scratch"]);
}

#[test]
fn claim_capacity_falls_back_to_request() {
    let c: PersistentVolumeClaim = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "data-web-0", "namespace": "default",
            "annotations": {"volume.kubernetes.io/selected-node": "n1"}},
        "spec": {"resources": {"requests": {"storage": "5Gi"}}, "volumeName": ""},
        "status": {"phase": "Pending"}
    }))
    .unwrap();
    let i = claim_info(c);
    assert_eq!(i.capacity.as_deref(), Some("5Gi"));
    assert_eq!(i.volume, None);
    assert_eq!(i.selected_node.as_deref(), Some("n1"));
}

#[test]
fn prune_statuses_read_the_same_in_the_json_and_the_lines() {
    use PruneStatus::*;
    for s in [Deleted, Skipped, Failed, NotAttempted] {
        assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
    }
    assert_eq!(NotAttempted.as_str(), "not-attempted");
}
