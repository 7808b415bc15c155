//! `kubectl sts rollout STS`, `kubectl sts rollout history STS`, `kubectl sts restart STS`.
//!
//! Gather: one GET of the StatefulSet, one list of its ControllerRevisions, then the
//! watches of `crate::watch` (the StatefulSet, its pods, its PVCs, Events) — no
//! polling, so the number of requests does not grow with the rollout's duration.
//! Decide: `crate::model::revisions::Trace` (per-ordinal states and timelines, done,
//! stalled, the blocking ordinal and its cause). Render: live lines (or an indicatif
//! view on a terminal), then a table, the timeline picture (`render::timeline`), or
//! the JSON/YAML report documented in docs/json-schemas.md.
mod follow;
mod history;
mod render;
mod report;
mod restart;
mod undo;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use kube::api::ListParams;
use serde::Serialize;

use crate::cli::{GlobalArgs, RolloutAction, RolloutArgs, TraceArgs};
use crate::error::{CliError, Result, Target};
use crate::gather::{self, api, list_all, selector_string};
use crate::kubeconfig::Kube;
use crate::model::duration::human_duration;
use crate::model::revisions::{OrdinalState, Trace, diff};
use crate::model::statefulset::Facts;
use crate::render::Style;
use crate::render::live::{LiveEvent, LiveView, Sink};
use crate::watch::Scope;

use history::history;
use render::render_report;
use report::{RolloutOutcome, build_report};
use restart::RestartInfo;
pub use restart::restart;
use undo::UndoInfo;

pub const API_VERSION: &str = "kubectl-sts/v1";

/// `kubectl sts rollout [history] STS`.
pub async fn run(global: &GlobalArgs, args: &RolloutArgs) -> Result<()> {
    match &args.action {
        Some(RolloutAction::History(h)) => return history(global, h).await,
        Some(RolloutAction::Undo(u)) => return undo::undo(global, u).await,
        None => {}
    }
    let name = args
        .name
        .as_deref()
        .ok_or_else(|| CliError::usage("name the StatefulSet: kubectl sts rollout NAME"))?;
    let kube = Kube::connect(global).await?;
    let ns = kube.namespace.clone();
    let sts = gather::statefulset(&kube, &ns, name).await?;
    let revs = revisions_of(&kube, &sts).await;
    follow_and_report(&kube, global, &args.trace, &sts, revs, Change::None).await
}

/// The StatefulSet's ControllerRevisions (by its selector, then owner). Used to
/// reconstruct a rollout already under way; a failure only makes that less precise.
async fn revisions_of(kube: &Kube, sts: &StatefulSet) -> std::result::Result<Vec<ControllerRevision>, CliError> {
    let ns = sts.metadata.namespace.clone().unwrap_or_else(|| kube.namespace.clone());
    list_all(
        kube,
        api::<ControllerRevision>(kube, Some(&ns)),
        ListParams::default().labels(&selector_string(&sts.spec.selector)),
        Target::new("list", "controllerrevision", None, Some(&ns)),
    )
    .await
}

/// Which StatefulSet a report is about, and in which context.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    pub name: String,
    pub namespace: String,
    pub context: String,
}

/// What the command changed before following the rollout (it goes into the report).
enum Change {
    None,
    Restart(RestartInfo),
    Undo(Box<UndoInfo>),
}

async fn follow_and_report(
    kube: &Kube,
    global: &GlobalArgs,
    targs: &TraceArgs,
    sts: &StatefulSet,
    revs: std::result::Result<Vec<ControllerRevision>, CliError>,
    change: Change,
) -> Result<()> {
    let ns = sts.metadata.namespace.clone().unwrap_or_else(|| kube.namespace.clone());
    let name = sts.metadata.name.clone().unwrap_or_default();
    let style = Style::from_args(global);
    let structured = crate::render::is_structured(global.output);
    let f = Facts::of(sts);
    let scope = Scope {
        namespace: ns.clone(),
        name: name.clone(),
        selector: selector_string(&sts.spec.selector),
        claim_templates: f.claim_templates.clone(),
        events: true,
    };
    let started = Timestamp::now();
    let revs = revs.unwrap_or_default();
    let mut trace = Trace::new(sts, &revs, started);
    let view = LiveView::open(Sink::beside_report(structured), !targs.no_wait, style);
    let (restart, undo) = match change {
        Change::None => (None, None),
        Change::Restart(r) => (Some(r), None),
        Change::Undo(u) => (None, Some(u)),
    };
    if let Some(r) = &restart {
        view.note(
            started,
            "statefulset",
            &name,
            LiveEvent::Restarted,
            &[("restartedAt", r.restarted_at.clone())],
        );
    }
    let mut snap = crate::watch::Snapshot::new(&scope);
    let outcome = if targs.no_wait {
        snap = follow::snapshot_once(kube, &scope, sts).await?;
        let evs = trace.observe(Timestamp::now(), &snap.world());
        view.show_trace(&evs, &trace);
        if trace.done() {
            RolloutOutcome::Done
        } else if trace.only_manual_deletes_left() {
            RolloutOutcome::WaitingForManualDelete
        } else {
            RolloutOutcome::Progressing
        }
    } else {
        follow::follow(kube, &scope, &mut trace, &view, targs, global.verbose, &mut snap).await?
    };
    trace.explain(&snap.world().events, Timestamp::now(), targs.explain.detail());
    view.clear();
    let extra = report::StuckExtra {
        log: crash_log(kube, &ns, &trace, outcome).await,
        no_readiness_probe: !has_readiness_probe(sts),
        revision_change: revision_change(kube, sts, &trace, outcome, revs).await,
    };
    let finished = Timestamp::now();
    let owner_warnings = match (&restart, &undo) {
        (Some(r), _) => r.owner_warnings.clone(),
        (_, Some(u)) => u.owner_warnings.clone(),
        _ => Vec::new(),
    };
    let mut report = build_report(kube, &trace, outcome, (restart, undo), extra, started, finished);
    report.owner_warnings = owner_warnings;
    if structured {
        crate::out!("{}", crate::render::structured(&report, global.output)?);
    } else {
        crate::out!("{}", render_report(&report, &trace, global.no_headers, style));
    }
    verdict(outcome, &trace, &name, &report.message, targs)
}

/// The exit: success, or the error saying what the cluster is left with.
fn verdict(outcome: RolloutOutcome, trace: &Trace, name: &str, message: &str, targs: &TraceArgs) -> Result<()> {
    let left = format!(
        "the cluster is left as the controller has it: {} of {} ordinals at or above the partition updated",
        trace
            .ordinals
            .values()
            .filter(|o| o.state == OrdinalState::Available && o.ordinal >= trace.spec.first_updated())
            .count(),
        (trace.spec.end() - trace.spec.first_updated()).max(0)
    );
    match outcome {
        RolloutOutcome::Done | RolloutOutcome::Progressing => Ok(()),
        RolloutOutcome::WaitingForManualDelete if targs.no_wait => Ok(()),
        RolloutOutcome::Stuck | RolloutOutcome::WaitingForManualDelete => Err(CliError::failed(format!(
            "rollout of statefulset \"{name}\" is {}: {}; {left}",
            if outcome == RolloutOutcome::Stuck {
                "stuck"
            } else {
                "waiting for manual deletes"
            },
            message
        ))),
        RolloutOutcome::TimedOut => Err(CliError::timeout(format!(
            "timed out after {} following the rollout of statefulset \"{name}\": waiting for {}; {left}",
            human_duration(targs.timeout),
            trace.waiting_for()
        ))),
        RolloutOutcome::Deleted => Err(CliError::failed(format!(
            "statefulset \"{name}\" was deleted while following its rollout"
        ))),
        RolloutOutcome::Interrupted => Err(CliError::interrupted(format!(
            "interrupted: stopped following; the rollout goes on in the cluster (waiting for {})",
            trace.waiting_for()
        ))),
    }
}

/// The previous log of the blocking pod's crashed container, when the rollout is stuck
/// on a CrashLoopBackOff: one GET of the pod and one of its log, at the end only.
async fn crash_log(kube: &Kube, ns: &str, trace: &Trace, outcome: RolloutOutcome) -> Option<crate::gather::LogTail> {
    if !matches!(outcome, RolloutOutcome::Stuck | RolloutOutcome::TimedOut) {
        return None;
    }
    let b = trace.blocking()?;
    if b.stuck.as_ref()?.reason != "CrashLoopBackOff" {
        return None;
    }
    let api: kube::Api<k8s_openapi::api::core::v1::Pod> = kube::Api::namespaced(kube.client.clone(), ns);
    let pod = match kube
        .call(Target::new("get", "pod", Some(&b.pod), Some(ns)), api.get_opt(&b.pod))
        .await
    {
        Ok(Some(p)) => p,
        Ok(None) => return Some(crate::gather::LogTail::Unavailable("gone")),
        Err(_) => return Some(crate::gather::LogTail::Unavailable("error")),
    };
    let container = crate::gather::crashed_container(&pod)?;
    Some(crate::gather::previous_log(kube, ns, &b.pod, &container).await)
}

/// "web-2 runs revision 4: image a -> b" for the blocking pod of a stuck rollout. The
/// revisions are listed again: the one the pod runs may be newer than the first list.
async fn revision_change(
    kube: &Kube,
    sts: &StatefulSet,
    trace: &Trace,
    outcome: RolloutOutcome,
    revs: Vec<ControllerRevision>,
) -> Option<String> {
    if !matches!(outcome, RolloutOutcome::Stuck | RolloutOutcome::TimedOut) {
        return None;
    }
    let b = trace.blocking()?;
    let to = b.revision.as_deref()?;
    let from = b.from_revision.as_deref().or(trace.spec.current_revision.as_deref())?;
    let revs = revisions_of(kube, sts).await.unwrap_or(revs);
    diff::pod_line(&b.pod, &revs, from, to)
}

fn has_readiness_probe(sts: &StatefulSet) -> bool {
    sts.spec
        .template
        .spec
        .as_ref()
        .is_some_and(|p| p.containers.iter().any(|c| c.readiness_probe.is_some()))
}
