//! `kubectl sts rollout undo` end to end against sts-sim: a broken rollout (a
//! crash-looping template) reverted and its stuck pods replaced, the dry run, OnDelete,
//! and Ready pods that must never be deleted.

use std::time::Duration;

use crate::support::*;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use kube::runtime::wait::await_condition;
use serde_json::{Value, json};

const NS: &str = "default";

fn manifest(replicas: i32, extra_spec: &str) -> String {
    SEED_MANIFEST.replace("  replicas: 2\n", &format!("  replicas: {replicas}\n{extra_spec}"))
}

async fn create(sim: &Sim, replicas: i32, extra_spec: &str) -> kube::Client {
    let client = sim.client();
    apply(&client, NS, &manifest(replicas, extra_spec)).await;
    wait_sts(&client, NS, "web", settled()).await;
    client
}

async fn patch_spec(client: &kube::Client, spec: Value) {
    Api::<StatefulSet>::namespaced(client.clone(), NS)
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Strategic(json!({ "spec": spec })),
        )
        .await
        .expect("patch statefulset");
}

fn crash_template() -> Value {
    json!({"template": {"metadata": {"annotations": {"sts-sim.dev/crash-loop": "3",
                                                     "sts-sim.dev/crash-message": "boom: /etc/app.conf missing"}},
                        "spec": {"containers": [{"name": "nginx", "image": "nginx:broken"}]}}})
}

async fn pod(client: &kube::Client, name: &str) -> Pod {
    Api::<Pod>::namespaced(client.clone(), NS).get(name).await.unwrap()
}

fn uid(p: &Pod) -> String {
    p.metadata.uid.clone().unwrap()
}

fn revision(p: &Pod) -> String {
    p.metadata.labels.as_ref().unwrap()["controller-revision-hash"].clone()
}

/// Wait (on a watch, bounded) until pod `name` crash-loops at a revision other than `not`.
async fn wait_crashing(client: &kube::Client, name: &str, not: &str) {
    let api: Api<Pod> = Api::namespaced(client.clone(), NS);
    let not = not.to_string();
    let cond = move |p: Option<&Pod>| {
        p.is_some_and(|p| {
            let restarted = p
                .status
                .as_ref()
                .and_then(|s| s.container_statuses.as_ref())
                .is_some_and(|cs| cs.iter().any(|c| c.restart_count >= 1));
            revision(p) != not && restarted
        })
    };
    tokio::time::timeout(Duration::from_secs(30), await_condition(api, name, cond))
        .await
        .unwrap_or_else(|_| panic!("{name} did not crash-loop within 30s"))
        .unwrap();
}

async fn good_revision(client: &kube::Client) -> String {
    let sts = Api::<StatefulSet>::namespaced(client.clone(), NS)
        .get("web")
        .await
        .unwrap();
    sts.status.unwrap().current_revision.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_rollout_is_reverted_and_its_stuck_pod_replaced() {
    let sim = sim().await;
    let client = create(&sim, 3, "").await;
    let good = good_revision(&client).await;
    let before: Vec<String> = [uid(&pod(&client, "web-0").await), uid(&pod(&client, "web-1").await)].into();
    patch_spec(&client, crash_template()).await;
    wait_crashing(&client, "web-2", &good).await;
    let stuck_uid = uid(&pod(&client, "web-2").await);

    // rollout reports it stuck, with the crashed container's last log line.
    let o = kubectl_sts(&sim, &["rollout", "web", "--progress-deadline", "2s", "-o", "json"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let r = json(&o);
    assert_eq!(r["stuck"]["reason"], "CrashLoopBackOff", "{r}");
    assert_eq!(
        r["stuck"]["lastLog"]["lines"],
        json!(["boom: /etc/app.conf missing"]),
        "{r}"
    );
    assert!(
        r["stuck"]["message"]
            .as_str()
            .unwrap()
            .contains("last log lines: \"boom: /etc/app.conf missing\""),
        "{r}"
    );
    assert!(
        r["stuck"]["hint"].as_str().unwrap().contains("no readiness probe"),
        "{r}"
    );
    assert!(stderr(&o).contains("boom: /etc/app.conf missing"), "{}", stderr(&o));

    // The dry run plans and changes nothing.
    let sts_before = Api::<StatefulSet>::namespaced(client.clone(), NS)
        .get("web")
        .await
        .unwrap();
    let o = kubectl_sts(&sim, &["rollout", "undo", "web", "--dry-run", "--stuck-after", "1s"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let plan = stdout(&o);
    assert!(plan.contains("revision 2 -> revision 1"), "{plan}");
    assert!(
        plan.contains("why revision 1: revision 1 is status.currentRevision"),
        "{plan}"
    );
    assert!(
        plan.contains("delete web-2") && plan.contains("CrashLoopBackOff"),
        "{plan}"
    );
    assert!(
        plan.contains("last log lines: \"boom: /etc/app.conf missing\""),
        "{plan}"
    );
    assert!(plan.contains("dry run: nothing was changed"), "{plan}");
    let sts_after = Api::<StatefulSet>::namespaced(client.clone(), NS)
        .get("web")
        .await
        .unwrap();
    assert_eq!(sts_after.metadata.generation, sts_before.metadata.generation);
    assert_eq!(uid(&pod(&client, "web-2").await), stuck_uid);

    sim.requests().clear();
    let o = kubectl_sts(
        &sim,
        &[
            "rollout",
            "undo",
            "web",
            "--yes",
            "--stuck-after",
            "1s",
            "--timeout",
            "60s",
            "-o",
            "json",
        ],
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
    let r = json(&o);
    assert_eq!(r["kind"], "RolloutUndo");
    assert_eq!(r["result"], "done");
    assert_eq!(r["undo"]["target"]["revision"], 1);
    assert_eq!(r["undo"]["target"]["name"], good.as_str());
    assert_eq!(r["undo"]["reverted"], true);
    assert_eq!(r["undo"]["deleted"], json!(["web-2"]));
    // Every pod Ready at the good revision; the Ready ones never deleted.
    for (i, name) in ["web-0", "web-1", "web-2"].iter().enumerate() {
        let p = pod(&client, name).await;
        assert_eq!(revision(&p), good, "{name}");
        if i < 2 {
            assert_eq!(uid(&p), before[i], "{name} was Ready and must not have been deleted");
        } else {
            assert_ne!(uid(&p), stuck_uid);
        }
    }
    wait_sts(&client, NS, "web", settled()).await;
    // One delete, with a UID precondition, and no polling: one patch, gets and watches.
    let deletes: Vec<_> = sim
        .requests()
        .all()
        .into_iter()
        .filter(|r| r.verb == "delete" && r.resource == "pods")
        .collect();
    assert_eq!(deletes.len(), 1, "{deletes:?}");
    // kubectl agrees: the update revision is the good one again.
    let o = kubectl_sts(&sim, &["rollout", "history", "web", "-o", "json"]).await;
    let h = json(&o);
    let update: Vec<&Value> = h["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["update"] == true)
        .collect();
    assert_eq!(update.len(), 1, "{h}");
    assert_eq!(update[0]["name"], good.as_str(), "{h}");
}

/// OnDelete: the controller replaces nothing; a stuck pod at the bad revision is
/// deleted, a Ready one is never deleted (it is planned and left, with the command).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_delete_deletes_the_stuck_pod_and_never_a_ready_one() {
    let sim = sim().await;
    let client = create(&sim, 3, "  updateStrategy:\n    type: OnDelete\n").await;
    let good = good_revision(&client).await;
    // Revision 2 is healthy: web-2 moves to it by hand and is Ready there.
    patch_spec(
        &client,
        json!({"template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.26"}]}}}),
    )
    .await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
    pods.delete("web-2", &DeleteParams::default()).await.unwrap();
    wait_sts(&client, NS, "web", |s: Option<&StatefulSet>| {
        s.and_then(|s| s.status.as_ref())
            .is_some_and(|st| st.ready_replicas == Some(3) && st.updated_replicas == Some(1))
    })
    .await;
    let ready_at_two = uid(&pod(&client, "web-2").await);
    // Revision 3 crash-loops: web-1 moves to it by hand and is stuck.
    patch_spec(&client, crash_template()).await;
    pods.delete("web-1", &DeleteParams::default()).await.unwrap();
    wait_crashing(&client, "web-1", &good).await;

    let o = kubectl_sts(
        &sim,
        &[
            "rollout",
            "undo",
            "web",
            "--to-revision",
            "1",
            "--yes",
            "--stuck-after",
            "1s",
            "--no-wait",
            "-o",
            "json",
        ],
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
    let r = json(&o);
    assert_eq!(r["undo"]["deleted"], json!(["web-1"]), "{r}");
    let steps = r["undo"]["plan"]["steps"].as_array().unwrap();
    let left = steps.iter().find(|s| s["pod"] == "web-2").expect("web-2 is planned");
    assert_eq!(left["action"], "leave");
    assert!(
        left["reason"].as_str().unwrap().contains("kubectl delete pod web-2"),
        "{left}"
    );
    assert!(r["undo"]["plan"]["notes"][0].as_str().unwrap().contains("OnDelete"));
    assert_eq!(
        uid(&pod(&client, "web-2").await),
        ready_at_two,
        "a Ready pod was deleted"
    );
    // web-1 comes back at the reverted template.
    let api: Api<Pod> = Api::namespaced(client.clone(), NS);
    let g = good.clone();
    tokio::time::timeout(
        Duration::from_secs(30),
        await_condition(api, "web-1", move |p: Option<&Pod>| p.is_some_and(|p| revision(p) == g)),
    )
    .await
    .expect("web-1 recreated at the good revision")
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_before_any_change() {
    let sim = sim().await;
    let client = create(&sim, 2, "").await;
    let gen_before = Api::<StatefulSet>::namespaced(client.clone(), NS)
        .get("web")
        .await
        .unwrap()
        .metadata
        .generation;
    let o = kubectl_sts(&sim, &["rollout", "undo", "web", "--to-revision", "7", "--yes"]).await;
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("has no revision 7 (it has 1)"), "{}", stderr(&o));
    let o = kubectl_sts(&sim, &["rollout", "undo", "web", "--yes"]).await;
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("only revision 1"), "{}", stderr(&o));
    let o = kubectl_sts(&sim, &["rollout", "undo", "web", "--to-revision", "0"]).await;
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = kubectl_sts(&sim, &["rollout", "undo", "web", "--to-revision", "1"]).await;
    // Not a terminal and no --yes: refused (the template already matches revision 1).
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let gen_after = Api::<StatefulSet>::namespaced(client.clone(), NS)
        .get("web")
        .await
        .unwrap()
        .metadata
        .generation;
    assert_eq!(gen_before, gen_after);
}

/// Partitions are respected: a pod below the partition is never deleted, even one stuck
/// at the bad revision (the partition was raised after the breakage: the SRE staged it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_below_the_partition_is_left_alone() {
    let sim = sim().await;
    let client = create(&sim, 3, "").await;
    let good = good_revision(&client).await;
    patch_spec(&client, crash_template()).await;
    wait_crashing(&client, "web-2", &good).await;
    patch_spec(&client, json!({"updateStrategy": {"rollingUpdate": {"partition": 3}}})).await;
    let stuck_uid = uid(&pod(&client, "web-2").await);
    let o = kubectl_sts(
        &sim,
        &[
            "rollout",
            "undo",
            "web",
            "--yes",
            "--stuck-after",
            "1s",
            "--timeout",
            "60s",
            "-o",
            "json",
        ],
    )
    .await;
    o.assert_exit(0);
    let r = json(&o);
    assert_eq!(r["undo"]["deleted"], json!([]), "{r}");
    let step = &r["undo"]["plan"]["steps"][0];
    assert_eq!(step["pod"], "web-2");
    assert_eq!(step["action"], "leave");
    assert!(
        step["reason"].as_str().unwrap().contains("below the partition (3)"),
        "{step}"
    );
    assert!(
        r["undo"]["plan"]["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("partition 3")),
        "{r}"
    );
    assert_eq!(
        uid(&pod(&client, "web-2").await),
        stuck_uid,
        "a pod below the partition was deleted"
    );
}
