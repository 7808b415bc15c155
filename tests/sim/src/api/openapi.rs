//! A minimal `/openapi/v3`: the index of group/versions and, per group/version, the
//! PATCH operations of each resource tagged with `x-kubernetes-group-version-kind` and
//! the `fieldValidation` query parameter. That is what kubectl's
//! QueryParamVerifierV3 (k8s.io/cli-runtime/pkg/resource/query_param_verifier_v3.go)
//! looks for to choose server-side field validation (`fieldValidation=Strict`) for
//! `kubectl create -f`, so it never needs the full schemas. `/openapi/v2` is 404.

use serde_json::{Map, Value, json};

use super::discovery::GROUPS;
use crate::resources::RESOURCES;

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

const HASH: &str = "0000000000000000000000000000000000000000000000000000000000000001";

pub fn index() -> Value {
    let mut paths = Map::new();
    let mut gvs = vec![("", "v1")];
    gvs.extend(GROUPS.iter().copied());
    for (g, v) in gvs {
        let p = gv_path(g, v);
        paths.insert(
            p.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash={HASH}")}),
        );
    }
    json!({"paths": paths})
}

/// The document of one group/version (`api/v1`, `apis/apps/v1`), or None.
pub fn group_version(path: &str) -> Option<Value> {
    let (group, version) = match path.split('/').collect::<Vec<_>>().as_slice() {
        ["api", v] => ("", *v),
        ["apis", g, v] => (*g, *v),
        _ => return None,
    };
    if !(GROUPS.contains(&(group, version)) || group.is_empty() && version == "v1") {
        return None;
    }
    let mut paths = Map::new();
    for r in RESOURCES.iter().filter(|r| r.group == group && r.version == version) {
        let base = format!("/{}", gv_path(group, version));
        let item = if r.namespaced {
            format!("{base}/namespaces/{{namespace}}/{}/{{name}}", r.plural)
        } else {
            format!("{base}/{}/{{name}}", r.plural)
        };
        let gvk = json!({"group": group, "version": version, "kind": r.kind});
        let params = json!([
            {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
            {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
            {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
        ]);
        paths.insert(
            item,
            json!({
                "patch": {"operationId": format!("patch{}", r.kind), "parameters": params.clone(),
                    "responses": {"200": {"description": "OK"}}, "x-kubernetes-action": "patch",
                    "x-kubernetes-group-version-kind": gvk.clone()},
                "put": {"operationId": format!("replace{}", r.kind), "parameters": params.clone(),
                    "responses": {"200": {"description": "OK"}}, "x-kubernetes-action": "put",
                    "x-kubernetes-group-version-kind": gvk},
            }),
        );
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.34.0-sts-sim"},
        "paths": paths,
        "components": {"schemas": {}},
    }))
}
