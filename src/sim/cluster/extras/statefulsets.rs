//! StatefulSets of a generated cluster: their pods by ordinal and one volume per pod (claim,
//! dynamically provisioned volume, attachment), kept in line with the pods, and their scaling:
//! a pod and, unless a retained one is waiting, a new claim on the way up; on the way down the
//! pod goes, its volume detaches and, per `persistentVolumeClaimRetentionPolicy.whenScaled`, the
//! claim stays (Retain) or goes with the volume Released until the provisioner deletes it.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::super::objects as ob;
use super::super::util::{at, hash_str, mix, pairs, suffix_from};
use super::super::{PodState, PodStatus};
use super::{ClusterModel, Container, KIND_POD, Op, Owner, PodTemplate, STORAGE_CLASSES, ZONES};

#[derive(Debug, Clone)]
pub(in super::super) struct StsRec {
    pub(in super::super) ns: usize,
    pub(in super::super) name: String,
    pub(in super::super) uid: String,
    pub(super) created: Timestamp,
    pub(super) selector: Vec<(String, String)>,
    pub(in super::super) template: PodTemplate,
    pub(in super::super) revision: String,
    pub(super) replicas: u32,
    /// Initial replicas, which scaling drifts back to.
    base_replicas: u32,
    generation: i64,
    storage_gi: u32,
    class: usize,
    /// `whenScaled: Retain`: claims stay on scale-down (and carry no owner reference).
    retain: bool,
    /// `spec.ordinals.start`: the first pod's ordinal.
    pub(in super::super) start: usize,
    /// Pods by ordinal (index 0 is ordinal `start`).
    pub(in super::super) pods: Vec<usize>,
    published: (u32, u32),
}

/// A claim of a StatefulSet pod and its volume.
#[derive(Debug, Clone)]
pub(super) struct VolRec {
    pub(super) sts: usize,
    /// Index of the pod in [`StsRec::pods`].
    ordinal: usize,
    claim_uid: String,
    pv_uid: String,
    va_uid: String,
    created: Timestamp,
    bound: Timestamp,
    /// Expanded by the CSI driver at that time; the file system waits for the pod to restart.
    resized: Option<Timestamp>,
    /// The node the volume was first attached to (zonal volumes bring their pod back there).
    node: usize,
    /// Attached since (a VolumeAttachment exists).
    pub(super) attached: Option<Timestamp>,
    /// The claim is gone: (Released since, deleted by the provisioner at).
    pub(super) released: Option<(Timestamp, Timestamp)>,
}

/// (name, image, port, storage GiB, cpu m, memory Mi) of stateful services.
const STS_CATALOG: [(&str, &str, u16, u32, u32, u32); 6] = [
    ("postgres", "postgres:17.2", 5432, 50, 1000, 2048),
    ("redis", "redis:7.4.1", 6379, 10, 250, 512),
    ("kafka", "apache/kafka:3.9.0", 9092, 100, 1000, 4096),
    ("rabbitmq", "rabbitmq:4.0.4", 5672, 20, 500, 1024),
    (
        "elasticsearch",
        "docker.elastic.co/elasticsearch/elasticsearch:8.16.1",
        9200,
        200,
        2000,
        4096,
    ),
    ("zookeeper", "zookeeper:3.9.3", 2181, 10, 250, 512),
];

impl ClusterModel {
    /// The pods a spec's StatefulSets will have, replicas drawn from the same hash as in
    /// [`init_extras`](Self::init_extras).
    pub(in super::super) fn sts_replicas(seed: u64, i: usize) -> u32 {
        [1, 3, 3, 3, 2, 5][(mix(seed ^ 0x5757 ^ i as u64) % 6) as usize]
    }

    pub(super) fn init_statefulsets(&mut self, now: Timestamp) {
        let workers = self.nodes.len() - self.control_planes;
        if workers == 0 || self.app_namespaces.is_empty() {
            return;
        }
        for i in 0..self.spec.statefulsets {
            let (base, image, port, storage_gi, cpu, mem) = STS_CATALOG[i % STS_CATALOG.len()];
            let ns = self.app_namespaces[self.rng.usize(0..self.app_namespaces.len())];
            let name = if i < STS_CATALOG.len() {
                base.to_string()
            } else {
                format!("{base}-{}", i / STS_CATALOG.len() + 1)
            };
            let uid = self.uid();
            let created = self.between(at(self.namespaces[ns].created, 600), at(now, -3 * 86_400));
            let mut c = Container::new(base, image).resources(Some(cpu), Some(cpu), Some(mem), Some(mem));
            c.port = Some(port);
            let template = PodTemplate {
                labels: pairs(&[("app.kubernetes.io/name", base), ("app.kubernetes.io/instance", &name)]),
                init_containers: Vec::new(),
                containers: vec![c],
                restart_policy: "Always",
                service_account: Some(name.clone()),
                priority_class: None,
                host_network: false,
                tolerate_all: false,
            };
            let revision = format!("{name}-{}", suffix_from(hash_str(&uid), 10));
            let replicas = Self::sts_replicas(self.spec.seed, i);
            let selector = template.labels.clone();
            self.x.sts.push(StsRec {
                ns,
                name: name.clone(),
                uid,
                created,
                selector,
                template,
                revision,
                replicas,
                base_replicas: replicas,
                generation: 1,
                storage_gi,
                class: i % 2,
                // The API's default is Retain; charts that clean up after scale-down set Delete.
                retain: i % 3 == 2,
                // One in twelve numbers its pods from 1 (`ordinals.start`, GA in v1.31).
                start: usize::from(i % 12 == 7),
                pods: Vec::new(),
                published: (0, 0),
            });
            for ordinal in 0..replicas as usize {
                let node = self.pick_worker().expect("workers exist");
                let pod_created = self.between(at(created, 30 * ordinal as i64 + 10), at(now, -600));
                let status = self.running_status(pod_created, now, false);
                let pod_name = format!("{name}-{}", self.x.sts[i].start + ordinal);
                self.names.insert((KIND_POD, ns, pod_name.clone()));
                self.add_pod(ns, pod_name, Owner::Sts(i), 0, Some(node), pod_created, status);
                let created_at = at(created, 30 * ordinal as i64 + 5);
                let (claim_uid, pv_uid, va_uid) = (self.uid(), self.uid(), self.uid());
                let bound = at(created, 30 * ordinal as i64 + 8);
                // One claim in 25 is being grown (a few per thousand pods), by position so that
                // every cluster with volumes has one.
                let resized = (self.x.vols.len() % 25 == 12)
                    .then(|| at(now, -120 - (hash_str(&claim_uid) % 3000) as i64).max(bound));
                self.x.vols.push(VolRec {
                    sts: i,
                    ordinal,
                    claim_uid,
                    pv_uid,
                    va_uid,
                    created: created_at,
                    bound,
                    resized,
                    node,
                    attached: Some(at(bound, 20)),
                    released: None,
                });
            }
            self.x.sts[i].published = self.sts_counts(i);
        }
    }

    fn sts_counts(&self, i: usize) -> (u32, u32) {
        let s = &self.x.sts[i];
        let (mut pods, mut ready) = (0, 0);
        for &id in &s.pods {
            let p = self.pods[id].as_ref().expect("sts pod");
            if p.active() {
                pods += 1;
                if p.status.is_ready() {
                    ready += 1;
                }
            }
        }
        (pods, ready)
    }

    pub(super) fn sts_json(&self, i: usize) -> Value {
        let s = &self.x.sts[i];
        ob::statefulset(&ob::StatefulSetParams {
            namespace: self.ns_name(s.ns),
            name: &s.name,
            uid: &s.uid,
            created: s.created,
            replicas: s.replicas,
            selector: &s.selector,
            template: &s.template,
            service: &s.name,
            storage_gi: s.storage_gi,
            storage_class: STORAGE_CLASSES[s.class].0,
            revision: &s.revision,
            ordinals_start: s.start,
            generation: s.generation,
            when_scaled: if s.retain { "Retain" } else { "Delete" },
            status: s.published,
        })
    }

    /// StatefulSet status, endpoints and PDB follow its pods.
    pub(in super::super) fn sync_sts(&mut self, i: usize, now: Timestamp, ops: &mut Vec<Op>) {
        let counts = self.sts_counts(i);
        if counts != self.x.sts[i].published {
            let before = self.sts_json(i);
            self.x.sts[i].published = counts;
            let after = self.sts_json(i);
            let s = &self.x.sts[i];
            Self::push_patch(
                ops,
                "statefulsets",
                Some(&self.namespaces[s.ns].name),
                &s.name,
                &before,
                &after,
            );
        }
        if let Some(s) = self.x.sts_svc[i] {
            self.sync_service(s, now, ops);
        }
        if let Some(p) = self.x.sts_pdb[i] {
            self.sync_pdb(p, now, ops);
        }
    }

    /// The `data` volume of the pod at `index` (StatefulSet pods).
    pub(in super::super) fn sts_volume(&self, i: usize, index: usize) -> Value {
        let s = &self.x.sts[i];
        json!({"name": "data", "persistentVolumeClaim": {"claimName": format!("data-{}-{}", s.name, s.start + index)}})
    }

    pub(super) fn volume_params<R>(&self, v: &VolRec, f: impl FnOnce(&ob::VolumeParams) -> R) -> R {
        let s = &self.x.sts[v.sts];
        let pod = s.pods.get(v.ordinal).and_then(|&id| self.pods[id].as_ref());
        let node = v.node;
        let claim = format!("data-{}-{}", s.name, s.start + v.ordinal);
        let volume = format!("pvc-{}", v.claim_uid);
        f(&ob::VolumeParams {
            namespace: self.ns_name(s.ns),
            claim: &claim,
            claim_uid: &v.claim_uid,
            claim_labels: &s.selector,
            owner_pod: pod.filter(|_| !s.retain).map(|p| (p.name.as_str(), p.uid.as_str())),
            volume: &volume,
            volume_uid: &v.pv_uid,
            created: v.created,
            bound: v.bound,
            storage_gi: s.storage_gi,
            resized: v.resized.map(|t| (s.storage_gi * 2, t)),
            released: v.released.map(|(t, _)| t),
            storage_class: STORAGE_CLASSES[s.class].0,
            node: &self.nodes[node].name,
            zone: ZONES[node % ZONES.len()],
        })
    }

    /// The VolumeAttachment of an attached volume.
    pub(super) fn va_json(&self, v: &VolRec) -> Value {
        let device = format!("/dev/xvd{}", (b'b' + (v.ordinal % 24) as u8) as char);
        ob::volume_attachment(
            &format!("pvc-{}", v.claim_uid),
            &self.nodes[v.node].name,
            &v.va_uid,
            v.attached.unwrap_or(v.bound),
            &device,
        )
    }

    /// `kubectl scale` of a StatefulSet by one, up from its initial size and back. Pods come and
    /// go one at a time (`OrderedReady`), so nothing happens while one is starting or stopping.
    pub(in super::super) fn sts_scale_event(&mut self, now: Timestamp, ops: &mut Vec<Op>) {
        if self.x.sts.is_empty() {
            return;
        }
        let i = self.rng.usize(0..self.x.sts.len());
        let s = &self.x.sts[i];
        let busy = s.pods.len() != s.replicas as usize
            || s.pods.iter().any(|&id| {
                let p = self.pods[id].as_ref().expect("sts pod");
                p.deletion.is_some() || p.status.state == PodState::ContainerCreating
            });
        if busy {
            return;
        }
        let up = s.replicas <= s.base_replicas;
        let before = self.sts_json(i);
        let s = &mut self.x.sts[i];
        if up {
            s.replicas += 1;
        } else {
            s.replicas -= 1;
        }
        s.generation += 1;
        let after = self.sts_json(i);
        let s = &self.x.sts[i];
        Self::push_patch(
            ops,
            "statefulsets",
            Some(&self.namespaces[s.ns].name),
            &s.name,
            &before,
            &after,
        );
        if up {
            self.sts_scale_up(i, now, ops);
        } else {
            let id = *self.x.sts[i].pods.last().expect("replicas > base >= 1");
            self.terminate_pod(id, now, ops);
            if self.pods[id].is_none() {
                self.on_sts_pod_deleted(i, now, ops);
            }
        }
        self.sync_sts(i, now, ops);
    }

    /// The next ordinal's pod, on the node of its retained volume if one waits, else with a new
    /// claim (bound at once: the provisioner is quick) and volume.
    fn sts_scale_up(&mut self, i: usize, now: Timestamp, ops: &mut Vec<Op>) {
        let index = self.x.sts[i].pods.len();
        let kept = self
            .x
            .vols
            .iter()
            .position(|v| v.sts == i && v.ordinal == index && v.released.is_none());
        let node = match kept {
            Some(k) => self.x.vols[k].node,
            None => self.pick_worker().expect("StatefulSets run on workers"),
        };
        let s = &self.x.sts[i];
        let (ns, name) = (s.ns, format!("{}-{}", s.name, s.start + index));
        self.names.insert((KIND_POD, ns, name.clone()));
        let status = PodStatus::new(PodState::ContainerCreating, now);
        let id = self.add_pod(ns, name, Owner::Sts(i), 0, Some(node), now, status);
        ops.push(Op::Create(self.pod_json(id)));
        let serial = self.serial_of(id);
        Self::push_due(&mut self.starting, self.tick, id, serial);
        let k = match kept {
            Some(k) => {
                let va_uid = self.uid();
                let v = &mut self.x.vols[k];
                v.va_uid = va_uid;
                v.attached = Some(now);
                k
            }
            None => {
                let (claim_uid, pv_uid, va_uid) = (self.uid(), self.uid(), self.uid());
                self.x.vols.push(VolRec {
                    sts: i,
                    ordinal: index,
                    claim_uid,
                    pv_uid,
                    va_uid,
                    created: now,
                    bound: now,
                    resized: None,
                    node,
                    attached: Some(now),
                    released: None,
                });
                let v = self.x.vols.last().expect("just pushed");
                ops.push(Op::Create(self.volume_params(v, ob::pvc)));
                ops.push(Op::Create(self.volume_params(v, ob::pv)));
                self.x.vols.len() - 1
            }
        };
        ops.push(Op::Create(self.va_json(&self.x.vols[k])));
    }

    /// A StatefulSet pod is gone after a scale-down: its volume detaches; with `whenScaled:
    /// Delete` the garbage collector takes the claim and the volume is Released.
    pub(in super::super) fn on_sts_pod_deleted(&mut self, i: usize, now: Timestamp, ops: &mut Vec<Op>) {
        let n = self.x.sts[i].pods.len();
        let (retain, ns) = (self.x.sts[i].retain, self.x.sts[i].ns);
        for k in 0..self.x.vols.len() {
            let v = &self.x.vols[k];
            if v.sts != i || v.ordinal < n || v.released.is_some() {
                continue;
            }
            if v.attached.is_some() {
                let va = self.va_json(v);
                ops.push(Op::Delete {
                    resource: "volumeattachments",
                    namespace: None,
                    name: va["metadata"]["name"].as_str().unwrap_or_default().to_string(),
                });
                self.x.vols[k].attached = None;
            }
            if retain {
                continue;
            }
            let v = &self.x.vols[k];
            let s = &self.x.sts[i];
            ops.push(Op::Delete {
                resource: "persistentvolumeclaims",
                namespace: Some(self.namespaces[ns].name.clone()),
                name: format!("data-{}-{}", s.name, s.start + v.ordinal),
            });
            let before = self.volume_params(v, ob::pv);
            let gone = at(now, self.rng.i64(3..=20));
            self.x.vols[k].released = Some((now, gone));
            self.x.releasing += 1;
            let v = &self.x.vols[k];
            let after = self.volume_params(v, ob::pv);
            let name = format!("pvc-{}", v.claim_uid);
            Self::push_patch(ops, "persistentvolumes", None, &name, &before, &after);
        }
        self.x.dirty_ns.insert(ns);
    }

    /// The provisioner deletes the Released volumes whose time has come (reclaim policy Delete).
    pub(super) fn reclaim_volumes(&mut self, now: Timestamp, ops: &mut Vec<Op>) {
        if self.x.releasing == 0 {
            return;
        }
        let mut k = 0;
        while k < self.x.vols.len() {
            if self.x.vols[k].released.is_some_and(|(_, gone)| gone <= now) {
                let v = self.x.vols.remove(k);
                self.x.releasing -= 1;
                ops.push(Op::Delete {
                    resource: "persistentvolumes",
                    namespace: None,
                    name: format!("pvc-{}", v.claim_uid),
                });
            } else {
                k += 1;
            }
        }
    }
}
