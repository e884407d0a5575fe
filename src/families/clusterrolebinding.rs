//! `clusterrolebindings` (opt-in resource): KSM's `internal/store/clusterrolebinding.go`. Base
//! label `clusterrolebinding`.
//!
//! Also home of [`role_ref_info`], which `rolebindings` shares.

use k8s_openapi::api::rbac::v1::{ClusterRoleBinding, RoleRef};

use super::{FamilyDef, ObjectFamilies, RenderContext, Samples, Stability::*};

impl ObjectFamilies for ClusterRoleBinding {
    const BASE_LABELS: &'static [&'static str] = &["clusterrolebinding"];

    fn base_label_values(&self) -> Vec<&str> {
        vec![self.metadata.name.as_deref().unwrap_or("")]
    }

    fn families() -> Vec<FamilyDef<Self>> {
        const P: &str = "kube_clusterrolebinding";
        vec![
            FamilyDef::annotations(P, Alpha),
            FamilyDef::labels(P, Alpha),
            FamilyDef::gauge(
                "kube_clusterrolebinding_info",
                Alpha,
                "Information about clusterrolebinding.",
                |b: &ClusterRoleBinding, _: &RenderContext, s: &mut Samples| role_ref_info(&b.role_ref, s),
            ),
            FamilyDef::created(P, Alpha, "Unix creation timestamp"),
            FamilyDef::metadata_resource_version(
                P,
                Alpha,
                "Resource version representing a specific version of the clusterrolebinding.",
            ),
        ]
    }
}

/// `roleref_kind, roleref_name`: the role a binding grants (`roleRef.apiGroup` is not exported).
pub(super) fn role_ref_info(role_ref: &RoleRef, s: &mut Samples) {
    s.push(
        [
            ("roleref_kind", role_ref.kind.as_str()),
            ("roleref_name", role_ref.name.as_str()),
        ],
        1.0,
    );
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::families::allowlist::KeyPattern;
    use crate::families::{KeyFilter, render_text};

    /// A bootstrap binding as a v1.36 API server returns it.
    fn basic_user() -> ClusterRoleBinding {
        serde_json::from_value(json!({
            "kind": "ClusterRoleBinding",
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "metadata": {
                "name": "system:basic-user",
                "uid": "c71d2e94-08fa-4b3c-9e5d-6a4f1b27c830",
                "resourceVersion": "142",
                "creationTimestamp": "2026-11-24T05:08:41Z",
                "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
                "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}
            },
            "subjects": [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "system:authenticated"}],
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:basic-user"}
        }))
        .expect("valid ClusterRoleBinding")
    }

    #[test]
    fn every_family_of_a_bootstrap_binding() {
        let b = basic_user();
        let ctx = RenderContext::allow_all();
        assert_eq!(
            render_text(&b, &ctx, "kube_clusterrolebinding_annotations"),
            "kube_clusterrolebinding_annotations{clusterrolebinding=\"system:basic-user\",annotation_rbac_authorization_kubernetes_io_autoupdate=\"true\"} 1\n"
        );
        assert_eq!(
            render_text(&b, &ctx, "kube_clusterrolebinding_labels"),
            "kube_clusterrolebinding_labels{clusterrolebinding=\"system:basic-user\",label_kubernetes_io_bootstrapping=\"rbac-defaults\"} 1\n"
        );
        assert_eq!(
            render_text(&b, &ctx, "kube_clusterrolebinding_info"),
            "kube_clusterrolebinding_info{clusterrolebinding=\"system:basic-user\",roleref_kind=\"ClusterRole\",roleref_name=\"system:basic-user\"} 1\n"
        );
        assert_eq!(
            render_text(&b, &ctx, "kube_clusterrolebinding_created"),
            "kube_clusterrolebinding_created{clusterrolebinding=\"system:basic-user\"} 1.795496921e+09\n"
        );
        assert_eq!(
            render_text(&b, &ctx, "kube_clusterrolebinding_metadata_resource_version"),
            "kube_clusterrolebinding_metadata_resource_version{clusterrolebinding=\"system:basic-user\"} 142\n"
        );
    }

    #[test]
    fn allowlist_selects_keys() {
        let mut b = basic_user();
        b.metadata
            .labels
            .get_or_insert_default()
            .insert("excluded".into(), "me".into());
        let ctx = RenderContext {
            labels: KeyFilter::Keys(vec![KeyPattern::Exact("kubernetes.io/bootstrapping".into())]),
            annotations: KeyFilter::default(),
        };
        assert_eq!(
            render_text(&b, &ctx, "kube_clusterrolebinding_labels"),
            "kube_clusterrolebinding_labels{clusterrolebinding=\"system:basic-user\",label_kubernetes_io_bootstrapping=\"rbac-defaults\"} 1\n"
        );
        assert_eq!(render_text(&b, &ctx, "kube_clusterrolebinding_annotations"), "");
    }

    #[test]
    fn non_numeric_resource_version_and_missing_timestamp_give_no_sample() {
        let b: ClusterRoleBinding = serde_json::from_value(json!({
            "metadata": {"name": "b", "resourceVersion": "BBBBB"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "role"}
        }))
        .unwrap();
        let ctx = RenderContext::allow_all();
        assert_eq!(
            render_text(&b, &ctx, "kube_clusterrolebinding_info"),
            "kube_clusterrolebinding_info{clusterrolebinding=\"b\",roleref_kind=\"Role\",roleref_name=\"role\"} 1\n"
        );
        assert_eq!(render_text(&b, &ctx, "kube_clusterrolebinding_created"), "");
        assert_eq!(
            render_text(&b, &ctx, "kube_clusterrolebinding_metadata_resource_version"),
            ""
        );
    }
}
