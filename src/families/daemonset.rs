//! `daemonsets`: KSM's `internal/store/daemonset.go`. Base labels `namespace,daemonset`.

use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetStatus};

use super::{FamilyDef, ObjectFamilies, Samples, Stability::*, meta};

impl ObjectFamilies for DaemonSet {
    const BASE_LABELS: &'static [&'static str] = &["namespace", "daemonset"];

    fn base_label_values(&self) -> Vec<&str> {
        super::meta::namespace_and_name(&self.metadata)
    }

    fn families() -> Vec<FamilyDef<Self>> {
        family_defs()
    }
}

fn status(d: &DaemonSet) -> Option<&DaemonSetStatus> {
    d.status.as_ref()
}

/// A required (non-optional) status integer; `0` when there is no status at all.
fn required(d: &DaemonSet, field: fn(&DaemonSetStatus) -> i32, s: &mut Samples) {
    s.value(f64::from(status(d).map(field).unwrap_or(0)));
}

/// Closures in the table infer their object type from this alias.
type Def = FamilyDef<DaemonSet>;

fn family_defs() -> Vec<FamilyDef<DaemonSet>> {
    const P: &str = "kube_daemonset";
    vec![
        Def::created(P, Stable, "Unix creation timestamp"),
        Def::gauge(
            "kube_daemonset_status_current_number_scheduled",
            Stable,
            "The number of nodes running at least one daemon pod and are supposed to.",
            |d, _, s| required(d, |st| st.current_number_scheduled, s),
        ),
        Def::gauge(
            "kube_daemonset_status_desired_number_scheduled",
            Stable,
            "The number of nodes that should be running the daemon pod.",
            |d, _, s| required(d, |st| st.desired_number_scheduled, s),
        ),
        Def::gauge(
            "kube_daemonset_status_number_available",
            Stable,
            "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available",
            |d, _, s| meta::status_int(status(d), |st| st.number_available, s),
        ),
        Def::gauge(
            "kube_daemonset_status_number_misscheduled",
            Stable,
            "The number of nodes running a daemon pod but are not supposed to.",
            |d, _, s| required(d, |st| st.number_misscheduled, s),
        ),
        Def::gauge(
            "kube_daemonset_status_number_ready",
            Stable,
            "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.",
            |d, _, s| required(d, |st| st.number_ready, s),
        ),
        Def::gauge(
            "kube_daemonset_status_number_unavailable",
            Stable,
            "The number of nodes that should be running the daemon pod and have none of the daemon pod running and available",
            |d, _, s| meta::status_int(status(d), |st| st.number_unavailable, s),
        ),
        Def::gauge(
            "kube_daemonset_status_observed_generation",
            Stable,
            "The most recent generation observed by the daemon set controller.",
            |d, _, s| s.value(status(d).and_then(|st| st.observed_generation).unwrap_or(0) as f64),
        ),
        Def::gauge(
            "kube_daemonset_status_updated_number_scheduled",
            Stable,
            "The total number of nodes that are running updated daemon pod",
            |d, _, s| meta::status_int(status(d), |st| st.updated_number_scheduled, s),
        ),
        Def::metadata_generation(
            P,
            Stable,
            "Sequence number representing a specific generation of the desired state.",
        ),
        Def::annotations(P, Alpha),
        Def::labels(P, Stable),
        Def::deletion_timestamp(P, Alpha),
    ]
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::families::{RenderContext, render_text};

    /// The `node-exporter` DaemonSet as a v1.36 API server returns it (managedFields and most of
    /// the pod template dropped).
    fn node_exporter() -> serde_json::Value {
        json!({
            "kind": "DaemonSet",
            "apiVersion": "apps/v1",
            "metadata": {
                "name": "node-exporter",
                "namespace": "monitoring",
                "uid": "7b54dff2-01c4-4d4a-9f0a-f24eb054972d",
                "resourceVersion": "273",
                "generation": 1,
                "creationTimestamp": "2026-11-24T05:09:02Z",
                "labels": {"app.kubernetes.io/name": "node-exporter"},
                "annotations": {"deprecated.daemonset.template.generation": "1"}
            },
            "spec": {
                "selector": {"matchLabels": {"app": "node-exporter"}},
                "template": {
                    "metadata": {"labels": {"app": "node-exporter"}},
                    "spec": {"containers": [{"name": "node-exporter", "image": "prom/node-exporter:v1.8.2"}]}
                },
                "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "10%", "maxSurge": 0}},
                "revisionHistoryLimit": 10
            },
            "status": {
                "currentNumberScheduled": 5,
                "numberMisscheduled": 1,
                "desiredNumberScheduled": 6,
                "numberReady": 3,
                "observedGeneration": 1,
                "updatedNumberScheduled": 4,
                "numberAvailable": 2,
                "numberUnavailable": 4
            }
        })
    }

    fn ds(v: serde_json::Value) -> DaemonSet {
        serde_json::from_value(v).expect("valid DaemonSet")
    }

    fn line(family: &str, value: &str) -> String {
        format!("{family}{{namespace=\"monitoring\",daemonset=\"node-exporter\"}} {value}\n")
    }

    #[test]
    fn status_counts() {
        let d = ds(node_exporter());
        let ctx = RenderContext::default();
        for (family, value) in [
            ("kube_daemonset_status_current_number_scheduled", "5"),
            ("kube_daemonset_status_desired_number_scheduled", "6"),
            ("kube_daemonset_status_number_available", "2"),
            ("kube_daemonset_status_number_misscheduled", "1"),
            ("kube_daemonset_status_number_ready", "3"),
            ("kube_daemonset_status_number_unavailable", "4"),
            ("kube_daemonset_status_observed_generation", "1"),
            ("kube_daemonset_status_updated_number_scheduled", "4"),
            ("kube_daemonset_metadata_generation", "1"),
            ("kube_daemonset_created", "1.795496942e+09"),
        ] {
            assert_eq!(render_text(&d, &ctx, family), line(family, value), "{family}");
        }
        assert_eq!(render_text(&d, &ctx, "kube_daemonset_deletion_timestamp"), "");
    }

    #[test]
    fn missing_optional_counts_are_zero() {
        // A freshly created DaemonSet: the controller has not written these yet.
        let mut v = node_exporter();
        v["status"] = json!({"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0, "numberReady": 0});
        let d = ds(v);
        let ctx = RenderContext::default();
        for family in [
            "kube_daemonset_status_number_available",
            "kube_daemonset_status_number_unavailable",
            "kube_daemonset_status_updated_number_scheduled",
            "kube_daemonset_status_observed_generation",
        ] {
            assert_eq!(render_text(&d, &ctx, family), line(family, "0"), "{family}");
        }
    }

    #[test]
    fn no_status_and_no_metadata_times() {
        // Not yet seen by the controller, and without the server-set fields.
        let mut v = node_exporter();
        let obj = v.as_object_mut().expect("object");
        obj.remove("status");
        let meta = obj["metadata"].as_object_mut().expect("metadata");
        meta.remove("generation");
        meta.remove("creationTimestamp");
        let d = ds(v);
        let ctx = RenderContext::default();
        for family in [
            "kube_daemonset_status_current_number_scheduled",
            "kube_daemonset_status_desired_number_scheduled",
            "kube_daemonset_status_number_available",
            "kube_daemonset_status_number_misscheduled",
            "kube_daemonset_status_number_ready",
            "kube_daemonset_status_number_unavailable",
            "kube_daemonset_status_observed_generation",
            "kube_daemonset_status_updated_number_scheduled",
            "kube_daemonset_metadata_generation",
        ] {
            assert_eq!(render_text(&d, &ctx, family), line(family, "0"), "{family}");
        }
        assert_eq!(render_text(&d, &ctx, "kube_daemonset_created"), "");
    }

    #[test]
    fn deleting_and_allowlisted_metadata() {
        let mut v = node_exporter();
        v["metadata"]["deletionTimestamp"] = json!("2026-11-24T06:00:00Z");
        let d = ds(v);
        let ctx = RenderContext::allow_all();
        assert_eq!(
            render_text(&d, &ctx, "kube_daemonset_deletion_timestamp"),
            line("kube_daemonset_deletion_timestamp", "1.7955e+09")
        );
        assert_eq!(
            render_text(&d, &ctx, "kube_daemonset_labels"),
            "kube_daemonset_labels{namespace=\"monitoring\",daemonset=\"node-exporter\",label_app_kubernetes_io_name=\"node-exporter\"} 1\n"
        );
        assert_eq!(
            render_text(&d, &ctx, "kube_daemonset_annotations"),
            "kube_daemonset_annotations{namespace=\"monitoring\",daemonset=\"node-exporter\",annotation_deprecated_daemonset_template_generation=\"1\"} 1\n"
        );
        assert_eq!(render_text(&d, &RenderContext::default(), "kube_daemonset_labels"), "");
    }
}
