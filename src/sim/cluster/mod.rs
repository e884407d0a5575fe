//! A generated cluster for the simulated API server (`demo`, `sim`, benchmarks).
//!
//! Pure builders of Kubernetes objects shaped like a kube-apiserver v1.36 returns them (server
//! defaults filled in, `managedFields` written, `metadata.resourceVersion` left to the store),
//! and [`ClusterModel`], which lays out a cluster for a [`ClusterSpec`] and churns it
//! deterministically (same seed and times, same objects and operations).
//!
//! Every object carries `apiVersion`, `kind`, a UUID-v4-shaped `metadata.uid` derived from the seed
//! and a backdated `metadata.creationTimestamp`. Deployment pods are owned by the ReplicaSet
//! `<deployment>-<pod-template-hash>`, uid [`replicaset_uid`].
//!
//! The files: `util` (hashes, ids, times), `managed` (managedFields), `pod` and `builders` (pure
//! builders of the pods, nodes and workloads), `objects` (pure builders of the other kinds),
//! `catalog` (names and catalogs), this file (the spec and the model's records), `layout` (the
//! initial cluster), `render` (records to objects), `controllers` (status and pod operations),
//! `churn` (the random changes) and `extras/` (the kinds around the workloads, with
//! `statefulsets` for StatefulSets, their volumes and scaling, `config` for configuration, RBAC,
//! admission and the other objects held as records, `changes` for the churn of those).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet, VecDeque};

use fastrand::Rng;
use jiff::Timestamp;
use serde_json::Value;

mod builders;
mod catalog;
mod churn;
mod controllers;
pub mod custom;
mod extras;
mod layout;
mod managed;
pub mod objects;
mod pod;
mod render;
mod util;

pub use builders::{
    ApiServiceParams, DaemonSetParams, DeploymentParams, DeploymentStatus, HpaParams, JobOutcome, JobParams,
    NodeParams, ServiceRef, apiservice, daemonset, deployment, hpa, job, job_labels, namespace, node, node_internal_ip,
};
pub use pod::{
    Container, ExitReason, OwnerRef, PodNode, PodParams, PodState, PodStatus, PodTemplate, Termination, pod,
};
pub use util::{cpu_quantity, memory_quantity, merge_diff, pod_template_hash, replicaset_uid};
pub(super) use util::{hash_str, mix};

use catalog::{APP_QUALIFIERS, APP_WORDS, job_catalog};

use util::{at, span, suffix_from, uuid_from};

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
    /// Pods marked for deletion: (when the kubelet has stopped them, serial, id). By model time,
    /// not by tick, so a terminating pod stays visible for seconds whatever the tick rate.
    terminating: BinaryHeap<Reverse<(Timestamp, u64, usize)>>,
    node_recovery: VecDeque<(u64, usize)>,
    reconciling: VecDeque<usize>,
    active_jobs: Vec<usize>,
    finished_jobs: VecDeque<usize>,
    finished_target: usize,
    active_target: usize,
    /// Everything around the workloads (`extras.rs`).
    x: extras::Extras,
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
            terminating: BinaryHeap::new(),
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

    // ----- shared by the layout and the churn -------------------------------------------------

    fn uid(&mut self) -> String {
        uuid_from(self.rng.u64(..), self.rng.u64(..))
    }

    /// A random time in `[a, b]` (`a` if `b < a`).
    fn between(&mut self, a: Timestamp, b: Timestamp) -> Timestamp {
        at(a, self.rng.i64(0..=span(a, b)))
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
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_changes;
#[cfg(test)]
mod tests_extras;
