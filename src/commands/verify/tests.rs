use super::cleanup::marker_left;
use super::mark::{nonce, write_argv};
use super::report::{MarkerState, MountResult};

#[test]
fn nonces_differ_and_are_hex() {
    let a = nonce();
    let b = nonce();
    assert_eq!(a.len(), 32);
    assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
    assert_ne!(a, b);
}

#[test]
fn marker_write_passes_data_as_arguments() {
    let path = "/data/it's \"quoted\" $(rm -rf)/.m";
    let argv = write_argv("n0nce", path);
    // The script is constant; the path is its own argument, untouched.
    assert_eq!(
        argv[2],
        "set -C; printf %s \"$1\" > \"$2\" && { sync 2>/dev/null || :; }"
    );
    assert_eq!(argv[4], "n0nce");
    assert_eq!(argv[5], path);
}

#[test]
fn markers_left_name_the_path_in_the_volume() {
    let m = MountResult {
        volume: "logs".into(),
        mount_path: "/var/log".into(),
        sub_path: Some("app/".into()),
        read_only: false,
        template: "logs".into(),
        pvc: "logs-web-0".into(),
        pvc_uid: None,
        pv: Some("pv-1".into()),
        pv_after: None,
        marker: None,
        marker_state: MarkerState::Written,
        verdict: None,
        reason: String::new(),
    };
    let left = marker_left(&m, "/var/log/.kubectl-sts-marker-abc-0");
    assert_eq!(left.path_in_volume, "app/.kubectl-sts-marker-abc-0");
}

#[test]
fn marker_states_read_the_same_in_the_json_and_the_table() {
    use MarkerState::*;
    for s in [
        Pending, Planned, NotWritten, Written, Unknown, Identical, Differs, Missing, Unreadable,
    ] {
        assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
    }
    assert_eq!(NotWritten.as_str(), "notWritten");
}
