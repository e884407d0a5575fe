//! kube-rs itself against the sim: the watcher state machine (paged list, watch, relist after 410,
//! re-watch after a dropped stream, streaming lists) and typed API calls.

use super::testclient::GUARD;
use super::tests::pod;
use super::{Sim, SimConfig};
use futures::StreamExt;
use futures::stream::BoxStream;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client, ResourceExt};
use serde_json::json;
use std::time::Duration;

async fn sim() -> Sim {
    Sim::start_with(
        "127.0.0.1:0".parse().unwrap(),
        SimConfig {
            bookmark_interval: Duration::from_millis(200),
            event_log_capacity: 10_000,
            ..SimConfig::default()
        },
    )
    .await
    .unwrap()
}

fn client(sim: &Sim) -> Client {
    Client::try_from(kube::Config::new(sim.url().parse().unwrap())).unwrap()
}

fn describe(ev: &Result<Event<Pod>, watcher::Error>) -> String {
    let id = |p: &Pod| format!("{}/{}", p.namespace().unwrap_or_default(), p.name_any());
    match ev {
        Ok(Event::Init) => "Init".into(),
        Ok(Event::InitApply(p)) => format!("InitApply {}", id(p)),
        Ok(Event::InitDone) => "InitDone".into(),
        Ok(Event::Apply(p)) => format!("Apply {}", id(p)),
        Ok(Event::Delete(p)) => format!("Delete {}", id(p)),
        Err(_) => "Err".into(),
    }
}

async fn next(stream: &mut BoxStream<'static, Result<Event<Pod>, watcher::Error>>) -> String {
    let ev = tokio::time::timeout(GUARD, stream.next())
        .await
        .expect("watcher event within the guard")
        .expect("stream goes on");
    describe(&ev)
}

async fn take(stream: &mut BoxStream<'static, Result<Event<Pod>, watcher::Error>>, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(next(stream).await);
    }
    out
}

#[tokio::test]
async fn kube_watcher_pages_watches_and_relists_after_expiry() {
    let sim = sim().await;
    for (ns, name) in [("a", "p1"), ("a", "p2"), ("b", "p1"), ("c", "p1"), ("c", "p2")] {
        sim.create(pod(ns, name, json!({}), None)).unwrap();
    }
    let api = Api::<Pod>::all(client(&sim));
    let mut stream = watcher::watcher(api, watcher::Config::default().page_size(2)).boxed();
    let init = [
        "Init",
        "InitApply a/p1",
        "InitApply a/p2",
        "InitApply b/p1",
        "InitApply c/p1",
        "InitApply c/p2",
        "InitDone",
    ];
    assert_eq!(take(&mut stream, 7).await, init);
    assert_eq!(sim.faults().requests("pods"), 3, "three pages of two");

    // Live changes (the pod delete is a MODIFIED with deletionTimestamp, then the DELETED).
    sim.create(pod("d", "new", json!({}), None)).unwrap();
    assert_eq!(next(&mut stream).await, "Apply d/new");
    sim.patch("pods", Some("d"), "new", &json!({"status": {"phase": "Running"}}))
        .unwrap();
    assert_eq!(next(&mut stream).await, "Apply d/new");
    sim.delete("pods", Some("d"), "new").unwrap();
    assert_eq!(take(&mut stream, 2).await, ["Apply d/new", "Delete d/new"]);

    // A dropped watch: kube re-watches from its last resourceVersion, no relist.
    let before = sim.faults().requests("pods");
    sim.faults().drop_watches();
    tokio::time::sleep(Duration::from_millis(100)).await;
    sim.create(pod("d", "after-drop", json!({}), None)).unwrap();
    assert_eq!(next(&mut stream).await, "Apply d/after-drop");
    assert!(sim.faults().requests("pods") > before, "a new watch request was made");
    sim.delete("pods", Some("d"), "after-drop").unwrap();
    assert_eq!(
        take(&mut stream, 2).await,
        ["Apply d/after-drop", "Delete d/after-drop"]
    );

    // Compaction: the open watch ends with ERROR 410 and kube relists.
    sim.faults().expire_resource_versions();
    assert_eq!(next(&mut stream).await, "Err");
    assert_eq!(take(&mut stream, 7).await, init);
    sim.create(pod("e", "post-relist", json!({}), None)).unwrap();
    assert_eq!(next(&mut stream).await, "Apply e/post-relist");
}

#[tokio::test]
async fn kube_watcher_streaming_list_uses_the_initial_events_end_bookmark() {
    let sim = sim().await;
    sim.create(pod("a", "one", json!({}), None)).unwrap();
    sim.create(pod("a", "two", json!({}), None)).unwrap();
    let api = Api::<Pod>::namespaced(client(&sim), "a");
    let mut stream = watcher::watcher(api, watcher::Config::default().streaming_lists()).boxed();
    assert_eq!(
        take(&mut stream, 4).await,
        ["Init", "InitApply a/one", "InitApply a/two", "InitDone"]
    );
    sim.create(pod("a", "three", json!({}), None)).unwrap();
    assert_eq!(next(&mut stream).await, "Apply a/three");
}

#[tokio::test]
async fn kube_typed_calls_decode() {
    let sim = sim().await;
    let c = client(&sim);
    sim.create(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}))
        .unwrap();
    sim.create(json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1", "labels": {"a": "b"}}}))
        .unwrap();
    sim.create(json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}}))
        .unwrap();
    let nodes = Api::<Node>::all(c.clone()).list(&Default::default()).await.unwrap();
    assert_eq!(nodes.items.len(), 1);
    assert_eq!(
        nodes.metadata.resource_version,
        Some(sim.resource_version().to_string())
    );
    let d = Api::<Deployment>::namespaced(c.clone(), "shop")
        .get("web")
        .await
        .unwrap();
    assert_eq!(d.metadata.generation, Some(1));
    let ns = Api::<Namespace>::all(c.clone()).get("shop").await.unwrap();
    assert!(ns.metadata.uid.is_some());
    match Api::<Pod>::namespaced(c.clone(), "shop").get("nope").await {
        Err(kube::Error::Api(s)) => assert_eq!(s.code, 404),
        other => panic!("expected a 404, got {other:?}"),
    }
    let v = c.apiserver_version().await.unwrap();
    assert_eq!(v.git_version, "v1.36.2");
    let groups = c.list_api_groups().await.unwrap();
    assert!(groups.groups.iter().any(|g| g.name == "apps"));
}
