//! Bad flags are refused before any connection is made: against a kubeconfig whose
//! server cannot be reached, each must still be a usage error (exit 2) naming the flag,
//! never "cannot reach the API server" (exit 3).

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_flags_are_refused_before_connecting() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("config");
    // Port 1 on loopback: nothing listens, so any request would fail with exit 3.
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\nusers:\n- name: u\n  user:\n    token: t\n",
    )
    .unwrap();
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["verify-persistence", "web", "--ordinal", "-1"],
            &["--ordinal", "0 or more"],
        ),
        (
            &["verify-persistence", "web", "--ordinal", "99999999999"],
            &["--ordinal", "32 bits"],
        ),
        (
            &["verify-persistence", "web", "--timeout", "0"],
            &["--timeout", "above zero"],
        ),
        (&["scale", "web", "--replicas", "-1"], &["--replicas", "negative"]),
        (
            &["scale", "web", "--replicas", "3", "--timeout", "0s"],
            &["--timeout", "above zero"],
        ),
        (&["rollout", "web", "--timeout", "0"], &["--timeout", "above zero"]),
        (
            &["restart", "web", "--progress-deadline", "0"],
            &["--progress-deadline", "above zero"],
        ),
        (&["status", "web", "-A"], &["-A", "-n NAMESPACE"]),
        (&["status", "web", "--request-timeout", "soon"], &["--request-timeout"]),
        (&["status", "web", "-o", "xml"], &["xml"]),
    ];
    for (args, needles) in cases {
        let o = kubectl_sts_with_kubeconfig(&kubeconfig, args).await;
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "kubectl-sts {}: {err}", args.join(" "));
        assert!(
            !err.contains("cannot reach"),
            "kubectl-sts {} connected first: {err}",
            args.join(" ")
        );
        for n in *needles {
            assert!(
                err.contains(n),
                "kubectl-sts {}: expected {n:?} in: {err}",
                args.join(" ")
            );
        }
        assert!(!err.contains("panicked"), "{err}");
    }
}
