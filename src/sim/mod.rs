//! A simulated Kubernetes API server over real HTTP on 127.0.0.1 (tests, benches, `demo`).
//!
//! It speaks the wire protocol of a kube-apiserver v1.36 as kube-rs uses it, checked against the
//! raw captures in `shared/reference/apiserver-wire/`:
//! - discovery: `/version`, `/api`, `/apis`, `/api/v1`, `/apis/{group}[/{version}]`;
//! - list: `kind: XList`, items without apiVersion/kind sorted by namespace/name, one global
//!   `metadata.resourceVersion`, `limit` + `continue` served from a snapshot (pages after the first
//!   see the state of the first), `remainingItemCount`, `resourceVersion`/`resourceVersionMatch`,
//!   label and field selectors;
//! - watch: newline-delimited events over chunked HTTP 200, replay from a resourceVersion out of a
//!   bounded event log, BOOKMARKs, `sendInitialEvents` with the initial-events-end bookmark,
//!   `timeoutSeconds`, and the in-stream ERROR 410 for a compacted resourceVersion;
//! - errors shaped like the real ones (404 text vs Status, 403, 409, 410, 422, 504);
//! - writes over HTTP (POST, PUT, merge PATCH incl. `/status`, DELETE) so curl can drive it;
//! - `apiregistration.k8s.io/v1` APIServices (stored and watchable like every other resource);
//! - `apiextensions.k8s.io/v1` CustomResourceDefinitions, and the custom resources each one
//!   serves from its creation to its deletion (see [`crd`]): the registry grows and shrinks while
//!   the server runs;
//! - `metrics.k8s.io` (`v1beta1`, and `v1` unless [`SimConfig::metrics_v1`] is off) as
//!   metrics-server serves it behind the aggregation layer: get/list only, NodeMetrics and
//!   PodMetrics derived on every request from the current Nodes and Pods (see [`metrics`]), the
//!   aggregator's text/plain 503 while the metrics APIService is unavailable.
//!
//! Objects are held pre-serialized (JSON without apiVersion/kind), so a list of 100k pods is a
//! copy of bytes. [`Faults`] breaks it on purpose for reliability tests.

pub mod cluster;
mod crd;
mod cut;
mod faults;
mod http;
mod json;
pub mod metrics;
mod outage;
pub mod registry;
mod selector;
mod shard;
mod status;
mod store;
mod watch;

#[cfg(test)]
mod testclient;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_crd;
#[cfg(test)]
mod tests_kube;
#[cfg(test)]
mod tests_metrics;
#[cfg(test)]
mod tests_wire;

pub use crd::crd_manifest;
pub use faults::Faults;
pub use registry::ResourceDef;

use anyhow::Context;
use registry::Registry;
use serde_json::Value;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use store::{Core, WriteMode};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Settings of a simulated server.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// How often a watch with `allowWatchBookmarks=true` gets a BOOKMARK (default 5 s).
    pub bookmark_interval: Duration,
    /// Events kept for watch replay (default 200 000); dropping the oldest moves the compaction
    /// floor, so a watch (or continue token) from before it gets 410.
    pub event_log_capacity: usize,
    /// Serve `metrics.k8s.io/v1` (Kubernetes ≥ 1.37) besides `v1beta1` (default true). Off, only
    /// `v1beta1` exists, as on v1.36 (`apis.http`). The generated cluster's `v1.metrics.k8s.io`
    /// APIService follows `ClusterSpec::metrics_v1`; keep the two in step.
    pub metrics_v1: bool,
    /// metrics-server's `--metric-resolution` (default 15 s): sample timestamps advance in steps
    /// of it and `window` is about it. Tests use a short one (≥ 1 s: timestamps have second
    /// precision).
    pub metrics_resolution: Duration,
    /// The ShardedListAndWatch feature gate (KEP-5866, alpha in 1.36, off by default as on a
    /// real server): on, lists and watches honour `shardSelector` and lists echo `shardInfo`.
    pub sharded_list_and_watch: bool,
    /// The WatchList feature (on by default since 1.32): off, a watch with `sendInitialEvents`
    /// is refused with 422, as by a server with the feature gate disabled.
    pub watch_list: bool,
}

impl Default for SimConfig {
    fn default() -> SimConfig {
        SimConfig {
            bookmark_interval: Duration::from_secs(5),
            event_log_capacity: 200_000,
            metrics_v1: true,
            metrics_resolution: Duration::from_secs(15),
            sharded_list_and_watch: false,
            watch_list: true,
        }
    }
}

/// Errors of the Rust-side write API (the HTTP side answers the matching Status).
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// 404: the object does not exist.
    #[error("{0}")]
    NotFound(String),
    /// 409: an object with that namespace/name exists.
    #[error("{0}")]
    AlreadyExists(String),
    /// 422/400/409-conflict: the object or request is invalid.
    #[error("{0}")]
    Invalid(String),
    /// No served resource for that apiVersion/kind or resource name.
    #[error("{0}")]
    UnknownResource(String),
}

/// A running simulated API server. Dropping it stops the server (open watches end).
pub struct Sim {
    core: Arc<Core>,
    faults: Faults,
    addr: SocketAddr,
    shutdown_tx: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl Sim {
    /// Starts on 127.0.0.1 with a free port and the default config.
    pub async fn start() -> anyhow::Result<Sim> {
        Sim::start_with(
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            SimConfig::default(),
        )
        .await
    }

    /// Starts on `addr` (port 0 picks a free one).
    pub async fn start_with(addr: SocketAddr, config: SimConfig) -> anyhow::Result<Sim> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("sim: binding {addr}"))?;
        let local = listener.local_addr().context("sim: local address")?;
        let defs = registry::builtin()
            .into_iter()
            .filter(|d| config.metrics_v1 || !(d.group == metrics::GROUP && d.version == "v1"))
            .collect();
        let core = Arc::new(Core::new(config, Registry::new(defs), local));
        let app = http::router(core.clone());
        let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
        let listener = outage::GatedListener {
            inner: listener,
            core: core.clone(),
        };
        let server = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = shutdown_rx.await;
            });
            if let Err(e) = serve.await {
                tracing::warn!(error = %e, "sim server ended with an error");
            }
        });
        Ok(Sim {
            faults: Faults::new(core.clone()),
            core,
            addr: local,
            shutdown_tx: Some(shutdown_tx),
            server: Some(server),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (an unspecified bind address is reported as 127.0.0.1).
    pub fn url(&self) -> String {
        let mut a = self.addr;
        if a.ip().is_unspecified() {
            a.set_ip(IpAddr::V4(Ipv4Addr::LOCALHOST));
        }
        format!("http://{a}")
    }

    /// A kubeconfig for [`url`](Self::url): cluster, user and context all named `sim`, a dummy token.
    pub fn kubeconfig_yaml(&self) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: sim\n  cluster:\n    server: {}\ncontexts:\n- name: sim\n  context:\n    cluster: sim\n    user: sim\n    namespace: default\ncurrent-context: sim\nusers:\n- name: sim\n  user:\n    token: sim-token\npreferences: {{}}\n",
            self.url()
        )
    }

    /// Writes [`kubeconfig_yaml`](Self::kubeconfig_yaml) to `path`.
    pub fn write_kubeconfig(&self, path: &Path) -> std::io::Result<()> {
        std::fs::write(path, self.kubeconfig_yaml())
    }

    fn res_of(&self, obj: &Value) -> Result<usize, SimError> {
        let api = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
        let res = self.core.reg.by_type(api, kind).ok_or_else(|| {
            SimError::UnknownResource(format!("no resource served for apiVersion {api:?} kind {kind:?}"))
        })?;
        self.writable(res)
    }

    fn res_named(&self, resource: &str) -> Result<usize, SimError> {
        let res = self
            .core
            .reg
            .by_name(resource)
            .ok_or_else(|| SimError::UnknownResource(format!("no resource {resource:?} served")))?;
        self.writable(res)
    }

    /// Derived resources (metrics.k8s.io) are computed, never written.
    fn writable(&self, res: usize) -> Result<usize, SimError> {
        let def = self.core.reg.def(res);
        if def.derived {
            return Err(SimError::UnknownResource(format!(
                "{}.{} is derived from nodes and pods and cannot be written",
                def.plural, def.group
            )));
        }
        Ok(res)
    }

    /// Creates an object; the resource comes from its apiVersion + kind. Keeps a given
    /// `metadata.uid`/`creationTimestamp`/`generation`, fills missing ones (random v4 uid, now,
    /// generation 1 where the API server maintains it), stamps `metadata.resourceVersion`. A
    /// namespaced object without a namespace goes to `default`. Returns the stored object. A
    /// CustomResourceDefinition (see [`crd_manifest`]) serves its versions as soon as this returns;
    /// the returned object is what a real POST answers (status without conditions), a later
    /// [`get`](Self::get) shows it established. Custom resources are then created like any object
    /// (`apiVersion: group/version`, `kind`).
    pub fn create(&self, obj: Value) -> Result<Value, SimError> {
        let res = self.res_of(&obj)?;
        self.core
            .create(res, obj, None, false)
            .map_err(|e| e.to_sim_error(&self.core.reg))
    }

    /// Full update of an existing object (status included). Keeps uid/creationTimestamp, bumps
    /// generation when `.spec` changed. An update that changes nothing is a no-op (no event, same
    /// resourceVersion), as on a real server.
    pub fn replace(&self, obj: Value) -> Result<Value, SimError> {
        let res = self.res_of(&obj)?;
        self.core
            .update(res, None, None, obj, WriteMode::Full, false)
            .map_err(|e| e.to_sim_error(&self.core.reg))
    }

    /// RFC 7386 JSON merge patch (status included). `resource` is a plural (`pods`), or
    /// `plural.group` to pick a group. A patch that sets `metadata.deletionTimestamp` on a pod
    /// marks it Terminating, as a DELETE with a grace period does; a later `delete` removes it.
    pub fn patch(
        &self,
        resource: &str,
        namespace: Option<&str>,
        name: &str,
        merge_patch: &Value,
    ) -> Result<Value, SimError> {
        let res = self.res_named(resource)?;
        self.core
            .patch(res, namespace, name, merge_patch, WriteMode::Full)
            .map_err(|e| e.to_sim_error(&self.core.reg))
    }

    /// Deletes an object; returns the final object, as the DELETED event carries it (with a new
    /// resourceVersion). Pods first get a MODIFIED with `deletionTimestamp` and
    /// `deletionGracePeriodSeconds: 0` (watch-pods-bookmarks.http). An object with finalizers is
    /// only marked (MODIFIED with deletionTimestamp); it goes when an update removes the last one.
    /// `customresourcedefinitions` deletes every custom resource of the CRD first and returns the
    /// CRD as the DELETE marked it; its resources are then gone (`plural.group` names them).
    pub fn delete(&self, resource: &str, namespace: Option<&str>, name: &str) -> Result<Value, SimError> {
        let res = self.res_named(resource)?;
        self.core
            .delete(res, namespace, name)
            .map(|(v, _)| v)
            .map_err(|e| e.to_sim_error(&self.core.reg))
    }

    /// The current object (with apiVersion/kind), if it exists. For `nodes.metrics.k8s.io` /
    /// `pods.metrics.k8s.io`: the metrics object a GET would return now (preferred version).
    pub fn get(&self, resource: &str, namespace: Option<&str>, name: &str) -> Option<Value> {
        let res = self.core.reg.by_name(resource)?;
        if self.core.reg.def(res).derived {
            return self.list(resource).into_iter().find(|o| {
                o["metadata"]["name"] == name && namespace.is_none_or(|ns| o["metadata"]["namespace"] == ns)
            });
        }
        self.core.get_value(res, namespace, name)
    }

    /// Current objects of a resource, sorted by namespace/name, with apiVersion/kind. For
    /// `nodes.metrics.k8s.io` / `pods.metrics.k8s.io`: the items a list would return now
    /// (preferred version), with apiVersion/kind added.
    pub fn list(&self, resource: &str) -> Vec<Value> {
        let Some(res) = self.core.reg.by_name(resource) else {
            return Vec::new();
        };
        let def = self.core.reg.def(res);
        if def.derived {
            let items = metrics::items_json(&self.core, def.version, def.plural == "pods");
            return items
                .into_iter()
                .map(|mut v| {
                    if let Value::Object(m) = &mut v {
                        m.insert("kind".into(), Value::String(def.kind.into()));
                        m.insert("apiVersion".into(), Value::String(def.api_version.into()));
                    }
                    v
                })
                .collect();
        }
        self.core.list_values(res)
    }

    /// The NodeMetrics items a list of `/apis/metrics.k8s.io/{version}/nodes` would return at this
    /// moment (same derivation; `creationTimestamp` is "now", as the real server stamps the
    /// response time). Empty for a version that is not served. Ignores the faults that answer with
    /// an error instead of data (unavailable, missing, fail-next, forbid); honours stale and omit.
    pub fn node_metrics(&self, version: &str) -> Vec<Value> {
        if !self.core.reg.serves_group_version(metrics::GROUP, version) {
            return Vec::new();
        }
        metrics::items_json(&self.core, version, false)
    }

    /// The PodMetrics items of `/apis/metrics.k8s.io/{version}/pods` at this moment, as
    /// [`node_metrics`](Self::node_metrics).
    pub fn pod_metrics(&self, version: &str) -> Vec<Value> {
        if !self.core.reg.serves_group_version(metrics::GROUP, version) {
            return Vec::new();
        }
        metrics::items_json(&self.core, version, true)
    }

    /// Sets the `Available` condition of APIService `name` (a MODIFIED watch event when it
    /// changes; `lastTransitionTime` moves only when `status` does). For a metrics.k8s.io
    /// APIService this is what the aggregator acts on: while its status is not `True`, requests
    /// to that version answer the text/plain 503.
    pub fn set_apiservice_condition(
        &self,
        name: &str,
        status: &str,
        reason: &str,
        message: &str,
    ) -> Result<Value, SimError> {
        metrics::set_apiservice_condition(&self.core, name, status, reason, message)
            .map_err(|e| e.to_sim_error(&self.core.reg))
    }

    /// The current (last assigned) global resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.core.lock().rv
    }

    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    pub fn config(&self) -> &SimConfig {
        &self.core.config
    }

    fn end_watches(&self) {
        {
            let mut st = self.core.lock();
            st.shutdown = true;
            st.drop_gen += 1;
        }
        self.core.wake_watches();
    }

    /// Stops the server: open watches end, in-flight requests finish (at most 5 s).
    pub async fn shutdown(mut self) {
        self.end_watches();
        if let Some(tx) = self.shutdown_tx.take() {
            let _ = tx.send(());
        }
        if let Some(mut server) = self.server.take()
            && tokio::time::timeout(Duration::from_secs(5), &mut server).await.is_err()
        {
            server.abort();
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if self.server.is_some() {
            self.end_watches();
        }
        if let Some(tx) = self.shutdown_tx.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

/// Runs `sim` until ctrl-c, with its kubeconfig written to `kubeconfig_path` (for a `sim`
/// subcommand that populates the sim first).
pub async fn run_until_ctrl_c(sim: Sim, kubeconfig_path: &Path) -> anyhow::Result<()> {
    sim.write_kubeconfig(kubeconfig_path)
        .with_context(|| format!("sim: writing kubeconfig {}", kubeconfig_path.display()))?;
    tracing::info!(url = %sim.url(), kubeconfig = %kubeconfig_path.display(), "simulated API server ready");
    tokio::signal::ctrl_c().await.context("sim: waiting for ctrl-c")?;
    sim.shutdown().await;
    Ok(())
}

/// Serves a sim until ctrl-c; writes its kubeconfig to `kubeconfig_path`. For the `sim` subcommand.
pub async fn serve_standalone(addr: SocketAddr, kubeconfig_path: &Path) -> anyhow::Result<()> {
    let sim = Sim::start_with(addr, SimConfig::default()).await?;
    run_until_ctrl_c(sim, kubeconfig_path).await
}
