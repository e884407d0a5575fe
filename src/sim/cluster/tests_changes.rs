//! Tests of the churn of ConfigMaps, Secrets, RoleBindings, Ingresses and CSRs
//! (`extras/changes.rs`), of pods that stay Terminating, and of the less common fields a
//! generated cluster carries (LoadBalancer Services, deadlines, ordinals, init container
//! restarts, volume expansion).

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::tests::{Key, apply_merge, churn_against_store, key_of};
use super::tests_extras::check_typed;
use super::{ClusterModel, ClusterSpec, Op, at};

fn now() -> Timestamp {
    Timestamp::from_second(1_795_000_000).unwrap()
}

fn store_of(m: &ClusterModel) -> BTreeMap<Key, Value> {
    m.objects().map(|o| (key_of(&o), o)).collect()
}

/// Applies `ops` as the API server would; every op must be about an object in the right state.
fn apply(store: &mut BTreeMap<Key, Value>, ops: &[Op]) {
    for op in ops {
        match op {
            Op::Create(o) => {
                check_typed(o);
                let k = key_of(o);
                assert!(store.insert(k.clone(), o.clone()).is_none(), "create of existing {k:?}");
            }
            Op::Replace(o) => {
                check_typed(o);
                assert!(store.insert(key_of(o), o.clone()).is_some(), "replace of missing");
            }
            Op::Patch {
                resource,
                namespace,
                name,
                patch,
            } => {
                let k = (*resource, namespace.clone().unwrap_or_default(), name.clone());
                let o = store.get_mut(&k).unwrap_or_else(|| panic!("patch of missing {k:?}"));
                apply_merge(o, patch);
                check_typed(o);
            }
            Op::Delete {
                resource,
                namespace,
                name,
            } => {
                let k = (*resource, namespace.clone().unwrap_or_default(), name.clone());
                assert!(store.remove(&k).is_some(), "delete of missing {k:?}");
            }
        }
    }
}

fn assert_store_matches(m: &ClusterModel, store: &BTreeMap<Key, Value>) {
    let rendered = store_of(m);
    assert_eq!(rendered.len(), store.len());
    for (k, v) in &rendered {
        assert_eq!(Some(v), store.get(k), "{k:?} differs");
    }
}

fn ts(t: Timestamp) -> Value {
    Value::String(t.to_string())
}

#[test]
fn long_churn_changes_every_kind_it_should() {
    let stats = churn_against_store(300, 9, 400, 25);
    for kind in [
        "patch configmaps",
        "patch secrets",
        "create secrets",
        "delete secrets",
        "patch rolebindings",
        "create ingresses",
        "patch ingresses",
        "delete ingresses",
        "create certificatesigningrequests",
        "patch certificatesigningrequests",
        "delete certificatesigningrequests",
        "patch statefulsets",
    ] {
        assert!(stats.get(kind).copied().unwrap_or(0) > 0, "no {kind}: {stats:?}");
    }
    // Pods and leases still dominate.
    let total: usize = stats.values().sum();
    let pods_and_leases = stats.get("patch pods").copied().unwrap_or(0) + stats["patch leases"];
    assert!(pods_and_leases * 2 > total, "{stats:?}");
}

#[test]
fn config_updates_change_data_and_the_writers_time() {
    let mut m = ClusterModel::new(ClusterSpec::for_pods(300, 2), now());
    let mut store = store_of(&m);
    let mut per_resource: BTreeMap<&str, usize> = BTreeMap::new();
    for i in 1..=40 {
        let t = at(now(), i);
        let mut ops = Vec::new();
        m.config_event(t, &mut ops);
        let [
            Op::Patch {
                resource,
                namespace,
                name,
                patch,
            },
        ] = &ops[..]
        else {
            panic!("{ops:?}")
        };
        let keys: Vec<&String> = patch.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["data", "metadata"], "{patch}");
        assert_eq!(patch["metadata"]["managedFields"][0]["time"], ts(t));
        let before = store[&(*resource, namespace.clone().unwrap(), name.clone())].clone();
        apply(&mut store, &ops);
        let after = &store[&(*resource, namespace.clone().unwrap(), name.clone())];
        assert_eq!(before["metadata"]["uid"], after["metadata"]["uid"]);
        if *resource == "configmaps" && before["data"]["app.yaml"] == "log_level: info\nmetrics: true\n" {
            assert_eq!(
                after["data"]["app.yaml"],
                "log_level: debug\nmetrics: true\nrevision: 1\n"
            );
        }
        *per_resource.entry(*resource).or_default() += 1;
    }
    assert_eq!(per_resource, BTreeMap::from([("configmaps", 29), ("secrets", 11)]));
    assert_store_matches(&m, &store);
}

#[test]
fn rolebinding_subjects_change() {
    let mut m = ClusterModel::new(ClusterSpec::for_pods(300, 2), now());
    let mut store = store_of(&m);
    let mut ops = Vec::new();
    m.rbac_event(at(now(), 7), &mut ops);
    let Op::Patch { patch, .. } = &ops[0] else {
        panic!("{ops:?}")
    };
    assert_eq!(
        patch["subjects"],
        json!([
            {"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "developers"},
            {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "alice@example.com"},
        ])
    );
    assert_eq!(patch["metadata"]["managedFields"][0]["time"], ts(at(now(), 7)));
    apply(&mut store, &ops);
    assert_store_matches(&m, &store);
}

#[test]
fn ingresses_get_their_address_later_and_go_with_their_secret() {
    let mut m = ClusterModel::new(ClusterSpec::for_pods(300, 2), now());
    let mut store = store_of(&m);
    let before = m.ingress_count();
    // Creation: no address yet.
    let mut t = 0;
    let created = loop {
        t += 1;
        let mut ops = Vec::new();
        m.ingress_event(at(now(), t), &mut ops);
        apply(&mut store, &ops);
        if let [Op::Create(o)] = &ops[..] {
            break o.clone();
        }
        assert!(ops.is_empty() && t < 50, "{ops:?}");
    };
    assert_eq!(created["kind"], "Ingress");
    assert_eq!(created["status"], json!({"loadBalancer": {}}));
    assert_eq!(created["metadata"]["managedFields"].as_array().unwrap().len(), 1);
    assert_eq!(m.ingress_count(), before + 1);
    let name = created["metadata"]["name"].as_str().unwrap().to_string();
    // The controller writes the address 5–40 s later, cert-manager's Secret comes with it.
    let mut settled = None;
    for s in t + 1..=t + 41 {
        let mut ops = Vec::new();
        m.churn_changes(at(now(), s), &mut ops);
        let ingress_ops: Vec<&Op> = ops.iter().filter(|op| !is_csr(op)).collect();
        apply(&mut store, &ops);
        if !ingress_ops.is_empty() {
            let [
                Op::Patch {
                    resource: "ingresses",
                    patch,
                    ..
                },
                Op::Create(secret),
            ] = &ingress_ops[..]
            else {
                panic!("{ingress_ops:?}")
            };
            assert_eq!(
                patch["status"]["loadBalancer"]["ingress"][0]["hostname"],
                "k8s-ingress-975835de1c.elb.eu-central-1.amazonaws.com"
            );
            assert_eq!(
                patch["metadata"]["managedFields"][1]["manager"],
                "nginx-ingress-controller"
            );
            assert_eq!(patch["metadata"]["managedFields"][1]["time"], ts(at(now(), s)));
            assert_eq!(secret["metadata"]["name"], format!("{name}-tls"));
            assert_eq!(secret["type"], "kubernetes.io/tls");
            settled = Some(s);
            break;
        }
    }
    assert_eq!(settled.map(|s| s - t), Some(20));
    // Above the layout's count: the next event removes one, with its Secret.
    let mut ops = Vec::new();
    m.ingress_event(at(now(), 100), &mut ops);
    let [
        Op::Delete {
            resource: "ingresses",
            namespace: Some(ins),
            name: iname,
        },
        Op::Delete {
            resource: "secrets",
            namespace: Some(sns),
            name: sname,
        },
    ] = &ops[..]
    else {
        panic!("{ops:?}")
    };
    assert_eq!((sns, sname.as_str()), (ins, format!("{iname}-tls").as_str()));
    apply(&mut store, &ops);
    assert_eq!(m.ingress_count(), before);
    assert_store_matches(&m, &store);
}

fn is_csr(op: &Op) -> bool {
    match op {
        Op::Create(o) | Op::Replace(o) => o["kind"] == "CertificateSigningRequest",
        Op::Patch { resource, .. } | Op::Delete { resource, .. } => *resource == "certificatesigningrequests",
    }
}

#[test]
fn csrs_are_approved_issued_and_cleaned_up() {
    // 10 nodes: one kubelet request an hour on average.
    let mut m = ClusterModel::new(ClusterSpec::for_pods(300, 2), now());
    let mut store = store_of(&m);
    let initial: BTreeMap<String, Timestamp> = store
        .values()
        .filter(|o| o["kind"] == "CertificateSigningRequest")
        .map(|o| {
            (
                o["metadata"]["name"].as_str().unwrap().to_string(),
                o["metadata"]["creationTimestamp"].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect();
    assert_eq!(initial.len(), 1);
    // (name → [(second, op kind)])
    let mut log: BTreeMap<String, Vec<(i64, &str)>> = BTreeMap::new();
    for k in 0..=2 * 720 {
        let t = at(now(), 5 * k);
        let mut ops = Vec::new();
        m.churn_changes(t, &mut ops);
        for op in &ops {
            let (name, what) = match op {
                Op::Create(o) if o["kind"] == "CertificateSigningRequest" => {
                    assert_eq!(o["status"], json!({}), "created pending");
                    (o["metadata"]["name"].as_str().unwrap().to_string(), "create")
                }
                Op::Patch {
                    resource: "certificatesigningrequests",
                    name,
                    patch,
                    ..
                } => {
                    if patch["status"].get("conditions").is_some() {
                        let c = &patch["status"]["conditions"][0];
                        assert_eq!(
                            (c["type"].as_str(), c["status"].as_str()),
                            (Some("Approved"), Some("True"))
                        );
                        assert_eq!(c["lastUpdateTime"], ts(t));
                        (name.clone(), "approve")
                    } else {
                        assert!(patch["status"]["certificate"].is_string(), "{patch}");
                        (name.clone(), "issue")
                    }
                }
                Op::Delete {
                    resource: "certificatesigningrequests",
                    name,
                    ..
                } => (name.clone(), "delete"),
                _ => continue,
            };
            log.entry(name).or_default().push((5 * k, what));
        }
        apply(&mut store, &ops);
    }
    // The layout's CSR goes an hour after its creation, at the next pass.
    let (name, created) = initial.iter().next().unwrap();
    let age = created.as_second() - now().as_second();
    let due = (age + 3600).div_euclid(5) * 5 + if (age + 3600).rem_euclid(5) > 0 { 5 } else { 0 };
    assert_eq!(log[name], [(due, "delete")]);
    // New ones: pending, approved at the next pass, issued at the one after, gone an hour later.
    let mut new: Vec<&Vec<(i64, &str)>> = log.iter().filter(|(n, _)| *n != name).map(|(_, v)| v).collect();
    new.sort_by_key(|steps| steps[0].0);
    assert_eq!(new.len(), 2, "{log:?}");
    for steps in &new {
        let c = steps[0].0;
        assert_eq!(steps[..3], [(c, "create"), (c + 5, "approve"), (c + 10, "issue")]);
        if c + 3600 <= 2 * 3600 {
            assert_eq!(steps[3..], [(c + 3600, "delete")]);
        }
    }
    assert_eq!(new[0][0].0, 3320);
    assert_store_matches(&m, &store);
}

#[test]
fn statefulsets_scale_with_their_volumes() {
    let mut m = ClusterModel::new(ClusterSpec::for_pods(300, 2), now());
    let mut store = store_of(&m);
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for t in 1..=300 {
        let now = at(now(), 10 * t);
        let mut ops = Vec::new();
        if t % 3 == 0 {
            m.sts_scale_event(now, &mut ops);
        }
        // Pods start and stop, Released volumes go, in the ticks that follow.
        ops.extend(m.churn(now, 5));
        for op in &ops {
            let what = match op {
                Op::Create(o) => format!("create {}", key_of(o).0),
                Op::Replace(o) => format!("replace {}", key_of(o).0),
                Op::Patch { resource, .. } => format!("patch {resource}"),
                Op::Delete { resource, .. } => format!("delete {resource}"),
            };
            *seen.entry(what).or_default() += 1;
        }
        apply(&mut store, &ops);
    }
    let n = |k: &str| seen.get(k).copied().unwrap_or(0);
    let counts = [
        n("patch statefulsets"),
        n("create persistentvolumeclaims"),
        n("delete persistentvolumeclaims"),
        n("create persistentvolumes"),
        n("patch persistentvolumes"),
        n("delete persistentvolumes"),
        n("create volumeattachments"),
        n("delete volumeattachments"),
    ];
    assert_eq!(counts, [247, 35, 32, 35, 32, 32, 51, 48], "{seen:?}");
    // Retained claims are reused: more attachments than claims.
    assert!(counts[6] > counts[1], "{seen:?}");
    assert_store_matches(&m, &store);
    let released: Vec<&Value> = store
        .values()
        .filter(|o| o["kind"] == "PersistentVolume" && o["status"]["phase"] == "Released")
        .collect();
    for pv in released {
        let claim = &pv["spec"]["claimRef"];
        let k = (
            "persistentvolumeclaims",
            claim["namespace"].as_str().unwrap().to_string(),
            claim["name"].as_str().unwrap().to_string(),
        );
        assert!(!store.contains_key(&k), "a Released volume's claim is gone");
    }
}

/// Pods marked for deletion stay visible, Terminating, in the simulated API server until the
/// kubelet's delete a few seconds of model time later.
#[tokio::test]
async fn terminating_pods_stay_until_the_kubelet_deletes_them() {
    let sim = crate::sim::Sim::start().await.unwrap();
    let mut m = ClusterModel::new(ClusterSpec::for_pods(300, 11), now());
    for o in m.objects() {
        sim.create(o).unwrap();
    }
    let mut most = 0;
    for t in 1..=60 {
        for op in m.churn(at(now(), t), 30) {
            let desc = format!("{op:?}");
            if let Err(e) = crate::demo::apply_op(&sim, op) {
                panic!("second {t}: {e}: {desc}");
            }
        }
        let terminating: BTreeMap<String, Value> = sim
            .list("pods")
            .into_iter()
            .filter(|p| p["metadata"]["deletionTimestamp"].is_string())
            .map(|p| {
                (
                    p["metadata"]["name"].as_str().unwrap().to_string(),
                    p["metadata"].clone(),
                )
            })
            .collect();
        let expected: BTreeMap<String, Value> = m
            .pods
            .iter()
            .flatten()
            .filter_map(|p| p.deletion.map(|d| (p.name.clone(), ts(d))))
            .collect();
        assert_eq!(
            terminating.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>(),
            "second {t}"
        );
        for (name, meta) in &terminating {
            assert_eq!(meta["deletionTimestamp"], expected[name]);
            assert_eq!(meta["deletionGracePeriodSeconds"], 30);
        }
        most = most.max(terminating.len());
    }
    assert_eq!(sim.list("pods").len(), m.pod_count());
    assert_eq!(most, 4);
    sim.shutdown().await;
}

#[test]
fn uncommon_fields_in_realistic_proportions() {
    let m = ClusterModel::new(ClusterSpec::for_pods(1000, 1), now());
    let objs: Vec<Value> = m.objects().collect();
    let of = |kind: &'static str| objs.iter().filter(move |o| o["kind"] == kind);
    let lbs: Vec<&Value> = of("Service").filter(|s| s["spec"]["type"] == "LoadBalancer").collect();
    for s in &lbs {
        let ing = &s["status"]["loadBalancer"]["ingress"][0];
        assert!(ing["ip"].is_string() || ing["hostname"].is_string(), "{s}");
        assert!(
            s["spec"]["ports"][0]["nodePort"]
                .as_u64()
                .is_some_and(|p| (30_000..32_768).contains(&p))
        );
    }
    let sts_start: Vec<&Value> = of("StatefulSet")
        .filter(|s| s["spec"]["ordinals"].is_object())
        .collect();
    assert_eq!(sts_start.len(), 1);
    let sts = sts_start[0]["metadata"]["name"].as_str().unwrap();
    let mut sts_pods: Vec<(String, String)> = of("Pod")
        .filter(|p| {
            p["metadata"]["ownerReferences"][0]["name"] == sts
                && p["metadata"]["ownerReferences"][0]["kind"] == "StatefulSet"
        })
        .map(|p| {
            (
                p["metadata"]["name"].as_str().unwrap().to_string(),
                p["metadata"]["labels"]["apps.kubernetes.io/pod-index"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    sts_pods.sort();
    assert_eq!(sts_pods[0], (format!("{sts}-1"), "1".to_string()));
    let init_restarted = of("Pod")
        .filter(|p| {
            p["status"]["initContainerStatuses"]
                .as_array()
                .is_some_and(|cs| cs.iter().any(|c| c["lastState"]["terminated"]["reason"] == "Error"))
        })
        .count();
    let resizing: Vec<&Value> = of("PersistentVolumeClaim")
        .filter(|c| c["status"]["conditions"][0]["type"] == "FileSystemResizePending")
        .collect();
    for c in &resizing {
        let pv = of("PersistentVolume")
            .find(|v| v["metadata"]["name"] == c["spec"]["volumeName"])
            .unwrap();
        assert_eq!(
            pv["spec"]["capacity"]["storage"],
            c["spec"]["resources"]["requests"]["storage"]
        );
        assert_ne!(
            c["status"]["capacity"]["storage"],
            c["spec"]["resources"]["requests"]["storage"]
        );
    }
    let counts = json!({
        "services": of("Service").count(),
        "loadbalancers": lbs.len(),
        "lb_hostname_only": lbs.iter().filter(|s| s["status"]["loadBalancer"]["ingress"][0].get("ip").is_none()).count(),
        "lb_ip_only": lbs.iter().filter(|s| s["status"]["loadBalancer"]["ingress"][0].get("hostname").is_none()).count(),
        "external_ips": of("Service").filter(|s| s["spec"]["externalIPs"].is_array()).count(),
        "jobs": of("Job").count(),
        "jobs_with_deadline": of("Job").filter(|j| j["spec"]["activeDeadlineSeconds"].is_u64()).count(),
        "cronjobs": of("CronJob").count(),
        "cronjobs_starting_deadline": of("CronJob").filter(|c| c["spec"]["startingDeadlineSeconds"].is_u64()).count(),
        "pods": of("Pod").count(),
        "init_restarted": init_restarted,
        "pvcs": of("PersistentVolumeClaim").count(),
        "resizing": resizing.len(),
    });
    assert_eq!(
        counts,
        json!({
            "services": 100, "loadbalancers": 5, "lb_hostname_only": 2, "lb_ip_only": 1, "external_ips": 3,
            "jobs": 50, "jobs_with_deadline": 8, "cronjobs": 28, "cronjobs_starting_deadline": 10,
            "pods": 1003, "init_restarted": 26, "pvcs": 35, "resizing": 1,
        })
    );
    // The exporter turns them into the families KSM users alert on.
    let options = crate::cli::FamilyArgs {
        resources: crate::kinds::resources().iter().map(|r| r.to_string()).collect(),
        ..Default::default()
    }
    .validate()
    .unwrap();
    let sources: Vec<(String, String)> = objs
        .iter()
        .filter(|o| crate::kinds::table().iter().any(|e| e.kind == o["kind"]))
        .map(|o| (format!("{}", o["metadata"]["name"]), o.to_string()))
        .collect();
    let out = crate::render::render_sources(&sources, &options, crate::exposition::Format::Text);
    let body = String::from_utf8(out.body).unwrap();
    for needle in [
        "kube_service_status_load_balancer_ingress{",
        "kube_service_spec_external_ip{",
        "kube_job_spec_active_deadline_seconds{",
        "kube_cronjob_spec_starting_deadline_seconds{",
        "kube_statefulset_ordinals_start{",
        "condition=\"FileSystemResizePending\"",
    ] {
        assert!(body.contains(needle), "no {needle}");
    }
    assert!(
        body.lines()
            .any(|l| l.starts_with("kube_pod_init_container_status_restarts_total{") && l.ends_with(" 1")),
        "an init container restarted"
    );
}

/// The demo's churn (20 ops/s in ticks of 100 ms) over ten minutes of a 1 000-pod cluster: pods
/// and leases dominate, the other kinds change now and then. `--nocapture` prints the mix.
#[test]
fn demo_mix_over_ten_minutes() {
    let mut m = ClusterModel::new(ClusterSpec::for_pods(1000, 1), now());
    let mut mix: BTreeMap<String, usize> = BTreeMap::new();
    for k in 0..6000 {
        for op in m.churn(at(now(), k / 10), 2) {
            let what = match &op {
                Op::Create(o) => format!("create {}", key_of(o).0),
                Op::Replace(o) => format!("replace {}", key_of(o).0),
                Op::Patch { resource, .. } => format!("patch {resource}"),
                Op::Delete { resource, .. } => format!("delete {resource}"),
            };
            *mix.entry(what).or_default() += 1;
        }
    }
    let total: usize = mix.values().sum();
    println!("{total} ops in 600 s");
    for (k, v) in &mix {
        println!("{v:6} {:5.1}%  {k}", *v as f64 * 100.0 / total as f64);
    }
    // Pods change most; the kinds of `changes.rs` and StatefulSet volumes stay rare.
    let mut per_resource: BTreeMap<&str, usize> = BTreeMap::new();
    for (k, v) in &mix {
        *per_resource.entry(k.split(' ').nth(1).unwrap()).or_default() += v;
    }
    let top = per_resource.iter().max_by_key(|(_, v)| **v).unwrap();
    assert_eq!(*top.0, "pods", "{per_resource:?}");
    let rare: usize = [
        "configmaps",
        "secrets",
        "rolebindings",
        "ingresses",
        "certificatesigningrequests",
        "persistentvolumeclaims",
    ]
    .iter()
    .map(|r| per_resource.get(r).copied().unwrap_or(0))
    .sum();
    assert!(rare * 200 < total, "{per_resource:?}");
    for kind in [
        "patch configmaps",
        "patch rolebindings",
        "create ingresses",
        "patch statefulsets",
    ] {
        assert!(mix.contains_key(kind), "no {kind}: {mix:?}");
    }
}
