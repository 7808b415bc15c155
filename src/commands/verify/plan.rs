//! The preflight of one ordinal: what is gathered and checked before anything changes.

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::{Api, ListParams};

use super::Ctx;
use super::interrupted;
use super::report::{MarkerState, MountResult, PodDrill, SkippedMount};
use crate::access::{self, Need};
use crate::error::{CliError, Result, Target};
use crate::gather::{self, api, list_all, selector_string};
use crate::model::ordinals::pod_name;
use crate::model::persistence::{self, Backing, ClaimSnapshot, Finding, ResolvedMount};
use crate::model::pods;
use crate::model::statefulset::Facts;

/// Everything gathered about one ordinal before anything changes.
pub(super) struct DrillPlan {
    pub(super) ordinal: i32,
    pub(super) pod: String,
    pub(super) container: String,
    pub(super) old_uid: String,
    pub(super) node: Option<String>,
    pub(super) findings: Vec<Finding>,
    /// Claim-template mounts with their claim state before deletion.
    pub(super) mounts: Vec<(ResolvedMount, String, String, ClaimSnapshot)>,
    pub(super) skipped: Vec<SkippedMount>,
    /// The revision the pod runs, and the one the controller recreates it at.
    pub(super) revision: Option<String>,
    pub(super) recreated_at_revision: Option<String>,
    /// `spec.minReadySeconds`: part of the expected time to Ready.
    pub(super) min_ready_seconds: i32,
}

impl Ctx<'_> {
    /// The ordinals to drill (`--ordinal`, `--all`, or the default one), refused when
    /// there is nothing persistent to verify or the ordinal is out of range.
    pub(super) fn choose_ordinals(&self, facts: &Facts) -> Result<Vec<i32>> {
        if facts.claim_templates.is_empty() {
            return Err(CliError::usage(format!(
                "{} has no volumeClaimTemplates: nothing persistent to verify",
                facts.name
            )));
        }
        let ordinals = if self.args.all {
            persistence::all_ordinals(facts)
        } else {
            match self.args.ordinal.or_else(|| persistence::default_ordinal(facts)) {
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
        Ok(ordinals)
    }

    /// RBAC preflight: every request the drill makes after its first change, asked
    /// before anything changes (a Role that allows the exec but not the delete, or the
    /// delete but not the watch, would otherwise strand markers or a deleted pod).
    pub(super) async fn check_access(&self, pod: &str, all: bool) -> Result<()> {
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

    pub(super) async fn gather_sts(&self) -> Result<(StatefulSet, Vec<Pod>)> {
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
    pub(super) async fn plan(&self, facts: &Facts, pods_in: &[Pod], ordinal: i32) -> Result<DrillPlan> {
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
        Ok(DrillPlan {
            ordinal,
            pod: name,
            container: container_name,
            old_uid: pod.metadata.uid.clone().unwrap_or_default(),
            node: pods::node(pod).map(str::to_string),
            findings,
            mounts,
            skipped,
            revision: pods::revision(pod).map(str::to_string),
            recreated_at_revision: facts.revision_on_recreate(ordinal).map(str::to_string),
            min_ready_seconds: facts.min_ready_seconds,
        })
    }

    pub(super) async fn claim_state(&self, claim: &str) -> Result<ClaimSnapshot> {
        let api: Api<PersistentVolumeClaim> = Api::namespaced(self.kube.client.clone(), &self.ns);
        let pvc = self
            .kube
            .call(
                Target::new("get", "persistentvolumeclaim", Some(claim), Some(&self.ns)),
                api.get_opt(claim),
            )
            .await?;
        Ok(match pvc {
            None => ClaimSnapshot::default(),
            Some(c) => ClaimSnapshot {
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
}

pub(super) fn refusal(plan: &DrillPlan, sts: &str) -> CliError {
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

pub(super) fn planned(plan: &DrillPlan, force: bool) -> PodDrill {
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
        milestones: Vec::new(),
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
                marker_state: if m.read_only {
                    MarkerState::NotWritten
                } else {
                    MarkerState::Planned
                },
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
        revision: plan.revision.clone(),
        recreated_at_revision: plan.recreated_at_revision.clone(),
        outages: 0,
        down_seconds: 0.0,
    }
}
