//! The rest of a generated cluster around its workloads: ReplicaSets (current and old) of every
//! Deployment, StatefulSets with pods, PVCs, PVs and VolumeAttachments, CronJobs owning the Jobs,
//! Services with Endpoints and EndpointSlices, Ingresses, PDBs, ResourceQuotas, Leases and the
//! configuration, RBAC and admission objects of a cluster. Derived state (ReplicaSet, StatefulSet,
//! PDB, endpoint and quota status) follows the pods; Leases are renewed on their period of model
//! time; CronJobs spawn Jobs on their schedule; StatefulSets scale (`statefulsets.rs`); data,
//! bindings, Ingresses and CSRs change now and then (`changes.rs`).

mod changes;
mod config;
mod statefulsets;

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde_json::{Value, json};

use self::config::{Static, StaticKind};
use self::statefulsets::{StsRec, VolRec};
use super::catalog::ZONES;
use super::objects::{self as ob, PodEndpoint};
use super::util::{
    at, cpu_quantity, hash_str, hex_from, memory_quantity, mix, pairs, pod_template_hash, replicaset_uid, suffix_from,
    ts, uuid_from,
};
use super::{ClusterModel, Container, KIND_POD, Op, Owner, PodState, PodTemplate, node_internal_ip};

/// Label-like (key, value) pairs.
type Labels = Vec<(String, String)>;

/// Old ReplicaSets a Deployment keeps (`revisionHistoryLimit`).
const HISTORY: u32 = 10;
/// Seconds between renewals of node and API server identity leases (kubelet, kube-apiserver).
pub const NODE_LEASE_PERIOD: i64 = 10;
/// Seconds between renewals of leader-election leases (client-go's retry period).
pub const LEADER_LEASE_PERIOD: i64 = 2;

/// One ReplicaSet of a Deployment (a template revision).
#[derive(Debug, Clone)]
pub(super) struct RsRec {
    version: u32,
    created: Timestamp,
    generation: i64,
    /// (spec replicas, replicas, ready) as last written.
    published: (u32, u32, u32),
    /// The deployment's replicas as last written to the annotations.
    desired: u32,
}

/// How a Service is reached from outside the cluster.
enum Exposure {
    ClusterIp,
    LoadBalancer {
        node_ports: Vec<u16>,
        hostname: Option<String>,
        ip: Option<String>,
    },
    ExternalIps(Vec<String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Deploy(usize),
    Sts(usize),
    /// No selector: the API server's own `kubernetes` Service.
    ControlPlane,
}

#[derive(Debug, Clone)]
struct SvcRec {
    ns: usize,
    name: String,
    uid: String,
    created: Timestamp,
    target: Target,
    ports: Vec<ob::ServicePort>,
    cluster_ip: Option<String>,
    slice: String,
    slice_uid: String,
    ep_uid: String,
    generation: i64,
    published: Vec<PodEndpoint>,
    updated: Timestamp,
}

#[derive(Debug, Clone)]
struct PdbRec {
    target: Target,
    uid: String,
    created: Timestamp,
    min_available: Option<u32>,
    /// (expected, healthy) as last written.
    published: (u32, u32),
    since: Timestamp,
}

#[derive(Debug, Clone)]
struct QuotaRec {
    ns: usize,
    uid: String,
    created: Timestamp,
    hard: Vec<(String, String)>,
    used: Vec<(String, String)>,
    synced: Timestamp,
}

#[derive(Debug, Clone)]
struct LeaseRec {
    ns: &'static str,
    name: String,
    uid: String,
    created: Timestamp,
    holder: String,
    duration: u32,
    period: i64,
    node: Option<usize>,
    acquired: Option<(Timestamp, u32)>,
    labels: Vec<(String, String)>,
    manager: &'static str,
    renew: Timestamp,
}

#[derive(Debug, Clone)]
pub(super) struct CronRec {
    pub(super) ns: usize,
    pub(super) kind: usize,
    uid: String,
    created: Timestamp,
    period: i64,
    offset: i64,
    next: Timestamp,
    last_schedule: Option<Timestamp>,
    last_successful: Option<Timestamp>,
    /// Status as last written.
    published: (Vec<usize>, Option<Timestamp>, Option<Timestamp>),
}

/// The model's state for the kinds of this file.
#[derive(Debug, Clone, Default)]
pub(super) struct Extras {
    /// Per deployment, oldest revision first.
    rs: Vec<Vec<RsRec>>,
    pub(super) sts: Vec<StsRec>,
    vols: Vec<VolRec>,
    services: Vec<SvcRec>,
    /// Service of each deployment / statefulset, if any.
    deploy_svc: Vec<Option<usize>>,
    sts_svc: Vec<Option<usize>>,
    pdbs: Vec<PdbRec>,
    deploy_pdb: Vec<Option<usize>>,
    sts_pdb: Vec<Option<usize>>,
    quotas: Vec<QuotaRec>,
    leases: Vec<LeaseRec>,
    pub(super) cronjobs: Vec<CronRec>,
    statics: Vec<Static>,
    changes: changes::Changes,
    /// Volumes Released and not yet deleted.
    releasing: usize,
    /// Namespaces whose quota usage may have changed this tick.
    pub(super) dirty_ns: BTreeSet<usize>,
}

const STORAGE_CLASSES: [(&str, &str); 3] = [("gp3", "gp3"), ("io2", "io2"), ("st1", "st1")];

/// (name, period seconds, offset seconds, cron expression) per job kind of the catalog; None:
/// jobs of that kind are one-off (migrations run by a deploy tool).
const CRON_SCHEDULES: [Option<(i64, i64, &str)>; 6] = [
    Some((3600, 1800, "30 * * * *")),
    None,
    Some((3600, 0, "0 * * * *")),
    Some((900, 0, "*/15 * * * *")),
    Some((600, 0, "*/10 * * * *")),
    Some((300, 0, "*/5 * * * *")),
];

impl ClusterModel {
    /// Lays out every kind of this file for the workloads already generated.
    pub(super) fn init_extras(&mut self, now: Timestamp) {
        if self.nodes.is_empty() || self.namespaces.is_empty() {
            return;
        }
        for name in ["kube-node-lease", "kube-public"] {
            let uid = self.uid();
            let created = at(self.birth, 5);
            self.namespaces.push(super::NsRec {
                name: name.into(),
                uid,
                created,
            });
        }
        self.init_replicasets(now);
        self.init_statefulsets(now);
        self.init_cronjobs(now);
        self.init_services(now);
        self.init_pdbs(now);
        self.init_config(now);
        self.init_cluster_objects(now);
        self.init_leases(now);
        self.init_quotas(now);
        self.x.statics.sort_by_key(|s| s.kind);
        self.init_changes();
        self.x.dirty_ns.clear();
    }

    fn ns_name(&self, ns: usize) -> &str {
        &self.namespaces[ns].name
    }
    // ----- ReplicaSets --------------------------------------------------------------------

    fn init_replicasets(&mut self, now: Timestamp) {
        self.x.rs = vec![Vec::new(); self.deployments.len()];
        for di in 0..self.deployments.len() {
            let d = &self.deployments[di];
            let (created, version) = (d.created, d.version);
            let first = version.saturating_sub(HISTORY);
            let mut t = created;
            for v in first..=version {
                let rs_created = if v == 0 { at(created, 1) } else { t };
                self.x.rs[di].push(RsRec {
                    version: v,
                    created: rs_created,
                    generation: 1,
                    published: (0, 0, 0),
                    desired: 0,
                });
                let next = at(rs_created, self.rng.i64(3600..=20 * 86_400));
                t = next.min(at(now, -3600)).max(rs_created);
            }
            for k in 0..self.x.rs[di].len() {
                let counts = self.rs_counts(di, self.x.rs[di][k].version);
                let r = &mut self.x.rs[di][k];
                r.generation = if r.version == version { 1 } else { 2 };
                r.published = counts;
                r.desired = self.deployments[di].replicas;
            }
        }
    }

    /// (spec replicas, replicas, ready) the ReplicaSet of `version` has now.
    fn rs_counts(&self, di: usize, version: u32) -> (u32, u32, u32) {
        let d = &self.deployments[di];
        let (mut replicas, mut ready) = (0, 0);
        for &id in &d.pods {
            let p = self.pods[id].as_ref().expect("deployment pod");
            if p.version == version && p.active() {
                replicas += 1;
                if p.status.is_ready() {
                    ready += 1;
                }
            }
        }
        let spec = if version == d.version && !d.rolling {
            d.replicas
        } else {
            replicas
        };
        (spec, replicas, ready)
    }

    fn rs_json(&self, di: usize, k: usize) -> Value {
        let d = &self.deployments[di];
        let r = &self.x.rs[di][k];
        let hash = pod_template_hash(&d.uid, r.version);
        let name = format!("{}-{hash}", d.name);
        let uid = replicaset_uid(&d.uid, &hash);
        let template = self.deploy_template(di, r.version);
        ob::replicaset(&ob::ReplicaSetParams {
            namespace: self.ns_name(d.ns),
            name: &name,
            uid: &uid,
            created: r.created,
            deployment: &d.name,
            deployment_uid: &d.uid,
            hash: &hash,
            revision: r.version + 1,
            deployment_replicas: r.desired,
            generation: r.generation,
            replicas: r.published.0,
            selector: &d.selector,
            template: &template,
            status: (r.published.1, r.published.2),
        })
    }

    /// A rollout created revision `version`: its ReplicaSet appears, the oldest beyond the
    /// history limit goes.
    pub(super) fn on_rollout(&mut self, di: usize, now: Timestamp, ops: &mut Vec<Op>) {
        if self.x.rs.len() <= di {
            return;
        }
        let version = self.deployments[di].version;
        let desired = self.deployments[di].replicas;
        self.x.rs[di].push(RsRec {
            version,
            created: now,
            generation: 1,
            published: (0, 0, 0),
            desired,
        });
        let k = self.x.rs[di].len() - 1;
        ops.push(Op::Create(self.rs_json(di, k)));
        while self.x.rs[di].len() as u32 > HISTORY + 1 {
            let d = &self.deployments[di];
            let old = self.x.rs[di][0].version;
            let busy = d
                .pods
                .iter()
                .any(|&id| self.pods[id].as_ref().is_some_and(|p| p.version == old));
            if busy {
                break;
            }
            let hash = pod_template_hash(&d.uid, old);
            ops.push(Op::Delete {
                resource: "replicasets",
                namespace: Some(self.ns_name(d.ns).to_string()),
                name: format!("{}-{hash}", d.name),
            });
            self.x.rs[di].remove(0);
        }
    }

    /// Brings the ReplicaSets, Service endpoints and PDB of a deployment in line with its pods.
    pub(super) fn sync_deploy_children(&mut self, di: usize, now: Timestamp, ops: &mut Vec<Op>) {
        if self.x.rs.len() <= di {
            return;
        }
        let desired = self.deployments[di].replicas;
        for k in 0..self.x.rs[di].len() {
            let counts = self.rs_counts(di, self.x.rs[di][k].version);
            if counts == self.x.rs[di][k].published && desired == self.x.rs[di][k].desired {
                continue;
            }
            let before = self.rs_json(di, k);
            let r = &mut self.x.rs[di][k];
            if counts.0 != r.published.0 {
                r.generation += 1;
            }
            r.published = counts;
            r.desired = desired;
            let after = self.rs_json(di, k);
            let d = &self.deployments[di];
            let name = before["metadata"]["name"].as_str().unwrap_or_default().to_string();
            Self::push_patch(
                ops,
                "replicasets",
                Some(&self.namespaces[d.ns].name),
                &name,
                &before,
                &after,
            );
        }
        if let Some(s) = self.x.deploy_svc[di] {
            self.sync_service(s, now, ops);
        }
        if let Some(p) = self.x.deploy_pdb[di] {
            self.sync_pdb(p, now, ops);
        }
    }

    // ----- CronJobs -----------------------------------------------------------------------

    fn init_cronjobs(&mut self, now: Timestamp) {
        for j in 0..self.jobs.len() {
            let Some(job) = self.jobs[j].as_ref() else { continue };
            let (ns, kind) = (job.ns, job.kind);
            let Some((period, offset, _)) = CRON_SCHEDULES[kind] else {
                continue;
            };
            let c = match self.x.cronjobs.iter().position(|c| c.ns == ns && c.kind == kind) {
                Some(c) => c,
                None => {
                    let uid = self.uid();
                    let created = self.between(at(self.namespaces[ns].created, 600), at(now, -4 * 86_400));
                    self.x.cronjobs.push(CronRec {
                        ns,
                        kind,
                        uid,
                        created,
                        period,
                        offset,
                        next: next_run(now, period, offset),
                        last_schedule: None,
                        last_successful: None,
                        published: (Vec::new(), None, None),
                    });
                    self.x.cronjobs.len() - 1
                }
            };
            let job = self.jobs[j].as_mut().expect("job");
            job.cron = Some(c);
            let cr = &mut self.x.cronjobs[c];
            cr.last_schedule = cr.last_schedule.max(Some(job.created));
            if let super::JobOutcome::Complete(t) = job.outcome {
                cr.last_successful = cr.last_successful.max(Some(t));
            }
        }
        for c in 0..self.x.cronjobs.len() {
            self.x.cronjobs[c].published = self.cron_status(c);
        }
    }

    fn cron_status(&self, c: usize) -> (Vec<usize>, Option<Timestamp>, Option<Timestamp>) {
        let active = self
            .active_jobs
            .iter()
            .copied()
            .filter(|&j| self.jobs[j].as_ref().is_some_and(|job| job.cron == Some(c)))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let cr = &self.x.cronjobs[c];
        (active, cr.last_schedule, cr.last_successful)
    }

    fn cron_name(&self, c: usize) -> &'static str {
        self.job_kinds[self.x.cronjobs[c].kind].0
    }

    fn cron_json(&self, c: usize) -> Value {
        let cr = &self.x.cronjobs[c];
        let (active, last_schedule, last_successful) = &cr.published;
        let active: Vec<(String, String)> = active
            .iter()
            .filter_map(|&j| self.jobs[j].as_ref().map(|job| (job.name.clone(), job.uid.clone())))
            .collect();
        let (_, _, schedule) = CRON_SCHEDULES[cr.kind].expect("cron kind");
        ob::cronjob(&ob::CronJobParams {
            namespace: self.ns_name(cr.ns),
            name: self.cron_name(c),
            uid: &cr.uid,
            created: cr.created,
            schedule,
            template: &self.job_kinds[cr.kind].1,
            active: &active,
            last_schedule: *last_schedule,
            last_successful: *last_successful,
            starting_deadline: self.cron_deadlines(c).0,
            active_deadline: self.cron_deadlines(c).1,
        })
    }

    /// (`startingDeadlineSeconds`, the jobs' `activeDeadlineSeconds`) of a CronJob: about a third
    /// tolerate a late start of up to a few minutes, a quarter stop jobs that run past the next
    /// slot. Derived from the uid, so the seed's random stream is untouched.
    fn cron_deadlines(&self, c: usize) -> (Option<u32>, Option<u32>) {
        let cr = &self.x.cronjobs[c];
        let h = mix(hash_str(&cr.uid) ^ 0xdead);
        let starting = (h % 100 < 35).then(|| [60, 120, 300][((h >> 8) % 3) as usize].min(cr.period as u32));
        let active = ((h >> 16) % 100 < 25).then_some(cr.period as u32);
        (starting, active)
    }

    /// `activeDeadlineSeconds` of a job: its CronJob's, or for about one one-off job in ten a
    /// limit of 10 minutes to an hour.
    pub(super) fn job_deadline(&self, j: usize) -> Option<u32> {
        let job = self.jobs[j].as_ref()?;
        if let Some(c) = job.cron {
            return self.cron_deadlines(c).1;
        }
        let h = mix(hash_str(&job.uid) ^ 0xdead);
        (h % 100 < 10).then(|| [600, 1800, 3600][((h >> 8) % 3) as usize])
    }

    /// Owner reference and scheduled-time annotation of a job its CronJob spawned.
    pub(super) fn decorate_job(&self, j: usize, obj: &mut Value) {
        let Some(job) = self.jobs[j].as_ref() else { return };
        let Some(c) = job.cron else { return };
        let cr = &self.x.cronjobs[c];
        obj["metadata"]["annotations"] = json!({"batch.kubernetes.io/cronjob-scheduled-timestamp": ts(job.created)});
        obj["metadata"]["ownerReferences"] = json!([{
            "apiVersion": "batch/v1", "kind": "CronJob", "name": self.cron_name(c), "uid": cr.uid,
            "controller": true, "blockOwnerDeletion": true,
        }]);
        ob::add_managed_status(obj, "kube-controller-manager", "kube-controller-manager");
    }

    /// Writes a CronJob's status if its active jobs or times changed.
    pub(super) fn sync_cron(&mut self, c: usize, ops: &mut Vec<Op>) {
        let st = self.cron_status(c);
        if st == self.x.cronjobs[c].published {
            return;
        }
        let before = self.cron_json(c);
        self.x.cronjobs[c].published = st;
        let after = self.cron_json(c);
        let ns = self.namespaces[self.x.cronjobs[c].ns].name.clone();
        Self::push_patch(ops, "cronjobs", Some(&ns), self.cron_name(c), &before, &after);
    }

    /// A job of a CronJob finished: its CronJob's status follows.
    pub(super) fn on_job_finished(&mut self, j: usize, now: Timestamp, ops: &mut Vec<Op>) {
        let Some(job) = self.jobs[j].as_ref() else { return };
        let Some(c) = job.cron else { return };
        if matches!(job.outcome, super::JobOutcome::Complete(_)) {
            self.x.cronjobs[c].last_successful = Some(now);
        }
        self.sync_cron(c, ops);
    }

    /// CronJobs whose schedule came due spawn a Job (none while one still runs: Forbid).
    fn run_schedules(&mut self, now: Timestamp, ops: &mut Vec<Op>) {
        for c in 0..self.x.cronjobs.len() {
            if self.x.cronjobs[c].next > now {
                continue;
            }
            let cr = &self.x.cronjobs[c];
            let scheduled = last_run(now, cr.period, cr.offset);
            self.x.cronjobs[c].next = next_run(now, cr.period, cr.offset);
            if !self.cron_status(c).0.is_empty() {
                continue;
            }
            self.x.cronjobs[c].last_schedule = Some(scheduled);
            let (ns, kind) = (self.x.cronjobs[c].ns, self.x.cronjobs[c].kind);
            self.spawn_job(ns, kind, Some(c), now, ops);
            self.sync_cron(c, ops);
        }
    }

    // ----- Services, endpoints, ingresses, PDBs -------------------------------------------

    fn cluster_ip(&mut self) -> String {
        format!("172.20.{}.{}", self.rng.u8(1..=254), self.rng.u8(1..=254))
    }

    fn add_service(
        &mut self,
        ns: usize,
        name: String,
        target: Target,
        ports: Vec<ob::ServicePort>,
        headless: bool,
        created: Timestamp,
    ) -> usize {
        let uid = self.uid();
        let slice = format!("{name}-{}", suffix_from(self.rng.u64(..), 5));
        let (slice_uid, ep_uid) = (self.uid(), self.uid());
        let cluster_ip = (!headless).then(|| self.cluster_ip());
        self.x.services.push(SvcRec {
            ns,
            name,
            uid,
            created,
            target,
            ports,
            cluster_ip,
            slice,
            slice_uid,
            ep_uid,
            generation: 1,
            published: Vec::new(),
            updated: at(created, 2),
        });
        let s = self.x.services.len() - 1;
        let eps = self.service_endpoints(s);
        if !eps.is_empty() {
            let newest = self.x.services[s].updated;
            self.x.services[s].updated = newest.max(at(created, 30));
            self.x.services[s].generation += eps.len() as i64;
        }
        self.x.services[s].published = eps;
        s
    }

    fn init_services(&mut self, _now: Timestamp) {
        self.x.deploy_svc = vec![None; self.deployments.len()];
        self.x.sts_svc = vec![None; self.x.sts.len()];
        let default_ns = 0;
        let birth = self.birth;
        self.add_service(
            default_ns,
            "kubernetes".into(),
            Target::ControlPlane,
            vec![("https".into(), 443, json!(6443))],
            false,
            birth,
        );
        if let Some(s) = self.x.services.last_mut() {
            s.cluster_ip = Some("172.20.0.1".into());
        }
        for di in 0..self.deployments.len() {
            let d = &self.deployments[di];
            if d.template.containers[0].port.is_none() {
                continue;
            }
            let (ns, name, created) = (d.ns, d.name.clone(), at(d.created, 1));
            let s = self.add_service(
                ns,
                name,
                Target::Deploy(di),
                vec![("http".into(), 80, json!("http"))],
                false,
                created,
            );
            self.x.deploy_svc[di] = Some(s);
        }
        for i in 0..self.x.sts.len() {
            let st = &self.x.sts[i];
            let (ns, name, created, port) = (
                st.ns,
                st.name.clone(),
                st.created,
                st.template.containers[0].port.unwrap_or(80),
            );
            let s = self.add_service(
                ns,
                name,
                Target::Sts(i),
                vec![("http".into(), port, json!("http"))],
                true,
                created,
            );
            self.x.sts_svc[i] = Some(s);
        }
    }

    /// The endpoints a Service's selector yields now: its pods that have an IP.
    fn service_endpoints(&self, s: usize) -> Vec<PodEndpoint> {
        let pods: &[usize] = match self.x.services[s].target {
            Target::Deploy(di) => &self.deployments[di].pods,
            Target::Sts(i) => &self.x.sts[i].pods,
            Target::ControlPlane => {
                return (0..self.control_planes)
                    .map(|n| PodEndpoint {
                        ip: node_internal_ip(n),
                        pod: self.nodes[n].name.clone(),
                        node: self.nodes[n].name.clone(),
                        zone: ZONES[n % ZONES.len()],
                        ready: true,
                        terminating: false,
                    })
                    .collect();
            }
        };
        let mut out: Vec<PodEndpoint> = pods
            .iter()
            .filter_map(|&id| {
                let p = self.pods[id].as_ref()?;
                let n = p.node?;
                if p.status.state.is_terminal() || p.status.state == PodState::ContainerCreating {
                    return None;
                }
                Some(PodEndpoint {
                    ip: self.pod_ip(id)?,
                    pod: p.name.clone(),
                    node: self.nodes[n].name.clone(),
                    zone: ZONES[n % ZONES.len()],
                    ready: p.status.is_ready(),
                    terminating: p.deletion.is_some(),
                })
            })
            .collect();
        out.sort_by(|a, b| a.pod.cmp(&b.pod));
        out
    }

    fn svc_json(&self, s: usize) -> Value {
        let r = &self.x.services[s];
        let selector = match r.target {
            Target::Deploy(di) => Some(&self.deployments[di].selector[..]),
            Target::Sts(i) => Some(&self.x.sts[i].selector[..]),
            Target::ControlPlane => None,
        };
        let labels = match r.target {
            Target::ControlPlane => pairs(&[("component", "apiserver"), ("provider", "kubernetes")]),
            _ => pairs(&[("app.kubernetes.io/name", &r.name)]),
        };
        let exposure = self.exposure(s);
        let lb = match &exposure {
            Exposure::LoadBalancer {
                node_ports,
                hostname,
                ip,
            } => Some(ob::LoadBalancer {
                node_ports,
                hostname: hostname.as_deref(),
                ip: ip.as_deref(),
                provisioned: at(r.created, 40),
            }),
            _ => None,
        };
        let external_ips: &[String] = match &exposure {
            Exposure::ExternalIps(ips) => ips,
            _ => &[],
        };
        ob::service(&ob::ServiceParams {
            namespace: self.ns_name(r.ns),
            name: &r.name,
            uid: &r.uid,
            created: r.created,
            labels: &labels,
            selector,
            ports: &r.ports,
            cluster_ip: r.cluster_ip.as_deref(),
            load_balancer: lb,
            external_ips,
        })
    }

    /// How an application's Service is reached from outside: a few percent are LoadBalancers
    /// (AWS gives a DNS name, other providers an IP, dual ones both), a couple use
    /// `externalIPs`. Picked by position, so every cluster of ~30 Services has some; derived
    /// from the uid, so the seed's random stream is untouched.
    fn exposure(&self, s: usize) -> Exposure {
        let r = &self.x.services[s];
        if !matches!(r.target, Target::Deploy(_)) {
            return Exposure::ClusterIp;
        }
        let h = mix(hash_str(&r.uid) ^ 0x5e_7c);
        match s % 33 {
            7 | 23 => {
                let node_ports = (0..r.ports.len())
                    .map(|i| 30_000 + (h.rotate_right(16 * i as u32) % 2768) as u16)
                    .collect();
                let hostname = format!(
                    "k8s-{}-{}-{}.elb.eu-central-1.amazonaws.com",
                    &self.ns_name(r.ns)[..self.ns_name(r.ns).len().min(9)],
                    &r.name[..r.name.len().min(9)],
                    hex_from(h, 10)
                );
                let ip = format!("198.51.100.{}", 1 + (h >> 40) % 254);
                let (hostname, ip) = match (h >> 56) % 3 {
                    0 => (Some(hostname), None),
                    1 => (None, Some(ip)),
                    _ => (Some(hostname), Some(ip)),
                };
                Exposure::LoadBalancer {
                    node_ports,
                    hostname,
                    ip,
                }
            }
            15 => Exposure::ExternalIps(vec![format!("203.0.113.{}", 1 + (h >> 8) % 254)]),
            _ => Exposure::ClusterIp,
        }
    }

    fn endpoints_params<R>(&self, s: usize, slice: bool, f: impl FnOnce(&ob::EndpointsParams) -> R) -> R {
        let r = &self.x.services[s];
        let ports: Vec<(String, u16)> = r
            .ports
            .iter()
            .map(|(name, port, target)| (name.clone(), target.as_u64().map_or(*port, |t| t as u16)))
            .map(|(name, port)| match r.target {
                Target::Deploy(di) => (name, self.deployments[di].template.containers[0].port.unwrap_or(port)),
                _ => (name, port),
            })
            .collect();
        let labels = match r.target {
            Target::ControlPlane => pairs(&[("endpointslice.kubernetes.io/skip-mirror", "true")]),
            _ => pairs(&[("app.kubernetes.io/name", &r.name)]),
        };
        f(&ob::EndpointsParams {
            namespace: self.ns_name(r.ns),
            service: &r.name,
            service_uid: &r.uid,
            name: if slice { &r.slice } else { &r.name },
            uid: if slice { &r.slice_uid } else { &r.ep_uid },
            created: at(r.created, 1),
            labels: &labels,
            generation: r.generation,
            ports: &ports,
            endpoints: &r.published,
            updated: r.updated,
        })
    }

    fn slice_json(&self, s: usize) -> Value {
        let mut o = self.endpoints_params(s, true, ob::endpoint_slice);
        if self.x.services[s].target == Target::ControlPlane {
            // The API server manages this one itself, under the Service's name.
            o["metadata"]["name"] = json!("kubernetes");
            o["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] =
                json!("endpointslice-controller.k8s.io");
        }
        o
    }

    fn endpoints_json(&self, s: usize) -> Value {
        self.endpoints_params(s, false, ob::endpoints)
    }

    fn slice_name(&self, s: usize) -> String {
        match self.x.services[s].target {
            Target::ControlPlane => "kubernetes".into(),
            _ => self.x.services[s].slice.clone(),
        }
    }

    /// Rewrites a Service's EndpointSlice and Endpoints when its pods' addresses or conditions
    /// changed.
    fn sync_service(&mut self, s: usize, now: Timestamp, ops: &mut Vec<Op>) {
        let eps = self.service_endpoints(s);
        if eps == self.x.services[s].published {
            return;
        }
        let (slice_before, ep_before) = (self.slice_json(s), self.endpoints_json(s));
        let r = &mut self.x.services[s];
        r.published = eps;
        r.generation += 1;
        r.updated = now;
        let (slice_after, ep_after) = (self.slice_json(s), self.endpoints_json(s));
        let ns = self.namespaces[self.x.services[s].ns].name.clone();
        let slice = self.slice_name(s);
        Self::push_patch(ops, "endpointslices", Some(&ns), &slice, &slice_before, &slice_after);
        let name = self.x.services[s].name.clone();
        Self::push_patch(ops, "endpoints", Some(&ns), &name, &ep_before, &ep_after);
    }

    fn init_pdbs(&mut self, now: Timestamp) {
        self.x.deploy_pdb = vec![None; self.deployments.len()];
        self.x.sts_pdb = vec![None; self.x.sts.len()];
        let mut targets: Vec<Target> = (0..self.x.sts.len())
            .filter(|&i| self.x.sts[i].replicas > 1)
            .map(Target::Sts)
            .collect();
        for di in 0..self.deployments.len() {
            if self.deployments[di].replicas >= 2 && self.rng.u32(0..100) < 30 {
                targets.push(Target::Deploy(di));
            }
        }
        for target in targets {
            let created = match target {
                Target::Deploy(di) => at(self.deployments[di].created, 2),
                Target::Sts(i) => at(self.x.sts[i].created, 2),
                Target::ControlPlane => continue,
            };
            let uid = self.uid();
            let min_available = self.rng.bool().then_some(1);
            self.x.pdbs.push(PdbRec {
                target,
                uid,
                created,
                min_available,
                published: (0, 0),
                since: created,
            });
            let p = self.x.pdbs.len() - 1;
            self.x.pdbs[p].published = self.pdb_counts(p);
            self.x.pdbs[p].since = self.between(at(created, 30), at(now, -60)).max(created);
            match target {
                Target::Deploy(di) => self.x.deploy_pdb[di] = Some(p),
                Target::Sts(i) => self.x.sts_pdb[i] = Some(p),
                Target::ControlPlane => {}
            }
        }
    }

    fn pdb_counts(&self, p: usize) -> (u32, u32) {
        let pods: &[usize] = match self.x.pdbs[p].target {
            Target::Deploy(di) => &self.deployments[di].pods,
            Target::Sts(i) => &self.x.sts[i].pods,
            Target::ControlPlane => &[],
        };
        let (mut expected, mut healthy) = (0, 0);
        for &id in pods {
            if let Some(pod) = self.pods[id].as_ref()
                && pod.active()
            {
                expected += 1;
                if pod.status.is_ready() {
                    healthy += 1;
                }
            }
        }
        (expected, healthy)
    }

    fn pdb_target(&self, target: Target) -> (usize, &str, &[(String, String)]) {
        match target {
            Target::Deploy(di) => {
                let d = &self.deployments[di];
                (d.ns, &d.name, &d.selector)
            }
            Target::Sts(i) => {
                let s = &self.x.sts[i];
                (s.ns, &s.name, &s.selector)
            }
            Target::ControlPlane => unreachable!("no PDB for the control plane"),
        }
    }

    fn pdb_json(&self, p: usize) -> Value {
        let r = &self.x.pdbs[p];
        let (ns, name, selector) = self.pdb_target(r.target);
        ob::pdb(&ob::PdbParams {
            namespace: self.ns_name(ns),
            name,
            uid: &r.uid,
            created: r.created,
            selector,
            min_available: r.min_available,
            expected: r.published.0,
            healthy: r.published.1,
            since: r.since,
        })
    }

    fn sync_pdb(&mut self, p: usize, now: Timestamp, ops: &mut Vec<Op>) {
        let counts = self.pdb_counts(p);
        if counts == self.x.pdbs[p].published {
            return;
        }
        let before = self.pdb_json(p);
        let allowed_before = before["status"]["disruptionsAllowed"].as_u64().unwrap_or(0) > 0;
        self.x.pdbs[p].published = counts;
        let mut after = self.pdb_json(p);
        if (after["status"]["disruptionsAllowed"].as_u64().unwrap_or(0) > 0) != allowed_before {
            self.x.pdbs[p].since = now;
            after = self.pdb_json(p);
        }
        let (ns, name, _) = self.pdb_target(self.x.pdbs[p].target);
        let (ns, name) = (self.namespaces[ns].name.clone(), name.to_string());
        Self::push_patch(ops, "poddisruptionbudgets", Some(&ns), &name, &before, &after);
    }

    // ----- Leases -------------------------------------------------------------------------

    fn init_leases(&mut self, now: Timestamp) {
        for n in 0..self.nodes.len() {
            let node = &self.nodes[n];
            let (name, created) = (node.name.clone(), at(node.created, 20));
            let uid = self.uid();
            let renew = at(now, -self.rng.i64(0..NODE_LEASE_PERIOD));
            self.x.leases.push(LeaseRec {
                ns: "kube-node-lease",
                name: name.clone(),
                uid,
                created,
                holder: name,
                duration: 40,
                period: NODE_LEASE_PERIOD,
                node: Some(n),
                acquired: None,
                labels: Vec::new(),
                manager: "kubelet",
                renew,
            });
        }
        let birth = self.birth;
        for n in 0..self.control_planes {
            let uid = self.uid();
            let id = format!("apiserver-{}", hex_from(hash_str(&self.nodes[n].uid), 26));
            let holder = format!("{id}_{}", uuid_from(hash_str(&id), mix(n as u64)));
            let renew = at(now, -self.rng.i64(0..NODE_LEASE_PERIOD));
            self.x.leases.push(LeaseRec {
                ns: "kube-system",
                name: id,
                uid,
                created: at(birth, 600),
                holder,
                duration: 3600,
                period: NODE_LEASE_PERIOD,
                node: None,
                acquired: Some((at(now, -self.rng.i64(86_400..=30 * 86_400)), 0)),
                labels: pairs(&[
                    ("apiserver.kubernetes.io/identity", "kube-apiserver"),
                    ("kubernetes.io/hostname", &self.nodes[n].name),
                ]),
                manager: "kube-apiserver",
                renew,
            });
        }
        if self.control_planes > 0 {
            for (name, manager) in [
                ("kube-controller-manager", "kube-controller-manager"),
                ("kube-scheduler", "kube-scheduler"),
            ] {
                let uid = self.uid();
                let holder_node = self.rng.usize(0..self.control_planes);
                let holder = format!(
                    "{}_{}",
                    self.nodes[holder_node].name,
                    uuid_from(self.rng.u64(..), self.rng.u64(..))
                );
                let transitions = self.rng.u32(1..=12);
                self.x.leases.push(LeaseRec {
                    ns: "kube-system",
                    name: name.into(),
                    uid,
                    created: at(birth, 600),
                    holder,
                    duration: 15,
                    period: LEADER_LEASE_PERIOD,
                    node: None,
                    acquired: Some((at(now, -self.rng.i64(86_400..=30 * 86_400)), transitions)),
                    labels: Vec::new(),
                    manager,
                    renew: at(now, -self.rng.i64(0..LEADER_LEASE_PERIOD)),
                });
            }
        }
    }

    fn lease_json(&self, l: usize) -> Value {
        let r = &self.x.leases[l];
        let owner = r
            .node
            .map(|n| (self.nodes[n].name.as_str(), self.nodes[n].uid.as_str()));
        ob::lease(&ob::LeaseParams {
            namespace: r.ns,
            name: &r.name,
            uid: &r.uid,
            created: r.created,
            labels: &r.labels,
            holder: &r.holder,
            duration_seconds: r.duration,
            node_owner: owner,
            acquired: r.acquired,
            renew: r.renew,
            renew_micros: (mix(hash_str(&r.uid) ^ r.renew.as_second() as u64) % 1_000_000) as u32,
            manager: r.manager,
        })
    }

    /// Leases whose period has passed are renewed (node leases only while the node is
    /// reachable: a silent kubelet is how the node controller notices).
    fn renew_leases(&mut self, now: Timestamp, ops: &mut Vec<Op>) {
        for l in 0..self.x.leases.len() {
            let r = &self.x.leases[l];
            if at(r.renew, r.period) > now || r.node.is_some_and(|n| self.nodes[n].unreachable) {
                continue;
            }
            let before = self.lease_json(l);
            self.x.leases[l].renew = now;
            let after = self.lease_json(l);
            let r = &self.x.leases[l];
            Self::push_patch(ops, "leases", Some(r.ns), &r.name.clone(), &before, &after);
        }
    }

    // ----- Quotas -------------------------------------------------------------------------

    fn init_quotas(&mut self, now: Timestamp) {
        for &ns in &self.app_namespaces.clone() {
            let created = at(self.namespaces[ns].created, 5);
            let uid = self.uid();
            self.x.quotas.push(QuotaRec {
                ns,
                uid,
                created,
                hard: Vec::new(),
                used: Vec::new(),
                synced: at(now, -self.rng.i64(1..=300)),
            });
        }
        let used = self.quota_usage();
        for (q, u) in used.into_iter().enumerate() {
            // Sized with headroom over what the namespace uses, in round numbers.
            let round = |v: u64, step: u64| (v * 2).div_ceil(step).max(1) * step;
            let hard = vec![
                (
                    "count/deployments.apps".to_string(),
                    round(u.deployments, 10).to_string(),
                ),
                ("persistentvolumeclaims".to_string(), round(u.pvcs, 10).to_string()),
                ("pods".to_string(), round(u.pods, 50).to_string()),
                (
                    "requests.cpu".to_string(),
                    round(u.cpu_m, 10_000).div_euclid(1000).to_string(),
                ),
                (
                    "requests.memory".to_string(),
                    format!("{}Gi", round(u.mem_mi, 16 * 1024) / 1024),
                ),
                ("services".to_string(), round(u.services, 10).to_string()),
            ];
            self.x.quotas[q].hard = hard;
            self.x.quotas[q].used = u.to_pairs();
        }
    }

    /// What each quota's namespace uses now, in one pass over the cluster.
    fn quota_usage(&self) -> Vec<Usage> {
        let mut by_ns = vec![usize::MAX; self.namespaces.len()];
        for (q, r) in self.x.quotas.iter().enumerate() {
            by_ns[r.ns] = q;
        }
        let mut out = vec![Usage::default(); self.x.quotas.len()];
        for p in self.pods.iter().flatten() {
            let q = by_ns[p.ns];
            if q == usize::MAX || p.status.state.is_terminal() {
                continue;
            }
            let u = &mut out[q];
            u.pods += 1;
            let template = match p.owner {
                Owner::Deploy(di) => self.deploy_template(di, p.version).into_owned(),
                Owner::Ds(i) => self.daemonsets[i].template.clone(),
                Owner::Job(j) => match self.jobs[j].as_ref() {
                    Some(job) => self.job_kinds[job.kind].1.clone(),
                    None => continue,
                },
                Owner::Sts(i) => self.x.sts[i].template.clone(),
            };
            for c in &template.containers {
                let (cpu, mem) = c.requests();
                u.cpu_m += u64::from(cpu.unwrap_or(0));
                u.mem_mi += u64::from(mem.unwrap_or(0));
            }
        }
        for d in &self.deployments {
            if by_ns[d.ns] != usize::MAX {
                out[by_ns[d.ns]].deployments += 1;
            }
        }
        for s in &self.x.services {
            if by_ns[s.ns] != usize::MAX {
                out[by_ns[s.ns]].services += 1;
            }
        }
        for v in self.x.vols.iter().filter(|v| v.released.is_none()) {
            let ns = self.x.sts[v.sts].ns;
            if by_ns[ns] != usize::MAX {
                out[by_ns[ns]].pvcs += 1;
            }
        }
        out
    }

    fn quota_json(&self, q: usize) -> Value {
        let r = &self.x.quotas[q];
        ob::resource_quota(
            self.ns_name(r.ns),
            "compute-resources",
            &r.uid,
            r.created,
            &r.hard,
            &r.used,
            r.synced,
        )
    }

    /// The quota controller recomputes usage of the namespaces whose pods changed.
    fn sync_quotas(&mut self, now: Timestamp, ops: &mut Vec<Op>) {
        if self.x.dirty_ns.is_empty() || self.x.quotas.is_empty() {
            self.x.dirty_ns.clear();
            return;
        }
        let dirty = std::mem::take(&mut self.x.dirty_ns);
        let used = self.quota_usage();
        for (q, u) in used.iter().enumerate() {
            if !dirty.contains(&self.x.quotas[q].ns) {
                continue;
            }
            let u = u.to_pairs();
            if u == self.x.quotas[q].used {
                continue;
            }
            let before = self.quota_json(q);
            self.x.quotas[q].used = u;
            self.x.quotas[q].synced = now;
            let after = self.quota_json(q);
            let ns = self.namespaces[self.x.quotas[q].ns].name.clone();
            Self::push_patch(ops, "resourcequotas", Some(&ns), "compute-resources", &before, &after);
        }
    }

    // ----- Churn and listing --------------------------------------------------------------

    /// Time-driven changes of a tick: lease renewals, CronJob schedules, Ingress addresses and
    /// CSRs.
    pub(super) fn churn_timed(&mut self, now: Timestamp, ops: &mut Vec<Op>) {
        self.renew_leases(now, ops);
        self.run_schedules(now, ops);
        self.churn_changes(now, ops);
        self.reclaim_volumes(now, ops);
    }

    /// End of a tick: the quota controller catches up.
    pub(super) fn churn_settle(&mut self, now: Timestamp, ops: &mut Vec<Op>) {
        self.sync_quotas(now, ops);
    }

    /// Cluster-scoped objects of this file (after namespaces and nodes).
    pub(super) fn cluster_objects(&self) -> impl Iterator<Item = Value> + '_ {
        let statics = self
            .x
            .statics
            .iter()
            .filter(|s| s.ns.is_none())
            .map(|s| self.static_json(s));
        let pvs = self.x.vols.iter().map(|v| self.volume_params(v, ob::pv));
        let vas = self
            .x
            .vols
            .iter()
            .filter(|v| v.attached.is_some())
            .map(|v| self.va_json(v));
        statics.chain(pvs).chain(vas)
    }

    /// Namespaced configuration (before the workloads).
    pub(super) fn config_objects(&self) -> impl Iterator<Item = Value> + '_ {
        let statics = self
            .x
            .statics
            .iter()
            .filter(|s| s.ns.is_some() && s.kind < StaticKind::ReplicationController)
            .map(|s| self.static_json(s));
        let quotas = (0..self.x.quotas.len()).map(|q| self.quota_json(q));
        let leases = (0..self.x.leases.len()).map(|l| self.lease_json(l));
        statics.chain(quotas).chain(leases)
    }

    /// ReplicaSets, StatefulSets and ReplicationControllers (after the Deployments).
    pub(super) fn workload_objects(&self) -> impl Iterator<Item = Value> + '_ {
        let rs = (0..self.x.rs.len()).flat_map(move |di| (0..self.x.rs[di].len()).map(move |k| self.rs_json(di, k)));
        let sts = (0..self.x.sts.len()).map(|i| self.sts_json(i));
        let rc = self
            .x
            .statics
            .iter()
            .filter(|s| s.kind == StaticKind::ReplicationController)
            .map(|s| self.static_json(s));
        rs.chain(sts).chain(rc)
    }

    /// CronJobs (before the Jobs).
    pub(super) fn cron_objects(&self) -> impl Iterator<Item = Value> + '_ {
        (0..self.x.cronjobs.len()).map(|c| self.cron_json(c))
    }

    /// PDBs, Services, Endpoints, EndpointSlices and Ingresses (after the workloads).
    pub(super) fn network_objects(&self) -> impl Iterator<Item = Value> + '_ {
        let pdbs = (0..self.x.pdbs.len()).map(|p| self.pdb_json(p));
        let svcs = (0..self.x.services.len()).map(|s| self.svc_json(s));
        let eps = (0..self.x.services.len()).map(|s| self.endpoints_json(s));
        let slices = (0..self.x.services.len()).map(|s| self.slice_json(s));
        let ingresses = self
            .x
            .statics
            .iter()
            .filter(|s| s.kind == StaticKind::Ingress)
            .map(|s| self.static_json(s));
        pdbs.chain(svcs).chain(eps).chain(slices).chain(ingresses)
    }

    /// PVCs (after the pods owning them).
    pub(super) fn claim_objects(&self) -> impl Iterator<Item = Value> + '_ {
        self.x
            .vols
            .iter()
            .filter(|v| v.released.is_none())
            .map(|v| self.volume_params(v, ob::pvc))
    }
}

#[derive(Debug, Clone, Default)]
struct Usage {
    pods: u64,
    cpu_m: u64,
    mem_mi: u64,
    deployments: u64,
    services: u64,
    pvcs: u64,
}

impl Usage {
    fn to_pairs(&self) -> Vec<(String, String)> {
        vec![
            ("count/deployments.apps".into(), self.deployments.to_string()),
            ("persistentvolumeclaims".into(), self.pvcs.to_string()),
            ("pods".into(), self.pods.to_string()),
            ("requests.cpu".into(), cpu_quantity(self.cpu_m as u32)),
            ("requests.memory".into(), memory_quantity(self.mem_mi as u32)),
            ("services".into(), self.services.to_string()),
        ]
    }
}

/// The first run of a `period`-second schedule (shifted by `offset`) after `now`.
fn next_run(now: Timestamp, period: i64, offset: i64) -> Timestamp {
    let t = now.as_second() - offset;
    Timestamp::from_second((t.div_euclid(period) + 1) * period + offset).unwrap_or(now)
}

/// The latest run of the schedule at or before `now`.
fn last_run(now: Timestamp, period: i64, offset: i64) -> Timestamp {
    let t = now.as_second() - offset;
    Timestamp::from_second(t.div_euclid(period) * period + offset).unwrap_or(now)
}
