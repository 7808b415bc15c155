//! The owner warnings of the commands that change a StatefulSet (`scale`, `restart`,
//! `rollout undo`): detected from the StatefulSet as read (`crate::model::ownership`),
//! printed on stderr with the plan, and carried into the JSON report as `ownerWarnings`.
//! They never stop a command.

use k8s_openapi::api::apps::v1::StatefulSet;

use crate::model::ownership::{self, Change};

/// Print one `warning: ...` line per owner the change concerns, and return them.
pub fn announce(sts: &StatefulSet, change: Change) -> Vec<String> {
    let warnings = ownership::warnings(&ownership::detect(sts), change);
    print(&warnings);
    warnings
}

/// One `warning: ...` line each, on stderr.
pub fn print(warnings: &[String]) {
    for w in warnings {
        crate::errln!("warning: {w}");
    }
}
