//! Event throughput: MODIFIED pod watch events applied per second (decode + render + store),
//! against the rate at which the same bytes merely decode into `Pod` on one core — what an
//! exporter that reads JSON into the API types pays for decoding alone. Applied events go
//! through the watcher's own [`Pipe`] (decoded on one task, rendered and stored on another), and
//! once more on one thread, so the report shows both what the watcher does and what one core does.

use std::time::Instant;

use futures::StreamExt;

use k8s_openapi::api::core::v1::Pod;
use kube::core::WatchEvent;

use crate::families::{EnabledFamilies, FamilyFilter, RenderContext};
use crate::sim::cluster::{ClusterModel, ClusterSpec};
use crate::store::{KindStore, Scope};
use crate::watch::{Decoded, KindRenderer, Pipe, Watched};

/// Result of the event benchmark.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct EventRates {
    /// Events measured.
    pub events: usize,
    /// MODIFIED events decoded, rendered and stored per second through the watcher's pipe.
    pub applied_per_second: f64,
    /// The same, decoded, rendered and stored one after the other on one thread.
    pub one_thread_per_second: f64,
    /// The same event lines decoded into `Pod` per second, nothing else.
    pub decode_only_per_second: f64,
    /// applied ÷ decode-only.
    pub ratio: f64,
    /// one-thread ÷ decode-only: the per-core cost against decoding alone.
    pub one_thread_ratio: f64,
}

/// Builds `count` MODIFIED event lines for real-shaped pods (each a newer resourceVersion of a
/// pod already in the store, with one more container restart), then times the paths over the
/// same bytes. Runs on a blocking thread of a multi-threaded runtime (the pipe's reader is a
/// task on it, as in the watcher).
pub fn measure(count: usize, seed: u64) -> anyhow::Result<EventRates> {
    let model = ClusterModel::new(ClusterSpec::for_pods(count.max(50), seed), jiff::Timestamp::now());
    let pods: Vec<serde_json::Value> = model.objects().filter(|o| o["kind"] == "Pod").take(count).collect();
    anyhow::ensure!(!pods.is_empty(), "the generated cluster has no pods");
    let lines: Vec<Vec<u8>> = pods
        .iter()
        .enumerate()
        .map(|(i, pod)| {
            let mut pod = pod.clone();
            pod["metadata"]["resourceVersion"] = (1_000_000 + i).to_string().into();
            // A real change, as a container restart: one family's lines differ from the stored
            // version, so the store does the work of a real update, not of a no-op resync.
            if let Some(restarts) = pod.pointer_mut("/status/containerStatuses/0/restartCount") {
                *restarts = (restarts.as_u64().unwrap_or(0) + 1).into();
            }
            // "type" before "object", as API servers write it (serde_json's map would sort it last).
            format!(r#"{{"type":"MODIFIED","object":{pod}}}"#).into_bytes()
        })
        .collect();

    let renderer = KindRenderer::<Pod> {
        families: EnabledFamilies::new(&FamilyFilter::default()),
        context: RenderContext::default(),
    };
    // Each path updates a store of its own, seeded with an older version of every pod listed as
    // a watcher's initial list is, so each event is a real update of a packed (and compressed)
    // object, and neither path finds blocks the other has already thawed.
    let seeded = || -> anyhow::Result<KindStore> {
        let kind = KindStore::new("pods", renderer.families.headers(), &[]);
        let scope = &kind.scopes()[0];
        let mut relist = scope.begin_relist();
        for pod in &pods {
            let mut older: Pod = serde_json::from_value(pod.clone())?;
            older.metadata.resource_version = Some("1".into());
            renderer.relist_apply(&mut relist, scope, &older);
        }
        scope.commit_relist(relist);
        Ok(kind)
    };
    let (piped_kind, one_thread_kind) = (seeded()?, seeded()?);

    let started = Instant::now();
    let mut decoded = 0usize;
    for line in &lines {
        if let Ok(WatchEvent::Modified(_)) = serde_json::from_slice::<WatchEvent<Pod>>(line) {
            decoded += 1;
        }
    }
    let decode_seconds = started.elapsed().as_secs_f64();

    // One thread first: the pipe then takes the lines (its reader task owns what it reads).
    let events = lines.len();
    let started = Instant::now();
    let scope = &one_thread_kind.scopes()[0];
    let one_thread = lines
        .iter()
        .filter(|line| apply(&renderer, scope, &watch_event(line)))
        .count();
    let one_thread_seconds = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let applied = tokio::runtime::Handle::current().block_on(async {
        let mut pipe = Pipe::new(futures::stream::iter(lines).map(|line| watch_event(&line)).boxed());
        let scope = &piped_kind.scopes()[0];
        let mut applied = 0usize;
        while let Some(event) = pipe.next().await {
            applied += usize::from(apply(&renderer, scope, &event));
            pipe.give_back(event);
        }
        applied
    });
    let apply_seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        decoded == events && applied == events && one_thread == events,
        "events failed to decode"
    );
    let applied_per_second = applied as f64 / apply_seconds.max(1e-9);
    let one_thread_per_second = one_thread as f64 / one_thread_seconds.max(1e-9);
    let decode_only_per_second = decoded as f64 / decode_seconds.max(1e-9);
    Ok(EventRates {
        events,
        applied_per_second,
        one_thread_per_second,
        decode_only_per_second,
        ratio: applied_per_second / decode_only_per_second,
        one_thread_ratio: one_thread_per_second / decode_only_per_second,
    })
}

/// One watch line decoded as the watcher's client decodes it.
fn watch_event(line: &[u8]) -> serde_json::Result<WatchEvent<Decoded<Pod>>> {
    serde_json::from_slice(line)
}

/// Renders and stores a modified pod as the watcher does; whether the event was one.
fn apply(renderer: &KindRenderer<Pod>, scope: &Scope, event: &serde_json::Result<WatchEvent<Decoded<Pod>>>) -> bool {
    let Ok(WatchEvent::Modified(Decoded::Valid(pod))) = event else {
        return false;
    };
    renderer.apply(scope, pod);
    true
}
