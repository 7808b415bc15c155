//! The tables of `status`: one StatefulSet in detail, or one line per StatefulSet.

use comfy_table::Cell;

use super::{ClaimStatus, StatusReport, Summary};
use crate::cli::{GlobalArgs, OutputFormat};
use crate::model::duration::human_duration;
use crate::model::ownership;
use crate::render::{self, Style, Tone};

fn state_tone(state: &str) -> Tone {
    match state {
        "Settled" => Tone::Good,
        "Degraded" => Tone::Bad,
        _ => Tone::Warn,
    }
}

fn age(secs: Option<i64>) -> String {
    secs.map(|s| human_duration(std::time::Duration::from_secs(s.max(0) as u64)))
        .unwrap_or_else(|| "<none>".into())
}

pub(crate) fn render_report(r: &StatusReport, global: &GlobalArgs, style: Style) -> String {
    let mut out = String::new();
    if !global.no_headers {
        out += &header(r, style);
    }
    out += &pods_table(r, global.output == OutputFormat::Wide, global.no_headers, style);
    out += &drift_lines(r);
    out
}

/// `data-web-0: request 30Gi, template 20Gi: the claim was grown by hand; ...`
fn drift_lines(r: &StatusReport) -> String {
    r.pods
        .iter()
        .flat_map(|p| &p.claims)
        .flat_map(|c| {
            c.drift.iter().map(move |d| {
                let against = if d.field == "capacity" { "requested" } else { "template" };
                format!(
                    "{}: {} {}, {against} {}: {}\n",
                    c.name, d.field, d.claim, d.template, d.note
                )
            })
        })
        .collect()
}

/// The lines above the table: state, replicas, strategy, revisions, service, retention.
fn header(r: &StatusReport, style: Style) -> String {
    let mut out = String::new();
    let c = &r.replicas;
    out += &format!(
        "StatefulSet:   {}/{}   {}\n",
        r.namespace,
        r.name,
        style.paint(r.state, state_tone(r.state))
    );
    out += &format!(
        "Replicas:      {} desired | {} current | {} ready | {} available | {} updated   (ordinals {})\n",
        c.desired,
        c.current,
        c.ready,
        c.available,
        c.updated,
        if r.ordinals.end > r.ordinals.start {
            format!("{}..{}", r.ordinals.start, r.ordinals.end - 1)
        } else {
            "none".into()
        }
    );
    let strategy = match r.update_strategy.type_.as_str() {
        "RollingUpdate" => format!(
            "RollingUpdate, partition {}, maxUnavailable {}",
            r.update_strategy.partition,
            r.update_strategy.max_unavailable.as_deref().unwrap_or("1")
        ),
        other => other.to_string(),
    };
    out += &format!("Update:        {strategy}\n");
    out += &format!(
        "Pod policy:    {}{}\n",
        r.pod_management_policy,
        if r.min_ready_seconds > 0 {
            format!(", minReadySeconds {}", r.min_ready_seconds)
        } else {
            String::new()
        }
    );
    let rev = match (&r.current_revision, &r.update_revision) {
        (Some(c), Some(u)) if c == u => format!("{c} (current = update)"),
        (Some(c), Some(u)) => format!("current {c} -> update {u}"),
        (c, u) => format!(
            "current {} / update {}",
            c.as_deref().unwrap_or("<none>"),
            u.as_deref().unwrap_or("<none>")
        ),
    };
    out += &format!("Revisions:     {rev}\n");
    out += &format!(
        "Service:       {}\n",
        match (&r.service_name, &r.pod_dns_pattern) {
            (Some(s), Some(p)) => format!("{s} (headless) -> {p}"),
            _ => "<none>".into(),
        }
    );
    out += &format!(
        "PVC retention: whenDeleted {}, whenScaled {}\n",
        r.pvc_retention_policy.when_deleted, r.pvc_retention_policy.when_scaled
    );
    if r.drift.claims > 0 {
        out += &style.paint(
            &format!(
                "Drift:         {} claim(s) differ from their template; {}\n",
                r.drift.claims,
                if r.drift.next_scale_out.is_empty() {
                    "a resize is not finished".to_string()
                } else {
                    r.drift.next_scale_out.join("; ")
                }
            ),
            Tone::Warn,
        );
    }
    if !r.managed_by.is_empty() {
        let owners: Vec<String> = r.managed_by.iter().map(ownership::describe).collect();
        out += &style.paint(&format!("Managed by:    {}\n", owners.join("; ")), Tone::Warn);
    }
    if r.observed_generation.is_none_or(|o| o < r.generation) {
        out += &style.paint(
            &format!(
                "Note:          status describes generation {} of {}; the controller has not caught up yet\n",
                r.observed_generation.map_or("<none>".into(), |o| o.to_string()),
                r.generation
            ),
            Tone::Warn,
        );
    }
    out.push('\n');
    out
}

/// One row per ordinal (and per pod left outside the range).
fn pods_table(r: &StatusReport, wide: bool, no_headers: bool, style: Style) -> String {
    let mut headers = vec![
        "ORDINAL", "POD", "READY", "STATUS", "RESTARTS", "REVISION", "NODE", "PVC", "PV", "AGE",
    ];
    if wide {
        headers.extend(["CAPACITY", "STORAGECLASS", "DNS"]);
    }
    let rows = r
        .pods
        .iter()
        .map(|p| {
            let mut ordinal = p.ordinal.to_string();
            if !p.in_range {
                ordinal += " (leaving)";
            }
            let status_tone = match p.status.as_str() {
                "Running" if p.ready => Tone::Good,
                "Running" | "Pending" | "ContainerCreating" | "Terminating" => Tone::Warn,
                "<none>" => Tone::Dim,
                _ => Tone::Bad,
            };
            let revision = match (&p.revision, p.revision_state) {
                (Some(h), Some("update")) if r.current_revision != r.update_revision => format!("{h} (update)"),
                (Some(h), Some("current")) => format!("{h} (current)"),
                (Some(h), Some("other")) => format!("{h} (old)"),
                (Some(h), _) => h.clone(),
                (None, _) => "<none>".into(),
            };
            let join = |f: &dyn Fn(&ClaimStatus) -> String| {
                if p.claims.is_empty() {
                    "<none>".to_string()
                } else {
                    p.claims.iter().map(f).collect::<Vec<_>>().join(",")
                }
            };
            let pvc = join(&|c| {
                if c.phase == "Missing" {
                    format!("{} (missing)", c.name)
                } else {
                    c.name.clone()
                }
            });
            let pv = join(&|c| match (&c.volume, c.phase.as_str()) {
                (Some(v), "Bound") => v.clone(),
                (_, "Missing") => "<none>".into(),
                (_, phase) => phase.to_string(),
            });
            let claim_tone = if p.claims.iter().all(|c| c.phase == "Bound") {
                Tone::Plain
            } else {
                Tone::Warn
            };
            let mut row = vec![
                Cell::new(ordinal),
                Cell::new(&p.pod),
                Cell::new(&p.ready_containers),
                style.cell(&p.status, status_tone),
                Cell::new(p.restarts),
                Cell::new(revision),
                Cell::new(p.node.as_deref().unwrap_or("<none>")),
                style.cell(pvc, claim_tone),
                style.cell(pv, claim_tone),
                Cell::new(age(p.age_seconds)),
            ];
            if wide {
                row.push(Cell::new(join(&|c| {
                    c.capacity.clone().unwrap_or_else(|| "<none>".into())
                })));
                row.push(Cell::new(join(&|c| {
                    c.storage_class.clone().unwrap_or_else(|| "<none>".into())
                })));
                row.push(Cell::new(p.dns_name.as_deref().unwrap_or("<none>")));
            }
            row
        })
        .collect();
    render::table(&headers, rows, no_headers)
}

pub(super) fn render_summaries(items: &[Summary], all_namespaces: bool, global: &GlobalArgs, style: Style) -> String {
    let mut headers = vec![];
    if all_namespaces {
        headers.push("NAMESPACE");
    }
    headers.extend([
        "NAME",
        "READY",
        "UP-TO-DATE",
        "AVAILABLE",
        "ORDINALS",
        "STRATEGY",
        "POLICY",
        "CLAIMS",
        "STATE",
        "AGE",
    ]);
    if global.output == OutputFormat::Wide {
        headers.push("RETENTION");
    }
    let rows = items
        .iter()
        .map(|s| {
            let mut row = vec![];
            if all_namespaces {
                row.push(Cell::new(&s.namespace));
            }
            let c = &s.replicas;
            row.extend([
                Cell::new(&s.name),
                Cell::new(format!("{}/{}", c.ready, c.desired)),
                Cell::new(c.updated),
                Cell::new(c.available),
                Cell::new(if s.ordinals.end > s.ordinals.start {
                    format!("{}..{}", s.ordinals.start, s.ordinals.end - 1)
                } else {
                    "none".into()
                }),
                Cell::new(match s.update_strategy.type_.as_str() {
                    "RollingUpdate" if s.update_strategy.partition > 0 => {
                        format!("RollingUpdate(partition={})", s.update_strategy.partition)
                    }
                    other => other.to_string(),
                }),
                Cell::new(&s.pod_management_policy),
                Cell::new(if s.claim_templates.is_empty() {
                    "<none>".into()
                } else {
                    s.claim_templates.join(",")
                }),
                style.cell(s.state, state_tone(s.state)),
                Cell::new(age(s.age_seconds)),
            ]);
            if global.output == OutputFormat::Wide {
                row.push(Cell::new(format!(
                    "deleted={},scaled={}",
                    s.pvc_retention_policy.when_deleted, s.pvc_retention_policy.when_scaled
                )));
            }
            row
        })
        .collect();
    render::table(&headers, rows, global.no_headers)
}
