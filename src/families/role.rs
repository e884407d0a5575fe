//! `roles` (opt-in resource): KSM's `internal/store/role.go`. Base labels `namespace,role`.

use k8s_openapi::api::rbac::v1::Role;

use super::{FamilyDef, ObjectFamilies, RenderContext, Samples, Stability::*};

impl ObjectFamilies for Role {
    const BASE_LABELS: &'static [&'static str] = &["namespace", "role"];

    fn base_label_values(&self) -> Vec<&str> {
        super::meta::namespace_and_name(&self.metadata)
    }

    fn families() -> Vec<FamilyDef<Self>> {
        const P: &str = "kube_role";
        vec![
            FamilyDef::annotations(P, Alpha),
            FamilyDef::labels(P, Alpha),
            FamilyDef::gauge(
                "kube_role_info",
                Alpha,
                "Information about role.",
                |_: &Role, _: &RenderContext, s: &mut Samples| s.value(1.0),
            ),
            FamilyDef::created(P, Alpha, "Unix creation timestamp"),
            FamilyDef::metadata_resource_version(
                P,
                Alpha,
                "Resource version representing a specific version of the role.",
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::families::render_text;

    /// A bootstrap role as a v1.36 API server returns it.
    fn auth_reader() -> Role {
        serde_json::from_value(json!({
            "kind": "Role",
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "metadata": {
                "name": "extension-apiserver-authentication-reader",
                "namespace": "kube-system",
                "uid": "5a9b3c17-e2d4-4f08-b6a1-93c7d5e2f104",
                "resourceVersion": "186",
                "creationTimestamp": "2026-11-24T05:08:42Z",
                "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
                "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}
            },
            "rules": [{
                "verbs": ["get", "list", "watch"], "apiGroups": [""], "resources": ["configmaps"],
                "resourceNames": ["extension-apiserver-authentication"]
            }]
        }))
        .expect("valid Role")
    }

    #[test]
    fn every_family_of_a_bootstrap_role() {
        let r = auth_reader();
        let ctx = RenderContext::allow_all();
        let base = "namespace=\"kube-system\",role=\"extension-apiserver-authentication-reader\"";
        assert_eq!(
            render_text(&r, &ctx, "kube_role_annotations"),
            format!(
                "kube_role_annotations{{{base},annotation_rbac_authorization_kubernetes_io_autoupdate=\"true\"}} 1\n"
            )
        );
        assert_eq!(
            render_text(&r, &ctx, "kube_role_labels"),
            format!("kube_role_labels{{{base},label_kubernetes_io_bootstrapping=\"rbac-defaults\"}} 1\n")
        );
        assert_eq!(
            render_text(&r, &ctx, "kube_role_info"),
            format!("kube_role_info{{{base}}} 1\n")
        );
        assert_eq!(
            render_text(&r, &ctx, "kube_role_created"),
            format!("kube_role_created{{{base}}} 1.795496922e+09\n")
        );
        assert_eq!(
            render_text(&r, &ctx, "kube_role_metadata_resource_version"),
            format!("kube_role_metadata_resource_version{{{base}}} 186\n")
        );
    }

    #[test]
    fn without_allowlist_or_timestamp_or_numeric_version() {
        let r: Role = serde_json::from_value(json!({
            "metadata": {"name": "r", "namespace": "ns1", "resourceVersion": "abcdef", "labels": {"app": "x"}}
        }))
        .unwrap();
        let ctx = RenderContext::default();
        assert_eq!(render_text(&r, &ctx, "kube_role_labels"), "");
        assert_eq!(render_text(&r, &ctx, "kube_role_annotations"), "");
        assert_eq!(
            render_text(&r, &ctx, "kube_role_info"),
            "kube_role_info{namespace=\"ns1\",role=\"r\"} 1\n"
        );
        assert_eq!(render_text(&r, &ctx, "kube_role_created"), "");
        assert_eq!(render_text(&r, &ctx, "kube_role_metadata_resource_version"), "");
    }
}
