//! Tests of the pods, nodes and workloads of a generated cluster and of its churn.

use std::collections::{BTreeMap, HashMap, HashSet};

use jiff::Timestamp;
use serde_json::{Map, Value};

use super::util::{ALPHANUM, at};
use super::{ClusterModel, ClusterSpec, Op, merge_diff, pod_template_hash, replicaset_uid};

pub(super) type Key = (&'static str, String, String);

fn now() -> Timestamp {
    Timestamp::from_second(1_795_000_000).unwrap()
}

fn resource_of(kind: &str) -> &'static str {
    super::tests_extras::resource_of(kind)
}

pub(super) fn key_of(obj: &Value) -> Key {
    let meta = &obj["metadata"];
    (
        resource_of(obj["kind"].as_str().expect("kind")),
        meta["namespace"].as_str().unwrap_or("").to_string(),
        meta["name"].as_str().expect("name").to_string(),
    )
}

fn check_typed(obj: &Value) {
    super::tests_extras::check_typed(obj);
}

/// RFC 7386.
pub(super) fn apply_merge(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            let t = target.as_object_mut().expect("object");
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    apply_merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        other => *target = other.clone(),
    }
}

fn ts_of(t: Timestamp) -> Value {
    Value::String(t.to_string())
}

fn is_rfc3339_z(s: &str) -> bool {
    s.len() == 20 && s.ends_with('Z') && s.parse::<Timestamp>().is_ok()
}

/// `MicroTime` fields (lease renewals) carry microseconds.
fn is_micro_time(s: &str) -> bool {
    s.len() == 27 && s.ends_with('Z') && s.parse::<Timestamp>().is_ok()
}

/// Every string under a time-ish key is RFC 3339 with Z at second precision.
fn check_times(v: &Value, path: &str) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let time_key = k.ends_with("Time") || k.ends_with("Timestamp") || k.ends_with("At") || k == "timeAdded";
                if time_key && let Value::String(s) = x {
                    if k == "renewTime" || k == "acquireTime" {
                        assert!(is_micro_time(s), "{path}.{k} = {s:?}");
                    } else {
                        assert!(is_rfc3339_z(s), "{path}.{k} = {s:?}");
                    }
                }
                check_times(x, &format!("{path}.{k}"));
            }
        }
        Value::Array(a) => a.iter().for_each(|x| check_times(x, path)),
        _ => {}
    }
}

fn container_waiting(pod: &Value, reason: &str) -> bool {
    pod["status"]["containerStatuses"]
        .as_array()
        .is_some_and(|cs| cs.iter().any(|c| c["state"]["waiting"]["reason"] == reason))
}

fn condition<'a>(obj: &'a Value, ty: &str) -> Option<&'a Value> {
    obj["status"]["conditions"].as_array()?.iter().find(|c| c["type"] == ty)
}

#[test]
fn for_pods_shapes() {
    let s = ClusterSpec::for_pods(1000, 1);
    assert_eq!(s.nodes, 33);
    assert!((2..=4).contains(&s.daemonsets));
    assert_eq!(s.jobs, 50);
    assert_eq!(s.deployments, 100);
    assert_eq!(s.statefulsets, 12);
    assert_eq!(s.hpas, s.deployments / 5);
    assert_eq!(s.namespaces, s.deployments / 8);
    assert_eq!(ClusterSpec::for_pods(10, 1).nodes, 3);
    let empty = ClusterSpec::for_pods(0, 1);
    let mut m = ClusterModel::new(empty, now());
    assert!(m.initial_objects().is_empty());
    assert!(m.churn(now(), 10).is_empty());
}

#[test]
fn initial_objects_are_typed_and_proportioned() {
    for seed in [1, 2, 3] {
        let mut m = ClusterModel::new(ClusterSpec::for_pods(1000, seed), now());
        let objs = m.initial_objects();
        let mut by_kind: HashMap<String, usize> = HashMap::new();
        let (mut ready, mut pending, mut succeeded, mut failed, mut crash, mut evicted, mut unsched) =
            (0, 0, 0, 0, 0, 0, 0);
        let mut qos: HashMap<String, usize> = HashMap::new();
        for o in &objs {
            check_typed(o);
            check_times(o, "");
            assert!(o["metadata"].get("resourceVersion").is_none());
            // Every object says who wrote it, as a server records it.
            let managed = o["metadata"]["managedFields"].as_array().expect("managedFields");
            assert!(!managed.is_empty() && managed.len() <= 2, "{}", o["kind"]);
            assert!(managed.iter().all(|e| e["operation"] == "Update"), "{}", o["kind"]);
            let created: Timestamp = o["metadata"]["creationTimestamp"].as_str().unwrap().parse().unwrap();
            assert!(created <= now());
            *by_kind.entry(o["kind"].as_str().unwrap().to_string()).or_default() += 1;
            if o["kind"] != "Pod" {
                continue;
            }
            *qos.entry(o["status"]["qosClass"].as_str().unwrap().to_string())
                .or_default() += 1;
            match o["status"]["phase"].as_str().unwrap() {
                "Running" if container_waiting(o, "CrashLoopBackOff") => crash += 1,
                "Running" => {
                    if condition(o, "Ready").unwrap()["status"] == "True" {
                        ready += 1;
                    }
                }
                "Pending" => {
                    pending += 1;
                    if condition(o, "PodScheduled").unwrap()["status"] == "False" {
                        unsched += 1;
                        assert!(o["spec"].get("nodeName").is_none());
                    }
                }
                "Succeeded" => succeeded += 1,
                "Failed" => {
                    failed += 1;
                    if o["status"]["reason"] == "Evicted" {
                        evicted += 1;
                        assert_eq!(
                            condition(o, "DisruptionTarget").unwrap()["reason"],
                            "TerminationByKubelet"
                        );
                    }
                }
                other => panic!("phase {other}"),
            }
        }
        let pods = by_kind["Pod"];
        assert!((900..=1100).contains(&pods), "seed {seed}: {pods} pods");
        let f = |n: usize| n as f64 / pods as f64;
        let msg =
            format!("seed {seed}: ready {ready} pending {pending} succeeded {succeeded} failed {failed} crash {crash}");
        assert!((0.85..=0.95).contains(&f(ready)), "{msg}");
        assert!((0.01..=0.06).contains(&f(pending)), "{msg}");
        assert!((0.02..=0.07).contains(&f(succeeded)), "{msg}");
        assert!((0.005..=0.04).contains(&f(failed)), "{msg}");
        assert!((0.002..=0.03).contains(&f(crash)), "{msg}");
        assert!(evicted > 0 && unsched > 0, "{msg}");
        for class in ["Guaranteed", "Burstable", "BestEffort"] {
            assert!(qos.get(class).copied().unwrap_or(0) > 10, "seed {seed}: qos {qos:?}");
        }
        assert_eq!(by_kind["Node"], 33);
        assert!(by_kind["HorizontalPodAutoscaler"] > 10);
        assert!(by_kind["Job"] >= 45);
        assert!(by_kind["Namespace"] >= 3);
    }
}

#[test]
fn objects_are_consistent() {
    let mut m = ClusterModel::new(ClusterSpec::for_pods(1000, 7), now());
    let objs = m.initial_objects();
    let mut keys = HashSet::new();
    let mut uids = HashSet::new();
    let mut by_key: HashMap<Key, &Value> = HashMap::new();
    let mut seen_kinds = Vec::new();
    for o in &objs {
        let k = key_of(o);
        assert!(keys.insert(k.clone()), "duplicate {k:?}");
        let uid = o["metadata"]["uid"].as_str().unwrap();
        assert_eq!(uid.len(), 36);
        assert_eq!(&uid[14..15], "4");
        assert!(uids.insert(uid.to_string()), "duplicate uid");
        by_key.insert(k, o);
        let kind = o["kind"].as_str().unwrap().to_string();
        if seen_kinds.last() != Some(&kind) {
            assert!(!seen_kinds.contains(&kind), "kinds not grouped: {kind}");
            seen_kinds.push(kind);
        }
    }
    assert_eq!(
        seen_kinds,
        [
            "APIService",
            "Namespace",
            "Node",
            "StorageClass",
            "IngressClass",
            "ClusterRole",
            "ClusterRoleBinding",
            "MutatingWebhookConfiguration",
            "ValidatingWebhookConfiguration",
            "ValidatingAdmissionPolicy",
            "ValidatingAdmissionPolicyBinding",
            "MutatingAdmissionPolicy",
            "MutatingAdmissionPolicyBinding",
            "CertificateSigningRequest",
            "PersistentVolume",
            "VolumeAttachment",
            "ServiceAccount",
            "ConfigMap",
            "Secret",
            "Role",
            "RoleBinding",
            "LimitRange",
            "NetworkPolicy",
            "ResourceQuota",
            "Lease",
            "Deployment",
            "ReplicaSet",
            "StatefulSet",
            "ReplicationController",
            "DaemonSet",
            "CronJob",
            "Job",
            "HorizontalPodAutoscaler",
            "PodDisruptionBudget",
            "Service",
            "Endpoints",
            "EndpointSlice",
            "Ingress",
            "Pod",
            "PersistentVolumeClaim",
        ]
    );
    let nodes = objs.iter().filter(|o| o["kind"] == "Node").count();
    let mut rs_uids: HashMap<String, String> = HashMap::new();
    let mut per_deploy: HashMap<(String, String), (u32, u32)> = HashMap::new();
    for o in objs.iter().filter(|o| o["metadata"].get("namespace").is_some()) {
        let ns = o["metadata"]["namespace"].as_str().unwrap();
        assert!(
            by_key.contains_key(&("namespaces", String::new(), ns.to_string())),
            "namespace {ns}"
        );
    }
    for o in objs.iter().filter(|o| o["kind"] == "Pod") {
        let ns = o["metadata"]["namespace"].as_str().unwrap().to_string();
        let name = o["metadata"]["name"].as_str().unwrap();
        let refs = o["metadata"]["ownerReferences"].as_array().unwrap();
        assert_eq!(refs.len(), 1);
        let r = &refs[0];
        assert_eq!(r["controller"], true);
        assert_eq!(r["blockOwnerDeletion"], true);
        let owner_name = r["name"].as_str().unwrap();
        let owner_uid = r["uid"].as_str().unwrap();
        match r["kind"].as_str().unwrap() {
            "ReplicaSet" => {
                let hash = o["metadata"]["labels"]["pod-template-hash"].as_str().unwrap();
                assert_eq!(hash.len(), 10);
                let deploy = owner_name
                    .strip_suffix(&format!("-{hash}"))
                    .expect("rs name = deploy-hash");
                let d = by_key[&("deployments", ns.clone(), deploy.to_string())];
                assert_eq!(owner_uid, replicaset_uid(d["metadata"]["uid"].as_str().unwrap(), hash));
                let rs = by_key[&("replicasets", ns.clone(), owner_name.to_string())];
                assert_eq!(rs["metadata"]["uid"], owner_uid);
                assert_eq!(rs["metadata"]["ownerReferences"][0]["uid"], d["metadata"]["uid"]);
                assert_eq!(
                    rs_uids.entry(owner_name.to_string()).or_insert(owner_uid.to_string()),
                    owner_uid
                );
                let rest = name
                    .strip_prefix(&format!("{owner_name}-"))
                    .expect("pod name = rs-xxxxx");
                assert_eq!(rest.len(), 5);
                assert!(rest.bytes().all(|b| ALPHANUM.contains(&b)));
                for (k, v) in d["spec"]["selector"]["matchLabels"].as_object().unwrap() {
                    assert_eq!(&o["metadata"]["labels"][k], v);
                }
                let e = per_deploy.entry((ns.clone(), deploy.to_string())).or_default();
                let phase = o["status"]["phase"].as_str().unwrap();
                if phase != "Failed" && phase != "Succeeded" {
                    e.0 += 1;
                    if condition(o, "Ready").is_some_and(|c| c["status"] == "True") {
                        e.1 += 1;
                    }
                }
            }
            "DaemonSet" => {
                let ds = by_key[&("daemonsets", ns.clone(), owner_name.to_string())];
                assert_eq!(ds["metadata"]["uid"], owner_uid);
                let node = o["spec"]["nodeName"].as_str().unwrap();
                assert!(by_key.contains_key(&("nodes", String::new(), node.to_string())));
            }
            "Job" => {
                let job = by_key[&("jobs", ns.clone(), owner_name.to_string())];
                assert_eq!(job["metadata"]["uid"], owner_uid);
                assert_eq!(o["metadata"]["labels"]["batch.kubernetes.io/controller-uid"], owner_uid);
                assert_eq!(o["spec"]["restartPolicy"], "Never");
            }
            "StatefulSet" => {
                let sts = by_key[&("statefulsets", ns.clone(), owner_name.to_string())];
                assert_eq!(sts["metadata"]["uid"], owner_uid);
                let claim = o["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"]
                    .as_str()
                    .unwrap();
                let pvc = by_key[&("persistentvolumeclaims", ns.clone(), claim.to_string())];
                let sts_policy = &sts["spec"]["persistentVolumeClaimRetentionPolicy"]["whenScaled"];
                if sts_policy == "Delete" {
                    assert_eq!(pvc["metadata"]["ownerReferences"][0]["uid"], o["metadata"]["uid"]);
                } else {
                    assert!(pvc["metadata"].get("ownerReferences").is_none());
                }
            }
            other => panic!("owner kind {other}"),
        }
        // Server defaults.
        let spec = &o["spec"];
        assert_eq!(spec["dnsPolicy"], "ClusterFirst");
        assert_eq!(spec["schedulerName"], "default-scheduler");
        assert_eq!(spec["enableServiceLinks"], true);
        assert_eq!(spec["preemptionPolicy"], "PreemptLowerPriority");
        assert!(spec["priority"].is_i64());
        for c in spec["containers"].as_array().unwrap() {
            assert_eq!(c["terminationMessagePath"], "/dev/termination-log");
            assert_eq!(c["terminationMessagePolicy"], "File");
            assert!(c["imagePullPolicy"].is_string());
        }
        let n = spec["containers"].as_array().unwrap().len();
        assert!((1..=3).contains(&n));
        assert_eq!(o["status"]["containerStatuses"].as_array().map_or(n, Vec::len), n);
        if let Some(node) = spec["nodeName"].as_str() {
            assert!(by_key.contains_key(&("nodes", String::new(), node.to_string())));
        }
    }
    for d in objs.iter().filter(|o| o["kind"] == "Deployment") {
        let key = (
            d["metadata"]["namespace"].as_str().unwrap().to_string(),
            d["metadata"]["name"].as_str().unwrap().to_string(),
        );
        let (active, ready) = per_deploy.get(&key).copied().unwrap_or_default();
        assert_eq!(
            d["status"]["replicas"].as_u64().unwrap_or(0),
            u64::from(active),
            "{key:?}"
        );
        assert_eq!(
            d["status"]["readyReplicas"].as_u64().unwrap_or(0),
            u64::from(ready),
            "{key:?}"
        );
    }
    for ds in objs.iter().filter(|o| o["kind"] == "DaemonSet") {
        assert_eq!(ds["status"]["desiredNumberScheduled"], nodes);
        assert_eq!(ds["status"]["currentNumberScheduled"], nodes);
    }
    let control_planes: Vec<_> = objs
        .iter()
        .filter(|o| {
            o["kind"] == "Node"
                && o["metadata"]["labels"]
                    .get("node-role.kubernetes.io/control-plane")
                    .is_some()
        })
        .collect();
    assert_eq!(control_planes.len(), 3);
    for n in control_planes {
        assert_eq!(n["spec"]["taints"][0]["effect"], "NoSchedule");
    }
    // Deployment pods never run on control-plane nodes.
    for o in objs
        .iter()
        .filter(|o| o["kind"] == "Pod" && o["metadata"]["ownerReferences"][0]["kind"] == "ReplicaSet")
    {
        assert!(
            !o["spec"]["nodeName"]
                .as_str()
                .unwrap_or("")
                .starts_with("control-plane")
        );
    }
}

#[test]
fn same_seed_same_cluster() {
    let run = |seed: u64| {
        let mut m = ClusterModel::new(ClusterSpec::for_pods(500, seed), now());
        let mut out = format!("{:?}", m.initial_objects());
        for i in 0..10 {
            out.push_str(&format!("{:?}", m.churn(at(now(), 10 * (i + 1)), 30)));
        }
        out.push_str(&format!("{:?}", m.pod_status_update(at(now(), 500))));
        out
    };
    assert_eq!(run(42), run(42));
    assert_ne!(run(42), run(43));
}

#[test]
fn merge_diff_round_trips() {
    let mut m = ClusterModel::new(ClusterSpec::for_pods(300, 5), now());
    let objs = m.initial_objects();
    for pair in objs.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let mut x = a.clone();
        if let Some(p) = merge_diff(a, b) {
            apply_merge(&mut x, &p);
        }
        assert_eq!(&x, b);
    }
    assert!(merge_diff(&objs[0], &objs[0]).is_none());
}

/// Applies churn to a store of the cluster: every op references an existing object, every
/// result is a valid typed object, and the store ends up equal to the model's own rendering.
pub(super) fn churn_against_store(pods: usize, seed: u64, ticks: i64, events: usize) -> HashMap<String, usize> {
    let mut m = ClusterModel::new(ClusterSpec::for_pods(pods, seed), now());
    let mut store: BTreeMap<Key, Value> = BTreeMap::new();
    for o in m.initial_objects() {
        assert!(store.insert(key_of(&o), o).is_none());
    }
    let mut stats: HashMap<String, usize> = HashMap::new();
    let mut total = 0;
    for tick in 1..=ticks {
        let t = at(now(), tick * 10);
        let ops = m.churn(t, events);
        total += ops.len();
        for op in ops {
            match op {
                Op::Create(obj) => {
                    check_typed(&obj);
                    check_times(&obj, "");
                    let k = key_of(&obj);
                    *stats.entry(format!("create {}", k.0)).or_default() += 1;
                    if obj["kind"] == "Pod" {
                        let r = &obj["metadata"]["ownerReferences"][0];
                        let ns = k.1.clone();
                        let owner = r["name"].as_str().unwrap().to_string();
                        match r["kind"].as_str().unwrap() {
                            "Job" => assert_eq!(store[&("jobs", ns, owner)]["metadata"]["uid"], r["uid"]),
                            "ReplicaSet" => {
                                let hash = obj["metadata"]["labels"]["pod-template-hash"].as_str().unwrap();
                                let deploy = owner.strip_suffix(&format!("-{hash}")).unwrap().to_string();
                                let d = &store[&("deployments", ns, deploy)];
                                assert_eq!(r["uid"], replicaset_uid(d["metadata"]["uid"].as_str().unwrap(), hash));
                                assert_eq!(
                                    hash,
                                    pod_template_hash(
                                        d["metadata"]["uid"].as_str().unwrap(),
                                        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
                                            .as_str()
                                            .unwrap()
                                            .parse::<u32>()
                                            .unwrap()
                                            - 1
                                    )
                                );
                            }
                            "StatefulSet" => {
                                assert_eq!(store[&("statefulsets", ns, owner)]["metadata"]["uid"], r["uid"])
                            }
                            other => panic!("created pod owned by {other}"),
                        }
                    }
                    assert!(store.insert(k.clone(), obj).is_none(), "create of existing {k:?}");
                }
                Op::Replace(obj) => {
                    check_typed(&obj);
                    let k = key_of(&obj);
                    *stats.entry(format!("replace {}", k.0)).or_default() += 1;
                    let old = store.get(&k).unwrap_or_else(|| panic!("replace of missing {k:?}"));
                    assert_eq!(old["metadata"]["uid"], obj["metadata"]["uid"]);
                    assert_eq!(
                        old["metadata"]["creationTimestamp"],
                        obj["metadata"]["creationTimestamp"]
                    );
                    store.insert(k, obj);
                }
                Op::Patch {
                    resource,
                    namespace,
                    name,
                    patch,
                } => {
                    *stats.entry(format!("patch {resource}")).or_default() += 1;
                    let k = (resource, namespace.unwrap_or_default(), name);
                    let obj = store.get_mut(&k).unwrap_or_else(|| panic!("patch of missing {k:?}"));
                    assert!(
                        obj["metadata"].get("deletionTimestamp").is_none() || resource != "pods",
                        "patch of a deleting pod {k:?}"
                    );
                    apply_merge(obj, &patch);
                    check_typed(obj);
                    check_times(obj, "");
                }
                Op::Delete {
                    resource,
                    namespace,
                    name,
                } => {
                    *stats.entry(format!("delete {resource}")).or_default() += 1;
                    let k = (resource, namespace.unwrap_or_default(), name);
                    assert!(store.remove(&k).is_some(), "delete of missing {k:?}");
                }
            }
        }
    }
    assert!(total >= (ticks as usize) * events * 3 / 4, "only {total} ops");
    // The store matches the model's view of the cluster.
    let rendered: BTreeMap<Key, Value> = m.initial_objects().into_iter().map(|o| (key_of(&o), o)).collect();
    assert_eq!(rendered.len(), store.len());
    for (k, v) in &rendered {
        assert_eq!(Some(v), store.get(k), "{k:?} differs");
    }
    stats
}

#[test]
fn churn_references_existing_objects() {
    let stats = churn_against_store(1000, 1, 50, 20);
    for kind in [
        "patch pods",
        "create pods",
        "delete pods",
        "patch deployments",
        "patch jobs",
        "create jobs",
    ] {
        assert!(stats.get(kind).copied().unwrap_or(0) > 0, "no {kind}: {stats:?}");
    }
}

#[test]
fn long_churn_covers_the_mix() {
    let stats = churn_against_store(300, 9, 400, 25);
    for kind in [
        "patch pods",
        "create pods",
        "delete pods",
        "patch deployments",
        "replace deployments",
        "patch daemonsets",
        "create jobs",
        "patch jobs",
        "delete jobs",
        "patch horizontalpodautoscalers",
        "patch nodes",
    ] {
        assert!(stats.get(kind).copied().unwrap_or(0) > 0, "no {kind}: {stats:?}");
    }
}

#[test]
fn pod_status_update_patches_a_running_pod() {
    let mut m = ClusterModel::new(ClusterSpec::for_pods(200, 3), now());
    let mut store: BTreeMap<Key, Value> = m.initial_objects().into_iter().map(|o| (key_of(&o), o)).collect();
    for i in 0..200 {
        match m.pod_status_update(at(now(), i)) {
            Op::Patch {
                resource: "pods",
                namespace,
                name,
                patch,
            } => {
                assert!(patch.get("status").is_some() && patch.get("spec").is_none());
                // Only the kubelet's managedFields entry moves with the status.
                if let Some(meta) = patch.get("metadata") {
                    let keys: Vec<&String> = meta.as_object().unwrap().keys().collect();
                    assert_eq!(keys, ["managedFields"]);
                    assert_eq!(meta["managedFields"][1]["manager"], "kubelet");
                    assert_eq!(meta["managedFields"][1]["time"], ts_of(at(now(), i)));
                }
                let obj = store
                    .get_mut(&("pods", namespace.unwrap(), name))
                    .expect("existing pod");
                assert_eq!(obj["status"]["phase"], "Running");
                apply_merge(obj, &patch);
                check_typed(obj);
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn large_cluster_generates() {
    let mut m = ClusterModel::new(ClusterSpec::for_pods(100_000, 1), now());
    // Streamed: the whole cluster as `Value`s would take gigabytes.
    let pods = m.objects().filter(|o| o["kind"] == "Pod").count();
    assert_eq!(pods, m.pod_count());
    assert!((90_000..=110_000).contains(&pods), "{pods}");
    let ops = m.churn(at(now(), 10), 1000);
    assert!(ops.len() >= 900);
}

/// The real simulated API server accepts the initial objects and every churn op.
#[tokio::test]
async fn churn_is_accepted_by_the_sim() {
    let sim = crate::sim::Sim::start().await.unwrap();
    let mut m = ClusterModel::new(ClusterSpec::for_pods(300, 11), now());
    for o in m.objects() {
        sim.create(o).unwrap();
    }
    for t in 1..=60 {
        for op in m.churn(at(now(), t * 5), 30) {
            let desc = format!("{op:?}");
            if let Err(e) = crate::demo::apply_op(&sim, op) {
                panic!("tick {t}: {e}: {desc}");
            }
        }
    }
    assert_eq!(sim.list("pods").len(), m.pod_count());
    sim.shutdown().await;
}
