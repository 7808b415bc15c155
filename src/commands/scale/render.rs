//! The table summary printed when a scale ends.

use comfy_table::Cell;

use super::report::{ScaleReport, ScaleResult};
use crate::model::progress::{self, Role};
use crate::render::{self, Style, Tone};

fn secs(v: Option<f64>) -> String {
    v.map(|s| format!("{s:.1}s")).unwrap_or_else(|| "-".into())
}

/// The table summary printed when the scale ends.
pub fn render_summary(r: &ScaleReport, no_headers: bool, style: Style) -> String {
    let mut out = String::new();
    // --dry-run and --no-wait: the plan is all there is.
    let planned_only = matches!(r.result, ScaleResult::DryRun | ScaleResult::Scaled);
    let tone = match r.result {
        ScaleResult::Settled | ScaleResult::Scaled | ScaleResult::DryRun => Tone::Good,
        ScaleResult::TimedOut | ScaleResult::Interrupted => Tone::Warn,
        ScaleResult::Failed | ScaleResult::Changed => Tone::Bad,
    };
    let verdict = match r.result {
        ScaleResult::Settled => format!("settled in {:.1}s", r.duration_seconds),
        ScaleResult::Scaled => "scale requested (--no-wait: not followed)".into(),
        ScaleResult::DryRun => format!("dry run ({}): nothing was changed", r.dry_run.unwrap_or("client")),
        other => other.as_str().to_string(),
    };
    out += &format!(
        "\nstatefulset {}/{} {} -> {} ({}): {}\n",
        r.namespace,
        r.name,
        r.from,
        r.to,
        r.pod_management_policy,
        style.paint(&verdict, tone)
    );
    out += &ordinals_table(r, no_headers, style);
    out += &cause_lines(&r.ordinals);
    out += &pvc_lines(r, planned_only, style);
    out += &closing_lines(r, planned_only, style);
    out
}

/// One row per ordinal, with its change, state, PVCs and timings.
fn ordinals_table(r: &ScaleReport, no_headers: bool, style: Style) -> String {
    if r.ordinals.is_empty() {
        return String::new();
    }
    let rows = r
        .ordinals
        .iter()
        .map(|o| {
            let row = &o.row;
            let state = if row.role == Role::Removing && row.done {
                "Gone".to_string()
            } else {
                row.state.as_str().to_string()
            };
            vec![
                Cell::new(row.ordinal),
                Cell::new(&row.pod),
                Cell::new(match row.role {
                    Role::Unchanged => "unchanged",
                    Role::Adding => "added",
                    Role::Removing => "removed",
                }),
                style.cell(
                    state,
                    if row.done {
                        Tone::Good
                    } else if row.stuck.is_some() {
                        Tone::Bad
                    } else {
                        Tone::Warn
                    },
                ),
                Cell::new(&row.ready),
                Cell::new(row.restarts),
                Cell::new(if row.claims.is_empty() {
                    "<none>".to_string()
                } else {
                    row.claims
                        .iter()
                        .map(|c| format!("{} {}", c.name, c.label()))
                        .collect::<Vec<_>>()
                        .join(", ")
                }),
                Cell::new(secs(o.duration_seconds)),
                Cell::new(secs(o.since_start_seconds)),
            ]
        })
        .collect();
    render::table(
        &[
            "ORDINAL", "POD", "CHANGE", "STATE", "READY", "RESTARTS", "PVCS", "DURATION", "AFTER",
        ],
        rows,
        no_headers,
    )
}

/// PVCs created, reused (on the same PV or not), left behind and deleted.
fn pvc_lines(r: &ScaleReport, planned_only: bool, style: Style) -> String {
    let mut out = String::new();
    let p = &r.pvcs;
    let names =
        |v: &[progress::ClaimRow]| -> String { v.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ") };
    if !planned_only {
        out += &format!(
            "PVCs: {} created, {} reused, {} left behind, {} deleted\n",
            p.created.len(),
            p.reused.len(),
            p.left_behind.len(),
            p.deleted.len()
        );
    }
    for c in &p.reused {
        let same = match (&c.previous_volume, &c.volume) {
            (Some(a), Some(b)) if a == b => format!("bound to the same PV as before ({b})"),
            (Some(a), Some(b)) => style.paint(&format!("bound to {b}, NOT the PV it had before ({a})"), Tone::Bad),
            (_, Some(b)) => format!("bound to {b}"),
            _ => "not bound yet".into(),
        };
        out += &format!("  reused   {}: {same}\n", c.name);
    }
    if !p.created.is_empty() {
        out += &format!("  created  {}\n", names(&p.created));
    }
    let left: Vec<&progress::LeftBehind> = if planned_only {
        r.plan.left_behind.iter().collect()
    } else {
        p.left_behind.iter().collect()
    };
    for l in left {
        let fate = if l.will_be_deleted {
            style.paint(
                "Kubernetes will delete it (whenScaled: Delete) once its pod is gone",
                Tone::Warn,
            )
        } else {
            format!(
                "kept (whenScaled: Retain): Kubernetes will not delete it; scaling back to {} reuses it",
                l.ordinal - r.plan.start_ordinal + 1
            )
        };
        out += &format!(
            "  left     {} ({}): {fate}\n",
            l.name,
            l.volume.as_deref().unwrap_or("no PV")
        );
    }
    if !p.deleted.is_empty() {
        out += &format!("  deleted  {}\n", names(&p.deleted));
    }
    out
}

/// Order, what blocks, watch health.
fn closing_lines(r: &ScaleReport, planned_only: bool, style: Style) -> String {
    let mut out = String::new();
    if !planned_only {
        if r.order_violations.is_empty() {
            if r.pod_management_policy == crate::model::statefulset::PodManagementPolicy::Parallel {
                out += "Order: Parallel (no order expected)\n";
            } else {
                out += "Order: as OrderedReady promises (created low to high, removed high to low)\n";
            }
        } else {
            for v in &r.order_violations {
                out += &format!("{} {}\n", style.paint("Order departure:", Tone::Bad), v.message);
            }
        }
    }
    if let Some(b) = &r.blocking {
        out += &format!(
            "{} {} (ordinal {}): {}: {}\n",
            style.paint("Blocking:", Tone::Bad),
            b.pod,
            b.ordinal,
            b.reason,
            b.message
        );
    }
    if r.watch.relists > 0 || r.watch.errors > 0 {
        out += &format!(
            "Watch: recovered from {} error(s), {} re-list(s)\n",
            r.watch.errors, r.watch.relists
        );
    }
    out
}

/// `web-3: image 3.0s: the image was not cached ...`: each slow or stuck phase of each
/// ordinal, with its cause (model::explain).
pub(crate) fn cause_lines(ordinals: &[progress::OrdinalSummary]) -> String {
    ordinals
        .iter()
        .flat_map(|o| {
            crate::model::explain::causes(&o.phases)
                .into_iter()
                .map(move |c| format!("{}: {c}\n", o.row.pod))
        })
        .collect()
}
