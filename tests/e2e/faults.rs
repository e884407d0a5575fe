//! API faults through the whole path: each is retried, said on `/readyz` while the kind is not
//! synced, counted, and followed by a scrape equal to the API server's state.

use super::*;

/// Creates the fixture pods in the simulator; returns them.
fn create_fixture_pods(sim: &Sim) -> Vec<serde_json::Value> {
    let pods = fixture_items("pods");
    for item in &pods {
        sim.create(item.clone()).unwrap();
    }
    pods
}

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
    let pods = create_fixture_pods(&sim);
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
    let pod = pods[0].clone();
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
    let pods = create_fixture_pods(&sim);
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

/// An exporter of every kind, ready and converged on the simulator.
async fn pods_exporter(sim: &Sim, families: &FamilyOptions) -> RunningExporter {
    let exporter = start_exporter(&sim.url(), families.clone()).await;
    wait_ready(&exporter).await;
    wait_converged(&exporter, sim, families).await;
    exporter
}

fn pod_errors(reason: &str) -> String {
    format!("kube_state_exporter_watch_errors_total{{reason=\"{reason}\",resource=\"pods\"}}")
}

/// A simulator without streaming lists (WatchList off), so every sync and relist is a paginated
/// list: the path the list faults break.
async fn list_only_sim(config: SimConfig) -> Sim {
    let config = SimConfig {
        watch_list: false,
        ..config
    };
    Sim::start_with("127.0.0.1:0".parse().unwrap(), config).await.unwrap()
}

const POD_RELISTS: &str = "kube_state_exporter_relists_total{resource=\"pods\"}";

/// Waits until a telemetry series reaches `at_least`.
async fn wait_counted(e: &RunningExporter, series: &str, at_least: f64, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while telemetry(e, series).await < at_least {
        if Instant::now() > deadline {
            let (_, body) = get_text(&format!("http://{}/metrics", e.telemetry_addr)).await;
            let errors: Vec<&str> = body.lines().filter(|l| l.contains("errors_total{")).collect();
            panic!("{what}: {series} never reached {at_least}; errors counted: {errors:#?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Starts an exporter with `config`, waits until `series` counts the fault met while syncing,
/// then until the exporter is ready and its scrape equals the simulator's state.
async fn counted_then_converged(sim: &Sim, config: ExporterConfig, series: &str, what: &str) {
    let families = config.families.clone();
    let exporter = RunningExporter::start(config).await.unwrap();
    wait_counted(&exporter, series, 1.0, what).await;
    wait_ready(&exporter).await;
    wait_converged(&exporter, sim, &families).await;
    exporter.shutdown().await;
}

/// Invariant: a watch connection that drops in the middle of an event line loses nothing and
/// invents nothing: the half line is never applied, the watch resumes from the last whole event
/// (no relist), the change arrives, and the cut is counted as a transport error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_line_cut_mid_event_is_resumed_from_the_last_whole_event() {
    let sim = Sim::start().await.unwrap();
    let pods = create_fixture_pods(&sim);
    let families = options();
    let exporter = pods_exporter(&sim, &families).await;
    let relists = telemetry(&exporter, POD_RELISTS).await;
    assert!(relists >= 1.0, "the initial list is counted");

    sim.faults().cut_next_watch_event("pods");
    let (ns, name) = (
        pods[0]["metadata"]["namespace"].as_str().unwrap(),
        pods[0]["metadata"]["name"].as_str().unwrap(),
    );
    sim.patch(
        "pods",
        Some(ns),
        name,
        &json!({"metadata": {"labels": {"cut": "once"}}}),
    )
    .unwrap();
    wait_counted(&exporter, &pod_errors("transport"), 1.0, "the cut connection").await;
    wait_converged(&exporter, &sim, &families).await;
    assert_eq!(
        telemetry(&exporter, POD_RELISTS).await,
        relists,
        "resumed from the last whole event, not relisted"
    );
    exporter.shutdown().await;
    sim.shutdown().await;
}

/// Invariant: a list whose connection is reset half-way through a page is retried, the half
/// page is never applied, the state served before a relist stays served until a whole list
/// replaces it, and the reset is counted as a transport error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_reset_mid_page_is_retried_and_the_old_state_kept_meanwhile() {
    let sim = list_only_sim(SimConfig::default()).await;
    let pods = create_fixture_pods(&sim);
    sim.faults().reset_next_list("pods");
    let families = options();
    let exporter = pods_exporter(&sim, &families).await;
    wait_counted(&exporter, &pod_errors("transport"), 1.0, "the reset initial list").await;

    // A relist (every resourceVersion expired) whose first attempt is reset half-way.
    let before = wait_converged(&exporter, &sim, &families).await;
    sim.faults().stall("pods", Duration::from_millis(300));
    sim.faults().reset_next_list("pods");
    sim.faults().expire_resource_versions();
    wait_counted(&exporter, &pod_errors("transport"), 2.0, "the reset relist").await;
    let (_, during) = get_text(&metrics_url(&exporter)).await;
    assert_eq!(during, before, "the old state stays whole while the relist is retried");
    sim.faults().stall("pods", Duration::ZERO);
    let mut added = pods[0].clone();
    added["metadata"]["name"] = json!("after-the-reset");
    added["metadata"]["uid"] = json!("7e57ab1e-0000-4000-8000-0000000000bb");
    sim.create(added).unwrap();
    let after = wait_converged(&exporter, &sim, &families).await;
    assert!(after.contains("pod=\"after-the-reset\""));
    exporter.shutdown().await;
    sim.shutdown().await;
}

/// Invariant: a list body that stops coming (a stalled server or proxy, headers already sent)
/// is bounded by `--api-timeout`: `/readyz` names the kind and the stall, it is counted as a
/// timeout, and the retried list converges.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_body_that_stalls_is_timed_out_and_retried() {
    let sim = list_only_sim(SimConfig::default()).await;
    create_fixture_pods(&sim);
    sim.faults().stall_next_list_body("pods", Duration::from_secs(3600));
    let mut config = exporter_config(&sim.url(), options());
    config.api_timeout = Some(Duration::from_millis(500));
    counted_then_converged(&sim, config, &pod_errors("timeout"), "the stalled list body").await;
    sim.shutdown().await;
}

/// Invariant: when compaction lands between two pages of a list, the `continue` token's real
/// 410 (with its fresh token for an inconsistent remainder) makes the exporter start the list
/// over rather than splice two snapshots; it is counted as expired and the scrape equals the
/// server's state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_continue_token_restarts_the_list_and_converges() {
    let sim = list_only_sim(SimConfig::default()).await;
    demo::populate(&sim, 150, 9).unwrap();
    assert!(sim.list("pods").len() > 100, "several pages of 50");
    sim.faults().expire_after_next_page("pods");
    let config = exporter_config(&sim.url(), options());
    counted_then_converged(&sim, config, &pod_errors("expired"), "the expired continue token").await;
    sim.shutdown().await;
}

/// Invariant: a watch that sees no events, only bookmarks, keeps its place: after the server
/// compacted every event it had seen, a dropped watch resumes from the bookmark's
/// resourceVersion without a 410 and without a relist, and later changes arrive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bookmarks_carry_a_quiet_watch_past_compaction_without_a_relist() {
    let sim = Sim::start_with(
        "127.0.0.1:0".parse().unwrap(),
        SimConfig {
            bookmark_interval: Duration::from_millis(100),
            event_log_capacity: 50,
            ..SimConfig::default()
        },
    )
    .await
    .unwrap();
    let pods = create_fixture_pods(&sim);
    let families = options();
    let exporter = pods_exporter(&sim, &families).await;
    let relists = telemetry(&exporter, POD_RELISTS).await;
    assert!(relists >= 1.0, "the initial list is counted");

    // Events of another kind push the pods' last event out of the log; pods only get bookmarks.
    for i in 0..200 {
        sim.create(json!({"apiVersion": "v1", "kind": "ConfigMap",
                          "metadata": {"name": format!("filler-{i}"), "namespace": "default"}}))
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    sim.faults().drop_watches();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (ns, name) = (
        pods[0]["metadata"]["namespace"].as_str().unwrap(),
        pods[0]["metadata"]["name"].as_str().unwrap(),
    );
    sim.patch(
        "pods",
        Some(ns),
        name,
        &json!({"metadata": {"labels": {"quiet": "over"}}}),
    )
    .unwrap();
    wait_converged(&exporter, &sim, &families).await;
    assert_eq!(
        telemetry(&exporter, POD_RELISTS).await,
        relists,
        "resumed from the bookmark, not relisted"
    );
    exporter.shutdown().await;
    sim.shutdown().await;
}
