use super::*;
use serde_json::{Value, json};

fn sts(labels: Value, annotations: Value, managed: Value) -> StatefulSet {
    serde_json::from_value(json!({
        "metadata": {"name": "web", "namespace": "default", "labels": labels, "annotations": annotations,
                     "managedFields": managed},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "serviceName": "web",
                 "template": {"spec": {"containers": []}}}
    }))
    .unwrap()
}

/// A managedFields entry owning the given `f:spec` children.
fn entry(manager: &str, operation: &str, spec_fields: &[&str], subresource: Option<&str>) -> Value {
    let spec: serde_json::Map<String, Value> = spec_fields.iter().map(|f| (format!("f:{f}"), json!({}))).collect();
    let mut e = json!({"manager": manager, "operation": operation, "apiVersion": "apps/v1",
                       "time": "2026-11-22T03:05:39Z", "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": spec}});
    if let Some(s) = subresource {
        e["subresource"] = json!(s);
    }
    e
}

fn helm_release() -> StatefulSet {
    sts(
        json!({"app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/instance": "web"}),
        json!({"meta.helm.sh/release-name": "web", "meta.helm.sh/release-namespace": "default"}),
        json!([
            entry("helm", "Update", &["replicas", "template"], None),
            entry("kube-controller-manager", "Update", &[], Some("status"))
        ]),
    )
}

#[test]
fn helm_release_from_its_marks_with_its_field_manager() {
    let owners = detect(&helm_release());
    assert_eq!(owners.len(), 1, "{owners:?}");
    let o = &owners[0];
    assert_eq!(o.tool, Tool::Helm);
    assert_eq!(
        (o.name.as_deref(), o.namespace.as_deref()),
        (Some("web"), Some("default"))
    );
    assert_eq!(o.field_manager.as_deref(), Some("helm"));
    assert_eq!(describe(o), "Helm release web (ns default)");
    let w = warning(o, Change::Scale { replicas: 5 }).unwrap();
    assert!(
        w.starts_with("managed by Helm release web (ns default): the next `helm upgrade` sets replicas back"),
        "{w}"
    );
    assert!(w.ends_with("set replicas: 5 in the Helm values of release web"), "{w}");
}

#[test]
fn helm_label_alone_names_the_release_from_the_instance_label() {
    let s = sts(
        json!({"app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/instance": "db"}),
        json!({}),
        json!([]),
    );
    let owners = detect(&s);
    assert_eq!(owners.len(), 1);
    assert_eq!(owners[0].name.as_deref(), Some("db"));
    // No release-namespace annotation: the release lives beside the object.
    assert_eq!(owners[0].namespace.as_deref(), Some("default"));
}

#[test]
fn argo_cd_by_label_or_tracking_id() {
    let by_label = detect(&sts(
        json!({"argocd.argoproj.io/instance": "shop"}),
        json!({}),
        json!([]),
    ));
    assert_eq!(
        (by_label[0].tool, by_label[0].name.as_deref()),
        (Tool::ArgoCd, Some("shop"))
    );
    let by_id = detect(&sts(
        json!({}),
        json!({"argocd.argoproj.io/tracking-id": "shop:apps/StatefulSet:default/web"}),
        json!([entry("argocd-controller", "Apply", &["replicas"], None)]),
    ));
    assert_eq!(by_id.len(), 1, "{by_id:?}");
    assert_eq!(by_id[0].name.as_deref(), Some("shop"));
    assert_eq!(by_id[0].field_manager.as_deref(), Some("argocd-controller"));
    let w = warning(&by_id[0], Change::Scale { replicas: 3 }).unwrap();
    assert!(
        w.contains("Argo CD sync") && w.contains("the source (Git) of Argo CD application shop"),
        "{w}"
    );
}

#[test]
fn argo_cd_rendering_a_helm_chart_is_the_only_owner() {
    let s = sts(
        json!({"argocd.argoproj.io/instance": "shop", "app.kubernetes.io/managed-by": "Helm"}),
        json!({}),
        json!([]),
    );
    let owners = detect(&s);
    assert_eq!(owners.len(), 1, "{owners:?}");
    assert_eq!(owners[0].tool, Tool::ArgoCd);
    assert!(
        owners[0]
            .source
            .contains("Helm values in the source of Argo CD application shop")
    );
}

#[test]
fn flux_kustomization_and_helm_release() {
    let ks = detect(&sts(
        json!({"kustomize.toolkit.fluxcd.io/name": "apps", "kustomize.toolkit.fluxcd.io/namespace": "flux-system"}),
        json!({}),
        json!([entry("kustomize-controller", "Apply", &["replicas", "template"], None)]),
    ));
    assert_eq!(ks.len(), 1, "{ks:?}");
    assert_eq!(describe(&ks[0]), "Flux Kustomization flux-system/apps");
    assert_eq!(ks[0].field_manager.as_deref(), Some("kustomize-controller"));
    assert!(ks[0].applies);
    // helm-controller leaves Helm's marks too: the HelmRelease is the owner, not a release to `helm upgrade`.
    let hr = detect(&sts(
        json!({"helm.toolkit.fluxcd.io/name": "web", "helm.toolkit.fluxcd.io/namespace": "apps",
               "app.kubernetes.io/managed-by": "Helm"}),
        json!({"meta.helm.sh/release-name": "apps-web", "meta.helm.sh/release-namespace": "default"}),
        json!([entry("helm-controller", "Update", &["replicas"], None)]),
    ));
    assert_eq!(hr.len(), 1, "{hr:?}");
    assert_eq!(hr[0].tool, Tool::FluxHelmRelease);
    assert_eq!(hr[0].field_manager.as_deref(), Some("helm-controller"));
    let w = warning(&hr[0], Change::Scale { replicas: 4 }).unwrap();
    assert!(
        w.contains("Flux's next reconciliation") && w.contains("spec.values of Flux HelmRelease web"),
        "{w}"
    );
}

#[test]
fn other_field_managers_count_only_when_they_own_spec_fields() {
    let s = sts(
        json!({}),
        json!({}),
        json!([
            entry("kube-controller-manager", "Update", &[], Some("status")),
            entry("kubectl-client-side-apply", "Update", &["replicas", "template"], None),
            entry("kubectl", "Update", &["replicas"], Some("scale")),
            entry("kubectl-sts", "Update", &["replicas"], Some("scale")),
            entry("kubectl-rollout", "Update", &["template"], None),
            entry("curl", "Update", &[], None),
            entry("terraform", "Apply", &["replicas"], None),
        ]),
    );
    let owners = detect(&s);
    assert_eq!(owners.len(), 1, "{owners:?}");
    let o = &owners[0];
    assert_eq!(
        (o.tool, o.field_manager.as_deref()),
        (Tool::FieldManager, Some("terraform"))
    );
    assert_eq!(describe(o), "field manager \"terraform\"");
    assert!(warning(o, Change::Scale { replicas: 2 }).is_some());
    // It does not own the template: an undo or a restart is none of its business.
    assert_eq!(
        warning(
            o,
            Change::Undo {
                revision: 1,
                images: &[]
            }
        ),
        None
    );
    assert_eq!(warning(o, Change::Restart), None);
}

#[test]
fn a_field_manager_is_one_owner_whatever_its_entries() {
    let s = sts(
        json!({}),
        json!({}),
        json!([
            entry("operator", "Update", &["replicas"], None),
            entry("operator", "Apply", &["template"], None)
        ]),
    );
    let owners = detect(&s);
    assert_eq!(owners.len(), 1, "{owners:?}");
    assert!(owners[0].writes.replicas && owners[0].writes.template && owners[0].applies);
}

#[test]
fn warnings_per_change_say_what_to_change_in_the_source() {
    let o = &detect(&helm_release())[0];
    let images = ["nginx=nginx:1.25".to_string()];
    let undo = warning(
        o,
        Change::Undo {
            revision: 3,
            images: &images,
        },
    )
    .unwrap();
    assert!(undo.contains("re-applies the template this undo reverts"), "{undo}");
    assert!(
        undo.contains("the Helm values of release web too (revision 3: nginx=nginx:1.25)"),
        "{undo}"
    );
    let resize = warning(
        o,
        Change::Resize {
            template: "data",
            size: "30Gi",
        },
    )
    .unwrap();
    assert!(
        resize.contains("fails with 422 Invalid")
            && resize.contains("until data is 30Gi in the Helm values of release web too"),
        "{resize}"
    );
    let restart = warning(o, Change::Restart).unwrap();
    assert!(restart.contains("the restart sticks"), "{restart}");
    for w in [&undo, &resize, &restart] {
        assert!(!w.contains('\n'), "{w}");
    }
}

#[test]
fn an_update_writer_of_the_template_may_restart_the_pods_again() {
    let s = sts(
        json!({}),
        json!({}),
        json!([entry("my-operator", "Update", &["template"], None)]),
    );
    let w = warnings(&detect(&s), Change::Restart);
    assert_eq!(w.len(), 1);
    assert!(w[0].contains("every pod restarts once more"), "{w:?}");
}

#[test]
fn no_marks_no_owner() {
    assert!(detect(&sts(json!({"app": "web"}), json!({}), json!([]))).is_empty());
    let plain: StatefulSet = serde_json::from_value(json!({"metadata": {"name": "web"}})).unwrap();
    assert!(detect(&plain).is_empty());
}
