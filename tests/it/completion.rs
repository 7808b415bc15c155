//! Completion and help, through the built binaries:
//! - `kubectl_complete-sts` answers kubectl's plugin-completion protocol (and real
//!   kubectl, when installed, completes `kubectl sts ...` through it);
//! - `kubectl sts completion SHELL` prints scripts that the shells accept, and the bash
//!   one really completes;
//! - every subcommand's `--help` has an Examples section.

use crate::support::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use clap::CommandFactory;
use kubectl_sts::cli::Cli;

const STS: &str = env!("CARGO_BIN_EXE_kubectl-sts");
const HELPER: &str = env!("CARGO_BIN_EXE_kubectl_complete-sts");

fn run(bin: &str, args: &[&str]) -> Run {
    Command::new(bin)
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .run()
}

/// Parse cobra `__complete` output into (candidates, directive).
fn parse_cobra(out: &str) -> (Vec<String>, u32) {
    let mut lines: Vec<&str> = out.lines().filter(|l| !l.is_empty()).collect();
    let last = lines.pop().expect("at least the directive line");
    let directive = last
        .strip_prefix(':')
        .and_then(|d| d.parse().ok())
        .unwrap_or_else(|| panic!("last line is not :<directive>: {out}"));
    let candidates = lines
        .iter()
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect();
    (candidates, directive)
}

#[test]
fn helper_speaks_kubectls_plugin_completion_protocol() {
    // kubectl passes the words after `sts`, the last one being the word being typed.
    let out = run(HELPER, &["sc"]);
    out.assert_exit(0);
    let text = stdout(&out);
    assert!(
        text.starts_with("scale\tChange replicas"),
        "candidate with its description: {text}"
    );
    assert_eq!(parse_cobra(&text), (vec!["scale".to_string()], 4));

    // A new, empty word at the top level: every visible subcommand.
    let (cands, directive) = parse_cobra(&stdout(&run(HELPER, &[""]).output));
    for sub in Cli::command().get_subcommands().filter(|s| !s.is_hide_set()) {
        assert!(
            cands.contains(&sub.get_name().to_string()),
            "{} missing: {cands:?}",
            sub.get_name()
        );
    }
    assert_eq!(directive, 4, "no file names for subcommands");

    // Flags of the subcommand, globals included; value enums; paths fall back to files.
    let (cands, _) = parse_cobra(&stdout(&run(HELPER, &["scale", "web", "--re"]).output));
    assert_eq!(cands, vec!["--replicas", "--request-timeout"]);
    let (cands, _) = parse_cobra(&stdout(&run(HELPER, &["status", "-o", ""]).output));
    assert_eq!(cands, vec!["table", "wide", "json", "yaml"]);
    let (cands, directive) = parse_cobra(&stdout(&run(HELPER, &["status", "--kubeconfig", ""]).output));
    assert!(cands.is_empty());
    assert_eq!(directive, 0, "the shell completes file names for --kubeconfig");

    // Cobra's own convention (`__complete` first), as hand-written wrappers pass it.
    assert_eq!(run(HELPER, &["__complete", "sc"]).stdout, run(HELPER, &["sc"]).stdout);
}

fn kubectl_available() -> bool {
    Command::new("kubectl")
        .args(["version", "--client"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A PATH with both binaries under their installed names, first.
fn plugin_path(dir: &Path) -> String {
    for (name, target) in [("kubectl-sts", STS), ("kubectl_complete-sts", HELPER)] {
        std::os::unix::fs::symlink(target, dir.join(name)).expect("symlink");
    }
    format!("{}:{}", dir.display(), std::env::var("PATH").unwrap_or_default())
}

#[test]
fn real_kubectl_completes_the_plugin_through_the_helper() {
    if !kubectl_available() {
        eprintln!("kubectl not installed: skipping (scripts/test installs it)");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = plugin_path(dir.path());
    let kubectl_complete = |words: &[&str]| -> (Vec<String>, u32) {
        let out = Command::new("kubectl")
            .arg("__complete")
            .args(words)
            .env("PATH", &path)
            .env("KUBECONFIG", dir.path().join("none"))
            .stdin(Stdio::null())
            .run();
        out.assert_exit(0);
        parse_cobra(&stdout(&out))
    };
    // kubectl itself lists the plugin ...
    let (cands, _) = kubectl_complete(&["st"]);
    assert!(cands.contains(&"sts".to_string()), "{cands:?}");
    // ... and hands everything after it to kubectl_complete-sts.
    assert_eq!(kubectl_complete(&["sts", "sc"]), (vec!["scale".to_string()], 4));
    let (cands, _) = kubectl_complete(&["sts", "scale", "web", "--re"]);
    assert_eq!(cands, vec!["--replicas", "--request-timeout"]);
    let (cands, _) = kubectl_complete(&["sts", "status", "--output", "j"]);
    assert_eq!(cands, vec!["json"]);
}

#[test]
fn completion_scripts_for_every_shell() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef kubectl-sts"),
        ("fish", "complete -c kubectl-sts"),
        ("powershell", "Register-ArgumentCompleter"),
        ("elvish", "edit:completion:arg-completer"),
    ] {
        let out = run(STS, &["completion", shell]);
        out.assert_exit(0);
        let script = stdout(&out);
        assert!(script.contains(marker), "{shell} script lacks {marker:?}");
        assert!(
            script.contains("verify-persistence"),
            "{shell} script lacks the subcommands"
        );
    }
    // An unknown shell is a usage error.
    let out = run(STS, &["completion", "tcsh"]);
    out.assert_exit(2);
    assert!(stderr(&out).contains("possible values"), "{}", stderr(&out));
}

fn write_script(dir: &Path, shell: &str) -> PathBuf {
    let out = run(STS, &["completion", shell]);
    let path = dir.join(format!("kubectl-sts.{shell}"));
    std::fs::write(&path, &out.stdout).expect("write script");
    path
}

#[test]
fn bash_script_parses_and_completes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let script = write_script(dir.path(), "bash");
    // Drive the completion function as bash would for `kubectl-sts scale web --re<TAB>`.
    let driver = format!(
        r#"source '{}'
COMP_WORDS=(kubectl-sts scale web --re); COMP_CWORD=3
_kubectl__sts kubectl-sts --re web
printf '%s\n' "${{COMPREPLY[@]}}"
COMP_WORDS=(kubectl-sts ""); COMP_CWORD=1
_kubectl__sts kubectl-sts "" kubectl-sts
printf '%s\n' "${{COMPREPLY[@]}}""#,
        script.display()
    );
    let out = Command::new("bash").args(["--norc", "-c", &driver]).run();
    out.assert_exit(0);
    let got = stdout(&out);
    let words: Vec<&str> = got.split_whitespace().collect();
    assert!(
        words.contains(&"--replicas") && words.contains(&"--request-timeout"),
        "{got}"
    );
    assert!(
        words.contains(&"status") && words.contains(&"verify-persistence"),
        "{got}"
    );
}

#[test]
fn zsh_and_fish_scripts_parse_when_those_shells_exist() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (shell, check) in [("zsh", vec!["-n"]), ("fish", vec!["--no-execute"])] {
        if !have(shell) {
            eprintln!("{shell} not installed: skipping its syntax check");
            continue;
        }
        let script = write_script(dir.path(), shell);
        let out = Command::new(shell).args(&check).arg(&script).run();
        out.assert_exit(0);
    }
}

#[test]
fn a_closed_pipe_is_not_a_panic() {
    let mut child = Command::new(STS)
        .args(["completion", "bash"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Close our end without reading: the write fails with EPIPE.
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    let stderr = stderr(&out);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Every subcommand path (`status`, `orphans prune`, ...) except clap's `help`.
fn subcommand_paths(cmd: &clap::Command, prefix: &[String], out: &mut Vec<Vec<String>>) {
    for sub in cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        let mut path = prefix.to_vec();
        path.push(sub.get_name().to_string());
        subcommand_paths(sub, &path, out);
        out.push(path);
    }
}

#[test]
fn every_subcommand_help_has_examples() {
    let mut paths = Vec::new();
    subcommand_paths(&Cli::command(), &[], &mut paths);
    assert!(paths.len() >= 5, "{paths:?}");
    let mut missing = Vec::new();
    for path in &paths {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let out = run(STS, &args);
        out.assert_exit(0);
        let help = stdout(&out);
        // An "Examples:" heading followed by at least one `kubectl sts` command line.
        let examples = help.split_once("\nExamples:\n").map(|(_, rest)| rest);
        if !examples.is_some_and(|e| e.lines().any(|l| l.trim_start().starts_with("kubectl sts "))) {
            missing.push(path.join(" "));
        }
    }
    assert!(missing.is_empty(), "--help without an Examples section: {missing:?}");
}
