//! The node: kube-scheduler's binding and the kubelet's pod lifecycle, one task per pod
//! (pkg/kubelet pod workers), with the sim's configurable delays.
//!
//! Status steps follow watch-pods.jsonl: PodScheduled=False/Unschedulable while a
//! claim is unbound (`FailedScheduling`), PodScheduled=True (`Scheduled`), then
//! Initialized + Ready/ContainersReady=False with containers `ContainerCreating`, then
//! Running (`Pulled`/`Created`/`Started`), then Ready after the ready delay and the
//! readiness probes' timing ([`prober`]). On deletion: `Killing`, Ready=False with
//! containers terminated, the final zero-grace delete, then the object is gone. Why a
//! pod does not fit the node is the [`scheduler`](super::scheduler)'s.
//!
//! Faults (crate::annotations): never-ready, crash-loop, image-pull-fail,
//! unschedulable, data-loss, and per-pod delays; on the Node, kubelet-stopped: the
//! workers then hold every pod where it is (a deletion included) until it is back.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::{Notify, broadcast, watch};

use super::events::{self, Source};
use super::prober;
use super::util::{self, is_terminating, name, uid};
use crate::annotations;
use crate::context::Context;
use crate::store::{EventType, Key, now_rfc3339};

const HOST_IP: &str = "198.18.1.1";

struct PodWorker {
    ns: String,
    tx: watch::Sender<Option<Arc<Value>>>,
    nudge: Arc<Notify>,
}

struct Node {
    ctx: Arc<Context>,
    /// Volumes a pod has used, for the data-loss fault.
    used_volumes: Mutex<HashSet<String>>,
    next_ip: AtomicU32,
    /// Whether this node's kubelet is stopped ([`annotations::KUBELET_STOPPED`] on the
    /// Node): it then neither posts pod status nor sees pod changes.
    stopped: watch::Sender<bool>,
}

impl Node {
    /// Follow the Node object's fault annotation; the scheduler also looks again (taints).
    fn observe_node(&self, workers: &HashMap<String, PodWorker>) {
        let key = Key::new("nodes", "", &self.ctx.config.node_name);
        let stopped = self
            .ctx
            .store
            .get(&key)
            .is_some_and(|n| annotations::KubeletStopped::of(&n).is_some());
        self.stopped
            .send_if_modified(|s| std::mem::replace(s, stopped) != stopped);
        for w in workers.values() {
            w.nudge.notify_one();
        }
    }
}

pub fn spawn(ctx: Arc<Context>) {
    let mut rx = ctx.store.subscribe();
    let node = Arc::new(Node {
        ctx: ctx.clone(),
        used_volumes: Mutex::new(HashSet::new()),
        next_ip: AtomicU32::new(10),
        stopped: watch::channel(false).0,
    });
    tokio::spawn(async move {
        let mut workers: HashMap<String, PodWorker> = HashMap::new();
        node.observe_node(&workers);
        for p in node.ctx.store.list("pods", None).0 {
            dispatch(&node, &mut workers, EventType::Added, p);
        }
        loop {
            match rx.recv().await {
                Ok(ev) if ev.key.plural == "pods" => dispatch(&node, &mut workers, ev.kind, ev.object),
                Ok(ev) if ev.key.plural == "persistentvolumeclaims" => {
                    for w in workers.values().filter(|w| w.ns == ev.key.namespace) {
                        w.nudge.notify_one();
                    }
                }
                Ok(ev) if ev.key.plural == "nodes" && ev.key.name == node.ctx.config.node_name => {
                    node.observe_node(&workers);
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => resync(&node, &mut workers),
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    });
}

/// After missing events: drop the workers of pods that are gone, hand every live pod
/// to its worker, and look at the node again.
fn resync(node: &Arc<Node>, workers: &mut HashMap<String, PodWorker>) {
    let live: HashMap<String, Arc<Value>> = node
        .ctx
        .store
        .list("pods", None)
        .0
        .into_iter()
        .map(|p| (uid(&p).to_string(), p))
        .collect();
    let gone: Vec<String> = workers.keys().filter(|u| !live.contains_key(*u)).cloned().collect();
    for u in gone {
        if let Some(w) = workers.remove(&u) {
            let _ = w.tx.send(None);
        }
        node.ctx.runtime.remove_pod(&u);
    }
    for p in live.into_values() {
        dispatch(node, workers, EventType::Modified, p);
    }
    node.observe_node(workers);
}

fn dispatch(node: &Arc<Node>, workers: &mut HashMap<String, PodWorker>, kind: EventType, pod: Arc<Value>) {
    let pod_uid = uid(&pod).to_string();
    if kind == EventType::Deleted {
        if let Some(w) = workers.remove(&pod_uid) {
            let _ = w.tx.send(None);
        }
        node.ctx.runtime.remove_pod(&pod_uid);
        return;
    }
    if let Some(w) = workers.get(&pod_uid) {
        let _ = w.tx.send(Some(pod));
        return;
    }
    let (tx, rx) = watch::channel(Some(pod.clone()));
    let nudge = Arc::new(Notify::new());
    workers.insert(
        pod_uid,
        PodWorker {
            ns: util::namespace(&pod).to_string(),
            tx,
            nudge: nudge.clone(),
        },
    );
    let node = node.clone();
    tokio::spawn(async move {
        let mut w = Worker {
            stopped: node.stopped.subscribe(),
            node,
            rx,
            nudge,
            key: Key::new("pods", util::namespace(&pod), name(&pod)),
            uid: uid(&pod).to_string(),
            probe_epoch: tokio::time::Instant::now(),
        };
        w.run().await;
    });
}

/// Why a pod worker stops what it is doing.
enum Stop {
    /// The pod is terminating: shut it down.
    Terminate,
    /// The pod object is gone.
    Gone,
}

struct Worker {
    node: Arc<Node>,
    rx: watch::Receiver<Option<Arc<Value>>>,
    nudge: Arc<Notify>,
    /// The node's kubelet is stopped: nothing of the pod moves.
    stopped: watch::Receiver<bool>,
    key: Key,
    uid: String,
    /// When the kubelet took the pod on (prober manager AddPod): the readiness probe
    /// worker's ticks count from here.
    probe_epoch: tokio::time::Instant,
}

fn ann<'a>(pod: &'a Value, a: &str) -> Option<&'a str> {
    pod["metadata"]["annotations"][a].as_str()
}

fn flag(pod: &Value, a: &str) -> bool {
    ann(pod, a).is_some_and(|v| v != "false")
}

fn delay(pod: &Value, a: &str, default: Duration) -> Duration {
    ann(pod, a).and_then(annotations::parse_duration).unwrap_or(default)
}

fn containers(pod: &Value) -> Vec<Value> {
    pod["spec"]["containers"].as_array().cloned().unwrap_or_default()
}

fn container_names(pod: &Value) -> Vec<String> {
    containers(pod)
        .iter()
        .map(|c| c["name"].as_str().unwrap_or("").to_string())
        .collect()
}

/// `nginx` -> `docker.io/library/nginx:latest`, as containerd reports images.
fn image_ref(image: &str) -> String {
    let last = image.rsplit('/').next().unwrap_or(image);
    let tagged = if last.contains(':') || last.contains('@') {
        image.to_string()
    } else {
        format!("{image}:latest")
    };
    let first = tagged.split('/').next().unwrap_or("");
    if !tagged.contains('/') {
        format!("docker.io/library/{tagged}")
    } else if first.contains('.') || first.contains(':') || first == "localhost" {
        tagged
    } else {
        format!("docker.io/{tagged}")
    }
}

fn hex64(seed: &str) -> String {
    let mut out = String::new();
    let mut h = super::revisions::fnv1_32(seed.as_bytes());
    while out.len() < 64 {
        h = h.wrapping_mul(0x0100_0193) ^ 0x5bd1_e995;
        out.push_str(&format!("{h:08x}"));
    }
    out
}

fn unready_message(pod: &Value) -> String {
    format!("containers with unready status: [{}]", container_names(pod).join(" "))
}

fn cond(type_: &str, status: bool, since: &str, reason: Option<&str>, message: Option<String>) -> Value {
    let mut c = json!({"type": type_, "status": if status { "True" } else { "False" }, "lastProbeTime": null, "lastTransitionTime": since});
    if let Some(r) = reason {
        c["reason"] = json!(r);
    }
    if let Some(m) = message {
        c["message"] = json!(m);
    }
    c
}

impl Worker {
    fn ctx(&self) -> &Context {
        &self.node.ctx
    }

    fn current(&self) -> Option<Arc<Value>> {
        self.rx.borrow().clone()
    }

    /// The pod now, or why to stop.
    fn check(&self) -> Result<Arc<Value>, Stop> {
        match self.current() {
            None => Err(Stop::Gone),
            Some(p) if is_terminating(&p) => Err(Stop::Terminate),
            Some(p) => Ok(p),
        }
    }

    /// Sleep, waking early to stop; a stopped kubelet holds the pod where it is.
    async fn pause(&mut self, d: Duration) -> Result<(), Stop> {
        let deadline = tokio::time::Instant::now() + d;
        loop {
            self.check()?;
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => break,
                r = self.rx.changed() => if r.is_err() { return Err(Stop::Gone) },
            }
        }
        self.kubelet_up().await
    }

    /// While the node's kubelet is stopped ([`annotations::KUBELET_STOPPED`]) it sees
    /// no change of the pod (a delete included) and posts nothing: wait until it is
    /// back, or until the pod object is gone (a force delete needs no kubelet). A pod
    /// not on the node yet is the scheduler's, not the kubelet's.
    async fn kubelet_up(&mut self) -> Result<(), Stop> {
        loop {
            let Some(pod) = self.current() else {
                return Err(Stop::Gone);
            };
            if !*self.stopped.borrow_and_update() || pod["spec"]["nodeName"].as_str().is_none_or(str::is_empty) {
                return Ok(());
            }
            tokio::select! {
                r = self.rx.changed() => if r.is_err() { return Err(Stop::Gone) },
                r = self.stopped.changed() => if r.is_err() { return Err(Stop::Gone) },
            }
        }
    }

    /// Running: follow the pod until it is deleted. A kubelet that was stopped posts the
    /// pod's status again when it is back (status manager syncPod): Ready as its
    /// containers are, undoing the node lifecycle controller's MarkPodsNotReady.
    async fn steady(&mut self) -> Result<(), Stop> {
        loop {
            self.wait_change().await?;
            // Stopped (or stopped and back) since the last look?
            let was_stopped = self.stopped.has_changed().unwrap_or(false);
            self.kubelet_up().await?;
            if !was_stopped {
                continue;
            }
            let containers_ready = |p: &Value| {
                let statuses = p["status"]["containerStatuses"].as_array();
                statuses.is_some_and(|cs| cs.iter().all(|c| c["ready"] == true))
            };
            if self
                .current()
                .is_some_and(|p| containers_ready(&p) && !util::pod_ready(&p))
            {
                let now = now_rfc3339();
                self.write(|p| set_ready_conditions(&mut p["status"], &now));
            }
        }
    }

    /// Wait for a change of the pod or of a claim in its namespace.
    async fn wait_change(&mut self) -> Result<(), Stop> {
        tokio::select! {
            r = self.rx.changed() => if r.is_err() { return Err(Stop::Gone) },
            _ = self.nudge.notified() => {}
        }
        self.check().map(|_| ())
    }

    /// Write the pod's status (kubelet status manager); skipped when unchanged.
    fn write(&self, f: impl FnOnce(&mut Value)) -> Option<Arc<Value>> {
        let uid = self.uid.clone();
        self.ctx()
            .store
            .modify(&self.key, |p| {
                if util::uid(p) != uid {
                    return Err(crate::error::ApiError::new(409, "Conflict", "pod was replaced"));
                }
                f(p);
                Ok(())
            })
            .ok()
    }

    fn event(&self, pod: &Value, container: Option<&str>, type_: &str, reason: &str, message: &str) {
        let fp = container.map(|c| format!("spec.containers{{{c}}}"));
        events::record_from(
            &self.ctx().store,
            pod,
            type_,
            reason,
            message,
            &Source {
                component: "kubelet",
                host: Some(&self.ctx().config.node_name),
                field_path: fp.as_deref(),
            },
        );
    }

    async fn run(&mut self) {
        let r = self.lifecycle().await;
        // A stopped kubelet does not see the deletion: the pod stays Terminating.
        if let Err(Stop::Terminate) = r
            && self.kubelet_up().await.is_ok()
        {
            self.terminate().await;
        }
    }

    async fn lifecycle(&mut self) -> Result<(), Stop> {
        self.schedule().await?;
        self.probe_epoch = tokio::time::Instant::now();
        let pod = self.check()?;
        if util::phase(&pod) == "Running" && pod["status"]["containerStatuses"].is_array() {
            // Already running (the sim restarted over a saved store): just follow it.
            return self.steady().await;
        }
        let start_delay = delay(&pod, annotations::START_DELAY, self.ctx().config.pod_start_delay);
        let ready_delay = delay(&pod, annotations::READY_DELAY, self.ctx().config.pod_ready_delay);
        self.container_creating();
        let pod = self.check()?;
        if flag(&pod, annotations::TOKEN_MOUNT_FLAKE) {
            self.token_mount_flake(&pod);
        }
        self.volume_faults().await?;
        self.pause(start_delay).await?;
        let pod = self.check()?;
        if flag(&pod, annotations::IMAGE_PULL_FAIL) {
            return self.image_pull_backoff().await;
        }
        let pulled = self.pull_images().await?;
        let pod = self.check()?;
        self.prepare_volumes(&pod).await;
        if let Some(code) = ann(&pod, annotations::CRASH_LOOP).filter(|v| *v != "false") {
            let code: i64 = code.parse().unwrap_or(2);
            return self.crash_loop(code, pulled).await;
        }
        self.start_and_probe(&pod, ready_delay, pulled).await
    }

    /// Start the containers; the pod is Ready when its readiness probes first pass: the
    /// sim's ready delay, and never before the prober's first probe after
    /// `initialDelaySeconds` ([`prober::until_ready`]).
    async fn start_and_probe(&mut self, pod: &Value, ready_delay: Duration, pulled: bool) -> Result<(), Stop> {
        let never_ready = flag(pod, annotations::NEVER_READY);
        let ready_after = ready_delay.max(prober::until_ready(pod, self.probe_epoch.elapsed()));
        let ready_now = !never_ready && ready_after.is_zero();
        self.start_containers(pod, ready_now, pulled);
        if never_ready {
            loop {
                let pod = self.check()?;
                for c in container_names(&pod) {
                    self.event(&pod, Some(&c), "Warning", "Unhealthy", "Readiness probe failed: ");
                }
                self.pause(Duration::from_secs(2)).await?;
            }
        }
        if !ready_now {
            self.pause(ready_after).await?;
            self.set_ready();
        }
        self.steady().await
    }

    /// The scheduler: bind once every claim of the pod is bound.
    async fn schedule(&mut self) -> Result<(), Stop> {
        let mut reported: Option<String> = None;
        loop {
            let pod = self.check()?;
            if pod["spec"]["nodeName"].as_str().is_some_and(|n| !n.is_empty()) {
                return Ok(());
            }
            match super::scheduler::unschedulable_reason(self.ctx(), &pod) {
                Some(msg) => {
                    if reported.as_deref() != Some(msg.as_str()) {
                        let now = now_rfc3339();
                        let m = msg.clone();
                        if let Some(p) = self.write(|p| {
                            p["status"]["phase"] = json!("Pending");
                            p["status"]["conditions"] =
                                json!([cond("PodScheduled", false, &now, Some("Unschedulable"), Some(m))]);
                        }) {
                            events::record_scheduler(
                                &self.ctx().store,
                                &p,
                                "Warning",
                                "FailedScheduling",
                                "Scheduling",
                                &msg,
                            );
                        }
                        reported = Some(msg);
                    }
                    self.wait_change().await?;
                }
                None => {
                    let node = self.ctx().config.node_name.clone();
                    let now = now_rfc3339();
                    let before = pod.clone();
                    self.write(|p| {
                        p["spec"]["nodeName"] = json!(node);
                        p["status"]["conditions"] = json!([cond("PodScheduled", true, &now, None, None)]);
                    });
                    let msg = format!(
                        "Successfully assigned {}/{} to {node}",
                        util::namespace(&pod),
                        name(&pod)
                    );
                    events::record_scheduler(&self.ctx().store, &before, "Normal", "Scheduled", "Binding", &msg);
                    // Continue with the bound pod once its event arrives.
                    while self
                        .current()
                        .is_some_and(|p| p["spec"]["nodeName"].as_str().is_none_or(str::is_empty))
                    {
                        self.wait_change().await?;
                    }
                    return Ok(());
                }
            }
        }
    }

    fn container_creating(&self) {
        let now = now_rfc3339();
        self.write(|p| {
            let msg = unready_message(p);
            let scheduled = util::condition(p, "PodScheduled")
                .and_then(|c| c["lastTransitionTime"].as_str())
                .unwrap_or(&now)
                .to_string();
            let statuses: Vec<Value> = containers(p)
                .iter()
                .map(|c| {
                    json!({"name": c["name"], "state": {"waiting": {"reason": "ContainerCreating"}}, "lastState": {},
                           "ready": false, "restartCount": 0, "image": c["image"], "imageID": "", "started": false})
                })
                .collect();
            let st = &mut p["status"];
            st["phase"] = json!("Pending");
            st["conditions"] = json!([
                cond("Initialized", true, &now, None, None),
                cond("Ready", false, &now, Some("ContainersNotReady"), Some(msg.clone())),
                cond("ContainersReady", false, &now, Some("ContainersNotReady"), Some(msg)),
                cond("PodScheduled", true, &scheduled, None, None),
            ]);
            st["hostIP"] = json!(HOST_IP);
            st["hostIPs"] = json!([{"ip": HOST_IP}]);
            st["startTime"] = json!(now);
            st["containerStatuses"] = Value::Array(statuses);
        });
    }

    /// Mount the pod's volumes: create the sandbox; for the data-loss fault, wipe a
    /// volume that an earlier pod used.
    async fn prepare_volumes(&self, pod: &Arc<Value>) {
        let ns = util::namespace(pod);
        let mut pvs = Vec::new();
        for v in pod["spec"]["volumes"].as_array().into_iter().flatten() {
            if let Some(c) = v["persistentVolumeClaim"]["claimName"].as_str()
                && let Some(claim) = self.ctx().store.get(&Key::new("persistentvolumeclaims", ns, c))
                && let Some(pv) = claim["spec"]["volumeName"].as_str()
            {
                pvs.push(pv.to_string());
            }
        }
        let data_loss = flag(pod, annotations::DATA_LOSS);
        for pv in &pvs {
            let seen = !self.node.used_volumes.lock().unwrap().insert(pv.clone());
            if data_loss && seen {
                self.ctx().runtime.wipe_volume(pv);
            }
        }
        let ctx = self.node.ctx.clone();
        let p = pod.clone();
        let _ = tokio::task::spawn_blocking(move || ctx.runtime.prepare_pod(&p)).await;
    }

    /// [`annotations::IMAGE_PULL_SECONDS`]: the image is not on the node. Per container
    /// `Pulling`, the pull, then `Pulled` with the kubelet's message (pkg/kubelet/images
    /// image_manager.go EnsureImageExists). Returns whether images were pulled.
    async fn pull_images(&mut self) -> Result<bool, Stop> {
        let pod = self.check()?;
        let Some(d) = ann(&pod, annotations::IMAGE_PULL_SECONDS).and_then(annotations::parse_duration) else {
            return Ok(false);
        };
        for c in containers(&pod) {
            let cname = c["name"].as_str().unwrap_or("");
            let image = c["image"].as_str().unwrap_or("");
            self.event(
                &pod,
                Some(cname),
                "Normal",
                "Pulling",
                &format!("Pulling image \"{image}\""),
            );
            let started = tokio::time::Instant::now();
            self.pause(d).await?;
            let took = go_duration(started.elapsed().max(d));
            let pulled = go_duration(d);
            let size = 10_000_000 + u64::from(super::revisions::fnv1_32(image.as_bytes())) % 90_000_000;
            let msg = format!(
                "Successfully pulled image \"{image}\" in {pulled} ({took} including waiting). Image size: {size} bytes."
            );
            self.event(&pod, Some(cname), "Normal", "Pulled", &msg);
        }
        Ok(true)
    }

    /// [`annotations::TOKEN_MOUNT_FLAKE`]: the transient failure of the service-account
    /// token volume a fresh pod can show (watch-events-sigterm-ignored.jsonl); it
    /// resolves by itself on the kubelet's next try.
    fn token_mount_flake(&self, pod: &Value) {
        let suffix: String = hex64(&self.uid)
            .chars()
            .filter(|c| c.is_ascii_lowercase())
            .take(5)
            .collect();
        let vol = pod["spec"]["volumes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v["name"].as_str())
            .find(|n| n.starts_with("kube-api-access-"))
            .map_or_else(|| format!("kube-api-access-{suffix:a<5}"), str::to_string);
        let msg = format!(
            "MountVolume.SetUp failed for volume \"{vol}\" : failed to sync configmap cache: timed out waiting for the condition"
        );
        self.event(pod, None, "Warning", "FailedMount", &msg);
    }

    /// Volume faults ([`annotations::ATTACH_FAIL`], [`annotations::MULTI_ATTACH`],
    /// [`annotations::MOUNT_FAIL`]): hold the pod in `ContainerCreating` while its
    /// persistent volumes cannot be attached (the attach/detach controller's
    /// `FailedAttachVolume`, pkg/controller/volume/attachdetach/reconciler) or mounted
    /// (the kubelet's `FailedMount`, pkg/kubelet/volumemanager WaitForAttachAndMount),
    /// retrying about every second; the kubelet's 2-minute wait for volumes is scaled
    /// down to 1 s before its "Unable to attach or mount volumes" event.
    async fn volume_faults(&mut self) -> Result<(), Stop> {
        let pod = self.check()?;
        let vols = claim_volumes(self.ctx(), &pod);
        if vols.is_empty() {
            return Ok(());
        }
        let names: Vec<&str> = {
            let mut n: Vec<&str> = vols.iter().map(|(v, _)| v.as_str()).collect();
            n.sort();
            n
        };
        let list = names.join(" ");
        let multi = annotations::parse_hold(ann(&pod, annotations::MULTI_ATTACH));
        let attach = multi.or_else(|| annotations::parse_hold(ann(&pod, annotations::ATTACH_FAIL)));
        if let Some(hold) = attach {
            let adc = Source {
                component: "attachdetach-controller",
                host: None,
                field_path: None,
            };
            let timeout = format!(
                "Unable to attach or mount volumes: unmounted volumes=[{list}], unattached volumes=[{list}]: timed out waiting for the condition"
            );
            self.hold(hold, &timeout, |w, pod| {
                for (_, pv) in &vols {
                    let msg = if multi.is_some() {
                        format!(
                            "Multi-Attach error for volume \"{pv}\" Volume is already exclusively attached to one node and can't be attached to another"
                        )
                    } else {
                        format!(
                            "AttachVolume.Attach failed for volume \"{pv}\" : rpc error: code = DeadlineExceeded desc = context deadline exceeded"
                        )
                    };
                    events::record_from(&w.ctx().store, pod, "Warning", "FailedAttachVolume", &msg, &adc);
                }
            })
            .await?;
            let pod = self.check()?;
            for (_, pv) in &vols {
                let msg = format!("AttachVolume.Attach succeeded for volume \"{pv}\" ");
                events::record_from(&self.ctx().store, &pod, "Normal", "SuccessfulAttachVolume", &msg, &adc);
            }
        }
        if let Some(hold) = annotations::parse_hold(ann(&pod, annotations::MOUNT_FAIL)) {
            let timeout = format!(
                "Unable to attach or mount volumes: unmounted volumes=[{list}], unattached volumes=[]: timed out waiting for the condition"
            );
            self.hold(hold, &timeout, |w, pod| {
                for (_, pv) in &vols {
                    let msg = format!(
                        "MountVolume.SetUp failed for volume \"{pv}\" : rpc error: code = Internal desc = mount failed: exit status 32"
                    );
                    w.event(pod, None, "Warning", "FailedMount", &msg);
                }
            })
            .await?;
        }
        Ok(())
    }

    /// Repeat `fail` about every second for `hold` (None: until the pod goes), with the
    /// kubelet's timeout event once a second has passed.
    async fn hold(
        &mut self,
        hold: Option<Duration>,
        timeout: &str,
        fail: impl Fn(&Worker, &Value),
    ) -> Result<(), Stop> {
        let start = tokio::time::Instant::now();
        let mut timed_out = false;
        loop {
            let elapsed = start.elapsed();
            if hold.is_some_and(|h| elapsed >= h) {
                return Ok(());
            }
            let pod = self.check()?;
            if !timed_out && elapsed >= Duration::from_secs(1) {
                self.event(&pod, None, "Warning", "FailedMount", timeout);
                timed_out = true;
            }
            fail(self, &pod);
            let step = Duration::from_secs(1).min(hold.map_or(Duration::MAX, |h| h.saturating_sub(elapsed)));
            self.pause(step).await?;
        }
    }

    fn container_ids(&self, pod: &Value, restart: i64) -> Vec<String> {
        container_names(pod)
            .iter()
            .map(|c| format!("containerd://{}", hex64(&format!("{}/{c}/{restart}", self.uid))))
            .collect()
    }

    /// `Pulled` (unless the image was just pulled: [`Worker::pull_images`] said so),
    /// `Created`, `Started` per container (kuberuntime_container.go startContainer).
    fn start_events(&self, pod: &Value, pulled: bool) {
        for c in containers(pod) {
            let cname = c["name"].as_str().unwrap_or("");
            let image = c["image"].as_str().unwrap_or("");
            if !pulled {
                let msg = format!("Container image \"{image}\" already present on machine");
                self.event(pod, Some(cname), "Normal", "Pulled", &msg);
            }
            self.event(
                pod,
                Some(cname),
                "Normal",
                "Created",
                &format!("Created container {cname}"),
            );
            self.event(
                pod,
                Some(cname),
                "Normal",
                "Started",
                &format!("Started container {cname}"),
            );
        }
    }

    fn pod_ip(&self) -> String {
        let n = self.node.next_ip.fetch_add(1, Ordering::Relaxed);
        format!("198.19.{}.{}", (n / 250) % 250, n % 250 + 1)
    }

    fn start_containers(&self, pod: &Value, ready: bool, pulled: bool) {
        self.start_events(pod, pulled);
        let now = now_rfc3339();
        let ip = self.pod_ip();
        let ids = self.container_ids(pod, 0);
        self.write(|p| {
            let statuses: Vec<Value> = containers(p)
                .iter()
                .zip(ids)
                .map(|(c, id)| {
                    let image = c["image"].as_str().unwrap_or("");
                    json!({"name": c["name"], "state": {"running": {"startedAt": now}}, "lastState": {},
                           "ready": ready, "restartCount": 0, "image": image_ref(image),
                           "imageID": format!("sha256:{}", hex64(&image_ref(image))), "containerID": id, "started": true})
                })
                .collect();
            let st = &mut p["status"];
            st["phase"] = json!("Running");
            st["podIP"] = json!(ip);
            st["podIPs"] = json!([{"ip": ip}]);
            st["containerStatuses"] = Value::Array(statuses);
            if ready {
                set_ready_conditions(st, &now);
            }
        });
    }

    fn set_ready(&self) {
        let now = now_rfc3339();
        self.write(|p| {
            if let Some(cs) = p["status"]["containerStatuses"].as_array_mut() {
                for c in cs {
                    c["ready"] = json!(true);
                }
            }
            set_ready_conditions(&mut p["status"], &now);
        });
    }

    /// ErrImagePull, then ImagePullBackOff, retried with a short bounded back-off.
    async fn image_pull_backoff(&mut self) -> Result<(), Stop> {
        let mut backoff = Duration::from_millis(250);
        loop {
            let pod = self.check()?;
            for c in containers(&pod) {
                let cname = c["name"].as_str().unwrap_or("");
                let image = c["image"].as_str().unwrap_or("");
                self.event(
                    &pod,
                    Some(cname),
                    "Normal",
                    "Pulling",
                    &format!("Pulling image \"{image}\""),
                );
                let why = format!(
                    "rpc error: code = Unknown desc = failed to pull and unpack image \"{}\": failed to resolve reference \"{}\": not found",
                    image_ref(image),
                    image_ref(image)
                );
                self.event(
                    &pod,
                    Some(cname),
                    "Warning",
                    "Failed",
                    &format!("Failed to pull image \"{image}\": {why}"),
                );
                self.event(&pod, Some(cname), "Warning", "Failed", "Error: ErrImagePull");
                self.set_waiting("ErrImagePull", &why);
            }
            self.pause(backoff).await?;
            let pod = self.check()?;
            for c in containers(&pod) {
                let cname = c["name"].as_str().unwrap_or("");
                let image = c["image"].as_str().unwrap_or("");
                let msg = format!("Back-off pulling image \"{image}\"");
                self.event(&pod, Some(cname), "Normal", "BackOff", &msg);
                self.event(&pod, Some(cname), "Warning", "Failed", "Error: ImagePullBackOff");
                self.set_waiting("ImagePullBackOff", &msg);
            }
            self.pause(backoff).await?;
            backoff = (backoff * 2).min(Duration::from_secs(3));
        }
    }

    fn set_waiting(&self, reason: &str, message: &str) {
        self.write(|p| {
            if let Some(cs) = p["status"]["containerStatuses"].as_array_mut() {
                for c in cs {
                    c["state"] = json!({"waiting": {"reason": reason, "message": message}});
                }
            }
        });
    }

    /// The containers exit with `code` shortly after each start, as a kubelet records it
    /// (kuberuntime_manager.go computePodActions/doBackOff, kubelet_pods.go
    /// convertToAPIContainerStatuses):
    /// - with [`annotations::CRASH_AFTER`], each instance is reported `running` that
    ///   long; a container without a readiness probe is Ready meanwhile (the brief Ready
    ///   blip), so the pod is Ready=True for that moment. Without it the container exits
    ///   before the kubelet reports it running (as a crash-on-start often does);
    /// - it writes [`annotations::CRASH_MESSAGE`] to its log and exits: `terminated`
    ///   (reason `Error`), Ready=False;
    /// - the first restart is immediate (no back-off entry yet); after each later exit
    ///   `waiting: CrashLoopBackOff` with `lastState.terminated` and a `BackOff` event,
    ///   for the kubelet's back-off (10s doubling, capped at 5m) scaled down five times;
    /// - `restartCount` counts the instances that exited before the current one.
    async fn crash_loop(&mut self, code: i64, mut pulled: bool) -> Result<(), Stop> {
        let ip = self.pod_ip();
        let mut restarts = 0i64;
        let mut last: Vec<Value> = Vec::new();
        loop {
            let pod = self.check()?;
            let run_for = ann(&pod, annotations::CRASH_AFTER).and_then(annotations::parse_duration);
            let message = ann(&pod, annotations::CRASH_MESSAGE).map(str::to_string);
            self.start_events(&pod, pulled);
            pulled = false;
            let started = now_rfc3339();
            let ids = self.container_ids(&pod, restarts);
            let ready: Vec<bool> = containers(&pod).iter().map(|c| c["readinessProbe"].is_null()).collect();
            let all_ready = ready.iter().all(|r| *r);
            let prev = last.clone();
            if let Some(run_for) = run_for {
                self.write(|p| {
                    let statuses: Vec<Value> = containers(p)
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        let image = c["image"].as_str().unwrap_or("");
                        let last_state = prev.get(i).map_or(json!({}), |t| json!({"terminated": t}));
                        json!({"name": c["name"], "state": {"running": {"startedAt": started}}, "lastState": last_state,
                               "ready": ready.get(i).copied().unwrap_or(false), "restartCount": restarts,
                               "image": image_ref(image), "imageID": format!("sha256:{}", hex64(&image_ref(image))),
                               "containerID": ids.get(i), "started": true})
                    })
                    .collect();
                    let st = &mut p["status"];
                    st["phase"] = json!("Running");
                    st["podIP"] = json!(ip);
                    st["podIPs"] = json!([{"ip": ip}]);
                    st["containerStatuses"] = Value::Array(statuses);
                    if all_ready {
                        set_ready_conditions(st, &started);
                    }
                });
                self.pause(run_for).await?;
            }
            let pod = self.check()?;
            if let Some(m) = &message {
                for id in &ids {
                    self.ctx().runtime.logs.append(&self.uid, id, m);
                }
            }
            let finished = now_rfc3339();
            last = ids
                .iter()
                .map(|id| {
                    json!({"exitCode": code, "reason": "Error", "startedAt": started,
                                 "finishedAt": finished, "containerID": id})
                })
                .collect();
            let exited = last.clone();
            let ids_now = ids.clone();
            self.write(|p| {
                let msg = unready_message(p);
                let statuses: Vec<Value> = containers(p)
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        let image = c["image"].as_str().unwrap_or("");
                        let last_state = prev.get(i).map_or(json!({}), |t| json!({"terminated": t}));
                        json!({"name": c["name"], "state": {"terminated": exited.get(i)}, "lastState": last_state,
                               "ready": false, "restartCount": restarts, "image": image_ref(image),
                               "imageID": format!("sha256:{}", hex64(&image_ref(image))),
                               "containerID": ids_now.get(i), "started": false})
                    })
                    .collect();
                let st = &mut p["status"];
                st["phase"] = json!("Running");
                st["podIP"] = json!(ip);
                st["podIPs"] = json!([{"ip": ip}]);
                st["containerStatuses"] = Value::Array(statuses);
                set_unready_conditions(st, &finished, &msg);
            });
            if restarts > 0 {
                // Back-off: 10s << (exits in back-off - 1), capped at 300s (the kubelet's);
                // the sim waits a fifth of it.
                let secs = (10u64 << (restarts - 1).min(5)).min(300);
                let pod_desc = format!("{}_{}({})", name(&pod), util::namespace(&pod), self.uid);
                let exited = last.clone();
                self.write(|p| {
                    if let Some(cs) = p["status"]["containerStatuses"].as_array_mut() {
                        for (c, t) in cs.iter_mut().zip(&exited) {
                            let cname = c["name"].as_str().unwrap_or("").to_string();
                            c["state"] = json!({"waiting": {"reason": "CrashLoopBackOff",
                                "message": format!("back-off {secs}s restarting failed container={cname} pod={pod_desc}")}});
                            c["lastState"] = json!({"terminated": t});
                        }
                    }
                });
                for c in container_names(&pod) {
                    let msg = format!("Back-off restarting failed container {c} in pod {pod_desc}");
                    self.event(&pod, Some(&c), "Warning", "BackOff", &msg);
                }
                self.pause(Duration::from_millis(secs * 1000 / 5)).await?;
            }
            restarts += 1;
        }
    }

    /// Graceful termination: Killing, containers stopped (Ready=False), then after
    /// min(termination delay, grace period) the final zero-grace delete.
    async fn terminate(&mut self) {
        let Some(pod) = self.current() else { return };
        let store = self.ctx().store.clone();
        let grace = pod["metadata"]["deletionGracePeriodSeconds"].as_i64().unwrap_or(30);
        if grace > 0 && pod["spec"]["nodeName"].as_str().is_some_and(|n| !n.is_empty()) {
            let started = pod["status"]["containerStatuses"]
                .as_array()
                .is_some_and(|cs| cs.iter().any(|c| !c["state"]["running"].is_null()));
            if started {
                for c in container_names(&pod) {
                    self.event(&pod, Some(&c), "Normal", "Killing", &format!("Stopping container {c}"));
                }
            }
            if started && flag(&pod, annotations::IGNORE_SIGTERM) {
                return self.kill_at_deadline(&pod, grace).await;
            }
            let now = now_rfc3339();
            self.write(|p| {
                let msg = unready_message(p);
                if let Some(cs) = p["status"]["containerStatuses"].as_array_mut() {
                    for c in cs {
                        if let Some(run) = c["state"]["running"].as_object() {
                            let since = run.get("startedAt").cloned().unwrap_or(json!(now));
                            c["state"] = json!({"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": since,
                                                "finishedAt": now, "containerID": c["containerID"]}});
                        }
                        c["ready"] = json!(false);
                        c["started"] = json!(false);
                    }
                }
                if let Some(conds) = p["status"]["conditions"].as_array_mut() {
                    for c in conds {
                        let t = c["type"].as_str().unwrap_or("");
                        if (t == "Ready" || t == "ContainersReady") && c["status"].as_str() != Some("False") {
                            *c = cond(t, false, &now, Some("ContainersNotReady"), Some(msg.clone()));
                        }
                    }
                }
            });
            let d = delay(
                &pod,
                annotations::TERMINATION_DELAY,
                self.ctx().config.termination_delay,
            )
            .min(Duration::from_secs(grace as u64));
            let deadline = tokio::time::Instant::now() + d;
            loop {
                let g = self
                    .current()
                    .map(|p| p["metadata"]["deletionGracePeriodSeconds"].as_i64().unwrap_or(30));
                match g {
                    None => return,
                    Some(0) => break,
                    _ => {}
                }
                tokio::select! {
                    _ = tokio::time::sleep_until(deadline) => break,
                    r = self.rx.changed() => if r.is_err() { return },
                }
            }
            // A kubelet stopped meanwhile never confirms the end: the pod stays Terminating.
            if self.kubelet_up().await.is_err() {
                return;
            }
            let _ = store.delete(&self.key, Some(0), Some(&self.uid), None);
        }
        if store.get(&self.key).is_some_and(|p| uid(&p) == self.uid) {
            store.remove(&self.key);
        }
        self.ctx().runtime.remove_pod(&self.uid);
    }
}

impl Worker {
    /// [`annotations::IGNORE_SIGTERM`]: SIGTERM changes nothing, the pod stays running
    /// (and Ready) until its grace period ends; then the runtime kills the containers
    /// (SIGKILL: exit code 137, reason `Error`, `finishedAt` = the deadline), then the
    /// kubelet's zero-grace delete (kuberuntime_container.go killContainer;
    /// watch-pods-sigterm-ignored.jsonl). A shorter grace period given meanwhile (a
    /// second delete, `--grace-period=0 --force`) cuts the wait short.
    async fn kill_at_deadline(&mut self, pod: &Value, grace: i64) {
        let store = self.ctx().store.clone();
        let since = tokio::time::Instant::now();
        loop {
            let Some(p) = self.current() else { return };
            // The deadline follows the grace period, which a second delete may shorten.
            let g = p["metadata"]["deletionGracePeriodSeconds"]
                .as_i64()
                .unwrap_or(grace)
                .max(0);
            let deadline = since + Duration::from_secs(g as u64);
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => break,
                r = self.rx.changed() => if r.is_err() { return },
            }
        }
        if self.kubelet_up().await.is_err() {
            return;
        }
        let Some(p) = self.current() else { return };
        let finished = p["metadata"]["deletionTimestamp"]
            .as_str()
            .or(pod["metadata"]["deletionTimestamp"].as_str())
            .map_or_else(now_rfc3339, str::to_string);
        let now = now_rfc3339();
        self.write(|p| {
            let msg = unready_message(p);
            if let Some(cs) = p["status"]["containerStatuses"].as_array_mut() {
                for c in cs {
                    if let Some(run) = c["state"]["running"].as_object() {
                        let since = run.get("startedAt").cloned().unwrap_or(json!(finished));
                        c["state"] = json!({"terminated": {"exitCode": 137, "reason": "Error", "startedAt": since,
                                            "finishedAt": finished, "containerID": c["containerID"]}});
                    }
                    c["ready"] = json!(false);
                    c["started"] = json!(false);
                }
            }
            set_unready_conditions(&mut p["status"], &now, &msg);
        });
        let _ = store.delete(&self.key, Some(0), Some(&self.uid), None);
        if store.get(&self.key).is_some_and(|p| uid(&p) == self.uid) {
            store.remove(&self.key);
        }
        self.ctx().runtime.remove_pod(&self.uid);
    }
}

fn set_ready_conditions(st: &mut Value, now: &str) {
    if let Some(conds) = st["conditions"].as_array_mut() {
        for c in conds {
            let t = c["type"].as_str().unwrap_or("").to_string();
            if (t == "Ready" || t == "ContainersReady") && c["status"].as_str() != Some("True") {
                *c = cond(&t, true, now, None, None);
            }
        }
    }
}

fn set_unready_conditions(st: &mut Value, now: &str, msg: &str) {
    if let Some(conds) = st["conditions"].as_array_mut() {
        for c in conds {
            let t = c["type"].as_str().unwrap_or("").to_string();
            if (t == "Ready" || t == "ContainersReady") && c["status"].as_str() != Some("False") {
                *c = cond(&t, false, now, Some("ContainersNotReady"), Some(msg.to_string()));
            }
        }
    }
}

/// Go's `time.Duration.String()` of a duration truncated to milliseconds, as the
/// kubelet prints pull times: `800ms`, `1.5s`, `2m3.004s`.
pub fn go_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".to_string();
    }
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let (mins, ms) = (ms / 60_000, ms % 60_000);
    let secs = format!("{}.{:03}", ms / 1000, ms % 1000);
    let secs = secs.trim_end_matches('0').trim_end_matches('.');
    let (hours, mins) = (mins / 60, mins % 60);
    match (hours, mins) {
        (0, 0) => format!("{secs}s"),
        (0, m) => format!("{m}m{secs}s"),
        (h, m) => format!("{h}h{m}m{secs}s"),
    }
}

/// The pod's persistent volumes: (volume name, PV name or the claim name if unbound).
fn claim_volumes(ctx: &Context, pod: &Value) -> Vec<(String, String)> {
    let ns = util::namespace(pod);
    pod["spec"]["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| {
            let claim = v["persistentVolumeClaim"]["claimName"].as_str()?;
            let pv = ctx
                .store
                .get(&Key::new("persistentvolumeclaims", ns, claim))
                .and_then(|c| c["spec"]["volumeName"].as_str().map(str::to_string))
                .unwrap_or_else(|| claim.to_string());
            Some((v["name"].as_str().unwrap_or("").to_string(), pv))
        })
        .collect()
}
