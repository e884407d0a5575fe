//! `pods`: KSM's `internal/store/pod.go`. Base labels `namespace,pod,uid`.

use k8s_openapi::api::core::v1::Pod;

use super::{FamilyDef, ObjectFamilies, Stability::*, meta};

impl ObjectFamilies for Pod {
    const RESOURCE: &'static str = "pods";
    const KIND: &'static str = "Pod";
    const BASE_LABELS: &'static [&'static str] = &["namespace", "pod", "uid"];

    fn base_label_values(&self) -> Vec<&str> {
        vec![
            self.metadata.namespace.as_deref().unwrap_or(""),
            self.metadata.name.as_deref().unwrap_or(""),
            self.metadata.uid.as_deref().unwrap_or(""),
        ]
    }

    fn families() -> &'static [FamilyDef<Self>] {
        FAMILIES
    }
}

static FAMILIES: &[FamilyDef<Pod>] = &[
    FamilyDef::gauge("kube_pod_created", Stable, "Unix creation timestamp", |p, _, s| meta::created(&p.metadata, s)),
];
