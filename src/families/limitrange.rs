//! `limitranges`: KSM's `internal/store/limitrange.go`. Base labels `namespace,limitrange`.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{LimitRange, LimitRangeItem};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;

use super::quantity::Quantity;
use super::{FamilyDef, ObjectFamilies, RenderContext, Samples, Stability::*};

/// A resource list of one constraint of a limit item.
type ConstraintList = fn(&LimitRangeItem) -> Option<&BTreeMap<String, K8sQuantity>>;

/// The constraints of a limit item in KSM's order, with the label value KSM writes for each.
const CONSTRAINTS: [(&str, ConstraintList); 5] = [
    ("min", |i| i.min.as_ref()),
    ("max", |i| i.max.as_ref()),
    ("default", |i| i.default.as_ref()),
    ("defaultRequest", |i| i.default_request.as_ref()),
    ("maxLimitRequestRatio", |i| i.max_limit_request_ratio.as_ref()),
];

impl ObjectFamilies for LimitRange {
    const BASE_LABELS: &'static [&'static str] = &["namespace", "limitrange"];

    fn base_label_values(&self) -> Vec<&str> {
        super::meta::namespace_and_name(&self.metadata)
    }

    fn families() -> Vec<FamilyDef<Self>> {
        vec![
            FamilyDef::gauge(
                "kube_limitrange",
                Stable,
                "Information about limit range.",
                |l: &LimitRange, _: &RenderContext, out: &mut Samples| limits(l, out),
            ),
            FamilyDef::created("kube_limitrange", Stable, "Unix creation timestamp"),
        ]
    }
}

/// One series per item, constraint and resource: items in spec order, constraints in KSM's order,
/// resources in key order. KSM takes `MilliValue() / 1000` for every resource, bytes included;
/// `ksm_float` is exactly that wherever Go's milli-value fits in an int64 (beyond, Go's result
/// is meaningless and this keeps the whole value). An unparseable quantity skips its series.
fn limits(l: &LimitRange, out: &mut Samples) {
    let items = l.spec.as_ref().map(|s| s.limits.as_slice()).unwrap_or_default();
    for item in items {
        for (constraint, field) in CONSTRAINTS {
            for (resource, raw) in field(item).into_iter().flatten() {
                if let Some(q) = Quantity::parse(&raw.0) {
                    out.push(
                        [
                            ("resource", resource.as_str()),
                            ("type", item.type_.as_str()),
                            ("constraint", constraint),
                        ],
                        q.ksm_float(),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::families::render_text;

    fn limit_range(limits: serde_json::Value) -> LimitRange {
        serde_json::from_value(json!({
            "kind": "LimitRange",
            "apiVersion": "v1",
            "metadata": {
                "name": "defaults",
                "namespace": "shop",
                "uid": "75b71787-1d10-48da-b139-cdea3d14d91a",
                "resourceVersion": "501",
                "creationTimestamp": "2026-12-04T17:10:31Z"
            },
            "spec": {"limits": limits}
        }))
        .expect("valid LimitRange")
    }

    fn render(l: &LimitRange, family: &str) -> String {
        render_text(l, &RenderContext::default(), family)
    }

    fn line(resource: &str, kind: &str, constraint: &str, value: &str) -> String {
        format!(
            "kube_limitrange{{namespace=\"shop\",limitrange=\"defaults\",resource=\"{resource}\",\
             type=\"{kind}\",constraint=\"{constraint}\"}} {value}\n"
        )
    }

    #[test]
    fn every_constraint_of_every_item_in_order() {
        let l = limit_range(json!([
            {"type": "Container",
             "max": {"cpu": "4", "memory": "8Gi"},
             "min": {"cpu": "10m", "memory": "16Mi"},
             "default": {"cpu": "500m", "memory": "512Mi"},
             "defaultRequest": {"cpu": "100m", "memory": "2.1G"},
             "maxLimitRequestRatio": {"cpu": "10"}},
            {"type": "PersistentVolumeClaim", "max": {"storage": "2Ti"}, "min": {"storage": "1Gi"}}
        ]));
        let expected = [
            line("cpu", "Container", "min", "0.01"),
            line("memory", "Container", "min", "1.6777216e+07"),
            line("cpu", "Container", "max", "4"),
            line("memory", "Container", "max", "8.589934592e+09"),
            line("cpu", "Container", "default", "0.5"),
            line("memory", "Container", "default", "5.36870912e+08"),
            line("cpu", "Container", "defaultRequest", "0.1"),
            line("memory", "Container", "defaultRequest", "2.1e+09"),
            line("cpu", "Container", "maxLimitRequestRatio", "10"),
            line("storage", "PersistentVolumeClaim", "min", "1.073741824e+09"),
            line("storage", "PersistentVolumeClaim", "max", "2.199023255552e+12"),
        ]
        .concat();
        assert_eq!(render(&l, "kube_limitrange"), expected);
    }

    #[test]
    fn bytes_keep_fractions_and_extended_resources_are_written_as_is() {
        // Unlike container requests, limit ranges divide the milli-value for every resource.
        let l = limit_range(json!([
            {"type": "Container",
             "max": {"memory": "1500m", "nvidia.com/gpu": "2"},
             "maxLimitRequestRatio": {"memory": "1500m"}}
        ]));
        let expected = [
            line("memory", "Container", "max", "1.5"),
            line("nvidia.com/gpu", "Container", "max", "2"),
            line("memory", "Container", "maxLimitRequestRatio", "1.5"),
        ]
        .concat();
        assert_eq!(render(&l, "kube_limitrange"), expected);
    }

    #[test]
    fn no_spec_or_no_limits_gives_no_series() {
        assert_eq!(render(&limit_range(json!([])), "kube_limitrange"), "");
        let mut l = limit_range(json!([{"type": "Pod"}]));
        assert_eq!(render(&l, "kube_limitrange"), "");
        l.spec = None;
        assert_eq!(render(&l, "kube_limitrange"), "");
    }

    #[test]
    fn created() {
        let mut l = limit_range(json!([]));
        assert_eq!(
            render(&l, "kube_limitrange_created"),
            "kube_limitrange_created{namespace=\"shop\",limitrange=\"defaults\"} 1.796404231e+09\n"
        );
        l.metadata.creation_timestamp = None;
        assert_eq!(render(&l, "kube_limitrange_created"), "");
    }
}
