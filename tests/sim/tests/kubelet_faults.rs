//! The kubelet's slow and stuck transitions, driven by pod annotations: a container
//! that ignores SIGTERM (compared field by field with a real v1.26 server's watch
//! streams), image pull timing, volume attach/mount faults with a duration, and the
//! crash loop's brief Ready blip that lets an OrderedReady rollout take down two
//! ordinals.

#[path = "controllers_support.rs"]
mod support;

use std::time::Duration;

use serde_json::{Value, json};
use sts_sim::annotations;
use sts_sim::config::SimConfig;
use sts_sim::store::{EventType, Key};
use support::*;

const PODS_CAPTURE: &str = include_str!("fixtures/watch-pods-sigterm-ignored.jsonl");
const EVENTS_CAPTURE: &str = include_str!("fixtures/watch-events-sigterm-ignored.jsonl");

fn ts(v: &Value) -> Option<jiff::Timestamp> {
    v.as_str()?.parse().ok()
}

/// Seconds from `t0` (as a JSON number), or null.
fn offset(v: &Value, t0: jiff::Timestamp) -> Value {
    ts(v).map_or(Value::Null, |t| json!((t - t0).get_seconds()))
}

/// What a watch event of the pod says about the termination, with times as offsets
/// from the delete and the pod as "old" or "new": the fields the plugin reads.
fn normalize(kind: &str, pod: &Value, t0: jiff::Timestamp, old_uid: &str) -> Value {
    let m = &pod["metadata"];
    let st = &pod["status"];
    let conditions: Vec<Value> = st["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| json!({"type": c["type"], "status": c["status"], "reason": c["reason"], "message": c["message"]}))
        .collect();
    let state = |s: &Value| -> Value {
        let Some((k, v)) = s.as_object().and_then(|o| o.iter().next()) else {
            return json!({});
        };
        json!({k: {"exitCode": v["exitCode"], "reason": v["reason"], "finishedAt": offset(&v["finishedAt"], t0),
                   "startedAt": !v["startedAt"].is_null()}})
    };
    let containers: Vec<Value> = st["containerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            json!({"name": c["name"], "state": state(&c["state"]), "lastState": state(&c["lastState"]),
                   "ready": c["ready"], "started": c["started"], "restartCount": c["restartCount"],
                   "containerID": !c["containerID"].is_null()})
        })
        .collect();
    json!({
        "type": kind,
        "pod": if m["uid"] == old_uid { "old" } else { "new" },
        "deletionTimestamp": offset(&m["deletionTimestamp"], t0),
        "deletionGracePeriodSeconds": m["deletionGracePeriodSeconds"],
        "phase": st["phase"],
        "conditions": conditions,
        "containers": containers,
    })
}

/// The delete time: the first deletionTimestamp minus its grace period.
fn delete_time(pods: &[(String, Value)]) -> (jiff::Timestamp, String) {
    let (_, p) = pods
        .iter()
        .find(|(_, p)| !p["metadata"]["deletionTimestamp"].is_null())
        .expect("a terminating pod");
    let t = ts(&p["metadata"]["deletionTimestamp"]).unwrap();
    let grace = p["metadata"]["deletionGracePeriodSeconds"].as_i64().unwrap();
    (
        t - jiff::SignedDuration::from_secs(grace),
        p["metadata"]["uid"].as_str().unwrap().to_string(),
    )
}

fn normalize_events(evs: &[Value], pods_old_uid: &str, t0: jiff::Timestamp) -> Vec<Value> {
    evs.iter()
        .filter(|e| matches!(e["reason"].as_str(), Some("Killing" | "FailedMount")))
        .map(|e| {
            let msg = e["message"].as_str().unwrap_or("");
            // The token volume's name ends in a random suffix.
            let msg = match msg.find("kube-api-access-") {
                Some(i) => format!("{}kube-api-access-XXXXX{}", &msg[..i], &msg[i + 21..]),
                None => msg.to_string(),
            };
            let first = offset(&e["firstTimestamp"], t0);
            json!({"reason": e["reason"], "type": e["type"], "message": msg,
                   "fieldPath": e["involvedObject"]["fieldPath"], "source": e["source"]["component"],
                   "pod": if e["involvedObject"]["uid"] == pods_old_uid { "old" } else { "new" },
                   // The Killing event is at the delete.
                   "atDelete": if e["reason"] == "Killing" { first } else { Value::Null }})
        })
        .collect()
}

#[tokio::test]
async fn ignored_sigterm_matches_the_v126_capture_field_by_field() {
    // The capture: a StatefulSet pod (container nginx) with grace period 4 s.
    let captured: Vec<(String, Value)> = PODS_CAPTURE
        .lines()
        .map(|l| {
            let e: Value = serde_json::from_str(l).unwrap();
            (e["type"].as_str().unwrap().to_string(), e["object"].clone())
        })
        .collect();
    let (t0, old) = delete_time(&captured);
    let want: Vec<Value> = captured.iter().map(|(k, p)| normalize(k, p, t0, &old)).collect();
    let grace = captured[0].1["metadata"]["deletionGracePeriodSeconds"]
        .as_i64()
        .unwrap();
    let uid_of = |e: &Value| e["object"]["involvedObject"]["uid"].clone();
    let cap_events: Vec<Value> = EVENTS_CAPTURE
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .collect();
    let cap_old = uid_of(&cap_events[0]);
    let cap_events: Vec<Value> = cap_events.iter().map(|e| e["object"].clone()).collect();
    let want_events = normalize_events(&cap_events, cap_old.as_str().unwrap(), t0);
    assert_eq!(want_events.len(), 2, "{want_events:?}");

    let h = start();
    let mut s = sts("web", 1);
    s["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = json!(grace);
    s["spec"]["template"]["metadata"]["annotations"] = json!({
        annotations::IGNORE_SIGTERM: "true",
        annotations::TOKEN_MOUNT_FLAKE: "true",
    });
    h.create_sts(s);
    h.wait_ready(&["web-0"]).await;
    // Events from before the delete (the first pod's start) are not in the capture.
    let earlier: Vec<Value> = h.list("events").iter().map(|e| e["metadata"]["name"].clone()).collect();
    let mut rx = h.store().subscribe();
    let before = tokio::time::Instant::now();
    h.store()
        .delete(&Key::new("pods", NS, "web-0"), None, None, None)
        .unwrap();
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    let mut gone_at = None;
    while got.len() < want.len() {
        let ev = tokio::time::timeout_at(deadline, rx.recv()).await.unwrap().unwrap();
        if ev.key.plural != "pods" || ev.key.name != "web-0" {
            continue;
        }
        if ev.kind == EventType::Deleted {
            gone_at = Some(before.elapsed());
        }
        got.push((ev.kind.as_str().to_string(), (*ev.object).clone()));
    }
    let (s0, sim_old) = delete_time(&got);
    let have: Vec<Value> = got.iter().map(|(k, p)| normalize(k, p, s0, &sim_old)).collect();
    for (i, (w, g)) in want.iter().zip(&have).enumerate() {
        assert_eq!(g, w, "watch event {i} differs from the capture");
    }
    let gone_at = gone_at.unwrap();
    assert!(
        gone_at >= Duration::from_secs(grace as u64 - 1),
        "deleted after {gone_at:?}: the whole grace period must pass"
    );
    let new_uid = got.last().unwrap().1["metadata"]["uid"].as_str().unwrap().to_string();
    let evs = h
        .wait("the replacement's FailedMount", |h| {
            let evs: Vec<Value> = h
                .list("events")
                .iter()
                .map(|e| (**e).clone())
                .filter(|e| !earlier.contains(&e["metadata"]["name"]))
                .filter(|e| e["involvedObject"]["uid"] == sim_old || e["involvedObject"]["uid"] == new_uid)
                .collect();
            evs.iter().any(|e| e["reason"] == "FailedMount").then_some(evs)
        })
        .await;
    assert_eq!(normalize_events(&evs, &sim_old, s0), want_events);
}

#[tokio::test]
async fn handled_sigterm_exits_0_completed_at_once() {
    let h = start();
    h.create_sts(sts("web", 1));
    h.wait_ready(&["web-0"]).await;
    let mut rx = h.store().subscribe();
    let before = tokio::time::Instant::now();
    h.store()
        .delete(&Key::new("pods", NS, "web-0"), None, None, None)
        .unwrap();
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    let mut terminated = None;
    loop {
        let ev = tokio::time::timeout_at(deadline, rx.recv()).await.unwrap().unwrap();
        if ev.key.name != "web-0" || ev.key.plural != "pods" {
            continue;
        }
        let t = &ev.object["status"]["containerStatuses"][0]["state"]["terminated"];
        if terminated.is_none() && t.is_object() {
            terminated = Some(t.clone());
        }
        if ev.kind == EventType::Deleted {
            break;
        }
    }
    let t = terminated.expect("a terminated state");
    assert_eq!(t["exitCode"], 0);
    assert_eq!(t["reason"], "Completed");
    // Far below the 30 s grace period.
    assert!(before.elapsed() < Duration::from_secs(10));
}

fn event_messages(h: &Harness, reason: &str) -> Vec<String> {
    h.list("events")
        .iter()
        .filter(|e| e["reason"] == reason)
        .map(|e| e["message"].as_str().unwrap_or("").to_string())
        .collect()
}

fn with(name: &str, anns: Value) -> Value {
    let mut s = sts(name, 1);
    s["spec"]["template"]["metadata"]["annotations"] = anns;
    s
}

fn waiting_reason(p: &Value) -> Option<String> {
    p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"]
        .as_str()
        .map(str::to_string)
}

#[tokio::test]
async fn image_pull_takes_the_configured_time() {
    let h = start();
    h.create_sts(with("slow", json!({annotations::IMAGE_PULL_SECONDS: "1.5s"})));
    let started = tokio::time::Instant::now();
    let p = h
        .wait("Pulling", |h| {
            let p = h.get("pods", "slow-0")?;
            (!event_messages(h, "Pulling").is_empty()).then_some(p)
        })
        .await;
    assert_eq!(
        event_messages(&h, "Pulling"),
        vec!["Pulling image \"nginx\"".to_string()]
    );
    assert_eq!(waiting_reason(&p).as_deref(), Some("ContainerCreating"));
    h.wait_ready(&["slow-0"]).await;
    assert!(started.elapsed() >= Duration::from_millis(1500));
    let pulled = event_messages(&h, "Pulled");
    assert_eq!(pulled.len(), 1, "{pulled:?}");
    let m = &pulled[0];
    assert!(
        m.starts_with("Successfully pulled image \"nginx\" in 1.5s (1.5")
            && m.contains("s including waiting). Image size: "),
        "{m}"
    );
    assert!(m.ends_with(" bytes."), "{m}");

    // Without the annotation the image is already there.
    h.create_sts(sts("fast", 1));
    h.wait_ready(&["fast-0", "slow-0"]).await;
    assert!(event_messages(&h, "Pulled").contains(&"Container image \"nginx\" already present on machine".to_string()));
    assert_eq!(event_messages(&h, "Pulling").len(), 1);
}

#[tokio::test]
async fn image_pull_failure_still_backs_off() {
    let h = start();
    h.create_sts(with(
        "nopull",
        json!({annotations::IMAGE_PULL_FAIL: "true", annotations::IMAGE_PULL_SECONDS: "100ms"}),
    ));
    h.wait("ImagePullBackOff", |h| {
        (waiting_reason(&*h.get("pods", "nopull-0")?)? == "ImagePullBackOff").then_some(())
    })
    .await;
    assert!(event_messages(&h, "Failed").contains(&"Error: ErrImagePull".to_string()));
}

fn pv_of(h: &Harness, claim: &str) -> String {
    h.get("persistentvolumeclaims", claim).unwrap()["spec"]["volumeName"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn attach_failure_holds_the_pod_then_resolves() {
    let h = start();
    h.create_sts(with("att", json!({annotations::ATTACH_FAIL: "2s"})));
    let started = tokio::time::Instant::now();
    h.wait("FailedAttachVolume", |h| {
        (!event_messages(h, "FailedAttachVolume").is_empty()).then_some(())
    })
    .await;
    let p = h.get("pods", "att-0").unwrap();
    assert_eq!(p["status"]["phase"], "Pending");
    assert_eq!(waiting_reason(&p).as_deref(), Some("ContainerCreating"));
    let pv = pv_of(&h, "data-att-0");
    assert_eq!(
        event_messages(&h, "FailedAttachVolume")[0],
        format!(
            "AttachVolume.Attach failed for volume \"{pv}\" : rpc error: code = DeadlineExceeded desc = context deadline exceeded"
        )
    );
    h.wait_ready(&["att-0"]).await;
    assert!(started.elapsed() >= Duration::from_secs(2));
    assert_eq!(
        event_messages(&h, "SuccessfulAttachVolume"),
        vec![format!("AttachVolume.Attach succeeded for volume \"{pv}\" ")]
    );
    assert!(event_messages(&h, "FailedMount").contains(
        &"Unable to attach or mount volumes: unmounted volumes=[data], unattached volumes=[data]: timed out waiting for the condition"
            .to_string()
    ));
    let e = h
        .list("events")
        .into_iter()
        .find(|e| e["reason"] == "FailedAttachVolume")
        .unwrap();
    assert_eq!(e["source"]["component"], "attachdetach-controller");
    assert_eq!(e["type"], "Warning");
}

#[tokio::test]
async fn multi_attach_forever_never_resolves() {
    let h = start();
    h.create_sts(with("rwo", json!({annotations::MULTI_ATTACH: "forever"})));
    // Retried: the event's count grows while the pod stays ContainerCreating.
    h.wait("three Multi-Attach tries", |h| {
        h.list("events")
            .iter()
            .any(|e| e["reason"] == "FailedAttachVolume" && e["count"].as_i64() >= Some(3))
            .then_some(())
    })
    .await;
    let pv = pv_of(&h, "data-rwo-0");
    assert_eq!(
        event_messages(&h, "FailedAttachVolume"),
        vec![format!(
            "Multi-Attach error for volume \"{pv}\" Volume is already exclusively attached to one node and can't be attached to another"
        )]
    );
    let p = h.get("pods", "rwo-0").unwrap();
    assert_eq!(waiting_reason(&p).as_deref(), Some("ContainerCreating"));
    assert!(event_messages(&h, "SuccessfulAttachVolume").is_empty());
}

#[tokio::test]
async fn mount_failure_holds_the_pod_then_resolves() {
    let h = start();
    h.create_sts(with("mnt", json!({annotations::MOUNT_FAIL: "1500ms"})));
    let started = tokio::time::Instant::now();
    h.wait("FailedMount", |h| {
        (!event_messages(h, "FailedMount").is_empty()).then_some(())
    })
    .await;
    assert_eq!(
        waiting_reason(&h.get("pods", "mnt-0").unwrap()).as_deref(),
        Some("ContainerCreating")
    );
    h.wait_ready(&["mnt-0"]).await;
    assert!(started.elapsed() >= Duration::from_millis(1500));
    let pv = pv_of(&h, "data-mnt-0");
    let msgs = event_messages(&h, "FailedMount");
    assert!(msgs.contains(&format!(
        "MountVolume.SetUp failed for volume \"{pv}\" : rpc error: code = Internal desc = mount failed: exit status 32"
    )));
    assert!(msgs.contains(
        &"Unable to attach or mount volumes: unmounted volumes=[data], unattached volumes=[]: timed out waiting for the condition"
            .to_string()
    ));
    assert!(event_messages(&h, "FailedAttachVolume").is_empty());
}

fn restarts(p: &Value) -> i64 {
    p["status"]["containerStatuses"][0]["restartCount"]
        .as_i64()
        .unwrap_or(0)
}

#[tokio::test]
async fn crash_loop_is_briefly_ready_then_backs_off() {
    let h = start();
    let mut rx = h.store().subscribe();
    h.create_sts(with(
        "crash",
        json!({annotations::CRASH_LOOP: "2", annotations::CRASH_AFTER: "200ms"}),
    ));
    // Record the pod's states until it has restarted twice.
    let mut seen: Vec<(bool, String, i64)> = Vec::new();
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let ev = tokio::time::timeout_at(deadline, rx.recv()).await.unwrap().unwrap();
        if ev.key.name != "crash-0" || ev.key.plural != "pods" {
            continue;
        }
        let p = &ev.object;
        let state = p["status"]["containerStatuses"][0]["state"]
            .as_object()
            .and_then(|o| o.keys().next().cloned())
            .unwrap_or_default();
        let state = match waiting_reason(p) {
            Some(r) => r,
            None => state,
        };
        let step = (ready(p), state, restarts(p));
        if seen.last() != Some(&step) {
            seen.push(step);
        }
        if restarts(p) >= 2 && ready(p) {
            break;
        }
    }
    let s = |r: bool, st: &str, n: i64| (r, st.to_string(), n);
    let from = seen.iter().position(|x| x.1 == "running").unwrap();
    assert_eq!(
        seen[from..].to_vec(),
        vec![
            // The brief Ready blip: no readiness probe, so running means Ready.
            s(true, "running", 0),
            s(false, "terminated", 0),
            // The first restart is immediate.
            s(true, "running", 1),
            s(false, "terminated", 1),
            s(false, "CrashLoopBackOff", 1),
            s(true, "running", 2),
        ],
        "{seen:?}"
    );
    let p = h.get("pods", "crash-0").unwrap();
    assert_eq!(
        p["status"]["containerStatuses"][0]["lastState"]["terminated"]["exitCode"],
        2
    );
    let backoff = event_messages(&h, "BackOff");
    let uid = p["metadata"]["uid"].as_str().unwrap();
    assert_eq!(
        backoff,
        vec![format!(
            "Back-off restarting failed container nginx in pod crash-0_default({uid})"
        )]
    );
}

#[tokio::test]
async fn crash_loop_with_a_readiness_probe_is_never_ready() {
    let h = start();
    let mut s = with(
        "probed",
        json!({annotations::CRASH_LOOP: "true", annotations::CRASH_AFTER: "200ms"}),
    );
    s["spec"]["template"]["spec"]["containers"][0]["readinessProbe"] = json!({"tcpSocket": {"port": 80}});
    let mut rx = h.store().subscribe();
    h.create_sts(s);
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let ev = tokio::time::timeout_at(deadline, rx.recv()).await.unwrap().unwrap();
        if ev.key.name != "probed-0" || ev.key.plural != "pods" {
            continue;
        }
        assert!(
            !ready(&ev.object),
            "a crashing container with a readiness probe was Ready"
        );
        if restarts(&ev.object) >= 2 {
            break;
        }
    }
}

fn revision(p: &Value) -> String {
    p["metadata"]["labels"]["controller-revision-hash"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

/// A crash-on-start template rolled out to 3 ordinals: how many pods the controller
/// replaced once the rollout is stuck (each bad pod has restarted twice), and whether
/// web-0 was ever deleted.
async fn broken_rollout(probe: bool) -> (Vec<String>, bool) {
    // Old pods take a second to stop, so the replacement's blip comes after web-2's.
    let h = start_with(SimConfig {
        pod_start_delay: Duration::from_millis(10),
        pod_ready_delay: Duration::from_millis(10),
        termination_delay: Duration::from_secs(1),
        ..SimConfig::default()
    });
    h.create_sts(sts("web", 3));
    h.wait_ready(&["web-0", "web-1", "web-2"]).await;
    let old = revision(&h.get("pods", "web-0").unwrap());
    let mut rx = h.store().subscribe();
    h.edit_sts("web", |s| {
        let t = &mut s["spec"]["template"];
        t["metadata"]["annotations"] = json!({annotations::CRASH_LOOP: "2", annotations::CRASH_AFTER: "200ms",
                                              annotations::CRASH_MESSAGE: "boom"});
        if probe {
            t["spec"]["containers"][0]["readinessProbe"] = json!({"tcpSocket": {"port": 80}});
        }
    });
    let mut web0_deleted = false;
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let bad: Vec<Value> = h
            .list("pods")
            .iter()
            .filter(|p| revision(p) != old)
            .map(|p| (**p).clone())
            .collect();
        if !bad.is_empty() && bad.iter().all(|p| restarts(p) >= 2) {
            let mut names: Vec<String> = bad
                .iter()
                .map(|p| p["metadata"]["name"].as_str().unwrap().to_string())
                .collect();
            names.sort();
            return (names, web0_deleted);
        }
        let ev = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("rollout: {:?}", h.pod_summary()))
            .unwrap();
        if ev.key.plural == "pods" && ev.key.name == "web-0" && !ev.object["metadata"]["deletionTimestamp"].is_null() {
            web0_deleted = true;
        }
    }
}

#[tokio::test]
async fn broken_rollout_without_readiness_probe_takes_down_two_ordinals() {
    let (bad, web0_deleted) = broken_rollout(false).await;
    assert_eq!(bad, vec!["web-1".to_string(), "web-2".to_string()]);
    assert!(!web0_deleted);
}

#[tokio::test]
async fn broken_rollout_with_readiness_probe_takes_down_one() {
    let (bad, web0_deleted) = broken_rollout(true).await;
    assert_eq!(bad, vec!["web-2".to_string()]);
    assert!(!web0_deleted);
}

#[tokio::test]
async fn ignored_sigterm_is_killed_earlier_when_the_grace_period_is_shortened() {
    let h = start();
    let mut s = with("deaf", json!({annotations::IGNORE_SIGTERM: "true"}));
    s["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = json!(30);
    h.create_sts(s);
    h.wait_ready(&["deaf-0"]).await;
    let key = Key::new("pods", NS, "deaf-0");
    let uid = h.get("pods", "deaf-0").unwrap()["metadata"]["uid"].clone();
    let before = tokio::time::Instant::now();
    h.store().delete(&key, None, None, None).unwrap();
    let p = h.get("pods", "deaf-0").unwrap();
    assert_eq!(p["metadata"]["deletionGracePeriodSeconds"], 30);
    assert!(ready(&p), "still Ready while ignoring SIGTERM");
    let mut rx = h.store().subscribe();
    h.store().delete(&key, Some(1), None, None).unwrap();
    let deadline = h.get("pods", "deaf-0").unwrap()["metadata"]["deletionTimestamp"].clone();
    let until = tokio::time::Instant::now() + TIMEOUT;
    let t = loop {
        let ev = tokio::time::timeout_at(until, rx.recv()).await.unwrap().unwrap();
        if ev.key != key || ev.object["metadata"]["uid"] != uid {
            continue;
        }
        let t = &ev.object["status"]["containerStatuses"][0]["state"]["terminated"];
        if t.is_object() {
            break t.clone();
        }
    };
    // Killed at the new deadline, one second after the delete: not at once, not after 30 s.
    let took = before.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(10),
        "{took:?}"
    );
    assert_eq!(t["exitCode"], 137);
    assert_eq!(t["reason"], "Error");
    assert_eq!(t["finishedAt"], deadline);
}

#[tokio::test]
async fn crash_loop_without_crash_after_is_never_running_or_ready() {
    let h = start();
    let mut rx = h.store().subscribe();
    h.create_sts(with("instant", json!({annotations::CRASH_LOOP: "true"})));
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let ev = tokio::time::timeout_at(deadline, rx.recv()).await.unwrap().unwrap();
        if ev.key.name != "instant-0" || ev.key.plural != "pods" {
            continue;
        }
        assert!(!ready(&ev.object));
        assert!(!running(&ev.object), "reported running: {}", ev.object["status"]);
        if restarts(&ev.object) >= 2 && waiting_reason(&ev.object).as_deref() == Some("CrashLoopBackOff") {
            break;
        }
    }
}

fn running(p: &Value) -> bool {
    p["status"]["containerStatuses"][0]["state"]["running"].is_object()
}
