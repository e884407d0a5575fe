//! Changes to the objects held as [`Static`] records: ConfigMap and Secret data updates,
//! RoleBinding subject changes, Ingresses coming and going (their address and TLS Secret a
//! little after their creation) and kubelet CSRs requested, approved, issued and cleaned up.

use jiff::Timestamp;

use super::super::util::{at, mix, suffix_from};
use super::config::{Static, StaticKind};
use super::{ClusterModel, Op};

/// Seconds between two passes of the CSR controllers (approver, signer, cleaner).
const CSR_PASS: i64 = 5;
/// Issued CSRs are garbage-collected an hour after their creation (csrcleaner).
const CSR_TTL: i64 = 3600;

/// The model's state for the changes of this file.
#[derive(Debug, Clone, Default)]
pub(super) struct Changes {
    /// Ingresses waiting for their address and TLS Secret: (due, uid).
    ingress_due: Vec<(Timestamp, String)>,
    /// Ingresses now, and at layout: creations and deletions keep the count around it.
    ingresses: usize,
    ingress_target: usize,
    /// Next pass of the CSR controllers.
    next_csr_pass: Option<Timestamp>,
    /// Next kubelet certificate request.
    next_csr: Option<Timestamp>,
}

fn resource(kind: StaticKind) -> &'static str {
    match kind {
        StaticKind::ConfigMap => "configmaps",
        StaticKind::Secret => "secrets",
        StaticKind::RoleBinding => "rolebindings",
        StaticKind::Ingress => "ingresses",
        StaticKind::Csr => "certificatesigningrequests",
        other => unreachable!("{other:?} records do not change"),
    }
}

impl ClusterModel {
    /// After the layout: the Ingress count the churn keeps to.
    pub(super) fn init_changes(&mut self) {
        let n = self.x.statics.iter().filter(|s| s.kind == StaticKind::Ingress).count();
        self.x.changes.ingresses = n;
        self.x.changes.ingress_target = n;
    }

    /// Ingresses in the cluster now.
    #[cfg(test)]
    pub(in super::super) fn ingress_count(&self) -> usize {
        self.x.changes.ingresses
    }

    /// A random record matching `f` (rejection sampling, then a scan).
    fn pick_static(&mut self, f: impl Fn(&Static) -> bool) -> Option<usize> {
        let n = self.x.statics.len();
        if n == 0 {
            return None;
        }
        for _ in 0..64 {
            let k = self.rng.usize(0..n);
            if f(&self.x.statics[k]) {
                return Some(k);
            }
        }
        let start = self.rng.usize(0..n);
        (0..n).map(|i| (start + i) % n).find(|&k| f(&self.x.statics[k]))
    }

    fn find_static(&self, kind: StaticKind, ns: Option<usize>, name: &str) -> Option<usize> {
        let (lo, hi) = self.static_range(kind);
        (lo..hi).find(|&k| self.x.statics[k].ns == ns && self.x.statics[k].name == name)
    }

    /// The records of `kind` (they are kept sorted by kind, the listing order).
    fn static_range(&self, kind: StaticKind) -> (usize, usize) {
        let lo = self.x.statics.partition_point(|s| s.kind < kind);
        let hi = self.x.statics.partition_point(|s| s.kind <= kind);
        (lo, hi)
    }

    /// Adds a record created now and reports its creation.
    fn create_static(
        &mut self,
        kind: StaticKind,
        ns: Option<usize>,
        name: String,
        now: Timestamp,
        arg: usize,
        ops: &mut Vec<Op>,
    ) -> String {
        let uid = self.uid();
        let (_, k) = self.static_range(kind);
        self.x.statics.insert(
            k,
            Static {
                kind,
                ns,
                name,
                uid: uid.clone(),
                created: now,
                arg,
                rev: 0,
                changed: None,
            },
        );
        ops.push(Op::Create(self.static_json(&self.x.statics[k])));
        uid
    }

    fn delete_static(&mut self, k: usize, ops: &mut Vec<Op>) {
        let s = self.x.statics.remove(k);
        ops.push(Op::Delete {
            resource: resource(s.kind),
            namespace: s.ns.map(|n| self.namespaces[n].name.clone()),
            name: s.name,
        });
    }

    /// Changes a record with `f` and reports the merge patch.
    fn change_static(&mut self, k: usize, ops: &mut Vec<Op>, f: impl FnOnce(&mut Static)) {
        let before = self.static_json(&self.x.statics[k]);
        f(&mut self.x.statics[k]);
        let after = self.static_json(&self.x.statics[k]);
        let s = &self.x.statics[k];
        let ns = s.ns.map(|n| self.namespaces[n].name.clone());
        Self::push_patch(ops, resource(s.kind), ns.as_deref(), &s.name, &before, &after);
    }

    /// New data in an application's ConfigMap or Secret (a Helm upgrade, a rotated password, a
    /// renewed certificate).
    pub(in super::super) fn config_event(&mut self, now: Timestamp, ops: &mut Vec<Op>) {
        let Some(k) = self.pick_static(|s| match s.kind {
            StaticKind::ConfigMap => s.arg >= 100,
            StaticKind::Secret => s.arg == 0 || s.arg == 2,
            _ => false,
        }) else {
            return;
        };
        self.change_static(k, ops, |s| {
            s.rev += 1;
            s.changed = Some(now);
        });
    }

    /// Someone joins or leaves a team: its `developers` RoleBinding gets other subjects.
    pub(in super::super) fn rbac_event(&mut self, now: Timestamp, ops: &mut Vec<Op>) {
        let Some(k) = self.pick_static(|s| s.kind == StaticKind::RoleBinding && s.arg == 3) else {
            return;
        };
        self.change_static(k, ops, |s| {
            s.rev += 1;
            s.changed = Some(now);
        });
    }

    /// An Ingress is added for a Service (without an address until the controller writes it), or
    /// one goes with its TLS Secret; the count stays around the layout's.
    pub(in super::super) fn ingress_event(&mut self, now: Timestamp, ops: &mut Vec<Op>) {
        let c = &self.x.changes;
        if c.ingresses > c.ingress_target {
            let Some(k) = self.pick_static(|s| s.kind == StaticKind::Ingress) else {
                return;
            };
            let (ns, tls) = (self.x.statics[k].ns, format!("{}-tls", self.x.statics[k].name));
            self.delete_static(k, ops);
            if let Some(t) = self.find_static(StaticKind::Secret, ns, &tls) {
                self.delete_static(t, ops);
            }
            self.x.changes.ingresses -= 1;
            return;
        }
        if self.deployments.is_empty() {
            return;
        }
        let di = self.rng.usize(0..self.deployments.len());
        let Some(svc) = self.x.deploy_svc.get(di).copied().flatten() else {
            return;
        };
        let (ns, name) = (self.deployments[di].ns, self.deployments[di].name.clone());
        if self.find_static(StaticKind::Ingress, Some(ns), &name).is_some()
            || self
                .find_static(StaticKind::Secret, Some(ns), &format!("{name}-tls"))
                .is_some()
        {
            return;
        }
        let uid = self.create_static(StaticKind::Ingress, Some(ns), name, now, svc, ops);
        let due = at(now, self.rng.i64(5..=40));
        self.x.changes.ingress_due.push((due, uid));
        self.x.changes.ingresses += 1;
    }

    /// Time-driven changes: addresses of new Ingresses, the CSR controllers and new kubelet
    /// certificate requests.
    pub(in super::super) fn churn_changes(&mut self, now: Timestamp, ops: &mut Vec<Op>) {
        self.settle_ingresses(now, ops);
        self.csr_pass(now, ops);
    }

    /// The ingress controller writes the load balancer address; cert-manager's TLS Secret comes
    /// with it.
    fn settle_ingresses(&mut self, now: Timestamp, ops: &mut Vec<Op>) {
        if self.x.changes.ingress_due.is_empty() {
            return;
        }
        let (due, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.x.changes.ingress_due)
            .into_iter()
            .partition(|(t, _)| *t <= now);
        self.x.changes.ingress_due = waiting;
        for (_, uid) in due {
            let (lo, hi) = self.static_range(StaticKind::Ingress);
            let Some(k) = (lo..hi).find(|&k| self.x.statics[k].uid == uid) else {
                continue; // deleted before it got an address
            };
            self.change_static(k, ops, |s| {
                s.rev = 1;
                s.changed = Some(now);
            });
            let (ns, tls) = (self.x.statics[k].ns, format!("{}-tls", self.x.statics[k].name));
            if self.find_static(StaticKind::Secret, ns, &tls).is_none() {
                self.create_static(StaticKind::Secret, ns, tls, now, 2, ops);
            }
        }
    }

    /// One pass of the CSR controllers every few seconds of model time: pending requests are
    /// approved, approved ones issued, issued ones older than an hour deleted; kubelets request
    /// at the rate the layout assumes (a tenth of the nodes per hour).
    fn csr_pass(&mut self, now: Timestamp, ops: &mut Vec<Op>) {
        if self.nodes.is_empty() {
            return;
        }
        if self.x.changes.next_csr_pass.is_some_and(|t| t > now) {
            return;
        }
        self.x.changes.next_csr_pass = Some(at(now, CSR_PASS));
        let (lo, hi) = self.static_range(StaticKind::Csr);
        // Back to front: deletions do not move the records still to visit.
        for k in (lo..hi).rev() {
            let (rev, created) = (self.x.statics[k].rev, self.x.statics[k].created);
            match rev {
                0 | 1 => self.change_static(k, ops, |s| {
                    if s.rev == 0 {
                        s.changed = Some(now);
                    }
                    s.rev += 1;
                }),
                _ if at(created, CSR_TTL) <= now => self.delete_static(k, ops),
                _ => {}
            }
        }
        let interval = (CSR_TTL / (self.nodes.len() / 10).max(1) as i64).max(60);
        let seed = self.spec.seed;
        let next = *self
            .x
            .changes
            .next_csr
            .get_or_insert_with(|| at(now, (mix(seed ^ 0xc5) % interval as u64) as i64));
        if next > now {
            return;
        }
        self.x.changes.next_csr = Some(at(now, interval / 2 + self.rng.i64(0..=interval)));
        let n = self.rng.usize(0..self.nodes.len());
        let arg = n * 2 + self.rng.usize(0..2);
        let name = loop {
            let name = format!("csr-{}", suffix_from(self.rng.u64(..), 5));
            if self.find_static(StaticKind::Csr, None, &name).is_none() {
                break name;
            }
        };
        self.create_static(StaticKind::Csr, None, name, now, arg, ops);
    }
}
