//! `validatingadmissionpolicies`: KSM's `internal/store/validatingadmissionpolicy.go`. Base
//! labels `namespace,validatingadmissionpolicy`; the kind is cluster-scoped, so `namespace` is
//! always `""`, as KSM prints it.

use k8s_openapi::api::admissionregistration::v1::ValidatingAdmissionPolicy;

use super::mutatingadmissionpolicy::param_kind;
use super::{FamilyDef, ObjectFamilies, RenderContext, Samples, Stability::*};

impl ObjectFamilies for ValidatingAdmissionPolicy {
    const BASE_LABELS: &'static [&'static str] = &["namespace", "validatingadmissionpolicy"];

    fn base_label_values(&self) -> Vec<&str> {
        super::meta::namespace_and_name(&self.metadata)
    }

    fn families() -> Vec<FamilyDef<Self>> {
        vec![
            FamilyDef::gauge(
                "kube_validatingadmissionpolicy_info",
                Alpha,
                "Information about the ValidatingAdmissionPolicy.",
                |p: &ValidatingAdmissionPolicy, _: &RenderContext, s: &mut Samples| {
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
                        ],
                        1.0,
                    );
                },
            ),
            FamilyDef::created("kube_validatingadmissionpolicy", Alpha, "Unix creation timestamp."),
        ]
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::families::render_text;

    /// A parameterised policy as a v1.36 API server returns it (defaulted match constraints).
    fn widget_replicas() -> Value {
        json!({
            "kind": "ValidatingAdmissionPolicy",
            "apiVersion": "admissionregistration.k8s.io/v1",
            "metadata": {
                "name": "widget-replicas",
                "uid": "0661753c-1069-4d28-a1bd-6ffb2a16ab5a",
                "resourceVersion": "480",
                "generation": 1,
                "creationTimestamp": "2026-12-04T17:10:31Z"
            },
            "spec": {
                "paramKind": {"apiVersion": "v1", "kind": "ConfigMap"},
                "matchConstraints": {
                    "namespaceSelector": {}, "objectSelector": {}, "matchPolicy": "Equivalent",
                    "resourceRules": [{"operations": ["CREATE", "UPDATE"], "apiGroups": ["example.com"], "apiVersions": ["v1"], "resources": ["widgets"], "scope": "*"}]
                },
                "validations": [{"expression": "object.spec.replicas <= int(params.data.maxReplicas)", "message": "too many replicas", "reason": "Invalid"}],
                "failurePolicy": "Fail"
            },
            "status": {"observedGeneration": 1, "typeChecking": {}}
        })
    }

    fn render(v: Value, family: &str) -> String {
        let p: ValidatingAdmissionPolicy = serde_json::from_value(v).expect("valid ValidatingAdmissionPolicy");
        render_text(&p, &RenderContext::default(), family)
    }

    #[test]
    fn info_and_created_of_a_parameterised_policy() {
        assert_eq!(
            render(widget_replicas(), "kube_validatingadmissionpolicy_info"),
            "kube_validatingadmissionpolicy_info{namespace=\"\",validatingadmissionpolicy=\"widget-replicas\",param_api_version=\"v1\",param_kind=\"ConfigMap\",failure_policy=\"Fail\"} 1\n"
        );
        assert_eq!(
            render(widget_replicas(), "kube_validatingadmissionpolicy_created"),
            "kube_validatingadmissionpolicy_created{namespace=\"\",validatingadmissionpolicy=\"widget-replicas\"} 1.796404231e+09\n"
        );
    }

    #[test]
    fn policy_without_parameters() {
        let mut v = widget_replicas();
        let spec = v["spec"].as_object_mut().unwrap();
        spec.remove("paramKind");
        spec.insert("failurePolicy".into(), json!("Ignore"));
        assert_eq!(
            render(v, "kube_validatingadmissionpolicy_info"),
            "kube_validatingadmissionpolicy_info{namespace=\"\",validatingadmissionpolicy=\"widget-replicas\",param_api_version=\"\",param_kind=\"\",failure_policy=\"Ignore\"} 1\n"
        );
    }

    #[test]
    fn unset_fields_are_empty_labels() {
        let v = json!({"metadata": {"name": "bare"}});
        assert_eq!(
            render(v.clone(), "kube_validatingadmissionpolicy_info"),
            "kube_validatingadmissionpolicy_info{namespace=\"\",validatingadmissionpolicy=\"bare\",param_api_version=\"\",param_kind=\"\",failure_policy=\"\"} 1\n"
        );
        assert_eq!(render(v, "kube_validatingadmissionpolicy_created"), "");
    }
}
