//! Who else writes a StatefulSet (Helm, Flux, another field manager) in `status`, and
//! the warnings `scale`, `restart` and `rollout undo` print and report for them. The
//! marks are labels and annotations; the field managers are what the sim records in
//! `metadata.managedFields` for the writes these tests make.

use crate::support::*;
use k8s_openapi::api::apps::v1::StatefulSet;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

const NS: &str = "default";

/// The seed StatefulSet with extra labels and annotations.
fn seed_with(labels: Value, annotations: Value) -> StatefulSet {
    let doc = serde_yaml_ng::Deserializer::from_str(SEED_MANIFEST)
        .nth(1)
        .expect("the StatefulSet document");
    let mut v: Value = serde::Deserialize::deserialize(doc).expect("YAML");
    v["metadata"]["labels"] = labels;
    v["metadata"]["annotations"] = annotations;
    serde_json::from_value(v).expect("a StatefulSet")
}

fn sts_api(sim: &Sim) -> Api<StatefulSet> {
    Api::namespaced(sim.client(), NS)
}

/// A Helm 3 release's StatefulSet, created as `helm install` does (field manager `helm`).
async fn helm_release(sim: &Sim) {
    let sts = seed_with(
        json!({"app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/instance": "web"}),
        json!({"meta.helm.sh/release-name": "web", "meta.helm.sh/release-namespace": NS}),
    );
    let pp = PostParams {
        field_manager: Some("helm".into()),
        ..PostParams::default()
    };
    sts_api(sim).create(&pp, &sts).await.expect("create");
    wait_sts(&sim.client(), NS, "web", settled()).await;
}

async fn status_json(sim: &Sim) -> Value {
    let o = kubectl_sts(sim, &["status", "web", "-o", "json"]).await;
    o.assert_exit(0);
    json(&o)
}

fn warnings(r: &Value) -> Vec<String> {
    r["ownerWarnings"]
        .as_array()
        .unwrap_or_else(|| panic!("ownerWarnings in {r}"))
        .iter()
        .map(|w| w.as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_release_is_named_in_status_and_warned_about_in_scale() {
    let sim = sim().await;
    helm_release(&sim).await;
    let o = kubectl_sts(&sim, &["status", "web"]).await;
    o.assert_exit(0);
    assert!(
        stdout(&o).contains("\nManaged by:    Helm release web (ns default)\n"),
        "{}",
        stdout(&o)
    );
    let r = status_json(&sim).await;
    assert_eq!(
        r["managedBy"],
        json!([{"tool": "Helm", "name": "web", "namespace": "default", "fieldManager": "helm",
                "source": "the Helm values of release web"}])
    );
    // The scale goes ahead, with one warning line on stderr and in the report.
    let o = kubectl_sts(&sim, &["scale", "web", "--replicas", "3", "--yes", "-o", "json"]).await;
    o.assert_exit(0);
    let r = json(&o);
    assert_eq!(r["result"], "Settled");
    let w = warnings(&r);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].starts_with("managed by Helm release web (ns default): the next `helm upgrade` sets replicas back"));
    assert!(
        w[0].ends_with("set replicas: 3 in the Helm values of release web"),
        "{}",
        w[0]
    );
    let err = stderr(&o);
    assert_eq!(err.lines().filter(|l| l.starts_with("warning: ")).count(), 1, "{err}");
    assert!(err.contains(&format!("warning: {}\n", w[0])), "{err}");
    assert_eq!(sts_api(&sim).get("web").await.unwrap().spec.replicas, Some(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_and_undo_plans_carry_the_owner_warning() {
    let sim = sim().await;
    helm_release(&sim).await;
    let o = kubectl_sts(&sim, &["restart", "web", "--dry-run", "-o", "json"]).await;
    o.assert_exit(0);
    let w = warnings(&json(&o));
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("the restart sticks"), "{}", w[0]);
    assert!(stderr(&o).contains("warning: managed by Helm release web (ns default): the restart sticks"));
    // The restart itself reports it too (revision 2).
    let o = kubectl_sts(&sim, &["restart", "web", "--yes", "-o", "json"]).await;
    o.assert_exit(0);
    assert_eq!(warnings(&json(&o)), w);
    // A third revision, then the undo's plan: the release re-applies what it reverts.
    let p = json!({"spec": {"template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}]}}}});
    sts_api(&sim)
        .patch("web", &PatchParams::default(), &Patch::Strategic(p))
        .await
        .unwrap();
    wait_sts(&sim.client(), NS, "web", settled()).await;
    let o = kubectl_sts(&sim, &["rollout", "undo", "web", "--dry-run", "-o", "json"]).await;
    o.assert_exit(0);
    let w = warnings(&json(&o));
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("re-applies the template this undo reverts")
            && w[0].contains("revert it in the Helm values of release web too (revision 2: nginx=nginx)"),
        "{}",
        w[0]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flux_server_side_apply_is_the_owner_with_its_field_manager() {
    let sim = sim().await;
    let sts = seed_with(
        json!({"kustomize.toolkit.fluxcd.io/name": "apps", "kustomize.toolkit.fluxcd.io/namespace": "flux-system"}),
        json!({}),
    );
    sts_api(&sim)
        .patch("web", &PatchParams::apply("kustomize-controller"), &Patch::Apply(&sts))
        .await
        .expect("server-side apply");
    wait_sts(&sim.client(), NS, "web", settled()).await;
    let r = status_json(&sim).await;
    assert_eq!(r["managedBy"][0]["tool"], "FluxKustomization", "{r}");
    assert_eq!(r["managedBy"][0]["name"], "apps");
    assert_eq!(r["managedBy"][0]["namespace"], "flux-system");
    assert_eq!(r["managedBy"][0]["fieldManager"], "kustomize-controller");
    let o = kubectl_sts(&sim, &["scale", "web", "--replicas", "1", "--yes", "-o", "json"]).await;
    o.assert_exit(0);
    let w = warnings(&json(&o));
    assert!(
        w.len() == 1 && w[0].contains("Flux's next reconciliation") && w[0].contains("set replicas: 1"),
        "{w:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_field_manager_counts_only_for_the_fields_it_owns() {
    let sim = seeded().await;
    // An operator that manages replicas and nothing else.
    let pp = PatchParams {
        field_manager: Some("replica-operator".into()),
        ..PatchParams::default()
    };
    sts_api(&sim)
        .patch("web", &pp, &Patch::Merge(json!({"spec": {"replicas": 3}})))
        .await
        .unwrap();
    wait_sts(&sim.client(), NS, "web", settled()).await;
    let r = status_json(&sim).await;
    assert_eq!(r["managedBy"].as_array().unwrap().len(), 1, "{r}");
    assert_eq!(r["managedBy"][0]["tool"], "FieldManager");
    assert_eq!(r["managedBy"][0]["fieldManager"], "replica-operator");
    let o = kubectl_sts(&sim, &["scale", "web", "--replicas", "2", "--yes", "-o", "json"]).await;
    o.assert_exit(0);
    let w = warnings(&json(&o));
    assert!(
        w.len() == 1 && w[0].starts_with("managed by field manager \"replica-operator\""),
        "{w:?}"
    );
    // It does not own the template: a restart concerns it not.
    let o = kubectl_sts(&sim, &["restart", "web", "--dry-run", "-o", "json"]).await;
    o.assert_exit(0);
    assert!(warnings(&json(&o)).is_empty());
    assert!(!stderr(&o).contains("warning:"), "{}", stderr(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_owner_no_warning() {
    let sim = seeded().await;
    let r = status_json(&sim).await;
    assert_eq!(r["managedBy"], json!([]));
    let o = kubectl_sts(&sim, &["status", "web"]).await;
    assert!(!stdout(&o).contains("Managed by:"));
    let o = kubectl_sts(&sim, &["scale", "web", "--replicas", "3", "--yes", "-o", "json"]).await;
    o.assert_exit(0);
    assert!(warnings(&json(&o)).is_empty());
    assert!(!stderr(&o).contains("warning:"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resize_plan_warns_that_the_release_fails_until_its_values_change() {
    let sim = sim().await;
    helm_release(&sim).await;
    let o = kubectl_sts(&sim, &["resize", "web", "--storage", "30Gi", "--dry-run"]).await;
    o.assert_exit(0);
    let err = stderr(&o);
    assert!(
        err.contains(
            "warning: managed by Helm release web (ns default): the next `helm upgrade` fails with 422 Invalid"
        ) && err.contains("until disk-ssd is 30Gi in the Helm values of release web too"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resize_records_the_owner_warning_in_json() {
    let sim = sim().await;
    helm_release(&sim).await;
    let o = kubectl_sts(&sim, &["resize", "web", "--storage", "30Gi", "--dry-run", "-o", "json"]).await;
    o.assert_exit(0);
    let w = json(&o)["ownerWarnings"].to_string();
    assert!(w.contains("Helm release web") && w.contains("422"), "{w}");
}
