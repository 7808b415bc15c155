use super::*;
use serde_json::json;

fn tpl(containers: Value) -> Value {
    json!({"metadata": {"labels": {"app": "nginx"}}, "spec": {"containers": containers}})
}

fn row(revision: i64, name: &str, current: bool, update: bool) -> RevisionRow {
    RevisionRow {
        revision,
        name: name.into(),
        hash: name.rsplit('-').next().unwrap_or("").into(),
        created_at: None,
        images: Vec::new(),
        change_cause: None,
        current,
        update,
    }
}

#[test]
fn template_drops_the_replace_directive() {
    let r: ControllerRevision = serde_json::from_value(json!({
        "metadata": {"name": "web-1"}, "revision": 1,
        "data": {"spec": {"template": {"$patch": "replace", "spec": {"containers": [{"name": "nginx"}]}}}}
    }))
    .unwrap();
    assert_eq!(template(&r), json!({"spec": {"containers": [{"name": "nginx"}]}}));
}

#[test]
fn containers_are_compared_by_name_not_position() {
    let a = tpl(json!([{"name": "side", "image": "busybox"}, {"name": "nginx", "image": "nginx:1.25"}]));
    let b = tpl(json!([{"name": "nginx", "image": "nginx:1.26"}, {"name": "side", "image": "busybox"}]));
    assert_eq!(
        changes(&a, &b),
        vec![FieldChange {
            path: "spec.containers[nginx].image".into(),
            from: json!("nginx:1.25"),
            to: json!("nginx:1.26"),
        }]
    );
}

#[test]
fn added_and_removed_fields_are_null_on_the_missing_side() {
    let a = tpl(json!([{"name": "nginx", "image": "nginx", "env": [{"name": "A", "value": "1"}]}]));
    let b = tpl(
        json!([{"name": "nginx", "image": "nginx", "command": ["sh", "-c", "run"],
                        "env": [{"name": "B", "value": "2"}]}]),
    );
    let c = changes(&a, &b);
    let paths: Vec<&str> = c.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "spec.containers[nginx].command",
            "spec.containers[nginx].env[B]",
            "spec.containers[nginx].env[A]"
        ]
    );
    assert_eq!(c[0].from, Value::Null);
    assert_eq!(c[0].to, json!(["sh", "-c", "run"]));
    assert_eq!(c[2].to, Value::Null);
}

#[test]
fn annotation_keys_with_dots_are_bracketed_and_null_equals_absent() {
    let a = json!({"metadata": {"annotations": null}, "spec": {"containers": []}});
    let b = json!({"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "2026-11-22T03:06:40Z"}},
                   "spec": {"containers": []}});
    let c = changes(&a, &b);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].path, "metadata.annotations[kubectl.kubernetes.io/restartedAt]");
    assert_eq!(summary(&a, &b), "restartedAt added");
    let a2 = json!({"metadata": {"annotations": {"x": "1"}}});
    let b2 = json!({"metadata": {"annotations": {"x": "1", "kubectl.kubernetes.io/restartedAt": "t"}}});
    assert_eq!(
        changes(&a2, &b2)[0].path,
        "metadata.annotations[kubectl.kubernetes.io/restartedAt]"
    );
    assert!(changes(&json!({"spec": {"x": null}}), &json!({"spec": {}})).is_empty());
}

#[test]
fn ports_key_on_container_port_and_protocol() {
    let a = tpl(
        json!([{"name": "dns", "ports": [{"containerPort": 53, "protocol": "UDP", "name": "u"},
                                                 {"containerPort": 53, "name": "t"}]}]),
    );
    let b = tpl(json!([{"name": "dns", "ports": [{"containerPort": 53, "name": "t"},
                                                 {"containerPort": 53, "protocol": "UDP", "name": "udp"}]}]));
    let c = changes(&a, &b);
    assert_eq!(c.len(), 1, "{c:?}");
    assert_eq!(c[0].path, "spec.containers[dns].ports[53/UDP].name");
}

#[test]
fn lists_without_a_merge_key_are_compared_whole() {
    let a = tpl(json!([{"name": "nginx", "args": ["a", "b"]}]));
    let b = tpl(json!([{"name": "nginx", "args": ["a", "c"]}]));
    let c = changes(&a, &b);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].path, "spec.containers[nginx].args");
    assert_eq!(c[0].to, json!(["a", "c"]));
}

#[test]
fn summary_names_what_changed_in_one_line() {
    let a = tpl(json!([{"name": "nginx", "image": "nginx:1.25"}]));
    let b = tpl(json!([{"name": "nginx", "image": "nginx:1.26", "command": ["run"],
                        "readinessProbe": {"httpGet": {"path": "/", "port": 80}}}]));
    assert_eq!(
        summary(&a, &b),
        "command added, image nginx:1.25 -> nginx:1.26, readinessProbe added"
    );
    let c = tpl(json!([{"name": "nginx", "image": "nginx:1.26", "command": ["run"],
                        "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}}}]));
    assert_eq!(summary(&b, &c), "readinessProbe changed");
    assert_eq!(summary(&a, &a), "no change to the pod template");
}

#[test]
fn summary_names_containers_when_there_are_several_and_hides_env_values() {
    let a = tpl(
        json!([{"name": "nginx", "image": "nginx:1.25", "env": [{"name": "TOKEN", "value": "s3cret"}]},
                       {"name": "side", "image": "busybox"}]),
    );
    let b = tpl(
        json!([{"name": "nginx", "image": "nginx:1.26", "env": [{"name": "TOKEN", "value": "other"}]},
                       {"name": "log", "image": "fluent-bit"}]),
    );
    let s = summary(&a, &b);
    assert_eq!(
        s,
        "nginx: env TOKEN changed, nginx: image nginx:1.25 -> nginx:1.26, container log added, container side removed"
    );
    assert!(!s.contains("s3cret") && !s.contains("other"), "{s}");
}

#[test]
fn summary_of_a_restart_and_of_resources() {
    let mut a = tpl(json!([{"name": "nginx", "resources": {"limits": {"memory": "256Mi"}}}]));
    let mut b = tpl(json!([{"name": "nginx", "resources": {"limits": {"memory": "512Mi", "cpu": "1"}}}]));
    a["metadata"]["annotations"] = json!({"kubectl.kubernetes.io/restartedAt": "2026-11-22T03:06:40Z"});
    b["metadata"]["annotations"] = json!({"kubectl.kubernetes.io/restartedAt": "2026-11-22T04:00:00Z"});
    assert_eq!(
        summary(&a, &b),
        "restartedAt 2026-11-22T03:06:40Z -> 2026-11-22T04:00:00Z, resources changed"
    );
}

#[test]
fn unified_diff_shows_the_changed_yaml_line() {
    let a = tpl(json!([{"name": "nginx", "image": "nginx:1.25"}]));
    let b = tpl(json!([{"name": "nginx", "image": "nginx:1.26"}]));
    let d = unified(Some(&a), &b, "revision 1 (web-a)", "revision 2 (web-b)");
    assert!(
        d.starts_with("--- revision 1 (web-a)\n+++ revision 2 (web-b)\n@@ "),
        "{d}"
    );
    assert!(d.contains("\n-  - image: nginx:1.25\n+  - image: nginx:1.26\n"), "{d}");
    let first = unified(None, &b, "(none)", "revision 1");
    assert!(
        first
            .lines()
            .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
            .count()
            >= 4,
        "{first}"
    );
}

#[test]
fn pick_defaults_to_update_against_current_then_latest_against_previous() {
    let rolling = [
        row(1, "web-a", false, false),
        row(2, "web-b", true, false),
        row(3, "web-c", false, true),
    ];
    let (f, t) = pick("web", &rolling, None).unwrap();
    assert_eq!((f.map(|r| r.revision), t.revision), (Some(2), 3));
    let settled = [row(1, "web-a", false, false), row(3, "web-c", true, true)];
    let (f, t) = pick("web", &settled, None).unwrap();
    assert_eq!((f.map(|r| r.revision), t.revision), (Some(1), 3));
    let (f, t) = pick("web", &settled, Some(1)).unwrap();
    assert_eq!((f.map(|r| r.revision), t.revision), (None, 1));
}

#[test]
fn pick_a_missing_revision_names_the_ones_that_exist() {
    let rows = [row(1, "web-a", false, false), row(3, "web-c", true, true)];
    let e = pick("web", &rows, Some(2)).unwrap_err();
    assert!(e.contains("no revision 2 (it has 1, 3)"), "{e}");
    assert!(!e.contains('\n'));
    assert!(pick("web", &[], None).unwrap_err().contains("no ControllerRevisions"));
}

fn revision(name: &str, n: i64, image: &str) -> ControllerRevision {
    serde_json::from_value(json!({
        "metadata": {"name": name}, "revision": n,
        "data": {"spec": {"template": {"$patch": "replace", "spec": {"containers": [{"name": "nginx", "image": image}]}}}}
    }))
    .unwrap()
}

#[test]
fn pod_line_says_which_revision_a_pod_runs_and_what_it_changed() {
    let revs = [revision("web-a", 3, "nginx:1.25"), revision("web-b", 4, "nginx:1.26")];
    assert_eq!(
        pod_line("web-2", &revs, "web-a", "web-b").as_deref(),
        Some("web-2 runs revision 4: image nginx:1.25 -> nginx:1.26")
    );
    assert_eq!(pod_line("web-2", &revs, "web-a", "web-a"), None);
    assert_eq!(pod_line("web-2", &revs, "web-a", "web-gone"), None);
}
