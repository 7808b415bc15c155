//! `kubectl sts rollout`, `rollout history` and `restart` end to end against sts-sim:
//! the built binary, the sim's StatefulSet controller, the cluster state and the
//! request log afterwards. Pods are slowed down (sim delays) so the tracer, started
//! after the template change as a user would, sees the rollout live.

use std::time::Duration;

use crate::support::*;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use kube::runtime::wait::await_condition;
use serde_json::{Value, json};

const NS: &str = "default";

/// The seed manifest with `replicas` and extra spec lines.
fn manifest(replicas: i32, extra_spec: &str) -> String {
    SEED_MANIFEST.replace("  replicas: 2\n", &format!("  replicas: {replicas}\n{extra_spec}"))
}

/// A sim whose pods take a while to go away and to get Ready.
async fn slow_sim(ms: u64) -> Sim {
    sim_with(|c| {
        c.termination_delay = Duration::from_millis(ms);
        c.pod_ready_delay = Duration::from_millis(ms);
    })
    .await
}

async fn create(sim: &Sim, replicas: i32, extra_spec: &str) -> kube::Client {
    let client = sim.client();
    apply(&client, NS, &manifest(replicas, extra_spec)).await;
    wait_sts(&client, NS, "web", settled()).await;
    client
}

fn sts_api(client: &kube::Client) -> Api<StatefulSet> {
    Api::namespaced(client.clone(), NS)
}

/// Change the template (a strategic-merge patch of `spec`), as `kubectl set image` would.
async fn patch_spec(client: &kube::Client, spec: Value) {
    sts_api(client)
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Strategic(json!({ "spec": spec })),
        )
        .await
        .expect("patch statefulset");
}

async fn set_image(client: &kube::Client, image: &str) {
    patch_spec(
        client,
        json!({"template": {"spec": {"containers": [{"name": "nginx", "image": image}]}}}),
    )
    .await;
}

fn ordinal(report: &Value, o: i64) -> &Value {
    report["ordinals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["ordinal"] == o)
        .unwrap_or_else(|| panic!("ordinal {o} in {report}"))
}

fn ts(v: &Value) -> jiff::Timestamp {
    v.as_str()
        .unwrap_or_else(|| panic!("a timestamp, got {v}"))
        .parse()
        .unwrap()
}

fn events(report: &Value, event: &str) -> Vec<i64> {
    report["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == event)
        .filter_map(|e| e["ordinal"].as_i64())
        .collect()
}

async fn pod_revision(client: &kube::Client, name: &str) -> String {
    let p = Api::<Pod>::namespaced(client.clone(), NS).get(name).await.unwrap();
    p.metadata.labels.unwrap()["controller-revision-hash"].clone()
}

/// Only watches after the start: one GET, one list of revisions, one list + watch per
/// watched kind (a resumed watch may add one).
fn assert_watch_only(sim: &Sim) -> usize {
    let reqs = sim.requests().all();
    let verbs: Vec<String> = reqs.iter().map(|r| format!("{} {}", r.verb, r.resource)).collect();
    assert!(
        reqs.iter().all(|r| matches!(r.verb.as_str(), "get" | "list" | "watch")),
        "{verbs:?}"
    );
    // The StatefulSet once; a stuck CrashLoopBackOff adds its pod and its previous log, once, at the end.
    let gets: Vec<&str> = reqs
        .iter()
        .filter(|r| r.verb == "get")
        .map(|r| r.resource.as_str())
        .collect();
    assert!(
        gets == ["statefulsets"] || gets == ["statefulsets", "pods", "pods/log"] || gets.is_empty(),
        "{verbs:?}"
    );
    assert!(reqs.iter().filter(|r| r.verb == "list").count() <= 6, "{verbs:?}");
    assert!(reqs.iter().filter(|r| r.verb == "watch").count() <= 6, "{verbs:?}");
    reqs.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_change_is_traced_high_to_low_with_durations() {
    let sim = slow_sim(400).await;
    let client = create(&sim, 3, "").await;
    set_image(&client, "nginx:1.25").await;
    sim.requests().clear();
    let out = kubectl_sts(&sim, &["rollout", "web", "--timeout", "60s", "-o", "json"]).await;
    out.assert_exit(0);
    let r = json(&out);
    assert_eq!(r["kind"], "RolloutTrace");
    assert_eq!(r["result"], "done");
    assert_watch_only(&sim);
    let update = r["spec"]["updateRevision"].as_str().unwrap().to_string();
    for o in 0..3 {
        let x = ordinal(&r, o);
        assert_eq!(x["state"], "available", "{x}");
        assert_eq!(x["revision"], update.as_str());
        assert!(x["inRollout"].as_bool().unwrap());
        assert!(x["durationSeconds"].as_f64().unwrap() > 0.0, "{x}");
        assert_eq!(pod_revision(&client, &format!("web-{o}")).await, update);
    }
    // High to low: each ordinal starts only once the one above it is Ready.
    let (o2, o1, o0) = (ordinal(&r, 2), ordinal(&r, 1), ordinal(&r, 0));
    assert!(ts(&o1["updateStartedAt"]) >= ts(&o2["newPodReadyAt"]), "{r}");
    assert!(ts(&o0["updateStartedAt"]) >= ts(&o1["newPodReadyAt"]), "{r}");
    let created = events(&r, "created");
    assert!(created.ends_with(&[1, 0]), "{created:?}");
    assert_eq!(r["maxInFlight"], 1);
    assert!(stderr(&out).contains("pod/web-1 terminating"), "{}", stderr(&out));

    // The table output draws the timeline: a bar per ordinal, highest first.
    let out = kubectl_sts(&sim, &["rollout", "web", "--no-wait"]).await;
    out.assert_exit(0);
    let text = stdout(&out);
    assert!(text.contains("ORDINAL") && text.contains("rollout done"), "{text}");
    assert!(
        text.is_ascii(),
        "no colour, no block characters without a terminal: {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partition_stops_at_the_partition_and_exits_0() {
    let sim = slow_sim(150).await;
    let client = create(
        &sim,
        4,
        "  updateStrategy:\n    type: RollingUpdate\n    rollingUpdate:\n      partition: 2\n",
    )
    .await;
    let before = pod_revision(&client, "web-0").await;
    set_image(&client, "nginx:1.25").await;
    let out = kubectl_sts(&sim, &["rollout", "web", "--timeout", "60s", "-o", "json"]).await;
    out.assert_exit(0);
    let r = json(&out);
    assert_eq!(r["result"], "done");
    assert_eq!(r["spec"]["partition"], 2);
    for o in [0, 1] {
        assert_eq!(ordinal(&r, o)["state"], "held");
        assert_eq!(
            pod_revision(&client, &format!("web-{o}")).await,
            before,
            "held pods keep the old revision"
        );
    }
    for o in [2, 3] {
        assert_eq!(ordinal(&r, o)["state"], "available");
        assert_eq!(ordinal(&r, o)["revision"], r["spec"]["updateRevision"]);
    }
    let s = sts_api(&client).get("web").await.unwrap();
    assert_ne!(
        s.status.as_ref().unwrap().current_revision,
        s.status.as_ref().unwrap().update_revision,
        "a partitioned rollout never completes in status: we must not wait for it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_delete_lists_waiting_pods_and_completes_as_they_are_deleted() {
    let sim = slow_sim(100).await;
    let client = create(&sim, 3, "  updateStrategy:\n    type: OnDelete\n").await;
    set_image(&client, "nginx:1.25").await;
    wait_sts(&client, NS, "web", |s: Option<&StatefulSet>| {
        s.and_then(|s| s.status.as_ref())
            .is_some_and(|st| st.current_revision != st.update_revision)
    })
    .await;

    // A snapshot: the pods to delete by hand, exit 0.
    let out = kubectl_sts(&sim, &["rollout", "web", "--no-wait", "-o", "json"]).await;
    out.assert_exit(0);
    let r = json(&out);
    assert_eq!(r["result"], "waitingForManualDelete");
    assert_eq!(r["waitingForManualDelete"], json!(["web-2", "web-1", "web-0"]));

    // Nobody deletes them: the wait ends at the progress deadline, naming them.
    let out = kubectl_sts(&sim, &["rollout", "web", "--progress-deadline", "1s"]).await;
    out.assert_exit(1);
    let err = one_line_error(&out);
    assert!(
        err.contains("waiting for manual deletes") && err.contains("web-2, web-1, web-0"),
        "{err}"
    );
    assert!(
        stdout(&out).contains("kubectl delete pod -n default web-2 web-1 web-0"),
        "{}",
        stdout(&out)
    );

    // Follow while someone deletes them.
    let mut r = spawn_following_stdout(
        &sim,
        &["rollout", "web", "--timeout", "60s", "--progress-deadline", "30s"],
    );
    r.wait_line("waiting-for-manual-delete pods=web-2,web-1,web-0").await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
    for p in ["web-2", "web-1", "web-0"] {
        pods.delete(p, &DeleteParams::default()).await.unwrap();
    }
    let o = r.finish().await;
    o.assert_exit(0);
    let rest = stdout(&o);
    assert!(rest.contains("statefulset/web done"), "{rest}");
    assert!(rest.contains("rollout done"), "{rest}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_looping_revision_is_stuck_with_its_cause() {
    let sim = slow_sim(100).await;
    let client = create(&sim, 3, "").await;
    patch_spec(
        &client,
        json!({"template": {"metadata": {"annotations": {"sts-sim.dev/crash-loop": "3"}},
                            "spec": {"containers": [{"name": "nginx", "image": "nginx:broken"}]}}}),
    )
    .await;
    sim.requests().clear();
    let out = kubectl_sts(&sim, &["rollout", "web", "--progress-deadline", "3s", "-o", "json"]).await;
    out.assert_exit(1);
    // Seconds of crash-looping cost no extra requests.
    assert_watch_only(&sim);
    let r = json(&out);
    assert_eq!(r["result"], "stuck");
    assert_eq!(r["stuck"]["ordinal"], 2);
    assert_eq!(r["stuck"]["reason"], "CrashLoopBackOff");
    assert!(r["stuck"]["message"].as_str().unwrap().contains("exit code 3"), "{r}");
    assert!(r["stuck"]["hint"].as_str().unwrap().contains("Forced rollback"));
    // What the bad revision changed, from the ControllerRevisions.
    assert_eq!(
        r["stuck"]["revisionChange"],
        "web-2 runs revision 2: annotation sts-sim.dev/crash-loop added, image nginx -> nginx:broken",
        "{r}"
    );
    let err = stderr(&out);
    let last = err.lines().last().unwrap();
    assert!(
        last.starts_with("error: rollout of statefulset \"web\" is stuck"),
        "{err}"
    );
    assert!(
        last.contains("web-2 (ordinal 2)")
            && last.contains("kubectl delete pod web-2")
            && last.contains("(web-2 runs revision 2: "),
        "{last}"
    );
    // Lower ordinals were never touched.
    assert_ne!(
        pod_revision(&client, "web-1").await,
        r["spec"]["updateRevision"].as_str().unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_unavailable_2_shows_two_ordinals_in_flight() {
    let sim = slow_sim(400).await;
    let client = create(
        &sim,
        4,
        "  updateStrategy:\n    type: RollingUpdate\n    rollingUpdate:\n      maxUnavailable: 2\n",
    )
    .await;
    set_image(&client, "nginx:1.25").await;
    let out = kubectl_sts(&sim, &["rollout", "web", "--timeout", "60s", "-o", "json"]).await;
    out.assert_exit(0);
    let r = json(&out);
    assert_eq!(r["spec"]["maxUnavailable"], 2);
    assert_eq!(r["maxInFlight"], 2, "{r}");
    // The two highest were updated together: their update intervals overlap.
    let (o3, o2) = (ordinal(&r, 3), ordinal(&r, 2));
    assert!(ts(&o2["updateStartedAt"]) < ts(&o3["newPodReadyAt"]), "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_ordinal_is_honoured() {
    let sim = slow_sim(200).await;
    let client = create(&sim, 2, "  ordinals:\n    start: 3\n").await;
    set_image(&client, "nginx:1.25").await;
    let out = kubectl_sts(&sim, &["rollout", "web", "--timeout", "60s", "-o", "json"]).await;
    out.assert_exit(0);
    let r = json(&out);
    let ords: Vec<i64> = r["ordinals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["ordinal"].as_i64().unwrap())
        .collect();
    assert_eq!(ords, vec![4, 3]);
    assert_eq!(ordinal(&r, 4)["pod"], "web-4");
    assert!(ts(&ordinal(&r, 3)["updateStartedAt"]) >= ts(&ordinal(&r, 4)["newPodReadyAt"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attach_mid_rollout_reconstructs_then_follows() {
    let sim = slow_sim(700).await;
    let client = create(&sim, 3, "").await;
    set_image(&client, "nginx:1.25").await;
    // Attach only once web-2 already runs the new revision and is Ready.
    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
    let s = sts_api(&client).get("web").await.unwrap();
    let _ = s;
    tokio::time::timeout(
        Duration::from_secs(30),
        await_condition(pods, "web-2", |p: Option<&Pod>| {
            p.is_some_and(|p| {
                p.metadata.labels.as_ref().unwrap()["controller-revision-hash"] != "web-9dc479bf"
                    && p.metadata.creation_timestamp.is_some()
                    && p.status
                        .as_ref()
                        .and_then(|s| s.conditions.as_ref())
                        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
                    && p.metadata.deletion_timestamp.is_none()
            })
        }),
    )
    .await
    .unwrap()
    .unwrap();
    let update = sts_api(&client)
        .get("web")
        .await
        .unwrap()
        .status
        .unwrap()
        .update_revision
        .unwrap();
    assert_eq!(
        pod_revision(&client, "web-2").await,
        update,
        "web-2 updated before we attach"
    );
    let out = kubectl_sts(&sim, &["rollout", "web", "--timeout", "60s", "-o", "json"]).await;
    out.assert_exit(0);
    let r = json(&out);
    assert_eq!(r["result"], "done");
    let o2 = ordinal(&r, 2);
    assert_eq!(o2["reconstructed"], true, "{o2}");
    assert_eq!(o2["inRollout"], true);
    assert!(
        o2["updateStartedAt"].is_string(),
        "from the controller's SuccessfulDelete event: {o2}"
    );
    assert!(o2["durationSeconds"].as_f64().is_some());
    assert_eq!(ordinal(&r, 0)["reconstructed"], false, "web-0 was followed live");
    assert!(events(&r, "created").contains(&0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_needs_yes_without_a_terminal_then_restarts_every_pod() {
    let sim = slow_sim(100).await;
    let client = create(&sim, 2, "").await;
    let before = sts_api(&client).get("web").await.unwrap();
    let uids = |ps: &[Pod]| ps.iter().map(|p| p.metadata.uid.clone().unwrap()).collect::<Vec<_>>();
    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
    let old = uids(&pods.list(&Default::default()).await.unwrap().items);

    let out = kubectl_sts(&sim, &["restart", "web"]).await;
    out.assert_exit(2);
    assert!(one_line_error(&out).contains("--yes"));
    let out = kubectl_sts(&sim, &["restart", "web", "--dry-run"]).await;
    out.assert_exit(0);
    assert!(stdout(&out).contains("kubectl.kubernetes.io/restartedAt") && stdout(&out).contains("web-1, web-0"));
    let after = sts_api(&client).get("web").await.unwrap();
    assert_eq!(after.metadata.generation, before.metadata.generation, "nothing changed");
    assert_eq!(
        after
            .spec
            .template
            .metadata
            .as_ref()
            .and_then(|m| m.annotations.clone()),
        None
    );

    let out = kubectl_sts(&sim, &["restart", "web", "--yes", "--timeout", "60s", "-o", "json"]).await;
    out.assert_exit(0);
    let r = json(&out);
    assert_eq!(r["result"], "done");
    let after = sts_api(&client).get("web").await.unwrap();
    let ann = after.spec.template.metadata.unwrap().annotations.unwrap();
    let at = &ann["kubectl.kubernetes.io/restartedAt"];
    assert_eq!(r["restart"]["restartedAt"], at.as_str());
    assert!(at.ends_with('Z') && at.len() == 20, "RFC 3339, whole seconds: {at}");
    let new = uids(&pods.list(&Default::default()).await.unwrap().items);
    assert!(new.iter().all(|u| !old.contains(u)), "every pod was recreated");
    assert_eq!(events(&r, "created"), vec![1, 0]);
    // The same request kubectl makes.
    let patches: Vec<_> = sim.requests().all().into_iter().filter(|q| q.verb == "patch").collect();
    assert_eq!(patches.len(), 1);
    assert!(
        patches[0].query.contains("fieldManager=kubectl-rollout"),
        "{:?}",
        patches[0]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn min_ready_seconds_holds_done_until_available() {
    let sim = slow_sim(100).await;
    let client = create(&sim, 2, "  minReadySeconds: 2\n").await;
    set_image(&client, "nginx:1.25").await;
    let out = kubectl_sts(&sim, &["rollout", "web", "--timeout", "60s", "-o", "json"]).await;
    out.assert_exit(0);
    let r = json(&out);
    for o in [0, 1] {
        let x = ordinal(&r, o);
        let ready = ts(&x["newPodReadyAt"]);
        let available = ts(&x["newPodAvailableAt"]);
        // The controller counts from the Ready condition's lastTransitionTime, which has
        // whole seconds: Available comes 1-2 s after Ready was observed.
        assert!(available.duration_since(ready).as_secs_f64() >= 1.0, "{x}");
    }
    // web-0 started only once web-1 was Available, and done waited for web-0.
    assert!(ts(&ordinal(&r, 0)["updateStartedAt"]) >= ts(&ordinal(&r, 1)["newPodReadyAt"]));
    assert!(ts(&r["finishedAt"]) >= ts(&ordinal(&r, 0)["newPodAvailableAt"]));
    let st = sts_api(&client).get("web").await.unwrap().status.unwrap();
    assert_eq!(st.available_replicas, Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_lists_revisions_with_images_and_change_cause() {
    let sim = sim().await;
    let client = create(&sim, 2, "").await;
    sts_api(&client)
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"kubernetes.io/change-cause": "upgrade to 1.25"}},
                                 "spec": {"template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}]}}}})),
        )
        .await
        .unwrap();
    wait_sts(&client, NS, "web", settled()).await;
    let out = kubectl_sts(&sim, &["rollout", "history", "web", "-o", "json"]).await;
    out.assert_exit(0);
    let r = json(&out);
    let revs = r["revisions"].as_array().unwrap();
    assert_eq!(revs.len(), 2, "{r}");
    assert_eq!(revs[0]["revision"], 1);
    assert_eq!(revs[0]["images"], json!(["nginx=nginx"]));
    assert_eq!(revs[0]["changeCause"], Value::Null);
    assert_eq!(revs[1]["images"], json!(["nginx=nginx:1.25"]));
    assert_eq!(revs[1]["changeCause"], "upgrade to 1.25");
    assert_eq!(revs[1]["current"], true);
    assert_eq!(revs[1]["update"], true);
    let out = kubectl_sts(&sim, &["rollout", "history", "web"]).await;
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("REVISION") && lines[0].contains("CHANGE-CAUSE"),
        "{text}"
    );
    assert!(lines[1].starts_with("1 ") && lines[1].contains("<none>"), "{text}");
    assert!(lines[2].starts_with("2 ") && lines[2].contains("upgrade to 1.25") && lines[2].contains("current"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_diff_shows_the_changed_image_between_two_revisions() {
    let sim = sim().await;
    let client = create(&sim, 2, "").await;
    for image in ["nginx:1.25", "nginx:1.26"] {
        set_image(&client, image).await;
        wait_sts(&client, NS, "web", settled()).await;
    }
    // Default: nothing in flight, so the latest revision (3) against the one before (2).
    let out = kubectl_sts(&sim, &["rollout", "history", "web", "--diff", "-o", "json"]).await;
    out.assert_exit(0);
    let r = json(&out);
    assert_eq!(r["kind"], "RevisionDiff");
    assert_eq!((r["from"].clone(), r["to"].clone()), (json!(2), json!(3)), "{r}");
    assert_eq!(
        r["changes"],
        json!([{"path": "spec.containers[nginx].image", "from": "nginx:1.25", "to": "nginx:1.26"}])
    );
    assert_eq!(r["summary"], "image nginx:1.25 -> nginx:1.26");
    // An explicit revision against the one before it, as a unified diff of the YAML.
    let out = kubectl_sts(&sim, &["rollout", "history", "web", "--diff", "2"]).await;
    out.assert_exit(0);
    let text = stdout(&out);
    assert!(
        text.starts_with("statefulset \"web\": revision 1 (web-") && text.contains("image nginx -> nginx:1.25"),
        "{text}"
    );
    assert!(text.contains("\n-  - image: nginx\n+  - image: nginx:1.25\n"), "{text}");
    assert!(
        text.contains("\n--- revision 1 (web-") && text.contains("\n+++ revision 2 (web-"),
        "{text}"
    );
    // A revision that does not exist: usage, one line naming the ones that do.
    let out = kubectl_sts(&sim, &["rollout", "history", "web", "--diff", "7"]).await;
    out.assert_exit(2);
    assert!(
        one_line_error(&out).contains("no revision 7 (it has 1, 2, 3)"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_diff_while_rolling_compares_update_with_current() {
    let sim = sim().await;
    let client = create(&sim, 2, "").await;
    // The new pods never get Ready: the rollout stays in flight (current != update).
    patch_spec(
        &client,
        json!({"template": {"metadata": {"annotations": {"sts-sim.dev/never-ready": "true"}},
                            "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}]}}}),
    )
    .await;
    wait_sts(&client, NS, "web", |s: Option<&StatefulSet>| {
        s.and_then(|s| s.status.as_ref())
            .is_some_and(|st| st.update_revision.is_some() && st.current_revision != st.update_revision)
    })
    .await;
    let out = kubectl_sts(&sim, &["rollout", "history", "web", "--diff", "-o", "json"]).await;
    out.assert_exit(0);
    let r = json(&out);
    let st = sts_api(&client).get("web").await.unwrap().status.unwrap();
    assert_eq!(r["fromName"].as_str(), st.current_revision.as_deref(), "{r}");
    assert_eq!(r["toName"].as_str(), st.update_revision.as_deref(), "{r}");
    assert_eq!(
        r["summary"], "annotation sts-sim.dev/never-ready added, image nginx -> nginx:1.25",
        "{r}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_one_line_with_exit_2() {
    let sim = sim().await;
    let out = kubectl_sts(&sim, &["rollout", "nosuch"]).await;
    out.assert_exit(2);
    assert!(one_line_error(&out).contains("statefulset \"nosuch\" not found"));
    let out = kubectl_sts(&sim, &["rollout", "history", "nosuch"]).await;
    out.assert_exit(2);
    let out = kubectl_sts(&sim, &["restart", "nosuch", "--yes"]).await;
    out.assert_exit(2);
    let out = kubectl_sts(&sim, &["rollout", "web", "--progress-deadline", "0"]).await;
    out.assert_exit(2);
}

/// Not a timed test: the requests a 50-ordinal rollout costs per minute of watching.
/// `cargo test -p kubectl-sts --test it rollout::requests_per_minute -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn requests_per_minute_for_50_ordinals() {
    let sim = slow_sim(300).await;
    let client = create(&sim, 50, "  podManagementPolicy: Parallel\n").await;
    set_image(&client, "nginx:1.25").await;
    sim.requests().clear();
    let started = std::time::Instant::now();
    let out = kubectl_sts(&sim, &["rollout", "web", "--timeout", "10m", "-o", "json"]).await;
    let secs = started.elapsed().as_secs_f64();
    out.assert_exit(0);
    let n = assert_watch_only(&sim);
    let r = json(&out);
    println!(
        "50 ordinals: rollout traced in {secs:.1}s, {n} requests ({:.1} per minute), {} events",
        n as f64 * 60.0 / secs,
        r["events"].as_array().unwrap().len()
    );
}
