//! The tracker: successive snapshots folded into per-ordinal history, order checks and the summary.

use crate::model::events::Ev;
use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use serde::Serialize;

use super::*;
use crate::model::ordinals::{OrdinalRange, claim_name, pod_name, pod_ordinal};
use crate::model::pods;
use crate::model::statefulset::Facts;

mod summary;
pub use summary::*;

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
    pub event: Ev,
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
pub(super) struct ClaimTrack {
    existed: bool,
    phase: Option<String>,
    created_at: Option<Timestamp>,
    bound_at: Option<Timestamp>,
    deleted_at: Option<Timestamp>,
}

#[derive(Debug, Clone)]
pub(super) struct Track {
    state: PodState,
    uid: Option<String>,
    created_at: Option<Timestamp>,
    ready_at: Option<Timestamp>,
    available_at: Option<Timestamp>,
    terminating_at: Option<Timestamp>,
    gone_at: Option<Timestamp>,
    /// When the current pod was first seen Running.
    running_at: Option<Timestamp>,
    /// What the explanations need of this ordinal's pods.
    seen: crate::model::explain::Observed,
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
    pub when_scaled: crate::model::statefulset::Retention,
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
                .any(|t| crate::model::ordinals::claim_ordinal(t, &f.name, n).is_some())
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
            ordered: f.pod_management_policy != crate::model::statefulset::PodManagementPolicy::Parallel,
            min_ready_seconds: f.min_ready_seconds,
            templates: f.claim_templates.clone(),
            when_scaled: f.retention.when_scaled,
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
                        event: Ev::ReplicasChanged,
                        fields: vec![("replicas", f.replicas.to_string()), ("expected", self.to.to_string())],
                    });
                }
                let ok = self.seen_target_spec && f.status_is_current();
                if ok && !self.generation_ok {
                    out.push(Transition {
                        at,
                        kind: "statefulset",
                        name: self.name.clone(),
                        event: Ev::Observed,
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
                if c.metadata.deletion_timestamp.is_some()
                    || self.when_scaled == crate::model::statefulset::Retention::Delete
                {
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

    /// Order checks look at the other ordinals as they are now: the lower ordinals not
    /// Ready (for one being added) and the higher ones still present (for one being removed).
    fn order_context(&self, row: &OrdinalRow, pods_by: &BTreeMap<i32, &Pod>) -> (Vec<i32>, Vec<i32>) {
        let o = row.ordinal;
        let ordered = self.ordered;
        let target = self.target();
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
        (lower_not_ready, higher_present)
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
        let mrs = self.min_ready_seconds;
        let name = row.pod.clone();
        let (lower_not_ready, higher_present) = self.order_context(row, pods_by);
        let new_track = || Track {
            state: PodState::Absent,
            uid: None,
            created_at: None,
            ready_at: None,
            available_at: None,
            terminating_at: None,
            gone_at: None,
            running_at: None,
            seen: Default::default(),
            stuck: None,
            claims: BTreeMap::new(),
        };
        let t = self.tracks.entry(o).or_insert_with(new_track);
        let uid = pod.and_then(|p| p.metadata.uid.clone());
        let mut events: Vec<(Ev, Vec<(&'static str, String)>)> = Vec::new();
        let prev = t.state;
        let recreated = prev != PodState::Absent && uid.is_some() && t.uid.is_some() && uid != t.uid;
        if recreated {
            events.push((Ev::Deleted, vec![("uid", t.uid.clone().unwrap_or_default())]));
            t.gone_at = Some(at);
        }
        let now = row.state;
        if (prev == PodState::Absent || recreated) && now != PodState::Absent {
            t.created_at = Some(at);
            t.ready_at = None;
            t.available_at = None;
            t.terminating_at = None;
            t.gone_at = None;
            t.running_at = None;
            let mut f = vec![("ordinal", o.to_string()), ("status", row.status.clone())];
            if let Some(u) = &uid {
                f.push(("uid", u.clone()));
            }
            events.push((Ev::Created, f));
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
                events.push((Ev::OrderViolation, vec![("message", msg)]));
            }
        }
        if now != prev || recreated {
            match now {
                PodState::Running if prev < PodState::Running || recreated => {
                    events.push((Ev::Running, vec![("status", row.status.clone())]))
                }
                PodState::Running => events.push((Ev::NotReady, vec![("status", row.status.clone())])),
                PodState::Ready | PodState::Available if t.ready_at.is_none() || prev < PodState::Ready => {
                    t.ready_at = Some(at);
                    let mut f = vec![("ready", row.ready.clone())];
                    if let Some(c) = t.created_at {
                        f.push(("after", secs(c, at)));
                    }
                    events.push((Ev::Ready, f));
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
                events.push((Ev::Available, vec![("minReadySeconds", mrs.to_string())]));
            }
            if now == PodState::Terminating {
                t.terminating_at = Some(at);
                events.push((Ev::Terminating, vec![("ordinal", o.to_string())]));
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
                    events.push((Ev::OrderViolation, vec![("message", msg)]));
                }
            }
            if now == PodState::Absent && prev != PodState::Absent && !recreated {
                t.gone_at = Some(at);
                let mut f = vec![("ordinal", o.to_string())];
                if let Some(s) = t.terminating_at {
                    f.push(("after", secs(s, at)));
                }
                events.push((Ev::Deleted, f));
            }
        }
        t.state = now;
        if uid.is_some() {
            t.uid = uid;
        }
        remember(t, pod, at);
        events.extend(stuck_event(t, row));
        out.extend(events.into_iter().map(|(event, fields)| Transition {
            at,
            kind: "pod",
            name: name.clone(),
            event,
            fields,
        }));
        let removing = row.role == Role::Removing;
        track_claims(
            &mut t.claims,
            self.when_scaled == crate::model::statefulset::Retention::Delete && removing,
            at,
            row,
            claims,
            out,
        );
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
}

/// Keep what the explanations need: when the pod was running, and its states.
fn remember(t: &mut Track, pod: Option<&Pod>, at: Timestamp) {
    t.seen.observe(pod, at);
    if pod.is_some() && t.running_at.is_none() && t.state >= PodState::Running && t.state != PodState::Terminating {
        t.running_at = Some(at);
    }
}

pub(super) fn list_pods(sts: &str, ords: &[i32]) -> String {
    let names: Vec<String> = ords.iter().map(|o| pod_name(sts, *o)).collect();
    if names.len() == 1 {
        format!("{} was", names[0])
    } else {
        format!("{} were", names.join(", "))
    }
}

pub(super) fn secs_f(d: jiff::SignedDuration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}

/// `1.234s`.
pub fn secs(from: Timestamp, to: Timestamp) -> String {
    format!("{:.3}s", to.duration_since(from).as_secs_f64().max(0.0))
}

/// What happened to each claim of one ordinal since the last snapshot.
fn track_claims(
    tracks: &mut BTreeMap<String, ClaimTrack>,
    deleted_by_policy: bool,
    at: Timestamp,
    row: &OrdinalRow,
    claims: &[(String, String, Option<&PersistentVolumeClaim>)],
    out: &mut Vec<Transition>,
) {
    for ((_, cname, c), crow) in claims.iter().zip(&row.claims) {
        let ct = tracks.entry(cname.clone()).or_default();
        let phase = c.map(claim_phase);
        let mut ev: Option<(Ev, Vec<(&'static str, String)>)> = None;
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
                ev = Some((Ev::Created, f));
            }
            (true, Some(_)) if phase != ct.phase && phase.as_deref() == Some("Bound") => {
                ct.bound_at = Some(at);
                let mut f = vec![("state", crow.state.label().to_string())];
                if let Some(v) = &crow.volume {
                    f.push(("volume", v.clone()));
                }
                ev = Some((Ev::Bound, f));
            }
            (true, None) => {
                ct.deleted_at = Some(at);
                let why = if deleted_by_policy {
                    "retention policy whenScaled=Delete"
                } else {
                    "deleted"
                };
                ev = Some((Ev::Deleted, vec![("by", why.to_string())]));
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

/// A `stuck` transition when the ordinal's cause changed (said once per cause).
fn stuck_event(t: &mut Track, row: &OrdinalRow) -> Option<(Ev, Vec<(&'static str, String)>)> {
    let key = row.stuck.as_ref().map(|s| (s.reason.to_string(), s.message.clone()));
    if key == t.stuck {
        return None;
    }
    t.stuck = key;
    row.stuck.as_ref().map(|s| {
        (
            Ev::Stuck,
            vec![
                ("reason", s.reason.to_string()),
                ("object", s.object.clone()),
                ("message", s.message.clone()),
            ],
        )
    })
}
