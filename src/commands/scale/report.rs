//! The `-o json|yaml` report of `scale` and how a scale ended.

use crate::model::explain::{self, Context, Detail};
use jiff::Timestamp;
use serde::Serialize;

use super::API_VERSION;
use crate::model::progress::{OrdinalSummary, Plan, Progress, PvcSummary, Violation};
use crate::model::statefulset::Facts;
use crate::watch::{Snapshot, Source};

/// `-o json|yaml` of `scale` (schema in docs/json-schemas.md, "ScaleReport").
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScaleReport {
    pub api_version: &'static str,
    /// `ScaleReport`.
    pub kind: &'static str,
    pub namespace: String,
    pub name: String,
    /// Replicas before and requested.
    pub from: i32,
    pub to: i32,
    pub result: ScaleResult,
    /// `client` or `server` with --dry-run.
    pub dry_run: Option<&'static str>,
    /// One line on why it did not settle, when it did not.
    pub message: Option<String>,
    /// The ordinal holding things up when it did not settle.
    pub blocking: Option<Blocking>,
    /// RFC 3339: when the scale was requested and when this report was made.
    pub started_at: String,
    pub finished_at: String,
    pub duration_seconds: f64,
    pub pod_management_policy: crate::model::statefulset::PodManagementPolicy,
    pub min_ready_seconds: i32,
    /// What the scale was expected to do (adding/removing ordinals, PVCs reused and left behind).
    pub plan: Plan,
    /// One entry per ordinal in the target range and each removed ordinal, with timings.
    pub ordinals: Vec<OrdinalSummary>,
    /// PVCs created, reused, left behind (and whether Kubernetes deletes them), deleted.
    pub pvcs: PvcSummary,
    /// Departures from OrderedReady's creation low→high / removal high→low.
    pub order_violations: Vec<Violation>,
    /// Watch health: errors retried and re-lists after `410 Gone`.
    pub watch: WatchStats,
    /// What Helm, Argo CD, Flux or another field manager will do to this scale.
    pub owner_warnings: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Blocking {
    pub ordinal: i32,
    pub pod: String,
    /// A stuck reason (see OrdinalRow.stuck.reason) or the pod state it is waiting in.
    pub reason: String,
    pub message: String,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WatchStats {
    /// Errors the watchers recovered from (dropped connections count only when they errored).
    pub errors: usize,
    /// Lists after the initial one (a `410 Gone` makes a watcher list again).
    pub relists: usize,
    /// False when Events could not be watched (403): stuck causes from Events are missing.
    pub events: bool,
    /// Times the connection to the API server was lost and came back.
    pub outages: u32,
    /// How long those outages lasted in all, in seconds.
    pub down_seconds: f64,
}

/// `ScaleReport.result`, as docs/json-schemas.md spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ScaleResult {
    Settled,
    Failed,
    TimedOut,
    /// Replicas changed or the StatefulSet deleted by someone else.
    Changed,
    Interrupted,
    /// `--no-wait`: requested, not followed.
    Scaled,
    DryRun,
}

impl ScaleResult {
    pub fn as_str(self) -> &'static str {
        match self {
            ScaleResult::Settled => "Settled",
            ScaleResult::Failed => "Failed",
            ScaleResult::TimedOut => "TimedOut",
            ScaleResult::Changed => "Changed",
            ScaleResult::Interrupted => "Interrupted",
            ScaleResult::Scaled => "Scaled",
            ScaleResult::DryRun => "DryRun",
        }
    }
}

/// How a scale ended, with the one line on why when it did not settle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ScaleOutcome {
    Settled,
    Failed(String),
    TimedOut(String),
    Changed(String),
    Interrupted(String),
    Scaled,
    DryRun,
}

impl ScaleOutcome {
    fn result(&self) -> ScaleResult {
        match self {
            ScaleOutcome::Settled => ScaleResult::Settled,
            ScaleOutcome::Failed(_) => ScaleResult::Failed,
            ScaleOutcome::TimedOut(_) => ScaleResult::TimedOut,
            ScaleOutcome::Changed(_) => ScaleResult::Changed,
            ScaleOutcome::Interrupted(_) => ScaleResult::Interrupted,
            ScaleOutcome::Scaled => ScaleResult::Scaled,
            ScaleOutcome::DryRun => ScaleResult::DryRun,
        }
    }

    fn message(&self) -> Option<String> {
        match self {
            ScaleOutcome::Failed(m)
            | ScaleOutcome::TimedOut(m)
            | ScaleOutcome::Changed(m)
            | ScaleOutcome::Interrupted(m) => Some(m.clone()),
            _ => None,
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn build_report(
    f: &Facts,
    plan: &Plan,
    progress: &Progress,
    snap: &Snapshot,
    outcome: &ScaleOutcome,
    dry_run: Option<&'static str>,
    started: Timestamp,
    waited: bool,
) -> ScaleReport {
    let finished = Timestamp::now();
    let summary = progress.summary();
    let blocking = match outcome {
        ScaleOutcome::Settled | ScaleOutcome::Scaled | ScaleOutcome::DryRun => None,
        _ => progress.blocking().map(|r| Blocking {
            ordinal: r.ordinal,
            pod: r.pod.clone(),
            reason: r
                .stuck
                .as_ref()
                .map(|s| s.reason.to_string())
                .unwrap_or_else(|| r.state.as_str().to_string()),
            message: r
                .stuck
                .as_ref()
                .map(|s| s.message.clone())
                .unwrap_or_else(|| progress.waiting_for()),
        }),
    };
    let relists = [Source::StatefulSet, Source::Pods, Source::Pvcs, Source::Events]
        .iter()
        .map(|s| snap.lists(*s).saturating_sub(1))
        .sum();
    ScaleReport {
        api_version: API_VERSION,
        kind: "ScaleReport",
        namespace: f.namespace.clone(),
        name: f.name.clone(),
        from: plan.from,
        to: plan.to,
        result: outcome.result(),
        dry_run,
        message: outcome.message(),
        blocking,
        started_at: started.to_string(),
        finished_at: finished.to_string(),
        duration_seconds: (finished.duration_since(started).as_secs_f64() * 1000.0).round() / 1000.0,
        pod_management_policy: f.pod_management_policy,
        min_ready_seconds: f.min_ready_seconds,
        plan: plan.clone(),
        ordinals: if waited { summary.ordinals } else { Vec::new() },
        pvcs: summary.pvcs,
        order_violations: summary.violations,
        watch: WatchStats {
            errors: snap.errors.values().sum(),
            relists,
            events: snap.events_enabled(),
            outages: snap.connection.outages,
            down_seconds: (snap.connection.down_for.as_secs_f64() * 1000.0).round() / 1000.0,
        },
        owner_warnings: Vec::new(),
    }
}

/// Each added or removed ordinal's phases, explained from the Events the follow watched.
/// An ordinal the controller has not created yet is waiting on what the tracker says.
pub(super) fn explain_ordinals(report: &mut ScaleReport, progress: &Progress, snap: &Snapshot, detail: Detail) {
    let world = snap.world();
    let cx = Context {
        events: &world.events,
        started_at: progress.started_at,
        now: Timestamp::now(),
        min_ready_seconds: progress.min_ready_seconds,
        detail,
    };
    let blocking = progress.blocking().map(|r| (r.ordinal, r.pod.clone()));
    for o in &mut report.ordinals {
        let Some(view) = progress.transition_of(o.row.ordinal) else {
            continue;
        };
        let wait = match &blocking {
            _ if view.marks.created.is_some() => None,
            Some((b, _)) if *b == o.row.ordinal => Some(progress.waiting_for()),
            // OrderedReady creates low to high, each once the one before is Ready
            // (the controller's monotonic scaling in pkg/controller/statefulset).
            Some((b, pod)) if progress.ordered && *b < o.row.ordinal => Some(format!(
                "OrderedReady: the controller creates {} only after {pod} is Running and Ready, and {pod} is not",
                o.row.pod
            )),
            _ => None,
        };
        o.phases = explain::explain_view(&view, &cx, wait);
    }
}
