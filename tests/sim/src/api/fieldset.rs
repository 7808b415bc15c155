//! Field sets as server-side apply computes them (sigs.k8s.io/structured-merge-diff/v4:
//! fieldpath, typed/compare.go, typed/tofieldset.go) and their FieldsV1 encoding
//! (fieldpath/serialize.go), over JSON objects with the Kubernetes types' list
//! semantics built in ([`list_kind`]).
//!
//! A path is a list of encoded elements: `f:name` (a field), `k:{"name":"nginx"}` (an
//! item of an associative list, its key fields as compact JSON sorted by name),
//! `v:"x"` (an item of a set list), `i:3` (an index; unused here: other lists are atomic).

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

pub type Path = Vec<String>;
pub type Set = BTreeSet<Path>;

/// How a list merges (the `x-kubernetes-list-type` / `patchMergeKey` of k8s.io/api).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    Map(&'static [&'static str]),
    Set,
    Atomic,
}

/// The list semantics of field `field` whose items look like `sample`.
pub fn list_kind(field: &str, sample: Option<&Value>) -> ListKind {
    const NAME: &[&str] = &["name"];
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets"
        | "resourceClaims" => ListKind::Map(NAME),
        "volumeMounts" => ListKind::Map(&["mountPath"]),
        "volumeDevices" => ListKind::Map(&["devicePath"]),
        "conditions" => ListKind::Map(&["type"]),
        "ownerReferences" => ListKind::Map(&["uid"]),
        "podIPs" | "hostIPs" => ListKind::Map(&["ip"]),
        "topologySpreadConstraints" => ListKind::Map(&["topologyKey", "whenUnsatisfiable"]),
        "ports" if sample.is_some_and(|s| s.get("containerPort").is_some()) => {
            ListKind::Map(&["containerPort", "protocol"])
        }
        "ports" if sample.is_some_and(|s| s.get("port").is_some()) => ListKind::Map(&["port", "protocol"]),
        "finalizers" => ListKind::Set,
        _ => ListKind::Atomic,
    }
}

/// Maps the API treats as one value: a LabelSelector (`+structType=atomic`).
fn atomic_map(field: &str, v: &Value) -> bool {
    field == "selector" && (v.get("matchLabels").is_some() || v.get("matchExpressions").is_some())
}

pub fn field(name: &str) -> String {
    format!("f:{name}")
}

/// The `k:` element of an associative-list item; None when a key field is missing
/// (`protocol` defaults to TCP, as its `+default` marker says).
pub fn item_key(keys: &[&str], item: &Value) -> Option<String> {
    let mut m = Map::new();
    for k in keys {
        let v = match item.get(*k) {
            Some(v) if !v.is_null() => v.clone(),
            _ if *k == "protocol" => json!("TCP"),
            _ => return None,
        };
        m.insert(k.to_string(), v);
    }
    Some(format!("k:{}", Value::Object(m)))
}

fn items_by_key<'a>(keys: &[&str], list: &'a [Value]) -> Option<Vec<(String, &'a Value)>> {
    list.iter().map(|v| item_key(keys, v).map(|k| (k, v))).collect()
}

/// Added, removed and modified paths from `lhs` to `rhs` (typed/compare.go).
#[derive(Debug, Default)]
pub struct Comparison {
    pub added: Set,
    pub removed: Set,
    pub modified: Set,
}

pub fn compare(lhs: &Value, rhs: &Value) -> Comparison {
    let mut c = Comparison::default();
    walk(&mut Vec::new(), "", Some(lhs), Some(rhs), &mut c);
    c
}

fn walk(path: &mut Path, name: &str, l: Option<&Value>, r: Option<&Value>, c: &mut Comparison) {
    let empty = |v: Option<&Value>| match v {
        None | Some(Value::Null) => true,
        Some(Value::Object(m)) => m.is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        _ => false,
    };
    let sample = r.or(l).and_then(|v| v.as_array()).and_then(|a| a.first());
    let leaf = (empty(l) && empty(r))
        || match r.or(l) {
            Some(Value::Object(_)) => r.or(l).is_some_and(|v| atomic_map(name, v)),
            Some(Value::Array(_)) => !matches!(list_kind(name, sample), ListKind::Map(_) | ListKind::Set),
            _ => true,
        };
    if leaf {
        match (l, r) {
            (None, Some(_)) => c.added.insert(path.clone()),
            (Some(_), None) => c.removed.insert(path.clone()),
            (Some(a), Some(b)) if a != b => c.modified.insert(path.clone()),
            _ => false,
        };
        return;
    }
    match (l.or(r), list_kind(name, sample)) {
        (Some(Value::Object(_)), _) => walk_map(path, l, r, c),
        (_, ListKind::Map(keys)) => walk_list(path, keys, l, r, c),
        _ => walk_set(path, l, r, c),
    }
    // A map or list item that appears or goes is itself added or removed.
    if !path.is_empty() {
        match (l, r) {
            (None, Some(_)) => c.added.insert(path.clone()),
            (Some(_), None) => c.removed.insert(path.clone()),
            _ => false,
        };
    }
}

fn walk_map(path: &mut Path, l: Option<&Value>, r: Option<&Value>, c: &mut Comparison) {
    let none = Map::new();
    let lm = l.and_then(Value::as_object).unwrap_or(&none);
    let rm = r.and_then(Value::as_object).unwrap_or(&none);
    let keys: BTreeSet<&String> = lm.keys().chain(rm.keys()).collect();
    for k in keys {
        path.push(field(k));
        walk(path, k, lm.get(k), rm.get(k), c);
        path.pop();
    }
}

fn walk_list(path: &mut Path, keys: &[&str], l: Option<&Value>, r: Option<&Value>, c: &mut Comparison) {
    let none = Vec::new();
    let la = l.and_then(Value::as_array).unwrap_or(&none);
    let ra = r.and_then(Value::as_array).unwrap_or(&none);
    let (Some(li), Some(ri)) = (items_by_key(keys, la), items_by_key(keys, ra)) else {
        // Items without their key: compared as one value.
        if l != r {
            c.modified.insert(path.clone());
        }
        return;
    };
    let ids: BTreeSet<&String> = li.iter().chain(ri.iter()).map(|(k, _)| k).collect();
    let find = |v: &[(String, &Value)], id: &str| v.iter().find(|(k, _)| k == id).map(|(_, x)| (*x).clone());
    for id in ids {
        let (a, b) = (find(&li, id), find(&ri, id));
        path.push(id.clone());
        walk(path, "", a.as_ref(), b.as_ref(), c);
        path.pop();
    }
}

fn walk_set(path: &mut Path, l: Option<&Value>, r: Option<&Value>, c: &mut Comparison) {
    let none = Vec::new();
    let la = l.and_then(Value::as_array).unwrap_or(&none);
    let ra = r.and_then(Value::as_array).unwrap_or(&none);
    for v in la.iter().filter(|v| !ra.contains(v)) {
        c.removed.insert(child(path, format!("v:{v}")));
    }
    for v in ra.iter().filter(|v| !la.contains(v)) {
        c.added.insert(child(path, format!("v:{v}")));
    }
}

fn child(path: &Path, el: String) -> Path {
    let mut p = path.clone();
    p.push(el);
    p
}

/// The fields an object sets (typed/tofieldset.go): every leaf, list item, empty or
/// null value and atomic value.
pub fn of_object(v: &Value) -> Set {
    let mut s = Set::new();
    collect(&mut Vec::new(), "", v, &mut s);
    s
}

fn collect(path: &mut Path, name: &str, v: &Value, s: &mut Set) {
    match v {
        Value::Object(m) if !m.is_empty() && !atomic_map(name, v) => {
            for (k, x) in m {
                path.push(field(k));
                collect(path, k, x, s);
                path.pop();
            }
        }
        Value::Array(a) if !a.is_empty() => match list_kind(name, a.first()) {
            ListKind::Map(keys) => match items_by_key(keys, a) {
                Some(items) => {
                    for (k, x) in items {
                        path.push(k);
                        s.insert(path.clone());
                        collect(path, "", x, s);
                        path.pop();
                    }
                }
                None => {
                    s.insert(path.clone());
                }
            },
            ListKind::Set => {
                for x in a {
                    s.insert(child(path, format!("v:{x}")));
                }
            }
            ListKind::Atomic => {
                s.insert(path.clone());
            }
        },
        _ => {
            if !path.is_empty() {
                s.insert(path.clone());
            }
        }
    }
}

/// FieldsV1 JSON: one object per path element, `{}` for a member, `".": {}` for a
/// member that also has children.
pub fn encode(s: &Set) -> Value {
    let mut root = json!({});
    for p in s {
        let mut node = &mut root;
        for el in p {
            node = node
                .as_object_mut()
                .expect("object")
                .entry(el.clone())
                .or_insert_with(|| json!({}));
        }
    }
    for p in s {
        let mut node = &mut root;
        for el in p {
            node = &mut node[el.as_str()];
        }
        if let Some(m) = node.as_object_mut().filter(|m| !m.is_empty()) {
            m.insert(".".into(), json!({}));
        }
    }
    root
}

pub fn decode(v: &Value) -> Set {
    let mut s = Set::new();
    decode_into(&mut Vec::new(), v, &mut s);
    s
}

fn decode_into(path: &mut Path, v: &Value, s: &mut Set) {
    let Some(m) = v.as_object() else { return };
    for (k, x) in m {
        if k == "." {
            s.insert(path.clone());
            continue;
        }
        path.push(k.clone());
        if x.as_object().is_some_and(Map::is_empty) {
            s.insert(path.clone());
        } else {
            decode_into(path, x, s);
        }
        path.pop();
    }
}

/// `.spec.template.spec.containers[name="nginx"].image`, as conflicts print a path.
pub fn display(p: &Path) -> String {
    let mut out = String::new();
    for el in p {
        if let Some(f) = el.strip_prefix("f:") {
            out.push('.');
            out.push_str(f);
        } else if let Some(k) = el.strip_prefix("k:") {
            let m: Map<String, Value> = serde_json::from_str(k).unwrap_or_default();
            let parts: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v}")).collect();
            out.push_str(&format!("[{}]", parts.join(",")));
        } else if let Some(v) = el.strip_prefix("v:") {
            out.push_str(&format!("[={v}]"));
        } else if let Some(i) = el.strip_prefix("i:") {
            out.push_str(&format!("[{i}]"));
        }
    }
    out
}

/// Paths of `s` at or under `prefix`.
pub fn under<'a>(s: &'a Set, prefix: &'a [String]) -> impl Iterator<Item = &'a Path> + 'a {
    s.iter().filter(move |p| p.starts_with(prefix))
}

#[cfg(test)]
mod tests;
