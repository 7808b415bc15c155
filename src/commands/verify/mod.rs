//! `kubectl sts verify-persistence STS`: prove a pod's data survives its deletion and
//! recreation.
//!
//! Per ordinal: preflight (gather + [`persistence::preflight`], `plan.rs`) -> confirm ->
//! mark (exec, argv only; `mark.rs`) -> delete with a UID precondition (or evict) ->
//! wait on a watch ([`persistence::WaitTracker`]; `delete.rs`) -> read the markers back
//! and compare the PVCs ([`persistence::verdict`]; `read_back.rs`) -> remove the markers
//! (`cleanup.rs`). `drill.rs` runs those steps for one pod; `report.rs` holds what is
//! printed. Ctrl-C is handled here, not by the generic handler in `lib.rs`: nothing more
//! is deleted, markers are removed when the pod is reachable, and the state left behind
//! is printed (exit 130).

mod cleanup;
mod delete;
mod drill;
mod mark;
mod plan;
mod read_back;
mod report;
#[cfg(test)]
mod tests;

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};

use tokio::sync::watch as tokio_watch;

use crate::cli::{GlobalArgs, VerifyArgs};
use crate::error::{CliError, ErrorKind, Exit, Result};
use crate::kubeconfig::Kube;
use crate::model::ordinals::pod_name;
use crate::model::persistence::{self, Verdict};
use crate::model::statefulset::Facts;
use crate::render::{self, Style};

use crate::render::live::{LiveView, Sink};
use plan::{DrillPlan, planned, refusal};
use report::{MarkerLeft, VerifyOutcome, VerifyReport};

pub(crate) const API_VERSION: &str = "kubectl-sts/v1";

/// Ctrl-C, observed: a flag every step checks, and a future to race against. It also
/// keeps the ledger of marker files that may be on a volume right now, so that even a
/// second Ctrl-C (exit at once, no cleanup) names every file it leaves behind.
#[derive(Clone)]
struct Interrupt {
    rx: tokio_watch::Receiver<bool>,
    ledger: Arc<Mutex<Vec<(String, MarkerLeft)>>>,
}

impl Interrupt {
    /// Replace the default SIGINT behaviour for this command. A second Ctrl-C exits at
    /// once (130) for a user who cannot wait for the cleanup.
    fn install() -> Interrupt {
        let (tx, rx) = tokio_watch::channel(false);
        let ledger: Arc<Mutex<Vec<(String, MarkerLeft)>>> = Arc::default();
        let left = ledger.clone();
        tokio::spawn(async move {
            {
                crate::interrupt::ctrl_c().await;
                // Say it before waking the command, so this line comes before its outcome.
                crate::errln!("interrupted: stopping safely (nothing more will be deleted); Ctrl-C again to exit now");
                let _ = tx.send(true);
                {
                    crate::interrupt::ctrl_c().await;
                    let left = left.lock().unwrap_or_else(|p| p.into_inner());
                    if left.is_empty() {
                        crate::errln!("error: interrupted twice: exiting at once; no marker file was on a volume");
                    } else {
                        let list: Vec<String> = left
                            .iter()
                            .map(|(pod, m)| format!("{} on PVC {} (written by {pod})", m.path_in_volume, m.pvc))
                            .collect();
                        crate::errln!(
                            "error: interrupted twice: exiting without cleanup; marker files may remain: {} (remove them by hand)",
                            list.join(", ")
                        );
                    }
                    std::process::exit(Exit::Interrupted as i32);
                }
            }
        });
        Interrupt { rx, ledger }
    }

    /// A marker may now be on its volume (a write was attempted).
    fn may_have_written(&self, pod: &str, marker: MarkerLeft) {
        let mut l = self.ledger.lock().unwrap_or_else(|p| p.into_inner());
        if !l.iter().any(|(p, m)| p == pod && m.path == marker.path) {
            l.push((pod.to_string(), marker));
        }
    }

    /// A marker is gone from its volume (removed, or known never written).
    fn removed(&self, pod: &str, path: &str) {
        self.ledger
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|(p, m)| !(p == pod && m.path == path));
    }

    fn fired(&self) -> bool {
        *self.rx.borrow()
    }

    async fn wait(&self) {
        let mut rx = self.rx.clone();
        let _ = rx.wait_for(|v| *v).await;
    }

    /// Run `fut` unless Ctrl-C comes first (None).
    async fn guard<T>(&self, fut: impl Future<Output = T>) -> Option<T> {
        if self.fired() {
            return None;
        }
        tokio::select! {
            r = fut => Some(r),
            _ = self.wait() => None,
        }
    }
}

fn interrupted(what: &str) -> CliError {
    CliError::interrupted(format!("interrupted {what}"))
}

fn interrupted_msg(msg: String) -> CliError {
    CliError::interrupted(msg)
}

struct Ctx<'a> {
    kube: &'a Kube,
    ns: String,
    sts: String,
    args: &'a VerifyArgs,
    global: &'a GlobalArgs,
    intr: Interrupt,
    style: Style,
    live: LiveView,
}

pub async fn run(global: &GlobalArgs, args: &VerifyArgs) -> Result<()> {
    let intr = Interrupt::install();
    let kube = Kube::connect(global).await?;
    let ctx = Ctx {
        kube: &kube,
        ns: kube.namespace.clone(),
        sts: args.name.clone(),
        args,
        global,
        intr,
        style: Style::from_args(global),
        live: LiveView::open(
            Sink::Stderr,
            !render::is_structured(global.output),
            crate::render::Style::from_args(global),
        ),
    };
    ctx.run().await
}

impl Ctx<'_> {
    async fn run(&self) -> Result<()> {
        let (sts, pods_in) = self
            .intr
            .guard(self.gather_sts())
            .await
            .ok_or_else(|| interrupted("during the preflight: nothing was changed"))??;
        let facts = Facts::of(&sts);
        let ordinals = self.choose_ordinals(&facts)?;
        let mut report = VerifyReport {
            api_version: API_VERSION,
            kind: "PersistenceVerification",
            namespace: self.ns.clone(),
            stateful_set: facts.name.clone(),
            context: self.kube.endpoint.context.clone(),
            dry_run: self.args.dry_run,
            deletion: if self.args.evict { "evict" } else { "delete" },
            result: VerifyOutcome::Planned,
            pods: Vec::new(),
        };

        // The first ordinal's preflight decides before anything is asked or changed.
        let first = self.plan(&facts, &pods_in, ordinals[0]).await?;
        self.check_access(&first.pod, ordinals.len() > 1).await?;
        if self.args.dry_run {
            let refused = persistence::refused(&first.findings, self.args.force);
            report.pods.push(planned(&first, self.args.force));
            if refused {
                report.result = VerifyOutcome::Refused;
            }
            self.print(&report);
            return if refused {
                Err(refusal(&first, &self.sts))
            } else {
                Ok(())
            };
        }
        if persistence::refused(&first.findings, self.args.force) {
            return Err(refusal(&first, &self.sts));
        }
        if !self.confirm(&self.action(&first, &ordinals)).await? {
            crate::errln!("Nothing was changed.");
            return Err(CliError::reported(ErrorKind::Failed));
        }

        self.drill_all(first, &ordinals, &mut report).await?;
        let verdicts: Vec<Verdict> = report
            .pods
            .iter()
            .flat_map(|d| d.mounts.iter().filter_map(|m| m.verdict))
            .collect();
        report.result = if verdicts.contains(&Verdict::Lost) {
            VerifyOutcome::Lost
        } else if verdicts.contains(&Verdict::Unknown) || verdicts.is_empty() {
            VerifyOutcome::Unknown
        } else {
            VerifyOutcome::Persisted
        };
        self.print(&report);
        match report.result {
            VerifyOutcome::Persisted => Ok(()),
            VerifyOutcome::Lost => Err(CliError::reported(ErrorKind::Failed)),
            _ => Err(CliError::reported(ErrorKind::Server)),
        }
    }

    /// What the prompt asks to do.
    fn action(&self, first: &DrillPlan, ordinals: &[i32]) -> String {
        if ordinals.len() == 1 {
            format!(
                "delete pod {} (after marking {} volume(s)) in namespace \"{}\" (context \"{}\")",
                first.pod,
                first.mounts.iter().filter(|m| !m.0.read_only).count(),
                self.ns,
                self.kube.endpoint.context
            )
        } else {
            let names: Vec<String> = ordinals.iter().map(|o| pod_name(&self.sts, *o)).collect();
            format!(
                "delete pods {} one at a time (after marking their volumes) in namespace \"{}\" (context \"{}\")",
                names.join(", "),
                self.ns,
                self.kube.endpoint.context
            )
        }
    }

    /// Drill every ordinal in turn, `first` already planned. An error is returned once
    /// the report (if any pod was touched) has been printed.
    async fn drill_all(&self, first: DrillPlan, ordinals: &[i32], report: &mut VerifyReport) -> Result<()> {
        let mut plan = Some(first);
        for ordinal in ordinals.iter().copied() {
            let p = match plan.take() {
                Some(p) => p,
                None => self.next_plan(ordinal, report).await?,
            };
            let (drill, err) = self.drill(p).await;
            report.pods.push(drill);
            if let Some(e) = err {
                report.result = match e.kind {
                    ErrorKind::TimedOut => VerifyOutcome::TimedOut,
                    ErrorKind::Interrupted => VerifyOutcome::Interrupted,
                    ErrorKind::Failed => VerifyOutcome::Refused,
                    _ => VerifyOutcome::Failed,
                };
                if report
                    .pods
                    .last()
                    .is_some_and(|d| d.new_uid.is_some() || !d.milestones.is_empty())
                {
                    self.print(report);
                }
                return Err(e);
            }
            let last = report.pods.last().expect("just pushed");
            if last.mounts.iter().any(|m| m.verdict == Some(Verdict::Lost)) && self.args.all {
                // Stop at the first loss: the remaining pods would lose data too.
                break;
            }
        }
        Ok(())
    }

    /// `--all`: wait for the StatefulSet to be fully ready, then preflight the next
    /// ordinal again. On failure the report is printed and the error returned.
    async fn next_plan(&self, ordinal: i32, report: &mut VerifyReport) -> Result<DrillPlan> {
        match self.intr.guard(self.wait_sts_ready()).await {
            None => {
                report.result = VerifyOutcome::Interrupted;
                self.print(report);
                return Err(interrupted(&format!(
                    "before {}: nothing more was deleted",
                    pod_name(&self.sts, ordinal)
                )));
            }
            Some(Err(e)) => {
                report.result = if e.is(ErrorKind::TimedOut) {
                    VerifyOutcome::TimedOut
                } else {
                    VerifyOutcome::Failed
                };
                self.print(report);
                return Err(e);
            }
            Some(Ok(())) => {}
        }
        let (sts, pods_in) = self
            .intr
            .guard(self.gather_sts())
            .await
            .ok_or_else(|| interrupted("between pods: nothing more was deleted"))??;
        let p = self.plan(&Facts::of(&sts), &pods_in, ordinal).await?;
        if persistence::refused(&p.findings, self.args.force) {
            report.result = VerifyOutcome::Refused;
            self.print(report);
            return Err(refusal(&p, &self.sts));
        }
        Ok(p)
    }

    async fn confirm(&self, action: &str) -> Result<bool> {
        if self.args.yes {
            return Ok(true);
        }
        if !std::io::stdin().is_terminal() {
            return crate::confirm::confirm(action, false);
        }
        // Read the answer on a plain thread, so Ctrl-C during the prompt still exits at
        // once (a blocking-pool task would hold the runtime open).
        let (tx, rx) = tokio::sync::oneshot::channel();
        let action = action.to_string();
        std::thread::spawn(move || {
            let _ = tx.send(crate::confirm::confirm(&action, false));
        });
        match self.intr.guard(rx).await {
            None => Err(interrupted("at the prompt: nothing was changed")),
            Some(Ok(r)) => r,
            Some(Err(_)) => Ok(false),
        }
    }
}
