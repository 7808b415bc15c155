//! PATCH bodies: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic
//! merge patch for the Kubernetes fields that carry a `patchMergeKey` (k8s.io/api
//! struct tags, e.g. `containers` merge by `name`). Strategic merge follows
//! k8s.io/apimachinery/pkg/util/strategicpatch/patch.go for the directives kubectl
//! sends: `$setElementOrder/<list>`, `$patch: delete|replace|merge`,
//! `$deleteFromPrimitiveList/<list>`, `$retainKeys`.

use serde_json::{Map, Value};

use crate::error::ApiError;

pub const MERGE: &str = "application/merge-patch+json";
pub const STRATEGIC: &str = "application/strategic-merge-patch+json";
pub const JSON: &str = "application/json-patch+json";
pub const APPLY: &str = "application/apply-patch+yaml";

/// Server-side apply, which `crate::api::handlers` handles itself.
pub fn is_apply(content_type: &str) -> bool {
    content_type.split(';').next().unwrap_or("").trim() == APPLY
}

/// Apply a patch of the given content type to `target` (whole object).
pub fn apply(content_type: &str, target: &Value, body: &[u8]) -> Result<Value, ApiError> {
    let ct = content_type.split(';').next().unwrap_or("").trim();
    let parse = || -> Result<Value, ApiError> {
        serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))
    };
    let mut doc = target.clone();
    match ct {
        MERGE => {
            json_patch::merge(&mut doc, &parse()?);
        }
        STRATEGIC => {
            let p = parse()?;
            if !p.is_object() {
                return Err(ApiError::bad_request("strategic merge patch must be a JSON object"));
            }
            doc = strategic(&doc, &p, "");
        }
        JSON => {
            let p: json_patch::Patch = serde_json::from_value(parse()?)
                .map_err(|e| ApiError::bad_request(format!("error decoding JSON patch: {e}")))?;
            json_patch::patch(&mut doc, &p).map_err(|e| {
                ApiError::new(
                    422,
                    "Invalid",
                    format!("the server rejected our request due to an error in our request: {e}"),
                )
            })?;
        }
        _ => {
            return Err(ApiError::new(
                415,
                "UnsupportedMediaType",
                format!(
                    "the body of the request was in an unknown format - accepted media types include: {JSON}, {MERGE}, {STRATEGIC}, {APPLY}"
                ),
            ));
        }
    }
    Ok(doc)
}

/// The merge key of a list field, from the Kubernetes API types' `patchMergeKey` tags.
fn merge_key(field: &str) -> Option<&'static str> {
    Some(match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "env"
        | "imagePullSecrets"
        | "resourceClaims" => "name",
        "ports" => "containerPort",
        "volumeMounts" => "mountPath",
        "volumeDevices" => "devicePath",
        "conditions" => "type",
        "ownerReferences" => "uid",
        "hostAliases" => "ip",
        "topologySpreadConstraints" => "topologyKey",
        _ => return None,
    })
}

/// Primitive lists with `patchStrategy:"merge"` (union instead of replace).
fn merges_primitives(field: &str) -> bool {
    field == "finalizers"
}

fn strategic(target: &Value, patch: &Value, _field: &str) -> Value {
    let (Some(t), Some(p)) = (target.as_object(), patch.as_object()) else {
        return patch.clone();
    };
    if p.get("$patch").and_then(Value::as_str) == Some("replace") {
        let mut m = p.clone();
        m.remove("$patch");
        return Value::Object(m);
    }
    let mut out: Map<String, Value> = t.clone();
    // Lists ordered by `$setElementOrder/<name>` are handled with their list.
    for (k, pv) in p {
        if k.starts_with("$setElementOrder/") || k == "$retainKeys" || k == "$patch" {
            continue;
        }
        if let Some(list) = k.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(cur), Some(del)) = (out.get_mut(list).and_then(Value::as_array_mut), pv.as_array()) {
                cur.retain(|v| !del.contains(v));
            }
            continue;
        }
        if pv.is_null() {
            out.remove(k);
            continue;
        }
        let order = p.get(&format!("$setElementOrder/{k}")).and_then(Value::as_array);
        let merged = match (out.get(k), pv) {
            (Some(tv @ Value::Object(_)), Value::Object(_)) => strategic(tv, pv, k),
            (Some(Value::Array(ta)), Value::Array(pa)) => merge_list(k, ta, pa, order),
            (None, Value::Object(_)) => strategic(&Value::Object(Map::new()), pv, k),
            (None, Value::Array(pa)) => merge_list(k, &[], pa, order),
            _ => pv.clone(),
        };
        out.insert(k.clone(), merged);
    }
    Value::Object(out)
}

fn merge_list(field: &str, target: &[Value], patch: &[Value], order: Option<&Vec<Value>>) -> Value {
    if merges_primitives(field) {
        let mut out = target.to_vec();
        for v in patch {
            if !out.contains(v) {
                out.push(v.clone());
            }
        }
        return Value::Array(out);
    }
    let Some(key) = merge_key(field) else {
        return Value::Array(patch.to_vec());
    };
    if patch
        .iter()
        .any(|v| v.get("$patch").and_then(Value::as_str) == Some("replace"))
    {
        return Value::Array(patch.iter().filter(|v| v.get("$patch").is_none()).cloned().collect());
    }
    let mut out: Vec<Value> = target.to_vec();
    for pv in patch {
        let id = &pv[key];
        let pos = out.iter().position(|t| &t[key] == id && !id.is_null());
        let delete = pv.get("$patch").and_then(Value::as_str) == Some("delete");
        match (pos, delete) {
            (Some(i), true) => {
                out.remove(i);
            }
            (None, true) => {}
            (Some(i), false) => out[i] = strategic(&out[i], pv, field),
            (None, false) => out.push(strategic(&Value::Object(Map::new()), pv, field)),
        }
    }
    if let Some(order) = order {
        // Items named in `$setElementOrder` come in that order; others keep theirs, after.
        let rank = |v: &Value| order.iter().position(|o| o[key] == v[key]).unwrap_or(usize::MAX);
        out.sort_by_key(rank);
    }
    Value::Array(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn set_image_patch_keeps_other_container_fields() {
        let sts = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "nginx", "image": "nginx:1.14", "ports": [{"containerPort": 80}]},
            {"name": "side", "image": "busybox"}
        ]}}}});
        let p = br#"{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"nginx"},{"name":"side"}],"containers":[{"image":"nginx:1.25","name":"nginx"}]}}}}"#;
        let out = apply(STRATEGIC, &sts, p).unwrap();
        let c = &out["spec"]["template"]["spec"]["containers"];
        assert_eq!(c[0]["image"], "nginx:1.25");
        assert_eq!(c[0]["ports"][0]["containerPort"], 80);
        assert_eq!(c[1]["name"], "side");
    }

    #[test]
    fn delete_directive_and_null() {
        let o =
            json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"volumes": [{"name": "x"}, {"name": "y"}]}});
        let p = br#"{"metadata":{"labels":{"a":null}},"spec":{"volumes":[{"name":"x","$patch":"delete"}]}}"#;
        let out = apply(STRATEGIC, &o, p).unwrap();
        assert_eq!(out["metadata"]["labels"], json!({"b": "2"}));
        assert_eq!(out["spec"]["volumes"], json!([{"name": "y"}]));
    }

    #[test]
    fn unsupported_type_is_415() {
        assert_eq!(apply(APPLY, &json!({}), b"{}").unwrap_err().code, 415);
    }
}
