//! Discovery documents (`/version`, `/api`, `/apis`, `/api/v1`, `/apis/{group}/{version}`)
//! built from the resource registry, shaped as discovery_*.json of the reference
//! captures. Aggregated discovery (`as=APIGroupDiscoveryList`) is not offered: the
//! answer's `Content-Type: application/json` makes clients (client-go, kube-rs) fall
//! back to these per-group lists, as they do against servers older than 1.26.

use serde_json::{Value, json};

use crate::resources::{RESOURCES, Resource};

/// Groups served besides the core group, in the order a real server lists them.
/// `autoscaling/v1` is not listed although it is the `Scale` kind's group: the sim
/// serves no resource in it, and client-go's discovery fails a group version whose
/// resource list is empty ("received empty response for: autoscaling/v1",
/// client-go/discovery/cached/memory/memcache.go), which breaks `kubectl api-resources`
/// and every kubectl command's shortcut expansion. `kubectl scale` takes the Scale
/// kind's group from the `statefulsets/scale` entry of apps/v1, not from /apis.
/// authorization.k8s.io/v1 serves only SelfSubjectAccessReview ([`super::access`]).
pub const GROUPS: &[(&str, &str)] = &[
    ("apps", "v1"),
    ("authorization.k8s.io", "v1"),
    ("policy", "v1"),
    ("storage.k8s.io", "v1"),
];

pub fn version() -> Value {
    json!({
        "major": "1",
        "minor": "34",
        "gitVersion": "v1.34.0-sts-sim",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-01-01T00:00:00Z",
        "goVersion": "go1.24.0",
        "compiler": "gc",
        "platform": "linux/amd64"
    })
}

pub fn api_versions(addr: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": addr}]
    })
}

pub fn api_groups() -> Value {
    let groups: Vec<Value> = GROUPS
        .iter()
        .map(|(g, v)| {
            let gv = json!({"groupVersion": format!("{g}/{v}"), "version": v});
            json!({"name": g, "versions": [gv.clone()], "preferredVersion": gv})
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// Subresource entries: (kind, group, version, verbs) as the real lists give them.
fn subresource(res: &Resource, sub: &str) -> Value {
    let (kind, group, version, verbs): (&str, Option<&str>, Option<&str>, &[&str]) = match sub {
        "scale" => ("Scale", Some("autoscaling"), Some("v1"), &["get", "patch", "update"]),
        "eviction" => ("Eviction", Some("policy"), Some("v1"), &["create"]),
        "exec" => ("PodExecOptions", None, None, &["create", "get"]),
        "log" => ("Pod", None, None, &["get"]),
        _ => (res.kind, None, None, &["get", "patch", "update"]),
    };
    let mut e = json!({
        "name": format!("{}/{sub}", res.plural),
        "singularName": "",
        "namespaced": res.namespaced,
        "kind": kind,
        "verbs": verbs,
    });
    if let Some(g) = group {
        e["group"] = json!(g);
    }
    if let Some(v) = version {
        e["version"] = json!(v);
    }
    e
}

/// The APIResourceList of one group/version, or None if it is not served.
pub fn resource_list(group: &str, version: &str) -> Option<Value> {
    let gv = if group.is_empty() {
        if version != "v1" {
            return None;
        }
        "v1".to_string()
    } else {
        if !GROUPS.contains(&(group, version)) {
            return None;
        }
        format!("{group}/{version}")
    };
    let mut resources = Vec::new();
    let mut served: Vec<&Resource> = RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
        .collect();
    served.sort_by_key(|r| r.plural);
    for r in served {
        let mut e = json!({
            "name": r.plural,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
        });
        if !r.short_names.is_empty() {
            e["shortNames"] = json!(r.short_names);
        }
        if !r.categories.is_empty() {
            e["categories"] = json!(r.categories);
        }
        resources.push(e);
        for sub in r.subresources {
            resources.push(subresource(r, sub));
        }
    }
    Some(json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}))
}
