//! Watch streams: newline-delimited JSON `{"type": ..., "object": ...}` events over a
//! chunked response, one chunk per event (k8s.io/apiserver/pkg/endpoints/handlers/
//! watch.go). Resumes from `resourceVersion` out of the store's history; an expired
//! version answers a `410 Expired` ERROR event (err-410-watch-too-old.jsonl); without
//! one (or `0`) the stream starts with synthetic ADDED events for the current state.
//! `allowWatchBookmarks` adds periodic BOOKMARK events carrying only the
//! resourceVersion (watch-pods.jsonl). `timeoutSeconds` ends the stream.
//!
//! Streaming lists (`sendInitialEvents=true`, KEP-3157, beta since 1.32 and what
//! client-go's reflector tries first with the `WatchListClient` gate, as kubectl 1.37
//! does for `delete --wait`, `wait` and `rollout status`): the current state as ADDED
//! events, then a BOOKMARK annotated `k8s.io/initial-events-end: "true"` carrying the
//! snapshot's resourceVersion (apiserver storage/cacher/cacher.go and the handler's
//! watchListTransformer), then the changes after it.
//!
//! With a label or field selector, an update that makes an object leave the selection
//! is a DELETED event carrying the previous object at the new resourceVersion, and one
//! that makes it enter is an ADDED (convertToWatchEvent, storage/cacher/cache_watcher.go).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use super::selectors::{FieldSelector, LabelSelector};
use super::table::{self, Include};
use crate::error::ApiError;
use crate::resources::Resource;
use crate::store::{EventType, Store};

/// How often a watch with `allowWatchBookmarks=true` gets a BOOKMARK.
pub const BOOKMARK_INTERVAL: Duration = Duration::from_secs(1);

pub struct WatchParams {
    pub res: &'static Resource,
    pub namespace: Option<String>,
    pub labels: LabelSelector,
    pub fields: FieldSelector,
    pub resource_version: Option<String>,
    pub bookmarks: bool,
    pub timeout: Option<Duration>,
    pub as_table: Option<Include>,
    /// `sendInitialEvents`: Some(true) streams the current state first and ends it
    /// with the initial-events-end bookmark; Some(false) never sends it, even
    /// without a resourceVersion; None is the legacy rule (initial ADDED events only
    /// when no resourceVersion, or `0`, is given).
    pub send_initial_events: Option<bool>,
}

/// The annotation on the bookmark that ends a streaming list's initial events
/// (metav1.InitialEventsAnnotationKey).
pub const INITIAL_EVENTS_END: &str = "k8s.io/initial-events-end";

/// Validate the watch-list parameters as the API server's ValidateListOptions
/// (apimachinery/pkg/apis/meta/internalversion/validation) does for a watch.
pub fn validate(
    send_initial_events: Option<bool>,
    resource_version_match: Option<&str>,
    bookmarks: bool,
) -> Result<(), ApiError> {
    let mut errs = Vec::new();
    match (send_initial_events, resource_version_match.filter(|m| !m.is_empty())) {
        (Some(_), m) => {
            if m != Some("NotOlderThan") {
                errs.push(
                    "resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
                );
            }
            if !bookmarks {
                errs.push("allowWatchBookmarks: Forbidden: sendInitialEvents requires setting allowWatchBookmarks to true");
            }
        }
        (None, Some(_)) => errs.push("resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"),
        (None, None) => {}
    }
    if errs.is_empty() {
        return Ok(());
    }
    let msg = if errs.len() == 1 {
        errs[0].to_string()
    } else {
        format!("[{}]", errs.join(", "))
    };
    Err(ApiError::new(
        422,
        "Invalid",
        format!("ListOptions.meta.k8s.io \"\" is invalid: {msg}"),
    ))
}

fn encode(kind: &str, obj: Value) -> Bytes {
    let mut line = serde_json::to_vec(&json!({"type": kind, "object": obj})).unwrap_or_default();
    line.push(b'\n');
    Bytes::from(line)
}

fn render(p: &WatchParams, obj: &Value) -> Value {
    match p.as_table {
        Some(inc) => table::table(
            p.res,
            &[obj],
            json!({"resourceVersion": obj["metadata"]["resourceVersion"]}),
            inc,
        ),
        None => obj.clone(),
    }
}

fn matches(p: &WatchParams, obj: &Value) -> bool {
    p.labels.matches(obj) && p.fields.matches(obj)
}

/// The object a BOOKMARK carries: an empty object of the watched kind with only the
/// resourceVersion (watch-pods.jsonl: `{"kind":"Pod","apiVersion":"v1","metadata":
/// {"resourceVersion":"1111","creationTimestamp":null},"spec":{"containers":null},"status":{}}`).
fn bookmark_object(p: &WatchParams, rv: u64) -> Value {
    json!({"kind": p.res.kind, "apiVersion": p.res.api_version(),
        "metadata": {"resourceVersion": rv.to_string(), "creationTimestamp": null}})
}

/// What a watcher with selectors sees of one write (convertToWatchEvent,
/// storage/cacher/cache_watcher.go): entering the selection is ADDED, staying in it
/// MODIFIED, leaving it DELETED with the previous object at the new resourceVersion.
fn convert(p: &WatchParams, ev: &crate::store::WatchEvent) -> Option<(&'static str, Value)> {
    let cur = ev.kind != EventType::Deleted && matches(p, &ev.object);
    let old = match ev.kind {
        EventType::Added => false,
        EventType::Deleted => matches(p, &ev.object),
        EventType::Modified => ev.prev.as_deref().is_some_and(|o| matches(p, o)),
    };
    match (ev.kind, cur, old) {
        (EventType::Deleted, _, true) => Some(("DELETED", (*ev.object).clone())),
        (_, true, false) => Some(("ADDED", (*ev.object).clone())),
        (_, true, true) => Some(("MODIFIED", (*ev.object).clone())),
        (EventType::Modified, false, true) => {
            let mut o = ev.prev.as_deref().cloned().unwrap_or_else(|| (*ev.object).clone());
            o["metadata"]["resourceVersion"] = json!(ev.rv.to_string());
            Some(("DELETED", o))
        }
        _ => None,
    }
}

/// Start a watch response. Errors that a real server reports before streaming
/// (bad parameters) come back as `Err`; an expired resourceVersion is a 200 with one
/// ERROR event, as the API server sends it.
pub fn serve(
    store: &Store,
    p: WatchParams,
    mut drops: tokio::sync::watch::Receiver<u64>,
) -> Result<Response, ApiError> {
    let rv: Option<u64> = match p.resource_version.as_deref() {
        None | Some("") | Some("0") => None,
        Some(s) => Some(
            s.parse()
                .map_err(|_| ApiError::bad_request(format!("invalid resource version: {s}")))?,
        ),
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(256);
    let initial_events = p.send_initial_events.unwrap_or(rv.is_none());
    let (initial, start) = if initial_events {
        // A streaming list from resourceVersion N (NotOlderThan) may serve any state
        // at least as new as N: the current one.
        let (items, list_rv) = store.list(p.res.plural, p.namespace.as_deref());
        (items, store.watch_from(Some(list_rv)))
    } else {
        (Vec::new(), store.watch_from(rv))
    };
    let initial_end = p.send_initial_events == Some(true);
    drops.mark_unchanged();
    let p = Arc::new(p);
    tokio::spawn(async move {
        let mut start = match start {
            Ok(s) => s,
            Err(e) => {
                let _ = tx.send(encode("ERROR", e.status())).await;
                return;
            }
        };
        for obj in initial.iter().filter(|o| matches(&p, o)) {
            if tx.send(encode("ADDED", render(&p, obj))).await.is_err() {
                return;
            }
        }
        let mut last_rv = start.rv;
        if initial_end {
            let mut b = bookmark_object(&p, last_rv);
            b["metadata"]["annotations"] = json!({INITIAL_EVENTS_END: "true"});
            if tx.send(encode("BOOKMARK", render(&p, &b))).await.is_err() {
                return;
            }
        }
        let deadline = p.timeout.map(|t| tokio::time::Instant::now() + t);
        let mut bookmark = tokio::time::interval(BOOKMARK_INTERVAL);
        bookmark.tick().await;
        let mut pending = std::mem::take(&mut start.backlog).into_iter();
        loop {
            let ev = if let Some(ev) = pending.next() {
                ev
            } else {
                tokio::select! {
                    r = start.rx.recv() => match r {
                        Ok(ev) => ev,
                        // Fell behind the broadcast buffer: end the stream; the client re-watches.
                        Err(RecvError::Lagged(_)) | Err(RecvError::Closed) => return,
                    },
                    _ = bookmark.tick(), if p.bookmarks => {
                        let obj = bookmark_object(&p, last_rv);
                        if tx.send(encode("BOOKMARK", render(&p, &obj))).await.is_err() { return; }
                        continue;
                    }
                    _ = drops.changed() => return,
                    _ = async { match deadline { Some(d) => tokio::time::sleep_until(d).await, None => std::future::pending().await } } => return,
                    _ = tx.closed() => return,
                }
            };
            last_rv = ev.rv;
            if ev.key.plural != p.res.plural {
                continue;
            }
            if let Some(ns) = &p.namespace
                && p.res.namespaced
                && &ev.key.namespace != ns
            {
                continue;
            }
            let Some((kind, obj)) = convert(&p, &ev) else {
                continue;
            };
            if tx.send(encode(kind, render(&p, &obj))).await.is_err() {
                return;
            }
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx))
    });
    let mut resp = Response::new(Body::from_stream(stream));
    *resp.status_mut() = StatusCode::OK;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-cache, private"),
    );
    Ok(resp)
}
