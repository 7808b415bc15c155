//! Who else writes this StatefulSet: Helm, Argo CD, Flux, or another field manager, and
//! what that writer does to a change made here. Pure: the StatefulSet in, [`Owner`]s and
//! one-line warnings out. Nothing is refused because of an owner; the warning says what
//! the owner will do next and what to change in its source so the change sticks.
//!
//! The marks each tool leaves (their own documentation and code):
//! - Helm 3: label `app.kubernetes.io/managed-by: Helm` and annotations
//!   `meta.helm.sh/release-name` / `meta.helm.sh/release-namespace` (helm pkg/action
//!   `setMetadataVisitor`); its writes carry field manager `helm`. An upgrade sends a
//!   three-way merge patch (old manifest, new manifest, live object), so a field the
//!   chart renders is set back to the chart's value, whoever changed it.
//! - Argo CD: label `argocd.argoproj.io/instance` (label tracking) or annotation
//!   `argocd.argoproj.io/tracking-id` (`<app>:<group>/<kind>:<namespace>/<name>`);
//!   field manager `argocd-controller`. A Helm chart rendered by Argo CD keeps the
//!   chart's `managed-by: Helm` label but has no release annotations: no `helm upgrade`
//!   will run, the Argo CD application is the owner.
//! - Flux: labels `kustomize.toolkit.fluxcd.io/name`/`namespace` (kustomize-controller,
//!   server-side apply with force) or `helm.toolkit.fluxcd.io/name`/`namespace`
//!   (helm-controller, which also leaves Helm's release marks).
//! - Any other server-side-apply or update field manager in `metadata.managedFields`
//!   that owns fields under `spec` (kube-controller-manager, kubectl's own managers and
//!   this plugin's are not owners).

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry;
use serde::Serialize;

/// The tool behind an owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Tool {
    Helm,
    #[serde(rename = "ArgoCD")]
    ArgoCd,
    /// Flux's kustomize-controller (a Kustomization).
    #[serde(rename = "FluxKustomization")]
    FluxKustomization,
    /// Flux's helm-controller (a HelmRelease).
    #[serde(rename = "FluxHelmRelease")]
    FluxHelmRelease,
    /// A field manager none of the above.
    FieldManager,
}

/// Which parts of `spec` an owner writes, from its managedFields entries (all of them
/// for the GitOps tools and Helm, which re-render the whole manifest).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Writes {
    pub replicas: bool,
    pub template: bool,
    pub claim_templates: bool,
}

impl Writes {
    const ALL: Writes = Writes {
        replicas: true,
        template: true,
        claim_templates: true,
    };

    fn union(self, o: Writes) -> Writes {
        Writes {
            replicas: self.replicas || o.replicas,
            template: self.template || o.template,
            claim_templates: self.claim_templates || o.claim_templates,
        }
    }
}

/// Someone else who writes the StatefulSet (`status.managedBy` in the JSON reports).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Owner {
    pub tool: Tool,
    /// Helm release, Argo CD application, Flux Kustomization or HelmRelease name.
    pub name: Option<String>,
    /// The release's or Flux object's namespace, when the marks say it.
    pub namespace: Option<String>,
    /// Its field manager in `metadata.managedFields`, when it has an entry.
    pub field_manager: Option<String>,
    /// Where a change has to be made so that it sticks.
    pub source: String,
    #[serde(skip)]
    pub writes: Writes,
    /// Server-side apply (operation Apply): it re-applies only the fields it owns.
    #[serde(skip)]
    pub applies: bool,
    /// Argo CD rendering a Helm chart: the values live in the application's source.
    #[serde(skip)]
    pub helm_chart: bool,
}

/// The kinds of change this plugin makes that an owner may undo or block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change<'a> {
    /// `scale --replicas N`.
    Scale { replicas: i32 },
    /// `restart`: the template's restartedAt annotation.
    Restart,
    /// `rollout undo`: the template of an older revision (its images).
    Undo { revision: i64, images: &'a [String] },
    /// A claim template resized (delete with orphan, re-create with the new size).
    Resize { template: &'a str, size: &'a str },
}

pub const HELM_MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const HELM_RELEASE: &str = "meta.helm.sh/release-name";
pub const HELM_RELEASE_NS: &str = "meta.helm.sh/release-namespace";
pub const ARGO_INSTANCE: &str = "argocd.argoproj.io/instance";
pub const ARGO_TRACKING: &str = "argocd.argoproj.io/tracking-id";
pub const FLUX_KS_NAME: &str = "kustomize.toolkit.fluxcd.io/name";
pub const FLUX_KS_NS: &str = "kustomize.toolkit.fluxcd.io/namespace";
pub const FLUX_HR_NAME: &str = "helm.toolkit.fluxcd.io/name";
pub const FLUX_HR_NS: &str = "helm.toolkit.fluxcd.io/namespace";

/// The field managers each tool writes with.
const MANAGERS: [(Tool, &str); 4] = [
    (Tool::Helm, "helm"),
    (Tool::ArgoCd, "argocd-controller"),
    (Tool::FluxKustomization, "kustomize-controller"),
    (Tool::FluxHelmRelease, "helm-controller"),
];

/// Field managers that are not owners: the controllers' own, kubectl's (`kubectl`,
/// `kubectl-client-side-apply`, `kubectl-edit`, `kubectl-rollout`, ...) and ours.
pub fn ignored_manager(m: &str) -> bool {
    m.is_empty() || m == "kube-controller-manager" || m.starts_with("kubectl")
}

/// Every owner of `sts`, GitOps tools first, then other field managers.
pub fn detect(sts: &StatefulSet) -> Vec<Owner> {
    let m = &sts.metadata;
    let label = |k: &str| {
        m.labels
            .as_ref()
            .and_then(|l| l.get(k))
            .filter(|v| !v.is_empty())
            .cloned()
    };
    let note = |k: &str| {
        m.annotations
            .as_ref()
            .and_then(|a| a.get(k))
            .filter(|v| !v.is_empty())
            .cloned()
    };
    let entries = m.managed_fields.as_deref().unwrap_or_default();
    let mut owners = Vec::new();
    let flux_helm = label(FLUX_HR_NAME);
    if let Some(name) = label(FLUX_KS_NAME) {
        owners.push(owner(Tool::FluxKustomization, Some(name), label(FLUX_KS_NS)));
    }
    if let Some(name) = flux_helm.clone() {
        owners.push(owner(Tool::FluxHelmRelease, Some(name), label(FLUX_HR_NS)));
    }
    let argo =
        label(ARGO_INSTANCE).or_else(|| note(ARGO_TRACKING).map(|t| t.split(':').next().unwrap_or("").to_string()));
    let release = note(HELM_RELEASE);
    let helm_label = label(HELM_MANAGED_BY).is_some_and(|v| v.eq_ignore_ascii_case("helm"));
    if let Some(app) = argo.filter(|a| !a.is_empty()) {
        let mut o = owner(Tool::ArgoCd, Some(app), None);
        o.helm_chart = helm_label && release.is_none();
        o.source = source_of(&o);
        owners.push(o);
    }
    // Helm's own release, unless Flux's helm-controller drives it or Argo CD renders the chart.
    let argo_renders = owners.iter().any(|o| o.helm_chart);
    if flux_helm.is_none() && (release.is_some() || (helm_label && !argo_renders)) {
        let name = release.or_else(|| label("app.kubernetes.io/instance"));
        owners.push(owner(
            Tool::Helm,
            name,
            note(HELM_RELEASE_NS).or_else(|| m.namespace.clone()),
        ));
    }
    attach_managers(&mut owners, entries);
    owners
}

fn owner(tool: Tool, name: Option<String>, namespace: Option<String>) -> Owner {
    let mut o = Owner {
        tool,
        name,
        namespace,
        field_manager: None,
        source: String::new(),
        writes: Writes::ALL,
        applies: false,
        helm_chart: false,
    };
    o.source = source_of(&o);
    o
}

/// Give each tool its managedFields entry; a known tool's manager without its marks is
/// that tool still; any other manager owning `spec` fields is an owner of its own.
fn attach_managers(owners: &mut Vec<Owner>, entries: &[ManagedFieldsEntry]) {
    for e in entries {
        let Some(name) = e.manager.as_deref().filter(|n| !ignored_manager(n)) else {
            continue;
        };
        if e.subresource.as_deref().is_some_and(|s| !s.is_empty()) {
            continue;
        }
        let applies = e.operation.as_deref() == Some("Apply");
        let tool = MANAGERS.iter().find(|(_, m)| *m == name).map(|(t, _)| *t);
        let writes = writes_of(e);
        if let Some(o) = owners
            .iter_mut()
            .find(|o| Some(o.tool) == tool || o.field_manager.as_deref() == Some(name))
        {
            o.field_manager = Some(name.to_string());
            o.applies |= applies;
            if o.tool == Tool::FieldManager {
                o.writes = o.writes.union(writes);
            }
            continue;
        }
        if tool.is_none() && writes == Writes::default() {
            continue;
        }
        let mut o = owner(tool.unwrap_or(Tool::FieldManager), None, None);
        o.field_manager = Some(name.to_string());
        o.applies = applies;
        if tool.is_none() {
            o.writes = writes;
        }
        o.source = source_of(&o);
        owners.push(o);
    }
}

/// The parts of `spec` a managedFields entry owns (FieldsV1: `f:spec` -> `f:replicas`, ...).
fn writes_of(e: &ManagedFieldsEntry) -> Writes {
    let spec = e.fields_v1.as_ref().map(|f| &f.0["f:spec"]);
    let has = |k: &str| spec.is_some_and(|s| s.get(k).is_some());
    Writes {
        replicas: has("f:replicas"),
        template: has("f:template"),
        claim_templates: has("f:volumeClaimTemplates"),
    }
}

/// "Helm release web (ns default)", "Argo CD application shop", "field manager \"x\"".
pub fn describe(o: &Owner) -> String {
    let name = o.name.as_deref().unwrap_or("<unknown>");
    let qualified = match &o.namespace {
        Some(ns) => format!("{ns}/{name}"),
        None => name.to_string(),
    };
    match o.tool {
        Tool::Helm => match &o.namespace {
            Some(ns) => format!("Helm release {name} (ns {ns})"),
            None => format!("Helm release {name}"),
        },
        Tool::ArgoCd => format!("Argo CD application {name}"),
        Tool::FluxKustomization => format!("Flux Kustomization {qualified}"),
        Tool::FluxHelmRelease => format!("Flux HelmRelease {qualified}"),
        Tool::FieldManager => format!(
            "field manager \"{}\"",
            o.field_manager.as_deref().unwrap_or("<unknown>")
        ),
    }
}

/// Where a change has to be made for it to stick.
fn source_of(o: &Owner) -> String {
    let name = o.name.as_deref().unwrap_or("<unknown>");
    match o.tool {
        Tool::Helm => format!("the Helm values of release {name}"),
        Tool::ArgoCd if o.helm_chart => format!("the Helm values in the source of Argo CD application {name}"),
        Tool::ArgoCd => format!("the source (Git) of Argo CD application {name}"),
        Tool::FluxKustomization => format!("the manifests (Git) Flux Kustomization {name} applies"),
        Tool::FluxHelmRelease => format!("spec.values of Flux HelmRelease {name}"),
        Tool::FieldManager => format!(
            "whatever writes as field manager \"{}\"",
            o.field_manager.as_deref().unwrap_or("<unknown>")
        ),
    }
}

/// What the owner does on its next run: "the next `helm upgrade`".
fn next_run(o: &Owner) -> &'static str {
    match o.tool {
        Tool::Helm => "the next `helm upgrade`",
        Tool::ArgoCd => "the next Argo CD sync (at once with self-heal)",
        Tool::FluxKustomization | Tool::FluxHelmRelease => "Flux's next reconciliation",
        Tool::FieldManager => "its next write",
    }
}

/// One line on what `o` does to `change` and what to change in its source; None when
/// it does not touch what the change touches (a field manager owning other fields, or
/// a restart, which no declarative owner undoes).
pub fn warning(o: &Owner, change: Change) -> Option<String> {
    let who = format!("managed by {}", describe(o));
    let next = next_run(o);
    let w = o.writes;
    Some(match change {
        Change::Scale { replicas } if w.replicas => format!(
            "{who}: {next} sets replicas back to what its source says; to keep {replicas}, set replicas: {replicas} in {}",
            o.source
        ),
        Change::Undo { revision, images } if w.template => format!(
            "{who}: {next} re-applies the template this undo reverts; revert it in {} too (revision {revision}: {})",
            o.source,
            images.join(", ")
        ),
        Change::Resize { template, size } if w.claim_templates => format!(
            "{who}: {next} fails with 422 Invalid (volumeClaimTemplates are immutable) until {template} is {size} in {} too",
            o.source
        ),
        Change::Restart if o.tool == Tool::FieldManager => {
            if !w.template || o.applies {
                return None;
            }
            format!(
                "{who}: it updates the pod template; if its next write drops the kubectl.kubernetes.io/restartedAt \
                 annotation, every pod restarts once more"
            )
        }
        Change::Restart => format!(
            "{who}: the restart sticks ({next} leaves the kubectl.kubernetes.io/restartedAt annotation alone, \
             it is not in {}); nothing to change there",
            o.source
        ),
        _ => return None,
    })
}

/// The warnings of every owner for one change.
pub fn warnings(owners: &[Owner], change: Change) -> Vec<String> {
    owners.iter().filter_map(|o| warning(o, change)).collect()
}

#[cfg(test)]
mod tests;
