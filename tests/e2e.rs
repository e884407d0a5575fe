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
use kube_state_exporter::contract;
use kube_state_exporter::demo;
use kube_state_exporter::exposition::Format;
use kube_state_exporter::kinds;
use kube_state_exporter::render::render_sources;
use kube_state_exporter::sim::{Sim, SimConfig};
use kube_state_exporter::usage::{self, UsageConfig, UsageSettings};
use serde_json::json;

#[path = "e2e/faults.rs"]
mod faults;
#[path = "e2e/grafana.rs"]
mod grafana;
#[path = "e2e/hostile.rs"]
mod hostile;
#[path = "e2e/report.rs"]
mod report;
#[path = "e2e/sharding.rs"]
mod sharding;

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

/// Every kind on, KSM's opt-in resources included, so each fixture goes through the whole path.
fn options() -> FamilyOptions {
    FamilyArgs {
        resources: kinds::resources().iter().map(|r| r.to_string()).collect(),
        ..Default::default()
    }
    .validate()
    .unwrap()
}

async fn start_exporter(sim_url: &str, families: FamilyOptions) -> RunningExporter {
    RunningExporter::start(exporter_config(sim_url, families))
        .await
        .unwrap()
}

/// An exporter on ephemeral 127.0.0.1 ports, every kind of `families`, no usage, no sharding.
fn exporter_config(sim_url: &str, families: FamilyOptions) -> ExporterConfig {
    ExporterConfig {
        kube: kube::Config::new(sim_url.parse().unwrap()),
        sharding: Default::default(),
        families,
        namespaces: Vec::new(),
        page_size: 50,
        namespaces_denylist: Vec::new(),
        listen: ListenArgs::loopback(),
        usage: None,
        cache_plain_lines: false,
        max_hot_lines_bytes: kube_state_exporter::store::precompress::DEFAULT_HOT_BUDGET,
        api_timeout: Some(kube_state_exporter::app::DEFAULT_API_TIMEOUT),
    }
}

/// What /metrics must serve for the simulator's current objects.
fn expected_exposition(sim: &Sim, families: &FamilyOptions) -> String {
    let mut items = Vec::new();
    for resource in &families.resources {
        items.extend(sim.list(resource));
    }
    for resource in &families.custom_resources {
        items.extend(sim.list(&kube_state_exporter::crs::kind::store_name(resource)));
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
    for resource in kinds::resources() {
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
async fn paginated_lists_when_the_server_refuses_streamed_lists() {
    let sim = Sim::start_with(
        "127.0.0.1:0".parse().unwrap(),
        SimConfig {
            watch_list: false,
            ..SimConfig::default()
        },
    )
    .await
    .unwrap();
    demo::populate(&sim, 30, 5).unwrap();
    let families = options();
    let exporter = start_exporter(&sim.url(), families.clone()).await;
    wait_ready(&exporter).await;
    wait_converged(&exporter, &sim, &families).await;
    // The refusal is a fallback, not an error: no kind counts one.
    let t = get_text(&format!("http://{}/metrics", exporter.telemetry_addr)).await.1;
    assert!(!t.contains("kube_state_exporter_watch_errors_total{"), "{t}");
    sim.create(json!({"apiVersion": "v1", "kind": "ConfigMap",
                      "metadata": {"name": "after-sync", "namespace": "default"}}))
        .unwrap();
    let body = wait_converged(&exporter, &sim, &families).await;
    assert!(body.contains("kube_configmap_info{namespace=\"default\",configmap=\"after-sync\"} 1\n"));
    exporter.shutdown().await;
    sim.shutdown().await;
}

/// Every kind of the table through the whole path: its fixture objects created, each first
/// object updated, one deleted and one created while the watches are down and the resource
/// versions expired (so every kind relists after a 410), then everything deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_follows_create_update_delete_and_relist() {
    let sim = Sim::start().await.unwrap();
    for resource in kinds::resources() {
        for item in fixture_items(resource) {
            sim.create(item).unwrap();
        }
    }
    let families = FamilyArgs {
        resources: kinds::resources().iter().map(|r| r.to_string()).collect(),
        metric_labels_allowlist: "*=[*]".into(),
        metric_annotations_allowlist: "*=[*]".into(),
        metric_opt_in_list: vec![".*".into()],
        ..Default::default()
    }
    .validate()
    .unwrap();
    let exporter = start_exporter(&sim.url(), families.clone()).await;
    wait_ready(&exporter).await;
    let (_, ready) = get_text(&format!("http://{}/readyz", exporter.metrics_addr)).await;
    let listed: Vec<&str> = ready.lines().skip(1).map(|l| l.trim_end_matches(": synced")).collect();
    assert_eq!(listed, kinds::resources(), "/readyz names every kind:\n{ready}");
    let body = wait_converged(&exporter, &sim, &families).await;
    for resource in kinds::resources() {
        let contract = contract::load(&contract::contract_dir().join(format!("{resource}.yaml"))).unwrap();
        let produces = |l: &&str| {
            contract
                .families
                .iter()
                .any(|f| l.starts_with(&format!("{}{{", f.name)))
        };
        assert!(
            body.lines().any(|l| produces(&l)),
            "{resource} fixtures produce no series"
        );
    }

    let key = |item: &serde_json::Value| {
        let meta = &item["metadata"];
        (
            meta["namespace"].as_str().map(str::to_string),
            meta["name"].as_str().unwrap().to_string(),
        )
    };
    // Update: a new label on the first object of every kind.
    for resource in kinds::resources() {
        let (ns, name) = key(&fixture_items(resource)[0]);
        sim.patch(
            resource,
            ns.as_deref(),
            &name,
            &json!({"metadata": {"labels": {"e2e-updated": "yes"}}}),
        )
        .unwrap();
    }
    let body = wait_converged(&exporter, &sim, &families).await;
    assert!(body.contains("label_e2e_updated=\"yes\""));

    // While the watches are down and their resource versions expired: one delete and one create
    // per kind. Only a relist can show either.
    sim.faults().expire_resource_versions();
    sim.faults().drop_watches();
    for resource in kinds::resources() {
        let items = fixture_items(resource);
        let (ns, name) = key(&items[0]);
        sim.delete(resource, ns.as_deref(), &name).unwrap();
        let mut copy = items[0].clone();
        let meta = copy["metadata"].as_object_mut().unwrap();
        meta.insert("name".into(), json!(format!("{name}-e2e-copy")));
        for server_set in ["uid", "resourceVersion", "generation", "creationTimestamp"] {
            meta.remove(server_set);
        }
        if *resource == "apiservices" {
            // An APIService's name is `spec.version` + "." + `spec.group`.
            let group = format!("e2e-copy.{}", copy["spec"]["group"].as_str().unwrap_or("example.com"));
            let version = copy["spec"]["version"].as_str().unwrap_or("v1").to_string();
            copy["metadata"]["name"] = json!(format!("{version}.{group}"));
            copy["spec"]["group"] = json!(group);
        }
        sim.create(copy).unwrap();
    }
    wait_converged(&exporter, &sim, &families).await;
    let (_, telemetry) = get_text(&format!("http://{}/metrics", exporter.telemetry_addr)).await;
    for resource in kinds::resources() {
        let series = format!("kube_state_exporter_relists_total{{resource=\"{resource}\"}}");
        assert!(
            telemetry_value(&telemetry, &series) >= 1.0,
            "{resource} did not relist:\n{telemetry}"
        );
    }

    // Delete everything. Objects with finalizers stay (being deleted) until their finalizers are
    // cleared, as on a real server; then no series is left behind.
    for resource in kinds::resources() {
        for item in sim.list(resource) {
            let (ns, name) = key(&item);
            sim.delete(resource, ns.as_deref(), &name).unwrap();
        }
    }
    wait_converged(&exporter, &sim, &families).await;
    for resource in kinds::resources() {
        for item in sim.list(resource) {
            assert!(item["metadata"]["deletionTimestamp"].is_string(), "{resource}: {item}");
            let (ns, name) = key(&item);
            sim.patch(
                resource,
                ns.as_deref(),
                &name,
                &json!({"metadata": {"finalizers": null}}),
            )
            .unwrap();
        }
    }
    let body = wait_converged(&exporter, &sim, &families).await;
    let left: Vec<&str> = body.lines().filter(|l| !l.starts_with('#')).collect();
    assert!(left.is_empty(), "ghost series after deleting everything: {left:?}");
    exporter.shutdown().await;
    sim.shutdown().await;
}

/// `--namespaces-denylist`: objects of a denied namespace never arrive (the server filters them
/// by field selector); other namespaces and cluster-scoped kinds are untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_namespaces_are_filtered_by_the_server() {
    let sim = Sim::start().await.unwrap();
    for resource in ["pods", "nodes", "deployments"] {
        for item in fixture_items(resource) {
            sim.create(item).unwrap();
        }
    }
    let denied = sim.list("pods")[0]["metadata"]["namespace"]
        .as_str()
        .unwrap()
        .to_string();
    let exporter = RunningExporter::start(ExporterConfig {
        namespaces_denylist: vec![denied.clone()],
        ..exporter_config(&sim.url(), options())
    })
    .await
    .unwrap();
    wait_ready(&exporter).await;
    let (_, body) = get_text(&metrics_url(&exporter)).await;
    let in_denied = format!("namespace=\"{denied}\"");
    assert!(
        !body.lines().any(|l| l.contains(&in_denied)),
        "objects of {denied} exported"
    );
    assert!(
        body.contains("kube_node_info{"),
        "cluster-scoped kinds are not filtered"
    );
    assert!(
        body.lines()
            .any(|l| l.starts_with("kube_pod_info{") || l.starts_with("kube_deployment_created{"))
    );
    // Later events in the denied namespace stay out too: a pod created there first, then one
    // elsewhere; once the second is exported, the first had its chance.
    let allowed = sim
        .list("pods")
        .iter()
        .chain(&sim.list("deployments"))
        .map(|o| o["metadata"]["namespace"].as_str().unwrap().to_string())
        .find(|n| *n != denied)
        .unwrap();
    for (name, namespace) in [("late-denied", &denied), ("late-allowed", &allowed)] {
        let mut pod = fixture_items("pods")[0].clone();
        let meta = pod["metadata"].as_object_mut().unwrap();
        meta.insert("name".into(), json!(name));
        meta.insert("namespace".into(), json!(namespace));
        for server_set in ["uid", "resourceVersion", "creationTimestamp"] {
            meta.remove(server_set);
        }
        sim.create(pod).unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let body = loop {
        let (_, body) = get_text(&metrics_url(&exporter)).await;
        if body.contains("pod=\"late-allowed\"") {
            break body;
        }
        assert!(Instant::now() < deadline, "the pod in {allowed} never arrived");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(!body.contains("late-denied"));
    exporter.shutdown().await;
    sim.shutdown().await;
}

/// Secret and ConfigMap payloads never leave the exporter: not in a scrape (any format), not in
/// telemetry or readiness, not in `render`'s output or its messages about a malformed object.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_and_configmap_payloads_never_leave_the_exporter() {
    const NEEDLES: [&str; 4] = [
        "s3cr3t-data-VALUE",
        "s3cr3t-string-VALUE",
        "cm-data-VALUE",
        "cm-binary-VALUE",
    ];
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let secret = json!({
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": "leak-check", "namespace": "e2e", "labels": {"app": "leak"}},
        "data": {"password": b64(NEEDLES[0]), "plain": NEEDLES[0]},
        "stringData": {"token": NEEDLES[1]}
    });
    let configmap = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "leak-check", "namespace": "e2e", "annotations": {"a": "b"}},
        "data": {"config.yaml": NEEDLES[2]},
        "binaryData": {"blob": b64(NEEDLES[3])}
    });
    // The same objects with a broken field beside the payload: the decode error names the broken
    // field, never the payload (which is not even decoded).
    let mut broken_secret = secret.clone();
    broken_secret["metadata"]["name"] = json!("broken");
    broken_secret["type"] = json!({"not": NEEDLES[0]});
    let mut broken_cm = configmap.clone();
    broken_cm["metadata"]["name"] = json!("broken");
    broken_cm["metadata"]["labels"] = json!(42);
    let contains_needle = |what: &str, text: &str| {
        let b64_needles: Vec<String> = NEEDLES.iter().map(|n| b64(n)).collect();
        for n in NEEDLES.iter().copied().chain(b64_needles.iter().map(String::as_str)) {
            assert!(!text.contains(n), "{what} contains {n}:\n{text}");
        }
    };

    // render: output and messages.
    let dir = std::env::temp_dir().join(format!("kse-leak-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("objects.json");
    let list = json!({"kind": "List", "apiVersion": "v1", "items": [secret, configmap, broken_secret, broken_cm]});
    std::fs::write(&file, list.to_string()).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kube-state-exporter"))
        .args(["render", "--resources", "secrets,configmaps"])
        .args([
            "--metric-labels-allowlist",
            "*=[*]",
            "--metric-annotations-allowlist",
            "*=[*]",
            "-f",
        ])
        .arg(&file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains("kube_secret_info{namespace=\"e2e\",secret=\"leak-check\"} 1"),
        "{stdout}\n{stderr}"
    );
    assert!(stdout.contains("kube_configmap_info{namespace=\"e2e\",configmap=\"leak-check\"} 1"));
    assert!(
        stderr.contains("broken"),
        "the malformed objects are reported: {stderr}"
    );
    contains_needle("render stdout", &stdout);
    contains_needle("render stderr", &stderr);
    std::fs::remove_dir_all(&dir).unwrap();

    // The watch path: scrapes in every encoding, telemetry, readiness.
    let sim = Sim::start().await.unwrap();
    sim.create(secret).unwrap();
    sim.create(configmap).unwrap();
    let families = FamilyArgs {
        resources: vec!["secrets".into(), "configmaps".into()],
        metric_labels_allowlist: "*=[*]".into(),
        metric_annotations_allowlist: "*=[*]".into(),
        ..Default::default()
    }
    .validate()
    .unwrap();
    let exporter = start_exporter(&sim.url(), families.clone()).await;
    wait_ready(&exporter).await;
    let body = wait_converged(&exporter, &sim, &families).await;
    assert!(body.contains("kube_secret_type{namespace=\"e2e\",secret=\"leak-check\",type=\"Opaque\"} 1"));
    contains_needle("scrape", &body);
    let (_, _, om) = get(
        &metrics_url(&exporter),
        &[("accept", "application/openmetrics-text; version=1.0.0")],
    )
    .await;
    contains_needle("OpenMetrics scrape", &String::from_utf8_lossy(&om));
    let (_, telemetry) = get_text(&format!("http://{}/metrics", exporter.telemetry_addr)).await;
    contains_needle("telemetry", &telemetry);
    let (_, ready) = get_text(&format!("http://{}/readyz", exporter.metrics_addr)).await;
    contains_needle("readyz", &ready);
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
    // Two dropped watches, each followed by a new watch request (a streamed relist after an
    // expired resourceVersion is one request too).
    assert!(
        sim.faults().requests("pods") >= pod_requests_before + 2,
        "watches were re-established: {} requests before, {} after",
        pod_requests_before,
        sim.faults().requests("pods")
    );
    let (_, telemetry) = get_text(&format!("http://{}/metrics", exporter.telemetry_addr)).await;
    assert!(
        telemetry_value(&telemetry, "kube_state_exporter_relists_total{resource=\"pods\"}") >= 2.0,
        "expired resource versions force a relist:\n{telemetry}"
    );
    exporter.shutdown().await;
    sim.shutdown().await;
}

/// KSM's Custom Resource State against the API server: a configured GVK watched through the
/// dynamic API (here `apps/v1` Deployments, which the simulator serves: CRS may target any kind)
/// follows creates, updates, deletes and relists after expired resource versions exactly as the
/// offline rendering of the server's objects; a configured GVK the server does not serve (no CRD
/// yet) leaves the others served and says why on `/readyz`.
const CRS_DEPLOYMENTS: &str = r#"kind: CustomResourceStateMetrics
spec:
  resources:
    - groupVersionKind: {group: apps, version: v1, kind: Deployment}
      metricNamePrefix: crs_deployment
      labelsFromPath:
        name: [metadata, name]
        namespace: [metadata, namespace]
      metrics:
        - name: replicas
          help: Desired replicas.
          each:
            type: Gauge
            gauge: {path: [spec, replicas]}
        - name: available
          help: Available replicas.
          each:
            type: Gauge
            gauge: {path: [status, availableReplicas], nilIsZero: true}
        - name: progressing
          help: The Progressing condition.
          each:
            type: StateSet
            stateSet:
              path: [status, conditions, "[type=Progressing]", status]
              labelName: status
              list: ["True", "False", "Unknown"]
"#;

const CRS_WIDGETS: &str = r#"    - groupVersionKind: {group: acme.example, version: v1, kind: Widget}
      labelsFromPath:
        name: [metadata, name]
      metrics:
        - name: widget_ready
          help: Whether the widget is ready.
          each:
            type: Gauge
            gauge: {path: [status, ready]}
"#;

/// Options for the built-in deployments plus the CRS config in `file`.
fn crs_options(file: &std::path::Path) -> FamilyOptions {
    FamilyArgs {
        resources: vec!["deployments".into()],
        custom_resource_state_config_file: Some(file.to_path_buf()),
        ..Default::default()
    }
    .validate()
    .unwrap()
}

fn widget(name: &str, ready: bool) -> serde_json::Value {
    json!({
        "apiVersion": "acme.example/v1",
        "kind": "Widget",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {"size": 3},
        "status": {"ready": ready},
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_resources_follow_crds_and_config_edits_without_touching_built_in_kinds() {
    let sim = Sim::start().await.unwrap();
    for item in fixture_items("deployments") {
        sim.create(item).unwrap();
    }
    let dir = std::env::temp_dir().join(format!("kse-crs-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("crs.yaml");
    std::fs::write(&file, format!("{CRS_DEPLOYMENTS}{CRS_WIDGETS}")).unwrap();
    let families = crs_options(&file);
    let exporter = start_exporter(&sim.url(), families.clone()).await;
    let telemetry_url = format!("http://{}/metrics", exporter.telemetry_addr);
    let built_in_relists = || async {
        let (_, telemetry) = get_text(&telemetry_url).await;
        telemetry_value(
            &telemetry,
            "kube_state_exporter_relists_total{resource=\"deployments\"}",
        )
    };

    // CRS on a built-in kind needs no CRD; the Widget CRD is not installed, so nothing waits on it.
    let body = wait_converged(&exporter, &sim, &families).await;
    let gvk = r#"customresource_group="apps",customresource_kind="Deployment",customresource_version="v1""#;
    assert!(
        body.contains(&format!(
            "# HELP crs_deployment_replicas Desired replicas.\n# TYPE crs_deployment_replicas gauge\ncrs_deployment_replicas{{{gvk},name=\"checkout\",namespace=\"shop\"}} 4\n"
        )),
        "{body}"
    );
    assert!(
        body.contains(&format!(
            "crs_deployment_progressing{{{gvk},name=\"web\",namespace=\"shop\",status=\"False\"}} 0\ncrs_deployment_progressing{{{gvk},name=\"web\",namespace=\"shop\",status=\"True\"}} 1\n"
        )),
        "{body}"
    );
    assert!(!body.contains("widget"), "{body}");
    wait_ready(&exporter).await;
    let (_, ready) = get_text(&format!("http://{}/readyz", exporter.metrics_addr)).await;
    assert_eq!(
        ready,
        "ok\ncustomresourcedefinitions: synced\ndeployments: synced\ndeployments.apps: synced\n"
    );

    // The CRD appears after start: its objects are served, created, updated and deleted.
    sim.create(kube_state_exporter::sim::crd_manifest(
        "acme.example",
        "Widget",
        "widgets",
        true,
        &["v1"],
    ))
    .unwrap();
    sim.create(widget("w1", true)).unwrap();
    sim.create(widget("w2", false)).unwrap();
    let body = wait_converged(&exporter, &sim, &families).await;
    let wgvk = r#"customresource_group="acme.example",customresource_kind="Widget",customresource_version="v1""#;
    assert!(
        body.contains(&format!(
            "# HELP kube_customresource_widget_ready Whether the widget is ready.\n# TYPE kube_customresource_widget_ready gauge\nkube_customresource_widget_ready{{{wgvk},name=\"w1\"}} 1\nkube_customresource_widget_ready{{{wgvk},name=\"w2\"}} 0\n"
        )),
        "{body}"
    );
    sim.patch(
        "widgets.acme.example",
        Some("shop"),
        "w2",
        &json!({"status": {"ready": true}}),
    )
    .unwrap();
    sim.delete("widgets.acme.example", Some("shop"), "w1").unwrap();
    let body = wait_converged(&exporter, &sim, &families).await;
    assert!(
        body.contains(&format!("kube_customresource_widget_ready{{{wgvk},name=\"w2\"}} 1\n")),
        "{body}"
    );
    assert!(!body.contains("name=\"w1\""), "{body}");

    // The config changes: a metric added to the widgets, the deployments resource removed.
    let edited = CRS_WIDGETS.to_string()
        + "        - name: widget_size\n          help: Widget size.\n          each:\n            type: Gauge\n            gauge: {path: [spec, size]}\n";
    std::fs::write(
        &file,
        format!("kind: CustomResourceStateMetrics\nspec:\n  resources:\n{edited}"),
    )
    .unwrap();
    let families = crs_options(&file);
    let body = wait_converged(&exporter, &sim, &families).await;
    assert!(
        body.contains(&format!("kube_customresource_widget_size{{{wgvk},name=\"w2\"}} 3\n")),
        "{body}"
    );
    assert!(!body.contains("crs_deployment"), "{body}");

    // An invalid file is refused; the config before it keeps serving.
    std::fs::write(
        &file,
        "kind: CustomResourceStateMetrics\nspec:\n  resources:\n    - metrics: [{name: x}]\n",
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let telemetry = loop {
        let (_, telemetry) = get_text(&telemetry_url).await;
        if telemetry_value(
            &telemetry,
            "kube_state_exporter_config_reloads_total{result=\"failure\"}",
        ) == 1.0
        {
            break telemetry;
        }
        assert!(
            Instant::now() < deadline,
            "the invalid config was never counted: {telemetry}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let label = format!("{{filename=\"{}\",type=\"customresourceconfig\"}}", file.display());
    assert_eq!(
        telemetry_value(
            &telemetry,
            &format!("kube_state_metrics_last_config_reload_successful{label}")
        ),
        0.0
    );
    assert_eq!(
        telemetry_value(
            &telemetry,
            "kube_state_exporter_config_reloads_total{result=\"success\"}"
        ),
        1.0
    );
    assert_eq!(wait_converged(&exporter, &sim, &families).await, body);
    assert_eq!(
        built_in_relists().await,
        1.0,
        "the built-in kind was listed once, never restarted"
    );

    // A relist after expired resource versions: a widget deleted while the watch was down goes.
    sim.create(widget("w3", true)).unwrap();
    wait_converged(&exporter, &sim, &families).await;
    sim.faults().expire_resource_versions();
    sim.delete("widgets.acme.example", Some("shop"), "w3").unwrap();
    sim.faults().drop_watches();
    let body = wait_converged(&exporter, &sim, &families).await;
    assert!(!body.contains("name=\"w3\""), "{body}");
    let (_, telemetry) = get_text(&telemetry_url).await;
    assert!(
        telemetry_value(
            &telemetry,
            "kube_state_exporter_relists_total{resource=\"widgets.acme.example\"}"
        ) >= 2.0,
        "{telemetry}"
    );

    // The CRD is deleted: its objects' series go, nothing else does.
    sim.delete("customresourcedefinitions", None, "widgets.acme.example")
        .unwrap();
    let body = wait_converged(&exporter, &sim, &families).await;
    assert!(!body.contains("widget"), "{body}");
    assert!(body.contains("kube_deployment_spec_replicas{"), "{body}");
    // The objects' DELETED events may come before the CRD's own; the kind goes with the latter.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, ready) = get_text(&format!("http://{}/readyz", exporter.metrics_addr)).await;
        if (status, ready.as_str()) == (200, "ok\ncustomresourcedefinitions: synced\ndeployments: synced\n") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the widgets kind never went: {status} {ready}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, telemetry) = get_text(&telemetry_url).await;
    assert_eq!(
        telemetry_value(&telemetry, "kube_state_metrics_custom_resource_state_add_events_total"),
        1.0
    );
    assert_eq!(
        telemetry_value(
            &telemetry,
            "kube_state_metrics_custom_resource_state_delete_events_total"
        ),
        1.0
    );
    assert_eq!(
        telemetry_value(&telemetry, "kube_state_metrics_custom_resource_state_cache "),
        0.0
    );
    assert!(
        telemetry_value(
            &telemetry,
            "kube_state_metrics_watch_total{resource=\"*unstructured.Unstructured\",result=\"success\"}"
        ) >= 2.0,
        "custom resource watches (streamed lists included) are counted as KSM counts them: {telemetry}"
    );

    exporter.shutdown().await;
    sim.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_custom_resources_are_served_through_the_example_config_while_they_churn() {
    let sim = Sim::start().await.unwrap();
    let model = demo::populate(&sim, 60, 11).unwrap();
    let mut custom = demo::populate_custom(&sim, &model).unwrap();
    let families = demo::with_example_crs_config(&FamilyArgs {
        custom_resource_state_only: true,
        ..Default::default()
    })
    .validate()
    .unwrap();
    let exporter = start_exporter(&sim.url(), families.clone()).await;
    let body = wait_converged(&exporter, &sim, &families).await;
    for family in [
        "certmanager_certificate_expiration_timestamp_seconds",
        "gotk_resource_info",
    ] {
        assert!(body.contains(&format!("\n{family}{{")), "{family} missing: {body}");
    }
    let mut now = jiff::Timestamp::now();
    for _ in 0..30 {
        now += jiff::SignedDuration::from_secs(20);
        for op in custom.churn(now) {
            let _ = demo::apply_op(&sim, op);
        }
    }
    let churned = wait_converged(&exporter, &sim, &families).await;
    assert_ne!(churned, body, "ten minutes of renewals and commits change the series");
    exporter.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forbidden_kind_leaves_the_others_served() {
    let sim = Sim::start().await.unwrap();
    for resource in kinds::resources() {
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

#[test]
fn bench_quick_runs_and_reports_every_figure() {
    // Only that it runs and reports: timings are never asserted (shared, noisy machines).
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kube-state-exporter"))
        .args(["bench", "--quick", "--json", "--events-per-second", "200"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "bench failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reports: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let report = &reports.as_array().unwrap()[0];
    for figure in [
        "objects",
        "sync_seconds",
        "objects_per_second",
        "sync_cpu_seconds",
        "sync_cores",
        "peak_rss_sync_bytes",
        "steady_rss_bytes",
        "cached_bytes",
        "rss_over_cached",
        "peak_over_steady",
        "rss_over_plain_body",
        "rss_over_gzip_body",
        "precompress_queue_peak_blocks",
        "members_ready_seconds",
        "rss_after_scrapes_bytes",
        "cached_after_scrapes_bytes",
        "first_gzip_seconds",
        "body_bytes",
        "body_gzip_bytes",
        "plain_ratio",
        "gzip_ratio",
        "gzip_over_static_plain",
        "concurrent_p99",
        "concurrent_ratio",
        "concurrent_events_per_second",
        "peak_rss_concurrent_bytes",
        "static_concurrent_p99",
        "concurrent_over_static",
    ] {
        let v = report[figure]
            .as_f64()
            .unwrap_or_else(|| panic!("{figure} missing: {report}"));
        assert!(v > 0.0, "{figure} = {v}");
    }
    for series in [
        "scrape_plain",
        "scrape_gzip",
        "scrape_gzip_churn",
        "static_plain",
        "static_gzip",
    ] {
        for stat in ["p50", "p99", "min", "max"] {
            assert!(report[series][stat].as_f64().unwrap() > 0.0, "{series}.{stat}");
        }
    }
    for figure in [
        "applied_per_second",
        "one_thread_per_second",
        "decode_only_per_second",
        "ratio",
        "one_thread_ratio",
    ] {
        assert!(report["events"][figure].as_f64().unwrap() > 0.0, "events.{figure}");
    }
    assert!(report["body_gzip_bytes"].as_f64() < report["body_bytes"].as_f64());
}

/// Invariant: through churn, forced relists, an API outage and a stretch of bookmarks only, the
/// scrape equals the simulator's state at every checkpoint and every lag probe is served.
/// Timings are reported, never asserted.
#[test]
fn bench_soak_goes_through_every_phase_and_ends_equal_to_the_api() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kube-state-exporter"))
        .args([
            "bench",
            "--soak",
            "30s",
            "--soak-pods",
            "300",
            "--soak-churn",
            "30",
            "--json",
        ])
        // The soak keeps the exporter's log for reading: under target/, not the machine's /tmp.
        .env("TMPDIR", env!("CARGO_TARGET_TMPDIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "soak failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let checkpoints: Vec<(&str, bool)> = report["checkpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["equal"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        checkpoints,
        [
            ("after the outage", true),
            ("after the quiet stretch", true),
            ("end", true)
        ],
        "{report}"
    );
    assert_eq!(report["probes_missed"], 0, "{report}");
    assert!(report["probes"].as_u64().unwrap() >= 5, "{report}");
    assert!(report["relists_forced"].as_u64().unwrap() >= 3, "{report}");
    assert!(report["churn_applied"].as_u64().unwrap() > 0, "{report}");
    assert!(report["samples"].as_array().unwrap().len() >= 10, "{report}");
    // The forced relists and the outage are seen and counted by the exporter.
    for reason in ["expired", "transport"] {
        assert!(
            report["watch_errors"][reason].as_f64().unwrap_or(0.0) > 0.0,
            "{reason}: {report}"
        );
    }
    assert!(report["outage_recovery_seconds"].as_f64().unwrap() > 0.0, "{report}");
    for series in [
        "scrape_plain",
        "scrape_gzip",
        "lag",
        "idle_plain",
        "idle_gzip",
        "static_plain",
        "static_gzip",
    ] {
        assert!(report[series]["p50"].as_f64().unwrap() > 0.0, "{series}: {report}");
    }
}

/// Invariant: a list far larger than a page is synced whole, streamed and paginated: every
/// padded pod is served. Memory is reported, never asserted.
#[test]
fn bench_big_list_serves_every_pod_both_ways() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kube-state-exporter"))
        .args(["bench", "--big-list-mib", "8", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "big list failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["list_bytes"].as_u64().unwrap() >= 8 * 1024 * 1024, "{report}");
    let pods = report["pods"].as_u64().unwrap();
    let runs: Vec<(&str, u64)> = report["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["path"].as_str().unwrap(), r["pods_served"].as_u64().unwrap()))
        .collect();
    assert_eq!(runs, [("streamed", pods), ("paginated", pods)], "{report}");
    for run in report["runs"].as_array().unwrap() {
        assert!(run["peak_rss_bytes"].as_u64().unwrap() > 0, "{run}");
    }
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

// ---------------------------------------------------------------------------------------------
// Resource usage (metrics.k8s.io) and metrics-server health
// ---------------------------------------------------------------------------------------------

/// A simulator whose metrics-server has a 1 s resolution (timestamps move every second).
async fn metrics_sim(pods: usize, seed: u64) -> Sim {
    let sim = Sim::start_with(
        "127.0.0.1:0".parse().unwrap(),
        SimConfig {
            metrics_resolution: Duration::from_secs(1),
            ..SimConfig::default()
        },
    )
    .await
    .unwrap();
    demo::populate(&sim, pods, seed).unwrap();
    sim
}

/// Fast polling for tests (the 15 s floor applies to the CLI flag only).
fn fast_usage() -> UsageSettings {
    UsageSettings {
        interval: Duration::from_millis(200),
        timeout: Duration::from_secs(2),
        max_age: Duration::from_secs(60),
        grace: Duration::ZERO,
    }
}

async fn start_usage_exporter(sim_url: &str, settings: UsageSettings) -> RunningExporter {
    let config = kube::Config::new(sim_url.parse().unwrap());
    RunningExporter::start(ExporterConfig {
        usage: Some(UsageConfig {
            client: usage::no_retry_client(config).unwrap(),
            settings,
        }),
        ..exporter_config(sim_url, options())
    })
    .await
    .unwrap()
}

/// The value of the series written exactly as `series` (name and labels), if present.
fn series_value(body: &str, series: &str) -> Option<f64> {
    body.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .and_then(|v| v.parse().ok())
}

fn health(body: &str, family: &str, resource: &str) -> Option<f64> {
    series_value(body, &format!("{family}{{resource=\"{resource}\"}}"))
}

fn errors(body: &str, resource: &str, reason: &str) -> f64 {
    series_value(
        body,
        &format!("kube_metrics_api_errors_total{{resource=\"{resource}\",reason=\"{reason}\"}}"),
    )
    .unwrap_or(0.0)
}

fn polls(body: &str, resource: &str, result: &str) -> f64 {
    series_value(
        body,
        &format!("kube_metrics_api_polls_total{{resource=\"{resource}\",result=\"{result}\"}}"),
    )
    .unwrap_or(0.0)
}

fn usage_lines(body: &str) -> Vec<&str> {
    body.lines()
        .filter(|l| l.starts_with("kube_pod_container_resource_usage{") || l.starts_with("kube_node_resource_usage{"))
        .collect()
}

/// Scrapes until `done` holds (a 60 s guard against hangs, never a timing assertion).
async fn scrape_until(e: &RunningExporter, what: &str, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, body) = get_text(&metrics_url(e)).await;
        if done(&body) {
            return body;
        }
        assert!(Instant::now() < deadline, "never saw {what}; last scrape:\n{body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A quantity as the simulator writes it (`154214749n`, `154m`, `2`, `2489292Ki`, `512Mi`, bytes),
/// parsed independently of the exporter: cpu through integer nanocores, memory through bytes.
fn sim_quantity(resource: &str, raw: &str) -> f64 {
    let split = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
    let (digits, suffix) = raw.split_at(split);
    let n: u128 = digits.parse().unwrap();
    match (resource, suffix) {
        ("cpu", "n") => n as f64 / 1e9,
        ("cpu", "u") => (n * 1_000) as f64 / 1e9,
        ("cpu", "m") => (n * 1_000_000) as f64 / 1e9,
        ("cpu", "") => n as f64,
        ("memory", "") => n as f64,
        ("memory", "Ki") => (n << 10) as f64,
        ("memory", "Mi") => (n << 20) as f64,
        ("memory", "Gi") => (n << 30) as f64,
        other => panic!("unexpected quantity {other:?} {raw}"),
    }
}

/// A `window` as the simulator writes it (`1.012s`, `988ms`), in seconds.
fn sim_window(raw: &str) -> f64 {
    match raw.strip_suffix("ms") {
        Some(ms) => ms.parse::<f64>().unwrap() / 1000.0,
        None => raw.strip_suffix('s').unwrap().parse().unwrap(),
    }
}

fn unit(resource: &str) -> &'static str {
    if resource == "cpu" { "core" } else { "byte" }
}

/// The usage lines the exporter must serve for the simulator's current metrics, joined with the
/// pods' uid and node from the simulator's own objects.
fn expected_usage(sim: &Sim, version: &str) -> Vec<String> {
    let f = kube_state_exporter::exposition::format_float;
    let mut lines = Vec::new();
    for item in sim.node_metrics(version) {
        let node = item["metadata"]["name"].as_str().unwrap();
        for resource in ["cpu", "memory"] {
            let value = sim_quantity(resource, item["usage"][resource].as_str().unwrap());
            lines.push(format!(
                "kube_node_resource_usage{{node=\"{node}\",resource=\"{resource}\",unit=\"{}\"}} {}",
                unit(resource),
                f(value)
            ));
        }
        let ts: jiff::Timestamp = item["timestamp"].as_str().unwrap().parse().unwrap();
        lines.push(format!(
            "kube_node_resource_usage_timestamp_seconds{{node=\"{node}\"}} {}",
            f(ts.as_second() as f64)
        ));
        lines.push(format!(
            "kube_node_resource_usage_window_seconds{{node=\"{node}\"}} {}",
            f(sim_window(item["window"].as_str().unwrap()))
        ));
    }
    let pods = sim.list("pods");
    for item in sim.pod_metrics(version) {
        let ns = item["metadata"]["namespace"].as_str().unwrap();
        let name = item["metadata"]["name"].as_str().unwrap();
        let pod = pods
            .iter()
            .find(|p| p["metadata"]["namespace"] == ns && p["metadata"]["name"] == name)
            .unwrap();
        let uid = pod["metadata"]["uid"].as_str().unwrap();
        let node = pod["spec"]["nodeName"].as_str().unwrap_or("");
        for c in item["containers"].as_array().unwrap() {
            let container = c["name"].as_str().unwrap();
            for resource in ["cpu", "memory"] {
                let value = sim_quantity(resource, c["usage"][resource].as_str().unwrap());
                lines.push(format!(
                    "kube_pod_container_resource_usage{{namespace=\"{ns}\",pod=\"{name}\",uid=\"{uid}\",container=\"{container}\",node=\"{node}\",resource=\"{resource}\",unit=\"{}\"}} {}",
                    unit(resource),
                    f(value)
                ));
            }
        }
        let ts: jiff::Timestamp = item["timestamp"].as_str().unwrap().parse().unwrap();
        lines.push(format!(
            "kube_pod_resource_usage_timestamp_seconds{{namespace=\"{ns}\",pod=\"{name}\",uid=\"{uid}\"}} {}",
            f(ts.as_second() as f64)
        ));
        lines.push(format!(
            "kube_pod_resource_usage_window_seconds{{namespace=\"{ns}\",pod=\"{name}\",uid=\"{uid}\"}} {}",
            f(sim_window(item["window"].as_str().unwrap()))
        ));
    }
    lines
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_equals_the_metrics_api_joined_with_uid_and_node() {
    let sim = metrics_sim(80, 11).await;
    let exporter = start_usage_exporter(&sim.url(), fast_usage()).await;
    wait_ready(&exporter).await;
    scrape_until(&exporter, "a good pods poll", |b| {
        health(b, "kube_metrics_api_up", "pods") == Some(1.0)
    })
    .await;

    // Freeze metrics-server so the expected values hold still, then compare line by line.
    sim.faults().metrics_stale(true);
    let expected = expected_usage(&sim, "v1");
    assert!(
        expected
            .iter()
            .filter(|l| l.starts_with("kube_pod_container_resource_usage{"))
            .count()
            > 50,
        "the simulator reports pod usage: {expected:?}"
    );
    let body = scrape_until(&exporter, "usage equal to the API's", |body| {
        let served: std::collections::BTreeSet<&str> = body.lines().collect();
        expected.iter().all(|l| served.contains(l.as_str()))
            && usage_lines(body).len()
                == expected
                    .iter()
                    .filter(|l| !l.contains("_timestamp_seconds{") && !l.contains("_window_seconds{"))
                    .count()
    })
    .await;
    for resource in ["nodes", "pods"] {
        assert_eq!(health(&body, "kube_metrics_api_up", resource), Some(1.0));
        assert_eq!(health(&body, "kube_metrics_api_unmatched_objects", resource), Some(0.0));
        assert_eq!(errors(&body, resource, "Decode"), 0.0);
    }
    assert!(
        body.contains("# TYPE kube_metrics_api_poll_duration_seconds histogram\n")
            && body.contains("kube_metrics_api_poll_duration_seconds_bucket{resource=\"pods\",le=\"+Inf\"} ")
    );
    // Object families are unchanged by usage: the scrape without the usage kinds is exactly
    // what the objects render to.
    let (_, objects) = get_text(&format!(
        "{}?exclude_resources=nodemetrics,podmetrics,metricsapi",
        metrics_url(&exporter)
    ))
    .await;
    assert_eq!(
        diff_lines(&expected_exposition(&sim, &options()), &objects),
        Vec::<String>::new()
    );
    assert_promtool_accepts(&body);
    exporter.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unavailable_api_keeps_samples_until_max_age_then_drops_them() {
    let sim = metrics_sim(40, 12).await;
    let settings = UsageSettings {
        max_age: Duration::from_secs(4),
        ..fast_usage()
    };
    let exporter = start_usage_exporter(&sim.url(), settings).await;
    let before = scrape_until(&exporter, "pod usage", |b| {
        health(b, "kube_metrics_api_up", "pods") == Some(1.0) && b.contains("kube_pod_container_resource_usage{")
    })
    .await;
    let served_usage = usage_lines(&before).len();

    sim.faults().metrics_unavailable(true);
    let down = scrape_until(&exporter, "up 0 after the 503", |b| {
        health(b, "kube_metrics_api_up", "pods") == Some(0.0)
    })
    .await;
    let newest = health(&down, "kube_metrics_api_newest_sample_timestamp_seconds", "pods").unwrap();
    let first_errors = errors(&down, "pods", "ServiceUnavailable");
    assert!(first_errors >= 1.0);
    assert!(
        health(&down, "kube_metrics_api_last_success_timestamp_seconds", "pods").is_some(),
        "the last success stays reported"
    );
    assert!(
        !usage_lines(&down).is_empty() && usage_lines(&down).len() <= served_usage,
        "the last samples are still served right after the failure"
    );
    let later = scrape_until(&exporter, "more ServiceUnavailable errors", |b| {
        errors(b, "pods", "ServiceUnavailable") >= first_errors + 3.0
    })
    .await;
    assert_eq!(
        health(&later, "kube_metrics_api_newest_sample_timestamp_seconds", "pods"),
        Some(newest),
        "the newest sample stops moving while the API is down"
    );
    assert_eq!(health(&later, "kube_metrics_api_up", "pods"), Some(0.0));
    assert!(polls(&later, "pods", "error") >= 4.0);

    let dropped = scrape_until(&exporter, "usage dropped after max age", |b| usage_lines(b).is_empty()).await;
    assert!(!dropped.contains("kube_pod_resource_usage_timestamp_seconds{"));
    assert_eq!(
        health(&dropped, "kube_metrics_api_newest_sample_timestamp_seconds", "pods"),
        Some(newest),
        "health keeps the age signal after the samples are dropped"
    );

    // Recovery.
    sim.faults().metrics_unavailable(false);
    scrape_until(&exporter, "usage back after recovery", |b| {
        health(b, "kube_metrics_api_up", "pods") == Some(1.0) && b.contains("kube_pod_container_resource_usage{")
    })
    .await;
    exporter.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_apiservice_is_not_found_and_a_slow_one_times_out() {
    let sim = metrics_sim(20, 13).await;
    let settings = UsageSettings {
        interval: Duration::from_millis(400),
        timeout: Duration::from_millis(300),
        ..fast_usage()
    };
    let exporter = start_usage_exporter(&sim.url(), settings).await;
    scrape_until(&exporter, "a good poll", |b| {
        health(b, "kube_metrics_api_up", "nodes") == Some(1.0)
    })
    .await;

    sim.faults().metrics_missing(true);
    scrape_until(&exporter, "NotFound", |b| {
        health(b, "kube_metrics_api_up", "pods") == Some(0.0)
            && errors(b, "pods", "NotFound") >= 1.0
            && errors(b, "nodes", "NotFound") >= 1.0
    })
    .await;
    sim.faults().metrics_missing(false);
    scrape_until(&exporter, "recovery", |b| {
        health(b, "kube_metrics_api_up", "pods") == Some(1.0)
    })
    .await;

    sim.faults().metrics_delay(Duration::from_secs(3));
    let body = scrape_until(&exporter, "Timeout", |b| {
        health(b, "kube_metrics_api_up", "pods") == Some(0.0) && errors(b, "pods", "Timeout") >= 1.0
    })
    .await;
    assert_eq!(errors(&body, "pods", "ServiceUnavailable"), 0.0);
    sim.faults().metrics_delay(Duration::ZERO);
    exporter.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_samples_stop_the_newest_timestamp_while_up() {
    let sim = metrics_sim(20, 14).await;
    let exporter = start_usage_exporter(&sim.url(), fast_usage()).await;
    let first = scrape_until(&exporter, "a good poll", |b| {
        health(b, "kube_metrics_api_newest_sample_timestamp_seconds", "nodes").is_some()
    })
    .await;
    let t0 = health(&first, "kube_metrics_api_newest_sample_timestamp_seconds", "nodes").unwrap();
    scrape_until(&exporter, "the newest sample advancing", |b| {
        health(b, "kube_metrics_api_newest_sample_timestamp_seconds", "nodes").is_some_and(|t| t > t0)
    })
    .await;

    sim.faults().metrics_stale(true);
    let frozen = sim.node_metrics("v1");
    let frozen_newest = frozen
        .iter()
        .map(|n| {
            n["timestamp"]
                .as_str()
                .unwrap()
                .parse::<jiff::Timestamp>()
                .unwrap()
                .as_second() as f64
        })
        .fold(f64::MIN, f64::max);
    let body = scrape_until(&exporter, "the frozen newest sample", |b| {
        health(b, "kube_metrics_api_newest_sample_timestamp_seconds", "nodes") == Some(frozen_newest)
    })
    .await;
    let successes = polls(&body, "nodes", "success");
    // Well over one resolution (1 s) of further good polls: the timestamp must not move.
    let later = scrape_until(&exporter, "more good polls", |b| {
        polls(b, "nodes", "success") >= successes + 10.0
    })
    .await;
    assert_eq!(
        health(&later, "kube_metrics_api_newest_sample_timestamp_seconds", "nodes"),
        Some(frozen_newest)
    );
    assert_eq!(health(&later, "kube_metrics_api_up", "nodes"), Some(1.0));
    assert_eq!(polls(&later, "nodes", "error"), 0.0);
    exporter.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn omitted_nodes_and_pods_show_as_expected_minus_reported() {
    let sim = metrics_sim(60, 15).await;
    // Stale: the set of reported objects holds still while omissions change it.
    sim.faults().metrics_stale(true);
    let settings = UsageSettings {
        grace: Duration::from_secs(60),
        ..fast_usage()
    };
    let exporter = start_usage_exporter(&sim.url(), settings).await;
    wait_ready(&exporter).await;
    let all_nodes = sim.node_metrics("v1").len() as f64;
    let all_pods = sim.pod_metrics("v1").len() as f64;
    let body = scrape_until(&exporter, "reports of every object", |b| {
        health(b, "kube_metrics_api_reported_objects", "nodes") == Some(all_nodes)
            && health(b, "kube_metrics_api_unmatched_objects", "pods") == Some(0.0)
            && usage_lines(b).iter().filter(|l| l.starts_with("kube_pod_")).count() > 0
    })
    .await;
    let expected_nodes = health(&body, "kube_metrics_api_expected_objects", "nodes").unwrap();
    let expected_pods = health(&body, "kube_metrics_api_expected_objects", "pods").unwrap();
    let reported_pods = health(&body, "kube_metrics_api_reported_objects", "pods").unwrap();
    assert_eq!(expected_nodes, all_nodes, "every Ready node is expected and reported");
    assert!(expected_pods > 10.0 && reported_pods <= expected_pods && reported_pods <= all_pods);

    // One node's kubelet fails: it and its pods vanish from the responses.
    let node = sim.node_metrics("v1")[0]["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let pods_before = sim.pod_metrics("v1");
    sim.faults().metrics_omit_nodes([node.clone()]);
    let pods_after = sim.pod_metrics("v1");
    let victim = pods_after[0]["metadata"].clone();
    let (vns, vname) = (victim["namespace"].as_str().unwrap(), victim["name"].as_str().unwrap());
    sim.faults().metrics_omit_pods([(vns.to_string(), vname.to_string())]);
    let lost_pods = (pods_before.len() - pods_after.len() + 1) as f64;
    assert!(lost_pods > 1.0, "the omitted node ran pods");
    let body = scrape_until(&exporter, "coverage below expected", |b| {
        health(b, "kube_metrics_api_reported_objects", "nodes") == Some(expected_nodes - 1.0)
            && health(b, "kube_metrics_api_reported_objects", "pods") == Some(reported_pods - lost_pods)
    })
    .await;
    assert_eq!(
        health(&body, "kube_metrics_api_expected_objects", "nodes"),
        Some(expected_nodes)
    );
    assert_eq!(
        health(&body, "kube_metrics_api_expected_objects", "pods"),
        Some(expected_pods)
    );
    assert!(!body.contains(&format!("kube_node_resource_usage{{node=\"{node}\"")));
    let usage = usage_lines(&body);
    assert!(
        !usage.iter().any(|l| l.contains(&format!("node=\"{node}\","))),
        "its pods' usage is gone too"
    );
    assert!(
        !usage
            .iter()
            .any(|l| l.contains(&format!("namespace=\"{vns}\",pod=\"{vname}\",")))
    );
    exporter.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbidden_metrics_leave_every_other_family_served() {
    let sim = metrics_sim(40, 16).await;
    sim.faults().metrics_fail_next(1_000_000, 403);
    let exporter = start_usage_exporter(&sim.url(), fast_usage()).await;
    wait_ready(&exporter).await;
    let body = scrape_until(&exporter, "Forbidden", |b| {
        errors(b, "pods", "Forbidden") >= 2.0 && errors(b, "nodes", "Forbidden") >= 2.0
    })
    .await;
    assert_eq!(health(&body, "kube_metrics_api_up", "pods"), Some(0.0));
    assert!(usage_lines(&body).is_empty());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, objects) = get_text(&format!(
            "{}?exclude_resources=nodemetrics,podmetrics,metricsapi",
            metrics_url(&exporter)
        ))
        .await;
        let diff = diff_lines(&expected_exposition(&sim, &options()), &objects);
        if diff.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "object families differ:\n{}",
            diff.join("\n")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    exporter.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn usage_without_the_pods_and_nodes_watches_is_refused() {
    let families = FamilyArgs {
        resources: vec!["pods".into(), "jobs".into()],
        ..FamilyArgs::default()
    }
    .validate()
    .unwrap();
    let config = kube::Config::new("http://127.0.0.1:1".parse().unwrap());
    let result = RunningExporter::start(ExporterConfig {
        usage: Some(UsageConfig {
            client: usage::no_retry_client(config.clone()).unwrap(),
            settings: UsageSettings::default(),
        }),
        ..exporter_config(&config.cluster_url.to_string(), families)
    })
    .await;
    let Err(err) = result else {
        panic!("started without the nodes watch")
    };
    let err = err.to_string();
    assert!(
        err.contains("--usage") && err.contains("--resources") && err.contains("nodes"),
        "{err}"
    );

    // The binary says the same before touching any cluster.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kube-state-exporter"))
        .args(["run", "--resources", "pods,jobs", "--kubeconfig", "/nonexistent"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("--usage") && stderr.contains("--resources"), "{stderr}");
}

#[test]
fn example_alert_rules_pass_promtool() {
    let dir = format!("{}/examples/rules", env!("CARGO_MANIFEST_DIR"));
    for args in [
        &["check", "rules", "metrics-api.yaml"][..],
        &["test", "rules", "metrics-api.test.yaml"][..],
        &["check", "rules", "kube-state-metrics.yaml"][..],
        &["test", "rules", "kube-state-metrics.test.yaml"][..],
    ] {
        let out = std::process::Command::new("promtool")
            .args(args)
            .current_dir(&dir)
            .output()
            .expect("promtool not found: install Debian's `prometheus` package (see .ci/run)");
        assert!(
            out.status.success(),
            "promtool {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
