//! Pod sandboxes: each container of a running pod gets its own root filesystem, and
//! each persistent volume a data directory that outlives every pod.
//! (Owner: the exec/runtime work. Interface used by the kubelet controller and exec.)

use std::path::{Path, PathBuf};

use serde_json::Value;

pub struct Runtime {
    root: PathBuf,
}

impl Runtime {
    /// `root` holds `pods/<pod-uid>/...` and `volumes/<pv-name>/`.
    pub fn new(root: &Path) -> std::io::Result<Runtime> {
        std::fs::create_dir_all(root)?;
        Ok(Runtime {
            root: root.to_path_buf(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The data directory of a persistent volume (created on first use).
    pub fn volume_dir(&self, pv_name: &str) -> PathBuf {
        self.root.join("volumes").join(pv_name)
    }

    /// Create the pod's container root filesystems (called by the kubelet before the
    /// containers start). Idempotent.
    pub fn prepare_pod(&self, _pod: &Value) -> std::io::Result<()> {
        Ok(())
    }

    /// Remove everything of the pod that is not on a persistent volume.
    pub fn remove_pod(&self, _pod_uid: &str) {}

    /// Broken storage: empty a volume's data directory.
    pub fn wipe_volume(&self, _pv_name: &str) {}
}
