//! Rollouts of a StatefulSet, per ordinal: pure, no I/O.
//!
//! A [`Trace`] is fed successive snapshots (a [`World`] from `crate::watch`) and keeps,
//! for every ordinal, which revision its pod runs against `status.updateRevision`, its
//! [`OrdinalState`] and a timeline (update started, old pod gone, new pod created,
//! running, ready, available), plus one [`TraceEvent`] per change for the live view and
//! the JSON report. [`history`] reads ControllerRevisions like `kubectl rollout
//! history`; [`restart_patch`] is the patch `kubectl rollout restart` sends.
//!
//! Kubernetes semantics (pkg/controller/statefulset/stateful_set_control.go,
//! `updateStatefulSet` and `updateStatefulSetAfterInvariantEstablished`;
//! stateful_set_utils.go `newVersionedStatefulSetPod`, `getStatefulSetMaxUnavailable`):
//! - A pod's revision is its `controller-revision-hash` label; the target is
//!   `status.updateRevision`, trusted only once `status.observedGeneration >=
//!   metadata.generation`.
//! - RollingUpdate replaces pods from the highest ordinal down to
//!   `start + partition` (the partition counts from `spec.ordinals.start`); ordinals
//!   below are recreated at the current revision and never updated ("held").
//! - `maxUnavailable` (int or percentage of replicas, rounded down, at least 1; honoured
//!   where the MaxUnavailableStatefulSet feature is on) lets several ordinals be in flight.
//! - OnDelete replaces a pod only when someone deletes it.
//! - With `minReadySeconds > 0` a pod counts once Ready for that long (Available).
//!
//! Done = `observedGeneration >= generation` and every ordinal at or above the
//! partition runs `updateRevision` and is Available (Ready when `minReadySeconds` is 0).
//! Progress = some ordinal reached a later stage than ever before; a rollout with no
//! progress for the progress deadline is stuck.

pub mod diff;
mod helpers;
mod history;
mod spec;

use crate::model::events::Ev;
use helpers::*;
pub use history::*;
pub use spec::*;

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::{Event, PersistentVolumeClaim, Pod};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::model::ordinals::{claim_name, pod_name, pod_ordinal};
use crate::model::pods;
use crate::model::progress::{Stuck, World, stuck_cause};
use crate::model::statefulset::Facts;

/// The annotation `kubectl rollout history` shows as CHANGE-CAUSE.
pub const CHANGE_CAUSE: &str = "kubernetes.io/change-cause";
/// The pod-template annotation `kubectl rollout restart` sets.
pub const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";
/// The label the controller puts on ControllerRevisions (their hash).
pub const HASH_LABEL: &str = "controller.kubernetes.io/hash";

/// One ordinal's part in the rollout.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrdinalTrace {
    pub ordinal: i32,
    pub pod: String,
    pub state: OrdinalState,
    /// The revision the pod runs now (its `controller-revision-hash`); None without a pod.
    pub revision: Option<String>,
    /// The revision the ordinal ran before it was updated, when seen.
    pub from_revision: Option<String>,
    /// Updated (or being updated) by this rollout; false for held ordinals and for
    /// ordinals already at the update revision before it started.
    pub in_rollout: bool,
    /// Its old pod started terminating (deletion requested).
    pub update_started_at: Option<Timestamp>,
    /// The old pod was gone.
    pub old_pod_gone_at: Option<Timestamp>,
    /// The new pod was created.
    pub new_pod_created_at: Option<Timestamp>,
    pub new_pod_running_at: Option<Timestamp>,
    pub new_pod_ready_at: Option<Timestamp>,
    /// Ready for `minReadySeconds` (the same as ready when it is 0).
    pub new_pod_available_at: Option<Timestamp>,
    /// From update started (or the earliest known stage) to available.
    pub duration_seconds: Option<f64>,
    /// Some timestamps come from object timestamps and Events (attached mid-rollout),
    /// with the API's one-second precision, instead of being observed live.
    pub reconstructed: bool,
    pub restarts: i32,
    pub stuck: Option<Stuck>,
    /// Where the time of this ordinal's replacement went (docs/json-schemas.md,
    /// "Phases"); set when the report is made, empty for ordinals not in the rollout.
    pub phases: Vec<crate::model::explain::PhaseReport>,
    #[serde(skip)]
    max_rank: u8,
    #[serde(skip)]
    pod_uid: Option<String>,
    /// What the explanations need of this ordinal's pods.
    #[serde(skip)]
    seen: crate::model::explain::Observed,
}

impl OrdinalTrace {
    fn new(ordinal: i32, sts: &str) -> OrdinalTrace {
        OrdinalTrace {
            ordinal,
            pod: pod_name(sts, ordinal),
            state: OrdinalState::Recreating,
            revision: None,
            from_revision: None,
            in_rollout: false,
            update_started_at: None,
            old_pod_gone_at: None,
            new_pod_created_at: None,
            new_pod_running_at: None,
            new_pod_ready_at: None,
            new_pod_available_at: None,
            duration_seconds: None,
            reconstructed: false,
            restarts: 0,
            stuck: None,
            phases: Vec::new(),
            max_rank: 0,
            pod_uid: None,
            seen: Default::default(),
        }
    }

    /// The replacement's boundaries from its first known moment, for model::explain.
    fn view(&self) -> Option<(Timestamp, crate::model::explain::View<'_>)> {
        let origin = self.began_at()?;
        let since = |x: Option<Timestamp>| {
            x.filter(|x| *x >= origin)
                .map(|x| x.duration_since(origin).unsigned_abs())
        };
        let deletes = self.update_started_at.is_some();
        let marks = crate::model::explain::Marks {
            gone: since(self.old_pod_gone_at),
            created: since(self.new_pod_created_at),
            scheduled: since(
                self.seen
                    .scheduled_at
                    .filter(|s| self.new_pod_created_at.is_some_and(|c| *s >= c)),
            ),
            running: since(self.new_pod_running_at),
            ready: since(self.new_pod_available_at.or(self.new_pod_ready_at)),
        };
        let new_uid = self.seen.latest.as_ref().and_then(|l| l.metadata.uid.as_ref());
        Some((
            origin,
            crate::model::explain::View {
                marks,
                deletes,
                recreates: true,
                old_first: self
                    .seen
                    .old_first
                    .as_ref()
                    .filter(|o| o.metadata.uid.as_ref() != new_uid),
                old_last: self
                    .seen
                    .old_last
                    .as_ref()
                    .filter(|o| o.metadata.uid.as_ref() != new_uid),
                new: self.seen.latest.as_ref().filter(|_| self.new_pod_created_at.is_some()),
            },
        ))
    }

    /// The first known moment of this ordinal's update.
    pub fn began_at(&self) -> Option<Timestamp> {
        self.update_started_at
            .or(self.old_pod_gone_at)
            .or(self.new_pod_created_at)
            .or(self.new_pod_running_at)
            .or(self.new_pod_ready_at)
    }

    fn reset_timeline(&mut self) {
        self.update_started_at = None;
        self.old_pod_gone_at = None;
        self.new_pod_created_at = None;
        self.new_pod_running_at = None;
        self.new_pod_ready_at = None;
        self.new_pod_available_at = None;
        self.duration_seconds = None;
        self.reconstructed = false;
        self.max_rank = 0;
        self.in_rollout = false;
    }
}

/// One thing that happened: a live line and an entry of the JSON report's `events`.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceEvent {
    pub at: Timestamp,
    /// `pod/web-2`, `statefulset/web`.
    pub object: String,
    pub ordinal: Option<i32>,
    /// `terminating`, `gone`, `created`, `running`, `ready`, `available`, `updated`,
    /// `stuck`, `waiting-for-manual-delete`, `observed`, `revision`, `deleted`, `done`.
    pub event: Ev,
    pub fields: Vec<(&'static str, String)>,
}

impl Serialize for TraceEvent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("at", &format!("{:.3}", self.at))?;
        m.serialize_entry("object", &self.object)?;
        m.serialize_entry("ordinal", &self.ordinal)?;
        m.serialize_entry("event", self.event.as_str())?;
        let fields: BTreeMap<&str, &str> = self.fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        m.serialize_entry("fields", &fields)?;
        m.end()
    }
}

/// The rollout of one StatefulSet, followed over time.
#[derive(Debug, Clone)]
pub struct Trace {
    pub name: String,
    pub namespace: String,
    pub spec: RolloutSpec,
    /// When tracing began.
    pub started_at: Timestamp,
    /// When the update revision's ControllerRevision was created (the rollout began), when known.
    pub rollout_started_at: Option<Timestamp>,
    pub ordinals: BTreeMap<i32, OrdinalTrace>,
    pub events: Vec<TraceEvent>,
    /// The last time some ordinal reached a later stage than ever before.
    pub last_progress: Timestamp,
    pub sts_gone: bool,
    /// The most ordinals seen in flight at once (more than 1 only with maxUnavailable > 1).
    pub max_in_flight: usize,
    /// Creation times of the StatefulSet's ControllerRevisions, by name.
    revision_created: BTreeMap<String, Timestamp>,
    observed: bool,
    done_reported: bool,
    manual_reported: Vec<String>,
}

impl Trace {
    /// Start a trace; `revisions` are the StatefulSet's ControllerRevisions as listed at
    /// the start (to tell which pods this rollout already replaced).
    pub fn new(sts: &StatefulSet, revisions: &[ControllerRevision], started_at: Timestamp) -> Trace {
        let revision_created = revisions
            .iter()
            .filter_map(|r| Some((r.metadata.name.clone()?, r.metadata.creation_timestamp.as_ref()?.0)))
            .collect();
        Trace {
            name: sts.metadata.name.clone().unwrap_or_default(),
            namespace: sts.metadata.namespace.clone().unwrap_or_default(),
            spec: RolloutSpec::of(sts),
            started_at,
            rollout_started_at: None,
            ordinals: BTreeMap::new(),
            events: Vec::new(),
            last_progress: started_at,
            sts_gone: false,
            max_in_flight: 0,
            revision_created,
            observed: false,
            done_reported: false,
            manual_reported: Vec::new(),
        }
    }

    fn sts_event(&self, at: Timestamp, event: Ev, fields: Vec<(&'static str, String)>) -> TraceEvent {
        TraceEvent {
            at,
            object: format!("statefulset/{}", self.name),
            ordinal: None,
            event,
            fields,
        }
    }

    /// Take a snapshot observed at `at`; returns (and records) what changed.
    pub fn observe(&mut self, at: Timestamp, world: &World<'_>) -> Vec<TraceEvent> {
        let mut out = Vec::new();
        let Some(sts) = world.sts else {
            if !self.sts_gone {
                self.sts_gone = true;
                out.push(self.sts_event(at, Ev::Deleted, vec![]));
            }
            self.events.extend(out.clone());
            return out;
        };
        let first = !self.observed;
        let spec = self.observe_spec(at, sts, first, &mut out);
        let pods_by: BTreeMap<i32, &Pod> = world
            .pods
            .iter()
            .filter_map(|p| pod_ordinal(&self.name, p.metadata.name.as_deref()?).map(|o| (o, *p)))
            .collect();
        let pvcs_by: BTreeMap<&str, &PersistentVolumeClaim> = world
            .pvcs
            .iter()
            .filter_map(|c| Some((c.metadata.name.as_deref()?, *c)))
            .collect();
        let templates: Vec<String> = Facts::of(sts).claim_templates;
        // Ordinals that left the range (scale-in) are no longer part of the rollout.
        let (lo, hi) = (spec.start_ordinal, spec.end());
        self.ordinals.retain(|o, _| (lo..hi).contains(o));
        for o in lo..hi {
            let pod = pods_by.get(&o).copied();
            let state = classify(&spec, o, pod, at);
            let claims: Vec<&PersistentVolumeClaim> = templates
                .iter()
                .filter_map(|t| pvcs_by.get(claim_name(t, &self.name, o).as_str()).copied())
                .collect();
            let stuck = if state.in_flight() {
                stuck_cause(pod, &claims, &world.events)
            } else {
                None
            };
            let is_new = !self.ordinals.contains_key(&o);
            let rollout_started = self.rollout_started_at;
            let min_ready = spec.min_ready_seconds;
            let update = spec.update_revision.clone();
            let name = self.name.clone();
            let t = self.ordinals.entry(o).or_insert_with(|| OrdinalTrace::new(o, &name));
            let mut ev: Vec<(Ev, Vec<(&'static str, String)>)> = Vec::new();
            if is_new && first {
                reconstruct(t, &spec, pod, state, rollout_started, &world.events, &name);
                ev.push((Ev::State, vec![("state", state.label(min_ready).to_string())]));
            } else {
                advance(t, &spec, pod, state, at, &mut ev);
            }
            t.state = state;
            t.revision = pod.and_then(pods::revision).map(str::to_string);
            if let Some(r) = &t.revision
                && Some(r) != update.as_ref()
                && t.from_revision.is_none()
            {
                t.from_revision = Some(r.clone());
            }
            t.restarts = pod.map(pods::restarts).unwrap_or(0);
            t.seen.observe(pod, at);
            t.pod_uid = pod.and_then(|p| p.metadata.uid.clone());
            if !matches!(state, OrdinalState::Available | OrdinalState::Held) {
                t.in_rollout = true;
            }
            if state.rank() > t.max_rank {
                t.max_rank = state.rank();
                if !first {
                    self.last_progress = at;
                }
            }
            if let Some(end) = t.new_pod_available_at
                && let Some(b) = t.began_at()
            {
                t.duration_seconds = Some(secs(end, b));
            }
            let cause_changed = stuck.as_ref().map(|s| s.reason) != t.stuck.as_ref().map(|s| s.reason);
            t.stuck = stuck;
            if cause_changed && let Some(s) = &t.stuck {
                ev.push((
                    Ev::Stuck,
                    vec![
                        ("reason", s.reason.to_string()),
                        ("object", s.object.clone()),
                        ("message", s.message.clone()),
                    ],
                ));
            }
            if state == OrdinalState::Available
                && ev.iter().any(|(e, _)| *e == Ev::Available)
                && let Some(d) = t.duration_seconds
            {
                ev.push((Ev::Updated, vec![("duration", format!("{d:.1}s"))]));
            }
            for (event, mut fields) in ev {
                if let Some(r) = &t.revision
                    && !fields.iter().any(|(k, _)| *k == "revision")
                {
                    fields.insert(0, ("revision", r.clone()));
                }
                out.push(TraceEvent {
                    at,
                    object: format!("pod/{}", t.pod),
                    ordinal: Some(o),
                    event,
                    fields,
                });
            }
        }
        if first {
            self.last_progress = at;
        }
        self.observed = true;
        self.max_in_flight = self.max_in_flight.max(self.in_flight().len());

        self.observe_end(at, &mut out);
        self.events.extend(out.clone());
        out
    }

    /// The StatefulSet's side of a snapshot: its spec and status, a new update revision.
    fn observe_spec(
        &mut self,
        at: Timestamp,
        sts: &StatefulSet,
        first: bool,
        out: &mut Vec<TraceEvent>,
    ) -> RolloutSpec {
        let spec = RolloutSpec::of(sts);
        let was_current = self.spec.status_current();
        let old_update = self.spec.update_revision.clone();
        self.spec = spec.clone();
        if spec.status_current() && (!was_current || first) {
            out.push(self.sts_event(
                at,
                Ev::Observed,
                vec![
                    ("generation", spec.generation.to_string()),
                    ("updateRevision", spec.update_revision.clone().unwrap_or_default()),
                    ("currentRevision", spec.current_revision.clone().unwrap_or_default()),
                ],
            ));
        }
        if !first && old_update != spec.update_revision && spec.update_revision.is_some() {
            // A new rollout replaced the one we followed (a further template change):
            // follow the new one from here.
            out.push(self.sts_event(
                at,
                Ev::Revision,
                vec![
                    ("from", old_update.unwrap_or_default()),
                    ("to", spec.update_revision.clone().unwrap_or_default()),
                ],
            ));
            for t in self.ordinals.values_mut() {
                t.reset_timeline();
            }
            self.rollout_started_at = Some(at);
            self.last_progress = at;
            self.done_reported = false;
        }
        if first {
            self.rollout_started_at = spec
                .update_revision
                .as_ref()
                .and_then(|u| self.revision_created.get(u).copied());
        }
        spec
    }

    /// After the ordinals: pods waiting for a manual delete, and done.
    fn observe_end(&mut self, at: Timestamp, out: &mut Vec<TraceEvent>) {
        let manual: Vec<String> = self.waiting_for_manual_delete().iter().map(|t| t.pod.clone()).collect();
        if manual != self.manual_reported {
            if !manual.is_empty() {
                out.push(self.sts_event(at, Ev::WaitingForManualDelete, vec![("pods", manual.join(","))]));
            }
            self.manual_reported = manual;
        }
        if self.done() && !self.done_reported {
            self.done_reported = true;
            out.push(self.sts_event(
                at,
                Ev::Done,
                vec![
                    ("revision", self.spec.update_revision.clone().unwrap_or_default()),
                    ("updated", self.updated().len().to_string()),
                    ("held", self.held().len().to_string()),
                ],
            ));
        }
    }

    /// The rollout is complete (down to the partition).
    /// Explain each replaced ordinal's phases from the Events last seen (the report's
    /// `ordinals[].phases`); `controller_wait` for the ordinal the rollout waits on.
    pub fn explain(&mut self, events: &[&Event], now: Timestamp, detail: crate::model::explain::Detail) {
        let blocking = self.blocking().map(|b| b.ordinal);
        let waiting = self.waiting_for();
        let min_ready = self.spec.min_ready_seconds;
        for t in self.ordinals.values_mut() {
            if !t.in_rollout {
                continue;
            }
            let Some((origin, view)) = t.view() else { continue };
            let cx = crate::model::explain::Context {
                events,
                started_at: origin,
                now,
                min_ready_seconds: min_ready,
                detail,
            };
            let wait = (blocking == Some(t.ordinal) && view.marks.created.is_none()).then(|| waiting.clone());
            t.phases = crate::model::explain::explain_view(&view, &cx, wait);
        }
    }

    pub fn done(&self) -> bool {
        !self.sts_gone
            && self.observed
            && self.spec.status_current()
            && self.spec.update_revision.is_some()
            && (self.spec.first_updated().max(self.spec.start_ordinal)..self.spec.end()).all(|o| {
                self.ordinals
                    .get(&o)
                    .is_some_and(|t| t.state == OrdinalState::Available)
            })
    }

    /// No ordinal progressed for `deadline`.
    pub fn stalled(&self, now: Timestamp, deadline: Duration) -> bool {
        !self.done() && now.duration_since(self.last_progress).as_secs_f64() >= deadline.as_secs_f64()
    }

    /// When the progress deadline runs out.
    pub fn progress_deadline_at(&self, deadline: Duration) -> Timestamp {
        let d = jiff::SignedDuration::try_from(deadline).unwrap_or(jiff::SignedDuration::MAX);
        self.last_progress.checked_add(d).unwrap_or(Timestamp::MAX)
    }

    /// A `Ready` pod becomes Available `minReadySeconds` after its Ready transition:
    /// the moment to look again, since no watch event will say so.
    pub fn next_wakeup(&self, world: &World<'_>) -> Option<Timestamp> {
        if self.spec.min_ready_seconds <= 0 {
            return None;
        }
        world
            .pods
            .iter()
            .filter(|p| pods::is_ready(p) && p.metadata.deletion_timestamp.is_none())
            .filter_map(|p| ready_since(p))
            .map(|t| t + jiff::SignedDuration::from_secs(i64::from(self.spec.min_ready_seconds)))
            .filter(|t| *t > self.last_progress)
            .min()
    }

    /// Under OnDelete: the pods still on an old revision, highest ordinal first.
    pub fn waiting_for_manual_delete(&self) -> Vec<&OrdinalTrace> {
        self.ordinals
            .values()
            .rev()
            .filter(|t| t.state == OrdinalState::WaitingForManualDelete)
            .collect()
    }

    /// Nothing moves unless someone deletes pods by hand.
    pub fn only_manual_deletes_left(&self) -> bool {
        let manual = self.waiting_for_manual_delete();
        !manual.is_empty()
            && self.ordinals.values().all(|t| {
                matches!(
                    t.state,
                    OrdinalState::WaitingForManualDelete | OrdinalState::Available | OrdinalState::Held
                )
            })
    }

    /// Ordinals this rollout updated or is updating, highest first.
    pub fn updated(&self) -> Vec<&OrdinalTrace> {
        self.ordinals.values().rev().filter(|t| t.in_rollout).collect()
    }

    pub fn held(&self) -> Vec<&OrdinalTrace> {
        self.ordinals
            .values()
            .rev()
            .filter(|t| t.state == OrdinalState::Held)
            .collect()
    }

    /// Ordinals with a new pod on its way now (several under maxUnavailable > 1).
    pub fn in_flight(&self) -> Vec<&OrdinalTrace> {
        self.ordinals.values().rev().filter(|t| t.state.in_flight()).collect()
    }

    /// The ordinal holding the rollout up: one with a visible cause first, then the
    /// highest in flight, then (OnDelete) the highest waiting for a manual delete, then
    /// the highest not yet updated.
    pub fn blocking(&self) -> Option<&OrdinalTrace> {
        let pending: Vec<&OrdinalTrace> = self
            .ordinals
            .values()
            .rev()
            .filter(|t| !matches!(t.state, OrdinalState::Available | OrdinalState::Held))
            .collect();
        pending
            .iter()
            .find(|t| t.stuck.is_some())
            .or_else(|| pending.iter().find(|t| t.state.in_flight()))
            .or_else(|| pending.first())
            .copied()
    }

    /// One line on what the rollout waits for.
    pub fn waiting_for(&self) -> String {
        if self.sts_gone {
            return format!("statefulset \"{}\" was deleted", self.name);
        }
        if !self.spec.status_current() {
            return format!(
                "the StatefulSet controller to observe generation {} (observed: {})",
                self.spec.generation,
                self.spec
                    .observed_generation
                    .map(|g| g.to_string())
                    .unwrap_or_else(|| "none".into())
            );
        }
        if self.only_manual_deletes_left() {
            let pods: Vec<&str> = self
                .waiting_for_manual_delete()
                .iter()
                .map(|t| t.pod.as_str())
                .collect();
            return format!(
                "someone to delete {} (updateStrategy OnDelete replaces a pod only when it is deleted)",
                pods.join(", ")
            );
        }
        match self.blocking() {
            Some(t) => {
                let mut s = format!(
                    "{} (ordinal {}) to run {} and be {}, now {}",
                    t.pod,
                    t.ordinal,
                    self.spec.update_revision.as_deref().unwrap_or("the update revision"),
                    if self.spec.min_ready_seconds > 0 {
                        "Available"
                    } else {
                        "Ready"
                    },
                    t.state.label(self.spec.min_ready_seconds)
                );
                if let Some(c) = &t.stuck {
                    s.push_str(&format!(": {}: {}", c.reason, c.message));
                }
                s
            }
            None => "the StatefulSet controller".into(),
        }
    }

    /// The known forced-rollback recovery for a rollout stuck on `t`.
    pub fn forced_rollback_hint(&self, t: &OrdinalTrace) -> String {
        format!(
            "to recover, revert the pod template to the last good revision (e.g. `kubectl rollout undo statefulset/{}`), \
             then delete the stuck pod (`kubectl delete pod {}`): the controller will not replace a pod that never \
             becomes Ready by itself (Kubernetes docs, StatefulSets, \"Forced rollback\")",
            self.name, t.pod
        )
    }

    /// The first and last moments on the timeline.
    pub fn span(&self, end: Timestamp) -> (Timestamp, Timestamp) {
        let first = self
            .ordinals
            .values()
            .filter(|t| t.in_rollout)
            .filter_map(OrdinalTrace::began_at)
            .chain(self.rollout_started_at)
            .min()
            .unwrap_or(self.started_at);
        (first.min(end), end)
    }
}

#[cfg(test)]
mod tests;
