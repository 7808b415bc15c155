//! Everything a running sim shares between the API server, controllers and exec.

use crate::config::SimConfig;
use crate::store::Store;

pub struct Context {
    pub config: SimConfig,
    pub store: Store,
}
