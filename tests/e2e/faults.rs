//! API faults through the whole path: each is retried, said on `/readyz` while the kind is not
//! synced, counted, and followed by a scrape equal to the API server's state.

use super::*;

async fn telemetry(e: &RunningExporter, series: &str) -> f64 {
    let (_, body) = get_text(&format!("http://{}/metrics", e.telemetry_addr)).await;
    telemetry_value(&body, series)
}

/// Invariant: an HTML error page from a proxy and throttling with `Retry-After` are retried,
/// named on `/readyz` (kind and status) while they last, counted, and the scrape then equals
/// the API server's state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_pages_and_throttling_are_retried_reported_and_counted() {
    let sim = Sim::start().await.unwrap();
    for item in fixture_items("pods") {
        sim.create(item).unwrap();
    }
    sim.faults().proxy_fail_next("pods", 3, 502);
    let families = options();
    let exporter = start_exporter(&sim.url(), families.clone()).await;
    let readyz = format!("http://{}/readyz", exporter.metrics_addr);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = get_text(&readyz).await;
        if body.contains("pods: not synced yet; last error:") && body.contains("502") {
            assert_eq!(status, 503, "{body}");
            assert!(
                body.contains("502 (not an API Status: page titled \"502 Bad Gateway\")"),
                "the page is named by its title, not quoted: {body}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the proxy's 502 never showed on /readyz: {body}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    wait_ready(&exporter).await;
    wait_converged(&exporter, &sim, &families).await;
    let series = "kube_state_exporter_watch_errors_total{reason=\"server_error\",resource=\"pods\"}";
    assert!(telemetry(&exporter, series).await >= 3.0, "each proxy page counted");

    // Throttled while re-watching after the watches dropped, with a change made meanwhile.
    let requests = sim.faults().requests("pods");
    sim.faults().fail_next("pods", 2, 429);
    sim.faults().drop_watches();
    let deadline = Instant::now() + Duration::from_secs(30);
    while sim.faults().requests("pods") < requests + 3 {
        assert!(
            Instant::now() < deadline,
            "both throttled requests and the one that got through"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pod = fixture_items("pods")[0].clone();
    let (ns, name) = (
        pod["metadata"]["namespace"].as_str().unwrap(),
        pod["metadata"]["name"].as_str().unwrap(),
    );
    sim.patch(
        "pods",
        Some(ns),
        name,
        &json!({"metadata": {"labels": {"throttled": "yes"}}}),
    )
    .unwrap();
    wait_converged(&exporter, &sim, &families).await;
    let series = "kube_state_exporter_watch_errors_total{reason=\"throttled\",resource=\"pods\"}";
    assert_eq!(
        telemetry(&exporter, series).await,
        2.0,
        "each throttled request counted"
    );
    exporter.shutdown().await;
    sim.shutdown().await;
}

async fn wait_for_readyz(e: &RunningExporter, wanted: &[&str]) -> String {
    let readyz = format!("http://{}/readyz", e.metrics_addr);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = get_text(&readyz).await;
        if wanted.iter().all(|w| body.contains(w)) {
            assert_eq!(status, 503, "{body}");
            return body;
        }
        assert!(Instant::now() < deadline, "/readyz never said {wanted:?}: {body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Invariant: a server that accepts connections and never answers costs one `--api-timeout`
/// per attempt: `/readyz` names the kind and the timeout, the other kinds are served, it is
/// counted as a timeout, and once the server answers the scrape equals its state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_is_timed_out_named_and_recovered_from() {
    let sim = Sim::start().await.unwrap();
    for resource in ["pods", "deployments"] {
        for item in fixture_items(resource) {
            sim.create(item).unwrap();
        }
    }
    sim.faults().stall("pods", Duration::from_secs(3600));
    let families = options();
    let mut config = exporter_config(&sim.url(), families.clone());
    config.api_timeout = Some(Duration::from_millis(500));
    let exporter = RunningExporter::start(config).await.unwrap();
    let body = wait_for_readyz(
        &exporter,
        &[
            "pods: not synced yet; last error:",
            "no answer from the API server within 500ms",
        ],
    )
    .await;
    assert!(!body.contains("deployments"), "only the hung kind is named: {body}");
    let series = "kube_state_exporter_watch_errors_total{reason=\"timeout\",resource=\"pods\"}";
    let deadline = Instant::now() + Duration::from_secs(30);
    while telemetry(&exporter, series).await < 2.0 {
        assert!(Instant::now() < deadline, "each timed-out attempt counted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, scrape) = get_text(&metrics_url(&exporter)).await;
    assert!(
        scrape.contains("kube_deployment_created{"),
        "the answering kind is served"
    );

    sim.faults().stall("pods", Duration::ZERO);
    wait_ready(&exporter).await;
    wait_converged(&exporter, &sim, &families).await;
    exporter.shutdown().await;
    sim.shutdown().await;
}

/// Invariant: during a total outage the scrape keeps the last state whole (no series lost),
/// the errors are counted as transport failures, and after it the changes made meanwhile
/// (creates, updates, deletes) are all in the scrape, with nothing deleted left behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_total_outage_keeps_the_last_state_and_catches_up_after() {
    let sim = Sim::start().await.unwrap();
    let pods = fixture_items("pods");
    for item in &pods {
        sim.create(item.clone()).unwrap();
    }
    let families = options();
    let exporter = start_exporter(&sim.url(), families.clone()).await;
    wait_ready(&exporter).await;
    let before = wait_converged(&exporter, &sim, &families).await;

    sim.faults().outage(true);
    let series = "kube_state_exporter_watch_errors_total{reason=\"transport\",resource=\"pods\"}";
    let deadline = Instant::now() + Duration::from_secs(30);
    while telemetry(&exporter, series).await < 1.0 {
        assert!(
            Instant::now() < deadline,
            "the cut connections counted as transport errors"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (ns, name) = (
        pods[0]["metadata"]["namespace"].as_str().unwrap(),
        pods[0]["metadata"]["name"].as_str().unwrap(),
    );
    sim.delete("pods", Some(ns), name).unwrap();
    let mut added = pods[1].clone();
    added["metadata"]["name"] = json!("born-during-outage");
    added["metadata"]["uid"] = json!("7e57ab1e-0000-4000-8000-0000000000aa");
    sim.create(added).unwrap();
    let (ns, name) = (
        pods[1]["metadata"]["namespace"].as_str().unwrap(),
        pods[1]["metadata"]["name"].as_str().unwrap(),
    );
    sim.patch(
        "pods",
        Some(ns),
        name,
        &json!({"metadata": {"labels": {"outage": "over"}}}),
    )
    .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (status, during) = get_text(&metrics_url(&exporter)).await;
    assert_eq!(status, 200);
    assert_eq!(
        during, before,
        "the last state is served whole while the server is down"
    );

    sim.faults().outage(false);
    let after = wait_converged(&exporter, &sim, &families).await;
    assert!(
        after.contains("born-during-outage")
            && !after.contains(&format!("pod=\"{}\"", pods[0]["metadata"]["name"].as_str().unwrap()))
    );
    exporter.shutdown().await;
    sim.shutdown().await;
}
