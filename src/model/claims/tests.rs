use super::*;

fn set(name: &str, templates: &[&str], start: i32, replicas: i32, scaled: &str, deleted: &str) -> SetInfo {
    SetInfo {
        namespace: "default".into(),
        name: name.into(),
        uid: format!("uid-{name}"),
        templates: templates.iter().map(|t| t.to_string()).collect(),
        range: OrdinalRange::new(start, replicas),
        retention: RetentionPolicy {
            when_deleted: crate::model::statefulset::Retention::parse(Some(deleted)),
            when_scaled: crate::model::statefulset::Retention::parse(Some(scaled)),
        },
        deleting: false,
        claim_specs: Vec::new(),
    }
}

fn claim(name: &str) -> ClaimInfo {
    ClaimInfo {
        namespace: "default".into(),
        name: name.into(),
        uid: format!("uid-{name}"),
        resource_version: "1".into(),
        labels: [("app".to_string(), "web".to_string())].into(),
        capacity: Some("1Gi".into()),
        storage_class: Some("standard".into()),
        volume: Some(format!("pv-{name}")),
        phase: Some("Bound".into()),
        ..ClaimInfo::default()
    }
}

fn pod(name: &str, claims: &[&str]) -> PodInfo {
    PodInfo {
        namespace: "default".into(),
        name: name.into(),
        uid: format!("uid-{name}"),
        deleting: false,
        claims: claims.iter().map(|c| c.to_string()).collect(),
    }
}

fn owner(kind: &str, name: &str) -> OwnerRef {
    OwnerRef {
        api_version: if kind == "Pod" { "v1" } else { "apps/v1" }.into(),
        kind: kind.into(),
        name: name.into(),
        uid: format!("uid-{name}"),
        controller: true,
    }
}

fn by_name(fs: &[ClaimFinding]) -> BTreeMap<String, &ClaimFinding> {
    fs.iter().map(|f| (f.claim.name.clone(), f)).collect()
}

#[test]
fn seed_scale_in_leaves_scaled_in() {
    let inv = Inventory {
        sets: vec![set("web", &["disk-ssd"], 0, 2, "Retain", "Retain")],
        claims: vec![
            claim("disk-ssd-web-0"),
            claim("disk-ssd-web-1"),
            claim("disk-ssd-web-2"),
        ],
        pods: vec![pod("web-0", &["disk-ssd-web-0"]), pod("web-1", &["disk-ssd-web-1"])],
        volumes: Some(vec![VolumeInfo {
            name: "pv-disk-ssd-web-2".into(),
            reclaim_policy: Some("Retain".into()),
            phase: Some("Bound".into()),
            node: None,
        }]),
        events: vec![ControllerEvent::PodDeleted {
            namespace: "default".into(),
            pod: "web-2".into(),
            set: "web".into(),
            at: Some("2026-11-22T03:05:48Z".into()),
        }],
    };
    let fs = classify(&inv);
    let m = by_name(&fs);
    assert_eq!(m["disk-ssd-web-0"].reason, Reason::InUse);
    assert_eq!(m["disk-ssd-web-1"].reason, Reason::InUse);
    let f = m["disk-ssd-web-2"];
    assert_eq!(f.reason, Reason::ScaledIn);
    assert_eq!(
        (f.statefulset.as_deref(), f.template.as_deref(), f.ordinal),
        (Some("web"), Some("disk-ssd"), Some(2))
    );
    assert_eq!(f.cleanup, Cleanup::Never);
    assert_eq!(f.reclaim_policy.as_deref(), Some("Retain"));
    assert!(f.note.contains("reused if web scales to 3 or more"), "{}", f.note);
    assert_eq!(
        f.last_mounted.as_ref().unwrap().pod_deleted_at.as_deref(),
        Some("2026-11-22T03:05:48Z")
    );
    assert!(f.prunable() && f.is_orphan());
    assert_eq!(f.bytes, Some(1 << 30));
}

#[test]
fn whole_name_matching_never_prefixes() {
    let inv = Inventory {
        sets: vec![set("web", &["data"], 0, 2, "Retain", "Retain")],
        claims: vec![claim("data-web-1"), claim("data-web-10"), claim("data-web-1-backup")],
        pods: vec![pod("web-0", &[]), pod("web-1", &["data-web-1"])],
        ..Inventory::default()
    };
    let m_ = classify(&inv);
    let m = by_name(&m_);
    assert_eq!(m["data-web-1"].reason, Reason::InUse);
    assert_eq!(m["data-web-10"].reason, Reason::ScaledIn);
    assert_eq!(m["data-web-10"].ordinal, Some(10));
    // data-web-1-backup reads as template "data-web", set "1"? No: "1" is no live
    // set, and "backup" is not an ordinal, so it matches no pattern at all.
    assert_eq!(m["data-web-1-backup"].reason, Reason::Unmounted);
    assert!(m["data-web-1-backup"].statefulset.is_none());
}

#[test]
fn dashed_template_and_set_names() {
    let inv = Inventory {
        sets: vec![
            set("my-db", &["data"], 0, 1, "Retain", "Retain"),
            set("db", &["data-x"], 0, 1, "Retain", "Retain"),
        ],
        claims: vec![
            claim("data-my-db-3"),
            claim("data-x-db-0"),
            claim("data-x-db-5"),
            claim("data-my-db-0"),
        ],
        pods: vec![pod("my-db-0", &["data-my-db-0"]), pod("db-0", &["data-x-db-0"])],
        ..Inventory::default()
    };
    let fs = classify(&inv);
    let m = by_name(&fs);
    assert_eq!(m["data-my-db-3"].reason, Reason::ScaledIn);
    assert_eq!(m["data-my-db-3"].statefulset.as_deref(), Some("my-db"));
    assert_eq!(m["data-x-db-5"].reason, Reason::ScaledIn);
    assert_eq!(
        (
            m["data-x-db-5"].statefulset.as_deref(),
            m["data-x-db-5"].template.as_deref()
        ),
        (Some("db"), Some("data-x"))
    );
}

#[test]
fn start_ordinal_bounds_the_range() {
    let inv = Inventory {
        sets: vec![set("web", &["data"], 5, 2, "Retain", "Retain")],
        claims: vec![
            claim("data-web-4"),
            claim("data-web-5"),
            claim("data-web-6"),
            claim("data-web-7"),
        ],
        pods: vec![pod("web-5", &["data-web-5"])],
        ..Inventory::default()
    };
    let fs = classify(&inv);
    let m = by_name(&fs);
    assert_eq!(m["data-web-4"].reason, Reason::ScaledIn);
    assert!(m["data-web-4"].note.contains("below the start ordinal 5"));
    assert_eq!(m["data-web-5"].reason, Reason::InUse);
    // In range, pod missing: not an orphan, only shown as unmounted.
    assert_eq!(m["data-web-6"].reason, Reason::Unmounted);
    assert!(!m["data-web-6"].prunable());
    assert_eq!(m["data-web-7"].reason, Reason::ScaledIn);
    assert!(m["data-web-7"].note.contains("scales to 3 or more"));
}

#[test]
fn a_mount_beats_any_name() {
    // A Deployment pod mounting a claim that looks like a scaled-in one.
    let inv = Inventory {
        sets: vec![set("web", &["data"], 0, 1, "Retain", "Retain")],
        claims: vec![claim("data-web-3"), claim("data-gone-0")],
        pods: vec![pod("reporter-7d9f-abcde", &["data-web-3", "data-gone-0"])],
        ..Inventory::default()
    };
    let fs = classify(&inv);
    for f in &fs {
        assert_eq!(f.reason, Reason::InUse, "{}", f.claim.name);
        assert!(!f.prunable());
    }
}

/// The four retention policies, with the owner references the controller sets.
#[test]
fn retention_policy_combinations() {
    // Retain/Retain: no refs -> scaled-in, never cleaned up.
    let base = |scaled: &str, deleted: &str, owners: Vec<OwnerRef>, pods: Vec<PodInfo>| {
        let mut c = claim("data-web-2");
        c.owners = owners;
        let inv = Inventory {
            sets: vec![set("web", &["data"], 0, 2, scaled, deleted)],
            claims: vec![c],
            pods,
            ..Inventory::default()
        };
        classify(&inv).remove(0)
    };
    let f = base("Retain", "Retain", vec![], vec![]);
    assert_eq!((f.reason, f.cleanup), (Reason::ScaledIn, Cleanup::Never));
    assert!(f.note.contains("whenScaled: Retain"));

    // whenDeleted=Delete, whenScaled=Retain: ref to the set -> scaled-in, goes with the set.
    let f = base("Retain", "Delete", vec![owner("StatefulSet", "web")], vec![]);
    assert_eq!((f.reason, f.cleanup), (Reason::ScaledIn, Cleanup::WithStatefulset));
    assert!(f.note.contains("deleted with the StatefulSet"), "{}", f.note);

    // whenScaled=Delete: ref to the condemned pod; while it terminates -> pending-cleanup.
    let mut terminating = pod("web-2", &[]);
    terminating.deleting = true;
    let f = base(
        "Delete",
        "Retain",
        vec![owner("Pod", "web-2")],
        vec![terminating.clone()],
    );
    assert_eq!(
        (f.reason, f.cleanup),
        (Reason::PendingCleanup, Cleanup::GarbageCollector)
    );
    // ... and once the pod is gone the GC deletes it: still pending-cleanup.
    let f = base("Delete", "Retain", vec![owner("Pod", "web-2")], vec![]);
    assert_eq!(f.reason, Reason::PendingCleanup);
    assert!(!f.is_orphan() && !f.prunable());
    // whenScaled=Delete but no pod ref (pod gone before the policy): a real orphan.
    let f = base("Delete", "Retain", vec![], vec![]);
    assert_eq!((f.reason, f.cleanup), (Reason::ScaledIn, Cleanup::Never));
    assert!(f.note.contains("will not delete it"), "{}", f.note);

    // Delete/Delete: condemned pod ref only (set ref removed) -> pending-cleanup.
    let f = base("Delete", "Delete", vec![owner("Pod", "web-2")], vec![]);
    assert_eq!(f.reason, Reason::PendingCleanup);
    // Delete/Delete, set ref still there, pod long gone: kept until the set goes.
    let f = base("Delete", "Delete", vec![owner("StatefulSet", "web")], vec![]);
    assert_eq!((f.reason, f.cleanup), (Reason::ScaledIn, Cleanup::WithStatefulset));
    assert!(f.note.contains("no reference to its pod"), "{}", f.note);
}

#[test]
fn deleted_set_confidence() {
    let mut a0 = claim("data-gone-0");
    let a1 = claim("data-gone-1");
    a0.labels = [("app".to_string(), "gone".to_string())].into();
    let mut b1 = claim("data-gone-1");
    b1.labels = [("app".to_string(), "gone".to_string())].into();
    let mut bare = claim("cache-old-0");
    bare.labels.clear();
    let single = claim("logs-solo-0");
    let inv = Inventory {
        claims: vec![a0.clone(), b1, bare, single],
        ..Inventory::default()
    };
    let fs = classify(&inv);
    let m = by_name(&fs);
    assert_eq!(m["data-gone-0"].reason, Reason::StatefulsetDeleted);
    assert_eq!(m["data-gone-0"].confidence, Some(Confidence::High));
    assert!(m["data-gone-0"].prunable());
    assert_eq!(m["cache-old-0"].confidence, Some(Confidence::NameOnly));
    assert!(!m["cache-old-0"].prunable());
    assert_eq!(m["logs-solo-0"].confidence, Some(Confidence::Medium));

    // Differing labels in a group: medium.
    let inv = Inventory {
        claims: vec![a0.clone(), a1.clone()],
        ..Inventory::default()
    };
    let fs = classify(&inv);
    assert!(fs.iter().all(|f| f.confidence == Some(Confidence::Medium)));

    // A controller event makes even an unlabelled claim high-confidence.
    let mut bare = claim("cache-old-0");
    bare.labels.clear();
    let inv = Inventory {
        claims: vec![bare],
        events: vec![ControllerEvent::ClaimCreated {
            namespace: "default".into(),
            claim: "cache-old-0".into(),
            set: "old".into(),
        }],
        ..Inventory::default()
    };
    assert_eq!(classify(&inv)[0].confidence, Some(Confidence::High));

    // A live set of that name without the template: capped at medium.
    let inv = Inventory {
        sets: vec![set("gone", &["other"], 0, 1, "Retain", "Retain")],
        claims: vec![a0, {
            let mut c = a1;
            c.labels = [("app".to_string(), "gone".to_string())].into();
            c
        }],
        ..Inventory::default()
    };
    let fs = classify(&inv);
    assert!(
        fs.iter()
            .all(|f| f.reason == Reason::StatefulsetDeleted && f.confidence == Some(Confidence::Medium))
    );
}

#[test]
fn dangling_set_owner_is_pending_cleanup_and_live_other_owner_is_not() {
    let mut c = claim("data-web-0");
    c.owners = vec![owner("StatefulSet", "web")];
    let mut d = claim("data-app-0");
    d.owners = vec![OwnerRef {
        api_version: "example.com/v1".into(),
        kind: "Database".into(),
        name: "app".into(),
        uid: "u".into(),
        controller: true,
    }];
    let mut e = claim("data-web-1");
    e.deleting = true;
    let fs = classify(&Inventory {
        claims: vec![c, d, e],
        ..Inventory::default()
    });
    assert_eq!(fs[0].reason, Reason::PendingCleanup);
    assert_eq!(fs[1].reason, Reason::StatefulsetDeleted);
    assert_eq!(fs[1].cleanup, Cleanup::OtherOwner);
    assert_eq!(fs[2].reason, Reason::PendingCleanup);
    assert!(fs[2].note.contains("being deleted"));
}

#[test]
fn deleted_set_split_prefers_evidence_then_group_size() {
    // data-my-db-0/1: both read as (data, my-db) and (data-my, db); the sibling
    // logs-my-db-0 tips nothing (different template), group sizes tie -> shortest template.
    let fs = classify(&Inventory {
        claims: vec![claim("data-my-db-0"), claim("data-my-db-1")],
        ..Inventory::default()
    });
    assert_eq!(fs[0].statefulset.as_deref(), Some("my-db"));
    assert_eq!(fs[0].template.as_deref(), Some("data"));
    let fs = classify(&Inventory {
        claims: vec![claim("data-my-db-0")],
        events: vec![ControllerEvent::ClaimCreated {
            namespace: "default".into(),
            claim: "data-my-db-0".into(),
            set: "db".into(),
        }],
        ..Inventory::default()
    });
    assert_eq!(fs[0].template.as_deref(), Some("data-my"));
    assert_eq!(fs[0].confidence, Some(Confidence::High));
}

#[test]
fn parses_controller_events() {
    assert!(matches!(
        ControllerEvent::parse("ns", "SuccessfulCreate", "create Claim disk-ssd-web-2 Pod web-2 in StatefulSet web success", None),
        Some(ControllerEvent::ClaimCreated { ref claim, ref set, .. }) if claim == "disk-ssd-web-2" && set == "web"
    ));
    assert!(matches!(
        ControllerEvent::parse("ns", "SuccessfulDelete", "delete Pod web-2 in StatefulSet web successful", Some("t".into())),
        Some(ControllerEvent::PodDeleted { ref pod, .. }) if pod == "web-2"
    ));
    assert!(
        ControllerEvent::parse(
            "ns",
            "SuccessfulCreate",
            "create Pod web-0 in StatefulSet web successful",
            None
        )
        .is_none()
    );
}

#[test]
fn namespaces_do_not_mix() {
    let mut other = claim("data-web-5");
    other.namespace = "prod".into();
    let mut p = pod("x", &["data-web-5"]);
    p.namespace = "staging".into();
    let fs = classify(&Inventory {
        sets: vec![set("web", &["data"], 0, 1, "Retain", "Retain")],
        claims: vec![other],
        pods: vec![p],
        ..Inventory::default()
    });
    // The live set is in default, the mount in staging: in prod this is a deleted set's claim.
    assert_eq!(fs[0].reason, Reason::StatefulsetDeleted);
}

#[test]
fn a_leftover_smaller_than_its_template_is_drift() {
    let mut s = set("web", &["disk-ssd"], 0, 1, "Retain", "Retain");
    s.claim_specs = vec![crate::model::drift::TemplateSpec {
        name: "disk-ssd".into(),
        request: Some("30Gi".into()),
        storage_class: Some("standard".into()),
        access_modes: vec![],
    }];
    let with_request = |name: &str, req: &str| {
        let mut c = claim(name);
        c.facts.request = Some(req.into());
        c
    };
    let inv = Inventory {
        sets: vec![s],
        claims: vec![
            with_request("disk-ssd-web-0", "20Gi"),
            with_request("disk-ssd-web-1", "20Gi"),
            with_request("disk-ssd-web-2", "30Gi"),
        ],
        pods: vec![pod("web-0", &["disk-ssd-web-0"])],
        volumes: None,
        events: vec![],
    };
    let m_fs = classify(&inv);
    let m = by_name(&m_fs);
    let d = &m["disk-ssd-web-1"].drift;
    assert_eq!(d.len(), 1, "{d:?}");
    assert!(
        d[0].note
            .starts_with("a later scale-out reuses this claim at 20Gi, not the template's 30Gi"),
        "{}",
        d[0].note
    );
    assert!(
        m["disk-ssd-web-2"].drift.is_empty(),
        "a leftover at the template's size does not drift"
    );
    assert!(
        m["disk-ssd-web-0"].drift.is_empty(),
        "in-range claims are status's business"
    );
}

#[test]
fn the_servers_unused_condition_dates_a_leftover() {
    let pvc: k8s_openapi::api::core::v1::PersistentVolumeClaim = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "disk-ssd-web-1"},
        "status": {"phase": "Bound", "conditions": [
            {"type": "Unused", "status": "True", "lastTransitionTime": "2026-11-30T10:00:00Z"}]}
    }))
    .unwrap();
    let mut c = claim("disk-ssd-web-1");
    c.facts = crate::model::drift::ClaimFacts::of(&pvc);
    let inv = Inventory {
        sets: vec![set("web", &["disk-ssd"], 0, 1, "Retain", "Retain")],
        claims: vec![c],
        pods: vec![],
        volumes: None,
        events: vec![],
    };
    let fs = classify(&inv);
    let l = fs[0].last_mounted.as_ref().unwrap();
    assert_eq!(l.unused_since.as_deref(), Some("2026-11-30T10:00:00Z"));
    assert_eq!(l.pod_deleted_at, None);
}
