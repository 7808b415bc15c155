//! Small object helpers shared by the controllers (the subset of apimachinery and
//! pkg/api/v1/pod the controllers need), all over raw JSON objects.

use serde_json::{Value, json};

/// `metadata.uid`.
pub fn uid(obj: &Value) -> &str {
    obj["metadata"]["uid"].as_str().unwrap_or("")
}

pub fn name(obj: &Value) -> &str {
    obj["metadata"]["name"].as_str().unwrap_or("")
}

pub fn namespace(obj: &Value) -> &str {
    obj["metadata"]["namespace"].as_str().unwrap_or("")
}

pub fn is_terminating(obj: &Value) -> bool {
    !obj["metadata"]["deletionTimestamp"].is_null()
}

pub fn owner_refs(obj: &Value) -> &[Value] {
    obj["metadata"]["ownerReferences"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The owner reference with `controller: true` (metav1.GetControllerOf).
pub fn controller_of(obj: &Value) -> Option<&Value> {
    owner_refs(obj).iter().find(|r| r["controller"].as_bool() == Some(true))
}

pub fn controlled_by(obj: &Value, owner_uid: &str) -> bool {
    controller_of(obj).is_some_and(|r| r["uid"].as_str() == Some(owner_uid))
}

pub fn has_owner_ref(obj: &Value, owner_uid: &str) -> bool {
    owner_refs(obj).iter().any(|r| r["uid"].as_str() == Some(owner_uid))
}

pub fn has_finalizer(obj: &Value, f: &str) -> bool {
    obj["metadata"]["finalizers"]
        .as_array()
        .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(f)))
}

pub fn remove_finalizer(obj: &mut Value, f: &str) {
    if let Some(a) = obj["metadata"]["finalizers"].as_array_mut() {
        a.retain(|x| x.as_str() != Some(f));
        if a.is_empty()
            && let Some(m) = obj["metadata"].as_object_mut()
        {
            m.remove("finalizers");
        }
    }
}

/// A controller owner reference (metav1.NewControllerRef).
pub fn controller_ref(owner: &Value) -> Value {
    json!({
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": name(owner),
        "uid": uid(owner),
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

/// Does a `metav1.LabelSelector` select these labels? (labels.SelectorFromSet plus
/// matchExpressions: In, NotIn, Exists, DoesNotExist). An empty selector selects all.
pub fn selector_matches(selector: &Value, labels: &Value) -> bool {
    if let Some(ml) = selector["matchLabels"].as_object() {
        for (k, v) in ml {
            if labels.get(k) != Some(v) {
                return false;
            }
        }
    }
    if let Some(exprs) = selector["matchExpressions"].as_array() {
        for e in exprs {
            let key = e["key"].as_str().unwrap_or("");
            let val = labels.get(key).and_then(Value::as_str);
            let values: Vec<&str> = e["values"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let ok = match e["operator"].as_str().unwrap_or("") {
                "In" => val.is_some_and(|v| values.contains(&v)),
                "NotIn" => val.is_none_or(|v| !values.contains(&v)),
                "Exists" => val.is_some(),
                "DoesNotExist" => val.is_none(),
                _ => false,
            };
            if !ok {
                return false;
            }
        }
    }
    true
}

pub fn condition<'a>(obj: &'a Value, type_: &str) -> Option<&'a Value> {
    obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"].as_str() == Some(type_))
}

/// podutil.IsPodReady: the Ready condition is True.
pub fn pod_ready(pod: &Value) -> bool {
    condition(pod, "Ready").is_some_and(|c| c["status"].as_str() == Some("True"))
}

pub fn phase(pod: &Value) -> &str {
    pod["status"]["phase"].as_str().unwrap_or("")
}

/// stateful_set_utils.go isRunningAndReady.
pub fn running_and_ready(pod: &Value) -> bool {
    phase(pod) == "Running" && pod_ready(pod)
}

/// How long until a ready pod becomes available (podutil.IsPodAvailable): `None` when
/// it is not ready, zero when available now.
pub fn until_available(pod: &Value, min_ready_seconds: i64) -> Option<std::time::Duration> {
    if !running_and_ready(pod) {
        return None;
    }
    if min_ready_seconds <= 0 {
        return Some(std::time::Duration::ZERO);
    }
    let since = condition(pod, "Ready")
        .and_then(|c| c["lastTransitionTime"].as_str())
        .and_then(|t| t.parse::<jiff::Timestamp>().ok());
    let Some(since) = since else {
        return Some(std::time::Duration::ZERO);
    };
    let ready_at = since.as_millisecond() + min_ready_seconds * 1000;
    let now = jiff::Timestamp::now().as_millisecond();
    Some(std::time::Duration::from_millis((ready_at - now).max(0) as u64))
}

/// stateful_set_utils.go isRunningAndAvailable.
pub fn running_and_available(pod: &Value, min_ready_seconds: i64) -> bool {
    until_available(pod, min_ready_seconds).is_some_and(|d| d.is_zero())
}

/// An int-or-string value: an integer, or a percentage of `total` rounded up or down
/// (intstr.GetScaledValueFromIntOrPercent).
pub fn int_or_percent(v: &Value, total: i64, round_up: bool) -> Option<i64> {
    if let Some(n) = v.as_i64() {
        return Some(n);
    }
    let s = v.as_str()?;
    if let Some(p) = s.strip_suffix('%') {
        let p: i64 = p.trim().parse().ok()?;
        let scaled = p * total;
        return Some(if round_up { (scaled + 99) / 100 } else { scaled / 100 });
    }
    s.trim().parse().ok()
}
