//! `daemonsets`: KSM's `internal/store/daemonset.go`. Base labels `namespace,daemonset`.

use k8s_openapi::api::apps::v1::DaemonSet;

use super::{FamilyDef, ObjectFamilies, Stability::*, meta};

impl ObjectFamilies for DaemonSet {
    const RESOURCE: &'static str = "daemonsets";
    const KIND: &'static str = "DaemonSet";
    const BASE_LABELS: &'static [&'static str] = &["namespace", "daemonset"];

    fn base_label_values(&self) -> Vec<&str> {
        vec![self.metadata.namespace.as_deref().unwrap_or(""), self.metadata.name.as_deref().unwrap_or("")]
    }

    fn families() -> &'static [FamilyDef<Self>] {
        FAMILIES
    }
}

static FAMILIES: &[FamilyDef<DaemonSet>] = &[
    FamilyDef::gauge("kube_daemonset_created", Stable, "Unix creation timestamp", |d, _, s| {
        meta::created(&d.metadata, s)
    }),
];
