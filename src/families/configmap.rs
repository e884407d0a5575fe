//! `configmaps`: KSM's `internal/store/configmap.go`. Base labels `namespace,configmap`.
//!
//! Metadata only. [`ConfigMap`] is this exporter's own type with no payload field, so the
//! decoder skips `data` and `binaryData` unread: their contents are never allocated, kept,
//! logged or rendered.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Deserialize;

use super::{FamilyDef, ObjectFamilies, Stability::*};

/// The Kubernetes type whose API identity [`ConfigMap`] borrows.
type Api = k8s_openapi::api::core::v1::ConfigMap;

/// A ConfigMap as the exporter decodes it: `metadata` and nothing else (unknown fields, the
/// payload included, are ignored by the decoder).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ConfigMap {
    /// Standard object metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
}

impl k8s_openapi::Resource for ConfigMap {
    const API_VERSION: &'static str = <Api as k8s_openapi::Resource>::API_VERSION;
    const GROUP: &'static str = <Api as k8s_openapi::Resource>::GROUP;
    const KIND: &'static str = <Api as k8s_openapi::Resource>::KIND;
    const VERSION: &'static str = <Api as k8s_openapi::Resource>::VERSION;
    const URL_PATH_SEGMENT: &'static str = <Api as k8s_openapi::Resource>::URL_PATH_SEGMENT;
    type Scope = <Api as k8s_openapi::Resource>::Scope;
}

impl k8s_openapi::Metadata for ConfigMap {
    type Ty = ObjectMeta;

    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn metadata_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

impl ObjectFamilies for ConfigMap {
    const BASE_LABELS: &'static [&'static str] = &["namespace", "configmap"];

    fn base_label_values(&self) -> Vec<&str> {
        super::meta::namespace_and_name(&self.metadata)
    }

    fn families() -> Vec<FamilyDef<Self>> {
        family_defs()
    }
}

/// Test support shared with `secret.rs`: fails when any payload value of a raw object (`data`,
/// `stringData`, `binaryData`; as written, base64-decoded, and escaped the way exposition
/// escapes label values) occurs in `output`. Values under 8 bytes are not looked for: they
/// collide with ordinary label values, and the payloads the tests seed are longer.
#[cfg(test)]
pub(crate) fn assert_no_payload(raw: &serde_json::Value, output: &str) {
    let escape = |v: &str| v.replace('\\', "\\\\").replace('\n', "\\n").replace('"', "\\\"");
    let mut looked_for = 0;
    for field in ["data", "stringData", "binaryData"] {
        let Some(entries) = raw.get(field).and_then(|d| d.as_object()) else {
            continue;
        };
        for value in entries.values().filter_map(|v| v.as_str()) {
            let decoded = serde_json::from_value::<k8s_openapi::ByteString>(serde_json::json!(value))
                .ok()
                .and_then(|b| String::from_utf8(b.0).ok());
            for candidate in std::iter::once(value.to_string()).chain(decoded) {
                if candidate.len() < 8 {
                    continue;
                }
                looked_for += 1;
                for form in [candidate.clone(), escape(&candidate)] {
                    assert!(!output.contains(&form), "payload {field} value leaked: {form:?}");
                }
            }
        }
    }
    assert!(looked_for > 0, "the object carries no payload long enough to look for");
}

/// Closures in the table infer their object type from this alias.
type Def = FamilyDef<ConfigMap>;

fn family_defs() -> Vec<FamilyDef<ConfigMap>> {
    const P: &str = "kube_configmap";
    vec![
        Def::annotations(P, Alpha),
        Def::labels(P, Stable),
        Def::gauge(
            "kube_configmap_info",
            Stable,
            "Information about configmap.",
            |_, _, s| s.value(1.0),
        ),
        Def::created(P, Stable, "Unix creation timestamp"),
        Def::metadata_resource_version(
            P,
            Alpha,
            "Resource version representing a specific version of the configmap.",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::families::{EnabledFamilies, RenderContext, render_text};

    /// `app-config` as the v1.36 API server returns it (managedFields dropped).
    fn app_config() -> serde_json::Value {
        json!({
            "kind": "ConfigMap",
            "apiVersion": "v1",
            "metadata": {
                "name": "app-config",
                "namespace": "shop",
                "uid": "c4b6ebfc-1dd5-4798-b898-474bdd85c9ab",
                "resourceVersion": "413",
                "creationTimestamp": "2026-12-04T17:10:30Z",
                "labels": {"app.kubernetes.io/name": "shop", "empty": ""},
                "annotations": {"example.com/some-key": "annotation value"}
            },
            "data": {"config.yaml": "log_level: info\nfeature_x: true\n", "empty": ""}
        })
    }

    fn config_map(v: serde_json::Value) -> ConfigMap {
        serde_json::from_value(v).expect("valid ConfigMap")
    }

    fn render(c: &ConfigMap, family: &str) -> String {
        render_text(c, &RenderContext::default(), family)
    }

    #[test]
    fn identity_comes_from_the_kubernetes_type() {
        use k8s_openapi::Resource;
        assert_eq!(
            (
                ConfigMap::API_VERSION,
                ConfigMap::GROUP,
                ConfigMap::KIND,
                ConfigMap::URL_PATH_SEGMENT
            ),
            ("v1", "", "ConfigMap", "configmaps")
        );
        assert_eq!(<ConfigMap as kube::Resource>::plural(&()), "configmaps");
    }

    #[test]
    fn info_created_and_resource_version() {
        let c = config_map(app_config());
        assert_eq!(
            render(&c, "kube_configmap_info"),
            "kube_configmap_info{namespace=\"shop\",configmap=\"app-config\"} 1\n"
        );
        assert_eq!(
            render(&c, "kube_configmap_created"),
            "kube_configmap_created{namespace=\"shop\",configmap=\"app-config\"} 1.79640423e+09\n"
        );
        assert_eq!(
            render(&c, "kube_configmap_metadata_resource_version"),
            "kube_configmap_metadata_resource_version{namespace=\"shop\",configmap=\"app-config\"} 413\n"
        );
    }

    #[test]
    fn bare_object_and_non_numeric_resource_version() {
        let c = config_map(json!({"metadata": {"name": "bare", "namespace": "ci", "resourceVersion": "123456B"}}));
        assert_eq!(
            render(&c, "kube_configmap_info"),
            "kube_configmap_info{namespace=\"ci\",configmap=\"bare\"} 1\n"
        );
        assert_eq!(render(&c, "kube_configmap_created"), "");
        assert_eq!(render(&c, "kube_configmap_metadata_resource_version"), "");
        // Leading zeros parse, as with Go's ParseFloat.
        let c = config_map(json!({"metadata": {"name": "zero", "namespace": "ci", "resourceVersion": "000000"}}));
        assert_eq!(
            render(&c, "kube_configmap_metadata_resource_version"),
            "kube_configmap_metadata_resource_version{namespace=\"ci\",configmap=\"zero\"} 0\n"
        );
    }

    #[test]
    fn labels_and_annotations_follow_the_allowlists() {
        let c = config_map(app_config());
        assert_eq!(render(&c, "kube_configmap_labels"), "");
        assert_eq!(render(&c, "kube_configmap_annotations"), "");
        assert_eq!(
            render_text(&c, &RenderContext::allow_all(), "kube_configmap_labels"),
            "kube_configmap_labels{namespace=\"shop\",configmap=\"app-config\",\
             label_app_kubernetes_io_name=\"shop\",label_empty=\"\"} 1\n"
        );
        assert_eq!(
            render_text(&c, &RenderContext::allow_all(), "kube_configmap_annotations"),
            "kube_configmap_annotations{namespace=\"shop\",configmap=\"app-config\",\
             annotation_example_com_some_key=\"annotation value\"} 1\n"
        );
    }

    /// Everything the exporter could emit or log for an object: every family's lines with all
    /// labels and annotations allowed, and its Debug form.
    fn everything_shown(c: &ConfigMap) -> String {
        let rendered = EnabledFamilies::<ConfigMap>::all().render(c, &RenderContext::allow_all());
        format!("{}{c:?}", String::from_utf8_lossy(&rendered.bytes))
    }

    #[test]
    fn payload_is_never_decoded_rendered_or_debug_printed() {
        let raw = json!({
            "kind": "ConfigMap",
            "apiVersion": "v1",
            "metadata": {
                "name": "payload",
                "namespace": "shop",
                "resourceVersion": "77",
                "creationTimestamp": "2026-12-04T17:10:30Z",
                "labels": {"app": "web"},
                "annotations": {"note": "metadata is fine"}
            },
            "data": {
                "password": "CM-DATA-SENTINEL-4f1d",
                "multi": "line one CM-LINE-SENTINEL-31b0\nwith \"quotes\" and \\ backslash"
            },
            "binaryData": {"blob": "Q00tQklOQVJZLVNFTlRJTkVMLTlhMmM="},
            "stringData": {"token": "CM-STRINGDATA-SENTINEL-77e1"},
            "immutable": true
        });
        let c = config_map(raw.clone());
        let shown = everything_shown(&c);
        // The families did render (labels, annotations, info, created, resource version).
        assert_eq!(shown.matches("configmap=\"payload\"").count(), 5, "{shown}");
        for sentinel in [
            "CM-DATA-SENTINEL-4f1d",
            "CM-LINE-SENTINEL-31b0",
            "CM-BINARY-SENTINEL-9a2c",
            "Q00tQklOQVJZLVNFTlRJTkVMLTlhMmM=",
            "CM-STRINGDATA-SENTINEL-77e1",
        ] {
            assert!(!shown.contains(sentinel), "{sentinel} leaked");
        }
        assert_no_payload(&raw, &shown);
    }

    #[test]
    fn fixture_payloads_stay_out_and_every_family_emits() {
        let list: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/fixtures/objects/configmaps.json")).expect("fixture JSON");
        let raws = list["items"].as_array().expect("fixture items");
        let mut families_seen = std::collections::BTreeSet::new();
        for raw in raws {
            let c = config_map(raw.clone());
            let shown = everything_shown(&c);
            assert_no_payload(raw, &shown);
            for f in family_defs() {
                if !render_text(&c, &RenderContext::allow_all(), &f.name).is_empty() {
                    families_seen.insert(f.name.into_owned());
                }
            }
        }
        assert_eq!(families_seen.len(), family_defs().len(), "{families_seen:?}");
    }
}
