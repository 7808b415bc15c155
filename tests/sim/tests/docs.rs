//! tests/sim/README.md documents every fault: each annotation the sim knows, and each
//! documented server fault action is one the server accepts.

use sts_sim::annotations;
use sts_sim::faults::FaultRequest;
use sts_sim::{Sim, SimConfig};

const README: &str = include_str!("../README.md");

#[test]
fn every_annotation_is_documented() {
    for a in annotations::ALL {
        assert!(
            README.contains(&format!("`{a}`")),
            "tests/sim/README.md does not document {a}"
        );
    }
}

#[tokio::test]
async fn every_documented_fault_action_is_accepted() {
    let section = README
        .split("## Faults on the server")
        .nth(1)
        .expect("a server faults section");
    let actions: Vec<&str> = section
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .collect();
    assert!(actions.len() >= 10, "{actions:?}");
    let sim = Sim::start(SimConfig::default()).await.unwrap();
    for a in &actions {
        let req: FaultRequest = serde_json::from_value(serde_json::json!({"action": a})).unwrap();
        assert_eq!(sim.faults().apply(&req), Ok(()), "documented action {a}");
        sim.faults().reset();
    }
    let bogus: FaultRequest = serde_json::from_value(serde_json::json!({"action": "nope"})).unwrap();
    assert!(sim.faults().apply(&bogus).is_err());
}
