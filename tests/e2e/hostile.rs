//! Hostile objects through the whole path (sim → watcher → store → scrape): each is rendered,
//! or skipped with a count, and never costs a neighbour, a watcher or the process.
//!
//! Invariant checked after each phase: the scrape equals the offline rendering of the
//! simulator's objects, less the ones that cannot be decoded.

use super::*;
use serde_json::Value;

/// A change to one watch event's object (`Faults::rewrite_next_event`).
type Rewrite = fn(&mut serde_json::Map<String, Value>);

/// A copy of the first fixture pod under a new name (the sim gives it a new uid).
fn pod(name: &str) -> Value {
    let mut pod = fixture_items("pods")[0].clone();
    let meta = pod["metadata"].as_object_mut().unwrap();
    meta.insert("name".into(), name.into());
    for server_set in ["uid", "resourceVersion", "generateName", "managedFields"] {
        meta.remove(server_set);
    }
    pod
}

/// Pods no sane controller writes, but which the API accepts.
fn hostile_pods(suffix: &str) -> Vec<Value> {
    let mut many_labels = pod(&format!("many-labels{suffix}"));
    many_labels["metadata"]["labels"] = (0..10_000)
        .map(|i| (format!("k{i}.example.com/key-{i}"), Value::from(format!("v{i}"))))
        .collect::<serde_json::Map<_, _>>()
        .into();

    let mut huge_annotation = pod(&format!("huge-annotation{suffix}"));
    huge_annotation["metadata"]["annotations"]["example.com/blob"] = "x\"\\\n\u{2028}".repeat((1 << 20) / 8).into();

    let mut many_containers = pod(&format!("many-containers{suffix}"));
    let container = many_containers["spec"]["containers"][0].clone();
    many_containers["spec"]["containers"] = (0..5_000)
        .map(|i| {
            let mut c = container.clone();
            c["name"] = format!("c{i}").into();
            c
        })
        .collect::<Vec<_>>()
        .into();

    // Unknown fields nested deeper than serde_json's default recursion limit (128).
    let mut deep = pod(&format!("deep-unknown{suffix}"));
    let mut nested = Value::from("bottom");
    for _ in 0..400 {
        nested = json!({ "deeper": [nested] });
    }
    deep["spec"]["x-unknown"] = nested;

    vec![many_labels, huge_annotation, many_containers, deep]
}

/// Pods whose fields have the wrong JSON type: no decoder can read them.
fn broken_pods(suffix: &str) -> Vec<Value> {
    let mut priority = pod(&format!("wrong-type-priority{suffix}"));
    priority["spec"]["priority"] = "high".into();
    let mut containers = pod(&format!("wrong-type-containers{suffix}"));
    containers["spec"]["containers"] = json!({"name": "not-a-list"});
    vec![priority, containers]
}

/// The offline rendering of the sim's objects without `skipped` pods (by name).
fn expected_without(sim: &Sim, families: &FamilyOptions, skipped: &[String]) -> String {
    let mut items = Vec::new();
    for resource in &families.resources {
        items.extend(
            sim.list(resource)
                .into_iter()
                .filter(|o| resource != "pods" || !skipped.iter().any(|s| o["metadata"]["name"] == s.as_str())),
        );
    }
    let list = json!({"kind": "List", "apiVersion": "v1", "items": items}).to_string();
    let out = render_sources(&[("sim".into(), list)], families, Format::Text);
    assert!(out.problems.is_empty(), "{:?}", out.problems);
    String::from_utf8(out.body).unwrap()
}

async fn converge_without(e: &RunningExporter, sim: &Sim, families: &FamilyOptions, skipped: &[String]) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let expected = expected_without(sim, families, skipped);
        let (_, body) = get_text(&metrics_url(e)).await;
        if body == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "scrape never matched the simulator's state; first differences:\n{}",
            diff_lines(&expected, &body).join("\n")
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn telemetry(e: &RunningExporter, series: &str) -> f64 {
    let (_, body) = get_text(&format!("http://{}/metrics", e.telemetry_addr)).await;
    telemetry_value(&body, series)
}

async fn decode_errors(e: &RunningExporter) -> f64 {
    telemetry(e, "kube_state_exporter_decode_errors_total{resource=\"pods\"}").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_objects_are_rendered_or_skipped_and_never_cost_a_neighbour() {
    let sim = Sim::start().await.unwrap();
    for item in fixture_items("pods") {
        sim.create(item).unwrap();
    }
    let mut skipped = Vec::new();
    for item in hostile_pods("").into_iter().chain(broken_pods("")) {
        sim.create(item).unwrap();
    }
    skipped.extend(
        broken_pods("")
            .iter()
            .map(|p| p["metadata"]["name"].as_str().unwrap().to_string()),
    );
    let families = FamilyArgs {
        resources: vec!["pods".into(), "nodes".into()],
        metric_labels_allowlist: "pods=[*]".into(),
        metric_annotations_allowlist: "pods=[*]".into(),
        ..Default::default()
    }
    .validate()
    .unwrap();

    // In the initial list: the neighbours and the hostile pods are served, the broken ones
    // skipped and counted.
    let exporter = start_exporter(&sim.url(), families.clone()).await;
    wait_ready(&exporter).await;
    converge_without(&exporter, &sim, &families, &skipped).await;
    assert_eq!(decode_errors(&exporter).await, skipped.len() as f64);

    // As watch events: the same again, while a neighbour changes.
    for item in hostile_pods("-late").into_iter().chain(broken_pods("-late")) {
        sim.create(item).unwrap();
    }
    skipped.extend(
        broken_pods("-late")
            .iter()
            .map(|p| p["metadata"]["name"].as_str().unwrap().to_string()),
    );
    let neighbour = fixture_items("pods")[1].clone();
    let (ns, name) = (
        neighbour["metadata"]["namespace"].as_str().unwrap(),
        neighbour["metadata"]["name"].as_str().unwrap(),
    );
    sim.patch(
        "pods",
        Some(ns),
        name,
        &json!({"metadata": {"labels": {"after": "hostile"}}}),
    )
    .unwrap();
    converge_without(&exporter, &sim, &families, &skipped).await;
    assert_eq!(decode_errors(&exporter).await, skipped.len() as f64);

    // Events no API server should send: each is skipped and counted, and the object keeps its
    // last good state until a good event for it comes.
    let before = get_text(&metrics_url(&exporter)).await.1;
    let rewrites: [(&str, Rewrite); 3] = [
        ("no uid", |o| drop(o["metadata"].as_object_mut().unwrap().remove("uid"))),
        ("no name", |o| {
            drop(o["metadata"].as_object_mut().unwrap().remove("name"))
        }),
        ("another kind", |o| drop(o.insert("kind".into(), "Node".into()))),
    ];
    let mut errors = decode_errors(&exporter).await;
    for (i, (what, rewrite)) in rewrites.into_iter().enumerate() {
        sim.faults().rewrite_next_event("pods", rewrite);
        sim.patch(
            "pods",
            Some(ns),
            name,
            &json!({"metadata": {"labels": {"bad": i.to_string()}}}),
        )
        .unwrap();
        errors += 1.0;
        let deadline = Instant::now() + Duration::from_secs(30);
        while decode_errors(&exporter).await < errors {
            assert!(Instant::now() < deadline, "the event with {what} was never counted");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(decode_errors(&exporter).await, errors, "{what}: counted once");
        assert_eq!(
            get_text(&metrics_url(&exporter)).await.1,
            before,
            "{what}: nothing changed"
        );
    }
    sim.patch(
        "pods",
        Some(ns),
        name,
        &json!({"metadata": {"labels": {"bad": null, "good": "again"}}}),
    )
    .unwrap();
    converge_without(&exporter, &sim, &families, &skipped).await;

    // An event without readable metadata has no resourceVersion to resume from: the watcher
    // counts the error and lists again, which brings the change in.
    let relists = telemetry(&exporter, "kube_state_exporter_relists_total{resource=\"pods\"}").await;
    sim.faults()
        .rewrite_next_event("pods", |o| drop(o.insert("metadata".into(), json!(["x"]))));
    sim.patch(
        "pods",
        Some(ns),
        name,
        &json!({"metadata": {"labels": {"after-relist": "1"}}}),
    )
    .unwrap();
    converge_without(&exporter, &sim, &families, &skipped).await;
    assert_eq!(
        telemetry(&exporter, "kube_state_exporter_relists_total{resource=\"pods\"}").await,
        relists + 1.0
    );
    let series = "kube_state_exporter_watch_errors_total{reason=\"decode\",resource=\"pods\"}";
    assert!(telemetry(&exporter, series).await >= 1.0, "counted as a decode error");

    exporter.shutdown().await;
    sim.shutdown().await;
}
