//! The live view of a command that follows the cluster (scale, rollout, restart).
//!
//! On a terminal: an indicatif multi-progress view, redrawn in place: an optional
//! overall bar, an optional status line, one line per ordinal (keyed by ordinal),
//! and lines of their own printed above them. Elsewhere (pipes, CI logs, files): one
//! plain line per change, like `kubectl get -w`, in a stable, parseable shape:
//!
//! ```text
//! TIME KIND/NAME EVENT [KEY=VALUE]...
//! 2026-11-22T03:05:07.301Z pod/web-2 created ordinal=2 status=Pending
//! 2026-11-22T03:05:08.120Z pvc/disk-ssd-web-2 bound state=reused volume=pvc-6f1c...
//! 2026-11-22T03:05:09.004Z pod/web-2 stuck reason=ImagePullBackOff object=pod/web-2 message="container nginx ImagePullBackOff: ..."
//! ```
//!
//! TIME is RFC 3339 UTC with milliseconds, when the change was observed. KIND is
//! `pod`, `pvc`, `statefulset`, `scale` or `watch`. VALUE is bare, or a JSON string
//! when it is empty or holds spaces, quotes or `=`. Lines never wrap.
//!
//! [`LiveView`] is the one type for both shapes; what each command shows in it
//! (scale's rows from `model::progress`, rollout's from `model::revisions`) is in
//! [`LiveView::show_scale`] and [`LiveView::show_trace`].

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use jiff::Timestamp;

use crate::model::progress::{OrdinalRow, PodState, Role, Transition};
use crate::model::revisions::{OrdinalState, Trace, TraceEvent};
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
    line(t.at, t.kind, &t.name, t.event.as_str(), &t.fields)
}

/// What a command announces itself in the live view (the cluster's own changes come
/// as [`Transition`]s and [`TraceEvent`]s from the model).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveEvent {
    /// `scale/NAME plan`: what the scale will do.
    Plan,
    /// `pvc/NAME will-reuse`: a PVC left by an earlier scale-down the new pod gets back.
    WillReuse,
    /// `pvc/NAME will-be-deleted`: whenScaled Delete removes it once its pod is gone.
    WillBeDeleted,
    /// `pvc/NAME will-be-kept`: whenScaled Retain leaves it behind.
    WillBeKept,
    /// `scale/NAME requested`: the scale was written.
    Requested,
    /// `scale/NAME dry-run`: the scale was only tried (--dry-run).
    DryRun,
    /// `statefulset/NAME restarted`: the restartedAt annotation was written.
    Restarted,
    /// `watch/SOURCE error`: a watch failed (and is retried unless it ended).
    WatchError,
    /// `watch/SOURCE relisted`: a watch listed again (after `410 Gone`).
    Relisted,
    /// `connection/apiserver lost`: no answer from the API server; the watches retry.
    ConnectionLost,
    /// `connection/apiserver reconnected`: it answers again.
    Reconnected,
}

impl LiveEvent {
    /// The EVENT word of the plain line.
    pub fn as_str(self) -> &'static str {
        match self {
            LiveEvent::Plan => "plan",
            LiveEvent::WillReuse => "will-reuse",
            LiveEvent::WillBeDeleted => "will-be-deleted",
            LiveEvent::WillBeKept => "will-be-kept",
            LiveEvent::Requested => "requested",
            LiveEvent::DryRun => "dry-run",
            LiveEvent::ConnectionLost => "lost",
            LiveEvent::Reconnected => "reconnected",
            LiveEvent::Restarted => "restarted",
            LiveEvent::WatchError => "error",
            LiveEvent::Relisted => "relisted",
        }
    }
}

/// Where the live view goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sink {
    Stdout,
    Stderr,
}

impl Sink {
    /// stderr under `-o json|yaml` (stdout carries the report), else stdout.
    pub fn beside_report(structured: bool) -> Sink {
        if structured { Sink::Stderr } else { Sink::Stdout }
    }

    fn is_terminal(self) -> bool {
        match self {
            Sink::Stdout => std::io::stdout().is_terminal(),
            Sink::Stderr => std::io::stderr().is_terminal(),
        }
    }

    fn writer(self) -> Box<dyn Write + Send> {
        match self {
            Sink::Stdout => Box::new(crate::output::Stdout),
            Sink::Stderr => Box::new(crate::output::Stderr),
        }
    }

    fn draw_target(self) -> ProgressDrawTarget {
        match self {
            Sink::Stdout => ProgressDrawTarget::stdout(),
            Sink::Stderr => ProgressDrawTarget::stderr(),
        }
    }
}

/// A live view: plain lines, or the terminal view. Every method takes `&self`, so a
/// command can share it between the steps that report into it.
pub struct LiveView {
    mode: Mode,
    style: Style,
}

enum Mode {
    /// Plain lines to a writer.
    Lines(Mutex<Box<dyn Write + Send>>),
    /// The terminal view.
    Bars(Bars),
}

struct Bars {
    multi: MultiProgress,
    overall: Option<ProgressBar>,
    status: OnceLock<ProgressBar>,
    rows: Mutex<BTreeMap<i32, ProgressBar>>,
}

impl LiveView {
    /// The terminal view when `bars` is wanted and `sink` is a terminal, else plain lines.
    pub fn open(sink: Sink, bars: bool, style: Style) -> LiveView {
        if bars && sink.is_terminal() {
            LiveView {
                mode: Mode::Bars(Bars {
                    multi: MultiProgress::with_draw_target(sink.draw_target()),
                    overall: None,
                    status: OnceLock::new(),
                    rows: Mutex::new(BTreeMap::new()),
                }),
                style,
            }
        } else {
            LiveView::lines(sink, style)
        }
    }

    /// Plain lines to `sink`, terminal or not.
    pub fn lines(sink: Sink, style: Style) -> LiveView {
        LiveView {
            mode: Mode::Lines(Mutex::new(sink.writer())),
            style,
        }
    }

    /// Plain lines to any writer (the tests' buffers).
    #[cfg(test)]
    fn to_writer(w: Box<dyn Write + Send>) -> LiveView {
        LiveView {
            mode: Mode::Lines(Mutex::new(w)),
            style: Style::plain(),
        }
    }

    /// Whether this is the terminal view.
    pub fn is_bars(&self) -> bool {
        matches!(self.mode, Mode::Bars(_))
    }

    /// Add the overall bar (`title [=====>   ] done/total message elapsed`) on top of
    /// the terminal view; plain lines have none.
    pub fn with_overall(mut self, title: &str, total: u64) -> LiveView {
        if let Mode::Bars(b) = &mut self.mode {
            let overall = b.multi.add(ProgressBar::new(total.max(1)));
            overall.set_style(
                ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {wide_msg} {elapsed}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            overall.set_prefix(title.to_string());
            overall.enable_steady_tick(Duration::from_millis(250));
            b.overall = Some(overall);
        }
        self
    }

    /// A line of its own: printed above the bars, or as a plain line.
    pub fn print(&self, text: &str) {
        match &self.mode {
            Mode::Lines(w) => {
                let mut w = lock(w);
                let _ = writeln!(w, "{text}");
                let _ = w.flush();
            }
            Mode::Bars(b) => {
                let _ = b.multi.println(text);
            }
        }
    }

    /// `TIME KIND/NAME EVENT [KEY=VALUE]...` of the command's own, as a line of its own.
    pub fn note(&self, at: Timestamp, kind: &str, name: &str, event: LiveEvent, fields: &[(&str, String)]) {
        self.print(&line(at, kind, name, event.as_str(), fields));
    }

    /// The status line: redrawn in place under the bars, or one plain line per call,
    /// `[HH:MM:SS.mmm] msg` in local time.
    pub fn status(&self, msg: &str) {
        match &self.mode {
            Mode::Lines(_) => self.print(&format!("[{}] {msg}", clock())),
            Mode::Bars(b) => b.status_bar().set_message(msg.to_string()),
        }
    }

    /// A step done: `done` printed above the bars and the status line set to `now`;
    /// or `done` as one status line.
    pub fn step(&self, done: &str, now: &str) {
        match &self.mode {
            Mode::Lines(_) => self.status(done),
            Mode::Bars(b) => {
                let bar = b.status_bar();
                bar.println(done);
                bar.set_message(now.to_string());
            }
        }
    }

    /// The line of ordinal `key` in the terminal view (added below the others the first
    /// time); plain lines show changes, not rows, so there it does nothing.
    pub fn set_row(&self, key: i32, text: String) {
        if let Mode::Bars(b) = &self.mode {
            let mut rows = lock(&b.rows);
            let bar = rows.entry(key).or_insert_with(|| {
                let pb = b.multi.add(ProgressBar::new_spinner());
                pb.set_style(
                    ProgressStyle::with_template("  {spinner} {wide_msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                pb.enable_steady_tick(Duration::from_millis(250));
                pb
            });
            bar.set_message(text);
        }
    }

    /// Move the overall bar (see [`LiveView::with_overall`]).
    pub fn set_overall(&self, done: u64, total: u64, message: String) {
        if let Mode::Bars(Bars {
            overall: Some(overall), ..
        }) = &self.mode
        {
            overall.set_length(total.max(1));
            overall.set_position(done);
            overall.set_message(message);
        }
    }

    /// Stop drawing; the bars stay on screen as they were last drawn.
    pub fn finish(&self) {
        if let Mode::Bars(b) = &self.mode {
            for bar in lock(&b.rows).values() {
                bar.finish();
            }
            if let Some(s) = b.status.get() {
                s.finish();
            }
            if let Some(o) = &b.overall {
                o.finish();
            }
        }
    }

    /// Stop drawing and take the bars off the screen (the lines printed above stay).
    pub fn clear(&self) {
        if let Mode::Bars(b) = &self.mode {
            for bar in lock(&b.rows).values() {
                bar.finish_and_clear();
            }
            if let Some(s) = b.status.get() {
                s.finish_and_clear();
            }
            if let Some(o) = &b.overall {
                o.finish_and_clear();
            }
            let _ = b.multi.clear();
        }
    }

    /// scale: what changed, then the rows as they are now. On a terminal only causes
    /// (stuck, order violations) are printed above the rows; plain lines get every change.
    pub fn show_scale(
        &self,
        transitions: &[Transition],
        rows: &[OrdinalRow],
        elapsed: &dyn Fn(i32) -> Option<Duration>,
    ) {
        let bars = self.is_bars();
        for t in transitions.iter().filter(|t| {
            !bars
                || matches!(
                    t.event,
                    crate::model::events::Ev::Stuck | crate::model::events::Ev::OrderViolation
                )
        }) {
            self.print(&transition_line(t));
        }
        if !bars {
            return;
        }
        let changing = rows.iter().filter(|r| r.role != Role::Unchanged).count() as u64;
        let done = rows.iter().filter(|r| r.role != Role::Unchanged && r.done).count() as u64;
        let stuck = rows.iter().find(|r| r.stuck.is_some());
        for r in rows {
            let text = row_text(r, elapsed(r.ordinal), self.style);
            self.set_row(r.ordinal, text);
        }
        self.set_overall(
            done,
            changing,
            match stuck {
                Some(r) => format!("{} stuck", r.pod),
                None => String::new(),
            },
        );
    }

    /// rollout and restart: every event as a line, then one row per ordinal, highest first.
    pub fn show_trace(&self, events: &[TraceEvent], trace: &Trace) {
        for e in events {
            let (kind, name) = e.object.split_once('/').unwrap_or((&e.object, ""));
            let fields: Vec<(&str, String)> = e.fields.iter().map(|(k, v)| (*k, v.clone())).collect();
            self.print(&line(e.at, kind, name, e.event.as_str(), &fields));
        }
        if !self.is_bars() {
            return;
        }
        let min_ready = trace.spec.min_ready_seconds;
        for o in trace.ordinals.values().rev() {
            let tone = match o.state {
                OrdinalState::Available => Tone::Good,
                OrdinalState::Held => Tone::Dim,
                _ if o.stuck.is_some() => Tone::Bad,
                _ => Tone::Plain,
            };
            let mut msg = format!(
                "{:<12} {:<26} {}",
                o.pod,
                o.state.label(min_ready),
                o.revision.as_deref().unwrap_or("-")
            );
            if let Some(d) = o.duration_seconds {
                msg.push_str(&format!("  {d:.1}s"));
            } else if let Some(b) = o.began_at() {
                msg.push_str(&format!("  {:.0}s", Timestamp::now().duration_since(b).as_secs_f64()));
            }
            if let Some(s) = &o.stuck {
                msg.push_str(&format!("  {}: {}", s.reason, s.message));
            }
            let text = self.style.paint(&msg, tone);
            self.set_row(o.ordinal, text);
        }
    }
}

impl Bars {
    /// The status line, added below the other bars the first time.
    fn status_bar(&self) -> &ProgressBar {
        self.status.get_or_init(|| {
            let b = self.multi.add(ProgressBar::new_spinner());
            b.enable_steady_tick(Duration::from_millis(100));
            b
        })
    }
}

/// A lock that a panic elsewhere does not poison for the view.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// `03:05:07.301`, local time: the stamp of a status line.
pub fn clock() -> String {
    jiff::Zoned::now().strftime("%H:%M:%S%.3f").to_string()
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

/// The text of one ordinal's line in scale's terminal view.
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

#[cfg(test)]
mod tests;
