//! Step 1 of a resize: raise each claim's storage request, then watch every claim (and
//! the resizer's Events) until its capacity is the new size.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Event, PersistentVolumeClaim, Pod};
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;

use super::Ctx;
use super::report::ClaimState;
use crate::error::{CliError, ErrorKind, Result, Target};
use crate::model::pods;
use crate::model::resize::{ClaimAction, ClaimProgress, progress};

/// How long a `FileSystemResizePending` may last on a claim whose pod runs before we
/// conclude the driver only grows filesystems offline (the kubelet grows it online on
/// its next sync of the pod, within a minute or two). At most half of `--timeout`, so
/// that a short timeout still ends with that diagnosis, not with a bare time-out.
const ONLINE_PATIENCE: Duration = Duration::from_secs(120);

/// A `VolumeResizeFailed` this many times is a failure, not a retry on the way.
const FAILED_AFTER: i32 = 3;

impl Ctx<'_> {
    /// Raise the request of each claim that needs it. A refusal stops at once: the
    /// error says which claims were raised and which not; the StatefulSet is untouched.
    pub(super) async fn patch_claims(&mut self) -> Result<()> {
        let api: Api<PersistentVolumeClaim> = Api::namespaced(self.kube.client.clone(), &self.ns);
        let todo: Vec<(String, String)> = self
            .claims
            .iter()
            .filter(|c| c.action == ClaimAction::Expand && c.state == ClaimState::Planned)
            .map(|c| (c.name.clone(), c.to.clone()))
            .collect();
        for (name, to) in todo {
            self.check_stop("before raising the request of persistentvolumeclaim ".to_string() + &name)?;
            let body = json!({"spec": {"resources": {"requests": {"storage": to}}}});
            match api.patch(&name, &PatchParams::default(), &Patch::Merge(&body)).await {
                Ok(_) => {
                    self.set_state(&name, ClaimState::Requested);
                    self.live
                        .step(&format!("pvc/{name}: requested {to}"), "waiting for the resizer");
                }
                Err(e) => return Err(self.patch_error(&name, &to, &e)),
            }
        }
        Ok(())
    }

    fn patch_error(&self, name: &str, to: &str, e: &kube::Error) -> CliError {
        let done = self.claims_in(&[ClaimState::Requested]);
        let left: Vec<String> = self
            .claims
            .iter()
            .filter(|c| c.state == ClaimState::Planned && c.action == ClaimAction::Expand)
            .map(|c| c.name.clone())
            .collect();
        let so_far = format!(
            "raised so far: {}; not raised: {}; the StatefulSet was not touched",
            if done.is_empty() {
                "none".into()
            } else {
                done.join(", ")
            },
            left.join(", ")
        );
        let why = match e {
            kube::Error::Api(s) if s.code == 403 && s.message.contains("only dynamically provisioned") => format!(
                "persistentvolumeclaim {name} cannot be resized: its volume was not dynamically provisioned or its StorageClass does not allow expansion (set allowVolumeExpansion: true if the provisioner supports it)"
            ),
            kube::Error::Api(s) if s.code == 422 && s.message.contains("less than previous value") => format!(
                "persistentvolumeclaim {name} already requests more than {to}: volumes can only grow; give a larger size"
            ),
            kube::Error::Api(s) if s.code == 403 && s.message.contains("exceeded quota") => format!(
                "persistentvolumeclaim {name} cannot grow to {to}: {} (raise the ResourceQuota or give a smaller size)",
                s.message
            ),
            other => {
                let e = self.kube.error(
                    other,
                    Target::new("patch", "persistentvolumeclaim", Some(name), Some(&self.ns)),
                );
                return CliError::new(e.kind, format!("{}; {so_far}", e.message));
            }
        };
        CliError::failed(format!("{why}; {so_far}"))
    }

    /// Watch every claim of the plan until its capacity is the new size (a leftover with
    /// no pod may stay `FileSystemResizePending`: its filesystem grows on the next
    /// mount). `--restart-pods` deletes the pod of a claim whose filesystem waits for a
    /// remount; without it the run stops and says so.
    pub(super) async fn wait_claims(&mut self) -> Result<()> {
        let api: Api<PersistentVolumeClaim> = Api::namespaced(self.kube.client.clone(), &self.ns);
        let events: Api<Event> = Api::namespaced(self.kube.client.clone(), &self.ns);
        let claims = watcher(api, watcher::Config::default())
            .default_backoff()
            .applied_objects()
            .map_ok(Seen::Claim);
        let evs = watcher(
            events,
            watcher::Config::default().fields("involvedObject.kind=PersistentVolumeClaim"),
        )
        .default_backoff()
        .map_ok(Seen::of_event);
        let mut stream = futures::stream::select(claims.boxed(), evs.boxed());
        let deadline = tokio::time::Instant::now() + self.args.timeout;
        let mut pending_since: BTreeMap<String, tokio::time::Instant> = BTreeMap::new();
        // Each Event's count when first listed: failures from before this run (an
        // earlier attempt, the run a --resume follows) are not this run's.
        let mut counted_before: BTreeMap<String, i32> = BTreeMap::new();
        loop {
            if self.claims.iter().all(|c| c.state.finished()) {
                return Ok(());
            }
            let patience = ONLINE_PATIENCE.min(self.args.timeout / 2);
            let next = tokio::select! {
                n = stream.try_next() => n,
                _ = tokio::time::sleep_until(deadline) => return Err(self.claims_timeout()),
                _ = tokio::time::sleep(Duration::from_millis(500)), if !pending_since.is_empty() => Ok(None),
                () = crate::interrupt::ctrl_c() => return Err(self.interrupted("while waiting for the claims to grow")),
            };
            match next {
                Ok(Some(Seen::Claim(c))) => self.on_claim(&c, &mut pending_since),
                Ok(Some(Seen::Listed(e))) => {
                    let name = e.metadata.name.clone().unwrap_or_default();
                    counted_before.entry(name).or_insert(e.count.unwrap_or(1));
                }
                Ok(Some(Seen::Event(e))) => self.on_event(&e, &mut counted_before)?,
                Ok(Some(Seen::Other) | None) => {}
                Err(e) => {
                    if self.kube.verbose > 0 {
                        crate::errln!("watch error (retrying): {e}");
                    }
                }
            }
            let stale: Vec<String> = pending_since
                .iter()
                .filter(|(_, t)| t.elapsed() >= patience)
                .map(|(n, _)| n.clone())
                .collect();
            for name in stale {
                pending_since.remove(&name);
                self.needs_remount(&name).await?;
            }
        }
    }

    fn on_claim(&mut self, c: &PersistentVolumeClaim, pending_since: &mut BTreeMap<String, tokio::time::Instant>) {
        let Some(name) = c.metadata.name.clone() else { return };
        let Some(plan) = self.claims.iter().find(|p| p.name == name) else {
            return;
        };
        if plan.state.finished() || plan.state == ClaimState::Planned {
            return;
        }
        let (to_bytes, leftover) = (plan.to_bytes, plan.leftover);
        let capacity = crate::model::quantity::claim_capacity(c);
        let state = match progress(c, to_bytes) {
            ClaimProgress::Done => ClaimState::Resized,
            ClaimProgress::FileSystemResizePending if leftover => ClaimState::PendingMount,
            ClaimProgress::FileSystemResizePending => {
                // Pending since the condition's own transition (a --resume after the
                // diagnosis need not wait the patience out again).
                let pod = crate::model::ordinals::pod_name(&self.name, plan.ordinal);
                let already = if self.restarted.contains(&pod) {
                    Duration::ZERO
                } else {
                    pending_for(c)
                };
                pending_since.entry(name.clone()).or_insert_with(|| {
                    let now = tokio::time::Instant::now();
                    now.checked_sub(already).unwrap_or(now)
                });
                ClaimState::FileSystemResizePending
            }
            ClaimProgress::Resizing => ClaimState::Resizing,
            ClaimProgress::Requested => ClaimState::Requested,
            ClaimProgress::Failed(m) => ClaimState::Failed(m),
        };
        if state != ClaimState::FileSystemResizePending {
            pending_since.remove(&name);
        }
        if let Some(p) = self.claims.iter_mut().find(|p| p.name == name) {
            p.capacity = capacity.clone();
            if p.state != state {
                self.live.step(
                    &format!(
                        "pvc/{name}: {}{}",
                        state.label(),
                        capacity.map(|c| format!(" (capacity {c})")).unwrap_or_default()
                    ),
                    "waiting for the claims to grow",
                );
            }
            p.state = state;
        }
    }

    /// A `VolumeResizeFailed` about a claim of the plan: `FAILED_AFTER` of them since
    /// the wait began (the Event's count beyond what it was when first listed) stop
    /// the run; fewer are retries on the way.
    fn on_event(&mut self, e: &Event, counted_before: &mut BTreeMap<String, i32>) -> Result<()> {
        // New since the watch began: a re-list must not take its count as the start.
        let before = *counted_before
            .entry(e.metadata.name.clone().unwrap_or_default())
            .or_insert(0);
        let name = e.involved_object.name.clone().unwrap_or_default();
        let Some(p) = self.claims.iter_mut().find(|p| p.name == name && !p.state.finished()) else {
            return Ok(());
        };
        if e.reason.as_deref() != Some("VolumeResizeFailed") {
            return Ok(());
        }
        let msg = crate::model::progress::stuck::one_line(e.message.as_deref().unwrap_or(""));
        let failures = e.count.unwrap_or(1) - before;
        if failures < FAILED_AFTER {
            self.live.step(
                &format!("pvc/{name}: VolumeResizeFailed (retrying): {msg}"),
                "waiting for the claims to grow",
            );
            return Ok(());
        }
        p.state = ClaimState::Failed(msg.clone());
        Err(self.stopped(
            ErrorKind::Failed,
            &format!("the resize of persistentvolumeclaim {name} failed ({failures} times VolumeResizeFailed): {msg}"),
        ))
    }

    /// A claim's filesystem waits for a remount: with `--restart-pods` delete its pod
    /// (UID precondition) and wait for the replacement to be Ready; else stop.
    async fn needs_remount(&mut self, claim: &str) -> Result<()> {
        let Some(p) = self.claims.iter().find(|c| c.name == claim) else {
            return Ok(());
        };
        let pod = crate::model::ordinals::pod_name(&self.name, p.ordinal);
        if !self.args.restart_pods {
            return Err(self.stopped(
                ErrorKind::Failed,
                &format!(
                    "persistentvolumeclaim {claim} is FileSystemResizePending while pod {pod} runs: its driver grows the filesystem only when the volume is mounted again; re-run with --resume --restart-pods to delete the pods one at a time (or delete {pod} yourself)"
                ),
            ));
        }
        self.restart_pod(&pod).await
    }

    async fn restart_pod(&mut self, pod: &str) -> Result<()> {
        let api: Api<Pod> = Api::namespaced(self.kube.client.clone(), &self.ns);
        let target = || Target::new("delete", "pod", Some(pod), Some(&self.ns));
        let current = self
            .kube
            .call(Target::new("get", "pod", Some(pod), Some(&self.ns)), api.get(pod))
            .await?;
        let uid = current.metadata.uid.clone().unwrap_or_default();
        let dp = DeleteParams {
            preconditions: Some(Preconditions {
                uid: Some(uid.clone()),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        self.kube.call(target(), api.delete(pod, &dp)).await?;
        self.restarted.push(pod.to_string());
        self.live.step(
            &format!("pod/{pod}: deleted (uid {uid}) so that it mounts the grown volume"),
            &format!("waiting for {pod} to be Ready"),
        );
        let ready = kube::runtime::wait::await_condition(api, pod, move |p: Option<&Pod>| {
            p.is_some_and(|p| p.metadata.uid.as_deref() != Some(uid.as_str()) && pods::is_ready(p))
        });
        tokio::select! {
            r = tokio::time::timeout(self.args.timeout, ready) => match r {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(e)) => Err(self.stopped(ErrorKind::Unreachable, &format!("the watch on pod {pod} failed: {e}"))),
                Err(_) => Err(self.stopped(ErrorKind::TimedOut, &format!("pod {pod} was not Ready again within {}", crate::model::duration::human_duration(self.args.timeout)))),
            },
            () = crate::interrupt::ctrl_c() => Err(self.interrupted(&format!("while waiting for {pod} to be Ready again"))),
        }
    }

    fn claims_timeout(&self) -> CliError {
        let waiting: Vec<String> = self
            .claims
            .iter()
            .filter(|c| !c.state.finished() && c.state != ClaimState::Planned)
            .map(|c| format!("{} ({})", c.name, c.state.label()))
            .collect();
        self.stopped(
            ErrorKind::TimedOut,
            &format!(
                "timed out after {} waiting for {} to grow",
                crate::model::duration::human_duration(self.args.timeout),
                waiting.join(", ")
            ),
        )
    }
}

/// How long the claim's `FileSystemResizePending` condition has been True, by its
/// `lastTransitionTime` (zero when unknown or in the future: clocks differ).
fn pending_for(c: &PersistentVolumeClaim) -> Duration {
    let since = c
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or_default()
        .iter()
        .find(|x| x.type_ == "FileSystemResizePending" && x.status == "True")
        .and_then(|x| x.last_transition_time.as_ref())
        .map(|t| t.0);
    since
        .map(|t| jiff::Timestamp::now().duration_since(t))
        .and_then(|d| Duration::try_from(d).ok())
        .unwrap_or_default()
}

enum Seen {
    Claim(PersistentVolumeClaim),
    /// An Event as it was when the watch (re-)listed.
    Listed(Event),
    /// An Event created or updated while watching.
    Event(Event),
    Other,
}

impl Seen {
    fn of_event(e: watcher::Event<Event>) -> Seen {
        match e {
            watcher::Event::InitApply(e) => Seen::Listed(e),
            watcher::Event::Apply(e) => Seen::Event(e),
            watcher::Event::Init | watcher::Event::InitDone | watcher::Event::Delete(_) => Seen::Other,
        }
    }
}
