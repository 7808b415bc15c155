//! The only place that talks to the API server for reads: paginated lists and gets,
//! each under `--request-timeout`, with errors that name the object.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::api::{Api, ListParams};
use kube::core::NamespaceResourceScope;
use serde::de::DeserializeOwned;

use crate::error::{CliError, Result, Target};
use crate::kubeconfig::Kube;

/// Page size for lists: large enough that 10,000 objects take 20 round trips.
pub const PAGE: u32 = 500;

/// List every object matching `lp`, following `continue` tokens.
pub async fn list_all<K>(kube: &Kube, api: Api<K>, lp: ListParams, target: Target) -> Result<Vec<K>>
where
    K: kube::Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    list_map(kube, api, lp, target, Some).await
}

/// List every object matching `lp`, converting page by page so that only the converted
/// (lean) form stays in memory; `convert` returning `None` drops the object.
pub async fn list_map<K, T>(
    kube: &Kube,
    api: Api<K>,
    lp: ListParams,
    target: Target,
    mut convert: impl FnMut(K) -> Option<T>,
) -> Result<Vec<T>>
where
    K: kube::Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    let mut out = Vec::new();
    let mut lp = lp.limit(PAGE);
    loop {
        let page = kube.call(target.clone(), api.list(&lp)).await?;
        let next = page.metadata.continue_.clone().filter(|c| !c.is_empty());
        out.extend(page.items.into_iter().filter_map(&mut convert));
        match next {
            Some(c) => lp = lp.continue_token(&c),
            None => return Ok(out),
        }
    }
}

/// `Api` for a namespaced kind: one namespace, or all with `None`.
pub fn api<K>(kube: &Kube, namespace: Option<&str>) -> Api<K>
where
    K: kube::Resource<Scope = NamespaceResourceScope>,
    <K as kube::Resource>::DynamicType: Default,
{
    match namespace {
        Some(ns) => Api::namespaced(kube.client.clone(), ns),
        None => Api::all(kube.client.clone()),
    }
}

/// Get a StatefulSet; a 404 says whether the StatefulSet or its namespace is missing.
pub async fn statefulset(kube: &Kube, ns: &str, name: &str) -> Result<k8s_openapi::api::apps::v1::StatefulSet> {
    let api = api::<k8s_openapi::api::apps::v1::StatefulSet>(kube, Some(ns));
    let target = Target::new("get", "statefulset", Some(name), Some(ns));
    match kube.call(target, api.get(name)).await {
        Err(e) if e.is(crate::error::ErrorKind::NotFound) => Err(namespace_missing(kube, ns).await.unwrap_or(e)),
        other => other,
    }
}

/// `Some(error)` when namespace `ns` does not exist (a missing namespace answers every
/// namespaced GET with the object's own 404, so ask once on the error path).
pub async fn namespace_missing(kube: &Kube, ns: &str) -> Option<CliError> {
    let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(kube.client.clone());
    match api.get_opt(ns).await {
        Ok(None) => Some(CliError::usage(format!(
            "namespace \"{ns}\" not found: check -n (list namespaces with kubectl get namespaces)"
        ))),
        _ => None,
    }
}

/// A label selector string (`app=web,tier in (a,b)`) for a `LabelSelector`.
pub fn selector_string(sel: &LabelSelector) -> String {
    let mut parts: Vec<String> = sel
        .match_labels
        .as_ref()
        .map(|m| m.iter().map(|(k, v)| format!("{k}={v}")).collect())
        .unwrap_or_default();
    for e in sel.match_expressions.iter().flatten() {
        let values = e.values.clone().unwrap_or_default().join(",");
        parts.push(match e.operator.as_str() {
            "In" => format!("{} in ({values})", e.key),
            "NotIn" => format!("{} notin ({values})", e.key),
            "Exists" => e.key.clone(),
            "DoesNotExist" => format!("!{}", e.key),
            _ => continue,
        });
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selectors_render_like_kubectl() {
        let sel: LabelSelector = serde_json::from_value(json!({
            "matchLabels": {"app": "nginx"},
            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}, {"key": "x", "operator": "DoesNotExist"}]
        }))
        .unwrap();
        assert_eq!(selector_string(&sel), "app=nginx,tier in (a,b),!x");
    }
}
