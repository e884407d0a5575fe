//! Sharding end to end: shards partition the unsharded scrape exactly, in KSM's jump-hash mode
//! and in hash-range mode with and without the server applying the selector; auto-sharding
//! follows a StatefulSet scaled 3 → 5 → 2 under churn without leaving an object unserved.

use std::collections::BTreeMap;

use kube_state_exporter::sharding::{Assignment, Method, ShardSource, ShardingOptions};

use super::*;

/// The sample lines of a scrape (no HELP/TYPE), sorted.
fn samples(body: &str) -> Vec<String> {
    let mut lines: Vec<String> = body
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

fn start_sharded(
    sim_url: &str,
    families: FamilyOptions,
    source: ShardSource,
    method: Method,
) -> impl Future<Output = RunningExporter> + use<> {
    let config = ExporterConfig {
        sharding: ShardingOptions { source, method },
        ..exporter_config(sim_url, families)
    };
    async move { RunningExporter::start(config).await.unwrap() }
}

async fn is_ready(e: &RunningExporter) -> bool {
    get_text(&format!("http://{}/readyz", e.metrics_addr)).await.0 == 200
}

async fn telemetry(e: &RunningExporter) -> String {
    get_text(&format!("http://{}/metrics", e.telemetry_addr)).await.1
}

/// Waits until the shards' scrapes together hold exactly `expected` (sorted sample lines), each
/// line on one shard only; panics with the difference after a minute.
async fn wait_partitioned(shards: &[RunningExporter], expected: &[String]) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut owners: BTreeMap<String, usize> = BTreeMap::new();
        for shard in shards {
            for line in samples(&get_text(&metrics_url(shard)).await.1) {
                *owners.entry(line).or_default() += 1;
            }
        }
        let union: Vec<String> = owners.keys().cloned().collect();
        let doubled: Vec<&String> = owners.iter().filter(|(_, n)| **n > 1).map(|(l, _)| l).collect();
        if union == expected && doubled.is_empty() {
            return;
        }
        if Instant::now() > deadline {
            let diff = diff_lines(&expected.join("\n"), &union.join("\n"));
            panic!(
                "{} shards never partitioned the scrape; doubled: {:?}; differences:\n{}",
                shards.len(),
                doubled.iter().take(5).collect::<Vec<_>>(),
                diff.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_shards_partition_the_unsharded_scrape() {
    for gate in [true, false] {
        let sim = Sim::start_with(
            "127.0.0.1:0".parse().unwrap(),
            SimConfig {
                sharded_list_and_watch: gate,
                ..SimConfig::default()
            },
        )
        .await
        .unwrap();
        demo::populate(&sim, 40, 11).unwrap();
        let families = options();
        let whole = start_exporter(&sim.url(), families.clone()).await;
        wait_ready(&whole).await;
        let expected = samples(&wait_converged(&whole, &sim, &families).await);
        assert!(
            expected.len() > 1000,
            "a cluster worth sharding: {} samples",
            expected.len()
        );
        // KSM's jump hash at several fleet sizes (with the gate on; it never asks the server),
        // hash ranges with the server filtering (gate on) and with the shard filtering (off).
        let cases: &[(Method, u32)] = if gate {
            &[
                (Method::Jump, 1),
                (Method::Jump, 2),
                (Method::Jump, 3),
                (Method::Jump, 5),
                (Method::Ranges, 3),
            ]
        } else {
            &[(Method::Ranges, 2)]
        };
        for &(method, total) in cases {
            let mut shards = Vec::new();
            for ordinal in 0..total {
                let source = ShardSource::Static(Assignment { ordinal, total });
                shards.push(start_sharded(&sim.url(), families.clone(), source, method).await);
            }
            for shard in &shards {
                wait_ready(shard).await;
            }
            wait_partitioned(&shards, &expected).await;
            for (ordinal, shard) in shards.iter().enumerate() {
                let t = telemetry(shard).await;
                assert_eq!(
                    telemetry_value(
                        &t,
                        &format!("kube_state_metrics_shard_ordinal{{shard_ordinal=\"{ordinal}\"}}")
                    ),
                    ordinal as f64
                );
                assert_eq!(telemetry_value(&t, "kube_state_metrics_total_shards"), f64::from(total));
                // Lists are streamed (watch-list) except with server-side sharding, whose echo
                // only a paginated list carries.
                let lists = telemetry_value(
                    &t,
                    "kube_state_metrics_list_total{resource=\"*v1.Pod\",result=\"success\"}",
                );
                assert_eq!(lists >= 1.0, method == Method::Ranges, "{t}");
                assert!(
                    telemetry_value(
                        &t,
                        "kube_state_metrics_watch_total{resource=\"*v2.HorizontalPodAutoscaler\",result=\"success\"}"
                    ) >= 1.0,
                    "{t}"
                );
                let server_side = "kube_state_exporter_server_side_sharding{resource=\"pods\"}";
                match method {
                    Method::Ranges => assert_eq!(telemetry_value(&t, server_side), f64::from(u8::from(gate)), "{t}"),
                    Method::Jump => assert!(!t.contains(server_side), "jump hashing never asks the server"),
                }
            }
            for shard in shards {
                shard.shutdown().await;
            }
        }
        whole.shutdown().await;
        sim.shutdown().await;
    }
}

/// The StatefulSet of the fleet and its status, as its controller would report it.
fn stateful_set(replicas: i64) -> serde_json::Value {
    json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "kse", "namespace": "monitoring", "labels": {"app": "kse"}},
        "spec": {
            "replicas": replicas, "serviceName": "kse", "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": {"app": "kse"}},
            "template": {"metadata": {"labels": {"app": "kse"}},
                         "spec": {"containers": [{"name": "kse", "image": "kse"}]}}
        }
    })
}

/// Reports `ready` of `replicas` pods ready, with the current generation observed.
fn set_fleet_status(sim: &Sim, replicas: i64, ready: i64) {
    let generation = sim.get("statefulsets", Some("monitoring"), "kse").unwrap()["metadata"]["generation"].clone();
    sim.patch(
        "statefulsets",
        Some("monitoring"),
        "kse",
        &json!({"status": {"replicas": replicas, "readyReplicas": ready, "observedGeneration": generation}}),
    )
    .unwrap();
}

fn shard_pod(ordinal: usize, sts_uid: &str) -> serde_json::Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": format!("kse-{ordinal}"), "namespace": "monitoring", "labels": {"app": "kse"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "kse",
                                 "uid": sts_uid, "controller": true, "blockOwnerDeletion": true}]
        },
        "spec": {"containers": [{"name": "kse", "image": "kse"}]}
    })
}

/// One scrape of every shard: how many stable ConfigMaps the fleet serves, and how many twice.
async fn coverage(shards: &[Option<RunningExporter>], stable: usize) -> (usize, usize) {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for shard in shards.iter().flatten() {
        for line in get_text(&metrics_url(shard)).await.1.lines() {
            if line.starts_with("kube_configmap_info{namespace=\"stable\"") {
                *seen.entry(line.to_string()).or_default() += 1;
            }
        }
    }
    assert!(seen.len() <= stable);
    (seen.len(), seen.values().filter(|n| **n > 1).count())
}

/// Scrapes the fleet until `done` holds, asserting at every round that no stable object is
/// missing; returns the rounds taken.
async fn hold_coverage(
    shards: &[Option<RunningExporter>],
    stable: usize,
    phase: &str,
    done: impl Fn(usize, usize) -> bool,
) -> usize {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut rounds = 0;
    loop {
        let (served, doubled) = coverage(shards, stable).await;
        rounds += 1;
        assert_eq!(
            served, stable,
            "{phase}: round {rounds}: an object went missing from the fleet"
        );
        if done(served, doubled) {
            return rounds;
        }
        assert!(
            Instant::now() < deadline,
            "{phase}: never settled ({doubled} served twice)"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn relists(e: &RunningExporter) -> f64 {
    telemetry_value(
        &telemetry(e).await,
        "kube_state_exporter_relists_total{resource=\"configmaps\"}",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autosharding_follows_a_statefulset_scaled_without_gaps() {
    let sim = Sim::start().await.unwrap();
    const STABLE: usize = 150;
    for i in 0..STABLE {
        sim.create(json!({"apiVersion": "v1", "kind": "ConfigMap",
                          "metadata": {"name": format!("cm-{i:03}"), "namespace": "stable"}}))
            .unwrap();
    }
    let sts = sim.create(stateful_set(3)).unwrap();
    let sts_uid = sts["metadata"]["uid"].as_str().unwrap().to_string();
    set_fleet_status(&sim, 3, 3);
    let families = FamilyArgs {
        resources: vec!["configmaps".into()],
        ..Default::default()
    }
    .validate()
    .unwrap();
    let mut shards: Vec<Option<RunningExporter>> = Vec::new();
    let start_pod = |ordinal: usize| {
        sim.create(shard_pod(ordinal, &sts_uid)).unwrap();
        let source = ShardSource::Auto {
            pod: format!("kse-{ordinal}"),
            namespace: "monitoring".into(),
        };
        start_sharded(&sim.url(), families.clone(), source, Method::Jump)
    };
    for ordinal in 0..3 {
        shards.push(Some(start_pod(ordinal).await));
    }
    for shard in shards.iter().flatten() {
        wait_ready(shard).await;
    }
    hold_coverage(&shards, STABLE, "3 shards", |_, doubled| doubled == 0).await;

    // Churn throughout: the stable objects keep changing.
    let churning = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let changed = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let churn = {
        let (url, churning, changed) = (sim.url(), churning.clone(), changed.clone());
        let sim_client = kube::Client::try_from(kube::Config::new(url.parse().unwrap())).unwrap();
        tokio::spawn(async move {
            let stable: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
                kube::Api::namespaced(sim_client.clone(), "stable");
            let mut i = 0usize;
            while churning.load(std::sync::atomic::Ordering::Relaxed) {
                let patch = json!({"metadata": {"labels": {"round": i.to_string()}}});
                let name = format!("cm-{:03}", i % STABLE);
                let _ = stable
                    .patch(
                        &name,
                        &kube::api::PatchParams::default(),
                        &kube::api::Patch::Merge(&patch),
                    )
                    .await;
                i += 1;
                changed.store(i, std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            i
        })
    };
    let changes_so_far = || changed.load(std::sync::atomic::Ordering::Relaxed);
    while changes_so_far() < 5 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let before_scaling = changes_so_far();

    // 3 → 5: the new shards start, the old ones hand over once the new ones are ready.
    sim.patch(
        "statefulsets",
        Some("monitoring"),
        "kse",
        &json!({"spec": {"replicas": 5}}),
    )
    .unwrap();
    for ordinal in 3..5 {
        shards.push(Some(start_pod(ordinal).await));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut rounds_up = 0;
    loop {
        rounds_up += hold_coverage(&shards, STABLE, "3 → 5, new shards listing", |_, _| true).await;
        let ready = futures::future::join_all(shards[3..].iter().flatten().map(is_ready)).await;
        if ready.iter().all(|r| *r) {
            break;
        }
        assert!(Instant::now() < deadline, "the new shards never became ready");
    }
    let handover = hold_coverage(&shards, STABLE, "3 → 5, handing over", |_, doubled| doubled > 0).await;
    set_fleet_status(&sim, 5, 5);
    let settle_up = hold_coverage(&shards, STABLE, "3 → 5, settling", |_, doubled| doubled == 0).await;

    // 5 → 2: shards 0 and 1 list with the new count; 2, 3 and 4 serve their objects until they
    // are stopped (their preStop sleep), which is after 0 and 1 have swapped their lists in.
    let before: Vec<f64> = futures::future::join_all(shards[..2].iter().flatten().map(relists)).await;
    sim.patch(
        "statefulsets",
        Some("monitoring"),
        "kse",
        &json!({"spec": {"replicas": 2}}),
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut rounds_down = 0;
    loop {
        rounds_down += hold_coverage(&shards, STABLE, "5 → 2, relisting", |_, _| true).await;
        let now: Vec<f64> = futures::future::join_all(shards[..2].iter().flatten().map(relists)).await;
        if now.iter().zip(&before).all(|(n, b)| n > b) {
            break;
        }
        assert!(Instant::now() < deadline, "shards 0 and 1 never relisted for 2 shards");
    }
    // KSM would have emptied the scaled-away shards at once; here they still serve.
    for shard in shards[2..].iter().flatten() {
        let body = get_text(&metrics_url(shard)).await.1;
        assert!(
            body.contains("kube_configmap_info{namespace=\"stable\""),
            "a scaled-away shard dropped its objects before it was stopped"
        );
    }
    for ordinal in 2..5 {
        shards[ordinal].take().unwrap().shutdown().await;
        let rest = hold_coverage(&shards, STABLE, "5 → 2, stopping the scaled-away shards", |_, _| true).await;
        rounds_down += rest;
    }
    set_fleet_status(&sim, 2, 2);
    let settle_down = hold_coverage(&shards, STABLE, "2 shards", |_, doubled| doubled == 0).await;
    let during_scaling = changes_so_far() - before_scaling;
    churning.store(false, std::sync::atomic::Ordering::Relaxed);
    let changes = churn.await.unwrap();
    assert!(
        during_scaling > 0,
        "the stable objects churned while the fleet re-sharded"
    );
    eprintln!(
        "re-shard scrape rounds without a gap: 3→5 {rounds_up}+{handover}+{settle_up}, 5→2 {rounds_down}+{settle_down}; {changes} changes"
    );
    for shard in shards.into_iter().flatten() {
        let t = telemetry(&shard).await;
        assert_eq!(telemetry_value(&t, "kube_state_metrics_total_shards"), 2.0);
        shard.shutdown().await;
    }
    sim.shutdown().await;
}
