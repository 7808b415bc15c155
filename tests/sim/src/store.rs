//! The object store: an in-memory etcd + registry for every kind the sim serves.
//!
//! Objects are kept as raw JSON (`serde_json::Value`) so that whatever a client sends
//! (kubectl, kube-rs) round-trips field for field. One global, monotonically increasing
//! resourceVersion orders every write, as etcd's revision does for a real API server.
//! Every write is appended to a bounded history so watches can resume from a
//! resourceVersion; a version older than the history answers `410 Gone` (`Expired`).
//!
//! Deletion follows the API server's rules (staging/src/k8s.io/apiserver/pkg/registry/
//! generic/registry/store.go): an object with finalizers, or a scheduled pod deleted with
//! a grace period, only gets `metadata.deletionTimestamp`; it disappears when the last
//! finalizer is removed or the kubelet (here: the pod controller) finishes it off.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::error::ApiError;
use crate::resources::{self, Resource};

/// Identity of one stored object. Ordered as etcd orders its keys
/// (`/registry/<plural>/<namespace>/<name>`, byte by byte): by resource, then by
/// `namespace/name` as one string, so `a-b/x` sorts before `a/x` (`-` < `/`). Lists
/// and their continue tokens depend on this order.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    /// The resource's plural name (`pods`, `statefulsets`, ...): unique across the
    /// groups the sim serves, see [`resources::by_plural`].
    pub plural: &'static str,
    /// Empty for cluster-scoped kinds.
    pub namespace: String,
    pub name: String,
}

impl Key {
    pub fn new(plural: &str, namespace: &str, name: &str) -> Key {
        let res = resources::by_plural(plural).unwrap_or_else(|| panic!("unknown resource {plural}"));
        Key {
            plural: res.plural,
            namespace: if res.namespaced {
                namespace.to_string()
            } else {
                String::new()
            },
            name: name.to_string(),
        }
    }
    pub fn resource(&self) -> &'static Resource {
        resources::by_plural(self.plural).expect("key of a known resource")
    }
}

impl Ord for Key {
    /// `namespace + "/" + name` compared as bytes, without building the strings.
    fn cmp(&self, other: &Key) -> std::cmp::Ordering {
        self.plural.cmp(other.plural).then_with(|| {
            let (a, b) = (self.namespace.as_bytes(), other.namespace.as_bytes());
            if a == b {
                return self.name.cmp(&other.name);
            }
            // The namespaces differ: the first differing byte of `a/` and `b/` decides.
            let m = a.iter().zip(b).take_while(|(x, y)| x == y).count();
            let at = |s: &[u8]| s.get(m).copied().unwrap_or(b'/');
            at(a).cmp(&at(b))
        })
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Key) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// One page of a list: see [`Store::page`].
pub struct ListPage {
    pub items: Vec<Arc<Value>>,
    /// The revision the page was read at (the first page's, for later pages).
    pub rv: u64,
    /// Whether matching items follow the page.
    pub more: bool,
    /// How many matching items follow (counted only when asked).
    pub remaining: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One write, as a watch reports it.
#[derive(Clone, Debug)]
pub struct WatchEvent {
    pub kind: EventType,
    pub key: Key,
    /// The resourceVersion of this write (also in `object.metadata.resourceVersion`).
    pub rv: u64,
    pub object: Arc<Value>,
    /// The object as it was before this write (None for ADDED). Watches with a
    /// selector need it to tell an object that leaves the selection (the cacher's
    /// convertToWatchEvent, storage/cacher/cache_watcher.go) and consistent list
    /// snapshots need it to undo later writes.
    pub prev: Option<Arc<Value>>,
}

struct Inner {
    rv: u64,
    objects: BTreeMap<Key, Arc<Value>>,
    history: VecDeque<WatchEvent>,
    /// Watches may start from any resourceVersion >= this one.
    oldest_watchable: u64,
}

/// Thread-safe store; cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Mutex<Inner>>,
    tx: broadcast::Sender<WatchEvent>,
    history_cap: usize,
}

/// The start of a watch: events already in history after the requested version, and a
/// receiver for everything after that. Nothing is lost or duplicated between the two.
pub struct WatchStart {
    pub backlog: Vec<WatchEvent>,
    pub rx: broadcast::Receiver<WatchEvent>,
    /// The store's resourceVersion when the watch started.
    pub rv: u64,
}

pub fn now_rfc3339() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// RFC 3339 time `secs` seconds from now.
fn rfc3339_in(secs: i64) -> String {
    let t = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(secs);
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn new_uid() -> String {
    let b: [u8; 16] = rand::random();
    format!(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-4{:01x}{:02x}-{:01x}{:01x}{:02x}-{}",
        b[0],
        b[1],
        b[2],
        b[3],
        b[4],
        b[5],
        b[6] & 0x0f,
        b[7],
        8 | (b[8] & 0x3),
        b[8] >> 4,
        b[9],
        b[10..16].iter().map(|x| format!("{x:02x}")).collect::<String>()
    )
}

/// Five lowercase alphanumerics, as the API server's generateName suffix
/// (k8s.io/apiserver/pkg/storage/names: "bcdfghjklmnpqrstvwxz2456789").
pub fn random_suffix(n: usize) -> String {
    const ALPHA: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    (0..n)
        .map(|_| ALPHA[rand::random_range(0..ALPHA.len())] as char)
        .collect()
}

pub fn meta(obj: &Value) -> &Value {
    &obj["metadata"]
}

pub fn name_of(obj: &Value) -> &str {
    obj["metadata"]["name"].as_str().unwrap_or("")
}

pub fn rv_of(obj: &Value) -> Option<u64> {
    obj["metadata"]["resourceVersion"].as_str().and_then(|s| s.parse().ok())
}

fn has_finalizers(obj: &Value) -> bool {
    obj["metadata"]["finalizers"].as_array().is_some_and(|f| !f.is_empty())
}

fn is_terminating(obj: &Value) -> bool {
    !obj["metadata"]["deletionTimestamp"].is_null()
}

fn add_finalizer(obj: &mut Value, f: &str) {
    let mut fins = obj["metadata"]["finalizers"].as_array().cloned().unwrap_or_default();
    if !fins.iter().any(|x| x == f) {
        fins.push(json!(f));
        obj["metadata"]["finalizers"] = Value::Array(fins);
    }
}

/// The 409 of a delete whose `preconditions.uid` does not match, as rest.BeforeDelete
/// words it: the resource named by its kind (`StatefulSet.apps`, `Pod`).
fn uid_precondition_failed(res: &Resource, name: &str, want: &str, obj: &Value) -> ApiError {
    let resource = if res.group.is_empty() {
        res.kind.to_string()
    } else {
        format!("{}.{}", res.kind, res.group)
    };
    let mut details = json!({"name": name, "kind": res.kind});
    if !res.group.is_empty() {
        details["group"] = json!(res.group);
    }
    ApiError {
        code: 409,
        reason: "Conflict",
        message: format!(
            "Operation cannot be fulfilled on {resource} \"{name}\": the UID in the precondition ({want}) does not match the UID in record ({}). The object might have been deleted and then recreated",
            obj["metadata"]["uid"].as_str().unwrap_or("")
        ),
        details: Some(details),
    }
}

impl Default for Store {
    fn default() -> Self {
        Store::new(10_000)
    }
}

impl Store {
    /// `history_cap`: how many writes watches can resume across (etcd compaction window).
    pub fn new(history_cap: usize) -> Store {
        let (tx, _) = broadcast::channel(65_536);
        Store {
            inner: Arc::new(Mutex::new(Inner {
                rv: 1,
                objects: BTreeMap::new(),
                history: VecDeque::new(),
                oldest_watchable: 1,
            })),
            tx,
            history_cap,
        }
    }

    /// The store's current resourceVersion (the list resourceVersion a real server gives).
    pub fn current_rv(&self) -> u64 {
        self.inner.lock().unwrap().rv
    }

    /// Forget all history: every watch from an older resourceVersion now gets 410 Gone.
    pub fn compact(&self) {
        let mut inner = self.inner.lock().unwrap();
        inner.history.clear();
        inner.oldest_watchable = inner.rv;
    }

    fn commit(&self, inner: &mut Inner, kind: EventType, key: Key, mut obj: Value) -> Arc<Value> {
        inner.rv += 1;
        let rv = inner.rv;
        obj["metadata"]["resourceVersion"] = json!(rv.to_string());
        let obj = Arc::new(obj);
        let prev = match kind {
            EventType::Deleted => inner.objects.remove(&key),
            _ => inner.objects.insert(key.clone(), obj.clone()),
        };
        let ev = WatchEvent {
            kind,
            key,
            rv,
            object: obj.clone(),
            prev,
        };
        inner.history.push_back(ev.clone());
        while inner.history.len() > self.history_cap {
            let old = inner.history.pop_front().expect("non-empty");
            inner.oldest_watchable = old.rv;
        }
        // Send while holding the lock so receivers see writes in resourceVersion order.
        let _ = self.tx.send(ev);
        obj
    }

    pub fn get(&self, key: &Key) -> Option<Arc<Value>> {
        self.inner.lock().unwrap().objects.get(key).cloned()
    }

    /// All objects of a resource, in one namespace (`Some`) or all (`None`), ordered by
    /// namespace then name (as etcd keys sort), with the resourceVersion of the snapshot.
    pub fn list(&self, plural: &str, namespace: Option<&str>) -> (Vec<Arc<Value>>, u64) {
        let res = resources::by_plural(plural).expect("known resource");
        let namespace = namespace.filter(|_| res.namespaced);
        let inner = self.inner.lock().unwrap();
        let start = Key {
            plural: res.plural,
            namespace: namespace.unwrap_or("").to_string(),
            name: String::new(),
        };
        let items = inner
            .objects
            .range(start..)
            .take_while(|(k, _)| {
                k.plural == res.plural && namespace.is_none_or(|ns| k.namespace == ns || !res.namespaced)
            })
            .map(|(_, v)| v.clone())
            .collect();
        (items, inner.rv)
    }

    /// One page of a list, as etcd serves it: the objects of `plural` (in `namespace`,
    /// or all) after the key `after` (the continue token's `ns/name`, or `name` in one
    /// namespace), that `keep` accepts (all without it), at most `limit`. With `at`, read as of that
    /// revision (later pages of a paginated list come from the first page's snapshot):
    /// the writes after it are undone from the retained history, 410 `Expired` when it
    /// is older than that (etcd compacted). Without `keep` it counts the rest of the
    /// range (`remainingItemCount`, which the real server gives only then); with it, it
    /// stops after the page: a page costs the page plus the writes since `at`.
    pub fn page(
        &self,
        plural: &str,
        namespace: Option<&str>,
        at: Option<u64>,
        after: Option<&str>,
        keep: Option<&dyn Fn(&Value) -> bool>,
        limit: Option<usize>,
    ) -> Result<ListPage, ApiError> {
        use std::ops::Bound;
        let res = resources::by_plural(plural).expect("known resource");
        let inner = self.inner.lock().unwrap();
        let rv = match at {
            Some(rv) if rv < inner.oldest_watchable && rv < inner.rv => {
                return Err(ApiError::new(
                    410,
                    "Expired",
                    "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
                ));
            }
            Some(rv) => rv.min(inner.rv),
            None => inner.rv,
        };
        let scope = if res.namespaced { namespace } else { None };
        let lower = match after {
            Some(a) => {
                let (ns, name) = match scope {
                    Some(ns) => (ns, a),
                    None if res.namespaced => a.split_once('/').unwrap_or(("", a)),
                    None => ("", a),
                };
                Bound::Excluded(Key {
                    plural: res.plural,
                    namespace: ns.to_string(),
                    name: name.to_string(),
                })
            }
            None => Bound::Included(Key {
                plural: res.plural,
                namespace: scope.unwrap_or("").to_string(),
                name: String::new(),
            }),
        };
        let in_scope = |k: &Key| k.plural == res.plural && scope.is_none_or(|ns| k.namespace == ns);
        let in_range = |k: &Key| {
            in_scope(k)
                && match &lower {
                    Bound::Excluded(l) => k > l,
                    _ => true,
                }
        };
        // The state at `rv` of every key written since: the oldest undone write's
        // previous object (None: it did not exist then).
        let mut undo: BTreeMap<&Key, Option<&Arc<Value>>> = BTreeMap::new();
        for ev in inner.history.iter().rev().take_while(|e| e.rv > rv) {
            if in_range(&ev.key) {
                undo.insert(&ev.key, ev.prev.as_ref());
            }
        }
        let mut now = inner
            .objects
            .range((lower.clone(), Bound::Unbounded))
            .take_while(|(k, _)| in_scope(k))
            .filter(|(k, _)| undo.is_empty() || !undo.contains_key(k))
            .peekable();
        let mut then = undo.iter().filter_map(|(k, v)| v.map(|v| (*k, v))).peekable();
        // Merge the two key-ordered streams.
        let merged = std::iter::from_fn(move || match (now.peek(), then.peek()) {
            (Some((a, _)), Some((b, _))) if *a < *b => now.next(),
            (Some(_), Some(_)) | (None, Some(_)) => then.next(),
            (Some(_), None) => now.next(),
            (None, None) => None,
        });
        let mut out = ListPage {
            items: Vec::new(),
            rv,
            more: false,
            remaining: 0,
        };
        let mut matching = merged.filter(|(_, v)| keep.is_none_or(|k| k(v)));
        for (_, v) in matching.by_ref() {
            out.items.push(v.clone());
            if limit.is_some_and(|l| out.items.len() >= l) {
                break;
            }
        }
        if keep.is_none() {
            out.remaining = matching.count();
            out.more = out.remaining > 0;
        } else {
            out.more = matching.next().is_some();
        }
        Ok(out)
    }

    /// Create an object. Fills uid, creationTimestamp, resourceVersion, generation and
    /// the name from `generateName`. Errors: 409 AlreadyExists.
    pub fn create(&self, key_ns: &str, plural: &str, mut obj: Value) -> Result<Arc<Value>, ApiError> {
        let res = resources::by_plural(plural).expect("known resource");
        let mut inner = self.inner.lock().unwrap();
        if obj["metadata"].is_null() {
            obj["metadata"] = json!({});
        }
        let mut name = obj["metadata"]["name"].as_str().unwrap_or("").to_string();
        if name.is_empty() {
            let Some(prefix) = obj["metadata"]["generateName"].as_str().map(str::to_string) else {
                return Err(ApiError::invalid(
                    res,
                    "",
                    "metadata.name: Required value: name or generateName is required",
                ));
            };
            loop {
                name = format!("{prefix}{}", random_suffix(5));
                if !inner.objects.contains_key(&Key::new(plural, key_ns, &name)) {
                    break;
                }
            }
            obj["metadata"]["name"] = json!(name);
        }
        let key = Key::new(plural, key_ns, &name);
        if inner.objects.contains_key(&key) {
            return Err(ApiError::already_exists(res, &name));
        }
        let m = &mut obj["metadata"];
        if res.namespaced {
            m["namespace"] = json!(key_ns);
        } else if let Some(map) = m.as_object_mut() {
            map.remove("namespace");
        }
        m["uid"] = json!(new_uid());
        m["creationTimestamp"] = json!(now_rfc3339());
        if let Some(map) = m.as_object_mut() {
            map.remove("deletionTimestamp");
            map.remove("resourceVersion");
        }
        if res.has_generation {
            obj["metadata"]["generation"] = json!(1);
        }
        obj["kind"] = json!(res.kind);
        obj["apiVersion"] = json!(res.api_version());
        Ok(self.commit(&mut inner, EventType::Added, key, obj))
    }

    /// Replace an object. When `obj` carries a resourceVersion it must match (409
    /// Conflict otherwise), as for a PUT. Bumps `generation` when `spec` changed.
    /// Removing the last finalizer of a terminating object deletes it.
    pub fn update(&self, key: &Key, mut obj: Value) -> Result<Arc<Value>, ApiError> {
        let res = key.resource();
        let mut inner = self.inner.lock().unwrap();
        let Some(old) = inner.objects.get(key).cloned() else {
            return Err(ApiError::not_found(res, &key.name));
        };
        if let Some(rv) = obj["metadata"]["resourceVersion"].as_str().filter(|s| !s.is_empty())
            && Some(rv) != old["metadata"]["resourceVersion"].as_str()
        {
            return Err(ApiError::conflict(
                res,
                &key.name,
                "the object has been modified; please apply your changes to the latest version and try again",
            ));
        }
        // Immutable metadata is the server's, whatever the client sent.
        for f in [
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "namespace",
            "name",
        ] {
            match old["metadata"].get(f) {
                Some(v) => obj["metadata"][f] = v.clone(),
                None => {
                    if let Some(m) = obj["metadata"].as_object_mut() {
                        m.remove(f);
                    }
                }
            }
        }
        obj["kind"] = json!(res.kind);
        obj["apiVersion"] = json!(res.api_version());
        if res.has_generation {
            let gen_old = old["metadata"]["generation"].as_i64().unwrap_or(1);
            let changed = old.get("spec") != obj.get("spec");
            obj["metadata"]["generation"] = json!(if changed { gen_old + 1 } else { gen_old });
        }
        if *old == obj {
            // A no-op write does not bump the resourceVersion (as the API server).
            return Ok(old);
        }
        if is_terminating(&obj) && !has_finalizers(&obj) && res.plural != "pods" {
            // The write that empties the finalizers of a terminating object is not
            // stored: the object is deleted instead (store.go Update,
            // shouldDeleteDuringUpdate + deleteWithoutFinalizers), so the DELETED event
            // carries the last stored state, finalizers and all
            // (watch-sts-orphan-delete-recreate.jsonl).
            return Ok(self.commit(&mut inner, EventType::Deleted, key.clone(), (*old).clone()));
        }
        Ok(self.commit(&mut inner, EventType::Modified, key.clone(), obj))
    }

    /// Read-modify-write without a precondition, for controllers. `f` may return an
    /// error to abort. Returns the stored object (unchanged if `f` changed nothing).
    pub fn modify(
        &self,
        key: &Key,
        f: impl FnOnce(&mut Value) -> Result<(), ApiError>,
    ) -> Result<Arc<Value>, ApiError> {
        let mut obj = {
            let inner = self.inner.lock().unwrap();
            match inner.objects.get(key) {
                Some(o) => (**o).clone(),
                None => return Err(ApiError::not_found(key.resource(), &key.name)),
            }
        };
        let rv = obj["metadata"]["resourceVersion"].clone();
        f(&mut obj)?;
        obj["metadata"]["resourceVersion"] = rv;
        match self.update(key, obj) {
            // Lost a race with another writer: retry on the fresh object.
            Err(e) if e.code == 409 => Err(e),
            r => r,
        }
    }

    /// Delete as the API server does. With finalizers, or for a pod that is bound to a
    /// node and given a grace period > 0, only mark it terminating (deletionTimestamp,
    /// deletionGracePeriodSeconds). Otherwise remove it now. `precondition_uid`/`_rv`
    /// implement DeleteOptions.preconditions.
    pub fn delete(
        &self,
        key: &Key,
        grace_seconds: Option<i64>,
        precondition_uid: Option<&str>,
        precondition_rv: Option<&str>,
    ) -> Result<Arc<Value>, ApiError> {
        self.delete_with(key, grace_seconds, precondition_uid, precondition_rv, None)
    }

    /// [`Store::delete`], adding `finalizer` (`orphan`, `foregroundDeletion`: the
    /// propagation policy's, deletionFinalizersForGarbageCollection) in the same write
    /// that marks the object terminating, as updateForGracefulDeletionAndFinalizers does.
    pub fn delete_with(
        &self,
        key: &Key,
        grace_seconds: Option<i64>,
        precondition_uid: Option<&str>,
        precondition_rv: Option<&str>,
        finalizer: Option<&str>,
    ) -> Result<Arc<Value>, ApiError> {
        let res = key.resource();
        let mut inner = self.inner.lock().unwrap();
        let Some(old) = inner.objects.get(key).cloned() else {
            return Err(ApiError::not_found(res, &key.name));
        };
        if let Some(uid) = precondition_uid
            && Some(uid) != old["metadata"]["uid"].as_str()
        {
            return Err(uid_precondition_failed(res, &key.name, uid, &old));
        }
        if let Some(rv) = precondition_rv
            && Some(rv) != old["metadata"]["resourceVersion"].as_str()
        {
            return Err(ApiError::conflict(
                res,
                &key.name,
                &format!(
                    "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                    old["metadata"]["resourceVersion"].as_str().unwrap_or("")
                ),
            ));
        }
        let mut obj = (*old).clone();
        if let Some(f) = finalizer
            && !is_terminating(&obj)
        {
            add_finalizer(&mut obj, f);
        }
        let graceful_pod = res.plural == "pods"
            && obj["spec"]["nodeName"].as_str().is_some_and(|n| !n.is_empty())
            && !matches!(obj["status"]["phase"].as_str(), Some("Succeeded" | "Failed"));
        let grace = grace_seconds
            .or_else(|| obj["spec"]["terminationGracePeriodSeconds"].as_i64())
            .unwrap_or(30);
        if graceful_pod && is_terminating(&obj) {
            // Already terminating: a second delete may only shorten the grace period
            // (rest.BeforeDelete): deletionTimestamp becomes now + grace, written as a
            // MODIFIED; at grace 0 the object is then removed (store.go Delete,
            // deleteImmediately), so watchers see MODIFIED then DELETED (watch-pods.jsonl).
            let cur = obj["metadata"]["deletionGracePeriodSeconds"].as_i64().unwrap_or(grace);
            if grace >= cur {
                return Ok(old);
            }
            // The deadline moves by the difference (BeforeDelete: old deletionTimestamp
            // - old grace + new grace), so grace 0 gives the time of the first delete
            // (watch-pods-sigterm-ignored.jsonl).
            let moved = obj["metadata"]["deletionTimestamp"]
                .as_str()
                .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                .map(|t| t + jiff::SignedDuration::from_secs(grace - cur));
            obj["metadata"]["deletionTimestamp"] = match moved {
                Some(t) => json!(t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()),
                None => json!(rfc3339_in(grace)),
            };
            obj["metadata"]["deletionGracePeriodSeconds"] = json!(grace);
            let out = self.commit(&mut inner, EventType::Modified, key.clone(), obj.clone());
            if grace > 0 || has_finalizers(&obj) {
                return Ok(out);
            }
            return Ok(self.commit(&mut inner, EventType::Deleted, key.clone(), obj));
        }
        if has_finalizers(&obj) || (graceful_pod && grace > 0) {
            if is_terminating(&obj) {
                return Ok(old);
            }
            // A pod's deletionTimestamp is when its grace period ends (BeforeDelete:
            // now + gracePeriodSeconds); other objects' is now, and their generation
            // moves on (store.go markAsDeleting).
            obj["metadata"]["deletionTimestamp"] = json!(rfc3339_in(if graceful_pod { grace } else { 0 }));
            obj["metadata"]["deletionGracePeriodSeconds"] = json!(if graceful_pod { grace } else { 0 });
            if let Some(g) = obj["metadata"]["generation"].as_i64().filter(|_| !graceful_pod) {
                obj["metadata"]["generation"] = json!(g + 1);
            }
            return Ok(self.commit(&mut inner, EventType::Modified, key.clone(), obj));
        }
        Ok(self.commit(&mut inner, EventType::Deleted, key.clone(), obj))
    }

    /// Remove an object now, whatever its finalizers or grace period (the kubelet's
    /// final delete of a terminated pod, the garbage collector's last step).
    pub fn remove(&self, key: &Key) -> Option<Arc<Value>> {
        let mut inner = self.inner.lock().unwrap();
        let old = inner.objects.get(key).cloned()?;
        Some(self.commit(&mut inner, EventType::Deleted, key.clone(), (*old).clone()))
    }

    /// Start a watch of every write after `from_rv` (None: from now). Filtering by
    /// resource, namespace and selectors is the caller's. Errors with 410 Gone
    /// (`Expired`) when `from_rv` is older than the retained history.
    pub fn watch_from(&self, from_rv: Option<u64>) -> Result<WatchStart, ApiError> {
        let inner = self.inner.lock().unwrap();
        let rx = self.tx.subscribe();
        let backlog = match from_rv {
            None => Vec::new(),
            Some(rv) if rv < inner.oldest_watchable && rv < inner.rv => {
                return Err(ApiError::expired(rv, inner.oldest_watchable));
            }
            Some(rv) => inner.history.iter().filter(|e| e.rv > rv).cloned().collect(),
        };
        Ok(WatchStart {
            backlog,
            rx,
            rv: inner.rv,
        })
    }

    /// A receiver of every write from now on (for controllers).
    pub fn subscribe(&self) -> broadcast::Receiver<WatchEvent> {
        self.tx.subscribe()
    }

    /// Wait until `f` gives a value, asking again after every write (for tests and
    /// demos: no polling); `None` after `timeout`.
    pub async fn wait_for<T>(&self, timeout: std::time::Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
        let mut rx = self.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(t) = f() {
                return Some(t);
            }
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Ok(_)) | Ok(Err(broadcast::error::RecvError::Lagged(_))) => {}
                Ok(Err(broadcast::error::RecvError::Closed)) | Err(_) => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys sort exactly as their etcd paths (`<namespace>/<name>` as bytes) do.
    #[test]
    fn keys_order_as_etcd_paths() {
        let parts = [
            "", "a", "a-b", "a.b", "a0", "ab", "b", "web", "web-1", "web-10", "web-1x",
        ];
        let mut keys = Vec::new();
        for ns in parts {
            for name in parts.iter().filter(|n| !n.is_empty()) {
                keys.push(Key {
                    plural: "pods",
                    namespace: ns.to_string(),
                    name: name.to_string(),
                });
            }
        }
        for a in &keys {
            for b in &keys {
                let want = format!("{}/{}", a.namespace, a.name).cmp(&format!("{}/{}", b.namespace, b.name));
                assert_eq!(a.cmp(b), want, "{a:?} vs {b:?}");
            }
        }
    }
}
