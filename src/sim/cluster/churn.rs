//! The churn of a generated cluster: work due from earlier ticks, then random kubelet, job,
//! rollout, scaling, HPA and node events, each reported as the API operations it causes.

use std::cmp::Reverse;
use std::collections::VecDeque;

use fastrand::Rng;
use jiff::Timestamp;
use serde_json::json;

use super::util::at;
use super::{ClusterModel, Due, ExitReason, JobOutcome, KIND_JOB, Op, Owner, PodRec, PodState, PodStatus, Termination};

fn pop_due(queue: &mut VecDeque<Due>, tick: u64) -> Option<Due> {
    if queue.front().is_some_and(|d| d.tick < tick) {
        queue.pop_front()
    } else {
        None
    }
}

fn restart_app(s: &mut PodStatus, now: Timestamp, rng: &mut Rng) {
    let reason = if rng.u32(0..100) < 40 {
        ExitReason::OomKilled
    } else {
        ExitReason::Error
    };
    let finished = at(now, -1).max(s.app_started);
    s.last_exit = Some(Termination {
        reason,
        started: s.app_started,
        finished,
    });
    s.restarts += 1;
    s.app_started = now;
}

impl ClusterModel {
    /// One churn tick: about `events` operations. Work started on an earlier tick is finished
    /// first, with up to half of the budget: ContainerCreating pods start (Running/Ready, rarely
    /// ImagePullBackOff), readiness comes back, terminating pods are deleted, rollouts and scalings
    /// advance one pod per deployment (surge a new pod, then retire an old one with
    /// `deletionTimestamp` and a Delete on a later tick), unreachable nodes recover. The rest is
    /// random: kubelet-side pod changes (~65%: readiness blips, restarts with OOMKilled/Error
    /// `lastState`, CrashLoopBackOff in and out, image-pull back-offs, evictions with a
    /// replacement pod, cleanup of evicted pods, scheduling of unschedulable pods), jobs (~12%:
    /// completion or failure/retry, new jobs, deletion of the oldest finished ones), rollouts (~5%,
    /// a Replace of the deployment), manual scaling (~2%), HPA syncs (~10%, scaling their
    /// deployment), node Ready flaps (~0.3%), ConfigMap/Secret data updates (~0.8%), RoleBinding
    /// subject changes, Ingresses added or removed and StatefulSets scaled (~0.1% each). Deployment, DaemonSet and Job
    /// status patches follow every pod change that alters them.
    pub fn churn(&mut self, now: Timestamp, events: usize) -> Vec<Op> {
        let now = at(now, 0);
        self.tick += 1;
        let mut ops = Vec::with_capacity(events + 8);
        if events == 0 {
            return ops;
        }
        // Time-driven changes come on top of the `events` budget, as in a real cluster where
        // kubelets renew their leases whatever the workloads do.
        let mut timed = Vec::new();
        self.churn_timed(now, &mut timed);
        let budget = (events + (self.tick % 2) as usize) / 2;
        self.drain(now, budget, &mut ops);
        let mut attempts = 0;
        while ops.len() < events && attempts < events * 8 + 16 {
            attempts += 1;
            self.random_event(now, &mut ops);
        }
        self.churn_settle(now, &mut ops);
        timed.append(&mut ops);
        timed
    }

    fn drain(&mut self, now: Timestamp, budget: usize, ops: &mut Vec<Op>) {
        while ops.len() < budget
            && let Some(&Reverse((due, serial, id))) = self.terminating.peek()
            && due <= now
        {
            self.terminating.pop();
            let d = Due { tick: 0, id, serial };
            if self.valid(d) {
                let owner = self.owner_of(d.id);
                self.delete_pod(d.id, ops);
                if let Owner::Sts(i) = owner {
                    self.on_sts_pod_deleted(i, now, ops);
                }
                self.sync_owner(owner, now, ops);
            }
        }
        while ops.len() < budget
            && let Some(d) = pop_due(&mut self.starting, self.tick)
        {
            if self.valid(d) {
                self.start_pod(d.id, now, ops);
            }
        }
        while ops.len() < budget
            && let Some(d) = pop_due(&mut self.unready, self.tick)
        {
            if self.valid(d) {
                let p = self.pods[d.id].as_ref().expect("live pod");
                if p.deletion.is_none() && p.status.state == PodState::Running && !p.status.ready {
                    self.update_pod(d.id, ops, |p, _| {
                        p.status.ready = true;
                        p.status.ready_changed = now;
                    });
                    let owner = self.owner_of(d.id);
                    self.sync_owner(owner, now, ops);
                }
            }
        }
        while ops.len() < budget
            && self.node_recovery.front().is_some_and(|&(t, _)| t < self.tick)
            && let Some((_, n)) = self.node_recovery.pop_front()
        {
            let before = self.node_json(n);
            let r = &mut self.nodes[n];
            r.unreachable = false;
            r.ready_since = now;
            r.heartbeat = now;
            let after = self.node_json(n);
            Self::push_patch(ops, "nodes", None, &self.nodes[n].name.clone(), &before, &after);
        }
        for _ in 0..self.reconciling.len() {
            if ops.len() >= budget {
                break;
            }
            let Some(di) = self.reconciling.pop_front() else { break };
            if self.reconcile_step(di, now, ops) {
                self.reconciling.push_back(di);
            } else {
                self.deployments[di].reconciling = false;
            }
        }
    }

    fn enqueue_reconcile(&mut self, di: usize) {
        if !self.deployments[di].reconciling {
            self.deployments[di].reconciling = true;
            self.reconciling.push_back(di);
        }
    }

    /// One step of the deployment controller: surge one new pod, retire one old pod, or scale by
    /// one. Returns whether there is more to do.
    fn reconcile_step(&mut self, di: usize, now: Timestamp, ops: &mut Vec<Op>) -> bool {
        let d = &self.deployments[di];
        let mut active = Vec::new();
        let mut old = Vec::new();
        for &id in &d.pods {
            let p = self.pods[id].as_ref().expect("deployment pod");
            if !p.active() {
                continue;
            }
            if p.status.state == PodState::ContainerCreating {
                return true;
            }
            active.push(id);
            if p.version != d.version {
                old.push(id);
            }
        }
        let replicas = d.replicas as usize;
        // Least valuable first: not ready, then newest.
        let victim = |ids: &[usize]| {
            ids.iter()
                .copied()
                .min_by_key(|&id| {
                    let p = self.pods[id].as_ref().expect("pod");
                    (p.status.is_ready(), std::cmp::Reverse(p.created), p.serial)
                })
                .expect("non-empty")
        };
        if !old.is_empty() {
            if active.len() > replicas {
                let v = victim(&old);
                self.terminate_pod(v, now, ops);
            } else {
                self.create_deploy_pod(di, now, ops);
            }
        } else if active.len() < replicas {
            self.create_deploy_pod(di, now, ops);
        } else if active.len() > replicas {
            let v = victim(&active);
            self.terminate_pod(v, now, ops);
        } else {
            self.deployments[di].rolling = false;
            self.sync_deploy(di, now, ops);
            return false;
        }
        self.sync_deploy(di, now, ops);
        true
    }

    fn random_event(&mut self, now: Timestamp, ops: &mut Vec<Op>) {
        match self.rng.u32(0..1000) {
            0..620 => self.pod_event(now, ops),
            620..740 => self.job_event(now, ops),
            740..790 => self.rollout_event(now, ops),
            790..810 => self.scale_event(now, ops),
            810..910 => self.hpa_event(now, ops),
            910..913 => self.node_event(now, ops),
            913..921 => self.config_event(now, ops),
            921..922 => self.rbac_event(now, ops),
            922..923 => self.ingress_event(now, ops),
            923..924 => self.sts_scale_event(now, ops),
            _ => self.pod_event(now, ops),
        }
    }

    /// A random live pod matching `f` (rejection sampling, then a scan).
    fn pick_pod(&mut self, f: impl Fn(&PodRec) -> bool) -> Option<usize> {
        let n = self.pods.len();
        if n == 0 || self.live_pods == 0 {
            return None;
        }
        for _ in 0..64 {
            let i = self.rng.usize(0..n);
            if self.pods[i].as_ref().is_some_and(&f) {
                return Some(i);
            }
        }
        let start = self.rng.usize(0..n);
        (0..n)
            .map(|k| (start + k) % n)
            .find(|&i| self.pods[i].as_ref().is_some_and(&f))
    }

    /// Kubelet-side change of a deployment or daemonset pod, by state.
    fn pod_event(&mut self, now: Timestamp, ops: &mut Vec<Op>) {
        let Some(id) = self.pick_pod(|p| p.deletion.is_none() && !matches!(p.owner, Owner::Job(_))) else {
            return;
        };
        let p = self.pods[id].as_ref().expect("picked pod");
        let (state, ready, owner) = (p.status.state, p.status.ready, p.owner);
        let is_deploy = matches!(owner, Owner::Deploy(_));
        match state {
            PodState::Unschedulable => {
                if self.rng.bool() {
                    return; // still no room
                }
                let Some(node) = self.pick_worker() else { return };
                let ip = self.alloc_ip(node);
                self.update_pod(id, ops, |p, _| {
                    p.node = Some(node);
                    p.ip = ip;
                    p.status.state = PodState::ContainerCreating;
                    p.status.scheduled = now;
                    p.status.started = now;
                    p.status.ready_changed = now;
                });
                let serial = self.serial_of(id);
                Self::push_due(&mut self.starting, self.tick, id, serial);
            }
            PodState::ContainerCreating => return,
            PodState::ImagePullBackOff | PodState::ErrImagePull => {
                let recover = self.rng.u32(0..100) < 30;
                self.update_pod(id, ops, |p, _| {
                    let s = &mut p.status;
                    if recover {
                        s.state = PodState::Running;
                        s.ready = true;
                        s.app_started = now;
                        s.ready_changed = now;
                    } else if s.state == PodState::ImagePullBackOff {
                        s.state = PodState::ErrImagePull;
                    } else {
                        s.state = PodState::ImagePullBackOff;
                    }
                });
            }
            PodState::Running if !ready => {
                self.update_pod(id, ops, |p, _| {
                    p.status.ready = true;
                    p.status.ready_changed = now;
                });
            }
            PodState::Running => {
                let r = self.rng.u32(0..1000);
                if r < 480 {
                    // Readiness probe fails for a moment; back on a later tick.
                    self.update_pod(id, ops, |p, _| {
                        p.status.ready = false;
                        p.status.ready_changed = now;
                    });
                    let serial = self.serial_of(id);
                    Self::push_due(&mut self.unready, self.tick, id, serial);
                } else if r < 982 || !is_deploy {
                    self.update_pod(id, ops, |p, rng| restart_app(&mut p.status, now, rng));
                } else if r < 987 {
                    self.update_pod(id, ops, |p, rng| {
                        restart_app(&mut p.status, now, rng);
                        p.status.state = PodState::CrashLoopBackOff;
                        p.status.ready = false;
                        p.status.ready_changed = now;
                    });
                } else {
                    self.update_pod(id, ops, |p, _| {
                        p.status.state = PodState::Evicted;
                        p.status.ready = false;
                        p.status.finished = now;
                        p.status.ready_changed = now;
                    });
                    if let Owner::Deploy(di) = owner {
                        self.create_deploy_pod(di, now, ops);
                    }
                }
            }
            PodState::CrashLoopBackOff => {
                let recover = self.rng.u32(0..100) < 45;
                self.update_pod(id, ops, |p, rng| {
                    let s = &mut p.status;
                    if recover {
                        s.restarts += 1;
                        s.app_started = now;
                        s.state = PodState::Running;
                        s.ready = true;
                        s.ready_changed = now;
                    } else {
                        let reason = if rng.u32(0..100) < 30 {
                            ExitReason::OomKilled
                        } else {
                            ExitReason::Error
                        };
                        let started = at(now, -rng.i64(1..=30));
                        s.last_exit = Some(Termination {
                            reason,
                            started,
                            finished: now,
                        });
                        s.restarts += 1;
                        s.app_started = started;
                    }
                });
            }
            PodState::Succeeded | PodState::Failed(_) | PodState::Evicted => {
                if !is_deploy {
                    return;
                }
                self.delete_pod(id, ops);
            }
        }
        self.sync_owner(owner, now, ops);
    }

    fn job_event(&mut self, now: Timestamp, ops: &mut Vec<Op>) {
        if self.app_namespaces.is_empty() {
            return;
        }
        if self.rng.u32(0..100) < 50 && !self.active_jobs.is_empty() {
            self.finish_job(now, ops);
        } else if self.active_jobs.len() < self.active_target * 2 {
            self.start_job(now, ops);
        }
    }

    /// The running pod of a random active job ends; the job completes, retries or fails.
    fn finish_job(&mut self, now: Timestamp, ops: &mut Vec<Op>) {
        let k = self.rng.usize(0..self.active_jobs.len());
        let j = self.active_jobs[k];
        let job = self.jobs[j].as_ref().expect("active job");
        let Some(pid) = job
            .pods
            .iter()
            .copied()
            .find(|&id| self.pods[id].as_ref().is_some_and(PodRec::active))
        else {
            return;
        };
        if self.pods[pid].as_ref().expect("job pod").status.state != PodState::Running {
            return;
        }
        let success = self.rng.u32(0..100) < 85;
        let reason = if self.rng.u32(0..100) < 30 {
            ExitReason::OomKilled
        } else {
            ExitReason::Error
        };
        self.update_pod(pid, ops, |p, _| {
            let s = &mut p.status;
            s.state = if success {
                PodState::Succeeded
            } else {
                PodState::Failed(reason)
            };
            s.ready = false;
            s.finished = now;
            s.ready_changed = now;
        });
        let failed = self.job_counts(j).failed;
        let job = self.jobs[j].as_mut().expect("active job");
        if success || failed > job.backoff_limit {
            job.outcome = if success {
                JobOutcome::Complete(now)
            } else {
                JobOutcome::Failed(now)
            };
            self.active_jobs.swap_remove(k);
            self.finished_jobs.push_back(j);
            self.sync_job(j, ops);
            self.on_job_finished(j, now, ops);
            return;
        } else {
            self.create_job_pod(j, now, ops);
        }
        self.sync_job(j, ops);
    }

    /// A one-off job (CronJobs start theirs on schedule, see `extras.rs`).
    fn start_job(&mut self, now: Timestamp, ops: &mut Vec<Op>) {
        let ns = self.app_namespaces[self.rng.usize(0..self.app_namespaces.len())];
        let kind = self.rng.usize(0..self.job_kinds.len());
        // A kind some CronJob of the namespace runs is left to its schedule.
        let cron = self.x.cronjobs.iter().position(|c| c.kind == kind && c.ns == ns);
        if cron.is_some() {
            return;
        }
        self.spawn_job(ns, kind, None, now, ops);
    }

    /// A new job and its pod; the oldest finished job goes when there are many.
    pub(super) fn spawn_job(&mut self, ns: usize, kind: usize, cron: Option<usize>, now: Timestamp, ops: &mut Vec<Op>) {
        let backoff = [6, 6, 4, 3, 2, 1, 0][self.rng.usize(0..7)];
        let j = self.add_job(ns, kind, now, backoff);
        let job = self.jobs[j].as_mut().expect("new job");
        job.start = now;
        job.cron = cron;
        ops.push(Op::Create(self.job_json(j)));
        self.create_job_pod(j, now, ops);
        self.sync_job(j, ops);
        self.active_jobs.push(j);
        if self.finished_jobs.len() > self.finished_target
            && let Some(old) = self.finished_jobs.pop_front()
        {
            self.delete_job(old, ops);
        }
    }

    /// Deletes a finished job; its pods go with it (background propagation).
    fn delete_job(&mut self, j: usize, ops: &mut Vec<Op>) {
        let Some(job) = self.jobs[j].take() else { return };
        self.free_jobs.push(j);
        self.names.remove(&(KIND_JOB, job.ns, job.name.clone()));
        let ns = self.namespaces[job.ns].name.clone();
        ops.push(Op::Delete {
            resource: "jobs",
            namespace: Some(ns),
            name: job.name,
        });
        for id in job.pods {
            if self.pods[id].is_some() {
                self.delete_pod(id, ops);
            }
        }
    }

    /// A new template revision (image bump), rolled out over the following ticks.
    fn rollout_event(&mut self, now: Timestamp, ops: &mut Vec<Op>) {
        if self.deployments.is_empty() || self.reconciling.len() >= (self.deployments.len() / 10).max(2) {
            return;
        }
        let di = self.rng.usize(0..self.deployments.len());
        if self.deployments[di].reconciling {
            return;
        }
        let d = &mut self.deployments[di];
        d.version += 1;
        d.generation += 1;
        d.rolling = true;
        let image = d.image(d.version);
        d.template.containers[0].image = image;
        self.deployments[di].status = self.compute_deploy_status(di, now);
        ops.push(Op::Replace(self.deploy_json(di)));
        self.on_rollout(di, now, ops);
        self.enqueue_reconcile(di);
    }

    fn scale_deploy(&mut self, di: usize, replicas: u32, now: Timestamp, ops: &mut Vec<Op>) {
        let before = self.deploy_json(di);
        let d = &mut self.deployments[di];
        d.replicas = replicas;
        d.generation += 1;
        self.deployments[di].status = self.compute_deploy_status(di, now);
        let after = self.deploy_json(di);
        let d = &self.deployments[di];
        Self::push_patch(
            ops,
            "deployments",
            Some(&self.namespaces[d.ns].name),
            &d.name,
            &before,
            &after,
        );
        self.enqueue_reconcile(di);
    }

    /// `kubectl scale` of a deployment without an HPA, by one.
    fn scale_event(&mut self, now: Timestamp, ops: &mut Vec<Op>) {
        if self.deployments.is_empty() {
            return;
        }
        let di = self.rng.usize(0..self.deployments.len());
        let d = &self.deployments[di];
        if d.has_hpa || d.reconciling {
            return;
        }
        let (cur, base) = (d.replicas, d.base_replicas);
        let new = if cur < base || (cur == base && (cur <= 1 || self.rng.bool())) {
            cur + 1
        } else {
            cur - 1
        };
        self.scale_deploy(di, new, now, ops);
    }

    /// An HPA sync: CPU utilization drifts, the desired count follows, the deployment is scaled.
    fn hpa_event(&mut self, now: Timestamp, ops: &mut Vec<Op>) {
        if self.hpas.is_empty() {
            return;
        }
        let hi = self.rng.usize(0..self.hpas.len());
        let before = self.hpa_json(hi);
        let di = self.hpas[hi].deploy;
        let (spec_replicas, current) = (self.deployments[di].replicas, self.deployments[di].status.replicas);
        let noise = self.rng.i32(-10..=10);
        let h = &mut self.hpas[hi];
        // The same load over the current replicas, drifting back towards the target.
        let base = (h.utilization * h.measured_replicas / spec_replicas.max(1)) as i32;
        let drift = (h.target as i32 - base) / 4;
        h.utilization = (base + drift + noise).clamp(5, 250) as u32;
        h.measured_replicas = spec_replicas;
        let ratio = f64::from(h.utilization) / f64::from(h.target);
        let raw = if (ratio - 1.0).abs() <= 0.1 {
            spec_replicas
        } else {
            (f64::from(spec_replicas) * ratio).ceil() as u32
        };
        let desired = raw.clamp(h.min, h.max);
        let limited = if raw > h.max {
            Some("TooManyReplicas")
        } else if raw < h.min {
            Some("TooFewReplicas")
        } else {
            None
        };
        if limited != h.limited {
            h.limited = limited;
            h.limited_since = now;
        }
        let rescale = desired != spec_replicas;
        if rescale != h.rescaled {
            h.rescaled = rescale;
            h.able_since = now;
        }
        if rescale {
            h.last_scale = Some(now);
        }
        h.desired = desired;
        h.current = current;
        let after = self.hpa_json(hi);
        let d = &self.deployments[di];
        Self::push_patch(
            ops,
            "horizontalpodautoscalers",
            Some(&self.namespaces[d.ns].name),
            &d.name,
            &before,
            &after,
        );
        if rescale {
            self.scale_deploy(di, desired, now, ops);
        }
    }

    /// A node stops reporting (Ready Unknown, unreachable taints); it is back on a later tick.
    fn node_event(&mut self, now: Timestamp, ops: &mut Vec<Op>) {
        if self.nodes.is_empty() {
            return;
        }
        let n = self.rng.usize(0..self.nodes.len());
        if self.nodes[n].unreachable {
            return;
        }
        let before = self.node_json(n);
        self.nodes[n].unreachable = true;
        self.nodes[n].ready_since = now;
        let after = self.node_json(n);
        Self::push_patch(ops, "nodes", None, &self.nodes[n].name.clone(), &before, &after);
        self.node_recovery.push_back((self.tick, n));
    }

    /// A status-only update of one existing running pod (restart count bump or readiness toggle),
    /// for event-throughput benchmarks. Owner statuses are not touched (a later churn catches up).
    ///
    /// # Panics
    /// If the cluster has no pods.
    pub fn pod_status_update(&mut self, now: Timestamp) -> Op {
        let now = at(now, 0);
        let id = self
            .pick_pod(|p| {
                p.deletion.is_none() && p.status.state == PodState::Running && !matches!(p.owner, Owner::Job(_))
            })
            .or_else(|| self.pick_pod(|_| true))
            .expect("pod_status_update: the cluster has no pods");
        let p = self.pods[id].as_ref().expect("picked pod");
        let toggle = p.status.state == PodState::Running && (!p.status.ready || self.rng.u32(0..100) < 25);
        let op = self.pod_status_op(id, |p, rng| {
            if toggle {
                p.status.ready = !p.status.ready;
                p.status.ready_changed = now;
            } else {
                restart_app(&mut p.status, now, rng);
            }
        });
        op.unwrap_or_else(|| {
            // Only without running pods: a pod without container statuses; an idempotent patch.
            let p = self.pods[id].as_ref().expect("picked pod");
            Op::Patch {
                resource: "pods",
                namespace: Some(self.namespaces[p.ns].name.clone()),
                name: p.name.clone(),
                patch: json!({"status": {"phase": p.status.state.phase()}}),
            }
        })
    }
}
