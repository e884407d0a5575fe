//! Custom Resource State (CRS): kube-state-metrics' config-driven metrics for any custom
//! resource, the pure part. [`parse`] reads and validates a config file; for each configured
//! resource, [`Resource::families`] compiles its metric families for the GVK it is watched as,
//! and each [`Family`] turns one object (as JSON) into samples, or becomes a
//! [`FamilyDef`](crate::families::FamilyDef) for the store. Only [`kind`] does I/O (watching).
//!
//! Semantics are KSM v2.20's `pkg/customresourcestate`, one module per job:
//! - [`config`]: the schema, validation and error messages;
//! - [`path`]: path segments (`compilePath` / `valuePath.Get`);
//! - [`value`]: value coercion (`toFloat64`) and label-value formatting (Go's `%v`);
//! - [`quantity`] and [`time`]: the quantity and RFC 3339 parsing `toFloat64` relies on;
//! - [`families`]: families, label merging and the Gauge / StateSet / Info generators;
//! - [`yaml`]: the YAML tree the config is read from;
//! - [`discovery`]: which CRDs serve which configured resources (wildcards resolved);
//! - [`kind`]: a resolved resource as a kind of the store (watched, rendered, served);
//! - [`live`]: kinds started and stopped as CRDs come and go and the config file changes.

pub mod config;
pub mod discovery;
pub mod families;
pub mod kind;
pub mod live;
pub mod path;
pub mod quantity;
pub mod time;
pub mod value;
pub mod yaml;

#[cfg(test)]
mod tests;

pub use config::{
    Config, ConfigError, DEFAULT_PREFIX, Each, Gauge, GroupVersionKind, Info, Labels, Metric, MetricType, Resource,
    StateSet, parse,
};
pub use families::{Family, LabelSet, SkipHook, Skipped};
pub use path::ValuePath;

/// Reads a config as `--custom-resource-state-config(-file)` and reloads do: parsed and
/// validated (warnings logged), one entry per resource (KSM refuses a resource configured twice,
/// even under two versions).
pub fn load(text: &str) -> Result<Vec<Resource>, String> {
    let config = parse(text).map_err(|e| e.to_string())?;
    for warning in &config.warnings {
        tracing::warn!(warning, "custom resource state config");
    }
    let mut names = std::collections::BTreeSet::new();
    for resource in config
        .resources
        .iter()
        .filter(|r| !r.group_version_kind.kind_is_wildcard())
    {
        let name = kind::store_name(resource);
        if !names.insert(name.clone()) {
            return Err(format!(
                "{}: {name} is configured twice; merge its metrics into one entry",
                resource.group_version_kind
            ));
        }
    }
    Ok(config.resources)
}
