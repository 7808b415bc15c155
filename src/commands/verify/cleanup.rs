//! The clean-up step: remove the markers (or, with `--keep-marker` or when the pod
//! cannot run commands, list them as remaining).

use super::Ctx;
use super::plan::DrillPlan;
use super::report::{MarkerLeft, MountResult, PodDrill};

impl Ctx<'_> {
    /// After the verdicts: remove the markers unless `--keep-marker`, and warn about any
    /// that could not be removed.
    pub(super) async fn finish_markers(&self, plan: &DrillPlan, drill: &mut PodDrill) {
        if self.args.keep_marker {
            self.note_remaining(drill);
        } else {
            self.cleanup(&plan.pod, &plan.container, drill).await;
            // The verdict stands, but a file we wrote is still there: say so on stderr
            // too (with -o json stdout is only the report).
            for m in &drill.markers_remaining {
                crate::errln!(
                    "warning: could not remove the marker {} on PVC {} ({} in the volume): remove it by hand",
                    m.path,
                    m.pvc,
                    m.path_in_volume
                );
            }
        }
    }

    /// Remove every marker that may be on a volume. Not interruptible: a first Ctrl-C
    /// lets it finish (that is what keeps volumes clean); a second exits at once and
    /// names what is left.
    pub(super) async fn cleanup(&self, pod: &str, container: &str, drill: &mut PodDrill) {
        for i in 0..drill.mounts.len() {
            let m = &drill.mounts[i];
            let Some(path) = m.marker.clone() else { continue };
            if !m.marker_state.may_be_on_volume() {
                continue;
            }
            self.live
                .status(&format!("{pod}: removing the marker {path} (PVC {})", m.pvc));
            let ok = matches!(
                self.exec(pod, container, &["rm", "-f", &path]).await,
                Ok(out) if out.success()
            );
            if ok {
                self.intr.removed(pod, &path);
            } else {
                drill.markers_remaining.push(marker_left(&drill.mounts[i], &path));
            }
        }
    }

    pub(super) fn note_remaining(&self, drill: &mut PodDrill) {
        for m in &drill.mounts {
            if let Some(path) = &m.marker
                && m.marker_state.may_be_on_volume()
            {
                drill.markers_remaining.push(marker_left(m, path));
            }
        }
    }
}

pub(super) fn marker_left(m: &MountResult, path: &str) -> MarkerLeft {
    let name = path.rsplit('/').next().unwrap_or(path);
    MarkerLeft {
        pvc: m.pvc.clone(),
        pv: m.pv.clone(),
        path: path.to_string(),
        path_in_volume: match &m.sub_path {
            Some(sp) => format!("{}/{name}", sp.trim_end_matches('/')),
            None => name.to_string(),
        },
    }
}

pub(super) fn remaining_note(drill: &PodDrill) -> String {
    if drill.markers_remaining.is_empty() {
        return String::new();
    }
    let list: Vec<String> = drill
        .markers_remaining
        .iter()
        .map(|m| format!("{} on PVC {}", m.path_in_volume, m.pvc))
        .collect();
    format!("; marker files remain: {} (remove them by hand)", list.join(", "))
}
