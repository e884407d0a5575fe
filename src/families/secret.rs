//! `secrets`: KSM's `internal/store/secret.go`. Base labels `namespace,secret`.
//!
//! Metadata only. [`Secret`] is this exporter's own type holding `metadata` and `type`, so the
//! decoder skips `data` and `stringData` unread: secret contents are never allocated, kept,
//! logged or rendered.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Deserialize;

use super::{FamilyDef, ObjectFamilies, Stability::*};

/// The Kubernetes type whose API identity [`Secret`] borrows.
type Api = k8s_openapi::api::core::v1::Secret;

/// A Secret as the exporter decodes it: `metadata` and `type` (unknown fields, the payload
/// included, are ignored by the decoder).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Secret {
    /// Standard object metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// `type`, e.g. `Opaque` or `kubernetes.io/tls`.
    #[serde(rename = "type", default)]
    pub type_: Option<String>,
}

impl k8s_openapi::Resource for Secret {
    const API_VERSION: &'static str = <Api as k8s_openapi::Resource>::API_VERSION;
    const GROUP: &'static str = <Api as k8s_openapi::Resource>::GROUP;
    const KIND: &'static str = <Api as k8s_openapi::Resource>::KIND;
    const VERSION: &'static str = <Api as k8s_openapi::Resource>::VERSION;
    const URL_PATH_SEGMENT: &'static str = <Api as k8s_openapi::Resource>::URL_PATH_SEGMENT;
    type Scope = <Api as k8s_openapi::Resource>::Scope;
}

impl k8s_openapi::Metadata for Secret {
    type Ty = ObjectMeta;

    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn metadata_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

impl ObjectFamilies for Secret {
    const BASE_LABELS: &'static [&'static str] = &["namespace", "secret"];

    fn base_label_values(&self) -> Vec<&str> {
        super::meta::namespace_and_name(&self.metadata)
    }

    fn families() -> Vec<FamilyDef<Self>> {
        family_defs()
    }
}

/// Closures in the table infer their object type from this alias.
type Def = FamilyDef<Secret>;

fn family_defs() -> Vec<FamilyDef<Secret>> {
    const P: &str = "kube_secret";
    vec![
        Def::gauge("kube_secret_info", Stable, "Information about secret.", |_, _, s| {
            s.value(1.0)
        }),
        Def::gauge("kube_secret_type", Stable, "Type about secret.", |secret, _, s| {
            s.push([("type", secret.type_.as_deref().unwrap_or(""))], 1.0)
        }),
        Def::annotations(P, Alpha),
        Def::labels(P, Stable),
        Def::created(P, Stable, "Unix creation timestamp"),
        Def::metadata_resource_version(P, Alpha, "Resource version representing a specific version of secret."),
        Def::owner(P, Alpha, "Information about the Secret's owner."),
    ]
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::families::configmap::assert_no_payload;
    use crate::families::{EnabledFamilies, RenderContext, render_text};

    /// `app-secrets` as the v1.36 API server returns it (managedFields dropped).
    fn app_secrets() -> serde_json::Value {
        json!({
            "kind": "Secret",
            "apiVersion": "v1",
            "metadata": {
                "name": "app-secrets",
                "namespace": "shop",
                "uid": "b349cbc4-a400-41f7-969e-594810a11157",
                "resourceVersion": "418",
                "creationTimestamp": "2026-12-04T17:10:30Z",
                "labels": {"app.kubernetes.io/name": "shop", "fooBar": "camel"},
                "annotations": {"example.com/some-key": "annotation value"}
            },
            "data": {"api-key": "UkVEQUNURUQ=", "password": "UkVEQUNURUQ="},
            "type": "Opaque"
        })
    }

    fn secret(v: serde_json::Value) -> Secret {
        serde_json::from_value(v).expect("valid Secret")
    }

    fn render(s: &Secret, family: &str) -> String {
        render_text(s, &RenderContext::default(), family)
    }

    /// Everything the exporter could emit or log for an object: every family's lines with all
    /// labels and annotations allowed, and its Debug form.
    fn everything_shown(s: &Secret) -> String {
        let rendered = EnabledFamilies::<Secret>::all().render(s, &RenderContext::allow_all());
        format!("{}{s:?}", String::from_utf8_lossy(&rendered.bytes))
    }

    #[test]
    fn identity_comes_from_the_kubernetes_type() {
        use k8s_openapi::Resource;
        assert_eq!(
            (
                Secret::API_VERSION,
                Secret::GROUP,
                Secret::KIND,
                Secret::URL_PATH_SEGMENT
            ),
            ("v1", "", "Secret", "secrets")
        );
        assert_eq!(<Secret as kube::Resource>::plural(&()), "secrets");
    }

    #[test]
    fn opaque_secret_without_owner() {
        let s = secret(app_secrets());
        assert_eq!(
            render(&s, "kube_secret_info"),
            "kube_secret_info{namespace=\"shop\",secret=\"app-secrets\"} 1\n"
        );
        assert_eq!(
            render(&s, "kube_secret_type"),
            "kube_secret_type{namespace=\"shop\",secret=\"app-secrets\",type=\"Opaque\"} 1\n"
        );
        assert_eq!(
            render(&s, "kube_secret_created"),
            "kube_secret_created{namespace=\"shop\",secret=\"app-secrets\"} 1.79640423e+09\n"
        );
        assert_eq!(
            render(&s, "kube_secret_metadata_resource_version"),
            "kube_secret_metadata_resource_version{namespace=\"shop\",secret=\"app-secrets\"} 418\n"
        );
        // No owner: one series of empty values (not `<none>` as for pods).
        assert_eq!(
            render(&s, "kube_secret_owner"),
            "kube_secret_owner{namespace=\"shop\",secret=\"app-secrets\",owner_kind=\"\",owner_name=\"\",owner_is_controller=\"\"} 1\n"
        );
    }

    #[test]
    fn owners_with_and_without_the_controller_flag() {
        let mut v = app_secrets();
        v["type"] = json!("kubernetes.io/tls");
        v["metadata"]["ownerReferences"] = json!([
            {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "name": "shop-tls",
             "uid": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "controller": true, "blockOwnerDeletion": true},
            {"apiVersion": "v1", "kind": "ServiceAccount", "name": "builder", "uid": "d2e3f4a5-b6c7-4d8e-9f0a-1b2c3d4e5f6a"},
            {"apiVersion": "example.com/v1", "kind": "TokenPolicy", "name": "ci-default",
             "uid": "e3f4a5b6-c7d8-4e9f-0a1b-2c3d4e5f6a7b", "controller": false}
        ]);
        let s = secret(v);
        assert_eq!(
            render(&s, "kube_secret_owner"),
            "kube_secret_owner{namespace=\"shop\",secret=\"app-secrets\",owner_kind=\"Certificate\",owner_name=\"shop-tls\",owner_is_controller=\"true\"} 1\n\
             kube_secret_owner{namespace=\"shop\",secret=\"app-secrets\",owner_kind=\"ServiceAccount\",owner_name=\"builder\",owner_is_controller=\"false\"} 1\n\
             kube_secret_owner{namespace=\"shop\",secret=\"app-secrets\",owner_kind=\"TokenPolicy\",owner_name=\"ci-default\",owner_is_controller=\"false\"} 1\n"
        );
        assert_eq!(
            render(&s, "kube_secret_type"),
            "kube_secret_type{namespace=\"shop\",secret=\"app-secrets\",type=\"kubernetes.io/tls\"} 1\n"
        );
    }

    #[test]
    fn bare_object_missing_type_and_odd_resource_versions() {
        let s = secret(json!({"metadata": {"name": "bare", "namespace": "ci", "resourceVersion": "123456B"}}));
        assert_eq!(
            render(&s, "kube_secret_type"),
            "kube_secret_type{namespace=\"ci\",secret=\"bare\",type=\"\"} 1\n"
        );
        assert_eq!(render(&s, "kube_secret_created"), "");
        assert_eq!(render(&s, "kube_secret_metadata_resource_version"), "");
        let s = secret(json!({"metadata": {"name": "zero", "namespace": "ci", "resourceVersion": "000000"}}));
        assert_eq!(
            render(&s, "kube_secret_metadata_resource_version"),
            "kube_secret_metadata_resource_version{namespace=\"ci\",secret=\"zero\"} 0\n"
        );
    }

    #[test]
    fn labels_and_annotations_follow_the_allowlists() {
        let s = secret(app_secrets());
        assert_eq!(render(&s, "kube_secret_labels"), "");
        assert_eq!(render(&s, "kube_secret_annotations"), "");
        assert_eq!(
            render_text(&s, &RenderContext::allow_all(), "kube_secret_labels"),
            "kube_secret_labels{namespace=\"shop\",secret=\"app-secrets\",\
             label_app_kubernetes_io_name=\"shop\",label_foo_bar=\"camel\"} 1\n"
        );
        assert_eq!(
            render_text(&s, &RenderContext::allow_all(), "kube_secret_annotations"),
            "kube_secret_annotations{namespace=\"shop\",secret=\"app-secrets\",\
             annotation_example_com_some_key=\"annotation value\"} 1\n"
        );
    }

    #[test]
    fn payload_is_never_decoded_rendered_or_debug_printed() {
        let raw = json!({
            "kind": "Secret",
            "apiVersion": "v1",
            "metadata": {
                "name": "payload",
                "namespace": "shop",
                "resourceVersion": "91",
                "creationTimestamp": "2026-12-04T17:10:30Z",
                "labels": {"app": "web"},
                "annotations": {"note": "metadata is fine"}
            },
            "data": {"password": "U0VDUkVULURBVEEtU0VOVElORUwtNWI4ZQ=="},
            "stringData": {
                "token": "SECRET-STRINGDATA-SENTINEL-1c9d",
                "multi": "first SECRET-LINE-SENTINEL-60aa\nsecond \"quoted\" \\ line"
            },
            "binaryData": {"odd": "SECRET-BINARYDATA-SENTINEL-d4f2"},
            "type": "Opaque"
        });
        let s = secret(raw.clone());
        let shown = everything_shown(&s);
        // The families did render (info, type, annotations, labels, created, resource version, owner).
        assert_eq!(shown.matches("secret=\"payload\"").count(), 7, "{shown}");
        for sentinel in [
            "U0VDUkVULURBVEEtU0VOVElORUwtNWI4ZQ==",
            "SECRET-DATA-SENTINEL-5b8e",
            "SECRET-STRINGDATA-SENTINEL-1c9d",
            "SECRET-LINE-SENTINEL-60aa",
            "SECRET-BINARYDATA-SENTINEL-d4f2",
        ] {
            assert!(!shown.contains(sentinel), "{sentinel} leaked");
        }
        assert_no_payload(&raw, &shown);
    }

    #[test]
    fn fixture_payloads_stay_out_and_every_family_emits() {
        let list: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/fixtures/objects/secrets.json")).expect("fixture JSON");
        let raws = list["items"].as_array().expect("fixture items");
        let mut families_seen = std::collections::BTreeSet::new();
        for raw in raws {
            let s = secret(raw.clone());
            let shown = everything_shown(&s);
            assert_no_payload(raw, &shown);
            for f in family_defs() {
                if !render_text(&s, &RenderContext::allow_all(), &f.name).is_empty() {
                    families_seen.insert(f.name.into_owned());
                }
            }
        }
        assert_eq!(families_seen.len(), family_defs().len(), "{families_seen:?}");
    }
}
