//! `endpoints` (opt-in resource): KSM's `internal/store/endpoint.go`. Base labels
//! `namespace,endpoint`.

use k8s_openapi::api::core::v1::{EndpointPort, EndpointSubset, Endpoints};

use super::{FamilyDef, ObjectFamilies, Samples, Stability::*};

impl ObjectFamilies for Endpoints {
    const BASE_LABELS: &'static [&'static str] = &["namespace", "endpoint"];

    fn base_label_values(&self) -> Vec<&str> {
        super::meta::namespace_and_name(&self.metadata)
    }

    fn families() -> Vec<FamilyDef<Self>> {
        family_defs()
    }
}

fn subsets(e: &Endpoints) -> &[EndpointSubset] {
    e.subsets.as_deref().unwrap_or_default()
}

fn ports(subset: &EndpointSubset) -> &[EndpointPort] {
    subset.ports.as_deref().unwrap_or_default()
}

/// One series per (port, address): every ready address of a port, then its not-ready ones.
fn addresses(e: &Endpoints, out: &mut Samples) {
    for subset in subsets(e) {
        for port in ports(subset) {
            let number = port.port.to_string();
            let protocol = port.protocol.as_deref().unwrap_or("");
            let name = port.name.as_deref().unwrap_or("");
            let ready = subset
                .addresses
                .as_deref()
                .unwrap_or_default()
                .iter()
                .map(|a| (a, "true"));
            let not_ready = subset
                .not_ready_addresses
                .as_deref()
                .unwrap_or_default()
                .iter()
                .map(|a| (a, "false"));
            for (address, is_ready) in ready.chain(not_ready) {
                out.push(
                    [
                        ("port_protocol", protocol),
                        ("port_number", number.as_str()),
                        ("port_name", name),
                        ("ip", address.ip.as_str()),
                        ("ready", is_ready),
                    ],
                    1.0,
                );
            }
        }
    }
}

fn port_info(e: &Endpoints, out: &mut Samples) {
    for port in subsets(e).iter().flat_map(ports) {
        out.push(
            [
                ("port_name", port.name.as_deref().unwrap_or("")),
                ("port_protocol", port.protocol.as_deref().unwrap_or("")),
                ("port_number", port.port.to_string().as_str()),
            ],
            1.0,
        );
    }
}

type Def = FamilyDef<Endpoints>;

fn family_defs() -> Vec<Def> {
    const P: &str = "kube_endpoint";
    vec![
        Def::gauge(
            "kube_endpoint_info",
            Stable,
            "Information about endpoint.",
            |_, _, out| out.value(1.0),
        ),
        Def::created(P, Stable, "Unix creation timestamp"),
        Def::annotations(P, Alpha),
        Def::labels(P, Stable),
        Def::gauge(
            "kube_endpoint_address",
            Stable,
            "Information about Endpoint available and non available addresses.",
            |e, _, out| addresses(e, out),
        ),
        // Deprecated in KSM but still served: the deprecation only shows in the HELP text.
        Def::gauge(
            "kube_endpoint_ports",
            Stable,
            "(Deprecated since v2.14.0) Information about the Endpoint ports.",
            |e, _, out| port_info(e, out),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::families::{RenderContext, render_text};

    fn endpoints(v: serde_json::Value) -> Endpoints {
        serde_json::from_value(v).expect("valid Endpoints")
    }

    fn render(e: &Endpoints, family: &str) -> String {
        render_text(e, &RenderContext::default(), family)
    }

    /// The `db` Endpoints as a v1.36 API server returns it (managedFields dropped): two subsets,
    /// the first with ready and not-ready addresses.
    fn db() -> Endpoints {
        endpoints(json!({
            "kind": "Endpoints",
            "apiVersion": "v1",
            "metadata": {
                "name": "db",
                "namespace": "data",
                "uid": "e7f13b0b-0b44-403f-860c-c08699e844f4",
                "resourceVersion": "401",
                "creationTimestamp": "2026-12-04T17:10:30Z",
                "labels": {"app.kubernetes.io/name": "shop"},
                "annotations": {"example.com/some-key": "annotation value"}
            },
            "subsets": [
                {
                    "addresses": [{"ip": "10.244.0.50", "hostname": "db-0"}, {"ip": "10.244.1.50", "hostname": "db-1"}],
                    "notReadyAddresses": [{"ip": "10.244.2.50", "hostname": "db-2"}],
                    "ports": [{"name": "pg", "port": 5432, "protocol": "TCP"}]
                },
                {
                    "addresses": [{"ip": "10.244.9.9"}],
                    "ports": [{"name": "replication", "port": 5433, "protocol": "UDP"}]
                }
            ]
        }))
    }

    const DB: &str = "namespace=\"data\",endpoint=\"db\"";

    #[test]
    fn info_and_created() {
        let e = db();
        assert_eq!(
            render(&e, "kube_endpoint_info"),
            format!("kube_endpoint_info{{{DB}}} 1\n")
        );
        assert_eq!(
            render(&e, "kube_endpoint_created"),
            format!("kube_endpoint_created{{{DB}}} 1.79640423e+09\n")
        );
    }

    #[test]
    fn addresses_per_port_ready_first() {
        assert_eq!(
            render(&db(), "kube_endpoint_address"),
            format!(
                "kube_endpoint_address{{{DB},port_protocol=\"TCP\",port_number=\"5432\",port_name=\"pg\",ip=\"10.244.0.50\",ready=\"true\"}} 1\n\
                 kube_endpoint_address{{{DB},port_protocol=\"TCP\",port_number=\"5432\",port_name=\"pg\",ip=\"10.244.1.50\",ready=\"true\"}} 1\n\
                 kube_endpoint_address{{{DB},port_protocol=\"TCP\",port_number=\"5432\",port_name=\"pg\",ip=\"10.244.2.50\",ready=\"false\"}} 1\n\
                 kube_endpoint_address{{{DB},port_protocol=\"UDP\",port_number=\"5433\",port_name=\"replication\",ip=\"10.244.9.9\",ready=\"true\"}} 1\n"
            )
        );
    }

    #[test]
    fn ports_one_series_each() {
        assert_eq!(
            render(&db(), "kube_endpoint_ports"),
            format!(
                "kube_endpoint_ports{{{DB},port_name=\"pg\",port_protocol=\"TCP\",port_number=\"5432\"}} 1\n\
                 kube_endpoint_ports{{{DB},port_name=\"replication\",port_protocol=\"UDP\",port_number=\"5433\"}} 1\n"
            )
        );
    }

    #[test]
    fn every_address_is_repeated_for_every_port() {
        let e = endpoints(json!({
            "kind": "Endpoints",
            "apiVersion": "v1",
            "metadata": {"name": "web", "namespace": "shop", "creationTimestamp": "2026-12-04T17:10:30Z"},
            "subsets": [{
                "addresses": [{"ip": "10.244.0.10"}],
                "notReadyAddresses": [{"ip": "10.244.0.11"}],
                "ports": [{"port": 8080, "protocol": "TCP"}, {"name": "metrics", "port": 9090, "protocol": "TCP"}]
            }]
        }));
        let base = "namespace=\"shop\",endpoint=\"web\"";
        // An unnamed port prints port_name="" (Go's zero value).
        assert_eq!(
            render(&e, "kube_endpoint_address"),
            format!(
                "kube_endpoint_address{{{base},port_protocol=\"TCP\",port_number=\"8080\",port_name=\"\",ip=\"10.244.0.10\",ready=\"true\"}} 1\n\
                 kube_endpoint_address{{{base},port_protocol=\"TCP\",port_number=\"8080\",port_name=\"\",ip=\"10.244.0.11\",ready=\"false\"}} 1\n\
                 kube_endpoint_address{{{base},port_protocol=\"TCP\",port_number=\"9090\",port_name=\"metrics\",ip=\"10.244.0.10\",ready=\"true\"}} 1\n\
                 kube_endpoint_address{{{base},port_protocol=\"TCP\",port_number=\"9090\",port_name=\"metrics\",ip=\"10.244.0.11\",ready=\"false\"}} 1\n"
            )
        );
    }

    #[test]
    fn no_subsets_keep_only_info_and_created() {
        let e = endpoints(json!({
            "kind": "Endpoints",
            "apiVersion": "v1",
            "metadata": {
                "name": "checkout",
                "namespace": "shop",
                "uid": "7e2a9c41-3b5d-4f68-a1c0-2d9e8f7b6a54",
                "resourceVersion": "4417",
                "creationTimestamp": "2026-11-27T10:15:01Z"
            }
        }));
        let base = "namespace=\"shop\",endpoint=\"checkout\"";
        assert_eq!(
            render(&e, "kube_endpoint_info"),
            format!("kube_endpoint_info{{{base}}} 1\n")
        );
        assert_eq!(
            render(&e, "kube_endpoint_created"),
            format!("kube_endpoint_created{{{base}}} 1.795774501e+09\n")
        );
        assert_eq!(render(&e, "kube_endpoint_address"), "");
        assert_eq!(render(&e, "kube_endpoint_ports"), "");
    }

    #[test]
    fn a_subset_without_ports_has_no_address_series() {
        let e = endpoints(json!({
            "kind": "Endpoints",
            "apiVersion": "v1",
            "metadata": {"name": "odd", "namespace": "shop"},
            "subsets": [{"addresses": [{"ip": "10.244.0.10"}]}]
        }));
        assert_eq!(render(&e, "kube_endpoint_address"), "");
        assert_eq!(render(&e, "kube_endpoint_ports"), "");
        assert_eq!(render(&e, "kube_endpoint_created"), "");
    }

    #[test]
    fn labels_and_annotations_follow_the_allowlist() {
        let e = db();
        assert_eq!(render(&e, "kube_endpoint_labels"), "");
        assert_eq!(render(&e, "kube_endpoint_annotations"), "");
        let ctx = RenderContext::allow_all();
        assert_eq!(
            render_text(&e, &ctx, "kube_endpoint_labels"),
            format!("kube_endpoint_labels{{{DB},label_app_kubernetes_io_name=\"shop\"}} 1\n")
        );
        assert_eq!(
            render_text(&e, &ctx, "kube_endpoint_annotations"),
            format!("kube_endpoint_annotations{{{DB},annotation_example_com_some_key=\"annotation value\"}} 1\n")
        );
    }
}
