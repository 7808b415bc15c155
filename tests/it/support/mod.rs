//! What the integration tests share: a simulated cluster per test and objects from
//! YAML (`sim`), and what the fault matrix asserts about a run and the cluster (`faults`).

mod faults;
mod sim;

pub use faults::*;
pub use sim::*;
