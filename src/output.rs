//! The one way this program writes to stdout and stderr.
//!
//! Runbooks pipe `kubectl sts` into `head`, `grep -m1` and `jq`; when the reader goes
//! away, a write to stdout fails with `EPIPE`. `print!` would panic on that (and the
//! release profile aborts on a panic), so every write goes through here instead:
//! a failed stdout write latches "stdout is closed", later writes are dropped, and
//! [`closed`] wakes whoever waits on it. What happens next is the command's choice,
//! made in one place ([`crate::interrupt`]): a command that only reports stops at once,
//! one that is changing the cluster finishes (or cleans up) first. Either way the
//! program ends quietly with exit code [`crate::error::Exit::OutputClosed`] (141, what a
//! shell shows for kubectl killed by SIGPIPE under `set -o pipefail`), unless the
//! command failed for another reason, whose code wins.
//!
//! stderr write failures are ignored: there is nobody left to tell.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);
static CLOSED: Notify = Notify::const_new();

/// Write `text` to stdout and flush it; a failure (a closed pipe) latches stdout closed.
pub fn out(text: &str) {
    if stdout_closed() {
        return;
    }
    let mut lock = io::stdout().lock();
    if lock.write_all(text.as_bytes()).and_then(|()| lock.flush()).is_err() {
        mark_closed();
    }
}

/// Write `text` to stderr; failures are ignored.
pub fn err(text: &str) {
    let mut lock = io::stderr().lock();
    let _ = lock.write_all(text.as_bytes()).and_then(|()| lock.flush());
}

/// Whether a write to stdout has failed (its reader went away).
pub fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(Ordering::SeqCst)
}

fn mark_closed() {
    STDOUT_CLOSED.store(true, Ordering::SeqCst);
    CLOSED.notify_waiters();
}

/// Resolves once stdout is closed (at once if it already is).
pub async fn closed() {
    loop {
        let notified = CLOSED.notified();
        tokio::pin!(notified);
        // Register before checking the flag, so a close between the two is not missed.
        notified.as_mut().enable();
        if stdout_closed() {
            return;
        }
        notified.await;
    }
}

/// stdout as an `io::Write` for code that streams lines (the live views): writes never
/// fail, a closed pipe latches as in [`out`].
#[derive(Debug, Default, Clone, Copy)]
pub struct Stdout;

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !stdout_closed() && io::stdout().lock().write_all(buf).is_err() {
            mark_closed();
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        if !stdout_closed() && io::stdout().lock().flush().is_err() {
            mark_closed();
        }
        Ok(())
    }
}

/// stderr as an `io::Write`; failures are ignored.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stderr;

impl Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let _ = io::stderr().lock().write_all(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        let _ = io::stderr().lock().flush();
        Ok(())
    }
}

/// `print!` through [`out`].
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => { $crate::output::out(&format!($($arg)*)) };
}

/// `println!` through [`out`].
#[macro_export]
macro_rules! outln {
    () => { $crate::output::out("\n") };
    ($($arg:tt)*) => { $crate::output::out(&format!("{}\n", format_args!($($arg)*))) };
}

/// `eprint!` through [`err`].
#[macro_export]
macro_rules! err {
    ($($arg:tt)*) => { $crate::output::err(&format!($($arg)*)) };
}

/// `eprintln!` through [`err`].
#[macro_export]
macro_rules! errln {
    () => { $crate::output::err("\n") };
    ($($arg:tt)*) => { $crate::output::err(&format!("{}\n", format_args!($($arg)*))) };
}
