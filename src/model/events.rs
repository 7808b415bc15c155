//! What the live views and the JSON reports say happened to an ordinal, a claim or the
//! StatefulSet: one word each (`created`, `ready`, `stuck`, ...), as documented in
//! docs/json-schemas.md.

use serde::Serialize;

/// One kind of change, in the live lines (`TIME KIND/NAME EVENT ...`) and the reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ev {
    Available,
    Bound,
    Created,
    Deleted,
    Done,
    Gone,
    NotReady,
    Observed,
    OrderViolation,
    Ready,
    ReplicasChanged,
    Revision,
    Running,
    State,
    Stuck,
    Terminating,
    Updated,
    Waiting,
    WaitingForManualDelete,
}

impl Ev {
    /// The word of the live line and the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Ev::Available => "available",
            Ev::Bound => "bound",
            Ev::Created => "created",
            Ev::Deleted => "deleted",
            Ev::Done => "done",
            Ev::Gone => "gone",
            Ev::NotReady => "not-ready",
            Ev::Observed => "observed",
            Ev::OrderViolation => "order-violation",
            Ev::Ready => "ready",
            Ev::ReplicasChanged => "replicas-changed",
            Ev::Revision => "revision",
            Ev::Running => "running",
            Ev::State => "state",
            Ev::Stuck => "stuck",
            Ev::Terminating => "terminating",
            Ev::Updated => "updated",
            Ev::Waiting => "waiting",
            Ev::WaitingForManualDelete => "waiting-for-manual-delete",
        }
    }
}

impl std::fmt::Display for Ev {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
