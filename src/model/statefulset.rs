//! The facts of a StatefulSet that every command reasons about, read once from the
//! object with the API server's defaults applied where a field is absent
//! (pkg/apis/apps/v1/defaults.go: OrderedReady, RollingUpdate with partition 0,
//! retention Retain/Retain).

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Serialize;

use super::ordinals::OrdinalRange;

/// Declares an enum for one of the StatefulSet's string-valued policies: the API's
/// spelling is its JSON form and its Display; an absent or unknown value reads as the
/// API server's default.
macro_rules! policy_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident),+ $(,)? } default $default:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        pub enum $name {
            $($(#[$vm])* $variant),+
        }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => stringify!($variant)),+
                }
            }

            /// The API's value; absent (or a value this version does not know) is the default.
            pub fn parse(value: Option<&str>) -> $name {
                match value {
                    $(Some(stringify!($variant)) => $name::$variant,)+
                    _ => $name::$default,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

policy_enum! {
    /// `spec.updateStrategy.type`.
    UpdateStrategy {
        /// The controller replaces pods itself, highest ordinal first, down to the partition.
        RollingUpdate,
        /// Only a deleted pod is recreated at the new template.
        OnDelete,
    } default RollingUpdate
}

policy_enum! {
    /// `spec.podManagementPolicy`.
    PodManagementPolicy {
        /// Create low to high, each after its predecessor is Running and Ready; remove high to low.
        OrderedReady,
        /// Create and remove without waiting.
        Parallel,
    } default OrderedReady
}

policy_enum! {
    /// `whenScaled` / `whenDeleted` of `persistentVolumeClaimRetentionPolicy`.
    Retention {
        Retain,
        Delete,
    } default Retain
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RetentionPolicy {
    /// `Retain` or `Delete`: what happens to PVCs when the StatefulSet is deleted.
    pub when_deleted: Retention,
    /// `Retain` or `Delete`: what happens to the PVCs of ordinals removed by scale-in.
    pub when_scaled: Retention,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Facts {
    pub name: String,
    pub namespace: String,
    pub generation: i64,
    pub observed_generation: Option<i64>,
    pub replicas: i32,
    pub start_ordinal: i32,
    pub pod_management_policy: PodManagementPolicy,
    pub update_strategy: UpdateStrategy,
    pub partition: i32,
    /// `maxUnavailable` as given (an integer or a percentage); absent means 1.
    pub max_unavailable: Option<String>,
    pub min_ready_seconds: i32,
    pub service_name: Option<String>,
    pub retention: RetentionPolicy,
    /// volumeClaimTemplates names, in order.
    pub claim_templates: Vec<String>,
    /// The claim templates as a new claim gets them (for claim drift).
    #[serde(skip)]
    pub claim_specs: Vec<crate::model::drift::TemplateSpec>,
    pub current_revision: Option<String>,
    pub update_revision: Option<String>,
    pub status_replicas: i32,
    pub ready_replicas: i32,
    pub available_replicas: i32,
    pub current_replicas: i32,
    pub updated_replicas: i32,
}

impl Facts {
    pub fn of(sts: &StatefulSet) -> Facts {
        let spec = Some(&sts.spec);
        let status = sts.status.as_ref();
        let rolling = spec
            .and_then(|s| s.update_strategy.as_ref())
            .and_then(|u| u.rolling_update.as_ref());
        let retention = spec.and_then(|s| s.persistent_volume_claim_retention_policy.as_ref());
        Facts {
            name: sts.metadata.name.clone().unwrap_or_default(),
            namespace: sts.metadata.namespace.clone().unwrap_or_default(),
            generation: sts.metadata.generation.unwrap_or(0),
            observed_generation: status.and_then(|s| s.observed_generation),
            replicas: spec.and_then(|s| s.replicas).unwrap_or(1),
            start_ordinal: spec
                .and_then(|s| s.ordinals.as_ref())
                .and_then(|o| o.start)
                .unwrap_or(0),
            pod_management_policy: PodManagementPolicy::parse(spec.and_then(|s| s.pod_management_policy.as_deref())),
            update_strategy: UpdateStrategy::parse(
                spec.and_then(|s| s.update_strategy.as_ref())
                    .and_then(|u| u.type_.as_deref()),
            ),
            partition: rolling.and_then(|r| r.partition).unwrap_or(0),
            max_unavailable: rolling.and_then(|r| r.max_unavailable.as_ref()).map(|m| match m {
                IntOrString::Int(i) => i.to_string(),
                IntOrString::String(s) => s.clone(),
            }),
            min_ready_seconds: spec.and_then(|s| s.min_ready_seconds).unwrap_or(0),
            service_name: spec.and_then(|s| s.service_name.clone()).filter(|s| !s.is_empty()),
            retention: RetentionPolicy {
                when_deleted: Retention::parse(retention.and_then(|r| r.when_deleted.as_deref())),
                when_scaled: Retention::parse(retention.and_then(|r| r.when_scaled.as_deref())),
            },
            claim_templates: spec
                .and_then(|s| s.volume_claim_templates.as_ref())
                .map(|ts| ts.iter().filter_map(|t| t.metadata.name.clone()).collect())
                .unwrap_or_default(),
            claim_specs: crate::model::drift::templates(sts),
            current_revision: status
                .and_then(|s| s.current_revision.clone())
                .filter(|s| !s.is_empty()),
            update_revision: status.and_then(|s| s.update_revision.clone()).filter(|s| !s.is_empty()),
            status_replicas: status.map_or(0, |s| s.replicas),
            ready_replicas: status.and_then(|s| s.ready_replicas).unwrap_or(0),
            available_replicas: status.and_then(|s| s.available_replicas).unwrap_or(0),
            current_replicas: status.and_then(|s| s.current_replicas).unwrap_or(0),
            updated_replicas: status.and_then(|s| s.updated_replicas).unwrap_or(0),
        }
    }

    pub fn ordinals(&self) -> OrdinalRange {
        OrdinalRange::new(self.start_ordinal, self.replicas)
    }

    /// Status describes the current spec (`observedGeneration >= generation`); only
    /// then can its counts be trusted.
    pub fn status_is_current(&self) -> bool {
        self.observed_generation.is_some_and(|o| o >= self.generation)
    }

    /// The revision the controller gives a pod of `ordinal` that it (re)creates now:
    /// under RollingUpdate, `currentRevision` below `start + partition` and
    /// `updateRevision` at or above it; otherwise (OnDelete) `updateRevision`
    /// (`newVersionedStatefulSetPod` in pkg/controller/statefulset/stateful_set_utils.go;
    /// the API server always defaults `rollingUpdate`, so its nil branch does not arise).
    pub fn revision_on_recreate(&self, ordinal: i32) -> Option<&str> {
        let below_partition =
            self.update_strategy == UpdateStrategy::RollingUpdate && ordinal < self.start_ordinal + self.partition;
        if below_partition {
            self.current_revision.as_deref().or(self.update_revision.as_deref())
        } else {
            self.update_revision.as_deref()
        }
    }

    /// A rollout is in flight: the controller reports two revisions.
    pub fn rollout_in_flight(&self) -> bool {
        matches!((&self.current_revision, &self.update_revision), (Some(c), Some(u)) if c != u)
    }

    /// `<pod>.<service>.<namespace>.svc.cluster.local`, when a governing service is set.
    pub fn pod_dns_pattern(&self) -> Option<String> {
        self.service_name
            .as_ref()
            .map(|svc| format!("<pod>.{svc}.{}.svc.cluster.local", self.namespace))
    }

    /// One word for the StatefulSet's state from its status alone.
    pub fn summary_state(&self) -> &'static str {
        if !self.status_is_current() {
            "Progressing"
        } else if self.status_replicas > self.replicas {
            "ScalingIn"
        } else if self.ready_replicas < self.replicas {
            if self.status_replicas < self.replicas {
                "ScalingOut"
            } else {
                "Degraded"
            }
        } else if self.update_strategy == UpdateStrategy::RollingUpdate
            && self.updated_replicas < self.replicas - self.partition
        {
            "Rolling"
        } else if self.min_ready_seconds > 0 && self.available_replicas < self.replicas {
            "Progressing"
        } else {
            "Settled"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sts(v: serde_json::Value) -> StatefulSet {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn defaults_apply_when_absent() {
        let f = Facts::of(&sts(
            json!({"metadata":{"name":"web","namespace":"default","generation":1},
            "spec":{"selector":{},"template":{},"serviceName":"nginx"}}),
        ));
        assert_eq!(f.replicas, 1);
        assert_eq!(f.pod_management_policy, PodManagementPolicy::OrderedReady);
        assert_eq!(f.update_strategy, UpdateStrategy::RollingUpdate);
        assert_eq!(f.retention.when_scaled, Retention::Retain);
        assert_eq!(f.pod_dns_pattern().unwrap(), "<pod>.nginx.default.svc.cluster.local");
        assert!(!f.status_is_current());
    }

    #[test]
    fn states() {
        let base = json!({"metadata":{"name":"web","namespace":"ns","generation":2},
            "spec":{"selector":{},"template":{},"replicas":3,"ordinals":{"start":5}},
            "status":{"observedGeneration":2,"replicas":3,"readyReplicas":3,"availableReplicas":3,"updatedReplicas":3,
              "currentRevision":"web-a","updateRevision":"web-a"}});
        let f = Facts::of(&sts(base.clone()));
        assert_eq!(f.summary_state(), "Settled");
        assert_eq!(f.ordinals().range().collect::<Vec<_>>(), vec![5, 6, 7]);
        let mut v = base.clone();
        v["status"]["readyReplicas"] = json!(2);
        assert_eq!(Facts::of(&sts(v)).summary_state(), "Degraded");
        let mut v = base.clone();
        v["status"]["updatedReplicas"] = json!(1);
        v["status"]["updateRevision"] = json!("web-b");
        let f = Facts::of(&sts(v));
        assert_eq!(f.summary_state(), "Rolling");
        assert!(f.rollout_in_flight());
        let mut v = base;
        v["status"]["observedGeneration"] = json!(1);
        assert_eq!(Facts::of(&sts(v)).summary_state(), "Progressing");
    }
}
