//! Defaulting and validation on writes, as the API server's generated defaulters
//! (pkg/apis/core/v1/defaults.go, pkg/apis/apps/v1/defaults.go) and registry strategies
//! (pkg/registry/*/strategy.go) do for the fields kubectl and the plugin rely on.
//! `pub` so controllers can default the objects they create straight in the store.

use serde_json::{Value, json};

use super::selectors::LabelSelector;
use crate::error::ApiError;
use crate::resources::Resource;

/// A list field for in-place edits, without inserting `null` when it is absent
/// (`value[key]` on a `&mut Value` would).
fn list_mut<'a>(obj: &'a mut Value, key: &str) -> impl Iterator<Item = &'a mut Value> {
    obj.get_mut(key).and_then(Value::as_array_mut).into_iter().flatten()
}

fn set_if_absent(obj: &mut Value, field: &str, v: Value) {
    if obj.get(field).is_none_or(Value::is_null) {
        obj[field] = v;
    }
}

/// Container defaults (SetDefaults_Container): imagePullPolicy Always for `:latest` or an
/// untagged image, IfNotPresent otherwise; termination message path and policy.
fn default_container(c: &mut Value) {
    if !c.is_object() {
        return;
    }
    let image = c["image"].as_str().unwrap_or("");
    let tag = image.rsplit('/').next().unwrap_or("");
    let latest = !image.contains('@') && (!tag.contains(':') || tag.ends_with(":latest"));
    set_if_absent(
        c,
        "imagePullPolicy",
        json!(if latest { "Always" } else { "IfNotPresent" }),
    );
    set_if_absent(c, "terminationMessagePath", json!("/dev/termination-log"));
    set_if_absent(c, "terminationMessagePolicy", json!("File"));
    set_if_absent(c, "resources", json!({}));
    for p in list_mut(c, "ports") {
        set_if_absent(p, "protocol", json!("TCP"));
    }
    // SetDefaults_Probe.
    for kind in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = c.get_mut(kind).filter(|p| p.is_object()) {
            for (k, v) in [
                ("timeoutSeconds", 1),
                ("periodSeconds", 10),
                ("successThreshold", 1),
                ("failureThreshold", 3),
            ] {
                set_if_absent(p, k, json!(v));
            }
        }
    }
}

/// PodSpec defaults (SetDefaults_PodSpec).
pub fn default_pod_spec(spec: &mut Value) {
    if !spec.is_object() {
        return;
    }
    set_if_absent(spec, "restartPolicy", json!("Always"));
    set_if_absent(spec, "terminationGracePeriodSeconds", json!(30));
    set_if_absent(spec, "dnsPolicy", json!("ClusterFirst"));
    set_if_absent(spec, "securityContext", json!({}));
    set_if_absent(spec, "schedulerName", json!("default-scheduler"));
    for f in ["containers", "initContainers"] {
        for c in list_mut(spec, f) {
            default_container(c);
        }
    }
}

/// Defaults for a Pod created through the API (the pod's own spec only; the service
/// account token volume and tolerations are admission plugins', set by the controllers).
fn default_pod(obj: &mut Value) {
    default_pod_spec(&mut obj["spec"]);
    let spec = &mut obj["spec"];
    set_if_absent(spec, "enableServiceLinks", json!(true));
    set_if_absent(spec, "priority", json!(0));
    set_if_absent(spec, "preemptionPolicy", json!("PreemptLowerPriority"));
    if spec.get("serviceAccountName").is_none() {
        spec["serviceAccountName"] = json!("default");
        spec["serviceAccount"] = json!("default");
    }
    if obj.get("status").is_none_or(|s| s.get("phase").is_none()) {
        obj["status"] = json!({"phase": "Pending", "qosClass": "BestEffort"});
    }
}

/// SetDefaults_StatefulSet (apps/v1), with the GA persistentVolumeClaimRetentionPolicy.
fn default_statefulset(obj: &mut Value) {
    let spec = &mut obj["spec"];
    set_if_absent(spec, "replicas", json!(1));
    set_if_absent(spec, "podManagementPolicy", json!("OrderedReady"));
    set_if_absent(spec, "updateStrategy", json!({"type": "RollingUpdate"}));
    if spec["updateStrategy"]["type"] == "RollingUpdate" {
        set_if_absent(&mut spec["updateStrategy"], "rollingUpdate", json!({}));
        set_if_absent(&mut spec["updateStrategy"]["rollingUpdate"], "partition", json!(0));
    }
    set_if_absent(spec, "revisionHistoryLimit", json!(10));
    set_if_absent(
        spec,
        "persistentVolumeClaimRetentionPolicy",
        json!({"whenDeleted": "Retain", "whenScaled": "Retain"}),
    );
    set_if_absent(
        &mut spec["persistentVolumeClaimRetentionPolicy"],
        "whenDeleted",
        json!("Retain"),
    );
    set_if_absent(
        &mut spec["persistentVolumeClaimRetentionPolicy"],
        "whenScaled",
        json!("Retain"),
    );
    default_template(spec);
    for t in list_mut(spec, "volumeClaimTemplates") {
        set_if_absent(t, "kind", json!("PersistentVolumeClaim"));
        set_if_absent(t, "apiVersion", json!("v1"));
        set_if_absent(&mut t["metadata"], "creationTimestamp", Value::Null);
        set_if_absent(&mut t["spec"], "volumeMode", json!("Filesystem"));
        set_if_absent(t, "status", json!({"phase": "Pending"}));
    }
    if obj.get("status").is_none_or(Value::is_null) {
        obj["status"] = json!({"replicas": 0, "availableReplicas": 0});
    }
}

fn default_template(spec: &mut Value) {
    if spec["template"].is_object() {
        if spec["template"]["metadata"].is_null() {
            spec["template"]["metadata"] = json!({});
        }
        set_if_absent(&mut spec["template"]["metadata"], "creationTimestamp", Value::Null);
        default_pod_spec(&mut spec["template"]["spec"]);
    }
}

/// Service defaults: a cluster IP (unless headless `None`), port protocol/targetPort,
/// type ClusterIP, session affinity and IP family fields (as obj-service-nginx.json).
fn default_service(obj: &mut Value) {
    let spec = &mut obj["spec"];
    if !spec.is_object() {
        *spec = json!({});
    }
    set_if_absent(spec, "type", json!("ClusterIP"));
    set_if_absent(spec, "sessionAffinity", json!("None"));
    if spec
        .get("clusterIP")
        .is_none_or(|v| v.as_str().is_none_or(str::is_empty))
        && spec["type"] != "ExternalName"
    {
        let b: [u8; 2] = rand::random();
        spec["clusterIP"] = json!(format!("10.96.{}.{}", b[0], b[1].max(2)));
    }
    let ip = spec["clusterIP"].clone();
    set_if_absent(spec, "clusterIPs", json!([ip]));
    set_if_absent(spec, "ipFamilies", json!(["IPv4"]));
    set_if_absent(spec, "ipFamilyPolicy", json!("SingleStack"));
    set_if_absent(spec, "internalTrafficPolicy", json!("Cluster"));
    for p in list_mut(spec, "ports") {
        set_if_absent(p, "protocol", json!("TCP"));
        let port = p["port"].clone();
        set_if_absent(p, "targetPort", port);
    }
    set_if_absent(obj, "status", json!({"loadBalancer": {}}));
}

fn default_pvc(obj: &mut Value) {
    set_if_absent(&mut obj["spec"], "volumeMode", json!("Filesystem"));
    if obj.get("status").is_none_or(|s| s.get("phase").is_none()) {
        obj["status"] = json!({"phase": "Pending"});
    }
}

fn default_pv(obj: &mut Value) {
    set_if_absent(&mut obj["spec"], "persistentVolumeReclaimPolicy", json!("Retain"));
    set_if_absent(&mut obj["spec"], "volumeMode", json!("Filesystem"));
    if obj.get("status").is_none_or(|s| s.get("phase").is_none()) {
        obj["status"] = json!({"phase": "Pending"});
    }
}

fn default_namespace(obj: &mut Value) {
    let name = obj["metadata"]["name"].clone();
    if !obj["metadata"]["labels"].is_object() {
        obj["metadata"]["labels"] = json!({});
    }
    obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = name;
    set_if_absent(obj, "spec", json!({"finalizers": ["kubernetes"]}));
    set_if_absent(obj, "status", json!({"phase": "Active"}));
}

/// Apply the defaults of `res` to an object being created (or replaced).
pub fn apply(res: &Resource, obj: &mut Value) {
    match res.plural {
        "pods" => default_pod(obj),
        "statefulsets" => default_statefulset(obj),
        "services" => default_service(obj),
        "persistentvolumeclaims" => default_pvc(obj),
        "persistentvolumes" => default_pv(obj),
        "namespaces" => default_namespace(obj),
        "storageclasses" => {
            set_if_absent(obj, "reclaimPolicy", json!("Delete"));
            set_if_absent(obj, "volumeBindingMode", json!("Immediate"));
        }
        _ => {}
    }
}

fn field_invalid(res: &Resource, name: &str, field: &str, value: &Value, why: &str) -> ApiError {
    let shown = match value {
        Value::String(s) => format!("\"{s}\""),
        v => v.to_string(),
    };
    let msg = format!("Invalid value: {shown}: {why}");
    let mut e = ApiError::invalid(res, name, &format!("{field}: {msg}"));
    if let Some(d) = e.details.as_mut() {
        d["causes"] = json!([{"reason": "FieldValueInvalid", "message": msg, "field": field}]);
    }
    e
}

fn required(res: &Resource, name: &str, field: &str) -> ApiError {
    let mut e = ApiError::invalid(res, name, &format!("{field}: Required value"));
    if let Some(d) = e.details.as_mut() {
        d["causes"] = json!([{"reason": "FieldValueRequired", "message": "Required value", "field": field}]);
    }
    e
}

/// Basic validation (pkg/apis/apps/validation, pkg/apis/core/validation): 422 Invalid.
pub fn validate(res: &Resource, obj: &Value) -> Result<(), ApiError> {
    let name = obj["metadata"]["name"].as_str().unwrap_or("");
    if !name.is_empty() && !valid_dns_subdomain(name) {
        return Err(field_invalid(
            res,
            name,
            "metadata.name",
            &json!(name),
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
        ));
    }
    match res.plural {
        "statefulsets" => validate_statefulset(res, name, obj),
        "pods" => {
            if obj["spec"]["containers"].as_array().is_none_or(Vec::is_empty) {
                return Err(required(res, name, "spec.containers"));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn validate_statefulset(res: &Resource, name: &str, obj: &Value) -> Result<(), ApiError> {
    let spec = &obj["spec"];
    if let Some(r) = spec["replicas"].as_i64()
        && r < 0
    {
        return Err(field_invalid(
            res,
            name,
            "spec.replicas",
            &json!(r),
            "must be greater than or equal to 0",
        ));
    }
    if spec["selector"].is_null() {
        return Err(required(res, name, "spec.selector"));
    }
    let sel = LabelSelector::from_object(&spec["selector"])
        .ok_or_else(|| field_invalid(res, name, "spec.selector", &spec["selector"], "invalid label selector"))?;
    if sel.is_empty() {
        return Err(field_invalid(
            res,
            name,
            "spec.selector",
            &spec["selector"],
            "empty selector is invalid for statefulset",
        ));
    }
    if !sel.matches_labels(&spec["template"]["metadata"]["labels"]) {
        return Err(field_invalid(
            res,
            name,
            "spec.template.metadata.labels",
            &spec["template"]["metadata"]["labels"],
            "`selector` does not match template `labels`",
        ));
    }
    if spec["template"]["spec"]["containers"]
        .as_array()
        .is_none_or(Vec::is_empty)
    {
        return Err(required(res, name, "spec.template.spec.containers"));
    }
    if let Some(p) = spec["updateStrategy"]["rollingUpdate"]["partition"].as_i64()
        && p < 0
    {
        return Err(field_invalid(
            res,
            name,
            "spec.updateStrategy.rollingUpdate.partition",
            &json!(p),
            "must be greater than or equal to 0",
        ));
    }
    Ok(())
}

fn valid_dns_subdomain(s: &str) -> bool {
    s.len() <= 253
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// Fields a main-resource write may not change, as the registry strategies'
/// PrepareForUpdate do: the status is kept (written only through `/status`).
pub fn keep_status(new: &mut Value, old: &Value) {
    match old.get("status") {
        Some(s) => new["status"] = s.clone(),
        None => {
            if let Some(m) = new.as_object_mut() {
                m.remove("status");
            }
        }
    }
}

/// A `/status` write keeps everything but the status (and labels/annotations stay as the
/// main resource has them, as PrepareForUpdate of the status strategies does).
pub fn keep_all_but_status(new: &Value, old: &Value) -> Value {
    let mut out = old.clone();
    out["status"] = new.get("status").cloned().unwrap_or(Value::Null);
    if out["status"].is_null()
        && let Some(m) = out.as_object_mut()
    {
        m.remove("status");
    }
    out["metadata"]["resourceVersion"] = new["metadata"]["resourceVersion"].clone();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::by_plural;

    #[test]
    fn statefulset_defaults_match_real_server() {
        let mut s = json!({"metadata": {"name": "web"}, "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "nginx"}},
            "template": {"metadata": {"labels": {"app": "nginx"}}, "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}},
            "volumeClaimTemplates": [{"metadata": {"name": "d"}, "spec": {"accessModes": ["ReadWriteOnce"]}}]}});
        apply(by_plural("statefulsets").unwrap(), &mut s);
        assert_eq!(
            s["spec"]["updateStrategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
        );
        assert_eq!(
            s["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"],
            "Always"
        );
        assert_eq!(s["spec"]["volumeClaimTemplates"][0]["spec"]["volumeMode"], "Filesystem");
        assert_eq!(s["status"], json!({"replicas": 0, "availableReplicas": 0}));
    }

    #[test]
    fn negative_replicas_is_422_with_cause() {
        let s = json!({"metadata": {"name": "web"}, "spec": {"replicas": -1}});
        let e = validate(by_plural("statefulsets").unwrap(), &s).unwrap_err();
        assert_eq!(e.code, 422);
        assert!(e.message.contains("spec.replicas: Invalid value: -1"), "{}", e.message);
    }
}
