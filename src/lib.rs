//! kubectl-sts: operate Kubernetes StatefulSets safely.
//!
//! The binary is a thin shell over this library: [`run`] parses nothing itself, it
//! takes parsed [`cli::Cli`] arguments, dispatches the subcommand and returns the
//! documented exit code. Commands follow one shape: gather (kube) -> decide (pure
//! [`model`]) -> render.

pub mod access;
pub mod cli;
pub mod commands;
pub mod confirm;
pub mod error;
pub mod exec;
pub mod gather;
pub mod interrupt;
pub mod kubeconfig;
pub mod model;
pub mod output;
pub mod render;
pub mod watch;

use crate::cli::{Cli, Command};
use crate::error::{CliError, Result};
use crate::interrupt::Stop;

/// Run one invocation. Commands that only report end at once on Ctrl-C or a closed
/// stdout; the others stop themselves, safely (see [`interrupt`]).
pub async fn run(cli: &Cli) -> Result<()> {
    if !interrupt::reports_only(&cli.command) {
        return dispatch(cli).await;
    }
    tokio::select! {
        r = dispatch(cli) => r,
        stop = interrupt::stop_watching() => match stop {
            Stop::CtrlC => Err(CliError::interrupted("interrupted: nothing was changed")),
            // Nobody reads the rest: end quietly (main turns this into exit 141).
            Stop::OutputClosed => Ok(()),
        },
    }
}

async fn dispatch(cli: &Cli) -> Result<()> {
    match &cli.command {
        Command::Status(args) => commands::status::run(&cli.global, args).await,
        Command::Orphans(args) => commands::orphans::run(&cli.global, args).await,
        Command::VerifyPersistence(args) => commands::verify::run(&cli.global, args).await,
        Command::Scale(args) => commands::scale::run(&cli.global, args).await,
        Command::Rollout(args) => commands::rollout::run(&cli.global, args).await,
        Command::Restart(args) => commands::rollout::restart(&cli.global, args).await,
        Command::Completion(args) => commands::completion::run(args),
        Command::Version(args) => commands::version::run(&cli.global, args).await,
        Command::Resize(args) => commands::resize::run(&cli.global, args).await,
    }
}
