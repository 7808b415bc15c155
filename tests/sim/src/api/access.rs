//! `SelfSubjectAccessReview` (authorization.k8s.io/v1): "may I do this?", answered from
//! the same RBAC rules the sim enforces ([`Faults::permits`]), so `kubectl auth can-i`
//! and the plugin's permission preflight see what the requests themselves would get.
//!
//! Shapes follow pkg/registry/authorization/selfsubjectaccessreview/rest.go: the
//! request's spec is echoed back with `status.allowed` (and `status.reason` when an
//! authorizer gave one); exactly one of `resourceAttributes` / `nonResourceAttributes`
//! must be set, else 422. Every authenticated user may create one (the
//! `system:basic-user` ClusterRole), so RBAC allowlists never deny it.

use serde_json::{Value, json};

use crate::error::ApiError;
use crate::faults::{Faults, USER};

pub const PATH: &str = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";
pub const RESOURCE: &str = "selfsubjectaccessreviews";

/// The discovery entry of authorization.k8s.io/v1 (the sim serves only this resource
/// of the group).
pub fn discovery_list() -> Value {
    json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": "authorization.k8s.io/v1",
        "resources": [{
            "name": RESOURCE,
            "singularName": "selfsubjectaccessreview",
            "namespaced": false,
            "kind": "SelfSubjectAccessReview",
            "verbs": ["create"]
        }]
    })
}

/// Review one request body (JSON, or the protobuf kubectl's typed clients send).
pub fn review(faults: &Faults, body: &[u8]) -> Result<(u16, Value), ApiError> {
    let mut obj: Value = match body.strip_prefix(PROTOBUF_MAGIC) {
        Some(envelope) => from_protobuf(envelope)
            .ok_or_else(|| ApiError::bad_request("the body of the request was in an unknown format: bad protobuf"))?,
        None => serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("the body of the request was in an unknown format: {e}")))?,
    };
    if obj["kind"] != "SelfSubjectAccessReview" && !obj["kind"].is_null() {
        return Err(ApiError::bad_request(format!(
            "the kind {} of the body does not match SelfSubjectAccessReview",
            obj["kind"]
        )));
    }
    let ra = &obj["spec"]["resourceAttributes"];
    let nra = &obj["spec"]["nonResourceAttributes"];
    let invalid = |msg: &str| {
        ApiError::new(
            422,
            "Invalid",
            format!("SelfSubjectAccessReview.authorization.k8s.io \"\" is invalid: {msg}"),
        )
    };
    let allowed = match (ra.is_object(), nra.is_object()) {
        (true, true) => {
            return Err(invalid(
                "spec.nonResourceAttributes: Invalid value: \"\": cannot be specified in combination with resourceAttributes",
            ));
        }
        (false, false) => {
            return Err(invalid(
                "spec.resourceAttributes: Invalid value: \"null\": exactly one of nonResourceAttributes or resourceAttributes must be specified",
            ));
        }
        // Discovery and health paths are open to everyone; nothing else is served.
        (false, true) => true,
        (true, false) => {
            let verb = ra["verb"].as_str().unwrap_or("");
            let mut resource = ra["resource"].as_str().unwrap_or("").to_string();
            if let Some(sub) = ra["subresource"].as_str().filter(|s| !s.is_empty()) {
                resource = format!("{resource}/{sub}");
            }
            faults.permits(verb, &resource)
        }
    };
    obj["apiVersion"] = json!("authorization.k8s.io/v1");
    obj["kind"] = json!("SelfSubjectAccessReview");
    obj["metadata"] = json!({"creationTimestamp": null});
    obj["status"] = if allowed {
        json!({"allowed": true, "reason": format!("RBAC: allowed by ClusterRoleBinding \"sts-sim\" of ClusterRole \"sts-sim\" to User \"{USER}\"")})
    } else {
        json!({"allowed": false})
    };
    Ok((201, obj))
}

/// Kubernetes' protobuf envelope starts with these bytes, then a `runtime.Unknown`.
const PROTOBUF_MAGIC: &[u8] = b"k8s\0";

/// The length-delimited fields of one protobuf message, as (field number, bytes);
/// fields of the other wire types are skipped. None: malformed.
fn fields(mut b: &[u8]) -> Option<Vec<(u64, &[u8])>> {
    fn varint(b: &mut &[u8]) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = b.split_first()?;
            *b = rest;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    let mut out = Vec::new();
    while !b.is_empty() {
        let key = varint(&mut b)?;
        match key & 7 {
            0 => {
                varint(&mut b)?;
            }
            2 => {
                let len = usize::try_from(varint(&mut b)?).ok()?;
                if len > b.len() {
                    return None;
                }
                let (v, rest) = b.split_at(len);
                out.push((key >> 3, v));
                b = rest;
            }
            1 => b = b.get(8..)?,
            5 => b = b.get(4..)?,
            _ => return None,
        }
    }
    Some(out)
}

/// The string fields of a message, by field number, as JSON.
fn strings(b: &[u8], names: &[(u64, &str)]) -> Option<Value> {
    let mut obj = serde_json::Map::new();
    for (n, v) in fields(b)? {
        if let Some((_, name)) = names.iter().find(|(f, _)| *f == n) {
            obj.insert(name.to_string(), json!(std::str::from_utf8(v).ok()?));
        }
    }
    Some(Value::Object(obj))
}

/// A SelfSubjectAccessReview from its protobuf envelope (k8s.io/api generated.proto:
/// runtime.Unknown{typeMeta=1, raw=2}; review{metadata=1, spec=2}; spec{
/// resourceAttributes=1, nonResourceAttributes=2}; ResourceAttributes{namespace=1,
/// verb=2, group=3, version=4, resource=5, subresource=6, name=7};
/// NonResourceAttributes{path=1, verb=2}). Only what the review reads is decoded.
fn from_protobuf(envelope: &[u8]) -> Option<Value> {
    let raw = fields(envelope)?.into_iter().find(|(n, _)| *n == 2)?.1;
    let mut spec = serde_json::Map::new();
    for (n, v) in fields(raw)? {
        if n != 2 {
            continue;
        }
        for (f, attrs) in fields(v)? {
            match f {
                1 => {
                    let names = [
                        (1, "namespace"),
                        (2, "verb"),
                        (3, "group"),
                        (4, "version"),
                        (5, "resource"),
                        (6, "subresource"),
                        (7, "name"),
                    ];
                    spec.insert("resourceAttributes".into(), strings(attrs, &names)?);
                }
                2 => {
                    spec.insert(
                        "nonResourceAttributes".into(),
                        strings(attrs, &[(1, "path"), (2, "verb")])?,
                    );
                }
                _ => {}
            }
        }
    }
    Some(json!({"kind": "SelfSubjectAccessReview", "spec": spec}))
}
