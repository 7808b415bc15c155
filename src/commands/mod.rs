//! One module per subcommand: gather (kube) -> decide (model) -> render.

pub mod completion;
pub mod orphans;
pub mod owners;
pub mod resize;
pub mod rollout;
pub mod scale;
pub mod status;
pub mod verify;
pub mod version;
