//! `kubectl sts scale STS --replicas N`: change replicas through the `scale`
//! subresource, then follow every ordinal until the StatefulSet settles.
//!
//! gather: GET the StatefulSet, then start the watches ([`crate::watch`]: one each for
//! the StatefulSet, its pods, its PVCs and Events) and wait for their initial lists;
//! that snapshot is the "before" picture. decide: [`progress::plan`] (what will be
//! created, removed, reused, left behind, whether data is deleted) and then
//! [`Progress`] on every watch event. render: plain lines or the terminal view while
//! it runs ([`crate::render::live::LiveView`]), then a table summary or the JSON/YAML
//! `ScaleReport`.
//!
//! The write follows kubectl's scaler (k8s.io/kubectl/pkg/scale): without
//! `--current-replicas`, a merge patch of `spec.replicas` on `statefulsets/scale`;
//! with it, an update of the Scale carrying the resourceVersion the precondition was
//! checked against, so a concurrent change answers 409. A 409 is retried (at most
//! [`MAX_CONFLICT_RETRIES`] times) only after re-reading the Scale and finding the
//! precondition still holds.

mod follow;
mod render;
mod report;
mod write;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::{Api, ListParams};

use crate::cli::{DryRun, GlobalArgs, ScaleArgs};
use crate::commands::owners;
use crate::confirm::confirm;
use crate::error::{CliError, Result, Target};
use crate::gather::{self, api, list_all, selector_string};
use crate::kubeconfig::Kube;
use crate::model::ownership::Change;
use crate::model::progress::{self, Progress};
use crate::model::statefulset::Facts;
use crate::render::Style;
use crate::render::live::{LiveEvent, LiveView, Sink};
use crate::watch::{self, Scope, Snapshot, Tracked};

use render::render_summary;
use report::{ScaleOutcome, build_report};

pub const API_VERSION: &str = "kubectl-sts/v1";

/// How many times a 409 Conflict on the scale write is retried.
pub const MAX_CONFLICT_RETRIES: usize = 5;

type Stream = futures::stream::BoxStream<'static, Tracked>;

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
    let structured = crate::render::is_structured(global.output);
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
    let (stream, mut snap) = before_picture(&kube, &sts, &scope, wait, deadline, args).await?;
    // Decide from the freshest StatefulSet the watch gave us.
    let facts = snap.sts.as_ref().map(Facts::of).unwrap_or(facts);
    let world = snap.world();
    let plan = progress::plan(&facts, to, &world.pvcs);

    // Who else writes it, and what they will do to this scale: said, never refused.
    let owner_warnings = owners::announce(snap.sts.as_ref().unwrap_or(&sts), Change::Scale { replicas: to });
    let title = format!("{}/{} {} -> {}", ns, facts.name, facts.replicas, to);
    let changing = (plan.adding.len() + plan.removing.len()) as u64;
    let live = LiveView::open(Sink::beside_report(structured), wait, style).with_overall(&title, changing);
    follow::plan_notes(&live, &plan, &facts, Timestamp::now());

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
    request(&kube, &live, &facts, to, &sts, args).await?;
    let mut progress = Progress::new(&facts, to, &world, started);
    drop(world);
    let dry = args.dry_run.map(|d| match d {
        DryRun::Client => "client",
        DryRun::Server => "server",
    });
    let outcome = if let Some(mut s) = stream {
        follow::follow(
            &kube,
            &mut s,
            &mut snap,
            &mut progress,
            &live,
            deadline,
            args,
            global.verbose,
        )
        .await?
    } else if dry.is_some() {
        ScaleOutcome::DryRun
    } else {
        ScaleOutcome::Scaled
    };
    live.finish();
    drop(live);

    let mut report = build_report(&facts, &plan, &progress, &snap, &outcome, dry, started, wait);
    if wait {
        report::explain_ordinals(&mut report, &progress, &snap, args.explain.detail());
    }
    report.owner_warnings = owner_warnings;
    if structured {
        crate::out!("{}", crate::render::structured(&report, global.output)?);
    } else {
        crate::out!("{}", render_summary(&report, global.no_headers, style));
    }
    verdict(outcome, &facts, to, args)
}

/// The "before" picture: from the watches' initial lists when we follow (the stream
/// goes on from there), else one list each.
async fn before_picture(
    kube: &Kube,
    sts: &StatefulSet,
    scope: &Scope,
    wait: bool,
    deadline: tokio::time::Instant,
    args: &ScaleArgs,
) -> Result<(Option<Stream>, Snapshot)> {
    let mut snap = Snapshot::new(scope);
    if wait {
        let mut s = watch::track(kube.client.clone(), scope);
        follow::initial_sync(kube, &mut s, &mut snap, deadline, args).await?;
        return Ok((Some(s), snap));
    }
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
            api::<PersistentVolumeClaim>(kube, Some(ns)),
            ListParams::default(),
            Target::new("list", "persistentvolumeclaim", None, Some(ns)),
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
    Ok((None, snap))
}

/// Write the scale (unless --dry-run=client) and say so in the live view.
async fn request(
    kube: &Kube,
    live: &LiveView,
    facts: &Facts,
    to: i32,
    sts: &StatefulSet,
    args: &ScaleArgs,
) -> Result<()> {
    let sts_api: Api<StatefulSet> = Api::namespaced(kube.client.clone(), &kube.namespace);
    let written = match args.dry_run {
        Some(DryRun::Client) => None,
        mode => Some(
            write::write_scale(
                kube,
                &sts_api,
                facts,
                to,
                args.current_replicas,
                sts.metadata.resource_version.clone(),
                mode == Some(DryRun::Server),
            )
            .await?,
        ),
    };
    live.note(
        Timestamp::now(),
        "scale",
        &facts.name,
        match args.dry_run {
            Some(_) => LiveEvent::DryRun,
            None => LiveEvent::Requested,
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
    Ok(())
}

/// The exit: success, or the error saying what state the StatefulSet is left in.
fn verdict(outcome: ScaleOutcome, facts: &Facts, to: i32, args: &ScaleArgs) -> Result<()> {
    let state = format!(
        "spec.replicas of statefulset \"{}\" is {} and the StatefulSet controller keeps working on it: \
         watch it with `kubectl sts status {}`, or go back with `kubectl sts scale {} --replicas {}`",
        facts.name, to, facts.name, facts.name, facts.replicas
    );
    match outcome {
        ScaleOutcome::Settled | ScaleOutcome::Scaled | ScaleOutcome::DryRun => Ok(()),
        ScaleOutcome::Failed(m) => Err(CliError::failed(format!("{m}; {state}"))),
        ScaleOutcome::Changed(m) => Err(CliError::failed(m)),
        ScaleOutcome::TimedOut(m) => Err(CliError::timeout(format!(
            "timed out after {} waiting for {m}; {state}",
            crate::model::duration::human_duration(args.timeout)
        ))),
        ScaleOutcome::Interrupted(m) => Err(CliError::interrupted(format!(
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
