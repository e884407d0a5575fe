//! `metrics.k8s.io` as metrics-server serves it behind the API aggregation layer, and the
//! aggregator's side of it (the APIServices' `Available` condition, the text/plain 503).
//!
//! Nothing is stored: every request derives NodeMetrics and PodMetrics from the sim's current
//! Nodes and Pods (shapes: `shared/reference/metrics-server.md` §1):
//! - a **node** is reported when its `Ready` condition is `True` and it became Ready at least one
//!   resolution before its sample (metrics-server needs two scrapes), and it is not in
//!   `Faults::metrics_omit_nodes`;
//! - a **pod** is reported when its phase is `Running`, every container in `spec.containers` is
//!   running and started at least one resolution before the sample, its node is reported and it
//!   is not in `Faults::metrics_omit_pods`. Its containers are `spec.containers` in spec order,
//!   then running restartable (sidecar) init containers;
//! - **usage** is deterministic: per container, a smooth pseudo-random curve over time buckets
//!   (seeded by pod uid and container name) between [`USAGE_MIN_FRACTION`] and
//!   [`USAGE_MAX_FRACTION`] of the container's request (its limit when it has no request); without
//!   either, between the `*_FLOOR_*` constants. Memory is page-aligned working set. A node's usage
//!   is the sum over every running container on it (reported or not) plus system overhead, so it
//!   is always ≥ the sum of its reported pods;
//! - **time**: bucket = `now / resolution`. A node's sample ends `bucket × resolution` minus a
//!   per-node offset below min(resolution/4, 3 s); a pod's a little earlier still (below
//!   min(resolution/8, 1 s)). `timestamp` is that end at second precision, `window` is the
//!   resolution ± min(resolution/50, 150 ms) as a Go duration. `Faults::metrics_stale` freezes the
//!   bucket (timestamps, values and the set of eligible objects stop moving).
//!
//! Lists are whole (`limit`/`continue` ignored), sorted (nodes by name, pods by namespace/name),
//! with `"metadata":{}`; `labelSelector` and `fieldSelector` (`metadata.name`,
//! `metadata.namespace`) filter them. A watch answers 405 MethodNotAllowed.

use super::cluster::{hash_str, mix};
use super::faults::Injected;
use super::http::{Query, forbidden, method_not_allowed, resource_list, unknown_resource};
use super::json::{format_rfc3339, now_rfc3339};
use super::selector::{FieldSelector, LabelSelector};
use super::status::{Details, Status, json_response, not_found_text, text_response};
use super::store::{Core, OpError, Stored, WriteMode, qualified};
use axum::http::Method;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The API group.
pub const GROUP: &str = "metrics.k8s.io";
/// Lowest share of a container's request it uses.
pub const USAGE_MIN_FRACTION: f64 = 0.2;
/// Highest share of a container's request it uses.
pub const USAGE_MAX_FRACTION: f64 = 0.9;
/// CPU of a container without request or limit, in nanocores: lowest…
pub const CPU_FLOOR_MIN_NANOS: f64 = 1_000_000.0;
/// …and highest.
pub const CPU_FLOOR_MAX_NANOS: f64 = 50_000_000.0;
/// Memory of a container without request or limit, in bytes: lowest…
pub const MEMORY_FLOOR_MIN_BYTES: f64 = 16.0 * 1_048_576.0;
/// …and highest.
pub const MEMORY_FLOOR_MAX_BYTES: f64 = 128.0 * 1_048_576.0;
/// The body of the aggregator's 503 (apis-metrics-503.http), without the newline.
pub const UNAVAILABLE_TEXT: &str = "service unavailable";

const PAGE: u64 = 4096;
/// Buckets between two control points of the CPU / memory curves.
const CPU_PERIOD: u64 = 8;
const MEMORY_PERIOD: u64 = 24;

// ---------------------------------------------------------------------------------------------
// Fault state (lives in `FaultState::metrics`)
// ---------------------------------------------------------------------------------------------

/// Fault switches of the metrics API; set through [`Faults`](super::Faults).
#[derive(Debug, Default, Clone)]
pub struct MetricsFaults {
    pub unavailable: bool,
    pub missing: bool,
    pub delay: Duration,
    /// `metrics_stale`: the wall time (ms) the samples froze at.
    pub frozen_ms: Option<u64>,
    pub omit_nodes: HashSet<String>,
    pub omit_pods: HashSet<(String, String)>,
    pub fail_next: usize,
    pub fail_status: u16,
    /// APIServices deleted by `metrics_missing(true)`, recreated by `metrics_missing(false)`.
    pub removed_apiservices: Vec<Value>,
}

/// Is `group` unregistered right now (`metrics_missing`)? Such a group is absent from `/apis`.
pub fn group_hidden(core: &Core, group: &str) -> bool {
    group == GROUP && faults(core, |f| f.missing)
}

fn faults<T>(core: &Core, f: impl FnOnce(&mut MetricsFaults) -> T) -> T {
    f(&mut core.faults.lock().unwrap_or_else(PoisonError::into_inner).metrics)
}

// ---------------------------------------------------------------------------------------------
// Deterministic noise, quantities, durations
// ---------------------------------------------------------------------------------------------

/// Uniform in [0, 1).
fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// A smooth curve in [0, 1): random control points every `period` buckets, smoothstep between.
fn smooth(seed: u64, bucket: u64, period: u64) -> f64 {
    let k = bucket / period;
    let t = (bucket % period) as f64 / period as f64;
    let a = unit(mix(seed ^ mix(k)));
    let b = unit(mix(seed ^ mix(k + 1)));
    a + (b - a) * t * t * (3.0 - 2.0 * t)
}

/// Mostly smooth, a little per-bucket jitter; in [0, 1).
fn noise(seed: u64, bucket: u64, period: u64, jitter: f64) -> f64 {
    (1.0 - jitter) * smooth(seed, bucket, period) + jitter * unit(mix(seed ^ 0x5a5a ^ mix(bucket)))
}

/// A Kubernetes quantity as a number in base units (cores or bytes); None when it does not parse.
pub fn parse_quantity(s: &str) -> Option<f64> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(s.len());
    let (num, suffix) = s.split_at(split);
    let mut n: f64 = num.parse().ok()?;
    let mult = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        e if e.starts_with(['e', 'E']) => {
            let exp: i32 = e[1..].parse().ok()?;
            n *= 10f64.powi(exp);
            1.0
        }
        _ => return None,
    };
    Some(n * mult)
}

/// CPU in nanocores as metrics-server writes it: canonical DecimalSI (`154214749n`, `154214u`,
/// `154m`, `2`, `0`).
pub fn cpu_quantity(nanos: u64) -> String {
    match nanos {
        0 => "0".into(),
        n if n.is_multiple_of(1_000_000_000) => format!("{}", n / 1_000_000_000),
        n if n.is_multiple_of(1_000_000) => format!("{}m", n / 1_000_000),
        n if n.is_multiple_of(1_000) => format!("{}u", n / 1_000),
        n => format!("{n}n"),
    }
}

/// Memory bytes as canonical BinarySI (`2489292Ki`, `512Mi`, plain bytes when not a multiple of
/// 1024, `0`).
pub fn memory_quantity(bytes: u64) -> String {
    if bytes == 0 {
        return "0".into();
    }
    let mut v = bytes;
    let mut i = 0;
    const SUFFIX: [&str; 7] = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
    while i < 6 && v.is_multiple_of(1024) {
        v /= 1024;
        i += 1;
    }
    format!("{v}{}", SUFFIX[i])
}

/// A millisecond duration as Go's `time.Duration.String()` prints it (`15.012s`, `1m0.5s`,
/// `987ms`, `20s`).
pub fn go_duration(ms: u64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let (h, m, s, frac) = (ms / 3_600_000, (ms / 60_000) % 60, (ms / 1000) % 60, ms % 1000);
    let mut out = String::new();
    if h > 0 {
        let _ = write!(out, "{h}h");
    }
    if h > 0 || m > 0 {
        let _ = write!(out, "{m}m");
    }
    let _ = write!(out, "{s}");
    if frac > 0 {
        let f = format!("{frac:03}");
        let _ = write!(out, ".{}", f.trim_end_matches('0'));
    }
    out.push('s');
    out
}

fn parse_time_ms(s: &str) -> Option<i64> {
    s.parse::<jiff::Timestamp>().ok().map(|t| t.as_millisecond())
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// What the derivation needs from Nodes and Pods (parsed once per stored version, cached)
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(default)]
struct LiteMeta {
    name: String,
    namespace: String,
    uid: String,
    labels: BTreeMap<String, Value>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct LiteCondition {
    #[serde(rename = "type")]
    type_: String,
    status: String,
    last_transition_time: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LiteNodeStatus {
    allocatable: BTreeMap<String, Value>,
    capacity: BTreeMap<String, Value>,
    conditions: Vec<LiteCondition>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LiteNode {
    metadata: LiteMeta,
    status: LiteNodeStatus,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LiteResources {
    requests: BTreeMap<String, Value>,
    limits: BTreeMap<String, Value>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct LiteContainer {
    name: String,
    resources: LiteResources,
    restart_policy: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct LitePodSpec {
    node_name: Option<String>,
    containers: Vec<LiteContainer>,
    init_containers: Vec<LiteContainer>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct LiteRunning {
    started_at: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LiteState {
    running: Option<LiteRunning>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LiteContainerStatus {
    name: String,
    state: LiteState,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct LitePodStatus {
    phase: String,
    container_statuses: Vec<LiteContainerStatus>,
    init_container_statuses: Vec<LiteContainerStatus>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LitePod {
    metadata: LiteMeta,
    spec: LitePodSpec,
    status: LitePodStatus,
}

fn labels_of(m: &BTreeMap<String, Value>) -> BTreeMap<String, String> {
    m.iter()
        .map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_string)))
        .collect()
}

fn quantity_of(m: &BTreeMap<String, Value>, key: &str) -> Option<f64> {
    match m.get(key)? {
        Value::String(s) => parse_quantity(s),
        Value::Number(n) => n.as_f64(),
        _ => None,
    }
}

#[derive(Debug)]
struct NodeInfo {
    name: String,
    labels: BTreeMap<String, String>,
    ready: bool,
    ready_since_ms: Option<i64>,
    cpu_nanos: f64,
    memory_bytes: f64,
    seed: u64,
}

impl NodeInfo {
    fn from_stored(o: &Stored) -> NodeInfo {
        let n: LiteNode = serde_json::from_slice(&o.json).unwrap_or_default();
        let ready = n.status.conditions.iter().find(|c| c.type_ == "Ready");
        let pick = |k: &str| quantity_of(&n.status.allocatable, k).or_else(|| quantity_of(&n.status.capacity, k));
        NodeInfo {
            seed: hash_str(if n.metadata.uid.is_empty() {
                &o.name
            } else {
                &n.metadata.uid
            }),
            name: o.name.clone(),
            labels: labels_of(&n.metadata.labels),
            ready: ready.is_some_and(|c| c.status == "True"),
            ready_since_ms: ready
                .and_then(|c| c.last_transition_time.as_deref())
                .and_then(parse_time_ms),
            cpu_nanos: pick("cpu").unwrap_or(2.0) * 1e9,
            memory_bytes: pick("memory").unwrap_or(4.0 * 1024f64.powi(3)),
        }
    }
}

#[derive(Debug)]
struct ContainerInfo {
    name: String,
    /// Request (else limit) in nanocores / bytes.
    cpu_nanos: Option<f64>,
    memory_bytes: Option<f64>,
    running: bool,
    started_ms: Option<i64>,
    /// Restartable init container (reported only while running).
    sidecar: bool,
    seed: u64,
}

#[derive(Debug)]
struct PodInfo {
    ns: String,
    name: String,
    labels: BTreeMap<String, String>,
    node: Option<String>,
    running: bool,
    /// Every `spec.containers` entry is running.
    all_running: bool,
    containers: Vec<ContainerInfo>,
    seed: u64,
}

impl PodInfo {
    fn from_stored(o: &Stored) -> PodInfo {
        let p: LitePod = serde_json::from_slice(&o.json).unwrap_or_default();
        let uid = if p.metadata.uid.is_empty() {
            format!("{}/{}", o.ns, o.name)
        } else {
            p.metadata.uid.clone()
        };
        let seed = hash_str(&uid);
        let state = |statuses: &[LiteContainerStatus], name: &str| {
            statuses
                .iter()
                .find(|s| s.name == name)
                .and_then(|s| s.state.running.as_ref())
                .map(|r| r.started_at.as_deref().and_then(parse_time_ms))
        };
        let info = |c: &LiteContainer, sidecar: bool, statuses: &[LiteContainerStatus]| {
            let req = |k: &str| {
                quantity_of(&c.resources.requests, k)
                    .or_else(|| quantity_of(&c.resources.limits, k))
                    .filter(|v| *v > 0.0)
            };
            let run = state(statuses, &c.name);
            ContainerInfo {
                name: c.name.clone(),
                cpu_nanos: req("cpu").map(|v| v * 1e9),
                memory_bytes: req("memory"),
                running: run.is_some(),
                started_ms: run.flatten(),
                sidecar,
                seed: seed ^ hash_str(&c.name).rotate_left(23),
            }
        };
        let mut containers: Vec<ContainerInfo> = p
            .spec
            .containers
            .iter()
            .map(|c| info(c, false, &p.status.container_statuses))
            .collect();
        let all_running = !containers.is_empty() && containers.iter().all(|c| c.running);
        containers.extend(
            p.spec
                .init_containers
                .iter()
                .filter(|c| c.restart_policy.as_deref() == Some("Always"))
                .map(|c| info(c, true, &p.status.init_container_statuses)),
        );
        PodInfo {
            ns: o.ns.clone(),
            name: o.name.clone(),
            labels: labels_of(&p.metadata.labels),
            node: p.spec.node_name.filter(|n| !n.is_empty()),
            running: p.status.phase == "Running",
            all_running,
            containers,
            seed,
        }
    }
}

/// Parsed nodes and pods, keyed by the address of the stored version they came from (the cache
/// holds that `Arc`, so an address is never reused while cached).
#[derive(Default)]
pub struct Cache {
    nodes: HashMap<usize, (Arc<Stored>, Arc<NodeInfo>)>,
    pods: HashMap<usize, (Arc<Stored>, Arc<PodInfo>)>,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("nodes", &self.nodes.len())
            .field("pods", &self.pods.len())
            .finish()
    }
}

fn refresh<T>(
    cache: &mut HashMap<usize, (Arc<Stored>, Arc<T>)>,
    items: Vec<Arc<Stored>>,
    parse: impl Fn(&Stored) -> T,
) -> Vec<Arc<T>> {
    let mut next = HashMap::with_capacity(items.len());
    let mut out = Vec::with_capacity(items.len());
    for o in items {
        let key = Arc::as_ptr(&o) as usize;
        let info = match cache.remove(&key) {
            Some((_, info)) => info,
            None => Arc::new(parse(&o)),
        };
        out.push(info.clone());
        next.insert(key, (o, info));
    }
    *cache = next;
    out
}

// ---------------------------------------------------------------------------------------------
// Derivation
// ---------------------------------------------------------------------------------------------

struct NodeSample {
    info: Arc<NodeInfo>,
    end_ms: i64,
    window_ms: u64,
    cpu: u64,
    memory: u64,
}

struct PodSample {
    info: Arc<PodInfo>,
    end_ms: i64,
    window_ms: u64,
    /// (index into `info.containers`, cpu nanocores, memory bytes).
    containers: Vec<(usize, u64, u64)>,
}

struct Derived {
    nodes: Vec<NodeSample>,
    pods: Vec<PodSample>,
}

fn window_ms(res_ms: u64, seed: u64, bucket: u64) -> u64 {
    let amp = (res_ms / 50).min(150);
    (res_ms - amp + mix(seed ^ mix(bucket ^ 0x77)) % (2 * amp + 1)).max(1)
}

fn bounded(lo: f64, hi: f64, x: f64) -> f64 {
    lo + (hi - lo) * x
}

fn container_usage(c: &ContainerInfo, bucket: u64) -> (u64, u64) {
    let (clo, chi) = match c.cpu_nanos {
        Some(r) => (r * USAGE_MIN_FRACTION, r * USAGE_MAX_FRACTION),
        None => (CPU_FLOOR_MIN_NANOS, CPU_FLOOR_MAX_NANOS),
    };
    let cpu = bounded(clo, chi, noise(c.seed, bucket, CPU_PERIOD, 0.15))
        .round()
        .clamp(clo.ceil().max(1.0), chi.floor().max(1.0)) as u64;
    let (mlo, mhi) = match c.memory_bytes {
        Some(r) => (r * USAGE_MIN_FRACTION, r * USAGE_MAX_FRACTION),
        None => (MEMORY_FLOOR_MIN_BYTES, MEMORY_FLOOR_MAX_BYTES),
    };
    let raw = bounded(mlo, mhi, noise(c.seed ^ 0xfeed, bucket, MEMORY_PERIOD, 0.05));
    let mut mem = (raw as u64 / PAGE) * PAGE;
    if (mem as f64) < mlo {
        mem += PAGE;
    }
    (cpu.max(1), mem.max(PAGE))
}

/// Everything metrics-server would hold right now. `want_pods` skips the pod items (node lists
/// still sum pod usage).
fn derive(core: &Core, want_pods: bool) -> Derived {
    let res_ms = (core.config.metrics_resolution.as_millis() as u64).max(1);
    let (frozen, omit_nodes, omit_pods) = faults(core, |f| (f.frozen_ms, f.omit_nodes.clone(), f.omit_pods.clone()));
    let at_ms = frozen.unwrap_or_else(now_ms);
    let bucket = at_ms / res_ms;
    let sample_ms = (bucket * res_ms) as i64;
    let (node_res, pod_res) = (core.reg.by_name("nodes"), core.reg.by_name("pods"));
    let (node_items, pod_items) = {
        let st = core.lock();
        (
            node_res.map(|r| st.scope_items(r, None)).unwrap_or_default(),
            pod_res.map(|r| st.scope_items(r, None)).unwrap_or_default(),
        )
    };
    let (nodes, pods) = {
        let mut cache = core.metrics_cache.lock().unwrap_or_else(PoisonError::into_inner);
        let nodes = refresh(&mut cache.nodes, node_items, NodeInfo::from_stored);
        let pods = refresh(&mut cache.pods, pod_items, PodInfo::from_stored);
        (nodes, pods)
    };

    // Usage of every running container, summed per node.
    let mut per_node: HashMap<&str, (f64, f64)> = HashMap::new();
    let mut pod_usage: Vec<Vec<(usize, u64, u64)>> = Vec::with_capacity(pods.len());
    for p in &pods {
        let mut usage = Vec::new();
        if p.running {
            for (i, c) in p.containers.iter().enumerate().filter(|(_, c)| c.running) {
                let (cpu, mem) = container_usage(c, bucket);
                usage.push((i, cpu, mem));
            }
            if let Some(node) = &p.node {
                let e = per_node.entry(node.as_str()).or_default();
                for (_, cpu, mem) in &usage {
                    e.0 += *cpu as f64;
                    e.1 += *mem as f64;
                }
            }
        }
        pod_usage.push(usage);
    }

    let mut out_nodes = Vec::new();
    let mut reported: HashMap<&str, i64> = HashMap::new();
    for n in &nodes {
        if !n.ready || omit_nodes.contains(&n.name) {
            continue;
        }
        let end_ms = sample_ms - (mix(n.seed) % ((res_ms / 4).min(3000) + 1)) as i64;
        if n.ready_since_ms.is_some_and(|t| t > end_ms - res_ms as i64) {
            continue;
        }
        reported.insert(n.name.as_str(), end_ms);
        let (pcpu, pmem) = per_node.get(n.name.as_str()).copied().unwrap_or_default();
        let cpu = pcpu + 30e6 + n.cpu_nanos * (0.02 + 0.04 * noise(n.seed, bucket, CPU_PERIOD, 0.1));
        let mem = pmem
            + 200.0 * 1_048_576.0
            + n.memory_bytes * (0.06 + 0.04 * noise(n.seed ^ 0xfeed, bucket, MEMORY_PERIOD, 0.05));
        out_nodes.push(NodeSample {
            info: n.clone(),
            end_ms,
            window_ms: window_ms(res_ms, n.seed, bucket),
            cpu: cpu.round() as u64,
            memory: (mem as u64).div_ceil(PAGE) * PAGE,
        });
    }

    let mut out_pods = Vec::new();
    if want_pods {
        for (p, usage) in pods.iter().zip(pod_usage) {
            if !p.running || !p.all_running || omit_pods.contains(&(p.ns.clone(), p.name.clone())) {
                continue;
            }
            let Some(node_end) = p.node.as_deref().and_then(|n| reported.get(n)) else {
                continue;
            };
            let end_ms = node_end - (mix(p.seed) % ((res_ms / 8).min(1000) + 1)) as i64;
            let fresh = |c: &ContainerInfo| c.started_ms.is_some_and(|t| t > end_ms - res_ms as i64);
            if p.containers.iter().any(|c| !c.sidecar && fresh(c)) {
                continue;
            }
            let usage: Vec<(usize, u64, u64)> = usage
                .into_iter()
                .filter(|(i, _, _)| p.containers.get(*i).is_some_and(|c| !fresh(c)))
                .collect();
            out_pods.push(PodSample {
                info: p.clone(),
                end_ms,
                window_ms: window_ms(res_ms, p.seed, bucket),
                containers: usage,
            });
        }
    }
    out_nodes.sort_by(|a, b| a.info.name.cmp(&b.info.name));
    out_pods.sort_by(|a, b| (&a.info.ns, &a.info.name).cmp(&(&b.info.ns, &b.info.name)));
    Derived {
        nodes: out_nodes,
        pods: out_pods,
    }
}

// ---------------------------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------------------------

fn no_labels(l: &&BTreeMap<String, String>) -> bool {
    l.is_empty()
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ItemMeta<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<&'a str>,
    creation_timestamp: &'a str,
    #[serde(skip_serializing_if = "no_labels")]
    labels: &'a BTreeMap<String, String>,
}

#[derive(Serialize)]
struct Usage {
    cpu: String,
    memory: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NodeItem<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_version: Option<&'a str>,
    metadata: ItemMeta<'a>,
    timestamp: String,
    window: String,
    usage: Usage,
}

#[derive(Serialize)]
struct ContainerItem<'a> {
    name: &'a str,
    usage: Usage,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PodItem<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_version: Option<&'a str>,
    metadata: ItemMeta<'a>,
    timestamp: String,
    window: String,
    containers: Vec<ContainerItem<'a>>,
}

fn ts(end_ms: i64) -> String {
    format_rfc3339(end_ms.div_euclid(1000).max(0) as u64)
}

fn node_item<'a>(s: &'a NodeSample, created: &'a str, typed: Option<&'a str>) -> NodeItem<'a> {
    NodeItem {
        kind: typed.map(|_| "NodeMetrics"),
        api_version: typed,
        metadata: ItemMeta {
            name: &s.info.name,
            namespace: None,
            creation_timestamp: created,
            labels: &s.info.labels,
        },
        timestamp: ts(s.end_ms),
        window: go_duration(s.window_ms),
        usage: Usage {
            cpu: cpu_quantity(s.cpu),
            memory: memory_quantity(s.memory),
        },
    }
}

fn pod_item<'a>(s: &'a PodSample, created: &'a str, typed: Option<&'a str>) -> PodItem<'a> {
    PodItem {
        kind: typed.map(|_| "PodMetrics"),
        api_version: typed,
        metadata: ItemMeta {
            name: &s.info.name,
            namespace: Some(&s.info.ns),
            creation_timestamp: created,
            labels: &s.info.labels,
        },
        timestamp: ts(s.end_ms),
        window: go_duration(s.window_ms),
        containers: s
            .containers
            .iter()
            .filter_map(|(i, cpu, mem)| {
                Some(ContainerItem {
                    name: &s.info.containers.get(*i)?.name,
                    usage: Usage {
                        cpu: cpu_quantity(*cpu),
                        memory: memory_quantity(*mem),
                    },
                })
            })
            .collect(),
    }
}

/// The list items of nodes (or pods) at `version` as JSON values (no kind/apiVersion), as a list
/// request without selectors would return them now.
pub fn items_json(core: &Core, _version: &str, pods: bool) -> Vec<Value> {
    let d = derive(core, pods);
    let created = now_rfc3339();
    if pods {
        d.pods
            .iter()
            .filter_map(|s| serde_json::to_value(pod_item(s, &created, None)).ok())
            .collect()
    } else {
        d.nodes
            .iter()
            .filter_map(|s| serde_json::to_value(node_item(s, &created, None)).ok())
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------

enum Target {
    Discovery,
    Nodes(Option<String>),
    Pods { ns: Option<String>, name: Option<String> },
    Unknown,
}

fn parse_target(rest: &[&str]) -> Target {
    match rest {
        [] => Target::Discovery,
        ["nodes"] => Target::Nodes(None),
        ["nodes", name] => Target::Nodes(Some(name.to_string())),
        ["pods"] => Target::Pods { ns: None, name: None },
        ["namespaces", ns, "pods"] => Target::Pods {
            ns: Some(ns.to_string()),
            name: None,
        },
        ["namespaces", ns, "pods", name] => Target::Pods {
            ns: Some(ns.to_string()),
            name: Some(name.to_string()),
        },
        _ => Target::Unknown,
    }
}

/// Is `version` unavailable: the `metrics_unavailable` switch, or its APIService exists with an
/// `Available` condition whose status is not `True` (what the aggregator's proxy checks).
fn unavailable(core: &Core, version: &str) -> bool {
    if faults(core, |f| f.unavailable) {
        return true;
    }
    let Some(res) = core.reg.by_name("apiservices") else {
        return false;
    };
    let Some(obj) = core.get(res, None, &format!("{version}.{GROUP}")) else {
        return false;
    };
    let obj = obj.to_map();
    obj.get("status")
        .and_then(|s| s.get("conditions"))
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|c| c["type"] == "Available"))
        .is_some_and(|c| c["status"] != "True")
}

/// 405 for a watch, as the generic apiserver answers a resource without a watcher.
fn watch_not_supported(plural: &str) -> Response {
    Status::failure(
        405,
        "MethodNotAllowed",
        format!("watch is not supported on resources of kind \"{plural}.{GROUP}\""),
    )
    .with_details(Details {
        group: Some(GROUP.into()),
        kind: Some(plural.into()),
        ..Details::default()
    })
    .into_response()
}

fn not_found(kind: &str, group: Option<&str>, name: String) -> Response {
    let qualified = match group {
        Some(g) => format!("{kind}.{g}"),
        None => kind.to_string(),
    };
    Status::failure(404, "NotFound", format!("{qualified} \"{name}\" not found"))
        .with_details(Details {
            name: Some(name),
            group: group.map(str::to_string),
            kind: Some(kind.into()),
            ..Details::default()
        })
        .into_response()
}

fn selectors(query: &Query) -> Result<(LabelSelector, FieldSelector), Box<Response>> {
    let bad = |m: String| Box::new(Status::failure(400, "BadRequest", m).into_response());
    let labels = match query.get("labelSelector") {
        Some(s) => LabelSelector::parse(s).map_err(bad)?,
        None => LabelSelector::default(),
    };
    let fields = match query.get("fieldSelector") {
        Some(s) => FieldSelector::parse(s).map_err(bad)?,
        None => FieldSelector::default(),
    };
    Ok((labels, fields))
}

/// metrics-server filters on `metadata.name` / `metadata.namespace`; any other field is empty.
fn fields_match(fields: &FieldSelector, name: &str, ns: &str) -> bool {
    fields.reqs.iter().all(|r| {
        let v = match r.field.as_str() {
            "metadata.name" => name,
            "metadata.namespace" => ns,
            _ => "",
        };
        (v == r.value) != r.not
    })
}

fn labels_match(sel: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    if sel.is_empty() {
        return true;
    }
    let pairs: Vec<(String, String)> = labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    sel.matches(&pairs)
}

fn exists(core: &Core, resource: &str, ns: Option<&str>, name: &str) -> bool {
    core.reg
        .by_name(resource)
        .is_some_and(|res| core.get(res, ns, name).is_some())
}

fn body_of<T: Serialize>(v: &T) -> Vec<u8> {
    let mut out = serde_json::to_vec(v).unwrap_or_default();
    out.push(b'\n');
    out
}

fn push_json<T: Serialize>(out: &mut Vec<u8>, v: &T) {
    let _ = serde_json::to_writer(&mut *out, v);
}

/// Everything under `/apis/metrics.k8s.io/{version}/` (the version is served).
pub async fn serve(core: Arc<Core>, version: &str, rest: &[&str], method: &Method, query: &Query) -> Response {
    let target = parse_target(rest);
    let (plural, ns, name) = match &target {
        Target::Nodes(name) => (Some("nodes"), None, name.clone()),
        Target::Pods { ns, name } => (Some("pods"), ns.clone(), name.clone()),
        _ => (None, None, None),
    };
    let is_watch = query.flag("watch").unwrap_or(false);
    let verb = match (is_watch, &name) {
        (true, _) => "watch",
        (false, Some(_)) => "get",
        (false, None) => "list",
    };
    // Faults keyed by resource (all versions share the first registry entry: `nodes.metrics.k8s.io`).
    let key = plural.and_then(|p| core.reg.by_name(&format!("{p}.{GROUP}")));
    if let Some(key) = key {
        let def = core.reg.def(key);
        match core.on_list_or_watch(key) {
            Injected::None => {}
            Injected::Forbidden | Injected::Status(403) => return forbidden(def, verb, ns.as_deref()).into_response(),
            Injected::Status(code) => {
                return Status::for_code(code, &format!("{verb} {}", qualified(def))).into_response();
            }
            Injected::ProxyPage(code) => return super::status::proxy_page(code),
        }
        let fail = faults(&core, |f| {
            (f.fail_next > 0).then(|| {
                f.fail_next -= 1;
                f.fail_status
            })
        });
        match fail {
            None => {}
            Some(403) => return forbidden(def, verb, ns.as_deref()).into_response(),
            Some(code) => return Status::for_code(code, &format!("{verb} {}", qualified(def))).into_response(),
        }
    }
    if faults(&core, |f| f.missing) {
        return not_found_text();
    }
    if unavailable(&core, version) {
        return text_response(503, UNAVAILABLE_TEXT);
    }
    let wait = faults(&core, |f| f.delay) + key.map_or(Duration::ZERO, |k| core.stall_for(k));
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }
    let Some(plural) = plural else {
        return match target {
            Target::Discovery if *method == Method::GET => resource_list(&core, GROUP, version),
            Target::Discovery => method_not_allowed(),
            _ => unknown_resource(),
        };
    };
    if *method != Method::GET {
        return method_not_allowed();
    }
    if is_watch {
        return watch_not_supported(plural);
    }
    let (labels, fields) = match selectors(query) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let req = Answer {
        api_version: format!("{GROUP}/{version}"),
        pods: plural == "pods",
        ns,
        name,
        labels,
        fields,
    };
    // Deriving 100k pods takes a while: off the async workers.
    match tokio::task::spawn_blocking(move || answer(&core, req)).await {
        Ok(resp) => resp,
        Err(e) => Status::failure(500, "InternalError", format!("Internal error occurred: {e}")).into_response(),
    }
}

/// A metrics get/list after the faults let it through.
struct Answer {
    api_version: String,
    pods: bool,
    ns: Option<String>,
    name: Option<String>,
    labels: LabelSelector,
    fields: FieldSelector,
}

fn answer(core: &Core, req: Answer) -> Response {
    let Answer {
        api_version,
        pods,
        ns,
        name,
        labels,
        fields,
    } = req;
    let d = derive(core, pods);
    let created = now_rfc3339();
    match (pods, name) {
        (false, Some(name)) => match d.nodes.iter().find(|s| s.info.name == name) {
            Some(s) => json_response(200, body_of(&node_item(s, &created, Some(&api_version)))),
            None if !exists(core, "nodes", None, &name) => not_found("node", None, name),
            None => not_found("nodemetrics", Some(GROUP), name),
        },
        (true, Some(name)) => {
            let ns = ns.unwrap_or_default();
            match d.pods.iter().find(|s| s.info.ns == ns && s.info.name == name) {
                Some(s) => json_response(200, body_of(&pod_item(s, &created, Some(&api_version)))),
                None if !exists(core, "pods", Some(&ns), &name) => not_found("pods", None, name),
                None => not_found("podmetrics", Some(GROUP), format!("{ns}/{name}")),
            }
        }
        (false, None) => {
            let mut body =
                format!(r#"{{"kind":"NodeMetricsList","apiVersion":"{api_version}","metadata":{{}},"items":["#)
                    .into_bytes();
            let mut first = true;
            for s in d
                .nodes
                .iter()
                .filter(|s| labels_match(&labels, &s.info.labels) && fields_match(&fields, &s.info.name, ""))
            {
                if !first {
                    body.push(b',');
                }
                first = false;
                push_json(&mut body, &node_item(s, &created, None));
            }
            body.extend_from_slice(b"]}\n");
            json_response(200, body)
        }
        (true, None) => {
            let mut body =
                format!(r#"{{"kind":"PodMetricsList","apiVersion":"{api_version}","metadata":{{}},"items":["#)
                    .into_bytes();
            let mut first = true;
            for s in d.pods.iter().filter(|s| {
                ns.as_deref().is_none_or(|ns| s.info.ns == ns)
                    && labels_match(&labels, &s.info.labels)
                    && fields_match(&fields, &s.info.name, &s.info.ns)
            }) {
                if !first {
                    body.push(b',');
                }
                first = false;
                push_json(&mut body, &pod_item(s, &created, None));
            }
            body.extend_from_slice(b"]}\n");
            json_response(200, body)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// APIServices (the aggregator's view)
// ---------------------------------------------------------------------------------------------

/// `Available` message of a metrics APIService whose service has no ready endpoints.
pub fn missing_endpoints_message(service_ns: &str, service_name: &str) -> String {
    format!("endpoints for service/{service_name} in \"{service_ns}\" have no addresses with port name \"https\"")
}

fn apiservices_res(core: &Core) -> Result<usize, OpError> {
    core.reg
        .by_name("apiservices")
        .ok_or_else(|| OpError::BadRequest("apiservices are not served".into()))
}

/// The stored APIServices of the metrics group (with apiVersion/kind stripped).
fn metrics_apiservices(core: &Core) -> Vec<Map<String, Value>> {
    let Ok(res) = apiservices_res(core) else {
        return Vec::new();
    };
    let items = core.lock().scope_items(res, None);
    items
        .iter()
        .map(|o| o.to_map())
        .filter(|m| m.get("spec").and_then(|s| s.get("group")).and_then(Value::as_str) == Some(GROUP))
        .collect()
}

fn name_of(m: &Map<String, Value>) -> String {
    m.get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// The `Available` condition a metrics APIService has while the backend is (not) available.
fn availability_condition(obj: &Map<String, Value>, available: bool) -> (&'static str, &'static str, String) {
    if available {
        return ("True", "Passed", "all checks passed".into());
    }
    let svc = obj.get("spec").and_then(|s| s.get("service"));
    let field = |k: &str| {
        svc.and_then(|s| s.get(k))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    (
        "False",
        "MissingEndpoints",
        missing_endpoints_message(&field("namespace"), &field("name")),
    )
}

/// `status.conditions` of `obj` with `Available` set (others kept; the transition time moves
/// only when the status changes).
fn with_condition(obj: &Map<String, Value>, status: &str, reason: &str, message: &str) -> Value {
    let mut conditions: Vec<Value> = obj
        .get("status")
        .and_then(|s| s.get("conditions"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let old = conditions.iter().position(|c| c["type"] == "Available");
    let since = match old.map(|i| &conditions[i]) {
        Some(c) if c["status"] == status => c["lastTransitionTime"].clone(),
        _ => Value::String(now_rfc3339()),
    };
    let cond = json!({
        "type": "Available", "status": status, "lastTransitionTime": since, "reason": reason, "message": message,
    });
    match old {
        Some(i) => conditions[i] = cond,
        None => conditions.push(cond),
    }
    Value::Array(conditions)
}

/// Sets the `Available` condition of APIService `name`.
pub fn set_apiservice_condition(
    core: &Core,
    name: &str,
    status: &str,
    reason: &str,
    message: &str,
) -> Result<Value, OpError> {
    let res = apiservices_res(core)?;
    let obj = core.get(res, None, name).ok_or_else(|| OpError::NotFound {
        res,
        name: name.to_string(),
    })?;
    let conditions = with_condition(&obj.to_map(), status, reason, message);
    core.patch(
        res,
        None,
        name,
        &json!({"status": {"conditions": conditions}}),
        WriteMode::Full,
    )
}

/// Flips every metrics APIService to Passed / MissingEndpoints.
pub fn apply_availability(core: &Core, available: bool) {
    for obj in metrics_apiservices(core) {
        if obj.get("spec").and_then(|s| s.get("service")).is_none() {
            continue;
        }
        let (status, reason, message) = availability_condition(&obj, available);
        let name = name_of(&obj);
        if let Err(e) = set_apiservice_condition(core, &name, status, reason, &message) {
            tracing::warn!(apiservice = %name, error = ?e, "sim: cannot update the APIService condition");
        }
    }
}

/// Deletes the metrics APIServices; returns them for [`restore_apiservices`].
pub fn remove_apiservices(core: &Core) -> Vec<Value> {
    let Ok(res) = apiservices_res(core) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for obj in metrics_apiservices(core) {
        let name = name_of(&obj);
        match core.delete(res, None, &name) {
            Ok(_) => out.push(Value::Object(obj)),
            Err(e) => tracing::warn!(apiservice = %name, error = ?e, "sim: cannot delete the APIService"),
        }
    }
    out
}

/// Recreates APIServices removed by [`remove_apiservices`] (new uid and creationTimestamp, as a
/// reinstall would), with the `Available` condition for `available`.
pub fn restore_apiservices(core: &Core, removed: Vec<Value>, available: bool) {
    let Ok(res) = apiservices_res(core) else {
        return;
    };
    for obj in removed {
        let Value::Object(mut m) = obj else { continue };
        if let Some(Value::Object(meta)) = m.get_mut("metadata") {
            for k in [
                "uid",
                "resourceVersion",
                "creationTimestamp",
                "generation",
                "managedFields",
            ] {
                meta.remove(k);
            }
        }
        m.remove("status");
        let (status, reason, message) = availability_condition(&m, available);
        let conditions = with_condition(&m, status, reason, &message);
        m.insert("status".into(), json!({"conditions": conditions}));
        let name = name_of(&m);
        if let Err(e) = core.create(res, Value::Object(m), None, false) {
            tracing::warn!(apiservice = %name, error = ?e, "sim: cannot recreate the APIService");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_and_durations() {
        assert_eq!(cpu_quantity(154_214_749), "154214749n");
        assert_eq!(cpu_quantity(154_214_000), "154214u");
        assert_eq!(cpu_quantity(154_000_000), "154m");
        assert_eq!(cpu_quantity(2_000_000_000), "2");
        assert_eq!(cpu_quantity(0), "0");
        assert_eq!(memory_quantity(2_489_292 * 1024), "2489292Ki");
        assert_eq!(memory_quantity(512 * 1_048_576), "512Mi");
        assert_eq!(memory_quantity(123_456_789), "123456789");
        assert_eq!(memory_quantity(0), "0");
        assert_eq!(go_duration(15_012), "15.012s");
        assert_eq!(go_duration(20_000), "20s");
        assert_eq!(go_duration(60_500), "1m0.5s");
        assert_eq!(go_duration(987), "987ms");
        assert_eq!(go_duration(3_600_000), "1h0m0s");
        assert_eq!(parse_quantity("250m"), Some(0.25));
        assert_eq!(parse_quantity("2"), Some(2.0));
        assert_eq!(parse_quantity("1Gi"), Some(1073741824.0));
        assert_eq!(parse_quantity("1e3"), Some(1000.0));
        assert_eq!(parse_quantity("500M"), Some(5e8));
        assert_eq!(parse_quantity("x"), None);
    }

    #[test]
    fn usage_stays_within_bounds_and_moves() {
        let c = ContainerInfo {
            name: "app".into(),
            cpu_nanos: Some(250e6),
            memory_bytes: Some(256.0 * 1_048_576.0),
            running: true,
            started_ms: None,
            sidecar: false,
            seed: 42,
        };
        let mut cpus = HashSet::new();
        for b in 0..500 {
            let (cpu, mem) = container_usage(&c, b);
            assert!((50_000_000..=225_000_000).contains(&cpu), "{cpu}");
            assert!((mem as f64) >= 0.2 * 256.0 * 1_048_576.0 && (mem as f64) <= 0.9 * 256.0 * 1_048_576.0);
            assert_eq!(mem % PAGE, 0);
            cpus.insert(cpu);
        }
        assert!(cpus.len() > 400);
        let floor = ContainerInfo {
            cpu_nanos: None,
            memory_bytes: None,
            ..c
        };
        let (cpu, mem) = container_usage(&floor, 7);
        assert!((CPU_FLOOR_MIN_NANOS..=CPU_FLOOR_MAX_NANOS).contains(&(cpu as f64)));
        assert!((MEMORY_FLOOR_MIN_BYTES..=MEMORY_FLOOR_MAX_BYTES).contains(&(mem as f64)));
    }
}
