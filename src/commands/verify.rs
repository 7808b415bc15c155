//! `kubectl sts verify-persistence STS`: prove a pod's data survives its deletion and
//! recreation.
//!
//! Per ordinal: preflight (gather + [`persistence::preflight`]) -> confirm -> mark
//! (exec, argv only) -> delete with a UID precondition (or evict) -> wait on a watch
//! ([`persistence::WaitTracker`]) -> read the markers back and compare the PVCs
//! ([`persistence::verdict`]) -> remove the markers. Ctrl-C is handled here, not by the
//! generic handler in `lib.rs`: nothing more is deleted, markers are removed when the
//! pod is reachable, and the state left behind is printed (exit 130).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use comfy_table::Cell;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::{Api, DeleteParams, EvictParams, ListParams, Preconditions};
use kube::runtime::{WatchStreamExt, watcher};
use serde::Serialize;
use tokio::sync::watch as tokio_watch;

use crate::access::{self, Need};
use crate::cli::{GlobalArgs, VerifyArgs};
use crate::error::{CliError, ErrorKind, Exit, Result, Target};
use crate::exec::{self, ExitStatus};
use crate::gather::{self, api, list_all, selector_string};
use crate::kubeconfig::Kube;
use crate::model::ordinals::pod_name;
use crate::model::persistence::{
    self, Backing, ClaimState, Finding, Phase, ReadBack, ResolvedMount, Verdict, WaitTracker,
};
use crate::model::pods;
use crate::model::statefulset::Facts;
use crate::render::{self, Style, Tone};

pub const API_VERSION: &str = "kubectl-sts/v1";

/// `-o json|yaml` of `verify-persistence` (kind `PersistenceVerification`; schema in
/// docs/json-schemas.md). Printed for every run that got past the preflight, and for
/// `--dry-run`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyReport {
    /// Always `kubectl-sts/v1`.
    pub api_version: &'static str,
    /// Always `PersistenceVerification`.
    pub kind: &'static str,
    pub namespace: String,
    pub stateful_set: String,
    /// The kubeconfig context used.
    pub context: String,
    pub dry_run: bool,
    /// `delete` (Pod DELETE with a UID precondition) or `evict` (Eviction API).
    pub deletion: &'static str,
    /// Overall result: `Persisted` (exit 0), `Lost` (1), `Unknown` (3), `Planned`
    /// (dry run), `Refused` (1), `TimedOut` (4), `Interrupted` (130), `Failed`.
    pub result: Outcome,
    /// One entry per ordinal drilled (or planned), in order.
    pub pods: Vec<PodDrill>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Outcome {
    Persisted,
    Lost,
    Unknown,
    Planned,
    Refused,
    TimedOut,
    Interrupted,
    Failed,
}

/// One pod's drill.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodDrill {
    pub ordinal: i32,
    pub pod: String,
    pub container: String,
    /// The UID and node of the pod that was marked and deleted.
    pub old_uid: String,
    pub node: Option<String>,
    /// The replacement pod, once one was seen.
    pub new_uid: Option<String>,
    pub new_node: Option<String>,
    /// Preflight findings (empty when healthy); with `--force` the overridable ones are
    /// listed here and the drill went ahead.
    pub preflight: Vec<Finding>,
    pub forced: bool,
    /// Phases of the recreation with seconds since the delete request.
    pub phases: Vec<PhaseTiming>,
    /// Seconds from the delete request to the new pod being Ready.
    pub recreate_seconds: Option<f64>,
    /// Claim-template mounts: one verdict each.
    pub mounts: Vec<MountResult>,
    /// Mounts not verified: not persistent (emptyDir, configMap, ...) or shared PVCs.
    pub skipped: Vec<SkippedMount>,
    /// Marker files still present after the run (`--keep-marker`, or cleanup failed).
    pub markers_remaining: Vec<MarkerLeft>,
    /// One sentence on the state the pod was left in.
    pub state: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhaseTiming {
    /// terminating, gone, scheduled, containerCreated, running, ready.
    pub phase: Phase,
    pub seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MountResult {
    pub volume: String,
    pub mount_path: String,
    pub sub_path: Option<String>,
    pub read_only: bool,
    pub template: String,
    pub pvc: String,
    pub pvc_uid: Option<String>,
    /// The PV bound before deletion, and after recreation.
    pub pv: Option<String>,
    pub pv_after: Option<String>,
    /// The marker's path inside the container (None for a read-only mount).
    pub marker: Option<String>,
    /// written, identical, missing, differs, unreadable, notWritten (read-only),
    /// unknown (a write was cut short: it may or may not have landed).
    pub marker_state: &'static str,
    /// PERSISTED, LOST or UNKNOWN; None when not verified (read-only, or the run
    /// stopped before verification).
    pub verdict: Option<Verdict>,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SkippedMount {
    pub volume: String,
    pub mount_path: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MarkerLeft {
    pub pvc: String,
    pub pv: Option<String>,
    /// Path inside the container.
    pub path: String,
    /// The path inside the volume (the marker's name under the subPath, if any).
    pub path_in_volume: String,
}

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

/// A 128-bit random hex string, from the OS-seeded keys std's hash maps use.
fn nonce() -> String {
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
fn write_argv<'a>(content: &'a str, path: &'a str) -> [&'a str; 6] {
    [
        "sh",
        "-c",
        "set -C; printf %s \"$1\" > \"$2\" && { sync 2>/dev/null || :; }",
        "sh",
        content,
        path,
    ]
}

/// Everything gathered about one ordinal before anything changes.
struct Plan {
    ordinal: i32,
    pod: String,
    container: String,
    old_uid: String,
    node: Option<String>,
    findings: Vec<Finding>,
    /// Claim-template mounts with their claim state before deletion.
    mounts: Vec<(ResolvedMount, String, String, ClaimState)>,
    skipped: Vec<SkippedMount>,
}

struct Ctx<'a> {
    kube: &'a Kube,
    ns: String,
    sts: String,
    args: &'a VerifyArgs,
    global: &'a GlobalArgs,
    intr: Interrupt,
    style: Style,
    progress: Progress,
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
        progress: Progress::new(!render::is_structured(global.output) && std::io::stderr().is_terminal()),
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
        if facts.claim_templates.is_empty() {
            return Err(CliError::usage(format!(
                "{} has no volumeClaimTemplates: nothing persistent to verify",
                facts.name
            )));
        }
        let ordinals = if self.args.all {
            persistence::all_ordinals(&facts)
        } else {
            match self.args.ordinal.or_else(|| persistence::default_ordinal(&facts)) {
                Some(o) => vec![o],
                None => {
                    return Err(CliError::usage(format!(
                        "{} has 0 replicas: there is no pod to verify (scale it up first)",
                        facts.name
                    )));
                }
            }
        };
        if ordinals.is_empty() {
            return Err(CliError::usage(format!(
                "{} has 0 replicas: there is no pod to verify (scale it up first)",
                facts.name
            )));
        }
        if let Some(o) = self.args.ordinal
            && !facts.ordinals().contains(o)
        {
            let r = facts.ordinals();
            return Err(CliError::usage(format!(
                "ordinal {o} is outside {}'s ordinals [{}, {}): pick one with --ordinal in that range",
                facts.name,
                r.start,
                r.end()
            )));
        }
        let mut report = VerifyReport {
            api_version: API_VERSION,
            kind: "PersistenceVerification",
            namespace: self.ns.clone(),
            stateful_set: facts.name.clone(),
            context: self.kube.endpoint.context.clone(),
            dry_run: self.args.dry_run,
            deletion: if self.args.evict { "evict" } else { "delete" },
            result: Outcome::Planned,
            pods: Vec::new(),
        };

        // The first ordinal's preflight decides before anything is asked or changed.
        let first = self.plan(&facts, &pods_in, ordinals[0]).await?;
        self.check_access(&first.pod, ordinals.len() > 1).await?;
        if self.args.dry_run {
            let refused = persistence::refused(&first.findings, self.args.force);
            report.pods.push(planned(&first, self.args.force));
            if refused {
                report.result = Outcome::Refused;
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
        let action = if ordinals.len() == 1 {
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
        };
        if !self.confirm(&action).await? {
            crate::errln!("Nothing was changed.");
            return Err(CliError::reported(ErrorKind::Failed));
        }

        let mut plan = Some(first);
        for (i, ordinal) in ordinals.iter().copied().enumerate() {
            let p = match plan.take() {
                Some(p) => p,
                None => {
                    // --all: wait for the StatefulSet to be fully ready, then preflight again.
                    match self.intr.guard(self.wait_sts_ready()).await {
                        None => {
                            report.result = Outcome::Interrupted;
                            self.print(&report);
                            return Err(interrupted(&format!(
                                "before {}: nothing more was deleted",
                                pod_name(&self.sts, ordinal)
                            )));
                        }
                        Some(Err(e)) => {
                            report.result = if e.is(ErrorKind::TimedOut) {
                                Outcome::TimedOut
                            } else {
                                Outcome::Failed
                            };
                            self.print(&report);
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
                        report.result = Outcome::Refused;
                        self.print(&report);
                        return Err(refusal(&p, &self.sts));
                    }
                    p
                }
            };
            let _ = i;
            let (drill, err) = self.drill(p).await;
            report.pods.push(drill);
            if let Some(e) = err {
                report.result = match e.kind {
                    ErrorKind::TimedOut => Outcome::TimedOut,
                    ErrorKind::Interrupted => Outcome::Interrupted,
                    ErrorKind::Failed => Outcome::Refused,
                    _ => Outcome::Failed,
                };
                if report
                    .pods
                    .last()
                    .is_some_and(|d| d.new_uid.is_some() || !d.phases.is_empty())
                {
                    self.print(&report);
                }
                return Err(e);
            }
            let last = report.pods.last().expect("just pushed");
            if last.mounts.iter().any(|m| m.verdict == Some(Verdict::Lost)) && self.args.all {
                // Stop at the first loss: the remaining pods would lose data too.
                break;
            }
        }
        let verdicts: Vec<Verdict> = report
            .pods
            .iter()
            .flat_map(|d| d.mounts.iter().filter_map(|m| m.verdict))
            .collect();
        report.result = if verdicts.contains(&Verdict::Lost) {
            Outcome::Lost
        } else if verdicts.contains(&Verdict::Unknown) || verdicts.is_empty() {
            Outcome::Unknown
        } else {
            Outcome::Persisted
        };
        self.print(&report);
        match report.result {
            Outcome::Persisted => Ok(()),
            Outcome::Lost => Err(CliError::reported(ErrorKind::Failed)),
            _ => Err(CliError::reported(ErrorKind::Server)),
        }
    }

    /// RBAC preflight: every request the drill makes after its first change, asked
    /// before anything changes (a Role that allows the exec but not the delete, or the
    /// delete but not the watch, would otherwise strand markers or a deleted pod).
    async fn check_access(&self, pod: &str, all: bool) -> Result<()> {
        let mut needs = vec![
            Need::new("create", "pods", Some("exec"), format!("to write the markers in {pod}"))
                .or("get", "pods", Some("exec"))
                .named(pod),
            if self.args.evict {
                Need::new(
                    "create",
                    "pods",
                    Some("eviction"),
                    format!("to evict {pod} so that it is recreated"),
                )
            } else {
                Need::new(
                    "delete",
                    "pods",
                    None,
                    format!("to delete {pod} so that it is recreated"),
                )
            }
            .named(pod),
            Need::new("watch", "pods", None, format!("to follow {pod}'s replacement")),
        ];
        if all {
            needs.push(Need {
                group: "apps",
                ..Need::new(
                    "watch",
                    "statefulsets",
                    None,
                    "to wait for the StatefulSet between pods",
                )
            });
        }
        let answers = self
            .intr
            .guard(access::review(self.kube, &self.ns, &needs))
            .await
            .ok_or_else(|| interrupted("during the preflight: nothing was changed"))?;
        match access::first_denial(
            &needs,
            &answers,
            &self.ns,
            &self.kube.endpoint.context,
            "kubectl-sts-verify",
        ) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    async fn gather_sts(&self) -> Result<(StatefulSet, Vec<Pod>)> {
        let sts = gather::statefulset(self.kube, &self.ns, &self.sts).await?;
        let selector = selector_string(&sts.spec.selector);
        let pods_in = list_all(
            self.kube,
            api::<Pod>(self.kube, Some(&self.ns)),
            ListParams::default().labels(&selector),
            Target::new("list", "pod", None, Some(&self.ns)),
        )
        .await?;
        Ok((sts, pods_in))
    }

    /// Preflight one ordinal: findings, the container, its mounts and their claims.
    async fn plan(&self, facts: &Facts, pods_in: &[Pod], ordinal: i32) -> Result<Plan> {
        let findings = persistence::preflight(facts, pods_in, ordinal);
        let name = pod_name(&facts.name, ordinal);
        let Some(pod) = pods_in
            .iter()
            .find(|p| p.metadata.name.as_deref() == Some(name.as_str()))
        else {
            return Err(CliError::failed(format!(
                "pod {name} does not exist (the StatefulSet is not fully up): nothing was changed; \
                 check it with kubectl sts status {}",
                facts.name
            )));
        };
        let container_name =
            persistence::choose_container(pod, self.args.container.as_deref()).map_err(CliError::usage)?;
        let container = pod
            .spec
            .as_ref()
            .and_then(|s| s.containers.iter().find(|c| c.name == container_name))
            .expect("chosen from the pod's containers");
        let resolved = persistence::resolve_mounts(pod, container, &facts.name, ordinal, &facts.claim_templates);
        let skipped: Vec<SkippedMount> = resolved
            .iter()
            .filter_map(|m| {
                m.skip_reason().map(|reason| SkippedMount {
                    volume: m.volume.clone(),
                    mount_path: m.mount_path.clone(),
                    reason,
                })
            })
            .collect();
        let persistent: Vec<ResolvedMount> = resolved.into_iter().filter(|m| m.is_claim_template()).collect();
        if persistent.is_empty() {
            return Err(CliError::usage(format!(
                "container \"{container_name}\" of pod {name} mounts no volume from {}'s volumeClaimTemplates ({}): \
                 pick the container that does with -c",
                facts.name,
                facts.claim_templates.join(", ")
            )));
        }
        let mut mounts = Vec::new();
        for m in persistent {
            let Backing::ClaimTemplate { template, claim } = &m.backing else {
                unreachable!("filtered above")
            };
            let state = self.claim_state(claim).await?;
            mounts.push((m.clone(), template.clone(), claim.clone(), state));
        }
        Ok(Plan {
            ordinal,
            pod: name,
            container: container_name,
            old_uid: pod.metadata.uid.clone().unwrap_or_default(),
            node: pods::node(pod).map(str::to_string),
            findings,
            mounts,
            skipped,
        })
    }

    async fn claim_state(&self, claim: &str) -> Result<ClaimState> {
        let api: Api<PersistentVolumeClaim> = Api::namespaced(self.kube.client.clone(), &self.ns);
        let pvc = self
            .kube
            .call(
                Target::new("get", "persistentvolumeclaim", Some(claim), Some(&self.ns)),
                api.get_opt(claim),
            )
            .await?;
        Ok(match pvc {
            None => ClaimState::default(),
            Some(c) => ClaimState {
                uid: c.metadata.uid.clone(),
                volume: c
                    .spec
                    .as_ref()
                    .and_then(|s| s.volume_name.clone())
                    .filter(|v| !v.is_empty()),
                phase: c.status.as_ref().and_then(|s| s.phase.clone()),
            },
        })
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

    async fn exec(&self, pod: &str, container: &str, argv: &[&str]) -> Result<exec::ExecOutput> {
        exec::run(self.kube, &self.ns, pod, container, argv, exec::DEFAULT_LIMIT).await
    }

    /// Turn a failed exec outcome into an error naming the container.
    fn exec_failure(&self, pod: &str, container: &str, what: &str, out: &exec::ExecOutput) -> CliError {
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

    /// Mark, delete, wait, verify and clean up one pod. Returns what happened and, when
    /// the drill could not finish, the error to exit with.
    async fn drill(&self, plan: Plan) -> (PodDrill, Option<CliError>) {
        let run_id = &nonce()[..12];
        let mut drill = PodDrill {
            ordinal: plan.ordinal,
            pod: plan.pod.clone(),
            container: plan.container.clone(),
            old_uid: plan.old_uid.clone(),
            node: plan.node.clone(),
            new_uid: None,
            new_node: None,
            preflight: plan.findings.clone(),
            forced: !plan.findings.is_empty(),
            phases: Vec::new(),
            recreate_seconds: None,
            mounts: Vec::new(),
            skipped: plan.skipped.clone(),
            markers_remaining: Vec::new(),
            state: format!("pod {} untouched", plan.pod),
        };
        for f in &plan.findings {
            crate::errln!("warning: --force: going ahead although {}", f.reason);
        }
        let mut nonces = Vec::new();
        for (i, (m, template, claim, state)) in plan.mounts.iter().enumerate() {
            let marker = (!m.read_only).then(|| persistence::marker_path(&m.mount_path, &format!("{run_id}-{i}")));
            if m.read_only {
                crate::errln!(
                    "warning: {} ({claim}) is mounted read-only in container \"{}\": cannot be marked, not verified",
                    m.mount_path,
                    plan.container
                );
            }
            nonces.push(nonce());
            drill.mounts.push(MountResult {
                volume: m.volume.clone(),
                mount_path: m.mount_path.clone(),
                sub_path: m.sub_path.clone(),
                read_only: m.read_only,
                template: template.clone(),
                pvc: claim.clone(),
                pvc_uid: state.uid.clone(),
                pv: state.volume.clone(),
                pv_after: None,
                marker,
                marker_state: if m.read_only { "notWritten" } else { "pending" },
                verdict: None,
                reason: if m.read_only {
                    "read-only mount: not verified".into()
                } else {
                    String::new()
                },
            });
        }
        if drill.mounts.iter().all(|m| m.read_only) {
            return (
                drill,
                Some(CliError::failed(format!(
                    "every persistent mount of container \"{}\" in pod {} is read-only: nothing can be marked; \
                     pick a container that mounts them writable with -c",
                    plan.container, plan.pod
                ))),
            );
        }

        // Mark: write, then read back once, so a missing `cat` shows up before deleting.
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
                    drill.mounts[i].marker_state = "unknown";
                    Err(interrupted(&format!(
                        "while marking pod {}: nothing was deleted",
                        plan.pod
                    )))
                }
                Some(Err(e)) => Err(e),
                Some(Ok(out)) if out.success() => Ok(()),
                Some(Ok(out)) => {
                    if !matches!(out.status, ExitStatus::RuntimeError(_)) {
                        // The shell ran and failed part way, or ran and its answer was
                        // lost (no status): a whole or partial marker may exist.
                        drill.mounts[i].marker_state = "unknown";
                    }
                    Err(self.exec_failure(
                        &plan.pod,
                        &plan.container,
                        &format!("write the marker {path} ({})", drill.mounts[i].pvc),
                        &out,
                    ))
                }
            };
            if res.is_ok() {
                drill.mounts[i].marker_state = "written";
            } else if drill.mounts[i].marker_state != "unknown" {
                self.intr.removed(&plan.pod, &path);
            }
            let res = match res {
                Ok(()) => match self.read_marker(&plan.pod, &plan.container, &path).await {
                    Ok(ReadBack::Found(c)) if c == *nonce => Ok(()),
                    Ok(ReadBack::Error(e)) => Err(CliError::api(e)),
                    Ok(other) => Err(CliError::failed(format!(
                        "the marker {path} written to pod {} did not read back ({other:?}): the volume is not behaving; nothing was deleted",
                        plan.pod
                    ))),
                    Err(e) => Err(e),
                },
                Err(e) => Err(e),
            };
            if let Err(mut e) = res {
                self.cleanup(&plan.pod, &plan.container, &mut drill).await;
                if !e.message.contains("nothing was deleted") {
                    e.message = format!("{}; nothing was deleted{}", e.message, remaining_note(&drill));
                }
                drill.state = format!("pod {} untouched (uid {})", plan.pod, plan.old_uid);
                return (drill, Some(e));
            }
        }
        crate::errln!(
            "marked {} volume(s) of {} (uid {}, node {})",
            drill.mounts.iter().filter(|m| m.marker_state == "written").count(),
            plan.pod,
            plan.old_uid,
            plan.node.as_deref().unwrap_or("<none>")
        );

        // Delete (or evict) exactly the pod we marked.
        if self.intr.fired() {
            self.cleanup(&plan.pod, &plan.container, &mut drill).await;
            drill.state = format!("pod {} untouched (uid {})", plan.pod, plan.old_uid);
            return (
                drill.clone(),
                Some(interrupted(&format!(
                    "before deleting {}: nothing was deleted{}",
                    plan.pod,
                    remaining_note(&drill)
                ))),
            );
        }
        let started = Instant::now();
        if let Err(e) = self.delete(&plan.pod, &plan.old_uid).await {
            self.cleanup(&plan.pod, &plan.container, &mut drill).await;
            drill.state = format!("pod {} not deleted (uid {})", plan.pod, plan.old_uid);
            let nothing = if e.message.contains("nothing was deleted") {
                ""
            } else {
                "; nothing was deleted"
            };
            let e = CliError::new(e.kind, format!("{}{nothing}{}", e.message, remaining_note(&drill)));
            return (drill, Some(e));
        }
        self.progress.line(&format!(
            "{} {} (uid {}); waiting for its replacement to be Running and Ready",
            if self.args.evict { "evicted" } else { "deleted" },
            plan.pod,
            plan.old_uid
        ));

        // Wait on a watch.
        let mut tracker = WaitTracker::new(&plan.pod, &plan.old_uid);
        let waited = self.wait_recreated(&mut tracker, started).await;
        drill.phases = tracker
            .reached
            .iter()
            .map(|(p, d)| PhaseTiming {
                phase: *p,
                seconds: round_ms(*d),
            })
            .collect();
        drill.new_uid = tracker.new_uid().map(str::to_string);
        drill.new_node = tracker.latest.as_ref().and_then(pods::node).map(str::to_string);
        drill.state = tracker.describe();
        self.progress.finish();
        if let Err(e) = waited {
            // Timed out or interrupted: clean up if the new pod can run commands.
            let reachable = tracker.new_uid().is_some()
                && tracker.reached.iter().any(|(p, _)| *p >= Phase::Running)
                && !self.intr.fired();
            if reachable {
                self.cleanup(&plan.pod, &plan.container, &mut drill).await;
            } else {
                self.note_remaining(&mut drill);
            }
            let msg = format!("{}: {}{}", e.message, drill.state, remaining_note(&drill));
            return (drill, Some(CliError::new(e.kind, msg)));
        }
        drill.recreate_seconds = tracker.reached.last().map(|(_, d)| round_ms(*d));

        // Verify: same PVC, same PV, the marker reads back.
        for (i, nonce) in nonces.iter().enumerate() {
            let Some(path) = drill.mounts[i].marker.clone() else {
                continue;
            };
            let after = match self.claim_state(&drill.mounts[i].pvc).await {
                Ok(s) => s,
                Err(e) => return (drill, Some(e)),
            };
            let read = match self
                .intr
                .guard(self.read_marker(&plan.pod, &plan.container, &path))
                .await
            {
                None => ReadBack::Error("interrupted".into()),
                Some(Ok(r)) => r,
                Some(Err(e)) => ReadBack::Error(e.message),
            };
            let before = ClaimState {
                uid: drill.mounts[i].pvc_uid.clone(),
                volume: drill.mounts[i].pv.clone(),
                phase: Some("Bound".into()),
            };
            let (v, why) = persistence::verdict(nonce, &before, &after, &read);
            let m = &mut drill.mounts[i];
            m.pv_after = after.volume.clone();
            m.marker_state = match &read {
                ReadBack::Found(c) if c == nonce => "identical",
                ReadBack::Found(_) => "differs",
                ReadBack::Missing => "missing",
                ReadBack::Error(_) => "unreadable",
            };
            m.verdict = Some(v);
            m.reason = why;
        }
        if self.intr.fired() {
            self.cleanup(&plan.pod, &plan.container, &mut drill).await;
            let msg = format!("interrupted while verifying {}{}", plan.pod, remaining_note(&drill));
            return (drill, Some(interrupted_msg(msg)));
        }
        if self.args.keep_marker {
            self.note_remaining(&mut drill);
        } else {
            self.cleanup(&plan.pod, &plan.container, &mut drill).await;
            // The verdict stands, but a file we wrote is still there: say so on stderr
            // too (with -o json stdout is only the report).
            for m in &drill.markers_remaining {
                crate::errln!(
                    "warning: could not remove the marker {} on PVC {} ({} in the volume): remove it by hand",
                    m.path,
                    m.pvc,
                    m.path_in_volume
                );
            }
        }
        (drill, None)
    }

    async fn read_marker(&self, pod: &str, container: &str, path: &str) -> Result<ReadBack> {
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

    /// Remove every written marker (best effort); record what remains.
    /// Remove every marker that may be on a volume. Not interruptible: a first Ctrl-C
    /// lets it finish (that is what keeps volumes clean); a second exits at once and
    /// names what is left.
    async fn cleanup(&self, pod: &str, container: &str, drill: &mut PodDrill) {
        for i in 0..drill.mounts.len() {
            let m = &drill.mounts[i];
            let Some(path) = m.marker.clone() else { continue };
            if matches!(m.marker_state, "pending" | "notWritten" | "missing") {
                continue;
            }
            self.progress
                .line(&format!("{pod}: removing the marker {path} (PVC {})", m.pvc));
            let ok = matches!(
                self.exec(pod, container, &["rm", "-f", &path]).await,
                Ok(out) if out.success()
            );
            if ok {
                self.intr.removed(pod, &path);
            } else {
                drill.markers_remaining.push(marker_left(&drill.mounts[i], &path));
            }
        }
    }

    fn note_remaining(&self, drill: &mut PodDrill) {
        for m in &drill.mounts {
            if let Some(path) = &m.marker
                && !matches!(m.marker_state, "pending" | "notWritten" | "missing")
            {
                drill.markers_remaining.push(marker_left(m, path));
            }
        }
    }

    async fn delete(&self, pod: &str, uid: &str) -> Result<()> {
        let api: Api<Pod> = Api::namespaced(self.kube.client.clone(), &self.ns);
        let dp = DeleteParams {
            preconditions: Some(Preconditions {
                uid: Some(uid.to_string()),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        let res = if self.args.evict {
            let ep = EvictParams {
                delete_options: Some(dp),
                ..EvictParams::default()
            };
            api.evict(pod, &ep).await.map(|_| ())
        } else {
            api.delete(pod, &dp).await.map(|_| ())
        };
        match res {
            Ok(()) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 429 && self.args.evict => Err(CliError::failed(format!(
                "eviction of pod {pod} refused by a PodDisruptionBudget (429): {}; nothing was deleted \
                 (wait until the budget allows a disruption, or drop --evict to delete directly)",
                s.message.trim_end_matches('.')
            ))),
            Err(kube::Error::Api(s)) if s.code == 409 => Err(CliError::failed(format!(
                "pod {pod} is no longer the pod that was marked (uid {uid}): it was replaced meanwhile; nothing was deleted"
            ))),
            Err(e) => Err(self.kube.error(
                &e,
                Target::new(
                    if self.args.evict { "evict" } else { "delete" },
                    "pod",
                    Some(pod),
                    Some(&self.ns),
                ),
            )),
        }
    }

    /// Watch the pod by name until the old UID is gone and a new pod is Ready.
    async fn wait_recreated(&self, tracker: &mut WaitTracker, started: Instant) -> Result<()> {
        let api: Api<Pod> = Api::namespaced(self.kube.client.clone(), &self.ns);
        let cfg = watcher::Config::default().fields(&format!("metadata.name={}", tracker.pod));
        let mut stream = watcher(api, cfg).default_backoff().boxed();
        let deadline = tokio::time::Instant::now() + self.args.timeout;
        let mut init_seen: Option<Pod> = None;
        let mut in_init = false;
        loop {
            let next = tokio::select! {
                n = stream.try_next() => n,
                _ = tokio::time::sleep_until(deadline) => {
                    return Err(CliError::timeout(format!(
                        "timed out after {} waiting for pod {} to be recreated, Running and Ready",
                        crate::model::duration::human_duration(self.args.timeout),
                        tracker.pod
                    )));
                }
                _ = self.intr.wait() => {
                    return Err(interrupted(&format!("while waiting for {}: nothing more was deleted", tracker.pod)));
                }
            };
            let observed: Option<Option<Pod>> = match next {
                Ok(Some(watcher::Event::Init)) => {
                    in_init = true;
                    init_seen = None;
                    None
                }
                Ok(Some(watcher::Event::InitApply(p))) => {
                    init_seen = Some(p);
                    None
                }
                Ok(Some(watcher::Event::InitDone)) => {
                    in_init = false;
                    Some(init_seen.take())
                }
                Ok(Some(watcher::Event::Apply(p))) => Some(Some(p)),
                Ok(Some(watcher::Event::Delete(_))) => Some(None),
                Ok(None) => {
                    return Err(CliError::new(
                        ErrorKind::Unreachable,
                        format!("the watch on pod {} ended", tracker.pod),
                    ));
                }
                // default_backoff retries; errors are only reported, except 401/403,
                // which retrying will not heal: stop now rather than at --timeout.
                Err(e) => {
                    if let Some(err) = self.fatal_watch_error(&e, "pod", &tracker.pod) {
                        return Err(err);
                    }
                    if self.kube.verbose > 0 {
                        crate::errln!("watch error (retrying): {e}");
                    }
                    None
                }
            };
            let _ = in_init;
            if let Some(obs) = observed {
                let at = started.elapsed();
                for phase in tracker.observe(obs.as_ref(), at) {
                    self.progress.phase(&tracker.pod, phase, at);
                }
                if tracker.done() {
                    return Ok(());
                }
            }
        }
    }

    /// `--all`: watch the StatefulSet until it is fully ready again (bounded by --timeout).
    async fn wait_sts_ready(&self) -> Result<()> {
        let api: Api<StatefulSet> = Api::namespaced(self.kube.client.clone(), &self.ns);
        let cfg = watcher::Config::default().fields(&format!("metadata.name={}", self.sts));
        let mut stream = watcher(api, cfg).default_backoff().applied_objects().boxed();
        let ready = async {
            loop {
                match stream.try_next().await {
                    Ok(Some(s)) if persistence::fully_ready(&Facts::of(&s)) => return Ok(()),
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        return Err(CliError::new(
                            ErrorKind::Unreachable,
                            format!("the watch on statefulset {} ended", self.sts),
                        ));
                    }
                    Err(e) => {
                        if let Some(err) = self.fatal_watch_error(&e, "statefulset", &self.sts) {
                            return Err(err);
                        }
                        // default_backoff retries the rest (dropped connections, 5xx).
                        if self.kube.verbose > 0 {
                            crate::errln!("watch error (retrying): {e}");
                        }
                    }
                }
            }
        };
        match tokio::time::timeout(self.args.timeout, ready).await {
            Ok(r) => r,
            Err(_) => Err(CliError::timeout(format!(
                "timed out after {} waiting for statefulset {} to be fully ready before the next pod; nothing more was deleted",
                crate::model::duration::human_duration(self.args.timeout),
                self.sts
            ))),
        }
    }

    /// A watch error retrying cannot fix (401, 403), as a one-line error.
    fn fatal_watch_error(&self, e: &watcher::Error, kind: &'static str, name: &str) -> Option<CliError> {
        let status = match e {
            watcher::Error::InitialListFailed(kube::Error::Api(s))
            | watcher::Error::WatchStartFailed(kube::Error::Api(s))
            | watcher::Error::WatchFailed(kube::Error::Api(s)) => s,
            watcher::Error::WatchError(s) => s,
            _ => return None,
        };
        matches!(status.code, 401 | 403).then(|| {
            crate::error::from_status(
                status.code,
                &status.reason,
                &status.message,
                &Target::new("watch", kind, Some(name), Some(&self.ns)),
                &self.kube.endpoint,
            )
        })
    }

    fn print(&self, report: &VerifyReport) {
        if render::is_structured(self.global.output) {
            match render::structured(report, self.global.output) {
                Ok(s) => crate::out!("{s}"),
                Err(e) => crate::errln!("error: {e}"),
            }
        } else {
            crate::out!("{}", render_table(report, self.global.no_headers, self.style));
        }
    }
}

fn interrupted_msg(msg: String) -> CliError {
    CliError::interrupted(msg)
}

fn round_ms(d: Duration) -> f64 {
    (d.as_millis() as f64) / 1000.0
}

fn marker_left(m: &MountResult, path: &str) -> MarkerLeft {
    let name = path.rsplit('/').next().unwrap_or(path);
    MarkerLeft {
        pvc: m.pvc.clone(),
        pv: m.pv.clone(),
        path: path.to_string(),
        path_in_volume: match &m.sub_path {
            Some(sp) => format!("{}/{name}", sp.trim_end_matches('/')),
            None => name.to_string(),
        },
    }
}

fn remaining_note(drill: &PodDrill) -> String {
    if drill.markers_remaining.is_empty() {
        return String::new();
    }
    let list: Vec<String> = drill
        .markers_remaining
        .iter()
        .map(|m| format!("{} on PVC {}", m.path_in_volume, m.pvc))
        .collect();
    format!("; marker files remain: {} (remove them by hand)", list.join(", "))
}

fn refusal(plan: &Plan, sts: &str) -> CliError {
    let hard = plan.findings.iter().any(|f| !f.overridable);
    let reasons: Vec<&str> = plan.findings.iter().map(|f| f.reason.as_str()).collect();
    CliError::failed(format!(
        "refusing to delete {}: {}; nothing was changed{}",
        plan.pod,
        reasons.join("; "),
        if hard {
            format!(" (check it with kubectl sts status {sts})")
        } else {
            " (re-run with --force to go ahead anyway)".into()
        }
    ))
}

fn planned(plan: &Plan, force: bool) -> PodDrill {
    PodDrill {
        ordinal: plan.ordinal,
        pod: plan.pod.clone(),
        container: plan.container.clone(),
        old_uid: plan.old_uid.clone(),
        node: plan.node.clone(),
        new_uid: None,
        new_node: None,
        preflight: plan.findings.clone(),
        forced: force && !plan.findings.is_empty(),
        phases: Vec::new(),
        recreate_seconds: None,
        mounts: plan
            .mounts
            .iter()
            .enumerate()
            .map(|(i, (m, template, claim, state))| MountResult {
                volume: m.volume.clone(),
                mount_path: m.mount_path.clone(),
                sub_path: m.sub_path.clone(),
                read_only: m.read_only,
                template: template.clone(),
                pvc: claim.clone(),
                pvc_uid: state.uid.clone(),
                pv: state.volume.clone(),
                pv_after: None,
                marker: (!m.read_only).then(|| persistence::marker_path(&m.mount_path, &format!("<nonce>-{i}"))),
                marker_state: if m.read_only { "notWritten" } else { "planned" },
                verdict: None,
                reason: if m.read_only {
                    "read-only mount: would not be verified".into()
                } else {
                    "dry run: would be marked and verified".into()
                },
            })
            .collect(),
        skipped: plan.skipped.clone(),
        markers_remaining: Vec::new(),
        state: format!("pod {} untouched (dry run)", plan.pod),
    }
}

/// The result table (ORDINAL, MOUNT, PVC, PV, MARKER, VERDICT), then per pod the
/// skipped mounts, the timing line and any markers left behind.
pub fn render_table(report: &VerifyReport, no_headers: bool, style: Style) -> String {
    let rows = report
        .pods
        .iter()
        .flat_map(|d| {
            d.mounts.iter().map(move |m| {
                let (verdict, tone) = match m.verdict {
                    Some(Verdict::Persisted) => ("PERSISTED".to_string(), Tone::Good),
                    Some(Verdict::Lost) => ("LOST".to_string(), Tone::Bad),
                    Some(Verdict::Unknown) => ("UNKNOWN".to_string(), Tone::Warn),
                    None if report.dry_run => ("(dry run)".to_string(), Tone::Dim),
                    None if m.read_only => ("SKIPPED (read-only)".to_string(), Tone::Warn),
                    None => ("-".to_string(), Tone::Dim),
                };
                let mount = match &m.sub_path {
                    Some(sp) => format!("{} (subPath {sp})", m.mount_path),
                    None => m.mount_path.clone(),
                };
                let pv = match (&m.pv, &m.pv_after) {
                    (Some(a), Some(b)) if a != b => format!("{a} -> {b}"),
                    (Some(a), _) => a.clone(),
                    (None, _) => "<none>".into(),
                };
                vec![
                    Cell::new(d.ordinal),
                    Cell::new(mount),
                    Cell::new(&m.pvc),
                    Cell::new(pv),
                    Cell::new(m.marker_state),
                    style.cell(verdict, tone),
                ]
            })
        })
        .collect();
    let mut out = render::table(
        &["ORDINAL", "MOUNT", "PVC", "PV", "MARKER", "VERDICT"],
        rows,
        no_headers,
    );
    for d in &report.pods {
        for s in &d.skipped {
            out.push_str(&format!(
                "{}: {} (volume {}): {}\n",
                d.pod, s.mount_path, s.volume, s.reason
            ));
        }
        for f in &d.preflight {
            let tag = if report.dry_run && !(f.overridable && d.forced) {
                "would refuse"
            } else {
                "forced past"
            };
            out.push_str(&format!("{}: {tag}: {}\n", d.pod, f.reason));
        }
        if !d.phases.is_empty() {
            let steps: Vec<String> = d
                .phases
                .iter()
                .map(|p| format!("{} {:.1}s", p.phase.label(), p.seconds))
                .collect();
            out.push_str(&format!(
                "{}: uid {} -> {}: {} ({})\n",
                d.pod,
                d.old_uid,
                d.new_uid.as_deref().unwrap_or("<none yet>"),
                steps.join(", "),
                d.state
            ));
        } else if report.dry_run {
            out.push_str(&format!(
                "{}: dry run: would mark {} mount(s) in container \"{}\", {} pod {} (uid {}) and wait for its replacement; nothing was changed\n",
                d.pod,
                d.mounts.iter().filter(|m| !m.read_only).count(),
                d.container,
                report.deletion,
                d.pod,
                d.old_uid
            ));
        }
        for m in &d.markers_remaining {
            out.push_str(&format!(
                "{}: marker left on PVC {}: {} ({} in the volume)\n",
                d.pod, m.pvc, m.path, m.path_in_volume
            ));
        }
    }
    out
}

/// Live phases: a spinner on a terminal, timestamped lines otherwise (stderr).
struct Progress {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    fn new(tty: bool) -> Progress {
        Progress {
            bar: tty.then(|| {
                let b = indicatif::ProgressBar::new_spinner();
                b.set_draw_target(indicatif::ProgressDrawTarget::stderr());
                b.enable_steady_tick(Duration::from_millis(100));
                b
            }),
        }
    }

    fn line(&self, msg: &str) {
        match &self.bar {
            Some(b) => b.set_message(msg.to_string()),
            None => crate::errln!("[{}] {msg}", jiff::Zoned::now().strftime("%H:%M:%S%.3f")),
        }
    }

    fn phase(&self, pod: &str, phase: Phase, at: Duration) {
        let msg = format!("{pod}: {} (+{:.1}s)", phase.label(), at.as_secs_f64());
        match &self.bar {
            Some(b) => {
                b.println(&msg);
                b.set_message(format!("{pod}: {}", phase.label()));
            }
            None => self.line(&msg),
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_differ_and_are_hex() {
        let a = nonce();
        let b = nonce();
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn marker_write_passes_data_as_arguments() {
        let path = "/data/it's \"quoted\" $(rm -rf)/.m";
        let argv = write_argv("n0nce", path);
        // The script is constant; the path is its own argument, untouched.
        assert_eq!(
            argv[2],
            "set -C; printf %s \"$1\" > \"$2\" && { sync 2>/dev/null || :; }"
        );
        assert_eq!(argv[4], "n0nce");
        assert_eq!(argv[5], path);
    }

    #[test]
    fn markers_left_name_the_path_in_the_volume() {
        let m = MountResult {
            volume: "logs".into(),
            mount_path: "/var/log".into(),
            sub_path: Some("app/".into()),
            read_only: false,
            template: "logs".into(),
            pvc: "logs-web-0".into(),
            pvc_uid: None,
            pv: Some("pv-1".into()),
            pv_after: None,
            marker: None,
            marker_state: "written",
            verdict: None,
            reason: String::new(),
        };
        let left = marker_left(&m, "/var/log/.kubectl-sts-marker-abc-0");
        assert_eq!(left.path_in_volume, "app/.kubectl-sts-marker-abc-0");
    }
}
