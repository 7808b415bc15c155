use super::*;
use k8s_openapi::api::apps::v1::StatefulSet;
use serde_json::{Value, json};

fn facts(v: Value) -> Facts {
    Facts::of(&serde_json::from_value::<StatefulSet>(v).unwrap())
}

fn sts(replicas: i32, start: i32) -> Value {
    json!({"metadata":{"name":"web","namespace":"ns","generation":1},
        "spec":{"selector":{},"template":{},"replicas":replicas,"ordinals":{"start":start},
          "volumeClaimTemplates":[{"metadata":{"name":"data"}}]},
        "status":{"observedGeneration":1,"replicas":replicas,"readyReplicas":replicas,
          "currentRevision":"web-a","updateRevision":"web-a"}})
}

fn pod(name: &str, ready: bool, rev: &str) -> Pod {
    serde_json::from_value(json!({
        "metadata":{"name":name,"uid":format!("uid-{name}"),"labels":{"controller-revision-hash":rev}},
        "spec":{"containers":[{"name":"app"}]},
        "status":{"phase":"Running","conditions":[{"type":"Ready","status":if ready {"True"} else {"False"}}]}
    }))
    .unwrap()
}

#[test]
fn default_is_highest_ordinal_honouring_start() {
    assert_eq!(default_ordinal(&facts(sts(3, 0))), Some(2));
    assert_eq!(default_ordinal(&facts(sts(3, 5))), Some(7));
    assert_eq!(default_ordinal(&facts(sts(0, 5))), None);
    assert_eq!(all_ordinals(&facts(sts(3, 5))), vec![7, 6, 5]);
}

#[test]
fn container_choice() {
    let mut p: Pod = serde_json::from_value(json!({"metadata":{"name":"web-0"},
        "spec":{"containers":[{"name":"a"},{"name":"b"}]}}))
    .unwrap();
    assert_eq!(choose_container(&p, None).unwrap(), "a");
    assert_eq!(choose_container(&p, Some("b")).unwrap(), "b");
    let e = choose_container(&p, Some("c")).unwrap_err();
    assert!(
        e.contains("container \"c\" not found in pod web-0") && e.contains("[a b]"),
        "{e}"
    );
    p.metadata.annotations = Some([(DEFAULT_CONTAINER_ANNOTATION.to_string(), "b".to_string())].into());
    assert_eq!(choose_container(&p, None).unwrap(), "b");
    p.metadata.annotations = Some([(DEFAULT_CONTAINER_ANNOTATION.to_string(), "zz".to_string())].into());
    assert_eq!(choose_container(&p, None).unwrap(), "a");
}

#[test]
fn mounts_resolve_through_volumes_to_claims() {
    let p: Pod = serde_json::from_value(json!({"metadata":{"name":"web-5"},
        "spec":{"containers":[{"name":"app","volumeMounts":[
            {"name":"data","mountPath":"/data"},
            {"name":"logs","mountPath":"/var/my logs/","subPath":"app 1"},
            {"name":"cache","mountPath":"/cache"},
            {"name":"shared","mountPath":"/shared"},
            {"name":"ro","mountPath":"/ro","readOnly":true},
            {"name":"ghost","mountPath":"/ghost"}]}],
        "volumes":[
            {"name":"data","persistentVolumeClaim":{"claimName":"data-web-5"}},
            {"name":"logs","persistentVolumeClaim":{"claimName":"logs-web-5"}},
            {"name":"cache","emptyDir":{}},
            {"name":"shared","persistentVolumeClaim":{"claimName":"data-web-50"}},
            {"name":"ro","persistentVolumeClaim":{"claimName":"ro-web-5","readOnly":false}}]}}))
    .unwrap();
    let c = &p.spec.as_ref().unwrap().containers[0];
    let t = vec!["data".to_string(), "logs".to_string(), "ro".to_string()];
    let m = resolve_mounts(&p, c, "web", 5, &t);
    assert_eq!(m.len(), 6);
    assert_eq!(
        m[0].backing,
        Backing::ClaimTemplate {
            template: "data".into(),
            claim: "data-web-5".into()
        }
    );
    assert_eq!(m[1].sub_path.as_deref(), Some("app 1"));
    assert!(m[1].is_claim_template() && !m[1].read_only);
    assert_eq!(
        m[2].backing,
        Backing::NotPersistent {
            kind: "emptyDir".into()
        }
    );
    assert_eq!(m[2].skip_reason().unwrap(), "emptyDir: not persistent, skipped");
    // data-web-50 is not data-web-5: whole names only.
    assert!(matches!(m[3].backing, Backing::SharedClaim { .. }));
    assert!(m[4].read_only && m[4].is_claim_template());
    assert_eq!(m[5].backing, Backing::Missing);
    assert_eq!(
        marker_path("/var/my logs/", "n1"),
        "/var/my logs/.kubectl-sts-marker-n1"
    );
    assert_eq!(marker_path("/", "n1"), "/.kubectl-sts-marker-n1");
}

#[test]
fn claim_level_read_only_counts() {
    let p: Pod = serde_json::from_value(json!({"metadata":{"name":"web-0"},
        "spec":{"containers":[{"name":"app","volumeMounts":[{"name":"data","mountPath":"/d"}]}],
        "volumes":[{"name":"data","persistentVolumeClaim":{"claimName":"data-web-0","readOnly":true}}]}}))
    .unwrap();
    let m = resolve_mounts(&p, &p.spec.as_ref().unwrap().containers[0], "web", 0, &["data".into()]);
    assert!(m[0].read_only);
}

#[test]
fn preflight_healthy_is_empty() {
    let f = facts(sts(3, 0));
    let ps = vec![
        pod("web-0", true, "web-a"),
        pod("web-1", true, "web-a"),
        pod("web-2", true, "web-a"),
    ];
    assert!(preflight(&f, &ps, 2).is_empty());
    assert!(!refused(&[], false));
}

#[test]
fn preflight_sibling_not_ready_is_overridable() {
    let mut v = sts(3, 0);
    v["spec"]["podManagementPolicy"] = json!("Parallel");
    let f = facts(v);
    let ps = vec![pod("web-0", false, "web-a"), pod("web-2", true, "web-a")];
    let fs = preflight(&f, &ps, 2);
    assert_eq!(fs.len(), 1, "{fs:?}");
    assert!(fs[0].overridable);
    assert!(
        fs[0].reason.contains("web-0 Running") && fs[0].reason.contains("web-1 missing"),
        "{}",
        fs[0].reason
    );
    assert!(refused(&fs, false));
    assert!(!refused(&fs, true));
}

#[test]
fn preflight_ordered_ready_blocked_by_lower_ordinal_is_hard() {
    let f = facts(sts(3, 0));
    let ps = vec![
        pod("web-0", false, "web-a"),
        pod("web-1", true, "web-a"),
        pod("web-2", true, "web-a"),
    ];
    let fs = preflight(&f, &ps, 2);
    assert!(
        fs.iter()
            .any(|x| !x.overridable && x.reason.contains("until web-0 is Running and Ready")),
        "{fs:?}"
    );
    assert!(refused(&fs, true));
    // The lowest ordinal is never blocked; Parallel never is.
    let fs = preflight(
        &f,
        &[
            pod("web-0", true, "web-a"),
            pod("web-1", true, "web-a"),
            pod("web-2", false, "web-a"),
        ],
        0,
    );
    assert!(fs.iter().all(|x| x.overridable) && !fs.is_empty(), "{fs:?}");
    let mut v = sts(3, 0);
    v["spec"]["podManagementPolicy"] = json!("Parallel");
    let fs = preflight(&facts(v), &ps, 2);
    assert!(fs.iter().all(|x| x.overridable), "{fs:?}");
}

#[test]
fn preflight_target_not_ready_is_hard() {
    let f = facts(sts(2, 0));
    let ps = vec![pod("web-0", true, "web-a"), pod("web-1", false, "web-a")];
    let fs = preflight(&f, &ps, 1);
    assert!(
        fs.iter()
            .any(|x| !x.overridable && x.reason.contains("not Running and Ready"))
    );
    assert!(refused(&fs, true));
    let fs = preflight(&f, &ps[..1], 1);
    assert_eq!(fs[0].reason, "pod web-1 does not exist");
    let fs = preflight(&f, &ps, 7);
    assert!(fs[0].reason.contains("outside web's ordinals [0, 2)"));
    assert!(refused(&fs, true));
}

#[test]
fn preflight_rollout_in_flight() {
    let mut v = sts(2, 0);
    v["status"]["updateRevision"] = json!("web-b");
    let f = facts(v);
    let ps = vec![pod("web-0", true, "web-a"), pod("web-1", true, "web-b")];
    // web-1 already runs the update revision and comes back at it: nothing against it.
    let fs = preflight(&f, &ps, 1);
    assert!(fs.is_empty(), "{fs:?}");
    // web-0 (at or above partition 0) would come back at web-b, not the web-a it runs.
    let fs = preflight(&f, &ps, 0);
    assert_eq!(fs.len(), 1, "{fs:?}");
    assert!(
        fs[0].reason.contains("recreate it at revision web-b") && fs[0].reason.contains("at or above the partition"),
        "{fs:?}"
    );
    assert!(fs[0].overridable);
}

/// A finished staged rollout (partition 1): web-0 stays at currentRevision for good, and
/// the controller recreates it there, so it can be verified; web-1 runs and comes back
/// at the update revision.
#[test]
fn preflight_below_the_partition_comes_back_at_the_current_revision() {
    let mut v = sts(2, 0);
    v["spec"]["updateStrategy"] = json!({"type":"RollingUpdate","rollingUpdate":{"partition":1}});
    v["status"]["currentRevision"] = json!("web-a");
    v["status"]["updateRevision"] = json!("web-b");
    let f = facts(v);
    assert_eq!(f.revision_on_recreate(0), Some("web-a"));
    assert_eq!(f.revision_on_recreate(1), Some("web-b"));
    let ps = vec![pod("web-0", true, "web-a"), pod("web-1", true, "web-b")];
    assert!(preflight(&f, &ps, 0).is_empty(), "{:?}", preflight(&f, &ps, 0));
    assert!(preflight(&f, &ps, 1).is_empty(), "{:?}", preflight(&f, &ps, 1));
}

#[test]
fn preflight_ondelete_stale_and_stale_status() {
    let mut v = sts(2, 0);
    v["spec"]["updateStrategy"] = json!({"type":"OnDelete"});
    v["status"]["currentRevision"] = json!("web-b");
    v["status"]["updateRevision"] = json!("web-b");
    let ps = vec![pod("web-0", true, "web-a"), pod("web-1", true, "web-b")];
    // web-1 is at the update revision and comes back at it; web-0's staleness is not its business.
    let fs = preflight(&facts(v.clone()), &ps, 1);
    assert!(fs.is_empty(), "{fs:?}");
    // The target itself stale: OnDelete recreates it at the update revision.
    let fs = preflight(&facts(v.clone()), &ps, 0);
    assert!(
        fs.iter()
            .any(|x| x.reason.contains("recreate it at revision web-b") && x.reason.contains("OnDelete")),
        "{fs:?}"
    );
    v["metadata"]["generation"] = json!(2);
    let fs = preflight(&facts(v), &ps, 1);
    assert!(
        fs.iter().any(|x| x.reason.contains("has not observed generation 2")),
        "{fs:?}"
    );
}

fn p(uid: &str, v: Value) -> Pod {
    let mut base = json!({"metadata":{"name":"web-1","uid":uid},"spec":{"containers":[{"name":"app"}]}});
    if let Some(o) = v.as_object() {
        for (k, val) in o {
            if k == "metadata" {
                for (mk, mv) in val.as_object().unwrap() {
                    base["metadata"][mk] = mv.clone();
                }
            } else if k == "spec" {
                for (sk, sv) in val.as_object().unwrap() {
                    base["spec"][sk] = sv.clone();
                }
            } else {
                base[k] = val.clone();
            }
        }
    }
    serde_json::from_value(base).unwrap()
}

#[test]
fn wait_tracks_phases_in_order() {
    let ms = Duration::from_millis;
    let mut w = WaitTracker::new("web-1", "old");
    assert!(w.observe(Some(&p("old", json!({}))), ms(1)).is_empty());
    assert!(w.describe().contains("still running (not deleted)"));
    assert_eq!(
        w.observe(
            Some(&p(
                "old",
                json!({"metadata":{"deletionTimestamp":"2024-01-01T00:00:00Z"}})
            )),
            ms(2)
        ),
        vec![Phase::Terminating]
    );
    assert_eq!(w.observe(None, ms(3)), vec![Phase::Gone]);
    assert!(w.describe().contains("gone and no replacement"));
    assert!(w.observe(Some(&p("new", json!({}))), ms(4)).is_empty());
    assert_eq!(w.new_uid(), Some("new"));
    assert_eq!(
        w.observe(Some(&p("new", json!({"spec":{"nodeName":"n1"}}))), ms(5)),
        vec![Phase::Scheduled]
    );
    let created = json!({"spec":{"nodeName":"n1"},"status":{"phase":"Pending",
        "containerStatuses":[{"name":"app","ready":false,"restartCount":0,"image":"x","imageID":"","containerID":"containerd://abc"}]}});
    assert_eq!(
        w.observe(Some(&p("new", created)), ms(6)),
        vec![Phase::ContainerCreated]
    );
    let running = json!({"status":{"phase":"Running","conditions":[{"type":"Ready","status":"False"}]}});
    assert_eq!(w.observe(Some(&p("new", running.clone())), ms(7)), vec![Phase::Running]);
    assert!(
        w.describe().contains("uid new) is Running, not Ready"),
        "{}",
        w.describe()
    );
    assert!(!w.done());
    let ready = json!({"status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"}]}});
    assert_eq!(w.observe(Some(&p("new", ready)), ms(8)), vec![Phase::Ready]);
    assert!(w.done());
    assert_eq!(w.reached.len(), 6);
}

#[test]
fn wait_fills_skipped_phases_and_never_goes_back() {
    let ms = Duration::from_millis;
    let mut w = WaitTracker::new("web-1", "old");
    let ready = json!({"status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"}]}});
    assert_eq!(w.observe(Some(&p("new", ready)), ms(9)), Phase::ALL.to_vec());
    assert!(w.done());
    assert!(w.observe(None, ms(10)).is_empty());
}

#[test]
fn verdicts() {
    let before = ClaimSnapshot {
        uid: Some("c1".into()),
        volume: Some("pv1".into()),
        phase: Some("Bound".into()),
    };
    let same = before.clone();
    assert_eq!(
        verdict("n", &before, &same, &ReadBack::Found("n".into())).0,
        Verdict::Persisted
    );
    assert_eq!(
        verdict("n", &before, &same, &ReadBack::Found("x".into())).0,
        Verdict::Lost
    );
    assert_eq!(verdict("n", &before, &same, &ReadBack::Missing).0, Verdict::Lost);
    assert_eq!(
        verdict("n", &before, &same, &ReadBack::Error("e".into())).0,
        Verdict::Unknown
    );
    let other_pv = ClaimSnapshot {
        volume: Some("pv2".into()),
        ..before.clone()
    };
    let (v, why) = verdict("n", &before, &other_pv, &ReadBack::Found("n".into()));
    assert_eq!(v, Verdict::Lost);
    assert!(why.contains("pv2 instead of pv1"));
    let recreated = ClaimSnapshot {
        uid: Some("c2".into()),
        ..before.clone()
    };
    assert_eq!(
        verdict("n", &before, &recreated, &ReadBack::Found("n".into())).0,
        Verdict::Lost
    );
    assert_eq!(
        verdict("n", &before, &ClaimSnapshot::default(), &ReadBack::Found("n".into())).1,
        "the PVC no longer exists"
    );
}

#[test]
fn fully_ready_needs_settled_status() {
    assert!(fully_ready(&facts(sts(3, 0))));
    let mut v = sts(3, 0);
    v["status"]["readyReplicas"] = json!(2);
    assert!(!fully_ready(&facts(v)));
}
