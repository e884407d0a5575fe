//! Configuration, RBAC, admission, storage and ingress classes, CSRs, Ingresses and the
//! ReplicationController of a generated cluster: objects held as [`Static`] records and
//! rendered on demand.

use jiff::Timestamp;
use serde_json::Value;

use super::super::objects as ob;
use super::super::util::{at, hash_str, hex_from, pairs, suffix_from, ts};
use super::{ClusterModel, Container, Labels, PodTemplate, STORAGE_CLASSES};

/// Objects without a controller of their own in the model, rendered on demand from this record;
/// the churn changes a few of them (`changes.rs`).
#[derive(Debug, Clone)]
pub(super) struct Static {
    pub(super) kind: StaticKind,
    /// Namespace index, None for cluster-scoped objects.
    pub(super) ns: Option<usize>,
    pub(super) name: String,
    pub(super) uid: String,
    pub(super) created: Timestamp,
    /// Kind-specific: a catalog entry, deployment, service or node index.
    pub(super) arg: usize,
    /// Changes since creation: data revisions (ConfigMaps, Secrets), subject sets
    /// (RoleBindings); 1 once the load balancer address is written (Ingresses); 1 approved,
    /// 2 issued (CSRs).
    pub(super) rev: u32,
    /// Time of the latest change (None: unchanged since creation).
    pub(super) changed: Option<Timestamp>,
}

/// In the order the objects are listed (owners and referenced objects first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum StaticKind {
    StorageClass,
    IngressClass,
    ClusterRole,
    ClusterRoleBinding,
    MutatingWebhook,
    ValidatingWebhook,
    ValidatingPolicy,
    ValidatingPolicyBinding,
    MutatingPolicy,
    MutatingPolicyBinding,
    Csr,
    ServiceAccount,
    ConfigMap,
    Secret,
    Role,
    RoleBinding,
    LimitRange,
    NetworkPolicy,
    ReplicationController,
    Ingress,
}

/// System ClusterRoles (name, rules) a v1.36 control plane and common add-ons install.
const CLUSTER_ROLES: [(&str, ob::Rule<'static>); 16] = [
    ("cluster-admin", (&["*"], &["*"], &["*"])),
    (
        "admin",
        (
            &["", "apps", "batch"],
            &["pods", "deployments", "jobs", "secrets"],
            &["*"],
        ),
    ),
    (
        "edit",
        (
            &["", "apps", "batch"],
            &["pods", "deployments", "jobs"],
            &["create", "delete", "get", "list", "patch", "update", "watch"],
        ),
    ),
    (
        "view",
        (
            &["", "apps", "batch"],
            &["pods", "deployments", "jobs"],
            &["get", "list", "watch"],
        ),
    ),
    (
        "system:node",
        (
            &[""],
            &["nodes", "pods", "pods/status"],
            &["get", "list", "watch", "patch", "update"],
        ),
    ),
    (
        "system:kube-scheduler",
        (
            &[""],
            &["pods", "bindings", "nodes"],
            &["get", "list", "watch", "create"],
        ),
    ),
    (
        "system:kube-controller-manager",
        (&["*"], &["*"], &["get", "list", "watch"]),
    ),
    (
        "system:kube-dns",
        (&[""], &["endpoints", "services"], &["list", "watch"]),
    ),
    (
        "system:node-proxier",
        (
            &["", "discovery.k8s.io"],
            &["services", "endpointslices", "nodes"],
            &["get", "list", "watch"],
        ),
    ),
    (
        "system:controller:deployment-controller",
        (
            &["apps"],
            &["deployments", "replicasets"],
            &["create", "delete", "get", "list", "patch", "update", "watch"],
        ),
    ),
    (
        "system:controller:job-controller",
        (
            &["batch"],
            &["jobs", "jobs/status"],
            &["get", "list", "patch", "update", "watch"],
        ),
    ),
    (
        "system:controller:endpointslice-controller",
        (
            &["discovery.k8s.io"],
            &["endpointslices"],
            &["create", "delete", "get", "list", "update"],
        ),
    ),
    (
        "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
        (
            &["certificates.k8s.io"],
            &["certificatesigningrequests/nodeclient"],
            &["create"],
        ),
    ),
    (
        "kube-state-metrics",
        (
            &["", "apps", "batch"],
            &["pods", "nodes", "deployments", "jobs"],
            &["list", "watch"],
        ),
    ),
    (
        "cilium",
        (
            &["", "cilium.io"],
            &["pods", "nodes", "ciliumendpoints"],
            &["get", "list", "watch", "update"],
        ),
    ),
    (
        "ingress-nginx",
        (
            &["", "networking.k8s.io"],
            &["services", "endpoints", "ingresses", "ingresses/status"],
            &["get", "list", "watch", "update"],
        ),
    ),
];

/// Mutating (true) and validating webhook configurations: (name, service namespace, service,
/// path, resources, failure policy).
const WEBHOOKS: [(bool, ob::Webhook<'static>); 4] = [
    (
        true,
        (
            "istio-sidecar-injector",
            "istio-system",
            "istiod",
            "/inject",
            &["pods"],
            "Fail",
        ),
    ),
    (
        true,
        (
            "aws-load-balancer-webhook",
            "kube-system",
            "aws-load-balancer-webhook-service",
            "/mutate-v1-pod",
            &["pods", "services"],
            "Fail",
        ),
    ),
    (
        false,
        (
            "cert-manager-webhook",
            "cert-manager",
            "cert-manager-webhook",
            "/validate",
            &["certificates", "issuers"],
            "Fail",
        ),
    ),
    (
        false,
        (
            "ingress-nginx-admission",
            "ingress-nginx",
            "ingress-nginx-controller-admission",
            "/networking/v1/ingresses",
            &["ingresses"],
            "Fail",
        ),
    ),
];

/// ServiceAccounts of kube-system controllers (one each, as a cluster has them).
const SYSTEM_SERVICE_ACCOUNTS: [&str; 12] = [
    "attachdetach-controller",
    "coredns",
    "cronjob-controller",
    "daemon-set-controller",
    "deployment-controller",
    "endpointslice-controller",
    "job-controller",
    "kube-proxy",
    "metrics-server",
    "node-controller",
    "replicaset-controller",
    "statefulset-controller",
];

/// Users added to and removed from the `developers` RoleBindings by the churn.
const DEVELOPERS: [&str; 3] = ["alice@example.com", "bob@example.com", "carol@example.com"];

/// Kube-system ConfigMaps.
const SYSTEM_CONFIGMAPS: [&str; 6] = [
    "coredns",
    "kube-proxy",
    "kubeadm-config",
    "kubelet-config",
    "extension-apiserver-authentication",
    "cluster-info",
];

impl ClusterModel {
    fn add_static(&mut self, kind: StaticKind, ns: Option<usize>, name: String, created: Timestamp, arg: usize) {
        let uid = self.uid();
        // The initial CSRs are issued and the initial Ingresses have their address.
        let rev = match kind {
            StaticKind::Csr => 2,
            StaticKind::Ingress => 1,
            _ => 0,
        };
        self.x.statics.push(Static {
            kind,
            ns,
            name,
            uid,
            created,
            arg,
            rev,
            changed: None,
        });
    }

    pub(super) fn init_config(&mut self, now: Timestamp) {
        for ns in 0..self.namespaces.len() {
            let created = self.namespaces[ns].created;
            self.add_static(
                StaticKind::ConfigMap,
                Some(ns),
                "kube-root-ca.crt".into(),
                at(created, 1),
                0,
            );
            self.add_static(
                StaticKind::ServiceAccount,
                Some(ns),
                "default".into(),
                at(created, 1),
                0,
            );
        }
        let system = 1.min(self.namespaces.len() - 1);
        let birth = self.birth;
        for (k, name) in SYSTEM_CONFIGMAPS.iter().enumerate() {
            self.add_static(
                StaticKind::ConfigMap,
                Some(system),
                name.to_string(),
                at(birth, 60),
                1 + k,
            );
        }
        for name in SYSTEM_SERVICE_ACCOUNTS {
            self.add_static(StaticKind::ServiceAccount, Some(system), name.into(), at(birth, 60), 0);
        }
        for (k, name) in [
            "system:controller:bootstrap-signer",
            "extension-apiserver-authentication-reader",
            "kube-proxy",
        ]
        .iter()
        .enumerate()
        {
            self.add_static(StaticKind::Role, Some(system), name.to_string(), at(birth, 60), k);
            self.add_static(
                StaticKind::RoleBinding,
                Some(system),
                name.to_string(),
                at(birth, 60),
                k,
            );
        }
        for &ns in &self.app_namespaces.clone() {
            let created = at(self.namespaces[ns].created, 5);
            self.add_static(StaticKind::LimitRange, Some(ns), "default-limits".into(), created, 0);
            self.add_static(StaticKind::NetworkPolicy, Some(ns), "default-deny".into(), created, 1);
            self.add_static(
                StaticKind::NetworkPolicy,
                Some(ns),
                "allow-same-namespace".into(),
                created,
                0,
            );
            self.add_static(StaticKind::Secret, Some(ns), "regcred".into(), created, 3);
            self.add_static(StaticKind::Role, Some(ns), "developer".into(), created, 3);
            self.add_static(StaticKind::RoleBinding, Some(ns), "developers".into(), created, 3);
        }
        for di in 0..self.deployments.len() {
            let d = &self.deployments[di];
            let (ns, name, created, version) = (d.ns, d.name.clone(), at(d.created, -2), d.version);
            let sa = d.template.service_account.clone();
            self.add_static(
                StaticKind::ConfigMap,
                Some(ns),
                format!("{name}-config"),
                created,
                100 + di,
            );
            if self.rng.u32(0..100) < 60 {
                self.add_static(
                    StaticKind::ConfigMap,
                    Some(ns),
                    format!("{name}-env"),
                    created,
                    100 + di,
                );
            }
            if self.rng.u32(0..100) < 30 {
                self.add_static(StaticKind::Secret, Some(ns), format!("{name}-secrets"), created, 0);
            }
            if self.rng.u32(0..100) < 20 {
                // Helm keeps one release Secret per revision (history limit 2 here).
                for rev in version.saturating_sub(1)..=version {
                    self.add_static(
                        StaticKind::Secret,
                        Some(ns),
                        format!("sh.helm.release.v1.{name}.v{}", rev + 1),
                        created,
                        1,
                    );
                }
            }
            if let Some(sa) = sa {
                self.add_static(StaticKind::ServiceAccount, Some(ns), sa, created, 0);
            }
            if let Some(s) = self.x.deploy_svc[di]
                && self.rng.u32(0..100) < 18
            {
                self.add_static(StaticKind::Secret, Some(ns), format!("{name}-tls"), created, 2);
                self.add_static(StaticKind::Ingress, Some(ns), name.clone(), at(created, 5), s);
            }
        }
        for i in 0..self.x.sts.len() {
            let s = &self.x.sts[i];
            let (ns, name, created) = (s.ns, s.name.clone(), at(s.created, -2));
            self.add_static(StaticKind::ConfigMap, Some(ns), format!("{name}-config"), created, 100);
            self.add_static(StaticKind::Secret, Some(ns), format!("{name}-credentials"), created, 0);
            self.add_static(StaticKind::ServiceAccount, Some(ns), name, created, 0);
        }
        if let Some(&ns) = self.app_namespaces.first() {
            let t = self.between(at(self.namespaces[ns].created, 600), at(now, -30 * 86_400));
            self.add_static(
                StaticKind::ReplicationController,
                Some(ns),
                "legacy-frontend".into(),
                t,
                0,
            );
        }
    }

    pub(super) fn init_cluster_objects(&mut self, now: Timestamp) {
        let birth = self.birth;
        for (k, (name, _)) in STORAGE_CLASSES.iter().enumerate() {
            self.add_static(StaticKind::StorageClass, None, name.to_string(), at(birth, 300), k);
        }
        self.add_static(StaticKind::IngressClass, None, "nginx".into(), at(birth, 900), 0);
        for (k, (name, _)) in CLUSTER_ROLES.iter().enumerate() {
            self.add_static(StaticKind::ClusterRole, None, name.to_string(), at(birth, 30), k);
            if *name != "admin" && *name != "edit" && *name != "view" {
                self.add_static(StaticKind::ClusterRoleBinding, None, name.to_string(), at(birth, 30), k);
            }
        }
        for (k, (mutating, hook)) in WEBHOOKS.iter().enumerate() {
            let kind = if *mutating {
                StaticKind::MutatingWebhook
            } else {
                StaticKind::ValidatingWebhook
            };
            self.add_static(kind, None, hook.0.to_string(), at(birth, 86_400 + 600 * k as i64), k);
        }
        let t = self.between(at(birth, 86_400), at(now, -30 * 86_400));
        self.add_static(StaticKind::ValidatingPolicy, None, "deny-latest-tag".into(), t, 0);
        self.add_static(
            StaticKind::ValidatingPolicyBinding,
            None,
            "deny-latest-tag".into(),
            at(t, 5),
            0,
        );
        self.add_static(StaticKind::MutatingPolicy, None, "add-team-label".into(), t, 0);
        self.add_static(
            StaticKind::MutatingPolicyBinding,
            None,
            "add-team-label".into(),
            at(t, 5),
            0,
        );
        // Approved CSRs are garbage-collected after an hour: only recent kubelet rotations remain.
        let csrs = (self.nodes.len() / 10).max(1);
        for k in 0..csrs {
            let n = self.rng.usize(0..self.nodes.len());
            let created = at(now, -self.rng.i64(60..=3000));
            let name = format!("csr-{}", suffix_from(self.rng.u64(..), 5));
            self.add_static(StaticKind::Csr, None, name, created, n * 2 + k % 2);
        }
    }

    pub(super) fn static_json(&self, s: &Static) -> Value {
        let mut o = self.static_json_as_created(s);
        // A client's update of the data moves the time of its managedFields entry.
        if let Some(t) = s.changed
            && matches!(
                s.kind,
                StaticKind::ConfigMap | StaticKind::Secret | StaticKind::RoleBinding
            )
            && let Some(e) = o["metadata"]["managedFields"][0].as_object_mut()
        {
            e.insert("time".into(), ts(t));
        }
        o
    }

    fn static_json_as_created(&self, s: &Static) -> Value {
        let ns = s.ns.map(|n| self.ns_name(n));
        let nsn = ns.unwrap_or("");
        let (name, uid, t) = (s.name.as_str(), s.uid.as_str(), s.created);
        match s.kind {
            StaticKind::StorageClass => ob::storage_class(name, uid, t, STORAGE_CLASSES[s.arg].1, s.arg == 0),
            StaticKind::IngressClass => ob::ingress_class(name, uid, t, "k8s.io/ingress-nginx", true),
            StaticKind::ClusterRole => {
                let labels = if name.starts_with("system:") || name == "cluster-admin" {
                    pairs(&[("kubernetes.io/bootstrapping", "rbac-defaults")])
                } else {
                    Vec::new()
                };
                ob::role(None, name, uid, t, &labels, &[CLUSTER_ROLES[s.arg].1])
            }
            StaticKind::ClusterRoleBinding => {
                let subject: ob::Subject = match name {
                    "cluster-admin" => ("Group", "system:masters", None),
                    "system:node" => ("Group", "system:nodes", None),
                    n if n.starts_with("system:controller:") => ("ServiceAccount", &n[18..], Some("kube-system")),
                    n if n.starts_with("system:") => ("User", n, None),
                    n => ("ServiceAccount", n, Some("kube-system")),
                };
                ob::role_binding(None, name, uid, t, &[], "ClusterRole", name, &[subject])
            }
            StaticKind::MutatingWebhook | StaticKind::ValidatingWebhook => {
                let (mutating, hook) = WEBHOOKS[s.arg];
                ob::webhook_configuration(
                    mutating,
                    name,
                    uid,
                    t,
                    &[(
                        &format!("{}.{}.svc", hook.2, hook.1),
                        hook.1,
                        hook.2,
                        hook.3,
                        hook.4,
                        hook.5,
                    )],
                )
            }
            StaticKind::ValidatingPolicy => ob::admission_policy(false, name, uid, t, "apps", &["deployments"]),
            StaticKind::ValidatingPolicyBinding => ob::admission_policy_binding(false, name, uid, t, name),
            StaticKind::MutatingPolicy => ob::admission_policy(true, name, uid, t, "apps", &["deployments"]),
            StaticKind::MutatingPolicyBinding => ob::admission_policy_binding(true, name, uid, t, name),
            StaticKind::Csr => {
                let node = &self.nodes[s.arg / 2].name;
                let serving = s.arg.is_multiple_of(2);
                ob::csr(&ob::CsrParams {
                    name,
                    uid,
                    created: t,
                    node,
                    signer: if serving {
                        "kubernetes.io/kubelet-serving"
                    } else {
                        "kubernetes.io/kube-apiserver-client-kubelet"
                    },
                    approved: (s.rev > 0).then(|| s.changed.unwrap_or(at(t, 1))),
                    issued: s.rev >= 2,
                })
            }
            StaticKind::ServiceAccount => {
                let manager = if nsn == "kube-system" || name == "default" {
                    "kube-controller-manager"
                } else {
                    "helm"
                };
                ob::service_account(nsn, name, uid, t, manager)
            }
            StaticKind::ConfigMap => {
                let (data, manager) = match s.arg {
                    0 => (
                        pairs(&[(
                            "ca.crt",
                            &format!(
                                "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
                                hex_from(self.spec.seed, 64)
                            ),
                        )]),
                        "kube-controller-manager",
                    ),
                    1..100 => (pairs(&[("config", &format!("# {name}\napiVersion: v1\n"))]), "kubeadm"),
                    _ if s.rev == 0 => (
                        pairs(&[("app.yaml", "log_level: info\nmetrics: true\n"), ("LOG_FORMAT", "json")]),
                        "helm",
                    ),
                    _ => (
                        pairs(&[
                            (
                                "app.yaml",
                                &format!(
                                    "log_level: {}\nmetrics: true\nrevision: {}\n",
                                    ["info", "debug"][s.rev as usize % 2],
                                    s.rev
                                ),
                            ),
                            ("LOG_FORMAT", "json"),
                        ]),
                        "helm",
                    ),
                };
                ob::configmap(nsn, name, uid, t, &[], &data, manager)
            }
            StaticKind::Secret => {
                let (ty, data, labels): (&str, Labels, Labels) = match s.arg {
                    1 => (
                        "helm.sh/release.v1",
                        pairs(&[("release", &hex_from(hash_str(uid), 96))]),
                        pairs(&[
                            ("name", name.split('.').nth(3).unwrap_or(name)),
                            ("owner", "helm"),
                            ("status", "deployed"),
                        ]),
                    ),
                    2 => (
                        "kubernetes.io/tls",
                        if s.rev == 0 {
                            pairs(&[
                                ("tls.crt", "-----BEGIN CERTIFICATE-----\n"),
                                ("tls.key", "-----BEGIN PRIVATE KEY-----\n"),
                            ])
                        } else {
                            // Renewed by cert-manager: a new key and certificate.
                            let h = hash_str(uid) ^ u64::from(s.rev);
                            pairs(&[
                                (
                                    "tls.crt",
                                    &format!("-----BEGIN CERTIFICATE-----\n{}\n", hex_from(h, 48)),
                                ),
                                (
                                    "tls.key",
                                    &format!("-----BEGIN PRIVATE KEY-----\n{}\n", hex_from(!h, 48)),
                                ),
                            ])
                        },
                        pairs(&[("controller.cert-manager.io/fao", "true")]),
                    ),
                    3 => (
                        "kubernetes.io/dockerconfigjson",
                        pairs(&[(
                            ".dockerconfigjson",
                            r#"{"auths":{"registry.example.com":{"auth":"c2ltOnNpbQ=="}}}"#,
                        )]),
                        Vec::new(),
                    ),
                    _ => (
                        "Opaque",
                        // Rotated passwords: a new value per revision.
                        pairs(&[("password", &hex_from(hash_str(uid) ^ u64::from(s.rev), 24))]),
                        Vec::new(),
                    ),
                };
                ob::secret(nsn, name, uid, t, &labels, ty, &data, "helm")
            }
            StaticKind::Role => {
                let rules: &[ob::Rule] = match s.arg {
                    0 => &[(&[""], &["secrets"], &["get", "list", "watch"])],
                    1 => &[(&[""], &["configmaps"], &["get", "list", "watch"])],
                    2 => &[(&["coordination.k8s.io"], &["leases"], &["get", "create", "update"])],
                    _ => &[(
                        &["", "apps"],
                        &["pods", "pods/log", "deployments"],
                        &["get", "list", "watch"],
                    )],
                };
                ob::role(ns, name, uid, t, &[], rules)
            }
            StaticKind::RoleBinding => {
                let mut subjects: Vec<ob::Subject> = if s.arg == 3 {
                    vec![("Group", "developers", None)]
                } else {
                    vec![("ServiceAccount", "default", ns)]
                };
                // People join and leave the team: each revision a different set of users.
                if s.arg == 3 {
                    let users = (s.rev as usize) % (DEVELOPERS.len() + 1);
                    subjects.extend(DEVELOPERS[..users].iter().map(|u| ("User", *u, None)));
                }
                ob::role_binding(ns, name, uid, t, &[], "Role", name, &subjects)
            }
            StaticKind::LimitRange => ob::limit_range(nsn, name, uid, t),
            StaticKind::NetworkPolicy => ob::network_policy(nsn, name, uid, t, s.arg == 1),
            StaticKind::ReplicationController => {
                let template = PodTemplate {
                    labels: pairs(&[("app", "legacy-frontend")]),
                    init_containers: Vec::new(),
                    containers: vec![Container::new("php", "php:8.4-apache")],
                    restart_policy: "Always",
                    service_account: None,
                    priority_class: None,
                    host_network: false,
                    tolerate_all: false,
                };
                ob::replication_controller(nsn, name, uid, t, &template)
            }
            StaticKind::Ingress => {
                let svc = &self.x.services[s.arg];
                let host = format!("{}.{}.example.com", svc.name, nsn);
                ob::ingress(&ob::IngressParams {
                    namespace: nsn,
                    name,
                    uid,
                    created: t,
                    class: "nginx",
                    host: &host,
                    service: &svc.name,
                    port_name: "http",
                    tls_secret: &format!("{name}-tls"),
                    load_balancer: (s.rev > 0).then(|| {
                        (
                            format!(
                                "k8s-ingress-{}.elb.eu-central-1.amazonaws.com",
                                hex_from(self.spec.seed, 10)
                            ),
                            s.changed.unwrap_or(at(t, 1)),
                        )
                    }),
                })
            }
        }
    }
}
