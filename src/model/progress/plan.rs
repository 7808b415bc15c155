//! The scale plan: what a scale will do before it is made.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use serde::Serialize;

use crate::model::ordinals::{OrdinalRange, claim_name};
use crate::model::statefulset::Facts;

// ---------------------------------------------------------------------------------
// Plan
// ---------------------------------------------------------------------------------

/// What a scale from the current replicas to `to` will do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub from: i32,
    pub to: i32,
    pub start_ordinal: i32,
    pub pod_management_policy: crate::model::statefulset::PodManagementPolicy,
    pub when_scaled: crate::model::statefulset::Retention,
    /// Ordinals that will get a pod, in the order the controller creates them.
    pub adding: Vec<i32>,
    /// Ordinals whose pod will be removed, in the order the controller removes them.
    pub removing: Vec<i32>,
    /// Existing PVCs (kept by an earlier scale-in) that the new ordinals will use again.
    pub reusing: Vec<ClaimRef>,
    /// PVCs of the removed ordinals, and whether Kubernetes will delete them.
    pub left_behind: Vec<LeftBehind>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimRef {
    pub ordinal: i32,
    pub name: String,
    pub volume: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LeftBehind {
    pub ordinal: i32,
    pub name: String,
    pub volume: Option<String>,
    /// True with `whenScaled: Delete`: the garbage collector deletes the PVC (and,
    /// with a `Delete` reclaim policy, its volume and data) once the pod is gone.
    pub will_be_deleted: bool,
}

pub(super) fn claim_volume(c: &PersistentVolumeClaim) -> Option<String> {
    c.spec.as_ref()?.volume_name.clone().filter(|v| !v.is_empty())
}

pub(super) fn claim_phase(c: &PersistentVolumeClaim) -> String {
    c.status
        .as_ref()
        .and_then(|s| s.phase.clone())
        .unwrap_or_else(|| "Pending".into())
}

/// Decide what scaling `f` to `to` replicas does, given the namespace's PVCs.
pub fn plan(f: &Facts, to: i32, pvcs: &[&PersistentVolumeClaim]) -> Plan {
    let by_name: BTreeMap<&str, &PersistentVolumeClaim> = pvcs
        .iter()
        .filter_map(|c| Some((c.metadata.name.as_deref()?, *c)))
        .collect();
    let old = OrdinalRange::new(f.start_ordinal, f.replicas);
    let new = OrdinalRange::new(f.start_ordinal, to);
    let adding: Vec<i32> = new.range().filter(|o| !old.contains(*o)).collect();
    let removing: Vec<i32> = old.range().rev().filter(|o| !new.contains(*o)).collect();
    let delete = f.retention.when_scaled == crate::model::statefulset::Retention::Delete;
    let claims_of = |ords: &[i32]| -> Vec<(i32, String, &PersistentVolumeClaim)> {
        ords.iter()
            .flat_map(|o| f.claim_templates.iter().map(move |t| (*o, claim_name(t, &f.name, *o))))
            .filter_map(|(o, n)| by_name.get(n.as_str()).map(|c| (o, n, *c)))
            .filter(|(_, _, c)| c.metadata.deletion_timestamp.is_none())
            .collect()
    };
    Plan {
        from: f.replicas,
        to,
        start_ordinal: f.start_ordinal,
        pod_management_policy: f.pod_management_policy,
        when_scaled: f.retention.when_scaled,
        reusing: claims_of(&adding)
            .into_iter()
            .map(|(ordinal, name, c)| ClaimRef {
                ordinal,
                name,
                volume: claim_volume(c),
            })
            .collect(),
        left_behind: claims_of(&removing)
            .into_iter()
            .map(|(ordinal, name, c)| LeftBehind {
                ordinal,
                name,
                volume: claim_volume(c),
                will_be_deleted: delete,
            })
            .collect(),
        adding,
        removing,
    }
}

impl Plan {
    /// The action to confirm, when the scale deletes data (scale-in under
    /// `whenScaled: Delete`) or stops every pod (scale to 0). None: no confirmation.
    pub fn confirmation(&self, sts: &str, ns: &str, context: &str) -> Option<String> {
        let deleted: Vec<&str> = self
            .left_behind
            .iter()
            .filter(|l| l.will_be_deleted)
            .map(|l| l.name.as_str())
            .collect();
        let scope = format!("statefulset \"{sts}\" in namespace \"{ns}\" (context \"{context}\")");
        if !deleted.is_empty() {
            return Some(format!(
                "scale {scope} from {} to {} and DELETE PVCs {} with their data (whenScaled: Delete)",
                self.from,
                self.to,
                deleted.join(", ")
            ));
        }
        if self.to == 0 && self.from > 0 && !self.removing.is_empty() {
            return Some(format!(
                "scale {scope} from {} to 0, stopping every pod (PVCs are kept: whenScaled: {})",
                self.from, self.when_scaled
            ));
        }
        None
    }
}
