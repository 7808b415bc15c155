//! `kubectl sts status [NAME]`: the StatefulSet's stable-identity promises, per ordinal.
//!
//! gather (sts, its pods, the namespace's PVCs) -> [`build`] (pure) -> `render` (the tables).

mod render;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::ListParams;
use serde::Serialize;

use crate::cli::{GlobalArgs, StatusArgs};
use crate::error::{Result, Target};
use crate::gather::{self, api, list_all, selector_string};
use crate::kubeconfig::Kube;
use crate::model::drift::{self, Drift, DriftSummary};
use crate::model::ordinals::{claim_name, pod_name, pod_ordinal};
use crate::model::ownership::{self, Owner};
use crate::model::pods;
use crate::model::statefulset::{Facts, RetentionPolicy};
use crate::render::Style;

use render::{render_report, render_summaries};

pub const API_VERSION: &str = "kubectl-sts/v1";

/// `-o json|yaml` of `status NAME` (schema documented in docs/json-schemas.md).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusReport {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub namespace: String,
    pub name: String,
    /// Settled, ScalingOut, ScalingIn, Rolling, Degraded or Progressing.
    pub state: &'static str,
    pub generation: i64,
    pub observed_generation: Option<i64>,
    pub replicas: Counts,
    /// First ordinal and one past the last: `[start, end)`.
    pub ordinals: Span,
    pub update_strategy: Strategy,
    pub pod_management_policy: String,
    pub min_ready_seconds: i32,
    pub service_name: Option<String>,
    pub pod_dns_pattern: Option<String>,
    pub pvc_retention_policy: RetentionPolicy,
    pub current_revision: Option<String>,
    pub update_revision: Option<String>,
    /// Helm, Argo CD, Flux or other field managers that also write this StatefulSet.
    pub managed_by: Vec<Owner>,
    /// One entry per ordinal in range, then any pod still present outside it.
    pub pods: Vec<OrdinalStatus>,
    /// Claims that differ from their template, and what the next scale-out creates.
    pub drift: DriftSummary,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    pub desired: i32,
    pub current: i32,
    pub ready: i32,
    pub available: i32,
    pub updated: i32,
}

#[derive(Debug, Serialize)]
pub struct Span {
    pub start: i32,
    pub end: i32,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Strategy {
    #[serde(rename = "type")]
    pub type_: String,
    pub partition: i32,
    pub max_unavailable: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrdinalStatus {
    pub ordinal: i32,
    pub pod: String,
    /// False when the pod does not exist (yet, or any more).
    pub exists: bool,
    /// False for a pod outside `[start, end)` that has not gone yet.
    pub in_range: bool,
    pub ready: bool,
    /// `ready/total` containers, as kubectl's READY column.
    pub ready_containers: String,
    /// kubectl's STATUS column; `<none>` when the pod does not exist.
    pub status: String,
    pub restarts: i32,
    pub uid: Option<String>,
    pub revision: Option<String>,
    /// `current`, `update` (both when they are equal), or `other`.
    pub revision_state: Option<&'static str>,
    pub node: Option<String>,
    pub dns_name: Option<String>,
    pub created: Option<String>,
    pub age_seconds: Option<i64>,
    pub claims: Vec<ClaimStatus>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimStatus {
    pub template: String,
    pub name: String,
    /// Bound, Pending, Lost, or Missing (no such PVC).
    pub phase: String,
    pub volume: Option<String>,
    pub capacity: Option<String>,
    pub storage_class: Option<String>,
    /// How the claim differs from its template (request, unfinished resize, class,
    /// access modes); empty when it matches.
    pub drift: Vec<Drift>,
}

/// Decide: per-ordinal status from the StatefulSet, its pods and the namespace's PVCs.
pub fn build(sts: &StatefulSet, pods_in: &[Pod], pvcs: &[PersistentVolumeClaim], now: jiff::Timestamp) -> StatusReport {
    let f = Facts::of(sts);
    let range = f.ordinals();
    let by_ordinal: BTreeMap<i32, &Pod> = pods_in
        .iter()
        .filter_map(|p| pod_ordinal(&f.name, p.metadata.name.as_deref()?).map(|o| (o, p)))
        .collect();
    let pvc_by_name: BTreeMap<&str, &PersistentVolumeClaim> = pvcs
        .iter()
        .filter_map(|c| Some((c.metadata.name.as_deref()?, c)))
        .collect();
    let mut ordinals: Vec<i32> = range.range().collect();
    ordinals.extend(by_ordinal.keys().copied().filter(|o| !range.contains(*o)));
    let rows: Vec<OrdinalStatus> = ordinals
        .into_iter()
        .map(|o| ordinal_status(&f, o, range.contains(o), by_ordinal.get(&o).copied(), &pvc_by_name, now))
        .collect();
    let per_claim: Vec<(String, Vec<Drift>)> = rows
        .iter()
        .flat_map(|r| r.claims.iter().map(|c| (c.template.clone(), c.drift.clone())))
        .collect();
    let drift = drift::summarize(&f.claim_specs, &per_claim);
    StatusReport {
        api_version: API_VERSION,
        kind: "StatefulSetStatus",
        namespace: f.namespace.clone(),
        name: f.name.clone(),
        state: f.summary_state(),
        generation: f.generation,
        observed_generation: f.observed_generation,
        replicas: Counts {
            desired: f.replicas,
            current: f.status_replicas,
            ready: f.ready_replicas,
            available: f.available_replicas,
            updated: f.updated_replicas,
        },
        ordinals: Span {
            start: range.start,
            end: range.end(),
        },
        update_strategy: Strategy {
            type_: f.update_strategy.to_string(),
            partition: f.partition,
            max_unavailable: f.max_unavailable.clone(),
        },
        pod_management_policy: f.pod_management_policy.to_string(),
        min_ready_seconds: f.min_ready_seconds,
        service_name: f.service_name.clone(),
        pod_dns_pattern: f.pod_dns_pattern(),
        pvc_retention_policy: f.retention.clone(),
        current_revision: f.current_revision.clone(),
        update_revision: f.update_revision.clone(),
        managed_by: ownership::detect(sts),
        pods: rows,
        drift,
    }
}

fn ordinal_status(
    f: &Facts,
    ordinal: i32,
    in_range: bool,
    pod: Option<&Pod>,
    pvcs: &BTreeMap<&str, &PersistentVolumeClaim>,
    now: jiff::Timestamp,
) -> OrdinalStatus {
    let name = pod_name(&f.name, ordinal);
    let templates = &f.claim_specs;
    let claims = f
        .claim_templates
        .iter()
        .map(|t| {
            let claim = claim_name(t, &f.name, ordinal);
            match pvcs.get(claim.as_str()) {
                Some(c) => ClaimStatus {
                    template: t.clone(),
                    name: claim,
                    phase: c
                        .status
                        .as_ref()
                        .and_then(|s| s.phase.clone())
                        .unwrap_or_else(|| "Pending".into()),
                    volume: c
                        .spec
                        .as_ref()
                        .and_then(|s| s.volume_name.clone())
                        .filter(|v| !v.is_empty()),
                    capacity: crate::model::quantity::claim_capacity(c),
                    storage_class: c.spec.as_ref().and_then(|s| s.storage_class_name.clone()),
                    drift: templates
                        .iter()
                        .find(|x| x.name == *t)
                        .map(|x| drift::claim_drift(x, c))
                        .unwrap_or_default(),
                },
                None => ClaimStatus {
                    template: t.clone(),
                    name: claim,
                    phase: "Missing".into(),
                    volume: None,
                    capacity: None,
                    storage_class: None,
                    drift: Vec::new(),
                },
            }
        })
        .collect();
    let dns_name = f
        .service_name
        .as_ref()
        .map(|svc| format!("{name}.{svc}.{}.svc.cluster.local", f.namespace));
    let Some(p) = pod else {
        return OrdinalStatus {
            ordinal,
            pod: name,
            exists: false,
            in_range,
            ready: false,
            ready_containers: "0/0".into(),
            status: "<none>".into(),
            restarts: 0,
            uid: None,
            revision: None,
            revision_state: None,
            node: None,
            dns_name,
            created: None,
            age_seconds: None,
            claims,
        };
    };
    let revision = pods::revision(p).map(str::to_string);
    let revision_state = revision.as_deref().map(|r| {
        if Some(r) == f.update_revision.as_deref() {
            "update"
        } else if Some(r) == f.current_revision.as_deref() {
            "current"
        } else {
            "other"
        }
    });
    let (ready_n, total) = pods::ready_containers(p);
    let created = p.metadata.creation_timestamp.as_ref().map(|t| t.0);
    OrdinalStatus {
        ordinal,
        pod: name,
        exists: true,
        in_range,
        ready: pods::is_ready(p),
        ready_containers: format!("{ready_n}/{total}"),
        status: pods::status_reason(p),
        restarts: pods::restarts(p),
        uid: p.metadata.uid.clone(),
        revision,
        revision_state,
        node: pods::node(p).map(str::to_string),
        dns_name,
        created: created.map(|t| t.to_string()),
        age_seconds: created.map(|t| now.duration_since(t).as_secs().max(0)),
        claims,
    }
}

/// One line per StatefulSet, for `status` without a name.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub namespace: String,
    pub name: String,
    pub state: &'static str,
    pub replicas: Counts,
    pub ordinals: Span,
    pub update_strategy: Strategy,
    pub pod_management_policy: String,
    pub claim_templates: Vec<String>,
    pub pvc_retention_policy: RetentionPolicy,
    pub age_seconds: Option<i64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SummaryList {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub items: Vec<Summary>,
}

pub fn summarize(sts: &StatefulSet, now: jiff::Timestamp) -> Summary {
    let f = Facts::of(sts);
    let range = f.ordinals();
    Summary {
        namespace: f.namespace.clone(),
        name: f.name.clone(),
        state: f.summary_state(),
        replicas: Counts {
            desired: f.replicas,
            current: f.status_replicas,
            ready: f.ready_replicas,
            available: f.available_replicas,
            updated: f.updated_replicas,
        },
        ordinals: Span {
            start: range.start,
            end: range.end(),
        },
        update_strategy: Strategy {
            type_: f.update_strategy.to_string(),
            partition: f.partition,
            max_unavailable: f.max_unavailable,
        },
        pod_management_policy: f.pod_management_policy.to_string(),
        claim_templates: f.claim_templates,
        pvc_retention_policy: f.retention,
        age_seconds: sts
            .metadata
            .creation_timestamp
            .as_ref()
            .map(|t| now.duration_since(t.0).as_secs().max(0)),
    }
}

pub async fn run(global: &GlobalArgs, args: &StatusArgs) -> Result<()> {
    if args.name.is_some() && args.all_namespaces {
        return Err(crate::error::CliError::usage(
            "a StatefulSet name cannot be combined with -A: use -n NAMESPACE to pick its namespace",
        ));
    }
    let kube = Kube::connect(global).await?;
    let style = Style::from_args(global);
    let now = jiff::Timestamp::now();
    let Some(name) = &args.name else {
        let ns = (!args.all_namespaces).then_some(kube.namespace.as_str());
        let mut lp = ListParams::default();
        if let Some(sel) = &args.selector {
            lp = lp.labels(sel);
        }
        let all = list_all(
            &kube,
            api::<StatefulSet>(&kube, ns),
            lp,
            Target::new("list", "statefulset", None, ns),
        )
        .await?;
        if all.is_empty()
            && let Some(ns) = ns
            && let Some(e) = gather::namespace_missing(&kube, ns).await
        {
            return Err(e);
        }
        let items: Vec<Summary> = all.iter().map(|s| summarize(s, now)).collect();
        if crate::render::is_structured(global.output) {
            let list = SummaryList {
                api_version: API_VERSION,
                kind: "StatefulSetStatusList",
                items,
            };
            crate::out!("{}", crate::render::structured(&list, global.output)?);
        } else if items.is_empty() {
            match ns {
                Some(ns) => crate::errln!("No StatefulSets found in namespace \"{ns}\"."),
                None => crate::errln!("No StatefulSets found."),
            }
        } else {
            crate::out!("{}", render_summaries(&items, args.all_namespaces, global, style));
        }
        return Ok(());
    };
    let ns = kube.namespace.clone();
    let sts = gather::statefulset(&kube, &ns, name).await?;
    let selector = selector_string(&sts.spec.selector);
    let pods_fut = list_all(
        &kube,
        api::<Pod>(&kube, Some(&ns)),
        ListParams::default().labels(&selector),
        Target::new("list", "pod", None, Some(&ns)),
    );
    let pvcs_fut = list_all(
        &kube,
        api::<PersistentVolumeClaim>(&kube, Some(&ns)),
        ListParams::default(),
        Target::new("list", "persistentvolumeclaim", None, Some(&ns)),
    );
    let (pods_in, pvcs) = futures::try_join!(pods_fut, pvcs_fut)?;
    let report = build(&sts, &pods_in, &pvcs, now);
    if crate::render::is_structured(global.output) {
        crate::out!("{}", crate::render::structured(&report, global.output)?);
    } else {
        crate::out!("{}", render_report(&report, global, style));
    }
    if args.fail_on_drift && report.drift.claims > 0 {
        return Err(crate::error::CliError::failed(format!(
            "statefulset \"{name}\": {} claim(s) differ from their template{}",
            report.drift.claims,
            report
                .drift
                .next_scale_out
                .first()
                .map(|l| format!(": {l}"))
                .unwrap_or_default()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
