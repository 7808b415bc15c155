//! The scale write: kubectl's scaler (k8s.io/kubectl/pkg/scale), PATCH or, with a
//! precondition, PUT of `statefulsets/<name>/scale`, retrying a 409 only while the
//! precondition still holds.

use std::time::Duration;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::autoscaling::v1::{Scale, ScaleSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, Patch, PatchParams, PostParams};

use super::{MAX_CONFLICT_RETRIES, precondition_failed};
use crate::error::{Result, Target};
use crate::kubeconfig::Kube;
use crate::model::statefulset::Facts;

const FIELD_MANAGER: &str = "kubectl-sts";

/// PATCH (or, with a precondition, PUT) `statefulsets/<name>/scale`.
pub(super) async fn write_scale(
    kube: &Kube,
    api: &Api<StatefulSet>,
    f: &Facts,
    to: i32,
    current: Option<i32>,
    mut resource_version: Option<String>,
    dry_run: bool,
) -> Result<Scale> {
    let target = || Target::new("scale", "statefulset", Some(&f.name), Some(&f.namespace));
    let mut attempt = 0;
    loop {
        attempt += 1;
        let res: kube::Result<Scale> = match current {
            Some(_) => {
                let scale = Scale {
                    metadata: ObjectMeta {
                        name: Some(f.name.clone()),
                        namespace: Some(f.namespace.clone()),
                        resource_version: resource_version.clone(),
                        ..ObjectMeta::default()
                    },
                    spec: Some(ScaleSpec { replicas: Some(to) }),
                    status: None,
                };
                let pp = PostParams {
                    dry_run,
                    field_manager: Some(FIELD_MANAGER.into()),
                };
                timed(kube.request_timeout, api.replace_scale(&f.name, &pp, &scale)).await
            }
            None => {
                let pp = PatchParams {
                    dry_run,
                    field_manager: Some(FIELD_MANAGER.into()),
                    ..PatchParams::default()
                };
                let patch = Patch::Merge(serde_json::json!({"spec": {"replicas": to}}));
                timed(kube.request_timeout, api.patch_scale(&f.name, &pp, &patch)).await
            }
        };
        match res {
            Ok(s) => return Ok(s),
            Err(kube::Error::Api(s)) if s.code == 409 && attempt <= MAX_CONFLICT_RETRIES => {
                // Someone changed the StatefulSet between our read and our write. Re-read
                // and retry only while the precondition still holds.
                let fresh = kube
                    .call(
                        Target::new("get", "statefulset", Some(&f.name), Some(&f.namespace)),
                        api.get_scale(&f.name),
                    )
                    .await?;
                let now = fresh.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0);
                if let Some(m) = current
                    && now != m
                {
                    return Err(precondition_failed(f, m, now));
                }
                resource_version = fresh.metadata.resource_version;
            }
            Err(e) => {
                let mut err = kube.error(&e, target());
                if matches!(&e, kube::Error::Api(s) if s.code == 409) {
                    err.message = format!(
                        "{} (gave up after {MAX_CONFLICT_RETRIES} retries; the scale was not applied)",
                        err.message
                    );
                }
                return Err(err);
            }
        }
    }
}

/// One write under `--request-timeout`, keeping the kube error (to tell a 409 apart).
async fn timed<T>(limit: Option<Duration>, fut: impl Future<Output = kube::Result<T>>) -> kube::Result<T> {
    match limit {
        Some(t) => tokio::time::timeout(t, fut).await.unwrap_or_else(|_| {
            Err(kube::Error::Api(Box::new(
                kube::core::Status::failure("the request timed out (--request-timeout)", "Timeout").with_code(504),
            )))
        }),
        None => fut.await,
    }
}
