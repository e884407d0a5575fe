//! `mutatingwebhookconfigurations`: KSM's `internal/store/mutatingwebhookconfiguration.go`. Base
//! labels `namespace,mutatingwebhookconfiguration`; the kind is cluster-scoped, so `namespace`
//! is always `""`, as KSM prints it.
//!
//! Also home of [`client_config_service`], which `validatingwebhookconfigurations` shares.

use k8s_openapi::api::admissionregistration::v1::{MutatingWebhookConfiguration, WebhookClientConfig};

use super::{FamilyDef, ObjectFamilies, RenderContext, Samples, Stability::*};

impl ObjectFamilies for MutatingWebhookConfiguration {
    const BASE_LABELS: &'static [&'static str] = &["namespace", "mutatingwebhookconfiguration"];

    fn base_label_values(&self) -> Vec<&str> {
        super::meta::namespace_and_name(&self.metadata)
    }

    fn families() -> Vec<FamilyDef<Self>> {
        const P: &str = "kube_mutatingwebhookconfiguration";
        vec![
            FamilyDef::gauge(
                "kube_mutatingwebhookconfiguration_info",
                Alpha,
                "Information about the MutatingWebhookConfiguration.",
                |_: &MutatingWebhookConfiguration, _: &RenderContext, s: &mut Samples| s.value(1.0),
            ),
            FamilyDef::created(P, Alpha, "Unix creation timestamp."),
            FamilyDef::metadata_resource_version(
                P,
                Alpha,
                "Resource version representing a specific version of the MutatingWebhookConfiguration.",
            ),
            FamilyDef::gauge(
                "kube_mutatingwebhookconfiguration_webhook_clientconfig_service",
                Alpha,
                "Service used by the apiserver to connect to a mutating webhook.",
                |c: &MutatingWebhookConfiguration, _: &RenderContext, s: &mut Samples| {
                    for w in c.webhooks.as_deref().unwrap_or_default() {
                        client_config_service(&w.name, &w.client_config, s);
                    }
                },
            ),
        ]
    }
}

/// `webhook_name, service_name, service_namespace`: one series per webhook; a webhook reached by
/// URL has no service, and KSM still writes its series with both service labels empty.
pub(super) fn client_config_service(webhook: &str, config: &WebhookClientConfig, s: &mut Samples) {
    let (name, namespace) = config
        .service
        .as_ref()
        .map_or(("", ""), |svc| (svc.name.as_str(), svc.namespace.as_str()));
    s.push(
        [
            ("webhook_name", webhook),
            ("service_name", name),
            ("service_namespace", namespace),
        ],
        1.0,
    );
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::families::render_text;

    /// A sidecar injector with a service-backed and a URL-backed webhook, as a v1.36 API server
    /// returns it (server-defaulted fields included).
    fn injector() -> MutatingWebhookConfiguration {
        let hook = |name: &str, client_config| {
            json!({
                "name": name,
                "clientConfig": client_config,
                "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"], "scope": "*"}],
                "failurePolicy": "Fail", "matchPolicy": "Equivalent", "namespaceSelector": {}, "objectSelector": {},
                "sideEffects": "None", "timeoutSeconds": 10, "admissionReviewVersions": ["v1"], "reinvocationPolicy": "Never"
            })
        };
        serde_json::from_value(json!({
            "kind": "MutatingWebhookConfiguration",
            "apiVersion": "admissionregistration.k8s.io/v1",
            "metadata": {
                "name": "sidecar-injector",
                "uid": "e53f2eab-b11a-41d7-a384-ccb33d308e15",
                "resourceVersion": "477",
                "generation": 1,
                "creationTimestamp": "2026-12-04T17:10:31Z"
            },
            "webhooks": [
                hook("inject.sidecar.example.com", json!({"service": {"namespace": "edge", "name": "sidecar-injector", "path": "/inject", "port": 443}})),
                hook("url.example.com", json!({"url": "https://webhook.example.com:8443/mutate"}))
            ]
        }))
        .expect("valid MutatingWebhookConfiguration")
    }

    fn render(c: &MutatingWebhookConfiguration, family: &str) -> String {
        render_text(c, &RenderContext::default(), family)
    }

    #[test]
    fn every_family_with_service_and_url_webhooks() {
        let c = injector();
        let base = "namespace=\"\",mutatingwebhookconfiguration=\"sidecar-injector\"";
        assert_eq!(
            render(&c, "kube_mutatingwebhookconfiguration_info"),
            format!("kube_mutatingwebhookconfiguration_info{{{base}}} 1\n")
        );
        assert_eq!(
            render(&c, "kube_mutatingwebhookconfiguration_created"),
            format!("kube_mutatingwebhookconfiguration_created{{{base}}} 1.796404231e+09\n")
        );
        assert_eq!(
            render(&c, "kube_mutatingwebhookconfiguration_metadata_resource_version"),
            format!("kube_mutatingwebhookconfiguration_metadata_resource_version{{{base}}} 477\n")
        );
        assert_eq!(
            render(&c, "kube_mutatingwebhookconfiguration_webhook_clientconfig_service"),
            format!(
                "kube_mutatingwebhookconfiguration_webhook_clientconfig_service{{{base},webhook_name=\"inject.sidecar.example.com\",service_name=\"sidecar-injector\",service_namespace=\"edge\"}} 1\n\
                 kube_mutatingwebhookconfiguration_webhook_clientconfig_service{{{base},webhook_name=\"url.example.com\",service_name=\"\",service_namespace=\"\"}} 1\n"
            )
        );
    }

    #[test]
    fn no_webhooks_no_timestamp_non_numeric_version() {
        let c: MutatingWebhookConfiguration =
            serde_json::from_value(json!({"metadata": {"name": "empty", "resourceVersion": "abcdef"}})).unwrap();
        assert_eq!(
            render(&c, "kube_mutatingwebhookconfiguration_info"),
            "kube_mutatingwebhookconfiguration_info{namespace=\"\",mutatingwebhookconfiguration=\"empty\"} 1\n"
        );
        assert_eq!(render(&c, "kube_mutatingwebhookconfiguration_created"), "");
        assert_eq!(
            render(&c, "kube_mutatingwebhookconfiguration_metadata_resource_version"),
            ""
        );
        assert_eq!(
            render(&c, "kube_mutatingwebhookconfiguration_webhook_clientconfig_service"),
            ""
        );
    }
}
