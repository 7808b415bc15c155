//! Progress of a StatefulSet towards a replica count, per ordinal: pure, no I/O.
//!
//! [`plan`] decides what a scale will do before it is made (ordinals added and removed,
//! PVCs reused or left behind, whether data will be deleted). [`Progress`] then takes
//! successive snapshots of the StatefulSet, its pods, its PVCs and their Events (a
//! [`World`], fed by `crate::watch`) with the time each was observed, and keeps the
//! per-ordinal history: when each pod was created, became Ready/Available, started
//! terminating and was gone; what happened to each PVC; departures from the order
//! the controller promises; why an ordinal is stuck. Rollout tracing reuses
//! [`World`], [`pod_state`] and [`stuck_cause`].
//!
//! Kubernetes semantics (pkg/controller/statefulset/stateful_set_control.go,
//! `updateStatefulSet`): under `OrderedReady` the controller creates ordinals low to
//! high, each only once every lower ordinal is Running and Ready, and removes them
//! high to low, one at a time, waiting for each to be gone; under `Parallel` it does
//! neither. With `persistentVolumeClaimRetentionPolicy.whenScaled: Delete` the
//! controller makes a condemned pod the owner of its PVCs
//! (`updateClaimOwnerRefForSetAndPod` in stateful_set_utils.go), so the garbage
//! collector deletes them once the pod is gone; with `Retain` they stay and the next
//! scale-out binds the new pod to the same claim, hence the same volume.

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ContainerStatus, Event, PersistentVolumeClaim, Pod};
use serde::Serialize;

use super::ordinals::{OrdinalRange, claim_name, pod_name, pod_ordinal};
use super::pods;
use super::statefulset::Facts;

/// What is known at one instant: the StatefulSet (None once deleted), the pods its
/// selector matches, the namespace's PVCs (any; only exact claim names are used) and
/// Events about them.
#[derive(Debug, Default, Clone)]
pub struct World<'a> {
    pub sts: Option<&'a StatefulSet>,
    pub pods: Vec<&'a Pod>,
    pub pvcs: Vec<&'a PersistentVolumeClaim>,
    pub events: Vec<&'a Event>,
}

// ---------------------------------------------------------------------------------
// Plan
// ---------------------------------------------------------------------------------

/// What a scale from the current replicas to `to` will do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub from: i32,
    pub to: i32,
    pub start_ordinal: i32,
    pub pod_management_policy: String,
    pub when_scaled: String,
    /// Ordinals that will get a pod, in the order the controller creates them.
    pub adding: Vec<i32>,
    /// Ordinals whose pod will be removed, in the order the controller removes them.
    pub removing: Vec<i32>,
    /// Existing PVCs (kept by an earlier scale-in) that the new ordinals will use again.
    pub reusing: Vec<ClaimRef>,
    /// PVCs of the removed ordinals, and whether Kubernetes will delete them.
    pub left_behind: Vec<LeftBehind>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimRef {
    pub ordinal: i32,
    pub name: String,
    pub volume: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LeftBehind {
    pub ordinal: i32,
    pub name: String,
    pub volume: Option<String>,
    /// True with `whenScaled: Delete`: the garbage collector deletes the PVC (and,
    /// with a `Delete` reclaim policy, its volume and data) once the pod is gone.
    pub will_be_deleted: bool,
}

fn claim_volume(c: &PersistentVolumeClaim) -> Option<String> {
    c.spec.as_ref()?.volume_name.clone().filter(|v| !v.is_empty())
}

fn claim_phase(c: &PersistentVolumeClaim) -> String {
    c.status
        .as_ref()
        .and_then(|s| s.phase.clone())
        .unwrap_or_else(|| "Pending".into())
}

/// Decide what scaling `f` to `to` replicas does, given the namespace's PVCs.
pub fn plan(f: &Facts, to: i32, pvcs: &[&PersistentVolumeClaim]) -> Plan {
    let by_name: BTreeMap<&str, &PersistentVolumeClaim> = pvcs
        .iter()
        .filter_map(|c| Some((c.metadata.name.as_deref()?, *c)))
        .collect();
    let old = OrdinalRange::new(f.start_ordinal, f.replicas);
    let new = OrdinalRange::new(f.start_ordinal, to);
    let adding: Vec<i32> = new.range().filter(|o| !old.contains(*o)).collect();
    let removing: Vec<i32> = old.range().rev().filter(|o| !new.contains(*o)).collect();
    let delete = f.retention.when_scaled == "Delete";
    let claims_of = |ords: &[i32]| -> Vec<(i32, String, &PersistentVolumeClaim)> {
        ords.iter()
            .flat_map(|o| f.claim_templates.iter().map(move |t| (*o, claim_name(t, &f.name, *o))))
            .filter_map(|(o, n)| by_name.get(n.as_str()).map(|c| (o, n, *c)))
            .filter(|(_, _, c)| c.metadata.deletion_timestamp.is_none())
            .collect()
    };
    Plan {
        from: f.replicas,
        to,
        start_ordinal: f.start_ordinal,
        pod_management_policy: f.pod_management_policy.clone(),
        when_scaled: f.retention.when_scaled.clone(),
        reusing: claims_of(&adding)
            .into_iter()
            .map(|(ordinal, name, c)| ClaimRef {
                ordinal,
                name,
                volume: claim_volume(c),
            })
            .collect(),
        left_behind: claims_of(&removing)
            .into_iter()
            .map(|(ordinal, name, c)| LeftBehind {
                ordinal,
                name,
                volume: claim_volume(c),
                will_be_deleted: delete,
            })
            .collect(),
        adding,
        removing,
    }
}

impl Plan {
    /// The action to confirm, when the scale deletes data (scale-in under
    /// `whenScaled: Delete`) or stops every pod (scale to 0). None: no confirmation.
    pub fn confirmation(&self, sts: &str, ns: &str, context: &str) -> Option<String> {
        let deleted: Vec<&str> = self
            .left_behind
            .iter()
            .filter(|l| l.will_be_deleted)
            .map(|l| l.name.as_str())
            .collect();
        let scope = format!("statefulset \"{sts}\" in namespace \"{ns}\" (context \"{context}\")");
        if !deleted.is_empty() {
            return Some(format!(
                "scale {scope} from {} to {} and DELETE PVCs {} with their data (whenScaled: Delete)",
                self.from,
                self.to,
                deleted.join(", ")
            ));
        }
        if self.to == 0 && self.from > 0 && !self.removing.is_empty() {
            return Some(format!(
                "scale {scope} from {} to 0, stopping every pod (PVCs are kept: whenScaled: {})",
                self.from, self.when_scaled
            ));
        }
        None
    }
}

// ---------------------------------------------------------------------------------
// Per-ordinal state
// ---------------------------------------------------------------------------------

/// Why an ordinal is in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Role {
    /// In the range before and after the scale.
    Unchanged,
    /// In the target range only: its pod is being created.
    Adding,
    /// Outside the target range: its pod is being removed.
    Removing,
}

/// Where one ordinal's pod is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum PodState {
    /// No pod (not created yet, or gone).
    Absent,
    /// Created, not running yet (scheduling, pulling, creating containers).
    Pending,
    /// Running, not Ready.
    Running,
    /// Ready (with `minReadySeconds` > 0: not yet Available).
    Ready,
    /// Ready for at least `minReadySeconds`.
    Available,
    /// Deletion requested; going away.
    Terminating,
}

impl PodState {
    pub fn as_str(self) -> &'static str {
        match self {
            PodState::Absent => "Absent",
            PodState::Pending => "Pending",
            PodState::Running => "Running",
            PodState::Ready => "Ready",
            PodState::Available => "Available",
            PodState::Terminating => "Terminating",
        }
    }
}

/// The state of `pod` as the StatefulSet controller counts it.
pub fn pod_state(pod: Option<&Pod>, min_ready_seconds: i32, now: Timestamp) -> PodState {
    let Some(p) = pod else { return PodState::Absent };
    if p.metadata.deletion_timestamp.is_some() {
        PodState::Terminating
    } else if pods::is_ready(p) {
        if min_ready_seconds > 0 && pods::is_available(p, min_ready_seconds, now) {
            PodState::Available
        } else {
            PodState::Ready
        }
    } else if p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running") {
        PodState::Running
    } else {
        PodState::Pending
    }
}

/// What happened to one PVC of an ordinal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ClaimState {
    /// Not created yet (the controller creates it with the pod).
    Waiting,
    /// Created during this scale.
    New,
    /// Existed before and belongs to an ordinal that stays.
    Bound,
    /// Existed before the scale (kept by an earlier scale-in) and bound to the same PV as before.
    Reused,
    /// Existed before the scale but is now bound to a different PV than before: the data may differ.
    ReusedOtherVolume,
    /// Of a removed ordinal, kept by `whenScaled: Retain` for the next scale-out.
    Kept,
    /// Of a removed ordinal, being deleted by `whenScaled: Delete`.
    Deleting,
    /// Deleted (by the retention policy, or by someone).
    Deleted,
    /// An ordinal that stays has no such PVC.
    Missing,
}

impl ClaimState {
    pub fn label(self) -> &'static str {
        match self {
            ClaimState::Waiting => "-",
            ClaimState::New => "new",
            ClaimState::Bound => "bound",
            ClaimState::Reused => "reused",
            ClaimState::ReusedOtherVolume => "reused(other PV!)",
            ClaimState::Kept => "kept",
            ClaimState::Deleting => "deleting",
            ClaimState::Deleted => "deleted",
            ClaimState::Missing => "missing",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimRow {
    pub template: String,
    pub name: String,
    pub state: ClaimState,
    /// `Pending`, `Bound`, `Lost`; None when the PVC does not exist.
    pub phase: Option<String>,
    pub volume: Option<String>,
    /// The PV the claim was bound to before the scale, when it existed then.
    pub previous_volume: Option<String>,
}

impl ClaimRow {
    /// `new`, `reused`, `new:Pending` ...: the state, with the phase when not Bound.
    pub fn label(&self) -> String {
        match self.phase.as_deref() {
            Some(p) if p != "Bound" && !matches!(self.state, ClaimState::Deleting | ClaimState::Kept) => {
                format!("{}:{p}", self.state.label())
            }
            _ => self.state.label().to_string(),
        }
    }
}

/// Why an ordinal does not progress, from pod conditions, container statuses and Events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stuck {
    /// `Unschedulable`, `PVCPending`, `ErrImagePull`, `ImagePullBackOff`,
    /// `CrashLoopBackOff`, `ReadinessProbeFailing` or `ContainerWaiting`.
    pub reason: &'static str,
    /// One line: the condition, container status or Event message.
    pub message: String,
    /// `pod/<name>` or `pvc/<name>`: the object the cause is about.
    pub object: String,
    /// A failure that will not resolve by waiting (see [`stuck_cause`]).
    pub clear: bool,
}

/// The newest Event about the object with `uid` whose reason is one of `reasons`.
fn newest_event<'a>(events: &[&'a Event], uid: Option<&str>, reasons: &[&str]) -> Option<&'a Event> {
    let uid = uid?;
    events
        .iter()
        .copied()
        .filter(|e| e.involved_object.uid.as_deref() == Some(uid))
        .filter(|e| e.reason.as_deref().is_some_and(|r| reasons.contains(&r)))
        .max_by_key(|e| event_time(e))
}

/// When an Event last happened: lastTimestamp, eventTime, series, firstTimestamp, creation.
pub fn event_time(e: &Event) -> Option<Timestamp> {
    e.last_timestamp
        .as_ref()
        .map(|t| t.0)
        .or_else(|| {
            e.series
                .as_ref()
                .and_then(|s| s.last_observed_time.as_ref())
                .map(|t| t.0)
        })
        .or_else(|| e.event_time.as_ref().map(|t| t.0))
        .or_else(|| e.first_timestamp.as_ref().map(|t| t.0))
        .or_else(|| e.metadata.creation_timestamp.as_ref().map(|t| t.0))
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Why the pod of an ordinal (with its claims) does not progress, if it visibly does not.
///
/// "Clear" failures, which end a wait with exit 1 instead of waiting for `--timeout`,
/// are those that do not resolve without someone changing something:
/// - a PVC whose StorageClass does not exist (`ProvisioningFailed ... not found`);
/// - `ImagePullBackOff` / `InvalidImageName` / `ErrImageNeverPull` (the kubelet already
///   failed to pull and is backing off; a first `ErrImagePull` may be a registry hiccup);
/// - `CrashLoopBackOff` after at least 2 restarts.
///
/// Unschedulable pods (capacity may free up or be added), PVCs pending without such an
/// event (a slow provisioner), readiness probes failing (the application may be
/// warming up) and other waiting reasons are reported but waited for.
pub fn stuck_cause(pod: Option<&Pod>, claims: &[&PersistentVolumeClaim], events: &[&Event]) -> Option<Stuck> {
    // A PVC that cannot be provisioned blocks everything else.
    for c in claims {
        if claim_phase(c) != "Pending" {
            continue;
        }
        let name = c.metadata.name.clone().unwrap_or_default();
        if let Some(e) = newest_event(
            events,
            c.metadata.uid.as_deref(),
            &["ProvisioningFailed", "FailedBinding", "ExternalProvisioning"],
        ) {
            let msg = one_line(e.message.as_deref().unwrap_or(""));
            let clear = e.reason.as_deref() == Some("ProvisioningFailed")
                && msg.contains("storageclass")
                && msg.contains("not found");
            return Some(Stuck {
                reason: "PVCPending",
                message: format!("PVC {name} is Pending: {msg}"),
                object: format!("pvc/{name}"),
                clear,
            });
        }
    }
    let p = pod?;
    if p.metadata.deletion_timestamp.is_some() {
        return None;
    }
    let pod_ref = format!("pod/{}", p.metadata.name.as_deref().unwrap_or(""));
    let status = p.status.as_ref();
    let conditions = status.and_then(|s| s.conditions.as_deref()).unwrap_or_default();
    if let Some(c) = conditions
        .iter()
        .find(|c| c.type_ == "PodScheduled" && c.status == "False" && c.reason.as_deref() == Some("Unschedulable"))
    {
        let msg = one_line(c.message.as_deref().unwrap_or(""));
        // Every new ordinal passes through this while its fresh PVC binds (the
        // scheduler reports the unbound claim, watch-events.jsonl): that is progress,
        // not a cause. A claim that really cannot bind carries a warning Event (above);
        // without one, the timeout message names the Pending claim.
        // The condition can also lag behind the claim's binding (or our PVC watch lag
        // behind the scheduler), so an unbound-claim message is never a cause by itself.
        if msg.contains("unbound immediate PersistentVolumeClaims") || msg.contains("PersistentVolumeClaim") {
            return None;
        }
        return Some(Stuck {
            reason: "Unschedulable",
            message: msg,
            object: pod_ref,
            clear: false,
        });
    }
    let inits = status
        .and_then(|s| s.init_container_statuses.as_deref())
        .unwrap_or_default();
    let containers = status.and_then(|s| s.container_statuses.as_deref()).unwrap_or_default();
    for c in inits.iter().chain(containers) {
        if let Some(s) = container_stuck(c, &pod_ref) {
            return Some(s);
        }
    }
    let running = status.and_then(|s| s.phase.as_deref()) == Some("Running");
    if running && !pods::is_ready(p) {
        let started = containers
            .iter()
            .all(|c| c.state.as_ref().is_some_and(|s| s.running.is_some()));
        if started && let Some(e) = newest_event(events, p.metadata.uid.as_deref(), &["Unhealthy"]) {
            let msg = one_line(e.message.as_deref().unwrap_or(""));
            if msg.starts_with("Readiness probe") {
                let times = e
                    .count
                    .filter(|n| *n > 1)
                    .map(|n| format!(" ({n} times)"))
                    .unwrap_or_default();
                return Some(Stuck {
                    reason: "ReadinessProbeFailing",
                    message: format!("{msg}{times}"),
                    object: pod_ref,
                    clear: false,
                });
            }
        }
    }
    None
}

fn container_stuck(c: &ContainerStatus, pod_ref: &str) -> Option<Stuck> {
    let state = c.state.as_ref()?;
    let last_exit = || {
        let t = c.last_state.as_ref().and_then(|s| s.terminated.as_ref())?;
        Some(format!(
            "last termination: {} (exit code {})",
            t.reason.as_deref().unwrap_or("Error"),
            t.exit_code
        ))
    };
    if let Some(w) = &state.waiting {
        let reason = w.reason.as_deref().unwrap_or("");
        let msg = one_line(w.message.as_deref().unwrap_or(""));
        let with = |text: String| if msg.is_empty() { text } else { format!("{text}: {msg}") };
        return match reason {
            "ErrImagePull" | "ImagePullBackOff" | "InvalidImageName" | "ErrImageNeverPull" => Some(Stuck {
                reason: if reason == "ErrImagePull" {
                    "ErrImagePull"
                } else {
                    "ImagePullBackOff"
                },
                message: with(format!("container {} {reason}", c.name)),
                object: pod_ref.to_string(),
                clear: reason != "ErrImagePull",
            }),
            "CrashLoopBackOff" => Some(Stuck {
                reason: "CrashLoopBackOff",
                message: format!(
                    "container {} CrashLoopBackOff, {} restarts{}",
                    c.name,
                    c.restart_count,
                    last_exit().map(|l| format!(", {l}")).unwrap_or_default()
                ),
                object: pod_ref.to_string(),
                clear: c.restart_count >= 2,
            }),
            "" | "ContainerCreating" | "PodInitializing" => None,
            other => Some(Stuck {
                reason: "ContainerWaiting",
                message: with(format!("container {} {other}", c.name)),
                object: pod_ref.to_string(),
                clear: false,
            }),
        };
    }
    // Between two crashes the container shows terminated (pod-failure-crash-0.json).
    if let Some(t) = &state.terminated
        && t.exit_code != 0
        && c.restart_count > 0
    {
        return Some(Stuck {
            reason: "CrashLoopBackOff",
            message: format!(
                "container {} exited with {} (exit code {}), {} restarts",
                c.name,
                t.reason.as_deref().unwrap_or("Error"),
                t.exit_code,
                c.restart_count
            ),
            object: pod_ref.to_string(),
            clear: c.restart_count >= 2,
        });
    }
    None
}

/// One ordinal as shown in the live view and the final report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrdinalRow {
    pub ordinal: i32,
    pub pod: String,
    pub role: Role,
    pub state: PodState,
    /// kubectl's STATUS column, `<none>` without a pod.
    pub status: String,
    /// `ready/total` containers.
    pub ready: String,
    pub restarts: i32,
    pub claims: Vec<ClaimRow>,
    pub stuck: Option<Stuck>,
    /// Reached its goal: Ready (Available with minReadySeconds) in range, gone outside.
    pub done: bool,
}

// ---------------------------------------------------------------------------------
// Progress over time
// ---------------------------------------------------------------------------------

/// One thing that happened, for the line-oriented live output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub at: Timestamp,
    /// `pod`, `pvc`, `statefulset`.
    pub kind: &'static str,
    pub name: String,
    /// `created`, `running`, `ready`, `available`, `not-ready`, `terminating`, `deleted`,
    /// `bound`, `stuck`, `order-violation`, `observed`, `replicas-changed`.
    pub event: &'static str,
    pub fields: Vec<(&'static str, String)>,
}

/// A departure from the order `OrderedReady` promises.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Violation {
    pub ordinal: i32,
    pub at: String,
    pub message: String,
}

#[derive(Debug, Clone, Default)]
struct ClaimTrack {
    existed: bool,
    phase: Option<String>,
    created_at: Option<Timestamp>,
    bound_at: Option<Timestamp>,
    deleted_at: Option<Timestamp>,
}

#[derive(Debug, Clone)]
struct Track {
    state: PodState,
    uid: Option<String>,
    created_at: Option<Timestamp>,
    ready_at: Option<Timestamp>,
    available_at: Option<Timestamp>,
    terminating_at: Option<Timestamp>,
    gone_at: Option<Timestamp>,
    stuck: Option<(String, String)>,
    claims: BTreeMap<String, ClaimTrack>,
}

/// How one scale is going; fed snapshots by [`Progress::observe`].
#[derive(Debug, Clone)]
pub struct Progress {
    pub name: String,
    pub namespace: String,
    pub from: i32,
    pub to: i32,
    pub start: i32,
    pub ordered: bool,
    pub min_ready_seconds: i32,
    pub templates: Vec<String>,
    pub when_scaled: String,
    pub started_at: Timestamp,
    /// PVC name -> volume, for every PVC of this StatefulSet's ordinals before the scale.
    baseline: BTreeMap<String, Option<String>>,
    tracks: BTreeMap<i32, Track>,
    pub violations: Vec<Violation>,
    seen_target_spec: bool,
    generation_ok: bool,
    /// Someone else set `spec.replicas` to this while we waited.
    pub superseded: Option<i32>,
    /// The StatefulSet was deleted while we waited.
    pub sts_gone: bool,
    rows: Vec<OrdinalRow>,
}

impl Progress {
    /// Start tracking a scale of `f` (the StatefulSet before the scale) to `to`,
    /// with `world` the state just before the scale request.
    pub fn new(f: &Facts, to: i32, world: &World<'_>, started_at: Timestamp) -> Progress {
        let mut baseline = BTreeMap::new();
        for c in &world.pvcs {
            let Some(n) = c.metadata.name.as_deref() else { continue };
            if f.claim_templates
                .iter()
                .any(|t| super::ordinals::claim_ordinal(t, &f.name, n).is_some())
            {
                baseline.insert(n.to_string(), claim_volume(c));
            }
        }
        let mut p = Progress {
            name: f.name.clone(),
            namespace: f.namespace.clone(),
            from: f.replicas,
            to,
            start: f.start_ordinal,
            ordered: f.pod_management_policy != "Parallel",
            min_ready_seconds: f.min_ready_seconds,
            templates: f.claim_templates.clone(),
            when_scaled: f.retention.when_scaled.clone(),
            started_at,
            baseline,
            tracks: BTreeMap::new(),
            violations: Vec::new(),
            seen_target_spec: false,
            generation_ok: false,
            superseded: None,
            sts_gone: false,
            rows: Vec::new(),
        };
        // Seed the history silently: what exists before the scale is not news.
        p.observe(started_at, world);
        p.violations.clear();
        p
    }

    fn target(&self) -> OrdinalRange {
        OrdinalRange::new(self.start, self.to)
    }

    fn old(&self) -> OrdinalRange {
        OrdinalRange::new(self.start, self.from)
    }

    fn role(&self, o: i32) -> Role {
        match (self.old().contains(o), self.target().contains(o)) {
            (true, true) => Role::Unchanged,
            (_, true) => Role::Adding,
            _ => Role::Removing,
        }
    }

    /// The rows as of the last observation.
    pub fn rows(&self) -> &[OrdinalRow] {
        &self.rows
    }

    /// Take a snapshot observed at `at`; returns what changed since the last one.
    pub fn observe(&mut self, at: Timestamp, world: &World<'_>) -> Vec<Transition> {
        let mut out = Vec::new();
        match world.sts {
            None => self.sts_gone = true,
            Some(sts) => {
                let f = Facts::of(sts);
                if f.replicas == self.to {
                    self.seen_target_spec = true;
                } else if self.seen_target_spec && self.superseded != Some(f.replicas) {
                    self.superseded = Some(f.replicas);
                    out.push(Transition {
                        at,
                        kind: "statefulset",
                        name: self.name.clone(),
                        event: "replicas-changed",
                        fields: vec![("replicas", f.replicas.to_string()), ("expected", self.to.to_string())],
                    });
                }
                let ok = self.seen_target_spec && f.status_is_current();
                if ok && !self.generation_ok {
                    out.push(Transition {
                        at,
                        kind: "statefulset",
                        name: self.name.clone(),
                        event: "observed",
                        fields: vec![
                            ("generation", f.generation.to_string()),
                            ("replicas", f.status_replicas.to_string()),
                            ("ready", f.ready_replicas.to_string()),
                        ],
                    });
                }
                self.generation_ok = ok;
            }
        }
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
        let mut ordinals: Vec<i32> = self.target().range().chain(self.old().range()).collect();
        ordinals.extend(pods_by.keys().copied());
        ordinals.extend(self.tracks.keys().copied());
        ordinals.sort_unstable();
        ordinals.dedup();
        let mut rows = Vec::with_capacity(ordinals.len());
        for o in ordinals {
            let role = self.role(o);
            let pod = pods_by.get(&o).copied();
            // A stray pod that never was in either range and is gone is not worth a row.
            if pod.is_none() && role == Role::Removing && !self.old().contains(o) && !self.tracks.contains_key(&o) {
                continue;
            }
            let claims: Vec<(String, String, Option<&PersistentVolumeClaim>)> = self
                .templates
                .iter()
                .map(|t| {
                    let n = claim_name(t, &self.name, o);
                    let c = pvcs_by.get(n.as_str()).copied();
                    (t.clone(), n, c)
                })
                .collect();
            let present: Vec<&PersistentVolumeClaim> = claims.iter().filter_map(|(_, _, c)| *c).collect();
            let state = pod_state(pod, self.min_ready_seconds, at);
            let stuck = if role == Role::Removing {
                None
            } else {
                stuck_cause(pod, &present, &world.events)
            };
            let done = match role {
                Role::Removing => state == PodState::Absent,
                _ if self.min_ready_seconds > 0 => state == PodState::Available,
                _ => matches!(state, PodState::Ready | PodState::Available),
            };
            let claim_rows: Vec<ClaimRow> = claims
                .iter()
                .map(|(t, n, c)| self.claim_row(role, t, n, *c, pod.is_some()))
                .collect();
            let (ready_n, total) = pod.map(pods::ready_containers).unwrap_or((0, 0));
            let row = OrdinalRow {
                ordinal: o,
                pod: pod_name(&self.name, o),
                role,
                state,
                status: pod.map(pods::status_reason).unwrap_or_else(|| "<none>".into()),
                ready: format!("{ready_n}/{total}"),
                restarts: pod.map(pods::restarts).unwrap_or(0),
                claims: claim_rows,
                stuck,
                done,
            };
            self.track(at, &row, pod, &claims, &pods_by, &mut out);
            rows.push(row);
        }
        self.rows = rows;
        out
    }

    fn claim_row(
        &self,
        role: Role,
        template: &str,
        name: &str,
        c: Option<&PersistentVolumeClaim>,
        pod_exists: bool,
    ) -> ClaimRow {
        let before = self.baseline.get(name);
        let previous_volume = before.cloned().flatten();
        let volume = c.and_then(claim_volume);
        let state = match (role, c) {
            (Role::Removing, Some(c)) => {
                if c.metadata.deletion_timestamp.is_some() || self.when_scaled == "Delete" {
                    ClaimState::Deleting
                } else {
                    ClaimState::Kept
                }
            }
            (Role::Removing, None) if before.is_some() => ClaimState::Deleted,
            (Role::Removing, None) => ClaimState::Waiting,
            (_, None) if before.is_some() => ClaimState::Deleted,
            (Role::Adding, None) => ClaimState::Waiting,
            (Role::Unchanged, None) => {
                if pod_exists {
                    ClaimState::Missing
                } else {
                    ClaimState::Waiting
                }
            }
            (_, Some(_)) if before.is_none() => ClaimState::New,
            (Role::Unchanged, Some(_)) => ClaimState::Bound,
            (Role::Adding, Some(_)) => match (&previous_volume, &volume) {
                (Some(a), Some(b)) if a != b => ClaimState::ReusedOtherVolume,
                _ => ClaimState::Reused,
            },
        };
        ClaimRow {
            template: template.to_string(),
            name: name.to_string(),
            state,
            phase: c.map(claim_phase),
            volume,
            previous_volume,
        }
    }

    fn track(
        &mut self,
        at: Timestamp,
        row: &OrdinalRow,
        pod: Option<&Pod>,
        claims: &[(String, String, Option<&PersistentVolumeClaim>)],
        pods_by: &BTreeMap<i32, &Pod>,
        out: &mut Vec<Transition>,
    ) {
        let o = row.ordinal;
        let ordered = self.ordered;
        let target = self.target();
        let mrs = self.min_ready_seconds;
        let name = row.pod.clone();
        // Order checks look at the other ordinals as they are now.
        let lower_not_ready: Vec<i32> = if ordered && row.role != Role::Removing {
            target
                .range()
                .filter(|j| *j < o)
                .filter(|j| {
                    !pods_by
                        .get(j)
                        .is_some_and(|p| p.metadata.deletion_timestamp.is_none() && pods::is_ready(p))
                })
                .collect()
        } else {
            Vec::new()
        };
        let higher_present: Vec<i32> = if ordered && row.role == Role::Removing {
            pods_by
                .keys()
                .copied()
                .filter(|j| *j > o && !target.contains(*j))
                .collect()
        } else {
            Vec::new()
        };
        let new_track = || Track {
            state: PodState::Absent,
            uid: None,
            created_at: None,
            ready_at: None,
            available_at: None,
            terminating_at: None,
            gone_at: None,
            stuck: None,
            claims: BTreeMap::new(),
        };
        let t = self.tracks.entry(o).or_insert_with(new_track);
        let uid = pod.and_then(|p| p.metadata.uid.clone());
        let mut events: Vec<(&'static str, Vec<(&'static str, String)>)> = Vec::new();
        let prev = t.state;
        let recreated = prev != PodState::Absent && uid.is_some() && t.uid.is_some() && uid != t.uid;
        if recreated {
            events.push(("deleted", vec![("uid", t.uid.clone().unwrap_or_default())]));
            t.gone_at = Some(at);
        }
        let now = row.state;
        if (prev == PodState::Absent || recreated) && now != PodState::Absent {
            t.created_at = Some(at);
            t.ready_at = None;
            t.available_at = None;
            t.terminating_at = None;
            t.gone_at = None;
            let mut f = vec![("ordinal", o.to_string()), ("status", row.status.clone())];
            if let Some(u) = &uid {
                f.push(("uid", u.clone()));
            }
            events.push(("created", f));
            if !lower_not_ready.is_empty() && row.role == Role::Adding {
                let msg = format!(
                    "{name} was created while {} not Running and Ready (OrderedReady creates low to high)",
                    list_pods(&self.name, &lower_not_ready)
                );
                self.violations.push(Violation {
                    ordinal: o,
                    at: at.to_string(),
                    message: msg.clone(),
                });
                events.push(("order-violation", vec![("message", msg)]));
            }
        }
        if now != prev || recreated {
            match now {
                PodState::Running if prev < PodState::Running || recreated => {
                    events.push(("running", vec![("status", row.status.clone())]))
                }
                PodState::Running => events.push(("not-ready", vec![("status", row.status.clone())])),
                PodState::Ready | PodState::Available if t.ready_at.is_none() || prev < PodState::Ready => {
                    t.ready_at = Some(at);
                    let mut f = vec![("ready", row.ready.clone())];
                    if let Some(c) = t.created_at {
                        f.push(("after", secs(c, at)));
                    }
                    events.push(("ready", f));
                    if now == PodState::Available {
                        t.available_at = Some(at);
                    }
                }
                _ => {}
            }
            if now == PodState::Available && prev != PodState::Available && t.available_at.is_none() {
                t.available_at = Some(at);
            }
            if now == PodState::Available && mrs > 0 && prev != PodState::Available {
                events.push(("available", vec![("minReadySeconds", mrs.to_string())]));
            }
            if now == PodState::Terminating {
                t.terminating_at = Some(at);
                events.push(("terminating", vec![("ordinal", o.to_string())]));
                if !higher_present.is_empty() {
                    let msg = format!(
                        "{name} began terminating while {} still existed (OrderedReady removes high to low)",
                        list_pods(&self.name, &higher_present)
                    );
                    self.violations.push(Violation {
                        ordinal: o,
                        at: at.to_string(),
                        message: msg.clone(),
                    });
                    events.push(("order-violation", vec![("message", msg)]));
                }
            }
            if now == PodState::Absent && prev != PodState::Absent && !recreated {
                t.gone_at = Some(at);
                let mut f = vec![("ordinal", o.to_string())];
                if let Some(s) = t.terminating_at {
                    f.push(("after", secs(s, at)));
                }
                events.push(("deleted", f));
            }
        }
        t.state = now;
        if uid.is_some() {
            t.uid = uid;
        }
        let stuck_key = row.stuck.as_ref().map(|s| (s.reason.to_string(), s.message.clone()));
        if stuck_key != t.stuck {
            if let Some(s) = &row.stuck {
                events.push((
                    "stuck",
                    vec![
                        ("reason", s.reason.to_string()),
                        ("object", s.object.clone()),
                        ("message", s.message.clone()),
                    ],
                ));
            }
            t.stuck = stuck_key;
        }
        for e in events {
            out.push(Transition {
                at,
                kind: "pod",
                name: name.clone(),
                event: e.0,
                fields: e.1,
            });
        }
        for ((_, cname, c), crow) in claims.iter().zip(&row.claims) {
            let ct = t.claims.entry(cname.clone()).or_default();
            let phase = c.map(claim_phase);
            let mut ev: Option<(&'static str, Vec<(&'static str, String)>)> = None;
            match (ct.existed, c) {
                (false, Some(_)) => {
                    ct.created_at = Some(at);
                    let mut f = vec![
                        ("state", crow.state.label().to_string()),
                        ("phase", phase.clone().unwrap_or_default()),
                    ];
                    if let Some(v) = &crow.volume {
                        f.push(("volume", v.clone()));
                    }
                    if let Some(v) = &crow.previous_volume {
                        f.push(("previousVolume", v.clone()));
                    }
                    if phase.as_deref() == Some("Bound") {
                        ct.bound_at = Some(at);
                    }
                    ev = Some(("created", f));
                }
                (true, Some(_)) if phase != ct.phase && phase.as_deref() == Some("Bound") => {
                    ct.bound_at = Some(at);
                    let mut f = vec![("state", crow.state.label().to_string())];
                    if let Some(v) = &crow.volume {
                        f.push(("volume", v.clone()));
                    }
                    ev = Some(("bound", f));
                }
                (true, None) => {
                    ct.deleted_at = Some(at);
                    let why = if self.when_scaled == "Delete" && row.role == Role::Removing {
                        "retention policy whenScaled=Delete"
                    } else {
                        "deleted"
                    };
                    ev = Some(("deleted", vec![("by", why.to_string())]));
                }
                _ => {}
            }
            ct.existed = c.is_some();
            ct.phase = phase;
            if let Some((event, fields)) = ev {
                out.push(Transition {
                    at,
                    kind: "pvc",
                    name: cname.clone(),
                    event,
                    fields,
                });
            }
        }
    }

    /// How long `ordinal` has been (or was) on its way: created -> Ready/Available for
    /// ordinals being added, terminating -> gone for ordinals being removed.
    pub fn elapsed(&self, ordinal: i32, now: Timestamp) -> Option<jiff::SignedDuration> {
        let t = self.tracks.get(&ordinal)?;
        let (from, to) = match self.role(ordinal) {
            Role::Unchanged => return None,
            Role::Adding => (
                t.created_at.filter(|c| *c > self.started_at)?,
                if self.min_ready_seconds > 0 {
                    t.available_at
                } else {
                    t.ready_at
                },
            ),
            Role::Removing => (t.terminating_at.unwrap_or(self.started_at), t.gone_at),
        };
        let end = match to {
            Some(e) if e >= from => e,
            _ => now,
        };
        Some(end.duration_since(from))
    }

    /// Settled: the controller observed the scale (`observedGeneration >= generation`
    /// with `spec.replicas` at the target), every ordinal in range has a Ready pod
    /// (Available when `minReadySeconds` > 0), and no pod outside the range remains.
    pub fn settled(&self) -> bool {
        self.seen_target_spec
            && self.generation_ok
            && self.superseded.is_none()
            && !self.sts_gone
            && self.rows.iter().all(|r| r.done)
    }

    /// The ordinal holding things up, in the order the controller works through them.
    pub fn blocking(&self) -> Option<&OrdinalRow> {
        let mut pending: Vec<&OrdinalRow> = self.rows.iter().filter(|r| !r.done).collect();
        // Removal goes high to low; creation low to high. Under Parallel, a visibly
        // stuck ordinal is the better answer.
        pending.sort_by_key(|r| match r.role {
            Role::Removing => (0, -r.ordinal),
            _ => (1, r.ordinal),
        });
        if !self.ordered
            && let Some(s) = pending.iter().find(|r| r.stuck.is_some())
        {
            return Some(s);
        }
        // Under OrderedReady the first one not done blocks all after it; prefer it even
        // when a later (already created) one shows a cause.
        pending.first().copied()
    }

    /// A clear failure (see [`stuck_cause`]) on an ordinal that has to progress.
    pub fn failure(&self) -> Option<&OrdinalRow> {
        self.rows
            .iter()
            .find(|r| !r.done && r.stuck.as_ref().is_some_and(|s| s.clear))
    }

    /// One line on what is still missing, for timeouts and interrupts.
    pub fn waiting_for(&self) -> String {
        if self.sts_gone {
            return format!("statefulset {} was deleted", self.name);
        }
        if let Some(r) = self.superseded {
            return format!("spec.replicas was changed to {r} by someone else while waiting");
        }
        match self.blocking() {
            Some(r) => {
                let what = match (r.role, r.state) {
                    (Role::Removing, PodState::Terminating) => "to finish terminating".to_string(),
                    (Role::Removing, _) => "to be removed".to_string(),
                    (_, PodState::Absent) => "to be created".to_string(),
                    (_, PodState::Ready) if self.min_ready_seconds > 0 => {
                        format!("to be Available (Ready for {}s)", self.min_ready_seconds)
                    }
                    (_, s) => format!("to become Ready ({}, {} ready)", s.as_str(), r.ready),
                };
                let pending: Vec<&str> = r
                    .claims
                    .iter()
                    .filter(|c| r.role != Role::Removing && c.phase.as_deref() == Some("Pending"))
                    .map(|c| c.name.as_str())
                    .collect();
                let what = if pending.is_empty() {
                    what
                } else {
                    format!("{what}, PVC {} still Pending", pending.join(", "))
                };
                match &r.stuck {
                    Some(s) => format!(
                        "{} (ordinal {}) {}: {}: {}",
                        r.pod, r.ordinal, what, s.reason, s.message
                    ),
                    None => format!("{} (ordinal {}) {}", r.pod, r.ordinal, what),
                }
            }
            None if !self.seen_target_spec => "the StatefulSet to show the new replica count".into(),
            None => "the StatefulSet controller to observe the latest generation".into(),
        }
    }

    /// When a Ready pod turns Available (minReadySeconds): the next instant worth
    /// re-evaluating without a new watch event.
    pub fn next_deadline(&self, world: &World<'_>) -> Option<Timestamp> {
        if self.min_ready_seconds <= 0 {
            return None;
        }
        world
            .pods
            .iter()
            .filter(|p| pods::is_ready(p) && p.metadata.deletion_timestamp.is_none())
            .filter_map(|p| {
                let c = p
                    .status
                    .as_ref()?
                    .conditions
                    .as_ref()?
                    .iter()
                    .find(|c| c.type_ == "Ready")?;
                let since = c.last_transition_time.as_ref()?.0;
                since
                    .checked_add(jiff::SignedDuration::from_secs(i64::from(self.min_ready_seconds)))
                    .ok()
            })
            .filter(|t| self.rows.iter().any(|r| r.state == PodState::Ready) && *t > self.started_at)
            .min()
    }

    /// Per-ordinal timings and PVC outcomes for the final report.
    pub fn summary(&self) -> Summary {
        let mut ordinals = Vec::new();
        let mut pvcs = PvcSummary::default();
        for r in &self.rows {
            let t = self.tracks.get(&r.ordinal);
            let ts = |f: fn(&Track) -> Option<Timestamp>| t.and_then(f);
            let created = ts(|t| t.created_at).filter(|c| *c > self.started_at);
            let ready = ts(|t| {
                if t.available_at.is_some() {
                    t.available_at
                } else {
                    t.ready_at
                }
            });
            let terminating = ts(|t| t.terminating_at);
            let gone = ts(|t| t.gone_at);
            let duration = match r.role {
                Role::Removing => gone.map(|g| g.duration_since(terminating.unwrap_or(self.started_at))),
                _ => match (created, ready) {
                    (Some(c), Some(rd)) if rd >= c => Some(rd.duration_since(c)),
                    _ => None,
                },
            };
            ordinals.push(OrdinalSummary {
                row: r.clone(),
                created_at: created.map(|t| t.to_string()),
                ready_at: ready.filter(|t| *t > self.started_at).map(|t| t.to_string()),
                terminating_at: terminating.map(|t| t.to_string()),
                gone_at: gone.filter(|_| r.state == PodState::Absent).map(|t| t.to_string()),
                since_start_seconds: match r.role {
                    Role::Removing => gone.map(|g| secs_f(g.duration_since(self.started_at))),
                    _ => ready
                        .filter(|t| *t > self.started_at)
                        .map(|t| secs_f(t.duration_since(self.started_at))),
                },
                duration_seconds: duration.map(secs_f),
            });
            for c in &r.claims {
                match c.state {
                    ClaimState::New => pvcs.created.push(c.clone()),
                    ClaimState::Reused | ClaimState::ReusedOtherVolume => pvcs.reused.push(c.clone()),
                    ClaimState::Kept | ClaimState::Deleting => pvcs.left_behind.push(LeftBehind {
                        ordinal: r.ordinal,
                        name: c.name.clone(),
                        volume: c.volume.clone(),
                        will_be_deleted: c.state == ClaimState::Deleting,
                    }),
                    ClaimState::Deleted => pvcs.deleted.push(c.clone()),
                    _ => {}
                }
            }
        }
        Summary {
            ordinals,
            pvcs,
            violations: self.violations.clone(),
        }
    }
}

fn list_pods(sts: &str, ords: &[i32]) -> String {
    let names: Vec<String> = ords.iter().map(|o| pod_name(sts, *o)).collect();
    if names.len() == 1 {
        format!("{} was", names[0])
    } else {
        format!("{} were", names.join(", "))
    }
}

fn secs_f(d: jiff::SignedDuration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}

/// `1.234s`.
pub fn secs(from: Timestamp, to: Timestamp) -> String {
    format!("{:.3}s", to.duration_since(from).as_secs_f64().max(0.0))
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub ordinals: Vec<OrdinalSummary>,
    pub pvcs: PvcSummary,
    pub violations: Vec<Violation>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrdinalSummary {
    #[serde(flatten)]
    pub row: OrdinalRow,
    /// When the pod was seen created (RFC 3339), if during this scale.
    pub created_at: Option<String>,
    /// When it was seen Ready (Available with minReadySeconds), if during this scale.
    pub ready_at: Option<String>,
    pub terminating_at: Option<String>,
    pub gone_at: Option<String>,
    /// Created -> Ready/Available for ordinals in range; terminating -> gone for removed ones.
    pub duration_seconds: Option<f64>,
    /// From the scale request until this ordinal reached its goal.
    pub since_start_seconds: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PvcSummary {
    pub created: Vec<ClaimRow>,
    pub reused: Vec<ClaimRow>,
    /// PVCs of removed ordinals still present, and whether Kubernetes will delete them.
    pub left_behind: Vec<LeftBehind>,
    pub deleted: Vec<ClaimRow>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn t(s: &str) -> Timestamp {
        format!("2026-11-22T03:00:{s}Z").parse().unwrap()
    }

    fn sts(replicas: i32, policy: &str, when_scaled: &str, observed: i64) -> StatefulSet {
        serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "default", "generation": 2},
            "spec": {"replicas": replicas, "selector": {}, "template": {}, "serviceName": "nginx",
                "podManagementPolicy": policy,
                "persistentVolumeClaimRetentionPolicy": {"whenScaled": when_scaled, "whenDeleted": "Retain"},
                "volumeClaimTemplates": [{"metadata": {"name": "disk-ssd"}}]},
            "status": {"observedGeneration": observed, "replicas": replicas}
        }))
        .unwrap()
    }

    fn pod(name: &str, uid: &str, state: &str) -> Pod {
        let mut v: Value = json!({"metadata": {"name": name, "uid": uid},
            "spec": {"containers": [{"name": "nginx"}]},
            "status": {"phase": "Pending"}});
        match state {
            "running" => {
                v["status"] = json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}],
                    "containerStatuses": [{"name": "nginx", "ready": false, "restartCount": 0, "image": "", "imageID": "", "state": {"running": {}}}]})
            }
            "ready" => {
                v["status"] = json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-11-22T03:00:01Z"}],
                    "containerStatuses": [{"name": "nginx", "ready": true, "restartCount": 0, "image": "", "imageID": "", "state": {"running": {}}}]})
            }
            "terminating" => {
                v["metadata"]["deletionTimestamp"] = json!("2026-11-22T03:00:05Z");
                v["status"] = json!({"phase": "Running"});
            }
            _ => {}
        }
        serde_json::from_value(v).unwrap()
    }

    fn pvc(name: &str, uid: &str, phase: &str, volume: Option<&str>) -> PersistentVolumeClaim {
        serde_json::from_value(json!({"metadata": {"name": name, "uid": uid},
            "spec": {"volumeName": volume, "storageClassName": "alicloud-disk-ssd"},
            "status": {"phase": phase}}))
        .unwrap()
    }

    fn world<'a>(
        s: &'a StatefulSet,
        pods: &'a [Pod],
        pvcs: &'a [PersistentVolumeClaim],
        events: &'a [Event],
    ) -> World<'a> {
        World {
            sts: Some(s),
            pods: pods.iter().collect(),
            pvcs: pvcs.iter().collect(),
            events: events.iter().collect(),
        }
    }

    #[test]
    fn plan_scale_in_with_delete_needs_confirmation() {
        let s = sts(3, "OrderedReady", "Delete", 2);
        let claims = [
            pvc("disk-ssd-web-0", "c0", "Bound", Some("pv0")),
            pvc("disk-ssd-web-1", "c1", "Bound", Some("pv1")),
            pvc("disk-ssd-web-2", "c2", "Bound", Some("pv2")),
            pvc("disk-ssd-web-20", "c20", "Bound", Some("pv20")),
        ];
        let refs: Vec<&PersistentVolumeClaim> = claims.iter().collect();
        let p = plan(&Facts::of(&s), 1, &refs);
        assert_eq!(p.removing, vec![2, 1]);
        assert!(p.adding.is_empty());
        assert_eq!(
            p.left_behind.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(),
            vec!["disk-ssd-web-2", "disk-ssd-web-1"]
        );
        assert!(p.left_behind.iter().all(|l| l.will_be_deleted));
        let c = p.confirmation("web", "default", "ctx").unwrap();
        assert!(c.contains("DELETE PVCs disk-ssd-web-2, disk-ssd-web-1"), "{c}");
        // Retain: scale-in needs no confirmation, scale to 0 does.
        let s = sts(3, "OrderedReady", "Retain", 2);
        let p = plan(&Facts::of(&s), 1, &refs);
        assert!(p.left_behind.iter().all(|l| !l.will_be_deleted));
        assert_eq!(p.confirmation("web", "default", "ctx"), None);
        let p = plan(&Facts::of(&s), 0, &refs);
        assert!(p.confirmation("web", "default", "ctx").unwrap().contains("to 0"));
        // Scale-out reuses kept claims and never asks.
        let s = sts(1, "OrderedReady", "Retain", 2);
        let p = plan(&Facts::of(&s), 3, &refs);
        assert_eq!(p.adding, vec![1, 2]);
        assert_eq!(p.reusing.len(), 2);
        assert_eq!(p.reusing[1].volume.as_deref(), Some("pv2"));
        assert_eq!(p.confirmation("web", "default", "ctx"), None);
    }

    #[test]
    fn plan_honours_start_ordinal() {
        let mut v = serde_json::to_value(sts(2, "OrderedReady", "Retain", 2)).unwrap();
        v["spec"]["ordinals"] = json!({"start": 5});
        let s: StatefulSet = serde_json::from_value(v).unwrap();
        let p = plan(&Facts::of(&s), 4, &[]);
        assert_eq!(p.adding, vec![7, 8]);
        let p = plan(&Facts::of(&s), 0, &[]);
        assert_eq!(p.removing, vec![6, 5]);
    }

    #[test]
    fn scale_out_order_reuse_and_settle() {
        let before = sts(2, "OrderedReady", "Retain", 2);
        let claims0 = [
            pvc("disk-ssd-web-0", "c0", "Bound", Some("pv0")),
            pvc("disk-ssd-web-1", "c1", "Bound", Some("pv1")),
            pvc("disk-ssd-web-2", "c2", "Bound", Some("pv2")),
        ];
        let pods0 = [pod("web-0", "p0", "ready"), pod("web-1", "p1", "ready")];
        let mut p = Progress::new(&Facts::of(&before), 4, &world(&before, &pods0, &claims0, &[]), t("00"));
        assert!(!p.settled());
        let after = {
            let mut v = serde_json::to_value(sts(4, "OrderedReady", "Retain", 2)).unwrap();
            v["metadata"]["generation"] = json!(3);
            serde_json::from_value::<StatefulSet>(v).unwrap()
        };
        // web-2 created while web-1 ready: fine; web-3 created while web-2 not ready: violation.
        let pods1 = [
            pod("web-0", "p0", "ready"),
            pod("web-1", "p1", "ready"),
            pod("web-2", "p2", "pending"),
        ];
        let tr = p.observe(t("01"), &world(&after, &pods1, &claims0, &[]));
        assert!(tr.iter().any(|x| x.name == "web-2" && x.event == "created"));
        assert!(p.violations.is_empty());
        let rows = p.rows();
        let r2 = rows.iter().find(|r| r.ordinal == 2).unwrap();
        assert_eq!(r2.role, Role::Adding);
        assert_eq!(r2.claims[0].state, ClaimState::Reused);
        let r3 = rows.iter().find(|r| r.ordinal == 3).unwrap();
        assert_eq!(r3.claims[0].state, ClaimState::Waiting);
        let pods2 = [
            pod("web-0", "p0", "ready"),
            pod("web-1", "p1", "ready"),
            pod("web-2", "p2", "running"),
            pod("web-3", "p3", "pending"),
        ];
        let mut claims1 = claims0.to_vec();
        claims1.push(pvc("disk-ssd-web-3", "c3", "Pending", None));
        let tr = p.observe(t("02"), &world(&after, &pods2, &claims1, &[]));
        assert_eq!(p.violations.len(), 1, "{tr:?}");
        assert!(p.violations[0].message.contains("web-2 was not Running and Ready"));
        assert!(
            tr.iter()
                .any(|x| x.kind == "pvc" && x.name == "disk-ssd-web-3" && x.event == "created")
        );
        assert_eq!(p.blocking().unwrap().pod, "web-2");
        // Everything ready, but generation not observed yet: not settled.
        let pods3 = [
            pod("web-0", "p0", "ready"),
            pod("web-1", "p1", "ready"),
            pod("web-2", "p2", "ready"),
            pod("web-3", "p3", "ready"),
        ];
        claims1[3] = pvc("disk-ssd-web-3", "c3", "Bound", Some("pv3"));
        let tr = p.observe(t("03"), &world(&after, &pods3, &claims1, &[]));
        assert!(tr.iter().any(|x| x.name == "disk-ssd-web-3" && x.event == "bound"));
        assert!(!p.settled());
        assert!(p.waiting_for().contains("observe"), "{}", p.waiting_for());
        let observed = {
            let mut v = serde_json::to_value(&after).unwrap();
            v["status"]["observedGeneration"] = json!(3);
            serde_json::from_value::<StatefulSet>(v).unwrap()
        };
        p.observe(t("04"), &world(&observed, &pods3, &claims1, &[]));
        assert!(p.settled());
        assert_eq!(p.elapsed(2, t("09")).map(|d| d.as_secs()), Some(2), "frozen at ready");
        assert_eq!(p.elapsed(0, t("09")), None, "unchanged ordinals have no clock");
        let s = p.summary();
        assert_eq!(s.pvcs.reused.len(), 1);
        assert_eq!(s.pvcs.created.len(), 1);
        let o2 = s.ordinals.iter().find(|o| o.row.ordinal == 2).unwrap();
        assert_eq!(o2.duration_seconds, Some(2.0));
    }

    #[test]
    fn parallel_expects_no_order() {
        let before = sts(0, "Parallel", "Retain", 2);
        let mut p = Progress::new(&Facts::of(&before), 3, &world(&before, &[], &[], &[]), t("00"));
        let after = sts(3, "Parallel", "Retain", 2);
        let pods = [pod("web-2", "p2", "pending"), pod("web-0", "p0", "pending")];
        p.observe(t("01"), &world(&after, &pods, &[], &[]));
        assert!(p.violations.is_empty());
    }

    #[test]
    fn scale_in_order_and_retention() {
        let before = sts(3, "OrderedReady", "Delete", 2);
        let claims = [
            pvc("disk-ssd-web-0", "c0", "Bound", Some("pv0")),
            pvc("disk-ssd-web-1", "c1", "Bound", Some("pv1")),
            pvc("disk-ssd-web-2", "c2", "Bound", Some("pv2")),
        ];
        let pods = [
            pod("web-0", "p0", "ready"),
            pod("web-1", "p1", "ready"),
            pod("web-2", "p2", "ready"),
        ];
        let mut p = Progress::new(&Facts::of(&before), 1, &world(&before, &pods, &claims, &[]), t("00"));
        let after = sts(1, "OrderedReady", "Delete", 2);
        // web-1 terminates before web-2 is gone: a departure.
        let pods1 = [
            pod("web-0", "p0", "ready"),
            pod("web-1", "p1", "terminating"),
            pod("web-2", "p2", "ready"),
        ];
        let tr = p.observe(t("01"), &world(&after, &pods1, &claims, &[]));
        assert!(tr.iter().any(|x| x.event == "order-violation"), "{tr:?}");
        let r2 = p.rows().iter().find(|r| r.ordinal == 2).unwrap();
        assert_eq!(r2.claims[0].state, ClaimState::Deleting);
        assert_eq!(p.blocking().unwrap().pod, "web-2");
        let pods2 = [pod("web-0", "p0", "ready")];
        let claims2 = [claims[0].clone()];
        let tr = p.observe(t("03"), &world(&after, &pods2, &claims2, &[]));
        assert!(
            tr.iter()
                .any(|x| x.kind == "pvc" && x.event == "deleted" && x.fields[0].1.contains("whenScaled=Delete"))
        );
        assert!(p.settled());
        let s = p.summary();
        assert_eq!(s.pvcs.deleted.len(), 2);
        assert!(s.pvcs.left_behind.is_empty());
    }

    #[test]
    fn retained_claims_are_left_behind() {
        let before = sts(3, "OrderedReady", "Retain", 2);
        let claims = [
            pvc("disk-ssd-web-0", "c0", "Bound", Some("pv0")),
            pvc("disk-ssd-web-1", "c1", "Bound", Some("pv1")),
            pvc("disk-ssd-web-2", "c2", "Bound", Some("pv2")),
        ];
        let pods = [
            pod("web-0", "p0", "ready"),
            pod("web-1", "p1", "ready"),
            pod("web-2", "p2", "ready"),
        ];
        let mut p = Progress::new(&Facts::of(&before), 2, &world(&before, &pods, &claims, &[]), t("00"));
        let after = sts(2, "OrderedReady", "Retain", 2);
        p.observe(t("02"), &world(&after, &pods[..2], &claims, &[]));
        assert!(p.settled());
        let s = p.summary();
        assert_eq!(s.pvcs.left_behind.len(), 1);
        assert!(!s.pvcs.left_behind[0].will_be_deleted);
        assert_eq!(s.pvcs.left_behind[0].name, "disk-ssd-web-2");
    }

    #[test]
    fn superseded_and_deleted() {
        let before = sts(2, "OrderedReady", "Retain", 2);
        let mut p = Progress::new(&Facts::of(&before), 3, &world(&before, &[], &[], &[]), t("00"));
        let after = sts(3, "OrderedReady", "Retain", 1);
        p.observe(t("01"), &world(&after, &[], &[], &[]));
        assert_eq!(p.superseded, None);
        let other = sts(5, "OrderedReady", "Retain", 1);
        let tr = p.observe(t("02"), &world(&other, &[], &[], &[]));
        assert_eq!(p.superseded, Some(5));
        assert_eq!(tr[0].event, "replicas-changed");
        assert!(!p.settled());
        p.observe(t("03"), &World::default());
        assert!(p.sts_gone);
    }

    /// Shapes from the real captures (k8s-reference pod-failure-*.json).
    fn captured(name: &str) -> Pod {
        let v = match name {
            "crash" => json!({"metadata": {"name": "crash-0", "uid": "c"}, "status": {"phase": "Running",
                "conditions": [{"type": "Ready", "status": "False", "reason": "ContainersNotReady"}, {"type": "PodScheduled", "status": "True"}],
                "containerStatuses": [{"name": "c", "ready": false, "restartCount": 3, "started": false, "image": "nginx:1.25", "imageID": "",
                  "lastState": {"terminated": {"exitCode": 2, "reason": "Error"}},
                  "state": {"terminated": {"exitCode": 2, "reason": "Error"}}}]}}),
            "nopull" => json!({"metadata": {"name": "nopull-0", "uid": "n"}, "status": {"phase": "Pending",
                "containerStatuses": [{"name": "c", "ready": false, "restartCount": 0, "image": "example.invalid/app:9", "imageID": "",
                  "state": {"waiting": {"reason": "ErrImagePull", "message": "rpc error: failed to pull"}}}]}}),
            _ => json!({"metadata": {"name": "pending-0", "uid": "p"}, "status": {"phase": "Pending",
                "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                  "message": "0/1 nodes are available: 1 pod has unbound immediate PersistentVolumeClaims. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."}]}}),
        };
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn stuck_causes_from_containers() {
        let p: Pod = serde_json::from_value(json!({"metadata": {"name": "web-2", "uid": "u"},
            "status": {"phase": "Pending", "containerStatuses": [{"name": "c", "ready": false, "restartCount": 0, "image": "", "imageID": "",
              "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image \"x\""}}}]}}))
        .unwrap();
        let s = stuck_cause(Some(&p), &[], &[]).unwrap();
        assert_eq!((s.reason, s.clear), ("ImagePullBackOff", true));
        assert!(s.message.contains("Back-off pulling"));
        let p: Pod = serde_json::from_value(json!({"metadata": {"name": "web-2", "uid": "u"},
            "status": {"phase": "Pending", "containerStatuses": [{"name": "c", "ready": false, "restartCount": 0, "image": "", "imageID": "",
              "state": {"waiting": {"reason": "ErrImagePull"}}}]}}))
        .unwrap();
        let s = stuck_cause(Some(&p), &[], &[]).unwrap();
        assert_eq!((s.reason, s.clear), ("ErrImagePull", false));
        let p: Pod = serde_json::from_value(json!({"metadata": {"name": "web-2", "uid": "u"},
            "status": {"phase": "Running", "containerStatuses": [{"name": "c", "ready": false, "restartCount": 3, "image": "", "imageID": "",
              "state": {"waiting": {"reason": "CrashLoopBackOff"}}, "lastState": {"terminated": {"exitCode": 2, "reason": "Error"}}}]}}))
        .unwrap();
        let s = stuck_cause(Some(&p), &[], &[]).unwrap();
        assert_eq!((s.reason, s.clear), ("CrashLoopBackOff", true));
        assert!(
            s.message.contains("exit code 2") && s.message.contains("3 restarts"),
            "{}",
            s.message
        );
        // The real capture (terminated between crashes).
        let s = stuck_cause(Some(&captured("crash")), &[], &[]).unwrap();
        assert_eq!((s.reason, s.clear), ("CrashLoopBackOff", true));
        assert_eq!(
            stuck_cause(Some(&captured("nopull")), &[], &[]).unwrap().reason,
            "ErrImagePull"
        );
    }

    #[test]
    fn stuck_readiness_needs_unhealthy_event() {
        let p: Pod = serde_json::from_value(json!({"metadata": {"name": "web-2", "uid": "u2"},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}],
              "containerStatuses": [{"name": "c", "ready": false, "restartCount": 0, "image": "", "imageID": "", "state": {"running": {}}}]}}))
        .unwrap();
        assert_eq!(stuck_cause(Some(&p), &[], &[]), None);
        let e: Event = serde_json::from_value(json!({"metadata": {"name": "web-2.1"},
            "involvedObject": {"kind": "Pod", "name": "web-2", "uid": "u2"}, "reason": "Unhealthy", "type": "Warning",
            "message": "Readiness probe failed: ", "count": 17, "lastTimestamp": "2026-11-22T03:07:43Z"}))
        .unwrap();
        let old: Event = serde_json::from_value(json!({"metadata": {"name": "web-2.0"},
            "involvedObject": {"kind": "Pod", "name": "web-2", "uid": "old-uid"}, "reason": "Unhealthy", "type": "Warning",
            "message": "Readiness probe failed: stale"}))
        .unwrap();
        let s = stuck_cause(Some(&p), &[], &[&old, &e]).unwrap();
        assert_eq!((s.reason, s.clear), ("ReadinessProbeFailing", false));
        assert!(s.message.contains("17 times"));
    }

    #[test]
    fn stuck_pvc_unknown_class_is_clear() {
        let c = pvc("disk-ssd-web-2", "cu", "Pending", None);
        let e: Event = serde_json::from_value(json!({"metadata": {"name": "x"},
            "involvedObject": {"kind": "PersistentVolumeClaim", "name": "disk-ssd-web-2", "uid": "cu"},
            "reason": "ProvisioningFailed", "type": "Warning",
            "message": "storageclass.storage.k8s.io \"nosuchclass\" not found"}))
        .unwrap();
        let s = stuck_cause(None, &[&c], &[&e]).unwrap();
        assert_eq!((s.reason, s.clear), ("PVCPending", true));
        assert!(s.message.contains("\"nosuchclass\" not found"));
        assert_eq!(s.object, "pvc/disk-ssd-web-2");
        // Without the event, an unschedulable pod on a pending claim points at the claim.
        // Unschedulable only because the claim is not bound yet: progress, no cause.
        let p = captured("pending");
        assert_eq!(stuck_cause(Some(&p), &[&c], &[]), None);
        // Nor when the claim is already Bound and the condition lags behind.
        let bound = pvc("disk-ssd-web-2", "cu", "Bound", Some("pv"));
        assert_eq!(stuck_cause(Some(&p), &[&bound], &[]), None);
        // With the claim's warning event, the claim is the cause.
        assert_eq!(stuck_cause(Some(&p), &[&c], &[&e]).unwrap().reason, "PVCPending");
        // Unschedulable for any other reason: the pod is the cause.
        let cpu: Pod = serde_json::from_value(
            json!({"metadata": {"name": "web-2", "uid": "u"}, "status": {"phase": "Pending",
            "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
              "message": "0/1 nodes are available: 1 Insufficient cpu."}]}}),
        )
        .unwrap();
        let s = stuck_cause(Some(&cpu), &[&bound], &[]).unwrap();
        assert_eq!((s.reason, s.clear), ("Unschedulable", false));
        assert!(s.message.contains("Insufficient cpu"));
        // A pending claim with no evidence is just in progress.
        assert_eq!(stuck_cause(None, &[&c], &[]), None);
    }

    #[test]
    fn claim_labels() {
        let r = ClaimRow {
            template: "d".into(),
            name: "d-web-2".into(),
            state: ClaimState::New,
            phase: Some("Pending".into()),
            volume: None,
            previous_volume: None,
        };
        assert_eq!(r.label(), "new:Pending");
        let r = ClaimRow {
            state: ClaimState::Kept,
            phase: Some("Bound".into()),
            ..r
        };
        assert_eq!(r.label(), "kept");
    }
}
