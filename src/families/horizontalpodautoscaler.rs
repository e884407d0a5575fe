//! `horizontalpodautoscalers`: KSM's `internal/store/horizontalpodautoscaler.go` (autoscaling/v2).
//! Base labels `namespace,horizontalpodautoscaler`.

use k8s_openapi::api::autoscaling::v2::{
    HPAScalingRules, HorizontalPodAutoscaler, HorizontalPodAutoscalerBehavior, HorizontalPodAutoscalerCondition,
    MetricSpec, MetricStatus,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as RawQuantity;

use super::quantity::Quantity;
use super::{FamilyDef, ObjectFamilies, Samples, Stability::*, condition_values};

impl ObjectFamilies for HorizontalPodAutoscaler {
    const BASE_LABELS: &'static [&'static str] = &["namespace", "horizontalpodautoscaler"];

    fn base_label_values(&self) -> Vec<&str> {
        super::meta::namespace_and_name(&self.metadata)
    }

    fn families() -> Vec<FamilyDef<Self>> {
        family_defs()
    }
}

/// KSM's `convertValueToFloat64` (milli-value / 1000 unless that overflows); `None` for an
/// unparseable quantity.
fn quantity_value(q: &RawQuantity) -> Option<f64> {
    Quantity::parse(&q.0).map(|q| q.ksm_float())
}

/// One metric's target (spec) or current value (status): its name, the container for
/// `ContainerResource` metrics, and the three optional value kinds.
struct MetricValues<'a> {
    name: &'a str,
    container: Option<&'a str>,
    value: Option<&'a RawQuantity>,
    average_value: Option<&'a RawQuantity>,
    average_utilization: Option<i32>,
}

/// Name and target of a spec metric, by `type`; `None` for an unknown type or a type whose
/// source is missing (KSM skips unknown types).
fn spec_values(m: &MetricSpec) -> Option<MetricValues<'_>> {
    let (name, container, t) = match m.type_.as_str() {
        "Object" => m.object.as_ref().map(|o| (o.metric.name.as_str(), None, &o.target))?,
        "Pods" => m.pods.as_ref().map(|p| (p.metric.name.as_str(), None, &p.target))?,
        "Resource" => m.resource.as_ref().map(|r| (r.name.as_str(), None, &r.target))?,
        "ContainerResource" => m
            .container_resource
            .as_ref()
            .map(|c| (c.name.as_str(), Some(c.container.as_str()), &c.target))?,
        "External" => m.external.as_ref().map(|e| (e.metric.name.as_str(), None, &e.target))?,
        _ => return None,
    };
    Some(MetricValues {
        name,
        container,
        value: t.value.as_ref(),
        average_value: t.average_value.as_ref(),
        average_utilization: t.average_utilization,
    })
}

/// Name and current value of a status metric, by `type`.
fn status_values(m: &MetricStatus) -> Option<MetricValues<'_>> {
    let (name, container, c) = match m.type_.as_str() {
        "Object" => m.object.as_ref().map(|o| (o.metric.name.as_str(), None, &o.current))?,
        "Pods" => m.pods.as_ref().map(|p| (p.metric.name.as_str(), None, &p.current))?,
        "Resource" => m.resource.as_ref().map(|r| (r.name.as_str(), None, &r.current))?,
        "ContainerResource" => m
            .container_resource
            .as_ref()
            .map(|c| (c.name.as_str(), Some(c.container.as_str()), &c.current))?,
        "External" => m
            .external
            .as_ref()
            .map(|e| (e.metric.name.as_str(), None, &e.current))?,
        _ => return None,
    };
    Some(MetricValues {
        name,
        container,
        value: c.value.as_ref(),
        average_value: c.average_value.as_ref(),
        average_utilization: c.average_utilization,
    })
}

/// One sample per value kind that is set, labelled `metric_name`, `metric_target_type`
/// (`value` / `utilization` / `average`) and `container`. KSM builds one label set for every
/// source type, so `container` is there, empty, for all but `ContainerResource` metrics. KSM
/// ranges over a Go map here, so its order is random; ours is fixed: value, utilization, average.
fn push_metric_values(m: &MetricValues, s: &mut Samples) {
    let kinds = [
        ("value", m.value.and_then(quantity_value)),
        ("utilization", m.average_utilization.map(f64::from)),
        ("average", m.average_value.and_then(quantity_value)),
    ];
    for (kind, v) in kinds {
        let Some(v) = v else { continue };
        s.push(
            [
                ("metric_name", m.name),
                ("metric_target_type", kind),
                ("container", m.container.unwrap_or("")),
            ],
            v,
        );
    }
}

/// `kube_horizontalpodautoscaler_spec_behavior_scale_*_tolerance`: only when the tolerance is set.
fn tolerance(
    h: &HorizontalPodAutoscaler,
    rules: fn(&HorizontalPodAutoscalerBehavior) -> Option<&HPAScalingRules>,
    s: &mut Samples,
) {
    let tolerance = h
        .spec
        .behavior
        .as_ref()
        .and_then(rules)
        .and_then(|r| r.tolerance.as_ref());
    if let Some(v) = tolerance.and_then(quantity_value) {
        s.value(v);
    }
}

fn info(h: &HorizontalPodAutoscaler, s: &mut Samples) {
    let r = &h.spec.scale_target_ref;
    let (kind, name) = (
        ("scaletargetref_kind", r.kind.as_str()),
        ("scaletargetref_name", r.name.as_str()),
    );
    match r.api_version.as_deref().filter(|v| !v.is_empty()) {
        Some(api_version) => s.push([("scaletargetref_api_version", api_version), kind, name], 1.0),
        None => s.push([kind, name], 1.0),
    }
}

/// Condition reasons the HPA controller writes (`pkg/controller/podautoscaler`); any other
/// reason (including none) is reported as `unknown`, so the label's values stay bounded.
const CONDITION_REASONS: &[&str] = &[
    "FailedGetResourceMetric",
    "FailedGetContainerResourceMetric",
    "FailedGetPodsMetric",
    "FailedGetObjectMetric",
    "FailedGetExternalMetric",
    "FailedComputeMetricsReplicas",
    "ValidMetricFound",
    "ScalingDisabled",
    "SucceededGetScale",
    "FailedGetScale",
    "ReadyForNewScale",
    "ScaleDownStabilized",
    "ScaleUpStabilized",
    "TooManyReplicas",
    "TooFewReplicas",
    "DesiredWithinRange",
    "InvalidMetricSourceType",
    "InvalidSelector",
    "FailedUpdateStatus",
    "BackoffBoth",
    "BackoffDownscale",
    "BackoffUpscale",
];

fn conditions(h: &HorizontalPodAutoscaler) -> &[HorizontalPodAutoscalerCondition] {
    h.status
        .as_ref()
        .and_then(|st| st.conditions.as_deref())
        .unwrap_or_default()
}

/// `kube_horizontalpodautoscaler_status_condition_reason` (not a KSM family): `condition,
/// reason`, 1 for every condition present, whatever its status.
fn condition_reasons(h: &HorizontalPodAutoscaler, s: &mut Samples) {
    for c in conditions(h) {
        let reason = c
            .reason
            .as_deref()
            .filter(|r| CONDITION_REASONS.contains(r))
            .unwrap_or("unknown");
        s.push([("condition", c.type_.as_str()), ("reason", reason)], 1.0);
    }
}

/// Closures in the table infer their object type from this alias.
type Def = FamilyDef<HorizontalPodAutoscaler>;

fn family_defs() -> Vec<FamilyDef<HorizontalPodAutoscaler>> {
    const P: &str = "kube_horizontalpodautoscaler";
    vec![
        Def::gauge(
            "kube_horizontalpodautoscaler_info",
            Alpha,
            "Information about this autoscaler.",
            |h, _, s| info(h, s),
        ),
        Def::metadata_generation(
            P,
            Stable,
            "The generation observed by the HorizontalPodAutoscaler controller.",
        ),
        Def::gauge(
            "kube_horizontalpodautoscaler_spec_max_replicas",
            Stable,
            "Upper limit for the number of pods that can be set by the autoscaler; cannot be smaller than MinReplicas.",
            |h, _, s| s.value(f64::from(h.spec.max_replicas)),
        ),
        Def::gauge(
            "kube_horizontalpodautoscaler_spec_min_replicas",
            Stable,
            "Lower limit for the number of pods that can be set by the autoscaler, default 1.",
            // The API server defaults an unset `minReplicas` to 1; KSM reads the defaulted value.
            |h, _, s| s.value(f64::from(h.spec.min_replicas.unwrap_or(1))),
        ),
        Def::gauge(
            "kube_horizontalpodautoscaler_spec_target_metric",
            Alpha,
            "The metric specifications used by this autoscaler when calculating the desired replica count.",
            |h, _, s| {
                let metrics = h.spec.metrics.as_deref().unwrap_or_default();
                for m in metrics.iter().filter_map(spec_values) {
                    push_metric_values(&m, s);
                }
            },
        ),
        Def::gauge(
            "kube_horizontalpodautoscaler_spec_behavior_scale_down_tolerance",
            Alpha,
            "The tolerance on the ratio between the current and desired metric value below which no scale down occurs.",
            |h, _, s| tolerance(h, |b| b.scale_down.as_ref(), s),
        ),
        Def::gauge(
            "kube_horizontalpodautoscaler_spec_behavior_scale_up_tolerance",
            Alpha,
            "The tolerance on the ratio between the current and desired metric value below which no scale up occurs.",
            |h, _, s| tolerance(h, |b| b.scale_up.as_ref(), s),
        ),
        Def::gauge(
            "kube_horizontalpodautoscaler_status_target_metric",
            Stable,
            "The current metric status used by this autoscaler when calculating the desired replica count.",
            |h, _, s| {
                let metrics = h
                    .status
                    .as_ref()
                    .and_then(|st| st.current_metrics.as_deref())
                    .unwrap_or_default();
                for m in metrics.iter().filter_map(status_values) {
                    push_metric_values(&m, s);
                }
            },
        ),
        Def::gauge(
            "kube_horizontalpodautoscaler_status_current_replicas",
            Stable,
            "Current number of replicas of pods managed by this autoscaler.",
            |h, _, s| {
                s.value(f64::from(
                    h.status.as_ref().and_then(|st| st.current_replicas).unwrap_or(0),
                ))
            },
        ),
        Def::gauge(
            "kube_horizontalpodautoscaler_status_desired_replicas",
            Stable,
            "Desired number of replicas of pods managed by this autoscaler.",
            |h, _, s| s.value(f64::from(h.status.as_ref().map(|st| st.desired_replicas).unwrap_or(0))),
        ),
        Def::annotations(P, Alpha),
        Def::labels(P, Stable),
        Def::gauge(
            "kube_horizontalpodautoscaler_status_condition",
            Stable,
            "The condition of this autoscaler.",
            |h, _, s| {
                for c in conditions(h) {
                    for (status, value) in condition_values(&c.status) {
                        s.push([("condition", c.type_.as_str()), ("status", status)], value);
                    }
                }
            },
        ),
        Def::created(P, Alpha, "Unix creation timestamp"),
        Def::deletion_timestamp(P, Alpha),
        // Not in KSM: the reason of each condition, bounded, for alerts that need to know why
        // scaling is inactive (metrics unavailable vs. scaling disabled). Opt-in.
        Def::gauge(
            "kube_horizontalpodautoscaler_status_condition_reason",
            Alpha,
            "The reason of each current condition of this autoscaler.",
            |h, _, s| condition_reasons(h, s),
        )
        .opt_in(),
    ]
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::families::{RenderContext, render_text};

    /// The `api` HPA as a v1.36 API server returns it (managedFields dropped), plus a Resource
    /// metric, a ContainerResource status and behavior tolerances.
    fn api() -> serde_json::Value {
        json!({
            "kind": "HorizontalPodAutoscaler",
            "apiVersion": "autoscaling/v2",
            "metadata": {
                "name": "api",
                "namespace": "shop",
                "uid": "6432f989-eb2d-4d6a-a59b-1ad285adb512",
                "resourceVersion": "306",
                "creationTimestamp": "2026-11-24T05:09:02Z",
                "labels": {"app.kubernetes.io/name": "api"},
                "annotations": {"example.com/owner": "@shop-team"}
            },
            "spec": {
                "scaleTargetRef": {"kind": "Deployment", "name": "api", "apiVersion": "apps/v1"},
                "minReplicas": 3,
                "maxReplicas": 4,
                "metrics": [
                    {"type": "ContainerResource", "containerResource": {
                        "name": "cpu", "container": "api", "target": {"type": "Utilization", "averageUtilization": 60}}},
                    {"type": "ContainerResource", "containerResource": {
                        "name": "cpu", "container": "sidecar", "target": {"type": "Utilization", "averageUtilization": 80}}},
                    {"type": "Resource", "resource": {
                        "name": "memory", "target": {"type": "AverageValue", "averageValue": "800Ki"}}},
                    {"type": "Pods", "pods": {
                        "metric": {"name": "packets-per-second"}, "target": {"type": "AverageValue", "averageValue": "1k"}}},
                    {"type": "Object", "object": {
                        "describedObject": {"kind": "Ingress", "name": "shop", "apiVersion": "networking.k8s.io/v1"},
                        "target": {"type": "Value", "value": "10k"}, "metric": {"name": "requests-per-second"}}},
                    {"type": "External", "external": {
                        "metric": {"name": "queue_messages_ready", "selector": {"matchLabels": {"queue": "orders"}}},
                        "target": {"type": "AverageValue", "averageValue": "30"}}},
                    {"type": "External", "external": {
                        "metric": {"name": "sqs_backlog"}, "target": {"type": "Value", "value": "250m"}}}
                ],
                "behavior": {
                    "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "tolerance": "0",
                        "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15},
                                     {"type": "Percent", "value": 100, "periodSeconds": 15}]},
                    "scaleDown": {"stabilizationWindowSeconds": 300, "selectPolicy": "Max", "tolerance": "50m",
                        "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}
                }
            },
            "status": {
                "currentReplicas": 4,
                "desiredReplicas": 5,
                "currentMetrics": [
                    {"type": "ContainerResource", "containerResource": {
                        "name": "cpu", "container": "api", "current": {"averageValue": "62m", "averageUtilization": 6}}},
                    {"type": "Resource", "resource": {
                        "name": "memory", "current": {"averageValue": "26335914666m", "averageUtilization": 28}}},
                    {"type": "Pods", "pods": {"metric": {"name": "packets-per-second"}, "current": {"averageValue": "1200"}}},
                    {"type": "Object", "object": {"metric": {"name": "requests-per-second"}, "current": {"value": "12500"},
                        "describedObject": {"kind": "Ingress", "name": "shop", "apiVersion": "networking.k8s.io/v1"}}},
                    {"type": "External", "external": {"metric": {"name": "queue_messages_ready"},
                        "current": {"value": "0", "averageValue": "2900m"}}}
                ],
                "conditions": [
                    {"type": "AbleToScale", "status": "True", "lastTransitionTime": "2026-11-23T09:15:00Z",
                     "reason": "SucceededGetScale", "message": "the HPA controller was able to get the target's current scale"},
                    {"type": "ScalingActive", "status": "False", "lastTransitionTime": "2026-11-24T01:02:03Z",
                     "reason": "FailedGetResourceMetric", "message": "no metrics returned from resource metrics API"},
                    {"type": "ScalingLimited", "status": "Unknown", "lastTransitionTime": "2026-11-24T01:02:03Z",
                     "reason": "TooManyReplicas", "message": "the desired replica count is more than the maximum replica count"}
                ]
            }
        })
    }

    fn hpa(v: serde_json::Value) -> HorizontalPodAutoscaler {
        serde_json::from_value(v).expect("valid HorizontalPodAutoscaler")
    }

    const BASE: &str = "namespace=\"shop\",horizontalpodautoscaler=\"api\"";

    fn render(h: &HorizontalPodAutoscaler, family: &str) -> String {
        render_text(h, &RenderContext::default(), family)
    }

    /// Rows of `(metric_name, metric_target_type, container, value)`; `container` is `""` for
    /// every source type but `ContainerResource`, and KSM still prints it.
    fn target_lines(family: &str, rows: &[(&str, &str, &str, &str)]) -> String {
        rows.iter()
            .map(|(name, kind, container, v)| {
                format!(
                    "{family}{{{BASE},metric_name=\"{name}\",metric_target_type=\"{kind}\",container=\"{container}\"}} {v}\n"
                )
            })
            .collect()
    }

    #[test]
    fn spec_target_metric_for_every_metric_type() {
        let h = hpa(api());
        let family = "kube_horizontalpodautoscaler_spec_target_metric";
        assert_eq!(
            render(&h, family),
            target_lines(
                family,
                &[
                    ("cpu", "utilization", "api", "60"),
                    ("cpu", "utilization", "sidecar", "80"),
                    ("memory", "average", "", "819200"),
                    ("packets-per-second", "average", "", "1000"),
                    ("requests-per-second", "value", "", "10000"),
                    ("queue_messages_ready", "average", "", "30"),
                    ("sqs_backlog", "value", "", "0.25"),
                ]
            )
        );
    }

    #[test]
    fn status_target_metric_for_every_metric_type() {
        let h = hpa(api());
        let family = "kube_horizontalpodautoscaler_status_target_metric";
        assert_eq!(
            render(&h, family),
            target_lines(
                family,
                &[
                    ("cpu", "utilization", "api", "6"),
                    ("cpu", "average", "api", "0.062"),
                    ("memory", "utilization", "", "28"),
                    ("memory", "average", "", "2.6335914666e+07"),
                    ("packets-per-second", "average", "", "1200"),
                    ("requests-per-second", "value", "", "12500"),
                    ("queue_messages_ready", "value", "", "0"),
                    ("queue_messages_ready", "average", "", "2.9"),
                ]
            )
        );
    }

    #[test]
    fn target_metrics_skip_unknown_types_and_missing_sources() {
        let mut v = api();
        v["spec"]["metrics"] = json!([
            {"type": "Resource"},
            {"type": "Resource", "resource": {"name": "disk", "target": {"type": "Utilization"}}},
            {"type": "FutureSource", "futureSource": {"name": "x"}},
            {"type": "Pods", "pods": {"metric": {"name": "bad"}, "target": {"type": "AverageValue", "averageValue": "1.2.3"}}}
        ]);
        v["status"]["currentMetrics"] = json!([]);
        let h = hpa(v);
        assert_eq!(render(&h, "kube_horizontalpodautoscaler_spec_target_metric"), "");
        assert_eq!(render(&h, "kube_horizontalpodautoscaler_status_target_metric"), "");
    }

    #[test]
    fn behavior_tolerances() {
        let h = hpa(api());
        assert_eq!(
            render(&h, "kube_horizontalpodautoscaler_spec_behavior_scale_down_tolerance"),
            format!("kube_horizontalpodautoscaler_spec_behavior_scale_down_tolerance{{{BASE}}} 0.05\n")
        );
        assert_eq!(
            render(&h, "kube_horizontalpodautoscaler_spec_behavior_scale_up_tolerance"),
            format!("kube_horizontalpodautoscaler_spec_behavior_scale_up_tolerance{{{BASE}}} 0\n")
        );
        // Unset tolerance (the cluster default applies): no sample.
        let mut v = api();
        v["spec"]["behavior"]["scaleUp"]
            .as_object_mut()
            .expect("scaleUp object")
            .remove("tolerance");
        let h = hpa(v);
        assert_eq!(
            render(&h, "kube_horizontalpodautoscaler_spec_behavior_scale_up_tolerance"),
            ""
        );
        let mut v = api();
        v["spec"].as_object_mut().expect("spec object").remove("behavior");
        assert_eq!(
            render(
                &hpa(v),
                "kube_horizontalpodautoscaler_spec_behavior_scale_down_tolerance"
            ),
            ""
        );
    }

    #[test]
    fn conditions_and_replicas() {
        let h = hpa(api());
        let family = "kube_horizontalpodautoscaler_status_condition";
        let expected: String = [
            ("AbleToScale", [1, 0, 0]),
            ("ScalingActive", [0, 1, 0]),
            ("ScalingLimited", [0, 0, 1]),
        ]
        .iter()
        .flat_map(|(cond, vals)| {
            ["true", "false", "unknown"]
                .iter()
                .zip(vals)
                .map(move |(st, v)| format!("{family}{{{BASE},condition=\"{cond}\",status=\"{st}\"}} {v}\n"))
        })
        .collect();
        assert_eq!(render(&h, family), expected);
        for (family, value) in [
            ("kube_horizontalpodautoscaler_spec_max_replicas", "4"),
            ("kube_horizontalpodautoscaler_spec_min_replicas", "3"),
            ("kube_horizontalpodautoscaler_status_current_replicas", "4"),
            ("kube_horizontalpodautoscaler_status_desired_replicas", "5"),
            // The API server sets no generation on HPAs; KSM writes the Go zero value.
            ("kube_horizontalpodautoscaler_metadata_generation", "0"),
            ("kube_horizontalpodautoscaler_created", "1.795496942e+09"),
        ] {
            assert_eq!(render(&h, family), format!("{family}{{{BASE}}} {value}\n"), "{family}");
        }
        assert_eq!(render(&h, "kube_horizontalpodautoscaler_deletion_timestamp"), "");
    }

    #[test]
    fn unset_min_replicas_is_the_api_default_and_missing_status_is_zero() {
        // As created with only `maxReplicas`, before the controller has written any status.
        let v = json!({
            "kind": "HorizontalPodAutoscaler",
            "apiVersion": "autoscaling/v2",
            "metadata": {"name": "api", "namespace": "shop", "uid": "6432f989-eb2d-4d6a-a59b-1ad285adb512",
                         "resourceVersion": "307", "creationTimestamp": "2026-11-24T05:09:02Z"},
            "spec": {"scaleTargetRef": {"kind": "StatefulSet", "name": "api", "apiVersion": "apps/v1"}, "maxReplicas": 2}
        });
        let h = hpa(v);
        for (family, value) in [
            ("kube_horizontalpodautoscaler_spec_min_replicas", "1"),
            ("kube_horizontalpodautoscaler_spec_max_replicas", "2"),
            ("kube_horizontalpodautoscaler_status_current_replicas", "0"),
            ("kube_horizontalpodautoscaler_status_desired_replicas", "0"),
            ("kube_horizontalpodautoscaler_metadata_generation", "0"),
        ] {
            assert_eq!(render(&h, family), format!("{family}{{{BASE}}} {value}\n"), "{family}");
        }
        for family in [
            "kube_horizontalpodautoscaler_spec_target_metric",
            "kube_horizontalpodautoscaler_status_target_metric",
            "kube_horizontalpodautoscaler_status_condition",
            "kube_horizontalpodautoscaler_spec_behavior_scale_down_tolerance",
            "kube_horizontalpodautoscaler_spec_behavior_scale_up_tolerance",
        ] {
            assert_eq!(render(&h, family), "", "{family}");
        }
        // minReplicas 0 (HPAScaleToZero) is kept, not replaced by the default.
        let mut v = api();
        v["spec"]["minReplicas"] = json!(0);
        assert_eq!(
            render(&hpa(v), "kube_horizontalpodautoscaler_spec_min_replicas"),
            format!("kube_horizontalpodautoscaler_spec_min_replicas{{{BASE}}} 0\n")
        );
    }

    #[test]
    fn deleting_hpa() {
        let mut v = api();
        v["metadata"]["deletionTimestamp"] = json!("2026-11-24T06:00:00Z");
        assert_eq!(
            render(&hpa(v), "kube_horizontalpodautoscaler_deletion_timestamp"),
            format!("kube_horizontalpodautoscaler_deletion_timestamp{{{BASE}}} 1.7955e+09\n")
        );
    }

    #[test]
    fn condition_reason_is_opt_in_and_bounded() {
        let family = "kube_horizontalpodautoscaler_status_condition_reason";
        let defs = family_defs();
        let def = defs.iter().find(|f| f.name == family).expect("family");
        assert!(def.opt_in);
        assert_eq!(def.stability, Alpha);
        assert_eq!(defs.last().map(|f| &*f.name), Some(family));
        let default_filter = crate::families::FamilyFilter::default();
        assert!(!default_filter.enabled(&def.name, def.opt_in));
        let opted_in = crate::families::FamilyFilter {
            opt_in: vec![regex::Regex::new("kube_horizontalpodautoscaler_status_condition_reason").unwrap()],
            ..Default::default()
        };
        assert!(opted_in.enabled(&def.name, def.opt_in));

        // One series per condition present, whatever its status.
        assert_eq!(
            render(&hpa(api()), family),
            format!(
                "{family}{{{BASE},condition=\"AbleToScale\",reason=\"SucceededGetScale\"}} 1\n\
                 {family}{{{BASE},condition=\"ScalingActive\",reason=\"FailedGetResourceMetric\"}} 1\n\
                 {family}{{{BASE},condition=\"ScalingLimited\",reason=\"TooManyReplicas\"}} 1\n"
            )
        );
        let mut v = api();
        v["status"]["conditions"] = json!([
            {"type": "AbleToScale", "status": "True", "reason": "BackoffBoth"},
            {"type": "ScalingActive", "status": "False", "reason": "ScalingDisabled"},
            {"type": "ScalingLimited", "status": "True", "reason": "SomeFutureReason"},
            {"type": "ScalingPaused", "status": "Unknown"}
        ]);
        assert_eq!(
            render(&hpa(v), family),
            format!(
                "{family}{{{BASE},condition=\"AbleToScale\",reason=\"BackoffBoth\"}} 1\n\
                 {family}{{{BASE},condition=\"ScalingActive\",reason=\"ScalingDisabled\"}} 1\n\
                 {family}{{{BASE},condition=\"ScalingLimited\",reason=\"unknown\"}} 1\n\
                 {family}{{{BASE},condition=\"ScalingPaused\",reason=\"unknown\"}} 1\n"
            )
        );
        let mut v = api();
        v["status"] = json!({"desiredReplicas": 0});
        assert_eq!(render(&hpa(v), family), "");
    }

    #[test]
    fn info_with_and_without_api_version() {
        let h = hpa(api());
        assert_eq!(
            render(&h, "kube_horizontalpodautoscaler_info"),
            format!(
                "kube_horizontalpodautoscaler_info{{{BASE},scaletargetref_api_version=\"apps/v1\",scaletargetref_kind=\"Deployment\",scaletargetref_name=\"api\"}} 1\n"
            )
        );
        let mut v = api();
        v["spec"]["scaleTargetRef"] = json!({"kind": "Deployment", "name": "api"});
        assert_eq!(
            render(&hpa(v), "kube_horizontalpodautoscaler_info"),
            format!(
                "kube_horizontalpodautoscaler_info{{{BASE},scaletargetref_kind=\"Deployment\",scaletargetref_name=\"api\"}} 1\n"
            )
        );
    }

    #[test]
    fn labels_and_annotations_follow_the_allowlist() {
        let h = hpa(api());
        assert_eq!(render(&h, "kube_horizontalpodautoscaler_annotations"), "");
        let ctx = RenderContext::allow_all();
        assert_eq!(
            render_text(&h, &ctx, "kube_horizontalpodautoscaler_labels"),
            format!("kube_horizontalpodautoscaler_labels{{{BASE},label_app_kubernetes_io_name=\"api\"}} 1\n")
        );
        assert_eq!(
            render_text(&h, &ctx, "kube_horizontalpodautoscaler_annotations"),
            format!(
                "kube_horizontalpodautoscaler_annotations{{{BASE},annotation_example_com_owner=\"@shop-team\"}} 1\n"
            )
        );
    }

    #[test]
    fn fixture_has_every_target_kind() {
        let list: serde_json::Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/objects/horizontalpodautoscalers.json"
        ))
        .expect("fixture JSON");
        let items: Vec<HorizontalPodAutoscaler> = serde_json::from_value(list["items"].clone()).expect("fixture items");
        let ctx = RenderContext::allow_all();
        let targets: String = items
            .iter()
            .map(|h| render_text(h, &ctx, "kube_horizontalpodautoscaler_spec_target_metric"))
            .collect();
        for kind in ["value", "utilization", "average"] {
            assert!(
                targets.contains(&format!("metric_target_type=\"{kind}\"")),
                "fixture lacks a {kind} target"
            );
        }
        assert!(
            targets.contains("container=\"api\""),
            "fixture lacks a ContainerResource target"
        );
        assert!(
            targets.contains("container=\"\""),
            "fixture lacks a target of another source type"
        );
    }
}
