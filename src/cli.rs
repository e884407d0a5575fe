//! Command-line flags (clap) and their validation into [`Options`]. A bad flag is reported with
//! its name before anything starts.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::families::allowlist::Allowlist;
use crate::families::{Allowlists, FamilyFilter};
use crate::kinds;
use crate::logging::{LogFormat, LogLevel};
use crate::server::ServerOptions;
use crate::server::tls::TlsReloader;
use crate::server::web_config::WebConfig;
use crate::sharding::{Assignment, Method, ShardSource, ShardingOptions};
use crate::usage::UsageSettings;
use crate::usage::parse::parse_go_duration;

/// Kubernetes object state as Prometheus metrics, compatible with kube-state-metrics.
#[derive(Parser, Debug)]
#[command(
    name = "kube-state-exporter",
    version = crate::version::SHORT,
    about,
    long_about = None,
    // `--port 1 run` would otherwise drop `--port 1` silently: run's flags go after `run` or without it.
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// What to do; without a subcommand the exporter runs against the cluster (`run`).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Log line format: `text`, or `json` (one object per line) for log pipelines.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Most verbose level logged. A non-empty RUST_LOG (tracing's filter syntax) replaces it.
    #[arg(long, global = true, value_enum, default_value_t = LogLevel::Info)]
    pub log_level: LogLevel,
    /// Flags of `run`, accepted without the subcommand.
    #[command(flatten)]
    pub run: RunArgs,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
// Parsed once at start-up: boxing `RunArgs` would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Watch a cluster (kubeconfig, KUBECONFIG or in-cluster) and serve /metrics.
    Run(RunArgs),
    /// Print what /metrics would serve for objects read from YAML or JSON files.
    Render(RenderArgs),
    /// Start a simulated, churning cluster and the exporter against it.
    Demo(DemoArgs),
    /// Start the simulated API server alone and write a kubeconfig for it.
    Sim(SimArgs),
    /// Measure sync, memory, scrape latency and event throughput at several scales.
    Bench(BenchArgs),
    /// Capacity per node, namespace and workload, and right-sizing: from the cluster itself, a
    /// running exporter's /metrics, or Prometheus with history.
    Report(ReportArgs),
    /// Print the version, git commit, compiler and target.
    Version,
}

/// What selects and shapes the metric families (shared by `run`, `render` and `demo`).
#[derive(Args, Debug, Clone, Default)]
pub struct FamilyArgs {
    /// Comma-separated resources to export (KSM names). Default: KSM's default set plus apiservices
    /// (`render`: every kind).
    #[arg(long, value_delimiter = ',', env = "KSE_RESOURCES")]
    pub resources: Vec<String>,
    /// Kubernetes labels to export on kube_<resource>_labels, e.g. `pods=[app,team],deployments=[*]`.
    #[arg(long, default_value = "")]
    pub metric_labels_allowlist: String,
    /// Annotations to export on kube_<resource>_annotations, same syntax as the labels allowlist.
    #[arg(long, default_value = "")]
    pub metric_annotations_allowlist: String,
    /// Comma-separated regexes: only matching families are generated (unanchored, as in KSM).
    #[arg(long, value_delimiter = ',')]
    pub metric_allowlist: Vec<String>,
    /// Comma-separated regexes: matching families are not generated. Excludes --metric-allowlist.
    #[arg(long, value_delimiter = ',')]
    pub metric_denylist: Vec<String>,
    /// Comma-separated regexes enabling opt-in families (e.g. kube_pod_nodeselectors).
    #[arg(long, value_delimiter = ',')]
    pub metric_opt_in_list: Vec<String>,
    /// Custom Resource State config (KSM's `kind: CustomResourceStateMetrics` YAML), inline;
    /// wins over --custom-resource-state-config-file.
    #[arg(long, value_name = "YAML")]
    pub custom_resource_state_config: Option<String>,
    /// File with the Custom Resource State config.
    #[arg(long, value_name = "FILE")]
    pub custom_resource_state_config_file: Option<PathBuf>,
    /// Export only the custom resources of the Custom Resource State config, no built-in kind.
    #[arg(long)]
    pub custom_resource_state_only: bool,
    /// Start without the --custom-resource-state-config-file when it does not exist yet, and
    /// load it when it appears.
    #[arg(long)]
    pub continue_without_custom_resource_state_config_file: bool,
}

/// Listener flags.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct ListenArgs {
    /// Address to serve /metrics, /healthz, /livez and /readyz on.
    #[arg(long, default_value = "::")]
    pub host: String,
    /// Port for /metrics and the health endpoints.
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Address for the exporter's own metrics.
    #[arg(long, default_value = "::")]
    pub telemetry_host: String,
    /// Port for the exporter's own metrics.
    #[arg(long, default_value_t = 8081)]
    pub telemetry_port: u16,
    /// Web config file in the Prometheus exporter-toolkit format (TLS, client certificates,
    /// basic auth, response headers, rate limit) for both listeners; KSM's `--tls-config`.
    /// Certificate files are re-read when they change.
    #[arg(long, visible_alias = "tls-config", value_name = "FILE")]
    pub tls_config_file: Option<PathBuf>,
    /// The whole request must arrive within this (Go duration, 0 = no limit).
    #[arg(long, default_value = "1m")]
    pub server_read_timeout: String,
    /// A response must be written within this from its request's arrival, else the connection
    /// is closed: a scraper that stops reading is cut (0 = no limit).
    #[arg(long, default_value = "1m")]
    pub server_write_timeout: String,
    /// Keep-alive connections idle this long are closed (0 = the read timeout).
    #[arg(long, default_value = "5m")]
    pub server_idle_timeout: String,
    /// The request line and headers must arrive within this (0 = the read timeout).
    #[arg(long, default_value = "5s")]
    pub server_read_header_timeout: String,
    /// /metrics responses produced at once; more get 503 with `Retry-After: 1`. Each holds a
    /// snapshot's pointers, a queue of chunks and a compressor, so this bounds scrape memory;
    /// 10 leaves room for several Prometheus replicas and ad-hoc curls.
    #[arg(long, default_value_t = 10)]
    pub max_concurrent_scrapes: usize,
    /// On SIGTERM/SIGINT, how long requests in flight may take to finish before the
    /// listeners close; new connections are refused at once.
    #[arg(long, default_value = "10s")]
    pub shutdown_grace_period: String,
    /// Serve the capacity report (`kube-state-exporter report`'s page) at /report on the metrics
    /// port, read-only, behind the same TLS and auth; `?namespace=`, `?top=`, `?format=json`.
    #[arg(long)]
    pub report: bool,
}

impl ListenArgs {
    /// Both listeners on 127.0.0.1 at ports the system picks: for an exporter run inside
    /// another command (the report's cluster snapshot) or a test.
    pub fn loopback() -> ListenArgs {
        ListenArgs {
            host: "127.0.0.1".into(),
            port: 0,
            telemetry_host: "127.0.0.1".into(),
            telemetry_port: 0,
            ..ListenArgs::default()
        }
    }
}

impl Default for ListenArgs {
    /// The flags' defaults.
    fn default() -> Self {
        ListenArgs {
            host: "::".into(),
            port: 8080,
            telemetry_host: "::".into(),
            telemetry_port: 8081,
            tls_config_file: None,
            server_read_timeout: "1m".into(),
            server_write_timeout: "1m".into(),
            server_idle_timeout: "5m".into(),
            server_read_header_timeout: "5s".into(),
            max_concurrent_scrapes: 10,
            shutdown_grace_period: "10s".into(),
            report: false,
        }
    }
}

impl ListenArgs {
    /// Validates the serving flags and loads the web config file (and its certificates).
    /// Errors name the flag, and for the web config the field.
    pub fn server_options(&self) -> Result<ServerOptions, String> {
        let duration = |flag: &str, raw: &str| {
            parse_go_duration(raw)
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map(Duration::from_secs_f64)
                .ok_or_else(|| format!("--{flag}: invalid duration {raw:?} (use e.g. 5s, 1m, 1m30s; 0 = no limit)"))
        };
        if self.max_concurrent_scrapes == 0 {
            return Err("--max-concurrent-scrapes: must be at least 1".into());
        }
        let mut options = ServerOptions {
            read_timeout: duration("server-read-timeout", &self.server_read_timeout)?,
            write_timeout: duration("server-write-timeout", &self.server_write_timeout)?,
            idle_timeout: duration("server-idle-timeout", &self.server_idle_timeout)?,
            read_header_timeout: duration("server-read-header-timeout", &self.server_read_header_timeout)?,
            max_concurrent_scrapes: self.max_concurrent_scrapes,
            shutdown_grace_period: duration("shutdown-grace-period", &self.shutdown_grace_period)?,
            web: None,
            tls: None,
        };
        if let Some(path) = &self.tls_config_file {
            let flag = |e: String| format!("--tls-config-file {}: {e}", path.display());
            let web = WebConfig::load(path).map_err(flag)?;
            if let Some(tls) = &web.tls {
                options.tls = Some(Arc::new(TlsReloader::new(tls.clone()).map_err(flag)?));
            }
            options.web = Some(Arc::new(web));
        }
        Ok(options)
    }
}

/// Flags of `run`.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// YAML options file with KSM's config keys (`resources`, `namespaces`, `port`, …) and this
    /// exporter's flags (`usage_interval`, …); its values override the command line. Read once
    /// at start-up: restart to apply a change.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Path to a kubeconfig. Default: $KUBECONFIG, ~/.kube/config, then in-cluster config.
    #[arg(long, env = "KUBECONFIG")]
    pub kubeconfig: Option<PathBuf>,
    /// API server URL, overriding the one in the kubeconfig.
    #[arg(long)]
    pub apiserver: Option<String>,
    /// Comma-separated namespaces to watch. Default: all.
    #[arg(long, value_delimiter = ',')]
    pub namespaces: Vec<String>,
    /// Comma-separated namespaces whose objects are not exported: every list and watch of a
    /// namespaced kind carries `metadata.namespace!=X` field selectors, as in KSM. With
    /// `--namespaces`, the listed namespaces minus these are watched.
    #[arg(long, value_delimiter = ',')]
    pub namespaces_denylist: Vec<String>,
    /// Page size (`limit`) of the initial lists.
    #[arg(long, default_value_t = 500)]
    pub watch_page_size: u32,
    /// Longest wait for the API server to start answering a list or watch, and for the next
    /// bytes of a list response; past it the call fails, `/readyz` says so, and it is retried
    /// with backoff (0 = no limit).
    #[arg(long, default_value = "1m")]
    pub api_timeout: String,
    /// This instance's zero-based shard: it keeps the objects whose UID hashes to it (KSM's
    /// FNV-1a + jump hash, so shards are interchangeable with KSM's).
    #[arg(long, default_value_t = 0)]
    pub shard: u32,
    /// Number of shards; 1 = no sharding.
    #[arg(long, default_value_t = 1)]
    pub total_shards: u32,
    /// Auto-sharding: this pod's name (downward API). With --pod-namespace, the shard is the
    /// pod's ordinal in its StatefulSet of `spec.replicas` shards, followed live; --shard and
    /// --total-shards are then ignored, as in KSM.
    #[arg(long, default_value = "")]
    pub pod: String,
    /// Auto-sharding: this pod's namespace (downward API).
    #[arg(long, default_value = "")]
    pub pod_namespace: String,
    /// Divide objects by FNV-1a hash ranges and ask the API server to filter them
    /// (KEP-5866 `shardSelector`, Kubernetes 1.36+ with the ShardedListAndWatch feature gate), so
    /// a shard downloads only its own objects; without the gate the shard filters them itself.
    /// Range shards are not jump-hash shards: a fleet uses one mode throughout.
    #[arg(long)]
    pub server_side_sharding: bool,
    /// Keep every packed run's lines beside its compressed form instead of the compressed form
    /// alone: plain (non-gzip) scrapes get about 2× faster, for 2× (10k pods) to 4× (100k) the
    /// steady memory.
    /// Prometheus scrapes with gzip; see docs/PERFORMANCE.md.
    #[arg(long)]
    pub cache_plain_lines: bool,
    /// Most MiB of lines kept uncompressed for blocks that changed in the last 10 s (an update
    /// compares an object's old lines, which decodes its block); past it the blocks changed
    /// longest ago are compressed again at once. Bounds memory under churn spread over the whole
    /// cluster, for the CPU of decoding a block again at its next update.
    #[arg(long, default_value_t = (crate::store::precompress::DEFAULT_HOT_BUDGET >> 20) as u32, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_hot_lines_mib: u32,
    /// Poll metrics.k8s.io (metrics-server) for node and pod usage and export its health;
    /// `--usage=false` turns the polling and those families off. Needs the pods and nodes resources.
    #[arg(
        long,
        default_value_t = true,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        action = clap::ArgAction::Set
    )]
    pub usage: bool,
    /// Time between metrics.k8s.io polls (`30s`, `1m`; at least 15s), with ±10% jitter.
    #[arg(long, default_value = "30s")]
    pub usage_interval: String,
    /// Client timeout of one metrics.k8s.io request; shorter than --usage-interval.
    #[arg(long, default_value = "10s")]
    pub usage_timeout: String,
    /// Usage samples are dropped once no metrics.k8s.io poll has succeeded for this long.
    #[arg(long, default_value = "5m")]
    pub usage_max_age: String,
    /// Nodes and pods younger than this are not yet expected to have metrics (coverage).
    #[arg(long, default_value = "60s")]
    pub usage_grace: String,
    #[command(flatten)]
    pub listen: ListenArgs,
    #[command(flatten)]
    pub families: FamilyArgs,
}

/// Flags of `render`.
#[derive(Args, Debug, Clone)]
pub struct RenderArgs {
    /// Files with Kubernetes objects (YAML or JSON; single objects, `kind: List`, multi-document).
    /// `-` reads standard input.
    #[arg(short = 'f', long = "filename", required = true, num_args = 1..)]
    pub files: Vec<PathBuf>,
    /// Output format: `text` (0.0.4) or `openmetrics`.
    #[arg(long, default_value = "text", value_parser = ["text", "openmetrics"])]
    pub format: String,
    #[command(flatten)]
    pub families: FamilyArgs,
}

/// Flags of `demo`.
#[derive(Args, Debug, Clone)]
pub struct DemoArgs {
    /// Approximate number of pods in the simulated cluster.
    #[arg(long, default_value_t = 300)]
    pub objects: usize,
    /// Object changes per second in the simulated cluster (0 = static).
    #[arg(long, default_value_t = 20)]
    pub churn: usize,
    /// Seed of the generated cluster.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Address to serve /metrics on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port for /metrics.
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Address for the exporter's own metrics.
    #[arg(long, default_value = "127.0.0.1")]
    pub telemetry_host: String,
    /// Port for the exporter's own metrics.
    #[arg(long, default_value_t = 8081)]
    pub telemetry_port: u16,
    #[command(flatten)]
    pub families: FamilyArgs,
}

/// Flags of `sim`.
#[derive(Args, Debug, Clone)]
pub struct SimArgs {
    /// Address of the simulated API server (loopback only is recommended).
    #[arg(long, default_value = "127.0.0.1:6443")]
    pub listen: std::net::SocketAddr,
    /// Where to write the kubeconfig for it.
    #[arg(long, default_value = "sim.kubeconfig")]
    pub kubeconfig_out: PathBuf,
    /// Approximate number of pods to create (0 = empty cluster).
    #[arg(long, default_value_t = 0)]
    pub objects: usize,
    /// Object changes per second (0 = static).
    #[arg(long, default_value_t = 0)]
    pub churn: usize,
    /// Seed of the generated cluster.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// Flags of `bench`.
#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Cluster sizes to measure, in pods.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000,100000")]
    pub pods: Vec<usize>,
    /// Sequential scrapes per latency series (at least 20).
    #[arg(long, default_value_t = 20)]
    pub scrapes: usize,
    /// Parallel scrapers in the concurrency phase.
    #[arg(long, default_value_t = 20)]
    pub parallel: usize,
    /// Pod status updates per second sent during the concurrency phase.
    #[arg(long, default_value_t = 1000)]
    pub events_per_second: usize,
    /// Seed of the generated clusters.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// One small scale (300 pods) for a quick check that everything runs.
    #[arg(long)]
    pub quick: bool,
    /// Print the report as JSON instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Run the exporter with `--cache-plain-lines` (lines kept beside their compressed form).
    #[arg(long)]
    pub cache_plain_lines: bool,
    /// Run the exporter with this `--max-hot-lines-mib` (its default when absent).
    #[arg(long)]
    pub max_hot_lines_mib: Option<u32>,
    /// Soak instead of the scales: run this long (e.g. `1h`) against a churning cluster with
    /// forced relists, an API outage and a quiet stretch; report RSS slope, lag and latency.
    #[arg(long, value_name = "DURATION")]
    pub soak: Option<String>,
    /// Pods of the soak's cluster.
    #[arg(long, default_value_t = 10_000)]
    pub soak_pods: usize,
    /// Churn operations per second during the soak (kubelet, job, rollout, scaling events;
    /// node lease renewals come on top).
    #[arg(long, default_value_t = 100)]
    pub soak_churn: usize,
    /// Instead of the scales: sync an exporter on a pod list of more than this many MiB of JSON,
    /// streamed and paginated, and report its peak memory against the list's size.
    #[arg(long, value_name = "MIB")]
    pub big_list_mib: Option<u64>,
}

/// Output formats of `report`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// A table that fits 100 columns; colour on a terminal only.
    #[default]
    Table,
    /// The whole report as JSON (cores and bytes).
    Json,
    /// The whole report as YAML.
    Yaml,
    /// One view (`--view`) as CSV.
    Csv,
    /// One self-contained page (inline SVG charts, no network): `-o html > report.html`.
    Html,
}

/// Flags of `report`.
#[derive(Args, Debug, Clone)]
pub struct ReportArgs {
    /// A running kube-state-exporter's (or KSM's) metrics URL: the state now, usage if exported.
    #[arg(long, value_name = "URL")]
    pub metrics_url: Option<String>,
    /// Prometheus' URL (http://HOST:9090): the state now plus usage history over --window.
    #[arg(long, value_name = "URL")]
    pub prometheus: Option<String>,
    /// Read the cluster itself (one list of pods, nodes, ReplicaSets and Jobs and one
    /// metrics.k8s.io read) with this kubeconfig; without any source flag, `KUBECONFIG`,
    /// ~/.kube/config or the in-cluster service account.
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// History window for --prometheus (a Prometheus duration: 7d, 12h, 1h30m).
    #[arg(long, default_value = "7d")]
    pub window: String,
    /// With --prometheus: the report as of this time (RFC 3339 or unix seconds) instead of now;
    /// the window ends there.
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// Label matchers added to every Prometheus query, e.g. `job="kube-state-metrics",cluster="prod"`.
    #[arg(long, value_name = "MATCHERS")]
    pub selector: Option<String>,
    /// Only these namespaces (repeat or comma-separate).
    #[arg(short = 'n', long, value_delimiter = ',')]
    pub namespace: Vec<String>,
    /// Only pods whose labels match (`app=web,tier!=db`); reads kube_pod_labels, so the labels
    /// must be allowlisted (--metric-labels-allowlist=pods=[...]).
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub label_selector: Option<String>,
    /// Row order in every section.
    #[arg(long, value_enum, default_value_t = crate::report::build::SortKey::Cpu)]
    pub sort: crate::report::build::SortKey,
    /// At most N rows per section.
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = ReportFormat::Table)]
    pub output: ReportFormat,
    /// The table `-o csv` writes.
    #[arg(long, value_enum, default_value_t = crate::report::text::View::Containers)]
    pub view: crate::report::text::View,
}

/// Validated family options.
#[derive(Clone, Debug)]
pub struct FamilyOptions {
    /// Enabled resources, sorted.
    pub resources: Vec<String>,
    /// Label and annotation allowlists.
    pub allowlists: Allowlists,
    /// Family name filter.
    pub filter: FamilyFilter,
    /// Custom resources from the Custom Resource State config, each a kind of its own.
    pub custom_resources: Vec<crate::crs::Resource>,
    /// The Custom Resource State config file to reload on change (`None` when the config is
    /// inline or absent).
    pub custom_resource_file: Option<PathBuf>,
}

fn regexes(flag: &str, raw: &[String]) -> Result<Vec<regex::Regex>, String> {
    raw.iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| regex::Regex::new(s).map_err(|e| format!("--{flag}: invalid regex {s:?}: {e}")))
        .collect()
}

impl FamilyArgs {
    /// Validates the flags; without `--resources`, KSM's default set is on. Errors name the flag.
    pub fn validate(&self) -> Result<FamilyOptions, String> {
        self.validate_with(kinds::default_resources())
    }

    /// As [`FamilyArgs::validate`], but every kind is on without `--resources`: `render` reads
    /// whatever objects it is given, and the files already say which kinds they hold.
    pub fn validate_for_render(&self) -> Result<FamilyOptions, String> {
        self.validate_with(kinds::resources())
    }

    fn validate_with(&self, default_resources: &[&str]) -> Result<FamilyOptions, String> {
        let mut resources: Vec<String> = self
            .resources
            .iter()
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty())
            .collect();
        if resources.is_empty() {
            resources = default_resources.iter().map(|r| r.to_string()).collect();
        }
        for r in &resources {
            if !kinds::resources().contains(&r.as_str()) {
                return Err(format!(
                    "--resources: unknown resource {r:?}; supported: {}",
                    kinds::resources().join(",")
                ));
            }
        }
        resources.sort();
        resources.dedup();
        let labels =
            Allowlist::parse(&self.metric_labels_allowlist).map_err(|e| format!("--metric-labels-allowlist: {e}"))?;
        let annotations = Allowlist::parse(&self.metric_annotations_allowlist)
            .map_err(|e| format!("--metric-annotations-allowlist: {e}"))?;
        for (flag, list) in [
            ("metric-labels-allowlist", &labels),
            ("metric-annotations-allowlist", &annotations),
        ] {
            for r in list.resources() {
                if r != "*" && !kinds::resources().contains(&r) {
                    return Err(format!(
                        "--{flag}: unknown resource {r:?}; supported: {}",
                        kinds::resources().join(",")
                    ));
                }
            }
        }
        let filter = FamilyFilter {
            allow: regexes("metric-allowlist", &self.metric_allowlist)?,
            deny: regexes("metric-denylist", &self.metric_denylist)?,
            opt_in: regexes("metric-opt-in-list", &self.metric_opt_in_list)?,
        };
        if !filter.allow.is_empty() && !filter.deny.is_empty() {
            return Err("--metric-allowlist and --metric-denylist are mutually exclusive".into());
        }
        let custom_resources = self.custom_resources()?;
        if self.custom_resource_state_only {
            if custom_resources.is_empty() && self.custom_resource_state_config_file.is_none() {
                return Err("--custom-resource-state-only needs a --custom-resource-state-config(-file)".into());
            }
            resources.clear();
        }
        Ok(FamilyOptions {
            resources,
            allowlists: Allowlists { labels, annotations },
            filter,
            custom_resources,
            custom_resource_file: match self.custom_resource_state_config {
                Some(_) => None,
                None => self.custom_resource_state_config_file.clone(),
            },
        })
    }
}

impl FamilyArgs {
    /// The resources of the Custom Resource State config (inline, else the file; none without
    /// either). Errors name the flag, and the config's own errors the resource, metric and field.
    fn custom_resources(&self) -> Result<Vec<crate::crs::Resource>, String> {
        let (flag, text) = match (
            &self.custom_resource_state_config,
            &self.custom_resource_state_config_file,
        ) {
            (Some(inline), _) => ("--custom-resource-state-config".to_string(), inline.clone()),
            (None, Some(path)) => {
                let flag = format!("--custom-resource-state-config-file {}", path.display());
                match std::fs::read_to_string(path) {
                    Ok(text) => (flag, text),
                    Err(e)
                        if e.kind() == std::io::ErrorKind::NotFound
                            && self.continue_without_custom_resource_state_config_file =>
                    {
                        tracing::warn!(file = %path.display(), "custom resource state config file not found; starting without it, it is loaded when it appears");
                        return Ok(Vec::new());
                    }
                    Err(e) => return Err(format!("{flag}: {e}")),
                }
            }
            (None, None) => return Ok(Vec::new()),
        };
        crate::crs::load(&text).map_err(|e| format!("{flag}: {e}"))
    }
}

impl RunArgs {
    /// `--api-timeout` as a bound (`None` for 0 = no limit). Errors name the flag.
    pub fn validate_api_timeout(&self) -> Result<Option<Duration>, String> {
        let seconds = parse_go_duration(&self.api_timeout)
            .filter(|s| s.is_finite() && *s >= 0.0)
            .ok_or_else(|| {
                format!(
                    "--api-timeout: invalid duration {:?} (use e.g. 30s, 1m; 0 = no limit)",
                    self.api_timeout
                )
            })?;
        Ok((seconds > 0.0).then(|| Duration::from_secs_f64(seconds)))
    }

    /// Validates the `--usage*` flags against the enabled resources; `None` when usage is off.
    /// Errors name the flag.
    pub fn validate_usage(&self, resources: &[String]) -> Result<Option<UsageSettings>, String> {
        if !self.usage {
            return Ok(None);
        }
        let duration = |flag: &str, raw: &str| {
            parse_go_duration(raw)
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map(Duration::from_secs_f64)
                .ok_or_else(|| format!("--{flag}: invalid duration {raw:?} (use e.g. 30s, 1m, 1m30s)"))
        };
        let interval = duration("usage-interval", &self.usage_interval)?;
        if interval < Duration::from_secs(15) {
            return Err(format!(
                "--usage-interval: must be at least 15s (metrics-server's resolution), got {}",
                self.usage_interval
            ));
        }
        let timeout = duration("usage-timeout", &self.usage_timeout)?;
        if timeout.is_zero() || timeout >= interval {
            return Err(format!(
                "--usage-timeout: must be above 0 and shorter than --usage-interval ({}), got {}",
                self.usage_interval, self.usage_timeout
            ));
        }
        let max_age = duration("usage-max-age", &self.usage_max_age)?;
        if max_age < interval {
            return Err(format!(
                "--usage-max-age: must be at least --usage-interval ({}), got {}",
                self.usage_interval, self.usage_max_age
            ));
        }
        let grace = duration("usage-grace", &self.usage_grace)?;
        crate::usage::check_resources(resources)?;
        Ok(Some(UsageSettings {
            interval,
            timeout,
            max_age,
            grace,
        }))
    }

    /// Validates the sharding flags; errors name the flag.
    pub fn validate_sharding(&self) -> Result<ShardingOptions, String> {
        let method = if self.server_side_sharding {
            Method::Ranges
        } else {
            Method::Jump
        };
        let pod = self.pod.trim();
        let namespace = self.pod_namespace.trim();
        if !pod.is_empty() || !namespace.is_empty() {
            if pod.is_empty() || namespace.is_empty() {
                return Err("--pod and --pod-namespace: auto-sharding needs both".into());
            }
            if self.shard != 0 || self.total_shards != 1 {
                tracing::warn!("--shard and --total-shards are ignored while auto-sharding (--pod)");
            }
            return Ok(ShardingOptions {
                source: ShardSource::Auto {
                    pod: pod.to_string(),
                    namespace: namespace.to_string(),
                },
                method,
            });
        }
        if self.total_shards == 0 {
            return Err("--total-shards: must be at least 1".into());
        }
        if self.shard >= self.total_shards {
            return Err(format!(
                "--shard: must be below --total-shards ({}), got {}",
                self.total_shards, self.shard
            ));
        }
        Ok(ShardingOptions {
            source: ShardSource::Static(Assignment {
                ordinal: self.shard,
                total: self.total_shards,
            }),
            method,
        })
    }

    /// Validates `--namespaces`, `--namespaces-denylist` and the page size; errors name the
    /// flag. Returns the namespaces to watch (empty = all) and those to exclude.
    pub fn validate_namespaces(&self) -> Result<(Vec<String>, Vec<String>), String> {
        if self.watch_page_size == 0 {
            return Err("--watch-page-size: must be at least 1".into());
        }
        let namespaces = namespace_list("namespaces", &self.namespaces)?;
        let denylist = namespace_list("namespaces-denylist", &self.namespaces_denylist)?;
        // With both, KSM watches the listed namespaces that are not denied.
        let namespaces: Vec<String> = namespaces.into_iter().filter(|n| !denylist.contains(n)).collect();
        if !self.namespaces.iter().all(|n| n.trim().is_empty()) && namespaces.is_empty() {
            return Err("--namespaces-denylist: denies every namespace given in --namespaces".into());
        }
        Ok((namespaces, denylist))
    }
}

/// Trimmed, non-empty, valid namespace names (RFC 1123 labels).
fn namespace_list(flag: &str, raw: &[String]) -> Result<Vec<String>, String> {
    let namespaces: Vec<String> = raw
        .iter()
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .collect();
    for n in &namespaces {
        let valid = n.len() <= 63
            && n.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !n.starts_with('-')
            && !n.ends_with('-');
        if !valid {
            return Err(format!(
                "--{flag}: {n:?} is not a valid namespace name (RFC 1123 label)"
            ));
        }
    }
    Ok(namespaces)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn family_args(args: &[&str]) -> Result<FamilyOptions, String> {
        let mut argv = vec!["kube-state-exporter", "render", "-f", "x"];
        argv.extend_from_slice(args);
        match Cli::try_parse_from(argv).map_err(|e| e.to_string())?.command {
            Some(Command::Render(r)) => r.families.validate_for_render(),
            _ => unreachable!(),
        }
    }

    const WIDGETS: &str = "kind: CustomResourceStateMetrics\nspec:\n  resources:\n    - groupVersionKind: {group: acme.example, version: v1, kind: Widget}\n      metrics:\n        - name: replicas\n          help: Replicas.\n          each:\n            type: Gauge\n            gauge: {path: [spec, replicas]}\n";

    #[test]
    fn custom_resource_state_config_is_read_inline_or_from_a_file() {
        let inline = family_args(&["--custom-resource-state-config", WIDGETS]).unwrap();
        assert_eq!(inline.custom_resources.len(), 1);
        assert_eq!(inline.custom_resources[0].group_version_kind.kind, "Widget");
        assert!(inline.resources.contains(&"pods".to_string()));
        let dir = std::env::temp_dir().join(format!("kse-crs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("crs.yaml");
        std::fs::write(&file, WIDGETS.replace("Widget", "Gadget")).unwrap();
        let path = file.to_str().unwrap();
        let from_file = family_args(&["--custom-resource-state-config-file", path]).unwrap();
        assert_eq!(from_file.custom_resources[0].group_version_kind.kind, "Gadget");
        assert_eq!(
            from_file.custom_resource_file.as_deref(),
            Some(file.as_path()),
            "the file is reloaded"
        );
        assert_eq!(inline.custom_resource_file, None);
        // Inline wins, as in KSM.
        let both = family_args(&[
            "--custom-resource-state-config-file",
            path,
            "--custom-resource-state-config",
            WIDGETS,
        ])
        .unwrap();
        assert_eq!(both.custom_resources[0].group_version_kind.kind, "Widget");
        assert_eq!(
            both.custom_resource_file, None,
            "an inline config is not reloaded from the file"
        );
        let only = family_args(&[
            "--custom-resource-state-config",
            WIDGETS,
            "--custom-resource-state-only",
        ])
        .unwrap();
        assert!(only.resources.is_empty());
        assert_eq!(only.custom_resources.len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn custom_resource_state_config_errors_stop_start_up_naming_what_is_wrong() {
        let err = family_args(&["--custom-resource-state-config-file", "/nonexistent/crs.yaml"]).unwrap_err();
        assert!(
            err.starts_with("--custom-resource-state-config-file /nonexistent/crs.yaml: "),
            "{err}"
        );
        let later = family_args(&[
            "--custom-resource-state-config-file",
            "/nonexistent/crs.yaml",
            "--continue-without-custom-resource-state-config-file",
        ])
        .unwrap();
        assert!(later.custom_resources.is_empty());
        assert_eq!(
            later.custom_resource_file.as_deref(),
            Some(std::path::Path::new("/nonexistent/crs.yaml")),
            "loaded when it appears"
        );
        let bad = WIDGETS.replace("type: Gauge", "type: Histogram");
        let err = family_args(&["--custom-resource-state-config", &bad]).unwrap_err();
        assert!(err.starts_with("--custom-resource-state-config: "), "{err}");
        assert!(err.contains("Histogram"), "{err}");
        // Wildcards are resolved against the CRDs at run time (and against the files by `render`).
        let wildcard = WIDGETS.replace("version: v1", "version: \"*\"");
        let resources = family_args(&["--custom-resource-state-config", &wildcard])
            .unwrap()
            .custom_resources;
        assert!(resources[0].group_version_kind.version_is_wildcard());
        let other_version = format!(
            "{WIDGETS}{}",
            &WIDGETS[WIDGETS.find("    - groupVersionKind").unwrap()..].replace("version: v1", "version: v2")
        );
        assert_eq!(
            family_args(&["--custom-resource-state-config", &other_version]).unwrap_err(),
            "--custom-resource-state-config: acme.example/v2, Kind=Widget: widgets.acme.example is configured twice; merge its metrics into one entry",
            "KSM refuses a resource configured twice even under two versions"
        );
        let twice = format!(
            "{WIDGETS}{}",
            &WIDGETS[WIDGETS.find("    - groupVersionKind").unwrap()..]
        );
        assert_eq!(
            family_args(&["--custom-resource-state-config", &twice]).unwrap_err(),
            "--custom-resource-state-config: acme.example/v1, Kind=Widget: widgets.acme.example is configured twice; merge its metrics into one entry"
        );
        assert_eq!(
            family_args(&["--custom-resource-state-only"]).unwrap_err(),
            "--custom-resource-state-only needs a --custom-resource-state-config(-file)"
        );
    }

    #[test]
    fn bad_flags_name_the_flag() {
        assert!(
            family_args(&["--resources", "pods,widgets"])
                .unwrap_err()
                .starts_with("--resources: unknown resource \"widgets\"")
        );
        assert!(
            family_args(&["--metric-labels-allowlist", "pods=app"])
                .unwrap_err()
                .starts_with("--metric-labels-allowlist:")
        );
        assert!(
            family_args(&["--metric-annotations-allowlist", "gizmos=[*]"])
                .unwrap_err()
                .starts_with("--metric-annotations-allowlist: unknown resource")
        );
        assert!(
            family_args(&["--metric-denylist", "kube_pod_("])
                .unwrap_err()
                .starts_with("--metric-denylist: invalid regex")
        );
        assert!(
            family_args(&["--metric-allowlist", "a", "--metric-denylist", "b"])
                .unwrap_err()
                .contains("mutually exclusive")
        );
    }

    #[test]
    fn defaults_are_ksm_default_set_and_every_kind_for_render() {
        let o = FamilyArgs::default().validate().unwrap();
        assert_eq!(o.resources, kinds::default_resources());
        assert!(
            !o.resources.contains(&"roles".to_string()),
            "roles is one of KSM's opt-in resources"
        );
        assert!(o.resources.contains(&"pods".to_string()));
        let o = family_args(&[]).unwrap();
        assert_eq!(o.resources, kinds::resources());
        let o = family_args(&["--resources", "pods, jobs,pods"]).unwrap();
        assert_eq!(o.resources, ["jobs", "pods"]);
    }

    fn usage(args: &[&str]) -> Result<Option<UsageSettings>, String> {
        let mut argv = vec!["kube-state-exporter", "run"];
        argv.extend_from_slice(args);
        let Some(Command::Run(run)) = Cli::try_parse_from(argv).map_err(|e| e.to_string())?.command else {
            unreachable!()
        };
        let families = run.families.validate()?;
        run.validate_usage(&families.resources)
    }

    #[test]
    fn usage_flags_are_checked() {
        assert_eq!(usage(&[]).unwrap(), Some(UsageSettings::default()));
        assert_eq!(usage(&["--usage=false"]).unwrap(), None);
        assert_eq!(usage(&["--usage=false", "--resources", "jobs"]).unwrap(), None);
        assert!(usage(&["--usage"]).unwrap().is_some());
        let s = usage(&[
            "--usage-interval",
            "1m",
            "--usage-timeout",
            "20s",
            "--usage-max-age",
            "10m",
            "--usage-grace",
            "2m",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(
            (s.interval, s.timeout, s.max_age, s.grace),
            (
                Duration::from_secs(60),
                Duration::from_secs(20),
                Duration::from_secs(600),
                Duration::from_secs(120)
            )
        );
        for (args, flag) in [
            (
                &["--usage-interval", "10s"][..],
                "--usage-interval: must be at least 15s",
            ),
            (&["--usage-interval", "30"][..], "--usage-interval: invalid duration"),
            (
                &["--usage-timeout", "30s"][..],
                "--usage-timeout: must be above 0 and shorter",
            ),
            (&["--usage-timeout", "0s"][..], "--usage-timeout:"),
            (&["--usage-max-age", "20s"][..], "--usage-max-age: must be at least"),
            (&["--usage-grace", "soon"][..], "--usage-grace: invalid duration"),
        ] {
            let err = usage(args).unwrap_err();
            assert!(err.starts_with(flag), "{args:?}: {err}");
        }
        let err = usage(&["--resources", "pods,jobs"]).unwrap_err();
        assert!(
            err.contains("--usage") && err.contains("--resources") && err.contains("nodes"),
            "{err}"
        );
    }

    #[test]
    fn namespaces_and_page_size_are_checked() {
        let cli = Cli::try_parse_from(["kube-state-exporter", "--namespaces", "default,Bad_NS"]).unwrap();
        assert!(
            cli.run
                .validate_namespaces()
                .unwrap_err()
                .starts_with("--namespaces: \"Bad_NS\"")
        );
        let cli = Cli::try_parse_from(["kube-state-exporter", "run", "--watch-page-size", "0"]).unwrap();
        let Some(Command::Run(run)) = cli.command else {
            unreachable!()
        };
        assert!(run.validate_namespaces().unwrap_err().starts_with("--watch-page-size"));
        assert!(Cli::try_parse_from(["kube-state-exporter", "--port", "notaport"]).is_err());
    }

    #[test]
    fn run_flags_before_a_subcommand_are_refused_not_dropped() {
        assert!(Cli::try_parse_from(["kube-state-exporter", "--port", "1", "run"]).is_err());
        let cli = Cli::try_parse_from(["kube-state-exporter", "run", "--port", "1"]).unwrap();
        assert!(matches!(cli.command, Some(Command::Run(r)) if r.listen.port == 1));
        assert_eq!(
            Cli::try_parse_from(["kube-state-exporter", "--port", "1"])
                .unwrap()
                .run
                .listen
                .port,
            1
        );
    }

    #[test]
    fn sharding_flags_are_checked() {
        let parse = |args: &[&str]| {
            let mut argv = vec!["kube-state-exporter", "run"];
            argv.extend_from_slice(args);
            let Some(Command::Run(run)) = Cli::try_parse_from(argv).unwrap().command else {
                unreachable!()
            };
            run.validate_sharding()
        };
        assert_eq!(parse(&[]).unwrap(), ShardingOptions::default());
        assert_eq!(
            parse(&["--shard", "2", "--total-shards", "3", "--server-side-sharding"]).unwrap(),
            ShardingOptions {
                source: ShardSource::Static(Assignment { ordinal: 2, total: 3 }),
                method: Method::Ranges,
            }
        );
        assert_eq!(
            parse(&["--pod", "kse-1", "--pod-namespace", "monitoring", "--shard", "5"]).unwrap(),
            ShardingOptions {
                source: ShardSource::Auto {
                    pod: "kse-1".into(),
                    namespace: "monitoring".into()
                },
                method: Method::Jump,
            }
        );
        for (args, error) in [
            (&["--shard", "3", "--total-shards", "3"][..], "--shard: must be below"),
            (&["--total-shards", "0"][..], "--total-shards: must be at least 1"),
            (&["--pod", "kse-1"][..], "--pod and --pod-namespace"),
        ] {
            let e = parse(args).unwrap_err();
            assert!(e.starts_with(error), "{args:?}: {e}");
        }
    }

    #[test]
    fn denylist_narrows_namespaces_and_is_checked() {
        let parse = |args: &[&str]| {
            let mut argv = vec!["kube-state-exporter"];
            argv.extend_from_slice(args);
            Cli::try_parse_from(argv).unwrap().run.validate_namespaces()
        };
        assert_eq!(
            parse(&["--namespaces-denylist", "kube-system, monitoring"]).unwrap(),
            (vec![], vec!["kube-system".to_string(), "monitoring".to_string()])
        );
        assert_eq!(
            parse(&["--namespaces", "a,b", "--namespaces-denylist", "b"]).unwrap(),
            (vec!["a".to_string()], vec!["b".to_string()])
        );
        assert!(
            parse(&["--namespaces", "a", "--namespaces-denylist", "a"])
                .unwrap_err()
                .starts_with("--namespaces-denylist: denies every namespace")
        );
        assert!(
            parse(&["--namespaces-denylist", "Kube_System"])
                .unwrap_err()
                .starts_with("--namespaces-denylist: \"Kube_System\"")
        );
    }
}
