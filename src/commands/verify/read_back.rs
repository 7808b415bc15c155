//! The read-back step: same PVC, same PV, and the marker reads back in the new pod.

use super::Ctx;
use super::cleanup::remaining_note;
use super::interrupted_msg;
use super::plan::DrillPlan;
use super::report::{MarkerState, PodDrill};
use crate::error::Result;
use crate::model::persistence::{self, ClaimSnapshot, ReadBack};

impl Ctx<'_> {
    /// Read every marker back and give each mount its verdict.
    pub(super) async fn read_back(&self, plan: &DrillPlan, drill: &mut PodDrill, nonces: &[String]) -> Result<()> {
        for (i, nonce) in nonces.iter().enumerate() {
            let Some(path) = drill.mounts[i].marker.clone() else {
                continue;
            };
            let after = match self.claim_state(&drill.mounts[i].pvc).await {
                Ok(s) => s,
                Err(e) => return Err(e),
            };
            let read = match self
                .intr
                .guard(self.read_marker(&plan.pod, &plan.container, &path))
                .await
            {
                None => ReadBack::Error("interrupted".into()),
                Some(Ok(r)) => r,
                Some(Err(e)) => ReadBack::Error(e.message),
            };
            let before = ClaimSnapshot {
                uid: drill.mounts[i].pvc_uid.clone(),
                volume: drill.mounts[i].pv.clone(),
                phase: Some("Bound".into()),
            };
            let (v, why) = persistence::verdict(nonce, &before, &after, &read);
            let m = &mut drill.mounts[i];
            m.pv_after = after.volume.clone();
            m.marker_state = match &read {
                ReadBack::Found(c) if c == nonce => MarkerState::Identical,
                ReadBack::Found(_) => MarkerState::Differs,
                ReadBack::Missing => MarkerState::Missing,
                ReadBack::Error(_) => MarkerState::Unreadable,
            };
            m.verdict = Some(v);
            m.reason = why;
        }
        if self.intr.fired() {
            self.cleanup(&plan.pod, &plan.container, drill).await;
            let msg = format!("interrupted while verifying {}{}", plan.pod, remaining_note(drill));
            return Err(interrupted_msg(msg));
        }
        Ok(())
    }
}
