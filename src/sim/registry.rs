//! The table of served resources: one [`ResourceDef`] per resource, looked up by URL path
//! (group, version, plural) or by object type (apiVersion, kind).
//!
//! Stored resources come from the exporter's kind table (group, version, plural, kind, scope from
//! `k8s_openapi::Resource`); this file adds only what the API server does with each (generation,
//! `/status`, field selectors, short names). A list-only resource (no watch, list metadata
//! without resourceVersion, as metrics.k8s.io serves) sets `watchable: false` and
//! `list_resource_version: false`.
//!
//! The table grows while the server runs: a CustomResourceDefinition adds its custom resources
//! (`super::crd`) and deleting it retires them. Slots are addressed by index (`res`) everywhere
//! (store, watches, faults), so a retired slot stays as a tombstone and indexes never move.

use super::json::NameRule;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};
use tokio::sync::watch;

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
    /// A custom resource served for a CustomResourceDefinition (`super::crd`): any change outside
    /// `metadata` (and `status`, with a `/status` subresource) bumps `metadata.generation`, not
    /// only `.spec`; discovery lists the apiextensions verb order.
    pub custom: bool,
}

/// The resources the simulated server serves from the start, in discovery order: every kind of
/// the exporter's kind table (so a new kind is served without touching the sim), the
/// CustomResourceDefinitions of apiextensions.k8s.io, then metrics.k8s.io. Built once per process
/// (every server shares them; custom resources are added per server, see [`Registry::add`]).
pub fn builtin() -> Vec<&'static ResourceDef> {
    static DEFS: std::sync::LazyLock<Vec<ResourceDef>> = std::sync::LazyLock::new(|| {
        let mut defs: Vec<ResourceDef> = crate::kinds::table().iter().map(from_kind).collect();
        defs.push(super::crd::crd_def());
        // metrics.k8s.io (metrics-server behind the aggregator): get and list only,
        // `"metadata":{}` lists. v1 first: it is the preferred version when served
        // (`SimConfig::metrics_v1`).
        defs.extend([
            metrics_def("v1", "metrics.k8s.io/v1", false),
            metrics_def("v1", "metrics.k8s.io/v1", true),
            metrics_def("v1beta1", "metrics.k8s.io/v1beta1", false),
            metrics_def("v1beta1", "metrics.k8s.io/v1beta1", true),
        ]);
        defs
    });
    DEFS.iter().collect()
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
        custom: false,
    }
}

/// The derived names live as long as the process, like the table they come from (built once).
/// Custom resource defs leak theirs too: a test server creates a handful of CRDs.
pub(super) fn leak(s: String) -> &'static str {
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
        custom: false,
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

/// Where a group not named in [`GROUP_ORDER`] sorts: custom resource groups register their
/// APIServices with `groupPriorityMinimum: 1000`, below every built-in group and above
/// metrics-server's 100, so a real `/apis` lists them just before metrics.k8s.io (by name).
fn group_rank(g: &str) -> (usize, &str) {
    let metrics = GROUP_ORDER
        .iter()
        .position(|x| *x == "metrics.k8s.io")
        .unwrap_or(GROUP_ORDER.len());
    match GROUP_ORDER.iter().position(|x| *x == g) {
        Some(i) if i < metrics => (2 * i, ""),
        Some(i) => (2 * i + 1, ""),
        None => (2 * metrics, g),
    }
}

/// Kubernetes version priority (`v2` > `v1` > `v1beta2` > `v1beta1` > `v1alpha1` > other names
/// alphabetically), as the aggregator orders the versions of a custom resource group (its
/// APIServices all have `versionPriority: 100`). Smaller sorts first.
pub fn version_rank(v: &str) -> (u8, std::cmp::Reverse<u64>, std::cmp::Reverse<u64>, &str) {
    use std::cmp::Reverse;
    let parse = |s: &str| -> Option<(u8, u64, u64)> {
        let rest = s.strip_prefix('v')?;
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        let major: u64 = rest[..digits].parse().ok().filter(|m| *m > 0)?;
        let tail = &rest[digits..];
        if tail.is_empty() {
            return Some((0, major, 0));
        }
        let (stage, minor) = if let Some(m) = tail.strip_prefix("beta") {
            (1, m)
        } else {
            (2, tail.strip_prefix("alpha")?)
        };
        let minor: u64 = minor.parse().ok().filter(|m| *m > 0)?;
        Some((stage, major, minor))
    };
    match parse(v) {
        Some((stage, major, minor)) => (stage, Reverse(major), Reverse(minor), ""),
        None => (3, Reverse(0), Reverse(0), v),
    }
}

/// One registered resource. Slots are never removed: a retired one (its CRD deleted) stays as a
/// tombstone so every `res` index handed out (open watches, the event log, fault counters) stays
/// valid; lookups skip it.
#[derive(Debug)]
struct Slot {
    def: &'static ResourceDef,
    /// `{"kind":"Pod","apiVersion":"v1"` (no closing brace).
    type_prefix: Arc<[u8]>,
    /// The CustomResourceDefinition serving it; `None` for built-in resources.
    crd: Option<String>,
    live: bool,
    /// Bumped (to the event's rv) on every change of the objects stored at this index.
    signal: watch::Sender<u64>,
}

/// The resource table of one server: the built-ins, plus custom resources added and retired
/// while it runs (`super::crd`). Indexes (`res`) are stable for the life of the server.
///
/// Lock order: the registry's own lock is a leaf. It may be taken while holding the state lock
/// (`Core::lock`), never the other way round: no method here calls out.
#[derive(Debug)]
pub struct Registry {
    slots: RwLock<Vec<Slot>>,
}

fn slot(def: &'static ResourceDef, crd: Option<String>) -> Slot {
    Slot {
        def,
        type_prefix: format!(r#"{{"kind":"{}","apiVersion":"{}""#, def.kind, def.api_version)
            .into_bytes()
            .into(),
        crd,
        live: true,
        signal: watch::Sender::new(0),
    }
}

impl Registry {
    /// A registry of `defs`, in discovery order.
    pub fn new(defs: Vec<&'static ResourceDef>) -> Registry {
        Registry {
            slots: RwLock::new(defs.into_iter().map(|d| slot(d, None)).collect()),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, Vec<Slot>> {
        self.slots.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Slots ever registered, retired ones included.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// No slot at all (never the case for a running server).
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    /// The def of a slot (a retired one too). Panics on an index never handed out.
    pub fn def(&self, res: usize) -> &'static ResourceDef {
        self.read()[res].def
    }

    /// `{"kind":"Pod","apiVersion":"v1"` (no closing brace) of a slot.
    pub fn type_prefix(&self, res: usize) -> Arc<[u8]> {
        self.read()[res].type_prefix.clone()
    }

    /// Still served (not retired)?
    pub fn is_live(&self, res: usize) -> bool {
        self.read().get(res).is_some_and(|s| s.live)
    }

    /// A receiver of the change signal of the objects stored at `res`.
    pub fn subscribe(&self, res: usize) -> Option<watch::Receiver<u64>> {
        self.read().get(res).map(|s| s.signal.subscribe())
    }

    /// Wakes the watches of the objects stored at `res`: they changed up to `rv`.
    pub fn signal(&self, res: usize, rv: u64) {
        if let Some(s) = self.read().get(res) {
            s.signal.send_replace(rv);
        }
    }

    fn position(&self, f: impl Fn(&ResourceDef) -> bool) -> Option<usize> {
        self.read().iter().position(|s| s.live && f(s.def))
    }

    /// By URL: group (`""` for core), version, plural.
    pub fn by_path(&self, group: &str, version: &str, plural: &str) -> Option<usize> {
        self.position(|d| d.group == group && d.version == version && d.plural == plural)
    }

    /// By object type: `apiVersion` and `kind`.
    pub fn by_type(&self, api_version: &str, kind: &str) -> Option<usize> {
        self.position(|d| d.api_version == api_version && d.kind == kind)
    }

    /// By resource name as the Rust API takes it: `pods`, or `deployments.apps` / `pods.metrics.k8s.io`
    /// to pick a group. A plain plural picks the first match in table order (core first; a custom
    /// resource's preferred version first).
    pub fn by_name(&self, name: &str) -> Option<usize> {
        if let Some(i) = self.position(|d| d.plural == name) {
            return Some(i);
        }
        let (plural, group) = name.split_once('.')?;
        self.position(|d| d.plural == plural && d.group == group)
    }

    /// Is `group/version` served (core: `("", "v1")`)?
    pub fn serves_group_version(&self, group: &str, version: &str) -> bool {
        self.position(|d| d.group == group && d.version == version).is_some()
    }

    /// Is any version of `group` served?
    pub fn serves_group(&self, group: &str) -> bool {
        self.position(|d| d.group == group).is_some()
    }

    /// Is `group/version` served by custom resources only? Its unknown paths fall through the
    /// CRD handler to the plain-text `404 page not found`, not a Status.
    pub fn is_custom_group_version(&self, group: &str, version: &str) -> bool {
        let slots = self.read();
        let mut live = slots
            .iter()
            .filter(|s| s.live && s.def.group == group && s.def.version == version)
            .peekable();
        live.peek().is_some() && live.all(|s| s.def.custom)
    }

    /// Served versions of a group, deduplicated: built-in groups in table order, custom resource
    /// groups by Kubernetes version priority (the first is the preferred version).
    pub fn group_versions(&self, group: &str) -> Vec<&'static str> {
        let slots = self.read();
        let mut out: Vec<&'static str> = Vec::new();
        let mut custom = false;
        for d in slots.iter().filter(|s| s.live && s.def.group == group).map(|s| s.def) {
            custom |= d.custom;
            if !out.contains(&d.version) {
                out.push(d.version);
            }
        }
        if custom {
            out.sort_by(|a, b| version_rank(a).cmp(&version_rank(b)));
        }
        out
    }

    /// Served non-core groups in the order of a real server's `/apis`.
    pub fn groups(&self) -> Vec<&'static str> {
        let slots = self.read();
        let mut out: Vec<&'static str> = Vec::new();
        for d in slots
            .iter()
            .filter(|s| s.live && !s.def.group.is_empty())
            .map(|s| s.def)
        {
            if !out.contains(&d.group) {
                out.push(d.group);
            }
        }
        out.sort_by(|a, b| group_rank(a).cmp(&group_rank(b)));
        out
    }

    /// Served resources of one group/version: built-ins in table order, then custom resources
    /// by name (the CRD discovery controller sorts them).
    pub fn resources_of(&self, group: &str, version: &str) -> Vec<usize> {
        let slots = self.read();
        let mut out: Vec<usize> = (0..slots.len())
            .filter(|&i| slots[i].live && slots[i].def.group == group && slots[i].def.version == version)
            .collect();
        out.sort_by_key(|&i| {
            (
                slots[i].def.custom,
                if slots[i].def.custom { slots[i].def.plural } else { "" },
            )
        });
        out
    }

    /// Registers a custom resource of CRD `crd`; returns its index. Call with the state lock
    /// held, together with `State::add_resource`, so the two tables grow in step.
    pub fn add(&self, def: &'static ResourceDef, crd: &str) -> usize {
        let mut slots = self.slots.write().unwrap_or_else(PoisonError::into_inner);
        slots.push(slot(def, Some(crd.to_string())));
        slots.len() - 1
    }

    /// Live slots served for CRD `crd`, in registration order.
    pub fn of_crd(&self, crd: &str) -> Vec<usize> {
        let slots = self.read();
        (0..slots.len())
            .filter(|&i| slots[i].live && slots[i].crd.as_deref() == Some(crd))
            .collect()
    }

    /// Retires every slot of CRD `crd` (tombstones); returns their indexes.
    pub fn retire_crd(&self, crd: &str) -> Vec<usize> {
        let mut slots = self.slots.write().unwrap_or_else(PoisonError::into_inner);
        let mut out = Vec::new();
        for (i, s) in slots.iter_mut().enumerate() {
            if s.live && s.crd.as_deref() == Some(crd) {
                s.live = false;
                out.push(i);
            }
        }
        out
    }
}
