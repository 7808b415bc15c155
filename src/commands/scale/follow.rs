//! Following a scale: the watches' initial lists (the "before" picture), the plan
//! as lines of their own, then every watch event through [`Progress`] into the live
//! view until the StatefulSet settles, fails, times out or is changed by someone else.

use std::time::Duration;

use futures::StreamExt;
use jiff::Timestamp;

use super::report::ScaleOutcome;
use crate::cli::ScaleArgs;
use crate::error::{CliError, ErrorKind, Result};
use crate::kubeconfig::Kube;
use crate::model::progress::{Plan, Progress};
use crate::model::statefulset::Facts;
use crate::render::live::{self, LiveEvent, LiveView};
use crate::watch::{self, Observed, Snapshot, Source};

/// Wait until every watch has listed; fail on authorization errors, give up at the deadline.
pub(super) async fn initial_sync(
    kube: &Kube,
    stream: &mut futures::stream::BoxStream<'static, watch::Tracked>,
    snap: &mut Snapshot,
    deadline: tokio::time::Instant,
    args: &ScaleArgs,
) -> Result<()> {
    match watch::initial_sync(kube, stream, snap, deadline).await {
        Ok(watch::SyncEnd::Synced) => Ok(()),
        Ok(watch::SyncEnd::TimedOut) => Err(CliError::timeout(format!(
            "timed out after {} listing statefulset \"{}\", its pods and PVCs: nothing was changed",
            crate::model::duration::human_duration(args.timeout),
            args.name
        ))),
        Ok(watch::SyncEnd::Interrupted) => Err(CliError::interrupted("interrupted: nothing was changed")),
        Err(e) if e.is(ErrorKind::OutputClosed) => Err(e),
        Err(e) => Err(CliError::new(e.kind, format!("{}; nothing was changed", e.message))),
    }
}

/// Print the plan as lines of their own.
pub(super) fn plan_notes(live: &LiveView, plan: &Plan, f: &Facts, at: Timestamp) {
    let span = |v: &[i32]| -> String { v.iter().map(i32::to_string).collect::<Vec<_>>().join(",") };
    live.note(
        at,
        "scale",
        &f.name,
        LiveEvent::Plan,
        &[
            ("namespace", f.namespace.clone()),
            ("from", plan.from.to_string()),
            ("to", plan.to.to_string()),
            ("policy", plan.pod_management_policy.to_string()),
            ("start", plan.start_ordinal.to_string()),
            ("adding", span(&plan.adding)),
            ("removing", span(&plan.removing)),
            ("whenScaled", plan.when_scaled.to_string()),
        ],
    );
    for r in &plan.reusing {
        live.note(
            at,
            "pvc",
            &r.name,
            LiveEvent::WillReuse,
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
                LiveEvent::WillBeDeleted
            } else {
                LiveEvent::WillBeKept
            },
            &[
                ("ordinal", l.ordinal.to_string()),
                ("volume", l.volume.clone().unwrap_or_default()),
                ("whenScaled", plan.when_scaled.to_string()),
            ],
        );
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn follow(
    kube: &Kube,
    stream: &mut futures::stream::BoxStream<'static, watch::Tracked>,
    snap: &mut Snapshot,
    progress: &mut Progress,
    live: &LiveView,
    deadline: tokio::time::Instant,
    args: &ScaleArgs,
    verbose: u8,
) -> Result<ScaleOutcome> {
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
        live.show_scale(&transitions, progress.rows(), &rows_elapsed);
        if progress.sts_gone {
            return Ok(ScaleOutcome::Changed(format!(
                "statefulset \"{}\" was deleted while scaling; its PVCs follow whenDeleted: check with kubectl sts orphans",
                args.name
            )));
        }
        if let Some(r) = progress.superseded {
            return Ok(ScaleOutcome::Changed(format!(
                "spec.replicas of statefulset \"{}\" was changed to {r} by someone else while waiting for {}: \
                 not waiting for a scale that is no longer requested",
                args.name, args.replicas
            )));
        }
        if progress.settled() {
            return Ok(ScaleOutcome::Settled);
        }
        if let Some(r) = progress.failure() {
            let s = r.stuck.as_ref().expect("failure has a cause");
            return Ok(ScaleOutcome::Failed(format!(
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
                        live.note(t.at, "watch", source.as_str(), LiveEvent::WatchError, &[
                            ("code", code.map(|c| c.to_string()).unwrap_or_else(|| "-".into())),
                            ("retrying", (!ended).to_string()),
                            ("message", message.clone()),
                        ]);
                        if *source != Source::Events && matches!(code, Some(401 | 403)) {
                            let e = crate::watch::watch_error(kube, *source, *code, message);
                            return Err(CliError::new(e.kind, format!(
                                "{}; spec.replicas is now {} (the scale was requested)", e.message, args.replicas
                            )));
                        }
                    }
                    _ if snap.lists(t.source()) > before => {
                        live.note(t.at, "watch", t.source().as_str(), LiveEvent::Relisted, &[]);
                    }
                    Observed::Connection(n) => {
                        live.note(t.at, "connection", "apiserver", n.event(), &[("message", n.line())]);
                    }
                    _ => {}
                }
            }
            _ = tokio::time::sleep_until(deadline) => {
                at = Timestamp::now();
                let world = snap.world();
                let _ = progress.observe(at, &world);
                if progress.settled() {
                    return Ok(ScaleOutcome::Settled);
                }
                return Ok(ScaleOutcome::TimedOut(progress.waiting_for()));
            }
            _ = tokio::time::sleep(wake.unwrap_or(Duration::from_secs(3600))), if wake.is_some() => {
                at = Timestamp::now();
            }
            stop = crate::interrupt::stop_watching() => {
                if stop == crate::interrupt::Stop::OutputClosed {
                    return Err(CliError::reported(ErrorKind::OutputClosed));
                }
                return Ok(ScaleOutcome::Interrupted(progress.waiting_for()));
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
