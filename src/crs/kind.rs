//! A configured custom resource as a kind of the store: watched through kube's dynamic API,
//! read as JSON, rendered by its CRS families, and otherwise stored, relisted and served like
//! every compiled-in kind (the same [`Watched`] watcher, the same [`KindHandle`] seam).
//!
//! The GVK is watched at the URL KSM watches it at: `resourcePlural`, or the lower-cased kind
//! pluralised. A CRD that is not installed yet answers 404; the watcher retries with backoff
//! (shown on `/readyz` until the kind lists), so its objects are served once the CRD is
//! established, and when the CRD is deleted the API server deletes its objects first, whose
//! DELETED events take their series away.

use std::borrow::Cow;
use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::core::{ApiResource, DynamicResourceScope, GroupVersionKind as KubeGvk};
use kube::{Api, Client};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use tokio::task::JoinSet;

use super::config::{GroupVersionKind, Resource};
use super::families::{Family, Skipped};
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

/// One configured resource (a concrete GVK) as a kind.
pub struct CrKind {
    /// [`store_name`].
    resource: String,
    gvk: GroupVersionKind,
    api: ApiResource,
    defs: Vec<FamilyDef<Value>>,
    context: RenderContext,
}

impl CrKind {
    /// The kind for a configured resource, its families filtered by `--metric-allowlist` and
    /// `--metric-denylist`. Its GVK names one version and one kind (checked with the flags).
    pub fn new(resource: &Resource, filter: &FamilyFilter) -> CrKind {
        let gvk = resource.group_version_kind.clone();
        let api =
            ApiResource::from_gvk_with_plural(&KubeGvk::gvk(&gvk.group, &gvk.version, &gvk.kind), &plural(resource));
        let hook: super::families::SkipHook = Arc::new(report_skipped);
        let defs = resource
            .families(&gvk)
            .into_iter()
            .filter(|f| filter.enabled(f.name(), false))
            .map(|f| f.into_family_def(hook.clone()))
            .collect();
        CrKind {
            resource: store_name(resource),
            gvk,
            api,
            defs,
            context: RenderContext::default(),
        }
    }

    /// The configured group, version and kind.
    pub fn gvk(&self) -> &GroupVersionKind {
        &self.gvk
    }
}

/// KSM logs these at the family's `errorLogV`, hidden by default; here they are debug lines.
fn report_skipped(family: &Family, skipped: &Skipped) {
    tracing::debug!(
        family = family.name(),
        errors = ?skipped.errors,
        duplicates = skipped.duplicates,
        "custom resource samples skipped"
    );
}

/// The handles of the configured custom resources, to serve beside the built-in kinds.
pub fn handles(resources: &[Resource], filter: &FamilyFilter) -> Vec<Box<dyn KindHandle>> {
    resources
        .iter()
        .map(|r| Box::new(CrHandle(Arc::new(CrKind::new(r, filter)))) as Box<dyn KindHandle>)
        .collect()
}

/// The name the store, `/readyz` and `?resources=` know a custom resource by:
/// `{plural}.{group}`, since a custom resource's plural may equal a built-in one (Knative's
/// `services`).
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
        // Unknown without the CRD; the namespace field selector is harmless on cluster-scoped
        // custom resources (their namespace is empty).
        true
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
        store: &Arc<Store>,
        settings: &WatchSettings,
        telemetry: &Arc<Telemetry>,
        tasks: &mut JoinSet<()>,
    ) {
        watch::spawn_scopes(&self.0, client, store, settings, telemetry, tasks);
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
