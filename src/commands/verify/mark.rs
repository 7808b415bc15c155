//! The mark step: one marker file per writable claim-template mount, written through
//! exec (argv only, no shell string) and read back once before anything is deleted.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

use super::Ctx;
use super::cleanup::{marker_left, remaining_note};
use super::drill::Untouched;
use super::interrupted;
use super::plan::DrillPlan;
use super::report::{MarkerState, PodDrill};
use crate::error::{CliError, Result};
use crate::exec::{self, ExitStatus};
use crate::model::persistence::ReadBack;

/// A 128-bit random hex string, from the OS-seeded keys std's hash maps use.
pub(super) fn nonce() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    (0..2u8)
        .map(|i| {
            let mut h = RandomState::new().build_hasher();
            h.write_u128(nanos);
            h.write_u32(std::process::id());
            h.write_u8(i);
            format!("{:016x}", h.finish())
        })
        .collect()
}

/// Write `content` to `path` without a shell string: the script is constant and the
/// data arrive as positional parameters. `set -C` refuses to overwrite an existing file.
pub(super) fn write_argv<'a>(content: &'a str, path: &'a str) -> [&'a str; 6] {
    [
        "sh",
        "-c",
        "set -C; printf %s \"$1\" > \"$2\" && { sync 2>/dev/null || :; }",
        "sh",
        content,
        path,
    ]
}

impl Ctx<'_> {
    /// Write every marker, then read each back once, so a missing `cat` shows up before
    /// deleting. On failure the markers are removed and the error says nothing was
    /// deleted.
    pub(super) async fn mark(&self, plan: &DrillPlan, drill: &mut PodDrill, nonces: &[String]) -> Result<()> {
        for (i, nonce) in nonces.iter().enumerate() {
            let Some(path) = drill.mounts[i].marker.clone() else {
                continue;
            };
            let argv = write_argv(nonce, &path);
            self.intr
                .may_have_written(&plan.pod, marker_left(&drill.mounts[i], &path));
            let write = self.intr.guard(self.exec(&plan.pod, &plan.container, &argv));
            let res = match write.await {
                None => {
                    // The exec may have reached the container before Ctrl-C: remove
                    // whatever it wrote (rm -f is harmless if it wrote nothing).
                    drill.mounts[i].marker_state = MarkerState::Unknown;
                    Err(Untouched::said(interrupted(&format!(
                        "while marking pod {}: nothing was deleted",
                        plan.pod
                    ))))
                }
                Some(Err(e)) => Err(Untouched::plain(e)),
                Some(Ok(out)) if out.success() => Ok(()),
                Some(Ok(out)) => {
                    if !matches!(out.status, ExitStatus::RuntimeError(_)) {
                        // The shell ran and failed part way, or ran and its answer was
                        // lost (no status): a whole or partial marker may exist.
                        drill.mounts[i].marker_state = MarkerState::Unknown;
                    }
                    Err(Untouched::plain(self.exec_failure(
                        &plan.pod,
                        &plan.container,
                        &format!("write the marker {path} ({})", drill.mounts[i].pvc),
                        &out,
                    )))
                }
            };
            if res.is_ok() {
                drill.mounts[i].marker_state = MarkerState::Written;
            } else if drill.mounts[i].marker_state != MarkerState::Unknown {
                self.intr.removed(&plan.pod, &path);
            }
            let res = match res {
                Ok(()) => match self.read_marker(&plan.pod, &plan.container, &path).await {
                    Ok(ReadBack::Found(c)) if c == *nonce => Ok(()),
                    Ok(ReadBack::Error(e)) => Err(Untouched::plain(CliError::api(e))),
                    Ok(other) => Err(Untouched::said(CliError::failed(format!(
                        "the marker {path} written to pod {} did not read back ({other:?}): the volume is not behaving; nothing was deleted",
                        plan.pod
                    )))),
                    Err(e) => Err(Untouched::plain(e)),
                },
                Err(e) => Err(e),
            };
            if let Err(failure) = res {
                self.cleanup(&plan.pod, &plan.container, drill).await;
                let mut e = failure.error;
                if !failure.says_nothing_deleted {
                    e.message = format!("{}; nothing was deleted{}", e.message, remaining_note(drill));
                }
                drill.state = format!("pod {} untouched (uid {})", plan.pod, plan.old_uid);
                return Err(e);
            }
        }
        crate::errln!(
            "marked {} volume(s) of {} (uid {}, node {})",
            drill
                .mounts
                .iter()
                .filter(|m| m.marker_state == MarkerState::Written)
                .count(),
            plan.pod,
            plan.old_uid,
            plan.node.as_deref().unwrap_or("<none>")
        );
        Ok(())
    }

    pub(super) async fn exec(&self, pod: &str, container: &str, argv: &[&str]) -> Result<exec::ExecOutput> {
        exec::run(self.kube, &self.ns, pod, container, argv, exec::DEFAULT_LIMIT).await
    }

    /// Turn a failed exec outcome into an error naming the container.
    pub(super) fn exec_failure(&self, pod: &str, container: &str, what: &str, out: &exec::ExecOutput) -> CliError {
        match &out.status {
            ExitStatus::MissingExecutable => exec::missing_executable_error(pod, container, "shell (sh) or cat/rm"),
            ExitStatus::RuntimeError(m) => CliError::api(format!(
                "cannot {what}: exec into container \"{container}\" of pod {pod} failed: {}",
                m.lines().next().unwrap_or(m)
            )),
            ExitStatus::Unknown => CliError::api(format!(
                "cannot {what}: the exec stream into pod {pod} closed without an exit status"
            )),
            ExitStatus::NoAnswer(d) => CliError::timeout(format!(
                "cannot {what}: no answer from the exec into pod {pod} within {}s (raise --request-timeout or check the connection)",
                d.as_secs_f64()
            )),
            ExitStatus::Code(c) => CliError::failed(format!(
                "cannot {what}: exit code {c}: {}",
                if out.stderr.is_empty() {
                    "no error output".to_string()
                } else {
                    out.stderr_line()
                }
            )),
        }
    }

    pub(super) async fn read_marker(&self, pod: &str, container: &str, path: &str) -> Result<ReadBack> {
        let out = self.exec(pod, container, &["cat", path]).await?;
        Ok(match &out.status {
            ExitStatus::Code(0) => ReadBack::Found(out.stdout_str()),
            ExitStatus::Code(_) if out.stderr_line().contains("No such file") => ReadBack::Missing,
            ExitStatus::MissingExecutable => {
                return Err(exec::missing_executable_error(pod, container, "cat"));
            }
            _ => ReadBack::Error(self.exec_failure(pod, container, "read the marker", &out).message),
        })
    }
}
