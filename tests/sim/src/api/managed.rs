//! `metadata.managedFields` as the API server records them: k8s.io/apiserver
//! pkg/endpoints/handlers/fieldmanager (and its internal package) over
//! sigs.k8s.io/structured-merge-diff/v4 (merge/update.go `Update`, `Apply`, `prune`).
//!
//! - The manager is the `fieldManager` query parameter, else the User-Agent up to its
//!   first `/` (handlers/rest.go `managerOrUserAgent`, `prefixFromUserAgent`): kubectl's
//!   `kubectl/v1.37.1 (linux/amd64) kubernetes/f78e722` is `kubectl`, while kubectl's
//!   commands pass their own (`kubectl-create`, `kubectl-client-side-apply`,
//!   `kubectl-edit`, `kubectl-rollout`, `kubectl-set`, ...).
//! - An update (create, PUT, PATCH, and the `status` / `scale` subresources) gives its
//!   manager the fields it added or changed and takes them from every other manager;
//!   removed fields leave every manager. A write that changes nothing changes no entry.
//!   Entries are keyed by manager, operation, apiVersion and subresource, and carry the
//!   time of the last change (the `scale` entry none, as in obj-statefulset-web-after-
//!   rollout.json of the reference captures).
//! - A create starts from the kind's zero value, so the fields the Go types always
//!   encode (a StatefulSet's `template`, `updateStrategy`, `containers: null`) carry no
//!   `"."` of their own, as in that capture's `kubectl-create` entry; defaulted fields
//!   belong to the creator.
//! - Server-side apply (`application/apply-patch+yaml`, `fieldManager` required): the
//!   applied configuration is merged into the live object; fields the manager applied
//!   before and no longer applies are removed unless another manager owns them; a field
//!   whose value changes while another manager owns it is a conflict (409, unless
//!   `force=true`, which takes it over). The applier owns exactly what it applied.
//! - The API version, kind, name, namespace, uid, resourceVersion, generation,
//!   creationTimestamp and managedFields are never owned (internal/stripmeta.go); the
//!   main resource's writes never own `status`, a `status` write owns only `status`
//!   (the strategies' reset fields).
//! - Not modelled: the cap of ten update entries merged into `ancient-changes`, the
//!   `before-first-apply` entry, and the last-applied annotation of client-side apply.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::fieldset::{self, Set};
use crate::error::ApiError;
use crate::resources::Resource;

/// One managedFields entry, its field set decoded.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    manager: String,
    operation: String,
    api_version: String,
    subresource: String,
    time: Option<String>,
    set: Set,
}

impl Entry {
    fn same(&self, o: &Entry) -> bool {
        (&self.manager, &self.operation, &self.api_version, &self.subresource)
            == (&o.manager, &o.operation, &o.api_version, &o.subresource)
    }
}

/// Who writes, and how.
pub struct Write<'a> {
    pub res: &'a Resource,
    pub manager: String,
    /// `status` or `scale`, None for the resource itself.
    pub subresource: Option<&'a str>,
}

/// The manager of a request (handlers/rest.go `managerOrUserAgent`).
pub fn manager_of(q: &HashMap<String, String>, user_agent: &str) -> String {
    match q.get("fieldManager").filter(|m| !m.is_empty()) {
        Some(m) => m.clone(),
        None => user_agent
            .split('/')
            .next()
            .unwrap_or("")
            .chars()
            .filter(|c| !c.is_control())
            .take(128)
            .collect(),
    }
}

/// The fields the kind's Go zero value encodes (what a create is compared against).
fn zero(res: &Resource) -> Value {
    let meta = json!({"creationTimestamp": null});
    match res.plural {
        "statefulsets" => json!({"metadata": meta, "spec": {"selector": null, "serviceName": "", "updateStrategy": {},
            "template": {"metadata": {"creationTimestamp": null}, "spec": {"containers": null}}},
            "status": {"replicas": 0}}),
        "pods" => json!({"metadata": meta, "spec": {"containers": null}, "status": {}}),
        "persistentvolumeclaims" => json!({"metadata": meta, "spec": {"resources": {}}, "status": {}}),
        "services" | "persistentvolumes" => json!({"metadata": meta, "spec": {}, "status": {}}),
        _ => json!({"metadata": meta}),
    }
}

/// The object as the field manager sees it: no managedFields.
fn bare(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(m) = v["metadata"].as_object_mut() {
        m.remove("managedFields");
    }
    v
}

/// Paths nobody owns (stripmeta), and those this write may not own (reset fields).
fn ownable(w: &Write, set: Set) -> Set {
    const META: [&str; 9] = [
        "name",
        "namespace",
        "creationTimestamp",
        "selfLink",
        "uid",
        "clusterName",
        "generation",
        "managedFields",
        "resourceVersion",
    ];
    let status = fieldset::field("status");
    set.into_iter()
        .filter(|p| match p.as_slice() {
            [] => false,
            [a] => a != "f:apiVersion" && a != "f:kind" && a != "f:metadata",
            [m, f] if m == "f:metadata" => !META.iter().any(|x| f == &fieldset::field(x)),
            _ => true,
        })
        .filter(|p| match w.subresource {
            Some("status") => p.first() == Some(&status),
            _ if w.res.subresources.contains(&"status") => p.first() != Some(&status),
            _ => true,
        })
        .collect()
}

fn decode_entries(obj: &Value) -> Vec<Entry> {
    obj["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| Entry {
            manager: e["manager"].as_str().unwrap_or("").into(),
            operation: e["operation"].as_str().unwrap_or("").into(),
            api_version: e["apiVersion"].as_str().unwrap_or("").into(),
            subresource: e["subresource"].as_str().unwrap_or("").into(),
            time: e["time"].as_str().map(str::to_string),
            set: fieldset::decode(&e["fieldsV1"]),
        })
        .collect()
}

/// Sorted as internal/managedfields.go `sortEncodedManagedFields`: operation (Apply
/// first), time (none first), manager, apiVersion, subresource.
fn encode_entries(mut es: Vec<Entry>) -> Value {
    es.retain(|e| !e.set.is_empty());
    es.sort_by(|a, b| {
        (&a.operation, &a.time, &a.manager, &a.api_version, &a.subresource).cmp(&(
            &b.operation,
            &b.time,
            &b.manager,
            &b.api_version,
            &b.subresource,
        ))
    });
    Value::Array(
        es.into_iter()
            .map(|e| {
                let mut v = json!({"manager": e.manager, "operation": e.operation, "apiVersion": e.api_version,
                                   "fieldsType": "FieldsV1", "fieldsV1": fieldset::encode(&e.set)});
                if let Some(t) = e.time {
                    v["time"] = json!(t);
                }
                if !e.subresource.is_empty() {
                    v["subresource"] = json!(e.subresource);
                }
                if e.manager.is_empty() {
                    v.as_object_mut().map(|m| m.remove("manager"));
                }
                v
            })
            .collect(),
    )
}

/// The entries a write starts from (fieldmanager.go `decodeLiveOrNew`): the request's
/// own when it sent some (an empty list resets them), else the live object's; a
/// subresource write always keeps the live object's.
fn prior(w: &Write, live: Option<&Value>, new: &Value) -> Vec<Entry> {
    let sent = &new["metadata"]["managedFields"];
    match (w.subresource, sent.as_array()) {
        (None, Some(a)) if a.is_empty() => Vec::new(),
        (None, Some(_)) => decode_entries(new),
        _ => live.map(decode_entries).unwrap_or_default(),
    }
}

fn entry(w: &Write, operation: &str, set: Set) -> Entry {
    Entry {
        manager: w.manager.clone(),
        operation: operation.into(),
        api_version: w.res.api_version(),
        subresource: w.subresource.unwrap_or("").into(),
        time: (w.subresource != Some("scale")).then(crate::store::now_rfc3339),
        set,
    }
}

/// Record an update-style write (create when `live` is None) in `new`'s managedFields.
pub fn record_update(w: &Write, live: Option<&Value>, new: &mut Value) {
    let mut entries = prior(w, live, new);
    let base = live.map(bare).unwrap_or_else(|| zero(w.res));
    let c = fieldset::compare(&base, &bare(new));
    let changed = ownable(w, &c.added | &c.modified);
    let removed = ownable(w, c.removed);
    for e in &mut entries {
        e.set = &(&e.set - &changed) - &removed;
    }
    if !changed.is_empty() {
        let mine = entry(w, "Update", changed);
        match entries.iter_mut().find(|e| e.same(&mine)) {
            Some(e) => {
                e.set = &e.set | &mine.set;
                e.time = mine.time;
            }
            None => entries.push(mine),
        }
    }
    new["metadata"]["managedFields"] = encode_entries(entries);
}

/// Server-side apply, first half: the applied configuration merged into the live object
/// and the fields it no longer applies pruned (merge/update.go `Apply`, `prune`).
/// Defaulting and validation come next, then [`record_apply`].
pub fn apply_merge(w: &Write, live: Option<&Value>, config: &Value) -> Value {
    let base = live.cloned().unwrap_or_else(|| json!({}));
    let mut merged = merge("", &base, config);
    let entries = live.map(decode_entries).unwrap_or_default();
    let me = entry(w, "Apply", Set::new());
    let last = entries
        .iter()
        .find(|e| e.same(&me))
        .map(|e| e.set.clone())
        .unwrap_or_default();
    let now = ownable(w, fieldset::of_object(config));
    let others: Set = entries
        .iter()
        .filter(|e| !e.same(&me))
        .flat_map(|e| e.set.iter().cloned())
        .collect();
    let mut pruned: Vec<&fieldset::Path> = last
        .difference(&now)
        .filter(|p| fieldset::under(&others, p).next().is_none())
        .collect();
    pruned.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in pruned {
        remove_path(&mut merged, p);
    }
    merged
}

/// Server-side apply, second half: conflicts with other managers (409 unless forced)
/// and the entries, the applier owning exactly what it applied.
pub fn record_apply(
    w: &Write,
    live: Option<&Value>,
    new: &mut Value,
    config: &Value,
    force: bool,
) -> Result<(), ApiError> {
    let mut entries = live.map(decode_entries).unwrap_or_default();
    let base = live.map(bare).unwrap_or_else(|| zero(w.res));
    let c = fieldset::compare(&base, &bare(new));
    let changed = ownable(w, &c.added | &c.modified);
    let removed = ownable(w, c.removed);
    let me = entry(w, "Apply", ownable(w, fieldset::of_object(config)));
    let conflicts: Vec<(String, fieldset::Path)> = entries
        .iter()
        .filter(|e| !e.same(&me))
        .flat_map(|e| e.set.intersection(&changed).map(move |p| (print_manager(e), p.clone())))
        .collect();
    if !conflicts.is_empty() && !force {
        return Err(conflict_error(&conflicts));
    }
    for e in entries.iter_mut().filter(|e| !e.same(&me)) {
        e.set = &(&e.set - &changed) - &removed;
    }
    entries.retain(|e| !e.same(&me));
    entries.push(me);
    new["metadata"]["managedFields"] = encode_entries(entries);
    Ok(())
}

/// `"kubectl-create" using apps/v1` (internal/conflict.go `printManager`).
fn print_manager(e: &Entry) -> String {
    let mut s = format!("{:?}", e.manager);
    if !e.subresource.is_empty() {
        s += &format!(" with subresource {:?}", e.subresource);
    }
    if e.operation == "Update" {
        s += &format!(" using {}", e.api_version);
    }
    s
}

/// 409 Conflict as internal/conflict.go `NewConflictError` words it.
fn conflict_error(conflicts: &[(String, fieldset::Path)]) -> ApiError {
    let causes: Vec<Value> = conflicts
        .iter()
        .map(|(m, p)| json!({"reason": "FieldManagerConflict", "message": format!("conflict with {m}"), "field": fieldset::display(p)}))
        .collect();
    let message = match conflicts {
        [(m, p)] => format!(
            "Apply failed with 1 conflict: conflict with {m}: {}",
            fieldset::display(p)
        ),
        _ => {
            let mut managers: Vec<&String> = conflicts.iter().map(|(m, _)| m).collect();
            managers.sort();
            managers.dedup();
            let lines: Vec<String> = managers
                .iter()
                .flat_map(|m| {
                    std::iter::once(format!("conflicts with {m}:")).chain(
                        conflicts
                            .iter()
                            .filter(move |(x, _)| x == *m)
                            .map(|(_, p)| format!("- {}", fieldset::display(p))),
                    )
                })
                .collect();
            format!("Apply failed with {} conflicts: {}", conflicts.len(), lines.join("\n"))
        }
    };
    let mut e = ApiError::new(409, "Conflict", message);
    e.details = Some(json!({"causes": causes}));
    e
}

/// `cfg` merged into `live`: maps by key, associative lists by item key, set lists as a
/// union, anything else replaced; a null in `cfg` removes the field.
fn merge(name: &str, live: &Value, cfg: &Value) -> Value {
    match (live, cfg) {
        (Value::Object(l), Value::Object(c)) if !(name == "selector" && cfg.get("matchLabels").is_some()) => {
            let mut out = l.clone();
            for (k, v) in c {
                if v.is_null() {
                    out.remove(k);
                    continue;
                }
                let m = out.get(k).map(|lv| merge(k, lv, v)).unwrap_or_else(|| v.clone());
                out.insert(k.clone(), m);
            }
            Value::Object(out)
        }
        (Value::Array(l), Value::Array(c)) => match fieldset::list_kind(name, c.first().or(l.first())) {
            fieldset::ListKind::Map(keys) => {
                let mut out = l.clone();
                for item in c {
                    let id = fieldset::item_key(keys, item);
                    match out
                        .iter_mut()
                        .find(|x| id.is_some() && fieldset::item_key(keys, x) == id)
                    {
                        Some(x) => *x = merge("", x, item),
                        None => out.push(item.clone()),
                    }
                }
                Value::Array(out)
            }
            fieldset::ListKind::Set => {
                let mut out = l.clone();
                out.extend(c.iter().filter(|v| !l.contains(v)).cloned());
                Value::Array(out)
            }
            fieldset::ListKind::Atomic => cfg.clone(),
        },
        _ => cfg.clone(),
    }
}

/// Remove the field, list item or set element at `path`.
fn remove_path(v: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut node = v;
    let mut name = String::new();
    for el in parents {
        let Some(next) = step(node, &name, el) else { return };
        name = el.strip_prefix("f:").unwrap_or("").to_string();
        node = next;
    }
    if let Some(f) = last.strip_prefix("f:") {
        node.as_object_mut().map(|m| m.remove(f));
    } else if let Some(a) = node.as_array_mut() {
        a.retain(|x| !matches_element(&name, x, last));
    }
}

fn step<'a>(node: &'a mut Value, name: &str, el: &str) -> Option<&'a mut Value> {
    match el.strip_prefix("f:") {
        Some(f) => node.get_mut(f),
        None => node.as_array_mut()?.iter_mut().find(|x| matches_element(name, x, el)),
    }
}

fn matches_element(list: &str, item: &Value, el: &str) -> bool {
    if let Some(v) = el.strip_prefix("v:") {
        return serde_json::from_str::<Value>(v).is_ok_and(|v| &v == item);
    }
    match fieldset::list_kind(list, Some(item)) {
        fieldset::ListKind::Map(keys) => fieldset::item_key(keys, item).as_deref() == Some(el),
        _ => false,
    }
}

#[cfg(test)]
mod tests;
