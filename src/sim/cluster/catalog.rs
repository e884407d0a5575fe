//! What a generated cluster is made of: region and instance types, namespace and app names,
//! the DaemonSets and Job kinds it runs, the Local APIServices of its control plane.

use super::pod::{Container, PodTemplate};
use super::util::pairs;

/// Local APIServices of the generated cluster: (group, version, groupPriorityMinimum,
/// versionPriority), as kube-aggregator's autoregister controller creates them.
pub(super) const LOCAL_APISERVICES: [(&str, &str, i32, i32); 5] = [
    ("", "v1", 18000, 1),
    ("apiregistration.k8s.io", "v1", 18000, 15),
    ("apps", "v1", 17800, 15),
    ("autoscaling", "v2", 17500, 30),
    ("batch", "v1", 17400, 15),
];

/// Inputs of [`node`].
pub(super) const REGION: &str = "eu-central-1";
pub(super) const ZONES: [&str; 3] = ["eu-central-1a", "eu-central-1b", "eu-central-1c"];
/// (instance type, cpus, memory GiB). Pods are placed at random, not by a scheduler, so nodes
/// are sized for ~30 pods at the catalogs' requests (about 0.7 cores and 1 GiB a pod) with
/// room for the spread: 40–70% requested, never over, as a scheduled cluster looks.
pub(super) const WORKER_TYPES: [(&str, u32, u32); 5] = [
    ("m6i.12xlarge", 48, 192),
    ("m6i.16xlarge", 64, 256),
    ("c6i.12xlarge", 48, 96),
    ("r6i.12xlarge", 48, 384),
    ("m6a.12xlarge", 48, 192),
];
pub(super) const CONTROL_PLANE_TYPE: (&str, u32, u32) = ("m6i.xlarge", 4, 16);

pub(super) const NS_NAMES: [&str; 24] = [
    "default",
    "kube-system",
    "monitoring",
    "shop",
    "payments",
    "search",
    "identity",
    "data",
    "platform",
    "ml",
    "ads",
    "media",
    "billing",
    "catalog",
    "checkout",
    "notifications",
    "analytics",
    "logistics",
    "support",
    "growth",
    "security",
    "mobile",
    "partners",
    "reporting",
];

pub(super) const APP_WORDS: [&str; 40] = [
    "web",
    "api",
    "frontend",
    "backend",
    "worker",
    "gateway",
    "auth",
    "cart",
    "checkout",
    "catalog",
    "search",
    "payments",
    "orders",
    "inventory",
    "shipping",
    "notifications",
    "mailer",
    "recommendations",
    "reviews",
    "profile",
    "session",
    "cache-warmer",
    "scheduler",
    "ingest",
    "indexer",
    "exporter",
    "reporting",
    "billing",
    "pricing",
    "media",
    "thumbnailer",
    "graphql",
    "admin",
    "webhooks",
    "sync",
    "consumer",
    "ledger",
    "fraud",
    "geo",
    "chat",
];
pub(super) const APP_QUALIFIERS: [&str; 10] = [
    "v2", "internal", "canary", "public", "batch", "edge", "grpc", "ro", "eu", "legacy",
];

/// Name, whether it lives in `monitoring` (else `kube-system`), template.
pub(super) fn daemonset_catalog(i: usize) -> (String, bool, PodTemplate) {
    let base = |labels: &[(&str, &str)], sa: &str| PodTemplate {
        labels: pairs(labels),
        init_containers: Vec::new(),
        containers: Vec::new(),
        restart_policy: "Always",
        service_account: Some(sa.to_string()),
        priority_class: Some(("system-node-critical".to_string(), 2_000_001_000)),
        host_network: true,
        tolerate_all: true,
    };
    let (name, monitoring, template) = match i % 4 {
        0 => {
            let mut t = base(&[("k8s-app", "kube-proxy")], "kube-proxy");
            let mut c = Container::new("kube-proxy", "registry.k8s.io/kube-proxy:v1.36.2").resources(
                Some(100),
                None,
                None,
                None,
            );
            c.command = vec![
                "/usr/local/bin/kube-proxy".into(),
                "--config=/var/lib/kube-proxy/config.conf".into(),
                "--hostname-override=$(NODE_NAME)".into(),
            ];
            t.containers.push(c);
            ("kube-proxy", false, t)
        }
        1 => {
            let mut t = base(&[("k8s-app", "cilium")], "cilium");
            let mut init = Container::new("mount-cgroup", "quay.io/cilium/cilium:v1.16.5").resources(
                Some(100),
                None,
                Some(128),
                None,
            );
            init.command = vec![
                "sh".into(),
                "-ec".into(),
                "cp /usr/bin/cilium-mount /hostbin/cilium-mount".into(),
            ];
            t.init_containers.push(init);
            let mut c = Container::new("cilium-agent", "quay.io/cilium/cilium:v1.16.5").resources(
                Some(100),
                None,
                Some(128),
                None,
            );
            c.command = vec!["cilium-agent".into()];
            t.containers.push(c);
            ("cilium", false, t)
        }
        2 => {
            let mut t = base(&[("app.kubernetes.io/name", "node-exporter")], "node-exporter");
            t.priority_class = None;
            let mut c = Container::new("node-exporter", "quay.io/prometheus/node-exporter:v1.8.2").resources(
                None,
                Some(100),
                None,
                Some(64),
            );
            c.port = Some(9100);
            t.containers.push(c);
            ("node-exporter", true, t)
        }
        _ => {
            let mut t = base(&[("app.kubernetes.io/name", "fluent-bit")], "fluent-bit");
            t.priority_class = None;
            t.host_network = false;
            let mut c = Container::new("fluent-bit", "cr.fluentbit.io/fluent/fluent-bit:3.2.4").resources(
                Some(50),
                None,
                Some(64),
                Some(256),
            );
            c.port = Some(2020);
            t.containers.push(c);
            ("fluent-bit", false, t)
        }
    };
    let name = if i < 4 {
        name.to_string()
    } else {
        format!("{name}-{}", i / 4 + 1)
    };
    (name, monitoring, template)
}

/// Name prefix, image, command, resources (cpu request/limit m, memory request/limit Mi).
pub(super) type JobKind = (&'static str, &'static str, &'static [&'static str], [Option<u32>; 4]);

pub(super) fn job_catalog() -> Vec<(&'static str, PodTemplate)> {
    let spec: [JobKind; 6] = [
        (
            "nightly-backup",
            "ghcr.io/acme/backup-tool:2.3.1",
            &["/bin/backup", "--target=s3://backups"],
            [Some(250), None, Some(256), Some(512)],
        ),
        (
            "db-migrate",
            "ghcr.io/acme/migrate:1.4.0",
            &["/migrate", "up"],
            [Some(100), None, Some(128), None],
        ),
        (
            "report-daily",
            "python:3.12-slim",
            &["python", "/app/report.py"],
            [None, Some(500), None, Some(1024)],
        ),
        (
            "cache-rebuild",
            "ghcr.io/acme/cache-tool:0.9.2",
            &[],
            [None, None, None, None],
        ),
        (
            "etl-import",
            "ghcr.io/acme/etl:3.1.0",
            &["etl", "import", "--since=24h"],
            [Some(1000), None, Some(2048), Some(4096)],
        ),
        (
            "cleanup",
            "bitnami/kubectl:1.36",
            &["kubectl", "delete", "pods", "--field-selector=status.phase==Succeeded"],
            [Some(50), None, Some(64), None],
        ),
    ];
    spec.iter()
        .map(|(name, image, cmd, [cr, cl, mr, ml])| {
            let mut c = Container::new("main", image).resources(*cr, *cl, *mr, *ml);
            c.command = cmd.iter().map(|s| s.to_string()).collect();
            let t = PodTemplate {
                labels: pairs(&[("app", name)]),
                init_containers: Vec::new(),
                containers: vec![c],
                restart_policy: "Never",
                service_account: None,
                priority_class: None,
                host_network: false,
                tolerate_all: false,
            };
            (*name, t)
        })
        .collect()
}
