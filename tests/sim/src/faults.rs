//! Server-level faults for tests: RBAC denials, required bearer tokens, injected error
//! responses, slow answers, dropped watches, forced `410 Gone`, and the server going
//! down and back up on the same port. Settable from Rust (`sim.faults()`) and over
//! HTTP (`POST /sim/faults`, see [`FaultRequest`]) so shell scripts can use them.

use std::sync::Mutex;
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::watch;

use crate::error::ApiError;
use crate::store::Store;

/// Which requests a rule applies to: verb (`get`, `list`, `watch`, `create`, `update`,
/// `patch`, `delete`, `connect`, or `*`) and resource (`pods`, `statefulsets/scale`, `*`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matcher {
    pub verb: String,
    pub resource: String,
}

impl Matcher {
    pub fn new(verb: &str, resource: &str) -> Matcher {
        Matcher {
            verb: verb.to_string(),
            resource: resource.to_string(),
        }
    }
    fn matches(&self, verb: &str, resource: &str) -> bool {
        (self.verb == "*" || self.verb == verb) && (self.resource == "*" || self.resource == resource)
    }
}

#[derive(Clone, Debug)]
struct Injected {
    matcher: Matcher,
    code: u16,
    remaining: usize,
}

#[derive(Default)]
struct State {
    denied: Vec<Matcher>,
    /// RBAC allowlist: when set, resource requests matching none of these get a 403.
    allowed: Option<Vec<Matcher>>,
    token: Option<String>,
    injected: Vec<Injected>,
    slow: Vec<(Matcher, Duration)>,
}

impl State {
    /// RBAC's answer: no denial matches, and the allowlist (if any) grants it.
    /// Non-resource paths are always allowed, and so is asking what one may do
    /// (creating a SelfSubjectAccessReview: `system:basic-user`, which every
    /// authenticated user has whatever their Roles).
    fn permits(&self, verb: &str, resource: &str) -> bool {
        let basic_user = verb == "create" && resource == crate::api::access::RESOURCE;
        let allowed = basic_user
            || self
                .allowed
                .as_ref()
                .is_none_or(|allowed| resource.is_empty() || allowed.iter().any(|m| m.matches(verb, resource)));
        allowed && !self.denied.iter().any(|m| m.matches(verb, resource))
    }
}

/// The fault switchboard of one sim. Thread-safe.
pub struct Faults {
    state: Mutex<State>,
    store: Store,
    /// Bumped to end every open watch stream.
    drop_tx: watch::Sender<u64>,
    /// Whether the listener should be accepting connections.
    up_tx: watch::Sender<bool>,
}

/// What the middleware should do with one request.
pub enum Verdict {
    Proceed,
    Fail(ApiError, Option<u64>),
}

/// The user the sim authenticates every request as (the bearer token's user).
pub const USER: &str = "sts-sim-user";

impl Faults {
    pub fn new(store: Store) -> Faults {
        Faults {
            state: Mutex::new(State::default()),
            store,
            drop_tx: watch::channel(0).0,
            up_tx: watch::channel(true).0,
        }
    }

    /// RBAC: deny `verb` on `resource` (`"pods"`, `"statefulsets/scale"`, `"*"`) with a 403.
    pub fn deny(&self, verb: &str, resource: &str) {
        self.state.lock().unwrap().denied.push(Matcher::new(verb, resource));
    }

    /// RBAC the way Roles work: only requests matching one of `rules` (verb, resource)
    /// are allowed, every other resource request gets a 403. Discovery (`/api`,
    /// `/apis`, `/version`) stays open, as the `system:discovery` role keeps it.
    pub fn allow_only(&self, rules: impl IntoIterator<Item = Matcher>) {
        self.state.lock().unwrap().allowed = Some(rules.into_iter().collect());
    }

    /// Remove every RBAC denial and allowlist.
    pub fn allow_all(&self) {
        let mut st = self.state.lock().unwrap();
        st.denied.clear();
        st.allowed = None;
    }

    /// Require `Authorization: Bearer <token>`; anything else gets 401. None: no auth.
    pub fn require_token(&self, token: Option<&str>) {
        self.state.lock().unwrap().token = token.map(str::to_string);
    }

    /// The next `count` requests matching (verb, resource) answer `code` (409, 429 with
    /// `Retry-After: 1`, 500 or 503).
    pub fn fail_next(&self, verb: &str, resource: &str, code: u16, count: usize) {
        self.state.lock().unwrap().injected.push(Injected {
            matcher: Matcher::new(verb, resource),
            code,
            remaining: count,
        });
    }

    /// Delay every matching request by `delay` before answering.
    pub fn slow(&self, verb: &str, resource: &str, delay: Duration) {
        self.state
            .lock()
            .unwrap()
            .slow
            .push((Matcher::new(verb, resource), delay));
    }

    /// Close every open watch stream now (cleanly: the chunked body ends).
    pub fn drop_watches(&self) {
        self.drop_tx.send_modify(|n| *n += 1);
    }

    /// Compact the store's history and drop watches: every resume from an older
    /// resourceVersion now gets `410 Gone`.
    pub fn expire_watches(&self) {
        self.store.compact();
        self.drop_watches();
    }

    /// Stop accepting connections (open watches are dropped) or start again on the same port.
    pub fn set_server_up(&self, up: bool) {
        if !up {
            self.drop_watches();
        }
        self.up_tx.send_replace(up);
    }

    /// Clear every fault (the server is brought back up too).
    pub fn reset(&self) {
        *self.state.lock().unwrap() = State::default();
        self.set_server_up(true);
    }

    pub fn watch_drops(&self) -> watch::Receiver<u64> {
        self.drop_tx.subscribe()
    }

    pub fn server_up(&self) -> watch::Receiver<bool> {
        self.up_tx.subscribe()
    }

    /// Whether RBAC (denials and the allowlist, nothing else) lets the sim's user do
    /// `verb` on `resource` (`pods`, `pods/exec`): what a SelfSubjectAccessReview answers.
    pub fn permits(&self, verb: &str, resource: &str) -> bool {
        self.state.lock().unwrap().permits(verb, resource)
    }

    /// Decide a request's fate; also returns the delay to apply first.
    pub fn check(
        &self,
        auth: Option<&str>,
        verb: &str,
        resource: &str,
        forbidden: impl FnOnce(&str) -> ApiError,
    ) -> (Option<Duration>, Verdict) {
        let mut st = self.state.lock().unwrap();
        let delay = st
            .slow
            .iter()
            .filter(|(m, _)| m.matches(verb, resource))
            .map(|(_, d)| *d)
            .max();
        if let Some(tok) = &st.token {
            let given = auth.and_then(|a| a.strip_prefix("Bearer ")).map(str::trim);
            if given != Some(tok.as_str()) {
                return (delay, Verdict::Fail(ApiError::unauthorized(), None));
            }
        }
        if !st.permits(verb, resource) {
            return (delay, Verdict::Fail(forbidden(USER), None));
        }
        if let Some(inj) = st
            .injected
            .iter_mut()
            .find(|i| i.remaining > 0 && i.matcher.matches(verb, resource))
        {
            inj.remaining -= 1;
            let code = inj.code;
            st.injected.retain(|i| i.remaining > 0);
            return (delay, Verdict::Fail(injected_error(code, resource), Some(1)));
        }
        (delay, Verdict::Proceed)
    }

    /// Apply one fault request from `POST /sim/faults`.
    pub fn apply(&self, req: &FaultRequest) -> Result<(), String> {
        let verb = req.verb.as_deref().unwrap_or("*");
        let resource = req.resource.as_deref().unwrap_or("*");
        match req.action.as_str() {
            "deny" => self.deny(verb, resource),
            "allow-all" => self.allow_all(),
            "require-token" => self.require_token(req.token.as_deref()),
            "fail" => self.fail_next(verb, resource, req.code.unwrap_or(500), req.count.unwrap_or(1)),
            "slow" => self.slow(verb, resource, Duration::from_millis(req.delay_ms.unwrap_or(1000))),
            "drop-watches" => self.drop_watches(),
            "expire-watches" => self.expire_watches(),
            "down" => {
                self.set_server_up(false);
                if let Some(ms) = req.delay_ms {
                    let up = self.up_tx.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_millis(ms)).await;
                        up.send_replace(true);
                    });
                }
            }
            "up" => self.set_server_up(true),
            "reset" => self.reset(),
            other => return Err(format!("unknown fault action {other:?}")),
        }
        Ok(())
    }
}

/// Body of `POST /sim/faults` (one object or an array of them), e.g.
/// `{"action":"deny","verb":"delete","resource":"pods"}`,
/// `{"action":"fail","verb":"patch","resource":"statefulsets/scale","code":409,"count":2}`,
/// `{"action":"slow","resource":"pods","delay_ms":500}`, `{"action":"drop-watches"}`,
/// `{"action":"expire-watches"}`, `{"action":"down","delay_ms":2000}` (back up after
/// 2 s), `{"action":"reset"}`.
#[derive(Debug, Deserialize)]
pub struct FaultRequest {
    pub action: String,
    pub verb: Option<String>,
    pub resource: Option<String>,
    pub code: Option<u16>,
    pub count: Option<usize>,
    pub delay_ms: Option<u64>,
    pub token: Option<String>,
}

fn injected_error(code: u16, resource: &str) -> ApiError {
    match code {
        409 => ApiError::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {resource}: the object has been modified; please apply your changes to the latest version and try again"
            ),
        ),
        429 => ApiError::too_many_requests("Too many requests, please try again later."),
        503 => ApiError::new(
            503,
            "ServiceUnavailable",
            "the server is currently unable to handle the request",
        ),
        410 => ApiError::new(410, "Gone", "the resource is gone"),
        _ => ApiError::internal(
            "an error on the server (\"sts-sim injected fault\") has prevented the request from succeeding",
        ),
    }
}
