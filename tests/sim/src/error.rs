//! API errors as the API server sends them: a `metav1.Status` body with the HTTP code.

use serde_json::{Value, json};

use crate::resources::Resource;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Value>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.code, self.reason, self.message)
    }
}

impl std::error::Error for ApiError {}

fn details(res: &Resource, name: &str) -> Value {
    let mut d = json!({ "name": name, "kind": res.plural });
    if !res.group.is_empty() {
        d["group"] = json!(res.group);
    }
    d
}

impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    /// The `metav1.Status` body (as in err-*.txt of the reference captures).
    pub fn status(&self) -> Value {
        let mut s = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if self.reason.is_empty() {
            // StatusReasonUnknown is "" and omitted (an error that was no metav1.Status).
            s.as_object_mut().map(|o| o.remove("reason"));
        }
        if let Some(d) = &self.details {
            s["details"] = d.clone();
        }
        s
    }

    pub fn not_found(res: &Resource, name: &str) -> ApiError {
        ApiError {
            code: 404,
            reason: "NotFound",
            message: format!("{} \"{name}\" not found", res.qualified()),
            details: Some(details(res, name)),
        }
    }

    pub fn already_exists(res: &Resource, name: &str) -> ApiError {
        ApiError {
            code: 409,
            reason: "AlreadyExists",
            message: format!("{} \"{name}\" already exists", res.qualified()),
            details: Some(details(res, name)),
        }
    }

    pub fn conflict(res: &Resource, name: &str, why: &str) -> ApiError {
        ApiError {
            code: 409,
            reason: "Conflict",
            message: format!("Operation cannot be fulfilled on {} \"{name}\": {why}", res.qualified()),
            details: Some(details(res, name)),
        }
    }

    /// 422 as errors.NewInvalid words it: the group-qualified kind
    /// (`StatefulSet.apps "web" is invalid: ...`), details naming the kind.
    pub fn invalid(res: &Resource, name: &str, why: &str) -> ApiError {
        let mut d = json!({ "name": name, "kind": res.kind });
        let kind = if res.group.is_empty() {
            res.kind.to_string()
        } else {
            d["group"] = json!(res.group);
            format!("{}.{}", res.kind, res.group)
        };
        ApiError {
            code: 422,
            reason: "Invalid",
            message: format!("{kind} \"{name}\" is invalid: {why}"),
            details: Some(d),
        }
    }

    /// 403 from an admission plugin (admission.NewForbidden): `pvcs "x" is forbidden: why`.
    pub fn admission_forbidden(res: &Resource, name: &str, why: &str) -> ApiError {
        ApiError {
            code: 403,
            reason: "Forbidden",
            message: format!("{} \"{name}\" is forbidden: {why}", res.qualified()),
            details: Some(details(res, name)),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "BadRequest", message)
    }

    pub fn expired(requested: u64, oldest: u64) -> ApiError {
        ApiError::new(
            410,
            "Expired",
            format!("too old resource version: {requested} ({oldest})"),
        )
    }

    /// 403 as RBAC words it: `pods "web-0" is forbidden: User "x" cannot delete
    /// resource "pods" in API group "" in the namespace "default"`.
    pub fn forbidden(
        res: &Resource,
        subresource: Option<&str>,
        name: &str,
        user: &str,
        verb: &str,
        namespace: &str,
    ) -> ApiError {
        let resource = match subresource {
            Some(s) => format!("{}/{s}", res.plural),
            None => res.plural.to_string(),
        };
        let who = if name.is_empty() {
            res.qualified()
        } else {
            format!("{} \"{name}\"", res.qualified())
        };
        let scope = if namespace.is_empty() {
            "at the cluster scope".to_string()
        } else {
            format!("in the namespace \"{namespace}\"")
        };
        ApiError {
            code: 403,
            reason: "Forbidden",
            message: format!(
                "{who} is forbidden: User \"{user}\" cannot {verb} resource \"{resource}\" in API group \"{}\" {scope}",
                res.group
            ),
            details: Some(details(res, name)),
        }
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(401, "Unauthorized", "Unauthorized")
    }

    pub fn too_many_requests(message: impl Into<String>) -> ApiError {
        ApiError::new(429, "TooManyRequests", message)
    }

    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(500, "InternalError", message)
    }
}
