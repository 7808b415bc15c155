//! Volume expansion, in the three parts a real cluster splits it into:
//!
//! - kube-controller-manager's expand controller (pkg/controller/volume/expand
//!   `syncHandler`): the sim's provisioner is an external (CSI) one, so a raised
//!   request only gets `ExternalExpanding` "waiting for an external controller to
//!   expand this PVC" from `volume_expand`.
//! - the CSI external-resizer of the sim's driver (kubernetes-csi/external-resizer
//!   `expandAndRecover`, resize_status.go, RecoverVolumeExpansionFailure on):
//!   `markControllerResizeInProgress` (condition `Resizing`,
//!   `allocatedResources.storage` = the new size, `allocatedResourceStatuses.storage` =
//!   `ControllerResizeInProgress`), event `Resizing`; after the backend's delay the PV's
//!   `spec.capacity` grows and `markForPendingNodeExpansion` adds
//!   `FileSystemResizePending` ("Waiting for user to (re-)start a pod to finish file
//!   system resize of volume on node.", status `NodeResizePending`), event
//!   `FileSystemResizeRequired`. A failing backend: `ControllerResizeError`, a
//!   `VolumeResizeFailed` warning, retried with back-off (the claim stays `Resizing`).
//! - the kubelet's node expansion (pkg/volume/util/operationexecutor/node_expander.go):
//!   for a running pod that mounts the claim, `NodeResizeInProgress`, then
//!   `FileSystemResizeSuccessful` on the pod and the claim, then `MarkFSResizeFinished`:
//!   `status.capacity` = the PV's, resize conditions and statuses cleared. A driver
//!   that expands offline only (`sts-sim.dev/resize-needs-restart`) does it when a new
//!   pod mounts the volume, not for the pod that had it mounted already.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use super::events::{self, Source};
use super::queue::{self, Queue};
use super::util::{self, is_terminating, name, uid};
use super::volumes::SIM_PROVISIONER;
use crate::annotations;
use crate::context::Context;
use crate::quantity;
use crate::store::{EventType, Key, WatchEvent, now_rfc3339};

const RESIZER: &str = "external-resizer sts-sim.dev/hostpath";
const PENDING_MESSAGE: &str = "Waiting for user to (re-)start a pod to finish file system resize of volume on node.";
/// util.knownResizeConditions.
const RESIZE_CONDITIONS: &[&str] = &[
    "FileSystemResizePending",
    "Resizing",
    "ControllerResizeError",
    "NodeResizeError",
];
/// The external-resizer's per-claim retry back-off (1 s doubling to 5 m), run five
/// times faster as the kubelet's back-offs are.
const BACKOFF_START: Duration = Duration::from_millis(200);
const BACKOFF_MAX: Duration = Duration::from_secs(60);

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Item {
    /// The expand controller's sync of a claim whose request or capacity changed.
    Expand(String, String),
    /// The resizer's and the kubelet's sync of a claim.
    Claim(String, String),
}

type ClaimKey = (String, String);

#[derive(Default)]
struct State {
    /// Claims whose ControllerExpandVolume call is under way.
    in_flight: Mutex<HashSet<ClaimKey>>,
    /// Claims whose expansion failed: the next retry delay, and no retry before when.
    backoff: Mutex<HashMap<ClaimKey, (Duration, tokio::time::Instant)>>,
    /// Per claim pending node expansion: the pods that had it mounted already.
    mounted_before: Mutex<HashMap<ClaimKey, HashSet<String>>>,
}

pub fn spawn(ctx: Arc<Context>) {
    let st = Arc::new(State::default());
    queue::run(ctx, Queue::new(), map_event, resync, move |ctx, q, item| match item {
        Item::Expand(ns, n) => external_expanding(ctx, ns, n),
        Item::Claim(ns, n) => sync_claim(&st, ctx, q, &(ns.clone(), n.clone())),
    });
}

fn resync(ctx: &Context, q: &Queue<Item>) {
    for c in ctx.store.list("persistentvolumeclaims", None).0 {
        q.add(Item::Claim(util::namespace(&c).into(), name(&c).into()));
    }
}

fn request(c: &Value) -> &Value {
    &c["spec"]["resources"]["requests"]["storage"]
}

fn capacity(c: &Value) -> &Value {
    &c["status"]["capacity"]["storage"]
}

fn map_event(_ctx: &Context, q: &Queue<Item>, ev: &WatchEvent) {
    let ns = ev.key.namespace.clone();
    match ev.key.plural {
        "persistentvolumeclaims" if ev.kind != EventType::Deleted => {
            let (c, prev) = (&ev.object, ev.prev.as_deref());
            // The expand controller's UpdateFunc: request or capacity changed.
            if prev.is_some_and(|p| request(p) != request(c) || capacity(p) != capacity(c)) {
                q.add(Item::Expand(ns.clone(), ev.key.name.clone()));
            }
            q.add(Item::Claim(ns, ev.key.name.clone()));
        }
        "persistentvolumes" if ev.kind != EventType::Deleted => {
            let r = &ev.object["spec"]["claimRef"];
            if let (Some(ns), Some(n)) = (r["namespace"].as_str(), r["name"].as_str()) {
                q.add(Item::Claim(ns.into(), n.into()));
            }
        }
        // A pod that starts (or goes) may finish a pending file system expansion.
        "pods" => {
            for c in claims_of(&ev.object) {
                q.add(Item::Claim(ns.clone(), c.to_string()));
            }
        }
        _ => {}
    }
}

fn claims_of(pod: &Value) -> impl Iterator<Item = &str> {
    pod["spec"]["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["persistentVolumeClaim"]["claimName"].as_str())
}

fn grows(to: &Value, from: &Value) -> bool {
    quantity::cmp(to, from) == Some(std::cmp::Ordering::Greater)
}

/// The bound claim and its volume, when the volume is bound back to it.
fn bound(ctx: &Context, ns: &str, n: &str) -> Option<(Arc<Value>, Arc<Value>)> {
    let c = ctx.store.get(&Key::new("persistentvolumeclaims", ns, n))?;
    let pv_name = c["spec"]["volumeName"].as_str().filter(|v| !v.is_empty())?;
    let pv = ctx.store.get(&Key::new("persistentvolumes", "", pv_name))?;
    (c["status"]["phase"] == "Bound" && pv["spec"]["claimRef"]["uid"].as_str() == Some(uid(&c))).then_some((c, pv))
}

/// expand_controller.go syncHandler for a volume no in-tree plugin can expand.
fn external_expanding(ctx: &Arc<Context>, ns: &str, n: &str) {
    let Some((c, _)) = bound(ctx, ns, n) else { return };
    if !grows(request(&c), capacity(&c)) {
        return;
    }
    let msg = "waiting for an external controller to expand this PVC";
    events::record(&ctx.store, &c, "Normal", "ExternalExpanding", msg, "volume_expand");
}

fn record(ctx: &Context, c: &Value, type_: &str, reason: &str, msg: &str) {
    events::record(&ctx.store, c, type_, reason, msg, RESIZER);
}

fn sync_claim(st: &Arc<State>, ctx: &Arc<Context>, q: &Arc<Queue<Item>>, key: &ClaimKey) {
    let Some((c, pv)) = bound(ctx, &key.0, &key.1) else {
        return;
    };
    let status = c["status"]["allocatedResourceStatuses"]["storage"]
        .as_str()
        .unwrap_or("");
    if matches!(status, "NodeResizePending" | "NodeResizeInProgress") {
        // expandAndRecover lets a pending node expansion finish first.
        node_expand(st, ctx, key, &c, &pv);
        return;
    }
    let driver = pv["metadata"]["annotations"]["pv.kubernetes.io/provisioned-by"].as_str();
    if driver != Some(SIM_PROVISIONER) || !grows(request(&c), capacity(&c)) {
        return; // resizer.CanSupport, pvcNeedResize
    }
    let backing_off = st
        .backoff
        .lock()
        .unwrap()
        .get(key)
        .is_some_and(|b| b.1 > tokio::time::Instant::now());
    if backing_off || !st.in_flight.lock().unwrap().insert(key.clone()) {
        return;
    }
    let new_size = request(&c).clone();
    let same =
        quantity::cmp(&c["status"]["allocatedResources"]["storage"], &new_size) == Some(std::cmp::Ordering::Equal);
    mark_controller_resize_in_progress(ctx, key, &new_size, !same);
    record(
        ctx,
        &c,
        "Normal",
        "Resizing",
        &format!("External resizer is resizing volume {}", name(&pv)),
    );
    let delay = c["metadata"]["annotations"][annotations::RESIZE_SECONDS]
        .as_str()
        .and_then(annotations::parse_duration)
        .unwrap_or(ctx.config.resize_delay);
    let (st, ctx, q, key) = (st.clone(), ctx.clone(), q.clone(), key.clone());
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        let retry = controller_expand(&st, &ctx, &key, &new_size);
        st.in_flight.lock().unwrap().remove(&key);
        // AddRateLimited after a failure; at once after a success (the node's turn).
        q.add_after(Item::Claim(key.0, key.1), retry.unwrap_or(Duration::ZERO));
    });
}

/// A PVC condition as the resizer writes it (lastProbeTime is always null).
fn condition(type_: &str, message: Option<&str>) -> Value {
    let mut c = json!({"type": type_, "status": "True", "lastProbeTime": null, "lastTransitionTime": now_rfc3339()});
    if let Some(m) = message {
        c["message"] = json!(m);
    }
    c
}

/// util.MergeResizeConditionsOfPVC: other conditions stay; a resize condition of a
/// type given keeps its old entry when the status is the same; other resize
/// conditions stay only with `keep_old`.
fn merge_conditions(st: &mut Value, new: Vec<Value>, keep_old: bool) {
    let old = st["conditions"].as_array().cloned().unwrap_or_default();
    let mut out = Vec::new();
    let mut done = HashSet::new();
    for c in old {
        let t = c["type"].as_str().unwrap_or("").to_string();
        if !RESIZE_CONDITIONS.contains(&t.as_str()) {
            out.push(c);
        } else if let Some(n) = new.iter().find(|n| n["type"] == t.as_str()) {
            out.push(if n["status"] != c["status"] { n.clone() } else { c });
            done.insert(t);
        } else if keep_old {
            out.push(c);
        }
    }
    out.extend(
        new.into_iter()
            .filter(|n| !done.contains(n["type"].as_str().unwrap_or(""))),
    );
    set_or_drop(st, "conditions", Value::Array(out));
}

fn set_or_drop(obj: &mut Value, field: &str, v: Value) {
    let empty = v.as_array().is_some_and(Vec::is_empty) || v.as_object().is_some_and(|m| m.is_empty());
    match obj.as_object_mut() {
        Some(m) if empty => {
            m.remove(field);
        }
        Some(m) => {
            m.insert(field.into(), v);
        }
        None => {}
    }
}

/// mergeStorageResourceStatus (`None`: drop the storage entry, as MarkFSResizeFinished).
fn set_resize_status(st: &mut Value, status: Option<&str>) {
    let mut m = st["allocatedResourceStatuses"].as_object().cloned().unwrap_or_default();
    match status {
        Some(s) => m.insert("storage".into(), json!(s)),
        None => m.remove("storage"),
    };
    set_or_drop(st, "allocatedResourceStatuses", Value::Object(m));
}

/// A status patch of the claim (the resizer and the kubelet patch `/status`).
fn patch_status(ctx: &Context, key: &ClaimKey, f: impl FnOnce(&mut Value)) -> Option<Arc<Value>> {
    let k = Key::new("persistentvolumeclaims", &key.0, &key.1);
    ctx.store
        .modify(&k, |c| {
            f(&mut c["status"]);
            Ok(())
        })
        .ok()
}

fn mark_controller_resize_in_progress(ctx: &Context, key: &ClaimKey, size: &Value, update_status: bool) {
    patch_status(ctx, key, |st| {
        merge_conditions(st, vec![condition("Resizing", None)], !update_status);
        if update_status {
            set_resize_status(st, Some("ControllerResizeInProgress"));
        }
        st["allocatedResources"]["storage"] = size.clone();
    });
}

/// callResizeOnPlugin after the backend's delay: fail (fault), or grow the PV and
/// hand over to the node. Returns the back-off after a failure.
fn controller_expand(st: &State, ctx: &Context, key: &ClaimKey, size: &Value) -> Option<Duration> {
    let (c, pv) = bound(ctx, &key.0, &key.1)?;
    if let Some(why) = c["metadata"]["annotations"][annotations::RESIZE_FAIL].as_str() {
        let text = if why == "true" { "volume expansion failed" } else { why };
        let err = format!("rpc error: code = Internal desc = {text}");
        patch_status(ctx, key, |s| {
            let cond = condition(
                "ControllerResizeError",
                Some(&format!("failed to expand pvc with {err}")),
            );
            merge_conditions(s, vec![cond], true);
        });
        let msg = format!(
            "resize volume \"{}\" by resizer \"{SIM_PROVISIONER}\" failed: {err}",
            name(&pv)
        );
        record(ctx, &c, "Warning", "VolumeResizeFailed", &msg);
        let mut b = st.backoff.lock().unwrap();
        let d = b.get(key).map_or(BACKOFF_START, |b| (b.0 * 2).min(BACKOFF_MAX));
        b.insert(key.clone(), (d, tokio::time::Instant::now() + d));
        return Some(d);
    }
    st.backoff.lock().unwrap().remove(key);
    let pv_key = Key::new("persistentvolumes", "", name(&pv));
    if ctx
        .store
        .modify(&pv_key, |v| {
            v["spec"]["capacity"]["storage"] = size.clone();
            Ok(())
        })
        .is_err()
    {
        return None;
    }
    // The pods that have the volume mounted now: an offline-only driver does not
    // expand under them.
    let mounted: HashSet<String> = mounting_pods(ctx, &key.0, &key.1)
        .map(|p| uid(&p).to_string())
        .collect();
    st.mounted_before.lock().unwrap().insert(key.clone(), mounted);
    patch_status(ctx, key, |s| {
        merge_conditions(
            s,
            vec![condition("FileSystemResizePending", Some(PENDING_MESSAGE))],
            true,
        );
        set_resize_status(s, Some("NodeResizePending"));
    });
    record(
        ctx,
        &c,
        "Normal",
        "FileSystemResizeRequired",
        "Require file system resize of volume on node",
    );
    None
}

/// Running pods of the node that mount the claim.
fn mounting_pods<'a>(ctx: &'a Context, ns: &str, claim: &'a str) -> impl Iterator<Item = Arc<Value>> + 'a {
    ctx.store.list("pods", Some(ns)).0.into_iter().filter(move |p| {
        util::phase(p) == "Running"
            && !is_terminating(p)
            && p["spec"]["nodeName"].as_str() == Some(ctx.config.node_name.as_str())
            && claims_of(p).any(|c| c == claim)
    })
}

/// NodeExpander.expandOnPlugin for the first pod that can do it.
fn node_expand(st: &State, ctx: &Context, key: &ClaimKey, c: &Value, pv: &Value) {
    let offline = c["metadata"]["annotations"][annotations::RESIZE_NEEDS_RESTART]
        .as_str()
        .is_some_and(|v| v != "false");
    let pod = {
        let before = st.mounted_before.lock().unwrap();
        let seen = before.get(key);
        mounting_pods(ctx, &key.0, &key.1).find(|p| !offline || seen.is_none_or(|s| !s.contains(uid(p))))
    };
    let Some(pod) = pod else { return };
    patch_status(ctx, key, |s| set_resize_status(s, Some("NodeResizeInProgress")));
    let node = ctx.config.node_name.as_str();
    let msg = format!(
        "MountVolume.NodeExpandVolume succeeded for volume \"{}\" {node}",
        name(pv)
    );
    let src = Source {
        component: "kubelet",
        host: Some(node),
        field_path: None,
    };
    events::record_from(&ctx.store, &pod, "Normal", "FileSystemResizeSuccessful", &msg, &src);
    events::record_from(&ctx.store, c, "Normal", "FileSystemResizeSuccessful", &msg, &src);
    let size = pv["spec"]["capacity"]["storage"].clone();
    patch_status(ctx, key, |s| {
        s["capacity"]["storage"] = size;
        set_resize_status(s, None);
        merge_conditions(s, Vec::new(), false);
    });
    st.mounted_before.lock().unwrap().remove(key);
}
