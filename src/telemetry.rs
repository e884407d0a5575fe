//! The exporter's own metrics, served on the telemetry port (`--telemetry-port`), separate from
//! the object metrics as in KSM. Names are listed in `metric-families/telemetry.yaml`.

use prometheus::{
    Encoder, GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

use crate::store::Store;

/// The background compression queue, read from the store's counters at each render.
struct PrecompressGauges {
    queued: IntGauge,
    peak: IntGauge,
    skipped: IntCounter,
    dropped: IntCounter,
    hot: IntGauge,
    early: IntCounter,
}

/// Custom resources: CRD discovery (KSM's names), config reloads and samples skipped.
pub struct CrsTelemetry {
    /// KSM's `kube_state_metrics_custom_resource_state_add_events_total`: CRDs seen appearing.
    pub crd_added: IntCounter,
    /// KSM's `…_update_events_total`: CRD changes seen.
    pub crd_updated: IntCounter,
    /// KSM's `…_delete_events_total`: CRDs seen going.
    pub crd_deleted: IntCounter,
    /// KSM's `kube_state_metrics_custom_resource_state_cache`: CRDs known to discovery.
    pub crds_known: IntGauge,
    /// KSM's `kube_state_metrics_config_hash{type,filename}`.
    pub config_hash: GaugeVec,
    /// KSM's `kube_state_metrics_last_config_reload_successful{type,filename}`.
    pub reload_successful: GaugeVec,
    /// KSM's `kube_state_metrics_last_config_reload_success_timestamp_seconds{type,filename}`.
    pub reload_success_time: GaugeVec,
    /// Reloads of a config file, by result (`success`, `failure`).
    pub reloads: IntCounterVec,
    /// Samples a configured path could not produce for one object, by resource and family.
    pub samples_skipped: IntCounterVec,
}

impl CrsTelemetry {
    fn new(registry: &Registry) -> prometheus::Result<Self> {
        let counter = |name: &str, help: &str| IntCounter::with_opts(Opts::new(name, help));
        let by_file = |name: &str, help: &str| GaugeVec::new(Opts::new(name, help), &["type", "filename"]);
        let crs = CrsTelemetry {
            crd_added: counter(
                "kube_state_metrics_custom_resource_state_add_events_total",
                "Number of times that the CRD informer triggered the add event.",
            )?,
            crd_updated: counter(
                "kube_state_metrics_custom_resource_state_update_events_total",
                "Number of times that the CRD informer triggered the update event.",
            )?,
            crd_deleted: counter(
                "kube_state_metrics_custom_resource_state_delete_events_total",
                "Number of times that the CRD informer triggered the remove event.",
            )?,
            crds_known: IntGauge::with_opts(Opts::new(
                "kube_state_metrics_custom_resource_state_cache",
                "Net amount of CRDs affecting the cache currently.",
            ))?,
            config_hash: by_file(
                "kube_state_metrics_config_hash",
                "Hash of the currently loaded configuration.",
            )?,
            reload_successful: by_file(
                "kube_state_metrics_last_config_reload_successful",
                "Whether the last configuration reload attempt was successful.",
            )?,
            reload_success_time: by_file(
                "kube_state_metrics_last_config_reload_success_timestamp_seconds",
                "Timestamp of the last successful configuration reload.",
            )?,
            reloads: IntCounterVec::new(
                Opts::new(
                    "kube_state_exporter_config_reloads_total",
                    "Reloads of the custom resource state config file, by result; a failed one leaves the previous config serving.",
                ),
                &["result"],
            )?,
            samples_skipped: IntCounterVec::new(
                Opts::new(
                    "kube_state_exporter_custom_resource_samples_skipped_total",
                    "Custom resource samples not produced because a configured path or value did not resolve in an object, by resource and family.",
                ),
                &["resource", "family"],
            )?,
        };
        for c in [&crs.crd_added, &crs.crd_updated, &crs.crd_deleted] {
            registry.register(Box::new(c.clone()))?;
        }
        registry.register(Box::new(crs.crds_known.clone()))?;
        for g in [&crs.config_hash, &crs.reload_successful, &crs.reload_success_time] {
            registry.register(Box::new(g.clone()))?;
        }
        for c in [&crs.reloads, &crs.samples_skipped] {
            registry.register(Box::new(c.clone()))?;
        }
        Ok(crs)
    }
}

/// Counters and gauges about watching, the cache and scrapes.
pub struct Telemetry {
    registry: Registry,
    /// Watch events applied, by resource and event type.
    pub events: IntCounterVec,
    /// Watch/list errors, by resource.
    pub watch_errors: IntCounterVec,
    /// Objects that could not be decoded and were skipped, by resource.
    pub decode_errors: IntCounterVec,
    /// Completed relists (initial list included), by resource.
    pub relists: IntCounterVec,
    /// Unix time of the last event applied, by resource.
    pub last_event: IntGaugeVec,
    objects: IntGaugeVec,
    cache_bytes: IntGaugeVec,
    synced: IntGaugeVec,
    /// Scrape latency of the main `/metrics` handler (KSM's name and labels).
    pub http_duration: HistogramVec,
    /// Body bytes of the last `/metrics` response before compression.
    pub scrape_bytes: Histogram,
    build_info: IntGauge,
    /// KSM's `kube_state_metrics_list_total{result,resource}` (resource = Go type, `*v1.Pod`).
    pub ksm_list_total: IntCounterVec,
    /// KSM's `kube_state_metrics_watch_total{result,resource}`.
    pub ksm_watch_total: IntCounterVec,
    /// KSM's `kube_state_metrics_shard_ordinal{shard_ordinal}`.
    shard_ordinal: IntGaugeVec,
    /// KSM's `kube_state_metrics_total_shards`.
    total_shards: IntGauge,
    /// 1 when the API server applied the shard selector to the last list, by resource.
    pub server_side_sharding: IntGaugeVec,
    ksm_build_info: IntGaugeVec,
    precompress: PrecompressGauges,
    // --- serving layer (src/server/) ---
    /// `/metrics` requests refused with 503 because `--max-concurrent-scrapes` were in flight.
    pub scrapes_rejected: IntCounter,
    /// `/metrics` responses being produced or sent.
    pub scrapes_in_flight: IntGauge,
    /// Custom resources.
    pub crs: CrsTelemetry,
}

impl Telemetry {
    /// Registers every metric (and the process collector on Linux).
    pub fn new() -> prometheus::Result<Self> {
        let registry = Registry::new();
        let events = IntCounterVec::new(
            Opts::new(
                "kube_state_exporter_watch_events_total",
                "Watch events applied to the cache, by resource and type.",
            ),
            &["resource", "type"],
        )?;
        let watch_errors = IntCounterVec::new(
            Opts::new(
                "kube_state_exporter_watch_errors_total",
                "List and watch errors, by resource and reason (expired, denied, not_found, throttled, server_error, timeout, transport, decode, other).",
            ),
            &["resource", "reason"],
        )?;
        let decode_errors = IntCounterVec::new(
            Opts::new(
                "kube_state_exporter_decode_errors_total",
                "Objects skipped because they could not be decoded, by resource.",
            ),
            &["resource"],
        )?;
        let relists = IntCounterVec::new(
            Opts::new(
                "kube_state_exporter_relists_total",
                "Full lists stored (the initial one included), by resource.",
            ),
            &["resource"],
        )?;
        let last_event = IntGaugeVec::new(
            Opts::new(
                "kube_state_exporter_last_event_timestamp_seconds",
                "Unix time of the last watch event applied, by resource.",
            ),
            &["resource"],
        )?;
        let objects = IntGaugeVec::new(
            Opts::new(
                "kube_state_exporter_cached_objects",
                "Objects held in the cache, by resource.",
            ),
            &["resource"],
        )?;
        let cache_bytes = IntGaugeVec::new(
            Opts::new(
                "kube_state_exporter_cached_bytes",
                "Bytes held in the cache, by resource: rendered lines and their offsets, their cached gzip-compressed form, and each object's key and identity.",
            ),
            &["resource"],
        )?;
        let synced = IntGaugeVec::new(
            Opts::new(
                "kube_state_exporter_resource_synced",
                "1 once the resource's first list is stored, else 0.",
            ),
            &["resource"],
        )?;
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "A histogram of requests for kube-state-exporter's metrics handler.",
            ),
            &["handler", "method"],
        )?;
        let scrape_bytes = Histogram::with_opts(
            HistogramOpts::new(
                "kube_state_exporter_scrape_body_bytes",
                "Uncompressed /metrics body size.",
            )
            .buckets(prometheus::exponential_buckets(1024.0, 4.0, 12)?),
        )?;
        let build_info = IntGauge::with_opts(
            Opts::new("kube_state_exporter_build_info", "Build information; the value is 1.")
                .const_label("version", env!("CARGO_PKG_VERSION")),
        )?;
        build_info.set(1);
        // KSM's self-metrics under KSM's names, so its alerts (list/watch errors, sharding
        // mismatch, missing shards) work on this exporter unchanged.
        let ksm_list_total = IntCounterVec::new(
            Opts::new(
                "kube_state_metrics_list_total",
                "Number of total resource list in kube-state-metrics",
            ),
            &["result", "resource"],
        )?;
        let ksm_watch_total = IntCounterVec::new(
            Opts::new(
                "kube_state_metrics_watch_total",
                "Number of total resource watches in kube-state-metrics",
            ),
            &["result", "resource"],
        )?;
        let shard_ordinal = IntGaugeVec::new(
            Opts::new(
                "kube_state_metrics_shard_ordinal",
                "Current sharding ordinal/index of this instance",
            ),
            &["shard_ordinal"],
        )?;
        let total_shards = IntGauge::with_opts(Opts::new(
            "kube_state_metrics_total_shards",
            "Number of total shards this instance is aware of",
        ))?;
        let server_side_sharding = IntGaugeVec::new(
            Opts::new(
                "kube_state_exporter_server_side_sharding",
                "1 when the API server applied the shard selector to the last list of the resource, 0 when this shard filtered the objects itself.",
            ),
            &["resource"],
        )?;
        let ksm_build_info = IntGaugeVec::new(
            Opts::new(
                "kube_state_metrics_build_info",
                "A metric with a constant '1' value labeled by version, revision, branch, goversion from which kube_state_metrics was built, and the goos and goarch for the build.",
            ),
            // Prometheus' version collector's labels; the Go-only ones stay empty.
            &["version", "revision", "branch", "goversion", "goos", "goarch", "tags"],
        )?;
        ksm_build_info
            .with_label_values(&[
                env!("CARGO_PKG_VERSION"),
                crate::version::GIT_COMMIT,
                "",
                "",
                std::env::consts::OS,
                std::env::consts::ARCH,
                "",
            ])
            .set(1);
        for c in [&ksm_list_total, &ksm_watch_total] {
            registry.register(Box::new(c.clone()))?;
        }
        for g in [&shard_ordinal, &server_side_sharding, &ksm_build_info] {
            registry.register(Box::new(g.clone()))?;
        }
        registry.register(Box::new(total_shards.clone()))?;
        for c in [&events, &watch_errors, &decode_errors, &relists] {
            registry.register(Box::new(c.clone()))?;
        }
        for g in [&last_event, &objects, &cache_bytes, &synced] {
            registry.register(Box::new(g.clone()))?;
        }
        registry.register(Box::new(http_duration.clone()))?;
        registry.register(Box::new(scrape_bytes.clone()))?;
        registry.register(Box::new(build_info.clone()))?;
        // --- serving layer (src/server/) ---
        let scrapes_rejected = IntCounter::with_opts(Opts::new(
            "kube_state_exporter_scrapes_rejected_total",
            "/metrics requests answered 503 because --max-concurrent-scrapes responses were in flight.",
        ))?;
        let scrapes_in_flight = IntGauge::with_opts(Opts::new(
            "kube_state_exporter_scrapes_in_flight",
            "/metrics responses being produced or sent.",
        ))?;
        registry.register(Box::new(scrapes_rejected.clone()))?;
        registry.register(Box::new(scrapes_in_flight.clone()))?;
        // --- background compression (src/store/precompress.rs) ---
        let precompress = PrecompressGauges {
            queued: IntGauge::with_opts(Opts::new(
                "kube_state_exporter_precompress_queue_blocks",
                "Cache blocks waiting for background gzip compression.",
            ))?,
            peak: IntGauge::with_opts(Opts::new(
                "kube_state_exporter_precompress_queue_peak_blocks",
                "Most cache blocks ever waiting for background gzip compression at once.",
            ))?,
            skipped: IntCounter::with_opts(Opts::new(
                "kube_state_exporter_precompress_skipped_blocks_total",
                "Queued cache blocks replaced (and freed) before background compression reached them.",
            ))?,
            dropped: IntCounter::with_opts(Opts::new(
                "kube_state_exporter_precompress_dropped_blocks_total",
                "Cache blocks not queued for background compression because the queue was full; scrapes compress them.",
            ))?,
            hot: IntGauge::with_opts(Opts::new(
                "kube_state_exporter_hot_lines_bytes",
                "Bytes of cached lines held uncompressed (blocks packed or updated recently); bounded by --max-hot-lines-mib.",
            ))?,
            early: IntCounter::with_opts(Opts::new(
                "kube_state_exporter_early_freezes_total",
                "Updated cache blocks compressed again before their quiet period because hot lines reached --max-hot-lines-mib.",
            ))?,
        };
        registry.register(Box::new(precompress.queued.clone()))?;
        registry.register(Box::new(precompress.peak.clone()))?;
        registry.register(Box::new(precompress.skipped.clone()))?;
        registry.register(Box::new(precompress.dropped.clone()))?;
        registry.register(Box::new(precompress.hot.clone()))?;
        registry.register(Box::new(precompress.early.clone()))?;
        let crs = CrsTelemetry::new(&registry)?;
        #[cfg(target_os = "linux")]
        registry.register(Box::new(prometheus::process_collector::ProcessCollector::for_self()))?;
        Ok(Telemetry {
            crs,
            registry,
            events,
            watch_errors,
            decode_errors,
            relists,
            last_event,
            objects,
            cache_bytes,
            synced,
            http_duration,
            scrape_bytes,
            build_info,
            ksm_list_total,
            ksm_watch_total,
            shard_ordinal,
            total_shards,
            server_side_sharding,
            ksm_build_info,
            scrapes_rejected,
            scrapes_in_flight,
            precompress,
        })
    }

    /// Publishes the shard this instance serves (KSM's two sharding gauges).
    pub fn set_shard(&self, ordinal: u32, total: u32) {
        self.shard_ordinal.reset();
        self.shard_ordinal
            .with_label_values(&[&ordinal.to_string()])
            .set(i64::from(ordinal));
        self.total_shards.set(i64::from(total));
    }

    /// Text exposition of the exporter's own metrics, with cache gauges refreshed from the store.
    pub fn render(&self, store: &Store) -> Vec<u8> {
        // Custom resource kinds come and go: a removed kind's gauges go with it.
        for gauges in [&self.objects, &self.cache_bytes, &self.synced] {
            gauges.reset();
        }
        for kind in store.kinds().iter() {
            let (objects, bytes) = kind.stats();
            self.objects.with_label_values(&[kind.resource()]).set(objects as i64);
            self.cache_bytes.with_label_values(&[kind.resource()]).set(bytes as i64);
            self.synced
                .with_label_values(&[kind.resource()])
                .set(i64::from(kind.is_synced()));
        }
        let _ = (&self.build_info, &self.ksm_build_info);
        let queue = crate::store::precompress::stats();
        self.precompress.queued.set(queue.queued as i64);
        self.precompress.peak.set(queue.peak as i64);
        // The store counts in atomics; the counters catch up to them.
        self.precompress
            .skipped
            .inc_by(queue.skipped.saturating_sub(self.precompress.skipped.get()));
        self.precompress
            .dropped
            .inc_by(queue.dropped.saturating_sub(self.precompress.dropped.get()));
        self.precompress.hot.set(queue.hot_bytes as i64);
        self.precompress
            .early
            .inc_by(queue.early_freezes.saturating_sub(self.precompress.early.get()));
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::warn!(error = %e, "encoding telemetry failed");
        }
        out
    }
}
