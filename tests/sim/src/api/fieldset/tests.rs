use super::*;

fn p(els: &[&str]) -> Path {
    els.iter().map(|s| s.to_string()).collect()
}

#[test]
fn encode_marks_members_with_children_by_a_dot() {
    let s: Set = [
        p(&["f:metadata", "f:labels"]),
        p(&["f:metadata", "f:labels", "f:app"]),
        p(&["f:spec", "f:replicas"]),
    ]
    .into_iter()
    .collect();
    let v = encode(&s);
    assert_eq!(
        v,
        json!({"f:metadata": {"f:labels": {".": {}, "f:app": {}}}, "f:spec": {"f:replicas": {}}})
    );
    assert_eq!(decode(&v), s);
}

#[test]
fn items_of_associative_lists_are_keyed_and_added_as_themselves() {
    let a = json!({"spec": {"containers": [{"name": "a", "image": "x"}]}});
    let b = json!({"spec": {"containers": [{"name": "a", "image": "y"}, {"name": "b", "image": "z"}]}});
    let c = compare(&a, &b);
    let k = |n: &str| format!("k:{{\"name\":\"{n}\"}}");
    assert!(c.modified.contains(&p(&["f:spec", "f:containers", &k("a"), "f:image"])));
    assert!(c.added.contains(&p(&["f:spec", "f:containers", &k("b")])));
    assert!(c.added.contains(&p(&["f:spec", "f:containers", &k("b"), "f:name"])));
    assert!(c.removed.is_empty());
}

#[test]
fn set_lists_atomic_lists_and_selectors() {
    let a =
        json!({"metadata": {"finalizers": ["a"]}, "spec": {"selector": {"matchLabels": {"x": "1"}}, "args": ["1"]}});
    let b = json!({"metadata": {"finalizers": ["a", "b"]}, "spec": {"selector": {"matchLabels": {"x": "2"}}, "args": ["2"]}});
    let c = compare(&a, &b);
    assert!(c.added.contains(&p(&["f:metadata", "f:finalizers", "v:\"b\""])));
    assert!(c.modified.contains(&p(&["f:spec", "f:selector"])));
    assert!(c.modified.contains(&p(&["f:spec", "f:args"])));
    assert_eq!(c.modified.len(), 2, "{c:?}");
}

#[test]
fn display_is_the_conflict_path() {
    let path = p(&[
        "f:spec",
        "f:template",
        "f:spec",
        "f:containers",
        "k:{\"name\":\"nginx\"}",
        "f:image",
    ]);
    assert_eq!(display(&path), ".spec.template.spec.containers[name=\"nginx\"].image");
    let port = p(&["f:ports", "k:{\"containerPort\":80,\"protocol\":\"TCP\"}"]);
    assert_eq!(display(&port), ".ports[containerPort=80,protocol=\"TCP\"]");
}

#[test]
fn port_keys_default_the_protocol() {
    let s = of_object(&json!({"ports": [{"containerPort": 80}]}));
    assert!(
        s.contains(&p(&["f:ports", "k:{\"containerPort\":80,\"protocol\":\"TCP\"}"])),
        "{s:?}"
    );
}
