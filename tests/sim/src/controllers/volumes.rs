//! Persistent volumes, after pkg/controller/volume/persistentvolume (pv_controller.go:
//! `syncUnboundClaim`, `provisionClaimOperation`, `bindVolumeToClaim`,
//! `reclaimVolume`) and the protection controllers (pvcprotection, pvprotection).
//!
//! - A claim with no `storageClassName` gets the default class (the DefaultStorageClass
//!   admission plugin).
//! - Every StorageClass in the store provisions, except `kubernetes.io/no-provisioner`
//!   ones, which bind pre-created Available volumes of the class (static binding).
//!   `standard` and the config's `storage_classes` provision even without an object.
//! - A claim naming an unknown class stays Pending with a `ProvisioningFailed` warning:
//!   `storageclass.storage.k8s.io "x" not found` (pvc-pending-unknown-class.json).
//! - A provisioned volume is `pvc-<claim uid>`, a hostPath at the runtime's volume dir.
//! - A terminating claim goes away only when no pod uses it (pvc-protection); when a
//!   bound claim is gone its volume is reclaimed: `Delete` removes the volume and its
//!   data, `Retain` leaves it `Released`.

use std::sync::Arc;

use serde_json::{Value, json};

use super::events::{self, Source};
use super::queue::{self, Queue};
use super::util::{self, has_finalizer, is_terminating, name, uid};
use crate::context::Context;
use crate::store::{EventType, Key, WatchEvent};

const COMPONENT: &str = "persistentvolume-controller";
pub const PVC_PROTECTION: &str = "kubernetes.io/pvc-protection";
pub const PV_PROTECTION: &str = "kubernetes.io/pv-protection";
const NO_PROVISIONER: &str = "kubernetes.io/no-provisioner";
pub const SIM_PROVISIONER: &str = "sts-sim.dev/hostpath";
const DEFAULT_CLASS_ANN: &str = "storageclass.kubernetes.io/is-default-class";

/// Work items: a claim to sync, or a claim that is gone and whose volume to reclaim.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Item {
    Claim(String, String),
    /// A deleted claim's uid.
    Gone(String),
    /// A volume (cluster-scoped) to check for a lost claim.
    Volume(String),
}

pub fn spawn(ctx: Arc<Context>) {
    queue::run(ctx, Queue::new(), map_event, resync, sync);
}

fn resync(ctx: &Context, q: &Queue<Item>) {
    for c in ctx.store.list("persistentvolumeclaims", None).0 {
        q.add(Item::Claim(util::namespace(&c).into(), name(&c).into()));
    }
    for v in ctx.store.list("persistentvolumes", None).0 {
        q.add(Item::Volume(name(&v).into()));
    }
}

fn map_event(ctx: &Context, q: &Queue<Item>, ev: &WatchEvent) {
    match ev.key.plural {
        "persistentvolumeclaims" => {
            if ev.kind == EventType::Deleted {
                q.add(Item::Gone(uid(&ev.object).into()));
            } else {
                q.add(Item::Claim(ev.key.namespace.clone(), ev.key.name.clone()));
            }
        }
        "persistentvolumes" if ev.kind != EventType::Deleted => q.add(Item::Volume(ev.key.name.clone())),
        // A new class or volume may unblock pending claims.
        "storageclasses" | "persistentvolumes" => {
            for c in ctx.store.list("persistentvolumeclaims", None).0 {
                if c["status"]["phase"].as_str() != Some("Bound") {
                    q.add(Item::Claim(util::namespace(&c).into(), name(&c).into()));
                }
            }
        }
        // A pod that is gone may release a terminating claim.
        "pods" if ev.kind == EventType::Deleted => {
            for v in ev.object["spec"]["volumes"].as_array().into_iter().flatten() {
                if let Some(c) = v["persistentVolumeClaim"]["claimName"].as_str() {
                    q.add(Item::Claim(ev.key.namespace.clone(), c.to_string()));
                }
            }
        }
        _ => {}
    }
}

fn sync(ctx: &Arc<Context>, _q: &Arc<Queue<Item>>, item: &Item) {
    match item {
        Item::Claim(ns, n) => sync_claim(ctx, ns, n),
        Item::Gone(claim_uid) => reclaim(ctx, claim_uid),
        Item::Volume(n) => sync_volume(ctx, n),
    }
}

/// The class a claim asks for: its `storageClassName`, or the default class.
fn default_class(ctx: &Context) -> String {
    ctx.store
        .list("storageclasses", None)
        .0
        .iter()
        .find(|c| c["metadata"]["annotations"][DEFAULT_CLASS_ANN].as_str() == Some("true"))
        .map(|c| name(c).to_string())
        .unwrap_or_else(|| "standard".to_string())
}

/// A known class: (provisioner, reclaimPolicy).
fn class(ctx: &Context, class_name: &str) -> Option<(String, String)> {
    if let Some(sc) = ctx.store.get(&Key::new("storageclasses", "", class_name)) {
        return Some((
            sc["provisioner"].as_str().unwrap_or(SIM_PROVISIONER).to_string(),
            sc["reclaimPolicy"].as_str().unwrap_or("Delete").to_string(),
        ));
    }
    (class_name == "standard" || ctx.config.storage_classes.iter().any(|c| c == class_name))
        .then(|| (SIM_PROVISIONER.to_string(), "Delete".to_string()))
}

fn pods_using(ctx: &Context, ns: &str, claim: &str) -> bool {
    ctx.store.list("pods", Some(ns)).0.iter().any(|p| {
        p["spec"]["volumes"].as_array().is_some_and(|vs| {
            vs.iter()
                .any(|v| v["persistentVolumeClaim"]["claimName"].as_str() == Some(claim))
        })
    })
}

fn sync_claim(ctx: &Arc<Context>, ns: &str, claim_name: &str) {
    let store = &ctx.store;
    let key = Key::new("persistentvolumeclaims", ns, claim_name);
    let Some(claim) = store.get(&key) else { return };
    if is_terminating(&claim) {
        // pvcprotection: release the claim once no pod uses it.
        if has_finalizer(&claim, PVC_PROTECTION) && !pods_using(ctx, ns, claim_name) {
            let _ = store.modify(&key, |c| {
                util::remove_finalizer(c, PVC_PROTECTION);
                Ok(())
            });
        }
        return;
    }
    if !has_finalizer(&claim, PVC_PROTECTION) {
        let _ = store.modify(&key, |c| {
            let f = c["metadata"]["finalizers"].as_array().cloned().unwrap_or_default();
            let mut f = f;
            f.push(json!(PVC_PROTECTION));
            c["metadata"]["finalizers"] = Value::Array(f);
            Ok(())
        });
        return; // the write comes back as an event
    }
    if claim["status"]["phase"].as_str() == Some("Bound") {
        return;
    }
    // Bound by spec but not yet by status (a previous sync stopped half-way).
    if let Some(pv_name) = claim["spec"]["volumeName"].as_str().filter(|s| !s.is_empty()) {
        if let Some(pv) = store.get(&Key::new("persistentvolumes", "", pv_name)) {
            finish_bind(ctx, &key, &pv);
        }
        return;
    }
    let class_name = match claim["spec"]["storageClassName"].as_str() {
        Some(c) => c.to_string(),
        None => {
            let d = default_class(ctx);
            let _ = store.modify(&key, |c| {
                c["spec"]["storageClassName"] = json!(d);
                Ok(())
            });
            return;
        }
    };
    let Some((provisioner, reclaim_policy)) = class(ctx, &class_name) else {
        let msg = format!("storageclass.storage.k8s.io \"{class_name}\" not found");
        events::record_from(
            store,
            &claim,
            "Warning",
            "ProvisioningFailed",
            &msg,
            &Source {
                component: COMPONENT,
                ..Source::default()
            },
        );
        return;
    };
    if provisioner == NO_PROVISIONER {
        bind_static(ctx, &key, &claim, &class_name);
    } else {
        provision(ctx, &key, &claim, &class_name, &provisioner, &reclaim_policy);
    }
}

fn claim_ref(claim: &Value) -> Value {
    json!({
        "kind": "PersistentVolumeClaim",
        "namespace": util::namespace(claim),
        "name": name(claim),
        "uid": uid(claim),
        "apiVersion": "v1",
        "resourceVersion": claim["metadata"]["resourceVersion"],
    })
}

/// no-provisioner classes: bind the smallest Available volume of the class that fits.
fn bind_static(ctx: &Arc<Context>, key: &Key, claim: &Value, class_name: &str) {
    let want = claim["spec"]["resources"]["requests"]["storage"]
        .as_str()
        .and_then(crate::quantity::parse)
        .unwrap_or(0.0);
    let modes = &claim["spec"]["accessModes"];
    let candidate = ctx
        .store
        .list("persistentvolumes", None)
        .0
        .into_iter()
        .filter(|pv| {
            pv["spec"]["storageClassName"].as_str() == Some(class_name)
                && pv["spec"]["claimRef"].is_null()
                && !is_terminating(pv)
                && modes
                    .as_array()
                    .into_iter()
                    .flatten()
                    .all(|m| pv["spec"]["accessModes"].as_array().is_some_and(|a| a.contains(m)))
        })
        .filter_map(|pv| {
            let size = pv["spec"]["capacity"]["storage"]
                .as_str()
                .and_then(crate::quantity::parse)?;
            (size >= want).then_some((size, pv))
        })
        .min_by(|a, b| a.0.total_cmp(&b.0));
    let Some((_, pv)) = candidate else { return };
    let pv_key = Key::new("persistentvolumes", "", name(&pv));
    let cref = claim_ref(claim);
    let Ok(pv) = ctx.store.modify(&pv_key, |v| {
        v["spec"]["claimRef"] = cref;
        v["metadata"]["annotations"]["pv.kubernetes.io/bound-by-controller"] = json!("yes");
        v["status"] = json!({"phase": "Bound"});
        Ok(())
    }) else {
        return;
    };
    finish_bind(ctx, key, &pv);
}

/// provisionClaimOperation: annotate the claim, create `pvc-<uid>`, bind.
fn provision(ctx: &Arc<Context>, key: &Key, claim: &Value, class_name: &str, provisioner: &str, reclaim: &str) {
    let store = &ctx.store;
    let pv_name = format!("pvc-{}", uid(claim));
    if claim["metadata"]["annotations"]["volume.kubernetes.io/storage-provisioner"].as_str() != Some(provisioner) {
        let _ = store.modify(key, |c| {
            c["metadata"]["annotations"]["volume.beta.kubernetes.io/storage-provisioner"] = json!(provisioner);
            c["metadata"]["annotations"]["volume.kubernetes.io/storage-provisioner"] = json!(provisioner);
            Ok(())
        });
        return; // continue on the claim's next event
    }
    let pv_key = Key::new("persistentvolumes", "", &pv_name);
    let pv = match store.get(&pv_key) {
        Some(pv) => pv,
        None => {
            let dir = ctx.runtime.volume_dir(&pv_name);
            let _ = std::fs::create_dir_all(&dir);
            let capacity = claim["spec"]["resources"]["requests"]["storage"].clone();
            let pv = json!({
                "metadata": {
                    "name": pv_name,
                    "annotations": { "pv.kubernetes.io/provisioned-by": provisioner },
                    "finalizers": [PV_PROTECTION],
                },
                "spec": {
                    "capacity": { "storage": capacity },
                    "hostPath": { "path": dir.display().to_string(), "type": "DirectoryOrCreate" },
                    "accessModes": claim["spec"]["accessModes"],
                    "claimRef": claim_ref(claim),
                    "persistentVolumeReclaimPolicy": reclaim,
                    "storageClassName": class_name,
                    "volumeMode": claim["spec"]["volumeMode"].as_str().unwrap_or("Filesystem"),
                },
                "status": { "phase": "Bound" },
            });
            match store.create("", "persistentvolumes", pv) {
                Ok(pv) => {
                    let msg = format!("Successfully provisioned volume {pv_name}");
                    events::record_from(
                        store,
                        claim,
                        "Normal",
                        "ProvisioningSucceeded",
                        &msg,
                        &Source {
                            component: provisioner,
                            ..Source::default()
                        },
                    );
                    pv
                }
                Err(_) => return,
            }
        }
    };
    finish_bind(ctx, key, &pv);
}

/// bindClaimToVolume then updateClaimStatus: two writes, as in watch-pvcs.jsonl.
fn finish_bind(ctx: &Arc<Context>, key: &Key, pv: &Value) {
    let store = &ctx.store;
    let pv_name = name(pv).to_string();
    let Ok(claim) = store.modify(key, |c| {
        c["spec"]["volumeName"] = json!(pv_name);
        c["metadata"]["annotations"]["pv.kubernetes.io/bind-completed"] = json!("yes");
        c["metadata"]["annotations"]["pv.kubernetes.io/bound-by-controller"] = json!("yes");
        Ok(())
    }) else {
        return;
    };
    let _ = claim;
    let _ = store.modify(key, |c| {
        c["status"] = json!({
            "phase": "Bound",
            "accessModes": pv["spec"]["accessModes"],
            "capacity": pv["spec"]["capacity"],
        });
        Ok(())
    });
}

/// A bound volume whose claim no longer exists (or was replaced by a new one of the
/// same name) is reclaimed.
fn sync_volume(ctx: &Arc<Context>, pv_name: &str) {
    let Some(pv) = ctx.store.get(&Key::new("persistentvolumes", "", pv_name)) else {
        return;
    };
    let cref = &pv["spec"]["claimRef"];
    if cref.is_null() || pv["status"]["phase"].as_str() != Some("Bound") {
        return;
    }
    let key = Key::new(
        "persistentvolumeclaims",
        cref["namespace"].as_str().unwrap_or(""),
        cref["name"].as_str().unwrap_or(""),
    );
    let claim_alive = ctx
        .store
        .get(&key)
        .is_some_and(|c| Some(uid(&c)) == cref["uid"].as_str());
    if !claim_alive {
        reclaim_volume(ctx, &pv);
    }
}

fn reclaim(ctx: &Arc<Context>, claim_uid: &str) {
    for pv in ctx.store.list("persistentvolumes", None).0 {
        if pv["spec"]["claimRef"]["uid"].as_str() == Some(claim_uid) {
            reclaim_volume(ctx, &pv);
        }
    }
}

/// reclaimVolume: Delete -> the volume and its data are removed; Retain -> Released.
fn reclaim_volume(ctx: &Arc<Context>, pv: &Value) {
    let key = Key::new("persistentvolumes", "", name(pv));
    if pv["spec"]["persistentVolumeReclaimPolicy"].as_str() == Some("Delete") {
        let pv_name = name(pv).to_string();
        ctx.store.remove(&key);
        let _ = std::fs::remove_dir_all(ctx.runtime.volume_dir(&pv_name));
    } else if pv["status"]["phase"].as_str() != Some("Released") {
        let _ = ctx.store.modify(&key, |v| {
            v["status"] = json!({"phase": "Released"});
            Ok(())
        });
    }
}
