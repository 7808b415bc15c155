//! `GET pods/{name}/log`: the API server's part (pkg/registry/core/pod/rest/log.go:
//! PodLogOptions validation; strategy.go LogLocation: which container) and the
//! kubelet's (pkg/kubelet/kubelet_pods.go validateContainerLogStatus: which container
//! instance, and the errors a client sees as 400 BadRequest), over the runtime's logs.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::handlers::get_obj;
use super::request::ReqInfo;
use crate::context::Context;
use crate::error::ApiError;
use crate::logs::LogOptions;

fn invalid(pod: &str, field: &str, value: &str, why: &str) -> ApiError {
    let msg = format!("Invalid value: {value}: {why}");
    let mut e = ApiError::new(
        422,
        "Invalid",
        format!("PodLogOptions \"{pod}\" is invalid: {field}: {msg}"),
    );
    e.details = Some(json!({"name": pod, "kind": "PodLogOptions",
        "causes": [{"reason": "FieldValueInvalid", "message": msg, "field": field}]}));
    e
}

fn number(q: &HashMap<String, String>, key: &str) -> Result<Option<i64>, ApiError> {
    q.get(key)
        .map(|v| {
            v.parse::<i64>()
                .map_err(|_| ApiError::bad_request(format!("strconv.ParseInt: parsing \"{v}\": invalid syntax")))
        })
        .transpose()
}

fn truthy(q: &HashMap<String, String>, key: &str) -> bool {
    q.get(key).is_some_and(|v| v == "true" || v == "1")
}

/// The log text of the container instance the query names.
pub fn pod_log(ctx: &Context, info: &ReqInfo, q: &HashMap<String, String>) -> Result<String, ApiError> {
    let pod = get_obj(ctx, info)?;
    let pod_name = pod["metadata"]["name"].as_str().unwrap_or("");
    let tail = number(q, "tailLines")?;
    let limit = number(q, "limitBytes")?;
    if let Some(t) = tail.filter(|t| *t < 0) {
        return Err(invalid(
            pod_name,
            "tailLines",
            &t.to_string(),
            "must be greater than or equal to 0",
        ));
    }
    if let Some(l) = limit.filter(|l| *l < 1) {
        return Err(invalid(
            pod_name,
            "limitBytes",
            &l.to_string(),
            "must be greater than 0",
        ));
    }
    let opts = LogOptions {
        tail_lines: tail.map(|t| t as usize),
        limit_bytes: limit.map(|l| l as usize),
        timestamps: truthy(q, "timestamps"),
    };
    let previous = truthy(q, "previous");
    let names = |field: &str| -> Vec<String> {
        pod["spec"][field]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["name"].as_str().map(str::to_string))
            .collect()
    };
    let (init, main) = (names("initContainers"), names("containers"));
    let container = match q.get("container").filter(|c| !c.is_empty()) {
        Some(c) if init.contains(c) || main.contains(c) => c.clone(),
        Some(c) => {
            return Err(ApiError::bad_request(format!(
                "container {c} is not valid for pod {pod_name}"
            )));
        }
        None if main.len() == 1 => main[0].clone(),
        None => {
            let all: Vec<String> = init.iter().chain(&main).cloned().collect();
            let msg = if all.is_empty() {
                format!("a container name must be specified for pod {pod_name}")
            } else {
                format!(
                    "a container name must be specified for pod {pod_name}, choose one of: [{}]",
                    all.join(" ")
                )
            };
            return Err(ApiError::bad_request(msg));
        }
    };
    // Not on a node yet: the API server has no kubelet to ask and returns nothing.
    if pod["spec"]["nodeName"].as_str().is_none_or(str::is_empty) {
        return Ok(String::new());
    }
    if let Some(addr) = crate::controllers::nodelifecycle::unreachable_kubelet(&ctx.store, &pod) {
        return Err(kubelet_down(&pod, &container, &addr, q));
    }
    let status = ["initContainerStatuses", "containerStatuses"]
        .iter()
        .flat_map(|f| pod["status"][*f].as_array().into_iter().flatten())
        .find(|s| s["name"].as_str() == Some(&container));
    let Some(status) = status else {
        return Err(ApiError::bad_request(format!(
            "container \"{container}\" in pod \"{pod_name}\" is not available"
        )));
    };
    let id = container_instance(status, &container, pod_name, previous)?;
    let uid = pod["metadata"]["uid"].as_str().unwrap_or("");
    Ok(ctx.runtime.logs.read(uid, &id, &opts))
}

/// The kubelet cannot be dialled: the transport's error for the URL LogLocation built
/// (`/containerLogs/NS/POD/CONTAINER`, the options as an encoded, sorted query), as an
/// error that is no metav1.Status (500, no reason).
fn kubelet_down(pod: &Value, container: &str, addr: &str, q: &HashMap<String, String>) -> ApiError {
    let value = |k: &str| match k {
        "follow" | "previous" | "timestamps" => truthy(q, k).then(|| "true".to_string()),
        _ => q.get(k).cloned(),
    };
    let keys = [
        "follow",
        "limitBytes",
        "previous",
        "sinceSeconds",
        "sinceTime",
        "tailLines",
        "timestamps",
    ];
    let query: Vec<String> = keys
        .iter()
        .filter_map(|k| value(k).map(|v| format!("{k}={v}")))
        .collect();
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{}", query.join("&"))
    };
    let m = &pod["metadata"];
    let url = format!(
        "https://{addr}/containerLogs/{}/{}/{container}{query}",
        m["namespace"].as_str().unwrap_or(""),
        m["name"].as_str().unwrap_or("")
    );
    ApiError::new(
        500,
        "",
        format!("Get \"{url}\": dial tcp {addr}: connect: connection refused"),
    )
}

fn id_of(v: &Value) -> Option<String> {
    v["containerID"].as_str().filter(|s| !s.is_empty()).map(str::to_string)
}

/// Which instance's log: the previous one (`lastState.terminated`), or the current
/// one, or the last exited one while the container waits to restart.
fn container_instance(status: &Value, container: &str, pod: &str, previous: bool) -> Result<String, ApiError> {
    let last = &status["lastState"]["terminated"];
    let state = &status["state"];
    let terminated = |why: &str| ApiError::bad_request(format!("container \"{container}\" in pod \"{pod}\" {why}"));
    if previous {
        return id_of(last).ok_or_else(|| {
            ApiError::bad_request(format!(
                "previous terminated container \"{container}\" in pod \"{pod}\" not found"
            ))
        });
    }
    if state["running"].is_object() {
        return id_of(status).ok_or_else(|| terminated("is waiting to start - no logs yet"));
    }
    if state["terminated"].is_object() {
        return id_of(&state["terminated"])
            .or_else(|| id_of(last))
            .ok_or_else(|| terminated("is terminated"));
    }
    if last.is_object() {
        return id_of(last).ok_or_else(|| terminated("is terminated"));
    }
    match state["waiting"]["reason"].as_str() {
        Some("ErrImagePull") => Err(terminated("is waiting to start: image can't be pulled")),
        Some("ImagePullBackOff") => Err(terminated("is waiting to start: trying and failing to pull image")),
        Some(r) => Err(terminated(&format!("is waiting to start: {r}"))),
        None => Err(terminated("is waiting to start - no logs yet")),
    }
}
