//! `nodes`: KSM's `internal/store/node.go`. Base label `node`.
//!
//! Families are listed in KSM's generator order. KSM ranges over Go maps for roles and for
//! capacity/allocatable, so its series order there is random; ours is the key order.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Node, NodeCondition, NodeSpec, NodeStatus};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as KubeQuantity;

use super::quantity::node_resource;
use super::{FamilyDef, ObjectFamilies, ObjectIndex, Samples, Stability::*, bool_value, condition_values};

impl ObjectFamilies for Node {
    const BASE_LABELS: &'static [&'static str] = &["node"];

    fn base_label_values(&self) -> Vec<&str> {
        vec![self.metadata.name.as_deref().unwrap_or("")]
    }

    fn families() -> Vec<FamilyDef<Self>> {
        family_defs()
    }

    fn index(&self) -> Option<ObjectIndex> {
        let ready = conditions(self).iter().find(|c| c.type_ == "Ready");
        Some(ObjectIndex {
            node: "".into(),
            live: ready.is_some_and(|c| c.status == "True"),
            created: self.metadata.creation_timestamp.as_ref().map_or(0, |t| t.0.as_second()),
        })
    }
}

/// Label prefix whose keys name a node's roles (`node-role.kubernetes.io/control-plane`).
const ROLE_PREFIX: &str = "node-role.kubernetes.io/";

/// What KSM v2.20 writes as `kubeproxy_version`, whatever the node reports (the field is
/// deprecated in Kubernetes and no longer set by the kubelet).
const KUBEPROXY_VERSION: &str = "deprecated";

fn spec(n: &Node) -> Option<&NodeSpec> {
    n.spec.as_ref()
}

fn status(n: &Node) -> Option<&NodeStatus> {
    n.status.as_ref()
}

fn conditions(n: &Node) -> &[NodeCondition] {
    status(n).and_then(|st| st.conditions.as_deref()).unwrap_or_default()
}

/// `kube_node_info`: one series whatever is missing (KSM reads Go zero values). `internal_ip` is
/// the last `InternalIP` address, as KSM's loop leaves it.
fn info(n: &Node, s: &mut Samples) {
    let node_info = status(n).and_then(|st| st.node_info.as_ref());
    let ni = |f: fn(&k8s_openapi::api::core::v1::NodeSystemInfo) -> &str| node_info.map_or("", f);
    let sp = |f: fn(&NodeSpec) -> Option<&str>| spec(n).and_then(f).unwrap_or("");
    let internal_ip = status(n)
        .and_then(|st| st.addresses.as_deref())
        .unwrap_or_default()
        .iter()
        .rfind(|a| a.type_ == "InternalIP")
        .map_or("", |a| a.address.as_str());
    s.push(
        [
            ("kernel_version", ni(|i| &i.kernel_version)),
            ("os_image", ni(|i| &i.os_image)),
            ("container_runtime_version", ni(|i| &i.container_runtime_version)),
            ("kubelet_version", ni(|i| &i.kubelet_version)),
            ("kubeproxy_version", KUBEPROXY_VERSION),
            ("provider_id", sp(|sp| sp.provider_id.as_deref())),
            ("pod_cidr", sp(|sp| sp.pod_cidr.as_deref())),
            ("system_uuid", ni(|i| &i.system_uuid)),
            ("internal_ip", internal_ip),
        ],
        1.0,
    );
}

/// `role` per `node-role.kubernetes.io/<role>` label key (the label value is ignored).
fn roles(n: &Node, s: &mut Samples) {
    for key in n.metadata.labels.iter().flat_map(|l| l.keys()) {
        if let Some(role) = key.strip_prefix(ROLE_PREFIX) {
            s.push([("role", role)], 1.0);
        }
    }
}

/// `pod_cidr` per `spec.podCIDRs` entry.
fn pod_cidrs(n: &Node, s: &mut Samples) {
    for cidr in spec(n).and_then(|sp| sp.pod_cidrs.as_deref()).unwrap_or_default() {
        s.push([("pod_cidr", cidr.as_str())], 1.0);
    }
}

/// `key, value, effect` per taint (`value` empty when unset).
fn taints(n: &Node, s: &mut Samples) {
    for t in spec(n).and_then(|sp| sp.taints.as_deref()).unwrap_or_default() {
        s.push(
            [
                ("key", t.key.as_str()),
                ("value", t.value.as_deref().unwrap_or("")),
                ("effect", t.effect.as_str()),
            ],
            1.0,
        );
    }
}

/// `resource, unit` per capacity/allocatable entry KSM has a unit for; unparseable quantities
/// are skipped.
fn resources(list: Option<&BTreeMap<String, KubeQuantity>>, s: &mut Samples) {
    for (name, raw) in list.into_iter().flatten() {
        if let Some(r) = node_resource(name, &raw.0) {
            s.push([("resource", r.resource.as_str()), ("unit", r.unit)], r.value);
        }
    }
}

/// `condition, status`: the true/false/unknown stateset of every condition, in status order.
fn condition_stateset(n: &Node, s: &mut Samples) {
    for c in conditions(n) {
        for (status, value) in condition_values(&c.status) {
            s.push([("condition", c.type_.as_str()), ("status", status)], value);
        }
    }
}

/// `type, address` per status address.
fn addresses(n: &Node, s: &mut Samples) {
    for a in status(n).and_then(|st| st.addresses.as_deref()).unwrap_or_default() {
        s.push([("type", a.type_.as_str()), ("address", a.address.as_str())], 1.0);
    }
}

/// Closures in the table infer their object type from this alias.
type Def = FamilyDef<Node>;

fn family_defs() -> Vec<FamilyDef<Node>> {
    const P: &str = "kube_node";
    vec![
        Def::annotations(P, Alpha),
        Def::created(P, Stable, "Unix creation timestamp"),
        Def::deletion_timestamp(P, Alpha),
        Def::gauge(
            "kube_node_info",
            Stable,
            "Information about a cluster node.",
            |n, _, s| info(n, s),
        ),
        Def::labels(P, Stable),
        Def::gauge("kube_node_role", Alpha, "The role of a cluster node.", |n, _, s| {
            roles(n, s)
        }),
        Def::gauge(
            "kube_node_spec_pod_cidrs",
            Alpha,
            "The pod CIDRs of a cluster node.",
            |n, _, s| pod_cidrs(n, s),
        ),
        Def::gauge(
            "kube_node_spec_taint",
            Stable,
            "The taint of a cluster node.",
            |n, _, s| taints(n, s),
        ),
        Def::gauge(
            "kube_node_spec_unschedulable",
            Stable,
            "Whether a node can schedule new pods.",
            |n, _, s| s.value(bool_value(spec(n).and_then(|sp| sp.unschedulable).unwrap_or(false))),
        ),
        Def::gauge(
            "kube_node_status_allocatable",
            Stable,
            "The allocatable for different resources of a node that are available for scheduling.",
            |n, _, s| resources(status(n).and_then(|st| st.allocatable.as_ref()), s),
        ),
        Def::gauge(
            "kube_node_status_capacity",
            Stable,
            "The capacity for different resources of a node.",
            |n, _, s| resources(status(n).and_then(|st| st.capacity.as_ref()), s),
        ),
        Def::gauge(
            "kube_node_status_condition",
            Stable,
            "The condition of a cluster node.",
            |n, _, s| condition_stateset(n, s),
        ),
        Def::gauge(
            "kube_node_status_addresses",
            Alpha,
            "Node address information.",
            |n, _, s| addresses(n, s),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::families::{RenderContext, render_text};

    /// `corpus-node-a` as a v1.36 API server returns it (managedFields and images dropped).
    fn control_plane() -> Value {
        json!({
            "kind": "Node",
            "apiVersion": "v1",
            "metadata": {
                "name": "corpus-node-a",
                "uid": "c04a7dae-46a1-40e2-a572-0e4b849fd84a",
                "resourceVersion": "220",
                "creationTimestamp": "2026-11-24T05:09:01Z",
                "labels": {
                    "kubernetes.io/arch": "amd64",
                    "kubernetes.io/hostname": "corpus-node-a",
                    "kubernetes.io/os": "linux",
                    "node-role.kubernetes.io/control-plane": "",
                    "node.kubernetes.io/instance-type": "m6i.2xlarge",
                    "topology.kubernetes.io/zone": "eu-central-1a"
                },
                "annotations": {"node.alpha.kubernetes.io/ttl": "0"}
            },
            "spec": {
                "podCIDR": "10.244.0.0/24",
                "podCIDRs": ["10.244.0.0/24", "fd00:10:244::/64"],
                "providerID": "aws:///eu-central-1a/i-0a1b2c3d4e5f60001",
                "taints": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]
            },
            "status": {
                "capacity": {"cpu": "8", "ephemeral-storage": "100Gi", "hugepages-1Gi": "0",
                             "hugepages-2Mi": "1Gi", "memory": "32Gi", "pods": "110"},
                "allocatable": {"cpu": "7850m", "ephemeral-storage": "95Gi", "hugepages-1Gi": "0",
                                "hugepages-2Mi": "1Gi", "memory": "30944Mi", "pods": "110"},
                "conditions": [
                    {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory"},
                    {"type": "DiskPressure", "status": "False", "reason": "KubeletHasNoDiskPressure"},
                    {"type": "PIDPressure", "status": "False", "reason": "KubeletHasSufficientPID"},
                    {"type": "Ready", "status": "True", "reason": "KubeletReady"}
                ],
                "addresses": [
                    {"type": "InternalIP", "address": "10.0.1.10"},
                    {"type": "ExternalIP", "address": "203.0.113.10"},
                    {"type": "Hostname", "address": "corpus-node-a"}
                ],
                "nodeInfo": {
                    "machineID": "b7205bbb17de95a53097309e2a3a95d7",
                    "systemUUID": "ec2a7d6f-ee8da79d9f66",
                    "bootID": "0579cf6e-0000-4000-8000-0579cf6e0fa0",
                    "kernelVersion": "6.8.0-1019-aws",
                    "osImage": "Ubuntu 24.04.1 LTS",
                    "containerRuntimeVersion": "containerd://2.0.4",
                    "kubeletVersion": "v1.36.2",
                    "kubeProxyVersion": "v1.36.2",
                    "operatingSystem": "linux",
                    "architecture": "amd64"
                }
            }
        })
    }

    fn node(v: Value) -> Node {
        serde_json::from_value(v).expect("valid Node")
    }

    fn edited(edit: impl FnOnce(&mut Value)) -> Node {
        let mut v = control_plane();
        edit(&mut v);
        node(v)
    }

    fn render(n: &Node, family: &str) -> String {
        render_text(n, &RenderContext::default(), family)
    }

    /// `family{node="corpus-node-a",<labels>} value` lines.
    fn lines(family: &str, rows: &[(&str, &str)]) -> String {
        rows.iter()
            .map(|(labels, v)| {
                let sep = if labels.is_empty() { "" } else { "," };
                format!("{family}{{node=\"corpus-node-a\"{sep}{labels}}} {v}\n")
            })
            .collect()
    }

    #[test]
    fn info_reports_kubeproxy_as_deprecated_and_the_internal_ip() {
        assert_eq!(
            render(&node(control_plane()), "kube_node_info"),
            lines(
                "kube_node_info",
                &[(
                    r#"kernel_version="6.8.0-1019-aws",os_image="Ubuntu 24.04.1 LTS",container_runtime_version="containerd://2.0.4",kubelet_version="v1.36.2",kubeproxy_version="deprecated",provider_id="aws:///eu-central-1a/i-0a1b2c3d4e5f60001",pod_cidr="10.244.0.0/24",system_uuid="ec2a7d6f-ee8da79d9f66",internal_ip="10.0.1.10""#,
                    "1"
                )]
            )
        );
        // Nothing but a name: one series of empty values (KSM reads Go zero values).
        let bare = node(json!({"metadata": {"name": "corpus-node-a"}}));
        assert_eq!(
            render(&bare, "kube_node_info"),
            lines(
                "kube_node_info",
                &[(
                    r#"kernel_version="",os_image="",container_runtime_version="",kubelet_version="",kubeproxy_version="deprecated",provider_id="",pod_cidr="",system_uuid="",internal_ip="""#,
                    "1"
                )]
            )
        );
        assert_eq!(
            render(&bare, "kube_node_spec_unschedulable"),
            lines("kube_node_spec_unschedulable", &[("", "0")])
        );
        for family in [
            "kube_node_created",
            "kube_node_role",
            "kube_node_spec_pod_cidrs",
            "kube_node_spec_taint",
            "kube_node_status_allocatable",
            "kube_node_status_capacity",
            "kube_node_status_condition",
            "kube_node_status_addresses",
        ] {
            assert_eq!(render(&bare, family), "", "{family}");
        }
    }

    #[test]
    fn timestamps() {
        let n = node(control_plane());
        assert_eq!(
            render(&n, "kube_node_created"),
            lines("kube_node_created", &[("", "1.795496941e+09")])
        );
        assert_eq!(render(&n, "kube_node_deletion_timestamp"), "");
        let n = edited(|v| v["metadata"]["deletionTimestamp"] = json!("2026-11-24T06:00:00Z"));
        assert_eq!(
            render(&n, "kube_node_deletion_timestamp"),
            lines("kube_node_deletion_timestamp", &[("", "1.7955e+09")])
        );
    }

    #[test]
    fn roles_come_from_node_role_label_keys() {
        let n = edited(|v| {
            v["metadata"]["labels"]["node-role.kubernetes.io/worker"] = json!("true");
            v["metadata"]["labels"]["node-role.kubernetes.io/infra"] = json!("");
            v["metadata"]["labels"]["kubernetes.io/role"] = json!("master");
        });
        assert_eq!(
            render(&n, "kube_node_role"),
            lines(
                "kube_node_role",
                &[
                    (r#"role="control-plane""#, "1"),
                    (r#"role="infra""#, "1"),
                    (r#"role="worker""#, "1")
                ]
            )
        );
        let n = edited(|v| v["metadata"]["labels"] = json!({"kubernetes.io/hostname": "corpus-node-a"}));
        assert_eq!(render(&n, "kube_node_role"), "");
    }

    #[test]
    fn taints_keep_key_value_effect_order() {
        let n = edited(|v| {
            v["spec"]["taints"] = json!([
                {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"},
                {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute", "timeAdded": "2026-11-24T05:20:00Z"}
            ]);
        });
        assert_eq!(
            render(&n, "kube_node_spec_taint"),
            lines(
                "kube_node_spec_taint",
                &[
                    (r#"key="nvidia.com/gpu",value="present",effect="NoSchedule""#, "1"),
                    (
                        r#"key="node.kubernetes.io/unreachable",value="",effect="NoExecute""#,
                        "1"
                    )
                ]
            )
        );
    }

    #[test]
    fn unschedulable() {
        assert_eq!(
            render(&node(control_plane()), "kube_node_spec_unschedulable"),
            lines("kube_node_spec_unschedulable", &[("", "0")])
        );
        let n = edited(|v| v["spec"]["unschedulable"] = json!(true));
        assert_eq!(
            render(&n, "kube_node_spec_unschedulable"),
            lines("kube_node_spec_unschedulable", &[("", "1")])
        );
    }

    #[test]
    fn pod_cidrs_one_series_per_entry() {
        assert_eq!(
            render(&node(control_plane()), "kube_node_spec_pod_cidrs"),
            lines(
                "kube_node_spec_pod_cidrs",
                &[
                    (r#"pod_cidr="10.244.0.0/24""#, "1"),
                    (r#"pod_cidr="fd00:10:244::/64""#, "1")
                ]
            )
        );
        // podCIDR alone (an old single-stack node) is only on kube_node_info.
        let n = edited(|v| v["spec"]["podCIDRs"] = json!(null));
        assert_eq!(render(&n, "kube_node_spec_pod_cidrs"), "");
    }

    #[test]
    fn capacity_and_allocatable_with_hugepages_and_extended_resources() {
        let n = edited(|v| {
            v["status"]["capacity"]["nvidia.com/gpu"] = json!("4");
            v["status"]["capacity"]["attachable-volumes-aws-ebs"] = json!("39");
            v["status"]["capacity"]["kubernetes.io/batch-cpu"] = json!("1");
            v["status"]["allocatable"]["nvidia.com/gpu"] = json!("4");
            v["status"]["allocatable"]["example.com/dongle"] = json!("many");
        });
        assert_eq!(
            render(&n, "kube_node_status_capacity"),
            lines(
                "kube_node_status_capacity",
                &[
                    (r#"resource="attachable_volumes_aws_ebs",unit="byte""#, "39"),
                    (r#"resource="cpu",unit="core""#, "8"),
                    (r#"resource="ephemeral_storage",unit="byte""#, "1.073741824e+11"),
                    (r#"resource="hugepages_1Gi",unit="byte""#, "0"),
                    (r#"resource="hugepages_2Mi",unit="byte""#, "1.073741824e+09"),
                    (r#"resource="memory",unit="byte""#, "3.4359738368e+10"),
                    (r#"resource="nvidia_com_gpu",unit="integer""#, "4"),
                    (r#"resource="pods",unit="integer""#, "110"),
                ]
            )
        );
        // `example.com/dongle` does not parse: that one sample is skipped.
        assert_eq!(
            render(&n, "kube_node_status_allocatable"),
            lines(
                "kube_node_status_allocatable",
                &[
                    (r#"resource="cpu",unit="core""#, "7.85"),
                    (r#"resource="ephemeral_storage",unit="byte""#, "1.0200547328e+11"),
                    (r#"resource="hugepages_1Gi",unit="byte""#, "0"),
                    (r#"resource="hugepages_2Mi",unit="byte""#, "1.073741824e+09"),
                    (r#"resource="memory",unit="byte""#, "3.2447135744e+10"),
                    (r#"resource="nvidia_com_gpu",unit="integer""#, "4"),
                    (r#"resource="pods",unit="integer""#, "110"),
                ]
            )
        );
    }

    #[test]
    fn conditions_are_statesets_in_status_order() {
        let n = edited(|v| {
            v["status"]["conditions"] = json!([
                {"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown"},
                {"type": "MemoryPressure", "status": "True"},
                {"type": "KernelDeadlock", "status": "False", "reason": "KernelHasNoDeadlock"}
            ]);
        });
        let expected: Vec<(String, &str)> = [
            ("Ready", ["0", "0", "1"]),
            ("MemoryPressure", ["1", "0", "0"]),
            ("KernelDeadlock", ["0", "1", "0"]),
        ]
        .iter()
        .flat_map(|(cond, vals)| {
            ["true", "false", "unknown"]
                .iter()
                .zip(vals)
                .map(move |(st, v)| (format!(r#"condition="{cond}",status="{st}""#), *v))
        })
        .collect();
        let rows: Vec<(&str, &str)> = expected.iter().map(|(l, v)| (l.as_str(), *v)).collect();
        assert_eq!(
            render(&n, "kube_node_status_condition"),
            lines("kube_node_status_condition", &rows)
        );
    }

    #[test]
    fn addresses_in_status_order() {
        assert_eq!(
            render(&node(control_plane()), "kube_node_status_addresses"),
            lines(
                "kube_node_status_addresses",
                &[
                    (r#"type="InternalIP",address="10.0.1.10""#, "1"),
                    (r#"type="ExternalIP",address="203.0.113.10""#, "1"),
                    (r#"type="Hostname",address="corpus-node-a""#, "1"),
                ]
            )
        );
    }

    #[test]
    fn labels_and_annotations_follow_the_allowlist() {
        let n = node(control_plane());
        assert_eq!(render(&n, "kube_node_labels"), "");
        assert_eq!(render(&n, "kube_node_annotations"), "");
        let ctx = RenderContext::allow_all();
        assert_eq!(
            render_text(&n, &ctx, "kube_node_annotations"),
            lines(
                "kube_node_annotations",
                &[(r#"annotation_node_alpha_kubernetes_io_ttl="0""#, "1")]
            )
        );
        // In Kubernetes key order: `node-role.…` sorts before `node.…`.
        assert_eq!(
            render_text(&n, &ctx, "kube_node_labels"),
            lines(
                "kube_node_labels",
                &[(
                    r#"label_kubernetes_io_arch="amd64",label_kubernetes_io_hostname="corpus-node-a",label_kubernetes_io_os="linux",label_node_role_kubernetes_io_control_plane="",label_node_kubernetes_io_instance_type="m6i.2xlarge",label_topology_kubernetes_io_zone="eu-central-1a""#,
                    "1"
                )]
            )
        );
    }

    #[test]
    fn index_is_readiness_and_creation() {
        let n = node(control_plane());
        assert_eq!(
            n.index(),
            Some(ObjectIndex {
                node: "".into(),
                live: true,
                created: 1_795_496_941,
            })
        );
        let not_ready = edited(|v| v["status"]["conditions"][3]["status"] = json!("False"));
        assert!(!not_ready.index().is_some_and(|i| i.live));
        let bare = node(json!({"metadata": {"name": "corpus-node-a"}}));
        assert_eq!(bare.index(), Some(ObjectIndex::default()));
    }
}
