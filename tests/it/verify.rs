//! `kubectl sts verify-persistence` end-to-end against the simulated cluster: real
//! exec into bubblewrap sandboxes, real PVC directories that outlive pods.

use crate::support::*;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};
use sts_sim::annotations;

const NS: &str = "default";

fn container(mounts: Value) -> Value {
    json!({"name":"app","image":"busybox","volumeMounts":mounts})
}

async fn pod(sim: &Sim, name: &str) -> Pod {
    Api::<Pod>::namespaced(sim.client(), NS).get(name).await.unwrap()
}

async fn pv_of(sim: &Sim, claim: &str) -> String {
    let pvc = Api::<PersistentVolumeClaim>::namespaced(sim.client(), NS)
        .get(claim)
        .await
        .unwrap();
    pvc.spec.unwrap().volume_name.unwrap()
}

/// No marker left in any volume of the sim.
fn assert_no_markers(sim: &Sim) {
    let left = markers(sim);
    assert!(left.is_empty(), "markers left behind: {left:?}");
}

fn uid(p: &Pod) -> String {
    p.metadata.uid.clone().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_happy_path_persists_and_is_watch_driven() {
    let sim = seeded().await;
    let before = pod(&sim, "web-1").await;
    let web0 = uid(&pod(&sim, "web-0").await);
    let pv = pv_of(&sim, "disk-ssd-web-1").await;
    // Something the app wrote must still be there after (and untouched by) the drill.
    std::fs::write(sim.ctx().runtime.volume_dir(&pv).join("app-data"), "hello").unwrap();
    sim.requests().clear();

    let o = kubectl_sts(&sim, &["verify-persistence", "web", "--yes", "-o", "json"]).await;
    let reqs = sim.requests().all();
    o.assert_exit(0);
    let r = json(&o);
    assert_eq!(r["kind"], "PersistenceVerification");
    assert_eq!(r["result"], "Persisted");
    let d = &r["pods"][0];
    // Default ordinal: the highest.
    assert_eq!(d["pod"], "web-1");
    assert_eq!(d["oldUid"], uid(&before));
    let after = pod(&sim, "web-1").await;
    assert_ne!(uid(&after), uid(&before));
    assert_eq!(d["newUid"], uid(&after));
    let m = &d["mounts"][0];
    assert_eq!(m["mountPath"], "/data");
    assert_eq!(m["pvc"], "disk-ssd-web-1");
    assert_eq!(m["pv"], pv);
    assert_eq!(m["pvAfter"], pv);
    assert_eq!(m["markerState"], "identical");
    assert_eq!(m["verdict"], "PERSISTED");
    let phases: Vec<&str> = d["milestones"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["phase"].as_str().unwrap())
        .collect();
    assert_eq!(
        phases,
        [
            "terminating",
            "gone",
            "scheduled",
            "containerCreated",
            "running",
            "ready"
        ]
    );
    assert!(d["markersRemaining"].as_array().unwrap().is_empty());
    assert_no_markers(&sim);
    assert_eq!(
        std::fs::read_to_string(sim.ctx().runtime.volume_dir(&pv).join("app-data")).unwrap(),
        "hello"
    );
    // Watch-driven: the wait is one list + watch on the pod by name; the pod is never
    // fetched with GET (no polling), whatever the sim's delays.
    let count = |verb: &str, res: &str| reqs.iter().filter(|r| r.verb == verb && r.resource == res).count();
    let pod_gets = reqs.iter().filter(|r| r.resource == "pods" && r.verb == "get").count();
    assert_eq!(pod_gets, 0, "{reqs:#?}");
    let watches: Vec<_> = reqs
        .iter()
        .filter(|r| r.verb == "watch" && r.resource == "pods")
        .collect();
    assert!(!watches.is_empty() && watches.len() <= 2, "{reqs:#?}");
    assert!(
        watches
            .iter()
            .all(|w| w.query.contains("fieldSelector=metadata.name%3Dweb-1")),
        "{watches:#?}"
    );
    // One selector list in the preflight, one list that starts the watch.
    assert_eq!(count("list", "pods"), 2, "{reqs:#?}");
    assert_eq!(count("delete", "pods"), 1);
    // Execs: write + read-back before, read + remove after.
    assert_eq!(
        reqs.iter().filter(|r| r.resource == "pods/exec").count(),
        4,
        "{reqs:#?}"
    );
    let del = reqs.iter().find(|r| r.verb == "delete").unwrap();
    assert_eq!(del.name, "web-1");
    // Only web-1 was deleted; web-0 kept its pod.
    assert_eq!(uid(&pod(&sim, "web-0").await), web0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_output_and_timing_line() {
    let sim = seeded().await;
    let o = kubectl_sts(&sim, &["verify-persistence", "web", "--ordinal", "0", "--yes"]).await;
    o.assert_exit(0);
    let out = stdout(&o);
    let header = out.lines().next().unwrap();
    for col in ["ORDINAL", "MOUNT", "PVC", "PV", "MARKER", "VERDICT"] {
        assert!(header.contains(col), "{out}");
    }
    let row = out.lines().nth(1).unwrap();
    assert!(
        row.starts_with("0 ") && row.contains("/data") && row.contains("disk-ssd-web-0"),
        "{out}"
    );
    assert!(row.contains("identical") && row.ends_with("PERSISTED"), "{out}");
    assert!(out.contains("web-0: uid ") && out.contains("readiness "), "{out}");
    // Non-TTY: timestamped phase lines on stderr.
    let err = stderr(&o);
    for phase in [
        "terminating",
        "gone",
        "scheduled",
        "container created",
        "running",
        "ready",
    ] {
        assert!(err.contains(&format!("web-0: {phase} (+")), "{phase}: {err}");
    }
    assert_no_markers(&sim);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_claim_templates_subpath_spaces_emptydir_and_start_ordinal() {
    let spec = json!({
        "containers":[container(json!([
            {"name":"data","mountPath":"/data"},
            {"name":"logs","mountPath":"/var/my logs/it's \"here\"","subPath":"app one"},
            {"name":"cache","mountPath":"/cache"}]))],
        "volumes":[{"name":"cache","emptyDir":{}}]
    });
    let sim = sim_with_settled(
        &sts_manifest("db", 2, Some(5), spec, &["data", "logs"], json!({})),
        "db",
    )
    .await;
    let o = kubectl_sts(&sim, &["verify-persistence", "db", "--yes", "-o", "json"]).await;
    o.assert_exit(0);
    let r = json(&o);
    let d = &r["pods"][0];
    // Start ordinal 5, two replicas: the highest is 6.
    assert_eq!(d["pod"], "db-6");
    let mounts = d["mounts"].as_array().unwrap();
    assert_eq!(mounts.len(), 2, "{r:#}");
    assert_eq!(mounts[0]["pvc"], "data-db-6");
    assert_eq!(mounts[1]["pvc"], "logs-db-6");
    assert_eq!(mounts[1]["subPath"], "app one");
    assert_eq!(mounts[1]["mountPath"], "/var/my logs/it's \"here\"");
    for m in mounts {
        assert_eq!(m["verdict"], "PERSISTED", "{m:#}");
    }
    let skipped = d["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0]["mountPath"], "/cache");
    assert_eq!(skipped[0]["reason"], "emptyDir: not persistent, skipped");
    // The subPath directory in the volume exists and holds no marker any more.
    let logs_pv = pv_of(&sim, "logs-db-6").await;
    assert!(sim.ctx().runtime.volume_dir(&logs_pv).join("app one").is_dir());
    assert_no_markers(&sim);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emptydir_only_container_is_bad_input() {
    let spec = json!({
        "containers":[
            container(json!([{"name":"data","mountPath":"/data"}])),
            {"name":"sidecar","image":"busybox","volumeMounts":[{"name":"cache","mountPath":"/cache"}]}],
        "volumes":[{"name":"cache","emptyDir":{}}]
    });
    let sim = sim_with_settled(&sts_manifest("side", 1, None, spec, &["data"], json!({})), "side").await;
    let before = uid(&pod(&sim, "side-0").await);
    let o = kubectl_sts(&sim, &["verify-persistence", "side", "-c", "sidecar", "--yes"]).await;
    o.assert_exit(2);
    let e = one_line_error(&o);
    assert!(
        e.contains("container \"sidecar\" of pod side-0 mounts no volume from side's volumeClaimTemplates")
            && e.contains("-c"),
        "{e}"
    );
    assert_eq!(uid(&pod(&sim, "side-0").await), before);
    // The dry run of the default container lists the emptyDir as skipped.
    let o = kubectl_sts(&sim, &["verify-persistence", "side", "--dry-run"]).await;
    o.assert_exit(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_claim_templates_is_bad_input() {
    let spec = json!({"containers":[container(json!([]))]});
    let sim = sim_with_settled(&sts_manifest("plain", 1, None, spec, &[], json!({})), "plain").await;
    let o = kubectl_sts(&sim, &["verify-persistence", "plain", "--yes"]).await;
    o.assert_exit(2);
    assert_eq!(
        one_line_error(&o),
        "error: plain has no volumeClaimTemplates: nothing persistent to verify"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_loss_fault_gives_lost_and_exit_1() {
    let spec = json!({"containers":[container(json!([{"name":"data","mountPath":"/data"}]))]});
    let ann = json!({annotations::DATA_LOSS: "true"});
    let sim = sim_with_settled(&sts_manifest("lossy", 1, None, spec, &["data"], ann), "lossy").await;
    let o = kubectl_sts(&sim, &["verify-persistence", "lossy", "--yes", "-o", "json"]).await;
    o.assert_exit(1);
    let r = json(&o);
    assert_eq!(r["result"], "Lost");
    let m = &r["pods"][0]["mounts"][0];
    assert_eq!(m["verdict"], "LOST");
    assert_eq!(m["markerState"], "missing");
    assert_eq!(m["reason"], "marker missing after recreation");
    assert_no_markers(&sim);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_shell_image_is_a_clear_error_and_nothing_is_deleted() {
    let spec = json!({"containers":[{"name":"app","image":"gcr.io/distroless/static","volumeMounts":[{"name":"data","mountPath":"/data"}]}]});
    let sim = sim_with_settled(&sts_manifest("dl", 1, None, spec, &["data"], json!({})), "dl").await;
    let before = uid(&pod(&sim, "dl-0").await);
    let o = kubectl_sts(&sim, &["verify-persistence", "dl", "--yes"]).await;
    o.assert_exit(2);
    let e = stderr(&o);
    assert!(
        e.contains("container \"app\" in pod dl-0 has no shell") && e.contains("-c CONTAINER"),
        "{e}"
    );
    assert!(e.contains("nothing was deleted"), "{e}");
    assert_eq!(sim.requests().count("delete", "pods"), 0);
    assert_eq!(uid(&pod(&sim, "dl-0").await), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_failure_after_marking_reports_and_keeps_pod() {
    let spec = json!({"containers":[container(json!([{"name":"data","mountPath":"/data"}]))]});
    // The first exec (the marker write) works; the read-back fails.
    let ann = json!({annotations::EXEC_FAIL: "after-1"});
    let sim = sim_with_settled(&sts_manifest("flaky", 1, None, spec, &["data"], ann), "flaky").await;
    let before = uid(&pod(&sim, "flaky-0").await);
    let o = kubectl_sts(&sim, &["verify-persistence", "flaky", "--yes"]).await;
    o.assert_exit(3);
    let e = stderr(&o);
    assert!(e.contains("exec into container \"app\" of pod flaky-0 failed"), "{e}");
    assert!(e.contains("nothing was deleted"), "{e}");
    // The cleanup could not exec either: the message names the file left behind.
    assert!(
        e.contains("marker files remain") && e.contains("on PVC data-flaky-0"),
        "{e}"
    );
    assert_eq!(uid(&pod(&sim, "flaky-0").await), before);
    assert_eq!(sim.requests().count("delete", "pods"), 0);
    let pv = pv_of(&sim, "data-flaky-0").await;
    assert_eq!(markers_under(&sim.ctx().runtime.volume_dir(&pv)).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_always_failing_is_api_error() {
    let spec = json!({"containers":[container(json!([{"name":"data","mountPath":"/data"}]))]});
    let ann = json!({annotations::EXEC_FAIL: "always"});
    let sim = sim_with_settled(&sts_manifest("broken", 1, None, spec, &["data"], ann), "broken").await;
    let o = kubectl_sts(&sim, &["verify-persistence", "broken", "--yes"]).await;
    o.assert_exit(3);
    assert_eq!(sim.requests().count("delete", "pods"), 0);
    assert_no_markers(&sim);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_ready_replacement_times_out_with_state() {
    let sim = seeded().await;
    // From now on, new web pods never become Ready.
    let sts: Api<k8s_openapi::api::apps::v1::StatefulSet> = Api::namespaced(sim.client(), NS);
    let before = uid(&pod(&sim, "web-1").await);
    // Put the fault on the pod itself... the replacement is created from the template,
    // so patch the template with OnDelete (no rollout of the running pods).
    sts.patch(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec":{"updateStrategy":{"type":"OnDelete"}}})),
    )
    .await
    .unwrap();
    wait_sts(&sim.client(), NS, "web", settled()).await;
    sts.patch(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec":{"template":{"metadata":{"annotations":{annotations::NEVER_READY:"true"}}}}})),
    )
    .await
    .unwrap();
    // OnDelete with stale pods refuses without --force.
    let o = kubectl_sts(&sim, &["verify-persistence", "web", "--yes", "--timeout", "2s"]).await;
    o.assert_exit(1);
    assert!(stderr(&o).contains("--force"), "{}", stderr(&o));
    assert_eq!(uid(&pod(&sim, "web-1").await), before);

    let o = kubectl_sts(
        &sim,
        &[
            "verify-persistence",
            "web",
            "--yes",
            "--force",
            "--timeout",
            "2s",
            "-o",
            "json",
        ],
    )
    .await;
    o.assert_exit(4);
    let e = stderr(&o);
    assert!(e.contains("timed out after 2s waiting for pod web-1"), "{e}");
    assert!(e.contains("is Running, not Ready"), "{e}");
    let r = json(&o);
    assert_eq!(r["result"], "TimedOut");
    let phases: Vec<&str> = r["pods"][0]["milestones"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["phase"].as_str().unwrap())
        .collect();
    assert_eq!(phases.last(), Some(&"running"), "{r:#}");
    // The new pod could run commands: its markers were removed.
    assert_no_markers(&sim);
}

/// A finished staged rollout (partition 2 of 3: roll-2 is the canary, roll-0 and roll-1
/// stay at currentRevision for good). The controller recreates an ordinal below the
/// partition at currentRevision (newVersionedStatefulSetPod), so verifying roll-0 changes
/// nothing it runs: allowed, and the plan says which revision it comes back at.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn below_the_partition_of_a_staged_rollout_is_verified_at_its_own_revision() {
    let spec = json!({"containers":[container(json!([{"name":"data","mountPath":"/data"}]))]});
    let sim = sim_with_settled(&sts_manifest("roll", 3, None, spec, &["data"], json!({})), "roll").await;
    let sts: Api<k8s_openapi::api::apps::v1::StatefulSet> = Api::namespaced(sim.client(), NS);
    sts.patch(
        "roll",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec":{"updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"partition":2}},
            "template":{"spec":{"containers":[{"name":"app","image":"busybox:2","volumeMounts":[{"name":"data","mountPath":"/data"}]}]}}}})),
    )
    .await
    .unwrap();
    // The canary is rolled and Ready; the lower ordinals keep the current revision.
    wait_sts(
        &sim.client(),
        NS,
        "roll",
        |s: Option<&k8s_openapi::api::apps::v1::StatefulSet>| {
            s.and_then(|s| s.status.as_ref()).is_some_and(|st| {
                st.current_revision != st.update_revision
                    && st.updated_replicas == Some(1)
                    && st.ready_replicas == Some(3)
            })
        },
    )
    .await;
    let st = sts.get("roll").await.unwrap().status.unwrap();
    let (current, update) = (st.current_revision.unwrap(), st.update_revision.unwrap());
    let revision = |p: &Pod| p.metadata.labels.as_ref().unwrap()["controller-revision-hash"].clone();
    assert_eq!(revision(&pod(&sim, "roll-0").await), current);

    let o = kubectl_sts(&sim, &["verify-persistence", "roll", "--ordinal", "0", "--dry-run"]).await;
    o.assert_exit(0);
    assert!(
        stdout(&o).contains(&format!("which comes back at its own revision {current}")),
        "{}",
        stdout(&o)
    );
    let before = uid(&pod(&sim, "roll-0").await);
    let o = kubectl_sts(
        &sim,
        &["verify-persistence", "roll", "--ordinal", "0", "--yes", "-o", "json"],
    )
    .await;
    o.assert_exit(0);
    let r = json(&o);
    assert_eq!(r["result"], "Persisted");
    assert_eq!(r["pods"][0]["revision"], current.as_str());
    assert_eq!(r["pods"][0]["recreatedAtRevision"], current.as_str());
    let after = pod(&sim, "roll-0").await;
    assert_ne!(uid(&after), before);
    assert_eq!(revision(&after), current, "roll-0 came back at another revision");
    // The canary, at or above the partition, runs and comes back at the update revision.
    let o = kubectl_sts(&sim, &["verify-persistence", "roll", "--ordinal", "2", "--dry-run"]).await;
    o.assert_exit(0);
    assert!(
        stdout(&o).contains(&format!("comes back at its own revision {update}")),
        "{}",
        stdout(&o)
    );
    assert_no_markers(&sim);
}

/// Where deleting the pod would change what it runs (OnDelete with a new template: the
/// controller recreates it at the update revision), verify refuses and names both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_when_the_pod_would_come_back_at_another_revision() {
    let spec = json!({"containers":[container(json!([{"name":"data","mountPath":"/data"}]))]});
    let sim = sim_with_settled(&sts_manifest("roll", 2, None, spec, &["data"], json!({})), "roll").await;
    let sts: Api<k8s_openapi::api::apps::v1::StatefulSet> = Api::namespaced(sim.client(), NS);
    sts.patch(
        "roll",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec":{"updateStrategy":{"type":"OnDelete","rollingUpdate":null},
            "template":{"spec":{"containers":[{"name":"app","image":"busybox:2","volumeMounts":[{"name":"data","mountPath":"/data"}]}]}}}})),
    )
    .await
    .unwrap();
    wait_sts(
        &sim.client(),
        NS,
        "roll",
        |s: Option<&k8s_openapi::api::apps::v1::StatefulSet>| {
            s.and_then(|s| s.status.as_ref())
                .is_some_and(|st| st.update_revision.is_some() && st.current_revision != st.update_revision)
        },
    )
    .await;
    let update = sts.get("roll").await.unwrap().status.unwrap().update_revision.unwrap();
    let before = uid(&pod(&sim, "roll-1").await);
    let o = kubectl_sts(&sim, &["verify-persistence", "roll", "--yes"]).await;
    o.assert_exit(1);
    let e = one_line_error(&o);
    assert!(e.contains("refusing to delete roll-1"), "{e}");
    assert!(
        e.contains(&format!("recreate it at revision {update}")) && e.contains("OnDelete"),
        "{e}"
    );
    assert!(e.contains("--force"), "{e}");
    assert_eq!(uid(&pod(&sim, "roll-1").await), before);
    assert!(sim.requests().for_resource("pods/exec").is_empty());
    assert_no_markers(&sim);
}

/// web-`n` stops being ready: report Ready=False on its status, as the kubelet would
/// when its readiness probe starts failing.
async fn make_unready(sim: &Sim, name: &str) {
    let pods: Api<Pod> = Api::namespaced(sim.client(), NS);
    let mut conds = serde_json::to_value(pod(sim, name).await.status.unwrap().conditions.unwrap()).unwrap();
    for c in conds.as_array_mut().unwrap() {
        if c["type"] == "Ready" || c["type"] == "ContainersReady" {
            c["status"] = json!("False");
            c["reason"] = json!("ContainersNotReady");
        }
    }
    pods.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"status":{"conditions":conds}})),
    )
    .await
    .unwrap();
    wait_sts(
        &sim.client(),
        NS,
        "web",
        |s: Option<&k8s_openapi::api::apps::v1::StatefulSet>| {
            s.and_then(|s| s.status.as_ref())
                .is_some_and(|st| st.ready_replicas.unwrap_or(0) < 2)
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_when_a_sibling_is_not_ready_unless_forced() {
    let sim = seeded().await;
    make_unready(&sim, "web-1").await;
    let before = uid(&pod(&sim, "web-0").await);
    let o = kubectl_sts(&sim, &["verify-persistence", "web", "--ordinal", "0", "--yes"]).await;
    o.assert_exit(1);
    let e = one_line_error(&o);
    assert!(
        e.contains("not fully ready (web-1") && e.contains("quorum") && e.contains("--force"),
        "{e}"
    );
    assert_eq!(uid(&pod(&sim, "web-0").await), before);

    let o = kubectl_sts(
        &sim,
        &[
            "verify-persistence",
            "web",
            "--ordinal",
            "0",
            "--yes",
            "--force",
            "-o",
            "json",
        ],
    )
    .await;
    o.assert_exit(0);
    let r = json(&o);
    assert_eq!(r["pods"][0]["forced"], true);
    assert_eq!(r["pods"][0]["mounts"][0]["verdict"], "PERSISTED");
    assert!(stderr(&o).contains("warning: --force"), "{}", stderr(&o));
    assert_ne!(uid(&pod(&sim, "web-0").await), before);
    assert_no_markers(&sim);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ordered_ready_blocked_replacement_is_refused_even_with_force() {
    let sim = seeded().await;
    make_unready(&sim, "web-0").await;
    let before = uid(&pod(&sim, "web-1").await);
    let o = kubectl_sts(&sim, &["verify-persistence", "web", "--yes", "--force"]).await;
    o.assert_exit(1);
    let e = one_line_error(&o);
    assert!(
        e.contains("OrderedReady, web-1 would not be recreated until web-0 is Running and Ready"),
        "{e}"
    );
    assert_eq!(uid(&pod(&sim, "web-1").await), before);
    assert!(sim.requests().for_resource("pods/exec").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evict_blocked_by_pdb() {
    let sim = seeded().await;
    let pdb = r#"{"apiVersion":"policy/v1","kind":"PodDisruptionBudget","metadata":{"name":"web-pdb"},
        "spec":{"minAvailable":2,"selector":{"matchLabels":{"app":"nginx"}}}}"#;
    apply(&sim.client(), NS, pdb).await;
    let before = uid(&pod(&sim, "web-1").await);
    let o = kubectl_sts(&sim, &["verify-persistence", "web", "--evict", "--yes"]).await;
    o.assert_exit(1);
    let e = stderr(&o);
    assert!(
        e.contains("refused by a PodDisruptionBudget (429)") && e.contains("nothing was deleted"),
        "{e}"
    );
    assert_eq!(uid(&pod(&sim, "web-1").await), before);
    assert_no_markers(&sim);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evict_allowed_by_pdb_persists() {
    let sim = seeded().await;
    let pdb = r#"{"apiVersion":"policy/v1","kind":"PodDisruptionBudget","metadata":{"name":"web-pdb"},
        "spec":{"maxUnavailable":1,"selector":{"matchLabels":{"app":"nginx"}}}}"#;
    apply(&sim.client(), NS, pdb).await;
    let o = kubectl_sts(&sim, &["verify-persistence", "web", "--evict", "--yes", "-o", "json"]).await;
    o.assert_exit(0);
    assert_eq!(json(&o)["deletion"], "evict");
    assert_eq!(sim.requests().count("create", "pods/eviction"), 1);
    assert_eq!(sim.requests().count("delete", "pods"), 0);
    assert_no_markers(&sim);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_tty_without_yes_refuses_and_dry_run_changes_nothing() {
    let sim = seeded().await;
    let before = uid(&pod(&sim, "web-1").await);
    sim.requests().clear();
    let o = kubectl_sts(&sim, &["verify-persistence", "web"]).await;
    o.assert_exit(2);
    let e = one_line_error(&o);
    assert!(e.contains("delete pod web-1") && e.contains("--yes"), "{e}");
    assert!(
        e.contains("namespace \"default\"") && e.contains("context \"sts-sim\""),
        "{e}"
    );

    let o = kubectl_sts(&sim, &["verify-persistence", "web", "--dry-run", "-o", "json"]).await;
    o.assert_exit(0);
    let r = json(&o);
    assert_eq!(r["result"], "Planned");
    assert_eq!(r["dryRun"], true);
    assert_eq!(r["pods"][0]["mounts"][0]["pvc"], "disk-ssd-web-1");
    let o = kubectl_sts(&sim, &["verify-persistence", "web", "--dry-run"]).await;
    assert!(stdout(&o).contains("nothing was changed"), "{}", stdout(&o));

    // Nothing written, nothing deleted, no exec at all (permission reviews are
    // questions: the API server stores nothing).
    assert_eq!(uid(&pod(&sim, "web-1").await), before);
    let writes: Vec<_> = sim
        .requests()
        .all()
        .into_iter()
        .filter(|r| !matches!(r.verb.as_str(), "get" | "list" | "watch") && r.resource != "selfsubjectaccessreviews")
        .collect();
    assert!(writes.is_empty(), "{writes:#?}");
    assert_no_markers(&sim);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_ordinals_highest_first() {
    let sim = seeded().await;
    let o = kubectl_sts(&sim, &["verify-persistence", "web", "--all", "--yes", "-o", "json"]).await;
    o.assert_exit(0);
    let r = json(&o);
    let names: Vec<&str> = r["pods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["pod"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["web-1", "web-0"]);
    assert_eq!(sim.requests().count("delete", "pods"), 2);
    assert_no_markers(&sim);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_ordinal_and_missing_sts() {
    let sim = seeded().await;
    let o = kubectl_sts(&sim, &["verify-persistence", "web", "--ordinal", "7", "--yes"]).await;
    o.assert_exit(2);
    assert!(one_line_error(&o).contains("ordinal 7 is outside web's ordinals [0, 2)"));
    let o = kubectl_sts(&sim, &["verify-persistence", "nosuch", "--yes"]).await;
    o.assert_exit(2);
    assert!(one_line_error(&o).contains("statefulset \"nosuch\" not found"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_mount_is_reported_and_keep_marker_keeps_it() {
    let spec = json!({"containers":[container(json!([
        {"name":"data","mountPath":"/data"},
        {"name":"conf","mountPath":"/conf","readOnly":true}]))]});
    let sim = sim_with_settled(&sts_manifest("ro", 1, None, spec, &["data", "conf"], json!({})), "ro").await;
    let o = kubectl_sts(
        &sim,
        &["verify-persistence", "ro", "--yes", "--keep-marker", "-o", "json"],
    )
    .await;
    o.assert_exit(0);
    assert!(
        stderr(&o).contains("warning: /conf (conf-ro-0) is mounted read-only"),
        "{}",
        stderr(&o)
    );
    let r = json(&o);
    let mounts = r["pods"][0]["mounts"].as_array().unwrap();
    assert_eq!(mounts[0]["verdict"], "PERSISTED");
    assert_eq!(mounts[1]["readOnly"], true);
    assert_eq!(mounts[1]["verdict"], Value::Null);
    assert_eq!(mounts[1]["markerState"], "notWritten");
    // --keep-marker: the marker stays, and the report says exactly where.
    let left = r["pods"][0]["markersRemaining"].as_array().unwrap();
    assert_eq!(left.len(), 1, "{r:#}");
    assert_eq!(left[0]["pvc"], "data-ro-0");
    let pv = pv_of(&sim, "data-ro-0").await;
    let on_disk = markers_under(&sim.ctx().runtime.volume_dir(&pv));
    assert_eq!(on_disk.len(), 1);
    assert_eq!(
        on_disk[0].file_name().unwrap().to_string_lossy(),
        left[0]["pathInVolume"].as_str().unwrap()
    );
    // Its content is the nonce that was verified: 32 hex digits.
    let content = std::fs::read_to_string(&on_disk[0]).unwrap();
    assert!(
        content.len() == 32 && content.bytes().all(|b| b.is_ascii_hexdigit()),
        "{content}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_while_waiting_stops_and_states_what_is_left() {
    let sim = seeded().await;
    let sts: Api<k8s_openapi::api::apps::v1::StatefulSet> = Api::namespaced(sim.client(), NS);
    // Replacement pods take a minute to start: OnDelete so the running ones stay.
    sts.patch(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec":{"updateStrategy":{"type":"OnDelete"}}})),
    )
    .await
    .unwrap();
    wait_sts(&sim.client(), NS, "web", settled()).await;
    sts.patch(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec":{"template":{"metadata":{"annotations":{annotations::START_DELAY:"60s"}}}}})),
    )
    .await
    .unwrap();
    let mut r = spawn(&sim, &["verify-persistence", "web", "--all", "--yes", "--force"]);
    // Synchronise on the command's own output: the pod is gone, the wait has begun.
    r.wait_line("web-1: gone").await;
    r.sigint();
    let o = r.finish().await;
    o.assert_exit(130);
    let rest = stderr(&o);
    assert!(
        rest.contains("interrupted while waiting for web-1: nothing more was deleted"),
        "{rest}"
    );
    // The new pod is not running: the marker cannot be removed, and the message says where it is.
    assert!(
        rest.contains("marker files remain: .kubectl-sts-marker-") && rest.contains("on PVC disk-ssd-web-1"),
        "{rest}"
    );
    let pv = pv_of(&sim, "disk-ssd-web-1").await;
    assert_eq!(markers_under(&sim.ctx().runtime.volume_dir(&pv)).len(), 1);
    // --all stopped: web-0 was never touched.
    let deletes: Vec<_> = sim
        .requests()
        .all()
        .into_iter()
        .filter(|r| r.verb == "delete")
        .collect();
    assert_eq!(deletes.len(), 1, "{deletes:#?}");
    assert_eq!(deletes[0].name, "web-1");
}
