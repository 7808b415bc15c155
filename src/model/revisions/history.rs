//! `rollout history`: the ControllerRevisions a StatefulSet controls, and the restart patch.

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use serde::Serialize;

use super::*;
use crate::model::statefulset::Facts;

// ---------------------------------------------------------------------------------
// History and restart
// ---------------------------------------------------------------------------------

/// One ControllerRevision, as `kubectl sts rollout history` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RevisionRow {
    pub revision: i64,
    pub name: String,
    /// The `controller.kubernetes.io/hash` label (the pods' `controller-revision-hash` is the name).
    pub hash: String,
    pub created_at: Option<Timestamp>,
    /// `container=image` for every init container and container of the template.
    pub images: Vec<String>,
    /// The `kubernetes.io/change-cause` annotation.
    pub change_cause: Option<String>,
    /// `status.currentRevision`.
    pub current: bool,
    /// `status.updateRevision`.
    pub update: bool,
}

/// The ControllerRevisions `sts` controls (owner reference with its UID and
/// `controller: true`, as `controlledHistories` does), by revision number.
pub fn history(sts: &StatefulSet, revisions: &[ControllerRevision]) -> Vec<RevisionRow> {
    let uid = sts.metadata.uid.as_deref();
    let f = Facts::of(sts);
    let mut rows: Vec<RevisionRow> = revisions
        .iter()
        .filter(|r| {
            r.metadata
                .owner_references
                .iter()
                .flatten()
                .any(|o| o.controller == Some(true) && Some(o.uid.as_str()) == uid)
        })
        .map(|r| {
            let name = r.metadata.name.clone().unwrap_or_default();
            let hash = r
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(HASH_LABEL).cloned())
                .unwrap_or_else(|| name.rsplit('-').next().unwrap_or("").to_string());
            RevisionRow {
                revision: r.revision.unwrap_or(0),
                hash,
                created_at: r.metadata.creation_timestamp.as_ref().map(|t| t.0),
                images: revision_images(r),
                change_cause: r
                    .metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get(CHANGE_CAUSE).cloned())
                    .filter(|c| !c.is_empty()),
                current: f.current_revision.as_deref() == Some(name.as_str()),
                update: f.update_revision.as_deref() == Some(name.as_str()),
                name,
            }
        })
        .collect();
    rows.sort_by(|a, b| a.revision.cmp(&b.revision).then_with(|| a.name.cmp(&b.name)));
    rows
}

/// `name=image` of the template a ControllerRevision stores (`data.spec.template`).
pub fn revision_images(r: &ControllerRevision) -> Vec<String> {
    let spec = &r.data.0["spec"]["template"]["spec"];
    ["initContainers", "containers"]
        .iter()
        .flat_map(|k| spec[k].as_array().cloned().unwrap_or_default())
        .map(|c| {
            format!(
                "{}={}",
                c["name"].as_str().unwrap_or("?"),
                c["image"].as_str().unwrap_or("<none>")
            )
        })
        .collect()
}

/// The strategic-merge patch `kubectl rollout restart` sends (captured in
/// k8s-reference/kubectl-v8-rollout-restart.log): the template's restartedAt
/// annotation set to `now` in RFC 3339 with whole seconds.
pub fn restart_patch(now: Timestamp) -> serde_json::Value {
    serde_json::json!({"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: restarted_at(now)}}}}})
}

/// `2026-11-22T03:06:40Z`.
pub fn restarted_at(now: Timestamp) -> String {
    now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}
