//! Fault switches: break the simulated server on purpose (reliability tests).

use super::store::Core;
use std::sync::{Arc, MutexGuard, PoisonError};
use std::time::Duration;

#[derive(Debug, Default, Clone)]
struct ResFaults {
    fail_next: usize,
    fail_status: u16,
    forbidden: bool,
    stall: Duration,
    requests: u64,
}

/// Per-resource fault settings and request counters.
#[derive(Debug)]
pub struct FaultState {
    per_res: Vec<ResFaults>,
}

impl FaultState {
    pub fn new(resources: usize) -> FaultState {
        FaultState {
            per_res: vec![ResFaults::default(); resources],
        }
    }
}

/// What a list/watch request of a resource meets before it is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Injected {
    None,
    Forbidden,
    Status(u16),
}

/// Fault switches of one [`Sim`](super::Sim). Resources are named by plural (`pods`,
/// `deployments`), or `plural.group` to pick a group; unknown names are ignored.
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
            Some(res) => {
                if let Some(r) = self.lock().per_res.get_mut(res) {
                    f(r);
                }
            }
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
        });
    }

    /// Every list/watch of `resource` answers 403 Forbidden while set.
    pub fn forbid(&self, resource: &str, forbidden: bool) {
        self.with_res(resource, |r| r.forbidden = forbidden);
    }

    /// The next change of `resource` reaches watches as an event whose object has valid metadata
    /// (name, namespace, uid, resourceVersion) but a type-broken `spec`, so typed decoding fails.
    /// The stored object stays intact (lists and GETs are unaffected).
    pub fn malformed_next_event(&self, resource: &str) {
        match self.core.reg.by_name(resource) {
            Some(res) => {
                if let Some(n) = self.core.lock().malformed_pending.get_mut(res) {
                    *n += 1;
                }
            }
            None => tracing::warn!(resource, "sim fault for an unknown resource ignored"),
        }
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

    /// Counts a list/watch request and says which fault, if any, answers it.
    pub fn on_list_or_watch(&self, res: usize) -> Injected {
        let mut f = self.faults.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(r) = f.per_res.get_mut(res) else {
            return Injected::None;
        };
        r.requests += 1;
        if r.fail_next > 0 {
            r.fail_next -= 1;
            return Injected::Status(r.fail_status);
        }
        if r.forbidden {
            return Injected::Forbidden;
        }
        Injected::None
    }
}
