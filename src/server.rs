//! HTTP endpoints. Main port: `/metrics` (object metrics, streamed, gzip when accepted, text
//! 0.0.4 or OpenMetrics by `Accept`), `/healthz`, `/livez`, `/readyz`, `/`. Telemetry port: the
//! exporter's own `/metrics`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use tokio::net::TcpListener;

use crate::exposition::Format;
use crate::store::{Encoding, MemberWriter, SnapshotChunks, Store};
use crate::telemetry::Telemetry;

/// Size of the pieces a scrape body is streamed in: big enough to amortise per-chunk costs,
/// small enough that a slow scraper holds little beyond its snapshot's pointers.
pub const CHUNK_SIZE: usize = 64 * 1024;

/// Shared state of the HTTP handlers.
#[derive(Clone)]
pub struct AppState {
    /// The rendered cache.
    pub store: Arc<Store>,
    /// The exporter's own metrics.
    pub telemetry: Arc<Telemetry>,
}

/// The main router (`/metrics`, health endpoints, landing page).
pub fn main_router(state: AppState) -> Router {
    Router::new()
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

/// Serves a router on a listener until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
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
    let format = Format::negotiate(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()));
    let gzip = accepts_gzip(&headers);
    let include = split_list(&query.resources);
    let exclude = split_list(&query.exclude_resources);
    let snapshot = state
        .store
        .snapshot(|r| (include.is_empty() || include.iter().any(|i| i == r)) && !exclude.iter().any(|e| e == r));
    // Gzip comes out of the store already encoded: unchanged runs as cached deflate fragments.
    let encoding = if gzip { Encoding::Gzip } else { Encoding::Identity };
    let chunks = TimedChunks {
        inner: snapshot.into_chunks(format, encoding, CHUNK_SIZE),
        started,
        telemetry: state.telemetry.clone(),
    };
    let mut response = Response::new(Body::from_stream(futures::stream::iter(
        chunks.map(Ok::<_, Infallible>),
    )));
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

/// A response whose body is the given chunks, gzip-compressed on the fly when `gzip` is set
/// (one gzip member, with the store's compressor and level). The benchmark's static-buffer
/// baseline serves through this, so it measures the same HTTP stack and compression code.
pub fn streamed_response(chunks: impl Iterator<Item = Bytes> + Send + 'static, gzip: bool) -> Response {
    if gzip {
        let body = GzipChunks {
            inner: chunks,
            writer: MemberWriter::default(),
            out: Vec::new(),
            done: false,
        };
        let mut r = Response::new(Body::from_stream(futures::stream::iter(body.map(Ok::<_, Infallible>))));
        r.headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        r
    } else {
        Response::new(Body::from_stream(futures::stream::iter(
            chunks.map(Ok::<_, Infallible>),
        )))
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

/// Records scrape duration and (uncompressed) size when the body has been fully produced (or
/// dropped).
struct TimedChunks {
    inner: SnapshotChunks,
    started: Instant,
    telemetry: Arc<Telemetry>,
}

impl Iterator for TimedChunks {
    type Item = Bytes;
    fn next(&mut self) -> Option<Bytes> {
        self.inner.next()
    }
}

impl Drop for TimedChunks {
    fn drop(&mut self) {
        self.telemetry
            .http_duration
            .with_label_values(&["metrics", "get"])
            .observe(self.started.elapsed().as_secs_f64());
        self.telemetry.scrape_bytes.observe(self.inner.plain_bytes() as f64);
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
        for k in state.store.kinds() {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_negotiation() {
        let mut h = HeaderMap::new();
        assert!(!accepts_gzip(&h));
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
        assert!(accepts_gzip(&h));
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("deflate, gzip;q=0"));
        assert!(!accepts_gzip(&h));
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("identity"));
        assert!(!accepts_gzip(&h));
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("br, GZIP;q=0.5"));
        assert!(accepts_gzip(&h));
    }

    #[test]
    fn gzip_stream_decodes_to_the_input() {
        let chunks: Vec<Bytes> = (0..50)
            .map(|i| Bytes::from(format!("line {i}\n").repeat(500)))
            .collect();
        let expected: Vec<u8> = chunks.iter().flat_map(|c| c.to_vec()).collect();
        let gz = GzipChunks {
            inner: chunks.into_iter(),
            writer: MemberWriter::default(),
            out: Vec::new(),
            done: false,
        };
        let compressed: Vec<u8> = gz.flat_map(|c| c.to_vec()).collect();
        let mut decoded = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&compressed[..]), &mut decoded).unwrap();
        assert_eq!(decoded, expected);
    }
}
