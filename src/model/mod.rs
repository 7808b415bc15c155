//! Pure StatefulSet knowledge: no I/O, exhaustively unit-tested. Commands gather
//! objects from the API server and hand them here to decide.

pub mod claims;
pub mod drift;
pub mod duration;
pub mod events;
pub mod explain;
pub mod ordinals;
pub mod ownership;
pub mod persistence;
pub mod pods;
pub mod progress;
pub mod quantity;
pub mod resize;
pub mod revisions;
pub mod statefulset;
pub mod undo;

/// Deep-merge `b` into `a` (objects key by key, anything else replaced): the unit
/// tests build API objects as a base plus the fields a case changes.
#[cfg(test)]
pub(crate) fn merge_json(a: &mut serde_json::Value, b: serde_json::Value) {
    match (a, b) {
        (serde_json::Value::Object(a), serde_json::Value::Object(b)) => {
            for (k, v) in b {
                merge_json(a.entry(k).or_insert(serde_json::Value::Null), v);
            }
        }
        (a, b) => *a = b,
    }
}
