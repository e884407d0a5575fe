//! Auto-sharding (`--pod` / `--pod-namespace`): this pod's ordinal in the StatefulSet that
//! controls it, of `spec.replicas` shards, followed live.
//!
//! KSM drops everything and relists when the replica count changes, so its users see holes in
//! every series while the shards refill (KSM #1187). Here a change never leaves an object
//! unserved by the fleet:
//! - a shard that gains objects (the set shrank) keeps serving its old set until the list with
//!   the new assignment is swapped in (the store's relist already works that way);
//! - a shard that loses objects (the set grew) keeps them, with the new ones, until the
//!   StatefulSet reports every replica of the new size ready — the new shards are ready only
//!   once they have listed (`/readyz`) — and then drops them in place, without a new list;
//! - a pod whose ordinal is beyond the new size is being removed: it keeps serving its old set
//!   until it is stopped (give it a `preStop` sleep longer than a relist, see the manifests).

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client};

use futures::StreamExt;
use tokio::sync::watch;

use crate::sharding::{Assignment, Method, ShardFilter};
use crate::telemetry::Telemetry;

/// The StatefulSet and ordinal of a pod, from its controller reference and name.
pub fn stateful_set_ordinal(pod: &Pod) -> Result<(String, u32), String> {
    let name = pod.metadata.name.as_deref().unwrap_or("");
    let owner = pod
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true))
        .ok_or_else(|| format!("pod {name} has no controller; auto-sharding needs a StatefulSet pod"))?;
    if owner.kind != "StatefulSet" || !owner.api_version.starts_with("apps/") {
        return Err(format!(
            "pod {name} is controlled by {} {}, not a StatefulSet; auto-sharding needs a StatefulSet pod",
            owner.kind, owner.name
        ));
    }
    let ordinal = name
        .strip_prefix(&format!("{}-", owner.name))
        .and_then(|suffix| suffix.parse::<u32>().ok())
        .ok_or_else(|| format!("pod name {name} is not {}-<ordinal>", owner.name))?;
    Ok((owner.name.clone(), ordinal))
}

/// What the StatefulSet says about the fleet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fleet {
    /// `spec.replicas` (1 when unset, as the API server defaults it).
    pub replicas: u32,
    /// True when every replica of `replicas` is ready and no other pod runs.
    pub settled: bool,
}

impl Fleet {
    /// Reads the replica count and whether the controller has caught up with it.
    pub fn of(sts: &StatefulSet) -> Fleet {
        let replicas = sts.spec.replicas.unwrap_or(1).max(0) as u32;
        let status = sts.status.as_ref();
        let ready = status.and_then(|s| s.ready_replicas).unwrap_or(0).max(0) as u32;
        let current = status.map_or(0, |s| s.replicas.max(0) as u32);
        let observed = status.and_then(|s| s.observed_generation);
        let generation = sts.metadata.generation;
        Fleet {
            replicas,
            settled: ready >= replicas && current == replicas && (generation.is_none() || observed >= generation),
        }
    }
}

/// The next filter for a shard holding `held` (if any) when the fleet looks like `fleet`; `None`
/// when nothing changes.
pub fn next_filter(method: Method, ordinal: u32, held: Option<&ShardFilter>, fleet: Fleet) -> Option<ShardFilter> {
    let target = Assignment {
        ordinal,
        total: fleet.replicas,
    };
    let Some(held) = held else {
        return Some(ShardFilter::new(method, target));
    };
    let current = held.current();
    let next = if !target.is_valid() {
        // This pod is being scaled away: its objects stay served until it stops.
        return None;
    } else if target != current {
        if fleet.settled {
            ShardFilter::new(method, target)
        } else {
            ShardFilter::handover(method, target, current)
        }
    } else if fleet.settled {
        ShardFilter::new(method, target)
    } else {
        return None;
    };
    (&next != held).then_some(next)
}

/// Finds this pod's StatefulSet and ordinal, then follows the StatefulSet, publishing the
/// filter on `tx` and KSM's sharding gauges. Runs until aborted; API errors are retried.
pub async fn run(
    client: Client,
    pod: String,
    namespace: String,
    method: Method,
    tx: watch::Sender<Option<ShardFilter>>,
    telemetry: std::sync::Arc<Telemetry>,
) {
    let pods: Api<Pod> = Api::namespaced(client.clone(), &namespace);
    let mut delay = std::time::Duration::from_secs(1);
    let (sts, ordinal) = loop {
        let found = match pods.get(&pod).await {
            Ok(p) => stateful_set_ordinal(&p),
            Err(e) => Err(format!(
                "cannot read pod {namespace}/{pod}: {}",
                crate::watch::error_chain(&e)
            )),
        };
        match found {
            Ok(found) => break found,
            Err(message) => {
                tracing::error!(error = %message, "auto-sharding: no shard assignment yet; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(std::time::Duration::from_secs(30));
            }
        }
    };
    tracing::info!(statefulset = %sts, ordinal, "auto-sharding: following the StatefulSet's replicas");
    let sets: Api<StatefulSet> = Api::namespaced(client, &namespace);
    let config = watcher::Config::default().fields(&format!("metadata.name={sts}"));
    let mut events = watcher::watcher(sets, config).default_backoff().boxed();
    while let Some(event) = events.next().await {
        let sts_obj = match event {
            Ok(Event::Apply(s) | Event::InitApply(s)) => s,
            Ok(_) => continue,
            Err(e) => {
                tracing::warn!(statefulset = %sts, error = %e, "auto-sharding: watching the StatefulSet failed; retrying");
                continue;
            }
        };
        let fleet = Fleet::of(&sts_obj);
        let held = tx.borrow().clone();
        if let Some(next) = next_filter(method, ordinal, held.as_ref(), fleet) {
            let current = next.current();
            telemetry.set_shard(current.ordinal, current.total);
            tracing::info!(
                shard = %current,
                handing_over = next != ShardFilter::new(method, current),
                "auto-sharding: assignment updated"
            );
            tx.send_replace(Some(next));
        } else if !(Assignment {
            ordinal,
            total: fleet.replicas,
        })
        .is_valid()
        {
            tracing::info!(
                statefulset = %sts,
                ordinal,
                replicas = fleet.replicas,
                "auto-sharding: this pod is being scaled away; serving its last assignment until stopped"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, owner: Option<(&str, &str)>) -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {
                "name": name,
                "namespace": "monitoring",
                "ownerReferences": owner.map(|(kind, owner)| vec![serde_json::json!({
                    "apiVersion": "apps/v1", "kind": kind, "name": owner, "uid": "u", "controller": true
                })]),
            }
        }))
        .unwrap()
    }

    #[test]
    fn the_ordinal_comes_from_the_controlling_statefulset() {
        assert_eq!(
            stateful_set_ordinal(&pod("kse-shard-12", Some(("StatefulSet", "kse-shard")))),
            Ok(("kse-shard".to_string(), 12))
        );
        assert!(
            stateful_set_ordinal(&pod("kse-abc12", Some(("ReplicaSet", "kse-abc"))))
                .unwrap_err()
                .contains("not a StatefulSet")
        );
        assert!(
            stateful_set_ordinal(&pod("kse-x", Some(("StatefulSet", "kse"))))
                .unwrap_err()
                .contains("is not kse-<ordinal>")
        );
        assert!(
            stateful_set_ordinal(&pod("kse-0", None))
                .unwrap_err()
                .contains("no controller")
        );
    }

    fn fleet(replicas: u32, settled: bool) -> Fleet {
        Fleet { replicas, settled }
    }

    fn a(ordinal: u32, total: u32) -> Assignment {
        Assignment { ordinal, total }
    }

    #[test]
    fn a_scale_up_hands_over_until_the_new_shards_are_ready() {
        let m = Method::Jump;
        let first = next_filter(m, 1, None, fleet(3, false)).unwrap();
        assert_eq!(first, ShardFilter::new(m, a(1, 3)));
        assert_eq!(next_filter(m, 1, Some(&first), fleet(3, true)), None);
        let handing = next_filter(m, 1, Some(&first), fleet(5, false)).unwrap();
        assert_eq!(handing, ShardFilter::handover(m, a(1, 5), a(1, 3)));
        assert_eq!(next_filter(m, 1, Some(&handing), fleet(5, false)), None);
        let settled = next_filter(m, 1, Some(&handing), fleet(5, true)).unwrap();
        assert_eq!(settled, ShardFilter::new(m, a(1, 5)));
        assert!(settled.is_narrowing_of(&handing), "settling drops objects in place");
    }

    #[test]
    fn a_pod_scaled_away_keeps_its_last_assignment() {
        let m = Method::Jump;
        let held = ShardFilter::new(m, a(4, 5));
        assert_eq!(next_filter(m, 4, Some(&held), fleet(2, false)), None);
        assert_eq!(next_filter(m, 4, Some(&held), fleet(2, true)), None);
        // A remaining shard gains objects: it lists with both until settled.
        let held = ShardFilter::new(m, a(1, 5));
        let gaining = next_filter(m, 1, Some(&held), fleet(2, false)).unwrap();
        assert!(!gaining.is_narrowing_of(&held));
        assert_eq!(
            next_filter(m, 1, Some(&gaining), fleet(2, true)),
            Some(ShardFilter::new(m, a(1, 2)))
        );
    }

    #[test]
    fn settled_means_every_replica_ready_and_observed() {
        let sts: StatefulSet = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "kse", "generation": 3},
            "spec": {"replicas": 5, "selector": {}, "serviceName": "kse", "template": {}},
            "status": {"replicas": 5, "readyReplicas": 5, "observedGeneration": 3}
        }))
        .unwrap();
        assert_eq!(Fleet::of(&sts), fleet(5, true));
        let mut lagging = sts.clone();
        lagging.status.as_mut().unwrap().observed_generation = Some(2);
        assert_eq!(Fleet::of(&lagging), fleet(5, false));
        let mut unready = sts.clone();
        unready.status.as_mut().unwrap().ready_replicas = Some(4);
        assert_eq!(Fleet::of(&unready), fleet(5, false));
        let mut extra = sts;
        extra.status.as_mut().unwrap().replicas = 6;
        assert_eq!(Fleet::of(&extra), fleet(5, false));
    }
}
