//! Server-side printing: `meta.k8s.io/v1` Table responses for `kubectl get`, with the
//! column definitions and cell logic of pkg/printers/internalversion/printers.go
//! (printPod, printPersistentVolumeClaim, printStatefulSet, ...).

use serde_json::{Value, json};

use crate::resources::Resource;

/// `includeObject` of a Table request (metav1.IncludeObjectPolicy); Metadata by default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Include {
    None,
    Metadata,
    Object,
}

impl Include {
    pub fn parse(s: Option<&str>) -> Include {
        match s {
            Some("None") => Include::None,
            Some("Object") => Include::Object,
            _ => Include::Metadata,
        }
    }
}

/// Whether an Accept header asks for a Table (`application/json;as=Table;v=v1;g=meta.k8s.io`).
pub fn wants_table(accept: &str) -> bool {
    accept.split(',').any(|part| {
        let p: Vec<&str> = part.split(';').map(str::trim).collect();
        p.contains(&"as=Table") && p.contains(&"g=meta.k8s.io") && p.iter().any(|x| x.starts_with("v=v1"))
    })
}

/// Human age as duration.HumanDuration (k8s.io/apimachinery/pkg/util/duration).
pub fn human_duration(secs: i64) -> String {
    if secs < -1 {
        return "<invalid>".into();
    }
    let s = secs.max(0);
    let (m, h, d) = (s / 60, s / 3600, s / 86400);
    if s < 120 {
        format!("{s}s")
    } else if m < 10 {
        if s % 60 == 0 {
            format!("{m}m")
        } else {
            format!("{m}m{}s", s % 60)
        }
    } else if h < 3 {
        format!("{m}m")
    } else if h < 8 {
        if m % 60 == 0 {
            format!("{h}h")
        } else {
            format!("{h}h{}m", m % 60)
        }
    } else if h < 48 {
        format!("{h}h")
    } else if h < 24 * 8 {
        if h % 24 == 0 {
            format!("{d}d")
        } else {
            format!("{d}d{}h", h % 24)
        }
    } else if d < 365 * 2 {
        format!("{d}d")
    } else {
        format!("{}y{}d", d / 365, d % 365)
    }
}

fn since(ts: &Value) -> String {
    match ts.as_str().and_then(|t| t.parse::<jiff::Timestamp>().ok()) {
        Some(t) => human_duration(jiff::Timestamp::now().as_second() - t.as_second()),
        None => "<unknown>".into(),
    }
}

fn age(obj: &Value) -> Value {
    json!(since(&obj["metadata"]["creationTimestamp"]))
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

fn or_none(v: &str) -> Value {
    json!(if v.is_empty() { "<none>" } else { v })
}

fn col(name: &str, ty: &str, priority: i32, desc: &str) -> Value {
    let mut c = json!({"name": name, "type": ty, "format": "", "description": desc, "priority": priority});
    if name == "Name" {
        c["format"] = json!("name");
    }
    c
}

const NAME_DESC: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const AGE_DESC: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

fn columns(plural: &str) -> Vec<Value> {
    let name = || col("Name", "string", 0, NAME_DESC);
    let age = || col("Age", "string", 0, AGE_DESC);
    match plural {
        "pods" => vec![
            name(),
            col(
                "Ready",
                "string",
                0,
                "The aggregate readiness state of this pod for accepting traffic.",
            ),
            col(
                "Status",
                "string",
                0,
                "The aggregate status of the containers in this pod.",
            ),
            col(
                "Restarts",
                "string",
                0,
                "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
            ),
            age(),
            col("IP", "string", 1, "podIP is the IP address allocated to the pod."),
            col(
                "Node",
                "string",
                1,
                "NodeName indicates in which node this pod is scheduled.",
            ),
            col(
                "Nominated Node",
                "string",
                1,
                "nominatedNodeName is set only when this pod preempts other pods on the node.",
            ),
            col(
                "Readiness Gates",
                "string",
                1,
                "If specified, all readiness gates will be evaluated for pod readiness.",
            ),
        ],
        "persistentvolumeclaims" => vec![
            name(),
            col(
                "Status",
                "string",
                0,
                "phase represents the current phase of PersistentVolumeClaim.",
            ),
            col(
                "Volume",
                "string",
                0,
                "volumeName is the binding reference to the PersistentVolume backing this claim.",
            ),
            col(
                "Capacity",
                "string",
                0,
                "capacity represents the actual resources of the underlying volume.",
            ),
            col(
                "Access Modes",
                "string",
                0,
                "accessModes contains the actual access modes the volume backing the PVC has.",
            ),
            col(
                "StorageClass",
                "string",
                0,
                "storageClassName is the name of the StorageClass required by the claim.",
            ),
            col(
                "VolumeAttributesClass",
                "string",
                0,
                "volumeAttributesClassName may be used to set the VolumeAttributesClass used by this claim.",
            ),
            age(),
            col(
                "VolumeMode",
                "string",
                1,
                "volumeMode defines what type of volume is required by the claim.",
            ),
        ],
        "persistentvolumes" => vec![
            name(),
            col(
                "Capacity",
                "string",
                0,
                "capacity is the description of the persistent volume's resources and capacity.",
            ),
            col(
                "Access Modes",
                "string",
                0,
                "accessModes contains all ways the volume can be mounted.",
            ),
            col(
                "Reclaim Policy",
                "string",
                0,
                "persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim.",
            ),
            col(
                "Status",
                "string",
                0,
                "phase indicates if a volume is available, bound to a claim, or released by a claim.",
            ),
            col(
                "Claim",
                "string",
                0,
                "claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim.",
            ),
            col(
                "StorageClass",
                "string",
                0,
                "storageClassName is the name of StorageClass to which this persistent volume belongs.",
            ),
            col(
                "VolumeAttributesClass",
                "string",
                0,
                "Name of VolumeAttributesClass to which this persistent volume belongs.",
            ),
            col(
                "Reason",
                "string",
                0,
                "reason is a brief CamelCase string that describes any failure.",
            ),
            age(),
            col(
                "VolumeMode",
                "string",
                1,
                "volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state.",
            ),
        ],
        "statefulsets" => vec![
            name(),
            col("Ready", "string", 0, "Number of the pod with ready state"),
            age(),
            col("Containers", "string", 1, "Names of each container in the template."),
            col(
                "Images",
                "string",
                1,
                "Images referenced by each container in the template.",
            ),
        ],
        "services" => vec![
            name(),
            col("Type", "string", 0, "type determines how the Service is exposed."),
            col("Cluster-IP", "string", 0, "clusterIP is the IP address of the service."),
            col(
                "External-IP",
                "string",
                0,
                "List of IP addresses for which nodes in the cluster will also accept traffic for this service.",
            ),
            col(
                "Port(s)",
                "string",
                0,
                "The list of ports that are exposed by this service.",
            ),
            age(),
            col(
                "Selector",
                "string",
                1,
                "Route service traffic to pods with label keys and values matching this selector.",
            ),
        ],
        "events" => vec![
            col(
                "Last Seen",
                "string",
                0,
                "The time at which the most recent occurrence of this event was recorded.",
            ),
            col(
                "Type",
                "string",
                0,
                "Type of this event (Normal, Warning), new types could be added in the future",
            ),
            col(
                "Reason",
                "string",
                0,
                "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
            ),
            col("Object", "string", 0, "The object that this event is about."),
            col("Subobject", "string", 1, "The subobject that this event is about."),
            col("Source", "string", 1, "The component reporting this event."),
            col(
                "Message",
                "string",
                0,
                "A human-readable description of the status of this operation.",
            ),
            col(
                "First Seen",
                "string",
                1,
                "The time at which the event was first recorded.",
            ),
            col("Count", "string", 1, "The number of times this event has occurred."),
            col("Name", "string", 1, NAME_DESC),
        ],
        "controllerrevisions" => vec![
            name(),
            col("Controller", "string", 0, "Controller of the object"),
            col(
                "Revision",
                "string",
                0,
                "Revision indicates the revision of the state represented by Data.",
            ),
            age(),
        ],
        "namespaces" => vec![name(), col("Status", "string", 0, "The status of the namespace"), age()],
        "storageclasses" => vec![
            name(),
            col(
                "Provisioner",
                "string",
                0,
                "provisioner indicates the type of the provisioner.",
            ),
            col(
                "ReclaimPolicy",
                "string",
                0,
                "reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of this storage class.",
            ),
            col(
                "VolumeBindingMode",
                "string",
                0,
                "volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.",
            ),
            col(
                "AllowVolumeExpansion",
                "string",
                0,
                "allowVolumeExpansion shows whether the storage class allow volume expand.",
            ),
            age(),
        ],
        "poddisruptionbudgets" => vec![
            name(),
            col(
                "Min Available",
                "string",
                0,
                "The minimum number of pods that must be available simultaneously.",
            ),
            col(
                "Max Unavailable",
                "string",
                0,
                "The maximum number of pods that may be unavailable simultaneously.",
            ),
            col(
                "Allowed Disruptions",
                "integer",
                0,
                "Calculated number of pods that may be disrupted at this time.",
            ),
            age(),
        ],
        "nodes" => vec![
            name(),
            col("Status", "string", 0, "The status of the node"),
            col("Roles", "string", 0, "The roles of the node"),
            age(),
            col("Version", "string", 0, "Kubelet Version reported by the node."),
            col(
                "Internal-IP",
                "string",
                1,
                "List of addresses reachable to the node. Queried from cloud provider, if available.",
            ),
            col(
                "External-IP",
                "string",
                1,
                "List of addresses reachable to the node. Queried from cloud provider, if available.",
            ),
            col(
                "OS-Image",
                "string",
                1,
                "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
            ),
            col(
                "Kernel-Version",
                "string",
                1,
                "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
            ),
            col(
                "Container-Runtime",
                "string",
                1,
                "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).",
            ),
        ],
        "resourcequotas" => vec![
            name(),
            age(),
            col(
                "Request",
                "string",
                0,
                "Request represents a minimum amount of cpu/memory that a container may consume.",
            ),
            col(
                "Limit",
                "string",
                0,
                "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.",
            ),
        ],
        _ => vec![name(), age()],
    }
}

/// printResourceQuota's REQUEST and LIMIT cells: `resource: used/hard, ...` by name,
/// `limits.*` in the second.
fn quota_cells(st: &Value) -> (String, String) {
    let (mut req, mut lim) = (Vec::new(), Vec::new());
    let mut names: Vec<&String> = st["hard"].as_object().map(|m| m.keys().collect()).unwrap_or_default();
    names.sort();
    for r in names {
        let used = st["used"][r.as_str()].as_str().unwrap_or("0");
        let cell = format!("{r}: {used}/{}", s(&st["hard"][r.as_str()]));
        if r.split('.').next() == Some("limits") && r.contains('.') {
            lim.push(cell);
        } else {
            req.push(cell);
        }
    }
    (req.join(", "), lim.join(", "))
}

/// printPod's STATUS, READY and RESTARTS cells.
pub fn pod_status(pod: &Value) -> (String, String, Value) {
    let st = &pod["status"];
    let total = pod["spec"]["containers"].as_array().map_or(0, Vec::len);
    let mut reason = s(&st["reason"]).to_string();
    if reason.is_empty() {
        reason = s(&st["phase"]).to_string();
    }
    let mut ready = 0;
    let mut restarts = 0i64;
    let mut last_restart: Option<String> = None;
    let mut init_done = true;
    let inits = st["initContainerStatuses"].as_array().cloned().unwrap_or_default();
    let n_init = pod["spec"]["initContainers"].as_array().map_or(0, Vec::len);
    for (i, c) in inits.iter().enumerate() {
        restarts += c["restartCount"].as_i64().unwrap_or(0);
        let term = &c["state"]["terminated"];
        if !term.is_null() && term["exitCode"].as_i64() == Some(0) {
            continue;
        }
        init_done = false;
        reason = if !term.is_null() {
            if s(&term["reason"]).is_empty() {
                format!("Init:ExitCode:{}", term["exitCode"].as_i64().unwrap_or(0))
            } else {
                format!("Init:{}", s(&term["reason"]))
            }
        } else if !s(&c["state"]["waiting"]["reason"]).is_empty()
            && s(&c["state"]["waiting"]["reason"]) != "PodInitializing"
        {
            format!("Init:{}", s(&c["state"]["waiting"]["reason"]))
        } else {
            format!("Init:{i}/{n_init}")
        };
        break;
    }
    if init_done {
        let mut has_running = false;
        let statuses = st["containerStatuses"].as_array().cloned().unwrap_or_default();
        for c in statuses.iter().rev() {
            restarts += c["restartCount"].as_i64().unwrap_or(0);
            if let Some(f) = c["lastState"]["terminated"]["finishedAt"].as_str()
                && last_restart.as_deref().is_none_or(|l| f > l)
            {
                last_restart = Some(f.to_string());
            }
            let state = &c["state"];
            if !s(&state["waiting"]["reason"]).is_empty() {
                reason = s(&state["waiting"]["reason"]).to_string();
            } else if !state["terminated"].is_null() {
                let t = &state["terminated"];
                reason = if !s(&t["reason"]).is_empty() {
                    s(&t["reason"]).to_string()
                } else if t["signal"].as_i64().unwrap_or(0) != 0 {
                    format!("Signal:{}", t["signal"])
                } else {
                    format!("ExitCode:{}", t["exitCode"].as_i64().unwrap_or(0))
                };
            } else if c["ready"].as_bool() == Some(true) && !state["running"].is_null() {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            let ready_cond = st["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "Ready" && c["status"] == "True");
            reason = if ready_cond {
                "Running".into()
            } else {
                "NotReady".into()
            };
        }
    }
    if !pod["metadata"]["deletionTimestamp"].is_null() {
        reason = if st["reason"] == "NodeLost" {
            "Unknown".into()
        } else {
            "Terminating".into()
        };
    }
    let restarts_cell = match last_restart {
        Some(t) => json!(format!("{restarts} ({} ago)", since(&json!(t)))),
        None => json!(restarts),
    };
    (reason, format!("{ready}/{total}"), restarts_cell)
}

fn access_modes(modes: &Value) -> String {
    let m: Vec<&str> = modes
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let short = |x: &str| match x {
        "ReadWriteOnce" => "RWO",
        "ReadOnlyMany" => "ROX",
        "ReadWriteMany" => "RWX",
        "ReadWriteOncePod" => "RWOP",
        _ => "",
    };
    m.iter()
        .map(|x| short(x))
        .filter(|x| !x.is_empty())
        .collect::<Vec<_>>()
        .join(",")
}

fn cells(plural: &str, o: &Value) -> Vec<Value> {
    let name = json!(s(&o["metadata"]["name"]));
    let spec = &o["spec"];
    let st = &o["status"];
    match plural {
        "pods" => {
            let (status, ready, restarts) = pod_status(o);
            let gates = spec["readinessGates"].as_array().map_or(0, Vec::len);
            let gates_cell = if gates == 0 {
                json!("<none>")
            } else {
                let ok = spec["readinessGates"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|g| {
                        st["conditions"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .any(|c| c["type"] == g["conditionType"] && c["status"] == "True")
                    })
                    .count();
                json!(format!("{ok}/{gates}"))
            };
            vec![
                name,
                json!(ready),
                json!(status),
                restarts,
                age(o),
                or_none(s(&st["podIP"])),
                or_none(s(&spec["nodeName"])),
                or_none(s(&st["nominatedNodeName"])),
                gates_cell,
            ]
        }
        "persistentvolumeclaims" => {
            let phase = if o["metadata"]["deletionTimestamp"].is_null() {
                s(&st["phase"])
            } else {
                "Terminating"
            };
            let bound = !s(&spec["volumeName"]).is_empty();
            vec![
                name,
                json!(phase),
                json!(s(&spec["volumeName"])),
                json!(if bound { s(&st["capacity"]["storage"]) } else { "" }),
                json!(if bound {
                    access_modes(&st["accessModes"])
                } else {
                    String::new()
                }),
                json!(s(&spec["storageClassName"])),
                or_none(s(&spec["volumeAttributesClassName"])),
                age(o),
                json!(s(&spec["volumeMode"])),
            ]
        }
        "persistentvolumes" => {
            let claim = if spec["claimRef"].is_null() {
                String::new()
            } else {
                format!("{}/{}", s(&spec["claimRef"]["namespace"]), s(&spec["claimRef"]["name"]))
            };
            let phase = if o["metadata"]["deletionTimestamp"].is_null() {
                s(&st["phase"])
            } else {
                "Terminating"
            };
            vec![
                name,
                json!(s(&spec["capacity"]["storage"])),
                json!(access_modes(&spec["accessModes"])),
                json!(s(&spec["persistentVolumeReclaimPolicy"])),
                json!(phase),
                json!(claim),
                json!(s(&spec["storageClassName"])),
                or_none(s(&spec["volumeAttributesClassName"])),
                json!(s(&st["reason"])),
                age(o),
                json!(s(&spec["volumeMode"])),
            ]
        }
        "statefulsets" => {
            let cs: Vec<&Value> = spec["template"]["spec"]["containers"]
                .as_array()
                .into_iter()
                .flatten()
                .collect();
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    st["readyReplicas"].as_i64().unwrap_or(0),
                    spec["replicas"].as_i64().unwrap_or(1)
                )),
                age(o),
                json!(cs.iter().map(|c| s(&c["name"])).collect::<Vec<_>>().join(",")),
                json!(cs.iter().map(|c| s(&c["image"])).collect::<Vec<_>>().join(",")),
            ]
        }
        "services" => {
            let ports: Vec<String> = spec["ports"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| {
                    let base = format!("{}/{}", p["port"], s(&p["protocol"]));
                    match p["nodePort"].as_i64() {
                        Some(np) => format!("{}:{np}/{}", p["port"], s(&p["protocol"])),
                        None => base,
                    }
                })
                .collect();
            let selector = spec["selector"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| format!("{k}={}", s(v)))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default();
            vec![
                name,
                json!(s(&spec["type"])),
                json!(s(&spec["clusterIP"])),
                json!("<none>"),
                json!(if ports.is_empty() {
                    "<none>".into()
                } else {
                    ports.join(",")
                }),
                age(o),
                or_none(&selector),
            ]
        }
        "events" => {
            let last = if o["lastTimestamp"].is_null() {
                &o["eventTime"]
            } else {
                &o["lastTimestamp"]
            };
            let first = if o["firstTimestamp"].is_null() {
                &o["eventTime"]
            } else {
                &o["firstTimestamp"]
            };
            let io = &o["involvedObject"];
            let source = [s(&o["source"]["component"]), s(&o["source"]["host"])]
                .into_iter()
                .filter(|x| !x.is_empty())
                .collect::<Vec<_>>()
                .join(", ");
            vec![
                json!(since(last)),
                json!(s(&o["type"])),
                json!(s(&o["reason"])),
                json!(format!("{}/{}", s(&io["kind"]).to_lowercase(), s(&io["name"]))),
                json!(s(&io["fieldPath"])),
                json!(source),
                json!(s(&o["message"]).trim()),
                json!(since(first)),
                json!(o["count"].as_i64().unwrap_or(1)),
                name,
            ]
        }
        "controllerrevisions" => {
            let ctrl = o["metadata"]["ownerReferences"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|r| r["controller"] == true)
                .map(|r| {
                    let group = s(&r["apiVersion"]).split('/').next().unwrap_or("");
                    let plural = format!("{}.{group}", s(&r["kind"]).to_lowercase());
                    format!("{plural}/{}", s(&r["name"]))
                })
                .unwrap_or_else(|| "<none>".into());
            vec![name, json!(ctrl), json!(o["revision"].as_i64().unwrap_or(0)), age(o)]
        }
        "namespaces" => vec![name, json!(s(&st["phase"])), age(o)],
        "storageclasses" => {
            let default = o["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true";
            let shown = if default {
                format!("{} (default)", s(&o["metadata"]["name"]))
            } else {
                s(&o["metadata"]["name"]).to_string()
            };
            vec![
                json!(shown),
                json!(s(&o["provisioner"])),
                json!(if o["reclaimPolicy"].is_null() {
                    "Delete"
                } else {
                    s(&o["reclaimPolicy"])
                }),
                json!(if o["volumeBindingMode"].is_null() {
                    "Immediate"
                } else {
                    s(&o["volumeBindingMode"])
                }),
                json!(o["allowVolumeExpansion"].as_bool().unwrap_or(false).to_string()),
                age(o),
            ]
        }
        "poddisruptionbudgets" => {
            let show = |v: &Value| match v {
                Value::Null => "N/A".to_string(),
                Value::String(x) => x.clone(),
                other => other.to_string(),
            };
            vec![
                name,
                json!(show(&spec["minAvailable"])),
                json!(show(&spec["maxUnavailable"])),
                json!(st["disruptionsAllowed"].as_i64().unwrap_or(0)),
                age(o),
            ]
        }
        "nodes" => {
            let ready = st["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "Ready" && c["status"] == "True");
            let addr = |t: &str| {
                st["addresses"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|a| a["type"] == t)
                    .map(|a| s(&a["address"]).to_string())
                    .unwrap_or_else(|| "<none>".into())
            };
            let info = &st["nodeInfo"];
            vec![
                name,
                json!(if ready { "Ready" } else { "NotReady" }),
                json!("<none>"),
                age(o),
                json!(s(&info["kubeletVersion"])),
                json!(addr("InternalIP")),
                json!(addr("ExternalIP")),
                json!(s(&info["osImage"])),
                json!(s(&info["kernelVersion"])),
                json!(s(&info["containerRuntimeVersion"])),
            ]
        }
        "resourcequotas" => {
            let (req, lim) = quota_cells(st);
            vec![name, age(o), json!(req), json!(lim)]
        }
        _ => vec![name, age(o)],
    }
}

fn row_object(res: &Resource, o: &Value, include: Include) -> Option<Value> {
    match include {
        Include::None => None,
        Include::Object => Some(o.clone()),
        Include::Metadata => {
            let _ = res;
            Some(
                json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"].clone()}),
            )
        }
    }
}

/// A Table of `items`; `list_meta` is the list's metadata (resourceVersion, continue,
/// remainingItemCount).
pub fn table(res: &Resource, items: &[&Value], list_meta: Value, include: Include) -> Value {
    let rows: Vec<Value> = items
        .iter()
        .map(|o| {
            let mut row = json!({"cells": cells(res.plural, o)});
            if let Some(obj) = row_object(res, o, include) {
                row["object"] = obj;
            }
            row
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "columnDefinitions": columns(res.plural),
        "rows": rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_like_kubectl() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(150), "2m30s");
        assert_eq!(human_duration(3600 * 5 + 60 * 7), "5h7m");
        assert_eq!(human_duration(86400 * 3), "3d");
    }

    #[test]
    fn pod_status_variants() {
        let running = json!({"spec": {"containers": [{"name": "c"}]}, "metadata": {},
            "status": {"phase": "Running", "containerStatuses": [{"ready": true, "restartCount": 0, "state": {"running": {}}}]}});
        assert_eq!(pod_status(&running).0, "Running");
        assert_eq!(pod_status(&running).1, "1/1");
        let creating = json!({"spec": {"containers": [{"name": "c"}]}, "metadata": {},
            "status": {"phase": "Pending", "containerStatuses": [{"ready": false, "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}}]}});
        assert_eq!(pod_status(&creating).0, "ContainerCreating");
        let mut term = running.clone();
        term["metadata"]["deletionTimestamp"] = json!("2024-01-01T00:00:00Z");
        assert_eq!(pod_status(&term).0, "Terminating");
        assert!(wants_table(
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
        ));
        assert!(!wants_table("application/json"));
    }
}
