//! What a sim instance is started with.

use std::path::PathBuf;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Loopback port to listen on; 0 picks an ephemeral one.
    pub port: u16,
    /// StorageClasses that provision volumes (besides `standard`, which always exists
    /// and is the default class). A PVC naming any other class stays Pending.
    pub storage_classes: Vec<String>,
    /// Pod lifecycle timing: Pending -> ContainerCreating -> Running.
    pub pod_start_delay: Duration,
    /// Running -> Ready (readiness probe first passes).
    pub pod_ready_delay: Duration,
    /// How long a terminating pod takes to go away (capped by its grace period).
    pub termination_delay: Duration,
    /// How long the storage backend takes to expand a volume (the external-resizer's
    /// ControllerExpandVolume call); a PVC's `sts-sim.dev/resize-seconds` overrides it.
    pub resize_delay: Duration,
    /// Where pod root filesystems and volume data live. None: a fresh temp directory,
    /// removed when the sim stops.
    pub state_dir: Option<PathBuf>,
    /// How many writes a watch can resume across before it gets 410 Gone.
    pub watch_history: usize,
    /// The node every pod is scheduled on.
    pub node_name: String,
    /// Bulk state written before the controllers start (benchmarks): see
    /// [`seed::bulk`](crate::seed::bulk).
    pub seed: Option<crate::seed::BulkSeed>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            port: 0,
            storage_classes: Vec::new(),
            pod_start_delay: Duration::from_millis(50),
            pod_ready_delay: Duration::from_millis(50),
            termination_delay: Duration::from_millis(50),
            resize_delay: Duration::from_millis(300),
            state_dir: None,
            watch_history: 10_000,
            node_name: "sts-sim-node-1".to_string(),
            seed: None,
        }
    }
}
