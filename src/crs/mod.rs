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
//! - [`kind`]: a configured resource as a kind of the store (watched, rendered, served).

pub mod config;
pub mod families;
pub mod kind;
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
