//! Everything a running sim shares between the API server, controllers and exec.
//! Shared file: add a field with one small edit; don't rewrite it.

use crate::config::SimConfig;
use crate::runtime::Runtime;
use crate::store::Store;

pub struct Context {
    pub config: SimConfig,
    pub store: Store,
    pub runtime: Runtime,
}
