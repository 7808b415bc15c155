//! Shared helpers for the integration tests: a simulated cluster per test, objects from
//! YAML, waiting on watches (never sleeps), and running the built binary against it.
//! Shared file: add helpers additively.
#![allow(dead_code)]

use std::path::Path;
use std::process::Output;
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

/// Run the built `kubectl-sts` with `args` against the sim (its kubeconfig, no colour).
pub async fn kubectl_sts(sim: &Sim, args: &[&str]) -> Output {
    kubectl_sts_with_kubeconfig(&sim.kubeconfig_path(), args).await
}

pub async fn kubectl_sts_with_kubeconfig(kubeconfig: &Path, args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_kubectl-sts"))
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("KUBECONFIG")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .expect("run kubectl-sts")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Exactly one stderr line, `error: ...`, and no panic.
pub fn one_line_error(o: &Output) -> String {
    let e = stderr(o);
    let lines: Vec<&str> = e.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one error line, got: {e}");
    assert!(lines[0].starts_with("error: "), "{e}");
    lines[0].to_string()
}

/// Parse a command's `-o json` output.
pub fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", stdout(o)))
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
    let claims: Vec<serde_json::Value> = templates
        .iter()
        .map(|t| {
            serde_json::json!({"metadata":{"name":t},"spec":{"accessModes":["ReadWriteOnce"],
                "storageClassName":SEED_STORAGE_CLASS,"resources":{"requests":{"storage":"1Gi"}}}})
        })
        .collect();
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
