//! `persistentvolumeclaims`: KSM's `internal/store/persistentvolumeclaim.go`. Base labels
//! `namespace,persistentvolumeclaim`.

use k8s_openapi::api::core::v1::PersistentVolumeClaim;

use super::quantity::Quantity;
use super::{FamilyDef, ObjectFamilies, Samples, Stability::*, bool_value, condition_values};

impl ObjectFamilies for PersistentVolumeClaim {
    const BASE_LABELS: &'static [&'static str] = &["namespace", "persistentvolumeclaim"];

    fn base_label_values(&self) -> Vec<&str> {
        super::meta::namespace_and_name(&self.metadata)
    }

    fn families() -> Vec<FamilyDef<Self>> {
        family_defs()
    }
}

/// The phases KSM enumerates, in its order.
const PHASES: [&str; 3] = ["Lost", "Bound", "Pending"];

/// The pre-`storageClassName` annotation, which still wins over the field when present.
const BETA_STORAGE_CLASS_ANNOTATION: &str = "volume.beta.kubernetes.io/storage-class";

/// KSM's `getPersistentVolumeClaimClass`: the beta annotation, else `spec.storageClassName`,
/// else `<none>` (an empty class name is a deliberate "no class" and stays empty).
fn storage_class(pvc: &PersistentVolumeClaim) -> &str {
    if let Some(class) = pvc
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(BETA_STORAGE_CLASS_ANNOTATION))
    {
        return class;
    }
    pvc.spec
        .as_ref()
        .and_then(|spec| spec.storage_class_name.as_deref())
        .unwrap_or("<none>")
}

fn info(pvc: &PersistentVolumeClaim, s: &mut Samples) {
    let spec = pvc.spec.as_ref();
    s.push(
        [
            ("storageclass", storage_class(pvc)),
            (
                "volumename",
                spec.and_then(|sp| sp.volume_name.as_deref()).unwrap_or(""),
            ),
            (
                "volumemode",
                spec.and_then(|sp| sp.volume_mode.as_deref()).unwrap_or(""),
            ),
        ],
        1.0,
    );
}

/// Only when `storage` is requested; an unparseable quantity (never served by the API server)
/// is skipped.
fn requested_storage(pvc: &PersistentVolumeClaim, s: &mut Samples) {
    let requested = pvc
        .spec
        .as_ref()
        .and_then(|spec| spec.resources.as_ref())
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("storage"));
    if let Some(q) = requested.and_then(|q| Quantity::parse(&q.0)) {
        s.value(q.value() as f64);
    }
}

/// Closures in the table infer their object type from this alias.
type Def = FamilyDef<PersistentVolumeClaim>;

fn family_defs() -> Vec<FamilyDef<PersistentVolumeClaim>> {
    const P: &str = "kube_persistentvolumeclaim";
    vec![
        Def::labels(P, Stable),
        Def::annotations(P, Alpha),
        Def::gauge(
            "kube_persistentvolumeclaim_info",
            Stable,
            "Information about persistent volume claim.",
            |pvc, _, s| info(pvc, s),
        ),
        Def::gauge(
            "kube_persistentvolumeclaim_status_phase",
            Stable,
            "The phase the persistent volume claim is currently in.",
            |pvc, _, s| {
                let phase = pvc.status.as_ref().and_then(|st| st.phase.as_deref()).unwrap_or("");
                if phase.is_empty() {
                    return;
                }
                for p in PHASES {
                    s.push([("phase", p)], bool_value(phase == p));
                }
            },
        ),
        Def::gauge(
            "kube_persistentvolumeclaim_resource_requests_storage_bytes",
            Stable,
            "The capacity of storage requested by the persistent volume claim.",
            |pvc, _, s| requested_storage(pvc, s),
        ),
        Def::gauge(
            "kube_persistentvolumeclaim_access_mode",
            Stable,
            "The access mode(s) specified by the persistent volume claim.",
            |pvc, _, s| {
                let modes = pvc.spec.as_ref().and_then(|spec| spec.access_modes.as_deref());
                for mode in modes.unwrap_or_default() {
                    s.push([("access_mode", mode.as_str())], 1.0);
                }
            },
        ),
        Def::gauge(
            "kube_persistentvolumeclaim_status_condition",
            Alpha,
            "Information about status of different conditions of persistent volume claim.",
            |pvc, _, s| {
                let conditions = pvc.status.as_ref().and_then(|st| st.conditions.as_deref());
                for c in conditions.unwrap_or_default() {
                    for (status, value) in condition_values(&c.status) {
                        s.push([("condition", c.type_.as_str()), ("status", status)], value);
                    }
                }
            },
        ),
        Def::created(P, Alpha, "Unix creation timestamp"),
        Def::deletion_timestamp(P, Alpha),
    ]
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::families::{RenderContext, render_text};

    /// `backup-archive` as the v1.36 API server returns it (managedFields dropped).
    fn archive() -> serde_json::Value {
        json!({
            "kind": "PersistentVolumeClaim",
            "apiVersion": "v1",
            "metadata": {
                "name": "backup-archive",
                "namespace": "data",
                "uid": "fa45286a-ae63-422c-a89e-cc5054ad6a0c",
                "resourceVersion": "437",
                "creationTimestamp": "2026-12-04T17:10:30Z",
                "labels": {"app.kubernetes.io/name": "shop", "HTTPServer": "upper"},
                "annotations": {"example.com/some-key": "annotation value"},
                "finalizers": ["kubernetes.io/pvc-protection"]
            },
            "spec": {
                "accessModes": ["ReadOnlyMany", "ReadWriteMany"],
                "resources": {"limits": {"storage": "1Ti"}, "requests": {"storage": "500Gi"}},
                "storageClassName": "nfs-shared",
                "volumeMode": "Filesystem"
            },
            "status": {"phase": "Lost"}
        })
    }

    fn pvc(v: serde_json::Value) -> PersistentVolumeClaim {
        serde_json::from_value(v).expect("valid PersistentVolumeClaim")
    }

    fn render(p: &PersistentVolumeClaim, family: &str) -> String {
        render_text(p, &RenderContext::default(), family)
    }

    #[test]
    fn lost_claim() {
        let p = pvc(archive());
        assert_eq!(
            render(&p, "kube_persistentvolumeclaim_info"),
            "kube_persistentvolumeclaim_info{namespace=\"data\",persistentvolumeclaim=\"backup-archive\",\
             storageclass=\"nfs-shared\",volumename=\"\",volumemode=\"Filesystem\"} 1\n"
        );
        assert_eq!(
            render(&p, "kube_persistentvolumeclaim_status_phase"),
            "kube_persistentvolumeclaim_status_phase{namespace=\"data\",persistentvolumeclaim=\"backup-archive\",phase=\"Lost\"} 1\n\
             kube_persistentvolumeclaim_status_phase{namespace=\"data\",persistentvolumeclaim=\"backup-archive\",phase=\"Bound\"} 0\n\
             kube_persistentvolumeclaim_status_phase{namespace=\"data\",persistentvolumeclaim=\"backup-archive\",phase=\"Pending\"} 0\n"
        );
        // Requests, not limits: 500Gi.
        assert_eq!(
            render(&p, "kube_persistentvolumeclaim_resource_requests_storage_bytes"),
            "kube_persistentvolumeclaim_resource_requests_storage_bytes{namespace=\"data\",persistentvolumeclaim=\"backup-archive\"} 5.36870912e+11\n"
        );
        assert_eq!(
            render(&p, "kube_persistentvolumeclaim_access_mode"),
            "kube_persistentvolumeclaim_access_mode{namespace=\"data\",persistentvolumeclaim=\"backup-archive\",access_mode=\"ReadOnlyMany\"} 1\n\
             kube_persistentvolumeclaim_access_mode{namespace=\"data\",persistentvolumeclaim=\"backup-archive\",access_mode=\"ReadWriteMany\"} 1\n"
        );
        assert_eq!(render(&p, "kube_persistentvolumeclaim_status_condition"), "");
        assert_eq!(
            render(&p, "kube_persistentvolumeclaim_created"),
            "kube_persistentvolumeclaim_created{namespace=\"data\",persistentvolumeclaim=\"backup-archive\"} 1.79640423e+09\n"
        );
        assert_eq!(render(&p, "kube_persistentvolumeclaim_deletion_timestamp"), "");
    }

    #[test]
    fn bound_claim_with_conditions_including_unknown_types_and_statuses() {
        let mut v = archive();
        v["spec"]["volumeName"] = json!("pvc-fa45286a");
        v["spec"]["volumeMode"] = json!("Block");
        v["status"] = json!({
            "phase": "Bound",
            "conditions": [
                {"type": "Resizing", "status": "True", "lastTransitionTime": "2026-12-04T18:20:00Z"},
                {"type": "FileSystemResizePending", "status": "False"},
                {"type": "CustomizedType", "status": "Unknown"},
                {"type": "ModifyingVolume", "status": ""}
            ]
        });
        let p = pvc(v);
        assert_eq!(
            render(&p, "kube_persistentvolumeclaim_info"),
            "kube_persistentvolumeclaim_info{namespace=\"data\",persistentvolumeclaim=\"backup-archive\",\
             storageclass=\"nfs-shared\",volumename=\"pvc-fa45286a\",volumemode=\"Block\"} 1\n"
        );
        assert_eq!(
            render(&p, "kube_persistentvolumeclaim_status_phase"),
            "kube_persistentvolumeclaim_status_phase{namespace=\"data\",persistentvolumeclaim=\"backup-archive\",phase=\"Lost\"} 0\n\
             kube_persistentvolumeclaim_status_phase{namespace=\"data\",persistentvolumeclaim=\"backup-archive\",phase=\"Bound\"} 1\n\
             kube_persistentvolumeclaim_status_phase{namespace=\"data\",persistentvolumeclaim=\"backup-archive\",phase=\"Pending\"} 0\n"
        );
        let base = "namespace=\"data\",persistentvolumeclaim=\"backup-archive\"";
        let want: String = [
            ("Resizing", [1, 0, 0]),
            ("FileSystemResizePending", [0, 1, 0]),
            ("CustomizedType", [0, 0, 1]),
            ("ModifyingVolume", [0, 0, 0]),
        ]
        .iter()
        .flat_map(|(condition, values)| {
            ["true", "false", "unknown"].iter().zip(values).map(move |(status, v)| {
                format!("kube_persistentvolumeclaim_status_condition{{{base},condition=\"{condition}\",status=\"{status}\"}} {v}\n")
            })
        })
        .collect();
        assert_eq!(render(&p, "kube_persistentvolumeclaim_status_condition"), want);
    }

    #[test]
    fn storage_class_prefers_the_beta_annotation_then_the_field_then_none() {
        let line = |class: &str| {
            format!(
                "kube_persistentvolumeclaim_info{{namespace=\"data\",persistentvolumeclaim=\"backup-archive\",\
                 storageclass=\"{class}\",volumename=\"\",volumemode=\"Filesystem\"}} 1\n"
            )
        };
        let mut v = archive();
        v["metadata"]["annotations"] = json!({"volume.beta.kubernetes.io/storage-class": "fast-local"});
        assert_eq!(render(&pvc(v), "kube_persistentvolumeclaim_info"), line("fast-local"));

        let mut v = archive();
        v["spec"]["storageClassName"] = json!("");
        assert_eq!(render(&pvc(v), "kube_persistentvolumeclaim_info"), line(""));

        let mut v = archive();
        v["spec"].as_object_mut().unwrap().remove("storageClassName");
        assert_eq!(render(&pvc(v), "kube_persistentvolumeclaim_info"), line("<none>"));
    }

    #[test]
    fn missing_spec_and_status() {
        let p = pvc(json!({"metadata": {"name": "bare", "namespace": "ci"}}));
        assert_eq!(
            render(&p, "kube_persistentvolumeclaim_info"),
            "kube_persistentvolumeclaim_info{namespace=\"ci\",persistentvolumeclaim=\"bare\",\
             storageclass=\"<none>\",volumename=\"\",volumemode=\"\"} 1\n"
        );
        for family in [
            "kube_persistentvolumeclaim_status_phase",
            "kube_persistentvolumeclaim_resource_requests_storage_bytes",
            "kube_persistentvolumeclaim_access_mode",
            "kube_persistentvolumeclaim_status_condition",
            "kube_persistentvolumeclaim_created",
        ] {
            assert_eq!(render(&p, family), "", "{family}");
        }
    }

    #[test]
    fn storage_request_quantities_and_absence() {
        for (raw, want) in [
            ("1500M", "1.5e+09"),
            ("1Gi", "1.073741824e+09"),
            ("100m", "1"),
            ("2.5k", "2500"),
        ] {
            let mut v = archive();
            v["spec"]["resources"]["requests"]["storage"] = json!(raw);
            assert_eq!(
                render(&pvc(v), "kube_persistentvolumeclaim_resource_requests_storage_bytes"),
                format!(
                    "kube_persistentvolumeclaim_resource_requests_storage_bytes{{namespace=\"data\",persistentvolumeclaim=\"backup-archive\"}} {want}\n"
                ),
                "{raw}"
            );
        }
        let mut v = archive();
        v["spec"]["resources"] = json!({"limits": {"storage": "1Ti"}});
        assert_eq!(
            render(&pvc(v), "kube_persistentvolumeclaim_resource_requests_storage_bytes"),
            ""
        );
    }

    #[test]
    fn pending_claim_being_deleted() {
        let mut v = archive();
        v["status"] = json!({"phase": "Pending"});
        v["metadata"]["deletionTimestamp"] = json!("2026-12-04T18:02:10Z");
        let p = pvc(v);
        assert_eq!(
            render(&p, "kube_persistentvolumeclaim_status_phase"),
            "kube_persistentvolumeclaim_status_phase{namespace=\"data\",persistentvolumeclaim=\"backup-archive\",phase=\"Lost\"} 0\n\
             kube_persistentvolumeclaim_status_phase{namespace=\"data\",persistentvolumeclaim=\"backup-archive\",phase=\"Bound\"} 0\n\
             kube_persistentvolumeclaim_status_phase{namespace=\"data\",persistentvolumeclaim=\"backup-archive\",phase=\"Pending\"} 1\n"
        );
        assert_eq!(
            render(&p, "kube_persistentvolumeclaim_deletion_timestamp"),
            "kube_persistentvolumeclaim_deletion_timestamp{namespace=\"data\",persistentvolumeclaim=\"backup-archive\"} 1.79640733e+09\n"
        );
    }

    #[test]
    fn labels_and_annotations_follow_the_allowlists() {
        let p = pvc(archive());
        assert_eq!(render(&p, "kube_persistentvolumeclaim_labels"), "");
        assert_eq!(render(&p, "kube_persistentvolumeclaim_annotations"), "");
        let ctx = RenderContext::allow_all();
        assert_eq!(
            render_text(&p, &ctx, "kube_persistentvolumeclaim_labels"),
            "kube_persistentvolumeclaim_labels{namespace=\"data\",persistentvolumeclaim=\"backup-archive\",\
             label_httpserver=\"upper\",label_app_kubernetes_io_name=\"shop\"} 1\n"
        );
        assert_eq!(
            render_text(&p, &ctx, "kube_persistentvolumeclaim_annotations"),
            "kube_persistentvolumeclaim_annotations{namespace=\"data\",persistentvolumeclaim=\"backup-archive\",\
             annotation_example_com_some_key=\"annotation value\"} 1\n"
        );
    }
}
