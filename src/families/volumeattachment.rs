//! `volumeattachments`: KSM's `internal/store/volumeattachment.go`. Base label
//! `volumeattachment`.

use k8s_openapi::api::storage::v1::VolumeAttachment;

use super::{FamilyDef, ObjectFamilies, Samples, Stability::*, bool_value, meta};

impl ObjectFamilies for VolumeAttachment {
    const BASE_LABELS: &'static [&'static str] = &["volumeattachment"];

    fn base_label_values(&self) -> Vec<&str> {
        vec![self.metadata.name.as_deref().unwrap_or("")]
    }

    fn families() -> Vec<FamilyDef<Self>> {
        family_defs()
    }
}

/// One series carrying every `status.attachmentMetadata` entry as `metadata_<key>` (named the way
/// KSM names labels), even when there are none; no allowlist applies.
fn attachment_metadata(va: &VolumeAttachment, s: &mut Samples) {
    let entries: Vec<(&str, &str)> = va
        .status
        .as_ref()
        .and_then(|st| st.attachment_metadata.as_ref())
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    s.push(meta::prometheus_label_pairs("metadata", &entries), 1.0);
}

/// Closures in the table infer their object type from this alias.
type Def = FamilyDef<VolumeAttachment>;

fn family_defs() -> Vec<FamilyDef<VolumeAttachment>> {
    const P: &str = "kube_volumeattachment";
    vec![
        Def::labels(P, Alpha),
        Def::gauge(
            "kube_volumeattachment_info",
            Alpha,
            "Information about volumeattachment.",
            |va, _, s| {
                s.push(
                    [
                        ("attacher", va.spec.attacher.as_str()),
                        ("node", va.spec.node_name.as_str()),
                    ],
                    1.0,
                )
            },
        ),
        Def::created(P, Alpha, "Unix creation timestamp"),
        Def::gauge(
            "kube_volumeattachment_spec_source_persistentvolume",
            Alpha,
            "PersistentVolume source reference.",
            |va, _, s| {
                // Inline (CSI-migrated) volumes have no PersistentVolume to name.
                if let Some(pv) = &va.spec.source.persistent_volume_name {
                    s.push([("volumename", pv.as_str())], 1.0);
                }
            },
        ),
        Def::gauge(
            "kube_volumeattachment_status_attached",
            Alpha,
            "Information about volumeattachment.",
            |va, _, s| s.value(bool_value(va.status.as_ref().is_some_and(|st| st.attached))),
        ),
        Def::gauge(
            "kube_volumeattachment_status_attachment_metadata",
            Alpha,
            "volumeattachment metadata.",
            |va, _, s| attachment_metadata(va, s),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::families::{RenderContext, render_text};

    const NAME: &str = "csi-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd";

    /// The attached EBS volume as the v1.36 API server returns it (managedFields dropped).
    fn attached() -> serde_json::Value {
        json!({
            "kind": "VolumeAttachment",
            "apiVersion": "storage.k8s.io/v1",
            "metadata": {
                "name": NAME,
                "uid": "d60e4675-9c61-412c-a3c3-4d1593783120",
                "resourceVersion": "447",
                "creationTimestamp": "2026-12-04T17:10:30Z",
                "labels": {"fooBar": "camel", "key-with-dashes": "dash-value"}
            },
            "spec": {
                "attacher": "ebs.csi.aws.com",
                "source": {"persistentVolumeName": "pv-data-db-0"},
                "nodeName": "corpus-node-a"
            },
            "status": {
                "attached": true,
                "attachmentMetadata": {"devicePath": "/dev/xvdba", "example.com/some-key": "v", "fooBar": "x"}
            }
        })
    }

    fn va(v: serde_json::Value) -> VolumeAttachment {
        serde_json::from_value(v).expect("valid VolumeAttachment")
    }

    fn render(a: &VolumeAttachment, family: &str) -> String {
        render_text(a, &RenderContext::default(), family)
    }

    fn line(family: &str, labels: &str, value: &str) -> String {
        format!("{family}{{volumeattachment=\"{NAME}\"{labels}}} {value}\n")
    }

    #[test]
    fn attached_volume() {
        let a = va(attached());
        assert_eq!(
            render(&a, "kube_volumeattachment_info"),
            line(
                "kube_volumeattachment_info",
                ",attacher=\"ebs.csi.aws.com\",node=\"corpus-node-a\"",
                "1"
            )
        );
        assert_eq!(
            render(&a, "kube_volumeattachment_created"),
            line("kube_volumeattachment_created", "", "1.79640423e+09")
        );
        assert_eq!(
            render(&a, "kube_volumeattachment_spec_source_persistentvolume"),
            line(
                "kube_volumeattachment_spec_source_persistentvolume",
                ",volumename=\"pv-data-db-0\"",
                "1"
            )
        );
        assert_eq!(
            render(&a, "kube_volumeattachment_status_attached"),
            line("kube_volumeattachment_status_attached", "", "1")
        );
        // Keys sorted, sanitized and snake_cased like KSM's label names.
        assert_eq!(
            render(&a, "kube_volumeattachment_status_attachment_metadata"),
            line(
                "kube_volumeattachment_status_attachment_metadata",
                ",metadata_device_path=\"/dev/xvdba\",metadata_example_com_some_key=\"v\",metadata_foo_bar=\"x\"",
                "1"
            )
        );
    }

    #[test]
    fn detached_inline_volume_without_status() {
        let mut v = attached();
        v["spec"]["source"] =
            json!({"inlineVolumeSpec": {"csi": {"driver": "ebs.csi.aws.com", "volumeHandle": "vol-1"}}});
        v.as_object_mut().unwrap().remove("status");
        let a = va(v);
        assert_eq!(render(&a, "kube_volumeattachment_spec_source_persistentvolume"), "");
        assert_eq!(
            render(&a, "kube_volumeattachment_status_attached"),
            line("kube_volumeattachment_status_attached", "", "0")
        );
        // Still one series, with only the base label.
        assert_eq!(
            render(&a, "kube_volumeattachment_status_attachment_metadata"),
            line("kube_volumeattachment_status_attachment_metadata", "", "1")
        );
    }

    #[test]
    fn detaching_volume_with_an_error() {
        let mut v = attached();
        v["status"] = json!({
            "attached": false,
            "detachError": {"time": "2026-12-04T18:01:45Z", "message": "rpc error: code = Internal"}
        });
        let a = va(v);
        assert_eq!(
            render(&a, "kube_volumeattachment_status_attached"),
            line("kube_volumeattachment_status_attached", "", "0")
        );
        assert_eq!(
            render(&a, "kube_volumeattachment_status_attachment_metadata"),
            line("kube_volumeattachment_status_attachment_metadata", "", "1")
        );
    }

    #[test]
    fn colliding_metadata_keys_get_conflict_suffixes() {
        let mut v = attached();
        v["status"]["attachmentMetadata"] = json!({"device-path": "a", "device.path": "b", "LUN": "7"});
        assert_eq!(
            render(&va(v), "kube_volumeattachment_status_attachment_metadata"),
            line(
                "kube_volumeattachment_status_attachment_metadata",
                ",metadata_lun=\"7\",metadata_device_path_conflict1=\"a\",metadata_device_path_conflict2=\"b\"",
                "1"
            )
        );
    }

    #[test]
    fn labels_follow_the_allowlist_and_there_is_no_annotations_family() {
        let a = va(attached());
        assert_eq!(render(&a, "kube_volumeattachment_labels"), "");
        let ctx = RenderContext::allow_all();
        assert_eq!(
            render_text(&a, &ctx, "kube_volumeattachment_labels"),
            line(
                "kube_volumeattachment_labels",
                ",label_foo_bar=\"camel\",label_key_with_dashes=\"dash-value\"",
                "1"
            )
        );
        let names: Vec<String> = VolumeAttachment::families()
            .into_iter()
            .map(|d| d.name.into_owned())
            .collect();
        assert!(!names.iter().any(|n| n.ends_with("_annotations")), "{names:?}");
    }
}
