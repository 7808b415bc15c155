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

/// The end of a crashed container's previous log, or the one word why it cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum LogTail {
    Lines(Vec<String>),
    /// `forbidden`, `gone` (no previous instance, or the pod is gone), `unreachable`, `error`.
    Unavailable(&'static str),
}

impl LogTail {
    /// `; last log lines: "a" | "b"`, or `; previous log: forbidden`.
    pub fn suffix(&self) -> String {
        match self {
            LogTail::Lines(l) if l.is_empty() => "; the previous log is empty".into(),
            LogTail::Lines(l) => format!(
                "; last log lines: {}",
                l.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>().join(" | ")
            ),
            LogTail::Unavailable(why) => format!("; previous log: {why}"),
        }
    }
}

/// At most this much of a previous log is read (5 lines, 2 KiB), so a chatty crash
/// cannot flood the report.
pub const LOG_TAIL_LINES: i64 = 5;
pub const LOG_TAIL_BYTES: i64 = 2048;

/// `pods/{pod}/log?previous=true&tailLines=5&limitBytes=2048&container=C`: what an SRE
/// runs next for a CrashLoopBackOff. Never an error: a log that cannot be read says why.
pub async fn previous_log(kube: &Kube, ns: &str, pod: &str, container: &str) -> LogTail {
    let api: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(kube.client.clone(), ns);
    let lp = kube::api::LogParams {
        container: Some(container.to_string()),
        previous: true,
        tail_lines: Some(LOG_TAIL_LINES),
        limit_bytes: Some(LOG_TAIL_BYTES),
        ..kube::api::LogParams::default()
    };
    match kube
        .call(Target::new("get", "pod log", Some(pod), Some(ns)), api.logs(pod, &lp))
        .await
    {
        Ok(text) => LogTail::Lines(
            text.lines()
                .map(|l| l.trim_end().to_string())
                .filter(|l| !l.is_empty())
                .collect(),
        ),
        Err(e) => LogTail::Unavailable(match e.kind {
            crate::error::ErrorKind::Forbidden | crate::error::ErrorKind::Unauthorized => "forbidden",
            crate::error::ErrorKind::NotFound | crate::error::ErrorKind::Invalid => "gone",
            crate::error::ErrorKind::Unreachable | crate::error::ErrorKind::TimedOut => "unreachable",
            _ => "error",
        }),
    }
}

/// The container of `pod` that is crash-looping (waiting in CrashLoopBackOff, or last
/// terminated with a non-zero code), if any.
pub fn crashed_container(pod: &k8s_openapi::api::core::v1::Pod) -> Option<String> {
    let statuses = pod.status.as_ref()?.container_statuses.as_ref()?;
    statuses
        .iter()
        .find(|c| {
            c.state
                .as_ref()
                .and_then(|s| s.waiting.as_ref())
                .and_then(|w| w.reason.as_deref())
                == Some("CrashLoopBackOff")
        })
        .or_else(|| {
            statuses.iter().find(|c| {
                c.last_state
                    .as_ref()
                    .and_then(|s| s.terminated.as_ref())
                    .is_some_and(|t| t.exit_code != 0)
            })
        })
        .map(|c| c.name.clone())
}

/// What explaining one pod's transition needs beyond the watch: the Events about its
/// name (every UID it had), the old pod's node when its termination is stuck, and the
/// previous log of a crashed container. One LIST (and a GET or two only when stuck);
/// never an error: what cannot be read is left out of the evidence.
#[derive(Debug, Default)]
pub struct PodEvidence {
    pub events: Vec<k8s_openapi::api::core::v1::Event>,
    pub old_node: Option<crate::model::explain::NodeState>,
    pub crash_log: Option<String>,
}

pub async fn pod_evidence(
    kube: &Kube,
    ns: &str,
    pod: &str,
    stuck_on_node: Option<&str>,
    new: Option<&k8s_openapi::api::core::v1::Pod>,
) -> PodEvidence {
    let api = api::<k8s_openapi::api::core::v1::Event>(kube, Some(ns));
    let lp = ListParams::default().fields(&format!("involvedObject.kind=Pod,involvedObject.name={pod}"));
    let events = list_all(kube, api, lp, Target::new("list", "events", None, Some(ns)))
        .await
        .unwrap_or_default();
    let old_node = match stuck_on_node {
        Some(n) => node_state(kube, n).await,
        None => None,
    };
    let crash_log = match new.and_then(crashed_container) {
        Some(c) => Some(previous_log(kube, ns, pod, &c).await.suffix()),
        None => None,
    };
    PodEvidence {
        events,
        old_node,
        crash_log,
    }
}

/// A node's Ready condition; None when it cannot be read (no `get nodes` permission).
pub async fn node_state(kube: &Kube, name: &str) -> Option<crate::model::explain::NodeState> {
    let api: Api<k8s_openapi::api::core::v1::Node> = Api::all(kube.client.clone());
    let node = kube
        .call(Target::new("get", "node", Some(name), None), api.get(name))
        .await
        .ok()?;
    let ready = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"));
    Some(crate::model::explain::NodeState {
        name: name.to_string(),
        ready: ready.is_some_and(|c| c.status == "True"),
        since: ready.and_then(|c| c.last_transition_time.as_ref()).map(|t| t.0),
        reason: ready.and_then(|c| c.reason.clone()),
    })
}
