//! `replicationcontrollers`: KSM's `internal/store/replicationcontroller.go`. Base labels
//! `namespace,replicationcontroller`.

use k8s_openapi::api::core::v1::{ReplicationController, ReplicationControllerStatus};

use super::{FamilyDef, ObjectFamilies, Stability::*, meta};

impl ObjectFamilies for ReplicationController {
    const BASE_LABELS: &'static [&'static str] = &["namespace", "replicationcontroller"];

    fn base_label_values(&self) -> Vec<&str> {
        super::meta::namespace_and_name(&self.metadata)
    }

    fn families() -> Vec<FamilyDef<Self>> {
        family_defs()
    }
}

fn status(r: &ReplicationController) -> Option<&ReplicationControllerStatus> {
    r.status.as_ref()
}

/// Closures in the table infer their object type from this alias.
type Def = FamilyDef<ReplicationController>;

fn family_defs() -> Vec<Def> {
    const P: &str = "kube_replicationcontroller";
    vec![
        Def::created(P, Stable, "Unix creation timestamp"),
        Def::gauge(
            "kube_replicationcontroller_status_replicas",
            Stable,
            "The number of replicas per ReplicationController.",
            |r, _, s| meta::status_int(status(r), |st| Some(st.replicas), s),
        ),
        Def::gauge(
            "kube_replicationcontroller_status_fully_labeled_replicas",
            Stable,
            "The number of fully labeled replicas per ReplicationController.",
            |r, _, s| meta::status_int(status(r), |st| st.fully_labeled_replicas, s),
        ),
        Def::gauge(
            "kube_replicationcontroller_status_ready_replicas",
            Stable,
            "The number of ready replicas per ReplicationController.",
            |r, _, s| meta::status_int(status(r), |st| st.ready_replicas, s),
        ),
        Def::gauge(
            "kube_replicationcontroller_status_available_replicas",
            Stable,
            "The number of available replicas per ReplicationController.",
            |r, _, s| meta::status_int(status(r), |st| st.available_replicas, s),
        ),
        Def::gauge(
            "kube_replicationcontroller_status_observed_generation",
            Stable,
            "The generation observed by the ReplicationController controller.",
            |r, _, s| s.value(status(r).and_then(|st| st.observed_generation).unwrap_or(0) as f64),
        ),
        Def::gauge(
            "kube_replicationcontroller_spec_replicas",
            Stable,
            "Number of desired pods for a ReplicationController.",
            |r, _, s| {
                if let Some(n) = r.spec.as_ref().and_then(|spec| spec.replicas) {
                    s.value(f64::from(n));
                }
            },
        ),
        Def::metadata_generation(
            P,
            Stable,
            "Sequence number representing a specific generation of the desired state.",
        ),
        Def::owner(P, Alpha, "Information about the ReplicationController's owner."),
    ]
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::families::{RenderContext, render_text};

    /// The `legacy-frontend` ReplicationController as a v1.36 API server returns it
    /// (managedFields dropped).
    fn legacy() -> serde_json::Value {
        json!({
            "kind": "ReplicationController",
            "apiVersion": "v1",
            "metadata": {
                "name": "legacy-frontend",
                "namespace": "shop",
                "uid": "1dfd2c9e-8c8d-440c-8ce2-e8e01a476ff0",
                "resourceVersion": "309",
                "generation": 2,
                "creationTimestamp": "2026-12-04T17:10:29Z",
                "labels": {"app": "legacy"}
            },
            "spec": {
                "replicas": 2,
                "selector": {"app": "legacy"},
                "template": {
                    "metadata": {"labels": {"app": "legacy"}},
                    "spec": {"containers": [{"name": "php", "image": "php:8.4-apache"}]}
                }
            },
            "status": {
                "replicas": 2,
                "fullyLabeledReplicas": 2,
                "readyReplicas": 1,
                "availableReplicas": 1,
                "observedGeneration": 1
            }
        })
    }

    fn rc(v: serde_json::Value) -> ReplicationController {
        serde_json::from_value(v).expect("valid ReplicationController")
    }

    fn render(r: &ReplicationController, family: &str) -> String {
        render_text(r, &RenderContext::default(), family)
    }

    const BASE: &str = "namespace=\"shop\",replicationcontroller=\"legacy-frontend\"";

    #[test]
    fn replica_counts_and_generations() {
        let r = rc(legacy());
        for (family, value) in [
            ("kube_replicationcontroller_created", "1.796404229e+09"),
            ("kube_replicationcontroller_status_replicas", "2"),
            ("kube_replicationcontroller_status_fully_labeled_replicas", "2"),
            ("kube_replicationcontroller_status_ready_replicas", "1"),
            ("kube_replicationcontroller_status_available_replicas", "1"),
            ("kube_replicationcontroller_status_observed_generation", "1"),
            ("kube_replicationcontroller_spec_replicas", "2"),
            ("kube_replicationcontroller_metadata_generation", "2"),
        ] {
            assert_eq!(render(&r, family), format!("{family}{{{BASE}}} {value}\n"));
        }
    }

    #[test]
    fn missing_status_and_spec() {
        let mut v = legacy();
        v.as_object_mut().unwrap().remove("status");
        v.as_object_mut().unwrap().remove("spec");
        let r = rc(v);
        for family in [
            "kube_replicationcontroller_status_replicas",
            "kube_replicationcontroller_status_fully_labeled_replicas",
            "kube_replicationcontroller_status_ready_replicas",
            "kube_replicationcontroller_status_available_replicas",
            "kube_replicationcontroller_status_observed_generation",
        ] {
            assert_eq!(render(&r, family), format!("{family}{{{BASE}}} 0\n"));
        }
        assert_eq!(render(&r, "kube_replicationcontroller_spec_replicas"), "");
    }

    #[test]
    fn owner_with_and_without_references() {
        let r = rc(legacy());
        assert_eq!(
            render(&r, "kube_replicationcontroller_owner"),
            format!(
                "kube_replicationcontroller_owner{{{BASE},owner_kind=\"\",owner_name=\"\",owner_is_controller=\"\"}} 1\n"
            )
        );
        let mut v = legacy();
        v["metadata"]["ownerReferences"] = json!([{
            "apiVersion": "apps.openshift.io/v1",
            "kind": "DeploymentConfig",
            "name": "legacy",
            "uid": "6d0e3a52-0b7e-4d0c-a0d4-5a5b7f8e9c10",
            "controller": true,
            "blockOwnerDeletion": true
        }]);
        assert_eq!(
            render(&rc(v), "kube_replicationcontroller_owner"),
            format!(
                "kube_replicationcontroller_owner{{{BASE},owner_kind=\"DeploymentConfig\",owner_name=\"legacy\",owner_is_controller=\"true\"}} 1\n"
            )
        );
    }
}
