//! How a StatefulSet rolls out (strategy, partition, maxUnavailable) and where one ordinal is.

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use serde::Serialize;

use crate::model::pods;
use crate::model::statefulset::Facts;

/// Where one ordinal is in the rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum OrdinalState {
    /// Runs an old revision; RollingUpdate will replace it (lower ordinals wait for higher ones).
    Waiting,
    /// Runs an old revision under OnDelete: replaced only once someone deletes the pod.
    WaitingForManualDelete,
    /// Its pod is being deleted.
    Terminating,
    /// No pod, or the new pod is not running yet (scheduling, pulling, creating).
    Recreating,
    /// The new pod runs, not Ready.
    Running,
    /// The new pod is Ready, not yet Available (`minReadySeconds`).
    Ready,
    /// The new pod is Available (Ready for `minReadySeconds`; just Ready when 0): done.
    Available,
    /// Below the partition: kept at the current revision, not part of this rollout.
    Held,
}

impl OrdinalState {
    /// How far along the update: the basis of "progress".
    pub fn rank(self) -> u8 {
        match self {
            OrdinalState::Waiting | OrdinalState::WaitingForManualDelete | OrdinalState::Held => 0,
            OrdinalState::Terminating => 1,
            OrdinalState::Recreating => 2,
            OrdinalState::Running => 3,
            OrdinalState::Ready => 4,
            OrdinalState::Available => 5,
        }
    }

    /// A word for tables and live lines; `min_ready` decides between ready and available.
    pub fn label(self, min_ready_seconds: i32) -> &'static str {
        match self {
            OrdinalState::Waiting => "waiting",
            OrdinalState::WaitingForManualDelete => "waiting-for-manual-delete",
            OrdinalState::Terminating => "terminating",
            OrdinalState::Recreating => "recreating",
            OrdinalState::Running => "running",
            OrdinalState::Ready => "ready",
            OrdinalState::Available if min_ready_seconds > 0 => "available",
            OrdinalState::Available => "updated",
            OrdinalState::Held => "held",
        }
    }

    /// A new pod is on its way (counts against maxUnavailable).
    pub fn in_flight(self) -> bool {
        (1..=4).contains(&self.rank())
    }
}

/// The rollout-relevant parts of a StatefulSet's spec and status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutSpec {
    /// `RollingUpdate` or `OnDelete`.
    pub strategy: crate::model::statefulset::UpdateStrategy,
    pub replicas: i32,
    pub start_ordinal: i32,
    /// RollingUpdate partition (0 under OnDelete).
    pub partition: i32,
    /// Resolved `maxUnavailable` (1 by default).
    pub max_unavailable: i32,
    pub min_ready_seconds: i32,
    pub pod_management_policy: crate::model::statefulset::PodManagementPolicy,
    pub generation: i64,
    pub observed_generation: Option<i64>,
    pub current_revision: Option<String>,
    pub update_revision: Option<String>,
}

impl RolloutSpec {
    pub fn of(sts: &StatefulSet) -> RolloutSpec {
        let f = Facts::of(sts);
        let on_delete = f.update_strategy == crate::model::statefulset::UpdateStrategy::OnDelete;
        RolloutSpec {
            max_unavailable: max_unavailable(f.max_unavailable.as_deref(), f.replicas),
            partition: if on_delete { 0 } else { f.partition.max(0) },
            strategy: f.update_strategy,
            replicas: f.replicas,
            start_ordinal: f.start_ordinal,
            min_ready_seconds: f.min_ready_seconds,
            pod_management_policy: f.pod_management_policy,
            generation: f.generation,
            observed_generation: f.observed_generation,
            current_revision: f.current_revision,
            update_revision: f.update_revision,
        }
    }

    pub fn on_delete(&self) -> bool {
        self.strategy == crate::model::statefulset::UpdateStrategy::OnDelete
    }

    /// Status describes the current spec.
    pub fn status_current(&self) -> bool {
        self.observed_generation.is_some_and(|o| o >= self.generation)
    }

    /// The first ordinal the rollout updates: `start + partition` (clamped to the range).
    pub fn first_updated(&self) -> i32 {
        self.start_ordinal.saturating_add(self.partition.min(self.replicas))
    }

    pub fn end(&self) -> i32 {
        self.start_ordinal.saturating_add(self.replicas.max(0))
    }
}

/// `getStatefulSetMaxUnavailable`: int, or a percentage of replicas rounded down; at least 1.
pub fn max_unavailable(value: Option<&str>, replicas: i32) -> i32 {
    let n = match value {
        None => 1,
        Some(v) => match v.strip_suffix('%') {
            Some(p) => p
                .trim()
                .parse::<i64>()
                .map(|p| (p * i64::from(replicas.max(0)) / 100) as i32)
                .unwrap_or(1),
            None => v.trim().parse::<i32>().unwrap_or(1),
        },
    };
    n.max(1)
}

/// The state of one ordinal from its pod (None: no pod).
pub fn classify(spec: &RolloutSpec, ordinal: i32, pod: Option<&Pod>, now: Timestamp) -> OrdinalState {
    if !spec.on_delete() && ordinal < spec.first_updated() {
        return OrdinalState::Held;
    }
    let Some(p) = pod else { return OrdinalState::Recreating };
    if p.metadata.deletion_timestamp.is_some() {
        return OrdinalState::Terminating;
    }
    let current = match (&spec.update_revision, pods::revision(p)) {
        (Some(u), Some(r)) => u == r,
        _ => false,
    };
    if !current {
        return if spec.on_delete() {
            OrdinalState::WaitingForManualDelete
        } else {
            OrdinalState::Waiting
        };
    }
    if pods::is_available(p, spec.min_ready_seconds, now) {
        OrdinalState::Available
    } else if pods::is_ready(p) {
        OrdinalState::Ready
    } else if p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running") {
        OrdinalState::Running
    } else {
        OrdinalState::Recreating
    }
}
