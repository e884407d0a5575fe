//! `storageclasses`: KSM's `internal/store/storageclass.go`. Base label `storageclass`.

use k8s_openapi::api::storage::v1::StorageClass;

use super::{FamilyDef, ObjectFamilies, Stability::*};

impl ObjectFamilies for StorageClass {
    const BASE_LABELS: &'static [&'static str] = &["storageclass"];

    fn base_label_values(&self) -> Vec<&str> {
        vec![self.metadata.name.as_deref().unwrap_or("")]
    }

    fn families() -> Vec<FamilyDef<Self>> {
        family_defs()
    }
}

/// What the API server assumes for a class without `reclaimPolicy`; KSM writes it explicitly.
const DEFAULT_RECLAIM_POLICY: &str = "Delete";
/// What the API server assumes for a class without `volumeBindingMode`; KSM writes it too.
const DEFAULT_VOLUME_BINDING_MODE: &str = "Immediate";

/// Closures in the table infer their object type from this alias.
type Def = FamilyDef<StorageClass>;

fn family_defs() -> Vec<FamilyDef<StorageClass>> {
    const P: &str = "kube_storageclass";
    vec![
        Def::gauge(
            "kube_storageclass_info",
            Stable,
            "Information about storageclass.",
            |sc, _, s| {
                s.push(
                    [
                        ("provisioner", sc.provisioner.as_str()),
                        (
                            "reclaim_policy",
                            sc.reclaim_policy.as_deref().unwrap_or(DEFAULT_RECLAIM_POLICY),
                        ),
                        (
                            "volume_binding_mode",
                            sc.volume_binding_mode.as_deref().unwrap_or(DEFAULT_VOLUME_BINDING_MODE),
                        ),
                    ],
                    1.0,
                )
            },
        ),
        Def::created(P, Stable, "Unix creation timestamp"),
        Def::annotations(P, Alpha),
        Def::labels(P, Stable),
    ]
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::families::{RenderContext, render_text};

    /// `nfs-shared` as the v1.36 API server returns it (managedFields dropped).
    fn nfs_shared() -> serde_json::Value {
        json!({
            "kind": "StorageClass",
            "apiVersion": "storage.k8s.io/v1",
            "metadata": {
                "name": "nfs-shared",
                "uid": "4f9fdff2-6156-475b-912f-336e433d0407",
                "resourceVersion": "227",
                "creationTimestamp": "2026-12-04T17:10:28Z",
                "labels": {"app-name": "conflict-c", "app.name": "conflict-b", "app_name": "conflict-a"},
                "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}
            },
            "provisioner": "nfs.csi.k8s.io",
            "parameters": {"server": "nfs.example.com", "share": "/exports"},
            "reclaimPolicy": "Delete",
            "volumeBindingMode": "Immediate"
        })
    }

    fn class(v: serde_json::Value) -> StorageClass {
        serde_json::from_value(v).expect("valid StorageClass")
    }

    fn render(sc: &StorageClass, family: &str) -> String {
        render_text(sc, &RenderContext::default(), family)
    }

    #[test]
    fn info_and_created() {
        let mut v = nfs_shared();
        v["reclaimPolicy"] = json!("Retain");
        v["volumeBindingMode"] = json!("WaitForFirstConsumer");
        let sc = class(v);
        assert_eq!(
            render(&sc, "kube_storageclass_info"),
            "kube_storageclass_info{storageclass=\"nfs-shared\",provisioner=\"nfs.csi.k8s.io\",\
             reclaim_policy=\"Retain\",volume_binding_mode=\"WaitForFirstConsumer\"} 1\n"
        );
        assert_eq!(
            render(&sc, "kube_storageclass_created"),
            "kube_storageclass_created{storageclass=\"nfs-shared\"} 1.796404228e+09\n"
        );
    }

    #[test]
    fn unset_policy_and_binding_mode_get_the_api_defaults() {
        let mut v = nfs_shared();
        let obj = v.as_object_mut().unwrap();
        obj.remove("reclaimPolicy");
        obj.remove("volumeBindingMode");
        obj["metadata"].as_object_mut().unwrap().remove("creationTimestamp");
        let sc = class(v);
        assert_eq!(
            render(&sc, "kube_storageclass_info"),
            "kube_storageclass_info{storageclass=\"nfs-shared\",provisioner=\"nfs.csi.k8s.io\",\
             reclaim_policy=\"Delete\",volume_binding_mode=\"Immediate\"} 1\n"
        );
        assert_eq!(render(&sc, "kube_storageclass_created"), "");
    }

    #[test]
    fn labels_and_annotations_follow_the_allowlists() {
        let sc = class(nfs_shared());
        assert_eq!(render(&sc, "kube_storageclass_labels"), "");
        assert_eq!(render(&sc, "kube_storageclass_annotations"), "");
        let ctx = RenderContext::allow_all();
        // Three keys that sanitize to one name all get conflict suffixes, in key order.
        assert_eq!(
            render_text(&sc, &ctx, "kube_storageclass_labels"),
            "kube_storageclass_labels{storageclass=\"nfs-shared\",label_app_name_conflict1=\"conflict-c\",\
             label_app_name_conflict2=\"conflict-b\",label_app_name_conflict3=\"conflict-a\"} 1\n"
        );
        assert_eq!(
            render_text(&sc, &ctx, "kube_storageclass_annotations"),
            "kube_storageclass_annotations{storageclass=\"nfs-shared\",\
             annotation_storageclass_kubernetes_io_is_default_class=\"true\"} 1\n"
        );
    }
}
