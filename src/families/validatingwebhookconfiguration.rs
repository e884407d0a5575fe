//! `validatingwebhookconfigurations`: KSM's `internal/store/validatingwebhookconfiguration.go`.
//! Base labels `namespace,validatingwebhookconfiguration`; the kind is cluster-scoped, so
//! `namespace` is always `""`, as KSM prints it.

use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;

use super::mutatingwebhookconfiguration::client_config_service;
use super::{FamilyDef, ObjectFamilies, RenderContext, Samples, Stability::*};

impl ObjectFamilies for ValidatingWebhookConfiguration {
    const BASE_LABELS: &'static [&'static str] = &["namespace", "validatingwebhookconfiguration"];

    fn base_label_values(&self) -> Vec<&str> {
        super::meta::namespace_and_name(&self.metadata)
    }

    fn families() -> Vec<FamilyDef<Self>> {
        const P: &str = "kube_validatingwebhookconfiguration";
        vec![
            FamilyDef::gauge(
                "kube_validatingwebhookconfiguration_info",
                Alpha,
                "Information about the ValidatingWebhookConfiguration.",
                |_: &ValidatingWebhookConfiguration, _: &RenderContext, s: &mut Samples| s.value(1.0),
            ),
            FamilyDef::created(P, Alpha, "Unix creation timestamp."),
            FamilyDef::metadata_resource_version(
                P,
                Alpha,
                "Resource version representing a specific version of the ValidatingWebhookConfiguration.",
            ),
            FamilyDef::gauge(
                "kube_validatingwebhookconfiguration_webhook_clientconfig_service",
                Alpha,
                "Service used by the apiserver to connect to a validating webhook.",
                |c: &ValidatingWebhookConfiguration, _: &RenderContext, s: &mut Samples| {
                    for w in c.webhooks.as_deref().unwrap_or_default() {
                        client_config_service(&w.name, &w.client_config, s);
                    }
                },
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::families::render_text;

    /// cert-manager's webhook configuration as a v1.36 API server returns it (CA injected).
    fn cert_manager() -> ValidatingWebhookConfiguration {
        serde_json::from_value(json!({
            "kind": "ValidatingWebhookConfiguration",
            "apiVersion": "admissionregistration.k8s.io/v1",
            "metadata": {
                "name": "cert-manager-webhook",
                "uid": "d6a3f0b9-2e84-4c71-9b5f-38e1c7a4d052",
                "resourceVersion": "3129",
                "generation": 2,
                "creationTimestamp": "2026-11-28T16:02:11Z",
                "annotations": {"cert-manager.io/inject-ca-from-secret": "cert-manager/cert-manager-webhook-ca"}
            },
            "webhooks": [
                {
                    "name": "webhook.cert-manager.io",
                    "clientConfig": {
                        "service": {"namespace": "cert-manager", "name": "cert-manager-webhook", "path": "/validate", "port": 443},
                        "caBundle": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg=="
                    },
                    "rules": [{"operations": ["CREATE", "UPDATE"], "apiGroups": ["cert-manager.io"], "apiVersions": ["v1"], "resources": ["*/*"], "scope": "*"}],
                    "failurePolicy": "Fail", "matchPolicy": "Equivalent", "namespaceSelector": {}, "objectSelector": {},
                    "sideEffects": "None", "timeoutSeconds": 30, "admissionReviewVersions": ["v1"]
                },
                {
                    "name": "audit.policy.example.com",
                    "clientConfig": {"url": "https://audit.example.com/validate"},
                    "rules": [{"operations": ["CREATE"], "apiGroups": ["example.com"], "apiVersions": ["v1"], "resources": ["widgets"], "scope": "*"}],
                    "failurePolicy": "Ignore", "matchPolicy": "Equivalent", "namespaceSelector": {}, "objectSelector": {},
                    "sideEffects": "None", "timeoutSeconds": 10, "admissionReviewVersions": ["v1"]
                }
            ]
        }))
        .expect("valid ValidatingWebhookConfiguration")
    }

    fn render(c: &ValidatingWebhookConfiguration, family: &str) -> String {
        render_text(c, &RenderContext::default(), family)
    }

    #[test]
    fn every_family_with_service_and_url_webhooks() {
        let c = cert_manager();
        let base = "namespace=\"\",validatingwebhookconfiguration=\"cert-manager-webhook\"";
        assert_eq!(
            render(&c, "kube_validatingwebhookconfiguration_info"),
            format!("kube_validatingwebhookconfiguration_info{{{base}}} 1\n")
        );
        assert_eq!(
            render(&c, "kube_validatingwebhookconfiguration_created"),
            format!("kube_validatingwebhookconfiguration_created{{{base}}} 1.795881731e+09\n")
        );
        assert_eq!(
            render(&c, "kube_validatingwebhookconfiguration_metadata_resource_version"),
            format!("kube_validatingwebhookconfiguration_metadata_resource_version{{{base}}} 3129\n")
        );
        assert_eq!(
            render(&c, "kube_validatingwebhookconfiguration_webhook_clientconfig_service"),
            format!(
                "kube_validatingwebhookconfiguration_webhook_clientconfig_service{{{base},webhook_name=\"webhook.cert-manager.io\",service_name=\"cert-manager-webhook\",service_namespace=\"cert-manager\"}} 1\n\
                 kube_validatingwebhookconfiguration_webhook_clientconfig_service{{{base},webhook_name=\"audit.policy.example.com\",service_name=\"\",service_namespace=\"\"}} 1\n"
            )
        );
    }

    #[test]
    fn no_webhooks_no_timestamp_non_numeric_version() {
        let c: ValidatingWebhookConfiguration =
            serde_json::from_value(json!({"metadata": {"name": "empty", "resourceVersion": "abcdef"}})).unwrap();
        assert_eq!(
            render(&c, "kube_validatingwebhookconfiguration_info"),
            "kube_validatingwebhookconfiguration_info{namespace=\"\",validatingwebhookconfiguration=\"empty\"} 1\n"
        );
        assert_eq!(render(&c, "kube_validatingwebhookconfiguration_created"), "");
        assert_eq!(
            render(&c, "kube_validatingwebhookconfiguration_metadata_resource_version"),
            ""
        );
        assert_eq!(
            render(&c, "kube_validatingwebhookconfiguration_webhook_clientconfig_service"),
            ""
        );
    }
}
