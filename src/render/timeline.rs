//! The rollout's shape at a glance: one Gantt-style bar per ordinal over time.
//!
//! ```text
//! web-2  xx--==                                    4.0s
//! web-1        x-=                                 2.0s
//! web-0            x--==+++                        5.1s
//!        0s                                       12.0s
//!        x terminating  - starting  = running  + ready, not yet available
//! ```
//!
//! Highest ordinal first, so a RollingUpdate reads as a staircase and several
//! ordinals in flight (maxUnavailable) show as overlapping bars. With colour: block
//! characters, coloured; without (pipes, `--no-color`, `NO_COLOR`): plain ASCII.
//! Held and unchanged ordinals get a word instead of a bar.

use jiff::Timestamp;

use crate::model::revisions::{OrdinalState, OrdinalTrace, Trace};
use crate::render::{Style, Tone};

/// The narrowest bar area worth drawing.
const MIN_BAR: usize = 10;

#[derive(Clone, Copy)]
enum Phase {
    Terminating,
    Starting,
    Running,
    Ready,
}

impl Phase {
    fn glyph(self, color: bool) -> char {
        match (self, color) {
            (Phase::Terminating, false) => 'x',
            (Phase::Starting, false) => '-',
            (Phase::Running, false) => '=',
            (Phase::Ready, false) => '+',
            (Phase::Terminating, true) => '░',
            (Phase::Starting, true) => '▒',
            (Phase::Running, true) => '▓',
            (Phase::Ready, true) => '█',
        }
    }

    fn tone(self) -> Tone {
        match self {
            Phase::Terminating => Tone::Dim,
            Phase::Starting => Tone::Warn,
            Phase::Running => Tone::Warn,
            Phase::Ready => Tone::Good,
        }
    }
}

/// The phases of one ordinal's update as `[from, to)` intervals, open ones ending at `end`.
fn segments(o: &OrdinalTrace, end: Timestamp) -> Vec<(Phase, Timestamp, Timestamp)> {
    let marks = [
        (Phase::Terminating, o.update_started_at),
        (Phase::Starting, o.old_pod_gone_at.or(o.new_pod_created_at)),
        (Phase::Running, o.new_pod_running_at),
        (Phase::Ready, o.new_pod_ready_at),
    ];
    let stop = o.new_pod_available_at.unwrap_or(end);
    let known: Vec<(Phase, Timestamp)> = marks.iter().filter_map(|(p, t)| t.map(|t| (*p, t))).collect();
    let mut out = Vec::new();
    for (i, (p, from)) in known.iter().enumerate() {
        let to = known.get(i + 1).map(|(_, t)| *t).unwrap_or(stop);
        if to >= *from {
            out.push((*p, *from, to.min(stop).max(*from)));
        }
    }
    // Instants (ready and available at once, a pod replaced between two snapshots) take
    // no room, unless nothing else is known.
    let spans: Vec<_> = out.iter().copied().filter(|(_, a, b)| b > a).collect();
    if spans.is_empty() {
        out.into_iter().last().into_iter().collect()
    } else {
        spans
    }
}

fn seconds(d: f64) -> String {
    if d >= 600.0 {
        format!("{:.0}m", d / 60.0)
    } else if d >= 100.0 {
        format!("{d:.0}s")
    } else {
        format!("{d:.1}s")
    }
}

/// Draw the timeline of `trace` up to `end` in `width` columns.
pub fn render(trace: &Trace, end: Timestamp, width: usize, style: Style) -> String {
    let (t0, t1) = trace.span(end);
    let total = t1.duration_since(t0).as_secs_f64().max(0.001);
    let rows: Vec<&OrdinalTrace> = trace.ordinals.values().rev().collect();
    if rows.is_empty() {
        return String::new();
    }
    let label_w = rows.iter().map(|o| o.pod.len()).max().unwrap_or(5);
    let tail_w = 8;
    let bar_w = width.saturating_sub(label_w + 2 + 2 + tail_w).max(MIN_BAR);
    let col = |t: Timestamp| -> usize {
        let x = t.duration_since(t0).as_secs_f64() / total * bar_w as f64;
        (x.floor().max(0.0) as usize).min(bar_w)
    };
    let mut out = String::new();
    for o in rows {
        let mut line = format!("{:<label_w$}  ", o.pod);
        if !o.in_rollout {
            let word = match o.state {
                OrdinalState::Held => "held below the partition (keeps the current revision)",
                OrdinalState::Available => "already at the update revision",
                _ => "not updated",
            };
            line.push_str(&style.paint(word, Tone::Dim));
            out.push_str(line.trim_end());
            out.push('\n');
            continue;
        }
        let mut cells: Vec<Option<Phase>> = vec![None; bar_w];
        for (p, from, to) in segments(o, t1) {
            let (a, mut b) = (col(from), col(to));
            if b <= a {
                b = (a + 1).min(bar_w);
            }
            let a = a.min(bar_w.saturating_sub(1));
            for c in cells.iter_mut().take(b).skip(a) {
                *c = Some(p);
            }
        }
        let mut bar = String::new();
        let mut run: Option<(Phase, String)> = None;
        let flush = |bar: &mut String, run: &mut Option<(Phase, String)>| {
            if let Some((p, s)) = run.take() {
                bar.push_str(&style.paint(&s, p.tone()));
            }
        };
        for c in &cells {
            match (c, &mut run) {
                (Some(p), Some((q, s))) if std::mem::discriminant(p) == std::mem::discriminant(q) => {
                    s.push(p.glyph(style.color))
                }
                (Some(p), _) => {
                    flush(&mut bar, &mut run);
                    run = Some((*p, p.glyph(style.color).to_string()));
                }
                (None, _) => {
                    flush(&mut bar, &mut run);
                    bar.push(' ');
                }
            }
        }
        flush(&mut bar, &mut run);
        line.push_str(&bar);
        let tail = match (o.duration_seconds, o.state) {
            (Some(d), _) => seconds(d),
            (None, OrdinalState::WaitingForManualDelete) => "manual".into(),
            (None, OrdinalState::Waiting) => "waiting".into(),
            (None, _) if o.stuck.is_some() => style.paint("stuck", Tone::Bad),
            (None, _) => "...".into(),
        };
        line.push_str(&format!("  {tail:>6}"));
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let total_s = seconds(total);
    let axis_pad = bar_w.saturating_sub(2 + total_s.len());
    out.push_str(&format!("{:<label_w$}  0s{}{total_s}\n", "", " ".repeat(axis_pad)));
    let legend: Vec<String> = [
        (Phase::Terminating, "terminating"),
        (Phase::Starting, "starting"),
        (Phase::Running, "running"),
        (Phase::Ready, "ready, not yet available"),
    ]
    .iter()
    .filter(|(p, _)| !matches!(p, Phase::Ready) || trace.spec.min_ready_seconds > 0)
    .map(|(p, w)| format!("{} {w}", style.paint(&p.glyph(style.color).to_string(), p.tone())))
    .collect();
    out.push_str(&format!("{:<label_w$}  {}\n", "", legend.join("  ")));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::progress::World;
    use k8s_openapi::api::apps::v1::StatefulSet;
    use k8s_openapi::api::core::v1::Pod;
    use serde_json::json;

    fn t(s: &str) -> Timestamp {
        format!("2026-11-22T03:06:{s}Z").parse().unwrap()
    }

    fn sts(update: &str, partition: i32) -> StatefulSet {
        serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "default", "generation": 2},
            "spec": {"replicas": 3, "selector": {}, "serviceName": "nginx",
                     "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": partition}},
                     "template": {"spec": {"containers": []}}},
            "status": {"observedGeneration": 2, "replicas": 3, "currentRevision": "old", "updateRevision": update}
        }))
        .unwrap()
    }

    fn pod(o: i32, uid: &str, rev: &str, how: &str) -> Pod {
        let mut v = json!({"metadata": {"name": format!("web-{o}"), "uid": uid, "creationTimestamp": "2026-11-22T03:00:00Z",
            "labels": {"controller-revision-hash": rev}},
            "status": {"phase": if how == "pending" { "Pending" } else { "Running" },
              "conditions": [{"type": "Ready", "status": if how == "ready" { "True" } else { "False" }}]}});
        if how == "terminating" {
            v["metadata"]["deletionTimestamp"] = json!("2026-11-22T03:00:00Z");
        }
        serde_json::from_value(v).unwrap()
    }

    /// 2 then 1, 0 held by partition 1: a staircase, then a word for the held ordinal.
    fn traced() -> Trace {
        let s = sts("new", 1);
        let mut tr = Trace::new(&s, &[], t("00"));
        let mut pods = vec![
            pod(0, "a", "old", "ready"),
            pod(1, "b", "old", "ready"),
            pod(2, "c", "old", "ready"),
        ];
        let mut step = |at: &str, pods: &[Pod]| {
            let w = World {
                sts: Some(&s),
                pods: pods.iter().collect(),
                ..World::default()
            };
            tr.observe(t(at), &w);
        };
        step("00", &pods);
        pods[2] = pod(2, "c", "old", "terminating");
        step("00", &pods);
        pods[2] = pod(2, "c2", "new", "pending");
        step("02", &pods);
        pods[2] = pod(2, "c2", "new", "running");
        step("03", &pods);
        pods[2] = pod(2, "c2", "new", "ready");
        step("04", &pods);
        pods[1] = pod(1, "b", "old", "terminating");
        step("05", &pods);
        pods[1] = pod(1, "b2", "new", "ready");
        step("10", &pods);
        tr
    }

    #[test]
    fn ascii_staircase_without_colour() {
        let tr = traced();
        let out = render(&tr, t("10"), 40, Style::plain());
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 5, "{out}");
        assert!(out.is_ascii(), "{out}");
        // 40 columns: 5 label + 2 + 23 bar + 2 + 8 tail; 10 s over 23 columns.
        // web-2: terminating 0-2 s, starting 2-3 s, running 3-4 s, then done.
        assert_eq!(lines[0], format!("web-2  xxxx--==={}    4.0s", " ".repeat(14)));
        // web-1: terminating from 5 s until its new pod showed up Ready at 10 s.
        assert_eq!(lines[1], format!("web-1  {}{}    5.0s", " ".repeat(11), "x".repeat(12)));
        assert_eq!(lines[2], "web-0  held below the partition (keeps the current revision)");
        assert!(
            lines[3].trim_start().starts_with("0s") && lines[3].ends_with("10.0s"),
            "{out}"
        );
        assert!(lines[4].contains("x terminating") && !lines[4].contains("available"));
        for l in &lines[..2] {
            assert!(l.chars().count() <= 40, "{l}");
        }
    }

    #[test]
    fn width_aware_and_coloured() {
        let tr = traced();
        let wide = render(&tr, t("10"), 120, Style::plain());
        assert!(wide.lines().next().unwrap().chars().count() <= 120);
        assert!(wide.lines().next().unwrap().chars().count() > 60);
        // Too narrow a terminal still draws a readable minimum.
        let narrow = render(&tr, t("10"), 5, Style::plain());
        assert!(narrow.lines().next().unwrap().contains('x'));
        let colour = render(&tr, t("10"), 60, Style { color: true });
        assert!(colour.contains('░') && colour.contains("\x1b["));
    }
}
