//! docs/rbac.yaml against the simulated cluster: the sim's API server enforces exactly
//! the rules of the roles a test grants (`faults().allow_only`, discovery stays open as
//! with `system:discovery`). The view roles must be enough for every read-only command
//! (and no request of theirs is refused, so nothing degrades silently); every command
//! that changes something must fail with the one-line 403 naming the verb and resource
//! its own role grants, leave the cluster unchanged, and succeed once that role is added.

use crate::support::*;
use clap::CommandFactory;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};
use sts_sim::faults::Matcher;

const NS: &str = "default";
const VIEW: &[&str] = &["kubectl-sts-view", "kubectl-sts-cluster-view"];

/// (verb, resource[/subresource]) pairs the named ClusterRoles of docs/rbac.yaml grant.
fn granted(roles: &[&str]) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/rbac.yaml")).unwrap();
    let mut found = Vec::new();
    let mut pairs = Vec::new();
    for doc in serde_yaml_ng::Deserializer::from_str(&text) {
        let v: Value = serde::Deserialize::deserialize(doc).expect("docs/rbac.yaml is YAML");
        if v.is_null() || v["kind"] != "ClusterRole" {
            continue;
        }
        let name = v["metadata"]["name"].as_str().unwrap();
        if !roles.contains(&name) {
            continue;
        }
        found.push(name.to_string());
        for rule in v["rules"].as_array().unwrap() {
            for res in rule["resources"].as_array().unwrap() {
                for verb in rule["verbs"].as_array().unwrap() {
                    pairs.push((verb.as_str().unwrap().to_string(), res.as_str().unwrap().to_string()));
                }
            }
        }
    }
    for r in roles {
        assert!(found.iter().any(|f| f == r), "docs/rbac.yaml has no ClusterRole {r}");
    }
    pairs
}

fn allow(sim: &Sim, roles: &[&str]) {
    sim.faults()
        .allow_only(granted(roles).iter().map(|(v, r)| Matcher::new(v, r)));
}

fn has_subcommand(name: &str) -> bool {
    kubectl_sts::cli::Cli::command().find_subcommand(name).is_some()
}

/// The seed's `web` settled at 2 replicas, then scaled to 1 so `disk-ssd-web-1` is left
/// behind (an orphan for `orphans` to list and `prune` to delete).
async fn cluster_with_an_orphan() -> Sim {
    let sim = seeded().await;
    let client = sim.client();
    let api: Api<StatefulSet> = Api::namespaced(client.clone(), NS);
    api.patch(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": 1}})),
    )
    .await
    .unwrap();
    wait_sts(&client, NS, "web", settled()).await;
    sim
}

/// `forbidden: user "..." may not VERB RESOURCE ...` (a request refused) or `forbidden:
/// you may not VERB [or VERB2] RESOURCE ...` (verify-persistence's permission preflight)
/// -> (VERB, RESOURCE). Commands that stop at the first error print it as their one
/// `error:` line; `orphans prune` reports per claim (the reason in the claim's row on
/// stdout) and ends with one summary line.
fn forbidden_verb_and_resource(o: &Run) -> (String, String) {
    // A 403 is an API error (exit 3).
    o.assert_exit(3);
    let err = stderr(o);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one error line: {err}");
    assert!(lines[0].starts_with("error: ") && !err.contains("panicked"), "{err}");
    let all = format!("{err}{}", stdout(o));
    let (at, prefix) = ["forbidden: user \"sts-sim-user\" may not ", "forbidden: you may not "]
        .iter()
        .find_map(|p| all.find(p).map(|at| (at, p.len())))
        .unwrap_or_else(|| panic!("no line names the missing permission:\n{all}"));
    let line = all[at..].lines().next().unwrap();
    assert!(line.contains("docs/rbac.yaml"), "points at the roles: {line}");
    let mut words = line[prefix..].split_whitespace();
    let verb = words.next().unwrap().to_string();
    let mut resource = words.next().unwrap();
    if resource == "or" {
        words.next();
        resource = words.next().unwrap();
    }
    (verb, resource.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn view_roles_are_enough_for_the_read_only_commands() {
    let sim = cluster_with_an_orphan().await;
    allow(&sim, VIEW);
    sim.requests().clear();

    let mut runs: Vec<Vec<&str>> = vec![
        vec!["status", "web"],
        vec!["status"],
        vec!["status", "-A", "-o", "json"],
        vec!["orphans"],
        vec!["orphans", "-A", "-o", "json"],
        vec!["orphans", "prune", "--dry-run"],
    ];
    if has_subcommand("rollout") {
        runs.push(vec!["rollout", "history", "web"]);
        runs.push(vec!["rollout", "web", "--no-wait"]);
    }
    for args in &runs {
        let o = kubectl_sts(&sim, args).await;
        o.assert_exit(0);
    }
    let o = kubectl_sts(&sim, &["orphans", "-o", "json"]).await;
    assert!(
        stdout(&o).contains("disk-ssd-web-1"),
        "the orphan is listed: {}",
        stdout(&o)
    );

    // Nothing was refused along the way (a command that swallows a 403 on an optional
    // read would pass the exit-code check above with less information).
    let refused: Vec<String> = sim
        .requests()
        .all()
        .into_iter()
        .filter(|r| r.status == 403)
        .map(|r| format!("{} {}", r.verb, r.resource))
        .collect();
    assert!(refused.is_empty(), "the view roles lack: {refused:?}");
    // And the rules were enforced: the log saw reads only.
    let writes: Vec<_> = sim
        .requests()
        .all()
        .into_iter()
        .filter(|r| !matches!(r.verb.as_str(), "get" | "list" | "watch"))
        .map(|r| format!("{} {}", r.verb, r.resource))
        .collect();
    assert!(writes.is_empty(), "read-only commands wrote: {writes:?}");
}

/// One mutating command: refused under the view roles with the 403 naming a verb and
/// resource its role grants (and the view roles don't), then allowed with that role.
struct Mutation {
    args: &'static [&'static str],
    role: &'static str,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutating_commands_are_refused_with_the_missing_verb_then_work_with_their_role() {
    let sim = cluster_with_an_orphan().await;
    let client = sim.client();
    let view = granted(VIEW);

    let mut mutations = vec![
        Mutation {
            args: &["scale", "web", "--replicas", "2", "--yes"],
            role: "kubectl-sts-scale",
        },
        Mutation {
            args: &["verify-persistence", "web", "--yes"],
            role: "kubectl-sts-verify",
        },
        Mutation {
            args: &["verify-persistence", "web", "--ordinal", "0", "--evict", "--yes"],
            role: "kubectl-sts-verify",
        },
    ];
    if has_subcommand("restart") {
        mutations.push(Mutation {
            args: &["restart", "web", "--yes"],
            role: "kubectl-sts-restart",
        });
    }
    // Last: it deletes the orphan the other steps check is still there.
    mutations.push(Mutation {
        args: &["orphans", "prune", "--yes"],
        role: "kubectl-sts-prune",
    });

    for m in &mutations {
        // Refused: the view roles only.
        sim.faults().allow_all();
        let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
        let uid_before = pods.get("web-0").await.unwrap().metadata.uid;
        let sts_before = Api::<StatefulSet>::namespaced(client.clone(), NS)
            .get("web")
            .await
            .unwrap();
        allow(&sim, VIEW);
        let o = kubectl_sts(&sim, m.args).await;
        let (verb, resource) = forbidden_verb_and_resource(&o);
        let role = granted(&[m.role]);
        let missing = (verb.clone(), resource.clone());
        assert!(
            role.contains(&missing),
            "{:?}: {verb} {resource} is not what {} grants",
            m.args,
            m.role
        );
        assert!(
            !view.contains(&missing),
            "{:?}: the view roles already grant {verb} {resource}",
            m.args
        );

        // Nothing changed.
        sim.faults().allow_all();
        let sts_after = Api::<StatefulSet>::namespaced(client.clone(), NS)
            .get("web")
            .await
            .unwrap();
        assert_eq!(sts_before.spec, sts_after.spec, "{:?} changed the StatefulSet", m.args);
        assert_eq!(
            pods.get("web-0").await.unwrap().metadata.uid,
            uid_before,
            "{:?} replaced web-0",
            m.args
        );
        let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), NS);
        assert!(
            pvcs.get_opt("disk-ssd-web-1").await.unwrap().is_some(),
            "{:?} deleted the orphan",
            m.args
        );

        // With the command's own role on top, it goes through, nothing refused.
        let mut roles = VIEW.to_vec();
        roles.push(m.role);
        allow(&sim, &roles);
        sim.requests().clear();
        let o = kubectl_sts(&sim, m.args).await;
        o.assert_exit(0);
        let refused: Vec<_> = sim
            .requests()
            .all()
            .into_iter()
            .filter(|r| r.status == 403)
            .map(|r| format!("{} {}", r.verb, r.resource))
            .collect();
        assert!(refused.is_empty(), "{:?} with {}: refused {refused:?}", m.args, m.role);

        // Back to the starting shape for the next command.
        sim.faults().allow_all();
        if m.role == "kubectl-sts-scale" {
            wait_sts(&client, NS, "web", settled()).await;
            let api: Api<StatefulSet> = Api::namespaced(client.clone(), NS);
            api.patch(
                "web",
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"replicas": 1}})),
            )
            .await
            .unwrap();
        }
        wait_sts(&client, NS, "web", settled()).await;
    }
}

/// rollout undo asks before it changes anything: under the view roles it is refused with
/// the verb its role grants, nothing patched; with kubectl-sts-rollout-undo it goes through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollout_undo_is_refused_before_any_change_then_works_with_its_role() {
    let sim = seeded().await;
    let client = sim.client();
    let api: Api<StatefulSet> = Api::namespaced(client.clone(), NS);
    api.patch(
        "web",
        &PatchParams::default(),
        &Patch::Strategic(
            json!({"spec": {"template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.26"}]}}}}),
        ),
    )
    .await
    .unwrap();
    wait_sts(&client, NS, "web", settled()).await;
    let before = api.get("web").await.unwrap();
    allow(&sim, VIEW);
    let o = kubectl_sts(&sim, &["rollout", "undo", "web", "--yes"]).await;
    let (verb, resource) = forbidden_verb_and_resource(&o);
    assert_eq!(
        (verb.as_str(), resource.as_str()),
        ("patch", "statefulsets"),
        "{}",
        stderr(&o)
    );
    assert!(granted(&["kubectl-sts-rollout-undo"]).contains(&(verb, resource)));
    sim.faults().allow_all();
    assert_eq!(
        api.get("web").await.unwrap().metadata.generation,
        before.metadata.generation
    );
    let mut roles = VIEW.to_vec();
    roles.push("kubectl-sts-rollout-undo");
    allow(&sim, &roles);
    sim.requests().clear();
    let o = kubectl_sts(&sim, &["rollout", "undo", "web", "--yes", "--timeout", "60s"]).await;
    o.assert_exit(0);
    let refused: Vec<_> = sim.requests().all().into_iter().filter(|r| r.status == 403).collect();
    assert!(refused.is_empty(), "{refused:?}");
}

/// resize asks before it changes anything: under the view roles it is refused with the
/// verb its role grants, no claim raised, no backup written; with kubectl-sts-resize it
/// goes through (storage classes listed with cluster-view, the orphan delete and the
/// create).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resize_is_refused_before_any_change_then_works_with_its_role() {
    let sim = seeded().await;
    let dir = tempfile::tempdir().unwrap();
    let backup_dir = dir.path().display().to_string();
    let args = [
        "resize",
        "web",
        "--storage",
        "30Gi",
        "--yes",
        "--backup-dir",
        &backup_dir,
    ];
    let api: Api<StatefulSet> = Api::namespaced(sim.client(), NS);
    let before = api.get("web").await.unwrap();
    allow(&sim, VIEW);
    sim.requests().clear();
    let o = kubectl_sts(&sim, &args).await;
    let (verb, resource) = forbidden_verb_and_resource(&o);
    assert_eq!(
        (verb.as_str(), resource.as_str()),
        ("patch", "persistentvolumeclaims"),
        "{}",
        stderr(&o)
    );
    assert!(granted(&["kubectl-sts-resize"]).contains(&(verb, resource)));
    // --restart-pods deletes pods: asked up front too.
    let mut restart = args.to_vec();
    restart.push("--restart-pods");
    let o = kubectl_sts(&sim, &restart).await;
    forbidden_verb_and_resource(&o);
    assert!(stderr(&o).contains("delete pods"), "{}", stderr(&o));
    assert!(granted(&["kubectl-sts-resize"]).contains(&("delete".into(), "pods".into())));
    assert_eq!(writes(&sim), Vec::<String>::new());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "a backup was written"
    );

    let mut roles = VIEW.to_vec();
    roles.push("kubectl-sts-resize");
    allow(&sim, &roles);
    sim.requests().clear();
    let o = kubectl_sts(&sim, &args).await;
    o.assert_exit(0);
    // The one refusal allowed: the server-side dry run of an in-place template update
    // (the role grants no update; resize then deletes and creates).
    let refused: Vec<_> = sim
        .requests()
        .all()
        .into_iter()
        .filter(|r| r.status == 403)
        .map(|r| {
            let dry = if r.query.contains("dryRun=All") {
                " (dry run)"
            } else {
                ""
            };
            format!("{} {}{dry}", r.verb, r.resource)
        })
        .collect();
    assert_eq!(refused, ["update statefulsets (dry run)"], "{}", stderr(&o));
    sim.faults().allow_all();
    assert_ne!(api.get("web").await.unwrap().metadata.uid, before.metadata.uid);
}
