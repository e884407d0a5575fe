//! Where the report's figures come from: a running exporter's `/metrics`, or the Prometheus
//! HTTP API (current state plus usage history over a window).

use std::io::Write;
use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;

use super::build::{ContainerHistory, History, NodeHistory, larger};
use super::inventory::{FAMILIES, reads_label, reads_sample};
use super::samples::{LineParser, Sample, Samples};
use crate::app::{ExporterConfig, RunningExporter};
use crate::cli::{FamilyArgs, ListenArgs};
use crate::exposition::Format;
use crate::store::{Encoding, Store};
use crate::usage::{self, UsageConfig, UsageSettings};

/// Every request of the report is bounded by this.
const TIMEOUT: Duration = Duration::from_secs(60);

/// GETs `url` over HTTP/1.1 and returns the decoded body.
async fn get(url: &str, accept: &str) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    get_streamed(url, accept, |piece| {
        out.extend_from_slice(piece);
        Ok(())
    })
    .await?;
    Ok(out)
}

/// Hands decoded bytes to the sink, keeping its first error (a `Write` can only say "I/O").
struct SinkWriter<F> {
    sink: F,
    error: Option<anyhow::Error>,
}

impl<F: FnMut(&[u8]) -> anyhow::Result<()>> Write for SinkWriter<F> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Err(e) = (self.sink)(buf) {
            self.error = Some(e);
            return Err(std::io::Error::other("the body's reader stopped"));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// GETs `url` over HTTP/1.1 and hands the decoded body to `sink` as it arrives, so a body of
/// most of a GiB is never held. Gzip is asked for except from a loopback address, where
/// inflating costs more than the bytes it saves.
async fn get_streamed(url: &str, accept: &str, sink: impl FnMut(&[u8]) -> anyhow::Result<()>) -> anyhow::Result<()> {
    let uri: hyper::Uri = url.parse().with_context(|| format!("invalid URL {url:?}"))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some(other) => {
            bail!("{url}: only http:// is supported here, not {other}:// (put a local port-forward or proxy in front)")
        }
        None => bail!("{url}: the URL needs a scheme, e.g. http://{url}"),
    }
    let host = uri.host().context("URL without a host")?;
    let port = uri.port_u16().unwrap_or(80);
    let loopback = host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    let fetch = async {
        let stream = tokio::net::TcpStream::connect((host, port))
            .await
            .with_context(|| format!("connecting to {host}:{port}"))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        let driver = tokio::spawn(conn);
        let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let request = hyper::Request::get(path)
            .header("host", format!("{host}:{port}"))
            .header("accept", accept)
            .header("accept-encoding", if loopback { "identity" } else { "gzip" })
            .header(
                "user-agent",
                concat!("kube-state-exporter-report/", env!("CARGO_PKG_VERSION")),
            )
            .body(Empty::<Bytes>::new())?;
        let response = sender.send_request(request).await?;
        let status = response.status();
        let gzip = response
            .headers()
            .get("content-encoding")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
        let mut body = response.into_body();
        if !status.is_success() {
            let text = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
            let text = String::from_utf8_lossy(&text[..text.len().min(300)]).into_owned();
            bail!("GET {url}: {status}: {}", text.trim());
        }
        let mut writer = SinkWriter { sink, error: None };
        let mut inflater = gzip.then(|| flate2::write::GzDecoder::new(Vec::new()));
        while let Some(frame) = body.frame().await {
            let Ok(data) = frame?.into_data() else { continue };
            let written = match &mut inflater {
                Some(inflater) => inflater.write_all(&data).and_then(|()| {
                    let out = std::mem::take(inflater.get_mut());
                    writer.write_all(&out)
                }),
                None => writer.write_all(&data),
            };
            if let Err(e) = written {
                driver.abort();
                return Err(writer
                    .error
                    .take()
                    .unwrap_or_else(|| anyhow::Error::new(e).context(format!("GET {url}: invalid gzip body"))));
            }
        }
        if let Some(inflater) = inflater {
            let out = inflater
                .finish()
                .with_context(|| format!("GET {url}: truncated gzip body"))?;
            writer
                .write_all(&out)
                .map_err(|e| writer.error.take().unwrap_or_else(|| e.into()))?;
        }
        driver.abort();
        anyhow::Ok(())
    };
    tokio::time::timeout(TIMEOUT, fetch)
        .await
        .map_err(|_| anyhow::anyhow!("GET {url}: no answer within {}s", TIMEOUT.as_secs()))?
}

/// Reads the report's families from an exporter's (or KSM's) `/metrics`; a URL without a path
/// gets `/metrics`.
pub async fn from_metrics_url(url: &str) -> anyhow::Result<Samples> {
    let url = match url.parse::<hyper::Uri>() {
        Ok(uri) if uri.path() == "/" && !url.ends_with('/') => format!("{url}/metrics"),
        _ => url.to_string(),
    };
    // Only the kinds whose families the report reads (KSM and this exporter both filter on
    // `resources`), unless the URL already chooses.
    let url = if url.contains('?') {
        url
    } else {
        format!("{url}?resources={}", STORE_KINDS.join(","))
    };
    let mut parser = report_parser();
    let mut first = true;
    get_streamed(&url, "text/plain;version=0.0.4", |piece| {
        if first && piece.trim_ascii_start().starts_with(b"<") {
            bail!("{url}: answered HTML, not the Prometheus text format (is this the metrics port?)");
        }
        first = first && piece.trim_ascii_start().is_empty();
        parser.feed(piece).with_context(|| url.clone())
    })
    .await?;
    let samples = parser.finish().with_context(|| url.clone())?;
    if !samples.has("kube_pod_container_resource_requests") && !samples.has("kube_node_status_allocatable") {
        bail!(
            "{url}: no kube_pod_container_resource_requests and no kube_node_status_allocatable: \
             this is not a kube-state-metrics endpoint serving pods and nodes"
        );
    }
    Ok(samples)
}

/// A parser keeping the report's families, and of them only the labels and samples it reads.
fn report_parser() -> LineParser<fn(&str) -> bool> {
    LineParser::new((|name: &str| FAMILIES.contains(&name)) as fn(&str) -> bool)
        .labels(reads_label)
        .samples(reads_sample)
}

/// The store kinds whose families the report reads (objects and metrics.k8s.io usage).
const STORE_KINDS: &[&str] = &["nodes", "pods", "replicasets", "jobs", "nodemetrics", "podmetrics"];

/// Reads the report's families from this exporter's own store, as a plain scrape of the kinds
/// that carry them would (for `/report`). Blocking: the caller runs it off the async workers.
pub fn from_store(store: &Store) -> anyhow::Result<Samples> {
    let snapshot = store.snapshot(|kind| STORE_KINDS.contains(&kind));
    let mut parser = report_parser();
    for chunk in snapshot.into_chunks(Format::Text, Encoding::Identity, 256 * 1024) {
        parser.feed(&chunk).context("the exporter's own exposition")?;
    }
    Ok(parser.finish()?)
}

/// A one-shot snapshot of the cluster itself: the exporter's own pipeline runs in this process
/// (on 127.0.0.1, an ephemeral port) until the pods, nodes, ReplicaSets and Jobs are listed
/// and metrics.k8s.io was read once, then its `/metrics` is read and it stops.
pub async fn from_cluster(kube: kube::Config, namespaces: &[String]) -> anyhow::Result<Samples> {
    let families = FamilyArgs {
        resources: ["pods", "nodes", "replicasets", "jobs"].map(String::from).to_vec(),
        ..FamilyArgs::default()
    }
    .validate()
    .map_err(anyhow::Error::msg)?;
    let usage = UsageConfig {
        client: usage::no_retry_client(kube.clone()).context("building the metrics.k8s.io client")?,
        settings: UsageSettings::default(),
    };
    let exporter = RunningExporter::start(ExporterConfig {
        kube,
        sharding: Default::default(),
        families,
        namespaces: namespaces.to_vec(),
        page_size: 500,
        namespaces_denylist: Vec::new(),
        listen: ListenArgs::loopback(),
        usage: Some(usage),
        cache_plain_lines: false,
        max_hot_lines_bytes: crate::store::precompress::DEFAULT_HOT_BUDGET,
        api_timeout: Some(crate::app::DEFAULT_API_TIMEOUT),
    })
    .await?;
    let base = format!("http://{}", exporter.metrics_addr);
    let result = async {
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        // Listed (every kind synced) and usage read once, successfully or not: an error (no
        // metrics-server) leaves the usage columns empty and the report says why.
        loop {
            let ready = get(&format!("{base}/readyz"), "text/plain").await.is_ok();
            let polled = ready
                && get(
                    &format!("{base}/metrics?resources={}", usage::HEALTH),
                    "text/plain;version=0.0.4",
                )
                .await
                .ok()
                .and_then(|body| String::from_utf8(body).ok())
                .is_some_and(|text| ["pods", "nodes"].iter().all(|r| polled_once(&text, r)));
            if polled {
                break;
            }
            if tokio::time::Instant::now() > deadline {
                let why = get(&format!("{base}/readyz"), "text/plain")
                    .await
                    .err()
                    .map(|e| format!("{e:#}"))
                    .unwrap_or_else(|| "metrics.k8s.io was never read".into());
                bail!("the cluster could not be listed within {}s: {why}", TIMEOUT.as_secs());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        from_metrics_url(&format!("{base}/metrics")).await
    }
    .await;
    exporter.shutdown().await;
    result
}

/// Whether `kube_metrics_api_polls_total{resource}` counts at least one poll.
fn polled_once(text: &str, resource: &str) -> bool {
    let prefix = format!("kube_metrics_api_polls_total{{resource=\"{resource}\",");
    text.lines()
        .filter(|l| l.starts_with(&prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .any(|v| v >= 1.0)
}

/// The Prometheus HTTP API.
pub struct Prometheus {
    base: String,
    /// Evaluation time (unix seconds); now when absent.
    at: Option<f64>,
    /// Matchers added to every selector (`job="kube-state-metrics",cluster="prod"`).
    matchers: String,
}

impl Prometheus {
    /// `base` is Prometheus' URL (`http://prometheus:9090`); `selector` extra matchers, with or
    /// without braces.
    pub fn new(base: &str, selector: Option<&str>) -> anyhow::Result<Prometheus> {
        let matchers = selector
            .map(|s| {
                s.trim()
                    .trim_start_matches('{')
                    .trim_end_matches('}')
                    .trim()
                    .to_string()
            })
            .unwrap_or_default();
        if matchers.contains(['{', '}']) {
            bail!(
                "--selector {matchers:?}: give label matchers only, e.g. job=\"kube-state-metrics\",cluster=\"prod\""
            );
        }
        Ok(Prometheus {
            base: base.trim_end_matches('/').to_string(),
            at: None,
            matchers,
        })
    }

    /// Every query evaluated at `unix_seconds` instead of now.
    pub fn at(self, unix_seconds: f64) -> Prometheus {
        Prometheus {
            at: Some(unix_seconds),
            ..self
        }
    }

    /// `name{extra,<user matchers>}`.
    fn selector(&self, name: &str, extra: &str) -> String {
        let parts: Vec<&str> = [extra, self.matchers.as_str()]
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect();
        format!("{name}{{{}}}", parts.join(","))
    }

    /// One instant query; each result series as a sample named after `name`.
    async fn query(&self, query: &str, name: &str) -> anyhow::Result<Vec<Sample>> {
        let mut url = format!("{}/api/v1/query?query={}", self.base, percent_encode(query));
        if let Some(at) = self.at {
            url.push_str(&format!("&time={at:.3}"));
        }
        let body = get(&url, "application/json").await?;
        let answer: serde_json::Value =
            serde_json::from_slice(&body).with_context(|| format!("{}: the answer is not JSON", self.base))?;
        if answer["status"] != "success" {
            bail!(
                "Prometheus refused {query}: {} {}",
                answer["errorType"].as_str().unwrap_or(""),
                answer["error"].as_str().unwrap_or("")
            );
        }
        let result = answer["data"]["result"]
            .as_array()
            .with_context(|| format!("Prometheus answered {query} without a vector result"))?;
        let mut samples = Vec::with_capacity(result.len());
        for series in result {
            let labels = series["metric"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .filter(|(k, _)| reads_label(k))
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                        .collect()
                })
                .unwrap_or_default();
            let value = series["value"][1]
                .as_str()
                .and_then(|v| match v {
                    "+Inf" => Some(f64::INFINITY),
                    "-Inf" => Some(f64::NEG_INFINITY),
                    v => v.parse().ok(),
                })
                .with_context(|| format!("Prometheus answered {query} with a value that is not a number"))?;
            let sample = Sample {
                name: name.to_string(),
                labels,
                value,
            };
            if reads_sample(&sample) {
                samples.push(sample);
            }
        }
        Ok(samples)
    }

    /// The current state: the report's families as Prometheus holds them now.
    pub async fn current(&self) -> anyhow::Result<Samples> {
        let queries = FAMILIES.iter().map(|family| async move {
            let samples = self.query(&self.selector(family, ""), family).await?;
            anyhow::Ok(samples)
        });
        let mut out = Samples::default();
        for samples in futures::future::try_join_all(queries).await? {
            for sample in samples {
                out.push(sample);
            }
        }
        if !out.has("kube_pod_container_resource_requests") && !out.has("kube_node_status_allocatable") {
            bail!(
                "Prometheus at {} has no kube_pod_container_resource_requests and no kube_node_status_allocatable{}: \
                 is it scraping kube-state-exporter (or KSM)?",
                self.base,
                if self.matchers.is_empty() {
                    String::new()
                } else {
                    format!(" matching {{{}}}", self.matchers)
                }
            );
        }
        Ok(out)
    }

    /// Usage statistics over `window` (a Prometheus duration: `7d`, `12h`).
    pub async fn history(&self, window: &str) -> anyhow::Result<History> {
        let container =
            |resource: &str| self.selector("kube_pod_container_resource_usage", &format!("resource=\"{resource}\""));
        let node = |resource: &str| self.selector("kube_node_resource_usage", &format!("resource=\"{resource}\""));
        let (cpu, memory) = (container("cpu"), container("memory"));
        let (node_cpu, node_memory) = (node("cpu"), node("memory"));
        let queries = [
            format!("quantile_over_time(0.5, {cpu}[{window}])"),
            format!("quantile_over_time(0.95, {cpu}[{window}])"),
            format!("quantile_over_time(0.99, {cpu}[{window}])"),
            format!("max_over_time({cpu}[{window}])"),
            format!("max_over_time({memory}[{window}])"),
            format!("quantile_over_time(0.5, {node_cpu}[{window}])"),
            format!("quantile_over_time(0.95, {node_cpu}[{window}])"),
            format!("quantile_over_time(0.99, {node_cpu}[{window}])"),
            format!("max_over_time({node_cpu}[{window}])"),
            format!("max_over_time({node_memory}[{window}])"),
        ];
        let answers = futures::future::try_join_all(queries.iter().map(|q| self.query(q, "history"))).await?;
        let mut history = History {
            window: window.to_string(),
            ..History::default()
        };
        let raise = |slot: &mut Option<f64>, v: f64| *slot = larger(*slot, Some(v));
        type Pick = fn(&mut ContainerHistory) -> &mut Option<f64>;
        let container_fields: [Pick; 5] = [
            |h| &mut h.cpu_p50,
            |h| &mut h.cpu_p95,
            |h| &mut h.cpu_p99,
            |h| &mut h.cpu_max,
            |h| &mut h.memory_peak,
        ];
        for (samples, field) in answers[..5].iter().zip(container_fields) {
            for s in samples {
                let key = (
                    s.label("namespace").to_string(),
                    s.label("pod").to_string(),
                    s.label("container").to_string(),
                );
                // A pod recreated under its name in the window has two uids: the busier counts.
                raise(field(history.containers.entry(key).or_default()), s.value);
            }
        }
        type NodePick = fn(&mut NodeHistory) -> &mut Option<f64>;
        let node_fields: [NodePick; 5] = [
            |h| &mut h.cpu_p50,
            |h| &mut h.cpu_p95,
            |h| &mut h.cpu_p99,
            |h| &mut h.cpu_max,
            |h| &mut h.memory_peak,
        ];
        for (samples, field) in answers[5..].iter().zip(node_fields) {
            for s in samples {
                raise(
                    field(history.nodes.entry(s.label("node").to_string()).or_default()),
                    s.value,
                );
            }
        }
        Ok(history)
    }
}

/// Percent-encodes a query parameter (RFC 3986 unreserved characters stay).
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Reads `--at`: RFC 3339 or unix seconds.
pub fn parse_time(text: &str) -> anyhow::Result<f64> {
    if let Ok(seconds) = text.parse::<f64>()
        && seconds.is_finite()
    {
        return Ok(seconds);
    }
    let ts: jiff::Timestamp = text
        .parse()
        .map_err(|_| anyhow::anyhow!("--at {text:?}: give RFC 3339 (2026-12-01T00:00:00Z) or unix seconds"))?;
    Ok(ts.as_millisecond() as f64 / 1000.0)
}

/// Checks a Prometheus duration (`7d`, `1h30m`, `90s`) before any query is sent.
pub fn check_window(window: &str) -> anyhow::Result<()> {
    let mut rest = window;
    let mut valid = !rest.is_empty();
    while valid && !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let after = &rest[digits..];
        let letters = after.len() - after.trim_start_matches(|c: char| c.is_ascii_alphabetic()).len();
        valid = digits > 0 && ["ms", "s", "m", "h", "d", "w", "y"].contains(&&after[..letters]);
        rest = &after[letters..];
    }
    if valid {
        Ok(())
    } else {
        bail!("--window {window:?}: not a Prometheus duration (e.g. 7d, 12h, 1h30m)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Serves one canned HTTP response on 127.0.0.1 and returns its URL.
    async fn serve_once(head: &'static str, body: Vec<u8>) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 4096];
            let _ = conn.read(&mut request).await;
            let head = format!("{head}content-length: {}\r\n\r\n", body.len());
            conn.write_all(head.as_bytes()).await.unwrap();
            conn.write_all(&body).await.unwrap();
        });
        format!("http://{addr}/metrics")
    }

    fn gzip(text: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(text).unwrap();
        encoder.finish().unwrap()
    }

    #[tokio::test]
    async fn gzip_bodies_are_inflated_as_they_stream_and_bad_ones_say_so() {
        let text = "kube_node_status_allocatable{node=\"n1\",resource=\"cpu\",unit=\"core\"} 4\n".repeat(5000);
        let url = serve_once("HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\n", gzip(text.as_bytes())).await;
        assert_eq!(get(&url, "text/plain").await.unwrap(), text.as_bytes());

        let mut cut = gzip(text.as_bytes());
        cut.truncate(cut.len() / 2);
        let url = serve_once("HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\n", cut).await;
        let err = get(&url, "text/plain").await.unwrap_err();
        assert!(format!("{err:#}").contains("gzip body"), "{err:#}");

        let url = serve_once(
            "HTTP/1.1 200 OK\r\n",
            b"kube_node_status_allocatable{node=\"n1\" 4\n".to_vec(),
        )
        .await;
        let err = from_metrics_url(&url).await.unwrap_err();
        assert!(
            format!("{err:#}").contains("line 1"),
            "a parse error names its line: {err:#}"
        );

        let url = serve_once(
            "HTTP/1.1 503 Service Unavailable\r\n",
            b"too many concurrent scrapes\n".to_vec(),
        )
        .await;
        let err = get(&url, "text/plain").await.unwrap_err();
        assert!(
            format!("{err:#}").contains("503") && format!("{err:#}").contains("too many"),
            "{err:#}"
        );
    }

    #[test]
    fn windows_are_checked() {
        for ok in ["7d", "12h", "1h30m", "90s", "500ms", "2w"] {
            check_window(ok).unwrap();
        }
        for bad in ["", "7", "d", "7days", "1.5h", "-1h"] {
            assert!(check_window(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn times_are_rfc3339_or_unix_seconds() {
        assert_eq!(parse_time("2026-12-01T00:00:00Z").unwrap(), 1_796_083_200.0);
        assert_eq!(parse_time("1796083200.5").unwrap(), 1_796_083_200.5);
        assert!(parse_time("yesterday").unwrap_err().to_string().contains("RFC 3339"));
        assert!(parse_time("NaN").is_err());
    }

    #[test]
    fn selectors_take_user_matchers() {
        let p = Prometheus::new("http://p:9090/", Some("{job=\"ksm\", cluster=\"prod\"}")).unwrap();
        assert_eq!(
            p.selector("kube_pod_container_resource_usage", "resource=\"cpu\""),
            "kube_pod_container_resource_usage{resource=\"cpu\",job=\"ksm\", cluster=\"prod\"}"
        );
        assert_eq!(Prometheus::new("http://p", None).unwrap().selector("x", ""), "x{}");
        assert!(Prometheus::new("http://p", Some("a{b}")).is_err());
        assert_eq!(percent_encode("a{b=\"c d\"}[7d]"), "a%7Bb%3D%22c%20d%22%7D%5B7d%5D");
    }
}
