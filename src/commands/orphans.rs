//! `kubectl sts orphans [prune]`: the PVCs StatefulSets left behind, exactly, with cost,
//! and a guarded prune.
//!
//! gather (per cluster, a fixed number of paginated lists: StatefulSets, PVCs, pods,
//! PVs, StatefulSet events; no per-object GETs) -> [`claims::classify`] (pure) ->
//! render (table / JSON / YAML). Several `--context`s or `--all-contexts` run the
//! clusters concurrently; a cluster that fails is reported in its own section.
//!
//! Prune re-checks every planned claim right before deleting it: a fresh GET (same UID
//! and resourceVersion, not terminating), a fresh pod list of its namespace (still not
//! mounted), a fresh GET of its StatefulSet (ordinal still out of range / set still
//! gone), then a DELETE with UID + resourceVersion preconditions.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use comfy_table::Cell;
use futures::StreamExt;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Event, PersistentVolume, PersistentVolumeClaim, Pod};
use kube::api::{Api, DeleteParams, ListParams, Preconditions};
use serde::Serialize;

use crate::cli::{GlobalArgs, OrphansAction, OrphansArgs, OrphansScope, OutputFormat, PruneArgs};
use crate::error::{CliError, ErrorKind, Result, Target};
use crate::gather::{self, api};
use crate::kubeconfig::Kube;
use crate::model::claims::{
    self, ClaimInfo, Cleanup, Confidence, ControllerEvent, Finding, Inventory, LastMounted, OwnerRef, PodInfo, Reason,
    SetInfo, VolumeInfo,
};
use crate::model::duration::human_duration;
use crate::model::quantity::format_bytes;
use crate::model::statefulset::Facts;
use crate::render::{self, Style, Tone};

pub const API_VERSION: &str = "kubectl-sts/v1";

/// How many clusters are audited at once in fleet mode.
const FLEET_CONCURRENCY: usize = 8;

// ---------------------------------------------------------------------------------
// Report schema (docs/json-schemas.md, "orphans").
// ---------------------------------------------------------------------------------

/// `kubectl sts orphans -o json|yaml`: one entry per cluster (one without `--context`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrphanReport {
    pub api_version: &'static str,
    /// `OrphanReport`.
    pub kind: &'static str,
    pub clusters: Vec<ClusterReport>,
    /// Sums over every cluster that answered.
    pub totals: Totals,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterReport {
    /// Kubeconfig context name.
    pub context: String,
    /// API server URL (empty when the context could not be loaded).
    pub server: String,
    /// The namespace searched; null with `-A`.
    pub namespace: Option<String>,
    /// Why this cluster could not be audited (null when it was).
    pub error: Option<String>,
    /// Degradations, e.g. PersistentVolumes not listable (no reclaim policies).
    pub warnings: Vec<String>,
    /// False when PVs could not be read: every `reclaimPolicy` is then null.
    pub reclaim_policies_known: bool,
    /// Every claim that is not in use (`unmounted` ones only with `--include-unmounted`).
    pub claims: Vec<ClaimEntry>,
    pub totals: Totals,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimEntry {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub resource_version: String,
    /// `scaled-in`, `statefulset-deleted`, `pending-cleanup` or `unmounted`.
    pub reason: Reason,
    /// True for scaled-in and statefulset-deleted: nothing uses it and Kubernetes keeps it.
    pub orphan: bool,
    /// `prune` would delete it (scaled-in, or statefulset-deleted with high confidence).
    pub prunable: bool,
    pub stateful_set: Option<String>,
    pub template: Option<String>,
    pub ordinal: Option<i32>,
    /// For statefulset-deleted: `high`, `medium` or `name-only`.
    pub confidence: Option<Confidence>,
    pub evidence: Vec<String>,
    /// What Kubernetes will do: `never`, `with-statefulset`, `with-pod`, `garbage-collector`, `other-owner`.
    pub cleanup: Cleanup,
    pub note: String,
    pub owner_references: Vec<OwnerRef>,
    pub phase: Option<String>,
    /// As written in the claim (`20Gi`).
    pub capacity: Option<String>,
    pub capacity_bytes: Option<u128>,
    pub storage_class: Option<String>,
    pub volume: Option<String>,
    /// The bound PV's `persistentVolumeReclaimPolicy`: `Delete` means deleting the claim destroys the data.
    pub reclaim_policy: Option<String>,
    pub access_modes: Vec<String>,
    pub volume_mode: Option<String>,
    pub created: Option<String>,
    pub age_seconds: Option<i64>,
    pub last_mounted: Option<LastMounted>,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    /// scaled-in + statefulset-deleted claims.
    pub orphans: usize,
    pub orphan_bytes: u128,
    /// `orphanBytes` for people (`60Gi`).
    pub orphan_capacity: String,
    pub scaled_in: usize,
    pub statefulset_deleted: usize,
    pub pending_cleanup: usize,
    pub unmounted: usize,
    pub prunable: usize,
    /// Orphans whose capacity did not parse as a quantity (not in the byte totals).
    pub unknown_capacity: usize,
    /// Orphaned capacity per StorageClass (`<none>` for claims without one).
    pub by_storage_class: Vec<ClassTotal>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClassTotal {
    pub storage_class: String,
    pub claims: usize,
    pub bytes: u128,
    pub capacity: String,
}

// ---------------------------------------------------------------------------------
// Gather.
// ---------------------------------------------------------------------------------

/// One cluster's audit: the client (for prune) and every claim's finding.
struct Audit {
    context: String,
    server: String,
    namespace: Option<String>,
    kube: Option<Kube>,
    warnings: Vec<String>,
    reclaim_known: bool,
    findings: Vec<Finding>,
    error: Option<CliError>,
}

fn owner_refs(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> Vec<OwnerRef> {
    meta.owner_references
        .iter()
        .flatten()
        .map(|r| OwnerRef {
            api_version: r.api_version.clone(),
            kind: r.kind.clone(),
            name: r.name.clone(),
            uid: r.uid.clone(),
            controller: r.controller.unwrap_or(false),
        })
        .collect()
}

pub fn set_info(s: &StatefulSet) -> SetInfo {
    let f = Facts::of(s);
    SetInfo {
        range: f.ordinals(),
        namespace: f.namespace,
        name: f.name,
        uid: s.metadata.uid.clone().unwrap_or_default(),
        templates: f.claim_templates,
        retention: f.retention,
        deleting: s.metadata.deletion_timestamp.is_some(),
    }
}

pub fn claim_info(c: PersistentVolumeClaim) -> ClaimInfo {
    let m = c.metadata;
    let spec = c.spec.unwrap_or_default();
    let status = c.status.unwrap_or_default();
    ClaimInfo {
        owners: owner_refs(&m),
        namespace: m.namespace.unwrap_or_default(),
        name: m.name.unwrap_or_default(),
        uid: m.uid.unwrap_or_default(),
        resource_version: m.resource_version.unwrap_or_default(),
        labels: m.labels.unwrap_or_default(),
        deleting: m.deletion_timestamp.is_some(),
        selected_node: m
            .annotations
            .as_ref()
            .and_then(|a| a.get("volume.kubernetes.io/selected-node").cloned()),
        created: m.creation_timestamp.map(|t| t.0),
        phase: status.phase,
        capacity: status
            .capacity
            .as_ref()
            .and_then(|c| c.get("storage"))
            .or_else(|| spec.resources.as_ref()?.requests.as_ref()?.get("storage"))
            .map(|q| q.0.clone()),
        storage_class: spec.storage_class_name,
        volume: spec.volume_name.filter(|v| !v.is_empty()),
        access_modes: spec.access_modes.unwrap_or_default(),
        volume_mode: spec.volume_mode,
    }
}

pub fn pod_info(p: Pod) -> PodInfo {
    let name = p.metadata.name.unwrap_or_default();
    // Borrowing iteration, not `into_iter().filter_map().collect()`: that collects in
    // place, and the Vec<String> would keep the Vec<Volume> allocation (~3 KB per pod,
    // 29 MB of the 10,000-claim benchmark's heap).
    let claims = p
        .spec
        .as_ref()
        .and_then(|s| s.volumes.as_ref())
        .map(|vs| {
            vs.iter()
                .filter_map(|v| {
                    if let Some(c) = &v.persistent_volume_claim {
                        Some(c.claim_name.clone())
                    } else {
                        // Generic ephemeral volumes: the claim is `<pod>-<volume>`.
                        v.ephemeral.as_ref().map(|_| format!("{name}-{}", v.name))
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    PodInfo {
        namespace: p.metadata.namespace.unwrap_or_default(),
        uid: p.metadata.uid.unwrap_or_default(),
        deleting: p.metadata.deletion_timestamp.is_some(),
        name,
        claims,
    }
}

pub fn volume_info(v: PersistentVolume) -> VolumeInfo {
    let spec = v.spec.unwrap_or_default();
    let node = spec
        .node_affinity
        .as_ref()
        .and_then(|a| a.required.as_ref())
        .and_then(|r| {
            r.node_selector_terms.iter().find_map(|t| {
                t.match_expressions
                    .iter()
                    .flatten()
                    .find(|e| e.key == "kubernetes.io/hostname" && e.operator == "In")
                    .and_then(|e| e.values.as_ref()?.first().cloned())
            })
        });
    VolumeInfo {
        name: v.metadata.name.unwrap_or_default(),
        reclaim_policy: spec.persistent_volume_reclaim_policy,
        phase: v.status.and_then(|s| s.phase),
        node,
    }
}

fn event_info(e: Event) -> Option<ControllerEvent> {
    let at = e
        .last_timestamp
        .map(|t| t.0.to_string())
        .or_else(|| e.event_time.map(|t| t.0.to_string()))
        .or_else(|| e.first_timestamp.map(|t| t.0.to_string()));
    ControllerEvent::parse(
        e.metadata.namespace.as_deref().unwrap_or_default(),
        e.reason.as_deref().unwrap_or_default(),
        e.message.as_deref().unwrap_or_default(),
        at,
    )
}

/// The five lists of one cluster, concurrently. PVs and events degrade to warnings
/// when forbidden; StatefulSets, PVCs and pods are required (without pods we cannot
/// know what is mounted).
async fn gather_inventory(kube: &Kube, ns: Option<&str>, selector: Option<&str>) -> Result<(Inventory, Vec<String>)> {
    let mut pvc_lp = ListParams::default();
    if let Some(sel) = selector {
        pvc_lp = pvc_lp.labels(sel);
    }
    let sets = gather::list_map(
        kube,
        api::<StatefulSet>(kube, ns),
        ListParams::default(),
        Target::new("list", "statefulset", None, ns),
        |s| Some(set_info(&s)),
    );
    let claims = gather::list_map(
        kube,
        api::<PersistentVolumeClaim>(kube, ns),
        pvc_lp,
        Target::new("list", "persistentvolumeclaim", None, ns),
        |c| Some(claim_info(c)),
    );
    let pods = gather::list_map(
        kube,
        api::<Pod>(kube, ns),
        ListParams::default(),
        Target::new("list", "pod", None, ns),
        |p| Some(pod_info(p)),
    );
    let volumes = gather::list_map(
        kube,
        Api::<PersistentVolume>::all(kube.client.clone()),
        ListParams::default(),
        Target::new("list", "persistentvolume", None, None),
        |v| Some(volume_info(v)),
    );
    let events = gather::list_map(
        kube,
        api::<Event>(kube, ns),
        ListParams::default().fields("involvedObject.kind=StatefulSet"),
        Target::new("list", "event", None, ns),
        event_info,
    );
    let (sets, claims, pods, volumes, events) = futures::join!(sets, claims, pods, volumes, events);
    let (sets, claims, pods) = (sets?, claims?, pods?);
    let mut warnings = Vec::new();
    let volumes = match volumes {
        Ok(v) => Some(v),
        Err(e) if e.is(ErrorKind::Forbidden) => {
            warnings.push(format!(
                "cannot read PersistentVolumes ({}); the RECLAIM column is left out, so check each PV's reclaim policy before deleting",
                e.message
            ));
            None
        }
        Err(e) => return Err(e),
    };
    let events = match events {
        Ok(v) => v,
        Err(e) => {
            warnings.push(format!(
                "cannot read StatefulSet events ({}); confidence and last-mounted hints use labels and owner references only",
                e.message
            ));
            Vec::new()
        }
    };
    Ok((
        Inventory {
            sets,
            claims,
            pods,
            volumes,
            events,
        },
        warnings,
    ))
}

async fn audit(global: GlobalArgs, scope: OrphansScope, context_label: Option<String>) -> Audit {
    let mut a = Audit {
        context: context_label.clone().unwrap_or_default(),
        server: String::new(),
        namespace: None,
        kube: None,
        warnings: Vec::new(),
        reclaim_known: false,
        findings: Vec::new(),
        error: None,
    };
    let kube = match Kube::connect(&global).await {
        Ok(k) => k,
        Err(e) => {
            a.error = Some(e);
            return a;
        }
    };
    a.context = kube.endpoint.context.clone();
    a.server = kube.endpoint.server.clone();
    let ns = (!scope.all_namespaces).then(|| kube.namespace.clone());
    a.namespace = ns.clone();
    match gather_inventory(&kube, ns.as_deref(), scope.selector.as_deref()).await {
        Ok((inv, warnings)) => {
            if inv.claims.is_empty()
                && let Some(ns) = &ns
                && let Some(e) = gather::namespace_missing(&kube, ns).await
            {
                a.error = Some(e);
                return a;
            }
            a.reclaim_known = inv.volumes.is_some();
            a.warnings = warnings;
            // Streamed: in-use claims (most of them) are dropped as they are classified.
            a.findings = claims::classify_iter(&inv)
                .filter(|f| match f.reason {
                    Reason::InUse => false,
                    Reason::Unmounted => scope.include_unmounted,
                    _ => true,
                })
                .collect();
        }
        Err(e) => a.error = Some(e),
    }
    a.kube = Some(kube);
    a
}

/// `Some(contexts)` in fleet mode (several `--context` or `--all-contexts`).
fn fleet_contexts(global: &GlobalArgs, scope: &OrphansScope) -> Result<Option<Vec<String>>> {
    if scope.all_contexts {
        let kc = match &global.kubeconfig {
            Some(p) => kube::config::Kubeconfig::read_from(p),
            None => kube::config::Kubeconfig::read(),
        }
        .map_err(|e| CliError::usage(format!("--all-contexts: cannot read the kubeconfig: {e}")))?;
        let names: Vec<String> = kc.contexts.into_iter().map(|c| c.name).collect();
        if names.is_empty() {
            return Err(CliError::usage(
                "--all-contexts: the kubeconfig has no contexts (list them with kubectl config get-contexts)",
            ));
        }
        return Ok(Some(names));
    }
    // `kubectl sts --context a orphans --context b`: the one before the subcommand
    // lands in the global flag; count it too.
    let mut names: Vec<String> = Vec::new();
    for c in global.context.iter().chain(&scope.contexts) {
        if !names.contains(c) {
            names.push(c.clone());
        }
    }
    Ok((names.len() > 1).then_some(names))
}

/// Audit every cluster in scope; in single mode an error is returned as is.
async fn audits(global: &GlobalArgs, scope: &OrphansScope) -> Result<(Vec<Audit>, bool)> {
    match fleet_contexts(global, scope)? {
        None => {
            let mut g = global.clone();
            if let Some(c) = scope.contexts.first().or(global.context.as_ref()) {
                g.context = Some(c.clone());
            }
            let mut a = audit(g, scope.clone(), None).await;
            if let Some(e) = a.error.take() {
                return Err(e);
            }
            Ok((vec![a], false))
        }
        Some(names) => {
            let all = futures::stream::iter(names.into_iter().map(|name| {
                let mut g = global.clone();
                g.context = Some(name.clone());
                audit(g, scope.clone(), Some(name))
            }))
            .buffered(FLEET_CONCURRENCY)
            .collect::<Vec<_>>()
            .await;
            Ok((all, true))
        }
    }
}

// ---------------------------------------------------------------------------------
// Decide the report.
// ---------------------------------------------------------------------------------

fn entry(f: &Finding, now: jiff::Timestamp) -> ClaimEntry {
    let c = &f.claim;
    ClaimEntry {
        namespace: c.namespace.clone(),
        name: c.name.clone(),
        uid: c.uid.clone(),
        resource_version: c.resource_version.clone(),
        reason: f.reason,
        orphan: f.is_orphan(),
        prunable: f.prunable(),
        stateful_set: f.statefulset.clone(),
        template: f.template.clone(),
        ordinal: f.ordinal,
        confidence: f.confidence,
        evidence: f.evidence.clone(),
        cleanup: f.cleanup,
        note: f.note.clone(),
        owner_references: c.owners.clone(),
        phase: c.phase.clone(),
        capacity: c.capacity.clone(),
        capacity_bytes: f.bytes,
        storage_class: c.storage_class.clone(),
        volume: c.volume.clone(),
        reclaim_policy: f.reclaim_policy.clone(),
        access_modes: c.access_modes.clone(),
        volume_mode: c.volume_mode.clone(),
        created: c.created.map(|t| t.to_string()),
        age_seconds: c.created.map(|t| now.duration_since(t).as_secs().max(0)),
        last_mounted: f.last_mounted.clone(),
    }
}

/// Totals over findings: orphan counts and orphaned capacity per StorageClass.
pub fn totals<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Totals {
    let mut t = Totals::default();
    let mut by_class: BTreeMap<String, (usize, u128)> = BTreeMap::new();
    for f in findings {
        match f.reason {
            Reason::ScaledIn => t.scaled_in += 1,
            Reason::StatefulsetDeleted => t.statefulset_deleted += 1,
            Reason::PendingCleanup => t.pending_cleanup += 1,
            Reason::Unmounted => t.unmounted += 1,
            Reason::InUse => {}
        }
        if f.prunable() {
            t.prunable += 1;
        }
        if !f.is_orphan() {
            continue;
        }
        t.orphans += 1;
        let class = f.claim.storage_class.clone().unwrap_or_else(|| "<none>".into());
        let slot = by_class.entry(class).or_default();
        slot.0 += 1;
        match f.bytes {
            Some(b) => {
                // Saturating: a quantity can be as large as u128 allows (38 digits).
                slot.1 = slot.1.saturating_add(b);
                t.orphan_bytes = t.orphan_bytes.saturating_add(b);
            }
            None => t.unknown_capacity += 1,
        }
    }
    t.orphan_capacity = format_bytes(t.orphan_bytes);
    t.by_storage_class = by_class
        .into_iter()
        .map(|(storage_class, (claims, bytes))| ClassTotal {
            storage_class,
            claims,
            bytes,
            capacity: format_bytes(bytes),
        })
        .collect();
    t
}

fn report(audits: &[Audit], now: jiff::Timestamp) -> OrphanReport {
    let clusters = audits
        .iter()
        .map(|a| ClusterReport {
            context: a.context.clone(),
            server: a.server.clone(),
            namespace: a.namespace.clone(),
            error: a.error.as_ref().map(|e| e.message.clone()),
            warnings: a.warnings.clone(),
            reclaim_policies_known: a.reclaim_known,
            claims: a.findings.iter().map(|f| entry(f, now)).collect(),
            totals: totals(&a.findings),
        })
        .collect();
    OrphanReport {
        api_version: API_VERSION,
        kind: "OrphanReport",
        clusters,
        totals: totals(audits.iter().flat_map(|a| a.findings.iter())),
    }
}

// ---------------------------------------------------------------------------------
// Render.
// ---------------------------------------------------------------------------------

fn age(secs: Option<i64>) -> String {
    secs.map(|s| human_duration(std::time::Duration::from_secs(s.max(0) as u64)))
        .unwrap_or_else(|| "<unknown>".into())
}

fn access_modes(modes: &[String]) -> String {
    if modes.is_empty() {
        return "<none>".into();
    }
    modes
        .iter()
        .map(|m| match m.as_str() {
            "ReadWriteOnce" => "RWO",
            "ReadOnlyMany" => "ROX",
            "ReadWriteMany" => "RWX",
            "ReadWriteOncePod" => "RWOP",
            other => other,
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn reason_text(e: &ClaimEntry) -> String {
    match e.confidence {
        Some(c) => format!("{}({})", e.reason.as_str(), c.as_str()),
        None => e.reason.as_str().to_string(),
    }
}

fn last_mounted_text(l: Option<&LastMounted>, now: jiff::Timestamp) -> String {
    let Some(l) = l else { return "<unknown>".into() };
    let mut s = format!("pod {}", l.pod);
    if let Some(at) = &l.pod_deleted_at {
        match at.parse::<jiff::Timestamp>() {
            Ok(t) => {
                let secs = now.duration_since(t).as_secs().max(0) as u64;
                s += &format!(" until {} ago", human_duration(std::time::Duration::from_secs(secs)));
            }
            Err(_) => s += &format!(" until {at}"),
        }
    }
    if let Some(n) = &l.node {
        s += &format!(" on {n}");
    }
    s
}

struct Columns {
    context: bool,
    namespace: bool,
    reclaim: bool,
    wide: bool,
}

fn claims_table(
    cluster: &ClusterReport,
    cols: &Columns,
    global: &GlobalArgs,
    style: Style,
    now: jiff::Timestamp,
) -> String {
    let mut headers = vec![];
    if cols.context {
        headers.push("CONTEXT");
    }
    if cols.namespace {
        headers.push("NAMESPACE");
    }
    headers.extend([
        "NAME",
        "STATEFULSET",
        "ORDINAL",
        "REASON",
        "CAPACITY",
        "STORAGECLASS",
        "PV",
    ]);
    if cols.reclaim {
        headers.push("RECLAIM");
    }
    headers.push("AGE");
    if cols.wide {
        headers.extend(["ACCESS MODES", "VOLUMEMODE", "LAST MOUNTED", "NOTE"]);
    }
    let rows = cluster
        .claims
        .iter()
        .map(|e| {
            let mut row = vec![];
            if cols.context {
                row.push(Cell::new(&cluster.context));
            }
            if cols.namespace {
                row.push(Cell::new(&e.namespace));
            }
            let tone = match (e.reason, e.confidence) {
                (Reason::PendingCleanup, _) | (Reason::Unmounted, _) => Tone::Dim,
                (Reason::StatefulsetDeleted, Some(Confidence::High)) | (Reason::ScaledIn, _) => Tone::Warn,
                _ => Tone::Plain,
            };
            row.extend([
                Cell::new(&e.name),
                Cell::new(e.stateful_set.as_deref().unwrap_or("<none>")),
                Cell::new(e.ordinal.map_or("<none>".into(), |o| o.to_string())),
                style.cell(reason_text(e), tone),
                Cell::new(e.capacity.as_deref().unwrap_or("<none>")),
                Cell::new(e.storage_class.as_deref().unwrap_or("<none>")),
                Cell::new(e.volume.as_deref().unwrap_or("<none>")),
            ]);
            if cols.reclaim {
                let r = e.reclaim_policy.as_deref().unwrap_or("<none>");
                row.push(style.cell(r, if r == "Delete" { Tone::Bad } else { Tone::Plain }));
            }
            row.push(Cell::new(age(e.age_seconds)));
            if cols.wide {
                row.push(Cell::new(access_modes(&e.access_modes)));
                row.push(Cell::new(e.volume_mode.as_deref().unwrap_or("<none>")));
                row.push(Cell::new(last_mounted_text(e.last_mounted.as_ref(), now)));
                row.push(Cell::new(&e.note));
            }
            row
        })
        .collect();
    render::table(&headers, rows, global.no_headers)
}

fn plural(n: usize, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

fn footer(t: &Totals) -> String {
    let mut out = format!(
        "Orphaned: {}, {} ({} scaled-in, {} statefulset-deleted; {} prunable)",
        plural(t.orphans, "claim"),
        t.orphan_capacity,
        t.scaled_in,
        t.statefulset_deleted,
        t.prunable
    );
    if t.unknown_capacity > 0 {
        out += &format!(", {} of unknown size", t.unknown_capacity);
    }
    out.push('\n');
    for c in &t.by_storage_class {
        out += &format!("  {}: {}, {}\n", c.storage_class, plural(c.claims, "claim"), c.capacity);
    }
    if t.pending_cleanup > 0 {
        out += &format!(
            "Pending cleanup: {} (the garbage collector deletes them)\n",
            plural(t.pending_cleanup, "claim")
        );
    }
    if t.unmounted > 0 {
        out += &format!(
            "Unmounted: {} no pod mounts (not StatefulSet leftovers, or in range but podless)\n",
            plural(t.unmounted, "claim")
        );
    }
    out
}

fn scope_text(c: &ClusterReport) -> String {
    match &c.namespace {
        Some(ns) => format!("in namespace \"{ns}\""),
        None => "in any namespace".into(),
    }
}

fn render_report(r: &OrphanReport, fleet: bool, global: &GlobalArgs, style: Style, now: jiff::Timestamp) -> String {
    let mut out = String::new();
    for (i, c) in r.clusters.iter().enumerate() {
        if fleet && !global.no_headers {
            if i > 0 {
                out.push('\n');
            }
            out += &format!(
                "== context {} ({}) ==\n",
                c.context,
                if c.server.is_empty() { "?" } else { &c.server }
            );
        }
        if let Some(e) = &c.error {
            out += &style.paint(&format!("error: {e}\n"), Tone::Bad);
            continue;
        }
        if c.claims.is_empty() {
            if !global.no_headers {
                out += &format!("No orphaned PVCs {}.\n", scope_text(c));
            }
            continue;
        }
        let cols = Columns {
            context: fleet,
            namespace: c.namespace.is_none(),
            reclaim: c.reclaim_policies_known,
            wide: global.output == OutputFormat::Wide,
        };
        out += &claims_table(c, &cols, global, style, now);
        if !global.no_headers {
            out += &footer(&c.totals);
        }
    }
    if fleet && !global.no_headers && r.clusters.len() > 1 {
        out += &format!(
            "\nAll clusters: {}, {}\n",
            plural(r.totals.orphans, "orphaned claim"),
            r.totals.orphan_capacity
        );
    }
    out
}

// ---------------------------------------------------------------------------------
// Run.
// ---------------------------------------------------------------------------------

/// `--context` and `-A`, `-l`, ... may come before or after `prune`: use both.
fn merge(parent: &OrphansScope, child: &OrphansScope) -> OrphansScope {
    let mut contexts = parent.contexts.clone();
    contexts.extend(child.contexts.iter().cloned());
    OrphansScope {
        all_namespaces: parent.all_namespaces || child.all_namespaces,
        selector: child.selector.clone().or_else(|| parent.selector.clone()),
        contexts,
        all_contexts: parent.all_contexts || child.all_contexts,
        include_unmounted: parent.include_unmounted || child.include_unmounted,
    }
}

fn print_warnings(audits: &[Audit], fleet: bool) {
    for a in audits {
        for w in &a.warnings {
            if fleet {
                crate::errln!("warning: context \"{}\": {w}", a.context);
            } else {
                crate::errln!("warning: {w}");
            }
        }
    }
}

/// Does this invocation change the cluster (it may delete), and so handle Ctrl-C itself?
pub fn changes_cluster(args: &OrphansArgs) -> bool {
    matches!(&args.action, Some(OrphansAction::Prune(p)) if !p.dry_run)
}

pub async fn run(global: &GlobalArgs, args: &OrphansArgs) -> Result<()> {
    if let Some(OrphansAction::Prune(p)) = &args.action {
        return prune(global, &merge(&args.scope, &p.scope), p).await;
    }
    let scope = &args.scope;
    let now = jiff::Timestamp::now();
    let (audits, fleet) = audits(global, scope).await?;
    let r = report(&audits, now);
    print_warnings(&audits, fleet);
    if render::is_structured(global.output) {
        crate::out!("{}", render::structured(&r, global.output)?);
    } else {
        crate::out!("{}", render_report(&r, fleet, global, Style::from_args(global), now));
    }
    for a in audits.iter().filter(|a| a.error.is_some()) {
        crate::errln!(
            "error: context \"{}\" was not audited: {}",
            a.context,
            a.error.as_ref().map(|e| e.message.as_str()).unwrap_or_default()
        );
    }
    if audits.iter().any(|a| a.error.is_some()) {
        return Err(CliError::reported(ErrorKind::Server));
    }
    if args.fail_on_orphans && r.totals.orphans > 0 {
        return Err(CliError::failed(format!(
            "{} orphaned claim(s) found (--fail-on-orphans)",
            r.totals.orphans
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// Prune.
// ---------------------------------------------------------------------------------

/// The outcome of one planned deletion.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PruneResult {
    pub context: String,
    pub namespace: String,
    pub name: String,
    /// `deleted`, `skipped`, `failed` or `not-attempted` (interrupted or stopped).
    pub result: &'static str,
    pub detail: String,
    pub capacity: Option<String>,
    pub reclaim_policy: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PruneReport {
    pub api_version: &'static str,
    /// `OrphanPrune`.
    pub kind: &'static str,
    pub dry_run: bool,
    /// The plan, as claims in the `orphans` report schema.
    pub plan: Vec<ClaimEntry>,
    /// Orphans left out of the plan (medium or name-only confidence).
    pub not_planned: Vec<ClaimEntry>,
    pub planned_bytes: u128,
    pub planned_capacity: String,
    pub results: Vec<PruneResult>,
}

fn plan_table(plan: &[(usize, &Finding)], audits: &[Audit], fleet: bool, any_ns: bool, reclaim: bool) -> String {
    let mut headers = vec![];
    if fleet {
        headers.push("CONTEXT");
    }
    if any_ns {
        headers.push("NAMESPACE");
    }
    headers.extend([
        "NAME",
        "STATEFULSET",
        "ORDINAL",
        "REASON",
        "CAPACITY",
        "STORAGECLASS",
        "PV",
    ]);
    if reclaim {
        headers.push("RECLAIM");
    }
    let rows = plan
        .iter()
        .map(|(i, f)| {
            let mut row = vec![];
            if fleet {
                row.push(Cell::new(&audits[*i].context));
            }
            if any_ns {
                row.push(Cell::new(&f.claim.namespace));
            }
            row.extend([
                Cell::new(&f.claim.name),
                Cell::new(f.statefulset.as_deref().unwrap_or("<none>")),
                Cell::new(f.ordinal.map_or("<none>".into(), |o| o.to_string())),
                Cell::new(match f.confidence {
                    Some(c) => format!("{}({})", f.reason.as_str(), c.as_str()),
                    None => f.reason.as_str().into(),
                }),
                Cell::new(f.claim.capacity.as_deref().unwrap_or("<none>")),
                Cell::new(f.claim.storage_class.as_deref().unwrap_or("<none>")),
                Cell::new(f.claim.volume.as_deref().unwrap_or("<none>")),
            ]);
            if reclaim {
                row.push(Cell::new(if audits[*i].reclaim_known {
                    f.reclaim_policy.as_deref().unwrap_or("<none>")
                } else {
                    "<unknown>"
                }));
            }
            row
        })
        .collect();
    render::table(&headers, rows, false)
}

async fn prune(global: &GlobalArgs, scope: &OrphansScope, args: &PruneArgs) -> Result<()> {
    let now = jiff::Timestamp::now();
    let structured = render::is_structured(global.output);
    // Until the first delete, an interrupt changes nothing.
    let (audits, fleet) = tokio::select! {
        r = audits(global, scope) => r?,
        () = crate::interrupt::ctrl_c() => return Err(CliError::interrupted("interrupted: nothing was deleted")),
    };
    print_warnings(&audits, fleet);
    for a in audits.iter().filter(|a| a.error.is_some()) {
        crate::errln!(
            "error: context \"{}\" skipped: {}",
            a.context,
            a.error.as_ref().map(|e| e.message.as_str()).unwrap_or_default()
        );
    }
    let plan: Vec<(usize, &Finding)> = audits
        .iter()
        .enumerate()
        .flat_map(|(i, a)| a.findings.iter().filter(|f| f.prunable()).map(move |f| (i, f)))
        .collect();
    let not_planned: Vec<&Finding> = audits
        .iter()
        .flat_map(|a| a.findings.iter())
        .filter(|f| f.is_orphan() && !f.prunable())
        .collect();
    let planned_bytes: u128 = plan.iter().filter_map(|(_, f)| f.bytes).fold(0, u128::saturating_add);
    let delete_reclaim = plan
        .iter()
        .filter(|(_, f)| f.reclaim_policy.as_deref() == Some("Delete"))
        .count();
    let reclaim_unknown = plan.iter().any(|(i, _)| !audits[*i].reclaim_known);
    let any_ns = audits.iter().any(|a| a.namespace.is_none());
    // With -o json|yaml, stdout carries only the report; the narrative goes to stderr.
    let say = |s: String| {
        if structured {
            crate::err!("{s}");
        } else {
            crate::out!("{s}");
        }
    };

    if plan.is_empty() {
        say("Nothing to prune: no scaled-in or high-confidence statefulset-deleted PVCs in scope.\n".into());
    } else {
        say(format!(
            "Plan: delete {} ({}):\n",
            plural(plan.len(), "PersistentVolumeClaim"),
            format_bytes(planned_bytes)
        ));
        say(plan_table(&plan, &audits, fleet, any_ns, true));
        if delete_reclaim > 0 {
            say(format!(
                "{} bound to PVs with reclaim policy Delete: deleting the claim destroys the data on the volume.\n",
                plural(delete_reclaim, "claim is").replace("claims is", "claims are")
            ));
        }
        if reclaim_unknown {
            say("Reclaim policies unknown (PersistentVolumes not readable): check them before deleting.\n".into());
        }
    }
    if !not_planned.is_empty() {
        say(format!(
            "Not planned: {} without enough evidence (statefulset-deleted, medium or name-only confidence): {}\n",
            plural(not_planned.len(), "orphan"),
            not_planned
                .iter()
                .map(|f| format!("{}/{}", f.claim.namespace, f.claim.name))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }

    let mut results: Vec<PruneResult> = Vec::new();
    let finish = |results: Vec<PruneResult>, dry_run: bool| -> Result<()> {
        if structured {
            let r = PruneReport {
                api_version: API_VERSION,
                kind: "OrphanPrune",
                dry_run,
                plan: plan.iter().map(|(_, f)| entry(f, now)).collect(),
                not_planned: not_planned.iter().map(|f| entry(f, now)).collect(),
                planned_bytes,
                planned_capacity: format_bytes(planned_bytes),
                results,
            };
            crate::out!("{}", render::structured(&r, global.output)?);
        }
        Ok(())
    };
    let cluster_error = audits.iter().any(|a| a.error.is_some());
    if args.dry_run || plan.is_empty() {
        if args.dry_run && !plan.is_empty() {
            say("Dry run: nothing was deleted.\n".into());
        }
        finish(results, args.dry_run)?;
        return if cluster_error {
            Err(CliError::reported(ErrorKind::Server))
        } else {
            Ok(())
        };
    }

    let contexts: Vec<&str> = {
        let mut v: Vec<&str> = plan.iter().map(|(i, _)| audits[*i].context.as_str()).collect();
        v.dedup();
        v
    };
    let action = format!(
        "delete {} ({}) in context {}",
        plural(plan.len(), "PersistentVolumeClaim"),
        format_bytes(planned_bytes),
        contexts
            .iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if !crate::confirm::confirm(&action, args.yes)? {
        say("Not confirmed: nothing was deleted.\n".into());
        finish(results, false)?;
        return Ok(());
    }

    let interrupted = Arc::new(AtomicBool::new(false));
    {
        let flag = interrupted.clone();
        tokio::spawn(async move {
            {
                crate::interrupt::ctrl_c().await;
                flag.store(true, Ordering::SeqCst);
            }
        });
    }
    for (i, f) in &plan {
        let a = &audits[*i];
        let mk = |result: &'static str, detail: String| PruneResult {
            context: a.context.clone(),
            namespace: f.claim.namespace.clone(),
            name: f.claim.name.clone(),
            result,
            detail,
            capacity: f.claim.capacity.clone(),
            reclaim_policy: f.reclaim_policy.clone(),
        };
        if interrupted.load(Ordering::SeqCst) {
            results.push(mk("not-attempted", "interrupted before this claim".into()));
            continue;
        }
        let kube = a.kube.as_ref().expect("an audited cluster has a client");
        let r = match delete_one(kube, f).await {
            Ok(Outcome::Deleted) => mk(
                "deleted",
                match f.reclaim_policy.as_deref() {
                    Some("Delete") => "deleted; its PV (reclaim Delete) is deleted with it".into(),
                    Some(p) => format!("deleted; its PV stays (reclaim {p})"),
                    None => "deleted".into(),
                },
            ),
            Ok(Outcome::Skipped(why)) => mk("skipped", why),
            Err(e) => mk("failed", e.message),
        };
        say(format!(
            "persistentvolumeclaim/{} {}{}: {}\n",
            r.name,
            r.result,
            if any_ns || fleet {
                format!(
                    " (namespace {}{})",
                    r.namespace,
                    if fleet {
                        format!(", context {}", r.context)
                    } else {
                        String::new()
                    }
                )
            } else {
                String::new()
            },
            r.detail
        ));
        results.push(r);
    }
    let count = |k: &str| results.iter().filter(|r| r.result == k).count();
    let (deleted, skipped, failed, left) = (
        count("deleted"),
        count("skipped"),
        count("failed"),
        count("not-attempted"),
    );
    say(format!(
        "Deleted {}, skipped {}, failed {}{}.\n",
        deleted,
        skipped,
        failed,
        if left > 0 {
            format!(", not attempted {left}")
        } else {
            String::new()
        }
    ));
    if failed + left > 0 {
        let remain: Vec<String> = results
            .iter()
            .filter(|r| r.result != "deleted")
            .map(|r| format!("{}/{}", r.namespace, r.name))
            .collect();
        let gone: Vec<String> = results
            .iter()
            .filter(|r| r.result == "deleted")
            .map(|r| format!("{}/{}", r.namespace, r.name))
            .collect();
        crate::errln!(
            "error: prune incomplete: deleted [{}]; still present [{}]",
            gone.join(", "),
            remain.join(", ")
        );
    }
    finish(results, false)?;
    if left > 0 {
        Err(CliError::reported(ErrorKind::Interrupted))
    } else if failed > 0 || cluster_error {
        Err(CliError::reported(ErrorKind::Server))
    } else {
        Ok(())
    }
}

enum Outcome {
    Deleted,
    Skipped(String),
}

/// Re-check one planned claim against fresh reads, then delete it with preconditions.
async fn delete_one(kube: &Kube, f: &Finding) -> Result<Outcome> {
    let c = &f.claim;
    let ns = c.namespace.as_str();
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(kube.client.clone(), ns);
    let target = |verb| Target::new(verb, "persistentvolumeclaim", Some(&c.name), Some(ns));
    let Some(fresh) = kube.call(target("get"), pvcs.get_opt(&c.name)).await? else {
        return Ok(Outcome::Skipped("already gone".into()));
    };
    if fresh.metadata.uid.as_deref() != Some(c.uid.as_str()) {
        return Ok(Outcome::Skipped(
            "replaced by a new claim of the same name since the plan".into(),
        ));
    }
    if fresh.metadata.deletion_timestamp.is_some() {
        return Ok(Outcome::Skipped("already being deleted".into()));
    }
    if fresh.metadata.resource_version.as_deref() != Some(c.resource_version.as_str()) {
        return Ok(Outcome::Skipped(
            "changed since the plan (resourceVersion differs)".into(),
        ));
    }
    let pods = gather::list_map(
        kube,
        Api::<Pod>::namespaced(kube.client.clone(), ns),
        ListParams::default(),
        Target::new("list", "pod", None, Some(ns)),
        |p| {
            let p = pod_info(p);
            p.claims.contains(&c.name).then_some(p.name)
        },
    )
    .await?;
    if !pods.is_empty() {
        return Ok(Outcome::Skipped(format!("now mounted by pod {}", pods.join(", "))));
    }
    if let (Some(set), Some(template), Some(ordinal)) = (&f.statefulset, &f.template, f.ordinal) {
        let sets: Api<StatefulSet> = Api::namespaced(kube.client.clone(), ns);
        let live = kube
            .call(
                Target::new("get", "statefulset", Some(set), Some(ns)),
                sets.get_opt(set),
            )
            .await?
            .map(|s| set_info(&s))
            .filter(|s| s.templates.iter().any(|t| t == template));
        match (f.reason, live) {
            (Reason::ScaledIn, Some(s)) if s.range.contains(ordinal) => {
                return Ok(Outcome::Skipped(format!(
                    "StatefulSet {set} now covers ordinal {ordinal} (replicas {}): it will be reused",
                    s.range.replicas
                )));
            }
            (Reason::StatefulsetDeleted, Some(_)) => {
                return Ok(Outcome::Skipped(format!(
                    "StatefulSet {set} exists again with template {template}: its claims are no longer leftovers"
                )));
            }
            _ => {}
        }
    }
    let dp = DeleteParams {
        preconditions: Some(Preconditions {
            uid: Some(c.uid.clone()),
            resource_version: Some(c.resource_version.clone()),
        }),
        ..DeleteParams::default()
    };
    match pvcs.delete(&c.name, &dp).await {
        Ok(_) => Ok(Outcome::Deleted),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(Outcome::Skipped(
            "changed between the re-check and the delete (precondition failed)".into(),
        )),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(Outcome::Skipped("already gone".into())),
        Err(e) => Err(kube.error(&e, target("delete"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::claims::ClaimInfo;

    fn finding(name: &str, reason: Reason, class: Option<&str>, cap: &str) -> Finding {
        Finding {
            claim: ClaimInfo {
                namespace: "default".into(),
                name: name.into(),
                storage_class: class.map(str::to_string),
                capacity: Some(cap.into()),
                ..ClaimInfo::default()
            },
            reason,
            statefulset: Some("web".into()),
            template: Some("data".into()),
            ordinal: Some(2),
            confidence: (reason == Reason::StatefulsetDeleted).then_some(Confidence::High),
            evidence: vec![],
            cleanup: Cleanup::Never,
            note: String::new(),
            mounted_by: vec![],
            reclaim_policy: Some("Delete".into()),
            last_mounted: None,
            bytes: crate::model::quantity::parse_bytes(cap),
        }
    }

    #[test]
    fn totals_saturate_instead_of_overflowing() {
        let huge = "300000000000000000000000000000000000000"; // 3e38, fits u128 once
        let fs = [
            finding("a", Reason::ScaledIn, Some("ssd"), huge),
            finding("b", Reason::ScaledIn, Some("ssd"), huge),
        ];
        let t = totals(&fs);
        assert_eq!(t.orphan_bytes, u128::MAX);
        assert_eq!(t.by_storage_class[0].claims, 2);
    }

    #[test]
    fn totals_per_storage_class() {
        let fs = [
            finding("a", Reason::ScaledIn, Some("ssd"), "20Gi"),
            finding("b", Reason::StatefulsetDeleted, Some("ssd"), "1.5Gi"),
            finding("c", Reason::ScaledIn, None, "1G"),
            finding("d", Reason::PendingCleanup, Some("ssd"), "100Gi"),
            finding("e", Reason::Unmounted, Some("hdd"), "1Ti"),
            finding("f", Reason::ScaledIn, Some("hdd"), "lots"),
        ];
        let t = totals(&fs);
        assert_eq!((t.orphans, t.scaled_in, t.statefulset_deleted), (4, 3, 1));
        assert_eq!((t.pending_cleanup, t.unmounted, t.unknown_capacity), (1, 1, 1));
        assert_eq!(t.orphan_bytes, (20u128 << 30) + (1536u128 << 20) + 1_000_000_000);
        let by: Vec<(&str, usize, &str)> = t
            .by_storage_class
            .iter()
            .map(|c| (c.storage_class.as_str(), c.claims, c.capacity.as_str()))
            .collect();
        assert_eq!(
            by,
            vec![("<none>", 1, "953.7Mi"), ("hdd", 1, "0"), ("ssd", 2, "21.5Gi")]
        );
    }

    #[test]
    fn scopes_merge_before_and_after_prune() {
        let parent = OrphansScope {
            all_namespaces: true,
            contexts: vec!["a".into()],
            ..OrphansScope::default()
        };
        let child = OrphansScope {
            selector: Some("app=x".into()),
            contexts: vec!["b".into()],
            ..OrphansScope::default()
        };
        let m = merge(&parent, &child);
        assert!(m.all_namespaces);
        assert_eq!(m.selector.as_deref(), Some("app=x"));
        assert_eq!(m.contexts, vec!["a", "b"]);
    }

    #[test]
    fn pod_mounts_include_ephemeral_claims() {
        let p: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web-0", "namespace": "default", "uid": "u"},
            "spec": {"containers": [], "volumes": [
                {"name": "data", "persistentVolumeClaim": {"claimName": "data-web-0"}},
                {"name": "scratch", "ephemeral": {"volumeClaimTemplate": {"spec": {}}}},
                {"name": "cfg", "configMap": {"name": "c"}}
            ]}
        }))
        .unwrap();
        assert_eq!(pod_info(p).claims, vec!["data-web-0", "web-0-scratch"]);
    }

    #[test]
    fn claim_capacity_falls_back_to_request() {
        let c: PersistentVolumeClaim = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "data-web-0", "namespace": "default",
                "annotations": {"volume.kubernetes.io/selected-node": "n1"}},
            "spec": {"resources": {"requests": {"storage": "5Gi"}}, "volumeName": ""},
            "status": {"phase": "Pending"}
        }))
        .unwrap();
        let i = claim_info(c);
        assert_eq!(i.capacity.as_deref(), Some("5Gi"));
        assert_eq!(i.volume, None);
        assert_eq!(i.selected_node.as_deref(), Some("n1"));
    }
}
