//! Fault switches: break the simulated server on purpose (reliability tests).

use super::cut::ListBodyFault;
use super::metrics::{self, MetricsFaults};
use super::store::Core;
use std::sync::{Arc, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

#[derive(Debug, Default, Clone)]
struct ResFaults {
    fail_next: usize,
    fail_status: u16,
    /// The failures come from a proxy in front of the server: an HTML page, not a Status.
    fail_from_proxy: bool,
    forbidden: bool,
    stall: Duration,
    requests: u64,
    /// `cut_next_watch_event`.
    cut_next_event: bool,
    /// `reset_next_list` / `stall_next_list_body`.
    list_body: Option<ListBodyFault>,
    /// `expire_after_next_page`.
    expire_after_page: bool,
}

/// Per-resource fault settings and request counters.
#[derive(Debug)]
pub struct FaultState {
    per_res: Vec<ResFaults>,
    /// The metrics.k8s.io switches (`metrics_*`).
    pub metrics: MetricsFaults,
}

impl FaultState {
    pub fn new(resources: usize) -> FaultState {
        FaultState {
            per_res: vec![ResFaults::default(); resources],
            metrics: MetricsFaults::default(),
        }
    }

    /// The settings of `res`, grown on demand for resources registered at run time (CRDs).
    fn res_mut(&mut self, res: usize) -> &mut ResFaults {
        if self.per_res.len() <= res {
            self.per_res.resize(res + 1, ResFaults::default());
        }
        &mut self.per_res[res]
    }
}

/// What a list/watch request of a resource meets before it is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Injected {
    None,
    Forbidden,
    Status(u16),
    /// An HTML error page from a proxy, with this HTTP status.
    ProxyPage(u16),
}

/// Fault switches of one [`Sim`](super::Sim). Resources are named by plural (`pods`,
/// `deployments`), or `plural.group` to pick a group; unknown names are ignored.
///
/// The per-resource switches (`fail_next`, `forbid`, `stall`, `requests`) also take
/// `nodes.metrics.k8s.io` / `pods.metrics.k8s.io` (one setting and one counter for all served
/// versions; for those every request counts, get included). The `metrics_*` switches break
/// metrics.k8s.io the ways a real cluster does. A metrics request meets, in order: `forbid` /
/// `fail_next` (per resource, then [`metrics_fail_next`](Self::metrics_fail_next)), then
/// [`metrics_missing`](Self::metrics_missing) (404), then unavailability (503), then
/// [`metrics_delay`](Self::metrics_delay) + `stall`, then the answer.
pub struct Faults {
    core: Arc<Core>,
}

impl Faults {
    pub(crate) fn new(core: Arc<Core>) -> Faults {
        Faults { core }
    }

    fn lock(&self) -> MutexGuard<'_, FaultState> {
        self.core.faults.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn with_res(&self, resource: &str, f: impl FnOnce(&mut ResFaults)) {
        match self.core.reg.by_name(resource) {
            Some(res) => f(self.lock().res_mut(res)),
            None => tracing::warn!(resource, "sim fault for an unknown resource ignored"),
        }
    }

    /// Closes every open watch stream now (cleanly: the response ends). Clients re-watch from their
    /// last resourceVersion, without a relist.
    pub fn drop_watches(&self) {
        self.core.lock().drop_gen += 1;
        self.core.wake_watches();
    }

    /// Compaction: every resourceVersion handed out so far becomes too old. A watch from one gets
    /// the in-stream ERROR 410, a continue token taken before gets HTTP 410, an exact list at one
    /// gets HTTP 410, and open watches end with the ERROR 410 so clients relist.
    pub fn expire_resource_versions(&self) {
        self.core.lock().expire();
        self.core.wake_watches();
    }

    /// The next `n` list/watch requests of `resource` answer `status` with a real Status body
    /// (note that kube's client retries 429/503/504 by itself; each retry is a request).
    pub fn fail_next(&self, resource: &str, n: usize, status: u16) {
        self.with_res(resource, |r| {
            r.fail_next = n;
            r.fail_status = status;
            r.fail_from_proxy = false;
        });
    }

    /// The next `n` list/watch requests of `resource` are answered by a proxy in front of the
    /// server: `status` with an HTML error page (`text/html`), as load balancers and ingress
    /// controllers send, instead of a Kubernetes Status.
    pub fn proxy_fail_next(&self, resource: &str, n: usize, status: u16) {
        self.with_res(resource, |r| {
            r.fail_next = n;
            r.fail_status = status;
            r.fail_from_proxy = true;
        });
    }

    /// A total outage while set: every connection, new or open (watches included), is cut
    /// without an answer, as when the API server or its load balancer is down. In-process
    /// changes (`Sim::create`, …) still apply and reach clients once it is cleared.
    pub fn outage(&self, down: bool) {
        self.core.outage.store(down, std::sync::atomic::Ordering::SeqCst);
        if down {
            // Open watches are idle until an event: wake them so their connections are cut now.
            self.drop_watches();
        }
    }

    /// Every list/watch of `resource` answers 403 Forbidden while set.
    pub fn forbid(&self, resource: &str, forbidden: bool) {
        self.with_res(resource, |r| r.forbidden = forbidden);
    }

    /// The next change of `resource` reaches watches as an event whose object has valid metadata
    /// (name, namespace, uid, resourceVersion) but a type-broken `spec`, so typed decoding fails.
    /// The stored object stays intact (lists and GETs are unaffected).
    pub fn malformed_next_event(&self, resource: &str) {
        let Some(res) = self.core.reg.by_name(resource) else {
            tracing::warn!(resource, "sim fault for an unknown resource ignored");
            return;
        };
        let spec = serde_json::from_str(self.core.reg.def(res).malformed_spec).unwrap_or(Value::String("oops".into()));
        self.rewrite_next_event(resource, move |obj| {
            obj.insert("spec".into(), spec);
        });
    }

    /// The next change of `resource` that has none pending reaches watches with its object
    /// (without apiVersion/kind, which the event adds) passed through `rewrite`: a missing uid,
    /// a wrong kind, anything a broken server or proxy could send. The stored object stays
    /// intact (lists and GETs are unaffected).
    pub fn rewrite_next_event(&self, resource: &str, rewrite: impl FnOnce(&mut Map<String, Value>) + Send + 'static) {
        match self.core.reg.by_name(resource) {
            Some(res) => {
                let mut st = self.core.lock();
                let storage = st.storage(res);
                if let Some(queue) = st.rewrites.get_mut(storage) {
                    queue.push_back(Box::new(rewrite));
                }
            }
            None => tracing::warn!(resource, "sim fault for an unknown resource ignored"),
        }
    }

    /// The next event line of `resource` on an open watch stops half-way and the connection is
    /// reset, as when a connection drops mid-event: the client has a partial line and an error.
    pub fn cut_next_watch_event(&self, resource: &str) {
        self.with_res(resource, |r| r.cut_next_event = true);
    }

    /// The next list response of `resource` sends half of its first chunk, then the connection
    /// is reset.
    pub fn reset_next_list(&self, resource: &str) {
        self.with_res(resource, |r| r.list_body = Some(ListBodyFault::Reset));
    }

    /// The next list response of `resource` sends half of its first chunk, then nothing for `d`,
    /// then the rest: a server or proxy that stalls in the middle of a body.
    pub fn stall_next_list_body(&self, resource: &str, d: Duration) {
        self.with_res(resource, |r| r.list_body = Some(ListBodyFault::Stall(d)));
    }

    /// Compaction lands between two pages: right after the next list page of `resource` that
    /// has a `continue` token is served, every resourceVersion expires, so that token gets the
    /// real 410 (with a fresh token for an inconsistent remainder, as a real server answers).
    pub fn expire_after_next_page(&self, resource: &str) {
        self.with_res(resource, |r| r.expire_after_page = true);
    }

    /// Requests for `resource` (list, watch, get) wait `d` before answering; `Duration::ZERO` clears.
    pub fn stall(&self, resource: &str, d: Duration) {
        self.with_res(resource, |r| r.stall = d);
    }

    /// List and watch requests seen for `resource` (including ones answered by a fault).
    pub fn requests(&self, resource: &str) -> u64 {
        let Some(res) = self.core.reg.by_name(resource) else {
            return 0;
        };
        self.lock().per_res.get(res).map_or(0, |r| r.requests)
    }

    /// metrics-server has no ready endpoints: every `/apis/metrics.k8s.io/{version}…` request
    /// answers the aggregator's 503 (`text/plain; charset=utf-8`, `service unavailable\n`, not a
    /// Status), and the metrics APIServices turn `Available=False`, reason `MissingEndpoints`
    /// (a MODIFIED event each). `false` restores them to `True`/`Passed`. `/apis` and
    /// `/apis/metrics.k8s.io` keep listing the group, as the aggregator serves those itself.
    pub fn metrics_unavailable(&self, unavailable: bool) {
        self.lock().metrics.unavailable = unavailable;
        metrics::apply_availability(&self.core, !unavailable);
    }

    /// metrics-server is not installed: the group is not registered (every metrics.k8s.io path
    /// answers `404 page not found` as text/plain, the group is absent from `/apis`) and its
    /// APIServices are deleted (DELETED events). `false` recreates them (new uid, ADDED events;
    /// `Available` per [`metrics_unavailable`](Self::metrics_unavailable)).
    pub fn metrics_missing(&self, missing: bool) {
        let was = std::mem::replace(&mut self.lock().metrics.missing, missing);
        if missing {
            let removed = metrics::remove_apiservices(&self.core);
            self.lock().metrics.removed_apiservices.extend(removed);
        } else if was {
            let (removed, unavailable) = {
                let mut f = self.lock();
                (
                    std::mem::take(&mut f.metrics.removed_apiservices),
                    f.metrics.unavailable,
                )
            };
            metrics::restore_apiservices(&self.core, removed, !unavailable);
        }
    }

    /// Every metrics.k8s.io request that reaches metrics-server waits `d` first (a slow or hung
    /// backend: set it beyond the client's timeout); `Duration::ZERO` clears.
    pub fn metrics_delay(&self, d: Duration) {
        self.lock().metrics.delay = d;
    }

    /// The kubelets keep returning the same sample: while set, timestamps, windows, usage and the
    /// set of reported objects stay frozen at the moment it was switched on (creationTimestamp
    /// still says "now"). `false` resumes with the current time.
    pub fn metrics_stale(&self, stale: bool) {
        let mut f = self.lock();
        if !stale {
            f.metrics.frozen_ms = None;
        } else if f.metrics.frozen_ms.is_none() {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0);
            f.metrics.frozen_ms = Some(now);
        }
    }

    /// Scrapes of these nodes' kubelets fail: the nodes and every pod on them are absent from
    /// metrics responses (replaces the previous set; empty clears).
    pub fn metrics_omit_nodes<I, S>(&self, nodes: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.lock().metrics.omit_nodes = nodes.into_iter().map(Into::into).collect();
    }

    /// These `(namespace, name)` pods are absent from metrics responses (replaces the previous
    /// set; empty clears). Their node's usage still includes them.
    pub fn metrics_omit_pods<I, A, B>(&self, pods: I)
    where
        I: IntoIterator<Item = (A, B)>,
        A: Into<String>,
        B: Into<String>,
    {
        self.lock().metrics.omit_pods = pods.into_iter().map(|(a, b)| (a.into(), b.into())).collect();
    }

    /// The next `n` requests for metrics.k8s.io resources (nodes or pods, any version) answer
    /// `status` with a real Status body: 403 Forbidden names the resource and verb, 429 carries
    /// `Retry-After: 1`, 500 InternalError, 504 Timeout, … (kube's client retries some by itself).
    pub fn metrics_fail_next(&self, n: usize, status: u16) {
        let mut f = self.lock();
        f.metrics.fail_next = n;
        f.metrics.fail_status = status;
    }
}

impl Core {
    /// Stall for a request of `res`.
    pub fn stall_for(&self, res: usize) -> Duration {
        self.faults
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .per_res
            .get(res)
            .map_or(Duration::ZERO, |r| r.stall)
    }

    /// Takes a pending fault of `res`'s settings (so it applies once).
    fn take<T: Default>(&self, res: usize, field: impl FnOnce(&mut ResFaults) -> &mut T) -> T {
        let mut f = self.faults.lock().unwrap_or_else(PoisonError::into_inner);
        std::mem::take(field(f.res_mut(res)))
    }

    /// Whether the next event line of `res` is to be cut (once).
    pub fn take_watch_cut(&self, res: usize) -> bool {
        self.take(res, |r| &mut r.cut_next_event)
    }

    /// What breaks the body of this list answer of `res`, if anything (once).
    pub fn take_list_body_fault(&self, res: usize) -> Option<ListBodyFault> {
        self.take(res, |r| &mut r.list_body)
    }

    /// Whether every resourceVersion expires after this page of `res` (once).
    pub fn take_expire_after_page(&self, res: usize) -> bool {
        self.take(res, |r| &mut r.expire_after_page)
    }

    /// Counts a list/watch request and says which fault, if any, answers it.
    pub fn on_list_or_watch(&self, res: usize) -> Injected {
        let mut f = self.faults.lock().unwrap_or_else(PoisonError::into_inner);
        let r = f.res_mut(res);
        r.requests += 1;
        if r.fail_next > 0 {
            r.fail_next -= 1;
            return if r.fail_from_proxy {
                Injected::ProxyPage(r.fail_status)
            } else {
                Injected::Status(r.fail_status)
            };
        }
        if r.forbidden {
            return Injected::Forbidden;
        }
        Injected::None
    }
}
