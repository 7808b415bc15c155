//! Fault matrix, bad input: every command refuses it with a documented exit code and one
//! line naming the object and the fix, sends no write, and leaves the cluster as it was.
//! Scenarios already covered elsewhere are referenced, not repeated:
//! tests/it/cli.rs (unknown -o for status, malformed --request-timeout, missing kubeconfig),
//! tests/it/scale.rs `bad_replicas_are_usage_errors`, tests/it/verify.rs
//! `no_claim_templates_is_bad_input`, `no_shell_image_is_a_clear_error_and_nothing_is_deleted`,
//! `two_claim_templates_subpath_spaces_emptydir_and_start_ordinal`.

use crate::support::*;
use serde_json::json;
use sts_sim::annotations;

/// Every command that takes a StatefulSet name, as it would be run against `name`.
fn named_commands(name: &str) -> Vec<Vec<String>> {
    let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    vec![
        v(&["status", name]),
        v(&["scale", name, "--replicas", "3", "--yes", "--timeout", "10s"]),
        v(&["verify-persistence", name, "--yes", "--timeout", "10s"]),
        v(&["rollout", name, "--timeout", "10s"]),
        v(&["rollout", "history", name]),
        v(&["restart", name, "--yes", "--timeout", "10s"]),
    ]
}

/// Every command, including those without a name (orphans, prune).
fn all_commands(name: &str) -> Vec<Vec<String>> {
    let mut c = named_commands(name);
    c.push(vec!["orphans".into()]);
    c.push(vec!["orphans".into(), "prune".into(), "--yes".into()]);
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_statefulset_every_command() {
    let sim = seeded().await;
    let before = state(&sim).await;
    sim.requests().clear();
    for cmd in named_commands("nosuch") {
        let o = kubectl_sts_owned(&sim, &cmd).await;
        assert_error(
            &o,
            2,
            &[
                "statefulset \"nosuch\" not found in namespace \"default\"",
                "-n NAMESPACE",
            ],
        );
    }
    assert_eq!(writes(&sim), Vec::<String>::new());
    assert_eq!(state(&sim).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_namespace_every_command() {
    let sim = seeded().await;
    let before = state(&sim).await;
    sim.requests().clear();
    for mut cmd in all_commands("web") {
        cmd.extend(["-n".to_string(), "nowhere".to_string()]);
        let o = kubectl_sts_owned(&sim, &cmd).await;
        assert_error(&o, 2, &["namespace \"nowhere\" not found", "check -n"]);
    }
    assert_eq!(writes(&sim), Vec::<String>::new());
    assert_eq!(state(&sim).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_context_every_command() {
    let sim = seeded().await;
    let before = state(&sim).await;
    sim.requests().clear();
    for mut cmd in all_commands("web") {
        cmd.extend(["--context".to_string(), "nope".to_string()]);
        let o = kubectl_sts_owned(&sim, &cmd).await;
        assert_error(&o, 2, &["context \"nope\" not found", "kubectl config get-contexts"]);
    }
    assert!(sim.requests().is_empty(), "{:?}", sim.requests().all());
    assert_eq!(state(&sim).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_output_format_every_command() {
    let sim = sim().await;
    for mut cmd in all_commands("web") {
        cmd.extend(["-o".to_string(), "xml".to_string()]);
        let o = kubectl_sts_owned(&sim, &cmd).await;
        assert_usage(&o, &["'xml'", "--output"]);
        assert!(
            stderr(&o).contains("possible values: table, wide, json, yaml"),
            "{}",
            stderr(&o)
        );
    }
    assert!(sim.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_numbers_and_durations() {
    let sim = seeded().await;
    let before = state(&sim).await;
    sim.requests().clear();
    let cases: &[(&[&str], &[&str])] = &[
        (&["scale", "web", "--replicas", "-1"], &["--replicas", "negative"]),
        (
            &["scale", "web", "--replicas", "three"],
            &["--replicas", "not a whole number"],
        ),
        (
            &["scale", "web", "--replicas", "99999999999"],
            &["--replicas", "too large"],
        ),
        (
            &["scale", "web", "--replicas", "3", "--timeout", "5minutes"],
            &["--timeout", "invalid duration"],
        ),
        (
            &["scale", "web", "--replicas", "3", "--timeout", "1d"],
            &["--timeout", "invalid duration"],
        ),
        (
            &["scale", "web", "--replicas", "3", "--current-replicas", "x"],
            &["--current-replicas"],
        ),
        (
            &["verify-persistence", "web", "--timeout", "soon"],
            &["--timeout", "invalid duration"],
        ),
        (&["verify-persistence", "web", "--ordinal", "abc"], &["--ordinal"]),
        (
            &["verify-persistence", "web", "--ordinal", "-1"],
            &["--ordinal", "0 or more"],
        ),
        // A zero --timeout would delete a pod and give up at once.
        (
            &["verify-persistence", "web", "--yes", "--timeout", "0"],
            &["--timeout", "above zero"],
        ),
        (
            &["verify-persistence", "web", "--ordinal", "1", "--all"],
            &["--ordinal"],
        ),
        (
            &["status", "web", "--request-timeout", "5 minutes"],
            &["--request-timeout"],
        ),
        (&["orphans", "--request-timeout", "x"], &["--request-timeout"]),
        (&["scale", "web", "--replicas", "3", "--dry-run=maybe"], &["--dry-run"]),
    ];
    for (args, needles) in cases {
        let o = kubectl_sts(&sim, args).await;
        assert_usage(&o, needles);
    }
    // A zero --timeout would time out before looking (scale without --no-wait): refused
    // before touching anything.
    let o = kubectl_sts(&sim, &["scale", "web", "--replicas", "3", "--timeout", "0s"]).await;
    assert_error(&o, 2, &["--timeout", "above zero"]);
    assert_eq!(writes(&sim), Vec::<String>::new());
    assert!(sim.requests().for_resource("pods/exec").is_empty());
    assert_eq!(state(&sim).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ordinal_outside_the_range_with_start_ordinal_5() {
    let spec =
        json!({"containers":[{"name":"app","image":"busybox","volumeMounts":[{"name":"data","mountPath":"/data"}]}]});
    let sim = sim_with_settled(&sts_manifest("db", 2, Some(5), spec, &["data"], json!({})), "db").await;
    let before = state(&sim).await;
    sim.requests().clear();
    for bad in ["0", "4", "7", "2147483647"] {
        let o = kubectl_sts(&sim, &["verify-persistence", "db", "--ordinal", bad, "--yes"]).await;
        assert_error(
            &o,
            2,
            &[&format!("ordinal {bad} is outside db's ordinals [5, 7)"), "--ordinal"],
        );
    }
    assert_eq!(writes(&sim), Vec::<String>::new());
    assert!(sim.requests().for_resource("pods/exec").is_empty());
    assert_eq!(state(&sim).await, before);
}

/// Start ordinal 5 through every command: status rows 5 and 6, scale out creates 7,
/// verify drills the highest (7), scale in leaves 6 and 7's claims, orphans names exactly
/// those, prune deletes exactly those, and ordinal 5's claim is never touched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_ordinal_5_across_commands() {
    let spec =
        json!({"containers":[{"name":"app","image":"busybox","volumeMounts":[{"name":"data","mountPath":"/data"}]}]});
    let sim = sim_with_settled(&sts_manifest("db", 2, Some(5), spec, &["data"], json!({})), "db").await;
    let keep = state(&sim).await.pvcs["default/data-db-5"].clone();

    let o = kubectl_sts(&sim, &["status", "db", "-o", "json"]).await;
    o.assert_exit(0);
    let s = stdout(&o);
    assert!(s.contains("db-5") && s.contains("db-6") && !s.contains("db-0"), "{s}");

    let o = kubectl_sts(&sim, &["scale", "db", "--replicas", "3", "--timeout", "30s"]).await;
    o.assert_exit(0);
    let st = state(&sim).await;
    assert!(st.pods.contains_key("default/db-7") && !st.pods.contains_key("default/db-0"));

    let o = kubectl_sts(
        &sim,
        &["verify-persistence", "db", "--yes", "-o", "json", "--timeout", "30s"],
    )
    .await;
    o.assert_exit(0);
    assert_eq!(json(&o)["pods"][0]["pod"], "db-7");
    assert_eq!(markers(&sim), Vec::<std::path::PathBuf>::new());

    let o = kubectl_sts(&sim, &["scale", "db", "--replicas", "1", "--yes", "--timeout", "30s"]).await;
    o.assert_exit(0);

    let o = kubectl_sts(&sim, &["orphans", "-o", "json"]).await;
    o.assert_exit(0);
    let out = stdout(&o);
    assert!(out.contains("data-db-6") && out.contains("data-db-7"), "{out}");
    assert!(!out.contains("data-db-5"), "{out}");

    sim.requests().clear();
    let o = kubectl_sts(&sim, &["orphans", "prune", "--yes"]).await;
    o.assert_exit(0);
    let mut deleted: Vec<String> = sim
        .requests()
        .all()
        .into_iter()
        .filter(|r| r.verb == "delete")
        .map(|r| format!("{} {}", r.resource, r.name))
        .collect();
    deleted.sort();
    assert_eq!(
        deleted,
        ["persistentvolumeclaims data-db-6", "persistentvolumeclaims data-db-7"]
    );
    let after = state(&sim).await;
    assert_eq!(after.pvcs["default/data-db-5"], keep);
    assert_eq!(after.pods.keys().filter(|k| k.starts_with("default/db-")).count(), 1);
}

/// No claim templates: status and scale work, verify refuses, orphans finds nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statefulset_without_claim_templates_across_commands() {
    let spec = json!({"containers":[{"name":"app","image":"busybox"}]});
    let sim = sim_with_settled(&sts_manifest("plain", 1, None, spec, &[], json!({})), "plain").await;
    let before = state(&sim).await;

    let o = kubectl_sts(&sim, &["status", "plain"]).await;
    o.assert_exit(0);
    assert_no_dump(&o);

    sim.requests().clear();
    let o = kubectl_sts(&sim, &["verify-persistence", "plain", "--yes"]).await;
    assert_error(
        &o,
        2,
        &["plain has no volumeClaimTemplates", "nothing persistent to verify"],
    );
    assert_eq!(writes(&sim), Vec::<String>::new());
    assert_eq!(state(&sim).await, before);

    let o = kubectl_sts(&sim, &["orphans", "--fail-on-orphans"]).await;
    o.assert_exit(0);
    assert_no_dump(&o);

    let o = kubectl_sts(&sim, &["scale", "plain", "--replicas", "2", "--timeout", "30s"]).await;
    o.assert_exit(0);
    let after = state(&sim).await;
    assert!(after.pvcs.is_empty(), "{:?}", after.pvcs);
    assert_eq!(after.pods.len(), 2);
    assert_eq!(after.pods["default/plain-0"], before.pods["default/plain-0"]);
}

/// A sidecar first, the volume in the second container: without -c the first is
/// chosen and refused (naming -c), kubectl's default-container annotation picks the
/// right one, -c picks it explicitly, -c with a wrong name names the containers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_container_with_and_without_c() {
    let spec = json!({"containers":[
        {"name":"sidecar","image":"busybox"},
        {"name":"app","image":"busybox","volumeMounts":[{"name":"data","mountPath":"/data"}]}]});
    let sim = sim_with_settled(&sts_manifest("mc", 1, None, spec.clone(), &["data"], json!({})), "mc").await;
    let before = state(&sim).await;
    sim.requests().clear();

    let o = kubectl_sts(&sim, &["verify-persistence", "mc", "--yes"]).await;
    assert_error(
        &o,
        2,
        &[
            "container \"sidecar\" of pod mc-0",
            "pick the container that does with -c",
        ],
    );
    let o = kubectl_sts(&sim, &["verify-persistence", "mc", "--yes", "-c", "nosuch"]).await;
    let line = assert_error(&o, 2, &["nosuch"]);
    assert!(line.contains("sidecar") && line.contains("app"), "{line}");
    assert_eq!(writes(&sim), Vec::<String>::new());
    assert_eq!(state(&sim).await, before);

    let o = kubectl_sts(&sim, &["verify-persistence", "mc", "--yes", "-c", "app", "-o", "json"]).await;
    o.assert_exit(0);
    assert_eq!(json(&o)["pods"][0]["container"], "app");
    assert_eq!(markers(&sim), Vec::<std::path::PathBuf>::new());

    // kubectl.kubernetes.io/default-container chooses without -c.
    let ann = json!({"kubectl.kubernetes.io/default-container":"app"});
    create_settled(&sim, &sts_manifest("mcd", 1, None, spec, &["data"], ann), "mcd").await;
    let o = kubectl_sts(&sim, &["verify-persistence", "mcd", "--yes", "-o", "json"]).await;
    o.assert_exit(0);
    assert_eq!(json(&o)["pods"][0]["container"], "app");
    assert_eq!(markers(&sim), Vec::<std::path::PathBuf>::new());
}

/// A distroless container mounting the volume: refused with -c as the fix and nothing
/// deleted; a shell sidecar mounting the same claim verifies it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distroless_container_and_a_shell_sidecar() {
    let spec = json!({"containers":[
        {"name":"app","image":"gcr.io/distroless/static","volumeMounts":[{"name":"data","mountPath":"/data"}]},
        {"name":"debug","image":"busybox","volumeMounts":[{"name":"data","mountPath":"/mnt/data"}]}]});
    let sim = sim_with_settled(&sts_manifest("dl", 1, None, spec, &["data"], json!({})), "dl").await;
    let before = state(&sim).await;
    sim.requests().clear();
    let o = kubectl_sts(&sim, &["verify-persistence", "dl", "--yes"]).await;
    assert_error(
        &o,
        2,
        &[
            "container \"app\" in pod dl-0 has no",
            "-c CONTAINER",
            "nothing was deleted",
        ],
    );
    assert_eq!(writes(&sim), Vec::<String>::new());
    assert_eq!(state(&sim).await, before);

    let o = kubectl_sts(
        &sim,
        &["verify-persistence", "dl", "--yes", "-c", "debug", "-o", "json"],
    )
    .await;
    o.assert_exit(0);
    assert_eq!(json(&o)["result"], "Persisted");
    assert_eq!(markers(&sim), Vec::<std::path::PathBuf>::new());
}

/// Spaces, quotes, `$(...)` and unicode in the mount path and subPath: the data go to
/// exec as argv, the marker lands in the right volume and is removed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mount_paths_with_spaces_quotes_and_unicode() {
    let path = "/srv/it's a \"quoted\" $(dir) ünïcødé ✓";
    let spec = json!({"containers":[{"name":"app","image":"busybox","volumeMounts":[
        {"name":"data","mountPath":path},
        {"name":"logs","mountPath":"/var/log/app","subPath":"sub dir/it's"}]}]});
    let sim = sim_with_settled(&sts_manifest("odd", 1, None, spec, &["data", "logs"], json!({})), "odd").await;
    let o = kubectl_sts(&sim, &["verify-persistence", "odd", "--yes", "-o", "json"]).await;
    o.assert_exit(0);
    assert_no_dump(&o);
    let r = json(&o);
    assert_eq!(r["result"], "Persisted");
    let mounts = r["pods"][0]["mounts"].as_array().unwrap();
    assert_eq!(mounts.len(), 2);
    assert_eq!(mounts[0]["mountPath"], path);
    assert!(mounts.iter().all(|m| m["verdict"] == "PERSISTED"), "{mounts:#?}");
    assert_eq!(markers(&sim), Vec::<std::path::PathBuf>::new());
    // Nothing escaped into a path the shell would have made of it.
    let o = kubectl_sts(&sim, &["status", "odd"]).await;
    o.assert_exit(0);
    let _ = annotations::NO_SHELL;
}
