//! The verbs on a resource: get, list, create, update, patch, delete, deletecollection,
//! following the generic registry (k8s.io/apiserver/pkg/registry/generic/registry/store.go)
//! and the REST handlers (k8s.io/apiserver/pkg/endpoints/handlers/).

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine;
use serde_json::{Value, json};

use super::defaults;
use super::managed::{self, Write};
use super::patch;
use super::request::ReqInfo;
use super::selectors::{FieldSelector, LabelSelector};
use super::update_validation;
use crate::context::Context;
use crate::error::ApiError;
use crate::resources::{self, Resource};
use crate::store::{Key, rv_of};

pub type ApiResult = Result<(u16, Value), ApiError>;

pub fn ns_of(info: &ReqInfo) -> String {
    if info.res.namespaced {
        info.namespace.clone().unwrap_or_default()
    } else {
        String::new()
    }
}

pub fn key(info: &ReqInfo) -> Key {
    Key::new(info.res.plural, &ns_of(info), info.name.as_deref().unwrap_or(""))
}

pub fn get_obj(ctx: &Context, info: &ReqInfo) -> Result<Arc<Value>, ApiError> {
    ctx.store
        .get(&key(info))
        .ok_or_else(|| ApiError::not_found(info.res, info.name.as_deref().unwrap_or("")))
}

/// Selectors from the query (`labelSelector`, `fieldSelector`).
pub fn selectors(res: &Resource, q: &HashMap<String, String>) -> Result<(LabelSelector, FieldSelector), ApiError> {
    let l = LabelSelector::parse(q.get("labelSelector").map(String::as_str).unwrap_or(""))?;
    let f = FieldSelector::parse(
        res.plural,
        res.kind,
        q.get("fieldSelector").map(String::as_str).unwrap_or(""),
    )?;
    Ok((l, f))
}

/// A list page: the matching items after the `continue` point, at most `limit`.
pub struct Page {
    pub items: Vec<Arc<Value>>,
    pub meta: Value,
}

/// List with selectors and `limit`/`continue` pagination. The continue token is the
/// real server's shape (base64 of `{"v":"meta.k8s.io/v1","rv":N,"start":"<key>\u0000"}`,
/// see list-pvcs-limit2-page1.json); `remainingItemCount` is given when no selector
/// is set, as the real server only counts it then.
pub fn list_page(ctx: &Context, info: &ReqInfo, q: &HashMap<String, String>) -> Result<Page, ApiError> {
    let (labels, fields) = selectors(info.res, q)?;
    let ns = info.namespace.as_deref().filter(|_| info.res.namespaced);
    let (at, after) = match q.get("continue").filter(|c| !c.is_empty()) {
        None => (None, None),
        Some(tok) => {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(tok)
                .ok()
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                .ok_or_else(|| ApiError::bad_request("continue key is not valid: illegal base64 data"))?;
            // Later pages come from the first page's snapshot (etcd reads them at the
            // token's revision), so concurrent writes neither skip nor repeat items.
            let start = raw["start"]
                .as_str()
                .unwrap_or("")
                .trim_end_matches('\u{0}')
                .to_string();
            (raw["rv"].as_u64(), Some(start))
        }
    };
    let unfiltered = labels.is_empty() && q.get("fieldSelector").is_none_or(|f| f.is_empty());
    let limit = q.get("limit").and_then(|l| l.parse::<usize>().ok()).filter(|l| *l > 0);
    let keep = |o: &Value| labels.matches(o) && fields.matches(o);
    let page = ctx.store.page(
        info.res.plural,
        ns,
        at,
        after.as_deref(),
        (!unfiltered).then_some(&keep),
        limit,
    )?;
    let mut meta = json!({"resourceVersion": page.rv.to_string()});
    if page.more
        && let Some(last) = page.items.last()
    {
        let n = last["metadata"]["name"].as_str().unwrap_or("");
        let last = match (ns, last["metadata"]["namespace"].as_str()) {
            (None, Some(objns)) => format!("{objns}/{n}"),
            _ => n.to_string(),
        };
        let tok = json!({"v": "meta.k8s.io/v1", "rv": page.rv, "start": format!("{last}\u{0}")});
        meta["continue"] = json!(base64::engine::general_purpose::STANDARD.encode(tok.to_string()));
        if unfiltered {
            meta["remainingItemCount"] = json!(page.remaining);
        }
    }
    Ok(Page {
        items: page.items,
        meta,
    })
}

pub fn list_json(res: &Resource, page: &Page) -> Value {
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|o| {
            let mut o = (**o).clone();
            if let Some(m) = o.as_object_mut() {
                m.remove("kind");
                m.remove("apiVersion");
            }
            o
        })
        .collect();
    json!({"kind": format!("{}List", res.kind), "apiVersion": res.api_version(), "metadata": page.meta, "items": items})
}

fn parse_body(body: &[u8]) -> Result<Value, ApiError> {
    let v: Value = if body.first().is_some_and(|b| *b == b'{' || *b == b'[') || body.is_empty() {
        serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("error decoding body: {e}")))?
    } else {
        serde_yaml_ng::from_slice(body).map_err(|e| ApiError::bad_request(format!("error decoding YAML body: {e}")))?
    };
    if !v.is_object() {
        return Err(ApiError::bad_request("the body of the request must be a JSON object"));
    }
    Ok(v)
}

fn dry_run(q: &HashMap<String, String>) -> bool {
    q.get("dryRun").is_some_and(|d| d == "All")
}

fn check_kind(res: &Resource, obj: &Value) -> Result<(), ApiError> {
    if let Some(k) = obj["kind"].as_str()
        && k != res.kind
    {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({}) does not match the expected API version ({})",
            obj["apiVersion"].as_str().unwrap_or(""),
            res.api_version()
        )));
    }
    Ok(())
}

fn namespace_exists(ctx: &Context, ns: &str) -> bool {
    ctx.store.get(&Key::new("namespaces", "", ns)).is_some()
}

/// Registry PrepareForCreate: the status a new object starts with.
fn reset_status_on_create(res: &Resource, obj: &mut Value) {
    match res.plural {
        "statefulsets" | "poddisruptionbudgets" => {
            if let Some(m) = obj.as_object_mut() {
                m.remove("status");
            }
        }
        "persistentvolumeclaims" | "persistentvolumes" => obj["status"] = json!({"phase": "Pending"}),
        "resourcequotas" => obj["status"] = json!({}),
        _ => {}
    }
    if res.plural == "poddisruptionbudgets" {
        obj["status"] = json!({"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0});
    }
}

pub fn create(ctx: &Context, info: &ReqInfo, q: &HashMap<String, String>, body: &[u8]) -> ApiResult {
    let res = info.res;
    let mut obj = parse_body(body)?;
    check_kind(res, &obj)?;
    let ns = ns_of(info);
    if res.namespaced {
        if let Some(bns) = obj["metadata"]["namespace"].as_str().filter(|s| !s.is_empty())
            && bns != ns
        {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        if !namespace_exists(ctx, &ns) {
            return Err(ApiError::not_found(
                resources::by_plural("namespaces").expect("namespaces"),
                &ns,
            ));
        }
    }
    if let Some(m) = obj["metadata"].as_object_mut() {
        m.remove("managedFields");
    }
    reset_status_on_create(res, &mut obj);
    defaults::apply(res, &mut obj);
    defaults::validate(res, &obj)?;
    admit_new(ctx, res, &ns, &mut obj)?;
    managed::record_update(&writer(info, q), None, &mut obj);
    if dry_run(q) {
        obj["kind"] = json!(res.kind);
        obj["apiVersion"] = json!(res.api_version());
        obj["metadata"]["creationTimestamp"] = json!(crate::store::now_rfc3339());
        if res.namespaced {
            obj["metadata"]["namespace"] = json!(ns);
        }
        return Ok((201, obj));
    }
    let out = ctx.store.create(&ns, res.plural, obj)?;
    Ok((201, (*out).clone()))
}

/// Admission of a new object: a claim must fit the namespace's ResourceQuotas.
fn admit_new(ctx: &Context, res: &Resource, ns: &str, obj: &mut Value) -> Result<(), ApiError> {
    if res.plural == "persistentvolumeclaims" {
        obj["metadata"]["namespace"] = json!(ns);
        crate::controllers::quota::admit(&ctx.store, None, obj)?;
    }
    Ok(())
}

/// Prepare a main-resource write: defaults, validation, and the status kept from the
/// stored object for kinds that have a status subresource.
fn prepare_update(ctx: &Context, res: &Resource, name: &str, new: &mut Value, old: &Value) -> Result<(), ApiError> {
    if new["metadata"]["name"].as_str().is_some_and(|n| n != name) {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({}) does not match the name on the URL ({name})",
            new["metadata"]["name"].as_str().unwrap_or("")
        )));
    }
    new["metadata"]["name"] = json!(name);
    if res.subresources.contains(&"status") && res.plural != "namespaces" {
        defaults::keep_status(new, old);
    }
    defaults::apply(res, new);
    defaults::validate(res, new)?;
    update_validation::validate(ctx, res, new, old)
}

pub fn update(ctx: &Context, info: &ReqInfo, q: &HashMap<String, String>, body: &[u8]) -> ApiResult {
    let res = info.res;
    let name = info.name.clone().unwrap_or_default();
    let mut obj = parse_body(body)?;
    check_kind(res, &obj)?;
    let old = get_obj(ctx, info)?;
    if info.subresource.as_deref() == Some("status") {
        obj = defaults::keep_all_but_status(&obj, &old);
    } else {
        prepare_update(ctx, res, &name, &mut obj, &old)?;
    }
    managed::record_update(&writer(info, q), Some(&old), &mut obj);
    if dry_run(q) {
        return Ok((200, obj));
    }
    let out = ctx.store.update(&key(info), obj)?;
    Ok((200, (*out).clone()))
}

/// PATCH: apply to the stored object and write it back. A patch that carries no
/// resourceVersion is retried on a concurrent write, as the server's patcher does.
pub fn patch(ctx: &Context, info: &ReqInfo, q: &HashMap<String, String>, ct: &str, body: &[u8]) -> ApiResult {
    let res = info.res;
    let name = info.name.clone().unwrap_or_default();
    if patch::is_apply(ct) {
        return apply(ctx, info, q, body);
    }
    if q.contains_key("force") {
        return Err(patch_options_invalid(
            "force: Forbidden: may not be specified for non-apply patch",
        ));
    }
    for _ in 0..5 {
        let old = get_obj(ctx, info)?;
        let mut new = patch::apply(ct, &old, body)?;
        let pinned = rv_of(&new) != rv_of(&old);
        if !pinned {
            new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"].clone();
        }
        if info.subresource.as_deref() == Some("status") {
            new = defaults::keep_all_but_status(&new, &old);
        } else {
            prepare_update(ctx, res, &name, &mut new, &old)?;
        }
        managed::record_update(&writer(info, q), Some(&old), &mut new);
        if dry_run(q) {
            return Ok((200, new));
        }
        match ctx.store.update(&key(info), new) {
            Err(e) if e.code == 409 && !pinned => continue,
            r => return r.map(|o| (200, (*o).clone())),
        }
    }
    Err(ApiError::conflict(
        res,
        &name,
        "the object has been modified; please apply your changes to the latest version and try again",
    ))
}

/// Who writes: the request's field manager and subresource.
fn writer<'a>(info: &'a ReqInfo, q: &HashMap<String, String>) -> Write<'a> {
    Write {
        res: info.res,
        manager: managed::manager_of(q, &info.user_agent),
        subresource: info.subresource.as_deref(),
    }
}

fn patch_options_invalid(why: &str) -> ApiError {
    ApiError::new(
        422,
        "Invalid",
        format!("PatchOptions.meta.k8s.io \"\" is invalid: {why}"),
    )
}

/// Server-side apply (`application/apply-patch+yaml`): merge the configuration into the
/// live object (or create it), then record ownership, refusing conflicts unless
/// `force=true` (k8s.io/apiserver handlers/patch.go `applyPatcher`).
fn apply(ctx: &Context, info: &ReqInfo, q: &HashMap<String, String>, body: &[u8]) -> ApiResult {
    let res = info.res;
    let name = info.name.clone().unwrap_or_default();
    if q.get("fieldManager").is_none_or(|m| m.is_empty()) {
        return Err(patch_options_invalid(
            "fieldManager: Required value: is required for apply patch",
        ));
    }
    let config = parse_body(body)?;
    if config["kind"].as_str().is_none_or(str::is_empty) {
        return Err(ApiError::bad_request(format!(
            "Object 'Kind' is missing in '{}'",
            String::from_utf8_lossy(body).trim()
        )));
    }
    check_kind(res, &config)?;
    let force = q.get("force").is_some_and(|f| f == "true");
    let w = writer(info, q);
    for _ in 0..5 {
        let live = ctx.store.get(&key(info));
        let mut new = managed::apply_merge(&w, live.as_deref(), &config);
        new["metadata"]["name"] = json!(name);
        let Some(old) = live else {
            if res.namespaced && !namespace_exists(ctx, &ns_of(info)) {
                return Err(ApiError::not_found(
                    resources::by_plural("namespaces").expect("namespaces"),
                    &ns_of(info),
                ));
            }
            reset_status_on_create(res, &mut new);
            defaults::apply(res, &mut new);
            defaults::validate(res, &new)?;
            admit_new(ctx, res, &ns_of(info), &mut new)?;
            managed::record_apply(&w, None, &mut new, &config, force)?;
            if dry_run(q) {
                return Ok((201, new));
            }
            return ctx
                .store
                .create(&ns_of(info), res.plural, new)
                .map(|o| (201, (*o).clone()));
        };
        new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"].clone();
        prepare_update(ctx, res, &name, &mut new, &old)?;
        managed::record_apply(&w, Some(&old), &mut new, &config, force)?;
        if dry_run(q) {
            return Ok((200, new));
        }
        match ctx.store.update(&key(info), new) {
            Err(e) if e.code == 409 => continue,
            r => return r.map(|o| (200, (*o).clone())),
        }
    }
    Err(ApiError::conflict(
        res,
        &name,
        "the object has been modified; please apply your changes to the latest version and try again",
    ))
}

/// DeleteOptions from the body or the query.
pub struct DeleteOpts {
    pub grace: Option<i64>,
    pub propagation: Option<String>,
    pub uid: Option<String>,
    pub rv: Option<String>,
    pub dry_run: bool,
}

pub fn delete_opts(q: &HashMap<String, String>, body: &[u8]) -> Result<DeleteOpts, ApiError> {
    let b: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("error decoding DeleteOptions: {e}")))?
    };
    let grace = b["gracePeriodSeconds"]
        .as_i64()
        .or_else(|| q.get("gracePeriodSeconds").and_then(|g| g.parse().ok()));
    let mut propagation = b["propagationPolicy"]
        .as_str()
        .map(str::to_string)
        .or_else(|| q.get("propagationPolicy").cloned());
    if propagation.is_none()
        && (b["orphanDependents"] == true || q.get("orphanDependents").is_some_and(|o| o == "true"))
    {
        propagation = Some("Orphan".into());
    }
    if let Some(p) = &propagation
        && !matches!(p.as_str(), "Foreground" | "Background" | "Orphan")
    {
        return Err(ApiError::new(
            422,
            "Invalid",
            format!(
                "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: \"{p}\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\""
            ),
        ));
    }
    Ok(DeleteOpts {
        grace,
        propagation,
        uid: b["preconditions"]["uid"].as_str().map(str::to_string),
        rv: b["preconditions"]["resourceVersion"].as_str().map(str::to_string),
        dry_run: b["dryRun"].as_array().is_some_and(|d| d.iter().any(|x| x == "All")) || dry_run(q),
    })
}

/// Delete one object. Foreground and Orphan propagation add the `foregroundDeletion` /
/// `orphan` finalizer that the garbage collector then acts on (store.go
/// deletionFinalizersForGarbageCollection). The response is the object while it is
/// still terminating, a `Status` Success once it is gone (finalizeDelete).
pub fn delete_one(ctx: &Context, k: &Key, res: &Resource, o: &DeleteOpts) -> ApiResult {
    let cur = ctx.store.get(k).ok_or_else(|| ApiError::not_found(res, &k.name))?;
    if o.dry_run {
        return Ok((200, (*cur).clone()));
    }
    let fin = match o.propagation.as_deref() {
        Some("Foreground") => Some("foregroundDeletion"),
        Some("Orphan") => Some("orphan"),
        _ => None,
    };
    // One write: the finalizer, deletionTimestamp and the generation bump together
    // (watch-sts-orphan-delete-recreate.jsonl's first MODIFIED).
    let out = ctx
        .store
        .delete_with(k, o.grace, o.uid.as_deref(), o.rv.as_deref(), fin)?;
    if ctx.store.get(k).is_some_and(|now| rv_of(&now) == rv_of(&out)) {
        return Ok((200, (*out).clone()));
    }
    let mut details = json!({"name": k.name, "kind": res.plural, "uid": out["metadata"]["uid"]});
    if !res.group.is_empty() {
        details["group"] = json!(res.group);
    }
    Ok((
        200,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}),
    ))
}

pub fn delete(ctx: &Context, info: &ReqInfo, q: &HashMap<String, String>, body: &[u8]) -> ApiResult {
    let o = delete_opts(q, body)?;
    delete_one(ctx, &key(info), info.res, &o)
}

pub fn delete_collection(ctx: &Context, info: &ReqInfo, q: &HashMap<String, String>, body: &[u8]) -> ApiResult {
    let o = delete_opts(q, body)?;
    let page = list_page(ctx, info, q)?;
    let mut deleted = Vec::new();
    for obj in &page.items {
        let k = Key::new(
            info.res.plural,
            obj["metadata"]["namespace"].as_str().unwrap_or(""),
            obj["metadata"]["name"].as_str().unwrap_or(""),
        );
        if delete_one(ctx, &k, info.res, &o).is_ok() {
            deleted.push(obj.clone());
        }
    }
    Ok((
        200,
        list_json(
            info.res,
            &Page {
                items: deleted,
                meta: page.meta,
            },
        ),
    ))
}
