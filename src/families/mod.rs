//! Metric families: pure functions from a typed Kubernetes object to exposition lines.
//!
//! Each resource kind has one file here declaring its families the way kube-state-metrics'
//! `internal/store/*.go` does: a list of [`FamilyDef`] entries (name, HELP, TYPE, stability,
//! generator), built once when the registry is. A generator reads the object and pushes samples
//! into a [`Samples`] sink, which prepends the kind's base labels (`namespace`, `pod`, `uid`, …)
//! and writes the finished line. Nothing in this module does I/O or keeps state between objects.
//!
//! Adding a family = one entry in the kind's file plus its entry in `metric-families/`. Adding a
//! kind = its file, its contract, its fixture and one line in the `kind_table!` below.

pub mod allowlist;
pub mod meta;
pub mod quantity;

/// Declares the built-in kinds: one line each, `module => type, Default | OptIn;` (whether KSM
/// enables the resource when `--resources` is not given). The line declares the family module and
/// registers the type; the resource list, the registry, the simulated server's resources, the
/// bench's list paths and the RBAC check are all derived from what [`visit_kinds`] yields.
macro_rules! kind_table {
    ($($module:ident => $ty:ty, $enablement:ident;)*) => {
        $(pub mod $module;)*

        /// Calls `visitor` once per built-in kind, in table order.
        pub fn visit_kinds(visitor: &mut impl KindVisitor) {
            $(visitor.visit::<$ty>(Enablement::$enablement);)*
        }
    };
}

kind_table! {
    apiservice => k8s_openapi::kube_aggregator::pkg::apis::apiregistration::v1::APIService, Default;
    certificatesigningrequest => k8s_openapi::api::certificates::v1::CertificateSigningRequest, Default;
    clusterrole => k8s_openapi::api::rbac::v1::ClusterRole, OptIn;
    clusterrolebinding => k8s_openapi::api::rbac::v1::ClusterRoleBinding, OptIn;
    configmap => configmap::ConfigMap, Default;
    cronjob => k8s_openapi::api::batch::v1::CronJob, Default;
    daemonset => k8s_openapi::api::apps::v1::DaemonSet, Default;
    deployment => k8s_openapi::api::apps::v1::Deployment, Default;
    endpoint => k8s_openapi::api::core::v1::Endpoints, OptIn;
    endpointslice => k8s_openapi::api::discovery::v1::EndpointSlice, Default;
    horizontalpodautoscaler => k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler, Default;
    ingress => k8s_openapi::api::networking::v1::Ingress, Default;
    ingressclass => k8s_openapi::api::networking::v1::IngressClass, OptIn;
    job => k8s_openapi::api::batch::v1::Job, Default;
    lease => k8s_openapi::api::coordination::v1::Lease, Default;
    limitrange => k8s_openapi::api::core::v1::LimitRange, Default;
    mutatingadmissionpolicy => k8s_openapi::api::admissionregistration::v1::MutatingAdmissionPolicy, Default;
    mutatingadmissionpolicybinding => k8s_openapi::api::admissionregistration::v1::MutatingAdmissionPolicyBinding, Default;
    mutatingwebhookconfiguration => k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration, Default;
    namespace => k8s_openapi::api::core::v1::Namespace, Default;
    networkpolicy => k8s_openapi::api::networking::v1::NetworkPolicy, Default;
    node => k8s_openapi::api::core::v1::Node, Default;
    persistentvolume => k8s_openapi::api::core::v1::PersistentVolume, Default;
    persistentvolumeclaim => k8s_openapi::api::core::v1::PersistentVolumeClaim, Default;
    pod => k8s_openapi::api::core::v1::Pod, Default;
    poddisruptionbudget => k8s_openapi::api::policy::v1::PodDisruptionBudget, Default;
    replicaset => k8s_openapi::api::apps::v1::ReplicaSet, Default;
    replicationcontroller => k8s_openapi::api::core::v1::ReplicationController, Default;
    resourcequota => k8s_openapi::api::core::v1::ResourceQuota, Default;
    role => k8s_openapi::api::rbac::v1::Role, OptIn;
    rolebinding => k8s_openapi::api::rbac::v1::RoleBinding, OptIn;
    secret => secret::Secret, Default;
    service => k8s_openapi::api::core::v1::Service, Default;
    serviceaccount => k8s_openapi::api::core::v1::ServiceAccount, OptIn;
    statefulset => k8s_openapi::api::apps::v1::StatefulSet, Default;
    storageclass => k8s_openapi::api::storage::v1::StorageClass, Default;
    validatingadmissionpolicy => k8s_openapi::api::admissionregistration::v1::ValidatingAdmissionPolicy, Default;
    validatingadmissionpolicybinding => k8s_openapi::api::admissionregistration::v1::ValidatingAdmissionPolicyBinding, Default;
    validatingwebhookconfiguration => k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration, Default;
    volumeattachment => k8s_openapi::api::storage::v1::VolumeAttachment, Default;
}

/// Whether a kind is on when `--resources` is not given (KSM's default set).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Enablement {
    /// Enabled by default.
    Default,
    /// Only when named in `--resources` (KSM's opt-in resources).
    OptIn,
}

/// Receives each built-in kind as a type (see [`visit_kinds`]).
pub trait KindVisitor {
    /// Called once per kind.
    fn visit<K: ObjectFamilies>(&mut self, enablement: Enablement);
}

use std::borrow::Cow;
use std::fmt::Debug;
use std::panic::AssertUnwindSafe;

use serde::de::DeserializeOwned;

use crate::exposition::{self, MetricType};
pub use allowlist::{Allowlists, KeyFilter};

/// Stability level KSM declares for a family; STABLE families get a `[STABLE] ` HELP prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stability {
    /// Covered by KSM's stability guarantee.
    Stable,
    /// Experimental in KSM ("EXPERIMENTAL" in its docs).
    Alpha,
}

impl Stability {
    /// The word used in `metric-families/` files.
    pub fn as_str(self) -> &'static str {
        match self {
            Stability::Stable => "STABLE",
            Stability::Alpha => "ALPHA",
        }
    }
}

/// What a family's generator is: reads one object and pushes that family's samples. A closure, so
/// kinds built at run time (custom resources) can capture their configuration.
pub type Generator<K> = Box<dyn Fn(&K, &RenderContext, &mut Samples) + Send + Sync>;

/// One metric family of a resource kind: its identity and its generator.
pub struct FamilyDef<K: 'static> {
    /// Full metric name, e.g. `kube_pod_info`.
    pub name: Cow<'static, str>,
    /// HELP text without the stability prefix.
    pub help: Cow<'static, str>,
    /// Declared TYPE.
    pub metric_type: MetricType,
    /// KSM stability level.
    pub stability: Stability,
    /// Only generated when named by `--metric-opt-in-list`.
    pub opt_in: bool,
    /// Reads the object and pushes this family's samples.
    pub generate: Generator<K>,
}

impl<K> FamilyDef<K> {
    /// A STABLE or ALPHA gauge.
    pub fn gauge(
        name: impl Into<Cow<'static, str>>,
        stability: Stability,
        help: impl Into<Cow<'static, str>>,
        generate: impl Fn(&K, &RenderContext, &mut Samples) + Send + Sync + 'static,
    ) -> Self {
        FamilyDef {
            name: name.into(),
            help: help.into(),
            metric_type: MetricType::Gauge,
            stability,
            opt_in: false,
            generate: Box::new(generate),
        }
    }

    /// A STABLE or ALPHA counter.
    pub fn counter(
        name: impl Into<Cow<'static, str>>,
        stability: Stability,
        help: impl Into<Cow<'static, str>>,
        generate: impl Fn(&K, &RenderContext, &mut Samples) + Send + Sync + 'static,
    ) -> Self {
        FamilyDef {
            metric_type: MetricType::Counter,
            ..FamilyDef::gauge(name, stability, help, generate)
        }
    }

    /// Marks the family opt-in (`--metric-opt-in-list`).
    pub fn opt_in(mut self) -> Self {
        self.opt_in = true;
        self
    }

    /// HELP text as printed, with `[STABLE] ` where KSM has it.
    pub fn full_help(&self) -> String {
        match self.stability {
            Stability::Stable => format!("[STABLE] {}", self.help),
            Stability::Alpha => self.help.to_string(),
        }
    }
}

/// A Kubernetes kind this exporter renders: which KSM resource it is, its base labels and its
/// families. Implemented once per kind in that kind's file.
///
/// The resource name (`--resources`, KSM's name, the URL plural), the `kind` and the scope come
/// from [`k8s_openapi::Resource`], so they are never spelled twice.
pub trait ObjectFamilies:
    k8s_openapi::Resource + kube::Resource<DynamicType = ()> + DeserializeOwned + Clone + Debug + Send + Sync + 'static
{
    /// Base label names prepended to every series, e.g. `namespace,pod,uid`.
    const BASE_LABELS: &'static [&'static str];
    /// Values for [`Self::BASE_LABELS`], in the same order.
    fn base_label_values(&self) -> Vec<&str>;
    /// Every family of this kind, in output order.
    fn families() -> Vec<FamilyDef<Self>>;
    /// Whether objects of this kind live in namespaces (from the type's `k8s_openapi` scope).
    fn namespaced() -> bool {
        std::any::TypeId::of::<<Self as k8s_openapi::Resource>::Scope>()
            == std::any::TypeId::of::<k8s_openapi::NamespaceResourceScope>()
    }

    /// The few facts other parts of the exporter join on (see [`ObjectIndex`]); kept beside the
    /// rendered bytes. Most kinds have none.
    fn index(&self) -> Option<ObjectIndex> {
        None
    }
}

/// What the exporter remembers of an object besides its rendered lines: enough for the
/// metrics.k8s.io poller to attach a pod's `uid` and `node` to its usage and to count the pods
/// and nodes it expects usage for, without keeping whole objects.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectIndex {
    /// Pods: `spec.nodeName` (empty when unscheduled). Nodes: empty.
    pub node: Box<str>,
    /// Pods: phase Running with every container running. Nodes: condition Ready is True.
    pub live: bool,
    /// `metadata.creationTimestamp` as unix seconds (0 when unset).
    pub created: i64,
}

/// Per-kind settings a generator may need (today: which labels/annotations are allowlisted).
#[derive(Clone, Debug, Default)]
pub struct RenderContext {
    /// Kubernetes label keys allowed onto `kube_<kind>_labels`.
    pub labels: KeyFilter,
    /// Annotation keys allowed onto `kube_<kind>_annotations`.
    pub annotations: KeyFilter,
}

impl RenderContext {
    /// Every label and annotation allowed (tests, and `render` checks of whole objects).
    pub fn allow_all() -> Self {
        RenderContext {
            labels: KeyFilter::All,
            annotations: KeyFilter::All,
        }
    }

    /// The context for one resource kind under the given allowlists.
    pub fn for_resource(allowlists: &Allowlists, resource: &str) -> Self {
        RenderContext {
            labels: allowlists.labels.for_resource(resource),
            annotations: allowlists.annotations.for_resource(resource),
        }
    }
}

/// The sink a generator writes samples into; it knows the family name and the object's
/// pre-escaped base labels.
pub struct Samples<'a> {
    out: &'a mut Vec<u8>,
    name: &'a str,
    base: &'a [u8],
}

impl Samples<'_> {
    /// Writes one sample: `name{base…,k="v",…} value`.
    pub fn push<I, N, V>(&mut self, labels: I, value: f64)
    where
        I: IntoIterator<Item = (N, V)>,
        N: AsRef<str>,
        V: AsRef<str>,
    {
        let out = &mut *self.out;
        out.extend_from_slice(self.name.as_bytes());
        out.push(b'{');
        out.extend_from_slice(self.base);
        let mut first = self.base.is_empty();
        for (n, v) in labels {
            if !first {
                out.push(b',');
            }
            first = false;
            exposition::write_label(out, n.as_ref(), v.as_ref());
        }
        out.extend_from_slice(b"} ");
        exposition::write_float(out, value);
        out.push(b'\n');
    }

    /// Writes one sample with only the base labels.
    pub fn value(&mut self, value: f64) {
        self.push(std::iter::empty::<(&str, &str)>(), value);
    }
}

/// The families of one kind that are switched on, fixed at start-up (opt-in and allow/deny
/// lists are applied once, so a disabled family costs nothing per object).
pub struct EnabledFamilies<K: 'static> {
    defs: Vec<FamilyDef<K>>,
}

impl<K: ObjectFamilies> EnabledFamilies<K> {
    /// Applies a family-name filter to the kind's families.
    pub fn new(filter: &FamilyFilter) -> Self {
        EnabledFamilies {
            defs: K::families()
                .into_iter()
                .filter(|f| filter.enabled(&f.name, f.opt_in))
                .collect(),
        }
    }

    /// Every family, opt-in ones included (used by `render`'s tests and the contract check).
    pub fn all() -> Self {
        EnabledFamilies { defs: K::families() }
    }

    /// The enabled definitions, in output order.
    pub fn defs(&self) -> &[FamilyDef<K>] {
        &self.defs
    }

    /// Renders one object: one contiguous buffer and the end offset of each family's slice.
    pub fn render(&self, obj: &K, ctx: &RenderContext) -> Rendered {
        let mut base = Vec::with_capacity(96);
        for (i, (name, value)) in K::BASE_LABELS.iter().zip(obj.base_label_values()).enumerate() {
            if i > 0 {
                base.push(b',');
            }
            exposition::write_label(&mut base, name, value);
        }
        render_with(&self.defs, obj, ctx, &base, obj.index())
    }

    /// Pre-rendered HELP/TYPE headers for the enabled families.
    pub fn headers(&self) -> Vec<FamilyHeader> {
        self.defs
            .iter()
            .map(|d| FamilyHeader::new(d.name.clone(), &d.full_help(), d.metric_type))
            .collect()
    }
}

/// Renders `obj` through `defs`, each sample after the pre-escaped `base` labels: one buffer
/// and each family's end offset. Kinds compiled in and kinds configured at run time (custom
/// resources) render through here alike.
pub fn render_with<K>(
    defs: &[FamilyDef<K>],
    obj: &K,
    ctx: &RenderContext,
    base: &[u8],
    index: Option<ObjectIndex>,
) -> Rendered {
    let mut out = Vec::with_capacity(256 * defs.len().min(16));
    let mut ends = Vec::with_capacity(defs.len());
    for def in defs {
        let start = out.len();
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
            let mut samples = Samples {
                out: &mut out,
                name: &def.name,
                base,
            };
            (def.generate)(obj, ctx, &mut samples);
        }));
        if result.is_err() {
            // A generator bug must cost one family of one object, never the scrape.
            out.truncate(start);
            tracing::error!(
                family = &*def.name,
                "metric generator panicked; family skipped for this object"
            );
        }
        ends.push(u32::try_from(out.len()).unwrap_or(u32::MAX));
    }
    Rendered {
        bytes: out.into_boxed_slice(),
        ends: ends.into_boxed_slice(),
        index: index.map(Box::new),
    }
}

/// An object's rendered exposition: all its families' lines in one buffer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rendered {
    /// Every family's lines, family after family.
    pub bytes: Box<[u8]>,
    /// `ends[i]` is the end offset of family `i` in `bytes` (family `i` starts at `ends[i-1]`).
    pub ends: Box<[u32]>,
    /// Join facts for kinds that have them.
    pub index: Option<Box<ObjectIndex>>,
}

impl Rendered {
    /// The lines of family `i` (empty when the object produced none).
    pub fn family(&self, i: usize) -> &[u8] {
        let start = if i == 0 {
            0
        } else {
            self.ends.get(i - 1).copied().unwrap_or(0) as usize
        };
        let end = self.ends.get(i).copied().unwrap_or(start as u32) as usize;
        self.bytes.get(start..end).unwrap_or(&[])
    }

    /// Every family's lines in order, then empty slices up to `families` in all.
    pub fn families(&self, families: usize) -> impl Iterator<Item = &[u8]> {
        let mut start = 0usize;
        let present = self.ends.iter().map(move |&end| {
            let end = (end as usize).max(start);
            let lines = self.bytes.get(start..end).unwrap_or(&[]);
            start = end;
            lines
        });
        present.chain(std::iter::repeat(&[][..])).take(families)
    }

    /// A rendering with the given lines per family (for tests of what holds renderings).
    #[cfg(test)]
    pub fn from_families<S: AsRef<str>>(per_family: &[S]) -> Rendered {
        let mut bytes = Vec::new();
        let mut ends = Vec::new();
        for lines in per_family {
            bytes.extend_from_slice(lines.as_ref().as_bytes());
            ends.push(bytes.len() as u32);
        }
        Rendered {
            bytes: bytes.into(),
            ends: ends.into(),
            index: None,
        }
    }

    /// Bytes held by this rendering (buffer, offsets and index).
    pub fn heap_size(&self) -> usize {
        let index = self
            .index
            .as_ref()
            .map_or(0, |i| std::mem::size_of::<ObjectIndex>() + i.node.len());
        self.bytes.len() + self.ends.len() * 4 + index
    }
}

/// HELP/TYPE lines for one family, pre-rendered for both wire formats.
#[derive(Clone, Debug)]
pub struct FamilyHeader {
    /// The family name.
    pub name: Cow<'static, str>,
    /// Header for text 0.0.4.
    pub text: Box<[u8]>,
    /// Header for OpenMetrics: the same lines, but custom resource StateSet and Info families
    /// keep their own TYPE there, as KSM prints them.
    pub openmetrics: Box<[u8]>,
}

impl FamilyHeader {
    /// Renders the header lines once.
    pub fn new(name: impl Into<Cow<'static, str>>, help: &str, metric_type: MetricType) -> Self {
        let name = name.into();
        let mut text = Vec::new();
        exposition::write_header_typed(&mut text, &name, help, metric_type.as_str());
        let mut openmetrics = Vec::new();
        exposition::write_header_typed(&mut openmetrics, &name, help, metric_type.openmetrics_str());
        FamilyHeader {
            name,
            openmetrics: openmetrics.into_boxed_slice(),
            text: text.into_boxed_slice(),
        }
    }
}

/// Which families are generated: `--metric-allowlist`, `--metric-denylist` (unanchored
/// regexes, as in KSM) and `--metric-opt-in-list`.
#[derive(Clone, Debug, Default)]
pub struct FamilyFilter {
    /// When non-empty, only families matching one of these are generated.
    pub allow: Vec<regex::Regex>,
    /// Families matching one of these are never generated.
    pub deny: Vec<regex::Regex>,
    /// Opt-in families matching one of these are generated.
    pub opt_in: Vec<regex::Regex>,
}

impl FamilyFilter {
    /// Whether a family with this name is generated.
    pub fn enabled(&self, name: &str, opt_in: bool) -> bool {
        if opt_in && !self.opt_in.iter().any(|r| r.is_match(name)) {
            return false;
        }
        if !self.allow.is_empty() && !self.allow.iter().any(|r| r.is_match(name)) {
            return false;
        }
        !self.deny.iter().any(|r| r.is_match(name))
    }
}

/// One family's lines for one object, without a store (tests and tooling).
///
/// Panics when the kind has no family of that name: an empty answer must mean "no series", never
/// "misspelt name", or every assertion of absence would pass after a rename.
#[track_caller]
pub fn render_text<K: ObjectFamilies>(obj: &K, ctx: &RenderContext, family: &str) -> String {
    let enabled = EnabledFamilies::<K>::all();
    let Some(i) = enabled.defs().iter().position(|d| d.name == family) else {
        let known: Vec<&str> = enabled.defs().iter().map(|d| &*d.name).collect();
        panic!("{} has no family {family:?}; its families: {known:?}", K::KIND);
    };
    String::from_utf8_lossy(enabled.render(obj, ctx).family(i)).into_owned()
}

/// The three `condition` samples KSM writes for a Kubernetes condition status: `true`,
/// `false`, `unknown`, the matching one set to 1.
pub fn condition_values(status: &str) -> [(&'static str, f64); 3] {
    [
        ("true", bool_value(status == "True")),
        ("false", bool_value(status == "False")),
        ("unknown", bool_value(status == "Unknown")),
    ]
}

/// 1 for true, 0 for false.
pub fn bool_value(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}
