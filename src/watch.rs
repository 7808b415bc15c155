//! Live tracking of one StatefulSet: one kube-runtime [`watcher`] each for the
//! StatefulSet itself (field selector `metadata.name`), its pods (its label selector),
//! the namespace's PVCs (kept when the name is exactly `<template>-<sts>-<ordinal>`)
//! and the namespace's Events (kept when about one of those pods or PVCs, or the
//! StatefulSet), merged into one stream of [`Tracked`] changes stamped with the time
//! they arrived.
//!
//! Each watcher lists once, then watches. A dropped watch resumes from the last
//! resourceVersion it saw; `410 Gone` (the resourceVersion was compacted away) makes it
//! list again, which arrives here as [`Change::Listed`] with the complete new set.
//! Errors are yielded (so a caller can show or count them) and the watcher retries
//! after kube-runtime's default exponential backoff (0.8 s doubling to 30 s, as
//! client-go's reflector). No polling anywhere: the number of requests does not
//! depend on how long anything takes.
//!
//! [`Snapshot`] folds the stream into the current objects and gives the pure model a
//! [`World`]. Used by `scale`; built to be reused by `rollout`.

use std::collections::BTreeMap;

use futures::stream::{self, BoxStream, Stream, StreamExt};
use jiff::Timestamp;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Event, PersistentVolumeClaim, Pod};
use kube::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, watcher};

use crate::model::ordinals::{claim_ordinal, pod_ordinal};

pub mod connection;
use crate::model::progress::World;

/// What to track.
#[derive(Debug, Clone)]
pub struct Scope {
    pub namespace: String,
    /// The StatefulSet's name.
    pub name: String,
    /// Its pod selector, as a label selector string (`app=nginx`).
    pub selector: String,
    /// Its volumeClaimTemplates names.
    pub claim_templates: Vec<String>,
    /// Also watch Events (for stuck causes). A 403 on Events ends only that watch.
    pub events: bool,
}

impl Scope {
    /// `<sts>-<ordinal>`, matched whole.
    pub fn is_pod(&self, name: &str) -> bool {
        pod_ordinal(&self.name, name).is_some()
    }

    /// `<template>-<sts>-<ordinal>` for one of the templates, matched whole.
    pub fn is_claim(&self, name: &str) -> bool {
        self.claim_templates
            .iter()
            .any(|t| claim_ordinal(t, &self.name, name).is_some())
    }

    /// An Event about the StatefulSet, one of its pods or one of its claims.
    pub fn is_relevant_event(&self, e: &Event) -> bool {
        let o = &e.involved_object;
        let name = o.name.as_deref().unwrap_or("");
        match o.kind.as_deref() {
            Some("Pod") => self.is_pod(name),
            Some("PersistentVolumeClaim") => self.is_claim(name),
            Some("StatefulSet") => name == self.name,
            _ => false,
        }
    }
}

/// Which watch a change came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    StatefulSet,
    Pods,
    Pvcs,
    Events,
}

/// A watch error as the one-line error of its API answer (for the errors retrying will
/// not heal: 401, 403, 404, or too many in a row).
pub fn watch_error(
    kube: &crate::kubeconfig::Kube,
    source: Source,
    code: Option<u16>,
    message: &str,
) -> crate::error::CliError {
    let target = crate::error::Target::new("watch", source.kind(), None, Some(&kube.namespace));
    let status = kube::core::Status::failure(message, "").with_code(code.unwrap_or(500));
    kube.error(&kube::Error::Api(Box::new(status)), target)
}

impl Source {
    /// The kind an error names: `statefulset`, `pod`, `persistentvolumeclaim`, `event`.
    pub fn kind(self) -> &'static str {
        match self {
            Source::StatefulSet => "statefulset",
            Source::Pods => "pod",
            Source::Pvcs => "persistentvolumeclaim",
            Source::Events => "event",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Source::StatefulSet => "statefulsets",
            Source::Pods => "pods",
            Source::Pvcs => "persistentvolumeclaims",
            Source::Events => "events",
        }
    }
}

/// One change to one kind of object.
#[derive(Debug, Clone)]
pub enum Change<K> {
    /// Added or modified.
    Applied(K),
    Deleted(K),
    /// A complete (re)list: replaces everything known of this kind. The first one
    /// is the initial list; later ones follow a `410 Gone`.
    Listed(Vec<K>),
}

#[derive(Debug, Clone)]
pub enum Observed {
    StatefulSet(Change<StatefulSet>),
    Pod(Change<Pod>),
    Pvc(Change<PersistentVolumeClaim>),
    Event(Change<Event>),
    /// A watch or list failed; the watcher retries after a backoff (410: re-lists).
    /// `ended`: this watch stopped for good (only Events, on 403).
    Error {
        source: Source,
        code: Option<u16>,
        message: String,
        ended: bool,
    },
    /// The connection to the API server was lost or is back (see [`connection`]).
    Connection(connection::Note),
}

/// A change and when it arrived.
#[derive(Debug, Clone)]
pub struct Tracked {
    pub at: Timestamp,
    pub observed: Observed,
}

impl Tracked {
    pub fn source(&self) -> Source {
        match &self.observed {
            Observed::StatefulSet(_) => Source::StatefulSet,
            Observed::Pod(_) => Source::Pods,
            Observed::Pvc(_) => Source::Pvcs,
            Observed::Event(_) => Source::Events,
            Observed::Error { source, .. } => *source,
            // Not about one watch; reported under the StatefulSet's.
            Observed::Connection(_) => Source::StatefulSet,
        }
    }
}

/// The HTTP status behind a watcher error, when there is one.
pub fn error_code(e: &watcher::Error) -> Option<u16> {
    match e {
        watcher::Error::InitialListFailed(k) | watcher::Error::WatchStartFailed(k) | watcher::Error::WatchFailed(k) => {
            match k {
                kube::Error::Api(s) => Some(s.code),
                _ => None,
            }
        }
        watcher::Error::WatchError(s) => Some(s.code),
        watcher::Error::NoResourceVersion => None,
    }
}

/// Start the watches; the stream never ends on its own (drop it to stop).
pub fn track(client: kube::Client, scope: &Scope) -> BoxStream<'static, Tracked> {
    let client_for_probe = client.clone();
    let ns = scope.namespace.as_str();
    let sts = watcher(
        Api::<StatefulSet>::namespaced(client.clone(), ns),
        watcher::Config::default().fields(&format!("metadata.name={}", scope.name)),
    );
    let name = scope.name.clone();
    let pods = watcher(
        Api::<Pod>::namespaced(client.clone(), ns),
        watcher::Config::default().labels(&scope.selector),
    );
    let pvcs = watcher(
        Api::<PersistentVolumeClaim>::namespaced(client.clone(), ns),
        watcher::Config::default(),
    );
    let s1 = scope.clone();
    let s2 = scope.clone();
    let mut streams = vec![
        typed(
            sts,
            Source::StatefulSet,
            move |s: &StatefulSet| s.metadata.name.as_deref() == Some(name.as_str()),
            Observed::StatefulSet,
            false,
        ),
        typed(
            pods,
            Source::Pods,
            move |p: &Pod| s1.is_pod(p.metadata.name.as_deref().unwrap_or("")),
            Observed::Pod,
            false,
        ),
        typed(
            pvcs,
            Source::Pvcs,
            move |c: &PersistentVolumeClaim| s2.is_claim(c.metadata.name.as_deref().unwrap_or("")),
            Observed::Pvc,
            false,
        ),
    ];
    if scope.events {
        let s3 = scope.clone();
        let events = watcher(Api::<Event>::namespaced(client, ns), watcher::Config::default());
        streams.push(typed(
            events,
            Source::Events,
            move |e: &Event| s3.is_relevant_event(e),
            Observed::Event,
            true,
        ));
    }
    connection::with_notes(client_for_probe, stream::select_all(streams).boxed())
}

struct TypedState<S, K, F> {
    inner: std::pin::Pin<Box<S>>,
    buffer: Option<Vec<K>>,
    keep: F,
    ended: bool,
}

/// One watcher, with backoff, filtered by `keep`, initial/re-lists gathered into one
/// [`Change::Listed`].
fn typed<K, S, F>(
    raw: S,
    source: Source,
    keep: F,
    wrap: fn(Change<K>) -> Observed,
    optional: bool,
) -> BoxStream<'static, Tracked>
where
    K: Send + 'static,
    S: Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static,
    F: Fn(&K) -> bool + Send + 'static,
{
    let state = TypedState {
        inner: Box::pin(raw.default_backoff()),
        buffer: None,
        keep,
        ended: false,
    };
    stream::unfold(state, move |mut st| async move {
        if st.ended {
            return None;
        }
        loop {
            let change = match st.inner.next().await? {
                Ok(watcher::Event::Init) => {
                    st.buffer = Some(Vec::new());
                    continue;
                }
                Ok(watcher::Event::InitApply(k)) => {
                    if (st.keep)(&k) {
                        st.buffer.get_or_insert_with(Vec::new).push(k);
                    }
                    continue;
                }
                Ok(watcher::Event::InitDone) => Change::Listed(st.buffer.take().unwrap_or_default()),
                Ok(watcher::Event::Apply(k)) if (st.keep)(&k) => Change::Applied(k),
                Ok(watcher::Event::Delete(k)) if (st.keep)(&k) => Change::Deleted(k),
                Ok(_) => continue,
                Err(e) => {
                    let code = error_code(&e);
                    let ended = optional && code == Some(403);
                    st.ended = ended;
                    let message = one_line_error(&e);
                    return Some((
                        Tracked {
                            at: Timestamp::now(),
                            observed: Observed::Error {
                                source,
                                code,
                                message,
                                ended,
                            },
                        },
                        st,
                    ));
                }
            };
            return Some((
                Tracked {
                    at: Timestamp::now(),
                    observed: wrap(change),
                },
                st,
            ));
        }
    })
    .boxed()
}

pub(crate) fn one_line_error(e: &watcher::Error) -> String {
    // An API status: its message only. kube's Display of these embeds the Rust Debug
    // of the whole Status (`Status { status: Some(Failure), ... }`), a raw dump.
    let status = match e {
        watcher::Error::InitialListFailed(kube::Error::Api(s))
        | watcher::Error::WatchStartFailed(kube::Error::Api(s))
        | watcher::Error::WatchFailed(kube::Error::Api(s)) => Some(s),
        watcher::Error::WatchError(s) => Some(s),
        _ => None,
    };
    if let Some(s) = status {
        return format!("{} ({} {})", s.message, s.code, s.reason)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
    }
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg = format!("{msg}: {s}");
        src = s.source();
    }
    msg.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// How the initial lists ended when they did not all arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncEnd {
    /// Every watch delivered its initial list.
    Synced,
    /// `deadline` came first.
    TimedOut,
    /// Ctrl-C came first.
    Interrupted,
}

/// Fold `stream` into `snap` until every watch has delivered its initial list. Errors
/// that retrying will not heal (401, 403, 404, or more than 5 on the watches that matter)
/// end it with the API answer's one-line error; a closed stdout ends it quietly.
pub async fn initial_sync(
    kube: &crate::kubeconfig::Kube,
    stream: &mut BoxStream<'static, Tracked>,
    snap: &mut Snapshot,
    deadline: tokio::time::Instant,
) -> crate::error::Result<SyncEnd> {
    use crate::error::{CliError, ErrorKind};
    let mut errors = 0usize;
    while !snap.synced() {
        let next = tokio::select! {
            n = stream.next() => n,
            _ = tokio::time::sleep_until(deadline) => return Ok(SyncEnd::TimedOut),
            stop = crate::interrupt::stop_watching() => {
                if stop == crate::interrupt::Stop::OutputClosed {
                    return Err(CliError::reported(ErrorKind::OutputClosed));
                }
                return Ok(SyncEnd::Interrupted);
            }
        };
        let Some(t) = next else {
            return Err(CliError::new(
                ErrorKind::Unreachable,
                "the watches ended before listing",
            ));
        };
        if let Observed::Error {
            source, code, message, ..
        } = &t.observed
            && *source != Source::Events
        {
            errors += 1;
            if matches!(code, Some(401 | 403 | 404)) || errors > 5 {
                return Err(watch_error(kube, *source, *code, message));
            }
        }
        snap.apply(&t);
    }
    Ok(SyncEnd::Synced)
}

/// The current objects, folded from a [`track`] stream.
#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    pub sts: Option<StatefulSet>,
    pub pods: BTreeMap<String, Pod>,
    pub pvcs: BTreeMap<String, PersistentVolumeClaim>,
    /// By Event name (the recorder bumps `count` on the same object).
    pub events: BTreeMap<String, Event>,
    listed: BTreeMap<Source, usize>,
    /// Errors seen per watch (retried).
    pub errors: BTreeMap<Source, usize>,
    /// Connection outages seen and how long they lasted.
    pub connection: connection::Connectivity,
    events_enabled: bool,
}

fn key<K: kube::Resource>(k: &K) -> String {
    k.meta().name.clone().unwrap_or_default()
}

fn fold<K: kube::Resource + Clone>(map: &mut BTreeMap<String, K>, change: &Change<K>) {
    match change {
        Change::Applied(k) => {
            map.insert(key(k), k.clone());
        }
        Change::Deleted(k) => {
            map.remove(&key(k));
        }
        Change::Listed(all) => {
            *map = all.iter().map(|k| (key(k), k.clone())).collect();
        }
    }
}

impl Snapshot {
    pub fn new(scope: &Scope) -> Snapshot {
        Snapshot {
            events_enabled: scope.events,
            ..Snapshot::default()
        }
    }

    pub fn apply(&mut self, t: &Tracked) {
        let listed = |m: &mut BTreeMap<Source, usize>, s: Source, is_list: bool| {
            if is_list {
                *m.entry(s).or_default() += 1;
            }
        };
        match &t.observed {
            Observed::StatefulSet(c) => {
                listed(&mut self.listed, Source::StatefulSet, matches!(c, Change::Listed(_)));
                match c {
                    Change::Applied(s) => self.sts = Some(s.clone()),
                    Change::Deleted(_) => self.sts = None,
                    Change::Listed(all) => self.sts = all.first().cloned(),
                }
            }
            Observed::Pod(c) => {
                listed(&mut self.listed, Source::Pods, matches!(c, Change::Listed(_)));
                fold(&mut self.pods, c);
            }
            Observed::Pvc(c) => {
                listed(&mut self.listed, Source::Pvcs, matches!(c, Change::Listed(_)));
                fold(&mut self.pvcs, c);
            }
            Observed::Event(c) => {
                listed(&mut self.listed, Source::Events, matches!(c, Change::Listed(_)));
                fold(&mut self.events, c);
            }
            Observed::Error { source, ended, .. } => {
                *self.errors.entry(*source).or_default() += 1;
                if *ended && *source == Source::Events {
                    self.events_enabled = false;
                }
            }
            Observed::Connection(n) => self.connection.record(n),
        }
    }

    /// Every watch has delivered its initial list.
    pub fn synced(&self) -> bool {
        let mut need = vec![Source::StatefulSet, Source::Pods, Source::Pvcs];
        if self.events_enabled {
            need.push(Source::Events);
        }
        need.iter().all(|s| self.listed.contains_key(s))
    }

    /// How many times `source` was listed (1 = only the initial list; more = re-lists after 410).
    pub fn lists(&self, source: Source) -> usize {
        self.listed.get(&source).copied().unwrap_or(0)
    }

    /// Whether Events are being watched (false after a 403 on them).
    pub fn events_enabled(&self) -> bool {
        self.events_enabled
    }

    pub fn world(&self) -> World<'_> {
        World {
            sts: self.sts.as_ref(),
            pods: self.pods.values().collect(),
            pvcs: self.pvcs.values().collect(),
            events: self.events.values().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope() -> Scope {
        Scope {
            namespace: "default".into(),
            name: "web".into(),
            selector: "app=nginx".into(),
            claim_templates: vec!["disk-ssd".into()],
            events: true,
        }
    }

    fn pod(name: &str) -> Pod {
        serde_json::from_value(json!({"metadata": {"name": name}})).unwrap()
    }

    fn at(o: Observed) -> Tracked {
        Tracked {
            at: Timestamp::UNIX_EPOCH,
            observed: o,
        }
    }

    #[test]
    fn names_match_whole() {
        let s = scope();
        assert!(s.is_pod("web-0") && !s.is_pod("web-x") && !s.is_pod("webapp-0"));
        assert!(s.is_claim("disk-ssd-web-10") && !s.is_claim("disk-ssd-web-1-old") && !s.is_claim("disk-web-1"));
        let e: Event = serde_json::from_value(json!({"metadata": {"name": "e"},
            "involvedObject": {"kind": "PersistentVolumeClaim", "name": "disk-ssd-web-2"}}))
        .unwrap();
        assert!(s.is_relevant_event(&e));
        let e: Event = serde_json::from_value(json!({"metadata": {"name": "e"},
            "involvedObject": {"kind": "Pod", "name": "other-0"}}))
        .unwrap();
        assert!(!s.is_relevant_event(&e));
    }

    #[test]
    fn snapshot_folds_lists_and_relists() {
        let sc = scope();
        let mut snap = Snapshot::new(&sc);
        snap.apply(&at(Observed::Pod(Change::Listed(vec![pod("web-0"), pod("web-1")]))));
        snap.apply(&at(Observed::Pvc(Change::Listed(vec![]))));
        snap.apply(&at(Observed::StatefulSet(Change::Listed(vec![]))));
        assert!(!snap.synced());
        snap.apply(&at(Observed::Event(Change::Listed(vec![]))));
        assert!(snap.synced());
        snap.apply(&at(Observed::Pod(Change::Applied(pod("web-2")))));
        snap.apply(&at(Observed::Pod(Change::Deleted(pod("web-0")))));
        assert_eq!(snap.pods.keys().collect::<Vec<_>>(), vec!["web-1", "web-2"]);
        // A re-list after 410 replaces the set: web-1 went away while we were not watching.
        snap.apply(&at(Observed::Pod(Change::Listed(vec![pod("web-2")]))));
        assert_eq!(snap.pods.keys().collect::<Vec<_>>(), vec!["web-2"]);
        assert_eq!(snap.lists(Source::Pods), 2);
    }

    #[test]
    fn forbidden_events_do_not_block_sync() {
        let sc = scope();
        let mut snap = Snapshot::new(&sc);
        snap.apply(&at(Observed::Pod(Change::Listed(vec![]))));
        snap.apply(&at(Observed::Pvc(Change::Listed(vec![]))));
        snap.apply(&at(Observed::StatefulSet(Change::Listed(vec![]))));
        snap.apply(&at(Observed::Error {
            source: Source::Events,
            code: Some(403),
            message: "forbidden".into(),
            ended: true,
        }));
        assert!(snap.synced());
        assert!(!snap.events_enabled());
    }
}
