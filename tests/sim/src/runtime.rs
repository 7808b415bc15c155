//! Pod sandboxes: each container of a running pod gets its own writable root filesystem,
//! and each persistent volume a data directory that outlives every pod. `pods/exec`
//! (see [`crate::exec`]) runs real processes in them with bubblewrap.
//!
//! # On-disk layout (under [`Runtime::root`])
//!
//! ```text
//! volumes/<pv-name>/                       a PersistentVolume's data; outlives every pod.
//!                                          Created on demand with `lost+found/`, as a
//!                                          freshly formatted ext4 disk has.
//! images/busybox/                          the image layer: bin/busybox (busybox-static)
//!                                          and a symlink per applet, built once and
//!                                          hard-linked into every shell-bearing rootfs.
//! pods/<pod-uid>/containers/<name>/image   the image the rootfs was built for
//! pods/<pod-uid>/containers/<name>/rootfs/ the container's writable root filesystem
//! pods/<pod-uid>/volumes/<volume>/         emptyDir volumes (and empty read-only
//!                                          stand-ins for configMap/secret/projected)
//! ```
//!
//! Containers live under `containers/` (not directly under the pod as the kubelet's
//! `/var/lib/kubelet/pods/<uid>/` does) so that a container named `volumes` cannot
//! collide with the pod's volume directory.
//!
//! A shell-bearing rootfs holds `/bin/busybox` plus a relative symlink per applet
//! (`/bin/sh -> busybox`, `/usr/bin/env -> ../../bin/busybox`, ...), `/etc/hostname`,
//! `/etc/hosts`, `/etc/resolv.conf`, `/etc/passwd`, `/etc/group`, `/tmp` and `/root`.
//! An image without a shell (a container listed in the pod's
//! [`annotations::NO_SHELL`], `*`, or an image name containing `distroless`) gets the
//! same `/etc` files but no `/bin` at all, so `kubectl exec -- sh` fails the way it does
//! against a distroless image.
//!
//! Root filesystems and emptyDir directories are created lazily, on the first exec into
//! the container: the kubelet calls [`Runtime::prepare_pod`] for every pod it starts
//! (benchmarks start thousands), and that does no disk I/O at all. A rootfs is rebuilt when the container's image
//! changes, as a real container is recreated from its new image.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use serde_json::Value;

use crate::annotations;

/// Where busybox-static is installed on the host.
const HOST_BUSYBOX: &str = "/bin/busybox";

/// The PATH every container process gets unless its spec sets one (the default of
/// most images, and what runc falls back to).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

pub struct Runtime {
    root: PathBuf,
    /// Execs started per pod uid, for [`annotations::EXEC_FAIL`] `after-N`.
    exec_counts: Mutex<HashMap<String, u64>>,
    /// Per pod uid: flips to true when the pod's sandbox is removed, so running execs
    /// die with their container.
    stopped: Mutex<HashMap<String, tokio::sync::watch::Sender<bool>>>,
    /// Serialises the one-time build of the busybox image layer in `images/`.
    busybox_lock: Mutex<()>,
    /// Container logs, per container instance.
    pub logs: crate::logs::Logs,
}

/// A container's image as the sandbox sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageInfo {
    pub image: String,
    /// False for distroless-like images: no `/bin`, no shell, no utilities.
    pub has_shell: bool,
}

/// The container named `name` in the pod's `spec.containers`, `spec.initContainers` or
/// `spec.ephemeralContainers` (the set `podHasContainerWithName` checks in
/// pkg/registry/core/pod/strategy.go).
pub fn find_container<'a>(pod: &'a Value, name: &str) -> Option<&'a Value> {
    ["containers", "initContainers", "ephemeralContainers"]
        .iter()
        .filter_map(|f| pod["spec"][f].as_array())
        .flatten()
        .find(|c| c["name"].as_str() == Some(name))
}

/// The image of a container and whether it has a shell (see the module doc).
pub fn image_info(pod: &Value, container: &str) -> ImageInfo {
    let image = find_container(pod, container)
        .and_then(|c| c["image"].as_str())
        .unwrap_or("")
        .to_string();
    let listed = pod["metadata"]["annotations"][annotations::NO_SHELL]
        .as_str()
        .is_some_and(|v| v.split(',').map(str::trim).any(|c| c == "*" || c == container));
    ImageInfo {
        has_shell: !listed && !image.contains("distroless"),
        image,
    }
}

/// The hostname of a pod's containers: `spec.hostname` when set (StatefulSet pods get
/// their pod name there), else the pod name (pkg/kubelet/kubelet_pods.go GeneratePodHostNameAndDomain).
pub fn pod_hostname(pod: &Value) -> String {
    pod["spec"]["hostname"]
        .as_str()
        .filter(|h| !h.is_empty())
        .or_else(|| pod["metadata"]["name"].as_str())
        .unwrap_or("localhost")
        .to_string()
}

/// Whether `name` is usable as one path component (no separators, not `.`/`..`), so
/// that names taken from objects cannot escape the runtime root.
fn safe_component(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains('/') && !name.contains('\0')
}

fn invalid(what: &str, name: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, format!("invalid {what} {name:?}"))
}

/// Every applet busybox provides, asked once per process.
fn busybox_applets() -> &'static [String] {
    static APPLETS: OnceLock<Vec<String>> = OnceLock::new();
    APPLETS.get_or_init(|| {
        std::process::Command::new(HOST_BUSYBOX)
            .arg("--list-full")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.contains(".."))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    })
}

fn create_fresh_volume(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir.join("lost+found"))
}

impl Runtime {
    /// `root` holds `pods/<pod-uid>/...` and `volumes/<pv-name>/`.
    pub fn new(root: &Path) -> std::io::Result<Runtime> {
        std::fs::create_dir_all(root.join("pods"))?;
        std::fs::create_dir_all(root.join("volumes"))?;
        Ok(Runtime {
            root: root.to_path_buf(),
            exec_counts: Mutex::new(HashMap::new()),
            stopped: Mutex::new(HashMap::new()),
            busybox_lock: Mutex::new(()),
            logs: crate::logs::Logs::default(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The data directory of a persistent volume (created on first use, with the
    /// `lost+found/` of a fresh ext4 filesystem).
    ///
    /// A name that is not a single path component (`..`, `a/b`) maps to a harmless
    /// directory inside `volumes/` instead, so a caller's `remove_dir_all` on the result
    /// can never escape the runtime root.
    pub fn volume_dir(&self, pv_name: &str) -> PathBuf {
        if !safe_component(pv_name) {
            return self
                .root
                .join("volumes")
                .join(format!(".invalid-{}", pv_name.replace(['/', '\0'], "_")));
        }
        let dir = self.root.join("volumes").join(pv_name);
        if !dir.exists() {
            // Best effort: a failure shows up when the volume is mounted.
            let _ = create_fresh_volume(&dir);
        }
        dir
    }

    /// Like [`Runtime::volume_dir`], but reports a bad name or a failure to create it.
    pub fn ensure_volume(&self, pv_name: &str) -> io::Result<PathBuf> {
        if !safe_component(pv_name) {
            return Err(invalid("volume name", pv_name));
        }
        let dir = self.root.join("volumes").join(pv_name);
        if !dir.exists() {
            create_fresh_volume(&dir)?;
        }
        Ok(dir)
    }

    /// Everything of one pod (`pods/<uid>`).
    pub fn pod_dir(&self, pod_uid: &str) -> PathBuf {
        self.root.join("pods").join(pod_uid)
    }

    /// A pod-scoped volume directory (emptyDir, or a stand-in for configMap/secret/...).
    pub fn pod_volume_dir(&self, pod_uid: &str, volume: &str) -> io::Result<PathBuf> {
        if !safe_component(pod_uid) {
            return Err(invalid("pod uid", pod_uid));
        }
        if !safe_component(volume) {
            return Err(invalid("volume name", volume));
        }
        let dir = self.pod_dir(pod_uid).join("volumes").join(volume);
        std::fs::create_dir_all(&dir)?;
        Ok(dir)
    }

    /// Called by the kubelet before the pod's containers start. Idempotent and free of
    /// disk I/O (benchmarks start thousands of pods, and a loaded disk makes every
    /// mkdir count): it only checks the pod can be given a sandbox. Everything on disk
    /// (root filesystems, emptyDir directories) is created on first use, by exec —
    /// indistinguishable from inside the container.
    pub fn prepare_pod(&self, pod: &Value) -> std::io::Result<()> {
        let uid = pod["metadata"]["uid"].as_str().unwrap_or("");
        if !safe_component(uid) {
            return Err(invalid("pod uid", uid));
        }
        for c in ["containers", "initContainers"]
            .iter()
            .filter_map(|f| pod["spec"][f].as_array())
            .flatten()
        {
            let name = c["name"].as_str().unwrap_or("");
            if !safe_component(name) {
                return Err(invalid("container name", name));
            }
        }
        Ok(())
    }

    /// Remove everything of the pod that is not on a persistent volume.
    pub fn remove_pod(&self, pod_uid: &str) {
        if !safe_component(pod_uid) {
            return;
        }
        let _ = std::fs::remove_dir_all(self.pod_dir(pod_uid));
        self.exec_counts.lock().unwrap().remove(pod_uid);
        self.logs.remove_pod(pod_uid);
        if let Some(tx) = self.stopped.lock().unwrap().remove(pod_uid) {
            let _ = tx.send(true);
        }
    }

    /// Broken storage: empty a volume's data directory (a fresh `lost+found/` stays, as
    /// on a newly formatted disk).
    pub fn wipe_volume(&self, pv_name: &str) {
        if !safe_component(pv_name) {
            return;
        }
        let dir = self.root.join("volumes").join(pv_name);
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                let p = e.path();
                let _ = match e.file_type() {
                    Ok(t) if t.is_dir() => std::fs::remove_dir_all(&p),
                    _ => std::fs::remove_file(&p),
                };
            }
        }
        let _ = create_fresh_volume(&dir);
    }

    /// A receiver that becomes `true` when the pod's sandbox is removed (its containers
    /// are stopped): an exec holding it kills its process then, as processes exec'd
    /// into a container die with it.
    pub fn stopped(&self, pod_uid: &str) -> tokio::sync::watch::Receiver<bool> {
        let mut map = self.stopped.lock().unwrap();
        map.entry(pod_uid.to_string())
            .or_insert_with(|| tokio::sync::watch::channel(false).0)
            .subscribe()
    }

    /// Count one more exec into the pod; returns how many came before it.
    pub fn count_exec(&self, pod_uid: &str) -> u64 {
        let mut counts = self.exec_counts.lock().unwrap();
        let n = counts.entry(pod_uid.to_string()).or_insert(0);
        let before = *n;
        *n += 1;
        before
    }

    /// The container's root filesystem, built now if this is the first exec into it
    /// (or rebuilt if its image changed since). Concurrent first execs are safe: the
    /// tree is built aside and renamed into place.
    pub fn container_rootfs(&self, pod: &Value, container: &str) -> io::Result<PathBuf> {
        let uid = pod["metadata"]["uid"].as_str().unwrap_or("");
        if !safe_component(uid) {
            return Err(invalid("pod uid", uid));
        }
        if !safe_component(container) {
            return Err(invalid("container name", container));
        }
        let info = image_info(pod, container);
        let cdir = self.pod_dir(uid).join("containers").join(container);
        let rootfs = cdir.join("rootfs");
        let image_file = cdir.join("image");
        let recorded = std::fs::read_to_string(&image_file).ok();
        let want = format!(
            "{}\n{}\n",
            info.image,
            if info.has_shell { "shell" } else { "no-shell" }
        );
        if rootfs.is_dir() && recorded.as_deref() == Some(want.as_str()) {
            return Ok(rootfs);
        }
        if recorded.is_some() && recorded.as_deref() != Some(want.as_str()) {
            // New image: the container is recreated, its writable layer is gone.
            let _ = std::fs::remove_dir_all(&rootfs);
        }
        std::fs::create_dir_all(&cdir)?;
        let tmp = cdir.join(format!(".rootfs-{:016x}", rand::random::<u64>()));
        let built = self.build_rootfs(&tmp, pod, &info);
        if let Err(e) = built {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
        match std::fs::rename(&tmp, &rootfs) {
            Ok(()) => {}
            // Another exec built it first: use theirs.
            Err(_) if rootfs.is_dir() => {
                let _ = std::fs::remove_dir_all(&tmp);
            }
            Err(e) => {
                let _ = std::fs::remove_dir_all(&tmp);
                return Err(e);
            }
        }
        std::fs::write(&image_file, want)?;
        Ok(rootfs)
    }

    /// `images/busybox/`: the image's layer, built once per runtime: `bin/busybox` (a
    /// copy of the host's busybox on the runtime's filesystem) and one relative symlink
    /// per applet (`usr/bin/env -> ../../bin/busybox`: relative, so it resolves inside
    /// any rootfs, and from the host too, where exec resolves executables).
    fn busybox_image(&self) -> io::Result<PathBuf> {
        let img = self.root.join("images").join("busybox");
        if img.exists() {
            return Ok(img);
        }
        let _guard = self.busybox_lock.lock().unwrap();
        if img.exists() {
            return Ok(img);
        }
        std::fs::create_dir_all(self.root.join("images"))?;
        let tmp = self.root.join("images").join(".busybox.tmp");
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(tmp.join("bin"))?;
        std::fs::copy(HOST_BUSYBOX, tmp.join("bin/busybox"))?;
        for applet in busybox_applets() {
            let rel = applet.trim_start_matches('/');
            if rel == "bin/busybox" {
                continue;
            }
            let depth = rel.matches('/').count();
            let target = format!("{}bin/busybox", "../".repeat(depth));
            let link = tmp.join(rel);
            if let Some(parent) = link.parent() {
                std::fs::create_dir_all(parent)?;
            }
            match std::os::unix::fs::symlink(&target, &link) {
                Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e),
                _ => {}
            }
        }
        std::fs::rename(&tmp, &img)?;
        Ok(img)
    }

    fn build_rootfs(&self, dir: &Path, pod: &Value, info: &ImageInfo) -> io::Result<()> {
        use std::fs;
        for d in ["etc", "tmp", "root", "proc", "dev", "sys", "var/tmp", "run"] {
            fs::create_dir_all(dir.join(d))?;
        }
        set_mode(&dir.join("tmp"), 0o1777)?;
        set_mode(&dir.join("var/tmp"), 0o1777)?;
        let hostname = pod_hostname(pod);
        let ns = pod["metadata"]["namespace"].as_str().unwrap_or("default");
        fs::write(dir.join("etc/hostname"), format!("{hostname}\n"))?;
        fs::write(
            dir.join("etc/hosts"),
            format!(
                "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n{}\t{hostname}\n",
                pod["status"]["podIP"].as_str().unwrap_or("10.244.0.2")
            ),
        )?;
        fs::write(
            dir.join("etc/resolv.conf"),
            format!(
                "search {ns}.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n"
            ),
        )?;
        fs::write(
            dir.join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
        )?;
        fs::write(dir.join("etc/group"), "root:x:0:\nnogroup:x:65534:\n")?;
        fs::write(dir.join("etc/image"), format!("{}\n", info.image))?;
        if !info.has_shell {
            return Ok(());
        }
        copy_layer(&self.busybox_image()?, dir)
    }
}

/// Copy an image layer into a rootfs: directories are made, regular files and
/// symlinks are hard-linked. Sharing inodes is safe for what a layer holds: a symlink
/// cannot be changed in place, and busybox is only ever replaced, not written, by what
/// runs in a container. It is also what keeps the first exec into a new pod fast: on
/// a journaling filesystem every new inode (a symlink per applet) costs about a
/// millisecond, a hard link a few microseconds. Falls back to copying across
/// filesystems.
fn copy_layer(from: &Path, to: &Path) -> io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let dst = to.join(entry.file_name());
        if kind.is_dir() {
            copy_layer(&entry.path(), &dst)?;
            continue;
        }
        match std::fs::hard_link(entry.path(), &dst) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(_) if kind.is_symlink() => {
                std::os::unix::fs::symlink(std::fs::read_link(entry.path())?, &dst)?;
            }
            Err(_) => {
                std::fs::copy(entry.path(), &dst)?;
            }
        }
    }
    Ok(())
}

fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}
