//! Request log: every API request the sim answers, so tests can count calls
//! (`count("list", "pods")`) and scripts can read them (`GET /sim/requests`).

use std::sync::{Arc, Mutex};

use serde::Serialize;

/// One answered request. `verb` follows the API server's request-info classification
/// (k8s.io/apiserver/pkg/endpoints/request/requestinfo.go): get, list, watch, create,
/// update, patch, delete, deletecollection; `connect` for exec/log-like subresources.
#[derive(Clone, Debug, Serialize)]
pub struct RequestRecord {
    pub method: String,
    pub path: String,
    pub query: String,
    pub verb: String,
    /// Plural resource name, with `/subresource` when there is one (`statefulsets/scale`).
    pub resource: String,
    pub namespace: String,
    pub name: String,
    pub status: u16,
    /// RFC 3339 time the request arrived.
    pub time: String,
}

/// Shared, cheap-to-clone request log.
#[derive(Clone, Default)]
pub struct RequestLog {
    inner: Arc<Mutex<Vec<RequestRecord>>>,
}

impl RequestLog {
    pub fn record(&self, r: RequestRecord) {
        self.inner.lock().unwrap().push(r);
    }

    /// Every request so far, oldest first.
    pub fn all(&self) -> Vec<RequestRecord> {
        self.inner.lock().unwrap().clone()
    }

    /// How many requests with this verb hit this resource (`"pods"`, `"statefulsets/scale"`).
    pub fn count(&self, verb: &str, resource: &str) -> usize {
        self.inner
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.verb == verb && r.resource == resource)
            .count()
    }

    /// Requests on one resource (any verb).
    pub fn for_resource(&self, resource: &str) -> Vec<RequestRecord> {
        self.inner
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.resource == resource)
            .cloned()
            .collect()
    }

    pub fn clear(&self) {
        self.inner.lock().unwrap().clear();
    }

    pub fn len(&self) -> usize {
        self.inner.lock().unwrap().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
