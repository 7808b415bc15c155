use super::*;
use crate::resources::by_plural;

fn sts_res() -> &'static Resource {
    by_plural("statefulsets").unwrap()
}

/// The seed StatefulSet as a create leaves it (defaulted).
fn seed() -> Value {
    let docs: Vec<Value> =
        serde_yaml_ng::Deserializer::from_str(include_str!("../../../tests/fixtures/seed-003-statefulset.yaml"))
            .map(|d| serde::Deserialize::deserialize(d).unwrap())
            .collect();
    let mut sts = docs[1].clone();
    crate::api::defaults::apply(sts_res(), &mut sts);
    sts
}

fn w(manager: &str, subresource: Option<&'static str>) -> Write<'static> {
    Write {
        res: sts_res(),
        manager: manager.into(),
        subresource,
    }
}

/// An update by `manager` that changes `obj` with `f`.
fn update(obj: &Value, manager: &str, subresource: Option<&'static str>, f: impl FnOnce(&mut Value)) -> Value {
    let mut next = obj.clone();
    f(&mut next);
    record_update(&w(manager, subresource), Some(obj), &mut next);
    next
}

fn entries(obj: &Value) -> Vec<Entry> {
    decode_entries(obj)
}

fn find<'a>(es: &'a [Entry], manager: &str) -> &'a Entry {
    es.iter()
        .find(|e| e.manager == manager)
        .unwrap_or_else(|| panic!("{manager} in {es:?}"))
}

#[test]
fn the_captured_writes_give_the_captured_managed_fields() {
    let fx: Value = serde_json::from_str(include_str!(
        "../../../tests/fixtures/managed-fields-web-after-rollout.json"
    ))
    .unwrap();
    let mut obj = seed();
    record_update(&w("kubectl-create", None), None, &mut obj);
    obj = update(&obj, "kubectl", Some("scale"), |o| o["spec"]["replicas"] = json!(3));
    obj = update(&obj, "curl", None, |o| {
        o["metadata"]["annotations"] = fx["annotations"].clone()
    });
    obj = update(&obj, "kubectl-set", None, |o| {
        o["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:1.25")
    });
    obj = update(&obj, "kubectl-rollout", None, |o| {
        o["spec"]["template"]["metadata"]["annotations"] = fx["template"]["metadata"]["annotations"].clone()
    });
    obj = update(&obj, "kube-controller-manager", Some("status"), |o| {
        o["status"] = fx["status"].clone()
    });
    let ours = entries(&obj);
    let captured = entries(&json!({"metadata": {"managedFields": fx["managedFields"]}}));
    assert_eq!(ours.len(), captured.len(), "{ours:?}");
    for c in &captured {
        let mut mine = find(&ours, &c.manager).clone();
        if c.manager == "kubectl-create" {
            // GA since 1.32 and always defaulted: the v1.24 capture has no such field.
            let p = vec![
                "f:spec".to_string(),
                "f:persistentVolumeClaimRetentionPolicy".to_string(),
            ];
            mine.set.retain(|x| !x.starts_with(&p));
        }
        assert_eq!(mine.set, c.set, "{}", c.manager);
        assert_eq!(
            (&mine.operation, &mine.subresource),
            (&c.operation, &c.subresource),
            "{}",
            c.manager
        );
        assert_eq!(mine.time.is_none(), c.time.is_none(), "{}", c.manager);
    }
    // In the server's order: the scale entry (no time) first, then by time.
    let order: Vec<&str> = obj["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["manager"].as_str().unwrap())
        .collect();
    assert_eq!(order[0], "kubectl");
}

#[test]
fn a_write_that_changes_nothing_changes_no_entry() {
    let mut obj = seed();
    record_update(&w("kubectl-create", None), None, &mut obj);
    let same = update(&obj, "other", None, |_| {});
    assert_eq!(same["metadata"]["managedFields"], obj["metadata"]["managedFields"]);
}

#[test]
fn removed_fields_leave_every_manager_and_empty_entries_go() {
    let mut obj = seed();
    record_update(&w("kubectl-create", None), None, &mut obj);
    let obj = update(&obj, "curl", None, |o| o["metadata"]["annotations"] = json!({"a": "1"}));
    let obj = update(&obj, "kubectl-edit", None, |o| {
        o["metadata"].as_object_mut().unwrap().remove("annotations");
    });
    let es = entries(&obj);
    assert!(es.iter().all(|e| e.manager != "curl"), "{es:?}");
    assert!(es.iter().all(|e| e.manager != "kubectl-edit"), "{es:?}");
}

#[test]
fn an_empty_list_sent_resets_the_entries() {
    let mut obj = seed();
    record_update(&w("kubectl-create", None), None, &mut obj);
    let obj = update(&obj, "helm", None, |o| {
        o["metadata"]["managedFields"] = json!([]);
        o["spec"]["replicas"] = json!(4);
    });
    let es = entries(&obj);
    assert_eq!(es.len(), 1, "{es:?}");
    assert_eq!(es[0].manager, "helm");
}

#[test]
fn manager_is_the_field_manager_else_the_user_agent_prefix() {
    let mut q = HashMap::new();
    assert_eq!(
        manager_of(&q, "kubectl/v1.37.1 (linux/amd64) kubernetes/f78e722"),
        "kubectl"
    );
    assert_eq!(manager_of(&q, "Helm/3.14.0"), "Helm");
    assert_eq!(manager_of(&q, ""), "");
    q.insert("fieldManager".to_string(), "kubectl-client-side-apply".to_string());
    assert_eq!(manager_of(&q, "kubectl/v1.37.1"), "kubectl-client-side-apply");
}

fn applied(manager: &str, live: Option<&Value>, config: &Value, force: bool) -> Result<Value, ApiError> {
    let w = w(manager, None);
    let mut new = apply_merge(&w, live, config);
    crate::api::defaults::apply(sts_res(), &mut new);
    record_apply(&w, live, &mut new, config, force)?;
    Ok(new)
}

fn config(replicas: i64, extra_label: Option<&str>) -> Value {
    let mut c = json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "web"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}}, "serviceName": "web",
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}});
    if let Some(l) = extra_label {
        c["metadata"]["labels"] = json!({ l: "x" });
    }
    c
}

#[test]
fn apply_owns_what_it_applied_and_conflicts_with_other_owners() {
    let first = applied("kustomize-controller", None, &config(3, None), false).unwrap();
    let es = entries(&first);
    assert_eq!((es.len(), es[0].operation.as_str()), (1, "Apply"), "{es:?}");
    assert!(
        es[0]
            .set
            .contains(&vec!["f:spec".to_string(), "f:replicas".to_string()])
    );
    // Defaulted fields are nobody's.
    assert!(
        !es[0]
            .set
            .contains(&vec!["f:spec".to_string(), "f:podManagementPolicy".to_string()])
    );
    // Someone scales by hand: the scale owns replicas now.
    let scaled = update(&first, "kubectl", Some("scale"), |o| o["spec"]["replicas"] = json!(5));
    // Re-applying 3 conflicts with that owner...
    let e = applied("kustomize-controller", Some(&scaled), &config(3, None), false).unwrap_err();
    assert_eq!(e.code, 409);
    assert_eq!(
        e.message,
        "Apply failed with 1 conflict: conflict with \"kubectl\" with subresource \"scale\" using apps/v1: .spec.replicas"
    );
    assert_eq!(e.details.as_ref().unwrap()["causes"][0]["field"], ".spec.replicas");
    // ... unless forced, which sets it back and takes it over.
    let forced = applied("kustomize-controller", Some(&scaled), &config(3, None), true).unwrap();
    assert_eq!(forced["spec"]["replicas"], 3);
    assert!(entries(&forced).iter().all(|e| e.manager != "kubectl"));
    // The same value is shared ownership, not a conflict.
    let again = applied("argocd-controller", Some(&forced), &config(3, None), false).unwrap();
    assert_eq!(entries(&again).len(), 2);
}

#[test]
fn apply_removes_what_it_no_longer_applies() {
    let first = applied("flux", None, &config(3, Some("team")), false).unwrap();
    assert_eq!(first["metadata"]["labels"]["team"], "x");
    let second = applied("flux", Some(&first), &config(3, None), false).unwrap();
    assert!(
        second["metadata"]["labels"].get("team").is_none(),
        "{}",
        second["metadata"]
    );
}
