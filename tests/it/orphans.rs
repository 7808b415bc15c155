//! `kubectl sts orphans [prune]` end-to-end against the simulated cluster.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::support::*;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Namespace, PersistentVolumeClaim, Pod};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::wait::{await_condition, conditions};
use serde_json::{Value, json};

const NS: &str = "default";

async fn wait_gone<K>(api: Api<K>, name: &str)
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + 'static,
{
    let Some(obj) = api.get_opt(name).await.unwrap() else {
        return;
    };
    let uid = obj.meta().uid.clone().unwrap_or_default();
    tokio::time::timeout(
        Duration::from_secs(30),
        await_condition(api, name, conditions::is_deleted(&uid)),
    )
    .await
    .unwrap_or_else(|_| panic!("{name} was not deleted within 30s"))
    .unwrap();
}

async fn scale(client: &kube::Client, ns: &str, name: &str, replicas: i32) {
    let api: Api<StatefulSet> = Api::namespaced(client.clone(), ns);
    api.patch(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": replicas}})),
    )
    .await
    .unwrap();
    wait_sts(client, ns, name, settled()).await;
}

/// The seed at 3 replicas, then scaled in to 2 (pod web-2 gone, its claim kept).
async fn seed_scaled_in(sim: &Sim) -> kube::Client {
    let client = sim.client();
    apply_seed(&client, NS).await;
    wait_sts(&client, NS, "web", settled()).await;
    scale(&client, NS, "web", 3).await;
    scale(&client, NS, "web", 2).await;
    wait_gone(Api::<Pod>::namespaced(client.clone(), NS), "web-2").await;
    client
}

async fn create_json<K>(api: &Api<K>, v: Value) -> K
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    api.create(&PostParams::default(), &serde_json::from_value(v).unwrap())
        .await
        .unwrap()
}

fn pvc(name: &str, labels: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "labels": labels},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, "storageClassName": "standard"}
    })
}

fn pod_mounting(name: &str, claim: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "reporter"}},
        "spec": {"containers": [{"name": "c", "image": "busybox", "volumeMounts": [{"name": "v", "mountPath": "/v"}]}],
                 "volumes": [{"name": "v", "persistentVolumeClaim": {"claimName": claim}}]}
    })
}

fn sts(name: &str, template: &str, replicas: i32, extra_spec: Value) -> Value {
    let mut v = json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas, "serviceName": name,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "c", "image": "nginx",
                "volumeMounts": [{"name": template, "mountPath": "/data"}]}]}},
            "volumeClaimTemplates": [{"metadata": {"name": template}, "spec": {"accessModes": ["ReadWriteOnce"],
                "storageClassName": "standard", "resources": {"requests": {"storage": "2Gi"}}}}]
        }
    });
    if let (Some(spec), Some(extra)) = (v["spec"].as_object_mut(), extra_spec.as_object()) {
        for (k, x) in extra {
            spec.insert(k.clone(), x.clone());
        }
    }
    v
}

/// claim name -> its entry, over every cluster of a report.
fn claims(r: &Value) -> BTreeMap<String, Value> {
    r["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["claims"].as_array().unwrap().iter())
        .map(|c| (c["name"].as_str().unwrap().to_string(), c.clone()))
        .collect()
}

async fn report(sim: &Sim, args: &[&str]) -> Value {
    let mut all = vec!["orphans", "-o", "json"];
    all.extend_from_slice(args);
    let o = kubectl_sts(sim, &all).await;
    o.assert_exit(0);
    json(&o)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_scale_in_then_statefulset_deleted() {
    let sim = sim().await;
    let client = seed_scaled_in(&sim).await;

    let r = report(&sim, &[]).await;
    assert_eq!(r["kind"], "OrphanReport");
    let m = claims(&r);
    assert_eq!(m.keys().collect::<Vec<_>>(), vec!["disk-ssd-web-2"], "{r:#}");
    let c = &m["disk-ssd-web-2"];
    assert_eq!(c["reason"], "scaled-in");
    assert_eq!(c["statefulSet"], "web");
    assert_eq!(c["template"], "disk-ssd");
    assert_eq!(c["ordinal"], 2);
    assert_eq!(c["cleanup"], "never");
    assert_eq!(c["capacity"], "20Gi");
    assert_eq!(c["capacityBytes"], 20u64 << 30);
    assert_eq!(c["storageClass"], SEED_STORAGE_CLASS);
    assert!(c["reclaimPolicy"].is_string(), "{c:#}");
    assert_eq!(c["lastMounted"]["pod"], "web-2");
    assert_eq!(r["totals"]["orphans"], 1);
    assert_eq!(r["totals"]["byStorageClass"][0]["capacity"], "20Gi");

    // Table: the documented columns, the row, the footer; --fail-on-orphans exits 1.
    let o = kubectl_sts(&sim, &["orphans", "--fail-on-orphans"]).await;
    o.assert_exit(1);
    let out = stdout(&o);
    let header = out.lines().next().unwrap();
    for col in [
        "NAME",
        "STATEFULSET",
        "ORDINAL",
        "REASON",
        "CAPACITY",
        "STORAGECLASS",
        "PV",
        "RECLAIM",
        "AGE",
    ] {
        assert!(header.contains(col), "{out}");
    }
    assert!(!header.contains("NAMESPACE"), "{out}");
    let row = out.lines().nth(1).unwrap();
    assert!(
        row.starts_with("disk-ssd-web-2 ") && row.contains(" scaled-in "),
        "{out}"
    );
    assert!(out.contains(&format!("{SEED_STORAGE_CLASS}: 1 claim, 20Gi")), "{out}");
    let wide = stdout(&kubectl_sts(&sim, &["orphans", "-o", "wide"]).await.output);
    assert!(
        wide.contains("ACCESS MODES") && wide.contains("RWO") && wide.contains("pod web-2"),
        "{wide}"
    );

    // Delete the StatefulSet (background cascade): every claim is a deleted set's leftover.
    let api: Api<StatefulSet> = Api::namespaced(client.clone(), NS);
    api.delete("web", &DeleteParams::background()).await.unwrap();
    wait_gone(api, "web").await;
    for p in ["web-0", "web-1"] {
        wait_gone(Api::<Pod>::namespaced(client.clone(), NS), p).await;
    }
    let r = report(&sim, &[]).await;
    let m = claims(&r);
    assert_eq!(m.len(), 3, "{r:#}");
    for i in 0..3 {
        let c = &m[&format!("disk-ssd-web-{i}")];
        assert_eq!(c["reason"], "statefulset-deleted", "{c:#}");
        assert_eq!(c["statefulSet"], "web");
        assert_eq!(c["ordinal"], i);
        assert_eq!(c["confidence"], "high", "{c:#}");
        assert_eq!(c["prunable"], true);
    }
    assert_eq!(r["totals"]["orphanCapacity"], "60Gi");
}

/// The four retention policies, each scaled 2 -> 1 and then deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_policies_all_four() {
    let sim = sim().await;
    let client = sim.client();
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), NS);
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), NS);
    let combos = [
        ("rr", "Retain", "Retain"),
        ("dr", "Delete", "Retain"),
        ("rd", "Retain", "Delete"),
        ("dd", "Delete", "Delete"),
    ];
    for (name, deleted, scaled) in combos {
        let policy = json!({"persistentVolumeClaimRetentionPolicy": {"whenDeleted": deleted, "whenScaled": scaled}});
        create_json(&sets, sts(name, "data", 2, policy)).await;
    }
    for (name, ..) in combos {
        wait_sts(&client, NS, name, settled()).await;
        scale(&client, NS, name, 1).await;
        wait_gone(Api::<Pod>::namespaced(client.clone(), NS), &format!("{name}-1")).await;
    }
    // whenScaled: Delete -> the controller made the pod own the claim; the GC removes it.
    wait_gone(pvcs.clone(), "data-rd-1").await;
    wait_gone(pvcs.clone(), "data-dd-1").await;

    let m = claims(&report(&sim, &[]).await);
    assert_eq!(
        m.keys().cloned().collect::<Vec<_>>(),
        vec!["data-dr-1", "data-rr-1"],
        "{m:#?}"
    );
    assert_eq!(m["data-rr-1"]["reason"], "scaled-in");
    assert_eq!(m["data-rr-1"]["cleanup"], "never");
    assert_eq!(m["data-dr-1"]["reason"], "scaled-in");
    assert_eq!(m["data-dr-1"]["cleanup"], "with-statefulset", "{:#}", m["data-dr-1"]);

    for (name, ..) in combos {
        sets.delete(name, &DeleteParams::background()).await.unwrap();
    }
    for (name, ..) in combos {
        wait_gone(sets.clone(), name).await;
        wait_gone(Api::<Pod>::namespaced(client.clone(), NS), &format!("{name}-0")).await;
    }
    // whenDeleted: Delete -> owned by the set; the GC removes the claims with it.
    for c in ["data-dr-0", "data-dr-1", "data-dd-0"] {
        wait_gone(pvcs.clone(), c).await;
    }
    let m = claims(&report(&sim, &[]).await);
    assert_eq!(
        m.keys().cloned().collect::<Vec<_>>(),
        vec!["data-rd-0", "data-rr-0", "data-rr-1"],
        "{m:#?}"
    );
    for c in m.values() {
        assert_eq!(c["reason"], "statefulset-deleted", "{c:#}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exact_names_dashes_start_ordinal_and_foreign_mounts() {
    let sim = sim().await;
    let client = sim.client();
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), NS);
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), NS);
    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
    create_json(&sets, sts("web", "data", 2, json!({}))).await;
    create_json(&sets, sts("my-db", "data-vol", 1, json!({}))).await;
    create_json(&sets, sts("ord", "data", 1, json!({"ordinals": {"start": 5}}))).await;
    for s in ["web", "my-db", "ord"] {
        wait_sts(&client, NS, s, settled()).await;
    }
    let app = |a: &str| json!({"app": a});
    for (name, labels) in [
        ("data-web-10", app("web")),       // ordinal 10 of web: scaled-in, not web-1's
        ("data-web-1-backup", app("web")), // not a claim name of anything
        ("data-vol-my-db-4", app("my-db")),
        ("data-ord-4", app("ord")),      // below the start ordinal
        ("data-ord-6", app("ord")),      // above the range [5, 6)
        ("data-web-7", app("reporter")), // mounted by a non-StatefulSet pod
    ] {
        create_json(&pvcs, pvc(name, labels)).await;
    }
    create_json(&pods, pod_mounting("reporter-5d4f-x2k9p", "data-web-7")).await;

    let m = claims(&report(&sim, &[]).await);
    assert_eq!(
        m.keys().cloned().collect::<Vec<_>>(),
        vec!["data-ord-4", "data-ord-6", "data-vol-my-db-4", "data-web-10"],
        "{m:#?}"
    );
    assert_eq!(
        (&m["data-web-10"]["statefulSet"], &m["data-web-10"]["ordinal"]),
        (&json!("web"), &json!(10))
    );
    assert_eq!(m["data-vol-my-db-4"]["reason"], "scaled-in");
    assert_eq!(m["data-vol-my-db-4"]["statefulSet"], "my-db");
    assert_eq!(m["data-vol-my-db-4"]["template"], "data-vol");
    assert_eq!(m["data-ord-4"]["reason"], "scaled-in");
    assert!(
        m["data-ord-4"]["note"]
            .as_str()
            .unwrap()
            .contains("below the start ordinal 5"),
        "{:#}",
        m["data-ord-4"]
    );
    assert_eq!(m["data-ord-6"]["reason"], "scaled-in");
    // In-range claims of live pods (data-web-0/1, data-ord-5, data-vol-my-db-0) are in use.

    // --include-unmounted adds the claim that matches nothing, labelled so.
    let m = claims(&report(&sim, &["--include-unmounted"]).await);
    assert_eq!(m["data-web-1-backup"]["reason"], "unmounted");
    assert!(m["data-web-1-backup"]["statefulSet"].is_null());
    assert!(!m.contains_key("data-web-7"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_namespaces_and_selector() {
    let sim = sim().await;
    let client = sim.client();
    let nss: Api<Namespace> = Api::all(client.clone());
    create_json(&nss, json!({"metadata": {"name": "team-b"}})).await;
    let a: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), NS);
    let b: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), "team-b");
    for i in 0..2 {
        create_json(&a, pvc(&format!("data-old-{i}"), json!({"app": "old"}))).await;
        create_json(&b, pvc(&format!("cache-gone-db-{i}"), json!({"app": "gone"}))).await;
    }
    // Only the current namespace without -A.
    let m = claims(&report(&sim, &[]).await);
    assert_eq!(m.keys().cloned().collect::<Vec<_>>(), vec!["data-old-0", "data-old-1"]);

    let r = report(&sim, &["-A"]).await;
    assert!(r["clusters"][0]["namespace"].is_null());
    let m = claims(&r);
    assert_eq!(m.len(), 4, "{m:#?}");
    assert_eq!(m["cache-gone-db-1"]["namespace"], "team-b");
    assert_eq!(m["cache-gone-db-1"]["statefulSet"], "gone-db");
    assert_eq!(m["cache-gone-db-1"]["confidence"], "high");

    let out = stdout(&kubectl_sts(&sim, &["orphans", "-A"]).await.output);
    assert!(out.lines().next().unwrap().starts_with("NAMESPACE "), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("team-b ") && l.contains("cache-gone-db-0")),
        "{out}"
    );

    let m = claims(&report(&sim, &["-A", "-l", "app=gone"]).await);
    assert_eq!(
        m.keys().cloned().collect::<Vec<_>>(),
        vec!["cache-gone-db-0", "cache-gone-db-1"]
    );

    // A namespace that does not exist is bad input, not an empty report.
    let o = kubectl_sts(&sim, &["orphans", "-n", "nosuch"]).await;
    o.assert_exit(2);
    assert!(one_line_error(&o).contains("namespace \"nosuch\" not found"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_contexts_one_unreachable() {
    let sim = sim().await;
    seed_scaled_in(&sim).await;
    // A port nobody listens on.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let kc = std::env::temp_dir().join(format!("orphans-fleet-{}.yaml", std::process::id()));
    let yaml = sts_sim::kubeconfig_yaml(&sim.url()).replace(
        "current-context: sts-sim\n",
        "- name: dead\n  context:\n    cluster: dead\n    namespace: default\n    user: sts-sim\ncurrent-context: sts-sim\n",
    );
    let yaml = yaml.replace(
        "contexts:\n",
        &format!("- name: dead\n  cluster:\n    server: http://127.0.0.1:{dead}\ncontexts:\n"),
    );
    std::fs::write(&kc, yaml).unwrap();

    for args in [
        vec!["orphans", "--context", "sts-sim", "--context", "dead"],
        vec!["orphans", "--all-contexts"],
    ] {
        let o = kubectl_sts_with_kubeconfig(&kc, &args).await;
        o.assert_exit(3);
        let out = stdout(&o);
        assert!(out.contains("== context sts-sim ("), "{out}");
        assert!(out.contains("== context dead ("), "{out}");
        assert!(
            out.lines()
                .any(|l| l.starts_with("sts-sim ") && l.contains("disk-ssd-web-2")),
            "{out}"
        );
        assert!(out.contains("cannot reach the API server"), "{out}");
        assert!(
            stderr(&o).contains("context \"dead\" was not audited"),
            "{}",
            stderr(&o)
        );
    }
    let o = kubectl_sts_with_kubeconfig(
        &kc,
        &["orphans", "--context", "sts-sim", "--context", "dead", "-o", "json"],
    )
    .await;
    o.assert_exit(3);
    let r = json(&o);
    assert_eq!(r["clusters"][0]["context"], "sts-sim");
    assert!(r["clusters"][0]["error"].is_null());
    assert_eq!(r["clusters"][0]["claims"][0]["name"], "disk-ssd-web-2");
    assert_eq!(r["clusters"][1]["context"], "dead");
    assert!(
        r["clusters"][1]["error"]
            .as_str()
            .unwrap()
            .contains("connection refused")
    );
    // A single --context still works like the global flag.
    let o = kubectl_sts_with_kubeconfig(&kc, &["orphans", "--context", "sts-sim"]).await;
    o.assert_exit(0);
    let _ = std::fs::remove_file(&kc);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pv_list_forbidden_degrades() {
    let sim = sim().await;
    seed_scaled_in(&sim).await;
    sim.faults().deny("list", "persistentvolumes");
    let o = kubectl_sts(&sim, &["orphans"]).await;
    o.assert_exit(0);
    let out = stdout(&o);
    assert!(!out.contains("RECLAIM"), "{out}");
    assert!(out.contains("disk-ssd-web-2"), "{out}");
    let err = stderr(&o);
    assert!(err.starts_with("warning: cannot read PersistentVolumes"), "{err}");
    assert!(err.contains("RECLAIM column is left out"), "{err}");
    let r = report(&sim, &[]).await;
    assert_eq!(r["clusters"][0]["reclaimPoliciesKnown"], false);
    assert!(r["clusters"][0]["claims"][0]["reclaimPolicy"].is_null());
    assert_eq!(r["clusters"][0]["warnings"].as_array().unwrap().len(), 1);
}

/// Lists per resource do not grow with the object count; no per-object GETs at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixed_list_calls() {
    let sim = sim().await;
    let client = sim.client();
    let nss: Api<Namespace> = Api::all(client.clone());
    for n in 0..3 {
        let ns = format!("bench-{n}");
        create_json(&nss, json!({"metadata": {"name": ns}})).await;
        let sets: Api<StatefulSet> = Api::namespaced(client.clone(), &ns);
        let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), &ns);
        for s in ["db", "cache"] {
            create_json(&sets, sts(s, "data", 1, json!({}))).await;
            create_json(&pvcs, pvc(&format!("data-{s}-3"), json!({"app": s}))).await;
        }
        for i in 0..2 {
            create_json(&pvcs, pvc(&format!("data-gone-{i}"), json!({"app": "gone"}))).await;
        }
        for s in ["db", "cache"] {
            wait_sts(&client, &ns, s, settled()).await;
        }
    }
    sim.requests().clear();
    let r = report(&sim, &["-A"]).await;
    let t = &r["totals"];
    assert_eq!(t["scaledIn"], 6, "{t:#}");
    assert_eq!(t["statefulsetDeleted"], 6, "{t:#}");
    let reqs = sim.requests().all();
    for res in [
        "statefulsets",
        "persistentvolumeclaims",
        "pods",
        "persistentvolumes",
        "events",
    ] {
        assert_eq!(sim.requests().count("list", res), 1, "{res}: {reqs:#?}");
    }
    let other: Vec<_> = reqs.iter().filter(|r| r.verb != "list").collect();
    assert!(other.is_empty(), "{other:#?}");
    assert_eq!(reqs.len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_dry_run_then_yes_deletes_exactly_the_plan() {
    let sim = sim().await;
    let client = seed_scaled_in(&sim).await;
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), NS);
    // A name-only leftover (no labels, no events): reported, never pruned.
    create_json(&pvcs, pvc("cache-tmp-0", json!(null))).await;

    let o = kubectl_sts(&sim, &["orphans", "prune", "--dry-run"]).await;
    o.assert_exit(0);
    let out = stdout(&o);
    assert!(out.contains("Plan: delete 1 PersistentVolumeClaim (20Gi)"), "{out}");
    assert!(
        out.contains("disk-ssd-web-2") && out.contains("Dry run: nothing was deleted."),
        "{out}"
    );
    assert!(
        out.contains("Not planned: 1 orphan") && out.contains("default/cache-tmp-0"),
        "{out}"
    );
    assert_eq!(sim.requests().count("delete", "persistentvolumeclaims"), 0);
    assert!(pvcs.get_opt("disk-ssd-web-2").await.unwrap().is_some());

    // No terminal and no --yes: refused, nothing deleted.
    let o = kubectl_sts(&sim, &["orphans", "prune"]).await;
    o.assert_exit(2);
    assert!(stderr(&o).contains("--yes"));
    assert_eq!(sim.requests().count("delete", "persistentvolumeclaims"), 0);

    let o = kubectl_sts(&sim, &["orphans", "prune", "--yes"]).await;
    o.assert_exit(0);
    let out = stdout(&o);
    assert!(out.contains("persistentvolumeclaim/disk-ssd-web-2 deleted"), "{out}");
    assert!(out.contains("Deleted 1, skipped 0, failed 0."), "{out}");
    assert_eq!(sim.requests().count("delete", "persistentvolumeclaims"), 1);
    wait_gone(pvcs.clone(), "disk-ssd-web-2").await;
    for keep in ["disk-ssd-web-0", "disk-ssd-web-1", "cache-tmp-0"] {
        assert!(pvcs.get_opt(keep).await.unwrap().is_some(), "{keep} must survive");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_skips_a_claim_mounted_after_the_plan() {
    let sim = sim().await;
    let client = sim.client();
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), NS);
    // Two leftovers of a deleted StatefulSet (same labels: high confidence).
    for i in 0..2 {
        create_json(&pvcs, pvc(&format!("data-gone-{i}"), json!({"app": "gone"}))).await;
    }
    // Hold every re-check GET so a pod can start using data-gone-0 after the plan.
    sim.faults()
        .slow("get", "persistentvolumeclaims", Duration::from_millis(1500));
    sim.requests().clear();
    let run = tokio::spawn({
        let kc = sim.kubeconfig_path();
        async move { kubectl_sts_with_kubeconfig(&kc, &["orphans", "prune", "--yes", "-o", "json"]).await }
    });
    // The plan is made from five lists; the log records a request once answered.
    tokio::time::timeout(Duration::from_secs(20), async {
        let lists = [
            "statefulsets",
            "persistentvolumeclaims",
            "pods",
            "persistentvolumes",
            "events",
        ];
        while lists.iter().any(|r| sim.requests().count("list", r) == 0) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the plan's lists");
    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
    create_json(&pods, pod_mounting("late-user", "data-gone-0")).await;

    let o = run.await.unwrap();
    o.assert_exit(0);
    let r = json(&o);
    assert_eq!(r["kind"], "OrphanPrune");
    assert_eq!(r["plan"].as_array().unwrap().len(), 2, "{r:#}");
    let results: BTreeMap<&str, (&str, &str)> = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["name"].as_str().unwrap(),
                (x["result"].as_str().unwrap(), x["detail"].as_str().unwrap()),
            )
        })
        .collect();
    assert_eq!(
        results["data-gone-0"],
        ("skipped", "now mounted by pod late-user"),
        "{r:#}"
    );
    assert_eq!(results["data-gone-1"].0, "deleted", "{r:#}");
    assert!(pvcs.get_opt("data-gone-0").await.unwrap().is_some());
    wait_gone(pvcs, "data-gone-1").await;
}

/// Not a timed test: the 10,000-claim figure for the report. Run with
/// `cargo test -p kubectl-sts --test it orphans::bench_ten_thousand -- --ignored --nocapture`:
/// 100 namespaces x 10 StatefulSets x 9 replicas (9,000 pods), plus one scaled-in
/// claim per set (10,000 PVCs, 1,000 of them orphans), then
/// `/usr/bin/time -v kubectl-sts orphans -A -o json`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: seeds 10,000 PVCs"]
async fn bench_ten_thousand_claims() {
    // Enough watch history that the settle waits never see 410 Gone.
    let sim = sim_with(|c| c.watch_history = 2_000_000).await;
    let client = sim.client();
    let nss: Api<Namespace> = Api::all(client.clone());
    let started = std::time::Instant::now();
    let namespaces: Vec<String> = (0..100).map(|n| format!("bench-{n}")).collect();
    futures::future::join_all(namespaces.iter().map(|ns| {
        let client = client.clone();
        let nss = nss.clone();
        async move {
            create_json(&nss, json!({"metadata": {"name": ns}})).await;
            let sets: Api<StatefulSet> = Api::namespaced(client.clone(), ns);
            let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), ns);
            for i in 0..10 {
                let name = format!("db-{i}");
                create_json(&sets, sts(&name, "data", 9, json!({"podManagementPolicy": "Parallel"}))).await;
                create_json(&pvcs, pvc(&format!("data-{name}-9"), json!({"app": name}))).await;
            }
            for i in 0..10 {
                tokio::time::timeout(
                    Duration::from_secs(600),
                    await_condition(sets.clone(), &format!("db-{i}"), settled()),
                )
                .await
                .expect("settled")
                .unwrap();
            }
        }
    }))
    .await;
    eprintln!("seeded in {:?}", started.elapsed());
    let kc = sim.kubeconfig_path();
    let o = run_async(
        tokio::process::Command::new("/usr/bin/time")
            .arg("-v")
            .arg(env!("CARGO_BIN_EXE_kubectl-sts"))
            .arg("--kubeconfig")
            .arg(&kc)
            .args(["orphans", "-A", "-o", "json"]),
    )
    .await;
    o.assert_exit(0);
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    eprintln!("totals: {}", r["totals"]);
    let err = String::from_utf8_lossy(&o.stderr);
    for l in err.lines().filter(|l| {
        l.contains("Elapsed (wall clock)")
            || l.contains("Maximum resident")
            || l.contains("User time")
            || l.contains("System time")
    }) {
        eprintln!("{}", l.trim());
    }
    assert_eq!(r["totals"]["scaledIn"], 1000);
}
