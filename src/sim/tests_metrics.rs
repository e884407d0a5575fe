//! metrics.k8s.io and APIServices over real HTTP: shapes, derivation from nodes and pods, time,
//! every metrics fault switch, the aggregator's 503/404, and kube-rs against both.

use super::cluster::{ApiServiceParams, ClusterModel, ClusterSpec, ServiceRef, apiservice};
use super::json::format_rfc3339;
use super::metrics::{
    CPU_FLOOR_MAX_NANOS, CPU_FLOOR_MIN_NANOS, MEMORY_FLOOR_MAX_BYTES, MEMORY_FLOOR_MIN_BYTES, USAGE_MAX_FRACTION,
    USAGE_MIN_FRACTION, parse_quantity,
};
use super::testclient::{GUARD, RawResponse, get, open, request};
use super::{Sim, SimConfig, SimError};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const NODES: &str = "/apis/metrics.k8s.io/v1beta1/nodes";
const PODS: &str = "/apis/metrics.k8s.io/v1beta1/pods";

/// A sim with a `resolution_secs` metrics resolution. Tests that assert exact sets of reported
/// pods use a long one, so the just-started pod of [`populate`] stays unreported however slowly
/// the test runs; tests that watch time move use 1 s.
async fn sim_with(metrics_v1: bool, resolution_secs: u64) -> Sim {
    Sim::start_with(
        "127.0.0.1:0".parse().unwrap(),
        SimConfig {
            metrics_v1,
            metrics_resolution: Duration::from_secs(resolution_secs),
            ..SimConfig::default()
        },
    )
    .await
    .unwrap()
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn ago(secs: u64) -> String {
    format_rfc3339(now_secs() - secs)
}

fn node(name: &str, ready: bool) -> Value {
    json!({"apiVersion": "v1", "kind": "Node",
    "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "pool": "a"}},
    "status": {
        "allocatable": {"cpu": "3920m", "memory": "15Gi", "pods": "110"},
        "capacity": {"cpu": "4", "memory": "16Gi", "pods": "110"},
        "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" },
            "lastHeartbeatTime": ago(5), "lastTransitionTime": ago(3600),
            "reason": if ready { "KubeletReady" } else { "KubeletNotReady" }, "message": "m"}],
    }})
}

/// A pod with containers `(name, cpu request, memory request)`; `running[i]` says whether
/// container i runs; every running container started `started_secs_ago`.
fn pod(
    ns: &str,
    name: &str,
    node: Option<&str>,
    phase: &str,
    containers: &[(&str, Option<&str>, Option<&str>)],
    running: &[bool],
    started_secs_ago: u64,
) -> Value {
    let specs: Vec<Value> = containers
        .iter()
        .map(|(n, cpu, mem)| {
            let mut req = serde_json::Map::new();
            if let Some(c) = cpu {
                req.insert("cpu".into(), json!(c));
            }
            if let Some(m) = mem {
                req.insert("memory".into(), json!(m));
            }
            json!({"name": n, "image": "nginx:1.27.3", "resources": {"requests": req}})
        })
        .collect();
    let statuses: Vec<Value> = containers
        .iter()
        .zip(running)
        .map(|((n, _, _), r)| {
            let state = if *r {
                json!({"running": {"startedAt": ago(started_secs_ago)}})
            } else {
                json!({"waiting": {"reason": "ContainerCreating"}})
            };
            json!({"name": n, "ready": r, "restartCount": 0, "image": "nginx:1.27.3", "imageID": "", "state": state})
        })
        .collect();
    let mut spec = json!({"containers": specs});
    if let Some(n) = node {
        spec["nodeName"] = json!(n);
    }
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
        "spec": spec,
        "status": {"phase": phase, "containerStatuses": statuses}})
}

fn metrics_apiservices(sim: &Sim, versions: &[&str]) {
    for version in versions {
        let obj = apiservice(&ApiServiceParams {
            group: "metrics.k8s.io",
            version,
            uid: "",
            created: jiff::Timestamp::now(),
            labels: &[("k8s-app", "metrics-server")],
            group_priority_minimum: 100,
            version_priority: 100,
            service: Some(ServiceRef {
                namespace: "kube-system",
                name: "metrics-server",
                port: 443,
            }),
            available: ("True", "Passed", "all checks passed"),
            since: jiff::Timestamp::now(),
        });
        sim.create(obj).unwrap();
    }
}

/// Two Ready nodes, one NotReady, and pods in every state the derivation distinguishes.
fn populate(sim: &Sim) {
    for (n, ready) in [("n1", true), ("n2", true), ("n3", false)] {
        sim.create(node(n, ready)).unwrap();
    }
    let two = [
        ("app", Some("250m"), Some("256Mi")),
        ("sidecar", Some("50m"), Some("64Mi")),
    ];
    let one = [("app", Some("1"), Some("1Gi"))];
    let bare = [("app", None, None)];
    for p in [
        pod("shop", "web", Some("n1"), "Running", &two, &[true, true], 3600),
        pod("shop", "api", Some("n1"), "Running", &one, &[true], 3600),
        pod("batch", "bare", Some("n2"), "Running", &bare, &[true], 3600),
        pod("batch", "half", Some("n2"), "Running", &two, &[true, false], 3600),
        pod("batch", "pending", Some("n2"), "Pending", &one, &[false], 3600),
        pod("batch", "done", Some("n2"), "Succeeded", &one, &[false], 3600),
        pod("shop", "on-notready", Some("n3"), "Running", &one, &[true], 3600),
        pod("shop", "fresh", Some("n1"), "Running", &one, &[true], 0),
        pod("shop", "unscheduled", None, "Pending", &one, &[false], 3600),
    ] {
        sim.create(p).unwrap();
    }
}

fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| {
            let m = &i["metadata"];
            match m["namespace"].as_str() {
                Some(ns) => format!("{ns}/{}", m["name"].as_str().unwrap()),
                None => m["name"].as_str().unwrap().to_string(),
            }
        })
        .collect()
}

fn items(r: &RawResponse) -> Vec<Value> {
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["items"].as_array().unwrap().clone()
}

fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

fn without_created(mut items: Vec<Value>) -> Vec<Value> {
    for i in &mut items {
        i["metadata"].as_object_mut().unwrap().remove("creationTimestamp");
    }
    items
}

fn is_second_rfc3339(s: &str) -> bool {
    s.len() == 20 && s.ends_with('Z') && s.parse::<jiff::Timestamp>().is_ok()
}

fn go_duration_secs(s: &str) -> f64 {
    if let Some(ms) = s.strip_suffix("ms") {
        return ms.parse::<f64>().unwrap() / 1000.0;
    }
    let (m, rest) = match s.split_once('m') {
        Some((m, rest)) => (m.parse::<f64>().unwrap(), rest),
        None => (0.0, s),
    };
    m * 60.0 + rest.strip_suffix('s').unwrap().parse::<f64>().unwrap()
}

fn cpu_ok(q: &str) -> bool {
    let digits = q.trim_end_matches(['n', 'u', 'm']);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && q.len() - digits.len() <= 1
}

fn memory_ok(q: &str) -> bool {
    let digits = q.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let suffix = &q[digits.len()..];
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && ["", "Ki", "Mi", "Gi"].contains(&suffix)
}

fn usage_of(u: &Value) -> (f64, f64) {
    (
        parse_quantity(u["cpu"].as_str().unwrap()).unwrap(),
        parse_quantity(u["memory"].as_str().unwrap()).unwrap(),
    )
}

/// Polls `f` until it holds (hang guard only).
async fn eventually(what: &str, mut f: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + GUARD;
    while !f().await {
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn list_and_object_shapes() {
    let sim = sim_with(true, 60).await;
    populate(&sim);
    let addr = sim.addr();

    let r = get(addr, NODES).await;
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(
        r.text()
            .starts_with(r#"{"kind":"NodeMetricsList","apiVersion":"metrics.k8s.io/v1beta1","metadata":{},"items":[{"metadata":{"name":"n1","creationTimestamp":""#),
        "{}",
        r.text()
    );
    assert!(r.text().ends_with("]}\n"));
    let nodes = items(&r);
    assert_eq!(ids(&nodes), ["n1", "n2"]);
    for n in &nodes {
        assert_eq!(keys(n), BTreeSet::from(["metadata", "timestamp", "window", "usage"]));
        assert_eq!(
            keys(&n["metadata"]),
            BTreeSet::from(["name", "creationTimestamp", "labels"])
        );
        assert_eq!(n["metadata"]["labels"]["kubernetes.io/hostname"], n["metadata"]["name"]);
        assert!(is_second_rfc3339(n["metadata"]["creationTimestamp"].as_str().unwrap()));
        assert!(is_second_rfc3339(n["timestamp"].as_str().unwrap()));
        let w = n["window"].as_str().unwrap();
        assert!((59.0..=61.0).contains(&go_duration_secs(w)), "window {w}");
        assert_eq!(keys(&n["usage"]), BTreeSet::from(["cpu", "memory"]));
        assert!(cpu_ok(n["usage"]["cpu"].as_str().unwrap()), "{n}");
        assert!(memory_ok(n["usage"]["memory"].as_str().unwrap()), "{n}");
    }
    let ts: jiff::Timestamp = nodes[0]["timestamp"].as_str().unwrap().parse().unwrap();
    assert!(ts.as_second() as u64 <= now_secs() && ts.as_second() as u64 + 70 > now_secs());

    let r = get(addr, PODS).await;
    assert!(
        r.text()
            .starts_with(r#"{"kind":"PodMetricsList","apiVersion":"metrics.k8s.io/v1beta1","metadata":{},"items":[{"metadata":{"name":"bare","namespace":"batch","creationTimestamp":""#),
        "{}",
        r.text()
    );
    let pods = items(&r);
    assert_eq!(ids(&pods), ["batch/bare", "shop/api", "shop/web"]);
    for p in &pods {
        assert_eq!(
            keys(p),
            BTreeSet::from(["metadata", "timestamp", "window", "containers"])
        );
        assert_eq!(
            keys(&p["metadata"]),
            BTreeSet::from(["name", "namespace", "creationTimestamp", "labels"])
        );
        assert_eq!(p["metadata"]["labels"]["app"], p["metadata"]["name"]);
        assert!(is_second_rfc3339(p["timestamp"].as_str().unwrap()));
        for c in p["containers"].as_array().unwrap() {
            assert_eq!(keys(c), BTreeSet::from(["name", "usage"]));
            assert!(cpu_ok(c["usage"]["cpu"].as_str().unwrap()), "{c}");
            assert!(memory_ok(c["usage"]["memory"].as_str().unwrap()), "{c}");
        }
    }
    let web = &pods[2];
    let names: Vec<&str> = web["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["app", "sidecar"], "spec order");

    // limit/continue are ignored: the whole list, no continue token.
    let r = get(addr, &format!("{PODS}?limit=1")).await;
    assert_eq!(items(&r).len(), 3);
    assert_eq!(r.json()["metadata"], json!({}));
    // Selectors, namespaces.
    assert_eq!(
        ids(&items(&get(addr, &format!("{PODS}?labelSelector=app%3Dweb")).await)),
        ["shop/web"]
    );
    assert_eq!(
        ids(&items(
            &get(addr, &format!("{PODS}?fieldSelector=metadata.namespace%3Dbatch")).await
        )),
        ["batch/bare"]
    );
    assert_eq!(
        ids(&items(
            &get(addr, "/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods").await
        )),
        ["shop/api", "shop/web"]
    );
    assert_eq!(
        ids(&items(
            &get(addr, &format!("{NODES}?fieldSelector=metadata.name%3Dn2")).await
        )),
        ["n2"]
    );
    assert_eq!(
        ids(&items(&get(addr, &format!("{NODES}?labelSelector=pool%3Db")).await)),
        Vec::<String>::new()
    );

    // Single objects carry kind/apiVersion.
    let r = get(addr, &format!("{NODES}/n1")).await;
    assert_eq!(r.status, 200);
    let o = r.json();
    assert_eq!(
        (o["kind"].as_str(), o["apiVersion"].as_str()),
        (Some("NodeMetrics"), Some("metrics.k8s.io/v1beta1"))
    );
    assert!(
        r.text()
            .starts_with(r#"{"kind":"NodeMetrics","apiVersion":"metrics.k8s.io/v1beta1","metadata":{"name":"n1""#)
    );
    let r = get(addr, "/apis/metrics.k8s.io/v1/namespaces/shop/pods/web").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["kind"], "PodMetrics");
    assert_eq!(r.json()["apiVersion"], "metrics.k8s.io/v1");
    assert_eq!(r.json()["metadata"]["namespace"], "shop");

    // 404s, as metrics-server words them.
    let r = get(addr, &format!("{NODES}/n3")).await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.text(),
        "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":\"nodemetrics.metrics.k8s.io \\\"n3\\\" not found\",\"reason\":\"NotFound\",\"details\":{\"name\":\"n3\",\"group\":\"metrics.k8s.io\",\"kind\":\"nodemetrics\"},\"code\":404}\n"
    );
    let r = get(addr, &format!("{NODES}/nope")).await;
    assert_eq!(r.json()["message"], "node \"nope\" not found");
    let r = get(addr, "/apis/metrics.k8s.io/v1beta1/namespaces/batch/pods/half").await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.json()["message"],
        "podmetrics.metrics.k8s.io \"batch/half\" not found"
    );
    assert_eq!(r.json()["details"]["name"], "batch/half");
    let r = get(addr, "/apis/metrics.k8s.io/v1beta1/namespaces/batch/pods/nope").await;
    assert_eq!(r.json()["message"], "pods \"nope\" not found");
    assert_eq!(
        get(addr, "/apis/metrics.k8s.io/v1beta1/namespaces/x/nodes")
            .await
            .status,
        404
    );

    // Read-only: no watch (405 like a real server), no writes.
    let r = get(addr, &format!("{NODES}?watch=true")).await;
    assert_eq!(r.status, 405);
    assert_eq!(
        r.text(),
        "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":\"watch is not supported on resources of kind \\\"nodes.metrics.k8s.io\\\"\",\"reason\":\"MethodNotAllowed\",\"details\":{\"group\":\"metrics.k8s.io\",\"kind\":\"nodes\"},\"code\":405}\n"
    );
    assert_eq!(get(addr, &format!("{PODS}?watch=1&timeoutSeconds=1")).await.status, 405);
    let body = br#"{"metadata":{"name":"n1"}}"#;
    let r = request(addr, "POST", NODES, &[("Content-Type", "application/json")], Some(body)).await;
    assert_eq!(r.status, 405);
    let r = request(addr, "DELETE", &format!("{NODES}/n1"), &[], None).await;
    assert_eq!(r.status, 405);
    let nm = json!({"apiVersion": "metrics.k8s.io/v1beta1", "kind": "NodeMetrics", "metadata": {"name": "x"}});
    assert!(matches!(sim.create(nm), Err(SimError::UnknownResource(_))));
    assert!(sim.delete("nodes.metrics.k8s.io", None, "n1").is_err());
    assert_eq!(ids(&sim.list("nodes.metrics.k8s.io")), ["n1", "n2"]);
    assert_eq!(sim.list("pods.metrics.k8s.io")[0]["kind"], "PodMetrics");
    assert!(sim.get("pods.metrics.k8s.io", Some("shop"), "web").is_some());
}

#[tokio::test]
async fn usage_is_derived_from_nodes_and_pods() {
    let sim = sim_with(true, 60).await;
    populate(&sim);
    let addr = sim.addr();
    // Frozen: every read below sees the same sample.
    sim.faults().metrics_stale(true);

    let nodes = sim.node_metrics("v1beta1");
    let pods = sim.pod_metrics("v1beta1");
    assert_eq!(ids(&nodes), ["n1", "n2"], "Ready nodes only");
    assert_eq!(
        ids(&pods),
        ["batch/bare", "shop/api", "shop/web"],
        "Running pods whose containers all run, on a Ready node, scraped twice"
    );
    // The accessors return what the lists return.
    assert_eq!(
        without_created(items(&get(addr, NODES).await)),
        without_created(nodes.clone())
    );
    assert_eq!(
        without_created(items(&get(addr, PODS).await)),
        without_created(pods.clone())
    );
    assert_eq!(
        without_created(sim.pod_metrics("v1")),
        without_created(pods.clone()),
        "both versions serve the same data"
    );

    // Bounds from requests, or the floor without them.
    let req: BTreeMap<(&str, &str), (f64, f64)> = BTreeMap::from([
        (("shop/web", "app"), (0.25, 256.0 * 1_048_576.0)),
        (("shop/web", "sidecar"), (0.05, 64.0 * 1_048_576.0)),
        (("shop/api", "app"), (1.0, 1024.0 * 1_048_576.0)),
    ]);
    let mut per_node: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for p in &pods {
        let id = ids(std::slice::from_ref(p)).remove(0);
        let node = if id.starts_with("shop") { "n1" } else { "n2" };
        for c in p["containers"].as_array().unwrap() {
            let (cpu, mem) = usage_of(&c["usage"]);
            let e = per_node.entry(node).or_default();
            e.0 += cpu;
            e.1 += mem;
            match req.get(&(id.as_str(), c["name"].as_str().unwrap())) {
                Some((rc, rm)) => {
                    assert!(
                        cpu >= rc * USAGE_MIN_FRACTION - 1e-9 && cpu <= rc * USAGE_MAX_FRACTION + 1e-9,
                        "{id} cpu {cpu}"
                    );
                    assert!(
                        mem >= rm * USAGE_MIN_FRACTION && mem <= rm * USAGE_MAX_FRACTION + 4096.0,
                        "{id} mem {mem}"
                    );
                }
                None => {
                    assert!((CPU_FLOOR_MIN_NANOS / 1e9..=CPU_FLOOR_MAX_NANOS / 1e9).contains(&cpu));
                    assert!((MEMORY_FLOOR_MIN_BYTES..=MEMORY_FLOOR_MAX_BYTES + 4096.0).contains(&mem));
                }
            }
        }
    }
    for n in &nodes {
        let name = n["metadata"]["name"].as_str().unwrap();
        let (cpu, mem) = usage_of(&n["usage"]);
        let (pc, pm) = per_node[name];
        assert!(cpu > pc && mem > pm, "{name}: node {cpu}/{mem} < pods {pc}/{pm}");
        assert!(
            cpu < 4.0 && mem < 16.0 * 1024.0 * 1_048_576.0,
            "{name}: plausible against capacity"
        );
    }

    // Usage moves with the workload: a new pod on n2 adds to n2 only; deleting one removes it.
    let n2_cpu = |nodes: &[Value]| usage_of(&nodes[1]["usage"]).0;
    let before = n2_cpu(&nodes);
    sim.create(pod(
        "batch",
        "more",
        Some("n2"),
        "Running",
        &[("app", Some("2"), Some("1Gi"))],
        &[true],
        3600,
    ))
    .unwrap();
    let after = sim.node_metrics("v1beta1");
    assert!(n2_cpu(&after) >= before + 0.4, "{before} -> {}", n2_cpu(&after));
    assert_eq!(after[0]["usage"], nodes[0]["usage"], "n1 unchanged");
    assert!(ids(&sim.pod_metrics("v1beta1")).contains(&"batch/more".to_string()));
    sim.delete("pods", Some("batch"), "more").unwrap();
    assert!(!ids(&sim.pod_metrics("v1beta1")).contains(&"batch/more".to_string()));
    // A node going NotReady takes its pods with it.
    sim.patch(
        "nodes",
        None,
        "n1",
        &json!({"status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}}),
    )
    .unwrap();
    assert_eq!(ids(&sim.node_metrics("v1beta1")), ["n2"]);
    assert_eq!(ids(&sim.pod_metrics("v1beta1")), ["batch/bare"]);
}

#[tokio::test]
async fn timestamps_advance_with_the_resolution_and_stale_freezes_them() {
    let sim = sim_with(true, 1).await;
    populate(&sim);
    let addr = sim.addr();
    let sample = async || {
        let n = items(&get(addr, NODES).await).remove(0);
        (n["timestamp"].as_str().unwrap().to_string(), n["usage"].clone())
    };
    let (t0, _) = sample().await;
    eventually("the timestamp advances", async || sample().await.0 > t0).await;
    let w = items(&get(addr, NODES).await)[0]["window"]
        .as_str()
        .unwrap()
        .to_string();
    assert!((0.9..=1.1).contains(&go_duration_secs(&w)), "window {w}");
    // A just-started pod appears once metrics-server has scraped it twice.
    eventually("the fresh pod gets metrics", async || {
        ids(&items(&get(addr, PODS).await)).contains(&"shop/fresh".to_string())
    })
    .await;

    sim.faults().metrics_stale(true);
    let (frozen, usage) = sample().await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (later, later_usage) = sample().await;
    assert_eq!(
        (later.as_str(), &later_usage),
        (frozen.as_str(), &usage),
        "stale: nothing moves"
    );
    let pods = sim.pod_metrics("v1beta1");
    assert!(pods.iter().all(|p| p["timestamp"].as_str().unwrap() <= frozen.as_str()));

    sim.faults().metrics_stale(false);
    eventually("timestamps move again", async || sample().await.0 > frozen).await;
}

/// Reads the next watch event for an APIService, skipping bookmarks.
async fn next_event(w: &mut super::testclient::Conn) -> (String, Value) {
    loop {
        let ev = w.next_json().await.expect("watch goes on");
        let t = ev["type"].as_str().unwrap().to_string();
        if t != "BOOKMARK" {
            return (t, ev["object"].clone());
        }
    }
}

fn available(o: &Value) -> (String, String, String) {
    let c = o["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Available")
        .unwrap();
    (
        c["status"].as_str().unwrap().into(),
        c["reason"].as_str().unwrap().into(),
        c["message"].as_str().unwrap().into(),
    )
}

#[tokio::test]
async fn unavailable_answers_the_aggregators_503_and_flips_the_apiservices() {
    let sim = sim_with(true, 60).await;
    populate(&sim);
    metrics_apiservices(&sim, &["v1", "v1beta1"]);
    let addr = sim.addr();
    let rv = sim.resource_version();
    let mut w = open(
        addr,
        "GET",
        &format!("/apis/apiregistration.k8s.io/v1/apiservices?watch=1&resourceVersion={rv}"),
        &[],
        None,
    )
    .await;

    sim.faults().metrics_unavailable(true);
    for path in [
        NODES,
        PODS,
        "/apis/metrics.k8s.io/v1beta1",
        "/apis/metrics.k8s.io/v1/namespaces/shop/pods/web",
    ] {
        let r = request(
            addr,
            "GET",
            path,
            &[("Accept", "application/vnd.kubernetes.protobuf")],
            None,
        )
        .await;
        assert_eq!(r.status, 503, "{path}");
        assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(r.header("content-length"), Some("20"));
        assert_eq!(r.text(), "service unavailable\n");
    }
    // The aggregator serves the group document and /apis itself.
    assert_eq!(get(addr, "/apis/metrics.k8s.io").await.json()["kind"], "APIGroup");
    assert!(get(addr, "/apis").await.text().contains("\"metrics.k8s.io\""));
    let missing = "endpoints for service/metrics-server in \"kube-system\" have no addresses with port name \"https\"";
    for name in ["v1.metrics.k8s.io", "v1beta1.metrics.k8s.io"] {
        let (t, o) = next_event(&mut w).await;
        assert_eq!((t.as_str(), o["metadata"]["name"].as_str()), ("MODIFIED", Some(name)));
        assert_eq!(
            available(&o),
            ("False".into(), "MissingEndpoints".into(), missing.into())
        );
    }

    sim.faults().metrics_unavailable(false);
    for name in ["v1.metrics.k8s.io", "v1beta1.metrics.k8s.io"] {
        let (t, o) = next_event(&mut w).await;
        assert_eq!((t.as_str(), o["metadata"]["name"].as_str()), ("MODIFIED", Some(name)));
        assert_eq!(
            available(&o),
            ("True".into(), "Passed".into(), "all checks passed".into())
        );
    }
    assert_eq!(get(addr, NODES).await.status, 200);

    // The condition itself is what the aggregator acts on, per version.
    let v = sim
        .set_apiservice_condition(
            "v1beta1.metrics.k8s.io",
            "False",
            "FailedDiscoveryCheck",
            "failing or missing response from https://10.96.0.12:443/apis/metrics.k8s.io/v1beta1: bad status from https://10.96.0.12:443/apis/metrics.k8s.io/v1beta1: 403",
        )
        .unwrap();
    assert_eq!(available(&v).1, "FailedDiscoveryCheck");
    let (t, o) = next_event(&mut w).await;
    assert_eq!(
        (t.as_str(), available(&o).1.as_str()),
        ("MODIFIED", "FailedDiscoveryCheck")
    );
    assert_eq!(get(addr, NODES).await.status, 503);
    assert_eq!(get(addr, "/apis/metrics.k8s.io/v1/nodes").await.status, 200);
    let since = o["status"]["conditions"][0]["lastTransitionTime"].clone();
    sim.set_apiservice_condition("v1beta1.metrics.k8s.io", "False", "MissingEndpoints", "x")
        .unwrap();
    let (_, o) = next_event(&mut w).await;
    assert_eq!(
        o["status"]["conditions"][0]["lastTransitionTime"], since,
        "same status: no transition"
    );
    sim.set_apiservice_condition("v1beta1.metrics.k8s.io", "True", "Passed", "all checks passed")
        .unwrap();
    assert_eq!(get(addr, NODES).await.status, 200);
    assert!(matches!(
        sim.set_apiservice_condition("v9.nope", "True", "Passed", ""),
        Err(SimError::NotFound(_))
    ));
}

#[tokio::test]
async fn missing_unregisters_the_group_and_deletes_the_apiservices() {
    let sim = sim_with(true, 60).await;
    populate(&sim);
    metrics_apiservices(&sim, &["v1", "v1beta1"]);
    let addr = sim.addr();
    let old_uid = sim.get("apiservices", None, "v1beta1.metrics.k8s.io").unwrap()["metadata"]["uid"].clone();
    let rv = sim.resource_version();
    let mut w = open(
        addr,
        "GET",
        &format!("/apis/apiregistration.k8s.io/v1/apiservices?watch=1&resourceVersion={rv}"),
        &[],
        None,
    )
    .await;

    sim.faults().metrics_missing(true);
    for path in [
        "/apis/metrics.k8s.io",
        "/apis/metrics.k8s.io/v1beta1",
        NODES,
        PODS,
        "/apis/metrics.k8s.io/v1/nodes/n1",
    ] {
        let r = get(addr, path).await;
        assert_eq!(
            (r.status, r.header("content-type"), r.text().as_str()),
            (404, Some("text/plain; charset=utf-8"), "404 page not found\n"),
            "{path}"
        );
    }
    assert!(!get(addr, "/apis").await.text().contains("\"metrics.k8s.io\""));
    for name in ["v1.metrics.k8s.io", "v1beta1.metrics.k8s.io"] {
        let (t, o) = next_event(&mut w).await;
        assert_eq!((t.as_str(), o["metadata"]["name"].as_str()), ("DELETED", Some(name)));
    }
    assert!(sim.get("apiservices", None, "v1beta1.metrics.k8s.io").is_none());
    sim.faults().metrics_missing(true);

    // Unavailable while missing: restored as unavailable.
    sim.faults().metrics_unavailable(true);
    sim.faults().metrics_missing(false);
    for name in ["v1.metrics.k8s.io", "v1beta1.metrics.k8s.io"] {
        let (t, o) = next_event(&mut w).await;
        assert_eq!((t.as_str(), o["metadata"]["name"].as_str()), ("ADDED", Some(name)));
        assert_eq!(available(&o).1, "MissingEndpoints");
        assert_ne!(o["metadata"]["uid"], old_uid);
        assert_eq!(o["spec"]["service"]["name"], "metrics-server");
    }
    assert_eq!(get(addr, NODES).await.status, 503);
    sim.faults().metrics_unavailable(false);
    assert_eq!(get(addr, NODES).await.status, 200);
    assert!(get(addr, "/apis").await.text().contains("\"metrics.k8s.io\""));
}

#[tokio::test]
async fn delay_omit_fail_next_forbid_and_request_counts() {
    let sim = sim_with(true, 60).await;
    populate(&sim);
    let addr = sim.addr();

    // Delay: slow beyond a client timeout.
    sim.faults().metrics_delay(Duration::from_secs(5));
    assert!(
        tokio::time::timeout(Duration::from_millis(300), get(addr, NODES))
            .await
            .is_err()
    );
    sim.faults().metrics_delay(Duration::ZERO);
    assert_eq!(get(addr, NODES).await.status, 200);

    // A kubelet scrape failure: the node and its pods vanish.
    sim.faults().metrics_omit_nodes(["n1"]);
    assert_eq!(ids(&items(&get(addr, NODES).await)), ["n2"]);
    assert_eq!(ids(&items(&get(addr, PODS).await)), ["batch/bare"]);
    assert_eq!(get(addr, &format!("{NODES}/n1")).await.status, 404);
    sim.faults().metrics_omit_nodes(Vec::<String>::new());
    sim.faults()
        .metrics_omit_pods(vec![("shop".to_string(), "web".to_string())]);
    assert_eq!(ids(&items(&get(addr, PODS).await)), ["batch/bare", "shop/api"]);
    assert_eq!(ids(&sim.pod_metrics("v1beta1")), ["batch/bare", "shop/api"]);
    sim.faults().metrics_omit_pods(Vec::<(String, String)>::new());

    // Errors with a real Status.
    let before = sim.faults().requests("nodes.metrics.k8s.io");
    sim.faults().metrics_fail_next(2, 429);
    for path in [NODES, PODS] {
        let r = get(addr, path).await;
        assert_eq!(r.status, 429);
        assert_eq!(r.header("retry-after"), Some("1"));
        assert_eq!(r.json()["reason"], "TooManyRequests");
        assert_eq!(r.json()["details"]["retryAfterSeconds"], 1);
    }
    assert_eq!(get(addr, NODES).await.status, 200);
    assert_eq!(sim.faults().requests("nodes.metrics.k8s.io"), before + 2);
    for (code, reason) in [(500, "InternalError"), (504, "Timeout"), (503, "ServiceUnavailable")] {
        sim.faults().metrics_fail_next(1, code);
        let r = get(addr, NODES).await;
        assert_eq!((r.status, r.json()["reason"].as_str()), (code, Some(reason)));
        assert_eq!(r.header("content-type"), Some("application/json"));
    }
    sim.faults().metrics_fail_next(1, 403);
    let r = get(addr, NODES).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.text(),
        "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":\"nodes.metrics.k8s.io is forbidden: User \\\"sim\\\" cannot list resource \\\"nodes\\\" in API group \\\"metrics.k8s.io\\\" at the cluster scope\",\"reason\":\"Forbidden\",\"details\":{\"group\":\"metrics.k8s.io\",\"kind\":\"nodes\"},\"code\":403}\n"
    );

    // The per-resource switches take metrics resources too, for every version.
    sim.faults().forbid("pods.metrics.k8s.io", true);
    let r = get(addr, "/apis/metrics.k8s.io/v1/namespaces/shop/pods").await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.json()["message"],
        "pods.metrics.k8s.io is forbidden: User \"sim\" cannot list resource \"pods\" in API group \"metrics.k8s.io\" in the namespace \"shop\""
    );
    assert_eq!(get(addr, PODS).await.status, 403);
    assert_eq!(get(addr, NODES).await.status, 200, "nodes unaffected");
    sim.faults().forbid("pods.metrics.k8s.io", false);
    sim.faults().fail_next("nodes.metrics.k8s.io", 1, 500);
    assert_eq!(get(addr, "/apis/metrics.k8s.io/v1/nodes").await.status, 500);
    assert_eq!(get(addr, NODES).await.status, 200);

    // Counts: every request of the resource, any version, faulted or not.
    let pods_before = sim.faults().requests("pods.metrics.k8s.io");
    get(addr, PODS).await;
    get(addr, "/apis/metrics.k8s.io/v1/namespaces/shop/pods/web").await;
    get(addr, "/apis/metrics.k8s.io/v1beta1").await;
    assert_eq!(sim.faults().requests("pods.metrics.k8s.io"), pods_before + 2);
    assert_eq!(sim.faults().requests("pods"), 0, "core pods are counted apart");
}

#[tokio::test]
async fn discovery_with_and_without_the_group() {
    let sim = sim_with(true, 60).await;
    let addr = sim.addr();
    let apis = get(addr, "/apis").await.json();
    let group = |apis: &Value, name: &str| {
        apis["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["name"] == name)
            .cloned()
    };
    assert_eq!(
        group(&apis, "metrics.k8s.io").unwrap(),
        json!({"name": "metrics.k8s.io", "versions": [
            {"groupVersion": "metrics.k8s.io/v1", "version": "v1"},
            {"groupVersion": "metrics.k8s.io/v1beta1", "version": "v1beta1"}],
            "preferredVersion": {"groupVersion": "metrics.k8s.io/v1", "version": "v1"}})
    );
    assert_eq!(
        group(&apis, "apiregistration.k8s.io").unwrap()["preferredVersion"]["groupVersion"],
        "apiregistration.k8s.io/v1"
    );
    let g = get(addr, "/apis/metrics.k8s.io").await.json();
    assert_eq!(
        (g["kind"].as_str(), g["apiVersion"].as_str()),
        (Some("APIGroup"), Some("v1"))
    );
    assert_eq!(g["preferredVersion"]["version"], "v1");
    for v in ["v1", "v1beta1"] {
        let r = get(addr, &format!("/apis/metrics.k8s.io/{v}")).await;
        assert_eq!(
            r.json(),
            json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": format!("metrics.k8s.io/{v}"),
                "resources": [
                    {"name": "nodes", "singularName": "node", "namespaced": false, "kind": "NodeMetrics", "verbs": ["get", "list"]},
                    {"name": "pods", "singularName": "pod", "namespaced": true, "kind": "PodMetrics", "verbs": ["get", "list"]}]})
        );
    }
    let reg = get(addr, "/apis/apiregistration.k8s.io/v1").await.json();
    let names: Vec<&str> = reg["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["apiservices", "apiservices/status"]);
    assert!(
        reg["resources"][0]["verbs"]
            .as_array()
            .unwrap()
            .contains(&json!("watch"))
    );
    assert_eq!(reg["resources"][0]["namespaced"], false);

    sim.faults().metrics_missing(true);
    let apis = get(addr, "/apis").await.json();
    assert!(group(&apis, "metrics.k8s.io").is_none());
    assert!(group(&apis, "apps").is_some());
    sim.faults().metrics_missing(false);
    assert!(group(&get(addr, "/apis").await.json(), "metrics.k8s.io").is_some());

    // v1 off: v1beta1 only, as on v1.36.
    let old = sim_with(false, 60).await;
    populate(&old);
    let apis = get(old.addr(), "/apis").await.json();
    assert_eq!(
        group(&apis, "metrics.k8s.io").unwrap(),
        json!({"name": "metrics.k8s.io", "versions": [{"groupVersion": "metrics.k8s.io/v1beta1", "version": "v1beta1"}],
            "preferredVersion": {"groupVersion": "metrics.k8s.io/v1beta1", "version": "v1beta1"}})
    );
    for path in ["/apis/metrics.k8s.io/v1", "/apis/metrics.k8s.io/v1/nodes"] {
        let r = get(old.addr(), path).await;
        assert_eq!((r.status, r.text().as_str()), (404, "404 page not found\n"));
    }
    assert_eq!(items(&get(old.addr(), NODES).await).len(), 2);
    assert!(old.node_metrics("v1").is_empty());
    assert_eq!(old.node_metrics("v1beta1").len(), 2);
    assert_eq!(
        old.list("nodes.metrics.k8s.io")[0]["apiVersion"],
        "metrics.k8s.io/v1beta1"
    );
}

#[tokio::test]
async fn generated_cluster_has_apiservices_and_metrics() {
    let sim = sim_with(true, 60).await;
    let model = ClusterModel::new(ClusterSpec::for_pods(120, 5), jiff::Timestamp::now());
    for o in model.objects() {
        sim.create(o).unwrap();
    }
    let names: Vec<String> = sim
        .list("apiservices")
        .iter()
        .map(|a| a["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        [
            "v1.",
            "v1.apiregistration.k8s.io",
            "v1.apps",
            "v1.batch",
            "v1.metrics.k8s.io",
            "v1beta1.metrics.k8s.io",
            "v2.autoscaling"
        ]
    );
    let ms = sim.get("apiservices", None, "v1beta1.metrics.k8s.io").unwrap();
    assert_eq!(
        ms["spec"],
        json!({"service": {"namespace": "kube-system", "name": "metrics-server", "port": 443},
            "group": "metrics.k8s.io", "version": "v1beta1", "insecureSkipTLSVerify": true,
            "groupPriorityMinimum": 100, "versionPriority": 100})
    );
    assert_eq!(
        available(&ms),
        ("True".into(), "Passed".into(), "all checks passed".into())
    );
    let local = sim.get("apiservices", None, "v1.apps").unwrap();
    assert!(local["spec"].get("service").is_none());
    assert_eq!(
        available(&local),
        (
            "True".into(),
            "Local".into(),
            "Local APIServices are always available".into()
        )
    );

    let ready_nodes = sim
        .list("nodes")
        .iter()
        .filter(|n| {
            n["status"]["conditions"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
        .count();
    let nodes = items(&get(sim.addr(), NODES).await);
    assert_eq!(nodes.len(), ready_nodes);
    let pods = items(&get(sim.addr(), PODS).await);
    let running = sim
        .list("pods")
        .iter()
        .filter(|p| p["status"]["phase"] == "Running")
        .count();
    assert!(!pods.is_empty() && pods.len() <= running, "{} of {running}", pods.len());

    // v1 off in the model: no v1.metrics.k8s.io.
    let spec = ClusterSpec {
        metrics_v1: false,
        ..ClusterSpec::for_pods(30, 5)
    };
    let mut model = ClusterModel::new(spec, jiff::Timestamp::now());
    assert!(
        !model
            .initial_objects()
            .iter()
            .any(|o| o["metadata"]["name"] == "v1.metrics.k8s.io")
    );
}

#[tokio::test]
async fn kube_reads_apiservices_and_metrics() {
    use futures::StreamExt;
    use k8s_openapi::kube_aggregator::pkg::apis::apiregistration::v1::APIService;
    use kube::api::{ApiResource, DynamicObject, ListParams};
    use kube::runtime::watcher::{self, Event};

    let sim = sim_with(true, 60).await;
    populate(&sim);
    metrics_apiservices(&sim, &["v1beta1"]);
    let client = kube::Client::try_from(kube::Config::new(sim.url().parse().unwrap())).unwrap();

    let api = kube::Api::<APIService>::all(client.clone());
    let list = api.list(&ListParams::default()).await.unwrap();
    assert_eq!(list.items.len(), 1);
    let a = &list.items[0];
    assert_eq!(a.metadata.name.as_deref(), Some("v1beta1.metrics.k8s.io"));
    let spec = a.spec.as_ref().unwrap();
    assert_eq!(spec.service.as_ref().unwrap().name.as_deref(), Some("metrics-server"));
    let cond = &a.status.as_ref().unwrap().conditions.as_ref().unwrap()[0];
    assert_eq!((cond.type_.as_str(), cond.status.as_str()), ("Available", "True"));

    // The watcher sees the flip.
    let mut stream = watcher::watcher(api, watcher::Config::default()).boxed();
    loop {
        let ev = tokio::time::timeout(GUARD, stream.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if matches!(ev, Event::InitDone) {
            break;
        }
    }
    sim.faults().metrics_unavailable(true);
    let ev = tokio::time::timeout(GUARD, stream.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let Event::Apply(a) = ev else {
        panic!("expected an Apply")
    };
    let cond = &a.status.unwrap().conditions.unwrap()[0];
    assert_eq!(cond.reason.as_deref(), Some("MissingEndpoints"));
    sim.faults().metrics_unavailable(false);

    // Metrics the way kube-rs users read them (no typed NodeMetrics in k8s-openapi).
    let ar = ApiResource {
        group: "metrics.k8s.io".into(),
        version: "v1beta1".into(),
        api_version: "metrics.k8s.io/v1beta1".into(),
        kind: "NodeMetrics".into(),
        plural: "nodes".into(),
    };
    let nodes = kube::Api::<DynamicObject>::all_with(client.clone(), &ar)
        .list(&ListParams::default())
        .await
        .unwrap();
    assert_eq!(nodes.items.len(), 2);
    assert!(nodes.metadata.resource_version.is_none());
    assert!(nodes.items[0].data["usage"]["cpu"].is_string());
    let one = kube::Api::<DynamicObject>::all_with(client, &ar)
        .get("n2")
        .await
        .unwrap();
    assert!(one.data["window"].is_string());
}
