//! The `orphans` report (docs/json-schemas.md, "orphans"): built from the audits, and
//! rendered as tables with totals.

use std::collections::BTreeMap;

use comfy_table::Cell;
use serde::Serialize;

use super::API_VERSION;
use super::audit::Audit;
use crate::cli::{GlobalArgs, OutputFormat};
use crate::model::claims::{ClaimFinding, Cleanup, Confidence, LastMounted, OwnerRef, Reason};
use crate::model::duration::human_duration;
use crate::model::quantity::format_bytes;
use crate::render::{self, Style, Tone};

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
    /// A scaled-in leftover's drift from its live template (docs/json-schemas.md).
    pub drift: Vec<crate::model::drift::Drift>,
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

pub(super) fn entry(f: &ClaimFinding, now: jiff::Timestamp) -> ClaimEntry {
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
        drift: f.drift.clone(),
    }
}

/// Totals over findings: orphan counts and orphaned capacity per StorageClass.
pub(crate) fn totals<'a>(findings: impl IntoIterator<Item = &'a ClaimFinding>) -> Totals {
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

pub(super) fn report(audits: &[Audit], now: jiff::Timestamp) -> OrphanReport {
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

pub(super) fn age(secs: Option<i64>) -> String {
    secs.map(|s| human_duration(std::time::Duration::from_secs(s.max(0) as u64)))
        .unwrap_or_else(|| "<unknown>".into())
}

pub(super) fn access_modes(modes: &[String]) -> String {
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

pub(super) fn reason_text(e: &ClaimEntry) -> String {
    match e.confidence {
        Some(c) => format!("{}({})", e.reason.as_str(), c.as_str()),
        None => e.reason.as_str().to_string(),
    }
}

pub(super) fn last_mounted_text(l: Option<&LastMounted>, now: jiff::Timestamp) -> String {
    let Some(l) = l else { return "<unknown>".into() };
    let mut s = format!("pod {}", l.pod);
    // The server's Unused condition, where it is set, is the better clock.
    if let Some(at) = l.unused_since.as_ref().or(l.pod_deleted_at.as_ref()) {
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

pub(super) struct Columns {
    context: bool,
    namespace: bool,
    reclaim: bool,
    wide: bool,
}

pub(super) fn claims_table(
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

pub(super) fn plural(n: usize, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

pub(super) fn footer(t: &Totals) -> String {
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

pub(super) fn scope_text(c: &ClusterReport) -> String {
    match &c.namespace {
        Some(ns) => format!("in namespace \"{ns}\""),
        None => "in any namespace".into(),
    }
}

pub(super) fn render_report(
    r: &OrphanReport,
    fleet: bool,
    global: &GlobalArgs,
    style: Style,
    now: jiff::Timestamp,
) -> String {
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
        for e in &c.claims {
            for d in &e.drift {
                let against = if d.field == "capacity" { "requested" } else { "template" };
                out += &format!(
                    "{}: {} {}, {against} {}: {}\n",
                    e.name, d.field, d.claim, d.template, d.note
                );
            }
        }
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
