//! Live views of a StatefulSet settling.
//!
//! On a terminal: an indicatif multi-progress view, one line per ordinal (pod state,
//! ready containers, restarts, PVCs, elapsed time, stuck cause) under an overall bar.
//! Elsewhere (pipes, CI logs, files): one plain line per change, like `kubectl get -w`,
//! in a stable, parseable shape:
//!
//! ```text
//! TIME KIND/NAME EVENT [KEY=VALUE]...
//! 2026-11-22T03:05:07.301Z pod/web-2 created ordinal=2 status=Pending
//! 2026-11-22T03:05:08.120Z pvc/disk-ssd-web-2 bound state=reused volume=pvc-6f1c...
//! 2026-11-22T03:05:09.004Z pod/web-2 stuck reason=ImagePullBackOff object=pod/web-2 message="container nginx ImagePullBackOff: ..."
//! ```
//!
//! TIME is RFC 3339 UTC with milliseconds, when the change was observed. KIND is
//! `pod`, `pvc`, `statefulset` or `scale`. VALUE is bare, or a JSON string when it is
//! empty or holds spaces, quotes or `=`. Lines never wrap.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use jiff::Timestamp;

use crate::model::progress::{OrdinalRow, PodState, Role, Transition};
use crate::render::{Style, Tone};

/// `2026-11-22T03:05:07.301Z`.
pub fn time(t: Timestamp) -> String {
    format!("{t:.3}")
}

/// A bare token, or a JSON string when it needs quoting.
pub fn value(v: &str) -> String {
    if v.is_empty()
        || v.chars()
            .any(|c| c.is_whitespace() || c == '"' || c == '=' || c.is_control())
    {
        serde_json::to_string(v).unwrap_or_else(|_| "\"\"".into())
    } else {
        v.to_string()
    }
}

/// One plain line: `TIME KIND/NAME EVENT [KEY=VALUE]...`.
pub fn line(at: Timestamp, kind: &str, name: &str, event: &str, fields: &[(&str, String)]) -> String {
    let mut s = format!("{} {kind}/{name} {event}", time(at));
    for (k, v) in fields {
        s.push(' ');
        s.push_str(k);
        s.push('=');
        s.push_str(&value(v));
    }
    s
}

pub fn transition_line(t: &Transition) -> String {
    line(t.at, t.kind, &t.name, t.event, &t.fields)
}

fn tone(row: &OrdinalRow) -> Tone {
    if row.stuck.as_ref().is_some_and(|s| s.clear) {
        Tone::Bad
    } else if row.stuck.is_some() {
        Tone::Warn
    } else if row.done {
        Tone::Good
    } else {
        Tone::Plain
    }
}

/// The text of one ordinal's line in the terminal view.
pub fn row_text(row: &OrdinalRow, elapsed: Option<Duration>, style: Style) -> String {
    let mark = match (row.done, row.role) {
        (true, Role::Removing) => "gone",
        (true, _) => "ok",
        (false, Role::Removing) => "removing",
        (false, Role::Adding) => "adding",
        (false, Role::Unchanged) => "waiting",
    };
    let claims: Vec<String> = row.claims.iter().map(|c| format!("{} {}", c.name, c.label())).collect();
    let status = if row.state == PodState::Absent && row.role == Role::Removing {
        "Gone".to_string()
    } else {
        row.status.clone()
    };
    let mut s = format!(
        "{:<10} {:<18} {:<5} restarts {:<3} {:<9}",
        row.pod, status, row.ready, row.restarts, mark
    );
    if !claims.is_empty() {
        s.push_str(&format!(" pvc {}", claims.join(", ")));
    }
    if let Some(d) = elapsed {
        s.push_str(&format!("  {:.1}s", d.as_secs_f64()));
    }
    if let Some(st) = &row.stuck {
        s.push_str(&format!("  {}: {}", st.reason, st.message));
    }
    style.paint(&s, tone(row))
}

/// Where the live view goes.
pub enum Live {
    /// Plain lines to a writer (stdout for tables, stderr under `-o json|yaml`).
    Lines(Box<dyn Write + Send>),
    /// The terminal view.
    Bars(Bars),
    /// Nothing.
    Quiet,
}

pub struct Bars {
    multi: MultiProgress,
    overall: ProgressBar,
    rows: BTreeMap<i32, ProgressBar>,
    style: Style,
}

impl Live {
    /// Plain lines to `out`.
    pub fn lines(out: Box<dyn Write + Send>) -> Live {
        Live::Lines(out)
    }

    /// The terminal view, on stdout or stderr, with `total` ordinals to change.
    pub fn bars(to_stderr: bool, total: u64, title: &str, style: Style) -> Live {
        let target = if to_stderr {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::stdout()
        };
        let multi = MultiProgress::with_draw_target(target);
        let overall = multi.add(ProgressBar::new(total.max(1)));
        overall.set_style(
            ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {wide_msg} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        overall.set_prefix(title.to_string());
        overall.enable_steady_tick(Duration::from_millis(250));
        Live::Bars(Bars {
            multi,
            overall,
            rows: BTreeMap::new(),
            style,
        })
    }

    /// A line of its own (plan, warnings): printed above the bars, or as a plain line.
    pub fn note(&mut self, at: Timestamp, kind: &str, name: &str, event: &str, fields: &[(&str, String)]) {
        match self {
            Live::Lines(w) => {
                let _ = writeln!(w, "{}", line(at, kind, name, event, fields));
                let _ = w.flush();
            }
            Live::Bars(b) => {
                let _ = b.multi.println(line(at, kind, name, event, fields));
            }
            Live::Quiet => {}
        }
    }

    /// Show what changed and the rows as they are now.
    pub fn update(
        &mut self,
        transitions: &[Transition],
        rows: &[OrdinalRow],
        elapsed: &dyn Fn(i32) -> Option<Duration>,
    ) {
        match self {
            Live::Lines(w) => {
                for t in transitions {
                    let _ = writeln!(w, "{}", transition_line(t));
                }
                let _ = w.flush();
            }
            Live::Bars(b) => {
                for t in transitions
                    .iter()
                    .filter(|t| matches!(t.event, "stuck" | "order-violation"))
                {
                    let _ = b.multi.println(transition_line(t));
                }
                let changing = rows.iter().filter(|r| r.role != Role::Unchanged).count() as u64;
                let done = rows.iter().filter(|r| r.role != Role::Unchanged && r.done).count() as u64;
                b.overall.set_length(changing.max(1));
                b.overall.set_position(done);
                for r in rows {
                    let bar = b.rows.entry(r.ordinal).or_insert_with(|| {
                        let pb = b.multi.add(ProgressBar::new_spinner());
                        pb.set_style(
                            ProgressStyle::with_template("  {spinner} {wide_msg}")
                                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                        );
                        pb.enable_steady_tick(Duration::from_millis(250));
                        pb
                    });
                    bar.set_message(row_text(r, elapsed(r.ordinal), b.style));
                }
                let stuck = rows.iter().find(|r| r.stuck.is_some());
                b.overall.set_message(match stuck {
                    Some(r) => format!("{} stuck", r.pod),
                    None => String::new(),
                });
            }
            Live::Quiet => {}
        }
    }

    /// Stop drawing (the bars stay on screen as they were last drawn).
    pub fn finish(&mut self) {
        if let Live::Bars(b) = self {
            for bar in b.rows.values() {
                bar.finish();
            }
            b.overall.finish();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::progress::{ClaimRow, ClaimState, Stuck};

    #[test]
    fn lines_are_parseable() {
        let at: Timestamp = "2026-11-22T03:05:07.301Z".parse().unwrap();
        let l = line(
            at,
            "pod",
            "web-2",
            "stuck",
            &[
                ("reason", "ImagePullBackOff".into()),
                ("message", "Back-off \"x\" a=b".into()),
            ],
        );
        assert_eq!(
            l,
            r#"2026-11-22T03:05:07.301Z pod/web-2 stuck reason=ImagePullBackOff message="Back-off \"x\" a=b""#
        );
        assert_eq!(value(""), "\"\"");
        assert!(!l.contains('\n'));
        let whole: Timestamp = "2026-11-22T03:05:07Z".parse().unwrap();
        assert_eq!(time(whole), "2026-11-22T03:05:07.000Z");
    }

    #[test]
    fn row_text_names_claims_and_cause() {
        let row = OrdinalRow {
            ordinal: 2,
            pod: "web-2".into(),
            role: Role::Adding,
            state: PodState::Pending,
            status: "ImagePullBackOff".into(),
            ready: "0/1".into(),
            restarts: 0,
            claims: vec![ClaimRow {
                template: "disk-ssd".into(),
                name: "disk-ssd-web-2".into(),
                state: ClaimState::Reused,
                phase: Some("Bound".into()),
                volume: Some("pv2".into()),
                previous_volume: Some("pv2".into()),
            }],
            stuck: Some(Stuck {
                reason: "ImagePullBackOff",
                message: "container nginx ImagePullBackOff".into(),
                object: "pod/web-2".into(),
                clear: true,
            }),
            done: false,
        };
        let s = row_text(&row, Some(Duration::from_millis(3200)), Style::plain());
        assert!(s.contains("web-2") && s.contains("disk-ssd-web-2 reused") && s.contains("3.2s"));
        assert!(s.contains("ImagePullBackOff: container nginx"), "{s}");
    }
}
