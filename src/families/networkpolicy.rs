//! `networkpolicies`: KSM's `internal/store/networkpolicy.go`. Base labels
//! `namespace,networkpolicy`.

use k8s_openapi::api::networking::v1::NetworkPolicy;

use super::{FamilyDef, ObjectFamilies, Samples, Stability::*, meta};

impl ObjectFamilies for NetworkPolicy {
    const BASE_LABELS: &'static [&'static str] = &["namespace", "networkpolicy"];

    fn base_label_values(&self) -> Vec<&str> {
        super::meta::namespace_and_name(&self.metadata)
    }

    fn families() -> Vec<FamilyDef<Self>> {
        family_defs()
    }
}

/// `time.Time{}.Unix()`: what KSM prints for an unset timestamp it does not check.
const GO_ZERO_TIME_UNIX: f64 = -62_135_596_800.0;

/// Unlike other kinds, KSM writes this family without checking that the timestamp is set, so a
/// policy without one reports Go's zero time instead of nothing.
fn created(n: &NetworkPolicy, out: &mut Samples) {
    let t = n.metadata.creation_timestamp.as_ref();
    out.value(t.map_or(GO_ZERO_TIME_UNIX, meta::unix_seconds));
}

type Def = FamilyDef<NetworkPolicy>;

fn family_defs() -> Vec<Def> {
    const P: &str = "kube_networkpolicy";
    vec![
        Def::gauge(
            "kube_networkpolicy_created",
            Alpha,
            "Unix creation timestamp of network policy",
            |n, _, out| created(n, out),
        ),
        Def::annotations(P, Alpha),
        Def::labels(P, Alpha),
        Def::gauge(
            "kube_networkpolicy_spec_ingress_rules",
            Alpha,
            "Number of ingress rules on the networkpolicy",
            |n, _, out| {
                let rules = n.spec.as_ref().and_then(|s| s.ingress.as_ref());
                out.value(rules.map_or(0, Vec::len) as f64)
            },
        ),
        Def::gauge(
            "kube_networkpolicy_spec_egress_rules",
            Alpha,
            "Number of egress rules on the networkpolicy",
            |n, _, out| {
                let rules = n.spec.as_ref().and_then(|s| s.egress.as_ref());
                out.value(rules.map_or(0, Vec::len) as f64)
            },
        ),
    ]
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::families::{RenderContext, render_text};

    fn policy(v: serde_json::Value) -> NetworkPolicy {
        serde_json::from_value(v).expect("valid NetworkPolicy")
    }

    fn render(n: &NetworkPolicy, family: &str) -> String {
        render_text(n, &RenderContext::default(), family)
    }

    /// The `allow-web` NetworkPolicy as a v1.36 API server returns it (managedFields dropped):
    /// three ingress rules (one of them empty, which allows everything) and one egress rule.
    fn allow_web() -> NetworkPolicy {
        policy(json!({
            "kind": "NetworkPolicy",
            "apiVersion": "networking.k8s.io/v1",
            "metadata": {
                "name": "allow-web",
                "namespace": "shop",
                "uid": "47354911-1468-45fc-a3b2-9ca5afd893aa",
                "resourceVersion": "457",
                "generation": 1,
                "creationTimestamp": "2026-12-04T17:10:30Z",
                "labels": {"app.kubernetes.io/name": "shop"},
                "annotations": {"example.com/some-key": "annotation value"}
            },
            "spec": {
                "podSelector": {"matchLabels": {"app": "web"}},
                "ingress": [
                    {"ports": [{"protocol": "TCP", "port": 80}],
                     "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "edge"}}}]},
                    {"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.0.5.0/24"]}}]},
                    {}
                ],
                "egress": [{"ports": [{"protocol": "TCP", "port": 5432, "endPort": 5440}],
                            "to": [{"podSelector": {"matchLabels": {"app": "db"}}}]}],
                "policyTypes": ["Ingress", "Egress"]
            }
        }))
    }

    const WEB: &str = "namespace=\"shop\",networkpolicy=\"allow-web\"";

    #[test]
    fn created_and_rule_counts() {
        let n = allow_web();
        assert_eq!(
            render(&n, "kube_networkpolicy_created"),
            format!("kube_networkpolicy_created{{{WEB}}} 1.79640423e+09\n")
        );
        assert_eq!(
            render(&n, "kube_networkpolicy_spec_ingress_rules"),
            format!("kube_networkpolicy_spec_ingress_rules{{{WEB}}} 3\n")
        );
        assert_eq!(
            render(&n, "kube_networkpolicy_spec_egress_rules"),
            format!("kube_networkpolicy_spec_egress_rules{{{WEB}}} 1\n")
        );
    }

    #[test]
    fn default_deny_has_zero_rules() {
        let n = policy(json!({
            "kind": "NetworkPolicy",
            "apiVersion": "networking.k8s.io/v1",
            "metadata": {"name": "default-deny-ingress", "namespace": "data", "creationTimestamp": "2026-11-03T11:00:00Z"},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}
        }));
        let base = "namespace=\"data\",networkpolicy=\"default-deny-ingress\"";
        assert_eq!(
            render(&n, "kube_networkpolicy_spec_ingress_rules"),
            format!("kube_networkpolicy_spec_ingress_rules{{{base}}} 0\n")
        );
        assert_eq!(
            render(&n, "kube_networkpolicy_spec_egress_rules"),
            format!("kube_networkpolicy_spec_egress_rules{{{base}}} 0\n")
        );
    }

    #[test]
    fn missing_timestamp_and_spec_give_go_zero_values() {
        let n = policy(
            json!({"kind": "NetworkPolicy", "apiVersion": "networking.k8s.io/v1", "metadata": {"name": "bare", "namespace": "x"}}),
        );
        let base = "namespace=\"x\",networkpolicy=\"bare\"";
        assert_eq!(
            render(&n, "kube_networkpolicy_created"),
            format!("kube_networkpolicy_created{{{base}}} -6.21355968e+10\n")
        );
        assert_eq!(
            render(&n, "kube_networkpolicy_spec_ingress_rules"),
            format!("kube_networkpolicy_spec_ingress_rules{{{base}}} 0\n")
        );
        assert_eq!(
            render(&n, "kube_networkpolicy_spec_egress_rules"),
            format!("kube_networkpolicy_spec_egress_rules{{{base}}} 0\n")
        );
    }

    #[test]
    fn labels_and_annotations_follow_the_allowlist() {
        let n = allow_web();
        assert_eq!(render(&n, "kube_networkpolicy_labels"), "");
        assert_eq!(render(&n, "kube_networkpolicy_annotations"), "");
        let ctx = RenderContext::allow_all();
        assert_eq!(
            render_text(&n, &ctx, "kube_networkpolicy_labels"),
            format!("kube_networkpolicy_labels{{{WEB},label_app_kubernetes_io_name=\"shop\"}} 1\n")
        );
        assert_eq!(
            render_text(&n, &ctx, "kube_networkpolicy_annotations"),
            format!("kube_networkpolicy_annotations{{{WEB},annotation_example_com_some_key=\"annotation value\"}} 1\n")
        );
    }
}
