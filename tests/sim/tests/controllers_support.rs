//! Shared helpers of the controllers_* tests: a Context on a temp dir with every
//! controller running, and waits on store watch events (never sleeps).
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use sts_sim::config::SimConfig;
use sts_sim::context::Context;
use sts_sim::runtime::Runtime;
use sts_sim::store::{Key, Store};

pub const NS: &str = "default";
pub const TIMEOUT: Duration = Duration::from_secs(20);

pub struct Harness {
    pub ctx: Arc<Context>,
    pub dir: PathBuf,
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

static N: AtomicU32 = AtomicU32::new(0);

/// Start the controllers over an empty store holding the default StorageClass
/// `standard` and a no-provisioner class `manual`.
pub fn start() -> Harness {
    start_with(SimConfig {
        pod_start_delay: Duration::from_millis(10),
        pod_ready_delay: Duration::from_millis(10),
        termination_delay: Duration::from_millis(10),
        ..SimConfig::default()
    })
}

pub fn start_with(config: SimConfig) -> Harness {
    let dir = std::env::temp_dir().join(format!(
        "sts-sim-controllers-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let ctx = Arc::new(Context {
        config,
        store: Store::new(100_000),
        runtime: Runtime::new(&dir).unwrap(),
    });
    ctx.store
        .create(
            "",
            "storageclasses",
            json!({"metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
                   "provisioner": "sts-sim.dev/hostpath", "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate"}),
        )
        .unwrap();
    ctx.store
        .create(
            "",
            "storageclasses",
            json!({"metadata": {"name": "retained"}, "provisioner": "sts-sim.dev/hostpath", "reclaimPolicy": "Retain"}),
        )
        .unwrap();
    sts_sim::controllers::spawn(ctx.clone());
    Harness { ctx, dir }
}

impl Harness {
    pub fn store(&self) -> &Store {
        &self.ctx.store
    }

    pub fn get(&self, plural: &str, name: &str) -> Option<Arc<Value>> {
        self.ctx.store.get(&Key::new(plural, NS, name))
    }

    pub fn list(&self, plural: &str) -> Vec<Arc<Value>> {
        self.ctx.store.list(plural, Some(NS)).0
    }

    /// Wait until `f` holds (re-checked on every store write), or panic with `what`.
    pub async fn wait<T>(&self, what: &str, mut f: impl FnMut(&Harness) -> Option<T>) -> T {
        match self.ctx.store.wait_for(TIMEOUT, || f(self)).await {
            Some(t) => t,
            None => panic!("timed out waiting for {what}: pods {:?}", self.pod_summary()),
        }
    }

    pub fn pod_summary(&self) -> Vec<String> {
        self.list("pods")
            .iter()
            .map(|p| {
                format!(
                    "{} {} ready={} rev={} term={}",
                    p["metadata"]["name"].as_str().unwrap_or(""),
                    p["status"]["phase"].as_str().unwrap_or(""),
                    ready(p),
                    p["metadata"]["labels"]["controller-revision-hash"]
                        .as_str()
                        .unwrap_or(""),
                    !p["metadata"]["deletionTimestamp"].is_null()
                )
            })
            .collect()
    }

    /// Names of the pods that are Running and Ready and not terminating.
    pub fn ready_pods(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .list("pods")
            .iter()
            .filter(|p| ready(p) && p["metadata"]["deletionTimestamp"].is_null())
            .map(|p| p["metadata"]["name"].as_str().unwrap_or("").to_string())
            .collect();
        v.sort();
        v
    }

    pub fn pod_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .list("pods")
            .iter()
            .map(|p| p["metadata"]["name"].as_str().unwrap_or("").to_string())
            .collect();
        v.sort();
        v
    }

    /// Wait until exactly `names` exist as pods, all Running and Ready.
    pub async fn wait_ready(&self, names: &[&str]) {
        let want: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        self.wait(&format!("ready pods {want:?}"), |h| {
            (h.ready_pods() == want && h.pod_names() == want).then_some(())
        })
        .await;
    }

    pub fn create_sts(&self, sts: Value) -> Arc<Value> {
        self.ctx.store.create(NS, "statefulsets", sts).unwrap()
    }

    /// Change the set's spec (bumps generation).
    pub fn edit_sts(&self, name: &str, f: impl FnOnce(&mut Value)) {
        self.ctx
            .store
            .modify(&Key::new("statefulsets", NS, name), |s| {
                f(s);
                Ok(())
            })
            .unwrap();
    }

    pub fn sts_status(&self, name: &str) -> Value {
        self.get("statefulsets", name).unwrap()["status"].clone()
    }

    /// Wait for the set's status to be settled on its current generation.
    pub async fn wait_status(&self, name: &str, what: &str, f: impl Fn(&Value) -> bool) -> Value {
        self.wait(what, |h| {
            let s = h.get("statefulsets", name)?;
            (s["status"]["observedGeneration"] == s["metadata"]["generation"] && f(&s["status"]))
                .then(|| s["status"].clone())
        })
        .await
    }
}

pub fn ready(p: &Value) -> bool {
    p["status"]["phase"] == "Running"
        && p["status"]["conditions"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
}

/// The seed StatefulSet (reference fixture seed-003), with the default StorageClass.
pub fn sts(name: &str, replicas: i64) -> Value {
    json!({
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "serviceName": name,
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx",
                    "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}
            },
            "volumeClaimTemplates": [{
                "metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
            }]
        }
    })
}
