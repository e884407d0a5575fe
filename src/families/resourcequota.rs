//! `resourcequotas`: KSM's `internal/store/resourcequota.go`. Base labels
//! `namespace,resourcequota`.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ResourceQuota;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;

use super::quantity::Quantity;
use super::{FamilyDef, ObjectFamilies, RenderContext, Samples, Stability::*};

impl ObjectFamilies for ResourceQuota {
    const BASE_LABELS: &'static [&'static str] = &["namespace", "resourcequota"];

    fn base_label_values(&self) -> Vec<&str> {
        super::meta::namespace_and_name(&self.metadata)
    }

    fn families() -> Vec<FamilyDef<Self>> {
        const P: &str = "kube_resourcequota";
        vec![
            FamilyDef::created(P, Stable, "Unix creation timestamp"),
            FamilyDef::gauge(
                "kube_resourcequota",
                Stable,
                "Information about resource quota.",
                |q: &ResourceQuota, _: &RenderContext, out: &mut Samples| {
                    let Some(status) = &q.status else { return };
                    push_list(status.hard.as_ref(), "hard", out);
                    push_list(status.used.as_ref(), "used", out);
                },
            ),
            FamilyDef::annotations(P, Alpha),
            FamilyDef::labels(P, Stable),
        ]
    }
}

/// One series per resource of `status.hard` or `status.used`. The `resource` label is the quota
/// key as written (`requests.cpu`, `count/deployments.apps`), not sanitized; the value is KSM's
/// `convertValueToFloat64` (milli-value / 1000, `Value()` where that would overflow). Go parses
/// quantities when decoding, so an unparseable one cannot reach KSM; here it skips its series.
fn push_list(list: Option<&BTreeMap<String, K8sQuantity>>, kind: &str, out: &mut Samples) {
    for (resource, raw) in list.into_iter().flatten() {
        if let Some(q) = Quantity::parse(&raw.0) {
            out.push([("resource", resource.as_str()), ("type", kind)], q.ksm_float());
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::families::render_text;

    fn quota(status: serde_json::Value) -> ResourceQuota {
        serde_json::from_value(json!({
            "kind": "ResourceQuota",
            "apiVersion": "v1",
            "metadata": {
                "name": "compute",
                "namespace": "shop",
                "uid": "b529b3d5-0056-4675-84ef-4e05dc5baca7",
                "resourceVersion": "497",
                "creationTimestamp": "2026-12-04T17:10:31Z",
                "labels": {"team": "storefront"},
                "annotations": {"example.com/ticket": "OPS-1234"}
            },
            "spec": {"hard": {"pods": "50"}},
            "status": status
        }))
        .expect("valid ResourceQuota")
    }

    fn render(q: &ResourceQuota, family: &str) -> String {
        render_text(q, &RenderContext::default(), family)
    }

    #[test]
    fn hard_then_used_in_key_order_with_quantity_conversion() {
        let q = quota(json!({
            "hard": {
                "count/deployments.apps": "20",
                "limits.memory": "128Gi",
                "requests.cpu": "4.3",
                "requests.memory": "2.1G",
                "requests.nvidia.com/gpu": "4",
                "services.nodeports": "0"
            },
            "used": {
                "count/deployments.apps": "3",
                "limits.memory": "3Gi",
                "requests.cpu": "3250m",
                "requests.memory": "5888Mi",
                "requests.nvidia.com/gpu": "0",
                "services.nodeports": "0"
            }
        }));
        let b = "namespace=\"shop\",resourcequota=\"compute\"";
        let expected = [
            ("count/deployments.apps", "hard", "20"),
            ("limits.memory", "hard", "1.37438953472e+11"),
            ("requests.cpu", "hard", "4.3"),
            ("requests.memory", "hard", "2.1e+09"),
            ("requests.nvidia.com/gpu", "hard", "4"),
            ("services.nodeports", "hard", "0"),
            ("count/deployments.apps", "used", "3"),
            ("limits.memory", "used", "3.221225472e+09"),
            ("requests.cpu", "used", "3.25"),
            ("requests.memory", "used", "6.174015488e+09"),
            ("requests.nvidia.com/gpu", "used", "0"),
            ("services.nodeports", "used", "0"),
        ]
        .iter()
        .map(|(r, t, v)| format!("kube_resourcequota{{{b},resource=\"{r}\",type=\"{t}\"}} {v}\n"))
        .collect::<String>();
        assert_eq!(render(&q, "kube_resourcequota"), expected);
    }

    #[test]
    fn sub_milli_values_round_up_and_huge_values_fall_back_to_value() {
        let q = quota(json!({"hard": {"requests.cpu": "1n", "requests.storage": "8E"}}));
        assert_eq!(
            render(&q, "kube_resourcequota"),
            "kube_resourcequota{namespace=\"shop\",resourcequota=\"compute\",resource=\"requests.cpu\",type=\"hard\"} 0.001\n\
             kube_resourcequota{namespace=\"shop\",resourcequota=\"compute\",resource=\"requests.storage\",type=\"hard\"} 8e+18\n"
        );
    }

    #[test]
    fn quota_without_status_has_only_created() {
        let mut q = quota(json!({}));
        assert_eq!(render(&q, "kube_resourcequota"), "");
        q.status = None;
        assert_eq!(render(&q, "kube_resourcequota"), "");
        assert_eq!(
            render(&q, "kube_resourcequota_created"),
            "kube_resourcequota_created{namespace=\"shop\",resourcequota=\"compute\"} 1.796404231e+09\n"
        );
        q.metadata.creation_timestamp = None;
        assert_eq!(render(&q, "kube_resourcequota_created"), "");
    }

    #[test]
    fn labels_and_annotations_only_when_allowlisted() {
        let q = quota(json!({}));
        assert_eq!(render(&q, "kube_resourcequota_labels"), "");
        assert_eq!(render(&q, "kube_resourcequota_annotations"), "");
        let all = RenderContext::allow_all();
        assert_eq!(
            render_text(&q, &all, "kube_resourcequota_labels"),
            "kube_resourcequota_labels{namespace=\"shop\",resourcequota=\"compute\",label_team=\"storefront\"} 1\n"
        );
        assert_eq!(
            render_text(&q, &all, "kube_resourcequota_annotations"),
            "kube_resourcequota_annotations{namespace=\"shop\",resourcequota=\"compute\",annotation_example_com_ticket=\"OPS-1234\"} 1\n"
        );
    }
}
