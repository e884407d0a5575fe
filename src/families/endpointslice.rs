//! `endpointslices`: KSM's `internal/store/endpointslice.go`. Base labels
//! `endpointslice,namespace` (name first, unlike most kinds).

use k8s_openapi::api::discovery::v1::{Endpoint, EndpointSlice};

use super::{FamilyDef, ObjectFamilies, Samples, Stability::*};

impl ObjectFamilies for EndpointSlice {
    const BASE_LABELS: &'static [&'static str] = &["endpointslice", "namespace"];

    fn base_label_values(&self) -> Vec<&str> {
        vec![
            self.metadata.name.as_deref().unwrap_or(""),
            self.metadata.namespace.as_deref().unwrap_or(""),
        ]
    }

    fn families() -> Vec<FamilyDef<Self>> {
        family_defs()
    }
}

fn endpoints(e: &EndpointSlice) -> &[Endpoint] {
    e.endpoints.as_deref().unwrap_or_default()
}

/// One series per zone hint, labelled with the endpoint's first address (the API treats an
/// endpoint's addresses as fungible). Endpoints without zone hints have none.
fn hints(e: &EndpointSlice, out: &mut Samples) {
    for ep in endpoints(e) {
        let zones = ep
            .hints
            .as_ref()
            .and_then(|h| h.for_zones.as_deref())
            .unwrap_or_default();
        // KSM indexes the first address unchecked; an endpoint without one gets no series here.
        let Some(address) = ep.addresses.first() else {
            continue;
        };
        for zone in zones {
            out.push([("address", address.as_str()), ("for_zone", zone.name.as_str())], 1.0);
        }
    }
}

fn bool_str(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

/// One series per address. Each optional field of the endpoint adds its label only when set, so
/// the label set varies between endpoints exactly as KSM's does.
fn endpoint_series(e: &EndpointSlice, out: &mut Samples) {
    for ep in endpoints(e) {
        let mut labels: Vec<(&str, &str)> = Vec::with_capacity(10);
        if let Some(c) = &ep.conditions {
            let conditions = [
                ("ready", c.ready),
                ("serving", c.serving),
                ("terminating", c.terminating),
            ];
            for (name, value) in conditions {
                if let Some(v) = value {
                    labels.push((name, bool_str(v)));
                }
            }
        }
        if let Some(h) = &ep.hostname {
            labels.push(("hostname", h));
        }
        if let Some(r) = &ep.target_ref {
            // An empty reference field is left out, as KSM does.
            let fields = [
                ("targetref_kind", r.kind.as_deref()),
                ("targetref_name", r.name.as_deref()),
                ("targetref_namespace", r.namespace.as_deref()),
            ];
            for (name, value) in fields {
                if let Some(v) = value.filter(|v| !v.is_empty()) {
                    labels.push((name, v));
                }
            }
        }
        if let Some(n) = &ep.node_name {
            labels.push(("endpoint_nodename", n));
        }
        if let Some(z) = &ep.zone {
            labels.push(("endpoint_zone", z));
        }
        for address in &ep.addresses {
            out.push(labels.iter().copied().chain([("address", address.as_str())]), 1.0);
        }
    }
}

/// One series per port. KSM dereferences name, protocol and port unchecked; here a missing name
/// or protocol prints `""` and a port without a number is skipped (it has nothing to print).
fn ports(e: &EndpointSlice, out: &mut Samples) {
    for port in e.ports.as_deref().unwrap_or_default() {
        let Some(number) = port.port else {
            continue;
        };
        out.push(
            [
                ("port_name", port.name.as_deref().unwrap_or("")),
                ("port_protocol", port.protocol.as_deref().unwrap_or("")),
                ("port_number", number.to_string().as_str()),
            ],
            1.0,
        );
    }
}

type Def = FamilyDef<EndpointSlice>;

fn family_defs() -> Vec<Def> {
    const P: &str = "kube_endpointslice";
    vec![
        Def::gauge(
            "kube_endpointslice_info",
            Alpha,
            "Information about endpointslice.",
            |e, _, out| out.push([("addresstype", e.address_type.as_str())], 1.0),
        ),
        Def::created(P, Alpha, "Unix creation timestamp"),
        Def::gauge(
            "kube_endpointslice_endpoints_hints",
            Alpha,
            "Topology routing hints attached to endpoints",
            |e, _, out| hints(e, out),
        ),
        Def::gauge(
            "kube_endpointslice_endpoints",
            Alpha,
            "Endpoints attached to the endpointslice.",
            |e, _, out| endpoint_series(e, out),
        ),
        Def::gauge(
            "kube_endpointslice_ports",
            Alpha,
            "Ports attached to the endpointslice.",
            |e, _, out| ports(e, out),
        ),
        Def::annotations(P, Alpha),
        Def::labels(P, Alpha),
    ]
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::families::{RenderContext, render_text};

    fn slice(v: serde_json::Value) -> EndpointSlice {
        serde_json::from_value(v).expect("valid EndpointSlice")
    }

    fn render(e: &EndpointSlice, family: &str) -> String {
        render_text(e, &RenderContext::default(), family)
    }

    /// The `web-abc12` slice as a v1.36 API server returns it (managedFields dropped).
    fn web() -> EndpointSlice {
        slice(json!({
            "kind": "EndpointSlice",
            "apiVersion": "discovery.k8s.io/v1",
            "metadata": {
                "name": "web-abc12",
                "namespace": "shop",
                "uid": "8c05ee76-595c-48a6-9b29-b97322668f67",
                "resourceVersion": "403",
                "generation": 1,
                "creationTimestamp": "2026-12-04T17:10:30Z",
                "labels": {
                    "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
                    "kubernetes.io/service-name": "web"
                },
                "annotations": {"endpoints.kubernetes.io/last-change-trigger-time": "2026-12-04T17:10:29Z"},
                "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": "web",
                    "uid": "a7797746-6951-4351-9fa8-2e47c8d63ebd", "controller": true, "blockOwnerDeletion": true}]
            },
            "addressType": "IPv4",
            "endpoints": [
                {"addresses": ["10.244.0.10"], "conditions": {"ready": true, "serving": true, "terminating": false},
                 "targetRef": {"kind": "Pod", "namespace": "shop", "name": "web-7d9f8b6c5d-x2k4p"},
                 "nodeName": "corpus-node-a", "zone": "eu-central-1a",
                 "hints": {"forZones": [{"name": "eu-central-1a"}]}},
                {"addresses": ["10.244.0.11"], "conditions": {"ready": true, "serving": true, "terminating": false},
                 "targetRef": {"kind": "Pod", "namespace": "shop", "name": "web-7d9f8b6c5d-b8n7q"},
                 "nodeName": "corpus-node-b", "zone": "eu-central-1b",
                 "hints": {"forZones": [{"name": "eu-central-1b"}, {"name": "eu-central-1c"}]}},
                {"addresses": ["10.244.0.13"], "conditions": {"ready": false, "serving": false, "terminating": true}},
                {"addresses": ["10.244.0.14"], "conditions": {"ready": false, "serving": false, "terminating": false},
                 "hostname": "web-standby"}
            ],
            "ports": [
                {"name": "http", "protocol": "TCP", "port": 80},
                {"name": "metrics", "protocol": "TCP", "port": 9090, "appProtocol": "http"}
            ]
        }))
    }

    const WEB: &str = "endpointslice=\"web-abc12\",namespace=\"shop\"";

    #[test]
    fn info_and_created() {
        let e = web();
        assert_eq!(
            render(&e, "kube_endpointslice_info"),
            format!("kube_endpointslice_info{{{WEB},addresstype=\"IPv4\"}} 1\n")
        );
        assert_eq!(
            render(&e, "kube_endpointslice_created"),
            format!("kube_endpointslice_created{{{WEB}}} 1.79640423e+09\n")
        );
    }

    #[test]
    fn endpoints_carry_only_the_fields_they_have() {
        assert_eq!(
            render(&web(), "kube_endpointslice_endpoints"),
            format!(
                "kube_endpointslice_endpoints{{{WEB},ready=\"true\",serving=\"true\",terminating=\"false\",targetref_kind=\"Pod\",targetref_name=\"web-7d9f8b6c5d-x2k4p\",targetref_namespace=\"shop\",endpoint_nodename=\"corpus-node-a\",endpoint_zone=\"eu-central-1a\",address=\"10.244.0.10\"}} 1\n\
                 kube_endpointslice_endpoints{{{WEB},ready=\"true\",serving=\"true\",terminating=\"false\",targetref_kind=\"Pod\",targetref_name=\"web-7d9f8b6c5d-b8n7q\",targetref_namespace=\"shop\",endpoint_nodename=\"corpus-node-b\",endpoint_zone=\"eu-central-1b\",address=\"10.244.0.11\"}} 1\n\
                 kube_endpointslice_endpoints{{{WEB},ready=\"false\",serving=\"false\",terminating=\"true\",address=\"10.244.0.13\"}} 1\n\
                 kube_endpointslice_endpoints{{{WEB},ready=\"false\",serving=\"false\",terminating=\"false\",hostname=\"web-standby\",address=\"10.244.0.14\"}} 1\n"
            )
        );
    }

    #[test]
    fn hints_one_series_per_zone() {
        assert_eq!(
            render(&web(), "kube_endpointslice_endpoints_hints"),
            format!(
                "kube_endpointslice_endpoints_hints{{{WEB},address=\"10.244.0.10\",for_zone=\"eu-central-1a\"}} 1\n\
                 kube_endpointslice_endpoints_hints{{{WEB},address=\"10.244.0.11\",for_zone=\"eu-central-1b\"}} 1\n\
                 kube_endpointslice_endpoints_hints{{{WEB},address=\"10.244.0.11\",for_zone=\"eu-central-1c\"}} 1\n"
            )
        );
    }

    #[test]
    fn ports_one_series_each() {
        assert_eq!(
            render(&web(), "kube_endpointslice_ports"),
            format!(
                "kube_endpointslice_ports{{{WEB},port_name=\"http\",port_protocol=\"TCP\",port_number=\"80\"}} 1\n\
                 kube_endpointslice_ports{{{WEB},port_name=\"metrics\",port_protocol=\"TCP\",port_number=\"9090\"}} 1\n"
            )
        );
    }

    /// A slice written by a custom controller: bare conditions, several addresses per endpoint,
    /// an empty hint list, an unset targetRef field, a port without a number.
    #[test]
    fn sparse_endpoints_and_ports() {
        let e = slice(json!({
            "kind": "EndpointSlice",
            "apiVersion": "discovery.k8s.io/v1",
            "metadata": {"name": "external-db-v6", "namespace": "data", "creationTimestamp": "2026-11-30T14:05:00Z"},
            "addressType": "IPv6",
            "endpoints": [
                {"addresses": ["fd00:10:244::1a", "fd00:10:244::2a"], "conditions": {}, "hints": {"forZones": []}},
                {"addresses": ["fd00:10:244::1b"], "conditions": {"ready": true},
                 "targetRef": {"kind": "Pod", "name": "db-0"}, "zone": "eu-central-1b"}
            ],
            "ports": [{"name": "", "protocol": "TCP", "port": 5432}, {"name": "any", "protocol": "UDP"}]
        }));
        let base = "endpointslice=\"external-db-v6\",namespace=\"data\"";
        assert_eq!(
            render(&e, "kube_endpointslice_info"),
            format!("kube_endpointslice_info{{{base},addresstype=\"IPv6\"}} 1\n")
        );
        assert_eq!(
            render(&e, "kube_endpointslice_endpoints"),
            format!(
                "kube_endpointslice_endpoints{{{base},address=\"fd00:10:244::1a\"}} 1\n\
                 kube_endpointslice_endpoints{{{base},address=\"fd00:10:244::2a\"}} 1\n\
                 kube_endpointslice_endpoints{{{base},ready=\"true\",targetref_kind=\"Pod\",targetref_name=\"db-0\",endpoint_zone=\"eu-central-1b\",address=\"fd00:10:244::1b\"}} 1\n"
            )
        );
        assert_eq!(render(&e, "kube_endpointslice_endpoints_hints"), "");
        assert_eq!(
            render(&e, "kube_endpointslice_ports"),
            format!("kube_endpointslice_ports{{{base},port_name=\"\",port_protocol=\"TCP\",port_number=\"5432\"}} 1\n")
        );
    }

    #[test]
    fn null_endpoints_and_missing_ports() {
        // The endpointslice controller writes `"endpoints": null` for a Service without pods.
        let e = slice(json!({
            "kind": "EndpointSlice",
            "apiVersion": "discovery.k8s.io/v1",
            "metadata": {"name": "checkout-7xq2v", "namespace": "shop"},
            "addressType": "IPv4",
            "endpoints": null
        }));
        let base = "endpointslice=\"checkout-7xq2v\",namespace=\"shop\"";
        assert_eq!(
            render(&e, "kube_endpointslice_info"),
            format!("kube_endpointslice_info{{{base},addresstype=\"IPv4\"}} 1\n")
        );
        assert_eq!(render(&e, "kube_endpointslice_created"), "");
        assert_eq!(render(&e, "kube_endpointslice_endpoints"), "");
        assert_eq!(render(&e, "kube_endpointslice_endpoints_hints"), "");
        assert_eq!(render(&e, "kube_endpointslice_ports"), "");
    }

    #[test]
    fn hints_need_an_address() {
        let e = slice(json!({
            "kind": "EndpointSlice",
            "apiVersion": "discovery.k8s.io/v1",
            "metadata": {"name": "odd", "namespace": "shop"},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [], "hints": {"forZones": [{"name": "eu-central-1a"}]}}]
        }));
        assert_eq!(render(&e, "kube_endpointslice_endpoints_hints"), "");
        assert_eq!(render(&e, "kube_endpointslice_endpoints"), "");
    }

    #[test]
    fn labels_and_annotations_follow_the_allowlist() {
        let e = web();
        assert_eq!(render(&e, "kube_endpointslice_labels"), "");
        assert_eq!(render(&e, "kube_endpointslice_annotations"), "");
        let ctx = RenderContext::allow_all();
        assert_eq!(
            render_text(&e, &ctx, "kube_endpointslice_labels"),
            format!(
                "kube_endpointslice_labels{{{WEB},label_endpointslice_kubernetes_io_managed_by=\"endpointslice-controller.k8s.io\",label_kubernetes_io_service_name=\"web\"}} 1\n"
            )
        );
        assert_eq!(
            render_text(&e, &ctx, "kube_endpointslice_annotations"),
            format!(
                "kube_endpointslice_annotations{{{WEB},annotation_endpoints_kubernetes_io_last_change_trigger_time=\"2026-12-04T17:10:29Z\"}} 1\n"
            )
        );
    }
}
