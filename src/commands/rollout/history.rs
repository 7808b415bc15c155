//! `kubectl sts rollout history STS`: the StatefulSet's ControllerRevisions as a table
//! or the `RolloutHistory` report.

use std::time::Duration;

use comfy_table::Cell;
use jiff::Timestamp;
use serde::Serialize;

use super::{API_VERSION, Meta, revisions_of};
use k8s_openapi::api::apps::v1::ControllerRevision;

use crate::cli::{GlobalArgs, HistoryArgs};
use crate::error::{CliError, Result};
use crate::gather;
use crate::kubeconfig::Kube;
use crate::model::duration::human_duration;
use crate::model::revisions::diff::{self, FieldChange};
use crate::model::revisions::{self, RevisionRow};
use crate::model::statefulset::Facts;
use crate::render::{self, Style, Tone};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryReport {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: Meta,
    pub current_revision: Option<String>,
    pub update_revision: Option<String>,
    pub revisions: Vec<RevisionRow>,
}

pub(super) async fn history(global: &GlobalArgs, args: &HistoryArgs) -> Result<()> {
    let kube = Kube::connect(global).await?;
    let ns = kube.namespace.clone();
    let sts = gather::statefulset(&kube, &ns, &args.name).await?;
    let revs = revisions_of(&kube, &sts).await?;
    let rows = revisions::history(&sts, &revs);
    let f = Facts::of(&sts);
    let metadata = Meta {
        name: f.name.clone(),
        namespace: ns.clone(),
        context: kube.endpoint.context.clone(),
    };
    if let Some(wanted) = args.diff {
        let report = diff_report(metadata, &rows, &revs, wanted)?;
        let out = if render::is_structured(global.output) {
            render::structured(&report, global.output)?
        } else {
            render_diff(&report, Style::from_args(global))
        };
        crate::out!("{out}");
        return Ok(());
    }
    let report = HistoryReport {
        api_version: API_VERSION,
        kind: "RolloutHistory",
        metadata,
        current_revision: f.current_revision.clone(),
        update_revision: f.update_revision.clone(),
        revisions: rows,
    };
    if render::is_structured(global.output) {
        crate::out!("{}", render::structured(&report, global.output)?);
    } else {
        crate::out!(
            "{}",
            render_history(&report, Timestamp::now(), global.no_headers, Style::from_args(global))
        );
    }
    Ok(())
}

pub fn render_history(r: &HistoryReport, now: Timestamp, no_headers: bool, style: Style) -> String {
    if r.revisions.is_empty() {
        return format!(
            "No revisions found for statefulset \"{}\" in namespace \"{}\".\n",
            r.metadata.name, r.metadata.namespace
        );
    }
    let rows = r
        .revisions
        .iter()
        .map(|v| {
            let status = match (v.current, v.update) {
                (true, true) => "current",
                (true, false) => "current",
                (false, true) => "update (rolling out)",
                _ => "",
            };
            let age = v
                .created_at
                .map(|c| human_duration(Duration::from_secs(now.duration_since(c).as_secs().max(0) as u64)))
                .unwrap_or_else(|| "<unknown>".into());
            vec![
                Cell::new(v.revision),
                Cell::new(&v.name),
                Cell::new(age),
                Cell::new(v.images.join(",")),
                Cell::new(v.change_cause.as_deref().unwrap_or("<none>")),
                style.cell(status, if v.update && !v.current { Tone::Warn } else { Tone::Good }),
            ]
        })
        .collect();
    render::table(
        &["REVISION", "NAME", "AGE", "IMAGES", "CHANGE-CAUSE", "STATUS"],
        rows,
        no_headers,
    )
}

/// `rollout history NAME --diff [REVISION] -o json|yaml` (docs/json-schemas.md, "RevisionDiff").
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DiffReport {
    pub api_version: &'static str,
    /// `RevisionDiff`.
    pub kind: &'static str,
    pub metadata: Meta,
    /// The revision compared against; null when `to` is the first revision.
    pub from: Option<i64>,
    pub to: i64,
    pub from_name: Option<String>,
    pub to_name: String,
    /// One line: "image nginx:1.25 -> nginx:1.26, command added".
    pub summary: String,
    /// Every changed path of the pod template.
    pub changes: Vec<FieldChange>,
    /// The unified diff of the two templates' YAML (what the table output prints).
    #[serde(skip)]
    pub unified: String,
}

fn diff_report(
    metadata: Meta,
    rows: &[RevisionRow],
    revs: &[ControllerRevision],
    wanted: Option<i64>,
) -> Result<DiffReport> {
    let (from, to) = diff::pick(&metadata.name, rows, wanted).map_err(CliError::usage)?;
    let template = |row: &RevisionRow| {
        revs.iter()
            .find(|r| r.metadata.name.as_deref() == Some(row.name.as_str()))
            .map(diff::template)
            .unwrap_or_else(diff::empty)
    };
    let label = |row: &RevisionRow| format!("revision {} ({})", row.revision, row.name);
    let (a, b) = (from.map(template), template(to));
    let summary = match &a {
        Some(a) => diff::summary(a, &b),
        None => "the first revision: its whole pod template is new".into(),
    };
    Ok(DiffReport {
        api_version: API_VERSION,
        kind: "RevisionDiff",
        changes: diff::changes(a.as_ref().unwrap_or(&diff::empty()), &b),
        unified: diff::unified(
            a.as_ref(),
            &b,
            &from.map_or("(no earlier revision)".into(), label),
            &label(to),
        ),
        from: from.map(|r| r.revision),
        from_name: from.map(|r| r.name.clone()),
        to: to.revision,
        to_name: to.name.clone(),
        summary,
        metadata,
    })
}

/// The header line, then the unified diff (`+` green, `-` red on a terminal).
pub fn render_diff(r: &DiffReport, style: Style) -> String {
    let from = match (r.from, &r.from_name) {
        (Some(n), Some(name)) => format!("revision {n} ({name}) -> "),
        _ => String::new(),
    };
    let mut out = format!(
        "statefulset \"{}\": {from}revision {} ({}): {}\n",
        r.metadata.name, r.to, r.to_name, r.summary
    );
    if r.changes.is_empty() {
        return out;
    }
    for line in r.unified.lines() {
        let tone = match line.as_bytes().first() {
            _ if line.starts_with("+++") || line.starts_with("---") => Tone::Plain,
            Some(b'+') => Tone::Good,
            Some(b'-') => Tone::Bad,
            Some(b'@') => Tone::Dim,
            _ => Tone::Plain,
        };
        out += &style.paint(line, tone);
        out.push('\n');
    }
    out
}
