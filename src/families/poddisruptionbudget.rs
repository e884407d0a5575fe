//! `poddisruptionbudgets`: KSM's `internal/store/poddisruptionbudget.go`. Base labels
//! `namespace,poddisruptionbudget`.

use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetStatus};

use super::{FamilyDef, ObjectFamilies, RenderContext, Samples, Stability::*};

impl ObjectFamilies for PodDisruptionBudget {
    const BASE_LABELS: &'static [&'static str] = &["namespace", "poddisruptionbudget"];

    fn base_label_values(&self) -> Vec<&str> {
        super::meta::namespace_and_name(&self.metadata)
    }

    fn families() -> Vec<FamilyDef<Self>> {
        const P: &str = "kube_poddisruptionbudget";
        vec![
            FamilyDef::annotations(P, Alpha),
            FamilyDef::labels(P, Alpha),
            FamilyDef::created(P, Stable, "Unix creation timestamp"),
            status_count(
                "kube_poddisruptionbudget_status_current_healthy",
                "Current number of healthy pods",
                |s| s.current_healthy,
            ),
            status_count(
                "kube_poddisruptionbudget_status_desired_healthy",
                "Minimum desired number of healthy pods",
                |s| s.desired_healthy,
            ),
            status_count(
                "kube_poddisruptionbudget_status_pod_disruptions_allowed",
                "Number of pod disruptions that are currently allowed",
                |s| s.disruptions_allowed,
            ),
            status_count(
                "kube_poddisruptionbudget_status_expected_pods",
                "Total number of pods counted by this disruption budget",
                |s| s.expected_pods,
            ),
            FamilyDef::gauge(
                "kube_poddisruptionbudget_status_observed_generation",
                Stable,
                "Most recent generation observed when updating this PDB status",
                |p: &PodDisruptionBudget, _: &RenderContext, out: &mut Samples| {
                    out.value(p.status.as_ref().and_then(|s| s.observed_generation).unwrap_or(0) as f64);
                },
            ),
            FamilyDef::deletion_timestamp(P, Alpha),
        ]
    }
}

/// A STABLE status counter. KSM reads the Go struct's value fields, so a budget the disruption
/// controller has not processed yet reports 0 rather than nothing.
fn status_count(
    name: &'static str,
    help: &'static str,
    field: fn(&PodDisruptionBudgetStatus) -> Option<i32>,
) -> FamilyDef<PodDisruptionBudget> {
    FamilyDef::gauge(
        name,
        Stable,
        help,
        move |p: &PodDisruptionBudget, _: &RenderContext, out: &mut Samples| {
            out.value(f64::from(p.status.as_ref().and_then(field).unwrap_or(0)));
        },
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::families::render_text;

    /// The `web` budget as a v1.36 API server returns it (managedFields dropped).
    fn web() -> serde_json::Value {
        json!({
            "kind": "PodDisruptionBudget",
            "apiVersion": "policy/v1",
            "metadata": {
                "name": "web",
                "namespace": "shop",
                "uid": "ce488432-897a-4c82-b6f8-2bd8f88c4ea3",
                "resourceVersion": "452",
                "generation": 1,
                "creationTimestamp": "2026-12-04T17:10:30Z",
                "labels": {"app.kubernetes.io/name": "shop"},
                "annotations": {"example.com/owner": "storefront"}
            },
            "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}},
            "status": {
                "observedGeneration": 1,
                "disruptedPods": {"web-7d9f8b6c5d-zz9lm": "2026-11-24T03:30:00Z"},
                "disruptionsAllowed": 1,
                "currentHealthy": 3,
                "desiredHealthy": 2,
                "expectedPods": 4,
                "conditions": [{"type": "DisruptionAllowed", "status": "True", "observedGeneration": 1,
                                "lastTransitionTime": "2026-11-24T01:02:03Z", "reason": "SufficientPods",
                                "message": ""}]
            }
        })
    }

    fn pdb(v: serde_json::Value) -> PodDisruptionBudget {
        serde_json::from_value(v).expect("valid PodDisruptionBudget")
    }

    fn render(p: &PodDisruptionBudget, family: &str) -> String {
        render_text(p, &RenderContext::default(), family)
    }

    const BASE: &str = "namespace=\"shop\",poddisruptionbudget=\"web\"";

    #[test]
    fn status_counts_and_created() {
        let p = pdb(web());
        for (family, value) in [
            ("kube_poddisruptionbudget_status_current_healthy", "3"),
            ("kube_poddisruptionbudget_status_desired_healthy", "2"),
            ("kube_poddisruptionbudget_status_pod_disruptions_allowed", "1"),
            ("kube_poddisruptionbudget_status_expected_pods", "4"),
            ("kube_poddisruptionbudget_status_observed_generation", "1"),
            ("kube_poddisruptionbudget_created", "1.79640423e+09"),
        ] {
            assert_eq!(render(&p, family), format!("{family}{{{BASE}}} {value}\n"));
        }
        assert_eq!(render(&p, "kube_poddisruptionbudget_deletion_timestamp"), "");
    }

    #[test]
    fn unprocessed_budget_reports_zeros() {
        let mut v = web();
        v["status"] = json!({"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0});
        let p = pdb(v);
        assert_eq!(
            render(&p, "kube_poddisruptionbudget_status_observed_generation"),
            format!("kube_poddisruptionbudget_status_observed_generation{{{BASE}}} 0\n")
        );
        let mut p = p;
        p.status = None;
        for family in [
            "kube_poddisruptionbudget_status_current_healthy",
            "kube_poddisruptionbudget_status_desired_healthy",
            "kube_poddisruptionbudget_status_pod_disruptions_allowed",
            "kube_poddisruptionbudget_status_expected_pods",
            "kube_poddisruptionbudget_status_observed_generation",
        ] {
            assert_eq!(render(&p, family), format!("{family}{{{BASE}}} 0\n"));
        }
        p.metadata.creation_timestamp = None;
        assert_eq!(render(&p, "kube_poddisruptionbudget_created"), "");
    }

    #[test]
    fn deletion_timestamp_while_being_deleted() {
        let mut v = web();
        v["metadata"]["deletionTimestamp"] = json!("2026-12-04T18:05:42Z");
        v["metadata"]["finalizers"] = json!(["example.com/drain-guard"]);
        assert_eq!(
            render(&pdb(v), "kube_poddisruptionbudget_deletion_timestamp"),
            format!("kube_poddisruptionbudget_deletion_timestamp{{{BASE}}} 1.796407542e+09\n")
        );
    }

    #[test]
    fn labels_and_annotations_only_when_allowlisted() {
        let p = pdb(web());
        assert_eq!(render(&p, "kube_poddisruptionbudget_labels"), "");
        assert_eq!(render(&p, "kube_poddisruptionbudget_annotations"), "");
        let all = RenderContext::allow_all();
        assert_eq!(
            render_text(&p, &all, "kube_poddisruptionbudget_labels"),
            format!("kube_poddisruptionbudget_labels{{{BASE},label_app_kubernetes_io_name=\"shop\"}} 1\n")
        );
        assert_eq!(
            render_text(&p, &all, "kube_poddisruptionbudget_annotations"),
            format!("kube_poddisruptionbudget_annotations{{{BASE},annotation_example_com_owner=\"storefront\"}} 1\n")
        );
    }
}
