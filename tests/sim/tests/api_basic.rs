//! The API server against kube-rs: CRUD, scale subresource conflicts, pagination,
//! RBAC faults and request counting.

use k8s_openapi::api::apps::v1::StatefulSet;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;
use sts_sim::{Sim, SimConfig};

fn sts(name: &str, replicas: i32) -> StatefulSet {
    serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": name},
        "spec": {"replicas": replicas, "serviceName": name, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}}}
    }))
    .unwrap()
}

#[tokio::test]
async fn crud_scale_conflict_pagination_and_faults() {
    let sim = Sim::start(SimConfig::default()).await.unwrap();
    let api: Api<StatefulSet> = Api::namespaced(sim.client(), "default");
    let created = api.create(&PostParams::default(), &sts("web", 2)).await.unwrap();
    let spec = &created.spec;
    assert_eq!(spec.pod_management_policy.as_deref(), Some("OrderedReady"));
    assert_eq!(spec.revision_history_limit, Some(10));

    // Scale with a stale resourceVersion: 409 Conflict on statefulsets.apps.
    let stale = api.get_scale("web").await.unwrap();
    api.patch(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"x": "y"}}})),
    )
    .await
    .unwrap();
    let mut s = stale.clone();
    s.spec.as_mut().unwrap().replicas = Some(3);
    let err = api.replace_scale("web", &PostParams::default(), &s).await.unwrap_err();
    match err {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 409);
            assert!(s.message.contains("statefulsets.apps \"web\""), "{}", s.message);
        }
        e => panic!("unexpected {e:?}"),
    }

    // Negative replicas: 422 on Scale.autoscaling.
    let err = api
        .patch_scale(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": -1}})),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, kube::Error::Api(ref s) if s.code == 422), "{err:?}");

    // Pagination: 5 objects, limit 2 -> 3 pages with continue tokens.
    for i in 0..4 {
        api.create(&PostParams::default(), &sts(&format!("s{i}"), 0))
            .await
            .unwrap();
    }
    let mut names = Vec::new();
    let mut lp = ListParams::default().limit(2);
    loop {
        let page = api.list(&lp).await.unwrap();
        names.extend(page.items.iter().map(|s| s.metadata.name.clone().unwrap()));
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(c) => lp = lp.continue_token(&c),
            None => break,
        }
    }
    assert_eq!(names, ["s0", "s1", "s2", "s3", "web"]);
    assert_eq!(sim.requests().count("list", "statefulsets"), 3);

    // RBAC denial: real-shaped 403.
    sim.faults().deny("delete", "statefulsets");
    let err = api.delete("web", &Default::default()).await.unwrap_err();
    match err {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 403);
            assert!(
                s.message
                    .contains("cannot delete resource \"statefulsets\" in API group \"apps\""),
                "{}",
                s.message
            );
        }
        e => panic!("unexpected {e:?}"),
    }
    sim.faults().allow_all();
    sim.faults().fail_next("get", "statefulsets", 500, 1);
    assert!(api.get("web").await.is_err());
    assert!(api.get("web").await.is_ok());
    sim.shutdown().await;
}

/// A list across namespaces, one item per page, where one namespace's name is a prefix
/// of another's (`a`, `a-b`): every object comes exactly once, in etcd's key order
/// (`a-b/…` sorts before `a/…` because `-` < `/`), and writes made between pages do not
/// show up (later pages are read at the first page's revision).
#[tokio::test]
async fn paginated_list_across_prefix_namespaces_is_complete_and_consistent() {
    use k8s_openapi::api::core::v1::{Namespace, Service};
    let svc = |n: &str| -> Service {
        serde_json::from_value(json!({"metadata": {"name": n}, "spec": {"ports": [{"port": 80}]}})).unwrap()
    };
    let sim = Sim::start(SimConfig::default()).await.unwrap();
    let nss: Api<Namespace> = Api::all(sim.client());
    for ns in ["a", "a-b", "b"] {
        nss.create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap(),
        )
        .await
        .unwrap();
        let cms: Api<Service> = Api::namespaced(sim.client(), ns);
        for n in ["x", "y"] {
            cms.create(&PostParams::default(), &svc(n)).await.unwrap();
        }
    }
    let all: Api<Service> = Api::all(sim.client());
    let mut seen = Vec::new();
    let mut lp = ListParams::default().limit(1);
    loop {
        let page = all.list(&lp).await.unwrap();
        seen.extend(page.items.iter().map(|c| {
            format!(
                "{}/{}",
                c.metadata.namespace.clone().unwrap(),
                c.metadata.name.clone().unwrap()
            )
        }));
        if seen.len() == 2 {
            // Between pages: one created, one deleted, neither visible in this list.
            Api::<Service>::namespaced(sim.client(), "b")
                .create(&PostParams::default(), &svc("new"))
                .await
                .unwrap();
            Api::<Service>::namespaced(sim.client(), "b")
                .delete("y", &Default::default())
                .await
                .unwrap();
        }
        if seen.len() < 6 {
            assert_eq!(page.metadata.remaining_item_count, Some(6 - seen.len() as i64));
        }
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(c) => lp = lp.continue_token(&c),
            None => break,
        }
    }
    assert_eq!(seen, ["a-b/x", "a-b/y", "a/x", "a/y", "b/x", "b/y"]);
}
