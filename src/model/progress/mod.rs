//! Progress of a StatefulSet towards a replica count, per ordinal: pure, no I/O.
//!
//! [`plan`] decides what a scale will do before it is made (ordinals added and removed,
//! PVCs reused or left behind, whether data will be deleted). [`Progress`] then takes
//! successive snapshots of the StatefulSet, its pods, its PVCs and their Events (a
//! [`World`], fed by `crate::watch`) with the time each was observed, and keeps the
//! per-ordinal history: when each pod was created, became Ready/Available, started
//! terminating and was gone; what happened to each PVC; departures from the order
//! the controller promises; why an ordinal is stuck. Rollout tracing reuses
//! [`World`], [`pod_state`] and [`stuck_cause`].
//!
//! Kubernetes semantics (pkg/controller/statefulset/stateful_set_control.go,
//! `updateStatefulSet`): under `OrderedReady` the controller creates ordinals low to
//! high, each only once every lower ordinal is Running and Ready, and removes them
//! high to low, one at a time, waiting for each to be gone; under `Parallel` it does
//! neither. With `persistentVolumeClaimRetentionPolicy.whenScaled: Delete` the
//! controller makes a condemned pod the owner of its PVCs
//! (`updateClaimOwnerRefForSetAndPod` in stateful_set_utils.go), so the garbage
//! collector deletes them once the pod is gone; with `Retain` they stay and the next
//! scale-out binds the new pod to the same claim, hence the same volume.

mod plan;
mod state;
pub(crate) mod stuck;
mod tracker;

pub use plan::*;
pub use state::*;
pub use stuck::*;
pub use tracker::*;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Event, PersistentVolumeClaim, Pod};

/// What is known at one instant: the StatefulSet (None once deleted), the pods its
/// selector matches, the namespace's PVCs (any; only exact claim names are used) and
/// Events about them.
#[derive(Debug, Default, Clone)]
pub struct World<'a> {
    pub sts: Option<&'a StatefulSet>,
    pub pods: Vec<&'a Pod>,
    pub pvcs: Vec<&'a PersistentVolumeClaim>,
    pub events: Vec<&'a Event>,
}

#[cfg(test)]
mod tests;
