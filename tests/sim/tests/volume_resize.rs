//! Volume expansion of a StatefulSet's claims: the expand controller, the CSI
//! external-resizer (with the backend's delay) and the kubelet's online file system
//! expansion, as their status conditions and events show it; a claim no pod mounts
//! waits in FileSystemResizePending; the offline-only driver and the failing backend
//! faults (sts-sim.dev/resize-needs-restart, sts-sim.dev/resize-fail).

#[path = "resize_support.rs"]
mod support;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use sts_sim::store::{EventType, WatchEvent};
use sts_sim::{Sim, SimConfig};
use support::*;

const PENDING: &str = "Waiting for user to (re-)start a pod to finish file system resize of volume on node.";

async fn patch(sim: &Sim, plural: &str, name: &str, body: Value) {
    let (code, got) = raw(
        sim,
        "PATCH",
        &path(plural, name),
        Some("application/merge-patch+json"),
        body,
    )
    .await;
    assert_eq!(code, 200, "{got}");
}

async fn grow(sim: &Sim, claim: &str, size: &str) {
    patch(
        sim,
        "persistentvolumeclaims",
        claim,
        json!({"spec": {"resources": {"requests": {"storage": size}}}}),
    )
    .await;
}

async fn annotate(sim: &Sim, claim: &str, key: &str, value: Value) {
    patch(
        sim,
        "persistentvolumeclaims",
        claim,
        json!({"metadata": {"annotations": {key: value}}}),
    )
    .await;
}

fn claim(sim: &Sim, n: &str) -> Arc<Value> {
    get(sim, "persistentvolumeclaims", n).unwrap()
}

fn pv_of(sim: &Sim, c: &Value) -> Arc<Value> {
    sim.ctx()
        .store
        .get(&sts_sim::store::Key::new(
            "persistentvolumes",
            "",
            c["spec"]["volumeName"].as_str().unwrap(),
        ))
        .unwrap()
}

async fn wait_capacity(sim: &Sim, n: &str, size: &str) -> Arc<Value> {
    wait(sim, &format!("{n} capacity {size}"), |s| {
        get(s, "persistentvolumeclaims", n).filter(|c| c["status"]["capacity"]["storage"] == size)
    })
    .await
}

fn condition<'a>(c: &'a Value, t: &str) -> Option<&'a Value> {
    c["status"]["conditions"].as_array()?.iter().find(|x| x["type"] == t)
}

/// The core/v1 events about an object: (reason, message, source.component, type).
fn events_about(sim: &Sim, o: &Value) -> Vec<(String, String, String, String)> {
    let s = |v: &Value| v.as_str().unwrap_or("").to_string();
    list(sim, "events")
        .iter()
        .filter(|e| e["involvedObject"]["uid"] == o["metadata"]["uid"])
        .map(|e| {
            (
                s(&e["reason"]),
                s(&e["message"]),
                s(&e["source"]["component"]),
                s(&e["type"]),
            )
        })
        .collect()
}

/// The claim's status at each of its writes.
fn claim_statuses(evs: &[WatchEvent], n: &str) -> Vec<Value> {
    evs.iter()
        .filter(|e| e.key.plural == "persistentvolumeclaims" && e.key.name == n)
        .map(|e| e.object["status"].clone())
        .collect()
}

fn index(evs: &[WatchEvent], what: &str, f: impl Fn(&WatchEvent) -> bool) -> usize {
    evs.iter().position(f).unwrap_or_else(|| panic!("no {what}"))
}

#[tokio::test]
async fn a_mounted_claim_grows_online_with_the_real_conditions_and_events() {
    let sim = start(SimConfig::default()).await;
    create_web(&sim, "20Gi").await;
    let pod_uid = uid(&get(&sim, "pods", "web-0").unwrap()).to_string();
    let mut rx = sim.ctx().store.subscribe();
    grow(&sim, "disk-ssd-web-0", "30Gi").await;
    let done = wait_capacity(&sim, "disk-ssd-web-0", "30Gi").await;
    let evs = drain(&mut rx);
    check_resize_statuses(&evs);
    // MarkFSResizeFinished: capacity, conditions and statuses cleared; allocatedResources kept.
    assert!(done["status"].get("conditions").is_none(), "{}", done["status"]);
    assert!(done["status"].get("allocatedResourceStatuses").is_none());
    assert_eq!(done["status"]["allocatedResources"]["storage"], "30Gi");
    assert_eq!(pv_of(&sim, &done)["spec"]["capacity"]["storage"], "30Gi");

    check_resize_events(&sim, &done);
    let pod = get(&sim, "pods", "web-0").unwrap();
    // Online: the pod was never restarted.
    assert_eq!(uid(&pod), pod_uid);
    assert!(
        evs.iter()
            .all(|e| e.key.plural != "pods" || e.kind == EventType::Modified)
    );
}

/// The claim's statuses and the PV's growth, in the order the resizer writes them.
fn check_resize_statuses(evs: &[WatchEvent]) {
    let statuses = claim_statuses(evs, "disk-ssd-web-0");
    // markControllerResizeInProgress: Resizing, allocatedResources, ControllerResizeInProgress.
    let resizing = statuses
        .iter()
        .find(|s| s["allocatedResourceStatuses"]["storage"] == "ControllerResizeInProgress")
        .expect("controller resize in progress");
    assert_eq!(resizing["allocatedResources"]["storage"], "30Gi");
    assert_eq!(resizing["capacity"]["storage"], "20Gi");
    let c = &resizing["conditions"][0];
    assert_eq!(
        (c["type"].as_str(), c["status"].as_str()),
        (Some("Resizing"), Some("True"))
    );
    assert!(
        c["lastProbeTime"].is_null() && c["lastTransitionTime"].is_string(),
        "{c}"
    );
    assert_eq!(resizing["conditions"].as_array().unwrap().len(), 1);
    // markForPendingNodeExpansion after the PV grew, then the kubelet.
    let pending = statuses
        .iter()
        .find(|s| s["allocatedResourceStatuses"]["storage"] == "NodeResizePending")
        .expect("node resize pending");
    let fs = pending["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "FileSystemResizePending")
        .unwrap();
    assert_eq!(fs["message"], PENDING);
    assert!(
        statuses
            .iter()
            .any(|s| s["allocatedResourceStatuses"]["storage"] == "NodeResizeInProgress")
    );
    let pv_grew = index(evs, "PV growth", |e| {
        e.key.plural == "persistentvolumes" && e.object["spec"]["capacity"]["storage"] == "30Gi"
    });
    let marked = index(evs, "pending mark", |e| {
        e.key.plural == "persistentvolumeclaims"
            && e.object["status"]["allocatedResourceStatuses"]["storage"] == "NodeResizePending"
    });
    assert!(pv_grew < marked);
}

/// The events of the expand controller, the resizer and the kubelet (on the claim
/// and on the pod that mounts it).
fn check_resize_events(sim: &Sim, done: &Value) {
    let pv = pv_of(sim, done);
    let pv_name = pv["metadata"]["name"].as_str().unwrap();
    let node_msg = format!("MountVolume.NodeExpandVolume succeeded for volume \"{pv_name}\" sts-sim-node-1");
    let want = |r: &str, m: &str, c: &str| (r.to_string(), m.to_string(), c.to_string(), "Normal".to_string());
    let got = events_about(sim, done);
    for e in [
        want(
            "ExternalExpanding",
            "waiting for an external controller to expand this PVC",
            "volume_expand",
        ),
        want(
            "Resizing",
            &format!("External resizer is resizing volume {pv_name}"),
            "external-resizer sts-sim.dev/hostpath",
        ),
        want(
            "FileSystemResizeRequired",
            "Require file system resize of volume on node",
            "external-resizer sts-sim.dev/hostpath",
        ),
        want("FileSystemResizeSuccessful", &node_msg, "kubelet"),
    ] {
        assert!(got.contains(&e), "{e:?} not in {got:#?}");
    }
    let pod = get(sim, "pods", "web-0").unwrap();
    assert!(events_about(sim, &pod).contains(&want("FileSystemResizeSuccessful", &node_msg, "kubelet")));
}

#[tokio::test]
async fn the_backend_delay_comes_from_the_config_or_the_claim() {
    let sim = start(SimConfig {
        resize_delay: Duration::from_millis(20),
        ..SimConfig::default()
    })
    .await;
    create_web(&sim, "20Gi").await;
    annotate(&sim, "disk-ssd-web-1", "sts-sim.dev/resize-seconds", json!("1s")).await;
    for c in ["disk-ssd-web-0", "disk-ssd-web-1"] {
        grow(&sim, c, "30Gi").await;
    }
    let started = tokio::time::Instant::now();
    wait_capacity(&sim, "disk-ssd-web-0", "30Gi").await;
    assert!(
        claim(&sim, "disk-ssd-web-1")["status"]["capacity"]["storage"] == "20Gi",
        "the 1s claim finished with the 20ms one"
    );
    wait_capacity(&sim, "disk-ssd-web-1", "30Gi").await;
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_claim_no_pod_mounts_waits_in_file_system_resize_pending() {
    let sim = start(SimConfig::default()).await;
    create_web(&sim, "20Gi").await;
    patch(&sim, "statefulsets", "web", json!({"spec": {"replicas": 1}})).await;
    wait(&sim, "web-1 gone", |s| get(s, "pods", "web-1").is_none().then_some(())).await;
    grow(&sim, "disk-ssd-web-1", "30Gi").await;
    let c = wait(&sim, "FileSystemResizePending", |s| {
        let c = get(s, "persistentvolumeclaims", "disk-ssd-web-1")?;
        condition(&c, "FileSystemResizePending").is_some().then_some(c)
    })
    .await;
    assert_eq!(pv_of(&sim, &c)["spec"]["capacity"]["storage"], "30Gi");
    assert_eq!(c["status"]["capacity"]["storage"], "20Gi");
    assert_eq!(condition(&c, "FileSystemResizePending").unwrap()["message"], PENDING);
    // A pod mounts it again: the kubelet finishes, only once that pod runs.
    let mut rx = sim.ctx().store.subscribe();
    patch(&sim, "statefulsets", "web", json!({"spec": {"replicas": 2}})).await;
    wait_capacity(&sim, "disk-ssd-web-1", "30Gi").await;
    let evs = drain(&mut rx);
    let running = index(&evs, "web-1 running", |e| {
        e.key.name == "web-1" && e.object["status"]["phase"] == "Running"
    });
    let finished = index(&evs, "capacity 30Gi", |e| {
        e.key.name == "disk-ssd-web-1" && e.object["status"]["capacity"]["storage"] == "30Gi"
    });
    assert!(running < finished);
}

#[tokio::test]
async fn an_offline_only_driver_finishes_when_the_pod_is_recreated() {
    let sim = start(SimConfig::default()).await;
    create_web(&sim, "20Gi").await;
    let old_pod = get(&sim, "pods", "web-0").unwrap();
    annotate(
        &sim,
        "disk-ssd-web-0",
        "sts-sim.dev/resize-needs-restart",
        json!("true"),
    )
    .await;
    grow(&sim, "disk-ssd-web-0", "30Gi").await;
    wait(&sim, "FileSystemResizePending", |s| {
        let c = get(s, "persistentvolumeclaims", "disk-ssd-web-0")?;
        condition(&c, "FileSystemResizePending").map(|_| ())
    })
    .await;
    // A write to the claim makes every controller look again: still pending.
    annotate(&sim, "disk-ssd-web-0", "touch", json!("1")).await;
    let (code, body) = raw(&sim, "DELETE", &path("pods", "web-0"), None, Value::Null).await;
    assert_eq!(code, 200, "{body}");
    let done = wait_capacity(&sim, "disk-ssd-web-0", "30Gi").await;
    let new_pod = get(&sim, "pods", "web-0").unwrap();
    assert_ne!(uid(&new_pod), uid(&old_pod));
    let on = |p: &Value| {
        events_about(&sim, p)
            .iter()
            .any(|e| e.0 == "FileSystemResizeSuccessful")
    };
    assert!(on(&new_pod) && !on(&old_pod), "the expansion is the new pod's mount");
    assert!(done["status"].get("conditions").is_none());
}

#[tokio::test]
async fn a_failing_backend_repeats_volume_resize_failed_and_never_grows() {
    let sim = start(SimConfig {
        resize_delay: Duration::from_millis(20),
        ..SimConfig::default()
    })
    .await;
    create_web(&sim, "20Gi").await;
    annotate(
        &sim,
        "disk-ssd-web-0",
        "sts-sim.dev/resize-fail",
        json!("disk quota exceeded"),
    )
    .await;
    grow(&sim, "disk-ssd-web-0", "30Gi").await;
    let err = "rpc error: code = Internal desc = disk quota exceeded";
    let failures = |s: &Sim| {
        let c = claim(s, "disk-ssd-web-0");
        list(s, "events")
            .iter()
            .find(|e| e["involvedObject"]["uid"] == c["metadata"]["uid"] && e["reason"] == "VolumeResizeFailed")
            .map(|e| {
                (
                    e["count"].as_i64().unwrap_or(0),
                    e["type"].clone(),
                    e["message"].clone(),
                )
            })
    };
    let (_, type_, msg) = wait(&sim, "VolumeResizeFailed twice", |s| failures(s).filter(|f| f.0 >= 2)).await;
    let c = claim(&sim, "disk-ssd-web-0");
    let pv = pv_of(&sim, &c);
    assert_eq!(type_, "Warning");
    let pv_name = pv["metadata"]["name"].as_str().unwrap();
    assert_eq!(
        msg,
        format!("resize volume \"{pv_name}\" by resizer \"sts-sim.dev/hostpath\" failed: {err}")
    );
    assert_eq!(condition(&c, "Resizing").unwrap()["status"], "True");
    assert_eq!(
        condition(&c, "ControllerResizeError").unwrap()["message"],
        format!("failed to expand pvc with {err}")
    );
    assert_eq!(
        c["status"]["allocatedResourceStatuses"]["storage"],
        "ControllerResizeInProgress"
    );
    assert_eq!(c["status"]["capacity"]["storage"], "20Gi");
    assert_eq!(pv["spec"]["capacity"]["storage"], "20Gi");
    // The backend recovers: the next retry goes through.
    patch(
        &sim,
        "persistentvolumeclaims",
        "disk-ssd-web-0",
        json!({"metadata": {"annotations": {"sts-sim.dev/resize-fail": null}}}),
    )
    .await;
    let done = wait_capacity(&sim, "disk-ssd-web-0", "30Gi").await;
    assert!(done["status"].get("conditions").is_none());
}
