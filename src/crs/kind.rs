//! A configured custom resource as a kind of the store: watched through kube's dynamic API,
//! read as JSON, rendered by its CRS families, and otherwise stored, relisted and served like
//! every compiled-in kind (the same [`Watched`] watcher, the same [`KindHandle`] seam).
//!
//! Which GVKs are watched, at which URL and whether namespaced, comes from discovery
//! ([`super::discovery`]): the kinds here exist only while their CRD serves them
//! ([`super::live`] starts and stops them).

use std::borrow::Cow;
use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::core::{ApiResource, DynamicResourceScope, GroupVersionKind as KubeGvk};
use kube::{Api, Client};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use tokio::task::JoinSet;

use super::config::{GroupVersionKind, Resource};
use super::discovery::{Resolved, ServedKind};
use super::families::{Family, SkipHook, Skipped};
use crate::families::{FamilyDef, FamilyFilter, FamilyHeader, RenderContext, Rendered, render_with};
use crate::kinds::{KindHandle, store_file_object};
use crate::store::{KindStore, Store};
use crate::telemetry::Telemetry;
use crate::watch::{self, Decoded, WatchSettings, Watched};

/// A custom resource as read off the wire: its metadata for the store, the whole object (as
/// JSON) for the configured paths.
#[derive(Clone, Debug)]
pub struct CrObject {
    meta: ObjectMeta,
    value: Value,
}

impl CrObject {
    /// The whole object.
    pub fn value(&self) -> &Value {
        &self.value
    }
}

impl<'de> Deserialize<'de> for CrObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        let meta = match value.get("metadata") {
            Some(m) => ObjectMeta::deserialize(m).map_err(serde::de::Error::custom)?,
            None => return Err(serde::de::Error::custom("object without metadata")),
        };
        Ok(CrObject { meta, value })
    }
}

impl kube::Resource for CrObject {
    type DynamicType = ApiResource;
    type Scope = DynamicResourceScope;

    fn kind(dt: &ApiResource) -> Cow<'_, str> {
        dt.kind.as_str().into()
    }
    fn group(dt: &ApiResource) -> Cow<'_, str> {
        dt.group.as_str().into()
    }
    fn version(dt: &ApiResource) -> Cow<'_, str> {
        dt.version.as_str().into()
    }
    fn api_version(dt: &ApiResource) -> Cow<'_, str> {
        dt.api_version.as_str().into()
    }
    fn plural(dt: &ApiResource) -> Cow<'_, str> {
        dt.plural.as_str().into()
    }
    fn meta(&self) -> &ObjectMeta {
        &self.meta
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.meta
    }
}

/// One configured resource, made concrete by discovery, as a kind.
pub struct CrKind {
    /// [`Resolved::name`].
    resource: String,
    gvk: GroupVersionKind,
    namespaced: bool,
    api: ApiResource,
    defs: Vec<FamilyDef<Value>>,
    context: RenderContext,
}

impl CrKind {
    /// The kind for a resolved resource, its families filtered by `--metric-allowlist` and
    /// `--metric-denylist`; samples its paths cannot produce are counted in `telemetry`.
    pub fn new(resolved: &Resolved, filter: &FamilyFilter, telemetry: Option<&Arc<Telemetry>>) -> CrKind {
        let served = &resolved.served;
        let gvk = served.gvk();
        let api = ApiResource::from_gvk_with_plural(&KubeGvk::gvk(&gvk.group, &gvk.version, &gvk.kind), &served.plural);
        let hook = skip_hook(&resolved.name, telemetry.cloned());
        let defs = resolved
            .resource
            .families(&gvk)
            .into_iter()
            .filter(|f| filter.enabled(f.name(), false))
            .map(|f| f.into_family_def(hook.clone()))
            .collect();
        CrKind {
            resource: resolved.name.clone(),
            gvk,
            namespaced: served.namespaced,
            api,
            defs,
            context: RenderContext::default(),
        }
    }

    /// The group, version and kind it watches.
    pub fn gvk(&self) -> &GroupVersionKind {
        &self.gvk
    }
}

/// Counts what a family skipped; the details are debug lines (KSM logs them at the family's
/// `errorLogV`, hidden by default).
fn skip_hook(resource: &str, telemetry: Option<Arc<Telemetry>>) -> SkipHook {
    let resource = resource.to_string();
    Arc::new(move |family: &Family, skipped: &Skipped| {
        if let Some(t) = &telemetry {
            t.crs
                .samples_skipped
                .with_label_values(&[&resource, family.name()])
                .inc_by(skipped.count() as u64);
        }
        tracing::debug!(
            resource,
            family = family.name(),
            errors = ?skipped.errors,
            duplicates = skipped.duplicates,
            "custom resource samples skipped"
        );
    })
}

/// The handles of resolved custom resources, to serve beside the built-in kinds.
pub fn handles(
    resolved: &[Resolved],
    filter: &FamilyFilter,
    telemetry: Option<&Arc<Telemetry>>,
) -> Vec<Box<dyn KindHandle>> {
    resolved
        .iter()
        .map(|r| Box::new(CrHandle(Arc::new(CrKind::new(r, filter, telemetry)))) as Box<dyn KindHandle>)
        .collect()
}

/// The name a concretely configured resource is known by before discovery knows its CRD:
/// `{plural}.{group}` (a custom resource's plural may equal a built-in one: Knative's
/// `services`), with `resourcePlural` or the kind pluralised for the plural.
pub fn store_name(resource: &Resource) -> String {
    format!("{}.{}", plural(resource), resource.group_version_kind.group)
}

/// `resourcePlural`, else the lower-cased kind pluralised, the URL KSM watches.
fn plural(resource: &Resource) -> String {
    if resource.resource_plural.is_empty() {
        pluralize(&resource.group_version_kind.kind.to_lowercase())
    } else {
        resource.resource_plural.clone()
    }
}

/// What files hold, as if a cluster served it: for `render`, which has no API server to ask,
/// every `apiVersion`/`kind` of the objects a configured resource matches, with `resourcePlural`
/// (or the kind pluralised) for the plural.
pub fn served_in_files<'a>(resources: &[Resource], objects: impl Iterator<Item = &'a Value>) -> Vec<ServedKind> {
    let mut served = Vec::new();
    for obj in objects {
        let field = |k: &str| obj.get(k).and_then(Value::as_str).unwrap_or("");
        let (api_version, kind) = (field("apiVersion"), field("kind"));
        // The core group's apiVersion is the version alone.
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        if version.is_empty() {
            continue;
        }
        let configured = resources.iter().find(|r| {
            let gvk = &r.group_version_kind;
            gvk.group == group
                && (gvk.version_is_wildcard() || gvk.version == version)
                && (gvk.kind_is_wildcard() || gvk.kind == kind)
        });
        let Some(resource) = configured else { continue };
        let plural = if resource.resource_plural.is_empty() || resource.group_version_kind.kind_is_wildcard() {
            pluralize(&kind.to_lowercase())
        } else {
            resource.resource_plural.clone()
        };
        served.push(ServedKind {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
            plural,
            namespaced: obj.pointer("/metadata/namespace").is_some(),
        });
    }
    served
}

/// English plural of a lower-cased kind, as KSM derives `resourcePlural` when it is not set
/// (irregular plurals need `resourcePlural`, as with KSM).
fn pluralize(kind: &str) -> String {
    let vowel_before = |s: &str| s.chars().rev().nth(1).is_some_and(|c| "aeiou".contains(c));
    if kind.ends_with('y') && !vowel_before(kind) {
        format!("{}ies", &kind[..kind.len() - 1])
    } else if ["s", "x", "z", "ch", "sh"].iter().any(|e| kind.ends_with(e)) {
        format!("{kind}es")
    } else {
        format!("{kind}s")
    }
}

impl Watched for CrKind {
    type Object = CrObject;

    fn resource(&self) -> &str {
        &self.resource
    }

    fn namespaced(&self) -> bool {
        self.namespaced
    }

    fn api(&self, client: Client, namespace: Option<&str>) -> Api<Decoded<CrObject>> {
        match namespace {
            Some(ns) => Api::namespaced_with(client, ns, &self.api),
            None => Api::all_with(client, &self.api),
        }
    }

    fn render(&self, obj: &CrObject) -> Rendered {
        render_with(&self.defs, &obj.value, &self.context, b"", None)
    }
}

/// A shared [`CrKind`] as a [`KindHandle`].
pub struct CrHandle(pub Arc<CrKind>);

impl KindHandle for CrHandle {
    fn resource(&self) -> &str {
        &self.0.resource
    }

    fn kind(&self) -> &str {
        &self.0.gvk.kind
    }

    fn namespaced(&self) -> bool {
        self.0.namespaced()
    }

    fn new_store(&self, namespaces: &[String]) -> KindStore {
        let namespaces = if self.0.namespaced { namespaces } else { &[] };
        let headers: Vec<FamilyHeader> = self
            .0
            .defs
            .iter()
            .map(|d| FamilyHeader::new(d.name.clone(), &d.full_help(), d.metric_type))
            .collect();
        KindStore::new(self.0.resource.clone(), headers, namespaces)
    }

    fn spawn_watchers(
        &self,
        client: &Client,
        kind: &Arc<KindStore>,
        settings: &WatchSettings,
        telemetry: &Arc<Telemetry>,
        tasks: &mut JoinSet<()>,
    ) {
        watch::spawn_scopes(&self.0, client, kind, settings, telemetry, tasks);
    }

    fn matches(&self, api_version: &str, kind: &str) -> bool {
        kind == self.0.gvk.kind && api_version == self.0.api.api_version
    }

    fn store_json(&self, store: &Store, object: Value) -> Result<(), String> {
        let obj: CrObject = serde_json::from_value(object).map_err(|e| e.to_string())?;
        store_file_object(store, &self.0.resource, &obj.meta, || self.0.render(&obj))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(namespaced: bool) -> Resolved {
        let config = "kind: CustomResourceStateMetrics\nspec:\n  resources:\n    - groupVersionKind: {group: acme.example, version: v1, kind: Widget}\n      metrics:\n        - {name: up, help: Up., each: {type: Gauge, gauge: {path: [spec, up]}}}\n";
        let resource = crate::crs::parse(config).unwrap().resources.remove(0);
        let served = ServedKind {
            group: "acme.example".into(),
            version: "v1".into(),
            kind: "Widget".into(),
            plural: "widgets".into(),
            namespaced,
        };
        super::super::discovery::resolve(&[resource], &[served]).remove(0)
    }

    #[test]
    fn samples_a_path_cannot_produce_are_counted_per_resource_and_family() {
        let telemetry = Arc::new(Telemetry::new().unwrap());
        let kind = CrKind::new(&resolved(true), &FamilyFilter::default(), Some(&telemetry));
        let obj = |json: &str| -> CrObject { serde_json::from_str(json).unwrap() };
        let skipped = || {
            telemetry
                .crs
                .samples_skipped
                .with_label_values(&["widgets.acme.example", "kube_customresource_up"])
                .get()
        };
        let up = kind.render(&obj(r#"{"metadata":{"name":"a"},"spec":{"up":1}}"#));
        assert_eq!(up.family(0), b"kube_customresource_up{customresource_group=\"acme.example\",customresource_kind=\"Widget\",customresource_version=\"v1\"} 1\n");
        assert_eq!(skipped(), 0);
        let missing = kind.render(&obj(r#"{"metadata":{"name":"b"},"spec":{}}"#));
        assert!(missing.family(0).is_empty());
        assert_eq!(skipped(), 1);
    }

    #[test]
    fn namespaces_scope_namespaced_custom_resources_only() {
        let namespaces = ["b".to_string(), "a".to_string()];
        let scoped = CrHandle(Arc::new(CrKind::new(&resolved(true), &FamilyFilter::default(), None)));
        let store = scoped.new_store(&namespaces);
        let scopes: Vec<Option<&str>> = store.scopes().iter().map(|s| s.namespace()).collect();
        assert_eq!(scopes, [Some("a"), Some("b")]);
        let cluster = CrHandle(Arc::new(CrKind::new(&resolved(false), &FamilyFilter::default(), None)));
        let store = cluster.new_store(&namespaces);
        assert_eq!(store.scopes().len(), 1);
        assert_eq!(
            store.scopes()[0].namespace(),
            None,
            "a cluster-scoped kind is watched cluster-wide"
        );
        assert_eq!(store.resource(), "widgets.acme.example");
        assert!(cluster.matches("acme.example/v1", "Widget"));
        assert!(!cluster.matches("acme.example/v2", "Widget"));
    }

    #[test]
    fn kinds_are_pluralised_as_english_nouns() {
        for (kind, plural) in [
            ("widget", "widgets"),
            ("policy", "policies"),
            ("gateway", "gateways"),
            ("ingress", "ingresses"),
            ("box", "boxes"),
            ("batch", "batches"),
            ("mesh", "meshes"),
        ] {
            assert_eq!(pluralize(kind), plural, "{kind}");
        }
    }
}
