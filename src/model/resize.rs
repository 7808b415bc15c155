//! `resize`: grow every volume of a StatefulSet. What to change, what to refuse, and how
//! far each claim and the replacement StatefulSet have come; no I/O.
//!
//! Kubernetes semantics honoured:
//! - `volumeClaimTemplates` are immutable (apps/v1 validation: "updates to statefulset
//!   spec for fields other than 'replicas', ... are forbidden", 422), so the template is
//!   changed by deleting the StatefulSet with `propagationPolicy: Orphan` and creating
//!   it again: the garbage collector strips the owner references of its pods and
//!   ControllerRevisions, and the new StatefulSet adopts them by selector
//!   (ControllerRefManager ClaimPods / ClaimControllerRevisions) with no restart when
//!   the pod template, hence the revision hash, is unchanged.
//! - A claim's `spec.resources.requests.storage` may only grow, and only when its
//!   StorageClass has `allowVolumeExpansion: true` (PersistentVolumeClaimResize
//!   admission: 403 otherwise; lowering it: 422).
//! - Expansion is done when `status.capacity.storage` reaches the request; on the way
//!   the claim has `status.allocatedResources` and the conditions `Resizing` (the
//!   external resizer at work) and `FileSystemResizePending` (the volume grew, the
//!   filesystem waits for the kubelet, which grows it online on a running pod, or on
//!   the next mount when the driver only supports offline expansion).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use serde::Serialize;

use crate::model::ordinals::claim_ordinal;
use crate::model::quantity::{claim_capacity, claim_request, format_bytes, parse_bytes};

/// `--storage SIZE` / `--claim TEMPLATE[=SIZE]` as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask {
    /// The default size (`--storage`), if any.
    pub storage: Option<String>,
    /// `--claim` values: a template alone (takes `--storage`), or `TEMPLATE=SIZE`.
    pub claims: Vec<String>,
}

/// One claim template and the size it goes to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateChange {
    pub template: String,
    pub from: String,
    pub to: String,
    #[serde(skip)]
    pub to_bytes: u128,
    pub storage_class: Option<String>,
}

/// What one claim needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ClaimAction {
    /// Raise the request to the new size.
    Expand,
    /// The request already is the new size; wait for the capacity if it lags.
    AlreadyRequested,
    /// The capacity already is the new size (or more).
    Done,
}

/// One claim of the StatefulSet (current ordinals and scaled-in leftovers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimPlan {
    pub name: String,
    pub template: String,
    pub ordinal: i32,
    /// Beyond the current replicas: a leftover a later scale-out would reuse.
    pub leftover: bool,
    pub from: String,
    pub to: String,
    pub capacity: Option<String>,
    pub storage_class: Option<String>,
    pub action: ClaimAction,
}

/// Everything `resize` will do, decided before any change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResizePlan {
    pub templates: Vec<TemplateChange>,
    pub claims: Vec<ClaimPlan>,
}

/// Parse `--storage` / `--claim` against the StatefulSet's templates: which template
/// goes to which size. Errors are one line for exit 2.
pub fn targets(sts: &StatefulSet, ask: &Ask) -> Result<Vec<TemplateChange>, String> {
    let name = sts.metadata.name.as_deref().unwrap_or("");
    let templates = sts.spec.volume_claim_templates.as_deref().unwrap_or_default();
    if templates.is_empty() {
        return Err(format!(
            "statefulset \"{name}\" has no volumeClaimTemplates: nothing to resize"
        ));
    }
    let names: Vec<&str> = templates.iter().filter_map(|t| t.metadata.name.as_deref()).collect();
    let mut sizes: BTreeMap<String, String> = BTreeMap::new();
    for c in &ask.claims {
        let (t, size) = match c.split_once('=') {
            Some((t, s)) => (t.to_string(), s.to_string()),
            None => (
                c.clone(),
                ask.storage
                    .clone()
                    .ok_or_else(|| format!("--claim {c} needs a size: --claim {c}=SIZE, or --storage SIZE"))?,
            ),
        };
        if !names.contains(&t.as_str()) {
            return Err(format!(
                "statefulset \"{name}\" has no claim template \"{t}\" (it has: {}): fix --claim",
                names.join(", ")
            ));
        }
        sizes.insert(t, size);
    }
    if sizes.is_empty() {
        let storage = ask
            .storage
            .clone()
            .ok_or("give the new size: --storage SIZE (e.g. 30Gi)")?;
        if names.len() > 1 {
            return Err(format!(
                "statefulset \"{name}\" has {} claim templates ({}): pick one with --claim TEMPLATE, or give each a size with --claim TEMPLATE=SIZE",
                names.len(),
                names.join(", ")
            ));
        }
        sizes.insert(names[0].to_string(), storage);
    }
    templates
        .iter()
        .filter_map(|t| {
            let tn = t.metadata.name.clone()?;
            let to = sizes.get(&tn)?.clone();
            Some((t, tn, to))
        })
        .map(|(t, tn, to)| {
            let to_bytes = parse_bytes(&to).filter(|b| *b > 0).ok_or_else(|| {
                format!("invalid size \"{to}\" for claim template {tn}: use a quantity such as 30Gi or 500G")
            })?;
            let from = claim_request(t);
            Ok(TemplateChange {
                template: tn,
                from: from.unwrap_or_else(|| "<none>".into()),
                to,
                to_bytes,
                storage_class: t.spec.as_ref().and_then(|s| s.storage_class_name.clone()),
            })
        })
        .collect()
}

/// The claim's storage request and capacity, in bytes.
pub fn request_bytes(c: &PersistentVolumeClaim) -> Option<u128> {
    claim_request(c).and_then(|q| parse_bytes(&q))
}

pub fn capacity_bytes(c: &PersistentVolumeClaim) -> Option<u128> {
    claim_capacity(c).and_then(|q| parse_bytes(&q))
}

fn class_allows_expansion(classes: &[StorageClass], name: &str) -> Option<bool> {
    classes
        .iter()
        .find(|c| c.metadata.name.as_deref() == Some(name))
        .map(|c| c.allow_volume_expansion == Some(true))
}

/// The claim's StorageClass (its `storageClassName`, else the default class).
fn class_of(c: &PersistentVolumeClaim, classes: &[StorageClass]) -> Option<String> {
    c.spec.as_ref().and_then(|s| s.storage_class_name.clone()).or_else(|| {
        classes
            .iter()
            .find(|sc| {
                sc.metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get("storageclass.kubernetes.io/is-default-class"))
                    .is_some_and(|v| v == "true")
            })
            .and_then(|sc| sc.metadata.name.clone())
    })
}

/// The preflight: every claim of each template that belongs to this StatefulSet by
/// exact name (`TEMPLATE-STS-ORDINAL`, current ordinals and leftovers) must be Bound, of
/// a class that allows expansion, and not larger than the new size. Errors are one
/// line naming the claim and the fix (exit 2); nothing has been changed.
pub fn plan(
    sts: &StatefulSet,
    changes: Vec<TemplateChange>,
    pvcs: &[PersistentVolumeClaim],
    classes: &[StorageClass],
) -> Result<ResizePlan, String> {
    let name = sts.metadata.name.as_deref().unwrap_or("");
    let f = crate::model::statefulset::Facts::of(sts);
    let range = crate::model::ordinals::OrdinalRange::new(f.start_ordinal, f.replicas);
    let mut claims = Vec::new();
    for t in &changes {
        let mut mine: Vec<(i32, &PersistentVolumeClaim)> = pvcs
            .iter()
            .filter_map(|c| Some((claim_ordinal(&t.template, name, c.metadata.name.as_deref()?)?, c)))
            .collect();
        mine.sort_by_key(|(o, _)| *o);
        for (ordinal, c) in mine {
            claims.push(claim_plan(t, ordinal, !range.contains(ordinal), c, classes)?);
        }
    }
    for t in &changes {
        let from = parse_bytes(&t.from).unwrap_or(0);
        if t.to_bytes < from {
            return Err(format!(
                "claim template {} of statefulset \"{name}\" is {}: {} would shrink it; volumes can only grow: give a size above {}",
                t.template, t.from, t.to, t.from
            ));
        }
    }
    Ok(ResizePlan {
        templates: changes,
        claims,
    })
}

fn claim_plan(
    t: &TemplateChange,
    ordinal: i32,
    leftover: bool,
    c: &PersistentVolumeClaim,
    classes: &[StorageClass],
) -> Result<ClaimPlan, String> {
    let cname = c.metadata.name.clone().unwrap_or_default();
    let phase = c.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("Pending");
    if phase != "Bound" {
        return Err(format!(
            "persistentvolumeclaim {cname} is {phase}, not Bound: only a bound claim can be expanded; fix or delete it first (kubectl describe pvc {cname})"
        ));
    }
    let class = class_of(c, classes);
    match class.as_deref().map(|n| (n, class_allows_expansion(classes, n))) {
        Some((_, Some(true))) => {}
        Some((n, Some(false))) => {
            return Err(format!(
                "storageclass {n} (of persistentvolumeclaim {cname}) does not allow volume expansion: set allowVolumeExpansion: true on it (if its provisioner supports expansion) and re-run; nothing was changed"
            ));
        }
        Some((n, None)) => {
            return Err(format!(
                "storageclass {n} (of persistentvolumeclaim {cname}) does not exist: a claim without its class cannot be expanded; nothing was changed"
            ));
        }
        None => {
            return Err(format!(
                "persistentvolumeclaim {cname} has no StorageClass (statically provisioned): only dynamically provisioned claims can be expanded; nothing was changed"
            ));
        }
    }
    let request = request_bytes(c).unwrap_or(0);
    let capacity = capacity_bytes(c);
    if request > t.to_bytes {
        return Err(format!(
            "persistentvolumeclaim {cname} already requests {}, more than {}: volumes can only grow; give a size of at least {}",
            format_bytes(request),
            t.to,
            format_bytes(request)
        ));
    }
    let action = if capacity.is_some_and(|cap| cap >= t.to_bytes) && request >= t.to_bytes {
        ClaimAction::Done
    } else if request == t.to_bytes {
        ClaimAction::AlreadyRequested
    } else {
        ClaimAction::Expand
    };
    Ok(ClaimPlan {
        name: cname,
        template: t.template.clone(),
        ordinal,
        leftover,
        from: claim_request(c).unwrap_or_default(),
        to: t.to.clone(),
        capacity: claim_capacity(c),
        storage_class: class,
        action,
    })
}

/// Where one claim's expansion stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ClaimProgress {
    /// The capacity reached the request.
    Done,
    /// The external resizer is at work (`Resizing`).
    Resizing,
    /// The volume grew; the filesystem waits for the kubelet (`FileSystemResizePending`).
    FileSystemResizePending,
    /// Requested, nothing reported yet.
    Requested,
    /// The resizer reported a failure (`ControllerResizeError`/`NodeResizeError`
    /// condition, or a `VolumeResizeFailed` event).
    Failed(String),
}

/// How far a claim has come towards `to_bytes`.
pub fn progress(c: &PersistentVolumeClaim, to_bytes: u128) -> ClaimProgress {
    if capacity_bytes(c).is_some_and(|cap| cap >= to_bytes) {
        return ClaimProgress::Done;
    }
    let conds = c
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or_default();
    let has = |t: &str| conds.iter().find(|x| x.type_ == t && x.status == "True");
    if let Some(e) = has("ControllerResizeError").or(has("NodeResizeError")) {
        return ClaimProgress::Failed(e.message.clone().unwrap_or_else(|| e.type_.clone()));
    }
    if has("FileSystemResizePending").is_some() {
        ClaimProgress::FileSystemResizePending
    } else if has("Resizing").is_some() {
        ClaimProgress::Resizing
    } else {
        ClaimProgress::Requested
    }
}

/// The StatefulSet to create again: the backup with the new template sizes and every
/// field the server sets removed (uid, resourceVersion, creationTimestamp, generation,
/// managedFields, deletion fields, status); labels, annotations, owner references and
/// the whole spec otherwise kept.
pub fn recreated(backup: &StatefulSet, changes: &[TemplateChange]) -> StatefulSet {
    let mut s = backup.clone();
    let m = &mut s.metadata;
    m.uid = None;
    m.resource_version = None;
    m.creation_timestamp = None;
    m.generation = None;
    m.managed_fields = None;
    m.deletion_timestamp = None;
    m.deletion_grace_period_seconds = None;
    m.self_link = None;
    m.finalizers = None;
    s.status = None;
    if let Some(templates) = s.spec.volume_claim_templates.as_mut() {
        for t in templates {
            let Some(c) = changes
                .iter()
                .find(|c| Some(c.template.as_str()) == t.metadata.name.as_deref())
            else {
                continue;
            };
            let res = t
                .spec
                .get_or_insert_with(Default::default)
                .resources
                .get_or_insert_with(Default::default);
            res.requests
                .get_or_insert_with(Default::default)
                .insert("storage".into(), Quantity(c.to.clone()));
            // The API server drops these from templates; never send a stale status.
            t.status = None;
        }
    }
    s
}

/// Whether the StatefulSet's templates already have the new sizes.
pub fn template_done(sts: &StatefulSet, changes: &[TemplateChange]) -> bool {
    let templates = sts.spec.volume_claim_templates.as_deref().unwrap_or_default();
    changes.iter().all(|c| {
        templates
            .iter()
            .find(|t| t.metadata.name.as_deref() == Some(c.template.as_str()))
            .and_then(claim_request)
            .and_then(|q| parse_bytes(&q))
            .is_some_and(|b| b >= c.to_bytes)
    })
}

/// Pods not yet adopted by the StatefulSet with `uid`: their controller reference
/// names another owner, or none.
pub fn not_adopted<'a>(pods: &'a [Pod], uid: &str) -> Vec<&'a str> {
    pods.iter()
        .filter(|p| {
            !p.metadata
                .owner_references
                .as_deref()
                .unwrap_or_default()
                .iter()
                .any(|o| o.controller == Some(true) && o.uid == uid)
        })
        .filter_map(|p| p.metadata.name.as_deref())
        .collect()
}

#[cfg(test)]
mod tests;

/// A ResourceQuota that will obviously refuse the expansion: its `requests.storage` (or
/// the class's `<class>.storageclass.storage.k8s.io/requests.storage`) hard limit is
/// below what is used now plus the growth of every claim to expand (the quota
/// admission plugin charges the growth of a claim's request). One line naming the
/// quota and the fix, for exit 2.
pub fn quota_refusal(
    quotas: &[k8s_openapi::api::core::v1::ResourceQuota],
    claims: &[(String, Option<String>, u128, u128)],
) -> Option<String> {
    for q in quotas {
        let name = q.metadata.name.as_deref().unwrap_or("?");
        let hard = q
            .status
            .as_ref()
            .and_then(|s| s.hard.as_ref())
            .or(q.spec.as_ref().and_then(|s| s.hard.as_ref()));
        let used = q.status.as_ref().and_then(|s| s.used.as_ref());
        let Some(hard) = hard else { continue };
        for (key, limit) in hard {
            let class = match key.as_str() {
                "requests.storage" => None,
                k => match k.strip_suffix(".storageclass.storage.k8s.io/requests.storage") {
                    Some(c) => Some(c),
                    None => continue,
                },
            };
            let Some(limit_b) = parse_bytes(&limit.0) else { continue };
            let used_b = used
                .and_then(|u| u.get(key))
                .and_then(|u| parse_bytes(&u.0))
                .unwrap_or(0);
            let growth: u128 = claims
                .iter()
                .filter(|(_, c, _, _)| class.is_none() || c.as_deref() == class)
                .map(|(_, _, from, to)| to.saturating_sub(*from))
                .sum();
            if growth > 0 && used_b + growth > limit_b {
                return Some(format!(
                    "resourcequota {name} allows {key} {}, {} used: growing the claims by {} would exceed it; raise the quota or give a smaller size; nothing was changed",
                    limit.0,
                    format_bytes(used_b),
                    format_bytes(growth)
                ));
            }
        }
    }
    None
}
