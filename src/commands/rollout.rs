//! `kubectl sts rollout STS`, `kubectl sts rollout history STS`, `kubectl sts restart STS`.
//!
//! Gather: one GET of the StatefulSet, one list of its ControllerRevisions, then the
//! watches of `crate::watch` (the StatefulSet, its pods, its PVCs, Events) — no
//! polling, so the number of requests does not grow with the rollout's duration.
//! Decide: `crate::model::revisions::Trace` (per-ordinal states and timelines, done,
//! stalled, the blocking ordinal and its cause). Render: live lines (or an indicatif
//! view on a terminal), then a table, the timeline picture (`render::timeline`), or
//! the JSON/YAML report documented in docs/json-schemas.md.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::time::Duration;

use comfy_table::Cell;
use futures::StreamExt;
use futures::stream::BoxStream;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, ListParams, Patch, PatchParams};
use serde::Serialize;

use crate::cli::{GlobalArgs, HistoryArgs, RestartArgs, RolloutAction, RolloutArgs, TraceArgs};
use crate::confirm::confirm;
use crate::error::{CliError, ErrorKind, Result, Target};
use crate::gather::{self, api, list_all, selector_string};
use crate::kubeconfig::Kube;
use crate::model::duration::human_duration;
use crate::model::revisions::{self, OrdinalState, OrdinalTrace, RevisionRow, RolloutSpec, Trace, TraceEvent};
use crate::model::statefulset::Facts;
use crate::render::{self, Style, Tone, live, timeline};
use crate::watch::{self, Observed, Scope, Snapshot, Source};

pub const API_VERSION: &str = "kubectl-sts/v1";

/// `kubectl sts rollout [history] STS`.
pub async fn run(global: &GlobalArgs, args: &RolloutArgs) -> Result<()> {
    if let Some(RolloutAction::History(h)) = &args.action {
        return history(global, h).await;
    }
    let name = args
        .name
        .as_deref()
        .ok_or_else(|| CliError::usage("name the StatefulSet: kubectl sts rollout NAME"))?;
    let kube = Kube::connect(global).await?;
    let ns = kube.namespace.clone();
    let sts = gather::statefulset(&kube, &ns, name).await?;
    let revs = revisions_of(&kube, &sts).await;
    follow_and_report(&kube, global, &args.trace, &sts, revs, None).await
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

// ---------------------------------------------------------------------------------
// history
// ---------------------------------------------------------------------------------

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryReport {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: Meta,
    pub current_revision: Option<String>,
    pub update_revision: Option<String>,
    pub revisions: Vec<RevisionRow>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    pub name: String,
    pub namespace: String,
    pub context: String,
}

async fn history(global: &GlobalArgs, args: &HistoryArgs) -> Result<()> {
    let kube = Kube::connect(global).await?;
    let ns = kube.namespace.clone();
    let sts = gather::statefulset(&kube, &ns, &args.name).await?;
    let revs = revisions_of(&kube, &sts).await?;
    let rows = revisions::history(&sts, &revs);
    let f = Facts::of(&sts);
    let report = HistoryReport {
        api_version: API_VERSION,
        kind: "RolloutHistory",
        metadata: Meta {
            name: f.name.clone(),
            namespace: ns.clone(),
            context: kube.endpoint.context.clone(),
        },
        current_revision: f.current_revision.clone(),
        update_revision: f.update_revision.clone(),
        revisions: rows,
    };
    if render::is_structured(global.output) {
        crate::out!("{}", render::structured(&report, global.output)?);
    } else {
        crate::out!(
            "{}",
            render_history(&report, Timestamp::now(), global.no_headers, Style::from_args(global))
        );
    }
    Ok(())
}

pub fn render_history(r: &HistoryReport, now: Timestamp, no_headers: bool, style: Style) -> String {
    if r.revisions.is_empty() {
        return format!(
            "No revisions found for statefulset \"{}\" in namespace \"{}\".\n",
            r.metadata.name, r.metadata.namespace
        );
    }
    let rows = r
        .revisions
        .iter()
        .map(|v| {
            let status = match (v.current, v.update) {
                (true, true) => "current",
                (true, false) => "current",
                (false, true) => "update (rolling out)",
                _ => "",
            };
            let age = v
                .created_at
                .map(|c| human_duration(Duration::from_secs(now.duration_since(c).as_secs().max(0) as u64)))
                .unwrap_or_else(|| "<unknown>".into());
            vec![
                Cell::new(v.revision),
                Cell::new(&v.name),
                Cell::new(age),
                Cell::new(v.images.join(",")),
                Cell::new(v.change_cause.as_deref().unwrap_or("<none>")),
                style.cell(status, if v.update && !v.current { Tone::Warn } else { Tone::Good }),
            ]
        })
        .collect();
    render::table(
        &["REVISION", "NAME", "AGE", "IMAGES", "CHANGE-CAUSE", "STATUS"],
        rows,
        no_headers,
    )
}

// ---------------------------------------------------------------------------------
// restart
// ---------------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RestartInfo {
    /// The value written to the `kubectl.kubernetes.io/restartedAt` template annotation.
    pub restarted_at: String,
    pub dry_run: bool,
    /// The strategic-merge patch (sent, or that would be sent with --dry-run).
    pub patch: serde_json::Value,
    /// The pods the controller will replace, in its order (OnDelete: none by itself).
    pub pods: Vec<String>,
}

/// `kubectl sts restart STS`: confirm, patch the template's restartedAt annotation, trace.
pub async fn restart(global: &GlobalArgs, args: &RestartArgs) -> Result<()> {
    let kube = Kube::connect(global).await?;
    let ns = kube.namespace.clone();
    let sts = gather::statefulset(&kube, &ns, &args.name).await?;
    let spec = RolloutSpec::of(&sts);
    let now = Timestamp::now();
    let patch = revisions::restart_patch(now);
    let pods: Vec<String> = if spec.on_delete() {
        Vec::new()
    } else {
        (spec.first_updated()..spec.end())
            .rev()
            .map(|o| format!("{}-{o}", args.name))
            .collect()
    };
    let info = RestartInfo {
        restarted_at: revisions::restarted_at(now),
        dry_run: args.dry_run,
        patch: patch.clone(),
        pods: pods.clone(),
    };
    let which = if spec.on_delete() {
        "updateStrategy OnDelete: no pod restarts until you delete it".to_string()
    } else if pods.is_empty() {
        format!(
            "no pod restarts: every ordinal is below the partition ({})",
            spec.partition
        )
    } else {
        format!("pods restart one by one, highest first: {}", pods.join(", "))
    };
    let action = format!(
        "restart statefulset \"{}\" in namespace \"{ns}\" (context \"{}\"): {which}",
        args.name, kube.endpoint.context
    );
    if args.dry_run {
        if render::is_structured(global.output) {
            let out = serde_json::json!({"apiVersion": API_VERSION, "kind": "Restart",
                "metadata": {"name": args.name, "namespace": ns, "context": kube.endpoint.context},
                "restart": info});
            crate::out!("{}", render::structured(&out, global.output)?);
        } else {
            crate::outln!("dry run: would {action}");
            crate::outln!(
                "dry run: PATCH statefulsets/{} (strategic merge, fieldManager kubectl-rollout): {}",
                args.name,
                patch
            );
            crate::outln!("dry run: nothing was changed");
        }
        return Ok(());
    }
    if !confirm(&action, args.yes)? {
        return Err(CliError::usage(format!(
            "not confirmed: statefulset \"{}\" was not changed",
            args.name
        )));
    }
    let sts_api: Api<StatefulSet> = Api::namespaced(kube.client.clone(), &ns);
    // The field manager kubectl uses for this patch (kubectl-v8-rollout-restart.log).
    let pp = PatchParams {
        field_manager: Some("kubectl-rollout".into()),
        ..PatchParams::default()
    };
    let patched = kube
        .call(
            Target::new("patch", "statefulset", Some(&args.name), Some(&ns)),
            sts_api.patch(&args.name, &pp, &Patch::Strategic(&patch)),
        )
        .await?;
    let revs = revisions_of(&kube, &patched).await;
    follow_and_report(&kube, global, &args.trace, &patched, revs, Some(info)).await
}

// ---------------------------------------------------------------------------------
// Following a rollout
// ---------------------------------------------------------------------------------

/// How the trace ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
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
    pub result: Outcome,
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
    /// Every change observed, oldest first: the same as the live lines.
    pub events: Vec<TraceEvent>,
}

async fn follow_and_report(
    kube: &Kube,
    global: &GlobalArgs,
    targs: &TraceArgs,
    sts: &StatefulSet,
    revs: std::result::Result<Vec<ControllerRevision>, CliError>,
    restart: Option<RestartInfo>,
) -> Result<()> {
    let ns = sts.metadata.namespace.clone().unwrap_or_else(|| kube.namespace.clone());
    let name = sts.metadata.name.clone().unwrap_or_default();
    let style = Style::from_args(global);
    let structured = render::is_structured(global.output);
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
    let mut view = View::new(structured, !targs.no_wait, style);
    if let Some(r) = &restart {
        view.note(
            started,
            &format!("statefulset/{name}"),
            "restarted",
            &[("restartedAt", r.restarted_at.clone())],
        );
    }
    let outcome = if targs.no_wait {
        let snap = snapshot_once(kube, &scope, sts).await?;
        let evs = trace.observe(Timestamp::now(), &snap.world());
        view.show(&evs, &trace);
        if trace.done() {
            Outcome::Done
        } else if trace.only_manual_deletes_left() {
            Outcome::WaitingForManualDelete
        } else {
            Outcome::Progressing
        }
    } else {
        follow(kube, &scope, &mut trace, &mut view, targs, global.verbose).await?
    };
    view.finish();
    let finished = Timestamp::now();
    let report = build_report(kube, &trace, outcome, restart, started, finished);
    if structured {
        crate::out!("{}", render::structured(&report, global.output)?);
    } else {
        crate::out!("{}", render_report(&report, &trace, global.no_headers, style));
    }
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
        Outcome::Done | Outcome::Progressing => Ok(()),
        Outcome::WaitingForManualDelete if targs.no_wait => Ok(()),
        Outcome::Stuck | Outcome::WaitingForManualDelete => Err(CliError::failed(format!(
            "rollout of statefulset \"{name}\" is {}: {}; {left}",
            if outcome == Outcome::Stuck {
                "stuck"
            } else {
                "waiting for manual deletes"
            },
            report.message
        ))),
        Outcome::TimedOut => Err(CliError::timeout(format!(
            "timed out after {} following the rollout of statefulset \"{name}\": waiting for {}; {left}",
            human_duration(targs.timeout),
            trace.waiting_for()
        ))),
        Outcome::Deleted => Err(CliError::failed(format!(
            "statefulset \"{name}\" was deleted while following its rollout"
        ))),
        Outcome::Interrupted => Err(CliError::interrupted(format!(
            "interrupted: stopped following; the rollout goes on in the cluster (waiting for {})",
            trace.waiting_for()
        ))),
    }
}

/// `--no-wait`: one list each of pods, PVCs and Events.
async fn snapshot_once(kube: &Kube, scope: &Scope, sts: &StatefulSet) -> Result<Snapshot> {
    let ns = &scope.namespace;
    let (pods, pvcs) = futures::try_join!(
        list_all(
            kube,
            api::<Pod>(kube, Some(ns)),
            ListParams::default().labels(&scope.selector),
            Target::new("list", "pod", None, Some(ns)),
        ),
        list_all(
            kube,
            api::<k8s_openapi::api::core::v1::PersistentVolumeClaim>(kube, Some(ns)),
            ListParams::default(),
            Target::new("list", "persistentvolumeclaim", None, Some(ns)),
        ),
    )?;
    // Events only sharpen causes and reconstruction: not being allowed to read them is no error.
    let events = list_all(
        kube,
        api::<Event>(kube, Some(ns)),
        ListParams::default(),
        Target::new("list", "event", None, Some(ns)),
    )
    .await
    .unwrap_or_default();
    let mut snap = Snapshot::new(scope);
    snap.sts = Some(sts.clone());
    let key = |m: &kube::api::ObjectMeta| m.name.clone().unwrap_or_default();
    snap.pods = pods
        .into_iter()
        .filter(|p| scope.is_pod(p.metadata.name.as_deref().unwrap_or("")))
        .map(|p| (key(&p.metadata), p))
        .collect();
    snap.pvcs = pvcs
        .into_iter()
        .filter(|c| scope.is_claim(c.metadata.name.as_deref().unwrap_or("")))
        .map(|c| (key(&c.metadata), c))
        .collect();
    snap.events = events
        .into_iter()
        .filter(|e| scope.is_relevant_event(e))
        .map(|e| (key(&e.metadata), e))
        .collect();
    Ok(snap)
}

fn kind_of(s: Source) -> &'static str {
    match s {
        Source::StatefulSet => "statefulset",
        Source::Pods => "pod",
        Source::Pvcs => "persistentvolumeclaim",
        Source::Events => "event",
    }
}

fn watch_error(kube: &Kube, source: Source, code: Option<u16>, message: &str) -> CliError {
    let target = Target::new("watch", kind_of(source), None, Some(&kube.namespace));
    let status = kube::core::Status::failure(message, "").with_code(code.unwrap_or(500));
    kube.error(&kube::Error::Api(Box::new(status)), target)
}

fn until(t: Timestamp) -> Duration {
    let now = Timestamp::now();
    if t <= now {
        Duration::ZERO
    } else {
        Duration::from_secs_f64(t.duration_since(now).as_secs_f64())
    }
}

async fn follow(
    kube: &Kube,
    scope: &Scope,
    trace: &mut Trace,
    view: &mut View,
    targs: &TraceArgs,
    verbose: u8,
) -> Result<Outcome> {
    let deadline = tokio::time::Instant::now() + targs.timeout;
    let mut stream: BoxStream<'static, watch::Tracked> = watch::track(kube.client.clone(), scope);
    let mut snap = Snapshot::new(scope);
    let mut errors = 0usize;
    // The initial lists of every watch, then the picture they give.
    while !snap.synced() {
        let next = tokio::select! {
            n = stream.next() => n,
            _ = tokio::time::sleep_until(deadline) => return Ok(Outcome::TimedOut),
            stop = crate::interrupt::stop_watching() => {
                if stop == crate::interrupt::Stop::OutputClosed {
                    return Err(CliError::reported(ErrorKind::OutputClosed));
                }
                return Ok(Outcome::Interrupted);
            }
        };
        let Some(t) = next else {
            return Err(CliError::new(
                ErrorKind::Unreachable,
                "the watches ended before listing",
            ));
        };
        if let Observed::Error {
            source, code, message, ..
        } = &t.observed
            && *source != Source::Events
        {
            errors += 1;
            if matches!(code, Some(401 | 403 | 404)) || errors > 5 {
                return Err(watch_error(kube, *source, *code, message));
            }
        }
        snap.apply(&t);
    }
    let mut at = Timestamp::now();
    loop {
        let world = snap.world();
        let evs = trace.observe(at, &world);
        view.show(&evs, trace);
        if trace.sts_gone {
            return Ok(Outcome::Deleted);
        }
        if trace.done() {
            return Ok(Outcome::Done);
        }
        let now = Timestamp::now();
        if trace.stalled(now, targs.progress_deadline) {
            return Ok(if trace.only_manual_deletes_left() {
                Outcome::WaitingForManualDelete
            } else {
                Outcome::Stuck
            });
        }
        let mut wake = trace.progress_deadline_at(targs.progress_deadline);
        if let Some(w) = trace.next_wakeup(&world) {
            wake = wake.min(w);
        }
        drop(world);
        // A little after the moment, so the check at wake-up sees it passed.
        let wake_in = until(wake) + Duration::from_millis(20);
        tokio::select! {
            next = stream.next() => {
                let Some(t) = next else {
                    return Err(CliError::new(ErrorKind::Unreachable, "the watches ended unexpectedly"));
                };
                if verbose >= 2 {
                    crate::errln!("{} watch {}", live::time(t.at), t.source().as_str());
                }
                let before = snap.lists(t.source());
                snap.apply(&t);
                at = t.at;
                match &t.observed {
                    Observed::Error { source, code, message, ended } => {
                        view.note(t.at, &format!("watch/{}", source.as_str()), "error", &[
                            ("code", code.map(|c| c.to_string()).unwrap_or_else(|| "-".into())),
                            ("retrying", (!ended).to_string()),
                            ("message", message.clone()),
                        ]);
                        if *source != Source::Events && matches!(code, Some(401 | 403)) {
                            return Err(watch_error(kube, *source, *code, message));
                        }
                    }
                    Observed::Connection(n) => {
                        view.note(t.at, "connection/apiserver", n.event(), &[("message", n.line())]);
                    }
                    _ if snap.lists(t.source()) > before => {
                        view.note(t.at, &format!("watch/{}", t.source().as_str()), "relisted", &[]);
                    }
                    _ => {}
                }
            }
            _ = tokio::time::sleep(wake_in) => {
                at = Timestamp::now();
            }
            _ = tokio::time::sleep_until(deadline) => {
                let world = snap.world();
                let evs = trace.observe(Timestamp::now(), &world);
                view.show(&evs, trace);
                return Ok(if trace.done() { Outcome::Done } else { Outcome::TimedOut });
            }
            stop = crate::interrupt::stop_watching() => {
                if stop == crate::interrupt::Stop::OutputClosed {
                    return Err(CliError::reported(ErrorKind::OutputClosed));
                }
                return Ok(Outcome::Interrupted);
            }
        }
    }
}

fn build_report(
    kube: &Kube,
    trace: &Trace,
    outcome: Outcome,
    restart: Option<RestartInfo>,
    started: Timestamp,
    finished: Timestamp,
) -> RolloutReport {
    let (t0, _) = trace.span(finished);
    let stuck = match outcome {
        Outcome::Stuck | Outcome::TimedOut | Outcome::Interrupted => trace.blocking().map(|b| StuckReport {
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
        }),
        _ => None,
    };
    let message = match outcome {
        Outcome::Done => format!(
            "rolled out to {}: {} ordinal(s) updated, {} held below the partition",
            trace.spec.update_revision.as_deref().unwrap_or("?"),
            trace.updated().len(),
            trace.held().len()
        ),
        Outcome::Stuck => match &stuck {
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
        kind: "RolloutTrace",
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
        events: trace.events.clone(),
    }
}

fn offset(t: Option<Timestamp>, t0: Timestamp) -> String {
    match t {
        Some(t) => format!("+{:.1}s", t.duration_since(t0).as_secs_f64().max(0.0)),
        None => "-".into(),
    }
}

fn terminal_width() -> usize {
    if let Some(w) = std::env::var("COLUMNS").ok().and_then(|c| c.parse::<usize>().ok()) {
        return w;
    }
    if std::io::stdout().is_terminal() {
        comfy_table::Table::new().width().map(usize::from).unwrap_or(100)
    } else {
        100
    }
}

/// The table, the timeline and a last line.
pub fn render_report(r: &RolloutReport, trace: &Trace, no_headers: bool, style: Style) -> String {
    let t0 = r.timeline_start;
    let min_ready = r.spec.min_ready_seconds;
    let rows = r
        .ordinals
        .iter()
        .map(|o| {
            let tone = match o.state {
                OrdinalState::Available => Tone::Good,
                OrdinalState::Held => Tone::Dim,
                _ if o.stuck.is_some() => Tone::Bad,
                _ => Tone::Warn,
            };
            let mut cells = vec![
                Cell::new(o.ordinal),
                Cell::new(&o.pod),
                style.cell(o.state.label(min_ready), tone),
                Cell::new(o.revision.as_deref().unwrap_or("<none>")),
                Cell::new(offset(o.update_started_at, t0)),
                Cell::new(offset(o.old_pod_gone_at, t0)),
                Cell::new(offset(o.new_pod_ready_at, t0)),
            ];
            if min_ready > 0 {
                cells.push(Cell::new(offset(o.new_pod_available_at, t0)));
            }
            cells.push(Cell::new(
                o.duration_seconds
                    .map(|d| format!("{d:.1}s{}", if o.reconstructed { "~" } else { "" }))
                    .unwrap_or_else(|| "-".into()),
            ));
            cells.push(Cell::new(
                o.stuck
                    .as_ref()
                    .map(|s| format!("{}: {}", s.reason, s.message))
                    .unwrap_or_default(),
            ));
            cells
        })
        .collect();
    let mut headers = vec!["ORDINAL", "POD", "STATE", "REVISION", "STARTED", "OLD-GONE", "READY"];
    if min_ready > 0 {
        headers.push("AVAILABLE");
    }
    headers.extend(["DURATION", "CAUSE"]);
    let mut out = render::table(&headers, rows, no_headers);
    out.push('\n');
    out.push_str(&timeline::render(trace, r.finished_at, terminal_width(), style));
    if r.ordinals.iter().any(|o| o.reconstructed) {
        out.push_str("(~: reconstructed from object timestamps and Events, to the second)\n");
    }
    if !r.waiting_for_manual_delete.is_empty() {
        out.push_str(&format!(
            "waiting for manual delete (updateStrategy OnDelete): kubectl delete pod -n {} {}\n",
            r.metadata.namespace,
            r.waiting_for_manual_delete.join(" ")
        ));
    }
    let head = match r.result {
        Outcome::Done => style.paint("done", Tone::Good),
        Outcome::Progressing => style.paint("in progress", Tone::Warn),
        Outcome::Stuck => style.paint("stuck", Tone::Bad),
        Outcome::WaitingForManualDelete => style.paint("waiting for manual deletes", Tone::Warn),
        Outcome::TimedOut => style.paint("timed out", Tone::Bad),
        Outcome::Deleted => style.paint("deleted", Tone::Bad),
        Outcome::Interrupted => style.paint("interrupted", Tone::Warn),
    };
    out.push_str(&format!(
        "statefulset/{} rollout {head} after {:.1}s: {}\n",
        r.metadata.name, r.duration_seconds, r.message
    ));
    out
}

// ---------------------------------------------------------------------------------
// Live view
// ---------------------------------------------------------------------------------

/// Where changes go while following: plain lines (pipes, CI; stderr under -o json|yaml),
/// or on a terminal one line per ordinal redrawn in place, with changes printed above.
enum View {
    Lines(Box<dyn Write + Send>),
    Bars {
        multi: MultiProgress,
        rows: BTreeMap<i32, ProgressBar>,
        style: Style,
    },
}

impl View {
    fn new(structured: bool, following: bool, style: Style) -> View {
        let tty = if structured {
            std::io::stderr().is_terminal()
        } else {
            std::io::stdout().is_terminal()
        };
        if tty && following {
            let target = if structured {
                ProgressDrawTarget::stderr()
            } else {
                ProgressDrawTarget::stdout()
            };
            return View::Bars {
                multi: MultiProgress::with_draw_target(target),
                rows: BTreeMap::new(),
                style,
            };
        }
        View::Lines(if structured {
            Box::new(crate::output::Stderr)
        } else {
            Box::new(crate::output::Stdout)
        })
    }

    fn note(&mut self, at: Timestamp, object: &str, event: &str, fields: &[(&str, String)]) {
        let (kind, name) = object.split_once('/').unwrap_or((object, ""));
        let l = live::line(at, kind, name, event, fields);
        match self {
            View::Lines(w) => {
                let _ = writeln!(w, "{l}");
                let _ = w.flush();
            }
            View::Bars { multi, .. } => {
                let _ = multi.println(l);
            }
        }
    }

    fn show(&mut self, evs: &[TraceEvent], trace: &Trace) {
        for e in evs {
            let fields: Vec<(&str, String)> = e.fields.iter().map(|(k, v)| (*k, v.clone())).collect();
            self.note(e.at, &e.object, e.event, &fields);
        }
        if let View::Bars { multi, rows, style } = self {
            let min_ready = trace.spec.min_ready_seconds;
            for o in trace.ordinals.values().rev() {
                let bar = rows.entry(o.ordinal).or_insert_with(|| {
                    let pb = multi.add(ProgressBar::new_spinner());
                    pb.set_style(
                        ProgressStyle::with_template("  {spinner} {wide_msg}")
                            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                    );
                    pb.enable_steady_tick(Duration::from_millis(250));
                    pb
                });
                let tone = match o.state {
                    OrdinalState::Available => Tone::Good,
                    OrdinalState::Held => Tone::Dim,
                    _ if o.stuck.is_some() => Tone::Bad,
                    _ => Tone::Plain,
                };
                let mut msg = format!(
                    "{:<12} {:<26} {}",
                    o.pod,
                    o.state.label(min_ready),
                    o.revision.as_deref().unwrap_or("-")
                );
                if let Some(d) = o.duration_seconds {
                    msg.push_str(&format!("  {d:.1}s"));
                } else if let Some(b) = o.began_at() {
                    msg.push_str(&format!("  {:.0}s", Timestamp::now().duration_since(b).as_secs_f64()));
                }
                if let Some(s) = &o.stuck {
                    msg.push_str(&format!("  {}: {}", s.reason, s.message));
                }
                bar.set_message(style.paint(&msg, tone));
            }
        }
    }

    fn finish(&mut self) {
        if let View::Bars { rows, multi, .. } = self {
            for b in rows.values() {
                b.finish_and_clear();
            }
            let _ = multi.clear();
        }
    }
}
