//! Permission preflight: before a command changes anything, ask the API server whether
//! the requests it will make later are allowed: one SelfSubjectAccessReview per need
//! (what `kubectl auth can-i` asks), all at once.
//!
//! Why: verify-persistence writes markers, then deletes a pod, then watches for its
//! replacement. A Role that allows the exec but not the delete, or the delete but not
//! the watch, would otherwise be found out half-way, after the cluster was changed.
//!
//! Only a clear "no" stops a command. A review that cannot be made (the server does not
//! serve the API, the review itself is forbidden, a timeout) is not a denial: the
//! command goes on and the request itself says what is wrong, as it did without the
//! preflight.

use futures::future::join_all;
use k8s_openapi::api::authorization::v1::{ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec};
use kube::api::{Api, PostParams};

use crate::error::{CliError, ErrorKind, Target};
use crate::kubeconfig::Kube;

/// One request the command will make: allowed when any of `any_of` is (for exec, the
/// verb RBAC checks depends on the server version).
#[derive(Debug, Clone)]
pub struct Need {
    /// (verb, resource, subresource) in the core group unless `group` says otherwise.
    pub any_of: Vec<(&'static str, &'static str, Option<&'static str>)>,
    pub group: &'static str,
    pub name: Option<String>,
    /// What the command needs it for, e.g. "to delete web-1 so that it is recreated".
    pub why: String,
}

impl Need {
    pub fn new(verb: &'static str, resource: &'static str, sub: Option<&'static str>, why: impl Into<String>) -> Need {
        Need {
            any_of: vec![(verb, resource, sub)],
            group: "",
            name: None,
            why: why.into(),
        }
    }

    pub fn or(mut self, verb: &'static str, resource: &'static str, sub: Option<&'static str>) -> Need {
        self.any_of.push((verb, resource, sub));
        self
    }

    pub fn named(mut self, name: &str) -> Need {
        self.name = Some(name.to_string());
        self
    }

    /// `delete pods`, `create pods/exec`, or `get or create pods/exec`.
    pub fn describe(&self) -> String {
        let resource = |r: &str, s: Option<&str>| match s {
            Some(s) => format!("{r}/{s}"),
            None => r.to_string(),
        };
        let (_, r0, s0) = self.any_of[0];
        if self.any_of.iter().all(|(_, r, s)| *r == r0 && *s == s0) {
            let verbs: Vec<&str> = self.any_of.iter().map(|(v, _, _)| *v).collect();
            format!("{} {}", verbs.join(" or "), resource(r0, s0))
        } else {
            self.any_of
                .iter()
                .map(|(v, r, s)| format!("{v} {}", resource(r, *s)))
                .collect::<Vec<_>>()
                .join(" or ")
        }
    }
}

/// What the server said about one need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Allowed,
    Denied,
    /// The review could not be made; the request itself will tell.
    Unknown,
}

/// Ask about every need at once; one answer per need, in order.
pub async fn review(kube: &Kube, namespace: &str, needs: &[Need]) -> Vec<Answer> {
    let api: Api<SelfSubjectAccessReview> = Api::all(kube.client.clone());
    let asks = needs.iter().map(|need| {
        let api = api.clone();
        async move {
            let answers = join_all(need.any_of.iter().map(|(verb, resource, sub)| {
                let review = SelfSubjectAccessReview {
                    spec: SelfSubjectAccessReviewSpec {
                        resource_attributes: Some(ResourceAttributes {
                            namespace: Some(namespace.to_string()),
                            verb: Some(verb.to_string()),
                            group: Some(need.group.to_string()),
                            resource: Some(resource.to_string()),
                            subresource: sub.map(str::to_string),
                            name: need.name.clone(),
                            ..ResourceAttributes::default()
                        }),
                        ..SelfSubjectAccessReviewSpec::default()
                    },
                    ..SelfSubjectAccessReview::default()
                };
                let api = api.clone();
                async move {
                    let target = Target::new("create", "selfsubjectaccessreview", None, None);
                    match kube.call(target, api.create(&PostParams::default(), &review)).await {
                        Ok(r) => match r.status {
                            Some(s) if s.allowed => Answer::Allowed,
                            Some(_) => Answer::Denied,
                            None => Answer::Unknown,
                        },
                        Err(_) => Answer::Unknown,
                    }
                }
            }))
            .await;
            combine(&answers)
        }
    });
    join_all(asks).await
}

/// A need with alternatives is denied only when every alternative is.
pub fn combine(answers: &[Answer]) -> Answer {
    if answers.contains(&Answer::Allowed) {
        Answer::Allowed
    } else if !answers.is_empty() && answers.iter().all(|a| *a == Answer::Denied) {
        Answer::Denied
    } else {
        Answer::Unknown
    }
}

/// The one-line error for the first denied need, if any: names the verb, resource,
/// namespace and context, what it was needed for, and the Role that grants it.
pub fn first_denial(
    needs: &[Need],
    answers: &[Answer],
    namespace: &str,
    context: &str,
    role: &str,
) -> Option<CliError> {
    let denied: Vec<&Need> = needs
        .iter()
        .zip(answers)
        .filter(|(_, a)| **a == Answer::Denied)
        .map(|(n, _)| n)
        .collect();
    let first = denied.first()?;
    let also = if denied.len() > 1 {
        format!(
            " (nor {})",
            denied[1..].iter().map(|n| n.describe()).collect::<Vec<_>>().join(", ")
        )
    } else {
        String::new()
    };
    Some(CliError::new(
        ErrorKind::Forbidden,
        format!(
            "forbidden: you may not {}{also} in namespace \"{namespace}\" (context \"{context}\"), needed {}: nothing was changed; ask your cluster admin for the {role} role (docs/rbac.yaml)",
            first.describe(),
            first.why
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use Answer::*;

    #[test]
    fn alternatives_deny_only_together() {
        assert_eq!(combine(&[Denied, Allowed]), Allowed);
        assert_eq!(combine(&[Denied, Denied]), Denied);
        assert_eq!(combine(&[Denied, Unknown]), Unknown);
        assert_eq!(combine(&[]), Unknown);
    }

    #[test]
    fn denial_names_verb_resource_scope_and_role() {
        let needs = [
            Need::new("create", "pods", Some("exec"), "to write the markers in web-1").or("get", "pods", Some("exec")),
            Need::new("delete", "pods", None, "to delete web-1 so that it is recreated"),
            Need::new("watch", "pods", None, "to follow web-1's replacement"),
        ];
        assert!(
            first_denial(
                &needs,
                &[Allowed, Unknown, Allowed],
                "shop",
                "prod",
                "kubectl-sts-verify"
            )
            .is_none()
        );
        let e = first_denial(&needs, &[Allowed, Denied, Denied], "shop", "prod", "kubectl-sts-verify").unwrap();
        assert_eq!(e.kind, crate::error::ErrorKind::Forbidden);
        assert_eq!(
            e.message,
            "forbidden: you may not delete pods (nor watch pods) in namespace \"shop\" (context \"prod\"), needed to delete web-1 so that it is recreated: nothing was changed; ask your cluster admin for the kubectl-sts-verify role (docs/rbac.yaml)"
        );
        let e = first_denial(&needs, &[Denied, Allowed, Allowed], "shop", "prod", "r").unwrap();
        assert!(
            e.message.contains("may not create or get pods/exec in"),
            "{}",
            e.message
        );
    }
}
