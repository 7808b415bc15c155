//! Gathering: one cluster's lists (concurrently, paginated), turned into the model's
//! inputs and classified by [`claims::classify_iter`]; several clusters in fleet mode.

use futures::StreamExt;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Event, PersistentVolume, PersistentVolumeClaim, Pod};
use kube::api::{Api, ListParams};

use crate::cli::{GlobalArgs, OrphansScope};
use crate::error::{CliError, ErrorKind, Result, Target};
use crate::gather::{self, api};
use crate::kubeconfig::Kube;
use crate::model::claims::{
    self, ClaimFinding, ClaimInfo, ControllerEvent, Inventory, OwnerRef, PodInfo, Reason, SetInfo, VolumeInfo,
};
use crate::model::statefulset::Facts;

/// How many clusters are audited at once in fleet mode.
const FLEET_CONCURRENCY: usize = 8;

/// One cluster's audit: the client (for prune) and every claim's finding.
pub(super) struct Audit {
    pub(super) context: String,
    pub(super) server: String,
    pub(super) namespace: Option<String>,
    pub(super) kube: Option<Kube>,
    pub(super) warnings: Vec<String>,
    pub(super) reclaim_known: bool,
    pub(super) findings: Vec<ClaimFinding>,
    pub(super) error: Option<CliError>,
}

pub(super) fn owner_refs(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> Vec<OwnerRef> {
    meta.owner_references
        .iter()
        .flatten()
        .map(|r| OwnerRef {
            api_version: r.api_version.clone(),
            kind: r.kind.clone(),
            name: r.name.clone(),
            uid: r.uid.clone(),
            controller: r.controller.unwrap_or(false),
        })
        .collect()
}

pub(crate) fn set_info(s: &StatefulSet) -> SetInfo {
    let f = Facts::of(s);
    SetInfo {
        range: f.ordinals(),
        namespace: f.namespace,
        name: f.name,
        uid: s.metadata.uid.clone().unwrap_or_default(),
        templates: f.claim_templates,
        claim_specs: f.claim_specs,
        retention: f.retention,
        deleting: s.metadata.deletion_timestamp.is_some(),
    }
}

pub(crate) fn claim_info(c: PersistentVolumeClaim) -> ClaimInfo {
    let facts = crate::model::drift::ClaimFacts::of(&c);
    let m = c.metadata;
    let spec = c.spec.unwrap_or_default();
    let status = c.status.unwrap_or_default();
    ClaimInfo {
        owners: owner_refs(&m),
        namespace: m.namespace.unwrap_or_default(),
        name: m.name.unwrap_or_default(),
        uid: m.uid.unwrap_or_default(),
        resource_version: m.resource_version.unwrap_or_default(),
        labels: m.labels.unwrap_or_default(),
        deleting: m.deletion_timestamp.is_some(),
        selected_node: m
            .annotations
            .as_ref()
            .and_then(|a| a.get("volume.kubernetes.io/selected-node").cloned()),
        created: m.creation_timestamp.map(|t| t.0),
        phase: status.phase,
        capacity: status
            .capacity
            .as_ref()
            .and_then(|c| c.get("storage"))
            .or_else(|| spec.resources.as_ref()?.requests.as_ref()?.get("storage"))
            .map(|q| q.0.clone()),
        storage_class: spec.storage_class_name,
        volume: spec.volume_name.filter(|v| !v.is_empty()),
        access_modes: spec.access_modes.unwrap_or_default(),
        volume_mode: spec.volume_mode,
        facts,
    }
}

pub(crate) fn pod_info(p: Pod) -> PodInfo {
    let name = p.metadata.name.unwrap_or_default();
    // Borrowing iteration, not `into_iter().filter_map().collect()`: that collects in
    // place, and the Vec<String> would keep the Vec<Volume> allocation (~3 KB per pod,
    // 29 MB of the 10,000-claim benchmark's heap).
    let claims = p
        .spec
        .as_ref()
        .and_then(|s| s.volumes.as_ref())
        .map(|vs| {
            vs.iter()
                .filter_map(|v| {
                    if let Some(c) = &v.persistent_volume_claim {
                        Some(c.claim_name.clone())
                    } else {
                        // Generic ephemeral volumes: the claim is `<pod>-<volume>`.
                        v.ephemeral.as_ref().map(|_| format!("{name}-{}", v.name))
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    PodInfo {
        namespace: p.metadata.namespace.unwrap_or_default(),
        uid: p.metadata.uid.unwrap_or_default(),
        deleting: p.metadata.deletion_timestamp.is_some(),
        name,
        claims,
    }
}

pub(crate) fn volume_info(v: PersistentVolume) -> VolumeInfo {
    let spec = v.spec.unwrap_or_default();
    let node = spec
        .node_affinity
        .as_ref()
        .and_then(|a| a.required.as_ref())
        .and_then(|r| {
            r.node_selector_terms.iter().find_map(|t| {
                t.match_expressions
                    .iter()
                    .flatten()
                    .find(|e| e.key == "kubernetes.io/hostname" && e.operator == "In")
                    .and_then(|e| e.values.as_ref()?.first().cloned())
            })
        });
    VolumeInfo {
        name: v.metadata.name.unwrap_or_default(),
        reclaim_policy: spec.persistent_volume_reclaim_policy,
        phase: v.status.and_then(|s| s.phase),
        node,
    }
}

pub(super) fn event_info(e: Event) -> Option<ControllerEvent> {
    let at = e
        .last_timestamp
        .map(|t| t.0.to_string())
        .or_else(|| e.event_time.map(|t| t.0.to_string()))
        .or_else(|| e.first_timestamp.map(|t| t.0.to_string()));
    ControllerEvent::parse(
        e.metadata.namespace.as_deref().unwrap_or_default(),
        e.reason.as_deref().unwrap_or_default(),
        e.message.as_deref().unwrap_or_default(),
        at,
    )
}

/// The five lists of one cluster, concurrently. PVs and events degrade to warnings
/// when forbidden; StatefulSets, PVCs and pods are required (without pods we cannot
/// know what is mounted).
pub(super) async fn gather_inventory(
    kube: &Kube,
    ns: Option<&str>,
    selector: Option<&str>,
) -> Result<(Inventory, Vec<String>)> {
    let mut pvc_lp = ListParams::default();
    if let Some(sel) = selector {
        pvc_lp = pvc_lp.labels(sel);
    }
    let sets = gather::list_map(
        kube,
        api::<StatefulSet>(kube, ns),
        ListParams::default(),
        Target::new("list", "statefulset", None, ns),
        |s| Some(set_info(&s)),
    );
    let claims = gather::list_map(
        kube,
        api::<PersistentVolumeClaim>(kube, ns),
        pvc_lp,
        Target::new("list", "persistentvolumeclaim", None, ns),
        |c| Some(claim_info(c)),
    );
    let pods = gather::list_map(
        kube,
        api::<Pod>(kube, ns),
        ListParams::default(),
        Target::new("list", "pod", None, ns),
        |p| Some(pod_info(p)),
    );
    let volumes = gather::list_map(
        kube,
        Api::<PersistentVolume>::all(kube.client.clone()),
        ListParams::default(),
        Target::new("list", "persistentvolume", None, None),
        |v| Some(volume_info(v)),
    );
    let events = gather::list_map(
        kube,
        api::<Event>(kube, ns),
        ListParams::default().fields("involvedObject.kind=StatefulSet"),
        Target::new("list", "event", None, ns),
        event_info,
    );
    let (sets, claims, pods, volumes, events) = futures::join!(sets, claims, pods, volumes, events);
    let (sets, claims, pods) = (sets?, claims?, pods?);
    let mut warnings = Vec::new();
    let volumes = match volumes {
        Ok(v) => Some(v),
        Err(e) if e.is(ErrorKind::Forbidden) => {
            warnings.push(format!(
                "cannot read PersistentVolumes ({}); the RECLAIM column is left out, so check each PV's reclaim policy before deleting",
                e.message
            ));
            None
        }
        Err(e) => return Err(e),
    };
    let events = match events {
        Ok(v) => v,
        Err(e) => {
            warnings.push(format!(
                "cannot read StatefulSet events ({}); confidence and last-mounted hints use labels and owner references only",
                e.message
            ));
            Vec::new()
        }
    };
    Ok((
        Inventory {
            sets,
            claims,
            pods,
            volumes,
            events,
        },
        warnings,
    ))
}

pub(super) async fn audit(global: GlobalArgs, scope: OrphansScope, context_label: Option<String>) -> Audit {
    let mut a = Audit {
        context: context_label.clone().unwrap_or_default(),
        server: String::new(),
        namespace: None,
        kube: None,
        warnings: Vec::new(),
        reclaim_known: false,
        findings: Vec::new(),
        error: None,
    };
    let kube = match Kube::connect(&global).await {
        Ok(k) => k,
        Err(e) => {
            a.error = Some(e);
            return a;
        }
    };
    a.context = kube.endpoint.context.clone();
    a.server = kube.endpoint.server.clone();
    let ns = (!scope.all_namespaces).then(|| kube.namespace.clone());
    a.namespace = ns.clone();
    match gather_inventory(&kube, ns.as_deref(), scope.selector.as_deref()).await {
        Ok((inv, warnings)) => {
            if inv.claims.is_empty()
                && let Some(ns) = &ns
                && let Some(e) = gather::namespace_missing(&kube, ns).await
            {
                a.error = Some(e);
                return a;
            }
            a.reclaim_known = inv.volumes.is_some();
            a.warnings = warnings;
            // Streamed: in-use claims (most of them) are dropped as they are classified.
            a.findings = claims::classify_iter(&inv)
                .filter(|f| match f.reason {
                    Reason::InUse => false,
                    Reason::Unmounted => scope.include_unmounted,
                    _ => true,
                })
                .collect();
        }
        Err(e) => a.error = Some(e),
    }
    a.kube = Some(kube);
    a
}

/// `Some(contexts)` in fleet mode (several `--context` or `--all-contexts`).
pub(super) fn fleet_contexts(global: &GlobalArgs, scope: &OrphansScope) -> Result<Option<Vec<String>>> {
    if scope.all_contexts {
        let kc = match &global.kubeconfig {
            Some(p) => kube::config::Kubeconfig::read_from(p),
            None => kube::config::Kubeconfig::read(),
        }
        .map_err(|e| CliError::usage(format!("--all-contexts: cannot read the kubeconfig: {e}")))?;
        let names: Vec<String> = kc.contexts.into_iter().map(|c| c.name).collect();
        if names.is_empty() {
            return Err(CliError::usage(
                "--all-contexts: the kubeconfig has no contexts (list them with kubectl config get-contexts)",
            ));
        }
        return Ok(Some(names));
    }
    // `kubectl sts --context a orphans --context b`: the one before the subcommand
    // lands in the global flag; count it too.
    let mut names: Vec<String> = Vec::new();
    for c in global.context.iter().chain(&scope.contexts) {
        if !names.contains(c) {
            names.push(c.clone());
        }
    }
    Ok((names.len() > 1).then_some(names))
}

/// Audit every cluster in scope; in single mode an error is returned as is.
pub(super) async fn audits(global: &GlobalArgs, scope: &OrphansScope) -> Result<(Vec<Audit>, bool)> {
    match fleet_contexts(global, scope)? {
        None => {
            let mut g = global.clone();
            if let Some(c) = scope.contexts.first().or(global.context.as_ref()) {
                g.context = Some(c.clone());
            }
            let mut a = audit(g, scope.clone(), None).await;
            if let Some(e) = a.error.take() {
                return Err(e);
            }
            Ok((vec![a], false))
        }
        Some(names) => {
            let all = futures::stream::iter(names.into_iter().map(|name| {
                let mut g = global.clone();
                g.context = Some(name.clone());
                audit(g, scope.clone(), Some(name))
            }))
            .buffered(FLEET_CONCURRENCY)
            .collect::<Vec<_>>()
            .await;
            Ok((all, true))
        }
    }
}
