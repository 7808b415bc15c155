//! Watch streams: newline-delimited JSON `{"type": ..., "object": ...}` events over a
//! chunked response, one chunk per event (k8s.io/apiserver/pkg/endpoints/handlers/
//! watch.go). Resumes from `resourceVersion` out of the store's history; an expired
//! version answers a `410 Expired` ERROR event (err-410-watch-too-old.jsonl); without
//! one (or `0`) the stream starts with synthetic ADDED events for the current state.
//! `allowWatchBookmarks` adds periodic BOOKMARK events carrying only the
//! resourceVersion (watch-pods.jsonl). `timeoutSeconds` ends the stream.

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
    let (initial, start) = match rv {
        Some(rv) => (Vec::new(), store.watch_from(Some(rv))),
        None => {
            let (items, list_rv) = store.list(p.res.plural, p.namespace.as_deref());
            (items, store.watch_from(Some(list_rv)))
        }
    };
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
                    _ = bookmark.tick(), if p.bookmarks && p.as_table.is_none() => {
                        let obj = json!({"kind": p.res.kind, "apiVersion": p.res.api_version(),
                            "metadata": {"resourceVersion": last_rv.to_string()}});
                        if tx.send(encode("BOOKMARK", obj)).await.is_err() { return; }
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
            if !matches(&p, &ev.object) {
                continue;
            }
            let kind = match ev.kind {
                EventType::Added => "ADDED",
                EventType::Modified => "MODIFIED",
                EventType::Deleted => "DELETED",
            };
            if tx.send(encode(kind, render(&p, &ev.object))).await.is_err() {
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
