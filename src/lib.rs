//! kube-state-exporter: Kubernetes object state (and metrics.k8s.io usage) as Prometheus
//! metrics, compatible with kube-state-metrics.
//!
//! The flow, one module per stage: [`watch`] (list/watch the API) → [`families`] (object →
//! exposition bytes, rendered once per change) → [`store`] (per-kind byte cache) → [`server`]
//! (`/metrics` copies bytes). [`sim`] is a simulated API server for tests, benches and `demo`.

pub mod app;
pub mod autoshard;
pub mod bench;
pub mod cli;
pub mod client;
pub mod config;
pub mod contract;
pub mod crs;
pub mod decode;
pub mod demo;
pub mod exposition;
pub mod families;
pub mod kinds;
pub mod logging;
#[cfg(test)]
mod manifests;
pub mod render;
pub mod report;
pub mod server;
pub mod sharding;
pub mod sim;
pub mod store;
pub mod telemetry;
pub mod usage;
pub mod version;
pub mod watch;
