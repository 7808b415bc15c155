//! What each ordinal and claim is observed to be: roles, pod and claim states, rows.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use serde::Serialize;

use super::*;
use crate::model::pods;

// ---------------------------------------------------------------------------------
// Per-ordinal state
// ---------------------------------------------------------------------------------

/// Why an ordinal is in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Role {
    /// In the range before and after the scale.
    Unchanged,
    /// In the target range only: its pod is being created.
    Adding,
    /// Outside the target range: its pod is being removed.
    Removing,
}

/// Where one ordinal's pod is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum PodState {
    /// No pod (not created yet, or gone).
    Absent,
    /// Created, not running yet (scheduling, pulling, creating containers).
    Pending,
    /// Running, not Ready.
    Running,
    /// Ready (with `minReadySeconds` > 0: not yet Available).
    Ready,
    /// Ready for at least `minReadySeconds`.
    Available,
    /// Deletion requested; going away.
    Terminating,
}

impl PodState {
    pub fn as_str(self) -> &'static str {
        match self {
            PodState::Absent => "Absent",
            PodState::Pending => "Pending",
            PodState::Running => "Running",
            PodState::Ready => "Ready",
            PodState::Available => "Available",
            PodState::Terminating => "Terminating",
        }
    }
}

/// The state of `pod` as the StatefulSet controller counts it.
pub fn pod_state(pod: Option<&Pod>, min_ready_seconds: i32, now: Timestamp) -> PodState {
    let Some(p) = pod else { return PodState::Absent };
    if p.metadata.deletion_timestamp.is_some() {
        PodState::Terminating
    } else if pods::is_ready(p) {
        if min_ready_seconds > 0 && pods::is_available(p, min_ready_seconds, now) {
            PodState::Available
        } else {
            PodState::Ready
        }
    } else if p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running") {
        PodState::Running
    } else {
        PodState::Pending
    }
}

/// What happened to one PVC of an ordinal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ClaimState {
    /// Not created yet (the controller creates it with the pod).
    Waiting,
    /// Created during this scale.
    New,
    /// Existed before and belongs to an ordinal that stays.
    Bound,
    /// Existed before the scale (kept by an earlier scale-in) and bound to the same PV as before.
    Reused,
    /// Existed before the scale but is now bound to a different PV than before: the data may differ.
    ReusedOtherVolume,
    /// Of a removed ordinal, kept by `whenScaled: Retain` for the next scale-out.
    Kept,
    /// Of a removed ordinal, being deleted by `whenScaled: Delete`.
    Deleting,
    /// Deleted (by the retention policy, or by someone).
    Deleted,
    /// An ordinal that stays has no such PVC.
    Missing,
}

impl ClaimState {
    pub fn label(self) -> &'static str {
        match self {
            ClaimState::Waiting => "-",
            ClaimState::New => "new",
            ClaimState::Bound => "bound",
            ClaimState::Reused => "reused",
            ClaimState::ReusedOtherVolume => "reused(other PV!)",
            ClaimState::Kept => "kept",
            ClaimState::Deleting => "deleting",
            ClaimState::Deleted => "deleted",
            ClaimState::Missing => "missing",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimRow {
    pub template: String,
    pub name: String,
    pub state: ClaimState,
    /// `Pending`, `Bound`, `Lost`; None when the PVC does not exist.
    pub phase: Option<String>,
    pub volume: Option<String>,
    /// The PV the claim was bound to before the scale, when it existed then.
    pub previous_volume: Option<String>,
}

impl ClaimRow {
    /// `new`, `reused`, `new:Pending` ...: the state, with the phase when not Bound.
    pub fn label(&self) -> String {
        match self.phase.as_deref() {
            Some(p) if p != "Bound" && !matches!(self.state, ClaimState::Deleting | ClaimState::Kept) => {
                format!("{}:{p}", self.state.label())
            }
            _ => self.state.label().to_string(),
        }
    }
}

/// One ordinal as shown in the live view and the final report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrdinalRow {
    pub ordinal: i32,
    pub pod: String,
    pub role: Role,
    pub state: PodState,
    /// kubectl's STATUS column, `<none>` without a pod.
    pub status: String,
    /// `ready/total` containers.
    pub ready: String,
    pub restarts: i32,
    pub claims: Vec<ClaimRow>,
    pub stuck: Option<Stuck>,
    /// Reached its goal: Ready (Available with minReadySeconds) in range, gone outside.
    pub done: bool,
}
