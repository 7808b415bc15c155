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
/// `"true"`: the pod never schedules (Pending, PodScheduled=False, `FailedScheduling`).
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
];

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
