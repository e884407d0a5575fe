//! Custom resources of a generated cluster: cert-manager `Certificate`s and Flux
//! `Kustomization`s, their CustomResourceDefinitions, and their churn.
//!
//! [`CustomResources`] lays them out for a [`ClusterModel`] (deterministic from its seed) and
//! changes them the way the controllers do:
//! - a Certificate per exposed app (`<app>-tls` from the ClusterIssuer `letsencrypt`, or
//!   `<app>-internal-tls` for `*.svc` names from `internal-ca`), about one per 20 pods, at least
//!   3, plus `monitoring/grafana-tls`. Its status is what cert-manager's controllers write:
//!   `Ready` (readiness), `Issuing` (trigger, or `cmctl renew`), `nextPrivateKeySecretName`
//!   (key manager), `revision` and the failure fields (issuing), `notBefore`/`notAfter`/
//!   `renewalTime` of the current X.509 certificate. A renewal keeps `Ready=True` (the old
//!   certificate is still valid), as cert-manager does; a changed spec or a missing Secret makes
//!   it `False` until the new certificate is issued. A failed ACME order is retried with
//!   cert-manager's back-off (1 h, doubling, at most 32 h).
//! - Kustomizations in `flux-system` (a Namespace of its own): `flux-system` and the
//!   infrastructure ones on the fleet repository, one per app namespace on the team's
//!   repository, and pull-request previews, about one per 50 pods, at least 2. A commit to a
//!   repository makes every Kustomization of it reconcile (`Reconciling`, `Ready=Unknown`),
//!   then succeed (`lastAppliedRevision`) or fail to build (`Ready=False`, the old revision
//!   stays applied).
//! - Certificates of a namespace a Kustomization applies carry its labels, are applied by
//!   `kustomize-controller` (server-side apply) and change only when it applies a revision
//!   (created, edited or pruned with it); the others come from Helm releases.
//!
//! As elsewhere in the model, objects carry uid, creationTimestamp, generation and
//! managedFields, and no resourceVersion (the server's).

use std::collections::BTreeMap;

use fastrand::Rng;
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::managed::{fields_v1, managed_entry};
use super::util::{at, hex_from, merge_diff, mix, span, suffix_from, ts, uuid_from};
use super::{ClusterModel, Op, namespace};
use crate::sim::crd_manifest;

/// The Certificates' resource, as `Sim::patch` and `Sim::delete` name it.
pub const CERTIFICATES: &str = "certificates.cert-manager.io";
/// The Kustomizations' resource, as `Sim::patch` and `Sim::delete` name it.
pub const KUSTOMIZATIONS: &str = "kustomizations.kustomize.toolkit.fluxcd.io";

const CERT_API: &str = "cert-manager.io/v1";
const KS_API: &str = "kustomize.toolkit.fluxcd.io/v1";
const FLUX_NS: &str = "flux-system";
const FLUX_FINALIZER: &str = "finalizers.fluxcd.io";
const KS_NAME_LABEL: &str = "kustomize.toolkit.fluxcd.io/name";
const KS_NAMESPACE_LABEL: &str = "kustomize.toolkit.fluxcd.io/namespace";
/// `spec.duration`: 90 days, Let's Encrypt's certificate lifetime.
const DURATION: &str = "2160h0m0s";
const DURATION_SECS: i64 = 2160 * 3600;
/// `spec.renewBefore`: renewal 15 days before expiry.
const RENEW_BEFORE: &str = "360h0m0s";
const RENEW_BEFORE_SECS: i64 = 360 * 3600;
/// A certificate is renewed this long after it was issued.
const RENEW_AFTER_SECS: i64 = DURATION_SECS - RENEW_BEFORE_SECS;

/// Where a Certificate comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Issuer {
    /// ClusterIssuer `letsencrypt` (ACME): public names, orders that can fail.
    Acme,
    /// ClusterIssuer `internal-ca` (CA): in-cluster service names, never fails.
    Ca,
}

impl Issuer {
    fn name(self) -> &'static str {
        match self {
            Issuer::Acme => "letsencrypt",
            Issuer::Ca => "internal-ca",
        }
    }
}

/// Who applies a Certificate's spec.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Owner {
    /// A Helm release of that name (`helm`, Update).
    Helm(String),
    /// The Kustomization of that name (`kustomize-controller`, Apply).
    Flux(String),
}

/// What made cert-manager issue a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trigger {
    DoesNotExist,
    Renewing,
    Manual,
    RequestChanged,
}

impl Trigger {
    fn reason(self) -> &'static str {
        match self {
            Trigger::DoesNotExist => "DoesNotExist",
            Trigger::Renewing => "Renewing",
            Trigger::Manual => "ManuallyTriggered",
            Trigger::RequestChanged => "RequestChanged",
        }
    }

    /// `cmctl renew` writes the Issuing condition itself; otherwise the trigger controller does.
    fn manager(self) -> &'static str {
        match self {
            Trigger::Manual => "cmctl",
            _ => "cert-manager-certificates-trigger",
        }
    }
}

/// One status condition as written.
#[derive(Debug, Clone, PartialEq)]
struct Cond {
    kind: &'static str,
    status: &'static str,
    reason: &'static str,
    message: String,
    since: Timestamp,
    generation: i64,
}

impl Cond {
    fn json(&self) -> Value {
        json!({
            "type": self.kind, "status": self.status, "reason": self.reason, "message": self.message,
            "lastTransitionTime": ts(self.since), "observedGeneration": self.generation,
        })
    }
}

/// An issuance in flight (`Issuing=True`).
#[derive(Debug, Clone)]
struct Issuance {
    trigger: Trigger,
    message: String,
    started: Timestamp,
    due: Timestamp,
    /// `status.nextPrivateKeySecretName`.
    key_secret: String,
}

/// The last failed issuance (`Issuing=False`, `lastFailureTime`, `failedIssuanceAttempts`).
#[derive(Debug, Clone)]
struct Failure {
    at: Timestamp,
    attempts: u32,
    message: String,
}

#[derive(Debug, Clone)]
struct Cert {
    ns: String,
    name: String,
    uid: String,
    created: Timestamp,
    app: String,
    issuer: Issuer,
    dns_names: Vec<String>,
    owner: Owner,
    generation: i64,
    spec_written: Timestamp,
    revision: Option<u32>,
    /// `notBefore` of the current certificate (none before the first issuance).
    not_before: Option<Timestamp>,
    ready: Cond,
    ready_written: Timestamp,
    /// The issuing controller's last write (revision or failure).
    issuing_written: Option<Timestamp>,
    issuance: Option<Issuance>,
    failure: Option<Failure>,
}

impl Cert {
    fn renewal_time(&self) -> Option<Timestamp> {
        self.not_before.map(|t| at(t, RENEW_AFTER_SECS))
    }

    /// Due for a retry after a failure (cert-manager's back-off).
    fn retry_at(&self) -> Option<Timestamp> {
        self.failure
            .as_ref()
            .map(|f| at(f.at, 3600 * (1i64 << (f.attempts.saturating_sub(1)).min(5))))
    }
}

/// A change to a Certificate that a Kustomization applies with a revision.
#[derive(Debug, Clone)]
enum CertChange {
    Add { app: String, issuer: Issuer },
    Edit(String),
    Prune(String),
}

/// A reconciliation in flight (`Reconciling=True`, `Ready=Unknown`).
#[derive(Debug, Clone)]
struct Reconcile {
    revision: String,
    started: Timestamp,
    due: Timestamp,
    fails: bool,
    change: Option<CertChange>,
}

#[derive(Debug, Clone)]
struct Ks {
    name: String,
    uid: String,
    created: Timestamp,
    path: String,
    /// The GitRepository (in `flux-system`) it applies from.
    source: String,
    target_ns: Option<String>,
    interval: &'static str,
    timeout: Option<&'static str>,
    wait: bool,
    /// The field manager that applied it: `kustomize-controller` when `flux-system` applies it,
    /// `flux` for previews a CI job creates.
    applier: &'static str,
    generation: i64,
    /// `status.observedGeneration`: -1 until the first reconciliation ends.
    observed: i64,
    applied: Option<String>,
    attempted: Option<String>,
    ready: Cond,
    status_written: Timestamp,
    reconcile: Option<Reconcile>,
    /// The namespace whose Certificates it applies.
    manages: Option<String>,
    preview: bool,
}

impl Ks {
    /// The reconciliation timeout: `spec.timeout`, else the interval (Flux's `GetTimeout`).
    fn timeout(&self) -> &'static str {
        self.timeout.unwrap_or(self.interval)
    }
}

/// The generated Certificates and Kustomizations of a cluster, and their churn.
#[derive(Debug, Clone)]
pub struct CustomResources {
    rng: Rng,
    /// When cert-manager and Flux were installed (the CRDs' and `flux-system`'s creation).
    installed: Timestamp,
    flux_ns_uid: String,
    /// Apps that can get a Certificate: (namespace, deployment).
    apps: Vec<(String, String)>,
    certs: Vec<Cert>,
    kustomizations: Vec<Ks>,
    /// Current revision of each GitRepository.
    heads: BTreeMap<String, String>,
    /// Kustomizations deleted but held by their finalizer until kustomize-controller removes it.
    finalizing: Vec<(Timestamp, String)>,
    next_pr: u32,
    /// Previews and Certificates in the cluster at layout: creations and deletions keep the
    /// counts around them.
    preview_target: usize,
    cert_target: usize,
}

/// The platform Kustomizations on the fleet repository: name, path, interval, timeout, wait.
const PLATFORM: [(&str, &str, &str, Option<&str>, bool); 3] = [
    ("flux-system", "./clusters/production", "10m0s", None, false),
    (
        "infra-controllers",
        "./infrastructure/controllers",
        "1h0m0s",
        Some("5m0s"),
        true,
    ),
    ("infra-configs", "./infrastructure/configs", "1h0m0s", None, false),
];

/// Go's `time.Time.String()` of a UTC time, as cert-manager prints times in messages.
fn go_time(t: Timestamp) -> String {
    let s = t.to_string();
    format!("{} +0000 UTC", s.trim_end_matches('Z').replacen('T', " ", 1))
}

/// `count` events of a Poisson-ish process with mean `rate`: the whole part, plus one with the
/// probability of the fraction.
fn events(rng: &mut Rng, rate: f64) -> usize {
    let whole = rate.floor();
    whole as usize + usize::from(rng.f64() < rate - whole)
}

/// managedFields in the order the API server keeps them: Apply before Update, then by time,
/// manager and subresource.
fn sorted_managed(mut entries: Vec<Value>) -> Value {
    entries.sort_by(|a, b| {
        let key = |e: &Value| {
            (
                e["operation"].as_str().unwrap_or("").to_string(),
                e["time"].as_str().unwrap_or("").to_string(),
                e["manager"].as_str().unwrap_or("").to_string(),
                e["subresource"].as_str().unwrap_or("").to_string(),
            )
        };
        key(a).cmp(&key(b))
    });
    Value::Array(entries)
}

fn apply_entry(manager: &str, api_version: &str, time: Timestamp, fields: Value) -> Value {
    let mut e = managed_entry(manager, api_version, time, None, fields);
    e["operation"] = json!("Apply");
    e
}

/// What the creating client sends: `obj` without status, finalizers and the fields other
/// managers wrote. The rest follows as a patch, as the controllers write it right after.
fn as_created(obj: &Value, creator: &str) -> Value {
    let mut o = obj.clone();
    if let Value::Object(m) = &mut o {
        m.remove("status");
    }
    if let Some(meta) = o["metadata"].as_object_mut() {
        meta.remove("finalizers");
        if let Some(Value::Array(entries)) = meta.get_mut("managedFields") {
            entries.retain(|e| e["manager"] == creator && e.get("subresource").is_none());
        }
    }
    o
}

fn push_patch(ops: &mut Vec<Op>, resource: &'static str, ns: &str, name: &str, before: &Value, after: &Value) {
    if let Some(patch) = merge_diff(before, after) {
        ops.push(Op::Patch {
            resource,
            namespace: Some(ns.to_string()),
            name: name.to_string(),
            patch,
        });
    }
}

impl CustomResources {
    /// Lays out the custom resources of `model` as it stands at `now` (none for an empty
    /// cluster). Deterministic: the same model and `now` give the same objects.
    pub fn new(model: &ClusterModel, now: Timestamp) -> CustomResources {
        let now = at(now, 0);
        let installed = at(model.birth, 2 * 86_400);
        let mut rng = Rng::with_seed(mix(model.spec.seed ^ 0xc3e7_f1a5_d00d_5eed));
        let flux_ns_uid = uuid_from(rng.u64(..), rng.u64(..));
        let mut apps: Vec<(String, String)> = model
            .deployments
            .iter()
            .map(|d| (model.namespaces[d.ns].name.clone(), d.name.clone()))
            .collect();
        apps.sort();
        let mut cr = CustomResources {
            next_pr: 1200 + rng.u32(0..800),
            rng,
            installed,
            flux_ns_uid,
            apps,
            certs: Vec::new(),
            kustomizations: Vec::new(),
            heads: BTreeMap::new(),
            finalizing: Vec::new(),
            preview_target: 0,
            cert_target: 0,
        };
        if cr.apps.is_empty() {
            return cr;
        }
        let pods = model.pod_count();
        cr.init_kustomizations(model, now, (pods / 50).max(2));
        cr.init_certificates(model, now, (pods / 20).max(3));
        cr.cert_target = cr.certs.len();
        cr
    }

    fn uid(&mut self) -> String {
        uuid_from(self.rng.u64(..), self.rng.u64(..))
    }

    fn between(&mut self, a: Timestamp, b: Timestamp) -> Timestamp {
        at(a, self.rng.i64(0..=span(a, b)))
    }

    fn new_revision(&mut self, source: &str) -> String {
        let branch = match source.strip_prefix("preview-pr-") {
            Some(pr) => format!("refs/pull/{pr}/head"),
            None => "main".to_string(),
        };
        let rev = format!("{branch}@sha1:{}", hex_from(self.rng.u64(..), 40));
        self.heads.insert(source.to_string(), rev.clone());
        rev
    }

    fn init_kustomizations(&mut self, model: &ClusterModel, now: Timestamp, count: usize) {
        let mut planned: Vec<Ks> = Vec::new();
        for (i, (name, path, interval, timeout, wait)) in PLATFORM.into_iter().enumerate() {
            let created = at(self.installed, 60 * i as i64);
            planned.push(self.ks_record(name, created, path, FLUX_NS, None, interval, timeout, wait));
        }
        for &ns in &model.app_namespaces {
            let ns_rec = &model.namespaces[ns];
            let name = if ns_rec.name == "default" { "apps" } else { &ns_rec.name };
            let created = self.between(at(ns_rec.created.max(self.installed), 600), at(now, -3 * 86_400));
            let mut ks = self.ks_record(
                name,
                created,
                "./deploy/production",
                name,
                Some(&ns_rec.name),
                "5m0s",
                Some("3m0s"),
                true,
            );
            ks.manages = Some(ns_rec.name.clone());
            planned.push(ks);
        }
        planned.truncate(count);
        let previews = count - planned.len();
        for _ in 0..previews {
            let created = self.between(at(now, -5 * 86_400), at(now, -2 * 3600));
            planned.push(self.preview_record(created));
        }
        self.preview_target = previews;
        // Revisions as applied at layout: the last commit of each repository a while ago, one
        // Kustomization in ten failing to build it.
        for ks in &planned {
            if !self.heads.contains_key(&ks.source) {
                self.new_revision(&ks.source);
            }
        }
        for mut ks in planned {
            let head = self.heads[&ks.source].clone();
            let applied_at = self.between(at(now, -36 * 3600).max(at(ks.created, 60)), at(now, -300));
            ks.generation = self.rng.i64(1..=3);
            ks.observed = ks.generation;
            ks.attempted = Some(head.clone());
            ks.status_written = applied_at;
            if self.rng.u32(0..10) == 0 {
                let branch = head.split('@').next().unwrap_or("main");
                let old = format!("{branch}@sha1:{}", hex_from(self.rng.u64(..), 40));
                ks.ready = self.build_failed(&ks, applied_at);
                ks.applied = Some(old);
            } else {
                ks.ready = Cond {
                    kind: "Ready",
                    status: "True",
                    reason: "ReconciliationSucceeded",
                    message: format!("Applied revision: {head}"),
                    since: applied_at,
                    generation: ks.generation,
                };
                ks.applied = Some(head);
            }
            self.kustomizations.push(ks);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn ks_record(
        &mut self,
        name: &str,
        created: Timestamp,
        path: &str,
        source: &str,
        target_ns: Option<&str>,
        interval: &'static str,
        timeout: Option<&'static str>,
        wait: bool,
    ) -> Ks {
        Ks {
            name: name.to_string(),
            uid: self.uid(),
            created,
            path: path.to_string(),
            source: source.to_string(),
            target_ns: target_ns.map(str::to_string),
            interval,
            timeout,
            wait,
            applier: "kustomize-controller",
            generation: 1,
            observed: -1,
            applied: None,
            attempted: None,
            ready: Cond {
                kind: "Ready",
                status: "Unknown",
                reason: "Progressing",
                message: "Reconciliation in progress".into(),
                since: created,
                generation: 1,
            },
            status_written: created,
            reconcile: None,
            manages: None,
            preview: false,
        }
    }

    fn preview_record(&mut self, created: Timestamp) -> Ks {
        let pr = self.next_pr;
        self.next_pr += self.rng.u32(1..=6);
        let name = format!("preview-pr-{pr}");
        let mut ks = self.ks_record(&name, created, "./deploy/preview", &name, None, "5m0s", None, false);
        ks.applier = "flux";
        ks.preview = true;
        ks
    }

    fn build_failed(&mut self, ks: &Ks, now: Timestamp) -> Cond {
        let dir = ks.path.trim_start_matches("./");
        Cond {
            kind: "Ready",
            status: "False",
            reason: "BuildFailed",
            message: format!(
                "kustomize build failed: accumulating resources: accumulation err='accumulating resources from 'ingress.yaml': open /tmp/kustomization-{}/{dir}/ingress.yaml: no such file or directory'",
                self.rng.u32(1_000_000_000..4_000_000_000)
            ),
            since: now,
            generation: ks.generation,
        }
    }

    fn owner_for(&self, ns: &str, app: &str) -> Owner {
        match self.kustomizations.iter().find(|k| k.manages.as_deref() == Some(ns)) {
            Some(k) => Owner::Flux(k.name.clone()),
            None => Owner::Helm(app.to_string()),
        }
    }

    fn init_certificates(&mut self, model: &ClusterModel, now: Timestamp, count: usize) {
        let mut wanted: Vec<(String, String, Issuer)> = Vec::new();
        if let Some(ns) = model.namespaces.iter().find(|n| n.name == "monitoring") {
            wanted.push((ns.name.clone(), "grafana".into(), Issuer::Acme));
        }
        // Each app's usual certificate first; the other kind only if apps run short.
        let mut order: Vec<usize> = (0..self.apps.len()).collect();
        self.rng.shuffle(&mut order);
        let primary: Vec<Issuer> = order
            .iter()
            .map(|_| {
                if self.rng.u32(0..5) == 0 {
                    Issuer::Ca
                } else {
                    Issuer::Acme
                }
            })
            .collect();
        let other = |i: Issuer| if i == Issuer::Acme { Issuer::Ca } else { Issuer::Acme };
        for pick in [false, true] {
            for (k, &a) in order.iter().enumerate() {
                let issuer = if pick { other(primary[k]) } else { primary[k] };
                let (ns, app) = self.apps[a].clone();
                wanted.push((ns, app, issuer));
            }
        }
        wanted.truncate(count);
        let n = wanted.len();
        // Some are not ready: a failed ACME order waiting for its retry, and a first issuance in
        // flight; the rest issued, renewed every 75 days since their creation.
        let failed = (n / 15).max(1);
        let in_flight = (n / 20).max(1);
        let mut states: Vec<u8> = (0..n)
            .map(|i| match i {
                _ if i < failed => 1,
                _ if i < failed + in_flight => 2,
                _ => 0,
            })
            .collect();
        self.rng.shuffle(&mut states);
        for ((ns, app, mut issuer), state) in wanted.into_iter().zip(states) {
            if state == 1 {
                issuer = Issuer::Acme;
            }
            let ns_created = model
                .namespaces
                .iter()
                .find(|n| n.name == ns)
                .map_or(self.installed, |n| n.created);
            let start = at(ns_created.max(self.installed), 3600);
            let created = match state {
                1 => self.between(at(now, -50 * 60), at(now, -10 * 60)),
                2 => self.between(at(now, -20), at(now, -5)),
                _ => self.between(start, at(now, -2 * 86_400)),
            };
            let owner = self.owner_for(&ns, &app);
            let mut c = self.fresh_cert(&ns, &app, issuer, owner, created);
            if self.find_cert(&c.ns, &c.name).is_some() {
                continue;
            }
            match state {
                1 => {
                    let failed_at = at(created, self.rng.i64(40..=90));
                    self.fail_issuance(&mut c, failed_at);
                }
                2 => {
                    let due = at(now, self.rng.i64(3..=12));
                    if let Some(i) = c.issuance.as_mut() {
                        i.due = due;
                    }
                }
                _ => {
                    let first = at(created, self.rng.i64(15..=40));
                    let cycles = span(first, now) / RENEW_AFTER_SECS;
                    // Each renewal takes the controllers a few seconds.
                    let issued = at(first, cycles * (RENEW_AFTER_SECS + 7)).min(at(now, -1));
                    c.issuance = None;
                    c.revision = Some(cycles as u32 + 1);
                    c.not_before = Some(issued);
                    c.issuing_written = Some(issued);
                    c.ready = Cond {
                        kind: "Ready",
                        status: "True",
                        reason: "Ready",
                        message: "Certificate is up to date and has not expired".into(),
                        since: first,
                        generation: c.generation,
                    };
                    c.ready_written = issued;
                }
            }
            self.certs.push(c);
        }
    }

    /// A Certificate just created: cert-manager finds no Secret and starts the first issuance.
    fn fresh_cert(&mut self, ns: &str, app: &str, issuer: Issuer, owner: Owner, created: Timestamp) -> Cert {
        let (name, dns_names) = match issuer {
            Issuer::Acme if ns == "monitoring" => (format!("{app}-tls"), vec![format!("{app}.example.com")]),
            Issuer::Acme => (format!("{app}-tls"), vec![format!("{app}.{ns}.example.com")]),
            Issuer::Ca => (
                format!("{app}-internal-tls"),
                vec![format!("{app}.{ns}.svc"), format!("{app}.{ns}.svc.cluster.local")],
            ),
        };
        let message = "Issuing certificate as Secret does not exist".to_string();
        let key_secret = format!("{name}-{}", suffix_from(self.rng.u64(..), 5));
        Cert {
            ns: ns.to_string(),
            uid: self.uid(),
            created,
            app: app.to_string(),
            issuer,
            dns_names,
            owner,
            generation: 1,
            spec_written: created,
            revision: None,
            not_before: None,
            ready: Cond {
                kind: "Ready",
                status: "False",
                reason: "DoesNotExist",
                message: message.clone(),
                since: created,
                generation: 1,
            },
            ready_written: created,
            issuing_written: None,
            issuance: Some(Issuance {
                trigger: Trigger::DoesNotExist,
                message,
                started: created,
                due: at(created, self.rng.i64(5..=20)),
                key_secret,
            }),
            failure: None,
            name,
        }
    }

    fn fail_issuance(&mut self, c: &mut Cert, now: Timestamp) {
        let attempts = c.failure.as_ref().map_or(0, |f| f.attempts) + 1;
        let order = format!(
            "{}-{}-{}",
            c.name,
            c.revision.unwrap_or(0) + 1,
            self.rng.u64(1_000_000_000..5_000_000_000)
        );
        c.issuance = None;
        c.issuing_written = Some(now);
        c.failure = Some(Failure {
            at: now,
            attempts,
            message: format!(
                "The certificate request has failed to complete and will be retried: Failed to wait for order resource \"{order}\" to become ready: order is in \"invalid\" state: "
            ),
        });
    }

    /// The CustomResourceDefinitions of cert-manager's Certificates and Flux's Kustomizations,
    /// as their charts install them (to create before the objects).
    pub fn definitions(&self) -> Vec<Value> {
        let mut cert = crd_manifest("cert-manager.io", "Certificate", "certificates", true, &["v1"]);
        cert["metadata"]["creationTimestamp"] = ts(self.installed);
        cert["metadata"]["labels"] = json!({
            "app": "cert-manager", "app.kubernetes.io/instance": "cert-manager",
            "app.kubernetes.io/name": "cert-manager",
        });
        cert["spec"]["names"]["shortNames"] = json!(["cert", "certs"]);
        cert["spec"]["names"]["categories"] = json!(["cert-manager"]);
        let mut ks = crd_manifest(
            "kustomize.toolkit.fluxcd.io",
            "Kustomization",
            "kustomizations",
            true,
            &["v1"],
        );
        ks["metadata"]["creationTimestamp"] = ts(self.installed);
        ks["metadata"]["labels"] = json!({
            "app.kubernetes.io/component": "kustomize-controller", "app.kubernetes.io/instance": FLUX_NS,
            "app.kubernetes.io/part-of": "flux",
        });
        ks["spec"]["names"]["shortNames"] = json!(["ks"]);
        vec![cert, ks]
    }

    /// Every object as it currently stands: the `flux-system` Namespace, then the Certificates
    /// and the Kustomizations, each sorted by namespace and name.
    pub fn objects(&self) -> Vec<Value> {
        if self.apps.is_empty() {
            return Vec::new();
        }
        let mut certs: Vec<&Cert> = self.certs.iter().collect();
        certs.sort_by(|a, b| (&a.ns, &a.name).cmp(&(&b.ns, &b.name)));
        let mut ks: Vec<&Ks> = self.kustomizations.iter().collect();
        ks.sort_by(|a, b| a.name.cmp(&b.name));
        std::iter::once(namespace(FLUX_NS, self.installed, &self.flux_ns_uid))
            .chain(certs.into_iter().map(cert_json))
            .chain(ks.into_iter().map(ks_json))
            .collect()
    }

    /// One churn step, meant for about once a second: issuances and reconciliations started on
    /// earlier steps finish, due renewals and retries start, and now and then a certificate is
    /// renewed by hand (`cmctl renew`), a repository gets a commit (its Kustomizations apply it,
    /// sometimes creating, editing or pruning a Certificate), a Helm release adds, changes or
    /// removes a Certificate, or a pull-request preview comes or goes. About one operation per
    /// step for a 300-pod cluster, growing with it.
    pub fn churn(&mut self, now: Timestamp) -> Vec<Op> {
        let now = at(now, 0);
        let mut ops = Vec::new();
        if self.apps.is_empty() {
            return ops;
        }
        self.finish_finalizers(now, &mut ops);
        self.finish_issuances(now, &mut ops);
        self.finish_reconciles(now, &mut ops);
        self.start_due_issuances(now, &mut ops);
        let certs = self.certs.len() as f64;
        let ks = self.kustomizations.len() as f64;
        for _ in 0..events(&mut self.rng, certs / 60.0) {
            self.manual_renewal(now, &mut ops);
        }
        for _ in 0..events(&mut self.rng, ks / 45.0) {
            self.commit(now, &mut ops);
        }
        for _ in 0..events(&mut self.rng, certs / 400.0) {
            self.helm_change(now, &mut ops);
        }
        if self.rng.u32(0..250) == 0 {
            self.preview_change(now, &mut ops);
        }
        ops
    }

    /// Whether the next creation-or-deletion should create: towards the count of the layout.
    fn grow(&mut self) -> bool {
        match self.certs.len().cmp(&self.cert_target) {
            std::cmp::Ordering::Less => true,
            std::cmp::Ordering::Greater => false,
            std::cmp::Ordering::Equal => self.rng.bool(),
        }
    }

    fn find_cert(&self, ns: &str, name: &str) -> Option<usize> {
        self.certs.iter().position(|c| c.ns == ns && c.name == name)
    }

    fn finish_finalizers(&mut self, now: Timestamp, ops: &mut Vec<Op>) {
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.finalizing)
            .into_iter()
            .partition(|(t, _)| *t <= now);
        self.finalizing = later;
        for (_, name) in due {
            ops.push(Op::Patch {
                resource: KUSTOMIZATIONS,
                namespace: Some(FLUX_NS.into()),
                name,
                patch: json!({"metadata": {"finalizers": null}}),
            });
        }
    }

    fn finish_issuances(&mut self, now: Timestamp, ops: &mut Vec<Op>) {
        for i in 0..self.certs.len() {
            let Some(iss) = self.certs[i].issuance.as_ref() else {
                continue;
            };
            if iss.due > now {
                continue;
            }
            let trigger = iss.trigger;
            let before = cert_json(&self.certs[i]);
            let mut c = self.certs[i].clone();
            // Only a first ACME order fails; renewals reuse the account and authorizations.
            if c.issuer == Issuer::Acme && trigger == Trigger::DoesNotExist && self.rng.u32(0..10) < 3 {
                self.fail_issuance(&mut c, now);
            } else {
                c.issuance = None;
                c.failure = None;
                c.revision = Some(c.revision.unwrap_or(0) + 1);
                c.not_before = Some(now);
                c.issuing_written = Some(now);
                if c.ready.status != "True" {
                    c.ready = Cond {
                        kind: "Ready",
                        status: "True",
                        reason: "Ready",
                        message: "Certificate is up to date and has not expired".into(),
                        since: now,
                        generation: c.generation,
                    };
                }
                c.ready.generation = c.generation;
                c.ready_written = now;
            }
            let after = cert_json(&c);
            push_patch(ops, CERTIFICATES, &c.ns, &c.name, &before, &after);
            self.certs[i] = c;
        }
    }

    fn start_issuance(&mut self, i: usize, trigger: Trigger, now: Timestamp, ops: &mut Vec<Op>) {
        let before = cert_json(&self.certs[i]);
        let message = match trigger {
            Trigger::DoesNotExist => "Issuing certificate as Secret does not exist".to_string(),
            Trigger::Renewing => format!(
                "Renewing certificate as renewal was scheduled at {}",
                self.certs[i].renewal_time().map_or_else(String::new, go_time)
            ),
            Trigger::Manual => "Certificate re-issuance manually triggered".to_string(),
            Trigger::RequestChanged => {
                "Fields on existing CertificateRequest resource not up to date: [spec.dnsNames]".to_string()
            }
        };
        let due = at(now, self.rng.i64(4..=15));
        let key_secret = format!("{}-{}", self.certs[i].name, suffix_from(self.rng.u64(..), 5));
        let c = &mut self.certs[i];
        if trigger == Trigger::RequestChanged {
            c.ready = Cond {
                kind: "Ready",
                status: "False",
                reason: "RequestChanged",
                message: message.clone(),
                since: now,
                generation: c.generation,
            };
            c.ready_written = now;
        }
        c.issuance = Some(Issuance {
            trigger,
            message,
            started: now,
            due,
            key_secret,
        });
        let after = cert_json(c);
        push_patch(ops, CERTIFICATES, &c.ns, &c.name, &before, &after);
    }

    fn start_due_issuances(&mut self, now: Timestamp, ops: &mut Vec<Op>) {
        for i in 0..self.certs.len() {
            let c = &self.certs[i];
            if c.issuance.is_some() {
                continue;
            }
            if c.retry_at().is_some_and(|t| t <= now) {
                self.start_issuance(i, Trigger::DoesNotExist, now, ops);
            } else if c.failure.is_none() && c.renewal_time().is_some_and(|t| t <= now) {
                self.start_issuance(i, Trigger::Renewing, now, ops);
            }
        }
    }

    /// An issued certificate without an issuance in flight, at random.
    fn pick_idle_cert(&mut self, f: impl Fn(&Cert) -> bool) -> Option<usize> {
        let idle: Vec<usize> = (0..self.certs.len())
            .filter(|&i| {
                let c = &self.certs[i];
                c.issuance.is_none() && c.failure.is_none() && c.revision.is_some() && f(c)
            })
            .collect();
        (!idle.is_empty()).then(|| idle[self.rng.usize(0..idle.len())])
    }

    fn manual_renewal(&mut self, now: Timestamp, ops: &mut Vec<Op>) {
        if let Some(i) = self.pick_idle_cert(|_| true) {
            self.start_issuance(i, Trigger::Manual, now, ops);
        }
    }

    /// Toggles a canary name on a public certificate: the spec write (generation + 1), then
    /// cert-manager's reaction (not ready until re-issued).
    fn edit_cert(&mut self, i: usize, now: Timestamp, ops: &mut Vec<Op>) {
        let before = cert_json(&self.certs[i]);
        let c = &mut self.certs[i];
        let canary = format!("{}-canary.{}.example.com", c.app, c.ns);
        match c.dns_names.iter().position(|d| *d == canary) {
            Some(p) => {
                c.dns_names.remove(p);
            }
            None => c.dns_names.push(canary),
        }
        c.generation += 1;
        c.spec_written = now;
        let after = cert_json(c);
        let (ns, name) = (c.ns.clone(), c.name.clone());
        push_patch(ops, CERTIFICATES, &ns, &name, &before, &after);
        self.start_issuance(i, Trigger::RequestChanged, now, ops);
    }

    /// Creates a certificate for `app`: the client's create, then cert-manager's first status.
    fn create_cert(&mut self, ns: &str, app: &str, issuer: Issuer, owner: Owner, now: Timestamp, ops: &mut Vec<Op>) {
        let c = self.fresh_cert(ns, app, issuer, owner, now);
        if self.find_cert(&c.ns, &c.name).is_some() {
            return;
        }
        let full = cert_json(&c);
        let creator = match &c.owner {
            Owner::Helm(_) => "helm",
            Owner::Flux(_) => "kustomize-controller",
        };
        let created = as_created(&full, creator);
        ops.push(Op::Create(created.clone()));
        push_patch(ops, CERTIFICATES, &c.ns, &c.name, &created, &full);
        self.certs.push(c);
    }

    fn delete_cert(&mut self, i: usize, ops: &mut Vec<Op>) {
        let c = self.certs.remove(i);
        ops.push(Op::Delete {
            resource: CERTIFICATES,
            namespace: Some(c.ns),
            name: c.name,
        });
    }

    /// An app of `ns` (any namespace for `None`) without a certificate of `issuer`, at random.
    fn uncovered_app(&mut self, ns: Option<&str>, helm_only: bool) -> Option<(String, String, Issuer)> {
        let issuer = if self.rng.u32(0..5) == 0 {
            Issuer::Ca
        } else {
            Issuer::Acme
        };
        let suffix = if issuer == Issuer::Acme {
            "-tls"
        } else {
            "-internal-tls"
        };
        let candidates: Vec<usize> = (0..self.apps.len())
            .filter(|&a| {
                let (app_ns, app) = &self.apps[a];
                ns.is_none_or(|n| n == app_ns.as_str())
                    && self.find_cert(app_ns, &format!("{app}{suffix}")).is_none()
                    && (!helm_only || matches!(self.owner_for(app_ns, app), Owner::Helm(_)))
            })
            .collect();
        if candidates.is_empty() {
            return None;
        }
        let (app_ns, app) = self.apps[candidates[self.rng.usize(0..candidates.len())]].clone();
        Some((app_ns, app, issuer))
    }

    /// A Helm release adds, edits or removes a certificate (not in namespaces Flux applies).
    fn helm_change(&mut self, now: Timestamp, ops: &mut Vec<Op>) {
        let helm = |c: &Cert| matches!(c.owner, Owner::Helm(_));
        let count = self.certs.iter().filter(|c| helm(c)).count();
        if self.rng.bool() {
            if let Some(i) = self.pick_idle_cert(|c| helm(c) && c.issuer == Issuer::Acme) {
                self.edit_cert(i, now, ops);
            }
        } else if self.grow() {
            if let Some((ns, app, issuer)) = self.uncovered_app(None, true) {
                let owner = Owner::Helm(app.clone());
                self.create_cert(&ns, &app, issuer, owner, now, ops);
            }
        } else if count > 1
            && let Some(i) = self.pick_idle_cert(|c| helm(c) && c.name != "grafana-tls")
        {
            self.delete_cert(i, ops);
        }
    }

    /// A commit to a repository: every idle Kustomization on it starts reconciling the new
    /// revision; an app one may carry a change to its certificates.
    fn commit(&mut self, now: Timestamp, ops: &mut Vec<Op>) {
        let idle: Vec<String> = self
            .kustomizations
            .iter()
            .filter(|k| k.reconcile.is_none())
            .map(|k| k.source.clone())
            .collect();
        if idle.is_empty() {
            return;
        }
        let source = idle[self.rng.usize(0..idle.len())].clone();
        let revision = self.new_revision(&source);
        for k in 0..self.kustomizations.len() {
            if self.kustomizations[k].source != source || self.kustomizations[k].reconcile.is_some() {
                continue;
            }
            let (manages, name) = (
                self.kustomizations[k].manages.clone(),
                self.kustomizations[k].name.clone(),
            );
            let change = match manages {
                Some(ns) if self.rng.u32(0..4) == 0 => self.planned_change(&ns, &name),
                _ => None,
            };
            let fails = self.rng.u32(0..10) == 0;
            let due = at(now, self.rng.i64(5..=20));
            self.start_reconcile(k, revision.clone(), due, fails, change, now, ops);
        }
    }

    fn planned_change(&mut self, ns: &str, ks: &str) -> Option<CertChange> {
        let owned = |c: &Cert| c.owner == Owner::Flux(ks.to_string());
        let count = self.certs.iter().filter(|c| owned(c)).count();
        if self.rng.u32(0..5) < 3 {
            self.pick_idle_cert(|c| owned(c) && c.issuer == Issuer::Acme)
                .map(|i| CertChange::Edit(self.certs[i].name.clone()))
        } else if self.grow() {
            self.uncovered_app(Some(ns), false)
                .map(|(_, app, issuer)| CertChange::Add { app, issuer })
        } else if count > 1 {
            self.pick_idle_cert(owned)
                .map(|i| CertChange::Prune(self.certs[i].name.clone()))
        } else {
            None
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn start_reconcile(
        &mut self,
        k: usize,
        revision: String,
        due: Timestamp,
        fails: bool,
        change: Option<CertChange>,
        now: Timestamp,
        ops: &mut Vec<Op>,
    ) {
        let before = ks_json(&self.kustomizations[k]);
        let ks = &mut self.kustomizations[k];
        ks.attempted = Some(revision.clone());
        ks.ready = Cond {
            kind: "Ready",
            status: "Unknown",
            reason: "Progressing",
            message: "Reconciliation in progress".into(),
            since: now,
            generation: ks.generation,
        };
        ks.status_written = now;
        ks.reconcile = Some(Reconcile {
            revision,
            started: now,
            due,
            fails,
            change,
        });
        let after = ks_json(ks);
        push_patch(ops, KUSTOMIZATIONS, FLUX_NS, &ks.name.clone(), &before, &after);
    }

    fn finish_reconciles(&mut self, now: Timestamp, ops: &mut Vec<Op>) {
        for k in 0..self.kustomizations.len() {
            if self.kustomizations[k].reconcile.as_ref().is_none_or(|r| r.due > now) {
                continue;
            }
            let before = ks_json(&self.kustomizations[k]);
            let mut ks = self.kustomizations[k].clone();
            let Some(r) = ks.reconcile.take() else { continue };
            if r.fails {
                ks.ready = self.build_failed(&ks, now);
            } else {
                if let (Some(change), Some(ns)) = (r.change, ks.manages.clone()) {
                    self.apply_change(&ks.name, &ns, change, now, ops);
                }
                ks.ready = Cond {
                    kind: "Ready",
                    status: "True",
                    reason: "ReconciliationSucceeded",
                    message: format!("Applied revision: {}", r.revision),
                    since: now,
                    generation: ks.generation,
                };
                ks.applied = Some(r.revision);
            }
            ks.observed = ks.generation;
            ks.status_written = now;
            push_patch(ops, KUSTOMIZATIONS, FLUX_NS, &ks.name, &before, &ks_json(&ks));
            self.kustomizations[k] = ks;
        }
    }

    fn apply_change(&mut self, ks: &str, ns: &str, change: CertChange, now: Timestamp, ops: &mut Vec<Op>) {
        match change {
            CertChange::Add { app, issuer } => {
                self.create_cert(ns, &app, issuer, Owner::Flux(ks.to_string()), now, ops);
            }
            // The certificate may have changed since the commit was planned: skip it then.
            CertChange::Edit(name) => {
                if let Some(i) = self.find_cert(ns, &name).filter(|&i| self.certs[i].issuance.is_none()) {
                    self.edit_cert(i, now, ops);
                }
            }
            CertChange::Prune(name) => {
                if let Some(i) = self.find_cert(ns, &name) {
                    self.delete_cert(i, ops);
                }
            }
        }
    }

    /// A pull request opens (a preview Kustomization, reconciled at once) or closes (deleted;
    /// kustomize-controller removes its finalizer a moment later).
    fn preview_change(&mut self, now: Timestamp, ops: &mut Vec<Op>) {
        let previews: Vec<usize> = (0..self.kustomizations.len())
            .filter(|&k| self.kustomizations[k].preview && self.kustomizations[k].reconcile.is_none())
            .collect();
        let open = self.rng.usize(0..=2 * self.preview_target.max(1)) >= previews.len();
        if open {
            let mut ks = self.preview_record(now);
            let revision = self.new_revision(&ks.source);
            ks.status_written = now;
            let created = as_created(&ks_json(&ks), ks.applier);
            ops.push(Op::Create(created.clone()));
            self.kustomizations.push(ks);
            let k = self.kustomizations.len() - 1;
            let due = at(now, self.rng.i64(10..=30));
            // One patch from what was created, the finalizer and the first status together, in
            // place of the status patch alone.
            let mut status_only = Vec::new();
            self.start_reconcile(k, revision, due, false, None, now, &mut status_only);
            push_patch(
                ops,
                KUSTOMIZATIONS,
                FLUX_NS,
                &self.kustomizations[k].name.clone(),
                &created,
                &ks_json(&self.kustomizations[k]),
            );
        } else if !previews.is_empty() {
            let k = previews[self.rng.usize(0..previews.len())];
            let ks = self.kustomizations.remove(k);
            self.heads.remove(&ks.source);
            ops.push(Op::Delete {
                resource: KUSTOMIZATIONS,
                namespace: Some(FLUX_NS.into()),
                name: ks.name.clone(),
            });
            self.finalizing.push((at(now, self.rng.i64(1..=3)), ks.name));
        }
    }
}

/// A Certificate as the API server returns it.
fn cert_json(c: &Cert) -> Value {
    let mut labels = Map::new();
    let mut annotations = Map::new();
    labels.insert("app.kubernetes.io/name".into(), json!(c.app));
    let creator = match &c.owner {
        Owner::Helm(release) => {
            labels.insert("app.kubernetes.io/instance".into(), json!(release));
            labels.insert("app.kubernetes.io/managed-by".into(), json!("Helm"));
            annotations.insert("meta.helm.sh/release-name".into(), json!(release));
            annotations.insert("meta.helm.sh/release-namespace".into(), json!(c.ns));
            "helm"
        }
        Owner::Flux(ks) => {
            labels.insert(KS_NAME_LABEL.into(), json!(ks));
            labels.insert(KS_NAMESPACE_LABEL.into(), json!(FLUX_NS));
            "kustomize-controller"
        }
    };
    let spec = json!({
        "secretName": c.name,
        "dnsNames": c.dns_names,
        "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": c.issuer.name()},
        "duration": DURATION,
        "renewBefore": RENEW_BEFORE,
    });
    let issuing = match (&c.issuance, &c.failure) {
        (Some(i), _) => Some(Cond {
            kind: "Issuing",
            status: "True",
            reason: i.trigger.reason(),
            message: i.message.clone(),
            since: i.started,
            generation: c.generation,
        }),
        (None, Some(f)) => Some(Cond {
            kind: "Issuing",
            status: "False",
            reason: "Failed",
            message: f.message.clone(),
            since: f.at,
            generation: c.generation,
        }),
        (None, None) => None,
    };

    // What each controller wrote; together they make the status.
    let mut readiness = json!({"conditions": [c.ready.json()]});
    if let Some(nb) = c.not_before {
        readiness["notBefore"] = ts(nb);
        readiness["notAfter"] = ts(at(nb, DURATION_SECS));
        readiness["renewalTime"] = ts(at(nb, RENEW_AFTER_SECS));
    }
    let mut issued = Map::new();
    if let Some(r) = c.revision {
        issued.insert("revision".into(), json!(r));
    }
    if let Some(f) = &c.failure {
        issued.insert("lastFailureTime".into(), ts(f.at));
        issued.insert("failedIssuanceAttempts".into(), json!(f.attempts));
    }
    let mut status = readiness.as_object().cloned().unwrap_or_default();
    status.extend(issued.clone());
    if let Some(cond) = &issuing
        && let Some(Value::Array(conds)) = status.get_mut("conditions")
    {
        conds.push(cond.json());
    }
    if let Some(i) = &c.issuance {
        status.insert("nextPrivateKeySecretName".into(), json!(i.key_secret));
    }

    let mut meta_fields = json!({"f:labels": fields_v1(&Value::Object(labels.clone()))});
    if !annotations.is_empty() {
        meta_fields["f:annotations"] = fields_v1(&Value::Object(annotations.clone()));
    }
    let main_fields = json!({"f:metadata": meta_fields, "f:spec": fields_v1(&spec)});
    let mut entries = vec![match &c.owner {
        Owner::Helm(_) => managed_entry(creator, CERT_API, c.spec_written, None, main_fields),
        Owner::Flux(_) => apply_entry(creator, CERT_API, c.spec_written, main_fields),
    }];
    let status_entry = |manager: &str, time: Timestamp, fields: Value| {
        managed_entry(manager, CERT_API, time, Some("status"), json!({"f:status": fields}))
    };
    entries.push(status_entry(
        "cert-manager-certificates-readiness",
        c.ready_written,
        fields_v1(&readiness),
    ));
    if let Some(i) = &c.issuance {
        let cond = issuing.as_ref().map(Cond::json).unwrap_or_default();
        entries.push(status_entry(
            i.trigger.manager(),
            i.started,
            fields_v1(&json!({"conditions": [cond]})),
        ));
        entries.push(status_entry(
            "cert-manager-certificates-key-manager",
            i.started,
            fields_v1(&json!({"nextPrivateKeySecretName": i.key_secret})),
        ));
    }
    if let Some(t) = c.issuing_written {
        let mut fields = issued;
        if let (None, Some(cond)) = (&c.issuance, &issuing) {
            fields.insert("conditions".into(), json!([cond.json()]));
        }
        if !fields.is_empty() {
            entries.push(status_entry(
                "cert-manager-certificates-issuing",
                t,
                fields_v1(&Value::Object(fields)),
            ));
        }
    }

    let mut meta = json!({
        "name": c.name, "namespace": c.ns, "uid": c.uid, "creationTimestamp": ts(c.created),
        "generation": c.generation, "labels": labels, "managedFields": sorted_managed(entries),
    });
    if !annotations.is_empty() {
        meta["annotations"] = Value::Object(annotations);
    }
    json!({"apiVersion": CERT_API, "kind": "Certificate", "metadata": meta, "spec": spec, "status": status})
}

/// A Kustomization as the API server returns it.
fn ks_json(k: &Ks) -> Value {
    let mut spec = json!({
        "force": false,
        "interval": k.interval,
        "path": k.path,
        "prune": true,
        "sourceRef": {"kind": "GitRepository", "name": k.source},
    });
    if let Some(ns) = &k.target_ns {
        spec["targetNamespace"] = json!(ns);
    }
    if let Some(t) = k.timeout {
        spec["timeout"] = json!(t);
    }
    if k.wait {
        spec["wait"] = json!(true);
    }
    let mut conditions = Vec::new();
    if let Some(r) = &k.reconcile {
        conditions.push(
            Cond {
                kind: "Reconciling",
                status: "True",
                reason: "Progressing",
                message: format!(
                    "Fetching manifests for revision {} with a timeout of {}",
                    r.revision,
                    k.timeout()
                ),
                since: r.started,
                generation: k.generation,
            }
            .json(),
        );
    }
    conditions.push(k.ready.json());
    let mut status = json!({"conditions": conditions, "observedGeneration": k.observed});
    if let Some(rev) = &k.applied {
        status["lastAppliedRevision"] = json!(rev);
    }
    if let Some(rev) = &k.attempted {
        status["lastAttemptedRevision"] = json!(rev);
    }

    let mut meta_fields = json!({});
    let labels = json!({KS_NAME_LABEL: FLUX_NS, KS_NAMESPACE_LABEL: FLUX_NS});
    if !k.preview {
        meta_fields["f:labels"] = fields_v1(&labels);
    }
    let entries = vec![
        apply_entry(
            k.applier,
            KS_API,
            k.created,
            json!({"f:metadata": meta_fields, "f:spec": fields_v1(&spec)}),
        ),
        managed_entry(
            "kustomize-controller",
            KS_API,
            at(k.created, 1),
            None,
            json!({"f:metadata": {"f:finalizers": {".": {}, format!("v:\"{FLUX_FINALIZER}\""): {}}}}),
        ),
        managed_entry(
            "kustomize-controller",
            KS_API,
            k.status_written,
            Some("status"),
            json!({"f:status": fields_v1(&status)}),
        ),
    ];
    let mut meta = json!({
        "name": k.name, "namespace": FLUX_NS, "uid": k.uid, "creationTimestamp": ts(k.created),
        "generation": k.generation, "finalizers": [FLUX_FINALIZER], "managedFields": sorted_managed(entries),
    });
    if !k.preview {
        meta["labels"] = labels;
    }
    json!({"apiVersion": KS_API, "kind": "Kustomization", "metadata": meta, "spec": spec, "status": status})
}

#[cfg(test)]
#[path = "tests_custom.rs"]
mod tests;
