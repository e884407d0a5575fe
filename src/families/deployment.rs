//! `deployments`: KSM's `internal/store/deployment.go`. Base labels `namespace,deployment`.

use k8s_openapi::api::apps::v1::Deployment;

use super::{FamilyDef, ObjectFamilies, Stability::*, meta};

impl ObjectFamilies for Deployment {
    const RESOURCE: &'static str = "deployments";
    const KIND: &'static str = "Deployment";
    const BASE_LABELS: &'static [&'static str] = &["namespace", "deployment"];

    fn base_label_values(&self) -> Vec<&str> {
        vec![self.metadata.namespace.as_deref().unwrap_or(""), self.metadata.name.as_deref().unwrap_or("")]
    }

    fn families() -> &'static [FamilyDef<Self>] {
        FAMILIES
    }
}

static FAMILIES: &[FamilyDef<Deployment>] = &[
    FamilyDef::gauge("kube_deployment_created", Stable, "Unix creation timestamp", |d, _, s| {
        meta::created(&d.metadata, s)
    }),
];
