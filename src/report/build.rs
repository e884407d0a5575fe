//! From an [`Inventory`] (and usage history, when the source has it) to the report's rows:
//! nodes, namespaces, workloads and right-sizing per workload container.

use std::collections::{BTreeMap, HashMap};
use std::ops::Add;

use serde::Serialize;

use super::inventory::{Amounts, Container, Inventory, Pod, PodKey, Workload};

/// CPU requests are never recommended below this (cores): the kubelet's own rounding and a
/// container's start-up need it.
pub const CPU_REQUEST_FLOOR: f64 = 0.010;
/// Memory requests are never recommended below this (bytes).
pub const MEMORY_REQUEST_FLOOR: f64 = 16.0 * 1024.0 * 1024.0;
/// Memory request = peak × this: headroom for a peak the window did not see.
pub const MEMORY_REQUEST_MARGIN: f64 = 1.15;
/// Memory limit = peak × this: an OOM kill only past a clear excursion.
pub const MEMORY_LIMIT_MARGIN: f64 = 1.3;
/// Usage at this share of a limit or more is flagged as at the limit (CPU: throttled).
pub const AT_LIMIT: f64 = 0.95;

/// Usage over a window for one container, from Prometheus.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct ContainerHistory {
    /// CPU cores, median over the window.
    pub cpu_p50: Option<f64>,
    /// CPU cores, 95th percentile.
    pub cpu_p95: Option<f64>,
    /// CPU cores, 99th percentile.
    pub cpu_p99: Option<f64>,
    /// CPU cores, highest sample.
    pub cpu_max: Option<f64>,
    /// Memory working set bytes, highest sample.
    pub memory_peak: Option<f64>,
}

impl ContainerHistory {
    /// The larger of each statistic: a workload's pods share one spec, so it must fit the
    /// busiest of them.
    fn max(self, other: ContainerHistory) -> ContainerHistory {
        ContainerHistory {
            cpu_p50: larger(self.cpu_p50, other.cpu_p50),
            cpu_p95: larger(self.cpu_p95, other.cpu_p95),
            cpu_p99: larger(self.cpu_p99, other.cpu_p99),
            cpu_max: larger(self.cpu_max, other.cpu_max),
            memory_peak: larger(self.memory_peak, other.memory_peak),
        }
    }
}

/// The larger of two figures, either of which may be missing.
pub(super) fn larger(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// Usage over a window for one node.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct NodeHistory {
    /// CPU cores, median over the window.
    pub cpu_p50: Option<f64>,
    /// CPU cores, 95th percentile.
    pub cpu_p95: Option<f64>,
    /// CPU cores, 99th percentile.
    pub cpu_p99: Option<f64>,
    /// CPU cores, highest sample.
    pub cpu_max: Option<f64>,
    /// Memory working set bytes, highest sample.
    pub memory_peak: Option<f64>,
}

/// Usage history from Prometheus.
#[derive(Clone, Debug, Default)]
pub struct History {
    /// The window, as given (`7d`).
    pub window: String,
    /// Per (namespace, pod, container).
    pub containers: HashMap<(String, String, String), ContainerHistory>,
    /// Per node.
    pub nodes: HashMap<String, NodeHistory>,
}

/// Which pods the report covers and how rows are ordered.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Only these namespaces (all when empty).
    pub namespaces: Vec<String>,
    /// Only pods whose exported labels match.
    pub selector: Option<Selector>,
    /// Row order in every section.
    pub sort: SortKey,
    /// At most this many rows per section.
    pub top: Option<usize>,
}

/// Row order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum SortKey {
    /// CPU requests, largest first.
    #[default]
    Cpu,
    /// Memory requests, largest first.
    Memory,
    /// CPU usage, largest first.
    CpuUsage,
    /// Memory usage, largest first.
    MemoryUsage,
    /// The right-sizing change, largest saving first (CPU, then memory).
    Change,
    /// Names, alphabetically.
    Name,
}

/// An equality-based label selector (`app=web,tier!=db,canary,!legacy`), as `kubectl -l`.
#[derive(Clone, Debug, PartialEq)]
pub struct Selector(Vec<Requirement>);

#[derive(Clone, Debug, PartialEq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    Exists(String),
    NotExists(String),
}

impl Selector {
    /// Parses `kubectl -l`'s equality-based form; set-based (`in`, `notin`) is refused by name.
    pub fn parse(text: &str) -> Result<Selector, String> {
        let mut requirements = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if part.contains(" in ") || part.contains(" notin ") || part.contains('(') {
                return Err(format!(
                    "label selector {part:?}: set-based requirements are not supported; use key=value, key!=value, key or !key"
                ));
            }
            let requirement = if let Some((k, v)) = part.split_once("!=") {
                Requirement::NotEquals(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                Requirement::Equals(k.trim().into(), v.trim().into())
            } else if let Some(k) = part.strip_prefix('!') {
                Requirement::NotExists(k.trim().into())
            } else {
                Requirement::Exists(part.into())
            };
            let key = match &requirement {
                Requirement::Equals(k, _)
                | Requirement::NotEquals(k, _)
                | Requirement::Exists(k)
                | Requirement::NotExists(k) => k,
            };
            if key.is_empty() {
                return Err(format!("label selector {part:?}: empty label key"));
            }
            requirements.push(requirement);
        }
        if requirements.is_empty() {
            return Err("empty label selector".into());
        }
        Ok(Selector(requirements))
    }

    /// Whether `labels` satisfy every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.0.iter().all(|r| match r {
            Requirement::Equals(k, v) => labels.get(k) == Some(v),
            Requirement::NotEquals(k, v) => labels.get(k) != Some(v),
            Requirement::Exists(k) => labels.contains_key(k),
            Requirement::NotExists(k) => !labels.contains_key(k),
        })
    }

    /// The label keys it reads, for telling the user which ones the source must export.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|r| match r {
            Requirement::Equals(k, _)
            | Requirement::NotEquals(k, _)
            | Requirement::Exists(k)
            | Requirement::NotExists(k) => k.as_str(),
        })
    }
}

/// The whole report.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Where the figures come from (URL or kubeconfig context).
    pub source: String,
    /// When the report was made, RFC 3339.
    pub generated_at: String,
    /// The history window, when the source has history.
    pub window: Option<String>,
    /// The time the figures describe when it is not now (`--at`), RFC 3339.
    pub as_of: Option<String>,
    /// Why some figures are missing, and what filters apply.
    pub notes: Vec<String>,
    /// Cluster totals (of the pods the filter keeps).
    pub cluster: ClusterRow,
    /// One row per node.
    pub nodes: Vec<NodeRow>,
    /// One row per namespace.
    pub namespaces: Vec<GroupRow>,
    /// One row per workload.
    pub workloads: Vec<GroupRow>,
    /// One row per workload container: right-sizing.
    pub containers: Vec<ContainerRow>,
}

/// Cluster totals.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ClusterRow {
    /// Nodes.
    pub nodes: usize,
    /// Pods holding requests (Pending or Running).
    pub pods: usize,
    /// Allocatable, summed over nodes.
    pub allocatable: Amounts,
    /// Requests of active pods.
    pub requested: Amounts,
    /// Limits of active pods.
    pub limited: Amounts,
    /// Node usage, summed (metrics.k8s.io).
    pub used: Amounts,
}

/// One node.
#[derive(Clone, Debug, Serialize)]
pub struct NodeRow {
    /// Node name.
    pub node: String,
    /// Allocatable CPU and memory.
    pub allocatable: Amounts,
    /// Allocatable pods.
    pub allocatable_pods: Option<f64>,
    /// Requests of its active pods.
    pub requested: Amounts,
    /// Limits of its active pods.
    pub limited: Amounts,
    /// Usage (metrics.k8s.io).
    pub used: Amounts,
    /// Active pods on it.
    pub pods: usize,
    /// Allocatable − requested.
    pub headroom: Amounts,
    /// The largest pod of the cluster's workloads (by memory, then CPU request) that still fits;
    /// none on a closed node.
    pub largest_fit: Option<Fit>,
    /// Why pods without tolerations cannot land: cordoned, `key:effect` of its taints.
    pub closed: Vec<String>,
    /// Resources whose limits exceed allocatable.
    pub overcommitted: Vec<&'static str>,
    /// Usage over the window, when the source has history.
    pub history: Option<NodeHistory>,
}

/// A pod shape that fits a node's headroom.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Fit {
    /// `namespace/Kind/name` of the workload the pod belongs to.
    pub workload: String,
    /// Its pod's requests.
    pub requests: Amounts,
}

/// One namespace or workload.
#[derive(Clone, Debug, Serialize)]
pub struct GroupRow {
    /// Namespace.
    pub namespace: String,
    /// The workload (absent on namespace rows).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub workload: Option<Workload>,
    /// Active pods.
    pub pods: usize,
    /// Requests summed.
    pub requests: Amounts,
    /// Limits summed.
    pub limits: Amounts,
    /// Usage summed.
    pub usage: Amounts,
    /// Requests ÷ usage (above 1: reserved and idle).
    pub requests_per_usage: Amounts,
    /// What applying the recommendations changes in requests (cores, bytes; negative frees).
    pub change: Option<Amounts>,
}

/// Why a container is worth a look.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Flag {
    /// No CPU or no memory request: scheduled as if free.
    NoRequests,
    /// No memory limit and no CPU limit.
    NoLimits,
    /// Its last termination was an OOM kill.
    OomKilled,
    /// CPU usage at its limit: throttled.
    CpuAtLimit,
    /// Memory usage at its limit: the next OOM kill is near.
    MemoryAtLimit,
}

impl Flag {
    /// The letter the terminal table shows (with a legend under it).
    pub fn letter(self) -> char {
        match self {
            Flag::NoRequests => 'R',
            Flag::NoLimits => 'L',
            Flag::OomKilled => 'O',
            Flag::CpuAtLimit => 'T',
            Flag::MemoryAtLimit => 'M',
        }
    }

    /// The name JSON, CSV and the legend use.
    pub fn name(self) -> &'static str {
        match self {
            Flag::NoRequests => "no-requests",
            Flag::NoLimits => "no-limits",
            Flag::OomKilled => "oom-killed",
            Flag::CpuAtLimit => "cpu-at-limit",
            Flag::MemoryAtLimit => "memory-at-limit",
        }
    }
}

/// One container of a workload, over its active pods.
#[derive(Clone, Debug, Serialize)]
pub struct ContainerRow {
    /// Namespace.
    pub namespace: String,
    /// Its workload.
    pub workload: Workload,
    /// Container name.
    pub container: String,
    /// Active pods running it.
    pub pods: usize,
    /// Requests per pod (the largest among its pods).
    pub requests: Amounts,
    /// Limits per pod (the largest among its pods).
    pub limits: Amounts,
    /// Usage now, the busiest pod.
    pub usage: Amounts,
    /// Usage over the window, the busiest pod per statistic.
    pub history: Option<ContainerHistory>,
    /// What its requests and limits should be.
    pub recommendation: Option<Recommendation>,
    /// What deserves attention.
    pub flags: Vec<Flag>,
}

/// Right-sizing of one workload container.
#[derive(Clone, Debug, Serialize)]
pub struct Recommendation {
    /// CPU request: p95 of usage, at least [`CPU_REQUEST_FLOOR`].
    pub cpu_request: Option<f64>,
    /// Memory request: peak × [`MEMORY_REQUEST_MARGIN`], at least [`MEMORY_REQUEST_FLOOR`].
    pub memory_request: Option<f64>,
    /// Memory limit: peak × [`MEMORY_LIMIT_MARGIN`].
    pub memory_limit: Option<f64>,
    /// Always none: see `reasons`.
    pub cpu_limit: Option<f64>,
    /// Why each value is what it is.
    pub reasons: Vec<String>,
    /// (recommended − current request) × pods: cores and bytes freed (negative) or added.
    pub change: Amounts,
}

/// Builds the report; `source` names where the figures came from.
pub fn build(inv: &Inventory, history: Option<&History>, filter: &Filter, source: &str) -> Report {
    let mut notes = Vec::new();
    if !inv.has_usage {
        notes.push(
            "no usage columns: the source has no kube_pod_container_resource_usage or kube_node_resource_usage \
             (KSM alone does not export usage; kube-state-exporter does with --usage)"
                .to_string(),
        );
    }
    match history {
        None => notes.push(
            "no recommendations: they need usage history; run with --prometheus URL (p95 CPU and peak memory over --window)"
                .to_string(),
        ),
        Some(h) if h.containers.is_empty() => notes.push(format!(
            "no recommendations: Prometheus has no kube_pod_container_resource_usage samples in the last {}",
            h.window
        )),
        Some(_) => {}
    }
    if !filter.namespaces.is_empty() {
        notes.push(format!("namespaces: {}", filter.namespaces.join(", ")));
    }
    if let Some(selector) = &filter.selector
        && !inv.has_pod_labels
    {
        let keys: Vec<&str> = selector.keys().collect();
        notes.push(format!(
            "the label selector matches on kube_pod_labels, which has no labels here: export them with \
                 --metric-labels-allowlist=pods=[{}]",
            keys.join(",")
        ));
    }

    let selected: Vec<(&PodKey, &Pod)> = inv
        .pods
        .iter()
        .filter(|((ns, _), _)| filter.namespaces.is_empty() || filter.namespaces.contains(ns))
        .filter(|(_, pod)| filter.selector.as_ref().is_none_or(|s| s.matches(&pod.labels)))
        .filter(|(_, pod)| pod.active)
        .collect();

    let mut containers = container_rows(&selected, history);
    let changes = changes_by_group(&containers);
    let mut namespaces = group_rows(&selected, |(ns, _), _| (ns.clone(), None), &changes);
    let mut workloads = group_rows(
        &selected,
        |(ns, _), pod| (ns.clone(), Some(pod.workload.clone())),
        &changes,
    );
    let mut nodes = node_rows(inv, &selected, &containers, history);

    let cluster = ClusterRow {
        nodes: inv.nodes.len(),
        pods: selected.len(),
        allocatable: inv.nodes.values().fold(Amounts::default(), |a, n| a.add(n.allocatable)),
        requested: nodes.iter().fold(Amounts::default(), |a, n| a.add(n.requested)),
        limited: nodes.iter().fold(Amounts::default(), |a, n| a.add(n.limited)),
        used: inv.nodes.values().fold(Amounts::default(), |a, n| a.add(n.usage)),
    };
    // Pods not bound to a listed node still count toward the cluster's requests.
    let unbound = selected.iter().filter(|(_, p)| !inv.nodes.contains_key(&p.node));
    let (unbound_requests, unbound_limits) = unbound
        .fold((Amounts::default(), Amounts::default()), |(r, l), (_, p)| {
            (r.add(pod_total(p, |c| c.requests)), l.add(pod_total(p, |c| c.limits)))
        });
    let cluster = ClusterRow {
        requested: cluster.requested.add(unbound_requests),
        limited: cluster.limited.add(unbound_limits),
        ..cluster
    };

    sort_rows(&mut nodes, filter.sort, |r| (r.node.clone(), r.requested, r.used, None));
    sort_rows(&mut namespaces, filter.sort, |r| {
        (r.namespace.clone(), r.requests, r.usage, r.change)
    });
    sort_rows(&mut workloads, filter.sort, |r| {
        let name = r
            .workload
            .as_ref()
            .map(|w| format!("{}/{}", w.kind, w.name))
            .unwrap_or_default();
        (format!("{}/{name}", r.namespace), r.requests, r.usage, r.change)
    });
    sort_rows(&mut containers, filter.sort, |r| {
        let per_pods = |a: Amounts| Amounts {
            cpu: a.cpu.map(|v| v * r.pods as f64),
            memory: a.memory.map(|v| v * r.pods as f64),
        };
        let name = format!(
            "{}/{}/{}/{}",
            r.namespace, r.workload.kind, r.workload.name, r.container
        );
        (
            name,
            per_pods(r.requests),
            per_pods(r.usage),
            r.recommendation.as_ref().map(|rec| rec.change),
        )
    });
    if let Some(top) = filter.top {
        nodes.truncate(top);
        namespaces.truncate(top);
        workloads.truncate(top);
        containers.truncate(top);
    }

    Report {
        source: source.to_string(),
        generated_at: jiff::Timestamp::now()
            .round(jiff::Unit::Second)
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
            .to_string(),
        window: history.map(|h| h.window.clone()),
        as_of: None,
        notes,
        cluster,
        nodes,
        namespaces,
        workloads,
        containers,
    }
}

fn pod_total(pod: &Pod, field: impl Fn(&Container) -> Amounts) -> Amounts {
    pod.containers.values().fold(Amounts::default(), |a, c| a.add(field(c)))
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

type ContainerKey = (String, Workload, String);

fn container_rows(pods: &[(&PodKey, &Pod)], history: Option<&History>) -> Vec<ContainerRow> {
    let mut rows: BTreeMap<ContainerKey, ContainerRow> = BTreeMap::new();
    let larger_of = |a: Amounts, b: Amounts| Amounts {
        cpu: larger(a.cpu, b.cpu),
        memory: larger(a.memory, b.memory),
    };
    for ((ns, pod_name), pod) in pods {
        for (name, c) in &pod.containers {
            let row = rows
                .entry((ns.clone(), pod.workload.clone(), name.clone()))
                .or_insert_with(|| ContainerRow {
                    namespace: ns.clone(),
                    workload: pod.workload.clone(),
                    container: name.clone(),
                    pods: 0,
                    requests: c.requests,
                    limits: c.limits,
                    usage: Amounts::default(),
                    history: None,
                    recommendation: None,
                    flags: Vec::new(),
                });
            row.pods += 1;
            row.requests = larger_of(row.requests, c.requests);
            row.limits = larger_of(row.limits, c.limits);
            row.usage = larger_of(row.usage, c.usage);
            let mut add_flag = |flag| {
                if !row.flags.contains(&flag) {
                    row.flags.push(flag);
                }
            };
            if c.requests.cpu.is_none() || c.requests.memory.is_none() {
                add_flag(Flag::NoRequests);
            }
            if c.limits.cpu.is_none() && c.limits.memory.is_none() {
                add_flag(Flag::NoLimits);
            }
            if c.oom_killed {
                add_flag(Flag::OomKilled);
            }
            if let Some(h) = history.and_then(|h| h.containers.get(&(ns.clone(), pod_name.clone(), name.clone()))) {
                row.history = Some(row.history.map_or(*h, |old| old.max(*h)));
            }
        }
    }
    rows.into_values()
        .map(|mut row| {
            let cpu_seen = larger(row.usage.cpu, row.history.and_then(|h| h.cpu_max));
            let memory_seen = larger(row.usage.memory, row.history.and_then(|h| h.memory_peak));
            if at_limit(cpu_seen, row.limits.cpu) {
                row.flags.push(Flag::CpuAtLimit);
            }
            if at_limit(memory_seen, row.limits.memory) {
                row.flags.push(Flag::MemoryAtLimit);
            }
            row.flags.sort_by_key(|f| *f as u8);
            row.recommendation = row.history.and_then(|h| recommend(&row, &h));
            row
        })
        .collect()
}

fn at_limit(seen: Option<f64>, limit: Option<f64>) -> bool {
    matches!((seen, limit), (Some(seen), Some(limit)) if limit > 0.0 && seen >= AT_LIMIT * limit)
}

fn recommend(row: &ContainerRow, h: &ContainerHistory) -> Option<Recommendation> {
    if h.cpu_p95.is_none() && h.memory_peak.is_none() {
        return None;
    }
    let mut reasons = Vec::new();
    let cpu_request = h.cpu_p95.map(|p95| {
        if p95 < CPU_REQUEST_FLOOR {
            reasons.push(format!(
                "cpu request: p95 {p95:.4} cores is below the {CPU_REQUEST_FLOOR} floor"
            ));
            CPU_REQUEST_FLOOR
        } else {
            reasons.push(format!("cpu request: p95 of usage, {p95:.4} cores"));
            p95
        }
    });
    let memory_request = h.memory_peak.map(|peak| {
        let margin = peak * MEMORY_REQUEST_MARGIN;
        if margin < MEMORY_REQUEST_FLOOR {
            reasons.push(format!(
                "memory request: peak {peak:.0} B × {MEMORY_REQUEST_MARGIN} is below the 16Mi floor"
            ));
            MEMORY_REQUEST_FLOOR
        } else {
            reasons.push(format!("memory request: peak {peak:.0} B × {MEMORY_REQUEST_MARGIN}"));
            margin
        }
    });
    let memory_limit = h.memory_peak.map(|peak| {
        reasons.push(format!(
            "memory limit: peak × {MEMORY_LIMIT_MARGIN}, OOM-killed only past a clear excursion"
        ));
        (peak * MEMORY_LIMIT_MARGIN).max(memory_request.unwrap_or(0.0))
    });
    reasons
        .push("cpu limit: none; a limit throttles bursts while the request already guarantees the share".to_string());
    let pods = row.pods as f64;
    let delta = |rec: Option<f64>, now: Option<f64>| rec.map(|r| (r - now.unwrap_or(0.0)) * pods);
    Some(Recommendation {
        cpu_request,
        memory_request,
        memory_limit,
        cpu_limit: None,
        reasons,
        change: Amounts {
            cpu: delta(cpu_request, row.requests.cpu),
            memory: delta(memory_request, row.requests.memory),
        },
    })
}

type GroupKey = (String, Option<Workload>);

fn changes_by_group(containers: &[ContainerRow]) -> HashMap<GroupKey, Amounts> {
    let mut out: HashMap<GroupKey, Amounts> = HashMap::new();
    for row in containers {
        let Some(rec) = &row.recommendation else { continue };
        for key in [
            (row.namespace.clone(), None),
            (row.namespace.clone(), Some(row.workload.clone())),
        ] {
            let sum = out.entry(key).or_default();
            *sum = sum.add(rec.change);
        }
    }
    out
}

fn group_rows(
    pods: &[(&PodKey, &Pod)],
    key: impl Fn(&PodKey, &Pod) -> GroupKey,
    changes: &HashMap<GroupKey, Amounts>,
) -> Vec<GroupRow> {
    let mut groups: BTreeMap<GroupKey, GroupRow> = BTreeMap::new();
    for (pod_key, pod) in pods {
        let k = key(pod_key, pod);
        let row = groups.entry(k.clone()).or_insert_with(|| GroupRow {
            namespace: k.0.clone(),
            workload: k.1.clone(),
            pods: 0,
            requests: Amounts::default(),
            limits: Amounts::default(),
            usage: Amounts::default(),
            requests_per_usage: Amounts::default(),
            change: changes.get(&k).copied(),
        });
        row.pods += 1;
        row.requests = row.requests.add(pod_total(pod, |c| c.requests));
        row.limits = row.limits.add(pod_total(pod, |c| c.limits));
        row.usage = row.usage.add(pod_total(pod, |c| c.usage));
    }
    groups
        .into_values()
        .map(|mut row| {
            row.requests_per_usage = Amounts {
                cpu: ratio(row.requests.cpu, row.usage.cpu),
                memory: ratio(row.requests.memory, row.usage.memory),
            };
            row
        })
        .collect()
}

fn node_rows(
    inv: &Inventory,
    pods: &[(&PodKey, &Pod)],
    containers: &[ContainerRow],
    history: Option<&History>,
) -> Vec<NodeRow> {
    // Pod shapes: the per-pod requests of each workload, from its container rows.
    let mut shapes: BTreeMap<String, Amounts> = BTreeMap::new();
    for row in containers {
        let name = format!("{}/{}/{}", row.namespace, row.workload.kind, row.workload.name);
        let shape = shapes.entry(name).or_default();
        *shape = shape.add(row.requests);
    }
    let mut shapes: Vec<(String, Amounts)> = shapes.into_iter().collect();
    shapes.sort_by(|a, b| {
        let key = |s: &Amounts| (s.memory.unwrap_or(0.0), s.cpu.unwrap_or(0.0));
        key(&b.1).partial_cmp(&key(&a.1)).unwrap_or(std::cmp::Ordering::Equal)
    });

    let mut by_node: HashMap<&str, Vec<&Pod>> = HashMap::new();
    for (_, pod) in pods {
        by_node.entry(pod.node.as_str()).or_default().push(pod);
    }
    inv.nodes
        .iter()
        .map(|(name, node)| {
            let on_node = by_node.remove(name.as_str()).unwrap_or_default();
            let requested = on_node
                .iter()
                .fold(Amounts::default(), |a, p| a.add(pod_total(p, |c| c.requests)));
            let limited = on_node
                .iter()
                .fold(Amounts::default(), |a, p| a.add(pod_total(p, |c| c.limits)));
            let minus = |a: Option<f64>, b: Option<f64>| a.map(|a| a - b.unwrap_or(0.0));
            let headroom = Amounts {
                cpu: minus(node.allocatable.cpu, requested.cpu),
                memory: minus(node.allocatable.memory, requested.memory),
            };
            let slots = node.allocatable_pods.is_none_or(|max| (on_node.len() as f64) < max);
            let fits = |s: &Amounts| {
                let within =
                    |need: Option<f64>, free: Option<f64>| need.unwrap_or(0.0) <= free.unwrap_or(f64::INFINITY);
                within(s.cpu, headroom.cpu) && within(s.memory, headroom.memory)
            };
            let largest_fit = if slots && node.closed.is_empty() {
                shapes.iter().find(|(_, s)| fits(s)).map(|(w, s)| Fit {
                    workload: w.clone(),
                    requests: *s,
                })
            } else {
                None
            };
            let over = |l: Option<f64>, a: Option<f64>| matches!((l, a), (Some(l), Some(a)) if l > a);
            let mut overcommitted = Vec::new();
            if over(limited.cpu, node.allocatable.cpu) {
                overcommitted.push("cpu");
            }
            if over(limited.memory, node.allocatable.memory) {
                overcommitted.push("memory");
            }
            NodeRow {
                node: name.clone(),
                allocatable: node.allocatable,
                allocatable_pods: node.allocatable_pods,
                requested,
                limited,
                used: node.usage,
                pods: on_node.len(),
                headroom,
                largest_fit,
                closed: node.closed.clone(),
                overcommitted,
                history: history.and_then(|h| h.nodes.get(name).copied()),
            }
        })
        .collect()
}

/// Sorts by `filter`'s key, largest first, then by name; `key` gives a row's name, requests,
/// usage and change, computed once per row.
fn sort_rows<R>(rows: &mut Vec<R>, sort: SortKey, key: impl Fn(&R) -> (String, Amounts, Amounts, Option<Amounts>)) {
    let mut keyed: Vec<(f64, String, R)> = rows
        .drain(..)
        .map(|row| {
            let (name, requests, usage, change) = key(&row);
            let number = match sort {
                SortKey::Cpu => requests.cpu.unwrap_or(0.0),
                SortKey::Memory => requests.memory.unwrap_or(0.0),
                SortKey::CpuUsage => usage.cpu.unwrap_or(0.0),
                SortKey::MemoryUsage => usage.memory.unwrap_or(0.0),
                // Most freed first: the most negative change; rows without one last.
                SortKey::Change => change.and_then(|c| c.cpu).map(|c| -c).unwrap_or(f64::NEG_INFINITY),
                SortKey::Name => 0.0,
            };
            (number, name, row)
        })
        .collect();
    keyed.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    rows.extend(keyed.into_iter().map(|(_, _, row)| row));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::inventory::FAMILIES;
    use crate::report::samples::parse_text;

    const GI: f64 = 1024.0 * 1024.0 * 1024.0;
    const MI: f64 = 1024.0 * 1024.0;

    /// Two nodes; web (2 pods, app + sidecar without limits) on n1, a bare pod with no requests,
    /// a Pending pod without a node, a finished job pod.
    const BODY: &str = r#"
kube_node_status_allocatable{node="n1",resource="cpu",unit="core"} 4
kube_node_status_allocatable{node="n1",resource="memory",unit="byte"} 8589934592
kube_node_status_allocatable{node="n1",resource="pods",unit="integer"} 3
kube_node_status_allocatable{node="n2",resource="cpu",unit="core"} 2
kube_node_status_allocatable{node="n2",resource="memory",unit="byte"} 4294967296
kube_node_spec_taint{node="n2",key="gpu",value="",effect="NoSchedule"} 1
kube_pod_info{namespace="shop",pod="web-1",uid="a",node="n1"} 1
kube_pod_info{namespace="shop",pod="web-2",uid="b",node="n1"} 1
kube_pod_info{namespace="shop",pod="tmp",uid="c",node="n1"} 1
kube_pod_info{namespace="shop",pod="web-3",uid="d",node=""} 1
kube_pod_info{namespace="ops",pod="once",uid="e",node="n2"} 1
kube_pod_owner{namespace="shop",pod="web-1",uid="a",owner_kind="ReplicaSet",owner_name="web-1a",owner_is_controller="true"} 1
kube_pod_owner{namespace="shop",pod="web-2",uid="b",owner_kind="ReplicaSet",owner_name="web-1a",owner_is_controller="true"} 1
kube_pod_owner{namespace="shop",pod="web-3",uid="d",owner_kind="ReplicaSet",owner_name="web-1a",owner_is_controller="true"} 1
kube_replicaset_owner{namespace="shop",replicaset="web-1a",owner_kind="Deployment",owner_name="web",owner_is_controller="true"} 1
kube_pod_status_phase{namespace="shop",pod="web-1",uid="a",phase="Running"} 1
kube_pod_status_phase{namespace="shop",pod="web-2",uid="b",phase="Running"} 1
kube_pod_status_phase{namespace="shop",pod="tmp",uid="c",phase="Running"} 1
kube_pod_status_phase{namespace="shop",pod="web-3",uid="d",phase="Pending"} 1
kube_pod_status_phase{namespace="ops",pod="once",uid="e",phase="Succeeded"} 1
kube_pod_container_info{namespace="shop",pod="tmp",uid="c",container="sh"} 1
kube_pod_container_resource_requests{namespace="shop",pod="web-1",uid="a",container="app",node="n1",resource="cpu",unit="core"} 1
kube_pod_container_resource_requests{namespace="shop",pod="web-1",uid="a",container="app",node="n1",resource="memory",unit="byte"} 1073741824
kube_pod_container_resource_limits{namespace="shop",pod="web-1",uid="a",container="app",node="n1",resource="cpu",unit="core"} 2
kube_pod_container_resource_limits{namespace="shop",pod="web-1",uid="a",container="app",node="n1",resource="memory",unit="byte"} 5368709120
kube_pod_container_resource_requests{namespace="shop",pod="web-2",uid="b",container="app",node="n1",resource="cpu",unit="core"} 1
kube_pod_container_resource_requests{namespace="shop",pod="web-2",uid="b",container="app",node="n1",resource="memory",unit="byte"} 1073741824
kube_pod_container_resource_limits{namespace="shop",pod="web-2",uid="b",container="app",node="n1",resource="cpu",unit="core"} 2
kube_pod_container_resource_limits{namespace="shop",pod="web-2",uid="b",container="app",node="n1",resource="memory",unit="byte"} 5368709120
kube_pod_container_resource_requests{namespace="shop",pod="web-3",uid="d",container="app",node="",resource="cpu",unit="core"} 1
kube_pod_container_resource_requests{namespace="shop",pod="web-3",uid="d",container="app",node="",resource="memory",unit="byte"} 1073741824
kube_pod_container_resource_limits{namespace="shop",pod="web-3",uid="d",container="app",node="",resource="cpu",unit="core"} 2
kube_pod_container_resource_requests{namespace="ops",pod="once",uid="e",container="run",node="n2",resource="cpu",unit="core"} 2
kube_pod_container_resource_usage{namespace="shop",pod="web-1",uid="a",container="app",node="n1",resource="cpu",unit="core"} 1.95
kube_pod_container_resource_usage{namespace="shop",pod="web-2",uid="b",container="app",node="n1",resource="cpu",unit="core"} 0.25
kube_pod_container_resource_usage{namespace="shop",pod="web-2",uid="b",container="app",node="n1",resource="memory",unit="byte"} 536870912
"#;

    fn inventory() -> Inventory {
        Inventory::from_samples(&parse_text(BODY, |n| FAMILIES.contains(&n)).unwrap())
    }

    fn web() -> Workload {
        Workload {
            kind: "Deployment".into(),
            name: "web".into(),
        }
    }

    #[test]
    fn nodes_count_active_pods_and_what_still_fits() {
        let r = build(&inventory(), None, &Filter::default(), "test");
        assert_eq!(r.cluster.pods, 4, "the Succeeded pod is not counted");
        assert_eq!(
            r.cluster.requested.cpu,
            Some(3.0),
            "web-3 is Pending without a node and still counts"
        );
        let n1 = r.nodes.iter().find(|n| n.node == "n1").unwrap();
        assert_eq!((n1.pods, n1.requested.cpu, n1.limited.cpu), (3, Some(2.0), Some(4.0)));
        assert_eq!(n1.headroom.cpu, Some(2.0));
        assert_eq!(n1.headroom.memory, Some(8.0 * GI - 2.0 * GI));
        assert_eq!(
            n1.overcommitted,
            ["memory"],
            "10Gi of memory limits on 8Gi; 4 cores on 4 is not over"
        );
        assert_eq!(n1.largest_fit, None, "3 pods on a 3-pod node: no slot left");
        let n2 = r.nodes.iter().find(|n| n.node == "n2").unwrap();
        assert_eq!((n2.pods, n2.requested.cpu), (0, None));
        assert_eq!(n2.closed, ["gpu:NoSchedule"]);
        assert_eq!(n2.largest_fit, None, "a tainted node takes no ordinary pod");
    }

    #[test]
    fn workloads_group_pods_and_containers_carry_flags() {
        let r = build(&inventory(), None, &Filter::default(), "test");
        let web_row = r.workloads.iter().find(|w| w.workload == Some(web())).unwrap();
        assert_eq!((web_row.pods, web_row.requests.cpu), (3, Some(3.0)));
        assert_eq!(web_row.usage.cpu, Some(2.2));
        assert_eq!(web_row.requests_per_usage.cpu, Some(3.0 / 2.2));
        let app = r.containers.iter().find(|c| c.workload == web()).unwrap();
        assert_eq!((app.container.as_str(), app.pods), ("app", 3));
        assert_eq!(app.usage.cpu, Some(1.95), "the busiest pod");
        assert_eq!(app.flags, [Flag::CpuAtLimit], "1.95 of a 2-core limit");
        let tmp = r.containers.iter().find(|c| c.workload.name == "tmp").unwrap();
        assert_eq!(tmp.workload.kind, "Pod");
        assert_eq!(tmp.flags, [Flag::NoRequests, Flag::NoLimits]);
        assert!(r.notes.iter().any(|n| n.contains("--prometheus")));
    }

    #[test]
    fn recommendations_follow_history_with_floors() {
        let mut history = History {
            window: "7d".into(),
            ..History::default()
        };
        let stats = |p95: f64, peak: f64| ContainerHistory {
            cpu_p95: Some(p95),
            cpu_max: Some(p95 * 2.0),
            memory_peak: Some(peak),
            ..ContainerHistory::default()
        };
        history
            .containers
            .insert(("shop".into(), "web-1".into(), "app".into()), stats(0.4, 600.0 * MI));
        history
            .containers
            .insert(("shop".into(), "web-2".into(), "app".into()), stats(0.5, 400.0 * MI));
        history
            .containers
            .insert(("shop".into(), "tmp".into(), "sh".into()), stats(0.001, 2.0 * MI));
        let r = build(&inventory(), Some(&history), &Filter::default(), "test");
        let app = r.containers.iter().find(|c| c.workload == web()).unwrap();
        let rec = app.recommendation.as_ref().unwrap();
        assert_eq!(rec.cpu_request, Some(0.5), "the busier pod's p95");
        assert_eq!(rec.memory_request, Some(600.0 * MI * 1.15));
        assert_eq!(rec.memory_limit, Some(600.0 * MI * 1.3));
        assert_eq!(rec.cpu_limit, None);
        assert_eq!(
            rec.change.cpu,
            Some((0.5 - 1.0) * 3.0),
            "three pods each free half a core"
        );
        assert_eq!(rec.change.memory, Some((600.0 * MI * 1.15 - GI) * 3.0));
        let tmp = r.containers.iter().find(|c| c.workload.name == "tmp").unwrap();
        let rec = tmp.recommendation.as_ref().unwrap();
        assert_eq!(
            (rec.cpu_request, rec.memory_request),
            (Some(CPU_REQUEST_FLOOR), Some(MEMORY_REQUEST_FLOOR))
        );
        assert_eq!(rec.memory_limit, Some(MEMORY_REQUEST_FLOOR), "never below the request");
        let shop = r.namespaces.iter().find(|n| n.namespace == "shop").unwrap();
        assert_eq!(shop.change.unwrap().cpu, Some(-1.5 + 0.01));
        assert_eq!(r.window.as_deref(), Some("7d"));
    }

    #[test]
    fn filters_select_namespaces_labels_and_order() {
        let filter = Filter {
            namespaces: vec!["shop".into()],
            selector: Some(Selector::parse("app=web").unwrap()),
            sort: SortKey::Name,
            top: Some(1),
        };
        let r = build(&inventory(), None, &filter, "test");
        assert_eq!(r.cluster.pods, 0, "no kube_pod_labels: nothing matches app=web");
        assert!(
            r.notes
                .iter()
                .any(|n| n.contains("--metric-labels-allowlist=pods=[app]")),
            "{:?}",
            r.notes
        );

        let by_cpu = build(&inventory(), None, &Filter::default(), "test");
        let order: Vec<&str> = by_cpu.namespaces.iter().map(|n| n.namespace.as_str()).collect();
        assert_eq!(order, ["shop"], "ops has only a finished pod");
        let top = build(
            &inventory(),
            None,
            &Filter {
                sort: SortKey::Name,
                top: Some(1),
                ..Filter::default()
            },
            "test",
        );
        assert_eq!(top.nodes.len(), 1);
        assert_eq!(top.nodes[0].node, "n1");
    }

    #[test]
    fn selectors_parse_like_kubectl() {
        let s = Selector::parse("app=web, tier!=db,canary,!legacy").unwrap();
        let labels = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert!(s.matches(&labels(&[("app", "web"), ("canary", "")])));
        assert!(!s.matches(&labels(&[("app", "web"), ("canary", ""), ("tier", "db")])));
        assert!(!s.matches(&labels(&[("app", "web"), ("canary", ""), ("legacy", "1")])));
        assert!(!s.matches(&labels(&[("app", "web")])));
        assert!(Selector::parse("env in (a,b)").unwrap_err().contains("set-based"));
        assert!(Selector::parse("=x").unwrap_err().contains("empty label key"));
        assert!(Selector::parse(" , ").is_err());
    }
}
