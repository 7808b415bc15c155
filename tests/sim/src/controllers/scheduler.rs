//! kube-scheduler's verdict on the sim's one node: why a pod fits it not, worded as the
//! FailedScheduling message of a v1.34 scheduler (the FitError of
//! pkg/scheduler/schedule_one.go: "0/1 nodes are available: <reasons>. preemption: ...").
//!
//! In the real order: the VolumeBinding PreFilter (a missing, deleted or unbound
//! claim), then the Filter plugins in their default order, the first that rejects the
//! node naming the reason: TaintToleration (a NoSchedule/NoExecute taint the pod does
//! not tolerate), NodeAffinity (`spec.nodeSelector` and the required node affinity, or
//! the [`annotations::UNSCHEDULABLE`] fault), VolumeBinding (a bound PersistentVolume
//! whose node affinity the node does not match, or the fault's `volume-node-affinity`).

use serde_json::Value;

use super::util::{self, is_terminating};
use crate::annotations::Unschedulable;
use crate::context::Context;
use crate::store::Key;

/// The PostFilter's verdict when preempting would not help (default preemption).
pub const PREEMPTION: &str = "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.";

/// tainttoleration ErrReasonNotMatch: since kubernetes#134740 (in the v1.34 patch
/// releases) the message names no taint key or value.
const UNTOLERATED_TAINT: &str = "node(s) had untolerated taint(s)";
/// nodeaffinity ErrReasonPod.
const NODE_AFFINITY: &str = "node(s) didn't match Pod's node affinity/selector";
/// volumebinding ErrReasonNodeConflict; "node(s) had volume node affinity conflict"
/// until v1.32 (kubernetes#129887).
const VOLUME_NODE_AFFINITY: &str = "node(s) didn't match PersistentVolume's node affinity";

/// Why the pod cannot be scheduled on the node now, or None when it fits.
pub fn unschedulable_reason(ctx: &Context, pod: &Value) -> Option<String> {
    if let Some(why) = claims_reason(ctx, pod) {
        return Some(format!("0/1 nodes are available: {why}. {PREEMPTION}"));
    }
    let node = ctx.store.get(&Key::new("nodes", "", &ctx.config.node_name));
    let node = node.as_deref().unwrap_or(&Value::Null);
    let fault = Unschedulable::of(pod);
    let why = if !node.is_null() && untolerated_taint(pod, node) {
        UNTOLERATED_TAINT
    } else if fault == Some(Unschedulable::NodeAffinity) || (!node.is_null() && !pod_affinity_matches(pod, node)) {
        NODE_AFFINITY
    } else if fault == Some(Unschedulable::VolumeNodeAffinity) || (!node.is_null() && volume_conflict(ctx, pod, node)) {
        VOLUME_NODE_AFFINITY
    } else {
        return None;
    };
    Some(format!("0/1 nodes are available: 1 {why}. {PREEMPTION}"))
}

/// The VolumeBinding PreFilter (volume_binding.go PreFilter / binder.go GetPodVolumes):
/// every claim must exist, not be terminating, and be bound (the sim's classes bind
/// immediately).
fn claims_reason(ctx: &Context, pod: &Value) -> Option<String> {
    let ns = util::namespace(pod);
    for c in claim_names(pod) {
        match ctx.store.get(&Key::new("persistentvolumeclaims", ns, c)) {
            None => return Some(format!("persistentvolumeclaim \"{c}\" not found")),
            Some(claim) if is_terminating(&claim) => {
                return Some(format!("persistentvolumeclaim \"{c}\" is being deleted"));
            }
            Some(claim) if claim["status"]["phase"].as_str() != Some("Bound") => {
                return Some("1 pod has unbound immediate PersistentVolumeClaims".into());
            }
            Some(_) => {}
        }
    }
    None
}

fn claim_names(pod: &Value) -> impl Iterator<Item = &str> {
    pod["spec"]["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["persistentVolumeClaim"]["claimName"].as_str())
}

/// TaintToleration Filter: a NoSchedule or NoExecute taint no toleration of the pod
/// tolerates (v1helper.FindMatchingUntoleratedTaint, Toleration.ToleratesTaint).
fn untolerated_taint(pod: &Value, node: &Value) -> bool {
    let tolerations = pod["spec"]["tolerations"].as_array().map_or(&[][..], Vec::as_slice);
    node["spec"]["taints"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| matches!(t["effect"].as_str(), Some("NoSchedule" | "NoExecute")))
        .any(|t| !tolerations.iter().any(|tol| tolerates(tol, t)))
}

fn tolerates(tol: &Value, taint: &Value) -> bool {
    let s = |v: &Value| v.as_str().unwrap_or("").to_string();
    let effect_ok = s(&tol["effect"]).is_empty() || tol["effect"] == taint["effect"];
    let key_ok = s(&tol["key"]).is_empty() || tol["key"] == taint["key"];
    let value_ok = match tol["operator"].as_str().unwrap_or("Equal") {
        "Exists" => true,
        "Equal" => s(&tol["value"]) == s(&taint["value"]),
        _ => false,
    };
    effect_ok && key_ok && value_ok
}

/// NodeAffinity Filter: `spec.nodeSelector` (every label) and the required node
/// affinity (component-helpers nodeaffinity.GetRequiredNodeAffinity).
fn pod_affinity_matches(pod: &Value, node: &Value) -> bool {
    let labels = &node["metadata"]["labels"];
    let selector_ok = pod["spec"]["nodeSelector"]
        .as_object()
        .is_none_or(|m| m.iter().all(|(k, v)| labels[k] == *v));
    let required = &pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"];
    selector_ok && (required.is_null() || selector_terms_match(required, node))
}

/// VolumeBinding Filter for bound claims (binder.go checkBoundClaims): the PV's
/// `spec.nodeAffinity.required` must match the node (volume.CheckNodeAffinity).
fn volume_conflict(ctx: &Context, pod: &Value, node: &Value) -> bool {
    let ns = util::namespace(pod);
    claim_names(pod).any(|c| {
        let pv = ctx
            .store
            .get(&Key::new("persistentvolumeclaims", ns, c))
            .and_then(|claim| claim["spec"]["volumeName"].as_str().map(str::to_string))
            .and_then(|pv| ctx.store.get(&Key::new("persistentvolumes", "", &pv)));
        pv.is_some_and(|pv| {
            let required = &pv["spec"]["nodeAffinity"]["required"];
            !required.is_null() && !selector_terms_match(required, node)
        })
    })
}

/// A NodeSelector: its terms are ORed; a term's expressions and fields are ANDed; an
/// empty term matches nothing (nodeaffinity.NewNodeSelector).
pub fn selector_terms_match(selector: &Value, node: &Value) -> bool {
    selector["nodeSelectorTerms"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|term| {
            let exprs = term["matchExpressions"].as_array().map_or(&[][..], Vec::as_slice);
            let fields = term["matchFields"].as_array().map_or(&[][..], Vec::as_slice);
            let name = json_str(&node["metadata"]["name"]);
            (!exprs.is_empty() || !fields.is_empty())
                && exprs
                    .iter()
                    .all(|r| requirement_matches(r, |k| node["metadata"]["labels"][k].as_str()))
                && fields
                    .iter()
                    .all(|r| requirement_matches(r, |k| (k == "metadata.name").then_some(name)))
        })
}

fn json_str(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

/// One NodeSelectorRequirement against a label (or field) lookup: In, NotIn, Exists,
/// DoesNotExist, Gt, Lt (integers).
fn requirement_matches<'a>(req: &Value, get: impl Fn(&str) -> Option<&'a str>) -> bool {
    let value = get(json_str(&req["key"]));
    let values: Vec<&str> = req["values"].as_array().into_iter().flatten().map(json_str).collect();
    let int = |s: &str| s.parse::<i64>().ok();
    let compare = |f: fn(i64, i64) -> bool| matches!((value.and_then(int), values.first().and_then(|v| int(v))), (Some(a), Some(b)) if f(a, b));
    match json_str(&req["operator"]) {
        "In" => value.is_some_and(|v| values.contains(&v)),
        "NotIn" => value.is_none_or(|v| !values.contains(&v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        "Gt" => compare(|a, b| a > b),
        "Lt" => compare(|a, b| a < b),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node() -> Value {
        json!({"metadata": {"name": "n1", "labels": {"kubernetes.io/hostname": "n1", "zone": "a", "rank": "5"}}})
    }

    fn term(exprs: Value) -> Value {
        json!({"nodeSelectorTerms": [{"matchExpressions": exprs}]})
    }

    #[test]
    fn selector_terms_follow_the_operators() {
        let n = node();
        let m = |e: Value| selector_terms_match(&term(e), &n);
        assert!(m(json!([{"key": "zone", "operator": "In", "values": ["a", "b"]}])));
        assert!(!m(json!([{"key": "zone", "operator": "In", "values": ["b"]}])));
        assert!(m(json!([{"key": "zone", "operator": "NotIn", "values": ["b"]}])));
        assert!(m(json!([{"key": "gone", "operator": "NotIn", "values": ["b"]}])));
        assert!(m(json!([{"key": "zone", "operator": "Exists"}])));
        assert!(m(json!([{"key": "gone", "operator": "DoesNotExist"}])));
        assert!(m(json!([{"key": "rank", "operator": "Gt", "values": ["4"]}])));
        assert!(!m(json!([{"key": "rank", "operator": "Lt", "values": ["4"]}])));
        assert!(!m(json!([])), "an empty term matches nothing");
        let by_name = json!({"nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n2"]}]},
                                                   {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}]});
        assert!(selector_terms_match(&by_name, &n), "terms are ORed");
    }

    #[test]
    fn tolerations_match_key_effect_and_value() {
        let taint = json!({"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"});
        let pod = |tols: Value| json!({"spec": {"tolerations": tols}});
        let n = json!({"spec": {"taints": [taint]}});
        assert!(untolerated_taint(&pod(json!([])), &n));
        let default_tolerations = json!([{"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                                          "effect": "NoExecute", "tolerationSeconds": 300}]);
        assert!(
            untolerated_taint(&pod(default_tolerations), &n),
            "NoExecute does not tolerate NoSchedule"
        );
        assert!(!untolerated_taint(&pod(json!([{"operator": "Exists"}])), &n));
        assert!(!untolerated_taint(
            &pod(json!([{"key": "node.kubernetes.io/unreachable", "operator": "Exists"}])),
            &n
        ));
        let prefer = json!({"spec": {"taints": [{"key": "k", "effect": "PreferNoSchedule"}]}});
        assert!(!untolerated_taint(&pod(json!([])), &prefer));
    }
}
