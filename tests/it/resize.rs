//! `kubectl sts resize` end to end against sts-sim: the orphan-delete / re-create
//! runbook done for the user (every claim grown, the StatefulSet created again with
//! the bigger claim template, its pods and revisions adopted with their UIDs
//! unchanged), leftovers of a scale-in, refusals that change nothing, the resizer's
//! faults, and an interruption at each step finished by `--resume`.
//! The permission preflight is in tests/it/rbac.rs.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use crate::support::*;
use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, PropagationPolicy};
use kube::core::ObjectMeta;
use kube::runtime::wait::{await_condition, conditions};
use serde_json::{Value, json};
use sts_sim::annotations;
use tempfile::TempDir;

const NS: &str = "default";
const NAME: &str = "db";

/// StatefulSet `name` with one container mounting each claim template, every template
/// of `size` (the seed's class) and with the annotations `claim_ann`, which the
/// claims made from it carry (the sim's resize faults).
fn sts_json(name: &str, replicas: i32, templates: &[&str], size: &str, claim_ann: &Value) -> Value {
    let mounts: Vec<Value> = templates
        .iter()
        .map(|t| json!({"name": t, "mountPath": format!("/{t}")}))
        .collect();
    let pod = json!({"containers": [{"name": "app", "image": "busybox", "volumeMounts": mounts}]});
    let mut v: Value = serde_json::from_str(&sts_manifest(name, replicas, None, pod, templates, json!({}))).unwrap();
    for t in v["spec"]["volumeClaimTemplates"].as_array_mut().unwrap() {
        t["spec"]["resources"]["requests"]["storage"] = json!(size);
        t["metadata"]["annotations"] = claim_ann.clone();
    }
    v
}

/// `db` with one claim template `data` of 20Gi.
fn manifest(replicas: i32, claim_ann: Value) -> String {
    sts_json(NAME, replicas, &["data"], "20Gi", &claim_ann).to_string()
}

/// A sim with `db` settled.
async fn cluster(replicas: i32, claim_ann: Value) -> Sim {
    sim_with_settled(&manifest(replicas, claim_ann), NAME).await
}

fn backups() -> TempDir {
    tempfile::tempdir().expect("a temp dir for the backups")
}

fn resize_args(name: &str, dir: &Path, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = ["resize", name, "--yes", "--backup-dir"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.push(dir.display().to_string());
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

async fn resize_of(sim: &Sim, name: &str, dir: &Path, extra: &[&str]) -> Run {
    kubectl_sts_owned(sim, &resize_args(name, dir, extra)).await
}

async fn resize(sim: &Sim, dir: &Path, extra: &[&str]) -> Run {
    resize_of(sim, NAME, dir, extra).await
}

/// A resize started, following its progress lines (on stdout beside a table).
fn spawn_resize(sim: &Sim, dir: &Path, extra: &[&str]) -> Running {
    let args = resize_args(NAME, dir, extra);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    spawn_following_stdout(sim, &args)
}

fn sts_api(sim: &Sim) -> Api<StatefulSet> {
    Api::namespaced(sim.client(), NS)
}

async fn sts_of(sim: &Sim, name: &str) -> StatefulSet {
    sts_api(sim).get(name).await.expect("get the statefulset")
}

fn uid(m: &ObjectMeta) -> String {
    m.uid.clone().expect("a uid")
}

/// The UID of the controller in the owner references, if any.
fn controller(m: &ObjectMeta) -> Option<String> {
    m.owner_references
        .as_deref()?
        .iter()
        .find(|o| o.controller == Some(true))
        .map(|o| o.uid.clone())
}

fn template_size(s: &StatefulSet) -> String {
    s.spec.volume_claim_templates.as_ref().unwrap()[0]
        .spec
        .as_ref()
        .and_then(|c| c.resources.as_ref())
        .and_then(|r| r.requests.as_ref())
        .map(|r| r["storage"].0.clone())
        .unwrap_or_default()
}

/// Everything of `db`: its pods and ControllerRevisions.
fn of_db() -> ListParams {
    ListParams::default().labels(&format!("app={NAME}"))
}

/// Pod name -> UID.
async fn pod_uids(sim: &Sim) -> BTreeMap<String, String> {
    let pods: Api<Pod> = Api::namespaced(sim.client(), NS);
    let lp = of_db();
    pods.list(&lp)
        .await
        .unwrap()
        .items
        .iter()
        .map(|p| (p.metadata.name.clone().unwrap(), uid(&p.metadata)))
        .collect()
}

async fn claim(sim: &Sim, name: &str) -> PersistentVolumeClaim {
    let api: Api<PersistentVolumeClaim> = Api::namespaced(sim.client(), NS);
    api.get(name).await.unwrap_or_else(|e| panic!("get pvc {name}: {e}"))
}

fn request(c: &PersistentVolumeClaim) -> String {
    c.spec
        .as_ref()
        .unwrap()
        .resources
        .as_ref()
        .unwrap()
        .requests
        .as_ref()
        .unwrap()["storage"]
        .0
        .clone()
}

fn capacity(c: &PersistentVolumeClaim) -> Option<String> {
    c.status
        .as_ref()?
        .capacity
        .as_ref()?
        .get("storage")
        .map(|q| q.0.clone())
}

/// Wait (on a watch, bounded) until claim `name` has capacity `size`.
async fn wait_capacity(sim: &Sim, name: &str, size: &str) {
    let api: Api<PersistentVolumeClaim> = Api::namespaced(sim.client(), NS);
    let want = size.to_string();
    let cond = move |c: Option<&PersistentVolumeClaim>| c.and_then(capacity).as_deref() == Some(want.as_str());
    tokio::time::timeout(Duration::from_secs(30), await_condition(api, name, cond))
        .await
        .unwrap_or_else(|_| panic!("pvc {name} did not reach {size} within 30s"))
        .unwrap();
}

/// The job is done: `db` exists with a new UID and the template at `size`; each pod
/// of `before` has its claim at `size`, still runs with its UID (except `restarted`,
/// which were replaced) and is controlled by the new StatefulSet, as is every
/// ControllerRevision. The new UID.
async fn assert_resized(
    sim: &Sim,
    before: &BTreeMap<String, String>,
    old_uid: &str,
    size: &str,
    restarted: &[&str],
) -> String {
    let s = sts_of(sim, NAME).await;
    let new_uid = uid(&s.metadata);
    assert_ne!(new_uid, old_uid, "the StatefulSet was not re-created");
    assert_eq!(template_size(&s), size);
    let now = pod_uids(sim).await;
    assert_eq!(now.keys().collect::<Vec<_>>(), before.keys().collect::<Vec<_>>());
    for (pod, was) in before {
        let c = claim(sim, &format!("data-{pod}")).await;
        assert_eq!(
            (request(&c), capacity(&c)),
            (size.to_string(), Some(size.to_string())),
            "data-{pod}"
        );
        if restarted.contains(&pod.as_str()) {
            assert_ne!(&now[pod], was, "{pod} was not restarted");
        } else {
            assert_eq!(&now[pod], was, "{pod} was replaced");
        }
    }
    let pods: Api<Pod> = Api::namespaced(sim.client(), NS);
    let lp = of_db();
    for p in pods.list(&lp).await.unwrap() {
        assert_eq!(
            controller(&p.metadata).as_deref(),
            Some(new_uid.as_str()),
            "{:?}",
            p.metadata.name
        );
    }
    let revs: Api<ControllerRevision> = Api::namespaced(sim.client(), NS);
    let revs = revs.list(&lp).await.unwrap().items;
    assert!(!revs.is_empty());
    for r in revs {
        assert_eq!(
            controller(&r.metadata).as_deref(),
            Some(new_uid.as_str()),
            "{:?}",
            r.metadata.name
        );
    }
    new_uid
}

/// The StatefulSet is the one from before the run, its template unchanged.
async fn assert_untouched(sim: &Sim, old_uid: &str) {
    let s = sts_of(sim, NAME).await;
    assert_eq!(uid(&s.metadata), old_uid, "the StatefulSet was replaced");
    assert_eq!(template_size(&s), "20Gi");
}

fn files_in(dir: &Path) -> usize {
    std::fs::read_dir(dir).unwrap().count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grows_every_claim_and_the_template_and_keeps_the_pods() {
    let sim = cluster(3, json!({})).await;
    let dir = backups();
    let before = pod_uids(&sim).await;
    assert_eq!(before.len(), 3);
    let old = sts_of(&sim, NAME).await;
    let old_uid = uid(&old.metadata);

    sim.requests().clear();
    let o = resize(&sim, dir.path(), &["--storage", "30Gi", "-o", "json"]).await;
    o.assert_exit(0);
    // One orphan delete and one create; no pod touched.
    let log = sim.requests();
    assert_eq!(
        (log.count("delete", "statefulsets"), log.count("create", "statefulsets")),
        (1, 1)
    );
    assert_eq!(log.count("delete", "pods"), 0);
    let r = json(&o);
    assert_eq!(r["kind"], "VolumeResize", "{r}");
    assert_eq!(r["result"], "Resized", "{r}");
    assert_eq!(r["method"], "orphanRecreate", "{r}");
    let new_uid = assert_resized(&sim, &before, &old_uid, "30Gi", &[]).await;
    let st = &r["statefulSet"];
    assert_eq!(st["oldUid"], old_uid.as_str(), "{r}");
    assert_eq!(st["newUid"], new_uid.as_str(), "{r}");
    assert_eq!(st["adoptedPods"], json!(["db-0", "db-1", "db-2"]), "{r}");
    let revision = old.status.unwrap().update_revision.unwrap();
    assert_eq!(st["revisionBefore"], revision.as_str(), "{r}");
    assert_eq!(st["revisionAfter"], revision.as_str(), "no pod may roll: {r}");
    assert_eq!(st["adoptedRevisions"], json!([revision]), "{r}");
    assert_eq!(r["restartedPods"], json!([]), "{r}");

    // The backup holds the StatefulSet as it was, 20Gi template and all.
    let path = r["backup"].as_str().expect("the backup path");
    assert!(Path::new(path).starts_with(dir.path()), "{path}");
    let b: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    assert_eq!(b["kind"], "ResizeBackup");
    assert_eq!(b["statefulSet"]["metadata"]["uid"], old_uid.as_str());
    assert_eq!(
        b["statefulSet"]["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"],
        "20Gi"
    );
    assert_eq!(b["pods"], json!(before));

    // The re-created StatefulSet's template is what a scale-out uses.
    kubectl_sts(&sim, &["scale", NAME, "--replicas", "4", "--yes"])
        .await
        .assert_exit(0);
    wait_capacity(&sim, "data-db-3", "30Gi").await;
    assert_eq!(request(&claim(&sim, "data-db-3").await), "30Gi");
}

/// A claim left by a scale-in is grown too (a later scale-out reuses it); no pod
/// mounts it, so its filesystem grows when one does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leftover_claims_are_grown_too() {
    let sim = cluster(3, json!({})).await;
    let dir = backups();
    sts_api(&sim)
        .patch(
            NAME,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 2}})),
        )
        .await
        .unwrap();
    wait_sts(&sim.client(), NS, NAME, settled()).await;
    let before = pod_uids(&sim).await;
    let old_uid = uid(&sts_of(&sim, NAME).await.metadata);

    let o = resize(&sim, dir.path(), &["--storage", "30Gi", "-o", "json"]).await;
    o.assert_exit(0);
    let r = json(&o);
    let claims = r["claims"].as_array().unwrap();
    let leftover: Vec<&str> = claims
        .iter()
        .filter(|c| c["leftover"] == true)
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(leftover, ["data-db-2"], "{r}");
    assert_eq!(claims.len(), 3, "{r}");
    assert_eq!(request(&claim(&sim, "data-db-2").await), "30Gi");
    assert_resized(&sim, &before, &old_uid, "30Gi", &[]).await;

    // The scale-out mounts it: the kubelet finishes its filesystem.
    kubectl_sts(&sim, &["scale", NAME, "--replicas", "3", "--yes"])
        .await
        .assert_exit(0);
    wait_capacity(&sim, "data-db-2", "30Gi").await;
}

/// Each refusal: exit 2 (the dry run 0), one line naming the object and the fix, no
/// write in the request log, no backup written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_change_nothing() {
    let sim = cluster(2, json!({})).await;
    let client = sim.client();
    // A class whose provisioner cannot expand volumes.
    let sc: StorageClass =
        serde_json::from_value(json!({"metadata": {"name": "fixed"}, "provisioner": "sts-sim.dev/hostpath"})).unwrap();
    Api::<StorageClass>::all(client.clone())
        .create(&PostParams::default(), &sc)
        .await
        .unwrap();
    let mut fixed = sts_json("fx", 1, &["data"], "20Gi", &json!({}));
    fixed["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"] = json!("fixed");
    create_settled(&sim, &fixed.to_string(), "fx").await;
    create_settled(
        &sim,
        &sts_json("two", 1, &["data", "logs"], "20Gi", &json!({})).to_string(),
        "two",
    )
    .await;
    let dir = backups();
    let old_uid = uid(&sts_of(&sim, NAME).await.metadata);

    let refusals: &[(&str, &[&str], &[&str])] = &[
        (
            NAME,
            &["--storage", "10Gi"],
            &["data-db-0", "only grow", "at least 20Gi"],
        ),
        (
            "fx",
            &["--storage", "30Gi"],
            &["storageclass fixed", "data-fx-0", "allowVolumeExpansion: true"],
        ),
        (
            "two",
            &["--storage", "30Gi"],
            &["\"two\" has 2 claim templates (data, logs)", "--claim TEMPLATE"],
        ),
        (
            NAME,
            &["--resume"],
            &["no resize backup of statefulset \"db\"", "--backup-dir"],
        ),
    ];
    for (name, args, needles) in refusals {
        sim.requests().clear();
        let o = resize_of(&sim, name, dir.path(), args).await;
        o.assert_exit(2);
        let line = one_line_error(&o);
        for n in *needles {
            assert!(line.contains(n), "{args:?}: {n:?} not in: {line}");
        }
        assert_eq!(writes(&sim), Vec::<String>::new(), "{args:?}");
        assert_eq!(files_in(dir.path()), 0, "{args:?} wrote a backup");
    }

    // A bad size is clap's error: nothing is even asked of the server.
    sim.requests().clear();
    let o = resize(&sim, dir.path(), &["--storage", "lots"]).await;
    assert_usage(&o, &["lots", "30Gi"]);
    assert!(sim.requests().all().is_empty());

    // The dry run prints the plan and changes nothing.
    sim.requests().clear();
    let o = resize(&sim, dir.path(), &["--storage", "30Gi", "--dry-run"]).await;
    o.assert_exit(0);
    let plan = stdout(&o);
    for n in [
        "claim template data 20Gi -> 30Gi",
        "pvc/data-db-0: 20Gi -> 30Gi",
        "pvc/data-db-1: 20Gi -> 30Gi",
        "dry run: nothing was changed",
    ] {
        assert!(plan.contains(n), "{n:?} not in:\n{plan}");
    }
    assert_eq!(writes(&sim), Vec::<String>::new());
    assert_eq!(files_in(dir.path()), 0);
    assert_untouched(&sim, &old_uid).await;
    assert_eq!(request(&claim(&sim, "data-db-0").await), "20Gi");
}

/// The backend fails every expansion of one claim: the run stops, names it, leaves the
/// StatefulSet alone and gives the command that finishes; once the backend is fixed
/// that command does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_expansion_stops_before_the_statefulset_then_resume_finishes() {
    let sim = cluster(2, json!({})).await;
    let dir = backups();
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(sim.client(), NS);
    let fault = |v: Value| Patch::Merge(json!({"metadata": {"annotations": {annotations::RESIZE_FAIL: v}}}));
    pvcs.patch("data-db-1", &PatchParams::default(), &fault(json!("true")))
        .await
        .unwrap();
    let before = pod_uids(&sim).await;
    let old_uid = uid(&sts_of(&sim, NAME).await.metadata);

    let o = resize(&sim, dir.path(), &["--storage", "30Gi", "-o", "json"]).await;
    assert_error(
        &o,
        1,
        &[
            "persistentvolumeclaim data-db-1",
            "VolumeResizeFailed",
            "claims raised: data-db-0, data-db-1 ",
            "statefulset \"db\" is untouched",
            "--resume",
        ],
    );
    let r = json(&o);
    assert_eq!(r["result"], "Failed", "{r}");
    assert_untouched(&sim, &old_uid).await;

    pvcs.patch("data-db-1", &PatchParams::default(), &fault(Value::Null))
        .await
        .unwrap();
    // The command it printed, as printed.
    let resume = r["resume"].as_str().expect("the resume command");
    let args: Vec<&str> = resume
        .strip_prefix("kubectl sts ")
        .unwrap_or_else(|| panic!("{resume}"))
        .split(' ')
        .collect();
    assert!(
        args.contains(&"--resume") && args.contains(&dir.path().to_str().unwrap()),
        "{resume}"
    );
    let o = kubectl_sts(&sim, &args).await;
    o.assert_exit(0);
    assert_resized(&sim, &before, &old_uid, "30Gi", &[]).await;
}

/// A driver that grows filesystems offline only: without --restart-pods the run stops
/// and says so; `--resume --restart-pods` replaces the pods one at a time and finishes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_expansion_needs_restart_pods() {
    let sim = cluster(2, json!({annotations::RESIZE_NEEDS_RESTART: "true"})).await;
    let dir = backups();
    let before = pod_uids(&sim).await;
    let old_uid = uid(&sts_of(&sim, NAME).await.metadata);

    let o = resize(&sim, dir.path(), &["--storage", "30Gi", "--timeout", "3s"]).await;
    assert_error(
        &o,
        1,
        &[
            "persistentvolumeclaim data-db-0 is FileSystemResizePending while pod db-0 runs",
            "--restart-pods",
            "statefulset \"db\" is untouched",
            "--resume",
        ],
    );
    assert_untouched(&sim, &old_uid).await;
    assert_eq!(
        pod_uids(&sim).await,
        before,
        "a pod was restarted without --restart-pods"
    );

    let o = resize(
        &sim,
        dir.path(),
        &["--resume", "--restart-pods", "--timeout", "4s", "-o", "json"],
    )
    .await;
    o.assert_exit(0);
    let r = json(&o);
    assert_eq!(r["restartedPods"], json!(["db-0", "db-1"]), "{r}");
    assert_resized(&sim, &before, &old_uid, "30Gi", &["db-0", "db-1"]).await;
}

/// Start a resize whose claims take 3 s to grow; return once every claim is raised.
async fn raising(sim: &Sim, dir: &Path) -> Running {
    let mut run = spawn_resize(sim, dir, &["--storage", "30Gi"]);
    run.wait_line("pvc/data-db-1: requested 30Gi").await;
    run
}

async fn slow_cluster() -> Sim {
    cluster(2, json!({annotations::RESIZE_SECONDS: "3s"})).await
}

/// Ctrl-C while the claims grow: exit 130, the claims raised named, the StatefulSet
/// untouched, the command to finish; which finishes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_while_the_claims_grow_then_resume() {
    let sim = slow_cluster().await;
    let dir = backups();
    let before = pod_uids(&sim).await;
    let old_uid = uid(&sts_of(&sim, NAME).await.metadata);
    let run = raising(&sim, dir.path()).await;
    run.sigint();
    let o = run.finish().await;
    assert_error(
        &o,
        130,
        &[
            "interrupted",
            "claims raised: data-db-0, data-db-1",
            "statefulset \"db\" is untouched",
            "kubectl sts resize db --resume",
        ],
    );
    assert_untouched(&sim, &old_uid).await;
    resize(&sim, dir.path(), &["--resume"]).await.assert_exit(0);
    assert_resized(&sim, &before, &old_uid, "30Gi", &[]).await;
}

/// The process killed while the claims grow (nothing printed, nothing cleaned up):
/// `--resume` finishes from the backup.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_while_the_claims_grow_then_resume() {
    let sim = slow_cluster().await;
    let dir = backups();
    let before = pod_uids(&sim).await;
    let old_uid = uid(&sts_of(&sim, NAME).await.metadata);
    killed_after_raising(&sim, dir.path()).await;
    assert_untouched(&sim, &old_uid).await;
    resize(&sim, dir.path(), &["--resume"]).await.assert_exit(0);
    assert_resized(&sim, &before, &old_uid, "30Gi", &[]).await;
}

async fn killed_after_raising(sim: &Sim, dir: &Path) {
    let mut run = raising(sim, dir).await;
    run.kill();
    let o = run.finish().await;
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&o.status), Some(9), "{o}");
}

/// What a run killed right after its orphan delete leaves: the StatefulSet gone, its
/// pods running with no controller, the backup the only copy.
async fn orphan_delete(sim: &Sim, old_uid: &str) {
    let dp = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Orphan),
        ..DeleteParams::default()
    };
    sts_api(sim).delete(NAME, &dp).await.unwrap();
    let gone = await_condition(sts_api(sim), NAME, conditions::is_deleted(old_uid));
    tokio::time::timeout(Duration::from_secs(30), gone)
        .await
        .expect("the orphan delete finished within 30s")
        .unwrap();
}

/// The crash window: killed after the orphan delete, before the create. A fresh resize
/// says to resume; `--resume` creates it from the backup and it adopts the pods.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_between_delete_and_create_then_resume_creates_it() {
    let sim = slow_cluster().await;
    let dir = backups();
    let before = pod_uids(&sim).await;
    let old_uid = uid(&sts_of(&sim, NAME).await.metadata);
    killed_after_raising(&sim, dir.path()).await;
    orphan_delete(&sim, &old_uid).await;

    let o = resize(&sim, dir.path(), &["--storage", "30Gi"]).await;
    assert_error(
        &o,
        2,
        &[
            "statefulset",
            "a resize backup of it exists",
            "kubectl sts resize db --resume",
        ],
    );
    let o = resize(&sim, dir.path(), &["--resume", "-o", "json"]).await;
    o.assert_exit(0);
    let new_uid = assert_resized(&sim, &before, &old_uid, "30Gi", &[]).await;
    let r = json(&o);
    assert_eq!(r["statefulSet"]["newUid"], new_uid.as_str(), "{r}");
    assert_eq!(r["statefulSet"]["adoptedPods"], json!(["db-0", "db-1"]), "{r}");
}

/// Killed after the create: the StatefulSet exists again with the bigger template;
/// `--resume` only waits for the adoption and reports it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_the_create_then_resume_sees_the_adoption() {
    let sim = slow_cluster().await;
    let dir = backups();
    let before = pod_uids(&sim).await;
    let old_uid = uid(&sts_of(&sim, NAME).await.metadata);
    killed_after_raising(&sim, dir.path()).await;
    orphan_delete(&sim, &old_uid).await;
    let bigger = sts_json(NAME, 2, &["data"], "30Gi", &json!({annotations::RESIZE_SECONDS: "3s"}));
    apply(&sim.client(), NS, &bigger.to_string()).await;
    let created = uid(&sts_of(&sim, NAME).await.metadata);

    let o = resize(&sim, dir.path(), &["--resume", "-o", "json"]).await;
    o.assert_exit(0);
    let r = json(&o);
    assert_eq!(
        r["statefulSet"]["newUid"],
        created.as_str(),
        "a second StatefulSet was made: {r}"
    );
    assert_eq!(r["statefulSet"]["adoptedPods"], json!(["db-0", "db-1"]), "{r}");
    assert!(r["message"].as_str().unwrap().contains("2 pod(s) adopted"), "{r}");
    assert_eq!(assert_resized(&sim, &before, &old_uid, "30Gi", &[]).await, created);
}
