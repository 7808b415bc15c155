//! One pod's drill: mark (`mark.rs`) -> delete and wait (`delete.rs`) -> read back
//! (`read_back.rs`) -> clean up (`cleanup.rs`).

use std::time::Duration;

use super::Ctx;
use super::mark::nonce;
use super::plan::DrillPlan;
use super::report::{MarkerState, MountResult, PodDrill};
use crate::error::CliError;
use crate::model::persistence;

impl Ctx<'_> {
    /// Mark, delete, wait, verify and clean up one pod. Returns what happened and, when
    /// the drill could not finish, the error to exit with.
    pub(super) async fn drill(&self, plan: DrillPlan) -> (PodDrill, Option<CliError>) {
        let (mut drill, nonces) = start(&plan);
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
        if let Err(e) = self.mark(&plan, &mut drill, &nonces).await {
            return (drill, Some(e));
        }
        let started = match self.delete_marked(&plan, &mut drill).await {
            Ok(started) => started,
            Err(e) => return (drill, Some(e)),
        };
        if let Err(e) = self.await_replacement(&plan, &mut drill, started).await {
            return (drill, Some(e));
        }
        if let Err(e) = self.read_back(&plan, &mut drill, &nonces).await {
            return (drill, Some(e));
        }
        self.finish_markers(&plan, &mut drill).await;
        (drill, None)
    }
}

/// The drill's record before anything is done, and one fresh nonce per mount.
fn start(plan: &DrillPlan) -> (PodDrill, Vec<String>) {
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
        milestones: Vec::new(),
        phases: Vec::new(),
        recreate_seconds: None,
        mounts: Vec::new(),
        skipped: plan.skipped.clone(),
        markers_remaining: Vec::new(),
        state: format!("pod {} untouched", plan.pod),
        revision: plan.revision.clone(),
        recreated_at_revision: plan.recreated_at_revision.clone(),
        outages: 0,
        down_seconds: 0.0,
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
            marker_state: if m.read_only {
                MarkerState::NotWritten
            } else {
                MarkerState::Pending
            },
            verdict: None,
            reason: if m.read_only {
                "read-only mount: not verified".into()
            } else {
                String::new()
            },
        });
    }
    (drill, nonces)
}

/// A step's failure before the pod was deleted, and whether its message already says
/// that nothing was deleted (so the drill says it once, and only where it is missing).
pub(super) struct Untouched {
    pub(super) error: CliError,
    pub(super) says_nothing_deleted: bool,
}

impl Untouched {
    /// A failure whose message does not say that nothing was deleted.
    pub(super) fn plain(error: CliError) -> Untouched {
        Untouched {
            error,
            says_nothing_deleted: false,
        }
    }

    /// A failure whose message already says that nothing was deleted.
    pub(super) fn said(error: CliError) -> Untouched {
        Untouched {
            error,
            says_nothing_deleted: true,
        }
    }
}

pub(super) fn round_ms(d: Duration) -> f64 {
    (d.as_millis() as f64) / 1000.0
}
