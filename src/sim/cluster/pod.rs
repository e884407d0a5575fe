//! Pod templates and the Pod builder: containers, spec defaults and a kubelet-style status for
//! every state a generated pod can be in.

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::managed::add_managed_status;
use super::util::{at, container_id, cpu_quantity, image_id, labels_json, memory_quantity, mix, pull_policy, span, ts};

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
    pub(super) fn requests(&self) -> (Option<u32>, Option<u32>) {
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

/// Owner reference (always `controller: true, blockOwnerDeletion: true`).
#[derive(Debug, Clone)]
pub struct OwnerRef {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub name: String,
    pub uid: String,
}

impl OwnerRef {
    pub(super) fn to_json(&self) -> Value {
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

    pub(super) fn phase(self) -> &'static str {
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

/// Whether init container `i` of the pod seeded `seed` failed once before completing (about one
/// pod with init containers in ten).
fn init_restarted(seed: u64, i: usize) -> bool {
    mix(seed ^ 0x1417 ^ i as u64).is_multiple_of(10)
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
    let mut obj = Value::Object(obj);
    add_pod_managed(&mut obj);
    obj
}

/// `managedFields` of a pod a controller created: the kubelet owns the status once the pod is
/// bound, the scheduler before (its `PodScheduled` condition).
pub(super) fn add_pod_managed(obj: &mut Value) {
    let status_manager = if obj["spec"].get("nodeName").is_some() {
        "kubelet"
    } else {
        "kube-scheduler"
    };
    add_managed_status(obj, "kube-controller-manager", status_manager);
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
                } else if init_restarted(p.seed, i) {
                    // The first attempt failed (a dependency not up yet); the retry completed.
                    let retry = at(s.started, span(s.started, s.sandbox) / 2);
                    json!({
                        "name": c.name,
                        "state": {"terminated": {
                            "exitCode": 0, "reason": "Completed", "startedAt": ts(retry), "finishedAt": ts(s.sandbox),
                            "containerID": container_id(p.seed, 100 + i, 1),
                        }},
                        "lastState": {"terminated": {
                            "exitCode": 1, "reason": "Error", "startedAt": ts(s.started), "finishedAt": ts(retry),
                            "containerID": container_id(p.seed, 100 + i, 0),
                        }},
                        "ready": true, "restartCount": 1, "image": c.image,
                        "imageID": image_id(&c.image), "containerID": container_id(p.seed, 100 + i, 1),
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
