use super::*;
use serde_json::json;

fn sts() -> StatefulSet {
    serde_json::from_value(json!({
        "metadata": {"name": "web", "namespace": "default", "generation": 1},
        "spec": {"replicas": 3, "serviceName": "nginx", "ordinals": {"start": 1},
            "selector": {"matchLabels": {"app": "nginx"}}, "template": {},
            "volumeClaimTemplates": [{"metadata": {"name": "data"}}]},
        "status": {"observedGeneration": 1, "replicas": 2, "readyReplicas": 2, "currentRevision": "web-a", "updateRevision": "web-a"}
    }))
    .unwrap()
}

fn pod(name: &str, ready: bool) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"controller-revision-hash": "web-a"}, "creationTimestamp": "2026-11-22T03:00:00Z"},
        "spec": {"containers": [{"name": "nginx"}], "nodeName": "n1",
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": format!("data-{name}")}}]},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}}],
            "containerStatuses": [{"name": "nginx", "ready": ready, "restartCount": 1, "image": "", "imageID": "", "state": {"running": {}}}]}
    }))
    .unwrap()
}

fn pvc(name: &str, phase: &str, volume: Option<&str>) -> PersistentVolumeClaim {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"volumeName": volume, "storageClassName": "standard"},
        "status": {"phase": phase, "capacity": {"storage": "1Gi"}}
    }))
    .unwrap()
}

#[test]
fn rows_per_ordinal_with_missing_and_strays() {
    let now: jiff::Timestamp = "2026-11-22T03:05:00Z".parse().unwrap();
    // Ordinals 1..=3; pod 3 missing, pod 0 (outside the range) still present, web-10 belongs to no ordinal here.
    let pods_in = [
        pod("web-1", true),
        pod("web-2", false),
        pod("web-0", true),
        pod("web-10", true),
    ];
    let pvcs = [
        pvc("data-web-1", "Bound", Some("pv-1")),
        pvc("data-web-2", "Pending", None),
        pvc("data-web-10", "Bound", Some("pv-10")),
    ];
    let r = build(&sts(), &pods_in, &pvcs, now);
    let got: Vec<(i32, bool, bool, &str)> = r
        .pods
        .iter()
        .map(|p| (p.ordinal, p.exists, p.in_range, p.status.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (1, true, true, "Running"),
            (2, true, true, "Running"),
            (3, false, true, "<none>"),
            (0, true, false, "Running"),
            (10, true, false, "Running")
        ]
    );
    assert_eq!(r.pods[0].claims[0].volume.as_deref(), Some("pv-1"));
    assert_eq!(r.pods[1].claims[0].phase, "Pending");
    assert_eq!(r.pods[2].claims[0].phase, "Missing");
    assert_eq!(r.pods[0].age_seconds, Some(300));
    assert_eq!(
        r.pods[0].dns_name.as_deref(),
        Some("web-1.nginx.default.svc.cluster.local")
    );
    assert_eq!(r.pods[0].revision_state, Some("update"));
    assert!(!r.pods[1].ready);
}
