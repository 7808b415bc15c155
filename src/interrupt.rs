//! Ctrl-C, and stdout's reader going away: the one place that decides how a command stops.
//!
//! Two kinds of wait, two functions:
//! - [`ctrl_c`]: the user asked to stop. Every command that changes the cluster waits on
//!   this alone, so it can stop safely and say what state it left behind.
//! - [`stop_watching`]: Ctrl-C, or nobody reads the output any more (`| head -1`).
//!   For waits that only report (following a rollout, a scale, the listing commands):
//!   ending them changes nothing in the cluster.
//!
//! Which commands the dispatcher wraps in [`stop_watching`] is [`reports_only`], an
//! exhaustive match so a new command must decide.

use crate::cli::Command;

/// Why a wait ended early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    CtrlC,
    OutputClosed,
}

/// The next Ctrl-C. If the signal cannot be watched (no handler can be installed), never.
pub async fn ctrl_c() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// The next Ctrl-C, or stdout closing, whichever comes first.
pub async fn stop_watching() -> Stop {
    tokio::select! {
        () = ctrl_c() => Stop::CtrlC,
        () = crate::output::closed() => Stop::OutputClosed,
    }
}

/// Commands that only read the cluster: the dispatcher ends them at once on Ctrl-C
/// ("nothing was changed") or a closed stdout. The others handle both themselves.
pub fn reports_only(command: &Command) -> bool {
    match command {
        Command::Status(_) | Command::Completion(_) | Command::Version(_) => true,
        Command::Orphans(a) => !crate::commands::orphans::changes_cluster(a),
        // rollout and restart follow the rollout themselves (and print the trace so far);
        // scale says what it requested; verify-persistence removes its markers.
        Command::Rollout(_)
        | Command::Restart(_)
        | Command::Scale(_)
        | Command::VerifyPersistence(_)
        | Command::Resize(_) => false,
    }
}
