//! `persistentvolumes`: KSM's `internal/store/persistentvolume.go`. Base label `persistentvolume`.

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeSpec};

use super::quantity::Quantity;
use super::{FamilyDef, ObjectFamilies, Samples, Stability::*, bool_value};

impl ObjectFamilies for PersistentVolume {
    const BASE_LABELS: &'static [&'static str] = &["persistentvolume"];

    fn base_label_values(&self) -> Vec<&str> {
        vec![self.metadata.name.as_deref().unwrap_or("")]
    }

    fn families() -> Vec<FamilyDef<Self>> {
        family_defs()
    }
}

/// The phases KSM enumerates, in its order.
const PHASES: [&str; 5] = ["Pending", "Available", "Bound", "Released", "Failed"];

/// Runs `f` on the spec, or on an empty one where the object has none (KSM reads Go's zero
/// value, so the families that always emit still do).
fn with_spec<R>(pv: &PersistentVolume, f: impl FnOnce(&PersistentVolumeSpec) -> R) -> R {
    match &pv.spec {
        Some(spec) => f(spec),
        None => f(&PersistentVolumeSpec::default()),
    }
}

/// The volume-source labels of `kube_persistentvolume_info`, in KSM's label order.
const SOURCE_LABELS: [&str; 18] = [
    "gce_persistent_disk_name",
    "ebs_volume_id",
    "azure_disk_name",
    "fc_wwids",
    "fc_lun",
    "fc_target_wwns",
    "iscsi_target_portal",
    "iscsi_iqn",
    "iscsi_lun",
    "iscsi_initiator_name",
    "nfs_server",
    "nfs_path",
    "csi_driver",
    "csi_volume_handle",
    "local_path",
    "local_fs",
    "host_path",
    "host_path_type",
];

/// Values for [`SOURCE_LABELS`]. Only the first source KSM checks (GCE PD, EBS, Azure disk, FC,
/// iSCSI, NFS, CSI, local, host path) is read; every other label stays empty.
fn source_labels(spec: &PersistentVolumeSpec) -> [(&'static str, String); 18] {
    let mut labels = SOURCE_LABELS.map(|name| (name, String::new()));
    let mut set = |name: &str, value: String| {
        if let Some(slot) = labels.iter_mut().find(|(n, _)| *n == name) {
            slot.1 = value;
        }
    };
    if let Some(gce) = &spec.gce_persistent_disk {
        set("gce_persistent_disk_name", gce.pd_name.clone());
    } else if let Some(ebs) = &spec.aws_elastic_block_store {
        set("ebs_volume_id", ebs.volume_id.clone());
    } else if let Some(azure) = &spec.azure_disk {
        set("azure_disk_name", azure.disk_name.clone());
    } else if let Some(fc) = &spec.fc {
        set("fc_wwids", fc.wwids.as_deref().unwrap_or_default().join(","));
        set("fc_lun", fc.lun.map(|l| l.to_string()).unwrap_or_default());
        set(
            "fc_target_wwns",
            fc.target_wwns.as_deref().unwrap_or_default().join(","),
        );
    } else if let Some(iscsi) = &spec.iscsi {
        set("iscsi_target_portal", iscsi.target_portal.clone());
        set("iscsi_iqn", iscsi.iqn.clone());
        set("iscsi_lun", iscsi.lun.to_string());
        set("iscsi_initiator_name", iscsi.initiator_name.clone().unwrap_or_default());
    } else if let Some(nfs) = &spec.nfs {
        set("nfs_server", nfs.server.clone());
        set("nfs_path", nfs.path.clone());
    } else if let Some(csi) = &spec.csi {
        set("csi_driver", csi.driver.clone());
        set("csi_volume_handle", csi.volume_handle.clone());
    } else if let Some(local) = &spec.local {
        set("local_path", local.path.clone());
        set("local_fs", local.fs_type.clone().unwrap_or_default());
    } else if let Some(host) = &spec.host_path {
        set("host_path", host.path.clone());
        set("host_path_type", host.type_.clone().unwrap_or_default());
    }
    labels
}

fn info(spec: &PersistentVolumeSpec, s: &mut Samples) {
    let storage_class = spec.storage_class_name.clone().unwrap_or_default();
    let reclaim_policy = spec.persistent_volume_reclaim_policy.clone().unwrap_or_default();
    let labels = std::iter::once(("storageclass", storage_class))
        .chain(source_labels(spec))
        .chain(std::iter::once(("reclaim_policy", reclaim_policy)));
    s.push(labels, 1.0);
}

/// A missing `storage` capacity is Go's zero quantity, 0; an unparseable one is skipped (the API
/// server never returns one).
fn capacity_bytes(spec: &PersistentVolumeSpec, s: &mut Samples) {
    match spec.capacity.as_ref().and_then(|c| c.get("storage")) {
        None => s.value(0.0),
        Some(q) => {
            if let Some(q) = Quantity::parse(&q.0) {
                s.value(q.value() as f64);
            }
        }
    }
}

/// Closures in the table infer their object type from this alias.
type Def = FamilyDef<PersistentVolume>;

fn family_defs() -> Vec<FamilyDef<PersistentVolume>> {
    const P: &str = "kube_persistentvolume";
    vec![
        Def::gauge(
            "kube_persistentvolume_claim_ref",
            Stable,
            "Information about the Persistent Volume Claim Reference.",
            |pv, _, s| {
                if let Some(claim) = pv.spec.as_ref().and_then(|spec| spec.claim_ref.as_ref()) {
                    s.push(
                        [
                            ("name", claim.name.as_deref().unwrap_or("")),
                            ("claim_namespace", claim.namespace.as_deref().unwrap_or("")),
                        ],
                        1.0,
                    );
                }
            },
        ),
        Def::annotations(P, Alpha),
        Def::labels(P, Stable),
        Def::gauge(
            "kube_persistentvolume_status_phase",
            Stable,
            "The phase indicates if a volume is available, bound to a claim, or released by a claim.",
            |pv, _, s| {
                let phase = pv.status.as_ref().and_then(|st| st.phase.as_deref()).unwrap_or("");
                if phase.is_empty() {
                    return;
                }
                for p in PHASES {
                    s.push([("phase", p)], bool_value(phase == p));
                }
            },
        ),
        Def::gauge(
            "kube_persistentvolume_info",
            Stable,
            "Information about persistentvolume.",
            |pv, _, s| with_spec(pv, |spec| info(spec, s)),
        ),
        Def::gauge(
            "kube_persistentvolume_capacity_bytes",
            Stable,
            "Persistentvolume capacity in bytes.",
            |pv, _, s| with_spec(pv, |spec| capacity_bytes(spec, s)),
        ),
        Def::created(P, Alpha, "Unix creation timestamp"),
        Def::deletion_timestamp(P, Alpha),
        Def::gauge(
            "kube_persistentvolume_csi_attributes",
            Alpha,
            "CSI attributes of the Persistent Volume.",
            |pv, _, s| {
                let Some(csi) = pv.spec.as_ref().and_then(|spec| spec.csi.as_ref()) else {
                    return;
                };
                // The two attributes the Ceph CSI driver sets; other drivers leave them empty.
                let attr = |k: &str| {
                    csi.volume_attributes
                        .as_ref()
                        .and_then(|a| a.get(k))
                        .map_or("", String::as_str)
                };
                s.push(
                    [
                        ("csi_mounter", attr("mounter")),
                        ("csi_map_options", attr("mapOptions")),
                    ],
                    1.0,
                );
            },
        )
        .opt_in(),
        Def::gauge(
            "kube_persistentvolume_volume_mode",
            Alpha,
            "Volume Mode information for the PersistentVolume.",
            |pv, _, s| {
                // Filesystem is what Kubernetes assumes when volumeMode is omitted.
                let mode = pv
                    .spec
                    .as_ref()
                    .and_then(|spec| spec.volume_mode.as_deref())
                    .unwrap_or("Filesystem");
                s.push([("volumemode", mode)], 1.0);
            },
        ),
        Def::gauge(
            "kube_persistentvolume_access_mode",
            Alpha,
            "The access mode(s) specified by the persistent volume.",
            |pv, _, s| {
                let modes = pv.spec.as_ref().and_then(|spec| spec.access_modes.as_deref());
                for mode in modes.unwrap_or_default() {
                    s.push([("access_mode", mode.as_str())], 1.0);
                }
            },
        ),
    ]
}

#[cfg(test)]
mod tests {
    use std::fmt::Write;

    use serde_json::json;

    use super::*;
    use crate::families::{RenderContext, render_text};

    /// `pv-iscsi` as the v1.36 API server returns it (managedFields and most metadata dropped).
    fn iscsi() -> serde_json::Value {
        json!({
            "kind": "PersistentVolume",
            "apiVersion": "v1",
            "metadata": {
                "name": "pv-iscsi",
                "uid": "9891734e-038b-4b65-8898-37474f29e582",
                "resourceVersion": "240",
                "creationTimestamp": "2026-12-04T17:10:28Z",
                "labels": {"app.kubernetes.io/name": "shop", "fooBar": "camel"},
                "annotations": {"example.com/some-key": "annotation value"},
                "finalizers": ["kubernetes.io/pv-protection"]
            },
            "spec": {
                "capacity": {"storage": "20Gi"},
                "iscsi": {
                    "targetPortal": "10.0.0.50:3260",
                    "iqn": "iqn.2001-04.com.example:storage.disk1",
                    "lun": 3,
                    "iscsiInterface": "default",
                    "fsType": "ext4",
                    "initiatorName": "iqn.1994-05.com.redhat:corpus"
                },
                "accessModes": ["ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": "Retain",
                "volumeMode": "Filesystem"
            },
            "status": {"phase": "Available", "lastPhaseTransitionTime": "2026-12-04T17:10:28Z"}
        })
    }

    /// A dynamically provisioned Ceph RBD volume, bound to a claim.
    fn csi() -> serde_json::Value {
        json!({
            "kind": "PersistentVolume",
            "apiVersion": "v1",
            "metadata": {
                "name": "pvc-7d1e5a2c",
                "uid": "0e6f3c2a-8b1d-4f7e-a5c9-3d2b1a0f9e8d",
                "resourceVersion": "1893",
                "creationTimestamp": "2026-12-04T17:12:41Z",
                "annotations": {"pv.kubernetes.io/provisioned-by": "rbd.csi.ceph.com"}
            },
            "spec": {
                "capacity": {"storage": "8Gi"},
                "csi": {
                    "driver": "rbd.csi.ceph.com",
                    "volumeHandle": "0001-0009-rook-ceph-0000000000000002-6f1c2d3e",
                    "fsType": "ext4",
                    "volumeAttributes": {"clusterID": "rook-ceph", "mapOptions": "krbd:rxbounce", "mounter": "rbd-nbd"}
                },
                "accessModes": ["ReadWriteOnce", "ReadWriteOncePod"],
                "claimRef": {
                    "kind": "PersistentVolumeClaim", "namespace": "data", "name": "postgres-data-db-0",
                    "uid": "7d1e5a2c-3b4f-4e8a-9c6d-0f1e2a3b4c5d", "apiVersion": "v1", "resourceVersion": "1871"
                },
                "persistentVolumeReclaimPolicy": "Delete",
                "storageClassName": "ceph-rbd",
                "volumeMode": "Block"
            },
            "status": {"phase": "Bound"}
        })
    }

    fn pv(v: serde_json::Value) -> PersistentVolume {
        serde_json::from_value(v).expect("valid PersistentVolume")
    }

    fn render(p: &PersistentVolume, family: &str) -> String {
        render_text(p, &RenderContext::default(), family)
    }

    /// The info line KSM writes for a volume named `x`: every source label present, the given
    /// ones set.
    fn info_line(storage_class: &str, set: &[(&str, &str)], reclaim: &str) -> String {
        let mut line = format!("kube_persistentvolume_info{{persistentvolume=\"x\",storageclass=\"{storage_class}\"");
        for label in SOURCE_LABELS {
            let value = set.iter().find(|(k, _)| *k == label).map_or("", |(_, v)| *v);
            write!(line, ",{label}=\"{value}\"").unwrap();
        }
        writeln!(line, ",reclaim_policy=\"{reclaim}\"}} 1").unwrap();
        line
    }

    fn with_source(source: serde_json::Value) -> PersistentVolume {
        let mut spec = json!({"capacity": {"storage": "1Gi"}, "persistentVolumeReclaimPolicy": "Delete"});
        for (k, v) in source.as_object().unwrap() {
            spec[k] = v.clone();
        }
        pv(json!({"metadata": {"name": "x"}, "spec": spec}))
    }

    #[test]
    fn iscsi_volume_info_lists_every_source_label_in_ksm_order() {
        assert_eq!(
            render(&pv(iscsi()), "kube_persistentvolume_info"),
            "kube_persistentvolume_info{persistentvolume=\"pv-iscsi\",storageclass=\"\",gce_persistent_disk_name=\"\",\
             ebs_volume_id=\"\",azure_disk_name=\"\",fc_wwids=\"\",fc_lun=\"\",fc_target_wwns=\"\",\
             iscsi_target_portal=\"10.0.0.50:3260\",iscsi_iqn=\"iqn.2001-04.com.example:storage.disk1\",iscsi_lun=\"3\",\
             iscsi_initiator_name=\"iqn.1994-05.com.redhat:corpus\",nfs_server=\"\",nfs_path=\"\",csi_driver=\"\",\
             csi_volume_handle=\"\",local_path=\"\",local_fs=\"\",host_path=\"\",host_path_type=\"\",\
             reclaim_policy=\"Retain\"} 1\n"
        );
    }

    #[test]
    fn each_volume_source_fills_its_labels() {
        let cases = [
            (
                json!({"gcePersistentDisk": {"pdName": "disk-1", "fsType": "ext4"}}),
                vec![("gce_persistent_disk_name", "disk-1")],
            ),
            (
                json!({"awsElasticBlockStore": {"volumeID": "vol-0a1b2c3d"}}),
                vec![("ebs_volume_id", "vol-0a1b2c3d")],
            ),
            (
                json!({"azureDisk": {"diskName": "azdisk", "diskURI": "https://x/azdisk"}}),
                vec![("azure_disk_name", "azdisk")],
            ),
            (
                json!({"fc": {"targetWWNs": ["500a0982991b8dc5", "500a0982891b8dc5"], "lun": 2, "wwids": ["3600508b400105e21", "3600508b400105e22"]}}),
                vec![
                    ("fc_wwids", "3600508b400105e21,3600508b400105e22"),
                    ("fc_lun", "2"),
                    ("fc_target_wwns", "500a0982991b8dc5,500a0982891b8dc5"),
                ],
            ),
            // No lun: KSM leaves fc_lun empty rather than writing 0.
            (
                json!({"fc": {"wwids": ["3600508b400105e21"]}}),
                vec![("fc_wwids", "3600508b400105e21")],
            ),
            // iSCSI lun is required, so its zero value is written.
            (
                json!({"iscsi": {"targetPortal": "10.0.0.9:3260", "iqn": "iqn.x", "lun": 0}}),
                vec![
                    ("iscsi_target_portal", "10.0.0.9:3260"),
                    ("iscsi_iqn", "iqn.x"),
                    ("iscsi_lun", "0"),
                ],
            ),
            (
                json!({"nfs": {"server": "filer01", "path": "/exports/home"}}),
                vec![("nfs_server", "filer01"), ("nfs_path", "/exports/home")],
            ),
            (
                json!({"csi": {"driver": "ebs.csi.aws.com", "volumeHandle": "vol-9"}}),
                vec![("csi_driver", "ebs.csi.aws.com"), ("csi_volume_handle", "vol-9")],
            ),
            (
                json!({"local": {"path": "/mnt/disks/ssd1", "fsType": "xfs"}}),
                vec![("local_path", "/mnt/disks/ssd1"), ("local_fs", "xfs")],
            ),
            (
                json!({"local": {"path": "/mnt/disks/ssd2"}}),
                vec![("local_path", "/mnt/disks/ssd2")],
            ),
            (
                json!({"hostPath": {"path": "/var/data", "type": "DirectoryOrCreate"}}),
                vec![("host_path", "/var/data"), ("host_path_type", "DirectoryOrCreate")],
            ),
            (
                json!({"hostPath": {"path": "/var/data"}}),
                vec![("host_path", "/var/data")],
            ),
            // A source KSM does not know (RBD) leaves every source label empty.
            (json!({"rbd": {"monitors": ["10.0.0.1:6789"], "image": "img"}}), vec![]),
            // Two sources (not valid, but decodable): KSM reads only the first it checks.
            (
                json!({"csi": {"driver": "d", "volumeHandle": "h"}, "nfs": {"server": "s", "path": "/p"}}),
                vec![("nfs_server", "s"), ("nfs_path", "/p")],
            ),
        ];
        for (source, set) in cases {
            let v = with_source(source.clone());
            assert_eq!(
                render(&v, "kube_persistentvolume_info"),
                info_line("", &set, "Delete"),
                "{source}"
            );
        }
    }

    #[test]
    fn bound_csi_volume() {
        let p = pv(csi());
        assert_eq!(
            render(&p, "kube_persistentvolume_claim_ref"),
            "kube_persistentvolume_claim_ref{persistentvolume=\"pvc-7d1e5a2c\",name=\"postgres-data-db-0\",claim_namespace=\"data\"} 1\n"
        );
        assert_eq!(
            render(&p, "kube_persistentvolume_csi_attributes"),
            "kube_persistentvolume_csi_attributes{persistentvolume=\"pvc-7d1e5a2c\",csi_mounter=\"rbd-nbd\",csi_map_options=\"krbd:rxbounce\"} 1\n"
        );
        assert_eq!(
            render(&p, "kube_persistentvolume_volume_mode"),
            "kube_persistentvolume_volume_mode{persistentvolume=\"pvc-7d1e5a2c\",volumemode=\"Block\"} 1\n"
        );
        assert_eq!(
            render(&p, "kube_persistentvolume_access_mode"),
            "kube_persistentvolume_access_mode{persistentvolume=\"pvc-7d1e5a2c\",access_mode=\"ReadWriteOnce\"} 1\n\
             kube_persistentvolume_access_mode{persistentvolume=\"pvc-7d1e5a2c\",access_mode=\"ReadWriteOncePod\"} 1\n"
        );
        assert_eq!(
            render(&p, "kube_persistentvolume_capacity_bytes"),
            "kube_persistentvolume_capacity_bytes{persistentvolume=\"pvc-7d1e5a2c\"} 8.589934592e+09\n"
        );
        assert_eq!(
            render(&p, "kube_persistentvolume_status_phase"),
            "kube_persistentvolume_status_phase{persistentvolume=\"pvc-7d1e5a2c\",phase=\"Pending\"} 0\n\
             kube_persistentvolume_status_phase{persistentvolume=\"pvc-7d1e5a2c\",phase=\"Available\"} 0\n\
             kube_persistentvolume_status_phase{persistentvolume=\"pvc-7d1e5a2c\",phase=\"Bound\"} 1\n\
             kube_persistentvolume_status_phase{persistentvolume=\"pvc-7d1e5a2c\",phase=\"Released\"} 0\n\
             kube_persistentvolume_status_phase{persistentvolume=\"pvc-7d1e5a2c\",phase=\"Failed\"} 0\n"
        );
    }

    #[test]
    fn available_iscsi_volume() {
        let p = pv(iscsi());
        assert_eq!(render(&p, "kube_persistentvolume_claim_ref"), "");
        assert_eq!(render(&p, "kube_persistentvolume_csi_attributes"), "");
        assert_eq!(
            render(&p, "kube_persistentvolume_capacity_bytes"),
            "kube_persistentvolume_capacity_bytes{persistentvolume=\"pv-iscsi\"} 2.147483648e+10\n"
        );
        assert_eq!(
            render(&p, "kube_persistentvolume_status_phase"),
            "kube_persistentvolume_status_phase{persistentvolume=\"pv-iscsi\",phase=\"Pending\"} 0\n\
             kube_persistentvolume_status_phase{persistentvolume=\"pv-iscsi\",phase=\"Available\"} 1\n\
             kube_persistentvolume_status_phase{persistentvolume=\"pv-iscsi\",phase=\"Bound\"} 0\n\
             kube_persistentvolume_status_phase{persistentvolume=\"pv-iscsi\",phase=\"Released\"} 0\n\
             kube_persistentvolume_status_phase{persistentvolume=\"pv-iscsi\",phase=\"Failed\"} 0\n"
        );
        assert_eq!(
            render(&p, "kube_persistentvolume_access_mode"),
            "kube_persistentvolume_access_mode{persistentvolume=\"pv-iscsi\",access_mode=\"ReadWriteOnce\"} 1\n"
        );
        assert_eq!(
            render(&p, "kube_persistentvolume_created"),
            "kube_persistentvolume_created{persistentvolume=\"pv-iscsi\"} 1.796404228e+09\n"
        );
        assert_eq!(render(&p, "kube_persistentvolume_deletion_timestamp"), "");
    }

    #[test]
    fn failed_phase_and_deletion_timestamp() {
        let mut v = iscsi();
        v["status"]["phase"] = json!("Failed");
        v["metadata"]["deletionTimestamp"] = json!("2026-12-04T18:00:05Z");
        let p = pv(v);
        assert_eq!(
            render(&p, "kube_persistentvolume_status_phase"),
            "kube_persistentvolume_status_phase{persistentvolume=\"pv-iscsi\",phase=\"Pending\"} 0\n\
             kube_persistentvolume_status_phase{persistentvolume=\"pv-iscsi\",phase=\"Available\"} 0\n\
             kube_persistentvolume_status_phase{persistentvolume=\"pv-iscsi\",phase=\"Bound\"} 0\n\
             kube_persistentvolume_status_phase{persistentvolume=\"pv-iscsi\",phase=\"Released\"} 0\n\
             kube_persistentvolume_status_phase{persistentvolume=\"pv-iscsi\",phase=\"Failed\"} 1\n"
        );
        assert_eq!(
            render(&p, "kube_persistentvolume_deletion_timestamp"),
            "kube_persistentvolume_deletion_timestamp{persistentvolume=\"pv-iscsi\"} 1.796407205e+09\n"
        );
    }

    #[test]
    fn unknown_phase_writes_all_zero_and_missing_phase_writes_nothing() {
        let mut v = iscsi();
        v["status"]["phase"] = json!("Migrating");
        let lines = render(&pv(v), "kube_persistentvolume_status_phase");
        assert_eq!(lines.lines().count(), 5);
        assert!(lines.lines().all(|l| l.ends_with("} 0")), "{lines}");

        let mut v = iscsi();
        v["status"] = json!({});
        assert_eq!(render(&pv(v), "kube_persistentvolume_status_phase"), "");
        let mut v = iscsi();
        v.as_object_mut().unwrap().remove("status");
        assert_eq!(render(&pv(v), "kube_persistentvolume_status_phase"), "");
    }

    #[test]
    fn capacity_quantities_round_up_to_bytes() {
        for (raw, want) in [
            ("1500M", "1.5e+09"),
            ("500Mi", "5.24288e+08"),
            ("1.5Ki", "1536"),
            ("100m", "1"),
            ("0", "0"),
        ] {
            let mut v = iscsi();
            v["spec"]["capacity"]["storage"] = json!(raw);
            assert_eq!(
                render(&pv(v), "kube_persistentvolume_capacity_bytes"),
                format!("kube_persistentvolume_capacity_bytes{{persistentvolume=\"pv-iscsi\"}} {want}\n"),
                "{raw}"
            );
        }
        // No storage capacity is Go's zero quantity.
        let mut v = iscsi();
        v["spec"]["capacity"] = json!({"example.com/iops": "3000"});
        assert_eq!(
            render(&pv(v), "kube_persistentvolume_capacity_bytes"),
            "kube_persistentvolume_capacity_bytes{persistentvolume=\"pv-iscsi\"} 0\n"
        );
    }

    #[test]
    fn missing_spec_reads_as_zero_values() {
        let p = pv(json!({"metadata": {"name": "x"}}));
        assert_eq!(render(&p, "kube_persistentvolume_info"), info_line("", &[], ""));
        assert_eq!(
            render(&p, "kube_persistentvolume_capacity_bytes"),
            "kube_persistentvolume_capacity_bytes{persistentvolume=\"x\"} 0\n"
        );
        assert_eq!(
            render(&p, "kube_persistentvolume_volume_mode"),
            "kube_persistentvolume_volume_mode{persistentvolume=\"x\",volumemode=\"Filesystem\"} 1\n"
        );
        for family in [
            "kube_persistentvolume_claim_ref",
            "kube_persistentvolume_status_phase",
            "kube_persistentvolume_csi_attributes",
            "kube_persistentvolume_access_mode",
            "kube_persistentvolume_created",
            "kube_persistentvolume_deletion_timestamp",
        ] {
            assert_eq!(render(&p, family), "", "{family}");
        }
    }

    #[test]
    fn storage_class_and_csi_without_ceph_attributes() {
        let mut v = csi();
        v["spec"]["csi"]["volumeAttributes"] = json!({"storage.kubernetes.io/csiProvisionerIdentity": "123"});
        v["metadata"]["name"] = json!("x");
        let p = pv(v);
        assert_eq!(
            render(&p, "kube_persistentvolume_csi_attributes"),
            "kube_persistentvolume_csi_attributes{persistentvolume=\"x\",csi_mounter=\"\",csi_map_options=\"\"} 1\n"
        );
        assert_eq!(
            render(&p, "kube_persistentvolume_info"),
            info_line(
                "ceph-rbd",
                &[
                    ("csi_driver", "rbd.csi.ceph.com"),
                    ("csi_volume_handle", "0001-0009-rook-ceph-0000000000000002-6f1c2d3e")
                ],
                "Delete"
            )
        );
    }

    #[test]
    fn claim_ref_without_namespace_prints_empty_label() {
        let mut v = csi();
        v["spec"]["claimRef"] = json!({"name": "orphan"});
        assert_eq!(
            render(&pv(v), "kube_persistentvolume_claim_ref"),
            "kube_persistentvolume_claim_ref{persistentvolume=\"pvc-7d1e5a2c\",name=\"orphan\",claim_namespace=\"\"} 1\n"
        );
    }

    #[test]
    fn labels_and_annotations_follow_the_allowlists() {
        let p = pv(iscsi());
        assert_eq!(render(&p, "kube_persistentvolume_labels"), "");
        assert_eq!(render(&p, "kube_persistentvolume_annotations"), "");
        let ctx = RenderContext::allow_all();
        assert_eq!(
            render_text(&p, &ctx, "kube_persistentvolume_labels"),
            "kube_persistentvolume_labels{persistentvolume=\"pv-iscsi\",label_app_kubernetes_io_name=\"shop\",label_foo_bar=\"camel\"} 1\n"
        );
        assert_eq!(
            render_text(&p, &ctx, "kube_persistentvolume_annotations"),
            "kube_persistentvolume_annotations{persistentvolume=\"pv-iscsi\",annotation_example_com_some_key=\"annotation value\"} 1\n"
        );
    }

    #[test]
    fn csi_attributes_is_opt_in() {
        let defs = PersistentVolume::families();
        let opt_in: Vec<&str> = defs.iter().filter(|d| d.opt_in).map(|d| &*d.name).collect();
        assert_eq!(opt_in, ["kube_persistentvolume_csi_attributes"]);
    }
}
