//! `jobs`: KSM's `internal/store/job.go`. Base labels `namespace,job_name`.

use k8s_openapi::api::batch::v1::Job;

use super::{FamilyDef, ObjectFamilies, Stability::*, meta};

impl ObjectFamilies for Job {
    const RESOURCE: &'static str = "jobs";
    const KIND: &'static str = "Job";
    const BASE_LABELS: &'static [&'static str] = &["namespace", "job_name"];

    fn base_label_values(&self) -> Vec<&str> {
        vec![self.metadata.namespace.as_deref().unwrap_or(""), self.metadata.name.as_deref().unwrap_or("")]
    }

    fn families() -> &'static [FamilyDef<Self>] {
        FAMILIES
    }
}

static FAMILIES: &[FamilyDef<Job>] = &[
    FamilyDef::gauge("kube_job_created", Stable, "Unix creation timestamp", |j, _, s| meta::created(&j.metadata, s)),
];
