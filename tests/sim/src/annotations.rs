//! Faults and per-object knobs, switched on by annotations so that any test (and anyone
//! with kubectl) can reproduce them. Put them on a StatefulSet's pod template (they are
//! copied to its pods) or on a pod. Every value is a string, as annotations are.

/// `"true"`: containers start but the readiness probe never passes (Running, Ready=False,
/// `Unhealthy` events).
pub const NEVER_READY: &str = "sts-sim.dev/never-ready";
/// `"true"` or an exit code (default `"2"`): the container exits right after starting;
/// restarts count up and the pod shows `CrashLoopBackOff` with `lastState.terminated`.
pub const CRASH_LOOP: &str = "sts-sim.dev/crash-loop";
/// `"true"`: the image cannot be pulled: `ErrImagePull`, then `ImagePullBackOff`.
pub const IMAGE_PULL_FAIL: &str = "sts-sim.dev/image-pull-fail";
/// The pod never schedules (Pending, PodScheduled=False, `FailedScheduling`), for the
/// reason the value names (see [`Unschedulable`]): `"true"` (or `"node-affinity"`): no
/// node matches its node affinity/selector; `"volume-node-affinity"`: its
/// PersistentVolume is pinned to a node or zone no node is in.
pub const UNSCHEDULABLE: &str = "sts-sim.dev/unschedulable";
/// `"true"`: broken storage: the data on the pod's volumes is lost when the pod is
/// recreated (the volume directories are emptied before the new pod starts).
pub const DATA_LOSS: &str = "sts-sim.dev/data-loss";
/// `"always"`, `"after-N"` or `"only-N"`: exec fails (500, as a container runtime
/// error) always, for every exec after the first N into the pod, or for the exec that
/// has N before it alone (`only-0` is the first).
pub const EXEC_FAIL: &str = "sts-sim.dev/exec-fail";
/// `"always"`, `"after-N"` or `"only-N"` (as [`EXEC_FAIL`]): the exec's process runs to its end,
/// but its answer is lost: the connection closes with no output and no status, as when
/// the API server or kubelet connection breaks mid-exec. The client cannot tell whether
/// the command ran.
pub const EXEC_LOST_RESPONSE: &str = "sts-sim.dev/exec-lost-response";
/// As [`EXEC_LOST_RESPONSE`], but the connection stays open and silent (a stalled
/// network path) until the client closes it.
pub const EXEC_STALL: &str = "sts-sim.dev/exec-stall";
/// Comma-separated container names (or `"*"`) whose image has no shell and no
/// utilities, like a distroless image. An image whose name contains `distroless` is
/// treated the same way.
pub const NO_SHELL: &str = "sts-sim.dev/no-shell";
/// Durations (`"500ms"`, `"3s"`) that override the sim's `--pod-start-delay`,
/// `--pod-ready-delay` and `--termination-delay` for this pod (slow recreation).
pub const START_DELAY: &str = "sts-sim.dev/start-delay";
pub const READY_DELAY: &str = "sts-sim.dev/ready-delay";
pub const TERMINATION_DELAY: &str = "sts-sim.dev/termination-delay";

// Kubelet behaviour: termination, image pulls, volumes, container logs.

/// `"true"`: the containers ignore SIGTERM. A delete takes the whole grace period: the
/// pod stays running (Ready) with its deletionTimestamp, then at the deadline each
/// container is killed: `terminated`, exit code 137, reason `Error`, `finishedAt` at
/// the deadline (as watch-pods-sigterm-ignored.jsonl of a v1.26 server).
pub const IGNORE_SIGTERM: &str = "sts-sim.dev/ignore-sigterm";
/// A duration (`"1.5s"`, `"800ms"`): the image is not on the node and pulling it takes
/// that long (`Pulling`, then `Pulled` "Successfully pulled image ... in 1.5s"); the
/// containers wait in `ContainerCreating` meanwhile. Without it the image is already
/// present (`Pulled` "Container image ... already present on machine").
pub const IMAGE_PULL_SECONDS: &str = "sts-sim.dev/image-pull-seconds";
/// A duration or `"forever"`: attaching the pod's persistent volumes fails that long
/// (`FailedAttachVolume` from the attach/detach controller), the pod stays
/// `ContainerCreating`; then the attach succeeds (`SuccessfulAttachVolume`).
pub const ATTACH_FAIL: &str = "sts-sim.dev/attach-fail";
/// As [`ATTACH_FAIL`], with the `Multi-Attach error` of a ReadWriteOnce volume still
/// attached to another node.
pub const MULTI_ATTACH: &str = "sts-sim.dev/multi-attach";
/// A duration or `"forever"`: mounting the pod's persistent volumes fails that long
/// (`FailedMount` "MountVolume.SetUp failed for volume ...", then "Unable to attach or
/// mount volumes: ... timed out waiting for the condition"), `ContainerCreating`.
pub const MOUNT_FAIL: &str = "sts-sim.dev/mount-fail";
/// `"true"`: a transient `FailedMount` of the service-account token volume
/// ("failed to sync configmap cache") when the pod starts, that resolves on its own: noise.
pub const TOKEN_MOUNT_FLAKE: &str = "sts-sim.dev/token-mount-flake";
/// Text a [`CRASH_LOOP`] container writes to its log (a newline added) before each exit.
pub const CRASH_MESSAGE: &str = "sts-sim.dev/crash-message";
/// A duration: a [`CRASH_LOOP`] container is reported running that long before each
/// exit. A container without a readiness probe is Ready meanwhile, as the kubelet
/// reports it, so an OrderedReady rollout moves on past a crashing pod (a crash-on-start
/// template takes down two ordinals). Without it the container exits before the kubelet
/// reports it running, and is never Ready.
pub const CRASH_AFTER: &str = "sts-sim.dev/crash-after";

// Nodes: on the Node object.

/// On a Node: its kubelet stops posting status and acting on the API (see
/// [`KubeletStopped`]): the node lifecycle controller marks the node Ready=Unknown
/// (`NodeStatusUnknown`, "Kubelet stopped posting node status."), taints it
/// unreachable and marks its pods Ready=False; a pod deleted meanwhile stays
/// Terminating. `"true"`: the kubelet is down (exec and logs fail: "error dialing
/// backend"); `"partitioned"`: it runs but cannot reach the API server (exec and logs
/// still work). Remove it (or `"false"`) and the kubelet posts Ready again.
pub const KUBELET_STOPPED: &str = "sts-sim.dev/kubelet-stopped";

// Volume expansion: on a PVC (or its StatefulSet's claim template).

/// A duration: how long the storage backend takes to expand this claim's volume
/// (overrides the sim's `--resize-delay`).
pub const RESIZE_SECONDS: &str = "sts-sim.dev/resize-seconds";
/// `"true"` or an error text: every expansion of the claim's volume fails in the
/// backend (`VolumeResizeFailed` events, repeated with back-off; the claim stays
/// `Resizing` with `ControllerResizeError`); its capacity never changes.
pub const RESIZE_FAIL: &str = "sts-sim.dev/resize-fail";
/// `"true"`: the driver expands file systems offline only: `FileSystemResizePending`
/// stays while the pod that had the volume mounted runs, and the expansion completes
/// when a new pod mounts it (the pod is re-created).
pub const RESIZE_NEEDS_RESTART: &str = "sts-sim.dev/resize-needs-restart";

/// Every annotation above, for docs and validation.
pub const ALL: &[&str] = &[
    NEVER_READY,
    CRASH_LOOP,
    IMAGE_PULL_FAIL,
    UNSCHEDULABLE,
    DATA_LOSS,
    EXEC_FAIL,
    EXEC_LOST_RESPONSE,
    EXEC_STALL,
    NO_SHELL,
    START_DELAY,
    READY_DELAY,
    TERMINATION_DELAY,
    // kubelet behaviour
    IGNORE_SIGTERM,
    IMAGE_PULL_SECONDS,
    ATTACH_FAIL,
    MULTI_ATTACH,
    MOUNT_FAIL,
    TOKEN_MOUNT_FLAKE,
    CRASH_MESSAGE,
    CRASH_AFTER,
    // nodes
    KUBELET_STOPPED,
    // volume expansion
    RESIZE_SECONDS,
    RESIZE_FAIL,
    RESIZE_NEEDS_RESTART,
];

/// Why a pod carrying [`UNSCHEDULABLE`] fits no node: which scheduler plugin rejects it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unschedulable {
    /// NodeAffinity: "didn't match Pod's node affinity/selector".
    NodeAffinity,
    /// VolumeBinding: a bound PersistentVolume's node affinity matches no node.
    VolumeNodeAffinity,
}

impl Unschedulable {
    /// The fault an object's annotations ask for: None when absent or `"false"`; any
    /// value but `"volume-node-affinity"` is [`Unschedulable::NodeAffinity`].
    pub fn of(obj: &serde_json::Value) -> Option<Unschedulable> {
        match obj["metadata"]["annotations"][UNSCHEDULABLE].as_str()? {
            "false" => None,
            "volume-node-affinity" => Some(Unschedulable::VolumeNodeAffinity),
            _ => Some(Unschedulable::NodeAffinity),
        }
    }
}

/// How a Node's kubelet is stopped ([`KUBELET_STOPPED`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KubeletStopped {
    /// The kubelet is down: the API server cannot reach it either.
    Down,
    /// The kubelet runs but cannot reach the API server; the API server still reaches it.
    Partitioned,
}

impl KubeletStopped {
    /// The fault a Node's annotations ask for: None when absent or `"false"`; any value
    /// but `"partitioned"` is [`KubeletStopped::Down`].
    pub fn of(node: &serde_json::Value) -> Option<KubeletStopped> {
        match node["metadata"]["annotations"][KUBELET_STOPPED].as_str()? {
            "false" => None,
            "partitioned" => Some(KubeletStopped::Partitioned),
            _ => Some(KubeletStopped::Down),
        }
    }
}

/// Parse a duration annotation value: `"250ms"`, `"2s"`, `"1m"`, or bare seconds.
pub fn parse_duration(v: &str) -> Option<std::time::Duration> {
    let v = v.trim();
    let (num, unit) = match v.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => (&v[..i], &v[i..]),
        None => (v, "s"),
    };
    let n: f64 = num.parse().ok()?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return None,
    };
    Some(std::time::Duration::from_secs_f64(secs))
}

/// How long a fault with a duration holds: `Some(None)` for `"forever"`, `None` when
/// the annotation is absent or not a duration.
pub fn parse_hold(v: Option<&str>) -> Option<Option<std::time::Duration>> {
    match v?.trim() {
        "forever" => Some(None),
        d => parse_duration(d).map(Some),
    }
}
