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
pub mod kubeconfig;
pub mod model;
pub mod render;
pub mod watch;

use crate::cli::{Cli, Command};
use crate::error::{CliError, Exit};

/// Run one invocation. Ctrl-C ends it with exit 130 (commands that change the cluster
/// install their own handling so they can say what state they left behind).
pub async fn run(cli: &Cli) -> Result<Exit, CliError> {
    // scale handles Ctrl-C itself: it says what it requested and what is still in flight.
    if matches!(cli.command, Command::Scale(_)) {
        return dispatch(cli).await;
    }
    // orphans prune handles Ctrl-C itself: it reports what it deleted and what remains.
    if matches!(&cli.command, Command::Orphans(a) if commands::orphans::handles_interrupt(a)) {
        return dispatch(cli).await;
    }
    // verify-persistence handles Ctrl-C itself: it removes its markers when reachable and reports.
    if matches!(cli.command, Command::VerifyPersistence(_)) {
        return dispatch(cli).await;
    }
    // rollout/restart handle Ctrl-C themselves: they print the trace so far and what goes on.
    if matches!(cli.command, Command::Rollout(_) | Command::Restart(_)) {
        return dispatch(cli).await;
    }
    tokio::select! {
        r = dispatch(cli) => r,
        _ = tokio::signal::ctrl_c() => Err(CliError::new(Exit::Interrupted, "interrupted: nothing was changed")),
    }
}

async fn dispatch(cli: &Cli) -> Result<Exit, CliError> {
    match &cli.command {
        Command::Status(args) => commands::status::run(&cli.global, args).await,
        Command::Orphans(args) => commands::orphans::run(&cli.global, args).await,
        Command::VerifyPersistence(args) => commands::verify::run(&cli.global, args).await,
        Command::Scale(args) => commands::scale::run(&cli.global, args).await,
        Command::Rollout(args) => commands::rollout::run(&cli.global, args).await,
        Command::Restart(args) => commands::rollout::restart(&cli.global, args).await,
        Command::Completion(args) => commands::completion::run(args),
        Command::Version(args) => commands::version::run(&cli.global, args).await,
    }
}
