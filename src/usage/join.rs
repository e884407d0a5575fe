//! A good response, joined with what the pod and node watches know and stored: every usable item
//! becomes one entry of the usage kind, and the whole set replaces the previous poll's at once
//! (a relist), so items missing from this response vanish.
//!
//! The join reads the watches' small per-object index ([`crate::families::ObjectIndex`]): a
//! pod's `uid` and `node`, whether it (or a node) is live, and when it was created. Items for
//! objects the watches do not know are skipped and counted as unmatched; items in namespaces the
//! exporter does not watch are skipped silently.

use std::collections::HashSet;
use std::sync::Arc;

use crate::store::{KindStore, ObjectKey, Store};
use crate::usage::families::{Mask, render_node, render_pod};
use crate::usage::health::ResponseStats;
use crate::usage::parse::{self, Decoded};
use crate::usage::poll::{PollError, Reason};

/// Nodes expected to have metrics: live (Ready) and created at or before `cutoff` (unix seconds).
fn expected_nodes(nodes: Option<&KindStore>, cutoff: i64) -> HashSet<Box<str>> {
    let mut expected = HashSet::new();
    if let Some(nodes) = nodes {
        nodes.for_each(|key, entry| {
            if let Some(index) = entry.index.as_deref()
                && index.live
                && index.created <= cutoff
            {
                expected.insert(key.name().into());
            }
        });
    }
    expected
}

fn track(stats: &mut ResponseStats, timestamp: Option<f64>) {
    if let Some(t) = timestamp {
        stats.newest = Some(stats.newest.map_or(t, |n| n.max(t)));
        stats.oldest = Some(stats.oldest.map_or(t, |o| o.min(t)));
    }
}

fn usage_kind(store: &Store, resource: &str) -> Result<Arc<KindStore>, PollError> {
    store
        .kind(resource)
        .ok_or_else(|| PollError::new(Reason::Other, format!("no store kind {resource}")))
}

/// Stores a NodeMetrics list. `Err` only when the body as a whole does not decode.
pub fn apply_nodes(store: &Store, mask: &Mask, body: &[u8], cutoff: i64, seq: u64) -> Result<ResponseStats, PollError> {
    let items = parse::list_items(body).map_err(|e| PollError::new(Reason::Decode, e))?;
    let usage = usage_kind(store, super::NODE_USAGE)?;
    let Some(scope) = usage.scopes().first() else {
        return Err(PollError::new(Reason::Other, "usage kind without a scope"));
    };
    let nodes = store.kind("nodes");
    let expected = expected_nodes(nodes.as_deref(), cutoff);
    let mut stats = ResponseStats {
        expected: expected.len() as u64,
        ..Default::default()
    };
    let version = seq.to_string();
    let mut relist = scope.begin_relist();
    for raw in items {
        let Decoded { item, bad_values } = match parse::node_item(raw) {
            Ok(d) => d,
            Err(e) => {
                stats.decode_errors += 1;
                tracing::debug!(error = %e, "skipping malformed NodeMetrics item");
                continue;
            }
        };
        stats.decode_errors += bad_values as u64;
        let key = ObjectKey::new(None, Some(&item.name));
        let Some(node) = nodes.as_ref().and_then(|n| n.get(&key)) else {
            stats.unmatched += 1;
            continue;
        };
        if expected.contains(key.name()) {
            stats.reported += 1;
        }
        track(&mut stats, item.timestamp);
        let uid = node.uid.to_string();
        relist.apply(scope, key, &uid, &version, || render_node(mask, &item));
    }
    scope.commit_relist(relist);
    Ok(stats)
}

/// Stores a PodMetricsList. `Err` only when the body as a whole does not decode.
pub fn apply_pods(store: &Store, mask: &Mask, body: &[u8], cutoff: i64, seq: u64) -> Result<ResponseStats, PollError> {
    let items = parse::list_items(body).map_err(|e| PollError::new(Reason::Decode, e))?;
    let usage = usage_kind(store, super::POD_USAGE)?;
    let Some(scope) = usage.scopes().first() else {
        return Err(PollError::new(Reason::Other, "usage kind without a scope"));
    };
    let nodes = store.kind("nodes");
    let expected_nodes = expected_nodes(nodes.as_deref(), cutoff);
    let pods = store.kind("pods");
    let is_expected = |index: Option<&crate::families::ObjectIndex>| {
        index.is_some_and(|i| i.live && i.created <= cutoff && expected_nodes.contains(i.node.as_ref()))
    };
    let mut stats = ResponseStats::default();
    if let Some(pods) = &pods {
        pods.for_each(|_, entry| {
            if is_expected(entry.index.as_deref()) {
                stats.expected += 1;
            }
        });
    }
    let watched = |namespace: &str| {
        pods.as_ref().is_some_and(|p| {
            p.scopes()
                .iter()
                .any(|s| s.namespace().is_none() || s.namespace() == Some(namespace))
        })
    };
    let version = seq.to_string();
    let mut relist = scope.begin_relist();
    for raw in items {
        let Decoded { item, bad_values } = match parse::pod_item(raw) {
            Ok(d) => d,
            Err(e) => {
                stats.decode_errors += 1;
                tracing::debug!(error = %e, "skipping malformed PodMetrics item");
                continue;
            }
        };
        if !watched(&item.namespace) {
            continue;
        }
        stats.decode_errors += bad_values as u64;
        let key = ObjectKey::new(Some(&item.namespace), Some(&item.name));
        let Some(pod) = pods.as_ref().and_then(|p| p.get(&key)) else {
            stats.unmatched += 1;
            continue;
        };
        let index = pod.index.as_deref();
        if is_expected(index) {
            stats.reported += 1;
        }
        track(&mut stats, item.timestamp);
        let node = index.map_or("", |i| i.node.as_ref());
        let uid = pod.uid.to_string();
        relist.apply(scope, key, &uid, &version, || render_pod(mask, &item, &uid, node));
    }
    scope.commit_relist(relist);
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::Format;
    use crate::families::{ObjectIndex, Rendered};
    use crate::usage::families::{NODE_FAMILIES, POD_FAMILIES};

    fn indexed(node: &str, live: bool, created: i64) -> Rendered {
        Rendered {
            index: Some(Box::new(ObjectIndex {
                node: node.into(),
                live,
                created,
            })),
            ..Default::default()
        }
    }

    /// A store with the watched kinds (empty headers: only the index matters) and usage kinds.
    fn store() -> Store {
        let mut kinds = vec![
            KindStore::new("nodes", Vec::new(), &[]),
            KindStore::new("pods", Vec::new(), &[]),
        ];
        kinds.extend(crate::usage::UsageFamilies::all().kind_stores());
        let store = Store::new(kinds);
        let nodes_kind = store.kind("nodes").unwrap();
        let nodes = &nodes_kind.scopes()[0];
        nodes.apply(ObjectKey::new(None, Some("n1")), "nu1", "1", || indexed("", true, 100));
        nodes.apply(ObjectKey::new(None, Some("n2")), "nu2", "1", || indexed("", true, 100));
        nodes.apply(ObjectKey::new(None, Some("young")), "nu3", "1", || {
            indexed("", true, 990)
        });
        nodes.apply(ObjectKey::new(None, Some("notready")), "nu4", "1", || {
            indexed("", false, 100)
        });
        let pods_kind = store.kind("pods").unwrap();
        let pods = &pods_kind.scopes()[0];
        pods.apply(ObjectKey::new(Some("a"), Some("p1")), "pu1", "1", || {
            indexed("n1", true, 100)
        });
        pods.apply(ObjectKey::new(Some("a"), Some("p2")), "pu2", "1", || {
            indexed("n2", true, 100)
        });
        pods.apply(ObjectKey::new(Some("a"), Some("new")), "pu3", "1", || {
            indexed("n1", true, 995)
        });
        pods.apply(ObjectKey::new(Some("a"), Some("onyoung")), "pu4", "1", || {
            indexed("young", true, 100)
        });
        pods.apply(ObjectKey::new(Some("a"), Some("pending")), "pu5", "1", || {
            indexed("", false, 100)
        });
        store
    }

    fn text(store: &Store, kind: &str) -> String {
        String::from_utf8(store.snapshot(|r| r == kind).to_bytes(Format::Text)).unwrap()
    }

    const NODES: &str = r#"{"items":[
        {"metadata":{"name":"n1"},"timestamp":"2026-08-04T10:00:01Z","window":"15s","usage":{"cpu":"250m","memory":"1Gi"}},
        {"metadata":{"name":"ghost"},"timestamp":"2026-08-04T10:00:01Z","window":"15s","usage":{"cpu":"1","memory":"1Gi"}},
        {"metadata":{"name":"young"},"timestamp":"2026-08-04T09:59:50Z","window":"15s","usage":{"cpu":"bad","memory":"1Ki"}},
        {"metadata":{},"usage":{}}
    ]}"#;

    #[test]
    fn nodes_are_joined_counted_and_replaced() {
        let store = store();
        let mask = Mask::all(&NODE_FAMILIES);
        let stats = apply_nodes(&store, &mask, NODES.as_bytes(), 900, 1).unwrap();
        assert_eq!(
            stats,
            ResponseStats {
                newest: Some(1_785_837_601.0),
                oldest: Some(1_785_837_590.0),
                expected: 2,
                reported: 1,
                unmatched: 1,
                decode_errors: 2,
            }
        );
        let out = text(&store, crate::usage::NODE_USAGE);
        assert!(out.contains("kube_node_resource_usage{node=\"n1\",resource=\"cpu\",unit=\"core\"} 0.25\n"));
        assert!(
            out.contains("kube_node_resource_usage{node=\"n1\",resource=\"memory\",unit=\"byte\"} 1.073741824e+09\n")
        );
        assert!(out.contains("kube_node_resource_usage{node=\"young\",resource=\"memory\",unit=\"byte\"} 1024\n"));
        assert!(
            !out.contains("young\",resource=\"cpu\""),
            "the bad value alone is skipped"
        );
        assert!(!out.contains("ghost"));

        // The next response replaces the set: n1 is gone, n2 appears.
        let next = r#"{"items":[{"metadata":{"name":"n2"},"timestamp":"2026-08-04T10:00:16Z","window":"15s","usage":{"cpu":"1","memory":"1Ki"}}]}"#;
        let stats = apply_nodes(&store, &mask, next.as_bytes(), 900, 2).unwrap();
        assert_eq!((stats.expected, stats.reported, stats.unmatched), (2, 1, 0));
        let out = text(&store, crate::usage::NODE_USAGE);
        assert!(!out.contains("node=\"n1\""));
        assert!(out.contains("kube_node_resource_usage{node=\"n2\",resource=\"cpu\",unit=\"core\"} 1\n"));

        assert_eq!(
            apply_nodes(&store, &mask, b"<html>", 900, 3).unwrap_err().reason,
            Reason::Decode
        );
        assert!(
            text(&store, crate::usage::NODE_USAGE).contains("node=\"n2\""),
            "a bad body changes nothing"
        );
    }

    #[test]
    fn pods_get_uid_and_node_from_the_pod_watch() {
        let store = store();
        let mask = Mask::all(&POD_FAMILIES);
        let body = r#"{"items":[
            {"metadata":{"name":"p1","namespace":"a"},"timestamp":"2026-08-04T10:00:00Z","window":"14.887s",
             "containers":[{"name":"app","usage":{"cpu":"2311974n","memory":"48324Ki"}}]},
            {"metadata":{"name":"new","namespace":"a"},"timestamp":"2026-08-04T10:00:00Z","window":"15s",
             "containers":[{"name":"app","usage":{"cpu":"1m","memory":"1Ki"}}]},
            {"metadata":{"name":"unknown","namespace":"a"},"timestamp":"2026-08-04T10:00:00Z","window":"15s","containers":[]},
            {"metadata":{"name":"broken","namespace":"a"},"containers":[{"usage":{}}]}
        ]}"#;
        let stats = apply_pods(&store, &mask, body.as_bytes(), 900, 1).unwrap();
        // Expected: p1 and p2 (new is too young, onyoung's node is too young, pending is not live).
        assert_eq!(
            (stats.expected, stats.reported, stats.unmatched, stats.decode_errors),
            (2, 1, 1, 1)
        );
        let out = text(&store, crate::usage::POD_USAGE);
        assert!(out.contains(
            "kube_pod_container_resource_usage{namespace=\"a\",pod=\"p1\",uid=\"pu1\",container=\"app\",node=\"n1\",resource=\"cpu\",unit=\"core\"} 0.002311974\n"
        ));
        assert!(out.contains(
            "kube_pod_container_resource_usage{namespace=\"a\",pod=\"p1\",uid=\"pu1\",container=\"app\",node=\"n1\",resource=\"memory\",unit=\"byte\"} 4.9483776e+07\n"
        ));
        assert!(out.contains(
            "kube_pod_resource_usage_timestamp_seconds{namespace=\"a\",pod=\"new\",uid=\"pu3\"} 1.7858376e+09\n"
        ));
        assert!(!out.contains("pod=\"unknown\""));
    }

    #[test]
    fn pods_in_unwatched_namespaces_are_not_unmatched() {
        let mut kinds = vec![
            KindStore::new("nodes", Vec::new(), &[]),
            KindStore::new("pods", Vec::new(), &["a".to_string()]),
        ];
        kinds.extend(crate::usage::UsageFamilies::all().kind_stores());
        let store = Store::new(kinds);
        let body = r#"{"items":[{"metadata":{"name":"x","namespace":"b"},"containers":[]},
                                {"metadata":{"name":"y","namespace":"a"},"containers":[]}]}"#;
        let stats = apply_pods(&store, &Mask::all(&POD_FAMILIES), body.as_bytes(), 0, 1).unwrap();
        assert_eq!(stats.unmatched, 1);
    }

    /// A store like the exporter's: the real pods and nodes kinds filled from the object
    /// fixtures (through `store_json`, as `render` does), plus the usage kinds.
    fn fixture_store() -> Store {
        let resources = crate::usage::REQUIRED_RESOURCES.map(String::from);
        let handles = crate::kinds::registry(
            &resources,
            &crate::families::FamilyFilter::default(),
            &crate::families::Allowlists::default(),
        );
        let mut kinds: Vec<KindStore> = handles.iter().map(|h| h.new_store(&[])).collect();
        kinds.extend(crate::usage::UsageFamilies::all().kind_stores());
        let store = Store::new(kinds);
        for fixture in [
            include_str!("../../tests/fixtures/objects/nodes.json"),
            include_str!("../../tests/fixtures/objects/pods.json"),
        ] {
            for obj in crate::render::parse_documents(fixture).unwrap() {
                let handle = handles.iter().find(|h| Some(h.kind()) == obj["kind"].as_str()).unwrap();
                handle.store_json(&store, obj).unwrap();
            }
        }
        assert_eq!(store.kind("nodes").unwrap().stats().0, 3);
        assert_eq!(store.kind("pods").unwrap().stats().0, 7);
        store
    }

    /// The sample lines (no HELP/TYPE) of one kind, in output order.
    fn samples(store: &Store, kind: &str) -> Vec<String> {
        text(store, kind)
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(str::to_string)
            .collect()
    }

    /// Real-shaped metrics-server list bodies, polled at 2026-11-24T05:30:15Z with the 60 s
    /// grace: objects created after 05:29:15Z are not expected yet.
    const FIXTURE_CUTOFF: i64 = 1_795_498_155;

    #[test]
    fn metrics_server_node_list_fixture() {
        let store = fixture_store();
        let body = include_bytes!("../../tests/fixtures/metrics/nodemetrics-v1beta1.json");
        let stats = apply_nodes(&store, &Mask::all(&NODE_FAMILIES), body, FIXTURE_CUTOFF, 1).unwrap();
        assert_eq!(
            stats,
            ResponseStats {
                // corpus-node-a at 05:30:01Z; corpus-node-c's kubelet repeats 05:21:43Z.
                newest: Some(1_795_498_201.0),
                oldest: Some(1_795_497_703.0),
                // Only corpus-node-a is Ready (b is False, c Unknown).
                expected: 1,
                reported: 1,
                unmatched: 0,
                decode_errors: 0,
            }
        );
        assert_eq!(
            samples(&store, crate::usage::NODE_USAGE),
            [
                // 154214749n; 2489292Ki = 2549035008 bytes.
                r#"kube_node_resource_usage{node="corpus-node-a",resource="cpu",unit="core"} 0.154214749"#,
                r#"kube_node_resource_usage{node="corpus-node-a",resource="memory",unit="byte"} 2.549035008e+09"#,
                // "2" cores; plain bytes.
                r#"kube_node_resource_usage{node="corpus-node-b",resource="cpu",unit="core"} 2"#,
                r#"kube_node_resource_usage{node="corpus-node-b",resource="memory",unit="byte"} 1.23456789e+08"#,
                // 154m; 512Mi = 536870912 bytes.
                r#"kube_node_resource_usage{node="corpus-node-c",resource="cpu",unit="core"} 0.154"#,
                r#"kube_node_resource_usage{node="corpus-node-c",resource="memory",unit="byte"} 5.36870912e+08"#,
                r#"kube_node_resource_usage_timestamp_seconds{node="corpus-node-a"} 1.795498201e+09"#,
                r#"kube_node_resource_usage_timestamp_seconds{node="corpus-node-b"} 1.795498198e+09"#,
                r#"kube_node_resource_usage_timestamp_seconds{node="corpus-node-c"} 1.795497703e+09"#,
                // "15.012s", "20s", "1m0.5s".
                r#"kube_node_resource_usage_window_seconds{node="corpus-node-a"} 15.012"#,
                r#"kube_node_resource_usage_window_seconds{node="corpus-node-b"} 20"#,
                r#"kube_node_resource_usage_window_seconds{node="corpus-node-c"} 60.5"#,
            ]
        );
    }

    #[test]
    fn metrics_server_pod_list_fixture() {
        let store = fixture_store();
        let body = include_bytes!("../../tests/fixtures/metrics/podmetrics-v1beta1.json");
        let stats = apply_pods(&store, &Mask::all(&POD_FAMILIES), body, FIXTURE_CUTOFF, 1).unwrap();
        assert_eq!(
            stats,
            ResponseStats {
                // web-7d9f8b6c5d-x2k4p at 05:30:00Z; worker (on corpus-node-c) at 05:21:40Z; the
                // unmatched pod's timestamp is not tracked.
                newest: Some(1_795_498_200.0),
                oldest: Some(1_795_497_700.0),
                // Running pods on Ready nodes: web-7d9f8b6c5d-x2k4p (corpus-node-a) only.
                expected: 1,
                reported: 1,
                // shop/web-7d9f8b6c5d-r5j8w: not in the pod watch.
                unmatched: 1,
                // train-0's cpu "lots": that sample only is dropped.
                decode_errors: 1,
            }
        );
        const WEB: &str = r#"namespace="shop",pod="web-7d9f8b6c5d-x2k4p",uid="9bd56d2f-59d7-4c5a-b68e-74a7eaddd077""#;
        const WORKER: &str =
            r#"namespace="jobs",pod="worker-6f7c9d8b5-pz9kd",uid="c4d5e6f7-a8b9-4c0d-9e1f-2a3b4c5d6e7f""#;
        const TRAIN: &str = r#"namespace="ml",pod="train-0",uid="1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d""#;
        let want: Vec<String> = [
            // Entries in (namespace, name) order: jobs, ml, shop.
            format!(
                r#"kube_pod_container_resource_usage{{{WORKER},container="worker",node="corpus-node-c",resource="cpu",unit="core"}} 0.154"#
            ),
            format!(
                r#"kube_pod_container_resource_usage{{{WORKER},container="worker",node="corpus-node-c",resource="memory",unit="byte"}} 5.36870912e+08"#
            ),
            format!(
                r#"kube_pod_container_resource_usage{{{TRAIN},container="trainer",node="gpu-node-1",resource="memory",unit="byte"}} 1.23456789e+08"#
            ),
            format!(
                r#"kube_pod_container_resource_usage{{{WEB},container="istio-proxy",node="corpus-node-a",resource="cpu",unit="core"}} 0.003127846"#
            ),
            // 48324Ki = 49483776 bytes.
            format!(
                r#"kube_pod_container_resource_usage{{{WEB},container="istio-proxy",node="corpus-node-a",resource="memory",unit="byte"}} 4.9483776e+07"#
            ),
            format!(
                r#"kube_pod_container_resource_usage{{{WEB},container="nginx",node="corpus-node-a",resource="cpu",unit="core"}} 0.002311974"#
            ),
            // 9876Ki = 10113024 bytes.
            format!(
                r#"kube_pod_container_resource_usage{{{WEB},container="nginx",node="corpus-node-a",resource="memory",unit="byte"}} 1.0113024e+07"#
            ),
            format!("kube_pod_resource_usage_timestamp_seconds{{{WORKER}}} 1.7954977e+09"),
            format!("kube_pod_resource_usage_timestamp_seconds{{{TRAIN}}} 1.795498197e+09"),
            format!("kube_pod_resource_usage_timestamp_seconds{{{WEB}}} 1.7954982e+09"),
            format!("kube_pod_resource_usage_window_seconds{{{WORKER}}} 60.5"),
            format!("kube_pod_resource_usage_window_seconds{{{TRAIN}}} 20"),
            format!("kube_pod_resource_usage_window_seconds{{{WEB}}} 14.887"),
        ]
        .into();
        assert_eq!(samples(&store, crate::usage::POD_USAGE), want);
    }
}
