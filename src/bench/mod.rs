//! `bench`: the performance harness. For each scale it starts the simulated API server and the
//! exporter as two child processes (so the exporter's memory is its own), then measures initial
//! sync, memory, scrape latency against a static-buffer baseline served through the same HTTP
//! stack in the same run, event throughput against decode-only, and scrape latency under
//! parallel scrapers and event load. See docs/PERFORMANCE.md.

mod biglist;
mod events;
mod measure;
mod soak;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::TokioIo;

use crate::cli::BenchArgs;
use crate::server::{CHUNK_SIZE, streamed_response};
use crate::sim::cluster::{ClusterModel, ClusterSpec, Op};
pub use events::EventRates;
use measure::{Spread, latencies, memory, timed_get};

/// Everything measured at one scale.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ScaleReport {
    /// Pods requested from the generator.
    pub pods: usize,
    /// Objects the exporter lists (all kinds).
    pub objects: u64,
    /// Seconds from exporter start to `/readyz` 200 (every kind listed and rendered).
    pub sync_seconds: f64,
    /// objects ÷ sync_seconds.
    pub objects_per_second: f64,
    /// CPU seconds (user + system) the exporter used from start to `/readyz` 200.
    pub sync_cpu_seconds: f64,
    /// sync_cpu_seconds ÷ sync_seconds: how many cores the initial sync kept busy.
    pub sync_cores: f64,
    /// Exporter peak RSS (VmHWM) at the end of the initial sync, bytes.
    pub peak_rss_sync_bytes: u64,
    /// Seconds after sync until the cache stopped growing (gzip members compressed in the
    /// background), to the nearest half second.
    pub members_ready_seconds: f64,
    /// Exporter RSS after sync has settled, bytes.
    pub steady_rss_bytes: u64,
    /// Rendered bytes held in the cache (the exporter's own gauge), bytes.
    pub cached_bytes: u64,
    /// steady RSS ÷ cached bytes.
    pub rss_over_cached: f64,
    /// peak RSS during sync ÷ steady RSS.
    pub peak_over_steady: f64,
    /// steady RSS ÷ the plain `/metrics` body.
    pub rss_over_plain_body: f64,
    /// steady RSS ÷ the gzip `/metrics` body.
    pub rss_over_gzip_body: f64,
    /// Exporter RSS after the sequential scrape series, bytes.
    pub rss_after_scrapes_bytes: u64,
    /// Cached bytes after the scrape series.
    pub cached_after_scrapes_bytes: u64,
    /// `/metrics` body size, bytes.
    pub body_bytes: usize,
    /// `/metrics` gzip body size, bytes.
    pub body_gzip_bytes: usize,
    /// Exporter `/metrics`, plain.
    pub scrape_plain: Spread,
    /// The first gzip scrape after sync (and after the background compression), seconds.
    pub first_gzip_seconds: f64,
    /// Exporter `/metrics`, gzip (members cached by the first gzip scrape).
    pub scrape_gzip: Spread,
    /// Exporter `/metrics`, gzip, one scraper while `events_per_second` pod updates flow (changed
    /// families are compressed on the fly).
    pub scrape_gzip_churn: Spread,
    /// The same bytes from one static buffer through the same axum/hyper stack, plain.
    pub static_plain: Spread,
    /// The same bytes, static, gzip at the same level.
    pub static_gzip: Spread,
    /// exporter plain p50 ÷ static plain p50.
    pub plain_ratio: f64,
    /// exporter gzip p50 ÷ static gzip p50.
    pub gzip_ratio: f64,
    /// exporter gzip p50 ÷ static plain p50.
    pub gzip_over_static_plain: f64,
    /// Event throughput, measured in this process.
    pub events: EventRates,
    /// p99 of scrapes with `parallel` scrapers while events flow, seconds.
    pub concurrent_p99: f64,
    /// concurrent p99 ÷ single idle scrape p50.
    pub concurrent_ratio: f64,
    /// p99 of the static buffer under the same parallel scrapers (no events), seconds.
    pub static_concurrent_p99: f64,
    /// concurrent p99 ÷ static concurrent p99: the cost of the exporter itself under load.
    pub concurrent_over_static: f64,
    /// Events per second actually sent to the simulator during the concurrent phase.
    pub concurrent_events_per_second: f64,
    /// Exporter peak RSS (VmHWM) at the end of the concurrent phase, bytes.
    pub peak_rss_concurrent_bytes: u64,
    /// RSS after the gzip scrapes under events: the steady state of a churning cluster.
    pub rss_churn_bytes: u64,
    /// Uncompressed lines held at that moment (bounded by `--max-hot-lines-mib`).
    pub hot_lines_churn_bytes: u64,
    /// Updated blocks frozen early because the hot lines reached their bound.
    pub early_freezes: u64,
    /// Most cache blocks ever waiting for background compression (the churn phases included).
    pub precompress_queue_peak_blocks: u64,
    /// Queued blocks replaced (and freed) before background compression reached them.
    pub precompress_skipped_blocks: u64,
    /// Scrapes measured per series.
    pub scrapes: usize,
    /// Parallel scrapers in the concurrent phase.
    pub parallel: usize,
}

/// A child process killed when dropped.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Runs the harness and prints the table (or JSON).
pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("locating the kube-state-exporter binary")?;
    if let Some(raw) = &args.soak {
        let duration = crate::usage::parse::parse_go_duration(raw)
            .filter(|s| s.is_finite() && *s >= 10.0)
            .with_context(|| format!("--soak: invalid duration {raw:?} (at least 10s; e.g. 1h, 90m)"))?;
        let dir = std::env::temp_dir().join(format!("kse-soak-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let report = soak::run(&exe, &dir, Duration::from_secs_f64(duration), &args).await?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            soak::print(&report);
        }
        // The exporter's log stays for reading; the rest of the directory is small.
        return Ok(());
    }
    if let Some(mib) = args.big_list_mib {
        let dir = std::env::temp_dir().join(format!("kse-big-list-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let report = biglist::run(&exe, &dir, mib).await?;
        let _ = std::fs::remove_dir_all(&dir);
        if args.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            biglist::print(&report);
        }
        return Ok(());
    }
    let scales = if args.quick { vec![300] } else { args.pods.clone() };
    let scrapes = if args.quick { 20 } else { args.scrapes.max(20) };
    let dir = std::env::temp_dir().join(format!("kse-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut reports = Vec::new();
    for pods in scales {
        eprintln!("bench: {pods} pods…");
        let report = run_scale(&exe, &dir, pods, scrapes, &args)
            .await
            .with_context(|| format!("scale {pods} pods"))?;
        if !args.json {
            print_report(&report);
        }
        reports.push(report);
    }
    let _ = std::fs::remove_dir_all(&dir);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    }
    Ok(())
}

async fn run_scale(
    exe: &Path,
    dir: &Path,
    pods: usize,
    scrapes: usize,
    args: &BenchArgs,
) -> anyhow::Result<ScaleReport> {
    let sim_port = free_port()?;
    let kubeconfig = dir.join(format!("sim-{pods}.kubeconfig"));
    let sim = start_sim(exe, sim_port, &kubeconfig, pods, args.seed)?;
    let sim_addr: SocketAddr = ([127, 0, 0, 1], sim_port).into();
    let objects = count_objects(sim_addr).await?;

    let (port, telemetry_port) = (free_port()?, free_port()?);
    let started = Instant::now();
    let tuning = [
        // Every parallel scraper is measured, none turned away by the scrape limit.
        Some(format!("--max-concurrent-scrapes={}", args.parallel.max(10))),
        args.cache_plain_lines.then(|| "--cache-plain-lines".to_string()),
        args.max_hot_lines_mib.map(|mib| format!("--max-hot-lines-mib={mib}")),
    ];
    let tuning: Vec<String> = tuning.into_iter().flatten().collect();
    let exporter = spawn_exporter(exe, &kubeconfig, port, telemetry_port, &tuning, Stdio::inherit())?;
    let pid = exporter.0.id();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let telemetry: SocketAddr = ([127, 0, 0, 1], telemetry_port).into();
    wait_ready(addr, Duration::from_secs(900)).await?;
    let sync_seconds = started.elapsed().as_secs_f64();
    let sync_cpu_seconds = measure::cpu_seconds(pid).context("reading exporter CPU time")?;
    let (_, peak_rss_sync_bytes) = memory(pid).context("reading exporter memory")?;
    // The store compresses new runs' gzip members in the background after a list; measure the
    // steady state once the cache has stopped growing.
    let settle_started = Instant::now();
    let mut cached_bytes = read_cached_bytes(telemetry).await?;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = read_cached_bytes(telemetry).await?;
        if now == cached_bytes || settle_started.elapsed() > Duration::from_secs(300) {
            break;
        }
        cached_bytes = now;
    }
    let members_ready_seconds = settle_started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (steady_rss_bytes, _) = memory(pid).context("reading exporter memory")?;

    let (_, body) = timed_get(addr, "/metrics", false).await?;
    let (first_gzip, gz) = timed_get(addr, "/metrics", true).await?;
    let scrape_plain = Spread::of(&latencies(addr, "/metrics", false, scrapes).await?);
    let scrape_gzip = Spread::of(&latencies(addr, "/metrics", true, scrapes).await?);
    let (rss_after_scrapes_bytes, _) = memory(pid).context("reading exporter memory")?;
    let cached_after_scrapes_bytes = read_cached_bytes(telemetry).await?;

    let (static_addr, static_server) = static_server(body.clone()).await?;
    let static_plain = Spread::of(&latencies(static_addr, "/metrics", false, scrapes).await?);
    let static_gzip = Spread::of(&latencies(static_addr, "/metrics", true, scrapes).await?);
    let idle = Load {
        sim: sim_addr,
        pods,
        seed: args.seed,
        rate: 0,
    };
    let (static_concurrent, _) = concurrent_scrapes(static_addr, &idle, args.parallel, scrapes, false).await?;
    static_server.abort();

    let events = tokio::task::spawn_blocking({
        let count = pods.clamp(200, 5000);
        let seed = args.seed;
        move || events::measure(count, seed)
    })
    .await??;

    let churn = Load {
        sim: sim_addr,
        pods,
        seed: args.seed,
        rate: args.events_per_second,
    };
    let (gzip_churn, _) = concurrent_scrapes(addr, &churn, 1, scrapes * 4, true).await?;
    let (rss_churn_bytes, _) = memory(pid).context("reading exporter memory")?;
    let hot_lines_churn_bytes = read_telemetry_sum(telemetry, "kube_state_exporter_hot_lines_bytes").await? as u64;
    let (concurrent, sent_rate) = concurrent_scrapes(addr, &churn, args.parallel, scrapes, false).await?;
    let (_, peak_rss_concurrent_bytes) = memory(pid).context("reading exporter memory")?;
    let precompress_queue_peak_blocks =
        read_telemetry_sum(telemetry, "kube_state_exporter_precompress_queue_peak_blocks").await? as u64;
    let precompress_skipped_blocks =
        read_telemetry_sum(telemetry, "kube_state_exporter_precompress_skipped_blocks_total").await? as u64;
    let early_freezes = read_telemetry_sum(telemetry, "kube_state_exporter_early_freezes_total").await? as u64;
    drop(exporter);
    drop(sim);

    let concurrent_p99 = measure::percentile(&concurrent, 99.0);
    let static_concurrent_p99 = measure::percentile(&static_concurrent, 99.0);
    Ok(ScaleReport {
        pods,
        objects,
        sync_seconds,
        objects_per_second: objects as f64 / sync_seconds,
        sync_cpu_seconds,
        sync_cores: sync_cpu_seconds / sync_seconds,
        peak_rss_sync_bytes,
        members_ready_seconds,
        steady_rss_bytes,
        cached_bytes,
        rss_over_cached: steady_rss_bytes as f64 / cached_bytes.max(1) as f64,
        peak_over_steady: peak_rss_sync_bytes as f64 / steady_rss_bytes.max(1) as f64,
        rss_over_plain_body: steady_rss_bytes as f64 / body.len().max(1) as f64,
        rss_over_gzip_body: steady_rss_bytes as f64 / gz.len().max(1) as f64,
        rss_after_scrapes_bytes,
        cached_after_scrapes_bytes,
        body_bytes: body.len(),
        body_gzip_bytes: gz.len(),
        plain_ratio: scrape_plain.p50 / static_plain.p50,
        gzip_ratio: scrape_gzip.p50 / static_gzip.p50,
        gzip_over_static_plain: scrape_gzip.p50 / static_plain.p50,
        scrape_plain,
        first_gzip_seconds: first_gzip.as_secs_f64(),
        scrape_gzip,
        scrape_gzip_churn: Spread::of(&gzip_churn),
        static_plain,
        static_gzip,
        events,
        concurrent_p99,
        concurrent_ratio: concurrent_p99 / scrape_plain.p50,
        static_concurrent_p99,
        concurrent_over_static: concurrent_p99 / static_concurrent_p99,
        concurrent_events_per_second: sent_rate,
        peak_rss_concurrent_bytes,
        rss_churn_bytes,
        hot_lines_churn_bytes,
        early_freezes,
        precompress_queue_peak_blocks,
        precompress_skipped_blocks,
        scrapes,
        parallel: args.parallel,
    })
}

/// Starts `run` against `kubeconfig` on 127.0.0.1 without usage, logging warnings to `log` as an
/// operator would see them (the default filter, not a `RUST_LOG` of the caller).
fn spawn_exporter(
    exe: &Path,
    kubeconfig: &Path,
    port: u16,
    telemetry_port: u16,
    extra: &[String],
    log: impl Into<Stdio>,
) -> anyhow::Result<ChildGuard> {
    let child = Command::new(exe)
        .args(["run", "--usage=false", "--kubeconfig"])
        .arg(kubeconfig)
        .args(["--host", "127.0.0.1", "--telemetry-host", "127.0.0.1"])
        .args([
            "--port",
            &port.to_string(),
            "--telemetry-port",
            &telemetry_port.to_string(),
        ])
        .args(extra)
        .arg("--log-level=warn")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .context("starting the exporter")?;
    Ok(ChildGuard(child))
}

/// Starts `sim --objects N` and waits until it has created its cluster.
fn start_sim(exe: &Path, port: u16, kubeconfig: &PathBuf, pods: usize, seed: u64) -> anyhow::Result<ChildGuard> {
    let mut child = ChildGuard(
        Command::new(exe)
            .args(["sim", "--listen", &format!("127.0.0.1:{port}"), "--kubeconfig-out"])
            .arg(kubeconfig)
            .args(["--objects", &pods.to_string(), "--seed", &seed.to_string()])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .context("starting the simulated API server")?,
    );
    let stdout = child.0.stdout.take().context("sim stdout")?;
    for line in BufReader::new(stdout).lines() {
        if line?.starts_with("kubeconfig written") {
            return Ok(child);
        }
    }
    anyhow::bail!("the simulated API server exited before creating its cluster")
}

async fn wait_ready(addr: SocketAddr, limit: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok((_, _)) = timed_get(addr, "/readyz", false).await {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the exporter did not become ready within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Objects the exporter will list: `remainingItemCount + 1` of a one-item page per resource.
async fn count_objects(sim: SocketAddr) -> anyhow::Result<u64> {
    let mut total = 0;
    for entry in crate::kinds::table() {
        if !crate::kinds::default_resources().contains(&entry.resource) {
            continue;
        }
        // A kind the server does not serve counts as empty (the exporter reports it on /readyz).
        let Ok((_, body)) = timed_get(sim, &format!("{}?limit=1", entry.list_path()), false).await else {
            continue;
        };
        let list: serde_json::Value = serde_json::from_slice(&body)?;
        let page = list["items"].as_array().map_or(0, |i| i.len() as u64);
        total += page + list["metadata"]["remainingItemCount"].as_u64().unwrap_or(0);
    }
    Ok(total)
}

async fn read_cached_bytes(telemetry: SocketAddr) -> anyhow::Result<u64> {
    Ok(read_telemetry_sum(telemetry, "kube_state_exporter_cached_bytes").await? as u64)
}

/// The sum of a telemetry family's samples (all label sets).
async fn read_telemetry_sum(telemetry: SocketAddr, family: &str) -> anyhow::Result<f64> {
    let (_, body) = timed_get(telemetry, "/metrics", false).await?;
    let text = String::from_utf8_lossy(&body);
    let samples: Vec<f64> = text
        .lines()
        .filter(|l| l.strip_prefix(family).is_some_and(|rest| rest.starts_with(['{', ' '])))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .collect();
    anyhow::ensure!(!samples.is_empty(), "the exporter's telemetry has no {family}");
    Ok(samples.iter().sum())
}

/// The physical limit: the same body from one in-memory buffer, streamed in the same chunk
/// size through the same axum/hyper stack and the same gzip code.
async fn static_server(body: Bytes) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let router = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move |headers: axum::http::HeaderMap| {
            let body = body.clone();
            async move {
                let gzip = headers
                    .get("accept-encoding")
                    .is_some_and(|v| v.as_bytes().windows(4).any(|w| w == b"gzip"));
                let chunks = (0..body.len().div_ceil(CHUNK_SIZE))
                    .map(move |i| body.slice(i * CHUNK_SIZE..((i + 1) * CHUNK_SIZE).min(body.len())));
                streamed_response(chunks, gzip)
            }
        }),
    );
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Ok((addr, task))
}

/// The event stream sent to the simulator while scrapes are measured.
struct Load {
    sim: SocketAddr,
    pods: usize,
    seed: u64,
    /// Pod status patches per second (0 = none).
    rate: usize,
}

/// `parallel` scrapers, each doing a quarter of `rounds` scrapes (at least 3), while `load`
/// flows. Returns every scrape latency and the event rate achieved.
async fn concurrent_scrapes(
    addr: SocketAddr,
    load: &Load,
    parallel: usize,
    rounds: usize,
    gzip: bool,
) -> anyhow::Result<(Vec<Duration>, f64)> {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Several connections: one request at a time per connection cannot reach 1 000/s against
    // a simulator sharing the machine's two cores.
    let generators: Vec<_> = (0..EVENT_CONNECTIONS)
        .map(|i| {
            tokio::spawn(generate_events(
                load.sim,
                load.pods,
                load.seed,
                load.rate,
                i,
                stop.clone(),
            ))
        })
        .collect();
    // Let the event stream reach its rate before measuring.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut scrapers = Vec::new();
    for _ in 0..parallel {
        scrapers.push(tokio::spawn(async move {
            latencies(addr, "/metrics", gzip, rounds.div_ceil(4).max(3)).await
        }));
    }
    let mut all = Vec::new();
    for s in scrapers {
        all.extend(s.await??);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut sent_rate = 0.0;
    for g in generators {
        sent_rate += g.await??;
    }
    Ok((all, sent_rate))
}

const EVENT_CONNECTIONS: usize = 4;

/// Sends share `share` of `EVENT_CONNECTIONS` of a stream of pod status merge patches (paced at
/// `rate` per second in total) over one keep-alive connection until `stop`; returns the rate
/// this connection achieved. Every connection walks the same model (same seed) and sends every
/// `EVENT_CONNECTIONS`-th update, so no two connections send the same change.
async fn generate_events(
    sim: SocketAddr,
    pods: usize,
    seed: u64,
    rate: usize,
    share: usize,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> anyhow::Result<f64> {
    let mut model = ClusterModel::new(ClusterSpec::for_pods(pods, seed), jiff::Timestamp::now());
    let stream = tokio::net::TcpStream::connect(sim).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    let driver = tokio::spawn(conn);
    let started = Instant::now();
    let mut sent = 0usize;
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        tick.tick().await;
        let due = ((started.elapsed().as_secs_f64() * (rate / EVENT_CONNECTIONS) as f64) as usize).saturating_sub(sent);
        for _ in 0..due {
            let now = jiff::Timestamp::now();
            let ops: Vec<Op> = (0..EVENT_CONNECTIONS).map(|_| model.pod_status_update(now)).collect();
            let Some(Op::Patch {
                namespace, name, patch, ..
            }) = ops.into_iter().nth(share)
            else {
                continue;
            };
            let path = format!(
                "/api/v1/namespaces/{}/pods/{name}/status",
                namespace.unwrap_or_default()
            );
            let request = hyper::Request::patch(path)
                .header("host", sim.to_string())
                .header("content-type", "application/merge-patch+json")
                .body(Full::new(Bytes::from(serde_json::to_vec(&patch)?)))?;
            sender.ready().await?;
            let response = sender.send_request(request).await?;
            http_body_util::BodyExt::collect(response.into_body()).await?;
            sent += 1;
        }
    }
    driver.abort();
    Ok(sent as f64 / started.elapsed().as_secs_f64())
}

fn mib(b: u64) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

fn ms(s: f64) -> f64 {
    s * 1000.0
}

/// The human-readable table for one scale.
fn print_report(r: &ScaleReport) {
    println!("== {} pods ({} objects) ==", r.pods, r.objects);
    println!(
        "initial sync        {:>9.2} s   {:>10.0} objects/s, {:.1} CPU s = {:.2} cores",
        r.sync_seconds, r.objects_per_second, r.sync_cpu_seconds, r.sync_cores
    );
    println!(
        "memory              peak {:.1} MiB during sync, steady {:.1} MiB, cache {:.1} MiB; RSS/cache {:.2}, peak/steady {:.2}",
        mib(r.peak_rss_sync_bytes),
        mib(r.steady_rss_bytes),
        mib(r.cached_bytes),
        r.rss_over_cached,
        r.peak_over_steady
    );
    println!(
        "                    RSS/plain body {:.2}, RSS/gzip body {:.2}",
        r.rss_over_plain_body, r.rss_over_gzip_body
    );
    println!(
        "compressed runs     ready (compressed in the background) {:.1} s after sync; queue peak {} blocks, {} replaced before their turn",
        r.members_ready_seconds, r.precompress_queue_peak_blocks, r.precompress_skipped_blocks
    );
    println!(
        "after scrapes       RSS {:.1} MiB, cache {:.1} MiB",
        mib(r.rss_after_scrapes_bytes),
        mib(r.cached_after_scrapes_bytes)
    );
    println!(
        "body                {:.1} MiB plain, {:.1} MiB gzip",
        r.body_bytes as f64 / 1048576.0,
        r.body_gzip_bytes as f64 / 1048576.0
    );
    println!("                     p50 ms    p99 ms    (over {} scrapes)", r.scrapes);
    for (name, s) in [
        ("exporter plain", r.scrape_plain),
        ("static plain", r.static_plain),
        ("exporter gzip", r.scrape_gzip),
        ("gzip under events", r.scrape_gzip_churn),
        ("static gzip", r.static_gzip),
    ] {
        println!("{name:<19} {:>9.1} {:>9.1}", ms(s.p50), ms(s.p99));
    }
    println!(
        "first gzip scrape   {:>9.1} ms (runs compressed in the background by then)",
        ms(r.first_gzip_seconds)
    );
    println!(
        "ratios              plain {:.2}x static, gzip {:.2}x static gzip, gzip {:.2}x static plain",
        r.plain_ratio, r.gzip_ratio, r.gzip_over_static_plain
    );
    println!(
        "events              {:.0}/s applied through the watcher's pipe vs {:.0}/s decode-only: {:.2}; one thread {:.0}/s: {:.2}",
        r.events.applied_per_second,
        r.events.decode_only_per_second,
        r.events.ratio,
        r.events.one_thread_per_second,
        r.events.one_thread_ratio
    );
    println!(
        "under churn         RSS {:.1} MiB after gzip scrapes under events ({:.2}x steady), {:.1} MiB of it hot lines; {} early freezes",
        mib(r.rss_churn_bytes),
        r.rss_churn_bytes as f64 / r.steady_rss_bytes.max(1) as f64,
        mib(r.hot_lines_churn_bytes),
        r.early_freezes
    );
    println!(
        "concurrency         p99 {:.1} ms with {} scrapers at {:.0} events/s = {:.2}x idle p50; peak RSS {:.1} MiB",
        ms(r.concurrent_p99),
        r.parallel,
        r.concurrent_events_per_second,
        r.concurrent_ratio,
        mib(r.peak_rss_concurrent_bytes)
    );
    println!(
        "                    static buffer under the same scrapers: p99 {:.1} ms; exporter/static {:.2}",
        ms(r.static_concurrent_p99),
        r.concurrent_over_static
    );
    println!();
}
