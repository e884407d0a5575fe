//! `report` end to end: from a running exporter's /metrics, and from a real Prometheus that
//! scrapes it and holds backfilled usage history. Expectations come from the simulator's
//! objects (specs, owner references), never from the report's own arithmetic.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use clap::Parser;
use kube_state_exporter::cli::{Cli, Command, ReportArgs};
use kube_state_exporter::report::build::{GroupRow, Report};
use kube_state_exporter::report::{self};
use kube_state_exporter::sim::metrics::parse_quantity;

use super::*;

const MIB: f64 = 1024.0 * 1024.0;

fn report_args(argv: &[&str]) -> ReportArgs {
    let cli = Cli::try_parse_from([&["kube-state-exporter", "report"], argv].concat()).unwrap();
    match cli.command {
        Some(Command::Report(args)) => args,
        other => panic!("not a report command: {other:?}"),
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// The simulator's view: per node the requests of its Pending/Running pods, and each pod's
/// workload followed through ReplicaSet and Job owners.
struct Truth {
    node_requests: BTreeMap<String, (f64, f64)>,
    workload_of: HashMap<(String, String), (String, String)>,
    active_pods: usize,
}

fn controller(obj: &serde_json::Value) -> Option<(String, String)> {
    obj["metadata"]["ownerReferences"]
        .as_array()?
        .iter()
        .find(|r| r["controller"] == true)
        .map(|r| {
            (
                r["kind"].as_str().unwrap().to_string(),
                r["name"].as_str().unwrap().to_string(),
            )
        })
}

fn truth(sim: &Sim) -> Truth {
    let owners = |resource: &str| -> HashMap<(String, String), (String, String)> {
        sim.list(resource)
            .iter()
            .filter_map(|o| {
                let key = (
                    o["metadata"]["namespace"].as_str()?.to_string(),
                    o["metadata"]["name"].as_str()?.to_string(),
                );
                Some((key, controller(o)?))
            })
            .collect()
    };
    let (replicasets, jobs) = (owners("replicasets"), owners("jobs"));
    let mut t = Truth {
        node_requests: BTreeMap::new(),
        workload_of: HashMap::new(),
        active_pods: 0,
    };
    for pod in sim.list("pods") {
        let ns = pod["metadata"]["namespace"].as_str().unwrap().to_string();
        let name = pod["metadata"]["name"].as_str().unwrap().to_string();
        let workload = match controller(&pod) {
            Some((kind, owner)) => {
                let parent = match kind.as_str() {
                    "ReplicaSet" => replicasets.get(&(ns.clone(), owner.clone())),
                    "Job" => jobs.get(&(ns.clone(), owner.clone())),
                    _ => None,
                };
                parent.cloned().unwrap_or((kind, owner))
            }
            None => ("Pod".to_string(), name.clone()),
        };
        t.workload_of.insert((ns, name), workload);
        if !matches!(pod["status"]["phase"].as_str(), Some("Pending" | "Running")) {
            continue;
        }
        t.active_pods += 1;
        let Some(node) = pod["spec"]["nodeName"].as_str() else {
            continue;
        };
        let sum = t.node_requests.entry(node.to_string()).or_default();
        for c in pod["spec"]["containers"].as_array().unwrap() {
            let requests = &c["resources"]["requests"];
            sum.0 += requests["cpu"].as_str().and_then(parse_quantity).unwrap_or(0.0);
            sum.1 += requests["memory"].as_str().and_then(parse_quantity).unwrap_or(0.0);
        }
    }
    t
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_from_metrics_url_matches_the_simulated_cluster() {
    let sim = metrics_sim(150, 23).await;
    let e = start_usage_exporter(&sim.url(), fast_usage()).await;
    wait_ready(&e).await;
    scrape_until(&e, "container usage", |b| {
        b.contains("kube_pod_container_resource_usage{")
    })
    .await;
    let truth = truth(&sim);

    let args = report_args(&["--metrics-url", &metrics_url(&e)]);
    let r: Report = report::make(&args).await.unwrap();

    assert_eq!(r.cluster.pods, truth.active_pods);
    assert_eq!(r.nodes.len(), sim.list("nodes").len());
    for node in sim.list("nodes") {
        let name = node["metadata"]["name"].as_str().unwrap();
        let row = r.nodes.iter().find(|n| n.node == name).unwrap();
        let alloc = &node["status"]["allocatable"];
        assert!(close(
            row.allocatable.cpu.unwrap(),
            parse_quantity(alloc["cpu"].as_str().unwrap()).unwrap()
        ));
        assert!(close(
            row.allocatable.memory.unwrap(),
            parse_quantity(alloc["memory"].as_str().unwrap()).unwrap()
        ));
        let (cpu, memory) = truth.node_requests.get(name).copied().unwrap_or_default();
        assert!(
            close(row.requested.cpu.unwrap_or(0.0), cpu),
            "{name}: cpu {:?} vs {cpu}",
            row.requested.cpu
        );
        assert!(close(row.requested.memory.unwrap_or(0.0), memory), "{name}: memory");
        assert!(close(row.headroom.cpu.unwrap(), row.allocatable.cpu.unwrap() - cpu));
        assert!(row.used.cpu.is_some(), "{name}: node usage from metrics.k8s.io");
        if let Some(fit) = &row.largest_fit {
            assert!(fit.requests.cpu.unwrap_or(0.0) <= row.headroom.cpu.unwrap() + 1e-9);
            assert!(fit.requests.memory.unwrap_or(0.0) <= row.headroom.memory.unwrap() + 1e-9);
        }
    }
    // Every workload row counts exactly the active pods the simulator's owners give it.
    let mut expected: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    for pod in sim.list("pods") {
        if !matches!(pod["status"]["phase"].as_str(), Some("Pending" | "Running")) {
            continue;
        }
        let key = (
            pod["metadata"]["namespace"].as_str().unwrap().to_string(),
            pod["metadata"]["name"].as_str().unwrap().to_string(),
        );
        let (kind, name) = truth.workload_of[&key].clone();
        *expected.entry((key.0, kind, name)).or_default() += 1;
    }
    let got: BTreeMap<(String, String, String), usize> = r
        .workloads
        .iter()
        .map(|w| {
            let wl = w.workload.clone().unwrap();
            ((w.namespace.clone(), wl.kind, wl.name), w.pods)
        })
        .collect();
    assert_eq!(got, expected);
    assert!(
        got.keys().any(|(_, kind, _)| kind == "Deployment"),
        "ReplicaSets resolve to Deployments"
    );
    assert!(
        r.containers.iter().all(|c| c.recommendation.is_none()),
        "no history, no recommendation"
    );
    assert!(r.notes.iter().any(|n| n.contains("--prometheus")), "{:?}", r.notes);

    // Every output format, parsed back.
    let table = report::render(&r, &args).unwrap();
    for line in table.lines() {
        assert!(line.chars().count() <= 100, "wider than 100 columns: {line:?}");
        assert!(!line.contains('\x1b'), "no colour off a terminal");
    }
    for header in ["NODE ", "NAMESPACE ", "WORKLOAD ", "NAMESPACE/WORKLOAD/CONTAINER"] {
        assert!(
            table.lines().any(|l| l.starts_with(header)),
            "{header} table missing:\n{table}"
        );
    }
    let json: serde_json::Value =
        serde_json::from_str(&report::render(&r, &report_args(&["--metrics-url", "x", "-o", "json"])).unwrap())
            .unwrap();
    assert_eq!(json["nodes"].as_array().unwrap().len(), r.nodes.len());
    let yaml = report::render(&r, &report_args(&["--metrics-url", "x", "-o", "yaml"])).unwrap();
    let yaml: serde_json::Value = serde_saphyr::from_str(&yaml).unwrap();
    assert_eq!(yaml["cluster"]["pods"], json["cluster"]["pods"]);
    let csv = report::render(
        &r,
        &report_args(&["--metrics-url", "x", "-o", "csv", "--view", "nodes"]),
    )
    .unwrap();
    let widths: Vec<usize> = csv.lines().map(|l| l.split(',').count()).collect();
    assert_eq!(widths.len(), r.nodes.len() + 1);
    assert!(widths.iter().all(|w| *w == widths[0]), "{csv}");

    // Filters: one namespace, top 3 by memory.
    let ns = r.namespaces[0].namespace.clone();
    let filtered = report::make(&report_args(&[
        "--metrics-url",
        &metrics_url(&e),
        "-n",
        &ns,
        "--top",
        "3",
        "--sort",
        "memory",
    ]))
    .await
    .unwrap();
    assert_eq!(filtered.namespaces.len(), 1);
    assert!(filtered.workloads.len() <= 3 && filtered.workloads.iter().all(|w| w.namespace == ns));
    let memory: Vec<f64> = filtered
        .workloads
        .iter()
        .map(|w| w.requests.memory.unwrap_or(0.0))
        .collect();
    assert!(memory.windows(2).all(|w| w[0] >= w[1]), "{memory:?}");

    let (status, _) = get_text(&format!("http://{}/report", e.metrics_addr)).await;
    assert_eq!(status, 404, "/report is off without --report");

    // The cluster itself, no exporter running: the same requests, and usage read once.
    let dir = scratch_dir("report-kubeconfig");
    let kubeconfig = dir.join("kubeconfig");
    sim.write_kubeconfig(&kubeconfig).unwrap();
    let snapshot = report::make(&report_args(&["--kubeconfig", kubeconfig.to_str().unwrap()]))
        .await
        .unwrap();
    assert!(
        snapshot.source.starts_with("cluster http://127.0.0.1:"),
        "{}",
        snapshot.source
    );
    assert_eq!(snapshot.cluster.pods, r.cluster.pods);
    assert_eq!(snapshot.cluster.requested, r.cluster.requested);
    let shape = |rows: &[GroupRow]| -> Vec<String> {
        rows.iter()
            .map(|w| format!("{:?} {} {:?}", w.workload, w.pods, w.requests))
            .collect()
    };
    assert_eq!(shape(&snapshot.workloads), shape(&r.workloads));
    assert!(
        snapshot.nodes.iter().all(|n| n.used.cpu.is_some()),
        "metrics.k8s.io read once"
    );
    let err = report::make(&report_args(&["--metrics-url", "http://x", "--kubeconfig", "k"]))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("give one source"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);

    // A URL that is not a metrics endpoint says so.
    let err = report::make(&report_args(&[
        "--metrics-url",
        &format!("http://{}/readyz", e.metrics_addr),
    ]))
    .await
    .unwrap_err();
    assert!(
        format!("{err:#}").contains("not a kube-state-metrics endpoint"),
        "{err:#}"
    );
    e.shutdown().await;
}

/// A free port on 127.0.0.1 for a child process (bound and released: a tiny race, retried by
/// the caller's readiness wait failing loudly).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kse-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A series written out in full (`name{labels}`) and its (unix seconds, value) points.
type Series = (String, Vec<(f64, f64)>);

/// Writes `series` as OpenMetrics and turns them into TSDB
/// blocks in `data` with `promtool tsdb create-blocks-from openmetrics`.
fn backfill(dir: &Path, data: &Path, series: &[Series]) {
    let mut text = String::new();
    let mut families: BTreeMap<&str, Vec<&Series>> = BTreeMap::new();
    for s in series {
        families.entry(s.0.split('{').next().unwrap()).or_default().push(s);
    }
    for (family, members) in families {
        text.push_str(&format!("# TYPE {family} gauge\n"));
        for (name, points) in members {
            for (t, v) in points {
                text.push_str(&format!("{name} {v} {t}\n"));
            }
        }
    }
    text.push_str("# EOF\n");
    let input = dir.join("history.om");
    std::fs::write(&input, text).unwrap();
    let out = std::process::Command::new("promtool")
        .args(["tsdb", "create-blocks-from", "openmetrics", "-q"])
        .arg(&input)
        .arg(data)
        .output()
        .expect("promtool not found: install Debian's `prometheus` package (see .ci/run)");
    assert!(
        out.status.success(),
        "backfill: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A real Prometheus on 127.0.0.1 scraping the exporter every second, with `data` as storage.
struct Prometheus {
    child: std::process::Child,
    url: String,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_prometheus(dir: &Path, data: &Path, target: std::net::SocketAddr) -> Prometheus {
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global: {{scrape_interval: 1s}}\n\
             scrape_configs:\n\
             - job_name: kube-state-metrics\n\
             \x20 honor_labels: true\n\
             \x20 static_configs: [{{targets: ['{target}']}}]\n"
        ),
    )
    .unwrap();
    let port = free_port();
    let child = std::process::Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", data.display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("prometheus.log")).unwrap())
        .spawn()
        .expect("prometheus not found: install Debian's `prometheus` package (see .ci/run)");
    let p = Prometheus {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let answer = tokio::task::spawn_blocking(move || {
            http_get(port, "/api/v1/query?query=count(kube_pod_container_resource_requests)")
        })
        .await
        .unwrap();
        if answer.is_some_and(|a| a.contains("\"value\"")) {
            return p;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus never scraped the exporter: {}",
            std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A GET that answers `None` while the server is not up yet (instead of failing the test).
fn http_get(port: u16, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut out = String::new();
    stream.read_to_string(&mut out).ok()?;
    Some(out)
}

/// Prometheus' quantile over samples: linear interpolation between ranks at q × (n − 1).
fn quantile(q: f64, values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = q * (v.len() - 1) as f64;
    let (lower, weight) = (rank.floor() as usize, rank - rank.floor());
    let upper = (lower + 1).min(v.len() - 1);
    v[lower] * (1.0 - weight) + v[upper] * weight
}

/// Every raw sample Prometheus holds for `selector` over `window` ending at `at`, per series.
fn raw_samples(port: u16, selector: &str, window: &str, at: f64) -> Vec<(serde_json::Value, Vec<f64>)> {
    let query: String = format!("{selector}[{window}]")
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let answer = http_get(port, &format!("/api/v1/query?query={query}&time={at:.3}")).unwrap();
    let json: serde_json::Value = serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(json["status"], "success", "{json}");
    json["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|series| {
            let values = series["values"].as_array().unwrap();
            let values = values.iter().map(|p| p[1].as_str().unwrap().parse().unwrap()).collect();
            (series["metric"].clone(), values)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_from_prometheus_recommends_from_history() {
    let sim = metrics_sim(90, 29).await;
    let e = start_usage_exporter(&sim.url(), fast_usage()).await;
    wait_ready(&e).await;
    let body = scrape_until(&e, "container usage", |b| {
        b.contains("kube_pod_container_resource_usage{")
    })
    .await;
    let truth = truth(&sim);

    // An hour and a half of older history for the same series (labels as scraped, plus the
    // target's job and instance): per container j, 100 samples (i + 1) × k_j a minute apart.
    let now = jiff::Timestamp::now().as_second() as f64;
    let start = now - 110.0 * 60.0;
    let target = format!("job=\"kube-state-metrics\",instance=\"{}\"", e.metrics_addr);
    let mut series = Vec::new();
    for (j, line) in body
        .lines()
        .filter(|l| l.starts_with("kube_pod_container_resource_usage{") || l.starts_with("kube_node_resource_usage{"))
        .enumerate()
    {
        let name = &line[..line.rfind(' ').unwrap()];
        let scale = if line.contains("resource=\"memory\"") {
            1024.0 * 1024.0
        } else {
            0.0005
        };
        let points = (0..100).map(|i| (start + 60.0 * i as f64, (i + 1) as f64 * scale * (j % 13 + 1) as f64));
        series.push((name.replacen('{', &format!("{{{target},"), 1), points.collect()));
    }
    assert!(series.len() > 40, "{} usage series", series.len());
    let dir = scratch_dir("report-prometheus");
    let data = dir.join("data");
    backfill(&dir, &data, &series);
    let prometheus = start_prometheus(&dir, &data, e.metrics_addr).await;
    let port: u16 = prometheus.url.rsplit(':').next().unwrap().parse().unwrap();
    // About a minute of live scrapes on top, every second, while the sim's usage moves.
    tokio::time::sleep(Duration::from_secs(60)).await;
    let at = jiff::Timestamp::now().as_millisecond() as f64 / 1000.0 - 1.0;

    let args = report_args(&[
        "--prometheus",
        &prometheus.url,
        "--window",
        "3h",
        "--at",
        &format!("{at:.3}"),
        "--selector",
        "job=\"kube-state-metrics\"",
    ]);
    let r = report::make(&args).await.unwrap();
    assert_eq!(r.window.as_deref(), Some("3h"));
    let as_of: jiff::Timestamp = r.as_of.as_deref().unwrap().parse().unwrap();
    assert_eq!(as_of.as_millisecond(), (at * 1000.0).round() as i64);
    assert_eq!(
        r.cluster.pods, truth.active_pods,
        "current state from Prometheus' scrape"
    );
    for row in &r.nodes {
        let (cpu, _) = truth.node_requests.get(&row.node).copied().unwrap_or_default();
        assert!(close(row.requested.cpu.unwrap_or(0.0), cpu), "{}", row.node);
    }

    // Expected: each series' statistics from its raw samples, the busiest pod per workload.
    let mut expected: BTreeMap<(String, String, String), [f64; 5]> = BTreeMap::new();
    for (resource, stats) in [("cpu", 0..4), ("memory", 4..5)] {
        let selector = format!("kube_pod_container_resource_usage{{resource=\"{resource}\"}}");
        for (metric, values) in raw_samples(port, &selector, "3h", at) {
            assert!(values.len() > 140, "backfilled and live samples: {}", values.len());
            let label = |k: &str| metric[k].as_str().unwrap().to_string();
            let (kind, name) = truth.workload_of[&(label("namespace"), label("pod"))].clone();
            let key = (label("namespace"), format!("{kind}/{name}"), label("container"));
            let max = values.iter().copied().fold(f64::MIN, f64::max);
            let computed = [
                quantile(0.5, &values),
                quantile(0.95, &values),
                quantile(0.99, &values),
                max,
                max,
            ];
            let slot = expected.entry(key).or_insert([f64::MIN; 5]);
            for i in stats.clone() {
                slot[i] = slot[i].max(computed[i]);
            }
        }
    }
    let mut checked = 0;
    for row in &r.containers {
        let key = (
            row.namespace.clone(),
            format!("{}/{}", row.workload.kind, row.workload.name),
            row.container.clone(),
        );
        let Some(&[p50, p95, p99, cpu_max, peak]) = expected.get(&key) else {
            assert!(row.recommendation.is_none(), "{key:?}: no history, no recommendation");
            continue;
        };
        let h = row.history.unwrap();
        for (got, want, what) in [
            (h.cpu_p50, p50, "p50"),
            (h.cpu_p95, p95, "p95"),
            (h.cpu_p99, p99, "p99"),
            (h.cpu_max, cpu_max, "max"),
            (h.memory_peak, peak, "memory peak"),
        ] {
            assert!(
                (got.unwrap() - want).abs() <= 1e-9 * want.abs().max(1.0),
                "{key:?}: {what} {got:?} vs {want}"
            );
        }
        let rec = row.recommendation.as_ref().unwrap();
        assert!(close(rec.cpu_request.unwrap(), p95.max(0.010)), "{key:?}");
        assert!(
            close(rec.memory_request.unwrap(), (peak * 1.15).max(16.0 * MIB)),
            "{key:?}"
        );
        assert!(close(
            rec.memory_limit.unwrap(),
            (peak * 1.3).max(rec.memory_request.unwrap())
        ));
        assert_eq!(rec.cpu_limit, None);
        let change = rec.change.cpu.unwrap();
        assert!(close(
            change,
            (rec.cpu_request.unwrap() - row.requests.cpu.unwrap_or(0.0)) * row.pods as f64
        ));
        checked += 1;
    }
    assert!(checked > 10, "only {checked} containers had history");
    // Node history, and namespaces summing their workloads' changes.
    for (metric, values) in raw_samples(port, "kube_node_resource_usage{resource=\"memory\"}", "3h", at) {
        let node = metric["node"].as_str().unwrap();
        let row = r.nodes.iter().find(|n| n.node == node).unwrap();
        let peak = values.iter().copied().fold(f64::MIN, f64::max);
        assert!(close(row.history.unwrap().memory_peak.unwrap(), peak), "{node}");
    }
    for (metric, values) in raw_samples(port, "kube_node_resource_usage{resource=\"cpu\"}", "3h", at) {
        let node = metric["node"].as_str().unwrap();
        let h = r.nodes.iter().find(|n| n.node == node).unwrap().history.unwrap();
        assert!(close(h.cpu_p50.unwrap(), quantile(0.5, &values)), "{node} p50");
        assert!(close(h.cpu_p95.unwrap(), quantile(0.95, &values)), "{node} p95");
        assert!(close(h.cpu_p99.unwrap(), quantile(0.99, &values)), "{node} p99");
    }
    for ns in &r.namespaces {
        let sum: f64 = r
            .containers
            .iter()
            .filter(|c| c.namespace == ns.namespace)
            .filter_map(|c| c.recommendation.as_ref()?.change.cpu)
            .sum();
        assert!(
            close(ns.change.and_then(|c| c.cpu).unwrap_or(0.0), sum),
            "{}",
            ns.namespace
        );
    }
    let table = report::render(&r, &args).unwrap();
    assert!(table.contains("history 3h") && table.contains("P95"), "{table}");

    let err = report::make(&report_args(&["--prometheus", &prometheus.url, "--window", "7 days"]))
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("not a Prometheus duration"), "{err:#}");
    drop(prometheus);
    let _ = std::fs::remove_dir_all(&dir);
    e.shutdown().await;
}

/// Headless Chromium as the library's probe runs it (no background networking: the machine's
/// network is closed), in a fresh profile.
fn chromium(dir: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            // The page's console messages and uncaught errors go to stderr as `:CONSOLE` lines.
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .args(args)
        .output()
        .expect("chromium not found: install Debian's `chromium` package (see .ci/run)")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_page_is_served_live_and_renders_in_chromium() {
    let sim = metrics_sim(120, 31).await;
    let config = kube::Config::new(sim.url().parse().unwrap());
    let mut exporter_config = ExporterConfig {
        usage: Some(UsageConfig {
            client: usage::no_retry_client(config).unwrap(),
            settings: fast_usage(),
        }),
        ..exporter_config(&sim.url(), options())
    };
    exporter_config.listen.report = true;
    let e = RunningExporter::start(exporter_config).await.unwrap();
    wait_ready(&e).await;
    scrape_until(&e, "container usage", |b| {
        b.contains("kube_pod_container_resource_usage{")
    })
    .await;

    // The live JSON equals the report made from the same exporter's /metrics.
    let (status, json) = get_text(&format!("http://{}/report?format=json", e.metrics_addr)).await;
    assert_eq!(status, 200, "{json}");
    let live: serde_json::Value = serde_json::from_str(&json).unwrap();
    let offline = report::make(&report_args(&["--metrics-url", &metrics_url(&e)]))
        .await
        .unwrap();
    // Both through text: serde_json's float parsing is not exact to the last bit.
    let offline: serde_json::Value = serde_json::from_str(&serde_json::to_string(&offline).unwrap()).unwrap();
    for key in ["cluster", "namespaces", "workloads"] {
        assert_eq!(live[key], offline[key], "{key}");
    }
    let (status, _) = get_text(&format!("http://{}/report?format=xml", e.metrics_addr)).await;
    assert_eq!(status, 400);

    let (status, page) = get_text(&format!("http://{}/report", e.metrics_addr)).await;
    assert_eq!(status, 200);
    let dir = scratch_dir("report-page");
    let file = dir.join("report.html");
    std::fs::write(&file, &page).unwrap();
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "self-contained: no network"
    );

    // The DOM after the page's script ran: charts drawn, the filter counted its rows, and
    // nothing on the console.
    let url = format!("file://{}", file.display());
    let out = chromium(&dir, &["--dump-dom", &url]);
    let dom = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "chromium: {stderr}");
    let console: Vec<&str> = stderr.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.is_empty(), "console output: {console:#?}");
    let chart = |id: &str| {
        let from = dom
            .find(&format!("<svg id=\"{id}\""))
            .unwrap_or_else(|| panic!("no {id}"));
        dom[from..from + dom[from..].find("</svg>").unwrap()].to_string()
    };
    let (node_chart, namespace_chart) = (chart("node-chart"), chart("namespace-chart"));
    let nodes = sim.list("nodes");
    assert_eq!(
        node_chart.matches("<g class=\"node\">").count(),
        nodes.len(),
        "one chart row per node"
    );
    for node in &nodes {
        let name = node["metadata"]["name"].as_str().unwrap();
        assert!(
            node_chart.contains(&format!(">{name}</text>")),
            "{name} labels its bars"
        );
    }
    for class in ["allocatable", "requested", "limited", "used"] {
        assert!(node_chart.contains(&format!("class=\"{class}\"")), "{class} bars drawn");
    }
    for ns in live["namespaces"].as_array().unwrap() {
        let name = ns["namespace"].as_str().unwrap();
        assert!(
            namespace_chart.contains(&format!(">{name}</text>")),
            "namespace {name} charted"
        );
    }
    let rows = live["containers"].as_array().unwrap().len();
    assert!(rows > 10);
    assert!(
        dom.contains(&format!("{rows} of {rows} containers shown")),
        "the filter script ran: {}",
        dom.lines().find(|l| l.contains("id=\"shown\"")).unwrap_or("")
    );
    // The screenshot stays under target/ as the test's artifact.
    let png = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-page.png");
    let out = chromium(
        &dir,
        &[
            "--window-size=1280,1600",
            &format!("--screenshot={}", png.display()),
            &url,
        ],
    );
    assert!(
        out.status.success(),
        "chromium: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shot = std::fs::read(&png).unwrap();
    assert!(
        shot.starts_with(b"\x89PNG") && shot.len() > 20_000,
        "a screenshot with content"
    );
    let _ = std::fs::remove_dir_all(&dir);
    e.shutdown().await;
}
