//! The table, the timeline picture and the last line printed when a trace ends.

use std::io::IsTerminal;

use comfy_table::Cell;
use jiff::Timestamp;

use super::report::{RolloutOutcome, RolloutReport};
use crate::model::revisions::{OrdinalState, Trace};
use crate::render::{self, Style, Tone, timeline};

fn offset(t: Option<Timestamp>, t0: Timestamp) -> String {
    match t {
        Some(t) => format!("+{:.1}s", t.duration_since(t0).as_secs_f64().max(0.0)),
        None => "-".into(),
    }
}

fn terminal_width() -> usize {
    if let Some(w) = std::env::var("COLUMNS").ok().and_then(|c| c.parse::<usize>().ok()) {
        return w;
    }
    if std::io::stdout().is_terminal() {
        comfy_table::Table::new().width().map(usize::from).unwrap_or(100)
    } else {
        100
    }
}

/// The table, the timeline and a last line.
pub fn render_report(r: &RolloutReport, trace: &Trace, no_headers: bool, style: Style) -> String {
    let t0 = r.timeline_start;
    let min_ready = r.spec.min_ready_seconds;
    let rows = r
        .ordinals
        .iter()
        .map(|o| {
            let tone = match o.state {
                OrdinalState::Available => Tone::Good,
                OrdinalState::Held => Tone::Dim,
                _ if o.stuck.is_some() => Tone::Bad,
                _ => Tone::Warn,
            };
            let mut cells = vec![
                Cell::new(o.ordinal),
                Cell::new(&o.pod),
                style.cell(o.state.label(min_ready), tone),
                Cell::new(o.revision.as_deref().unwrap_or("<none>")),
                Cell::new(offset(o.update_started_at, t0)),
                Cell::new(offset(o.old_pod_gone_at, t0)),
                Cell::new(offset(o.new_pod_ready_at, t0)),
            ];
            if min_ready > 0 {
                cells.push(Cell::new(offset(o.new_pod_available_at, t0)));
            }
            cells.push(Cell::new(
                o.duration_seconds
                    .map(|d| format!("{d:.1}s{}", if o.reconstructed { "~" } else { "" }))
                    .unwrap_or_else(|| "-".into()),
            ));
            cells.push(Cell::new(
                o.stuck
                    .as_ref()
                    .map(|s| format!("{}: {}", s.reason, s.message))
                    .unwrap_or_default(),
            ));
            cells
        })
        .collect();
    let mut headers = vec!["ORDINAL", "POD", "STATE", "REVISION", "STARTED", "OLD-GONE", "READY"];
    if min_ready > 0 {
        headers.push("AVAILABLE");
    }
    headers.extend(["DURATION", "CAUSE"]);
    let mut out = render::table(&headers, rows, no_headers);
    out.push('\n');
    out.push_str(&timeline::render(trace, r.finished_at, terminal_width(), style));
    // In the rollout's order, each slow or stuck phase with its cause (model::explain).
    for o in &r.ordinals {
        for cause in crate::model::explain::causes(&o.phases) {
            out.push_str(&format!("{}: {cause}\n", o.pod));
        }
    }
    if r.ordinals.iter().any(|o| o.reconstructed) {
        out.push_str("(~: reconstructed from object timestamps and Events, to the second)\n");
    }
    if !r.waiting_for_manual_delete.is_empty() {
        out.push_str(&format!(
            "waiting for manual delete (updateStrategy OnDelete): kubectl delete pod -n {} {}\n",
            r.metadata.namespace,
            r.waiting_for_manual_delete.join(" ")
        ));
    }
    let head = match r.result {
        RolloutOutcome::Done => style.paint("done", Tone::Good),
        RolloutOutcome::Progressing => style.paint("in progress", Tone::Warn),
        RolloutOutcome::Stuck => style.paint("stuck", Tone::Bad),
        RolloutOutcome::WaitingForManualDelete => style.paint("waiting for manual deletes", Tone::Warn),
        RolloutOutcome::TimedOut => style.paint("timed out", Tone::Bad),
        RolloutOutcome::Deleted => style.paint("deleted", Tone::Bad),
        RolloutOutcome::Interrupted => style.paint("interrupted", Tone::Warn),
    };
    out.push_str(&format!(
        "statefulset/{} rollout {head} after {:.1}s: {}\n",
        r.metadata.name, r.duration_seconds, r.message
    ));
    out
}
