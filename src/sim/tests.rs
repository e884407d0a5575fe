//! Behaviour tests of the simulated API server, over real HTTP on 127.0.0.1.

use super::testclient::{GUARD, get, open, request, watch_all};
use super::{Sim, SimConfig, SimError};
use base64::Engine;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

pub(super) fn pod(ns: &str, name: &str, labels: Value, node: Option<&str>) -> Value {
    let mut spec = json!({"containers": [{"name": "app", "image": "nginx:1.27.3"}]});
    if let Some(n) = node {
        spec["nodeName"] = json!(n);
    }
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": labels}, "spec": spec, "status": {"phase": "Pending"}})
}

async fn sim_with(bookmark_ms: u64, capacity: usize) -> Sim {
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    Sim::start_with(
        addr,
        SimConfig {
            bookmark_interval: Duration::from_millis(bookmark_ms),
            event_log_capacity: capacity,
            ..SimConfig::default()
        },
    )
    .await
    .unwrap()
}

fn names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            format!(
                "{}/{}",
                i["metadata"]["namespace"].as_str().unwrap_or(""),
                i["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect()
}

fn token_json(tok: &str) -> String {
    String::from_utf8(base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(tok).unwrap()).unwrap()
}

/// Percent-encodes the values of `k=v&k=v` (selectors contain `=`, `,`, spaces, `!`).
fn enc_query(q: &str) -> String {
    q.split('&')
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            let v = v
                .replace(' ', "%20")
                .replace('=', "%3D")
                .replace('!', "%21")
                .replace(',', "%2C");
            format!("{k}={v}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn rv_of(v: &Value) -> u64 {
    v["metadata"]["resourceVersion"].as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn paging_stays_on_the_first_pages_snapshot() {
    let sim = Sim::start().await.unwrap();
    for (ns, name) in [
        ("a", "p1"),
        ("a", "p2"),
        ("a", "p3"),
        ("b", "p1"),
        ("b", "p2"),
        ("c", "p1"),
        ("c", "p2"),
    ] {
        sim.create(pod(ns, name, json!({"app": "x"}), None)).unwrap();
    }
    let p1 = get(sim.addr(), "/api/v1/pods?&limit=2").await;
    assert_eq!(p1.status, 200);
    let p1 = p1.json();
    assert_eq!(p1["kind"], "PodList");
    assert_eq!(p1["apiVersion"], "v1");
    let rv = p1["metadata"]["resourceVersion"].as_str().unwrap().to_string();
    assert_eq!(rv, sim.resource_version().to_string());
    assert_eq!(p1["metadata"]["remainingItemCount"], 5);
    assert_eq!(names(&p1), ["a/p1", "a/p2"]);
    for item in p1["items"].as_array().unwrap() {
        assert!(
            item.get("apiVersion").is_none() && item.get("kind").is_none(),
            "list items carry no type"
        );
    }
    let tok = p1["metadata"]["continue"].as_str().unwrap().to_string();
    assert_eq!(
        token_json(&tok),
        format!(r#"{{"v":"meta.k8s.io/v1","rv":{rv},"start":"/a/p2\u0000"}}"#)
    );

    // Changes between pages are not seen by the continuation.
    sim.delete("pods", Some("b"), "p1").unwrap();
    sim.create(pod("a", "p0", json!({}), None)).unwrap();
    sim.create(pod("c", "p3", json!({}), None)).unwrap();
    sim.patch(
        "pods",
        Some("c"),
        "p1",
        &json!({"metadata": {"labels": {"changed": "yes"}}}),
    )
    .unwrap();

    let mut seen = names(&p1);
    let mut tok = Some(tok);
    let mut pages = 1;
    while let Some(t) = tok {
        let page = get(sim.addr(), &format!("/api/v1/pods?&limit=2&continue={t}")).await;
        assert_eq!(page.status, 200, "{}", page.text());
        let page = page.json();
        assert_eq!(
            page["metadata"]["resourceVersion"],
            rv.as_str(),
            "every page reports the snapshot RV"
        );
        for item in page["items"].as_array().unwrap() {
            if item["metadata"]["name"] == "p1" && item["metadata"]["namespace"] == "c" {
                assert!(
                    item["metadata"]["labels"].get("changed").is_none(),
                    "old version of c/p1"
                );
            }
        }
        seen.extend(names(&page));
        pages += 1;
        tok = page["metadata"]["continue"].as_str().map(str::to_string);
        if tok.is_none() {
            assert!(page["metadata"].get("remainingItemCount").is_none());
        } else {
            assert!(page["metadata"]["remainingItemCount"].as_u64().is_some());
        }
    }
    assert_eq!(pages, 4);
    assert_eq!(seen, ["a/p1", "a/p2", "a/p3", "b/p1", "b/p2", "c/p1", "c/p2"]);

    // A fresh list sees the new state.
    let fresh = get(sim.addr(), "/api/v1/pods").await.json();
    assert_eq!(
        names(&fresh),
        ["a/p0", "a/p1", "a/p2", "a/p3", "b/p2", "c/p1", "c/p2", "c/p3"]
    );
    assert_eq!(
        fresh["metadata"]["resourceVersion"],
        sim.resource_version().to_string().as_str()
    );
    assert!(fresh["metadata"].get("continue").is_none());

    // Namespaced paging.
    let n1 = get(sim.addr(), "/api/v1/namespaces/a/pods?limit=3").await.json();
    assert_eq!(names(&n1), ["a/p0", "a/p1", "a/p2"]);
    let t = n1["metadata"]["continue"].as_str().unwrap();
    assert!(token_json(t).contains(r#""start":"/p2\u0000""#));
    let n2 = get(sim.addr(), &format!("/api/v1/namespaces/a/pods?limit=3&continue={t}"))
        .await
        .json();
    assert_eq!(names(&n2), ["a/p3"]);
}

#[tokio::test]
async fn exact_list_rebuilds_old_state_and_410s_after_expiry() {
    let sim = Sim::start().await.unwrap();
    sim.create(pod("a", "one", json!({}), None)).unwrap();
    sim.create(pod("a", "two", json!({}), None)).unwrap();
    let r1 = sim.resource_version();
    sim.delete("pods", Some("a"), "one").unwrap();
    sim.create(pod("a", "three", json!({}), None)).unwrap();
    sim.patch("pods", Some("a"), "two", &json!({"metadata": {"labels": {"v": "2"}}}))
        .unwrap();

    let old = get(
        sim.addr(),
        &format!("/api/v1/pods?resourceVersion={r1}&resourceVersionMatch=Exact"),
    )
    .await;
    assert_eq!(old.status, 200);
    let old = old.json();
    assert_eq!(old["metadata"]["resourceVersion"], r1.to_string().as_str());
    assert_eq!(names(&old), ["a/one", "a/two"]);
    assert!(
        old["items"][1]["metadata"]
            .get("labels")
            .is_none_or(|l| l.get("v").is_none())
    );

    let not_older = get(
        sim.addr(),
        &format!("/api/v1/pods?resourceVersion={r1}&resourceVersionMatch=NotOlderThan"),
    )
    .await;
    assert_eq!(names(&not_older.json()), ["a/three", "a/two"]);

    let future = sim.resource_version() + 1000;
    let r = get(
        sim.addr(),
        &format!("/api/v1/pods?resourceVersion={future}&resourceVersionMatch=Exact"),
    )
    .await;
    assert_eq!(r.status, 504);
    assert_eq!(r.header("retry-after"), Some("1"));
    assert_eq!(r.json()["details"]["causes"][0]["reason"], "ResourceVersionTooLarge");

    sim.faults().expire_resource_versions();
    let gone = get(
        sim.addr(),
        &format!("/api/v1/pods?resourceVersion={r1}&resourceVersionMatch=Exact"),
    )
    .await;
    assert_eq!(gone.status, 410);
    assert_eq!(
        gone.text(),
        "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":\"The resourceVersion for the provided list is too old.\",\"reason\":\"Expired\",\"code\":410}\n"
    );

    let bad = get(sim.addr(), "/api/v1/pods?resourceVersionMatch=NotOlderThan").await;
    assert_eq!(bad.status, 422);
    assert_eq!(
        bad.json()["message"],
        "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided"
    );
}

#[tokio::test]
async fn watch_replays_then_streams_live_with_bookmarks_until_timeout() {
    let sim = sim_with(150, 1000).await;
    let list = get(sim.addr(), "/api/v1/namespaces/wire/pods").await.json();
    let from = list["metadata"]["resourceVersion"].as_str().unwrap().to_string();

    sim.create(pod("wire", "w1", json!({"app": "wire"}), None)).unwrap();
    sim.create(pod("elsewhere", "x", json!({}), None)).unwrap();
    sim.patch(
        "pods",
        Some("wire"),
        "w1",
        &json!({"status": {"phase": "Running", "podIP": "10.0.0.7"}}),
    )
    .unwrap();
    sim.patch(
        "pods",
        Some("wire"),
        "w1",
        &json!({"metadata": {"labels": {"stage": "two"}}}),
    )
    .unwrap();
    let deleted = sim.delete("pods", Some("wire"), "w1").unwrap();

    let mut w = open(
        sim.addr(),
        "GET",
        &format!(
            "/api/v1/namespaces/wire/pods?&watch=true&resourceVersion={from}&allowWatchBookmarks=true&timeoutSeconds=2"
        ),
        &[("Accept", "application/json"), ("Accept-Encoding", "identity")],
        None,
    )
    .await;
    assert_eq!(w.status, 200);
    assert_eq!(w.header("content-type"), Some("application/json"));
    assert_eq!(w.header("transfer-encoding"), Some("chunked"));

    let mut types = Vec::new();
    let mut last_rv = 0;
    for _ in 0..5 {
        let ev = w.next_json().await.unwrap();
        assert_eq!(ev["object"]["kind"], "Pod");
        assert_eq!(ev["object"]["apiVersion"], "v1");
        assert_eq!(ev["object"]["metadata"]["namespace"], "wire");
        let rv = rv_of(&ev["object"]);
        assert!(rv > last_rv);
        last_rv = rv;
        types.push(ev["type"].as_str().unwrap().to_string());
    }
    assert_eq!(types, ["ADDED", "MODIFIED", "MODIFIED", "MODIFIED", "DELETED"]);
    assert_eq!(last_rv, rv_of(&deleted));

    // Live.
    let created = sim.create(pod("wire", "w2", json!({}), None)).unwrap();
    let mut saw_live = false;
    let mut bookmark = None;
    while let Some(ev) = w.next_json().await {
        match ev["type"].as_str().unwrap() {
            "ADDED" => {
                assert_eq!(ev["object"]["metadata"]["name"], "w2");
                assert_eq!(rv_of(&ev["object"]), rv_of(&created));
                saw_live = true;
            }
            "BOOKMARK" => bookmark = Some(ev),
            other => panic!("unexpected {other}"),
        }
    }
    assert!(saw_live);
    let bookmark = bookmark.expect("a bookmark within 2 s at a 150 ms interval");
    assert_eq!(
        bookmark["object"],
        json!({"kind": "Pod", "apiVersion": "v1", "metadata": {"resourceVersion": sim.resource_version().to_string()}, "spec": {"containers": null}, "status": {}})
    );
}

#[tokio::test]
async fn watch_initial_events_forms() {
    let sim = sim_with(60_000, 1000).await;
    sim.create(pod("wire", "wl1", json!({}), None)).unwrap();
    sim.create(pod("wire", "wl2", json!({}), None)).unwrap();
    sim.create(pod("other", "o", json!({}), None)).unwrap();
    let rv = sim.resource_version().to_string();

    let (resp, lines) = watch_all(
        sim.addr(),
        "/api/v1/namespaces/wire/pods?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1",
    )
    .await;
    assert_eq!(resp.status, 200);
    let types: Vec<&str> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["ADDED", "ADDED", "BOOKMARK"]);
    assert_eq!(
        lines[2]["object"],
        json!({"kind": "Pod", "apiVersion": "v1", "metadata": {"resourceVersion": rv, "annotations": {"k8s.io/initial-events-end": "true"}}, "spec": {"containers": null}, "status": {}})
    );

    let (_, lines) = watch_all(
        sim.addr(),
        "/api/v1/namespaces/wire/pods?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&timeoutSeconds=1",
    )
    .await;
    assert_eq!(
        lines.iter().map(|l| l["type"].as_str().unwrap()).collect::<Vec<_>>(),
        ["ADDED", "ADDED"]
    );

    let r = get(
        sim.addr(),
        "/api/v1/namespaces/wire/pods?watch=1&sendInitialEvents=true&timeoutSeconds=1",
    )
    .await;
    assert_eq!(r.status, 422);
    assert_eq!(
        r.json()["details"]["causes"][0]["message"],
        "Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"
    );

    // No resourceVersion: synthetic ADDED for what exists, then live; no initial-events-end bookmark.
    let (_, lines) = watch_all(
        sim.addr(),
        "/api/v1/pods?watch=true&timeoutSeconds=1&allowWatchBookmarks=true",
    )
    .await;
    let got: Vec<String> = lines
        .iter()
        .map(|l| {
            format!(
                "{} {}",
                l["type"].as_str().unwrap(),
                l["object"]["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(got, ["ADDED o", "ADDED wl1", "ADDED wl2"]);

    // resourceVersion=0 is the same.
    let (_, lines) = watch_all(
        sim.addr(),
        "/api/v1/namespaces/other/pods?watch=true&resourceVersion=0&timeoutSeconds=1",
    )
    .await;
    assert_eq!(lines.len(), 1);
}

#[tokio::test]
async fn watch_from_compacted_rv_gets_in_stream_410_and_open_watches_end_with_it() {
    let sim = Sim::start().await.unwrap();
    sim.create(pod("a", "one", json!({}), None)).unwrap();
    let old = sim.resource_version();

    let mut open_watch = open(
        sim.addr(),
        "GET",
        &format!("/api/v1/pods?watch=true&resourceVersion={old}"),
        &[],
        None,
    )
    .await;
    assert_eq!(open_watch.status, 200);
    sim.faults().expire_resource_versions();
    let ev = open_watch.next_json().await.unwrap();
    assert_eq!(ev["type"], "ERROR");
    assert_eq!(ev["object"]["code"], 410);
    assert!(open_watch.next_json().await.is_none(), "stream ends after the ERROR");

    let (resp, lines) = watch_all(
        sim.addr(),
        &format!("/api/v1/pods?watch=1&resourceVersion={old}&allowWatchBookmarks=true&timeoutSeconds=5"),
    )
    .await;
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.text(),
        "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":\"The resourceVersion for the provided watch is too old.\",\"reason\":\"Expired\",\"code\":410}}\n"
    );
    assert_eq!(lines.len(), 1);

    // A relist gives a resourceVersion that can be watched from.
    let list = get(sim.addr(), "/api/v1/pods").await.json();
    let rv = list["metadata"]["resourceVersion"].as_str().unwrap();
    let mut w = open(
        sim.addr(),
        "GET",
        &format!("/api/v1/pods?watch=true&resourceVersion={rv}&timeoutSeconds=5"),
        &[],
        None,
    )
    .await;
    sim.create(pod("a", "two", json!({}), None)).unwrap();
    let ev = w.next_json().await.unwrap();
    assert_eq!(ev["type"], "ADDED");
    assert_eq!(ev["object"]["metadata"]["name"], "two");
}

#[tokio::test]
async fn continue_token_410_after_expiry_offers_inconsistent_continuation() {
    let sim = Sim::start().await.unwrap();
    for n in ["a", "b", "c", "d"] {
        sim.create(pod("ns", n, json!({}), None)).unwrap();
    }
    let p1 = get(sim.addr(), "/api/v1/namespaces/ns/pods?limit=1").await.json();
    let tok = p1["metadata"]["continue"].as_str().unwrap().to_string();
    sim.faults().expire_resource_versions();
    let r = get(
        sim.addr(),
        &format!("/api/v1/namespaces/ns/pods?limit=1&continue={tok}"),
    )
    .await;
    assert_eq!(r.status, 410);
    let body = r.json();
    let keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 7);
    assert_eq!(body["reason"], "Expired");
    let new_tok = body["metadata"]["continue"].as_str().unwrap();
    assert_eq!(
        token_json(new_tok),
        r#"{"v":"meta.k8s.io/v1","rv":-1,"start":"/a\u0000"}"#
    );
    let rest = get(sim.addr(), &format!("/api/v1/namespaces/ns/pods?continue={new_tok}")).await;
    assert_eq!(rest.status, 200);
    assert_eq!(names(&rest.json()), ["ns/b", "ns/c", "ns/d"]);
}

#[tokio::test]
async fn event_log_overflow_compacts() {
    let sim = sim_with(60_000, 3).await;
    let start = sim.resource_version();
    for n in ["a", "b", "c", "d", "e"] {
        sim.create(pod("ns", n, json!({}), None)).unwrap();
    }
    let (_, lines) = watch_all(
        sim.addr(),
        &format!("/api/v1/pods?watch=1&resourceVersion={start}&timeoutSeconds=1"),
    )
    .await;
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["object"]["code"], 410);
    let recent = sim.resource_version() - 2;
    let (_, lines) = watch_all(
        sim.addr(),
        &format!("/api/v1/pods?watch=1&resourceVersion={recent}&timeoutSeconds=1"),
    )
    .await;
    let got: Vec<&str> = lines
        .iter()
        .map(|l| l["object"]["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(got, ["d", "e"]);
}

/// A watch cache per kind, as on a real server: another kind's events falling out of the window
/// leave a pods watch resumable from before them; only dropped pod events expire it.
#[tokio::test]
async fn one_kind_leaving_the_window_does_not_expire_another_kinds_watch() {
    let sim = sim_with(60_000, 3).await;
    sim.create(pod("ns", "a", json!({}), None)).unwrap();
    let start = sim.resource_version();
    for n in ["c1", "c2", "c3", "c4", "c5"] {
        sim.create(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": n, "namespace": "ns"}}))
            .unwrap();
    }
    sim.create(pod("ns", "b", json!({}), None)).unwrap();
    let pods_from_start = format!("/api/v1/pods?watch=1&resourceVersion={start}&timeoutSeconds=1");
    let (_, lines) = watch_all(sim.addr(), &pods_from_start).await;
    let got: Vec<&str> = lines
        .iter()
        .map(|l| l["object"]["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(got, ["b"], "the pods watch lost nothing: {lines:?}");
    for n in ["d", "e", "f"] {
        sim.create(pod("ns", n, json!({}), None)).unwrap();
    }
    let (_, lines) = watch_all(sim.addr(), &pods_from_start).await;
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["object"]["code"], 410, "pod b's event is gone: {lines:?}");
}

#[tokio::test]
async fn drop_watches_ends_streams_cleanly() {
    let sim = Sim::start().await.unwrap();
    let mut w = open(
        sim.addr(),
        "GET",
        "/api/v1/pods?watch=true&resourceVersion=1",
        &[],
        None,
    )
    .await;
    let mut d = open(
        sim.addr(),
        "GET",
        "/apis/apps/v1/deployments?watch=true&resourceVersion=1",
        &[],
        None,
    )
    .await;
    sim.create(pod("a", "x", json!({}), None)).unwrap();
    assert_eq!(w.next_json().await.unwrap()["type"], "ADDED");
    sim.faults().drop_watches();
    assert!(w.next_json().await.is_none());
    assert!(d.next_json().await.is_none());
    // New watches work.
    let rv = sim.resource_version();
    let mut w = open(
        sim.addr(),
        "GET",
        &format!("/api/v1/pods?watch=true&resourceVersion={rv}"),
        &[],
        None,
    )
    .await;
    sim.create(pod("a", "y", json!({}), None)).unwrap();
    assert_eq!(w.next_json().await.unwrap()["object"]["metadata"]["name"], "y");
}

#[tokio::test]
async fn fail_next_forbid_stall_and_request_counts() {
    let sim = Sim::start().await.unwrap();
    sim.faults().fail_next("pods", 2, 500);
    for _ in 0..2 {
        let r = get(sim.addr(), "/api/v1/pods").await;
        assert_eq!(r.status, 500);
        let b = r.json();
        assert_eq!(b["reason"], "InternalError");
        assert_eq!(b["code"], 500);
    }
    assert_eq!(get(sim.addr(), "/api/v1/pods").await.status, 200);
    assert_eq!(sim.faults().requests("pods"), 3);

    sim.faults().fail_next("deployments", 1, 503);
    let r = get(sim.addr(), "/apis/apps/v1/deployments?watch=1").await;
    assert_eq!(r.status, 503);
    assert_eq!(r.json()["reason"], "ServiceUnavailable");

    sim.faults().forbid("nodes", true);
    let r = get(sim.addr(), "/api/v1/nodes").await;
    assert_eq!(r.status, 403);
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(
        r.text(),
        "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":\"nodes is forbidden: User \\\"sim\\\" cannot list resource \\\"nodes\\\" in API group \\\"\\\" at the cluster scope\",\"reason\":\"Forbidden\",\"details\":{\"kind\":\"nodes\"},\"code\":403}\n"
    );
    sim.faults().forbid("daemonsets", true);
    let r = get(
        sim.addr(),
        "/apis/apps/v1/daemonsets?watch=1&allowWatchBookmarks=true&timeoutSeconds=5",
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.json()["message"],
        "daemonsets.apps is forbidden: User \"sim\" cannot watch resource \"daemonsets\" in API group \"apps\" at the cluster scope"
    );
    assert_eq!(r.json()["details"], json!({"group": "apps", "kind": "daemonsets"}));
    sim.faults().forbid("pods", true);
    let r = get(sim.addr(), "/api/v1/namespaces/shop/pods").await;
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .ends_with("in the namespace \"shop\"")
    );
    sim.faults().forbid("nodes", false);
    assert_eq!(get(sim.addr(), "/api/v1/nodes").await.status, 200);

    sim.faults().stall("namespaces", Duration::from_millis(300));
    let t = Instant::now();
    assert_eq!(get(sim.addr(), "/api/v1/namespaces").await.status, 200);
    assert!(t.elapsed() >= Duration::from_millis(300));
    sim.faults().stall("namespaces", Duration::ZERO);
    assert_eq!(sim.faults().requests("namespaces"), 1);
    assert_eq!(sim.faults().requests("no-such-thing"), 0);
}

#[tokio::test]
async fn malformed_event_has_valid_metadata_but_breaks_typed_decoding() {
    let sim = Sim::start().await.unwrap();
    let rv = sim.resource_version();
    let mut w = open(
        sim.addr(),
        "GET",
        &format!("/api/v1/pods?watch=true&resourceVersion={rv}"),
        &[],
        None,
    )
    .await;
    sim.faults().malformed_next_event("pods");
    sim.create(pod("a", "bad", json!({}), None)).unwrap();
    sim.create(pod("a", "good", json!({}), None)).unwrap();

    let bad = w.next_json().await.unwrap();
    let obj = &bad["object"];
    assert_eq!(obj["metadata"]["name"], "bad");
    assert_eq!(obj["metadata"]["namespace"], "a");
    assert!(obj["metadata"]["uid"].as_str().is_some_and(|u| !u.is_empty()));
    assert!(obj["metadata"]["resourceVersion"].as_str().is_some());
    assert!(serde_json::from_value::<k8s_openapi::api::core::v1::Pod>(obj.clone()).is_err());

    let good = w.next_json().await.unwrap();
    assert!(serde_json::from_value::<k8s_openapi::api::core::v1::Pod>(good["object"].clone()).is_ok());
    // The stored object is intact.
    let got = sim.get("pods", Some("a"), "bad").unwrap();
    assert!(serde_json::from_value::<k8s_openapi::api::core::v1::Pod>(got).is_ok());
}

#[tokio::test]
async fn label_and_field_selectors_on_list_and_watch() {
    let sim = Sim::start().await.unwrap();
    sim.create(pod("a", "web-1", json!({"app": "web", "tier": "front"}), Some("n1")))
        .unwrap();
    sim.create(pod("a", "web-2", json!({"app": "web", "tier": "back"}), Some("n2")))
        .unwrap();
    sim.create(pod("b", "db-1", json!({"app": "db"}), Some("n1"))).unwrap();
    sim.create(pod("b", "bare", json!({}), None)).unwrap();
    let q = |query: &str| {
        let addr = sim.addr();
        let query = enc_query(query);
        async move { names(&get(addr, &format!("/api/v1/pods?{query}")).await.json()) }
    };
    assert_eq!(q("labelSelector=app=web").await, ["a/web-1", "a/web-2"]);
    assert_eq!(q("labelSelector=app==web,tier!=front").await, ["a/web-2"]);
    assert_eq!(
        q("labelSelector=app in (db,web),tier notin (back)").await,
        ["a/web-1", "b/db-1"]
    );
    assert_eq!(q("labelSelector=!app").await, ["b/bare"]);
    assert_eq!(q("labelSelector=tier").await, ["a/web-1", "a/web-2"]);
    assert_eq!(q("fieldSelector=spec.nodeName=n1").await, ["a/web-1", "b/db-1"]);
    assert_eq!(q("fieldSelector=spec.nodeName=").await, ["b/bare"]);
    assert_eq!(
        q("fieldSelector=metadata.namespace=b,metadata.name!=bare").await,
        ["b/db-1"]
    );
    assert_eq!(
        q("fieldSelector=status.phase=Pending&labelSelector=app=db").await,
        ["b/db-1"]
    );
    let r = get(sim.addr(), "/api/v1/pods?fieldSelector=spec.bogus%3Dx").await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["message"], "field label not supported: spec.bogus");
    assert_eq!(
        get(sim.addr(), "/api/v1/pods?labelSelector=app%20in%20web")
            .await
            .status,
        400
    );

    // Paging with a selector: no remainingItemCount.
    let p = get(sim.addr(), "/api/v1/pods?labelSelector=app&limit=1").await.json();
    assert!(p["metadata"]["continue"].is_string());
    assert!(p["metadata"].get("remainingItemCount").is_none());

    // Watch: leaving the selection is a DELETED, entering it an ADDED.
    let rv = sim.resource_version();
    let mut w = open(
        sim.addr(),
        "GET",
        &format!("/api/v1/pods?watch=1&labelSelector=app%3Dweb&resourceVersion={rv}"),
        &[],
        None,
    )
    .await;
    sim.patch(
        "pods",
        Some("a"),
        "web-2",
        &json!({"metadata": {"labels": {"app": "api"}}}),
    )
    .unwrap();
    sim.patch(
        "pods",
        Some("b"),
        "bare",
        &json!({"metadata": {"labels": {"app": "web"}}}),
    )
    .unwrap();
    sim.patch("pods", Some("b"), "db-1", &json!({"metadata": {"labels": {"x": "y"}}}))
        .unwrap();
    sim.patch("pods", Some("a"), "web-1", &json!({"status": {"phase": "Running"}}))
        .unwrap();
    let mut got = Vec::new();
    for _ in 0..3 {
        let ev = w.next_json().await.unwrap();
        got.push(format!(
            "{} {}",
            ev["type"].as_str().unwrap(),
            ev["object"]["metadata"]["name"].as_str().unwrap()
        ));
        if ev["type"] == "DELETED" {
            assert_eq!(ev["object"]["metadata"]["labels"]["app"], "web", "previous content");
        }
    }
    assert_eq!(got, ["DELETED web-2", "ADDED bare", "MODIFIED web-1"]);
}

#[tokio::test]
async fn rust_api_semantics() {
    let sim = Sim::start().await.unwrap();
    let created = sim
        .create(json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"}, "spec": {"replicas": 1}}))
        .unwrap();
    assert_eq!(created["metadata"]["generation"], 1);
    assert_eq!(created["kind"], "Deployment");
    let uid = created["metadata"]["uid"].as_str().unwrap().to_string();
    assert_eq!(uid.len(), 36);
    let ts = created["metadata"]["creationTimestamp"].as_str().unwrap();
    assert!(ts.ends_with('Z') && ts.len() == 20, "{ts}");

    let kept = sim
        .create(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop", "uid": "u-1", "creationTimestamp": "2026-01-01T00:00:00Z"}}))
        .unwrap();
    assert_eq!(kept["metadata"]["uid"], "u-1");
    assert_eq!(kept["metadata"]["creationTimestamp"], "2026-01-01T00:00:00Z");
    assert!(kept["metadata"].get("generation").is_none());
    assert!(
        matches!(sim.create(kept.clone()), Err(SimError::AlreadyExists(m)) if m == "namespaces \"shop\" already exists")
    );
    assert!(matches!(
        sim.create(json!({"apiVersion": "v9", "kind": "Widget", "metadata": {"name": "w"}})),
        Err(SimError::UnknownResource(_))
    ));
    assert!(matches!(
        sim.create(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {}})),
        Err(SimError::Invalid(_))
    ));
    let defaulted = sim
        .create(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"generateName": "job-"}}))
        .unwrap();
    assert_eq!(defaulted["metadata"]["namespace"], "default");
    assert!(defaulted["metadata"]["name"].as_str().unwrap().starts_with("job-"));

    // Status change: no generation bump; spec change: bump.
    let mut d = sim.get("deployments", Some("shop"), "web").unwrap();
    d["status"] = json!({"replicas": 1});
    let d2 = sim.replace(d.clone()).unwrap();
    assert_eq!(d2["metadata"]["generation"], 1);
    assert_eq!(d2["metadata"]["uid"], uid.as_str());
    let rv2 = rv_of(&d2);
    // A no-op replace changes nothing.
    let d3 = sim.replace(d2.clone()).unwrap();
    assert_eq!(rv_of(&d3), rv2);
    let d4 = sim
        .patch("deployments", Some("shop"), "web", &json!({"spec": {"replicas": 3}}))
        .unwrap();
    assert_eq!(d4["metadata"]["generation"], 2);
    assert_eq!(d4["status"]["replicas"], 1);
    assert!(rv_of(&d4) > rv2);
    assert!(matches!(
        sim.patch("deployments", Some("shop"), "nope", &json!({})),
        Err(SimError::NotFound(_))
    ));

    // Delete: the final object with a new resourceVersion.
    let before = sim.resource_version();
    let gone = sim.delete("deployments", Some("shop"), "web").unwrap();
    assert_eq!(rv_of(&gone), before + 1);
    assert!(sim.get("deployments", Some("shop"), "web").is_none());
    assert!(matches!(
        sim.delete("deployments", Some("shop"), "web"),
        Err(SimError::NotFound(_))
    ));

    // Finalizers hold the object until removed.
    sim.create(json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j", "namespace": "b", "finalizers": ["x/y"]}})).unwrap();
    let marked = sim.delete("jobs", Some("b"), "j").unwrap();
    assert!(marked["metadata"]["deletionTimestamp"].is_string());
    assert!(sim.get("jobs", Some("b"), "j").is_some());
    sim.patch("jobs", Some("b"), "j", &json!({"metadata": {"finalizers": null}}))
        .unwrap();
    assert!(sim.get("jobs", Some("b"), "j").is_none());

    // list(): sorted by namespace/name.
    sim.create(pod("z", "a", json!({}), None)).unwrap();
    sim.create(pod("a", "z", json!({}), None)).unwrap();
    let l: Vec<String> = sim
        .list("pods")
        .iter()
        .map(|p| {
            format!(
                "{}/{}",
                p["metadata"]["namespace"].as_str().unwrap(),
                p["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(l[0], "a/z");
    assert_eq!(l.last().unwrap(), "z/a");
    assert!(sim.list("pods").iter().all(|p| p["kind"] == "Pod"));
    assert!(sim.list("widgets").is_empty());
}

#[tokio::test]
async fn http_writes_and_errors() {
    let sim = Sim::start().await.unwrap();
    let addr = sim.addr();
    let json_ct = [("Content-Type", "application/json"), ("Accept", "application/json")];
    let r = request(
        addr,
        "POST",
        "/api/v1/namespaces",
        &json_ct,
        Some(br#"{"metadata":{"name":"shop"}}"#),
    )
    .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.json()["kind"], "Namespace");
    let r = request(
        addr,
        "POST",
        "/api/v1/namespaces",
        &json_ct,
        Some(br#"{"metadata":{"name":"shop"}}"#),
    )
    .await;
    assert_eq!(r.status, 409);
    assert_eq!(r.json()["details"], json!({"name": "shop", "kind": "namespaces"}));
    let r = request(
        addr,
        "POST",
        "/api/v1/namespaces/shop/pods",
        &json_ct,
        Some(br#"{"metadata":{},"spec":{"containers":[{"name":"c","image":"i"}]}}"#),
    )
    .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.json()["details"]["causes"][0]["field"], "metadata.name");

    let body = serde_json::to_vec(&pod("shop", "p", json!({"a": "1"}), None)).unwrap();
    let r = request(addr, "POST", "/api/v1/namespaces/shop/pods", &json_ct, Some(&body)).await;
    assert_eq!(r.status, 201);
    let created = r.json();
    let text = r.text();
    assert!(
        text.starts_with(r#"{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p","namespace":"shop","uid":""#),
        "{text}"
    );

    let merge = [("Content-Type", "application/merge-patch+json")];
    let r = request(
        addr,
        "PATCH",
        "/api/v1/namespaces/shop/pods/p",
        &merge,
        Some(br#"{"metadata":{"labels":{"b":"2"}},"status":{"phase":"Running"}}"#),
    )
    .await;
    assert_eq!(r.status, 200);
    let patched = r.json();
    assert_eq!(patched["metadata"]["labels"], json!({"a": "1", "b": "2"}));
    assert_eq!(
        patched["status"]["phase"], "Pending",
        "status is only written through /status"
    );
    let r = request(
        addr,
        "PATCH",
        "/api/v1/namespaces/shop/pods/p/status",
        &merge,
        Some(br#"{"status":{"phase":"Running"}}"#),
    )
    .await;
    assert_eq!(r.json()["status"]["phase"], "Running");
    let r = request(
        addr,
        "PATCH",
        "/api/v1/namespaces/shop/pods/p",
        &[("Content-Type", "application/json-patch+json")],
        Some(b"[]"),
    )
    .await;
    assert_eq!(r.status, 415);

    // PUT with a stale resourceVersion conflicts.
    let r = request(
        addr,
        "PUT",
        "/api/v1/namespaces/shop/pods/p",
        &json_ct,
        Some(&serde_json::to_vec(&created).unwrap()),
    )
    .await;
    assert_eq!(r.status, 409);
    assert_eq!(r.json()["reason"], "Conflict");
    let mut cur = get(addr, "/api/v1/namespaces/shop/pods/p").await.json();
    cur["metadata"]["annotations"] = json!({"k": "v"});
    let r = request(
        addr,
        "PUT",
        "/api/v1/namespaces/shop/pods/p",
        &json_ct,
        Some(&serde_json::to_vec(&cur).unwrap()),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["metadata"]["annotations"]["k"], "v");

    let r = request(addr, "DELETE", "/api/v1/namespaces/shop/pods/p", &[], None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["kind"], "Pod");
    assert!(r.json()["metadata"]["deletionTimestamp"].is_string());
    let r = get(addr, "/api/v1/namespaces/shop/pods/p").await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.text(),
        "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":\"pods \\\"p\\\" not found\",\"reason\":\"NotFound\",\"details\":{\"name\":\"p\",\"kind\":\"pods\"},\"code\":404}\n"
    );
    let r = request(addr, "DELETE", "/api/v1/namespaces/shop", &[], None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"], "Success");

    let r = get(addr, "/apis/example.com/v1/widgets").await;
    assert_eq!(
        (r.status, r.header("content-type"), r.text().as_str()),
        (404, Some("text/plain; charset=utf-8"), "404 page not found\n")
    );
    let r = get(addr, "/api/v1/widgets").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["message"], "the server could not find the requested resource");

    // YAML bodies (curl convenience).
    let yaml = b"apiVersion: v1\nkind: Node\nmetadata:\n  name: n1\n";
    let r = request(
        addr,
        "POST",
        "/api/v1/nodes",
        &[("Content-Type", "application/yaml")],
        Some(yaml),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
}

#[tokio::test]
async fn discovery_documents() {
    let sim = Sim::start().await.unwrap();
    let v = get(sim.addr(), "/version").await;
    assert_eq!(v.json()["gitVersion"], "v1.36.2");
    assert!(v.text().starts_with("{\n  \"major\": \"1\""));
    let api = get(sim.addr(), "/api").await.json();
    assert_eq!(api["versions"], json!(["v1"]));
    assert_eq!(
        api["serverAddressByClientCIDRs"][0]["serverAddress"],
        sim.addr().to_string().as_str()
    );
    let apis = get(sim.addr(), "/apis").await.json();
    let groups: Vec<&str> = apis["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    // Every group of the kind table, in the order a real v1.36 server lists them (apis.http).
    let mut expected: Vec<&str> = crate::kinds::table()
        .iter()
        .map(|e| e.group)
        .chain([super::crd::GROUP, crate::usage::poll::GROUP])
        .filter(|g| !g.is_empty())
        .collect();
    expected.sort_by_key(|g| (super::registry::GROUP_ORDER.iter().position(|x| x == g), *g));
    expected.dedup();
    assert_eq!(groups, expected);
    assert!(groups.starts_with(&["apiregistration.k8s.io", "apps"]), "{groups:?}");
    let autoscaling = apis["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "autoscaling")
        .unwrap();
    assert_eq!(autoscaling["preferredVersion"]["groupVersion"], "autoscaling/v2");
    let core = get(sim.addr(), "/api/v1").await.json();
    assert_eq!(core["groupVersion"], "v1");
    assert!(core.get("apiVersion").is_none());
    let pods = core["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "pods")
        .unwrap();
    assert_eq!(pods["kind"], "Pod");
    assert_eq!(pods["namespaced"], true);
    assert!(pods["verbs"].as_array().unwrap().contains(&json!("watch")));
    let apps = get(sim.addr(), "/apis/apps/v1").await.json();
    assert_eq!(apps["apiVersion"], "v1");
    assert_eq!(apps["groupVersion"], "apps/v1");
    assert_eq!(get(sim.addr(), "/apis/apps").await.json()["kind"], "APIGroup");
    assert_eq!(get(sim.addr(), "/apis/apps/v2").await.status, 404);
}

#[tokio::test]
async fn metadata_only_lists_and_watches() {
    let sim = Sim::start().await.unwrap();
    sim.create(pod("a", "p", json!({"x": "y"}), None)).unwrap();
    let accept = [(
        "Accept",
        "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1",
    )];
    let r = request(sim.addr(), "GET", "/api/v1/pods", &accept, None).await.json();
    assert_eq!(r["kind"], "PartialObjectMetadataList");
    assert_eq!(r["items"][0]["kind"], "PartialObjectMetadata");
    assert_eq!(r["items"][0]["metadata"]["labels"]["x"], "y");
    assert!(r["items"][0].get("spec").is_none());
    let accept = [("Accept", "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1")];
    let r = request(
        sim.addr(),
        "GET",
        "/api/v1/pods?watch=1&timeoutSeconds=1",
        &accept,
        None,
    )
    .await;
    let ev = &r.lines()[0];
    assert_eq!(ev["object"]["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(ev["object"]["metadata"]["name"], "p");
}

#[tokio::test]
async fn kubeconfig_points_at_the_sim() {
    let sim = Sim::start().await.unwrap();
    let kc = kube::config::Kubeconfig::from_yaml(&sim.kubeconfig_yaml()).unwrap();
    let cfg = kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
        .await
        .unwrap();
    assert_eq!(cfg.cluster_url.to_string().trim_end_matches('/'), sim.url());
    assert_eq!(cfg.default_namespace, "default");
    let r = tokio::time::timeout(GUARD, sim.shutdown()).await;
    assert!(r.is_ok());
}

#[tokio::test]
async fn large_list_streams_and_pages() {
    let sim = Sim::start().await.unwrap();
    for i in 0..2000 {
        sim.create(pod(
            &format!("ns-{}", i % 7),
            &format!("pod-{i:05}"),
            json!({"i": i.to_string()}),
            None,
        ))
        .unwrap();
    }
    let all = get(sim.addr(), "/api/v1/pods").await;
    assert!(all.chunked());
    assert_eq!(all.json()["items"].as_array().unwrap().len(), 2000);
    let mut n = 0;
    let mut tok: Option<String> = None;
    loop {
        let q = match &tok {
            Some(t) => format!("/api/v1/pods?&limit=500&continue={t}"),
            None => "/api/v1/pods?&limit=500".to_string(),
        };
        let p = get(sim.addr(), &q).await.json();
        n += p["items"].as_array().unwrap().len();
        tok = p["metadata"]["continue"].as_str().map(str::to_string);
        if tok.is_none() {
            break;
        }
    }
    assert_eq!(n, 2000);
}

#[tokio::test]
async fn bad_requests_get_errors_and_the_server_keeps_serving() {
    let sim = Sim::start().await.unwrap();
    sim.create(pod("a", "p", json!({}), None)).unwrap();
    let addr = sim.addr();
    let cases: &[(&str, &str, Option<&[u8]>, u16)] = &[
        ("GET", "/api/v1/pods?limit=abc", None, 400),
        ("GET", "/api/v1/pods?limit=-5", None, 200),
        ("GET", "/api/v1/pods?continue=%%%zz", None, 400),
        ("GET", "/api/v1/pods?continue=bm90IGpzb24", None, 400),
        ("GET", "/api/v1/pods?resourceVersion=abc", None, 400),
        (
            "GET",
            "/api/v1/pods?resourceVersion=1&resourceVersionMatch=Sometimes",
            None,
            422,
        ),
        (
            "GET",
            "/api/v1/pods?resourceVersion=0&resourceVersionMatch=Exact",
            None,
            422,
        ),
        ("GET", "/api/v1/pods?watch=1&resourceVersion=abc", None, 400),
        ("GET", "/api/v1/pods?watch=1&timeoutSeconds=x", None, 400),
        (
            "GET",
            "/api/v1/pods?watch=1&resourceVersionMatch=NotOlderThan",
            None,
            422,
        ),
        ("GET", "/api/v1/pods?sendInitialEvents=true", None, 422),
        ("GET", "/api/v1/pods?labelSelector=%C3%BC%3D%3D", None, 400),
        ("GET", "/api/v1/namespaces/a/nodes", None, 404),
        ("GET", "/api/v1/pods/p", None, 404),
        ("GET", "/api/v1/namespaces/a/pods/p/log", None, 404),
        ("GET", "/apis/apps/v1/namespaces/a/deployments/x/scale/extra", None, 404),
        ("GET", "/nonsense", None, 404),
        ("POST", "/api/v1/pods", Some(b"{}"), 405),
        ("POST", "/api/v1/namespaces/a/pods", Some(b"not json"), 400),
        ("POST", "/api/v1/namespaces/a/pods", Some(b"[1,2]"), 400),
        (
            "POST",
            "/api/v1/namespaces/a/pods",
            Some(br#"{"metadata":{"name":"x","namespace":"b"}}"#),
            400,
        ),
        (
            "POST",
            "/api/v1/namespaces/a/pods",
            Some(br#"{"apiVersion":"apps/v1","kind":"Pod","metadata":{"name":"x"}}"#),
            400,
        ),
        ("POST", "/api/v1/namespaces/a/pods", None, 400),
        (
            "PUT",
            "/api/v1/namespaces/a/pods/nope",
            Some(br#"{"metadata":{"name":"nope"}}"#),
            404,
        ),
        (
            "PUT",
            "/api/v1/namespaces/a/pods/p",
            Some(br#"{"metadata":{"name":"other"}}"#),
            400,
        ),
        ("PATCH", "/api/v1/namespaces/a/pods/p", Some(b"{"), 415),
        ("DELETE", "/api/v1/namespaces/a/pods", None, 405),
        ("OPTIONS", "/api/v1/pods", None, 405),
    ];
    for (method, target, body, want) in cases {
        let r = request(addr, method, target, &[("Content-Type", "application/json")], *body).await;
        assert_eq!(r.status, *want, "{method} {target}: {}", r.text());
        if r.header("content-type") == Some("application/json") {
            let _ = r.json();
        }
    }
    let r = request(
        addr,
        "PATCH",
        "/api/v1/namespaces/a/pods/p",
        &[("Content-Type", "application/merge-patch+json")],
        Some(b"{"),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(get(addr, "/api/v1/pods").await.status, 200);
    // Dropping the sim with an open watch ends it.
    let mut w = open(addr, "GET", "/api/v1/pods?watch=1&resourceVersion=1", &[], None).await;
    assert_eq!(w.next_json().await.unwrap()["type"], "ADDED");
    drop(sim);
    assert!(tokio::time::timeout(GUARD, w.next_line()).await.unwrap().is_none());
}

#[test]
fn public_types_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Sim>();
    check::<super::Faults>();
    check::<SimError>();
    check::<SimConfig>();
}

/// The captured v1.36 object of every kind (item 1 of its fixture) goes in without its
/// server-set fields and comes back with the same fields a real server set: `generation` exactly
/// where the capture has one, uid, resourceVersion, creationTimestamp; a GET by its URL returns
/// it with kind and apiVersion.
#[tokio::test]
async fn every_kind_stores_captured_objects_with_server_set_fields() {
    let sim = Sim::start().await.unwrap();
    for entry in crate::kinds::table() {
        let path = format!(
            "{}/tests/fixtures/objects/{}.json",
            env!("CARGO_MANIFEST_DIR"),
            entry.resource
        );
        let list: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let captured = list["items"][0].clone();
        let mut input = captured.clone();
        let meta = input["metadata"].as_object_mut().unwrap();
        for server_set in ["uid", "resourceVersion", "creationTimestamp", "generation"] {
            meta.remove(server_set);
        }
        let stored = sim.create(input).unwrap();
        let keys = |v: &Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
        assert_eq!(
            keys(&stored["metadata"]),
            keys(&captured["metadata"]),
            "{}: metadata fields",
            entry.resource
        );
        assert_eq!(keys(&stored), keys(&captured), "{}: top-level fields", entry.resource);
        let name = captured["metadata"]["name"].as_str().unwrap();
        let url = match captured["metadata"]["namespace"].as_str() {
            Some(ns) => entry.list_path().replacen(
                &format!("/{}", entry.resource),
                &format!("/namespaces/{ns}/{}", entry.resource),
                1,
            ),
            None => entry.list_path(),
        };
        let got = get(sim.addr(), &format!("{url}/{name}")).await;
        assert_eq!(got.status, 200, "{}: GET {url}/{name}", entry.resource);
        assert_eq!(got.json()["kind"], entry.kind);
        assert_eq!(got.json()["apiVersion"], entry.api_version);
    }
    sim.shutdown().await;
}
