//! Pure builders of the cluster-level and workload objects around pods: Namespaces,
//! APIServices, Nodes, Deployments, DaemonSets, Jobs and HorizontalPodAutoscalers.

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::managed::{add_managed, add_managed_status};
use super::pod::PodTemplate;
use super::util::{at, cpu_quantity, hash_str, hex_from, labels_json, mix, pairs, ts, uuid_from};

/// `v1` Namespace.
pub fn namespace(name: &str, created: Timestamp, uid: &str) -> Value {
    let mut o = json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": name,
            "uid": uid,
            "creationTimestamp": ts(created),
            "labels": {"kubernetes.io/metadata.name": name},
        },
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    });
    // The API server makes its own namespaces; the others come from a client.
    let system = matches!(name, "default" | "kube-system" | "kube-public" | "kube-node-lease");
    add_managed(&mut o, if system { "kube-apiserver" } else { "kubectl-create" }, None);
    o
}

/// The Service behind an aggregated APIService.
#[derive(Debug, Clone)]
pub struct ServiceRef<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub port: u16,
}

/// Inputs of [`apiservice`].
#[derive(Debug, Clone)]
pub struct ApiServiceParams<'a> {
    /// `""` for the core group.
    pub group: &'a str,
    pub version: &'a str,
    pub uid: &'a str,
    pub created: Timestamp,
    pub labels: &'a [(&'a str, &'a str)],
    pub group_priority_minimum: i32,
    pub version_priority: i32,
    /// `None`: a Local APIService, served by kube-apiserver itself (`Available=True`, `Local`).
    pub service: Option<ServiceRef<'a>>,
    /// `Available` condition of an aggregated one: (status, reason, message).
    pub available: (&'a str, &'a str, &'a str),
    /// Last transition of `Available`.
    pub since: Timestamp,
}

/// `apiregistration.k8s.io/v1` APIService named `version.group` (`v1.` for the core group), as
/// the aggregator keeps it (object-apiservice.http).
pub fn apiservice(p: &ApiServiceParams) -> Value {
    let mut spec = Map::new();
    if let Some(svc) = &p.service {
        spec.insert(
            "service".into(),
            json!({"namespace": svc.namespace, "name": svc.name, "port": svc.port}),
        );
    }
    if !p.group.is_empty() {
        spec.insert("group".into(), json!(p.group));
    }
    spec.insert("version".into(), json!(p.version));
    if p.service.is_some() {
        spec.insert("insecureSkipTLSVerify".into(), json!(true));
    }
    spec.insert("groupPriorityMinimum".into(), json!(p.group_priority_minimum));
    spec.insert("versionPriority".into(), json!(p.version_priority));
    let (status, reason, message) = if p.service.is_some() {
        p.available
    } else {
        ("True", "Local", "Local APIServices are always available")
    };
    let labels: Map<String, Value> = p.labels.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
    let mut o = json!({
        "apiVersion": "apiregistration.k8s.io/v1",
        "kind": "APIService",
        "metadata": {
            "name": format!("{}.{}", p.version, p.group),
            "uid": p.uid,
            "creationTimestamp": ts(p.created),
            "labels": labels,
        },
        "spec": spec,
        "status": {"conditions": [{
            "type": "Available", "status": status, "lastTransitionTime": ts(p.since),
            "reason": reason, "message": message,
        }]},
    });
    // The aggregator writes the Local ones itself; metrics-server's comes from its chart.
    let manager = if p.service.is_some() { "helm" } else { "kube-apiserver" };
    add_managed_status(&mut o, manager, "kube-apiserver");
    o
}

#[derive(Debug, Clone)]
pub struct NodeParams<'a> {
    pub name: &'a str,
    pub uid: &'a str,
    pub created: Timestamp,
    /// Position in the cluster: addresses and pod CIDR derive from it.
    pub index: usize,
    pub control_plane: bool,
    pub instance_type: &'a str,
    pub cpus: u32,
    pub memory_gi: u32,
    pub region: &'a str,
    pub zone: &'a str,
    /// Last kubelet heartbeat.
    pub heartbeat: Timestamp,
    /// Last transition of the Ready condition.
    pub ready_since: Timestamp,
    /// The kubelet stopped posting status at `ready_since` (conditions Unknown, unreachable taints).
    pub unreachable: bool,
}

/// InternalIP of the node at `index`.
pub fn node_internal_ip(index: usize) -> String {
    format!("10.0.{}.{}", 1 + index / 250, 4 + index % 250)
}

/// The `a.b` prefix of the /24 pod CIDR of the node at `index` (`10.a.b.0/24`).
pub(super) fn node_pod_net(index: usize) -> (usize, usize) {
    (64 + index / 256, index % 256)
}

/// `v1` Node with kubelet-reported status.
pub fn node(p: &NodeParams) -> Value {
    let seed = hash_str(p.name);
    let ip = node_internal_ip(p.index);
    let (a, b) = node_pod_net(p.index);
    let mut labels = Map::new();
    labels.insert("kubernetes.io/arch".into(), json!("amd64"));
    labels.insert("kubernetes.io/hostname".into(), json!(p.name));
    labels.insert("kubernetes.io/os".into(), json!("linux"));
    if p.control_plane {
        labels.insert("node-role.kubernetes.io/control-plane".into(), json!(""));
    }
    labels.insert("node.kubernetes.io/instance-type".into(), json!(p.instance_type));
    labels.insert("topology.kubernetes.io/region".into(), json!(p.region));
    labels.insert("topology.kubernetes.io/zone".into(), json!(p.zone));
    let mut annotations = Map::new();
    if p.control_plane {
        annotations.insert(
            "kubeadm.alpha.kubernetes.io/cri-socket".into(),
            json!("unix:///var/run/containerd/containerd.sock"),
        );
    }
    annotations.insert("node.alpha.kubernetes.io/ttl".into(), json!("0"));
    annotations.insert(
        "volumes.kubernetes.io/controller-managed-attach-detach".into(),
        json!("true"),
    );

    let mut taints = Vec::new();
    if p.control_plane {
        taints.push(json!({"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}));
    }
    if p.unreachable {
        taints.push(
            json!({"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule", "timeAdded": ts(p.ready_since)}),
        );
        taints.push(
            json!({"key": "node.kubernetes.io/unreachable", "effect": "NoExecute", "timeAdded": ts(p.ready_since)}),
        );
    }
    let mut spec = Map::new();
    spec.insert("podCIDR".into(), json!(format!("10.{a}.{b}.0/24")));
    spec.insert("podCIDRs".into(), json!([format!("10.{a}.{b}.0/24")]));
    spec.insert(
        "providerID".into(),
        json!(format!("aws:///{}/i-0{}", p.zone, hex_from(seed ^ 0x1d, 16))),
    );
    if !taints.is_empty() {
        spec.insert("taints".into(), Value::Array(taints));
    }

    let mem_cap_ki = u64::from(p.memory_gi) * 1_048_576 - 280_000 - (seed % 90_000);
    let mem_alloc_ki = mem_cap_ki - 1_782_579;
    let cpu_alloc_m = p.cpus * 1000 - 70 - p.cpus * 10;
    let booted = at(p.created, 20);
    let cond = |ty: &str, healthy: &str, reason: &str, message: &str, since: Timestamp| {
        if p.unreachable {
            json!({
                "type": ty, "status": "Unknown",
                "lastHeartbeatTime": ts(p.heartbeat), "lastTransitionTime": ts(p.ready_since),
                "reason": "NodeStatusUnknown", "message": "Kubelet stopped posting node status.",
            })
        } else {
            json!({
                "type": ty, "status": healthy,
                "lastHeartbeatTime": ts(p.heartbeat), "lastTransitionTime": ts(since),
                "reason": reason, "message": message,
            })
        }
    };
    let conditions = Value::Array(vec![
        cond(
            "MemoryPressure",
            "False",
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available",
            booted,
        ),
        cond(
            "DiskPressure",
            "False",
            "KubeletHasNoDiskPressure",
            "kubelet has no disk pressure",
            booted,
        ),
        cond(
            "PIDPressure",
            "False",
            "KubeletHasSufficientPID",
            "kubelet has sufficient PID available",
            booted,
        ),
        cond(
            "Ready",
            "True",
            "KubeletReady",
            "kubelet is posting ready status",
            p.ready_since,
        ),
    ]);
    let hostname = format!("ip-{}.{}.compute.internal", ip.replace('.', "-"), p.region);
    let mut node = json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": p.name,
            "uid": p.uid,
            "creationTimestamp": p.created.to_string(),
            "labels": null,
            "annotations": null,
        },
        "spec": null,
        "status": {
            "capacity": {
                "cpu": p.cpus.to_string(),
                "ephemeral-storage": "104845292Ki",
                "hugepages-1Gi": "0",
                "hugepages-2Mi": "0",
                "memory": format!("{mem_cap_ki}Ki"),
                "pods": "110",
            },
            "allocatable": {
                "cpu": cpu_quantity(cpu_alloc_m),
                "ephemeral-storage": "95551679124",
                "hugepages-1Gi": "0",
                "hugepages-2Mi": "0",
                "memory": format!("{mem_alloc_ki}Ki"),
                "pods": "110",
            },
            "conditions": null,
            "addresses": [
                {"type": "InternalIP", "address": ip},
                {"type": "Hostname", "address": p.name},
                {"type": "InternalDNS", "address": hostname},
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "machineID": hex_from(seed ^ 0x2e, 32),
                "systemUUID": uuid_from(mix(seed ^ 0x3f), mix(seed ^ 0x4a)),
                "bootID": uuid_from(mix(seed ^ 0x5b), mix(seed ^ p.created.as_second() as u64)),
                "kernelVersion": "6.8.0-1019-aws",
                "osImage": "Ubuntu 24.04.1 LTS",
                "containerRuntimeVersion": "containerd://2.0.4",
                "kubeletVersion": "v1.36.2",
                "kubeProxyVersion": "v1.36.2",
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
            "images": [{
                "names": [
                    "registry.k8s.io/pause@sha256:ee6521f290b2168b6e0935a181d4cff9be1ac3f505666ef0e3c98fae8199917a",
                    "registry.k8s.io/pause:3.10",
                ],
                "sizeBytes": 320_368,
            }],
        },
    });
    node["metadata"]["labels"] = Value::Object(labels);
    node["metadata"]["annotations"] = Value::Object(annotations);
    node["spec"] = Value::Object(spec);
    node["status"]["conditions"] = conditions;
    add_managed_status(&mut node, "kubelet", "kubelet");
    node
}

/// Inputs of [`deployment`].
#[derive(Debug, Clone)]
pub struct DeploymentParams<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub uid: &'a str,
    pub created: Timestamp,
    pub labels: &'a [(String, String)],
    pub generation: i64,
    /// `deployment.kubernetes.io/revision`.
    pub revision: u32,
    pub replicas: u32,
    pub selector: &'a [(String, String)],
    pub template: &'a PodTemplate,
    pub status: DeploymentStatus,
}

/// Status of a deployment as the controller last wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentStatus {
    pub observed_generation: i64,
    pub replicas: u32,
    pub updated: u32,
    pub ready: u32,
    pub available: u32,
    /// Name of the newest ReplicaSet.
    pub replicaset: String,
    /// Available condition True (MinimumReplicasAvailable).
    pub available_ok: bool,
    pub available_since: Timestamp,
    pub available_updated: Timestamp,
    /// A rollout is in progress (Progressing reason ReplicaSetUpdated, else NewReplicaSetAvailable).
    pub rolling: bool,
    pub progressing_since: Timestamp,
    pub progressing_updated: Timestamp,
}

fn insert_nonzero(m: &mut Map<String, Value>, key: &str, n: u32) {
    if n > 0 {
        m.insert(key.into(), json!(n));
    }
}

/// `apps/v1` Deployment.
pub fn deployment(p: &DeploymentParams) -> Value {
    let s = &p.status;
    let mut st = Map::new();
    st.insert("observedGeneration".into(), json!(s.observed_generation));
    insert_nonzero(&mut st, "replicas", s.replicas);
    insert_nonzero(&mut st, "updatedReplicas", s.updated);
    insert_nonzero(&mut st, "readyReplicas", s.ready);
    insert_nonzero(&mut st, "availableReplicas", s.available);
    insert_nonzero(
        &mut st,
        "unavailableReplicas",
        p.replicas.max(s.replicas).saturating_sub(s.available),
    );
    let available = if s.available_ok {
        json!({
            "type": "Available", "status": "True",
            "lastUpdateTime": ts(s.available_updated), "lastTransitionTime": ts(s.available_since),
            "reason": "MinimumReplicasAvailable", "message": "Deployment has minimum availability.",
        })
    } else {
        json!({
            "type": "Available", "status": "False",
            "lastUpdateTime": ts(s.available_updated), "lastTransitionTime": ts(s.available_since),
            "reason": "MinimumReplicasUnavailable", "message": "Deployment does not have minimum availability.",
        })
    };
    let (reason, message) = if s.rolling {
        (
            "ReplicaSetUpdated",
            format!("ReplicaSet \"{}\" is progressing.", s.replicaset),
        )
    } else {
        (
            "NewReplicaSetAvailable",
            format!("ReplicaSet \"{}\" has successfully progressed.", s.replicaset),
        )
    };
    let progressing = json!({
        "type": "Progressing", "status": "True",
        "lastUpdateTime": ts(s.progressing_updated), "lastTransitionTime": ts(s.progressing_since),
        "reason": reason, "message": message,
    });
    st.insert("conditions".into(), Value::Array(vec![available, progressing]));
    let mut obj = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": p.name,
            "namespace": p.namespace,
            "uid": p.uid,
            "generation": p.generation,
            "creationTimestamp": ts(p.created),
            "labels": null,
            "annotations": {"deployment.kubernetes.io/revision": p.revision.to_string()},
        },
        "spec": {
            "replicas": p.replicas,
            "selector": {"matchLabels": null},
            "template": null,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
        },
        "status": null,
    });
    obj["metadata"]["labels"] = labels_json(p.labels);
    obj["spec"]["selector"]["matchLabels"] = labels_json(p.selector);
    obj["spec"]["template"] = p.template.template_json(&[]);
    obj["status"] = Value::Object(st);
    add_managed_status(&mut obj, "helm", "kube-controller-manager");
    obj
}

/// Inputs of [`daemonset`].
#[derive(Debug, Clone)]
pub struct DaemonSetParams<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub uid: &'a str,
    pub created: Timestamp,
    pub selector: &'a [(String, String)],
    pub template: &'a PodTemplate,
    /// Nodes that should run the daemon.
    pub desired: u32,
    /// Pods scheduled.
    pub current: u32,
    pub ready: u32,
}

/// `apps/v1` DaemonSet (generation 1, all pods of the current template).
pub fn daemonset(p: &DaemonSetParams) -> Value {
    let mut st = Map::new();
    st.insert("currentNumberScheduled".into(), json!(p.current));
    st.insert("numberMisscheduled".into(), json!(0));
    st.insert("desiredNumberScheduled".into(), json!(p.desired));
    st.insert("numberReady".into(), json!(p.ready));
    st.insert("observedGeneration".into(), json!(1));
    insert_nonzero(&mut st, "updatedNumberScheduled", p.current);
    insert_nonzero(&mut st, "numberAvailable", p.ready);
    insert_nonzero(&mut st, "numberUnavailable", p.desired.saturating_sub(p.ready));
    let mut obj = json!({
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {
            "name": p.name,
            "namespace": p.namespace,
            "uid": p.uid,
            "generation": 1,
            "creationTimestamp": ts(p.created),
            "labels": null,
            "annotations": {"deprecated.daemonset.template.generation": "1"},
        },
        "spec": {
            "selector": {"matchLabels": null},
            "template": null,
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}},
            "revisionHistoryLimit": 10,
        },
        "status": null,
    });
    obj["metadata"]["labels"] = labels_json(&p.template.labels);
    obj["spec"]["selector"]["matchLabels"] = labels_json(p.selector);
    obj["spec"]["template"] = p.template.template_json(&[]);
    obj["status"] = Value::Object(st);
    add_managed_status(&mut obj, "helm", "kube-controller-manager");
    obj
}

/// Labels the job controller puts on a job's pod template (and so on its pods).
pub fn job_labels(name: &str, uid: &str) -> Vec<(String, String)> {
    pairs(&[
        ("batch.kubernetes.io/controller-uid", uid),
        ("batch.kubernetes.io/job-name", name),
        ("controller-uid", uid),
        ("job-name", name),
    ])
}

/// How a job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobOutcome {
    Running,
    /// Complete at the time.
    Complete(Timestamp),
    /// Failed (BackoffLimitExceeded) at the time.
    Failed(Timestamp),
}

/// Inputs of [`job`].
#[derive(Debug, Clone)]
pub struct JobParams<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub uid: &'a str,
    pub created: Timestamp,
    pub template: &'a PodTemplate,
    pub backoff_limit: u32,
    /// `spec.activeDeadlineSeconds`.
    pub active_deadline: Option<u32>,
    pub start: Timestamp,
    pub active: u32,
    pub ready: u32,
    pub succeeded: u32,
    pub failed: u32,
    pub outcome: JobOutcome,
}

/// `batch/v1` Job (parallelism 1, completions 1).
pub fn job(p: &JobParams) -> Value {
    let extra = job_labels(p.name, p.uid);
    let mut st = Map::new();
    match p.outcome {
        JobOutcome::Running => {}
        JobOutcome::Complete(t) => {
            let c = |ty: &str| {
                json!({
                    "type": ty, "status": "True", "lastProbeTime": ts(t), "lastTransitionTime": ts(t),
                    "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods",
                })
            };
            st.insert(
                "conditions".into(),
                Value::Array(vec![c("SuccessCriteriaMet"), c("Complete")]),
            );
        }
        JobOutcome::Failed(t) => {
            let c = |ty: &str| {
                json!({
                    "type": ty, "status": "True", "lastProbeTime": ts(t), "lastTransitionTime": ts(t),
                    "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit",
                })
            };
            st.insert("conditions".into(), Value::Array(vec![c("FailureTarget"), c("Failed")]));
        }
    }
    st.insert("startTime".into(), ts(p.start));
    if let JobOutcome::Complete(t) = p.outcome {
        st.insert("completionTime".into(), ts(t));
    }
    insert_nonzero(&mut st, "active", p.active);
    insert_nonzero(&mut st, "succeeded", p.succeeded);
    insert_nonzero(&mut st, "failed", p.failed);
    if p.outcome == JobOutcome::Running {
        st.insert("ready".into(), json!(p.ready));
        st.insert("terminating".into(), json!(0));
        st.insert("uncountedTerminatedPods".into(), json!({}));
    }
    let mut obj = json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": p.name,
            "namespace": p.namespace,
            "uid": p.uid,
            "generation": 1,
            "creationTimestamp": ts(p.created),
            "labels": null,
        },
        "spec": {
            "parallelism": 1,
            "completions": 1,
            "backoffLimit": p.backoff_limit,
            "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": p.uid}},
            "manualSelector": false,
            "template": null,
            "completionMode": "NonIndexed",
            "suspend": false,
            "podReplacementPolicy": "TerminatingOrFailed",
        },
        "status": null,
    });
    obj["metadata"]["labels"] = labels_json(&p.template.labels);
    obj["spec"]["template"] = p.template.template_json(&extra);
    if let Some(d) = p.active_deadline {
        obj["spec"]["activeDeadlineSeconds"] = json!(d);
    }
    obj["status"] = Value::Object(st);
    add_managed_status(&mut obj, "helm", "kube-controller-manager");
    obj
}

/// Inputs of [`hpa`].
#[derive(Debug, Clone)]
pub struct HpaParams<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub uid: &'a str,
    pub created: Timestamp,
    /// Target Deployment.
    pub target: &'a str,
    pub min_replicas: u32,
    pub max_replicas: u32,
    /// Target average CPU utilization (percent of requests).
    pub target_utilization: u32,
    pub current_replicas: u32,
    pub desired_replicas: u32,
    pub utilization: u32,
    /// Average CPU usage in millicores per pod.
    pub cpu_average_m: u32,
    /// Last rescale (AbleToScale reason SucceededRescale) if any.
    pub last_scale: Option<Timestamp>,
    /// `AbleToScale` reason `SucceededRescale` (just rescaled), else `ReadyForNewScale`.
    pub rescaled: bool,
    pub able_since: Timestamp,
    pub active_since: Timestamp,
    /// `TooManyReplicas`/`TooFewReplicas` when the desired count is clamped.
    pub limited: Option<&'static str>,
    pub limited_since: Timestamp,
}

/// `autoscaling/v2` HorizontalPodAutoscaler on a Deployment's CPU utilization.
pub fn hpa(p: &HpaParams) -> Value {
    let able = if p.rescaled {
        json!({"type": "AbleToScale", "status": "True", "lastTransitionTime": ts(p.able_since), "reason": "SucceededRescale",
               "message": format!("the HPA controller was able to update the target scale to {}", p.desired_replicas)})
    } else {
        json!({"type": "AbleToScale", "status": "True", "lastTransitionTime": ts(p.able_since), "reason": "ReadyForNewScale",
               "message": "recommended size matches current size"})
    };
    let active = json!({
        "type": "ScalingActive", "status": "True", "lastTransitionTime": ts(p.active_since), "reason": "ValidMetricFound",
        "message": "the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)",
    });
    let limited = match p.limited {
        Some("TooFewReplicas") => {
            json!({"type": "ScalingLimited", "status": "True", "lastTransitionTime": ts(p.limited_since),
            "reason": "TooFewReplicas", "message": "the desired replica count is less than the minimum replica count"})
        }
        Some(_) => json!({"type": "ScalingLimited", "status": "True", "lastTransitionTime": ts(p.limited_since),
            "reason": "TooManyReplicas", "message": "the desired replica count is more than the maximum replica count"}),
        None => json!({"type": "ScalingLimited", "status": "False", "lastTransitionTime": ts(p.limited_since),
            "reason": "DesiredWithinRange", "message": "the desired count is within the acceptable range"}),
    };
    let mut st = Map::new();
    if let Some(t) = p.last_scale {
        st.insert("lastScaleTime".into(), ts(t));
    }
    insert_nonzero(&mut st, "currentReplicas", p.current_replicas);
    st.insert("desiredReplicas".into(), json!(p.desired_replicas));
    st.insert(
        "currentMetrics".into(),
        json!([{"type": "Resource", "resource": {"name": "cpu", "current": {
            "averageValue": cpu_quantity(p.cpu_average_m.max(1)), "averageUtilization": p.utilization,
        }}}]),
    );
    st.insert("conditions".into(), Value::Array(vec![able, active, limited]));
    let mut obj = json!({
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {
            "name": p.name,
            "namespace": p.namespace,
            "uid": p.uid,
            "creationTimestamp": ts(p.created),
        },
        "spec": {
            "scaleTargetRef": {"kind": "Deployment", "name": p.target, "apiVersion": "apps/v1"},
            "minReplicas": p.min_replicas,
            "maxReplicas": p.max_replicas,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                "type": "Utilization", "averageUtilization": p.target_utilization,
            }}}],
        },
        "status": null,
    });
    obj["status"] = Value::Object(st);
    add_managed_status(&mut obj, "kubectl-client-side-apply", "kube-controller-manager");
    obj
}
