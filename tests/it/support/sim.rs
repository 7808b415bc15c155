//! A simulated cluster per test, objects from YAML, waiting on watches (never sleeps),
//! and the seeded-StatefulSet fixture most scenarios start from.

use std::time::Duration;

use k8s_openapi::api::apps::v1::StatefulSet;
use kube::api::{Api, DynamicObject, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
pub use kube::runtime::wait::Condition;
use kube::runtime::wait::await_condition;
pub use sts_sim::{Sim, SimConfig};

/// The seed runbook's manifest (headless Service `nginx` + StatefulSet `web`, claim
/// template `disk-ssd` of class `alicloud-disk-ssd` at `/data`).
pub const SEED_MANIFEST: &str = include_str!("../../fixtures/seed-003-statefulset.yaml");
pub const SEED_STORAGE_CLASS: &str = "alicloud-disk-ssd";

/// A sim with fast pod lifecycles and the seed's storage class.
pub async fn sim() -> Sim {
    sim_with(|_| {}).await
}

pub async fn sim_with(tune: impl FnOnce(&mut SimConfig)) -> Sim {
    let mut config = SimConfig {
        storage_classes: vec![SEED_STORAGE_CLASS.to_string()],
        pod_start_delay: Duration::from_millis(20),
        pod_ready_delay: Duration::from_millis(20),
        termination_delay: Duration::from_millis(20),
        ..SimConfig::default()
    };
    tune(&mut config);
    Sim::start(config).await.expect("start sts-sim")
}

/// Create every object of a multi-document YAML manifest in `namespace`.
pub async fn apply(client: &kube::Client, namespace: &str, yaml: &str) {
    for doc in serde_yaml_ng::Deserializer::from_str(yaml) {
        let value: serde_json::Value = serde::Deserialize::deserialize(doc).expect("valid YAML");
        if value.is_null() {
            continue;
        }
        let obj: DynamicObject = serde_json::from_value(value).expect("a Kubernetes object");
        let types = obj.types.clone().expect("apiVersion and kind");
        let (group, version) = match types.api_version.split_once('/') {
            Some((g, v)) => (g.to_string(), v.to_string()),
            None => (String::new(), types.api_version.clone()),
        };
        let gvk = GroupVersionKind {
            group,
            version,
            kind: types.kind.clone(),
        };
        let plural = format!("{}s", types.kind.to_lowercase()).replace("policys", "policies");
        let ar = ApiResource::from_gvk_with_plural(&gvk, &plural);
        let api: Api<DynamicObject> = if types.kind == "Namespace" || types.kind == "StorageClass" {
            Api::all_with(client.clone(), &ar)
        } else {
            Api::namespaced_with(client.clone(), namespace, &ar)
        };
        api.create(&PostParams::default(), &obj)
            .await
            .unwrap_or_else(|e| panic!("create {}: {e}", types.kind));
    }
}

/// Create the seed's Service + StatefulSet in `namespace`.
pub async fn apply_seed(client: &kube::Client, namespace: &str) {
    apply(client, namespace, SEED_MANIFEST).await;
}

/// The fixture most scenarios start from: a sim (`sim()`) with the seed runbook's
/// StatefulSet `web` (2 replicas) in `default`, settled: every replica Running, Ready
/// and on the current revision.
pub async fn seeded() -> Sim {
    seeded_with(|_| {}).await
}

/// `seeded()` on a sim tuned by `tune` (slower pods, ...).
pub async fn seeded_with(tune: impl FnOnce(&mut SimConfig)) -> Sim {
    let sim = sim_with(tune).await;
    create_settled(&sim, SEED_MANIFEST, "web").await;
    sim
}

/// A sim (`sim()`) with the StatefulSet `name` of `manifest` created in `default` and
/// settled.
pub async fn sim_with_settled(manifest: &str, name: &str) -> Sim {
    let sim = sim().await;
    create_settled(&sim, manifest, name).await;
    sim
}

/// Create `manifest` in `default` and wait until its StatefulSet `name` has settled.
pub async fn create_settled(sim: &Sim, manifest: &str, name: &str) {
    let client = sim.client();
    apply(&client, "default", manifest).await;
    wait_sts(&client, "default", name, settled()).await;
}

/// The StatefulSet has settled: status is current and every replica is ready and updated.
pub fn settled() -> impl Condition<StatefulSet> {
    |obj: Option<&StatefulSet>| {
        let Some(sts) = obj else { return false };
        let Some(status) = &sts.status else { return false };
        let want = sts.spec.replicas.unwrap_or(1);
        status.observed_generation.unwrap_or(0) >= sts.metadata.generation.unwrap_or(0)
            && status.replicas == want
            && status.ready_replicas.unwrap_or(0) == want
            && status.updated_replicas.unwrap_or(0) == want
            && status.current_revision == status.update_revision
    }
}

/// Wait (on a watch, bounded) until the StatefulSet satisfies `cond`.
pub async fn wait_sts(client: &kube::Client, namespace: &str, name: &str, cond: impl Condition<StatefulSet>) {
    let api: Api<StatefulSet> = Api::namespaced(client.clone(), namespace);
    tokio::time::timeout(Duration::from_secs(30), await_condition(api, name, cond))
        .await
        .unwrap_or_else(|_| panic!("statefulset {namespace}/{name} did not reach the condition within 30s"))
        .expect("watch statefulset");
}

/// A StatefulSet `name` with the given pod template spec and claim templates (class
/// `alicloud-disk-ssd`), plus a label `app=<name>`.
pub fn sts_manifest(
    name: &str,
    replicas: i32,
    start: Option<i32>,
    pod_spec: serde_json::Value,
    templates: &[&str],
    annotations: serde_json::Value,
) -> String {
    let claims = claim_templates(templates);
    let mut spec = serde_json::json!({
        "selector":{"matchLabels":{"app":name}},
        "serviceName":name,
        "replicas":replicas,
        "template":{"metadata":{"labels":{"app":name},"annotations":annotations},"spec":pod_spec},
        "volumeClaimTemplates":claims,
    });
    if let Some(s) = start {
        spec["ordinals"] = serde_json::json!({"start": s});
    }
    serde_json::to_string(
        &serde_json::json!({"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":name},"spec":spec}),
    )
    .unwrap()
}

/// 1Gi ReadWriteOnce claim templates of the seed's class.
fn claim_templates(templates: &[&str]) -> Vec<serde_json::Value> {
    templates
        .iter()
        .map(|t| {
            serde_json::json!({"metadata":{"name":t},"spec":{"accessModes":["ReadWriteOnce"],
                "storageClassName":SEED_STORAGE_CLASS,"resources":{"requests":{"storage":"1Gi"}}}})
        })
        .collect()
}

/// One replica of `name`, OnDelete (a template change reaches only a replacement pod),
/// with claim templates `templates` of the seed's class.
pub fn on_delete_manifest(
    name: &str,
    pod_spec: serde_json::Value,
    templates: &[&str],
    ann: serde_json::Value,
) -> String {
    let claims = claim_templates(templates);
    serde_json::to_string(
        &serde_json::json!({"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":name},"spec":{
            "selector":{"matchLabels":{"app":name}},
            "serviceName":name,
            "replicas":1,
            "updateStrategy":{"type":"OnDelete"},
            "template":{"metadata":{"labels":{"app":name},"annotations":ann},"spec":pod_spec},
            "volumeClaimTemplates":claims,
        }}),
    )
    .unwrap()
}

/// Put `ann` on the pod template only (OnDelete: running pods keep theirs), so only
/// the replacement pod gets it.
pub async fn template_annotation(sim: &Sim, name: &str, key: &str, value: &str) {
    let sts: Api<StatefulSet> = Api::namespaced(sim.client(), "default");
    sts.patch(
        name,
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(serde_json::json!({"spec":{"template":{"metadata":{"annotations":{key:value}}}}})),
    )
    .await
    .unwrap();
}
