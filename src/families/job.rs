//! `jobs`: KSM's `internal/store/job.go`. Base labels `namespace,job_name`.

use k8s_openapi::api::batch::v1::{Job, JobCondition, JobStatus};

use super::{FamilyDef, ObjectFamilies, Samples, Stability::*, bool_value, condition_values, meta};

impl ObjectFamilies for Job {
    const BASE_LABELS: &'static [&'static str] = &["namespace", "job_name"];

    fn base_label_values(&self) -> Vec<&str> {
        super::meta::namespace_and_name(&self.metadata)
    }

    fn families() -> Vec<FamilyDef<Self>> {
        family_defs()
    }
}

/// KSM's `jobFailureReasons`: the `Failed` condition reasons `kube_job_status_failed` knows.
const FAILURE_REASONS: [&str; 3] = ["BackoffLimitExceeded", "DeadlineExceeded", "Evicted"];

fn status(j: &Job) -> Option<&JobStatus> {
    j.status.as_ref()
}

fn conditions(j: &Job) -> &[JobCondition] {
    status(j).and_then(|st| st.conditions.as_deref()).unwrap_or_default()
}

/// `kube_job_status_failed`: with no failed pod, one unlabelled `0`. Otherwise, per `Failed`
/// condition, one 0/1 sample per known reason; when no condition carries a known reason, one
/// `reason=""` sample holding the failed-pod count.
fn status_failed(j: &Job, s: &mut Samples) {
    let failed = status(j).and_then(|st| st.failed).unwrap_or(0);
    if failed == 0 {
        s.value(0.0);
        return;
    }
    let mut known = false;
    for c in conditions(j).iter().filter(|c| c.type_ == "Failed") {
        let reason = c.reason.as_deref().unwrap_or("");
        for r in FAILURE_REASONS {
            known |= reason == r;
            s.push([("reason", r)], bool_value(reason == r));
        }
    }
    if !known {
        s.push([("reason", "")], f64::from(failed));
    }
}

/// `kube_job_complete` / `kube_job_failed`: the true/false/unknown set for each condition of
/// that type, under the label `condition`.
fn condition_set(j: &Job, type_: &str, s: &mut Samples) {
    for c in conditions(j).iter().filter(|c| c.type_ == type_) {
        for (status, value) in condition_values(&c.status) {
            s.push([("condition", status)], value);
        }
    }
}

fn optional_spec(j: &Job, field: fn(&k8s_openapi::api::batch::v1::JobSpec) -> Option<f64>, s: &mut Samples) {
    if let Some(v) = j.spec.as_ref().and_then(field) {
        s.value(v);
    }
}

/// Closures in the table infer their object type from this alias.
type Def = FamilyDef<Job>;

fn family_defs() -> Vec<FamilyDef<Job>> {
    const P: &str = "kube_job";
    vec![
        Def::annotations(P, Alpha),
        Def::labels(P, Stable),
        Def::gauge("kube_job_info", Stable, "Information about job.", |_, _, s| {
            s.value(1.0)
        }),
        Def::created(P, Stable, "Unix creation timestamp"),
        Def::gauge(
            "kube_job_spec_parallelism",
            Stable,
            "The maximum desired number of pods the job should run at any given time.",
            |j, _, s| optional_spec(j, |sp| sp.parallelism.map(f64::from), s),
        ),
        Def::gauge(
            "kube_job_spec_completions",
            Stable,
            "The desired number of successfully finished pods the job should be run with.",
            |j, _, s| optional_spec(j, |sp| sp.completions.map(f64::from), s),
        ),
        Def::gauge(
            "kube_job_spec_active_deadline_seconds",
            Stable,
            "The duration in seconds relative to the startTime that the job may be active before the system tries to terminate it.",
            |j, _, s| optional_spec(j, |sp| sp.active_deadline_seconds.map(|v| v as f64), s),
        ),
        Def::gauge(
            "kube_job_status_succeeded",
            Stable,
            "The number of pods which reached Phase Succeeded.",
            |j, _, s| meta::status_int(status(j), |st| st.succeeded, s),
        ),
        Def::gauge(
            "kube_job_status_failed",
            Stable,
            "The number of pods which reached Phase Failed and the reason for failure.",
            |j, _, s| status_failed(j, s),
        ),
        Def::gauge(
            "kube_job_status_active",
            Stable,
            "The number of actively running pods.",
            |j, _, s| meta::status_int(status(j), |st| st.active, s),
        ),
        Def::gauge(
            "kube_job_status_ready",
            Alpha,
            "The number of ready pods that belong to this Job.",
            |j, _, s| meta::status_int(status(j), |st| st.ready, s),
        ),
        Def::gauge(
            "kube_job_complete",
            Stable,
            "The job has completed its execution.",
            |j, _, s| condition_set(j, "Complete", s),
        ),
        Def::gauge(
            "kube_job_failed",
            Stable,
            "The job has failed its execution.",
            |j, _, s| condition_set(j, "Failed", s),
        ),
        Def::gauge(
            "kube_job_status_start_time",
            Stable,
            "StartTime represents time when the job was acknowledged by the Job Manager.",
            |j, _, s| {
                if let Some(t) = status(j).and_then(|st| st.start_time.as_ref()) {
                    s.value(meta::unix_seconds(t));
                }
            },
        ),
        Def::gauge(
            "kube_job_status_completion_time",
            Stable,
            "CompletionTime represents time when the job was completed.",
            |j, _, s| {
                if let Some(t) = status(j).and_then(|st| st.completion_time.as_ref()) {
                    s.value(meta::unix_seconds(t));
                }
            },
        ),
        // One 0/1 sample per `Suspended` condition (not `spec.suspend`), as KSM does.
        Def::gauge(
            "kube_job_status_suspended",
            Alpha,
            "The number of pods which reached Phase Suspended.",
            |j, _, s| {
                for c in conditions(j).iter().filter(|c| c.type_ == "Suspended") {
                    s.value(bool_value(c.status == "True"));
                }
            },
        ),
        Def::owner(P, Stable, "Information about the Job's owner."),
    ]
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::families::{RenderContext, render_text};

    /// The completed `nightly-backup-29391450` Job as a v1.36 API server returns it
    /// (managedFields dropped).
    fn completed() -> serde_json::Value {
        json!({
            "kind": "Job",
            "apiVersion": "batch/v1",
            "metadata": {
                "name": "nightly-backup-29391450",
                "namespace": "batch",
                "uid": "11a08505-ba45-413a-8a20-90a1ce833013",
                "resourceVersion": "290",
                "generation": 1,
                "creationTimestamp": "2026-11-24T05:09:02Z",
                "labels": {"app": "backup"},
                "annotations": {"batch.kubernetes.io/cronjob-scheduled-timestamp": "2026-11-23T02:30:00+01:00"},
                "ownerReferences": [{
                    "apiVersion": "batch/v1", "kind": "CronJob", "name": "nightly-backup",
                    "uid": "5c4123a3-c7cd-403b-a22f-b2cfd82583d4", "controller": true, "blockOwnerDeletion": true
                }]
            },
            "spec": {
                "parallelism": 1,
                "completions": 1,
                "backoffLimit": 2,
                "manualSelector": false,
                "template": {
                    "metadata": {"labels": {"app": "backup"}},
                    "spec": {"containers": [{"name": "main", "image": "busybox:1.37"}], "restartPolicy": "OnFailure"}
                },
                "completionMode": "NonIndexed",
                "suspend": false,
                "podReplacementPolicy": "TerminatingOrFailed"
            },
            "status": {
                "conditions": [
                    {"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached",
                     "lastProbeTime": "2026-11-23T01:42:17Z", "lastTransitionTime": "2026-11-23T01:42:17Z"},
                    {"type": "Complete", "status": "True", "reason": "CompletionsReached",
                     "lastProbeTime": "2026-11-23T01:42:17Z", "lastTransitionTime": "2026-11-23T01:42:17Z"}
                ],
                "startTime": "2026-11-23T01:30:01Z",
                "completionTime": "2026-11-23T01:42:17Z",
                "succeeded": 1,
                "ready": 0,
                "terminating": 0
            }
        })
    }

    fn job(v: serde_json::Value) -> Job {
        serde_json::from_value(v).expect("valid Job")
    }

    const BASE: &str = "namespace=\"batch\",job_name=\"nightly-backup-29391450\"";

    fn render(j: &Job, family: &str) -> String {
        render_text(j, &RenderContext::default(), family)
    }

    #[test]
    fn completed_job() {
        let j = job(completed());
        for (family, value) in [
            ("kube_job_info", "1"),
            ("kube_job_spec_parallelism", "1"),
            ("kube_job_spec_completions", "1"),
            ("kube_job_status_succeeded", "1"),
            ("kube_job_status_active", "0"),
            ("kube_job_status_ready", "0"),
            ("kube_job_status_failed", "0"),
            ("kube_job_status_start_time", "1.795397401e+09"),
            ("kube_job_status_completion_time", "1.795398137e+09"),
            ("kube_job_created", "1.795496942e+09"),
        ] {
            assert_eq!(render(&j, family), format!("{family}{{{BASE}}} {value}\n"), "{family}");
        }
        assert_eq!(render(&j, "kube_job_spec_active_deadline_seconds"), "");
        assert_eq!(render(&j, "kube_job_failed"), "");
        assert_eq!(render(&j, "kube_job_status_suspended"), "");
        assert_eq!(
            render(&j, "kube_job_complete"),
            format!(
                "kube_job_complete{{{BASE},condition=\"true\"}} 1\n\
                 kube_job_complete{{{BASE},condition=\"false\"}} 0\n\
                 kube_job_complete{{{BASE},condition=\"unknown\"}} 0\n"
            )
        );
        assert_eq!(
            render(&j, "kube_job_owner"),
            format!(
                "kube_job_owner{{{BASE},owner_kind=\"CronJob\",owner_name=\"nightly-backup\",owner_is_controller=\"true\"}} 1\n"
            )
        );
    }

    #[test]
    fn failed_with_backoff_limit_exceeded() {
        let mut v = completed();
        v["status"] = json!({
            "conditions": [
                {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded"},
                {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                 "message": "Job has reached the specified backoff limit"}
            ],
            "startTime": "2026-11-23T01:30:01Z",
            "failed": 3
        });
        let j = job(v);
        assert_eq!(
            render(&j, "kube_job_status_failed"),
            format!(
                "kube_job_status_failed{{{BASE},reason=\"BackoffLimitExceeded\"}} 1\n\
                 kube_job_status_failed{{{BASE},reason=\"DeadlineExceeded\"}} 0\n\
                 kube_job_status_failed{{{BASE},reason=\"Evicted\"}} 0\n"
            )
        );
        assert_eq!(
            render(&j, "kube_job_failed"),
            format!(
                "kube_job_failed{{{BASE},condition=\"true\"}} 1\n\
                 kube_job_failed{{{BASE},condition=\"false\"}} 0\n\
                 kube_job_failed{{{BASE},condition=\"unknown\"}} 0\n"
            )
        );
        assert_eq!(render(&j, "kube_job_complete"), "");
    }

    #[test]
    fn failed_with_an_unknown_reason_or_no_condition() {
        // A reason outside KSM's list: the three known reasons at 0 plus reason="" = count.
        let mut v = completed();
        v["status"] = json!({
            "conditions": [{"type": "Failed", "status": "True", "reason": "PodFailurePolicy"}],
            "failed": 2
        });
        let j = job(v);
        assert_eq!(
            render(&j, "kube_job_status_failed"),
            format!(
                "kube_job_status_failed{{{BASE},reason=\"BackoffLimitExceeded\"}} 0\n\
                 kube_job_status_failed{{{BASE},reason=\"DeadlineExceeded\"}} 0\n\
                 kube_job_status_failed{{{BASE},reason=\"Evicted\"}} 0\n\
                 kube_job_status_failed{{{BASE},reason=\"\"}} 2\n"
            )
        );
        // Failed pods but no Failed condition yet (still retrying).
        let mut v = completed();
        v["status"] = json!({"active": 1, "failed": 1});
        let j = job(v);
        assert_eq!(
            render(&j, "kube_job_status_failed"),
            format!("kube_job_status_failed{{{BASE},reason=\"\"}} 1\n")
        );
        assert_eq!(
            render(&j, "kube_job_status_active"),
            format!("kube_job_status_active{{{BASE}}} 1\n")
        );
    }

    #[test]
    fn new_job_without_status_or_optional_spec() {
        // Just created: no status yet; parallelism and completions left unset.
        let mut v = completed();
        let obj = v.as_object_mut().expect("object");
        obj.remove("status");
        let spec = obj["spec"].as_object_mut().expect("spec");
        spec.remove("parallelism");
        spec.remove("completions");
        let j = job(v);
        for family in [
            "kube_job_status_succeeded",
            "kube_job_status_failed",
            "kube_job_status_active",
            "kube_job_status_ready",
        ] {
            assert_eq!(render(&j, family), format!("{family}{{{BASE}}} 0\n"), "{family}");
        }
        for family in [
            "kube_job_spec_parallelism",
            "kube_job_spec_completions",
            "kube_job_spec_active_deadline_seconds",
            "kube_job_complete",
            "kube_job_failed",
            "kube_job_status_start_time",
            "kube_job_status_completion_time",
            "kube_job_status_suspended",
        ] {
            assert_eq!(render(&j, family), "", "{family}");
        }
        // Zero is a value, not an absence: a job scaled to no parallel pods.
        let mut v = completed();
        v["spec"]["parallelism"] = json!(0);
        assert_eq!(
            render(&job(v), "kube_job_spec_parallelism"),
            format!("kube_job_spec_parallelism{{{BASE}}} 0\n")
        );
    }

    #[test]
    fn suspended_job() {
        let mut v = completed();
        v["spec"]["suspend"] = json!(true);
        v["spec"]["activeDeadlineSeconds"] = json!(900);
        v["status"] = json!({
            "conditions": [{"type": "Suspended", "status": "True", "reason": "JobSuspended", "message": "Job suspended"}]
        });
        let j = job(v);
        assert_eq!(
            render(&j, "kube_job_status_suspended"),
            format!("kube_job_status_suspended{{{BASE}}} 1\n")
        );
        assert_eq!(
            render(&j, "kube_job_spec_active_deadline_seconds"),
            format!("kube_job_spec_active_deadline_seconds{{{BASE}}} 900\n")
        );
        assert_eq!(render(&j, "kube_job_status_start_time"), "");
        // Resumed: the condition flips to False and the sample to 0.
        let mut v = completed();
        v["status"]["conditions"] = json!([{"type": "Suspended", "status": "False", "reason": "JobResumed"}]);
        assert_eq!(
            render(&job(v), "kube_job_status_suspended"),
            format!("kube_job_status_suspended{{{BASE}}} 0\n")
        );
    }

    #[test]
    fn owner_without_references_and_non_controller_owner() {
        let mut v = completed();
        v["metadata"]
            .as_object_mut()
            .expect("metadata object")
            .remove("ownerReferences");
        assert_eq!(
            render(&job(v), "kube_job_owner"),
            format!("kube_job_owner{{{BASE},owner_kind=\"\",owner_name=\"\",owner_is_controller=\"\"}} 1\n")
        );
        let mut v = completed();
        v["metadata"]["ownerReferences"] = json!([{
            "apiVersion": "example.com/v1", "kind": "Workflow", "name": "wf-1", "uid": "0c0ffee0-0000-4000-8000-000000000002"
        }]);
        assert_eq!(
            render(&job(v), "kube_job_owner"),
            format!(
                "kube_job_owner{{{BASE},owner_kind=\"Workflow\",owner_name=\"wf-1\",owner_is_controller=\"false\"}} 1\n"
            )
        );
    }

    #[test]
    fn labels_and_annotations_follow_the_allowlist() {
        let j = job(completed());
        assert_eq!(render(&j, "kube_job_labels"), "");
        let ctx = RenderContext::allow_all();
        assert_eq!(
            render_text(&j, &ctx, "kube_job_labels"),
            format!("kube_job_labels{{{BASE},label_app=\"backup\"}} 1\n")
        );
        assert_eq!(
            render_text(&j, &ctx, "kube_job_annotations"),
            format!(
                "kube_job_annotations{{{BASE},annotation_batch_kubernetes_io_cronjob_scheduled_timestamp=\"2026-11-23T02:30:00+01:00\"}} 1\n"
            )
        );
    }

    #[test]
    fn fixture_has_a_backoff_limit_exceeded_job() {
        let list: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/fixtures/objects/jobs.json")).expect("fixture JSON");
        let items: Vec<Job> = serde_json::from_value(list["items"].clone()).expect("fixture items");
        let ctx = RenderContext::allow_all();
        let failed: String = items
            .iter()
            .map(|j| render_text(j, &ctx, "kube_job_status_failed"))
            .collect();
        assert!(
            failed.contains("reason=\"BackoffLimitExceeded\"} 1"),
            "fixture lacks a BackoffLimitExceeded job"
        );
    }
}
