//! Asking before destroying anything: a prompt on a terminal, `--yes` otherwise.
//!
//! Without a TTY on stdin there is nobody to ask, so a destructive step refuses unless
//! `--yes` was given (exit 2, with the flag to add).

use std::io::{BufRead, IsTerminal, Write};

use crate::error::{CliError, Result};

/// Whether to go ahead with `action` (one line naming the objects, namespace and context).
///
/// - `yes`: go ahead without asking.
/// - stdin is a terminal: ask `action` + ` [y/N]` on stderr; only `y`/`yes` proceeds.
/// - otherwise: refuse with an error that names `--yes`.
pub fn confirm(action: &str, yes: bool) -> Result<bool> {
    if yes {
        return Ok(true);
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(CliError::usage(format!(
            "refusing to {action} without confirmation: stdin is not a terminal, so re-run with --yes to confirm (or --dry-run to only see the plan)"
        )));
    }
    let mut err = std::io::stderr();
    let _ = write!(err, "{action}? [y/N] ");
    let _ = err.flush();
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .map_err(|e| CliError::usage(format!("cannot read the answer: {e}")))?;
    Ok(matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
}
