//! Ordinals and the names derived from them.
//!
//! A StatefulSet with `replicas = r` and `spec.ordinals.start = s` owns ordinals
//! `[s, s + r)` (KEP-3335; `getStartOrdinal`/`getEndOrdinal` in
//! pkg/controller/statefulset/stateful_set_utils.go). Its pods are `<sts>-<ordinal>`
//! and its claims `<template>-<sts>-<ordinal>` (`getPersistentVolumeClaimName`).
//! Names are matched whole and in canonical decimal form, never by prefix: `web-1` is not
//! `web-10`, `data-web-1` is not `data-web-10`, and `web-01` is no pod of `web`.

use std::ops::Range;

/// The ordinals a StatefulSet should have pods for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrdinalRange {
    pub start: i32,
    pub replicas: i32,
}

impl OrdinalRange {
    pub fn new(start: i32, replicas: i32) -> OrdinalRange {
        OrdinalRange {
            start: start.max(0),
            replicas: replicas.max(0),
        }
    }

    /// One past the last ordinal, saturating rather than overflowing.
    pub fn end(&self) -> i32 {
        self.start.saturating_add(self.replicas)
    }

    pub fn range(&self) -> Range<i32> {
        self.start..self.end()
    }

    pub fn contains(&self, ordinal: i32) -> bool {
        self.range().contains(&ordinal)
    }

    pub fn is_empty(&self) -> bool {
        self.replicas == 0
    }
}

/// `<sts>-<ordinal>`.
pub fn pod_name(sts: &str, ordinal: i32) -> String {
    format!("{sts}-{ordinal}")
}

/// `<template>-<sts>-<ordinal>`.
pub fn claim_name(template: &str, sts: &str, ordinal: i32) -> String {
    format!("{template}-{sts}-{ordinal}")
}

/// A canonical non-negative decimal (`0`, `7`, `12`; not `07`, `+7`, ``) that fits i32.
pub fn parse_ordinal(s: &str) -> Option<i32> {
    let canonical = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    if canonical { s.parse().ok() } else { None }
}

/// The ordinal of `pod` if it is exactly `<sts>-<ordinal>`.
pub fn pod_ordinal(sts: &str, pod: &str) -> Option<i32> {
    pod.strip_prefix(sts)?.strip_prefix('-').and_then(parse_ordinal)
}

/// The ordinal of `pvc` if it is exactly `<template>-<sts>-<ordinal>`.
pub fn claim_ordinal(template: &str, sts: &str, pvc: &str) -> Option<i32> {
    pvc.strip_prefix(template)?
        .strip_prefix('-')?
        .strip_prefix(sts)?
        .strip_prefix('-')
        .and_then(parse_ordinal)
}

/// Every way to read `pvc` as `<template>-<sts>-<ordinal>` when neither the template nor
/// the StatefulSet is known (both may contain dashes): `(template, sts, ordinal)` for
/// each split point, shortest template first. `data-my-db-3` gives
/// `(data, my-db, 3)` and `(data-my, db, 3)`.
pub fn claim_name_splits(pvc: &str) -> Vec<(&str, &str, i32)> {
    let Some((head, ord)) = pvc.rsplit_once('-') else {
        return Vec::new();
    };
    let Some(ordinal) = parse_ordinal(ord) else {
        return Vec::new();
    };
    head.match_indices('-')
        .map(|(i, _)| (&head[..i], &head[i + 1..]))
        .filter(|(t, s)| !t.is_empty() && !s.is_empty())
        .map(|(t, s)| (t, s, ordinal))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_honours_start_ordinal() {
        let r = OrdinalRange::new(5, 3);
        assert_eq!(r.range().collect::<Vec<_>>(), vec![5, 6, 7]);
        assert!(!r.contains(4) && r.contains(5) && r.contains(7) && !r.contains(8));
        assert!(OrdinalRange::new(0, 0).is_empty());
        assert_eq!(OrdinalRange::new(i32::MAX - 1, 5).end(), i32::MAX);
    }

    #[test]
    fn pod_names_match_whole() {
        assert_eq!(pod_ordinal("web", "web-1"), Some(1));
        assert_eq!(pod_ordinal("web", "web-10"), Some(10));
        assert_eq!(pod_ordinal("web-1", "web-10"), None);
        assert_eq!(pod_ordinal("web", "web-01"), None);
        assert_eq!(pod_ordinal("web", "web-"), None);
        assert_eq!(pod_ordinal("web", "webx-1"), None);
        assert_eq!(pod_ordinal("web", "web-1-backup"), None);
        assert_eq!(pod_ordinal("my-web", "my-web-0"), Some(0));
        assert_eq!(pod_ordinal("web", "web-99999999999"), None);
    }

    #[test]
    fn claim_names_match_whole() {
        assert_eq!(claim_ordinal("data", "web", "data-web-1"), Some(1));
        assert_eq!(claim_ordinal("data", "web", "data-web-10"), Some(10));
        assert_eq!(claim_ordinal("data", "web-1", "data-web-10"), None);
        assert_eq!(claim_ordinal("data", "web", "data-web-1-backup"), None);
        assert_eq!(claim_ordinal("disk-ssd", "web", "disk-ssd-web-2"), Some(2));
        assert_eq!(claim_ordinal("disk", "ssd-web", "disk-ssd-web-2"), Some(2));
        assert_eq!(claim_name("disk-ssd", "web", 2), "disk-ssd-web-2");
    }

    #[test]
    fn splits_cover_dashed_names() {
        assert_eq!(
            claim_name_splits("data-my-db-3"),
            vec![("data", "my-db", 3), ("data-my", "db", 3)]
        );
        assert_eq!(claim_name_splits("data-web-1"), vec![("data", "web", 1)]);
        assert!(claim_name_splits("data-web-01").is_empty());
        assert!(claim_name_splits("web-1").is_empty());
        assert!(claim_name_splits("nodash").is_empty());
    }
}
