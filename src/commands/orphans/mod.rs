//! `kubectl sts orphans [prune]`: the PVCs StatefulSets left behind, exactly, with cost,
//! and a guarded prune.
//!
//! gather (per cluster, a fixed number of paginated lists: StatefulSets, PVCs, pods,
//! PVs, StatefulSet events; no per-object GETs) -> [`claims::classify`] (pure) ->
//! render (table / JSON / YAML). Several `--context`s or `--all-contexts` run the
//! clusters concurrently; a cluster that fails is reported in its own section.
//!
//! Prune re-checks every planned claim right before deleting it: a fresh GET (same UID
//! and resourceVersion, not terminating), a fresh pod list of its namespace (still not
//! mounted), a fresh GET of its StatefulSet (ordinal still out of range / set still
//! gone), then a DELETE with UID + resourceVersion preconditions.
//!
//! `audit.rs` gathers and classifies, `report.rs` builds and renders the report,
//! `prune.rs` plans, re-checks and deletes.

mod audit;
mod prune;
mod report;
#[cfg(test)]
mod tests;

use crate::cli::{GlobalArgs, OrphansAction, OrphansArgs, OrphansScope};
use crate::error::{CliError, ErrorKind, Result};
use crate::render::{self, Style};

use audit::{Audit, audits};
use prune::prune;
use report::{render_report, report};

pub(crate) const API_VERSION: &str = "kubectl-sts/v1";

/// `--context` and `-A`, `-l`, ... may come before or after `prune`: use both.
fn merge(parent: &OrphansScope, child: &OrphansScope) -> OrphansScope {
    let mut contexts = parent.contexts.clone();
    contexts.extend(child.contexts.iter().cloned());
    OrphansScope {
        all_namespaces: parent.all_namespaces || child.all_namespaces,
        selector: child.selector.clone().or_else(|| parent.selector.clone()),
        contexts,
        all_contexts: parent.all_contexts || child.all_contexts,
        include_unmounted: parent.include_unmounted || child.include_unmounted,
    }
}

fn print_warnings(audits: &[Audit], fleet: bool) {
    for a in audits {
        for w in &a.warnings {
            if fleet {
                crate::errln!("warning: context \"{}\": {w}", a.context);
            } else {
                crate::errln!("warning: {w}");
            }
        }
    }
}

/// Does this invocation change the cluster (it may delete), and so handle Ctrl-C itself?
pub(crate) fn changes_cluster(args: &OrphansArgs) -> bool {
    matches!(&args.action, Some(OrphansAction::Prune(p)) if !p.dry_run)
}

pub async fn run(global: &GlobalArgs, args: &OrphansArgs) -> Result<()> {
    if let Some(OrphansAction::Prune(p)) = &args.action {
        return prune(global, &merge(&args.scope, &p.scope), p).await;
    }
    let scope = &args.scope;
    let now = jiff::Timestamp::now();
    let (audits, fleet) = audits(global, scope).await?;
    let r = report(&audits, now);
    print_warnings(&audits, fleet);
    if render::is_structured(global.output) {
        crate::out!("{}", render::structured(&r, global.output)?);
    } else {
        crate::out!("{}", render_report(&r, fleet, global, Style::from_args(global), now));
    }
    for a in audits.iter().filter(|a| a.error.is_some()) {
        crate::errln!(
            "error: context \"{}\" was not audited: {}",
            a.context,
            a.error.as_ref().map(|e| e.message.as_str()).unwrap_or_default()
        );
    }
    if audits.iter().any(|a| a.error.is_some()) {
        return Err(CliError::reported(ErrorKind::Server));
    }
    if args.fail_on_orphans && r.totals.orphans > 0 {
        return Err(CliError::failed(format!(
            "{} orphaned claim(s) found (--fail-on-orphans)",
            r.totals.orphans
        )));
    }
    Ok(())
}
