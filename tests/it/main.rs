//! The plugin's integration tests, one binary with a module per area. Most run the
//! built `kubectl-sts` against a simulated cluster (`sts-sim`, started per test); the
//! shared fixtures and assertions are in `support`.
//!
//! A new area is a file `tests/it/NAME.rs` starting with `use crate::support::*;`
//! and a `mod NAME;` line below. Run one area with `cargo nextest run --test it NAME::`.

mod support;

mod broken_pipe;
mod cli;
mod completion;
mod explain;
mod faults_cluster;
mod faults_input;
mod faults_verify;
mod krew;
mod layout;
mod orphans;
mod ownership;
mod parse_time;
mod proptest_model;
mod rbac;
mod release;
mod resize;
mod rollout;
mod scale;
mod status;
mod undo;
mod verify;
