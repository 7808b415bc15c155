//! Property tests over the pure model: for arbitrary names, start ordinals and replica
//! counts, name parsing never misclassifies (`web-1` is never `web-10`'s, a claim of
//! one set is never another's) and ordinal ranges are exactly `[start, start+replicas)`;
//! the parsers for user input (durations, quantities) never panic and round-trip.

use kubectl_sts::model::claims::{ClaimInfo, Inventory, PodInfo, Reason, SetInfo, classify};
use kubectl_sts::model::duration::parse_kubectl_duration;
use kubectl_sts::model::ordinals::{
    OrdinalRange, claim_name, claim_name_splits, claim_ordinal, parse_ordinal, pod_name, pod_ordinal,
};
use kubectl_sts::model::quantity::{format_bytes, parse_bytes};
use kubectl_sts::model::statefulset::{Retention, RetentionPolicy};
use proptest::prelude::*;
use std::time::Duration;

/// DNS-1123 label-like names, dashes included (where prefix confusion lives).
fn name() -> impl Strategy<Value = String> {
    "[a-z]([a-z0-9-]{0,12}[a-z0-9])?"
}

fn ordinal() -> impl Strategy<Value = i32> {
    prop_oneof![0..20i32, 0..=i32::MAX]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn pod_names_round_trip(sts in name(), o in ordinal()) {
        prop_assert_eq!(pod_ordinal(&sts, &pod_name(&sts, o)), Some(o));
    }

    /// Whatever the string, an ordinal is only ever read from exactly `<sts>-<ordinal>`.
    #[test]
    fn pod_ordinal_is_exact(sts in name(), other in "[a-z0-9-]{0,24}") {
        if let Some(o) = pod_ordinal(&sts, &other) {
            prop_assert_eq!(pod_name(&sts, o), other);
        }
    }

    /// Another set's pod (e.g. `web-1`'s `web-1-0` seen from `web`) is never ours.
    #[test]
    fn pods_of_other_sets_are_never_ours(a in name(), b in name(), o in ordinal()) {
        prop_assume!(a != b);
        let pod = pod_name(&b, o);
        if let Some(x) = pod_ordinal(&a, &pod) {
            // Only possible when the names coincide textually, and then it is exact.
            prop_assert_eq!(pod_name(&a, x), pod);
        }
    }

    #[test]
    fn claim_names_round_trip_and_split(t in name(), s in name(), o in ordinal()) {
        let c = claim_name(&t, &s, o);
        prop_assert_eq!(claim_ordinal(&t, &s, &c), Some(o));
        let splits = claim_name_splits(&c);
        prop_assert!(splits.contains(&(t.as_str(), s.as_str(), o)), "{:?}", splits);
        for (t2, s2, o2) in splits {
            prop_assert_eq!(claim_name(t2, s2, o2), c.clone());
        }
    }

    #[test]
    fn claim_ordinal_is_exact(t in name(), s in name(), other in "[a-z0-9-]{0,30}") {
        if let Some(o) = claim_ordinal(&t, &s, &other) {
            prop_assert_eq!(claim_name(&t, &s, o), other);
        }
    }

    #[test]
    fn ordinals_are_canonical(s in "\\PC{0,12}") {
        if let Some(o) = parse_ordinal(&s) {
            prop_assert_eq!(o.to_string(), s);
        }
    }

    #[test]
    fn ordinal_ranges_are_start_to_start_plus_replicas(start in any::<i32>(), replicas in any::<i32>(), o in any::<i32>()) {
        let r = OrdinalRange::new(start, replicas);
        let lo = i64::from(start.max(0));
        let hi = (lo + i64::from(replicas.max(0))).min(i64::from(i32::MAX));
        prop_assert_eq!(r.contains(o), lo <= i64::from(o) && i64::from(o) < hi);
        prop_assert_eq!(i64::from(r.end()), hi);
        prop_assert_eq!(r.is_empty(), replicas <= 0);
    }

    /// Two live sets whose names share a prefix (`s` and `s-k`), same template, claims
    /// for ordinals in and out of range: every claim goes to the right set, scaled-in
    /// exactly when its ordinal is outside that set's range, in-use when mounted, and
    /// nothing mounted is ever prunable.
    #[test]
    fn claims_are_classified_by_their_own_set(
        t in name(),
        s in name(),
        k in 0..30i32,
        start in prop_oneof![Just(0i32), 0..10i32],
        replicas in 0..6i32,
        start2 in 0..4i32,
        replicas2 in 0..4i32,
        ords in proptest::collection::btree_set(0..20i32, 1..8),
        mounted in proptest::collection::btree_set(0..20i32, 0..3),
    ) {
        let s2 = format!("{s}-{k}");
        let set = |name: &str, uid: &str, start: i32, replicas: i32| SetInfo {
            namespace: "ns".into(),
            name: name.into(),
            uid: uid.into(),
            templates: vec![t.clone()],
            range: OrdinalRange::new(start, replicas),
            retention: RetentionPolicy { when_deleted: Retention::Retain, when_scaled: Retention::Retain },
            deleting: false,
            claim_specs: Vec::new(),
        };
        let claim = |set: &str, o: i32| ClaimInfo {
            namespace: "ns".into(),
            name: claim_name(&t, set, o),
            uid: format!("uid-{set}-{o}"),
            phase: Some("Bound".into()),
            ..ClaimInfo::default()
        };
        let mut claims = Vec::new();
        for &o in &ords {
            claims.push((s.clone(), o, claim(&s, o)));
            claims.push((s2.clone(), o, claim(&s2, o)));
        }
        let pods: Vec<PodInfo> = mounted
            .iter()
            .map(|&o| PodInfo {
                namespace: "ns".into(),
                name: pod_name(&s, o),
                uid: format!("pod-{o}"),
                deleting: false,
                claims: vec![claim_name(&t, &s, o)],
            })
            .collect();
        let inv = Inventory {
            sets: vec![set(&s, "u1", start, replicas), set(&s2, "u2", start2, replicas2)],
            claims: claims.iter().map(|(_, _, c)| c.clone()).collect(),
            pods,
            volumes: Some(vec![]),
            events: vec![],
        };
        let findings = classify(&inv);
        prop_assert_eq!(findings.len(), claims.len());
        for (f, (owner, o, c)) in findings.iter().zip(&claims) {
            prop_assert_eq!(&f.claim.name, &c.name);
            let is_mounted = owner == &s && mounted.contains(o);
            if is_mounted {
                prop_assert_eq!(f.reason, Reason::InUse, "{}", c.name);
                prop_assert!(!f.prunable());
                continue;
            }
            // The set the name belongs to, exactly (a `t-s-k-o` claim may also read as
            // template `t-s`, set `k`: no such set exists here).
            prop_assert_eq!(f.statefulset.as_deref(), Some(owner.as_str()), "{}", c.name);
            prop_assert_eq!(f.ordinal, Some(*o));
            let range = if owner == &s { OrdinalRange::new(start, replicas) } else { OrdinalRange::new(start2, replicas2) };
            if range.contains(*o) {
                prop_assert_eq!(f.reason, Reason::Unmounted, "{}", c.name);
                prop_assert!(!f.prunable());
            } else {
                prop_assert_eq!(f.reason, Reason::ScaledIn, "{}", c.name);
            }
        }
    }

    /// Any input: an answer or an error, never a panic.
    #[test]
    fn durations_never_panic(s in "\\PC{0,24}") {
        let _ = parse_kubectl_duration(&s);
    }

    #[test]
    fn durations_never_panic_on_near_misses(s in "[0-9.]{0,8}(ns|us|µs|ms|s|m|h|d|x|)[0-9.]{0,4}(s|m|h|)") {
        let _ = parse_kubectl_duration(&s);
    }

    #[test]
    fn durations_round_trip(h in 0u64..1000, m in 0u64..60, sec in 0u64..60, ms in 0u64..1000) {
        let want = Duration::from_secs(h * 3600 + m * 60 + sec) + Duration::from_millis(ms);
        let got = parse_kubectl_duration(&format!("{h}h{m}m{sec}s{ms}ms")).unwrap();
        prop_assert!(got.abs_diff(want) < Duration::from_micros(1), "{:?} vs {:?}", got, want);
        prop_assert_eq!(parse_kubectl_duration(&sec.to_string()).unwrap(), Duration::from_secs(sec));
    }

    #[test]
    fn quantities_never_panic(s in "\\PC{0,24}") {
        let _ = parse_bytes(&s);
    }

    #[test]
    fn quantities_never_panic_on_near_misses(s in "[+-]?[0-9]{0,45}(\\.[0-9]{0,20})?(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|e[+-]?[0-9]{1,3}|)") {
        let _ = parse_bytes(&s);
    }

    #[test]
    fn quantities_round_trip(n in 0u64..1_000_000, unit in 0usize..6) {
        let (suffix, shift) = [("", 0), ("Ki", 10), ("Mi", 20), ("Gi", 30), ("Ti", 40), ("Pi", 50)][unit];
        let bytes = u128::from(n) << shift;
        prop_assert_eq!(parse_bytes(&format!("{n}{suffix}")), Some(bytes));
        // What we print reads back to within its one decimal of rounding (up).
        let shown = format_bytes(bytes);
        let back = parse_bytes(&shown).unwrap();
        prop_assert!(back >= bytes && back - bytes <= bytes / 10 + 1024, "{} -> {} -> {}", bytes, shown, back);
    }

    #[test]
    fn formatting_any_size_never_panics(b in any::<u128>()) {
        let _ = format_bytes(b);
    }
}
