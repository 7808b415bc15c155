//! The container's view of the filesystem for one exec, and the bubblewrap command that
//! runs a process in it.
//!
//! The kubelet builds the same view from the pod spec (pkg/kubelet/kubelet_pods.go
//! `makeMounts`): every `volumeMounts[]` entry bind-mounts its volume (or a `subPath`
//! inside it, created when missing) at `mountPath`, read-only when `readOnly: true` or
//! when the PVC volume source says so. Persistent volumes resolve PVC -> bound PV ->
//! [`Runtime::volume_dir`], so their data outlives the pod; `emptyDir` lives with the
//! pod; configMap/secret/projected volumes are empty read-only directories here.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use serde_json::Value;

use crate::error::ApiError;
use crate::runtime::{self, Runtime};
use crate::store::{Key, Store};

/// One bind mount into the container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    /// Where the data lives on the host.
    pub host: PathBuf,
    /// Normalised absolute path inside the container.
    pub path: PathBuf,
    pub read_only: bool,
}

/// A path inside the container, normalised: absolute, no `.`/`..`, no empty parts.
/// None if it is relative or climbs with `..` (which API validation rejects).
fn container_path(p: &str) -> Option<PathBuf> {
    let path = Path::new(p);
    if !path.is_absolute() {
        return None;
    }
    let mut out = PathBuf::from("/");
    for c in path.components() {
        match c {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(n) => out.push(n),
            Component::ParentDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// A `subPath`: relative, no `..` (ValidateVolumeMounts' `validateLocalDescendingPath`).
fn sub_path(p: &str) -> Option<PathBuf> {
    let path = Path::new(p);
    if path.is_absolute() {
        return None;
    }
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::Normal(n) => out.push(n),
            _ => return None,
        }
    }
    Some(out)
}

fn internal(m: impl Into<String>) -> ApiError {
    ApiError::internal(m)
}

/// Where the data of volume `name` of the pod lives, and whether its source forces
/// read-only.
fn volume_source(store: &Store, runtime: &Runtime, pod: &Value, name: &str) -> Result<(PathBuf, bool), ApiError> {
    let ns = pod["metadata"]["namespace"].as_str().unwrap_or("");
    let uid = pod["metadata"]["uid"].as_str().unwrap_or("");
    let io = |e: std::io::Error| internal(format!("volume {name:?}: {e}"));
    let Some(vol) = pod["spec"]["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| v["name"].as_str() == Some(name))
    else {
        return Err(internal(format!("volumeMount {name:?} refers to no volume of the pod")));
    };
    if let Some(src) = vol.get("persistentVolumeClaim") {
        let claim = src["claimName"].as_str().unwrap_or("");
        let pvc = store
            .get(&Key::new("persistentvolumeclaims", ns, claim))
            .ok_or_else(|| internal(format!("persistentvolumeclaim \"{claim}\" not found")))?;
        let pv = pvc["spec"]["volumeName"]
            .as_str()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                internal(format!(
                    "persistentvolumeclaim \"{claim}\" is not bound to a persistent volume"
                ))
            })?;
        let dir = runtime.ensure_volume(pv).map_err(io)?;
        return Ok((dir, src["readOnly"].as_bool().unwrap_or(false)));
    }
    let dir = runtime.pod_volume_dir(uid, name).map_err(io)?;
    // emptyDir is writable; configMap/secret/downwardAPI/projected are read-only.
    Ok((dir, vol.get("emptyDir").is_none()))
}

/// The bind mounts of `container`, parents before children (so `/data` does not hide
/// `/data/logs`).
pub fn plan_mounts(store: &Store, runtime: &Runtime, pod: &Value, container: &Value) -> Result<Vec<Mount>, ApiError> {
    let mut mounts = Vec::new();
    for vm in container["volumeMounts"].as_array().into_iter().flatten() {
        let name = vm["name"].as_str().unwrap_or("");
        let raw_path = vm["mountPath"].as_str().unwrap_or("");
        let path = container_path(raw_path).ok_or_else(|| internal(format!("invalid mountPath {raw_path:?}")))?;
        let (mut host, ro_source) = volume_source(store, runtime, pod, name)?;
        if let Some(sp) = vm["subPath"].as_str().filter(|s| !s.is_empty()) {
            let rel = sub_path(sp).ok_or_else(|| internal(format!("invalid subPath {sp:?}")))?;
            host.push(rel);
            std::fs::create_dir_all(&host).map_err(|e| internal(format!("subPath {sp:?}: {e}")))?;
        }
        mounts.push(Mount {
            host,
            path,
            read_only: ro_source || vm["readOnly"].as_bool().unwrap_or(false),
        });
    }
    mounts.sort_by_key(|m| m.path.components().count());
    Ok(mounts)
}

/// Map a container path to the host, through the mounts (the deepest one wins).
pub fn to_host(rootfs: &Path, mounts: &[Mount], path: &Path) -> PathBuf {
    for m in mounts.iter().rev() {
        if let Ok(rest) = path.strip_prefix(&m.path) {
            return m.host.join(rest);
        }
    }
    rootfs.join(path.strip_prefix("/").unwrap_or(path))
}

/// The container's `env` entries with a literal value, plus what the runtime sets:
/// `PATH` (unless the spec sets it), `HOSTNAME` and `HOME`.
pub fn environment(pod: &Value, container: &Value) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = vec![
        ("PATH".into(), runtime::DEFAULT_PATH.into()),
        ("HOSTNAME".into(), runtime::pod_hostname(pod)),
        ("HOME".into(), "/root".into()),
    ];
    for e in container["env"].as_array().into_iter().flatten() {
        if let (Some(k), Some(v)) = (e["name"].as_str(), e["value"].as_str()) {
            env.retain(|(n, _)| n != k);
            env.push((k.to_string(), v.to_string()));
        }
    }
    env
}

fn is_executable(host: &Path) -> Option<bool> {
    let md = std::fs::metadata(host).ok()?;
    Some(md.is_file() && md.permissions().mode() & 0o111 != 0)
}

/// Check that `argv0` can be executed in the container, the way runc's `exec.LookPath`
/// does before it execs. Err is the runtime's cause text, e.g.
/// `exec: "sh": executable file not found in $PATH`.
pub fn resolve_executable(
    rootfs: &Path,
    mounts: &[Mount],
    workdir: &Path,
    path_env: &str,
    argv0: &str,
) -> Result<(), String> {
    if argv0.contains('/') {
        let p = if argv0.starts_with('/') {
            PathBuf::from(argv0)
        } else {
            workdir.join(argv0)
        };
        let p = container_path(&p.to_string_lossy()).unwrap_or(p);
        return match is_executable(&to_host(rootfs, mounts, &p)) {
            Some(true) => Ok(()),
            Some(false) => Err(format!("exec: \"{argv0}\": permission denied")),
            None => Err(format!("exec: \"{argv0}\": stat {argv0}: no such file or directory")),
        };
    }
    if !argv0.is_empty() {
        for dir in path_env.split(':').filter(|d| d.starts_with('/')) {
            let p = Path::new(dir).join(argv0);
            if is_executable(&to_host(rootfs, mounts, &p)) == Some(true) {
                return Ok(());
            }
        }
    }
    Err(format!("exec: \"{argv0}\": executable file not found in $PATH"))
}

/// Everything bubblewrap needs to run one process in the container.
pub struct Sandbox<'a> {
    pub rootfs: &'a Path,
    /// `securityContext.readOnlyRootFilesystem`: the rootfs is bound read-only.
    pub read_only_root: bool,
    pub mounts: &'a [Mount],
    pub hostname: &'a str,
    pub workdir: &'a Path,
    pub argv: &'a [String],
}

/// Create every mount point (and the working directory) host-side, as runc does in
/// the rootfs before it mounts: bwrap cannot create them under a read-only root or a
/// read-only volume. Each is resolved through the mounts that come before it.
pub fn create_mount_points(rootfs: &Path, mounts: &[Mount], workdir: &Path) -> std::io::Result<()> {
    for d in ["proc", "dev"] {
        std::fs::create_dir_all(rootfs.join(d))?;
    }
    for (i, m) in mounts.iter().enumerate() {
        let host = to_host(rootfs, &mounts[..i], &m.path);
        if !host.is_dir() {
            std::fs::create_dir_all(&host)?;
        }
    }
    let wd = to_host(rootfs, mounts, workdir);
    if !wd.is_dir() {
        std::fs::create_dir_all(&wd)?;
    }
    Ok(())
}

/// The bwrap binary: `STS_SIM_BWRAP` or `bwrap` on PATH.
pub fn bwrap_binary() -> OsString {
    std::env::var_os("STS_SIM_BWRAP").unwrap_or_else(|| "bwrap".into())
}

impl Sandbox<'_> {
    /// bwrap's arguments. Every path and argv element is its own argument: nothing
    /// goes through a shell, so spaces, quotes and unicode stay intact.
    pub fn bwrap_args(&self) -> Vec<OsString> {
        let mut a: Vec<OsString> = Vec::new();
        let mut push = |s: &dyn AsRef<std::ffi::OsStr>| a.push(s.as_ref().to_os_string());
        push(&"--die-with-parent");
        push(&"--unshare-pid");
        push(&"--unshare-uts");
        push(&"--unshare-ipc");
        push(&"--hostname");
        push(&self.hostname);
        push(&if self.read_only_root { "--ro-bind" } else { "--bind" });
        push(&self.rootfs);
        push(&"/");
        push(&"--proc");
        push(&"/proc");
        push(&"--dev");
        push(&"/dev");
        for m in self.mounts {
            push(&if m.read_only { "--ro-bind" } else { "--bind" });
            push(&m.host);
            push(&m.path);
        }
        push(&"--chdir");
        push(&self.workdir);
        push(&"--");
        for arg in self.argv {
            push(arg);
        }
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_paths_are_normalised_and_confined() {
        assert_eq!(container_path("/data//x/./y"), Some(PathBuf::from("/data/x/y")));
        assert_eq!(container_path("/a b/'q'/ü"), Some(PathBuf::from("/a b/'q'/ü")));
        assert_eq!(container_path("data"), None);
        assert_eq!(container_path("/data/../etc"), None);
        assert_eq!(sub_path("a/b"), Some(PathBuf::from("a/b")));
        assert_eq!(sub_path("../x"), None);
        assert_eq!(sub_path("/x"), None);
    }

    #[test]
    fn deepest_mount_wins() {
        let mounts = vec![
            Mount {
                host: "/v/data".into(),
                path: "/data".into(),
                read_only: false,
            },
            Mount {
                host: "/v/logs".into(),
                path: "/data/logs".into(),
                read_only: false,
            },
        ];
        let root = Path::new("/r");
        assert_eq!(
            to_host(root, &mounts, Path::new("/data/logs/a")),
            PathBuf::from("/v/logs/a")
        );
        assert_eq!(to_host(root, &mounts, Path::new("/data/a")), PathBuf::from("/v/data/a"));
        assert_eq!(
            to_host(root, &mounts, Path::new("/database")),
            PathBuf::from("/r/database")
        );
    }
}
