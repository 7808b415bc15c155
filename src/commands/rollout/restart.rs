//! `kubectl sts restart STS`: confirm, patch the pod template's
//! `kubectl.kubernetes.io/restartedAt` annotation the way `kubectl rollout restart`
//! does, then follow the rollout it starts.

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::StatefulSet;
use kube::api::{Api, Patch, PatchParams};
use serde::Serialize;

use super::{API_VERSION, Change, follow_and_report, revisions_of};
use crate::cli::{GlobalArgs, RestartArgs};
use crate::commands::owners;
use crate::confirm::confirm;
use crate::error::{CliError, Result, Target};
use crate::gather;
use crate::kubeconfig::Kube;
use crate::model::ownership;
use crate::model::revisions::{self, RolloutSpec};
use crate::render;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RestartInfo {
    /// The value written to the `kubectl.kubernetes.io/restartedAt` template annotation.
    pub restarted_at: String,
    pub dry_run: bool,
    /// The strategic-merge patch (sent, or that would be sent with --dry-run).
    pub patch: serde_json::Value,
    /// The pods the controller will replace, in its order (OnDelete: none by itself).
    pub pods: Vec<String>,
    /// What Helm, Argo CD, Flux or another field manager does to the restart (the
    /// report's top-level `ownerWarnings`).
    #[serde(skip)]
    pub owner_warnings: Vec<String>,
}

/// `kubectl sts restart STS`: confirm, patch the template's restartedAt annotation, trace.
pub async fn restart(global: &GlobalArgs, args: &RestartArgs) -> Result<()> {
    let kube = Kube::connect(global).await?;
    let ns = kube.namespace.clone();
    let sts = gather::statefulset(&kube, &ns, &args.name).await?;
    let spec = RolloutSpec::of(&sts);
    let now = Timestamp::now();
    let patch = revisions::restart_patch(now);
    let pods: Vec<String> = if spec.on_delete() {
        Vec::new()
    } else {
        (spec.first_updated()..spec.end())
            .rev()
            .map(|o| format!("{}-{o}", args.name))
            .collect()
    };
    let info = RestartInfo {
        restarted_at: revisions::restarted_at(now),
        dry_run: args.dry_run,
        patch: patch.clone(),
        pods: pods.clone(),
        owner_warnings: owners::announce(&sts, ownership::Change::Restart),
    };
    let which = if spec.on_delete() {
        "updateStrategy OnDelete: no pod restarts until you delete it".to_string()
    } else if pods.is_empty() {
        format!(
            "no pod restarts: every ordinal is below the partition ({})",
            spec.partition
        )
    } else {
        format!("pods restart one by one, highest first: {}", pods.join(", "))
    };
    let action = format!(
        "restart statefulset \"{}\" in namespace \"{ns}\" (context \"{}\"): {which}",
        args.name, kube.endpoint.context
    );
    if args.dry_run {
        if render::is_structured(global.output) {
            let out = serde_json::json!({"apiVersion": API_VERSION, "kind": "Restart",
                "metadata": {"name": args.name, "namespace": ns, "context": kube.endpoint.context},
                "ownerWarnings": info.owner_warnings, "restart": info});
            crate::out!("{}", render::structured(&out, global.output)?);
        } else {
            crate::outln!("dry run: would {action}");
            crate::outln!(
                "dry run: PATCH statefulsets/{} (strategic merge, fieldManager kubectl-rollout): {}",
                args.name,
                patch
            );
            crate::outln!("dry run: nothing was changed");
        }
        return Ok(());
    }
    if !confirm(&action, args.yes)? {
        return Err(CliError::usage(format!(
            "not confirmed: statefulset \"{}\" was not changed",
            args.name
        )));
    }
    let sts_api: Api<StatefulSet> = Api::namespaced(kube.client.clone(), &ns);
    // The field manager kubectl uses for this patch (kubectl-v8-rollout-restart.log).
    let pp = PatchParams {
        field_manager: Some("kubectl-rollout".into()),
        ..PatchParams::default()
    };
    let patched = kube
        .call(
            Target::new("patch", "statefulset", Some(&args.name), Some(&ns)),
            sts_api.patch(&args.name, &pp, &Patch::Strategic(&patch)),
        )
        .await?;
    let revs = revisions_of(&kube, &patched).await;
    follow_and_report(&kube, global, &args.trace, &patched, revs, Change::Restart(info)).await
}
