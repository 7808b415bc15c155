//! What an update (PUT, any PATCH) may change, after the registry strategies'
//! ValidateUpdate and the validating admission that runs after them:
//!
//! - StatefulSet (pkg/apis/apps/validation `ValidateStatefulSetUpdate`): only
//!   replicas, ordinals, template, updateStrategy, persistentVolumeClaimRetentionPolicy
//!   and minReadySeconds; anything else, the volumeClaimTemplates above all, is 422
//!   (v1.26/err-422-sts-vct-immutable.txt).
//! - PersistentVolumeClaim (pkg/apis/core/validation `ValidatePersistentVolumeClaimUpdate`):
//!   on a bound claim only `resources.requests.storage` and `volumeAttributesClassName`;
//!   `volumeName` may be set once, `storageClassName` set from nil once (retroactive
//!   default class); the request may not go down (v1.26/err-422-pvc-shrink.txt: the
//!   RecoverVolumeExpansionFailure relaxation is not modelled, which is the stricter
//!   answer). Then the PersistentVolumeClaimResize admission plugin
//!   (plugin/pkg/admission/storage/persistentvolume/resize): raising the request needs a
//!   bound claim and a StorageClass with `allowVolumeExpansion: true`, else 403
//!   (v1.26/err-403-pvc-expand-not-supported.txt). Last, ResourceQuota admission
//!   ([`quota::admit`](crate::controllers::quota::admit)).
//!
//! Comparisons are apiequality.Semantic's: quantities by value, and an empty list or
//! string the same as an absent one.

use serde_json::{Map, Value, json};

use crate::context::Context;
use crate::error::ApiError;
use crate::quantity;
use crate::resources::Resource;
use crate::store::Key;

/// One field.Error: `field: Forbidden: detail`.
struct FieldError {
    reason: &'static str,
    field: String,
    body: String,
}

fn forbidden(field: &str, detail: &str) -> FieldError {
    FieldError {
        reason: "FieldValueForbidden",
        field: field.to_string(),
        body: format!("Forbidden: {detail}"),
    }
}

/// errors.NewInvalid of a field.ErrorList: one error as is, several as `[a, b]`.
fn invalid(res: &Resource, name: &str, errs: Vec<FieldError>) -> Result<(), ApiError> {
    if errs.is_empty() {
        return Ok(());
    }
    let parts: Vec<String> = errs.iter().map(|e| format!("{}: {}", e.field, e.body)).collect();
    let why = match parts.as_slice() {
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    };
    let mut e = ApiError::invalid(res, name, &why);
    let causes: Vec<Value> = errs
        .iter()
        .map(|e| json!({"reason": e.reason, "message": e.body, "field": e.field}))
        .collect();
    if let Some(d) = e.details.as_mut() {
        d["causes"] = Value::Array(causes);
    }
    Err(e)
}

/// Validate `new` (defaulted) against the stored `old`, then the admission plugins.
pub fn validate(ctx: &Context, res: &Resource, new: &Value, old: &Value) -> Result<(), ApiError> {
    let name = new["metadata"]["name"].as_str().unwrap_or("");
    match res.plural {
        "statefulsets" => invalid(res, name, statefulset(new, old)),
        "persistentvolumeclaims" => {
            invalid(res, name, claim(new, old))?;
            resize_admission(ctx, res, name, new, old)?;
            crate::controllers::quota::admit(&ctx.store, Some(old), new)
        }
        _ => Ok(()),
    }
}

/// The spec fields ValidateStatefulSetUpdate lets change.
const STS_MUTABLE: &[&str] = &[
    "replicas",
    "template",
    "updateStrategy",
    "minReadySeconds",
    "ordinals",
    "persistentVolumeClaimRetentionPolicy",
];

fn statefulset(new: &Value, old: &Value) -> Vec<FieldError> {
    let mut spec = new["spec"].clone();
    for f in STS_MUTABLE {
        match old["spec"].get(*f) {
            Some(v) => spec[*f] = v.clone(),
            None => {
                if let Some(m) = spec.as_object_mut() {
                    m.remove(*f);
                }
            }
        }
    }
    if semantic(&spec) == semantic(&old["spec"]) {
        return Vec::new();
    }
    vec![forbidden(
        "spec",
        "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
    )]
}

fn set_or_remove(obj: &mut Value, field: &str, v: Option<&Value>) {
    match v {
        Some(v) => obj[field] = v.clone(),
        None => {
            if let Some(m) = obj.as_object_mut() {
                m.remove(field);
            }
        }
    }
}

fn claim(new: &Value, old: &Value) -> Vec<FieldError> {
    let (mut new_spec, mut old_spec) = (new["spec"].clone(), old["spec"].clone());
    // volumeName may be set once (the PV controller binds).
    if old_spec["volumeName"].as_str().is_none_or(str::is_empty) {
        set_or_remove(&mut old_spec, "volumeName", new_spec.get("volumeName"));
    }
    // validateStorageClassUpgradeFromNil: a class may be set where none was.
    let beta = old["metadata"]["annotations"]["volume.beta.kubernetes.io/storage-class"].is_string();
    if old_spec["storageClassName"].is_null() && !beta {
        set_or_remove(&mut new_spec, "storageClassName", None);
    }
    if new["status"]["phase"] == "Bound" {
        if new_spec["resources"]["requests"].is_object() {
            new_spec["resources"]["requests"]["storage"] = old_spec["resources"]["requests"]["storage"].clone();
        }
        if new_spec.get("volumeAttributesClassName").is_some() {
            set_or_remove(
                &mut new_spec,
                "volumeAttributesClassName",
                old_spec.get("volumeAttributesClassName"),
            );
        }
    }
    let mut errs = Vec::new();
    if semantic(&new_spec) != semantic(&old_spec) {
        let detail = format!(
            "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n{}",
            spec_diff(&old_spec, &new_spec)
        );
        errs.push(forbidden("spec", &detail));
    }
    let (was, is) = (
        &old["spec"]["resources"]["requests"]["storage"],
        &new["spec"]["resources"]["requests"]["storage"],
    );
    if quantity::cmp(is, was) == Some(std::cmp::Ordering::Less) {
        errs.push(forbidden(
            "spec.resources.requests.storage",
            "field can not be less than previous value",
        ));
    }
    if new["spec"]["volumeMode"] != old["spec"]["volumeMode"] {
        errs.push(FieldError {
            reason: "FieldValueInvalid",
            field: "volumeMode".into(),
            body: format!("Invalid value: {}: field is immutable", new["spec"]["volumeMode"]),
        });
    }
    errs
}

/// The Go field names of PersistentVolumeClaimSpec, in declaration order.
const CLAIM_FIELDS: &[(&str, &str)] = &[
    ("accessModes", "AccessModes"),
    ("selector", "Selector"),
    ("resources", "Resources"),
    ("volumeName", "VolumeName"),
    ("storageClassName", "StorageClassName"),
    ("volumeMode", "VolumeMode"),
    ("dataSource", "DataSource"),
    ("dataSourceRef", "DataSourceRef"),
    ("volumeAttributesClassName", "VolumeAttributesClassName"),
];

/// The diff the real message appends (cmp.Diff of the internal specs), in its shape:
/// the changed fields as `-` / `+` lines. Values are shown as JSON, not Go syntax.
fn spec_diff(old: &Value, new: &Value) -> String {
    let show = |v: Option<&Value>| v.map_or("nil".to_string(), Value::to_string);
    let mut out = String::from("  core.PersistentVolumeClaimSpec{\n");
    let mut same = 0;
    for (json_name, go_name) in CLAIM_FIELDS {
        let (a, b) = (old.get(*json_name), new.get(*json_name));
        if a.map(semantic) == b.map(semantic) {
            same += 1;
            continue;
        }
        out.push_str(&format!("- \t{go_name}: {},\n+ \t{go_name}: {},\n", show(a), show(b)));
    }
    if same > 0 {
        out.push_str(&format!("  \t... // {same} identical fields\n"));
    }
    out.push_str("  }");
    out
}

/// A value as apiequality.Semantic compares it: quantities under `requests` /
/// `limits` by value, and nulls, empty lists and empty strings dropped (equal to unset).
fn semantic(v: &Value) -> Value {
    semantic_in(v, "")
}

/// `parent`: the key of the object `v` is a value of.
fn semantic_in(v: &Value, parent: &str) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, x) in m {
                let empty = x.is_null() || x.as_array().is_some_and(Vec::is_empty) || x.as_str() == Some("");
                if !empty {
                    out.insert(k.clone(), semantic_in(x, k));
                }
            }
            if parent == "requests" || parent == "limits" {
                for x in out.values_mut() {
                    if let Some(q) = x.as_str().and_then(quantity::parse) {
                        *x = json!(q);
                    }
                }
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| semantic_in(x, parent)).collect()),
        _ => v.clone(),
    }
}

/// GetPersistentVolumeClaimClass: the beta annotation first, then storageClassName.
fn class_of(pvc: &Value) -> &str {
    pvc["metadata"]["annotations"]["volume.beta.kubernetes.io/storage-class"]
        .as_str()
        .or_else(|| pvc["spec"]["storageClassName"].as_str())
        .unwrap_or("")
}

/// PersistentVolumeClaimResize admission: Validate + allowResize.
fn resize_admission(ctx: &Context, res: &Resource, name: &str, new: &Value, old: &Value) -> Result<(), ApiError> {
    let (was, is) = (
        &old["spec"]["resources"]["requests"]["storage"],
        &new["spec"]["resources"]["requests"]["storage"],
    );
    if quantity::cmp(is, was) != Some(std::cmp::Ordering::Greater) {
        return Ok(());
    }
    if old["status"]["phase"] != "Bound" {
        return Err(ApiError::admission_forbidden(
            res,
            name,
            "Only bound persistent volume claims can be expanded",
        ));
    }
    let (class, old_class) = (class_of(new), class_of(old));
    let allowed = !class.is_empty()
        && class == old_class
        && ctx
            .store
            .get(&Key::new("storageclasses", "", class))
            .is_some_and(|sc| sc["allowVolumeExpansion"] == true);
    if allowed {
        return Ok(());
    }
    Err(ApiError::admission_forbidden(
        res,
        name,
        "only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize",
    ))
}
