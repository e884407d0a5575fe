//! `namespaces`: KSM's `internal/store/namespace.go`. Base label `namespace`.

use k8s_openapi::api::core::v1::Namespace;

use super::{FamilyDef, ObjectFamilies, RenderContext, Samples, Stability::*, bool_value, condition_values};

/// KSM writes one `phase` series per known phase, whatever the namespace reports; an absent or
/// unknown phase leaves both at 0.
const PHASES: [&str; 2] = ["Active", "Terminating"];

impl ObjectFamilies for Namespace {
    const BASE_LABELS: &'static [&'static str] = &["namespace"];

    fn base_label_values(&self) -> Vec<&str> {
        vec![self.metadata.name.as_deref().unwrap_or("")]
    }

    fn families() -> Vec<FamilyDef<Self>> {
        const P: &str = "kube_namespace";
        vec![
            FamilyDef::created(P, Stable, "Unix creation timestamp"),
            FamilyDef::annotations(P, Alpha),
            FamilyDef::labels(P, Stable),
            FamilyDef::gauge(
                "kube_namespace_status_phase",
                Stable,
                "kubernetes namespace status phase.",
                |n: &Namespace, _: &RenderContext, out: &mut Samples| {
                    let phase = n.status.as_ref().and_then(|s| s.phase.as_deref());
                    for p in PHASES {
                        out.push([("phase", p)], bool_value(phase == Some(p)));
                    }
                },
            ),
            FamilyDef::gauge(
                "kube_namespace_status_condition",
                Alpha,
                "The condition of a namespace.",
                |n: &Namespace, _: &RenderContext, out: &mut Samples| {
                    let conditions = n
                        .status
                        .as_ref()
                        .and_then(|s| s.conditions.as_deref())
                        .unwrap_or_default();
                    for c in conditions {
                        for (status, value) in condition_values(&c.status) {
                            out.push([("condition", c.type_.as_str()), ("status", status)], value);
                        }
                    }
                },
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::families::render_text;

    /// A namespace being deleted, as the namespace controller reports it while content remains.
    fn terminating() -> Namespace {
        serde_json::from_value(json!({
            "kind": "Namespace",
            "apiVersion": "v1",
            "metadata": {
                "name": "legacy-batch",
                "uid": "0b9f4c1e-6a2d-4e8b-9c3f-7d1a2b3c4d5e",
                "resourceVersion": "5120",
                "creationTimestamp": "2026-12-04T17:10:28Z",
                "deletionTimestamp": "2026-12-04T18:02:11Z",
                "labels": {"kubernetes.io/metadata.name": "legacy-batch", "team": "data"},
                "annotations": {"example.com/owner": "data-platform"}
            },
            "spec": {"finalizers": ["kubernetes"]},
            "status": {
                "phase": "Terminating",
                "conditions": [
                    {"type": "NamespaceDeletionDiscoveryFailure", "status": "True",
                     "lastTransitionTime": "2026-12-04T18:02:17Z", "reason": "DiscoveryFailed",
                     "message": "Discovery failed for some groups"},
                    {"type": "NamespaceDeletionContentFailure", "status": "False",
                     "lastTransitionTime": "2026-12-04T18:02:17Z", "reason": "ContentDeleted"},
                    {"type": "NamespaceFinalizersRemaining", "status": "Unknown",
                     "lastTransitionTime": "2026-12-04T18:02:17Z", "reason": "SomeFinalizersRemain"}
                ]
            }
        }))
        .expect("valid Namespace")
    }

    fn render(n: &Namespace, family: &str) -> String {
        render_text(n, &RenderContext::default(), family)
    }

    #[test]
    fn created_and_phase() {
        let n = terminating();
        assert_eq!(
            render(&n, "kube_namespace_created"),
            "kube_namespace_created{namespace=\"legacy-batch\"} 1.796404228e+09\n"
        );
        assert_eq!(
            render(&n, "kube_namespace_status_phase"),
            "kube_namespace_status_phase{namespace=\"legacy-batch\",phase=\"Active\"} 0\n\
             kube_namespace_status_phase{namespace=\"legacy-batch\",phase=\"Terminating\"} 1\n"
        );
    }

    #[test]
    fn missing_status_gives_zero_phases_and_no_conditions() {
        let mut n = terminating();
        n.status = None;
        n.metadata.creation_timestamp = None;
        assert_eq!(render(&n, "kube_namespace_created"), "");
        assert_eq!(
            render(&n, "kube_namespace_status_phase"),
            "kube_namespace_status_phase{namespace=\"legacy-batch\",phase=\"Active\"} 0\n\
             kube_namespace_status_phase{namespace=\"legacy-batch\",phase=\"Terminating\"} 0\n"
        );
        assert_eq!(render(&n, "kube_namespace_status_condition"), "");
    }

    #[test]
    fn every_condition_gets_three_status_series() {
        let n = terminating();
        let b = "namespace=\"legacy-batch\"";
        let expected = [
            ("NamespaceDeletionDiscoveryFailure", [1, 0, 0]),
            ("NamespaceDeletionContentFailure", [0, 1, 0]),
            ("NamespaceFinalizersRemaining", [0, 0, 1]),
        ]
        .iter()
        .flat_map(|(c, v)| {
            ["true", "false", "unknown"].iter().zip(v).map(move |(s, v)| {
                format!("kube_namespace_status_condition{{{b},condition=\"{c}\",status=\"{s}\"}} {v}\n")
            })
        })
        .collect::<String>();
        assert_eq!(render(&n, "kube_namespace_status_condition"), expected);
    }

    #[test]
    fn labels_and_annotations_only_when_allowlisted() {
        let n = terminating();
        assert_eq!(render(&n, "kube_namespace_labels"), "");
        assert_eq!(render(&n, "kube_namespace_annotations"), "");
        let all = RenderContext::allow_all();
        assert_eq!(
            render_text(&n, &all, "kube_namespace_labels"),
            "kube_namespace_labels{namespace=\"legacy-batch\",\
             label_kubernetes_io_metadata_name=\"legacy-batch\",label_team=\"data\"} 1\n"
        );
        assert_eq!(
            render_text(&n, &all, "kube_namespace_annotations"),
            "kube_namespace_annotations{namespace=\"legacy-batch\",annotation_example_com_owner=\"data-platform\"} 1\n"
        );
    }
}
