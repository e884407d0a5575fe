//! `validatingadmissionpolicybindings`: KSM's
//! `internal/store/validatingadmissionpolicybinding.go`. Base labels
//! `namespace,validatingadmissionpolicybinding`; the kind is cluster-scoped, so `namespace` is
//! always `""`, as KSM prints it.

use k8s_openapi::api::admissionregistration::v1::ValidatingAdmissionPolicyBinding;

use super::mutatingadmissionpolicybinding::binding_info;
use super::{FamilyDef, ObjectFamilies, RenderContext, Samples, Stability::*};

impl ObjectFamilies for ValidatingAdmissionPolicyBinding {
    const BASE_LABELS: &'static [&'static str] = &["namespace", "validatingadmissionpolicybinding"];

    fn base_label_values(&self) -> Vec<&str> {
        super::meta::namespace_and_name(&self.metadata)
    }

    fn families() -> Vec<FamilyDef<Self>> {
        vec![
            FamilyDef::gauge(
                "kube_validatingadmissionpolicybinding_info",
                Alpha,
                "Information about the ValidatingAdmissionPolicyBinding.",
                |b: &ValidatingAdmissionPolicyBinding, _: &RenderContext, s: &mut Samples| {
                    binding_info(&b.spec.policy_name, b.spec.param_ref.as_ref(), s);
                },
            ),
            FamilyDef::created(
                "kube_validatingadmissionpolicybinding",
                Alpha,
                "Unix creation timestamp.",
            ),
            FamilyDef::gauge(
                "kube_validatingadmissionpolicybinding_validation_action",
                Alpha,
                "Validation actions for the ValidatingAdmissionPolicyBinding.",
                |b: &ValidatingAdmissionPolicyBinding, _: &RenderContext, s: &mut Samples| {
                    for action in &b.spec.validation_actions {
                        s.push([("action", action.as_str())], 1.0);
                    }
                },
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::families::render_text;

    /// A binding with a named parameter and two actions, as a v1.36 API server returns it.
    fn widget_replicas_prod() -> Value {
        json!({
            "kind": "ValidatingAdmissionPolicyBinding",
            "apiVersion": "admissionregistration.k8s.io/v1",
            "metadata": {
                "name": "widget-replicas-prod",
                "uid": "1e5d8b94-c2a7-4f36-8d0b-9a4c6e2f7b15",
                "resourceVersion": "5241",
                "generation": 1,
                "creationTimestamp": "2026-12-01T11:07:55Z"
            },
            "spec": {
                "policyName": "widget-replicas",
                "paramRef": {"name": "replica-limits", "namespace": "shop", "parameterNotFoundAction": "Deny"},
                "validationActions": ["Deny", "Audit"],
                "matchResources": {"namespaceSelector": {"matchLabels": {"env": "prod"}}, "objectSelector": {}, "matchPolicy": "Equivalent"}
            }
        })
    }

    fn render(v: Value, family: &str) -> String {
        let b: ValidatingAdmissionPolicyBinding =
            serde_json::from_value(v).expect("valid ValidatingAdmissionPolicyBinding");
        render_text(&b, &RenderContext::default(), family)
    }

    const BASE: &str = "namespace=\"\",validatingadmissionpolicybinding=\"widget-replicas-prod\"";

    #[test]
    fn every_family_of_a_parameterised_binding() {
        assert_eq!(
            render(widget_replicas_prod(), "kube_validatingadmissionpolicybinding_info"),
            format!(
                "kube_validatingadmissionpolicybinding_info{{{BASE},policy_name=\"widget-replicas\",param_name=\"replica-limits\",param_namespace=\"shop\",param_not_found_action=\"Deny\"}} 1\n"
            )
        );
        assert_eq!(
            render(widget_replicas_prod(), "kube_validatingadmissionpolicybinding_created"),
            format!("kube_validatingadmissionpolicybinding_created{{{BASE}}} 1.796123275e+09\n")
        );
        assert_eq!(
            render(
                widget_replicas_prod(),
                "kube_validatingadmissionpolicybinding_validation_action"
            ),
            format!(
                "kube_validatingadmissionpolicybinding_validation_action{{{BASE},action=\"Deny\"}} 1\n\
                 kube_validatingadmissionpolicybinding_validation_action{{{BASE},action=\"Audit\"}} 1\n"
            )
        );
    }

    #[test]
    fn binding_without_parameter() {
        let mut v = widget_replicas_prod();
        v["spec"] = json!({"policyName": "widget-names", "validationActions": ["Warn"]});
        assert_eq!(
            render(v.clone(), "kube_validatingadmissionpolicybinding_info"),
            format!(
                "kube_validatingadmissionpolicybinding_info{{{BASE},policy_name=\"widget-names\",param_name=\"\",param_namespace=\"\",param_not_found_action=\"\"}} 1\n"
            )
        );
        assert_eq!(
            render(v, "kube_validatingadmissionpolicybinding_validation_action"),
            format!("kube_validatingadmissionpolicybinding_validation_action{{{BASE},action=\"Warn\"}} 1\n")
        );
    }

    #[test]
    fn missing_spec_and_timestamp() {
        let v = json!({"metadata": {"name": "bare"}});
        assert_eq!(
            render(v.clone(), "kube_validatingadmissionpolicybinding_info"),
            "kube_validatingadmissionpolicybinding_info{namespace=\"\",validatingadmissionpolicybinding=\"bare\",policy_name=\"\",param_name=\"\",param_namespace=\"\",param_not_found_action=\"\"} 1\n"
        );
        assert_eq!(render(v.clone(), "kube_validatingadmissionpolicybinding_created"), "");
        assert_eq!(render(v, "kube_validatingadmissionpolicybinding_validation_action"), "");
    }
}
