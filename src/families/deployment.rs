//! `deployments`: KSM's `internal/store/deployment.go`. Base labels `namespace,deployment`.
//!
//! Also home of [`scaled_int_or_percent`], KSM's IntOrString-percentage resolution, which other
//! workload kinds share.

use k8s_openapi::api::apps::v1::{Deployment, DeploymentStatus};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{FamilyDef, ObjectFamilies, Samples, Stability::*, bool_value, condition_values, meta};

impl ObjectFamilies for Deployment {
    const BASE_LABELS: &'static [&'static str] = &["namespace", "deployment"];

    fn base_label_values(&self) -> Vec<&str> {
        super::meta::namespace_and_name(&self.metadata)
    }

    fn families() -> Vec<FamilyDef<Self>> {
        family_defs()
    }
}

/// Condition reasons the deployment controller sets (KSM's `allowedDeploymentReasons`, copied
/// from `kubernetes/pkg/controller/deployment/util`); any other reason is written as `unknown`.
const KNOWN_REASONS: &[&str] = &[
    "ReplicaSetUpdated",
    "ReplicaSetCreateError",
    "NewReplicaSetCreated",
    "FoundNewReplicaSet",
    "NewReplicaSetAvailable",
    "ProgressDeadlineExceeded",
    "DeploymentPaused",
    "DeploymentResumed",
    "MinimumReplicasAvailable",
    "MinimumReplicasUnavailable",
    "",
];

/// `intstr.GetScaledValueFromIntOrPercent`: an int as is; `"N%"` of `total`, rounded up or
/// down. `None` where KSM's call errors (a string without `%`, a non-integer percentage).
pub(super) fn scaled_int_or_percent(v: &IntOrString, total: i32, round_up: bool) -> Option<f64> {
    match v {
        IntOrString::Int(i) => Some(f64::from(*i)),
        IntOrString::String(s) => {
            let percent: i64 = s.strip_suffix('%')?.parse().ok()?;
            let scaled = percent as f64 * f64::from(total) / 100.0;
            Some(if round_up { scaled.ceil() } else { scaled.floor() })
        }
    }
}

fn status(d: &Deployment) -> Option<&DeploymentStatus> {
    d.status.as_ref()
}

/// `kube_deployment_spec_strategy_rollingupdate_*`: nothing without a rolling-update strategy;
/// skipped when the field or `spec.replicas` is missing or the value is invalid (KSM panics).
fn rolling_update(
    d: &Deployment,
    field: fn(&k8s_openapi::api::apps::v1::RollingUpdateDeployment) -> Option<&IntOrString>,
    round_up: bool,
    s: &mut Samples,
) {
    let spec = &d.spec;
    let Some(ru) = spec.strategy.as_ref().and_then(|st| st.rolling_update.as_ref()) else {
        return;
    };
    let (Some(v), Some(replicas)) = (field(ru), spec.replicas) else {
        return;
    };
    if let Some(value) = scaled_int_or_percent(v, replicas, round_up) {
        s.value(value);
    }
}

fn owner(d: &Deployment, s: &mut Samples) {
    let owners = d.metadata.owner_references.as_deref().unwrap_or_default();
    if owners.is_empty() {
        s.push([("owner_kind", ""), ("owner_name", "")], 1.0);
        return;
    }
    for o in owners {
        s.push([("owner_kind", o.kind.as_str()), ("owner_name", o.name.as_str())], 1.0);
    }
}

fn conditions(d: &Deployment, s: &mut Samples) {
    let conditions = status(d).and_then(|st| st.conditions.as_deref()).unwrap_or_default();
    for c in conditions {
        let reason = c.reason.as_deref().unwrap_or("");
        let reason = if KNOWN_REASONS.contains(&reason) {
            reason
        } else {
            "unknown"
        };
        let condition = c.type_.as_deref().unwrap_or("");
        for (status, value) in condition_values(c.status.as_deref().unwrap_or("")) {
            s.push(
                [("reason", reason), ("condition", condition), ("status", status)],
                value,
            );
        }
    }
}

/// Closures in the table infer their object type from this alias.
type Def = FamilyDef<Deployment>;

fn family_defs() -> Vec<FamilyDef<Deployment>> {
    const P: &str = "kube_deployment";
    vec![
        Def::gauge(
            "kube_deployment_owner",
            Alpha,
            "Information about the Deployment's owner.",
            |d, _, s| owner(d, s),
        ),
        Def::created(P, Stable, "Unix creation timestamp"),
        Def::gauge(
            "kube_deployment_status_replicas",
            Stable,
            "The number of replicas per deployment.",
            |d, _, s| meta::status_int(status(d), |st| st.replicas, s),
        ),
        Def::gauge(
            "kube_deployment_status_replicas_ready",
            Stable,
            "The number of ready replicas per deployment.",
            |d, _, s| meta::status_int(status(d), |st| st.ready_replicas, s),
        ),
        Def::gauge(
            "kube_deployment_status_replicas_available",
            Stable,
            "The number of available replicas per deployment.",
            |d, _, s| meta::status_int(status(d), |st| st.available_replicas, s),
        ),
        Def::gauge(
            "kube_deployment_status_replicas_unavailable",
            Stable,
            "The number of unavailable replicas per deployment.",
            |d, _, s| meta::status_int(status(d), |st| st.unavailable_replicas, s),
        ),
        Def::gauge(
            "kube_deployment_status_replicas_updated",
            Stable,
            "The number of updated replicas per deployment.",
            |d, _, s| meta::status_int(status(d), |st| st.updated_replicas, s),
        ),
        // Only while the controller reports it (the field is a pointer; KSM skips nil).
        Def::gauge(
            "kube_deployment_status_terminating_replicas",
            Alpha,
            "The number of terminating replicas per deployment.",
            |d, _, s| {
                if let Some(n) = status(d).and_then(|st| st.terminating_replicas) {
                    s.value(f64::from(n));
                }
            },
        ),
        Def::gauge(
            "kube_deployment_status_observed_generation",
            Stable,
            "The generation observed by the deployment controller.",
            |d, _, s| s.value(status(d).and_then(|st| st.observed_generation).unwrap_or(0) as f64),
        ),
        Def::gauge(
            "kube_deployment_status_condition",
            Stable,
            "The current status conditions of a deployment.",
            |d, _, s| conditions(d, s),
        ),
        Def::gauge(
            "kube_deployment_spec_replicas",
            Stable,
            "Number of desired pods for a deployment.",
            |d, _, s| {
                if let Some(n) = d.spec.replicas {
                    s.value(f64::from(n));
                }
            },
        ),
        Def::gauge(
            "kube_deployment_spec_paused",
            Stable,
            "Whether the deployment is paused and will not be processed by the deployment controller.",
            |d, _, s| s.value(bool_value(d.spec.paused.unwrap_or(false))),
        ),
        Def::gauge(
            "kube_deployment_spec_strategy_rollingupdate_max_unavailable",
            Stable,
            "Maximum number of unavailable replicas during a rolling update of a deployment.",
            |d, _, s| rolling_update(d, |ru| ru.max_unavailable.as_ref(), false, s),
        ),
        Def::gauge(
            "kube_deployment_spec_strategy_rollingupdate_max_surge",
            Stable,
            "Maximum number of replicas that can be scheduled above the desired number of replicas during a rolling update of a deployment.",
            |d, _, s| rolling_update(d, |ru| ru.max_surge.as_ref(), true, s),
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
    use crate::families::{KeyFilter, RenderContext, render_text};

    /// The `web` Deployment as a v1.36 API server returns it (managedFields dropped).
    fn web() -> serde_json::Value {
        json!({
            "kind": "Deployment",
            "apiVersion": "apps/v1",
            "metadata": {
                "name": "web",
                "namespace": "shop",
                "uid": "3ff66e27-bc87-40b3-ad84-bbcb409a244b",
                "resourceVersion": "252",
                "generation": 4,
                "creationTimestamp": "2026-11-24T05:09:01Z",
                "labels": {"app.kubernetes.io/name": "shop", "fooBar": "camel"},
                "annotations": {"deployment.kubernetes.io/revision": "4", "example.com/team": "payments"}
            },
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27.3"}]}
                },
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
                "revisionHistoryLimit": 10,
                "progressDeadlineSeconds": 600
            },
            "status": {
                "observedGeneration": 3,
                "replicas": 3,
                "updatedReplicas": 2,
                "readyReplicas": 3,
                "availableReplicas": 3,
                "terminatingReplicas": 1,
                "conditions": [
                    {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                     "lastUpdateTime": "2026-11-23T09:15:00Z", "lastTransitionTime": "2026-11-23T09:15:00Z"},
                    {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
                     "lastUpdateTime": "2026-11-23T09:15:30Z", "lastTransitionTime": "2026-11-20T08:00:00Z"}
                ]
            }
        })
    }

    fn deploy(v: serde_json::Value) -> Deployment {
        serde_json::from_value(v).expect("valid Deployment")
    }

    fn render(d: &Deployment, family: &str) -> String {
        render_text(d, &RenderContext::default(), family)
    }

    #[test]
    fn replica_counts_and_generations() {
        let d = deploy(web());
        assert_eq!(
            render(&d, "kube_deployment_status_replicas"),
            "kube_deployment_status_replicas{namespace=\"shop\",deployment=\"web\"} 3\n"
        );
        assert_eq!(
            render(&d, "kube_deployment_status_replicas_updated"),
            "kube_deployment_status_replicas_updated{namespace=\"shop\",deployment=\"web\"} 2\n"
        );
        assert_eq!(
            render(&d, "kube_deployment_status_terminating_replicas"),
            "kube_deployment_status_terminating_replicas{namespace=\"shop\",deployment=\"web\"} 1\n"
        );
        assert_eq!(
            render(&d, "kube_deployment_status_observed_generation"),
            "kube_deployment_status_observed_generation{namespace=\"shop\",deployment=\"web\"} 3\n"
        );
        assert_eq!(
            render(&d, "kube_deployment_metadata_generation"),
            "kube_deployment_metadata_generation{namespace=\"shop\",deployment=\"web\"} 4\n"
        );
        assert_eq!(
            render(&d, "kube_deployment_spec_replicas"),
            "kube_deployment_spec_replicas{namespace=\"shop\",deployment=\"web\"} 3\n"
        );
        assert_eq!(
            render(&d, "kube_deployment_spec_paused"),
            "kube_deployment_spec_paused{namespace=\"shop\",deployment=\"web\"} 0\n"
        );
        assert_eq!(
            render(&d, "kube_deployment_created"),
            "kube_deployment_created{namespace=\"shop\",deployment=\"web\"} 1.795496941e+09\n"
        );
        assert_eq!(render(&d, "kube_deployment_deletion_timestamp"), "");
    }

    #[test]
    fn rollout_in_progress_counts() {
        // Mid-rollout of 4 replicas: one new pod not ready yet, one old pod terminating.
        let mut v = web();
        v["spec"]["replicas"] = json!(4);
        v["status"] = json!({
            "observedGeneration": 4, "replicas": 5, "updatedReplicas": 2, "readyReplicas": 3,
            "availableReplicas": 3, "unavailableReplicas": 2, "terminatingReplicas": 0
        });
        let d = deploy(v);
        for (family, value) in [
            ("kube_deployment_status_replicas", "5"),
            ("kube_deployment_status_replicas_ready", "3"),
            ("kube_deployment_status_replicas_available", "3"),
            ("kube_deployment_status_replicas_unavailable", "2"),
            ("kube_deployment_status_replicas_updated", "2"),
            ("kube_deployment_status_terminating_replicas", "0"),
            ("kube_deployment_status_observed_generation", "4"),
            ("kube_deployment_spec_replicas", "4"),
        ] {
            assert_eq!(
                render(&d, family),
                format!("{family}{{namespace=\"shop\",deployment=\"web\"}} {value}\n"),
                "{family}"
            );
        }
    }

    #[test]
    fn no_status_no_replicas_no_generation() {
        let mut v = web();
        let obj = v.as_object_mut().expect("object");
        obj.remove("status");
        obj["spec"].as_object_mut().expect("spec").remove("replicas");
        obj["metadata"].as_object_mut().expect("metadata").remove("generation");
        let d = deploy(v);
        for family in [
            "kube_deployment_status_replicas",
            "kube_deployment_status_replicas_ready",
            "kube_deployment_status_replicas_available",
            "kube_deployment_status_replicas_unavailable",
            "kube_deployment_status_replicas_updated",
            "kube_deployment_status_observed_generation",
            "kube_deployment_metadata_generation",
        ] {
            assert_eq!(
                render(&d, family),
                format!("{family}{{namespace=\"shop\",deployment=\"web\"}} 0\n"),
                "{family}"
            );
        }
        // Without spec.replicas KSM would dereference nil; we skip the samples instead.
        assert_eq!(render(&d, "kube_deployment_spec_replicas"), "");
        assert_eq!(render(&d, "kube_deployment_spec_strategy_rollingupdate_max_surge"), "");
        assert_eq!(render(&d, "kube_deployment_status_terminating_replicas"), "");
        assert_eq!(render(&d, "kube_deployment_status_condition"), "");
    }

    #[test]
    fn absent_status_counts_are_zero_and_terminating_is_skipped() {
        let mut v = web();
        v["status"] = json!({});
        let d = deploy(v);
        assert_eq!(
            render(&d, "kube_deployment_status_replicas_available"),
            "kube_deployment_status_replicas_available{namespace=\"shop\",deployment=\"web\"} 0\n"
        );
        assert_eq!(
            render(&d, "kube_deployment_status_replicas_unavailable"),
            "kube_deployment_status_replicas_unavailable{namespace=\"shop\",deployment=\"web\"} 0\n"
        );
        assert_eq!(render(&d, "kube_deployment_status_terminating_replicas"), "");
        assert_eq!(render(&d, "kube_deployment_status_condition"), "");
    }

    #[test]
    fn conditions_carry_known_reasons_and_map_others_to_unknown() {
        let mut v = web();
        v["status"]["conditions"] = json!([
            {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable"},
            {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate"},
            {"type": "Progressing", "status": "Unknown"}
        ]);
        let d = deploy(v);
        let base = "namespace=\"shop\",deployment=\"web\"";
        let expected = [
            ("MinimumReplicasUnavailable", "Available", [0, 1, 0]),
            ("unknown", "ReplicaFailure", [1, 0, 0]),
            ("", "Progressing", [0, 0, 1]),
        ]
        .iter()
        .flat_map(|(reason, cond, vals)| {
            ["true", "false", "unknown"].iter().zip(vals).map(move |(st, v)| {
                format!(
                    "kube_deployment_status_condition{{{base},reason=\"{reason}\",condition=\"{cond}\",status=\"{st}\"}} {v}\n"
                )
            })
        })
        .collect::<String>();
        assert_eq!(render(&d, "kube_deployment_status_condition"), expected);
    }

    #[test]
    fn rolling_update_percentages_round_like_ksm() {
        // 25% of 3: max_unavailable floors to 0, max_surge ceils to 1.
        let d = deploy(web());
        assert_eq!(
            render(&d, "kube_deployment_spec_strategy_rollingupdate_max_unavailable"),
            "kube_deployment_spec_strategy_rollingupdate_max_unavailable{namespace=\"shop\",deployment=\"web\"} 0\n"
        );
        assert_eq!(
            render(&d, "kube_deployment_spec_strategy_rollingupdate_max_surge"),
            "kube_deployment_spec_strategy_rollingupdate_max_surge{namespace=\"shop\",deployment=\"web\"} 1\n"
        );
        // KSM's own test case: 25% / 20% of 5 → 1 / 1; ints pass through.
        let mut v = web();
        v["spec"]["replicas"] = json!(5);
        v["spec"]["strategy"]["rollingUpdate"] = json!({"maxUnavailable": "25%", "maxSurge": "20%"});
        let d = deploy(v);
        assert!(render(&d, "kube_deployment_spec_strategy_rollingupdate_max_unavailable").ends_with("} 1\n"));
        assert!(render(&d, "kube_deployment_spec_strategy_rollingupdate_max_surge").ends_with("} 1\n"));
        let mut v = web();
        v["spec"]["replicas"] = json!(200);
        v["spec"]["strategy"]["rollingUpdate"] = json!({"maxUnavailable": 10, "maxSurge": "33%"});
        let d = deploy(v);
        assert!(render(&d, "kube_deployment_spec_strategy_rollingupdate_max_unavailable").ends_with("} 10\n"));
        assert!(render(&d, "kube_deployment_spec_strategy_rollingupdate_max_surge").ends_with("} 66\n"));
    }

    #[test]
    fn rolling_update_skips_recreate_and_invalid_values() {
        let mut v = web();
        v["spec"]["strategy"] = json!({"type": "Recreate"});
        let d = deploy(v);
        assert_eq!(
            render(&d, "kube_deployment_spec_strategy_rollingupdate_max_unavailable"),
            ""
        );
        assert_eq!(render(&d, "kube_deployment_spec_strategy_rollingupdate_max_surge"), "");
        let mut v = web();
        v["spec"]["strategy"]["rollingUpdate"] = json!({"maxUnavailable": "two", "maxSurge": "1.5%"});
        let d = deploy(v);
        assert_eq!(
            render(&d, "kube_deployment_spec_strategy_rollingupdate_max_unavailable"),
            ""
        );
        assert_eq!(render(&d, "kube_deployment_spec_strategy_rollingupdate_max_surge"), "");
    }

    #[test]
    fn scaled_values_match_intstr() {
        let pct = |s: &str| IntOrString::String(s.to_string());
        assert_eq!(scaled_int_or_percent(&pct("25%"), 10, false), Some(2.0));
        assert_eq!(scaled_int_or_percent(&pct("25%"), 10, true), Some(3.0));
        assert_eq!(scaled_int_or_percent(&pct("0%"), 10, true), Some(0.0));
        assert_eq!(scaled_int_or_percent(&pct("100%"), 7, false), Some(7.0));
        assert_eq!(scaled_int_or_percent(&IntOrString::Int(4), 100, true), Some(4.0));
        assert_eq!(scaled_int_or_percent(&pct("25"), 10, true), None);
    }

    #[test]
    fn owner_is_empty_without_references() {
        let d = deploy(web());
        assert_eq!(
            render(&d, "kube_deployment_owner"),
            "kube_deployment_owner{namespace=\"shop\",deployment=\"web\",owner_kind=\"\",owner_name=\"\"} 1\n"
        );
        let mut v = web();
        v["metadata"]["ownerReferences"] = json!([{
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "web-rollout",
            "uid": "0c0ffee0-0000-4000-8000-000000000001", "controller": true, "blockOwnerDeletion": true
        }]);
        let d = deploy(v);
        assert_eq!(
            render(&d, "kube_deployment_owner"),
            "kube_deployment_owner{namespace=\"shop\",deployment=\"web\",owner_kind=\"Rollout\",owner_name=\"web-rollout\"} 1\n"
        );
    }

    #[test]
    fn paused_and_deleting() {
        let mut v = web();
        v["spec"]["paused"] = json!(true);
        v["metadata"]["deletionTimestamp"] = json!("2026-11-24T06:00:00Z");
        let d = deploy(v);
        assert_eq!(
            render(&d, "kube_deployment_spec_paused"),
            "kube_deployment_spec_paused{namespace=\"shop\",deployment=\"web\"} 1\n"
        );
        assert_eq!(
            render(&d, "kube_deployment_deletion_timestamp"),
            "kube_deployment_deletion_timestamp{namespace=\"shop\",deployment=\"web\"} 1.7955e+09\n"
        );
    }

    #[test]
    fn labels_and_annotations_follow_the_allowlist() {
        let d = deploy(web());
        assert_eq!(render(&d, "kube_deployment_labels"), "");
        assert_eq!(render(&d, "kube_deployment_annotations"), "");
        let ctx = RenderContext {
            labels: KeyFilter::All,
            annotations: crate::families::allowlist::Allowlist::parse("deployments=[example.com/team]")
                .expect("valid allowlist")
                .for_resource("deployments"),
        };
        assert_eq!(
            render_text(&d, &ctx, "kube_deployment_labels"),
            "kube_deployment_labels{namespace=\"shop\",deployment=\"web\",label_app_kubernetes_io_name=\"shop\",label_foo_bar=\"camel\"} 1\n"
        );
        assert_eq!(
            render_text(&d, &ctx, "kube_deployment_annotations"),
            "kube_deployment_annotations{namespace=\"shop\",deployment=\"web\",annotation_example_com_team=\"payments\"} 1\n"
        );
    }

    #[test]
    fn fixture_reaches_unknown_owners_reasons_and_label_families() {
        let list: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/fixtures/objects/deployments.json")).expect("fixture JSON");
        let items: Vec<Deployment> = serde_json::from_value(list["items"].clone()).expect("fixture items");
        let ctx = RenderContext::allow_all();
        let all: String = items
            .iter()
            .flat_map(|d| {
                family_defs()
                    .iter()
                    .map(|f| render_text(d, &ctx, &f.name))
                    .collect::<Vec<_>>()
            })
            .collect();
        for label in ["owner_kind=\"Rollout\"", "reason=\"unknown\"", "label_", "annotation_"] {
            assert!(all.contains(label), "fixture output lacks {label}");
        }
    }
}
