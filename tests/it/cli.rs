//! The CLI surface without a cluster: help text (snapshots), usage errors and
//! connection errors, each with its documented exit code and a one-line message.

use std::path::PathBuf;
use std::process::Command;

use crate::support::*;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kubectl-sts"));
    // No ambient kubeconfig, no colour, a stable terminal width for help text.
    c.env_remove("KUBECONFIG")
        .env("HOME", scratch_dir("home"))
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100");
    c
}

fn scratch_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kubectl-sts-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run(args: &[&str]) -> Run {
    bin().args(args).run()
}

fn kubeconfig(server: &str, extra_context: bool) -> PathBuf {
    let path = scratch_dir("kc").join(format!("config-{}", server.replace([':', '/', '.'], "_")));
    let mut kc = format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: dev\nclusters:\n- name: dev\n  cluster:\n    server: {server}\n\
         contexts:\n- name: dev\n  context:\n    cluster: dev\n    user: dev\n    namespace: team-a\n\
         users:\n- name: dev\n  user:\n    token: abc\n"
    );
    if extra_context {
        kc.push_str("preferences: {}\n");
    }
    std::fs::write(&path, kc).unwrap();
    path
}

#[test]
fn help_top_level() {
    let o = run(&["--help"]);
    o.assert_exit(0);
    insta::assert_snapshot!("help_top_level", String::from_utf8_lossy(&o.stdout));
}

#[test]
fn help_status() {
    let o = run(&["status", "--help"]);
    o.assert_exit(0);
    insta::assert_snapshot!("help_status", String::from_utf8_lossy(&o.stdout));
}

#[test]
fn help_reads_kubectl_sts() {
    let o = run(&["-h"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("Usage: kubectl sts"), "{out}");
    assert!(out.contains("Exit codes:"), "{out}");
}

#[test]
fn unknown_output_format_is_a_usage_error() {
    let o = run(&["status", "web", "-o", "xml"]);
    o.assert_exit(2);
    assert!(
        stderr(&o).contains("invalid value 'xml' for '--output <FORMAT>'"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn malformed_request_timeout_is_a_usage_error() {
    let o = run(&["status", "--request-timeout", "5 minutes"]);
    o.assert_exit(2);
    assert!(stderr(&o).contains("invalid duration \"5 minutes\""), "{}", stderr(&o));
}

#[test]
fn no_kubeconfig_and_no_cluster() {
    let o = run(&["status"]);
    o.assert_exit(2);
    let line = one_line_error(&o);
    assert!(
        line.contains("no kubeconfig found") && line.contains("--kubeconfig"),
        "{line}"
    );
}

#[test]
fn unknown_context_names_it_and_the_fix() {
    let kc = kubeconfig("http://127.0.0.1:1", false);
    let o = run(&["status", "--kubeconfig", kc.to_str().unwrap(), "--context", "prod"]);
    o.assert_exit(2);
    let line = one_line_error(&o);
    assert!(
        line.contains("context \"prod\" not found") && line.contains("kubectl config get-contexts"),
        "{line}"
    );
}

#[test]
fn missing_kubeconfig_file() {
    let o = run(&["status", "--kubeconfig", "/nonexistent/kubeconfig"]);
    o.assert_exit(2);
    let line = one_line_error(&o);
    assert!(line.contains("/nonexistent/kubeconfig"), "{line}");
}

#[test]
fn unreachable_server_names_url_and_context() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let kc = kubeconfig(&format!("http://127.0.0.1:{port}"), false);
    let o = run(&["status", "web", "--kubeconfig", kc.to_str().unwrap()]);
    o.assert_exit(3);
    let line = one_line_error(&o);
    assert!(line.contains(&format!("http://127.0.0.1:{port}")), "{line}");
    assert!(
        line.contains("context \"dev\"") && line.contains("connection refused"),
        "{line}"
    );
}

#[test]
fn name_with_all_namespaces_is_rejected() {
    let kc = kubeconfig("http://127.0.0.1:1", false);
    let o = run(&["status", "web", "-A", "--kubeconfig", kc.to_str().unwrap()]);
    o.assert_exit(2);
    assert!(one_line_error(&o).contains("-n NAMESPACE"));
}

#[test]
fn request_timeout_expiry_exits_4() {
    // A listener that accepts and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let _keep = std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().take(8) {
            held.push(s);
        }
    });
    let kc = kubeconfig(&format!("http://127.0.0.1:{port}"), true);
    let o = run(&[
        "status",
        "web",
        "--kubeconfig",
        kc.to_str().unwrap(),
        "--request-timeout",
        "300ms",
    ]);
    o.assert_exit(4);
    let line = one_line_error(&o);
    assert!(
        line.contains("timed out after 300ms") && line.contains("statefulset \"web\""),
        "{line}"
    );
}
