//! The initial layout of a generated cluster: namespaces, nodes and the workloads with their
//! pods, backdated from the time the model is created.

use fastrand::Rng;
use jiff::Timestamp;

use super::catalog::{NS_NAMES, REGION, WORKER_TYPES, daemonset_catalog};
use super::util::{at, hash_str, pairs, pod_template_hash, span, suffix_from};
use super::{
    ClusterModel, Container, DeployRec, DeploymentStatus, DsRec, ExitReason, HpaRec, JobOutcome, NodeRec, NsRec, Owner,
    PodState, PodStatus, PodTemplate, Termination,
};

impl ClusterModel {
    pub(super) fn init_namespaces(&mut self, now: Timestamp, birth: Timestamp) {
        let wanted = self.spec.deployments + self.spec.daemonsets + self.spec.jobs > 0;
        let n = if wanted {
            self.spec.namespaces.max(3)
        } else {
            self.spec.namespaces
        };
        for i in 0..n {
            let name = NS_NAMES
                .get(i)
                .map_or_else(|| format!("team-{i:04}"), |s| s.to_string());
            let created = if i < 2 {
                birth
            } else {
                self.between(at(birth, 3600), at(now, -30 * 86_400))
            };
            let uid = self.uid();
            self.namespaces.push(NsRec { name, uid, created });
        }
        self.app_namespaces = if n > 3 {
            (3..n).collect()
        } else {
            (0..n.min(1)).collect()
        };
    }

    pub(super) fn init_nodes(&mut self, now: Timestamp, birth: Timestamp) {
        let n = self.spec.nodes;
        let cp = if n >= 10 {
            3
        } else if n >= 2 {
            1
        } else {
            0
        };
        self.control_planes = cp;
        for i in 0..n {
            let control_plane = i < cp;
            let name = if control_plane {
                format!("control-plane-{}", i + 1)
            } else {
                format!("worker-{:05}", i - cp + 1)
            };
            let created = if control_plane {
                at(birth, 600 + 60 * i as i64)
            } else if self.rng.u32(0..4) == 0 {
                self.between(at(birth, 3600), at(now, -90 * 86_400))
            } else {
                self.between(at(now, -90 * 86_400), at(now, -2 * 3600))
            };
            let uid = self.uid();
            let itype = self.rng.usize(0..WORKER_TYPES.len());
            let heartbeat = at(now, -self.rng.i64(0..40));
            let next_ip = self.rng.u8(2..200);
            self.nodes.push(NodeRec {
                name,
                uid,
                created,
                control_plane,
                itype,
                heartbeat,
                ready_since: at(created, 45),
                unreachable: false,
                next_ip,
            });
        }
    }

    /// Status of a pod that has been running since around `created`.
    pub(super) fn running_status(&mut self, created: Timestamp, now: Timestamp, has_init: bool) -> PodStatus {
        let started = at(created, 1);
        let sandbox = at(started, self.rng.i64(1..=3));
        let mut app_started = at(sandbox, if has_init { self.rng.i64(2..=8) } else { 1 });
        let mut s = PodStatus::new(PodState::Running, created);
        s.started = started;
        s.sandbox = sandbox;
        if self.rng.u32(0..100) < 12 && span(app_started, now) > 900 {
            let t = self.between(at(app_started, 300), at(now, -300));
            let reason = if self.rng.u32(0..100) < 40 {
                ExitReason::OomKilled
            } else {
                ExitReason::Error
            };
            s.last_exit = Some(Termination {
                reason,
                started: app_started,
                finished: t,
            });
            s.restarts = self.rng.u32(1..=4);
            app_started = at(t, 1);
        }
        s.app_started = app_started.min(now);
        s.ready_changed = at(app_started, self.rng.i64(2..=30)).min(now);
        s.finished = s.ready_changed;
        s
    }

    pub(super) fn init_daemonsets(&mut self, now: Timestamp) {
        for i in 0..self.spec.daemonsets {
            let (name, monitoring, template) = daemonset_catalog(i);
            let ns = if monitoring { 2 } else { 1 }.min(self.namespaces.len().saturating_sub(1));
            let created = self.between(at(self.namespaces[ns].created, 600), at(now, -7 * 86_400));
            let uid = self.uid();
            let hash = suffix_from(hash_str(&uid), 10);
            let selector = template.labels.clone();
            let has_init = !template.init_containers.is_empty();
            self.daemonsets.push(DsRec {
                ns,
                name: name.clone(),
                uid,
                created,
                selector,
                template,
                hash,
                pods: Vec::new(),
                published: (0, 0, 0),
            });
            for n in 0..self.nodes.len() {
                let base = created.max(self.nodes[n].created);
                let pod_created = at(base, self.rng.i64(5..=120)).min(at(now, -60));
                let status = self.running_status(pod_created, now, has_init);
                let pod_name = self.unique_pod_name(ns, &name);
                self.add_pod(ns, pod_name, Owner::Ds(i), 0, Some(n), pod_created, status);
            }
            let counts = self.ds_counts(i);
            self.daemonsets[i].published = counts;
        }
    }

    /// A template for an application deployment: (template, image repository, minor, first patch).
    fn app_template(&mut self, name: &str, ns_name: &str) -> (PodTemplate, String, u32, u32) {
        #[derive(Clone, Copy, PartialEq)]
        enum Qos {
            BestEffort,
            Guaranteed,
            Burstable,
        }
        let rng = &mut self.rng;
        let qos = match rng.u32(0..100) {
            0..12 => Qos::BestEffort,
            12..32 => Qos::Guaranteed,
            _ => Qos::Burstable,
        };
        let limits_only = rng.bool();
        let sized = |c: Container, cpu: u32, mem: u32, rng: &mut Rng| match qos {
            Qos::BestEffort => c,
            Qos::Guaranteed if limits_only => c.resources(None, Some(cpu), None, Some(mem)),
            Qos::Guaranteed => c.resources(Some(cpu), Some(cpu), Some(mem), Some(mem)),
            Qos::Burstable => {
                let cpu_lim = (rng.u32(0..100) < 25).then_some(cpu * 2);
                let mem_lim = (rng.u32(0..100) < 70).then_some((mem * 2).min(4096).max(mem));
                c.resources(Some(cpu), cpu_lim, Some(mem), mem_lim)
            }
        };
        let cpu = [100, 250, 250, 500, 500, 1000, 2000][rng.usize(0..7)];
        let mem = [64, 128, 256, 256, 512, 512, 1024, 2048, 4096][rng.usize(0..9)];
        let registry = match rng.u32(0..3) {
            0 => "ghcr.io/acme".to_string(),
            1 => format!("registry.example.com/{ns_name}"),
            _ => format!("123456789012.dkr.ecr.{REGION}.amazonaws.com/{ns_name}"),
        };
        let image_base = format!("{registry}/{name}");
        let (minor, patch0) = (rng.u32(0..30), rng.u32(0..20));
        let mut app = sized(
            Container::new(name, &format!("{image_base}:1.{minor}.{patch0}")),
            cpu,
            mem,
            rng,
        );
        if rng.u32(0..100) < 85 {
            app.port = Some(8080);
        }
        let mut containers = vec![app];
        let side = rng.u32(0..100);
        if side < 22 || (30..34).contains(&side) {
            containers.push(sized(
                Container::new("istio-proxy", "docker.io/istio/proxyv2:1.24.2"),
                100,
                128,
                rng,
            ));
        }
        if (22..34).contains(&side) {
            containers.push(sized(
                Container::new("fluent-bit", "cr.fluentbit.io/fluent/fluent-bit:3.2.4"),
                50,
                64,
                rng,
            ));
        }
        let mut init_containers = Vec::new();
        if rng.u32(0..100) < 20 {
            let mut c = sized(Container::new("init-config", "busybox:1.37"), 10, 16, rng);
            c.command = vec!["sh".into(), "-c".into(), "cp -r /config/. /etc/app/".into()];
            init_containers.push(c);
        }
        let service_account = rng.bool().then(|| name.to_string());
        let template = PodTemplate {
            labels: pairs(&[("app", name), ("app.kubernetes.io/name", name)]),
            init_containers,
            containers,
            restart_policy: "Always",
            service_account,
            priority_class: None,
            host_network: false,
            tolerate_all: false,
        };
        (template, image_base, minor, patch0)
    }

    pub(super) fn init_deployments(&mut self, now: Timestamp) {
        let (lo, hi) = (
            self.spec.replicas.0.min(self.spec.replicas.1),
            self.spec.replicas.0.max(self.spec.replicas.1),
        );
        let plan = self.replica_plan(lo, hi);
        for di in 0..self.spec.deployments {
            let ns = self.app_namespaces[self.rng.usize(0..self.app_namespaces.len())];
            let name = self.unique_deploy_name(ns);
            let uid = self.uid();
            let ns_name = self.namespaces[ns].name.clone();
            let (mut template, image_base, minor, patch0) = self.app_template(&name, &ns_name);
            let replicas = plan.get(di).copied().unwrap_or_else(|| self.rng.u32(lo..=hi));
            let version = self.rng.u32(0..5);
            let created = self.between(at(self.namespaces[ns].created, 600), at(now, -2 * 86_400));
            let rolled = if version == 0 {
                created
            } else {
                self.between(created, at(now, -3600))
            };
            let generation = i64::from(version) + 1 + self.rng.i64(0..3);
            let labels = pairs(&[
                ("app", &name),
                ("app.kubernetes.io/name", &name),
                ("app.kubernetes.io/part-of", &ns_name),
            ]);
            let selector = pairs(&[("app", &name)]);
            let mut d = DeployRec {
                ns,
                name: name.clone(),
                uid: uid.clone(),
                created,
                labels,
                selector,
                template: template.clone(),
                image_base,
                minor,
                patch0,
                replicas,
                base_replicas: replicas,
                version,
                generation,
                pods: Vec::new(),
                has_hpa: false,
                reconciling: false,
                rolling: false,
                status: DeploymentStatus {
                    observed_generation: generation,
                    replicas: 0,
                    updated: 0,
                    ready: 0,
                    available: 0,
                    replicaset: String::new(),
                    available_ok: true,
                    available_since: at(rolled, 30).min(now),
                    available_updated: at(rolled, 30).min(now),
                    rolling: false,
                    progressing_since: at(created, 5),
                    progressing_updated: at(rolled, 40).min(now),
                },
            };
            template.containers[0].image = d.image(version);
            d.template = template;
            self.deployments.push(d);

            let prefix = format!("{name}-{}", pod_template_hash(&uid, version));
            let has_init = !self.deployments[di].template.init_containers.is_empty();
            for _ in 0..replicas {
                self.init_deploy_pod(di, &prefix, rolled, now, has_init, false);
                if self.rng.u32(0..1000) < 15 {
                    self.init_deploy_pod(di, &prefix, rolled, now, has_init, true);
                }
            }
            let mut s = self.compute_deploy_status(di, now);
            if !s.available_ok {
                s.available_since = at(now, -self.rng.i64(60..=900));
                s.available_updated = s.available_since;
            }
            self.deployments[di].status = s;
        }
    }

    /// Initial replicas per deployment adding up to `spec.deployment_pods`: most deployments
    /// small, a few large (heavy-tailed as in real clusters). Empty without a target.
    fn replica_plan(&mut self, lo: u32, hi: u32) -> Vec<u32> {
        let (n, total) = (self.spec.deployments, self.spec.deployment_pods);
        if total == 0 || n == 0 {
            return Vec::new();
        }
        let mut w: Vec<u32> = (0..n)
            .map(|_| match self.rng.u32(0..100) {
                0..70 => self.rng.u32(lo..=hi),
                70..92 => self.rng.u32(hi + 1..=hi * 3),
                _ => self.rng.u32(hi * 3..=hi * 8),
            })
            .collect();
        let sum: u64 = w.iter().map(|&x| u64::from(x)).sum();
        for x in &mut w {
            *x = ((u64::from(*x) * total as u64 / sum.max(1)) as u32).max(1);
        }
        // Rounding leaves a small difference: spread it one replica at a time.
        let mut have: usize = w.iter().map(|&x| x as usize).sum();
        let mut i = 0;
        while have != total && i < 4 * (n + total) {
            let k = self.rng.usize(0..n);
            if have < total {
                w[k] += 1;
                have += 1;
            } else if w[k] > 1 {
                w[k] -= 1;
                have -= 1;
            }
            i += 1;
        }
        w
    }

    fn init_deploy_pod(
        &mut self,
        di: usize,
        prefix: &str,
        rolled: Timestamp,
        now: Timestamp,
        has_init: bool,
        evicted: bool,
    ) {
        let ns = self.deployments[di].ns;
        let version = self.deployments[di].version;
        let node = self.pick_worker();
        let r = self.rng.u32(0..1000);
        let state = match (node, r) {
            (None, _) => PodState::Unschedulable,
            _ if evicted => PodState::Evicted,
            (_, 0..14) => PodState::Unschedulable,
            (_, 14..25) => PodState::ContainerCreating,
            (_, 25..30) => PodState::ImagePullBackOff,
            (_, 30..36) => PodState::ErrImagePull,
            (_, 36..48) => PodState::CrashLoopBackOff,
            _ => PodState::Running,
        };
        let node = if state == PodState::Unschedulable { None } else { node };
        let base = node.map_or(rolled, |n| rolled.max(self.nodes[n].created));
        let (created, status) = match state {
            PodState::Unschedulable
            | PodState::ContainerCreating
            | PodState::ImagePullBackOff
            | PodState::ErrImagePull => {
                let created = at(now, -self.rng.i64(20..=900));
                let mut s = PodStatus::new(state, created);
                s.started = at(created, 1);
                s.sandbox = at(created, 3);
                s.ready_changed = s.started;
                (created, s)
            }
            PodState::CrashLoopBackOff => {
                let created = self.between(base, at(now, -3600));
                let mut s = self.running_status(created, now, has_init);
                s.state = PodState::CrashLoopBackOff;
                s.ready = false;
                s.restarts = self.rng.u32(3..=60);
                let started = at(now, -self.rng.i64(60..=400));
                let reason = if self.rng.u32(0..100) < 30 {
                    ExitReason::OomKilled
                } else {
                    ExitReason::Error
                };
                s.last_exit = Some(Termination {
                    reason,
                    started,
                    finished: at(started, self.rng.i64(1..=30)),
                });
                s.app_started = started;
                s.ready_changed = self.between(at(created, 60), at(now, -400)).max(s.sandbox);
                (created, s)
            }
            PodState::Evicted => {
                let created = self.between(base, at(now, -7200));
                let mut s = self.running_status(created, now, has_init);
                s.state = PodState::Evicted;
                s.ready = false;
                s.finished = self
                    .between(at(created, 600).min(at(now, -600)), at(now, -600))
                    .max(s.ready_changed);
                s.ready_changed = s.finished;
                (created, s)
            }
            _ => {
                let created = self.between(base, at(now, -300));
                (created, self.running_status(created, now, has_init))
            }
        };
        let name = self.unique_pod_name(ns, prefix);
        let id = self.add_pod(ns, name, Owner::Deploy(di), version, node, created, status);
        if state == PodState::ContainerCreating {
            let serial = self.serial_of(id);
            Self::push_due(&mut self.starting, 0, id, serial);
        }
    }

    pub(super) fn init_hpas(&mut self, now: Timestamp) {
        let mut order: Vec<usize> = (0..self.deployments.len()).collect();
        self.rng.shuffle(&mut order);
        for di in order {
            if self.hpas.len() >= self.spec.hpas {
                break;
            }
            if self.deployments[di].template.containers[0].requests().0.is_none() {
                continue;
            }
            let replicas = self.deployments[di].replicas;
            let min = replicas.saturating_sub(self.rng.u32(0..=1)).max(1);
            let max = replicas + self.rng.u32(2..=8);
            let target = [60, 70, 75, 80][self.rng.usize(0..4)];
            let created = self.between(at(self.deployments[di].created, 60), at(now, -3600));
            let (utilization, limited, limited_since) = if replicas == min && self.rng.u32(0..100) < 15 {
                (
                    target * self.rng.u32(30..60) / 100,
                    Some("TooFewReplicas"),
                    self.between(created, at(now, -60)),
                )
            } else {
                (
                    target - target / 12 + self.rng.u32(0..=target / 6),
                    None,
                    at(created, 30),
                )
            };
            let last_scale = (self.rng.u32(0..100) < 60).then(|| self.between(created, at(now, -600)));
            let uid = self.uid();
            self.hpas.push(HpaRec {
                deploy: di,
                uid,
                created,
                min,
                max,
                target,
                utilization,
                measured_replicas: replicas,
                current: self.deployments[di].status.replicas,
                desired: replicas,
                last_scale,
                rescaled: false,
                able_since: at(created, 15),
                active_since: at(created, 30),
                limited,
                limited_since,
            });
            self.deployments[di].has_hpa = true;
        }
    }

    pub(super) fn init_jobs(&mut self, now: Timestamp) {
        if self.app_namespaces.is_empty() {
            return;
        }
        let mut finished = Vec::new();
        for _ in 0..self.spec.jobs {
            let ns = self.app_namespaces[self.rng.usize(0..self.app_namespaces.len())];
            let kind = self.rng.usize(0..self.job_kinds.len());
            let r = self.rng.u32(0..100);
            let node = self.pick_worker();
            match r {
                0..80 => {
                    let created = at(now, -self.rng.i64(600..=3 * 86_400));
                    let backoff = [6, 6, 4, 3, 2][self.rng.usize(0..5)];
                    let j = self.add_job(ns, kind, created, backoff);
                    let start = at(created, 1);
                    let done = at(start, self.rng.i64(20..=1800)).min(at(now, -5));
                    let mut s = PodStatus::new(PodState::Succeeded, start);
                    s.ready = false;
                    s.started = at(start, 1);
                    s.sandbox = at(start, 2);
                    s.app_started = at(start, 3);
                    s.finished = done.max(s.app_started);
                    s.ready_changed = s.finished;
                    let (pns, prefix) = self.job_pod_prefix(j);
                    let name = self.unique_pod_name(pns, &prefix);
                    let state = if node.is_some() {
                        s
                    } else {
                        PodStatus::new(PodState::Unschedulable, start)
                    };
                    self.add_pod(ns, name, Owner::Job(j), 0, node, start, state);
                    if node.is_some() {
                        self.jobs[j].as_mut().expect("job").outcome = JobOutcome::Complete(s.finished);
                        finished.push((s.finished, j));
                    } else {
                        self.active_jobs.push(j);
                    }
                }
                80..90 => {
                    let creating = self.rng.u32(0..100) < 15;
                    let created = at(
                        now,
                        if creating {
                            -self.rng.i64(2..=30)
                        } else {
                            -self.rng.i64(60..=1800)
                        },
                    );
                    let backoff = [6, 6, 4, 3, 2][self.rng.usize(0..5)];
                    let j = self.add_job(ns, kind, created, backoff);
                    let start = at(created, 1);
                    let state = match node {
                        None => PodState::Unschedulable,
                        Some(_) if creating => PodState::ContainerCreating,
                        Some(_) => PodState::Running,
                    };
                    let mut s = if state == PodState::Running {
                        self.running_status(start, now, false)
                    } else {
                        PodStatus::new(state, start)
                    };
                    s.restarts = 0;
                    s.last_exit = None;
                    let (pns, prefix) = self.job_pod_prefix(j);
                    let name = self.unique_pod_name(pns, &prefix);
                    let id = self.add_pod(ns, name, Owner::Job(j), 0, node, start, s);
                    if state == PodState::ContainerCreating {
                        let serial = self.serial_of(id);
                        Self::push_due(&mut self.starting, 0, id, serial);
                    }
                    self.active_jobs.push(j);
                }
                _ => {
                    let created = at(now, -self.rng.i64(1800..=2 * 86_400));
                    let backoff = self.rng.u32(0..=1);
                    let j = self.add_job(ns, kind, created, backoff);
                    let mut t = at(created, 1);
                    for k in 0..=backoff {
                        let Some(n) = node else { break };
                        let reason = if self.rng.u32(0..100) < 30 {
                            ExitReason::OomKilled
                        } else {
                            ExitReason::Error
                        };
                        let mut s = PodStatus::new(PodState::Failed(reason), t);
                        s.ready = false;
                        s.started = at(t, 1);
                        s.sandbox = at(t, 2);
                        s.app_started = at(t, 3);
                        s.finished = at(t, 3 + self.rng.i64(5..=120));
                        s.ready_changed = s.finished;
                        let (pns, prefix) = self.job_pod_prefix(j);
                        let name = self.unique_pod_name(pns, &prefix);
                        self.add_pod(ns, name, Owner::Job(j), 0, Some(n), t, s);
                        t = at(s.finished, 10 << k);
                    }
                    if node.is_some() {
                        let failed_at = at(t, -9).min(now);
                        self.jobs[j].as_mut().expect("job").outcome = JobOutcome::Failed(failed_at);
                        finished.push((failed_at, j));
                    } else {
                        let (pns, prefix) = self.job_pod_prefix(j);
                        let name = self.unique_pod_name(pns, &prefix);
                        self.add_pod(
                            ns,
                            name,
                            Owner::Job(j),
                            0,
                            None,
                            t,
                            PodStatus::new(PodState::Unschedulable, t),
                        );
                        self.active_jobs.push(j);
                    }
                }
            }
            let j = self.jobs.len() - 1;
            let counts = self.job_counts(j);
            let job = self.jobs[j].as_mut().expect("job");
            job.published = (counts, job.outcome);
        }
        finished.sort();
        self.finished_jobs = finished.into_iter().map(|(_, j)| j).collect();
        self.finished_target = self.finished_jobs.len().max(1);
        self.active_target = self.active_jobs.len().max(2);
    }
}
