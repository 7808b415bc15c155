//! The garbage collector, after pkg/controller/garbagecollector (garbagecollector.go
//! `attemptToDeleteItem`, `processDeletingDependentsItem`, `orphanDependents`):
//!
//! - Background: a dependent whose owners are all gone (no object with the owner's
//!   uid) is deleted; owner references to missing owners are dropped from a dependent
//!   that still has a live owner.
//! - Foreground: an owner terminating with the `foregroundDeletion` finalizer has its
//!   dependents deleted; once none with `blockOwnerDeletion` remains, the finalizer is
//!   removed (and the owner goes).
//! - Orphan: an owner terminating with the `orphan` finalizer has its references
//!   removed from every dependent, then the finalizer.

use std::sync::Arc;

use serde_json::Value;

use super::queue::{self, Queue};
use super::util::{self, has_finalizer, is_terminating, name, owner_refs, uid};
use crate::context::Context;
use crate::resources::{self, RESOURCES};
use crate::store::{EventType, Key, WatchEvent};

pub const FOREGROUND: &str = "foregroundDeletion";
pub const ORPHAN: &str = "orphan";

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Item {
    /// An object whose owners to check (plural, namespace, name).
    Dependent(&'static str, String, String),
    /// An owner that is being deleted with a finalizer the GC implements.
    Owner(&'static str, String, String),
    /// An owner (by uid and namespace) that is gone: check its dependents.
    Gone(String, String),
}

pub fn spawn(ctx: Arc<Context>) {
    queue::run(ctx, Queue::new(), map_event, resync, sync);
}

fn resync(ctx: &Context, q: &Queue<Item>) {
    for r in RESOURCES {
        for o in ctx.store.list(r.plural, None).0 {
            enqueue_object(q, r.plural, &o);
        }
    }
}

fn enqueue_object(q: &Queue<Item>, plural: &'static str, o: &Value) {
    let ns = util::namespace(o).to_string();
    if !owner_refs(o).is_empty() {
        q.add(Item::Dependent(plural, ns.clone(), name(o).into()));
    }
    if is_terminating(o) && (has_finalizer(o, FOREGROUND) || has_finalizer(o, ORPHAN)) {
        q.add(Item::Owner(plural, ns, name(o).into()));
    }
}

fn map_event(_ctx: &Context, q: &Queue<Item>, ev: &WatchEvent) {
    let o = &ev.object;
    if ev.kind == EventType::Deleted {
        q.add(Item::Gone(uid(o).into(), ev.key.namespace.clone()));
        // A foreground owner may be waiting for this dependent.
        for r in owner_refs(o) {
            if let Some(res) = kind_plural(r) {
                q.add(Item::Owner(
                    res,
                    if resources::by_plural(res).is_some_and(|x| x.namespaced) {
                        ev.key.namespace.clone()
                    } else {
                        String::new()
                    },
                    r["name"].as_str().unwrap_or("").into(),
                ));
            }
        }
    } else {
        enqueue_object(q, ev.key.plural, o);
    }
}

fn kind_plural(owner_ref: &Value) -> Option<&'static str> {
    let kind = owner_ref["kind"].as_str()?;
    let group = owner_ref["apiVersion"]
        .as_str()
        .and_then(|v| v.split_once('/'))
        .map_or("", |(g, _)| g);
    RESOURCES
        .iter()
        .find(|r| r.kind == kind && r.group == group)
        .map(|r| r.plural)
}

/// Is the owner this reference points at absent? Unknown kinds count as present (the
/// real GC cannot resolve them either and leaves the dependent alone).
fn owner_absent(ctx: &Context, dep_ns: &str, r: &Value) -> bool {
    let Some(plural) = kind_plural(r) else { return false };
    let key = Key::new(plural, dep_ns, r["name"].as_str().unwrap_or(""));
    ctx.store.get(&key).is_none_or(|o| Some(uid(&o)) != r["uid"].as_str())
}

fn sync(ctx: &Arc<Context>, _q: &Arc<Queue<Item>>, item: &Item) {
    match item {
        Item::Dependent(plural, ns, n) => sync_dependent(ctx, plural, ns, n),
        Item::Owner(plural, ns, n) => sync_owner(ctx, plural, ns, n),
        Item::Gone(owner_uid, ns) => {
            for (plural, d) in dependents(ctx, owner_uid, ns) {
                sync_dependent(ctx, plural, util::namespace(&d), name(&d));
            }
        }
    }
}

/// Every object with an owner reference to `owner_uid` (in `ns`, or anywhere when the
/// owner was cluster-scoped and `ns` is empty).
fn dependents(ctx: &Context, owner_uid: &str, ns: &str) -> Vec<(&'static str, Arc<Value>)> {
    let mut out = Vec::new();
    for r in RESOURCES {
        let scope = if ns.is_empty() || !r.namespaced { None } else { Some(ns) };
        for o in ctx.store.list(r.plural, scope).0 {
            if util::has_owner_ref(&o, owner_uid) {
                out.push((r.plural, o));
            }
        }
    }
    out
}

/// attemptToDeleteItem.
fn sync_dependent(ctx: &Context, plural: &'static str, ns: &str, n: &str) {
    let key = Key::new(plural, ns, n);
    let Some(obj) = ctx.store.get(&key) else { return };
    let refs = owner_refs(&obj);
    if refs.is_empty() {
        return;
    }
    let absent: Vec<&Value> = refs.iter().filter(|r| owner_absent(ctx, ns, r)).collect();
    if absent.is_empty() {
        return;
    }
    if absent.len() == refs.len() {
        if !is_terminating(&obj) {
            let _ = ctx.store.delete(&key, None, Some(uid(&obj)), None);
        }
        return;
    }
    let gone: Vec<String> = absent
        .iter()
        .filter_map(|r| r["uid"].as_str())
        .map(String::from)
        .collect();
    let _ = ctx.store.modify(&key, |o| {
        if let Some(a) = o["metadata"]["ownerReferences"].as_array_mut() {
            a.retain(|r| !gone.iter().any(|g| Some(g.as_str()) == r["uid"].as_str()));
        }
        Ok(())
    });
}

fn sync_owner(ctx: &Context, plural: &'static str, ns: &str, n: &str) {
    let key = Key::new(plural, ns, n);
    let Some(owner) = ctx.store.get(&key) else { return };
    if !is_terminating(&owner) {
        return;
    }
    let owner_uid = uid(&owner).to_string();
    if has_finalizer(&owner, ORPHAN) {
        // orphanDependents, then drop the finalizer.
        for (p, d) in dependents(ctx, &owner_uid, ns) {
            let _ = ctx.store.modify(&Key::new(p, util::namespace(&d), name(&d)), |o| {
                let m = o["metadata"].as_object_mut().expect("metadata");
                if let Some(Value::Array(a)) = m.get_mut("ownerReferences") {
                    a.retain(|r| r["uid"].as_str() != Some(&owner_uid));
                    if a.is_empty() {
                        m.remove("ownerReferences");
                    }
                }
                Ok(())
            });
        }
        let _ = ctx.store.modify(&key, |o| {
            util::remove_finalizer(o, ORPHAN);
            Ok(())
        });
        return;
    }
    if has_finalizer(&owner, FOREGROUND) {
        let deps = dependents(ctx, &owner_uid, ns);
        let mut blocking = 0;
        for (p, d) in &deps {
            let blocks = owner_refs(d)
                .iter()
                .any(|r| r["uid"].as_str() == Some(&owner_uid) && r["blockOwnerDeletion"].as_bool() == Some(true));
            if blocks {
                blocking += 1;
            }
            if !is_terminating(d) {
                let _ = ctx
                    .store
                    .delete(&Key::new(p, util::namespace(d), name(d)), None, Some(uid(d)), None);
            }
        }
        if blocking == 0 {
            let _ = ctx.store.modify(&key, |o| {
                util::remove_finalizer(o, FOREGROUND);
                Ok(())
            });
        }
    }
}
