//! `kubectl sts scale` end to end against sts-sim: the built binary, the sim's
//! controllers, and the cluster state and request log afterwards.

use std::time::Duration;

use crate::support::*;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::Api;
use kube::runtime::wait::await_condition;
use serde_json::Value;

const NS: &str = "default";

/// The seed manifest with edits to the StatefulSet (string edits on known lines).
fn manifest(replicas: i32, extra_spec: &str, template_annotations: &[(&str, &str)], class: &str) -> String {
    let mut m = SEED_MANIFEST.replace("  replicas: 2\n", &format!("  replicas: {replicas}\n{extra_spec}"));
    if !template_annotations.is_empty() {
        let ann: String = template_annotations
            .iter()
            .map(|(k, v)| format!("        {k}: \"{v}\"\n"))
            .collect();
        m = m.replacen(
            "    metadata:\n      labels:\n        app: nginx\n",
            &format!("    metadata:\n      annotations:\n{ann}      labels:\n        app: nginx\n"),
            1,
        );
    }
    m.replace(
        "storageClassName: \"alicloud-disk-ssd\"",
        &format!("storageClassName: \"{class}\""),
    )
}

async fn sts(client: &kube::Client, name: &str) -> StatefulSet {
    Api::<StatefulSet>::namespaced(client.clone(), NS)
        .get(name)
        .await
        .unwrap()
}

async fn pvc(client: &kube::Client, name: &str) -> Option<PersistentVolumeClaim> {
    Api::<PersistentVolumeClaim>::namespaced(client.clone(), NS)
        .get_opt(name)
        .await
        .unwrap()
}

/// Wait (watch, bounded) until pod `name` exists.
async fn wait_pod_exists(client: &kube::Client, name: &str) {
    let api: Api<Pod> = Api::namespaced(client.clone(), NS);
    tokio::time::timeout(
        Duration::from_secs(30),
        await_condition(api, name, |p: Option<&Pod>| p.is_some()),
    )
    .await
    .unwrap_or_else(|_| panic!("pod {name} was not created within 30s"))
    .unwrap();
}

/// Every progress line (before the blank line that starts the summary) is
/// `TIME KIND/NAME EVENT [KEY=VALUE]...`; returns (kind/name, event, line).
fn progress_lines(out: &str) -> Vec<(String, String, String)> {
    let mut v = Vec::new();
    for line in out.lines() {
        if line.is_empty() {
            break;
        }
        let mut parts = line.splitn(4, ' ');
        let time = parts.next().unwrap();
        assert!(
            time.len() == 24 && time.ends_with('Z') && time.parse::<jiff::Timestamp>().is_ok(),
            "bad time in {line:?}"
        );
        let subject = parts.next().unwrap_or_else(|| panic!("no subject in {line:?}"));
        assert!(subject.contains('/'), "subject is KIND/NAME: {line:?}");
        let event = parts.next().unwrap_or_else(|| panic!("no event in {line:?}"));
        if let Some(rest) = parts.next() {
            assert_fields(rest, line);
        }
        v.push((subject.to_string(), event.to_string(), line.to_string()));
    }
    v
}

/// `KEY=VALUE` pairs, VALUE bare or a JSON string.
fn assert_fields(mut rest: &str, line: &str) {
    while !rest.is_empty() {
        let eq = rest
            .find('=')
            .unwrap_or_else(|| panic!("field without '=' in {line:?}"));
        let key = &rest[..eq];
        assert!(!key.is_empty() && !key.contains(' '), "bad key in {line:?}");
        rest = &rest[eq + 1..];
        if rest.starts_with('"') {
            let mut de = serde_json::Deserializer::from_str(rest).into_iter::<String>();
            de.next()
                .unwrap()
                .unwrap_or_else(|e| panic!("bad quoted value in {line:?}: {e}"));
            rest = &rest[de.byte_offset()..];
        } else {
            let end = rest.find(' ').unwrap_or(rest.len());
            rest = &rest[end..];
        }
        rest = rest.strip_prefix(' ').unwrap_or(rest);
    }
}

fn position(lines: &[(String, String, String)], subject: &str, event: &str) -> usize {
    lines
        .iter()
        .position(|(s, e, _)| s == subject && e == event)
        .unwrap_or_else(|| panic!("no `{subject} {event}` line in:\n{}", join(lines)))
}

fn join(lines: &[(String, String, String)]) -> String {
    lines.iter().map(|l| l.2.as_str()).collect::<Vec<_>>().join("\n")
}

fn ordinal(report: &Value, o: i64) -> &Value {
    report["ordinals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ordinal"] == o)
        .unwrap_or_else(|| panic!("no ordinal {o} in {report}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_out_in_out_reuses_the_same_volume() {
    let sim = seeded().await;
    let client = sim.client();

    // 2 -> 3: a new ordinal with a new PVC.
    let out = kubectl_sts(&sim, &["scale", "web", "--replicas", "3"]).await;
    out.assert_exit(0);
    let text = stdout(&out);
    let lines = progress_lines(&text);
    assert!(position(&lines, "pod/web-2", "created") < position(&lines, "pod/web-2", "ready"));
    let created = position(&lines, "pvc/disk-ssd-web-2", "created");
    assert!(lines[created].2.contains("state=new"), "{}", lines[created].2);
    assert!(text.contains("1 created, 0 reused"), "{text}");
    assert_eq!(sts(&client, "web").await.status.unwrap().ready_replicas, Some(3));
    let pv = pvc(&client, "disk-ssd-web-2")
        .await
        .unwrap()
        .spec
        .unwrap()
        .volume_name
        .unwrap();

    // 3 -> 2: web-2 goes, its PVC is kept (whenScaled: Retain).
    let out = kubectl_sts(&sim, &["scale", "web", "--replicas", "2"]).await;
    out.assert_exit(0);
    let text = stdout(&out);
    let lines = progress_lines(&text);
    assert!(
        lines
            .iter()
            .any(|(s, e, _)| s == "pvc/disk-ssd-web-2" && e == "will-be-kept")
    );
    assert!(position(&lines, "pod/web-2", "terminating") < position(&lines, "pod/web-2", "deleted"));
    assert!(
        text.contains("left     disk-ssd-web-2") && text.contains("Kubernetes will not delete it"),
        "{text}"
    );
    assert!(
        pvc(&client, "disk-ssd-web-2").await.is_some(),
        "the kept PVC must still exist"
    );
    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
    assert!(pods.get_opt("web-2").await.unwrap().is_none());

    // 2 -> 3 again: the kept PVC is reused, bound to the same PV.
    let out = kubectl_sts(&sim, &["scale", "web", "--replicas", "3", "-o", "json"]).await;
    out.assert_exit(0);
    let r = json(&out);
    assert_eq!(r["kind"], "ScaleReport");
    assert_eq!(r["apiVersion"], "kubectl-sts/v1");
    assert_eq!(r["result"], "Settled");
    assert_eq!((r["from"].as_i64(), r["to"].as_i64()), (Some(2), Some(3)));
    assert_eq!(r["plan"]["reusing"][0]["name"], "disk-ssd-web-2");
    let reused = &r["pvcs"]["reused"];
    assert_eq!(reused.as_array().unwrap().len(), 1, "{r}");
    assert_eq!(reused[0]["name"], "disk-ssd-web-2");
    assert_eq!(reused[0]["state"], "reused");
    assert_eq!(reused[0]["volume"], pv.as_str());
    assert_eq!(reused[0]["previousVolume"], pv.as_str());
    assert!(r["pvcs"]["created"].as_array().unwrap().is_empty());
    let o2 = ordinal(&r, 2);
    assert_eq!(o2["role"], "adding");
    assert_eq!(o2["done"], true);
    assert!(o2["durationSeconds"].as_f64().is_some(), "{o2}");
    assert_eq!(ordinal(&r, 0)["role"], "unchanged");
    assert!(r["orderViolations"].as_array().unwrap().is_empty());
    // Progress lines went to stderr under -o json, stdout is only the report.
    assert!(stderr(&out).contains("pod/web-2 created"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ordered_ready_creates_low_to_high_and_removes_high_to_low() {
    let sim = sim().await;
    let client = sim.client();
    apply(&client, NS, &manifest(1, "", &[], SEED_STORAGE_CLASS)).await;
    wait_sts(&client, NS, "web", settled()).await;
    let out = kubectl_sts(&sim, &["scale", "web", "--replicas", "4"]).await;
    out.assert_exit(0);
    let lines = progress_lines(&stdout(&out));
    assert!(position(&lines, "pod/web-1", "ready") < position(&lines, "pod/web-2", "created"));
    assert!(position(&lines, "pod/web-2", "ready") < position(&lines, "pod/web-3", "created"));
    assert!(
        !lines.iter().any(|(_, e, _)| e == "order-violation"),
        "{}",
        join(&lines)
    );
    assert!(stdout(&out).contains("Order: as OrderedReady promises"));

    let out = kubectl_sts(&sim, &["scale", "web", "--replicas", "1"]).await;
    out.assert_exit(0);
    let lines = progress_lines(&stdout(&out));
    assert!(position(&lines, "pod/web-3", "deleted") < position(&lines, "pod/web-2", "terminating"));
    assert!(position(&lines, "pod/web-2", "deleted") < position(&lines, "pod/web-1", "terminating"));
    assert!(
        !lines.iter().any(|(_, e, _)| e == "order-violation"),
        "{}",
        join(&lines)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_policy_expects_no_order() {
    let sim = sim_with(|c| c.pod_ready_delay = Duration::from_millis(300)).await;
    let client = sim.client();
    apply(
        &client,
        NS,
        &manifest(0, "  podManagementPolicy: Parallel\n", &[], SEED_STORAGE_CLASS),
    )
    .await;
    wait_sts(&client, NS, "web", settled()).await;
    let out = kubectl_sts(&sim, &["scale", "web", "--replicas", "3", "-o", "json"]).await;
    out.assert_exit(0);
    let r = json(&out);
    assert_eq!(r["result"], "Settled");
    assert_eq!(r["podManagementPolicy"], "Parallel");
    assert!(r["orderViolations"].as_array().unwrap().is_empty());
    assert_eq!(r["pvcs"]["created"].as_array().unwrap().len(), 3);
    // Parallel: web-2 is created before web-0 is Ready (which OrderedReady would flag).
    let err = stderr(&out);
    let lines = progress_lines(&err);
    assert!(position(&lines, "pod/web-2", "created") < position(&lines, "pod/web-0", "ready"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_ordinal_is_honoured() {
    let sim = sim().await;
    let client = sim.client();
    apply(
        &client,
        NS,
        &manifest(1, "  ordinals:\n    start: 5\n", &[], SEED_STORAGE_CLASS),
    )
    .await;
    wait_sts(&client, NS, "web", settled()).await;
    let out = kubectl_sts(&sim, &["scale", "web", "--replicas", "3", "-o", "json"]).await;
    out.assert_exit(0);
    let r = json(&out);
    assert_eq!(r["plan"]["adding"], serde_json::json!([6, 7]));
    let ords: Vec<i64> = r["ordinals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["ordinal"].as_i64().unwrap())
        .collect();
    assert_eq!(ords, vec![5, 6, 7]);
    assert_eq!(ordinal(&r, 7)["claims"][0]["name"], "disk-ssd-web-7");
    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
    assert!(pods.get_opt("web-7").await.unwrap().is_some());
    assert!(pods.get_opt("web-0").await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_to_zero_with_delete_is_refused_without_yes() {
    let sim = sim().await;
    let client = sim.client();
    apply(
        &client,
        NS,
        &manifest(
            2,
            "  persistentVolumeClaimRetentionPolicy:\n    whenScaled: Delete\n    whenDeleted: Retain\n",
            &[],
            SEED_STORAGE_CLASS,
        ),
    )
    .await;
    wait_sts(&client, NS, "web", settled()).await;
    sim.requests().clear();
    let out = kubectl_sts(&sim, &["scale", "web", "--replicas", "0"]).await;
    out.assert_exit(2);
    let err = one_line_error(&out);
    assert!(err.contains("--yes") && err.contains("DELETE PVCs"), "{err}");
    assert!(
        err.contains("disk-ssd-web-1") && err.contains("disk-ssd-web-0"),
        "{err}"
    );
    assert!(
        stdout(&out).contains("pvc/disk-ssd-web-1 will-be-deleted"),
        "{}",
        stdout(&out)
    );
    // Nothing changed: no write, replicas and PVCs as before.
    assert_eq!(sim.requests().count("patch", "statefulsets/scale"), 0);
    assert_eq!(sim.requests().count("update", "statefulsets/scale"), 0);
    assert_eq!(sts(&client, "web").await.spec.replicas, Some(2));
    assert!(pvc(&client, "disk-ssd-web-0").await.is_some());
    assert!(pvc(&client, "disk-ssd-web-1").await.is_some());

    // With --yes it goes ahead, and the PVCs are deleted by the retention policy.
    let out = kubectl_sts(&sim, &["scale", "web", "--replicas", "0", "--yes", "-o", "json"]).await;
    out.assert_exit(0);
    let r = json(&out);
    assert_eq!(r["result"], "Settled");
    assert!(r["plan"]["leftBehind"][0]["willBeDeleted"].as_bool().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_that_never_gets_ready_times_out_naming_it() {
    let sim = sim().await;
    let client = sim.client();
    apply(
        &client,
        NS,
        &manifest(0, "", &[("sts-sim.dev/never-ready", "true")], SEED_STORAGE_CLASS),
    )
    .await;
    wait_sts(&client, NS, "web", settled()).await;
    let out = kubectl_sts(&sim, &["scale", "web", "--replicas", "2", "--timeout", "3s"]).await;
    out.assert_exit(4);
    let err = one_line_error(&out);
    assert!(err.contains("timed out after 3s"), "{err}");
    assert!(err.contains("web-0 (ordinal 0)"), "{err}");
    assert!(
        err.contains("ReadinessProbeFailing") && err.contains("Readiness probe failed"),
        "{err}"
    );
    assert!(err.contains("spec.replicas of statefulset \"web\" is 2"), "{err}");
    let text = stdout(&out);
    assert!(
        text.contains("Blocking: web-0 (ordinal 0): ReadinessProbeFailing"),
        "{text}"
    );
    let lines = progress_lines(&text);
    assert!(
        lines
            .iter()
            .any(|(s, e, l)| s == "pod/web-0" && e == "stuck" && l.contains("reason=ReadinessProbeFailing")),
        "{}",
        join(&lines)
    );
    // Binding a fresh PVC is progress, never reported as stuck.
    assert!(
        !lines.iter().any(|(_, e, l)| e == "stuck" && l.contains("PVCPending")),
        "{}",
        join(&lines)
    );
    // OrderedReady: web-1 is never created behind the unready web-0.
    assert!(!lines.iter().any(|(s, e, _)| s == "pod/web-1" && e == "created"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_storage_class_is_a_clear_failure_with_its_cause() {
    let sim = sim().await;
    let client = sim.client();
    apply(&client, NS, &manifest(0, "", &[], "nosuchclass")).await;
    wait_sts(&client, NS, "web", settled()).await;
    let out = kubectl_sts(&sim, &["scale", "web", "--replicas", "1", "-o", "json"]).await;
    out.assert_exit(1);
    let r = json(&out);
    assert_eq!(r["result"], "Failed");
    assert_eq!(r["blocking"]["pod"], "web-0");
    assert_eq!(r["blocking"]["reason"], "PVCPending");
    let msg = r["blocking"]["message"].as_str().unwrap();
    assert!(
        msg.contains("disk-ssd-web-0") && msg.contains("\"nosuchclass\" not found"),
        "{msg}"
    );
    let err = stderr(&out);
    assert!(err.contains("PVCPending") && err.contains("nosuchclass"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn current_replicas_precondition_and_conflicts() {
    let sim = seeded().await;
    let client = sim.client();

    // Mismatch: refused before any write.
    sim.requests().clear();
    let out = kubectl_sts(&sim, &["scale", "web", "--replicas", "3", "--current-replicas", "5"]).await;
    out.assert_exit(1);
    let err = one_line_error(&out);
    assert!(
        err.contains("has 2 replicas, not 5") && err.contains("nothing was changed"),
        "{err}"
    );
    assert_eq!(sim.requests().count("update", "statefulsets/scale"), 0);
    assert_eq!(sts(&client, "web").await.spec.replicas, Some(2));

    // A 409 while the precondition still holds: re-read, retry, succeed.
    sim.requests().clear();
    sim.faults().fail_next("update", "statefulsets/scale", 409, 1);
    let out = kubectl_sts(&sim, &["scale", "web", "--replicas", "3", "--current-replicas", "2"]).await;
    out.assert_exit(0);
    let updates: Vec<u16> = sim
        .requests()
        .for_resource("statefulsets/scale")
        .iter()
        .filter(|r| r.verb == "update")
        .map(|r| r.status)
        .collect();
    assert_eq!(updates, vec![409, 200]);
    assert_eq!(sim.requests().count("get", "statefulsets/scale"), 1);
    assert_eq!(sts(&client, "web").await.spec.replicas, Some(3));

    // 409s forever: bounded retries, a clear error, nothing applied.
    sim.faults().fail_next("update", "statefulsets/scale", 409, 100);
    let out = kubectl_sts(&sim, &["scale", "web", "--replicas", "4", "--current-replicas", "3"]).await;
    out.assert_exit(3);
    assert!(one_line_error(&out).contains("the scale was not applied"));
    assert_eq!(sts(&client, "web").await.spec.replicas, Some(3));
    sim.faults().reset();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_replicas_are_usage_errors() {
    let sim = sim().await;
    for bad in ["-1", "three", "1.5"] {
        let out = kubectl_sts(&sim, &["scale", "web", "--replicas", bad]).await;
        out.assert_exit(2);
        let e = stderr(&out);
        assert!(e.contains("--replicas") && !e.contains("panicked"), "{e}");
    }
    let out = kubectl_sts(&sim, &["scale", "nosuch", "--replicas", "1"]).await;
    out.assert_exit(2);
    assert!(one_line_error(&out).contains("statefulset \"nosuch\" not found"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_runs_change_nothing() {
    let sim = seeded().await;
    let client = sim.client();
    sim.requests().clear();
    let out = kubectl_sts(
        &sim,
        &["scale", "web", "--replicas", "5", "--dry-run=server", "-o", "json"],
    )
    .await;
    out.assert_exit(0);
    let r = json(&out);
    assert_eq!(
        (r["result"].as_str(), r["dryRun"].as_str()),
        (Some("DryRun"), Some("server"))
    );
    let patches = sim.requests().for_resource("statefulsets/scale");
    assert_eq!(patches.len(), 1);
    assert!(patches[0].query.contains("dryRun=All"), "{}", patches[0].query);
    assert_eq!(sim.requests().count("watch", "pods"), 0, "no watching on a dry run");
    // A dry run needs no confirmation.
    let out = kubectl_sts(&sim, &["scale", "web", "--replicas", "0", "--dry-run"]).await;
    out.assert_exit(0);
    assert_eq!(sts(&client, "web").await.spec.replicas, Some(2));
}

/// Requests made by one `scale 2 -> 4` run with the given pod start/ready delay.
async fn requests_for_scale(delay: Duration) -> (usize, Vec<String>) {
    let sim = sim_with(|c| {
        c.pod_start_delay = delay;
        c.pod_ready_delay = delay;
    })
    .await;
    let client = sim.client();
    apply_seed(&client, NS).await;
    wait_sts(&client, NS, "web", settled()).await;
    sim.requests().clear();
    let out = kubectl_sts(&sim, &["scale", "web", "--replicas", "4"]).await;
    out.assert_exit(0);
    let all = sim.requests().all();
    let shape = all
        .iter()
        .map(|r| format!("{} {}", r.verb, r.resource))
        .collect::<Vec<_>>();
    (all.len(), shape)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_count_does_not_grow_with_duration() {
    let (fast, fast_shape) = requests_for_scale(Duration::from_millis(20)).await;
    let (slow, slow_shape) = requests_for_scale(Duration::from_millis(1500)).await;
    // Slow pods take ~6s to settle instead of ~0.1s: same requests, one watch per kind.
    assert_eq!(fast, slow, "fast: {fast_shape:?}\nslow: {slow_shape:?}");
    let mut sorted = slow_shape.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        vec![
            "get statefulsets",
            "list events",
            "list persistentvolumeclaims",
            "list pods",
            "list statefulsets",
            "patch statefulsets/scale",
            "watch events",
            "watch persistentvolumeclaims",
            "watch pods",
            "watch statefulsets",
        ],
        "{slow_shape:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_watches_and_410_mid_scale_still_settle() {
    let sim = seeded_with(|c| c.pod_ready_delay = Duration::from_millis(800)).await;
    let client = sim.client();
    let kubeconfig = sim.kubeconfig_path();
    let run = tokio::spawn(async move {
        kubectl_sts_with_kubeconfig(&kubeconfig, &["scale", "web", "--replicas", "5", "-o", "json"]).await
    });
    wait_pod_exists(&client, "web-2").await;
    sim.faults().drop_watches();
    wait_pod_exists(&client, "web-3").await;
    sim.faults().expire_watches();
    let out = run.await.unwrap();
    out.assert_exit(0);
    let r = json(&out);
    assert_eq!(r["result"], "Settled");
    assert!(r["watch"]["relists"].as_u64().unwrap() >= 1, "{}", r["watch"]);
    for o in 2..5 {
        assert_eq!(ordinal(&r, o)["done"], true, "{r}");
    }
    assert!(
        sim.requests().count("watch", "pods") >= 3,
        "resumed after the drop and the 410"
    );
    let s = sts(&client, "web").await.status.unwrap();
    assert_eq!(s.ready_replicas, Some(5));
}

/// Not a timed test: run by hand to measure requests per minute of watching during a
/// long scale (0 -> 50 under OrderedReady with slow pods) and event-to-output latency
/// (when our progress line for `pod/web-N ready` is read, against when an independent
/// in-process watch saw web-N Ready).
/// `cargo test -p kubectl-sts --test it scale::measure_ -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn measure_requests_and_latency_0_to_50() {
    use futures::{StreamExt, TryStreamExt};
    use kube::runtime::{WatchStreamExt, watcher};

    let sim = sim_with(|c| {
        c.pod_start_delay = Duration::from_millis(300);
        c.pod_ready_delay = Duration::from_millis(1000);
    })
    .await;
    let client = sim.client();
    apply(&client, NS, &manifest(0, "", &[], SEED_STORAGE_CLASS)).await;
    wait_sts(&client, NS, "web", settled()).await;

    let seen_ready = std::sync::Arc::new(std::sync::Mutex::new(std::collections::BTreeMap::new()));
    let seen = seen_ready.clone();
    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
    let watch = tokio::spawn(async move {
        let mut s = watcher(pods, watcher::Config::default()).applied_objects().boxed();
        while let Ok(Some(p)) = s.try_next().await {
            let ready = p
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
            if ready {
                seen.lock()
                    .unwrap()
                    .entry(p.metadata.name.clone().unwrap())
                    .or_insert_with(std::time::Instant::now);
            }
        }
    });
    sim.requests().clear();
    let started = std::time::Instant::now();
    let mut r = spawn_following_stdout(&sim, &["scale", "web", "--replicas", "50", "--timeout", "10m"]);
    let mut printed = std::collections::BTreeMap::new();
    let mut requests_after_sync = None;
    while let Some(l) = r.next_line().await {
        let parts: Vec<&str> = l.split(' ').collect();
        if parts.len() >= 3 && parts[2] == "ready" {
            printed.insert(
                parts[1].trim_start_matches("pod/").to_string(),
                std::time::Instant::now(),
            );
        }
        if parts.len() >= 3 && parts[1] == "scale/web" && parts[2] == "requested" {
            requests_after_sync = Some(sim.requests().len());
        }
    }
    let o = r.finish().await;
    let elapsed = started.elapsed();
    watch.abort();
    o.assert_exit(0);
    let total = sim.requests().len();
    let seen = seen_ready.lock().unwrap().clone();
    let mut lat: Vec<f64> = printed
        .iter()
        .filter_map(|(pod, t)| {
            seen.get(pod)
                .map(|w| t.saturating_duration_since(*w).as_secs_f64() * 1000.0)
        })
        .collect();
    lat.sort_by(f64::total_cmp);
    let mut by_kind = std::collections::BTreeMap::new();
    for r in sim.requests().all() {
        *by_kind.entry(format!("{} {}", r.verb, r.resource)).or_insert(0) += 1;
    }
    println!(
        "scale 0 -> 50 (OrderedReady, start 300ms + ready 1s per pod): {:.1}s",
        elapsed.as_secs_f64()
    );
    println!("requests: {total} in total, {by_kind:?}");
    println!(
        "requests after the initial lists and the scale write: {}",
        total - requests_after_sync.unwrap_or(total)
    );
    println!(
        "requests per minute: {:.2}",
        total as f64 / (elapsed.as_secs_f64() / 60.0)
    );
    if !lat.is_empty() {
        println!(
            "event-to-output latency over {} ready events: median {:.1}ms, p90 {:.1}ms, max {:.1}ms",
            lat.len(),
            lat[lat.len() / 2],
            lat[lat.len() * 9 / 10],
            lat[lat.len() - 1]
        );
    }
}
