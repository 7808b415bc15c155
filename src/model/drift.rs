//! Claim drift: a claim whose request, capacity, StorageClass or access modes differ
//! from the claim template it was made from, and what the next scale-out will create.
//!
//! Why it matters: claim templates are immutable and only apply to claims created
//! later (the StatefulSet controller's `getPersistentVolumeClaims` builds each new
//! claim from the template as it is then). After a hand-made PVC resize every later
//! scale-out creates claims at the **old** size; after a storage-class migration new
//! replicas get the **old** class; a resize that is half done (`Resizing`,
//! `FileSystemResizePending`) is drift until the capacity catches up.

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use serde::Serialize;

use crate::model::quantity::{claim_capacity, claim_request, format_bytes, parse_bytes};

/// One template as a new claim would get it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateSpec {
    pub name: String,
    pub request: Option<String>,
    pub storage_class: Option<String>,
    pub access_modes: Vec<String>,
}

/// The StatefulSet's claim templates.
pub fn templates(sts: &StatefulSet) -> Vec<TemplateSpec> {
    sts.spec
        .volume_claim_templates
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter_map(|t| {
            let spec = t.spec.as_ref();
            Some(TemplateSpec {
                name: t.metadata.name.clone()?,
                request: claim_request(t),
                storage_class: spec.and_then(|s| s.storage_class_name.clone()),
                access_modes: spec.and_then(|s| s.access_modes.clone()).unwrap_or_default(),
            })
        })
        .collect()
}

/// One way a claim differs from its template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Drift {
    /// `request`, `capacity` (a resize not finished), `storageClass` or `accessModes`.
    pub field: &'static str,
    pub claim: String,
    pub template: String,
    /// One sentence: what it means for the next scale-out, or what is pending.
    pub note: String,
}

/// The fields of a claim drift compares (lean, so the orphans audit can keep them
/// for 10,000 claims).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClaimFacts {
    pub request: Option<String>,
    pub capacity: Option<String>,
    pub storage_class: Option<String>,
    pub access_modes: Vec<String>,
    /// `Resizing` or `FileSystemResizePending` when that condition is True.
    pub resizing: Option<&'static str>,
    /// No pod uses it (a scaled-in leftover): a later scale-out reuses it as it is.
    pub leftover: bool,
    /// When the server's `Unused` condition (newer Kubernetes) turned True.
    pub unused_since: Option<String>,
}

impl ClaimFacts {
    pub fn of(c: &PersistentVolumeClaim) -> ClaimFacts {
        let spec = c.spec.as_ref();
        let conds = c
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_deref())
            .unwrap_or_default();
        let on = |t: &str| conds.iter().any(|x| x.status == "True" && x.type_ == t);
        ClaimFacts {
            request: claim_request(c),
            capacity: claim_capacity(c),
            storage_class: spec.and_then(|s| s.storage_class_name.clone()),
            access_modes: spec.and_then(|s| s.access_modes.clone()).unwrap_or_default(),
            resizing: if on("FileSystemResizePending") {
                Some("FileSystemResizePending")
            } else if on("Resizing") {
                Some("Resizing")
            } else {
                None
            },
            leftover: false,
            unused_since: conds
                .iter()
                .find(|x| x.type_ == "Unused" && x.status == "True")
                .and_then(|x| x.last_transition_time.as_ref())
                .map(|t| t.0.to_string()),
        }
    }
}

/// How `claim` differs from `t`.
pub fn claim_drift(t: &TemplateSpec, c: &PersistentVolumeClaim) -> Vec<Drift> {
    drift_of(t, &ClaimFacts::of(c))
}

/// How a claim with these facts differs from `t`.
pub fn drift_of(t: &TemplateSpec, c: &ClaimFacts) -> Vec<Drift> {
    let mut out = Vec::new();
    let (rb, tb) = (
        c.request.as_deref().and_then(parse_bytes),
        t.request.as_deref().and_then(parse_bytes),
    );
    if let (Some(r), Some(tt)) = (rb, tb)
        && r != tt
    {
        out.push(Drift {
            field: "request",
            claim: format_bytes(r),
            template: format_bytes(tt),
            note: request_note(t, r, tt, c.leftover),
        });
    }
    if let (Some(r), Some(cap)) = (rb, c.capacity.as_deref().and_then(parse_bytes))
        && cap < r
    {
        out.push(Drift {
            field: "capacity",
            claim: format_bytes(cap),
            template: format_bytes(r),
            note: match c.resizing {
                Some("FileSystemResizePending") => "a resize is half done: the volume grew, the filesystem waits for the pod to mount it (FileSystemResizePending)".into(),
                Some(_) => "a resize is in progress (Resizing)".into(),
                None => format!("the capacity has not caught up with the {} requested", format_bytes(r)),
            },
        });
    }
    if let Some(tc) = &t.storage_class
        && c.storage_class.as_ref().is_some_and(|x| x != tc)
    {
        out.push(Drift {
            field: "storageClass",
            claim: c.storage_class.clone().unwrap_or_default(),
            template: tc.clone(),
            note: format!("the claim was moved to another class; new replicas still get {tc}: change the template too"),
        });
    }
    if !t.access_modes.is_empty() && !c.access_modes.is_empty() && sorted(&c.access_modes) != sorted(&t.access_modes) {
        out.push(Drift {
            field: "accessModes",
            claim: c.access_modes.join(","),
            template: t.access_modes.join(","),
            note: format!("new replicas get {}", t.access_modes.join(",")),
        });
    }
    out
}

fn request_note(t: &TemplateSpec, r: u128, tt: u128, leftover: bool) -> String {
    match (leftover, r > tt) {
        (true, false) => format!(
            "a later scale-out reuses this claim at {}, not the template's {}: grow it (kubectl sts resize)",
            format_bytes(r),
            format_bytes(tt)
        ),
        (true, true) => format!(
            "a later scale-out reuses this claim at {}, more than the template's {}",
            format_bytes(r),
            format_bytes(tt)
        ),
        (false, true) => format!(
            "the claim was grown by hand; the next scale-out creates {} claims at the template's {}: resize the template too (kubectl sts resize)",
            t.name,
            format_bytes(tt)
        ),
        (false, false) => format!(
            "the claim is smaller than the template's {}: grow it (kubectl sts resize)",
            format_bytes(tt)
        ),
    }
}

fn sorted(v: &[String]) -> Vec<String> {
    let mut v = v.to_vec();
    v.sort();
    v
}

/// The header line: how many claims drift, and what the next scale-out creates.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DriftSummary {
    /// Claims with any drift.
    pub claims: usize,
    /// Per template that some claim drifts from: what a scale-out creates, e.g.
    /// `a scale-out creates data claims at 20Gi (alicloud-disk-ssd); 3 claims request 30Gi`.
    pub next_scale_out: Vec<String>,
}

/// Summarise the drift of every claim (template name, drifts).
pub fn summarize(templates: &[TemplateSpec], per_claim: &[(String, Vec<Drift>)]) -> DriftSummary {
    let claims = per_claim.iter().filter(|(_, d)| !d.is_empty()).count();
    let next_scale_out = templates
        .iter()
        .filter_map(|t| {
            let drifting: Vec<&Drift> = per_claim
                .iter()
                .filter(|(tn, _)| *tn == t.name)
                .flat_map(|(_, d)| d.iter().filter(|x| x.field == "request" || x.field == "storageClass"))
                .collect();
            if drifting.is_empty() {
                return None;
            }
            let mut sizes: Vec<String> = drifting.iter().map(|d| d.claim.clone()).collect();
            sizes.sort();
            sizes.dedup();
            Some(format!(
                "a scale-out creates {} claims at {}{}; {} claim(s) differ ({})",
                t.name,
                t.request.as_deref().unwrap_or("?"),
                t.storage_class
                    .as_deref()
                    .map(|c| format!(" ({c})"))
                    .unwrap_or_default(),
                drifting.len(),
                sizes.join(", ")
            ))
        })
        .collect();
    DriftSummary { claims, next_scale_out }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t() -> TemplateSpec {
        TemplateSpec {
            name: "data".into(),
            request: Some("20Gi".into()),
            storage_class: Some("ssd".into()),
            access_modes: vec!["ReadWriteOnce".into()],
        }
    }

    fn pvc(req: &str, cap: &str, class: &str, conds: serde_json::Value) -> PersistentVolumeClaim {
        serde_json::from_value(json!({"metadata": {"name": "data-web-0"},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": class, "resources": {"requests": {"storage": req}}},
            "status": {"phase": "Bound", "capacity": {"storage": cap}, "conditions": conds}}))
        .unwrap()
    }

    #[test]
    fn a_hand_resized_claim_predicts_the_next_scale_out_at_the_old_size() {
        let d = claim_drift(&t(), &pvc("30Gi", "30Gi", "ssd", json!([])));
        assert_eq!(d.len(), 1);
        assert_eq!(
            (d[0].field, d[0].claim.as_str(), d[0].template.as_str()),
            ("request", "30Gi", "20Gi")
        );
        assert!(
            d[0].note
                .contains("next scale-out creates data claims at the template's 20Gi"),
            "{}",
            d[0].note
        );
        let s = summarize(&[t()], &[("data".into(), d)]);
        assert_eq!(s.claims, 1);
        assert_eq!(
            s.next_scale_out,
            ["a scale-out creates data claims at 20Gi (ssd); 1 claim(s) differ (30Gi)"]
        );
    }

    #[test]
    fn a_leftover_smaller_than_the_template_comes_back_small() {
        let mut c = ClaimFacts::of(&pvc("20Gi", "20Gi", "ssd", json!([])));
        c.leftover = true;
        let mut big = t();
        big.request = Some("30Gi".into());
        let d = drift_of(&big, &c);
        assert!(
            d[0].note
                .starts_with("a later scale-out reuses this claim at 20Gi, not the template's 30Gi"),
            "{}",
            d[0].note
        );
    }

    #[test]
    fn a_half_done_resize_and_a_class_migration_are_drift() {
        let c = pvc(
            "30Gi",
            "20Gi",
            "ssd",
            json!([{"type": "FileSystemResizePending", "status": "True"}]),
        );
        let d = claim_drift(&t(), &c);
        assert_eq!(d.iter().map(|x| x.field).collect::<Vec<_>>(), ["request", "capacity"]);
        assert!(d[1].note.contains("FileSystemResizePending"), "{}", d[1].note);
        let d = claim_drift(&t(), &pvc("20Gi", "20Gi", "fast", json!([])));
        assert_eq!(d.iter().map(|x| x.field).collect::<Vec<_>>(), ["storageClass"]);
        assert!(
            claim_drift(&t(), &pvc("20Gi", "20Gi", "ssd", json!([]))).is_empty(),
            "no drift"
        );
    }
}
