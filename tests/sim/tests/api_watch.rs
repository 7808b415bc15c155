//! The watch protocol on the wire, as a real API server serves it: resume from a
//! resourceVersion, 410 Expired as an ERROR event, bookmarks (also in Table watches),
//! streaming lists (sendInitialEvents), selector semantics (leaving the selection is a
//! DELETED), timeoutSeconds, dropped watches, and a pod's graceful deletion sequence.

use std::time::Duration;

use axum::http::Request;
use futures::{AsyncBufReadExt, StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use serde_json::{Value, json};
use sts_sim::{Sim, SimConfig};

const TIMEOUT: Duration = Duration::from_secs(30);

fn svc(name: &str, app: &str) -> Service {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "labels": {"app": app}},
        "spec": {"clusterIP": "None", "ports": [{"port": 80}], "selector": {"app": app}}
    }))
    .unwrap()
}

async fn sim() -> Sim {
    Sim::start(SimConfig::default()).await.unwrap()
}

fn rv<K: kube::Resource>(o: &K) -> String {
    o.meta().resource_version.clone().unwrap()
}

/// A raw watch (or any streaming GET): each line of the body as JSON.
async fn raw_stream(
    sim: &Sim,
    path: &str,
    accept: Option<&str>,
) -> Result<futures::stream::BoxStream<'static, Value>, kube::Error> {
    let mut req = Request::get(path);
    if let Some(a) = accept {
        req = req.header("Accept", a);
    }
    let body = sim.client().request_stream(req.body(Vec::new()).unwrap()).await?;
    Ok(body
        .lines()
        .map(|l| serde_json::from_str::<Value>(&l.expect("readable watch body")).expect("one JSON event per line"))
        .boxed())
}

/// The next event of a stream, within TIMEOUT.
async fn next<S: futures::Stream + Unpin>(s: &mut S, what: &str) -> S::Item {
    tokio::time::timeout(TIMEOUT, s.next())
        .await
        .unwrap_or_else(|_| panic!("no {what} within {TIMEOUT:?}"))
        .unwrap_or_else(|| panic!("stream ended before {what}"))
}

#[tokio::test]
async fn watch_resumes_from_a_resource_version_and_410_when_expired() {
    let sim = sim().await;
    let api: Api<Service> = Api::namespaced(sim.client(), "default");
    let a = api.create(&PostParams::default(), &svc("a", "x")).await.unwrap();
    api.create(&PostParams::default(), &svc("b", "x")).await.unwrap();
    api.create(&PostParams::default(), &svc("c", "x")).await.unwrap();

    // Resume right after `a`: exactly b and c, in order, nothing of a.
    let mut w = api.watch(&WatchParams::default(), &rv(&a)).await.unwrap().boxed();
    for want in ["b", "c"] {
        match next(&mut w, want).await.unwrap() {
            WatchEvent::Added(s) => assert_eq!(s.metadata.name.as_deref(), Some(want)),
            e => panic!("expected ADDED {want}, got {e:?}"),
        }
    }

    // Compacted history: a watch from `a`'s version is one ERROR event, 410 Expired.
    sim.faults().expire_watches();
    api.create(&PostParams::default(), &svc("d", "x")).await.unwrap();
    let mut w = api.watch(&WatchParams::default(), &rv(&a)).await.unwrap().boxed();
    match next(&mut w, "the ERROR event").await.unwrap() {
        WatchEvent::Error(e) => {
            assert_eq!(e.code, 410);
            assert_eq!(e.reason, "Expired");
            assert!(e.message.starts_with("too old resource version: "), "{}", e.message);
        }
        e => panic!("expected ERROR 410, got {e:?}"),
    }
    assert!(
        tokio::time::timeout(TIMEOUT, w.next()).await.unwrap().is_none(),
        "the stream ends after the error"
    );
}

#[tokio::test]
async fn bookmarks_in_json_and_table_watches() {
    let sim = sim().await;
    let api: Api<Service> = Api::namespaced(sim.client(), "default");
    let a = api.create(&PostParams::default(), &svc("a", "x")).await.unwrap();
    let path = format!(
        "/api/v1/namespaces/default/services?watch=true&allowWatchBookmarks=true&resourceVersion={}",
        rv(&a)
    );
    let mut w = raw_stream(&sim, &path, None).await.unwrap();
    let ev = next(&mut w, "a BOOKMARK").await;
    assert_eq!(ev["type"], "BOOKMARK");
    assert_eq!(ev["object"]["kind"], "Service");
    assert_eq!(ev["object"]["metadata"]["resourceVersion"], json!(rv(&a)));

    // As a Table (kubectl get -w): the bookmark is converted to a Table too.
    let mut w = raw_stream(&sim, &path, Some("application/json;as=Table;v=v1;g=meta.k8s.io"))
        .await
        .unwrap();
    let ev = next(&mut w, "a Table BOOKMARK").await;
    assert_eq!(ev["type"], "BOOKMARK");
    assert_eq!(ev["object"]["kind"], "Table");
    assert_eq!(ev["object"]["metadata"]["resourceVersion"], json!(rv(&a)));

    // Without allowWatchBookmarks: no bookmark; the next event is the next write.
    let plain = path.replace("allowWatchBookmarks=true&", "");
    let mut w = raw_stream(&sim, &plain, None).await.unwrap();
    let b = api.create(&PostParams::default(), &svc("b", "x")).await.unwrap();
    let ev = next(&mut w, "ADDED b").await;
    assert_eq!(
        (ev["type"].as_str(), ev["object"]["metadata"]["name"].as_str()),
        (Some("ADDED"), Some("b"))
    );
    assert_eq!(ev["object"]["metadata"]["resourceVersion"], json!(rv(&b)));
}

#[tokio::test]
async fn streaming_list_ends_initial_events_with_an_annotated_bookmark() {
    let sim = sim().await;
    let api: Api<Service> = Api::namespaced(sim.client(), "default");
    for n in ["a", "b"] {
        api.create(&PostParams::default(), &svc(n, "x")).await.unwrap();
    }
    let base = "/api/v1/namespaces/default/services?watch=true&sendInitialEvents=true";
    let mut w = raw_stream(
        &sim,
        &format!("{base}&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan"),
        None,
    )
    .await
    .unwrap();
    let mut names = Vec::new();
    let end = loop {
        let ev = next(&mut w, "the initial events").await;
        match ev["type"].as_str() {
            Some("ADDED") => names.push(ev["object"]["metadata"]["name"].as_str().unwrap().to_string()),
            Some("BOOKMARK") => break ev,
            t => panic!("unexpected {t:?}: {ev}"),
        }
    };
    assert_eq!(names, ["a", "b"]);
    assert_eq!(
        end["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
    let list_rv: u64 = end["object"]["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let c = api.create(&PostParams::default(), &svc("c", "x")).await.unwrap();
    let ev = loop {
        let ev = next(&mut w, "ADDED c").await;
        if ev["type"] != "BOOKMARK" {
            break ev;
        }
    };
    assert_eq!(ev["object"]["metadata"]["name"], "c");
    assert!(rv(&c).parse::<u64>().unwrap() > list_rv);

    // The real validation: sendInitialEvents needs bookmarks and NotOlderThan.
    let err = raw_stream(&sim, base, None).await.err().expect("422");
    match err {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 422);
            assert!(
                s.message
                    .contains("sendInitialEvents requires setting allowWatchBookmarks to true"),
                "{}",
                s.message
            );
            assert!(
                s.message.contains("resourceVersionMatch to NotOlderThan"),
                "{}",
                s.message
            );
        }
        e => panic!("unexpected {e:?}"),
    }
}

#[tokio::test]
async fn selector_watch_sees_objects_leave_and_enter_the_selection() {
    let sim = sim().await;
    let api: Api<Service> = Api::namespaced(sim.client(), "default");
    api.create(&PostParams::default(), &svc("a", "x")).await.unwrap();
    let mut w = api
        .watch(&WatchParams::default().labels("app=x"), "0")
        .await
        .unwrap()
        .boxed();
    match next(&mut w, "initial ADDED").await.unwrap() {
        WatchEvent::Added(s) => assert_eq!(s.metadata.name.as_deref(), Some("a")),
        e => panic!("{e:?}"),
    }
    let relabel = |app: &str| Patch::Merge(json!({"metadata": {"labels": {"app": app}}}));
    let moved = api.patch("a", &PatchParams::default(), &relabel("y")).await.unwrap();
    match next(&mut w, "DELETED on leaving the selection").await.unwrap() {
        WatchEvent::Deleted(s) => {
            // The previous object (still labelled app=x) at the new resourceVersion.
            assert_eq!(s.metadata.labels.unwrap()["app"], "x");
            assert_eq!(s.metadata.resource_version, moved.metadata.resource_version);
        }
        e => panic!("expected DELETED, got {e:?}"),
    }
    // A write outside the selection is not seen; coming back is an ADDED.
    api.patch("a", &PatchParams::default(), &relabel("z")).await.unwrap();
    api.patch("a", &PatchParams::default(), &relabel("x")).await.unwrap();
    match next(&mut w, "ADDED on entering the selection").await.unwrap() {
        WatchEvent::Added(s) => assert_eq!(s.metadata.labels.unwrap()["app"], "x"),
        e => panic!("expected ADDED, got {e:?}"),
    }
}

#[tokio::test]
async fn timeout_seconds_and_dropped_watches_end_the_stream() {
    let sim = sim().await;
    let api: Api<Service> = Api::namespaced(sim.client(), "default");
    let a = api.create(&PostParams::default(), &svc("a", "x")).await.unwrap();
    let started = tokio::time::Instant::now();
    let mut w = api
        .watch(&WatchParams::default().timeout(1), &rv(&a))
        .await
        .unwrap()
        .boxed();
    let end = tokio::time::timeout(TIMEOUT, async {
        while let Some(ev) = w.next().await {
            assert!(matches!(ev, Ok(WatchEvent::Bookmark(_))), "{ev:?}");
        }
    })
    .await;
    assert!(end.is_ok(), "the watch did not end after timeoutSeconds=1");
    assert!(started.elapsed() >= Duration::from_millis(900), "ended too early");

    let mut w = api.watch(&WatchParams::default(), &rv(&a)).await.unwrap().boxed();
    sim.faults().drop_watches();
    let end = tokio::time::timeout(TIMEOUT, async { while w.try_next().await.ok().flatten().is_some() {} }).await;
    assert!(end.is_ok(), "a dropped watch ends its stream");
}

/// The sequence a watcher sees of a graceful pod deletion (watch-pods.jsonl 1088-1097):
/// deletionTimestamp set with the grace period, containers stopped (Ready False), the
/// kubelet's zero-grace delete as a MODIFIED (grace 0), then DELETED.
#[tokio::test]
async fn graceful_pod_deletion_ends_with_modified_grace_zero_then_deleted() {
    let sim = sim().await;
    let pods: Api<Pod> = Api::namespaced(sim.client(), "default");
    let pod: Pod = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"app": "p"}},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]}
    }))
    .unwrap();
    let created = pods.create(&PostParams::default(), &pod).await.unwrap();
    let mut w = pods
        .watch(&WatchParams::default().labels("app=p"), &rv(&created))
        .await
        .unwrap()
        .boxed();
    loop {
        if let WatchEvent::Modified(p) = next(&mut w, "p Running").await.unwrap()
            && p.status.and_then(|s| s.phase).as_deref() == Some("Running")
        {
            break;
        }
    }
    pods.delete("p", &DeleteParams::default()).await.unwrap();
    let mut seen = Vec::new();
    loop {
        match next(&mut w, "DELETED p").await.unwrap() {
            WatchEvent::Modified(p) => seen.push(("MODIFIED", p.metadata.deletion_grace_period_seconds)),
            WatchEvent::Deleted(p) => {
                seen.push(("DELETED", p.metadata.deletion_grace_period_seconds));
                break;
            }
            WatchEvent::Bookmark(_) => {}
            e => panic!("{e:?}"),
        }
    }
    assert_eq!(seen.first(), Some(&("MODIFIED", Some(30))), "{seen:?}");
    assert_eq!(
        &seen[seen.len() - 2..],
        [("MODIFIED", Some(0)), ("DELETED", Some(0))],
        "{seen:?}"
    );
}
