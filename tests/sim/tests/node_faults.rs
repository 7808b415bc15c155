//! The node's side of slow and stuck pods: a kubelet that stops (the node lifecycle
//! controller's Unknown conditions, taints and MarkPodsNotReady; a deleted pod that
//! stays Terminating until the kubelet is back) and a volume pinned to a node or zone
//! the pod cannot go to (the scheduler's FailedScheduling).

#[path = "resize_support.rs"]
mod support;

use std::time::Duration;

use serde_json::{Value, json};
use sts_sim::annotations;
use sts_sim::store::Key;
use sts_sim::{Sim, SimConfig};
use support::*;

const NODE: &str = "sts-sim-node-1";
const PREEMPTION: &str = "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.";

fn node(sim: &Sim) -> Value {
    (*sim.ctx().store.get(&Key::new("nodes", "", NODE)).unwrap()).clone()
}

fn condition<'a>(obj: &'a Value, t: &str) -> &'a Value {
    obj["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == t))
        .unwrap_or(&Value::Null)
}

/// `kubectl annotate node`: a merge patch of the Node's annotations (null removes).
async fn annotate_node(sim: &Sim, value: Value) {
    let patch = json!({"metadata": {"annotations": {annotations::KUBELET_STOPPED: value}}});
    let (code, body) = raw(
        sim,
        "PATCH",
        &format!("/api/v1/nodes/{NODE}"),
        Some("application/merge-patch+json"),
        patch,
    )
    .await;
    assert_eq!(code, 200, "{body}");
}

async fn wait_node_ready(sim: &Sim, status: &str) -> Value {
    wait(sim, &format!("node Ready={status}"), |s| {
        let n = node(s);
        (condition(&n, "Ready")["status"] == status).then_some(n)
    })
    .await
}

/// Messages of the events with `reason` about `kind`/`name`, in `ns`.
fn events(sim: &Sim, ns: &str, kind: &str, name: &str, reason: &str) -> Vec<(String, String, String)> {
    sim.ctx()
        .store
        .list("events", Some(ns))
        .0
        .iter()
        .filter(|e| e["involvedObject"]["kind"] == kind && e["involvedObject"]["name"] == name && e["reason"] == reason)
        .map(|e| {
            let s = |v: &Value| v.as_str().unwrap_or("").to_string();
            (s(&e["type"]), s(&e["message"]), s(&e["source"]["component"]))
        })
        .collect()
}

fn assert_node_lost(n: &Value) {
    for t in ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"] {
        let c = condition(n, t);
        assert_eq!(c["status"], "Unknown", "{t}: {c}");
        assert_eq!(c["reason"], "NodeStatusUnknown", "{t}: {c}");
        assert_eq!(c["message"], "Kubelet stopped posting node status.", "{t}: {c}");
    }
    let taints: Vec<(String, String)> = n["spec"]["taints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            assert!(t["timeAdded"].is_string(), "{t}");
            (t["key"].as_str().unwrap().into(), t["effect"].as_str().unwrap().into())
        })
        .collect();
    let key = "node.kubernetes.io/unreachable".to_string();
    assert_eq!(
        taints,
        vec![(key.clone(), "NoExecute".into()), (key, "NoSchedule".into())]
    );
}

/// A bare pod on no node yet: the scheduler must place it.
async fn create_loner(sim: &Sim) {
    let pod = json!({"metadata": {"name": "loner"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}});
    let (code, body) = raw(sim, "POST", &format!("/api/v1/namespaces/{NS}/pods"), None, pod).await;
    assert_eq!(code, 201, "{body}");
}

#[tokio::test]
async fn a_stopped_kubelet_leaves_the_node_unknown_and_a_deleted_pod_terminating() {
    let sim = start(SimConfig::default()).await;
    create_web(&sim, "1Gi").await;
    annotate_node(&sim, json!("true")).await;
    let n = wait_node_ready(&sim, "Unknown").await;
    assert_node_lost(&n);
    let msg = format!("Node {NODE} status is now: NodeNotReady");
    assert_eq!(
        events(&sim, "default", "Node", NODE, "NodeNotReady"),
        vec![("Normal".into(), msg, "node-controller".into())]
    );
    wait(&sim, "both pods marked not ready", |s| {
        ["web-0", "web-1"]
            .iter()
            .all(|p| get(s, "pods", p).is_some_and(|p| condition(&p, "Ready")["status"] == "False"))
            .then_some(())
    })
    .await;
    let ev = events(&sim, NS, "Pod", "web-0", "NodeNotReady");
    assert_eq!(
        ev,
        vec![("Warning".into(), "Node is not ready".into(), "node-controller".into())]
    );
    assert_kubelet_unreachable(&sim).await;

    // A deleted pod stays Terminating: nobody confirms its containers stopped.
    let old = get(&sim, "pods", "web-1").unwrap();
    let (code, body) = raw(&sim, "DELETE", &path("pods", "web-1"), None, Value::Null).await;
    assert_eq!(code, 200, "{body}");
    let gone_or_replaced = sim
        .ctx()
        .store
        .wait_for(Duration::from_secs(2), || {
            get(&sim, "pods", "web-1")
                .is_none_or(|p| uid(&p) != uid(&old))
                .then_some(())
        })
        .await;
    assert!(gone_or_replaced.is_none(), "the pod went away without its kubelet");
    let p = get(&sim, "pods", "web-1").unwrap();
    assert!(p["metadata"]["deletionTimestamp"].is_string(), "{p}");
    assert_eq!(p["status"]["phase"], "Running", "no kubelet wrote its end: {p}");

    // A new pod fits no node: the unreachable taints.
    create_loner(&sim).await;
    let why = wait(&sim, "loner unschedulable", |s| {
        let p = get(s, "pods", "loner")?;
        let c = condition(&p, "PodScheduled").clone();
        (c["status"] == "False").then_some(c)
    })
    .await;
    let want = format!("0/1 nodes are available: 1 node(s) had untolerated taint(s). {PREEMPTION}");
    assert_eq!(why["message"], want.as_str());

    kubelet_back(&sim, &old).await;
}

/// The WebSocket handshake of `kubectl exec POD -- true`: Ok when the exec stream
/// opens, else the HTTP status and body.
async fn exec_handshake(sim: &Sim, pod: &str) -> Result<(), (u16, Value)> {
    use tokio_tungstenite::tungstenite::{self, client::IntoClientRequest};
    let url = format!(
        "ws://{}/api/v1/namespaces/{NS}/pods/{pod}/exec?command=true&stdout=true",
        sim.addr()
    );
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", "v5.channel.k8s.io".parse().unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Ok(_) => Ok(()),
        Err(tungstenite::Error::Http(resp)) => {
            let body = resp.body().as_deref().unwrap_or_default();
            Err((
                resp.status().as_u16(),
                serde_json::from_slice(body).unwrap_or(Value::Null),
            ))
        }
        Err(e) => panic!("websocket connect: {e}"),
    }
}

/// Exec and logs of a pod on a node whose kubelet is down: the API server's dial error.
async fn assert_kubelet_unreachable(sim: &Sim) {
    let (code, body) = exec_handshake(sim, "web-0").await.expect_err("the kubelet is down");
    assert_eq!(code, 500, "{body}");
    assert_eq!(
        body["message"],
        "error dialing backend: dial tcp 10.0.0.10:10250: connect: connection refused"
    );
    assert!(body.get("reason").is_none(), "not a metav1.Status error: {body}");
    let log = format!("{}/log?tailLines=5", path("pods", "web-0"));
    let (code, body) = raw(sim, "GET", &log, None, Value::Null).await;
    assert_eq!(code, 500, "{body}");
    assert_eq!(
        body["message"],
        "Get \"https://10.0.0.10:10250/containerLogs/cap/web-0/nginx?tailLines=5\": dial tcp 10.0.0.10:10250: connect: connection refused"
    );
}

/// The kubelet comes back: Ready conditions, no taints, the missed termination done,
/// the replacement created, the pods Ready again, the waiting pod scheduled.
async fn kubelet_back(sim: &Sim, old: &Value) {
    annotate_node(sim, Value::Null).await;
    let n = wait_node_ready(sim, "True").await;
    assert_eq!(condition(&n, "Ready")["reason"], "KubeletReady");
    assert_eq!(condition(&n, "MemoryPressure")["status"], "False");
    assert_eq!(n["spec"]["taints"], json!([]), "{n}");
    let msg = format!("Node {NODE} status is now: NodeReady");
    assert_eq!(
        events(sim, "default", "Node", NODE, "NodeReady"),
        vec![("Normal".into(), msg, "kubelet".into())]
    );
    wait(sim, "web-1 replaced, both Ready, loner scheduled", |s| {
        let replaced = get(s, "pods", "web-1").is_some_and(|p| uid(&p) != uid(old));
        let ready = ["web-0", "web-1"]
            .iter()
            .all(|p| get(s, "pods", p).is_some_and(|p| condition(&p, "Ready")["status"] == "True"));
        let placed = get(s, "pods", "loner").is_some_and(|p| p["spec"]["nodeName"] == NODE);
        (replaced && ready && placed).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_kubelet_that_stops_mid_termination_never_confirms_it() {
    let sim = start(SimConfig::default()).await;
    let mut set = web("1Gi");
    with_template_annotation(&mut set, annotations::TERMINATION_DELAY, "1s");
    let (code, body) = raw(
        &sim,
        "POST",
        &format!("/apis/apps/v1/namespaces/{NS}/statefulsets"),
        None,
        set,
    )
    .await;
    assert_eq!(code, 201, "{body}");
    let old = wait(&sim, "web-1 running", |s| {
        get(s, "pods", "web-1").filter(|p| condition(p, "Ready")["status"] == "True")
    })
    .await;
    let (code, body) = raw(&sim, "DELETE", &path("pods", "web-1"), None, Value::Null).await;
    assert_eq!(code, 200, "{body}");
    annotate_node(&sim, json!("true")).await;
    let gone = sim
        .ctx()
        .store
        .wait_for(Duration::from_secs(3), || {
            get(&sim, "pods", "web-1").is_none().then_some(())
        })
        .await;
    assert!(gone.is_none(), "the 1 s termination finished without its kubelet");
    annotate_node(&sim, Value::Null).await;
    wait(&sim, "web-1 replaced", |s| {
        get(s, "pods", "web-1")
            .is_some_and(|p| uid(&p) != uid(&old))
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_partitioned_kubelet_still_answers_exec_and_logs() {
    let sim = start(SimConfig::default()).await;
    create_web(&sim, "1Gi").await;
    annotate_node(&sim, json!("partitioned")).await;
    assert_node_lost(&wait_node_ready(&sim, "Unknown").await);
    exec_handshake(&sim, "web-0")
        .await
        .expect("the API server still reaches the kubelet");
    let (code, body) = raw(
        &sim,
        "GET",
        &format!("{}/log", path("pods", "web-0")),
        None,
        Value::Null,
    )
    .await;
    assert_eq!(code, 200, "{body}");
}

fn with_template_annotation(set: &mut Value, key: &str, value: &str) {
    set["spec"]["template"]["metadata"]["annotations"] = json!({key: value});
}

#[tokio::test]
async fn a_volume_pinned_elsewhere_fails_scheduling_with_the_real_message() {
    let sim = start(SimConfig::default()).await;
    create_web(&sim, "1Gi").await;
    // The PV of web-1's claim is pinned to a node that is gone (a local or zonal disk).
    let pv = get(&sim, "persistentvolumeclaims", "disk-ssd-web-1").unwrap()["spec"]["volumeName"]
        .as_str()
        .unwrap()
        .to_string();
    let pin = json!({"required": {"nodeSelectorTerms": [{"matchExpressions": [
        {"key": "kubernetes.io/hostname", "operator": "In", "values": ["gone-node"]}]}]}});
    sim.ctx()
        .store
        .modify(&Key::new("persistentvolumes", "", &pv), |p| {
            p["spec"]["nodeAffinity"] = pin;
            Ok(())
        })
        .unwrap();
    let (code, body) = raw(&sim, "DELETE", &path("pods", "web-1"), None, Value::Null).await;
    assert_eq!(code, 200, "{body}");
    let want =
        format!("0/1 nodes are available: 1 node(s) didn't match PersistentVolume's node affinity. {PREEMPTION}");
    assert_unschedulable(&sim, "web-1", &want).await;
}

#[tokio::test]
async fn the_unschedulable_annotation_names_its_reason() {
    let sim = start(SimConfig::default()).await;
    for (name, value, reason) in [
        (
            "vna",
            "volume-node-affinity",
            "didn't match PersistentVolume's node affinity",
        ),
        ("aff", "true", "didn't match Pod's node affinity/selector"),
    ] {
        let mut set = web("1Gi");
        set["metadata"]["name"] = json!(name);
        with_template_annotation(&mut set, annotations::UNSCHEDULABLE, value);
        let (code, body) = raw(
            &sim,
            "POST",
            &format!("/apis/apps/v1/namespaces/{NS}/statefulsets"),
            None,
            set,
        )
        .await;
        assert_eq!(code, 201, "{body}");
        let want = format!("0/1 nodes are available: 1 node(s) {reason}. {PREEMPTION}");
        assert_unschedulable(&sim, &format!("{name}-0"), &want).await;
    }
}

/// The pod is Pending with PodScheduled=False Unschedulable and a FailedScheduling
/// warning about it, both with `message`.
async fn assert_unschedulable(sim: &Sim, pod: &str, message: &str) {
    let (pod_uid, c) = wait(sim, &format!("{pod} unschedulable"), |s| {
        let p = get(s, "pods", pod)?;
        let c = condition(&p, "PodScheduled").clone();
        (c["status"] == "False" && p["spec"]["nodeName"].is_null()).then(|| (uid(&p).to_string(), c))
    })
    .await;
    assert_eq!(
        (c["reason"].as_str(), c["message"].as_str()),
        (Some("Unschedulable"), Some(message))
    );
    let ev = wait(sim, "its FailedScheduling event", |s| {
        s.ctx().store.list("events", Some(NS)).0.into_iter().find(|e| {
            e["involvedObject"]["uid"] == pod_uid.as_str()
                && e["reason"] == "FailedScheduling"
                && e["message"] == message
        })
    })
    .await;
    assert_eq!(ev["type"], "Warning");
}
