//! The facts behind each phase's explanation: read from pod status, container states,
//! Events and the node, as the kubelet, scheduler and controllers record them.

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Container, Event, Pod};

use super::{PhaseName, Transition, secs_between};
use crate::model::progress::stuck::{container_stuck, event_time, one_line};

/// What one phase's evidence says.
#[derive(Debug, Default)]
pub(super) struct Found {
    pub explanation: Option<String>,
    pub evidence: Vec<String>,
    /// The phase's expected time when something configured sets it (probe delays,
    /// `minReadySeconds`); else the phase's default budget applies.
    pub budget: Option<Duration>,
    /// Something went wrong whatever the time (a kill at the grace deadline, a failed
    /// attach, a probe failure).
    pub anomaly: bool,
}

/// A node's Ready condition, read when a termination is stuck.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeState {
    pub name: String,
    pub ready: bool,
    /// When Ready last changed.
    pub since: Option<Timestamp>,
    pub reason: Option<String>,
}

pub(super) fn find(name: PhaseName, t: &Transition, seconds: Duration, done: bool) -> Found {
    match name {
        PhaseName::Terminating => terminating(t, seconds, done),
        PhaseName::Creating => creating(t, seconds, done),
        PhaseName::Scheduling => scheduling(t),
        PhaseName::Volumes => volumes(t, seconds),
        PhaseName::Image => image(t),
        PhaseName::Readiness => readiness(t, seconds),
    }
}

/// Events about the pod with this UID, oldest first.
fn about<'a>(t: &Transition<'a>, pod: Option<&Pod>) -> Vec<&'a Event> {
    let Some(uid) = pod.and_then(|p| p.metadata.uid.as_deref()) else {
        return Vec::new();
    };
    let mut v: Vec<&Event> = t
        .events
        .iter()
        .copied()
        .filter(|e| e.involved_object.uid.as_deref() == Some(uid))
        .collect();
    v.sort_by_key(|e| event_time(e));
    v
}

fn reason_is(e: &Event, reasons: &[&str]) -> bool {
    e.reason.as_deref().is_some_and(|r| reasons.contains(&r))
}

/// `Reason: message` with the count when repeated: the evidence form of an Event.
fn cite(e: &Event) -> String {
    let times = e
        .count
        .filter(|n| *n > 1)
        .map(|n| format!(" (x{n})"))
        .unwrap_or_default();
    let at = event_time(e).map(|t| format!(" at {t}")).unwrap_or_default();
    format!(
        "event {}{times}{at}: {}",
        e.reason.as_deref().unwrap_or("?"),
        one_line(e.message.as_deref().unwrap_or(""))
    )
}

fn seconds_str(d: f64) -> String {
    format!("{d:.1}s")
}

// ---- terminating -------------------------------------------------------------

/// A container the kubelet killed at the grace deadline: exit 137 (SIGKILL) no earlier
/// than the deadline (second resolution). The kubelet records no Event for it; the
/// only trace is the terminated state (v1.26 watch-pods-sigterm-ignored.jsonl).
fn killed_at_deadline(old: &Pod, deadline: Option<Timestamp>) -> Vec<(String, Option<Timestamp>)> {
    let statuses = old
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_deref())
        .unwrap_or_default();
    statuses
        .iter()
        .filter_map(|c| {
            let term = c.state.as_ref()?.terminated.as_ref()?;
            let finished = term.finished_at.as_ref().map(|f| f.0);
            let late = match (deadline, finished) {
                (Some(d), Some(f)) => secs_between(d, f) >= -1.0,
                _ => true,
            };
            (term.exit_code == 137 && late).then(|| (c.name.clone(), finished))
        })
        .collect()
}

fn grace_of(old_first: Option<&Pod>, old_last: Option<&Pod>) -> i64 {
    old_first
        .and_then(|p| p.metadata.deletion_grace_period_seconds)
        .filter(|g| *g > 0)
        .or_else(|| {
            old_last
                .or(old_first)
                .and_then(|p| p.spec.as_ref())
                .and_then(|s| s.termination_grace_period_seconds)
        })
        .unwrap_or(30)
}

fn pre_stop_hooks(pod: Option<&Pod>) -> Vec<String> {
    let containers: &[Container] = pod.and_then(|p| p.spec.as_ref()).map_or(&[], |s| &s.containers);
    containers
        .iter()
        .filter(|c| c.lifecycle.as_ref().is_some_and(|l| l.pre_stop.is_some()))
        .map(|c| c.name.clone())
        .collect()
}

fn terminating(t: &Transition, seconds: Duration, done: bool) -> Found {
    let old = t.old_last.or(t.old_first);
    let grace = grace_of(t.old_first, t.old_last);
    let deadline = t
        .old_first
        .and_then(|p| p.metadata.deletion_timestamp.as_ref())
        .map(|d| d.0);
    let mut f = Found::default();
    if let Some(d) = deadline {
        f.evidence
            .push(format!("deletionTimestamp {d} (delete + {grace}s grace period)"));
    }
    for e in about(t, old).into_iter().filter(|e| reason_is(e, &["Killing"])) {
        f.evidence.push(cite(e));
    }
    let hooks = pre_stop_hooks(old);
    let hook_note = match hooks.as_slice() {
        [] => String::new(),
        [one] => format!("; container {one}'s preStop hook runs inside that grace period"),
        many => format!(
            "; the preStop hooks of {} run inside that grace period",
            many.join(", ")
        ),
    };
    let killed = old.map(|p| killed_at_deadline(p, deadline)).unwrap_or_default();
    if !killed.is_empty() {
        for (c, at) in &killed {
            let at = at.map(|a| format!(", finishedAt {a}")).unwrap_or_default();
            f.evidence.push(format!(
                "container {c} terminated: exit code 137 (SIGKILL), reason Error{at}"
            ));
        }
        let names: Vec<&str> = killed.iter().map(|(c, _)| c.as_str()).collect();
        f.explanation = Some(format!(
            "container {} ignored SIGTERM (or handled it too slowly) and was killed when the {grace}s grace period ran out (exit 137){hook_note}",
            names.join(", ")
        ));
        f.anomaly = true;
        return f;
    }
    if !done && let Some(n) = t.old_node.filter(|n| !n.ready) {
        f.evidence.push(format!(
            "node {} Ready={}{}",
            n.name,
            if n.ready { "True" } else { "Unknown/False" },
            n.since.map(|s| format!(" since {s}")).unwrap_or_default()
        ));
        f.explanation = Some(format!(
            "node {} is NotReady{}: its kubelet cannot confirm the pod stopped, so it stays Terminating; \
             force-deleting it lets the controller start a second pod with the same identity and volume \
             while the first may still run: confirm the node is down (or delete the Node) first",
            n.name,
            n.reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
        ));
        f.anomaly = true;
        return f;
    }
    let took = seconds.as_secs_f64();
    f.explanation = Some(if done {
        format!(
            "the containers took {} to stop after SIGTERM (grace period {grace}s){hook_note}",
            seconds_str(took)
        )
    } else {
        format!(
            "the containers have not stopped after {} (grace period {grace}s){hook_note}",
            seconds_str(took)
        )
    });
    f
}

// ---- creating, scheduling ----------------------------------------------------

fn creating(t: &Transition, seconds: Duration, done: bool) -> Found {
    let took = seconds_str(seconds.as_secs_f64());
    let explanation = match &t.controller_wait {
        Some(w) => w.clone(),
        None if done => format!("the StatefulSet controller created the pod {took} after the last one was gone"),
        None => format!("the StatefulSet controller has not created the pod after {took}"),
    };
    Found {
        explanation: Some(explanation),
        anomaly: t.controller_wait.is_some(),
        ..Found::default()
    }
}

fn scheduling(t: &Transition) -> Found {
    let mut f = Found::default();
    let failed: Vec<&Event> = about(t, t.new)
        .into_iter()
        .filter(|e| reason_is(e, &["FailedScheduling"]))
        .collect();
    let Some(last) = failed.last() else {
        f.explanation = Some("the scheduler bound it to a node".into());
        return f;
    };
    f.evidence.extend(failed.iter().map(|e| cite(e)));
    let msg = one_line(last.message.as_deref().unwrap_or(""));
    f.anomaly = true;
    f.explanation = Some(if pinned_volume(&msg) {
        format!(
            "no node can run it: its PersistentVolume is pinned to a node or zone that no schedulable node is in \
             (volume node affinity conflict: a zonal or local volume whose node is gone): {msg}"
        )
    } else {
        format!("the scheduler found no node: {msg}")
    });
    f
}

/// The scheduler's VolumeBinding reason for a bound volume whose node affinity no node
/// matches: "had volume node affinity conflict" until v1.32, "didn't match
/// PersistentVolume's node affinity" since v1.33 (kubernetes#129887).
fn pinned_volume(msg: &str) -> bool {
    msg.contains("volume node affinity conflict") || msg.contains("didn't match PersistentVolume's node affinity")
}

// ---- volumes, image ------------------------------------------------------------

/// A FailedMount of a volume the kubelet projects itself (the service-account token,
/// configmaps): transient cache misses that resolve on their own (v1.26 capture).
fn is_projected_noise(e: &Event) -> bool {
    let m = e.message.as_deref().unwrap_or("");
    m.contains("\"kube-api-access-")
        || m.contains("failed to sync configmap cache")
        || m.contains("failed to sync secret cache")
}

fn volumes(t: &Transition, seconds: Duration) -> Found {
    let mut f = Found::default();
    let evs = about(t, t.new);
    let failures: Vec<&Event> = evs
        .iter()
        .copied()
        .filter(|e| reason_is(e, &["FailedAttachVolume", "FailedMount"]))
        .collect();
    let (noise, real): (Vec<&Event>, Vec<&Event>) = failures.into_iter().partition(|e| is_projected_noise(e));
    for e in &noise {
        f.evidence
            .push(format!("ignored (transient, resolves itself): {}", cite(e)));
    }
    f.evidence.extend(real.iter().map(|e| cite(e)));
    f.evidence.extend(
        evs.iter()
            .filter(|e| reason_is(e, &["SuccessfulAttachVolume"]))
            .map(|e| cite(e)),
    );
    let specific = |pat: &str| {
        real.iter()
            .rev()
            .find(|e| e.message.as_deref().unwrap_or("").contains(pat))
    };
    let count = |e: &Event| {
        e.count
            .filter(|n| *n > 1)
            .map(|n| format!(" ({n} times)"))
            .unwrap_or_default()
    };
    f.explanation = Some(if let Some(e) = specific("Multi-Attach error") {
        f.anomaly = true;
        format!(
            "a ReadWriteOnce volume is still attached to another node (Multi-Attach error{}): the attach/detach \
             controller waits for the old node to release it (up to 6 minutes when that node is unreachable)",
            count(e)
        )
    } else if let Some(e) = real.iter().rev().find(|e| reason_is(e, &["FailedAttachVolume"])) {
        f.anomaly = true;
        format!(
            "attaching the volume failed{}: {}",
            count(e),
            one_line(e.message.as_deref().unwrap_or(""))
        )
    } else if let Some(e) = real
        .iter()
        .rev()
        .find(|e| {
            !e.message
                .as_deref()
                .unwrap_or("")
                .starts_with("Unable to attach or mount")
        })
        .or(real.last())
    {
        f.anomaly = true;
        format!(
            "mounting the volume failed{}: {}",
            count(e),
            one_line(e.message.as_deref().unwrap_or(""))
        )
    } else {
        format!("volumes attached and mounted in {}", seconds_str(seconds.as_secs_f64()))
    });
    f
}

/// The image pull of the new pod, as the kubelet reported it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Pull {
    /// `Pulled` "Successfully pulled image ... in 1.5s": the kubelet's own timing.
    Took(Duration),
    /// `Pulling` seen (this long after the start) and no `Pulled` yet.
    Pulling(Duration),
    /// Already present, or nothing reported.
    None,
}

pub(super) fn pull(t: &Transition) -> Pull {
    let evs = about(t, t.new);
    if let Some(d) = evs
        .iter()
        .filter(|e| reason_is(e, &["Pulled"]))
        .find_map(|e| pulled_in(e.message.as_deref().unwrap_or("")))
    {
        return Pull::Took(d);
    }
    let pulling = evs.iter().find(|e| reason_is(e, &["Pulling"]));
    if pulling.is_none() || evs.iter().any(|e| reason_is(e, &["Pulled"])) {
        return Pull::None;
    }
    // Events carry whole seconds: where the pull began is an estimate, clamped by the
    // caller to the scheduled..running window (0 when the start is unknown).
    let since = match (pulling.and_then(|e| event_time(e)), t.started_at) {
        (Some(at), Some(start)) => secs_between(start, at).max(0.0),
        _ => 0.0,
    };
    Pull::Pulling(Duration::from_secs_f64(since))
}

/// The duration in the kubelet's `Successfully pulled image "X" in 1.5s (1.5s including
/// waiting)` (a Go duration: `523ms`, `1.5s`, `1m2.3s`).
pub(crate) fn pulled_in(message: &str) -> Option<Duration> {
    let rest = message.strip_prefix("Successfully pulled image ")?;
    let after = rest.split("\" in ").nth(1)?;
    go_duration(after.split_whitespace().next()?)
}

/// A Go `time.Duration` string: `1h2m3.5s`, `250ms`, `1.5µs`.
pub(crate) fn go_duration(s: &str) -> Option<Duration> {
    let mut total = 0.0;
    let mut rest = s;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let n: f64 = rest[..num_end].parse().ok()?;
        let unit_end = rest[num_end..]
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .map_or(rest.len(), |i| num_end + i);
        let scale = match &rest[num_end..unit_end] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" | "μs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        total += n * scale;
        rest = &rest[unit_end..];
    }
    Some(Duration::from_secs_f64(total))
}

fn image(t: &Transition) -> Found {
    let mut f = Found::default();
    let evs = about(t, t.new);
    let failed: Vec<&Event> = evs
        .iter()
        .copied()
        .filter(|e| {
            reason_is(e, &["Failed", "BackOff", "ErrImagePull", "ImagePullBackOff"])
                && e.message
                    .as_deref()
                    .is_some_and(|m| m.contains("image") || m.contains("pull"))
        })
        .collect();
    f.evidence.extend(
        evs.iter()
            .filter(|e| reason_is(e, &["Pulling", "Pulled"]))
            .map(|e| cite(e)),
    );
    f.evidence.extend(failed.iter().map(|e| cite(e)));
    let node = t
        .new
        .and_then(crate::model::pods::node)
        .map(|n| format!(" on node {n}"))
        .unwrap_or_default();
    if let Some(e) = failed.last() {
        f.anomaly = true;
        f.explanation = Some(format!(
            "the image cannot be pulled{node}: {}",
            one_line(e.message.as_deref().unwrap_or(""))
        ));
        return f;
    }
    f.explanation = Some(match pull(t) {
        Pull::Took(d) => format!(
            "the image was not cached{node}: the kubelet pulled it in {}",
            seconds_str(d.as_secs_f64())
        ),
        Pull::Pulling(_) => format!("the kubelet is pulling the image{node}"),
        Pull::None => format!("the image was already cached{node}"),
    });
    f
}

// ---- readiness -------------------------------------------------------------------

/// What the pod's probes and `minReadySeconds` make the expected time to Ready.
/// How long a probe makes a container wait for its first success: the kubelet's
/// prober probes first after `initialDelaySeconds`, then every `periodSeconds`
/// (default 10), and needs `successThreshold` (default 1) successes in a row.
fn probe_wait_of(p: &k8s_openapi::api::core::v1::Probe) -> i32 {
    p.initial_delay_seconds.unwrap_or(0) + p.period_seconds.unwrap_or(10) * p.success_threshold.unwrap_or(1).max(1)
}

fn probe_budget(pod: Option<&Pod>, min_ready: i32) -> (Duration, Vec<String>) {
    let mut secs = 0;
    let mut why = Vec::new();
    for c in pod.and_then(|p| p.spec.as_ref()).map_or(&[][..], |s| &s.containers) {
        let startup = c.startup_probe.as_ref().map_or(0, probe_wait_of);
        let ready = c.readiness_probe.as_ref().map_or(0, probe_wait_of);
        for (kind, p) in [
            ("startupProbe", &c.startup_probe),
            ("readinessProbe", &c.readiness_probe),
        ] {
            if let Some(p) = p.as_ref() {
                why.push(format!(
                    "container {} {kind} initialDelaySeconds {}, periodSeconds {}",
                    c.name,
                    p.initial_delay_seconds.unwrap_or(0),
                    p.period_seconds.unwrap_or(10)
                ));
            }
        }
        secs = secs.max(startup + ready);
    }
    if min_ready > 0 {
        why.push(format!("minReadySeconds {min_ready}"));
    }
    let total = u64::try_from(secs + min_ready.max(0)).unwrap_or(0);
    (Duration::from_secs(total) + PhaseName::Readiness.default_budget(), why)
}

fn readiness(t: &Transition, seconds: Duration) -> Found {
    let (budget, why) = probe_budget(t.new, t.min_ready_seconds);
    let mut f = Found {
        budget: Some(budget),
        ..Found::default()
    };
    let pod_ref = format!("pod/{}", t.new.and_then(|p| p.metadata.name.as_deref()).unwrap_or(""));
    let statuses = t
        .new
        .and_then(|p| p.status.as_ref())
        .and_then(|s| s.container_statuses.as_deref())
        .unwrap_or_default();
    if let Some(s) = statuses.iter().find_map(|c| container_stuck(c, &pod_ref)) {
        f.anomaly = true;
        f.evidence.push(s.message.clone());
        let log = t.crash_log.as_deref().unwrap_or("");
        f.explanation = Some(format!("{}{log}", s.message));
        return f;
    }
    let unhealthy: Vec<&Event> = about(t, t.new)
        .into_iter()
        .filter(|e| reason_is(e, &["Unhealthy"]))
        .collect();
    f.evidence.extend(unhealthy.iter().map(|e| cite(e)));
    f.evidence.extend(why.iter().cloned());
    if let Some(e) = unhealthy.last() {
        f.anomaly = seconds > budget;
        f.explanation = Some(format!(
            "probe failing: {}",
            one_line(e.message.as_deref().unwrap_or(""))
        ));
    } else if !why.is_empty() {
        f.explanation = Some(format!("expected: {}", why.join(", ")));
    } else {
        f.explanation = Some(format!(
            "Ready {} after its containers started",
            seconds_str(seconds.as_secs_f64())
        ));
    }
    f
}
