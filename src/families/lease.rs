//! `leases`: KSM's `internal/store/lease.go`. Base label `lease` only; `namespace` is an extra
//! label on each family (after the family's own labels where it has some).

use k8s_openapi::api::coordination::v1::Lease;

use super::{FamilyDef, ObjectFamilies, Samples, Stability::*};

impl ObjectFamilies for Lease {
    const BASE_LABELS: &'static [&'static str] = &["lease"];

    fn base_label_values(&self) -> Vec<&str> {
        vec![self.metadata.name.as_deref().unwrap_or("")]
    }

    fn families() -> Vec<FamilyDef<Self>> {
        family_defs()
    }
}

fn namespace(l: &Lease) -> &str {
    l.metadata.namespace.as_deref().unwrap_or("")
}

/// One series per owner reference (no `owner_is_controller`, unlike the workload kinds), or one
/// with empty owner labels; `lease_holder` is `""` when nobody holds the lease.
fn owner(l: &Lease, out: &mut Samples) {
    let holder = l.spec.as_ref().and_then(|s| s.holder_identity.as_deref()).unwrap_or("");
    let ns = namespace(l);
    let owners = l.metadata.owner_references.as_deref().unwrap_or_default();
    if owners.is_empty() {
        out.push(
            [
                ("owner_kind", ""),
                ("owner_name", ""),
                ("namespace", ns),
                ("lease_holder", holder),
            ],
            1.0,
        );
        return;
    }
    for o in owners {
        out.push(
            [
                ("owner_kind", o.kind.as_str()),
                ("owner_name", o.name.as_str()),
                ("namespace", ns),
                ("lease_holder", holder),
            ],
            1.0,
        );
    }
}

/// Whole seconds of `spec.renewTime` (a microsecond timestamp); nothing before the first renewal.
fn renew_time(l: &Lease, out: &mut Samples) {
    if let Some(t) = l.spec.as_ref().and_then(|s| s.renew_time.as_ref()) {
        out.push([("namespace", namespace(l))], t.0.as_second() as f64);
    }
}

type Def = FamilyDef<Lease>;

fn family_defs() -> Vec<Def> {
    vec![
        Def::gauge(
            "kube_lease_owner",
            Alpha,
            "Information about the Lease's owner.",
            |l, _, out| owner(l, out),
        ),
        Def::gauge("kube_lease_renew_time", Alpha, "Kube lease renew time.", |l, _, out| {
            renew_time(l, out)
        }),
    ]
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::families::{RenderContext, render_text};

    fn lease(v: serde_json::Value) -> Lease {
        serde_json::from_value(v).expect("valid Lease")
    }

    fn render(l: &Lease, family: &str) -> String {
        render_text(l, &RenderContext::default(), family)
    }

    /// A kubelet's node lease as a v1.36 API server returns it (managedFields dropped).
    fn node_lease() -> Lease {
        lease(json!({
            "kind": "Lease",
            "apiVersion": "coordination.k8s.io/v1",
            "metadata": {
                "name": "corpus-node-a",
                "namespace": "kube-node-lease",
                "uid": "f1e2d3c4-b5a6-4978-8a9b-0c1d2e3f4a5b",
                "resourceVersion": "5599",
                "creationTimestamp": "2026-11-24T05:00:40Z",
                "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": "corpus-node-a",
                                     "uid": "0d6f3b9e-1c4a-4e55-8b1e-7a2f9c3d0c01"}]
            },
            "spec": {"holderIdentity": "corpus-node-a", "leaseDurationSeconds": 40,
                     "renewTime": "2026-12-04T17:42:13.512604Z"}
        }))
    }

    #[test]
    fn node_lease_owner_and_renew_time() {
        let l = node_lease();
        assert_eq!(
            render(&l, "kube_lease_owner"),
            "kube_lease_owner{lease=\"corpus-node-a\",owner_kind=\"Node\",owner_name=\"corpus-node-a\",namespace=\"kube-node-lease\",lease_holder=\"corpus-node-a\"} 1\n"
        );
        // Microseconds are dropped, as Go's Unix() does.
        assert_eq!(
            render(&l, "kube_lease_renew_time"),
            "kube_lease_renew_time{lease=\"corpus-node-a\",namespace=\"kube-node-lease\"} 1.796406133e+09\n"
        );
    }

    #[test]
    fn unowned_unheld_never_renewed() {
        // The real `corpus-operator-lock`: holderIdentity is "" and renewTime is absent.
        let l = lease(json!({
            "kind": "Lease",
            "apiVersion": "coordination.k8s.io/v1",
            "metadata": {
                "name": "corpus-operator-lock",
                "namespace": "edge",
                "uid": "3d271167-0453-4141-a9f5-1e315dd46b50",
                "resourceVersion": "490",
                "creationTimestamp": "2026-12-04T17:10:31Z"
            },
            "spec": {"holderIdentity": "", "leaseDurationSeconds": 137}
        }));
        assert_eq!(
            render(&l, "kube_lease_owner"),
            "kube_lease_owner{lease=\"corpus-operator-lock\",owner_kind=\"\",owner_name=\"\",namespace=\"edge\",lease_holder=\"\"} 1\n"
        );
        assert_eq!(render(&l, "kube_lease_renew_time"), "");
    }

    #[test]
    fn leader_election_lease_without_owner() {
        let l = lease(json!({
            "kind": "Lease",
            "apiVersion": "coordination.k8s.io/v1",
            "metadata": {"name": "kube-controller-manager", "namespace": "kube-system"},
            "spec": {"holderIdentity": "corpus-cp-0_6f0b6c1e-2d4a-4b3c-9e8f-7a6b5c4d3e2f", "leaseDurationSeconds": 15,
                     "acquireTime": "2026-11-24T04:58:10.120000Z", "renewTime": "2026-12-04T17:42:15.004211Z",
                     "leaseTransitions": 2}
        }));
        assert_eq!(
            render(&l, "kube_lease_owner"),
            "kube_lease_owner{lease=\"kube-controller-manager\",owner_kind=\"\",owner_name=\"\",namespace=\"kube-system\",lease_holder=\"corpus-cp-0_6f0b6c1e-2d4a-4b3c-9e8f-7a6b5c4d3e2f\"} 1\n"
        );
        assert_eq!(
            render(&l, "kube_lease_renew_time"),
            "kube_lease_renew_time{lease=\"kube-controller-manager\",namespace=\"kube-system\"} 1.796406135e+09\n"
        );
    }

    #[test]
    fn missing_spec() {
        let l = lease(
            json!({"kind": "Lease", "apiVersion": "coordination.k8s.io/v1", "metadata": {"name": "x", "namespace": "y"}}),
        );
        assert_eq!(
            render(&l, "kube_lease_owner"),
            "kube_lease_owner{lease=\"x\",owner_kind=\"\",owner_name=\"\",namespace=\"y\",lease_holder=\"\"} 1\n"
        );
        assert_eq!(render(&l, "kube_lease_renew_time"), "");
    }
}
