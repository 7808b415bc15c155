//! What a pod shows: the STATUS column as kubectl computes it, readiness, restarts,
//! and the StatefulSet identity labels.

use k8s_openapi::api::core::v1::Pod;

/// The label the StatefulSet controller sets to the pod's revision (ControllerRevision name).
pub const REVISION_LABEL: &str = "controller-revision-hash";

/// kubectl's STATUS column (`printPod` in kubernetes/pkg/printers/internalversion/printers.go):
/// the phase, overridden by the pod's reason, then by the last container's waiting or
/// terminated reason; `Terminating` once a deletion timestamp is set.
pub fn status_reason(pod: &Pod) -> String {
    let status = pod.status.as_ref();
    let mut reason = status.and_then(|s| s.phase.clone()).unwrap_or_else(|| "Unknown".into());
    if let Some(r) = status.and_then(|s| s.reason.clone()).filter(|r| !r.is_empty()) {
        reason = r;
    }
    let inits = status
        .and_then(|s| s.init_container_statuses.as_deref())
        .unwrap_or_default();
    let init_total = inits.len();
    let mut initializing = false;
    for (i, c) in inits.iter().enumerate() {
        let state = c.state.as_ref();
        if let Some(t) = state.and_then(|s| s.terminated.as_ref()) {
            if t.exit_code == 0 {
                continue;
            }
            reason = match t.reason.as_deref().filter(|r| !r.is_empty()) {
                Some(r) => format!("Init:{r}"),
                None => format!("Init:ExitCode:{}", t.exit_code),
            };
        } else if let Some(w) = state
            .and_then(|s| s.waiting.as_ref())
            .and_then(|w| w.reason.clone())
            .filter(|r| r != "PodInitializing")
        {
            reason = format!("Init:{w}");
        } else {
            reason = format!("Init:{i}/{init_total}");
        }
        initializing = true;
        break;
    }
    if !initializing {
        let mut has_running = false;
        let containers = status.and_then(|s| s.container_statuses.as_deref()).unwrap_or_default();
        for c in containers.iter().rev() {
            let state = c.state.as_ref();
            if let Some(w) = state
                .and_then(|s| s.waiting.as_ref())
                .and_then(|w| w.reason.clone())
                .filter(|r| !r.is_empty())
            {
                reason = w;
            } else if let Some(t) = state.and_then(|s| s.terminated.as_ref()) {
                reason = match t.reason.as_deref().filter(|r| !r.is_empty()) {
                    Some(r) => r.to_string(),
                    None if t.signal.unwrap_or(0) != 0 => format!("Signal:{}", t.signal.unwrap_or(0)),
                    None => format!("ExitCode:{}", t.exit_code),
                };
            } else if c.ready && state.is_some_and(|s| s.running.is_some()) {
                has_running = true;
            }
        }
        if reason == "Completed" && has_running {
            reason = if is_ready(pod) {
                "Running".into()
            } else {
                "NotReady".into()
            };
        }
    }
    if pod.metadata.deletion_timestamp.is_some() {
        reason = if status.and_then(|s| s.reason.as_deref()) == Some("NodeLost") {
            "Unknown".into()
        } else {
            "Terminating".into()
        };
    }
    reason
}

/// The pod's `Ready` condition is True.
pub fn is_ready(pod: &Pod) -> bool {
    condition_true(pod, "Ready")
}

pub fn condition_true(pod: &Pod, type_: &str) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == type_))
        .is_some_and(|c| c.status == "True")
}

/// Available as the StatefulSet controller counts it: Ready for at least
/// `min_ready_seconds` (`isRunningAndAvailable` / podutil.IsPodAvailable).
pub fn is_available(pod: &Pod, min_ready_seconds: i32, now: jiff::Timestamp) -> bool {
    if !is_ready(pod) || pod.metadata.deletion_timestamp.is_some() {
        return false;
    }
    if min_ready_seconds <= 0 {
        return true;
    }
    let since = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
        .and_then(|c| c.last_transition_time.as_ref())
        .map(|t| t.0);
    since.is_some_and(|t| now.duration_since(t).as_secs() >= i64::from(min_ready_seconds))
}

/// `ready/total` containers, as kubectl's READY column.
pub fn ready_containers(pod: &Pod) -> (usize, usize) {
    let total = pod.spec.as_ref().map_or(0, |s| s.containers.len());
    let ready = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .map_or(0, |cs| cs.iter().filter(|c| c.ready).count());
    (ready, total)
}

pub fn restarts(pod: &Pod) -> i32 {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .map_or(0, |cs| cs.iter().map(|c| c.restart_count).sum())
}

pub fn revision(pod: &Pod) -> Option<&str> {
    pod.metadata.labels.as_ref()?.get(REVISION_LABEL).map(String::as_str)
}

pub fn node(pod: &Pod) -> Option<&str> {
    pod.spec.as_ref()?.node_name.as_deref()
}

/// Claim names of the pod's PVC-backed volumes, by volume name.
pub fn claims(pod: &Pod) -> Vec<(String, String)> {
    pod.spec
        .as_ref()
        .and_then(|s| s.volumes.as_ref())
        .map(|vs| {
            vs.iter()
                .filter_map(|v| {
                    v.persistent_volume_claim
                        .as_ref()
                        .map(|c| (v.name.clone(), c.claim_name.clone()))
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(v: serde_json::Value) -> Pod {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn waiting_reason_wins_over_phase() {
        let p = pod(json!({"metadata":{"name":"web-0"},"spec":{"containers":[{"name":"c"}]},
            "status":{"phase":"Running","containerStatuses":[{"name":"c","ready":false,"restartCount":4,"image":"x","imageID":"",
              "state":{"waiting":{"reason":"CrashLoopBackOff"}},"lastState":{"terminated":{"exitCode":2}}}]}}));
        assert_eq!(status_reason(&p), "CrashLoopBackOff");
        assert_eq!(restarts(&p), 4);
        assert_eq!(ready_containers(&p), (0, 1));
    }

    #[test]
    fn terminating_and_running() {
        let mut v = json!({"metadata":{"name":"web-0"},"spec":{"containers":[{"name":"c"}]},
            "status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"}],
              "containerStatuses":[{"name":"c","ready":true,"restartCount":0,"image":"x","imageID":"","state":{"running":{}}}]}});
        assert_eq!(status_reason(&pod(v.clone())), "Running");
        assert!(is_ready(&pod(v.clone())));
        v["metadata"]["deletionTimestamp"] = json!("2026-11-22T03:06:44Z");
        assert_eq!(status_reason(&pod(v)), "Terminating");
    }

    #[test]
    fn pending_without_statuses_shows_phase() {
        let p = pod(json!({"metadata":{"name":"web-0"},"status":{"phase":"Pending"}}));
        assert_eq!(status_reason(&p), "Pending");
        assert_eq!(ready_containers(&p), (0, 0));
    }

    #[test]
    fn availability_needs_min_ready_seconds() {
        let p = pod(json!({"metadata":{"name":"web-0"},
            "status":{"conditions":[{"type":"Ready","status":"True","lastTransitionTime":"2026-11-22T03:00:00Z"}]}}));
        let t = |s: &str| s.parse::<jiff::Timestamp>().unwrap();
        assert!(is_available(&p, 0, t("2026-11-22T03:00:00Z")));
        assert!(!is_available(&p, 10, t("2026-11-22T03:00:09Z")));
        assert!(is_available(&p, 10, t("2026-11-22T03:00:10Z")));
    }
}
