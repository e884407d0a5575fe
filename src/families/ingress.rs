//! `ingresses`: KSM's `internal/store/ingress.go`. Base labels `namespace,ingress`.

use k8s_openapi::api::networking::v1::{Ingress, IngressSpec};

use super::{FamilyDef, ObjectFamilies, Samples, Stability::*};

impl ObjectFamilies for Ingress {
    const BASE_LABELS: &'static [&'static str] = &["namespace", "ingress"];

    fn base_label_values(&self) -> Vec<&str> {
        super::meta::namespace_and_name(&self.metadata)
    }

    fn families() -> Vec<FamilyDef<Self>> {
        family_defs()
    }
}

/// The legacy class annotation, which KSM prefers over `spec.ingressClassName` when present.
const CLASS_ANNOTATION: &str = "kubernetes.io/ingress.class";

fn spec(i: &Ingress) -> Option<&IngressSpec> {
    i.spec.as_ref()
}

/// `_default` when neither the annotation nor the field names a class (the cluster's default
/// IngressClass then applies).
fn ingress_class(i: &Ingress) -> &str {
    let annotated = i.metadata.annotations.as_ref().and_then(|a| a.get(CLASS_ANNOTATION));
    let field = spec(i).and_then(|s| s.ingress_class_name.as_ref());
    annotated.or(field).map_or("_default", String::as_str)
}

/// One series per HTTP path. A Service backend labels `service_name, service_port` (the port
/// number; `0` for a port given by name, as KSM prints it); a resource backend labels
/// `resource_api_group, resource_kind, resource_name`. The default backend is not reported.
fn paths(i: &Ingress, out: &mut Samples) {
    for rule in spec(i).and_then(|s| s.rules.as_deref()).unwrap_or_default() {
        let Some(http) = &rule.http else {
            continue;
        };
        let host = rule.host.as_deref().unwrap_or("");
        for p in &http.paths {
            let common = [
                ("host", host),
                ("path", p.path.as_deref().unwrap_or("")),
                ("path_type", p.path_type.as_str()),
            ];
            if let Some(svc) = &p.backend.service {
                let port = svc.port.as_ref().and_then(|port| port.number).unwrap_or(0).to_string();
                let backend = [("service_name", svc.name.as_str()), ("service_port", port.as_str())];
                out.push(common.into_iter().chain(backend), 1.0);
            } else if let Some(res) = &p.backend.resource {
                let backend = [
                    ("resource_api_group", res.api_group.as_deref().unwrap_or("")),
                    ("resource_kind", res.kind.as_str()),
                    ("resource_name", res.name.as_str()),
                ];
                out.push(common.into_iter().chain(backend), 1.0);
            }
            // Neither backend (invalid, KSM would crash): nothing to report for this path.
        }
    }
}

fn tls(i: &Ingress, out: &mut Samples) {
    for t in spec(i).and_then(|s| s.tls.as_deref()).unwrap_or_default() {
        let secret = t.secret_name.as_deref().unwrap_or("");
        for host in t.hosts.as_deref().unwrap_or_default() {
            out.push([("tls_host", host.as_str()), ("secret", secret)], 1.0);
        }
    }
}

type Def = FamilyDef<Ingress>;

fn family_defs() -> Vec<Def> {
    const P: &str = "kube_ingress";
    vec![
        Def::gauge(
            "kube_ingress_info",
            Stable,
            "Information about ingress.",
            |i, _, out| out.push([("ingressclass", ingress_class(i))], 1.0),
        ),
        Def::annotations(P, Alpha),
        Def::labels(P, Stable),
        Def::created(P, Stable, "Unix creation timestamp"),
        Def::metadata_resource_version(P, Alpha, "Resource version representing a specific version of ingress."),
        Def::gauge(
            "kube_ingress_path",
            Stable,
            "Ingress host, paths and backend service information.",
            |i, _, out| paths(i, out),
        ),
        Def::gauge(
            "kube_ingress_tls",
            Stable,
            "Ingress TLS host and secret information.",
            |i, _, out| tls(i, out),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::families::{RenderContext, render_text};

    fn ingress(v: serde_json::Value) -> Ingress {
        serde_json::from_value(v).expect("valid Ingress")
    }

    fn render(i: &Ingress, family: &str) -> String {
        render_text(i, &RenderContext::default(), family)
    }

    /// The `shop` Ingress as a v1.36 API server returns it (managedFields dropped).
    fn shop() -> Ingress {
        ingress(json!({
            "kind": "Ingress",
            "apiVersion": "networking.k8s.io/v1",
            "metadata": {
                "name": "shop",
                "namespace": "shop",
                "uid": "60a15212-472a-459a-a0ce-99b2c1c5ac09",
                "resourceVersion": "410",
                "generation": 1,
                "creationTimestamp": "2026-12-04T17:10:30Z",
                "labels": {"app.kubernetes.io/name": "shop"},
                "annotations": {"nginx.ingress.kubernetes.io/rewrite-target": "/$2"}
            },
            "spec": {
                "ingressClassName": "nginx",
                "defaultBackend": {"service": {"name": "web", "port": {"number": 80}}},
                "tls": [
                    {"hosts": ["shop.example.com", "www.shop.example.com"], "secretName": "shop-tls"},
                    {"hosts": ["no-secret.example.com"]}
                ],
                "rules": [
                    {"host": "shop.example.com", "http": {"paths": [
                        {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"name": "http"}}}},
                        {"path": "/api(/|$)(.*)", "pathType": "ImplementationSpecific",
                         "backend": {"service": {"name": "api", "port": {"number": 8080}}}},
                        {"path": "/static", "pathType": "Exact",
                         "backend": {"resource": {"apiGroup": "k8s.example.com", "kind": "StorageBucket", "name": "static-assets"}}}
                    ]}},
                    {"http": {"paths": [
                        {"path": "/healthz", "pathType": "Exact", "backend": {"service": {"name": "web", "port": {"number": 80}}}}
                    ]}}
                ]
            },
            "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.60"}]}}
        }))
    }

    const SHOP: &str = "namespace=\"shop\",ingress=\"shop\"";

    #[test]
    fn info_created_and_resource_version() {
        let i = shop();
        assert_eq!(
            render(&i, "kube_ingress_info"),
            format!("kube_ingress_info{{{SHOP},ingressclass=\"nginx\"}} 1\n")
        );
        assert_eq!(
            render(&i, "kube_ingress_created"),
            format!("kube_ingress_created{{{SHOP}}} 1.79640423e+09\n")
        );
        assert_eq!(
            render(&i, "kube_ingress_metadata_resource_version"),
            format!("kube_ingress_metadata_resource_version{{{SHOP}}} 410\n")
        );
    }

    #[test]
    fn paths_by_backend_kind() {
        // A rule without a host prints host=""; a port given by name prints service_port="0".
        assert_eq!(
            render(&shop(), "kube_ingress_path"),
            format!(
                "kube_ingress_path{{{SHOP},host=\"shop.example.com\",path=\"/\",path_type=\"Prefix\",service_name=\"web\",service_port=\"0\"}} 1\n\
                 kube_ingress_path{{{SHOP},host=\"shop.example.com\",path=\"/api(/|$)(.*)\",path_type=\"ImplementationSpecific\",service_name=\"api\",service_port=\"8080\"}} 1\n\
                 kube_ingress_path{{{SHOP},host=\"shop.example.com\",path=\"/static\",path_type=\"Exact\",resource_api_group=\"k8s.example.com\",resource_kind=\"StorageBucket\",resource_name=\"static-assets\"}} 1\n\
                 kube_ingress_path{{{SHOP},host=\"\",path=\"/healthz\",path_type=\"Exact\",service_name=\"web\",service_port=\"80\"}} 1\n"
            )
        );
    }

    #[test]
    fn tls_one_series_per_host() {
        assert_eq!(
            render(&shop(), "kube_ingress_tls"),
            format!(
                "kube_ingress_tls{{{SHOP},tls_host=\"shop.example.com\",secret=\"shop-tls\"}} 1\n\
                 kube_ingress_tls{{{SHOP},tls_host=\"www.shop.example.com\",secret=\"shop-tls\"}} 1\n\
                 kube_ingress_tls{{{SHOP},tls_host=\"no-secret.example.com\",secret=\"\"}} 1\n"
            )
        );
    }

    #[test]
    fn class_annotation_wins_and_rules_without_http_are_skipped() {
        let i = ingress(json!({
            "kind": "Ingress",
            "apiVersion": "networking.k8s.io/v1",
            "metadata": {
                "name": "legacy-admin",
                "namespace": "shop",
                "resourceVersion": "4630",
                "annotations": {"kubernetes.io/ingress.class": "haproxy"}
            },
            "spec": {
                "ingressClassName": "nginx",
                "rules": [
                    {"host": "admin.shop.example.com"},
                    {"host": "files.shop.example.com", "http": {"paths": [
                        {"path": "/download", "pathType": "Prefix", "backend": {"resource": {"kind": "Bucket", "name": "downloads"}}}
                    ]}}
                ]
            },
            "status": {"loadBalancer": {}}
        }));
        let base = "namespace=\"shop\",ingress=\"legacy-admin\"";
        assert_eq!(
            render(&i, "kube_ingress_info"),
            format!("kube_ingress_info{{{base},ingressclass=\"haproxy\"}} 1\n")
        );
        // A resource backend without an API group prints resource_api_group="".
        assert_eq!(
            render(&i, "kube_ingress_path"),
            format!(
                "kube_ingress_path{{{base},host=\"files.shop.example.com\",path=\"/download\",path_type=\"Prefix\",resource_api_group=\"\",resource_kind=\"Bucket\",resource_name=\"downloads\"}} 1\n"
            )
        );
        assert_eq!(render(&i, "kube_ingress_tls"), "");
    }

    #[test]
    fn no_class_is_default_and_default_backend_is_not_a_path() {
        let i = ingress(json!({
            "kind": "Ingress",
            "apiVersion": "networking.k8s.io/v1",
            "metadata": {"name": "catch-all", "namespace": "data", "resourceVersion": "5311"},
            "spec": {"defaultBackend": {"service": {"name": "fallback", "port": {"number": 8080}}}},
            "status": {"loadBalancer": {}}
        }));
        let base = "namespace=\"data\",ingress=\"catch-all\"";
        assert_eq!(
            render(&i, "kube_ingress_info"),
            format!("kube_ingress_info{{{base},ingressclass=\"_default\"}} 1\n")
        );
        assert_eq!(render(&i, "kube_ingress_path"), "");
        assert_eq!(render(&i, "kube_ingress_tls"), "");
        assert_eq!(render(&i, "kube_ingress_created"), "");
        assert_eq!(
            render(&i, "kube_ingress_metadata_resource_version"),
            format!("kube_ingress_metadata_resource_version{{{base}}} 5311\n")
        );
    }

    #[test]
    fn odd_objects_do_not_break_rendering() {
        // No spec at all, a resourceVersion that is not a number, and a path with no backend.
        let bare = ingress(json!({
            "kind": "Ingress",
            "apiVersion": "networking.k8s.io/v1",
            "metadata": {"name": "bare", "namespace": "x", "resourceVersion": "abc"}
        }));
        assert_eq!(
            render(&bare, "kube_ingress_info"),
            "kube_ingress_info{namespace=\"x\",ingress=\"bare\",ingressclass=\"_default\"} 1\n"
        );
        assert_eq!(render(&bare, "kube_ingress_metadata_resource_version"), "");
        assert_eq!(render(&bare, "kube_ingress_path"), "");
        let no_backend = ingress(json!({
            "kind": "Ingress",
            "apiVersion": "networking.k8s.io/v1",
            "metadata": {"name": "nb", "namespace": "x"},
            "spec": {"rules": [{"http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {}}]}}]}
        }));
        assert_eq!(render(&no_backend, "kube_ingress_path"), "");
    }

    #[test]
    fn labels_and_annotations_follow_the_allowlist() {
        let i = shop();
        assert_eq!(render(&i, "kube_ingress_labels"), "");
        assert_eq!(render(&i, "kube_ingress_annotations"), "");
        let ctx = RenderContext::allow_all();
        assert_eq!(
            render_text(&i, &ctx, "kube_ingress_labels"),
            format!("kube_ingress_labels{{{SHOP},label_app_kubernetes_io_name=\"shop\"}} 1\n")
        );
        assert_eq!(
            render_text(&i, &ctx, "kube_ingress_annotations"),
            format!(
                "kube_ingress_annotations{{{SHOP},annotation_nginx_ingress_kubernetes_io_rewrite_target=\"/$2\"}} 1\n"
            )
        );
    }
}
