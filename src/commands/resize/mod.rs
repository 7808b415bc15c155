//! `kubectl sts resize NAME --storage SIZE`: grow every volume of a StatefulSet, the
//! claim template with them, and no pod restarted unless the driver needs a remount.
//! The decisions are `crate::model::resize`'s.
//!
//! Order of work, each step only after the one before succeeded:
//! 1. preflight: settled; every claim of the template (current ordinals and leftovers)
//!    Bound, of a class that allows expansion, not larger than the new size; RBAC;
//! 2. confirm (terminal or `--yes`; `--dry-run` stops here);
//! 3. back up the StatefulSet (and its pods' UIDs) to a file;
//! 4. raise each claim's request and watch until its capacity is the new size
//!    (claims.rs);
//! 5. replace the StatefulSet without touching its pods (replace.rs);
//! 6. report.
//!
//! `--resume` runs steps 4-6 from the newest backup: every step first looks at what is
//! already done, so a resume after an interruption anywhere finishes the job.

mod backup;
mod claims;
mod replace;
mod report;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::api::{Api, ListParams};

use crate::access::{self, Need};
use crate::cli::{GlobalArgs, ResizeArgs};
use crate::commands::owners;
use crate::confirm::confirm;
use crate::error::{CliError, ErrorKind, Result, Target};
use crate::gather::{self, api, list_all, selector_string};
use crate::kubeconfig::Kube;
use crate::model::ownership::Change;
use crate::model::resize::{self, Ask};
use crate::model::statefulset::Facts;
use crate::render::live::{LiveView, Sink};
use crate::render::{self, Style};
use backup::Backup;
use report::{ClaimRow, ClaimState, Meta, ResizeReport, StsOutcome};

const API_VERSION: &str = "kubectl-sts/v1";

/// How far the cluster has been changed: what every stop says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Nothing,
    ClaimsRequested,
    Deleting,
    Deleted,
    Created,
}

struct Ctx<'a> {
    kube: &'a Kube,
    ns: String,
    name: String,
    args: &'a ResizeArgs,
    live: LiveView,
    claims: Vec<ClaimRow>,
    restarted: Vec<String>,
    stage: Stage,
    method: Option<&'static str>,
    outcome: StsOutcome,
    stop: Arc<AtomicBool>,
    backup_path: Option<PathBuf>,
    sts_selector: LabelSelector,
}

/// `kubectl sts resize`.
pub async fn run(global: &GlobalArgs, args: &ResizeArgs) -> Result<()> {
    let kube = Kube::connect(global).await?;
    let ns = kube.namespace.clone();
    let style = Style::from_args(global);
    let structured = render::is_structured(global.output);
    let dir = backup::dir(args.backup_dir.as_deref());
    let (b, path, claims) = if args.resume {
        let (path, b) = backup::newest(&dir, &ns, &args.name)?;
        crate::errln!("resuming from the backup {}", path.display());
        let claims = claim_rows(&kube, &ns, &b).await?;
        preflight(&kube, &ns, args, &claims).await?;
        (b, Some(path), claims)
    } else {
        match prepare(&kube, global, args, &dir, style).await? {
            Some(p) => p,
            None => return Ok(()),
        }
    };
    let mut cx = Ctx {
        kube: &kube,
        ns: ns.clone(),
        name: args.name.clone(),
        args,
        live: LiveView::open(Sink::beside_report(structured), true, style),
        claims,
        restarted: Vec::new(),
        stage: if args.resume {
            Stage::ClaimsRequested
        } else {
            Stage::Nothing
        },
        method: None,
        outcome: StsOutcome::default(),
        stop: stop_flag(),
        backup_path: path,
        sts_selector: b.stateful_set.spec.selector.clone(),
    };
    let result = cx.converge(&b).await;
    cx.live.finish();
    let report = cx.report(&b, &result);
    if structured {
        crate::out!("{}", render::structured(&report, global.output)?);
    } else {
        crate::out!("{}", report::render_table(&report, global.no_headers, style));
    }
    result
}

/// Steps 1-3 for a fresh resize: the backup and its path, or None when the run ends
/// here (dry run, nothing to do).
async fn prepare(
    kube: &Kube,
    global: &GlobalArgs,
    args: &ResizeArgs,
    dir: &std::path::Path,
    style: Style,
) -> Result<Option<(Backup, Option<PathBuf>, Vec<ClaimRow>)>> {
    let ns = kube.namespace.clone();
    let sts = match gather::statefulset(kube, &ns, &args.name).await {
        Err(e) if e.is(ErrorKind::NotFound) && backup::newest(dir, &ns, &args.name).is_ok() => {
            return Err(CliError::new(
                e.kind,
                format!(
                    "{}; a resize backup of it exists: if a resize was interrupted after deleting it, finish with `kubectl sts resize {} --resume`",
                    e.message, args.name
                ),
            ));
        }
        other => other?,
    };
    let facts = Facts::of(&sts);
    if !crate::model::persistence::fully_ready(&facts) {
        return Err(CliError::failed(format!(
            "statefulset \"{}\" is not settled ({}/{} ready, currentRevision {} / updateRevision {}): resize only a settled StatefulSet; nothing was changed (watch it with kubectl sts status {})",
            args.name,
            facts.ready_replicas,
            facts.replicas,
            facts.current_revision.as_deref().unwrap_or("?"),
            facts.update_revision.as_deref().unwrap_or("?"),
            args.name
        )));
    }
    let ask = Ask {
        storage: args.storage.clone(),
        claims: args.claim.clone(),
    };
    let changes = resize::targets(&sts, &ask).map_err(CliError::usage)?;
    let (pvcs, classes) = claims_and_classes(kube, &ns).await?;
    let plan = resize::plan(&sts, changes, &pvcs, &classes).map_err(CliError::usage)?;
    let rows: Vec<ClaimRow> = plan
        .claims
        .iter()
        .map(|c| {
            ClaimRow::of(
                c,
                plan.templates
                    .iter()
                    .find(|t| t.template == c.template)
                    .map_or(0, |t| t.to_bytes),
            )
        })
        .collect();
    quota_check(kube, &ns, &rows).await?;
    // Who else writes the StatefulSet: its next run fails (422) until its source has the new size.
    let owner_warnings = announce_owners(&sts, &plan.templates);
    let meta = Meta {
        name: args.name.clone(),
        namespace: ns.clone(),
        context: kube.endpoint.context.clone(),
    };
    let nothing = resize::template_done(&sts, &plan.templates) && rows.iter().all(|r| r.state.finished());
    if args.dry_run || nothing {
        let r = ResizeReport {
            api_version: API_VERSION,
            kind: "VolumeResize",
            metadata: meta,
            dry_run: args.dry_run,
            result: if nothing { "NothingToDo" } else { "Planned" },
            message: if nothing {
                format!(
                    "statefulset \"{}\" and every claim already have the new size: nothing to do",
                    args.name
                )
            } else {
                "dry run: nothing was changed".into()
            },
            backup: None,
            templates: plan.templates.clone(),
            claims: rows.clone(),
            method: None,
            stateful_set: StsOutcome::default(),
            restarted_pods: Vec::new(),
            resume: None,
            owner_warnings,
        };
        if render::is_structured(global.output) {
            crate::out!("{}", render::structured(&r, global.output)?);
        } else {
            for l in report::plan_lines(&args.name, &plan.templates, &rows) {
                crate::outln!("{l}");
            }
            crate::out!("{}", report::render_table(&r, global.no_headers, style));
        }
        return Ok(None);
    }
    preflight(kube, &ns, args, &rows).await?;
    for l in report::plan_lines(&args.name, &plan.templates, &rows) {
        crate::errln!("{l}");
    }
    let action = format!(
        "resize the volumes of statefulset \"{}\" in namespace \"{ns}\" (context \"{}\"): {} claim(s), then delete it with propagationPolicy Orphan and create it again",
        args.name,
        kube.endpoint.context,
        rows.iter().filter(|r| !r.state.finished()).count()
    );
    if !confirm(&action, args.yes)? {
        return Err(CliError::usage(format!(
            "not confirmed: nothing was changed in statefulset \"{}\"",
            args.name
        )));
    }
    let pods = list_all(
        kube,
        api::<Pod>(kube, Some(&ns)),
        ListParams::default().labels(&selector_string(&sts.spec.selector)),
        Target::new("list", "pod", None, Some(&ns)),
    )
    .await?;
    let b = Backup {
        api_version: API_VERSION.into(),
        kind: "ResizeBackup".into(),
        context: kube.endpoint.context.clone(),
        namespace: ns.clone(),
        name: args.name.clone(),
        created_at: jiff::Timestamp::now().to_string(),
        templates: backup::targets_of(&plan.templates),
        pods: pods
            .iter()
            .filter_map(|p| Some((p.metadata.name.clone()?, p.metadata.uid.clone()?)))
            .collect(),
        stateful_set: sts,
    };
    let path = backup::write(dir, &b)?;
    crate::errln!("backed up statefulset \"{}\" to {}", args.name, path.display());
    Ok(Some((b, Some(path), rows)))
}

/// What every other writer of the StatefulSet will do to the resize, per template:
/// their next run fails (immutable claim template, 422) until their source has the
/// new size.
fn owner_warnings(sts: &k8s_openapi::api::apps::v1::StatefulSet, templates: &[resize::TemplateChange]) -> Vec<String> {
    let owners = crate::model::ownership::detect(sts);
    templates
        .iter()
        .flat_map(|t| {
            crate::model::ownership::warnings(
                &owners,
                Change::Resize {
                    template: &t.template,
                    size: &t.to,
                },
            )
        })
        .collect()
}

/// [`owner_warnings`], printed on stderr with the plan.
fn announce_owners(sts: &k8s_openapi::api::apps::v1::StatefulSet, templates: &[resize::TemplateChange]) -> Vec<String> {
    let warnings = owner_warnings(sts, templates);
    owners::print(&warnings);
    warnings
}

/// Refuse (exit 2) when a ResourceQuota obviously cannot hold the growth. A quota list
/// that cannot be read is not a refusal: the admission plugin would still say so.
async fn quota_check(kube: &Kube, ns: &str, rows: &[ClaimRow]) -> Result<()> {
    let api = api::<k8s_openapi::api::core::v1::ResourceQuota>(kube, Some(ns));
    let Ok(quotas) = list_all(
        kube,
        api,
        ListParams::default(),
        Target::new("list", "resourcequota", None, Some(ns)),
    )
    .await
    else {
        return Ok(());
    };
    let growth: Vec<(String, Option<String>, u128, u128)> = rows
        .iter()
        .filter(|r| r.state == ClaimState::Planned)
        .map(|r| {
            let from = crate::model::quantity::parse_bytes(&r.from).unwrap_or(r.to_bytes);
            (r.name.clone(), r.storage_class.clone(), from, r.to_bytes)
        })
        .collect();
    match resize::quota_refusal(&quotas, &growth) {
        Some(e) => Err(CliError::usage(e)),
        None => Ok(()),
    }
}

/// The namespace's claims and the cluster's StorageClasses, listed together.
async fn claims_and_classes(kube: &Kube, ns: &str) -> Result<(Vec<PersistentVolumeClaim>, Vec<StorageClass>)> {
    let pvcs = list_all(
        kube,
        api::<PersistentVolumeClaim>(kube, Some(ns)),
        ListParams::default(),
        Target::new("list", "persistentvolumeclaim", None, Some(ns)),
    );
    let classes = list_all(
        kube,
        Api::<StorageClass>::all(kube.client.clone()),
        ListParams::default(),
        Target::new("list", "storageclass", None, None),
    );
    futures::try_join!(pvcs, classes)
}

/// The claims of the backup's templates as they are now.
async fn claim_rows(kube: &Kube, ns: &str, b: &Backup) -> Result<Vec<ClaimRow>> {
    let (pvcs, classes) = claims_and_classes(kube, ns).await?;
    let changes = b.changes();
    let plan = resize::plan(&b.stateful_set, changes.clone(), &pvcs, &classes).map_err(CliError::usage)?;
    Ok(plan
        .claims
        .iter()
        .map(|c| {
            ClaimRow::of(
                c,
                changes
                    .iter()
                    .find(|t| t.template == c.template)
                    .map_or(0, |t| t.to_bytes),
            )
        })
        .collect())
}

/// Ask before changing anything: patch claims, delete and create the StatefulSet, watch
/// (and with `--restart-pods`, delete pods).
async fn preflight(kube: &Kube, ns: &str, args: &ResizeArgs, rows: &[ClaimRow]) -> Result<()> {
    let name = args.name.as_str();
    let mut needs: Vec<Need> = rows
        .iter()
        .filter(|r| !r.state.finished())
        .map(|r| {
            Need::new(
                "patch",
                "persistentvolumeclaims",
                None,
                format!("to raise the request of {}", r.name),
            )
            .named(&r.name)
        })
        .collect();
    needs.push(Need::new(
        "watch",
        "persistentvolumeclaims",
        None,
        "to follow each claim's expansion",
    ));
    let apps = |verb: &'static str, why: String| Need {
        group: "apps",
        ..Need::new(verb, "statefulsets", None, why)
    };
    needs.push(
        apps(
            "delete",
            format!("to delete {name} with propagationPolicy Orphan (its pods keep running)"),
        )
        .named(name),
    );
    needs.push(apps(
        "create",
        format!("to create {name} again with the bigger claim template"),
    ));
    needs.push(Need::new(
        "watch",
        "pods",
        None,
        "to check the new StatefulSet adopts every pod",
    ));
    if args.restart_pods {
        needs.push(Need::new(
            "delete",
            "pods",
            None,
            "to restart a pod whose volume needs a remount (--restart-pods)",
        ));
    }
    let answers = access::review(kube, ns, &needs).await;
    match access::first_denial(&needs, &answers, ns, &kube.endpoint.context, "kubectl-sts-resize") {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn stop_flag() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    tokio::spawn(async move {
        crate::interrupt::ctrl_c().await;
        s.store(true, Ordering::SeqCst);
    });
    stop
}

impl Ctx<'_> {
    async fn converge(&mut self, b: &Backup) -> Result<()> {
        self.patch_claims().await?;
        if self.claims.iter().any(|c| c.state != ClaimState::AlreadyDone) && self.stage == Stage::Nothing {
            self.stage = Stage::ClaimsRequested;
        }
        self.wait_claims().await?;
        self.replace(b).await
    }

    fn resume_command(&self) -> String {
        let dir = self
            .args
            .backup_dir
            .as_ref()
            .map(|d| format!(" --backup-dir {}", d.display()))
            .unwrap_or_default();
        format!(
            "kubectl sts resize {} --resume -n {} --context {}{dir}",
            self.name, self.ns, self.kube.endpoint.context
        )
    }

    /// One sentence on the state the cluster is in now.
    fn state(&self) -> String {
        // A claim whose expansion failed was raised too: the resizer keeps retrying it.
        let raised: Vec<String> = self
            .claims
            .iter()
            .filter(|c| {
                matches!(
                    c.state,
                    ClaimState::Requested
                        | ClaimState::Resizing
                        | ClaimState::FileSystemResizePending
                        | ClaimState::PendingMount
                        | ClaimState::Resized
                        | ClaimState::Failed(_)
                )
            })
            .map(|c| c.name.clone())
            .collect();
        let backup = self
            .backup_path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        match self.stage {
            Stage::Nothing => "nothing was changed".into(),
            Stage::ClaimsRequested => format!(
                "claims raised: {} (their expansion goes on on the server); statefulset \"{}\" is untouched",
                if raised.is_empty() {
                    "none".into()
                } else {
                    raised.join(", ")
                },
                self.name
            ),
            Stage::Deleting => format!(
                "statefulset \"{}\" is being deleted with propagationPolicy Orphan: its pods keep running; it must be created again from the backup {backup}",
                self.name
            ),
            Stage::Deleted => format!(
                "statefulset \"{}\" is deleted (orphan): its pods keep running with no controller, and it exists only in the backup {backup}",
                self.name
            ),
            Stage::Created => format!(
                "statefulset \"{}\" exists again with the bigger claim template and is adopting its pods",
                self.name
            ),
        }
    }

    fn claims_in(&self, states: &[ClaimState]) -> Vec<String> {
        self.claims
            .iter()
            .filter(|c| states.contains(&c.state))
            .map(|c| c.name.clone())
            .collect()
    }

    fn set_state(&mut self, name: &str, s: ClaimState) {
        if let Some(c) = self.claims.iter_mut().find(|c| c.name == name) {
            c.state = s;
        }
        if self.stage == Stage::Nothing {
            self.stage = Stage::ClaimsRequested;
        }
    }

    /// An error that says where the cluster stands and how to finish.
    fn stopped(&self, kind: ErrorKind, what: &str) -> CliError {
        let finish = if self.stage == Stage::Nothing {
            String::new()
        } else {
            format!("; finish with `{}`", self.resume_command())
        };
        CliError::new(kind, format!("{what}: {}{finish}", self.state()))
    }

    fn stopped_with(&self, e: CliError) -> CliError {
        self.stopped(e.kind, &e.message)
    }

    fn interrupted(&self, when: &str) -> CliError {
        self.stopped(ErrorKind::Interrupted, &format!("interrupted {when}"))
    }

    /// Between steps: stop if Ctrl-C was pressed.
    fn check_stop(&self, when: String) -> Result<()> {
        if self.stop.load(Ordering::SeqCst) {
            return Err(self.interrupted(&when));
        }
        Ok(())
    }

    fn report(&self, b: &Backup, result: &Result<()>) -> ResizeReport {
        let (res, message) = match result {
            Ok(()) => (
                "Resized",
                format!(
                    "resized: {} claim(s) at the new size{} and statefulset \"{}\" re-created with the bigger template; {} pod(s) adopted with no restart{}",
                    self.claims
                        .iter()
                        .filter(|c| matches!(c.state, ClaimState::Resized | ClaimState::AlreadyDone))
                        .count(),
                    match self
                        .claims
                        .iter()
                        .filter(|c| c.state == ClaimState::PendingMount)
                        .count()
                    {
                        0 => String::new(),
                        n => format!(", {n} leftover(s) grown (their filesystem grows on the next mount)"),
                    },
                    self.name,
                    self.outcome.adopted_pods.len(),
                    if self.restarted.is_empty() {
                        String::new()
                    } else {
                        format!(" (restarted to remount: {})", self.restarted.join(", "))
                    }
                ),
            ),
            Err(e) if e.is(ErrorKind::Interrupted) => ("Interrupted", e.message.clone()),
            Err(e) if e.is(ErrorKind::TimedOut) => ("TimedOut", e.message.clone()),
            Err(e) => ("Failed", e.message.clone()),
        };
        ResizeReport {
            api_version: API_VERSION,
            kind: "VolumeResize",
            metadata: Meta {
                name: self.name.clone(),
                namespace: self.ns.clone(),
                context: self.kube.endpoint.context.clone(),
            },
            dry_run: false,
            result: res,
            message,
            backup: self.backup_path.as_ref().map(|p| p.display().to_string()),
            templates: b.changes(),
            claims: self.claims.clone(),
            method: self.method,
            stateful_set: self.outcome.clone(),
            restarted_pods: self.restarted.clone(),
            resume: (result.is_err() && self.stage != Stage::Nothing).then(|| self.resume_command()),
            owner_warnings: owner_warnings(&b.stateful_set, &b.changes()),
        }
    }
}
