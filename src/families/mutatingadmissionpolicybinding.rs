//! `mutatingadmissionpolicybindings`: KSM's `internal/store/mutatingadmissionpolicybinding.go`.
//! Base labels `namespace,mutatingadmissionpolicybinding`; the kind is cluster-scoped, so
//! `namespace` is always `""`, as KSM prints it.
//!
//! Also home of [`binding_info`], which `validatingadmissionpolicybindings` shares.

use k8s_openapi::api::admissionregistration::v1::{MutatingAdmissionPolicyBinding, ParamRef};

use super::{FamilyDef, ObjectFamilies, RenderContext, Samples, Stability::*};

impl ObjectFamilies for MutatingAdmissionPolicyBinding {
    const BASE_LABELS: &'static [&'static str] = &["namespace", "mutatingadmissionpolicybinding"];

    fn base_label_values(&self) -> Vec<&str> {
        super::meta::namespace_and_name(&self.metadata)
    }

    fn families() -> Vec<FamilyDef<Self>> {
        vec![
            FamilyDef::gauge(
                "kube_mutatingadmissionpolicybinding_info",
                Alpha,
                "Information about the MutatingAdmissionPolicyBinding.",
                |b: &MutatingAdmissionPolicyBinding, _: &RenderContext, s: &mut Samples| {
                    let spec = b.spec.as_ref();
                    binding_info(
                        spec.and_then(|sp| sp.policy_name.as_deref()).unwrap_or(""),
                        spec.and_then(|sp| sp.param_ref.as_ref()),
                        s,
                    );
                },
            ),
            FamilyDef::created("kube_mutatingadmissionpolicybinding", Alpha, "Unix creation timestamp."),
        ]
    }
}

/// `policy_name, param_name, param_namespace, param_not_found_action`: the param labels are
/// empty without a `paramRef`, and `param_name` is empty for a ref by selector (KSM reads Go's
/// zero values).
pub(super) fn binding_info(policy: &str, param_ref: Option<&ParamRef>, s: &mut Samples) {
    let field = |f: fn(&ParamRef) -> Option<&String>| param_ref.and_then(f).map_or("", String::as_str);
    s.push(
        [
            ("policy_name", policy),
            ("param_name", field(|r| r.name.as_ref())),
            ("param_namespace", field(|r| r.namespace.as_ref())),
            (
                "param_not_found_action",
                field(|r| r.parameter_not_found_action.as_ref()),
            ),
        ],
        1.0,
    );
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::families::render_text;

    /// A binding with a named parameter, as a v1.36 API server returns it.
    fn widget_defaults_all() -> Value {
        json!({
            "kind": "MutatingAdmissionPolicyBinding",
            "apiVersion": "admissionregistration.k8s.io/v1",
            "metadata": {
                "name": "widget-defaults-all",
                "uid": "853b7665-1ca3-4399-99b4-28578d422823",
                "resourceVersion": "487",
                "generation": 1,
                "creationTimestamp": "2026-12-04T17:10:31Z"
            },
            "spec": {
                "policyName": "widget-defaults",
                "paramRef": {"name": "widget-defaults", "namespace": "edge", "parameterNotFoundAction": "Allow"}
            }
        })
    }

    fn render(v: Value, family: &str) -> String {
        let b: MutatingAdmissionPolicyBinding =
            serde_json::from_value(v).expect("valid MutatingAdmissionPolicyBinding");
        render_text(&b, &RenderContext::default(), family)
    }

    fn info(name: &str, labels: &str) -> String {
        format!(
            "kube_mutatingadmissionpolicybinding_info{{namespace=\"\",mutatingadmissionpolicybinding=\"{name}\",{labels}}} 1\n"
        )
    }

    #[test]
    fn info_and_created_with_a_named_parameter() {
        assert_eq!(
            render(widget_defaults_all(), "kube_mutatingadmissionpolicybinding_info"),
            info(
                "widget-defaults-all",
                "policy_name=\"widget-defaults\",param_name=\"widget-defaults\",param_namespace=\"edge\",param_not_found_action=\"Allow\""
            )
        );
        assert_eq!(
            render(widget_defaults_all(), "kube_mutatingadmissionpolicybinding_created"),
            "kube_mutatingadmissionpolicybinding_created{namespace=\"\",mutatingadmissionpolicybinding=\"widget-defaults-all\"} 1.796404231e+09\n"
        );
    }

    #[test]
    fn parameter_by_selector_and_no_parameter() {
        let mut v = widget_defaults_all();
        v["spec"]["paramRef"] =
            json!({"selector": {"matchLabels": {"tier": "gold"}}, "parameterNotFoundAction": "Deny"});
        assert_eq!(
            render(v, "kube_mutatingadmissionpolicybinding_info"),
            info(
                "widget-defaults-all",
                "policy_name=\"widget-defaults\",param_name=\"\",param_namespace=\"\",param_not_found_action=\"Deny\""
            )
        );
        let mut v = widget_defaults_all();
        v["spec"].as_object_mut().unwrap().remove("paramRef");
        assert_eq!(
            render(v, "kube_mutatingadmissionpolicybinding_info"),
            info(
                "widget-defaults-all",
                "policy_name=\"widget-defaults\",param_name=\"\",param_namespace=\"\",param_not_found_action=\"\""
            )
        );
    }

    #[test]
    fn missing_spec_and_timestamp() {
        let v = json!({"metadata": {"name": "bare"}});
        assert_eq!(
            render(v.clone(), "kube_mutatingadmissionpolicybinding_info"),
            info(
                "bare",
                "policy_name=\"\",param_name=\"\",param_namespace=\"\",param_not_found_action=\"\""
            )
        );
        assert_eq!(render(v, "kube_mutatingadmissionpolicybinding_created"), "");
    }
}
