//! Where the time of one pod transition went: the transition split into phases, and
//! the slow or stuck ones explained from what the API shows (pod status, container
//! states, Events, the node), never guessed.
//!
//! A transition is a delete-and-recreate (verify, rollout), a creation (scale up) or a
//! deletion (scale down). Its phases, each bounded by an instant the caller observed
//! on its watch:
//!
//! | phase | from -> to | explained by |
//! | --- | --- | --- |
//! | `terminating` | delete -> old pod gone | grace period used vs configured, exit 137 at the deadline, preStop, node NotReady |
//! | `creating` | gone -> new pod created | the controller (OrderedReady predecessor, partition) |
//! | `scheduling` | created -> bound to a node | `FailedScheduling` (volume node affinity conflicts) |
//! | `volumes` | bound -> image pull (or running) | `FailedAttachVolume`, `Multi-Attach`, `FailedMount` |
//! | `image` | the pull the kubelet timed | `Pulled` "in Xs", `ErrImagePull`, `ImagePullBackOff` |
//! | `readiness` | running -> Ready | probe delays, `Unhealthy`, crash loops, `minReadySeconds` |

mod evidence;
#[cfg(test)]
mod tests;

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Event, Pod};
use serde::Serialize;

pub use evidence::NodeState;

/// A phase of a pod transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum PhaseName {
    Terminating,
    Creating,
    Scheduling,
    Volumes,
    Image,
    Readiness,
}

impl PhaseName {
    pub fn label(self) -> &'static str {
        match self {
            PhaseName::Terminating => "terminating",
            PhaseName::Creating => "creating",
            PhaseName::Scheduling => "scheduling",
            PhaseName::Volumes => "volumes",
            PhaseName::Image => "image",
            PhaseName::Readiness => "readiness",
        }
    }

    /// Over this a phase is slow even with nothing configured that makes it so.
    fn default_budget(self) -> Duration {
        match self {
            PhaseName::Terminating => Duration::from_secs(3),
            _ => Duration::from_secs(2),
        }
    }
}

/// One phase: how long it took (or has taken so far) and, when slow or stuck (or with
/// `--explain=all`), why.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhaseReport {
    pub name: PhaseName,
    /// How long the phase took, or has taken so far when it has not ended.
    pub seconds: f64,
    /// False for the phase the pod is still in.
    pub done: bool,
    /// Over its expected time (the configured grace, probe delays) or the default.
    pub slow: bool,
    /// One sentence: why it took that long. None when there is nothing to say (and not
    /// `--explain=all`).
    pub explanation: Option<String>,
    /// The API facts the explanation rests on (Events, container states, the node).
    pub evidence: Vec<String>,
}

/// When each boundary was observed, as offsets from the transition's start (the
/// delete request, or the scale write).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Marks {
    pub gone: Option<Duration>,
    pub created: Option<Duration>,
    pub scheduled: Option<Duration>,
    pub running: Option<Duration>,
    pub ready: Option<Duration>,
}

/// Everything the explanation of one transition may use.
#[derive(Debug, Clone, Default)]
pub struct Transition<'a> {
    pub marks: Marks,
    /// Time since the start when explaining: the end of an open phase.
    pub elapsed: Duration,
    /// The wall-clock start (to place Events, which carry server timestamps).
    pub started_at: Option<Timestamp>,
    /// Whether an old pod was deleted (verify, rollout, scale down).
    pub deletes: bool,
    /// Whether a new pod is expected (not for scale down).
    pub recreates: bool,
    /// The old pod as first seen terminating (its deadline and grace), and as last seen
    /// (its containers' final states).
    pub old_first: Option<&'a Pod>,
    pub old_last: Option<&'a Pod>,
    /// The replacement (or the created pod), as last seen.
    pub new: Option<&'a Pod>,
    /// Events about the pod's name (any UID).
    pub events: &'a [&'a Event],
    /// The node of the old pod, when it was read (a stuck termination).
    pub old_node: Option<&'a NodeState>,
    /// Why the controller has not created the pod yet, when the caller knows
    /// (OrderedReady waiting on a predecessor, a partition).
    pub controller_wait: Option<String>,
    /// The last lines a crashed container wrote, when read.
    pub crash_log: Option<String>,
    pub min_ready_seconds: i32,
}

/// One transition as a live command's tracker saw it: the boundaries and the pods.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    pub marks: Marks,
    pub deletes: bool,
    pub recreates: bool,
    pub old_first: Option<&'a Pod>,
    pub old_last: Option<&'a Pod>,
    pub new: Option<&'a Pod>,
}

/// What a live command's tracker keeps of one pod name's observations for the
/// explanations: the pod being removed as first seen terminating (its deadline and
/// grace) and as last seen (its containers' final states), the current pod as last
/// seen, and when that pod was first seen bound to a node.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observed {
    pub old_first: Option<Pod>,
    pub old_last: Option<Pod>,
    pub latest: Option<Pod>,
    pub scheduled_at: Option<Timestamp>,
}

impl Observed {
    pub fn observe(&mut self, pod: Option<&Pod>, at: Timestamp) {
        let Some(p) = pod else { return };
        let uid = |o: &Option<Pod>| o.as_ref().and_then(|o| o.metadata.uid.clone());
        if p.metadata.deletion_timestamp.is_some() {
            if uid(&self.old_first) != p.metadata.uid {
                self.old_first = Some(p.clone());
            }
            self.old_last = Some(p.clone());
            return;
        }
        if uid(&self.latest) != p.metadata.uid {
            self.scheduled_at = None;
        }
        if self.scheduled_at.is_none() && crate::model::pods::node(p).is_some_and(|n| !n.is_empty()) {
            self.scheduled_at = Some(at);
        }
        self.latest = Some(p.clone());
    }
}

/// The context a live command adds to a [`View`]: the Events it watched, the clock.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub events: &'a [&'a Event],
    pub started_at: Timestamp,
    pub now: Timestamp,
    pub min_ready_seconds: i32,
    pub detail: Detail,
}

/// [`explain`] for a tracker's view of one ordinal, with why the controller has not
/// created the pod yet when the caller knows.
pub fn explain_view(v: &View, cx: &Context, controller_wait: Option<String>) -> Vec<PhaseReport> {
    let t = Transition {
        marks: v.marks,
        elapsed: cx.now.duration_since(cx.started_at).unsigned_abs(),
        started_at: Some(cx.started_at),
        deletes: v.deletes,
        recreates: v.recreates,
        old_first: v.old_first,
        old_last: v.old_last,
        new: v.new,
        events: cx.events,
        old_node: None,
        controller_wait,
        crash_log: None,
        min_ready_seconds: cx.min_ready_seconds,
    };
    explain(&t, cx.detail)
}

/// How much to say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Detail {
    /// Explain slow and stuck phases only.
    #[default]
    Slow,
    /// Explain every phase (`--explain=all`).
    All,
}

/// The transition's phases in order, up to and including the one it is still in.
pub fn explain(t: &Transition, detail: Detail) -> Vec<PhaseReport> {
    let mut out = Vec::new();
    for (name, start, end) in spans(t) {
        let done = end.is_some();
        let seconds = end.unwrap_or(t.elapsed).saturating_sub(start);
        let found = evidence::find(name, t, seconds, done);
        let slow = found.anomaly || seconds > found.budget.unwrap_or(name.default_budget());
        let say = slow || !done || detail == Detail::All;
        out.push(PhaseReport {
            name,
            seconds: round_ms(seconds),
            done,
            slow,
            explanation: found.explanation.filter(|_| say),
            evidence: if say { found.evidence } else { Vec::new() },
        });
        if !done {
            break;
        }
    }
    out
}

/// One line for a table: the slow or stuck phases with their cause, e.g.
/// `terminating 8.1s: container nginx ignored SIGTERM ...`.
pub fn causes(phases: &[PhaseReport]) -> Vec<String> {
    phases
        .iter()
        .filter_map(|p| {
            let why = p.explanation.as_deref()?;
            let state = if p.done { "" } else { " so far" };
            Some(format!("{} {:.1}s{state}: {why}", p.name.label(), p.seconds))
        })
        .collect()
}

/// (phase, start, end) for every phase whose start was observed; the image phase is
/// cut out of the time between scheduling and running.
fn spans(t: &Transition) -> Vec<(PhaseName, Duration, Option<Duration>)> {
    let m = t.marks;
    let mut out = Vec::new();
    let mut start = Duration::ZERO;
    if t.deletes {
        out.push((PhaseName::Terminating, start, m.gone));
        match m.gone {
            Some(g) => start = g,
            None => return out,
        }
        if !t.recreates {
            return out;
        }
    }
    out.push((PhaseName::Creating, start, m.created));
    let Some(created) = m.created else { return out };
    out.push((PhaseName::Scheduling, created, m.scheduled));
    let Some(scheduled) = m.scheduled else { return out };
    let pull = evidence::pull(t);
    let end = m.running.unwrap_or(t.elapsed);
    let image_at = match pull {
        // The pull took this long by the kubelet's own count and ended by `running`.
        evidence::Pull::Took(d) => Some(end.saturating_sub(d).max(scheduled)),
        evidence::Pull::Pulling(since) => Some(since.clamp(scheduled, end)),
        evidence::Pull::None => None,
    };
    match image_at {
        Some(at) => {
            out.push((PhaseName::Volumes, scheduled, Some(at)));
            out.push((PhaseName::Image, at, m.running));
        }
        None => out.push((PhaseName::Volumes, scheduled, m.running)),
    }
    let Some(running) = m.running else { return out };
    out.push((PhaseName::Readiness, running, m.ready));
    out
}

pub(crate) fn round_ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}

/// Seconds between two API timestamps (may be negative).
fn secs_between(a: Timestamp, b: Timestamp) -> f64 {
    (b.as_millisecond() - a.as_millisecond()) as f64 / 1000.0
}
