//! The exporter's own metrics, served on the telemetry port (`--telemetry-port`), separate from
//! the object metrics as in KSM. Names are listed in `metric-families/telemetry.yaml`.

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};

use crate::store::Store;

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
                "List and watch errors, by resource.",
            ),
            &["resource"],
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
        for c in [&events, &watch_errors, &decode_errors, &relists] {
            registry.register(Box::new(c.clone()))?;
        }
        for g in [&last_event, &objects, &cache_bytes, &synced] {
            registry.register(Box::new(g.clone()))?;
        }
        registry.register(Box::new(http_duration.clone()))?;
        registry.register(Box::new(scrape_bytes.clone()))?;
        registry.register(Box::new(build_info.clone()))?;
        #[cfg(target_os = "linux")]
        registry.register(Box::new(prometheus::process_collector::ProcessCollector::for_self()))?;
        Ok(Telemetry {
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
        })
    }

    /// Text exposition of the exporter's own metrics, with cache gauges refreshed from the store.
    pub fn render(&self, store: &Store) -> Vec<u8> {
        for kind in store.kinds() {
            let (objects, bytes) = kind.stats();
            self.objects.with_label_values(&[kind.resource()]).set(objects as i64);
            self.cache_bytes.with_label_values(&[kind.resource()]).set(bytes as i64);
            self.synced
                .with_label_values(&[kind.resource()])
                .set(i64::from(kind.is_synced()));
        }
        let _ = &self.build_info;
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::warn!(error = %e, "encoding telemetry failed");
        }
        out
    }
}
