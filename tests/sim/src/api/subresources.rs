//! Subresources: `statefulsets/scale` (autoscaling/v1 Scale, pkg/registry/apps/
//! statefulset/storage/storage.go ScaleREST) and `pods/eviction` (policy/v1 Eviction,
//! pkg/registry/core/pod/storage/eviction.go). `status` is handled by the verbs with
//! `ReqInfo::subresource == Some("status")`.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::handlers::{self, ApiResult, get_obj, key};
use super::patch;
use super::request::ReqInfo;
use super::selectors::LabelSelector;
use crate::context::Context;
use crate::error::ApiError;
use crate::store::{Key, rv_of};

/// The Scale view of a StatefulSet (obj-statefulset-web-scale.json).
pub fn scale_of(sts: &Value) -> Value {
    let m = &sts["metadata"];
    let selector = LabelSelector::from_object(&sts["spec"]["selector"])
        .map(|s| s.to_string_form())
        .unwrap_or_default();
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": m["name"], "namespace": m["namespace"], "uid": m["uid"],
            "resourceVersion": m["resourceVersion"], "creationTimestamp": m["creationTimestamp"],
        },
        "spec": {"replicas": sts["spec"]["replicas"].as_i64().unwrap_or(1)},
        "status": {"replicas": sts["status"]["replicas"].as_i64().unwrap_or(0), "selector": selector},
    })
}

fn scale_invalid(name: &str, value: &Value, why: &str) -> ApiError {
    let msg = format!("Invalid value: {value}: {why}");
    let mut e = ApiError::new(
        422,
        "Invalid",
        format!("Scale.autoscaling \"{name}\" is invalid: spec.replicas: {msg}"),
    );
    e.details = Some(json!({"name": name, "group": "autoscaling", "kind": "Scale",
        "causes": [{"reason": "FieldValueInvalid", "message": msg, "field": "spec.replicas"}]}));
    e
}

/// GET/PUT/PATCH `statefulsets/{name}/scale`. A Scale carrying a stale resourceVersion
/// gets 409 Conflict on `statefulsets.apps` (err-409-scale-stale-rv.txt).
pub fn scale(
    ctx: &Context,
    info: &ReqInfo,
    method: &str,
    ct: &str,
    body: &[u8],
    q: &HashMap<String, String>,
) -> ApiResult {
    let name = info.name.clone().unwrap_or_default();
    let sts = get_obj(ctx, info)?;
    let current = scale_of(&sts);
    let wanted = match method {
        "GET" => return Ok((200, current)),
        "PUT" => serde_json::from_slice::<Value>(body)
            .map_err(|e| ApiError::bad_request(format!("error decoding Scale: {e}")))?,
        "PATCH" => patch::apply(ct, &current, body)?,
        _ => {
            return Err(ApiError::new(
                405,
                "MethodNotAllowed",
                "the server does not allow this method on the requested resource".to_string(),
            ));
        }
    };
    let replicas = &wanted["spec"]["replicas"];
    let n = match replicas {
        Value::Null => 0,
        v => v
            .as_i64()
            .ok_or_else(|| scale_invalid(&name, v, "must be an integer"))?,
    };
    if n < 0 {
        return Err(scale_invalid(&name, replicas, "must be greater than or equal to 0"));
    }
    if let Some(rv) = wanted["metadata"]["resourceVersion"].as_str().filter(|s| !s.is_empty())
        && Some(rv) != sts["metadata"]["resourceVersion"].as_str()
    {
        return Err(ApiError::conflict(
            info.res,
            &name,
            "the object has been modified; please apply your changes to the latest version and try again",
        ));
    }
    let mut new = (*sts).clone();
    new["spec"]["replicas"] = json!(n);
    let w = super::managed::Write {
        res: info.res,
        manager: super::managed::manager_of(q, &info.user_agent),
        subresource: Some("scale"),
    };
    super::managed::record_update(&w, Some(&sts), &mut new);
    if q.get("dryRun").is_some_and(|d| d == "All") {
        return Ok((200, scale_of(&new)));
    }
    let out = ctx.store.update(&key(info), new)?;
    Ok((200, scale_of(&out)))
}

fn pod_ready(p: &Value) -> bool {
    p["metadata"]["deletionTimestamp"].is_null()
        && p["status"]["phase"] == "Running"
        && p["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

/// `intstr` against a total: an int, or a percentage rounded up (GetScaledValueFromIntOrPercent).
fn scaled(v: &Value, total: i64) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => {
            let pct: i64 = s.strip_suffix('%')?.parse().ok()?;
            Some((pct * total + 99) / 100)
        }
        _ => None,
    }
}

/// disruptionsAllowed / currentHealthy / desiredHealthy as the disruption controller
/// computes them (pkg/controller/disruption/disruption.go), for a PDB whose status the
/// controllers have not filled yet. Expected pods: the matching pods.
pub fn compute_pdb(ctx: &Context, pdb: &Value) -> (i64, i64, i64) {
    let ns = pdb["metadata"]["namespace"].as_str().unwrap_or("");
    let sel = LabelSelector::from_object(&pdb["spec"]["selector"]).unwrap_or_default();
    let (pods, _) = ctx.store.list("pods", Some(ns));
    let matching: Vec<_> = pods.iter().filter(|p| sel.matches(p)).collect();
    let expected = matching.len() as i64;
    let healthy = matching.iter().filter(|p| pod_ready(p)).count() as i64;
    let desired = if !pdb["spec"]["minAvailable"].is_null() {
        scaled(&pdb["spec"]["minAvailable"], expected).unwrap_or(0)
    } else if !pdb["spec"]["maxUnavailable"].is_null() {
        (expected - scaled(&pdb["spec"]["maxUnavailable"], expected).unwrap_or(0)).max(0)
    } else {
        0
    };
    ((healthy - desired).max(0), healthy, desired)
}

/// POST `pods/{name}/eviction`: honour the matching PodDisruptionBudget, then delete the
/// pod gracefully. 429 when the budget allows no disruption.
pub fn evict(ctx: &Context, info: &ReqInfo, body: &[u8]) -> ApiResult {
    let name = info.name.clone().unwrap_or_default();
    let ns = handlers::ns_of(info);
    let ev: Value = if body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("error decoding Eviction: {e}")))?
    };
    if let Some(n) = ev["metadata"]["name"].as_str()
        && n != name
    {
        return Err(ApiError::bad_request(
            "name in URL does not match name in Eviction object",
        ));
    }
    let pod = get_obj(ctx, info)?;
    let opts = handlers::delete_opts(&HashMap::new(), ev["deleteOptions"].to_string().as_bytes())
        .or_else(|_| handlers::delete_opts(&HashMap::new(), b""))?;
    let success = || json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201});
    // Terminal or already-terminating pods are evicted without consulting budgets.
    let terminal = matches!(pod["status"]["phase"].as_str(), Some("Succeeded" | "Failed"));
    if terminal || !pod["metadata"]["deletionTimestamp"].is_null() {
        handlers::delete_one(ctx, &key(info), info.res, &opts)?;
        return Ok((201, success()));
    }
    let (pdbs, _) = ctx.store.list("poddisruptionbudgets", Some(&ns));
    let matching: Vec<_> = pdbs
        .iter()
        .filter(|p| {
            LabelSelector::from_object(&p["spec"]["selector"]).is_some_and(|s| !s.is_empty() && s.matches(&pod))
        })
        .collect();
    if matching.len() > 1 {
        return Err(ApiError::internal(
            "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
        ));
    }
    if let Some(pdb) = matching.first() {
        // An unready pod may always be evicted (unhealthyPodEvictionPolicy IfHealthyBudget).
        if pod_ready(&pod) {
            let observed = pdb["status"]["observedGeneration"].as_i64();
            let (allowed, healthy, desired) =
                if observed.is_some() && observed == pdb["metadata"]["generation"].as_i64() {
                    (
                        pdb["status"]["disruptionsAllowed"].as_i64().unwrap_or(0),
                        pdb["status"]["currentHealthy"].as_i64().unwrap_or(0),
                        pdb["status"]["desiredHealthy"].as_i64().unwrap_or(0),
                    )
                } else {
                    compute_pdb(ctx, pdb)
                };
            let pdb_name = pdb["metadata"]["name"].as_str().unwrap_or("");
            if allowed <= 0 {
                let mut e =
                    ApiError::too_many_requests("Cannot evict pod as it would violate the pod's disruption budget.");
                e.details = Some(json!({"causes": [{"reason": "DisruptionBudget",
                    "message": format!("The disruption budget {pdb_name} needs {desired} healthy pods and has {healthy} currently")}]}));
                return Err(e);
            }
            let pk = Key::new("poddisruptionbudgets", &ns, pdb_name);
            let pod_name = name.clone();
            let now = crate::store::now_rfc3339();
            ctx.store.modify(&pk, move |p| {
                p["status"]["disruptionsAllowed"] = json!((allowed - 1).max(0));
                p["status"]["currentHealthy"] = json!(healthy);
                p["status"]["desiredHealthy"] = json!(desired);
                if !p["status"]["disruptedPods"].is_object() {
                    p["status"]["disruptedPods"] = json!({});
                }
                p["status"]["disruptedPods"][&pod_name] = json!(now);
                Ok(())
            })?;
        }
    }
    let _ = rv_of(&pod);
    handlers::delete_one(ctx, &key(info), info.res, &opts)?;
    Ok((201, success()))
}
