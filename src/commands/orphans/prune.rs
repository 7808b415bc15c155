//! `orphans prune`: the plan from the audits, the confirmation, then per claim a
//! re-check against fresh reads and a DELETE with preconditions.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use comfy_table::Cell;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::{Api, DeleteParams, ListParams, Preconditions};
use serde::Serialize;

use super::API_VERSION;
use super::audit::{Audit, audits, pod_info, set_info};
use super::print_warnings;
use super::report::{ClaimEntry, entry, plural};
use crate::cli::{GlobalArgs, OrphansScope, PruneArgs};
use crate::error::{CliError, ErrorKind, Result, Target};
use crate::gather;
use crate::kubeconfig::Kube;
use crate::model::claims::{ClaimFinding, Reason};
use crate::model::quantity::format_bytes;
use crate::render;

/// The outcome of one planned deletion.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PruneResult {
    pub context: String,
    pub namespace: String,
    pub name: String,
    /// `deleted`, `skipped`, `failed` or `not-attempted` (interrupted or stopped).
    pub result: PruneStatus,
    pub detail: String,
    pub capacity: Option<String>,
    pub reclaim_policy: Option<String>,
}

/// What became of one planned claim; serialised as in docs/json-schemas.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PruneStatus {
    Deleted,
    /// The re-check found a reason not to delete it.
    Skipped,
    /// The re-check or the DELETE failed.
    Failed,
    /// Interrupted before this claim.
    NotAttempted,
}

impl PruneStatus {
    /// As in the JSON and the per-claim line.
    pub fn as_str(self) -> &'static str {
        match self {
            PruneStatus::Deleted => "deleted",
            PruneStatus::Skipped => "skipped",
            PruneStatus::Failed => "failed",
            PruneStatus::NotAttempted => "not-attempted",
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PruneReport {
    pub api_version: &'static str,
    /// `OrphanPrune`.
    pub kind: &'static str,
    pub dry_run: bool,
    /// The plan, as claims in the `orphans` report schema.
    pub plan: Vec<ClaimEntry>,
    /// Orphans left out of the plan (medium or name-only confidence).
    pub not_planned: Vec<ClaimEntry>,
    pub planned_bytes: u128,
    pub planned_capacity: String,
    pub results: Vec<PruneResult>,
}

fn plan_table(plan: &[(usize, &ClaimFinding)], audits: &[Audit], fleet: bool, any_ns: bool, reclaim: bool) -> String {
    let mut headers = vec![];
    if fleet {
        headers.push("CONTEXT");
    }
    if any_ns {
        headers.push("NAMESPACE");
    }
    headers.extend([
        "NAME",
        "STATEFULSET",
        "ORDINAL",
        "REASON",
        "CAPACITY",
        "STORAGECLASS",
        "PV",
    ]);
    if reclaim {
        headers.push("RECLAIM");
    }
    let rows = plan
        .iter()
        .map(|(i, f)| {
            let mut row = vec![];
            if fleet {
                row.push(Cell::new(&audits[*i].context));
            }
            if any_ns {
                row.push(Cell::new(&f.claim.namespace));
            }
            row.extend([
                Cell::new(&f.claim.name),
                Cell::new(f.statefulset.as_deref().unwrap_or("<none>")),
                Cell::new(f.ordinal.map_or("<none>".into(), |o| o.to_string())),
                Cell::new(match f.confidence {
                    Some(c) => format!("{}({})", f.reason.as_str(), c.as_str()),
                    None => f.reason.as_str().into(),
                }),
                Cell::new(f.claim.capacity.as_deref().unwrap_or("<none>")),
                Cell::new(f.claim.storage_class.as_deref().unwrap_or("<none>")),
                Cell::new(f.claim.volume.as_deref().unwrap_or("<none>")),
            ]);
            if reclaim {
                row.push(Cell::new(if audits[*i].reclaim_known {
                    f.reclaim_policy.as_deref().unwrap_or("<none>")
                } else {
                    "<unknown>"
                }));
            }
            row
        })
        .collect();
    render::table(&headers, rows, false)
}

/// What prune would delete, worked out from the audits before anything is asked.
struct PrunePlan<'a> {
    /// Each planned claim with the index of its cluster's audit.
    claims: Vec<(usize, &'a ClaimFinding)>,
    /// Orphans left out (statefulset-deleted with medium or name-only confidence).
    not_planned: Vec<&'a ClaimFinding>,
    planned_bytes: u128,
}

impl<'a> PrunePlan<'a> {
    fn of(audits: &'a [Audit]) -> PrunePlan<'a> {
        let claims: Vec<(usize, &ClaimFinding)> = audits
            .iter()
            .enumerate()
            .flat_map(|(i, a)| a.findings.iter().filter(|f| f.prunable()).map(move |f| (i, f)))
            .collect();
        let not_planned: Vec<&ClaimFinding> = audits
            .iter()
            .flat_map(|a| a.findings.iter())
            .filter(|f| f.is_orphan() && !f.prunable())
            .collect();
        let planned_bytes: u128 = claims.iter().filter_map(|(_, f)| f.bytes).fold(0, u128::saturating_add);
        PrunePlan {
            claims,
            not_planned,
            planned_bytes,
        }
    }

    /// `-o json|yaml`: the plan and what became of it.
    fn report(&self, now: jiff::Timestamp, dry_run: bool, results: Vec<PruneResult>) -> PruneReport {
        PruneReport {
            api_version: API_VERSION,
            kind: "OrphanPrune",
            dry_run,
            plan: self.claims.iter().map(|(_, f)| entry(f, now)).collect(),
            not_planned: self.not_planned.iter().map(|f| entry(f, now)).collect(),
            planned_bytes: self.planned_bytes,
            planned_capacity: format_bytes(self.planned_bytes),
            results,
        }
    }
}

/// Prune's narrative: on stdout, or on stderr with -o json|yaml (stdout then carries
/// only the report).
#[derive(Clone, Copy)]
struct Narrator {
    structured: bool,
}

impl Narrator {
    fn say(self, s: String) {
        if self.structured {
            crate::err!("{s}");
        } else {
            crate::out!("{s}");
        }
    }
}

pub(super) async fn prune(global: &GlobalArgs, scope: &OrphansScope, args: &PruneArgs) -> Result<()> {
    let now = jiff::Timestamp::now();
    let structured = render::is_structured(global.output);
    // Until the first delete, an interrupt changes nothing.
    let (audits, fleet) = tokio::select! {
        r = audits(global, scope) => r?,
        () = crate::interrupt::ctrl_c() => return Err(CliError::interrupted("interrupted: nothing was deleted")),
    };
    print_warnings(&audits, fleet);
    for a in audits.iter().filter(|a| a.error.is_some()) {
        crate::errln!(
            "error: context \"{}\" skipped: {}",
            a.context,
            a.error.as_ref().map(|e| e.message.as_str()).unwrap_or_default()
        );
    }
    let plan = PrunePlan::of(&audits);
    let any_ns = audits.iter().any(|a| a.namespace.is_none());
    let narrator = Narrator { structured };
    let say = |s: String| narrator.say(s);
    narrate_plan(&plan, &audits, fleet, any_ns, narrator);

    let finish = |results: Vec<PruneResult>, dry_run: bool| -> Result<()> {
        if structured {
            let r = plan.report(now, dry_run, results);
            crate::out!("{}", render::structured(&r, global.output)?);
        }
        Ok(())
    };
    let cluster_error = audits.iter().any(|a| a.error.is_some());
    if args.dry_run || plan.claims.is_empty() {
        if args.dry_run && !plan.claims.is_empty() {
            say("Dry run: nothing was deleted.\n".into());
        }
        finish(Vec::new(), args.dry_run)?;
        return if cluster_error {
            Err(CliError::reported(ErrorKind::Server))
        } else {
            Ok(())
        };
    }

    let contexts: Vec<&str> = {
        let mut v: Vec<&str> = plan.claims.iter().map(|(i, _)| audits[*i].context.as_str()).collect();
        v.dedup();
        v
    };
    let action = format!(
        "delete {} ({}) in context {}",
        plural(plan.claims.len(), "PersistentVolumeClaim"),
        format_bytes(plan.planned_bytes),
        contexts
            .iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if !crate::confirm::confirm(&action, args.yes)? {
        say("Not confirmed: nothing was deleted.\n".into());
        finish(Vec::new(), false)?;
        return Ok(());
    }

    let results = delete_planned(&plan, &audits, fleet, any_ns, narrator).await;
    let (failed, left) = summarize(&results, narrator);
    finish(results, false)?;
    if left > 0 {
        Err(CliError::reported(ErrorKind::Interrupted))
    } else if failed > 0 || cluster_error {
        Err(CliError::reported(ErrorKind::Server))
    } else {
        Ok(())
    }
}

/// The plan as a table, the warnings that go with it, and the orphans left out.
fn narrate_plan(plan: &PrunePlan, audits: &[Audit], fleet: bool, any_ns: bool, narrator: Narrator) {
    let say = |s: String| narrator.say(s);
    let delete_reclaim = plan
        .claims
        .iter()
        .filter(|(_, f)| f.reclaim_policy.as_deref() == Some("Delete"))
        .count();
    let reclaim_unknown = plan.claims.iter().any(|(i, _)| !audits[*i].reclaim_known);
    if plan.claims.is_empty() {
        say("Nothing to prune: no scaled-in or high-confidence statefulset-deleted PVCs in scope.\n".into());
    } else {
        say(format!(
            "Plan: delete {} ({}):\n",
            plural(plan.claims.len(), "PersistentVolumeClaim"),
            format_bytes(plan.planned_bytes)
        ));
        say(plan_table(&plan.claims, audits, fleet, any_ns, true));
        if delete_reclaim > 0 {
            say(format!(
                "{} bound to PVs with reclaim policy Delete: deleting the claim destroys the data on the volume.\n",
                plural(delete_reclaim, "claim is").replace("claims is", "claims are")
            ));
        }
        if reclaim_unknown {
            say("Reclaim policies unknown (PersistentVolumes not readable): check them before deleting.\n".into());
        }
    }
    if !plan.not_planned.is_empty() {
        say(format!(
            "Not planned: {} without enough evidence (statefulset-deleted, medium or name-only confidence): {}\n",
            plural(plan.not_planned.len(), "orphan"),
            plan.not_planned
                .iter()
                .map(|f| format!("{}/{}", f.claim.namespace, f.claim.name))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
}

/// Re-check and delete each planned claim in turn, one line each; after a Ctrl-C the
/// rest are not attempted.
async fn delete_planned(
    plan: &PrunePlan<'_>,
    audits: &[Audit],
    fleet: bool,
    any_ns: bool,
    narrator: Narrator,
) -> Vec<PruneResult> {
    let say = |s: String| narrator.say(s);
    let mut results: Vec<PruneResult> = Vec::new();
    let interrupted = Arc::new(AtomicBool::new(false));
    {
        let flag = interrupted.clone();
        tokio::spawn(async move {
            {
                crate::interrupt::ctrl_c().await;
                flag.store(true, Ordering::SeqCst);
            }
        });
    }
    for (i, f) in &plan.claims {
        let a = &audits[*i];
        let mk = |result: PruneStatus, detail: String| PruneResult {
            context: a.context.clone(),
            namespace: f.claim.namespace.clone(),
            name: f.claim.name.clone(),
            result,
            detail,
            capacity: f.claim.capacity.clone(),
            reclaim_policy: f.reclaim_policy.clone(),
        };
        if interrupted.load(Ordering::SeqCst) {
            results.push(mk(PruneStatus::NotAttempted, "interrupted before this claim".into()));
            continue;
        }
        let kube = a.kube.as_ref().expect("an audited cluster has a client");
        let r = match delete_one(kube, f).await {
            Ok(Recheck::Deleted) => mk(
                PruneStatus::Deleted,
                match f.reclaim_policy.as_deref() {
                    Some("Delete") => "deleted; its PV (reclaim Delete) is deleted with it".into(),
                    Some(p) => format!("deleted; its PV stays (reclaim {p})"),
                    None => "deleted".into(),
                },
            ),
            Ok(Recheck::Skipped(why)) => mk(PruneStatus::Skipped, why),
            Err(e) => mk(PruneStatus::Failed, e.message),
        };
        say(format!(
            "persistentvolumeclaim/{} {}{}: {}\n",
            r.name,
            r.result.as_str(),
            if any_ns || fleet {
                format!(
                    " (namespace {}{})",
                    r.namespace,
                    if fleet {
                        format!(", context {}", r.context)
                    } else {
                        String::new()
                    }
                )
            } else {
                String::new()
            },
            r.detail
        ));
        results.push(r);
    }
    results
}

/// The closing count, and which claims are gone and which remain when some were not
/// deleted. Returns (failed, not attempted).
fn summarize(results: &[PruneResult], narrator: Narrator) -> (usize, usize) {
    let say = |s: String| narrator.say(s);
    let count = |k: PruneStatus| results.iter().filter(|r| r.result == k).count();
    let (deleted, skipped, failed, left) = (
        count(PruneStatus::Deleted),
        count(PruneStatus::Skipped),
        count(PruneStatus::Failed),
        count(PruneStatus::NotAttempted),
    );
    say(format!(
        "Deleted {}, skipped {}, failed {}{}.\n",
        deleted,
        skipped,
        failed,
        if left > 0 {
            format!(", not attempted {left}")
        } else {
            String::new()
        }
    ));
    if failed + left > 0 {
        let remain: Vec<String> = results
            .iter()
            .filter(|r| r.result != PruneStatus::Deleted)
            .map(|r| format!("{}/{}", r.namespace, r.name))
            .collect();
        let gone: Vec<String> = results
            .iter()
            .filter(|r| r.result == PruneStatus::Deleted)
            .map(|r| format!("{}/{}", r.namespace, r.name))
            .collect();
        crate::errln!(
            "error: prune incomplete: deleted [{}]; still present [{}]",
            gone.join(", "),
            remain.join(", ")
        );
    }
    (failed, left)
}

/// What the re-check of one planned claim decided (after deleting it, or not).
enum Recheck {
    Deleted,
    Skipped(String),
}

/// Re-check one planned claim against fresh reads, then delete it with preconditions.
async fn delete_one(kube: &Kube, f: &ClaimFinding) -> Result<Recheck> {
    let c = &f.claim;
    let ns = c.namespace.as_str();
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(kube.client.clone(), ns);
    let target = |verb| Target::new(verb, "persistentvolumeclaim", Some(&c.name), Some(ns));
    let Some(fresh) = kube.call(target("get"), pvcs.get_opt(&c.name)).await? else {
        return Ok(Recheck::Skipped("already gone".into()));
    };
    if fresh.metadata.uid.as_deref() != Some(c.uid.as_str()) {
        return Ok(Recheck::Skipped(
            "replaced by a new claim of the same name since the plan".into(),
        ));
    }
    if fresh.metadata.deletion_timestamp.is_some() {
        return Ok(Recheck::Skipped("already being deleted".into()));
    }
    if fresh.metadata.resource_version.as_deref() != Some(c.resource_version.as_str()) {
        return Ok(Recheck::Skipped(
            "changed since the plan (resourceVersion differs)".into(),
        ));
    }
    let pods = gather::list_map(
        kube,
        Api::<Pod>::namespaced(kube.client.clone(), ns),
        ListParams::default(),
        Target::new("list", "pod", None, Some(ns)),
        |p| {
            let p = pod_info(p);
            p.claims.contains(&c.name).then_some(p.name)
        },
    )
    .await?;
    if !pods.is_empty() {
        return Ok(Recheck::Skipped(format!("now mounted by pod {}", pods.join(", "))));
    }
    if let (Some(set), Some(template), Some(ordinal)) = (&f.statefulset, &f.template, f.ordinal) {
        let sets: Api<StatefulSet> = Api::namespaced(kube.client.clone(), ns);
        let live = kube
            .call(
                Target::new("get", "statefulset", Some(set), Some(ns)),
                sets.get_opt(set),
            )
            .await?
            .map(|s| set_info(&s))
            .filter(|s| s.templates.iter().any(|t| t == template));
        match (f.reason, live) {
            (Reason::ScaledIn, Some(s)) if s.range.contains(ordinal) => {
                return Ok(Recheck::Skipped(format!(
                    "StatefulSet {set} now covers ordinal {ordinal} (replicas {}): it will be reused",
                    s.range.replicas
                )));
            }
            (Reason::StatefulsetDeleted, Some(_)) => {
                return Ok(Recheck::Skipped(format!(
                    "StatefulSet {set} exists again with template {template}: its claims are no longer leftovers"
                )));
            }
            _ => {}
        }
    }
    let dp = DeleteParams {
        preconditions: Some(Preconditions {
            uid: Some(c.uid.clone()),
            resource_version: Some(c.resource_version.clone()),
        }),
        ..DeleteParams::default()
    };
    match pvcs.delete(&c.name, &dp).await {
        Ok(_) => Ok(Recheck::Deleted),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(Recheck::Skipped(
            "changed between the re-check and the delete (precondition failed)".into(),
        )),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(Recheck::Skipped("already gone".into())),
        Err(e) => Err(kube.error(&e, target("delete"))),
    }
}
