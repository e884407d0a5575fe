//! End to end: the exporter against the simulated API server over real HTTP on 127.0.0.1.
//!
//! The reference for "correct" is always the same pipeline run offline on the simulator's
//! current objects (`render_sources`), so these tests prove the watch path converges on exactly
//! the state the API server holds: no lost object, no ghost series.

use std::process::Stdio;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use kube_state_exporter::app::{ExporterConfig, RunningExporter};
use kube_state_exporter::cli::{FamilyArgs, FamilyOptions, ListenArgs};
use kube_state_exporter::demo;
use kube_state_exporter::exposition::Format;
use kube_state_exporter::kinds::RESOURCES;
use kube_state_exporter::render::render_sources;
use kube_state_exporter::sim::Sim;
use serde_json::json;

/// A GET over a fresh HTTP/1.1 connection: status, headers, body.
async fn get(url: &str, headers: &[(&str, &str)]) -> (u16, hyper::HeaderMap, Vec<u8>) {
    let uri: hyper::Uri = url.parse().unwrap();
    let addr = format!("{}:{}", uri.host().unwrap(), uri.port_u16().unwrap());
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let mut req = hyper::Request::get(uri.path_and_query().unwrap().as_str()).header("host", "localhost");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = sender
        .send_request(req.body(Empty::<Bytes>::new()).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, headers, body)
}

async fn get_text(url: &str) -> (u16, String) {
    let (status, _, body) = get(url, &[]).await;
    (status, String::from_utf8(body).unwrap())
}

fn options() -> FamilyOptions {
    FamilyArgs::default().validate().unwrap()
}

async fn start_exporter(sim_url: &str, families: FamilyOptions) -> RunningExporter {
    let client = kube::Client::try_from(kube::Config::new(sim_url.parse().unwrap())).unwrap();
    RunningExporter::start(ExporterConfig {
        client,
        families,
        namespaces: Vec::new(),
        page_size: 50,
        listen: ListenArgs {
            host: "127.0.0.1".into(),
            port: 0,
            telemetry_host: "127.0.0.1".into(),
            telemetry_port: 0,
        },
    })
    .await
    .unwrap()
}

/// What /metrics must serve for the simulator's current objects.
fn expected_exposition(sim: &Sim, families: &FamilyOptions) -> String {
    let mut items = Vec::new();
    for resource in RESOURCES {
        items.extend(sim.list(resource));
    }
    let list = json!({"kind": "List", "apiVersion": "v1", "items": items}).to_string();
    let out = render_sources(&[("sim".into(), list)], families, Format::Text);
    assert!(out.problems.is_empty(), "{:?}", out.problems);
    String::from_utf8(out.body).unwrap()
}

fn metrics_url(e: &RunningExporter) -> String {
    format!("http://{}/metrics", e.metrics_addr)
}

async fn wait_ready(e: &RunningExporter) {
    let url = format!("http://{}/readyz", e.metrics_addr);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, body) = get_text(&url).await;
        if status == 200 {
            return;
        }
        assert!(Instant::now() < deadline, "exporter never became ready: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls until the scrape equals the expected exposition (watch events are asynchronous).
async fn wait_converged(e: &RunningExporter, sim: &Sim, families: &FamilyOptions) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let expected = expected_exposition(sim, families);
        let (_, body) = get_text(&metrics_url(e)).await;
        if body == expected {
            return body;
        }
        if Instant::now() > deadline {
            let diff: Vec<String> = diff_lines(&expected, &body);
            panic!(
                "scrape never matched the simulator's state; first differences:\n{}",
                diff.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn diff_lines(expected: &str, actual: &str) -> Vec<String> {
    let e: std::collections::BTreeSet<&str> = expected.lines().collect();
    let a: std::collections::BTreeSet<&str> = actual.lines().collect();
    e.difference(&a)
        .take(10)
        .map(|l| format!("missing: {l}"))
        .chain(a.difference(&e).take(10).map(|l| format!("ghost:   {l}")))
        .collect()
}

fn fixture_items(resource: &str) -> Vec<serde_json::Value> {
    let path = format!("{}/tests/fixtures/objects/{resource}.json", env!("CARGO_MANIFEST_DIR"));
    let list: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    list["items"].as_array().unwrap().clone()
}

fn telemetry_value(text: &str, series: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrape_follows_creates_updates_and_deletes() {
    let sim = Sim::start().await.unwrap();
    for resource in RESOURCES {
        for item in fixture_items(resource) {
            sim.create(item).unwrap();
        }
    }
    let families = options();
    let exporter = start_exporter(&sim.url(), families.clone()).await;
    wait_ready(&exporter).await;
    let body = wait_converged(&exporter, &sim, &families).await;
    assert!(
        body.contains("# HELP kube_pod_info [STABLE] "),
        "pod families are served"
    );
    assert!(
        body.contains("kube_deployment_spec_replicas{"),
        "deployment families are served"
    );

    // Create: a new job appears.
    let job = json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "e2e-new", "namespace": "e2e", "creationTimestamp": "2026-11-24T05:00:00Z"},
        "spec": {"parallelism": 3, "completions": 3, "backoffLimit": 6,
                 "template": {"spec": {"containers": [{"name": "c", "image": "busybox"}], "restartPolicy": "Never"}}},
        "status": {"active": 3, "startTime": "2026-11-24T05:00:01Z"}
    });
    sim.create(job).unwrap();
    let body = wait_converged(&exporter, &sim, &families).await;
    assert!(body.contains("kube_job_spec_parallelism{namespace=\"e2e\",job_name=\"e2e-new\"} 3\n"));
    assert!(body.contains("kube_job_status_active{namespace=\"e2e\",job_name=\"e2e-new\"} 3\n"));

    // Update: the value follows.
    sim.patch(
        "jobs",
        Some("e2e"),
        "e2e-new",
        &json!({"status": {"active": 1, "succeeded": 2}}),
    )
    .unwrap();
    let body = wait_converged(&exporter, &sim, &families).await;
    assert!(body.contains("kube_job_status_active{namespace=\"e2e\",job_name=\"e2e-new\"} 1\n"));
    assert!(body.contains("kube_job_status_succeeded{namespace=\"e2e\",job_name=\"e2e-new\"} 2\n"));

    // Delete: every series of the object goes.
    sim.delete("jobs", Some("e2e"), "e2e-new").unwrap();
    let body = wait_converged(&exporter, &sim, &families).await;
    assert!(
        !body.contains("job_name=\"e2e-new\""),
        "deleted object left ghost series"
    );

    // Two scrapes of the same state are byte-identical.
    let (_, again) = get_text(&metrics_url(&exporter)).await;
    assert_eq!(body, again);
    exporter.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn converges_after_dropped_watches_and_expired_resource_versions() {
    let sim = Sim::start().await.unwrap();
    let mut model = demo::populate(&sim, 150, 7).unwrap();
    let families = options();
    let exporter = start_exporter(&sim.url(), families.clone()).await;
    wait_ready(&exporter).await;
    let pod_requests_before = sim.faults().requests("pods");
    for round in 0..6 {
        for op in model.churn(jiff::Timestamp::now(), 40) {
            let _ = demo::apply_op(&sim, op);
        }
        match round % 3 {
            0 => sim.faults().drop_watches(),
            1 => sim.faults().expire_resource_versions(),
            _ => {}
        }
        // Changes made while the watches are down must still arrive.
        for op in model.churn(jiff::Timestamp::now(), 40) {
            let _ = demo::apply_op(&sim, op);
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let body = wait_converged(&exporter, &sim, &families).await;
    assert!(body.lines().filter(|l| l.starts_with("kube_pod_info{")).count() > 100);
    assert!(
        sim.faults().requests("pods") > pod_requests_before + 2,
        "watches were re-established"
    );
    let (_, telemetry) = get_text(&format!("http://{}/metrics", exporter.telemetry_addr)).await;
    assert!(
        telemetry_value(&telemetry, "kube_state_exporter_relists_total{resource=\"pods\"}") >= 2.0,
        "expired resource versions force a relist:\n{telemetry}"
    );
    exporter.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forbidden_kind_leaves_the_others_served() {
    let sim = Sim::start().await.unwrap();
    for resource in RESOURCES {
        for item in fixture_items(resource) {
            sim.create(item).unwrap();
        }
    }
    sim.faults().forbid("daemonsets", true);
    let families = options();
    let exporter = start_exporter(&sim.url(), families.clone()).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = get_text(&format!("http://{}/readyz", exporter.metrics_addr)).await;
        assert_eq!(status, 503);
        // Only the forbidden kind may still be waiting once the others have listed.
        let waiting: Vec<&str> = body.lines().filter_map(|l| l.split(':').next()).collect();
        if waiting == ["daemonsets"] && body.to_lowercase().contains("forbidden") {
            break;
        }
        assert!(Instant::now() < deadline, "readyz never explained the 403: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, body) = get_text(&metrics_url(&exporter)).await;
    assert!(body.contains("kube_pod_info{"));
    assert!(body.contains("kube_job_info{"));
    assert!(!body.contains("kube_daemonset_"), "a forbidden kind has no series");

    // Once allowed, it syncs and the exporter becomes ready.
    sim.faults().forbid("daemonsets", false);
    wait_ready(&exporter).await;
    wait_converged(&exporter, &sim, &families).await;
    exporter.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_and_malformed_events_are_survived() {
    let sim = Sim::start().await.unwrap();
    for item in fixture_items("pods") {
        sim.create(item).unwrap();
    }
    sim.faults().fail_next("pods", 3, 500);
    let families = options();
    let exporter = start_exporter(&sim.url(), families.clone()).await;
    wait_ready(&exporter).await;
    wait_converged(&exporter, &sim, &families).await;

    // A malformed event is skipped and counted; the object keeps its last good state.
    let victim = sim.list("pods")[0].clone();
    let ns = victim["metadata"]["namespace"].as_str().unwrap().to_string();
    let name = victim["metadata"]["name"].as_str().unwrap().to_string();
    let before = get_text(&metrics_url(&exporter)).await.1;
    sim.faults().malformed_next_event("pods");
    sim.patch(
        "pods",
        Some(&ns),
        &name,
        &json!({"metadata": {"labels": {"touched": "1"}}}),
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, telemetry) = get_text(&format!("http://{}/metrics", exporter.telemetry_addr)).await;
        if telemetry_value(&telemetry, "kube_state_exporter_decode_errors_total{resource=\"pods\"}") == 1.0 {
            break;
        }
        assert!(Instant::now() < deadline, "malformed event never counted:\n{telemetry}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        get_text(&metrics_url(&exporter)).await.1,
        before,
        "a skipped event changes nothing"
    );
    // The next good event for the object is applied as usual.
    sim.patch(
        "pods",
        Some(&ns),
        &name,
        &json!({"metadata": {"labels": {"touched": "2"}}}),
    )
    .unwrap();
    wait_converged(&exporter, &sim, &families).await;
    exporter.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_api_server_is_reported_not_fatal() {
    // A port nothing listens on: bind, note it, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let exporter = start_exporter(&format!("http://127.0.0.1:{port}"), options()).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (status, body) = get_text(&format!("http://{}/readyz", exporter.metrics_addr)).await;
    assert_eq!(status, 503);
    assert!(body.contains("pods: not synced yet; last error:"), "{body}");
    assert_eq!(
        get_text(&format!("http://{}/healthz", exporter.metrics_addr)).await.0,
        200
    );
    assert_eq!(
        get_text(&format!("http://{}/livez", exporter.metrics_addr)).await.0,
        200
    );
    let (status, body) = get_text(&metrics_url(&exporter)).await;
    assert_eq!((status, body.as_str()), (200, ""));
    exporter.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_scrape_passes_promtool_in_every_encoding() {
    let sim = Sim::start().await.unwrap();
    let _model = demo::populate(&sim, 200, 3).unwrap();
    // A label value with quotes, backslashes and a newline must not break the exposition.
    let mut odd = fixture_items("deployments")[0].clone();
    odd["metadata"]["name"] = json!("odd");
    odd["metadata"]["uid"] = json!("0b1c2d3e-0000-4000-8000-000000000001");
    odd["metadata"]["labels"] = json!({"weird": "a \"quoted\" \\ back\nslash", "fooBar.io/x": "ü"});
    sim.create(odd).unwrap();
    let args = FamilyArgs {
        metric_labels_allowlist: "*=[*]".into(),
        metric_annotations_allowlist: "*=[*]".into(),
        ..FamilyArgs::default()
    };
    let families = args.validate().unwrap();
    let exporter = start_exporter(&sim.url(), families.clone()).await;
    wait_ready(&exporter).await;
    let plain = wait_converged(&exporter, &sim, &families).await;
    assert!(
        plain.contains(r#"label_weird="a \"quoted\" \\ back\nslash""#),
        "escaped label value present"
    );
    assert!(plain.contains(r#"label_foo_bar_io_x="ü""#));

    let (status, headers, gz) = get(&metrics_url(&exporter), &[("accept-encoding", "gzip")]).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-encoding"], "gzip");
    assert_eq!(headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    let mut unzipped = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut unzipped).unwrap();
    assert_eq!(unzipped, plain, "gzip carries the same bytes");

    let (_, headers, om) = get(
        &metrics_url(&exporter),
        &[("accept", "application/openmetrics-text;version=1.0.0")],
    )
    .await;
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    assert!(String::from_utf8(om).unwrap().ends_with("# EOF\n"));

    let (_, filtered) = get_text(&format!(
        "{}?resources=jobs,pods&exclude_resources=pods",
        metrics_url(&exporter)
    ))
    .await;
    assert!(
        filtered.contains("kube_job_info{")
            && !filtered.contains("kube_pod_")
            && !filtered.contains("kube_deployment_")
    );

    assert_promtool_accepts(&plain);
    let (_, telemetry) = get_text(&format!("http://{}/metrics", exporter.telemetry_addr)).await;
    assert_promtool_accepts(&telemetry);
    exporter.shutdown().await;
    sim.shutdown().await;
}

/// `promtool check metrics` (Debian's `prometheus` package) must parse the text without error.
/// Exit 0 = clean, 3 = lint warnings only (KSM's own names trip some lints); 1 = parse error.
fn assert_promtool_accepts(text: &str) {
    use std::io::Write;
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool not found: install Debian's `prometheus` package (see .ci/run)");
    let mut stdin = child.stdin.take().unwrap();
    let input = text.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        matches!(out.status.code(), Some(0) | Some(3)),
        "promtool rejected the exposition ({:?}):\n{report}",
        out.status
    );
    assert!(
        !report.contains("error while linting") && !report.contains("parse error"),
        "{report}"
    );
}
