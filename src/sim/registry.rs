//! The table of served resources: one [`ResourceDef`] per resource, looked up by URL path
//! (group, version, plural) or by object type (apiVersion, kind).
//!
//! Adding a resource is one more entry in [`builtin`]. A list-only resource (no watch, list
//! metadata without resourceVersion, as metrics.k8s.io serves) sets `watchable: false` and
//! `list_resource_version: false`.

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
    /// Objects are computed from other resources on every request, never stored (metrics.k8s.io,
    /// served by `super::metrics`); writes are refused.
    pub derived: bool,
}

/// The resources the simulated server serves, in discovery order.
pub fn builtin() -> Vec<ResourceDef> {
    vec![
        ResourceDef {
            group: "",
            version: "v1",
            api_version: "v1",
            plural: "pods",
            singular: "pod",
            kind: "Pod",
            list_kind: "PodList",
            namespaced: true,
            watchable: true,
            list_resource_version: true,
            has_generation: true,
            status_subresource: true,
            graceful_delete: true,
            short_names: &["po"],
            categories: &["all"],
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
            derived: false,
        },
        ResourceDef {
            group: "",
            version: "v1",
            api_version: "v1",
            plural: "nodes",
            singular: "node",
            kind: "Node",
            list_kind: "NodeList",
            namespaced: false,
            watchable: true,
            list_resource_version: true,
            has_generation: false,
            status_subresource: true,
            graceful_delete: false,
            short_names: &["no"],
            categories: &[],
            fields: &[("spec.unschedulable", "false")],
            bookmark_tail: r#","spec":{},"status":{"daemonEndpoints":{"kubeletEndpoint":{"Port":0}},"nodeInfo":{"machineID":"","systemUUID":"","bootID":"","kernelVersion":"","osImage":"","containerRuntimeVersion":"","kubeletVersion":"","kubeProxyVersion":"","operatingSystem":"","architecture":""}}"#,
            malformed_spec: r#"{"taints":"oops"}"#,
            derived: false,
        },
        ResourceDef {
            group: "",
            version: "v1",
            api_version: "v1",
            plural: "namespaces",
            singular: "namespace",
            kind: "Namespace",
            list_kind: "NamespaceList",
            namespaced: false,
            watchable: true,
            list_resource_version: true,
            has_generation: false,
            status_subresource: true,
            graceful_delete: false,
            short_names: &["ns"],
            categories: &[],
            fields: &[("status.phase", "")],
            bookmark_tail: r#","spec":{},"status":{}"#,
            malformed_spec: r#"{"finalizers":"oops"}"#,
            derived: false,
        },
        ResourceDef {
            group: "apps",
            version: "v1",
            api_version: "apps/v1",
            plural: "deployments",
            singular: "deployment",
            kind: "Deployment",
            list_kind: "DeploymentList",
            namespaced: true,
            watchable: true,
            list_resource_version: true,
            has_generation: true,
            status_subresource: true,
            graceful_delete: false,
            short_names: &["deploy"],
            categories: &["all"],
            fields: &[],
            bookmark_tail: r#","spec":{"selector":null,"template":{"metadata":{},"spec":{"containers":null}},"strategy":{}},"status":{}"#,
            malformed_spec: r#"{"replicas":"oops"}"#,
            derived: false,
        },
        ResourceDef {
            group: "apps",
            version: "v1",
            api_version: "apps/v1",
            plural: "daemonsets",
            singular: "daemonset",
            kind: "DaemonSet",
            list_kind: "DaemonSetList",
            namespaced: true,
            watchable: true,
            list_resource_version: true,
            has_generation: true,
            status_subresource: true,
            graceful_delete: false,
            short_names: &["ds"],
            categories: &["all"],
            fields: &[],
            bookmark_tail: r#","spec":{"selector":null,"template":{"metadata":{},"spec":{"containers":null}},"updateStrategy":{}},"status":{"currentNumberScheduled":0,"numberMisscheduled":0,"desiredNumberScheduled":0,"numberReady":0}"#,
            malformed_spec: r#"{"selector":"oops"}"#,
            derived: false,
        },
        ResourceDef {
            group: "apps",
            version: "v1",
            api_version: "apps/v1",
            plural: "replicasets",
            singular: "replicaset",
            kind: "ReplicaSet",
            list_kind: "ReplicaSetList",
            namespaced: true,
            watchable: true,
            list_resource_version: true,
            has_generation: true,
            status_subresource: true,
            graceful_delete: false,
            short_names: &["rs"],
            categories: &["all"],
            fields: &[("status.replicas", "0")],
            bookmark_tail: r#","spec":{"selector":null,"template":{"metadata":{},"spec":{"containers":null}}},"status":{"replicas":0}"#,
            malformed_spec: r#"{"replicas":"oops"}"#,
            derived: false,
        },
        ResourceDef {
            group: "batch",
            version: "v1",
            api_version: "batch/v1",
            plural: "jobs",
            singular: "job",
            kind: "Job",
            list_kind: "JobList",
            namespaced: true,
            watchable: true,
            list_resource_version: true,
            has_generation: true,
            status_subresource: true,
            graceful_delete: false,
            short_names: &[],
            categories: &["all"],
            fields: &[("status.successful", "0")],
            bookmark_tail: r#","spec":{"template":{"metadata":{},"spec":{"containers":null}}},"status":{}"#,
            malformed_spec: r#"{"parallelism":"oops"}"#,
            derived: false,
        },
        ResourceDef {
            group: "autoscaling",
            version: "v2",
            api_version: "autoscaling/v2",
            plural: "horizontalpodautoscalers",
            singular: "horizontalpodautoscaler",
            kind: "HorizontalPodAutoscaler",
            list_kind: "HorizontalPodAutoscalerList",
            namespaced: true,
            watchable: true,
            list_resource_version: true,
            // The capture (object-hpa-v2.http) shows a v1.36 HPA without metadata.generation.
            has_generation: false,
            status_subresource: true,
            graceful_delete: false,
            short_names: &["hpa"],
            categories: &["all"],
            fields: &[],
            bookmark_tail: r#","spec":{"scaleTargetRef":{"kind":"","name":""},"maxReplicas":0},"status":{"desiredReplicas":0}"#,
            malformed_spec: r#"{"maxReplicas":"oops"}"#,
            derived: false,
        },
        ResourceDef {
            group: "apiregistration.k8s.io",
            version: "v1",
            api_version: "apiregistration.k8s.io/v1",
            plural: "apiservices",
            singular: "apiservice",
            kind: "APIService",
            list_kind: "APIServiceList",
            namespaced: false,
            watchable: true,
            list_resource_version: true,
            // The capture (object-apiservice.http) shows no metadata.generation.
            has_generation: false,
            status_subresource: true,
            graceful_delete: false,
            short_names: &[],
            categories: &["api-extensions"],
            fields: &[],
            bookmark_tail: r#","spec":{"groupPriorityMinimum":0,"versionPriority":0},"status":{}"#,
            malformed_spec: r#"{"versionPriority":"oops"}"#,
            derived: false,
        },
        // metrics.k8s.io (metrics-server behind the aggregator): get and list only, `"metadata":{}`
        // lists. v1 first: it is the preferred version when served (`SimConfig::metrics_v1`).
        metrics_def("v1", "metrics.k8s.io/v1", false),
        metrics_def("v1", "metrics.k8s.io/v1", true),
        metrics_def("v1beta1", "metrics.k8s.io/v1beta1", false),
        metrics_def("v1beta1", "metrics.k8s.io/v1beta1", true),
    ]
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
        derived: true,
    }
}

/// Group order of a real v1.36 `/apis` (apis.http); groups not named here sort after, by name.
const GROUP_ORDER: &[&str] = &[
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
