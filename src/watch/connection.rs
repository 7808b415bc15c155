//! Is the API server still there? What the live views say when the connection drops.
//!
//! The watchers retry on their own (kube-runtime's backoff, up to 30 s between tries),
//! so a dropped connection is silent unless someone says so: an SRE watching a drill
//! for minutes with the control plane down saw nothing until the timeout. This folds
//! the merged watch stream into two notes, each said once:
//! - [`Note::Lost`] at the first watch or list that failed for connectivity (no HTTP
//!   answer at all, or 502/503/504 from a proxy or a restarting API server);
//! - [`Note::Restored`] at the first fresh answer: a watch listing everything again, or
//!   a probe (`GET /version`, with backoff, only while the connection is lost) that
//!   answers. A watch event is no proof (it may have been on its way before the break).
//!   `relisted` says whether the watches had to list everything again (their
//!   resourceVersion had expired), so the state was rebuilt, not resumed.
//!
//! No request is made while the connection is healthy.

use std::time::Duration;

use futures::stream::{BoxStream, StreamExt};
use jiff::Timestamp;

use super::{Change, Observed, Source, Tracked};

/// A change in connectivity.
#[derive(Debug, Clone, PartialEq)]
pub enum Note {
    Lost {
        at: Timestamp,
        /// The first error, on one line.
        cause: String,
    },
    Restored {
        at: Timestamp,
        /// How long it was down (from the first failure to now).
        after: Duration,
        /// The watches re-listed everything (state rebuilt), rather than resuming.
        relisted: bool,
    },
}

impl Note {
    /// The event of a live-view line.
    pub fn event(&self) -> crate::render::live::LiveEvent {
        match self {
            Note::Lost { .. } => crate::render::live::LiveEvent::ConnectionLost,
            Note::Restored { .. } => crate::render::live::LiveEvent::Reconnected,
        }
    }

    /// The line a live view prints (plain or on a terminal).
    pub fn line(&self) -> String {
        match self {
            Note::Lost { at, cause } => format!(
                "lost the connection to the API server at {}; retrying ({cause})",
                at.strftime("%H:%M:%S")
            ),
            Note::Restored { after, relisted, .. } => format!(
                "reconnected after {:.1}s; {}",
                after.as_secs_f64(),
                if *relisted {
                    "the watches listed everything again (their place had expired): state rebuilt"
                } else {
                    "the watches resumed where they were: nothing had to be rebuilt"
                }
            ),
        }
    }
}

/// Whether a watch error means the server could not be reached (rather than an answer
/// such as 403 or 410, which the server gave).
pub fn is_connectivity(code: Option<u16>) -> bool {
    matches!(code, None | Some(502..=504))
}

/// The connectivity state, folded from the tracked stream (pure).
#[derive(Debug, Default, Clone)]
pub struct Connectivity {
    lost_at: Option<Timestamp>,
    /// The watches that failed since the connection was lost: whatever one of them
    /// delivers next came from a new request, so it proves the server answers.
    failed: std::collections::BTreeSet<Source>,
    /// Outages seen so far, and their total length.
    pub outages: u32,
    pub down_for: Duration,
}

impl Connectivity {
    /// Count a note made elsewhere (the stream's own [`Connectivity`] made it).
    pub fn record(&mut self, n: &Note) {
        if let Note::Restored { after, .. } = n {
            self.outages += 1;
            self.down_for += *after;
        }
    }

    pub fn is_lost(&self) -> bool {
        self.lost_at.is_some()
    }

    /// The note this change makes, if any.
    pub fn observe(&mut self, t: &Tracked) -> Option<Note> {
        match &t.observed {
            Observed::Error {
                code, message, source, ..
            } if is_connectivity(*code) => match self.lost_at {
                Some(_) => {
                    self.failed.insert(*source);
                    None
                }
                None => {
                    self.failed.insert(*source);
                    self.lost_at = Some(t.at);
                    Some(Note::Lost {
                        at: t.at,
                        cause: innermost(message),
                    })
                }
            },
            // A change that arrives while the connection is lost may have been on its
            // way before it broke: only a fresh answer proves the server is back, i.e.
            // a complete (re)list, a change from a watch that failed and started again,
            // or the probe.
            Observed::Error { .. } | Observed::Connection(_) => None,
            other if is_list(other) => self.restored(t.at, true),
            _ if self.failed.contains(&t.source()) => self.restored(t.at, false),
            _ => None,
        }
    }

    /// A raw watcher's error (for code that does not use [`super::track`]).
    pub fn on_error(&mut self, at: Timestamp, e: &kube::runtime::watcher::Error) -> Option<Note> {
        let code = super::error_code(e);
        if !is_connectivity(code) || self.lost_at.is_some() {
            return None;
        }
        self.lost_at = Some(at);
        Some(Note::Lost {
            at,
            cause: innermost(&super::one_line_error(e)),
        })
    }

    /// The connection answered again (a complete re-list, or the probe went through).
    pub fn restored(&mut self, at: Timestamp, relisted: bool) -> Option<Note> {
        let since = self.lost_at.take()?;
        self.failed.clear();
        let after = at.duration_since(since).unsigned_abs();
        self.outages += 1;
        self.down_for += after;
        Some(Note::Restored { at, after, relisted })
    }
}

/// The innermost cause of an error chain on one line (`a: b: tcp connect error: Connection
/// refused (os error 111)` -> `tcp connect error: Connection refused (os error 111)`).
fn innermost(message: &str) -> String {
    let parts: Vec<&str> = message.split(": ").collect();
    let keep = parts.len().min(2);
    parts[parts.len() - keep..].join(": ")
}

fn is_list(o: &Observed) -> bool {
    matches!(
        o,
        Observed::StatefulSet(Change::Listed(_))
            | Observed::Pod(Change::Listed(_))
            | Observed::Pvc(Change::Listed(_))
            | Observed::Event(Change::Listed(_))
    )
}

/// The first wait between probes, doubling up to [`PROBE_MAX`].
const PROBE_FIRST: Duration = Duration::from_millis(500);
const PROBE_MAX: Duration = Duration::from_secs(5);

/// Resolves once `GET /version` answers, probing with backoff: it makes requests until
/// it resolves, so it runs only while the connection is lost (see [`Probe`]).
async fn answered(client: kube::Client) {
    let mut wait = PROBE_FIRST;
    loop {
        tokio::time::sleep(wait).await;
        if client.apiserver_version().await.is_ok() {
            return;
        }
        wait = (wait * 2).min(PROBE_MAX);
    }
}

/// The probe of a lost connection, kept across the iterations of a `select!` loop (so
/// the other watches' retries do not restart its backoff).
#[derive(Default)]
pub struct Probe {
    running: Option<std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>>,
}

impl Probe {
    /// Resolves when the server answers again. While `lost` is false it never resolves
    /// and makes no request.
    pub async fn answered(&mut self, client: &kube::Client, lost: bool) {
        if !lost {
            self.running = None;
            return std::future::pending().await;
        }
        let fut = self.running.get_or_insert_with(|| Box::pin(answered(client.clone())));
        fut.as_mut().await;
        self.running = None;
    }
}

/// `inner` with [`Observed::Connection`] notes woven in: each note comes right after
/// the change that caused it (the failing error), or before the first fresh answer.
/// While the connection is lost, [`answered`] probes it, so "reconnected" is said even
/// when nothing changes in the cluster.
pub fn with_notes(client: kube::Client, inner: BoxStream<'static, Tracked>) -> BoxStream<'static, Tracked> {
    struct St {
        inner: BoxStream<'static, Tracked>,
        conn: Connectivity,
        client: kube::Client,
        probe: Probe,
        pending: Option<Tracked>,
    }
    let st = St {
        inner,
        conn: Connectivity::default(),
        client,
        probe: Probe::default(),
        pending: None,
    };
    futures::stream::unfold(st, |mut st| async move {
        if let Some(t) = st.pending.take() {
            return Some((t, st));
        }
        let t = if st.conn.is_lost() {
            tokio::select! {
                t = st.inner.next() => t?,
                () = st.probe.answered(&st.client, true) => {
                    let at = Timestamp::now();
                    let note = st.conn.restored(at, false).expect("lost");
                    return Some((wrap(at, note), st));
                }
            }
        } else {
            st.inner.next().await?
        };
        match st.conn.observe(&t) {
            Some(note @ Note::Lost { .. }) => {
                st.pending = Some(wrap(t.at, note));
                Some((t, st))
            }
            Some(note @ Note::Restored { .. }) => {
                st.probe = Probe::default();
                let at = t.at;
                st.pending = Some(t);
                Some((wrap(at, note), st))
            }
            None => Some((t, st)),
        }
    })
    .boxed()
}

fn wrap(at: Timestamp, note: Note) -> Tracked {
    Tracked {
        at,
        observed: Observed::Connection(note),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watch::Source;

    fn at(secs: i64, o: Observed) -> Tracked {
        Tracked {
            at: Timestamp::from_second(secs).unwrap(),
            observed: o,
        }
    }

    fn err(code: Option<u16>) -> Observed {
        Observed::Error {
            source: Source::Pods,
            code,
            message: "tcp connect error: Connection refused".into(),
            ended: false,
        }
    }

    #[test]
    fn lost_once_then_restored_with_its_length() {
        let mut c = Connectivity::default();
        let lost = c.observe(&at(100, err(None))).expect("lost");
        assert!(
            lost.line().starts_with("lost the connection to the API server at "),
            "{}",
            lost.line()
        );
        assert!(
            lost.line()
                .ends_with("; retrying (tcp connect error: Connection refused)")
        );
        // Every watch fails in turn: said once.
        assert_eq!(c.observe(&at(101, err(None))), None);
        assert_eq!(c.observe(&at(102, err(Some(503)))), None);
        // A change that may have been on its way before the break (from a watch that
        // has not failed) proves nothing.
        assert_eq!(
            c.observe(&at(105, Observed::StatefulSet(Change::Applied(Default::default())))),
            None
        );
        let back = c.restored(Timestamp::from_second(112).unwrap(), false).unwrap();
        assert_eq!(
            back,
            Note::Restored {
                at: Timestamp::from_second(112).unwrap(),
                after: Duration::from_secs(12),
                relisted: false
            }
        );
        assert!(
            back.line().starts_with("reconnected after 12.0s; the watches resumed"),
            "{}",
            back.line()
        );
        assert_eq!((c.outages, c.down_for), (1, Duration::from_secs(12)));
        // Healthy again: an ordinary change says nothing.
        assert_eq!(
            c.observe(&at(113, Observed::Pod(Change::Applied(Default::default())))),
            None
        );
    }

    #[test]
    fn a_change_from_a_watch_that_failed_proves_the_server_is_back() {
        let mut c = Connectivity::default();
        c.observe(&at(0, err(None)));
        let back = c
            .observe(&at(2, Observed::Pod(Change::Applied(Default::default()))))
            .unwrap();
        assert!(matches!(back, Note::Restored { relisted: false, .. }), "{back:?}");
        assert!(!c.is_lost());
    }

    #[test]
    fn a_relist_says_the_state_was_rebuilt() {
        let mut c = Connectivity::default();
        c.observe(&at(0, err(None)));
        let back = c.observe(&at(3, Observed::Pod(Change::Listed(vec![])))).unwrap();
        assert!(matches!(back, Note::Restored { relisted: true, .. }));
        assert!(back.line().contains("state rebuilt"), "{}", back.line());
    }

    #[test]
    fn answers_from_the_server_are_not_connection_loss() {
        let mut c = Connectivity::default();
        for code in [403, 410, 401, 429, 500] {
            assert_eq!(c.observe(&at(0, err(Some(code)))), None, "{code}");
        }
        assert!(!c.is_lost());
        // A probe answer while healthy says nothing either.
        assert_eq!(c.restored(Timestamp::from_second(5).unwrap(), false), None);
    }
}
