use super::*;
use k8s_openapi::api::core::v1::Event;
use serde_json::json;

fn t(s: &str) -> Timestamp {
    format!("2026-11-22T03:06:{s}Z").parse().unwrap()
}

struct S {
    replicas: i32,
    strategy: &'static str,
    partition: i32,
    max_unavailable: Option<serde_json::Value>,
    min_ready: i32,
    start: i32,
    generation: i64,
    observed: i64,
    current: &'static str,
    update: &'static str,
}

impl Default for S {
    fn default() -> S {
        S {
            replicas: 3,
            strategy: "RollingUpdate",
            partition: 0,
            max_unavailable: None,
            min_ready: 0,
            start: 0,
            generation: 2,
            observed: 2,
            current: "web-old",
            update: "web-new",
        }
    }
}

fn sts(s: S) -> StatefulSet {
    let mut strategy = json!({"type": s.strategy});
    if s.strategy == "RollingUpdate" {
        strategy["rollingUpdate"] = json!({"partition": s.partition});
        if let Some(m) = s.max_unavailable {
            strategy["rollingUpdate"]["maxUnavailable"] = m;
        }
    }
    serde_json::from_value(json!({
        "metadata": {"name": "web", "namespace": "default", "uid": "sts-uid", "generation": s.generation},
        "spec": {"replicas": s.replicas, "selector": {"matchLabels": {"app": "nginx"}}, "serviceName": "nginx",
                 "updateStrategy": strategy, "minReadySeconds": s.min_ready, "ordinals": {"start": s.start},
                 "template": {"metadata": {"labels": {"app": "nginx"}}, "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}},
        "status": {"observedGeneration": s.observed, "replicas": s.replicas, "currentRevision": s.current, "updateRevision": s.update}
    }))
    .unwrap()
}

/// A pod: `how` is pending | running | ready | terminating; `since` the Ready transition.
fn pod(ordinal: i32, uid: &str, rev: &str, how: &str, since: &str) -> Pod {
    let ready = how == "ready" || how == "terminating";
    let mut v = json!({
        "metadata": {"name": format!("web-{ordinal}"), "uid": uid, "creationTimestamp": since,
                     "labels": {"app": "nginx", "controller-revision-hash": rev}},
        "spec": {"containers": [{"name": "nginx", "image": "nginx"}]},
        "status": {"phase": if how == "pending" { "Pending" } else { "Running" },
                   "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }, "lastTransitionTime": since}]}
    });
    if how == "terminating" {
        v["metadata"]["deletionTimestamp"] = json!(since);
        v["metadata"]["deletionGracePeriodSeconds"] = json!(0);
    }
    serde_json::from_value(v).unwrap()
}

fn world<'a>(s: &'a StatefulSet, pods: &'a [Pod], events: &'a [Event]) -> World<'a> {
    World {
        sts: Some(s),
        pods: pods.iter().collect(),
        pvcs: vec![],
        events: events.iter().collect(),
    }
}

fn revision(name: &str, rev: i64, created: &str, image: &str, cause: Option<&str>, owner: &str) -> ControllerRevision {
    let mut v = json!({
        "metadata": {"name": name, "creationTimestamp": created,
                     "labels": {"app": "nginx", "controller.kubernetes.io/hash": name.trim_start_matches("web-")},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "uid": owner, "controller": true}]},
        "revision": rev,
        "data": {"spec": {"template": {"$patch": "replace", "spec": {"containers": [{"name": "nginx", "image": image}]}}}}
    });
    if let Some(c) = cause {
        v["metadata"]["annotations"] = json!({CHANGE_CAUSE: c});
    }
    serde_json::from_value(v).unwrap()
}

fn events_of(tr: &Trace, ordinal: i32) -> Vec<&'static str> {
    tr.events
        .iter()
        .filter(|e| e.ordinal == Some(ordinal))
        .map(|e| e.event.as_str())
        .collect()
}

#[test]
fn max_unavailable_resolves_like_the_controller() {
    assert_eq!(max_unavailable(None, 5), 1);
    assert_eq!(max_unavailable(Some("2"), 5), 2);
    assert_eq!(max_unavailable(Some("50%"), 5), 2);
    assert_eq!(max_unavailable(Some("10%"), 5), 1, "rounded down, then at least 1");
    assert_eq!(max_unavailable(Some("0"), 5), 1);
}

#[test]
fn classify_covers_every_state() {
    let s = RolloutSpec::of(&sts(S {
        partition: 1,
        min_ready: 10,
        ..S::default()
    }));
    let now = t("30");
    assert_eq!(
        classify(
            &s,
            0,
            Some(&pod(0, "a", "web-old", "ready", "2026-11-22T03:06:00Z")),
            now
        ),
        OrdinalState::Held
    );
    assert_eq!(classify(&s, 0, None, now), OrdinalState::Held);
    assert_eq!(
        classify(
            &s,
            2,
            Some(&pod(2, "b", "web-old", "ready", "2026-11-22T03:06:00Z")),
            now
        ),
        OrdinalState::Waiting
    );
    assert_eq!(
        classify(
            &s,
            2,
            Some(&pod(2, "b", "web-old", "terminating", "2026-11-22T03:06:00Z")),
            now
        ),
        OrdinalState::Terminating
    );
    assert_eq!(classify(&s, 2, None, now), OrdinalState::Recreating);
    assert_eq!(
        classify(
            &s,
            2,
            Some(&pod(2, "c", "web-new", "pending", "2026-11-22T03:06:25Z")),
            now
        ),
        OrdinalState::Recreating
    );
    assert_eq!(
        classify(
            &s,
            2,
            Some(&pod(2, "c", "web-new", "running", "2026-11-22T03:06:25Z")),
            now
        ),
        OrdinalState::Running
    );
    // minReadySeconds 10: Ready 5 s ago is Ready, 10 s ago Available.
    assert_eq!(
        classify(
            &s,
            2,
            Some(&pod(2, "c", "web-new", "ready", "2026-11-22T03:06:25Z")),
            now
        ),
        OrdinalState::Ready
    );
    assert_eq!(
        classify(
            &s,
            2,
            Some(&pod(2, "c", "web-new", "ready", "2026-11-22T03:06:20Z")),
            now
        ),
        OrdinalState::Available
    );
    let od = RolloutSpec::of(&sts(S {
        strategy: "OnDelete",
        partition: 2,
        ..S::default()
    }));
    assert_eq!(od.partition, 0, "partition means nothing under OnDelete");
    assert_eq!(
        classify(
            &od,
            0,
            Some(&pod(0, "a", "web-old", "ready", "2026-11-22T03:06:00Z")),
            now
        ),
        OrdinalState::WaitingForManualDelete
    );
}

#[test]
fn partition_counts_from_the_start_ordinal() {
    let s = RolloutSpec::of(&sts(S {
        start: 5,
        partition: 2,
        replicas: 4,
        ..S::default()
    }));
    assert_eq!(s.first_updated(), 7);
    assert_eq!(s.end(), 9);
    let p = pod(6, "a", "web-old", "ready", "2026-11-22T03:06:00Z");
    assert_eq!(classify(&s, 6, Some(&p), t("10")), OrdinalState::Held);
    let p = pod(7, "a", "web-old", "ready", "2026-11-22T03:06:00Z");
    assert_eq!(classify(&s, 7, Some(&p), t("10")), OrdinalState::Waiting);
}

/// The captured rollout (rollout-watch-pods.jsonl): 2, then 1, then 0; each ordinal
/// terminating, gone, created, running, ready; durations from the live observations.
#[test]
fn rolling_update_high_to_low_with_durations() {
    let before = sts(S {
        current: "web-old",
        update: "web-old",
        generation: 1,
        observed: 1,
        ..S::default()
    });
    let old: Vec<Pod> = (0..3)
        .map(|o| pod(o, &format!("o{o}"), "web-old", "ready", "2026-11-22T03:00:00Z"))
        .collect();
    let mut tr = Trace::new(&before, &[], t("00"));
    tr.observe(t("00"), &world(&before, &old, &[]));
    assert!(tr.done(), "nothing to roll out yet");
    assert!(tr.updated().is_empty());
    // The template changed: generation 2 not yet observed: not done, status not trusted.
    let changed = sts(S {
        current: "web-old",
        update: "web-old",
        generation: 2,
        observed: 1,
        ..S::default()
    });
    tr.observe(t("01"), &world(&changed, &old, &[]));
    assert!(!tr.done());
    assert!(
        tr.waiting_for().contains("observe generation 2"),
        "{}",
        tr.waiting_for()
    );
    let rolling = sts(S::default());
    tr.observe(t("02"), &world(&rolling, &old, &[]));
    assert_eq!(tr.ordinals[&2].state, OrdinalState::Waiting);
    let mut pods = old.clone();
    pods[2] = pod(2, "o2", "web-old", "terminating", "2026-11-22T03:06:03Z");
    tr.observe(t("03"), &world(&rolling, &pods, &[]));
    tr.observe(t("04"), &world(&rolling, &pods[..2], &[]));
    pods[2] = pod(2, "n2", "web-new", "pending", "2026-11-22T03:06:05Z");
    tr.observe(t("05"), &world(&rolling, &pods, &[]));
    pods[2] = pod(2, "n2", "web-new", "running", "2026-11-22T03:06:05Z");
    tr.observe(t("06"), &world(&rolling, &pods, &[]));
    pods[2] = pod(2, "n2", "web-new", "ready", "2026-11-22T03:06:07Z");
    tr.observe(t("07"), &world(&rolling, &pods, &[]));
    assert_eq!(
        events_of(&tr, 2),
        vec![
            "state",
            "waiting",
            "terminating",
            "gone",
            "created",
            "running",
            "available",
            "updated"
        ]
    );
    let o2 = &tr.ordinals[&2];
    assert_eq!(o2.update_started_at, Some(t("03")));
    assert_eq!(o2.old_pod_gone_at, Some(t("04")));
    assert_eq!(o2.new_pod_created_at, Some(t("05")));
    assert_eq!(o2.new_pod_ready_at, Some(t("07")));
    assert_eq!(o2.duration_seconds, Some(4.0));
    assert!(!o2.reconstructed);
    // 1 then 0.
    pods[1] = pod(1, "o1", "web-old", "terminating", "2026-11-22T03:06:08Z");
    tr.observe(t("08"), &world(&rolling, &pods, &[]));
    pods[1] = pod(1, "n1", "web-new", "ready", "2026-11-22T03:06:10Z");
    tr.observe(t("10"), &world(&rolling, &pods, &[]));
    assert_eq!(tr.ordinals[&1].duration_seconds, Some(2.0));
    assert!(!tr.done());
    assert_eq!(tr.blocking().unwrap().ordinal, 0);
    pods[0] = pod(0, "n0", "web-new", "ready", "2026-11-22T03:06:12Z");
    tr.observe(t("12"), &world(&rolling, &pods, &[]));
    assert!(tr.done());
    assert!(tr.events.iter().any(|e| e.event.as_str() == "done"));
    let order: Vec<i32> = tr
        .events
        .iter()
        .filter(|e| e.event.as_str() == "created")
        .filter_map(|e| e.ordinal)
        .collect();
    assert_eq!(order, vec![2, 1, 0]);
    assert_eq!(tr.updated().len(), 3);
    // The timeline starts when the new revision showed up.
    assert_eq!(tr.span(t("12")), (t("02"), t("12")));
}

#[test]
fn partition_holds_lower_ordinals_and_is_done_above_it() {
    let s = sts(S {
        replicas: 4,
        partition: 2,
        ..S::default()
    });
    let pods = vec![
        pod(0, "a", "web-old", "ready", "2026-11-22T03:00:00Z"),
        pod(1, "b", "web-old", "ready", "2026-11-22T03:00:00Z"),
        pod(2, "c", "web-new", "ready", "2026-11-22T03:06:05Z"),
        pod(3, "d", "web-new", "ready", "2026-11-22T03:06:03Z"),
    ];
    let mut tr = Trace::new(
        &s,
        &[revision(
            "web-new",
            2,
            "2026-11-22T03:06:01Z",
            "nginx:2",
            None,
            "sts-uid",
        )],
        t("09"),
    );
    tr.observe(t("09"), &world(&s, &pods, &[]));
    assert!(tr.done(), "done down to the partition: {}", tr.waiting_for());
    assert_eq!(tr.held().iter().map(|o| o.ordinal).collect::<Vec<_>>(), vec![1, 0]);
    assert_eq!(tr.updated().iter().map(|o| o.ordinal).collect::<Vec<_>>(), vec![3, 2]);
    // Attached after the fact: reconstructed from the pods' timestamps.
    let o3 = &tr.ordinals[&3];
    assert!(o3.reconstructed);
    assert_eq!(o3.new_pod_created_at, Some(t("03")));
    assert_eq!(o3.new_pod_ready_at, Some(t("03")));
}

#[test]
fn attach_mid_rollout_reconstructs_from_pods_revisions_and_events() {
    let s = sts(S::default());
    let deleted: Event = serde_json::from_value(json!({"metadata": {"name": "web.1"},
        "involvedObject": {"kind": "StatefulSet", "name": "web"}, "reason": "SuccessfulDelete",
        "message": "delete Pod web-2 in StatefulSet web successful", "lastTimestamp": "2026-11-22T03:06:02Z"}))
    .unwrap();
    let stale: Event = serde_json::from_value(json!({"metadata": {"name": "web.0"},
        "involvedObject": {"kind": "StatefulSet", "name": "web"}, "reason": "SuccessfulDelete",
        "message": "delete Pod web-1 in StatefulSet web successful", "lastTimestamp": "2026-11-22T02:00:00Z"}))
    .unwrap();
    let pods = vec![
        pod(0, "a", "web-old", "ready", "2026-11-22T03:00:00Z"),
        pod(1, "b", "web-old", "terminating", "2026-11-22T03:06:08Z"),
        pod(2, "c", "web-new", "ready", "2026-11-22T03:06:06Z"),
    ];
    let revs = [
        revision("web-old", 1, "2026-11-22T03:00:00Z", "nginx", None, "sts-uid"),
        revision("web-new", 2, "2026-11-22T03:06:01Z", "nginx:2", None, "sts-uid"),
    ];
    let mut tr = Trace::new(&s, &revs, t("09"));
    let evs = [deleted, stale];
    tr.observe(t("09"), &world(&s, &pods, &evs));
    assert_eq!(tr.rollout_started_at, Some(t("01")));
    let o2 = &tr.ordinals[&2];
    assert_eq!(o2.state, OrdinalState::Available);
    assert!(o2.in_rollout && o2.reconstructed);
    assert_eq!(o2.update_started_at, Some(t("02")), "from the SuccessfulDelete event");
    assert_eq!(o2.duration_seconds, Some(4.0));
    let o1 = &tr.ordinals[&1];
    assert_eq!(o1.state, OrdinalState::Terminating);
    assert_eq!(o1.update_started_at, Some(t("08")), "deletionTimestamp minus grace");
    assert_eq!(tr.ordinals[&0].state, OrdinalState::Waiting);
    assert!(!tr.done());
    // Then follow the watch: web-1 comes back at the new revision.
    let mut pods2 = pods.clone();
    pods2[1] = pod(1, "n1", "web-new", "ready", "2026-11-22T03:06:11Z");
    tr.observe(t("11"), &world(&s, &pods2, &evs));
    let o1 = &tr.ordinals[&1];
    assert_eq!(o1.new_pod_created_at, Some(t("11")));
    assert_eq!(o1.duration_seconds, Some(3.0));
    assert_eq!(tr.last_progress, t("11"));
}

#[test]
fn an_ordinal_already_current_before_the_rollout_is_not_part_of_it() {
    // OnDelete after someone deleted web-2 before we attached; web-0 predates the revision
    // but (a rollback) already runs it.
    let s = sts(S {
        strategy: "OnDelete",
        ..S::default()
    });
    let pods = vec![
        pod(0, "a", "web-new", "ready", "2026-11-22T02:00:00Z"),
        pod(1, "b", "web-old", "ready", "2026-11-22T03:00:00Z"),
        pod(2, "c", "web-new", "ready", "2026-11-22T03:06:06Z"),
    ];
    let revs = [revision(
        "web-new",
        3,
        "2026-11-22T03:06:01Z",
        "nginx:2",
        None,
        "sts-uid",
    )];
    let mut tr = Trace::new(&s, &revs, t("09"));
    tr.observe(t("09"), &world(&s, &pods, &[]));
    assert!(!tr.ordinals[&0].in_rollout);
    assert!(tr.ordinals[&2].in_rollout);
    assert_eq!(
        tr.waiting_for_manual_delete()
            .iter()
            .map(|o| o.pod.as_str())
            .collect::<Vec<_>>(),
        vec!["web-1"]
    );
    assert!(tr.only_manual_deletes_left());
    assert!(
        tr.waiting_for().contains("someone to delete web-1"),
        "{}",
        tr.waiting_for()
    );
    assert!(
        tr.events
            .iter()
            .any(|e| e.event.as_str() == "waiting-for-manual-delete" && e.fields[0].1 == "web-1")
    );
    // Deleted by hand: recreated at the update revision; done.
    let mut pods2 = pods.clone();
    pods2[1] = pod(1, "b", "web-old", "terminating", "2026-11-22T03:06:10Z");
    tr.observe(t("10"), &world(&s, &pods2, &[]));
    assert!(!tr.only_manual_deletes_left());
    pods2[1] = pod(1, "n1", "web-new", "ready", "2026-11-22T03:06:12Z");
    tr.observe(t("12"), &world(&s, &pods2, &[]));
    assert!(tr.done());
    assert!(tr.waiting_for_manual_delete().is_empty());
}

#[test]
fn min_ready_seconds_holds_done_until_available() {
    let s = sts(S {
        replicas: 1,
        min_ready: 5,
        ..S::default()
    });
    let mut tr = Trace::new(&s, &[], t("00"));
    let p = [pod(0, "o", "web-old", "ready", "2026-11-22T03:00:00Z")];
    tr.observe(t("00"), &world(&s, &p, &[]));
    let p = [pod(0, "n", "web-new", "ready", "2026-11-22T03:06:02Z")];
    tr.observe(t("02"), &world(&s, &p, &[]));
    assert_eq!(tr.ordinals[&0].state, OrdinalState::Ready);
    assert!(!tr.done());
    let w = world(&s, &p, &[]);
    assert_eq!(tr.next_wakeup(&w), Some(t("07")), "no event will say it: wake up then");
    tr.observe(t("06"), &w);
    assert!(!tr.done());
    tr.observe(t("07"), &w);
    assert!(tr.done());
    let o = &tr.ordinals[&0];
    assert_eq!(o.new_pod_ready_at, Some(t("02")));
    assert_eq!(o.new_pod_available_at, Some(t("07")));
    assert_eq!(o.state.label(5), "available");
}

#[test]
fn stalls_after_the_deadline_and_names_the_cause() {
    let s = sts(S {
        replicas: 2,
        ..S::default()
    });
    let mut tr = Trace::new(&s, &[], t("00"));
    let mut pods = vec![
        pod(0, "a", "web-old", "ready", "2026-11-22T03:00:00Z"),
        pod(1, "b", "web-old", "ready", "2026-11-22T03:00:00Z"),
    ];
    tr.observe(t("00"), &world(&s, &pods, &[]));
    pods[1] = serde_json::from_value(json!({"metadata": {"name": "web-1", "uid": "n1",
        "labels": {"controller-revision-hash": "web-new"}},
        "status": {"phase": "Running", "containerStatuses": [{"name": "nginx", "ready": false, "restartCount": 3, "image": "", "imageID": "",
          "state": {"waiting": {"reason": "CrashLoopBackOff"}}, "lastState": {"terminated": {"exitCode": 2, "reason": "Error"}}}]}}))
    .unwrap();
    tr.observe(t("02"), &world(&s, &pods, &[]));
    assert_eq!(tr.last_progress, t("02"));
    // Restarts do not count as progress.
    tr.observe(t("20"), &world(&s, &pods, &[]));
    assert!(!tr.stalled(t("20"), Duration::from_secs(30)));
    assert!(tr.stalled(t("32"), Duration::from_secs(30)));
    assert_eq!(tr.progress_deadline_at(Duration::from_secs(30)), t("32"));
    let b = tr.blocking().unwrap();
    assert_eq!(b.ordinal, 1);
    let cause = b.stuck.as_ref().unwrap();
    assert_eq!(cause.reason, "CrashLoopBackOff");
    assert!(cause.message.contains("exit code 2"), "{}", cause.message);
    assert_eq!(
        tr.events.iter().filter(|e| e.event.as_str() == "stuck").count(),
        1,
        "reported once"
    );
    assert!(tr.forced_rollback_hint(b).contains("kubectl delete pod web-1"));
}

#[test]
fn max_unavailable_shows_several_in_flight() {
    let s = sts(S {
        max_unavailable: Some(json!(2)),
        ..S::default()
    });
    assert_eq!(RolloutSpec::of(&s).max_unavailable, 2);
    let mut tr = Trace::new(&s, &[], t("00"));
    let mut pods: Vec<Pod> = (0..3)
        .map(|o| pod(o, &format!("o{o}"), "web-old", "ready", "2026-11-22T03:00:00Z"))
        .collect();
    tr.observe(t("00"), &world(&s, &pods, &[]));
    pods[2] = pod(2, "o2", "web-old", "terminating", "2026-11-22T03:06:01Z");
    pods[1] = pod(1, "o1", "web-old", "terminating", "2026-11-22T03:06:01Z");
    tr.observe(t("01"), &world(&s, &pods, &[]));
    assert_eq!(tr.in_flight().iter().map(|o| o.ordinal).collect::<Vec<_>>(), vec![2, 1]);
    assert_eq!(tr.max_in_flight, 2);
}

#[test]
fn a_new_template_mid_trace_restarts_the_timeline() {
    let s = sts(S {
        replicas: 1,
        ..S::default()
    });
    let mut tr = Trace::new(&s, &[], t("00"));
    let p = [pod(0, "n", "web-new", "ready", "2026-11-22T03:06:00Z")];
    tr.observe(t("00"), &world(&s, &p, &[]));
    let s2 = sts(S {
        replicas: 1,
        current: "web-new",
        update: "web-newer",
        generation: 3,
        observed: 3,
        ..S::default()
    });
    tr.observe(t("05"), &world(&s2, &p, &[]));
    assert!(tr.events.iter().any(|e| e.event.as_str() == "revision"));
    assert_eq!(tr.ordinals[&0].state, OrdinalState::Waiting);
    assert!(!tr.done());
    tr.observe(t("06"), &World::default());
    assert!(tr.sts_gone && !tr.done());
}

#[test]
fn history_in_revision_order_with_images_and_cause() {
    let s = sts(S {
        current: "web-aaa",
        update: "web-ccc",
        ..S::default()
    });
    let revs = [
        revision(
            "web-ccc",
            3,
            "2026-11-22T03:06:40Z",
            "nginx:1.25",
            Some("kubectl set image nginx=nginx:1.25"),
            "sts-uid",
        ),
        revision("web-aaa", 1, "2026-11-22T03:05:39Z", "nginx", None, "sts-uid"),
        revision("web-bbb", 2, "2026-11-22T03:06:27Z", "nginx:1.24", Some(""), "sts-uid"),
        revision("other-1", 1, "2026-11-22T03:06:27Z", "redis", None, "other-uid"),
    ];
    let h = history(&s, &revs);
    assert_eq!(h.iter().map(|r| r.revision).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(h[0].images, vec!["nginx=nginx"]);
    assert_eq!(h[0].hash, "aaa");
    assert!(h[0].current && !h[0].update);
    assert_eq!(h[1].change_cause, None, "an empty annotation is no cause");
    assert_eq!(h[2].change_cause.as_deref(), Some("kubectl set image nginx=nginx:1.25"));
    assert!(h[2].update);
}

#[test]
fn restart_patch_is_what_kubectl_sends() {
    // k8s-reference/kubectl-v8-rollout-restart.log
    let p = restart_patch("2026-11-22T03:06:40.123456Z".parse().unwrap());
    assert_eq!(
        serde_json::to_string(&p).unwrap(),
        r#"{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"2026-11-22T03:06:40Z"}}}}}"#
    );
}

#[test]
fn events_serialize_with_fields() {
    let e = TraceEvent {
        at: t("01"),
        object: "pod/web-2".into(),
        ordinal: Some(2),
        event: crate::model::events::Ev::Updated,
        fields: vec![("duration", "4.0s".into())],
    };
    assert_eq!(
        serde_json::to_value(&e).unwrap(),
        json!({"at": "2026-11-22T03:06:01.000Z", "object": "pod/web-2", "ordinal": 2, "event": "updated", "fields": {"duration": "4.0s"}})
    );
}
