//! `pods`: KSM's `internal/store/pod.go`. Base labels `namespace,pod,uid`.
//!
//! Families are listed in KSM's generator order (the order `/metrics` prints them). Every
//! generator reads optional fields defensively: a missing timestamp or an unparseable quantity
//! drops that one sample, never the family or the object.

use std::collections::BTreeMap;
use std::net::Ipv6Addr;

use k8s_openapi::api::core::v1::{
    Container, ContainerStateTerminated, ContainerStatus, Pod, PodCondition, PodSpec, PodStatus, ResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as KubeQuantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::quantity::{Quantity, container_resource};
use super::{FamilyDef, ObjectFamilies, ObjectIndex, Samples, Stability::*, bool_value, condition_values, meta};

impl ObjectFamilies for Pod {
    const BASE_LABELS: &'static [&'static str] = &["namespace", "pod", "uid"];

    fn base_label_values(&self) -> Vec<&str> {
        vec![
            self.metadata.namespace.as_deref().unwrap_or(""),
            self.metadata.name.as_deref().unwrap_or(""),
            self.metadata.uid.as_deref().unwrap_or(""),
        ]
    }

    fn families() -> Vec<FamilyDef<Self>> {
        family_defs()
    }

    fn index(&self) -> Option<ObjectIndex> {
        let running = status_str(self, |st| st.phase.as_deref()) == "Running";
        let statuses = container_statuses(self);
        Some(ObjectIndex {
            node: spec_str(self, |sp| sp.node_name.as_deref()).into(),
            live: running && !statuses.is_empty() && statuses.iter().all(is_running),
            created: self.metadata.creation_timestamp.as_ref().map_or(0, |t| t.0.as_second()),
        })
    }
}

/// `kube_pod_status_reason` values KSM v2.20 knows; any other non-empty `status.reason` is
/// reported as `Other`.
const POD_STATUS_REASONS: [&str; 8] = [
    "Evicted",
    "NodeAffinity",
    "NodeLost",
    "PreemptionByScheduler",
    "SchedulingGated",
    "Shutdown",
    "TerminationByKubelet",
    "UnexpectedAdmissionError",
];

/// `kube_pod_status_disruption_reason` values (reasons of the `DisruptionTarget` condition);
/// anything else non-empty is reported as `Other`.
const POD_DISRUPTION_REASONS: [&str; 5] = [
    "PreemptionByScheduler",
    "DeletionByTaintManager",
    "EvictionByEvictionAPI",
    "DeletionByPodGC",
    "TerminationByKubelet",
];

/// Closures in the table infer their object type from this alias.
type Def = FamilyDef<Pod>;

fn family_defs() -> Vec<FamilyDef<Pod>> {
    const P: &str = "kube_pod";
    vec![
        Def::gauge(
            "kube_pod_completion_time",
            Stable,
            "Completion time in unix timestamp for a pod.",
            |p, _, s| completion_time(p, s),
        ),
        Def::gauge(
            "kube_pod_container_info",
            Stable,
            "Information about a container in a pod.",
            |p, _, s| container_info(containers(p), container_statuses(p), false, s),
        ),
        Def::gauge(
            "kube_pod_container_resource_limits",
            Stable,
            "The number of requested limit resource by a container. It is recommended to use the kube_pod_resource_limits metric exposed by kube-scheduler instead, as it is more precise.",
            |p, _, s| container_resources(p, containers(p), |r| r.limits.as_ref(), s),
        ),
        Def::gauge(
            "kube_pod_container_resource_requests",
            Stable,
            "The number of requested request resource by a container. It is recommended to use the kube_pod_resource_requests metric exposed by kube-scheduler instead, as it is more precise.",
            |p, _, s| container_resources(p, containers(p), |r| r.requests.as_ref(), s),
        ),
        Def::gauge(
            "kube_pod_container_state_started",
            Stable,
            "Start time in unix timestamp for a pod container.",
            |p, _, s| state_started(container_statuses(p), s),
        ),
        Def::gauge(
            "kube_pod_container_status_last_terminated_reason",
            Alpha,
            "Describes the last reason the container was in terminated state.",
            |p, _, s| last_terminated_reason(container_statuses(p), s),
        ),
        Def::gauge(
            "kube_pod_container_status_last_terminated_exitcode",
            Alpha,
            "Describes the exit code for the last container in terminated state.",
            |p, _, s| last_terminated_exitcode(container_statuses(p), s),
        ),
        Def::gauge(
            "kube_pod_container_status_last_terminated_timestamp",
            Alpha,
            "Last terminated time for a pod container in unix timestamp.",
            |p, _, s| last_terminated_timestamp(container_statuses(p), s),
        ),
        Def::gauge(
            "kube_pod_container_status_ready",
            Stable,
            "Describes whether the containers readiness check succeeded.",
            |p, _, s| status_ready(container_statuses(p), s),
        ),
        Def::counter(
            "kube_pod_container_status_restarts_total",
            Stable,
            "The number of container restarts per container.",
            |p, _, s| restarts_total(container_statuses(p), s),
        ),
        Def::gauge(
            "kube_pod_container_status_running",
            Stable,
            "Describes whether the container is currently in running state.",
            |p, _, s| status_running(container_statuses(p), s),
        ),
        Def::gauge(
            "kube_pod_container_status_terminated",
            Stable,
            "Describes whether the container is currently in terminated state.",
            |p, _, s| status_terminated(container_statuses(p), s),
        ),
        Def::gauge(
            "kube_pod_container_status_terminated_reason",
            Alpha,
            "Describes the reason the container is currently in terminated state.",
            |p, _, s| terminated_reason(container_statuses(p), s),
        ),
        Def::gauge(
            "kube_pod_container_status_waiting",
            Stable,
            "Describes whether the container is currently in waiting state.",
            |p, _, s| status_waiting(container_statuses(p), s),
        ),
        Def::gauge(
            "kube_pod_container_status_waiting_reason",
            Stable,
            "Describes the reason the container is currently in waiting state.",
            |p, _, s| waiting_reason(container_statuses(p), s),
        ),
        Def::created(P, Stable, "Unix creation timestamp"),
        Def::deletion_timestamp(P, Alpha),
        Def::gauge("kube_pod_info", Stable, "Information about pod.", |p, _, s| info(p, s)),
        Def::gauge("kube_pod_ips", Alpha, "Pod IP addresses", |p, _, s| ips(p, s)),
        Def::gauge(
            "kube_pod_init_container_info",
            Stable,
            "Information about an init container in a pod.",
            |p, _, s| container_info(init_containers(p), init_container_statuses(p), true, s),
        ),
        Def::gauge(
            "kube_pod_init_container_resource_limits",
            Alpha,
            "The number of requested limit resource by an init container.",
            |p, _, s| container_resources(p, init_containers(p), |r| r.limits.as_ref(), s),
        ),
        Def::gauge(
            "kube_pod_init_container_resource_requests",
            Alpha,
            "The number of requested request resource by an init container.",
            |p, _, s| container_resources(p, init_containers(p), |r| r.requests.as_ref(), s),
        ),
        Def::gauge(
            "kube_pod_init_container_state_started",
            Alpha,
            "Start time in unix timestamp for a pod init container.",
            |p, _, s| state_started(init_container_statuses(p), s),
        ),
        Def::gauge(
            "kube_pod_init_container_status_last_terminated_reason",
            Alpha,
            "Describes the last reason the init container was in terminated state.",
            |p, _, s| last_terminated_reason(init_container_statuses(p), s),
        ),
        Def::gauge(
            "kube_pod_init_container_status_last_terminated_exitcode",
            Alpha,
            "Describes the exit code for the last init container in terminated state.",
            |p, _, s| last_terminated_exitcode(init_container_statuses(p), s),
        ),
        Def::gauge(
            "kube_pod_init_container_status_last_terminated_timestamp",
            Alpha,
            "Last terminated time for a pod init container in unix timestamp.",
            |p, _, s| last_terminated_timestamp(init_container_statuses(p), s),
        ),
        Def::gauge(
            "kube_pod_init_container_status_ready",
            Stable,
            "Describes whether the init containers readiness check succeeded.",
            |p, _, s| status_ready(init_container_statuses(p), s),
        ),
        Def::counter(
            "kube_pod_init_container_status_restarts_total",
            Stable,
            "The number of restarts for the init container.",
            |p, _, s| restarts_total(init_container_statuses(p), s),
        ),
        Def::gauge(
            "kube_pod_init_container_status_running",
            Stable,
            "Describes whether the init container is currently in running state.",
            |p, _, s| status_running(init_container_statuses(p), s),
        ),
        Def::gauge(
            "kube_pod_init_container_status_terminated",
            Stable,
            "Describes whether the init container is currently in terminated state.",
            |p, _, s| status_terminated(init_container_statuses(p), s),
        ),
        Def::gauge(
            "kube_pod_init_container_status_terminated_reason",
            Alpha,
            "Describes the reason the init container is currently in terminated state.",
            |p, _, s| terminated_reason(init_container_statuses(p), s),
        ),
        Def::gauge(
            "kube_pod_init_container_status_waiting",
            Stable,
            "Describes whether the init container is currently in waiting state.",
            |p, _, s| status_waiting(init_container_statuses(p), s),
        ),
        Def::gauge(
            "kube_pod_init_container_status_waiting_reason",
            Alpha,
            "Describes the reason the init container is currently in waiting state.",
            |p, _, s| waiting_reason(init_container_statuses(p), s),
        ),
        Def::annotations(P, Alpha),
        Def::labels(P, Stable),
        Def::gauge(
            "kube_pod_overhead_cpu_cores",
            Alpha,
            "The pod overhead in regards to cpu cores associated with running a pod.",
            |p, _, s| overhead(p, "cpu", s),
        ),
        Def::gauge(
            "kube_pod_overhead_memory_bytes",
            Alpha,
            "The pod overhead in regards to memory associated with running a pod.",
            |p, _, s| overhead(p, "memory", s),
        ),
        Def::owner(P, Stable, "Information about the Pod's owner."),
        Def::gauge(
            "kube_pod_restart_policy",
            Stable,
            "Describes the restart policy in use by this pod.",
            |p, _, s| s.push([("type", spec_str(p, |sp| sp.restart_policy.as_deref()))], 1.0),
        ),
        Def::gauge(
            "kube_pod_runtimeclass_name_info",
            Alpha,
            "The runtimeclass associated with the pod.",
            |p, _, s| {
                if let Some(name) = spec(p).and_then(|sp| sp.runtime_class_name.as_deref()) {
                    s.push([("runtimeclass_name", name)], 1.0);
                }
            },
        ),
        Def::gauge(
            "kube_pod_spec_volumes_persistentvolumeclaims_info",
            Stable,
            "Information about persistentvolumeclaim and ephemeral volumes in a pod.",
            |p, _, s| pvc_volumes(p, false, s),
        ),
        Def::gauge(
            "kube_pod_spec_volumes_persistentvolumeclaims_readonly",
            Stable,
            "Describes whether a persistentvolumeclaim is mounted read only. Ephemeral volumes always report 0 since the ephemeral volume source does not support a read-only flag.",
            |p, _, s| pvc_volumes(p, true, s),
        ),
        Def::gauge(
            "kube_pod_start_time",
            Stable,
            "Start time in unix timestamp for a pod.",
            |p, _, s| {
                if let Some(t) = status(p).and_then(|st| st.start_time.as_ref()) {
                    s.value(meta::unix_seconds(t));
                }
            },
        ),
        Def::gauge("kube_pod_status_phase", Stable, "The pods current phase.", |p, _, s| {
            let phase = status_str(p, |st| st.phase.as_deref());
            stateset(
                phase,
                "phase",
                &["Pending", "Succeeded", "Failed", "Unknown", "Running"],
                s,
            )
        }),
        Def::gauge(
            "kube_pod_status_qos_class",
            Alpha,
            "The pods current qosClass.",
            |p, _, s| {
                let class = status_str(p, |st| st.qos_class.as_deref());
                stateset(class, "qos_class", &["BestEffort", "Burstable", "Guaranteed"], s)
            },
        ),
        Def::gauge(
            "kube_pod_status_ready",
            Stable,
            "Describes whether the pod is ready to serve requests.",
            |p, _, s| condition_stateset(p, "Ready", s),
        ),
        Def::gauge(
            "kube_pod_status_ready_time",
            Alpha,
            "Readiness achieved time in unix timestamp for a pod.",
            |p, _, s| condition_time(p, "Ready", "True", s),
        ),
        Def::gauge(
            "kube_pod_status_initialized_time",
            Alpha,
            "Initialized time in unix timestamp for a pod.",
            |p, _, s| condition_time(p, "Initialized", "True", s),
        ),
        Def::gauge(
            "kube_pod_status_container_ready_time",
            Alpha,
            "Readiness achieved time in unix timestamp for a pod containers.",
            |p, _, s| condition_time(p, "ContainersReady", "True", s),
        ),
        Def::gauge("kube_pod_status_reason", Alpha, "The pod status reasons", |p, _, s| {
            if let Some(reason) = pod_status_reason(p) {
                s.push([("reason", reason)], 1.0);
            }
        }),
        Def::gauge(
            "kube_pod_status_disruption_reason",
            Alpha,
            "The pod disruption condition reason",
            |p, _, s| {
                if let Some(reason) = pod_disruption_reason(p) {
                    s.push([("reason", reason)], 1.0);
                }
            },
        ),
        Def::gauge(
            "kube_pod_status_scheduled",
            Stable,
            "Describes the status of the scheduling process for the pod.",
            |p, _, s| condition_stateset(p, "PodScheduled", s),
        ),
        Def::gauge(
            "kube_pod_status_scheduled_time",
            Stable,
            "Unix timestamp when pod moved into scheduled status",
            |p, _, s| condition_time(p, "PodScheduled", "True", s),
        ),
        Def::gauge(
            "kube_pod_status_unschedulable",
            Stable,
            "Describes the unschedulable status for the pod.",
            |p, _, s| {
                for _ in conditions(p)
                    .iter()
                    .filter(|c| c.type_ == "PodScheduled" && c.status == "False")
                {
                    s.value(1.0);
                }
            },
        ),
        Def::gauge(
            "kube_pod_status_unscheduled_time",
            Alpha,
            "Unix timestamp when pod moved into unscheduled status",
            |p, _, s| condition_time(p, "PodScheduled", "False", s),
        ),
        Def::gauge(
            "kube_pod_tolerations",
            Alpha,
            "Information about the pod tolerations",
            |p, _, s| tolerations(p, s),
        ),
        Def::gauge(
            "kube_pod_nodeselectors",
            Alpha,
            "Describes the Pod nodeSelectors.",
            |p, _, s| node_selectors(p, s),
        )
        .opt_in(),
        Def::gauge(
            "kube_pod_service_account",
            Alpha,
            "The service account for a pod.",
            |p, _, s| {
                s.push(
                    [("service_account", spec_str(p, |sp| sp.service_account_name.as_deref()))],
                    1.0,
                )
            },
        ),
        Def::gauge("kube_pod_scheduler", Alpha, "The scheduler for a pod.", |p, _, s| {
            s.push([("name", spec_str(p, |sp| sp.scheduler_name.as_deref()))], 1.0)
        }),
        Def::gauge(
            "kube_pod_resourceclaim_info",
            Alpha,
            "Information about a DRA ResourceClaim referenced by a pod, one series per pod.spec.resourceClaims entry; claim_name is the pod-local reference and resourceclaim_name is the resolved ResourceClaim object name.",
            |p, _, s| resource_claims(p, s),
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// Accessors: every optional part of a Pod read as a slice or `""`, never unwrapped.

fn spec(p: &Pod) -> Option<&PodSpec> {
    p.spec.as_ref()
}

fn status(p: &Pod) -> Option<&PodStatus> {
    p.status.as_ref()
}

/// A spec string field, `""` when unset (Go's zero value, which KSM prints).
fn spec_str<'a>(p: &'a Pod, f: impl FnOnce(&'a PodSpec) -> Option<&'a str>) -> &'a str {
    spec(p).and_then(f).unwrap_or("")
}

/// A status string field, `""` when unset.
fn status_str<'a>(p: &'a Pod, f: impl FnOnce(&'a PodStatus) -> Option<&'a str>) -> &'a str {
    status(p).and_then(f).unwrap_or("")
}

fn containers(p: &Pod) -> &[Container] {
    spec(p).map(|sp| sp.containers.as_slice()).unwrap_or(&[])
}

fn init_containers(p: &Pod) -> &[Container] {
    spec(p).and_then(|sp| sp.init_containers.as_deref()).unwrap_or(&[])
}

fn container_statuses(p: &Pod) -> &[ContainerStatus] {
    status(p).and_then(|st| st.container_statuses.as_deref()).unwrap_or(&[])
}

fn init_container_statuses(p: &Pod) -> &[ContainerStatus] {
    status(p)
        .and_then(|st| st.init_container_statuses.as_deref())
        .unwrap_or(&[])
}

fn conditions(p: &Pod) -> &[PodCondition] {
    status(p).and_then(|st| st.conditions.as_deref()).unwrap_or(&[])
}

fn is_running(cs: &ContainerStatus) -> bool {
    cs.state.as_ref().is_some_and(|st| st.running.is_some())
}

fn terminated(cs: &ContainerStatus) -> Option<&ContainerStateTerminated> {
    cs.state.as_ref().and_then(|st| st.terminated.as_ref())
}

fn last_terminated(cs: &ContainerStatus) -> Option<&ContainerStateTerminated> {
    cs.last_state.as_ref().and_then(|st| st.terminated.as_ref())
}

fn push_container_ts(cs: &ContainerStatus, t: Option<&Time>, s: &mut Samples) {
    s.push([("container", cs.name.as_str())], go_time(t));
}

/// Go's `time.Time{}.Unix()`, -62135596800.
const GO_ZERO_UNIX: f64 = -62_135_596_800.0;

/// Unix seconds of a timestamp Go holds by value (`metav1.Time`, not `*metav1.Time`): KSM reads
/// it without a nil check, so one the API left null (a `ContainerStatusUnknown` state, a
/// condition patched without `lastTransitionTime`) is written as the zero time.
fn go_time(t: Option<&Time>) -> f64 {
    t.map_or(GO_ZERO_UNIX, meta::unix_seconds)
}

// ---------------------------------------------------------------------------------------------
// Container families (shared by regular and init containers).

/// Latest `finishedAt` of the containers currently terminated, when positive.
fn completion_time(p: &Pod, s: &mut Samples) {
    let latest = container_statuses(p)
        .iter()
        .filter_map(|cs| terminated(cs).and_then(|t| t.finished_at.as_ref()))
        .map(meta::unix_seconds)
        .fold(None, |acc: Option<f64>, v| Some(acc.map_or(v, |a| a.max(v))));
    if let Some(v) = latest.filter(|v| *v > 0.0) {
        s.value(v);
    }
}

/// `container, image_spec, image, image_id, container_id[, restart_policy]`: one series per
/// spec container that has a status, in spec order.
fn container_info(specs: &[Container], statuses: &[ContainerStatus], init: bool, s: &mut Samples) {
    for c in specs {
        let image_spec = c.image.as_deref().unwrap_or("");
        let restart_policy = c.restart_policy.as_deref().unwrap_or("");
        for cs in statuses.iter().filter(|cs| cs.name == c.name) {
            let container_id = cs.container_id.as_deref().unwrap_or("");
            let labels = [
                ("container", cs.name.as_str()),
                ("image_spec", image_spec),
                ("image", cs.image.as_str()),
                ("image_id", cs.image_id.as_str()),
                ("container_id", container_id),
                ("restart_policy", restart_policy),
            ];
            let n = if init { 6 } else { 5 };
            s.push(labels.into_iter().take(n), 1.0);
        }
    }
}

/// `container, node, resource, unit`, resources in name order. Cores are milli-value / 1000;
/// bytes and integers are `Value()`. Resources KSM has no unit for, and unparseable quantities,
/// are skipped.
fn container_resources(
    p: &Pod,
    specs: &[Container],
    pick: fn(&ResourceRequirements) -> Option<&BTreeMap<String, KubeQuantity>>,
    s: &mut Samples,
) {
    let node = spec_str(p, |sp| sp.node_name.as_deref());
    for c in specs {
        let Some(map) = c.resources.as_ref().and_then(pick) else {
            continue;
        };
        for (name, raw) in map {
            let Some(r) = container_resource(name, &raw.0) else {
                continue;
            };
            s.push(
                [
                    ("container", c.name.as_str()),
                    ("node", node),
                    ("resource", r.resource.as_str()),
                    ("unit", r.unit),
                ],
                r.value,
            );
        }
    }
}

/// Start time of a running container, or of a terminated one.
fn state_started(statuses: &[ContainerStatus], s: &mut Samples) {
    for cs in statuses {
        let Some(state) = cs.state.as_ref() else { continue };
        if let Some(running) = &state.running {
            push_container_ts(cs, running.started_at.as_ref(), s);
        } else if let Some(term) = &state.terminated {
            push_container_ts(cs, term.started_at.as_ref(), s);
        }
    }
}

fn last_terminated_reason(statuses: &[ContainerStatus], s: &mut Samples) {
    for cs in statuses {
        if let Some(t) = last_terminated(cs) {
            s.push(
                [
                    ("container", cs.name.as_str()),
                    ("reason", t.reason.as_deref().unwrap_or("")),
                ],
                1.0,
            );
        }
    }
}

fn last_terminated_exitcode(statuses: &[ContainerStatus], s: &mut Samples) {
    for cs in statuses {
        if let Some(t) = last_terminated(cs) {
            s.push([("container", cs.name.as_str())], f64::from(t.exit_code));
        }
    }
}

fn last_terminated_timestamp(statuses: &[ContainerStatus], s: &mut Samples) {
    for cs in statuses {
        if let Some(t) = last_terminated(cs) {
            push_container_ts(cs, t.finished_at.as_ref(), s);
        }
    }
}

fn status_ready(statuses: &[ContainerStatus], s: &mut Samples) {
    for cs in statuses {
        s.push([("container", cs.name.as_str())], bool_value(cs.ready));
    }
}

fn restarts_total(statuses: &[ContainerStatus], s: &mut Samples) {
    for cs in statuses {
        s.push([("container", cs.name.as_str())], f64::from(cs.restart_count));
    }
}

fn status_running(statuses: &[ContainerStatus], s: &mut Samples) {
    for cs in statuses {
        s.push([("container", cs.name.as_str())], bool_value(is_running(cs)));
    }
}

fn status_terminated(statuses: &[ContainerStatus], s: &mut Samples) {
    for cs in statuses {
        s.push([("container", cs.name.as_str())], bool_value(terminated(cs).is_some()));
    }
}

fn terminated_reason(statuses: &[ContainerStatus], s: &mut Samples) {
    for cs in statuses {
        if let Some(t) = terminated(cs) {
            s.push(
                [
                    ("container", cs.name.as_str()),
                    ("reason", t.reason.as_deref().unwrap_or("")),
                ],
                1.0,
            );
        }
    }
}

fn status_waiting(statuses: &[ContainerStatus], s: &mut Samples) {
    for cs in statuses {
        let waiting = cs.state.as_ref().is_some_and(|st| st.waiting.is_some());
        s.push([("container", cs.name.as_str())], bool_value(waiting));
    }
}

/// Only containers currently waiting get a series.
fn waiting_reason(statuses: &[ContainerStatus], s: &mut Samples) {
    for cs in statuses {
        if let Some(w) = cs.state.as_ref().and_then(|st| st.waiting.as_ref()) {
            s.push(
                [
                    ("container", cs.name.as_str()),
                    ("reason", w.reason.as_deref().unwrap_or("")),
                ],
                1.0,
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Pod-level families.

/// `host_ip, pod_ip, node, created_by_kind, created_by_name, priority_class, host_network`;
/// `created_by_*` come from the first owner reference marked as controller.
fn info(p: &Pod, s: &mut Samples) {
    let controller = p
        .metadata
        .owner_references
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .find(|o| o.controller == Some(true));
    let host_network = spec(p).and_then(|sp| sp.host_network).unwrap_or(false);
    s.push(
        [
            ("host_ip", status_str(p, |st| st.host_ip.as_deref())),
            ("pod_ip", status_str(p, |st| st.pod_ip.as_deref())),
            ("node", spec_str(p, |sp| sp.node_name.as_deref())),
            ("created_by_kind", controller.map_or("", |o| o.kind.as_str())),
            ("created_by_name", controller.map_or("", |o| o.name.as_str())),
            ("priority_class", spec_str(p, |sp| sp.priority_class_name.as_deref())),
            ("host_network", if host_network { "true" } else { "false" }),
        ],
        1.0,
    );
}

/// `ip, ip_family` per `status.podIPs` entry; entries that are not IP addresses are skipped
/// (KSM v2.20, #3059).
fn ips(p: &Pod, s: &mut Samples) {
    for ip in status(p).and_then(|st| st.pod_ips.as_deref()).unwrap_or(&[]) {
        if let Some(family) = ip_family(&ip.ip) {
            s.push([("ip", ip.ip.as_str()), ("ip_family", family)], 1.0);
        }
    }
}

/// `"4"` or `"6"` as Go's `net.ParseIPSloppy` + `IsIPv4`/`IsIPv6` decide: dotted quads may have
/// leading zeros, and IPv4-mapped IPv6 addresses count as IPv4.
fn ip_family(raw: &str) -> Option<&'static str> {
    if is_sloppy_ipv4(raw) {
        return Some("4");
    }
    let v6: Ipv6Addr = raw.parse().ok()?;
    Some(if v6.to_ipv4_mapped().is_some() { "4" } else { "6" })
}

fn is_sloppy_ipv4(raw: &str) -> bool {
    let parts: Vec<&str> = raw.split('.').collect();
    parts.len() == 4
        && parts.iter().all(|part| {
            !part.is_empty()
                && part.len() <= 3
                && part.bytes().all(|b| b.is_ascii_digit())
                && part.parse::<u16>().is_ok_and(|v| v <= 255)
        })
}

/// Cores (milli-value / 1000) for `cpu`, `Value()` bytes for `memory`.
fn overhead(p: &Pod, resource: &str, s: &mut Samples) {
    let Some(raw) = spec(p)
        .and_then(|sp| sp.overhead.as_ref())
        .and_then(|o| o.get(resource))
    else {
        return;
    };
    let Some(q) = Quantity::parse(&raw.0) else { return };
    s.value(if resource == "cpu" {
        q.ksm_float()
    } else {
        q.value() as f64
    });
}

/// `volume, persistentvolumeclaim, ephemeral` for PVC volumes and generic ephemeral volumes
/// (whose claim is named `<pod>-<volume>` by the ephemeral volume controller). With `readonly`,
/// the value is the volume's `readOnly` flag (ephemeral volumes have none: 0); else 1.
fn pvc_volumes(p: &Pod, readonly: bool, s: &mut Samples) {
    let pod_name = p.metadata.name.as_deref().unwrap_or("");
    for v in spec(p).and_then(|sp| sp.volumes.as_deref()).unwrap_or(&[]) {
        if let Some(pvc) = &v.persistent_volume_claim {
            let value = if readonly {
                bool_value(pvc.read_only == Some(true))
            } else {
                1.0
            };
            s.push(
                [
                    ("volume", v.name.as_str()),
                    ("persistentvolumeclaim", pvc.claim_name.as_str()),
                    ("ephemeral", "false"),
                ],
                value,
            );
        } else if v.ephemeral.is_some() {
            let claim = format!("{pod_name}-{}", v.name);
            let value = if readonly { 0.0 } else { 1.0 };
            s.push(
                [
                    ("volume", v.name.as_str()),
                    ("persistentvolumeclaim", claim.as_str()),
                    ("ephemeral", "true"),
                ],
                value,
            );
        }
    }
}

/// One 0/1 series per known value, in KSM's order; nothing when the field is empty.
fn stateset(current: &str, label: &str, values: &[&str], s: &mut Samples) {
    if current.is_empty() {
        return;
    }
    for v in values {
        s.push([(label, *v)], bool_value(current == *v));
    }
}

/// `condition=true|false|unknown` for every condition of this type.
fn condition_stateset(p: &Pod, type_: &str, s: &mut Samples) {
    for c in conditions(p).iter().filter(|c| c.type_ == type_) {
        for (label, value) in condition_values(&c.status) {
            s.push([("condition", label)], value);
        }
    }
}

/// `lastTransitionTime` of each condition of this type with this status.
fn condition_time(p: &Pod, type_: &str, status: &str, s: &mut Samples) {
    for c in conditions(p).iter().filter(|c| c.type_ == type_ && c.status == status) {
        s.value(go_time(c.last_transition_time.as_ref()));
    }
}

/// KSM v2.20 (#3089): the single reason set on the pod. `status.reason` wins (unknown values
/// become `Other`); otherwise a known reason carried by a condition or by a terminated container.
/// Unknown condition or container reasons produce nothing.
fn pod_status_reason(p: &Pod) -> Option<&'static str> {
    let known = |r: &str| POD_STATUS_REASONS.iter().copied().find(|k| *k == r);
    let reason = status_str(p, |st| st.reason.as_deref());
    if !reason.is_empty() {
        return Some(known(reason).unwrap_or("Other"));
    }
    conditions(p)
        .iter()
        .find_map(|c| c.reason.as_deref().and_then(known))
        .or_else(|| {
            container_statuses(p)
                .iter()
                .find_map(|cs| terminated(cs)?.reason.as_deref().and_then(known))
        })
}

/// KSM v2.20 (#3088): the reason of the `DisruptionTarget` condition, `Other` when unknown,
/// nothing when the pod has no such condition (or it carries no reason).
fn pod_disruption_reason(p: &Pod) -> Option<&'static str> {
    let c = conditions(p).iter().find(|c| c.type_ == "DisruptionTarget")?;
    let reason = c.reason.as_deref().filter(|r| !r.is_empty())?;
    Some(
        POD_DISRUPTION_REASONS
            .iter()
            .copied()
            .find(|k| *k == reason)
            .unwrap_or("Other"),
    )
}

/// `key, operator, value, effect, toleration_seconds`; identical tolerations are reported once
/// (KSM #2835 compares field values, not pointers).
fn tolerations(p: &Pod, s: &mut Samples) {
    let mut seen: Vec<[String; 5]> = Vec::new();
    for t in spec(p).and_then(|sp| sp.tolerations.as_deref()).unwrap_or(&[]) {
        let row = [
            t.key.clone().unwrap_or_default(),
            t.operator.clone().unwrap_or_default(),
            t.value.clone().unwrap_or_default(),
            t.effect.clone().unwrap_or_default(),
            t.toleration_seconds.map(|v| v.to_string()).unwrap_or_default(),
        ];
        if seen.contains(&row) {
            continue;
        }
        s.push(
            [
                ("key", row[0].as_str()),
                ("operator", row[1].as_str()),
                ("value", row[2].as_str()),
                ("effect", row[3].as_str()),
                ("toleration_seconds", row[4].as_str()),
            ],
            1.0,
        );
        seen.push(row);
    }
}

/// One series carrying `nodeselector_<key>` labels (always emitted, even without selectors).
fn node_selectors(p: &Pod, s: &mut Samples) {
    let pairs: Vec<(&str, &str)> = spec(p)
        .and_then(|sp| sp.node_selector.as_ref())
        .map(|m| m.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect())
        .unwrap_or_default();
    s.push(meta::prometheus_label_pairs("nodeselector", &pairs), 1.0);
}

/// `claim_name, resourceclaim_name, resourceclaim_template_name` per `spec.resourceClaims`
/// entry. A template entry's claim name comes from `status.resourceClaimStatuses` (empty until
/// the claim is generated); entries naming neither a claim nor a template are skipped.
fn resource_claims(p: &Pod, s: &mut Samples) {
    let claim_statuses = status(p)
        .and_then(|st| st.resource_claim_statuses.as_deref())
        .unwrap_or(&[]);
    for rc in spec(p).and_then(|sp| sp.resource_claims.as_deref()).unwrap_or(&[]) {
        let direct = rc.resource_claim_name.as_deref().unwrap_or("");
        let template = rc.resource_claim_template_name.as_deref().unwrap_or("");
        if direct.is_empty() && template.is_empty() {
            continue;
        }
        let resolved = if direct.is_empty() {
            claim_statuses
                .iter()
                .find(|cs| cs.name == rc.name)
                .and_then(|cs| cs.resource_claim_name.as_deref())
                .unwrap_or("")
        } else {
            direct
        };
        s.push(
            [
                ("claim_name", rc.name.as_str()),
                ("resourceclaim_name", resolved),
                ("resourceclaim_template_name", template),
            ],
            1.0,
        );
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::families::allowlist::KeyPattern;
    use crate::families::{EnabledFamilies, KeyFilter, RenderContext, render_text};

    const BASE: &str = r#"namespace="shop",pod="web-7d9f8b6c5d-x2k4p",uid="9bd56d2f-59d7-4c5a-b68e-74a7eaddd077""#;

    /// The pod a v1.36 API server returned in `object-pod.http` (managedFields dropped), plus a
    /// restarted app container and a read-only PVC volume.
    fn web_json() -> Value {
        json!({
            "kind": "Pod",
            "apiVersion": "v1",
            "metadata": {
                "name": "web-7d9f8b6c5d-x2k4p",
                "namespace": "shop",
                "uid": "9bd56d2f-59d7-4c5a-b68e-74a7eaddd077",
                "resourceVersion": "312",
                "generation": 1,
                "creationTimestamp": "2026-11-24T05:09:02Z",
                "labels": {
                    "app": "web",
                    "app.kubernetes.io/name": "web",
                    "pod-template-hash": "7d9f8b6c5d",
                    "topology.kubernetes.io/region": "eu-central-1",
                    "topology.kubernetes.io/zone": "eu-central-1a"
                },
                "annotations": {"kubectl.kubernetes.io/restartedAt": "2026-11-23T09:14:00Z"},
                "ownerReferences": [{
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": "web-7d9f8b6c5d",
                    "uid": "6c6d51fd-e109-45d2-bd21-d340c379e908",
                    "controller": true,
                    "blockOwnerDeletion": true
                }]
            },
            "spec": {
                "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "web-content", "readOnly": true}}],
                "initContainers": [
                    {
                        "name": "init-config",
                        "image": "busybox:1.37",
                        "command": ["cp", "/a", "/b"],
                        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                        "terminationMessagePath": "/dev/termination-log",
                        "terminationMessagePolicy": "File",
                        "imagePullPolicy": "IfNotPresent"
                    },
                    {
                        "name": "istio-proxy",
                        "image": "docker.io/istio/proxyv2:1.24.2",
                        "resources": {
                            "limits": {"cpu": "2", "memory": "1Gi"},
                            "requests": {"cpu": "100m", "memory": "128Mi"}
                        },
                        "restartPolicy": "Always",
                        "terminationMessagePath": "/dev/termination-log",
                        "terminationMessagePolicy": "File",
                        "imagePullPolicy": "IfNotPresent"
                    }
                ],
                "containers": [{
                    "name": "nginx",
                    "image": "nginx:1.27.3",
                    "ports": [{"name": "http", "containerPort": 80, "protocol": "TCP"}],
                    "resources": {"limits": {"memory": "512Mi"}, "requests": {"cpu": "250m", "memory": "256Mi"}},
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File",
                    "imagePullPolicy": "IfNotPresent"
                }],
                "restartPolicy": "Always",
                "terminationGracePeriodSeconds": 30,
                "dnsPolicy": "ClusterFirst",
                "nodeSelector": {"kubernetes.io/os": "linux", "topology.kubernetes.io/zone": "eu-central-1a"},
                "serviceAccountName": "web",
                "serviceAccount": "web",
                "nodeName": "corpus-node-a",
                "securityContext": {},
                "schedulerName": "default-scheduler",
                "tolerations": [
                    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
                ],
                "priorityClassName": "corpus-high",
                "priority": 100000,
                "readinessGates": [{"conditionType": "example.com/load-balancer-ready"}],
                "enableServiceLinks": true,
                "preemptionPolicy": "PreemptLowerPriority"
            },
            "status": {
                "phase": "Running",
                "conditions": [
                    {"type": "PodReadyToStartContainers", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2026-11-23T09:15:00Z"},
                    {"type": "Initialized", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2026-11-23T09:15:00Z"},
                    {"type": "Ready", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2026-11-23T09:15:30Z"},
                    {"type": "ContainersReady", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2026-11-23T09:15:30Z"},
                    {"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2026-11-20T08:00:00Z"},
                    {"type": "example.com/load-balancer-ready", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2026-11-23T09:15:30Z"}
                ],
                "hostIP": "10.0.1.10",
                "hostIPs": [{"ip": "10.0.1.10"}],
                "podIP": "10.244.0.10",
                "podIPs": [{"ip": "10.244.0.10"}],
                "startTime": "2026-11-23T09:15:00Z",
                "initContainerStatuses": [
                    {
                        "name": "init-config",
                        "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": "2026-11-23T09:15:00Z", "finishedAt": "2026-11-23T09:15:00Z"}},
                        "lastState": {},
                        "ready": true,
                        "restartCount": 0,
                        "image": "busybox:1.37",
                        "imageID": "docker.io/library/busybox@sha256:3fbbca86",
                        "containerID": "containerd://68df4371"
                    },
                    {
                        "name": "istio-proxy",
                        "state": {"running": {"startedAt": "2026-11-23T09:15:07Z"}},
                        "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": "2026-11-23T09:15:00Z", "finishedAt": "2026-11-23T09:15:05Z"}},
                        "ready": true,
                        "restartCount": 1,
                        "image": "docker.io/istio/proxyv2:1.24.2",
                        "imageID": "docker.io/istio/proxyv2@sha256:3303e23c",
                        "containerID": "containerd://440311c9",
                        "started": true
                    }
                ],
                "containerStatuses": [{
                    "name": "nginx",
                    "state": {"running": {"startedAt": "2026-11-24T02:41:17Z"}},
                    "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled", "startedAt": "2026-11-23T09:15:30Z", "finishedAt": "2026-11-24T02:41:12Z"}},
                    "ready": true,
                    "restartCount": 3,
                    "image": "docker.io/library/nginx:1.27.3",
                    "imageID": "docker.io/library/nginx@sha256:a5cfc879",
                    "containerID": "containerd://6d52345e",
                    "started": true
                }],
                "qosClass": "Burstable"
            }
        })
    }

    fn pod(v: Value) -> Pod {
        serde_json::from_value(v).expect("test pod must deserialize")
    }

    fn web() -> Pod {
        pod(web_json())
    }

    /// The web pod with one JSON edit applied.
    fn web_with(edit: impl FnOnce(&mut Value)) -> Pod {
        let mut v = web_json();
        edit(&mut v);
        pod(v)
    }

    fn ctx() -> RenderContext {
        RenderContext::default()
    }

    fn render(p: &Pod, family: &str) -> String {
        render_text(p, &ctx(), family)
    }

    /// Expected lines: each entry is `(extra labels, value)` appended to the web pod's base labels.
    fn lines(family: &str, rows: &[(&str, &str)]) -> String {
        rows.iter()
            .map(|(labels, value)| {
                let sep = if labels.is_empty() { "" } else { "," };
                format!("{family}{{{BASE}{sep}{labels}}} {value}\n")
            })
            .collect()
    }

    #[test]
    fn info() {
        assert_eq!(
            render(&web(), "kube_pod_info"),
            lines(
                "kube_pod_info",
                &[(
                    r#"host_ip="10.0.1.10",pod_ip="10.244.0.10",node="corpus-node-a",created_by_kind="ReplicaSet",created_by_name="web-7d9f8b6c5d",priority_class="corpus-high",host_network="false""#,
                    "1"
                )]
            )
        );
        let bare = pod(json!({"metadata": {"name": "p", "namespace": "ns", "uid": "u"}}));
        assert_eq!(
            render(&bare, "kube_pod_info"),
            "kube_pod_info{namespace=\"ns\",pod=\"p\",uid=\"u\",host_ip=\"\",pod_ip=\"\",node=\"\",created_by_kind=\"\",created_by_name=\"\",priority_class=\"\",host_network=\"false\"} 1\n"
        );
    }

    #[test]
    fn timestamps() {
        let p = web();
        assert_eq!(
            render(&p, "kube_pod_created"),
            lines("kube_pod_created", &[("", "1.795496942e+09")])
        );
        assert_eq!(
            render(&p, "kube_pod_start_time"),
            lines("kube_pod_start_time", &[("", "1.7954253e+09")])
        );
        assert_eq!(
            render(&p, "kube_pod_status_ready_time"),
            lines("kube_pod_status_ready_time", &[("", "1.79542533e+09")])
        );
        assert_eq!(
            render(&p, "kube_pod_status_scheduled_time"),
            lines("kube_pod_status_scheduled_time", &[("", "1.7951616e+09")])
        );
        assert_eq!(render(&p, "kube_pod_deletion_timestamp"), "");
        assert_eq!(render(&p, "kube_pod_completion_time"), "");
        let deleting = web_with(|v| v["metadata"]["deletionTimestamp"] = json!("2026-11-24T06:00:30Z"));
        assert_eq!(
            render(&deleting, "kube_pod_deletion_timestamp"),
            lines("kube_pod_deletion_timestamp", &[("", "1.79550003e+09")])
        );
    }

    #[test]
    fn status_phase_and_qos() {
        assert_eq!(
            render(&web(), "kube_pod_status_phase"),
            lines(
                "kube_pod_status_phase",
                &[
                    (r#"phase="Pending""#, "0"),
                    (r#"phase="Succeeded""#, "0"),
                    (r#"phase="Failed""#, "0"),
                    (r#"phase="Unknown""#, "0"),
                    (r#"phase="Running""#, "1"),
                ]
            )
        );
        assert_eq!(
            render(&web(), "kube_pod_status_qos_class"),
            lines(
                "kube_pod_status_qos_class",
                &[
                    (r#"qos_class="BestEffort""#, "0"),
                    (r#"qos_class="Burstable""#, "1"),
                    (r#"qos_class="Guaranteed""#, "0")
                ]
            )
        );
        let no_phase = web_with(|v| v["status"] = json!({}));
        assert_eq!(render(&no_phase, "kube_pod_status_phase"), "");
        assert_eq!(render(&no_phase, "kube_pod_status_qos_class"), "");
    }

    #[test]
    fn status_ready_and_scheduled() {
        let ready_true = [
            (r#"condition="true""#, "1"),
            (r#"condition="false""#, "0"),
            (r#"condition="unknown""#, "0"),
        ];
        assert_eq!(
            render(&web(), "kube_pod_status_ready"),
            lines("kube_pod_status_ready", &ready_true)
        );
        assert_eq!(
            render(&web(), "kube_pod_status_scheduled"),
            lines("kube_pod_status_scheduled", &ready_true)
        );
        assert_eq!(render(&web(), "kube_pod_status_unschedulable"), "");
        assert_eq!(render(&web(), "kube_pod_status_unscheduled_time"), "");

        let unschedulable = web_with(|v| {
            v["spec"]["nodeName"] = Value::Null;
            v["status"] = json!({
                "phase": "Pending",
                "conditions": [{
                    "type": "PodScheduled", "status": "False", "lastProbeTime": null,
                    "lastTransitionTime": "2026-11-24T05:09:02Z", "reason": "Unschedulable",
                    "message": "0/3 nodes are available: 3 Insufficient cpu."
                }],
                "qosClass": "Burstable"
            });
        });
        assert_eq!(
            render(&unschedulable, "kube_pod_status_scheduled"),
            lines(
                "kube_pod_status_scheduled",
                &[
                    (r#"condition="true""#, "0"),
                    (r#"condition="false""#, "1"),
                    (r#"condition="unknown""#, "0")
                ]
            )
        );
        assert_eq!(
            render(&unschedulable, "kube_pod_status_unschedulable"),
            lines("kube_pod_status_unschedulable", &[("", "1")])
        );
        assert_eq!(
            render(&unschedulable, "kube_pod_status_unscheduled_time"),
            lines("kube_pod_status_unscheduled_time", &[("", "1.795496942e+09")])
        );
        assert_eq!(render(&unschedulable, "kube_pod_status_scheduled_time"), "");
        assert_eq!(render(&unschedulable, "kube_pod_status_ready"), "");
        assert_eq!(render(&unschedulable, "kube_pod_container_status_running"), "");
    }

    #[test]
    fn container_and_init_container_info() {
        assert_eq!(
            render(&web(), "kube_pod_container_info"),
            lines(
                "kube_pod_container_info",
                &[(
                    r#"container="nginx",image_spec="nginx:1.27.3",image="docker.io/library/nginx:1.27.3",image_id="docker.io/library/nginx@sha256:a5cfc879",container_id="containerd://6d52345e""#,
                    "1"
                )]
            )
        );
        assert_eq!(
            render(&web(), "kube_pod_init_container_info"),
            lines(
                "kube_pod_init_container_info",
                &[
                    (
                        r#"container="init-config",image_spec="busybox:1.37",image="busybox:1.37",image_id="docker.io/library/busybox@sha256:3fbbca86",container_id="containerd://68df4371",restart_policy="""#,
                        "1"
                    ),
                    (
                        r#"container="istio-proxy",image_spec="docker.io/istio/proxyv2:1.24.2",image="docker.io/istio/proxyv2:1.24.2",image_id="docker.io/istio/proxyv2@sha256:3303e23c",container_id="containerd://440311c9",restart_policy="Always""#,
                        "1"
                    ),
                ]
            )
        );
    }

    #[test]
    fn container_states() {
        let p = web();
        assert_eq!(
            render(&p, "kube_pod_container_status_running"),
            lines("kube_pod_container_status_running", &[(r#"container="nginx""#, "1")])
        );
        assert_eq!(
            render(&p, "kube_pod_container_status_waiting"),
            lines("kube_pod_container_status_waiting", &[(r#"container="nginx""#, "0")])
        );
        assert_eq!(
            render(&p, "kube_pod_container_status_terminated"),
            lines("kube_pod_container_status_terminated", &[(r#"container="nginx""#, "0")])
        );
        assert_eq!(
            render(&p, "kube_pod_container_status_ready"),
            lines("kube_pod_container_status_ready", &[(r#"container="nginx""#, "1")])
        );
        assert_eq!(
            render(&p, "kube_pod_container_state_started"),
            lines(
                "kube_pod_container_state_started",
                &[(r#"container="nginx""#, "1.795488077e+09")]
            )
        );
        assert_eq!(render(&p, "kube_pod_container_status_waiting_reason"), "");
        assert_eq!(render(&p, "kube_pod_container_status_terminated_reason"), "");
        assert_eq!(
            render(&p, "kube_pod_init_container_status_terminated_reason"),
            lines(
                "kube_pod_init_container_status_terminated_reason",
                &[(r#"container="init-config",reason="Completed""#, "1")]
            )
        );
        assert_eq!(
            render(&p, "kube_pod_init_container_status_running"),
            lines(
                "kube_pod_init_container_status_running",
                &[(r#"container="init-config""#, "0"), (r#"container="istio-proxy""#, "1")]
            )
        );
        assert_eq!(
            render(&p, "kube_pod_init_container_state_started"),
            lines(
                "kube_pod_init_container_state_started",
                &[
                    (r#"container="init-config""#, "1.7954253e+09"),
                    (r#"container="istio-proxy""#, "1.795425307e+09")
                ]
            )
        );
    }

    #[test]
    fn waiting_reason_only_for_waiting_containers() {
        let p = web_with(|v| {
            v["status"]["containerStatuses"][0]["state"] = json!({"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image \"nginx:1.27.3\""}});
            v["status"]["initContainerStatuses"][1]["state"] = json!({"waiting": {"reason": "CrashLoopBackOff"}});
        });
        assert_eq!(
            render(&p, "kube_pod_container_status_waiting_reason"),
            lines(
                "kube_pod_container_status_waiting_reason",
                &[(r#"container="nginx",reason="ImagePullBackOff""#, "1")]
            )
        );
        assert_eq!(
            render(&p, "kube_pod_container_status_waiting"),
            lines("kube_pod_container_status_waiting", &[(r#"container="nginx""#, "1")])
        );
        assert_eq!(render(&p, "kube_pod_container_state_started"), "");
        assert_eq!(
            render(&p, "kube_pod_init_container_status_waiting_reason"),
            lines(
                "kube_pod_init_container_status_waiting_reason",
                &[(r#"container="istio-proxy",reason="CrashLoopBackOff""#, "1")]
            )
        );
    }

    #[test]
    fn terminated_and_completion() {
        let p = web_with(|v| {
            v["spec"]["restartPolicy"] = json!("Never");
            v["status"]["phase"] = json!("Succeeded");
            v["status"]["containerStatuses"][0]["state"] = json!({"terminated": {
                "exitCode": 0, "reason": "Completed", "startedAt": "2026-11-24T05:25:03Z", "finishedAt": "2026-11-24T05:25:39Z"
            }});
        });
        assert_eq!(
            render(&p, "kube_pod_container_status_terminated_reason"),
            lines(
                "kube_pod_container_status_terminated_reason",
                &[(r#"container="nginx",reason="Completed""#, "1")]
            )
        );
        assert_eq!(
            render(&p, "kube_pod_completion_time"),
            lines("kube_pod_completion_time", &[("", "1.795497939e+09")])
        );
        assert_eq!(
            render(&p, "kube_pod_container_state_started"),
            lines(
                "kube_pod_container_state_started",
                &[(r#"container="nginx""#, "1.795497903e+09")]
            )
        );
        assert_eq!(
            render(&p, "kube_pod_restart_policy"),
            lines("kube_pod_restart_policy", &[(r#"type="Never""#, "1")])
        );
    }

    #[test]
    fn last_terminated_and_restarts() {
        let p = web();
        assert_eq!(
            render(&p, "kube_pod_container_status_last_terminated_reason"),
            lines(
                "kube_pod_container_status_last_terminated_reason",
                &[(r#"container="nginx",reason="OOMKilled""#, "1")]
            )
        );
        assert_eq!(
            render(&p, "kube_pod_container_status_last_terminated_exitcode"),
            lines(
                "kube_pod_container_status_last_terminated_exitcode",
                &[(r#"container="nginx""#, "137")]
            )
        );
        assert_eq!(
            render(&p, "kube_pod_container_status_last_terminated_timestamp"),
            lines(
                "kube_pod_container_status_last_terminated_timestamp",
                &[(r#"container="nginx""#, "1.795488072e+09")]
            )
        );
        assert_eq!(
            render(&p, "kube_pod_container_status_restarts_total"),
            lines(
                "kube_pod_container_status_restarts_total",
                &[(r#"container="nginx""#, "3")]
            )
        );
        assert_eq!(
            render(&p, "kube_pod_init_container_status_last_terminated_reason"),
            lines(
                "kube_pod_init_container_status_last_terminated_reason",
                &[(r#"container="istio-proxy",reason="Error""#, "1")]
            )
        );
        assert_eq!(
            render(&p, "kube_pod_init_container_status_last_terminated_exitcode"),
            lines(
                "kube_pod_init_container_status_last_terminated_exitcode",
                &[(r#"container="istio-proxy""#, "1")]
            )
        );
        assert_eq!(
            render(&p, "kube_pod_init_container_status_last_terminated_timestamp"),
            lines(
                "kube_pod_init_container_status_last_terminated_timestamp",
                &[(r#"container="istio-proxy""#, "1.795425305e+09")]
            )
        );
        assert_eq!(
            render(&p, "kube_pod_init_container_status_restarts_total"),
            lines(
                "kube_pod_init_container_status_restarts_total",
                &[(r#"container="init-config""#, "0"), (r#"container="istio-proxy""#, "1")]
            )
        );
        // The kubelet's ContainerStatusUnknown last state has null times; KSM reads Go's zero
        // time there and writes its unix seconds.
        let unknown = web_with(|v| {
            v["status"]["containerStatuses"][0]["lastState"] = json!({"terminated": {
                "exitCode": 137, "reason": "ContainerStatusUnknown",
                "message": "The container could not be located when the pod was terminated",
                "startedAt": null, "finishedAt": null
            }});
        });
        assert_eq!(
            render(&unknown, "kube_pod_container_status_last_terminated_timestamp"),
            lines(
                "kube_pod_container_status_last_terminated_timestamp",
                &[(r#"container="nginx""#, "-6.21355968e+10")]
            )
        );
        assert_eq!(
            render(&unknown, "kube_pod_container_status_last_terminated_reason"),
            lines(
                "kube_pod_container_status_last_terminated_reason",
                &[(r#"container="nginx",reason="ContainerStatusUnknown""#, "1")]
            )
        );
    }

    #[test]
    fn resource_requests_and_limits() {
        let p = web_with(|v| {
            v["spec"]["containers"][0]["resources"] = json!({
                "limits": {"memory": "512Mi", "nvidia.com/gpu": "1", "hugepages-2Mi": "1Gi", "ephemeral-storage": "2Gi"},
                "requests": {"cpu": "250m", "memory": "512Mi", "nvidia.com/gpu": "1", "pods": "1"}
            });
        });
        let node = r#"node="corpus-node-a""#;
        assert_eq!(
            render(&p, "kube_pod_container_resource_requests"),
            lines(
                "kube_pod_container_resource_requests",
                &[
                    (
                        &format!(r#"container="nginx",{node},resource="cpu",unit="core""#),
                        "0.25"
                    ),
                    (
                        &format!(r#"container="nginx",{node},resource="memory",unit="byte""#),
                        "5.36870912e+08"
                    ),
                    (
                        &format!(r#"container="nginx",{node},resource="nvidia_com_gpu",unit="integer""#),
                        "1"
                    ),
                ]
            )
        );
        assert_eq!(
            render(&p, "kube_pod_container_resource_limits"),
            lines(
                "kube_pod_container_resource_limits",
                &[
                    (
                        &format!(r#"container="nginx",{node},resource="ephemeral_storage",unit="byte""#),
                        "2.147483648e+09"
                    ),
                    (
                        &format!(r#"container="nginx",{node},resource="hugepages_2Mi",unit="byte""#),
                        "1.073741824e+09"
                    ),
                    (
                        &format!(r#"container="nginx",{node},resource="memory",unit="byte""#),
                        "5.36870912e+08"
                    ),
                    (
                        &format!(r#"container="nginx",{node},resource="nvidia_com_gpu",unit="integer""#),
                        "1"
                    ),
                ]
            )
        );
        assert_eq!(
            render(&web(), "kube_pod_init_container_resource_requests"),
            lines(
                "kube_pod_init_container_resource_requests",
                &[
                    (
                        &format!(r#"container="init-config",{node},resource="cpu",unit="core""#),
                        "0.01"
                    ),
                    (
                        &format!(r#"container="init-config",{node},resource="memory",unit="byte""#),
                        "1.6777216e+07"
                    ),
                    (
                        &format!(r#"container="istio-proxy",{node},resource="cpu",unit="core""#),
                        "0.1"
                    ),
                    (
                        &format!(r#"container="istio-proxy",{node},resource="memory",unit="byte""#),
                        "1.34217728e+08"
                    ),
                ]
            )
        );
        assert_eq!(
            render(&web(), "kube_pod_init_container_resource_limits"),
            lines(
                "kube_pod_init_container_resource_limits",
                &[
                    (
                        &format!(r#"container="istio-proxy",{node},resource="cpu",unit="core""#),
                        "2"
                    ),
                    (
                        &format!(r#"container="istio-proxy",{node},resource="memory",unit="byte""#),
                        "1.073741824e+09"
                    ),
                ]
            )
        );
    }

    #[test]
    fn malformed_quantity_skips_only_that_sample() {
        let p = web_with(|v| {
            v["spec"]["containers"][0]["resources"]["requests"] = json!({"cpu": "a lot", "memory": "256Mi"});
            v["spec"]["overhead"] = json!({"cpu": "??", "memory": "120Mi"});
        });
        assert_eq!(
            render(&p, "kube_pod_container_resource_requests"),
            lines(
                "kube_pod_container_resource_requests",
                &[(
                    r#"container="nginx",node="corpus-node-a",resource="memory",unit="byte""#,
                    "2.68435456e+08"
                )]
            )
        );
        assert_eq!(render(&p, "kube_pod_overhead_cpu_cores"), "");
        assert_eq!(
            render(&p, "kube_pod_overhead_memory_bytes"),
            lines("kube_pod_overhead_memory_bytes", &[("", "1.2582912e+08")])
        );
        // The rest of the object still renders.
        assert_eq!(
            render(&p, "kube_pod_container_status_restarts_total"),
            lines(
                "kube_pod_container_status_restarts_total",
                &[(r#"container="nginx""#, "3")]
            )
        );
    }

    #[test]
    fn overhead_and_runtimeclass() {
        let p = web_with(|v| {
            v["spec"]["runtimeClassName"] = json!("gvisor");
            v["spec"]["overhead"] = json!({"cpu": "250m", "memory": "120Mi"});
        });
        assert_eq!(
            render(&p, "kube_pod_overhead_cpu_cores"),
            lines("kube_pod_overhead_cpu_cores", &[("", "0.25")])
        );
        assert_eq!(
            render(&p, "kube_pod_overhead_memory_bytes"),
            lines("kube_pod_overhead_memory_bytes", &[("", "1.2582912e+08")])
        );
        assert_eq!(
            render(&p, "kube_pod_runtimeclass_name_info"),
            lines(
                "kube_pod_runtimeclass_name_info",
                &[(r#"runtimeclass_name="gvisor""#, "1")]
            )
        );
        assert_eq!(render(&web(), "kube_pod_runtimeclass_name_info"), "");
        assert_eq!(render(&web(), "kube_pod_overhead_cpu_cores"), "");
    }

    #[test]
    fn labels_and_annotations_follow_the_allowlist() {
        let p = web();
        assert_eq!(render_text(&p, &ctx(), "kube_pod_labels"), "");
        assert_eq!(render_text(&p, &ctx(), "kube_pod_annotations"), "");
        assert_eq!(
            render_text(&p, &RenderContext::allow_all(), "kube_pod_labels"),
            lines(
                "kube_pod_labels",
                &[(
                    r#"label_app="web",label_app_kubernetes_io_name="web",label_pod_template_hash="7d9f8b6c5d",label_topology_kubernetes_io_region="eu-central-1",label_topology_kubernetes_io_zone="eu-central-1a""#,
                    "1"
                )]
            )
        );
        assert_eq!(
            render_text(&p, &RenderContext::allow_all(), "kube_pod_annotations"),
            lines(
                "kube_pod_annotations",
                &[(
                    r#"annotation_kubectl_kubernetes_io_restarted_at="2026-11-23T09:14:00Z""#,
                    "1"
                )]
            )
        );
        let some = RenderContext {
            labels: KeyFilter::Keys(vec![
                KeyPattern::Exact("app".into()),
                KeyPattern::Wildcard("topology.kubernetes.io/".into(), "".into()),
            ]),
            annotations: KeyFilter::Keys(vec![KeyPattern::Exact("not-there".into())]),
        };
        assert_eq!(
            render_text(&p, &some, "kube_pod_labels"),
            lines(
                "kube_pod_labels",
                &[(
                    r#"label_app="web",label_topology_kubernetes_io_region="eu-central-1",label_topology_kubernetes_io_zone="eu-central-1a""#,
                    "1"
                )]
            )
        );
        // Allowlisted resource without matching keys: one series with only the base labels.
        assert_eq!(
            render_text(&p, &some, "kube_pod_annotations"),
            lines("kube_pod_annotations", &[("", "1")])
        );
    }

    #[test]
    fn node_selectors() {
        assert_eq!(
            render(&web(), "kube_pod_nodeselectors"),
            lines(
                "kube_pod_nodeselectors",
                &[(
                    r#"nodeselector_kubernetes_io_os="linux",nodeselector_topology_kubernetes_io_zone="eu-central-1a""#,
                    "1"
                )]
            )
        );
        let none = web_with(|v| v["spec"]["nodeSelector"] = Value::Null);
        assert_eq!(
            render(&none, "kube_pod_nodeselectors"),
            lines("kube_pod_nodeselectors", &[("", "1")])
        );
    }

    #[test]
    fn owner() {
        assert_eq!(
            render(&web(), "kube_pod_owner"),
            lines(
                "kube_pod_owner",
                &[(
                    r#"owner_kind="ReplicaSet",owner_name="web-7d9f8b6c5d",owner_is_controller="true""#,
                    "1"
                )]
            )
        );
        let orphan = web_with(|v| v["metadata"]["ownerReferences"] = Value::Null);
        assert_eq!(
            render(&orphan, "kube_pod_owner"),
            lines(
                "kube_pod_owner",
                &[(r#"owner_kind="",owner_name="",owner_is_controller="""#, "1")]
            )
        );
        assert_eq!(
            render(&orphan, "kube_pod_info"),
            lines(
                "kube_pod_info",
                &[(
                    r#"host_ip="10.0.1.10",pod_ip="10.244.0.10",node="corpus-node-a",created_by_kind="",created_by_name="",priority_class="corpus-high",host_network="false""#,
                    "1"
                )]
            )
        );
        let non_controller = web_with(|v| {
            v["metadata"]["ownerReferences"] =
                json!([{"apiVersion": "v1", "kind": "Node", "name": "corpus-node-a", "uid": "n-1"}]);
        });
        assert_eq!(
            render(&non_controller, "kube_pod_owner"),
            lines(
                "kube_pod_owner",
                &[(
                    r#"owner_kind="Node",owner_name="corpus-node-a",owner_is_controller="false""#,
                    "1"
                )]
            )
        );
    }

    #[test]
    fn tolerations_are_deduplicated() {
        let p = web_with(|v| {
            v["spec"]["tolerations"] = json!([
                {"key": "CriticalAddonsOnly", "operator": "Exists"},
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                {"key": "CriticalAddonsOnly", "operator": "Exists"},
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 60},
                {"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}
            ]);
        });
        assert_eq!(
            render(&p, "kube_pod_tolerations"),
            lines(
                "kube_pod_tolerations",
                &[
                    (
                        r#"key="CriticalAddonsOnly",operator="Exists",value="",effect="",toleration_seconds="""#,
                        "1"
                    ),
                    (
                        r#"key="node.kubernetes.io/not-ready",operator="Exists",value="",effect="NoExecute",toleration_seconds="300""#,
                        "1"
                    ),
                    (
                        r#"key="node.kubernetes.io/not-ready",operator="Exists",value="",effect="NoExecute",toleration_seconds="60""#,
                        "1"
                    ),
                    (
                        r#"key="dedicated",operator="Equal",value="gpu",effect="NoSchedule",toleration_seconds="""#,
                        "1"
                    ),
                ]
            )
        );
        let none = web_with(|v| v["spec"]["tolerations"] = Value::Null);
        assert_eq!(render(&none, "kube_pod_tolerations"), "");
    }

    #[test]
    fn status_reason_emits_only_the_reason_set() {
        assert_eq!(render(&web(), "kube_pod_status_reason"), "");
        let evicted = web_with(|v| {
            v["status"]["phase"] = json!("Failed");
            v["status"]["reason"] = json!("Evicted");
            v["status"]["message"] = json!("The node was low on resource: memory.");
        });
        assert_eq!(
            render(&evicted, "kube_pod_status_reason"),
            lines("kube_pod_status_reason", &[(r#"reason="Evicted""#, "1")])
        );
        let unknown = web_with(|v| v["status"]["reason"] = json!("OutOfcpu"));
        assert_eq!(
            render(&unknown, "kube_pod_status_reason"),
            lines("kube_pod_status_reason", &[(r#"reason="Other""#, "1")])
        );
        let gated = web_with(|v| {
            v["status"] = json!({"phase": "Pending", "conditions": [{
                "type": "PodScheduled", "status": "False", "lastProbeTime": null,
                "lastTransitionTime": "2026-11-24T05:09:02Z", "reason": "SchedulingGated",
                "message": "Scheduling is blocked due to non-empty scheduling gates"
            }]});
        });
        assert_eq!(
            render(&gated, "kube_pod_status_reason"),
            lines("kube_pod_status_reason", &[(r#"reason="SchedulingGated""#, "1")])
        );
        // Reasons outside the known list on conditions or containers produce nothing.
        let completed = web_with(|v| {
            v["status"]["conditions"][2] = json!({"type": "Ready", "status": "False", "lastTransitionTime": "2026-11-24T05:09:02Z", "reason": "PodCompleted"});
            v["status"]["containerStatuses"][0]["state"] =
                json!({"terminated": {"exitCode": 0, "reason": "Completed"}});
        });
        assert_eq!(render(&completed, "kube_pod_status_reason"), "");
    }

    #[test]
    fn disruption_reason() {
        assert_eq!(render(&web(), "kube_pod_status_disruption_reason"), "");
        let disrupted = |reason: &str| {
            let reason = reason.to_string();
            web_with(move |v| {
                let conditions = v["status"]["conditions"].as_array_mut().expect("conditions");
                conditions.insert(
                    0,
                    json!({"type": "DisruptionTarget", "status": "True", "lastProbeTime": null,
                           "lastTransitionTime": "2026-11-24T06:00:00Z", "reason": reason,
                           "message": "Eviction API: evicting"}),
                );
            })
        };
        for known in POD_DISRUPTION_REASONS {
            assert_eq!(
                render(&disrupted(known), "kube_pod_status_disruption_reason"),
                lines(
                    "kube_pod_status_disruption_reason",
                    &[(&format!(r#"reason="{known}""#), "1")]
                )
            );
        }
        assert_eq!(
            render(&disrupted("SomeFutureReason"), "kube_pod_status_disruption_reason"),
            lines("kube_pod_status_disruption_reason", &[(r#"reason="Other""#, "1")])
        );
        // A disruption reason on another condition type is not a disruption.
        let elsewhere = web_with(|v| v["status"]["conditions"][2]["reason"] = json!("EvictionByEvictionAPI"));
        assert_eq!(render(&elsewhere, "kube_pod_status_disruption_reason"), "");
        // kube_pod_status_reason does not know EvictionByEvictionAPI.
        assert_eq!(
            render(&disrupted("EvictionByEvictionAPI"), "kube_pod_status_reason"),
            ""
        );
        assert_eq!(
            render(&disrupted("TerminationByKubelet"), "kube_pod_status_reason"),
            lines("kube_pod_status_reason", &[(r#"reason="TerminationByKubelet""#, "1")])
        );
    }

    #[test]
    fn pod_ips() {
        let p = web_with(|v| {
            v["status"]["podIPs"] = json!([{"ip": "10.244.0.10"}, {"ip": "fd00:10:244::a"}, {"ip": "not-an-ip"}, {"ip": "::ffff:10.1.2.3"}, {"ip": "010.001.002.003"}]);
        });
        assert_eq!(
            render(&p, "kube_pod_ips"),
            lines(
                "kube_pod_ips",
                &[
                    (r#"ip="10.244.0.10",ip_family="4""#, "1"),
                    (r#"ip="fd00:10:244::a",ip_family="6""#, "1"),
                    (r#"ip="::ffff:10.1.2.3",ip_family="4""#, "1"),
                    (r#"ip="010.001.002.003",ip_family="4""#, "1"),
                ]
            )
        );
        assert!(!is_sloppy_ipv4("256.1.1.1"));
        assert!(!is_sloppy_ipv4("1.2.3"));
        assert!(!is_sloppy_ipv4("1.2.3.4.5"));
        assert_eq!(ip_family(""), None);
    }

    #[test]
    fn pvc_volumes_including_ephemeral() {
        let p = web_with(|v| {
            v["spec"]["volumes"] = json!([
                {"name": "data", "persistentVolumeClaim": {"claimName": "web-content", "readOnly": true}},
                {"name": "cache", "persistentVolumeClaim": {"claimName": "web-cache"}},
                {"name": "scratch", "ephemeral": {"volumeClaimTemplate": {"spec": {
                    "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}}},
                {"name": "config", "configMap": {"name": "web-config"}}
            ]);
        });
        assert_eq!(
            render(&p, "kube_pod_spec_volumes_persistentvolumeclaims_info"),
            lines(
                "kube_pod_spec_volumes_persistentvolumeclaims_info",
                &[
                    (
                        r#"volume="data",persistentvolumeclaim="web-content",ephemeral="false""#,
                        "1"
                    ),
                    (
                        r#"volume="cache",persistentvolumeclaim="web-cache",ephemeral="false""#,
                        "1"
                    ),
                    (
                        r#"volume="scratch",persistentvolumeclaim="web-7d9f8b6c5d-x2k4p-scratch",ephemeral="true""#,
                        "1"
                    ),
                ]
            )
        );
        assert_eq!(
            render(&p, "kube_pod_spec_volumes_persistentvolumeclaims_readonly"),
            lines(
                "kube_pod_spec_volumes_persistentvolumeclaims_readonly",
                &[
                    (
                        r#"volume="data",persistentvolumeclaim="web-content",ephemeral="false""#,
                        "1"
                    ),
                    (
                        r#"volume="cache",persistentvolumeclaim="web-cache",ephemeral="false""#,
                        "0"
                    ),
                    (
                        r#"volume="scratch",persistentvolumeclaim="web-7d9f8b6c5d-x2k4p-scratch",ephemeral="true""#,
                        "0"
                    ),
                ]
            )
        );
    }

    #[test]
    fn resource_claims() {
        let p = web_with(|v| {
            v["spec"]["resourceClaims"] = json!([
                {"name": "gpu", "resourceClaimTemplateName": "single-gpu"},
                {"name": "shared", "resourceClaimName": "fpga-pool"},
                {"name": "pending", "resourceClaimTemplateName": "single-gpu"},
                {"name": "neither"}
            ]);
            v["status"]["resourceClaimStatuses"] = json!([{"name": "gpu", "resourceClaimName": "web-gpu-7x2kq"}]);
        });
        assert_eq!(
            render(&p, "kube_pod_resourceclaim_info"),
            lines(
                "kube_pod_resourceclaim_info",
                &[
                    (
                        r#"claim_name="gpu",resourceclaim_name="web-gpu-7x2kq",resourceclaim_template_name="single-gpu""#,
                        "1"
                    ),
                    (
                        r#"claim_name="shared",resourceclaim_name="fpga-pool",resourceclaim_template_name="""#,
                        "1"
                    ),
                    (
                        r#"claim_name="pending",resourceclaim_name="",resourceclaim_template_name="single-gpu""#,
                        "1"
                    ),
                ]
            )
        );
        assert_eq!(render(&web(), "kube_pod_resourceclaim_info"), "");
    }

    #[test]
    fn spec_info_families() {
        let p = web();
        assert_eq!(
            render(&p, "kube_pod_restart_policy"),
            lines("kube_pod_restart_policy", &[(r#"type="Always""#, "1")])
        );
        assert_eq!(
            render(&p, "kube_pod_service_account"),
            lines("kube_pod_service_account", &[(r#"service_account="web""#, "1")])
        );
        assert_eq!(
            render(&p, "kube_pod_scheduler"),
            lines("kube_pod_scheduler", &[(r#"name="default-scheduler""#, "1")])
        );
        assert_eq!(
            render(&p, "kube_pod_status_initialized_time"),
            lines("kube_pod_status_initialized_time", &[("", "1.7954253e+09")])
        );
        assert_eq!(
            render(&p, "kube_pod_status_container_ready_time"),
            lines("kube_pod_status_container_ready_time", &[("", "1.79542533e+09")])
        );
    }

    #[test]
    fn index_holds_node_liveness_and_creation() {
        let idx = web().index().unwrap();
        assert_eq!(&*idx.node, "corpus-node-a");
        assert!(idx.live, "Running with every container running");
        assert_eq!(idx.created, 1_795_496_942);
        let pending = pod(json!({"metadata": {"name": "p", "namespace": "ns"}, "status": {"phase": "Pending"}}));
        assert_eq!(pending.index().unwrap(), ObjectIndex::default());
    }

    #[test]
    fn minimal_pod_never_panics() {
        let bare = pod(json!({"metadata": {}}));
        let enabled = EnabledFamilies::<Pod>::all();
        let out = enabled.render(&bare, &RenderContext::allow_all());
        let text = String::from_utf8_lossy(&out.bytes);
        // Families that always emit: info, annotations, labels, owner, restart_policy,
        // nodeselectors, service_account, scheduler.
        assert_eq!(text.lines().count(), 8, "{text}");
        assert!(text.contains("kube_pod_restart_policy{namespace=\"\",pod=\"\",uid=\"\",type=\"\"} 1\n"));
    }

    #[test]
    fn init_container_ready_terminated_and_waiting() {
        let p = web();
        assert_eq!(
            render(&p, "kube_pod_init_container_status_ready"),
            lines(
                "kube_pod_init_container_status_ready",
                &[(r#"container="init-config""#, "1"), (r#"container="istio-proxy""#, "1")]
            )
        );
        assert_eq!(
            render(&p, "kube_pod_init_container_status_terminated"),
            lines(
                "kube_pod_init_container_status_terminated",
                &[(r#"container="init-config""#, "1"), (r#"container="istio-proxy""#, "0")]
            )
        );
        assert_eq!(
            render(&p, "kube_pod_init_container_status_waiting"),
            lines(
                "kube_pod_init_container_status_waiting",
                &[(r#"container="init-config""#, "0"), (r#"container="istio-proxy""#, "0")]
            )
        );
        assert_eq!(render(&p, "kube_pod_init_container_status_waiting_reason"), "");
        // The first init container still pulling its image, the sidecar not started yet.
        let initializing = web_with(|v| {
            v["status"]["phase"] = json!("Pending");
            v["status"]["initContainerStatuses"] = json!([
                {"name": "init-config", "state": {"waiting": {"reason": "ErrImagePull", "message": "pull access denied"}},
                 "lastState": {}, "ready": false, "restartCount": 0, "image": "busybox:1.37", "imageID": ""},
                {"name": "istio-proxy", "state": {"waiting": {"reason": "PodInitializing"}}, "lastState": {},
                 "ready": false, "restartCount": 0, "image": "docker.io/istio/proxyv2:1.24.2", "imageID": "", "started": false}
            ]);
        });
        assert_eq!(
            render(&initializing, "kube_pod_init_container_status_waiting"),
            lines(
                "kube_pod_init_container_status_waiting",
                &[(r#"container="init-config""#, "1"), (r#"container="istio-proxy""#, "1")]
            )
        );
        assert_eq!(
            render(&initializing, "kube_pod_init_container_status_ready"),
            lines(
                "kube_pod_init_container_status_ready",
                &[(r#"container="init-config""#, "0"), (r#"container="istio-proxy""#, "0")]
            )
        );
        assert_eq!(
            render(&initializing, "kube_pod_init_container_status_waiting_reason"),
            lines(
                "kube_pod_init_container_status_waiting_reason",
                &[
                    (r#"container="init-config",reason="ErrImagePull""#, "1"),
                    (r#"container="istio-proxy",reason="PodInitializing""#, "1")
                ]
            )
        );
        // No container ID yet: the label is there, empty.
        assert_eq!(
            render(&initializing, "kube_pod_init_container_info"),
            lines(
                "kube_pod_init_container_info",
                &[
                    (
                        r#"container="init-config",image_spec="busybox:1.37",image="busybox:1.37",image_id="",container_id="",restart_policy="""#,
                        "1"
                    ),
                    (
                        r#"container="istio-proxy",image_spec="docker.io/istio/proxyv2:1.24.2",image="docker.io/istio/proxyv2:1.24.2",image_id="",container_id="",restart_policy="Always""#,
                        "1"
                    ),
                ]
            )
        );
        assert_eq!(render(&initializing, "kube_pod_init_container_state_started"), "");
    }

    #[test]
    fn null_value_timestamps_are_the_go_zero_time() {
        // A node lost with the pod: the kubelet never reported times for the terminated state,
        // and a controller patched a readiness-gate condition without lastTransitionTime.
        let p = web_with(|v| {
            v["status"]["containerStatuses"][0]["state"] = json!({"terminated": {
                "exitCode": 137, "reason": "ContainerStatusUnknown", "startedAt": null, "finishedAt": null
            }});
            v["status"]["conditions"][2] = json!({"type": "Ready", "status": "True", "lastProbeTime": null});
            v["status"]["conditions"][4] = json!({"type": "PodScheduled", "status": "False"});
        });
        assert_eq!(
            render(&p, "kube_pod_container_state_started"),
            lines(
                "kube_pod_container_state_started",
                &[(r#"container="nginx""#, "-6.21355968e+10")]
            )
        );
        assert_eq!(
            render(&p, "kube_pod_status_ready_time"),
            lines("kube_pod_status_ready_time", &[("", "-6.21355968e+10")])
        );
        assert_eq!(
            render(&p, "kube_pod_status_unscheduled_time"),
            lines("kube_pod_status_unscheduled_time", &[("", "-6.21355968e+10")])
        );
        // Completion time ignores the zero time (only positive finish times count).
        assert_eq!(render(&p, "kube_pod_completion_time"), "");
        assert_eq!(
            render(&p, "kube_pod_container_status_terminated_reason"),
            lines(
                "kube_pod_container_status_terminated_reason",
                &[(r#"container="nginx",reason="ContainerStatusUnknown""#, "1")]
            )
        );
    }

    #[test]
    fn completion_time_is_the_latest_finish() {
        let p = web_with(|v| {
            v["spec"]["containers"] = json!([
                {"name": "a", "image": "busybox:1.37"}, {"name": "b", "image": "busybox:1.37"}, {"name": "c", "image": "busybox:1.37"}
            ]);
            v["status"]["containerStatuses"] = json!([
                {"name": "a", "state": {"terminated": {"exitCode": 0, "reason": "Completed",
                    "startedAt": "2026-11-24T05:20:00Z", "finishedAt": "2026-11-24T05:25:39Z"}},
                 "ready": false, "restartCount": 0, "image": "busybox:1.37", "imageID": ""},
                {"name": "b", "state": {"terminated": {"exitCode": 1, "reason": "Error",
                    "startedAt": "2026-11-24T05:20:00Z", "finishedAt": "2026-11-24T05:31:02Z"}},
                 "ready": false, "restartCount": 0, "image": "busybox:1.37", "imageID": ""},
                {"name": "c", "state": {"running": {"startedAt": "2026-11-24T05:20:00Z"}},
                 "ready": true, "restartCount": 0, "image": "busybox:1.37", "imageID": ""}
            ]);
        });
        assert_eq!(
            render(&p, "kube_pod_completion_time"),
            lines("kube_pod_completion_time", &[("", "1.795498262e+09")])
        );
    }

    #[test]
    fn status_reason_knows_every_v2_20_reason() {
        for known in POD_STATUS_REASONS {
            let p = web_with(|v| {
                v["status"]["phase"] = json!("Failed");
                v["status"]["reason"] = json!(known);
            });
            assert_eq!(
                render(&p, "kube_pod_status_reason"),
                lines("kube_pod_status_reason", &[(&format!(r#"reason="{known}""#), "1")]),
                "{known}"
            );
        }
        // Found on a condition (the scheduler's preemption) or on a terminated container.
        let preempted = web_with(|v| {
            v["status"]["conditions"][2] = json!({"type": "DisruptionTarget", "status": "True",
                "lastTransitionTime": "2026-11-24T06:00:00Z", "reason": "PreemptionByScheduler",
                "message": "corpus-high: preempting to accommodate a higher priority pod"});
        });
        assert_eq!(
            render(&preempted, "kube_pod_status_reason"),
            lines("kube_pod_status_reason", &[(r#"reason="PreemptionByScheduler""#, "1")])
        );
        let shut_down = web_with(|v| {
            v["status"]["containerStatuses"][0]["state"] =
                json!({"terminated": {"exitCode": 137, "reason": "Shutdown"}});
        });
        assert_eq!(
            render(&shut_down, "kube_pod_status_reason"),
            lines("kube_pod_status_reason", &[(r#"reason="Shutdown""#, "1")])
        );
        // An empty reason is no reason.
        let empty = web_with(|v| v["status"]["reason"] = json!(""));
        assert_eq!(render(&empty, "kube_pod_status_reason"), "");
    }

    #[test]
    fn fixture_reaches_the_rarer_label_values() {
        #[derive(serde::Deserialize)]
        struct List {
            items: Vec<Pod>,
        }
        let list: List = serde_json::from_str(include_str!("../../tests/fixtures/objects/pods.json")).expect("fixture");
        assert!(list.items.len() >= 7);
        let text = |family: &str| -> String {
            list.items
                .iter()
                .map(|p| render_text(p, &RenderContext::allow_all(), family))
                .collect()
        };
        let tolerations = text("kube_pod_tolerations");
        assert_eq!(
            tolerations.matches("key=\"CriticalAddonsOnly\"").count(),
            1,
            "{tolerations}"
        );
        assert!(text("kube_pod_status_reason").contains("reason=\"Evicted\"} 1\n"));
        assert!(text("kube_pod_status_disruption_reason").contains("reason=\"EvictionByEvictionAPI\"} 1\n"));
        assert!(
            text("kube_pod_container_resource_limits").contains("resource=\"nvidia_com_gpu\",unit=\"integer\"} 1\n")
        );
        assert!(text("kube_pod_spec_volumes_persistentvolumeclaims_info").contains("ephemeral=\"true\"} 1\n"));
        assert!(text("kube_pod_container_status_waiting_reason").contains("reason=\"PodInitializing\"} 1\n"));
        assert!(text("kube_pod_init_container_status_waiting_reason").contains("reason=\"ImagePullBackOff\"} 1\n"));
    }
}
