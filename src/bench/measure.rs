//! Measurement primitives: process memory from `/proc`, timed HTTP scrapes, percentiles.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;

/// Resident set size now and its peak (`VmRSS`, `VmHWM`) of a process, in bytes.
pub fn memory(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// CPU time (user + system) a process has used so far, in seconds. `/proc/<pid>/stat` counts
/// in USER_HZ ticks, which Linux fixes at 100 per second for user space on every architecture.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces) start at state, field 3.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i - 3)?.parse::<u64>().ok();
    Some((ticks(14)? + ticks(15)?) as f64 / 100.0)
}

/// One timed GET over a fresh connection: the time until the last body byte, the body length,
/// and the body itself when `keep` is set (parallel scrapers of a large body must not each hold
/// a copy, or the harness measures its own memory).
pub async fn timed_get_sized(
    addr: SocketAddr,
    path: &str,
    gzip: bool,
    keep: bool,
) -> anyhow::Result<(Duration, usize, Bytes)> {
    let started = Instant::now();
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    let driver = tokio::spawn(conn);
    let mut request = hyper::Request::get(path).header("host", addr.to_string());
    if gzip {
        request = request.header("accept-encoding", "gzip");
    }
    let response = sender.send_request(request.body(Empty::<Bytes>::new())?).await?;
    anyhow::ensure!(response.status().is_success(), "GET {path}: {}", response.status());
    let mut body = response.into_body();
    let mut size = 0;
    let mut kept = Vec::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            size += data.len();
            if keep {
                kept.extend_from_slice(&data);
            }
        }
    }
    let elapsed = started.elapsed();
    driver.abort();
    Ok((elapsed, size, kept.into()))
}

/// [`timed_get_sized`] keeping the body.
pub async fn timed_get(addr: SocketAddr, path: &str, gzip: bool) -> anyhow::Result<(Duration, Bytes)> {
    let (elapsed, _, body) = timed_get_sized(addr, path, gzip, true).await?;
    Ok((elapsed, body))
}

/// Scrape latencies of `rounds` sequential GETs (bodies counted, not kept).
pub async fn latencies(addr: SocketAddr, path: &str, gzip: bool, rounds: usize) -> anyhow::Result<Vec<Duration>> {
    let mut out = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        out.push(timed_get_sized(addr, path, gzip, false).await?.0);
    }
    Ok(out)
}

/// The `p`-th percentile (0–100, nearest rank) in seconds; 0 for an empty set.
pub fn percentile(samples: &[Duration], p: f64) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let mut sorted: Vec<f64> = samples.iter().map(Duration::as_secs_f64).collect();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Median, p99, min and max of a set of latencies, in seconds.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct Spread {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Fastest.
    pub min: f64,
    /// Slowest.
    pub max: f64,
}

impl Spread {
    /// Summarises latencies.
    pub fn of(samples: &[Duration]) -> Spread {
        Spread {
            p50: percentile(samples, 50.0),
            p99: percentile(samples, 99.0),
            min: percentile(samples, 0.0),
            max: percentile(samples, 100.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&v, 50.0), 0.05);
        assert_eq!(percentile(&v, 99.0), 0.099);
        assert_eq!(percentile(&v, 100.0), 0.1);
        assert_eq!(percentile(&v, 0.0), 0.001);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }

    #[test]
    fn reads_own_cpu_time() {
        let pid = std::process::id();
        let before = cpu_seconds(pid).unwrap();
        let started = Instant::now();
        let mut x = 0u64;
        while started.elapsed() < Duration::from_millis(300) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        let used = cpu_seconds(pid).unwrap() - before;
        assert!(used >= 0.1, "300 ms of spinning counted as {used} s");
    }

    #[test]
    fn reads_own_memory() {
        let (rss, hwm) = memory(std::process::id()).unwrap();
        assert!(rss > 0 && hwm >= rss);
    }
}
