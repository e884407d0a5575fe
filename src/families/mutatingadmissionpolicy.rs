//! `mutatingadmissionpolicies`: KSM's `internal/store/mutatingadmissionpolicy.go`. Base labels
//! `namespace,mutatingadmissionpolicy`; the kind is cluster-scoped, so `namespace` is always
//! `""`, as KSM prints it.
//!
//! Also home of [`param_kind`], which `validatingadmissionpolicies` shares.

use k8s_openapi::api::admissionregistration::v1::{MutatingAdmissionPolicy, ParamKind};

use super::{FamilyDef, ObjectFamilies, RenderContext, Samples, Stability::*};

impl ObjectFamilies for MutatingAdmissionPolicy {
    const BASE_LABELS: &'static [&'static str] = &["namespace", "mutatingadmissionpolicy"];

    fn base_label_values(&self) -> Vec<&str> {
        super::meta::namespace_and_name(&self.metadata)
    }

    fn families() -> Vec<FamilyDef<Self>> {
        vec![
            FamilyDef::gauge(
                "kube_mutatingadmissionpolicy_info",
                Alpha,
                "Information about the MutatingAdmissionPolicy.",
                |p: &MutatingAdmissionPolicy, _: &RenderContext, s: &mut Samples| {
                    let spec = p.spec.as_ref();
                    let (api_version, kind) = param_kind(spec.and_then(|sp| sp.param_kind.as_ref()));
                    s.push(
                        [
                            ("param_api_version", api_version),
                            ("param_kind", kind),
                            (
                                "failure_policy",
                                spec.and_then(|sp| sp.failure_policy.as_deref()).unwrap_or(""),
                            ),
                            (
                                "reinvocation_policy",
                                spec.and_then(|sp| sp.reinvocation_policy.as_deref()).unwrap_or(""),
                            ),
                        ],
                        1.0,
                    );
                },
            ),
            FamilyDef::created("kube_mutatingadmissionpolicy", Alpha, "Unix creation timestamp."),
        ]
    }
}

/// `(apiVersion, kind)` of a policy's parameter resource; both empty for a policy without
/// parameters (KSM reads Go's zero values, it substitutes no server default).
pub(super) fn param_kind(p: Option<&ParamKind>) -> (&str, &str) {
    p.map_or(("", ""), |p| {
        (p.api_version.as_deref().unwrap_or(""), p.kind.as_deref().unwrap_or(""))
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::families::render_text;

    /// A parameterised policy as a v1.36 API server returns it (defaulted match constraints).
    fn widget_defaults() -> Value {
        json!({
            "kind": "MutatingAdmissionPolicy",
            "apiVersion": "admissionregistration.k8s.io/v1",
            "metadata": {
                "name": "widget-defaults",
                "uid": "17a2f007-3dd9-4b1d-9357-7d201294a7fe",
                "resourceVersion": "485",
                "generation": 1,
                "creationTimestamp": "2026-12-04T17:10:31Z"
            },
            "spec": {
                "paramKind": {"apiVersion": "v1", "kind": "ConfigMap"},
                "matchConstraints": {
                    "namespaceSelector": {}, "objectSelector": {}, "matchPolicy": "Equivalent",
                    "resourceRules": [{"operations": ["CREATE", "UPDATE"], "apiGroups": ["example.com"], "apiVersions": ["v1"], "resources": ["widgets"], "scope": "*"}]
                },
                "mutations": [{"patchType": "JSONPatch", "jsonPatch": {"expression": "[JSONPatch{op: \"add\", path: \"/metadata/labels/mutated\", value: \"true\"}]"}}],
                "failurePolicy": "Fail",
                "reinvocationPolicy": "IfNeeded"
            }
        })
    }

    fn render(v: Value, family: &str) -> String {
        let p: MutatingAdmissionPolicy = serde_json::from_value(v).expect("valid MutatingAdmissionPolicy");
        render_text(&p, &RenderContext::default(), family)
    }

    #[test]
    fn info_and_created_of_a_parameterised_policy() {
        assert_eq!(
            render(widget_defaults(), "kube_mutatingadmissionpolicy_info"),
            "kube_mutatingadmissionpolicy_info{namespace=\"\",mutatingadmissionpolicy=\"widget-defaults\",param_api_version=\"v1\",param_kind=\"ConfigMap\",failure_policy=\"Fail\",reinvocation_policy=\"IfNeeded\"} 1\n"
        );
        assert_eq!(
            render(widget_defaults(), "kube_mutatingadmissionpolicy_created"),
            "kube_mutatingadmissionpolicy_created{namespace=\"\",mutatingadmissionpolicy=\"widget-defaults\"} 1.796404231e+09\n"
        );
    }

    #[test]
    fn policy_without_parameters() {
        let mut v = widget_defaults();
        let spec = v["spec"].as_object_mut().unwrap();
        spec.remove("paramKind");
        spec.insert("failurePolicy".into(), json!("Ignore"));
        spec.insert("reinvocationPolicy".into(), json!("Never"));
        assert_eq!(
            render(v, "kube_mutatingadmissionpolicy_info"),
            "kube_mutatingadmissionpolicy_info{namespace=\"\",mutatingadmissionpolicy=\"widget-defaults\",param_api_version=\"\",param_kind=\"\",failure_policy=\"Ignore\",reinvocation_policy=\"Never\"} 1\n"
        );
    }

    #[test]
    fn unset_fields_are_empty_labels() {
        // No spec policies and no timestamp: KSM prints the Go zero values and skips `created`.
        let v = json!({"metadata": {"name": "bare"}, "spec": {"paramKind": {"kind": "ConfigMap"}}});
        assert_eq!(
            render(v.clone(), "kube_mutatingadmissionpolicy_info"),
            "kube_mutatingadmissionpolicy_info{namespace=\"\",mutatingadmissionpolicy=\"bare\",param_api_version=\"\",param_kind=\"ConfigMap\",failure_policy=\"\",reinvocation_policy=\"\"} 1\n"
        );
        assert_eq!(render(v, "kube_mutatingadmissionpolicy_created"), "");
        assert_eq!(
            render(
                json!({"metadata": {"name": "nospec"}}),
                "kube_mutatingadmissionpolicy_info"
            ),
            "kube_mutatingadmissionpolicy_info{namespace=\"\",mutatingadmissionpolicy=\"nospec\",param_api_version=\"\",param_kind=\"\",failure_policy=\"\",reinvocation_policy=\"\"} 1\n"
        );
    }
}
