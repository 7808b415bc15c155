//! A node whose kubelet stops ([`annotations::KUBELET_STOPPED`] on the Node): what the
//! node lifecycle controller writes (pkg/controller/nodelifecycle), and the kubelet's
//! node status once it is back (pkg/kubelet/nodestatus setters).
//!
//! Kubelet gone: the controller's monitorNodeHealth -> tryUpdateNodeHealth, once no
//! heartbeat came for `--node-monitor-grace-period` (the sim: at once), sets the
//! Ready, MemoryPressure, DiskPressure and PIDPressure conditions to Unknown, reason
//! `NodeStatusUnknown`, "Kubelet stopped posting node status." (lastHeartbeatTime
//! kept, lastTransitionTime now); records `NodeNotReady` about the node
//! (RecordNodeStatusChange); MarkPodsNotReady sets each of its pods' Ready condition to
//! False with a `NodeNotReady` "Node is not ready" warning; and the node gets the
//! `node.kubernetes.io/unreachable` NoExecute (doNoExecuteTaintingPass) and NoSchedule
//! (doNoScheduleTaintingPass) taints, each with its timeAdded (SwapNodeControllerTaint).
//!
//! Kubelet back: it posts its conditions again (Ready `KubeletReady`, `NodeReady`
//! event), the controller removes the taints (markNodeAsReachable) and the kubelet's
//! status manager posts its pods Ready again (see the kubelet's `steady`).
//!
//! Not modelled: taint-based eviction (the DefaultTolerationSeconds admission plugin
//! gives pods 300 s of unreachable:NoExecute toleration, then the taint eviction
//! controller deletes them, and they stay Terminating as any pod there does).

use std::sync::Arc;

use serde_json::{Value, json};

use super::events::{self, Source};
use super::queue::{self, Queue};
use super::util::{self, name};
use crate::annotations::KubeletStopped;
use crate::context::Context;
use crate::error::ApiError;
use crate::store::{Key, Store, WatchEvent, now_rfc3339};

const UNREACHABLE: &str = "node.kubernetes.io/unreachable";
const UNKNOWN_REASON: &str = "NodeStatusUnknown";

pub fn spawn(ctx: Arc<Context>) {
    queue::run(ctx, Queue::new(), map_event, resync, sync);
}

fn resync(ctx: &Context, q: &Queue<String>) {
    for n in ctx.store.list("nodes", None).0 {
        q.add(name(&n).to_string());
    }
}

fn map_event(_ctx: &Context, q: &Queue<String>, ev: &WatchEvent) {
    if ev.key.plural == "nodes" {
        q.add(ev.key.name.clone());
    }
}

#[allow(clippy::ptr_arg)] // the queue hands out its key type, &String
fn sync(ctx: &Arc<Context>, _q: &Arc<Queue<String>>, node_name: &String) {
    let key = Key::new("nodes", "", node_name);
    let Some(node) = ctx.store.get(&key) else { return };
    let ready = util::condition(&node, "Ready");
    let unknown = ready.is_some_and(|c| c["status"] == "Unknown");
    let ours = ready.is_some_and(|c| c["reason"] == UNKNOWN_REASON);
    match KubeletStopped::of(&node) {
        Some(_) if !unknown => lost(&ctx.store, &key),
        None if unknown && ours => back(&ctx.store, &key),
        _ => {}
    }
}

/// The conditions a healthy kubelet posts (nodestatus MemoryPressureCondition,
/// DiskPressureCondition, PIDPressureCondition, ReadyCondition), all since `now`.
pub fn kubelet_conditions(now: &str) -> Value {
    let c = |t: &str, status: &str, reason: &str, message: &str| {
        json!({"type": t, "status": status, "reason": reason, "message": message,
               "lastHeartbeatTime": now, "lastTransitionTime": now})
    };
    json!([
        c(
            "MemoryPressure",
            "False",
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available"
        ),
        c(
            "DiskPressure",
            "False",
            "KubeletHasNoDiskPressure",
            "kubelet has no disk pressure"
        ),
        c(
            "PIDPressure",
            "False",
            "KubeletHasSufficientPID",
            "kubelet has sufficient PID available"
        ),
        c("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
    ])
}

/// tryUpdateNodeHealth past the grace period, the taints, then NodeNotReady and
/// MarkPodsNotReady.
fn lost(store: &Store, key: &Key) {
    let now = now_rfc3339();
    let Ok(node) = store.modify(key, |n| {
        mark_unknown(n, &now);
        let taints = n["spec"]["taints"].as_array_mut();
        let mut kept: Vec<Value> = taints.map(std::mem::take).unwrap_or_default();
        kept.retain(|t| t["key"] != UNREACHABLE);
        for effect in ["NoExecute", "NoSchedule"] {
            kept.push(json!({"key": UNREACHABLE, "effect": effect, "timeAdded": now}));
        }
        n["spec"]["taints"] = Value::Array(kept);
        Ok(())
    }) else {
        return;
    };
    let msg = format!("Node {} status is now: NodeNotReady", key.name);
    events::record(store, &node, "Normal", "NodeNotReady", &msg, "node-controller");
    mark_pods_not_ready(store, &key.name, &now);
}

fn mark_unknown(node: &mut Value, now: &str) {
    let mut conds: Vec<Value> = node["status"]["conditions"].as_array().cloned().unwrap_or_default();
    let created = node["metadata"]["creationTimestamp"].clone();
    for t in ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"] {
        match conds.iter_mut().find(|c| c["type"] == t) {
            Some(c) if c["status"] != "Unknown" => {
                c["status"] = json!("Unknown");
                c["reason"] = json!(UNKNOWN_REASON);
                c["message"] = json!("Kubelet stopped posting node status.");
                c["lastTransitionTime"] = json!(now);
            }
            Some(_) => {}
            None => conds.push(json!({"type": t, "status": "Unknown", "reason": "NodeStatusNeverUpdated",
                "message": "Kubelet never posted node status.", "lastHeartbeatTime": created, "lastTransitionTime": now})),
        }
    }
    node["status"]["conditions"] = Value::Array(conds);
}

/// controllerutil.MarkPodsNotReady: Ready=False on each pod bound to the node.
fn mark_pods_not_ready(store: &Store, node: &str, now: &str) {
    for pod in store.list("pods", None).0 {
        if pod["spec"]["nodeName"].as_str() != Some(node) || !util::pod_ready(&pod) {
            continue;
        }
        let key = Key::new("pods", util::namespace(&pod), name(&pod));
        let uid = util::uid(&pod).to_string();
        let written = store.modify(&key, |p| {
            if util::uid(p) != uid {
                return Err(ApiError::new(409, "Conflict", "pod was replaced"));
            }
            if let Some(c) = p["status"]["conditions"]
                .as_array_mut()
                .and_then(|cs| cs.iter_mut().find(|c| c["type"] == "Ready"))
            {
                c["status"] = json!("False");
                c["lastTransitionTime"] = json!(now);
            }
            Ok(())
        });
        if let Ok(p) = written {
            events::record(
                store,
                &p,
                "Warning",
                "NodeNotReady",
                "Node is not ready",
                "node-controller",
            );
        }
    }
}

/// The kubelet posts its status again (`NodeReady` event from the kubelet); the
/// controller removes the unreachable taints (markNodeAsReachable).
fn back(store: &Store, key: &Key) {
    let now = now_rfc3339();
    let Ok(node) = store.modify(key, |n| {
        n["status"]["conditions"] = kubelet_conditions(&now);
        if let Some(taints) = n["spec"]["taints"].as_array_mut() {
            taints.retain(|t| t["key"] != UNREACHABLE);
        }
        Ok(())
    }) else {
        return;
    };
    let msg = format!("Node {} status is now: NodeReady", key.name);
    let src = Source {
        component: "kubelet",
        host: Some(&key.name),
        field_path: None,
    };
    events::record_from(store, &node, "Normal", "NodeReady", &msg, &src);
}

/// The address the API server dials to reach a pod's kubelet, when that kubelet is
/// down ([`KubeletStopped::Down`]): exec and logs then fail with a dial error.
pub fn unreachable_kubelet(store: &Store, pod: &Value) -> Option<String> {
    let node = store.get(&Key::new("nodes", "", pod["spec"]["nodeName"].as_str()?))?;
    if KubeletStopped::of(&node) != Some(KubeletStopped::Down) {
        return None;
    }
    let ip = node["status"]["addresses"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["type"] == "InternalIP")
        .and_then(|a| a["address"].as_str())
        .unwrap_or("127.0.0.1");
    Some(format!("{ip}:10250"))
}
