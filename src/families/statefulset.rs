//! `statefulsets`: KSM's `internal/store/statefulset.go`. Base labels `namespace,statefulset`.

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetStatus};

use super::{FamilyDef, ObjectFamilies, Samples, Stability::*, meta};

impl ObjectFamilies for StatefulSet {
    const BASE_LABELS: &'static [&'static str] = &["namespace", "statefulset"];

    fn base_label_values(&self) -> Vec<&str> {
        super::meta::namespace_and_name(&self.metadata)
    }

    fn families() -> Vec<FamilyDef<Self>> {
        family_defs()
    }
}

fn status(s: &StatefulSet) -> Option<&StatefulSetStatus> {
    s.status.as_ref()
}

/// `kube_statefulset_persistentvolumeclaim_retention_policy`: one series while either policy is
/// set, the unset one as `""`.
fn retention_policy(s: &StatefulSet, out: &mut Samples) {
    let Some(policy) = &s.spec.persistent_volume_claim_retention_policy else {
        return;
    };
    let when_deleted = policy.when_deleted.as_deref().unwrap_or("");
    let when_scaled = policy.when_scaled.as_deref().unwrap_or("");
    if when_deleted.is_empty() && when_scaled.is_empty() {
        return;
    }
    out.push([("when_deleted", when_deleted), ("when_scaled", when_scaled)], 1.0);
}

/// The revision info families: always one series, `""` before the controller reports one.
fn revision(s: &StatefulSet, field: fn(&StatefulSetStatus) -> Option<&String>, out: &mut Samples) {
    let revision = status(s).and_then(field).map_or("", String::as_str);
    out.push([("revision", revision)], 1.0);
}

/// Closures in the table infer their object type from this alias.
type Def = FamilyDef<StatefulSet>;

fn family_defs() -> Vec<Def> {
    const P: &str = "kube_statefulset";
    vec![
        Def::created(P, Stable, "Unix creation timestamp"),
        Def::gauge(
            "kube_statefulset_status_replicas",
            Stable,
            "The number of replicas per StatefulSet.",
            |s, _, out| meta::status_int(status(s), |st| Some(st.replicas), out),
        ),
        Def::gauge(
            "kube_statefulset_status_replicas_available",
            Stable,
            "The number of available replicas per StatefulSet.",
            |s, _, out| meta::status_int(status(s), |st| st.available_replicas, out),
        ),
        Def::gauge(
            "kube_statefulset_status_replicas_current",
            Stable,
            "The number of current replicas per StatefulSet.",
            |s, _, out| meta::status_int(status(s), |st| st.current_replicas, out),
        ),
        Def::gauge(
            "kube_statefulset_status_replicas_ready",
            Stable,
            "The number of ready replicas per StatefulSet.",
            |s, _, out| meta::status_int(status(s), |st| st.ready_replicas, out),
        ),
        Def::gauge(
            "kube_statefulset_status_replicas_updated",
            Stable,
            "The number of updated replicas per StatefulSet.",
            |s, _, out| meta::status_int(status(s), |st| st.updated_replicas, out),
        ),
        Def::gauge(
            "kube_statefulset_status_observed_generation",
            Stable,
            "The generation observed by the StatefulSet controller.",
            |s, _, out| out.value(status(s).and_then(|st| st.observed_generation).unwrap_or(0) as f64),
        ),
        Def::gauge(
            "kube_statefulset_replicas",
            Stable,
            "Number of desired pods for a StatefulSet.",
            |s, _, out| {
                if let Some(n) = s.spec.replicas {
                    out.value(f64::from(n));
                }
            },
        ),
        // Only with `spec.ordinals`; an ordinals block without `start` means 0.
        Def::gauge(
            "kube_statefulset_ordinals_start",
            Stable,
            "Start ordinal of the StatefulSet.",
            |s, _, out| {
                if let Some(ordinals) = &s.spec.ordinals {
                    out.value(f64::from(ordinals.start.unwrap_or(0)));
                }
            },
        ),
        Def::metadata_generation(
            P,
            Stable,
            "Sequence number representing a specific generation of the desired state for the StatefulSet.",
        ),
        Def::gauge(
            "kube_statefulset_persistentvolumeclaim_retention_policy",
            Stable,
            "Count of retention policy for StatefulSet template PVCs",
            |s, _, out| retention_policy(s, out),
        ),
        Def::annotations(P, Stable),
        Def::labels(P, Stable),
        Def::gauge(
            "kube_statefulset_status_current_revision",
            Stable,
            "Indicates the version of the StatefulSet used to generate Pods in the sequence [0,currentReplicas).",
            |s, _, out| revision(s, |st| st.current_revision.as_ref(), out),
        ),
        Def::gauge(
            "kube_statefulset_status_update_revision",
            Stable,
            "Indicates the version of the StatefulSet used to generate Pods in the sequence [replicas-updatedReplicas,replicas)",
            |s, _, out| revision(s, |st| st.update_revision.as_ref(), out),
        ),
        Def::deletion_timestamp(P, Stable),
    ]
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::families::{RenderContext, render_text};

    /// The `db` StatefulSet as a v1.36 API server returns it (managedFields dropped).
    fn db() -> serde_json::Value {
        json!({
            "kind": "StatefulSet",
            "apiVersion": "apps/v1",
            "metadata": {
                "name": "db",
                "namespace": "data",
                "uid": "7ad68663-d7e9-444b-9bfc-e69a833f14ee",
                "resourceVersion": "278",
                "generation": 2,
                "creationTimestamp": "2026-12-04T17:10:29Z",
                "labels": {"app": "db", "app.kubernetes.io/part-of": "corpus"},
                "annotations": {"example.com/owner": "team-data"}
            },
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"app": "db"}},
                "template": {
                    "metadata": {"labels": {"app": "db"}},
                    "spec": {"containers": [{"name": "postgres", "image": "postgres:17.2"}]}
                },
                "serviceName": "db",
                "podManagementPolicy": "Parallel",
                "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 1}},
                "revisionHistoryLimit": 10,
                "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Delete", "whenScaled": "Retain"}
            },
            "status": {
                "observedGeneration": 1,
                "replicas": 3,
                "readyReplicas": 2,
                "currentReplicas": 2,
                "updatedReplicas": 1,
                "currentRevision": "db-6c8b9d7f45",
                "updateRevision": "db-7f9c8d6b54",
                "collisionCount": 0,
                "availableReplicas": 2
            }
        })
    }

    fn sts(v: serde_json::Value) -> StatefulSet {
        serde_json::from_value(v).expect("valid StatefulSet")
    }

    fn render(s: &StatefulSet, family: &str) -> String {
        render_text(s, &RenderContext::default(), family)
    }

    const BASE: &str = "namespace=\"data\",statefulset=\"db\"";

    #[test]
    fn replica_counts_generations_and_timestamps() {
        let s = sts(db());
        for (family, value) in [
            ("kube_statefulset_created", "1.796404229e+09"),
            ("kube_statefulset_status_replicas", "3"),
            ("kube_statefulset_status_replicas_available", "2"),
            ("kube_statefulset_status_replicas_current", "2"),
            ("kube_statefulset_status_replicas_ready", "2"),
            ("kube_statefulset_status_replicas_updated", "1"),
            ("kube_statefulset_status_observed_generation", "1"),
            ("kube_statefulset_replicas", "3"),
            ("kube_statefulset_metadata_generation", "2"),
        ] {
            assert_eq!(render(&s, family), format!("{family}{{{BASE}}} {value}\n"));
        }
        assert_eq!(render(&s, "kube_statefulset_ordinals_start"), "");
        assert_eq!(render(&s, "kube_statefulset_deletion_timestamp"), "");
    }

    #[test]
    fn revisions_and_retention_policy_are_labels() {
        let s = sts(db());
        assert_eq!(
            render(&s, "kube_statefulset_status_current_revision"),
            format!("kube_statefulset_status_current_revision{{{BASE},revision=\"db-6c8b9d7f45\"}} 1\n")
        );
        assert_eq!(
            render(&s, "kube_statefulset_status_update_revision"),
            format!("kube_statefulset_status_update_revision{{{BASE},revision=\"db-7f9c8d6b54\"}} 1\n")
        );
        assert_eq!(
            render(&s, "kube_statefulset_persistentvolumeclaim_retention_policy"),
            format!(
                "kube_statefulset_persistentvolumeclaim_retention_policy{{{BASE},when_deleted=\"Delete\",when_scaled=\"Retain\"}} 1\n"
            )
        );
    }

    #[test]
    fn retention_policy_needs_one_policy_set() {
        let mut v = db();
        v["spec"]["persistentVolumeClaimRetentionPolicy"] = json!({"whenScaled": "Delete"});
        assert_eq!(
            render(&sts(v), "kube_statefulset_persistentvolumeclaim_retention_policy"),
            format!(
                "kube_statefulset_persistentvolumeclaim_retention_policy{{{BASE},when_deleted=\"\",when_scaled=\"Delete\"}} 1\n"
            )
        );
        let mut v = db();
        v["spec"]["persistentVolumeClaimRetentionPolicy"] = json!({});
        assert_eq!(
            render(&sts(v), "kube_statefulset_persistentvolumeclaim_retention_policy"),
            ""
        );
        let mut v = db();
        v["spec"]
            .as_object_mut()
            .unwrap()
            .remove("persistentVolumeClaimRetentionPolicy");
        assert_eq!(
            render(&sts(v), "kube_statefulset_persistentvolumeclaim_retention_policy"),
            ""
        );
    }

    #[test]
    fn missing_status_gives_zero_counts_and_empty_revisions() {
        let mut v = db();
        v.as_object_mut().unwrap().remove("status");
        v["spec"].as_object_mut().unwrap().remove("replicas");
        let s = sts(v);
        for family in [
            "kube_statefulset_status_replicas",
            "kube_statefulset_status_replicas_available",
            "kube_statefulset_status_replicas_current",
            "kube_statefulset_status_replicas_ready",
            "kube_statefulset_status_replicas_updated",
            "kube_statefulset_status_observed_generation",
        ] {
            assert_eq!(render(&s, family), format!("{family}{{{BASE}}} 0\n"));
        }
        assert_eq!(render(&s, "kube_statefulset_replicas"), "");
        assert_eq!(
            render(&s, "kube_statefulset_status_current_revision"),
            format!("kube_statefulset_status_current_revision{{{BASE},revision=\"\"}} 1\n")
        );
        assert_eq!(
            render(&s, "kube_statefulset_status_update_revision"),
            format!("kube_statefulset_status_update_revision{{{BASE},revision=\"\"}} 1\n")
        );
    }

    #[test]
    fn ordinals_and_deletion_timestamp() {
        let mut v = db();
        v["spec"]["ordinals"] = json!({"start": 5});
        v["metadata"]["deletionTimestamp"] = json!("2026-12-05T08:00:00Z");
        let s = sts(v);
        assert_eq!(
            render(&s, "kube_statefulset_ordinals_start"),
            format!("kube_statefulset_ordinals_start{{{BASE}}} 5\n")
        );
        assert_eq!(
            render(&s, "kube_statefulset_deletion_timestamp"),
            format!("kube_statefulset_deletion_timestamp{{{BASE}}} 1.7964576e+09\n")
        );
        let mut v = db();
        v["spec"]["ordinals"] = json!({});
        assert_eq!(
            render(&sts(v), "kube_statefulset_ordinals_start"),
            format!("kube_statefulset_ordinals_start{{{BASE}}} 0\n")
        );
    }

    #[test]
    fn labels_and_annotations_follow_the_allowlists() {
        let s = sts(db());
        assert_eq!(render(&s, "kube_statefulset_labels"), "");
        assert_eq!(render(&s, "kube_statefulset_annotations"), "");
        let ctx = RenderContext::allow_all();
        assert_eq!(
            render_text(&s, &ctx, "kube_statefulset_labels"),
            format!(
                "kube_statefulset_labels{{{BASE},label_app=\"db\",label_app_kubernetes_io_part_of=\"corpus\"}} 1\n"
            )
        );
        assert_eq!(
            render_text(&s, &ctx, "kube_statefulset_annotations"),
            format!("kube_statefulset_annotations{{{BASE},annotation_example_com_owner=\"team-data\"}} 1\n")
        );
    }
}
