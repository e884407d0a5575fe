//! The registry of resource kinds the exporter knows: the one place that maps KSM resource
//! names and Kubernetes `kind`s to the typed family modules. Everything else works on
//! `dyn KindHandle`.

use std::any::TypeId;
use std::sync::Arc;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::kube_aggregator::pkg::apis::apiregistration::v1::APIService;
use kube::Client;
use tokio::task::JoinSet;

use crate::families::{Allowlists, EnabledFamilies, FamilyFilter, ObjectFamilies, RenderContext};
use crate::store::{KindStore, ObjectKey, Store};
use crate::telemetry::Telemetry;
use crate::watch::{self, KindRenderer, WatchSettings};

/// KSM resource names this exporter serves, sorted.
pub const RESOURCES: &[&str] = &[
    "apiservices",
    "daemonsets",
    "deployments",
    "horizontalpodautoscalers",
    "jobs",
    "nodes",
    "pods",
];

/// A resource kind, type-erased.
pub trait KindHandle: Send + Sync {
    /// KSM resource name (`pods`).
    fn resource(&self) -> &'static str;
    /// Kubernetes kind (`Pod`).
    fn kind(&self) -> &'static str;
    /// Whether objects live in namespaces.
    fn namespaced(&self) -> bool;
    /// An empty store for this kind, one scope per namespace (cluster-scoped kinds get one).
    fn new_store(&self, namespaces: &[String]) -> KindStore;
    /// Starts one watcher per scope of this kind's store.
    fn spawn_watchers(
        &self,
        client: &Client,
        store: &Arc<Store>,
        settings: &WatchSettings,
        telemetry: &Arc<Telemetry>,
        tasks: &mut JoinSet<()>,
    );
    /// Decodes one object and stores its rendering (for `render`); the error says why not.
    fn store_json(&self, store: &Store, object: serde_json::Value) -> Result<(), String>;
}

struct Kind<K: 'static> {
    renderer: Arc<KindRenderer<K>>,
}

impl<K: ObjectFamilies + k8s_openapi::Resource> KindHandle for Kind<K>
where
    <K as k8s_openapi::Resource>::Scope: 'static,
{
    fn resource(&self) -> &'static str {
        K::RESOURCE
    }

    fn kind(&self) -> &'static str {
        <K as ObjectFamilies>::KIND
    }

    fn namespaced(&self) -> bool {
        TypeId::of::<<K as k8s_openapi::Resource>::Scope>() == TypeId::of::<NamespaceResourceScope>()
    }

    fn new_store(&self, namespaces: &[String]) -> KindStore {
        let namespaces = if self.namespaced() { namespaces } else { &[] };
        KindStore::new(K::RESOURCE, self.renderer.families.headers(), namespaces)
    }

    fn spawn_watchers(
        &self,
        client: &Client,
        store: &Arc<Store>,
        settings: &WatchSettings,
        telemetry: &Arc<Telemetry>,
        tasks: &mut JoinSet<()>,
    ) {
        let scopes = store.kind(K::RESOURCE).map(|k| k.scopes().len()).unwrap_or(0);
        for scope in 0..scopes {
            tasks.spawn(watch::run::<K>(
                client.clone(),
                scope,
                store.clone(),
                self.renderer.clone(),
                settings.clone(),
                telemetry.clone(),
            ));
        }
    }

    fn store_json(&self, store: &Store, object: serde_json::Value) -> Result<(), String> {
        let obj: K = serde_json::from_value(object).map_err(|e| e.to_string())?;
        let kind = store
            .kind(K::RESOURCE)
            .ok_or_else(|| format!("{} is not enabled", K::RESOURCE))?;
        let meta = kube::Resource::meta(&obj);
        let scope = kind
            .scopes()
            .iter()
            .find(|s| s.namespace().is_none() || s.namespace() == meta.namespace.as_deref())
            .ok_or_else(|| format!("namespace {:?} is not selected", meta.namespace))?;
        let key = ObjectKey::new(meta.namespace.as_deref(), meta.name.as_deref());
        let renderer = &self.renderer;
        // Files carry no meaningful resourceVersion; later documents win.
        scope.delete(&key, "");
        scope.apply(
            key,
            meta.uid.as_deref().unwrap_or(""),
            meta.resource_version.as_deref().unwrap_or(""),
            || renderer.families.render(&obj, &renderer.context),
        );
        Ok(())
    }
}

fn kind<K: ObjectFamilies + k8s_openapi::Resource>(
    filter: &FamilyFilter,
    allowlists: &Allowlists,
) -> Box<dyn KindHandle>
where
    <K as k8s_openapi::Resource>::Scope: 'static,
{
    Box::new(Kind::<K> {
        renderer: Arc::new(KindRenderer {
            families: EnabledFamilies::new(filter),
            context: RenderContext::for_resource(allowlists, K::RESOURCE),
        }),
    })
}

/// Every known kind whose resource name passes `enabled`, configured with the family filter and
/// allowlists; in resource-name order.
pub fn registry(enabled: &[String], filter: &FamilyFilter, allowlists: &Allowlists) -> Vec<Box<dyn KindHandle>> {
    let all: Vec<Box<dyn KindHandle>> = vec![
        kind::<APIService>(filter, allowlists),
        kind::<DaemonSet>(filter, allowlists),
        kind::<Deployment>(filter, allowlists),
        kind::<HorizontalPodAutoscaler>(filter, allowlists),
        kind::<Job>(filter, allowlists),
        kind::<Node>(filter, allowlists),
        kind::<Pod>(filter, allowlists),
    ];
    all.into_iter()
        .filter(|k| enabled.iter().any(|e| e == k.resource()))
        .collect()
}

/// Builds the store for a set of kinds.
pub fn build_store(kinds: &[Box<dyn KindHandle>], namespaces: &[String]) -> Store {
    Store::new(kinds.iter().map(|k| k.new_store(namespaces)).collect())
}
