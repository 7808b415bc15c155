//! `kubectl sts rollout undo STS`: revert the template the way `kubectl rollout undo`
//! does, then delete the pods the controller will not replace ("Forced rollback"), and
//! follow the rollout back to settled. The decisions are `crate::model::undo`'s.
//!
//! Order of work, each step only after the one before succeeded:
//! 1. gather the StatefulSet, its ControllerRevisions and pods; choose the target and plan;
//! 2. permission preflight (patch statefulsets, delete pods), before anything changes;
//! 3. confirm (terminal or `--yes`; `--dry-run` stops here);
//! 4. patch the template with the revision's data (strategic merge, as kubectl does);
//! 5. wait until the controller has made the target the update revision, so a deleted
//!    pod cannot come back at the bad one;
//! 6. delete each planned pod with a UID precondition, after reading it again (a pod
//!    that became Ready or was replaced meanwhile is left alone);
//! 7. follow the rollout with the per-ordinal trace.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, Preconditions};
use kube::runtime::wait::await_condition;
use serde::Serialize;

use super::{API_VERSION, Change, follow_and_report, revisions_of};
use crate::access::{self, Need};
use crate::cli::{GlobalArgs, UndoArgs};
use crate::commands::owners;
use crate::confirm::confirm;
use crate::error::{CliError, ErrorKind, Result, Target};
use crate::gather::{self, api, list_all, selector_string};
use crate::kubeconfig::Kube;
use crate::model::ownership;
use crate::model::pods;
use crate::model::undo::{self, PodAction, PodPlan};
use crate::render;

/// The undo part of the `RolloutUndo` report (docs/json-schemas.md).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UndoInfo {
    pub target: undo::UndoTarget,
    pub dry_run: bool,
    /// The template was patched (false when it already matched the target).
    pub reverted: bool,
    pub plan: PodPlan,
    /// Pods deleted, in order.
    pub deleted: Vec<String>,
    /// Planned deletes not sent, and why (it became Ready, or was replaced meanwhile).
    pub skipped: Vec<Skipped>,
    /// What Helm, Argo CD, Flux or another field manager does to the undo (the
    /// report's top-level `ownerWarnings`).
    #[serde(skip)]
    pub owner_warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Skipped {
    pub pod: String,
    pub reason: String,
}

/// The lines of the plan, for the terminal (stderr before the prompt, stdout with --dry-run).
fn plan_lines(name: &str, info: &UndoInfo) -> Vec<String> {
    let t = &info.target;
    let mut out = vec![format!(
        "undo statefulset \"{name}\": revision {} -> revision {} ({})",
        t.from_revision.map_or("?".into(), |r| r.to_string()),
        t.revision,
        t.images.join(", ")
    )];
    out.push(format!("  why revision {}: {}", t.revision, t.why));
    if t.already_current_template {
        out.push(format!(
            "  the template already matches revision {}: it is not patched",
            t.revision
        ));
    }
    for n in &info.plan.notes {
        out.push(format!("  {n}"));
    }
    if info.plan.steps.is_empty() {
        out.push(format!(
            "  every pod already runs revision {}: no pod to delete",
            t.revision
        ));
    }
    for s in &info.plan.steps {
        let verb = match s.action {
            PodAction::Delete => "delete",
            PodAction::Leave => "leave ",
        };
        out.push(format!(
            "  {verb} {} (revision {}, {}): {}",
            s.pod,
            s.revision.as_deref().unwrap_or("?"),
            s.status,
            s.reason
        ));
    }
    out
}

/// `kubectl sts rollout undo STS`.
pub async fn undo(global: &GlobalArgs, args: &UndoArgs) -> Result<()> {
    let kube = Kube::connect(global).await?;
    let ns = kube.namespace.clone();
    let sts = gather::statefulset(&kube, &ns, &args.name).await?;
    let revs = revisions_of(&kube, &sts).await?;
    let target = undo::choose_target(&sts, &revs, args.to_revision).map_err(CliError::usage)?;
    let pods_in = list_all(
        &kube,
        api::<Pod>(&kube, Some(&ns)),
        ListParams::default().labels(&selector_string(&sts.spec.selector)),
        Target::new("list", "pod", None, Some(&ns)),
    )
    .await?;
    let mut plan = undo::plan_pods(&sts, &pods_in, &target.name, Timestamp::now(), args.stuck_after);
    // A crash-looping pod's cause: the end of its previous log, what an SRE reads next.
    for step in plan.steps.iter_mut().filter(|s| s.status == "CrashLoopBackOff") {
        let pod = pods_in
            .iter()
            .find(|p| p.metadata.name.as_deref() == Some(step.pod.as_str()));
        if let Some(container) = pod.and_then(gather::crashed_container) {
            step.reason
                .push_str(&gather::previous_log(&kube, &ns, &step.pod, &container).await.suffix());
        }
    }
    let mut info = UndoInfo {
        reverted: false,
        dry_run: args.dry_run,
        deleted: Vec::new(),
        skipped: Vec::new(),
        owner_warnings: Vec::new(),
        target,
        plan,
    };
    if args.dry_run {
        return print_dry_run(global, &kube, &ns, &args.name, &mut info, &sts);
    }
    preflight(&kube, &ns, &args.name, &info).await?;
    for l in plan_lines(&args.name, &info) {
        crate::errln!("{l}");
    }
    info.owner_warnings = announce_undo(&sts, &info);
    let deletes: Vec<&str> = info.plan.deletes().map(|s| s.pod.as_str()).collect();
    let action = format!(
        "undo statefulset \"{}\" to revision {} in namespace \"{ns}\" (context \"{}\"){}",
        args.name,
        info.target.revision,
        kube.endpoint.context,
        if deletes.is_empty() {
            String::new()
        } else {
            format!(" and delete {}", deletes.join(", "))
        }
    );
    if !confirm(&action, args.yes)? {
        return Err(CliError::usage(format!(
            "not confirmed: statefulset \"{}\" was not changed",
            args.name
        )));
    }
    // From here on Ctrl-C stops between steps (the request in flight finishes), and the
    // error says what was done and the command that finishes the job.
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        tokio::spawn(async move {
            crate::interrupt::ctrl_c().await;
            stop.store(true, Ordering::SeqCst);
        });
    }
    let sts_api: Api<StatefulSet> = Api::namespaced(kube.client.clone(), &ns);
    let patched =
        if info.target.already_current_template {
            sts.clone()
        } else {
            let data = revs
            .iter()
            .find(|r| r.metadata.name.as_deref() == Some(info.target.name.as_str()))
            .map(|r| r.data.0.clone())
            .ok_or_else(|| CliError::new(ErrorKind::Conflict, format!(
                "revision {} of statefulset \"{}\" disappeared before the undo: nothing was changed; re-run",
                info.target.revision, args.name
            )))?;
            // kubectl rollout undo sends the revision's data as a strategic-merge patch,
            // field manager kubectl-rollout (kubectl pkg/polymorphichelpers/rollback.go).
            let pp = PatchParams {
                field_manager: Some("kubectl-rollout".into()),
                ..PatchParams::default()
            };
            let p = kube
                .call(
                    Target::new("patch", "statefulset", Some(&args.name), Some(&ns)),
                    sts_api.patch(&args.name, &pp, &Patch::Strategic(&data)),
                )
                .await?;
            info.reverted = true;
            crate::errln!(
                "reverted the template of statefulset \"{}\" to revision {}",
                args.name,
                info.target.revision
            );
            p
        };
    if !deletes.is_empty() {
        let finish = format!("finish with `kubectl sts rollout undo {}`", args.name);
        tokio::select! {
            r = wait_update_revision(&sts_api, &args.name, &info.target.name, args.trace.timeout) => r?,
            () = crate::interrupt::ctrl_c() => return Err(CliError::interrupted(format!(
                "interrupted: the template of statefulset \"{}\" is {}; no pod was deleted; {finish}",
                args.name, if info.reverted { "reverted" } else { "unchanged" }
            ))),
        }
        delete_planned(&kube, &ns, &args.name, &mut info, &stop).await?;
    }
    let revs = revisions_of(&kube, &patched).await;
    follow_and_report(&kube, global, &args.trace, &patched, revs, Change::Undo(Box::new(info))).await
}

/// `--dry-run`: the plan as JSON/YAML or lines; nothing is changed.
fn print_dry_run(
    global: &GlobalArgs,
    kube: &Kube,
    ns: &str,
    name: &str,
    info: &mut UndoInfo,
    sts: &StatefulSet,
) -> Result<()> {
    if render::is_structured(global.output) {
        info.owner_warnings = announce_undo(sts, info);
        let out = serde_json::json!({"apiVersion": API_VERSION, "kind": "RolloutUndo",
            "metadata": {"name": name, "namespace": ns, "context": kube.endpoint.context},
            "ownerWarnings": info.owner_warnings, "undo": info});
        crate::out!("{}", render::structured(&out, global.output)?);
    } else {
        for l in plan_lines(name, info) {
            crate::outln!("{l}");
        }
        announce_undo(sts, info);
        crate::outln!("dry run: nothing was changed");
    }
    Ok(())
}

/// The owners' warnings for reverting to the target revision (stderr, after the plan).
fn announce_undo(sts: &StatefulSet, info: &UndoInfo) -> Vec<String> {
    let t = &info.target;
    owners::announce(
        sts,
        ownership::Change::Undo {
            revision: t.revision,
            images: &t.images,
        },
    )
}

/// Ask before changing anything: patch the StatefulSet, delete the planned pods, watch.
async fn preflight(kube: &Kube, ns: &str, name: &str, info: &UndoInfo) -> Result<()> {
    let mut needs = Vec::new();
    if !info.target.already_current_template {
        needs.push(Need {
            group: "apps",
            ..Need::new("patch", "statefulsets", None, format!("to revert {name}'s template")).named(name)
        });
    }
    for s in info.plan.deletes() {
        needs.push(
            Need::new(
                "delete",
                "pods",
                None,
                format!("to delete {} so that it is recreated", s.pod),
            )
            .named(&s.pod),
        );
    }
    needs.push(Need::new("watch", "pods", None, "to follow the rollout"));
    let answers = access::review(kube, ns, &needs).await;
    match access::first_denial(&needs, &answers, ns, &kube.endpoint.context, "kubectl-sts-rollout-undo") {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Until the controller has observed the reverted template (its update revision is the
/// target): a pod deleted before that could be recreated at the bad revision.
async fn wait_update_revision(api: &Api<StatefulSet>, name: &str, target: &str, limit: Duration) -> Result<()> {
    let want = target.to_string();
    let cond = move |s: Option<&StatefulSet>| {
        s.is_some_and(|s| {
            let st = s.status.as_ref();
            st.and_then(|st| st.observed_generation).unwrap_or(0) >= s.metadata.generation.unwrap_or(0)
                && st.and_then(|st| st.update_revision.as_deref()) == Some(want.as_str())
        })
    };
    match tokio::time::timeout(limit, await_condition(api.clone(), name, cond)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(CliError::new(
            ErrorKind::Unreachable,
            format!(
                "the template of statefulset \"{name}\" is reverted, but watching for the controller failed ({e}): \
                 no pod was deleted; finish with `kubectl sts rollout undo {name}`"
            ),
        )),
        Err(_) => Err(CliError::timeout(format!(
            "the template of statefulset \"{name}\" is reverted, but the controller did not make {target} its update \
             revision within {}: no pod was deleted; check the controller, then finish with `kubectl sts rollout undo {name}`",
            crate::model::duration::human_duration(limit)
        ))),
    }
}

/// Delete each planned pod, read again first: one that became Ready or was replaced is left.
async fn delete_planned(kube: &Kube, ns: &str, name: &str, info: &mut UndoInfo, stop: &AtomicBool) -> Result<()> {
    let api: Api<Pod> = Api::namespaced(kube.client.clone(), ns);
    let started = tokio::time::Instant::now();
    let planned: Vec<(String, String, Option<f64>)> = info
        .plan
        .deletes()
        .map(|s| (s.pod.clone(), s.uid.clone(), s.delete_after_seconds))
        .collect();
    for (pod, uid, after) in planned {
        if let Some(secs) = after {
            // Not stuck for --stuck-after yet: give it that long to become Ready.
            crate::errln!("waiting {secs:.1}s for {pod}: it counts as stuck once not Ready for --stuck-after");
            tokio::time::sleep_until(started + Duration::from_secs_f64(secs)).await;
        }
        if stop.load(Ordering::SeqCst) {
            return Err(CliError::interrupted(format!(
                "interrupted: the template of statefulset \"{name}\" is reverted; deleted [{}], not deleted [{}]: \
                 finish with `kubectl sts rollout undo {name}`",
                info.deleted.join(", "),
                not_done(info).join(", ")
            )));
        }
        let now = kube
            .call(Target::new("get", "pod", Some(&pod), Some(ns)), api.get_opt(&pod))
            .await?;
        let skip = match &now {
            None => Some("gone already (the controller or someone else removed it)".to_string()),
            Some(p) if p.metadata.uid.as_deref() != Some(uid.as_str()) => {
                Some("replaced meanwhile (new UID)".to_string())
            }
            Some(p) if pods::is_ready(p) => Some("became Ready meanwhile: never deleted".to_string()),
            Some(p) if p.metadata.deletion_timestamp.is_some() => Some("already terminating".to_string()),
            Some(_) => None,
        };
        if let Some(reason) = skip {
            crate::errln!("left {pod}: {reason}");
            info.skipped.push(Skipped { pod, reason });
            continue;
        }
        let dp = DeleteParams {
            preconditions: Some(Preconditions {
                uid: Some(uid.clone()),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        match kube
            .call(
                Target::new("delete", "pod", Some(&pod), Some(ns)),
                api.delete(&pod, &dp),
            )
            .await
        {
            Ok(_) => {
                crate::errln!("deleted {pod} (uid {uid}): the controller recreates it at the reverted template");
                info.deleted.push(pod);
            }
            Err(e) if e.is(ErrorKind::Conflict) || e.is(ErrorKind::NotFound) => {
                let reason = "replaced before the delete (UID precondition)".to_string();
                crate::errln!("left {pod}: {reason}");
                info.skipped.push(Skipped { pod, reason });
            }
            Err(e) => {
                let left = not_done(info);
                return Err(CliError::new(
                    e.kind,
                    format!(
                        "{}; the template of statefulset \"{name}\" is reverted, deleted so far [{}], not deleted [{}]: \
                     finish with `kubectl sts rollout undo {name}`",
                        e.message,
                        info.deleted.join(", "),
                        left.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Planned deletes neither sent nor skipped yet.
fn not_done(info: &UndoInfo) -> Vec<String> {
    info.plan
        .deletes()
        .map(|s| s.pod.clone())
        .filter(|p| !info.deleted.contains(p) && !info.skipped.iter().any(|s| &s.pod == p))
        .collect()
}
