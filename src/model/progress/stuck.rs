//! Why an ordinal does not progress: pod conditions, container statuses and Events.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{ContainerStatus, Event, PersistentVolumeClaim, Pod};
use serde::Serialize;

use super::*;
use crate::model::pods;

/// Why an ordinal does not progress, from pod conditions, container statuses and Events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stuck {
    /// `Unschedulable`, `PVCPending`, `ErrImagePull`, `ImagePullBackOff`,
    /// `CrashLoopBackOff`, `ReadinessProbeFailing` or `ContainerWaiting`.
    pub reason: &'static str,
    /// One line: the condition, container status or Event message.
    pub message: String,
    /// `pod/<name>` or `pvc/<name>`: the object the cause is about.
    pub object: String,
    /// A failure that will not resolve by waiting (see [`stuck_cause`]).
    pub clear: bool,
}

/// The newest Event about the object with `uid` whose reason is one of `reasons`.
pub(super) fn newest_event<'a>(events: &[&'a Event], uid: Option<&str>, reasons: &[&str]) -> Option<&'a Event> {
    let uid = uid?;
    events
        .iter()
        .copied()
        .filter(|e| e.involved_object.uid.as_deref() == Some(uid))
        .filter(|e| e.reason.as_deref().is_some_and(|r| reasons.contains(&r)))
        .max_by_key(|e| event_time(e))
}

/// When an Event last happened: lastTimestamp, eventTime, series, firstTimestamp, creation.
pub fn event_time(e: &Event) -> Option<Timestamp> {
    e.last_timestamp
        .as_ref()
        .map(|t| t.0)
        .or_else(|| {
            e.series
                .as_ref()
                .and_then(|s| s.last_observed_time.as_ref())
                .map(|t| t.0)
        })
        .or_else(|| e.event_time.as_ref().map(|t| t.0))
        .or_else(|| e.first_timestamp.as_ref().map(|t| t.0))
        .or_else(|| e.metadata.creation_timestamp.as_ref().map(|t| t.0))
}

pub(crate) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Why the pod of an ordinal (with its claims) does not progress, if it visibly does not.
///
/// "Clear" failures, which end a wait with exit 1 instead of waiting for `--timeout`,
/// are those that do not resolve without someone changing something:
/// - a PVC whose StorageClass does not exist (`ProvisioningFailed ... not found`);
/// - `ImagePullBackOff` / `InvalidImageName` / `ErrImageNeverPull` (the kubelet already
///   failed to pull and is backing off; a first `ErrImagePull` may be a registry hiccup);
/// - `CrashLoopBackOff` after at least 2 restarts.
///
/// Unschedulable pods (capacity may free up or be added), PVCs pending without such an
/// event (a slow provisioner), readiness probes failing (the application may be
/// warming up) and other waiting reasons are reported but waited for.
pub fn stuck_cause(pod: Option<&Pod>, claims: &[&PersistentVolumeClaim], events: &[&Event]) -> Option<Stuck> {
    // A PVC that cannot be provisioned blocks everything else.
    for c in claims {
        if claim_phase(c) != "Pending" {
            continue;
        }
        let name = c.metadata.name.clone().unwrap_or_default();
        if let Some(e) = newest_event(
            events,
            c.metadata.uid.as_deref(),
            &["ProvisioningFailed", "FailedBinding", "ExternalProvisioning"],
        ) {
            let msg = one_line(e.message.as_deref().unwrap_or(""));
            let clear = e.reason.as_deref() == Some("ProvisioningFailed")
                && msg.contains("storageclass")
                && msg.contains("not found");
            return Some(Stuck {
                reason: "PVCPending",
                message: format!("PVC {name} is Pending: {msg}"),
                object: format!("pvc/{name}"),
                clear,
            });
        }
    }
    let p = pod?;
    if p.metadata.deletion_timestamp.is_some() {
        return None;
    }
    let pod_ref = format!("pod/{}", p.metadata.name.as_deref().unwrap_or(""));
    let status = p.status.as_ref();
    let conditions = status.and_then(|s| s.conditions.as_deref()).unwrap_or_default();
    if let Some(c) = conditions
        .iter()
        .find(|c| c.type_ == "PodScheduled" && c.status == "False" && c.reason.as_deref() == Some("Unschedulable"))
    {
        let msg = one_line(c.message.as_deref().unwrap_or(""));
        // Every new ordinal passes through this while its fresh PVC binds (the
        // scheduler reports the unbound claim, watch-events.jsonl): that is progress,
        // not a cause. A claim that really cannot bind carries a warning Event (above);
        // without one, the timeout message names the Pending claim.
        // The condition can also lag behind the claim's binding (or our PVC watch lag
        // behind the scheduler), so an unbound-claim message is never a cause by itself.
        if msg.contains("unbound immediate PersistentVolumeClaims") || msg.contains("PersistentVolumeClaim") {
            return None;
        }
        return Some(Stuck {
            reason: "Unschedulable",
            message: msg,
            object: pod_ref,
            clear: false,
        });
    }
    let inits = status
        .and_then(|s| s.init_container_statuses.as_deref())
        .unwrap_or_default();
    let containers = status.and_then(|s| s.container_statuses.as_deref()).unwrap_or_default();
    for c in inits.iter().chain(containers) {
        if let Some(s) = container_stuck(c, &pod_ref) {
            return Some(s);
        }
    }
    let running = status.and_then(|s| s.phase.as_deref()) == Some("Running");
    if running && !pods::is_ready(p) {
        let started = containers
            .iter()
            .all(|c| c.state.as_ref().is_some_and(|s| s.running.is_some()));
        if started && let Some(e) = newest_event(events, p.metadata.uid.as_deref(), &["Unhealthy"]) {
            let msg = one_line(e.message.as_deref().unwrap_or(""));
            if msg.starts_with("Readiness probe") {
                let times = e
                    .count
                    .filter(|n| *n > 1)
                    .map(|n| format!(" ({n} times)"))
                    .unwrap_or_default();
                return Some(Stuck {
                    reason: "ReadinessProbeFailing",
                    message: format!("{msg}{times}"),
                    object: pod_ref,
                    clear: false,
                });
            }
        }
    }
    None
}

pub(crate) fn container_stuck(c: &ContainerStatus, pod_ref: &str) -> Option<Stuck> {
    let state = c.state.as_ref()?;
    let last_exit = || {
        let t = c.last_state.as_ref().and_then(|s| s.terminated.as_ref())?;
        Some(format!(
            "last termination: {} (exit code {})",
            t.reason.as_deref().unwrap_or("Error"),
            t.exit_code
        ))
    };
    if let Some(w) = &state.waiting {
        let reason = w.reason.as_deref().unwrap_or("");
        let msg = one_line(w.message.as_deref().unwrap_or(""));
        let with = |text: String| if msg.is_empty() { text } else { format!("{text}: {msg}") };
        return match reason {
            "ErrImagePull" | "ImagePullBackOff" | "InvalidImageName" | "ErrImageNeverPull" => Some(Stuck {
                reason: if reason == "ErrImagePull" {
                    "ErrImagePull"
                } else {
                    "ImagePullBackOff"
                },
                message: with(format!("container {} {reason}", c.name)),
                object: pod_ref.to_string(),
                clear: reason != "ErrImagePull",
            }),
            "CrashLoopBackOff" => Some(Stuck {
                reason: "CrashLoopBackOff",
                message: format!(
                    "container {} CrashLoopBackOff, {} restarts{}",
                    c.name,
                    c.restart_count,
                    last_exit().map(|l| format!(", {l}")).unwrap_or_default()
                ),
                object: pod_ref.to_string(),
                clear: c.restart_count >= 2,
            }),
            "" | "ContainerCreating" | "PodInitializing" => None,
            other => Some(Stuck {
                reason: "ContainerWaiting",
                message: with(format!("container {} {other}", c.name)),
                object: pod_ref.to_string(),
                clear: false,
            }),
        };
    }
    // Between two crashes the container shows terminated (pod-failure-crash-0.json).
    if let Some(t) = &state.terminated
        && t.exit_code != 0
        && c.restart_count > 0
    {
        return Some(Stuck {
            reason: "CrashLoopBackOff",
            message: format!(
                "container {} exited with {} (exit code {}), {} restarts",
                c.name,
                t.reason.as_deref().unwrap_or("Error"),
                t.exit_code,
                c.restart_count
            ),
            object: pod_ref.to_string(),
            clear: c.restart_count >= 2,
        });
    }
    None
}
