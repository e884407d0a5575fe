//! A generated cluster for the simulated API server (`demo`, `sim`, benchmarks).
//!
//! Pure builders of Kubernetes objects shaped like a kube-apiserver v1.36 returns them (server
//! defaults filled in, `metadata.resourceVersion` left out; the workload builders here leave
//! `managedFields` out too, those of [`objects`] write them), and [`ClusterModel`], which lays
//! out a cluster for a [`ClusterSpec`] and churns it deterministically (same seed and times, same
//! objects and operations). The kinds around the workloads live in `extras.rs`.
//!
//! Every object carries `apiVersion`, `kind`, a UUID-v4-shaped `metadata.uid` derived from the seed
//! and a backdated `metadata.creationTimestamp`. Deployment pods are owned by the ReplicaSet
//! `<deployment>-<pod-template-hash>`, uid [`replicaset_uid`].

use std::borrow::Cow;
use std::collections::{HashSet, VecDeque};
use std::fmt::Write as _;

use fastrand::Rng;
use jiff::Timestamp;
use serde_json::{Map, Value, json};

mod extras;
pub mod objects;

/// One change to the simulated cluster.
#[derive(Debug, Clone)]
pub enum Op {
    /// Create an object (apiVersion/kind pick the resource).
    Create(Value),
    /// Full update of an existing object (uid and creationTimestamp included).
    Replace(Value),
    /// RFC 7386 JSON merge patch of an existing object.
    Patch {
        resource: &'static str,
        namespace: Option<String>,
        name: String,
        patch: Value,
    },
    /// Delete an existing object.
    Delete {
        resource: &'static str,
        namespace: Option<String>,
        name: String,
    },
}

// ---------------------------------------------------------------------------------------------
// Small deterministic helpers
// ---------------------------------------------------------------------------------------------

/// The alphabet of Kubernetes' random name suffixes and hashes (no vowels, no look-alikes).
const ALPHANUM: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// SplitMix64 finalizer: a well-mixed 64-bit hash of `z`.
pub(super) fn mix(z: u64) -> u64 {
    let mut z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a of a string, mixed.
pub(super) fn hash_str(s: &str) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    mix(h)
}

/// A UUID-v4-shaped string from 128 bits.
fn uuid_from(a: u64, b: u64) -> String {
    let a = (a & 0xffff_ffff_ffff_0fff) | 0x4000;
    let b = (b & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}

/// `len` lowercase hex digits derived from `seed`.
fn hex_from(seed: u64, len: usize) -> String {
    let mut s = String::with_capacity(len + 16);
    let mut h = seed;
    while s.len() < len {
        h = mix(h);
        let _ = write!(s, "{h:016x}");
    }
    s.truncate(len);
    s
}

/// `len` characters of [`ALPHANUM`] derived from `seed`.
fn suffix_from(seed: u64, len: usize) -> String {
    let mut h = mix(seed);
    (0..len)
        .map(|_| {
            let c = ALPHANUM[(h % ALPHANUM.len() as u64) as usize] as char;
            h = mix(h);
            c
        })
        .collect()
}

/// `t` moved by `secs` seconds, truncated to whole seconds.
fn at(t: Timestamp, secs: i64) -> Timestamp {
    Timestamp::from_second(t.as_second().saturating_add(secs)).unwrap_or(t)
}

/// RFC 3339 with `Z` (whole seconds print without a fraction).
fn ts(t: Timestamp) -> Value {
    Value::String(t.to_string())
}

/// Seconds from `a` to `b` (0 if `b` is earlier).
fn span(a: Timestamp, b: Timestamp) -> i64 {
    (b.as_second() - a.as_second()).max(0)
}

fn labels_json(labels: &[(String, String)]) -> Value {
    Value::Object(
        labels
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// CPU quantity in canonical form: `250m`, `1`, `2`.
pub fn cpu_quantity(millis: u32) -> String {
    if millis.is_multiple_of(1000) {
        (millis / 1000).to_string()
    } else {
        format!("{millis}m")
    }
}

/// Memory quantity in canonical form: `64Mi`, `1Gi`.
pub fn memory_quantity(mib: u32) -> String {
    if mib.is_multiple_of(1024) {
        format!("{}Gi", mib / 1024)
    } else {
        format!("{mib}Mi")
    }
}

/// The `pod-template-hash` of a deployment's ReplicaSet for a template revision (10 characters).
pub fn pod_template_hash(deployment_uid: &str, revision: u32) -> String {
    suffix_from(hash_str(deployment_uid) ^ mix(u64::from(revision) + 1), 10)
}

/// The uid of the (not created) ReplicaSet `<deployment>-<pod_template_hash>`.
pub fn replicaset_uid(deployment_uid: &str, pod_template_hash: &str) -> String {
    let h = hash_str(deployment_uid) ^ hash_str(pod_template_hash).rotate_left(17);
    uuid_from(mix(h), mix(h ^ 0x5bd1_e995))
}

/// `repo@sha256:…` as the kubelet reports it for an image reference.
fn image_id(image: &str) -> String {
    let repo = image.split('@').next().unwrap_or(image);
    let last_slash = repo.rfind('/').map_or(0, |i| i + 1);
    let repo = match repo[last_slash..].rfind(':') {
        Some(i) => &repo[..last_slash + i],
        None => repo,
    };
    let repo = match repo.split_once('/') {
        None => format!("docker.io/library/{repo}"),
        Some((host, _)) if !host.contains('.') && !host.contains(':') && host != "localhost" => {
            format!("docker.io/{repo}")
        }
        Some(_) => repo.to_string(),
    };
    format!("{repo}@sha256:{}", hex_from(hash_str(image), 64))
}

fn container_id(pod_seed: u64, container: usize, instance: u32) -> String {
    format!(
        "containerd://{}",
        hex_from(pod_seed ^ mix(container as u64 * 1_000_003 + u64::from(instance)), 64)
    )
}

fn pull_policy(image: &str) -> &'static str {
    let last = image.rsplit('/').next().unwrap_or(image);
    if image.contains('@') {
        "IfNotPresent"
    } else if !last.contains(':') || last.ends_with(":latest") {
        "Always"
    } else {
        "IfNotPresent"
    }
}

/// RFC 7386 merge patch turning `old` into `new` (None when equal). Arrays are replaced wholesale,
/// removed keys become `null`.
pub fn merge_diff(old: &Value, new: &Value) -> Option<Value> {
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            let mut patch = Map::new();
            for (k, ov) in o {
                match n.get(k) {
                    None => {
                        patch.insert(k.clone(), Value::Null);
                    }
                    Some(nv) => {
                        if let Some(d) = merge_diff(ov, nv) {
                            patch.insert(k.clone(), d);
                        }
                    }
                }
            }
            for (k, nv) in n {
                if !o.contains_key(k) {
                    patch.insert(k.clone(), nv.clone());
                }
            }
            (!patch.is_empty()).then_some(Value::Object(patch))
        }
        _ if old == new => None,
        _ => Some(new.clone()),
    }
}

// ---------------------------------------------------------------------------------------------
// Builders
// ---------------------------------------------------------------------------------------------

/// A container of a pod template. Limits without requests get requests = limits (API defaulting).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    pub name: String,
    pub image: String,
    pub command: Vec<String>,
    /// A TCP port named `http`.
    pub port: Option<u16>,
    pub cpu_request_m: Option<u32>,
    pub cpu_limit_m: Option<u32>,
    pub memory_request_mi: Option<u32>,
    pub memory_limit_mi: Option<u32>,
}

impl Container {
    /// A container without command, port or resources.
    pub fn new(name: &str, image: &str) -> Container {
        Container {
            name: name.to_string(),
            image: image.to_string(),
            command: Vec::new(),
            port: None,
            cpu_request_m: None,
            cpu_limit_m: None,
            memory_request_mi: None,
            memory_limit_mi: None,
        }
    }

    /// Sets requests and limits (cpu millicores, memory MiB).
    pub fn resources(
        mut self,
        cpu_req: Option<u32>,
        cpu_lim: Option<u32>,
        mem_req: Option<u32>,
        mem_lim: Option<u32>,
    ) -> Self {
        self.cpu_request_m = cpu_req;
        self.cpu_limit_m = cpu_lim;
        self.memory_request_mi = mem_req;
        self.memory_limit_mi = mem_lim;
        self
    }

    /// Effective requests after defaulting (cpu, memory).
    fn requests(&self) -> (Option<u32>, Option<u32>) {
        (
            self.cpu_request_m.or(self.cpu_limit_m),
            self.memory_request_mi.or(self.memory_limit_mi),
        )
    }

    /// The container as the API server stores it (defaults filled).
    pub fn to_json(&self) -> Value {
        let mut c = Map::new();
        c.insert("name".into(), json!(self.name));
        c.insert("image".into(), json!(self.image));
        if !self.command.is_empty() {
            c.insert("command".into(), json!(self.command));
        }
        if let Some(port) = self.port {
            c.insert(
                "ports".into(),
                json!([{"name": "http", "containerPort": port, "protocol": "TCP"}]),
            );
        }
        let (cpu_req, mem_req) = self.requests();
        let mut limits = Map::new();
        if let Some(m) = self.cpu_limit_m {
            limits.insert("cpu".into(), json!(cpu_quantity(m)));
        }
        if let Some(m) = self.memory_limit_mi {
            limits.insert("memory".into(), json!(memory_quantity(m)));
        }
        let mut requests = Map::new();
        if let Some(m) = cpu_req {
            requests.insert("cpu".into(), json!(cpu_quantity(m)));
        }
        if let Some(m) = mem_req {
            requests.insert("memory".into(), json!(memory_quantity(m)));
        }
        let mut resources = Map::new();
        if !limits.is_empty() {
            resources.insert("limits".into(), Value::Object(limits));
        }
        if !requests.is_empty() {
            resources.insert("requests".into(), Value::Object(requests));
        }
        c.insert("resources".into(), Value::Object(resources));
        c.insert("terminationMessagePath".into(), json!("/dev/termination-log"));
        c.insert("terminationMessagePolicy".into(), json!("File"));
        c.insert("imagePullPolicy".into(), json!(pull_policy(&self.image)));
        Value::Object(c)
    }
}

/// A pod template (of a Deployment, DaemonSet or Job) and the pod-spec settings derived from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodTemplate {
    /// Template labels (the selector labels and any others).
    pub labels: Vec<(String, String)>,
    pub init_containers: Vec<Container>,
    pub containers: Vec<Container>,
    /// `Always`, `OnFailure` or `Never`.
    pub restart_policy: &'static str,
    pub service_account: Option<String>,
    /// PriorityClass name and value.
    pub priority_class: Option<(String, i32)>,
    pub host_network: bool,
    /// DaemonSet style `tolerations: [{operator: Exists}]`.
    pub tolerate_all: bool,
}

impl PodTemplate {
    /// The pod spec of the template as stored (PodSpec defaults, no admission-time fields).
    pub fn spec_json(&self) -> Map<String, Value> {
        let mut s = Map::new();
        if !self.init_containers.is_empty() {
            s.insert(
                "initContainers".into(),
                Value::Array(self.init_containers.iter().map(Container::to_json).collect()),
            );
        }
        s.insert(
            "containers".into(),
            Value::Array(self.containers.iter().map(Container::to_json).collect()),
        );
        s.insert("restartPolicy".into(), json!(self.restart_policy));
        s.insert("terminationGracePeriodSeconds".into(), json!(30));
        s.insert("dnsPolicy".into(), json!("ClusterFirst"));
        if let Some(sa) = &self.service_account {
            s.insert("serviceAccountName".into(), json!(sa));
            s.insert("serviceAccount".into(), json!(sa));
        }
        if self.host_network {
            s.insert("hostNetwork".into(), json!(true));
        }
        s.insert("securityContext".into(), json!({}));
        s.insert("schedulerName".into(), json!("default-scheduler"));
        if self.tolerate_all {
            s.insert("tolerations".into(), json!([{"operator": "Exists"}]));
        }
        if let Some((name, _)) = &self.priority_class {
            s.insert("priorityClassName".into(), json!(name));
        }
        s
    }

    /// `spec.template` of a workload, with `extra_labels` added to the template labels.
    pub fn template_json(&self, extra_labels: &[(String, String)]) -> Value {
        let mut labels = labels_json(&self.labels);
        if let Value::Object(m) = &mut labels {
            for (k, v) in extra_labels {
                m.insert(k.clone(), json!(v));
            }
        }
        let mut t = json!({"metadata": {"labels": null}, "spec": null});
        t["metadata"]["labels"] = labels;
        t["spec"] = Value::Object(self.spec_json());
        t
    }

    /// The QoS class the API server computes for pods of this template.
    pub fn qos_class(&self) -> &'static str {
        let mut any = false;
        let mut guaranteed = true;
        for c in self.init_containers.iter().chain(&self.containers) {
            let (cpu_req, mem_req) = c.requests();
            if cpu_req.is_some() || mem_req.is_some() {
                any = true;
            }
            let full_limits = c.cpu_limit_m.is_some() && c.memory_limit_mi.is_some();
            if !(full_limits && cpu_req == c.cpu_limit_m && mem_req == c.memory_limit_mi) {
                guaranteed = false;
            }
        }
        match (any, guaranteed) {
            (false, _) => "BestEffort",
            (true, true) => "Guaranteed",
            (true, false) => "Burstable",
        }
    }
}

/// `v1` Namespace.
pub fn namespace(name: &str, created: Timestamp, uid: &str) -> Value {
    json!({
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
    })
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
    json!({
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
    })
}

/// Local APIServices of the generated cluster: (group, version, groupPriorityMinimum,
/// versionPriority), as kube-aggregator's autoregister controller creates them.
const LOCAL_APISERVICES: [(&str, &str, i32, i32); 5] = [
    ("", "v1", 18000, 1),
    ("apiregistration.k8s.io", "v1", 18000, 15),
    ("apps", "v1", 17800, 15),
    ("autoscaling", "v2", 17500, 30),
    ("batch", "v1", 17400, 15),
];

/// Inputs of [`node`].
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
fn node_pod_net(index: usize) -> (usize, usize) {
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
    node
}

/// Owner reference (always `controller: true, blockOwnerDeletion: true`).
#[derive(Debug, Clone)]
pub struct OwnerRef {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub name: String,
    pub uid: String,
}

impl OwnerRef {
    fn to_json(&self) -> Value {
        json!({
            "apiVersion": self.api_version, "kind": self.kind, "name": self.name, "uid": self.uid,
            "controller": true, "blockOwnerDeletion": true,
        })
    }
}

/// Why a container terminated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitReason {
    /// `Error`, exit code 1.
    Error,
    /// `OOMKilled`, exit code 137.
    OomKilled,
}

impl ExitReason {
    fn reason(self) -> &'static str {
        match self {
            ExitReason::Error => "Error",
            ExitReason::OomKilled => "OOMKilled",
        }
    }

    fn code(self) -> i32 {
        match self {
            ExitReason::Error => 1,
            ExitReason::OomKilled => 137,
        }
    }
}

/// A past termination of the app container (its `lastState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Termination {
    pub reason: ExitReason,
    pub started: Timestamp,
    pub finished: Timestamp,
}

/// Where a pod is in its lifecycle. The app container is the first container; sidecars run fine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodState {
    /// Pending, `PodScheduled=False` reason `Unschedulable`, no node.
    Unschedulable,
    /// Pending on a node, sandbox and containers being created.
    ContainerCreating,
    /// Pending, app container waiting `ImagePullBackOff`.
    ImagePullBackOff,
    /// Pending, app container waiting `ErrImagePull`.
    ErrImagePull,
    /// Running (ready per [`PodStatus::ready`]).
    Running,
    /// Running, app container waiting `CrashLoopBackOff`.
    CrashLoopBackOff,
    /// Succeeded (job pods).
    Succeeded,
    /// Failed, app container terminated.
    Failed(ExitReason),
    /// Failed, `reason: Evicted` by the kubelet under memory pressure.
    Evicted,
}

impl PodState {
    /// Succeeded or Failed.
    pub fn is_terminal(self) -> bool {
        matches!(self, PodState::Succeeded | PodState::Failed(_) | PodState::Evicted)
    }

    fn phase(self) -> &'static str {
        match self {
            PodState::Unschedulable
            | PodState::ContainerCreating
            | PodState::ImagePullBackOff
            | PodState::ErrImagePull => "Pending",
            PodState::Running | PodState::CrashLoopBackOff => "Running",
            PodState::Succeeded => "Succeeded",
            PodState::Failed(_) | PodState::Evicted => "Failed",
        }
    }
}

/// Status of a pod: its state and the times of its transitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PodStatus {
    pub state: PodState,
    /// With [`PodState::Running`]: the app container passes its readiness probe.
    pub ready: bool,
    /// Restarts of the app container.
    pub restarts: u32,
    pub last_exit: Option<Termination>,
    /// Bound to the node.
    pub scheduled: Timestamp,
    /// `startTime` (kubelet admitted the pod).
    pub started: Timestamp,
    /// Sandbox ready and init containers done.
    pub sandbox: Timestamp,
    /// Last transition of the Ready condition.
    pub ready_changed: Timestamp,
    /// Start of the current app container instance.
    pub app_started: Timestamp,
    /// End of the pod (terminal states).
    pub finished: Timestamp,
}

impl PodStatus {
    /// A status in `state` with every time set to `t`.
    pub fn new(state: PodState, t: Timestamp) -> PodStatus {
        PodStatus {
            state,
            ready: state == PodState::Running,
            restarts: 0,
            last_exit: None,
            scheduled: t,
            started: t,
            sandbox: t,
            ready_changed: t,
            app_started: t,
            finished: t,
        }
    }

    /// Running with the Ready condition True.
    pub fn is_ready(&self) -> bool {
        self.state == PodState::Running && self.ready
    }
}

/// Node placement of a pod.
#[derive(Debug, Clone)]
pub struct PodNode<'a> {
    pub name: &'a str,
    pub host_ip: String,
    pub pod_ip: String,
}

/// Inputs of [`pod`].
#[derive(Debug, Clone)]
pub struct PodParams<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub uid: &'a str,
    pub created: Timestamp,
    /// All pod labels (template labels plus controller-added ones).
    pub labels: Vec<(String, String)>,
    pub owner: Option<OwnerRef>,
    pub template: &'a PodTemplate,
    pub node: Option<PodNode<'a>>,
    pub status: PodStatus,
    /// Seeds container IDs.
    pub seed: u64,
    /// Nodes in the cluster (for the Unschedulable message).
    pub cluster_nodes: usize,
    /// `metadata.deletionTimestamp` of a terminating pod (grace period 30 s).
    pub deletion: Option<Timestamp>,
}

fn pod_condition(ty: &str, status: bool, at: Timestamp, reason: Option<&str>, message: Option<String>) -> Value {
    let mut c = Map::new();
    c.insert("type".into(), json!(ty));
    c.insert("status".into(), json!(if status { "True" } else { "False" }));
    c.insert("lastProbeTime".into(), Value::Null);
    c.insert("lastTransitionTime".into(), ts(at));
    if let Some(r) = reason {
        c.insert("reason".into(), json!(r));
    }
    if let Some(m) = message {
        c.insert("message".into(), json!(m));
    }
    Value::Object(c)
}

/// The kubelet's CrashLoopBackOff delay after `restarts` restarts.
fn backoff(restarts: u32) -> &'static str {
    match restarts {
        0 | 1 => "10s",
        2 => "20s",
        3 => "40s",
        4 => "1m20s",
        5 => "2m40s",
        _ => "5m0s",
    }
}

/// `v1` Pod with spec defaults, admission-time fields and a kubelet-style status.
pub fn pod(p: &PodParams) -> Value {
    let t = p.template;
    let mut meta = Map::new();
    meta.insert("name".into(), json!(p.name));
    meta.insert("namespace".into(), json!(p.namespace));
    meta.insert("uid".into(), json!(p.uid));
    meta.insert("creationTimestamp".into(), ts(p.created));
    if let Some(d) = p.deletion {
        meta.insert("deletionTimestamp".into(), ts(d));
        meta.insert("deletionGracePeriodSeconds".into(), json!(30));
    }
    meta.insert("labels".into(), labels_json(&p.labels));
    if let Some(o) = &p.owner {
        meta.insert("ownerReferences".into(), Value::Array(vec![o.to_json()]));
    }

    let mut spec = t.spec_json();
    if t.service_account.is_none() {
        spec.insert("serviceAccountName".into(), json!("default"));
        spec.insert("serviceAccount".into(), json!("default"));
    }
    if let Some(n) = &p.node {
        spec.insert("nodeName".into(), json!(n.name));
        if p.owner.as_ref().is_some_and(|o| o.kind == "DaemonSet") {
            spec.insert(
                "affinity".into(),
                json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                    {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [n.name]}]}
                ]}}}),
            );
        }
    }
    let tolerations = if t.tolerate_all {
        let mut v = vec![
            json!({"operator": "Exists"}),
            json!({"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"}),
            json!({"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"}),
            json!({"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"}),
            json!({"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"}),
            json!({"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"}),
            json!({"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}),
        ];
        if t.host_network {
            v.push(
                json!({"key": "node.kubernetes.io/network-unavailable", "operator": "Exists", "effect": "NoSchedule"}),
            );
        }
        Value::Array(v)
    } else {
        json!([
            {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
            {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
        ])
    };
    spec.insert("tolerations".into(), tolerations);
    spec.insert(
        "priority".into(),
        json!(t.priority_class.as_ref().map_or(0, |(_, v)| *v)),
    );
    spec.insert("enableServiceLinks".into(), json!(true));
    spec.insert("preemptionPolicy".into(), json!("PreemptLowerPriority"));

    let mut obj = Map::new();
    obj.insert("apiVersion".into(), json!("v1"));
    obj.insert("kind".into(), json!("Pod"));
    obj.insert("metadata".into(), Value::Object(meta));
    obj.insert("spec".into(), Value::Object(spec));
    obj.insert("status".into(), pod_status(p));
    Value::Object(obj)
}

fn pod_status(p: &PodParams) -> Value {
    let t = p.template;
    let s = &p.status;
    let mut st = Map::new();
    st.insert("phase".into(), json!(s.state.phase()));
    if s.state == PodState::Unschedulable || p.node.is_none() {
        let n = p.cluster_nodes;
        let msg = format!(
            "0/{n} nodes are available: {n} Insufficient cpu. preemption: 0/{n} nodes are available: {n} No preemption \
             victims found for incoming pod."
        );
        st.insert(
            "conditions".into(),
            Value::Array(vec![pod_condition(
                "PodScheduled",
                false,
                p.created,
                Some("Unschedulable"),
                Some(msg),
            )]),
        );
        st.insert("qosClass".into(), json!(t.qos_class()));
        return Value::Object(st);
    }
    let terminal = s.state.is_terminal();
    let creating = s.state == PodState::ContainerCreating;
    let app = &t.containers[0];
    let names = |cs: &[Container]| cs.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(" ");

    // Conditions, in kubelet order.
    let mut conds = Vec::new();
    if s.state == PodState::Evicted {
        conds.push(pod_condition(
            "DisruptionTarget",
            true,
            s.finished,
            Some("TerminationByKubelet"),
            Some("The node was low on resource: memory. Threshold quantity: 100Mi, available: 88284Ki. ".into()),
        ));
    }
    let sandbox_ok = !creating && !terminal;
    let sandbox_at = if creating {
        s.started
    } else if terminal {
        s.finished
    } else {
        s.sandbox
    };
    conds.push(pod_condition(
        "PodReadyToStartContainers",
        sandbox_ok,
        sandbox_at,
        None,
        None,
    ));
    if creating && !t.init_containers.is_empty() {
        conds.push(pod_condition(
            "Initialized",
            false,
            s.started,
            Some("ContainersNotInitialized"),
            Some(format!(
                "containers with incomplete status: [{}]",
                names(&t.init_containers)
            )),
        ));
    } else {
        conds.push(pod_condition(
            "Initialized",
            true,
            if creating { s.started } else { s.sandbox },
            None,
            None,
        ));
    }
    let ready = s.is_ready();
    let (ready_reason, ready_msg) = match s.state {
        _ if ready => (None, None),
        PodState::Succeeded => (Some("PodCompleted"), None),
        PodState::Failed(_) | PodState::Evicted => (Some("PodFailed"), None),
        PodState::ContainerCreating => (
            Some("ContainersNotReady"),
            Some(format!("containers with unready status: [{}]", names(&t.containers))),
        ),
        _ => (
            Some("ContainersNotReady"),
            Some(format!("containers with unready status: [{}]", app.name)),
        ),
    };
    conds.push(pod_condition(
        "Ready",
        ready,
        s.ready_changed,
        ready_reason,
        ready_msg.clone(),
    ));
    conds.push(pod_condition(
        "ContainersReady",
        ready,
        s.ready_changed,
        ready_reason,
        ready_msg,
    ));
    conds.push(pod_condition("PodScheduled", true, s.scheduled, None, None));
    st.insert("conditions".into(), Value::Array(conds));
    if s.state == PodState::Evicted {
        st.insert(
            "message".into(),
            json!(format!(
                "The node was low on resource: memory. Threshold quantity: 100Mi, available: 88284Ki. Container {} was \
             using 1256Mi, request is 512Mi, has larger consumption of memory. ",
                app.name
            )),
        );
        st.insert("reason".into(), json!("Evicted"));
    }
    let node = p.node.as_ref().expect("scheduled pod has a node");
    st.insert("hostIP".into(), json!(node.host_ip));
    st.insert("hostIPs".into(), json!([{"ip": node.host_ip}]));
    if !creating {
        st.insert("podIP".into(), json!(node.pod_ip));
        st.insert("podIPs".into(), json!([{"ip": node.pod_ip}]));
    }
    st.insert("startTime".into(), ts(s.started));

    let n_init = t.init_containers.len();
    if n_init > 0 {
        let init: Vec<Value> = t
            .init_containers
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if creating {
                    json!({
                        "name": c.name, "state": {"waiting": {"reason": "PodInitializing"}}, "lastState": {},
                        "ready": false, "restartCount": 0, "image": c.image, "imageID": "", "started": false,
                    })
                } else {
                    json!({
                        "name": c.name,
                        "state": {"terminated": {
                            "exitCode": 0, "reason": "Completed", "startedAt": ts(s.started), "finishedAt": ts(s.sandbox),
                            "containerID": container_id(p.seed, 100 + i, 0),
                        }},
                        "lastState": {}, "ready": true, "restartCount": 0, "image": c.image,
                        "imageID": image_id(&c.image), "containerID": container_id(p.seed, 100 + i, 0),
                    })
                }
            })
            .collect();
        st.insert("initContainerStatuses".into(), Value::Array(init));
    }

    let statuses: Vec<Value> = t
        .containers
        .iter()
        .enumerate()
        .map(|(i, c)| container_status(p, i, c, n_init > 0))
        .collect();
    st.insert("containerStatuses".into(), Value::Array(statuses));
    st.insert("qosClass".into(), json!(t.qos_class()));
    Value::Object(st)
}

fn container_status(p: &PodParams, i: usize, c: &Container, has_init: bool) -> Value {
    let s = &p.status;
    let is_app = i == 0;
    let mut m = Map::new();
    m.insert("name".into(), json!(c.name));
    let restarts = if is_app { s.restarts } else { 0 };
    let last_state = match (is_app, s.last_exit) {
        (true, Some(e)) if restarts > 0 => json!({"terminated": {
            "exitCode": e.reason.code(), "reason": e.reason.reason(),
            "startedAt": ts(e.started), "finishedAt": ts(e.finished),
            "containerID": container_id(p.seed, i, restarts - 1),
        }}),
        _ => json!({}),
    };
    let waiting = |reason: &str, message: Option<String>| {
        let mut w = Map::new();
        w.insert("reason".into(), json!(reason));
        if let Some(msg) = message {
            w.insert("message".into(), json!(msg));
        }
        json!({"waiting": Value::Object(w)})
    };
    // (state, ready, started, running container id, imageID known)
    let (state, ready, started, cid, pulled) = match s.state {
        PodState::Unschedulable | PodState::ContainerCreating => {
            let reason = if has_init {
                "PodInitializing"
            } else {
                "ContainerCreating"
            };
            (waiting(reason, None), false, false, None, false)
        }
        PodState::ImagePullBackOff | PodState::ErrImagePull if is_app => {
            let msg = format!(
                "failed to pull and unpack image \"{}\": failed to resolve reference \"{}\": not found",
                c.image, c.image
            );
            if s.state == PodState::ImagePullBackOff {
                (
                    waiting(
                        "ImagePullBackOff",
                        Some(format!("Back-off pulling image \"{}\": ErrImagePull: {msg}", c.image)),
                    ),
                    false,
                    false,
                    None,
                    false,
                )
            } else {
                (
                    waiting("ErrImagePull", Some(format!("rpc error: code = NotFound desc = {msg}"))),
                    false,
                    false,
                    None,
                    false,
                )
            }
        }
        PodState::CrashLoopBackOff if is_app => {
            let msg = format!(
                "back-off {} restarting failed container={} pod={}_{}({})",
                backoff(restarts),
                c.name,
                p.name,
                p.namespace,
                p.uid
            );
            (
                waiting("CrashLoopBackOff", Some(msg)),
                false,
                false,
                Some(container_id(p.seed, i, restarts.saturating_sub(1))),
                true,
            )
        }
        PodState::Succeeded | PodState::Failed(_) => {
            let (code, reason) = match s.state {
                PodState::Failed(e) if is_app => (e.code(), e.reason()),
                _ => (0, "Completed"),
            };
            let id = container_id(p.seed, i, restarts);
            let started_at = if is_app { s.app_started } else { s.sandbox };
            (
                json!({"terminated": {
                    "exitCode": code, "reason": reason, "startedAt": ts(started_at), "finishedAt": ts(s.finished),
                    "containerID": id,
                }}),
                false,
                false,
                Some(id),
                true,
            )
        }
        PodState::Evicted => (
            json!({"terminated": {
                "exitCode": 137, "reason": "ContainerStatusUnknown",
                "message": "The container could not be located when the pod was terminated",
                "startedAt": null, "finishedAt": null,
            }}),
            false,
            false,
            None,
            true,
        ),
        // Running; sidecars of pods whose app container is not running.
        _ => {
            let started_at = if is_app { s.app_started } else { s.sandbox };
            let ready = if is_app { s.ready } else { true };
            (
                json!({"running": {"startedAt": ts(started_at)}}),
                ready,
                true,
                Some(container_id(p.seed, i, restarts)),
                true,
            )
        }
    };
    m.insert("state".into(), state);
    m.insert("lastState".into(), last_state);
    m.insert("ready".into(), json!(ready));
    m.insert("restartCount".into(), json!(restarts));
    m.insert("image".into(), json!(c.image));
    m.insert(
        "imageID".into(),
        json!(if pulled { image_id(&c.image) } else { String::new() }),
    );
    if let Some(id) = cid {
        m.insert("containerID".into(), json!(id));
    }
    m.insert("started".into(), json!(started));
    Value::Object(m)
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
    obj["status"] = Value::Object(st);
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
    obj
}

// ---------------------------------------------------------------------------------------------
// Cluster spec
// ---------------------------------------------------------------------------------------------

/// Shape of a generated cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterSpec {
    pub nodes: usize,
    pub namespaces: usize,
    pub deployments: usize,
    /// Inclusive range of initial deployment replicas.
    pub replicas: (u32, u32),
    pub daemonsets: usize,
    pub jobs: usize,
    pub hpas: usize,
    /// StatefulSets, each with 1–5 pods and one bound volume per pod.
    pub statefulsets: usize,
    /// Pods of all deployments together (replicas spread to add up to it, a few large
    /// deployments among many small ones); 0: each deployment draws from `replicas`.
    pub deployment_pods: usize,
    pub seed: u64,
    /// The cluster serves `metrics.k8s.io/v1` (Kubernetes ≥ 1.37): a `v1.metrics.k8s.io`
    /// APIService besides `v1beta1.metrics.k8s.io`. Match `SimConfig::metrics_v1`.
    pub metrics_v1: bool,
}

impl ClusterSpec {
    /// Roughly `pods` pods: ~1 node per 30 pods (min 3), 2–4 daemonsets (one pod per node each),
    /// ~5% of pods from jobs, ~12 statefulsets per 1 000 pods, ~100 deployments per 1 000 pods
    /// making up the rest, ~20% of deployments with an HPA (those with CPU requests), namespaces
    /// ~ deployments/8 (min 3).
    /// `pods == 0` is an empty cluster.
    pub fn for_pods(pods: usize, seed: u64) -> ClusterSpec {
        if pods == 0 {
            return ClusterSpec {
                nodes: 0,
                namespaces: 0,
                deployments: 0,
                replicas: (1, 6),
                daemonsets: 0,
                jobs: 0,
                hpas: 0,
                statefulsets: 0,
                deployment_pods: 0,
                seed,
                metrics_v1: true,
            };
        }
        let mut rng = Rng::with_seed(seed ^ 0x5eed_c1a5);
        let nodes = (pods / 30).max(3);
        let daemonsets = rng.usize(2..=4).min(pods / (2 * nodes));
        let jobs = pods * 5 / 100;
        let statefulsets = pods * 12 / 1000;
        let sts_pods: usize = (0..statefulsets)
            .map(|i| ClusterModel::sts_replicas(seed, i) as usize)
            .sum();
        let rest = pods.saturating_sub(daemonsets * nodes + jobs + sts_pods);
        // ~1.5% of deployment pods are evicted leftovers on top of the replicas.
        let deployment_pods = ((rest as f64 / 1.015).round() as usize).max(1);
        let deployments = (pods / 10).clamp(1, deployment_pods);
        ClusterSpec {
            nodes,
            namespaces: (deployments / 8).max(3),
            deployments,
            replicas: (1, 6),
            daemonsets,
            jobs,
            hpas: deployments / 5,
            statefulsets,
            deployment_pods,
            seed,
            metrics_v1: true,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Catalogs
// ---------------------------------------------------------------------------------------------

const REGION: &str = "eu-central-1";
const ZONES: [&str; 3] = ["eu-central-1a", "eu-central-1b", "eu-central-1c"];
/// (instance type, cpus, memory GiB)
const WORKER_TYPES: [(&str, u32, u32); 5] = [
    ("m6i.2xlarge", 8, 32),
    ("m6i.4xlarge", 16, 64),
    ("c6i.4xlarge", 16, 32),
    ("r6i.2xlarge", 8, 64),
    ("m6a.4xlarge", 16, 64),
];
const CONTROL_PLANE_TYPE: (&str, u32, u32) = ("m6i.xlarge", 4, 16);

const NS_NAMES: [&str; 24] = [
    "default",
    "kube-system",
    "monitoring",
    "shop",
    "payments",
    "search",
    "identity",
    "data",
    "platform",
    "ml",
    "ads",
    "media",
    "billing",
    "catalog",
    "checkout",
    "notifications",
    "analytics",
    "logistics",
    "support",
    "growth",
    "security",
    "mobile",
    "partners",
    "reporting",
];

const APP_WORDS: [&str; 40] = [
    "web",
    "api",
    "frontend",
    "backend",
    "worker",
    "gateway",
    "auth",
    "cart",
    "checkout",
    "catalog",
    "search",
    "payments",
    "orders",
    "inventory",
    "shipping",
    "notifications",
    "mailer",
    "recommendations",
    "reviews",
    "profile",
    "session",
    "cache-warmer",
    "scheduler",
    "ingest",
    "indexer",
    "exporter",
    "reporting",
    "billing",
    "pricing",
    "media",
    "thumbnailer",
    "graphql",
    "admin",
    "webhooks",
    "sync",
    "consumer",
    "ledger",
    "fraud",
    "geo",
    "chat",
];
const APP_QUALIFIERS: [&str; 10] = [
    "v2", "internal", "canary", "public", "batch", "edge", "grpc", "ro", "eu", "legacy",
];

/// Name, whether it lives in `monitoring` (else `kube-system`), template.
fn daemonset_catalog(i: usize) -> (String, bool, PodTemplate) {
    let base = |labels: &[(&str, &str)], sa: &str| PodTemplate {
        labels: pairs(labels),
        init_containers: Vec::new(),
        containers: Vec::new(),
        restart_policy: "Always",
        service_account: Some(sa.to_string()),
        priority_class: Some(("system-node-critical".to_string(), 2_000_001_000)),
        host_network: true,
        tolerate_all: true,
    };
    let (name, monitoring, template) = match i % 4 {
        0 => {
            let mut t = base(&[("k8s-app", "kube-proxy")], "kube-proxy");
            let mut c = Container::new("kube-proxy", "registry.k8s.io/kube-proxy:v1.36.2").resources(
                Some(100),
                None,
                None,
                None,
            );
            c.command = vec![
                "/usr/local/bin/kube-proxy".into(),
                "--config=/var/lib/kube-proxy/config.conf".into(),
                "--hostname-override=$(NODE_NAME)".into(),
            ];
            t.containers.push(c);
            ("kube-proxy", false, t)
        }
        1 => {
            let mut t = base(&[("k8s-app", "cilium")], "cilium");
            let mut init = Container::new("mount-cgroup", "quay.io/cilium/cilium:v1.16.5").resources(
                Some(100),
                None,
                Some(128),
                None,
            );
            init.command = vec![
                "sh".into(),
                "-ec".into(),
                "cp /usr/bin/cilium-mount /hostbin/cilium-mount".into(),
            ];
            t.init_containers.push(init);
            let mut c = Container::new("cilium-agent", "quay.io/cilium/cilium:v1.16.5").resources(
                Some(100),
                None,
                Some(128),
                None,
            );
            c.command = vec!["cilium-agent".into()];
            t.containers.push(c);
            ("cilium", false, t)
        }
        2 => {
            let mut t = base(&[("app.kubernetes.io/name", "node-exporter")], "node-exporter");
            t.priority_class = None;
            let mut c = Container::new("node-exporter", "quay.io/prometheus/node-exporter:v1.8.2").resources(
                None,
                Some(100),
                None,
                Some(64),
            );
            c.port = Some(9100);
            t.containers.push(c);
            ("node-exporter", true, t)
        }
        _ => {
            let mut t = base(&[("app.kubernetes.io/name", "fluent-bit")], "fluent-bit");
            t.priority_class = None;
            t.host_network = false;
            let mut c = Container::new("fluent-bit", "cr.fluentbit.io/fluent/fluent-bit:3.2.4").resources(
                Some(50),
                None,
                Some(64),
                Some(256),
            );
            c.port = Some(2020);
            t.containers.push(c);
            ("fluent-bit", false, t)
        }
    };
    let name = if i < 4 {
        name.to_string()
    } else {
        format!("{name}-{}", i / 4 + 1)
    };
    (name, monitoring, template)
}

/// Name prefix, image, command, resources (cpu request/limit m, memory request/limit Mi).
type JobKind = (&'static str, &'static str, &'static [&'static str], [Option<u32>; 4]);

fn job_catalog() -> Vec<(&'static str, PodTemplate)> {
    let spec: [JobKind; 6] = [
        (
            "nightly-backup",
            "ghcr.io/acme/backup-tool:2.3.1",
            &["/bin/backup", "--target=s3://backups"],
            [Some(250), None, Some(256), Some(512)],
        ),
        (
            "db-migrate",
            "ghcr.io/acme/migrate:1.4.0",
            &["/migrate", "up"],
            [Some(100), None, Some(128), None],
        ),
        (
            "report-daily",
            "python:3.12-slim",
            &["python", "/app/report.py"],
            [None, Some(500), None, Some(1024)],
        ),
        (
            "cache-rebuild",
            "ghcr.io/acme/cache-tool:0.9.2",
            &[],
            [None, None, None, None],
        ),
        (
            "etl-import",
            "ghcr.io/acme/etl:3.1.0",
            &["etl", "import", "--since=24h"],
            [Some(1000), None, Some(2048), Some(4096)],
        ),
        (
            "cleanup",
            "bitnami/kubectl:1.36",
            &["kubectl", "delete", "pods", "--field-selector=status.phase==Succeeded"],
            [Some(50), None, Some(64), None],
        ),
    ];
    spec.iter()
        .map(|(name, image, cmd, [cr, cl, mr, ml])| {
            let mut c = Container::new("main", image).resources(*cr, *cl, *mr, *ml);
            c.command = cmd.iter().map(|s| s.to_string()).collect();
            let t = PodTemplate {
                labels: pairs(&[("app", name)]),
                init_containers: Vec::new(),
                containers: vec![c],
                restart_policy: "Never",
                service_account: None,
                priority_class: None,
                host_network: false,
                tolerate_all: false,
            };
            (*name, t)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Model
// ---------------------------------------------------------------------------------------------

const KIND_DEPLOY: u8 = 0;
const KIND_POD: u8 = 1;
const KIND_JOB: u8 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    Deploy(usize),
    Ds(usize),
    Job(usize),
    Sts(usize),
}

#[derive(Debug, Clone)]
struct PodRec {
    serial: u64,
    ns: usize,
    name: String,
    uid: String,
    owner: Owner,
    /// Template revision (deployments).
    version: u32,
    node: Option<usize>,
    /// Host part of the pod IP in the node's /24.
    ip: u8,
    seed: u64,
    created: Timestamp,
    status: PodStatus,
    deletion: Option<Timestamp>,
}

impl PodRec {
    /// Counted by its controller: not terminating, not finished.
    fn active(&self) -> bool {
        self.deletion.is_none() && !self.status.state.is_terminal()
    }
}

#[derive(Debug, Clone)]
struct NsRec {
    name: String,
    uid: String,
    created: Timestamp,
}

#[derive(Debug, Clone)]
struct NodeRec {
    name: String,
    uid: String,
    created: Timestamp,
    control_plane: bool,
    itype: usize,
    heartbeat: Timestamp,
    ready_since: Timestamp,
    unreachable: bool,
    next_ip: u8,
}

#[derive(Debug, Clone)]
struct DeployRec {
    ns: usize,
    name: String,
    uid: String,
    created: Timestamp,
    labels: Vec<(String, String)>,
    selector: Vec<(String, String)>,
    /// Template of the current revision.
    template: PodTemplate,
    image_base: String,
    minor: u32,
    patch0: u32,
    replicas: u32,
    /// Initial replicas, which manual scaling drifts back to.
    base_replicas: u32,
    version: u32,
    generation: i64,
    pods: Vec<usize>,
    has_hpa: bool,
    reconciling: bool,
    rolling: bool,
    /// As last written to the server.
    status: DeploymentStatus,
}

impl DeployRec {
    fn image(&self, version: u32) -> String {
        format!("{}:1.{}.{}", self.image_base, self.minor, self.patch0 + version)
    }

    fn cpu_requests_m(&self) -> u32 {
        self.template
            .containers
            .iter()
            .map(|c| c.requests().0.unwrap_or(0))
            .sum()
    }
}

#[derive(Debug, Clone)]
struct DsRec {
    ns: usize,
    name: String,
    uid: String,
    created: Timestamp,
    selector: Vec<(String, String)>,
    template: PodTemplate,
    hash: String,
    pods: Vec<usize>,
    /// (desired, current, ready) as last written.
    published: (u32, u32, u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct JobCounts {
    active: u32,
    ready: u32,
    succeeded: u32,
    failed: u32,
}

#[derive(Debug, Clone)]
struct JobRec {
    ns: usize,
    name: String,
    uid: String,
    created: Timestamp,
    kind: usize,
    backoff_limit: u32,
    start: Timestamp,
    pods: Vec<usize>,
    outcome: JobOutcome,
    /// Counts and outcome as last written.
    published: (JobCounts, JobOutcome),
    /// The CronJob that spawned it.
    cron: Option<usize>,
}

#[derive(Debug, Clone)]
struct HpaRec {
    deploy: usize,
    uid: String,
    created: Timestamp,
    min: u32,
    max: u32,
    target: u32,
    utilization: u32,
    /// Replicas the utilization was measured at (the load spreads over the current ones).
    measured_replicas: u32,
    current: u32,
    desired: u32,
    last_scale: Option<Timestamp>,
    rescaled: bool,
    able_since: Timestamp,
    active_since: Timestamp,
    limited: Option<&'static str>,
    limited_since: Timestamp,
}

/// Work due on a later tick for a pod (`serial` guards against slot reuse).
#[derive(Debug, Clone, Copy)]
struct Due {
    tick: u64,
    id: usize,
    serial: u64,
}

/// A generated cluster and its evolution. Holds compact per-object state (not full objects) and
/// renders objects on demand; every change it reports is one it has applied to itself, so ops only
/// reference objects that exist at that point.
pub struct ClusterModel {
    spec: ClusterSpec,
    /// When the cluster was set up (the Local APIServices' creation).
    birth: Timestamp,
    rng: Rng,
    tick: u64,
    serial: u64,
    namespaces: Vec<NsRec>,
    app_namespaces: Vec<usize>,
    nodes: Vec<NodeRec>,
    control_planes: usize,
    deployments: Vec<DeployRec>,
    daemonsets: Vec<DsRec>,
    job_kinds: Vec<(&'static str, PodTemplate)>,
    jobs: Vec<Option<JobRec>>,
    free_jobs: Vec<usize>,
    hpas: Vec<HpaRec>,
    pods: Vec<Option<PodRec>>,
    free_pods: Vec<usize>,
    live_pods: usize,
    /// (kind, namespace, name) in use.
    names: HashSet<(u8, usize, String)>,
    starting: VecDeque<Due>,
    unready: VecDeque<Due>,
    terminating: VecDeque<Due>,
    node_recovery: VecDeque<(u64, usize)>,
    reconciling: VecDeque<usize>,
    active_jobs: Vec<usize>,
    finished_jobs: VecDeque<usize>,
    finished_target: usize,
    active_target: usize,
    /// Everything around the workloads (`extras.rs`).
    x: extras::Extras,
}

fn pop_due(queue: &mut VecDeque<Due>, tick: u64) -> Option<Due> {
    if queue.front().is_some_and(|d| d.tick < tick) {
        queue.pop_front()
    } else {
        None
    }
}

fn restart_app(s: &mut PodStatus, now: Timestamp, rng: &mut Rng) {
    let reason = if rng.u32(0..100) < 40 {
        ExitReason::OomKilled
    } else {
        ExitReason::Error
    };
    let finished = at(now, -1).max(s.app_started);
    s.last_exit = Some(Termination {
        reason,
        started: s.app_started,
        finished,
    });
    s.restarts += 1;
    s.app_started = now;
}

impl ClusterModel {
    /// Lays out the cluster of `spec` as it stands at `now` (objects backdated from it).
    pub fn new(spec: ClusterSpec, now: Timestamp) -> ClusterModel {
        let now = at(now, 0);
        let birth = at(now, -400 * 86_400);
        let mut m = ClusterModel {
            birth,
            rng: Rng::with_seed(spec.seed),
            spec,
            tick: 0,
            serial: 0,
            namespaces: Vec::new(),
            app_namespaces: Vec::new(),
            nodes: Vec::new(),
            control_planes: 0,
            deployments: Vec::new(),
            daemonsets: Vec::new(),
            job_kinds: job_catalog(),
            jobs: Vec::new(),
            free_jobs: Vec::new(),
            hpas: Vec::new(),
            pods: Vec::new(),
            free_pods: Vec::new(),
            live_pods: 0,
            names: HashSet::new(),
            starting: VecDeque::new(),
            unready: VecDeque::new(),
            terminating: VecDeque::new(),
            node_recovery: VecDeque::new(),
            reconciling: VecDeque::new(),
            active_jobs: Vec::new(),
            finished_jobs: VecDeque::new(),
            finished_target: 1,
            active_target: 2,
            x: extras::Extras::default(),
        };
        m.init_namespaces(now, birth);
        m.init_nodes(now, birth);
        m.init_daemonsets(now);
        m.init_deployments(now);
        m.init_hpas(now);
        m.init_jobs(now);
        m.init_extras(now);
        m
    }

    /// The spec the cluster was generated from.
    pub fn spec(&self) -> &ClusterSpec {
        &self.spec
    }

    /// Pods currently in the model (terminating ones included).
    pub fn pod_count(&self) -> usize {
        self.live_pods
    }

    // ----- initial layout -------------------------------------------------------------------

    fn uid(&mut self) -> String {
        uuid_from(self.rng.u64(..), self.rng.u64(..))
    }

    /// A random time in `[a, b]` (`a` if `b < a`).
    fn between(&mut self, a: Timestamp, b: Timestamp) -> Timestamp {
        at(a, self.rng.i64(0..=span(a, b)))
    }

    fn init_namespaces(&mut self, now: Timestamp, birth: Timestamp) {
        let wanted = self.spec.deployments + self.spec.daemonsets + self.spec.jobs > 0;
        let n = if wanted {
            self.spec.namespaces.max(3)
        } else {
            self.spec.namespaces
        };
        for i in 0..n {
            let name = NS_NAMES
                .get(i)
                .map_or_else(|| format!("team-{i:04}"), |s| s.to_string());
            let created = if i < 2 {
                birth
            } else {
                self.between(at(birth, 3600), at(now, -30 * 86_400))
            };
            let uid = self.uid();
            self.namespaces.push(NsRec { name, uid, created });
        }
        self.app_namespaces = if n > 3 {
            (3..n).collect()
        } else {
            (0..n.min(1)).collect()
        };
    }

    fn init_nodes(&mut self, now: Timestamp, birth: Timestamp) {
        let n = self.spec.nodes;
        let cp = if n >= 10 {
            3
        } else if n >= 2 {
            1
        } else {
            0
        };
        self.control_planes = cp;
        for i in 0..n {
            let control_plane = i < cp;
            let name = if control_plane {
                format!("control-plane-{}", i + 1)
            } else {
                format!("worker-{:05}", i - cp + 1)
            };
            let created = if control_plane {
                at(birth, 600 + 60 * i as i64)
            } else if self.rng.u32(0..4) == 0 {
                self.between(at(birth, 3600), at(now, -90 * 86_400))
            } else {
                self.between(at(now, -90 * 86_400), at(now, -2 * 3600))
            };
            let uid = self.uid();
            let itype = self.rng.usize(0..WORKER_TYPES.len());
            let heartbeat = at(now, -self.rng.i64(0..40));
            let next_ip = self.rng.u8(2..200);
            self.nodes.push(NodeRec {
                name,
                uid,
                created,
                control_plane,
                itype,
                heartbeat,
                ready_since: at(created, 45),
                unreachable: false,
                next_ip,
            });
        }
    }

    fn pick_worker(&mut self) -> Option<usize> {
        (self.nodes.len() > self.control_planes).then(|| self.rng.usize(self.control_planes..self.nodes.len()))
    }

    fn alloc_ip(&mut self, node: usize) -> u8 {
        let n = &mut self.nodes[node];
        let ip = n.next_ip;
        n.next_ip = if ip >= 254 { 2 } else { ip + 1 };
        ip
    }

    fn unique_pod_name(&mut self, ns: usize, prefix: &str) -> String {
        loop {
            let name = format!("{prefix}-{}", suffix_from(self.rng.u64(..), 5));
            if self.names.insert((KIND_POD, ns, name.clone())) {
                return name;
            }
        }
    }

    fn unique_deploy_name(&mut self, ns: usize) -> String {
        for attempt in 0usize.. {
            let base = APP_WORDS[self.rng.usize(0..APP_WORDS.len())];
            let name = match attempt {
                0..=2 => base.to_string(),
                3..=8 => format!("{base}-{}", APP_QUALIFIERS[self.rng.usize(0..APP_QUALIFIERS.len())]),
                _ => format!("{base}-{attempt}"),
            };
            if self.names.insert((KIND_DEPLOY, ns, name.clone())) {
                return name;
            }
        }
        unreachable!("unbounded loop")
    }

    /// Adds a pod record (names must be reserved already) and links it to its owner.
    #[allow(clippy::too_many_arguments)]
    fn add_pod(
        &mut self,
        ns: usize,
        name: String,
        owner: Owner,
        version: u32,
        node: Option<usize>,
        created: Timestamp,
        status: PodStatus,
    ) -> usize {
        let ip = node.map_or(0, |n| self.alloc_ip(n));
        let serial = self.serial;
        self.serial += 1;
        let uid = self.uid();
        let seed = self.rng.u64(..);
        let rec = PodRec {
            serial,
            ns,
            name,
            uid,
            owner,
            version,
            node,
            ip,
            seed,
            created,
            status,
            deletion: None,
        };
        let id = match self.free_pods.pop() {
            Some(id) => {
                self.pods[id] = Some(rec);
                id
            }
            None => {
                self.pods.push(Some(rec));
                self.pods.len() - 1
            }
        };
        self.live_pods += 1;
        match owner {
            Owner::Deploy(d) => self.deployments[d].pods.push(id),
            Owner::Ds(d) => self.daemonsets[d].pods.push(id),
            Owner::Job(j) => {
                if let Some(job) = self.jobs[j].as_mut() {
                    job.pods.push(id);
                }
            }
            Owner::Sts(i) => self.x.sts[i].pods.push(id),
        }
        self.x.dirty_ns.insert(ns);
        id
    }

    fn push_due(queue: &mut VecDeque<Due>, tick: u64, id: usize, serial: u64) {
        queue.push_back(Due { tick, id, serial });
    }

    fn serial_of(&self, id: usize) -> u64 {
        self.pods[id].as_ref().map_or(u64::MAX, |p| p.serial)
    }

    fn valid(&self, d: Due) -> bool {
        self.pods
            .get(d.id)
            .and_then(Option::as_ref)
            .is_some_and(|p| p.serial == d.serial)
    }

    /// Status of a pod that has been running since around `created`.
    fn running_status(&mut self, created: Timestamp, now: Timestamp, has_init: bool) -> PodStatus {
        let started = at(created, 1);
        let sandbox = at(started, self.rng.i64(1..=3));
        let mut app_started = at(sandbox, if has_init { self.rng.i64(2..=8) } else { 1 });
        let mut s = PodStatus::new(PodState::Running, created);
        s.started = started;
        s.sandbox = sandbox;
        if self.rng.u32(0..100) < 12 && span(app_started, now) > 900 {
            let t = self.between(at(app_started, 300), at(now, -300));
            let reason = if self.rng.u32(0..100) < 40 {
                ExitReason::OomKilled
            } else {
                ExitReason::Error
            };
            s.last_exit = Some(Termination {
                reason,
                started: app_started,
                finished: t,
            });
            s.restarts = self.rng.u32(1..=4);
            app_started = at(t, 1);
        }
        s.app_started = app_started.min(now);
        s.ready_changed = at(app_started, self.rng.i64(2..=30)).min(now);
        s.finished = s.ready_changed;
        s
    }

    fn init_daemonsets(&mut self, now: Timestamp) {
        for i in 0..self.spec.daemonsets {
            let (name, monitoring, template) = daemonset_catalog(i);
            let ns = if monitoring { 2 } else { 1 }.min(self.namespaces.len().saturating_sub(1));
            let created = self.between(at(self.namespaces[ns].created, 600), at(now, -7 * 86_400));
            let uid = self.uid();
            let hash = suffix_from(hash_str(&uid), 10);
            let selector = template.labels.clone();
            let has_init = !template.init_containers.is_empty();
            self.daemonsets.push(DsRec {
                ns,
                name: name.clone(),
                uid,
                created,
                selector,
                template,
                hash,
                pods: Vec::new(),
                published: (0, 0, 0),
            });
            for n in 0..self.nodes.len() {
                let base = created.max(self.nodes[n].created);
                let pod_created = at(base, self.rng.i64(5..=120)).min(at(now, -60));
                let status = self.running_status(pod_created, now, has_init);
                let pod_name = self.unique_pod_name(ns, &name);
                self.add_pod(ns, pod_name, Owner::Ds(i), 0, Some(n), pod_created, status);
            }
            let counts = self.ds_counts(i);
            self.daemonsets[i].published = counts;
        }
    }

    /// A template for an application deployment: (template, image repository, minor, first patch).
    fn app_template(&mut self, name: &str, ns_name: &str) -> (PodTemplate, String, u32, u32) {
        #[derive(Clone, Copy, PartialEq)]
        enum Qos {
            BestEffort,
            Guaranteed,
            Burstable,
        }
        let rng = &mut self.rng;
        let qos = match rng.u32(0..100) {
            0..12 => Qos::BestEffort,
            12..32 => Qos::Guaranteed,
            _ => Qos::Burstable,
        };
        let limits_only = rng.bool();
        let sized = |c: Container, cpu: u32, mem: u32, rng: &mut Rng| match qos {
            Qos::BestEffort => c,
            Qos::Guaranteed if limits_only => c.resources(None, Some(cpu), None, Some(mem)),
            Qos::Guaranteed => c.resources(Some(cpu), Some(cpu), Some(mem), Some(mem)),
            Qos::Burstable => {
                let cpu_lim = (rng.u32(0..100) < 25).then_some(cpu * 2);
                let mem_lim = (rng.u32(0..100) < 70).then_some((mem * 2).min(4096).max(mem));
                c.resources(Some(cpu), cpu_lim, Some(mem), mem_lim)
            }
        };
        let cpu = [100, 250, 250, 500, 500, 1000, 2000][rng.usize(0..7)];
        let mem = [64, 128, 256, 256, 512, 512, 1024, 2048, 4096][rng.usize(0..9)];
        let registry = match rng.u32(0..3) {
            0 => "ghcr.io/acme".to_string(),
            1 => format!("registry.example.com/{ns_name}"),
            _ => format!("123456789012.dkr.ecr.{REGION}.amazonaws.com/{ns_name}"),
        };
        let image_base = format!("{registry}/{name}");
        let (minor, patch0) = (rng.u32(0..30), rng.u32(0..20));
        let mut app = sized(
            Container::new(name, &format!("{image_base}:1.{minor}.{patch0}")),
            cpu,
            mem,
            rng,
        );
        if rng.u32(0..100) < 85 {
            app.port = Some(8080);
        }
        let mut containers = vec![app];
        let side = rng.u32(0..100);
        if side < 22 || (30..34).contains(&side) {
            containers.push(sized(
                Container::new("istio-proxy", "docker.io/istio/proxyv2:1.24.2"),
                100,
                128,
                rng,
            ));
        }
        if (22..34).contains(&side) {
            containers.push(sized(
                Container::new("fluent-bit", "cr.fluentbit.io/fluent/fluent-bit:3.2.4"),
                50,
                64,
                rng,
            ));
        }
        let mut init_containers = Vec::new();
        if rng.u32(0..100) < 20 {
            let mut c = sized(Container::new("init-config", "busybox:1.37"), 10, 16, rng);
            c.command = vec!["sh".into(), "-c".into(), "cp -r /config/. /etc/app/".into()];
            init_containers.push(c);
        }
        let service_account = rng.bool().then(|| name.to_string());
        let template = PodTemplate {
            labels: pairs(&[("app", name), ("app.kubernetes.io/name", name)]),
            init_containers,
            containers,
            restart_policy: "Always",
            service_account,
            priority_class: None,
            host_network: false,
            tolerate_all: false,
        };
        (template, image_base, minor, patch0)
    }

    fn init_deployments(&mut self, now: Timestamp) {
        let (lo, hi) = (
            self.spec.replicas.0.min(self.spec.replicas.1),
            self.spec.replicas.0.max(self.spec.replicas.1),
        );
        let plan = self.replica_plan(lo, hi);
        for di in 0..self.spec.deployments {
            let ns = self.app_namespaces[self.rng.usize(0..self.app_namespaces.len())];
            let name = self.unique_deploy_name(ns);
            let uid = self.uid();
            let ns_name = self.namespaces[ns].name.clone();
            let (mut template, image_base, minor, patch0) = self.app_template(&name, &ns_name);
            let replicas = plan.get(di).copied().unwrap_or_else(|| self.rng.u32(lo..=hi));
            let version = self.rng.u32(0..5);
            let created = self.between(at(self.namespaces[ns].created, 600), at(now, -2 * 86_400));
            let rolled = if version == 0 {
                created
            } else {
                self.between(created, at(now, -3600))
            };
            let generation = i64::from(version) + 1 + self.rng.i64(0..3);
            let labels = pairs(&[
                ("app", &name),
                ("app.kubernetes.io/name", &name),
                ("app.kubernetes.io/part-of", &ns_name),
            ]);
            let selector = pairs(&[("app", &name)]);
            let mut d = DeployRec {
                ns,
                name: name.clone(),
                uid: uid.clone(),
                created,
                labels,
                selector,
                template: template.clone(),
                image_base,
                minor,
                patch0,
                replicas,
                base_replicas: replicas,
                version,
                generation,
                pods: Vec::new(),
                has_hpa: false,
                reconciling: false,
                rolling: false,
                status: DeploymentStatus {
                    observed_generation: generation,
                    replicas: 0,
                    updated: 0,
                    ready: 0,
                    available: 0,
                    replicaset: String::new(),
                    available_ok: true,
                    available_since: at(rolled, 30).min(now),
                    available_updated: at(rolled, 30).min(now),
                    rolling: false,
                    progressing_since: at(created, 5),
                    progressing_updated: at(rolled, 40).min(now),
                },
            };
            template.containers[0].image = d.image(version);
            d.template = template;
            self.deployments.push(d);

            let prefix = format!("{name}-{}", pod_template_hash(&uid, version));
            let has_init = !self.deployments[di].template.init_containers.is_empty();
            for _ in 0..replicas {
                self.init_deploy_pod(di, &prefix, rolled, now, has_init, false);
                if self.rng.u32(0..1000) < 15 {
                    self.init_deploy_pod(di, &prefix, rolled, now, has_init, true);
                }
            }
            let mut s = self.compute_deploy_status(di, now);
            if !s.available_ok {
                s.available_since = at(now, -self.rng.i64(60..=900));
                s.available_updated = s.available_since;
            }
            self.deployments[di].status = s;
        }
    }

    /// Initial replicas per deployment adding up to `spec.deployment_pods`: most deployments
    /// small, a few large (heavy-tailed as in real clusters). Empty without a target.
    fn replica_plan(&mut self, lo: u32, hi: u32) -> Vec<u32> {
        let (n, total) = (self.spec.deployments, self.spec.deployment_pods);
        if total == 0 || n == 0 {
            return Vec::new();
        }
        let mut w: Vec<u32> = (0..n)
            .map(|_| match self.rng.u32(0..100) {
                0..70 => self.rng.u32(lo..=hi),
                70..92 => self.rng.u32(hi + 1..=hi * 3),
                _ => self.rng.u32(hi * 3..=hi * 8),
            })
            .collect();
        let sum: u64 = w.iter().map(|&x| u64::from(x)).sum();
        for x in &mut w {
            *x = ((u64::from(*x) * total as u64 / sum.max(1)) as u32).max(1);
        }
        // Rounding leaves a small difference: spread it one replica at a time.
        let mut have: usize = w.iter().map(|&x| x as usize).sum();
        let mut i = 0;
        while have != total && i < 4 * (n + total) {
            let k = self.rng.usize(0..n);
            if have < total {
                w[k] += 1;
                have += 1;
            } else if w[k] > 1 {
                w[k] -= 1;
                have -= 1;
            }
            i += 1;
        }
        w
    }

    fn init_deploy_pod(
        &mut self,
        di: usize,
        prefix: &str,
        rolled: Timestamp,
        now: Timestamp,
        has_init: bool,
        evicted: bool,
    ) {
        let ns = self.deployments[di].ns;
        let version = self.deployments[di].version;
        let node = self.pick_worker();
        let r = self.rng.u32(0..1000);
        let state = match (node, r) {
            (None, _) => PodState::Unschedulable,
            _ if evicted => PodState::Evicted,
            (_, 0..14) => PodState::Unschedulable,
            (_, 14..25) => PodState::ContainerCreating,
            (_, 25..30) => PodState::ImagePullBackOff,
            (_, 30..36) => PodState::ErrImagePull,
            (_, 36..48) => PodState::CrashLoopBackOff,
            _ => PodState::Running,
        };
        let node = if state == PodState::Unschedulable { None } else { node };
        let base = node.map_or(rolled, |n| rolled.max(self.nodes[n].created));
        let (created, status) = match state {
            PodState::Unschedulable
            | PodState::ContainerCreating
            | PodState::ImagePullBackOff
            | PodState::ErrImagePull => {
                let created = at(now, -self.rng.i64(20..=900));
                let mut s = PodStatus::new(state, created);
                s.started = at(created, 1);
                s.sandbox = at(created, 3);
                s.ready_changed = s.started;
                (created, s)
            }
            PodState::CrashLoopBackOff => {
                let created = self.between(base, at(now, -3600));
                let mut s = self.running_status(created, now, has_init);
                s.state = PodState::CrashLoopBackOff;
                s.ready = false;
                s.restarts = self.rng.u32(3..=60);
                let started = at(now, -self.rng.i64(60..=400));
                let reason = if self.rng.u32(0..100) < 30 {
                    ExitReason::OomKilled
                } else {
                    ExitReason::Error
                };
                s.last_exit = Some(Termination {
                    reason,
                    started,
                    finished: at(started, self.rng.i64(1..=30)),
                });
                s.app_started = started;
                s.ready_changed = self.between(at(created, 60), at(now, -400)).max(s.sandbox);
                (created, s)
            }
            PodState::Evicted => {
                let created = self.between(base, at(now, -7200));
                let mut s = self.running_status(created, now, has_init);
                s.state = PodState::Evicted;
                s.ready = false;
                s.finished = self
                    .between(at(created, 600).min(at(now, -600)), at(now, -600))
                    .max(s.ready_changed);
                s.ready_changed = s.finished;
                (created, s)
            }
            _ => {
                let created = self.between(base, at(now, -300));
                (created, self.running_status(created, now, has_init))
            }
        };
        let name = self.unique_pod_name(ns, prefix);
        let id = self.add_pod(ns, name, Owner::Deploy(di), version, node, created, status);
        if state == PodState::ContainerCreating {
            let serial = self.serial_of(id);
            Self::push_due(&mut self.starting, 0, id, serial);
        }
    }

    fn init_hpas(&mut self, now: Timestamp) {
        let mut order: Vec<usize> = (0..self.deployments.len()).collect();
        self.rng.shuffle(&mut order);
        for di in order {
            if self.hpas.len() >= self.spec.hpas {
                break;
            }
            if self.deployments[di].template.containers[0].requests().0.is_none() {
                continue;
            }
            let replicas = self.deployments[di].replicas;
            let min = replicas.saturating_sub(self.rng.u32(0..=1)).max(1);
            let max = replicas + self.rng.u32(2..=8);
            let target = [60, 70, 75, 80][self.rng.usize(0..4)];
            let created = self.between(at(self.deployments[di].created, 60), at(now, -3600));
            let (utilization, limited, limited_since) = if replicas == min && self.rng.u32(0..100) < 15 {
                (
                    target * self.rng.u32(30..60) / 100,
                    Some("TooFewReplicas"),
                    self.between(created, at(now, -60)),
                )
            } else {
                (
                    target - target / 12 + self.rng.u32(0..=target / 6),
                    None,
                    at(created, 30),
                )
            };
            let last_scale = (self.rng.u32(0..100) < 60).then(|| self.between(created, at(now, -600)));
            let uid = self.uid();
            self.hpas.push(HpaRec {
                deploy: di,
                uid,
                created,
                min,
                max,
                target,
                utilization,
                measured_replicas: replicas,
                current: self.deployments[di].status.replicas,
                desired: replicas,
                last_scale,
                rescaled: false,
                able_since: at(created, 15),
                active_since: at(created, 30),
                limited,
                limited_since,
            });
            self.deployments[di].has_hpa = true;
        }
    }

    fn unique_job_name(&mut self, ns: usize, kind: usize, created: Timestamp) -> String {
        let mut minutes = created.as_second().div_euclid(60);
        loop {
            let name = format!("{}-{minutes}", self.job_kinds[kind].0);
            if self.names.insert((KIND_JOB, ns, name.clone())) {
                return name;
            }
            minutes += 1;
        }
    }

    fn add_job(&mut self, ns: usize, kind: usize, created: Timestamp, backoff_limit: u32) -> usize {
        let name = self.unique_job_name(ns, kind, created);
        let uid = self.uid();
        let rec = JobRec {
            ns,
            name,
            uid,
            created,
            kind,
            backoff_limit,
            start: at(created, 1),
            pods: Vec::new(),
            outcome: JobOutcome::Running,
            published: (JobCounts::default(), JobOutcome::Running),
            cron: None,
        };
        match self.free_jobs.pop() {
            Some(j) => {
                self.jobs[j] = Some(rec);
                j
            }
            None => {
                self.jobs.push(Some(rec));
                self.jobs.len() - 1
            }
        }
    }

    fn job_pod_prefix(&self, j: usize) -> (usize, String) {
        let job = self.jobs[j].as_ref().expect("live job");
        (job.ns, job.name.clone())
    }

    fn init_jobs(&mut self, now: Timestamp) {
        if self.app_namespaces.is_empty() {
            return;
        }
        let mut finished = Vec::new();
        for _ in 0..self.spec.jobs {
            let ns = self.app_namespaces[self.rng.usize(0..self.app_namespaces.len())];
            let kind = self.rng.usize(0..self.job_kinds.len());
            let r = self.rng.u32(0..100);
            let node = self.pick_worker();
            match r {
                0..80 => {
                    let created = at(now, -self.rng.i64(600..=3 * 86_400));
                    let backoff = [6, 6, 4, 3, 2][self.rng.usize(0..5)];
                    let j = self.add_job(ns, kind, created, backoff);
                    let start = at(created, 1);
                    let done = at(start, self.rng.i64(20..=1800)).min(at(now, -5));
                    let mut s = PodStatus::new(PodState::Succeeded, start);
                    s.ready = false;
                    s.started = at(start, 1);
                    s.sandbox = at(start, 2);
                    s.app_started = at(start, 3);
                    s.finished = done.max(s.app_started);
                    s.ready_changed = s.finished;
                    let (pns, prefix) = self.job_pod_prefix(j);
                    let name = self.unique_pod_name(pns, &prefix);
                    let state = if node.is_some() {
                        s
                    } else {
                        PodStatus::new(PodState::Unschedulable, start)
                    };
                    self.add_pod(ns, name, Owner::Job(j), 0, node, start, state);
                    if node.is_some() {
                        self.jobs[j].as_mut().expect("job").outcome = JobOutcome::Complete(s.finished);
                        finished.push((s.finished, j));
                    } else {
                        self.active_jobs.push(j);
                    }
                }
                80..90 => {
                    let creating = self.rng.u32(0..100) < 15;
                    let created = at(
                        now,
                        if creating {
                            -self.rng.i64(2..=30)
                        } else {
                            -self.rng.i64(60..=1800)
                        },
                    );
                    let backoff = [6, 6, 4, 3, 2][self.rng.usize(0..5)];
                    let j = self.add_job(ns, kind, created, backoff);
                    let start = at(created, 1);
                    let state = match node {
                        None => PodState::Unschedulable,
                        Some(_) if creating => PodState::ContainerCreating,
                        Some(_) => PodState::Running,
                    };
                    let mut s = if state == PodState::Running {
                        self.running_status(start, now, false)
                    } else {
                        PodStatus::new(state, start)
                    };
                    s.restarts = 0;
                    s.last_exit = None;
                    let (pns, prefix) = self.job_pod_prefix(j);
                    let name = self.unique_pod_name(pns, &prefix);
                    let id = self.add_pod(ns, name, Owner::Job(j), 0, node, start, s);
                    if state == PodState::ContainerCreating {
                        let serial = self.serial_of(id);
                        Self::push_due(&mut self.starting, 0, id, serial);
                    }
                    self.active_jobs.push(j);
                }
                _ => {
                    let created = at(now, -self.rng.i64(1800..=2 * 86_400));
                    let backoff = self.rng.u32(0..=1);
                    let j = self.add_job(ns, kind, created, backoff);
                    let mut t = at(created, 1);
                    for k in 0..=backoff {
                        let Some(n) = node else { break };
                        let reason = if self.rng.u32(0..100) < 30 {
                            ExitReason::OomKilled
                        } else {
                            ExitReason::Error
                        };
                        let mut s = PodStatus::new(PodState::Failed(reason), t);
                        s.ready = false;
                        s.started = at(t, 1);
                        s.sandbox = at(t, 2);
                        s.app_started = at(t, 3);
                        s.finished = at(t, 3 + self.rng.i64(5..=120));
                        s.ready_changed = s.finished;
                        let (pns, prefix) = self.job_pod_prefix(j);
                        let name = self.unique_pod_name(pns, &prefix);
                        self.add_pod(ns, name, Owner::Job(j), 0, Some(n), t, s);
                        t = at(s.finished, 10 << k);
                    }
                    if node.is_some() {
                        let failed_at = at(t, -9).min(now);
                        self.jobs[j].as_mut().expect("job").outcome = JobOutcome::Failed(failed_at);
                        finished.push((failed_at, j));
                    } else {
                        let (pns, prefix) = self.job_pod_prefix(j);
                        let name = self.unique_pod_name(pns, &prefix);
                        self.add_pod(
                            ns,
                            name,
                            Owner::Job(j),
                            0,
                            None,
                            t,
                            PodStatus::new(PodState::Unschedulable, t),
                        );
                        self.active_jobs.push(j);
                    }
                }
            }
            let j = self.jobs.len() - 1;
            let counts = self.job_counts(j);
            let job = self.jobs[j].as_mut().expect("job");
            job.published = (counts, job.outcome);
        }
        finished.sort();
        self.finished_jobs = finished.into_iter().map(|(_, j)| j).collect();
        self.finished_target = self.finished_jobs.len().max(1);
        self.active_target = self.active_jobs.len().max(2);
    }

    // ----- rendering ------------------------------------------------------------------------

    fn deploy_template(&self, di: usize, version: u32) -> Cow<'_, PodTemplate> {
        let d = &self.deployments[di];
        if version == d.version {
            Cow::Borrowed(&d.template)
        } else {
            let mut t = d.template.clone();
            t.containers[0].image = d.image(version);
            Cow::Owned(t)
        }
    }

    fn pod_json(&self, id: usize) -> Value {
        let mut v = self.with_pod_params(id, pod);
        if let Some(p) = self.pods[id].as_ref()
            && let Owner::Sts(i) = p.owner
        {
            let ordinal = self.x.sts[i].pods.iter().position(|&x| x == id).unwrap_or(0);
            v["spec"]["hostname"] = json!(p.name);
            v["spec"]["subdomain"] = json!(self.x.sts[i].name);
            v["spec"]["volumes"] = json!([self.sts_volume(i, ordinal)]);
        }
        v
    }

    /// The pod's IP once its sandbox is up (the node's for host-network pods).
    fn pod_ip(&self, id: usize) -> Option<String> {
        let p = self.pods[id].as_ref()?;
        let n = p.node?;
        let host_network = match p.owner {
            Owner::Ds(i) => self.daemonsets[i].template.host_network,
            _ => false,
        };
        Some(if host_network {
            node_internal_ip(n)
        } else {
            let (a, b) = node_pod_net(n);
            format!("10.{a}.{b}.{}", p.ip)
        })
    }

    /// Just `status` of the pod (for status-only changes).
    fn pod_status_json(&self, id: usize) -> Value {
        self.with_pod_params(id, pod_status)
    }

    fn with_pod_params<R>(&self, id: usize, f: impl FnOnce(&PodParams) -> R) -> R {
        let p = self.pods[id].as_ref().expect("live pod");
        let (template, mut labels, owner) = match p.owner {
            Owner::Deploy(di) => {
                let d = &self.deployments[di];
                let hash = pod_template_hash(&d.uid, p.version);
                let owner = OwnerRef {
                    api_version: "apps/v1",
                    kind: "ReplicaSet",
                    name: format!("{}-{hash}", d.name),
                    uid: replicaset_uid(&d.uid, &hash),
                };
                let mut labels = d.template.labels.clone();
                labels.push(("pod-template-hash".into(), hash));
                (self.deploy_template(di, p.version), labels, owner)
            }
            Owner::Ds(i) => {
                let ds = &self.daemonsets[i];
                let owner = OwnerRef {
                    api_version: "apps/v1",
                    kind: "DaemonSet",
                    name: ds.name.clone(),
                    uid: ds.uid.clone(),
                };
                let mut labels = ds.template.labels.clone();
                labels.push(("controller-revision-hash".into(), ds.hash.clone()));
                labels.push(("pod-template-generation".into(), "1".into()));
                (Cow::Borrowed(&ds.template), labels, owner)
            }
            Owner::Job(j) => {
                let job = self.jobs[j].as_ref().expect("job of a live pod");
                let owner = OwnerRef {
                    api_version: "batch/v1",
                    kind: "Job",
                    name: job.name.clone(),
                    uid: job.uid.clone(),
                };
                let template = &self.job_kinds[job.kind].1;
                let mut labels = template.labels.clone();
                labels.extend(job_labels(&job.name, &job.uid));
                (Cow::Borrowed(template), labels, owner)
            }
            Owner::Sts(i) => {
                let s = &self.x.sts[i];
                let owner = OwnerRef {
                    api_version: "apps/v1",
                    kind: "StatefulSet",
                    name: s.name.clone(),
                    uid: s.uid.clone(),
                };
                let ordinal = s.pods.iter().position(|&x| x == id).unwrap_or(0);
                let mut labels = s.template.labels.clone();
                labels.push(("apps.kubernetes.io/pod-index".into(), ordinal.to_string()));
                labels.push(("controller-revision-hash".into(), s.revision.clone()));
                labels.push(("statefulset.kubernetes.io/pod-name".into(), p.name.clone()));
                (Cow::Borrowed(&s.template), labels, owner)
            }
        };
        labels.sort();
        let node = p.node.map(|n| {
            let host_ip = node_internal_ip(n);
            let pod_ip = if template.host_network {
                host_ip.clone()
            } else {
                let (a, b) = node_pod_net(n);
                format!("10.{a}.{b}.{}", p.ip)
            };
            PodNode {
                name: &self.nodes[n].name,
                host_ip,
                pod_ip,
            }
        });
        f(&PodParams {
            namespace: &self.namespaces[p.ns].name,
            name: &p.name,
            uid: &p.uid,
            created: p.created,
            labels,
            owner: Some(owner),
            template: &template,
            node,
            status: p.status,
            seed: p.seed,
            cluster_nodes: self.nodes.len(),
            deletion: p.deletion,
        })
    }

    fn node_json(&self, n: usize) -> Value {
        let r = &self.nodes[n];
        let (itype, cpus, mem) = if r.control_plane {
            CONTROL_PLANE_TYPE
        } else {
            WORKER_TYPES[r.itype]
        };
        node(&NodeParams {
            name: &r.name,
            uid: &r.uid,
            created: r.created,
            index: n,
            control_plane: r.control_plane,
            instance_type: itype,
            cpus,
            memory_gi: mem,
            region: REGION,
            zone: ZONES[n % ZONES.len()],
            heartbeat: r.heartbeat,
            ready_since: r.ready_since,
            unreachable: r.unreachable,
        })
    }

    fn deploy_json(&self, di: usize) -> Value {
        let d = &self.deployments[di];
        deployment(&DeploymentParams {
            namespace: &self.namespaces[d.ns].name,
            name: &d.name,
            uid: &d.uid,
            created: d.created,
            labels: &d.labels,
            generation: d.generation,
            revision: d.version + 1,
            replicas: d.replicas,
            selector: &d.selector,
            template: &d.template,
            status: d.status.clone(),
        })
    }

    fn ds_json(&self, i: usize) -> Value {
        let ds = &self.daemonsets[i];
        let (desired, current, ready) = ds.published;
        daemonset(&DaemonSetParams {
            namespace: &self.namespaces[ds.ns].name,
            name: &ds.name,
            uid: &ds.uid,
            created: ds.created,
            selector: &ds.selector,
            template: &ds.template,
            desired,
            current,
            ready,
        })
    }

    fn job_json(&self, j: usize) -> Value {
        let job = self.jobs[j].as_ref().expect("live job");
        let (c, outcome) = job.published;
        let mut v = job_fn(&JobParams {
            namespace: &self.namespaces[job.ns].name,
            name: &job.name,
            uid: &job.uid,
            created: job.created,
            template: &self.job_kinds[job.kind].1,
            backoff_limit: job.backoff_limit,
            start: job.start,
            active: c.active,
            ready: c.ready,
            succeeded: c.succeeded,
            failed: c.failed,
            outcome,
        });
        self.decorate_job(j, &mut v);
        v
    }

    fn hpa_json(&self, hi: usize) -> Value {
        let h = &self.hpas[hi];
        let d = &self.deployments[h.deploy];
        hpa(&HpaParams {
            namespace: &self.namespaces[d.ns].name,
            name: &d.name,
            uid: &h.uid,
            created: h.created,
            target: &d.name,
            min_replicas: h.min,
            max_replicas: h.max,
            target_utilization: h.target,
            current_replicas: h.current,
            desired_replicas: h.desired,
            utilization: h.utilization,
            cpu_average_m: d.cpu_requests_m() * h.utilization / 100,
            last_scale: h.last_scale,
            rescaled: h.rescaled,
            able_since: h.able_since,
            active_since: h.active_since,
            limited: h.limited,
            limited_since: h.limited_since,
        })
    }

    /// Every object of the cluster as it currently stands, owners and referenced objects first:
    /// apiservices, namespaces, nodes, cluster-scoped objects (storage and ingress classes, RBAC,
    /// admission, CSRs, PVs, volume attachments), namespaced configuration (service accounts,
    /// configmaps, secrets, roles, bindings, limit ranges, network policies, quotas, leases),
    /// deployments, replicasets, statefulsets, replication controllers, daemonsets, cronjobs,
    /// jobs, hpas, pdbs, services, endpoints, endpointslices, ingresses, pods, pvcs.
    ///
    /// A `Value` pod takes ~30 KB: for large clusters prefer [`objects`](Self::objects), which
    /// renders one object at a time.
    pub fn initial_objects(&mut self) -> Vec<Value> {
        let mut out = Vec::with_capacity(
            self.namespaces.len() + self.nodes.len() + self.deployments.len() + self.jobs.len() + self.live_pods + 16,
        );
        out.extend(self.objects());
        out
    }

    /// The objects of [`initial_objects`](Self::initial_objects) (same order), rendered lazily.
    pub fn objects(&self) -> impl Iterator<Item = Value> + '_ {
        let apiservices = self.apiservices().into_iter();
        let namespaces = self.namespaces.iter().map(|n| namespace(&n.name, n.created, &n.uid));
        let nodes = (0..self.nodes.len()).map(|n| self.node_json(n));
        let deployments = (0..self.deployments.len()).map(|d| self.deploy_json(d));
        let daemonsets = (0..self.daemonsets.len()).map(|d| self.ds_json(d));
        let jobs = (0..self.jobs.len())
            .filter(|&j| self.jobs[j].is_some())
            .map(|j| self.job_json(j));
        let hpas = (0..self.hpas.len()).map(|h| self.hpa_json(h));
        let pods = (0..self.pods.len())
            .filter(|&id| self.pods[id].is_some())
            .map(|id| self.pod_json(id));
        apiservices
            .chain(namespaces)
            .chain(nodes)
            .chain(self.cluster_objects())
            .chain(self.config_objects())
            .chain(deployments)
            .chain(self.workload_objects())
            .chain(daemonsets)
            .chain(self.cron_objects())
            .chain(jobs)
            .chain(hpas)
            .chain(self.network_objects())
            .chain(pods)
            .chain(self.claim_objects())
    }

    /// The APIServices of a non-empty cluster: the Local ones of the groups the sim serves, and
    /// metrics-server's `v1beta1.metrics.k8s.io` (plus `v1.metrics.k8s.io` with
    /// [`ClusterSpec::metrics_v1`]), `Available=True`/`Passed`. Sorted by name.
    fn apiservices(&self) -> Vec<Value> {
        if self.spec.nodes == 0 {
            return Vec::new();
        }
        let uid = |name: &str| {
            let h = hash_str(name) ^ mix(self.spec.seed ^ 0xa9_15e7);
            uuid_from(mix(h), mix(h ^ 0x5bd1_e995))
        };
        let installed = at(self.birth, 86_400);
        let mut out = Vec::new();
        for (group, version, gpm, vp) in LOCAL_APISERVICES {
            out.push(apiservice(&ApiServiceParams {
                group,
                version,
                uid: &uid(&format!("{version}.{group}")),
                created: self.birth,
                labels: &[("kube-aggregator.kubernetes.io/automanaged", "onstart")],
                group_priority_minimum: gpm,
                version_priority: vp,
                service: None,
                available: ("True", "Local", "Local APIServices are always available"),
                since: self.birth,
            }));
        }
        let versions: &[&str] = if self.spec.metrics_v1 {
            &["v1", "v1beta1"]
        } else {
            &["v1beta1"]
        };
        for version in versions {
            out.push(apiservice(&ApiServiceParams {
                group: "metrics.k8s.io",
                version,
                uid: &uid(&format!("{version}.metrics.k8s.io")),
                created: installed,
                labels: &[("k8s-app", "metrics-server")],
                group_priority_minimum: 100,
                version_priority: 100,
                service: Some(ServiceRef {
                    namespace: "kube-system",
                    name: "metrics-server",
                    port: 443,
                }),
                available: ("True", "Passed", "all checks passed"),
                since: at(installed, 41),
            }));
        }
        out.sort_by(|a, b| a["metadata"]["name"].as_str().cmp(&b["metadata"]["name"].as_str()));
        out
    }

    // ----- controller status ----------------------------------------------------------------

    fn ds_counts(&self, i: usize) -> (u32, u32, u32) {
        let ds = &self.daemonsets[i];
        let (mut current, mut ready) = (0, 0);
        for &id in &ds.pods {
            let p = self.pods[id].as_ref().expect("ds pod");
            if p.active() {
                current += 1;
                if p.status.is_ready() {
                    ready += 1;
                }
            }
        }
        (self.nodes.len() as u32, current, ready)
    }

    fn job_counts(&self, j: usize) -> JobCounts {
        let job = self.jobs[j].as_ref().expect("live job");
        let mut c = JobCounts::default();
        for &id in &job.pods {
            let p = self.pods[id].as_ref().expect("job pod");
            match p.status.state {
                PodState::Succeeded => c.succeeded += 1,
                PodState::Failed(_) | PodState::Evicted => c.failed += 1,
                _ if p.deletion.is_none() => {
                    c.active += 1;
                    if p.status.is_ready() {
                        c.ready += 1;
                    }
                }
                _ => {}
            }
        }
        c
    }

    /// The deployment status the controller would write now.
    fn compute_deploy_status(&self, di: usize, now: Timestamp) -> DeploymentStatus {
        let d = &self.deployments[di];
        let (mut replicas, mut updated, mut ready) = (0, 0, 0);
        for &id in &d.pods {
            let p = self.pods[id].as_ref().expect("deployment pod");
            if !p.active() {
                continue;
            }
            replicas += 1;
            if p.version == d.version {
                updated += 1;
            }
            if p.status.is_ready() {
                ready += 1;
            }
        }
        let mut s = d.status.clone();
        s.observed_generation = d.generation;
        s.replicaset = format!("{}-{}", d.name, pod_template_hash(&d.uid, d.version));
        let available_ok = ready + d.replicas / 4 >= d.replicas;
        if available_ok != s.available_ok {
            s.available_ok = available_ok;
            s.available_since = now;
            s.available_updated = now;
        }
        let counts_changed = (replicas, updated, ready) != (s.replicas, s.updated, s.ready);
        if s.rolling != d.rolling || (d.rolling && counts_changed) {
            s.progressing_updated = now;
        }
        s.rolling = d.rolling;
        s.replicas = replicas;
        s.updated = updated;
        s.ready = ready;
        s.available = ready;
        s
    }

    fn push_patch(
        ops: &mut Vec<Op>,
        resource: &'static str,
        namespace: Option<&str>,
        name: &str,
        before: &Value,
        after: &Value,
    ) {
        if let Some(patch) = merge_diff(before, after) {
            ops.push(Op::Patch {
                resource,
                namespace: namespace.map(str::to_string),
                name: name.to_string(),
                patch,
            });
        }
    }

    fn sync_deploy(&mut self, di: usize, now: Timestamp, ops: &mut Vec<Op>) {
        self.sync_deploy_children(di, now, ops);
        let s = self.compute_deploy_status(di, now);
        if s == self.deployments[di].status {
            return;
        }
        let before = self.deploy_json(di);
        self.deployments[di].status = s;
        let after = self.deploy_json(di);
        let d = &self.deployments[di];
        Self::push_patch(
            ops,
            "deployments",
            Some(&self.namespaces[d.ns].name),
            &d.name,
            &before,
            &after,
        );
    }

    fn sync_ds(&mut self, i: usize, ops: &mut Vec<Op>) {
        let counts = self.ds_counts(i);
        if counts == self.daemonsets[i].published {
            return;
        }
        let before = self.ds_json(i);
        self.daemonsets[i].published = counts;
        let after = self.ds_json(i);
        let ds = &self.daemonsets[i];
        Self::push_patch(
            ops,
            "daemonsets",
            Some(&self.namespaces[ds.ns].name),
            &ds.name,
            &before,
            &after,
        );
    }

    fn sync_job(&mut self, j: usize, ops: &mut Vec<Op>) {
        if self.jobs.get(j).is_none_or(Option::is_none) {
            return;
        }
        let counts = self.job_counts(j);
        let job = self.jobs[j].as_ref().expect("live job");
        if (counts, job.outcome) == job.published {
            return;
        }
        let before = self.job_json(j);
        let job = self.jobs[j].as_mut().expect("live job");
        job.published = (counts, job.outcome);
        let after = self.job_json(j);
        let job = self.jobs[j].as_ref().expect("live job");
        Self::push_patch(
            ops,
            "jobs",
            Some(&self.namespaces[job.ns].name),
            &job.name,
            &before,
            &after,
        );
    }

    fn sync_owner(&mut self, owner: Owner, now: Timestamp, ops: &mut Vec<Op>) {
        match owner {
            Owner::Deploy(di) => self.sync_deploy(di, now, ops),
            Owner::Ds(i) => self.sync_ds(i, ops),
            Owner::Job(j) => self.sync_job(j, ops),
            Owner::Sts(i) => self.sync_sts(i, now, ops),
        }
    }

    // ----- pod operations -------------------------------------------------------------------

    /// Changes a pod's status (and possibly its node) with `f` and reports the merge patch (owner
    /// status not synced).
    fn update_pod(&mut self, id: usize, ops: &mut Vec<Op>, f: impl FnOnce(&mut PodRec, &mut Rng)) {
        if let Some(op) = self.pod_status_op(id, f) {
            ops.push(op);
        }
    }

    /// The merge patch for a status (and node) change made by `f`; None if nothing changed.
    fn pod_status_op(&mut self, id: usize, f: impl FnOnce(&mut PodRec, &mut Rng)) -> Option<Op> {
        let before = self.pod_status_json(id);
        let node_before = self.pods[id].as_ref().expect("live pod").node;
        f(self.pods[id].as_mut().expect("live pod"), &mut self.rng);
        let after = self.pod_status_json(id);
        let p = self.pods[id].as_ref().expect("live pod");
        self.x.dirty_ns.insert(p.ns);
        let mut patch = Map::new();
        if p.node != node_before {
            let node = p.node.map(|n| self.nodes[n].name.clone());
            patch.insert("spec".into(), json!({"nodeName": node}));
        }
        if let Some(d) = merge_diff(&before, &after) {
            patch.insert("status".into(), d);
        }
        (!patch.is_empty()).then(|| Op::Patch {
            resource: "pods",
            namespace: Some(self.namespaces[p.ns].name.clone()),
            name: p.name.clone(),
            patch: Value::Object(patch),
        })
    }

    fn owner_of(&self, id: usize) -> Owner {
        self.pods[id].as_ref().expect("live pod").owner
    }

    /// Removes a pod and reports its deletion (owner status not synced).
    fn delete_pod(&mut self, id: usize, ops: &mut Vec<Op>) {
        let p = self.pods[id].take().expect("live pod");
        self.free_pods.push(id);
        self.live_pods -= 1;
        self.names.remove(&(KIND_POD, p.ns, p.name.clone()));
        let list = match p.owner {
            Owner::Deploy(d) => Some(&mut self.deployments[d].pods),
            Owner::Ds(d) => Some(&mut self.daemonsets[d].pods),
            Owner::Job(j) => self.jobs[j].as_mut().map(|job| &mut job.pods),
            // StatefulSet pods keep their ordinal slot; they are never deleted by the churn.
            Owner::Sts(_) => None,
        };
        self.x.dirty_ns.insert(p.ns);
        if let Some(list) = list
            && let Some(pos) = list.iter().position(|&x| x == id)
        {
            list.swap_remove(pos);
        }
        ops.push(Op::Delete {
            resource: "pods",
            namespace: Some(self.namespaces[p.ns].name.clone()),
            name: p.name,
        });
    }

    /// Graceful deletion: `deletionTimestamp` now, the Delete on a later tick. Pods that never ran
    /// or already finished go at once.
    fn terminate_pod(&mut self, id: usize, now: Timestamp, ops: &mut Vec<Op>) {
        let p = self.pods[id].as_mut().expect("live pod");
        if p.node.is_none() || p.status.state.is_terminal() {
            self.delete_pod(id, ops);
            return;
        }
        let deletion = at(now, 30);
        p.deletion = Some(deletion);
        let serial = p.serial;
        let (ns, name) = (self.namespaces[p.ns].name.clone(), p.name.clone());
        ops.push(Op::Patch {
            resource: "pods",
            namespace: Some(ns),
            name,
            patch: json!({"metadata": {"deletionTimestamp": ts(deletion), "deletionGracePeriodSeconds": 30}}),
        });
        Self::push_due(&mut self.terminating, self.tick, id, serial);
    }

    /// A new pod of the deployment's current revision (ContainerCreating; rarely unschedulable).
    fn create_deploy_pod(&mut self, di: usize, now: Timestamp, ops: &mut Vec<Op>) {
        let d = &self.deployments[di];
        let (ns, version) = (d.ns, d.version);
        let prefix = format!("{}-{}", d.name, pod_template_hash(&d.uid, version));
        let name = self.unique_pod_name(ns, &prefix);
        let node = if self.rng.u32(0..100) == 0 {
            None
        } else {
            self.pick_worker()
        };
        let state = if node.is_some() {
            PodState::ContainerCreating
        } else {
            PodState::Unschedulable
        };
        let id = self.add_pod(
            ns,
            name,
            Owner::Deploy(di),
            version,
            node,
            now,
            PodStatus::new(state, now),
        );
        ops.push(Op::Create(self.pod_json(id)));
        if node.is_some() {
            let serial = self.serial_of(id);
            Self::push_due(&mut self.starting, self.tick, id, serial);
        }
    }

    fn create_job_pod(&mut self, j: usize, now: Timestamp, ops: &mut Vec<Op>) {
        let (ns, prefix) = self.job_pod_prefix(j);
        let name = self.unique_pod_name(ns, &prefix);
        let node = self.pick_worker();
        let state = if node.is_some() {
            PodState::ContainerCreating
        } else {
            PodState::Unschedulable
        };
        let id = self.add_pod(ns, name, Owner::Job(j), 0, node, now, PodStatus::new(state, now));
        ops.push(Op::Create(self.pod_json(id)));
        if node.is_some() {
            let serial = self.serial_of(id);
            Self::push_due(&mut self.starting, self.tick, id, serial);
        }
    }

    /// The kubelet got the containers of a ContainerCreating pod going.
    fn start_pod(&mut self, id: usize, now: Timestamp, ops: &mut Vec<Op>) {
        let p = self.pods[id].as_ref().expect("live pod");
        if p.status.state != PodState::ContainerCreating || p.deletion.is_some() {
            return;
        }
        let is_job = matches!(p.owner, Owner::Job(_));
        self.update_pod(id, ops, |p, rng| {
            let s = &mut p.status;
            s.sandbox = now;
            s.app_started = now;
            s.ready_changed = now;
            s.state = match rng.u32(0..100) {
                0..2 if !is_job => PodState::ImagePullBackOff,
                2..4 if !is_job => PodState::ErrImagePull,
                _ => PodState::Running,
            };
            s.ready = s.state == PodState::Running;
        });
        let owner = self.owner_of(id);
        self.sync_owner(owner, now, ops);
    }

    // ----- churn ----------------------------------------------------------------------------

    /// One churn tick: about `events` operations. Work started on an earlier tick is finished
    /// first, with up to half of the budget: ContainerCreating pods start (Running/Ready, rarely
    /// ImagePullBackOff), readiness comes back, terminating pods are deleted, rollouts and scalings
    /// advance one pod per deployment (surge a new pod, then retire an old one with
    /// `deletionTimestamp` and a Delete on a later tick), unreachable nodes recover. The rest is
    /// random: kubelet-side pod changes (~65%: readiness blips, restarts with OOMKilled/Error
    /// `lastState`, CrashLoopBackOff in and out, image-pull back-offs, evictions with a
    /// replacement pod, cleanup of evicted pods, scheduling of unschedulable pods), jobs (~12%:
    /// completion or failure/retry, new jobs, deletion of the oldest finished ones), rollouts (~5%,
    /// a Replace of the deployment), manual scaling (~2%), HPA syncs (~10%, scaling their
    /// deployment) and node Ready flaps (~0.3%). Deployment, DaemonSet and Job status patches follow
    /// every pod change that alters them.
    pub fn churn(&mut self, now: Timestamp, events: usize) -> Vec<Op> {
        let now = at(now, 0);
        self.tick += 1;
        let mut ops = Vec::with_capacity(events + 8);
        if events == 0 {
            return ops;
        }
        // Time-driven changes come on top of the `events` budget, as in a real cluster where
        // kubelets renew their leases whatever the workloads do.
        let mut timed = Vec::new();
        self.churn_timed(now, &mut timed);
        let budget = (events + (self.tick % 2) as usize) / 2;
        self.drain(now, budget, &mut ops);
        let mut attempts = 0;
        while ops.len() < events && attempts < events * 8 + 16 {
            attempts += 1;
            self.random_event(now, &mut ops);
        }
        self.churn_settle(now, &mut ops);
        timed.append(&mut ops);
        timed
    }

    fn drain(&mut self, now: Timestamp, budget: usize, ops: &mut Vec<Op>) {
        while ops.len() < budget
            && let Some(d) = pop_due(&mut self.terminating, self.tick)
        {
            if self.valid(d) {
                let owner = self.owner_of(d.id);
                self.delete_pod(d.id, ops);
                self.sync_owner(owner, now, ops);
            }
        }
        while ops.len() < budget
            && let Some(d) = pop_due(&mut self.starting, self.tick)
        {
            if self.valid(d) {
                self.start_pod(d.id, now, ops);
            }
        }
        while ops.len() < budget
            && let Some(d) = pop_due(&mut self.unready, self.tick)
        {
            if self.valid(d) {
                let p = self.pods[d.id].as_ref().expect("live pod");
                if p.deletion.is_none() && p.status.state == PodState::Running && !p.status.ready {
                    self.update_pod(d.id, ops, |p, _| {
                        p.status.ready = true;
                        p.status.ready_changed = now;
                    });
                    let owner = self.owner_of(d.id);
                    self.sync_owner(owner, now, ops);
                }
            }
        }
        while ops.len() < budget
            && self.node_recovery.front().is_some_and(|&(t, _)| t < self.tick)
            && let Some((_, n)) = self.node_recovery.pop_front()
        {
            let before = self.node_json(n);
            let r = &mut self.nodes[n];
            r.unreachable = false;
            r.ready_since = now;
            r.heartbeat = now;
            let after = self.node_json(n);
            Self::push_patch(ops, "nodes", None, &self.nodes[n].name.clone(), &before, &after);
        }
        for _ in 0..self.reconciling.len() {
            if ops.len() >= budget {
                break;
            }
            let Some(di) = self.reconciling.pop_front() else { break };
            if self.reconcile_step(di, now, ops) {
                self.reconciling.push_back(di);
            } else {
                self.deployments[di].reconciling = false;
            }
        }
    }

    fn enqueue_reconcile(&mut self, di: usize) {
        if !self.deployments[di].reconciling {
            self.deployments[di].reconciling = true;
            self.reconciling.push_back(di);
        }
    }

    /// One step of the deployment controller: surge one new pod, retire one old pod, or scale by
    /// one. Returns whether there is more to do.
    fn reconcile_step(&mut self, di: usize, now: Timestamp, ops: &mut Vec<Op>) -> bool {
        let d = &self.deployments[di];
        let mut active = Vec::new();
        let mut old = Vec::new();
        for &id in &d.pods {
            let p = self.pods[id].as_ref().expect("deployment pod");
            if !p.active() {
                continue;
            }
            if p.status.state == PodState::ContainerCreating {
                return true;
            }
            active.push(id);
            if p.version != d.version {
                old.push(id);
            }
        }
        let replicas = d.replicas as usize;
        // Least valuable first: not ready, then newest.
        let victim = |ids: &[usize]| {
            ids.iter()
                .copied()
                .min_by_key(|&id| {
                    let p = self.pods[id].as_ref().expect("pod");
                    (p.status.is_ready(), std::cmp::Reverse(p.created), p.serial)
                })
                .expect("non-empty")
        };
        if !old.is_empty() {
            if active.len() > replicas {
                let v = victim(&old);
                self.terminate_pod(v, now, ops);
            } else {
                self.create_deploy_pod(di, now, ops);
            }
        } else if active.len() < replicas {
            self.create_deploy_pod(di, now, ops);
        } else if active.len() > replicas {
            let v = victim(&active);
            self.terminate_pod(v, now, ops);
        } else {
            self.deployments[di].rolling = false;
            self.sync_deploy(di, now, ops);
            return false;
        }
        self.sync_deploy(di, now, ops);
        true
    }

    fn random_event(&mut self, now: Timestamp, ops: &mut Vec<Op>) {
        match self.rng.u32(0..1000) {
            0..620 => self.pod_event(now, ops),
            620..740 => self.job_event(now, ops),
            740..790 => self.rollout_event(now, ops),
            790..810 => self.scale_event(now, ops),
            810..910 => self.hpa_event(now, ops),
            910..913 => self.node_event(now, ops),
            _ => self.pod_event(now, ops),
        }
    }

    /// A random live pod matching `f` (rejection sampling, then a scan).
    fn pick_pod(&mut self, f: impl Fn(&PodRec) -> bool) -> Option<usize> {
        let n = self.pods.len();
        if n == 0 || self.live_pods == 0 {
            return None;
        }
        for _ in 0..64 {
            let i = self.rng.usize(0..n);
            if self.pods[i].as_ref().is_some_and(&f) {
                return Some(i);
            }
        }
        let start = self.rng.usize(0..n);
        (0..n)
            .map(|k| (start + k) % n)
            .find(|&i| self.pods[i].as_ref().is_some_and(&f))
    }

    /// Kubelet-side change of a deployment or daemonset pod, by state.
    fn pod_event(&mut self, now: Timestamp, ops: &mut Vec<Op>) {
        let Some(id) = self.pick_pod(|p| p.deletion.is_none() && !matches!(p.owner, Owner::Job(_))) else {
            return;
        };
        let p = self.pods[id].as_ref().expect("picked pod");
        let (state, ready, owner) = (p.status.state, p.status.ready, p.owner);
        let is_deploy = matches!(owner, Owner::Deploy(_));
        match state {
            PodState::Unschedulable => {
                if self.rng.bool() {
                    return; // still no room
                }
                let Some(node) = self.pick_worker() else { return };
                let ip = self.alloc_ip(node);
                self.update_pod(id, ops, |p, _| {
                    p.node = Some(node);
                    p.ip = ip;
                    p.status.state = PodState::ContainerCreating;
                    p.status.scheduled = now;
                    p.status.started = now;
                    p.status.ready_changed = now;
                });
                let serial = self.serial_of(id);
                Self::push_due(&mut self.starting, self.tick, id, serial);
            }
            PodState::ContainerCreating => return,
            PodState::ImagePullBackOff | PodState::ErrImagePull => {
                let recover = self.rng.u32(0..100) < 30;
                self.update_pod(id, ops, |p, _| {
                    let s = &mut p.status;
                    if recover {
                        s.state = PodState::Running;
                        s.ready = true;
                        s.app_started = now;
                        s.ready_changed = now;
                    } else if s.state == PodState::ImagePullBackOff {
                        s.state = PodState::ErrImagePull;
                    } else {
                        s.state = PodState::ImagePullBackOff;
                    }
                });
            }
            PodState::Running if !ready => {
                self.update_pod(id, ops, |p, _| {
                    p.status.ready = true;
                    p.status.ready_changed = now;
                });
            }
            PodState::Running => {
                let r = self.rng.u32(0..1000);
                if r < 480 {
                    // Readiness probe fails for a moment; back on a later tick.
                    self.update_pod(id, ops, |p, _| {
                        p.status.ready = false;
                        p.status.ready_changed = now;
                    });
                    let serial = self.serial_of(id);
                    Self::push_due(&mut self.unready, self.tick, id, serial);
                } else if r < 982 || !is_deploy {
                    self.update_pod(id, ops, |p, rng| restart_app(&mut p.status, now, rng));
                } else if r < 987 {
                    self.update_pod(id, ops, |p, rng| {
                        restart_app(&mut p.status, now, rng);
                        p.status.state = PodState::CrashLoopBackOff;
                        p.status.ready = false;
                        p.status.ready_changed = now;
                    });
                } else {
                    self.update_pod(id, ops, |p, _| {
                        p.status.state = PodState::Evicted;
                        p.status.ready = false;
                        p.status.finished = now;
                        p.status.ready_changed = now;
                    });
                    if let Owner::Deploy(di) = owner {
                        self.create_deploy_pod(di, now, ops);
                    }
                }
            }
            PodState::CrashLoopBackOff => {
                let recover = self.rng.u32(0..100) < 45;
                self.update_pod(id, ops, |p, rng| {
                    let s = &mut p.status;
                    if recover {
                        s.restarts += 1;
                        s.app_started = now;
                        s.state = PodState::Running;
                        s.ready = true;
                        s.ready_changed = now;
                    } else {
                        let reason = if rng.u32(0..100) < 30 {
                            ExitReason::OomKilled
                        } else {
                            ExitReason::Error
                        };
                        let started = at(now, -rng.i64(1..=30));
                        s.last_exit = Some(Termination {
                            reason,
                            started,
                            finished: now,
                        });
                        s.restarts += 1;
                        s.app_started = started;
                    }
                });
            }
            PodState::Succeeded | PodState::Failed(_) | PodState::Evicted => {
                if !is_deploy {
                    return;
                }
                self.delete_pod(id, ops);
            }
        }
        self.sync_owner(owner, now, ops);
    }

    fn job_event(&mut self, now: Timestamp, ops: &mut Vec<Op>) {
        if self.app_namespaces.is_empty() {
            return;
        }
        if self.rng.u32(0..100) < 50 && !self.active_jobs.is_empty() {
            self.finish_job(now, ops);
        } else if self.active_jobs.len() < self.active_target * 2 {
            self.start_job(now, ops);
        }
    }

    /// The running pod of a random active job ends; the job completes, retries or fails.
    fn finish_job(&mut self, now: Timestamp, ops: &mut Vec<Op>) {
        let k = self.rng.usize(0..self.active_jobs.len());
        let j = self.active_jobs[k];
        let job = self.jobs[j].as_ref().expect("active job");
        let Some(pid) = job
            .pods
            .iter()
            .copied()
            .find(|&id| self.pods[id].as_ref().is_some_and(PodRec::active))
        else {
            return;
        };
        if self.pods[pid].as_ref().expect("job pod").status.state != PodState::Running {
            return;
        }
        let success = self.rng.u32(0..100) < 85;
        let reason = if self.rng.u32(0..100) < 30 {
            ExitReason::OomKilled
        } else {
            ExitReason::Error
        };
        self.update_pod(pid, ops, |p, _| {
            let s = &mut p.status;
            s.state = if success {
                PodState::Succeeded
            } else {
                PodState::Failed(reason)
            };
            s.ready = false;
            s.finished = now;
            s.ready_changed = now;
        });
        let failed = self.job_counts(j).failed;
        let job = self.jobs[j].as_mut().expect("active job");
        if success || failed > job.backoff_limit {
            job.outcome = if success {
                JobOutcome::Complete(now)
            } else {
                JobOutcome::Failed(now)
            };
            self.active_jobs.swap_remove(k);
            self.finished_jobs.push_back(j);
            self.sync_job(j, ops);
            self.on_job_finished(j, now, ops);
            return;
        } else {
            self.create_job_pod(j, now, ops);
        }
        self.sync_job(j, ops);
    }

    /// A one-off job (CronJobs start theirs on schedule, see `extras.rs`).
    fn start_job(&mut self, now: Timestamp, ops: &mut Vec<Op>) {
        let ns = self.app_namespaces[self.rng.usize(0..self.app_namespaces.len())];
        let kind = self.rng.usize(0..self.job_kinds.len());
        // A kind some CronJob of the namespace runs is left to its schedule.
        let cron = self.x.cronjobs.iter().position(|c| c.kind == kind && c.ns == ns);
        if cron.is_some() {
            return;
        }
        self.spawn_job(ns, kind, None, now, ops);
    }

    /// A new job and its pod; the oldest finished job goes when there are many.
    fn spawn_job(&mut self, ns: usize, kind: usize, cron: Option<usize>, now: Timestamp, ops: &mut Vec<Op>) {
        let backoff = [6, 6, 4, 3, 2, 1, 0][self.rng.usize(0..7)];
        let j = self.add_job(ns, kind, now, backoff);
        let job = self.jobs[j].as_mut().expect("new job");
        job.start = now;
        job.cron = cron;
        ops.push(Op::Create(self.job_json(j)));
        self.create_job_pod(j, now, ops);
        self.sync_job(j, ops);
        self.active_jobs.push(j);
        if self.finished_jobs.len() > self.finished_target
            && let Some(old) = self.finished_jobs.pop_front()
        {
            self.delete_job(old, ops);
        }
    }

    /// Deletes a finished job; its pods go with it (background propagation).
    fn delete_job(&mut self, j: usize, ops: &mut Vec<Op>) {
        let Some(job) = self.jobs[j].take() else { return };
        self.free_jobs.push(j);
        self.names.remove(&(KIND_JOB, job.ns, job.name.clone()));
        let ns = self.namespaces[job.ns].name.clone();
        ops.push(Op::Delete {
            resource: "jobs",
            namespace: Some(ns),
            name: job.name,
        });
        for id in job.pods {
            if self.pods[id].is_some() {
                self.delete_pod(id, ops);
            }
        }
    }

    /// A new template revision (image bump), rolled out over the following ticks.
    fn rollout_event(&mut self, now: Timestamp, ops: &mut Vec<Op>) {
        if self.deployments.is_empty() || self.reconciling.len() >= (self.deployments.len() / 10).max(2) {
            return;
        }
        let di = self.rng.usize(0..self.deployments.len());
        if self.deployments[di].reconciling {
            return;
        }
        let d = &mut self.deployments[di];
        d.version += 1;
        d.generation += 1;
        d.rolling = true;
        let image = d.image(d.version);
        d.template.containers[0].image = image;
        self.deployments[di].status = self.compute_deploy_status(di, now);
        ops.push(Op::Replace(self.deploy_json(di)));
        self.on_rollout(di, now, ops);
        self.enqueue_reconcile(di);
    }

    fn scale_deploy(&mut self, di: usize, replicas: u32, now: Timestamp, ops: &mut Vec<Op>) {
        let before = self.deploy_json(di);
        let d = &mut self.deployments[di];
        d.replicas = replicas;
        d.generation += 1;
        self.deployments[di].status = self.compute_deploy_status(di, now);
        let after = self.deploy_json(di);
        let d = &self.deployments[di];
        Self::push_patch(
            ops,
            "deployments",
            Some(&self.namespaces[d.ns].name),
            &d.name,
            &before,
            &after,
        );
        self.enqueue_reconcile(di);
    }

    /// `kubectl scale` of a deployment without an HPA, by one.
    fn scale_event(&mut self, now: Timestamp, ops: &mut Vec<Op>) {
        if self.deployments.is_empty() {
            return;
        }
        let di = self.rng.usize(0..self.deployments.len());
        let d = &self.deployments[di];
        if d.has_hpa || d.reconciling {
            return;
        }
        let (cur, base) = (d.replicas, d.base_replicas);
        let new = if cur < base || (cur == base && (cur <= 1 || self.rng.bool())) {
            cur + 1
        } else {
            cur - 1
        };
        self.scale_deploy(di, new, now, ops);
    }

    /// An HPA sync: CPU utilization drifts, the desired count follows, the deployment is scaled.
    fn hpa_event(&mut self, now: Timestamp, ops: &mut Vec<Op>) {
        if self.hpas.is_empty() {
            return;
        }
        let hi = self.rng.usize(0..self.hpas.len());
        let before = self.hpa_json(hi);
        let di = self.hpas[hi].deploy;
        let (spec_replicas, current) = (self.deployments[di].replicas, self.deployments[di].status.replicas);
        let noise = self.rng.i32(-10..=10);
        let h = &mut self.hpas[hi];
        // The same load over the current replicas, drifting back towards the target.
        let base = (h.utilization * h.measured_replicas / spec_replicas.max(1)) as i32;
        let drift = (h.target as i32 - base) / 4;
        h.utilization = (base + drift + noise).clamp(5, 250) as u32;
        h.measured_replicas = spec_replicas;
        let ratio = f64::from(h.utilization) / f64::from(h.target);
        let raw = if (ratio - 1.0).abs() <= 0.1 {
            spec_replicas
        } else {
            (f64::from(spec_replicas) * ratio).ceil() as u32
        };
        let desired = raw.clamp(h.min, h.max);
        let limited = if raw > h.max {
            Some("TooManyReplicas")
        } else if raw < h.min {
            Some("TooFewReplicas")
        } else {
            None
        };
        if limited != h.limited {
            h.limited = limited;
            h.limited_since = now;
        }
        let rescale = desired != spec_replicas;
        if rescale != h.rescaled {
            h.rescaled = rescale;
            h.able_since = now;
        }
        if rescale {
            h.last_scale = Some(now);
        }
        h.desired = desired;
        h.current = current;
        let after = self.hpa_json(hi);
        let d = &self.deployments[di];
        Self::push_patch(
            ops,
            "horizontalpodautoscalers",
            Some(&self.namespaces[d.ns].name),
            &d.name,
            &before,
            &after,
        );
        if rescale {
            self.scale_deploy(di, desired, now, ops);
        }
    }

    /// A node stops reporting (Ready Unknown, unreachable taints); it is back on a later tick.
    fn node_event(&mut self, now: Timestamp, ops: &mut Vec<Op>) {
        if self.nodes.is_empty() {
            return;
        }
        let n = self.rng.usize(0..self.nodes.len());
        if self.nodes[n].unreachable {
            return;
        }
        let before = self.node_json(n);
        self.nodes[n].unreachable = true;
        self.nodes[n].ready_since = now;
        let after = self.node_json(n);
        Self::push_patch(ops, "nodes", None, &self.nodes[n].name.clone(), &before, &after);
        self.node_recovery.push_back((self.tick, n));
    }

    /// A status-only update of one existing running pod (restart count bump or readiness toggle),
    /// for event-throughput benchmarks. Owner statuses are not touched (a later churn catches up).
    ///
    /// # Panics
    /// If the cluster has no pods.
    pub fn pod_status_update(&mut self, now: Timestamp) -> Op {
        let now = at(now, 0);
        let id = self
            .pick_pod(|p| {
                p.deletion.is_none() && p.status.state == PodState::Running && !matches!(p.owner, Owner::Job(_))
            })
            .or_else(|| self.pick_pod(|_| true))
            .expect("pod_status_update: the cluster has no pods");
        let p = self.pods[id].as_ref().expect("picked pod");
        let toggle = p.status.state == PodState::Running && (!p.status.ready || self.rng.u32(0..100) < 25);
        let op = self.pod_status_op(id, |p, rng| {
            if toggle {
                p.status.ready = !p.status.ready;
                p.status.ready_changed = now;
            } else {
                restart_app(&mut p.status, now, rng);
            }
        });
        op.unwrap_or_else(|| {
            // Only without running pods: a pod without container statuses; an idempotent patch.
            let p = self.pods[id].as_ref().expect("picked pod");
            Op::Patch {
                resource: "pods",
                namespace: Some(self.namespaces[p.ns].name.clone()),
                name: p.name.clone(),
                patch: json!({"status": {"phase": p.status.state.phase()}}),
            }
        })
    }
}

/// Alias keeping [`job`] usable inside methods that have a local named `job`.
use self::job as job_fn;

#[cfg(test)]
mod tests_extras;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, HashMap};

    type Key = (&'static str, String, String);

    fn now() -> Timestamp {
        Timestamp::from_second(1_795_000_000).unwrap()
    }

    fn resource_of(kind: &str) -> &'static str {
        super::tests_extras::resource_of(kind)
    }

    fn key_of(obj: &Value) -> Key {
        let meta = &obj["metadata"];
        (
            resource_of(obj["kind"].as_str().expect("kind")),
            meta["namespace"].as_str().unwrap_or("").to_string(),
            meta["name"].as_str().expect("name").to_string(),
        )
    }

    fn check_typed(obj: &Value) {
        super::tests_extras::check_typed(obj);
    }

    /// RFC 7386.
    fn apply_merge(target: &mut Value, patch: &Value) {
        match patch {
            Value::Object(p) => {
                if !target.is_object() {
                    *target = Value::Object(Map::new());
                }
                let t = target.as_object_mut().expect("object");
                for (k, v) in p {
                    if v.is_null() {
                        t.remove(k);
                    } else {
                        apply_merge(t.entry(k.clone()).or_insert(Value::Null), v);
                    }
                }
            }
            other => *target = other.clone(),
        }
    }

    fn is_rfc3339_z(s: &str) -> bool {
        s.len() == 20 && s.ends_with('Z') && s.parse::<Timestamp>().is_ok()
    }

    /// `MicroTime` fields (lease renewals) carry microseconds.
    fn is_micro_time(s: &str) -> bool {
        s.len() == 27 && s.ends_with('Z') && s.parse::<Timestamp>().is_ok()
    }

    /// Every string under a time-ish key is RFC 3339 with Z at second precision.
    fn check_times(v: &Value, path: &str) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    let time_key =
                        k.ends_with("Time") || k.ends_with("Timestamp") || k.ends_with("At") || k == "timeAdded";
                    if time_key && let Value::String(s) = x {
                        if k == "renewTime" || k == "acquireTime" {
                            assert!(is_micro_time(s), "{path}.{k} = {s:?}");
                        } else {
                            assert!(is_rfc3339_z(s), "{path}.{k} = {s:?}");
                        }
                    }
                    check_times(x, &format!("{path}.{k}"));
                }
            }
            Value::Array(a) => a.iter().for_each(|x| check_times(x, path)),
            _ => {}
        }
    }

    fn container_waiting(pod: &Value, reason: &str) -> bool {
        pod["status"]["containerStatuses"]
            .as_array()
            .is_some_and(|cs| cs.iter().any(|c| c["state"]["waiting"]["reason"] == reason))
    }

    fn condition<'a>(obj: &'a Value, ty: &str) -> Option<&'a Value> {
        obj["status"]["conditions"].as_array()?.iter().find(|c| c["type"] == ty)
    }

    #[test]
    fn for_pods_shapes() {
        let s = ClusterSpec::for_pods(1000, 1);
        assert_eq!(s.nodes, 33);
        assert!((2..=4).contains(&s.daemonsets));
        assert_eq!(s.jobs, 50);
        assert_eq!(s.deployments, 100);
        assert_eq!(s.statefulsets, 12);
        assert_eq!(s.hpas, s.deployments / 5);
        assert_eq!(s.namespaces, s.deployments / 8);
        assert_eq!(ClusterSpec::for_pods(10, 1).nodes, 3);
        let empty = ClusterSpec::for_pods(0, 1);
        let mut m = ClusterModel::new(empty, now());
        assert!(m.initial_objects().is_empty());
        assert!(m.churn(now(), 10).is_empty());
    }

    #[test]
    fn initial_objects_are_typed_and_proportioned() {
        for seed in [1, 2, 3] {
            let mut m = ClusterModel::new(ClusterSpec::for_pods(1000, seed), now());
            let objs = m.initial_objects();
            let mut by_kind: HashMap<String, usize> = HashMap::new();
            let (mut ready, mut pending, mut succeeded, mut failed, mut crash, mut evicted, mut unsched) =
                (0, 0, 0, 0, 0, 0, 0);
            let mut qos: HashMap<String, usize> = HashMap::new();
            for o in &objs {
                check_typed(o);
                check_times(o, "");
                assert!(o["metadata"].get("resourceVersion").is_none());
                // The workload builders of this file leave managedFields out; those of
                // `objects.rs` write them as a server does.
                let legacy = matches!(
                    o["kind"].as_str().unwrap(),
                    "Pod"
                        | "Node"
                        | "Namespace"
                        | "Deployment"
                        | "DaemonSet"
                        | "Job"
                        | "HorizontalPodAutoscaler"
                        | "APIService"
                );
                assert_eq!(o["metadata"].get("managedFields").is_none(), legacy, "{}", o["kind"]);
                let created: Timestamp = o["metadata"]["creationTimestamp"].as_str().unwrap().parse().unwrap();
                assert!(created <= now());
                *by_kind.entry(o["kind"].as_str().unwrap().to_string()).or_default() += 1;
                if o["kind"] != "Pod" {
                    continue;
                }
                *qos.entry(o["status"]["qosClass"].as_str().unwrap().to_string())
                    .or_default() += 1;
                match o["status"]["phase"].as_str().unwrap() {
                    "Running" if container_waiting(o, "CrashLoopBackOff") => crash += 1,
                    "Running" => {
                        if condition(o, "Ready").unwrap()["status"] == "True" {
                            ready += 1;
                        }
                    }
                    "Pending" => {
                        pending += 1;
                        if condition(o, "PodScheduled").unwrap()["status"] == "False" {
                            unsched += 1;
                            assert!(o["spec"].get("nodeName").is_none());
                        }
                    }
                    "Succeeded" => succeeded += 1,
                    "Failed" => {
                        failed += 1;
                        if o["status"]["reason"] == "Evicted" {
                            evicted += 1;
                            assert_eq!(
                                condition(o, "DisruptionTarget").unwrap()["reason"],
                                "TerminationByKubelet"
                            );
                        }
                    }
                    other => panic!("phase {other}"),
                }
            }
            let pods = by_kind["Pod"];
            assert!((900..=1100).contains(&pods), "seed {seed}: {pods} pods");
            let f = |n: usize| n as f64 / pods as f64;
            let msg = format!(
                "seed {seed}: ready {ready} pending {pending} succeeded {succeeded} failed {failed} crash {crash}"
            );
            assert!((0.85..=0.95).contains(&f(ready)), "{msg}");
            assert!((0.01..=0.06).contains(&f(pending)), "{msg}");
            assert!((0.02..=0.07).contains(&f(succeeded)), "{msg}");
            assert!((0.005..=0.04).contains(&f(failed)), "{msg}");
            assert!((0.002..=0.03).contains(&f(crash)), "{msg}");
            assert!(evicted > 0 && unsched > 0, "{msg}");
            for class in ["Guaranteed", "Burstable", "BestEffort"] {
                assert!(qos.get(class).copied().unwrap_or(0) > 10, "seed {seed}: qos {qos:?}");
            }
            assert_eq!(by_kind["Node"], 33);
            assert!(by_kind["HorizontalPodAutoscaler"] > 10);
            assert!(by_kind["Job"] >= 45);
            assert!(by_kind["Namespace"] >= 3);
        }
    }

    #[test]
    fn objects_are_consistent() {
        let mut m = ClusterModel::new(ClusterSpec::for_pods(1000, 7), now());
        let objs = m.initial_objects();
        let mut keys = HashSet::new();
        let mut uids = HashSet::new();
        let mut by_key: HashMap<Key, &Value> = HashMap::new();
        let mut seen_kinds = Vec::new();
        for o in &objs {
            let k = key_of(o);
            assert!(keys.insert(k.clone()), "duplicate {k:?}");
            let uid = o["metadata"]["uid"].as_str().unwrap();
            assert_eq!(uid.len(), 36);
            assert_eq!(&uid[14..15], "4");
            assert!(uids.insert(uid.to_string()), "duplicate uid");
            by_key.insert(k, o);
            let kind = o["kind"].as_str().unwrap().to_string();
            if seen_kinds.last() != Some(&kind) {
                assert!(!seen_kinds.contains(&kind), "kinds not grouped: {kind}");
                seen_kinds.push(kind);
            }
        }
        assert_eq!(
            seen_kinds,
            [
                "APIService",
                "Namespace",
                "Node",
                "StorageClass",
                "IngressClass",
                "ClusterRole",
                "ClusterRoleBinding",
                "MutatingWebhookConfiguration",
                "ValidatingWebhookConfiguration",
                "ValidatingAdmissionPolicy",
                "ValidatingAdmissionPolicyBinding",
                "MutatingAdmissionPolicy",
                "MutatingAdmissionPolicyBinding",
                "CertificateSigningRequest",
                "PersistentVolume",
                "VolumeAttachment",
                "ServiceAccount",
                "ConfigMap",
                "Secret",
                "Role",
                "RoleBinding",
                "LimitRange",
                "NetworkPolicy",
                "ResourceQuota",
                "Lease",
                "Deployment",
                "ReplicaSet",
                "StatefulSet",
                "ReplicationController",
                "DaemonSet",
                "CronJob",
                "Job",
                "HorizontalPodAutoscaler",
                "PodDisruptionBudget",
                "Service",
                "Endpoints",
                "EndpointSlice",
                "Ingress",
                "Pod",
                "PersistentVolumeClaim",
            ]
        );
        let nodes = objs.iter().filter(|o| o["kind"] == "Node").count();
        let mut rs_uids: HashMap<String, String> = HashMap::new();
        let mut per_deploy: HashMap<(String, String), (u32, u32)> = HashMap::new();
        for o in objs.iter().filter(|o| o["metadata"].get("namespace").is_some()) {
            let ns = o["metadata"]["namespace"].as_str().unwrap();
            assert!(
                by_key.contains_key(&("namespaces", String::new(), ns.to_string())),
                "namespace {ns}"
            );
        }
        for o in objs.iter().filter(|o| o["kind"] == "Pod") {
            let ns = o["metadata"]["namespace"].as_str().unwrap().to_string();
            let name = o["metadata"]["name"].as_str().unwrap();
            let refs = o["metadata"]["ownerReferences"].as_array().unwrap();
            assert_eq!(refs.len(), 1);
            let r = &refs[0];
            assert_eq!(r["controller"], true);
            assert_eq!(r["blockOwnerDeletion"], true);
            let owner_name = r["name"].as_str().unwrap();
            let owner_uid = r["uid"].as_str().unwrap();
            match r["kind"].as_str().unwrap() {
                "ReplicaSet" => {
                    let hash = o["metadata"]["labels"]["pod-template-hash"].as_str().unwrap();
                    assert_eq!(hash.len(), 10);
                    let deploy = owner_name
                        .strip_suffix(&format!("-{hash}"))
                        .expect("rs name = deploy-hash");
                    let d = by_key[&("deployments", ns.clone(), deploy.to_string())];
                    assert_eq!(owner_uid, replicaset_uid(d["metadata"]["uid"].as_str().unwrap(), hash));
                    let rs = by_key[&("replicasets", ns.clone(), owner_name.to_string())];
                    assert_eq!(rs["metadata"]["uid"], owner_uid);
                    assert_eq!(rs["metadata"]["ownerReferences"][0]["uid"], d["metadata"]["uid"]);
                    assert_eq!(
                        rs_uids.entry(owner_name.to_string()).or_insert(owner_uid.to_string()),
                        owner_uid
                    );
                    let rest = name
                        .strip_prefix(&format!("{owner_name}-"))
                        .expect("pod name = rs-xxxxx");
                    assert_eq!(rest.len(), 5);
                    assert!(rest.bytes().all(|b| ALPHANUM.contains(&b)));
                    for (k, v) in d["spec"]["selector"]["matchLabels"].as_object().unwrap() {
                        assert_eq!(&o["metadata"]["labels"][k], v);
                    }
                    let e = per_deploy.entry((ns.clone(), deploy.to_string())).or_default();
                    let phase = o["status"]["phase"].as_str().unwrap();
                    if phase != "Failed" && phase != "Succeeded" {
                        e.0 += 1;
                        if condition(o, "Ready").is_some_and(|c| c["status"] == "True") {
                            e.1 += 1;
                        }
                    }
                }
                "DaemonSet" => {
                    let ds = by_key[&("daemonsets", ns.clone(), owner_name.to_string())];
                    assert_eq!(ds["metadata"]["uid"], owner_uid);
                    let node = o["spec"]["nodeName"].as_str().unwrap();
                    assert!(by_key.contains_key(&("nodes", String::new(), node.to_string())));
                }
                "Job" => {
                    let job = by_key[&("jobs", ns.clone(), owner_name.to_string())];
                    assert_eq!(job["metadata"]["uid"], owner_uid);
                    assert_eq!(o["metadata"]["labels"]["batch.kubernetes.io/controller-uid"], owner_uid);
                    assert_eq!(o["spec"]["restartPolicy"], "Never");
                }
                "StatefulSet" => {
                    let sts = by_key[&("statefulsets", ns.clone(), owner_name.to_string())];
                    assert_eq!(sts["metadata"]["uid"], owner_uid);
                    let claim = o["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"]
                        .as_str()
                        .unwrap();
                    let pvc = by_key[&("persistentvolumeclaims", ns.clone(), claim.to_string())];
                    assert_eq!(pvc["metadata"]["ownerReferences"][0]["uid"], o["metadata"]["uid"]);
                }
                other => panic!("owner kind {other}"),
            }
            // Server defaults.
            let spec = &o["spec"];
            assert_eq!(spec["dnsPolicy"], "ClusterFirst");
            assert_eq!(spec["schedulerName"], "default-scheduler");
            assert_eq!(spec["enableServiceLinks"], true);
            assert_eq!(spec["preemptionPolicy"], "PreemptLowerPriority");
            assert!(spec["priority"].is_i64());
            for c in spec["containers"].as_array().unwrap() {
                assert_eq!(c["terminationMessagePath"], "/dev/termination-log");
                assert_eq!(c["terminationMessagePolicy"], "File");
                assert!(c["imagePullPolicy"].is_string());
            }
            let n = spec["containers"].as_array().unwrap().len();
            assert!((1..=3).contains(&n));
            assert_eq!(o["status"]["containerStatuses"].as_array().map_or(n, Vec::len), n);
            if let Some(node) = spec["nodeName"].as_str() {
                assert!(by_key.contains_key(&("nodes", String::new(), node.to_string())));
            }
        }
        for d in objs.iter().filter(|o| o["kind"] == "Deployment") {
            let key = (
                d["metadata"]["namespace"].as_str().unwrap().to_string(),
                d["metadata"]["name"].as_str().unwrap().to_string(),
            );
            let (active, ready) = per_deploy.get(&key).copied().unwrap_or_default();
            assert_eq!(
                d["status"]["replicas"].as_u64().unwrap_or(0),
                u64::from(active),
                "{key:?}"
            );
            assert_eq!(
                d["status"]["readyReplicas"].as_u64().unwrap_or(0),
                u64::from(ready),
                "{key:?}"
            );
        }
        for ds in objs.iter().filter(|o| o["kind"] == "DaemonSet") {
            assert_eq!(ds["status"]["desiredNumberScheduled"], nodes);
            assert_eq!(ds["status"]["currentNumberScheduled"], nodes);
        }
        let control_planes: Vec<_> = objs
            .iter()
            .filter(|o| {
                o["kind"] == "Node"
                    && o["metadata"]["labels"]
                        .get("node-role.kubernetes.io/control-plane")
                        .is_some()
            })
            .collect();
        assert_eq!(control_planes.len(), 3);
        for n in control_planes {
            assert_eq!(n["spec"]["taints"][0]["effect"], "NoSchedule");
        }
        // Deployment pods never run on control-plane nodes.
        for o in objs
            .iter()
            .filter(|o| o["kind"] == "Pod" && o["metadata"]["ownerReferences"][0]["kind"] == "ReplicaSet")
        {
            assert!(
                !o["spec"]["nodeName"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with("control-plane")
            );
        }
    }

    #[test]
    fn same_seed_same_cluster() {
        let run = |seed: u64| {
            let mut m = ClusterModel::new(ClusterSpec::for_pods(500, seed), now());
            let mut out = format!("{:?}", m.initial_objects());
            for i in 0..10 {
                out.push_str(&format!("{:?}", m.churn(at(now(), 10 * (i + 1)), 30)));
            }
            out.push_str(&format!("{:?}", m.pod_status_update(at(now(), 500))));
            out
        };
        assert_eq!(run(42), run(42));
        assert_ne!(run(42), run(43));
    }

    #[test]
    fn merge_diff_round_trips() {
        let mut m = ClusterModel::new(ClusterSpec::for_pods(300, 5), now());
        let objs = m.initial_objects();
        for pair in objs.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            let mut x = a.clone();
            if let Some(p) = merge_diff(a, b) {
                apply_merge(&mut x, &p);
            }
            assert_eq!(&x, b);
        }
        assert!(merge_diff(&objs[0], &objs[0]).is_none());
    }

    /// Applies churn to a store of the cluster: every op references an existing object, every
    /// result is a valid typed object, and the store ends up equal to the model's own rendering.
    fn churn_against_store(pods: usize, seed: u64, ticks: i64, events: usize) -> HashMap<String, usize> {
        let mut m = ClusterModel::new(ClusterSpec::for_pods(pods, seed), now());
        let mut store: BTreeMap<Key, Value> = BTreeMap::new();
        for o in m.initial_objects() {
            assert!(store.insert(key_of(&o), o).is_none());
        }
        let mut stats: HashMap<String, usize> = HashMap::new();
        let mut total = 0;
        for tick in 1..=ticks {
            let t = at(now(), tick * 10);
            let ops = m.churn(t, events);
            total += ops.len();
            for op in ops {
                match op {
                    Op::Create(obj) => {
                        check_typed(&obj);
                        check_times(&obj, "");
                        let k = key_of(&obj);
                        *stats.entry(format!("create {}", k.0)).or_default() += 1;
                        if obj["kind"] == "Pod" {
                            let r = &obj["metadata"]["ownerReferences"][0];
                            let ns = k.1.clone();
                            let owner = r["name"].as_str().unwrap().to_string();
                            match r["kind"].as_str().unwrap() {
                                "Job" => assert_eq!(store[&("jobs", ns, owner)]["metadata"]["uid"], r["uid"]),
                                "ReplicaSet" => {
                                    let hash = obj["metadata"]["labels"]["pod-template-hash"].as_str().unwrap();
                                    let deploy = owner.strip_suffix(&format!("-{hash}")).unwrap().to_string();
                                    let d = &store[&("deployments", ns, deploy)];
                                    assert_eq!(r["uid"], replicaset_uid(d["metadata"]["uid"].as_str().unwrap(), hash));
                                    assert_eq!(
                                        hash,
                                        pod_template_hash(
                                            d["metadata"]["uid"].as_str().unwrap(),
                                            d["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
                                                .as_str()
                                                .unwrap()
                                                .parse::<u32>()
                                                .unwrap()
                                                - 1
                                        )
                                    );
                                }
                                other => panic!("created pod owned by {other}"),
                            }
                        }
                        assert!(store.insert(k.clone(), obj).is_none(), "create of existing {k:?}");
                    }
                    Op::Replace(obj) => {
                        check_typed(&obj);
                        let k = key_of(&obj);
                        *stats.entry(format!("replace {}", k.0)).or_default() += 1;
                        let old = store.get(&k).unwrap_or_else(|| panic!("replace of missing {k:?}"));
                        assert_eq!(old["metadata"]["uid"], obj["metadata"]["uid"]);
                        assert_eq!(
                            old["metadata"]["creationTimestamp"],
                            obj["metadata"]["creationTimestamp"]
                        );
                        store.insert(k, obj);
                    }
                    Op::Patch {
                        resource,
                        namespace,
                        name,
                        patch,
                    } => {
                        *stats.entry(format!("patch {resource}")).or_default() += 1;
                        let k = (resource, namespace.unwrap_or_default(), name);
                        let obj = store.get_mut(&k).unwrap_or_else(|| panic!("patch of missing {k:?}"));
                        assert!(
                            obj["metadata"].get("deletionTimestamp").is_none() || resource != "pods",
                            "patch of a deleting pod {k:?}"
                        );
                        apply_merge(obj, &patch);
                        check_typed(obj);
                        check_times(obj, "");
                    }
                    Op::Delete {
                        resource,
                        namespace,
                        name,
                    } => {
                        *stats.entry(format!("delete {resource}")).or_default() += 1;
                        let k = (resource, namespace.unwrap_or_default(), name);
                        assert!(store.remove(&k).is_some(), "delete of missing {k:?}");
                    }
                }
            }
        }
        assert!(total >= (ticks as usize) * events * 3 / 4, "only {total} ops");
        // The store matches the model's view of the cluster.
        let rendered: BTreeMap<Key, Value> = m.initial_objects().into_iter().map(|o| (key_of(&o), o)).collect();
        assert_eq!(rendered.len(), store.len());
        for (k, v) in &rendered {
            assert_eq!(Some(v), store.get(k), "{k:?} differs");
        }
        stats
    }

    #[test]
    fn churn_references_existing_objects() {
        let stats = churn_against_store(1000, 1, 50, 20);
        for kind in [
            "patch pods",
            "create pods",
            "delete pods",
            "patch deployments",
            "patch jobs",
            "create jobs",
        ] {
            assert!(stats.get(kind).copied().unwrap_or(0) > 0, "no {kind}: {stats:?}");
        }
    }

    #[test]
    fn long_churn_covers_the_mix() {
        let stats = churn_against_store(300, 9, 400, 25);
        for kind in [
            "patch pods",
            "create pods",
            "delete pods",
            "patch deployments",
            "replace deployments",
            "patch daemonsets",
            "create jobs",
            "patch jobs",
            "delete jobs",
            "patch horizontalpodautoscalers",
            "patch nodes",
        ] {
            assert!(stats.get(kind).copied().unwrap_or(0) > 0, "no {kind}: {stats:?}");
        }
    }

    #[test]
    fn pod_status_update_patches_a_running_pod() {
        let mut m = ClusterModel::new(ClusterSpec::for_pods(200, 3), now());
        let mut store: BTreeMap<Key, Value> = m.initial_objects().into_iter().map(|o| (key_of(&o), o)).collect();
        for i in 0..200 {
            match m.pod_status_update(at(now(), i)) {
                Op::Patch {
                    resource: "pods",
                    namespace,
                    name,
                    patch,
                } => {
                    assert!(
                        patch.get("status").is_some() && patch.get("spec").is_none() && patch.get("metadata").is_none()
                    );
                    let obj = store
                        .get_mut(&("pods", namespace.unwrap(), name))
                        .expect("existing pod");
                    assert_eq!(obj["status"]["phase"], "Running");
                    apply_merge(obj, &patch);
                    check_typed(obj);
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn large_cluster_generates() {
        let mut m = ClusterModel::new(ClusterSpec::for_pods(100_000, 1), now());
        // Streamed: the whole cluster as `Value`s would take gigabytes.
        let pods = m.objects().filter(|o| o["kind"] == "Pod").count();
        assert_eq!(pods, m.pod_count());
        assert!((90_000..=110_000).contains(&pods), "{pods}");
        let ops = m.churn(at(now(), 10), 1000);
        assert!(ops.len() >= 900);
    }

    /// The real simulated API server accepts the initial objects and every churn op.
    #[tokio::test]
    async fn churn_is_accepted_by_the_sim() {
        let sim = crate::sim::Sim::start().await.unwrap();
        let mut m = ClusterModel::new(ClusterSpec::for_pods(300, 11), now());
        for o in m.objects() {
            sim.create(o).unwrap();
        }
        for t in 1..=60 {
            for op in m.churn(at(now(), t * 5), 30) {
                let desc = format!("{op:?}");
                if let Err(e) = crate::demo::apply_op(&sim, op) {
                    panic!("tick {t}: {e}: {desc}");
                }
            }
        }
        assert_eq!(sim.list("pods").len(), m.pod_count());
        sim.shutdown().await;
    }
}
