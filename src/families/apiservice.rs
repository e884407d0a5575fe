//! `apiservices`: not a KSM resource. The aggregation layer's APIService objects
//! (`apiregistration.k8s.io/v1`), so an outage of metrics-server (or any aggregated API) is
//! visible with its reason. Base label `apiservice`.
//!
//! Shapes follow KSM's conventions: an info family, a true/false/unknown condition stateset
//! whose `reason` is bounded like `kube_deployment_status_condition`'s, and the usual
//! created/labels/annotations families. All ALPHA.

use k8s_openapi::kube_aggregator::pkg::apis::apiregistration::v1::{APIService, APIServiceCondition};

use super::{FamilyDef, ObjectFamilies, Samples, Stability::*, condition_values};

impl ObjectFamilies for APIService {
    const BASE_LABELS: &'static [&'static str] = &["apiservice"];

    fn base_label_values(&self) -> Vec<&str> {
        vec![self.metadata.name.as_deref().unwrap_or("")]
    }

    fn families() -> Vec<FamilyDef<Self>> {
        family_defs()
    }
}

/// Condition reasons the kube-aggregator's availability controller writes; any other reason
/// (including none) is reported as `unknown`, so the label's values stay bounded.
const KNOWN_REASONS: &[&str] = &[
    "Passed",
    "Local",
    "ServiceNotFound",
    "ServicePortError",
    "EndpointsNotFound",
    "MissingEndpoints",
    "FailedDiscoveryCheck",
    "ServiceAccessError",
    "EndpointsAccessError",
];

fn conditions(a: &APIService) -> &[APIServiceCondition] {
    a.status
        .as_ref()
        .and_then(|st| st.conditions.as_deref())
        .unwrap_or_default()
}

/// `group, version, service_namespace, service_name`; the service labels are empty for local
/// APIServices (served by kube-apiserver itself, no `spec.service`). Always one series.
fn info(a: &APIService, s: &mut Samples) {
    let spec = a.spec.as_ref();
    let service = spec.and_then(|sp| sp.service.as_ref());
    s.push(
        [
            ("group", spec.and_then(|sp| sp.group.as_deref()).unwrap_or("")),
            ("version", spec.and_then(|sp| sp.version.as_deref()).unwrap_or("")),
            (
                "service_namespace",
                service.and_then(|sv| sv.namespace.as_deref()).unwrap_or(""),
            ),
            ("service_name", service.and_then(|sv| sv.name.as_deref()).unwrap_or("")),
        ],
        1.0,
    );
}

/// `condition, status, reason`: three series (true/false/unknown) per condition.
fn condition_stateset(a: &APIService, s: &mut Samples) {
    for c in conditions(a) {
        let reason = c
            .reason
            .as_deref()
            .filter(|r| KNOWN_REASONS.contains(r))
            .unwrap_or("unknown");
        for (status, value) in condition_values(&c.status) {
            s.push(
                [("condition", c.type_.as_str()), ("status", status), ("reason", reason)],
                value,
            );
        }
    }
}

/// Closures in the table infer their object type from this alias.
type Def = FamilyDef<APIService>;

fn family_defs() -> Vec<FamilyDef<APIService>> {
    const P: &str = "kube_apiservice";
    vec![
        Def::gauge(
            "kube_apiservice_info",
            Alpha,
            "Information about the APIService.",
            |a, _, s| info(a, s),
        ),
        Def::gauge(
            "kube_apiservice_status_condition",
            Alpha,
            "The current status conditions of an APIService.",
            |a, _, s| condition_stateset(a, s),
        ),
        Def::created(P, Alpha, "Unix creation timestamp"),
        Def::labels(P, Alpha),
        Def::annotations(P, Alpha),
    ]
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::families::{RenderContext, render_text};

    /// `v1beta1.metrics.k8s.io` as a v1.36 API server returns it (managedFields dropped), with
    /// metrics-server up.
    fn metrics() -> Value {
        json!({
            "kind": "APIService",
            "apiVersion": "apiregistration.k8s.io/v1",
            "metadata": {
                "name": "v1beta1.metrics.k8s.io",
                "uid": "ab60b946-02c5-48a0-868b-effd60621fef",
                "resourceVersion": "495",
                "creationTimestamp": "2026-11-24T05:09:03Z",
                "labels": {"k8s-app": "metrics-server"}
            },
            "spec": {
                "service": {"namespace": "kube-system", "name": "metrics-server", "port": 443},
                "group": "metrics.k8s.io",
                "version": "v1beta1",
                "insecureSkipTLSVerify": true,
                "groupPriorityMinimum": 100,
                "versionPriority": 100
            },
            "status": {"conditions": [{
                "type": "Available", "status": "True", "lastTransitionTime": "2026-11-24T05:10:03Z",
                "reason": "Passed", "message": "all checks passed"
            }]}
        })
    }

    /// `v1.apps`, served by kube-apiserver itself.
    fn apps() -> Value {
        json!({
            "kind": "APIService",
            "apiVersion": "apiregistration.k8s.io/v1",
            "metadata": {
                "name": "v1.apps",
                "uid": "5d1c1d2e-64b8-4f5a-9a43-04c5b0bbc1d7",
                "resourceVersion": "18",
                "creationTimestamp": "2026-11-24T05:08:40Z",
                "labels": {"kube-aggregator.kubernetes.io/automanaged": "onstart"}
            },
            "spec": {"group": "apps", "version": "v1", "groupPriorityMinimum": 17800, "versionPriority": 15},
            "status": {"conditions": [{
                "type": "Available", "status": "True", "lastTransitionTime": "2026-11-24T05:08:40Z",
                "reason": "Local", "message": "Local APIServices are always available"
            }]}
        })
    }

    fn apiservice(v: Value) -> APIService {
        serde_json::from_value(v).expect("valid APIService")
    }

    fn render(a: &APIService, family: &str) -> String {
        render_text(a, &RenderContext::default(), family)
    }

    fn condition_lines(name: &str, condition: &str, reason: &str, values: [u8; 3]) -> String {
        ["true", "false", "unknown"]
            .iter()
            .zip(values)
            .map(|(st, v)| {
                format!(
                    "kube_apiservice_status_condition{{apiservice=\"{name}\",condition=\"{condition}\",status=\"{st}\",reason=\"{reason}\"}} {v}\n"
                )
            })
            .collect()
    }

    #[test]
    fn info_for_service_backed_and_local_apiservices() {
        assert_eq!(
            render(&apiservice(metrics()), "kube_apiservice_info"),
            "kube_apiservice_info{apiservice=\"v1beta1.metrics.k8s.io\",group=\"metrics.k8s.io\",version=\"v1beta1\",service_namespace=\"kube-system\",service_name=\"metrics-server\"} 1\n"
        );
        assert_eq!(
            render(&apiservice(apps()), "kube_apiservice_info"),
            "kube_apiservice_info{apiservice=\"v1.apps\",group=\"apps\",version=\"v1\",service_namespace=\"\",service_name=\"\"} 1\n"
        );
        // The core group `v1.` has an empty group.
        let core = apiservice(json!({"metadata": {"name": "v1."}, "spec": {"version": "v1"}}));
        assert_eq!(
            render(&core, "kube_apiservice_info"),
            "kube_apiservice_info{apiservice=\"v1.\",group=\"\",version=\"v1\",service_namespace=\"\",service_name=\"\"} 1\n"
        );
    }

    #[test]
    fn condition_with_known_reasons() {
        assert_eq!(
            render(&apiservice(metrics()), "kube_apiservice_status_condition"),
            condition_lines("v1beta1.metrics.k8s.io", "Available", "Passed", [1, 0, 0])
        );
        assert_eq!(
            render(&apiservice(apps()), "kube_apiservice_status_condition"),
            condition_lines("v1.apps", "Available", "Local", [1, 0, 0])
        );
        let mut v = metrics();
        v["status"]["conditions"][0] = json!({
            "type": "Available", "status": "False", "reason": "MissingEndpoints",
            "message": "endpoints for service/metrics-server in \"kube-system\" have no addresses with port name \"https\""
        });
        assert_eq!(
            render(&apiservice(v), "kube_apiservice_status_condition"),
            condition_lines("v1beta1.metrics.k8s.io", "Available", "MissingEndpoints", [0, 1, 0])
        );
        let mut v = metrics();
        v["status"]["conditions"][0] =
            json!({"type": "Available", "status": "Unknown", "reason": "ServiceAccessError"});
        assert_eq!(
            render(&apiservice(v), "kube_apiservice_status_condition"),
            condition_lines("v1beta1.metrics.k8s.io", "Available", "ServiceAccessError", [0, 0, 1])
        );
    }

    #[test]
    fn condition_with_other_or_no_reason_is_unknown() {
        let mut v = metrics();
        v["status"]["conditions"] = json!([
            {"type": "Available", "status": "False", "reason": "FailedDiscoveryCheckTimeout"},
            {"type": "Degraded", "status": "True"}
        ]);
        assert_eq!(
            render(&apiservice(v), "kube_apiservice_status_condition"),
            condition_lines("v1beta1.metrics.k8s.io", "Available", "unknown", [0, 1, 0])
                + &condition_lines("v1beta1.metrics.k8s.io", "Degraded", "unknown", [1, 0, 0])
        );
        // No status yet (just created): no series.
        let mut v = metrics();
        v["status"] = json!({});
        assert_eq!(render(&apiservice(v), "kube_apiservice_status_condition"), "");
    }

    #[test]
    fn created_labels_and_annotations() {
        let a = apiservice(metrics());
        assert_eq!(
            render(&a, "kube_apiservice_created"),
            "kube_apiservice_created{apiservice=\"v1beta1.metrics.k8s.io\"} 1.795496943e+09\n"
        );
        assert_eq!(render(&a, "kube_apiservice_labels"), "");
        assert_eq!(render(&a, "kube_apiservice_annotations"), "");
        let ctx = RenderContext::allow_all();
        assert_eq!(
            render_text(&a, &ctx, "kube_apiservice_labels"),
            "kube_apiservice_labels{apiservice=\"v1beta1.metrics.k8s.io\",label_k8s_app=\"metrics-server\"} 1\n"
        );
        assert_eq!(
            render_text(&a, &ctx, "kube_apiservice_annotations"),
            "kube_apiservice_annotations{apiservice=\"v1beta1.metrics.k8s.io\"} 1\n"
        );
    }

    #[test]
    fn fixture_has_every_condition_reason_kind() {
        let list: Value =
            serde_json::from_str(include_str!("../../tests/fixtures/objects/apiservices.json")).expect("fixture JSON");
        let items: Vec<APIService> = serde_json::from_value(list["items"].clone()).expect("fixture items");
        let ctx = RenderContext::allow_all();
        let conditions: String = items
            .iter()
            .map(|a| render_text(a, &ctx, "kube_apiservice_status_condition"))
            .collect();
        for reason in ["Passed", "Local", "MissingEndpoints", "unknown"] {
            assert!(
                conditions.contains(&format!("reason=\"{reason}\"")),
                "fixture lacks {reason}"
            );
        }
    }
}
