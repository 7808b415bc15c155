//! PodDisruptionBudget status, after pkg/controller/disruption (disruption.go
//! `getExpectedPodCount`, `countHealthyPods`, `updatePdbStatus`):
//!
//! - minAvailable as an integer: expectedPods = the matching pods; desiredHealthy =
//!   minAvailable.
//! - minAvailable as a percentage, or maxUnavailable: expectedPods = the replicas of the
//!   controllers (StatefulSets) of the matching pods; desiredHealthy = minAvailable
//!   (rounded up) or expectedPods - maxUnavailable (rounded up).
//! - currentHealthy = matching pods that are Ready and not terminating;
//!   disruptionsAllowed = max(0, currentHealthy - desiredHealthy).

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::{Value, json};

use super::queue::{self, Queue};
use super::util::{self, is_terminating, name};
use crate::context::Context;
use crate::store::{Key, WatchEvent, now_rfc3339};

type NsName = (String, String);

pub fn spawn(ctx: Arc<Context>) {
    queue::run(ctx, Queue::new(), map_event, resync, sync);
}

fn resync(ctx: &Context, q: &Queue<NsName>) {
    for p in ctx.store.list("poddisruptionbudgets", None).0 {
        q.add((util::namespace(&p).into(), name(&p).into()));
    }
}

fn map_event(ctx: &Context, q: &Queue<NsName>, ev: &WatchEvent) {
    match ev.key.plural {
        "poddisruptionbudgets" => q.add((ev.key.namespace.clone(), ev.key.name.clone())),
        "pods" | "statefulsets" => {
            for p in ctx.store.list("poddisruptionbudgets", Some(&ev.key.namespace)).0 {
                q.add((ev.key.namespace.clone(), name(&p).into()));
            }
        }
        _ => {}
    }
}

fn sync(ctx: &Arc<Context>, _q: &Arc<Queue<NsName>>, key: &NsName) {
    let store = &ctx.store;
    let pdb_key = Key::new("poddisruptionbudgets", &key.0, &key.1);
    let Some(pdb) = store.get(&pdb_key) else { return };
    let selector = &pdb["spec"]["selector"];
    let pods: Vec<Arc<Value>> = store
        .list("pods", Some(&key.0))
        .0
        .into_iter()
        .filter(|p| !selector.is_null() && util::selector_matches(selector, &p["metadata"]["labels"]))
        .collect();
    let healthy = pods.iter().filter(|p| util::pod_ready(p) && !is_terminating(p)).count() as i64;
    let min_available = &pdb["spec"]["minAvailable"];
    let max_unavailable = &pdb["spec"]["maxUnavailable"];
    let from_controllers = || {
        let mut seen = BTreeSet::new();
        let mut total = 0;
        for p in &pods {
            match util::controller_of(p) {
                Some(r) if r["kind"].as_str() == Some("StatefulSet") => {
                    let n = r["name"].as_str().unwrap_or("").to_string();
                    if seen.insert(n.clone())
                        && let Some(s) = store.get(&Key::new("statefulsets", &key.0, &n))
                    {
                        total += s["spec"]["replicas"].as_i64().unwrap_or(1);
                    }
                }
                _ => total += 1,
            }
        }
        total
    };
    let (expected, desired) = if let Some(n) = min_available.as_i64() {
        (pods.len() as i64, n)
    } else if min_available.is_string() {
        let e = from_controllers();
        (e, util::int_or_percent(min_available, e, true).unwrap_or(0))
    } else if !max_unavailable.is_null() {
        let e = from_controllers();
        (e, e - util::int_or_percent(max_unavailable, e, true).unwrap_or(0))
    } else {
        (pods.len() as i64, 0)
    };
    let desired = desired.max(0);
    let allowed = (healthy - desired).max(0);
    let generation = pdb["metadata"]["generation"].as_i64().unwrap_or(1);
    let old = &pdb["status"];
    let old_cond = old["conditions"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["type"].as_str() == Some("DisruptionAllowed")));
    let (status_str, reason) = if allowed > 0 {
        ("True", "SufficientPods")
    } else {
        ("False", "InsufficientPods")
    };
    let since = match old_cond {
        Some(c) if c["status"].as_str() == Some(status_str) => c["lastTransitionTime"].clone(),
        _ => json!(now_rfc3339()),
    };
    let status = json!({
        "observedGeneration": generation,
        "disruptionsAllowed": allowed,
        "currentHealthy": healthy,
        "desiredHealthy": desired,
        "expectedPods": expected,
        "conditions": [{
            "type": "DisruptionAllowed",
            "status": status_str,
            "observedGeneration": generation,
            "lastTransitionTime": since,
            "reason": reason,
            "message": "",
        }],
    });
    if *old == status {
        return;
    }
    let _ = store.modify(&pdb_key, |p| {
        p["status"] = status;
        Ok(())
    });
}
