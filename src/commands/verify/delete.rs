//! The delete-and-wait step: delete (or evict) exactly the pod that was marked, then
//! follow its replacement on a watch until it is Running and Ready.

use std::time::Instant;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, DeleteParams, EvictParams, Preconditions};
use kube::runtime::{WatchStreamExt, watcher};

use super::Ctx;
use super::cleanup::remaining_note;
use super::drill::{Untouched, round_ms};
use super::interrupted;
use super::plan::DrillPlan;
use super::report::{PhaseTiming, PodDrill};
use crate::error::{CliError, ErrorKind, Result, Target};
use crate::gather;
use crate::model::explain::{self, PhaseReport, Transition};
use crate::model::persistence::{self, Phase, WaitTracker};
use crate::model::pods;
use crate::model::statefulset::Facts;
use crate::watch::connection::{self, Connectivity};
use jiff::Timestamp;

impl Ctx<'_> {
    /// Delete (or evict) exactly the pod we marked; the instant of the request. On
    /// failure the markers are removed and the error says nothing was deleted.
    pub(super) async fn delete_marked(&self, plan: &DrillPlan, drill: &mut PodDrill) -> Result<Instant> {
        if self.intr.fired() {
            self.cleanup(&plan.pod, &plan.container, drill).await;
            drill.state = format!("pod {} untouched (uid {})", plan.pod, plan.old_uid);
            return Err(interrupted(&format!(
                "before deleting {}: nothing was deleted{}",
                plan.pod,
                remaining_note(drill)
            )));
        }
        let started = Instant::now();
        if let Err(failure) = self.delete(&plan.pod, &plan.old_uid).await {
            self.cleanup(&plan.pod, &plan.container, drill).await;
            drill.state = format!("pod {} not deleted (uid {})", plan.pod, plan.old_uid);
            let e = failure.error;
            let nothing = if failure.says_nothing_deleted {
                ""
            } else {
                "; nothing was deleted"
            };
            let e = CliError::new(e.kind, format!("{}{nothing}{}", e.message, remaining_note(drill)));
            return Err(e);
        }
        self.live.status(&format!(
            "{} {} (uid {}); waiting for its replacement to be Running and Ready",
            if self.args.evict { "evicted" } else { "deleted" },
            plan.pod,
            plan.old_uid
        ));
        Ok(started)
    }

    /// Wait on a watch for the replacement; record its phases. On failure the markers
    /// are removed if the new pod can run commands, else listed as remaining.
    pub(super) async fn await_replacement(
        &self,
        plan: &DrillPlan,
        drill: &mut PodDrill,
        started: Instant,
    ) -> Result<()> {
        let mut tracker = WaitTracker::new(&plan.pod, &plan.old_uid);
        let mut conn = Connectivity::default();
        let waited = self.wait_recreated(&mut tracker, &mut conn, started).await;
        drill.outages = conn.outages;
        drill.down_seconds = round_ms(conn.down_for);
        drill.phases = self.explain(plan, &tracker, started).await;
        for cause in explain::causes(&drill.phases) {
            self.live.step(&format!("{}: {cause}", plan.pod), "");
        }
        drill.milestones = tracker
            .reached
            .iter()
            .map(|(p, d)| PhaseTiming {
                phase: *p,
                seconds: round_ms(*d),
            })
            .collect();
        drill.new_uid = tracker.new_uid().map(str::to_string);
        drill.new_node = tracker.latest.as_ref().and_then(pods::node).map(str::to_string);
        drill.state = tracker.describe();
        self.live.clear();
        if let Err(e) = waited {
            // Timed out or interrupted: clean up if the new pod can run commands.
            let reachable = tracker.new_uid().is_some()
                && tracker.reached.iter().any(|(p, _)| *p >= Phase::Running)
                && !self.intr.fired();
            if reachable {
                self.cleanup(&plan.pod, &plan.container, drill).await;
            } else {
                self.note_remaining(drill);
            }
            let cause = explain::causes(&drill.phases)
                .pop()
                .filter(|_| drill.phases.last().is_some_and(|p| !p.done))
                .map(|c| format!("; {c}"))
                .unwrap_or_default();
            let msg = format!("{}: {}{cause}{}", e.message, drill.state, remaining_note(drill));
            return Err(CliError::new(e.kind, msg));
        }
        drill.recreate_seconds = tracker.reached.last().map(|(_, d)| round_ms(*d));
        Ok(())
    }

    /// The recreation's phases, explained from the Events about the pod (one LIST), the
    /// old node when the termination is stuck, and a crashed container's previous log.
    async fn explain(&self, plan: &DrillPlan, tracker: &WaitTracker, started: Instant) -> Vec<PhaseReport> {
        let elapsed = started.elapsed();
        let stuck_terminating = tracker.at(Phase::Gone).is_none();
        let node = plan.node.as_deref().filter(|_| stuck_terminating);
        let found = gather::pod_evidence(self.kube, &self.ns, &plan.pod, node, tracker.new_pod()).await;
        let events: Vec<&Event> = found.events.iter().collect();
        let t = Transition {
            marks: tracker.marks(),
            elapsed,
            started_at: Some(Timestamp::now() - elapsed),
            deletes: true,
            recreates: true,
            old_first: tracker.old_first.as_ref(),
            old_last: tracker.old_last.as_ref(),
            new: tracker.new_pod(),
            events: &events,
            old_node: found.old_node.as_ref(),
            controller_wait: None,
            crash_log: found.crash_log,
            min_ready_seconds: plan.min_ready_seconds,
        };
        explain::explain(&t, self.args.explain.detail())
    }

    /// The DELETE (or eviction) with the marked pod's UID as precondition.
    async fn delete(&self, pod: &str, uid: &str) -> Result<(), Untouched> {
        let api: Api<Pod> = Api::namespaced(self.kube.client.clone(), &self.ns);
        let dp = DeleteParams {
            preconditions: Some(Preconditions {
                uid: Some(uid.to_string()),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        let res = if self.args.evict {
            let ep = EvictParams {
                delete_options: Some(dp),
                ..EvictParams::default()
            };
            api.evict(pod, &ep).await.map(|_| ())
        } else {
            api.delete(pod, &dp).await.map(|_| ())
        };
        match res {
            Ok(()) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 429 && self.args.evict => {
                Err(Untouched::said(CliError::failed(format!(
                    "eviction of pod {pod} refused by a PodDisruptionBudget (429): {}; nothing was deleted \
                 (wait until the budget allows a disruption, or drop --evict to delete directly)",
                    s.message.trim_end_matches('.')
                ))))
            }
            Err(kube::Error::Api(s)) if s.code == 409 => Err(Untouched::said(CliError::failed(format!(
                "pod {pod} is no longer the pod that was marked (uid {uid}): it was replaced meanwhile; nothing was deleted"
            )))),
            Err(e) => Err(Untouched::plain(self.kube.error(
                &e,
                Target::new(
                    if self.args.evict { "evict" } else { "delete" },
                    "pod",
                    Some(pod),
                    Some(&self.ns),
                ),
            ))),
        }
    }

    /// Watch the pod by name until the old UID is gone and a new pod is Ready.
    pub(super) async fn wait_recreated(
        &self,
        tracker: &mut WaitTracker,
        conn: &mut Connectivity,
        started: Instant,
    ) -> Result<()> {
        let api: Api<Pod> = Api::namespaced(self.kube.client.clone(), &self.ns);
        let cfg = watcher::Config::default().fields(&format!("metadata.name={}", tracker.pod));
        let mut stream = watcher(api, cfg).default_backoff().boxed();
        let deadline = tokio::time::Instant::now() + self.args.timeout;
        let mut init_seen: Option<Pod> = None;
        let mut in_init = false;
        let mut probe = connection::Probe::default();
        loop {
            let next = tokio::select! {
                n = stream.try_next() => n,
                _ = tokio::time::sleep_until(deadline) => {
                    return Err(CliError::timeout(format!(
                        "timed out after {} waiting for pod {} to be recreated, Running and Ready",
                        crate::model::duration::human_duration(self.args.timeout),
                        tracker.pod
                    )));
                }
                _ = self.intr.wait() => {
                    return Err(interrupted(&format!("while waiting for {}: nothing more was deleted", tracker.pod)));
                }
                () = probe.answered(&self.kube.client, conn.is_lost()) => {
                    if let Some(n) = conn.restored(Timestamp::now(), false) {
                        self.live.print(&n.line());
                    }
                    continue;
                }
            };
            let observed: Option<Option<Pod>> = match next {
                Ok(Some(watcher::Event::Init)) => {
                    in_init = true;
                    init_seen = None;
                    None
                }
                Ok(Some(watcher::Event::InitApply(p))) => {
                    init_seen = Some(p);
                    None
                }
                Ok(Some(watcher::Event::InitDone)) => {
                    in_init = false;
                    if let Some(n) = conn.restored(Timestamp::now(), true) {
                        self.live.print(&n.line());
                    }
                    Some(init_seen.take())
                }
                Ok(Some(watcher::Event::Apply(p))) => Some(Some(p)),
                Ok(Some(watcher::Event::Delete(p))) => {
                    tracker.observe_deleted(&p);
                    Some(None)
                }
                Ok(None) => {
                    return Err(CliError::new(
                        ErrorKind::Unreachable,
                        format!("the watch on pod {} ended", tracker.pod),
                    ));
                }
                // default_backoff retries; errors are only reported, except 401/403,
                // which retrying will not heal: stop now rather than at --timeout.
                Err(e) => {
                    if let Some(err) = self.fatal_watch_error(&e, "pod", &tracker.pod) {
                        return Err(err);
                    }
                    if let Some(n) = conn.on_error(Timestamp::now(), &e) {
                        self.live.print(&n.line());
                    }
                    if self.kube.verbose > 0 {
                        crate::errln!("watch error (retrying): {e}");
                    }
                    None
                }
            };
            let _ = in_init;
            if let Some(obs) = observed {
                let at = started.elapsed();
                for phase in tracker.observe(obs.as_ref(), at) {
                    self.live.step(
                        &format!("{}: {} (+{:.1}s)", tracker.pod, phase.label(), at.as_secs_f64()),
                        &format!("{}: {}", tracker.pod, phase.label()),
                    );
                }
                if tracker.done() {
                    return Ok(());
                }
            }
        }
    }

    /// `--all`: watch the StatefulSet until it is fully ready again (bounded by --timeout).
    pub(super) async fn wait_sts_ready(&self) -> Result<()> {
        let api: Api<StatefulSet> = Api::namespaced(self.kube.client.clone(), &self.ns);
        let cfg = watcher::Config::default().fields(&format!("metadata.name={}", self.sts));
        let mut stream = watcher(api, cfg).default_backoff().applied_objects().boxed();
        let ready = async {
            loop {
                match stream.try_next().await {
                    Ok(Some(s)) if persistence::fully_ready(&Facts::of(&s)) => return Ok(()),
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        return Err(CliError::new(
                            ErrorKind::Unreachable,
                            format!("the watch on statefulset {} ended", self.sts),
                        ));
                    }
                    Err(e) => {
                        if let Some(err) = self.fatal_watch_error(&e, "statefulset", &self.sts) {
                            return Err(err);
                        }
                        // default_backoff retries the rest (dropped connections, 5xx).
                        if self.kube.verbose > 0 {
                            crate::errln!("watch error (retrying): {e}");
                        }
                    }
                }
            }
        };
        match tokio::time::timeout(self.args.timeout, ready).await {
            Ok(r) => r,
            Err(_) => Err(CliError::timeout(format!(
                "timed out after {} waiting for statefulset {} to be fully ready before the next pod; nothing more was deleted",
                crate::model::duration::human_duration(self.args.timeout),
                self.sts
            ))),
        }
    }

    /// A watch error retrying cannot fix (401, 403), as a one-line error.
    pub(super) fn fatal_watch_error(&self, e: &watcher::Error, kind: &'static str, name: &str) -> Option<CliError> {
        let status = match e {
            watcher::Error::InitialListFailed(kube::Error::Api(s))
            | watcher::Error::WatchStartFailed(kube::Error::Api(s))
            | watcher::Error::WatchFailed(kube::Error::Api(s)) => s,
            watcher::Error::WatchError(s) => s,
            _ => return None,
        };
        matches!(status.code, 401 | 403).then(|| {
            crate::error::from_status(
                status.code,
                &status.reason,
                &status.message,
                &Target::new("watch", kind, Some(name), Some(&self.ns)),
                &self.kube.endpoint,
            )
        })
    }
}
