//! ControllerRevision data and names as the StatefulSet controller computes them.
//!
//! - The revision data is the "patch" of stateful_set_utils.go `getPatch`: the set
//!   encoded, reduced to `{"spec":{"template":<template>}}` with `"$patch":"replace"`
//!   added to the template, marshalled by Go's encoding/json (map keys sorted, compact,
//!   `<`, `>`, `&` escaped).
//! - The hash is pkg/controller/history `HashControllerRevision`: FNV-1 32-bit (Go's
//!   `fnv.New32`, not FNV-1a) over the raw data followed by the decimal collision
//!   count, printed in decimal and passed through `rand.SafeEncodeString`. This
//!   reproduces the reference captures' `web-9dc479bf`, `web-86cc9b9575`, ...
//! - The name is `ControllerRevisionName(<set>, hash)`: `<set>-<hash>`, the set name
//!   cut to 223 characters.

use serde_json::{Value, json};

/// Go `encoding/json` output for a JSON value held as `serde_json::Value`.
pub fn go_json(v: &Value) -> String {
    let mut out = String::new();
    write_go(v, &mut out);
    out
}

fn write_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_go(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(k, out);
                out.push(':');
                write_go(&m[k.as_str()], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go(x, out);
            }
            out.push(']');
        }
        Value::String(s) => write_str(s, out),
        other => out.push_str(&other.to_string()),
    }
}

/// FNV-1 32-bit (hash/fnv New32).
pub fn fnv1_32(data: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in data {
        h = h.wrapping_mul(0x0100_0193);
        h ^= u32::from(*b);
    }
    h
}

/// k8s.io/apimachinery/pkg/util/rand SafeEncodeString.
pub fn safe_encode(s: &str) -> String {
    const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    s.bytes()
        .map(|b| ALPHANUMS[b as usize % ALPHANUMS.len()] as char)
        .collect()
}

/// The revision data (getPatch) of a StatefulSet's current spec.
pub fn template_patch(set: &Value) -> Value {
    let mut template = set["spec"]["template"].clone();
    if !template.is_object() {
        template = json!({});
    }
    if !template["metadata"].is_object() {
        template["metadata"] = json!({});
    }
    // ObjectMeta.CreationTimestamp is a struct: Go always encodes it, as null.
    if template["metadata"].get("creationTimestamp").is_none() {
        template["metadata"]["creationTimestamp"] = Value::Null;
    }
    template["$patch"] = json!("replace");
    json!({ "spec": { "template": template } })
}

/// HashControllerRevision(data, &collisionCount).
pub fn hash(data: &Value, collision_count: i64) -> String {
    let mut raw = go_json(data).into_bytes();
    raw.extend_from_slice(collision_count.to_string().as_bytes());
    safe_encode(&fnv1_32(&raw).to_string())
}

/// history.ControllerRevisionName.
pub fn revision_name(set_name: &str, hash: &str) -> String {
    let prefix: String = set_name.chars().take(223).collect();
    format!("{prefix}-{hash}")
}

/// The pod template a revision records (ApplyRevision, reduced to the template).
pub fn template_of(revision: &Value) -> Value {
    let mut t = revision["data"]["spec"]["template"].clone();
    if let Some(m) = t.as_object_mut() {
        m.remove("$patch");
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seed StatefulSet's first revision from list-controllerrevisions.json.
    #[test]
    fn hash_matches_the_real_controller() {
        let data: Value = serde_json::from_str(
            r#"{"spec":{"template":{"$patch":"replace","metadata":{"creationTimestamp":null,"labels":{"app":"nginx"}},"spec":{"containers":[{"image":"nginx","imagePullPolicy":"IfNotPresent","name":"nginx","ports":[{"containerPort":80,"name":"web","protocol":"TCP"}],"resources":{},"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File","volumeMounts":[{"mountPath":"/data","name":"disk-ssd"}]}],"dnsPolicy":"ClusterFirst","restartPolicy":"Always","schedulerName":"default-scheduler","securityContext":{},"terminationGracePeriodSeconds":30}}}}"#,
        )
        .unwrap();
        assert_eq!(hash(&data, 0), "9dc479bf");
        assert_ne!(hash(&data, 1), "9dc479bf");
        assert_eq!(revision_name("web", "9dc479bf"), "web-9dc479bf");
    }

    #[test]
    fn go_json_sorts_and_escapes() {
        let v = json!({"b": "<&>", "a": [1, null, true]});
        assert_eq!(go_json(&v), r#"{"a":[1,null,true],"b":"\u003c\u0026\u003e"}"#);
    }
}
