//! The StatefulSet controller, after pkg/controller/statefulset:
//! stateful_set_control.go (`UpdateStatefulSet`, `updateStatefulSet`,
//! `updateStatefulSetAfterInvariantEstablished`, `getStatefulSetRevisions`,
//! `truncateHistory`, `completeRollingUpdate`), stateful_set_utils.go (pod identity and
//! storage, `newVersionedStatefulSetPod`, `getPersistentVolumeClaims`,
//! `claimOwnerMatchesSetAndPod` / `updateClaimOwnerRefForSetAndPod`) and
//! stateful_pod_control.go (`CreateStatefulPod`, events).
//!
//! One sync per StatefulSet key, triggered by writes to the set, its pods, its
//! ControllerRevisions and PVCs named after its claim templates.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::adoption;
use super::events;
use super::queue::{self, Queue};
use super::revisions;
use super::util::{self, controlled_by, has_owner_ref, is_terminating, name, uid};
use crate::context::Context;
use crate::store::{EventType, Key, Store, WatchEvent};

type NsName = (String, String);

const COMPONENT: &str = "statefulset-controller";
pub const REVISION_LABEL: &str = "controller-revision-hash";
pub const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";
pub const POD_INDEX_LABEL: &str = "apps.kubernetes.io/pod-index";
pub const HASH_LABEL: &str = "controller.kubernetes.io/hash";

pub fn spawn(ctx: Arc<Context>) {
    queue::run(ctx, Queue::new(), map_event, resync, sync);
}

fn resync(ctx: &Context, q: &Queue<NsName>) {
    for s in ctx.store.list("statefulsets", None).0 {
        q.add((util::namespace(&s).to_string(), name(&s).to_string()));
    }
}

fn map_event(ctx: &Context, q: &Queue<NsName>, ev: &WatchEvent) {
    let ns = ev.key.namespace.clone();
    match ev.key.plural {
        "statefulsets" => q.add((ns, ev.key.name.clone())),
        "pods" | "controllerrevisions" => map_owned(ctx, q, ev),
        "persistentvolumeclaims" => {
            // A claim `<template>-<set>-<ordinal>` matters to that set (retention
            // refs, a terminating claim blocking a pod's creation).
            for s in ctx.store.list("statefulsets", Some(&ns)).0 {
                let set_name = name(&s);
                let hit = claim_templates(&s).iter().any(|t| {
                    let prefix = format!("{}-{set_name}-", name(t));
                    ev.key
                        .name
                        .strip_prefix(&prefix)
                        .is_some_and(|o| !o.is_empty() && o.bytes().all(|b| b.is_ascii_digit()))
                });
                if hit {
                    q.add((ns.clone(), set_name.to_string()));
                }
            }
        }
        _ => {}
    }
}

/// addPod / updatePod / deletePod (and the revision handlers): the controller's set;
/// for an orphan, every set that selects it (it may adopt it); when the controller
/// reference changed, the previous owner too (unless it is being deleted: it releases
/// nothing).
fn map_owned(ctx: &Context, q: &Queue<NsName>, ev: &WatchEvent) {
    let ns = &ev.key.namespace;
    let set_of = |o: &Value| {
        util::controller_of(o)
            .filter(|r| r["kind"].as_str() == Some("StatefulSet"))
            .map(|r| (r["name"].as_str().unwrap_or("").to_string(), uid_of_ref(r)))
    };
    let now = set_of(&ev.object);
    match &now {
        Some((n, _)) => q.add((ns.clone(), n.clone())),
        None if ev.kind != EventType::Deleted => {
            for n in adoption::sets_selecting(&ctx.store, ns, &ev.object) {
                q.add((ns.clone(), n));
            }
        }
        None => {}
    }
    let before = ev.prev.as_deref().and_then(set_of);
    if let Some((n, u)) = before.filter(|b| now.as_ref().is_none_or(|c| c.1 != b.1))
        && ctx
            .store
            .get(&Key::new("statefulsets", ns, &n))
            .is_some_and(|s| uid(&s) == u && !is_terminating(&s))
    {
        q.add((ns.clone(), n));
    }
}

fn uid_of_ref(r: &Value) -> String {
    r["uid"].as_str().unwrap_or("").to_string()
}

fn claim_templates(set: &Value) -> &[Value] {
    set["spec"]["volumeClaimTemplates"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// `<set>-<ordinal>` -> ordinal (getParentNameAndOrdinal: the whole name must match).
pub fn ordinal_of(set_name: &str, pod_name: &str) -> Option<i64> {
    let rest = pod_name.strip_prefix(set_name)?.strip_prefix('-')?;
    if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    rest.parse().ok()
}

/// getPersistentVolumeClaimName: `<template>-<set>-<ordinal>`.
pub fn claim_name(template: &str, set_name: &str, ordinal: i64) -> String {
    format!("{template}-{set_name}-{ordinal}")
}

fn revision_of(pod: &Value) -> &str {
    pod["metadata"]["labels"][REVISION_LABEL].as_str().unwrap_or("")
}

/// The knobs of one sync, read from the set with the API's defaults.
struct Spec {
    replicas: i64,
    start: i64,
    monotonic: bool,
    rolling: bool,
    partition: i64,
    max_unavailable: Value,
    min_ready: i64,
    history_limit: usize,
    when_deleted_delete: bool,
    when_scaled_delete: bool,
}

impl Spec {
    fn of(set: &Value) -> Spec {
        let s = &set["spec"];
        let strategy = &s["updateStrategy"];
        let policy = &s["persistentVolumeClaimRetentionPolicy"];
        Spec {
            replicas: s["replicas"].as_i64().unwrap_or(1).max(0),
            start: s["ordinals"]["start"].as_i64().unwrap_or(0).max(0),
            monotonic: s["podManagementPolicy"].as_str() != Some("Parallel"),
            rolling: strategy["type"].as_str() != Some("OnDelete"),
            partition: strategy["rollingUpdate"]["partition"].as_i64().unwrap_or(0).max(0),
            max_unavailable: strategy["rollingUpdate"]["maxUnavailable"].clone(),
            min_ready: s["minReadySeconds"].as_i64().unwrap_or(0),
            history_limit: s["revisionHistoryLimit"].as_i64().unwrap_or(10).max(0) as usize,
            when_deleted_delete: policy["whenDeleted"].as_str() == Some("Delete"),
            when_scaled_delete: policy["whenScaled"].as_str() == Some("Delete"),
        }
    }
}

/// The counters of StatefulSetStatus, as updateStatefulSet computes and adjusts them.
#[derive(Default, PartialEq)]
struct Counts {
    replicas: i64,
    ready: i64,
    available: i64,
    current: i64,
    updated: i64,
}

struct Revisions {
    current: Arc<Value>,
    update: Arc<Value>,
    collision_count: i64,
    all: Vec<Arc<Value>>,
}

fn sync(ctx: &Arc<Context>, q: &Arc<Queue<NsName>>, key: &NsName) {
    let store = &ctx.store;
    let (ns, set_name) = (key.0.as_str(), key.1.as_str());
    let Some(set) = store.get(&Key::new("statefulsets", ns, set_name)) else {
        return;
    };
    let set_uid = uid(&set).to_string();
    // sync: adoptOrphanRevisions, then getPodsForStatefulSet (ClaimPods).
    adoption::adopt_orphan_revisions(store, &set);
    let pods = adoption::claim_pods(store, &set);
    let Some(revs) = ensure_revisions(store, &set) else {
        return;
    };
    let spec = Spec::of(&set);
    let current_name = name(&revs.current).to_string();
    let update_name = name(&revs.update).to_string();

    let mut counts = Counts::default();
    let mut next_check: Option<std::time::Duration> = None;
    for p in &pods {
        counts.replicas += 1;
        if util::running_and_ready(p) {
            counts.ready += 1;
            match util::until_available(p, spec.min_ready) {
                Some(d) if d.is_zero() => counts.available += 1,
                Some(d) => next_check = Some(next_check.map_or(d, |n| n.min(d))),
                None => {}
            }
        }
        if !is_terminating(p) {
            if revision_of(p) == current_name {
                counts.current += 1;
            }
            if revision_of(p) == update_name {
                counts.updated += 1;
            }
        }
    }

    let mut sc = SyncCtx {
        store,
        set: &set,
        spec: &spec,
        revs: &revs,
        counts: &mut counts,
    };
    // updateStatefulSet: a set being deleted only gets its status written.
    if !is_terminating(&set) {
        sc.reconcile(pods);
    }

    // completeRollingUpdate
    let mut current_revision = current_name.clone();
    if spec.rolling && counts.updated == counts.replicas && counts.ready == counts.replicas {
        counts.current = counts.updated;
        current_revision = update_name.clone();
    }
    write_status(
        store,
        &set,
        &counts,
        &current_revision,
        &update_name,
        revs.collision_count,
    );
    truncate_history(
        store,
        ns,
        &set_uid,
        &revs,
        &current_revision,
        &update_name,
        spec.history_limit,
    );
    if let Some(d) = next_check {
        // minReadySeconds: come back when the next ready pod becomes available.
        q.add_after(key.clone(), d + std::time::Duration::from_millis(20));
    }
}

struct SyncCtx<'a> {
    store: &'a Store,
    set: &'a Value,
    spec: &'a Spec,
    revs: &'a Revisions,
    counts: &'a mut Counts,
}

impl SyncCtx<'_> {
    fn set_name(&self) -> &str {
        name(self.set)
    }
    fn ns(&self) -> &str {
        util::namespace(self.set)
    }

    /// updateStatefulSet: replace failed pods, create missing ones, scale in, then
    /// roll. Returns early wherever the real controller waits.
    #[allow(clippy::needless_range_loop)] // slots[i] is replaced inside the loop
    fn reconcile(&mut self, pods: Vec<Arc<Value>>) {
        let spec = self.spec;
        let set_name = self.set_name().to_string();
        let mut slots: Vec<Option<Arc<Value>>> = vec![None; spec.replicas as usize];
        let mut condemned: Vec<(i64, Arc<Value>)> = Vec::new();
        for p in pods {
            let Some(ord) = ordinal_of(&set_name, name(&p)) else {
                continue;
            };
            if ord >= spec.start && ord < spec.start + spec.replicas {
                slots[(ord - spec.start) as usize] = Some(p);
            } else {
                condemned.push((ord, p));
            }
        }
        condemned.sort_by_key(|(o, _)| *o);
        // The first unhealthy pod in ordinal order may be deleted even while unhealthy.
        let first_unhealthy: Option<String> = slots
            .iter()
            .flatten()
            .chain(condemned.iter().map(|(_, p)| p))
            .find(|p| !self.healthy(p))
            .map(|p| uid(p).to_string());

        for i in 0..slots.len() {
            let ord = spec.start + i as i64;
            if let Some(p) = &slots[i]
                && matches!(util::phase(p), "Failed" | "Succeeded")
                && !is_terminating(p)
            {
                // A failed pod is deleted and recreated.
                if self.delete_pod(p) {
                    self.counts.replicas -= 1;
                    if revision_of(p) == name(&self.revs.current) {
                        self.counts.current -= 1;
                    }
                    if revision_of(p) == name(&self.revs.update) {
                        self.counts.updated -= 1;
                    }
                }
                slots[i] = None;
            }
            let Some(pod) = slots[i].clone() else {
                if !self.create_pod(ord) || spec.monotonic {
                    return;
                }
                continue;
            };
            if is_terminating(&pod) {
                if spec.monotonic {
                    return;
                }
                continue;
            }
            if !util::running_and_available(&pod, spec.min_ready) && spec.monotonic {
                return;
            }
            // Identity and storage: recreate missing claims, keep retention refs right.
            if !self.ensure_claims(&pod, ord) {
                return;
            }
        }

        // Scale in, highest ordinal first.
        for (ord, pod) in condemned.iter().rev() {
            self.update_claim_refs(pod, *ord);
            if is_terminating(pod) {
                if spec.monotonic {
                    return;
                }
                continue;
            }
            if !util::running_and_ready(pod) && spec.monotonic && first_unhealthy.as_deref() != Some(uid(pod)) {
                return;
            }
            if self.delete_pod(pod) {
                if revision_of(pod) == name(&self.revs.current) {
                    self.counts.current -= 1;
                }
                if revision_of(pod) == name(&self.revs.update) {
                    self.counts.updated -= 1;
                }
            }
            if spec.monotonic {
                return;
            }
        }

        if !spec.rolling {
            // OnDelete: pods are replaced only when someone deletes them.
            return;
        }
        self.rolling_update(&slots);
    }

    fn healthy(&self, p: &Value) -> bool {
        util::running_and_available(p, self.spec.min_ready) && !is_terminating(p)
    }

    /// updateStatefulSetAfterInvariantEstablished (MaxUnavailableStatefulSet): from
    /// the highest ordinal down to the partition, delete old-revision pods while fewer
    /// than maxUnavailable (default 1) pods are unavailable.
    fn rolling_update(&mut self, slots: &[Option<Arc<Value>>]) {
        let spec = self.spec;
        let max_unavailable = if spec.max_unavailable.is_null() {
            1
        } else {
            util::int_or_percent(&spec.max_unavailable, spec.replicas, false)
                .unwrap_or(1)
                .max(1)
        };
        let unavailable = slots
            .iter()
            .filter(|s| s.as_ref().is_none_or(|p| !self.healthy(p)))
            .count() as i64;
        if unavailable >= max_unavailable {
            return;
        }
        let mut budget = max_unavailable - unavailable;
        let update = name(&self.revs.update).to_string();
        let min = spec.partition.min(slots.len() as i64).max(0) as usize;
        for slot in slots[min..].iter().rev() {
            let Some(pod) = slot else { continue };
            if revision_of(pod) != update && !is_terminating(pod) {
                if self.delete_pod(pod) && revision_of(pod) == name(&self.revs.current) {
                    self.counts.current -= 1;
                }
                budget -= 1;
                if budget <= 0 {
                    return;
                }
            }
        }
    }

    fn delete_pod(&self, pod: &Value) -> bool {
        let key = Key::new("pods", self.ns(), name(pod));
        match self.store.delete(&key, None, Some(uid(pod)), None) {
            Ok(_) => {
                let msg = format!("delete Pod {} in StatefulSet {} successful", name(pod), self.set_name());
                events::record(self.store, self.set, "Normal", "SuccessfulDelete", &msg, COMPONENT);
                true
            }
            Err(e) if e.code == 404 => false,
            Err(e) => {
                let msg = format!(
                    "delete Pod {} in StatefulSet {} failed error: {}",
                    name(pod),
                    self.set_name(),
                    e.message
                );
                events::record(self.store, self.set, "Warning", "FailedDelete", &msg, COMPONENT);
                false
            }
        }
    }

    /// newVersionedStatefulSetPod + CreateStatefulPod: claims first, then the pod.
    fn create_pod(&mut self, ord: i64) -> bool {
        let spec = self.spec;
        let use_current = spec.rolling && ord < spec.start + spec.partition;
        let rev = if use_current {
            &self.revs.current
        } else {
            &self.revs.update
        };
        let rev_name = name(rev).to_string();
        let pod = new_pod(self.set, &revisions::template_of(rev), &rev_name, ord);
        let pod_name = name(&pod).to_string();
        if !self.create_claims(&pod_name, ord) {
            return false;
        }
        match self.store.create(self.ns(), "pods", pod) {
            Ok(_) => {
                let msg = format!("create Pod {pod_name} in StatefulSet {} successful", self.set_name());
                events::record(self.store, self.set, "Normal", "SuccessfulCreate", &msg, COMPONENT);
                self.counts.replicas += 1;
                if rev_name == name(&self.revs.current) {
                    self.counts.current += 1;
                }
                if rev_name == name(&self.revs.update) {
                    self.counts.updated += 1;
                }
                true
            }
            Err(e) => {
                let msg = format!(
                    "create Pod {pod_name} in StatefulSet {} failed error: {}",
                    self.set_name(),
                    e.message
                );
                events::record(self.store, self.set, "Warning", "FailedCreate", &msg, COMPONENT);
                false
            }
        }
    }

    /// createPersistentVolumeClaims: every missing claim of the pod. A claim that is
    /// being deleted blocks the pod (the real controller errors and retries).
    fn create_claims(&self, pod_name: &str, ord: i64) -> bool {
        let mut ok = true;
        for (claim_name, claim) in new_claims(self.set, ord) {
            let key = Key::new("persistentvolumeclaims", self.ns(), &claim_name);
            match self.store.get(&key) {
                Some(existing) if is_terminating(&existing) => {
                    let msg = format!(
                        "create Claim {claim_name} Pod {pod_name} in StatefulSet {} failed error: pvc {claim_name} is being deleted",
                        self.set_name()
                    );
                    events::record(self.store, self.set, "Warning", "FailedCreate", &msg, COMPONENT);
                    ok = false;
                }
                Some(_) => {}
                None => {
                    let mut claim = claim;
                    if self.spec.when_deleted_delete {
                        claim["metadata"]["ownerReferences"] = json!([util::controller_ref(self.set)]);
                    }
                    // Through the API server: ResourceQuota admission applies.
                    let created = super::quota::admit(self.store, None, &claim)
                        .and_then(|()| self.store.create(self.ns(), "persistentvolumeclaims", claim));
                    match created {
                        Ok(_) => {
                            let msg = format!(
                                "create Claim {claim_name} Pod {pod_name} in StatefulSet {} success",
                                self.set_name()
                            );
                            events::record(self.store, self.set, "Normal", "SuccessfulCreate", &msg, COMPONENT);
                        }
                        Err(e) if e.code == 409 => {}
                        Err(e) => {
                            let msg = format!(
                                "create Claim {claim_name} for Pod {pod_name} in StatefulSet {} failed error: {}",
                                self.set_name(),
                                e.message
                            );
                            events::record(self.store, self.set, "Warning", "FailedCreate", &msg, COMPONENT);
                            ok = false;
                        }
                    }
                }
            }
        }
        ok
    }

    /// For a live pod: recreate missing claims and apply the retention policy refs.
    fn ensure_claims(&self, pod: &Value, ord: i64) -> bool {
        let ok = self.create_claims(name(pod), ord);
        self.update_claim_refs(pod, ord);
        ok
    }

    /// updateClaimOwnerRefForSetAndPod: whenDeleted=Delete -> the claim is owned by the
    /// set; whenScaled=Delete and the pod's ordinal is out of range (condemned) -> owned
    /// by the pod instead; Retain -> no such reference.
    fn update_claim_refs(&self, pod: &Value, ord: i64) {
        let spec = self.spec;
        let scaled_down = !(ord >= spec.start && ord < spec.start + spec.replicas);
        let want_pod = spec.when_scaled_delete && scaled_down;
        let want_set = spec.when_deleted_delete && !want_pod;
        let set_uid = uid(self.set);
        let pod_uid = uid(pod);
        for t in claim_templates(self.set) {
            let key = Key::new(
                "persistentvolumeclaims",
                self.ns(),
                &claim_name(name(t), self.set_name(), ord),
            );
            let Some(claim) = self.store.get(&key) else { continue };
            if is_terminating(&claim)
                || (has_owner_ref(&claim, set_uid) == want_set && has_owner_ref(&claim, pod_uid) == want_pod)
            {
                continue;
            }
            let set_ref = util::controller_ref(self.set);
            let pod_ref = json!({"apiVersion": "v1", "kind": "Pod", "name": name(pod), "uid": pod_uid});
            let _ = self.store.modify(&key, |c| {
                let mut refs: Vec<Value> = util::owner_refs(c)
                    .iter()
                    .filter(|r| {
                        let u = r["uid"].as_str().unwrap_or("");
                        u != set_uid && u != pod_uid
                    })
                    .cloned()
                    .collect();
                if want_set {
                    refs.push(set_ref);
                }
                if want_pod {
                    refs.push(pod_ref);
                }
                let m = c["metadata"].as_object_mut().expect("object metadata");
                if refs.is_empty() {
                    m.remove("ownerReferences");
                } else {
                    m.insert("ownerReferences".into(), Value::Array(refs));
                }
                Ok(())
            });
        }
    }
}

/// getPersistentVolumeClaims: one claim per template, labelled with the template's
/// labels plus the set's selector matchLabels, protected by `kubernetes.io/pvc-protection`
/// (the admission plugin's finalizer).
fn new_claims(set: &Value, ord: i64) -> Vec<(String, Value)> {
    let set_name = name(set);
    claim_templates(set)
        .iter()
        .map(|t| {
            let cname = claim_name(name(t), set_name, ord);
            let mut labels = t["metadata"]["labels"].as_object().cloned().unwrap_or_default();
            if let Some(ml) = set["spec"]["selector"]["matchLabels"].as_object() {
                for (k, v) in ml {
                    labels.insert(k.clone(), v.clone());
                }
            }
            let mut meta = json!({
                "name": cname,
                "namespace": util::namespace(set),
                "finalizers": ["kubernetes.io/pvc-protection"],
            });
            if !labels.is_empty() {
                meta["labels"] = Value::Object(labels);
            }
            if let Some(a) = t["metadata"]["annotations"].as_object().filter(|a| !a.is_empty()) {
                meta["annotations"] = Value::Object(a.clone());
            }
            let mut spec = t["spec"].clone();
            if spec.get("volumeMode").is_none() {
                spec["volumeMode"] = json!("Filesystem");
            }
            let claim = json!({ "metadata": meta, "spec": spec, "status": { "phase": "Pending" } });
            (cname, claim)
        })
        .collect()
}

/// newStatefulSetPod: the template plus the pod's stable identity (name, hostname,
/// subdomain, labels) and storage (a volume per claim template).
pub fn new_pod(set: &Value, template: &Value, revision: &str, ord: i64) -> Value {
    let set_name = name(set);
    let pod_name = format!("{set_name}-{ord}");
    let mut labels = template["metadata"]["labels"].as_object().cloned().unwrap_or_default();
    labels.insert(REVISION_LABEL.into(), json!(revision));
    labels.insert(POD_NAME_LABEL.into(), json!(pod_name));
    labels.insert(POD_INDEX_LABEL.into(), json!(ord.to_string()));
    let mut meta = json!({
        "name": pod_name,
        "generateName": format!("{set_name}-"),
        "namespace": util::namespace(set),
        "labels": labels,
        "ownerReferences": [util::controller_ref(set)],
    });
    if let Some(a) = template["metadata"]["annotations"]
        .as_object()
        .filter(|a| !a.is_empty())
    {
        meta["annotations"] = Value::Object(a.clone());
    }
    if let Some(f) = template["metadata"]["finalizers"].as_array().filter(|a| !a.is_empty()) {
        meta["finalizers"] = Value::Array(f.clone());
    }
    let mut spec = template["spec"].clone();
    if !spec.is_object() {
        spec = json!({});
    }
    default_pod_spec(&mut spec);
    // updateStorage: claim volumes first, then the template's other volumes.
    let claims: Vec<&str> = claim_templates(set).iter().map(name).collect();
    let mut volumes: Vec<Value> = claims
        .iter()
        .map(|c| json!({"name": c, "persistentVolumeClaim": {"claimName": claim_name(c, set_name, ord)}}))
        .collect();
    if let Some(vs) = spec["volumes"].as_array() {
        volumes.extend(
            vs.iter()
                .filter(|v| !claims.contains(&v["name"].as_str().unwrap_or("")))
                .cloned(),
        );
    }
    if !volumes.is_empty() {
        spec["volumes"] = Value::Array(volumes);
    }
    // initIdentity
    spec["hostname"] = json!(pod_name);
    if let Some(svc) = set["spec"]["serviceName"].as_str().filter(|s| !s.is_empty()) {
        spec["subdomain"] = json!(svc);
    }
    let qos = if spec["containers"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| c["resources"].as_object().is_some_and(|r| !r.is_empty()))
    }) {
        "Burstable"
    } else {
        "BestEffort"
    };
    json!({ "metadata": meta, "spec": spec, "status": { "phase": "Pending", "qosClass": qos } })
}

/// The API server's pod defaults (pkg/apis/core/v1/defaults.go) for fields a template
/// may lack: the controller creates pods through the store, past API defaulting.
fn default_pod_spec(spec: &mut Value) {
    let defaults = [
        ("restartPolicy", json!("Always")),
        ("terminationGracePeriodSeconds", json!(30)),
        ("dnsPolicy", json!("ClusterFirst")),
        ("securityContext", json!({})),
        ("schedulerName", json!("default-scheduler")),
    ];
    for (k, v) in defaults {
        if spec.get(k).is_none() {
            spec[k] = v;
        }
    }
    if let Some(cs) = spec["containers"].as_array_mut() {
        for c in cs {
            if c.get("imagePullPolicy").is_none() {
                let image = c["image"].as_str().unwrap_or("");
                let tag = image.rsplit('/').next().unwrap_or("");
                let latest = !tag.contains(':') || tag.ends_with(":latest");
                c["imagePullPolicy"] = json!(if latest { "Always" } else { "IfNotPresent" });
            }
            if c.get("terminationMessagePath").is_none() {
                c["terminationMessagePath"] = json!("/dev/termination-log");
            }
            if c.get("terminationMessagePolicy").is_none() {
                c["terminationMessagePolicy"] = json!("File");
            }
            if c.get("resources").is_none() {
                c["resources"] = json!({});
            }
        }
    }
}

/// getStatefulSetRevisions: find or create the update revision (an equal older
/// revision is re-used with a new revision number), resolve the current revision
/// (`status.currentRevision`, else the update revision), handle hash collisions.
fn ensure_revisions(store: &Store, set: &Value) -> Option<Revisions> {
    let ns = util::namespace(set);
    let set_uid = uid(set);
    let mut all: Vec<Arc<Value>> = store
        .list("controllerrevisions", Some(ns))
        .0
        .into_iter()
        .filter(|r| controlled_by(r, set_uid))
        .collect();
    all.sort_by_key(|r| r["revision"].as_i64().unwrap_or(0));
    let data = revisions::template_patch(set);
    let latest = all.last().and_then(|r| r["revision"].as_i64()).unwrap_or(0);
    let mut collision_count = set["status"]["collisionCount"].as_i64().unwrap_or(0);
    let equal = all.iter().rev().find(|r| r["data"] == data).cloned();
    let update = match equal {
        Some(r) if r["revision"].as_i64() == Some(latest) => r,
        Some(r) => {
            let key = Key::new("controllerrevisions", ns, name(&r));
            let updated = store
                .modify(&key, |o| {
                    o["revision"] = json!(latest + 1);
                    Ok(())
                })
                .ok()?;
            all.retain(|x| uid(x) != uid(&updated));
            all.push(updated.clone());
            updated
        }
        None => {
            let mut labels: Map<String, Value> = set["spec"]["template"]["metadata"]["labels"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            let mut created = None;
            for _ in 0..16 {
                let hash = revisions::hash(&data, collision_count);
                labels.insert(HASH_LABEL.into(), json!(hash));
                let mut meta = json!({
                    "name": revisions::revision_name(name(set), &hash),
                    "namespace": ns,
                    "labels": labels,
                    "ownerReferences": [util::controller_ref(set)],
                });
                if let Some(a) = set["metadata"]["annotations"].as_object().filter(|a| !a.is_empty()) {
                    meta["annotations"] = Value::Object(a.clone());
                }
                let cr = json!({ "metadata": meta, "data": data, "revision": latest + 1 });
                match store.create(ns, "controllerrevisions", cr) {
                    Ok(r) => {
                        created = Some(r);
                        break;
                    }
                    Err(e) if e.code == 409 => {
                        let key = Key::new("controllerrevisions", ns, &revisions::revision_name(name(set), &hash));
                        match store.get(&key) {
                            Some(existing) if existing["data"] == data && controlled_by(&existing, set_uid) => {
                                created = Some(existing);
                                break;
                            }
                            _ => collision_count += 1,
                        }
                    }
                    Err(_) => return None,
                }
            }
            let r = created?;
            all.push(r.clone());
            r
        }
    };
    let current = set["status"]["currentRevision"]
        .as_str()
        .and_then(|cur| all.iter().find(|r| name(r) == cur).cloned())
        .unwrap_or_else(|| update.clone());
    Some(Revisions {
        current,
        update,
        collision_count,
        all,
    })
}

/// truncateHistory: keep the current and update revisions and those of live pods;
/// delete the oldest others beyond revisionHistoryLimit.
fn truncate_history(
    store: &Store,
    ns: &str,
    set_uid: &str,
    revs: &Revisions,
    current: &str,
    update: &str,
    limit: usize,
) {
    let live: Vec<String> = store
        .list("pods", Some(ns))
        .0
        .iter()
        .filter(|p| controlled_by(p, set_uid))
        .map(|p| revision_of(p).to_string())
        .collect();
    let history: Vec<&Arc<Value>> = revs
        .all
        .iter()
        .filter(|r| {
            let n = name(r);
            n != current && n != update && !live.iter().any(|l| l == n)
        })
        .collect();
    if history.len() <= limit {
        return;
    }
    for r in &history[..history.len() - limit] {
        let _ = store.delete(&Key::new("controllerrevisions", ns, name(r)), None, Some(uid(r)), None);
    }
}

/// updateStatefulSetStatus: write only when something changed. `readyReplicas`,
/// `currentReplicas`, `updatedReplicas` and `observedGeneration` are omitted when zero
/// (omitempty); `replicas` and `availableReplicas` are always present.
fn write_status(store: &Store, set: &Value, c: &Counts, current: &str, update: &str, collision_count: i64) {
    let mut st = Map::new();
    let generation = set["metadata"]["generation"].as_i64().unwrap_or(1);
    if generation != 0 {
        st.insert("observedGeneration".into(), json!(generation));
    }
    st.insert("replicas".into(), json!(c.replicas));
    if c.ready != 0 {
        st.insert("readyReplicas".into(), json!(c.ready));
    }
    if c.current != 0 {
        st.insert("currentReplicas".into(), json!(c.current));
    }
    if c.updated != 0 {
        st.insert("updatedReplicas".into(), json!(c.updated));
    }
    st.insert("currentRevision".into(), json!(current));
    st.insert("updateRevision".into(), json!(update));
    st.insert("collisionCount".into(), json!(collision_count));
    st.insert("availableReplicas".into(), json!(c.available));
    if let Some(conds) = set["status"]["conditions"].as_array().filter(|a| !a.is_empty()) {
        st.insert("conditions".into(), Value::Array(conds.clone()));
    }
    let status = Value::Object(st);
    if set["status"] == status {
        return;
    }
    let key = Key::new("statefulsets", util::namespace(set), name(set));
    let set_uid = uid(set).to_string();
    let _ = store.modify(&key, |s| {
        if uid(s) != set_uid {
            return Err(crate::error::ApiError::new(409, "Conflict", "set was replaced"));
        }
        s["status"] = status;
        Ok(())
    });
}
