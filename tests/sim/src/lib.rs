//! sts-sim: a simulated Kubernetes cluster that speaks the API server's wire protocol
//! and runs the controllers a StatefulSet needs, for kubectl-sts's tests, benchmarks
//! and demos. Never shipped inside the plugin.
//!
//! Module owners (keep to your files; shared interfaces are in store, error,
//! resources, annotations, config, context):
//! - api/, faults.rs, reqlog.rs, the `Sim` harness below, main.rs: the API server.
//! - controllers/: StatefulSet, volumes, kubelet (pod lifecycle), GC, PDB, events.
//! - runtime.rs, exec.rs: pod sandboxes (bubblewrap + busybox-static) and pods/exec.

pub mod annotations;
pub mod config;
pub mod context;
pub mod error;
pub mod resources;
pub mod runtime;
pub mod store;

pub use config::SimConfig;
pub use context::Context;
