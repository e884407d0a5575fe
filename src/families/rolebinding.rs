//! `rolebindings` (opt-in resource): KSM's `internal/store/rolebinding.go`. Base labels
//! `namespace,rolebinding`.

use k8s_openapi::api::rbac::v1::RoleBinding;

use super::clusterrolebinding::role_ref_info;
use super::{FamilyDef, ObjectFamilies, RenderContext, Samples, Stability::*};

impl ObjectFamilies for RoleBinding {
    const BASE_LABELS: &'static [&'static str] = &["namespace", "rolebinding"];

    fn base_label_values(&self) -> Vec<&str> {
        super::meta::namespace_and_name(&self.metadata)
    }

    fn families() -> Vec<FamilyDef<Self>> {
        const P: &str = "kube_rolebinding";
        vec![
            FamilyDef::annotations(P, Alpha),
            FamilyDef::labels(P, Alpha),
            FamilyDef::gauge(
                "kube_rolebinding_info",
                Alpha,
                "Information about rolebinding.",
                |b: &RoleBinding, _: &RenderContext, s: &mut Samples| role_ref_info(&b.role_ref, s),
            ),
            FamilyDef::created(P, Alpha, "Unix creation timestamp"),
            FamilyDef::metadata_resource_version(
                P,
                Alpha,
                "Resource version representing a specific version of the rolebinding.",
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::families::render_text;

    /// A namespaced binding of the `view` ClusterRole, as a v1.36 API server returns it.
    fn ci_view() -> RoleBinding {
        serde_json::from_value(json!({
            "kind": "RoleBinding",
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "metadata": {
                "name": "ci-view",
                "namespace": "shop",
                "uid": "0d7f2b63-94ae-4c1b-a852-e63f9c0d4b71",
                "resourceVersion": "5390",
                "creationTimestamp": "2026-12-01T13:45:20Z",
                "labels": {"team": "platform"},
                "annotations": {"example.com/ticket": "OPS-1234"}
            },
            "subjects": [{"kind": "ServiceAccount", "name": "ci", "namespace": "ci"}],
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"}
        }))
        .expect("valid RoleBinding")
    }

    #[test]
    fn every_family_of_a_binding() {
        let b = ci_view();
        let ctx = RenderContext::allow_all();
        let base = "namespace=\"shop\",rolebinding=\"ci-view\"";
        assert_eq!(
            render_text(&b, &ctx, "kube_rolebinding_annotations"),
            format!("kube_rolebinding_annotations{{{base},annotation_example_com_ticket=\"OPS-1234\"}} 1\n")
        );
        assert_eq!(
            render_text(&b, &ctx, "kube_rolebinding_labels"),
            format!("kube_rolebinding_labels{{{base},label_team=\"platform\"}} 1\n")
        );
        assert_eq!(
            render_text(&b, &ctx, "kube_rolebinding_info"),
            format!("kube_rolebinding_info{{{base},roleref_kind=\"ClusterRole\",roleref_name=\"view\"}} 1\n")
        );
        assert_eq!(
            render_text(&b, &ctx, "kube_rolebinding_created"),
            format!("kube_rolebinding_created{{{base}}} 1.79613272e+09\n")
        );
        assert_eq!(
            render_text(&b, &ctx, "kube_rolebinding_metadata_resource_version"),
            format!("kube_rolebinding_metadata_resource_version{{{base}}} 5390\n")
        );
    }

    #[test]
    fn binding_to_a_role_without_timestamp_or_numeric_version() {
        let b: RoleBinding = serde_json::from_value(json!({
            "metadata": {"name": "rb", "namespace": "ns2", "resourceVersion": "abcdef"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "secret-reader"}
        }))
        .unwrap();
        let ctx = RenderContext::default();
        assert_eq!(
            render_text(&b, &ctx, "kube_rolebinding_info"),
            "kube_rolebinding_info{namespace=\"ns2\",rolebinding=\"rb\",roleref_kind=\"Role\",roleref_name=\"secret-reader\"} 1\n"
        );
        assert_eq!(render_text(&b, &ctx, "kube_rolebinding_labels"), "");
        assert_eq!(render_text(&b, &ctx, "kube_rolebinding_annotations"), "");
        assert_eq!(render_text(&b, &ctx, "kube_rolebinding_created"), "");
        assert_eq!(render_text(&b, &ctx, "kube_rolebinding_metadata_resource_version"), "");
    }
}
