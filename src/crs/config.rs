//! The Custom Resource State config file (`kind: CustomResourceStateMetrics`): KSM's schema
//! (`pkg/customresourcestate/config.go`, `config_metrics_types.go`), parsed and validated.
//!
//! Decoding follows KSM's Go decoder where configs rely on it: scalars go into string fields as
//! written (`list: [True, False]` is `"True"`, `"False"`), `null` is the zero value (`""`, no
//! list, false, 0; for `metricNamePrefix` it means "not set", so the default prefix), the
//! metric type is case-insensitive, and bool fields take YAML 1.1's `yes`/`on`/`y` too.
//!
//! Validation is what KSM checks when it compiles a resource (the metric type, its block,
//! `[key=value]` path segments), plus what would otherwise break the exposition: metric names
//! and label names written in the config must be valid Prometheus names. Unlike KSM, unknown
//! fields and wrongly typed values are errors, not silently ignored. Every error names the
//! resource, the metric and the field, and where it is in the file.

use std::collections::BTreeMap;
use std::fmt;

use super::path::ValuePath;
use super::yaml::{self, Key, Node, NodeValue, Pos, ScalarKind};

/// The metric-name prefix when `metricNamePrefix` is not set.
pub const DEFAULT_PREFIX: &str = "kube_customresource";

/// A validated config.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// `spec.resources`, in file order.
    pub resources: Vec<Resource>,
    /// Things KSM would accept but log about (an Info metric not named `*_info`, a metric block
    /// its type ignores). Worth logging at start-up; never fatal.
    pub warnings: Vec<String>,
}

/// `spec.resources[]`: one custom resource and its metrics.
#[derive(Clone, Debug, PartialEq)]
pub struct Resource {
    /// The resource's group, version and kind; version and kind may be wildcards.
    pub group_version_kind: GroupVersionKind,
    /// `resourcePlural` (empty when not set). KSM uses it only for a GVK its CRD discovery
    /// does not know; for CRDs the CRD's own plural wins, and without either it falls back to
    /// `strings.ToLower(flect.Pluralize(kind))`.
    pub resource_plural: String,
    /// `metricNamePrefix`: `None` when absent (the default prefix), `Some("")` for no prefix.
    pub metric_name_prefix: Option<String>,
    /// Resource-level `commonLabels` and `labelsFromPath`.
    pub labels: Labels,
    /// `errorLogV`: klog verbosity for this resource's errors.
    pub error_log_v: i32,
    /// `metrics[]`, in file order.
    pub metrics: Vec<Metric>,
}

/// Group, version and kind of a resource.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupVersionKind {
    /// API group (empty for the core group).
    pub group: String,
    /// API version, or `*` (or empty) for every served version.
    pub version: String,
    /// Kind, or `*` (or empty) for every kind of the group (and version).
    pub kind: String,
}

/// `commonLabels` and `labelsFromPath`, at resource or metric level.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Labels {
    /// Fixed labels.
    pub common_labels: BTreeMap<String, String>,
    /// Labels read from the object; keys ending (or starting) with `*` copy a whole map.
    pub labels_from_path: BTreeMap<String, ValuePath>,
}

/// `metrics[]`: one family.
#[derive(Clone, Debug, PartialEq)]
pub struct Metric {
    /// `name`, before the prefix.
    pub name: String,
    /// `help`.
    pub help: String,
    /// Metric-level `commonLabels` and `labelsFromPath` (override the resource's).
    pub labels: Labels,
    /// `errorLogV`; 0 means the resource's.
    pub error_log_v: i32,
    /// `each`: what to read and how.
    pub each: Each,
}

/// `each`: the metric type and its settings.
#[derive(Clone, Debug, PartialEq)]
pub enum Each {
    /// `type: Gauge` with `each.gauge`.
    Gauge(Gauge),
    /// `type: StateSet` with `each.stateSet`.
    StateSet(StateSet),
    /// `type: Info` with `each.info`.
    Info(Info),
}

/// `each.gauge`.
#[derive(Clone, Debug, PartialEq)]
pub struct Gauge {
    /// `path`: a value, list or map; lists and maps give a sample per element.
    pub path: ValuePath,
    /// `labelsFromPath`, relative to each element.
    pub labels_from_path: BTreeMap<String, ValuePath>,
    /// `valueFrom`, relative to each element (empty: the element itself).
    pub value_from: ValuePath,
    /// `labelFromKey`: label carrying the map key when `path` is a map (empty: none).
    pub label_from_key: String,
    /// `nilIsZero`: a missing value is 0 instead of an error.
    pub nil_is_zero: bool,
}

/// `each.stateSet`.
#[derive(Clone, Debug, PartialEq)]
pub struct StateSet {
    /// `path`: the object (or list of objects) holding the state.
    pub path: ValuePath,
    /// `labelsFromPath`, relative to `path`.
    pub labels_from_path: BTreeMap<String, ValuePath>,
    /// `list`: the states, one sample each.
    pub list: Vec<String>,
    /// `labelName`: the label carrying the state.
    pub label_name: String,
    /// `valueFrom`: where the current state string is, relative to `path`.
    pub value_from: ValuePath,
}

/// `each.info`.
#[derive(Clone, Debug, PartialEq)]
pub struct Info {
    /// `path`: the object, list or map to describe.
    pub path: ValuePath,
    /// `labelsFromPath`, relative to `path` (or to each element).
    pub labels_from_path: BTreeMap<String, ValuePath>,
    /// `labelFromKey`: label carrying the map key when `path` is a map (empty: none).
    pub label_from_key: String,
}

/// A config that cannot be used: what is wrong, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    message: String,
    pos: Option<Pos>,
}

impl ConfigError {
    /// The message without the location.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Line and column (1-based) of the offending node, when known.
    pub fn location(&self) -> Option<(u64, u64)> {
        self.pos.map(|p| (p.line, p.column))
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(p) = self.pos {
            write!(f, " (line {}, column {})", p.line, p.column)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

impl GroupVersionKind {
    /// Whether the version matches every served version (`*`, or empty as KSM's discovery
    /// treats it).
    pub fn version_is_wildcard(&self) -> bool {
        self.version.is_empty() || self.version == "*"
    }

    /// Whether the kind matches every kind of the group.
    pub fn kind_is_wildcard(&self) -> bool {
        self.kind.is_empty() || self.kind == "*"
    }

    /// Whether CRD discovery is needed to know what to watch.
    pub fn is_wildcard(&self) -> bool {
        self.version_is_wildcard() || self.kind_is_wildcard()
    }
}

/// Kubernetes' `schema.GroupVersionKind.String()`: `example.com/v1, Kind=Foo`.
impl fmt::Display for GroupVersionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}, Kind={}", self.group, self.version, self.kind)
    }
}

impl Resource {
    /// The prefix metric names get (`kube_customresource` unless `metricNamePrefix` is set).
    pub fn metric_name_prefix(&self) -> &str {
        self.metric_name_prefix.as_deref().unwrap_or(DEFAULT_PREFIX)
    }

    /// KSM's `fullName`: prefix and name joined by `_`, or the name alone for an empty prefix.
    pub fn family_name(&self, metric: &Metric) -> String {
        full_name(self.metric_name_prefix(), &metric.name)
    }
}

fn full_name(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}_{name}")
    }
}

impl Labels {
    /// KSM's `Labels.Merge`: `other`'s entries win.
    pub fn merged(&self, other: &Labels) -> Labels {
        let mut merged = self.clone();
        merged.common_labels.extend(other.common_labels.clone());
        merged.labels_from_path.extend(other.labels_from_path.clone());
        merged
    }
}

impl Each {
    /// The metric type.
    pub fn metric_type(&self) -> MetricType {
        match self {
            Each::Gauge(_) => MetricType::Gauge,
            Each::StateSet(_) => MetricType::StateSet,
            Each::Info(_) => MetricType::Info,
        }
    }
}

/// A CRS family's type. In text format 0.0.4 all three are written as `gauge` (KSM #2668);
/// OpenMetrics keeps `stateset` and `info`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MetricType {
    /// A gauge.
    Gauge,
    /// One 0/1 sample per listed state.
    StateSet,
    /// Labels only, value 1.
    Info,
}

impl MetricType {
    /// The family's type for the exposition: `gauge` on text 0.0.4's TYPE line whatever it is,
    /// its own type in OpenMetrics, as KSM prints it.
    pub fn exposition_type(self) -> crate::exposition::MetricType {
        match self {
            MetricType::Gauge => crate::exposition::MetricType::Gauge,
            MetricType::StateSet => crate::exposition::MetricType::StateSet,
            MetricType::Info => crate::exposition::MetricType::Info,
        }
    }

    /// The TYPE word in OpenMetrics.
    pub fn openmetrics_type(self) -> &'static str {
        match self {
            MetricType::Gauge => "gauge",
            MetricType::StateSet => "stateset",
            MetricType::Info => "info",
        }
    }

    /// The spelling used in the config and in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Gauge => "Gauge",
            MetricType::StateSet => "StateSet",
            MetricType::Info => "Info",
        }
    }
}

/// Parses and validates a config (the first YAML document of `yaml`).
pub fn parse(yaml: &str) -> Result<Config, ConfigError> {
    let doc = yaml::parse(yaml).map_err(|e| ConfigError {
        message: format!("invalid YAML: {}", e.message),
        pos: e.pos,
    })?;
    let root = Scope::root();
    let entries = match &doc.value {
        NodeValue::Null => return Err(root.error("the config is empty", Some(doc.pos))),
        NodeValue::Map(entries) => entries,
        other => {
            return Err(root.error(
                format!(
                    "expected a mapping with kind: CustomResourceStateMetrics and spec.resources, got {}",
                    other.describe()
                ),
                Some(doc.pos),
            ));
        }
    };
    root.known_fields(entries, "", &["kind", "spec"])?;
    if let Some(kind) = field(entries, "kind") {
        let kind_text = root.string(kind, "kind")?;
        if kind_text != "CustomResourceStateMetrics" {
            return Err(root.field_error(
                "kind",
                format!("expected CustomResourceStateMetrics, got {kind_text:?}"),
                Some(kind.pos),
            ));
        }
    }
    let mut config = Config {
        resources: Vec::new(),
        warnings: Vec::new(),
    };
    let Some(spec) = field(entries, "spec") else {
        return Ok(config);
    };
    let Some(spec_entries) = root.mapping(spec, "spec")? else {
        return Ok(config);
    };
    root.known_fields(spec_entries, "spec", &["resources"])?;
    let Some(resources) = field(spec_entries, "resources") else {
        return Ok(config);
    };
    for (i, node) in root.list(resources, "spec.resources")?.iter().enumerate() {
        let resource = parse_resource(i, node, &mut config.warnings)?;
        config.resources.push(resource);
    }
    Ok(config)
}

/// The fields of a resource entry.
const RESOURCE_FIELDS: &[&str] = &[
    "groupVersionKind",
    "resourcePlural",
    "metricNamePrefix",
    "commonLabels",
    "labelsFromPath",
    "errorLogV",
    "metrics",
];

fn parse_resource(index: usize, node: &Node, warnings: &mut Vec<String>) -> Result<Resource, ConfigError> {
    let unnamed = Scope {
        context: format!("spec.resources[{index}]"),
    };
    let entries = unnamed
        .mapping(node, "")?
        .ok_or_else(|| unnamed.error("expected a mapping, got null", Some(node.pos)))?;

    // The GVK first, whatever its place in the mapping, so every later error can name it.
    let gvk = match field(entries, "groupVersionKind") {
        Some(gvk_node) => parse_gvk(&unnamed, gvk_node)?,
        None => GroupVersionKind::default(),
    };
    let scope = Scope {
        context: format!("spec.resources[{index}] ({gvk})"),
    };
    scope.known_fields(entries, "", RESOURCE_FIELDS)?;
    if gvk.group == "*" {
        return Err(scope.field_error(
            "groupVersionKind.group",
            "must name a group: only version and kind may be \"*\"",
            field_pos(entries, "groupVersionKind"),
        ));
    }
    if gvk.group.is_empty() && gvk.is_wildcard() {
        return Err(scope.field_error(
            "groupVersionKind",
            "version and kind can only be left open (\"*\") within a named group",
            field_pos(entries, "groupVersionKind"),
        ));
    }

    let resource_plural = optional(entries, "resourcePlural", |n| scope.string(n, "resourcePlural"))?;
    let metric_name_prefix = match field(entries, "metricNamePrefix") {
        None => None,
        Some(n) if n.value == NodeValue::Null => None,
        Some(n) => Some(scope.string(n, "metricNamePrefix")?),
    };
    let labels = scope.labels(entries)?;
    let error_log_v = optional(entries, "errorLogV", |n| scope.int32(n, "errorLogV"))?;

    let mut resource = Resource {
        group_version_kind: gvk,
        resource_plural: resource_plural.unwrap_or_default(),
        metric_name_prefix,
        labels,
        error_log_v: error_log_v.unwrap_or_default(),
        metrics: Vec::new(),
    };
    if let Some(metrics) = field(entries, "metrics") {
        for (j, metric_node) in scope.list(metrics, "metrics")?.iter().enumerate() {
            let metric = parse_metric(&scope, &resource, j, metric_node, warnings)?;
            resource.metrics.push(metric);
        }
    }
    Ok(resource)
}

fn parse_gvk(scope: &Scope, node: &Node) -> Result<GroupVersionKind, ConfigError> {
    let name = "groupVersionKind";
    let Some(entries) = scope.mapping(node, name)? else {
        return Ok(GroupVersionKind::default());
    };
    scope.known_fields(entries, name, &["group", "version", "kind"])?;
    let get = |key: &str| optional(entries, key, |n| scope.string(n, &format!("{name}.{key}")));
    Ok(GroupVersionKind {
        group: get("group")?.unwrap_or_default(),
        version: get("version")?.unwrap_or_default(),
        kind: get("kind")?.unwrap_or_default(),
    })
}

/// The fields of a metric entry.
const METRIC_FIELDS: &[&str] = &["name", "help", "each", "commonLabels", "labelsFromPath", "errorLogV"];

fn parse_metric(
    resource_scope: &Scope,
    resource: &Resource,
    index: usize,
    node: &Node,
    warnings: &mut Vec<String>,
) -> Result<Metric, ConfigError> {
    let unnamed = Scope {
        context: format!("{} metrics[{index}]", resource_scope.context),
    };
    let entries = unnamed
        .mapping(node, "")?
        .ok_or_else(|| unnamed.error("expected a mapping, got null", Some(node.pos)))?;
    let name = optional(entries, "name", |n| unnamed.string(n, "name"))?.unwrap_or_default();
    let scope = if name.is_empty() {
        unnamed
    } else {
        Scope {
            context: format!("{} metric {name:?}", resource_scope.context),
        }
    };
    scope.known_fields(entries, "", METRIC_FIELDS)?;
    if name.is_empty() {
        return Err(scope.error("name is required", Some(node.pos)));
    }
    let family = full_name(resource.metric_name_prefix(), &name);
    if !is_metric_name(&family) {
        return Err(scope.field_error(
            "name",
            format!("makes the metric name {family:?}, which is not a valid Prometheus metric name"),
            field(entries, "name").map(|n| n.pos),
        ));
    }
    let help = optional(entries, "help", |n| scope.string(n, "help"))?.unwrap_or_default();
    let labels = scope.labels(entries)?;
    let error_log_v = optional(entries, "errorLogV", |n| scope.int32(n, "errorLogV"))?.unwrap_or_default();
    let each_node = field(entries, "each")
        .ok_or_else(|| scope.error("each is required (with each.type and its block)", Some(node.pos)))?;
    let each = parse_each(&scope, each_node, warnings)?;
    if each.metric_type() == MetricType::Info && !name.ends_with("_info") {
        warnings.push(format!("{}: Info metric name does not end in _info", scope.context));
    }
    Ok(Metric {
        name,
        help,
        labels,
        error_log_v,
        each,
    })
}

fn parse_each(scope: &Scope, node: &Node, warnings: &mut Vec<String>) -> Result<Each, ConfigError> {
    let entries = scope
        .mapping(node, "each")?
        .ok_or_else(|| scope.field_error("each", "expected a mapping, got null", Some(node.pos)))?;
    scope.known_fields(entries, "each", &["type", "gauge", "stateSet", "info"])?;
    let type_node = field(entries, "type").ok_or_else(|| {
        scope.field_error(
            "each.type",
            "missing (expected Gauge, StateSet or Info)",
            Some(node.pos),
        )
    })?;
    let written = scope.string(type_node, "each.type")?;
    // KSM lower-cases the type before comparing ("gauge", "stateset", "info").
    let metric_type = match written.to_lowercase().as_str() {
        "gauge" => MetricType::Gauge,
        "stateset" => MetricType::StateSet,
        "info" => MetricType::Info,
        _ => {
            return Err(scope.field_error(
                "each.type",
                format!("unknown metric type {written:?} (expected Gauge, StateSet or Info)"),
                Some(type_node.pos),
            ));
        }
    };
    let block_key = match metric_type {
        MetricType::Gauge => "gauge",
        MetricType::StateSet => "stateSet",
        MetricType::Info => "info",
    };
    for other in ["gauge", "stateSet", "info"] {
        if other != block_key && field(entries, other).is_some_and(|n| n.value != NodeValue::Null) {
            warnings.push(format!(
                "{}: each.{other} is ignored: each.type is {}",
                scope.context,
                metric_type.as_str()
            ));
        }
    }
    let missing = || {
        scope.error(
            format!("each.type {} needs each.{block_key}", metric_type.as_str()),
            Some(type_node.pos),
        )
    };
    let block_node = field(entries, block_key).ok_or_else(missing)?;
    let at = format!("each.{block_key}");
    let block = scope.mapping(block_node, &at)?.ok_or_else(missing)?;
    let path = |key: &str| -> Result<ValuePath, ConfigError> {
        optional(block, key, |n| scope.path(n, &format!("{at}.{key}"))).map(|p| p.unwrap_or_else(ValuePath::empty))
    };
    let labels_from_path = match field(block, "labelsFromPath") {
        Some(n) => scope.path_map(n, &format!("{at}.labelsFromPath"))?,
        None => BTreeMap::new(),
    };
    let label_from_key = |scope: &Scope| -> Result<String, ConfigError> {
        let key = optional(block, "labelFromKey", |n| {
            scope.string(n, &format!("{at}.labelFromKey"))
        })?
        .unwrap_or_default();
        if !key.is_empty() && !is_label_name(&key) {
            return Err(scope.field_error(
                &format!("{at}.labelFromKey"),
                format!("{key:?} is not a valid Prometheus label name"),
                field(block, "labelFromKey").map(|n| n.pos),
            ));
        }
        Ok(key)
    };
    Ok(match metric_type {
        MetricType::Gauge => {
            scope.known_fields(
                block,
                &at,
                &["path", "labelsFromPath", "valueFrom", "labelFromKey", "nilIsZero"],
            )?;
            Each::Gauge(Gauge {
                path: path("path")?,
                labels_from_path,
                value_from: path("valueFrom")?,
                label_from_key: label_from_key(scope)?,
                nil_is_zero: optional(block, "nilIsZero", |n| scope.boolean(n, &format!("{at}.nilIsZero")))?
                    .unwrap_or_default(),
            })
        }
        MetricType::StateSet => {
            scope.known_fields(
                block,
                &at,
                &["path", "labelsFromPath", "list", "labelName", "valueFrom"],
            )?;
            let label_name =
                optional(block, "labelName", |n| scope.string(n, &format!("{at}.labelName")))?.unwrap_or_default();
            if !is_label_name(&label_name) {
                return Err(scope.field_error(
                    &format!("{at}.labelName"),
                    if label_name.is_empty() {
                        "is required: the label that carries each state".to_string()
                    } else {
                        format!("{label_name:?} is not a valid Prometheus label name")
                    },
                    Some(field(block, "labelName").map_or(block_node.pos, |n| n.pos)),
                ));
            }
            Each::StateSet(StateSet {
                path: path("path")?,
                labels_from_path,
                list: optional(block, "list", |n| scope.string_list(n, &format!("{at}.list")))?.unwrap_or_default(),
                label_name,
                value_from: path("valueFrom")?,
            })
        }
        MetricType::Info => {
            scope.known_fields(block, &at, &["path", "labelsFromPath", "labelFromKey"])?;
            Each::Info(Info {
                path: path("path")?,
                labels_from_path,
                label_from_key: label_from_key(scope)?,
            })
        }
    })
}

/// Where in the config a value is being read: the resource (and metric) it belongs to.
struct Scope {
    /// `spec.resources[1] (example.com/v1, Kind=Foo) metric "ready"`, or empty at top level.
    context: String,
}

impl Scope {
    fn root() -> Scope {
        Scope { context: String::new() }
    }

    fn error(&self, detail: impl fmt::Display, pos: Option<Pos>) -> ConfigError {
        let message = if self.context.is_empty() {
            detail.to_string()
        } else {
            format!("{}: {detail}", self.context)
        };
        ConfigError { message, pos }
    }

    fn field_error(&self, field: &str, detail: impl fmt::Display, pos: Option<Pos>) -> ConfigError {
        self.error(format_args!("{field}: {detail}"), pos)
    }

    fn type_error(&self, field: &str, expected: &str, node: &Node) -> ConfigError {
        let detail = format!("expected {expected}, got {}", node.value.describe());
        if field.is_empty() {
            self.error(detail, Some(node.pos))
        } else {
            self.field_error(field, detail, Some(node.pos))
        }
    }

    /// Rejects keys not in `known`.
    fn known_fields(&self, entries: &[(Key, Node)], at: &str, known: &[&str]) -> Result<(), ConfigError> {
        for (key, _) in entries {
            if !known.contains(&key.name.as_str()) {
                let place = if at.is_empty() {
                    String::new()
                } else {
                    format!(" in {at}")
                };
                return Err(self.error(
                    format!(
                        "unknown field {:?}{place} (known fields: {})",
                        key.name,
                        known.join(", ")
                    ),
                    Some(key.pos),
                ));
            }
        }
        Ok(())
    }

    /// A mapping, or `None` for null.
    fn mapping<'a>(&self, node: &'a Node, field: &str) -> Result<Option<&'a [(Key, Node)]>, ConfigError> {
        match &node.value {
            NodeValue::Map(entries) => Ok(Some(entries)),
            NodeValue::Null => Ok(None),
            _ => Err(self.type_error(field, "a mapping", node)),
        }
    }

    /// A list (null is empty).
    fn list<'a>(&self, node: &'a Node, field: &str) -> Result<&'a [Node], ConfigError> {
        match &node.value {
            NodeValue::Seq(items) => Ok(items),
            NodeValue::Null => Ok(&[]),
            _ => Err(self.type_error(field, "a list", node)),
        }
    }

    /// A string: any scalar as written; null is "".
    fn string(&self, node: &Node, field: &str) -> Result<String, ConfigError> {
        match &node.value {
            NodeValue::Scalar(s) => Ok(s.text.clone()),
            NodeValue::Null => Ok(String::new()),
            _ => Err(self.type_error(field, "a string", node)),
        }
    }

    fn string_list(&self, node: &Node, field: &str) -> Result<Vec<String>, ConfigError> {
        self.list(node, field)?
            .iter()
            .enumerate()
            .map(|(i, item)| self.string(item, &format!("{field}[{i}]")))
            .collect()
    }

    /// A boolean, with the YAML 1.1 words Go's decoder accepts for bool fields; null is false.
    fn boolean(&self, node: &Node, field: &str) -> Result<bool, ConfigError> {
        match &node.value {
            NodeValue::Null => Ok(false),
            NodeValue::Scalar(s) => match s.text.as_str() {
                "true" | "True" | "TRUE" | "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => Ok(true),
                "false" | "False" | "FALSE" | "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => Ok(false),
                _ => Err(self.type_error(field, "a boolean", node)),
            },
            _ => Err(self.type_error(field, "a boolean", node)),
        }
    }

    /// A 32-bit integer (klog.Level); null is 0.
    fn int32(&self, node: &Node, field: &str) -> Result<i32, ConfigError> {
        match &node.value {
            NodeValue::Null => Ok(0),
            NodeValue::Scalar(s) => match s.kind {
                ScalarKind::Int(i) => i32::try_from(i).map_err(|_| self.type_error(field, "a 32-bit integer", node)),
                _ => Err(self.type_error(field, "an integer", node)),
            },
            _ => Err(self.type_error(field, "an integer", node)),
        }
    }

    /// A path: a list of segments, compiled.
    fn path(&self, node: &Node, field: &str) -> Result<ValuePath, ConfigError> {
        let segments = self.string_list(node, field)?;
        ValuePath::compile(&segments).map_err(|e| {
            let pos = match &node.value {
                NodeValue::Seq(items) => items.get(e.index).map_or(node.pos, |n| n.pos),
                _ => node.pos,
            };
            self.error(format_args!("{field}{e}"), Some(pos))
        })
    }

    fn path_map(&self, node: &Node, field: &str) -> Result<BTreeMap<String, ValuePath>, ConfigError> {
        let Some(entries) = self.mapping(node, field)? else {
            return Ok(BTreeMap::new());
        };
        entries
            .iter()
            .map(|(key, value)| Ok((key.name.clone(), self.path(value, &format!("{field}.{}", key.name))?)))
            .collect()
    }

    /// `commonLabels` and `labelsFromPath` of the mapping `entries`.
    fn labels(&self, entries: &[(Key, Node)]) -> Result<Labels, ConfigError> {
        let mut labels = Labels::default();
        if let Some(node) = field(entries, "commonLabels")
            && let Some(common) = self.mapping(node, "commonLabels")?
        {
            for (key, value) in common {
                if !is_label_name(&key.name) {
                    return Err(self.field_error(
                        "commonLabels",
                        format!("{:?} is not a valid Prometheus label name", key.name),
                        Some(key.pos),
                    ));
                }
                let text = self.string(value, &format!("commonLabels.{}", key.name))?;
                labels.common_labels.insert(key.name.clone(), text);
            }
        }
        if let Some(node) = field(entries, "labelsFromPath") {
            labels.labels_from_path = self.path_map(node, "labelsFromPath")?;
        }
        Ok(labels)
    }
}

/// The value of `key` in a mapping.
fn field<'a>(entries: &'a [(Key, Node)], key: &str) -> Option<&'a Node> {
    entries.iter().find(|(k, _)| k.name == key).map(|(_, v)| v)
}

fn field_pos(entries: &[(Key, Node)], key: &str) -> Option<Pos> {
    entries.iter().find(|(k, _)| k.name == key).map(|(k, _)| k.pos)
}

/// Reads `key` with `read` when present.
fn optional<T>(
    entries: &[(Key, Node)],
    key: &str,
    read: impl FnOnce(&Node) -> Result<T, ConfigError>,
) -> Result<Option<T>, ConfigError> {
    field(entries, key).map(read).transpose()
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`.
fn is_metric_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "kind: CustomResourceStateMetrics\nspec:\n  resources:\n";

    /// A config with one Widget resource whose metrics are `metrics` (indented as list items
    /// under `metrics:`). The first metric line is line 9.
    fn with_metrics(metrics: &str) -> String {
        format!(
            "{HEADER}    - groupVersionKind:\n        group: acme.example\n        version: v1\n        kind: Widget\n      metrics:\n{metrics}"
        )
    }

    fn error(yaml: &str) -> String {
        parse(yaml).expect_err("config accepted").to_string()
    }

    const CTX: &str = "spec.resources[0] (acme.example/v1, Kind=Widget)";

    #[test]
    fn the_full_schema() {
        let yaml = format!(
            r#"{HEADER}    - groupVersionKind:
        group: acme.example
        version: "*"
        kind: Widget
      resourcePlural: widgetz
      metricNamePrefix: acme
      errorLogV: 4
      commonLabels:
        team: platform
        version: 1.10
      labelsFromPath:
        name: [metadata, name]
        "label_*": [metadata, labels]
      metrics:
        - name: replicas
          help: "Desired replicas"
          errorLogV: 6
          commonLabels:
            unit: count
          labelsFromPath:
            ns: [metadata, namespace]
          each:
            type: GAUGE
            gauge:
              path: [spec, replicas]
              valueFrom: []
              labelFromKey: key
              nilIsZero: yes
        - name: phase
          each:
            type: stateset
            stateSet:
              labelName: phase
              path: [status]
              valueFrom: [phase]
              list: [True, 1.50, Pending]
              labelsFromPath:
                owner: [spec, "[kind=Team]", name]
        - name: version
          each:
            type: Info
            info:
              labelFromKey: k
              path: [spec, versions]
            gauge:
              path: [ignored]
"#
        );
        let config = parse(&yaml).unwrap();
        let resource = &config.resources[0];
        assert_eq!(
            resource.group_version_kind,
            GroupVersionKind {
                group: "acme.example".into(),
                version: "*".into(),
                kind: "Widget".into()
            }
        );
        assert!(resource.group_version_kind.version_is_wildcard());
        assert!(!resource.group_version_kind.kind_is_wildcard());
        assert_eq!(resource.resource_plural, "widgetz");
        assert_eq!(resource.metric_name_prefix(), "acme");
        assert_eq!(resource.error_log_v, 4);
        assert_eq!(resource.labels.common_labels["version"], "1.10");
        assert_eq!(
            resource.labels.labels_from_path.keys().collect::<Vec<_>>(),
            ["label_*", "name"]
        );
        assert_eq!(resource.family_name(&resource.metrics[0]), "acme_replicas");

        let replicas = &resource.metrics[0];
        assert_eq!((replicas.help.as_str(), replicas.error_log_v), ("Desired replicas", 6));
        assert_eq!(replicas.labels.common_labels["unit"], "count");
        let Each::Gauge(gauge) = &replicas.each else {
            panic!("not a gauge: {:?}", replicas.each)
        };
        assert_eq!(gauge.path.segments(), ["spec", "replicas"]);
        assert!(gauge.value_from.is_empty());
        assert_eq!(gauge.label_from_key, "key");
        assert!(gauge.nil_is_zero, "yes is true for a Go bool field");

        let Each::StateSet(state_set) = &resource.metrics[1].each else {
            panic!("not a stateset")
        };
        assert_eq!(state_set.list, ["True", "1.50", "Pending"]);
        assert_eq!(state_set.label_name, "phase");
        assert_eq!(state_set.value_from.segments(), ["phase"]);
        assert_eq!(
            state_set.labels_from_path["owner"].segments(),
            ["spec", "[kind=Team]", "name"]
        );

        let Each::Info(info) = &resource.metrics[2].each else {
            panic!("not an info")
        };
        assert_eq!(info.label_from_key, "k");
        assert_eq!(
            config.warnings,
            [
                "spec.resources[0] (acme.example/*, Kind=Widget) metric \"version\": each.gauge is ignored: each.type is Info",
                "spec.resources[0] (acme.example/*, Kind=Widget) metric \"version\": Info metric name does not end in _info",
            ]
        );
    }

    #[test]
    fn optional_parts_and_nulls() {
        let config = parse(&with_metrics(
            "        - name: up\n          help: ~\n          each:\n            type: Gauge\n            gauge:\n              path:\n              nilIsZero: ~\n",
        ))
        .unwrap();
        let resource = &config.resources[0];
        assert_eq!(resource.metric_name_prefix, None);
        assert_eq!(resource.metric_name_prefix(), DEFAULT_PREFIX);
        assert_eq!(resource.resource_plural, "");
        assert_eq!(resource.metrics[0].help, "");
        let Each::Gauge(gauge) = &resource.metrics[0].each else {
            panic!("not a gauge")
        };
        assert!(gauge.path.is_empty() && !gauge.nil_is_zero);
        assert!(config.warnings.is_empty());

        assert_eq!(parse("{}").unwrap().resources, []);
        assert_eq!(
            parse("kind: CustomResourceStateMetrics\nspec:\n  resources:\n")
                .unwrap()
                .resources,
            []
        );
    }

    #[test]
    fn a_metric_type_without_its_block() {
        let yaml = format!(
            "{HEADER}    - groupVersionKind: {{group: acme.example, version: v1, kind: Widget}}\n      metrics: []\n    - groupVersionKind:\n        group: example.com\n        version: v1\n        kind: Foo\n      metrics:\n        - name: ready\n          each:\n            type: Gauge\n            info:\n              path: [status]\n"
        );
        let err = parse(&yaml).unwrap_err();
        assert_eq!(
            err.message(),
            "spec.resources[1] (example.com/v1, Kind=Foo) metric \"ready\": each.type Gauge needs each.gauge"
        );
        assert_eq!(err.location(), Some((13, 19)));
        assert_eq!(
            err.to_string(),
            "spec.resources[1] (example.com/v1, Kind=Foo) metric \"ready\": each.type Gauge needs each.gauge (line 13, column 19)"
        );
        // A null block is as good as none.
        assert_eq!(
            error(&with_metrics(
                "        - name: phase\n          each:\n            type: StateSet\n            stateSet:\n"
            )),
            format!("{CTX} metric \"phase\": each.type StateSet needs each.stateSet (line 11, column 19)")
        );
    }

    #[test]
    fn unknown_fields_name_where_they_are() {
        assert_eq!(
            error(&with_metrics(
                "        - name: phase\n          each:\n            type: StateSet\n            stateSet:\n              labelName: phase\n              nilIsZero: true\n"
            )),
            format!(
                "{CTX} metric \"phase\": unknown field \"nilIsZero\" in each.stateSet (known fields: path, labelsFromPath, list, labelName, valueFrom) (line 14, column 15)"
            )
        );
        assert_eq!(
            error(&format!("apiVersion: v1\n{HEADER}")),
            "unknown field \"apiVersion\" (known fields: kind, spec) (line 1, column 1)"
        );
        assert_eq!(
            error(&with_metrics("        - name: up\n          type: Gauge\n")),
            format!(
                "{CTX} metric \"up\": unknown field \"type\" (known fields: name, help, each, commonLabels, labelsFromPath, errorLogV) (line 10, column 11)"
            )
        );
        assert_eq!(
            error(&format!(
                "{HEADER}    - groupVersionKind: {{group: acme.example, version: v1, kind: Widget}}\n      namespace: default\n"
            )),
            format!(
                "{CTX}: unknown field \"namespace\" (known fields: groupVersionKind, resourcePlural, metricNamePrefix, commonLabels, labelsFromPath, errorLogV, metrics) (line 5, column 7)"
            )
        );
    }

    #[test]
    fn wrongly_typed_values() {
        let gauge = |line: &str| {
            with_metrics(&format!(
                "        - name: up\n          each:\n            type: Gauge\n            gauge:\n              path: [status]\n{line}"
            ))
        };
        assert_eq!(
            error(&gauge("              nilIsZero: maybe\n")),
            format!(
                "{CTX} metric \"up\": each.gauge.nilIsZero: expected a boolean, got string \"maybe\" (line 14, column 26)"
            )
        );
        assert_eq!(
            error(&gauge("              valueFrom: status\n")),
            format!(
                "{CTX} metric \"up\": each.gauge.valueFrom: expected a list, got string \"status\" (line 14, column 26)"
            )
        );
        assert_eq!(
            error(&gauge("              labelsFromPath:\n                name: {a: b}\n")),
            format!(
                "{CTX} metric \"up\": each.gauge.labelsFromPath.name: expected a list, got a mapping (line 15, column 23)"
            )
        );
        assert_eq!(
            error(&with_metrics(
                "        - name: up\n          each:\n            type: Gauge\n            gauge:\n              path: [status, [nested]]\n"
            )),
            format!("{CTX} metric \"up\": each.gauge.path[1]: expected a string, got a list (line 13, column 30)")
        );
        assert_eq!(
            error(&with_metrics("        - name: up\n          errorLogV: high\n")),
            format!("{CTX} metric \"up\": errorLogV: expected an integer, got string \"high\" (line 10, column 22)")
        );
        assert_eq!(
            error(&format!("{HEADER}    - groupVersionKind: [acme.example]\n")),
            "spec.resources[0]: groupVersionKind: expected a mapping, got a list (line 4, column 25)"
        );
        assert_eq!(
            error("kind: CustomResourceStateMetrics\nspec:\n  resources:\n    groupVersionKind: {}\n"),
            "spec.resources: expected a list, got a mapping (line 4, column 5)"
        );
    }

    #[test]
    fn metric_types() {
        let each = |ty: &str| {
            with_metrics(&format!(
                "        - name: up\n          each:\n            type: {ty}\n            gauge:\n              path: [status]\n"
            ))
        };
        for ty in ["Gauge", "gauge", "GAUGE"] {
            assert!(parse(&each(ty)).is_ok(), "{ty}");
        }
        assert_eq!(
            error(&each("Counter")),
            format!(
                "{CTX} metric \"up\": each.type: unknown metric type \"Counter\" (expected Gauge, StateSet or Info) (line 11, column 19)"
            )
        );
        assert_eq!(
            error(&with_metrics(
                "        - name: up\n          each:\n            gauge: {}\n"
            )),
            format!("{CTX} metric \"up\": each.type: missing (expected Gauge, StateSet or Info) (line 11, column 13)")
        );
        assert_eq!(
            error(&with_metrics("        - name: up\n")),
            format!("{CTX} metric \"up\": each is required (with each.type and its block) (line 9, column 11)")
        );
    }

    #[test]
    fn list_lookups_need_key_and_value() {
        assert_eq!(
            error(&with_metrics(
                "        - name: ready\n          each:\n            type: Gauge\n            gauge:\n              path: [status, conditions, \"[Ready]\", status]\n"
            )),
            format!(
                "{CTX} metric \"ready\": each.gauge.path[2]: invalid list lookup \"[Ready]\" (expected \"[key=value]\") (line 13, column 42)"
            )
        );
        assert_eq!(
            error(&format!(
                "{HEADER}    - groupVersionKind: {{group: acme.example, version: v1, kind: Widget}}\n      labelsFromPath:\n        cond: [status, \"[]\"]\n"
            )),
            format!(
                "{CTX}: labelsFromPath.cond[1]: invalid list lookup \"[]\" (expected \"[key=value]\") (line 6, column 24)"
            )
        );
    }

    #[test]
    fn names_must_make_valid_series() {
        assert_eq!(
            error(&with_metrics(
                "        - name: ready-count\n          each: {type: Gauge, gauge: {}}\n"
            )),
            format!(
                "{CTX} metric \"ready-count\": name: makes the metric name \"kube_customresource_ready-count\", which is not a valid Prometheus metric name (line 9, column 17)"
            )
        );
        let no_prefix = format!(
            "{HEADER}    - groupVersionKind: {{group: acme.example, version: v1, kind: Widget}}\n      metricNamePrefix: \"\"\n      metrics:\n        - name: 1st\n          each: {{type: Gauge, gauge: {{}}}}\n"
        );
        assert_eq!(
            error(&no_prefix),
            format!(
                "{CTX} metric \"1st\": name: makes the metric name \"1st\", which is not a valid Prometheus metric name (line 7, column 17)"
            )
        );
        assert_eq!(
            error(&with_metrics(
                "        - help: nameless\n          each: {type: Gauge, gauge: {}}\n"
            )),
            format!("{CTX} metrics[0]: name is required (line 9, column 11)")
        );
        assert_eq!(
            error(&with_metrics(
                "        - name: up\n          each: {type: Gauge, gauge: {labelFromKey: pool-name}}\n"
            )),
            format!(
                "{CTX} metric \"up\": each.gauge.labelFromKey: \"pool-name\" is not a valid Prometheus label name (line 10, column 53)"
            )
        );
        assert_eq!(
            error(&with_metrics(
                "        - name: up\n          commonLabels:\n            my-label: x\n          each: {type: Gauge, gauge: {}}\n"
            )),
            format!(
                "{CTX} metric \"up\": commonLabels: \"my-label\" is not a valid Prometheus label name (line 11, column 13)"
            )
        );
        assert_eq!(
            error(&with_metrics(
                "        - name: up\n          each: {type: StateSet, stateSet: {list: [a]}}\n"
            )),
            format!(
                "{CTX} metric \"up\": each.stateSet.labelName: is required: the label that carries each state (line 10, column 44)"
            )
        );
    }

    #[test]
    fn group_version_kind_rules() {
        assert_eq!(
            error(&format!(
                "{HEADER}    - groupVersionKind: {{group: \"*\", version: v1, kind: Foo}}\n"
            )),
            "spec.resources[0] (*/v1, Kind=Foo): groupVersionKind.group: must name a group: only version and kind may be \"*\" (line 4, column 7)"
        );
        assert_eq!(
            error(&format!("{HEADER}    - metrics: []\n")),
            "spec.resources[0] (/, Kind=): groupVersionKind: version and kind can only be left open (\"*\") within a named group"
        );
        // The core group is fine with a concrete version and kind.
        assert!(
            parse(&format!(
                "{HEADER}    - groupVersionKind: {{group: \"\", version: v1, kind: Pod}}\n"
            ))
            .is_ok()
        );
    }

    #[test]
    fn whole_document_errors() {
        assert_eq!(error(""), "the config is empty (line 1, column 1)");
        assert_eq!(
            error("kind: Deployment\n"),
            "kind: expected CustomResourceStateMetrics, got \"Deployment\" (line 1, column 7)"
        );
        assert_eq!(
            error("- a\n- b\n"),
            "expected a mapping with kind: CustomResourceStateMetrics and spec.resources, got a list (line 1, column 1)"
        );
        let syntax = parse("spec: [unclosed\n").unwrap_err();
        assert!(syntax.message().starts_with("invalid YAML: "), "{syntax}");
        assert!(syntax.location().is_some(), "{syntax}");
    }

    #[test]
    fn metric_type_words() {
        assert_eq!(MetricType::StateSet.openmetrics_type(), "stateset");
        assert_eq!(MetricType::Info.openmetrics_type(), "info");
        assert_eq!(MetricType::Gauge.openmetrics_type(), "gauge");
        for t in [MetricType::Gauge, MetricType::StateSet, MetricType::Info] {
            assert_eq!(t.exposition_type().as_str(), "gauge");
            assert_eq!(t.exposition_type().openmetrics_str(), t.openmetrics_type());
        }
    }
}
