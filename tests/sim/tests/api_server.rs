//! API server semantics beyond CRUD: paginated lists from a consistent snapshot (and
//! 410 for an expired continue token), pods/eviction against a PodDisruptionBudget,
//! the status subresource split, the server going down and coming back, and the
//! request log's counts.

use std::time::Duration;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{Api, EvictParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;
use sts_sim::{Sim, SimConfig};

const TIMEOUT: Duration = Duration::from_secs(30);

fn svc(name: &str) -> Service {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
        "spec": {"clusterIP": "None", "ports": [{"port": 80}]}
    }))
    .unwrap()
}

fn names<K: kube::Resource>(items: &[K]) -> Vec<String> {
    items.iter().map(|o| o.meta().name.clone().unwrap()).collect()
}

async fn sim() -> Sim {
    Sim::start(SimConfig::default()).await.unwrap()
}

/// A client without kube-rs's default retry of 429/503/504 (RetryPolicy::server_retry),
/// so a test sees the server's first answer.
fn client_no_retry(sim: &Sim) -> kube::Client {
    let mut cfg = kube::Config::new(sim.url().parse().unwrap());
    cfg.default_namespace = "default".into();
    cfg.auth_info.token = Some(sts_sim::TOKEN.to_string().into());
    cfg.default_retry = false;
    kube::Client::try_from(cfg).unwrap()
}

fn api_code(e: kube::Error) -> u16 {
    match e {
        kube::Error::Api(s) => s.code,
        e => panic!("not an API error: {e:?}"),
    }
}

#[tokio::test]
async fn pages_come_from_one_snapshot_and_expired_tokens_get_410() {
    let sim = sim().await;
    let api: Api<Service> = Api::namespaced(sim.client(), "default");
    for n in ["b", "d", "f", "h"] {
        api.create(&PostParams::default(), &svc(n)).await.unwrap();
    }
    let p1 = api.list(&ListParams::default().limit(2)).await.unwrap();
    assert_eq!(names(&p1.items), ["b", "d"]);
    let token = p1.metadata.continue_.clone().expect("a continue token");
    assert_eq!(p1.metadata.remaining_item_count, Some(2));

    // Writes between pages: a new item after the cursor, one deleted, one changed.
    api.create(&PostParams::default(), &svc("e")).await.unwrap();
    api.delete("h", &Default::default()).await.unwrap();
    api.patch(
        "f",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"late": "yes"}}})),
    )
    .await
    .unwrap();
    let p2 = api
        .list(&ListParams::default().limit(2).continue_token(&token))
        .await
        .unwrap();
    // The first page's snapshot: f (unlabelled) and h, not e; same resourceVersion.
    assert_eq!(names(&p2.items), ["f", "h"]);
    assert!(p2.items[0].metadata.labels.is_none(), "f as of the snapshot");
    assert_eq!(p2.metadata.resource_version, p1.metadata.resource_version);
    assert_eq!(p2.metadata.continue_, None);

    // The token outlives the retained history: 410 Expired, as after etcd compaction.
    sim.faults().expire_watches();
    api.create(&PostParams::default(), &svc("z")).await.unwrap();
    let err = api
        .list(&ListParams::default().limit(2).continue_token(&token))
        .await
        .unwrap_err();
    match err {
        kube::Error::Api(s) => {
            assert_eq!((s.code, s.reason.as_str()), (410, "Expired"));
            assert!(
                s.message.starts_with("The provided continue parameter is too old"),
                "{}",
                s.message
            );
        }
        e => panic!("{e:?}"),
    }
    // A fresh list is fine.
    let all = api.list(&ListParams::default()).await.unwrap();
    assert_eq!(names(&all.items), ["b", "d", "e", "f", "z"]);
}

async fn running_pod(sim: &Sim, name: &str) -> Pod {
    let pods: Api<Pod> = Api::namespaced(sim.client(), "default");
    let pod: Pod = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "e"}},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]}
    }))
    .unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();
    let ready = |p: Option<&Pod>| {
        p.and_then(|p| p.status.as_ref())
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
    };
    tokio::time::timeout(TIMEOUT, kube::runtime::wait::await_condition(pods, name, ready))
        .await
        .expect("pod ready in time")
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn eviction_respects_a_disruption_budget() {
    let sim = sim().await;
    let pods: Api<Pod> = Api::namespaced(client_no_retry(&sim), "default");
    running_pod(&sim, "e-0").await;
    let pdbs: Api<PodDisruptionBudget> = Api::namespaced(sim.client(), "default");
    let pdb: PodDisruptionBudget = serde_json::from_value(json!({
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "e"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "e"}}}
    }))
    .unwrap();
    pdbs.create(&PostParams::default(), &pdb).await.unwrap();
    let err = pods.evict("e-0", &EvictParams::default()).await.unwrap_err();
    match err {
        kube::Error::Api(s) => {
            assert_eq!((s.code, s.reason.as_str()), (429, "TooManyRequests"));
            assert_eq!(
                s.message,
                "Cannot evict pod as it would violate the pod's disruption budget."
            );
        }
        e => panic!("{e:?}"),
    }
    assert!(
        pods.get("e-0").await.unwrap().metadata.deletion_timestamp.is_none(),
        "a refused eviction deletes nothing"
    );

    // Without a budget the eviction is a graceful delete.
    pdbs.delete("e", &Default::default()).await.unwrap();
    let st = pods.evict("e-0", &EvictParams::default()).await.unwrap();
    assert_eq!(st.status, Some(kube::core::response::StatusSummary::Success));
    let gone = pods.get_opt("e-0").await.unwrap();
    assert!(
        gone.is_none_or(|p| p.metadata.deletion_timestamp.is_some()),
        "evicted pod is terminating or gone"
    );
}

#[tokio::test]
async fn status_subresource_splits_spec_and_status_writes() {
    let sim = sim().await;
    let api: Api<StatefulSet> = Api::namespaced(sim.client(), "default");
    let sts: StatefulSet = serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "s"},
        "spec": {"replicas": 0, "serviceName": "s", "selector": {"matchLabels": {"app": "s"}},
            "template": {"metadata": {"labels": {"app": "s"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}},
        "status": {"replicas": 42}
    }))
    .unwrap();
    let created = api.create(&PostParams::default(), &sts).await.unwrap();
    assert_ne!(
        created.status.as_ref().map(|s| s.replicas),
        Some(42),
        "create drops status"
    );
    assert_eq!(created.metadata.generation, Some(1));

    // A status write through the main resource is ignored; a spec write bumps generation.
    let main = api
        .patch(
            "s",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 1}, "status": {"replicas": 42}})),
        )
        .await
        .unwrap();
    assert_eq!(main.metadata.generation, Some(2));
    assert_ne!(main.status.as_ref().map(|s| s.replicas), Some(42));

    // Through /status: spec changes are ignored, generation stays, status is written.
    let st = api
        .patch_status(
            "s",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 7}, "status": {"collisionCount": 9}})),
        )
        .await
        .unwrap();
    assert_eq!(st.spec.replicas, Some(1));
    assert_eq!(st.metadata.generation, Some(2));
    assert_eq!(st.status.unwrap().collision_count, Some(9));
}

#[tokio::test]
async fn server_goes_down_and_comes_back_on_the_same_port() {
    let sim = sim().await;
    let api: Api<Service> = Api::namespaced(sim.client(), "default");
    api.create(&PostParams::default(), &svc("a")).await.unwrap();
    sim.faults().set_server_up(false);
    // Down: the connection is refused (once the listener has stopped).
    let refused = tokio::time::timeout(TIMEOUT, async {
        loop {
            match sim.client().apiserver_version().await {
                Err(kube::Error::HyperError(_)) | Err(kube::Error::Service(_)) => return,
                Err(e) => panic!("unexpected error while down: {e:?}"),
                Ok(_) => tokio::task::yield_now().await,
            }
        }
    })
    .await;
    assert!(refused.is_ok(), "the server never went down");
    sim.faults().set_server_up(true);
    let back = tokio::time::timeout(TIMEOUT, async {
        loop {
            if let Ok(s) = api.get("a").await {
                return s;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the server came back");
    assert_eq!(back.metadata.name.as_deref(), Some("a"), "state survives the outage");
}

/// Down is a crash, not a drain: a connection still open when the server goes down (here
/// one that has sent half a request, as a client does mid-write) is cut, and the port
/// accepts again as soon as the server is back, whatever that connection was doing.
#[tokio::test]
async fn server_down_cuts_open_connections_and_comes_back_at_once() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let sim = sim().await;
    let api: Api<Service> = Api::namespaced(sim.client(), "default");
    api.create(&PostParams::default(), &svc("a")).await.unwrap();
    let mut open = tokio::net::TcpStream::connect(sim.addr()).await.unwrap();
    open.write_all(b"GET /api/v1/namespaces/default/services?watch=1&timeoutSeconds=300 HTTP/1.1\r\nHost: sim\r\n")
        .await
        .unwrap();
    sim.faults().set_server_up(false);
    let mut buf = [0u8; 64];
    let cut = tokio::time::timeout(TIMEOUT, open.read(&mut buf)).await;
    assert!(
        matches!(cut, Ok(Ok(0)) | Ok(Err(_))),
        "the open connection was not cut: {cut:?}"
    );
    sim.faults().set_server_up(true);
    let back = tokio::time::timeout(TIMEOUT, async {
        loop {
            if let Ok(s) = api.get("a").await {
                return s;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the server came back");
    assert_eq!(back.metadata.name.as_deref(), Some("a"));
}

#[tokio::test]
async fn request_log_counts_by_verb_and_resource() {
    let sim = sim().await;
    let api: Api<Service> = Api::namespaced(client_no_retry(&sim), "default");
    sim.requests().clear();
    api.create(&PostParams::default(), &svc("a")).await.unwrap();
    api.list(&ListParams::default()).await.unwrap();
    api.list(&ListParams::default()).await.unwrap();
    api.get("a").await.unwrap();
    assert_eq!(api_code(api.get("missing").await.unwrap_err()), 404);
    sim.faults().fail_next("list", "services", 503, 1);
    assert_eq!(api_code(api.list(&ListParams::default()).await.unwrap_err()), 503);
    let r = sim.requests();
    assert_eq!(r.count("create", "services"), 1);
    assert_eq!(r.count("list", "services"), 3);
    assert_eq!(r.count("get", "services"), 2);
    assert_eq!(r.count("watch", "services"), 0);
    let statuses: Vec<u16> = r.for_resource("services").iter().map(|x| x.status).collect();
    assert_eq!(statuses, [201, 200, 200, 200, 404, 503]);
    let last = r.all().pop().unwrap();
    assert_eq!(
        (last.method.as_str(), last.path.as_str()),
        ("GET", "/api/v1/namespaces/default/services")
    );
}

/// SelfSubjectAccessReview answers from the RBAC rules the server enforces: the JSON
/// that kube-rs sends and the protobuf that kubectl's typed client sends (`kubectl auth
/// can-i`), under denials and an allowlist; creating one is never denied by a Role.
#[tokio::test]
async fn access_reviews_answer_from_the_enforced_rules() {
    use k8s_openapi::api::authorization::v1::SelfSubjectAccessReview;
    let sim = sim().await;
    let reviews: Api<SelfSubjectAccessReview> = Api::all(sim.client());
    let ask = |verb: &str, resource: &str, sub: Option<&str>| {
        serde_json::from_value::<SelfSubjectAccessReview>(json!({
            "spec": {"resourceAttributes": {"namespace": "default", "verb": verb, "resource": resource, "subresource": sub}}
        }))
        .unwrap()
    };
    let allowed = |r: SelfSubjectAccessReview| r.status.unwrap().allowed;
    let pp = PostParams::default();
    assert!(allowed(
        reviews.create(&pp, &ask("delete", "pods", None)).await.unwrap()
    ));

    sim.faults().deny("delete", "pods");
    sim.faults().deny("create", "pods/exec");
    assert!(!allowed(
        reviews.create(&pp, &ask("delete", "pods", None)).await.unwrap()
    ));
    assert!(!allowed(
        reviews.create(&pp, &ask("create", "pods", Some("exec"))).await.unwrap()
    ));
    assert!(allowed(
        reviews.create(&pp, &ask("get", "pods", Some("exec"))).await.unwrap()
    ));
    // What the review says is what the request gets.
    let pods: Api<Pod> = Api::default_namespaced(sim.client());
    let e = pods.delete("nothing", &Default::default()).await.unwrap_err();
    assert_eq!(api_code(e), 403);

    sim.faults().allow_all();
    sim.faults().allow_only([sts_sim::faults::Matcher::new("get", "pods")]);
    assert!(allowed(reviews.create(&pp, &ask("get", "pods", None)).await.unwrap()));
    assert!(!allowed(reviews.create(&pp, &ask("list", "pods", None)).await.unwrap()));

    // Neither or both attribute sets: 422, as the API server validates.
    let bad: SelfSubjectAccessReview = serde_json::from_value(json!({"spec": {}})).unwrap();
    assert_eq!(api_code(reviews.create(&pp, &bad).await.unwrap_err()), 422);

    // Real kubectl, whose typed client posts protobuf.
    if std::process::Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        // (tokio's process: a blocking wait would stall the sim on this test's runtime)
        let can_i = async |args: &[&str]| {
            let out = tokio::process::Command::new("kubectl")
                .env("KUBECONFIG", sim.kubeconfig_path())
                .args(["auth", "can-i"])
                .args(args)
                .output()
                .await
                .unwrap();
            (
                out.status.code(),
                String::from_utf8_lossy(&out.stdout).trim().to_string(),
            )
        };
        assert_eq!(can_i(&["get", "pods"]).await, (Some(0), "yes".into()));
        assert_eq!(can_i(&["list", "pods"]).await, (Some(1), "no".into()));
        assert_eq!(can_i(&["get", "/healthz"]).await, (Some(0), "yes".into()));
    } else {
        eprintln!("kubectl not installed: skipping its part");
    }
}
