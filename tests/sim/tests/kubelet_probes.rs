//! The kubelet's prober: a container with a readiness probe is not Ready before its
//! `initialDelaySeconds`, and the first probe after it falls on a tick of its
//! `periodSeconds` (pkg/kubelet/prober worker.go).

#[path = "controllers_support.rs"]
mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::*;

fn with_probe(name: &str, probe: Value) -> Value {
    let mut s = sts(name, 1);
    s["spec"]["template"]["spec"]["containers"][0]["readinessProbe"] = probe;
    s
}

/// How long the pod took from Running (its containers started) to Ready.
async fn running_to_ready(h: &Harness, pod: &str) -> Duration {
    let started = h
        .wait("Running", |h| {
            let p = h.get("pods", pod)?;
            (p["status"]["phase"] == "Running").then(Instant::now)
        })
        .await;
    let p = h.get("pods", pod).unwrap();
    assert!(!ready(&p), "Ready at once: {p}");
    h.wait_ready(&[pod]).await;
    started.elapsed()
}

#[tokio::test]
async fn readiness_waits_for_the_initial_delay() {
    let h = start();
    let probe = json!({"exec": {"command": ["true"]}, "initialDelaySeconds": 2, "periodSeconds": 1});
    h.create_sts(with_probe("late", probe));
    let took = running_to_ready(&h, "late-0").await;
    assert!(took >= Duration::from_millis(1900), "Ready {took:?} after Running");
}

#[tokio::test]
async fn the_first_probe_waits_for_a_tick_of_the_period() {
    let h = start();
    // Ready no sooner than the first tick after the 1 s delay: the one at 3 s.
    let probe = json!({"exec": {"command": ["true"]}, "initialDelaySeconds": 1, "periodSeconds": 3});
    h.create_sts(with_probe("tick", probe));
    let took = running_to_ready(&h, "tick-0").await;
    assert!(took >= Duration::from_millis(2800), "Ready {took:?} after Running");
}
