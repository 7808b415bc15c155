//! `kubectl sts scale STS --replicas N`: change replicas through the `scale`
//! subresource, then follow every ordinal until the StatefulSet settles.
//!
//! gather: GET the StatefulSet, then start the watches ([`crate::watch`]: one each for
//! the StatefulSet, its pods, its PVCs and Events) and wait for their initial lists;
//! that snapshot is the "before" picture. decide: [`progress::plan`] (what will be
//! created, removed, reused, left behind, whether data is deleted) and then
//! [`Progress`] on every watch event. render: plain lines or the terminal view while
//! it runs ([`crate::render::live`]), then a table summary or the JSON/YAML
//! [`ScaleReport`].
//!
//! The write follows kubectl's scaler (k8s.io/kubectl/pkg/scale): without
//! `--current-replicas`, a merge patch of `spec.replicas` on `statefulsets/scale`;
//! with it, an update of the Scale carrying the resourceVersion the precondition was
//! checked against, so a concurrent change answers 409. A 409 is retried (at most
//! [`MAX_CONFLICT_RETRIES`] times) only after re-reading the Scale and finding the
//! precondition still holds.

use std::io::IsTerminal;
use std::time::Duration;

use comfy_table::Cell;
use futures::StreamExt;
use jiff::Timestamp;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::autoscaling::v1::{Scale, ScaleSpec};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde::Serialize;

use crate::cli::{DryRun, GlobalArgs, ScaleArgs};
use crate::confirm::confirm;
use crate::error::{CliError, ErrorKind, Result, Target};
use crate::gather::{self, api, list_all, selector_string};
use crate::kubeconfig::Kube;
use crate::model::progress::{self, OrdinalSummary, Plan, Progress, PvcSummary, Role, Violation};
use crate::model::statefulset::Facts;
use crate::render::live::{self, Live};
use crate::render::{self, Style, Tone};
use crate::watch::{self, Observed, Scope, Snapshot, Source};

pub const API_VERSION: &str = "kubectl-sts/v1";

/// How many times a 409 Conflict on the scale write is retried.
pub const MAX_CONFLICT_RETRIES: usize = 5;

const FIELD_MANAGER: &str = "kubectl-sts";

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
    /// `Settled`, `Failed`, `TimedOut`, `Changed` (replicas changed or StatefulSet
    /// deleted by someone else), `Interrupted`, `Scaled` (--no-wait), `DryRun`.
    pub result: &'static str,
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
    pub pod_management_policy: String,
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

#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Settled,
    Failed(String),
    TimedOut(String),
    Changed(String),
    Interrupted(String),
    Scaled,
    DryRun,
}

impl Outcome {
    fn result(&self) -> &'static str {
        match self {
            Outcome::Settled => "Settled",
            Outcome::Failed(_) => "Failed",
            Outcome::TimedOut(_) => "TimedOut",
            Outcome::Changed(_) => "Changed",
            Outcome::Interrupted(_) => "Interrupted",
            Outcome::Scaled => "Scaled",
            Outcome::DryRun => "DryRun",
        }
    }

    fn message(&self) -> Option<String> {
        match self {
            Outcome::Failed(m) | Outcome::TimedOut(m) | Outcome::Changed(m) | Outcome::Interrupted(m) => {
                Some(m.clone())
            }
            _ => None,
        }
    }
}

pub async fn run(global: &GlobalArgs, args: &ScaleArgs) -> Result<()> {
    if args.timeout.is_zero() && !args.no_wait && args.dry_run.is_none() {
        // Zero would time out before the StatefulSet is even read.
        return Err(CliError::usage(
            "--timeout 0: give a duration above zero to wait for the scale, e.g. 30s, 10m",
        ));
    }
    let kube = Kube::connect(global).await?;
    let ns = kube.namespace.clone();
    let style = Style::from_args(global);
    let structured = render::is_structured(global.output);
    let sts = gather::statefulset(&kube, &ns, &args.name).await?;
    let facts = Facts::of(&sts);
    let to = args.replicas;
    if i64::from(facts.start_ordinal) + i64::from(to) > i64::from(i32::MAX) {
        return Err(CliError::usage(format!(
            "--replicas {to} with spec.ordinals.start {} would need ordinals past {}: use fewer replicas",
            facts.start_ordinal,
            i32::MAX
        )));
    }
    if let Some(m) = args.current_replicas
        && m != facts.replicas
    {
        return Err(precondition_failed(&facts, m, facts.replicas));
    }
    let wait = !args.no_wait && args.dry_run.is_none();
    let scope = Scope {
        namespace: ns.clone(),
        name: facts.name.clone(),
        selector: selector_string(&sts.spec.selector),
        claim_templates: facts.claim_templates.clone(),
        events: true,
    };
    let deadline = tokio::time::Instant::now() + args.timeout;

    // The "before" picture: from the watches' initial lists when we follow, else one list each.
    let mut stream = None;
    let mut snap = Snapshot::new(&scope);
    if wait {
        let mut s = watch::track(kube.client.clone(), &scope);
        initial_sync(&kube, &mut s, &mut snap, deadline, args).await?;
        stream = Some(s);
    } else {
        let (pods, pvcs) = futures::try_join!(
            list_all(
                &kube,
                api::<Pod>(&kube, Some(&ns)),
                ListParams::default().labels(&scope.selector),
                Target::new("list", "pod", None, Some(&ns)),
            ),
            list_all(
                &kube,
                api::<PersistentVolumeClaim>(&kube, Some(&ns)),
                ListParams::default(),
                Target::new("list", "persistentvolumeclaim", None, Some(&ns)),
            )
        )?;
        snap.sts = Some(sts.clone());
        snap.pods = pods
            .into_iter()
            .map(|p| (p.metadata.name.clone().unwrap_or_default(), p))
            .collect();
        snap.pvcs = pvcs
            .into_iter()
            .filter(|c| scope.is_claim(c.metadata.name.as_deref().unwrap_or("")))
            .map(|c| (c.metadata.name.clone().unwrap_or_default(), c))
            .collect();
    }
    // Decide from the freshest StatefulSet the watch gave us.
    let facts = snap.sts.as_ref().map(Facts::of).unwrap_or(facts);
    let world = snap.world();
    let plan = progress::plan(&facts, to, &world.pvcs);

    let live_to_stderr = structured;
    let on_tty = if live_to_stderr {
        std::io::stderr().is_terminal()
    } else {
        std::io::stdout().is_terminal()
    };
    let mut live = if !on_tty {
        Live::lines(if live_to_stderr {
            Box::new(crate::output::Stderr)
        } else {
            Box::new(crate::output::Stdout)
        })
    } else if wait {
        let title = format!("{}/{} {} -> {}", ns, facts.name, facts.replicas, to);
        let changing = (plan.adding.len() + plan.removing.len()) as u64;
        Live::bars(live_to_stderr, changing, &title, style)
    } else {
        Live::lines(if live_to_stderr {
            Box::new(crate::output::Stderr)
        } else {
            Box::new(crate::output::Stdout)
        })
    };
    plan_notes(&mut live, &plan, &facts, Timestamp::now());

    if args.dry_run.is_none()
        && let Some(action) = plan.confirmation(&facts.name, &ns, &kube.endpoint.context)
        && !confirm(&action, args.yes)?
    {
        return Err(CliError::usage(format!(
            "not confirmed: statefulset \"{}\" was not changed (still {} replicas)",
            facts.name, facts.replicas
        )));
    }

    let started = Timestamp::now();
    let sts_api: Api<StatefulSet> = Api::namespaced(kube.client.clone(), &ns);
    let written = match args.dry_run {
        Some(DryRun::Client) => None,
        mode => Some(
            write_scale(
                &kube,
                &sts_api,
                &facts,
                to,
                args.current_replicas,
                sts.metadata.resource_version.clone(),
                mode == Some(DryRun::Server),
            )
            .await?,
        ),
    };
    let dry = args.dry_run.map(|d| match d {
        DryRun::Client => "client",
        DryRun::Server => "server",
    });
    live.note(
        Timestamp::now(),
        "scale",
        &facts.name,
        match args.dry_run {
            Some(_) => "dry-run",
            None => "requested",
        },
        &[
            ("from", facts.replicas.to_string()),
            ("to", to.to_string()),
            (
                "accepted",
                written
                    .as_ref()
                    .and_then(|s| s.spec.as_ref()?.replicas)
                    .map(|r| r.to_string())
                    .unwrap_or_else(|| "-".into()),
            ),
        ],
    );

    let mut progress = Progress::new(&facts, to, &world, started);
    drop(world);
    let outcome = if let Some(mut s) = stream {
        follow(
            &kube,
            &mut s,
            &mut snap,
            &mut progress,
            &mut live,
            deadline,
            args,
            global.verbose,
        )
        .await?
    } else if dry.is_some() {
        Outcome::DryRun
    } else {
        Outcome::Scaled
    };
    live.finish();
    drop(live);

    let report = build_report(&facts, &plan, &progress, &snap, &outcome, dry, started, wait);
    if structured {
        crate::out!("{}", render::structured(&report, global.output)?);
    } else {
        crate::out!("{}", render_summary(&report, global.no_headers, style));
    }
    let state = format!(
        "spec.replicas of statefulset \"{}\" is {} and the StatefulSet controller keeps working on it: \
         watch it with `kubectl sts status {}`, or go back with `kubectl sts scale {} --replicas {}`",
        facts.name, to, facts.name, facts.name, facts.replicas
    );
    match outcome {
        Outcome::Settled | Outcome::Scaled | Outcome::DryRun => Ok(()),
        Outcome::Failed(m) => Err(CliError::failed(format!("{m}; {state}"))),
        Outcome::Changed(m) => Err(CliError::failed(m)),
        Outcome::TimedOut(m) => Err(CliError::timeout(format!(
            "timed out after {} waiting for {m}; {state}",
            crate::model::duration::human_duration(args.timeout)
        ))),
        Outcome::Interrupted(m) => Err(CliError::interrupted(format!(
            "interrupted while waiting for {m}; {state}"
        ))),
    }
}

fn precondition_failed(f: &Facts, expected: i32, actual: i32) -> CliError {
    CliError::failed(format!(
        "statefulset \"{}\" in namespace \"{}\" has {actual} replicas, not {expected} (--current-replicas): nothing was changed; \
         re-check and re-run with --current-replicas {actual}",
        f.name, f.namespace
    ))
}

/// Wait until every watch has listed; fail on authorization errors, give up at the deadline.
async fn initial_sync(
    kube: &Kube,
    stream: &mut futures::stream::BoxStream<'static, watch::Tracked>,
    snap: &mut Snapshot,
    deadline: tokio::time::Instant,
    args: &ScaleArgs,
) -> Result<()> {
    let mut errors = 0usize;
    while !snap.synced() {
        let next = tokio::select! {
            n = stream.next() => n,
            _ = tokio::time::sleep_until(deadline) => {
                return Err(CliError::timeout(format!(
                    "timed out after {} listing statefulset \"{}\", its pods and PVCs: nothing was changed",
                    crate::model::duration::human_duration(args.timeout), args.name
                )));
            }
            stop = crate::interrupt::stop_watching() => {
                if stop == crate::interrupt::Stop::OutputClosed {
                    return Err(CliError::reported(ErrorKind::OutputClosed));
                }
                return Err(CliError::interrupted("interrupted: nothing was changed"));
            }
        };
        let Some(t) = next else {
            return Err(CliError::new(
                ErrorKind::Unreachable,
                "the watches ended before listing: nothing was changed",
            ));
        };
        if let Observed::Error {
            source, code, message, ..
        } = &t.observed
            && *source != Source::Events
        {
            errors += 1;
            if matches!(code, Some(401 | 403 | 404)) || errors > 5 {
                let target = Target::new("watch", kind_of(*source), None, Some(&kube.namespace));
                let status = kube::core::Status::failure(message, "").with_code(code.unwrap_or(500));
                let e = kube.error(&kube::Error::Api(Box::new(status)), target);
                return Err(CliError::new(e.kind, format!("{}; nothing was changed", e.message)));
            }
        }
        snap.apply(&t);
    }
    Ok(())
}

fn kind_of(s: Source) -> &'static str {
    match s {
        Source::StatefulSet => "statefulset",
        Source::Pods => "pod",
        Source::Pvcs => "persistentvolumeclaim",
        Source::Events => "event",
    }
}

/// PATCH (or, with a precondition, PUT) `statefulsets/<name>/scale`.
async fn write_scale(
    kube: &Kube,
    api: &Api<StatefulSet>,
    f: &Facts,
    to: i32,
    current: Option<i32>,
    mut resource_version: Option<String>,
    dry_run: bool,
) -> Result<Scale> {
    let target = || Target::new("scale", "statefulset", Some(&f.name), Some(&f.namespace));
    let mut attempt = 0;
    loop {
        attempt += 1;
        let res: kube::Result<Scale> = match current {
            Some(_) => {
                let scale = Scale {
                    metadata: ObjectMeta {
                        name: Some(f.name.clone()),
                        namespace: Some(f.namespace.clone()),
                        resource_version: resource_version.clone(),
                        ..ObjectMeta::default()
                    },
                    spec: Some(ScaleSpec { replicas: Some(to) }),
                    status: None,
                };
                let pp = PostParams {
                    dry_run,
                    field_manager: Some(FIELD_MANAGER.into()),
                };
                timed(kube.request_timeout, api.replace_scale(&f.name, &pp, &scale)).await
            }
            None => {
                let pp = PatchParams {
                    dry_run,
                    field_manager: Some(FIELD_MANAGER.into()),
                    ..PatchParams::default()
                };
                let patch = Patch::Merge(serde_json::json!({"spec": {"replicas": to}}));
                timed(kube.request_timeout, api.patch_scale(&f.name, &pp, &patch)).await
            }
        };
        match res {
            Ok(s) => return Ok(s),
            Err(kube::Error::Api(s)) if s.code == 409 && attempt <= MAX_CONFLICT_RETRIES => {
                // Someone changed the StatefulSet between our read and our write. Re-read
                // and retry only while the precondition still holds.
                let fresh = kube
                    .call(
                        Target::new("get", "statefulset", Some(&f.name), Some(&f.namespace)),
                        api.get_scale(&f.name),
                    )
                    .await?;
                let now = fresh.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0);
                if let Some(m) = current
                    && now != m
                {
                    return Err(precondition_failed(f, m, now));
                }
                resource_version = fresh.metadata.resource_version;
            }
            Err(e) => {
                let mut err = kube.error(&e, target());
                if matches!(&e, kube::Error::Api(s) if s.code == 409) {
                    err.message = format!(
                        "{} (gave up after {MAX_CONFLICT_RETRIES} retries; the scale was not applied)",
                        err.message
                    );
                }
                return Err(err);
            }
        }
    }
}

/// One write under `--request-timeout`, keeping the kube error (to tell a 409 apart).
async fn timed<T>(limit: Option<Duration>, fut: impl Future<Output = kube::Result<T>>) -> kube::Result<T> {
    match limit {
        Some(t) => tokio::time::timeout(t, fut).await.unwrap_or_else(|_| {
            Err(kube::Error::Api(Box::new(
                kube::core::Status::failure("the request timed out (--request-timeout)", "Timeout").with_code(504),
            )))
        }),
        None => fut.await,
    }
}

/// Print the plan as lines of their own.
fn plan_notes(live: &mut Live, plan: &Plan, f: &Facts, at: Timestamp) {
    let span = |v: &[i32]| -> String { v.iter().map(i32::to_string).collect::<Vec<_>>().join(",") };
    live.note(
        at,
        "scale",
        &f.name,
        "plan",
        &[
            ("namespace", f.namespace.clone()),
            ("from", plan.from.to_string()),
            ("to", plan.to.to_string()),
            ("policy", plan.pod_management_policy.clone()),
            ("start", plan.start_ordinal.to_string()),
            ("adding", span(&plan.adding)),
            ("removing", span(&plan.removing)),
            ("whenScaled", plan.when_scaled.clone()),
        ],
    );
    for r in &plan.reusing {
        live.note(
            at,
            "pvc",
            &r.name,
            "will-reuse",
            &[
                ("ordinal", r.ordinal.to_string()),
                ("volume", r.volume.clone().unwrap_or_default()),
            ],
        );
    }
    for l in &plan.left_behind {
        live.note(
            at,
            "pvc",
            &l.name,
            if l.will_be_deleted {
                "will-be-deleted"
            } else {
                "will-be-kept"
            },
            &[
                ("ordinal", l.ordinal.to_string()),
                ("volume", l.volume.clone().unwrap_or_default()),
                ("whenScaled", plan.when_scaled.clone()),
            ],
        );
    }
}

#[allow(clippy::too_many_arguments)]
async fn follow(
    kube: &Kube,
    stream: &mut futures::stream::BoxStream<'static, watch::Tracked>,
    snap: &mut Snapshot,
    progress: &mut Progress,
    live: &mut Live,
    deadline: tokio::time::Instant,
    args: &ScaleArgs,
    verbose: u8,
) -> Result<Outcome> {
    let mut at = Timestamp::now();
    loop {
        let world = snap.world();
        let transitions = progress.observe(at, &world);
        let now = Timestamp::now();
        let rows_elapsed = |o: i32| {
            progress
                .elapsed(o, now)
                .map(|d| Duration::from_secs_f64(d.as_secs_f64().max(0.0)))
        };
        live.update(&transitions, progress.rows(), &rows_elapsed);
        if progress.sts_gone {
            return Ok(Outcome::Changed(format!(
                "statefulset \"{}\" was deleted while scaling; its PVCs follow whenDeleted: check with kubectl sts orphans",
                args.name
            )));
        }
        if let Some(r) = progress.superseded {
            return Ok(Outcome::Changed(format!(
                "spec.replicas of statefulset \"{}\" was changed to {r} by someone else while waiting for {}: \
                 not waiting for a scale that is no longer requested",
                args.name, args.replicas
            )));
        }
        if progress.settled() {
            return Ok(Outcome::Settled);
        }
        if let Some(r) = progress.failure() {
            let s = r.stuck.as_ref().expect("failure has a cause");
            return Ok(Outcome::Failed(format!(
                "{} (ordinal {}) cannot progress: {}: {}",
                r.pod, r.ordinal, s.reason, s.message
            )));
        }
        let wake = progress
            .next_deadline(&world)
            .map(|t| Duration::from_secs_f64(t.duration_since(Timestamp::now()).as_secs_f64().max(0.0) + 0.05));
        drop(world);
        tokio::select! {
            next = stream.next() => {
                let Some(t) = next else {
                    return Err(CliError::new(ErrorKind::Unreachable, "the watches ended unexpectedly"));
                };
                if verbose >= 2 {
                    crate::errln!("{} watch {} {}", live::time(t.at), t.source().as_str(), describe(&t.observed));
                }
                let before = snap.lists(t.source());
                snap.apply(&t);
                at = t.at;
                match &t.observed {
                    Observed::Error { source, code, message, ended } => {
                        live.note(t.at, "watch", source.as_str(), "error", &[
                            ("code", code.map(|c| c.to_string()).unwrap_or_else(|| "-".into())),
                            ("retrying", (!ended).to_string()),
                            ("message", message.clone()),
                        ]);
                        if *source != Source::Events && matches!(code, Some(401 | 403)) {
                            let target = Target::new("watch", kind_of(*source), None, Some(&kube.namespace));
                            let status = kube::core::Status::failure(message, "").with_code(code.unwrap_or(403));
                            let e = kube.error(&kube::Error::Api(Box::new(status)), target);
                            return Err(CliError::new(e.kind, format!(
                                "{}; spec.replicas is now {} (the scale was requested)", e.message, args.replicas
                            )));
                        }
                    }
                    Observed::Connection(n) => {
                        live.note(t.at, "connection", "apiserver", n.event(), &[("message", n.line())]);
                    }
                    _ if snap.lists(t.source()) > before => {
                        live.note(t.at, "watch", t.source().as_str(), "relisted", &[]);
                    }
                    _ => {}
                }
            }
            _ = tokio::time::sleep_until(deadline) => {
                at = Timestamp::now();
                let world = snap.world();
                let _ = progress.observe(at, &world);
                if progress.settled() {
                    return Ok(Outcome::Settled);
                }
                return Ok(Outcome::TimedOut(progress.waiting_for()));
            }
            _ = tokio::time::sleep(wake.unwrap_or(Duration::from_secs(3600))), if wake.is_some() => {
                at = Timestamp::now();
            }
            stop = crate::interrupt::stop_watching() => {
                if stop == crate::interrupt::Stop::OutputClosed {
                    return Err(CliError::reported(ErrorKind::OutputClosed));
                }
                return Ok(Outcome::Interrupted(progress.waiting_for()));
            }
        }
    }
}

fn describe(o: &Observed) -> String {
    fn c<K: kube::Resource>(ch: &watch::Change<K>) -> String {
        match ch {
            watch::Change::Applied(k) => format!("applied {}", k.meta().name.as_deref().unwrap_or("")),
            watch::Change::Deleted(k) => format!("deleted {}", k.meta().name.as_deref().unwrap_or("")),
            watch::Change::Listed(v) => format!("listed {} objects", v.len()),
        }
    }
    match o {
        Observed::StatefulSet(ch) => c(ch),
        Observed::Pod(ch) => c(ch),
        Observed::Pvc(ch) => c(ch),
        Observed::Event(ch) => c(ch),
        Observed::Error { code, message, .. } => format!("error {code:?}: {message}"),
        Observed::Connection(n) => n.line(),
    }
}

#[allow(clippy::too_many_arguments)]
fn build_report(
    f: &Facts,
    plan: &Plan,
    progress: &Progress,
    snap: &Snapshot,
    outcome: &Outcome,
    dry_run: Option<&'static str>,
    started: Timestamp,
    waited: bool,
) -> ScaleReport {
    let finished = Timestamp::now();
    let summary = progress.summary();
    let blocking = match outcome {
        Outcome::Settled | Outcome::Scaled | Outcome::DryRun => None,
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
        pod_management_policy: f.pod_management_policy.clone(),
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
    }
}

fn secs(v: Option<f64>) -> String {
    v.map(|s| format!("{s:.1}s")).unwrap_or_else(|| "-".into())
}

/// The table summary printed when the scale ends.
pub fn render_summary(r: &ScaleReport, no_headers: bool, style: Style) -> String {
    let mut out = String::new();
    let tone = match r.result {
        "Settled" | "Scaled" | "DryRun" => Tone::Good,
        "TimedOut" | "Interrupted" => Tone::Warn,
        _ => Tone::Bad,
    };
    let verdict = match r.result {
        "Settled" => format!("settled in {:.1}s", r.duration_seconds),
        "Scaled" => "scale requested (--no-wait: not followed)".into(),
        "DryRun" => format!("dry run ({}): nothing was changed", r.dry_run.unwrap_or("client")),
        other => other.to_string(),
    };
    out += &format!(
        "\nstatefulset {}/{} {} -> {} ({}): {}\n",
        r.namespace,
        r.name,
        r.from,
        r.to,
        r.pod_management_policy,
        style.paint(&verdict, tone)
    );
    if !r.ordinals.is_empty() {
        let rows = r
            .ordinals
            .iter()
            .map(|o| {
                let row = &o.row;
                let state = if row.role == Role::Removing && row.done {
                    "Gone".to_string()
                } else {
                    row.state.as_str().to_string()
                };
                vec![
                    Cell::new(row.ordinal),
                    Cell::new(&row.pod),
                    Cell::new(match row.role {
                        Role::Unchanged => "unchanged",
                        Role::Adding => "added",
                        Role::Removing => "removed",
                    }),
                    style.cell(
                        state,
                        if row.done {
                            Tone::Good
                        } else if row.stuck.is_some() {
                            Tone::Bad
                        } else {
                            Tone::Warn
                        },
                    ),
                    Cell::new(&row.ready),
                    Cell::new(row.restarts),
                    Cell::new(if row.claims.is_empty() {
                        "<none>".to_string()
                    } else {
                        row.claims
                            .iter()
                            .map(|c| format!("{} {}", c.name, c.label()))
                            .collect::<Vec<_>>()
                            .join(", ")
                    }),
                    Cell::new(secs(o.duration_seconds)),
                    Cell::new(secs(o.since_start_seconds)),
                ]
            })
            .collect();
        out += &render::table(
            &[
                "ORDINAL", "POD", "CHANGE", "STATE", "READY", "RESTARTS", "PVCS", "DURATION", "AFTER",
            ],
            rows,
            no_headers,
        );
    }
    let p = &r.pvcs;
    let names =
        |v: &[progress::ClaimRow]| -> String { v.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ") };
    if r.result != "DryRun" && r.result != "Scaled" {
        out += &format!(
            "PVCs: {} created, {} reused, {} left behind, {} deleted\n",
            p.created.len(),
            p.reused.len(),
            p.left_behind.len(),
            p.deleted.len()
        );
    }
    for c in &p.reused {
        let same = match (&c.previous_volume, &c.volume) {
            (Some(a), Some(b)) if a == b => format!("bound to the same PV as before ({b})"),
            (Some(a), Some(b)) => style.paint(&format!("bound to {b}, NOT the PV it had before ({a})"), Tone::Bad),
            (_, Some(b)) => format!("bound to {b}"),
            _ => "not bound yet".into(),
        };
        out += &format!("  reused   {}: {same}\n", c.name);
    }
    if !p.created.is_empty() {
        out += &format!("  created  {}\n", names(&p.created));
    }
    let left: Vec<&progress::LeftBehind> = if r.result == "DryRun" || r.result == "Scaled" {
        r.plan.left_behind.iter().collect()
    } else {
        p.left_behind.iter().collect()
    };
    for l in left {
        let fate = if l.will_be_deleted {
            style.paint(
                "Kubernetes will delete it (whenScaled: Delete) once its pod is gone",
                Tone::Warn,
            )
        } else {
            format!(
                "kept (whenScaled: Retain): Kubernetes will not delete it; scaling back to {} reuses it",
                l.ordinal - r.plan.start_ordinal + 1
            )
        };
        out += &format!(
            "  left     {} ({}): {fate}\n",
            l.name,
            l.volume.as_deref().unwrap_or("no PV")
        );
    }
    if !p.deleted.is_empty() {
        out += &format!("  deleted  {}\n", names(&p.deleted));
    }
    if r.result != "DryRun" && r.result != "Scaled" {
        if r.order_violations.is_empty() {
            if r.pod_management_policy == "Parallel" {
                out += "Order: Parallel (no order expected)\n";
            } else {
                out += "Order: as OrderedReady promises (created low to high, removed high to low)\n";
            }
        } else {
            for v in &r.order_violations {
                out += &format!("{} {}\n", style.paint("Order departure:", Tone::Bad), v.message);
            }
        }
    }
    if let Some(b) = &r.blocking {
        out += &format!(
            "{} {} (ordinal {}): {}: {}\n",
            style.paint("Blocking:", Tone::Bad),
            b.pod,
            b.ordinal,
            b.reason,
            b.message
        );
    }
    if r.watch.relists > 0 || r.watch.errors > 0 {
        out += &format!(
            "Watch: recovered from {} error(s), {} re-list(s)\n",
            r.watch.errors, r.watch.relists
        );
    }
    out
}
