//! Bulk seeding (`SimConfig::seed`, `sts-sim --seed-*`): the state is written before the
//! controllers start and is exactly what they would converge to, so they find every set
//! settled and write nothing (no 409 race, no rolling update of thousands of pods).

use std::time::Duration;

use serde_json::json;
use sts_sim::seed::BulkSeed;
use sts_sim::store::Key;
use sts_sim::{Sim, SimConfig};

fn rv(o: &serde_json::Value) -> u64 {
    o["metadata"]["resourceVersion"].as_str().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_seed_starts_settled_and_the_controllers_write_nothing() {
    let seed = BulkSeed {
        namespaces: 3,
        statefulsets: 4,
        replicas: 3,
        orphans: 2,
    };
    let sim = Sim::start(SimConfig {
        seed: Some(seed),
        ..SimConfig::default()
    })
    .await
    .expect("seeded sim starts");
    let store = &sim.ctx().store;
    // The last object the seeder writes: every seeded object has this RV or less.
    let last = store
        .get(&Key::new("persistentvolumes", "", "pvc-bench-2-data-gone-1-0"))
        .expect("last seeded PV");
    let seeded_rv = rv(&last);

    // A probe StatefulSet created after start: once its pod is Ready, the StatefulSet
    // controller has synced every seeded set (its start-up resync came first) and the
    // kubelet has taken up every seeded pod.
    let mut events = store.subscribe();
    store
        .create(
            "default",
            "statefulsets",
            json!({"metadata": {"name": "probe"}, "spec": {"replicas": 1, "serviceName": "probe",
                "selector": {"matchLabels": {"app": "probe"}},
                "template": {"metadata": {"labels": {"app": "probe"}}, "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}}}}),
        )
        .expect("probe set");
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let ev = events.recv().await.expect("store events");
            if ev.key.plural == "statefulsets"
                && ev.key.name == "probe"
                && ev.object["status"]["readyReplicas"].as_i64() == Some(1)
            {
                return;
            }
        }
    })
    .await
    .expect("probe set becomes ready");

    // Nothing seeded was written again.
    for plural in [
        "statefulsets",
        "pods",
        "persistentvolumeclaims",
        "persistentvolumes",
        "controllerrevisions",
    ] {
        for o in store.list(plural, None).0 {
            let ns = o["metadata"]["namespace"].as_str().unwrap_or("");
            let name = o["metadata"]["name"].as_str().unwrap_or("");
            if ns.starts_with("bench-") || (plural == "persistentvolumes" && name.starts_with("pvc-bench-")) {
                assert!(
                    rv(&o) <= seeded_rv,
                    "{plural} {ns}/{name} was rewritten after seeding: {o}"
                );
            }
        }
    }
    let count = |plural: &str| {
        store
            .list(plural, None)
            .0
            .iter()
            .filter(|o| {
                o["metadata"]["namespace"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("bench-"))
            })
            .count()
    };
    // 3 namespaces x (4 sets x (3 + 2 scaled-in) claims + 2 deleted-set claims).
    assert_eq!(count("persistentvolumeclaims"), 3 * (4 * 5 + 2));
    assert_eq!(count("pods"), 3 * 4 * 3);
    assert_eq!(
        count("controllerrevisions"),
        3 * 4,
        "one revision per set, none created by the controller"
    );
    let set = store
        .get(&Key::new("statefulsets", "bench-1", "db-2"))
        .expect("seeded set");
    assert_eq!(set["status"]["readyReplicas"], 3);
    assert_eq!(set["status"]["currentRevision"], set["status"]["updateRevision"]);
    sim.shutdown().await;
}
