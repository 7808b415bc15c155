//! `rollout undo`: which revision to go back to, and which pods must be deleted for the
//! controller to replace them ("Forced rollback"). Pure, no I/O.
//!
//! Kubernetes semantics:
//! - `kubectl rollout undo statefulset/NAME [--to-revision N]` (kubectl
//!   pkg/polymorphichelpers/rollback.go, `StatefulSetRollbacker.Rollback`) finds the
//!   ControllerRevision with that number (0 = the one before the latest), skips when the
//!   StatefulSet's template already matches it, and sends the revision's `data` (a
//!   strategic-merge patch `{"spec":{"template":{..., "$patch":"replace"}}}`) as a
//!   strategic-merge patch. The controller then finds the existing revision with the
//!   same hash and makes it the update revision again (with a new number).
//! - `status.currentRevision` is the revision the controller last rolled out to every
//!   ordinal: while a rollout is in flight (or stuck) it still names the last good one.
//! - Under `OrderedReady`, the controller waits for every pod to be Running and Ready
//!   before it creates, updates or deletes anything (`updateStatefulSet` in
//!   pkg/controller/statefulset/stateful_set_control.go, its `monotonic` checks): a pod
//!   that never became Ready at the bad revision is never replaced, even after the
//!   template is reverted (kubernetes/kubernetes#67250; the StatefulSet docs' "Forced
//!   rollback": revert the template, then delete the pods it already tried to run with
//!   the bad configuration). A missing pod is recreated lowest ordinal first, at
//!   `currentRevision` below the partition and `updateRevision` at or above it
//!   (`newVersionedStatefulSetPod` in stateful_set_utils.go).
//! - `Parallel` does not wait on unhealthy pods, so reverting is enough.
//! - `OnDelete` replaces nothing by itself: every pod at a bad revision comes back at
//!   the reverted template only when deleted.

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use serde::Serialize;

use super::ordinals::pod_ordinal;
use super::pods;
use super::revisions::{RevisionRow, history};
use super::statefulset::{Facts, PodManagementPolicy, UpdateStrategy};

/// The revision to go back to, and why that one.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UndoTarget {
    pub revision: i64,
    /// The ControllerRevision's name (what pods carry in `controller-revision-hash`).
    pub name: String,
    /// The revision being undone (the update revision now).
    pub from_revision: Option<i64>,
    pub from_name: Option<String>,
    pub images: Vec<String>,
    pub why: String,
    /// The template already matches it: nothing to revert (pods may still need deleting).
    pub already_current_template: bool,
}

/// Pick the revision: `--to-revision N`, else the last one fully rolled out.
pub fn choose_target(
    sts: &StatefulSet,
    revisions: &[ControllerRevision],
    to: Option<i64>,
) -> Result<UndoTarget, String> {
    let name = sts.metadata.name.as_deref().unwrap_or("?");
    let rows = history(sts, revisions);
    let update = rows.iter().find(|r| r.update);
    let current = rows.iter().find(|r| r.current);
    let latest = rows.last();
    // The template now is the update revision once the controller has seen it; before
    // that, the newest revision is the best guess.
    let now_at = update.or(latest);
    let make = |r: &RevisionRow, why: String| UndoTarget {
        revision: r.revision,
        name: r.name.clone(),
        from_revision: now_at.map(|u| u.revision),
        from_name: now_at.map(|u| u.name.clone()),
        images: r.images.clone(),
        why,
        already_current_template: now_at.is_some_and(|u| u.name == r.name),
    };
    if let Some(n) = to {
        let Some(r) = rows.iter().find(|r| r.revision == n) else {
            let have: Vec<String> = rows.iter().map(|r| r.revision.to_string()).collect();
            return Err(format!(
                "statefulset \"{name}\" has no revision {n} (it has {}): pick one from `kubectl sts rollout history {name}`",
                if have.is_empty() {
                    "none".into()
                } else {
                    have.join(", ")
                }
            ));
        };
        return Ok(make(r, format!("revision {n} was asked for (--to-revision)")));
    }
    match (current, update) {
        (Some(c), Some(u)) if c.name != u.name => Ok(make(
            c,
            format!(
                "revision {} is status.currentRevision: the last revision the controller rolled out to every ordinal; \
                 revision {} (the update revision) never finished",
                c.revision, u.revision
            ),
        )),
        _ => {
            // Nothing in flight: every pod runs the latest revision. Go back to the one
            // before it, which was rolled out to every ordinal before the latest replaced it.
            let Some(l) = now_at else {
                return Err(format!(
                    "statefulset \"{name}\" has no ControllerRevisions: nothing to undo"
                ));
            };
            let Some(prev) = rows.iter().rev().find(|r| r.revision < l.revision) else {
                return Err(format!(
                    "statefulset \"{name}\" has only revision {}: there is no earlier revision to roll back to",
                    l.revision
                ));
            };
            Ok(make(
                prev,
                format!(
                    "no rollout is in flight (every ordinal runs revision {}); revision {} is the one before it",
                    l.revision, prev.revision
                ),
            ))
        }
    }
}

/// What the command does with one pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum PodAction {
    /// Delete it (UID precondition): the controller will not replace it by itself.
    Delete,
    /// Leave it to the controller (or to the user): see `reason`.
    Leave,
}

/// One pod of the plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodStep {
    pub ordinal: i32,
    pub pod: String,
    pub uid: String,
    pub revision: Option<String>,
    pub ready: bool,
    /// kubectl's STATUS for it (CrashLoopBackOff, ImagePullBackOff, Running, ...).
    pub status: String,
    /// How long it has not been Ready (None when Ready).
    pub not_ready_seconds: Option<f64>,
    /// Delete only after this many more seconds (when it has not been Ready for
    /// `--stuck-after` yet), unless it becomes Ready meanwhile.
    pub delete_after_seconds: Option<f64>,
    pub action: PodAction,
    pub reason: String,
}

/// The pod side of the plan, in the order the deletes are sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodPlan {
    pub steps: Vec<PodStep>,
    /// Lines for the plan: what the policy means for this undo.
    pub notes: Vec<String>,
}

impl PodPlan {
    pub fn deletes(&self) -> impl Iterator<Item = &PodStep> {
        self.steps.iter().filter(|s| s.action == PodAction::Delete)
    }
}

/// How the StatefulSet replaces pods, as read from its spec (API defaults applied).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Policy {
    start: i32,
    on_delete: bool,
    parallel: bool,
    partition: i32,
}

fn policy(sts: &StatefulSet) -> Policy {
    let f = Facts::of(sts);
    Policy {
        start: f.start_ordinal,
        on_delete: f.update_strategy == UpdateStrategy::OnDelete,
        parallel: f.pod_management_policy == PodManagementPolicy::Parallel,
        partition: f.partition,
    }
}

/// When the pod stopped being Ready (its Ready condition's last transition), else when
/// it was created.
fn not_ready_since(p: &Pod) -> Option<Timestamp> {
    let cond = p
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"));
    cond.and_then(|c| c.last_transition_time.as_ref().map(|t| t.0))
        .or_else(|| p.metadata.creation_timestamp.as_ref().map(|t| t.0))
}

/// Which of `name`'s pods must be deleted once its template is back at `good` (the
/// target revision's name). A Ready pod is never deleted; pods below the partition are
/// never touched; nothing under `Parallel`.
pub fn plan_pods(sts: &StatefulSet, pods_in: &[Pod], good: &str, now: Timestamp, stuck_after: Duration) -> PodPlan {
    let name = sts.metadata.name.as_deref().unwrap_or("?");
    let pol = policy(sts);
    let mut notes = Vec::new();
    if pol.parallel {
        notes.push(
            "podManagementPolicy is Parallel: the controller does not wait on unhealthy pods, so it replaces the \
             broken ones itself once the template is reverted; no pod is deleted"
                .to_string(),
        );
    } else if pol.on_delete {
        notes.push(
            "updateStrategy is OnDelete: the controller replaces no pod by itself; every pod at a bad revision \
             comes back at the reverted template only when deleted (stuck ones are deleted here, Ready ones are \
             left for you to delete when you choose)"
                .to_string(),
        );
    } else {
        notes.push(
            "podManagementPolicy is OrderedReady: the controller waits for every pod to be Running and Ready, so it \
             will not replace a pod that never became Ready at the bad revision; those are deleted here, and the \
             controller recreates them lowest ordinal first at the reverted template"
                .to_string(),
        );
    }
    if pol.partition > 0 && !pol.on_delete {
        notes.push(format!(
            "partition {}: ordinals below {} are recreated at the current revision and are not touched",
            pol.partition,
            pol.start + pol.partition
        ));
    }
    let mut steps: Vec<PodStep> = pods_in
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter_map(|p| {
            let pod = p.metadata.name.clone()?;
            let ordinal = pod_ordinal(name, &pod)?;
            let revision = pods::revision(p).map(str::to_string);
            if revision.as_deref() == Some(good) {
                return None;
            }
            let ready = pods::is_ready(p);
            let not_ready_seconds =
                (!ready).then(|| not_ready_since(p).map_or(0.0, |t| now.duration_since(t).as_secs_f64().max(0.0)));
            let below_partition = !pol.on_delete && ordinal < pol.start + pol.partition;
            let (action, reason) = if below_partition {
                (
                    PodAction::Leave,
                    format!(
                        "below the partition ({}): the controller keeps it at the current revision",
                        pol.start + pol.partition
                    ),
                )
            } else if ready {
                (
                    PodAction::Leave,
                    if pol.on_delete {
                        format!("Ready: never deleted by this command; `kubectl delete pod {pod}` moves it to the reverted template")
                    } else {
                        "Ready: the controller replaces it itself once the template is reverted".to_string()
                    },
                )
            } else if pol.parallel {
                (
                    PodAction::Leave,
                    "Parallel: the controller replaces it itself".to_string(),
                )
            } else if not_ready_seconds.unwrap_or(0.0) < stuck_after.as_secs_f64() {
                (
                    PodAction::Delete,
                    format!(
                        "{} at the bad revision, not Ready for {:.1}s: deleted once it has been for --stuck-after ({}), unless it becomes Ready",
                        pods::status_reason(p),
                        not_ready_seconds.unwrap_or(0.0),
                        super::duration::human_duration(stuck_after)
                    ),
                )
            } else {
                (
                    PodAction::Delete,
                    format!(
                        "{} at the bad revision for {:.0}s: the controller will not replace it",
                        pods::status_reason(p),
                        not_ready_seconds.unwrap_or(0.0)
                    ),
                )
            };
            Some(PodStep {
                ordinal,
                uid: p.metadata.uid.clone().unwrap_or_default(),
                revision,
                ready,
                status: pods::status_reason(p),
                not_ready_seconds: not_ready_seconds.map(|s| (s * 10.0).round() / 10.0),
                delete_after_seconds: (action == PodAction::Delete)
                    .then(|| stuck_after.as_secs_f64() - not_ready_seconds.unwrap_or(0.0))
                    .filter(|s| *s > 0.0)
                    .map(|s| (s * 10.0).round() / 10.0),
                action,
                reason,
                pod,
            })
        })
        .collect();
    // The controller recreates missing pods lowest ordinal first: delete in that order.
    steps.sort_by_key(|s| s.ordinal);
    PodPlan { steps, notes }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sts(extra: serde_json::Value) -> StatefulSet {
        let mut v = json!({
            "metadata": {"name": "web", "namespace": "default", "uid": "sts-uid"},
            "spec": {
                "replicas": 3, "serviceName": "nginx",
                "selector": {"matchLabels": {"app": "nginx"}},
                "template": {"metadata": {"labels": {"app": "nginx"}}, "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}},
                "podManagementPolicy": "OrderedReady",
                "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
            },
            "status": {"replicas": 3, "currentRevision": "web-good", "updateRevision": "web-bad"}
        });
        crate::model::merge_json(&mut v, extra);
        serde_json::from_value(v).unwrap()
    }

    fn rev(name: &str, n: i64, image: &str) -> ControllerRevision {
        serde_json::from_value(json!({
            "metadata": {"name": name, "labels": {"controller.kubernetes.io/hash": name.trim_start_matches("web-")},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "uid": "sts-uid", "controller": true}]},
            "revision": n,
            "data": {"spec": {"template": {"$patch": "replace", "spec": {"containers": [{"name": "nginx", "image": image}]}}}}
        }))
        .unwrap()
    }

    fn pod(ordinal: i32, revision: &str, ready: bool, status: &str, since: &str) -> Pod {
        let waiting = if status == "Running" {
            json!({"running": {"startedAt": since}})
        } else {
            json!({"waiting": {"reason": status}})
        };
        serde_json::from_value(json!({
            "metadata": {"name": format!("web-{ordinal}"), "uid": format!("uid-{ordinal}"),
                "labels": {"app": "nginx", "controller-revision-hash": revision},
                "creationTimestamp": since},
            "status": {"phase": "Running",
                "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}, "lastTransitionTime": since}],
                "containerStatuses": [{"name": "nginx", "image": "nginx", "imageID": "", "ready": ready, "restartCount": 3, "state": waiting}]}
        }))
        .unwrap()
    }

    fn now() -> Timestamp {
        "2026-12-02T10:10:00Z".parse().unwrap()
    }

    const LONG_AGO: &str = "2026-12-02T10:00:00Z";
    const JUST_NOW: &str = "2026-12-02T10:09:50Z";

    #[test]
    fn default_target_is_the_current_revision_of_a_stuck_rollout() {
        let revs = [
            rev("web-good", 2, "nginx:1.25"),
            rev("web-bad", 3, "nginx:broken"),
            rev("web-old", 1, "nginx:1.24"),
        ];
        let t = choose_target(&sts(json!({})), &revs, None).unwrap();
        assert_eq!((t.revision, t.name.as_str()), (2, "web-good"));
        assert_eq!(t.from_revision, Some(3));
        assert_eq!(t.images, vec!["nginx=nginx:1.25"]);
        assert!(
            t.why.contains("status.currentRevision") && t.why.contains("revision 3"),
            "{}",
            t.why
        );
        assert!(!t.already_current_template);
    }

    #[test]
    fn settled_statefulset_goes_back_one_and_says_why() {
        let s = sts(json!({"status": {"currentRevision": "web-bad", "updateRevision": "web-bad"}}));
        let revs = [rev("web-good", 2, "a"), rev("web-bad", 3, "b")];
        let t = choose_target(&s, &revs, None).unwrap();
        assert_eq!(t.revision, 2);
        assert!(t.why.contains("no rollout is in flight"), "{}", t.why);
        let only = [rev("web-bad", 3, "b")];
        let e = choose_target(&s, &only, None).unwrap_err();
        assert!(e.contains("only revision 3"), "{e}");
    }

    #[test]
    fn to_revision_must_exist() {
        let revs = [rev("web-good", 2, "a"), rev("web-bad", 3, "b")];
        let e = choose_target(&sts(json!({})), &revs, Some(9)).unwrap_err();
        assert!(
            e.contains("no revision 9 (it has 2, 3)") && e.contains("rollout history web"),
            "{e}"
        );
        let t = choose_target(&sts(json!({})), &revs, Some(3)).unwrap();
        assert!(t.already_current_template);
    }

    #[test]
    fn ordered_ready_deletes_only_stuck_pods_lowest_first() {
        let pods = [
            pod(0, "web-good", true, "Running", LONG_AGO),
            pod(2, "web-bad", false, "CrashLoopBackOff", LONG_AGO),
            pod(1, "web-bad", false, "CrashLoopBackOff", LONG_AGO),
        ];
        let plan = plan_pods(&sts(json!({})), &pods, "web-good", now(), Duration::from_secs(30));
        let deletes: Vec<&str> = plan.deletes().map(|s| s.pod.as_str()).collect();
        assert_eq!(deletes, ["web-1", "web-2"]);
        assert!(
            plan.steps[0]
                .reason
                .contains("CrashLoopBackOff at the bad revision for 600s"),
            "{:?}",
            plan.steps[0]
        );
        assert_eq!(plan.steps[0].delete_after_seconds, None);
        assert!(plan.notes[0].contains("OrderedReady"));
    }

    #[test]
    fn never_a_ready_pod_nor_one_below_the_partition_nor_a_young_one() {
        let s = sts(json!({"spec": {"updateStrategy": {"rollingUpdate": {"partition": 1}}}}));
        let pods = [
            pod(0, "web-bad", false, "CrashLoopBackOff", LONG_AGO),
            pod(1, "web-bad", true, "Running", LONG_AGO),
            pod(2, "web-bad", false, "ContainerCreating", JUST_NOW),
        ];
        let plan = plan_pods(&s, &pods, "web-good", now(), Duration::from_secs(30));
        assert!(plan.steps[0].reason.contains("below the partition"));
        assert!(plan.steps[1].reason.starts_with("Ready"));
        // Not stuck for long enough yet: deleted only once it has been, 20 s from now.
        let deletes: Vec<&PodStep> = plan.deletes().collect();
        assert_eq!(deletes.len(), 1, "{plan:?}");
        assert_eq!(
            (deletes[0].pod.as_str(), deletes[0].delete_after_seconds),
            ("web-2", Some(20.0))
        );
        assert!(
            deletes[0].reason.contains("once it has been for --stuck-after (30s)"),
            "{}",
            deletes[0].reason
        );
        assert!(plan.notes.iter().any(|n| n.contains("partition 1")));
    }

    #[test]
    fn parallel_deletes_nothing_and_on_delete_plans_every_bad_pod() {
        let pods = [
            pod(0, "web-bad", true, "Running", LONG_AGO),
            pod(1, "web-bad", false, "ImagePullBackOff", LONG_AGO),
        ];
        let par = plan_pods(
            &sts(json!({"spec": {"podManagementPolicy": "Parallel"}})),
            &pods,
            "web-good",
            now(),
            Duration::from_secs(30),
        );
        assert_eq!(par.deletes().count(), 0);
        assert!(par.notes[0].contains("Parallel"));
        let od = sts(json!({"spec": {"updateStrategy": {"type": "OnDelete", "rollingUpdate": null}}}));
        let plan = plan_pods(&od, &pods, "web-good", now(), Duration::from_secs(30));
        assert_eq!(plan.steps.len(), 2, "every pod at the bad revision is in the plan");
        let deletes: Vec<&str> = plan.deletes().map(|s| s.pod.as_str()).collect();
        assert_eq!(deletes, ["web-1"]);
        assert!(
            plan.steps[0].reason.contains("kubectl delete pod web-0"),
            "{}",
            plan.steps[0].reason
        );
    }
}
