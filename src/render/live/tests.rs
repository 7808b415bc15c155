use super::*;
use crate::model::progress::{ClaimRow, ClaimState, Stuck};

#[test]
fn lines_are_parseable() {
    let at: Timestamp = "2026-11-22T03:05:07.301Z".parse().unwrap();
    let l = line(
        at,
        "pod",
        "web-2",
        "stuck",
        &[
            ("reason", "ImagePullBackOff".into()),
            ("message", "Back-off \"x\" a=b".into()),
        ],
    );
    assert_eq!(
        l,
        r#"2026-11-22T03:05:07.301Z pod/web-2 stuck reason=ImagePullBackOff message="Back-off \"x\" a=b""#
    );
    assert_eq!(value(""), "\"\"");
    assert!(!l.contains('\n'));
    let whole: Timestamp = "2026-11-22T03:05:07Z".parse().unwrap();
    assert_eq!(time(whole), "2026-11-22T03:05:07.000Z");
}

#[test]
fn row_text_names_claims_and_cause() {
    let row = OrdinalRow {
        ordinal: 2,
        pod: "web-2".into(),
        role: Role::Adding,
        state: PodState::Pending,
        status: "ImagePullBackOff".into(),
        ready: "0/1".into(),
        restarts: 0,
        claims: vec![ClaimRow {
            template: "disk-ssd".into(),
            name: "disk-ssd-web-2".into(),
            state: ClaimState::Reused,
            phase: Some("Bound".into()),
            volume: Some("pv2".into()),
            previous_volume: Some("pv2".into()),
        }],
        stuck: Some(Stuck {
            reason: "ImagePullBackOff",
            message: "container nginx ImagePullBackOff".into(),
            object: "pod/web-2".into(),
            clear: true,
        }),
        done: false,
    };
    let s = row_text(&row, Some(Duration::from_millis(3200)), Style::plain());
    assert!(s.contains("web-2") && s.contains("disk-ssd-web-2 reused") && s.contains("3.2s"));
    assert!(s.contains("ImagePullBackOff: container nginx"), "{s}");
}
