//! Write the man pages of `kubectl sts` (section 1) from the clap definitions:
//! `kubectl-sts.1` and one page per subcommand (`kubectl-sts-status.1`, ...).
//!
//!     cargo run --example man -- OUT_DIR
//!
//! scripts/release runs it and ships the pages in every release archive (`man/`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::CommandFactory;
use kubectl_sts::cli::Cli;

fn main() -> ExitCode {
    let Some(out) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("error: usage: cargo run --example man -- OUT_DIR");
        return ExitCode::from(2);
    };
    if let Err(e) = std::fs::create_dir_all(&out) {
        eprintln!("error: cannot create {}: {e}", out.display());
        return ExitCode::from(1);
    }
    // The page names come from the command's name (kubectl-sts), not its bin_name
    // ("kubectl sts", which has a space): man kubectl-sts, man kubectl-sts-scale.
    match clap_mangen::generate_to(Cli::command(), &out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot write man pages to {}: {e}", out.display());
            ExitCode::from(1)
        }
    }
}
