//! Wiring: build the store from the options, start one watcher per kind and scope, serve the
//! main and telemetry listeners, stop cleanly on SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use kube::Client;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::cli::{FamilyOptions, ListenArgs, RunArgs};
use crate::kinds;
use crate::server::{self, AppState};
use crate::sharding::{ShardFilter, ShardSource, ShardingOptions};
use crate::store::{KindStore, Store};
use crate::telemetry::Telemetry;
use crate::usage::{self, UsageConfig, UsageFamilies};
use crate::watch::WatchSettings;
use crate::{autoshard, client, crs};

/// Everything needed to start the exporter against an API server.
pub struct ExporterConfig {
    /// How to reach the API server; the watchers' client is built from it, instrumented.
    pub kube: kube::Config,
    /// Which objects this shard keeps.
    pub sharding: ShardingOptions,
    /// Validated family options.
    pub families: FamilyOptions,
    /// Namespaces to watch (empty = all).
    pub namespaces: Vec<String>,
    /// Initial list page size.
    pub page_size: u32,
    /// Namespaces excluded by field selector on every list and watch of a namespaced kind.
    pub namespaces_denylist: Vec<String>,
    /// Listener settings.
    pub listen: ListenArgs,
    /// metrics.k8s.io polling (`None` = off). Needs the pods and nodes resources.
    pub usage: Option<UsageConfig>,
    /// Keep packed runs' lines beside their compressed form (`--cache-plain-lines`).
    pub cache_plain_lines: bool,
    /// Bound on lines held uncompressed for recently changed blocks (`--max-hot-lines-mib`).
    pub max_hot_lines_bytes: usize,
    /// Bound on each API call's wait for an answer and for a list's next bytes (`--api-timeout`;
    /// `None` = unbounded).
    pub api_timeout: Option<Duration>,
}

/// `--api-timeout`'s default: longer than any healthy list page takes, short enough that a hung
/// server shows on `/readyz` within a minute.
pub const DEFAULT_API_TIMEOUT: Duration = Duration::from_secs(60);

/// A running exporter: watchers plus both listeners.
pub struct RunningExporter {
    /// The cache the watchers fill.
    pub store: Arc<Store>,
    /// The exporter's own metrics.
    pub telemetry: Arc<Telemetry>,
    /// Where `/metrics` is served.
    pub metrics_addr: SocketAddr,
    /// Where the telemetry `/metrics` is served.
    pub telemetry_addr: SocketAddr,
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
    /// Tasks that only end when aborted (watchers, the usage poller).
    background: usize,
    /// `--shutdown-grace-period`: how long the listeners may drain.
    shutdown_grace: std::time::Duration,
}

impl RunningExporter {
    /// Binds the listeners and starts the watchers.
    pub async fn start(config: ExporterConfig) -> anyhow::Result<RunningExporter> {
        // First, so a bad serving flag or web config stops start-up before anything runs.
        let server_options = config.listen.server_options().map_err(anyhow::Error::msg)?;
        crate::store::precompress::set_freeze(!config.cache_plain_lines);
        crate::store::precompress::set_hot_budget(config.max_hot_lines_bytes);
        let handles = kinds::registry(
            &config.families.resources,
            &config.families.filter,
            &config.families.allowlists,
        );
        let custom_resources =
            !config.families.custom_resources.is_empty() || config.families.custom_resource_file.is_some();
        let usage_families = match &config.usage {
            Some(_) => {
                usage::check_resources(&config.families.resources).map_err(anyhow::Error::msg)?;
                Some(UsageFamilies::new(&config.families.filter))
            }
            None => None,
        };
        let mut kind_stores: Vec<KindStore> = handles.iter().map(|k| k.new_store(&config.namespaces)).collect();
        if let Some(families) = &usage_families {
            kind_stores.extend(families.kind_stores());
        }
        if custom_resources {
            kind_stores.push(crs::live::discovery_kind());
        }
        let store = Arc::new(Store::new(kind_stores));
        let telemetry = Arc::new(Telemetry::new().context("registering telemetry")?);
        let method = config.sharding.method;
        let initial_filter = match &config.sharding.source {
            ShardSource::Static(assignment) => {
                telemetry.set_shard(assignment.ordinal, assignment.total);
                Some(ShardFilter::new(method, *assignment))
            }
            ShardSource::Auto { .. } => None,
        };
        let (shard_tx, shard_rx) = watch::channel(initial_filter);
        let client = client::watcher_client(
            config.kube.clone(),
            telemetry.clone(),
            shard_rx.clone(),
            config.sharding.server_side(),
            config.api_timeout,
        )
        .context("building the Kubernetes client")?;
        let state = AppState::new(store.clone(), telemetry.clone(), server_options.max_concurrent_scrapes)
            .with_report(config.listen.report);
        let listen = &config.listen;
        let main_listener = server::bind(&listen.host, listen.port)
            .await
            .with_context(|| format!("--host/--port: cannot listen on {}:{}", listen.host, listen.port))?;
        let telemetry_listener = server::bind(&listen.telemetry_host, listen.telemetry_port)
            .await
            .with_context(|| {
                format!(
                    "--telemetry-host/--telemetry-port: cannot listen on {}:{}",
                    listen.telemetry_host, listen.telemetry_port
                )
            })?;
        let metrics_addr = main_listener.local_addr()?;
        let telemetry_addr = telemetry_listener.local_addr()?;
        let (stop, stopped) = watch::channel(false);
        let mut tasks = JoinSet::new();
        for (listener, router) in [
            (main_listener, server::main_router(state.clone())),
            (telemetry_listener, server::telemetry_router(state)),
        ] {
            let mut stopped = stopped.clone();
            let options = server_options.clone();
            tasks.spawn(async move {
                let shutdown = async move {
                    let _ = stopped.wait_for(|s| *s).await;
                };
                if let Err(e) = server::serve(listener, router, &options, shutdown).await {
                    tracing::error!(error = %e, "HTTP server failed");
                }
            });
        }
        let settings = WatchSettings {
            page_size: config.page_size,
            // The server-side shard selector's echo (`metadata.shardInfo`) comes with list
            // responses, so range shards list page by page.
            streaming_lists: !config.sharding.server_side(),
            namespaces_denylist: config.namespaces_denylist.clone(),
            shard: shard_rx,
        };
        let servers = tasks.len();
        for handle in &handles {
            if let Some(kind) = store.kind(handle.resource()) {
                handle.spawn_watchers(&client, &kind, &settings, &telemetry, &mut tasks);
            }
        }
        if custom_resources {
            let live = crs::live::Live {
                client: client.clone(),
                store: store.clone(),
                settings: settings.clone(),
                telemetry: telemetry.clone(),
                namespaces: config.namespaces.clone(),
                filter: config.families.filter.clone(),
            };
            tasks.spawn(crs::live::run(
                live,
                config.families.custom_resources.clone(),
                config.families.custom_resource_file.clone(),
            ));
        }
        if let ShardSource::Auto { pod, namespace } = &config.sharding.source {
            // Its own client: KSM's list/watch counters are about the exported kinds only.
            let plain = Client::try_from(config.kube.clone()).context("building the Kubernetes client")?;
            tasks.spawn(autoshard::run(
                plain,
                pod.clone(),
                namespace.clone(),
                method,
                shard_tx,
                telemetry.clone(),
            ));
        }
        if let (Some(usage), Some(families)) = (config.usage, usage_families) {
            tasks.spawn(usage::run(usage.client, store.clone(), families, usage.settings));
        }
        let background = tasks.len() - servers;
        tracing::info!(
            metrics = %metrics_addr,
            telemetry = %telemetry_addr,
            tls = server_options.tls.is_some(),
            resources = %config.families.resources.join(","),
            "kube-state-exporter started"
        );
        Ok(RunningExporter {
            store,
            telemetry,
            metrics_addr,
            telemetry_addr,
            stop,
            tasks,
            background,
            shutdown_grace: server_options.shutdown_grace_period,
        })
    }

    /// Stops the listeners (new connections refused, requests in flight given
    /// `--shutdown-grace-period` to finish), then the watchers, which keep the cache current
    /// for those last scrapes.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        // The listeners close leftover connections at the end of the grace period themselves;
        // the margin only covers that closing.
        let limit = self.shutdown_grace + std::time::Duration::from_secs(1);
        let drained = tokio::time::timeout(limit, async {
            // Servers end on the signal; watchers and the poller never end on their own.
            while self.tasks.len() > self.background {
                if self.tasks.join_next().await.is_none() {
                    break;
                }
            }
        });
        let _ = drained.await;
        self.tasks.abort_all();
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Builds a client from `--kubeconfig`/`KUBECONFIG`/in-cluster config and `--apiserver`.
pub async fn client_from_args(args: &RunArgs) -> anyhow::Result<Client> {
    Client::try_from(kube_config_from_args(args).await?).context("building the Kubernetes client")
}

/// The client configuration from `--kubeconfig`/`KUBECONFIG`/in-cluster config and `--apiserver`.
pub async fn kube_config_from_args(args: &RunArgs) -> anyhow::Result<kube::Config> {
    let mut config = kube_config(args.kubeconfig.as_deref()).await?;
    if let Some(url) = &args.apiserver {
        config.cluster_url = url
            .parse()
            .with_context(|| format!("--apiserver: invalid URL {url:?}"))?;
    }
    Ok(config)
}

/// `run`: the exporter against a real cluster, until SIGINT/SIGTERM.
pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    let families = args.families.validate().map_err(anyhow::Error::msg)?;
    let (namespaces, namespaces_denylist) = args.validate_namespaces().map_err(anyhow::Error::msg)?;
    let usage_settings = args.validate_usage(&families.resources).map_err(anyhow::Error::msg)?;
    let sharding = args.validate_sharding().map_err(anyhow::Error::msg)?;
    let api_timeout = args.validate_api_timeout().map_err(anyhow::Error::msg)?;
    let kube_config = kube_config_from_args(&args).await?;
    let usage = match usage_settings {
        Some(settings) => Some(UsageConfig {
            client: usage::no_retry_client(kube_config.clone()).context("building the metrics.k8s.io client")?,
            settings,
        }),
        None => None,
    };
    let exporter = RunningExporter::start(ExporterConfig {
        kube: kube_config,
        sharding,
        families,
        namespaces,
        page_size: args.watch_page_size,
        namespaces_denylist,
        listen: args.listen.clone(),
        usage,
        cache_plain_lines: args.cache_plain_lines,
        max_hot_lines_bytes: (args.max_hot_lines_mib as usize) << 20,
        api_timeout,
    })
    .await?;
    shutdown_signal().await;
    tracing::info!("shutting down");
    exporter.shutdown().await;
    Ok(())
}

/// The client configuration from a kubeconfig file, else `KUBECONFIG`, `~/.kube/config` or the
/// in-cluster service account.
pub async fn kube_config(kubeconfig: Option<&std::path::Path>) -> anyhow::Result<kube::Config> {
    match kubeconfig {
        Some(path) => {
            let kubeconfig = kube::config::Kubeconfig::read_from(path)
                .with_context(|| format!("--kubeconfig: cannot read {}", path.display()))?;
            kube::Config::from_custom_kubeconfig(kubeconfig, &kube::config::KubeConfigOptions::default())
                .await
                .with_context(|| format!("--kubeconfig: cannot use {}", path.display()))
        }
        None => kube::Config::infer().await.context(
            "no Kubernetes configuration found: pass --kubeconfig, set KUBECONFIG, run in a cluster, \
             or try `kube-state-exporter demo` for a simulated cluster",
        ),
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
