//! Where the time went: verify-persistence splits each recreation into phases and
//! explains the slow or stuck ones from API evidence. Each fault below is a sim
//! annotation that makes one phase slow the way a real kubelet or controller does; the
//! control (no fault) shows that nothing is explained when nothing is slow.

use crate::support::*;
use serde_json::{Value, json};
use sts_sim::annotations;

fn one_mount(grace: Option<i64>) -> Value {
    let mut spec =
        json!({"containers":[{"name":"app","image":"busybox","volumeMounts":[{"name":"data","mountPath":"/data"}]}]});
    if let Some(g) = grace {
        spec["terminationGracePeriodSeconds"] = json!(g);
    }
    spec
}

/// A one-replica OnDelete StatefulSet `name` whose replacement pod gets `key: value`.
async fn with_fault_on_replacement(name: &str, grace: Option<i64>, fault: Option<(&str, &str)>) -> Sim {
    let sim = sim_with_settled(&on_delete_manifest(name, one_mount(grace), &["data"], json!({})), name).await;
    if let Some((k, v)) = fault {
        template_annotation(&sim, name, k, v).await;
    }
    sim
}

/// verify-persistence of the StatefulSet's one ordinal, `-o json`.
async fn verify_json(sim: &Sim, name: &str, extra: &[&str]) -> (Run, Value) {
    let mut args = vec!["verify-persistence", name, "--yes", "--force", "-o", "json"];
    args.extend_from_slice(extra);
    let o = kubectl_sts(sim, &args).await;
    let j = json(&o);
    (o, j)
}

fn phase<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["pods"][0]["phases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no phase {name} in {report:#}"))
}

fn explanation(report: &Value, name: &str) -> String {
    phase(report, name)["explanation"].as_str().unwrap_or("").to_string()
}

/// A container that ignores SIGTERM holds the pod for the whole grace period and is
/// killed at the deadline (exit 137): the terminating phase says so, with evidence, in
/// JSON and in the table; the control (SIGTERM handled) says nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ignored_is_explained_in_json_and_table() {
    let sim = with_fault_on_replacement("sig", Some(2), None).await;
    let (o, r) = verify_json(&sim, "sig", &[]).await;
    o.assert_exit(0);
    let term = phase(&r, "terminating");
    assert_eq!(term["slow"], false, "control: SIGTERM handled at once: {r:#}");
    assert!(term["explanation"].is_null(), "{r:#}");

    // The pod running now was created from the template: annotate the pod itself.
    let pods: kube::Api<k8s_openapi::api::core::v1::Pod> = kube::Api::namespaced(sim.client(), "default");
    pods.patch(
        "sig-0",
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(json!({"metadata":{"annotations":{annotations::IGNORE_SIGTERM:"true"}}})),
    )
    .await
    .unwrap();
    let o = kubectl_sts(&sim, &["verify-persistence", "sig", "--yes", "--force"]).await;
    o.assert_exit(0);
    let table = stdout(&o);
    let line = table
        .lines()
        .find(|l| l.starts_with("sig-0: terminating"))
        .unwrap_or_else(|| panic!("no terminating cause line in:\n{table}"));
    assert!(
        line.contains("container app ignored SIGTERM") && line.contains("2s grace period") && line.contains("exit 137"),
        "{line}"
    );
    let secs: f64 = line["sig-0: terminating ".len()..]
        .split('s')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(secs >= 1.9, "the whole grace period was used: {line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ignored_evidence_in_json() {
    let sim = sim_with_settled(
        &on_delete_manifest(
            "sj",
            one_mount(Some(2)),
            &["data"],
            json!({annotations::IGNORE_SIGTERM: "true"}),
        ),
        "sj",
    )
    .await;
    let (o, r) = verify_json(&sim, "sj", &[]).await;
    o.assert_exit(0);
    let term = phase(&r, "terminating");
    assert_eq!(term["slow"], true, "{r:#}");
    let ev: Vec<&str> = term["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert!(ev.iter().any(|e| e.contains("exit code 137")), "{ev:?}");
    assert!(
        ev.iter()
            .any(|e| e.contains("Killing") && e.contains("Stopping container app")),
        "{ev:?}"
    );
    assert!(
        ev.iter()
            .any(|e| e.contains("deletionTimestamp") && e.contains("2s grace")),
        "{ev:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_pull_is_the_image_phase() {
    let sim = with_fault_on_replacement("img", None, Some((annotations::IMAGE_PULL_SECONDS, "3s"))).await;
    let (o, r) = verify_json(&sim, "img", &[]).await;
    o.assert_exit(0);
    let img = phase(&r, "image");
    assert_eq!(img["slow"], true, "{r:#}");
    assert!(img["seconds"].as_f64().unwrap() >= 2.9, "{img:#}");
    assert!(
        explanation(&r, "image").contains("the kubelet pulled it in 3.0s"),
        "{r:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multi_attach_error_is_the_volumes_phase() {
    let sim = with_fault_on_replacement("ma", None, Some((annotations::MULTI_ATTACH, "3s"))).await;
    let (o, r) = verify_json(&sim, "ma", &[]).await;
    o.assert_exit(0);
    let why = explanation(&r, "volumes");
    assert!(
        why.contains("still attached to another node (Multi-Attach error"),
        "{r:#}"
    );
    assert!(phase(&r, "volumes")["seconds"].as_f64().unwrap() >= 2.5, "{r:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_mount_is_the_volumes_phase_and_a_token_flake_is_noise() {
    let sim = with_fault_on_replacement("mf", None, Some((annotations::MOUNT_FAIL, "3s"))).await;
    let (o, r) = verify_json(&sim, "mf", &[]).await;
    o.assert_exit(0);
    let why = explanation(&r, "volumes");
    assert!(
        why.starts_with("mounting the volume failed") && why.contains("MountVolume.SetUp failed"),
        "{r:#}"
    );

    let sim = with_fault_on_replacement("tf", None, Some((annotations::TOKEN_MOUNT_FLAKE, "true"))).await;
    let (o, r) = verify_json(&sim, "tf", &["--explain", "all"]).await;
    o.assert_exit(0);
    let vols = phase(&r, "volumes");
    assert_eq!(vols["slow"], false, "{r:#}");
    let ev = vols["evidence"].to_string();
    assert!(
        ev.contains("ignored (transient") && ev.contains("kube-api-access-"),
        "{r:#}"
    );
    assert!(!explanation(&r, "volumes").contains("failed"), "{r:#}");
    // --explain=all: every phase has an explanation.
    for p in r["pods"][0]["phases"].as_array().unwrap() {
        assert!(p["explanation"].is_string(), "{p:#}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_readiness_probe_is_the_stuck_phase() {
    let sim = with_fault_on_replacement("nr", None, Some((annotations::NEVER_READY, "true"))).await;
    let (o, r) = verify_json(&sim, "nr", &["--timeout", "3s"]).await;
    o.assert_exit(4);
    let ready = phase(&r, "readiness");
    assert_eq!(ready["done"], false, "{r:#}");
    assert!(
        explanation(&r, "readiness").starts_with("probe failing: Readiness probe failed"),
        "{r:#}"
    );
    let err = stderr(&o);
    assert!(
        err.contains("readiness") && err.contains("probe failing"),
        "the error names the cause: {err}"
    );
}

/// scale: an added pod whose image is pulled and a removed pod that ignores SIGTERM
/// each get their slow phase explained, in JSON and in the table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_explains_the_slow_phase_of_each_added_and_removed_pod() {
    let ann = json!({annotations::IMAGE_PULL_SECONDS: "2.5s", annotations::IGNORE_SIGTERM: "true"});
    let sim = sim_with_settled(&sts_manifest("sc", 1, None, one_mount(Some(2)), &["data"], ann), "sc").await;
    let o = kubectl_sts(&sim, &["scale", "sc", "--replicas", "2", "--yes", "-o", "json"]).await;
    o.assert_exit(0);
    let r = json(&o);
    let added = &r["ordinals"][1];
    assert_eq!(added["pod"], "sc-1", "{r:#}");
    let image = added["phases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "image")
        .unwrap();
    assert_eq!(image["slow"], true, "{r:#}");
    assert!(
        image["explanation"].as_str().unwrap().contains("pulled it in 2.5s"),
        "{r:#}"
    );
    assert_eq!(
        r["ordinals"][0]["phases"],
        json!([]),
        "unchanged ordinals have no phases: {r:#}"
    );

    let o = kubectl_sts(&sim, &["scale", "sc", "--replicas", "1", "--yes"]).await;
    o.assert_exit(0);
    let out = stdout(&o);
    let line = out
        .lines()
        .find(|l| l.starts_with("sc-1: terminating"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        line.contains("ignored SIGTERM") && line.contains("2s grace period"),
        "{line}"
    );
}

/// restart: each replaced pod's slow termination is explained (SIGTERM ignored), in
/// the table and in JSON.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_explains_each_replaced_pods_slow_phase() {
    let ann = json!({annotations::IGNORE_SIGTERM: "true"});
    let sim = sim_with_settled(&sts_manifest("rs", 2, None, one_mount(Some(2)), &["data"], ann), "rs").await;
    let o = kubectl_sts(&sim, &["restart", "rs", "--yes", "-o", "json"]).await;
    o.assert_exit(0);
    let r = json(&o);
    for ord in r["ordinals"].as_array().unwrap() {
        let term = ord["phases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "terminating");
        let term = term.unwrap_or_else(|| panic!("{ord:#}"));
        assert_eq!(term["slow"], true, "{ord:#}");
        assert!(
            term["explanation"].as_str().unwrap().contains("ignored SIGTERM"),
            "{ord:#}"
        );
    }
}

/// A rollout stuck on an image that cannot be pulled: the stuck ordinal's open phase
/// is the image, explained, and named in the table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_rollout_names_the_open_phase() {
    let sim = sim_with_settled(
        &sts_manifest("ro", 2, None, one_mount(None), &["data"], json!({})),
        "ro",
    )
    .await;
    let sts: kube::Api<k8s_openapi::api::apps::v1::StatefulSet> = kube::Api::namespaced(sim.client(), "default");
    sts.patch(
        "ro",
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(
            json!({"spec":{"template":{"metadata":{"annotations":{annotations::IMAGE_PULL_FAIL:"true"}}}}}),
        ),
    )
    .await
    .unwrap();
    let o = kubectl_sts(
        &sim,
        &["rollout", "ro", "--timeout", "20s", "--progress-deadline", "3s"],
    )
    .await;
    o.assert_failure();
    let out = stdout(&o);
    let line = out
        .lines()
        .find(|l| l.starts_with("ro-1: image"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(line.contains("so far: the image cannot be pulled"), "{line}");
}

/// OrderedReady: an ordinal waits for its predecessor to be Ready; its open `creating`
/// phase says so (the controller, not the cluster, is what it waits on).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scale_up_names_the_predecessor_an_ordinal_waits_for() {
    let sim = with_fault_on_replacement("ord", None, Some((annotations::NEVER_READY, "true"))).await;
    let o = kubectl_sts(
        &sim,
        &[
            "scale",
            "ord",
            "--replicas",
            "3",
            "--yes",
            "--timeout",
            "3s",
            "-o",
            "json",
        ],
    )
    .await;
    o.assert_exit(4);
    let r = json(&o);
    let third = r["ordinals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["pod"] == "ord-2")
        .unwrap();
    let creating = &third["phases"][0];
    assert_eq!(
        (creating["name"].as_str(), creating["done"].as_bool()),
        (Some("creating"), Some(false)),
        "{r:#}"
    );
    let why = creating["explanation"].as_str().unwrap();
    assert!(why.contains("ord-1"), "names the predecessor: {why}");
}

/// Stop the kubelet of the sim's node (`sts-sim.dev/kubelet-stopped`) and wait until
/// the node lifecycle controller has marked the node Ready=Unknown.
async fn stop_kubelet(sim: &Sim, how: &str) {
    use k8s_openapi::api::core::v1::Node;
    let nodes: kube::Api<Node> = kube::Api::all(sim.client());
    let node = sim.ctx().config.node_name.clone();
    nodes
        .patch(
            &node,
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(json!({"metadata":{"annotations":{annotations::KUBELET_STOPPED: how}}})),
        )
        .await
        .unwrap();
    let unknown = |n: Option<&Node>| {
        n.and_then(|n| n.status.as_ref()?.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "Unknown"))
    };
    let wait = kube::runtime::wait::await_condition(nodes, &node, unknown);
    tokio::time::timeout(std::time::Duration::from_secs(30), wait)
        .await
        .expect("the node turns Ready=Unknown")
        .unwrap();
}

/// A node that dies while its pod shuts down (slowly: a 30 s termination) leaves the
/// pod Terminating: the terminating phase stays open, names the NotReady node and warns
/// that a force delete would run a second pod with the same identity.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_whose_node_dies_during_its_termination_stays_terminating() {
    let slow_stop = json!({annotations::TERMINATION_DELAY: "30s"});
    let sim = sim_with_settled(&on_delete_manifest("nl", one_mount(None), &["data"], slow_stop), "nl").await;
    let run = spawn(
        &sim,
        &[
            "verify-persistence",
            "nl",
            "--yes",
            "--force",
            "-o",
            "json",
            "--timeout",
            "4s",
        ],
    );
    let store = sim.ctx().store.clone();
    let key = sts_sim::store::Key::new("pods", "default", "nl-0");
    let deleted = store.wait_for(std::time::Duration::from_secs(30), || {
        store.get(&key)?["metadata"]["deletionTimestamp"].as_str().map(|_| ())
    });
    deleted.await.expect("verify deletes nl-0");
    stop_kubelet(&sim, "true").await;
    let o = run.finish().await;
    o.assert_exit(4);
    let r = json(&o);
    let term = phase(&r, "terminating");
    assert_eq!(
        (term["done"].as_bool(), term["slow"].as_bool()),
        (Some(false), Some(true)),
        "{r:#}"
    );
    let why = explanation(&r, "terminating");
    assert!(why.contains("is NotReady (NodeStatusUnknown)"), "{r:#}");
    assert!(why.contains("same identity"), "the force-delete warning: {r:#}");
}

/// A replacement whose volume is pinned to a node or zone no node is in never
/// schedules: the open scheduling phase says so, from the FailedScheduling message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_volume_pinned_elsewhere_is_the_stuck_scheduling_phase() {
    let fault = (annotations::UNSCHEDULABLE, "volume-node-affinity");
    let sim = with_fault_on_replacement("vn", None, Some(fault)).await;
    let (o, r) = verify_json(&sim, "vn", &["--timeout", "3s"]).await;
    o.assert_exit(4);
    let sched = phase(&r, "scheduling");
    assert_eq!(sched["done"], false, "{r:#}");
    let why = explanation(&r, "scheduling");
    assert!(
        why.contains("volume node affinity conflict") && why.contains("pinned to a node or zone"),
        "{r:#}"
    );
    assert!(sched["evidence"].to_string().contains("FailedScheduling"), "{r:#}");
}

/// The replacement's container spec: one_mount's, with `probe` as its readinessProbe.
async fn replacement_container(sim: &Sim, name: &str, probe: Value) {
    let mut spec = one_mount(None);
    spec["containers"][0]["readinessProbe"] = probe;
    let sts: kube::Api<k8s_openapi::api::apps::v1::StatefulSet> = kube::Api::namespaced(sim.client(), "default");
    sts.patch(
        name,
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(json!({"spec":{"template":{"spec":{"containers": spec["containers"]}}}})),
    )
    .await
    .unwrap();
}

/// A readiness probe's initialDelaySeconds makes the readiness phase that long, as
/// the kubelet's prober does, and that is expected, not slow; the same wait without a
/// probe to account for it is slow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_readiness_probe_delay_is_an_expected_readiness_phase() {
    let sim = with_fault_on_replacement("pd", None, None).await;
    let probe = json!({"exec":{"command":["true"]},"initialDelaySeconds":3,"periodSeconds":1});
    replacement_container(&sim, "pd", probe).await;
    let (o, r) = verify_json(&sim, "pd", &["--explain", "all"]).await;
    o.assert_exit(0);
    let ready = phase(&r, "readiness");
    assert!(ready["seconds"].as_f64().unwrap() >= 2.9, "the prober waited: {r:#}");
    assert_eq!(ready["slow"], false, "{r:#}");
    assert!(
        explanation(&r, "readiness").contains("container app readinessProbe initialDelaySeconds 3"),
        "{r:#}"
    );

    // Control: as long a wait with no probe delay to explain it.
    replacement_container(&sim, "pd", Value::Null).await;
    template_annotation(&sim, "pd", annotations::READY_DELAY, "3s").await;
    let (o, r) = verify_json(&sim, "pd", &[]).await;
    o.assert_exit(0);
    let ready = phase(&r, "readiness");
    assert!(ready["seconds"].as_f64().unwrap() >= 2.9, "{r:#}");
    assert_eq!(ready["slow"], true, "{r:#}");
}
