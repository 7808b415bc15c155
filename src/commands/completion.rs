//! Shell completion, two ways:
//!
//! - `kubectl sts completion bash|zsh|fish|powershell|elvish` prints a static script
//!   (clap_complete) that completes the `kubectl-sts` binary when it is run directly.
//! - `kubectl_complete-sts` (src/bin) is what kubectl >= 1.26 runs to complete
//!   `kubectl sts ...` inside kubectl's own completion. kubectl's plugin completion
//!   (staging/src/k8s.io/kubectl/pkg/cmd/plugin/plugin_completion.go, `pluginCompletion`)
//!   calls it with the words after the plugin name plus the word being completed (empty
//!   for a new word) and reads cobra's `__complete` format: one candidate per line,
//!   optionally `candidate<TAB>description`, then `:<directive>` (cobra's
//!   ShellCompDirective bits). [`complete`] walks the clap command tree to answer it, so
//!   new subcommands and flags complete without anything to update here.

use clap::{Arg, Command, CommandFactory, ValueHint};

use crate::cli::{Cli, CompletionArgs};
use crate::error::Result;

/// The name the static scripts complete: the binary as it sits on PATH.
pub const BIN_NAME: &str = "kubectl-sts";

/// Print the completion script for `args.shell` on stdout.
pub fn run(args: &CompletionArgs) -> Result<()> {
    // Render into memory first: clap_complete panics on a failing writer, and a
    // closed pipe (`| head`) must not turn into a panic message.
    // The help text shows `kubectl sts`; the scripts complete the binary's own name
    // (the clap_complete bash generator names its functions from both, so they must agree).
    let mut cmd = Cli::command().bin_name(BIN_NAME);
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, BIN_NAME, &mut script);
    if args.shell == clap_complete::Shell::Bash {
        script = fix_bash_hyphenated_bin_name(&script);
    }
    crate::output::out(&String::from_utf8_lossy(&script));
    Ok(())
}

/// clap_complete's bash generator spells the state of a subcommand of a hyphenated
/// binary two ways: the dispatch loop sets `kubectl__sts__subcmd__scale`, the case arms
/// test `kubectl__subcmd__sts__subcmd__scale`, so no subcommand's flags ever complete
/// (clap-rs/clap#6421, open). Respell the arms the way the loop does.
fn fix_bash_hyphenated_bin_name(script: &[u8]) -> Vec<u8> {
    let wrong = BIN_NAME.replace('-', "__subcmd__");
    let right = BIN_NAME.replace('-', "__");
    String::from_utf8_lossy(script).replace(&wrong, &right).into_bytes()
}

/// Cobra's `ShellCompDirective` bits (spf13/cobra completions.go).
pub mod directive {
    /// Let the shell do its default (complete file names).
    pub const DEFAULT: u32 = 0;
    /// Completion failed; the shell shows nothing.
    pub const ERROR: u32 = 1;
    /// Don't add a space after the completion.
    pub const NO_SPACE: u32 = 2;
    /// Don't fall back to file names when there are no candidates.
    pub const NO_FILE_COMP: u32 = 4;
}

/// The answer to one completion request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completions {
    /// (candidate, one-line description)
    pub candidates: Vec<(String, Option<String>)>,
    pub directive: u32,
}

impl Completions {
    fn none(directive: u32) -> Completions {
        Completions {
            candidates: Vec::new(),
            directive,
        }
    }

    /// The candidates alone, for tests and callers that don't show descriptions.
    pub fn values(&self) -> Vec<&str> {
        self.candidates.iter().map(|(v, _)| v.as_str()).collect()
    }

    /// cobra's `__complete` output: `value[\tdescription]` lines, then `:<directive>`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (value, help) in &self.candidates {
            out.push_str(value);
            if let Some(h) = help.as_deref().filter(|h| !h.is_empty()) {
                out.push('\t');
                out.push_str(h);
            }
            out.push('\n');
        }
        out.push_str(&format!(":{}\n", self.directive));
        out
    }
}

/// Entry point of `kubectl_complete-sts`: `args` are the words after `sts`, the last
/// one being the word under the cursor. A leading `__complete` (cobra's own protocol,
/// as wrapper scripts written for cobra plugins pass it) is accepted and ignored.
pub fn kubectl_complete(args: &[String]) -> String {
    let args = match args.first() {
        Some(first) if first == "__complete" => &args[1..],
        _ => args,
    };
    complete(&Cli::command(), args).render()
}

/// Complete the last of `words` (the words after the program name) against `cmd`.
pub fn complete(cmd: &Command, words: &[String]) -> Completions {
    let mut root = cmd.clone();
    // Propagate global flags, `--help`/`--version` and the `help` subcommand into
    // every subcommand, as the real parser sees them.
    root.build();
    let (current_word, done) = match words.split_last() {
        Some((last, done)) => (last.as_str(), done),
        None => ("", &[][..]),
    };

    let mut cmd = &root;
    let mut pending: Option<&Arg> = None;
    let mut positionals = 0usize;
    let mut after_dashdash = false;
    let mut seen: Vec<&str> = Vec::new();

    for word in done {
        let word = word.as_str();
        if pending.take().is_some() {
            continue;
        }
        if after_dashdash {
            positionals += 1;
            continue;
        }
        if word == "--" {
            after_dashdash = true;
            continue;
        }
        if let Some(long) = word.strip_prefix("--") {
            let (name, inline_value) = match long.split_once('=') {
                Some((n, _)) => (n, true),
                None => (long, false),
            };
            if let Some(arg) = find_long(cmd, name) {
                seen.push(arg.get_id().as_str());
                if !inline_value && takes_separate_value(arg) {
                    pending = Some(arg);
                }
            }
            continue;
        }
        if let Some(shorts) = word.strip_prefix('-').filter(|s| !s.is_empty()) {
            // A cluster: `-yA`, `-nshop`, `-n shop`, `-v=2`.
            let n = shorts.chars().count();
            for (i, c) in shorts.chars().enumerate() {
                let Some(arg) = find_short(cmd, c) else { break };
                seen.push(arg.get_id().as_str());
                if arg.get_action().takes_values() {
                    if i + 1 == n && takes_separate_value(arg) {
                        pending = Some(arg);
                    }
                    break;
                }
            }
            continue;
        }
        if let Some(sub) = find_subcommand(cmd, word) {
            cmd = sub;
            positionals = 0;
            continue;
        }
        positionals += 1;
    }

    if let Some(arg) = pending {
        return complete_value(arg, "", current_word);
    }
    if !after_dashdash && let Some(long) = current_word.strip_prefix("--") {
        if let Some((name, value)) = long.split_once('=') {
            return match find_long(cmd, name) {
                Some(arg) => complete_value(arg, &format!("--{name}="), value),
                None => Completions::none(directive::NO_FILE_COMP),
            };
        }
        return complete_flags(cmd, current_word, &seen);
    }
    if !after_dashdash && current_word.starts_with('-') {
        return complete_flags(cmd, current_word, &seen);
    }

    let mut out = Completions::none(directive::NO_FILE_COMP);
    if !after_dashdash {
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            if sub.get_name().starts_with(current_word) {
                out.candidates.push((sub.get_name().to_string(), about(sub)));
            }
        }
    }
    let positional = cmd
        .get_positionals()
        .nth(positionals)
        .or_else(|| cmd.get_positionals().last().filter(|a| takes_many(a)));
    if let Some(arg) = positional {
        let values = complete_value(arg, "", current_word);
        if out.candidates.is_empty() {
            return values;
        }
        out.candidates.extend(values.candidates);
    }
    out
}

/// Complete a flag's or positional's value: its possible values, else file names
/// when it is a path, else nothing (no file names for a StatefulSet name).
fn complete_value(arg: &Arg, prefix: &str, current: &str) -> Completions {
    let possible: Vec<(String, Option<String>)> = arg
        .get_possible_values()
        .into_iter()
        .filter(|v| !v.is_hide_set())
        .filter(|v| v.get_name().starts_with(current))
        .map(|v| (format!("{prefix}{}", v.get_name()), v.get_help().map(first_line)))
        .collect();
    if !possible.is_empty() {
        return Completions {
            candidates: possible,
            directive: directive::NO_FILE_COMP,
        };
    }
    match arg.get_value_hint() {
        ValueHint::AnyPath | ValueHint::FilePath | ValueHint::DirPath | ValueHint::ExecutablePath => {
            Completions::none(directive::DEFAULT)
        }
        _ => Completions::none(directive::NO_FILE_COMP),
    }
}

/// `--long` flags starting with `current` (`-x` shorts too when only `-` is typed),
/// leaving out ones already given unless they may repeat.
fn complete_flags(cmd: &Command, current: &str, seen: &[&str]) -> Completions {
    let mut out = Completions::none(directive::NO_FILE_COMP);
    for arg in cmd.get_arguments().filter(|a| !a.is_positional() && !a.is_hide_set()) {
        let repeatable = matches!(arg.get_action(), clap::ArgAction::Append | clap::ArgAction::Count);
        if seen.contains(&arg.get_id().as_str()) && !repeatable {
            continue;
        }
        let help = arg.get_help().map(first_line);
        if let Some(long) = arg.get_long() {
            let flag = format!("--{long}");
            if flag.starts_with(current) {
                out.candidates.push((flag, help.clone()));
            }
        }
        if current == "-"
            && let Some(short) = arg.get_short()
        {
            out.candidates.push((format!("-{short}"), help));
        }
    }
    out
}

fn find_long<'a>(cmd: &'a Command, name: &str) -> Option<&'a Arg> {
    cmd.get_arguments()
        .find(|a| a.get_long() == Some(name) || a.get_all_aliases().is_some_and(|aliases| aliases.contains(&name)))
}

fn find_short(cmd: &Command, c: char) -> Option<&Arg> {
    cmd.get_arguments()
        .find(|a| a.get_short() == Some(c) || a.get_all_short_aliases().is_some_and(|s| s.contains(&c)))
}

fn find_subcommand<'a>(cmd: &'a Command, name: &str) -> Option<&'a Command> {
    cmd.get_subcommands()
        .find(|s| s.get_name() == name || s.get_all_aliases().any(|a| a == name))
}

/// A flag whose value may come as the next word (`-n shop`), unlike `-v`/`--dry-run`
/// whose optional value must be attached with `=`.
fn takes_separate_value(arg: &Arg) -> bool {
    arg.get_action().takes_values()
        && !arg.is_require_equals_set()
        && arg.get_num_args().is_none_or(|r| r.min_values() > 0)
}

fn takes_many(arg: &Arg) -> bool {
    arg.get_num_args().is_some_and(|r| r.max_values() > 1)
}

fn about(cmd: &Command) -> Option<String> {
    cmd.get_about().map(first_line)
}

fn first_line(s: &clap::builder::StyledStr) -> String {
    s.to_string().lines().next().unwrap_or("").trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        // A trailing space means "a new, empty word".
        let mut w: Vec<String> = s.split_whitespace().map(str::to_string).collect();
        if s.is_empty() || s.ends_with(' ') {
            w.push(String::new());
        }
        w
    }

    fn comp(s: &str) -> Completions {
        complete(&Cli::command(), &words(s))
    }

    #[test]
    fn top_level_lists_every_visible_subcommand_with_its_about() {
        let c = comp("");
        let names = c.values();
        for sub in Cli::command().get_subcommands() {
            assert!(
                names.contains(&sub.get_name()),
                "{} missing from {names:?}",
                sub.get_name()
            );
        }
        assert!(names.contains(&"completion") && names.contains(&"help"), "{names:?}");
        assert_eq!(c.directive, directive::NO_FILE_COMP);
        let status = c.candidates.iter().find(|(v, _)| v == "status").unwrap();
        assert!(
            status.1.as_deref().unwrap().starts_with("Show a StatefulSet"),
            "{status:?}"
        );
    }

    #[test]
    fn prefix_filters_subcommands() {
        assert_eq!(comp("st").values(), vec!["status"]);
        assert_eq!(
            comp("completion ").values(),
            vec!["bash", "elvish", "fish", "powershell", "zsh"]
        );
        assert_eq!(comp("completion z").values(), vec!["zsh"]);
    }

    #[test]
    fn flags_of_the_subcommand_including_globals() {
        let c = comp("scale web --re");
        assert_eq!(c.values(), vec!["--replicas", "--request-timeout"]);
        assert_eq!(c.directive, directive::NO_FILE_COMP);
        let all = comp("status --");
        for flag in [
            "--all-namespaces",
            "--selector",
            "--namespace",
            "--kubeconfig",
            "--output",
            "--help",
        ] {
            assert!(all.values().contains(&flag), "{flag} missing: {:?}", all.values());
        }
        // Flags of other subcommands are not offered.
        assert!(!all.values().contains(&"--replicas"));
    }

    #[test]
    fn single_dash_offers_shorts_and_longs() {
        let c = comp("status -");
        let v = c.values();
        assert!(
            v.contains(&"-A") && v.contains(&"-n") && v.contains(&"--all-namespaces"),
            "{v:?}"
        );
    }

    #[test]
    fn flags_already_given_are_not_offered_again() {
        let v = comp("status -A --all")
            .values()
            .into_iter()
            .map(str::to_string)
            .collect::<Vec<_>>();
        assert!(!v.contains(&"--all-namespaces".to_string()), "{v:?}");
        let v = comp("status --selector app=web --s").values().join(" ");
        assert!(!v.contains("--selector"), "{v}");
    }

    #[test]
    fn flag_values_from_value_enums() {
        let c = comp("status -o ");
        assert_eq!(c.values(), vec!["table", "wide", "json", "yaml"]);
        assert_eq!(comp("status --output j").values(), vec!["json"]);
        assert_eq!(comp("status --output=y").values(), vec!["--output=yaml"]);
        // After a value was given, back to subcommand/positional completion.
        assert_eq!(comp("-o json st").values(), vec!["status"]);
    }

    #[test]
    fn path_values_fall_back_to_file_names_and_names_do_not() {
        let c = comp("status --kubeconfig ");
        assert!(c.candidates.is_empty());
        assert_eq!(c.directive, directive::DEFAULT);
        let c = comp("status -n ");
        assert!(c.candidates.is_empty());
        assert_eq!(c.directive, directive::NO_FILE_COMP);
        // A positional StatefulSet name: no candidates, and no file names either.
        let c = comp("status ");
        assert!(c.candidates.is_empty(), "{c:?}");
        assert_eq!(c.directive, directive::NO_FILE_COMP);
    }

    #[test]
    fn optional_values_attached_with_equals_do_not_swallow_the_next_word() {
        // `-v` takes its level only as `-v=2`: the next word is the subcommand.
        assert_eq!(comp("-v st").values(), vec!["status"]);
        assert_eq!(comp("-v=2 st").values(), vec!["status"]);
    }

    #[test]
    fn short_cluster_with_value_attached_or_next() {
        assert_eq!(comp("-nshop st").values(), vec!["status"]);
        assert_eq!(comp("-n shop st").values(), vec!["status"]);
    }

    #[test]
    fn nested_subcommands() {
        if find_subcommand(&Cli::command(), "orphans").is_none() {
            return;
        }
        assert!(comp("orphans ").values().contains(&"prune"));
        assert!(comp("orphans prune --d").values().contains(&"--dry-run"));
    }

    #[test]
    fn unknown_words_do_not_break_completion() {
        let c = comp("nosuch --");
        assert!(c.values().contains(&"--kubeconfig"), "{c:?}");
        let c = comp("status web extra --out");
        assert_eq!(c.values(), vec!["--output"]);
    }

    #[test]
    fn after_double_dash_only_positionals() {
        let c = comp("status -- --");
        assert!(c.candidates.is_empty(), "{c:?}");
    }

    #[test]
    fn render_is_cobra_format() {
        let c = Completions {
            candidates: vec![("a".into(), Some("first".into())), ("b".into(), None)],
            directive: directive::NO_FILE_COMP,
        };
        assert_eq!(c.render(), "a\tfirst\nb\n:4\n");
        assert_eq!(Completions::none(directive::DEFAULT).render(), ":0\n");
    }

    #[test]
    fn kubectl_complete_accepts_both_calling_conventions() {
        let plain = kubectl_complete(&["st".to_string()]);
        let cobra = kubectl_complete(&["__complete".to_string(), "st".to_string()]);
        assert_eq!(plain, cobra);
        assert!(plain.starts_with("status\t"), "{plain}");
        assert!(plain.ends_with(":4\n"));
        // No arguments at all: the top level.
        assert!(kubectl_complete(&[]).contains("status\t"));
    }
}
