//! What `verify-persistence` decides, without I/O: which of a container's mounts are
//! backed by a volumeClaimTemplate, whether it is safe to delete the pod now, how far
//! the replacement pod has come, and the per-mount verdict.
//!
//! Semantics followed:
//! - The StatefulSet controller gives every pod one volume per claim template, named
//!   after the template, whose `persistentVolumeClaim.claimName` is
//!   `<template>-<sts>-<ordinal>` (`updateStorage` / `getPersistentVolumeClaims` in
//!   pkg/controller/statefulset/stateful_set_utils.go). A volumeMount names a pod
//!   volume; only those resolving to such a claim are persistent per ordinal.
//! - A mount is read-only when `volumeMounts[].readOnly` or the volume's
//!   `persistentVolumeClaim.readOnly` is set (kubelet `makeMounts`).
//! - `subPath` narrows the mount to a directory inside the volume; the marker is written
//!   at `mountPath`, i.e. inside that directory.
//! - The controller recreates a deleted pod at `currentRevision` below the partition and
//!   at `updateRevision` at or above it, and under OnDelete (`newVersionedStatefulSetPod`,
//!   see [`Facts::revision_on_recreate`]): the drill must not be the thing that changes
//!   what a pod runs unless asked (`--force`), but a pod that comes back at its own
//!   revision (below the partition of a staged rollout, say) is fine to verify.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, Pod, Volume};
use serde::Serialize;

use super::ordinals::{claim_name, pod_name, pod_ordinal};
use super::pods;
use super::statefulset::Facts;

/// kubectl's annotation naming the container `exec` and `logs` pick by default.
pub const DEFAULT_CONTAINER_ANNOTATION: &str = "kubectl.kubernetes.io/default-container";

/// Marker file names start with this; the rest is a random nonce.
pub const MARKER_PREFIX: &str = ".kubectl-sts-marker-";

/// The ordinal to drill when none is given: the highest in `[start, start+replicas)`.
///
/// The highest ordinal is the one the controller itself disturbs first (scale-in and
/// RollingUpdate both go from the top down) and, with OrderedReady, the last one
/// created: in most replicated stores ordinal `start` is the bootstrap member or
/// primary, and the highest one the newest follower. Deleting it is the least
/// surprising disruption.
pub fn default_ordinal(facts: &Facts) -> Option<i32> {
    let r = facts.ordinals();
    (!r.is_empty()).then(|| r.end() - 1)
}

/// The ordinals `--all` drills, highest first.
pub fn all_ordinals(facts: &Facts) -> Vec<i32> {
    facts.ordinals().range().rev().collect()
}

/// The container to exec into: `-c`, else kubectl's default-container annotation, else
/// the first container (what `kubectl exec` does). Err: a one-line reason.
pub fn choose_container(pod: &Pod, requested: Option<&str>) -> Result<String, String> {
    let pod_name = pod.metadata.name.as_deref().unwrap_or("");
    let names: Vec<&str> = pod
        .spec
        .as_ref()
        .map(|s| s.containers.iter().map(|c| c.name.as_str()).collect())
        .unwrap_or_default();
    if let Some(c) = requested {
        return if names.contains(&c) {
            Ok(c.to_string())
        } else {
            Err(format!(
                "container \"{c}\" not found in pod {pod_name}: choose one of [{}] with -c",
                names.join(" ")
            ))
        };
    }
    let annotated = pod
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(DEFAULT_CONTAINER_ANNOTATION))
        .filter(|c| names.contains(&c.as_str()));
    match (annotated, names.first()) {
        (Some(c), _) => Ok(c.clone()),
        (None, Some(c)) => Ok(c.to_string()),
        (None, None) => Err(format!("pod {pod_name} has no containers")),
    }
}

/// A volumeMount of the chosen container, resolved to what backs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedMount {
    /// The pod volume's name.
    pub volume: String,
    pub mount_path: String,
    /// `subPath` (or `subPathExpr`, unexpanded), when set.
    pub sub_path: Option<String>,
    pub read_only: bool,
    pub backing: Backing,
}

/// What a volume is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Backing {
    /// A PVC created from a volumeClaimTemplate for this ordinal: what we verify.
    #[serde(rename_all = "camelCase")]
    ClaimTemplate { template: String, claim: String },
    /// A PVC shared by every pod (declared in the pod template): persistent, but not
    /// per-ordinal; not what this drill is about, skipped.
    #[serde(rename_all = "camelCase")]
    SharedClaim { claim: String },
    /// emptyDir, configMap, secret, projected, hostPath, ...: skipped.
    #[serde(rename_all = "camelCase")]
    NotPersistent { kind: String },
    /// The mount names a volume the pod does not have (cannot happen for a valid pod).
    Missing,
}

impl ResolvedMount {
    pub fn is_claim_template(&self) -> bool {
        matches!(self.backing, Backing::ClaimTemplate { .. })
    }

    /// Why this mount is skipped, for "not persistent, skipped" lines; None when verified.
    pub fn skip_reason(&self) -> Option<String> {
        match &self.backing {
            Backing::ClaimTemplate { .. } => None,
            Backing::SharedClaim { claim } => Some(format!(
                "PVC {claim} is shared by every pod (not from a volumeClaimTemplate), skipped"
            )),
            Backing::NotPersistent { kind } => Some(format!("{kind}: not persistent, skipped")),
            Backing::Missing => Some("no such volume in the pod, skipped".into()),
        }
    }
}

fn volume_kind(v: &Volume) -> &'static str {
    macro_rules! kinds {
        ($($field:ident => $name:literal),* $(,)?) => {
            $( if v.$field.is_some() { return $name; } )*
        };
    }
    kinds!(
        empty_dir => "emptyDir",
        config_map => "configMap",
        secret => "secret",
        projected => "projected",
        downward_api => "downwardAPI",
        host_path => "hostPath",
        ephemeral => "ephemeral",
        csi => "csi",
        nfs => "nfs",
        image => "image",
    );
    "other"
}

/// Resolve every volumeMount of `container` in `pod` (pod `<sts>-<ordinal>`).
pub fn resolve_mounts(
    pod: &Pod,
    container: &Container,
    sts: &str,
    ordinal: i32,
    templates: &[String],
) -> Vec<ResolvedMount> {
    let volumes: &[Volume] = pod.spec.as_ref().and_then(|s| s.volumes.as_deref()).unwrap_or_default();
    container
        .volume_mounts
        .iter()
        .flatten()
        .map(|vm| {
            let vol = volumes.iter().find(|v| v.name == vm.name);
            let mut read_only = vm.read_only.unwrap_or(false);
            let backing = match vol {
                None => Backing::Missing,
                Some(v) => match &v.persistent_volume_claim {
                    Some(pvc) => {
                        read_only |= pvc.read_only.unwrap_or(false);
                        match templates.iter().find(|t| claim_name(t, sts, ordinal) == pvc.claim_name) {
                            Some(t) => Backing::ClaimTemplate {
                                template: t.clone(),
                                claim: pvc.claim_name.clone(),
                            },
                            None => Backing::SharedClaim {
                                claim: pvc.claim_name.clone(),
                            },
                        }
                    }
                    None => Backing::NotPersistent {
                        kind: volume_kind(v).to_string(),
                    },
                },
            };
            ResolvedMount {
                volume: vm.name.clone(),
                mount_path: vm.mount_path.clone(),
                sub_path: vm
                    .sub_path
                    .clone()
                    .filter(|s| !s.is_empty())
                    .or_else(|| vm.sub_path_expr.clone().filter(|s| !s.is_empty())),
                read_only,
                backing,
            }
        })
        .collect()
}

/// The marker's path inside the container: `<mountPath>/<prefix><nonce>`.
pub fn marker_path(mount_path: &str, nonce: &str) -> String {
    let base = mount_path.trim_end_matches('/');
    format!("{base}/{MARKER_PREFIX}{nonce}")
}

/// One reason not to delete the pod now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub reason: String,
    /// `--force` overrides it (the StatefulSet's health); otherwise it is a hard stop
    /// (the pod itself cannot be verified).
    pub overridable: bool,
}

impl Finding {
    fn hard(reason: String) -> Finding {
        Finding {
            reason,
            overridable: false,
        }
    }
    fn soft(reason: String) -> Finding {
        Finding {
            reason,
            overridable: true,
        }
    }
}

/// Why the controller would recreate `ordinal` at the revision it would.
fn recreate_reason(facts: &Facts, ordinal: i32) -> String {
    use crate::model::statefulset::UpdateStrategy;
    if facts.update_strategy == UpdateStrategy::OnDelete {
        "OnDelete recreates a deleted pod at the update revision".into()
    } else if ordinal < facts.start_ordinal + facts.partition {
        format!(
            "ordinal {ordinal} is below the partition ({}): recreated at currentRevision",
            facts.start_ordinal + facts.partition
        )
    } else {
        format!(
            "ordinal {ordinal} is at or above the partition ({}): recreated at updateRevision",
            facts.start_ordinal + facts.partition
        )
    }
}

/// Everything that argues against deleting pod `<sts>-<ordinal>` now. `pods_in` are the
/// StatefulSet's pods (by selector). Empty: go ahead.
pub fn preflight(facts: &Facts, pods_in: &[Pod], ordinal: i32) -> Vec<Finding> {
    let mut out = Vec::new();
    let name = pod_name(&facts.name, ordinal);
    let range = facts.ordinals();
    if !range.contains(ordinal) {
        out.push(Finding::hard(format!(
            "ordinal {ordinal} is outside {}'s ordinals [{}, {})",
            facts.name,
            range.start,
            range.end()
        )));
        return out;
    }
    let by_ordinal = |o: i32| {
        pods_in
            .iter()
            .find(|p| p.metadata.name.as_deref().and_then(|n| pod_ordinal(&facts.name, n)) == Some(o))
    };
    match by_ordinal(ordinal) {
        None => out.push(Finding::hard(format!("pod {name} does not exist"))),
        Some(p) if p.metadata.deletion_timestamp.is_some() => {
            out.push(Finding::hard(format!("pod {name} is already terminating")))
        }
        Some(p) if p.status.as_ref().and_then(|s| s.phase.as_deref()) != Some("Running") || !pods::is_ready(p) => out
            .push(Finding::hard(format!(
                "pod {name} is not Running and Ready (it is {}): there is nothing to mark until it is",
                pods::status_reason(p)
            ))),
        // Deleting the pod only changes its revision when the controller would recreate
        // it at another one than it runs: a staged rollout (partition) that left lower
        // ordinals at currentRevision is no reason to refuse them.
        Some(p) => {
            if let (Some(rev), Some(next)) = (pods::revision(p), facts.revision_on_recreate(ordinal))
                && rev != next
            {
                out.push(Finding::soft(format!(
                    "pod {name} runs revision {rev}, but the controller would recreate it at revision {next} ({}): \
                     deleting it would change what it runs, not only prove its data",
                    recreate_reason(facts, ordinal)
                )));
            }
        }
    }
    if !facts.status_is_current() {
        out.push(Finding::soft(format!(
            "the StatefulSet controller has not observed generation {} yet (observedGeneration {}): a change is being rolled out",
            facts.generation,
            facts.observed_generation.map_or("none".into(), |g| g.to_string())
        )));
    }

    // OrderedReady creates a missing pod only once every lower ordinal is Running and
    // Ready (`monotonic` in pkg/controller/statefulset/stateful_set_control.go): the
    // target would not come back at all, so --force cannot help.
    if facts.pod_management_policy == crate::model::statefulset::PodManagementPolicy::OrderedReady {
        let blocking: Vec<String> = (range.start..ordinal)
            .filter(|o| !by_ordinal(*o).is_some_and(|p| pods::is_ready(p) && p.metadata.deletion_timestamp.is_none()))
            .map(|o| pod_name(&facts.name, o))
            .collect();
        if !blocking.is_empty() {
            out.push(Finding::hard(format!(
                "with podManagementPolicy OrderedReady, {name} would not be recreated until {} {} Running and Ready",
                blocking.join(", "),
                if blocking.len() == 1 { "is" } else { "are" }
            )));
        }
    }
    let not_ready: Vec<String> = range
        .range()
        .filter(|o| *o != ordinal)
        .filter_map(|o| match by_ordinal(o) {
            None => Some(format!("{} missing", pod_name(&facts.name, o))),
            Some(p) if p.metadata.deletion_timestamp.is_some() => {
                Some(format!("{} terminating", pod_name(&facts.name, o)))
            }
            Some(p) if !pods::is_ready(p) => Some(format!("{} {}", pod_name(&facts.name, o), pods::status_reason(p))),
            _ => None,
        })
        .collect();
    if !not_ready.is_empty() {
        out.push(Finding::soft(format!(
            "the StatefulSet is not fully ready ({}): taking {name} down too can break quorum",
            not_ready.join(", ")
        )));
    } else if facts.status_is_current() && facts.ready_replicas < facts.replicas {
        out.push(Finding::soft(format!(
            "the StatefulSet reports {}/{} replicas ready: taking {name} down too can break quorum",
            facts.ready_replicas, facts.replicas
        )));
    }
    out
}

/// Whether the findings stop the drill: any hard one, or any with `force` unset.
pub fn refused(findings: &[Finding], force: bool) -> bool {
    findings.iter().any(|f| !f.overridable || !force)
}

/// The StatefulSet is fully ready and settled (what `--all` waits for between pods).
pub fn fully_ready(facts: &Facts) -> bool {
    facts.status_is_current()
        && facts.ready_replicas >= facts.replicas
        && facts.status_replicas == facts.replicas
        && !facts.rollout_in_flight()
}

/// The steps the replacement pod goes through, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Phase {
    /// The old pod has a deletionTimestamp.
    Terminating,
    /// The old pod is gone from the API.
    Gone,
    /// A new pod with the same name is bound to a node.
    Scheduled,
    /// Its containers were created (a container ID is reported).
    ContainerCreated,
    /// Phase Running.
    Running,
    /// Ready condition True.
    Ready,
}

impl Phase {
    pub const ALL: [Phase; 6] = [
        Phase::Terminating,
        Phase::Gone,
        Phase::Scheduled,
        Phase::ContainerCreated,
        Phase::Running,
        Phase::Ready,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Phase::Terminating => "terminating",
            Phase::Gone => "gone",
            Phase::Scheduled => "scheduled",
            Phase::ContainerCreated => "container created",
            Phase::Running => "running",
            Phase::Ready => "ready",
        }
    }
}

/// Where the wait stands: which phases were reached when, and the latest pod seen.
#[derive(Debug, Clone)]
pub struct WaitTracker {
    pub pod: String,
    pub old_uid: String,
    /// Phases reached, in order, with the time since the deletion was requested.
    pub reached: Vec<(Phase, Duration)>,
    /// The latest observation: None when no pod of that name exists.
    pub latest: Option<Pod>,
    /// The old pod as first seen terminating (its deadline and grace period) and as
    /// last seen (the DELETED object: its containers' final states).
    pub old_first: Option<Pod>,
    pub old_last: Option<Pod>,
    /// When a replacement was first seen (whatever its phase).
    pub created_at: Option<Duration>,
}

impl WaitTracker {
    pub fn new(pod: &str, old_uid: &str) -> WaitTracker {
        WaitTracker {
            pod: pod.to_string(),
            old_uid: old_uid.to_string(),
            reached: Vec::new(),
            latest: None,
            old_first: None,
            old_last: None,
            created_at: None,
        }
    }

    /// The old pod's last state, from the watch's DELETED event.
    pub fn observe_deleted(&mut self, pod: &Pod) {
        if pod.metadata.uid.as_deref() == Some(self.old_uid.as_str()) {
            self.old_last = Some(pod.clone());
        }
    }

    /// The boundaries of the recreation's phases, for [`crate::model::explain`].
    pub fn marks(&self) -> crate::model::explain::Marks {
        crate::model::explain::Marks {
            gone: self.at(Phase::Gone),
            created: self.created_at.or(self.at(Phase::Scheduled)),
            scheduled: self.at(Phase::Scheduled),
            running: self.at(Phase::Running),
            ready: self.at(Phase::Ready),
        }
    }

    /// The replacement as last seen.
    pub fn new_pod(&self) -> Option<&Pod> {
        self.latest
            .as_ref()
            .filter(|p| p.metadata.uid.as_deref() != Some(self.old_uid.as_str()))
    }

    /// When a phase was reached.
    pub fn at(&self, phase: Phase) -> Option<Duration> {
        self.reached.iter().find(|(p, _)| *p == phase).map(|(_, d)| *d)
    }

    fn highest(&self) -> Option<Phase> {
        self.reached.last().map(|(p, _)| *p)
    }

    pub fn done(&self) -> bool {
        self.highest() == Some(Phase::Ready)
    }

    /// The new pod's UID, once one was seen.
    pub fn new_uid(&self) -> Option<&str> {
        self.latest
            .as_ref()
            .and_then(|p| p.metadata.uid.as_deref())
            .filter(|u| *u != self.old_uid)
    }

    /// Record what the pod looks like at `at`; returns the phases newly reached (a
    /// jump, e.g. from terminating straight to a ready new pod, reaches every phase in
    /// between at the same instant). Phases never go backwards.
    pub fn observe(&mut self, pod: Option<&Pod>, at: Duration) -> Vec<Phase> {
        self.latest = pod.cloned();
        if let Some(p) = pod {
            if p.metadata.uid.as_deref() == Some(self.old_uid.as_str()) {
                if self.old_first.is_none() && p.metadata.deletion_timestamp.is_some() {
                    self.old_first = Some(p.clone());
                }
                self.old_last = Some(p.clone());
            } else if self.created_at.is_none() {
                self.created_at = Some(at);
            }
        }
        let now = match pod {
            None => Some(Phase::Gone),
            Some(p) if p.metadata.uid.as_deref() == Some(self.old_uid.as_str()) => {
                p.metadata.deletion_timestamp.is_some().then_some(Phase::Terminating)
            }
            Some(p) => Some(new_pod_phase(p)),
        };
        let Some(now) = now else { return Vec::new() };
        let from = self.highest();
        let newly: Vec<Phase> = Phase::ALL
            .into_iter()
            .filter(|p| *p <= now && from.is_none_or(|f| *p > f))
            .collect();
        self.reached.extend(newly.iter().map(|p| (*p, at)));
        newly
    }

    /// One sentence on where things stand, for timeouts and interruptions.
    pub fn describe(&self) -> String {
        match &self.latest {
            None if self.reached.is_empty() => format!("pod {} was not observed yet", self.pod),
            None => format!("pod {} is gone and no replacement exists yet", self.pod),
            Some(p) if p.metadata.uid.as_deref() == Some(self.old_uid.as_str()) => {
                if p.metadata.deletion_timestamp.is_some() {
                    format!("the old pod {} (uid {}) is still terminating", self.pod, self.old_uid)
                } else {
                    format!(
                        "the old pod {} (uid {}) is still running (not deleted)",
                        self.pod, self.old_uid
                    )
                }
            }
            Some(p) => format!(
                "the new pod {} (uid {}) is {}{}",
                self.pod,
                p.metadata.uid.as_deref().unwrap_or("?"),
                pods::status_reason(p),
                if pods::is_ready(p) { ", Ready" } else { ", not Ready" }
            ),
        }
    }
}

/// How far a pod that is not the old one has come (at least `Gone`: the old one is).
fn new_pod_phase(p: &Pod) -> Phase {
    let status = p.status.as_ref();
    if status.and_then(|s| s.phase.as_deref()) == Some("Running") {
        return if pods::is_ready(p) {
            Phase::Ready
        } else {
            Phase::Running
        };
    }
    let created = status.and_then(|s| s.container_statuses.as_ref()).is_some_and(|cs| {
        cs.iter()
            .any(|c| c.container_id.as_deref().is_some_and(|id| !id.is_empty()))
    });
    if created {
        return Phase::ContainerCreated;
    }
    let scheduled = p
        .spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .is_some_and(|n| !n.is_empty())
        || pods::condition_true(p, "PodScheduled");
    if scheduled { Phase::Scheduled } else { Phase::Gone }
}

/// What reading a marker back gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadBack {
    /// The file exists; its content.
    Found(String),
    /// No such file.
    Missing,
    /// Could not tell (exec failed).
    Error(String),
}

/// The claim as seen before deletion and after recreation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClaimSnapshot {
    pub uid: Option<String>,
    pub volume: Option<String>,
    pub phase: Option<String>,
}

/// A mount's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    /// Same PVC, same PV, the marker is there with the same content.
    Persisted,
    /// The data did not survive: marker missing or different, or the PVC or PV changed.
    Lost,
    /// Could not be checked (the pod was unreachable, the exec failed).
    Unknown,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Persisted => "PERSISTED",
            Verdict::Lost => "LOST",
            Verdict::Unknown => "UNKNOWN",
        }
    }
}

/// Decide one mount: the PVC must be the same object (same UID), still Bound to the same
/// PV, and the marker must read back byte for byte.
pub fn verdict(nonce: &str, before: &ClaimSnapshot, after: &ClaimSnapshot, read: &ReadBack) -> (Verdict, String) {
    if after.uid.is_none() {
        return (Verdict::Lost, "the PVC no longer exists".into());
    }
    if before.uid != after.uid {
        return (
            Verdict::Lost,
            format!(
                "the PVC was recreated (uid {} -> {})",
                before.uid.as_deref().unwrap_or("?"),
                after.uid.as_deref().unwrap_or("?")
            ),
        );
    }
    if before.volume != after.volume {
        return (
            Verdict::Lost,
            format!(
                "the PVC is now bound to {} instead of {}",
                after.volume.as_deref().unwrap_or("no volume"),
                before.volume.as_deref().unwrap_or("no volume")
            ),
        );
    }
    if after.phase.as_deref() != Some("Bound") {
        return (
            Verdict::Lost,
            format!(
                "the PVC is {}, not Bound",
                after.phase.as_deref().unwrap_or("in no phase")
            ),
        );
    }
    match read {
        ReadBack::Found(c) if c == nonce => (Verdict::Persisted, "marker present with identical content".into()),
        ReadBack::Found(_) => (Verdict::Lost, "marker present but its content differs".into()),
        ReadBack::Missing => (Verdict::Lost, "marker missing after recreation".into()),
        ReadBack::Error(e) => (Verdict::Unknown, format!("cannot read the marker: {e}")),
    }
}

#[cfg(test)]
mod tests;
