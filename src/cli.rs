//! Command-line definitions: kubectl-style global flags plus one struct per subcommand.
//! Flags are documented once here and rendered in `--help`, the README and completions.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::model::duration::parse_kubectl_duration;

pub const EXIT_CODES: &str = "\
Exit codes:
  0    success; the verdict passed
  1    the verdict failed (not settled, data not persisted, rollout stuck, orphans found with --fail-on-orphans)
  2    usage error or bad input (including a StatefulSet, namespace or context that does not exist)
  3    API or cluster error (unreachable, unauthorized, forbidden, server error)
  4    timed out
  130  interrupted (Ctrl-C)
  141  stdout was closed by its reader (`| head -1`): the output is cut short; a command
       that changes the cluster still finished (or cleaned up) first";

#[derive(Debug, Parser)]
#[command(
    name = "kubectl-sts",
    bin_name = "kubectl sts",
    version,
    about = "Operate Kubernetes StatefulSets safely: per-ordinal status, scale, rollout, orphaned PVCs, persistence checks",
    after_help = EXIT_CODES,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// The flags every kubectl user already knows, accepted before or after the subcommand.
#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// Path to the kubeconfig file to use (a single file; default: $KUBECONFIG merged, then ~/.kube/config)
    #[arg(long, global = true, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// The name of the kubeconfig context to use
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// The name of the kubeconfig cluster to use
    #[arg(long, global = true, value_name = "NAME")]
    pub cluster: Option<String>,
    /// The name of the kubeconfig user to use
    #[arg(long, global = true, value_name = "NAME")]
    pub user: Option<String>,
    /// The namespace scope for this request (default: the context's namespace)
    #[arg(short = 'n', long, global = true, value_name = "NAMESPACE")]
    pub namespace: Option<String>,
    /// How long to wait for a single API request: 0 (no limit), 30s, 2m, 1h
    #[arg(long, global = true, value_name = "DURATION", default_value = "0", value_parser = parse_request_timeout)]
    pub request_timeout: RequestTimeout,
    /// Output format
    #[arg(short = 'o', long, global = true, value_enum, default_value_t = OutputFormat::Table, value_name = "FORMAT")]
    pub output: OutputFormat,
    /// Don't print table headers
    #[arg(long, global = true)]
    pub no_headers: bool,
    /// Don't use colour (also: the NO_COLOR environment variable)
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Log every API request to stderr (method, URL, status, latency); -v=2 also logs watch events
    #[arg(short = 'v', long = "verbose", global = true, num_args = 0..=1, require_equals = true,
          default_missing_value = "1", default_value = "0", value_name = "LEVEL")]
    pub verbose: u8,
}

/// `--request-timeout`: `None` means no limit (kubectl's `0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestTimeout(pub Option<Duration>);

fn parse_request_timeout(s: &str) -> Result<RequestTimeout, String> {
    let d = parse_kubectl_duration(s)?;
    Ok(RequestTimeout(if d.is_zero() { None } else { Some(d) }))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Human-readable table
    Table,
    /// Table with extra columns
    Wide,
    /// A JSON report (documented schema)
    Json,
    /// The same report as YAML
    Yaml,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show a StatefulSet per ordinal: pod, readiness, revision, node, PVCs and PVs
    #[command(after_help = STATUS_EXAMPLES)]
    Status(StatusArgs),
    /// Change replicas and follow every ordinal (pods, PVCs, order, stuck causes) until settled
    #[command(after_help = SCALE_EXAMPLES)]
    Scale(ScaleArgs),
    /// Report PVCs StatefulSets left behind, with their cost; `prune` deletes them
    #[command(after_help = ORPHANS_EXAMPLES)]
    Orphans(OrphansArgs),
    /// Follow a rollout ordinal by ordinal (partition, maxUnavailable, OnDelete, minReadySeconds); `history` lists revisions
    #[command(after_help = ROLLOUT_EXAMPLES)]
    Rollout(RolloutArgs),
    /// Restart every pod the way `kubectl rollout restart` does, then follow the rollout
    #[command(after_help = RESTART_EXAMPLES)]
    Restart(RestartArgs),
    /// Prove a pod's data survives its deletion and recreation (mark, delete, verify)
    #[command(after_help = VERIFY_EXAMPLES)]
    VerifyPersistence(VerifyArgs),
    /// Grow every volume of a StatefulSet: each claim, then the claim template (orphan delete + re-create, pods untouched)
    #[command(after_help = RESIZE_EXAMPLES)]
    Resize(ResizeArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish)
    #[command(after_help = COMPLETION_EXAMPLES)]
    Completion(CompletionArgs),
    /// Show client and cluster versions, warning when the cluster is not supported
    Version(crate::commands::version::VersionArgs),
}

const STATUS_EXAMPLES: &str = "\
Examples:
  # One StatefulSet, one row per ordinal (missing pods and unbound PVCs included)
  kubectl sts status web

  # Every StatefulSet in the namespace, one line each
  kubectl sts status

  # Every StatefulSet in the cluster with label app=db, as JSON
  kubectl sts status -A -l app=db -o json";

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The StatefulSet to show; without it, list every StatefulSet in scope
    pub name: Option<String>,
    /// List StatefulSets across all namespaces
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Label selector to filter StatefulSets (e.g. app=web,tier!=cache)
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<String>,
    /// Exit 1 when a claim differs from its template (request, class, access modes, an unfinished resize)
    #[arg(long, requires = "name")]
    pub fail_on_drift: bool,
}

const COMPLETION_EXAMPLES: &str = "\
Examples:
  # Complete `kubectl-sts ...` in the current bash session, then in every new one
  source <(kubectl sts completion bash)
  kubectl sts completion bash > ~/.local/share/bash-completion/completions/kubectl-sts

  # zsh (a directory on $fpath), fish, PowerShell
  kubectl sts completion zsh > \"${fpath[1]}/_kubectl-sts\"
  kubectl sts completion fish > ~/.config/fish/completions/kubectl-sts.fish
  kubectl sts completion powershell | Out-String | Invoke-Expression

  # `kubectl sts <TAB>` inside kubectl's own completion (kubectl >= 1.26): put the
  # kubectl_complete-sts helper from the release archive on PATH; with krew (again after
  # each upgrade, as the store path carries the version):
  ln -sf \"$(dirname \"$(readlink -f ~/.krew/bin/kubectl-sts)\")/kubectl_complete-sts\" ~/.krew/bin/";

/// `kubectl sts completion SHELL`.
#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// The shell to print the script for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

const RESIZE_EXAMPLES: &str = "\
Examples:
  # Show what would change: every claim of web (leftovers too) and the claim template
  kubectl sts resize web --storage 30Gi --dry-run

  # Grow the claims of template data to 30Gi and the template with them
  kubectl sts resize web --storage 30Gi --yes

  # Two templates, each its own size
  kubectl sts resize db --claim data=500Gi --claim wal=50Gi

  # Finish a resize that was interrupted (Ctrl-C, lost connection, killed), from its backup
  kubectl sts resize web --resume

What it does:
  preflight (settled, every claim Bound, its StorageClass allows expansion, no shrink,
  RBAC), confirm, back up the StatefulSet to a file, patch each claim and watch until its
  capacity is the new size, then replace the StatefulSet without touching its pods:
  DELETE with propagationPolicy Orphan (UID precondition), create it again from the
  backup with the bigger template, and wait until it has adopted every pod (same UIDs,
  same revision). Exit 0 done; 1 refused or a claim failed to resize; 2 bad input
  (shrink, a class without allowVolumeExpansion); 3 API error; 4 timed out; 130 Ctrl-C.
  Every stop says what state the cluster is in and the command that finishes the job.";

const VERIFY_EXAMPLES: &str = "\
Examples:
  # Drill the highest ordinal of web: mark its volumes, delete it, wait, verify, clean up
  kubectl sts verify-persistence web

  # Show the plan (mounts, PVCs, PVs, preflight) without changing anything
  kubectl sts verify-persistence web --ordinal 0 --dry-run

  # Every ordinal, highest first, through the Eviction API (honours PodDisruptionBudgets)
  kubectl sts verify-persistence web --all --evict --yes -o json

What it does:
  preflight (the StatefulSet is fully ready, no rollout in flight; --force overrides),
  write a marker file with a random nonce on every writable claim-template mount,
  delete the pod (UID precondition), watch until a new pod with the same name is Ready,
  check the PVC is the same and bound to the same PV and the marker reads back,
  remove the markers (unless --keep-marker). Exit 0 only when every mount PERSISTED;
  1 when any is LOST or the preflight refused; 2 bad input (including a container with
  no shell); 3 API error; 4 timed out (the state left behind is printed); 130 Ctrl-C
  (nothing more is deleted, markers are removed when the pod is reachable).";

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The StatefulSet whose pods to drill
    pub name: String,
    /// The ordinal to drill (default: the highest in range)
    #[arg(long, value_name = "N", conflicts_with = "all", allow_hyphen_values = true, value_parser = parse_ordinal)]
    pub ordinal: Option<i32>,
    /// Drill every ordinal, highest first, one at a time, waiting for the StatefulSet to be ready in between
    #[arg(long)]
    pub all: bool,
    /// The container to exec into (default: kubectl's default-container annotation, else the first)
    #[arg(short = 'c', long, value_name = "CONTAINER")]
    pub container: Option<String>,
    /// How long to wait for each recreated pod to be Running and Ready: 30s, 5m, 1h
    // Zero would delete the pod and give up at once, leaving the markers behind.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_positive_duration)]
    pub timeout: Duration,
    /// Don't ask for confirmation (required without a terminal)
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Only run the preflight and show the plan; change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Delete through the Eviction API, so PodDisruptionBudgets are honoured
    #[arg(long)]
    pub evict: bool,
    /// Go ahead although the StatefulSet is not fully ready or the pod would come back at another revision
    #[arg(long)]
    pub force: bool,
    /// Leave the marker files in place after verifying
    #[arg(long)]
    pub keep_marker: bool,
    /// Which phases of each pod's recreation to explain: slow (the slow or stuck ones) or all
    #[arg(long, value_enum, value_name = "WHICH", default_value = "slow")]
    pub explain: Explain,
}

#[derive(Debug, Args)]
pub struct ResizeArgs {
    /// The StatefulSet whose volumes to grow
    pub name: String,
    /// The new size of the claims (and the claim template), e.g. 30Gi
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub storage: Option<String>,
    /// The claim template to resize (with several), or TEMPLATE=SIZE; repeatable
    #[arg(long, value_name = "TEMPLATE[=SIZE]", value_parser = parse_claim_size)]
    pub claim: Vec<String>,
    /// Only run the preflight and show the plan; change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Don't ask for confirmation (required without a terminal)
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// How long to wait for each step (every claim's expansion, the re-created StatefulSet's adoption)
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_positive_duration)]
    pub timeout: Duration,
    /// Where the StatefulSet's backup is written (and read by --resume) [default: ~/.kube/kubectl-sts/backups]
    #[arg(long, value_name = "DIR")]
    pub backup_dir: Option<std::path::PathBuf>,
    /// Finish an interrupted resize of NAME from its newest backup
    #[arg(long, conflicts_with_all = ["storage", "claim", "dry_run"])]
    pub resume: bool,
    /// When a volume's driver can only grow the filesystem offline (FileSystemResizePending stays), delete its pods one at a time so each remounts it
    #[arg(long)]
    pub restart_pods: bool,
}

/// A storage quantity: `30Gi`, `500G`, `1Ti`; more than zero.
fn parse_size(s: &str) -> Result<String, String> {
    match crate::model::quantity::parse_bytes(s.trim()) {
        Some(b) if b > 0 => Ok(s.trim().to_string()),
        _ => Err(format!(
            "invalid size \"{s}\": use a quantity such as 30Gi, 500G or 1Ti"
        )),
    }
}

/// `TEMPLATE` or `TEMPLATE=SIZE`.
fn parse_claim_size(s: &str) -> Result<String, String> {
    match s.split_once('=') {
        Some((t, _)) if t.trim().is_empty() => Err(format!("invalid --claim \"{s}\": give TEMPLATE or TEMPLATE=SIZE")),
        Some((t, size)) => Ok(format!("{}={}", t.trim(), parse_size(size)?)),
        None if s.trim().is_empty() => Err("invalid --claim \"\": give TEMPLATE or TEMPLATE=SIZE".into()),
        None => Ok(s.trim().to_string()),
    }
}

/// `--explain`: which phases of a pod transition get an explanation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Explain {
    /// Phases over their expected time (the configured grace, probe delays) or stuck
    #[default]
    Slow,
    /// Every phase, with its evidence
    All,
}

impl Explain {
    pub fn detail(self) -> crate::model::explain::Detail {
        match self {
            Explain::Slow => crate::model::explain::Detail::Slow,
            Explain::All => crate::model::explain::Detail::All,
        }
    }
}

const ORPHANS_EXAMPLES: &str = "\
Examples:
  # Leftover PVCs of StatefulSets in the current namespace, with reclaim policy and cost
  kubectl sts orphans

  # Every namespace, with access modes, volume mode and last-mounted hints
  kubectl sts orphans -A -o wide

  # A CI audit over every cluster in the kubeconfig: exit 1 when anything is left behind
  kubectl sts orphans -A --all-contexts --fail-on-orphans -o json

  # Two clusters side by side; an unreachable one is reported, the other still audited
  kubectl sts orphans -A --context prod-eu --context prod-us

  # Also show every PVC no pod mounts (what kor and friends report)
  kubectl sts orphans --include-unmounted

  # See what prune would delete, then delete it (asks on a terminal; --yes in scripts)
  kubectl sts orphans prune -n shop --dry-run
  kubectl sts orphans prune -n shop --yes

Reasons: in-use (never listed), scaled-in (ordinal outside [start, start+replicas) of a
live StatefulSet), statefulset-deleted (confidence high / medium / name-only),
pending-cleanup (the garbage collector deletes it), unmounted (--include-unmounted).
Exit codes: 0 done; 1 orphans found with --fail-on-orphans; 2 bad input; 3 API error
(with several contexts: any cluster that could not be audited).";

/// Where `orphans` looks. `--context` here is repeatable (it replaces the global flag
/// for this command, so `--context a --context b` audits both clusters).
#[derive(Debug, Args, Clone, Default)]
pub struct OrphansScope {
    /// Look in every namespace
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Label selector for the PVCs to consider (e.g. app=db)
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<String>,
    /// Kubeconfig context to audit; repeat to audit several clusters concurrently
    #[arg(long = "context", id = "context", value_name = "NAME", action = clap::ArgAction::Append)]
    pub contexts: Vec<String>,
    /// Audit every context in the kubeconfig, concurrently
    #[arg(long, conflicts_with = "context")]
    pub all_contexts: bool,
    /// Also list PVCs no pod mounts that are no StatefulSet's leftovers (labelled unmounted)
    #[arg(long)]
    pub include_unmounted: bool,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = false)]
pub struct OrphansArgs {
    #[command(subcommand)]
    pub action: Option<OrphansAction>,
    #[command(flatten)]
    pub scope: OrphansScope,
    /// Exit 1 when any orphan (scaled-in or statefulset-deleted) is found
    #[arg(long)]
    pub fail_on_orphans: bool,
}

#[derive(Debug, Subcommand)]
pub enum OrphansAction {
    /// Delete scaled-in and high-confidence statefulset-deleted PVCs, re-checking each first
    #[command(after_help = PRUNE_EXAMPLES)]
    Prune(PruneArgs),
}

const PRUNE_EXAMPLES: &str = "\
Examples:
  # Show the plan (claims, reclaim policies, total capacity) and stop
  kubectl sts orphans prune -n shop --dry-run

  # Delete after confirming on the terminal
  kubectl sts orphans prune -n shop

  # In a script (no terminal): --yes is required
  kubectl sts orphans prune -A -l app=cache --yes

Only scaled-in and high-confidence statefulset-deleted PVCs are deleted, never one a pod
mounts. Right before each delete the PVC is read again, the namespace's pods are listed
again, and the delete carries UID and resourceVersion preconditions: a claim that
changed, got mounted or whose ordinal came back into range is skipped and reported.
Deleting a PVC whose PV has reclaim policy Delete destroys the data on it.";

#[derive(Debug, Args)]
pub struct PruneArgs {
    #[command(flatten)]
    pub scope: OrphansScope,
    /// Show the plan and stop; delete nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Don't ask for confirmation (required without a terminal)
    #[arg(short = 'y', long)]
    pub yes: bool,
}

const SCALE_EXAMPLES: &str = "\
Examples:
  # Scale web to 3 and follow each ordinal until every pod is Ready
  kubectl sts scale web --replicas 3

  # Only if it still has 3 replicas (like kubectl's --current-replicas), within 5 minutes
  kubectl sts scale web --replicas 2 --current-replicas 3 --timeout 5m

  # Ask the API server to validate the change without making it
  kubectl sts scale web --replicas 5 --dry-run=server

  # Scale to 0 from a script (deletes data first with whenScaled: Delete), JSON report
  kubectl sts scale web --replicas 0 --yes -o json

Without a terminal, progress is one line per change:
  TIME KIND/NAME EVENT [KEY=VALUE]...   (VALUE bare or a JSON string)

Exit codes: 0 settled (or scaled, with --no-wait/--dry-run); 1 a clear failure while
waiting (ImagePullBackOff, CrashLoopBackOff after 2 restarts, a PVC whose StorageClass
does not exist), the StatefulSet changed or deleted under us, or --current-replicas did
not match; 2 bad input or confirmation refused; 3 API error; 4 --timeout expired (the
blocking ordinal and its cause are named); 130 Ctrl-C (the scale stays requested).";

/// `--replicas`: a whole number >= 0.
fn parse_replicas(s: &str) -> Result<i32, String> {
    let t = s.trim();
    match t.parse::<i64>() {
        Ok(n) if n < 0 => Err(format!(
            "{n} is negative: replicas must be 0 or more, e.g. --replicas 3"
        )),
        Ok(n) if n > i64::from(i32::MAX) => Err(format!("{n} is too large: replicas must fit in 32 bits")),
        Ok(n) => Ok(n as i32),
        Err(_) => Err(format!("\"{s}\" is not a whole number: use e.g. --replicas 3")),
    }
}

/// `--dry-run`: `client` (change nothing, show the plan) or `server` (dryRun=All).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DryRun {
    /// Only show the plan; send nothing that changes the cluster
    Client,
    /// Send the change with dryRun=All: the API server validates it and persists nothing
    Server,
}

#[derive(Debug, Args)]
pub struct ScaleArgs {
    /// The StatefulSet to scale
    pub name: String,
    /// The new number of replicas (0 or more)
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = parse_replicas)]
    pub replicas: i32,
    /// Precondition: only scale if the StatefulSet currently has M replicas
    #[arg(long, value_name = "M", allow_hyphen_values = true, value_parser = parse_replicas)]
    pub current_replicas: Option<i32>,
    /// How long to wait for the StatefulSet to settle: 30s, 10m, 1h
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_kubectl_duration)]
    pub timeout: Duration,
    /// Request the scale and return without following it
    #[arg(long)]
    pub no_wait: bool,
    /// client: show the plan only; server: have the API server validate the change (dryRun=All)
    #[arg(long, value_enum, value_name = "MODE", num_args = 0..=1, require_equals = true, default_missing_value = "client")]
    pub dry_run: Option<DryRun>,
    /// Don't ask before deleting data (whenScaled: Delete) or scaling to 0 (required without a terminal)
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Which phases of each added or removed pod to explain: slow (the slow or stuck ones) or all
    #[arg(long, value_enum, value_name = "WHICH", default_value = "slow")]
    pub explain: Explain,
}

const ROLLOUT_EXAMPLES: &str = "\
Examples:
  # Follow web's rollout ordinal by ordinal until it is done (or stuck), then draw its timeline
  kubectl sts rollout web

  # In CI: give up when no ordinal progressed for 5 minutes (exit 1), or after 20 minutes (exit 4)
  kubectl sts rollout web --progress-deadline 5m --timeout 20m -o json

  # Where is it now? One snapshot, no waiting (also lists pods OnDelete waits for)
  kubectl sts rollout web --no-wait

  # The revisions, their images and change-cause, which is current and which is rolling out
  kubectl sts rollout history web

States per ordinal: waiting, waiting-for-manual-delete (OnDelete), terminating, recreating,
running, ready (minReadySeconds not yet elapsed), updated/available, held (below the partition).
Done = observedGeneration >= generation and every ordinal at or above the partition runs the
update revision and is Ready (Available with minReadySeconds). Stuck = no ordinal progressed
for --progress-deadline: the blocking ordinal, its cause and the forced-rollback recovery are
printed. Under OnDelete the pods to delete by hand are listed as soon as nothing else can
move; with nobody deleting them the wait ends at --progress-deadline (exit 1).
Exit codes: 0 done (or --no-wait: the snapshot was taken, whatever it shows); 1 stuck,
waiting for manual deletes past --progress-deadline, or the StatefulSet was deleted;
2 bad input; 3 API error; 4 --timeout; 130 Ctrl-C (the rollout goes on in the cluster).";

const RESTART_EXAMPLES: &str = "\
Examples:
  # Restart web's pods highest ordinal first (asks on a terminal) and follow them
  kubectl sts restart web

  # From a script: --yes is required without a terminal
  kubectl sts restart web --yes --progress-deadline 5m -o json

  # Show what would be sent and which pods would restart, change nothing
  kubectl sts restart web --dry-run

Sets spec.template.metadata.annotations[\"kubectl.kubernetes.io/restartedAt\"] to the
current time (RFC 3339), the strategic-merge patch `kubectl rollout restart` sends; the
controller then replaces pods as its updateStrategy says (RollingUpdate: down to the
partition; OnDelete: only pods you delete). Exit codes as for `kubectl sts rollout`;
2 also when not confirmed (nothing changed).";

/// `--timeout` / `--progress-deadline`: a duration above zero.
/// An ordinal: a whole number, 0 or more (whether it is in the StatefulSet's range is
/// known only once the StatefulSet is read).
fn parse_ordinal(s: &str) -> Result<i32, String> {
    match s.trim().parse::<i64>() {
        Ok(n) if n < 0 => Err(format!("{n} is negative: ordinals are 0 or more, e.g. --ordinal 0")),
        Ok(n) => i32::try_from(n).map_err(|_| format!("{n} is too large: ordinals fit in 32 bits")),
        Err(_) => Err(format!("\"{s}\" is not a whole number: use e.g. --ordinal 0")),
    }
}

fn parse_positive_duration(s: &str) -> Result<Duration, String> {
    let d = parse_kubectl_duration(s)?;
    if d.is_zero() {
        return Err(format!(
            "\"{s}\" is zero: give a duration above zero, e.g. 30s, 10m, 1h"
        ));
    }
    Ok(d)
}

/// How long to follow a rollout.
#[derive(Debug, Args, Clone)]
pub struct TraceArgs {
    /// Give up after this long (exit 4): 30s, 10m, 1h
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = parse_positive_duration)]
    pub timeout: Duration,
    /// Stuck when no ordinal progressed for this long (exit 1): 30s, 10m, 1h
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_positive_duration)]
    pub progress_deadline: Duration,
    /// Print where the rollout is now and exit 0 without following it
    #[arg(long)]
    pub no_wait: bool,
    /// Which phases of each replaced pod to explain: slow (the slow or stuck ones) or all
    #[arg(long, value_enum, value_name = "WHICH", default_value = "slow")]
    pub explain: Explain,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct RolloutArgs {
    #[command(subcommand)]
    pub action: Option<RolloutAction>,
    /// The StatefulSet whose rollout to follow
    #[arg(required = true)]
    pub name: Option<String>,
    #[command(flatten)]
    pub trace: TraceArgs,
}

#[derive(Debug, Subcommand)]
pub enum RolloutAction {
    /// List the StatefulSet's revisions: number, hash, age, images, change-cause, current/update
    #[command(after_help = HISTORY_EXAMPLES)]
    History(HistoryArgs),
    /// Revert a broken rollout and delete the pods the controller will not replace (Forced rollback)
    #[command(after_help = UNDO_EXAMPLES)]
    Undo(UndoArgs),
}

const UNDO_EXAMPLES: &str = "\
Examples:
  # See what would happen: the revision it goes back to and why, the pods it would delete
  kubectl sts rollout undo web --dry-run

  # Revert to the last fully rolled-out revision, delete the stuck pods, follow to settled
  kubectl sts rollout undo web --yes

  # Go back to a given revision (numbers from `kubectl sts rollout history web`)
  kubectl sts rollout undo web --to-revision 3

Without --to-revision the target is status.currentRevision while a rollout is in flight
(the last revision the controller rolled out to every ordinal), else the one before the
latest. Under OrderedReady the controller never replaces a pod that did not become Ready
at the bad revision (kubernetes/kubernetes#67250): those, once not Ready for
--stuck-after, are deleted (UID precondition), lowest ordinal first. A Ready pod is never
deleted, nor one below the partition, nor a PVC; Parallel needs no delete; under OnDelete
every pod at the bad revision is planned and only the stuck ones are deleted.

Exit codes: 0 settled at the target; 1 still stuck (or not confirmed); 2 bad input (no such
revision); 3 API error or a permission missing (checked before any change); 4 --timeout;
130 Ctrl-C (the rollout goes on in the cluster).";

#[derive(Debug, Args)]
pub struct UndoArgs {
    /// The StatefulSet whose rollout to revert
    pub name: String,
    /// The revision to go back to (default: the last fully rolled-out one)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i64).range(1..))]
    pub to_revision: Option<i64>,
    /// A pod at a bad revision is deleted once it has not been Ready for this long: 30s, 2m
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_positive_duration)]
    pub stuck_after: Duration,
    /// Show the plan; change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Don't ask for confirmation (required without a terminal)
    #[arg(short = 'y', long)]
    pub yes: bool,
    #[command(flatten)]
    pub trace: TraceArgs,
}

const HISTORY_EXAMPLES: &str = "\
Examples:
  # Like kubectl rollout history, with images and which revision is current / rolling out
  kubectl sts rollout history web

  # As JSON
  kubectl sts rollout history web -o json

  # What the rolling-out revision changes in the pod template (unified diff of its YAML)
  kubectl sts rollout history web --diff

  # What revision 4 changed against revision 3, as changed paths
  kubectl sts rollout history web --diff 4 -o json

--diff without a revision compares the update revision with the current one while a
rollout is in flight, else the latest revision with the one before it.
CHANGE-CAUSE is the kubernetes.io/change-cause annotation the StatefulSet carried when the
revision was created (<none> without one).";

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The StatefulSet whose ControllerRevisions to list
    pub name: String,
    /// Show the pod-template diff of REVISION against the revision before it (default: the rolling-out one)
    #[arg(long, value_name = "REVISION", num_args = 0..=1, value_parser = clap::value_parser!(i64).range(1..))]
    pub diff: Option<Option<i64>>,
}

#[derive(Debug, Args)]
pub struct RestartArgs {
    /// The StatefulSet to restart
    pub name: String,
    /// Don't ask for confirmation (required without a terminal)
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Show the patch and the pods it would restart; change nothing
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub trace: TraceArgs,
}
