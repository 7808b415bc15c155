//! The sim's API server: a loopback HTTP server answering the Kubernetes API wire
//! protocol (discovery, the verbs, watch, subresources, Table printing) over the shared
//! store, with the fault switchboard and the request log in front of every call.

pub mod access;
pub mod defaults;
pub mod discovery;
pub mod fieldset;
pub mod handlers;
pub mod logs;
pub mod managed;
pub mod openapi;
pub mod patch;
pub mod request;
pub mod selectors;
pub mod subresources;
pub mod table;
pub mod update_validation;
pub mod watch;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::context::Context;
use crate::error::ApiError;
use crate::faults::{Faults, Verdict};
use crate::reqlog::{RequestLog, RequestRecord};
use request::ReqInfo;
use table::Include;

/// Everything a request handler needs.
pub struct ApiState {
    pub ctx: Arc<Context>,
    pub faults: Arc<Faults>,
    pub log: RequestLog,
    /// `host:port` the server listens on (for `/api`'s serverAddressByClientCIDRs).
    pub addr: String,
}

pub fn json_response(code: u16, body: &Value) -> Response {
    let mut r = Response::new(Body::from(serde_json::to_vec(body).unwrap_or_default()));
    *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

pub fn error_response(e: &ApiError) -> Response {
    json_response(e.code, &e.status())
}

fn not_found_path(path: &str) -> Response {
    let mut e = ApiError::new(404, "NotFound", "the server could not find the requested resource");
    e.details = Some(json!({"causes": [{"reason": "UnexpectedServerResponse", "message": "404 page not found"}]}));
    let _ = path;
    error_response(&e)
}

/// Build the router: the sim's control endpoints, then everything else through [`api`].
pub fn router(state: Arc<ApiState>) -> Router {
    Router::new()
        .route("/sim/faults", axum::routing::post(post_faults))
        .route("/sim/requests", axum::routing::get(get_requests).delete(clear_requests))
        .fallback(api)
        .with_state(state)
}

async fn post_faults(State(st): State<Arc<ApiState>>, body: Bytes) -> Response {
    let reqs: Vec<crate::faults::FaultRequest> = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Array(a)) => match a.into_iter().map(serde_json::from_value).collect() {
            Ok(v) => v,
            Err(e) => return error_response(&ApiError::bad_request(e.to_string())),
        },
        Ok(v) => match serde_json::from_value(v) {
            Ok(r) => vec![r],
            Err(e) => return error_response(&ApiError::bad_request(e.to_string())),
        },
        Err(e) => return error_response(&ApiError::bad_request(e.to_string())),
    };
    for r in &reqs {
        if let Err(e) = st.faults.apply(r) {
            return error_response(&ApiError::bad_request(e));
        }
    }
    json_response(200, &json!({"applied": reqs.len()}))
}

async fn get_requests(State(st): State<Arc<ApiState>>) -> Response {
    json_response(200, &serde_json::to_value(st.log.all()).unwrap_or_default())
}

async fn clear_requests(State(st): State<Arc<ApiState>>) -> Response {
    st.log.clear();
    json_response(200, &json!({}))
}

/// Every API and discovery request.
async fn api(State(st): State<Arc<ApiState>>, req: Request) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let raw_query = req.uri().query().unwrap_or("").to_string();
    let q = request::query_map(Some(&raw_query));
    let info = request::parse(&method, &path, &q).map(|mut i| {
        i.user_agent = header_str(req.headers(), header::USER_AGENT).to_string();
        i
    });
    let ssar = method == Method::POST && path.trim_end_matches('/') == access::PATH;
    let (verb, resource, ns, name) = match &info {
        _ if ssar => (
            "create".to_string(),
            access::RESOURCE.to_string(),
            String::new(),
            String::new(),
        ),
        Some(i) => (
            i.verb.to_string(),
            i.resource_path(),
            i.namespace.clone().unwrap_or_default(),
            i.name.clone().unwrap_or_default(),
        ),
        None => (
            method.as_str().to_lowercase(),
            String::new(),
            String::new(),
            String::new(),
        ),
    };
    let time = crate::store::now_rfc3339();
    let auth = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let (delay, verdict) = st.faults.check(auth.as_deref(), &verb, &resource, |user| match &info {
        Some(i) => ApiError::forbidden(
            i.res,
            i.subresource.as_deref(),
            &name,
            user,
            i.verb,
            &if i.res.namespaced { ns.clone() } else { String::new() },
        ),
        None => ApiError::new(
            403,
            "Forbidden",
            format!("forbidden: User \"{user}\" cannot {verb} path \"{path}\""),
        ),
    });
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    let resp = match verdict {
        Verdict::Fail(e, retry) => {
            let mut r = error_response(&e);
            if let (Some(secs), 429 | 503) = (retry, e.code) {
                r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            r
        }
        Verdict::Proceed if ssar => match axum::body::to_bytes(req.into_body(), 1 << 20).await {
            Ok(body) => match access::review(&st.faults, &body) {
                Ok((code, v)) => json_response(code, &v),
                Err(e) => error_response(&e),
            },
            Err(e) => error_response(&ApiError::bad_request(format!("reading body: {e}"))),
        },
        Verdict::Proceed => match info {
            Some(info) => resource_request(&st, info, req, &q, &raw_query).await,
            None => discovery_request(&st, &method, &path),
        },
    };
    st.log.record(RequestRecord {
        method: method.to_string(),
        path,
        query: raw_query,
        verb,
        resource,
        namespace: ns,
        name,
        status: resp.status().as_u16(),
        time,
    });
    resp
}

fn discovery_request(st: &ApiState, method: &Method, path: &str) -> Response {
    if method != Method::GET {
        return not_found_path(path);
    }
    let p = path.trim_end_matches('/');
    let body = match p {
        "/version" => discovery::version(),
        "/api" => discovery::api_versions(&st.addr),
        "/apis" => discovery::api_groups(),
        "/openapi/v3" => openapi::index(),
        "/healthz" | "/readyz" | "/livez" => {
            let mut r = Response::new(Body::from("ok"));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            return r;
        }
        _ => {
            let segs: Vec<&str> = p.trim_start_matches('/').split('/').collect();
            let list = match segs.as_slice() {
                ["api", v] => discovery::resource_list("", v),
                ["apis", "authorization.k8s.io", "v1"] => Some(access::discovery_list()),
                ["apis", g, v] => discovery::resource_list(g, v),
                ["openapi", "v3", rest @ ..] => openapi::group_version(&rest.join("/")),
                ["apis", g] => discovery::GROUPS.iter().find(|(gg, _)| gg == g).map(|(g, v)| {
                    let gv = json!({"groupVersion": format!("{g}/{v}"), "version": v});
                    json!({"kind": "APIGroup", "apiVersion": "v1", "name": g, "versions": [gv.clone()], "preferredVersion": gv})
                }),
                _ => None,
            };
            match list {
                Some(l) => l,
                None => return not_found_path(path),
            }
        }
    };
    json_response(200, &body)
}

fn header_str(h: &HeaderMap, name: header::HeaderName) -> &str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

async fn resource_request(
    st: &Arc<ApiState>,
    info: ReqInfo,
    req: Request,
    q: &std::collections::HashMap<String, String>,
    raw_query: &str,
) -> Response {
    let ctx = &st.ctx;
    let method = req.method().clone();
    let headers = req.headers().clone();
    let accept = header_str(&headers, header::ACCEPT).to_string();
    let ct = header_str(&headers, header::CONTENT_TYPE).to_string();
    let as_table = table::wants_table(&accept);
    let include = Include::parse(q.get("includeObject").map(String::as_str));

    if info.subresource.as_deref() == Some("exec") {
        let (mut parts, _body) = req.into_parts();
        let ws = match axum::extract::ws::WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
            Ok(ws) => ws,
            Err(e) => {
                return error_response(&ApiError::bad_request(format!(
                    "exec needs a WebSocket upgrade (v5.channel.k8s.io / v4.channel.k8s.io): {}",
                    e.body_text()
                )));
            }
        };
        return exec(ctx.clone(), info, raw_query.to_string(), ws, headers).await;
    }
    let body = match axum::body::to_bytes(req.into_body(), 64 << 20).await {
        Ok(b) => b,
        Err(e) => return error_response(&ApiError::bad_request(format!("reading body: {e}"))),
    };
    let result = match (info.subresource.as_deref(), info.verb) {
        (_, "watch") => {
            let (labels, mut fields) = match handlers::selectors(info.res, q) {
                Ok(s) => s,
                Err(e) => return error_response(&e),
            };
            if let Some(n) = &info.name {
                // GET .../pods/NAME?watch=1 (deprecated form) watches one object.
                fields = match selectors::FieldSelector::parse(
                    info.res.plural,
                    info.res.kind,
                    &format!("metadata.name={n}"),
                ) {
                    Ok(f) => f,
                    Err(e) => return error_response(&e),
                };
            }
            let bookmarks = q.get("allowWatchBookmarks").is_some_and(|b| b == "true" || b == "1");
            let send_initial_events = q.get("sendInitialEvents").map(|b| b == "true" || b == "1");
            if let Err(e) = watch::validate(
                send_initial_events,
                q.get("resourceVersionMatch").map(String::as_str),
                bookmarks,
            ) {
                return error_response(&e);
            }
            let p = watch::WatchParams {
                res: info.res,
                namespace: info.namespace.clone(),
                labels,
                fields,
                resource_version: q.get("resourceVersion").cloned(),
                bookmarks,
                send_initial_events,
                timeout: q
                    .get("timeoutSeconds")
                    .and_then(|t| t.parse().ok())
                    .map(std::time::Duration::from_secs),
                as_table: as_table.then_some(include),
            };
            return match watch::serve(&ctx.store, p, st.faults.watch_drops()) {
                Ok(r) => r,
                Err(e) => error_response(&e),
            };
        }
        (_, "list") => handlers::list_page(ctx, &info, q).map(|page| {
            if as_table {
                let items: Vec<&Value> = page.items.iter().map(|a| a.as_ref()).collect();
                (200, table::table(info.res, &items, page.meta.clone(), include))
            } else {
                (200, handlers::list_json(info.res, &page))
            }
        }),
        (Some("scale"), _) => subresources::scale(ctx, &info, method.as_str(), &ct, &body, q),
        (Some("eviction"), "create") => subresources::evict(ctx, &info, &body),
        (Some("log"), "get") => {
            return match logs::pod_log(ctx, &info, q) {
                Ok(text) => {
                    let mut r = Response::new(Body::from(text));
                    r.headers_mut()
                        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
                    r
                }
                Err(e) => error_response(&e),
            };
        }
        (None | Some("status"), "get") => handlers::get_obj(ctx, &info).map(|o| {
            if as_table {
                (
                    200,
                    table::table(
                        info.res,
                        &[o.as_ref()],
                        json!({"resourceVersion": o["metadata"]["resourceVersion"]}),
                        include,
                    ),
                )
            } else {
                (200, (*o).clone())
            }
        }),
        (None, "create") => handlers::create(ctx, &info, q, &body),
        (None | Some("status"), "update") => handlers::update(ctx, &info, q, &body),
        (None | Some("status"), "patch") => handlers::patch(ctx, &info, q, &ct, &body),
        (None, "delete") => handlers::delete(ctx, &info, q, &body),
        (None, "deletecollection") => handlers::delete_collection(ctx, &info, q, &body),
        _ => Err(ApiError::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource".to_string(),
        )),
    };
    match result {
        Ok((code, v)) => json_response(code, &v),
        Err(e) => error_response(&e),
    }
}

/// `pods/{name}/exec`: handed to the exec engine ([`crate::exec::handle`]).
async fn exec(
    ctx: Arc<Context>,
    info: ReqInfo,
    raw_query: String,
    ws: axum::extract::ws::WebSocketUpgrade,
    headers: HeaderMap,
) -> Response {
    let ns = info.namespace.unwrap_or_default();
    let pod = info.name.unwrap_or_default();
    crate::exec::handle(ctx, ns, pod, raw_query, ws, headers).await
}

/// A running API server: supervises the listener so it can go down and come back on
/// the same port (faults), and stops on [`Server::shutdown`].
pub struct Server {
    pub addr: SocketAddr,
    stop: tokio::sync::watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl Server {
    /// Bind `127.0.0.1:port` (0: ephemeral) and serve.
    pub async fn start(ctx: Arc<Context>, faults: Arc<Faults>, log: RequestLog, port: u16) -> anyhow::Result<Server> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(ApiState {
            ctx,
            faults: faults.clone(),
            log,
            addr: addr.to_string(),
        });
        let app = router(state);
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(supervise(listener, addr, app, faults, stop_rx));
        Ok(Server {
            addr,
            stop,
            task: Some(task),
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stop accepting connections and end open watches.
    pub async fn shutdown(&mut self) {
        self.stop.send_replace(true);
        if let Some(t) = self.task.take() {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), t).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.send_replace(true);
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

async fn supervise(
    mut listener: TcpListener,
    addr: SocketAddr,
    app: Router,
    faults: Arc<Faults>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut up = faults.server_up();
    loop {
        // Serve until stopped or taken down. Every connection is a task of this set, so
        // "down" behaves like a crashed API server: the listener closes at once (new
        // connections are refused) and every open connection is cut, however long its
        // request (a watch, an exec) would have run. Waiting for them to finish instead
        // would keep the port closed after the server is brought back up.
        let mut conns = tokio::task::JoinSet::new();
        let stopped = loop {
            tokio::select! {
                _ = stop.wait_for(|s| *s) => break true,
                _ = up.wait_for(|u| !*u) => break false,
                accepted = listener.accept() => {
                    if let Ok((socket, _)) = accepted {
                        conns.spawn(serve_connection(socket, app.clone()));
                    }
                }
                Some(_) = conns.join_next(), if !conns.is_empty() => {}
            }
        };
        drop(listener);
        conns.abort_all();
        if stopped {
            faults.drop_watches();
            return;
        }
        // Down: wait to come back up (or stop), then listen on the same address again.
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            _ = up.wait_for(|u| *u) => {},
        }
        listener = loop {
            match TcpListener::bind(addr).await {
                Ok(l) => break l,
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
            }
        };
    }
}

/// One client connection: HTTP/1.1 (plain HTTP, as kubectl speaks to an `http://`
/// server), with upgrades for exec's WebSocket.
async fn serve_connection(socket: tokio::net::TcpStream, app: Router) {
    let _ = socket.set_nodelay(true);
    let io = hyper_util::rt::TokioIo::new(socket);
    let service = hyper_util::service::TowerToHyperService::new(app);
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, service)
        .with_upgrades()
        .await;
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        error_response(&self)
    }
}
