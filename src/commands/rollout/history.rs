//! `kubectl sts rollout history STS`: the StatefulSet's ControllerRevisions as a table
//! or the `RolloutHistory` report.

use std::time::Duration;

use comfy_table::Cell;
use jiff::Timestamp;
use serde::Serialize;

use super::{API_VERSION, Meta, revisions_of};
use crate::cli::{GlobalArgs, HistoryArgs};
use crate::error::Result;
use crate::gather;
use crate::kubeconfig::Kube;
use crate::model::duration::human_duration;
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
    let report = HistoryReport {
        api_version: API_VERSION,
        kind: "RolloutHistory",
        metadata: Meta {
            name: f.name.clone(),
            namespace: ns.clone(),
            context: kube.endpoint.context.clone(),
        },
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
