//! Pure builders for the kinds around the workloads of [`super`]: ReplicaSets, StatefulSets and
//! their volumes, CronJobs, configuration, networking, policy, RBAC, admission and coordination
//! objects. Each takes plain parameters and returns the object as a v1.36 API server returns it
//! (`objects/<resource>.json` of the apiserver-wire captures): defaults filled in, server-set
//! fields present and `managedFields` describing who wrote which fields.

use base64::Engine as _;
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::pod::{OwnerRef, PodTemplate};
use super::util::{at, hash_str, hex_from, labels_json, ts};

pub use super::managed::{add_managed, add_managed_status, fields_v1, managed_entry};

// ---------------------------------------------------------------------------------------------
// Metadata helpers
// ---------------------------------------------------------------------------------------------

/// `metadata` of a new object (`ns` None: cluster-scoped).
pub fn meta(name: &str, ns: Option<&str>, uid: &str, created: Timestamp) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(name));
    if let Some(ns) = ns {
        m.insert("namespace".into(), json!(ns));
    }
    m.insert("uid".into(), json!(uid));
    m.insert("creationTimestamp".into(), ts(created));
    Value::Object(m)
}

fn object(api_version: &str, kind: &str, metadata: Value) -> Value {
    json!({"apiVersion": api_version, "kind": kind, "metadata": metadata})
}

/// RFC 3339 with microseconds, as `MicroTime` fields (lease renewals) are written.
pub fn micro_ts(t: Timestamp, micros: u32) -> Value {
    let s = t.to_string();
    let base = s.strip_suffix('Z').unwrap_or(&s);
    Value::String(format!("{base}.{:06}Z", micros % 1_000_000))
}

/// Standard base64 of `bytes` (Secret data, CSR requests and certificates).
pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

// ---------------------------------------------------------------------------------------------
// Workloads
// ---------------------------------------------------------------------------------------------

/// Inputs of [`replicaset`].
#[derive(Debug, Clone)]
pub struct ReplicaSetParams<'a> {
    pub namespace: &'a str,
    /// `<deployment>-<pod-template-hash>`.
    pub name: &'a str,
    pub uid: &'a str,
    pub created: Timestamp,
    pub deployment: &'a str,
    pub deployment_uid: &'a str,
    pub hash: &'a str,
    /// `deployment.kubernetes.io/revision`.
    pub revision: u32,
    /// The deployment's replicas (`desired-replicas`), `max-replicas` adds the 25 % surge.
    pub deployment_replicas: u32,
    pub generation: i64,
    pub replicas: u32,
    pub selector: &'a [(String, String)],
    pub template: &'a PodTemplate,
    /// (replicas, ready) as last written.
    pub status: (u32, u32),
}

/// `apps/v1` ReplicaSet owned by its Deployment, labelled with the `pod-template-hash`.
pub fn replicaset(p: &ReplicaSetParams) -> Value {
    let hash = vec![("pod-template-hash".to_string(), p.hash.to_string())];
    let mut labels = p.template.labels.clone();
    labels.extend(hash.iter().cloned());
    let mut selector = p.selector.to_vec();
    selector.extend(hash.iter().cloned());
    let mut m = meta(p.name, Some(p.namespace), p.uid, p.created);
    m["generation"] = json!(p.generation);
    m["labels"] = labels_json(&labels);
    m["annotations"] = json!({
        "deployment.kubernetes.io/desired-replicas": p.deployment_replicas.to_string(),
        "deployment.kubernetes.io/max-replicas": (p.deployment_replicas + p.deployment_replicas.div_ceil(4)).to_string(),
        "deployment.kubernetes.io/revision": p.revision.to_string(),
    });
    m["ownerReferences"] = json!([OwnerRef {
        api_version: "apps/v1",
        kind: "Deployment",
        name: p.deployment.to_string(),
        uid: p.deployment_uid.to_string(),
    }
    .to_json()]);
    let mut o = object("apps/v1", "ReplicaSet", m);
    o["spec"] = json!({
        "replicas": p.replicas,
        "selector": {"matchLabels": labels_json(&selector)},
        "template": p.template.template_json(&hash),
    });
    let (replicas, ready) = p.status;
    let mut st = Map::new();
    st.insert("replicas".into(), json!(replicas));
    if replicas > 0 {
        st.insert("fullyLabeledReplicas".into(), json!(replicas));
    }
    if ready > 0 {
        st.insert("readyReplicas".into(), json!(ready));
        st.insert("availableReplicas".into(), json!(ready));
    }
    st.insert("terminatingReplicas".into(), json!(0));
    st.insert("observedGeneration".into(), json!(p.generation));
    o["status"] = Value::Object(st);
    add_managed(
        &mut o,
        "kube-controller-manager",
        Some(("kube-controller-manager", p.created)),
    );
    o
}

/// Inputs of [`statefulset`].
#[derive(Debug, Clone)]
pub struct StatefulSetParams<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub uid: &'a str,
    pub created: Timestamp,
    pub replicas: u32,
    pub selector: &'a [(String, String)],
    pub template: &'a PodTemplate,
    /// The governing headless Service.
    pub service: &'a str,
    pub storage_gi: u32,
    pub storage_class: &'a str,
    /// `<name>-<hash>` of the (only) revision.
    pub revision: &'a str,
    /// `spec.ordinals.start` (0: not set).
    pub ordinals_start: usize,
    /// `metadata.generation`, observed at once.
    pub generation: i64,
    /// `persistentVolumeClaimRetentionPolicy.whenScaled`: `Retain` or `Delete`.
    pub when_scaled: &'a str,
    /// (pods, ready) as last written.
    pub status: (u32, u32),
}

/// `apps/v1` StatefulSet with one `data` volume claim template; with `whenScaled: Delete` claims
/// go with their pod on scale-down, so each PVC is owned by its pod.
pub fn statefulset(p: &StatefulSetParams) -> Value {
    let mut m = meta(p.name, Some(p.namespace), p.uid, p.created);
    m["generation"] = json!(p.generation);
    m["labels"] = labels_json(&p.template.labels);
    let mut o = object("apps/v1", "StatefulSet", m);
    let mut template = p.template.template_json(&[]);
    if let Some(c) = template["spec"]["containers"][0].as_object_mut() {
        c.insert(
            "volumeMounts".into(),
            json!([{"name": "data", "mountPath": "/var/lib/data"}]),
        );
    }
    o["spec"] = json!({
        "replicas": p.replicas,
        "selector": {"matchLabels": labels_json(p.selector)},
        "template": template,
        "volumeClaimTemplates": [{
            "apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": "data"},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": format!("{}Gi", p.storage_gi)}},
                "storageClassName": p.storage_class, "volumeMode": "Filesystem",
            },
            "status": {"phase": "Pending"},
        }],
        "serviceName": p.service,
        "podManagementPolicy": "OrderedReady",
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
        "revisionHistoryLimit": 10,
        "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": p.when_scaled},
    });
    if p.ordinals_start > 0 {
        o["spec"]["ordinals"] = json!({"start": p.ordinals_start});
    }
    let (pods, ready) = p.status;
    let mut st = Map::new();
    st.insert("observedGeneration".into(), json!(p.generation));
    st.insert("replicas".into(), json!(pods));
    if ready > 0 {
        st.insert("readyReplicas".into(), json!(ready));
    }
    st.insert("currentReplicas".into(), json!(pods));
    st.insert("updatedReplicas".into(), json!(pods));
    st.insert("currentRevision".into(), json!(p.revision));
    st.insert("updateRevision".into(), json!(p.revision));
    st.insert("collisionCount".into(), json!(0));
    st.insert("availableReplicas".into(), json!(ready));
    o["status"] = Value::Object(st);
    add_managed(&mut o, "helm", Some(("kube-controller-manager", p.created)));
    o
}

/// `v1` ReplicationController (a legacy one, scaled to zero).
pub fn replication_controller(
    namespace: &str,
    name: &str,
    uid: &str,
    created: Timestamp,
    template: &PodTemplate,
) -> Value {
    let mut m = meta(name, Some(namespace), uid, created);
    m["generation"] = json!(2);
    m["labels"] = labels_json(&template.labels);
    let mut o = object("v1", "ReplicationController", m);
    o["spec"] = json!({
        "replicas": 0,
        "selector": labels_json(&template.labels),
        "template": template.template_json(&[]),
    });
    o["status"] = json!({"replicas": 0, "observedGeneration": 2});
    add_managed(&mut o, "kubectl", Some(("kube-controller-manager", created)));
    o
}

/// Inputs of [`cronjob`].
#[derive(Debug, Clone)]
pub struct CronJobParams<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub uid: &'a str,
    pub created: Timestamp,
    pub schedule: &'a str,
    pub template: &'a PodTemplate,
    /// Running jobs (name, uid).
    pub active: &'a [(String, String)],
    pub last_schedule: Option<Timestamp>,
    pub last_successful: Option<Timestamp>,
    /// `spec.startingDeadlineSeconds`.
    pub starting_deadline: Option<u32>,
    /// `activeDeadlineSeconds` of the jobs.
    pub active_deadline: Option<u32>,
}

/// `batch/v1` CronJob (Forbid overlaps, history 3 succeeded / 1 failed).
pub fn cronjob(p: &CronJobParams) -> Value {
    let mut m = meta(p.name, Some(p.namespace), p.uid, p.created);
    m["generation"] = json!(1);
    m["labels"] = labels_json(&p.template.labels);
    let mut o = object("batch/v1", "CronJob", m);
    o["spec"] = json!({
        "schedule": p.schedule,
        "concurrencyPolicy": "Forbid",
        "suspend": false,
        "jobTemplate": {"metadata": {}, "spec": {
            "backoffLimit": 6,
            "template": p.template.template_json(&[]),
        }},
        "successfulJobsHistoryLimit": 3,
        "failedJobsHistoryLimit": 1,
    });
    if let Some(d) = p.starting_deadline {
        o["spec"]["startingDeadlineSeconds"] = json!(d);
    }
    if let Some(d) = p.active_deadline {
        o["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"] = json!(d);
    }
    let mut st = Map::new();
    if !p.active.is_empty() {
        st.insert(
            "active".into(),
            p.active
                .iter()
                .map(|(name, uid)| {
                    json!({"kind": "Job", "namespace": p.namespace, "name": name, "uid": uid, "apiVersion": "batch/v1"})
                })
                .collect(),
        );
    }
    if let Some(t) = p.last_schedule {
        st.insert("lastScheduleTime".into(), ts(t));
    }
    if let Some(t) = p.last_successful {
        st.insert("lastSuccessfulTime".into(), ts(t));
    }
    o["status"] = Value::Object(st);
    let status_time = p.last_successful.max(p.last_schedule).unwrap_or(p.created);
    add_managed(&mut o, "helm", Some(("kube-controller-manager", status_time)));
    o
}

// ---------------------------------------------------------------------------------------------
// Storage
// ---------------------------------------------------------------------------------------------

/// The CSI driver every generated volume uses.
pub const CSI_DRIVER: &str = "ebs.csi.aws.com";

/// `storage.k8s.io/v1` StorageClass of the EBS CSI driver.
pub fn storage_class(name: &str, uid: &str, created: Timestamp, volume_type: &str, default: bool) -> Value {
    let mut m = meta(name, None, uid, created);
    if default {
        m["annotations"] = json!({"storageclass.kubernetes.io/is-default-class": "true"});
    }
    let mut o = object("storage.k8s.io/v1", "StorageClass", m);
    o["provisioner"] = json!(CSI_DRIVER);
    o["parameters"] = json!({"type": volume_type, "encrypted": "true", "csi.storage.k8s.io/fstype": "ext4"});
    o["reclaimPolicy"] = json!("Delete");
    o["allowVolumeExpansion"] = json!(true);
    o["volumeBindingMode"] = json!("WaitForFirstConsumer");
    add_managed(&mut o, "kubectl-client-side-apply", None);
    o
}

/// Inputs of [`pvc`] and [`pv`]: one bound pair.
#[derive(Debug, Clone)]
pub struct VolumeParams<'a> {
    pub namespace: &'a str,
    pub claim: &'a str,
    pub claim_uid: &'a str,
    pub claim_labels: &'a [(String, String)],
    /// The pod owning the claim (name, uid).
    pub owner_pod: Option<(&'a str, &'a str)>,
    /// `pvc-<claim uid>`.
    pub volume: &'a str,
    pub volume_uid: &'a str,
    pub created: Timestamp,
    pub bound: Timestamp,
    pub storage_gi: u32,
    /// An expansion to (GiB, at): the volume is grown, the claim waits for the node to grow the
    /// file system (`FileSystemResizePending`).
    pub resized: Option<(u32, Timestamp)>,
    /// The claim was deleted then: the volume is Released.
    pub released: Option<Timestamp>,
    pub storage_class: &'a str,
    pub node: &'a str,
    pub zone: &'a str,
}

/// `v1` PersistentVolumeClaim bound to its dynamically provisioned volume.
pub fn pvc(p: &VolumeParams) -> Value {
    let mut m = meta(p.claim, Some(p.namespace), p.claim_uid, p.created);
    m["labels"] = labels_json(p.claim_labels);
    m["annotations"] = json!({
        "pv.kubernetes.io/bind-completed": "yes",
        "pv.kubernetes.io/bound-by-controller": "yes",
        "volume.beta.kubernetes.io/storage-provisioner": CSI_DRIVER,
        "volume.kubernetes.io/selected-node": p.node,
        "volume.kubernetes.io/storage-provisioner": CSI_DRIVER,
    });
    if let Some((name, uid)) = p.owner_pod {
        m["ownerReferences"] = json!([{
            "apiVersion": "v1", "kind": "Pod", "name": name, "uid": uid,
            "controller": false, "blockOwnerDeletion": true,
        }]);
    }
    m["finalizers"] = json!(["kubernetes.io/pvc-protection"]);
    let size = format!("{}Gi", p.storage_gi);
    let mut o = object("v1", "PersistentVolumeClaim", m);
    o["spec"] = json!({
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": size}},
        "volumeName": p.volume,
        "storageClassName": p.storage_class,
        "volumeMode": "Filesystem",
    });
    o["status"] = json!({"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": size}});
    let mut status_time = p.bound;
    if let Some((gi, t)) = p.resized {
        let grown = format!("{gi}Gi");
        o["spec"]["resources"]["requests"]["storage"] = json!(grown);
        let st = &mut o["status"];
        st["allocatedResources"] = json!({"storage": grown});
        st["allocatedResourceStatuses"] = json!({"storage": "NodeResizePending"});
        st["conditions"] = json!([{
            "type": "FileSystemResizePending", "status": "True", "lastProbeTime": null,
            "lastTransitionTime": ts(t),
            "message": "Waiting for user to (re-)start a pod to finish file system resize of volume on node.",
        }]);
        status_time = t;
    }
    add_managed(
        &mut o,
        "kube-controller-manager",
        Some(("kube-controller-manager", status_time)),
    );
    o
}

/// `v1` PersistentVolume provisioned by the CSI driver for its claim, bound.
pub fn pv(p: &VolumeParams) -> Value {
    let mut m = meta(p.volume, None, p.volume_uid, p.bound);
    m["annotations"] = json!({
        "pv.kubernetes.io/provisioned-by": CSI_DRIVER,
        "volume.kubernetes.io/provisioner-deletion-secret-name": "",
        "volume.kubernetes.io/provisioner-deletion-secret-namespace": "",
    });
    m["finalizers"] = json!([
        "external-provisioner.volume.kubernetes.io/finalizer",
        "kubernetes.io/pv-protection",
        "external-attacher/ebs-csi-aws-com",
    ]);
    let mut o = object("v1", "PersistentVolume", m);
    let gi = p.resized.map_or(p.storage_gi, |(gi, _)| gi);
    o["spec"] = json!({
        "capacity": {"storage": format!("{gi}Gi")},
        "csi": {
            "driver": CSI_DRIVER,
            "volumeHandle": format!("vol-{}", hex_from(hash_str(p.volume), 17)),
            "fsType": "ext4",
            "volumeAttributes": {"storage.kubernetes.io/csiProvisionerIdentity": "1717000000000-1234-ebs.csi.aws.com"},
        },
        "accessModes": ["ReadWriteOnce"],
        "claimRef": {
            "kind": "PersistentVolumeClaim", "namespace": p.namespace, "name": p.claim,
            "uid": p.claim_uid, "apiVersion": "v1",
        },
        "persistentVolumeReclaimPolicy": "Delete",
        "storageClassName": p.storage_class,
        "volumeMode": "Filesystem",
        "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "topology.kubernetes.io/zone", "operator": "In", "values": [p.zone]}
        ]}]}},
    });
    let phase = match p.released {
        Some(t) => ("Released", t),
        None => ("Bound", p.bound),
    };
    o["status"] = json!({"phase": phase.0, "lastPhaseTransitionTime": ts(phase.1)});
    add_managed(&mut o, "csi-provisioner", Some(("kube-controller-manager", phase.1)));
    o
}

/// `storage.k8s.io/v1` VolumeAttachment of a CSI volume to a node, attached.
pub fn volume_attachment(volume: &str, node: &str, uid: &str, created: Timestamp, device: &str) -> Value {
    // The attach-detach controller names it after sha256(volume handle, driver, node).
    let name = format!("csi-{}", hex_from(hash_str(&format!("{volume}{CSI_DRIVER}{node}")), 64));
    let mut m = meta(&name, None, uid, created);
    m["annotations"] = json!({"csi.alpha.kubernetes.io/node-id": format!("i-{}", hex_from(hash_str(node), 17))});
    m["finalizers"] = json!(["external-attacher/ebs-csi-aws-com"]);
    let mut o = object("storage.k8s.io/v1", "VolumeAttachment", m);
    o["spec"] = json!({"attacher": CSI_DRIVER, "source": {"persistentVolumeName": volume}, "nodeName": node});
    o["status"] = json!({"attached": true, "attachmentMetadata": {"devicePath": device}});
    add_managed(&mut o, "kube-controller-manager", Some(("csi-attacher", at1(created))));
    o
}

fn at1(t: Timestamp) -> Timestamp {
    at(t, 1)
}

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

/// `v1` ConfigMap.
pub fn configmap(
    namespace: &str,
    name: &str,
    uid: &str,
    created: Timestamp,
    labels: &[(String, String)],
    data: &[(String, String)],
    manager: &str,
) -> Value {
    let mut m = meta(name, Some(namespace), uid, created);
    if !labels.is_empty() {
        m["labels"] = labels_json(labels);
    }
    let mut o = object("v1", "ConfigMap", m);
    o["data"] = labels_json(data);
    add_managed(&mut o, manager, None);
    o
}

/// `v1` Secret with `data` given in clear text (base64-encoded here).
#[allow(clippy::too_many_arguments)]
pub fn secret(
    namespace: &str,
    name: &str,
    uid: &str,
    created: Timestamp,
    labels: &[(String, String)],
    secret_type: &str,
    data: &[(String, String)],
    manager: &str,
) -> Value {
    let mut m = meta(name, Some(namespace), uid, created);
    if !labels.is_empty() {
        m["labels"] = labels_json(labels);
    }
    let mut o = object("v1", "Secret", m);
    o["data"] = Value::Object(
        data.iter()
            .map(|(k, v)| (k.clone(), json!(b64(v.as_bytes()))))
            .collect(),
    );
    o["type"] = json!(secret_type);
    add_managed(&mut o, manager, None);
    o
}

/// `v1` ServiceAccount.
pub fn service_account(namespace: &str, name: &str, uid: &str, created: Timestamp, manager: &str) -> Value {
    let mut o = object("v1", "ServiceAccount", meta(name, Some(namespace), uid, created));
    add_managed(&mut o, manager, None);
    o
}

/// `v1` ResourceQuota; `hard` and `used` as (resource, quantity).
pub fn resource_quota(
    namespace: &str,
    name: &str,
    uid: &str,
    created: Timestamp,
    hard: &[(String, String)],
    used: &[(String, String)],
    synced: Timestamp,
) -> Value {
    let mut o = object("v1", "ResourceQuota", meta(name, Some(namespace), uid, created));
    o["spec"] = json!({"hard": labels_json(hard)});
    o["status"] = json!({"hard": labels_json(hard), "used": labels_json(used)});
    add_managed(
        &mut o,
        "kubectl-client-side-apply",
        Some(("kube-controller-manager", synced)),
    );
    o
}

/// `v1` LimitRange with container defaults.
pub fn limit_range(namespace: &str, name: &str, uid: &str, created: Timestamp) -> Value {
    let mut o = object("v1", "LimitRange", meta(name, Some(namespace), uid, created));
    o["spec"] = json!({"limits": [{
        "type": "Container",
        "max": {"cpu": "4", "memory": "8Gi"},
        "default": {"cpu": "500m", "memory": "512Mi"},
        "defaultRequest": {"cpu": "100m", "memory": "128Mi"},
    }]});
    add_managed(&mut o, "kubectl-client-side-apply", None);
    o
}

// ---------------------------------------------------------------------------------------------
// Networking
// ---------------------------------------------------------------------------------------------

/// A Service port: (name, port, targetPort as a name or number).
pub type ServicePort = (String, u16, Value);

/// Inputs of [`service`].
#[derive(Debug, Clone)]
pub struct ServiceParams<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub uid: &'a str,
    pub created: Timestamp,
    pub labels: &'a [(String, String)],
    /// None: no selector (endpoints managed by someone else, as for `kubernetes`).
    pub selector: Option<&'a [(String, String)]>,
    pub ports: &'a [ServicePort],
    /// None: headless (`clusterIP: None`).
    pub cluster_ip: Option<&'a str>,
    /// Type LoadBalancer, with what its controller wrote.
    pub load_balancer: Option<LoadBalancer<'a>>,
    /// `spec.externalIPs`.
    pub external_ips: &'a [String],
}

/// A Service's cloud load balancer.
#[derive(Debug, Clone)]
pub struct LoadBalancer<'a> {
    /// One per Service port.
    pub node_ports: &'a [u16],
    /// `status.loadBalancer.ingress[0]`: a DNS name, an IP or both.
    pub hostname: Option<&'a str>,
    pub ip: Option<&'a str>,
    /// When the controller wrote the address.
    pub provisioned: Timestamp,
}

/// `v1` Service of type ClusterIP, or LoadBalancer with its address.
pub fn service(p: &ServiceParams) -> Value {
    let mut m = meta(p.name, Some(p.namespace), p.uid, p.created);
    if !p.labels.is_empty() {
        m["labels"] = labels_json(p.labels);
    }
    let mut o = object("v1", "Service", m);
    let ports: Vec<Value> = p
        .ports
        .iter()
        .enumerate()
        .map(|(i, (name, port, target))| {
            let mut v = json!({"name": name, "protocol": "TCP", "port": port, "targetPort": target});
            if let Some(np) = p.load_balancer.as_ref().and_then(|lb| lb.node_ports.get(i)) {
                v["nodePort"] = json!(np);
            }
            v
        })
        .collect();
    let ip = p.cluster_ip.unwrap_or("None");
    let mut spec = Map::new();
    spec.insert("ports".into(), Value::Array(ports));
    if let Some(sel) = p.selector {
        spec.insert("selector".into(), labels_json(sel));
    }
    spec.insert("clusterIP".into(), json!(ip));
    spec.insert("clusterIPs".into(), json!([ip]));
    if !p.external_ips.is_empty() {
        spec.insert("externalIPs".into(), json!(p.external_ips));
    }
    spec.insert("sessionAffinity".into(), json!("None"));
    spec.insert("ipFamilies".into(), json!(["IPv4"]));
    spec.insert("ipFamilyPolicy".into(), json!("SingleStack"));
    spec.insert("internalTrafficPolicy".into(), json!("Cluster"));
    let Some(lb) = &p.load_balancer else {
        spec.insert("type".into(), json!("ClusterIP"));
        o["spec"] = Value::Object(spec);
        o["status"] = json!({"loadBalancer": {}});
        add_managed(&mut o, "helm", None);
        return o;
    };
    spec.insert("type".into(), json!("LoadBalancer"));
    spec.insert("externalTrafficPolicy".into(), json!("Cluster"));
    spec.insert("allocateLoadBalancerNodePorts".into(), json!(true));
    o["spec"] = Value::Object(spec);
    let mut ingress = Map::new();
    if let Some(ip) = lb.ip {
        ingress.insert("ip".into(), json!(ip));
        ingress.insert("ipMode".into(), json!("VIP"));
    }
    if let Some(h) = lb.hostname {
        ingress.insert("hostname".into(), json!(h));
    }
    o["status"] = json!({"loadBalancer": {"ingress": [Value::Object(ingress)]}});
    add_managed(&mut o, "helm", Some(("service-controller", lb.provisioned)));
    o
}

/// One endpoint of an EndpointSlice / Endpoints: a pod with an IP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodEndpoint {
    pub ip: String,
    pub pod: String,
    pub node: String,
    pub zone: &'static str,
    pub ready: bool,
    pub terminating: bool,
}

/// Inputs of [`endpoint_slice`] and [`endpoints`].
#[derive(Debug, Clone)]
pub struct EndpointsParams<'a> {
    pub namespace: &'a str,
    pub service: &'a str,
    pub service_uid: &'a str,
    /// Of the slice (EndpointSlice) or of the Endpoints object.
    pub name: &'a str,
    pub uid: &'a str,
    pub created: Timestamp,
    pub labels: &'a [(String, String)],
    pub generation: i64,
    /// (name, port) the endpoints serve.
    pub ports: &'a [(String, u16)],
    pub endpoints: &'a [PodEndpoint],
    pub updated: Timestamp,
}

/// `discovery.k8s.io/v1` EndpointSlice of a Service, managed by the endpointslice controller.
pub fn endpoint_slice(p: &EndpointsParams) -> Value {
    let mut m = meta(p.name, Some(p.namespace), p.uid, p.created);
    m["generation"] = json!(p.generation);
    let mut labels = p.labels.to_vec();
    labels.push((
        "endpointslice.kubernetes.io/managed-by".into(),
        "endpointslice-controller.k8s.io".into(),
    ));
    labels.push(("kubernetes.io/service-name".into(), p.service.into()));
    labels.sort();
    m["labels"] = labels_json(&labels);
    m["annotations"] = json!({"endpoints.kubernetes.io/last-change-trigger-time": ts(p.updated)});
    m["ownerReferences"] = json!([{
        "apiVersion": "v1", "kind": "Service", "name": p.service, "uid": p.service_uid,
        "controller": true, "blockOwnerDeletion": true,
    }]);
    let mut o = object("discovery.k8s.io/v1", "EndpointSlice", m);
    o["addressType"] = json!("IPv4");
    o["endpoints"] = p
        .endpoints
        .iter()
        .map(|e| {
            json!({
                "addresses": [e.ip],
                "conditions": {"ready": e.ready && !e.terminating, "serving": e.ready, "terminating": e.terminating},
                "targetRef": {"kind": "Pod", "namespace": p.namespace, "name": e.pod},
                "nodeName": e.node,
                "zone": e.zone,
            })
        })
        .collect();
    o["ports"] = p
        .ports
        .iter()
        .map(|(name, port)| json!({"name": name, "protocol": "TCP", "port": port}))
        .collect();
    add_managed(&mut o, "kube-controller-manager", None);
    if let Some(e) = o["metadata"]["managedFields"][0].as_object_mut() {
        e.insert("time".into(), ts(p.updated));
    }
    o
}

/// `v1` Endpoints of a Service (the legacy mirror of its slices).
pub fn endpoints(p: &EndpointsParams) -> Value {
    let mut m = meta(p.name, Some(p.namespace), p.uid, p.created);
    if !p.labels.is_empty() {
        m["labels"] = labels_json(p.labels);
    }
    m["annotations"] = json!({"endpoints.kubernetes.io/last-change-trigger-time": ts(p.updated)});
    let mut o = object("v1", "Endpoints", m);
    let addr = |e: &PodEndpoint| {
        json!({"ip": e.ip, "nodeName": e.node,
            "targetRef": {"kind": "Pod", "namespace": p.namespace, "name": e.pod}})
    };
    let ready: Vec<Value> = p
        .endpoints
        .iter()
        .filter(|e| e.ready && !e.terminating)
        .map(addr)
        .collect();
    let not_ready: Vec<Value> = p
        .endpoints
        .iter()
        .filter(|e| !e.ready && !e.terminating)
        .map(addr)
        .collect();
    if !ready.is_empty() || !not_ready.is_empty() {
        let mut subset = Map::new();
        if !ready.is_empty() {
            subset.insert("addresses".into(), Value::Array(ready));
        }
        if !not_ready.is_empty() {
            subset.insert("notReadyAddresses".into(), Value::Array(not_ready));
        }
        subset.insert(
            "ports".into(),
            p.ports
                .iter()
                .map(|(name, port)| json!({"name": name, "port": port, "protocol": "TCP"}))
                .collect(),
        );
        o["subsets"] = json!([Value::Object(subset)]);
    }
    add_managed(&mut o, "kube-controller-manager", None);
    if let Some(e) = o["metadata"]["managedFields"][0].as_object_mut() {
        e.insert("time".into(), ts(p.updated));
    }
    o
}

/// `networking.k8s.io/v1` IngressClass.
pub fn ingress_class(name: &str, uid: &str, created: Timestamp, controller: &str, default: bool) -> Value {
    let mut m = meta(name, None, uid, created);
    m["generation"] = json!(1);
    m["labels"] = json!({"app.kubernetes.io/name": name});
    if default {
        m["annotations"] = json!({"ingressclass.kubernetes.io/is-default-class": "true"});
    }
    let mut o = object("networking.k8s.io/v1", "IngressClass", m);
    o["spec"] = json!({"controller": controller});
    add_managed(&mut o, "helm", None);
    o
}

/// Inputs of [`ingress`].
#[derive(Debug, Clone)]
pub struct IngressParams<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub uid: &'a str,
    pub created: Timestamp,
    pub class: &'a str,
    pub host: &'a str,
    pub service: &'a str,
    pub port_name: &'a str,
    pub tls_secret: &'a str,
    /// The controller's load balancer hostname and when it wrote it; None: no address yet.
    pub load_balancer: Option<(String, Timestamp)>,
}

/// `networking.k8s.io/v1` Ingress: one host, TLS, one backend Service.
pub fn ingress(p: &IngressParams) -> Value {
    let mut m = meta(p.name, Some(p.namespace), p.uid, p.created);
    m["generation"] = json!(1);
    m["annotations"] = json!({"cert-manager.io/cluster-issuer": "letsencrypt"});
    let mut o = object("networking.k8s.io/v1", "Ingress", m);
    o["spec"] = json!({
        "ingressClassName": p.class,
        "tls": [{"hosts": [p.host], "secretName": p.tls_secret}],
        "rules": [{"host": p.host, "http": {"paths": [{
            "path": "/", "pathType": "Prefix",
            "backend": {"service": {"name": p.service, "port": {"name": p.port_name}}},
        }]}}],
    });
    match &p.load_balancer {
        Some((hostname, written)) => {
            o["status"] = json!({"loadBalancer": {"ingress": [{"hostname": hostname}]}});
            add_managed(&mut o, "helm", Some(("nginx-ingress-controller", *written)));
        }
        None => {
            o["status"] = json!({"loadBalancer": {}});
            add_managed(&mut o, "helm", None);
        }
    }
    o
}

/// `networking.k8s.io/v1` NetworkPolicy: `default-deny` (all ingress) or an allow rule for the
/// namespace's own pods and the ingress controller.
pub fn network_policy(namespace: &str, name: &str, uid: &str, created: Timestamp, deny_all: bool) -> Value {
    let mut m = meta(name, Some(namespace), uid, created);
    m["generation"] = json!(1);
    let mut o = object("networking.k8s.io/v1", "NetworkPolicy", m);
    o["spec"] = if deny_all {
        json!({"podSelector": {}, "policyTypes": ["Ingress"]})
    } else {
        json!({
            "podSelector": {},
            "ingress": [
                {"from": [{"podSelector": {}}]},
                {"ports": [{"protocol": "TCP", "port": 8080}],
                 "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}]},
            ],
            "policyTypes": ["Ingress"],
        })
    };
    add_managed(&mut o, "kubectl-client-side-apply", None);
    o
}

// ---------------------------------------------------------------------------------------------
// Policy, coordination, certificates
// ---------------------------------------------------------------------------------------------

/// Inputs of [`pdb`].
#[derive(Debug, Clone)]
pub struct PdbParams<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub uid: &'a str,
    pub created: Timestamp,
    pub selector: &'a [(String, String)],
    /// `minAvailable` (else `maxUnavailable: 1`).
    pub min_available: Option<u32>,
    pub expected: u32,
    pub healthy: u32,
    /// Last change of `DisruptionAllowed`.
    pub since: Timestamp,
}

/// `policy/v1` PodDisruptionBudget with the disruption controller's status.
pub fn pdb(p: &PdbParams) -> Value {
    let mut m = meta(p.name, Some(p.namespace), p.uid, p.created);
    m["generation"] = json!(1);
    let mut o = object("policy/v1", "PodDisruptionBudget", m);
    let desired = match p.min_available {
        Some(n) => n,
        None => p.expected.saturating_sub(1),
    };
    o["spec"] = match p.min_available {
        Some(n) => json!({"minAvailable": n, "selector": {"matchLabels": labels_json(p.selector)}}),
        None => json!({"maxUnavailable": 1, "selector": {"matchLabels": labels_json(p.selector)}}),
    };
    let allowed = p.healthy.saturating_sub(desired);
    let condition = if allowed > 0 {
        json!({"type": "DisruptionAllowed", "status": "True", "observedGeneration": 1,
            "lastTransitionTime": ts(p.since), "reason": "SufficientPods", "message": ""})
    } else {
        json!({"type": "DisruptionAllowed", "status": "False", "observedGeneration": 1,
            "lastTransitionTime": ts(p.since), "reason": "InsufficientPods", "message": ""})
    };
    o["status"] = json!({
        "observedGeneration": 1,
        "disruptionsAllowed": allowed,
        "currentHealthy": p.healthy,
        "desiredHealthy": desired,
        "expectedPods": p.expected,
        "conditions": [condition],
    });
    add_managed(&mut o, "helm", Some(("kube-controller-manager", p.since)));
    o
}

/// Inputs of [`lease`].
#[derive(Debug, Clone)]
pub struct LeaseParams<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub uid: &'a str,
    pub created: Timestamp,
    pub labels: &'a [(String, String)],
    pub holder: &'a str,
    pub duration_seconds: u32,
    /// Node leases: the owning Node (name, uid).
    pub node_owner: Option<(&'a str, &'a str)>,
    /// Leader election: (acquired, transitions).
    pub acquired: Option<(Timestamp, u32)>,
    pub renew: Timestamp,
    pub renew_micros: u32,
    pub manager: &'a str,
}

/// `coordination.k8s.io/v1` Lease (node heartbeat, leader election or API server identity).
pub fn lease(p: &LeaseParams) -> Value {
    let mut m = meta(p.name, Some(p.namespace), p.uid, p.created);
    if !p.labels.is_empty() {
        m["labels"] = labels_json(p.labels);
    }
    if let Some((name, uid)) = p.node_owner {
        m["ownerReferences"] = json!([{"apiVersion": "v1", "kind": "Node", "name": name, "uid": uid}]);
    }
    let mut o = object("coordination.k8s.io/v1", "Lease", m);
    let mut spec = Map::new();
    spec.insert("holderIdentity".into(), json!(p.holder));
    spec.insert("leaseDurationSeconds".into(), json!(p.duration_seconds));
    if let Some((acquired, transitions)) = p.acquired {
        spec.insert("acquireTime".into(), micro_ts(acquired, p.renew_micros / 7));
        spec.insert("leaseTransitions".into(), json!(transitions));
    }
    spec.insert("renewTime".into(), micro_ts(p.renew, p.renew_micros));
    o["spec"] = Value::Object(spec);
    add_managed(&mut o, p.manager, None);
    if let Some(e) = o["metadata"]["managedFields"][0].as_object_mut() {
        e.insert("time".into(), ts(p.renew));
    }
    o
}

/// Inputs of [`csr`].
#[derive(Debug, Clone)]
pub struct CsrParams<'a> {
    pub name: &'a str,
    pub uid: &'a str,
    pub created: Timestamp,
    /// The requesting node.
    pub node: &'a str,
    /// `kubernetes.io/kubelet-serving` or `kubernetes.io/kube-apiserver-client-kubelet`.
    pub signer: &'a str,
    pub approved: Option<Timestamp>,
    pub issued: bool,
}

/// `certificates.k8s.io/v1` CertificateSigningRequest of a kubelet.
pub fn csr(p: &CsrParams) -> Value {
    let mut m = meta(p.name, None, p.uid, p.created);
    m.as_object_mut()
        .expect("meta")
        .insert("generateName".into(), json!("csr-"));
    let serving = p.signer.ends_with("serving");
    let seed = hash_str(p.uid);
    let pem = |label: &str, body_len: usize| {
        let body = b64(hex_from(seed ^ body_len as u64, body_len).as_bytes());
        format!("-----BEGIN {label}-----\n{body}\n-----END {label}-----\n")
    };
    let mut o = object("certificates.k8s.io/v1", "CertificateSigningRequest", m);
    let usages: &[&str] = if serving {
        &["digital signature", "server auth"]
    } else {
        &["digital signature", "client auth"]
    };
    let username = format!("system:node:{}", p.node);
    o["spec"] = json!({
        "request": b64(pem("CERTIFICATE REQUEST", 300).as_bytes()),
        "signerName": p.signer,
        "expirationSeconds": 31_536_000,
        "usages": usages,
        "username": if serving { username.clone() } else { "system:bootstrap:abcdef".into() },
        "groups": if serving { json!(["system:nodes", "system:authenticated"]) }
            else { json!(["system:bootstrappers", "system:bootstrappers:kubeadm:default-node-token", "system:authenticated"]) },
    });
    let mut st = Map::new();
    if let Some(t) = p.approved {
        let reason = if serving { "KubectlApprove" } else { "AutoApproved" };
        let message = if serving {
            "This CSR was approved by kubectl certificate approve.".to_string()
        } else {
            "Auto approving kubelet client certificate after SubjectAccessReview.".to_string()
        };
        st.insert(
            "conditions".into(),
            json!([{"type": "Approved", "status": "True", "reason": reason, "message": message,
                "lastUpdateTime": ts(t), "lastTransitionTime": ts(t)}]),
        );
        if p.issued {
            st.insert("certificate".into(), json!(b64(pem("CERTIFICATE", 600).as_bytes())));
        }
    }
    o["status"] = Value::Object(st);
    add_managed(&mut o, "kubelet", p.approved.map(|t| ("kube-controller-manager", t)));
    o
}

// ---------------------------------------------------------------------------------------------
// RBAC
// ---------------------------------------------------------------------------------------------

/// A policy rule: (apiGroups, resources, verbs).
pub type Rule<'a> = (&'a [&'a str], &'a [&'a str], &'a [&'a str]);

fn rules_json(rules: &[Rule]) -> Value {
    rules
        .iter()
        .map(|(groups, resources, verbs)| json!({"verbs": verbs, "apiGroups": groups, "resources": resources}))
        .collect()
}

/// `rbac.authorization.k8s.io/v1` ClusterRole (`Role` when `namespace` is given).
pub fn role(
    namespace: Option<&str>,
    name: &str,
    uid: &str,
    created: Timestamp,
    labels: &[(String, String)],
    rules: &[Rule],
) -> Value {
    let kind = if namespace.is_some() { "Role" } else { "ClusterRole" };
    let mut m = meta(name, namespace, uid, created);
    if !labels.is_empty() {
        m["labels"] = labels_json(labels);
    }
    if name.starts_with("system:") {
        m["annotations"] = json!({"rbac.authorization.kubernetes.io/autoupdate": "true"});
    }
    let mut o = object("rbac.authorization.k8s.io/v1", kind, m);
    o["rules"] = rules_json(rules);
    let manager = if name.starts_with("system:") {
        "kube-apiserver"
    } else {
        "helm"
    };
    add_managed(&mut o, manager, None);
    o
}

/// A binding subject: (kind, name, namespace for ServiceAccounts).
pub type Subject<'a> = (&'a str, &'a str, Option<&'a str>);

/// `rbac.authorization.k8s.io/v1` ClusterRoleBinding (`RoleBinding` when `namespace` is given)
/// of a ClusterRole or Role named `role`.
#[allow(clippy::too_many_arguments)]
pub fn role_binding(
    namespace: Option<&str>,
    name: &str,
    uid: &str,
    created: Timestamp,
    labels: &[(String, String)],
    role_kind: &str,
    role: &str,
    subjects: &[Subject],
) -> Value {
    let kind = if namespace.is_some() {
        "RoleBinding"
    } else {
        "ClusterRoleBinding"
    };
    let mut m = meta(name, namespace, uid, created);
    if !labels.is_empty() {
        m["labels"] = labels_json(labels);
    }
    if name.starts_with("system:") {
        m["annotations"] = json!({"rbac.authorization.kubernetes.io/autoupdate": "true"});
    }
    let mut o = object("rbac.authorization.k8s.io/v1", kind, m);
    o["subjects"] = subjects
        .iter()
        .map(|(kind, name, ns)| match ns {
            Some(ns) => json!({"kind": kind, "name": name, "namespace": ns}),
            None => json!({"kind": kind, "apiGroup": "rbac.authorization.k8s.io", "name": name}),
        })
        .collect();
    o["roleRef"] = json!({"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role});
    let manager = if name.starts_with("system:") {
        "kube-apiserver"
    } else {
        "helm"
    };
    add_managed(&mut o, manager, None);
    o
}

// ---------------------------------------------------------------------------------------------
// Admission
// ---------------------------------------------------------------------------------------------

/// One webhook of a configuration: (name, service namespace, service name, path, resources it
/// intercepts, failure policy).
pub type Webhook<'a> = (&'a str, &'a str, &'a str, &'a str, &'a [&'a str], &'a str);

/// `admissionregistration.k8s.io/v1` Mutating- or ValidatingWebhookConfiguration.
pub fn webhook_configuration(mutating: bool, name: &str, uid: &str, created: Timestamp, hooks: &[Webhook]) -> Value {
    let kind = if mutating {
        "MutatingWebhookConfiguration"
    } else {
        "ValidatingWebhookConfiguration"
    };
    let mut m = meta(name, None, uid, created);
    m["generation"] = json!(1);
    m["labels"] = json!({"app.kubernetes.io/name": name});
    let mut o = object("admissionregistration.k8s.io/v1", kind, m);
    o["webhooks"] = hooks
        .iter()
        .map(|(hook, ns, svc, path, resources, failure)| {
            let mut w = json!({
                "name": hook,
                "clientConfig": {
                    "service": {"namespace": ns, "name": svc, "path": path, "port": 443},
                    "caBundle": b64(format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", hex_from(hash_str(hook), 64)).as_bytes()),
                },
                "rules": [{"operations": ["CREATE", "UPDATE"], "apiGroups": ["*"], "apiVersions": ["*"],
                    "resources": resources, "scope": "*"}],
                "failurePolicy": failure,
                "matchPolicy": "Equivalent",
                "namespaceSelector": {"matchExpressions": [
                    {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-system"]}
                ]},
                "objectSelector": {},
                "sideEffects": "None",
                "timeoutSeconds": 10,
                "admissionReviewVersions": ["v1"],
            });
            if mutating {
                w["reinvocationPolicy"] = json!("Never");
            }
            w
        })
        .collect();
    add_managed(&mut o, "helm", None);
    o
}

/// `admissionregistration.k8s.io/v1` ValidatingAdmissionPolicy (`mutating`: a
/// MutatingAdmissionPolicy) on `resources` of `group`.
pub fn admission_policy(
    mutating: bool,
    name: &str,
    uid: &str,
    created: Timestamp,
    group: &str,
    resources: &[&str],
) -> Value {
    let kind = if mutating {
        "MutatingAdmissionPolicy"
    } else {
        "ValidatingAdmissionPolicy"
    };
    let mut m = meta(name, None, uid, created);
    m["generation"] = json!(1);
    let mut o = object("admissionregistration.k8s.io/v1", kind, m);
    let constraints = json!({
        "namespaceSelector": {}, "objectSelector": {},
        "resourceRules": [{"operations": ["CREATE", "UPDATE"], "apiGroups": [group], "apiVersions": ["*"],
            "resources": resources, "scope": "*"}],
        "matchPolicy": "Equivalent",
    });
    if mutating {
        o["spec"] = json!({
            "matchConstraints": constraints,
            "mutations": [{"patchType": "ApplyConfiguration", "applyConfiguration": {
                "expression": "Object{metadata: Object.metadata{labels: {\"policy.example.com/mutated\": \"true\"}}}"
            }}],
            "failurePolicy": "Fail",
            "reinvocationPolicy": "Never",
        });
    } else {
        o["spec"] = json!({
            "matchConstraints": constraints,
            "validations": [{
                "expression": "object.spec.template.spec.containers.all(c, c.image.contains('@sha256:') || !c.image.endsWith(':latest'))",
                "message": "images must not use the latest tag",
                "reason": "Invalid",
            }],
            "failurePolicy": "Fail",
        });
        o["status"] = json!({"observedGeneration": 1, "typeChecking": {}, "conditions": []});
    }
    add_managed(
        &mut o,
        "kubectl-client-side-apply",
        (!mutating).then_some(("kube-apiserver", at1(created))),
    );
    o
}

/// The binding of [`admission_policy`] `policy` (`validationActions: [Deny]` for validating ones).
pub fn admission_policy_binding(mutating: bool, name: &str, uid: &str, created: Timestamp, policy: &str) -> Value {
    let kind = if mutating {
        "MutatingAdmissionPolicyBinding"
    } else {
        "ValidatingAdmissionPolicyBinding"
    };
    let mut m = meta(name, None, uid, created);
    m["generation"] = json!(1);
    let mut o = object("admissionregistration.k8s.io/v1", kind, m);
    let selector = json!({"matchExpressions": [
        {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-system", "kube-node-lease"]}
    ]});
    o["spec"] = if mutating {
        json!({"policyName": policy, "matchResources": {"namespaceSelector": selector, "objectSelector": {}, "matchPolicy": "Equivalent"}})
    } else {
        json!({"policyName": policy, "validationActions": ["Deny"],
            "matchResources": {"namespaceSelector": selector, "objectSelector": {}, "matchPolicy": "Equivalent"}})
    };
    add_managed(&mut o, "kubectl-client-side-apply", None);
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> Timestamp {
        Timestamp::from_second(1_795_000_000).unwrap()
    }

    #[test]
    fn fields_v1_keys_named_list_items() {
        let f = fields_v1(&json!({"ports": [{"name": "http", "port": 80}], "selector": {"app": "web"}, "x": [1]}));
        assert_eq!(
            f,
            json!({
                "f:ports": {".": {}, "k:{\"name\":\"http\"}": {".": {}, "f:name": {}, "f:port": {}}},
                "f:selector": {".": {}, "f:app": {}},
                "f:x": {},
            })
        );
    }

    #[test]
    fn micro_time_has_six_digits() {
        assert_eq!(micro_ts(t0(), 42), json!("2026-11-18T11:06:40.000042Z"));
    }

    #[test]
    fn managed_fields_split_spec_and_status() {
        let mut o = json!({"apiVersion": "v1", "kind": "X", "metadata": {"creationTimestamp": "2026-11-18T02:13:20Z",
            "labels": {"a": "b"}}, "spec": {"n": 1}, "status": {"phase": "Bound"}});
        add_managed(&mut o, "m", Some(("c", super::super::at(t0(), 5))));
        let mf = &o["metadata"]["managedFields"];
        assert_eq!(mf[0]["manager"], "m");
        assert_eq!(
            mf[0]["fieldsV1"],
            json!({"f:metadata": {"f:labels": {".": {}, "f:a": {}}}, "f:spec": {"f:n": {}}})
        );
        assert_eq!(mf[1]["subresource"], "status");
        assert_eq!(mf[1]["time"], "2026-11-18T11:06:45Z");
        assert_eq!(mf[1]["fieldsV1"], json!({"f:status": {".": {}, "f:phase": {}}}));
    }
}
