//! One kube-runtime watcher per (kind, namespace scope), feeding rendered bytes into the store.
//!
//! The watcher lists page by page, then watches with bookmarks; each object is decoded,
//! rendered and dropped at once, so no full objects are ever kept. Errors never end a task: they
//! are logged with the resource, counted, shown on `/readyz` until the kind syncs, and retried
//! with kube's default backoff (800 ms doubling to 30 s, with jitter).

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client, Resource};
use serde::{Deserialize, Deserializer};

use crate::families::{EnabledFamilies, ObjectFamilies, RenderContext};
use crate::store::{ObjectKey, Relist, Scope};
use crate::telemetry::Telemetry;

/// An object as it came off the wire: decoded, or kept as metadata plus the decode error so a
/// single malformed object is skipped instead of failing the whole list page.
#[derive(Clone, Debug)]
// `Valid` is the common case; boxing it would add an allocation per object for nothing.
#[allow(clippy::large_enum_variant)]
pub enum Decoded<K> {
    /// A well-formed object.
    Valid(K),
    /// An object whose body did not match the schema.
    Malformed {
        /// Whatever metadata could be read (for logging and keeping its old rendering).
        metadata: ObjectMeta,
        /// The decode error.
        error: String,
    },
}

impl<'de, K: serde::de::DeserializeOwned> Deserialize<'de> for Decoded<K> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Capture the raw JSON (a scan and a copy, far cheaper than a `Value`) so a schema error
        // stays local to this object.
        let raw = Box::<serde_json::value::RawValue>::deserialize(d)?;
        match serde_json::from_str::<K>(raw.get()) {
            Ok(obj) => Ok(Decoded::Valid(obj)),
            Err(error) => {
                #[derive(Deserialize)]
                struct MetaOnly {
                    #[serde(default)]
                    metadata: ObjectMeta,
                }
                let metadata = serde_json::from_str::<MetaOnly>(raw.get())
                    .map(|m| m.metadata)
                    .unwrap_or_default();
                Ok(Decoded::Malformed {
                    metadata,
                    error: error.to_string(),
                })
            }
        }
    }
}

impl<K: Resource<DynamicType = ()>> Resource for Decoded<K> {
    type DynamicType = ();
    // Dynamic, so one code path serves all-namespace and per-namespace watches.
    type Scope = kube::core::DynamicResourceScope;

    fn kind(dt: &()) -> Cow<'_, str> {
        K::kind(dt)
    }
    fn group(dt: &()) -> Cow<'_, str> {
        K::group(dt)
    }
    fn version(dt: &()) -> Cow<'_, str> {
        K::version(dt)
    }
    fn plural(dt: &()) -> Cow<'_, str> {
        K::plural(dt)
    }
    fn meta(&self) -> &ObjectMeta {
        match self {
            Decoded::Valid(k) => k.meta(),
            Decoded::Malformed { metadata, .. } => metadata,
        }
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        match self {
            Decoded::Valid(k) => k.meta_mut(),
            Decoded::Malformed { metadata, .. } => metadata,
        }
    }
}

/// Settings shared by every watcher.
#[derive(Clone, Debug)]
pub struct WatchSettings {
    /// `limit` for the paginated initial list.
    pub page_size: u32,
    /// Namespaces whose objects a namespaced kind's lists and watches exclude
    /// (`--namespaces-denylist`).
    pub namespaces_denylist: Vec<String>,
}

/// What a watcher needs to render one kind.
pub struct KindRenderer<K: 'static> {
    /// Enabled families of the kind.
    pub families: EnabledFamilies<K>,
    /// Allowlists for the kind.
    pub context: RenderContext,
}

impl<K: ObjectFamilies> KindRenderer<K> {
    /// Applies an added/modified object to a scope: what the watcher does for each such event.
    pub fn apply(&self, scope: &Scope, obj: &K) {
        let meta = obj.meta();
        let key = ObjectKey::new(meta.namespace.as_deref(), meta.name.as_deref());
        let uid = meta.uid.as_deref().unwrap_or("");
        let rv = meta.resource_version.as_deref().unwrap_or("");
        scope.apply(key, uid, rv, || self.families.render(obj, &self.context));
    }

    /// Adds one listed object to a relist in progress.
    pub fn relist_apply(&self, relist: &mut Relist, scope: &Scope, obj: &K) {
        let meta = obj.meta();
        let key = ObjectKey::new(meta.namespace.as_deref(), meta.name.as_deref());
        let uid = meta.uid.as_deref().unwrap_or("");
        let rv = meta.resource_version.as_deref().unwrap_or("");
        relist.apply(scope, key, uid, rv, || self.families.render(obj, &self.context));
    }
}

/// KSM's `--namespaces-denylist`: ANDed `metadata.namespace!=X` field selectors, for namespaced
/// kinds only (a cluster-scoped object has no namespace to exclude).
pub fn denylist_selector<K: ObjectFamilies>(denylist: &[String]) -> Option<String> {
    (K::namespaced() && !denylist.is_empty()).then(|| {
        denylist
            .iter()
            .map(|n| format!("metadata.namespace!={n}"))
            .collect::<Vec<_>>()
            .join(",")
    })
}

/// Runs one watcher until the task is aborted. Never returns on API errors.
pub async fn run<K: ObjectFamilies>(
    client: Client,
    scope_index: usize,
    store: Arc<crate::store::Store>,
    renderer: Arc<KindRenderer<K>>,
    settings: WatchSettings,
    telemetry: Arc<Telemetry>,
) {
    let Some(kind) = store.kind(K::URL_PATH_SEGMENT).cloned() else {
        tracing::error!(
            resource = K::URL_PATH_SEGMENT,
            "no store for resource; watcher not started"
        );
        return;
    };
    let Some(scope) = kind.scopes().get(scope_index) else {
        return;
    };
    let api: Api<Decoded<K>> = match scope.namespace() {
        Some(ns) => Api::namespaced_with(client, ns, &()),
        None => Api::all_with(client, &()),
    };
    let mut config = watcher::Config::default().page_size(settings.page_size);
    if let Some(fields) = denylist_selector::<K>(&settings.namespaces_denylist) {
        config = config.fields(&fields);
    }
    let mut events = watcher::watcher(api, config).default_backoff().boxed();
    let resource = K::URL_PATH_SEGMENT;
    let namespace = scope.namespace().unwrap_or("").to_string();
    let mut relist: Option<Relist> = None;
    while let Some(event) = events.next().await {
        match event {
            Ok(Event::Init) => relist = Some(scope.begin_relist()),
            Ok(Event::InitApply(obj)) => {
                let relist = relist.get_or_insert_with(|| scope.begin_relist());
                match obj {
                    Decoded::Valid(obj) => renderer.relist_apply(relist, scope, &obj),
                    Decoded::Malformed { metadata, error } => {
                        report_malformed(resource, &metadata, &error, &telemetry);
                        relist.keep_live(
                            scope,
                            ObjectKey::new(metadata.namespace.as_deref(), metadata.name.as_deref()),
                        );
                    }
                }
            }
            Ok(Event::InitDone) => {
                let listed = relist.take().unwrap_or_else(|| scope.begin_relist());
                let count = listed.len();
                let was_synced = scope.is_synced();
                scope.commit_relist(listed);
                telemetry.relists.with_label_values(&[resource]).inc();
                if was_synced {
                    tracing::info!(resource, namespace, objects = count, "relist stored");
                } else {
                    tracing::info!(
                        resource,
                        namespace,
                        objects = count,
                        "initial list stored; resource synced"
                    );
                }
            }
            Ok(Event::Apply(obj)) => {
                count_event(&telemetry, resource, "apply");
                match obj {
                    Decoded::Valid(obj) => renderer.apply(scope, &obj),
                    Decoded::Malformed { metadata, error } => report_malformed(resource, &metadata, &error, &telemetry),
                }
            }
            Ok(Event::Delete(obj)) => {
                count_event(&telemetry, resource, "delete");
                let meta = obj.meta();
                let key = ObjectKey::new(meta.namespace.as_deref(), meta.name.as_deref());
                scope.delete(&key, meta.uid.as_deref().unwrap_or(""));
            }
            Err(error) => {
                telemetry.watch_errors.with_label_values(&[resource]).inc();
                let message = error_message(&error);
                tracing::warn!(resource, namespace, error = %message, "list/watch failed; retrying with backoff");
                if !scope.is_synced() {
                    scope.set_error(Some(message));
                }
            }
        }
    }
}

fn count_event(telemetry: &Telemetry, resource: &str, kind: &str) {
    telemetry.events.with_label_values(&[resource, kind]).inc();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    telemetry.last_event.with_label_values(&[resource]).set(now);
}

fn report_malformed(resource: &str, meta: &ObjectMeta, error: &str, telemetry: &Telemetry) {
    telemetry.decode_errors.with_label_values(&[resource]).inc();
    tracing::warn!(
        resource,
        namespace = meta.namespace.as_deref().unwrap_or(""),
        name = meta.name.as_deref().unwrap_or("<unknown>"),
        error,
        "skipping object that could not be decoded; its last good state (if any) is kept"
    );
}

/// A one-line description of a watcher error. API errors are reduced to their HTTP code, reason
/// and message (kube's own Display dumps the whole Status struct).
fn error_message(error: &watcher::Error) -> String {
    let (stage, inner) = match error {
        watcher::Error::InitialListFailed(e) => ("list failed", e),
        watcher::Error::WatchStartFailed(e) => ("watch failed to start", e),
        watcher::Error::WatchFailed(e) => ("watch failed", e),
        watcher::Error::WatchError(status) => return format!("watch error: {}", describe_status(status)),
        watcher::Error::NoResourceVersion => return error.to_string(),
    };
    match inner {
        kube::Error::Api(status) => format!("{stage}: {}", describe_status(status)),
        other => format!("{stage}: {}", error_chain(other)),
    }
}

/// An error and its sources as one line, skipping a source whose text is already included.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = s.source();
    }
    message
}

fn describe_status(status: &kube::core::Status) -> String {
    format!("{} {}: {}", status.code, status.reason, status.message)
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::Pod;

    use super::*;

    #[test]
    fn a_malformed_item_does_not_fail_its_list_page() {
        let page = r#"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"9"},"items":[
            {"metadata":{"name":"a","namespace":"ns","uid":"u1","resourceVersion":"7"},"spec":{"containers":[]}},
            {"metadata":{"name":"b","namespace":"ns","uid":"u2","resourceVersion":"8"},"spec":{"containers":"oops"}},
            {"metadata":{"name":"c","namespace":"ns","uid":"u3","resourceVersion":"9"}}
        ]}"#;
        let list: kube::core::ObjectList<Decoded<Pod>> = serde_json::from_str(page).unwrap();
        let names: Vec<(String, bool)> = list
            .items
            .iter()
            .map(|d| {
                (
                    d.meta().name.clone().unwrap_or_default(),
                    matches!(d, Decoded::Valid(_)),
                )
            })
            .collect();
        assert_eq!(names, [("a".into(), true), ("b".into(), false), ("c".into(), true)]);
        let Decoded::Malformed { metadata, error } = &list.items[1] else {
            unreachable!()
        };
        assert_eq!(metadata.uid.as_deref(), Some("u2"));
        assert!(error.contains("invalid type"), "{error}");
    }

    #[test]
    fn watch_events_decode_leniently_too() {
        let line = r#"{"type":"MODIFIED","object":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"b","namespace":"ns","uid":"u2","resourceVersion":"12"},"spec":{"containers":"oops"}}}"#;
        let event: kube::core::WatchEvent<Decoded<Pod>> = serde_json::from_str(line).unwrap();
        let kube::core::WatchEvent::Modified(Decoded::Malformed { metadata, .. }) = event else {
            panic!("expected a malformed MODIFIED event")
        };
        assert_eq!(metadata.resource_version.as_deref(), Some("12"));
    }

    #[test]
    fn api_errors_are_described_by_code_reason_and_message() {
        let status =
            kube::core::Status::failure("pods is forbidden: User \"x\" cannot list", "Forbidden").with_code(403);
        let e = watcher::Error::InitialListFailed(kube::Error::Api(Box::new(status)));
        assert_eq!(
            error_message(&e),
            "list failed: 403 Forbidden: pods is forbidden: User \"x\" cannot list"
        );
    }
}
