//! Request info: which resource, namespace, name and subresource a URL addresses, and
//! the verb, as k8s.io/apiserver/pkg/endpoints/request/requestinfo.go classifies them.

use std::collections::HashMap;

use axum::http::Method;

use crate::resources::{self, Resource};

#[derive(Debug, Clone)]
pub struct ReqInfo {
    pub res: &'static Resource,
    /// The namespace in the path (`/namespaces/{ns}/...`), if any.
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
    pub verb: &'static str,
    /// The User-Agent header: the default field manager (`crate::api::managed`).
    pub user_agent: String,
}

impl ReqInfo {
    /// `pods`, or `statefulsets/scale` (as RBAC and the request log name it).
    pub fn resource_path(&self) -> String {
        match &self.subresource {
            Some(s) => format!("{}/{s}", self.res.plural),
            None => self.res.plural.to_string(),
        }
    }
}

pub fn query_map(q: Option<&str>) -> HashMap<String, String> {
    let mut m = HashMap::new();
    for pair in q.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        m.insert(decode(k), decode(v));
    }
    m
}

/// Percent-decoding of a query component (`+` is a space).
pub fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16) {
                    Ok(x) => {
                        out.push(x);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parse `/api/v1/...` or `/apis/{g}/{v}/...` into a resource request. None for
/// anything else (discovery, unknown resources).
pub fn parse(method: &Method, path: &str, query: &HashMap<String, String>) -> Option<ReqInfo> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match segs.as_slice() {
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return None,
    };
    let (namespace, rest): (Option<String>, &[&str]) = match rest {
        ["namespaces", ns, r @ ..] if !r.is_empty() => (Some(ns.to_string()), r),
        _ => (None, rest),
    };
    let (plural, name, sub) = match rest {
        [p] => (*p, None, None),
        [p, n] => (*p, Some(n.to_string()), None),
        [p, n, s] => (*p, Some(n.to_string()), Some(s.to_string())),
        _ => return None,
    };
    let res = resources::by_plural(plural).filter(|r| r.group == group && r.version == version)?;
    if let Some(s) = &sub
        && !res.subresources.contains(&s.as_str())
    {
        return None;
    }
    // `namespaces/{ns}` addresses the Namespace itself.
    let (namespace, name) = if res.plural == "namespaces" {
        (None, name)
    } else {
        (namespace, name)
    };
    let watch = matches!(query.get("watch").map(String::as_str), Some("1" | "true"));
    let verb = match (method.as_str(), name.is_some()) {
        ("GET", false) if watch => "watch",
        ("GET", false) => "list",
        ("GET", true) if watch => "watch",
        ("GET", true) => "get",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", true) => "delete",
        ("DELETE", false) => "deletecollection",
        _ => "unknown",
    };
    Some(ReqInfo {
        res,
        namespace,
        name,
        subresource: sub,
        verb,
        user_agent: String::new(),
    })
}
