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
