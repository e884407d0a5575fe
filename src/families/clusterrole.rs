//! `clusterroles` (opt-in resource): KSM's `internal/store/clusterrole.go`. Base label
//! `clusterrole`.

use k8s_openapi::api::rbac::v1::ClusterRole;

use super::{FamilyDef, ObjectFamilies, RenderContext, Samples, Stability::*};

impl ObjectFamilies for ClusterRole {
    const BASE_LABELS: &'static [&'static str] = &["clusterrole"];

    fn base_label_values(&self) -> Vec<&str> {
        vec![self.metadata.name.as_deref().unwrap_or("")]
    }

    fn families() -> Vec<FamilyDef<Self>> {
        const P: &str = "kube_clusterrole";
        vec![
            FamilyDef::annotations(P, Alpha),
            FamilyDef::labels(P, Alpha),
            FamilyDef::gauge(
                "kube_clusterrole_info",
                Alpha,
                "Information about cluster role.",
                |_: &ClusterRole, _: &RenderContext, s: &mut Samples| s.value(1.0),
            ),
            FamilyDef::created(P, Alpha, "Unix creation timestamp"),
            FamilyDef::metadata_resource_version(
                P,
                Alpha,
                "Resource version representing a specific version of the cluster role.",
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
    fn cluster_admin() -> ClusterRole {
        serde_json::from_value(json!({
            "kind": "ClusterRole",
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "metadata": {
                "name": "cluster-admin",
                "uid": "0b7c53a2-61d4-4e8f-9a25-c4d1e7f3b806",
                "resourceVersion": "72",
                "creationTimestamp": "2026-11-24T05:08:40Z",
                "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
                "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}
            },
            "rules": [
                {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]},
                {"verbs": ["*"], "nonResourceURLs": ["*"]}
            ]
        }))
        .expect("valid ClusterRole")
    }

    #[test]
    fn every_family_of_a_bootstrap_role() {
        let r = cluster_admin();
        let ctx = RenderContext::allow_all();
        assert_eq!(
            render_text(&r, &ctx, "kube_clusterrole_annotations"),
            "kube_clusterrole_annotations{clusterrole=\"cluster-admin\",annotation_rbac_authorization_kubernetes_io_autoupdate=\"true\"} 1\n"
        );
        assert_eq!(
            render_text(&r, &ctx, "kube_clusterrole_labels"),
            "kube_clusterrole_labels{clusterrole=\"cluster-admin\",label_kubernetes_io_bootstrapping=\"rbac-defaults\"} 1\n"
        );
        assert_eq!(
            render_text(&r, &ctx, "kube_clusterrole_info"),
            "kube_clusterrole_info{clusterrole=\"cluster-admin\"} 1\n"
        );
        assert_eq!(
            render_text(&r, &ctx, "kube_clusterrole_created"),
            "kube_clusterrole_created{clusterrole=\"cluster-admin\"} 1.79549692e+09\n"
        );
        assert_eq!(
            render_text(&r, &ctx, "kube_clusterrole_metadata_resource_version"),
            "kube_clusterrole_metadata_resource_version{clusterrole=\"cluster-admin\"} 72\n"
        );
    }

    #[test]
    fn labels_and_annotations_need_the_allowlist() {
        let r = cluster_admin();
        let ctx = RenderContext::default();
        assert_eq!(render_text(&r, &ctx, "kube_clusterrole_annotations"), "");
        assert_eq!(render_text(&r, &ctx, "kube_clusterrole_labels"), "");
    }

    #[test]
    fn bare_object_has_info_only() {
        // No timestamp and a resourceVersion that is not a number: KSM skips both samples.
        let r: ClusterRole =
            serde_json::from_value(json!({"metadata": {"name": "bare", "resourceVersion": "abcdef"}})).unwrap();
        let ctx = RenderContext::allow_all();
        assert_eq!(
            render_text(&r, &ctx, "kube_clusterrole_info"),
            "kube_clusterrole_info{clusterrole=\"bare\"} 1\n"
        );
        assert_eq!(render_text(&r, &ctx, "kube_clusterrole_created"), "");
        assert_eq!(render_text(&r, &ctx, "kube_clusterrole_metadata_resource_version"), "");
        // Allowlisted but without labels or annotations: one series with the base labels only.
        assert_eq!(
            render_text(&r, &ctx, "kube_clusterrole_labels"),
            "kube_clusterrole_labels{clusterrole=\"bare\"} 1\n"
        );
        assert_eq!(
            render_text(&r, &ctx, "kube_clusterrole_annotations"),
            "kube_clusterrole_annotations{clusterrole=\"bare\"} 1\n"
        );
    }

    #[test]
    fn captured_object_labels_keep_key_order_and_split_conflicts() {
        let list: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/fixtures/objects/clusterroles.json")).expect("fixture JSON");
        let r: ClusterRole = serde_json::from_value(list["items"][0].clone()).expect("fixture item");
        // `app-name`, `app.name` and `app_name` all sanitize to `label_app_name`: each gets a
        // `_conflictN` suffix in key order, and every series keeps the keys' sorted order.
        assert_eq!(
            render_text(&r, &RenderContext::allow_all(), "kube_clusterrole_labels"),
            format!(
                "kube_clusterrole_labels{{clusterrole=\"corpus-reader\",label_httpserver=\"upper\",\
                 label_app_name_conflict1=\"conflict-c\",label_app_kubernetes_io_name=\"shop\",\
                 label_app_kubernetes_io_part_of=\"corpus\",label_app_name_conflict2=\"conflict-b\",\
                 label_app_name_conflict3=\"conflict-a\",label_empty=\"\",label_example_com_some_key=\"some.value_1-2\",\
                 label_example_com_version=\"1.2.3_rc-1\",label_foo_bar=\"camel\",label_key_with_dashes=\"dash-value\",\
                 label_long=\"{}\"}} 1\n",
                "l".repeat(63)
            )
        );
        assert_eq!(
            render_text(
                &r,
                &RenderContext::allow_all(),
                "kube_clusterrole_metadata_resource_version"
            ),
            "kube_clusterrole_metadata_resource_version{clusterrole=\"corpus-reader\"} 459\n"
        );
    }
}
