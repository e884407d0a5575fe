//! The simulated cluster state: objects per resource (pre-serialized JSON), one global
//! resourceVersion, the bounded event log watches replay from, list snapshots for `continue`, and
//! the write operations (create, update, merge patch, delete).

use super::SimConfig;
use super::crd;
use super::json::{encode_object, field_value, merge_patch, now_rfc3339, random_suffix, random_uid, validate_name};
use super::registry::{Registry, ResourceDef};
use super::selector::{FieldSelector, LabelSelector};
use super::status::{Cause, Details, Status};
use bytes::Bytes;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::watch;

/// `(namespace or "", name)`; objects are ordered by it.
pub type Key = (String, String);

/// How many list snapshots (for `continue`) are kept.
const SNAPSHOT_CAPACITY: usize = 32;

/// One stored object version: the JSON without `apiVersion`/`kind` plus what selectors need.
#[derive(Debug)]
pub struct Stored {
    pub ns: String,
    pub name: String,
    pub rv: u64,
    pub labels: Vec<(String, String)>,
    /// FNV-1a 64 of `metadata.uid` (what a KEP-5866 shard selector ranges over).
    pub uid_hash: u64,
    /// Values of `ResourceDef::fields`, same order.
    pub fields: Vec<String>,
    pub json: Bytes,
    /// `json[..meta_end]` is `{"metadata":{…}`.
    pub meta_end: usize,
}

impl Stored {
    fn build(def: &ResourceDef, obj: &Map<String, Value>, rv: u64) -> Stored {
        let meta = obj.get("metadata");
        let s = |k: &str| {
            meta.and_then(|m| m.get(k))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let labels = meta
            .and_then(|m| m.get("labels"))
            .and_then(Value::as_object)
            .map(|l| {
                l.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let fields = def
            .fields
            .iter()
            .map(|(path, absent)| field_value(obj, path, absent))
            .collect();
        let (json, meta_end) = encode_object(obj);
        Stored {
            ns: s("namespace"),
            name: s("name"),
            rv,
            labels,
            uid_hash: crate::sharding::fnv1a64(s("uid").as_bytes()),
            fields,
            json: Bytes::from(json),
            meta_end,
        }
    }

    pub fn key(&self) -> Key {
        (self.ns.clone(), self.name.clone())
    }

    /// The object as a JSON map (without apiVersion/kind).
    pub fn to_map(&self) -> Map<String, Value> {
        // The sim encoded these bytes itself from a map, at whatever depth it was given.
        let text = std::str::from_utf8(&self.json).expect("the sim's own JSON is UTF-8");
        let mut docs = crate::decode::documents::<Value>(text).unwrap_or_else(|e| {
            panic!(
                "the sim's own encoding of {}/{} does not decode: {e}",
                self.ns, self.name
            )
        });
        match (docs.pop(), docs.is_empty()) {
            (Some(Value::Object(m)), true) => m,
            _ => panic!("the sim's own encoding of {}/{} is not one object", self.ns, self.name),
        }
    }
}

/// Namespace scope plus selectors, as a list or watch request gives them.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub ns: Option<String>,
    pub labels: LabelSelector,
    pub fields: FieldSelector,
    /// KEP-5866 shard selector, when the feature gate is on and the request has one.
    pub shard: Option<super::shard::ShardSelector>,
}

impl Filter {
    pub fn has_selectors(&self) -> bool {
        !self.labels.is_empty() || !self.fields.is_empty() || self.shard.is_some()
    }

    pub fn matches(&self, def: &ResourceDef, obj: &Stored) -> bool {
        if let Some(ns) = &self.ns
            && obj.ns != *ns
        {
            return false;
        }
        if !self.labels.matches(&obj.labels) {
            return false;
        }
        if self.shard.as_ref().is_some_and(|s| !s.matches(obj.uid_hash)) {
            return false;
        }
        self.fields.reqs.iter().all(|r| {
            let v = match r.field.as_str() {
                "metadata.name" => obj.name.as_str(),
                "metadata.namespace" => obj.ns.as_str(),
                f => def
                    .fields
                    .iter()
                    .position(|(p, _)| *p == f)
                    .and_then(|i| obj.fields.get(i))
                    .map_or("", |s| s),
            };
            (v == r.value) != r.not
        })
    }
}

/// Is `field` selectable on this resource? (`metadata.name`, `metadata.namespace` when namespaced,
/// and the resource's own fields.)
pub fn field_supported(def: &ResourceDef, field: &str) -> bool {
    field == "metadata.name"
        || (def.namespaced && field == "metadata.namespace")
        || def.fields.iter().any(|(p, _)| *p == field)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One logged change.
#[derive(Debug)]
pub struct Event {
    pub rv: u64,
    /// The storage index of the object (`State::storage`): the versions of a custom resource
    /// share one storage, so a watch of any of them sees the change.
    pub res: usize,
    pub kind: EventType,
    /// The new object (for DELETED: the final state, with the deletion's resourceVersion).
    pub obj: Arc<Stored>,
    /// The version before this change (MODIFIED, DELETED).
    pub prev: Option<Arc<Stored>>,
    /// `Faults::rewrite_next_event`: the object this event carries instead of `obj`.
    pub malformed: Option<Rewritten>,
}

struct Snapshot {
    res: usize,
    rv: u64,
    ns: Option<String>,
    items: Arc<Vec<Arc<Stored>>>,
}

/// A consistent set of objects (one resource, one scope) at `rv`, sorted by key.
pub struct ListView {
    pub items: Arc<Vec<Arc<Stored>>>,
    pub rv: u64,
}

pub enum AtError {
    /// The resourceVersion was compacted.
    Expired,
    /// The resourceVersion is ahead of the server.
    TooLarge { current: u64 },
}

/// An event's object as a rewrite left it (`Faults::rewrite_next_event`).
#[derive(Debug)]
pub struct Rewritten {
    /// The object without apiVersion/kind, as [`encode_object`] writes it.
    pub json: Bytes,
    /// Where its metadata ends.
    pub meta_end: usize,
    /// `{"kind":…,"apiVersion":…` when the rewrite changed either.
    pub type_prefix: Option<Arc<[u8]>>,
}

/// A change made to one event's object on the wire only.
pub type Rewrite = Box<dyn FnOnce(&mut Map<String, Value>) + Send>;

pub struct State {
    /// The current (last assigned) resourceVersion.
    pub rv: u64,
    /// The oldest resourceVersion a list may be served at (events with rv > it are all logged):
    /// etcd's compaction, global.
    pub oldest_valid: u64,
    /// Per storage index: the oldest resourceVersion a watch may resume from. A real server keeps
    /// a watch cache per resource, so one kind's events falling out of the window do not expire
    /// a quiet watch of another (which bookmarks keep current).
    watch_floors: Vec<u64>,
    /// Bumped by `Faults::drop_watches`; a watch started under another value ends.
    pub drop_gen: u64,
    pub shutdown: bool,
    /// Objects per storage index (an alias slot's map stays empty).
    pub objects: Vec<BTreeMap<Key, Arc<Stored>>>,
    /// Per resource: the index its objects are stored under (itself, or for another served
    /// version of a custom resource, the first version registered: a real server keeps one copy
    /// per CRD and converts on read, which for the sim's `None` strategy only retypes it).
    store_of: Vec<usize>,
    pub log: VecDeque<Arc<Event>>,
    snapshots: VecDeque<Snapshot>,
    /// Per storage index: how the next events' objects are rewritten on the wire
    /// (`Faults::rewrite_next_event`), oldest first.
    pub rewrites: Vec<VecDeque<Rewrite>>,
    capacity: usize,
}

impl State {
    fn new(resources: usize, capacity: usize) -> State {
        State {
            rv: 1,
            oldest_valid: 1,
            watch_floors: vec![1; resources],
            drop_gen: 0,
            shutdown: false,
            objects: (0..resources).map(|_| BTreeMap::new()).collect(),
            store_of: (0..resources).collect(),
            log: VecDeque::new(),
            snapshots: VecDeque::new(),
            rewrites: (0..resources).map(|_| VecDeque::new()).collect(),
            capacity: capacity.max(1),
        }
    }

    /// The index the objects of `res` are stored under.
    pub fn storage(&self, res: usize) -> usize {
        self.store_of.get(res).copied().unwrap_or(res)
    }

    /// Grows the per-resource tables for a resource registered at run time (with
    /// `Registry::add`, under the same lock hold); `storage` is the index of another version of
    /// the same custom resource whose objects it shares. Returns the new index.
    pub fn add_resource(&mut self, storage: Option<usize>) -> usize {
        let res = self.objects.len();
        self.objects.push(BTreeMap::new());
        self.store_of.push(storage.map_or(res, |s| self.storage(s)));
        self.rewrites.push(VecDeque::new());
        self.watch_floors.push(self.oldest_valid);
        res
    }

    /// The oldest resourceVersion a watch of `res` may resume from.
    pub fn watch_floor(&self, res: usize) -> u64 {
        self.watch_floors
            .get(self.storage(res))
            .copied()
            .unwrap_or(self.oldest_valid)
    }

    pub fn get(&self, res: usize, ns: &str, name: &str) -> Option<&Arc<Stored>> {
        self.objects
            .get(self.storage(res))?
            .get(&(ns.to_string(), name.to_string()))
    }

    /// Current objects of one resource in scope, sorted.
    pub fn scope_items(&self, res: usize, ns: Option<&str>) -> Vec<Arc<Stored>> {
        let Some(map) = self.objects.get(self.storage(res)) else {
            return Vec::new();
        };
        match ns {
            None => map.values().cloned().collect(),
            Some(ns) => map
                .range((ns.to_string(), String::new())..)
                .take_while(|(k, _)| k.0 == ns)
                .map(|(_, v)| v.clone())
                .collect(),
        }
    }

    fn cached(&mut self, res: usize, ns: Option<&str>, rv: u64) -> Option<Arc<Vec<Arc<Stored>>>> {
        let res = self.storage(res);
        let pos = self
            .snapshots
            .iter()
            .position(|s| s.res == res && s.rv == rv && s.ns.as_deref() == ns)?;
        let snap = self.snapshots.remove(pos)?;
        let items = snap.items.clone();
        self.snapshots.push_back(snap);
        Some(items)
    }

    /// Keeps a list snapshot for continuations (LRU, [`SNAPSHOT_CAPACITY`]).
    pub fn remember(&mut self, res: usize, ns: Option<&str>, rv: u64, items: Arc<Vec<Arc<Stored>>>) {
        if self.cached(res, ns, rv).is_some() {
            return;
        }
        self.snapshots.push_back(Snapshot {
            res: self.storage(res),
            rv,
            ns: ns.map(str::to_string),
            items,
        });
        while self.snapshots.len() > SNAPSHOT_CAPACITY {
            self.snapshots.pop_front();
        }
    }

    /// The current objects in scope (from the snapshot cache when the state has not moved). Not
    /// cached here: a list that hands out a continue token calls [`State::remember`].
    pub fn view_current(&mut self, res: usize, ns: Option<&str>) -> ListView {
        let rv = self.rv;
        if let Some(items) = self.cached(res, ns, rv) {
            return ListView { items, rv };
        }
        ListView {
            items: Arc::new(self.scope_items(res, ns)),
            rv,
        }
    }

    /// The objects in scope as they were at `rv`: from the snapshot cache, or rebuilt by undoing
    /// logged events newer than `rv`.
    pub fn view_at(&mut self, res: usize, ns: Option<&str>, rv: u64) -> Result<ListView, AtError> {
        if rv < self.oldest_valid {
            return Err(AtError::Expired);
        }
        if rv > self.rv {
            return Err(AtError::TooLarge { current: self.rv });
        }
        if rv == self.rv {
            return Ok(self.view_current(res, ns));
        }
        if let Some(items) = self.cached(res, ns, rv) {
            return Ok(ListView { items, rv });
        }
        let mut map: BTreeMap<Key, Arc<Stored>> = self.scope_items(res, ns).into_iter().map(|o| (o.key(), o)).collect();
        for ev in self.log.iter().rev() {
            if ev.rv <= rv {
                break;
            }
            if ev.res != self.storage(res) || ns.is_some_and(|ns| ev.obj.ns != ns) {
                continue;
            }
            match (ev.kind, &ev.prev) {
                (EventType::Added, _) | (_, None) => {
                    map.remove(&ev.obj.key());
                }
                (_, Some(prev)) => {
                    map.insert(prev.key(), prev.clone());
                }
            }
        }
        Ok(ListView {
            items: Arc::new(map.into_values().collect::<Vec<_>>()),
            rv,
        })
    }

    /// Records a change: updates the object map, appends to the event log, compacts the log.
    fn apply(&mut self, ev: Event) {
        self.rv = self.rv.max(ev.rv);
        if let Some(map) = self.objects.get_mut(ev.res) {
            match ev.kind {
                EventType::Deleted => {
                    map.remove(&ev.obj.key());
                }
                _ => {
                    map.insert(ev.obj.key(), ev.obj.clone());
                }
            }
        }
        self.log.push_back(Arc::new(ev));
        while self.log.len() > self.capacity {
            if let Some(old) = self.log.pop_front() {
                self.oldest_valid = self.oldest_valid.max(old.rv);
                if let Some(floor) = self.watch_floors.get_mut(old.res) {
                    *floor = (*floor).max(old.rv);
                }
            }
        }
    }

    /// Compaction of everything up to now: every resourceVersion handed out so far becomes too old.
    pub fn expire(&mut self) {
        self.rv += 1;
        self.oldest_valid = self.rv;
        self.watch_floors.fill(self.rv);
        self.log.clear();
        self.snapshots.clear();
    }
}

/// Errors of write operations, rich enough for an HTTP Status; mapped to `SimError` for the Rust API.
#[derive(Debug, Clone)]
pub enum OpError {
    NotFound {
        res: usize,
        name: String,
    },
    AlreadyExists {
        res: usize,
        name: String,
    },
    Invalid {
        res: usize,
        name: String,
        causes: Vec<Cause>,
    },
    Conflict {
        res: usize,
        name: String,
    },
    BadRequest(String),
}

/// `pods` or `deployments.apps`, as a real server names resources in messages.
pub fn qualified(def: &ResourceDef) -> String {
    if def.group.is_empty() {
        def.plural.to_string()
    } else {
        format!("{}.{}", def.plural, def.group)
    }
}

fn group_opt(def: &ResourceDef) -> Option<String> {
    (!def.group.is_empty()).then(|| def.group.to_string())
}

impl OpError {
    pub fn to_status(&self, reg: &Registry) -> Status {
        match self {
            OpError::NotFound { res, name } => {
                let def = reg.def(*res);
                Status::failure(404, "NotFound", format!("{} \"{name}\" not found", qualified(def))).with_details(
                    Details {
                        name: Some(name.clone()),
                        group: group_opt(def),
                        kind: Some(def.plural.to_string()),
                        ..Details::default()
                    },
                )
            }
            OpError::AlreadyExists { res, name } => {
                let def = reg.def(*res);
                Status::failure(
                    409,
                    "AlreadyExists",
                    format!("{} \"{name}\" already exists", qualified(def)),
                )
                .with_details(Details {
                    name: Some(name.clone()),
                    group: group_opt(def),
                    kind: Some(def.plural.to_string()),
                    ..Details::default()
                })
            }
            OpError::Invalid { res, name, causes } => {
                let def = reg.def(*res);
                let parts: Vec<String> = causes
                    .iter()
                    .map(|c| format!("{}: {}", c.field.as_deref().unwrap_or(""), c.message))
                    .collect();
                let joined = if parts.len() == 1 {
                    parts[0].clone()
                } else {
                    format!("[{}]", parts.join(", "))
                };
                // `Kind.group` as apimachinery's GroupKind prints it (`Kind` for the core group).
                let kind = match def.group {
                    "" => def.kind.to_string(),
                    g => format!("{}.{g}", def.kind),
                };
                Status::failure(422, "Invalid", format!("{kind} \"{name}\" is invalid: {joined}")).with_details(
                    Details {
                        name: Some(name.clone()),
                        group: group_opt(def),
                        kind: Some(def.kind.to_string()),
                        causes: causes.clone(),
                        ..Details::default()
                    },
                )
            }
            OpError::Conflict { res, name } => {
                let def = reg.def(*res);
                Status::failure(
                    409,
                    "Conflict",
                    format!(
                        "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
                        qualified(def)
                    ),
                )
                .with_details(Details {
                    name: Some(name.clone()),
                    group: group_opt(def),
                    kind: Some(def.plural.to_string()),
                    ..Details::default()
                })
            }
            OpError::BadRequest(m) => Status::failure(400, "BadRequest", m.clone()),
        }
    }

    pub fn to_sim_error(&self, reg: &Registry) -> super::SimError {
        let msg = self.to_status(reg).message.unwrap_or_default();
        match self {
            OpError::NotFound { .. } => super::SimError::NotFound(msg),
            OpError::AlreadyExists { .. } => super::SimError::AlreadyExists(msg),
            _ => super::SimError::Invalid(msg),
        }
    }
}

/// How an update treats `.status` (real servers split it into the `/status` subresource).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// Everything as given (the Rust API).
    Full,
    /// The main resource over HTTP: status changes are ignored when a `/status` subresource exists.
    Main,
    /// The `/status` subresource: only status changes.
    Status,
}

/// Shared state of one simulated server.
pub struct Core {
    pub config: SimConfig,
    pub reg: Registry,
    state: Mutex<State>,
    /// Bumped on every change of any resource.
    pub any_signal: watch::Sender<u64>,
    /// Bumped when watches must re-check state (drop, expire, shutdown).
    pub control: watch::Sender<u64>,
    pub faults: Mutex<super::faults::FaultState>,
    /// Nodes and pods as the metrics derivation parsed them (`super::metrics`).
    pub metrics_cache: Mutex<super::metrics::Cache>,
    pub addr: SocketAddr,
    /// A total outage ([`Faults::outage`](super::Faults::outage)): every connection is cut.
    pub outage: std::sync::atomic::AtomicBool,
}

pub(super) fn meta_mut(obj: &mut Map<String, Value>) -> &mut Map<String, Value> {
    let m = obj.entry("metadata").or_insert_with(|| Value::Object(Map::new()));
    if !m.is_object() {
        *m = Value::Object(Map::new());
    }
    match m {
        Value::Object(m) => m,
        _ => unreachable!("metadata was just made an object"),
    }
}

fn meta_str(obj: &Map<String, Value>, k: &str) -> Option<String> {
    obj.get("metadata")
        .and_then(|m| m.get(k))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// An APIService is named `spec.version + "." + spec.group` (`v1.` for the core group), which the
/// DNS-subdomain rule would refuse.
fn validate_apiservice_name(obj: &Map<String, Value>, name: &str) -> Result<(), String> {
    let spec = |k: &str| {
        obj.get("spec")
            .and_then(|s| s.get(k))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let required = format!("{}.{}", spec("version"), spec("group"));
    if name == required {
        Ok(())
    } else {
        Err(format!("must be `spec.version+\".\"+spec.group`: {required:?}"))
    }
}

fn has_finalizers(obj: &Map<String, Value>) -> bool {
    obj.get("metadata")
        .and_then(|m| m.get("finalizers"))
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty())
}

fn is_deleting(obj: &Map<String, Value>) -> bool {
    obj.get("metadata")
        .and_then(|m| m.get("deletionTimestamp"))
        .is_some_and(|v| !v.is_null())
}

impl Core {
    pub fn new(config: SimConfig, reg: Registry, addr: SocketAddr) -> Core {
        let n = reg.len();
        let capacity = config.event_log_capacity;
        Core {
            config,
            state: Mutex::new(State::new(n, capacity)),
            any_signal: watch::Sender::new(0),
            control: watch::Sender::new(0),
            faults: Mutex::new(super::faults::FaultState::new(n)),
            metrics_cache: Mutex::new(super::metrics::Cache::default()),
            reg,
            addr,
            outage: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The state lock; a poisoned lock is recovered (the state is always left consistent).
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn wake_watches(&self) {
        self.control.send_modify(|g| *g += 1);
    }

    /// Wakes the watches of the storage indexes written (`touched`, from [`Core::commit`]).
    pub(super) fn notify(&self, touched: &[(usize, u64)]) {
        for &(res, rv) in touched {
            self.reg.signal(res, rv);
            self.any_signal.send_replace(rv);
        }
    }

    /// Stamps the next resourceVersion into `obj`, stores it and logs the event. Deleting a
    /// CustomResourceDefinition first deletes its custom resources and afterwards retires them
    /// (`super::crd`), whichever write removed it.
    pub(super) fn commit(
        &self,
        st: &mut State,
        res: usize,
        kind: EventType,
        mut obj: Map<String, Value>,
        prev: Option<Arc<Stored>>,
        touched: &mut Vec<(usize, u64)>,
    ) -> (Map<String, Value>, Arc<Stored>) {
        let def = self.reg.def(res);
        let crd_deleted = kind == EventType::Deleted && crd::is_crd(def);
        if crd_deleted {
            crd::purge_instances(self, st, &obj, touched);
        }
        let rv = st.rv + 1;
        meta_mut(&mut obj).insert("resourceVersion".into(), Value::String(rv.to_string()));
        let stored = Arc::new(Stored::build(def, &obj, rv));
        let storage = st.storage(res);
        let malformed = st
            .rewrites
            .get_mut(storage)
            .and_then(VecDeque::pop_front)
            .map(|rewrite| {
                let mut bad = obj.clone();
                rewrite(&mut bad);
                // A kind or apiVersion the rewrite set replaces the resource's own.
                let (kind, api) = (bad.remove("kind"), bad.remove("apiVersion"));
                let type_prefix = (kind.is_some() || api.is_some()).then(|| {
                    let text = |v: Option<Value>, default: &str| v.unwrap_or_else(|| default.into()).to_string();
                    let prefix = format!(
                        r#"{{"kind":{},"apiVersion":{}"#,
                        text(kind, def.kind),
                        text(api, def.api_version)
                    );
                    Arc::from(prefix.into_bytes())
                });
                let (json, meta_end) = encode_object(&bad);
                Rewritten {
                    json: Bytes::from(json),
                    meta_end,
                    type_prefix,
                }
            });
        st.apply(Event {
            rv,
            res: storage,
            kind,
            obj: stored.clone(),
            prev,
            malformed,
        });
        touched.push((storage, rv));
        if crd_deleted {
            crd::retire(self, &obj);
        }
        (obj, stored)
    }

    pub(super) fn typed(&self, res: usize, mut obj: Map<String, Value>) -> Value {
        let def = self.reg.def(res);
        obj.insert("apiVersion".into(), Value::String(def.api_version.into()));
        obj.insert("kind".into(), Value::String(def.kind.into()));
        Value::Object(obj)
    }

    /// Checks and strips `apiVersion`/`kind` (they must match the resource when given).
    fn strip_type(&self, res: usize, obj: &mut Map<String, Value>) -> Result<(), OpError> {
        let def = self.reg.def(res);
        let api = obj.remove("apiVersion");
        let kind = obj.remove("kind");
        if let Some(Value::String(k)) = &kind
            && k != def.kind
        {
            return Err(OpError::BadRequest(format!(
                "the API version in the data ({}) does not match the expected API version ({})",
                api.as_ref().and_then(Value::as_str).unwrap_or(""),
                def.api_version
            )));
        }
        if let Some(Value::String(a)) = &api
            && a != def.api_version
        {
            return Err(OpError::BadRequest(format!(
                "the API version in the data ({a}) does not match the expected API version ({})",
                def.api_version
            )));
        }
        Ok(())
    }

    /// Resolves the namespace of an object for a namespaced resource (path wins; a conflicting
    /// body namespace is a 400), or clears it for a cluster-scoped one.
    fn settle_namespace(
        &self,
        res: usize,
        obj: &mut Map<String, Value>,
        path_ns: Option<&str>,
    ) -> Result<String, OpError> {
        let def = self.reg.def(res);
        let meta = meta_mut(obj);
        if !def.namespaced {
            meta.remove("namespace");
            return Ok(String::new());
        }
        let body_ns = meta
            .get("namespace")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        let ns = match (path_ns, body_ns) {
            (Some(p), Some(b)) if p != b => {
                return Err(OpError::BadRequest(
                    "the namespace of the provided object does not match the namespace sent on the request".into(),
                ));
            }
            (Some(p), _) => p.to_string(),
            (None, Some(b)) => b,
            (None, None) => "default".to_string(),
        };
        meta.insert("namespace".into(), Value::String(ns.clone()));
        Ok(ns)
    }

    /// Create. `strict` adds the HTTP-only validation a real server does (pods need containers).
    pub fn create(&self, res: usize, obj: Value, path_ns: Option<&str>, strict: bool) -> Result<Value, OpError> {
        let def = self.reg.def(res);
        let Value::Object(mut obj) = obj else {
            return Err(OpError::BadRequest("the object must be a JSON object".into()));
        };
        self.strip_type(res, &mut obj)?;
        let ns = self.settle_namespace(res, &mut obj, path_ns)?;
        let meta = meta_mut(&mut obj);
        let mut name = meta.get("name").and_then(Value::as_str).unwrap_or("").to_string();
        let mut causes = Vec::new();
        if name.is_empty() {
            match meta
                .get("generateName")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
            {
                Some(g) => {
                    name = format!("{g}{}", random_suffix());
                    meta.insert("name".into(), Value::String(name.clone()));
                }
                None => causes.push(Cause {
                    reason: Some("FieldValueRequired".into()),
                    message: "Required value: name or generateName is required".into(),
                    field: Some("metadata.name".into()),
                }),
            }
        }
        if !name.is_empty()
            && let Err(m) = if def.plural == "apiservices" {
                validate_apiservice_name(&obj, &name)
            } else {
                validate_name(&name, def.name_rule)
            }
        {
            causes.push(Cause {
                reason: Some("FieldValueInvalid".into()),
                message: format!("Invalid value: {}: {m}", Value::String(name.clone())),
                field: Some("metadata.name".into()),
            });
        }
        if crd::is_crd(def) {
            causes.extend(crd::prepare_create(&mut obj, &name));
        }
        if strict && def.plural == "pods" {
            let containers = obj
                .get("spec")
                .and_then(|s| s.get("containers"))
                .and_then(Value::as_array);
            if containers.is_none_or(|c| c.is_empty()) {
                causes.push(Cause {
                    reason: Some("FieldValueRequired".into()),
                    message: "Required value".into(),
                    field: Some("spec.containers".into()),
                });
            }
        }
        if !causes.is_empty() {
            return Err(OpError::Invalid { res, name, causes });
        }
        let meta = meta_mut(&mut obj);
        if meta.get("uid").and_then(Value::as_str).is_none_or(str::is_empty) {
            meta.insert("uid".into(), Value::String(random_uid()));
        }
        if meta.get("creationTimestamp").is_none_or(Value::is_null) {
            meta.insert("creationTimestamp".into(), Value::String(now_rfc3339()));
        }
        if def.has_generation && meta.get("generation").is_none_or(Value::is_null) {
            meta.insert("generation".into(), Value::from(1));
        }
        let mut touched = Vec::new();
        let out = {
            let mut st = self.lock();
            if st.get(res, &ns, &name).is_some() {
                return Err(OpError::AlreadyExists { res, name });
            }
            let (out, stored) = self.commit(&mut st, res, EventType::Added, obj, None, &mut touched);
            if crd::is_crd(def) {
                crd::establish(self, &mut st, res, stored, &mut touched);
            }
            out
        };
        self.notify(&touched);
        Ok(self.typed(res, out))
    }

    /// Turns `new` into the stored successor of `old`: identity fields kept, generation bumped when
    /// `.spec` changed. Resource version is set to the old one (for no-op detection).
    fn settle_update(
        &self,
        res: usize,
        old: &Map<String, Value>,
        mut new: Map<String, Value>,
        mode: WriteMode,
    ) -> Map<String, Value> {
        let def = self.reg.def(res);
        match mode {
            WriteMode::Full => {}
            WriteMode::Main => {
                if def.status_subresource {
                    match old.get("status") {
                        Some(s) => new.insert("status".into(), s.clone()),
                        None => new.remove("status"),
                    };
                }
            }
            WriteMode::Status => {
                let status = new.remove("status");
                new = old.clone();
                match status {
                    Some(s) => new.insert("status".into(), s),
                    None => new.remove("status"),
                };
            }
        }
        new.remove("apiVersion");
        new.remove("kind");
        let old_meta = old
            .get("metadata")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        // The Rust API may mark a graceful-delete kind for deletion the way a DELETE with a grace
        // period does (deletionTimestamp = now + grace): the object stays, Terminating, until a
        // later delete removes it. Generated clusters show pods shutting down that way.
        let marks_deletion = mode == WriteMode::Full
            && def.graceful_delete
            && !old_meta.contains_key("deletionTimestamp")
            && new
                .get("metadata")
                .and_then(|m| m.get("deletionTimestamp"))
                .is_some_and(Value::is_string);
        let meta = meta_mut(&mut new);
        for k in [
            "name",
            "namespace",
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "resourceVersion",
            "generateName",
        ] {
            if marks_deletion && k.starts_with("deletion") {
                continue;
            }
            match old_meta.get(k) {
                Some(v) => meta.insert(k.into(), v.clone()),
                None => meta.remove(k),
            };
        }
        let old_gen = old_meta.get("generation").and_then(Value::as_i64);
        let spec_changed = if def.custom {
            // The custom resource strategy: everything but metadata counts (status too, unless
            // a `/status` subresource owns it); a `/status` write never bumps.
            let content = |o: &Map<String, Value>| {
                o.iter()
                    .filter(|(k, _)| *k != "metadata" && !(def.status_subresource && *k == "status"))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect::<Map<String, Value>>()
            };
            mode != WriteMode::Status && content(old) != content(&new)
        } else {
            old.get("spec") != new.get("spec")
        };
        let generation = match old_gen {
            Some(g) if spec_changed => Some(g + 1),
            Some(g) => Some(g),
            None if def.has_generation => Some(1),
            None => None,
        };
        let meta = meta_mut(&mut new);
        match generation {
            Some(g) => meta.insert("generation".into(), Value::from(g)),
            None => meta.remove("generation"),
        };
        new
    }

    /// Stores `new` as the successor of `existing` (no event when nothing changed; a deleting object
    /// whose last finalizer went away is deleted).
    fn write_successor(
        &self,
        st: &mut State,
        res: usize,
        existing: Arc<Stored>,
        old: Map<String, Value>,
        new: Map<String, Value>,
        touched: &mut Vec<(usize, u64)>,
    ) -> Map<String, Value> {
        if new == old {
            return old;
        }
        // Only the removal of the last finalizer completes a deletion here; a graceful mark
        // (no finalizers) waits for its delete.
        let kind = if is_deleting(&new) && !has_finalizers(&new) && has_finalizers(&old) {
            EventType::Deleted
        } else {
            EventType::Modified
        };
        self.commit(st, res, kind, new, Some(existing), touched).0
    }

    /// Full update (PUT / `Sim::replace`). With `check_rv`, a given metadata.resourceVersion must match.
    pub fn update(
        &self,
        res: usize,
        path_ns: Option<&str>,
        path_name: Option<&str>,
        obj: Value,
        mode: WriteMode,
        check_rv: bool,
    ) -> Result<Value, OpError> {
        let Value::Object(mut obj) = obj else {
            return Err(OpError::BadRequest("the object must be a JSON object".into()));
        };
        self.strip_type(res, &mut obj)?;
        let body_name = meta_str(&obj, "name").filter(|s| !s.is_empty());
        let name = match (path_name, body_name) {
            (Some(p), Some(b)) if p != b => {
                return Err(OpError::BadRequest(
                    "the name of the object does not match the name on the URL".into(),
                ));
            }
            (Some(p), _) => p.to_string(),
            (None, Some(b)) => b,
            (None, None) => {
                return Err(OpError::Invalid {
                    res,
                    name: String::new(),
                    causes: vec![Cause {
                        reason: Some("FieldValueRequired".into()),
                        message: "Required value: name is required".into(),
                        field: Some("metadata.name".into()),
                    }],
                });
            }
        };
        let ns = self.settle_namespace(res, &mut obj, path_ns)?;
        let given_rv = meta_str(&obj, "resourceVersion").filter(|s| !s.is_empty());
        let mut touched = Vec::new();
        let out = {
            let mut st = self.lock();
            let existing = st.get(res, &ns, &name).cloned().ok_or_else(|| OpError::NotFound {
                res,
                name: name.clone(),
            })?;
            if check_rv && given_rv.as_ref().is_some_and(|rv| *rv != existing.rv.to_string()) {
                return Err(OpError::Conflict { res, name });
            }
            let old = existing.to_map();
            let new = self.settle_update(res, &old, obj, mode);
            self.write_successor(&mut st, res, existing, old, new, &mut touched)
        };
        self.notify(&touched);
        Ok(self.typed(res, out))
    }

    /// RFC 7386 merge patch.
    pub fn patch(
        &self,
        res: usize,
        ns: Option<&str>,
        name: &str,
        patch: &Value,
        mode: WriteMode,
    ) -> Result<Value, OpError> {
        let def = self.reg.def(res);
        let ns = if def.namespaced { ns.unwrap_or("default") } else { "" };
        if !patch.is_object() {
            return Err(OpError::BadRequest("the patch must be a JSON object".into()));
        }
        let mut touched = Vec::new();
        let out = {
            let mut st = self.lock();
            let existing = st.get(res, ns, name).cloned().ok_or_else(|| OpError::NotFound {
                res,
                name: name.to_string(),
            })?;
            let old = existing.to_map();
            let mut patched = Value::Object(old.clone());
            merge_patch(&mut patched, patch);
            let Value::Object(patched) = patched else {
                return Err(OpError::BadRequest("the patch must be a JSON object".into()));
            };
            let new = self.settle_update(res, &old, patched, mode);
            self.write_successor(&mut st, res, existing, old, new, &mut touched)
        };
        self.notify(&touched);
        Ok(self.typed(res, out))
    }

    /// Delete. Returns the object as the DELETED event carries it (or, with finalizers, the object
    /// now marked for deletion) and whether it is gone.
    pub fn delete(&self, res: usize, ns: Option<&str>, name: &str) -> Result<(Value, bool), OpError> {
        let def = self.reg.def(res);
        if crd::is_crd(def) {
            return crd::delete(self, res, name);
        }
        let ns = if def.namespaced { ns.unwrap_or("default") } else { "" };
        let mut touched = Vec::new();
        let out = {
            let mut st = self.lock();
            let mut existing = st.get(res, ns, name).cloned().ok_or_else(|| OpError::NotFound {
                res,
                name: name.to_string(),
            })?;
            let mut obj = existing.to_map();
            let finalizers = has_finalizers(&obj);
            if (finalizers || def.graceful_delete) && !is_deleting(&obj) {
                let meta = meta_mut(&mut obj);
                meta.insert("deletionTimestamp".into(), Value::String(now_rfc3339()));
                meta.insert("deletionGracePeriodSeconds".into(), Value::from(0));
                if let Some(g) = meta.get("generation").and_then(Value::as_i64) {
                    meta.insert("generation".into(), Value::from(g + 1));
                }
                let (o, s) = self.commit(&mut st, res, EventType::Modified, obj, Some(existing), &mut touched);
                obj = o;
                existing = s;
            }
            if finalizers {
                (obj, false)
            } else {
                (
                    self.commit(&mut st, res, EventType::Deleted, obj, Some(existing), &mut touched)
                        .0,
                    true,
                )
            }
        };
        self.notify(&touched);
        Ok((self.typed(res, out.0), out.1))
    }

    pub fn get(&self, res: usize, ns: Option<&str>, name: &str) -> Option<Arc<Stored>> {
        let def = self.reg.def(res);
        let ns = if def.namespaced { ns.unwrap_or("default") } else { "" };
        self.lock().get(res, ns, name).cloned()
    }

    pub fn get_value(&self, res: usize, ns: Option<&str>, name: &str) -> Option<Value> {
        self.get(res, ns, name).map(|o| self.typed(res, o.to_map()))
    }

    pub fn list_values(&self, res: usize) -> Vec<Value> {
        let items = self.lock().scope_items(res, None);
        items.iter().map(|o| self.typed(res, o.to_map())).collect()
    }
}
