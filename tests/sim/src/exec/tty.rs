//! A pseudo-terminal for `tty=true` execs (`kubectl exec -it`), as the container runtime
//! gives one: the process gets the pty's slave as stdin/stdout/stderr and controlling
//! terminal, output comes back on the stdout channel (with the terminal's `\r\n`), and
//! resize messages on channel 4 (`{"Width":80,"Height":24}`, remotecommand
//! `TerminalSize`) set the window size.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use serde::Deserialize;

/// The master side of a pty.
pub struct Pty {
    master: OwnedFd,
}

/// remotecommand's `TerminalSize` as sent on the resize channel.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TerminalSize {
    pub width: u16,
    pub height: u16,
}

/// Open a pty; returns the master and the slave (for the process).
pub fn open() -> io::Result<(Pty, OwnedFd)> {
    let (mut master, mut slave) = (-1, -1);
    let ws = libc::winsize {
        ws_row: 24,
        ws_col: 80,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two fds into the out-pointers; the name pointer may be null.
    let rc = unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), &ws) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both fds were just opened by openpty and are owned by nobody else.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    Ok((Pty { master }, slave))
}

impl Pty {
    /// Apply a resize message; malformed ones are ignored, as the kubelet logs and
    /// drops them.
    pub fn resize(&self, json: &[u8]) {
        let Ok(size) = serde_json::from_slice::<TerminalSize>(json) else {
            return;
        };
        let ws = libc::winsize {
            ws_row: size.height,
            ws_col: size.width,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads a winsize from the pointer; the fd is a pty master.
        unsafe { libc::ioctl(self.master.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
    }

    /// An async handle on the master for reading or writing (a dup of the fd).
    pub fn file(&self) -> io::Result<tokio::fs::File> {
        Ok(tokio::fs::File::from_std(std::fs::File::from(self.master.try_clone()?)))
    }
}

/// For `Command::pre_exec`: start a new session with the pty (fd 0) as its controlling
/// terminal, as runc does for a terminal process.
pub fn make_controlling_terminal() -> io::Result<()> {
    // SAFETY: async-signal-safe calls only, in the forked child before exec.
    unsafe {
        if libc::setsid() < 0 {
            return Err(io::Error::last_os_error());
        }
        if libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
