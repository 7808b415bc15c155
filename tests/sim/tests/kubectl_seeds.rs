//! Seed 003 ("Use FlexVolume to enable a StatefulSet to support persistent storage")
//! end to end with REAL kubectl against an in-process sim: every command of the
//! runbook, asserted on what kubectl prints, as the runbook's "Expected output" blocks
//! show it. Nothing here reads the sim's state directly: if the sim answers kubectl
//! wrongly (wire format, Table columns, watch semantics, exec protocol, rollout
//! status fields), these assertions fail.
//!
//! kubectl is found through `$KUBECTL`, else `PATH`. Without it the test is skipped
//! with a note, except under `CI=true`, where a missing kubectl is a failure.

#[path = "kubectl_support.rs"]
mod kubectl;

use std::time::Duration;

use kubectl::*;
use sts_sim::{Sim, SimConfig};

const MANIFEST: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/seed-003-statefulset.yaml");

/// One printed row of `kubectl get pod` (NAME READY STATUS RESTARTS AGE).
#[derive(Debug, Clone, PartialEq)]
struct PodLine {
    name: String,
    ready: String,
    status: String,
    restarts: String,
}

fn pod_line(l: &str) -> Option<PodLine> {
    let f: Vec<&str> = l.split_whitespace().collect();
    if f.len() < 5 || f[0] == "NAME" {
        return None;
    }
    Some(PodLine {
        name: f[0].into(),
        ready: f[1].into(),
        status: f[2].into(),
        restarts: f[3].into(),
    })
}

/// `kubectl get pod`: every pod Running 1/1 with 0 restarts, and exactly `want`.
async fn assert_pods_running(k: &Kubectl, want: &[&str]) {
    let out = k.ok(&["get", "pod"]).await;
    let rows = table(&out);
    assert_eq!(names(&rows), want, "kubectl get pod:\n{out}");
    for r in &rows {
        assert_eq!(
            (r["READY"].as_str(), r["STATUS"].as_str(), r["RESTARTS"].as_str()),
            ("1/1", "Running", "0"),
            "kubectl get pod:\n{out}"
        );
    }
}

/// `kubectl get pvc`: the claims, all Bound 20Gi RWO alicloud-disk-ssd; returns
/// claim -> volume.
async fn assert_pvcs_bound(k: &Kubectl, want: &[&str]) -> std::collections::HashMap<String, String> {
    let out = k.ok(&["get", "pvc"]).await;
    let rows = table(&out);
    assert_eq!(names(&rows), want, "kubectl get pvc:\n{out}");
    let mut vols = std::collections::HashMap::new();
    for r in &rows {
        assert_eq!(r["STATUS"], "Bound", "kubectl get pvc:\n{out}");
        assert_eq!(r["CAPACITY"], "20Gi", "kubectl get pvc:\n{out}");
        assert_eq!(r["ACCESS MODES"], "RWO", "kubectl get pvc:\n{out}");
        assert_eq!(r["STORAGECLASS"], "alicloud-disk-ssd", "kubectl get pvc:\n{out}");
        assert!(!r["VOLUME"].is_empty(), "kubectl get pvc:\n{out}");
        vols.insert(r["NAME"].clone(), r["VOLUME"].clone());
    }
    vols
}

/// The statuses one pod goes through in watch lines, consecutive repeats folded.
fn progression(lines: &[PodLine], pod: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in lines.iter().filter(|l| l.name == pod) {
        let s = format!("{} {}", l.ready, l.status);
        if out.last() != Some(&s) {
            out.push(s);
        }
    }
    out
}

async fn start_sim() -> Sim {
    Sim::start(SimConfig {
        storage_classes: vec!["alicloud-disk-ssd".into()],
        // The seed's container has no readinessProbe: the kubelet reports it Ready in
        // the same status update that makes it Running (watch-pods.jsonl rv 1016).
        pod_ready_delay: Duration::ZERO,
        pod_start_delay: Duration::from_millis(100),
        termination_delay: Duration::from_millis(100),
        ..SimConfig::default()
    })
    .await
    .expect("sim starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_003_runbook_with_real_kubectl() {
    let Some(bin) = kubectl_or_skip() else { return };
    let sim = start_sim().await;
    let k = Kubectl {
        bin,
        kubeconfig: sim.kubeconfig_path(),
    };

    // -- Deploy: `kubectl get pod -w -l app=nginx` in another terminal, then create.
    let mut watch = k.stream(&["get", "pod", "-w", "-l", "app=nginx"]);
    // The watch is established once kubectl has sent its watch request.
    wait_for_request(&sim, "watch", "pods").await;
    let out = k.ok(&["create", "-f", MANIFEST]).await;
    assert_eq!(out, "service/nginx created\nstatefulset.apps/web created\n");

    let lines = watch
        .until("web-1 1/1 Running", |l| {
            pod_line(l).is_some_and(|p| p.name == "web-1" && p.ready == "1/1" && p.status == "Running")
        })
        .await;
    let header = lines.iter().find(|l| l.starts_with("NAME")).expect("a header line");
    assert_eq!(
        header.split_whitespace().collect::<Vec<_>>(),
        ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    );
    let rows: Vec<PodLine> = lines.iter().filter_map(|l| pod_line(l)).collect();
    // Ordered deployment: web-0 is Running and Ready before web-1's first line.
    let web0_ready = rows
        .iter()
        .position(|p| p.name == "web-0" && p.ready == "1/1" && p.status == "Running")
        .expect("web-0 reached 1/1 Running");
    let web1_first = rows.iter().position(|p| p.name == "web-1").expect("web-1 lines");
    assert!(
        web0_ready < web1_first,
        "web-1 appeared before web-0 was Ready: {rows:#?}"
    );
    for pod in ["web-0", "web-1"] {
        assert_eq!(
            progression(&rows, pod),
            ["0/1 Pending", "0/1 ContainerCreating", "1/1 Running"],
            "{pod}'s progression in kubectl get pod -w: {rows:#?}"
        );
        assert!(rows.iter().filter(|p| p.name == pod).all(|p| p.restarts == "0"));
    }

    assert_pods_running(&k, &["web-0", "web-1"]).await;
    let vols = assert_pvcs_bound(&k, &["disk-ssd-web-0", "disk-ssd-web-1"]).await;

    // -- Scale out to 3.
    assert_eq!(
        k.ok(&["scale", "sts", "web", "--replicas=3"]).await,
        "statefulset.apps/web scaled\n"
    );
    rollout_complete(&k, 3).await;
    assert_pods_running(&k, &["web-0", "web-1", "web-2"]).await;
    let vols3 = assert_pvcs_bound(&k, &["disk-ssd-web-0", "disk-ssd-web-1", "disk-ssd-web-2"]).await;
    assert_eq!(vols3["disk-ssd-web-0"], vols["disk-ssd-web-0"]);

    // -- Scale in to 2: web-2 goes, its claim stays.
    assert_eq!(
        k.ok(&["scale", "sts", "web", "--replicas=2"]).await,
        "statefulset.apps/web scaled\n"
    );
    k.ok(&["wait", "--for=delete", "pod/web-2", "--timeout=80s"]).await;
    assert_pods_running(&k, &["web-0", "web-1"]).await;
    let after_in = assert_pvcs_bound(&k, &["disk-ssd-web-0", "disk-ssd-web-1", "disk-ssd-web-2"]).await;
    assert_eq!(after_in, vols3, "scale-in must not touch claims or volumes");

    // -- Scale out again: web-2 comes back on the same claim and volume.
    assert_eq!(
        k.ok(&["scale", "sts", "web", "--replicas=3"]).await,
        "statefulset.apps/web scaled\n"
    );
    rollout_complete(&k, 3).await;
    assert_pods_running(&k, &["web-0", "web-1", "web-2"]).await;
    let again = assert_pvcs_bound(&k, &["disk-ssd-web-0", "disk-ssd-web-1", "disk-ssd-web-2"]).await;
    assert_eq!(again, vols3, "the new web-2 uses the existing PVC and PV");
    let claim2 = k
        .ok(&[
            "get",
            "pod",
            "web-2",
            "-o",
            "jsonpath={.spec.volumes[?(@.name==\"disk-ssd\")].persistentVolumeClaim.claimName}",
        ])
        .await;
    assert_eq!(claim2, "disk-ssd-web-2");

    // -- `kubectl describe pod web-1 | grep ClaimName`.
    let describe = k.ok(&["describe", "pod", "web-1"]).await;
    let claim_lines: Vec<&str> = describe.lines().filter(|l| l.contains("ClaimName")).collect();
    assert_eq!(claim_lines.len(), 1, "describe:\n{describe}");
    assert_eq!(
        claim_lines[0].split_whitespace().collect::<Vec<_>>(),
        ["ClaimName:", "disk-ssd-web-1"]
    );
    assert!(describe.contains("\nEvents:"), "describe lists events:\n{describe}");
    assert!(
        describe.contains("Scheduled"),
        "describe shows the pod's events:\n{describe}"
    );

    // -- Delete web-1: the watch shows Terminating, then a new web-1 Pending ->
    //    ContainerCreating -> Running; the claims are unchanged.
    let uid_before = k.ok(&["get", "pod", "web-1", "-o", "jsonpath={.metadata.uid}"]).await;
    let out = k.ok(&["delete", "pod", "web-1"]).await;
    // kubectl >= 1.33 adds " from default namespace" to the runbook's line.
    assert!(out.starts_with("pod \"web-1\" deleted"), "delete printed: {out}");
    let lines = watch
        .until("the recreated web-1 1/1 Running", |l| {
            pod_line(l).is_some_and(|p| p.name == "web-1" && p.ready == "1/1" && p.status == "Running")
        })
        .await;
    let rows: Vec<PodLine> = lines.iter().filter_map(|l| pod_line(l)).collect();
    assert_eq!(
        progression(&rows, "web-1"),
        [
            "1/1 Terminating",
            "0/1 Terminating",
            "0/1 Pending",
            "0/1 ContainerCreating",
            "1/1 Running"
        ],
        "web-1 delete and recreate in kubectl get pod -w: {rows:#?}"
    );
    let uid_after = k.ok(&["get", "pod", "web-1", "-o", "jsonpath={.metadata.uid}"]).await;
    assert_ne!(uid_before, uid_after, "web-1 is a new pod");
    assert_pods_running(&k, &["web-0", "web-1", "web-2"]).await;
    assert_eq!(
        assert_pvcs_bound(&k, &["disk-ssd-web-0", "disk-ssd-web-1", "disk-ssd-web-2"]).await,
        vols3,
        "the recreated pod uses the same PVC"
    );

    // -- Persistent storage: a file on the volume survives the pod, one outside it does not.
    assert_eq!(k.ok(&["exec", "web-1", "--", "ls", "/data"]).await, "lost+found\n");
    assert_eq!(k.ok(&["exec", "web-1", "--", "touch", "/data/statefulset"]).await, "");
    assert_eq!(k.ok(&["exec", "web-1", "--", "touch", "/tmp/outside"]).await, "");
    assert_eq!(
        k.ok(&["exec", "web-1", "--", "ls", "/data"]).await,
        "lost+found\nstatefulset\n"
    );
    assert_eq!(
        k.ok(&["exec", "web-1", "--", "ls", "/tmp/outside"]).await,
        "/tmp/outside\n"
    );
    let out = k.ok(&["delete", "pod", "web-1"]).await;
    assert!(out.starts_with("pod \"web-1\" deleted"), "delete printed: {out}");
    k.ok(&["wait", "--for=condition=Ready", "pod/web-1", "--timeout=80s"])
        .await;
    assert_eq!(
        k.ok(&["exec", "web-1", "--", "ls", "/data"]).await,
        "lost+found\nstatefulset\n"
    );
    let gone = k.run(&["exec", "web-1", "--", "ls", "/tmp/outside"]).await;
    assert_eq!(gone.code, 1, "ls of a missing file exits 1: {}", gone.stderr);
    assert!(gone.stderr.contains("No such file or directory"), "{}", gone.stderr);
    assert!(
        gone.stderr.contains("command terminated with exit code 1"),
        "{}",
        gone.stderr
    );

    // -- Rollouts: set image, status, history, restart.
    rollout_complete(&k, 3).await;
    let mut revs = k.stream(&[
        "get",
        "pod",
        "-w",
        "-l",
        "app=nginx",
        "-o",
        "custom-columns=NAME:.metadata.name,IMAGE:.spec.containers[0].image,DELETING:.metadata.deletionTimestamp",
    ]);
    revs.until("the current pods", |l| l.starts_with("web-2")).await;
    assert_eq!(
        k.ok(&["set", "image", "sts/web", "nginx=nginx:1.25"]).await,
        "statefulset.apps/web image updated\n"
    );
    rollout_complete(&k, 3).await;
    // Pods replaced from the highest ordinal down: the order new-image pods appear in.
    let lines = revs
        .until("web-0 on nginx:1.25", |l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() == 3 && f[0] == "web-0" && f[1] == "nginx:1.25" && f[2] == "<none>"
        })
        .await;
    let mut order: Vec<String> = Vec::new();
    for l in &lines {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() == 3 && f[1] == "nginx:1.25" && !order.iter().any(|o| o == f[0]) {
            order.push(f[0].to_string());
        }
    }
    assert_eq!(order, ["web-2", "web-1", "web-0"], "watch lines:\n{}", lines.join("\n"));
    drop(revs);
    assert_pods_running(&k, &["web-0", "web-1", "web-2"]).await;

    let history = k.ok(&["rollout", "history", "sts/web"]).await;
    let hrows: Vec<Vec<&str>> = history.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(hrows[0], ["statefulset.apps/web"], "history:\n{history}");
    assert_eq!(hrows[1], ["REVISION", "CHANGE-CAUSE"], "history:\n{history}");
    assert_eq!(hrows[2], ["1", "<none>"], "history:\n{history}");
    assert_eq!(hrows[3], ["2", "<none>"], "history:\n{history}");
    let rev2 = k.ok(&["rollout", "history", "sts/web", "--revision=2"]).await;
    assert!(rev2.starts_with("statefulset.apps/web with revision #2"), "{rev2}");
    assert!(rev2.contains("Image:\tnginx:1.25"), "{rev2}");
    let rev1 = k.ok(&["rollout", "history", "sts/web", "--revision=1"]).await;
    assert!(rev1.contains("Image:\tnginx\n"), "{rev1}");

    assert_eq!(
        k.ok(&["rollout", "restart", "sts/web"]).await,
        "statefulset.apps/web restarted\n"
    );
    rollout_complete(&k, 3).await;
    let restarted = k
        .ok(&[
            "get",
            "pod",
            "-l",
            "app=nginx",
            "-o",
            "jsonpath={range .items[*]}{.metadata.annotations.kubectl\\.kubernetes\\.io/restartedAt}{\"\\n\"}{end}",
        ])
        .await;
    let stamps: Vec<&str> = restarted.lines().collect();
    assert_eq!(stamps.len(), 3, "{restarted}");
    assert!(stamps.iter().all(|s| !s.is_empty() && *s == stamps[0]), "{restarted}");
    let history = k.ok(&["rollout", "history", "sts/web"]).await;
    assert!(
        history.lines().any(|l| l.split_whitespace().next() == Some("3")),
        "{history}"
    );

    // -- Everything prints.
    let o = k.run(&["get", "sts,pods,pvc,pv,events"]).await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.is_empty(), "{}", o.stderr);
    for want in [
        "statefulset.apps/web",
        "pod/web-2",
        "persistentvolumeclaim/disk-ssd-web-2",
        "persistentvolume/",
    ] {
        assert!(o.stdout.contains(want), "missing {want}:\n{}", o.stdout);
    }
    assert!(o.stdout.contains("SuccessfulCreate"), "events:\n{}", o.stdout);
    let o = k.run(&["api-resources"]).await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.is_empty(), "{}", o.stderr);
    assert!(
        o.stdout
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == ["statefulsets", "sts", "apps/v1", "true", "StatefulSet"]),
        "{}",
        o.stdout
    );
    drop(watch);
    sim.shutdown().await;
}

/// `kubectl rollout status sts/web` until it completes; checks the final line.
async fn rollout_complete(k: &Kubectl, replicas: usize) -> String {
    let out = k.ok(&["rollout", "status", "sts/web", "--timeout=80s"]).await;
    let last = out.lines().last().unwrap_or("");
    assert_eq!(
        last,
        format!("partitioned roll out complete: {replicas} new pods have been updated..."),
        "rollout status:\n{out}"
    );
    out
}

/// Wait (bounded) until the sim has answered a `verb` request on `resource`.
async fn wait_for_request(sim: &Sim, verb: &str, resource: &str) {
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    while sim.requests().count(verb, resource) == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {verb} {resource} request within {TIMEOUT:?}"
        );
        tick.tick().await;
    }
}

/// metadata.managedFields as real kubectl's writes leave them (the managers of the
/// reference capture obj-statefulset-web-after-rollout.json), and server-side apply:
/// a field another manager changed is a conflict until `--force-conflicts`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_fields_follow_kubectl_writes_and_server_side_apply() {
    let Some(bin) = kubectl_or_skip() else { return };
    let sim = start_sim().await;
    let k = Kubectl {
        bin,
        kubeconfig: sim.kubeconfig_path(),
    };
    k.ok(&["create", "-f", MANIFEST]).await;
    k.ok(&["scale", "sts", "web", "--replicas=3"]).await;
    k.ok(&["set", "image", "sts/web", "nginx=nginx:1.25"]).await;
    let managers = |out: &str| -> Vec<(String, String, String)> {
        let v: serde_json::Value = serde_json::from_str(out).expect("JSON");
        v["metadata"]["managedFields"]
            .as_array()
            .expect("managedFields")
            .iter()
            .map(|e| {
                let s = |k: &str| e[k].as_str().unwrap_or("").to_string();
                (s("manager"), s("operation"), s("subresource"))
            })
            .collect()
    };
    let out = k
        .ok(&["get", "sts", "web", "-o", "json", "--show-managed-fields"])
        .await;
    let m = managers(&out);
    // kubectl scale sends no fieldManager: the User-Agent's `kubectl` on the scale subresource.
    for want in [
        ("kubectl", "Update", "scale"),
        ("kubectl-create", "Update", ""),
        ("kubectl-set", "Update", ""),
    ] {
        let want = (want.0.to_string(), want.1.to_string(), want.2.to_string());
        assert!(m.contains(&want), "{want:?} in {m:?}");
    }
    // kubectl hides them unless asked.
    assert!(
        !k.ok(&["get", "sts", "web", "-o", "json"])
            .await
            .contains("managedFields")
    );
    // Server-side apply of replicas 2 as "flux": the scale owns replicas (it changed it).
    let applied = std::env::temp_dir().join(format!("sts-sim-ssa-{}.yaml", std::process::id()));
    std::fs::write(
        &applied,
        std::fs::read_to_string(MANIFEST)
            .unwrap()
            .replace("replicas: 2", "replicas: 1"),
    )
    .unwrap();
    let path = applied.to_str().unwrap();
    let o = k
        .run(&["apply", "--server-side", "--field-manager=flux", "-f", path])
        .await;
    assert_ne!(o.code, 0, "{}", o.stdout);
    assert!(
        o.stderr.contains("Apply failed with 2 conflicts: conflicts with \"kubectl\" with subresource \"scale\" using apps/v1:\n- .spec.replicas\n")
            && o.stderr.contains("conflicts with \"kubectl-set\" using apps/v1:\n- .spec.template.spec.containers[name=\"nginx\"].image"),
        "{}",
        o.stderr
    );
    let out = k
        .ok(&[
            "apply",
            "--server-side",
            "--field-manager=flux",
            "--force-conflicts",
            "-f",
            path,
        ])
        .await;
    assert!(out.contains("statefulset.apps/web serverside-applied"), "{out}");
    let got = k
        .ok(&["get", "sts", "web", "-o", "json", "--show-managed-fields"])
        .await;
    assert!(
        managers(&got).contains(&("flux".into(), "Apply".into(), String::new())),
        "{got}"
    );
    assert!(got.contains("\"replicas\": 1"), "{got}");
    let _ = std::fs::remove_file(&applied);
    sim.shutdown().await;
}
