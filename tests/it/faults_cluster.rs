//! Fault matrix, a misbehaving cluster: RBAC denials per verb, 401, the API server down
//! at start and mid-command, conflicts, throttling and server errors (retried, bounded),
//! slow answers past --request-timeout, crash-looping pods, Pending claims. Each asserts
//! the exit code, one error line naming the object and the fix, no dump, and the cluster
//! state after the run against the state before.
//! Covered elsewhere and not repeated: tests/it/scale.rs (409 on the PUT with
//! --current-replicas, dropped watches and 410 mid-scale, never-Ready pod, unknown
//! StorageClass), tests/it/verify.rs (PDB blocking eviction, never-Ready replacement,
//! data loss), tests/it/orphans.rs (PV list forbidden, one context unreachable).

use std::time::{Duration, Instant};

use crate::support::*;
use k8s_openapi::api::apps::v1::StatefulSet;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use sts_sim::annotations;

const NS: &str = "default";
const FIX_RBAC: &str = "docs/rbac.yaml";

/// The seed scaled 3 -> 2: disk-ssd-web-2 is a scaled-in leftover.
async fn seeded_with_leftover() -> Sim {
    let sim = sim().await;
    let client = sim.client();
    apply_seed(&client, NS).await;
    let sts: Api<StatefulSet> = Api::namespaced(client.clone(), NS);
    sts.patch(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec":{"replicas":3}})),
    )
    .await
    .unwrap();
    wait_sts(&client, NS, "web", settled()).await;
    sts.patch(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec":{"replicas":2}})),
    )
    .await
    .unwrap();
    wait_sts(&client, NS, "web", |s: Option<&StatefulSet>| {
        s.and_then(|s| s.status.as_ref()).is_some_and(|st| st.replicas == 2)
    })
    .await;
    wait_sts(&client, NS, "web", settled()).await;
    sim
}

fn cmd(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// Every command against the seed, as a script would run it.
fn every_command() -> Vec<Vec<String>> {
    vec![
        cmd(&["status", "web"]),
        cmd(&["status"]),
        cmd(&["scale", "web", "--replicas", "3", "--yes", "--timeout", "10s"]),
        cmd(&["verify-persistence", "web", "--yes", "--timeout", "10s"]),
        cmd(&["orphans"]),
        cmd(&["orphans", "prune", "--yes"]),
    ]
}

/// rollout, rollout history and restart, for the faults every command must survive.
fn rollout_commands() -> Vec<Vec<String>> {
    vec![
        cmd(&["rollout", "web", "--timeout", "10s"]),
        cmd(&["rollout", "history", "web"]),
        cmd(&["restart", "web", "--yes", "--timeout", "10s"]),
    ]
}

/// Run `args` under the faults already set; reset them, and check nothing changed.
async fn run_unchanged(sim: &Sim, before: &ClusterState, args: &[&str]) -> Run {
    sim.requests().clear();
    let o = kubectl_sts(sim, args).await;
    let w = writes(sim);
    sim.faults().reset();
    assert!(
        w.iter().all(|w| !w.ends_with("-> 200") && !w.ends_with("-> 201")),
        "{args:?} changed something: {w:?}"
    );
    assert_eq!(&state(sim).await, before, "{args:?}");
    o
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rbac_get_statefulset_forbidden() {
    let sim = seeded().await;
    let before = state(&sim).await;
    for args in [
        &["status", "web"][..],
        &["scale", "web", "--replicas", "3", "--yes"],
        &["verify-persistence", "web", "--yes"],
        &["rollout", "web", "--timeout", "10s"],
        &["rollout", "history", "web"],
        &["restart", "web", "--yes"],
    ] {
        sim.faults().deny("get", "statefulsets");
        let o = run_unchanged(&sim, &before, args).await;
        assert_error(
            &o,
            3,
            &[
                "forbidden: user \"sts-sim-user\" may not get statefulsets (API group apps) in namespace \"default\"",
                FIX_RBAC,
            ],
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rbac_list_forbidden_per_resource() {
    let sim = seeded_with_leftover().await;
    let before = state(&sim).await;
    let cases: &[(&str, &[&str], &str)] = &[
        ("pods", &["status", "web"], "may not list pods in namespace \"default\""),
        ("pods", &["verify-persistence", "web", "--yes"], "may not list pods"),
        (
            "pods",
            &["scale", "web", "--replicas", "3", "--yes"],
            "may not list pods",
        ),
        ("statefulsets", &["status"], "may not list statefulsets"),
        (
            "persistentvolumeclaims",
            &["orphans"],
            "may not list persistentvolumeclaims",
        ),
        (
            "persistentvolumeclaims",
            &["orphans", "prune", "--yes"],
            "may not list persistentvolumeclaims",
        ),
        (
            "persistentvolumeclaims",
            &["scale", "web", "--replicas", "3", "--yes"],
            "may not list persistentvolumeclaims",
        ),
    ];
    for (resource, args, needle) in cases {
        sim.faults().deny("list", resource);
        let o = run_unchanged(&sim, &before, args).await;
        assert_error(&o, 3, &[needle, FIX_RBAC]);
    }
}

/// The watch is forbidden after the list worked. scale: the scale was requested
/// before the watch failed, and the error says so; verify: the pod was deleted, the
/// error says so and names the marker left, and the run ends at once, not at --timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rbac_watch_forbidden() {
    let sim = seeded().await;
    sim.faults().deny("watch", "pods");
    let started = Instant::now();
    let o = kubectl_sts(&sim, &["scale", "web", "--replicas", "3", "--yes", "--timeout", "30s"]).await;
    // The 403 arrives either before the write (nothing changed) or after it (the
    // line says the scale was requested): both are told, and match the cluster.
    let line = assert_error(&o, 3, &["may not watch pods", FIX_RBAC]);
    assert!(started.elapsed() < Duration::from_secs(20), "{line}");
    let replicas = state(&sim).await.replicas["default/web"];
    if line.contains("spec.replicas is now 3") {
        assert_eq!(replicas, Some(3), "{line}");
    } else {
        assert!(line.contains("nothing was changed"), "{line}");
        assert_eq!(replicas, Some(2), "{line}");
    }
    sim.faults().reset();
    wait_sts(&sim.client(), NS, "web", settled()).await;

    let before = state(&sim).await;
    // The highest ordinal: web-2 if the scale above went through, else web-1.
    let last = format!("web-{}", before.replicas["default/web"].unwrap() - 1);
    // The preflight asks before anything changes: nothing is written or deleted.
    sim.faults().deny("watch", "pods");
    let o = run_unchanged(
        &sim,
        &before,
        &["verify-persistence", "web", "--yes", "--timeout", "30s"],
    )
    .await;
    assert_error(
        &o,
        3,
        &[
            "may not watch pods",
            FIX_RBAC,
            &format!("follow {last}'s replacement"),
            "nothing was changed",
        ],
    );
    assert_eq!(state(&sim).await, before);

    // Without reviews the watch fails only after the delete: only the highest ordinal
    // was deleted (it comes back by itself); its marker is named and left.
    sim.faults().deny("watch", "pods");
    sim.faults().deny("create", "selfsubjectaccessreviews");
    let started = Instant::now();
    let o = kubectl_sts(&sim, &["verify-persistence", "web", "--yes", "--timeout", "30s"]).await;
    sim.faults().reset();
    let line = assert_error(&o, 3, &["may not watch pods", FIX_RBAC, &last, "marker"]);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}: {line}",
        started.elapsed()
    );
    wait_sts(&sim.client(), NS, "web", settled()).await;
    let after = state(&sim).await;
    assert_ne!(
        after.pods[&format!("default/{last}")],
        before.pods[&format!("default/{last}")]
    );
    assert_eq!(after.pods["default/web-0"], before.pods["default/web-0"]);
    assert_eq!(after.pvcs, before.pvcs);
    assert_eq!(after.markers.len(), 1, "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rbac_patch_scale_forbidden() {
    let sim = seeded().await;
    let before = state(&sim).await;
    sim.faults().deny("patch", "statefulsets/scale");
    let o = run_unchanged(&sim, &before, &["scale", "web", "--replicas", "3", "--yes"]).await;
    assert_error(&o, 3, &["may not patch statefulsets/scale", FIX_RBAC]);
    sim.faults().deny("update", "statefulsets/scale");
    let o = run_unchanged(
        &sim,
        &before,
        &["scale", "web", "--replicas", "3", "--current-replicas", "2", "--yes"],
    )
    .await;
    assert_error(&o, 3, &["may not update statefulsets/scale", FIX_RBAC]);
}

/// verify-persistence under an RBAC denial, both ways: the permission preflight
/// (SelfSubjectAccessReview) refuses before anything is written or deleted; and where
/// reviews cannot be made, the denied request itself fails, the pod is untouched and
/// the markers already written are removed. Returns the two error lines.
async fn verify_denied(sim: &Sim, deny: &[(&str, &str)], extra: &[&str], needles: &[&str]) -> (String, String) {
    let before = state(sim).await;
    let mut args = vec!["verify-persistence", "web", "--yes"];
    args.extend_from_slice(extra);
    let set = || {
        for (verb, resource) in deny {
            sim.faults().deny(verb, resource);
        }
    };
    set();
    let o = run_unchanged(sim, &before, &args).await;
    let mut want = needles.to_vec();
    want.extend(["nothing was changed", "kubectl-sts-verify role"]);
    let preflight = assert_error(&o, 3, &want);
    assert!(
        !stderr(&o).contains("removing the marker"),
        "the preflight refused, yet markers were written: {}",
        stderr(&o)
    );

    set();
    sim.faults().deny("create", "selfsubjectaccessreviews");
    let o = run_unchanged(sim, &before, &args).await;
    let mut want = needles.to_vec();
    want.push("nothing was deleted");
    let fallback = assert_error(&o, 3, &want);
    assert_eq!(state(sim).await, before);
    (preflight, fallback)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rbac_delete_pod_forbidden() {
    let sim = seeded().await;
    let (preflight, _) = verify_denied(&sim, &[("delete", "pods")], &[], &["may not delete pods", FIX_RBAC]).await;
    assert!(
        preflight.contains("needed to delete web-1 so that it is recreated"),
        "{preflight}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rbac_exec_forbidden() {
    let sim = seeded().await;
    let (preflight, _) = verify_denied(&sim, &[("*", "pods/exec")], &[], &["pods/exec", FIX_RBAC]).await;
    assert!(preflight.contains("may not create or get pods/exec"), "{preflight}");
    // One of the two exec verbs is enough for the preflight (which one RBAC checks
    // depends on the server version): the drill runs.
    sim.faults().deny("get", "pods/exec");
    let o = kubectl_sts(&sim, &["verify-persistence", "web", "--yes", "--dry-run"]).await;
    sim.faults().reset();
    o.assert_exit(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rbac_eviction_forbidden() {
    let sim = seeded().await;
    verify_denied(
        &sim,
        &[("create", "pods/eviction")],
        &["--evict"],
        &["may not create pods/eviction", FIX_RBAC],
    )
    .await;
}

/// prune cannot delete a PVC: it says what it deleted and what remains, exit 3.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rbac_delete_pvc_forbidden_in_prune() {
    let sim = seeded_with_leftover().await;
    let before = state(&sim).await;
    assert!(before.pvcs.contains_key("default/disk-ssd-web-2"));
    sim.faults().deny("delete", "persistentvolumeclaims");
    let o = run_unchanged(&sim, &before, &["orphans", "prune", "--yes"]).await;
    let line = assert_error(&o, 3, &["prune incomplete", "still present [default/disk-ssd-web-2]"]);
    assert!(line.contains("deleted []"), "{line}");
    let out = stdout(&o);
    assert!(
        out.contains("persistentvolumeclaim/disk-ssd-web-2 failed") && out.contains("may not delete"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthorized_401_every_command() {
    let sim = seeded_with_leftover().await;
    let before = state(&sim).await;
    for c in every_command().into_iter().chain(rollout_commands()) {
        sim.faults().require_token(Some("not-the-sims-token"));
        let a: Vec<&str> = c.iter().map(String::as_str).collect();
        let o = run_unchanged(&sim, &before, &a).await;
        assert_error(
            &o,
            3,
            &[
                "rejected your credentials (401 Unauthorized)",
                "context \"sts-sim\"",
                "log in again",
            ],
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_server_down_at_start_every_command() {
    let sim = seeded_with_leftover().await;
    let before = state(&sim).await;
    sim.faults().set_server_up(false);
    sim.requests().clear();
    for c in every_command().into_iter().chain(rollout_commands()) {
        let started = Instant::now();
        let o = kubectl_sts_owned(&sim, &c).await;
        assert_error(&o, 3, &[&sim.url(), "connection refused", "sts-sim"]);
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{c:?} took {:?}",
            started.elapsed()
        );
    }
    assert!(sim.requests().is_empty());
    sim.faults().set_server_up(true);
    assert_eq!(state(&sim).await, before);
}

/// The API server goes away after the scale was requested and comes back: the watches
/// resume (kube-runtime backoff) and the scale is followed to the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_server_down_mid_scale_recovers() {
    let sim = seeded_with(|c| c.pod_start_delay = Duration::from_millis(600)).await;
    let mut r = spawn(
        &sim,
        &["scale", "web", "--replicas", "4", "-o", "json", "--timeout", "60s"],
    );
    r.wait_line("scale/web requested").await;
    sim.faults().set_server_up(false);
    // How long the outage lasts is the fault itself, not synchronisation.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    sim.faults().set_server_up(true);
    let o = r.finish().await;
    if o.status.code() != Some(0) {
        let pods: Vec<String> = Api::<k8s_openapi::api::core::v1::Pod>::namespaced(sim.client(), NS)
            .list(&Default::default())
            .await
            .unwrap()
            .items
            .iter()
            .map(|p| {
                format!(
                    "{} {:?}",
                    p.metadata.name.clone().unwrap(),
                    p.status.as_ref().and_then(|s| s.phase.clone())
                )
            })
            .collect();
        panic!("pods now {pods:?}\n{o}");
    }
    assert_no_dump(&o);
    let rep = json(&o);
    assert_eq!(rep["result"], "Settled");
    assert!(rep["watch"]["errors"].as_u64().unwrap() >= 1, "{}", rep["watch"]);
    // The outage was said when it began and when it ended, once each, and recorded.
    let err = stderr(&o);
    let lost: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("connection/apiserver lost"))
        .collect();
    let back: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("connection/apiserver reconnected"))
        .collect();
    assert_eq!(lost.len(), 1, "{err}");
    assert!(lost[0].contains("lost the connection to the API server at "), "{err}");
    assert!(lost[0].contains("; retrying"), "{err}");
    assert_eq!(back.len(), 1, "{err}");
    assert!(back[0].contains("reconnected after "), "{err}");
    assert_eq!(rep["watch"]["outages"], 1, "{}", rep["watch"]);
    // The outage lasted 1.5 s; the reconnection is seen within the probe's backoff.
    let down = rep["watch"]["downSeconds"].as_f64().unwrap();
    assert!((1.0..10.0).contains(&down), "{}", rep["watch"]);
    let st = state(&sim).await;
    assert_eq!(st.replicas["default/web"], Some(4));
    assert_eq!(st.pods.len(), 4);
}

/// Down mid-scale for good: the deadline ends it (exit 4) and the line says what was
/// requested and how to go back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_server_down_mid_scale_for_good() {
    let sim = seeded().await;
    // New pods start slowly enough that nothing could settle before --timeout even if
    // the outage were shorter. OnDelete: the running pods keep their template.
    let sts: Api<StatefulSet> = Api::namespaced(sim.client(), NS);
    for patch in [
        json!({"spec":{"updateStrategy":{"type":"OnDelete"}}}),
        json!({"spec":{"template":{"metadata":{"annotations":{annotations::START_DELAY:"8s"}}}}}),
    ] {
        sts.patch("web", &PatchParams::default(), &Patch::Merge(patch))
            .await
            .unwrap();
    }
    let mut r = spawn(
        &sim,
        &["scale", "web", "--replicas", "4", "-o", "json", "--timeout", "3s"],
    );
    r.wait_line("scale/web requested").await;
    sim.faults().set_server_up(false);
    let o = r.finish().await;
    sim.faults().set_server_up(true);
    assert_error(
        &o,
        4,
        &[
            "timed out after 3s",
            "spec.replicas of statefulset \"web\" is 4",
            "--replicas 2",
        ],
    );
    assert_eq!(json(&o)["result"], "TimedOut");
}

/// The API server goes away while verify waits for the replacement, and comes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_server_down_mid_verify_recovers() {
    let sim = seeded_with(|c| c.pod_start_delay = Duration::from_millis(500)).await;
    let mut r = spawn(
        &sim,
        &["verify-persistence", "web", "--yes", "-o", "json", "--timeout", "60s"],
    );
    r.wait_line("waiting for its replacement").await;
    sim.faults().set_server_up(false);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    sim.faults().set_server_up(true);
    let o = r.finish().await;
    o.assert_exit(0);
    assert_no_dump(&o);
    assert_eq!(json(&o)["result"], "Persisted");
    assert_eq!(markers(&sim), Vec::<std::path::PathBuf>::new());
    // The outage was said at once and when it ended, and recorded on the drill.
    let err = stderr(&o);
    assert_eq!(
        err.matches("lost the connection to the API server at ").count(),
        1,
        "{err}"
    );
    assert_eq!(err.matches("reconnected after ").count(), 1, "{err}");
    let drill = &json(&o)["pods"][0];
    assert_eq!(drill["outages"], 1, "{drill}");
    assert!(drill["downSeconds"].as_f64().unwrap() >= 1.0, "{drill}");
}

/// 409 on the merge patch kubectl-sts sends without --current-replicas: retried after a
/// re-read, bounded; when it never stops, nothing is applied and the line says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflict_409_on_scale_patch() {
    let sim = seeded().await;
    sim.faults().fail_next("patch", "statefulsets/scale", 409, 2);
    let o = kubectl_sts(&sim, &["scale", "web", "--replicas", "3", "--timeout", "30s"]).await;
    o.assert_exit(0);
    let codes: Vec<u16> = sim
        .requests()
        .for_resource("statefulsets/scale")
        .iter()
        .filter(|r| r.verb == "patch")
        .map(|r| r.status)
        .collect();
    assert_eq!(codes, [409, 409, 200]);

    let before = state(&sim).await;
    sim.faults().fail_next("patch", "statefulsets/scale", 409, 100);
    let o = run_unchanged(&sim, &before, &["scale", "web", "--replicas", "4", "--timeout", "30s"]).await;
    assert_error(
        &o,
        3,
        &[
            "statefulset \"web\"",
            "re-run",
            "gave up after 5 retries; the scale was not applied",
        ],
    );
}

/// 429 and 503 are retried with a bounded backoff (Retry-After honoured), then a clear
/// line; a 500 is not retried.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_and_server_errors_are_retried_bounded() {
    let sim = seeded_with_leftover().await;
    let before = state(&sim).await;
    for code in [429u16, 503] {
        sim.requests().clear();
        sim.faults().fail_next("get", "statefulsets", code, 2);
        let o = kubectl_sts(&sim, &["status", "web"]).await;
        o.assert_exit(0);
        let gets: Vec<u16> = sim
            .requests()
            .for_resource("statefulsets")
            .iter()
            .filter(|r| r.verb == "get")
            .map(|r| r.status)
            .collect();
        assert_eq!(gets, [code, code, 200]);
        sim.faults().reset();
    }
    // Never recovers: bounded attempts and time, then one line.
    let mut cases: Vec<(u16, &str, Vec<String>)> = every_command()
        .into_iter()
        .map(|c| (429, "throttling requests (429", c))
        .collect();
    cases.push((503, "503", cmd(&["status", "web"])));
    for (code, needle, c) in cases {
        {
            sim.faults().fail_next("*", "*", code, 1000);
            let started = Instant::now();
            let a: Vec<&str> = c.iter().map(String::as_str).collect();
            let o = run_unchanged(&sim, &before, &a).await;
            let line = assert_error(&o, 3, &[needle]);
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "{c:?}: {:?} {line}",
                started.elapsed()
            );
            assert!(sim.requests().len() <= 40, "{c:?}: {} requests", sim.requests().len());
        }
    }
    sim.requests().clear();
    sim.faults().fail_next("get", "statefulsets", 500, 1);
    let o = run_unchanged(&sim, &before, &["status", "web"]).await;
    assert_error(
        &o,
        3,
        &[
            "failed to get statefulset \"web\"",
            "500",
            "retry later or check the control plane",
        ],
    );
}

/// Dropped watches and 410 Gone while verify waits: the watcher resumes or re-lists and
/// the drill completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_watch_and_410_mid_verify() {
    let sim = seeded_with(|c| c.pod_start_delay = Duration::from_millis(400)).await;
    for (ordinal, expire) in [("1", false), ("0", true)] {
        let mut r = spawn(
            &sim,
            &[
                "verify-persistence",
                "web",
                "--ordinal",
                ordinal,
                "--yes",
                "-o",
                "json",
                "--timeout",
                "60s",
            ],
        );
        r.wait_line("waiting for its replacement").await;
        if expire {
            sim.faults().expire_watches();
        } else {
            sim.faults().drop_watches();
        }
        let o = r.finish().await;
        o.assert_exit(0);
        assert_eq!(json(&o)["result"], "Persisted");
        assert_eq!(markers(&sim), Vec::<std::path::PathBuf>::new());
        wait_sts(&sim.client(), NS, "web", settled()).await;
    }
}

/// Slow answers past --request-timeout: exit 4 naming the request and the flag.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_responses_beyond_request_timeout() {
    let sim = seeded_with_leftover().await;
    let before = state(&sim).await;
    for c in every_command() {
        sim.faults().slow("*", "*", Duration::from_secs(3));
        let mut a: Vec<&str> = c.iter().map(String::as_str).collect();
        a.extend(["--request-timeout", "300ms"]);
        let started = Instant::now();
        let o = run_unchanged(&sim, &before, &a).await;
        let line = assert_error(&o, 4, &["timed out", "--request-timeout"]);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{c:?}: {:?}",
            started.elapsed()
        );
        let _ = line;
    }
}

/// Crash-looping new pods: scale fails clearly (exit 1) naming the pod and the cause.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_loop_on_scale_out() {
    let sim = seeded().await;
    let sts: Api<StatefulSet> = Api::namespaced(sim.client(), NS);
    sts.patch(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec":{"updateStrategy":{"type":"OnDelete"}}})),
    )
    .await
    .unwrap();
    sts.patch(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec":{"template":{"metadata":{"annotations":{annotations::CRASH_LOOP:"3"}}}}})),
    )
    .await
    .unwrap();
    let before = state(&sim).await;
    let o = kubectl_sts(&sim, &["scale", "web", "--replicas", "3", "--timeout", "60s"]).await;
    assert_error(
        &o,
        1,
        &[
            "web-2 (ordinal 2)",
            "CrashLoopBackOff",
            "spec.replicas of statefulset \"web\" is 3",
            "--replicas 2",
        ],
    );
    let after = state(&sim).await;
    assert_eq!(after.pods["default/web-0"], before.pods["default/web-0"]);
    assert_eq!(after.pods["default/web-1"], before.pods["default/web-1"]);
}

/// A claim that stays Pending (StorageClass without a provisioner): status shows the
/// ordinal, verify refuses before changing anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pvc_pending_status_and_verify() {
    let sim = sim().await;
    let manifest = SEED_MANIFEST.replace(SEED_STORAGE_CLASS, "no-such-class");
    apply(&sim.client(), NS, &manifest).await;
    let pvcs: Api<k8s_openapi::api::core::v1::PersistentVolumeClaim> = Api::namespaced(sim.client(), NS);
    tokio::time::timeout(
        Duration::from_secs(30),
        kube::runtime::wait::await_condition(
            pvcs,
            "disk-ssd-web-0",
            |p: Option<&k8s_openapi::api::core::v1::PersistentVolumeClaim>| {
                p.and_then(|p| p.status.as_ref()?.phase.as_deref()) == Some("Pending")
            },
        ),
    )
    .await
    .unwrap()
    .unwrap();
    let o = kubectl_sts(&sim, &["status", "web"]).await;
    o.assert_exit(0);
    assert!(stdout(&o).contains("Pending"), "{}", stdout(&o));
    let before = state(&sim).await;
    let o = run_unchanged(&sim, &before, &["verify-persistence", "web", "--yes", "--ordinal", "0"]).await;
    let line = final_error(&o);
    o.assert_exit_in(&[1, 2]);
    assert!(line.contains("web-0") && line.contains("nothing was changed"), "{line}");
}
