//! Following a rollout: the watches' initial lists, then every watch event through
//! the [`Trace`] into the live view until it is done, stuck, timed out or interrupted;
//! or, with `--no-wait`, one list of each.

use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;
use jiff::Timestamp;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Event, PersistentVolumeClaim, Pod};
use kube::api::ListParams;

use super::report::RolloutOutcome;
use crate::cli::TraceArgs;
use crate::error::{CliError, ErrorKind, Result, Target};
use crate::gather::{api, list_all};
use crate::kubeconfig::Kube;
use crate::model::revisions::Trace;
use crate::render::live::{self, LiveEvent, LiveView};
use crate::watch::{self, Observed, Scope, Snapshot, Source};

/// `--no-wait`: one list each of pods, PVCs and Events.
pub(super) async fn snapshot_once(kube: &Kube, scope: &Scope, sts: &StatefulSet) -> Result<Snapshot> {
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

fn until(t: Timestamp) -> Duration {
    let now = Timestamp::now();
    if t <= now {
        Duration::ZERO
    } else {
        Duration::from_secs_f64(t.duration_since(now).as_secs_f64())
    }
}

pub(super) async fn follow(
    kube: &Kube,
    scope: &Scope,
    trace: &mut Trace,
    view: &LiveView,
    targs: &TraceArgs,
    verbose: u8,
    snap: &mut Snapshot,
) -> Result<RolloutOutcome> {
    let deadline = tokio::time::Instant::now() + targs.timeout;
    let mut stream: BoxStream<'static, watch::Tracked> = watch::track(kube.client.clone(), scope);
    if let Some(early) = initial_sync(kube, &mut stream, snap, deadline).await? {
        return Ok(early);
    }
    let mut at = Timestamp::now();
    loop {
        let world = snap.world();
        let evs = trace.observe(at, &world);
        view.show_trace(&evs, trace);
        if trace.sts_gone {
            return Ok(RolloutOutcome::Deleted);
        }
        if trace.done() {
            return Ok(RolloutOutcome::Done);
        }
        let now = Timestamp::now();
        if trace.stalled(now, targs.progress_deadline) {
            return Ok(if trace.only_manual_deletes_left() {
                RolloutOutcome::WaitingForManualDelete
            } else {
                RolloutOutcome::Stuck
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
                        view.note(t.at, "watch", source.as_str(), LiveEvent::WatchError, &[
                            ("code", code.map(|c| c.to_string()).unwrap_or_else(|| "-".into())),
                            ("retrying", (!ended).to_string()),
                            ("message", message.clone()),
                        ]);
                        if *source != Source::Events && matches!(code, Some(401 | 403)) {
                            return Err(crate::watch::watch_error(kube, *source, *code, message));
                        }
                    }
                    _ if snap.lists(t.source()) > before => {
                        view.note(t.at, "watch", t.source().as_str(), LiveEvent::Relisted, &[]);
                    }
                    Observed::Connection(n) => {
                        view.note(t.at, "connection", "apiserver", n.event(), &[("message", n.line())]);
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
                view.show_trace(&evs, trace);
                return Ok(if trace.done() { RolloutOutcome::Done } else { RolloutOutcome::TimedOut });
            }
            stop = crate::interrupt::stop_watching() => {
                if stop == crate::interrupt::Stop::OutputClosed {
                    return Err(CliError::reported(ErrorKind::OutputClosed));
                }
                return Ok(RolloutOutcome::Interrupted);
            }
        }
    }
}

/// The initial lists of every watch, into `snap`; fails on authorization errors. An
/// outcome when the deadline or Ctrl-C comes first.
async fn initial_sync(
    kube: &Kube,
    stream: &mut BoxStream<'static, watch::Tracked>,
    snap: &mut Snapshot,
    deadline: tokio::time::Instant,
) -> Result<Option<RolloutOutcome>> {
    Ok(match watch::initial_sync(kube, stream, snap, deadline).await? {
        watch::SyncEnd::Synced => None,
        watch::SyncEnd::TimedOut => Some(RolloutOutcome::TimedOut),
        watch::SyncEnd::Interrupted => Some(RolloutOutcome::Interrupted),
    })
}
