//! The registry of resource kinds the exporter knows, derived from the kind table in
//! [`crate::families`]: resource names, Kubernetes API coordinates and default enablement come from
//! each kind's type, so no other list of kinds exists. Everything else works on `dyn KindHandle`.

use std::sync::{Arc, LazyLock};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Client;
use tokio::task::JoinSet;

use crate::families::{
    Allowlists, EnabledFamilies, Enablement, FamilyFilter, KindVisitor, ObjectFamilies, RenderContext,
};
use crate::store::{KindStore, ObjectKey, Store};
use crate::telemetry::Telemetry;
use crate::watch::{self, KindRenderer, WatchSettings, Watched};

/// One row of the kind table: where the kind lives in the Kubernetes API and how to build it.
pub struct KindEntry {
    /// KSM resource name, also the URL plural (`pods`, `horizontalpodautoscalers`).
    pub resource: &'static str,
    /// Kubernetes kind (`Pod`).
    pub kind: &'static str,
    /// API group, `""` for the core group.
    pub group: &'static str,
    /// API version (`v1`).
    pub version: &'static str,
    /// `v1` or `group/version`.
    pub api_version: &'static str,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
    /// Whether the kind is on without `--resources`.
    pub enablement: Enablement,
    make: fn(&FamilyFilter, &Allowlists) -> Box<dyn KindHandle>,
}

impl KindEntry {
    /// The cluster-wide list path (`/api/v1/pods`, `/apis/apps/v1/deployments`).
    pub fn list_path(&self) -> String {
        if self.group.is_empty() {
            format!("/api/{}/{}", self.version, self.resource)
        } else {
            format!("/apis/{}/{}/{}", self.group, self.version, self.resource)
        }
    }

    /// The Go type name KSM labels its list/watch counters with (`*v1.Pod`,
    /// `*v2.HorizontalPodAutoscaler`): the package is the API version.
    pub fn go_type(&self) -> String {
        format!("*{}.{}", self.version, self.kind)
    }

    /// A handle configured with the family filter and allowlists.
    pub fn handle(&self, filter: &FamilyFilter, allowlists: &Allowlists) -> Box<dyn KindHandle> {
        (self.make)(filter, allowlists)
    }
}

struct TableBuilder(Vec<KindEntry>);

impl KindVisitor for TableBuilder {
    fn visit<K: ObjectFamilies>(&mut self, enablement: Enablement) {
        self.0.push(KindEntry {
            resource: K::URL_PATH_SEGMENT,
            kind: <K as k8s_openapi::Resource>::KIND,
            group: <K as k8s_openapi::Resource>::GROUP,
            version: <K as k8s_openapi::Resource>::VERSION,
            api_version: <K as k8s_openapi::Resource>::API_VERSION,
            namespaced: K::namespaced(),
            enablement,
            make: handle::<K>,
        });
    }
}

static TABLE: LazyLock<Vec<KindEntry>> = LazyLock::new(|| {
    let mut builder = TableBuilder(Vec::new());
    crate::families::visit_kinds(&mut builder);
    builder.0.sort_by_key(|e| e.resource);
    builder.0
});

static RESOURCES: LazyLock<Vec<&'static str>> = LazyLock::new(|| TABLE.iter().map(|e| e.resource).collect());

static DEFAULT_RESOURCES: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    TABLE
        .iter()
        .filter(|e| e.enablement == Enablement::Default)
        .map(|e| e.resource)
        .collect()
});

/// Every built-in kind, sorted by resource name.
pub fn table() -> &'static [KindEntry] {
    &TABLE
}

/// Every resource name this exporter serves, sorted.
pub fn resources() -> &'static [&'static str] {
    &RESOURCES
}

/// The resources on when `--resources` is not given: KSM's default set (plus `apiservices`).
pub fn default_resources() -> &'static [&'static str] {
    &DEFAULT_RESOURCES
}

/// The table row of a resource name.
pub fn entry(resource: &str) -> Option<&'static KindEntry> {
    TABLE.iter().find(|e| e.resource == resource)
}

/// A resource kind, type-erased.
pub trait KindHandle: Send + Sync {
    /// KSM resource name (`pods`).
    fn resource(&self) -> &str;
    /// Kubernetes kind (`Pod`).
    fn kind(&self) -> &str;
    /// Whether objects live in namespaces.
    fn namespaced(&self) -> bool;
    /// An empty store for this kind, one scope per namespace (cluster-scoped kinds get one).
    fn new_store(&self, namespaces: &[String]) -> KindStore;
    /// Starts one watcher per scope of `kind`, this kind's store.
    fn spawn_watchers(
        &self,
        client: &Client,
        kind: &Arc<KindStore>,
        settings: &WatchSettings,
        telemetry: &Arc<Telemetry>,
        tasks: &mut JoinSet<()>,
    );
    /// Whether an object of this `apiVersion` and `kind` is of this kind (for `render`).
    fn matches(&self, api_version: &str, kind: &str) -> bool;
    /// Decodes one object and stores its rendering (for `render`); the error says why not.
    fn store_json(&self, store: &Store, object: serde_json::Value) -> Result<(), String>;
}

/// Stores one object read from a file (`render`) under `resource`: files carry no meaningful
/// resourceVersion, so a later document with the same name replaces an earlier one.
pub fn store_file_object(
    store: &Store,
    resource: &str,
    meta: &ObjectMeta,
    render: impl FnOnce() -> crate::families::Rendered,
) -> Result<(), String> {
    let kind = store
        .kind(resource)
        .ok_or_else(|| format!("{resource} is not enabled"))?;
    let scope = kind
        .scopes()
        .iter()
        .find(|s| s.namespace().is_none() || s.namespace() == meta.namespace.as_deref())
        .ok_or_else(|| format!("namespace {:?} is not selected", meta.namespace))?;
    let key = ObjectKey::new(meta.namespace.as_deref(), meta.name.as_deref());
    scope.delete(&key, "");
    scope.apply(
        key,
        meta.uid.as_deref().unwrap_or(""),
        meta.resource_version.as_deref().unwrap_or(""),
        render,
    );
    Ok(())
}

struct Kind<K: 'static> {
    renderer: Arc<KindRenderer<K>>,
}

impl<K: ObjectFamilies> KindHandle for Kind<K> {
    fn resource(&self) -> &str {
        K::URL_PATH_SEGMENT
    }

    fn kind(&self) -> &str {
        <K as k8s_openapi::Resource>::KIND
    }

    fn namespaced(&self) -> bool {
        K::namespaced()
    }

    fn new_store(&self, namespaces: &[String]) -> KindStore {
        let namespaces = if self.namespaced() { namespaces } else { &[] };
        KindStore::new(K::URL_PATH_SEGMENT, self.renderer.families.headers(), namespaces)
    }

    fn spawn_watchers(
        &self,
        client: &Client,
        kind: &Arc<KindStore>,
        settings: &WatchSettings,
        telemetry: &Arc<Telemetry>,
        tasks: &mut JoinSet<()>,
    ) {
        watch::spawn_scopes(&self.renderer, client, kind, settings, telemetry, tasks);
    }

    /// Any version of the kind's group (files may hold `autoscaling/v1` HPAs), or no
    /// `apiVersion` at all; a custom resource of the same kind name in another group is not it.
    fn matches(&self, api_version: &str, kind: &str) -> bool {
        let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
        kind == self.kind() && (api_version.is_empty() || group == <K as k8s_openapi::Resource>::GROUP)
    }

    fn store_json(&self, store: &Store, object: serde_json::Value) -> Result<(), String> {
        let obj: K = serde_json::from_value(object).map_err(|e| e.to_string())?;
        store_file_object(store, K::URL_PATH_SEGMENT, kube::Resource::meta(&obj), || {
            self.renderer.render(&obj)
        })
    }
}

fn handle<K: ObjectFamilies>(filter: &FamilyFilter, allowlists: &Allowlists) -> Box<dyn KindHandle> {
    Box::new(Kind::<K> {
        renderer: Arc::new(KindRenderer {
            families: EnabledFamilies::new(filter),
            context: RenderContext::for_resource(allowlists, K::URL_PATH_SEGMENT),
        }),
    })
}

/// The kinds whose resource name is in `enabled`, configured with the family filter and
/// allowlists; in resource-name order.
pub fn registry(enabled: &[String], filter: &FamilyFilter, allowlists: &Allowlists) -> Vec<Box<dyn KindHandle>> {
    TABLE
        .iter()
        .filter(|e| enabled.iter().any(|r| r == e.resource))
        .map(|e| e.handle(filter, allowlists))
        .collect()
}

/// Builds the store for a set of kinds.
pub fn build_store(kinds: &[Box<dyn KindHandle>], namespaces: &[String]) -> Store {
    Store::new(kinds.iter().map(|k| k.new_store(namespaces)).collect())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn table_is_sorted_unique_and_matches_ksm_default_set() {
        let names = resources();
        assert!(names.windows(2).all(|w| w[0] < w[1]), "{names:?}");
        let opt_in: Vec<&str> = table()
            .iter()
            .filter(|e| e.enablement == Enablement::OptIn)
            .map(|e| e.resource)
            .collect();
        // KSM v2.20's resources that are off unless named in --resources.
        assert_eq!(
            opt_in,
            [
                "clusterrolebindings",
                "clusterroles",
                "endpoints",
                "ingressclasses",
                "rolebindings",
                "roles",
                "serviceaccounts"
            ]
        );
        assert_eq!(default_resources().len() + opt_in.len(), names.len());
    }

    #[test]
    fn table_rows_carry_api_coordinates() {
        let pods = entry("pods").unwrap();
        assert_eq!(
            (pods.group, pods.version, pods.kind, pods.namespaced),
            ("", "v1", "Pod", true)
        );
        assert_eq!(pods.list_path(), "/api/v1/pods");
        let hpa = entry("horizontalpodautoscalers").unwrap();
        assert_eq!(hpa.api_version, "autoscaling/v2");
        assert_eq!(hpa.list_path(), "/apis/autoscaling/v2/horizontalpodautoscalers");
        let nodes = entry("nodes").unwrap();
        assert!(!nodes.namespaced);
        assert!(entry("configmap").is_none());
    }

    /// `examples/kubernetes/rbac.yaml` grants list and watch on every resource of the table and
    /// nothing the exporter does not use: a kind missing there is a 403 in production that no
    /// other test sees.
    #[test]
    fn rbac_example_grants_exactly_what_the_exporter_uses() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/kubernetes/rbac.yaml");
        let docs: Vec<serde_json::Value> =
            serde_saphyr::from_multiple(&std::fs::read_to_string(path).unwrap()).unwrap();
        let role = docs
            .iter()
            .find(|d| d["kind"] == "ClusterRole")
            .expect("rbac.yaml has a ClusterRole");
        let mut granted: BTreeSet<(String, String, String)> = BTreeSet::new();
        for rule in role["rules"].as_array().unwrap() {
            let strings = |key: &str| -> Vec<String> {
                rule[key]
                    .as_array()
                    .unwrap_or_else(|| panic!("rule without {key}: {rule}"))
                    .iter()
                    .map(|v| v.as_str().unwrap().to_string())
                    .collect()
            };
            for group in strings("apiGroups") {
                for resource in strings("resources") {
                    for verb in strings("verbs") {
                        granted.insert((group.clone(), resource.clone(), verb));
                    }
                }
            }
        }
        let mut needed: BTreeSet<(String, String, String)> = BTreeSet::new();
        for e in table() {
            for verb in ["list", "watch"] {
                needed.insert((e.group.into(), e.resource.into(), verb.into()));
            }
        }
        // The usage poller reads metrics-server's NodeMetrics and PodMetrics.
        for resource in ["nodes", "pods"] {
            for verb in ["get", "list"] {
                needed.insert((crate::usage::poll::GROUP.into(), resource.into(), verb.into()));
            }
        }
        let missing: Vec<_> = needed.difference(&granted).collect();
        let unused: Vec<_> = granted.difference(&needed).collect();
        assert!(
            missing.is_empty(),
            "rbac.yaml lacks (group, resource, verb): {missing:?}"
        );
        assert!(
            unused.is_empty(),
            "rbac.yaml grants what the exporter never uses: {unused:?}"
        );
    }
}
