//! ResourceQuota for claims: the quota controller's usage (pkg/controller/resourcequota
//! with the PVC evaluator of pkg/quota/v1/evaluator/core/persistent_volume_claims.go)
//! and the ResourceQuota admission check (plugin/pkg/admission/resourcequota,
//! `CheckRequest`), which refuses a claim create or update that would exceed a hard
//! limit: 403 `exceeded quota: NAME, requested: requests.storage=10Gi, used:
//! requests.storage=40Gi, limited: requests.storage=45Gi`.
//!
//! Resources: `persistentvolumeclaims`, `count/persistentvolumeclaims`,
//! `requests.storage`, and per class `<class>.storageclass.storage.k8s.io/requests.storage`
//! and `.../persistentvolumeclaims`. A claim is charged the larger of its request and
//! `status.allocatedResources.storage` (RecoverVolumeExpansionFailure).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::queue::{self, Queue};
use super::util::{self, name};
use crate::context::Context;
use crate::error::ApiError;
use crate::quantity;
use crate::resources;
use crate::store::{Key, Store, WatchEvent};

const CLASS_SUFFIX: &str = ".storageclass.storage.k8s.io/";

/// Usage per resource name; `binary`: storage written with binary suffixes (Gi).
#[derive(Default, Clone, Debug)]
struct Usage {
    amounts: BTreeMap<String, f64>,
    binary: bool,
}

impl Usage {
    fn add(&mut self, other: &Usage, sign: f64) {
        for (k, v) in &other.amounts {
            *self.amounts.entry(k.clone()).or_insert(0.0) += sign * v;
        }
        self.binary |= other.binary;
    }

    fn show(&self, k: &str) -> String {
        let v = self.amounts.get(k).copied().unwrap_or(0.0);
        quantity::format(v, self.binary && k.ends_with("requests.storage"))
    }
}

/// pvcEvaluator.Usage.
fn claim_usage(pvc: &Value) -> Usage {
    let mut u = Usage::default();
    let class = pvc["metadata"]["annotations"]["volume.beta.kubernetes.io/storage-class"]
        .as_str()
        .or_else(|| pvc["spec"]["storageClassName"].as_str())
        .unwrap_or("");
    let mut charge = |k: String, v: f64| {
        u.amounts.insert(k, v);
    };
    for k in ["persistentvolumeclaims", "count/persistentvolumeclaims"] {
        charge(k.into(), 1.0);
    }
    if !class.is_empty() {
        charge(format!("{class}{CLASS_SUFFIX}persistentvolumeclaims"), 1.0);
    }
    let req = &pvc["spec"]["resources"]["requests"]["storage"];
    let alloc = &pvc["status"]["allocatedResources"]["storage"];
    let q = if quantity::cmp(alloc, req) == Some(std::cmp::Ordering::Greater) {
        alloc
    } else {
        req
    };
    if let Some(bytes) = q.as_str().and_then(quantity::parse) {
        let bytes = bytes.ceil();
        charge("requests.storage".into(), bytes);
        if !class.is_empty() {
            charge(format!("{class}{CLASS_SUFFIX}requests.storage"), bytes);
        }
        u.binary = q.as_str().is_some_and(|s| s.ends_with('i'));
    }
    u
}

fn namespace_usage(store: &Store, ns: &str) -> Usage {
    let mut total = Usage::default();
    for c in store.list("persistentvolumeclaims", Some(ns)).0 {
        total.add(&claim_usage(&c), 1.0);
    }
    total
}

fn hard_of(q: &Value) -> Map<String, Value> {
    q["spec"]["hard"].as_object().cloned().unwrap_or_default()
}

pub fn spawn(ctx: Arc<Context>) {
    queue::run(ctx, Queue::new(), map_event, resync, |ctx, _q, ns: &String| {
        sync(ctx, ns)
    });
}

fn resync(ctx: &Context, q: &Queue<String>) {
    for r in ctx.store.list("resourcequotas", None).0 {
        q.add(util::namespace(&r).to_string());
    }
}

fn map_event(_ctx: &Context, q: &Queue<String>, ev: &WatchEvent) {
    if matches!(ev.key.plural, "resourcequotas" | "persistentvolumeclaims") {
        q.add(ev.key.namespace.clone());
    }
}

/// The controller's syncResourceQuota: status.hard = spec.hard, status.used for each.
fn sync(ctx: &Arc<Context>, ns: &str) {
    let quotas = ctx.store.list("resourcequotas", Some(ns)).0;
    if quotas.is_empty() {
        return;
    }
    let usage = namespace_usage(&ctx.store, ns);
    for q in quotas {
        let hard = hard_of(&q);
        let used: Map<String, Value> = hard.keys().map(|k| (k.clone(), json!(usage.show(k)))).collect();
        let status = json!({"hard": hard, "used": used});
        if q["status"] == status {
            continue;
        }
        let _ = ctx.store.modify(&Key::new("resourcequotas", ns, name(&q)), |o| {
            o["status"] = status;
            Ok(())
        });
    }
}

/// The quota admission check for writing `new` over `old` (None: a create).
pub fn admit(store: &Store, old: Option<&Value>, new: &Value) -> Result<(), ApiError> {
    let ns = util::namespace(new);
    let mut delta = claim_usage(new);
    if let Some(o) = old {
        delta.add(&claim_usage(o), -1.0);
    }
    for q in store.list("resourcequotas", Some(ns)).0 {
        check_quota(&q, &delta, new)?;
    }
    Ok(())
}

fn check_quota(q: &Value, delta: &Usage, pvc: &Value) -> Result<(), ApiError> {
    let res = resources::by_plural("persistentvolumeclaims").expect("pvcs");
    let claim = name(pvc);
    let hard = hard_of(q);
    let used = &q["status"]["used"];
    let mut exceeded = Vec::new();
    for (k, limit) in &hard {
        let d = delta.amounts.get(k).copied().unwrap_or(0.0);
        if d <= 0.0 {
            continue;
        }
        let Some(now) = used[k].as_str().and_then(quantity::parse) else {
            let why = format!("status unknown for quota: {}, resource: {k}", name(q));
            return Err(ApiError::admission_forbidden(res, claim, &why));
        };
        if limit.as_str().and_then(quantity::parse).is_some_and(|l| now + d > l) {
            exceeded.push(k.clone());
        }
    }
    if exceeded.is_empty() {
        return Ok(());
    }
    let list = |f: &dyn Fn(&str) -> String| {
        exceeded
            .iter()
            .map(|k| format!("{k}={}", f(k)))
            .collect::<Vec<_>>()
            .join(",")
    };
    let why = format!(
        "exceeded quota: {}, requested: {}, used: {}, limited: {}",
        name(q),
        list(&|k| delta.show(k)),
        list(&|k| used[k].as_str().unwrap_or("0").to_string()),
        list(&|k| hard[k].as_str().unwrap_or("").to_string()),
    );
    Err(ApiError::admission_forbidden(res, claim, &why))
}
