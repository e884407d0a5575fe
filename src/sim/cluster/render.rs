//! Rendering the model's records as API objects: pods, nodes, workloads, HPAs and APIServices,
//! and the listing of the whole cluster in dependency order.

use std::borrow::Cow;

use serde_json::{Value, json};

use super::builders::{job as job_fn, node_pod_net};
use super::catalog::{CONTROL_PLANE_TYPE, LOCAL_APISERVICES, REGION, WORKER_TYPES, ZONES};
use super::pod::add_pod_managed;
use super::util::{at, hash_str, mix, pod_template_hash, replicaset_uid, uuid_from};
use super::{
    ApiServiceParams, ClusterModel, DaemonSetParams, DeploymentParams, HpaParams, JobParams, NodeParams, Owner,
    OwnerRef, PodNode, PodParams, PodTemplate, ServiceRef, apiservice, daemonset, deployment, hpa, job_labels,
    namespace, node, node_internal_ip, pod,
};

impl ClusterModel {
    pub(super) fn deploy_template(&self, di: usize, version: u32) -> Cow<'_, PodTemplate> {
        let d = &self.deployments[di];
        if version == d.version {
            Cow::Borrowed(&d.template)
        } else {
            let mut t = d.template.clone();
            t.containers[0].image = d.image(version);
            Cow::Owned(t)
        }
    }

    pub(super) fn pod_json(&self, id: usize) -> Value {
        let mut v = self.with_pod_params(id, pod);
        if let Some(p) = self.pods[id].as_ref()
            && let Owner::Sts(i) = p.owner
        {
            let ordinal = self.x.sts[i].pods.iter().position(|&x| x == id).unwrap_or(0);
            v["spec"]["hostname"] = json!(p.name);
            v["spec"]["subdomain"] = json!(self.x.sts[i].name);
            v["spec"]["volumes"] = json!([self.sts_volume(i, ordinal)]);
            add_pod_managed(&mut v);
        }
        v
    }

    /// The pod's IP once its sandbox is up (the node's for host-network pods).
    pub(super) fn pod_ip(&self, id: usize) -> Option<String> {
        let p = self.pods[id].as_ref()?;
        let n = p.node?;
        let host_network = match p.owner {
            Owner::Ds(i) => self.daemonsets[i].template.host_network,
            _ => false,
        };
        Some(if host_network {
            node_internal_ip(n)
        } else {
            let (a, b) = node_pod_net(n);
            format!("10.{a}.{b}.{}", p.ip)
        })
    }

    fn with_pod_params<R>(&self, id: usize, f: impl FnOnce(&PodParams) -> R) -> R {
        let p = self.pods[id].as_ref().expect("live pod");
        let (template, mut labels, owner) = match p.owner {
            Owner::Deploy(di) => {
                let d = &self.deployments[di];
                let hash = pod_template_hash(&d.uid, p.version);
                let owner = OwnerRef {
                    api_version: "apps/v1",
                    kind: "ReplicaSet",
                    name: format!("{}-{hash}", d.name),
                    uid: replicaset_uid(&d.uid, &hash),
                };
                let mut labels = d.template.labels.clone();
                labels.push(("pod-template-hash".into(), hash));
                (self.deploy_template(di, p.version), labels, owner)
            }
            Owner::Ds(i) => {
                let ds = &self.daemonsets[i];
                let owner = OwnerRef {
                    api_version: "apps/v1",
                    kind: "DaemonSet",
                    name: ds.name.clone(),
                    uid: ds.uid.clone(),
                };
                let mut labels = ds.template.labels.clone();
                labels.push(("controller-revision-hash".into(), ds.hash.clone()));
                labels.push(("pod-template-generation".into(), "1".into()));
                (Cow::Borrowed(&ds.template), labels, owner)
            }
            Owner::Job(j) => {
                let job = self.jobs[j].as_ref().expect("job of a live pod");
                let owner = OwnerRef {
                    api_version: "batch/v1",
                    kind: "Job",
                    name: job.name.clone(),
                    uid: job.uid.clone(),
                };
                let template = &self.job_kinds[job.kind].1;
                let mut labels = template.labels.clone();
                labels.extend(job_labels(&job.name, &job.uid));
                (Cow::Borrowed(template), labels, owner)
            }
            Owner::Sts(i) => {
                let s = &self.x.sts[i];
                let owner = OwnerRef {
                    api_version: "apps/v1",
                    kind: "StatefulSet",
                    name: s.name.clone(),
                    uid: s.uid.clone(),
                };
                let ordinal = s.pods.iter().position(|&x| x == id).unwrap_or(0);
                let mut labels = s.template.labels.clone();
                labels.push(("apps.kubernetes.io/pod-index".into(), (s.start + ordinal).to_string()));
                labels.push(("controller-revision-hash".into(), s.revision.clone()));
                labels.push(("statefulset.kubernetes.io/pod-name".into(), p.name.clone()));
                (Cow::Borrowed(&s.template), labels, owner)
            }
        };
        labels.sort();
        let node = p.node.map(|n| {
            let host_ip = node_internal_ip(n);
            let pod_ip = if template.host_network {
                host_ip.clone()
            } else {
                let (a, b) = node_pod_net(n);
                format!("10.{a}.{b}.{}", p.ip)
            };
            PodNode {
                name: &self.nodes[n].name,
                host_ip,
                pod_ip,
            }
        });
        f(&PodParams {
            namespace: &self.namespaces[p.ns].name,
            name: &p.name,
            uid: &p.uid,
            created: p.created,
            labels,
            owner: Some(owner),
            template: &template,
            node,
            status: p.status,
            seed: p.seed,
            cluster_nodes: self.nodes.len(),
            deletion: p.deletion,
        })
    }

    pub(super) fn node_json(&self, n: usize) -> Value {
        let r = &self.nodes[n];
        let (itype, cpus, mem) = if r.control_plane {
            CONTROL_PLANE_TYPE
        } else {
            WORKER_TYPES[r.itype]
        };
        node(&NodeParams {
            name: &r.name,
            uid: &r.uid,
            created: r.created,
            index: n,
            control_plane: r.control_plane,
            instance_type: itype,
            cpus,
            memory_gi: mem,
            region: REGION,
            zone: ZONES[n % ZONES.len()],
            heartbeat: r.heartbeat,
            ready_since: r.ready_since,
            unreachable: r.unreachable,
        })
    }

    pub(super) fn deploy_json(&self, di: usize) -> Value {
        let d = &self.deployments[di];
        deployment(&DeploymentParams {
            namespace: &self.namespaces[d.ns].name,
            name: &d.name,
            uid: &d.uid,
            created: d.created,
            labels: &d.labels,
            generation: d.generation,
            revision: d.version + 1,
            replicas: d.replicas,
            selector: &d.selector,
            template: &d.template,
            status: d.status.clone(),
        })
    }

    pub(super) fn ds_json(&self, i: usize) -> Value {
        let ds = &self.daemonsets[i];
        let (desired, current, ready) = ds.published;
        daemonset(&DaemonSetParams {
            namespace: &self.namespaces[ds.ns].name,
            name: &ds.name,
            uid: &ds.uid,
            created: ds.created,
            selector: &ds.selector,
            template: &ds.template,
            desired,
            current,
            ready,
        })
    }

    pub(super) fn job_json(&self, j: usize) -> Value {
        let job = self.jobs[j].as_ref().expect("live job");
        let (c, outcome) = job.published;
        let mut v = job_fn(&JobParams {
            namespace: &self.namespaces[job.ns].name,
            name: &job.name,
            uid: &job.uid,
            created: job.created,
            template: &self.job_kinds[job.kind].1,
            backoff_limit: job.backoff_limit,
            active_deadline: self.job_deadline(j),
            start: job.start,
            active: c.active,
            ready: c.ready,
            succeeded: c.succeeded,
            failed: c.failed,
            outcome,
        });
        self.decorate_job(j, &mut v);
        v
    }

    pub(super) fn hpa_json(&self, hi: usize) -> Value {
        let h = &self.hpas[hi];
        let d = &self.deployments[h.deploy];
        hpa(&HpaParams {
            namespace: &self.namespaces[d.ns].name,
            name: &d.name,
            uid: &h.uid,
            created: h.created,
            target: &d.name,
            min_replicas: h.min,
            max_replicas: h.max,
            target_utilization: h.target,
            current_replicas: h.current,
            desired_replicas: h.desired,
            utilization: h.utilization,
            cpu_average_m: d.cpu_requests_m() * h.utilization / 100,
            last_scale: h.last_scale,
            rescaled: h.rescaled,
            able_since: h.able_since,
            active_since: h.active_since,
            limited: h.limited,
            limited_since: h.limited_since,
        })
    }

    /// Every object of the cluster as it currently stands, owners and referenced objects first:
    /// apiservices, namespaces, nodes, cluster-scoped objects (storage and ingress classes, RBAC,
    /// admission, CSRs, PVs, volume attachments), namespaced configuration (service accounts,
    /// configmaps, secrets, roles, bindings, limit ranges, network policies, quotas, leases),
    /// deployments, replicasets, statefulsets, replication controllers, daemonsets, cronjobs,
    /// jobs, hpas, pdbs, services, endpoints, endpointslices, ingresses, pods, pvcs.
    ///
    /// A `Value` pod takes ~30 KB: for large clusters prefer [`objects`](Self::objects), which
    /// renders one object at a time.
    pub fn initial_objects(&mut self) -> Vec<Value> {
        let mut out = Vec::with_capacity(
            self.namespaces.len() + self.nodes.len() + self.deployments.len() + self.jobs.len() + self.live_pods + 16,
        );
        out.extend(self.objects());
        out
    }

    /// The objects of [`initial_objects`](Self::initial_objects) (same order), rendered lazily.
    pub fn objects(&self) -> impl Iterator<Item = Value> + '_ {
        let apiservices = self.apiservices().into_iter();
        let namespaces = self.namespaces.iter().map(|n| namespace(&n.name, n.created, &n.uid));
        let nodes = (0..self.nodes.len()).map(|n| self.node_json(n));
        let deployments = (0..self.deployments.len()).map(|d| self.deploy_json(d));
        let daemonsets = (0..self.daemonsets.len()).map(|d| self.ds_json(d));
        let jobs = (0..self.jobs.len())
            .filter(|&j| self.jobs[j].is_some())
            .map(|j| self.job_json(j));
        let hpas = (0..self.hpas.len()).map(|h| self.hpa_json(h));
        let pods = (0..self.pods.len())
            .filter(|&id| self.pods[id].is_some())
            .map(|id| self.pod_json(id));
        apiservices
            .chain(namespaces)
            .chain(nodes)
            .chain(self.cluster_objects())
            .chain(self.config_objects())
            .chain(deployments)
            .chain(self.workload_objects())
            .chain(daemonsets)
            .chain(self.cron_objects())
            .chain(jobs)
            .chain(hpas)
            .chain(self.network_objects())
            .chain(pods)
            .chain(self.claim_objects())
    }

    /// The APIServices of a non-empty cluster: the Local ones of the groups the sim serves, and
    /// metrics-server's `v1beta1.metrics.k8s.io` (plus `v1.metrics.k8s.io` with
    /// [`ClusterSpec::metrics_v1`]), `Available=True`/`Passed`. Sorted by name.
    fn apiservices(&self) -> Vec<Value> {
        if self.spec.nodes == 0 {
            return Vec::new();
        }
        let uid = |name: &str| {
            let h = hash_str(name) ^ mix(self.spec.seed ^ 0xa9_15e7);
            uuid_from(mix(h), mix(h ^ 0x5bd1_e995))
        };
        let installed = at(self.birth, 86_400);
        let mut out = Vec::new();
        for (group, version, gpm, vp) in LOCAL_APISERVICES {
            out.push(apiservice(&ApiServiceParams {
                group,
                version,
                uid: &uid(&format!("{version}.{group}")),
                created: self.birth,
                labels: &[("kube-aggregator.kubernetes.io/automanaged", "onstart")],
                group_priority_minimum: gpm,
                version_priority: vp,
                service: None,
                available: ("True", "Local", "Local APIServices are always available"),
                since: self.birth,
            }));
        }
        let versions: &[&str] = if self.spec.metrics_v1 {
            &["v1", "v1beta1"]
        } else {
            &["v1beta1"]
        };
        for version in versions {
            out.push(apiservice(&ApiServiceParams {
                group: "metrics.k8s.io",
                version,
                uid: &uid(&format!("{version}.metrics.k8s.io")),
                created: installed,
                labels: &[("k8s-app", "metrics-server")],
                group_priority_minimum: 100,
                version_priority: 100,
                service: Some(ServiceRef {
                    namespace: "kube-system",
                    name: "metrics-server",
                    port: 443,
                }),
                available: ("True", "Passed", "all checks passed"),
                since: at(installed, 41),
            }));
        }
        out.sort_by(|a, b| a["metadata"]["name"].as_str().cmp(&b["metadata"]["name"].as_str()));
        out
    }
}
