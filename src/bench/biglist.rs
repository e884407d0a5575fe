//! `bench --big-list-mib N`: the exporter's initial sync of a pod list of at least N MiB of JSON,
//! once as a streamed list (WatchList) and once paginated, against an in-process simulator. The
//! pods are the generated cluster's, each padded with an annotation the exporter does not export,
//! so the wire carries the bytes and the cache does not. Reports peak RSS against the list's size:
//! bounded by a page (or one event), not by the list.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;

use super::measure::{memory, timed_get};
use super::{free_port, read_telemetry_sum, spawn_exporter, wait_ready};
use crate::sim::cluster::{ClusterModel, ClusterSpec};
use crate::sim::{Sim, SimConfig};

/// Pods asked of the generator per MiB of target: each then carries about 100 KiB whatever the
/// target, so a bigger list is more pages of the same size (a gigabyte is 11 000 pods, a test's
/// few MiB a few dozen), and a peak that does not grow with the list shows it is bounded by a page.
const PODS_PER_MIB: u64 = 10;

/// One sync of the big list.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct BigListRun {
    /// `streamed` (WatchList) or `paginated` (`limit`/`continue` pages).
    pub path: String,
    /// Page size of the paginated lists (`--watch-page-size`).
    pub page_size: u32,
    /// Seconds from the exporter's start to `/readyz` 200.
    pub sync_seconds: f64,
    /// Exporter peak RSS (VmHWM) over the sync, bytes.
    pub peak_rss_bytes: u64,
    /// Exporter RSS once synced, bytes.
    pub steady_rss_bytes: u64,
    /// Rendered bytes the exporter caches.
    pub cached_bytes: u64,
    /// Peak RSS ÷ the list's JSON.
    pub peak_over_list: f64,
    /// `kube_pod_info` series served: must equal the pods.
    pub pods_served: usize,
}

/// Both syncs of one list.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct BigListReport {
    /// Pods listed.
    pub pods: usize,
    /// Their JSON as the simulator serves it, bytes.
    pub list_bytes: u64,
    /// Streamed, then paginated.
    pub runs: Vec<BigListRun>,
}

/// Builds a list of at least `mib` MiB and syncs an exporter on it both ways.
pub async fn run(exe: &Path, dir: &Path, mib: u64) -> anyhow::Result<BigListReport> {
    let target = mib * 1024 * 1024;
    let mut report = BigListReport::default();
    for (path, watch_list) in [("streamed", true), ("paginated", false)] {
        let config = SimConfig {
            watch_list,
            ..SimConfig::default()
        };
        let sim = Sim::start_with(([127, 0, 0, 1], 0).into(), config).await?;
        let pods = (mib * PODS_PER_MIB).max(20) as usize;
        eprintln!("big list: creating about {pods} pods, {mib} MiB of JSON in all…");
        (report.pods, report.list_bytes) = populate_padded(&sim, pods, target)?;
        let kubeconfig = dir.join(format!("big-list-{path}.kubeconfig"));
        sim.write_kubeconfig(&kubeconfig)?;
        eprintln!("big list: {path} sync…");
        let run = sync_once(exe, &kubeconfig, path, report.list_bytes).await?;
        report.runs.push(run);
        sim.shutdown().await;
    }
    Ok(report)
}

/// Creates the generated cluster's objects, each pod padded so that the pods' JSON reaches
/// `target` bytes; returns the pods and their JSON size.
fn populate_padded(sim: &Sim, pods: usize, target: u64) -> anyhow::Result<(usize, u64)> {
    let model = ClusterModel::new(ClusterSpec::for_pods(pods, 1), jiff::Timestamp::now());
    let pods = model.objects().filter(|o| o["kind"] == "Pod").count().max(1);
    let mut listed = 0u64;
    for mut obj in model.objects() {
        if obj["kind"] == "Pod" {
            let base = serde_json::to_vec(&obj)?.len() as u64;
            let padding = target.div_ceil(pods as u64).saturating_sub(base) as usize;
            obj["metadata"]["annotations"]["bench.kube-state-exporter.dev/padding"] = json!("x".repeat(padding));
            listed += base + padding as u64;
        }
        sim.create(obj).context("creating the big list's objects")?;
    }
    Ok((pods, listed))
}

async fn sync_once(exe: &Path, kubeconfig: &Path, path: &str, list_bytes: u64) -> anyhow::Result<BigListRun> {
    const PAGE: u32 = 500;
    let (port, telemetry_port) = (free_port()?, free_port()?);
    let started = Instant::now();
    let exporter = spawn_exporter(
        exe,
        kubeconfig,
        port,
        telemetry_port,
        &["--resources=pods".to_string(), format!("--watch-page-size={PAGE}")],
        std::process::Stdio::inherit(),
    )?;
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    wait_ready(addr, Duration::from_secs(900)).await?;
    let sync_seconds = started.elapsed().as_secs_f64();
    let pid = exporter.0.id();
    let (_, peak_rss_bytes) = memory(pid).context("reading the exporter's memory")?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (steady_rss_bytes, _) = memory(pid).context("reading the exporter's memory")?;
    let telemetry: SocketAddr = ([127, 0, 0, 1], telemetry_port).into();
    let cached_bytes = read_telemetry_sum(telemetry, "kube_state_exporter_cached_bytes").await? as u64;
    let (_, body) = timed_get(addr, "/metrics", false).await?;
    let pods_served = String::from_utf8_lossy(&body)
        .lines()
        .filter(|l| l.starts_with("kube_pod_info{"))
        .count();
    Ok(BigListRun {
        path: path.to_string(),
        page_size: PAGE,
        sync_seconds,
        peak_rss_bytes,
        steady_rss_bytes,
        cached_bytes,
        peak_over_list: peak_rss_bytes as f64 / list_bytes.max(1) as f64,
        pods_served,
    })
}

/// The human-readable report.
pub fn print(r: &BigListReport) {
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    println!("== big list: {} pods, {:.0} MiB of JSON ==", r.pods, mib(r.list_bytes));
    for run in &r.runs {
        println!(
            "{:<10} sync {:.1} s; peak RSS {:.0} MiB = {:.3} of the list; steady {:.0} MiB, cache {:.1} MiB; {} of {} pods served",
            run.path,
            run.sync_seconds,
            mib(run.peak_rss_bytes),
            run.peak_over_list,
            mib(run.steady_rss_bytes),
            mib(run.cached_bytes),
            run.pods_served,
            r.pods
        );
    }
}
