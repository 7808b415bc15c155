//! Adoption and release of a StatefulSet's pods and ControllerRevisions, after
//! pkg/controller/controller_ref_manager.go (`BaseControllerRefManager.ClaimObject`,
//! `PodControllerRefManager.ClaimPods`, `AdoptPod`, `ReleasePod`), the StatefulSet
//! controller's `getPodsForStatefulSet` / `adoptOrphanRevisions` and
//! pkg/controller/history `AdoptControllerRevision`.
//!
//! - An orphan (no controller reference) that the set selects, and that is a member of
//!   the set by name (`isMemberOf`: `<set>-<ordinal>`; revisions by selector alone),
//!   is adopted: the set's controller reference is added (controller and
//!   blockOwnerDeletion true), nothing else changes, so a pod keeps running. This is
//!   how a set re-created after `kubectl delete --cascade=orphan` takes over the
//!   running pods and the revision of the same template.
//! - A pod the set controls that no longer matches is released (its reference removed).
//! - A set being deleted adopts and releases nothing (`RecheckDeletionTimestamp`).

use std::sync::Arc;

use serde_json::{Value, json};

use super::statefulset::ordinal_of;
use super::util::{self, controller_of, is_terminating, name, uid};
use crate::error::ApiError;
use crate::store::{Key, Store};

/// `canAdoptFunc`: a fresh read of the set (not the one the sync started from) must
/// still be the same object and not terminating.
fn can_adopt(store: &Store, set: &Value) -> bool {
    store
        .get(&Key::new("statefulsets", util::namespace(set), name(set)))
        .is_some_and(|s| uid(&s) == uid(set) && !is_terminating(&s))
}

fn selects(set: &Value, obj: &Value) -> bool {
    util::selector_matches(&set["spec"]["selector"], &obj["metadata"]["labels"])
}

/// Add the set's controller reference (AdoptPod's strategic merge patch, with the
/// object's uid as precondition). Fails if someone else adopted it first.
fn adopt(store: &Store, plural: &str, obj: &Value, set: &Value) -> Option<Arc<Value>> {
    let key = Key::new(plural, util::namespace(obj), name(obj));
    let (want_uid, owner) = (uid(obj).to_string(), util::controller_ref(set));
    store
        .modify(&key, |o| {
            if uid(o) != want_uid || controller_of(o).is_some() {
                return Err(ApiError::new(409, "Conflict", "claimed by another controller"));
            }
            let mut refs = util::owner_refs(o).to_vec();
            refs.push(owner);
            o["metadata"]["ownerReferences"] = Value::Array(refs);
            Ok(())
        })
        .ok()
}

/// ReleasePod: `{"metadata":{"ownerReferences":[{"$patch":"delete","uid":...}]}}`.
fn release(store: &Store, plural: &str, obj: &Value, set_uid: &str) {
    let key = Key::new(plural, util::namespace(obj), name(obj));
    let want_uid = uid(obj).to_string();
    let _ = store.modify(&key, |o| {
        if uid(o) != want_uid {
            return Err(ApiError::new(409, "Conflict", "object was replaced"));
        }
        let refs: Vec<Value> = util::owner_refs(o)
            .iter()
            .filter(|r| r["uid"].as_str() != Some(set_uid))
            .cloned()
            .collect();
        let m = o["metadata"].as_object_mut().expect("object metadata");
        if refs.is_empty() {
            m.remove("ownerReferences");
        } else {
            m.insert("ownerReferences".into(), json!(refs));
        }
        Ok(())
    });
}

/// getPodsForStatefulSet: every pod of the namespace through ClaimPods; returns the
/// pods the set owns afterwards.
pub fn claim_pods(store: &Store, set: &Value) -> Vec<Arc<Value>> {
    let (set_uid, terminating) = (uid(set), is_terminating(set));
    let mut owned = Vec::new();
    for p in store.list("pods", Some(util::namespace(set))).0 {
        let matches = selects(set, &p) && ordinal_of(name(set), name(&p)).is_some();
        match controller_of(&p).map(|r| r["uid"].as_str() == Some(set_uid)) {
            Some(true) if matches => owned.push(p),
            Some(true) if !terminating => release(store, "pods", &p, set_uid),
            Some(_) => {}
            None if matches && !terminating && !is_terminating(&p) && can_adopt(store, set) => {
                owned.extend(adopt(store, "pods", &p, set));
            }
            None => {}
        }
    }
    owned
}

/// adoptOrphanRevisions: the set's selector picks the revisions (ListRevisions); those
/// without a controller are adopted.
pub fn adopt_orphan_revisions(store: &Store, set: &Value) {
    if is_terminating(set) {
        return;
    }
    let orphans: Vec<Arc<Value>> = store
        .list("controllerrevisions", Some(util::namespace(set)))
        .0
        .into_iter()
        .filter(|r| controller_of(r).is_none() && selects(set, r))
        .collect();
    if orphans.is_empty() || !can_adopt(store, set) {
        return;
    }
    for r in orphans {
        adopt(store, "controllerrevisions", &r, set);
    }
}

/// The sets that may want to adopt an orphan (getStatefulSetsForPod /
/// getStatefulSetsForRevision): those in its namespace whose selector matches it.
/// Sets being deleted are left out: they adopt nothing.
pub fn sets_selecting(store: &Store, ns: &str, obj: &Value) -> Vec<String> {
    store
        .list("statefulsets", Some(ns))
        .0
        .iter()
        .filter(|s| !is_terminating(s) && selects(s, obj))
        .map(|s| name(s).to_string())
        .collect()
}
