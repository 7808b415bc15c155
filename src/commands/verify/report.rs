//! What `verify-persistence` prints: the report (`-o json|yaml`, docs/json-schemas.md)
//! and its table.

use comfy_table::Cell;
use serde::Serialize;

use super::Ctx;
use crate::model::explain::{self, PhaseReport};
use crate::model::persistence::{Finding, Phase, Verdict};
use crate::render::{self, Style, Tone};

/// `-o json|yaml` of `verify-persistence` (kind `PersistenceVerification`; schema in
/// docs/json-schemas.md). Printed for every run that got past the preflight, and for
/// `--dry-run`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyReport {
    /// Always `kubectl-sts/v1`.
    pub api_version: &'static str,
    /// Always `PersistenceVerification`.
    pub kind: &'static str,
    pub namespace: String,
    pub stateful_set: String,
    /// The kubeconfig context used.
    pub context: String,
    pub dry_run: bool,
    /// `delete` (Pod DELETE with a UID precondition) or `evict` (Eviction API).
    pub deletion: &'static str,
    /// Overall result: `Persisted` (exit 0), `Lost` (1), `Unknown` (3), `Planned`
    /// (dry run), `Refused` (1), `TimedOut` (4), `Interrupted` (130), `Failed`.
    pub result: VerifyOutcome,
    /// One entry per ordinal drilled (or planned), in order.
    pub pods: Vec<PodDrill>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum VerifyOutcome {
    Persisted,
    Lost,
    Unknown,
    Planned,
    Refused,
    TimedOut,
    Interrupted,
    Failed,
}

/// One pod's drill.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodDrill {
    pub ordinal: i32,
    pub pod: String,
    pub container: String,
    /// The UID and node of the pod that was marked and deleted.
    pub old_uid: String,
    pub node: Option<String>,
    /// The replacement pod, once one was seen.
    pub new_uid: Option<String>,
    pub new_node: Option<String>,
    /// Preflight findings (empty when healthy); with `--force` the overridable ones are
    /// listed here and the drill went ahead.
    pub preflight: Vec<Finding>,
    pub forced: bool,
    /// When each milestone of the recreation was observed, in seconds since the delete request.
    pub milestones: Vec<PhaseTiming>,
    /// The recreation split into phases, with how long each took and, for slow or
    /// stuck ones (every one with `--explain=all`), why, with evidence.
    pub phases: Vec<PhaseReport>,
    /// Seconds from the delete request to the new pod being Ready.
    pub recreate_seconds: Option<f64>,
    /// Claim-template mounts: one verdict each.
    pub mounts: Vec<MountResult>,
    /// Mounts not verified: not persistent (emptyDir, configMap, ...) or shared PVCs.
    pub skipped: Vec<SkippedMount>,
    /// Marker files still present after the run (`--keep-marker`, or cleanup failed).
    pub markers_remaining: Vec<MarkerLeft>,
    /// One sentence on the state the pod was left in.
    pub state: String,
    /// The revision the pod ran (its `controller-revision-hash`).
    pub revision: Option<String>,
    /// The revision the controller recreates it at: currentRevision below the
    /// partition, updateRevision at or above it (and under OnDelete).
    pub recreated_at_revision: Option<String>,
    /// Times the connection to the API server was lost (and came back) during the wait.
    pub outages: u32,
    /// How long those outages lasted in all, in seconds.
    pub down_seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhaseTiming {
    /// terminating, gone, scheduled, containerCreated, running, ready.
    pub phase: Phase,
    pub seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MountResult {
    pub volume: String,
    pub mount_path: String,
    pub sub_path: Option<String>,
    pub read_only: bool,
    pub template: String,
    pub pvc: String,
    pub pvc_uid: Option<String>,
    /// The PV bound before deletion, and after recreation.
    pub pv: Option<String>,
    pub pv_after: Option<String>,
    /// The marker's path inside the container (None for a read-only mount).
    pub marker: Option<String>,
    /// Where the marker file stands (`markerState` in the JSON).
    pub marker_state: MarkerState,
    /// PERSISTED, LOST or UNKNOWN; None when not verified (read-only, or the run
    /// stopped before verification).
    pub verdict: Option<Verdict>,
    pub reason: String,
}

/// Where one mount's marker file stands; serialised as in docs/json-schemas.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum MarkerState {
    /// Not written yet.
    Pending,
    /// Dry run: would be written.
    Planned,
    /// A read-only mount: never written.
    NotWritten,
    /// Written and read back once, before the delete.
    Written,
    /// A write was cut short: it may or may not have landed.
    Unknown,
    /// Read back from the new pod with the content written.
    Identical,
    /// Read back from the new pod with other content.
    Differs,
    /// Not on the volume seen by the new pod.
    Missing,
    /// Could not be read from the new pod.
    Unreadable,
}

impl MarkerState {
    /// As in the JSON and the MARKER column.
    pub fn as_str(self) -> &'static str {
        match self {
            MarkerState::Pending => "pending",
            MarkerState::Planned => "planned",
            MarkerState::NotWritten => "notWritten",
            MarkerState::Written => "written",
            MarkerState::Unknown => "unknown",
            MarkerState::Identical => "identical",
            MarkerState::Differs => "differs",
            MarkerState::Missing => "missing",
            MarkerState::Unreadable => "unreadable",
        }
    }

    /// The marker file may be on its volume (so cleanup has to remove it).
    pub fn may_be_on_volume(self) -> bool {
        !matches!(
            self,
            MarkerState::Pending | MarkerState::NotWritten | MarkerState::Missing
        )
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SkippedMount {
    pub volume: String,
    pub mount_path: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MarkerLeft {
    pub pvc: String,
    pub pv: Option<String>,
    /// Path inside the container.
    pub path: String,
    /// The path inside the volume (the marker's name under the subPath, if any).
    pub path_in_volume: String,
}

impl Ctx<'_> {
    pub(super) fn print(&self, report: &VerifyReport) {
        if render::is_structured(self.global.output) {
            match render::structured(report, self.global.output) {
                Ok(s) => crate::out!("{s}"),
                Err(e) => crate::errln!("error: {e}"),
            }
        } else {
            crate::out!("{}", render_table(report, self.global.no_headers, self.style));
        }
    }
}

/// The result table (ORDINAL, MOUNT, PVC, PV, MARKER, VERDICT), then per pod the
/// skipped mounts, the timing line and any markers left behind.
pub fn render_table(report: &VerifyReport, no_headers: bool, style: Style) -> String {
    let rows = report
        .pods
        .iter()
        .flat_map(|d| {
            d.mounts.iter().map(move |m| {
                let (verdict, tone) = match m.verdict {
                    Some(Verdict::Persisted) => ("PERSISTED".to_string(), Tone::Good),
                    Some(Verdict::Lost) => ("LOST".to_string(), Tone::Bad),
                    Some(Verdict::Unknown) => ("UNKNOWN".to_string(), Tone::Warn),
                    None if report.dry_run => ("(dry run)".to_string(), Tone::Dim),
                    None if m.read_only => ("SKIPPED (read-only)".to_string(), Tone::Warn),
                    None => ("-".to_string(), Tone::Dim),
                };
                let mount = match &m.sub_path {
                    Some(sp) => format!("{} (subPath {sp})", m.mount_path),
                    None => m.mount_path.clone(),
                };
                let pv = match (&m.pv, &m.pv_after) {
                    (Some(a), Some(b)) if a != b => format!("{a} -> {b}"),
                    (Some(a), _) => a.clone(),
                    (None, _) => "<none>".into(),
                };
                vec![
                    Cell::new(d.ordinal),
                    Cell::new(mount),
                    Cell::new(&m.pvc),
                    Cell::new(pv),
                    Cell::new(m.marker_state.as_str()),
                    style.cell(verdict, tone),
                ]
            })
        })
        .collect();
    let mut out = render::table(
        &["ORDINAL", "MOUNT", "PVC", "PV", "MARKER", "VERDICT"],
        rows,
        no_headers,
    );
    for d in &report.pods {
        for s in &d.skipped {
            out.push_str(&format!(
                "{}: {} (volume {}): {}\n",
                d.pod, s.mount_path, s.volume, s.reason
            ));
        }
        for f in &d.preflight {
            let tag = if report.dry_run && !(f.overridable && d.forced) {
                "would refuse"
            } else {
                "forced past"
            };
            out.push_str(&format!("{}: {tag}: {}\n", d.pod, f.reason));
        }
        if !d.phases.is_empty() {
            let steps: Vec<String> = d
                .phases
                .iter()
                .map(|p| format!("{} {:.1}s", p.name.label(), p.seconds))
                .collect();
            out.push_str(&format!(
                "{}: uid {} -> {}: {} ({})\n",
                d.pod,
                d.old_uid,
                d.new_uid.as_deref().unwrap_or("<none yet>"),
                steps.join(", "),
                d.state
            ));
            for cause in explain::causes(&d.phases) {
                out.push_str(&format!("{}: {cause}\n", d.pod));
            }
        } else if report.dry_run {
            out.push_str(&format!(
                "{}: dry run: would mark {} mount(s) in container \"{}\", {} pod {} (uid {}) and wait for its replacement{}; nothing was changed\n",
                d.pod,
                d.mounts.iter().filter(|m| !m.read_only).count(),
                d.container,
                report.deletion,
                d.pod,
                d.old_uid,
                match (&d.revision, &d.recreated_at_revision) {
                    (Some(a), Some(b)) if a == b => format!(", which comes back at its own revision {b}"),
                    (Some(a), Some(b)) => format!(", which comes back at revision {b}, not the {a} it runs"),
                    _ => String::new(),
                }
            ));
        }
        for m in &d.markers_remaining {
            out.push_str(&format!(
                "{}: marker left on PVC {}: {} ({} in the volume)\n",
                d.pod, m.pvc, m.path, m.path_in_volume
            ));
        }
    }
    out
}
