//! Timestamps a trace reads off pods and Events, and how one ordinal's timeline advances.

use crate::model::events::Ev;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Event, Pod};

use super::*;
use crate::model::pods;
use crate::model::progress::event_time;

pub(super) fn secs(end: Timestamp, begin: Timestamp) -> f64 {
    (end.duration_since(begin).as_secs_f64() * 10.0).round().max(0.0) / 10.0
}

/// The Ready condition's last transition.
pub(super) fn ready_since(p: &Pod) -> Option<Timestamp> {
    p.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready" && c.status == "True")?
        .last_transition_time
        .as_ref()
        .map(|t| t.0)
}

/// When a delete was requested: `deletionTimestamp - deletionGracePeriodSeconds`.
pub(super) fn delete_requested(p: &Pod) -> Option<Timestamp> {
    let t = p.metadata.deletion_timestamp.as_ref()?.0;
    let grace = p.metadata.deletion_grace_period_seconds.unwrap_or(0);
    t.checked_sub(jiff::SignedDuration::from_secs(grace)).ok()
}

/// The controller's `SuccessfulDelete` Event for `pod`, at or after `since`.
pub(super) fn delete_event(events: &[&Event], sts: &str, pod: &str, since: Option<Timestamp>) -> Option<Timestamp> {
    let needle = format!("delete Pod {pod} in StatefulSet {sts} successful");
    events
        .iter()
        .filter(|e| e.reason.as_deref() == Some("SuccessfulDelete"))
        .filter(|e| e.involved_object.kind.as_deref() == Some("StatefulSet"))
        .filter(|e| e.message.as_deref() == Some(needle.as_str()))
        .filter_map(|e| event_time(e))
        .filter(|t| since.is_none_or(|s| *t >= s))
        .max()
}

/// Attached mid-rollout: rebuild what already happened to an ordinal from its pod's
/// timestamps, the update revision's creation and the controller's Events.
pub(super) fn reconstruct(
    t: &mut OrdinalTrace,
    spec: &RolloutSpec,
    pod: Option<&Pod>,
    state: OrdinalState,
    rollout_started: Option<Timestamp>,
    events: &[&Event],
    sts: &str,
) {
    t.max_rank = state.rank();
    match state {
        OrdinalState::Held | OrdinalState::Waiting | OrdinalState::WaitingForManualDelete => {}
        OrdinalState::Terminating => {
            t.update_started_at = pod.and_then(delete_requested);
            t.reconstructed = t.update_started_at.is_some();
        }
        OrdinalState::Recreating if pod.is_none() => {
            t.update_started_at = delete_event(events, sts, &t.pod, rollout_started);
            t.reconstructed = t.update_started_at.is_some();
        }
        _ => {
            let Some(p) = pod else { return };
            let created = p.metadata.creation_timestamp.as_ref().map(|c| c.0);
            // A pod created before the update revision existed was not replaced by this
            // rollout (it already ran that revision); without the revision's creation
            // time, trust currentRevision != updateRevision.
            let replaced = match (created, rollout_started) {
                (Some(c), Some(r)) => c >= r,
                _ => spec.current_revision != spec.update_revision,
            };
            if !replaced {
                return;
            }
            t.in_rollout = true;
            t.reconstructed = true;
            t.new_pod_created_at = created;
            t.old_pod_gone_at = created;
            t.update_started_at = delete_event(events, sts, &t.pod, rollout_started);
            if state.rank() >= OrdinalState::Ready.rank() {
                t.new_pod_ready_at = ready_since(p);
            }
            if state == OrdinalState::Available {
                t.new_pod_available_at = t
                    .new_pod_ready_at
                    .map(|r| r + jiff::SignedDuration::from_secs(i64::from(spec.min_ready_seconds.max(0))));
            }
        }
    }
}

/// Live: move an ordinal's timeline forward to `state`, observed at `at`.
pub(super) fn advance(
    t: &mut OrdinalTrace,
    spec: &RolloutSpec,
    pod: Option<&Pod>,
    state: OrdinalState,
    at: Timestamp,
    ev: &mut Vec<(Ev, Vec<(&'static str, String)>)>,
) {
    let prev = t.state;
    let uid = pod.and_then(|p| p.metadata.uid.clone());
    if state == OrdinalState::Terminating && prev != OrdinalState::Terminating {
        if prev == OrdinalState::Available {
            // An updated pod deleted again (a second restart, a forced rollback): its
            // update starts over.
            t.reset_timeline();
        }
        t.update_started_at.get_or_insert(at);
        ev.push((Ev::Terminating, vec![]));
    }
    if pod.is_none() && t.pod_uid.is_some() {
        t.update_started_at.get_or_insert(at);
        t.old_pod_gone_at.get_or_insert(at);
        ev.push((Ev::Gone, vec![]));
    }
    let is_update = pod
        .and_then(pods::revision)
        .is_some_and(|r| Some(r) == spec.update_revision.as_deref());
    if let Some(p) = pod
        && is_update
        && p.metadata.deletion_timestamp.is_none()
        && uid.is_some()
        && uid != t.pod_uid
    {
        t.update_started_at.get_or_insert(at);
        t.old_pod_gone_at.get_or_insert(at);
        t.new_pod_created_at = Some(at);
        t.new_pod_running_at = None;
        t.new_pod_ready_at = None;
        t.new_pod_available_at = None;
        t.in_rollout = true;
        ev.push((Ev::Created, vec![]));
    }
    if state == prev {
        return;
    }
    match state {
        OrdinalState::Running => {
            t.new_pod_running_at.get_or_insert(at);
            ev.push((Ev::Running, vec![]));
        }
        OrdinalState::Ready => {
            t.new_pod_ready_at.get_or_insert(at);
            ev.push((Ev::Ready, vec![]));
        }
        OrdinalState::Available => {
            t.new_pod_ready_at.get_or_insert(at);
            t.new_pod_available_at.get_or_insert(at);
            ev.push((Ev::Available, vec![]));
        }
        OrdinalState::Waiting => ev.push((Ev::Waiting, vec![])),
        OrdinalState::WaitingForManualDelete => ev.push((Ev::WaitingForManualDelete, vec![])),
        _ => {}
    }
}
