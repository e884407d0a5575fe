//! What the controllers and the kubelet do in response to a change: workload status recomputed
//! from the pods and written as merge patches, pods created, started, terminated and deleted.

use std::cmp::Reverse;

use fastrand::Rng;
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::util::{at, merge_diff, pod_template_hash, ts};
use super::{ClusterModel, DeploymentStatus, JobCounts, KIND_POD, Op, Owner, PodRec, PodState, PodStatus};

impl ClusterModel {
    pub(super) fn ds_counts(&self, i: usize) -> (u32, u32, u32) {
        let ds = &self.daemonsets[i];
        let (mut current, mut ready) = (0, 0);
        for &id in &ds.pods {
            let p = self.pods[id].as_ref().expect("ds pod");
            if p.active() {
                current += 1;
                if p.status.is_ready() {
                    ready += 1;
                }
            }
        }
        (self.nodes.len() as u32, current, ready)
    }

    pub(super) fn job_counts(&self, j: usize) -> JobCounts {
        let job = self.jobs[j].as_ref().expect("live job");
        let mut c = JobCounts::default();
        for &id in &job.pods {
            let p = self.pods[id].as_ref().expect("job pod");
            match p.status.state {
                PodState::Succeeded => c.succeeded += 1,
                PodState::Failed(_) | PodState::Evicted => c.failed += 1,
                _ if p.deletion.is_none() => {
                    c.active += 1;
                    if p.status.is_ready() {
                        c.ready += 1;
                    }
                }
                _ => {}
            }
        }
        c
    }

    /// The deployment status the controller would write now.
    pub(super) fn compute_deploy_status(&self, di: usize, now: Timestamp) -> DeploymentStatus {
        let d = &self.deployments[di];
        let (mut replicas, mut updated, mut ready) = (0, 0, 0);
        for &id in &d.pods {
            let p = self.pods[id].as_ref().expect("deployment pod");
            if !p.active() {
                continue;
            }
            replicas += 1;
            if p.version == d.version {
                updated += 1;
            }
            if p.status.is_ready() {
                ready += 1;
            }
        }
        let mut s = d.status.clone();
        s.observed_generation = d.generation;
        s.replicaset = format!("{}-{}", d.name, pod_template_hash(&d.uid, d.version));
        let available_ok = ready + d.replicas / 4 >= d.replicas;
        if available_ok != s.available_ok {
            s.available_ok = available_ok;
            s.available_since = now;
            s.available_updated = now;
        }
        let counts_changed = (replicas, updated, ready) != (s.replicas, s.updated, s.ready);
        if s.rolling != d.rolling || (d.rolling && counts_changed) {
            s.progressing_updated = now;
        }
        s.rolling = d.rolling;
        s.replicas = replicas;
        s.updated = updated;
        s.ready = ready;
        s.available = ready;
        s
    }

    pub(super) fn push_patch(
        ops: &mut Vec<Op>,
        resource: &'static str,
        namespace: Option<&str>,
        name: &str,
        before: &Value,
        after: &Value,
    ) {
        if let Some(patch) = merge_diff(before, after) {
            ops.push(Op::Patch {
                resource,
                namespace: namespace.map(str::to_string),
                name: name.to_string(),
                patch,
            });
        }
    }

    pub(super) fn sync_deploy(&mut self, di: usize, now: Timestamp, ops: &mut Vec<Op>) {
        self.sync_deploy_children(di, now, ops);
        let s = self.compute_deploy_status(di, now);
        if s == self.deployments[di].status {
            return;
        }
        let before = self.deploy_json(di);
        self.deployments[di].status = s;
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
    }

    fn sync_ds(&mut self, i: usize, ops: &mut Vec<Op>) {
        let counts = self.ds_counts(i);
        if counts == self.daemonsets[i].published {
            return;
        }
        let before = self.ds_json(i);
        self.daemonsets[i].published = counts;
        let after = self.ds_json(i);
        let ds = &self.daemonsets[i];
        Self::push_patch(
            ops,
            "daemonsets",
            Some(&self.namespaces[ds.ns].name),
            &ds.name,
            &before,
            &after,
        );
    }

    pub(super) fn sync_job(&mut self, j: usize, ops: &mut Vec<Op>) {
        if self.jobs.get(j).is_none_or(Option::is_none) {
            return;
        }
        let counts = self.job_counts(j);
        let job = self.jobs[j].as_ref().expect("live job");
        if (counts, job.outcome) == job.published {
            return;
        }
        let before = self.job_json(j);
        let job = self.jobs[j].as_mut().expect("live job");
        job.published = (counts, job.outcome);
        let after = self.job_json(j);
        let job = self.jobs[j].as_ref().expect("live job");
        Self::push_patch(
            ops,
            "jobs",
            Some(&self.namespaces[job.ns].name),
            &job.name,
            &before,
            &after,
        );
    }

    pub(super) fn sync_owner(&mut self, owner: Owner, now: Timestamp, ops: &mut Vec<Op>) {
        match owner {
            Owner::Deploy(di) => self.sync_deploy(di, now, ops),
            Owner::Ds(i) => self.sync_ds(i, ops),
            Owner::Job(j) => self.sync_job(j, ops),
            Owner::Sts(i) => self.sync_sts(i, now, ops),
        }
    }

    // ----- pod operations -------------------------------------------------------------------

    /// Changes a pod's status (and possibly its node) with `f` and reports the merge patch (owner
    /// status not synced).
    pub(super) fn update_pod(&mut self, id: usize, ops: &mut Vec<Op>, f: impl FnOnce(&mut PodRec, &mut Rng)) {
        if let Some(op) = self.pod_status_op(id, f) {
            ops.push(op);
        }
    }

    /// The merge patch for a status (and node) change made by `f`; None if nothing changed.
    pub(super) fn pod_status_op(&mut self, id: usize, f: impl FnOnce(&mut PodRec, &mut Rng)) -> Option<Op> {
        let before = self.pod_json(id);
        let node_before = self.pods[id].as_ref().expect("live pod").node;
        f(self.pods[id].as_mut().expect("live pod"), &mut self.rng);
        let after = self.pod_json(id);
        let p = self.pods[id].as_ref().expect("live pod");
        self.x.dirty_ns.insert(p.ns);
        let mut patch = Map::new();
        if p.node != node_before {
            let node = p.node.map(|n| self.nodes[n].name.clone());
            patch.insert("spec".into(), json!({"nodeName": node}));
        }
        if let Some(d) = merge_diff(&before["status"], &after["status"]) {
            patch.insert("status".into(), d);
        }
        // The sim's store applies patches as given, so the server's bookkeeping of who wrote
        // the status travels with it.
        let managed = &after["metadata"]["managedFields"];
        if before["metadata"]["managedFields"] != *managed {
            patch.insert("metadata".into(), json!({"managedFields": managed}));
        }
        (!patch.is_empty()).then(|| Op::Patch {
            resource: "pods",
            namespace: Some(self.namespaces[p.ns].name.clone()),
            name: p.name.clone(),
            patch: Value::Object(patch),
        })
    }

    pub(super) fn owner_of(&self, id: usize) -> Owner {
        self.pods[id].as_ref().expect("live pod").owner
    }

    /// Removes a pod and reports its deletion (owner status not synced).
    pub(super) fn delete_pod(&mut self, id: usize, ops: &mut Vec<Op>) {
        let p = self.pods[id].take().expect("live pod");
        self.free_pods.push(id);
        self.live_pods -= 1;
        self.names.remove(&(KIND_POD, p.ns, p.name.clone()));
        let list = match p.owner {
            Owner::Deploy(d) => Some(&mut self.deployments[d].pods),
            Owner::Ds(d) => Some(&mut self.daemonsets[d].pods),
            Owner::Job(j) => self.jobs[j].as_mut().map(|job| &mut job.pods),
            Owner::Sts(i) => Some(&mut self.x.sts[i].pods),
        };
        self.x.dirty_ns.insert(p.ns);
        if let Some(list) = list
            && let Some(pos) = list.iter().position(|&x| x == id)
        {
            // StatefulSet pods are listed by ordinal; the others in no order.
            if matches!(p.owner, Owner::Sts(_)) {
                list.remove(pos);
            } else {
                list.swap_remove(pos);
            }
        }
        ops.push(Op::Delete {
            resource: "pods",
            namespace: Some(self.namespaces[p.ns].name.clone()),
            name: p.name,
        });
    }

    /// Graceful deletion: `deletionTimestamp` (now + the 30 s grace period) at once, the kubelet's
    /// final Delete once the containers have stopped, 2–30 s of model time later. Pods that never
    /// ran or already finished go at once.
    pub(super) fn terminate_pod(&mut self, id: usize, now: Timestamp, ops: &mut Vec<Op>) {
        let p = self.pods[id].as_mut().expect("live pod");
        if p.node.is_none() || p.status.state.is_terminal() {
            self.delete_pod(id, ops);
            return;
        }
        let deletion = at(now, 30);
        p.deletion = Some(deletion);
        let serial = p.serial;
        let (ns, name) = (self.namespaces[p.ns].name.clone(), p.name.clone());
        ops.push(Op::Patch {
            resource: "pods",
            namespace: Some(ns),
            name,
            patch: json!({"metadata": {"deletionTimestamp": ts(deletion), "deletionGracePeriodSeconds": 30}}),
        });
        // Most apps exit on SIGTERM within seconds; some use the whole grace period.
        let stopped = if self.rng.u32(0..100) < 70 {
            self.rng.i64(2..=8)
        } else {
            self.rng.i64(9..=30)
        };
        self.terminating.push(Reverse((at(now, stopped), serial, id)));
    }

    /// A new pod of the deployment's current revision (ContainerCreating; rarely unschedulable).
    pub(super) fn create_deploy_pod(&mut self, di: usize, now: Timestamp, ops: &mut Vec<Op>) {
        let d = &self.deployments[di];
        let (ns, version) = (d.ns, d.version);
        let prefix = format!("{}-{}", d.name, pod_template_hash(&d.uid, version));
        let name = self.unique_pod_name(ns, &prefix);
        let node = if self.rng.u32(0..100) == 0 {
            None
        } else {
            self.pick_worker()
        };
        let state = if node.is_some() {
            PodState::ContainerCreating
        } else {
            PodState::Unschedulable
        };
        let id = self.add_pod(
            ns,
            name,
            Owner::Deploy(di),
            version,
            node,
            now,
            PodStatus::new(state, now),
        );
        ops.push(Op::Create(self.pod_json(id)));
        if node.is_some() {
            let serial = self.serial_of(id);
            Self::push_due(&mut self.starting, self.tick, id, serial);
        }
    }

    pub(super) fn create_job_pod(&mut self, j: usize, now: Timestamp, ops: &mut Vec<Op>) {
        let (ns, prefix) = self.job_pod_prefix(j);
        let name = self.unique_pod_name(ns, &prefix);
        let node = self.pick_worker();
        let state = if node.is_some() {
            PodState::ContainerCreating
        } else {
            PodState::Unschedulable
        };
        let id = self.add_pod(ns, name, Owner::Job(j), 0, node, now, PodStatus::new(state, now));
        ops.push(Op::Create(self.pod_json(id)));
        if node.is_some() {
            let serial = self.serial_of(id);
            Self::push_due(&mut self.starting, self.tick, id, serial);
        }
    }

    /// The kubelet got the containers of a ContainerCreating pod going.
    pub(super) fn start_pod(&mut self, id: usize, now: Timestamp, ops: &mut Vec<Op>) {
        let p = self.pods[id].as_ref().expect("live pod");
        if p.status.state != PodState::ContainerCreating || p.deletion.is_some() {
            return;
        }
        let is_job = matches!(p.owner, Owner::Job(_));
        self.update_pod(id, ops, |p, rng| {
            let s = &mut p.status;
            s.sandbox = now;
            s.app_started = now;
            s.ready_changed = now;
            s.state = match rng.u32(0..100) {
                0..2 if !is_job => PodState::ImagePullBackOff,
                2..4 if !is_job => PodState::ErrImagePull,
                _ => PodState::Running,
            };
            s.ready = s.state == PodState::Running;
        });
        let owner = self.owner_of(id);
        self.sync_owner(owner, now, ops);
    }
}
