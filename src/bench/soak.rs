//! `bench --soak DURATION`: a long run against a churning simulated cluster, with relists forced
//! every few minutes, a total API outage and a quiet stretch of bookmarks only. The simulator runs
//! in this process (its fault switches are needed), the exporter as a child process (its memory is
//! its own). Reports RSS over time and its slope, scrape latency, event lag (a write to the API
//! until a scrape shows it), and at checkpoints whether the scrape equals the simulator's state.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;

use super::measure::{Spread, cpu_seconds, latencies, memory, timed_get, timed_get_sized};
use super::{ChildGuard, free_port, read_telemetry_sum, spawn_exporter, static_server, wait_ready};
use crate::cli::{BenchArgs, FamilyArgs, FamilyOptions};
use crate::demo::{apply_op, populate};
use crate::exposition::Format;
use crate::render::render_sources;
use crate::sim::cluster::ClusterModel;
use crate::sim::{Sim, SimConfig};

/// The kind whose object the lag probe edits: the generated cluster never changes it, so a
/// probe's edit is the only event on its watch.
const PROBE_RESOURCE: &str = "ingressclasses";
/// The label the probe writes; the exporter exports it through its labels allowlist.
const PROBE_LABEL: &str = "soak-probe";
/// How long a probe, a checkpoint or a recovery may take before it is reported as failed.
const GIVE_UP: Duration = Duration::from_secs(180);

/// A stretch of the soak: from `start` (since the exporter was ready) for `length`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Window {
    /// Offset from the soak's start.
    pub start: Duration,
    /// How long it lasts.
    pub length: Duration,
}

impl Window {
    fn end(&self) -> Duration {
        self.start + self.length
    }
}

/// When each part of a soak happens. Scaled to its length, so a short soak (a test) goes through
/// every phase a long one does; an hour gets the real figures: samples every 15 s, relists every
/// 5 minutes, a 5-minute outage and 10 minutes of bookmarks only.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Plan {
    /// Total length (after the initial sync).
    pub duration: Duration,
    /// A plain and a gzip scrape, RSS and cache size, this often.
    pub sample_every: Duration,
    /// A lag probe this often (not during the outage or the quiet stretch).
    pub probe_every: Duration,
    /// Every resourceVersion expires this often (compaction): every watch gets 410 and relists.
    pub relist_every: Duration,
    /// Every connection to the API server is cut; the cluster keeps changing.
    pub outage: Window,
    /// No churn: the watches see only bookmarks.
    pub quiet: Window,
}

impl Plan {
    /// Whether a sample at `seconds` shows the steady churning state: after the first relist
    /// period (allocator arenas and gzip members settle), and not during the outage or the quiet
    /// stretch or in the minute after either (catching up).
    pub fn churning_at(&self, seconds: f64) -> bool {
        let settle = Duration::from_secs(60).min(self.duration / 20);
        let within = |w: &Window| seconds >= w.start.as_secs_f64() && seconds < (w.end() + settle).as_secs_f64();
        seconds >= self.relist_every.as_secs_f64() && !within(&self.outage) && !within(&self.quiet)
    }

    /// The plan for a soak of `duration`.
    pub fn for_duration(duration: Duration) -> Plan {
        let part = |divisor: u32, cap: u64| (duration / divisor).min(Duration::from_secs(cap));
        Plan {
            duration,
            sample_every: part(20, 15),
            probe_every: part(20, 30),
            relist_every: part(6, 300),
            outage: Window {
                start: duration * 2 / 5,
                length: part(10, 300),
            },
            quiet: Window {
                start: duration * 3 / 5,
                length: part(6, 600),
            },
        }
    }
}

/// Whether the scrape matched the simulator's state at one moment (churn paused).
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Checkpoint {
    /// Where in the soak.
    pub name: String,
    /// The scrape equalled the rendering of the simulator's objects.
    pub equal: bool,
    /// Seconds from churn pausing until they were equal (or until giving up).
    pub seconds: f64,
    /// Expected lines missing from the last scrape compared.
    pub missing: usize,
    /// Scraped lines no object accounts for.
    pub ghosts: usize,
    /// Up to five of the differences, for the report.
    pub examples: Vec<String>,
}

/// Everything a soak measured.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct SoakReport {
    /// The phases as run.
    pub plan: Option<Plan>,
    /// Pods requested from the generator.
    pub pods: usize,
    /// Objects in the simulator (exported kinds) at the start and at the end.
    pub objects_start: usize,
    /// See `objects_start`.
    pub objects_end: usize,
    /// Churn operations applied, and refused by the simulator (the model racing its own deletes).
    pub churn_applied: u64,
    /// See `churn_applied`.
    pub churn_refused: u64,
    /// Seconds from the exporter's start to `/readyz` 200.
    pub sync_seconds: f64,
    /// Forced relists (resourceVersion expiries).
    pub relists_forced: u64,
    /// `(seconds since start, RSS bytes, cached bytes)` every `sample_every`.
    pub samples: Vec<(f64, u64, u64)>,
    /// Least-squares RSS slope over the samples taken while churning (after the first relist
    /// period, outside the outage and the quiet stretch and a minute after each), MiB per hour.
    pub rss_slope_mib_per_hour: f64,
    /// The same for the exporter's cached bytes: follows the cluster's size and the hot lines.
    pub cached_slope_mib_per_hour: f64,
    /// The same for RSS minus cached bytes: what a leak would show in.
    pub overhead_slope_mib_per_hour: f64,
    /// Samples the slopes are fitted to.
    pub churning_samples: usize,
    /// Peak RSS (VmHWM) at the end, bytes.
    pub peak_rss_bytes: u64,
    /// CPU seconds the exporter used over the soak (sync excluded).
    pub cpu_seconds: f64,
    /// Scrape latency, plain.
    pub scrape_plain: Spread,
    /// Scrape latency, gzip.
    pub scrape_gzip: Spread,
    /// At the end, churn paused: the exporter's plain and gzip scrapes, and the same body from a
    /// static buffer through the same HTTP stack (the physical floor, in the same run).
    pub idle_plain: Spread,
    /// See `idle_plain`.
    pub idle_gzip: Spread,
    /// See `idle_plain`.
    pub static_plain: Spread,
    /// See `idle_plain`.
    pub static_gzip: Spread,
    /// Probe lag: a label written to the API until a plain scrape shows it.
    pub lag: Spread,
    /// Probes made, and those never seen within the limit.
    pub probes: usize,
    /// See `probes`.
    pub probes_missed: usize,
    /// Seconds from the outage's end until a label written during it was served.
    pub outage_recovery_seconds: f64,
    /// Lag of the first probe after the quiet stretch.
    pub quiet_probe_lag_seconds: f64,
    /// The exporter's `watch_errors_total`, summed by reason.
    pub watch_errors: BTreeMap<String, f64>,
    /// The exporter's `watch_events_total`, all resources.
    pub watch_events: f64,
    /// The exporter's `relists_total`, all resources (the initial lists included).
    pub relists_stored: f64,
    /// After the outage, after the quiet stretch, at the end.
    pub checkpoints: Vec<Checkpoint>,
    /// Lines the exporter logged (`--log-level=warn`), and the file holding them.
    pub log_lines: usize,
    /// See `log_lines`.
    pub log_file: String,
}

/// The generated cluster's churn, applied in a background task; pausable.
struct Churn {
    paused: Arc<AtomicBool>,
    applied: Arc<AtomicU64>,
    refused: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Churn {
    fn start(sim: Arc<Sim>, mut model: ClusterModel, per_second: usize) -> Churn {
        let paused = Arc::new(AtomicBool::new(false));
        let applied = Arc::new(AtomicU64::new(0));
        let refused = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn({
            let (paused, applied, refused) = (paused.clone(), applied.clone(), refused.clone());
            async move {
                let mut interval = tokio::time::interval(Duration::from_millis(100));
                let mut owed = 0.0f64;
                loop {
                    interval.tick().await;
                    if paused.load(Ordering::SeqCst) {
                        continue;
                    }
                    owed += per_second as f64 / 10.0;
                    let events = owed.floor() as usize;
                    owed -= events as f64;
                    for op in model.churn(jiff::Timestamp::now(), events) {
                        let counter = if apply_op(&sim, op).is_ok() { &applied } else { &refused };
                        counter.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        });
        Churn {
            paused,
            applied,
            refused,
            task,
        }
    }

    fn pause(&self, paused: bool) {
        self.paused.store(paused, Ordering::SeqCst);
    }
}

impl Drop for Churn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The running soak: the simulator, the exporter and what has been measured so far.
struct Soak {
    sim: Arc<Sim>,
    families: FamilyOptions,
    addr: SocketAddr,
    telemetry: SocketAddr,
    pid: u32,
    probe_name: String,
    probe_seq: u64,
    started: Instant,
    plain: Vec<Duration>,
    gzip: Vec<Duration>,
    lags: Vec<Duration>,
    report: SoakReport,
}

/// Runs a soak of `duration` and returns what it measured.
pub async fn run(exe: &Path, dir: &Path, duration: Duration, args: &BenchArgs) -> anyhow::Result<SoakReport> {
    let plan = Plan::for_duration(duration);
    let config = SimConfig {
        // A real API server sends a bookmark about once a minute.
        bookmark_interval: Duration::from_secs(60).min(duration / 10),
        ..SimConfig::default()
    };
    let sim = Arc::new(Sim::start_with(([127, 0, 0, 1], 0).into(), config).await?);
    let model = populate(&sim, args.soak_pods, args.seed)?;
    let kubeconfig = dir.join("soak.kubeconfig");
    sim.write_kubeconfig(&kubeconfig)?;

    let mut resources: Vec<String> = crate::kinds::default_resources()
        .iter()
        .map(|r| r.to_string())
        .collect();
    if !resources.iter().any(|r| r == PROBE_RESOURCE) {
        resources.push(PROBE_RESOURCE.to_string());
    }
    let families = FamilyArgs {
        resources: resources.clone(),
        metric_labels_allowlist: format!("{PROBE_RESOURCE}=[{PROBE_LABEL}]"),
        ..Default::default()
    };
    let log_file = dir.join("soak-exporter.log");
    let (port, telemetry_port) = (free_port()?, free_port()?);
    let exporter_started = Instant::now();
    let exporter: ChildGuard = spawn_exporter(
        exe,
        &kubeconfig,
        port,
        telemetry_port,
        &[
            format!("--resources={}", resources.join(",")),
            format!("--metric-labels-allowlist={}", families.metric_labels_allowlist),
        ],
        std::fs::File::create(&log_file).context("creating the exporter's log file")?,
    )?;
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    wait_ready(addr, Duration::from_secs(900)).await?;
    let sync_seconds = exporter_started.elapsed().as_secs_f64();
    let pid = exporter.0.id();
    let cpu_after_sync = cpu_seconds(pid).unwrap_or(0.0);

    let probe_name = sim
        .list(PROBE_RESOURCE)
        .first()
        .and_then(|o| o["metadata"]["name"].as_str().map(str::to_string))
        .context("the generated cluster has no IngressClass for the lag probe")?;
    let mut soak = Soak {
        families: families.validate().map_err(anyhow::Error::msg)?,
        sim: sim.clone(),
        addr,
        telemetry: ([127, 0, 0, 1], telemetry_port).into(),
        pid,
        probe_name,
        probe_seq: 0,
        started: Instant::now(),
        plain: Vec::new(),
        gzip: Vec::new(),
        lags: Vec::new(),
        report: SoakReport {
            plan: Some(plan),
            pods: args.soak_pods,
            sync_seconds,
            log_file: log_file.display().to_string(),
            ..Default::default()
        },
    }
    .with_start_count();
    let churn = Churn::start(sim.clone(), model, args.soak_churn);
    soak.drive(&plan, &churn).await?;

    churn.pause(true);
    soak.checkpoint("end", soak.started.elapsed()).await?;
    soak.baseline().await?;
    let report = soak.finish(&churn, cpu_after_sync, &log_file).await?;
    drop(churn);
    drop(exporter);
    Ok(report)
}

impl Soak {
    fn with_start_count(mut self) -> Soak {
        self.report.objects_start = self.objects();
        self
    }

    fn objects(&self) -> usize {
        self.families.resources.iter().map(|r| self.sim.list(r).len()).sum()
    }

    /// The phases, in time order, until the plan's duration has passed.
    async fn drive(&mut self, plan: &Plan, churn: &Churn) -> anyhow::Result<()> {
        #[derive(PartialEq)]
        enum Phase {
            Churning,
            Outage,
            Quiet,
        }
        let mut phase = Phase::Churning;
        let (mut outage_done, mut quiet_done) = (false, false);
        let (mut next_sample, mut next_probe, mut next_relist) = (Duration::ZERO, plan.probe_every, plan.relist_every);
        loop {
            let now = self.started.elapsed();
            if now >= plan.duration {
                return Ok(());
            }
            match phase {
                Phase::Churning if !outage_done && now >= plan.outage.start => {
                    eprintln!("soak: API outage for {:?}", plan.outage.length);
                    self.sim.faults().outage(true);
                    // Written while the exporter cannot see it: served once it has caught up.
                    self.write_probe()?;
                    phase = Phase::Outage;
                }
                Phase::Outage if now >= plan.outage.end() => {
                    self.sim.faults().outage(false);
                    outage_done = true;
                    phase = Phase::Churning;
                    self.report.outage_recovery_seconds = self.wait_probe(Instant::now()).await?.as_secs_f64();
                    churn.pause(true);
                    self.checkpoint("after the outage", now).await?;
                    churn.pause(false);
                }
                Phase::Churning if !quiet_done && now >= plan.quiet.start => {
                    eprintln!("soak: bookmarks only for {:?}", plan.quiet.length);
                    churn.pause(true);
                    phase = Phase::Quiet;
                }
                Phase::Quiet if now >= plan.quiet.end() => {
                    quiet_done = true;
                    phase = Phase::Churning;
                    self.checkpoint("after the quiet stretch", now).await?;
                    self.report.quiet_probe_lag_seconds = self.probe().await?.as_secs_f64();
                    churn.pause(false);
                }
                _ => {}
            }
            let now = self.started.elapsed();
            if now >= next_sample {
                self.sample().await?;
                next_sample = now + plan.sample_every;
            }
            // Probes and relists are events: neither the outage nor the quiet stretch gets any.
            if now >= next_probe {
                if phase == Phase::Churning {
                    let lag = self.probe().await?;
                    self.lags.push(lag);
                }
                next_probe = now + plan.probe_every;
            }
            if now >= next_relist {
                if phase == Phase::Churning {
                    self.sim.faults().expire_resource_versions();
                    self.report.relists_forced += 1;
                }
                next_relist = now + plan.relist_every;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// One plain and one gzip scrape (timed), then RSS and the cache size.
    async fn sample(&mut self) -> anyhow::Result<()> {
        self.plain
            .push(timed_get_sized(self.addr, "/metrics", false, false).await?.0);
        self.gzip
            .push(timed_get_sized(self.addr, "/metrics", true, false).await?.0);
        let (rss, _) = memory(self.pid).context("reading the exporter's memory")?;
        let cached = read_telemetry_sum(self.telemetry, "kube_state_exporter_cached_bytes").await? as u64;
        self.report
            .samples
            .push((self.started.elapsed().as_secs_f64(), rss, cached));
        Ok(())
    }

    fn write_probe(&mut self) -> anyhow::Result<()> {
        self.probe_seq += 1;
        self.report.probes += 1;
        let patch = json!({"metadata": {"labels": {PROBE_LABEL: self.probe_seq.to_string()}}});
        self.sim
            .patch(PROBE_RESOURCE, None, &self.probe_name, &patch)
            .map_err(|e| anyhow::anyhow!("writing the lag probe: {e}"))?;
        Ok(())
    }

    /// Writes a probe label and returns how long until a scrape served it.
    async fn probe(&mut self) -> anyhow::Result<Duration> {
        let written = Instant::now();
        self.write_probe()?;
        self.wait_probe(written).await
    }

    /// Scrapes until the newest probe label is served; the time since `since`. A probe never
    /// seen counts as missed and as `GIVE_UP`.
    async fn wait_probe(&mut self, since: Instant) -> anyhow::Result<Duration> {
        let needle = format!("label_soak_probe=\"{}\"", self.probe_seq);
        while since.elapsed() < GIVE_UP {
            if let Ok((_, body)) = timed_get(self.addr, "/metrics", false).await
                && body.windows(needle.len()).any(|w| w == needle.as_bytes())
            {
                return Ok(since.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.report.probes_missed += 1;
        Ok(GIVE_UP)
    }

    /// With churn paused: scrapes until the scrape equals the rendering of the simulator's objects.
    async fn checkpoint(&mut self, name: &str, at: Duration) -> anyhow::Result<()> {
        eprintln!("soak: checkpoint {name} at {:.0} s", at.as_secs_f64());
        let paused = Instant::now();
        let expected = self.expected();
        let mut result = Checkpoint {
            name: name.to_string(),
            ..Default::default()
        };
        loop {
            let (_, body) = timed_get(self.addr, "/metrics", false).await?;
            let actual = String::from_utf8_lossy(&body);
            if actual == expected {
                result.equal = true;
                break;
            }
            if paused.elapsed() > GIVE_UP {
                let want: std::collections::BTreeSet<&str> = expected.lines().collect();
                let got: std::collections::BTreeSet<&str> = actual.lines().collect();
                result.missing = want.difference(&got).count();
                result.ghosts = got.difference(&want).count();
                result.examples = want
                    .difference(&got)
                    .take(3)
                    .map(|l| format!("missing: {l}"))
                    .chain(got.difference(&want).take(2).map(|l| format!("ghost: {l}")))
                    .collect();
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        result.seconds = paused.elapsed().as_secs_f64();
        self.report.checkpoints.push(result);
        Ok(())
    }

    /// With churn paused: the exporter's scrapes against the same body from a static buffer.
    async fn baseline(&mut self) -> anyhow::Result<()> {
        const ROUNDS: usize = 10;
        let (_, body) = timed_get(self.addr, "/metrics", false).await?;
        let (static_addr, static_server) = static_server(body).await?;
        let r = &mut self.report;
        r.idle_plain = Spread::of(&latencies(self.addr, "/metrics", false, ROUNDS).await?);
        r.idle_gzip = Spread::of(&latencies(self.addr, "/metrics", true, ROUNDS).await?);
        r.static_plain = Spread::of(&latencies(static_addr, "/metrics", false, ROUNDS).await?);
        r.static_gzip = Spread::of(&latencies(static_addr, "/metrics", true, ROUNDS).await?);
        static_server.abort();
        Ok(())
    }

    /// What `/metrics` must serve for the simulator's objects now.
    fn expected(&self) -> String {
        let items: Vec<serde_json::Value> = self.families.resources.iter().flat_map(|r| self.sim.list(r)).collect();
        let list = json!({"kind": "List", "apiVersion": "v1", "items": items}).to_string();
        let out = render_sources(&[("simulator".into(), list)], &self.families, Format::Text);
        String::from_utf8_lossy(&out.body).into_owned()
    }

    async fn finish(mut self, churn: &Churn, cpu_after_sync: f64, log_file: &Path) -> anyhow::Result<SoakReport> {
        let r = &mut self.report;
        r.objects_end = self.families.resources.iter().map(|res| self.sim.list(res).len()).sum();
        r.churn_applied = churn.applied.load(Ordering::Relaxed);
        r.churn_refused = churn.refused.load(Ordering::Relaxed);
        r.scrape_plain = Spread::of(&self.plain);
        r.scrape_gzip = Spread::of(&self.gzip);
        r.lag = Spread::of(&self.lags);
        r.cpu_seconds = cpu_seconds(self.pid).unwrap_or(0.0) - cpu_after_sync;
        r.peak_rss_bytes = memory(self.pid).map_or(0, |(_, peak)| peak);
        let churning: Vec<&(f64, u64, u64)> = match r.plan {
            Some(plan) => r.samples.iter().filter(|s| plan.churning_at(s.0)).collect(),
            None => Vec::new(),
        };
        r.churning_samples = churning.len();
        r.rss_slope_mib_per_hour = slope_per_hour(churning.iter().map(|s| (s.0, s.1)));
        r.cached_slope_mib_per_hour = slope_per_hour(churning.iter().map(|s| (s.0, s.2)));
        r.overhead_slope_mib_per_hour = slope_per_hour(churning.iter().map(|s| (s.0, s.1.saturating_sub(s.2))));
        let (_, telemetry) = timed_get(self.telemetry, "/metrics", false).await?;
        let telemetry = String::from_utf8_lossy(&telemetry);
        r.watch_errors = sum_by_label(&telemetry, "kube_state_exporter_watch_errors_total", "reason");
        r.watch_events = read_telemetry_sum(self.telemetry, "kube_state_exporter_watch_events_total").await?;
        r.relists_stored = read_telemetry_sum(self.telemetry, "kube_state_exporter_relists_total").await?;
        r.log_lines = std::fs::read_to_string(log_file).map_or(0, |log| log.lines().count());
        Ok(self.report)
    }
}

/// Least-squares slope of `(seconds, bytes)` points, in MiB per hour; 0 for fewer than two.
pub fn slope_per_hour(points: impl Iterator<Item = (f64, u64)>) -> f64 {
    let points: Vec<(f64, f64)> = points
        .map(|(t, b)| (t / 3600.0, b as f64 / (1024.0 * 1024.0)))
        .collect();
    let n = points.len() as f64;
    if points.len() < 2 {
        return 0.0;
    }
    let (mean_t, mean_b) = (
        points.iter().map(|p| p.0).sum::<f64>() / n,
        points.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let covariance: f64 = points.iter().map(|p| (p.0 - mean_t) * (p.1 - mean_b)).sum();
    let variance: f64 = points.iter().map(|p| (p.0 - mean_t).powi(2)).sum();
    if variance == 0.0 { 0.0 } else { covariance / variance }
}

/// A telemetry family's samples summed by the value of one label.
fn sum_by_label(text: &str, family: &str, label: &str) -> BTreeMap<String, f64> {
    let mut sums = BTreeMap::new();
    let key = format!("{label}=\"");
    for line in text.lines() {
        let Some(rest) = line.strip_prefix(family).and_then(|r| r.strip_prefix('{')) else {
            continue;
        };
        let (Some(start), Some(value)) = (rest.find(&key), line.rsplit(' ').next()) else {
            continue;
        };
        let name = &rest[start + key.len()..];
        let name = &name[..name.find('"').unwrap_or(name.len())];
        if let Ok(value) = value.parse::<f64>() {
            *sums.entry(name.to_string()).or_insert(0.0) += value;
        }
    }
    sums
}

fn mib(b: u64) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

/// The human-readable soak report.
pub fn print(r: &SoakReport) {
    let Some(plan) = r.plan else { return };
    let minutes = |d: Duration| d.as_secs_f64() / 60.0;
    println!(
        "== soak: {:.1} min at {} pods ({} objects at the start, {} at the end) ==",
        minutes(plan.duration),
        r.pods,
        r.objects_start,
        r.objects_end
    );
    println!(
        "churn               {} operations applied ({:.0}/s), {} refused; {} forced relists; sync took {:.1} s",
        r.churn_applied,
        r.churn_applied as f64 / plan.duration.as_secs_f64(),
        r.churn_refused,
        r.relists_forced,
        r.sync_seconds
    );
    println!(
        "phases              outage {:.1} min from minute {:.1}; bookmarks only {:.1} min from minute {:.1}",
        minutes(plan.outage.length),
        minutes(plan.outage.start),
        minutes(plan.quiet.length),
        minutes(plan.quiet.start)
    );
    let rss: Vec<u64> = r.samples.iter().map(|s| s.1).collect();
    if let (Some(first), Some(last)) = (r.samples.first(), r.samples.last()) {
        println!(
            "memory (RSS)        start {:.1} MiB, min {:.1}, max {:.1}, end {:.1}; peak {:.1}; slope {:+.2} MiB/h while churning",
            mib(first.1),
            mib(rss.iter().copied().min().unwrap_or(0)),
            mib(rss.iter().copied().max().unwrap_or(0)),
            mib(last.1),
            mib(r.peak_rss_bytes),
            r.rss_slope_mib_per_hour
        );
        println!(
            "cache               start {:.1} MiB, end {:.1} MiB; slope {:+.2} MiB/h (the cluster's size, hot lines); RSS - cache {:+.2} MiB/h ({} samples)",
            mib(first.2),
            mib(last.2),
            r.cached_slope_mib_per_hour,
            r.overhead_slope_mib_per_hour,
            r.churning_samples
        );
    }
    println!(
        "CPU                 {:.1} s over the soak = {:.3} cores",
        r.cpu_seconds,
        r.cpu_seconds / plan.duration.as_secs_f64()
    );
    println!(
        "                    p50 ms    p99 ms    max ms   (over {} samples)",
        r.samples.len()
    );
    for (name, s) in [
        ("scrape plain", r.scrape_plain),
        ("scrape gzip", r.scrape_gzip),
        ("event lag", r.lag),
        ("idle plain (end)", r.idle_plain),
        ("static plain (end)", r.static_plain),
        ("idle gzip (end)", r.idle_gzip),
        ("static gzip (end)", r.static_gzip),
    ] {
        println!(
            "{name:<19} {:>9.1} {:>9.1} {:>9.1}",
            s.p50 * 1000.0,
            s.p99 * 1000.0,
            s.max * 1000.0
        );
    }
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    println!(
        "ratios (p50)        under churn: plain {:.2}x static plain, gzip {:.2}x static gzip; idle: plain {:.2}x, gzip {:.2}x",
        ratio(r.scrape_plain.p50, r.static_plain.p50),
        ratio(r.scrape_gzip.p50, r.static_gzip.p50),
        ratio(r.idle_plain.p50, r.static_plain.p50),
        ratio(r.idle_gzip.p50, r.static_gzip.p50)
    );
    println!(
        "probes              {} written, {} never served; outage recovered in {:.1} s; first lag after the quiet stretch {:.0} ms",
        r.probes,
        r.probes_missed,
        r.outage_recovery_seconds,
        r.quiet_probe_lag_seconds * 1000.0
    );
    let errors: Vec<String> = r.watch_errors.iter().map(|(k, v)| format!("{k} {v}")).collect();
    println!(
        "watches             {} events applied, {} lists stored; errors: {}",
        r.watch_events,
        r.relists_stored,
        if errors.is_empty() {
            "none".into()
        } else {
            errors.join(", ")
        }
    );
    for c in &r.checkpoints {
        if c.equal {
            println!(
                "checkpoint          {}: scrape equals the API's state ({:.1} s after pausing churn)",
                c.name, c.seconds
            );
        } else {
            println!(
                "checkpoint          {}: DIFFERENT after {:.0} s: {} missing, {} ghosts: {:?}",
                c.name, c.seconds, c.missing, c.ghosts, c.examples
            );
        }
    }
    println!("exporter log        {} lines in {}", r.log_lines, r.log_file);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_hour_gets_the_real_phases_and_a_minute_every_phase_scaled() {
        let hour = Plan::for_duration(Duration::from_secs(3600));
        assert_eq!(hour.sample_every, Duration::from_secs(15));
        assert_eq!(hour.probe_every, Duration::from_secs(30));
        assert_eq!(hour.relist_every, Duration::from_secs(300));
        assert_eq!(hour.outage.start, Duration::from_secs(1440));
        assert_eq!(hour.outage.length, Duration::from_secs(300));
        assert_eq!(hour.quiet.start, Duration::from_secs(2160));
        assert_eq!(hour.quiet.length, Duration::from_secs(600));
        let minute = Plan::for_duration(Duration::from_secs(60));
        assert_eq!(minute.sample_every, Duration::from_secs(3));
        assert_eq!(minute.relist_every, Duration::from_secs(10));
        assert_eq!(minute.outage.length, Duration::from_secs(6));
        assert_eq!(minute.quiet.length, Duration::from_secs(10));
        // The outage ends before the quiet stretch starts, and both before the end.
        for plan in [hour, minute] {
            assert!(plan.outage.end() < plan.quiet.start);
            assert!(plan.quiet.end() < plan.duration);
        }
    }

    #[test]
    fn churning_samples_skip_the_warm_up_the_outage_the_quiet_stretch_and_their_catch_up() {
        let hour = Plan::for_duration(Duration::from_secs(3600));
        let churning: Vec<f64> = [
            0.0, 299.0, 300.0, 1439.0, 1440.0, 1799.0, 1800.0, 1801.0, 2159.0, 2200.0, 2819.0, 2820.0,
        ]
        .into_iter()
        .filter(|t| hour.churning_at(*t))
        .collect();
        assert_eq!(churning, [300.0, 1439.0, 1800.0, 1801.0, 2159.0, 2820.0]);
    }

    #[test]
    fn the_slope_of_a_steady_climb_and_of_a_flat_line() {
        let mib = 1024 * 1024;
        // 10 MiB more every half hour = 20 MiB/h.
        let climb = (0..5).map(|i| (i as f64 * 1800.0, (100 + 10 * i) * mib));
        assert!((slope_per_hour(climb) - 20.0).abs() < 1e-9);
        assert_eq!(slope_per_hour((0..5).map(|i| (i as f64 * 60.0, 50 * mib))), 0.0);
        assert_eq!(slope_per_hour(std::iter::once((0.0, mib))), 0.0);
    }

    #[test]
    fn telemetry_is_summed_by_one_label() {
        let text = "# HELP x y\n\
            kube_state_exporter_watch_errors_total{resource=\"pods\",reason=\"expired\"} 3\n\
            kube_state_exporter_watch_errors_total{resource=\"nodes\",reason=\"expired\"} 2\n\
            kube_state_exporter_watch_errors_total{resource=\"nodes\",reason=\"transport\"} 1\n\
            kube_state_exporter_watch_errors_totalx{resource=\"nodes\",reason=\"transport\"} 9\n";
        let sums = sum_by_label(text, "kube_state_exporter_watch_errors_total", "reason");
        assert_eq!(sums.len(), 2);
        assert_eq!(sums["expired"], 5.0);
        assert_eq!(sums["transport"], 1.0);
    }
}
