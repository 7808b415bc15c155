//! Verify's live view of a drill on stderr.

use std::time::Duration;

use crate::model::persistence::Phase;

/// Live phases: a spinner on a terminal, timestamped lines otherwise (stderr).
pub(super) struct VerifyLive {
    bar: Option<indicatif::ProgressBar>,
}

impl VerifyLive {
    pub(super) fn new(tty: bool) -> VerifyLive {
        VerifyLive {
            bar: tty.then(|| {
                let b = indicatif::ProgressBar::new_spinner();
                b.set_draw_target(indicatif::ProgressDrawTarget::stderr());
                b.enable_steady_tick(Duration::from_millis(100));
                b
            }),
        }
    }

    pub(super) fn line(&self, msg: &str) {
        match &self.bar {
            Some(b) => b.set_message(msg.to_string()),
            None => crate::errln!("[{}] {msg}", jiff::Zoned::now().strftime("%H:%M:%S%.3f")),
        }
    }

    /// A line of its own that stays (printed above the spinner on a terminal).
    pub(super) fn note(&self, msg: &str) {
        match &self.bar {
            Some(b) => b.println(msg),
            None => self.line(msg),
        }
    }

    pub(super) fn phase(&self, pod: &str, phase: Phase, at: Duration) {
        let msg = format!("{pod}: {} (+{:.1}s)", phase.label(), at.as_secs_f64());
        match &self.bar {
            Some(b) => {
                b.println(&msg);
                b.set_message(format!("{pod}: {}", phase.label()));
            }
            None => self.line(&msg),
        }
    }

    pub(super) fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
