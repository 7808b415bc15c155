//! When the kubelet's probes first let a container be Ready (pkg/kubelet/prober).
//!
//! Each probe has a worker (worker.go), started when the kubelet takes the pod on
//! (prober_manager.go AddPod), before the container runs. It probes at once, then on
//! every tick of its `periodSeconds` ticker, and whenever the kubelet triggers it
//! (prober_manager.go UpdatePodStatus: a running container without a readiness result
//! yet; handleProbeSync: the startup probe just passed). `doProbe` skips while
//! `int32(time.Since(startedAt).Seconds()) < initialDelaySeconds`, and a readiness
//! probe also while the container has not `started` (its startup probe has not
//! passed); a result counts once `successThreshold` probes in a row passed. The
//! readiness result starts as Failure, so the container is not Ready before that.
//!
//! Not modelled: the random start-up jitter a worker waits when the kubelet itself has
//! just started (`probeTickerPeriod > time.Since(w.probeManager.start)`).

use std::time::Duration;

use serde_json::Value;

/// How long after its containers start the pod's readiness probes first let every
/// container be Ready (zero without probes); `lead` is how long before the containers
/// started the kubelet took the pod on.
pub fn until_ready(pod: &Value, lead: Duration) -> Duration {
    let lead = lead.as_secs_f64();
    let secs = pod["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let started = probe(c, "startupProbe").map_or(0.0, |p| first_pass(p, lead, 0.0));
            probe(c, "readinessProbe").map_or(started, |p| first_pass(p, lead, started))
        })
        .fold(0.0, f64::max);
    Duration::from_secs_f64(secs.max(0.0))
}

fn probe<'a>(container: &'a Value, kind: &str) -> Option<&'a Value> {
    Some(&container[kind]).filter(|p| p.is_object())
}

/// Seconds after the container started at which `probe` first passes: the first
/// attempt at or after both `initialDelaySeconds` and `not_before` (when the startup
/// probe passed), then `successThreshold - 1` more periods. The attempts: a trigger at
/// `not_before` (the container running, or the startup probe passing), and the ticks
/// of the worker started `lead` before the container, every `periodSeconds` (API
/// defaults: period 10, threshold 1).
fn first_pass(probe: &Value, lead: f64, not_before: f64) -> f64 {
    let num = |k: &str, default: f64| probe[k].as_f64().filter(|v| *v >= 1.0).unwrap_or(default);
    let initial = probe["initialDelaySeconds"].as_f64().unwrap_or(0.0).max(0.0);
    let period = num("periodSeconds", 10.0);
    let threshold = num("successThreshold", 1.0);
    let first = if initial <= not_before {
        not_before
    } else {
        ((initial + lead) / period).ceil() * period - lead
    };
    first + (threshold - 1.0) * period
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(containers: Value) -> Value {
        json!({"spec": {"containers": containers}})
    }

    fn secs(pod: &Value, lead: f64) -> f64 {
        until_ready(pod, Duration::from_secs_f64(lead)).as_secs_f64()
    }

    #[test]
    fn no_probe_or_no_initial_delay_is_ready_at_once() {
        assert_eq!(secs(&pod(json!([{"name": "a"}])), 0.2), 0.0);
        let p = pod(json!([{"name": "a", "readinessProbe": {"exec": {"command": ["true"]}}}]));
        assert_eq!(
            secs(&p, 0.2),
            0.0,
            "the kubelet triggers the first probe when the container runs"
        );
    }

    #[test]
    fn the_first_probe_after_the_initial_delay_is_on_a_tick_of_the_period() {
        let p = |delay: i64, period: i64| {
            pod(json!([{"name": "a", "readinessProbe": {"initialDelaySeconds": delay, "periodSeconds": period}}]))
        };
        // Ticks every second from 0.25 s before the container started: 3.75 s after it.
        assert!((secs(&p(3, 1), 0.25) - 3.75).abs() < 1e-9);
        // Default period 10 s: the first tick after 3 s is the one at 10 s.
        let default_period = pod(json!([{"name": "a", "readinessProbe": {"initialDelaySeconds": 3}}]));
        assert!((secs(&default_period, 0.25) - 9.75).abs() < 1e-9);
        assert!((secs(&p(1, 3), 0.0) - 3.0).abs() < 1e-9);
    }

    #[test]
    fn success_threshold_startup_probe_and_the_slowest_container() {
        let threshold = pod(
            json!([{"name": "a", "readinessProbe": {"initialDelaySeconds": 2, "periodSeconds": 1,
                                                                      "successThreshold": 3}}]),
        );
        assert!((secs(&threshold, 0.0) - 4.0).abs() < 1e-9);
        // Readiness waits for the startup probe; its trigger when that passes is at once.
        let startup = pod(
            json!([{"name": "a", "startupProbe": {"initialDelaySeconds": 5, "periodSeconds": 2},
                                  "readinessProbe": {"initialDelaySeconds": 1}}]),
        );
        assert!((secs(&startup, 0.0) - 6.0).abs() < 1e-9);
        let two = pod(
            json!([{"name": "a"}, {"name": "b", "readinessProbe": {"initialDelaySeconds": 2, "periodSeconds": 1}}]),
        );
        assert!((secs(&two, 0.0) - 2.0).abs() < 1e-9);
    }
}
