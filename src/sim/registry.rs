//! The table of served resources: one [`ResourceDef`] per resource, looked up by URL path
//! (group, version, plural) or by object type (apiVersion, kind).
//!
//! Stored resources come from the exporter's kind table (group, version, plural, kind, scope from
//! `k8s_openapi::Resource`); this file adds only what the API server does with each (generation,
//! `/status`, field selectors, short names). A list-only resource (no watch, list metadata
//! without resourceVersion, as metrics.k8s.io serves) sets `watchable: false` and
//! `list_resource_version: false`.

use super::json::NameRule;

/// One served resource.
#[derive(Debug, Clone)]
pub struct ResourceDef {
    /// API group, `""` for the core group.
    pub group: &'static str,
    pub version: &'static str,
    /// `v1` or `group/version`.
    pub api_version: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub kind: &'static str,
    pub list_kind: &'static str,
    pub namespaced: bool,
    /// Serves `watch=true`. When false a watch answers 405 MethodNotAllowed.
    pub watchable: bool,
    /// A list carries `metadata.resourceVersion` (false for metrics.k8s.io lists: `"metadata":{}`).
    pub list_resource_version: bool,
    /// The API server maintains `metadata.generation` (1 on create, +1 when `.spec` changes).
    pub has_generation: bool,
    /// A `/status` subresource exists: writes to the main resource keep the old status, writes to
    /// `/status` change only the status.
    pub status_subresource: bool,
    /// Deleting goes through a graceful step first (pods): a MODIFIED with `deletionTimestamp`
    /// and `deletionGracePeriodSeconds: 0`, then the DELETED.
    pub graceful_delete: bool,
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    /// Selectable fields beyond `metadata.name`/`metadata.namespace`: (dotted path, value when absent).
    pub fields: &'static [(&'static str, &'static str)],
    /// What follows `"metadata":{…}` in a BOOKMARK object: the Go zero value of the type, as a real
    /// server serializes it (fields without `omitempty`).
    pub bookmark_tail: &'static str,
    /// The `spec` value of a deliberately type-broken watch event (`Faults::malformed_next_event`).
    pub malformed_spec: &'static str,
    /// How object names are validated on create.
    pub name_rule: NameRule,
    /// Objects are computed from other resources on every request, never stored (metrics.k8s.io,
    /// served by `super::metrics`); writes are refused.
    pub derived: bool,
}

/// The resources the simulated server serves, in discovery order: every kind of the exporter's
/// kind table (so a new kind is served without touching the sim), then metrics.k8s.io.
pub fn builtin() -> Vec<ResourceDef> {
    static STORED: std::sync::LazyLock<Vec<ResourceDef>> =
        std::sync::LazyLock::new(|| crate::kinds::table().iter().map(from_kind).collect());
    let mut defs = STORED.clone();
    // metrics.k8s.io (metrics-server behind the aggregator): get and list only, `"metadata":{}`
    // lists. v1 first: it is the preferred version when served (`SimConfig::metrics_v1`).
    defs.extend([
        metrics_def("v1", "metrics.k8s.io/v1", false),
        metrics_def("v1", "metrics.k8s.io/v1", true),
        metrics_def("v1beta1", "metrics.k8s.io/v1beta1", false),
        metrics_def("v1beta1", "metrics.k8s.io/v1beta1", true),
    ]);
    defs
}

/// A stored, watchable resource from its kind-table row plus the server behaviour of that
/// resource ([`behaviour`]).
fn from_kind(entry: &crate::kinds::KindEntry) -> ResourceDef {
    let b = behaviour(entry.resource);
    ResourceDef {
        group: entry.group,
        version: entry.version,
        api_version: entry.api_version,
        plural: entry.resource,
        singular: leak(entry.kind.to_ascii_lowercase()),
        kind: entry.kind,
        list_kind: leak(format!("{}List", entry.kind)),
        namespaced: entry.namespaced,
        watchable: true,
        list_resource_version: true,
        has_generation: b.generation,
        status_subresource: b.status,
        graceful_delete: entry.resource == "pods",
        short_names: b.short_names,
        categories: b.categories,
        fields: b.fields,
        bookmark_tail: b.bookmark_tail,
        malformed_spec: b.malformed_spec,
        name_rule: match entry.resource {
            "namespaces" => NameRule::Label,
            "roles" | "rolebindings" | "clusterroles" | "clusterrolebindings" => NameRule::PathSegment,
            _ => NameRule::Subdomain,
        },
        derived: false,
    }
}

/// The derived names live as long as the process, like the table they come from (built once).
fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// How a v1.36 API server treats one resource, beyond what its type says.
struct Behaviour {
    /// `metadata.generation` maintained (seen in the captured objects of `apiserver-wire/`).
    generation: bool,
    /// A `/status` subresource exists.
    status: bool,
    short_names: &'static [&'static str],
    categories: &'static [&'static str],
    fields: &'static [(&'static str, &'static str)],
    bookmark_tail: &'static str,
    malformed_spec: &'static str,
}

const PLAIN: Behaviour = Behaviour {
    generation: false,
    status: false,
    short_names: &[],
    categories: &[],
    fields: &[],
    // Kinds without a capture of their BOOKMARK send metadata only (kube-rs reads nothing else).
    bookmark_tail: "",
    malformed_spec: r#""oops""#,
};

/// The server-side facts per resource: generation and `/status` as the captured v1.36 objects
/// and discovery show them, kubectl's short names and categories, the field selectors the server
/// accepts beyond `metadata.name`/`metadata.namespace`, and Go zero-value BOOKMARK tails where
/// captured. Unknown resources get [`PLAIN`].
fn behaviour(resource: &str) -> Behaviour {
    const ALL: &[&str] = &["all"];
    const EXT: &[&str] = &["api-extensions"];
    let workload = |short: &'static [&'static str]| Behaviour {
        generation: true,
        status: true,
        short_names: short,
        categories: ALL,
        ..PLAIN
    };
    match resource {
        "pods" => Behaviour {
            fields: &[
                ("spec.nodeName", ""),
                ("spec.restartPolicy", ""),
                ("spec.schedulerName", ""),
                ("spec.serviceAccountName", ""),
                ("spec.hostNetwork", "false"),
                ("status.phase", ""),
                ("status.podIP", ""),
                ("status.nominatedNodeName", ""),
            ],
            bookmark_tail: r#","spec":{"containers":null},"status":{}"#,
            malformed_spec: r#"{"containers":"oops"}"#,
            ..workload(&["po"])
        },
        "nodes" => Behaviour {
            status: true,
            short_names: &["no"],
            fields: &[("spec.unschedulable", "false")],
            bookmark_tail: r#","spec":{},"status":{"daemonEndpoints":{"kubeletEndpoint":{"Port":0}},"nodeInfo":{"machineID":"","systemUUID":"","bootID":"","kernelVersion":"","osImage":"","containerRuntimeVersion":"","kubeletVersion":"","kubeProxyVersion":"","operatingSystem":"","architecture":""}}"#,
            malformed_spec: r#"{"taints":"oops"}"#,
            ..PLAIN
        },
        "namespaces" => Behaviour {
            status: true,
            short_names: &["ns"],
            fields: &[("status.phase", "")],
            bookmark_tail: r#","spec":{},"status":{}"#,
            malformed_spec: r#"{"finalizers":"oops"}"#,
            ..PLAIN
        },
        "deployments" => Behaviour {
            bookmark_tail: r#","spec":{"selector":null,"template":{"metadata":{},"spec":{"containers":null}},"strategy":{}},"status":{}"#,
            malformed_spec: r#"{"replicas":"oops"}"#,
            ..workload(&["deploy"])
        },
        "daemonsets" => Behaviour {
            bookmark_tail: r#","spec":{"selector":null,"template":{"metadata":{},"spec":{"containers":null}},"updateStrategy":{}},"status":{"currentNumberScheduled":0,"numberMisscheduled":0,"desiredNumberScheduled":0,"numberReady":0}"#,
            malformed_spec: r#"{"selector":"oops"}"#,
            ..workload(&["ds"])
        },
        "replicasets" => Behaviour {
            fields: &[("status.replicas", "0")],
            bookmark_tail: r#","spec":{"selector":null,"template":{"metadata":{},"spec":{"containers":null}}},"status":{"replicas":0}"#,
            malformed_spec: r#"{"replicas":"oops"}"#,
            ..workload(&["rs"])
        },
        "jobs" => Behaviour {
            fields: &[("status.successful", "0")],
            bookmark_tail: r#","spec":{"template":{"metadata":{},"spec":{"containers":null}}},"status":{}"#,
            malformed_spec: r#"{"parallelism":"oops"}"#,
            ..workload(&[])
        },
        // The capture (object-hpa-v2.http) shows a v1.36 HPA without metadata.generation.
        "horizontalpodautoscalers" => Behaviour {
            generation: false,
            bookmark_tail: r#","spec":{"scaleTargetRef":{"kind":"","name":""},"maxReplicas":0},"status":{"desiredReplicas":0}"#,
            malformed_spec: r#"{"maxReplicas":"oops"}"#,
            ..workload(&["hpa"])
        },
        // The capture (object-apiservice.http) shows no metadata.generation.
        "apiservices" => Behaviour {
            status: true,
            categories: EXT,
            bookmark_tail: r#","spec":{"groupPriorityMinimum":0,"versionPriority":0},"status":{}"#,
            malformed_spec: r#"{"versionPriority":"oops"}"#,
            ..PLAIN
        },
        "statefulsets" => workload(&["sts"]),
        "replicationcontrollers" => workload(&["rc"]),
        "cronjobs" => workload(&["cj"]),
        "services" => Behaviour {
            status: true,
            short_names: &["svc"],
            categories: ALL,
            ..PLAIN
        },
        "endpoints" => Behaviour {
            short_names: &["ep"],
            ..PLAIN
        },
        "endpointslices" | "ingressclasses" => Behaviour {
            generation: true,
            ..PLAIN
        },
        "ingresses" => Behaviour {
            generation: true,
            status: true,
            short_names: &["ing"],
            ..PLAIN
        },
        "networkpolicies" => Behaviour {
            generation: true,
            short_names: &["netpol"],
            ..PLAIN
        },
        "poddisruptionbudgets" => Behaviour {
            generation: true,
            status: true,
            short_names: &["pdb"],
            ..PLAIN
        },
        "persistentvolumes" => Behaviour {
            status: true,
            short_names: &["pv"],
            ..PLAIN
        },
        "persistentvolumeclaims" => Behaviour {
            status: true,
            short_names: &["pvc"],
            ..PLAIN
        },
        "resourcequotas" => Behaviour {
            status: true,
            short_names: &["quota"],
            ..PLAIN
        },
        "limitranges" => Behaviour {
            short_names: &["limits"],
            ..PLAIN
        },
        "configmaps" => Behaviour {
            short_names: &["cm"],
            ..PLAIN
        },
        "secrets" => Behaviour {
            fields: &[("type", "")],
            ..PLAIN
        },
        "serviceaccounts" => Behaviour {
            short_names: &["sa"],
            ..PLAIN
        },
        "storageclasses" => Behaviour {
            short_names: &["sc"],
            ..PLAIN
        },
        "certificatesigningrequests" => Behaviour {
            status: true,
            short_names: &["csr"],
            fields: &[("spec.signerName", "")],
            ..PLAIN
        },
        "volumeattachments" => Behaviour { status: true, ..PLAIN },
        "validatingadmissionpolicies" => Behaviour {
            generation: true,
            status: true,
            categories: EXT,
            ..PLAIN
        },
        "mutatingwebhookconfigurations"
        | "validatingwebhookconfigurations"
        | "mutatingadmissionpolicies"
        | "mutatingadmissionpolicybindings"
        | "validatingadmissionpolicybindings" => Behaviour {
            generation: true,
            categories: EXT,
            ..PLAIN
        },
        _ => PLAIN,
    }
}

/// `nodes` (NodeMetrics) or, with `pods`, `pods` (PodMetrics) of metrics.k8s.io at `version`.
fn metrics_def(version: &'static str, api_version: &'static str, pods: bool) -> ResourceDef {
    ResourceDef {
        group: "metrics.k8s.io",
        version,
        api_version,
        plural: if pods { "pods" } else { "nodes" },
        singular: if pods { "pod" } else { "node" },
        kind: if pods { "PodMetrics" } else { "NodeMetrics" },
        list_kind: if pods { "PodMetricsList" } else { "NodeMetricsList" },
        namespaced: pods,
        watchable: false,
        list_resource_version: false,
        has_generation: false,
        status_subresource: false,
        graceful_delete: false,
        short_names: &[],
        categories: &[],
        fields: &[],
        bookmark_tail: "",
        malformed_spec: "{}",
        name_rule: NameRule::Subdomain,
        derived: true,
    }
}

/// Group order of a real v1.36 `/apis` (apis.http); groups not named here sort after, by name.
pub(super) const GROUP_ORDER: &[&str] = &[
    "apiregistration.k8s.io",
    "apps",
    "events.k8s.io",
    "authentication.k8s.io",
    "authorization.k8s.io",
    "autoscaling",
    "batch",
    "certificates.k8s.io",
    "networking.k8s.io",
    "policy",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "scheduling.k8s.io",
    "coordination.k8s.io",
    "node.k8s.io",
    "discovery.k8s.io",
    "resource.k8s.io",
    "flowcontrol.apiserver.k8s.io",
    "metrics.k8s.io",
];

/// The resource table plus precomputed per-resource byte strings.
#[derive(Debug)]
pub struct Registry {
    pub defs: Vec<ResourceDef>,
    /// `{"kind":"Pod","apiVersion":"v1"` (no closing brace), per resource.
    pub type_prefix: Vec<Vec<u8>>,
}

impl Registry {
    pub fn new(defs: Vec<ResourceDef>) -> Registry {
        let type_prefix = defs
            .iter()
            .map(|d| format!(r#"{{"kind":"{}","apiVersion":"{}""#, d.kind, d.api_version).into_bytes())
            .collect();
        Registry { defs, type_prefix }
    }

    pub fn len(&self) -> usize {
        self.defs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.defs.is_empty()
    }

    pub fn def(&self, res: usize) -> &ResourceDef {
        &self.defs[res]
    }

    /// By URL: group (`""` for core), version, plural.
    pub fn by_path(&self, group: &str, version: &str, plural: &str) -> Option<usize> {
        self.defs
            .iter()
            .position(|d| d.group == group && d.version == version && d.plural == plural)
    }

    /// By object type: `apiVersion` and `kind`.
    pub fn by_type(&self, api_version: &str, kind: &str) -> Option<usize> {
        self.defs
            .iter()
            .position(|d| d.api_version == api_version && d.kind == kind)
    }

    /// By resource name as the Rust API takes it: `pods`, or `deployments.apps` / `pods.metrics.k8s.io`
    /// to pick a group. A plain plural picks the first match in table order (core first).
    pub fn by_name(&self, name: &str) -> Option<usize> {
        if let Some(i) = self.defs.iter().position(|d| d.plural == name) {
            return Some(i);
        }
        let (plural, group) = name.split_once('.')?;
        self.defs.iter().position(|d| d.plural == plural && d.group == group)
    }

    /// Is `group/version` served (core: `("", "v1")`)?
    pub fn serves_group_version(&self, group: &str, version: &str) -> bool {
        self.defs.iter().any(|d| d.group == group && d.version == version)
    }

    pub fn serves_group(&self, group: &str) -> bool {
        self.defs.iter().any(|d| d.group == group)
    }

    /// Served versions of a group, in table order, deduplicated.
    pub fn group_versions(&self, group: &str) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for d in self.defs.iter().filter(|d| d.group == group) {
            if !out.contains(&d.version) {
                out.push(d.version);
            }
        }
        out
    }

    /// Served non-core groups in the order of a real server's `/apis`.
    pub fn groups(&self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for d in self.defs.iter().filter(|d| !d.group.is_empty()) {
            if !out.contains(&d.group) {
                out.push(d.group);
            }
        }
        out.sort_by_key(|g| (GROUP_ORDER.iter().position(|x| x == g).unwrap_or(usize::MAX), *g));
        out
    }

    /// Resources of one group/version, in table order.
    pub fn resources_of(&self, group: &str, version: &str) -> Vec<usize> {
        (0..self.defs.len())
            .filter(|&i| self.defs[i].group == group && self.defs[i].version == version)
            .collect()
    }
}
