//! Checks of the production manifests in `examples/kubernetes/`.
//!
//! Every YAML document of every file is decoded into its typed struct by apiVersion and kind
//! (k8s-openapi's, or the small Prometheus Operator structs below); an unknown kind fails. The
//! k8s-openapi structs ignore fields they do not know, so each document is also serialized back
//! from its typed form and compared with what the file says: a misspelled or misplaced field is
//! dropped by the decode and shows up as a difference. Then the documents are checked against
//! each other: selectors, Service and monitor ports, service accounts, bindings, probes, the
//! StatefulSet's headless Service, the container arguments (parsed by the binary's own [`Cli`]),
//! the NetworkPolicy, the security context, memory requests and limits, the termination grace
//! period, what auto-sharding needs from RBAC, and the disruption budgets.
//!
//! Each check returns its problems; `every_check_can_fail` breaks the manifests once per check
//! and asserts that the check notices.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use clap::Parser;
use clap::error::{ContextKind, ContextValue, ErrorKind};
use k8s_openapi::Resource;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Container, PodTemplateSpec, Probe, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::{NetworkPolicy, NetworkPolicyPort};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::cli::{Cli, Command, RunArgs};

/// The directory checked.
const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/kubernetes");

/// Flags the manifests may pass before src/cli.rs accepts them (while they are being added):
/// an unknown flag from this list is reported on stderr, not failed; any other unknown flag
/// fails. Empty since every flag the manifests use (`--pod`, `--pod-namespace`,
/// `--server-write-timeout`, `--max-concurrent-scrapes`, `--shutdown-grace-period`, …) landed.
const PENDING_FLAGS: &[&str] = &[];

/// The exporter's health endpoints, per probe.
const STARTUP_PATH: &str = "/healthz";
const LIVENESS_PATH: &str = "/livez";
const READINESS_PATH: &str = "/readyz";

// ---------------------------------------------------------------------------------------------
// Prometheus Operator resources: only the fields these manifests use, anything else rejected.

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ServiceMonitor {
    api_version: String,
    kind: String,
    metadata: ObjectMeta,
    spec: ServiceMonitorSpec,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ServiceMonitorSpec {
    selector: LabelSelector,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    namespace_selector: Option<NamespaceSelector>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    job_label: Option<String>,
    endpoints: Vec<ScrapeEndpoint>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PodMonitor {
    api_version: String,
    kind: String,
    metadata: ObjectMeta,
    spec: PodMonitorSpec,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PodMonitorSpec {
    selector: LabelSelector,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    namespace_selector: Option<NamespaceSelector>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    job_label: Option<String>,
    pod_metrics_endpoints: Vec<ScrapeEndpoint>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NamespaceSelector {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    any: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    match_names: Option<Vec<String>>,
}

/// A ServiceMonitor `endpoints` or PodMonitor `podMetricsEndpoints` entry.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ScrapeEndpoint {
    port: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scheme: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    honor_labels: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    interval: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scrape_timeout: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    relabelings: Option<Vec<RelabelConfig>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    metric_relabelings: Option<Vec<RelabelConfig>>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RelabelConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    action: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source_labels: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    separator: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    regex: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    target_label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    replacement: Option<String>,
}

const MONITORING_API_VERSION: &str = "monitoring.coreos.com/v1";

// ---------------------------------------------------------------------------------------------
// Reading and strict decoding.

/// One YAML document as read from a file.
#[derive(Debug, Clone)]
struct Doc {
    file: String,
    raw: Value,
}

/// Every document of every `.yaml`/`.yml` file of `dir`, files in name order.
fn read_docs(dir: &Path) -> Vec<Doc> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    let mut docs = Vec::new();
    for path in files {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
        let parsed = crate::render::parse_documents(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(!parsed.is_empty(), "{file}: no documents");
        docs.extend(parsed.into_iter().map(|raw| Doc {
            file: file.clone(),
            raw,
        }));
    }
    docs
}

/// A decoded document.
#[derive(Debug, Clone)]
enum Object {
    Deployment(Box<Deployment>),
    StatefulSet(Box<StatefulSet>),
    Service(Box<Service>),
    ServiceAccount(Box<ServiceAccount>),
    ClusterRole(Box<ClusterRole>),
    ClusterRoleBinding(Box<ClusterRoleBinding>),
    Role(Box<Role>),
    RoleBinding(Box<RoleBinding>),
    NetworkPolicy(Box<NetworkPolicy>),
    PodDisruptionBudget(Box<PodDisruptionBudget>),
    ServiceMonitor(Box<ServiceMonitor>),
    PodMonitor(Box<PodMonitor>),
}

impl Object {
    fn metadata(&self) -> &ObjectMeta {
        match self {
            Object::Deployment(o) => &o.metadata,
            Object::StatefulSet(o) => &o.metadata,
            Object::Service(o) => &o.metadata,
            Object::ServiceAccount(o) => &o.metadata,
            Object::ClusterRole(o) => &o.metadata,
            Object::ClusterRoleBinding(o) => &o.metadata,
            Object::Role(o) => &o.metadata,
            Object::RoleBinding(o) => &o.metadata,
            Object::NetworkPolicy(o) => &o.metadata,
            Object::PodDisruptionBudget(o) => &o.metadata,
            Object::ServiceMonitor(o) => &o.metadata,
            Object::PodMonitor(o) => &o.metadata,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Object::Deployment(_) => Deployment::KIND,
            Object::StatefulSet(_) => StatefulSet::KIND,
            Object::Service(_) => Service::KIND,
            Object::ServiceAccount(_) => ServiceAccount::KIND,
            Object::ClusterRole(_) => ClusterRole::KIND,
            Object::ClusterRoleBinding(_) => ClusterRoleBinding::KIND,
            Object::Role(_) => Role::KIND,
            Object::RoleBinding(_) => RoleBinding::KIND,
            Object::NetworkPolicy(_) => NetworkPolicy::KIND,
            Object::PodDisruptionBudget(_) => PodDisruptionBudget::KIND,
            Object::ServiceMonitor(_) => "ServiceMonitor",
            Object::PodMonitor(_) => "PodMonitor",
        }
    }

    fn namespaced(&self) -> bool {
        !matches!(self, Object::ClusterRole(_) | Object::ClusterRoleBinding(_))
    }
}

/// A decoded document and where it came from.
#[derive(Debug, Clone)]
struct Item {
    file: String,
    object: Object,
}

impl Item {
    fn name(&self) -> &str {
        self.object.metadata().name.as_deref().unwrap_or("")
    }

    fn namespace(&self) -> &str {
        self.object.metadata().namespace.as_deref().unwrap_or("")
    }

    /// `file: Kind namespace/name`, for messages.
    fn describe(&self) -> String {
        if self.object.namespaced() {
            format!(
                "{}: {} {}/{}",
                self.file,
                self.object.kind(),
                self.namespace(),
                self.name()
            )
        } else {
            format!("{}: {} {}", self.file, self.object.kind(), self.name())
        }
    }
}

/// Every decoded document.
struct Manifests {
    items: Vec<Item>,
}

/// Decodes every document; problems are the documents that did not decode strictly.
fn decode(docs: &[Doc]) -> (Manifests, Vec<String>) {
    let mut items = Vec::new();
    let mut problems = Vec::new();
    for doc in docs {
        match decode_one(&doc.raw) {
            Ok(object) => items.push(Item {
                file: doc.file.clone(),
                object,
            }),
            Err(e) => {
                let name = doc.raw["metadata"]["name"].as_str().unwrap_or("<no name>");
                problems.push(format!("{}: {name}: {e}", doc.file));
            }
        }
    }
    (Manifests { items }, problems)
}

fn decode_one(raw: &Value) -> Result<Object, String> {
    let api_version = raw["apiVersion"].as_str().unwrap_or("");
    let kind = raw["kind"].as_str().unwrap_or("");
    macro_rules! k8s {
        ($($t:ident),* $(,)?) => {
            $(
                if api_version == <$t as Resource>::API_VERSION && kind == <$t as Resource>::KIND {
                    return strict::<$t>(raw).map(|o| Object::$t(Box::new(o)));
                }
            )*
        };
    }
    k8s!(
        Deployment,
        StatefulSet,
        Service,
        ServiceAccount,
        ClusterRole,
        ClusterRoleBinding,
        Role,
        RoleBinding,
        NetworkPolicy,
        PodDisruptionBudget,
    );
    match (api_version, kind) {
        (MONITORING_API_VERSION, "ServiceMonitor") => strict(raw).map(|o| Object::ServiceMonitor(Box::new(o))),
        (MONITORING_API_VERSION, "PodMonitor") => strict(raw).map(|o| Object::PodMonitor(Box::new(o))),
        _ => Err(format!("unknown kind {kind:?} of apiVersion {api_version:?}")),
    }
}

/// Decodes `raw` into `T`, then requires that `T` serialized back says exactly what `raw` says
/// (nulls aside): a field `T` does not know is dropped by the decode and caught here.
fn strict<T: DeserializeOwned + Serialize>(raw: &Value) -> Result<T, String> {
    let typed: T = serde_json::from_value(raw.clone()).map_err(|e| e.to_string())?;
    let back = serde_json::to_value(&typed).map_err(|e| e.to_string())?;
    let mut differences = Vec::new();
    diff(&without_nulls(raw), &without_nulls(&back), "", &mut differences);
    if differences.is_empty() {
        Ok(typed)
    } else {
        Err(differences.join("; "))
    }
}

fn without_nulls(v: &Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

fn diff(written: &Value, typed: &Value, path: &str, out: &mut Vec<String>) {
    match (written, typed) {
        (Value::Object(w), Value::Object(t)) => {
            for (key, value) in w {
                let at = format!("{path}.{key}");
                match t.get(key) {
                    Some(read) => diff(value, read, &at, out),
                    None => out.push(format!("{at}: unknown field (the typed decode drops it)")),
                }
            }
            for key in t.keys().filter(|k| !w.contains_key(*k)) {
                out.push(format!("{path}.{key}: missing (the typed decode fills it in)"));
            }
        }
        (Value::Array(w), Value::Array(t)) if w.len() == t.len() => {
            for (i, (a, b)) in w.iter().zip(t).enumerate() {
                diff(a, b, &format!("{path}[{i}]"), out);
            }
        }
        (w, t) if w == t => {}
        (w, t) => out.push(format!("{path}: written {w}, read as {t}")),
    }
}

// ---------------------------------------------------------------------------------------------
// Views the checks share.

/// A Deployment or StatefulSet.
struct Workload<'a> {
    item: &'a Item,
    selector: &'a LabelSelector,
    template: &'a PodTemplateSpec,
    replicas: i32,
}

impl Workload<'_> {
    fn labels(&self) -> BTreeMap<String, String> {
        self.template
            .metadata
            .as_ref()
            .and_then(|m| m.labels.clone())
            .unwrap_or_default()
    }

    fn containers(&self) -> &[Container] {
        self.template.spec.as_ref().map_or(&[], |s| &s.containers)
    }

    fn describe(&self) -> String {
        self.item.describe()
    }

    /// A name its pods may have, for `$(POD_NAME)`.
    fn sample_pod_name(&self) -> String {
        format!("{}-0", self.item.name())
    }
}

impl Manifests {
    fn workloads(&self) -> Vec<Workload<'_>> {
        self.items
            .iter()
            .filter_map(|item| match &item.object {
                Object::Deployment(d) => Some(Workload {
                    item,
                    selector: &d.spec.selector,
                    template: &d.spec.template,
                    replicas: d.spec.replicas.unwrap_or(1),
                }),
                Object::StatefulSet(s) => Some(Workload {
                    item,
                    selector: &s.spec.selector,
                    template: &s.spec.template,
                    replicas: s.spec.replicas.unwrap_or(1),
                }),
                _ => None,
            })
            .collect()
    }

    fn services(&self) -> impl Iterator<Item = (&Item, &Service)> {
        self.items.iter().filter_map(|i| match &i.object {
            Object::Service(s) => Some((i, &**s)),
            _ => None,
        })
    }

    fn find(&self, kind: &str, namespace: Option<&str>, name: &str) -> Option<&Item> {
        self.items
            .iter()
            .find(|i| i.object.kind() == kind && i.name() == name && namespace.is_none_or(|ns| i.namespace() == ns))
    }
}

/// Whether `selector` selects objects labelled `labels`. An empty selector selects everything.
fn selects(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    let by_label = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let by_expression = selector.match_expressions.iter().flatten().all(|e| {
        let values = e.values.as_deref().unwrap_or_default();
        let value = labels.get(&e.key);
        match e.operator.as_str() {
            "In" => value.is_some_and(|v| values.contains(v)),
            "NotIn" => value.is_none_or(|v| !values.contains(v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            _ => false,
        }
    });
    by_label && by_expression
}

fn selector_is_empty(selector: &LabelSelector) -> bool {
    selector.match_labels.as_ref().is_none_or(BTreeMap::is_empty)
        && selector.match_expressions.as_ref().is_none_or(Vec::is_empty)
}

/// Whether a container port is named (or numbered) `port`.
fn container_has_port(container: &Container, port: &IntOrString) -> bool {
    container.ports.iter().flatten().any(|p| match port {
        IntOrString::String(name) => p.name.as_deref() == Some(name.as_str()),
        IntOrString::Int(number) => p.container_port == *number,
    })
}

fn show_port(port: &IntOrString) -> String {
    match port {
        IntOrString::String(s) => s.clone(),
        IntOrString::Int(i) => i.to_string(),
    }
}

/// A memory or CPU quantity as a number (bytes, cores).
fn quantity(q: &Quantity) -> Option<f64> {
    let s = q.0.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (number, suffix) = s.split_at(split);
    let factor = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        "Ti" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    number.parse::<f64>().ok().map(|n| n * factor)
}

// ---------------------------------------------------------------------------------------------
// Checks. Each returns its problems, one line each.

type Check = fn(&Manifests) -> Vec<String>;

/// Namespaced objects name their namespace (so `kubectl apply` does not put them wherever the
/// context points, away from the bindings' subjects); cluster-scoped ones do not; no object is
/// defined twice.
fn check_namespaces_and_names(m: &Manifests) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen = BTreeMap::new();
    for item in &m.items {
        let meta = item.object.metadata();
        if meta.name.as_deref().is_none_or(str::is_empty) {
            problems.push(format!("{}: no metadata.name", item.describe()));
        }
        match (item.object.namespaced(), meta.namespace.as_deref()) {
            (true, None | Some("")) => {
                problems.push(format!("{}: namespaced but no metadata.namespace", item.describe()))
            }
            (false, Some(_)) => problems.push(format!("{}: cluster-scoped but has a namespace", item.describe())),
            _ => {}
        }
        let key = (
            item.object.kind(),
            item.namespace().to_string(),
            item.name().to_string(),
        );
        if let Some(first) = seen.insert(key, item.file.clone()) {
            problems.push(format!("{}: also defined in {first}", item.describe()));
        }
    }
    problems
}

/// Every workload's selector is set and selects its own pod template.
fn check_workload_selectors(m: &Manifests) -> Vec<String> {
    let mut problems = Vec::new();
    for w in m.workloads() {
        if selector_is_empty(w.selector) {
            problems.push(format!("{}: empty selector", w.describe()));
        } else if !selects(w.selector, &w.labels()) {
            problems.push(format!(
                "{}: selector {:?} does not select the pod template's labels {:?}",
                w.describe(),
                w.selector.match_labels,
                w.labels()
            ));
        }
    }
    problems
}

/// Every Service selects the pods of a workload in its namespace, and its target ports are
/// ports those pods' containers have.
fn check_services(m: &Manifests) -> Vec<String> {
    let mut problems = Vec::new();
    let workloads = m.workloads();
    for (item, service) in m.services() {
        let spec = service.spec.as_ref();
        let selector = spec.and_then(|s| s.selector.clone()).unwrap_or_default();
        if selector.is_empty() {
            problems.push(format!("{}: no selector", item.describe()));
            continue;
        }
        let selected: Vec<_> = workloads
            .iter()
            .filter(|w| w.item.namespace() == item.namespace())
            .filter(|w| {
                let labels = w.labels();
                selector.iter().all(|(k, v)| labels.get(k) == Some(v))
            })
            .collect();
        if selected.is_empty() {
            problems.push(format!(
                "{}: selector {selector:?} selects no workload's pods",
                item.describe()
            ));
            continue;
        }
        let ports = spec.and_then(|s| s.ports.as_deref()).unwrap_or_default();
        if ports.is_empty() {
            problems.push(format!("{}: no ports", item.describe()));
        }
        for port in ports {
            let target = port.target_port.clone().unwrap_or(IntOrString::Int(port.port));
            for w in &selected {
                if !w.containers().iter().any(|c| container_has_port(c, &target)) {
                    problems.push(format!(
                        "{}: targetPort {} is no container port of {}",
                        item.describe(),
                        show_port(&target),
                        w.describe()
                    ));
                }
            }
        }
    }
    problems
}

/// The namespaces a monitor looks in.
fn monitor_namespaces<'a>(own: &'a str, selector: Option<&'a NamespaceSelector>) -> Option<Vec<&'a str>> {
    match selector {
        Some(NamespaceSelector { any: Some(true), .. }) => None,
        Some(NamespaceSelector {
            match_names: Some(names),
            ..
        }) => Some(names.iter().map(String::as_str).collect()),
        _ => Some(vec![own]),
    }
}

/// The scrape endpoint for object metrics keeps the objects' labels (`honorLabels: true`) and
/// the KSM job name, which kubernetes-mixin rules select on.
fn check_object_endpoint(describe: &str, endpoints: &[ScrapeEndpoint], problems: &mut Vec<String>) {
    match endpoints.iter().find(|e| e.port == "http-metrics") {
        None => problems.push(format!("{describe}: no endpoint scrapes port http-metrics")),
        Some(e) => {
            if e.honor_labels != Some(true) {
                problems.push(format!("{describe}: http-metrics endpoint without honorLabels: true"));
            }
            let job = e
                .relabelings
                .iter()
                .flatten()
                .find(|r| r.target_label.as_deref() == Some("job"));
            if job.and_then(|r| r.replacement.as_deref()) != Some("kube-state-metrics") {
                problems.push(format!(
                    "{describe}: http-metrics endpoint does not set job=\"kube-state-metrics\" (kubernetes-mixin)"
                ));
            }
        }
    }
    const ACTIONS: &[&str] = &[
        "replace",
        "keep",
        "drop",
        "keepequal",
        "dropequal",
        "hashmod",
        "labelmap",
        "labeldrop",
        "labelkeep",
        "lowercase",
        "uppercase",
    ];
    for e in endpoints {
        for r in e.relabelings.iter().chain(&e.metric_relabelings).flatten() {
            let action = r.action.as_deref().unwrap_or("replace").to_ascii_lowercase();
            if !ACTIONS.contains(&action.as_str()) {
                problems.push(format!(
                    "{describe}: endpoint {}: unknown relabel action {action:?}",
                    e.port
                ));
            }
        }
    }
}

/// ServiceMonitors select Services and name their ports; PodMonitors select workload pods and
/// name container ports.
fn check_monitors(m: &Manifests) -> Vec<String> {
    let mut problems = Vec::new();
    let workloads = m.workloads();
    for item in &m.items {
        match &item.object {
            Object::ServiceMonitor(sm) => {
                let namespaces = monitor_namespaces(item.namespace(), sm.spec.namespace_selector.as_ref());
                let selected: Vec<_> = m
                    .services()
                    .filter(|(i, _)| namespaces.as_ref().is_none_or(|ns| ns.contains(&i.namespace())))
                    .filter(|(i, _)| {
                        selects(
                            &sm.spec.selector,
                            i.object.metadata().labels.as_ref().unwrap_or(&BTreeMap::new()),
                        )
                    })
                    .collect();
                if selector_is_empty(&sm.spec.selector) || selected.is_empty() {
                    problems.push(format!("{}: selector selects no Service", item.describe()));
                }
                for (service_item, service) in &selected {
                    let ports = service
                        .spec
                        .as_ref()
                        .and_then(|s| s.ports.as_deref())
                        .unwrap_or_default();
                    for e in &sm.spec.endpoints {
                        if !ports.iter().any(|p| p.name.as_deref() == Some(e.port.as_str())) {
                            problems.push(format!(
                                "{}: endpoint port {:?} is no port name of {}",
                                item.describe(),
                                e.port,
                                service_item.describe()
                            ));
                        }
                    }
                }
                check_object_endpoint(&item.describe(), &sm.spec.endpoints, &mut problems);
            }
            Object::PodMonitor(pm) => {
                let namespaces = monitor_namespaces(item.namespace(), pm.spec.namespace_selector.as_ref());
                let selected: Vec<_> = workloads
                    .iter()
                    .filter(|w| namespaces.as_ref().is_none_or(|ns| ns.contains(&w.item.namespace())))
                    .filter(|w| selects(&pm.spec.selector, &w.labels()))
                    .collect();
                if selector_is_empty(&pm.spec.selector) || selected.is_empty() {
                    problems.push(format!("{}: selector selects no workload's pods", item.describe()));
                }
                for w in &selected {
                    for e in &pm.spec.pod_metrics_endpoints {
                        let port = IntOrString::String(e.port.clone());
                        if !w.containers().iter().any(|c| container_has_port(c, &port)) {
                            problems.push(format!(
                                "{}: endpoint port {:?} is no container port name of {}",
                                item.describe(),
                                e.port,
                                w.describe()
                            ));
                        }
                    }
                }
                check_object_endpoint(&item.describe(), &pm.spec.pod_metrics_endpoints, &mut problems);
            }
            _ => {}
        }
    }
    problems
}

/// Every workload runs as a ServiceAccount defined here, in its namespace.
fn check_service_accounts(m: &Manifests) -> Vec<String> {
    let mut problems = Vec::new();
    for w in m.workloads() {
        let spec = w.template.spec.as_ref();
        match spec.and_then(|s| s.service_account_name.as_deref()) {
            None | Some("") => problems.push(format!("{}: no serviceAccountName", w.describe())),
            Some(sa) => {
                if m.find(ServiceAccount::KIND, Some(w.item.namespace()), sa).is_none() {
                    problems.push(format!(
                        "{}: serviceAccountName {sa:?} is no ServiceAccount of namespace {}",
                        w.describe(),
                        w.item.namespace()
                    ));
                }
            }
        }
        if spec.and_then(|s| s.automount_service_account_token) == Some(false) {
            problems.push(format!(
                "{}: automountServiceAccountToken: false, but the exporter needs its token",
                w.describe()
            ));
        }
    }
    problems
}

/// Every binding's role and subjects exist.
fn check_bindings(m: &Manifests) -> Vec<String> {
    let mut problems = Vec::new();
    for item in &m.items {
        let (role_ref, subjects, namespace) = match &item.object {
            Object::RoleBinding(b) => (&b.role_ref, &b.subjects, Some(item.namespace())),
            Object::ClusterRoleBinding(b) => (&b.role_ref, &b.subjects, None),
            _ => continue,
        };
        if role_ref.api_group.as_deref() != Some("rbac.authorization.k8s.io") {
            problems.push(format!(
                "{}: roleRef.apiGroup {:?}",
                item.describe(),
                role_ref.api_group
            ));
        }
        let role = match (role_ref.kind.as_str(), namespace) {
            ("ClusterRole", _) => m.find(ClusterRole::KIND, None, &role_ref.name),
            ("Role", Some(ns)) => m.find(Role::KIND, Some(ns), &role_ref.name),
            _ => None,
        };
        if role.is_none() {
            problems.push(format!(
                "{}: roleRef {} {:?} is not defined here",
                item.describe(),
                role_ref.kind,
                role_ref.name
            ));
        }
        let subjects = subjects.as_deref().unwrap_or_default();
        if subjects.is_empty() {
            problems.push(format!("{}: no subjects", item.describe()));
        }
        for s in subjects {
            let subject_ns = s.namespace.as_deref().or(namespace);
            let found = s.kind == "ServiceAccount"
                && subject_ns.is_some_and(|ns| m.find(ServiceAccount::KIND, Some(ns), &s.name).is_some());
            if !found {
                problems.push(format!(
                    "{}: subject {} {}/{} is no ServiceAccount defined here",
                    item.describe(),
                    s.kind,
                    subject_ns.unwrap_or("<no namespace>"),
                    s.name
                ));
            }
        }
    }
    problems
}

fn check_probe(
    w: &Workload<'_>,
    c: &Container,
    which: &str,
    probe: Option<&Probe>,
    path: &str,
    problems: &mut Vec<String>,
) {
    let what = format!("{}: container {}: {which}", w.describe(), c.name);
    let Some(probe) = probe else {
        problems.push(format!("{what}: missing"));
        return;
    };
    let Some(get) = &probe.http_get else {
        problems.push(format!("{what}: not an httpGet probe"));
        return;
    };
    let actual = get.path.as_deref().unwrap_or("/");
    if ![STARTUP_PATH, LIVENESS_PATH, READINESS_PATH].contains(&actual) {
        problems.push(format!(
            "{what}: path {actual:?} is none of the exporter's health endpoints"
        ));
    } else if actual != path {
        problems.push(format!("{what}: path {actual:?}, expected {path:?}"));
    }
    if !container_has_port(c, &get.port) {
        problems.push(format!("{what}: port {} is no container port", show_port(&get.port)));
    }
}

/// Startup, liveness and readiness probes on the exporter's endpoints and on container ports.
fn check_probes(m: &Manifests) -> Vec<String> {
    let mut problems = Vec::new();
    for w in m.workloads() {
        for c in w.containers() {
            check_probe(
                &w,
                c,
                "startupProbe",
                c.startup_probe.as_ref(),
                STARTUP_PATH,
                &mut problems,
            );
            check_probe(
                &w,
                c,
                "livenessProbe",
                c.liveness_probe.as_ref(),
                LIVENESS_PATH,
                &mut problems,
            );
            check_probe(
                &w,
                c,
                "readinessProbe",
                c.readiness_probe.as_ref(),
                READINESS_PATH,
                &mut problems,
            );
        }
    }
    problems
}

/// A StatefulSet's serviceName is a headless Service here that selects its pods, and its pods
/// start in parallel.
fn check_statefulsets(m: &Manifests) -> Vec<String> {
    let mut problems = Vec::new();
    for item in &m.items {
        let Object::StatefulSet(sts) = &item.object else {
            continue;
        };
        let spec = &sts.spec;
        if spec.pod_management_policy.as_deref() != Some("Parallel") {
            problems.push(format!("{}: podManagementPolicy is not Parallel", item.describe()));
        }
        let name = spec.service_name.as_deref().unwrap_or("");
        let Some(service) = m.find(Service::KIND, Some(item.namespace()), name) else {
            problems.push(format!(
                "{}: serviceName {name:?} is no Service defined here",
                item.describe()
            ));
            continue;
        };
        let Object::Service(service) = &service.object else {
            unreachable!()
        };
        let service_spec = service.spec.clone().unwrap_or_default();
        if service_spec.cluster_ip.as_deref() != Some("None") {
            problems.push(format!(
                "{}: Service {name:?} is not headless (clusterIP: None)",
                item.describe()
            ));
        }
        let labels = spec
            .template
            .metadata
            .as_ref()
            .and_then(|m| m.labels.clone())
            .unwrap_or_default();
        let selector = service_spec.selector.unwrap_or_default();
        if selector.is_empty() || !selector.iter().all(|(k, v)| labels.get(k) == Some(v)) {
            problems.push(format!(
                "{}: Service {name:?} does not select its pods",
                item.describe()
            ));
        }
    }
    problems
}

/// Kubernetes' `$(VAR)` expansion of container arguments (`$$` escapes), with the values the
/// container's env would give; a reference to a variable the env lacks is a problem (Kubernetes
/// would pass it on literally).
fn expand(arg: &str, env: &BTreeMap<String, String>, undefined: &mut Vec<String>) -> String {
    let mut out = String::new();
    let mut rest = arg;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('(')
            && let Some(end) = inner.find(')')
        {
            let name = &inner[..end];
            match env.get(name) {
                Some(v) => out.push_str(v),
                None => {
                    undefined.push(name.to_string());
                    out.push_str(&rest[at..at + 3 + end]);
                }
            }
            rest = &inner[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// Sample values for a container's env: literal values as written, the downward API's pod name
/// and namespace as this workload's pods would see them.
fn sample_env(w: &Workload<'_>, c: &Container) -> BTreeMap<String, String> {
    c.env
        .iter()
        .flatten()
        .map(|e| {
            let field = e
                .value_from
                .as_ref()
                .and_then(|v| v.field_ref.as_ref())
                .map(|f| f.field_path.as_str());
            let value = match (&e.value, field) {
                (Some(v), _) => v.clone(),
                (None, Some("metadata.name")) => w.sample_pod_name(),
                (None, Some("metadata.namespace")) => w.item.namespace().to_string(),
                _ => "sample".to_string(),
            };
            (e.name.clone(), value)
        })
        .collect()
}

/// The flag part of `--flag=value` or `--flag`.
fn flag_name(arg: &str) -> &str {
    arg.split_once('=').map_or(arg, |(flag, _)| flag)
}

/// What parsing a container's arguments found.
#[derive(Default)]
struct ArgsReport {
    problems: Vec<String>,
    pending: BTreeSet<String>,
}

/// Parses a container's arguments as the binary would. Unknown flags are taken out one by one
/// so the rest is still checked; those of [`PENDING_FLAGS`] are reported apart.
fn parse_args(what: &str, args: &[String]) -> ArgsReport {
    let mut report = ArgsReport::default();
    let mut args: Vec<String> = args.to_vec();
    for _ in 0..=args.len() {
        let argv = std::iter::once("kube-state-exporter".to_string()).chain(args.iter().cloned());
        match Cli::try_parse_from(argv) {
            Ok(cli) => {
                let Some(run) = run_of(cli) else {
                    report
                        .problems
                        .push(format!("{what}: runs a subcommand other than `run`"));
                    return report;
                };
                // What start-up validates, short of reading files: a web config file named
                // here does not exist where the tests run.
                let mut listen = run.listen.clone();
                listen.tls_config_file = None;
                let checked = run
                    .families
                    .validate()
                    .and_then(|options| run.validate_usage(&options.resources))
                    .and_then(|_| run.validate_namespaces())
                    .and_then(|_| run.validate_sharding())
                    .and_then(|_| listen.server_options());
                if let Err(e) = checked {
                    report
                        .problems
                        .push(format!("{what}: the exporter would refuse to start: {e}"));
                }
                return report;
            }
            Err(e) if e.kind() == ErrorKind::UnknownArgument => {
                let Some(ContextValue::String(invalid)) = e.get(ContextKind::InvalidArg) else {
                    report.problems.push(format!("{what}: {e}"));
                    return report;
                };
                let flag = flag_name(invalid).to_string();
                let before = args.len();
                args.retain(|a| flag_name(a) != flag);
                if args.len() == before {
                    report.problems.push(format!("{what}: {e}"));
                    return report;
                }
                if PENDING_FLAGS.contains(&flag.as_str()) {
                    report.pending.insert(flag);
                } else {
                    report.problems.push(format!("{what}: unknown flag {flag}"));
                }
            }
            Err(e) => {
                report.problems.push(format!("{what}: {}", e.to_string().trim()));
                return report;
            }
        }
    }
    report
}

/// What the binary gets after its name: `command` past the program (when the manifest
/// overrides the image's entrypoint), then `args`, `$(VAR)` expanded; names of undefined
/// variables go to `undefined`.
fn argv(w: &Workload<'_>, c: &Container, undefined: &mut Vec<String>) -> Vec<String> {
    let env = sample_env(w, c);
    c.command
        .iter()
        .flatten()
        .skip(1)
        .chain(c.args.iter().flatten())
        .map(|a| expand(a, &env, undefined))
        .collect()
}

/// The exporter's flags: those of `run`, with or without the subcommand; `None` for another
/// subcommand.
fn run_of(cli: Cli) -> Option<RunArgs> {
    match cli.command {
        None => Some(cli.run),
        Some(Command::Run(run)) => Some(run),
        Some(_) => None,
    }
}

/// The `run` flags `argv` parses into, if it does.
fn run_args(argv: &[String]) -> Option<RunArgs> {
    let argv = std::iter::once("kube-state-exporter").chain(argv.iter().map(String::as_str));
    run_of(Cli::try_parse_from(argv).ok()?)
}

/// Every container's arguments, with what they are and the undefined variables they name.
fn container_args(m: &Manifests) -> Vec<(String, Vec<String>, Vec<String>)> {
    let mut out = Vec::new();
    for w in m.workloads() {
        for c in w.containers() {
            let mut undefined = Vec::new();
            let args = argv(&w, c, &mut undefined);
            out.push((format!("{}: container {}", w.describe(), c.name), args, undefined));
        }
    }
    out
}

fn args_report(m: &Manifests) -> ArgsReport {
    let mut total = ArgsReport::default();
    for (what, args, undefined) in container_args(m) {
        for name in undefined {
            total
                .problems
                .push(format!("{what}: $({name}) is no env var of the container"));
        }
        let report = parse_args(&what, &args);
        total.problems.extend(report.problems);
        total.pending.extend(report.pending);
    }
    total
}

/// The containers' arguments are flags the binary accepts (pending ones aside), with values it
/// accepts; `$(VAR)` references name env vars; auto-sharding gets the pod's own name and
/// namespace and is not mixed with static sharding.
fn check_args(m: &Manifests) -> Vec<String> {
    let mut problems = args_report(m).problems;
    for w in m.workloads() {
        for c in w.containers() {
            let args = c.args.as_deref().unwrap_or_default();
            // `--flag=value` or `--flag value`, as written (before `$(VAR)` expansion).
            let value_of = |flag: &str| {
                args.iter().enumerate().find_map(|(i, a)| match a.strip_prefix(flag)? {
                    "" => args.get(i + 1).map(String::as_str),
                    rest => rest.strip_prefix('='),
                })
            };
            let what = format!("{}: container {}", w.describe(), c.name);
            for (flag, field) in [("--pod", "metadata.name"), ("--pod-namespace", "metadata.namespace")] {
                let Some(value) = value_of(flag) else { continue };
                let from_field = c.env.iter().flatten().any(|e| {
                    value == format!("$({})", e.name)
                        && e.value_from
                            .as_ref()
                            .and_then(|v| v.field_ref.as_ref())
                            .is_some_and(|f| f.field_path == field)
                });
                if !from_field {
                    problems.push(format!("{what}: {flag}={value} is not the downward API's {field}"));
                }
            }
            let auto = value_of("--pod").is_some() || value_of("--pod-namespace").is_some();
            if auto && !matches!(&w.item.object, Object::StatefulSet(_)) {
                problems.push(format!("{what}: auto-sharding (--pod) outside a StatefulSet"));
            }
            if auto && (value_of("--pod").is_none() || value_of("--pod-namespace").is_none()) {
                problems.push(format!("{what}: auto-sharding needs both --pod and --pod-namespace"));
            }
            if auto && (value_of("--shard").is_some() || value_of("--total-shards").is_some()) {
                problems.push(format!("{what}: --shard/--total-shards mixed with auto-sharding"));
            }
        }
    }
    problems
}

fn port_allowed(rule_ports: Option<&[NetworkPolicyPort]>, name: Option<&str>, number: i32, protocol: &str) -> bool {
    let Some(ports) = rule_ports.filter(|p| !p.is_empty()) else {
        return true;
    };
    ports.iter().any(|p| {
        p.protocol.as_deref().unwrap_or("TCP") == protocol
            && match &p.port {
                None => true,
                Some(IntOrString::Int(n)) => match p.end_port {
                    Some(end) => (*n..=end).contains(&number),
                    None => *n == number,
                },
                Some(IntOrString::String(s)) => name == Some(s.as_str()),
            }
    })
}

/// Every workload's pods are under a NetworkPolicy that admits every container port, from
/// selected sources only, and lets them reach the API server and DNS.
fn check_network_policies(m: &Manifests) -> Vec<String> {
    let mut problems = Vec::new();
    let policies: Vec<_> = m
        .items
        .iter()
        .filter_map(|i| match &i.object {
            Object::NetworkPolicy(p) => Some((i, p.spec.clone().unwrap_or_default())),
            _ => None,
        })
        .collect();
    for (item, spec) in &policies {
        for (i, rule) in spec.ingress.iter().flatten().enumerate() {
            if rule.from.as_ref().is_none_or(Vec::is_empty) {
                problems.push(format!("{}: ingress rule {i} admits every source", item.describe()));
            }
        }
    }
    for w in m.workloads() {
        let labels = w.labels();
        let applying: Vec<_> = policies
            .iter()
            .filter(|(i, spec)| {
                i.namespace() == w.item.namespace() && spec.pod_selector.as_ref().is_none_or(|s| selects(s, &labels))
            })
            .collect();
        let types = |spec: &k8s_openapi::api::networking::v1::NetworkPolicySpec, t: &str| match &spec.policy_types {
            Some(types) => types.iter().any(|x| x == t),
            None => t == "Ingress" || (t == "Egress" && spec.egress.is_some()),
        };
        if !applying.iter().any(|(_, s)| types(s, "Ingress")) {
            problems.push(format!(
                "{}: no NetworkPolicy restricts ingress to its pods",
                w.describe()
            ));
            continue;
        }
        for c in w.containers() {
            for p in c.ports.iter().flatten() {
                let protocol = p.protocol.as_deref().unwrap_or("TCP");
                let admitted = applying.iter().filter(|(_, s)| types(s, "Ingress")).any(|(_, s)| {
                    s.ingress
                        .iter()
                        .flatten()
                        .any(|r| port_allowed(r.ports.as_deref(), p.name.as_deref(), p.container_port, protocol))
                });
                if !admitted {
                    problems.push(format!(
                        "{}: container port {} ({}) is admitted by no NetworkPolicy",
                        w.describe(),
                        p.name.as_deref().unwrap_or(""),
                        p.container_port
                    ));
                }
            }
        }
        let restricts_egress = applying.iter().any(|(_, s)| types(s, "Egress"));
        for (protocol, port, what) in [
            ("TCP", 443, "the API server"),
            ("TCP", 6443, "the API server"),
            ("UDP", 53, "DNS"),
            ("TCP", 53, "DNS"),
        ] {
            let allowed = applying.iter().filter(|(_, s)| types(s, "Egress")).any(|(_, s)| {
                s.egress
                    .iter()
                    .flatten()
                    .any(|r| port_allowed(r.ports.as_deref(), None, port, protocol))
            });
            if restricts_egress && !allowed {
                problems.push(format!(
                    "{}: egress to {what} ({protocol} {port}) is not allowed",
                    w.describe()
                ));
            }
        }
    }
    problems
}

/// Non-root, read-only root filesystem, no capabilities, no privilege escalation, seccomp.
fn check_security(m: &Manifests) -> Vec<String> {
    let mut problems = Vec::new();
    for w in m.workloads() {
        let pod = w
            .template
            .spec
            .as_ref()
            .and_then(|s| s.security_context.clone())
            .unwrap_or_default();
        for c in w.containers() {
            let what = format!("{}: container {}", w.describe(), c.name);
            let sc = c.security_context.clone().unwrap_or_default();
            if sc.run_as_non_root.or(pod.run_as_non_root) != Some(true) {
                problems.push(format!("{what}: runAsNonRoot is not true"));
            }
            if sc.run_as_user.or(pod.run_as_user) == Some(0) {
                problems.push(format!("{what}: runs as uid 0"));
            }
            if sc.read_only_root_filesystem != Some(true) {
                problems.push(format!("{what}: readOnlyRootFilesystem is not true"));
            }
            if sc.allow_privilege_escalation != Some(false) {
                problems.push(format!("{what}: allowPrivilegeEscalation is not false"));
            }
            if sc.privileged == Some(true) {
                problems.push(format!("{what}: privileged"));
            }
            let caps = sc.capabilities.clone().unwrap_or_default();
            if !caps.drop.iter().flatten().any(|d| d == "ALL") {
                problems.push(format!("{what}: capabilities do not drop ALL"));
            }
            if caps.add.as_ref().is_some_and(|a| !a.is_empty()) {
                problems.push(format!("{what}: adds capabilities {:?}", caps.add));
            }
            let seccomp = sc.seccomp_profile.as_ref().or(pod.seccomp_profile.as_ref());
            if seccomp.map(|s| s.type_.as_str()) != Some("RuntimeDefault") {
                problems.push(format!("{what}: seccompProfile is not RuntimeDefault"));
            }
        }
    }
    problems
}

/// Memory requests and limits on every container, request ≤ limit; a CPU request and no CPU
/// limit (throttling stretches the initial sync and lets events queue).
fn check_resources(m: &Manifests) -> Vec<String> {
    let mut problems = Vec::new();
    for w in m.workloads() {
        for c in w.containers() {
            let what = format!("{}: container {}", w.describe(), c.name);
            let resources = c.resources.clone().unwrap_or_default();
            let get =
                |map: &Option<BTreeMap<String, Quantity>>, key: &str| map.as_ref().and_then(|m| m.get(key)).cloned();
            let request = get(&resources.requests, "memory");
            let limit = get(&resources.limits, "memory");
            for (which, q) in [("request", &request), ("limit", &limit)] {
                match q {
                    None => problems.push(format!("{what}: no memory {which}")),
                    Some(q) if quantity(q).is_none() => {
                        problems.push(format!("{what}: memory {which} {:?} unreadable", q.0))
                    }
                    Some(_) => {}
                }
            }
            if let (Some(r), Some(l)) = (request.as_ref().and_then(quantity), limit.as_ref().and_then(quantity))
                && r > l
            {
                problems.push(format!("{what}: memory request above the limit"));
            }
            if get(&resources.requests, "cpu").and_then(|q| quantity(&q)).is_none() {
                problems.push(format!("{what}: no CPU request"));
            }
            if get(&resources.limits, "cpu").is_some() {
                problems.push(format!("{what}: CPU limit (throttles the initial sync)"));
            }
        }
    }
    problems
}

/// terminationGracePeriodSeconds is set and longer than the exporter's --shutdown-grace-period,
/// so the kubelet's SIGKILL never cuts a draining scrape short.
fn check_termination_grace(m: &Manifests) -> Vec<String> {
    let mut problems = Vec::new();
    let default = crate::cli::ListenArgs::default().shutdown_grace_period;
    for w in m.workloads() {
        let mut grace: f64 = 0.0;
        for c in w.containers() {
            // Unparsable arguments are check_args' to report; the default applies here.
            let raw = run_args(&argv(&w, c, &mut Vec::new()))
                .map_or_else(|| default.clone(), |run| run.listen.shutdown_grace_period);
            match crate::usage::parse::parse_go_duration(&raw) {
                Some(s) => grace = grace.max(s),
                None => problems.push(format!("{}: --shutdown-grace-period={raw} unreadable", w.describe())),
            }
        }
        match w
            .template
            .spec
            .as_ref()
            .and_then(|s| s.termination_grace_period_seconds)
        {
            None => problems.push(format!("{}: terminationGracePeriodSeconds not set", w.describe())),
            Some(t) if (t as f64) <= grace => problems.push(format!(
                "{}: terminationGracePeriodSeconds {t} is not above the shutdown grace period {grace}s",
                w.describe()
            )),
            Some(_) => {}
        }
    }
    problems
}

/// Whether `rule` grants `verb` on `group/resource` named `name`.
fn grants(rule: &PolicyRule, group: &str, resource: &str, verb: &str, name: &str) -> bool {
    let has = |list: &Option<Vec<String>>, want: &str| list.iter().flatten().any(|x| x == want || x == "*");
    has(&rule.api_groups, group)
        && has(&rule.resources, resource)
        && rule.verbs.iter().any(|v| v == verb || v == "*")
        && rule
            .resource_names
            .as_ref()
            .is_none_or(|n| n.is_empty() || n.iter().any(|x| x == name))
}

/// The rules bound to a ServiceAccount that apply in `namespace`.
fn rules_for<'a>(m: &'a Manifests, namespace: &str, account: &str) -> Vec<&'a PolicyRule> {
    let mut rules = Vec::new();
    let cluster_role_rules = |name: &str| match m.find(ClusterRole::KIND, None, name).map(|i| &i.object) {
        Some(Object::ClusterRole(r)) => r.rules.iter().flatten().collect::<Vec<_>>(),
        _ => Vec::new(),
    };
    let binds = |subjects: &Option<Vec<k8s_openapi::api::rbac::v1::Subject>>, binding_ns: Option<&str>| {
        subjects.iter().flatten().any(|s| {
            s.kind == "ServiceAccount" && s.name == account && s.namespace.as_deref().or(binding_ns) == Some(namespace)
        })
    };
    for item in &m.items {
        match &item.object {
            Object::ClusterRoleBinding(b) if binds(&b.subjects, None) && b.role_ref.kind == "ClusterRole" => {
                rules.extend(cluster_role_rules(&b.role_ref.name));
            }
            Object::RoleBinding(b) if item.namespace() == namespace && binds(&b.subjects, Some(namespace)) => {
                match b.role_ref.kind.as_str() {
                    "ClusterRole" => rules.extend(cluster_role_rules(&b.role_ref.name)),
                    _ => {
                        if let Some(Object::Role(r)) =
                            m.find(Role::KIND, Some(namespace), &b.role_ref.name).map(|i| &i.object)
                        {
                            rules.extend(r.rules.iter().flatten());
                        }
                    }
                }
            }
            _ => {}
        }
    }
    rules
}

/// A workload that auto-shards (--pod) may get each of its pods and get/list/watch its
/// StatefulSet, in its own namespace.
fn check_sharding_rbac(m: &Manifests) -> Vec<String> {
    let mut problems = Vec::new();
    for w in m.workloads() {
        let auto = w
            .containers()
            .iter()
            .any(|c| c.args.iter().flatten().any(|a| flag_name(a) == "--pod"));
        if !auto {
            continue;
        }
        let account = w
            .template
            .spec
            .as_ref()
            .and_then(|s| s.service_account_name.as_deref())
            .unwrap_or("default");
        let rules = rules_for(m, w.item.namespace(), account);
        let mut needed = Vec::new();
        for ordinal in 0..w.replicas.max(1) {
            needed.push(("", "pods", "get", format!("{}-{ordinal}", w.item.name())));
        }
        for verb in ["get", "list", "watch"] {
            needed.push(("apps", "statefulsets", verb, w.item.name().to_string()));
        }
        for (group, resource, verb, name) in needed {
            if !rules.iter().any(|r| grants(r, group, resource, verb, &name)) {
                problems.push(format!(
                    "{}: ServiceAccount {account:?} may not {verb} {resource} {name:?} (group {group:?}) in {}",
                    w.describe(),
                    w.item.namespace()
                ));
            }
        }
    }
    problems
}

/// Every PodDisruptionBudget covers a workload's pods, and none can block a drain for good.
fn check_pdbs(m: &Manifests) -> Vec<String> {
    let mut problems = Vec::new();
    let workloads = m.workloads();
    for item in &m.items {
        let Object::PodDisruptionBudget(pdb) = &item.object else {
            continue;
        };
        let spec = pdb.spec.clone().unwrap_or_default();
        let Some(selector) = spec.selector.as_ref().filter(|s| !selector_is_empty(s)) else {
            problems.push(format!("{}: no selector", item.describe()));
            continue;
        };
        let covered: Vec<_> = workloads
            .iter()
            .filter(|w| w.item.namespace() == item.namespace() && selects(selector, &w.labels()))
            .collect();
        if covered.is_empty() {
            problems.push(format!("{}: selects no workload's pods", item.describe()));
        }
        for w in covered {
            let blocks = match (&spec.min_available, &spec.max_unavailable) {
                (Some(IntOrString::Int(min)), _) => *min >= w.replicas,
                (Some(IntOrString::String(pct)), _) => pct == "100%",
                (None, Some(IntOrString::Int(max))) => *max == 0,
                (None, Some(IntOrString::String(pct))) => pct == "0%",
                (None, None) => true,
            };
            if blocks {
                problems.push(format!(
                    "{}: lets no pod of {} ({} replicas) be evicted, so drains would hang",
                    item.describe(),
                    w.describe(),
                    w.replicas
                ));
            }
        }
    }
    problems
}

/// The README gives a `kubectl apply -f` line for every manifest.
fn check_readme(m: &Manifests) -> Vec<String> {
    let readme = std::fs::read_to_string(Path::new(DIR).join("README.md")).unwrap_or_default();
    let applied: BTreeSet<&str> = readme
        .lines()
        .filter(|l| l.trim_start().starts_with("kubectl apply"))
        .flat_map(|l| l.split_whitespace())
        .collect();
    let files: BTreeSet<&str> = m.items.iter().map(|i| i.file.as_str()).collect();
    files
        .into_iter()
        .filter(|f| !applied.contains(f))
        .map(|f| format!("README.md: no `kubectl apply -f {f}` line"))
        .collect()
}

const CHECKS: &[(&str, Check)] = &[
    ("namespaces and names", check_namespaces_and_names),
    ("workload selectors", check_workload_selectors),
    ("services", check_services),
    ("monitors", check_monitors),
    ("service accounts", check_service_accounts),
    ("bindings", check_bindings),
    ("probes", check_probes),
    ("statefulsets", check_statefulsets),
    ("args", check_args),
    ("network policies", check_network_policies),
    ("security", check_security),
    ("resources", check_resources),
    ("termination grace", check_termination_grace),
    ("sharding rbac", check_sharding_rbac),
    ("pdbs", check_pdbs),
    ("readme", check_readme),
];

// ---------------------------------------------------------------------------------------------
// Tests.

fn examples() -> Manifests {
    let (m, problems) = decode(&read_docs(Path::new(DIR)));
    assert!(
        problems.is_empty(),
        "documents that do not decode strictly:\n{}",
        problems.join("\n")
    );
    m
}

fn assert_check(name: &str) {
    let (_, check) = CHECKS.iter().find(|(n, _)| *n == name).unwrap();
    let problems = check(&examples());
    assert!(problems.is_empty(), "{name}:\n{}", problems.join("\n"));
}

#[test]
fn every_document_decodes_strictly_into_its_type() {
    let m = examples();
    let kinds: BTreeSet<&str> = m.items.iter().map(|i| i.object.kind()).collect();
    for kind in [
        "Deployment",
        "StatefulSet",
        "Service",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "ServiceMonitor",
        "PodMonitor",
    ] {
        assert!(kinds.contains(kind), "no {kind} in examples/kubernetes");
    }
}

#[test]
fn namespaces_and_names() {
    assert_check("namespaces and names");
}

#[test]
fn workload_selectors_select_their_pods() {
    assert_check("workload selectors");
}

#[test]
fn services_select_workloads_and_target_container_ports() {
    assert_check("services");
}

#[test]
fn monitors_select_services_and_pods_by_existing_ports() {
    assert_check("monitors");
}

#[test]
fn service_accounts_are_defined() {
    assert_check("service accounts");
}

#[test]
fn bindings_refer_to_defined_roles_and_subjects() {
    assert_check("bindings");
}

#[test]
fn probes_use_the_health_endpoints_on_container_ports() {
    assert_check("probes");
}

#[test]
fn statefulset_service_is_headless() {
    assert_check("statefulsets");
}

#[test]
fn args_are_flags_the_binary_accepts() {
    assert_check("args");
    let report = args_report(&examples());
    if !report.pending.is_empty() {
        eprintln!(
            "flags in examples/kubernetes that src/cli.rs does not accept yet: {}",
            report.pending.iter().cloned().collect::<Vec<_>>().join(" ")
        );
    }
}

#[test]
fn network_policy_admits_container_ports_and_api_egress() {
    assert_check("network policies");
}

#[test]
fn containers_are_locked_down() {
    assert_check("security");
}

#[test]
fn containers_have_memory_requests_and_limits() {
    assert_check("resources");
}

#[test]
fn termination_grace_exceeds_shutdown_grace() {
    assert_check("termination grace");
}

#[test]
fn auto_sharding_may_read_its_pod_and_statefulset() {
    assert_check("sharding rbac");
}

#[test]
fn disruption_budgets_cover_workloads_without_blocking_drains() {
    assert_check("pdbs");
}

#[test]
fn readme_applies_every_file() {
    assert_check("readme");
}

/// The document of `kind` named `name`.
fn doc<'a>(docs: &'a mut [Doc], kind: &str, name: &str) -> &'a mut Value {
    &mut docs
        .iter_mut()
        .find(|d| d.raw["kind"] == kind && d.raw["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
        .raw
}

fn at<'a>(v: &'a mut Value, pointer: &str) -> &'a mut Value {
    v.pointer_mut(pointer).unwrap_or_else(|| panic!("no {pointer}"))
}

fn rename_key(v: &mut Value, pointer: &str, from: &str, to: &str) {
    let map = at(v, pointer).as_object_mut().unwrap();
    let value = map.remove(from).unwrap_or_else(|| panic!("no {pointer}/{from}"));
    map.insert(to.into(), value);
}

const DEPLOYMENT: &str = "kube-state-exporter";
const SHARDS: &str = "kube-state-exporter-shard";
const CONTAINER: &str = "/spec/template/spec/containers/0";

#[test]
fn every_check_can_fail() {
    type Break = fn(&mut Vec<Doc>);
    // (what is broken, how, which check must notice, a word of its message)
    let cases: &[(&str, Break, &str, &str)] = &[
        (
            "misspelled probe field",
            |d| {
                rename_key(
                    doc(d, "Deployment", DEPLOYMENT),
                    CONTAINER,
                    "readinessProbe",
                    "readynessProbe",
                )
            },
            "decode",
            "unknown field",
        ),
        (
            "misspelled ServiceMonitor field",
            |d| {
                rename_key(
                    doc(d, "ServiceMonitor", DEPLOYMENT),
                    "/spec/endpoints/0",
                    "honorLabels",
                    "honorLabel",
                )
            },
            "decode",
            "honorLabel",
        ),
        (
            "string where a bool belongs",
            |d| {
                *at(
                    doc(d, "Deployment", DEPLOYMENT),
                    &format!("{CONTAINER}/securityContext/runAsNonRoot"),
                ) = "yes".into()
            },
            "decode",
            "expected a boolean",
        ),
        (
            "required field missing",
            |d| {
                at(doc(d, "RoleBinding", "kube-state-exporter-sharding"), "/subjects/0")
                    .as_object_mut()
                    .unwrap()
                    .remove("kind");
            },
            "decode",
            "missing",
        ),
        (
            "unknown kind",
            |d| *at(doc(d, "PodDisruptionBudget", DEPLOYMENT), "/kind") = "PodDisruptionBugdet".into(),
            "decode",
            "unknown kind",
        ),
        (
            "no namespace",
            |d| {
                at(doc(d, "ServiceAccount", DEPLOYMENT), "/metadata")
                    .as_object_mut()
                    .unwrap()
                    .remove("namespace");
            },
            "namespaces and names",
            "no metadata.namespace",
        ),
        (
            "pod label the selector does not match",
            |d| {
                *at(
                    doc(d, "Deployment", DEPLOYMENT),
                    "/spec/template/metadata/labels/app.kubernetes.io~1instance",
                ) = "other".into()
            },
            "workload selectors",
            "does not select",
        ),
        (
            "Service targetPort with no container port",
            |d| *at(doc(d, "Service", DEPLOYMENT), "/spec/ports/1/targetPort") = "telemetri".into(),
            "services",
            "targetPort telemetri",
        ),
        (
            "Service selecting nothing",
            |d| *at(doc(d, "Service", DEPLOYMENT), "/spec/selector/app.kubernetes.io~1name") = "ksm".into(),
            "services",
            "selects no workload",
        ),
        (
            "ServiceMonitor port the Service lacks",
            |d| *at(doc(d, "ServiceMonitor", DEPLOYMENT), "/spec/endpoints/1/port") = "metrics".into(),
            "monitors",
            "\"metrics\"",
        ),
        (
            "PodMonitor selecting nothing",
            |d| {
                *at(
                    doc(d, "PodMonitor", SHARDS),
                    "/spec/selector/matchLabels/app.kubernetes.io~1instance",
                ) = "x".into()
            },
            "monitors",
            "selects no workload",
        ),
        (
            "object metrics without honorLabels",
            |d| *at(doc(d, "PodMonitor", SHARDS), "/spec/podMetricsEndpoints/0/honorLabels") = false.into(),
            "monitors",
            "honorLabels",
        ),
        (
            "undefined ServiceAccount",
            |d| *at(doc(d, "StatefulSet", SHARDS), "/spec/template/spec/serviceAccountName") = "kse".into(),
            "service accounts",
            "\"kse\"",
        ),
        (
            "RoleBinding to an undefined Role",
            |d| *at(doc(d, "RoleBinding", "kube-state-exporter-sharding"), "/roleRef/name") = "sharding".into(),
            "bindings",
            "\"sharding\"",
        ),
        (
            "ClusterRoleBinding subject in another namespace",
            |d| *at(doc(d, "ClusterRoleBinding", DEPLOYMENT), "/subjects/0/namespace") = "default".into(),
            "bindings",
            "default/kube-state-exporter",
        ),
        (
            "readiness probe on a path the exporter does not serve",
            |d| {
                *at(
                    doc(d, "Deployment", DEPLOYMENT),
                    &format!("{CONTAINER}/readinessProbe/httpGet/path"),
                ) = "/ready".into()
            },
            "probes",
            "\"/ready\"",
        ),
        (
            "liveness probe on an unknown port",
            |d| {
                *at(
                    doc(d, "StatefulSet", SHARDS),
                    &format!("{CONTAINER}/livenessProbe/httpGet/port"),
                ) = "http".into()
            },
            "probes",
            "port http",
        ),
        (
            "StatefulSet Service not headless",
            |d| {
                at(doc(d, "Service", SHARDS), "/spec")
                    .as_object_mut()
                    .unwrap()
                    .remove("clusterIP");
            },
            "statefulsets",
            "not headless",
        ),
        (
            "misspelled flag",
            |d| {
                at(doc(d, "Deployment", DEPLOYMENT), &format!("{CONTAINER}/args"))
                    .as_array_mut()
                    .unwrap()
                    .push("--telemetry-prot=8081".into())
            },
            "args",
            "unknown flag --telemetry-prot",
        ),
        (
            "flag value the exporter refuses",
            |d| {
                at(doc(d, "Deployment", DEPLOYMENT), &format!("{CONTAINER}/args"))
                    .as_array_mut()
                    .unwrap()
                    .push("--resources=pods,pod".into())
            },
            "args",
            "would refuse to start",
        ),
        (
            "server flag the exporter refuses",
            |d| {
                at(doc(d, "StatefulSet", SHARDS), &format!("{CONTAINER}/args"))
                    .as_array_mut()
                    .unwrap()
                    .push("--max-concurrent-scrapes=0".into())
            },
            "args",
            "--max-concurrent-scrapes",
        ),
        (
            "$(VAR) with no env var",
            |d| *at(doc(d, "StatefulSet", SHARDS), &format!("{CONTAINER}/env/0/name")) = "MY_POD".into(),
            "args",
            "$(POD_NAME)",
        ),
        (
            "--pod from the wrong field",
            |d| {
                *at(
                    doc(d, "StatefulSet", SHARDS),
                    &format!("{CONTAINER}/env/0/valueFrom/fieldRef/fieldPath"),
                ) = "spec.nodeName".into()
            },
            "args",
            "downward API's metadata.name",
        ),
        (
            "NetworkPolicy without the telemetry port",
            |d| {
                at(doc(d, "NetworkPolicy", DEPLOYMENT), "/spec/ingress/0/ports")
                    .as_array_mut()
                    .unwrap()
                    .pop();
            },
            "network policies",
            "telemetry",
        ),
        (
            "NetworkPolicy without DNS",
            |d| {
                at(doc(d, "NetworkPolicy", DEPLOYMENT), "/spec/egress")
                    .as_array_mut()
                    .unwrap()
                    .pop();
            },
            "network policies",
            "DNS",
        ),
        (
            "writable root filesystem",
            |d| {
                *at(
                    doc(d, "Deployment", DEPLOYMENT),
                    &format!("{CONTAINER}/securityContext/readOnlyRootFilesystem"),
                ) = false.into()
            },
            "security",
            "readOnlyRootFilesystem",
        ),
        (
            "capabilities kept",
            |d| {
                *at(
                    doc(d, "StatefulSet", SHARDS),
                    &format!("{CONTAINER}/securityContext/capabilities/drop"),
                ) = serde_json::json!(["NET_RAW"])
            },
            "security",
            "drop ALL",
        ),
        (
            "may run as root",
            |d| {
                *at(
                    doc(d, "StatefulSet", SHARDS),
                    &format!("{CONTAINER}/securityContext/runAsNonRoot"),
                ) = false.into();
            },
            "security",
            "runAsNonRoot",
        ),
        (
            "no memory limit",
            |d| {
                at(
                    doc(d, "Deployment", DEPLOYMENT),
                    &format!("{CONTAINER}/resources/limits"),
                )
                .as_object_mut()
                .unwrap()
                .remove("memory");
            },
            "resources",
            "no memory limit",
        ),
        (
            "memory request above the limit",
            |d| {
                *at(
                    doc(d, "StatefulSet", SHARDS),
                    &format!("{CONTAINER}/resources/requests/memory"),
                ) = "1Gi".into()
            },
            "resources",
            "above the limit",
        ),
        (
            "termination grace shorter than the shutdown grace",
            |d| {
                *at(
                    doc(d, "Deployment", DEPLOYMENT),
                    "/spec/template/spec/terminationGracePeriodSeconds",
                ) = 5.into()
            },
            "termination grace",
            "not above",
        ),
        (
            "shutdown grace raised past the termination grace",
            |d| {
                let args = at(doc(d, "StatefulSet", SHARDS), &format!("{CONTAINER}/args"))
                    .as_array_mut()
                    .unwrap();
                args.retain(|a| !a.as_str().unwrap().starts_with("--shutdown-grace-period"));
                args.push("--shutdown-grace-period".into());
                args.push("45s".into());
            },
            "termination grace",
            "shutdown grace period 45s",
        ),
        (
            "sharding Role without get on the StatefulSet",
            |d| {
                *at(doc(d, "Role", "kube-state-exporter-sharding"), "/rules/1/verbs") =
                    serde_json::json!(["list", "watch"])
            },
            "sharding rbac",
            "may not get statefulsets",
        ),
        (
            "sharding Role naming another StatefulSet",
            |d| {
                *at(doc(d, "Role", "kube-state-exporter-sharding"), "/rules/1/resourceNames") =
                    serde_json::json!(["kube-state-metrics"])
            },
            "sharding rbac",
            "may not get statefulsets \"kube-state-exporter-shard\"",
        ),
        (
            "single-replica budget that blocks drains",
            |d| {
                let spec = at(doc(d, "PodDisruptionBudget", DEPLOYMENT), "/spec")
                    .as_object_mut()
                    .unwrap();
                spec.remove("maxUnavailable");
                spec.insert("minAvailable".into(), 1.into());
            },
            "pdbs",
            "drains would hang",
        ),
        (
            "budget selecting nothing",
            |d| {
                *at(
                    doc(d, "PodDisruptionBudget", SHARDS),
                    "/spec/selector/matchLabels/app.kubernetes.io~1instance",
                ) = "x".into()
            },
            "pdbs",
            "selects no workload",
        ),
    ];
    let original = read_docs(Path::new(DIR));
    let mut exercised = BTreeSet::new();
    for (what, break_it, check, expected) in cases {
        let mut docs = original.clone();
        break_it(&mut docs);
        let (m, decode_problems) = decode(&docs);
        let problems = if *check == "decode" {
            decode_problems
        } else {
            assert!(decode_problems.is_empty(), "{what}: {decode_problems:?}");
            let (_, run) = CHECKS.iter().find(|(n, _)| n == check).unwrap();
            run(&m)
        };
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "{what}: check {check:?} did not report {expected:?}; it said {problems:?}"
        );
        exercised.insert(*check);
    }
    // The README check: a manifest the README does not apply.
    let mut docs = original.clone();
    docs[0].file = "extra.yaml".into();
    let (m, _) = decode(&docs);
    assert!(check_readme(&m).iter().any(|p| p.contains("extra.yaml")));
    exercised.insert("readme");
    for (name, _) in CHECKS {
        assert!(exercised.contains(name), "no case breaks check {name:?}");
    }
}
