//! HTTP endpoints. Main port: `/metrics` (object metrics, streamed, gzip when accepted, text
//! 0.0.4 or OpenMetrics by `Accept`), `/healthz`, `/livez`, `/readyz`, `/`. Telemetry port: the
//! exporter's own `/metrics`. Both are served by [`serve`]: bounded by KSM's `--server-*`
//! timeouts, TLS and basic auth from the web config file, graceful on shutdown.

mod body;
mod serve;
pub mod tls;
pub mod web_config;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub use body::BODY_QUEUE_CHUNKS;
pub use serve::serve;

use crate::exposition::Format;
use crate::store::{Encoding, MemberWriter, SnapshotChunks, Store};
use crate::telemetry::Telemetry;
use tls::TlsReloader;
use web_config::WebConfig;

/// Size of the pieces a scrape body is streamed in: big enough to amortise per-chunk costs,
/// small enough that a slow scraper holds little beyond its snapshot's pointers.
pub const CHUNK_SIZE: usize = 256 * 1024;

/// Plain bytes per segment of a plain scrape written in parallel: large enough that a
/// producer's hand-offs stay few, small enough that every producer starts at once.
const SEGMENT_BYTES: usize = 1 << 20;

/// Threads writing one plain scrape. A plain scrape already keeps about one and a half cores
/// busy with one producer (decoding, the connection, the kernel's copy); on two cores a second
/// producer only adds switching (`bench`: 271–314 ms against 257–268 at 30k pods), so it takes
/// half the cores, up to four (past that the socket, not decoding, is the limit).
static PLAIN_PRODUCERS: std::sync::LazyLock<usize> =
    std::sync::LazyLock::new(|| std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).clamp(1, 4)));

/// How the listeners serve: timeouts, scrape limit, shutdown grace, TLS and auth.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// The whole request must arrive within this (0 = no limit); KSM's `--server-read-timeout`.
    pub read_timeout: Duration,
    /// From the request head to the response's last byte handed to the socket (0 = no limit).
    pub write_timeout: Duration,
    /// A keep-alive connection with no request for this long is closed (0 = the read timeout).
    pub idle_timeout: Duration,
    /// The request head must arrive within this (0 = the read timeout).
    pub read_header_timeout: Duration,
    /// `/metrics` responses produced at once; more get 503 with `Retry-After: 1`.
    pub max_concurrent_scrapes: usize,
    /// After the shutdown signal, how long requests in flight may take to finish.
    pub shutdown_grace_period: Duration,
    /// The web config file (TLS, basic auth, headers, rate limit), if any.
    pub web: Option<Arc<WebConfig>>,
    /// The TLS configuration, reloaded when its files change; `None` = plain HTTP.
    pub tls: Option<Arc<TlsReloader>>,
}

impl Default for ServerOptions {
    /// KSM's defaults, plain HTTP.
    fn default() -> Self {
        ServerOptions {
            read_timeout: Duration::from_secs(60),
            write_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(300),
            read_header_timeout: Duration::from_secs(5),
            max_concurrent_scrapes: 10,
            shutdown_grace_period: Duration::from_secs(10),
            web: None,
            tls: None,
        }
    }
}

/// Shared state of the HTTP handlers.
#[derive(Clone)]
pub struct AppState {
    /// The rendered cache.
    pub store: Arc<Store>,
    /// The exporter's own metrics.
    pub telemetry: Arc<Telemetry>,
    /// One permit per `/metrics` response in production (`--max-concurrent-scrapes`).
    scrapes: Arc<Semaphore>,
    /// Whether `/report` is served (`--report`).
    report: bool,
}

impl AppState {
    /// Handler state allowing `max_concurrent_scrapes` `/metrics` responses at once.
    pub fn new(store: Arc<Store>, telemetry: Arc<Telemetry>, max_concurrent_scrapes: usize) -> AppState {
        AppState {
            store,
            telemetry,
            scrapes: Arc::new(Semaphore::new(max_concurrent_scrapes.max(1))),
            report: false,
        }
    }

    /// The same state, serving `/report` when `on`.
    pub fn with_report(self, on: bool) -> AppState {
        AppState { report: on, ..self }
    }
}

/// The main router (`/metrics`, health endpoints, landing page, `/report` when on).
pub fn main_router(state: AppState) -> Router {
    let router = if state.report {
        Router::new().route("/report", get(report))
    } else {
        Router::new()
    };
    router
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "OK" }))
        .route("/livez", get(|| async { "OK" }))
        .route("/readyz", get(readyz))
        .route("/", get(landing))
        .with_state(state)
}

/// The telemetry router (the exporter's own `/metrics`).
pub fn telemetry_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(telemetry_metrics))
        // KSM serves /readyz on its telemetry port; manifests that probe it there keep working
        // (with this exporter's stricter meaning: every kind synced).
        .route("/readyz", get(readyz))
        .route(
            "/",
            get(|| async { Html("<html><body><a href=\"/metrics\">telemetry metrics</a></body></html>") }),
        )
        .with_state(state)
}

/// Binds a listener; the default `::` falls back to `0.0.0.0` on hosts without IPv6.
pub async fn bind(host: &str, port: u16) -> std::io::Result<TcpListener> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match TcpListener::bind((host, port)).await {
        Err(e) if host == "::" => {
            tracing::info!(error = %e, "IPv6 unavailable; listening on 0.0.0.0 instead of ::");
            TcpListener::bind(("0.0.0.0", port)).await
        }
        other => other,
    }
}

#[derive(serde::Deserialize, Default)]
struct MetricsQuery {
    resources: Option<String>,
    exclude_resources: Option<String>,
}

fn split_list(v: &Option<String>) -> Vec<String> {
    v.as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

async fn metrics(State(state): State<AppState>, Query(query): Query<MetricsQuery>, headers: HeaderMap) -> Response {
    let started = Instant::now();
    // Each response in production holds its snapshot and a bounded queue of chunks; the limit
    // bounds that memory and the blocking threads making bodies.
    let Ok(permit) = state.scrapes.clone().try_acquire_owned() else {
        state.telemetry.scrapes_rejected.inc();
        return too_many("scrapes");
    };
    let format = Format::negotiate(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()));
    let gzip = accepts_gzip(&headers);
    let include = split_list(&query.resources);
    let exclude = split_list(&query.exclude_resources);
    let snapshot = state
        .store
        .snapshot(|r| (include.is_empty() || include.iter().any(|i| i == r)) && !exclude.iter().any(|e| e == r));
    // Gzip comes out of the store already encoded: unchanged runs as cached deflate fragments.
    let encoding = if gzip { Encoding::Gzip } else { Encoding::Identity };
    let plain_bytes = Arc::new(AtomicUsize::new(0));
    state.telemetry.scrapes_in_flight.inc();
    let scrape = Box::new(Scrape {
        started,
        plain_bytes: plain_bytes.clone(),
        telemetry: state.telemetry.clone(),
        _permit: permit,
    });
    let body = match encoding {
        // Decoding cold runs is a plain scrape's cost: spread it over the cores.
        Encoding::Identity if *PLAIN_PRODUCERS > 1 => {
            let segments = snapshot
                .into_segments(format, CHUNK_SIZE, SEGMENT_BYTES)
                .into_iter()
                .map(|segment| CountedChunks {
                    inner: segment,
                    plain_bytes: plain_bytes.clone(),
                    produced: 0,
                })
                .collect();
            body::produced_in_segments(segments, *PLAIN_PRODUCERS, scrape)
        }
        _ => {
            let chunks = CountedChunks {
                inner: snapshot.into_chunks(format, encoding, CHUNK_SIZE),
                plain_bytes,
                produced: 0,
            };
            body::produced(chunks, scrape)
        }
    };
    let mut response = Response::new(Body::new(body));
    if gzip {
        response
            .headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    response
}

/// A 503 telling the client that `--max-concurrent-scrapes` responses are in production.
fn too_many(what: &str) -> Response {
    let mut r = (
        StatusCode::SERVICE_UNAVAILABLE,
        format!("too many concurrent {what} (--max-concurrent-scrapes); retry shortly\n"),
    )
        .into_response();
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    r
}

#[derive(serde::Deserialize, Default)]
struct ReportQuery {
    namespace: Option<String>,
    top: Option<usize>,
    format: Option<String>,
}

/// `/report`: the capacity report of the store's current state, as a page or JSON. It reads
/// the cache like a plain scrape of pods and nodes, so it takes a scrape permit.
async fn report(State(state): State<AppState>, Query(query): Query<ReportQuery>) -> Response {
    let Ok(permit) = state.scrapes.clone().try_acquire_owned() else {
        state.telemetry.scrapes_rejected.inc();
        return too_many("scrapes and reports");
    };
    let json = match query.format.as_deref() {
        None | Some("html") => false,
        Some("json") => true,
        Some(other) => {
            return (StatusCode::BAD_REQUEST, format!("format {other:?}: html or json\n")).into_response();
        }
    };
    let filter = crate::report::build::Filter {
        namespaces: split_list(&query.namespace),
        top: query.top,
        ..Default::default()
    };
    let store = state.store.clone();
    let made = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        crate::report::live(&store, &filter)
    })
    .await;
    match made {
        Ok(Ok(report)) if json => match serde_json::to_string_pretty(&report) {
            Ok(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
            Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("report: {e}\n")).into_response(),
        },
        Ok(Ok(report)) => Html(crate::report::html::page(&report)).into_response(),
        Ok(Err(e)) => (StatusCode::INTERNAL_SERVER_ERROR, format!("report: {e:#}\n")).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("report: {e}\n")).into_response(),
    }
}

/// A response whose body is the given chunks, gzip-compressed on the fly when `gzip` is set
/// (one gzip member, with the store's compressor and level), produced on the blocking pool
/// like a scrape. The benchmark's static-buffer baseline serves through this, so it measures
/// the same HTTP stack and compression code.
pub fn streamed_response(chunks: impl Iterator<Item = Bytes> + Send + 'static, gzip: bool) -> Response {
    if gzip {
        let body = GzipChunks {
            inner: chunks,
            writer: MemberWriter::default(),
            out: Vec::new(),
            done: false,
        };
        let mut r = Response::new(Body::new(body::produced(body, Box::new(()))));
        r.headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        r
    } else {
        Response::new(Body::new(body::produced(chunks, Box::new(()))))
    }
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(',').any(|part| {
                let mut it = part.split(';');
                let coding = it.next().unwrap_or("").trim();
                let q_zero = it.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
                (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !q_zero
            })
        })
}

/// A snapshot's chunks (or one segment's), adding the uncompressed size they produce to the
/// scrape's total.
struct CountedChunks {
    inner: SnapshotChunks,
    plain_bytes: Arc<AtomicUsize>,
    /// Uncompressed bytes of this iterator already added.
    produced: usize,
}

impl Iterator for CountedChunks {
    type Item = Bytes;
    fn next(&mut self) -> Option<Bytes> {
        let chunk = self.inner.next();
        let now = self.inner.plain_bytes();
        self.plain_bytes.fetch_add(now - self.produced, Ordering::Relaxed);
        self.produced = now;
        chunk
    }
}

/// Lives as long as a `/metrics` body: holds the scrape permit and, when the body is done
/// (sent or abandoned), records the scrape's duration and uncompressed size.
struct Scrape {
    started: Instant,
    plain_bytes: Arc<AtomicUsize>,
    telemetry: Arc<Telemetry>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Scrape {
    fn drop(&mut self) {
        self.telemetry.scrapes_in_flight.dec();
        self.telemetry
            .http_duration
            .with_label_values(&["metrics", "get"])
            .observe(self.started.elapsed().as_secs_f64());
        self.telemetry
            .scrape_bytes
            .observe(self.plain_bytes.load(Ordering::Relaxed) as f64);
    }
}

/// Compresses a chunk stream into one gzip member, yielding compressed pieces as they fill.
struct GzipChunks<I> {
    inner: I,
    writer: MemberWriter,
    out: Vec<u8>,
    done: bool,
}

impl<I: Iterator<Item = Bytes>> Iterator for GzipChunks<I> {
    type Item = Bytes;
    fn next(&mut self) -> Option<Bytes> {
        while !self.done {
            match self.inner.next() {
                Some(chunk) => self.writer.write(&chunk, &mut self.out),
                None => {
                    self.writer.finish(&mut self.out);
                    self.done = true;
                }
            }
            if self.out.len() >= CHUNK_SIZE / 2 {
                break;
            }
        }
        (!self.out.is_empty()).then(|| Bytes::from(std::mem::take(&mut self.out)))
    }
}

async fn readyz(State(state): State<AppState>) -> Response {
    let waiting: Vec<String> = state
        .store
        .kinds()
        .iter()
        .filter(|k| !k.is_synced())
        .map(|k| match k.sync_error() {
            Some(e) => format!("{}: not synced yet; last error: {e}", k.resource()),
            None => format!("{}: not synced yet", k.resource()),
        })
        .collect();
    if waiting.is_empty() {
        // Name every kind, so a probe's body shows what this exporter watches.
        let mut body = String::from("ok\n");
        for k in state.store.kinds().iter() {
            body.push_str(k.resource());
            body.push_str(": synced\n");
        }
        (StatusCode::OK, body).into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, format!("{}\n", waiting.join("\n"))).into_response()
    }
}

async fn landing() -> Html<&'static str> {
    Html(concat!(
        "<html><head><title>kube-state-exporter</title></head><body>",
        "<h1>kube-state-exporter</h1><ul>",
        "<li><a href=\"/metrics\">metrics</a></li>",
        "<li><a href=\"/healthz\">healthz</a></li>",
        "<li><a href=\"/livez\">livez</a></li>",
        "<li><a href=\"/readyz\">readyz</a></li>",
        "</ul></body></html>"
    ))
}

async fn telemetry_metrics(State(state): State<AppState>) -> Response {
    let body = state.telemetry.render(&state.store);
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        body,
    )
        .into_response()
}
