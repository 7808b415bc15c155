//! The event recorder: core/v1 Events as client-go's tools/record writes them (named
//! `<object>.<unix-nanos in hex>`, `source.component`, first/lastTimestamp, `count`),
//! with its EventCorrelator's aggregation: the same event again bumps `count` and
//! `lastTimestamp` of the existing object instead of creating a new one. See the
//! reference capture watch-events.jsonl.
//!
//! The scheduler writes events.k8s.io/v1-style events instead (`eventTime`, `action`,
//! `reportingComponent`, no `count`/`source`): [`record_scheduler`].

use serde_json::{Value, json};

use crate::store::{Key, Store, now_rfc3339};

/// Who reports an event and about which part of the object.
#[derive(Clone, Debug, Default)]
pub struct Source<'a> {
    /// `source.component`: `statefulset-controller`, `kubelet`, ...
    pub component: &'a str,
    /// `source.host` (the kubelet's node).
    pub host: Option<&'a str>,
    /// `involvedObject.fieldPath`, e.g. `spec.containers{nginx}`.
    pub field_path: Option<&'a str>,
}

/// Record a core/v1 event about `involved` (any stored object).
pub fn record(store: &Store, involved: &Value, type_: &str, reason: &str, message: &str, component: &str) {
    record_from(
        store,
        involved,
        type_,
        reason,
        message,
        &Source {
            component,
            ..Source::default()
        },
    );
}

fn involved_object(involved: &Value, field_path: Option<&str>) -> Value {
    let m = &involved["metadata"];
    let mut r = json!({
        "kind": involved["kind"],
        "name": m["name"],
        "uid": m["uid"],
        "apiVersion": involved["apiVersion"],
        "resourceVersion": m["resourceVersion"],
    });
    if let Some(ns) = m["namespace"].as_str() {
        r["namespace"] = json!(ns);
    }
    if let Some(fp) = field_path {
        r["fieldPath"] = json!(fp);
    }
    r
}

fn event_namespace(involved: &Value) -> &str {
    involved["metadata"]["namespace"].as_str().unwrap_or("default")
}

fn event_name(store: &Store, ns: &str, obj_name: &str) -> String {
    let mut nanos = jiff::Timestamp::now().as_nanosecond();
    loop {
        let n = format!("{obj_name}.{nanos:x}");
        if store.get(&Key::new("events", ns, &n)).is_none() {
            return n;
        }
        nanos += 1;
    }
}

/// Record a core/v1 event, aggregating with an identical earlier one.
pub fn record_from(store: &Store, involved: &Value, type_: &str, reason: &str, message: &str, src: &Source) {
    let ns = event_namespace(involved);
    let io = involved_object(involved, src.field_path);
    let mut source = json!({ "component": src.component });
    if let Some(h) = src.host {
        source["host"] = json!(h);
    }
    let now = now_rfc3339();
    // EventCorrelator: same source, object, type, reason and message -> count++.
    let (events, _) = store.list("events", Some(ns));
    let same = events.iter().find(|e| {
        e["source"] == source
            && e["type"].as_str() == Some(type_)
            && e["reason"].as_str() == Some(reason)
            && e["message"].as_str() == Some(message)
            && e["involvedObject"]["uid"] == io["uid"]
            && e["involvedObject"]["fieldPath"] == io["fieldPath"]
    });
    if let Some(e) = same {
        let key = Key::new("events", ns, e["metadata"]["name"].as_str().unwrap_or(""));
        let _ = store.modify(&key, |e| {
            let c = e["count"].as_i64().unwrap_or(1);
            e["count"] = json!(c + 1);
            e["lastTimestamp"] = json!(now);
            Ok(())
        });
        return;
    }
    let name = event_name(store, ns, involved["metadata"]["name"].as_str().unwrap_or(""));
    let ev = json!({
        "metadata": { "name": name, "namespace": ns },
        "involvedObject": io,
        "reason": reason,
        "message": message,
        "source": source,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
        "type": type_,
        "eventTime": null,
        "reportingComponent": "",
        "reportingInstance": "",
    });
    let _ = store.create(ns, "events", ev);
}

/// Record an event the way kube-scheduler does (events.k8s.io/v1 recorder, seen
/// through core/v1): `eventTime` with microseconds, `action`, `reportingComponent`
/// `default-scheduler`, empty `source`, no count or first/lastTimestamp.
pub fn record_scheduler(store: &Store, involved: &Value, type_: &str, reason: &str, action: &str, message: &str) {
    let ns = event_namespace(involved);
    let name = event_name(store, ns, involved["metadata"]["name"].as_str().unwrap_or(""));
    let event_time = jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    let ev = json!({
        "metadata": { "name": name, "namespace": ns },
        "involvedObject": involved_object(involved, None),
        "reason": reason,
        "message": message,
        "source": {},
        "firstTimestamp": null,
        "lastTimestamp": null,
        "type": type_,
        "eventTime": event_time,
        "action": action,
        "reportingComponent": "default-scheduler",
        "reportingInstance": "default-scheduler-sts-sim",
    });
    let _ = store.create(ns, "events", ev);
}
