//! What the integration tests share: a simulated cluster per test and the seeded
//! StatefulSet fixture (`sim`), running the built binary and its `Run` (`run`), the
//! output every failure must have (`assert`), and the cluster state and request log a
//! run must leave (`cluster`).

mod assert;
mod cluster;
mod run;
mod sim;

pub use assert::*;
pub use cluster::*;
pub use run::*;
pub use sim::*;
