//! Tests of the kinds around the workloads (`extras.rs`, `objects.rs`): every kind generated,
//! typed and rendered; references between objects hold; proportions; lease renewals and
//! CronJob schedules in the churn.

use std::collections::{BTreeMap, HashMap, HashSet};

use jiff::Timestamp;
use serde_json::Value;

use super::extras::NODE_LEASE_PERIOD;
use super::{ClusterModel, ClusterSpec, Op, at};

/// The resource of a kind: the exporter's table, plus the kinds the sim may not serve yet.
pub(super) fn resource_of(kind: &str) -> &'static str {
    if let Some(e) = crate::kinds::table().iter().find(|e| e.kind == kind) {
        return e.resource;
    }
    match kind {
        "ReplicaSet" => "replicasets",
        "StatefulSet" => "statefulsets",
        "CronJob" => "cronjobs",
        "ConfigMap" => "configmaps",
        "Secret" => "secrets",
        "ReplicationController" => "replicationcontrollers",
        other => panic!("unexpected kind {other}"),
    }
}

macro_rules! decode_as {
    ($obj:expr, $kind:expr, $($name:literal => $ty:ty),* $(,)?) => {
        match $kind {
            $($name => serde_json::from_value::<$ty>($obj.clone()).map(drop),)*
            other => panic!("unexpected kind {other}"),
        }
    };
}

/// The object decodes into its k8s-openapi type.
pub(super) fn check_typed(obj: &Value) {
    use k8s_openapi::api::{
        admissionregistration::v1 as adm, apps::v1 as apps, autoscaling::v2 as autoscaling, batch::v1 as batch,
        certificates::v1 as certs, coordination::v1 as coord, core::v1 as core, discovery::v1 as discovery,
        networking::v1 as net, policy::v1 as policy, rbac::v1 as rbac, storage::v1 as storage,
    };
    use k8s_openapi::kube_aggregator::pkg::apis::apiregistration::v1::APIService;
    let kind = obj["kind"].as_str().expect("kind");
    let r = decode_as!(obj, kind,
        "Pod" => core::Pod, "Node" => core::Node, "Namespace" => core::Namespace,
        "Deployment" => apps::Deployment, "DaemonSet" => apps::DaemonSet, "ReplicaSet" => apps::ReplicaSet,
        "StatefulSet" => apps::StatefulSet, "Job" => batch::Job, "CronJob" => batch::CronJob,
        "HorizontalPodAutoscaler" => autoscaling::HorizontalPodAutoscaler, "APIService" => APIService,
        "ConfigMap" => core::ConfigMap, "Secret" => core::Secret, "ServiceAccount" => core::ServiceAccount,
        "Service" => core::Service, "Endpoints" => core::Endpoints, "EndpointSlice" => discovery::EndpointSlice,
        "Ingress" => net::Ingress, "IngressClass" => net::IngressClass, "NetworkPolicy" => net::NetworkPolicy,
        "ResourceQuota" => core::ResourceQuota, "LimitRange" => core::LimitRange,
        "PersistentVolume" => core::PersistentVolume, "PersistentVolumeClaim" => core::PersistentVolumeClaim,
        "ReplicationController" => core::ReplicationController,
        "StorageClass" => storage::StorageClass, "VolumeAttachment" => storage::VolumeAttachment,
        "PodDisruptionBudget" => policy::PodDisruptionBudget, "Lease" => coord::Lease,
        "CertificateSigningRequest" => certs::CertificateSigningRequest,
        "ClusterRole" => rbac::ClusterRole, "ClusterRoleBinding" => rbac::ClusterRoleBinding,
        "Role" => rbac::Role, "RoleBinding" => rbac::RoleBinding,
        "MutatingWebhookConfiguration" => adm::MutatingWebhookConfiguration,
        "ValidatingWebhookConfiguration" => adm::ValidatingWebhookConfiguration,
        "ValidatingAdmissionPolicy" => adm::ValidatingAdmissionPolicy,
        "ValidatingAdmissionPolicyBinding" => adm::ValidatingAdmissionPolicyBinding,
        "MutatingAdmissionPolicy" => adm::MutatingAdmissionPolicy,
        "MutatingAdmissionPolicyBinding" => adm::MutatingAdmissionPolicyBinding,
    );
    if let Err(e) = r {
        panic!("{kind} {} does not deserialize: {e}\n{obj:#}", obj["metadata"]["name"]);
    }
}

fn now() -> Timestamp {
    Timestamp::from_second(1_795_000_000).unwrap()
}

fn key(o: &Value) -> (String, String, String) {
    (
        resource_of(o["kind"].as_str().unwrap()).to_string(),
        o["metadata"]["namespace"].as_str().unwrap_or("").to_string(),
        o["metadata"]["name"].as_str().unwrap().to_string(),
    )
}

fn index(objs: &[Value]) -> HashMap<(String, String, String), &Value> {
    objs.iter().map(|o| (key(o), o)).collect()
}

fn count(objs: &[Value]) -> BTreeMap<&'static str, usize> {
    let mut by: BTreeMap<&'static str, usize> = BTreeMap::new();
    for o in objs {
        *by.entry(resource_of(o["kind"].as_str().unwrap())).or_default() += 1;
    }
    by
}

#[test]
fn every_kind_is_generated_typed_and_rendered() {
    let m = ClusterModel::new(ClusterSpec::for_pods(1000, 4), now());
    let objs: Vec<Value> = m.objects().collect();
    let by = count(&objs);
    for r in crate::kinds::resources() {
        assert!(by.contains_key(r), "no {r} generated: {by:?}");
    }
    let options = crate::cli::FamilyArgs {
        resources: crate::kinds::resources().iter().map(|r| r.to_string()).collect(),
        ..Default::default()
    }
    .validate()
    .unwrap();
    let mut sources = Vec::new();
    for o in &objs {
        check_typed(o);
        if crate::kinds::entry(resource_of(o["kind"].as_str().unwrap())).is_some() {
            sources.push((format!("{:?}", key(o)), o.to_string()));
        }
    }
    let out = crate::render::render_sources(&sources, &options, crate::exposition::Format::Text);
    assert!(
        out.problems.is_empty(),
        "{:?}",
        &out.problems[..out.problems.len().min(10)]
    );
    assert_eq!(out.rendered, sources.len());
}

#[test]
fn proportions_per_thousand_pods() {
    let m = ClusterModel::new(ClusterSpec::for_pods(1000, 1), now());
    let objs: Vec<Value> = m.objects().collect();
    let by = count(&objs);
    let n = |r: &str| by.get(r).copied().unwrap_or(0);
    let msg = format!("{by:?}");
    assert!((950..=1050).contains(&n("pods")), "{msg}");
    assert_eq!(n("deployments"), 100, "{msg}");
    assert!((250..=600).contains(&n("replicasets")), "{msg}");
    assert_eq!(n("statefulsets"), 12, "{msg}");
    assert_eq!(n("persistentvolumeclaims"), n("persistentvolumes"), "{msg}");
    assert_eq!(n("persistentvolumeclaims"), n("volumeattachments"), "{msg}");
    assert!((150..=260).contains(&n("configmaps")), "{msg}");
    // ~100 per 1 000 pods: registry credentials, app and database secrets, TLS, Helm releases.
    assert_eq!(n("secrets"), 94, "{msg}");
    assert!((85..=125).contains(&n("services")), "{msg}");
    assert_eq!(n("services"), n("endpointslices"), "{msg}");
    assert_eq!(n("services"), n("endpoints"), "{msg}");
    assert!((8..=30).contains(&n("ingresses")), "{msg}");
    assert!((15..=60).contains(&n("poddisruptionbudgets")), "{msg}");
    assert!((10..=40).contains(&n("cronjobs")), "{msg}");
    // One lease per node, plus API server identity and leader-election leases.
    assert_eq!(n("leases"), 33 + 3 + 2, "{msg}");
    assert_eq!(n("resourcequotas"), n("limitranges"), "{msg}");
}

#[test]
fn references_hold() {
    let m = ClusterModel::new(ClusterSpec::for_pods(1000, 7), now());
    let objs: Vec<Value> = m.objects().collect();
    let idx = index(&objs);
    let get = |r: &str, ns: &str, name: &str| idx.get(&(r.to_string(), ns.to_string(), name.to_string())).copied();
    let mut pod_ips: HashMap<(String, String), String> = HashMap::new();
    for p in objs.iter().filter(|o| o["kind"] == "Pod") {
        if let Some(ip) = p["status"]["podIP"].as_str() {
            let (_, ns, name) = key(p);
            pod_ips.insert((ns, name), ip.to_string());
        }
    }
    for o in &objs {
        let (r, ns, name) = key(o);
        match r.as_str() {
            "replicasets" => {
                let d = &o["metadata"]["ownerReferences"][0];
                assert_eq!(
                    get("deployments", &ns, d["name"].as_str().unwrap()).unwrap()["metadata"]["uid"],
                    d["uid"]
                );
                let hash = o["metadata"]["labels"]["pod-template-hash"].as_str().unwrap();
                assert_eq!(name, format!("{}-{hash}", d["name"].as_str().unwrap()));
            }
            "persistentvolumeclaims" => {
                let pv = get("persistentvolumes", "", o["spec"]["volumeName"].as_str().unwrap()).expect("bound PV");
                assert_eq!(pv["spec"]["claimRef"]["uid"], o["metadata"]["uid"]);
                assert_eq!(pv["spec"]["claimRef"]["name"], name.as_str());
                // Claims kept on scale-down (`whenScaled: Retain`) have no owner.
                if let Some(owner) = o["metadata"]["ownerReferences"].get(0) {
                    assert_eq!(
                        get("pods", &ns, owner["name"].as_str().unwrap()).unwrap()["metadata"]["uid"],
                        owner["uid"]
                    );
                }
            }
            "jobs" => {
                if let Some(owner) = o["metadata"]["ownerReferences"].get(0) {
                    let cj = get("cronjobs", &ns, owner["name"].as_str().unwrap()).expect("cronjob");
                    assert_eq!(cj["metadata"]["uid"], owner["uid"]);
                    assert!(name.starts_with(&format!("{}-", owner["name"].as_str().unwrap())));
                }
            }
            "endpointslices" => {
                let svc = &o["metadata"]["ownerReferences"][0];
                assert!(get("services", &ns, svc["name"].as_str().unwrap()).is_some());
                for e in o["endpoints"].as_array().unwrap() {
                    let Some(pod) = e["targetRef"]["name"].as_str() else {
                        continue;
                    };
                    if svc["name"] == "kubernetes" {
                        continue;
                    }
                    assert_eq!(
                        pod_ips[&(ns.clone(), pod.to_string())],
                        e["addresses"][0].as_str().unwrap()
                    );
                }
            }
            "leases" if ns == "kube-node-lease" => {
                assert_eq!(
                    get("nodes", "", &name).unwrap()["metadata"]["uid"],
                    o["metadata"]["ownerReferences"][0]["uid"]
                );
            }
            "resourcequotas" => {
                let pods = objs
                    .iter()
                    .filter(|p| {
                        p["kind"] == "Pod"
                            && p["metadata"]["namespace"] == ns.as_str()
                            && !matches!(p["status"]["phase"].as_str(), Some("Succeeded" | "Failed"))
                    })
                    .count();
                assert_eq!(o["status"]["used"]["pods"], pods.to_string(), "{ns}");
            }
            _ => {}
        }
        if let Some(ns) = o["metadata"]["namespace"].as_str() {
            assert!(get("namespaces", "", ns).is_some(), "namespace {ns}");
        }
    }
}

#[test]
fn exact_objects_of_a_small_cluster() {
    let m = ClusterModel::new(ClusterSpec::for_pods(200, 3), now());
    let objs: Vec<Value> = m.objects().collect();
    let pick = |kind: &str| objs.iter().find(|o| o["kind"] == kind).unwrap();
    let rs = pick("ReplicaSet");
    let d = objs
        .iter()
        .find(|o| o["kind"] == "Deployment" && o["metadata"]["name"] == rs["metadata"]["ownerReferences"][0]["name"])
        .unwrap();
    let hash = rs["metadata"]["labels"]["pod-template-hash"].as_str().unwrap();
    assert_eq!(
        rs["metadata"]["uid"],
        super::replicaset_uid(d["metadata"]["uid"].as_str().unwrap(), hash)
    );
    let pvc = pick("PersistentVolumeClaim");
    let pv = pick("PersistentVolume");
    assert_eq!(pvc["spec"]["volumeName"], pv["metadata"]["name"]);
    assert_eq!(
        pv["metadata"]["name"].as_str().unwrap(),
        format!("pvc-{}", pvc["metadata"]["uid"].as_str().unwrap())
    );
    let exact = serde_json::json!([
        rs["metadata"]["name"],
        pvc["metadata"]["name"],
        pvc["metadata"]["ownerReferences"][0]["name"],
        pick("Lease")["metadata"]["name"],
        pick("Lease")["spec"]["renewTime"],
        pick("CronJob")["metadata"]["name"],
    ]);
    assert_eq!(
        exact,
        serde_json::json!([
            "recommendations-ghn4fnbqss",
            "data-postgres-0",
            "postgres-0",
            "control-plane-1",
            "2026-11-18T11:06:36.191683Z",
            "etl-import"
        ]),
        "{exact}"
    );
}

/// Applies a churn tick's ops to a name → object map of the leases; returns how many renewals.
fn renewals(ops: &[Op]) -> Vec<String> {
    ops.iter()
        .filter_map(|op| match op {
            Op::Patch {
                resource: "leases",
                name,
                ..
            } => Some(name.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn leases_renew_every_period() {
    let mut m = ClusterModel::new(ClusterSpec::for_pods(300, 2), now());
    let nodes = m.spec().nodes;
    let mut per_lease: HashMap<String, usize> = HashMap::new();
    let mut total_ops = 0;
    let ticks = 60;
    for t in 1..=ticks {
        let ops = m.churn(at(now(), t), 5);
        total_ops += ops.len();
        for name in renewals(&ops) {
            *per_lease.entry(name).or_default() += 1;
        }
    }
    // 60 s of model time: every node lease renewed 6 times (every 10 s), leader leases every 2 s.
    for n in 0..nodes {
        let name = m.nodes[n].name.clone();
        assert_eq!(
            per_lease.get(&name).copied(),
            Some(60 / NODE_LEASE_PERIOD as usize),
            "{name}"
        );
    }
    assert_eq!(per_lease["kube-scheduler"], 30);
    let lease_ops: usize = per_lease.values().sum();
    assert!(lease_ops * 100 / total_ops >= 20, "{lease_ops} of {total_ops}");
}

#[test]
fn unreachable_node_stops_renewing() {
    let mut m = ClusterModel::new(ClusterSpec::for_pods(100, 2), now());
    let name = m.nodes[0].name.clone();
    m.nodes[0].unreachable = true;
    let ops = m.churn(at(now(), 30), 5);
    assert!(!renewals(&ops).contains(&name));
    m.nodes[0].unreachable = false;
    let ops = m.churn(at(now(), 31), 5);
    let renew = ops
        .iter()
        .find_map(|op| match op {
            Op::Patch {
                resource: "leases",
                name: n,
                patch,
                ..
            } if *n == name => Some(patch["spec"]["renewTime"].as_str().unwrap().to_string()),
            _ => None,
        })
        .expect("renewed once back");
    assert!(renew.starts_with("2026-11-18T11:07:11."), "{renew}");
}

#[test]
fn cronjobs_spawn_owned_jobs_on_schedule() {
    let mut m = ClusterModel::new(ClusterSpec::for_pods(1000, 5), now());
    let objs: Vec<Value> = m.objects().collect();
    let cron_uids: HashSet<String> = objs
        .iter()
        .filter(|o| o["kind"] == "CronJob")
        .map(|o| o["metadata"]["uid"].as_str().unwrap().to_string())
        .collect();
    let (mut spawned, mut cron_patches) = (0, 0);
    for t in 1..=120 {
        for op in m.churn(at(now(), t * 30), 10) {
            match op {
                Op::Create(o) if o["kind"] == "Job" => {
                    if let Some(owner) = o["metadata"]["ownerReferences"].get(0) {
                        assert!(cron_uids.contains(owner["uid"].as_str().unwrap()));
                        spawned += 1;
                    }
                }
                Op::Patch {
                    resource: "cronjobs", ..
                } => cron_patches += 1,
                _ => {}
            }
        }
    }
    // An hour of model time: every */5 CronJob alone runs up to 12 times.
    assert!(spawned >= 12, "{spawned}");
    assert!(cron_patches >= spawned, "{cron_patches} patches for {spawned} jobs");
}
