//! The cluster as far as "loses nothing" is concerned (pods and their UIDs, PVCs and
//! their volumes, replicas, marker files in every volume directory), and the sim's
//! request log: what a command changed, and waiting on a request it sends.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::{Api, ListParams};
use sts_sim::Sim;

/// The cluster as far as "loses nothing" is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterState {
    /// `ns/name` -> UID.
    pub pods: BTreeMap<String, String>,
    /// `ns/name` -> (UID, bound PV).
    pub pvcs: BTreeMap<String, (String, Option<String>)>,
    /// `ns/name` -> spec.replicas.
    pub replicas: BTreeMap<String, Option<i32>>,
    /// Marker files under the sim's volume directories.
    pub markers: Vec<PathBuf>,
}

fn key(m: &kube::core::ObjectMeta) -> String {
    format!(
        "{}/{}",
        m.namespace.as_deref().unwrap_or(""),
        m.name.as_deref().unwrap_or("")
    )
}

/// The cluster state now. The sim's faults apply to every request, this one's too:
/// call it with the faults reset.
pub async fn state(sim: &Sim) -> ClusterState {
    let c = sim.client();
    let lp = ListParams::default();
    let pods = Api::<Pod>::all(c.clone()).list(&lp).await.expect("list pods");
    let pvcs = Api::<PersistentVolumeClaim>::all(c.clone())
        .list(&lp)
        .await
        .expect("list pvcs");
    let sets = Api::<StatefulSet>::all(c).list(&lp).await.expect("list statefulsets");
    ClusterState {
        pods: pods
            .items
            .iter()
            .map(|p| (key(&p.metadata), p.metadata.uid.clone().unwrap_or_default()))
            .collect(),
        pvcs: pvcs
            .items
            .iter()
            .map(|p| {
                (
                    key(&p.metadata),
                    (
                        p.metadata.uid.clone().unwrap_or_default(),
                        p.spec.as_ref().and_then(|s| s.volume_name.clone()),
                    ),
                )
            })
            .collect(),
        replicas: sets.items.iter().map(|s| (key(&s.metadata), s.spec.replicas)).collect(),
        markers: markers(sim),
    }
}

/// Every `.kubectl-sts-marker-*` file in any volume directory of the sim.
pub fn markers(sim: &Sim) -> Vec<PathBuf> {
    markers_under(&sim.ctx().runtime.root().join("volumes"))
}

pub fn markers_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(".kubectl-sts-marker-"))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Requests that change something (create/update/patch/delete/deletecollection). A
/// SelfSubjectAccessReview is created but never stored: a question, not a change.
pub fn writes(sim: &Sim) -> Vec<String> {
    sim.requests()
        .all()
        .into_iter()
        .filter(|r| {
            matches!(
                r.verb.as_str(),
                "create" | "update" | "patch" | "delete" | "deletecollection"
            ) && r.resource != "selfsubjectaccessreviews"
        })
        .map(|r| format!("{} {} {} -> {}", r.verb, r.resource, r.name, r.status))
        .collect()
}

/// Wait (bounded, on the request log) until `pred` holds. For synchronising with a
/// child process's requests without sleeping.
pub async fn until_request(sim: &Sim, what: &str, pred: impl Fn(&sts_sim::reqlog::RequestRecord) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if sim.requests().all().iter().any(&pred) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "no request {what} within 30s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
