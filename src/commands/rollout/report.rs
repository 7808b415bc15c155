//! The `-o json|yaml` report of `rollout` and `restart`, and how a trace ended.

use jiff::Timestamp;
use serde::Serialize;

use super::restart::RestartInfo;
use super::undo::UndoInfo;
use super::{API_VERSION, Meta};
use crate::kubeconfig::Kube;
use crate::model::revisions::{OrdinalState, OrdinalTrace, RolloutSpec, Trace, TraceEvent};
use crate::render::live;

/// How the trace ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum RolloutOutcome {
    /// Every ordinal at or above the partition is updated and Ready/Available.
    Done,
    /// `--no-wait`: a snapshot of a rollout still under way.
    Progressing,
    /// No ordinal progressed for `--progress-deadline`.
    Stuck,
    /// OnDelete: only pods to delete by hand remain, and nobody deleted one for `--progress-deadline`.
    WaitingForManualDelete,
    TimedOut,
    /// The StatefulSet was deleted.
    Deleted,
    Interrupted,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StuckReport {
    pub ordinal: i32,
    pub pod: String,
    pub state: OrdinalState,
    /// `CrashLoopBackOff`, `ImagePullBackOff`, `ErrImagePull`, `ReadinessProbeFailing`,
    /// `Unschedulable`, `PVCPending`, `ContainerWaiting`; None when nothing visible explains it.
    pub reason: Option<String>,
    pub message: String,
    pub hint: String,
    /// CrashLoopBackOff: the last lines (at most 5, 2 KiB) of the crashed container's
    /// previous log, or why it could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_log: Option<crate::gather::LogTail>,
    /// What the revision the pod runs changed: "web-2 runs revision 4: image a -> b".
    pub revision_change: Option<String>,
}

/// The `-o json|yaml` report of `rollout` and `restart` (docs/json-schemas.md).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutReport {
    pub api_version: &'static str,
    /// `RolloutTrace`.
    pub kind: &'static str,
    pub metadata: Meta,
    pub spec: RolloutSpec,
    pub result: RolloutOutcome,
    /// One line on the result (what it waits for when not done).
    pub message: String,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    /// Where the timeline starts: the earliest ordinal update, or when the update revision appeared.
    pub timeline_start: Timestamp,
    pub duration_seconds: f64,
    /// Highest ordinal first.
    pub ordinals: Vec<OrdinalTrace>,
    /// The most ordinals seen in flight at once.
    pub max_in_flight: usize,
    pub waiting_for_manual_delete: Vec<String>,
    pub stuck: Option<StuckReport>,
    pub restart: Option<RestartInfo>,
    /// `rollout undo`: the revision it went back to, the plan, what it deleted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undo: Option<Box<UndoInfo>>,
    /// `restart` and `rollout undo`: what Helm, Argo CD or Flux will do to this change.
    pub owner_warnings: Vec<String>,
    /// Every change observed, oldest first: the same as the live lines.
    pub events: Vec<TraceEvent>,
}

/// What the trace cannot know about a stuck pod: its previous log, and whether the
/// template has a readiness probe.
pub(super) struct StuckExtra {
    pub log: Option<crate::gather::LogTail>,
    pub no_readiness_probe: bool,
    pub revision_change: Option<String>,
}

pub(super) fn build_report(
    kube: &Kube,
    trace: &Trace,
    outcome: RolloutOutcome,
    (restart, undo): (Option<RestartInfo>, Option<Box<UndoInfo>>),
    extra: StuckExtra,
    started: Timestamp,
    finished: Timestamp,
) -> RolloutReport {
    let (t0, _) = trace.span(finished);
    let stuck = match outcome {
        RolloutOutcome::Stuck | RolloutOutcome::TimedOut | RolloutOutcome::Interrupted => trace.blocking().map(|b| {
            StuckReport {
            ordinal: b.ordinal,
            pod: b.pod.clone(),
            state: b.state,
            reason: b.stuck.as_ref().map(|s| s.reason.to_string()),
            message: b.stuck.as_ref().map(|s| s.message.clone()).unwrap_or_else(|| {
                format!(
                    "{} has been {} with no visible cause (pod conditions, container statuses and Events say nothing)",
                    b.pod,
                    b.state.label(trace.spec.min_ready_seconds)
                )
            }),
            hint: trace.forced_rollback_hint(b),
            last_log: None,
            revision_change: None,
        }
        .with(&extra)
        }),
        _ => None,
    };
    let message = match outcome {
        RolloutOutcome::Done => format!(
            "rolled out to {}: {} ordinal(s) updated, {} held below the partition",
            trace.spec.update_revision.as_deref().unwrap_or("?"),
            trace.updated().len(),
            trace.held().len()
        ),
        RolloutOutcome::Stuck => match &stuck {
            Some(s) => format!(
                "no ordinal progressed since {}: {} (ordinal {}) is {}{}; {}",
                live::time(trace.last_progress),
                s.pod,
                s.ordinal,
                s.state.label(trace.spec.min_ready_seconds),
                s.reason
                    .as_ref()
                    .map(|r| format!(": {r}: {}", s.message))
                    .unwrap_or_else(|| format!(": {}", s.message)),
                s.hint
            ),
            None => format!("no ordinal progressed since {}", live::time(trace.last_progress)),
        },
        _ => format!("waiting for {}", trace.waiting_for()),
    };
    RolloutReport {
        api_version: API_VERSION,
        kind: if undo.is_some() { "RolloutUndo" } else { "RolloutTrace" },
        metadata: Meta {
            name: trace.name.clone(),
            namespace: trace.namespace.clone(),
            context: kube.endpoint.context.clone(),
        },
        spec: trace.spec.clone(),
        result: outcome,
        message,
        started_at: started,
        finished_at: finished,
        timeline_start: t0,
        duration_seconds: (finished.duration_since(t0).as_secs_f64() * 10.0).round() / 10.0,
        ordinals: trace.ordinals.values().rev().cloned().collect(),
        max_in_flight: trace.max_in_flight,
        waiting_for_manual_delete: trace
            .waiting_for_manual_delete()
            .iter()
            .map(|o| o.pod.clone())
            .collect(),
        stuck,
        restart,
        undo,
        owner_warnings: Vec::new(),
        events: trace.events.clone(),
    }
}

impl StuckReport {
    fn with(mut self, extra: &StuckExtra) -> StuckReport {
        if let Some(c) = &extra.revision_change {
            self.message.push_str(&format!(" ({c})"));
            self.revision_change = Some(c.clone());
        }
        if let Some(log) = &extra.log {
            self.message.push_str(&log.suffix());
            self.last_log = Some(log.clone());
        }
        if extra.no_readiness_probe {
            self.hint.push_str(
                "; the pod template has no readiness probe, so the controller treats a running container as Ready: \
                 an image that crashes on start can take down several ordinals before anything looks stuck",
            );
        }
        self
    }
}
