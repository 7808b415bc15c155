//! The cluster a sim starts with (namespaces, StorageClasses, the Node) and bulk
//! seeding for benchmarks: StatefulSets with Running/Ready pods, Bound PVCs and PVs,
//! and leftover PVCs, written straight into the store so thousands start fast.
//! (Owner: the API server work.)

use serde_json::{Value, json};

use crate::context::Context;
use crate::controllers::{nodelifecycle, revisions, statefulset, util};
use crate::store::now_rfc3339;

/// Provisioner of the sim's StorageClasses.
pub const PROVISIONER: &str = "sts-sim.dev/hostpath";

fn storage_class(name: &str, default: bool) -> Value {
    let mut sc = json!({
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": name},
        "provisioner": PROVISIONER, "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate",
        "allowVolumeExpansion": true,
    });
    if default {
        sc["metadata"]["annotations"] = json!({"storageclass.kubernetes.io/is-default-class": "true"});
    }
    sc
}

/// Namespaces `default`, `kube-system`, `kube-public`, `kube-node-lease`; the default
/// StorageClass `standard` and one per `config.storage_classes`; the Node.
pub fn cluster(ctx: &Context) -> anyhow::Result<()> {
    let store = &ctx.store;
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        store.create(
            "",
            "namespaces",
            json!({"metadata": {"name": ns, "labels": {"kubernetes.io/metadata.name": ns}},
                   "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}),
        )?;
    }
    store.create("", "storageclasses", storage_class("standard", true))?;
    for sc in &ctx.config.storage_classes {
        if sc != "standard" {
            store.create("", "storageclasses", storage_class(sc, false))?;
        }
    }
    let node = &ctx.config.node_name;
    store.create(
        "",
        "nodes",
        json!({
            "metadata": {"name": node, "labels": {"kubernetes.io/hostname": node, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}},
            "spec": {},
            "status": {
                "capacity": {"cpu": "8", "memory": "32Gi", "pods": "1000"},
                "allocatable": {"cpu": "8", "memory": "32Gi", "pods": "1000"},
                "conditions": nodelifecycle::kubelet_conditions(&now_rfc3339()),
                "addresses": [{"type": "InternalIP", "address": "10.0.0.10"}, {"type": "Hostname", "address": node}],
                "nodeInfo": {"kubeletVersion": "v1.34.0-sts-sim", "osImage": "sts-sim", "kernelVersion": "sim",
                    "containerRuntimeVersion": "sts-sim://1", "operatingSystem": "linux", "architecture": "amd64"}
            }
        }),
    )?;
    Ok(())
}

/// Sizes of a bulk seed (`--seed-*`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BulkSeed {
    pub namespaces: usize,
    pub statefulsets: usize,
    pub replicas: usize,
    /// Leftover PVCs per StatefulSet: claims of ordinals past `replicas` (scaled in),
    /// plus as many claims of a deleted StatefulSet `gone-<i>` per namespace.
    pub orphans: usize,
}

/// Seed namespaces `bench-<n>` with StatefulSets `db-<i>` (image nginx, one claim
/// template `data`), their Running/Ready pods, Bound PVCs and PVs, directly in the store.
///
/// Runs before the controllers start ([`Sim::start`](crate::Sim::start) with
/// `SimConfig::seed`), and writes what the controllers would have converged to, so
/// they find every set settled and write nothing: the set's ControllerRevision under
/// the name the controller computes, pods built by the controller's own `new_pod`
/// carrying that revision, and the status `updateStatefulSet` would write.
pub fn bulk(ctx: &Context, b: &BulkSeed) -> anyhow::Result<()> {
    let store = &ctx.store;
    let node = ctx.config.node_name.clone();
    let now = now_rfc3339();
    let replicas = b.replicas as i64;
    for n in 0..b.namespaces {
        let ns = format!("bench-{n}");
        store.create(
            "",
            "namespaces",
            json!({"metadata": {"name": ns, "labels": {"kubernetes.io/metadata.name": ns}}, "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}),
        )?;
        for i in 0..b.statefulsets {
            let name = format!("db-{i}");
            let mut sts = json!({
                "apiVersion": "apps/v1", "kind": "StatefulSet",
                "metadata": {"name": name, "labels": {"app": name}},
                "spec": {
                    "replicas": b.replicas, "serviceName": name,
                    "selector": {"matchLabels": {"app": name}},
                    "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "db", "image": "nginx:1.25",
                        "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}},
                    "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "standard", "resources": {"requests": {"storage": "1Gi"}}}}]
                }
            });
            crate::api::defaults::apply(crate::resources::by_plural("statefulsets").expect("sts"), &mut sts);
            // getStatefulSetRevisions: the revision the controller would create (and
            // find, so it creates none).
            let data = revisions::template_patch(&sts);
            let hash = revisions::hash(&data, 0);
            let rev = revisions::revision_name(&name, &hash);
            sts["status"] = json!({"observedGeneration": 1, "replicas": replicas, "currentRevision": rev, "updateRevision": rev,
                "collisionCount": 0, "availableReplicas": replicas});
            if replicas > 0 {
                for k in ["readyReplicas", "currentReplicas", "updatedReplicas"] {
                    sts["status"][k] = json!(replicas);
                }
            }
            let sts = store.create(&ns, "statefulsets", sts)?;
            let mut labels = sts["spec"]["template"]["metadata"]["labels"].clone();
            labels[statefulset::HASH_LABEL] = json!(hash);
            store.create(
                &ns,
                "controllerrevisions",
                json!({"metadata": {"name": rev, "labels": labels, "ownerReferences": [util::controller_ref(&sts)]},
                       "data": data, "revision": 1}),
            )?;
            let template = revisions::template_of(&json!({"data": data}));
            for o in 0..replicas + b.orphans as i64 {
                claim(ctx, &ns, &statefulset::claim_name("data", &name, o), &name)?;
                if o >= replicas {
                    continue;
                }
                let mut pod = statefulset::new_pod(&sts, &template, &rev, o);
                pod["spec"]["nodeName"] = json!(node);
                let cond =
                    |t: &str| json!({"type": t, "status": "True", "lastProbeTime": null, "lastTransitionTime": now});
                let qos = pod["status"]["qosClass"].clone();
                pod["status"] = json!({"phase": "Running", "hostIP": "10.0.0.10", "podIP": format!("10.244.{}.{}", n % 250, (i * 16 + o as usize) % 250 + 2), "startTime": now, "qosClass": qos,
                        "conditions": [cond("Initialized"), cond("Ready"), cond("ContainersReady"), cond("PodScheduled")],
                        "containerStatuses": [{"name": "db", "ready": true, "started": true, "restartCount": 0, "image": "nginx:1.25", "imageID": "", "containerID": format!("sts-sim://{ns}-{}", util::name(&pod)),
                            "state": {"running": {"startedAt": now}}, "lastState": {}}]});
                store.create(&ns, "pods", pod)?;
            }
        }
        for g in 0..b.orphans {
            claim(ctx, &ns, &format!("data-gone-{g}-0"), &format!("gone-{g}"))?;
        }
    }
    Ok(())
}

/// A Bound PVC and its PV.
fn claim(ctx: &Context, ns: &str, name: &str, app: &str) -> anyhow::Result<()> {
    let pv = format!("pvc-{ns}-{name}");
    let pvc = ctx.store.create(ns, "persistentvolumeclaims", json!({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "labels": {"app": app}, "annotations": {"pv.kubernetes.io/bind-completed": "yes", "pv.kubernetes.io/bound-by-controller": "yes", "volume.kubernetes.io/storage-provisioner": PROVISIONER},
            "finalizers": ["kubernetes.io/pvc-protection"]},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, "storageClassName": "standard", "volumeMode": "Filesystem", "volumeName": pv},
        "status": {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}}
    }))?;
    ctx.store.create("", "persistentvolumes", json!({
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": pv, "annotations": {"pv.kubernetes.io/provisioned-by": PROVISIONER}, "finalizers": ["kubernetes.io/pv-protection"]},
        "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "persistentVolumeReclaimPolicy": "Delete", "storageClassName": "standard", "volumeMode": "Filesystem",
            "hostPath": {"path": ctx.runtime.volume_dir(&pv).to_string_lossy(), "type": ""},
            "claimRef": {"kind": "PersistentVolumeClaim", "namespace": ns, "name": name, "uid": pvc["metadata"]["uid"], "apiVersion": "v1", "resourceVersion": pvc["metadata"]["resourceVersion"]}},
        "status": {"phase": "Bound"}
    }))?;
    Ok(())
}
