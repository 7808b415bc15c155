//! Which PersistentVolumeClaims StatefulSets left behind, and what Kubernetes will do
//! with them. Pure: the command gathers lean facts ([`Inventory`]) and [`classify`]
//! gives every claim exactly one [`Reason`].
//!
//! Kubernetes semantics followed here (pkg/controller/statefulset/stateful_set_utils.go):
//! - Claims are named `<template>-<set>-<ordinal>` (`getPersistentVolumeClaimName`) and
//!   labelled with the template's labels plus the set's `selector.matchLabels`
//!   (`getPersistentVolumeClaims`). Names are matched whole against live sets and
//!   their templates ([`super::ordinals::claim_name_splits`]), never by prefix.
//! - `persistentVolumeClaimRetentionPolicy` is enforced only through owner references
//!   (`isClaimOwnerUpToDate` / `updateClaimOwnerRefForSetAndPod`):
//!   Retain/Retain: no reference; `whenDeleted: Delete`: a controller reference to the
//!   set (so the garbage collector removes the claim with the set); `whenScaled: Delete`:
//!   a reference to the pod, added only to a condemned pod (ordinal out of range) that
//!   still exists, so the claim goes when that pod goes. A claim whose pod was already
//!   gone when the policy was set keeps no reference and is never deleted by Kubernetes.
//! - The garbage collector deletes a dependent once none of its owners exists
//!   (k8s.io/kubernetes/pkg/controller/garbagecollector): a claim whose every owner is
//!   gone or being deleted is `pending-cleanup`, not an orphan.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::ordinals::{OrdinalRange, claim_name_splits, pod_name};
use super::statefulset::RetentionPolicy;

/// An owner reference, as far as deciding needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnerRef {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub uid: String,
    pub controller: bool,
}

/// A live StatefulSet.
#[derive(Debug, Clone)]
pub struct SetInfo {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub templates: Vec<String>,
    pub range: OrdinalRange,
    pub retention: RetentionPolicy,
    /// The claim templates as a new claim gets them (for leftovers' drift).
    pub claim_specs: Vec<crate::model::drift::TemplateSpec>,
    /// Has a deletionTimestamp.
    pub deleting: bool,
}

/// A PersistentVolumeClaim, lean (10,000 of them stay small).
#[derive(Debug, Clone, Default)]
pub struct ClaimInfo {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub resource_version: String,
    pub labels: BTreeMap<String, String>,
    pub owners: Vec<OwnerRef>,
    pub deleting: bool,
    pub phase: Option<String>,
    /// `status.capacity.storage`, else `spec.resources.requests.storage`.
    pub capacity: Option<String>,
    pub storage_class: Option<String>,
    pub volume: Option<String>,
    pub access_modes: Vec<String>,
    pub volume_mode: Option<String>,
    /// What drift compares: request, capacity, class, access modes, resize conditions.
    pub facts: crate::model::drift::ClaimFacts,
    /// `volume.kubernetes.io/selected-node`: where its first consumer was scheduled.
    pub selected_node: Option<String>,
    pub created: Option<jiff::Timestamp>,
}

/// A pod and the claims it mounts (`persistentVolumeClaim.claimName`, plus the
/// `<pod>-<volume>` claims of generic ephemeral volumes).
#[derive(Debug, Clone)]
pub struct PodInfo {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub deleting: bool,
    pub claims: Vec<String>,
}

/// A PersistentVolume.
#[derive(Debug, Clone)]
pub struct VolumeInfo {
    pub name: String,
    pub reclaim_policy: Option<String>,
    pub phase: Option<String>,
    /// Hostname from a `kubernetes.io/hostname` node-affinity term (local volumes).
    pub node: Option<String>,
}

/// What the StatefulSet controller said in Events (reason `SuccessfulCreate` /
/// `SuccessfulDelete`, source `statefulset-controller`), which outlive a deleted set
/// for the events TTL (1h by default).
#[derive(Debug, Clone)]
pub enum ControllerEvent {
    /// `create Claim <claim> Pod <pod> in StatefulSet <set> success`
    ClaimCreated {
        namespace: String,
        claim: String,
        set: String,
    },
    /// `delete Pod <pod> in StatefulSet <set> successful`
    PodDeleted {
        namespace: String,
        pod: String,
        set: String,
        at: Option<String>,
    },
}

impl ControllerEvent {
    /// Parse one event's message (the statefulset-controller's wording,
    /// stateful_pod_control.go `recordClaimEvent` / `recordPodEvent`).
    pub fn parse(namespace: &str, reason: &str, message: &str, at: Option<String>) -> Option<ControllerEvent> {
        let words: Vec<&str> = message.split_whitespace().collect();
        match (reason, words.as_slice()) {
            (
                "SuccessfulCreate",
                [
                    "create",
                    "Claim",
                    claim,
                    "Pod",
                    _pod,
                    "in",
                    "StatefulSet",
                    set,
                    "success",
                ],
            ) => Some(ControllerEvent::ClaimCreated {
                namespace: namespace.into(),
                claim: (*claim).into(),
                set: (*set).into(),
            }),
            ("SuccessfulDelete", ["delete", "Pod", pod, "in", "StatefulSet", set, "successful"]) => {
                Some(ControllerEvent::PodDeleted {
                    namespace: namespace.into(),
                    pod: (*pod).into(),
                    set: (*set).into(),
                    at,
                })
            }
            _ => None,
        }
    }
}

/// Everything [`classify`] looks at, for one cluster.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    pub sets: Vec<SetInfo>,
    pub claims: Vec<ClaimInfo>,
    pub pods: Vec<PodInfo>,
    /// `None` when PersistentVolumes could not be listed (RBAC): no reclaim policies.
    pub volumes: Option<Vec<VolumeInfo>>,
    pub events: Vec<ControllerEvent>,
}

/// The one class each claim gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// Mounted by a pod (any pod, whatever its name): never an orphan.
    InUse,
    /// A live StatefulSet's claim for an ordinal outside `[start, start+replicas)`.
    ScaledIn,
    /// Named `<template>-<set>-<ordinal>` for no live StatefulSet.
    StatefulsetDeleted,
    /// Being deleted, or owned only by owners that are gone: the garbage collector removes it.
    PendingCleanup,
    /// No pod mounts it and none of the above applies (shown with `--include-unmounted`).
    Unmounted,
}

impl Reason {
    pub fn as_str(&self) -> &'static str {
        match self {
            Reason::InUse => "in-use",
            Reason::ScaledIn => "scaled-in",
            Reason::StatefulsetDeleted => "statefulset-deleted",
            Reason::PendingCleanup => "pending-cleanup",
            Reason::Unmounted => "unmounted",
        }
    }
}

/// How sure we are that a `statefulset-deleted` claim was made by a StatefulSet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Confidence {
    /// Only the name fits `<template>-<set>-<ordinal>`.
    NameOnly,
    /// Labels are present but do not show the controller's pattern, or a live set of
    /// that name exists with other templates.
    Medium,
    /// A controller event, an owner reference, or the controller's label pattern.
    High,
}

impl Confidence {
    pub fn as_str(&self) -> &'static str {
        match self {
            Confidence::NameOnly => "name-only",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

/// What Kubernetes itself will do with the claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cleanup {
    /// No owner reference: it stays until someone deletes it.
    Never,
    /// Owned by its live StatefulSet (`whenDeleted: Delete`): removed with the set.
    WithStatefulset,
    /// Owned by a pod that still exists (`whenScaled: Delete`): removed with the pod.
    WithPod,
    /// The garbage collector removes it now (owners gone) or it is being deleted.
    GarbageCollector,
    /// Owned by something else; its fate follows that owner.
    OtherOwner,
}

/// Where the claim was last mounted, as far as we can tell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LastMounted {
    /// The pod that mounts this claim by StatefulSet identity (`<set>-<ordinal>`).
    pub pod: String,
    /// When the controller deleted that pod (from its `SuccessfulDelete` event).
    pub pod_deleted_at: Option<String>,
    /// When the server's `Unused` condition on the claim turned True (newer
    /// Kubernetes): unused since then, whatever the events say.
    pub unused_since: Option<String>,
    /// The node: the claim's `volume.kubernetes.io/selected-node` annotation, else the
    /// PV's node affinity.
    pub node: Option<String>,
}

/// The verdict for one claim.
#[derive(Debug, Clone)]
pub struct ClaimFinding {
    pub claim: ClaimInfo,
    pub reason: Reason,
    pub statefulset: Option<String>,
    pub template: Option<String>,
    pub ordinal: Option<i32>,
    /// For `statefulset-deleted`.
    pub confidence: Option<Confidence>,
    /// Why we believe what we say, one phrase each.
    pub evidence: Vec<String>,
    pub cleanup: Cleanup,
    /// One sentence for the operator.
    pub note: String,
    pub mounted_by: Vec<String>,
    /// The bound PV's reclaim policy (`None`: no PV, or PVs not readable).
    pub reclaim_policy: Option<String>,
    pub last_mounted: Option<LastMounted>,
    /// Capacity in bytes, when the quantity parses.
    pub bytes: Option<u128>,
    /// For a scaled-in leftover: how it differs from its live template (a later
    /// scale-out reuses it as it is).
    pub drift: Vec<crate::model::drift::Drift>,
}

impl ClaimFinding {
    /// An orphan: a StatefulSet's claim nothing uses and Kubernetes will not remove
    /// (`unmounted` claims are shown with `--include-unmounted` but are not orphans).
    pub fn is_orphan(&self) -> bool {
        matches!(self.reason, Reason::ScaledIn | Reason::StatefulsetDeleted)
    }

    /// `prune` may delete it: scaled-in, or statefulset-deleted with high confidence,
    /// and never anything mounted or already on its way out.
    pub fn prunable(&self) -> bool {
        self.mounted_by.is_empty()
            && !self.claim.deleting
            && match self.reason {
                Reason::ScaledIn => true,
                Reason::StatefulsetDeleted => self.confidence == Some(Confidence::High),
                _ => false,
            }
    }
}

type NsName<'a> = (&'a str, &'a str);

/// Per (namespace, template, set) group: claim count, first claim's labels, all labels equal.
type Group<'a> = (usize, Option<&'a BTreeMap<String, String>>, bool);

enum OwnerState {
    Alive,
    Going,
    Unknown,
}

/// Classify every claim in the inventory (one finding per claim, in input order).
/// Linear in the number of objects: every lookup is a hash map keyed by
/// (namespace, name) or UID; a name is split at most once per dash.
pub fn classify(inv: &Inventory) -> Vec<ClaimFinding> {
    classify_iter(inv).collect()
}

/// [`classify`], one finding at a time: a caller that keeps only some findings (the
/// orphans command drops in-use claims, most of a cluster) never holds them all.
/// Everything a claim's class is decided from, looked up by key: built once from the
/// inventory, so classifying 10,000 claims is one pass over them.
pub struct ClaimIndex<'a> {
    sets: HashMap<NsName<'a>, &'a SetInfo>,
    set_uids: HashMap<&'a str, &'a SetInfo>,
    pod_uids: HashMap<&'a str, &'a PodInfo>,
    /// (namespace, claim) -> the pods that mount it.
    mounts: HashMap<NsName<'a>, Vec<&'a str>>,
    volumes: Option<HashMap<&'a str, &'a VolumeInfo>>,
    /// (namespace, claim) -> the StatefulSet whose controller Event says it created it.
    created_by: HashMap<NsName<'a>, &'a str>,
    /// (namespace, pod) -> when the controller last deleted it.
    pod_deleted: HashMap<NsName<'a>, Option<&'a str>>,
    /// Claims per candidate group (namespace, template, set) for claims matching no
    /// live set: group size and whether the group shares one label set.
    groups: HashMap<(&'a str, &'a str, &'a str), Group<'a>>,
}

impl<'a> ClaimIndex<'a> {
    pub fn new(inv: &'a Inventory) -> ClaimIndex<'a> {
        let sets: HashMap<NsName, &SetInfo> = inv
            .sets
            .iter()
            .map(|s| ((s.namespace.as_str(), s.name.as_str()), s))
            .collect();
        let set_uids: HashMap<&str, &SetInfo> = inv.sets.iter().map(|s| (s.uid.as_str(), s)).collect();
        let pod_uids: HashMap<&str, &PodInfo> = inv.pods.iter().map(|p| (p.uid.as_str(), p)).collect();
        let mut mounts: HashMap<NsName, Vec<&str>> = HashMap::new();
        for p in &inv.pods {
            for c in &p.claims {
                mounts
                    .entry((p.namespace.as_str(), c.as_str()))
                    .or_default()
                    .push(p.name.as_str());
            }
        }
        let volumes: Option<HashMap<&str, &VolumeInfo>> = inv
            .volumes
            .as_ref()
            .map(|vs| vs.iter().map(|v| (v.name.as_str(), v)).collect());
        let mut created_by: HashMap<NsName, &str> = HashMap::new();
        let mut pod_deleted: HashMap<NsName, Option<&str>> = HashMap::new();
        for e in &inv.events {
            match e {
                ControllerEvent::ClaimCreated { namespace, claim, set } => {
                    created_by.insert((namespace, claim), set);
                }
                ControllerEvent::PodDeleted { namespace, pod, at, .. } => {
                    let slot = pod_deleted.entry((namespace, pod)).or_insert(None);
                    // Keep the latest (RFC 3339 UTC strings order by time).
                    if at.as_deref() > *slot {
                        *slot = at.as_deref();
                    }
                }
            }
        }
        // Claims per candidate group (namespace, template, set) for claims matching no
        // live set: group size and whether the group shares one label set.
        let mut groups: HashMap<(&str, &str, &str), Group> = HashMap::new();
        for c in &inv.claims {
            for (t, s, _) in claim_name_splits(&c.name) {
                let g = groups.entry((c.namespace.as_str(), t, s)).or_insert((0, None, true));
                g.0 += 1;
                match g.1 {
                    None => g.1 = Some(&c.labels),
                    Some(l) if l != &c.labels => g.2 = false,
                    Some(_) => {}
                }
            }
        }
        ClaimIndex {
            sets,
            set_uids,
            pod_uids,
            mounts,
            volumes,
            created_by,
            pod_deleted,
            groups,
        }
    }

    /// The class of one claim, with its evidence and what Kubernetes will do with it.
    pub fn classify(&self, c: &ClaimInfo) -> ClaimFinding {
        let ns = c.namespace.as_str();
        let mounted_by: Vec<String> = self
            .mounts
            .get(&(ns, c.name.as_str()))
            .map(|v| v.iter().map(|s| s.to_string()).collect())
            .unwrap_or_default();
        let pv = c.volume.as_deref().and_then(|v| self.volumes.as_ref()?.get(v).copied());
        let mut f = ClaimFinding {
            claim: c.clone(),
            reason: Reason::Unmounted,
            statefulset: None,
            template: None,
            ordinal: None,
            confidence: None,
            evidence: Vec::new(),
            cleanup: Cleanup::Never,
            note: String::new(),
            mounted_by,
            reclaim_policy: pv.and_then(|v| v.reclaim_policy.clone()),
            last_mounted: None,
            bytes: c.capacity.as_deref().and_then(super::quantity::parse_bytes),
            drift: Vec::new(),
        };

        // Owners: what the garbage collector will do.
        let states = self.owner_states(c);
        let owned_by_live_set = |set: &SetInfo| {
            states
                .iter()
                .any(|(r, st)| r.uid == set.uid && matches!(st, OwnerState::Alive))
        };
        let live_pod_owner = states
            .iter()
            .find(|(r, st)| r.kind == "Pod" && matches!(st, OwnerState::Alive))
            .map(|(r, _)| r.name.clone());
        let other_owner = states.iter().any(|(_, st)| matches!(st, OwnerState::Unknown));
        f.cleanup =
            if c.deleting || (!states.is_empty() && states.iter().all(|(_, st)| matches!(st, OwnerState::Going))) {
                Cleanup::GarbageCollector
            } else if live_pod_owner.is_some() {
                Cleanup::WithPod
            } else if states
                .iter()
                .any(|(r, st)| r.kind == "StatefulSet" && matches!(st, OwnerState::Alive))
            {
                Cleanup::WithStatefulset
            } else if other_owner {
                Cleanup::OtherOwner
            } else {
                Cleanup::Never
            };

        // Who it belongs to by name: a live set with this template, exactly.
        let splits = claim_name_splits(&c.name);
        let live: Vec<(&str, &SetInfo, i32)> = splits
            .iter()
            .filter_map(|&(t, s, o)| {
                let set = self.sets.get(&(ns, s))?;
                set.templates.iter().any(|x| x == t).then_some((t, *set, o))
            })
            .collect();
        let live_match = live
            .iter()
            .find(|(_, s, _)| owned_by_live_set(s))
            .or(live.first())
            .copied();
        if let Some((t, set, o)) = live_match {
            f.statefulset = Some(set.name.clone());
            f.template = Some(t.to_string());
            f.ordinal = Some(o);
            if !set.range.contains(o)
                && let Some(spec) = set.claim_specs.iter().find(|s| s.name == t)
            {
                let facts = crate::model::drift::ClaimFacts {
                    leftover: true,
                    ..c.facts.clone()
                };
                f.drift = crate::model::drift::drift_of(spec, &facts);
            }
        }

        if !f.mounted_by.is_empty() {
            f.reason = Reason::InUse;
            f.note = format!("mounted by pod {}", f.mounted_by.join(", "));
            return f;
        }
        if f.cleanup == Cleanup::GarbageCollector {
            f.reason = Reason::PendingCleanup;
            f.note = if c.deleting {
                "being deleted (waits for the kubernetes.io/pvc-protection finalizer until no pod uses it)".into()
            } else {
                let owners: Vec<String> = c.owners.iter().map(|r| format!("{} {}", r.kind, r.name)).collect();
                format!(
                    "every owner ({}) is gone or being deleted: the garbage collector deletes it",
                    owners.join(", ")
                )
            };
            return f;
        }

        if let Some((_, set, o)) = live_match {
            f.last_mounted = Some(last_mounted(&set.name, o, ns, c, pv, &self.pod_deleted));
            if set.range.contains(o) {
                f.reason = Reason::Unmounted;
                f.note = format!(
                    "claim of {} ordinal {o}, which is in range: its pod {} is not running right now",
                    set.name,
                    pod_name(&set.name, o)
                );
                return f;
            }
            f.reason = Reason::ScaledIn;
            f.evidence.push(format!(
                "name matches template of live StatefulSet {}, ordinal {o} outside {}",
                set.name,
                range_text(set.range)
            ));
            f.note = scaled_in_note(set, o, f.cleanup, live_pod_owner.as_deref());
            return f;
        }

        // A StatefulSet that no longer exists?
        if splits.is_empty() {
            f.reason = Reason::Unmounted;
            f.note = "no pod self.mounts it; its name is not <template>-<statefulset>-<ordinal>".into();
            return f;
        }
        self.left_by_deleted_set(f, c, &splits, pv)
    }

    /// Each owner reference of `c` and whether that owner is alive, going, or unknown here.
    fn owner_states<'c>(&self, c: &'c ClaimInfo) -> Vec<(&'c OwnerRef, OwnerState)> {
        let ns = c.namespace.as_str();
        c.owners
            .iter()
            .map(|r| {
                let alive = |deleting: bool| if deleting { OwnerState::Going } else { OwnerState::Alive };
                let st = match r.kind.as_str() {
                    "StatefulSet" => self
                        .set_uids
                        .get(r.uid.as_str())
                        .filter(|s| s.namespace == ns)
                        .map_or(OwnerState::Going, |s| alive(s.deleting)),
                    "Pod" => self
                        .pod_uids
                        .get(r.uid.as_str())
                        .filter(|p| p.namespace == ns)
                        .map_or(OwnerState::Going, |p| alive(p.deleting)),
                    _ => OwnerState::Unknown,
                };
                (r, st)
            })
            .collect()
    }

    /// A claim named for a StatefulSet that no longer exists: which one, and how sure.
    fn left_by_deleted_set(
        &self,
        mut f: ClaimFinding,
        c: &ClaimInfo,
        splits: &[(&'a str, &'a str, i32)],
        pv: Option<&VolumeInfo>,
    ) -> ClaimFinding {
        let ns = c.namespace.as_str();
        let event_set = self.created_by.get(&(ns, c.name.as_str())).copied();
        let owner_set = c
            .owners
            .iter()
            .find(|r| r.kind == "StatefulSet" && splits.iter().any(|(_, s, _)| *s == r.name))
            .map(|r| r.name.as_str());
        let pick = splits
            .iter()
            .find(|(_, s, _)| Some(*s) == event_set)
            .or_else(|| splits.iter().find(|(_, s, _)| Some(*s) == owner_set))
            .or_else(|| {
                // The split most claims share (ties: shortest template, as templates
                // rarely contain dashes and set names often do).
                splits.iter().max_by_key(|(t, s, _)| {
                    (
                        self.groups.get(&(ns, *t, *s)).map_or(0, |g| g.0),
                        std::cmp::Reverse(t.len()),
                    )
                })
            })
            .copied()
            .expect("splits is not empty");
        let (t, s, o) = pick;
        f.reason = Reason::StatefulsetDeleted;
        f.statefulset = Some(s.to_string());
        f.template = Some(t.to_string());
        f.ordinal = Some(o);
        f.last_mounted = Some(last_mounted(s, o, ns, c, pv, &self.pod_deleted));
        let mut confidence = Confidence::NameOnly;
        if event_set == Some(s) {
            f.evidence.push(format!(
                "statefulset-controller event: created this claim for StatefulSet {s}"
            ));
            confidence = Confidence::High;
        }
        if owner_set == Some(s) {
            f.evidence
                .push(format!("owner reference to StatefulSet {s} (no longer exists)"));
            confidence = Confidence::High;
        }
        let group = self.groups.get(&(ns, t, s)).copied().unwrap_or((1, None, true));
        if !c.labels.is_empty() {
            if group.0 >= 2 && group.2 {
                f.evidence.push(format!(
                    "labels {} identical on all {} claims {t}-{s}-*, as the controller stamps the set's selector labels",
                    labels_text(&c.labels),
                    group.0
                ));
                confidence = Confidence::High;
            } else {
                f.evidence.push(format!(
                    "labels {} present{}",
                    labels_text(&c.labels),
                    if group.0 >= 2 {
                        " but differ between the claims of the group"
                    } else {
                        " (the only claim of its group)"
                    }
                ));
                confidence = confidence.max(Confidence::Medium);
            }
        }
        if let Some(same_name) = self.sets.get(&(ns, s)) {
            f.evidence.push(format!(
                "a live StatefulSet {s} exists, but without claim template {t} (templates: {})",
                same_name.templates.join(",")
            ));
            confidence = confidence.min(Confidence::Medium);
        }
        if splits.len() > 1 && event_set.is_none() && owner_set.is_none() {
            f.evidence.push(format!(
                "name splits {} ways; read as template {t}, StatefulSet {s}",
                splits.len()
            ));
        }
        if f.evidence.is_empty() {
            f.evidence
                .push("name only: no labels, owner reference or controller event".into());
        }
        f.confidence = Some(confidence);
        f.note = format!(
            "no live StatefulSet {s}{}; {}",
            match f.cleanup {
                Cleanup::OtherOwner => " (owned by something else)",
                _ => "",
            },
            match confidence {
                Confidence::High => "left behind by it (Kubernetes will not delete it)",
                Confidence::Medium => "probably left behind by it: check before deleting",
                Confidence::NameOnly => "only the name matches: it may not come from a StatefulSet",
            }
        );
        f
    }
}

/// Every claim of the inventory, classified (see [`ClaimIndex`]).
pub fn classify_iter(inv: &Inventory) -> impl Iterator<Item = ClaimFinding> + '_ {
    let index = ClaimIndex::new(inv);
    inv.claims.iter().map(move |c| index.classify(c))
}

fn range_text(r: OrdinalRange) -> String {
    if r.is_empty() {
        "the empty range (0 replicas)".into()
    } else {
        format!("[{}, {})", r.start, r.end())
    }
}

fn labels_text(l: &BTreeMap<String, String>) -> String {
    l.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
}

fn scaled_in_note(set: &SetInfo, o: i32, cleanup: Cleanup, pod_owner: Option<&str>) -> String {
    let back = if o >= set.range.start {
        format!(
            "reused if {} scales to {} or more replicas",
            set.name,
            o - set.range.start + 1
        )
    } else {
        format!("ordinal {o} is below the start ordinal {}", set.range.start)
    };
    let fate = match cleanup {
        Cleanup::WithPod => format!(
            "owned by pod {} (whenScaled: Delete): Kubernetes deletes it with that pod",
            pod_owner.unwrap_or("?")
        ),
        Cleanup::WithStatefulset if set.retention.when_scaled == crate::model::statefulset::Retention::Delete => {
            "whenScaled is Delete but the claim has no reference to its pod (it was gone before the policy applied): Kubernetes keeps it until the StatefulSet is deleted (whenDeleted: Delete)".into()
        }
        Cleanup::WithStatefulset => {
            "whenScaled: Retain keeps it; deleted with the StatefulSet (whenDeleted: Delete, owner reference)".into()
        }
        Cleanup::OtherOwner => "owned by another object: its fate follows that owner".into(),
        _ if set.retention.when_scaled == crate::model::statefulset::Retention::Delete => {
            "whenScaled is Delete but the claim has no reference to its pod (it was gone before the policy applied): Kubernetes will not delete it".into()
        }
        _ => "whenScaled: Retain: Kubernetes will not delete it".into(),
    };
    format!("{back}; {fate}")
}

fn last_mounted(
    set: &str,
    o: i32,
    ns: &str,
    c: &ClaimInfo,
    pv: Option<&VolumeInfo>,
    pod_deleted: &HashMap<NsName, Option<&str>>,
) -> LastMounted {
    let pod = pod_name(set, o);
    LastMounted {
        pod_deleted_at: pod_deleted
            .get(&(ns, pod.as_str()))
            .copied()
            .flatten()
            .map(str::to_string),
        pod,
        unused_since: c.facts.unused_since.clone(),
        node: c.selected_node.clone().or_else(|| pv.and_then(|v| v.node.clone())),
    }
}

#[cfg(test)]
mod tests;
