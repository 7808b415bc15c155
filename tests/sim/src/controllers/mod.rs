//! The controllers that give the sim's objects life, each a tokio task driven by the
//! store's watch events (as the real controllers are driven by informers), plus timers
//! where the real component waits (kubelet delays, minReadySeconds).
//!
//! Every controller writes through the [`Store`](crate::store::Store) directly, as the
//! real ones write through the API server, and never writes an unchanged object.
//!
//! - [`statefulset`]: pkg/controller/statefulset (ordered/parallel pods, PVCs from
//!   templates, ControllerRevisions, rolling update, status, PVC retention policy).
//! - [`volumes`]: pkg/controller/volume/persistentvolume (provisioning, binding,
//!   reclaim) and pvcprotection / pvprotection.
//! - [`kubelet`]: kube-scheduler's binding ([`scheduler`] says why a pod does not fit)
//!   plus pkg/kubelet's pod lifecycle ([`prober`] times the readiness probes).
//! - [`nodelifecycle`]: pkg/controller/nodelifecycle for a node whose kubelet stopped.
//! - [`resize`]: volume expansion (expand controller, CSI external-resizer, the
//!   kubelet's node expansion).
//! - [`quota`]: ResourceQuota usage of claims, and its admission check.
//! - [`gc`]: pkg/controller/garbagecollector (background, foreground, orphan).
//! - [`adoption`]: the StatefulSet controller's ControllerRefManager.
//! - [`disruption`]: pkg/controller/disruption (PodDisruptionBudget status).
//! - [`events`]: the event recorder (client-go tools/record).

pub mod adoption;
pub mod disruption;
pub mod events;
pub mod gc;
pub mod kubelet;
pub mod nodelifecycle;
pub mod prober;
mod queue;
pub mod quota;
pub mod resize;
pub mod revisions;
pub mod scheduler;
pub mod statefulset;
pub mod util;
pub mod volumes;

use std::sync::Arc;

use crate::context::Context;

/// Start every controller. Must be called inside a tokio runtime; the tasks run until
/// the runtime shuts down.
pub fn spawn(ctx: Arc<Context>) {
    volumes::spawn(ctx.clone());
    kubelet::spawn(ctx.clone());
    nodelifecycle::spawn(ctx.clone());
    statefulset::spawn(ctx.clone());
    gc::spawn(ctx.clone());
    resize::spawn(ctx.clone());
    quota::spawn(ctx.clone());
    disruption::spawn(ctx);
}
