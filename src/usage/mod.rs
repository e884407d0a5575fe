//! Resource usage from the Resource Metrics API (`metrics.k8s.io`, served by metrics-server) and
//! the health of that API as seen from outside.
//!
//! One task polls the cluster-wide NodeMetrics and PodMetrics lists once per interval (with
//! jitter), through a kube client whose retry layer is off and under a client timeout, and
//! renders what it got into three store kinds scraped with everything else:
//!
//! - [`NODE_USAGE`] / [`POD_USAGE`]: `kube_node_resource_usage…` and
//!   `kube_pod_container_resource_usage…`, one entry per node / pod, replaced as a whole by each
//!   good response; kept after a failed poll until `max_age` has passed since the last good one;
//! - [`HEALTH`]: `kube_metrics_api_…`, one entry per polled resource, re-rendered after every
//!   poll from the task's own plain state.
//!
//! Layout: [`parse`] (items, durations, timestamps) → [`poll`] (HTTP, discovery, error
//! classification) → [`join`] (uid/node join, coverage, store) → [`families`] / [`health`]
//! (rendering).

pub mod families;
pub mod health;
pub mod join;
pub mod parse;
pub mod poll;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kube::Client;

use crate::families::FamilyFilter;
use crate::store::{KindStore, ObjectKey, Store};
use families::{HEALTH_FAMILIES, Mask, NODE_FAMILIES, POD_FAMILIES};
use health::{Health, Polled, ResponseStats};
use poll::{PollError, Reason};

/// Store kind (and `?resources=` name) of the node usage families.
pub const NODE_USAGE: &str = "nodemetrics";
/// Store kind of the pod usage families.
pub const POD_USAGE: &str = "podmetrics";
/// Store kind of the `kube_metrics_api_*` health families.
pub const HEALTH: &str = "metricsapi";

/// How often and how patiently to poll.
#[derive(Clone, Debug, PartialEq)]
pub struct UsageSettings {
    /// Time between polls (±10% jitter). The CLI refuses less than 15 s; tests use less.
    pub interval: Duration,
    /// Client timeout of one request; shorter than `interval`.
    pub timeout: Duration,
    /// Usage samples are dropped once the last good poll is older than this.
    pub max_age: Duration,
    /// Objects younger than this are not expected to have metrics yet.
    pub grace: Duration,
}

impl Default for UsageSettings {
    fn default() -> Self {
        UsageSettings {
            interval: Duration::from_secs(30),
            timeout: Duration::from_secs(10),
            max_age: Duration::from_secs(300),
            grace: Duration::from_secs(60),
        }
    }
}

/// Usage polling as the exporter starts it.
#[derive(Clone)]
pub struct UsageConfig {
    /// A client built with retries off ([`no_retry_client`]).
    pub client: Client,
    /// Timing.
    pub settings: UsageSettings,
}

/// The watched resources usage needs (the uid/node join and coverage).
pub const REQUIRED_RESOURCES: [&str; 2] = ["nodes", "pods"];

/// Refuses usage without the pods and nodes watches.
pub fn check_resources(resources: &[String]) -> Result<(), String> {
    let missing: Vec<&str> = REQUIRED_RESOURCES
        .iter()
        .copied()
        .filter(|r| !resources.iter().any(|e| e == r))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "--usage needs the pods and nodes resources, but --resources leaves out {}; add them to --resources or pass --usage=false",
            missing.join(" and ")
        ))
    }
}

/// A client for polling: kube's retry layer (which retries 429/503/504 up to 15 times) off.
pub fn no_retry_client(mut config: kube::Config) -> Result<Client, kube::Error> {
    config.default_retry = false;
    Client::try_from(config)
}

/// Which usage and health families are generated (the family allow/deny lists apply).
#[derive(Clone, Debug)]
pub struct UsageFamilies {
    node: Mask,
    pod: Mask,
    health: Mask,
}

impl UsageFamilies {
    /// The families the filter leaves on.
    pub fn new(filter: &FamilyFilter) -> Self {
        UsageFamilies {
            node: Mask::new(&NODE_FAMILIES, filter),
            pod: Mask::new(&POD_FAMILIES, filter),
            health: Mask::new(&HEALTH_FAMILIES, filter),
        }
    }

    /// Every family.
    pub fn all() -> Self {
        UsageFamilies {
            node: Mask::all(&NODE_FAMILIES),
            pod: Mask::all(&POD_FAMILIES),
            health: Mask::all(&HEALTH_FAMILIES),
        }
    }

    /// The three store kinds, empty and marked synced (readiness never waits for
    /// metrics-server).
    pub fn kind_stores(&self) -> Vec<KindStore> {
        [
            (NODE_USAGE, self.node.headers(&NODE_FAMILIES)),
            (POD_USAGE, self.pod.headers(&POD_FAMILIES)),
            (HEALTH, self.health.headers(&HEALTH_FAMILIES)),
        ]
        .into_iter()
        .map(|(resource, headers)| {
            let kind = KindStore::new(resource, headers, &[]);
            for scope in kind.scopes() {
                scope.commit_relist(scope.begin_relist());
            }
            kind
        })
        .collect()
    }
}

fn unix_now() -> f64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    (secs * 1000.0).round() / 1000.0
}

/// `interval` ± 10%.
fn jittered(interval: Duration) -> Duration {
    interval.mul_f64(0.9 + 0.2 * fastrand::f64())
}

/// The poller's own state: plain values, owned by its task.
struct Poller {
    client: Client,
    store: Arc<Store>,
    families: UsageFamilies,
    settings: UsageSettings,
    version: Option<&'static str>,
    nodes: Health,
    pods: Health,
    last_good: [Option<Instant>; 2],
    seq: u64,
}

impl Poller {
    fn health(&mut self, resource: Polled) -> &mut Health {
        match resource {
            Polled::Nodes => &mut self.nodes,
            Polled::Pods => &mut self.pods,
        }
    }

    fn slot(resource: Polled) -> usize {
        match resource {
            Polled::Nodes => 0,
            Polled::Pods => 1,
        }
    }

    /// One round: discovery when needed, then one list per resource.
    async fn tick(&mut self) {
        let version = match self.version {
            Some(v) => v,
            None => {
                let started = Instant::now();
                match poll::discover(&self.client, self.settings.timeout).await {
                    Ok(v) => {
                        tracing::debug!(version = v, "metrics.k8s.io version discovered");
                        self.version = Some(v);
                        v
                    }
                    Err(e) => {
                        let elapsed = started.elapsed();
                        let e = PollError::new(e.reason, format!("discovery of /apis/{}: {}", poll::GROUP, e.message));
                        self.nodes.failure(elapsed, &e);
                        self.pods.failure(elapsed, &e);
                        self.expire();
                        self.render_health();
                        return;
                    }
                }
            }
        };
        for resource in [Polled::Nodes, Polled::Pods] {
            let started = Instant::now();
            let result = self.poll(version, resource).await;
            let elapsed = started.elapsed();
            match result {
                Ok(stats) => {
                    self.last_good[Self::slot(resource)] = Some(Instant::now());
                    self.health(resource).success(elapsed, unix_now(), stats);
                }
                Err(e) => {
                    self.health(resource).failure(elapsed, &e);
                    // The APIService may have changed versions (or gone): discover again.
                    self.version = None;
                }
            }
        }
        self.expire();
        self.render_health();
    }

    async fn poll(&mut self, version: &str, resource: Polled) -> Result<ResponseStats, PollError> {
        let path = format!("/apis/{}/{version}/{}", poll::GROUP, resource.as_str());
        let body = poll::get(&self.client, &path, self.settings.timeout).await?;
        self.seq += 1;
        let seq = self.seq;
        let cutoff = (unix_now() - self.settings.grace.as_secs_f64()).floor() as i64;
        let store = self.store.clone();
        let mask = match resource {
            Polled::Nodes => self.families.node.clone(),
            Polled::Pods => self.families.pod.clone(),
        };
        // Decoding and joining a large list is CPU work: keep it off the async workers.
        let joined = tokio::task::spawn_blocking(move || match resource {
            Polled::Nodes => join::apply_nodes(&store, &mask, &body, cutoff, seq),
            Polled::Pods => join::apply_pods(&store, &mask, &body, cutoff, seq),
        })
        .await;
        joined.unwrap_or_else(|e| Err(PollError::new(Reason::Other, format!("decoding task failed: {e}"))))
    }

    /// Drops usage samples whose last good poll is older than `max_age`.
    fn expire(&mut self) {
        for (resource, kind) in [(Polled::Nodes, NODE_USAGE), (Polled::Pods, POD_USAGE)] {
            let fresh = self.last_good[Self::slot(resource)].is_some_and(|t| t.elapsed() <= self.settings.max_age);
            if fresh {
                continue;
            }
            let Some(kind) = self.store.kind(kind) else { continue };
            if kind.stats().0 == 0 {
                continue;
            }
            tracing::info!(
                resource = resource.as_str(),
                max_age_seconds = self.settings.max_age.as_secs_f64(),
                "dropping usage samples: no good metrics.k8s.io poll within --usage-max-age"
            );
            for scope in kind.scopes() {
                scope.commit_relist(scope.begin_relist());
            }
        }
    }

    fn render_health(&mut self) {
        let Some(kind) = self.store.kind(HEALTH) else { return };
        let Some(scope) = kind.scopes().first() else { return };
        self.seq += 1;
        let version = self.seq.to_string();
        let mut relist = scope.begin_relist();
        for health in [&self.nodes, &self.pods] {
            let resource = health_key(health);
            relist.apply(scope, ObjectKey::new(None, Some(resource)), "", &version, || {
                health.render(&self.families.health)
            });
        }
        scope.commit_relist(relist);
    }
}

fn health_key(health: &Health) -> &'static str {
    health.resource().as_str()
}

/// Waits (at most `limit`) until the pod and node watches have listed, so the first poll can
/// join its items.
async fn wait_for_watches(store: &Store, limit: Duration) {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        let synced = REQUIRED_RESOURCES
            .iter()
            .all(|r| store.kind(r).is_none_or(|k| k.is_synced()));
        if synced {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls until the task is aborted. Never returns on errors.
pub async fn run(client: Client, store: Arc<Store>, families: UsageFamilies, settings: UsageSettings) {
    wait_for_watches(&store, settings.interval).await;
    tracing::info!(
        interval_seconds = settings.interval.as_secs_f64(),
        timeout_seconds = settings.timeout.as_secs_f64(),
        "polling metrics.k8s.io for resource usage"
    );
    let mut poller = Poller {
        client,
        store,
        families,
        settings,
        version: None,
        nodes: Health::new(Polled::Nodes),
        pods: Health::new(Polled::Pods),
        last_good: [None, None],
        seq: 0,
    };
    loop {
        let started = tokio::time::Instant::now();
        poller.tick().await;
        tokio::time::sleep_until(started + jittered(poller.settings.interval)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_needs_pods_and_nodes() {
        let all: Vec<String> = crate::kinds::resources().iter().map(|r| r.to_string()).collect();
        assert!(check_resources(&all).is_ok());
        let err = check_resources(&["pods".to_string(), "jobs".to_string()]).unwrap_err();
        assert!(
            err.contains("--usage") && err.contains("--resources") && err.contains("nodes"),
            "{err}"
        );
    }

    #[test]
    fn jitter_stays_within_ten_percent() {
        for _ in 0..1000 {
            let d = jittered(Duration::from_secs(30));
            assert!(d >= Duration::from_secs(27) && d <= Duration::from_secs(33), "{d:?}");
        }
    }

    #[test]
    fn usage_kinds_start_synced_and_empty() {
        let store = Store::new(UsageFamilies::all().kind_stores());
        let kinds = store.kinds();
        let names: Vec<&str> = kinds.iter().map(|k| k.resource()).collect();
        assert_eq!(names, [HEALTH, NODE_USAGE, POD_USAGE]);
        assert!(store.kinds().iter().all(|k| k.is_synced() && k.stats().0 == 0));
    }
}
