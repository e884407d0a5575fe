//! `services`: KSM's `internal/store/service.go`. Base labels `namespace,service,uid`.

use k8s_openapi::api::core::v1::{Service, ServiceSpec};

use super::{FamilyDef, ObjectFamilies, Samples, Stability::*};

impl ObjectFamilies for Service {
    const BASE_LABELS: &'static [&'static str] = &["namespace", "service", "uid"];

    fn base_label_values(&self) -> Vec<&str> {
        vec![
            self.metadata.namespace.as_deref().unwrap_or(""),
            self.metadata.name.as_deref().unwrap_or(""),
            self.metadata.uid.as_deref().unwrap_or(""),
        ]
    }

    fn families() -> Vec<FamilyDef<Self>> {
        family_defs()
    }
}

/// KSM reads the spec as a Go struct, so an absent spec is all zero values.
fn spec(s: &Service) -> Option<&ServiceSpec> {
    s.spec.as_ref()
}

/// A string field of the spec, `""` when the spec or the field is absent.
fn spec_str(s: &Service, field: fn(&ServiceSpec) -> Option<&String>) -> &str {
    spec(s).and_then(field).map_or("", String::as_str)
}

fn info(s: &Service, out: &mut Samples) {
    out.push(
        [
            ("cluster_ip", spec_str(s, |sp| sp.cluster_ip.as_ref())),
            ("external_name", spec_str(s, |sp| sp.external_name.as_ref())),
            ("load_balancer_ip", spec_str(s, |sp| sp.load_balancer_ip.as_ref())),
            (
                "external_traffic_policy",
                spec_str(s, |sp| sp.external_traffic_policy.as_ref()),
            ),
        ],
        1.0,
    );
}

fn external_ips(s: &Service, out: &mut Samples) {
    for ip in spec(s).and_then(|sp| sp.external_ips.as_deref()).unwrap_or_default() {
        out.push([("external_ip", ip.as_str())], 1.0);
    }
}

fn load_balancer_ingress(s: &Service, out: &mut Samples) {
    let ingress = s
        .status
        .as_ref()
        .and_then(|st| st.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_deref())
        .unwrap_or_default();
    for i in ingress {
        out.push(
            [
                ("ip", i.ip.as_deref().unwrap_or("")),
                ("hostname", i.hostname.as_deref().unwrap_or("")),
            ],
            1.0,
        );
    }
}

type Def = FamilyDef<Service>;

fn family_defs() -> Vec<Def> {
    const P: &str = "kube_service";
    vec![
        Def::gauge(
            "kube_service_info",
            Stable,
            "Information about service.",
            |s, _, out| info(s, out),
        ),
        Def::created(P, Stable, "Unix creation timestamp"),
        // One series even without a type: KSM prints the zero value.
        Def::gauge("kube_service_spec_type", Stable, "Type about service.", |s, _, out| {
            out.push([("type", spec_str(s, |sp| sp.type_.as_ref()))], 1.0)
        }),
        Def::annotations(P, Alpha),
        Def::labels(P, Stable),
        Def::gauge(
            "kube_service_spec_external_ip",
            Stable,
            "Service external ips. One series for each ip",
            |s, _, out| external_ips(s, out),
        ),
        Def::gauge(
            "kube_service_status_load_balancer_ingress",
            Stable,
            "Service load balancer ingress status",
            |s, _, out| load_balancer_ingress(s, out),
        ),
        Def::deletion_timestamp(P, Alpha),
    ]
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::families::{RenderContext, render_text};

    fn svc(v: serde_json::Value) -> Service {
        serde_json::from_value(v).expect("valid Service")
    }

    fn render(s: &Service, family: &str) -> String {
        render_text(s, &RenderContext::default(), family)
    }

    /// A ClusterIP Service as a v1.36 API server returns it (managedFields dropped).
    fn web() -> Service {
        svc(json!({
            "kind": "Service",
            "apiVersion": "v1",
            "metadata": {
                "name": "web",
                "namespace": "shop",
                "uid": "a7797746-6951-4351-9fa8-2e47c8d63ebd",
                "resourceVersion": "385",
                "creationTimestamp": "2026-12-04T17:10:30Z",
                "labels": {"app.kubernetes.io/name": "shop", "fooBar": "camel"},
                "annotations": {"example.com/team": "payments"}
            },
            "spec": {
                "ports": [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": "http"}],
                "selector": {"app": "web"},
                "clusterIP": "10.0.0.228",
                "clusterIPs": ["10.0.0.228"],
                "type": "ClusterIP",
                "sessionAffinity": "None",
                "ipFamilies": ["IPv4"],
                "ipFamilyPolicy": "SingleStack",
                "internalTrafficPolicy": "Cluster"
            },
            "status": {"loadBalancer": {}}
        }))
    }

    /// A LoadBalancer Service after the cloud controller has provisioned it.
    fn public() -> Service {
        svc(json!({
            "kind": "Service",
            "apiVersion": "v1",
            "metadata": {
                "name": "checkout-public",
                "namespace": "shop",
                "uid": "5b0e2c1d-7a44-4f3e-9c61-0d8e2f4a6b71",
                "resourceVersion": "4402",
                "creationTimestamp": "2026-11-27T10:15:00Z",
                "finalizers": ["service.kubernetes.io/load-balancer-cleanup"]
            },
            "spec": {
                "ports": [{"name": "https", "protocol": "TCP", "port": 443, "targetPort": 8443, "nodePort": 31443}],
                "selector": {"app": "checkout"},
                "clusterIP": "10.0.0.77",
                "clusterIPs": ["10.0.0.77"],
                "type": "LoadBalancer",
                "externalIPs": ["198.51.100.7", "198.51.100.8"],
                "sessionAffinity": "None",
                "loadBalancerIP": "203.0.113.10",
                "externalTrafficPolicy": "Local",
                "healthCheckNodePort": 32011,
                "ipFamilies": ["IPv4"],
                "ipFamilyPolicy": "SingleStack",
                "allocateLoadBalancerNodePorts": true,
                "internalTrafficPolicy": "Cluster"
            },
            "status": {"loadBalancer": {"ingress": [
                {"ip": "203.0.113.10", "ipMode": "VIP"},
                {"hostname": "checkout-0123456789.elb.eu-central-1.amazonaws.com"}
            ]}}
        }))
    }

    const WEB: &str = "namespace=\"shop\",service=\"web\",uid=\"a7797746-6951-4351-9fa8-2e47c8d63ebd\"";
    const PUBLIC: &str = "namespace=\"shop\",service=\"checkout-public\",uid=\"5b0e2c1d-7a44-4f3e-9c61-0d8e2f4a6b71\"";

    #[test]
    fn cluster_ip_service() {
        let s = web();
        assert_eq!(
            render(&s, "kube_service_info"),
            format!(
                "kube_service_info{{{WEB},cluster_ip=\"10.0.0.228\",external_name=\"\",load_balancer_ip=\"\",external_traffic_policy=\"\"}} 1\n"
            )
        );
        assert_eq!(
            render(&s, "kube_service_created"),
            format!("kube_service_created{{{WEB}}} 1.79640423e+09\n")
        );
        assert_eq!(
            render(&s, "kube_service_spec_type"),
            format!("kube_service_spec_type{{{WEB},type=\"ClusterIP\"}} 1\n")
        );
        assert_eq!(render(&s, "kube_service_spec_external_ip"), "");
        assert_eq!(render(&s, "kube_service_status_load_balancer_ingress"), "");
        assert_eq!(render(&s, "kube_service_deletion_timestamp"), "");
    }

    #[test]
    fn load_balancer_service() {
        let s = public();
        assert_eq!(
            render(&s, "kube_service_info"),
            format!(
                "kube_service_info{{{PUBLIC},cluster_ip=\"10.0.0.77\",external_name=\"\",load_balancer_ip=\"203.0.113.10\",external_traffic_policy=\"Local\"}} 1\n"
            )
        );
        assert_eq!(
            render(&s, "kube_service_spec_type"),
            format!("kube_service_spec_type{{{PUBLIC},type=\"LoadBalancer\"}} 1\n")
        );
        assert_eq!(
            render(&s, "kube_service_spec_external_ip"),
            format!(
                "kube_service_spec_external_ip{{{PUBLIC},external_ip=\"198.51.100.7\"}} 1\n\
                 kube_service_spec_external_ip{{{PUBLIC},external_ip=\"198.51.100.8\"}} 1\n"
            )
        );
        // An ingress point with only an IP or only a hostname prints the other as "".
        assert_eq!(
            render(&s, "kube_service_status_load_balancer_ingress"),
            format!(
                "kube_service_status_load_balancer_ingress{{{PUBLIC},ip=\"203.0.113.10\",hostname=\"\"}} 1\n\
                 kube_service_status_load_balancer_ingress{{{PUBLIC},ip=\"\",hostname=\"checkout-0123456789.elb.eu-central-1.amazonaws.com\"}} 1\n"
            )
        );
    }

    #[test]
    fn external_name_service_being_deleted() {
        let s = svc(json!({
            "kind": "Service",
            "apiVersion": "v1",
            "metadata": {
                "name": "legacy-db",
                "namespace": "data",
                "uid": "c3d9a5e1-2f6b-4a70-8e12-94b7f0c1d2e3",
                "resourceVersion": "5120",
                "creationTimestamp": "2026-11-02T08:30:00Z",
                "deletionTimestamp": "2026-12-01T12:00:00Z",
                "deletionGracePeriodSeconds": 0,
                "finalizers": ["example.com/dns-cleanup"]
            },
            "spec": {"type": "ExternalName", "sessionAffinity": "None", "externalName": "db.legacy.example.com"},
            "status": {"loadBalancer": {}}
        }));
        let base = "namespace=\"data\",service=\"legacy-db\",uid=\"c3d9a5e1-2f6b-4a70-8e12-94b7f0c1d2e3\"";
        assert_eq!(
            render(&s, "kube_service_info"),
            format!(
                "kube_service_info{{{base},cluster_ip=\"\",external_name=\"db.legacy.example.com\",load_balancer_ip=\"\",external_traffic_policy=\"\"}} 1\n"
            )
        );
        assert_eq!(
            render(&s, "kube_service_spec_type"),
            format!("kube_service_spec_type{{{base},type=\"ExternalName\"}} 1\n")
        );
        assert_eq!(
            render(&s, "kube_service_deletion_timestamp"),
            format!("kube_service_deletion_timestamp{{{base}}} 1.7961264e+09\n")
        );
    }

    #[test]
    fn missing_spec_and_status_give_zero_values() {
        let s = svc(json!({
            "kind": "Service",
            "apiVersion": "v1",
            "metadata": {"name": "bare", "namespace": "default"}
        }));
        let base = "namespace=\"default\",service=\"bare\",uid=\"\"";
        assert_eq!(
            render(&s, "kube_service_info"),
            format!(
                "kube_service_info{{{base},cluster_ip=\"\",external_name=\"\",load_balancer_ip=\"\",external_traffic_policy=\"\"}} 1\n"
            )
        );
        assert_eq!(
            render(&s, "kube_service_spec_type"),
            format!("kube_service_spec_type{{{base},type=\"\"}} 1\n")
        );
        assert_eq!(render(&s, "kube_service_created"), "");
        assert_eq!(render(&s, "kube_service_spec_external_ip"), "");
        assert_eq!(render(&s, "kube_service_status_load_balancer_ingress"), "");
    }

    #[test]
    fn labels_and_annotations_follow_the_allowlist() {
        let s = web();
        assert_eq!(render(&s, "kube_service_labels"), "");
        assert_eq!(render(&s, "kube_service_annotations"), "");
        let ctx = RenderContext::allow_all();
        assert_eq!(
            render_text(&s, &ctx, "kube_service_labels"),
            format!("kube_service_labels{{{WEB},label_app_kubernetes_io_name=\"shop\",label_foo_bar=\"camel\"}} 1\n")
        );
        assert_eq!(
            render_text(&s, &ctx, "kube_service_annotations"),
            format!("kube_service_annotations{{{WEB},annotation_example_com_team=\"payments\"}} 1\n")
        );
    }
}
