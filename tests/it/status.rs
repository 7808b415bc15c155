//! `kubectl sts status` end-to-end against the simulated cluster.

use crate::support::*;
use k8s_openapi::api::apps::v1::StatefulSet;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_statefulset_per_ordinal() {
    let sim = seeded().await;

    let o = kubectl_sts(&sim, &["status", "web", "-o", "json"]).await;
    o.assert_exit(0);
    let r = json(&o);
    assert_eq!(r["kind"], "StatefulSetStatus");
    assert_eq!(r["state"], "Settled");
    assert_eq!(r["replicas"]["ready"], 2);
    assert_eq!(r["podDnsPattern"], "<pod>.nginx.default.svc.cluster.local");
    let pods = r["pods"].as_array().unwrap();
    assert_eq!(pods.len(), 2);
    for (i, p) in pods.iter().enumerate() {
        assert_eq!(p["ordinal"], i);
        assert_eq!(p["pod"], format!("web-{i}"));
        assert_eq!(p["ready"], true);
        assert_eq!(p["status"], "Running");
        assert_eq!(p["revisionState"], "update");
        let claim = &p["claims"][0];
        assert_eq!(claim["name"], format!("disk-ssd-web-{i}"));
        assert_eq!(claim["phase"], "Bound");
        assert!(claim["volume"].as_str().is_some_and(|v| !v.is_empty()));
        assert_eq!(claim["storageClass"], SEED_STORAGE_CLASS);
    }

    // The table has the header lines and one row per ordinal.
    let o = kubectl_sts(&sim, &["status", "web"]).await;
    o.assert_exit(0);
    let out = stdout(&o);
    assert!(out.contains("StatefulSet:   default/web   Settled"), "{out}");
    assert!(
        out.contains("Service:       nginx (headless) -> <pod>.nginx.default.svc.cluster.local"),
        "{out}"
    );
    let header = out.lines().find(|l| l.starts_with("ORDINAL")).expect("table header");
    for col in [
        "POD", "READY", "STATUS", "RESTARTS", "REVISION", "NODE", "PVC", "PV", "AGE",
    ] {
        assert!(header.contains(col), "{header}");
    }
    let rows: Vec<&str> = out.lines().skip_while(|l| !l.starts_with("ORDINAL")).skip(1).collect();
    assert_eq!(rows.len(), 2, "{out}");
    assert!(
        rows[0].starts_with("0 ") && rows[0].contains("web-0") && rows[0].contains("disk-ssd-web-0"),
        "{out}"
    );

    // --no-headers drops the header block and the column titles.
    let o = kubectl_sts(&sim, &["status", "web", "--no-headers"]).await;
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 2, "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_pods_and_pending_claims_are_rows() {
    let sim = sim().await;
    let client = sim.client();
    // An unknown storage class: the first PVC stays Pending, so web-0 never schedules
    // and (OrderedReady) web-1 is never created.
    let manifest = SEED_MANIFEST.replace(SEED_STORAGE_CLASS, "no-such-class");
    apply(&client, "default", &manifest).await;
    let api: Api<StatefulSet> = Api::namespaced(client.clone(), "default");
    wait_sts(&client, "default", "web", |s: Option<&StatefulSet>| {
        s.and_then(|s| s.status.as_ref()).is_some_and(|st| st.replicas == 1)
    })
    .await;
    let _ = api;

    let o = kubectl_sts(&sim, &["status", "web", "-o", "json"]).await;
    o.assert_exit(0);
    let r = json(&o);
    let pods = r["pods"].as_array().unwrap();
    assert_eq!(pods.len(), 2);
    assert_eq!(pods[0]["status"], "Pending");
    assert_eq!(pods[0]["claims"][0]["phase"], "Pending");
    assert_eq!(pods[1]["exists"], false);
    assert_eq!(pods[1]["status"], "<none>");
    assert_eq!(pods[1]["claims"][0]["phase"], "Missing");

    let out = stdout(&kubectl_sts(&sim, &["status", "web"]).await.output);
    let row1 = out.lines().find(|l| l.starts_with("1 ")).expect("row for ordinal 1");
    assert!(
        row1.contains("<none>") && row1.contains("disk-ssd-web-1 (missing)"),
        "{out}"
    );
    let row0 = out.lines().find(|l| l.starts_with("0 ")).expect("row for ordinal 0");
    assert!(row0.contains("Pending"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_ordinal_is_honoured() {
    let sim = sim().await;
    let client = sim.client();
    apply_seed(&client, "default").await;
    let api: Api<StatefulSet> = Api::namespaced(client.clone(), "default");
    api.patch(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"ordinals": {"start": 5}}})),
    )
    .await
    .unwrap();
    wait_sts(&client, "default", "web", |s: Option<&StatefulSet>| {
        settled().matches_object(s) && s.is_some_and(|s| s.spec.ordinals.as_ref().and_then(|o| o.start) == Some(5))
    })
    .await;
    let r = json(&kubectl_sts(&sim, &["status", "web", "-o", "json"]).await.output);
    let ordinals: Vec<i64> = r["pods"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["exists"] == true)
        .map(|p| p["ordinal"].as_i64().unwrap())
        .collect();
    assert_eq!(r["ordinals"], json!({"start": 5, "end": 7}));
    // Only ordinals 5 and 6 remain once the old 0 and 1 are gone.
    assert!(ordinals.contains(&5) && ordinals.contains(&6), "{r}");
    assert_eq!(r["pods"][0]["pod"], "web-5");
    assert_eq!(r["pods"][0]["claims"][0]["name"], "disk-ssd-web-5");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_without_name_and_across_namespaces() {
    let sim = sim().await;
    let client = sim.client();
    apply(
        &client,
        "default",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-b\n",
    )
    .await;
    apply_seed(&client, "default").await;
    apply_seed(&client, "team-b").await;
    wait_sts(&client, "default", "web", settled()).await;
    wait_sts(&client, "team-b", "web", settled()).await;

    let o = kubectl_sts(&sim, &["status"]).await;
    o.assert_exit(0);
    let out = stdout(&o);
    assert!(out.starts_with("NAME "), "{out}");
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(
        out.lines().nth(1).unwrap().starts_with("web ") && out.contains("2/2") && out.contains("disk-ssd"),
        "{out}"
    );

    let o = kubectl_sts(&sim, &["status", "-A", "-o", "json"]).await;
    let r = json(&o);
    let names: Vec<String> = r["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| format!("{}/{}", i["namespace"].as_str().unwrap(), i["name"].as_str().unwrap()))
        .collect();
    assert_eq!(names, vec!["default/web", "team-b/web"]);

    let out = stdout(&kubectl_sts(&sim, &["status", "-A", "-l", "app=nosuch"]).await.output);
    assert!(out.is_empty(), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_name_the_object_and_the_fix() {
    let sim = sim().await;
    let o = kubectl_sts(&sim, &["status", "nosuch"]).await;
    o.assert_exit(2);
    let line = one_line_error(&o);
    assert!(
        line.contains("statefulset \"nosuch\" not found in namespace \"default\"") && line.contains("-n"),
        "{line}"
    );

    let o = kubectl_sts(&sim, &["status", "web", "-n", "nowhere"]).await;
    o.assert_exit(2);
    assert!(one_line_error(&o).contains("namespace \"nowhere\" not found"));

    let o = kubectl_sts(&sim, &["status", "-n", "nowhere"]).await;
    o.assert_exit(2);
    assert!(one_line_error(&o).contains("namespace \"nowhere\" not found"));

    sim.faults().deny("get", "statefulsets");
    let o = kubectl_sts(&sim, &["status", "web"]).await;
    o.assert_exit(3);
    let line = one_line_error(&o);
    assert!(
        line.contains("may not get statefulsets (API group apps) in namespace \"default\""),
        "{line}"
    );
    sim.faults().reset();

    sim.faults().require_token(Some("another-token"));
    let o = kubectl_sts(&sim, &["status", "web"]).await;
    o.assert_exit(3);
    assert!(one_line_error(&o).contains("rejected your credentials"));
}

/// A claim resized by hand drifts from its template: status says so (header, claim line,
/// JSON), predicts the next scale-out at the template's size, `--fail-on-drift` exits 1;
/// and the prediction holds: a scale-out creates the new claim at the old size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hand_resized_claim_is_drift_and_the_next_scale_out_is_predicted() {
    let sim = seeded().await;
    let o = kubectl_sts(&sim, &["status", "web", "--fail-on-drift", "-o", "json"]).await;
    o.assert_exit(0);
    assert_eq!(json(&o)["drift"]["claims"], 0, "control: no drift before");
    let template = json(&o)["pods"][0]["claims"][0]["capacity"]
        .as_str()
        .unwrap()
        .to_string();

    let pvcs: Api<k8s_openapi::api::core::v1::PersistentVolumeClaim> = Api::namespaced(sim.client(), "default");
    pvcs.patch(
        "disk-ssd-web-0",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"resources": {"requests": {"storage": "50Gi"}}}})),
    )
    .await
    .unwrap();
    let o = kubectl_sts(&sim, &["status", "web", "-o", "json"]).await;
    o.assert_exit(0);
    let r = json(&o);
    assert_eq!(r["drift"]["claims"], 1, "{r:#}");
    let d = &r["pods"][0]["claims"][0]["drift"][0];
    assert_eq!(
        (d["field"].as_str(), d["claim"].as_str(), d["template"].as_str()),
        (Some("request"), Some("50Gi"), Some(template.as_str())),
        "{r:#}"
    );
    let next = r["drift"]["nextScaleOut"][0].as_str().unwrap();
    assert!(
        next.contains(&format!("creates disk-ssd claims at {template}")),
        "{next}"
    );

    let o = kubectl_sts(&sim, &["status", "web"]).await;
    let out = stdout(&o);
    assert!(out.contains("Drift:         1 claim(s) differ"), "{out}");
    assert!(out.contains("disk-ssd-web-0: request 50Gi, template"), "{out}");
    let o = kubectl_sts(&sim, &["status", "web", "--fail-on-drift"]).await;
    assert_error(&o, 1, &["statefulset \"web\": 1 claim(s) differ from their template"]);

    kubectl_sts(&sim, &["scale", "web", "--replicas", "3", "--yes"])
        .await
        .assert_exit(0);
    let new = pvcs.get("disk-ssd-web-2").await.unwrap();
    let req = &new.spec.unwrap().resources.unwrap().requests.unwrap()["storage"].0;
    assert_eq!(
        req, &template,
        "the scale-out created the claim at the template's size, as predicted"
    );
}
