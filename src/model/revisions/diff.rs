//! `rollout history --diff`: what changed in the pod template from one ControllerRevision
//! to the next. Pure: the templates in, the changed paths, a unified diff of their YAML
//! and a one-line summary out.
//!
//! A StatefulSet's ControllerRevision stores `{"spec":{"template":T}}` with
//! `"$patch":"replace"` added to `T` (kubernetes pkg/controller/statefulset
//! stateful_set_utils.go `getPatch`); [`template`] gives `T` back without the directive.
//! Lists the API merges by key (`patchMergeKey`: containers and env by `name`,
//! volumeMounts by `mountPath`, ports by `containerPort`) are compared item by item, so
//! a change to one container is reported at `spec.containers[nginx].image` whatever the
//! order; every other list is compared whole.

use k8s_openapi::api::apps::v1::ControllerRevision;
use serde::Serialize;
use serde_json::{Map, Value};

use super::RevisionRow;

/// One changed path of the pod template. `from`/`to` are null where the field is not set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    /// `spec.containers[nginx].image`, `metadata.annotations[kubectl.kubernetes.io/restartedAt]`.
    pub path: String,
    pub from: Value,
    pub to: Value,
}

/// The pod template a ControllerRevision holds (`data.spec.template`, without `$patch`).
pub fn template(r: &ControllerRevision) -> Value {
    let mut t = r.data.0["spec"]["template"].clone();
    if let Some(m) = t.as_object_mut() {
        m.remove("$patch");
    }
    t
}

/// The field paths that differ between two pod templates, in field order.
pub fn changes(from: &Value, to: &Value) -> Vec<FieldChange> {
    let mut out = Vec::new();
    walk("", "", present(from), present(to), &mut out);
    out
}

/// A unified diff (3 lines of context) of the two templates as YAML.
pub fn unified(from: Option<&Value>, to: &Value, from_label: &str, to_label: &str) -> String {
    let yaml = |v: &Value| serde_yaml_ng::to_string(v).unwrap_or_default();
    let a = from.map(yaml).unwrap_or_default();
    let b = yaml(to);
    similar::TextDiff::from_lines(&a, &b)
        .unified_diff()
        .context_radius(3)
        .header(from_label, to_label)
        .to_string()
}

/// Null and absent are the same to the API.
fn present(v: &Value) -> Option<&Value> {
    (!v.is_null()).then_some(v)
}

/// The merge key of a list field of the pod template (k8s.io/api `patchMergeKey` tags).
fn merge_key(field: &str) -> Option<&'static str> {
    Some(match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "env"
        | "imagePullSecrets"
        | "resourceClaims" => "name",
        "volumeMounts" => "mountPath",
        "volumeDevices" => "devicePath",
        "ports" => "containerPort",
        _ => return None,
    })
}

fn join(path: &str, key: &str) -> String {
    if key.contains(['.', '/', '[', ']']) {
        format!("{path}[{key}]")
    } else if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Maps of user keys: a map that appears or goes is reported key by key.
fn keyed_map(field: &str) -> bool {
    matches!(field, "annotations" | "labels" | "nodeSelector")
}

fn walk(path: &str, field: &str, a: Option<&Value>, b: Option<&Value>, out: &mut Vec<FieldChange>) {
    let none = Value::Object(Map::new());
    let (a, b) = match (a, b) {
        (None, Some(Value::Object(_))) if keyed_map(field) => (Some(&none), b),
        (Some(Value::Object(_)), None) if keyed_map(field) => (a, Some(&none)),
        _ => (a, b),
    };
    match (a, b) {
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let p = join(path, k);
                walk(&p, k, x.get(k).and_then(present), y.get(k).and_then(present), out);
            }
        }
        (Some(Value::Array(x)), Some(Value::Array(y))) if keyed(field, x).is_some() && keyed(field, y).is_some() => {
            walk_keyed(
                path,
                keyed(field, x).unwrap_or_default(),
                keyed(field, y).unwrap_or_default(),
                out,
            );
        }
        _ if a == b => {}
        _ => out.push(FieldChange {
            path: path.to_string(),
            from: a.cloned().unwrap_or(Value::Null),
            to: b.cloned().unwrap_or(Value::Null),
        }),
    }
}

/// Items matched by key: those of `b` in its order, then those only `a` has.
fn walk_keyed(path: &str, a: Vec<(String, &Value)>, b: Vec<(String, &Value)>, out: &mut Vec<FieldChange>) {
    let find = |l: &[(String, &Value)], id: &str| -> Option<Value> {
        l.iter().find(|(j, _)| j == id).map(|(_, v)| (*v).clone())
    };
    let mut ids: Vec<String> = b.iter().map(|(id, _)| id.clone()).collect();
    ids.extend(
        a.iter()
            .map(|(id, _)| id.clone())
            .filter(|id| !b.iter().any(|(j, _)| j == id)),
    );
    for id in ids {
        let (x, y) = (find(&a, &id), find(&b, &id));
        walk(&format!("{path}[{id}]"), "", x.as_ref(), y.as_ref(), out);
    }
}

/// The items of a merge-keyed list by their key (`80` or `80/UDP` for ports); None when
/// the list has no merge key or an item lacks it (then it is compared whole).
fn keyed<'a>(field: &str, items: &'a [Value]) -> Option<Vec<(String, &'a Value)>> {
    let key = merge_key(field)?;
    items
        .iter()
        .map(|v| {
            let id = match &v[key] {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return None,
            };
            let id = match v["protocol"].as_str() {
                Some(p) if field == "ports" && p != "TCP" => format!("{id}/{p}"),
                _ => id,
            };
            Some((id, v))
        })
        .collect()
}

// ---------------------------------------------------------------------------------
// The one-line summary
// ---------------------------------------------------------------------------------

/// One line on what changed, containers by name: "image nginx:1.25 -> nginx:1.26,
/// command added"; with several containers each is named ("nginx: image a -> b").
/// Env values are never shown (they may be secrets), only their names.
pub fn summary(from: &Value, to: &Value) -> String {
    let several = container_count(from).max(container_count(to)) > 1;
    let mut groups: Vec<(String, String, Vec<FieldChange>)> = Vec::new();
    for c in changes(from, to) {
        let (label, at) = group_of(&c.path, several);
        match groups.iter_mut().find(|(l, _, _)| *l == label) {
            Some(g) => g.2.push(c),
            None => groups.push((label, at, vec![c])),
        }
    }
    if groups.is_empty() {
        return "no change to the pod template".into();
    }
    groups
        .iter()
        .map(|(label, at, cs)| phrase(label, at, cs))
        .collect::<Vec<_>>()
        .join(", ")
}

fn container_count(t: &Value) -> usize {
    ["initContainers", "containers"]
        .iter()
        .map(|k| t["spec"][k].as_array().map_or(0, Vec::len))
        .sum()
}

/// The group a changed path belongs to: its label in the summary and the path the
/// label stands for (a change exactly there can show its values).
fn group_of(path: &str, several: bool) -> (String, String) {
    for (list, init) in [("spec.containers[", false), ("spec.initContainers[", true)] {
        let Some((name, tail)) = path.strip_prefix(list).and_then(|r| r.split_once(']')) else {
            continue;
        };
        let base = format!("{list}{name}]");
        let kind = if init { "init container" } else { "container" };
        let tail = tail.trim_start_matches('.');
        if tail.is_empty() {
            return (format!("{kind} {name}"), base);
        }
        let (label, at) = match first_segment(tail) {
            "env" => {
                let var = tail
                    .strip_prefix("env[")
                    .and_then(|r| r.split(']').next())
                    .unwrap_or("");
                (format!("env {var}"), format!("{base}.env[{var}]"))
            }
            f => (f.to_string(), format!("{base}.{f}")),
        };
        return match (several, init) {
            (false, false) => (label, at),
            (_, true) => (format!("{kind} {name}: {label}"), at),
            (true, false) => (format!("{name}: {label}"), at),
        };
    }
    for (map, what) in [("metadata.annotations", "annotation"), ("metadata.labels", "label")] {
        let Some(k) = path.strip_prefix(map) else { continue };
        let key = k.trim_start_matches(['.', '[']).trim_end_matches(']');
        let label = match key {
            "" => format!("{what}s"),
            super::RESTARTED_AT => "restartedAt".to_string(),
            k => format!("{what} {k}"),
        };
        return (label, path.to_string());
    }
    let f = first_segment(path.strip_prefix("spec.").unwrap_or(path));
    (f.to_string(), format!("spec.{f}"))
}

fn first_segment(p: &str) -> &str {
    p.split(['.', '[']).next().unwrap_or(p)
}

fn phrase(label: &str, at: &str, cs: &[FieldChange]) -> String {
    let hide_values = label.starts_with("env ") || label.contains(": env ");
    match cs {
        [c] if c.path == at && c.from.is_null() => format!("{label} added"),
        [c] if c.path == at && c.to.is_null() => format!("{label} removed"),
        [c] if c.path == at && !hide_values => match (scalar(&c.from), scalar(&c.to)) {
            (Some(a), Some(b)) => format!("{label} {a} -> {b}"),
            _ => format!("{label} changed"),
        },
        _ => format!("{label} changed"),
    }
}

fn scalar(v: &Value) -> Option<String> {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Number(_) | Value::Bool(_) => v.to_string(),
        _ => return None,
    };
    (s.chars().count() <= 60).then_some(s)
}

/// "web-2 runs revision 4: image nginx:1.25 -> nginx:1.26": what the revision a pod runs
/// (`to`, a ControllerRevision name) changed against the one it replaces (`from`).
/// None when either revision is unknown or they are the same.
pub fn pod_line(pod: &str, revs: &[ControllerRevision], from: &str, to: &str) -> Option<String> {
    let find = |n: &str| revs.iter().find(|r| r.metadata.name.as_deref() == Some(n));
    let (a, b) = (find(from)?, find(to)?);
    let n = b.revision?;
    (from != to).then(|| format!("{pod} runs revision {n}: {}", summary(&template(a), &template(b))))
}

// ---------------------------------------------------------------------------------
// Which two revisions
// ---------------------------------------------------------------------------------

/// The revisions to compare: `wanted` against the one before it; by default the update
/// revision against the current one, or when they are the same, the latest against the
/// one before. `from` is None for the first revision. Err: a revision that does not
/// exist, with the ones that do.
pub fn pick<'a>(
    name: &str,
    rows: &'a [RevisionRow],
    wanted: Option<i64>,
) -> Result<(Option<&'a RevisionRow>, &'a RevisionRow), String> {
    let before = |to: &RevisionRow| rows.iter().rev().find(|r| r.revision < to.revision);
    let update = rows.iter().find(|r| r.update);
    let current = rows.iter().find(|r| r.current);
    match wanted {
        Some(n) => match rows.iter().find(|r| r.revision == n) {
            Some(to) => Ok((before(to), to)),
            None => Err(format!(
                "statefulset \"{name}\" has no revision {n} (it has {}): pick one from `kubectl sts rollout history {name}`",
                revision_list(rows)
            )),
        },
        None => match (current, update) {
            (Some(c), Some(u)) if c.name != u.name => Ok((Some(c), u)),
            _ => match rows.last() {
                Some(to) => Ok((before(to), to)),
                None => Err(format!(
                    "statefulset \"{name}\" has no ControllerRevisions yet: nothing to compare; \
                     wait for the StatefulSet controller to create one"
                )),
            },
        },
    }
}

fn revision_list(rows: &[RevisionRow]) -> String {
    if rows.is_empty() {
        return "none".into();
    }
    rows.iter()
        .map(|r| r.revision.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// An empty map, for a diff against nothing (the first revision).
pub fn empty() -> Value {
    Value::Object(Map::new())
}

#[cfg(test)]
mod tests;
