//! A configured resource's metric families, and the generators that turn one object into
//! samples: KSM's `registry_factory.go` (`compile`, `compiledGauge/Info/StateSet.Values`,
//! `addPathLabels`, `generate`), v2.20.
//!
//! Labels of a sample, from weakest to strongest: the resource's `commonLabels`, the GVK labels
//! (`customresource_group`, `customresource_version`, `customresource_kind`), the metric's
//! `commonLabels`, the resource's and metric's `labelsFromPath` read from the object's root (all
//! of these are the family's base labels), and last the labels the metric's `each` block gives
//! the sample itself (its own `labelsFromPath`, `labelFromKey`, a StateSet's `labelName`). So a
//! metric-level `commonLabels` entry can replace a GVK label, as in KSM. Labels are written
//! sorted by name and samples sorted by their `each` labels, which is KSM's order.
//!
//! Where a value is missing KSM either skips silently (a `valueFrom` that is not there, a
//! StateSet or Info with nothing at its path) or logs an error and skips the sample (a gauge
//! `path` that is not there without `nilIsZero`, a value `toFloat64` rejects, a non-string
//! state). The errors are returned in [`Skipped`], with KSM's wording, for the caller to count
//! and log at the family's `errorLogV`.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use serde_json::Value;

use super::config::{Each, GroupVersionKind, MetricType, Resource};
use super::path::ValuePath;
use super::value::{go_sprint, to_float64};
use crate::exposition::sanitize_label_name;
use crate::families::{FamilyDef, RenderContext, Samples, Stability};

/// A sample's labels, sorted by name (the order they are written in).
pub type LabelSet = BTreeMap<String, String>;

/// One family of a configured resource, compiled for one concrete GVK.
#[derive(Clone, Debug)]
pub struct Family {
    name: String,
    help: String,
    metric_type: MetricType,
    error_log_v: i32,
    /// GVK labels and merged `commonLabels`.
    common_labels: LabelSet,
    /// Merged resource- and metric-level `labelsFromPath`, read from the object's root.
    labels_from_path: LabelPaths,
    each: Compiled,
}

/// What one object's generator run could not emit.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Skipped {
    /// Errors KSM would log (at the family's `errorLogV`), in its wording; each cost a sample
    /// or, for a gauge path that resolved to nothing, the family's only sample.
    pub errors: Vec<String>,
    /// Samples dropped because an earlier sample of the same object had the identical label
    /// set (KSM writes both; a scrape must not have the same series twice).
    pub duplicates: usize,
}

impl Skipped {
    /// Everything skipped, errors and duplicates.
    pub fn count(&self) -> usize {
        self.errors.len() + self.duplicates
    }

    /// Whether nothing was skipped.
    pub fn is_empty(&self) -> bool {
        self.count() == 0
    }
}

/// Called when a family skipped something for an object (to count and log it).
pub type SkipHook = Arc<dyn Fn(&Family, &Skipped) + Send + Sync>;

impl Resource {
    /// This resource's families for the concrete `gvk` it is watched as (the configured GVK, or
    /// one that a wildcard resolved to): the GVK labels carry `gvk`'s values.
    pub fn families(&self, gvk: &GroupVersionKind) -> Vec<Family> {
        let mut resource_labels = self.labels.clone();
        // Set after the resource's own commonLabels, so these are reserved there (KSM's docs),
        // but a metric's commonLabels still override them (KSM's Merge order).
        for (name, value) in [
            ("customresource_group", &gvk.group),
            ("customresource_version", &gvk.version),
            ("customresource_kind", &gvk.kind),
        ] {
            resource_labels.common_labels.insert(name.to_string(), value.clone());
        }
        self.metrics
            .iter()
            .map(|metric| {
                let labels = resource_labels.merged(&metric.labels);
                Family {
                    name: self.family_name(metric),
                    help: metric.help.clone(),
                    metric_type: metric.each.metric_type(),
                    error_log_v: if metric.error_log_v != 0 {
                        metric.error_log_v
                    } else {
                        self.error_log_v
                    },
                    labels_from_path: LabelPaths::new(&labels.labels_from_path),
                    common_labels: labels.common_labels,
                    each: Compiled::new(&metric.each),
                }
            })
            .collect()
    }
}

impl Family {
    /// Full metric name (prefix included).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// HELP text.
    pub fn help(&self) -> &str {
        &self.help
    }

    /// The family's type (`gauge` on the text format's TYPE line whatever it is).
    pub fn metric_type(&self) -> MetricType {
        self.metric_type
    }

    /// klog verbosity at which KSM logs this family's errors (metric's, else resource's).
    pub fn error_log_v(&self) -> i32 {
        self.error_log_v
    }

    /// Generates the family's samples for one object, in output order, calling `emit` for each.
    pub fn generate(&self, obj: &Value, emit: &mut dyn FnMut(&LabelSet, f64)) -> Skipped {
        let mut base = self.common_labels.clone();
        self.labels_from_path.add_to(Some(obj), &mut base);

        let mut errors = Vec::new();
        let mut values = self.each.values(obj, &mut errors);
        // KSM sorts on the `each` labels only, before adding the base labels.
        values.sort_by(|a, b| a.labels.iter().cmp(b.labels.iter()));

        let mut seen: HashSet<LabelSet> = HashSet::with_capacity(values.len());
        let mut duplicates = 0;
        for mut sample in values {
            for (name, value) in &base {
                sample.labels.entry(name.clone()).or_insert_with(|| value.clone());
            }
            if seen.contains(&sample.labels) {
                duplicates += 1;
                continue;
            }
            emit(&sample.labels, sample.value);
            seen.insert(sample.labels);
        }
        Skipped { errors, duplicates }
    }

    /// The samples for one object, collected.
    pub fn samples(&self, obj: &Value) -> (Vec<(LabelSet, f64)>, Skipped) {
        let mut out = Vec::new();
        let skipped = self.generate(obj, &mut |labels, value| out.push((labels.clone(), value)));
        (out, skipped)
    }

    /// Generates into the exporter's sample sink (which writes `name{labels} value` lines).
    pub fn write(&self, obj: &Value, samples: &mut Samples) -> Skipped {
        self.generate(obj, &mut |labels, value| samples.push(labels.iter(), value))
    }

    /// This family as a [`FamilyDef`] for objects held as JSON: TYPE `gauge` in text 0.0.4 and
    /// its own type in OpenMetrics, HELP without a stability prefix (CRS families have none),
    /// and `on_skip` called whenever an object's samples were skipped.
    pub fn into_family_def(self, on_skip: SkipHook) -> FamilyDef<Value> {
        FamilyDef {
            name: self.name.clone().into(),
            help: self.help.clone().into(),
            metric_type: self.metric_type.exposition_type(),
            stability: Stability::Alpha,
            opt_in: false,
            generate: Box::new(move |obj: &Value, _ctx: &RenderContext, samples: &mut Samples| {
                let skipped = self.write(obj, samples);
                if !skipped.is_empty() {
                    on_skip(&self, &skipped);
                }
            }),
        }
    }
}

/// One sample before the base labels are added (KSM's `eachValue`).
struct EachValue {
    labels: LabelSet,
    value: f64,
}

/// `labelsFromPath` ready to apply: `*` entries (whole maps copied) in sorted order, then plain
/// entries under their sanitized names.
///
/// Names are sanitized like KSM's `SanitizeLabelName` (every character outside `[a-zA-Z0-9_]`
/// becomes `_`), and beyond it a name that would start with a digit gets a `_` prefix and an
/// empty one becomes `_`: KSM writes those as they are, which makes the whole scrape
/// unparsable.
#[derive(Clone, Debug, Default)]
struct LabelPaths {
    /// (config key, path) for keys starting or ending with `*`, sorted by key.
    stars: Vec<(String, ValuePath)>,
    /// (sanitized label name, path), in config-key order.
    plain: Vec<(String, ValuePath)>,
}

impl LabelPaths {
    fn new(paths: &BTreeMap<String, ValuePath>) -> LabelPaths {
        let mut out = LabelPaths::default();
        for (key, path) in paths {
            if key.starts_with('*') || key.ends_with('*') {
                out.stars.push((key.clone(), path.clone()));
            } else {
                out.plain.push((sanitize_label_name(key), path.clone()));
            }
        }
        out
    }

    /// KSM's `addPathLabels`: star entries first, in sorted order so later ones win on a clash,
    /// then plain entries over them. A `prefix_*` key prefixes the copied names; `*` and `*x`
    /// copy them as they are. Missing or null values add nothing; inside a copied map a null is
    /// written `<nil>`, as Go formats it.
    fn add_to(&self, obj: Option<&Value>, out: &mut LabelSet) {
        for (star, path) in &self.stars {
            if let Some(Value::Object(map)) = path.get(obj) {
                let prefix = star.strip_suffix('*').unwrap_or("");
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                for key in keys {
                    out.insert(sanitize_label_name(&format!("{prefix}{key}")), go_sprint(&map[key]));
                }
            }
        }
        for (name, path) in &self.plain {
            if let Some(value) = path.get(obj) {
                out.insert(name.clone(), go_sprint(value));
            }
        }
    }
}

/// An `each` block with its paths ready.
#[derive(Clone, Debug)]
enum Compiled {
    Gauge {
        path: ValuePath,
        labels: LabelPaths,
        value_from: ValuePath,
        label_from_key: String,
        nil_is_zero: bool,
    },
    StateSet {
        path: ValuePath,
        labels: LabelPaths,
        list: Vec<String>,
        label_name: String,
        value_from: ValuePath,
    },
    Info {
        path: ValuePath,
        labels: LabelPaths,
        label_from_key: String,
    },
}

fn non_null(v: &Value) -> Option<&Value> {
    (!v.is_null()).then_some(v)
}

impl Compiled {
    fn new(each: &Each) -> Compiled {
        match each {
            Each::Gauge(g) => Compiled::Gauge {
                path: g.path.clone(),
                labels: LabelPaths::new(&g.labels_from_path),
                value_from: g.value_from.clone(),
                label_from_key: g.label_from_key.clone(),
                nil_is_zero: g.nil_is_zero,
            },
            Each::StateSet(s) => Compiled::StateSet {
                path: s.path.clone(),
                labels: LabelPaths::new(&s.labels_from_path),
                list: s.list.clone(),
                label_name: s.label_name.clone(),
                value_from: s.value_from.clone(),
            },
            Each::Info(i) => Compiled::Info {
                path: i.path.clone(),
                labels: LabelPaths::new(&i.labels_from_path),
                label_from_key: i.label_from_key.clone(),
            },
        }
    }

    /// KSM's `scrapeValuesFor` without the sort: resolve `path`, then the type's `Values`.
    fn values(&self, obj: &Value, errors: &mut Vec<String>) -> Vec<EachValue> {
        match self {
            Compiled::Gauge {
                path,
                labels,
                value_from,
                label_from_key,
                nil_is_zero,
            } => {
                let gauge = GaugeEach {
                    labels,
                    value_from,
                    label_from_key,
                    nil_is_zero: *nil_is_zero,
                };
                gauge.values(path, path.get(Some(obj)), errors)
            }
            Compiled::StateSet {
                path,
                labels,
                list,
                label_name,
                value_from,
            } => {
                let state_set = StateSetEach {
                    path,
                    labels,
                    list,
                    label_name,
                    value_from,
                };
                match path.get(Some(obj)) {
                    Some(Value::Array(items)) => {
                        let mut out = Vec::new();
                        for item in items {
                            match state_set.values(non_null(item)) {
                                Ok(values) => out.extend(values),
                                Err(e) => errors.push(e),
                            }
                        }
                        out
                    }
                    v => state_set.values(v).unwrap_or_else(|e| {
                        errors.push(e);
                        Vec::new()
                    }),
                }
            }
            Compiled::Info {
                path,
                labels,
                label_from_key,
            } => info_values(path, labels, label_from_key, path.get(Some(obj)), errors),
        }
    }
}

struct GaugeEach<'a> {
    labels: &'a LabelPaths,
    value_from: &'a ValuePath,
    label_from_key: &'a str,
    nil_is_zero: bool,
}

impl GaugeEach<'_> {
    /// `compiledGauge.Values`: a sample per map entry or list element, or one for a value.
    fn values(&self, path: &ValuePath, v: Option<&Value>, errors: &mut Vec<String>) -> Vec<EachValue> {
        let mut out = Vec::new();
        match v {
            Some(Value::Object(map)) => {
                // KSM's shortcut for a one-segment valueFrom naming a key of this very map: that
                // entry's value is used directly (decided on valueFrom's printed form, as KSM does).
                let printed = self.value_from.to_string();
                let shortcut_key =
                    (!printed.contains(',') && printed.len() > 2).then(|| &printed[1..printed.len() - 1]);
                for (key, it) in map {
                    let it = non_null(it);
                    let mut sample = if shortcut_key == Some(key.as_str()) {
                        match to_float64(it, self.nil_is_zero) {
                            Ok(value) => EachValue {
                                labels: LabelSet::new(),
                                value,
                            },
                            Err(e) => {
                                errors.push(format!("{path}: [{key}]: {e}"));
                                continue;
                            }
                        }
                    } else {
                        // KSM drops this branch's errors: it checks for "no value" before
                        // looking at the error.
                        match self.value(it) {
                            Ok(Some(sample)) => sample,
                            _ => continue,
                        }
                    };
                    if !key.is_empty() && !self.label_from_key.is_empty() {
                        sample.labels.insert(self.label_from_key.to_string(), key.clone());
                    }
                    self.labels.add_to(it, &mut sample.labels);
                    // Then relative to the map itself, as KSM does (these win).
                    self.labels.add_to(v, &mut sample.labels);
                    out.push(sample);
                }
            }
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    let item = non_null(item);
                    match self.value(item) {
                        Ok(Some(mut sample)) => {
                            self.labels.add_to(item, &mut sample.labels);
                            out.push(sample);
                        }
                        Ok(None) => {}
                        Err(e) => errors.push(format!("{path}: [{i}]: {e}")),
                    }
                }
            }
            _ => match self.value(v) {
                Ok(Some(mut sample)) => {
                    self.labels.add_to(v, &mut sample.labels);
                    out.push(sample);
                }
                Ok(None) => {}
                Err(e) => errors.push(format!("{path}: {e}")),
            },
        }
        out
    }

    /// `compiledGauge.value`: `valueFrom` of one element. Nothing there is 0 with `nilIsZero`,
    /// an error when the element itself is nothing (the path did not resolve), and otherwise
    /// silently no sample.
    fn value(&self, it: Option<&Value>) -> Result<Option<EachValue>, String> {
        let Some(got) = self.value_from.get(it) else {
            if self.nil_is_zero {
                return Ok(Some(EachValue {
                    labels: LabelSet::new(),
                    value: 0.0,
                }));
            }
            if it.is_none() {
                return Err("got nil while resolving path".to_string());
            }
            return Ok(None);
        };
        let value = to_float64(Some(got), self.nil_is_zero).map_err(|e| format!("{}: {e}", self.value_from))?;
        Ok(Some(EachValue {
            labels: LabelSet::new(),
            value,
        }))
    }
}

struct StateSetEach<'a> {
    path: &'a ValuePath,
    labels: &'a LabelPaths,
    list: &'a [String],
    label_name: &'a str,
    value_from: &'a ValuePath,
}

impl StateSetEach<'_> {
    /// `compiledStateSet.values`: one sample per listed state, 1 for the current one. Nothing at
    /// the path is no samples and no error (KSM v2.20, #2884).
    fn values(&self, v: Option<&Value>) -> Result<Vec<EachValue>, String> {
        let current = match self.value_from.get(v) {
            None => return Ok(Vec::new()),
            Some(Value::String(s)) => s,
            Some(other) => {
                return Err(format!(
                    "{}: expected value for path {} to be string, got {}",
                    self.path,
                    self.value_from,
                    go_type(other)
                ));
            }
        };
        Ok(self
            .list
            .iter()
            .map(|state| {
                let mut labels = LabelSet::new();
                labels.insert(self.label_name.to_string(), state.clone());
                self.labels.add_to(v, &mut labels);
                EachValue {
                    labels,
                    value: if state == current { 1.0 } else { 0.0 },
                }
            })
            .collect())
    }
}

/// `compiledInfo.Values`: a sample per list element; for a map, a sample per entry that yields
/// labels (`labelFromKey`, `labelsFromPath` relative to the entry) plus one for the map itself;
/// otherwise one. A sample without labels is not written.
fn info_values(
    path: &ValuePath,
    labels: &LabelPaths,
    label_from_key: &str,
    v: Option<&Value>,
    errors: &mut Vec<String>,
) -> Vec<EachValue> {
    let whole = |v: Option<&Value>| -> Option<EachValue> {
        v?;
        let mut set = LabelSet::new();
        labels.add_to(v, &mut set);
        (!set.is_empty()).then_some(EachValue {
            labels: set,
            value: 1.0,
        })
    };
    match v {
        Some(Value::Array(items)) => items.iter().filter_map(|item| whole(non_null(item))).collect(),
        Some(Value::Object(map)) => {
            let mut out = Vec::new();
            let itself = whole(v);
            if let Some(sample) = &itself
                && !label_from_key.is_empty()
                && sample.labels.contains_key(label_from_key)
            {
                // KSM logs this and still writes the sample.
                errors.push(format!(
                    "{path}: [labelFromKey ({label_from_key}) generated labels conflict with labelsFromPath, consider renaming it]"
                ));
            }
            for (key, it) in map {
                let mut set = LabelSet::new();
                if !key.is_empty() && !label_from_key.is_empty() {
                    set.insert(label_from_key.to_string(), key.clone());
                }
                labels.add_to(non_null(it), &mut set);
                if !set.is_empty() {
                    out.push(EachValue {
                        labels: set,
                        value: 1.0,
                    });
                }
            }
            out.extend(itself);
            out
        }
        _ => whole(v).into_iter().collect(),
    }
}

/// Go's `%T` of an unstructured value, for messages.
fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_i64() => "int64",
        Value::Number(_) => "float64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}
