//! `horizontalpodautoscalers`: KSM's `internal/store/horizontalpodautoscaler.go` (autoscaling/v2).
//! Base labels `namespace,horizontalpodautoscaler`.

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;

use super::{FamilyDef, ObjectFamilies, Stability::*, meta};

impl ObjectFamilies for HorizontalPodAutoscaler {
    const RESOURCE: &'static str = "horizontalpodautoscalers";
    const KIND: &'static str = "HorizontalPodAutoscaler";
    const BASE_LABELS: &'static [&'static str] = &["namespace", "horizontalpodautoscaler"];

    fn base_label_values(&self) -> Vec<&str> {
        vec![self.metadata.namespace.as_deref().unwrap_or(""), self.metadata.name.as_deref().unwrap_or("")]
    }

    fn families() -> &'static [FamilyDef<Self>] {
        FAMILIES
    }
}

static FAMILIES: &[FamilyDef<HorizontalPodAutoscaler>] = &[
    FamilyDef::gauge("kube_horizontalpodautoscaler_created", Alpha, "Unix creation timestamp", |h, _, s| {
        meta::created(&h.metadata, s)
    }),
];
