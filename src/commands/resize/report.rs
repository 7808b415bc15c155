//! What `resize` prints: the plan lines, the final table (ORDINAL, PVC, OLD, NEW,
//! CAPACITY, STATE) and the `VolumeResize` report (docs/json-schemas.md).

use comfy_table::Cell;
use serde::Serialize;

use crate::model::resize::{ClaimAction, ClaimPlan, TemplateChange};
use crate::render::{self, Style, Tone};

/// Where one claim stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ClaimState {
    /// To be raised.
    Planned,
    /// Raised; nothing reported yet.
    Requested,
    /// The external resizer is growing the volume.
    Resizing,
    /// The volume grew; the filesystem waits for the kubelet.
    FileSystemResizePending,
    /// A leftover with no pod: the volume grew, its filesystem grows on the next mount.
    PendingMount,
    /// Capacity is the new size.
    Resized,
    /// Was already the new size.
    AlreadyDone,
    Failed(String),
}

impl ClaimState {
    pub fn finished(&self) -> bool {
        matches!(
            self,
            ClaimState::Resized | ClaimState::AlreadyDone | ClaimState::PendingMount
        )
    }

    pub fn label(&self) -> String {
        match self {
            ClaimState::Planned => "planned".into(),
            ClaimState::Requested => "requested".into(),
            ClaimState::Resizing => "resizing".into(),
            ClaimState::FileSystemResizePending => "filesystem resize pending".into(),
            ClaimState::PendingMount => "grown (filesystem on next mount)".into(),
            ClaimState::Resized => "resized".into(),
            ClaimState::AlreadyDone => "already that size".into(),
            ClaimState::Failed(m) => format!("failed: {m}"),
        }
    }
}

/// One claim in the report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimRow {
    pub name: String,
    pub template: String,
    pub ordinal: i32,
    pub leftover: bool,
    pub from: String,
    pub to: String,
    #[serde(skip)]
    pub to_bytes: u128,
    pub capacity: Option<String>,
    #[serde(skip)]
    pub storage_class: Option<String>,
    #[serde(skip)]
    pub action: ClaimAction,
    pub state: ClaimState,
}

impl ClaimRow {
    pub fn of(p: &ClaimPlan, to_bytes: u128) -> ClaimRow {
        ClaimRow {
            name: p.name.clone(),
            template: p.template.clone(),
            ordinal: p.ordinal,
            leftover: p.leftover,
            from: p.from.clone(),
            to: p.to.clone(),
            to_bytes,
            capacity: p.capacity.clone(),
            storage_class: p.storage_class.clone(),
            action: p.action,
            state: match p.action {
                ClaimAction::Expand => ClaimState::Planned,
                ClaimAction::AlreadyRequested => ClaimState::Requested,
                ClaimAction::Done => ClaimState::AlreadyDone,
            },
        }
    }
}

/// `-o json|yaml` of `resize` (kind `VolumeResize`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResizeReport {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: Meta,
    pub dry_run: bool,
    /// `Resized`, `Planned` (dry run), `NothingToDo`, `Failed`, `TimedOut`, `Interrupted`.
    pub result: &'static str,
    /// One sentence: what was done, or the state the cluster is in and how to finish.
    pub message: String,
    /// The backup file (absent for a dry run).
    pub backup: Option<String>,
    pub templates: Vec<TemplateChange>,
    pub claims: Vec<ClaimRow>,
    /// How the claim template was changed: `orphanRecreate` (delete with
    /// propagationPolicy Orphan, create again) or `update` (the server accepts a
    /// claim-template change); null until then.
    pub method: Option<&'static str>,
    pub stateful_set: StsOutcome,
    /// Pods deleted with `--restart-pods` so they remount a grown volume.
    pub restarted_pods: Vec<String>,
    /// The command that finishes an interrupted or failed resize.
    pub resume: Option<String>,
    /// What Helm, Argo CD, Flux or another field manager will do next: their next run
    /// fails (immutable claim template, 422) until their source has the new size.
    pub owner_warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    pub name: String,
    pub namespace: String,
    pub context: String,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StsOutcome {
    pub old_uid: Option<String>,
    pub new_uid: Option<String>,
    /// Pods whose controller reference names the new StatefulSet, with unchanged UIDs.
    pub adopted_pods: Vec<String>,
    /// ControllerRevisions adopted by the new StatefulSet.
    pub adopted_revisions: Vec<String>,
    /// The update revision before and after: equal means no pod is rolled.
    pub revision_before: Option<String>,
    pub revision_after: Option<String>,
}

/// The plan, one line each: the claims, the template, the steps.
pub fn plan_lines(name: &str, templates: &[TemplateChange], claims: &[ClaimRow]) -> Vec<String> {
    let mut out = Vec::new();
    for t in templates {
        out.push(format!(
            "resize statefulset \"{name}\": claim template {} {} -> {} (storageClass {})",
            t.template,
            t.from,
            t.to,
            t.storage_class.as_deref().unwrap_or("<default>")
        ));
    }
    for c in claims {
        let what = match c.action {
            ClaimAction::Expand => format!("{} -> {}", c.from, c.to),
            ClaimAction::AlreadyRequested => format!("already requests {}; wait for its capacity", c.to),
            ClaimAction::Done => format!("already {}", c.to),
        };
        let leftover = if c.leftover {
            " (leftover of a scale-in: a later scale-out reuses it)"
        } else {
            ""
        };
        out.push(format!("  pvc/{}: {what}{leftover}", c.name));
    }
    out.push("  then: back up the StatefulSet, wait for every claim to grow, delete the StatefulSet with propagationPolicy Orphan (its pods keep running), create it again with the bigger template and wait until it has adopted every pod".into());
    out
}

/// The final table and the closing line.
pub fn render_table(r: &ResizeReport, no_headers: bool, style: Style) -> String {
    let rows = r
        .claims
        .iter()
        .map(|c| {
            let tone = match &c.state {
                s if s.finished() => Tone::Good,
                ClaimState::Failed(_) => Tone::Bad,
                ClaimState::Planned if r.dry_run => Tone::Dim,
                _ => Tone::Warn,
            };
            vec![
                Cell::new(c.ordinal),
                Cell::new(&c.name),
                Cell::new(&c.from),
                Cell::new(&c.to),
                Cell::new(c.capacity.as_deref().unwrap_or("-")),
                style.cell(
                    if r.dry_run && c.state == ClaimState::Planned {
                        "(dry run)".into()
                    } else {
                        c.state.label()
                    },
                    tone,
                ),
            ]
        })
        .collect();
    let mut out = render::table(&["ORDINAL", "PVC", "OLD", "NEW", "CAPACITY", "STATE"], rows, no_headers);
    let tone = match r.result {
        "Resized" | "NothingToDo" | "Planned" => Tone::Good,
        "Interrupted" | "TimedOut" => Tone::Warn,
        _ => Tone::Bad,
    };
    out.push_str(&format!("{}\n", style.paint(&r.message, tone)));
    out
}
