//! `replicasets`: KSM's `internal/store/replicaset.go`. Base labels `namespace,replicaset`.
//!
//! `kube_replicaset_owner` is what the kube-prometheus recording rules join on to map a pod's
//! ReplicaSet to its Deployment.

use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetStatus};

use super::{FamilyDef, ObjectFamilies, Stability::*, meta};

impl ObjectFamilies for ReplicaSet {
    const BASE_LABELS: &'static [&'static str] = &["namespace", "replicaset"];

    fn base_label_values(&self) -> Vec<&str> {
        super::meta::namespace_and_name(&self.metadata)
    }

    fn families() -> Vec<FamilyDef<Self>> {
        family_defs()
    }
}

fn status(r: &ReplicaSet) -> Option<&ReplicaSetStatus> {
    r.status.as_ref()
}

/// Closures in the table infer their object type from this alias.
type Def = FamilyDef<ReplicaSet>;

fn family_defs() -> Vec<Def> {
    const P: &str = "kube_replicaset";
    vec![
        Def::created(P, Stable, "Unix creation timestamp"),
        Def::gauge(
            "kube_replicaset_status_replicas",
            Stable,
            "The number of replicas per ReplicaSet.",
            |r, _, s| meta::status_int(status(r), |st| Some(st.replicas), s),
        ),
        Def::gauge(
            "kube_replicaset_status_fully_labeled_replicas",
            Stable,
            "The number of fully labeled replicas per ReplicaSet.",
            |r, _, s| meta::status_int(status(r), |st| st.fully_labeled_replicas, s),
        ),
        Def::gauge(
            "kube_replicaset_status_ready_replicas",
            Stable,
            "The number of ready replicas per ReplicaSet.",
            |r, _, s| meta::status_int(status(r), |st| st.ready_replicas, s),
        ),
        // Only while the controller reports it (the field is a pointer; KSM skips nil).
        Def::gauge(
            "kube_replicaset_status_terminating_replicas",
            Alpha,
            "The number of terminating replicas per ReplicaSet.",
            |r, _, s| {
                if let Some(n) = status(r).and_then(|st| st.terminating_replicas) {
                    s.value(f64::from(n));
                }
            },
        ),
        Def::gauge(
            "kube_replicaset_status_observed_generation",
            Stable,
            "The generation observed by the ReplicaSet controller.",
            |r, _, s| s.value(status(r).and_then(|st| st.observed_generation).unwrap_or(0) as f64),
        ),
        Def::gauge(
            "kube_replicaset_spec_replicas",
            Stable,
            "Number of desired pods for a ReplicaSet.",
            |r, _, s| {
                if let Some(n) = r.spec.replicas {
                    s.value(f64::from(n));
                }
            },
        ),
        Def::metadata_generation(
            P,
            Stable,
            "Sequence number representing a specific generation of the desired state.",
        ),
        Def::owner(P, Stable, "Information about the ReplicaSet's owner."),
        Def::annotations(P, Alpha),
        Def::labels(P, Stable),
    ]
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::families::{RenderContext, render_text};

    /// A Deployment's ReplicaSet as a v1.36 API server returns it (managedFields dropped).
    fn web() -> serde_json::Value {
        json!({
            "kind": "ReplicaSet",
            "apiVersion": "apps/v1",
            "metadata": {
                "name": "web-5d8f7c9b6d",
                "namespace": "shop",
                "uid": "0c3f9a41-7a2e-4b8e-9d55-2f1f3c0b8e11",
                "resourceVersion": "1182",
                "generation": 3,
                "creationTimestamp": "2026-11-24T05:09:01Z",
                "labels": {"app": "web", "pod-template-hash": "5d8f7c9b6d"},
                "annotations": {
                    "deployment.kubernetes.io/desired-replicas": "3",
                    "deployment.kubernetes.io/max-replicas": "4",
                    "deployment.kubernetes.io/revision": "4"
                },
                "ownerReferences": [{
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": "web",
                    "uid": "3ff66e27-bc87-40b3-ad84-bbcb409a244b",
                    "controller": true,
                    "blockOwnerDeletion": true
                }]
            },
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"app": "web", "pod-template-hash": "5d8f7c9b6d"}},
                "template": {
                    "metadata": {"labels": {"app": "web", "pod-template-hash": "5d8f7c9b6d"}},
                    "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27.3"}]}
                }
            },
            "status": {
                "replicas": 4,
                "fullyLabeledReplicas": 4,
                "readyReplicas": 3,
                "availableReplicas": 3,
                "terminatingReplicas": 1,
                "observedGeneration": 3
            }
        })
    }

    fn rs(v: serde_json::Value) -> ReplicaSet {
        serde_json::from_value(v).expect("valid ReplicaSet")
    }

    fn render(r: &ReplicaSet, family: &str) -> String {
        render_text(r, &RenderContext::default(), family)
    }

    const BASE: &str = "namespace=\"shop\",replicaset=\"web-5d8f7c9b6d\"";

    #[test]
    fn replica_counts_and_generations() {
        let r = rs(web());
        for (family, value) in [
            ("kube_replicaset_created", "1.795496941e+09"),
            ("kube_replicaset_status_replicas", "4"),
            ("kube_replicaset_status_fully_labeled_replicas", "4"),
            ("kube_replicaset_status_ready_replicas", "3"),
            ("kube_replicaset_status_terminating_replicas", "1"),
            ("kube_replicaset_status_observed_generation", "3"),
            ("kube_replicaset_spec_replicas", "3"),
            ("kube_replicaset_metadata_generation", "3"),
        ] {
            assert_eq!(render(&r, family), format!("{family}{{{BASE}}} {value}\n"));
        }
    }

    #[test]
    fn missing_status_gives_zeros_and_no_terminating_count() {
        let mut v = web();
        v.as_object_mut().unwrap().remove("status");
        v["spec"].as_object_mut().unwrap().remove("replicas");
        v["metadata"].as_object_mut().unwrap().remove("generation");
        let r = rs(v);
        for family in [
            "kube_replicaset_status_replicas",
            "kube_replicaset_status_fully_labeled_replicas",
            "kube_replicaset_status_ready_replicas",
            "kube_replicaset_status_observed_generation",
            "kube_replicaset_metadata_generation",
        ] {
            assert_eq!(render(&r, family), format!("{family}{{{BASE}}} 0\n"));
        }
        assert_eq!(render(&r, "kube_replicaset_status_terminating_replicas"), "");
        assert_eq!(render(&r, "kube_replicaset_spec_replicas"), "");
    }

    #[test]
    fn zero_spec_replicas_is_written() {
        let mut v = web();
        v["spec"]["replicas"] = json!(0);
        v["status"] = json!({"replicas": 0, "terminatingReplicas": 0});
        let r = rs(v);
        assert_eq!(
            render(&r, "kube_replicaset_spec_replicas"),
            format!("kube_replicaset_spec_replicas{{{BASE}}} 0\n")
        );
        assert_eq!(
            render(&r, "kube_replicaset_status_terminating_replicas"),
            format!("kube_replicaset_status_terminating_replicas{{{BASE}}} 0\n")
        );
    }

    #[test]
    fn owner_names_the_deployment_for_the_recording_rules() {
        let r = rs(web());
        assert_eq!(
            render(&r, "kube_replicaset_owner"),
            format!(
                "kube_replicaset_owner{{{BASE},owner_kind=\"Deployment\",owner_name=\"web\",owner_is_controller=\"true\"}} 1\n"
            )
        );
    }

    #[test]
    fn owner_without_references_or_controller_flag() {
        let mut v = web();
        v["metadata"].as_object_mut().unwrap().remove("ownerReferences");
        assert_eq!(
            render(&rs(v), "kube_replicaset_owner"),
            format!("kube_replicaset_owner{{{BASE},owner_kind=\"\",owner_name=\"\",owner_is_controller=\"\"}} 1\n")
        );
        let mut v = web();
        v["metadata"]["ownerReferences"] = json!([
            {"apiVersion": "example.com/v1", "kind": "Rollout", "name": "web", "uid": "5b0c1e2a-1111-4c4c-8d8d-000000000001"},
            {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "3ff66e27-bc87-40b3-ad84-bbcb409a244b", "controller": false}
        ]);
        assert_eq!(
            render(&rs(v), "kube_replicaset_owner"),
            format!(
                "kube_replicaset_owner{{{BASE},owner_kind=\"Rollout\",owner_name=\"web\",owner_is_controller=\"false\"}} 1\n\
                 kube_replicaset_owner{{{BASE},owner_kind=\"Deployment\",owner_name=\"web\",owner_is_controller=\"false\"}} 1\n"
            )
        );
    }

    #[test]
    fn labels_and_annotations_follow_the_allowlists() {
        let r = rs(web());
        assert_eq!(render(&r, "kube_replicaset_labels"), "");
        assert_eq!(render(&r, "kube_replicaset_annotations"), "");
        let ctx = RenderContext::allow_all();
        assert_eq!(
            render_text(&r, &ctx, "kube_replicaset_labels"),
            format!("kube_replicaset_labels{{{BASE},label_app=\"web\",label_pod_template_hash=\"5d8f7c9b6d\"}} 1\n")
        );
        assert_eq!(
            render_text(&r, &ctx, "kube_replicaset_annotations"),
            format!(
                "kube_replicaset_annotations{{{BASE},annotation_deployment_kubernetes_io_desired_replicas=\"3\",\
                 annotation_deployment_kubernetes_io_max_replicas=\"4\",annotation_deployment_kubernetes_io_revision=\"4\"}} 1\n"
            )
        );
    }
}
