//! Shared helpers of the volume_resize and orphan_recreate tests: a sim serving the
//! v1.26 captures' StatefulSet (`cap/web`, claim template `disk-ssd` of class
//! `alicloud-disk-ssd`), raw API calls that return the whole Status body, and waits
//! on store writes (never sleeps).
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use axum::http::Request;
use serde_json::{Value, json};
use sts_sim::store::{Key, WatchEvent};
use sts_sim::{Sim, SimConfig};

pub const NS: &str = "cap";
pub const CLASS: &str = "alicloud-disk-ssd";
pub const TIMEOUT: Duration = Duration::from_secs(30);

pub async fn start(config: SimConfig) -> Sim {
    let sim = Sim::start(SimConfig {
        storage_classes: vec![CLASS.to_string()],
        pod_start_delay: Duration::from_millis(10),
        pod_ready_delay: Duration::from_millis(10),
        termination_delay: Duration::from_millis(10),
        ..config
    })
    .await
    .unwrap();
    let (code, body) = raw(
        &sim,
        "POST",
        "/api/v1/namespaces",
        None,
        json!({"metadata": {"name": NS}}),
    )
    .await;
    assert_eq!(code, 201, "{body}");
    sim
}

/// One API call; the status code and the whole JSON body (a Status on errors).
pub async fn raw(sim: &Sim, method: &str, path: &str, content_type: Option<&str>, body: Value) -> (u16, Value) {
    let mut req = Request::builder().method(method).uri(path);
    req = req.header("Content-Type", content_type.unwrap_or("application/json"));
    let data = if body.is_null() {
        Vec::new()
    } else {
        body.to_string().into_bytes()
    };
    let resp = sim
        .client()
        .send(req.body(kube::client::Body::from(data)).unwrap())
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let code = resp.status().as_u16();
    let bytes = resp.into_body().collect_bytes().await.unwrap();
    let v = serde_json::from_slice(&bytes).unwrap_or_else(|_| json!(String::from_utf8_lossy(&bytes)));
    (code, v)
}

pub fn path(plural: &str, name: &str) -> String {
    let group = if plural == "statefulsets" || plural == "controllerrevisions" {
        "/apis/apps/v1"
    } else {
        "/api/v1"
    };
    format!("{group}/namespaces/{NS}/{plural}/{name}")
}

pub fn get(sim: &Sim, plural: &str, name: &str) -> Option<Arc<Value>> {
    sim.ctx().store.get(&Key::new(plural, NS, name))
}

pub fn list(sim: &Sim, plural: &str) -> Vec<Arc<Value>> {
    sim.ctx().store.list(plural, Some(NS)).0
}

/// Wait until `f` holds, re-checked on every store write; panics after TIMEOUT.
pub async fn wait<T>(sim: &Sim, what: &str, mut f: impl FnMut(&Sim) -> Option<T>) -> T {
    let store = sim.ctx().store.clone();
    store
        .wait_for(TIMEOUT, || f(sim))
        .await
        .unwrap_or_else(|| panic!("timed out waiting for {what}"))
}

/// The writes in `cap` and to cluster-scoped objects received so far on `rx`.
pub fn drain(rx: &mut tokio::sync::broadcast::Receiver<WatchEvent>) -> Vec<WatchEvent> {
    let mut out = Vec::new();
    while let Ok(ev) = rx.try_recv() {
        if ev.key.namespace == NS || ev.key.namespace.is_empty() {
            out.push(ev);
        }
    }
    out
}

/// The captures' StatefulSet with its claim template asking for `size`.
pub fn web(size: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "web", "namespace": NS},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "nginx"}},
            "serviceName": "nginx",
            "template": {
                "metadata": {"labels": {"app": "nginx"}},
                "spec": {"terminationGracePeriodSeconds": 4, "containers": [{"name": "nginx", "image": "nginx:1.25",
                    "ports": [{"containerPort": 80, "name": "web"}],
                    "volumeMounts": [{"name": "disk-ssd", "mountPath": "/data"}]}]}
            },
            "volumeClaimTemplates": [{
                "metadata": {"name": "disk-ssd"},
                "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": CLASS,
                    "resources": {"requests": {"storage": size}}}
            }]
        }
    })
}

/// Create `web` and wait for both pods Running and Ready and both claims Bound.
pub async fn create_web(sim: &Sim, size: &str) -> Arc<Value> {
    let (code, body) = raw(
        sim,
        "POST",
        &format!("/apis/apps/v1/namespaces/{NS}/statefulsets"),
        None,
        web(size),
    )
    .await;
    assert_eq!(code, 201, "{body}");
    wait(sim, "web 2/2 ready with Bound claims", |s| {
        let set = get(s, "statefulsets", "web")?;
        let bound = ["disk-ssd-web-0", "disk-ssd-web-1"]
            .iter()
            .all(|c| get(s, "persistentvolumeclaims", c).is_some_and(|c| c["status"]["phase"] == "Bound"));
        (set["status"]["readyReplicas"] == 2
            && set["status"]["observedGeneration"] == set["metadata"]["generation"]
            && bound)
            .then_some(set)
    })
    .await
}

/// A reference capture copied into tests/sim/tests/fixtures, one JSON value per line.
pub fn fixture_lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("fixture line is JSON"))
        .collect()
}

pub fn uid(o: &Value) -> &str {
    o["metadata"]["uid"].as_str().unwrap_or("")
}
