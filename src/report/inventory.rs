//! The cluster as the report sees it, rebuilt from KSM series: nodes, pods with their
//! containers' requests, limits and usage, and each pod's workload through its owners
//! (Pod → ReplicaSet → Deployment, Pod → Job → CronJob).

use std::collections::{BTreeMap, HashMap};

use super::samples::{Sample, Samples};

/// Every family the inventory reads; a source fetches these and nothing else.
pub const FAMILIES: &[&str] = &[
    "kube_node_status_allocatable",
    "kube_node_resource_usage",
    "kube_node_spec_taint",
    "kube_node_spec_unschedulable",
    "kube_pod_info",
    "kube_pod_container_info",
    "kube_pod_labels",
    "kube_pod_owner",
    "kube_pod_status_phase",
    "kube_pod_container_resource_requests",
    "kube_pod_container_resource_limits",
    "kube_pod_container_resource_usage",
    "kube_pod_container_status_last_terminated_reason",
    "kube_replicaset_owner",
    "kube_job_owner",
];

/// Whether the inventory reads this sample: of the families it reads as "which one is 1"
/// (phases, last termination reasons, cordons), the zeros say nothing.
pub fn reads_sample(sample: &Sample) -> bool {
    sample.value != 0.0
        || !matches!(
            sample.name.as_str(),
            "kube_pod_status_phase"
                | "kube_pod_container_status_last_terminated_reason"
                | "kube_node_spec_unschedulable"
        )
}

/// Whether the inventory reads label `key` (the others are dropped while parsing).
pub fn reads_label(key: &str) -> bool {
    key.starts_with("label_")
        || matches!(
            key,
            "namespace"
                | "pod"
                | "container"
                | "node"
                | "resource"
                | "unit"
                | "phase"
                | "reason"
                | "key"
                | "effect"
                | "owner_kind"
                | "owner_name"
                | "owner_is_controller"
                | "replicaset"
                | "job_name"
        )
}

/// CPU in cores and memory in bytes; `None` where the source had no value.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct Amounts {
    /// Cores.
    pub cpu: Option<f64>,
    /// Bytes.
    pub memory: Option<f64>,
}

impl Amounts {
    /// Sets the amount a `resource`/`unit` sample names (cpu in cores, memory in bytes); other
    /// resources (GPUs, ephemeral storage) are not part of the report.
    fn set(&mut self, sample: &Sample) {
        match (sample.label("resource"), sample.label("unit")) {
            ("cpu", "core") => self.cpu = Some(sample.value),
            ("memory", "byte") => self.memory = Some(sample.value),
            _ => {}
        }
    }
}

/// Component-wise sum; a side without a value counts as 0 once the other has one.
impl std::ops::Add for Amounts {
    type Output = Amounts;

    fn add(self, other: Amounts) -> Amounts {
        fn add(a: Option<f64>, b: Option<f64>) -> Option<f64> {
            match (a, b) {
                (None, None) => None,
                (a, b) => Some(a.unwrap_or(0.0) + b.unwrap_or(0.0)),
            }
        }
        Amounts {
            cpu: add(self.cpu, other.cpu),
            memory: add(self.memory, other.memory),
        }
    }
}

/// A node: what it offers and what it uses.
#[derive(Clone, Debug, Default)]
pub struct Node {
    /// CPU and memory allocatable to pods.
    pub allocatable: Amounts,
    /// Pods allocatable.
    pub allocatable_pods: Option<f64>,
    /// Usage from metrics.k8s.io, when the source exports it.
    pub usage: Amounts,
    /// Why new pods without tolerations cannot land on it: cordoned, or its NoSchedule and
    /// NoExecute taints (`key:effect`).
    pub closed: Vec<String>,
}

/// What owns a pod, followed up to the workload an operator deploys.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Workload {
    /// Deployment, StatefulSet, DaemonSet, Job, CronJob, ReplicaSet (without a Deployment), or
    /// Pod for a pod no controller owns.
    pub kind: String,
    /// The owner's name.
    pub name: String,
}

/// One container of a pod.
#[derive(Clone, Debug, Default)]
pub struct Container {
    /// Requests as set in the pod spec.
    pub requests: Amounts,
    /// Limits as set in the pod spec.
    pub limits: Amounts,
    /// Usage from metrics.k8s.io.
    pub usage: Amounts,
    /// Whether its last termination was an OOM kill.
    pub oom_killed: bool,
}

/// One pod.
#[derive(Clone, Debug)]
pub struct Pod {
    /// The node it is bound to, `""` when unscheduled.
    pub node: String,
    /// Whether it holds its requests (Pending or Running): finished pods free them.
    pub active: bool,
    /// Its workload.
    pub workload: Workload,
    /// Its Kubernetes labels as exported (`kube_pod_labels`, allowlist-limited).
    pub labels: BTreeMap<String, String>,
    /// Containers by name.
    pub containers: BTreeMap<String, Container>,
}

/// Namespace and name of a pod.
pub type PodKey = (String, String);

/// Everything the report computes from.
#[derive(Clone, Debug, Default)]
pub struct Inventory {
    /// Nodes by name.
    pub nodes: BTreeMap<String, Node>,
    /// Pods by namespace and name.
    pub pods: BTreeMap<PodKey, Pod>,
    /// Whether the source exports usage at all (KSM alone does not).
    pub has_usage: bool,
    /// Whether the source exports pod labels beyond the allowlist's default (none).
    pub has_pod_labels: bool,
}

impl Inventory {
    /// Rebuilds the cluster from the samples of [`FAMILIES`].
    pub fn from_samples(samples: &Samples) -> Inventory {
        let mut inv = Inventory {
            has_usage: samples.has("kube_pod_container_resource_usage") || samples.has("kube_node_resource_usage"),
            has_pod_labels: samples
                .of("kube_pod_labels")
                .iter()
                .any(|s| s.labels.iter().any(|(k, _)| k.starts_with("label_"))),
            ..Inventory::default()
        };
        for s in samples.of("kube_node_status_allocatable") {
            let node = inv.nodes.entry(s.label("node").to_string()).or_default();
            if s.label("resource") == "pods" {
                node.allocatable_pods = Some(s.value);
            } else {
                node.allocatable.set(s);
            }
        }
        for s in samples.of("kube_node_resource_usage") {
            inv.nodes.entry(s.label("node").to_string()).or_default().usage.set(s);
        }
        for s in samples
            .of("kube_node_spec_unschedulable")
            .iter()
            .filter(|s| s.value == 1.0)
        {
            let node = inv.nodes.entry(s.label("node").to_string()).or_default();
            node.closed.push("cordoned".into());
        }
        for s in samples.of("kube_node_spec_taint") {
            if matches!(s.label("effect"), "NoSchedule" | "NoExecute") {
                let node = inv.nodes.entry(s.label("node").to_string()).or_default();
                node.closed.push(format!("{}:{}", s.label("key"), s.label("effect")));
            }
        }

        let owners = Owners::from_samples(samples);
        let mut pod_nodes: HashMap<PodKey, String> = HashMap::new();
        for s in samples.of("kube_pod_info") {
            pod_nodes.insert(key(s), s.label("node").to_string());
        }
        let mut phases: HashMap<PodKey, bool> = HashMap::new();
        for s in samples.of("kube_pod_status_phase").iter().filter(|s| s.value == 1.0) {
            phases.insert(key(s), matches!(s.label("phase"), "Pending" | "Running"));
        }
        let mut pod_labels: HashMap<PodKey, BTreeMap<String, String>> = HashMap::new();
        for s in samples.of("kube_pod_labels") {
            let labels = s
                .labels
                .iter()
                .filter_map(|(k, v)| Some((k.strip_prefix("label_")?.to_string(), v.clone())))
                .collect();
            pod_labels.insert(key(s), labels);
        }

        let facts = PodFacts {
            nodes: pod_nodes,
            phases,
            labels: pod_labels,
            owners,
        };
        // Every pod and container exists even without requests: those are the ones to flag.
        for s in samples.of("kube_pod_info") {
            facts.pod(&mut inv.pods, s);
        }
        for s in samples.of("kube_pod_container_info") {
            facts
                .pod(&mut inv.pods, s)
                .containers
                .entry(s.label("container").to_string())
                .or_default();
        }
        for (family, field) in [
            ("kube_pod_container_resource_requests", Field::Requests),
            ("kube_pod_container_resource_limits", Field::Limits),
            ("kube_pod_container_resource_usage", Field::Usage),
        ] {
            for s in samples.of(family) {
                let container = facts
                    .pod(&mut inv.pods, s)
                    .containers
                    .entry(s.label("container").to_string())
                    .or_default();
                match field {
                    Field::Requests => container.requests.set(s),
                    Field::Limits => container.limits.set(s),
                    Field::Usage => container.usage.set(s),
                }
            }
        }
        for s in samples.of("kube_pod_container_status_last_terminated_reason") {
            if s.label("reason") == "OOMKilled" && s.value == 1.0 {
                facts
                    .pod(&mut inv.pods, s)
                    .containers
                    .entry(s.label("container").to_string())
                    .or_default()
                    .oom_killed = true;
            }
        }
        inv
    }
}

/// What other families say about a pod, for creating it when its first container is seen.
struct PodFacts {
    nodes: HashMap<PodKey, String>,
    phases: HashMap<PodKey, bool>,
    labels: HashMap<PodKey, BTreeMap<String, String>>,
    owners: Owners,
}

impl PodFacts {
    fn pod<'a>(&self, pods: &'a mut BTreeMap<PodKey, Pod>, s: &Sample) -> &'a mut Pod {
        let k = key(s);
        pods.entry(k.clone()).or_insert_with(|| Pod {
            node: self
                .nodes
                .get(&k)
                .cloned()
                .unwrap_or_else(|| s.label("node").to_string()),
            // A source without phases (a filtered scrape) counts every pod it lists.
            active: self.phases.get(&k).copied().unwrap_or(true),
            workload: self.owners.workload(&k.0, &k.1),
            labels: self.labels.get(&k).cloned().unwrap_or_default(),
            containers: BTreeMap::new(),
        })
    }
}

enum Field {
    Requests,
    Limits,
    Usage,
}

fn key(s: &Sample) -> PodKey {
    (s.label("namespace").to_string(), s.label("pod").to_string())
}

/// Controller owners of pods, ReplicaSets and Jobs.
struct Owners {
    pods: HashMap<PodKey, (String, String)>,
    replicasets: HashMap<(String, String), String>,
    jobs: HashMap<(String, String), String>,
}

impl Owners {
    fn from_samples(samples: &Samples) -> Owners {
        // An object without owners has one series of empty owner labels; only controllers count.
        let controller = |s: &&Sample| s.label("owner_is_controller") == "true";
        Owners {
            pods: samples
                .of("kube_pod_owner")
                .iter()
                .filter(controller)
                .map(|s| {
                    (
                        key(s),
                        (s.label("owner_kind").to_string(), s.label("owner_name").to_string()),
                    )
                })
                .collect(),
            replicasets: samples
                .of("kube_replicaset_owner")
                .iter()
                .filter(controller)
                .filter(|s| s.label("owner_kind") == "Deployment")
                .map(|s| {
                    let k = (s.label("namespace").to_string(), s.label("replicaset").to_string());
                    (k, s.label("owner_name").to_string())
                })
                .collect(),
            jobs: samples
                .of("kube_job_owner")
                .iter()
                .filter(controller)
                .filter(|s| s.label("owner_kind") == "CronJob")
                .map(|s| {
                    let k = (s.label("namespace").to_string(), s.label("job_name").to_string());
                    (k, s.label("owner_name").to_string())
                })
                .collect(),
        }
    }

    fn workload(&self, namespace: &str, pod: &str) -> Workload {
        let Some((kind, name)) = self.pods.get(&(namespace.to_string(), pod.to_string())) else {
            return Workload {
                kind: "Pod".into(),
                name: pod.into(),
            };
        };
        let parent = match kind.as_str() {
            "ReplicaSet" => self
                .replicasets
                .get(&(namespace.to_string(), name.clone()))
                .map(|d| ("Deployment", d)),
            "Job" => self
                .jobs
                .get(&(namespace.to_string(), name.clone()))
                .map(|c| ("CronJob", c)),
            _ => None,
        };
        match parent {
            Some((kind, name)) => Workload {
                kind: kind.into(),
                name: name.clone(),
            },
            None => Workload {
                kind: kind.clone(),
                name: name.clone(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::samples::parse_text;

    const BODY: &str = r#"
kube_node_status_allocatable{node="n1",resource="cpu",unit="core"} 4
kube_node_status_allocatable{node="n1",resource="memory",unit="byte"} 8589934592
kube_node_status_allocatable{node="n1",resource="pods",unit="integer"} 110
kube_node_resource_usage{node="n1",resource="cpu",unit="core"} 1.25
kube_node_spec_taint{node="n1",key="dedicated",value="batch",effect="PreferNoSchedule"} 1
kube_node_spec_taint{node="cp",key="node-role.kubernetes.io/control-plane",value="",effect="NoSchedule"} 1
kube_node_spec_unschedulable{node="cp"} 1
kube_node_spec_unschedulable{node="n1"} 0
kube_pod_info{namespace="shop",pod="web-7d9-abc",uid="u1",host_ip="",pod_ip="",node="n1",created_by_kind="ReplicaSet",created_by_name="web-7d9",priority_class="",host_network="false"} 1
kube_pod_owner{namespace="shop",pod="web-7d9-abc",uid="u1",owner_kind="ReplicaSet",owner_name="web-7d9",owner_is_controller="true"} 1
kube_replicaset_owner{namespace="shop",replicaset="web-7d9",owner_kind="Deployment",owner_name="web",owner_is_controller="true"} 1
kube_pod_owner{namespace="batch",pod="nightly-1-x",uid="u2",owner_kind="Job",owner_name="nightly-1",owner_is_controller="true"} 1
kube_job_owner{namespace="batch",job_name="nightly-1",owner_kind="CronJob",owner_name="nightly",owner_is_controller="true"} 1
kube_pod_owner{namespace="shop",pod="debug",uid="u3",owner_kind="",owner_name="",owner_is_controller=""} 1
kube_pod_status_phase{namespace="shop",pod="web-7d9-abc",uid="u1",phase="Running"} 1
kube_pod_status_phase{namespace="shop",pod="web-7d9-abc",uid="u1",phase="Succeeded"} 0
kube_pod_status_phase{namespace="batch",pod="nightly-1-x",uid="u2",phase="Succeeded"} 1
kube_pod_labels{namespace="shop",pod="web-7d9-abc",uid="u1",label_app="web"} 1
kube_pod_container_resource_requests{namespace="shop",pod="web-7d9-abc",uid="u1",container="app",node="n1",resource="cpu",unit="core"} 0.25
kube_pod_container_resource_requests{namespace="shop",pod="web-7d9-abc",uid="u1",container="app",node="n1",resource="memory",unit="byte"} 268435456
kube_pod_container_resource_requests{namespace="shop",pod="web-7d9-abc",uid="u1",container="app",node="n1",resource="nvidia_com_gpu",unit="integer"} 1
kube_pod_container_resource_limits{namespace="shop",pod="web-7d9-abc",uid="u1",container="app",node="n1",resource="memory",unit="byte"} 536870912
kube_pod_container_resource_usage{namespace="shop",pod="web-7d9-abc",uid="u1",container="app",node="n1",resource="cpu",unit="core"} 0.1
kube_pod_container_resource_requests{namespace="batch",pod="nightly-1-x",uid="u2",container="run",node="n1",resource="cpu",unit="core"} 1
kube_pod_container_resource_requests{namespace="shop",pod="debug",uid="u3",container="sh",node="",resource="cpu",unit="core"} 0.1
kube_pod_container_status_last_terminated_reason{namespace="shop",pod="web-7d9-abc",uid="u1",container="app",reason="OOMKilled"} 1
"#;

    fn inventory() -> Inventory {
        Inventory::from_samples(&parse_text(BODY, |n| FAMILIES.contains(&n)).unwrap())
    }

    #[test]
    fn nodes_read_allocatable_and_usage() {
        let inv = inventory();
        let n1 = &inv.nodes["n1"];
        assert_eq!(
            n1.allocatable,
            Amounts {
                cpu: Some(4.0),
                memory: Some(8589934592.0)
            }
        );
        assert_eq!(n1.allocatable_pods, Some(110.0));
        assert_eq!(
            n1.usage,
            Amounts {
                cpu: Some(1.25),
                memory: None
            }
        );
        assert!(inv.has_usage && inv.has_pod_labels);
        assert!(
            n1.closed.is_empty(),
            "PreferNoSchedule and a schedulable node stay open"
        );
        assert_eq!(
            inv.nodes["cp"].closed,
            ["cordoned", "node-role.kubernetes.io/control-plane:NoSchedule"]
        );
    }

    #[test]
    fn pods_resolve_workloads_through_replicasets_and_jobs() {
        let inv = inventory();
        let web = &inv.pods[&("shop".into(), "web-7d9-abc".into())];
        assert_eq!(
            (web.workload.kind.as_str(), web.workload.name.as_str()),
            ("Deployment", "web")
        );
        assert_eq!(web.node, "n1");
        assert!(web.active);
        assert_eq!(web.labels.get("app").map(String::as_str), Some("web"));
        let app = &web.containers["app"];
        assert_eq!(
            app.requests,
            Amounts {
                cpu: Some(0.25),
                memory: Some(268435456.0)
            }
        );
        assert_eq!(app.limits.memory, Some(536870912.0));
        assert_eq!(app.limits.cpu, None);
        assert_eq!(app.usage.cpu, Some(0.1));
        assert!(app.oom_killed);

        let nightly = &inv.pods[&("batch".into(), "nightly-1-x".into())];
        assert_eq!(
            (nightly.workload.kind.as_str(), nightly.workload.name.as_str()),
            ("CronJob", "nightly")
        );
        assert!(!nightly.active, "a Succeeded pod frees its requests");

        let debug = &inv.pods[&("shop".into(), "debug".into())];
        assert_eq!(
            (debug.workload.kind.as_str(), debug.workload.name.as_str()),
            ("Pod", "debug")
        );
        assert!(debug.active, "no phase series: counted");
        assert_eq!(debug.node, "");
    }
}
