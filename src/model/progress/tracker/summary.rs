//! What the tracker reports once a scale ends: per-ordinal timings and PVC outcomes
//! (the ScaleReport's `ordinals` and `pvcs`), and each ordinal's transition as the
//! explanations (model::explain) read it.

use jiff::Timestamp;
use serde::Serialize;

use super::*;

impl Progress {
    /// Per-ordinal timings and PVC outcomes for the final report.
    pub fn summary(&self) -> ScaleSummary {
        let mut ordinals = Vec::new();
        let mut pvcs = PvcSummary::default();
        for r in &self.rows {
            let t = self.tracks.get(&r.ordinal);
            let ts = |f: fn(&Track) -> Option<Timestamp>| t.and_then(f);
            let created = ts(|t| t.created_at).filter(|c| *c > self.started_at);
            let ready = ts(|t| {
                if t.available_at.is_some() {
                    t.available_at
                } else {
                    t.ready_at
                }
            });
            let terminating = ts(|t| t.terminating_at);
            let gone = ts(|t| t.gone_at);
            let duration = match r.role {
                Role::Removing => gone.map(|g| g.duration_since(terminating.unwrap_or(self.started_at))),
                _ => match (created, ready) {
                    (Some(c), Some(rd)) if rd >= c => Some(rd.duration_since(c)),
                    _ => None,
                },
            };
            ordinals.push(OrdinalSummary {
                row: r.clone(),
                created_at: created.map(|t| t.to_string()),
                ready_at: ready.filter(|t| *t > self.started_at).map(|t| t.to_string()),
                terminating_at: terminating.map(|t| t.to_string()),
                gone_at: gone.filter(|_| r.state == PodState::Absent).map(|t| t.to_string()),
                since_start_seconds: match r.role {
                    Role::Removing => gone.map(|g| secs_f(g.duration_since(self.started_at))),
                    _ => ready
                        .filter(|t| *t > self.started_at)
                        .map(|t| secs_f(t.duration_since(self.started_at))),
                },
                duration_seconds: duration.map(secs_f),
                phases: Vec::new(),
            });
            for c in &r.claims {
                match c.state {
                    ClaimState::New => pvcs.created.push(c.clone()),
                    ClaimState::Reused | ClaimState::ReusedOtherVolume => pvcs.reused.push(c.clone()),
                    ClaimState::Kept | ClaimState::Deleting => pvcs.left_behind.push(LeftBehind {
                        ordinal: r.ordinal,
                        name: c.name.clone(),
                        volume: c.volume.clone(),
                        will_be_deleted: c.state == ClaimState::Deleting,
                    }),
                    ClaimState::Deleted => pvcs.deleted.push(c.clone()),
                    _ => {}
                }
            }
        }
        ScaleSummary {
            ordinals,
            pvcs,
            violations: self.violations.clone(),
        }
    }
}

impl Progress {
    /// What one ordinal went through since the scale began: created (and on to Ready)
    /// when added, terminating -> gone when removed; None when unchanged.
    pub fn transition_of(&self, ordinal: i32) -> Option<crate::model::explain::View<'_>> {
        let t = self.tracks.get(&ordinal)?;
        let role = self.role(ordinal);
        let since = |x: Option<Timestamp>| {
            x.filter(|x| *x >= self.started_at)
                .map(|x| x.duration_since(self.started_at).unsigned_abs())
        };
        let marks = crate::model::explain::Marks {
            gone: since(t.gone_at),
            created: since(t.created_at),
            scheduled: since(t.seen.scheduled_at),
            running: since(t.running_at),
            ready: since(t.available_at.or(t.ready_at)),
        };
        let removing = role == Role::Removing;
        match role {
            Role::Unchanged => None,
            _ if !removing && marks.created.is_none() && t.state != PodState::Absent => None,
            _ => Some(crate::model::explain::View {
                marks,
                deletes: removing,
                recreates: !removing,
                old_first: t.seen.old_first.as_ref().filter(|_| removing),
                old_last: t.seen.old_last.as_ref().filter(|_| removing),
                new: t.seen.latest.as_ref().filter(|_| !removing),
            }),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScaleSummary {
    pub ordinals: Vec<OrdinalSummary>,
    pub pvcs: PvcSummary,
    pub violations: Vec<Violation>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrdinalSummary {
    #[serde(flatten)]
    pub row: OrdinalRow,
    /// When the pod was seen created (RFC 3339), if during this scale.
    pub created_at: Option<String>,
    /// When it was seen Ready (Available with minReadySeconds), if during this scale.
    pub ready_at: Option<String>,
    pub terminating_at: Option<String>,
    pub gone_at: Option<String>,
    /// Created -> Ready/Available for ordinals in range; terminating -> gone for removed ones.
    pub duration_seconds: Option<f64>,
    /// From the scale request until this ordinal reached its goal.
    pub since_start_seconds: Option<f64>,
    /// Where the time went (docs/json-schemas.md, "Phases"); empty for unchanged ordinals.
    pub phases: Vec<crate::model::explain::PhaseReport>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PvcSummary {
    pub created: Vec<ClaimRow>,
    pub reused: Vec<ClaimRow>,
    /// PVCs of removed ordinals still present, and whether Kubernetes will delete them.
    pub left_behind: Vec<LeftBehind>,
    pub deleted: Vec<ClaimRow>,
}
