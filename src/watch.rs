//! One kube-runtime watcher per (kind, namespace scope), feeding rendered bytes into the store.
//!
//! The watcher lists page by page, then watches with bookmarks; each object is decoded,
//! rendered and dropped at once, so no full objects are ever kept. Errors never end a task: they
//! are logged with the resource, counted, shown on `/readyz` until the kind syncs, and retried
//! with kube's default backoff (800 ms doubling to 30 s, with jitter).

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client, Resource};
use serde::{Deserialize, Deserializer};

use crate::client::ShardWatch;
use crate::families::{EnabledFamilies, ObjectFamilies, RenderContext, Rendered};
use crate::sharding::ShardFilter;
use crate::store::{KindStore, ObjectKey, Relist, Scope};
use crate::telemetry::Telemetry;

/// An object as it came off the wire: decoded, or kept as metadata plus the decode error so a
/// single malformed object is skipped instead of failing the whole list page.
#[derive(Clone, Debug)]
// `Valid` is the common case; boxing it would add an allocation per object for nothing.
#[allow(clippy::large_enum_variant)]
pub enum Decoded<K> {
    /// A well-formed object.
    Valid(K),
    /// An object whose body did not match the schema.
    Malformed {
        /// Whatever metadata could be read (for logging and keeping its old rendering).
        metadata: ObjectMeta,
        /// The decode error.
        error: String,
    },
}

impl<'de, K: serde::de::DeserializeOwned + Resource> Deserialize<'de> for Decoded<K> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Capture the raw JSON (a scan and a copy, far cheaper than a `Value`) so a schema error
        // stays local to this object.
        let raw = Box::<serde_json::value::RawValue>::deserialize(d)?;
        let decoded = crate::decode::from_str::<K>(raw.get()).map_err(|e| e.to_string());
        // The store keys objects by name and tells incarnations apart by UID: an object
        // without either cannot be stored without shadowing or resurrecting another.
        let decoded = decoded.and_then(|obj| {
            let meta = obj.meta();
            match (meta.name.as_deref(), meta.uid.as_deref()) {
                (None | Some(""), _) => Err("metadata.name is missing".to_string()),
                (_, None | Some("")) => Err("metadata.uid is missing".to_string()),
                _ => Ok(obj),
            }
        });
        match decoded {
            Ok(obj) => Ok(Decoded::Valid(obj)),
            Err(error) => {
                #[derive(Deserialize)]
                struct MetaOnly {
                    #[serde(default)]
                    metadata: ObjectMeta,
                }
                let metadata = crate::decode::from_str::<MetaOnly>(raw.get())
                    .map(|m| m.metadata)
                    .unwrap_or_default();
                Ok(Decoded::Malformed { metadata, error })
            }
        }
    }
}

impl<K: Resource> Resource for Decoded<K> {
    type DynamicType = K::DynamicType;
    // Dynamic, so one code path serves all-namespace and per-namespace watches.
    type Scope = kube::core::DynamicResourceScope;

    fn kind(dt: &K::DynamicType) -> Cow<'_, str> {
        K::kind(dt)
    }
    fn group(dt: &K::DynamicType) -> Cow<'_, str> {
        K::group(dt)
    }
    fn version(dt: &K::DynamicType) -> Cow<'_, str> {
        K::version(dt)
    }
    fn plural(dt: &K::DynamicType) -> Cow<'_, str> {
        K::plural(dt)
    }
    fn meta(&self) -> &ObjectMeta {
        match self {
            Decoded::Valid(k) => k.meta(),
            Decoded::Malformed { metadata, .. } => metadata,
        }
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        match self {
            Decoded::Valid(k) => k.meta_mut(),
            Decoded::Malformed { metadata, .. } => metadata,
        }
    }
}

/// Settings shared by every watcher.
#[derive(Clone, Debug)]
pub struct WatchSettings {
    /// `limit` for the paginated initial list (when the server refuses watch-list streaming).
    pub page_size: u32,
    /// Start with a streamed initial list (watch-list: `sendInitialEvents=true`), as KSM does
    /// against servers that support it; a server that refuses it gets paginated lists.
    pub streaming_lists: bool,
    /// Namespaces whose objects a namespaced kind's lists and watches exclude
    /// (`--namespaces-denylist`).
    pub namespaces_denylist: Vec<String>,
    /// The objects this shard keeps; a change re-lists (or, when it only narrows, prunes).
    pub shard: ShardWatch,
}

/// What a watcher needs of the kind it watches, whether compiled in (a typed k8s-openapi
/// object) or configured at run time (a custom resource read as JSON).
pub trait Watched: Send + Sync + 'static {
    /// The object as decoded off the wire.
    type Object: Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + Sync + 'static;
    /// The resource name the store knows the kind by.
    fn resource(&self) -> &str;
    /// Whether objects live in namespaces.
    fn namespaced(&self) -> bool;
    /// The API of one scope: every namespace (`None`) or one.
    fn api(&self, client: Client, namespace: Option<&str>) -> Api<Decoded<Self::Object>>;
    /// Renders one object's families.
    fn render(&self, obj: &Self::Object) -> Rendered;

    /// Applies an added/modified object to a scope: what the watcher does for each such event.
    fn apply(&self, scope: &Scope, obj: &Self::Object) {
        let meta = obj.meta();
        let key = ObjectKey::new(meta.namespace.as_deref(), meta.name.as_deref());
        let uid = meta.uid.as_deref().unwrap_or("");
        let rv = meta.resource_version.as_deref().unwrap_or("");
        scope.apply(key, uid, rv, || self.render(obj));
    }

    /// Adds one listed object to a relist in progress.
    fn relist_apply(&self, relist: &mut Relist, scope: &Scope, obj: &Self::Object) {
        let meta = obj.meta();
        let key = ObjectKey::new(meta.namespace.as_deref(), meta.name.as_deref());
        let uid = meta.uid.as_deref().unwrap_or("");
        let rv = meta.resource_version.as_deref().unwrap_or("");
        relist.apply(scope, key, uid, rv, || self.render(obj));
    }
}

/// What a watcher needs to render one compiled-in kind.
pub struct KindRenderer<K: 'static> {
    /// Enabled families of the kind.
    pub families: EnabledFamilies<K>,
    /// Allowlists for the kind.
    pub context: RenderContext,
}

impl<K: ObjectFamilies> Watched for KindRenderer<K> {
    type Object = K;

    fn resource(&self) -> &str {
        K::URL_PATH_SEGMENT
    }

    fn namespaced(&self) -> bool {
        K::namespaced()
    }

    fn api(&self, client: Client, namespace: Option<&str>) -> Api<Decoded<K>> {
        match namespace {
            Some(ns) => Api::namespaced_with(client, ns, &()),
            None => Api::all_with(client, &()),
        }
    }

    fn render(&self, obj: &K) -> Rendered {
        self.families.render(obj, &self.context)
    }
}

/// KSM's `--namespaces-denylist`: ANDed `metadata.namespace!=X` field selectors, for namespaced
/// kinds only (a cluster-scoped object has no namespace to exclude).
pub fn denylist_selector(namespaced: bool, denylist: &[String]) -> Option<String> {
    (namespaced && !denylist.is_empty()).then(|| {
        denylist
            .iter()
            .map(|n| format!("metadata.namespace!={n}"))
            .collect::<Vec<_>>()
            .join(",")
    })
}

/// Starts one watcher per scope of the kind's store (one per namespace, or one cluster-wide).
pub fn spawn_scopes<W: Watched>(
    renderer: &Arc<W>,
    client: &Client,
    kind: &Arc<KindStore>,
    settings: &WatchSettings,
    telemetry: &Arc<Telemetry>,
    tasks: &mut tokio::task::JoinSet<()>,
) {
    for scope in 0..kind.scopes().len() {
        tasks.spawn(run(
            client.clone(),
            scope,
            kind.clone(),
            renderer.clone(),
            settings.clone(),
            telemetry.clone(),
        ));
    }
}

/// Runs one watcher of one scope of `kind` until the task is aborted. Never returns on API
/// errors.
pub async fn run<W: Watched>(
    client: Client,
    scope_index: usize,
    kind: Arc<KindStore>,
    renderer: Arc<W>,
    settings: WatchSettings,
    telemetry: Arc<Telemetry>,
) {
    let resource = renderer.resource();
    let Some(scope) = kind.scopes().get(scope_index) else {
        return;
    };
    let api = renderer.api(client, scope.namespace());
    let mut config = watcher::Config::default().page_size(settings.page_size);
    if let Some(fields) = denylist_selector(renderer.namespaced(), &settings.namespaces_denylist) {
        config = config.fields(&fields);
    }
    let namespace = scope.namespace().unwrap_or("").to_string();
    let mut shard = settings.shard.clone();
    let Some(mut filter) = assigned_filter(&mut shard, scope).await else {
        return;
    };
    // Streamed initial lists: objects arrive one by one and are rendered and packed as they
    // come, with no page of decoded objects held and no LIST request per page.
    let mut streaming = settings.streaming_lists;
    let start = |streaming: bool| {
        let config = if streaming {
            config.clone().streaming_lists()
        } else {
            config.clone()
        };
        watcher::watcher(api.clone(), config).default_backoff().boxed()
    };
    let mut events = Pipe::new(start(streaming));
    let mut relist: Option<Relist> = None;
    let mut errors = ErrorRound::default();
    let mut shard_open = true;
    loop {
        let event = tokio::select! {
            changed = shard.changed(), if shard_open => {
                shard_open = changed.is_ok();
                let Some(next) = shard.borrow_and_update().clone() else { continue };
                if next == filter {
                    continue;
                }
                if next.is_narrowing_of(&filter) {
                    // Objects that left this shard are dropped in place: what stays is current.
                    let dropped = scope.retain(|uid| next.keeps(uid));
                    tracing::info!(resource, namespace, dropped, shard = %next.current(), "shard narrowed; objects handed over dropped");
                } else {
                    // New objects are ours: list again with the new filter. The live state is
                    // served until that list is swapped in, so no object goes missing meanwhile.
                    tracing::info!(resource, namespace, shard = %next.current(), "shard assignment changed; relisting");
                    events = Pipe::new(start(streaming));
                    relist = None;
                }
                filter = next;
                continue;
            }
            event = events.next() => match event {
                Some(event) => event,
                None => break,
            },
        };
        if event_uid(&event).is_some_and(|uid| !filter.keeps(uid)) {
            continue;
        }
        errors.observe(&event, resource, &namespace);
        match &event {
            Ok(Event::Init) => relist = Some(scope.begin_relist()),
            Ok(Event::InitApply(obj)) => {
                let relist = relist.get_or_insert_with(|| scope.begin_relist());
                match obj {
                    Decoded::Valid(obj) => renderer.relist_apply(relist, scope, obj),
                    Decoded::Malformed { metadata, error } => {
                        report_malformed(resource, metadata, error, &telemetry);
                        relist.keep_live(
                            scope,
                            ObjectKey::new(metadata.namespace.as_deref(), metadata.name.as_deref()),
                        );
                    }
                }
            }
            Ok(Event::InitDone) => {
                let listed = relist.take().unwrap_or_else(|| scope.begin_relist());
                let count = listed.len();
                let was_synced = scope.is_synced();
                scope.commit_relist(listed);
                telemetry.relists.with_label_values(&[resource]).inc();
                if was_synced {
                    tracing::info!(resource, namespace, objects = count, "relist stored");
                } else {
                    tracing::info!(
                        resource,
                        namespace,
                        objects = count,
                        "initial list stored; resource synced"
                    );
                }
            }
            Ok(Event::Apply(obj)) => {
                count_event(&telemetry, resource, "apply");
                match obj {
                    Decoded::Valid(obj) => renderer.apply(scope, obj),
                    Decoded::Malformed { metadata, error } => report_malformed(resource, metadata, error, &telemetry),
                }
            }
            Ok(Event::Delete(obj)) => {
                count_event(&telemetry, resource, "delete");
                let meta = obj.meta();
                let key = ObjectKey::new(meta.namespace.as_deref(), meta.name.as_deref());
                scope.delete(&key, meta.uid.as_deref().unwrap_or(""));
            }
            Err(error) if streaming && refuses_watch_list(error) => {
                tracing::info!(
                    resource,
                    namespace,
                    error = %error_message(error),
                    "API server refuses streamed lists (watch-list); using paginated lists"
                );
                streaming = false;
                events = Pipe::new(start(streaming));
                relist = None;
                continue;
            }
            Err(error) => {
                telemetry
                    .watch_errors
                    .with_label_values(&[resource, ErrorClass::reason(error)])
                    .inc();
                let message = error_message(error);
                errors.report(ErrorClass::of(error), &message, resource, &namespace);
                if !scope.is_synced() {
                    scope.set_error(Some(message));
                }
            }
        }
        events.give_back(event);
    }
}

/// The filter to start with; with auto-sharding, waits (and says so on `/readyz`) until the
/// assignment is known. `None` when the assignment source is gone before giving one.
async fn assigned_filter(shard: &mut ShardWatch, scope: &crate::store::Scope) -> Option<ShardFilter> {
    loop {
        if let Some(filter) = shard.borrow_and_update().clone() {
            return Some(filter);
        }
        scope.set_error(Some("waiting for the shard assignment (auto-sharding)".into()));
        if shard.changed().await.is_err() {
            return shard.borrow().clone();
        }
    }
}

/// Events waiting between the task that reads and decodes them and the one that renders and
/// stores them: enough to keep both busy, few enough that decoded objects in flight stay a few
/// MiB.
const PIPE_DEPTH: usize = 256;

/// The watch stream read and decoded on a task of its own, so that decoding the next objects
/// overlaps rendering and storing the previous ones: two cores for one kind's list instead of
/// one. Dropping the pipe stops the reading task (and with it the watch).
///
/// Items are handed back ([`Pipe::give_back`]) once used and freed by the reading task: glibc
/// frees a chunk into the arena of the thread that allocated it, under that arena's lock, which
/// the decoder holds for every allocation; freeing a decoded pod on the consuming thread made a
/// piped event cost more than decoding and applying it on one thread (`bench` measures this path).
pub struct Pipe<T> {
    rx: tokio::sync::mpsc::Receiver<T>,
    spent: tokio::sync::mpsc::Sender<T>,
    reader: tokio::task::JoinHandle<()>,
}

impl<T: Send + 'static> Pipe<T> {
    /// Starts reading `stream` on a task of its own.
    pub fn new(mut stream: futures::stream::BoxStream<'static, T>) -> Self {
        let (tx, rx) = tokio::sync::mpsc::channel(PIPE_DEPTH);
        let (spent, mut returned) = tokio::sync::mpsc::channel::<T>(PIPE_DEPTH);
        let reader = tokio::spawn(async move {
            loop {
                // Used items are freed while waiting for the stream too, so a quiet watch does
                // not hold the last objects of its list.
                tokio::select! {
                    biased;
                    Some(used) = returned.recv() => drop(used),
                    item = stream.next() => {
                        let Some(item) = item else { break };
                        if tx.send(item).await.is_err() {
                            break;
                        }
                    }
                }
            }
        });
        Pipe { rx, spent, reader }
    }

    /// The next item; `None` once the stream has ended.
    pub async fn next(&mut self) -> Option<T> {
        self.rx.recv().await
    }

    /// Hands a used item back to be freed by the reading task (freed here when its queue is
    /// full or the reader is gone).
    pub fn give_back(&self, item: T) {
        let _ = self.spent.try_send(item);
    }
}

impl<T> Drop for Pipe<T> {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// Whether an error says the server does not do watch-list streaming: a server without the
/// WatchList feature rejects `sendInitialEvents` (or, older, `resourceVersionMatch` on a watch)
/// as an invalid request.
fn refuses_watch_list(error: &watcher::Error) -> bool {
    let status = match error {
        watcher::Error::WatchStartFailed(kube::Error::Api(status))
        | watcher::Error::InitialListFailed(kube::Error::Api(status)) => &**status,
        watcher::Error::WatchError(status) => &**status,
        _ => return false,
    };
    matches!(status.code, 400 | 422)
        && (status.message.contains("sendInitialEvents") || status.message.contains("resourceVersionMatch"))
}

/// The UID an object event is about (what the shard filter hashes).
fn event_uid<K: Resource>(event: &Result<Event<K>, watcher::Error>) -> Option<&str> {
    match event {
        Ok(Event::InitApply(obj) | Event::Apply(obj) | Event::Delete(obj)) => {
            Some(obj.meta().uid.as_deref().unwrap_or(""))
        }
        _ => None,
    }
}

fn count_event(telemetry: &Telemetry, resource: &str, kind: &str) {
    telemetry.events.with_label_values(&[resource, kind]).inc();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    telemetry.last_event.with_label_values(&[resource]).set(now);
}

fn report_malformed(resource: &str, meta: &ObjectMeta, error: &str, telemetry: &Telemetry) {
    telemetry.decode_errors.with_label_values(&[resource]).inc();
    tracing::warn!(
        resource,
        namespace = meta.namespace.as_deref().unwrap_or(""),
        name = meta.name.as_deref().unwrap_or("<unknown>"),
        error,
        "skipping object that could not be decoded; its last good state (if any) is kept"
    );
}

/// A one-line description of a watcher error. API errors are reduced to their HTTP code, reason
/// and message (kube's own Display dumps the whole Status struct).
pub fn error_message(error: &watcher::Error) -> String {
    let (stage, inner) = match error {
        watcher::Error::InitialListFailed(e) => ("list failed", e),
        watcher::Error::WatchStartFailed(e) => ("watch failed to start", e),
        watcher::Error::WatchFailed(e) => ("watch failed", e),
        watcher::Error::WatchError(status) => return format!("watch error: {}", describe_status(status)),
        watcher::Error::NoResourceVersion => return error.to_string(),
    };
    match inner {
        kube::Error::Api(status) => format!("{stage}: {}", describe_status(status)),
        other => format!("{stage}: {}", error_chain(other)),
    }
}

/// An error and its sources as one line, skipping a source whose text is already included.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = s.source();
    }
    message
}

fn describe_status(status: &kube::core::Status) -> String {
    if status.reason == NOT_A_STATUS {
        return format!("{} (not an API Status: {})", status.code, body_summary(&status.message));
    }
    format!("{} {}: {}", status.code, status.reason, bounded_line(&status.message))
}

/// The reason kube gives an error whose body is not a `Status`, the body being the message:
/// what a proxy or load balancer in front of the API server answers.
const NOT_A_STATUS: &str = "Failed to parse error data";

/// The longest message quoted from an error body: `/readyz` and the log say what it was, not
/// all of it (a proxy's page, or a Status carrying a whole object).
const QUOTED_CHARS: usize = 200;

/// An HTML page by its title, any other body by its start, on one line.
fn body_summary(body: &str) -> String {
    let title = body.find("<title>").and_then(|start| {
        body[start + 7..]
            .find("</title>")
            .map(|end| &body[start + 7..start + 7 + end])
    });
    match title {
        Some(title) => format!("page titled {:?}", bounded_line(title)),
        None if body.trim().is_empty() => "empty body".to_string(),
        None => format!("body {:?}", bounded_line(body)),
    }
}

/// `text` with runs of whitespace as one space, cut at [`QUOTED_CHARS`] characters.
fn bounded_line(text: &str) -> String {
    let mut line = String::new();
    for (i, word) in text.split_whitespace().enumerate() {
        if i > 0 {
            line.push(' ');
        }
        line.push_str(word);
        if line.chars().count() > QUOTED_CHARS {
            let cut: String = line.chars().take(QUOTED_CHARS).collect();
            return cut + "…";
        }
    }
    line
}

/// What a watcher error means to whoever reads the log: it decides the level and the words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// `410 Gone` (reason `Expired`): the resourceVersion was compacted away and kube lists
    /// again. Normal on any long-running watch: INFO.
    Expired,
    /// 401 or 403: credentials or RBAC. Nothing changes until someone fixes them.
    Denied,
    /// 404: this API server does not serve the resource (API group off, or too old a version).
    NotServed,
    /// 429 or 5xx: the API server is throttling or failing.
    Server,
    /// No usable answer: connection refused or reset, TLS, timeouts, a broken stream.
    Transport,
    /// Anything else (another 4xx, an undecodable response, no resourceVersion).
    Other,
}

impl ErrorClass {
    /// Classifies by HTTP status where there is one, else by the kind of client error.
    pub fn of(error: &watcher::Error) -> ErrorClass {
        let inner = match error {
            watcher::Error::WatchError(status) => return ErrorClass::of_status(status),
            watcher::Error::NoResourceVersion => return ErrorClass::Other,
            watcher::Error::InitialListFailed(e)
            | watcher::Error::WatchStartFailed(e)
            | watcher::Error::WatchFailed(e) => e,
        };
        match inner {
            kube::Error::Api(status) => ErrorClass::of_status(status),
            kube::Error::HyperError(_)
            | kube::Error::Service(_)
            | kube::Error::ReadEvents(_)
            | kube::Error::RustlsTls(_)
            | kube::Error::TlsRequired => ErrorClass::Transport,
            kube::Error::Auth(_) => ErrorClass::Denied,
            _ => ErrorClass::Other,
        }
    }

    /// The `reason` label of `kube_state_exporter_watch_errors_total`: the class, with
    /// throttling told from server errors and timeouts from other transport failures.
    pub fn reason(error: &watcher::Error) -> &'static str {
        let status = match error {
            watcher::Error::WatchError(status) => Some(status.code),
            watcher::Error::InitialListFailed(kube::Error::Api(status))
            | watcher::Error::WatchStartFailed(kube::Error::Api(status))
            | watcher::Error::WatchFailed(kube::Error::Api(status)) => Some(status.code),
            _ => None,
        };
        match ErrorClass::of(error) {
            ErrorClass::Expired => "expired",
            ErrorClass::Denied => "denied",
            ErrorClass::NotServed => "not_found",
            ErrorClass::Server if status == Some(429) => "throttled",
            ErrorClass::Server => "server_error",
            ErrorClass::Transport if crate::client::timed_out(error) => "timeout",
            ErrorClass::Transport => "transport",
            ErrorClass::Other => match error {
                watcher::Error::NoResourceVersion
                | watcher::Error::InitialListFailed(kube::Error::SerdeError(_))
                | watcher::Error::WatchFailed(kube::Error::SerdeError(_)) => "decode",
                _ => "other",
            },
        }
    }

    fn of_status(status: &kube::core::Status) -> ErrorClass {
        match status.code {
            410 => ErrorClass::Expired,
            401 | 403 => ErrorClass::Denied,
            404 => ErrorClass::NotServed,
            429 | 500..=599 => ErrorClass::Server,
            _ if status.reason == "Expired" || status.reason == "Gone" => ErrorClass::Expired,
            _ => ErrorClass::Other,
        }
    }

    /// The level the first occurrence is logged at; repeats are DEBUG.
    pub fn level(self) -> tracing::Level {
        match self {
            ErrorClass::Expired => tracing::Level::INFO,
            _ => tracing::Level::WARN,
        }
    }

    /// The log message: what happened and what the exporter does about it.
    pub fn summary(self) -> &'static str {
        match self {
            ErrorClass::Expired => "resourceVersion expired (410 Gone); relisting",
            ErrorClass::Denied => {
                "list/watch not allowed: check the exporter's credentials and ClusterRole; retrying with backoff, \
                 the other resources are served"
            }
            ErrorClass::NotServed => "resource not served by this API server (404); retrying with backoff",
            ErrorClass::Server => "API server error; retrying with backoff",
            ErrorClass::Transport => "API server not reachable; retrying with backoff",
            ErrorClass::Other => "list/watch failed; retrying with backoff",
        }
    }
}

/// One watcher's memory of its error condition, so that one condition is one log line: the
/// first error of a backoff round is logged at its class's level, a repeat of the same message
/// at DEBUG, a changed message at its level again. A success (a completed list, an applied or
/// deleted object) ends the round, and so do [`ROUND_RESET`] without errors (as kube's backoff
/// resets then), so a watch that recovered without an event still reports the next failure.
#[derive(Debug, Default)]
pub struct ErrorRound {
    /// The message and class of the condition last logged at its level.
    logged: Option<(String, ErrorClass)>,
    last_error: Option<Instant>,
}

/// Quiet time after which the next error starts a new round (kube's default backoff resets
/// after the same time).
pub const ROUND_RESET: Duration = Duration::from_secs(120);

impl ErrorRound {
    /// Whether an error starts a new condition at `now` (log it at its level) or repeats the one
    /// already logged this round.
    pub fn is_new_at(&mut self, class: ErrorClass, message: &str, now: Instant) -> bool {
        let quiet = self
            .last_error
            .is_some_and(|t| now.saturating_duration_since(t) > ROUND_RESET);
        self.last_error = Some(now);
        if !quiet && self.logged.as_ref().is_some_and(|(m, _)| m == message) {
            return false;
        }
        self.logged = Some((message.to_string(), class));
        true
    }

    /// Logs an error: once per condition at its level, repeats at DEBUG.
    pub fn report(&mut self, class: ErrorClass, message: &str, resource: &str, namespace: &str) {
        if !self.is_new_at(class, message, Instant::now()) {
            tracing::debug!(resource, namespace, error = %message, "list/watch still failing");
            return;
        }
        match class.level() {
            tracing::Level::INFO => tracing::info!(resource, namespace, error = %message, "{}", class.summary()),
            _ => tracing::warn!(resource, namespace, error = %message, "{}", class.summary()),
        }
    }

    /// Ends the round on a success. A watch that resumed after a warning says so once; after a
    /// completed list the list's own line says it.
    pub fn observe<K>(&mut self, event: &Result<Event<K>, watcher::Error>, resource: &str, namespace: &str) {
        let relisted = match event {
            Ok(Event::InitDone) => true,
            Ok(Event::Apply(_) | Event::Delete(_)) => false,
            _ => return,
        };
        self.last_error = None;
        if let Some((message, class)) = self.logged.take()
            && !relisted
            && class != ErrorClass::Expired
        {
            tracing::info!(resource, namespace, previous_error = %message, "list/watch recovered");
        }
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::Pod;

    use super::*;

    /// Records the thread that frees it.
    struct Tracked {
        id: usize,
        freed_on: Arc<std::sync::Mutex<Vec<std::thread::ThreadId>>>,
    }

    impl Drop for Tracked {
        fn drop(&mut self) {
            self.freed_on.lock().unwrap().push(std::thread::current().id());
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_pipe_delivers_every_item_in_order_and_frees_the_ones_given_back_on_its_reader() {
        const ITEMS: usize = 50;
        let freed_on = Arc::new(std::sync::Mutex::new(Vec::new()));
        // Item i + 1 is made only once item i has been given back, so the reader has it to free.
        let (ack, acks) = tokio::sync::mpsc::unbounded_channel::<()>();
        let made = freed_on.clone();
        let stream = futures::stream::unfold((0, acks), move |(i, mut acks)| {
            let freed_on = made.clone();
            async move {
                if i > 0 {
                    acks.recv().await?;
                }
                (i < ITEMS).then(|| (Tracked { id: i, freed_on }, (i + 1, acks)))
            }
        });
        let mut pipe = Pipe::new(stream.boxed());
        let mut seen = Vec::new();
        while let Some(item) = pipe.next().await {
            seen.push(item.id);
            pipe.give_back(item);
            ack.send(()).unwrap();
        }
        drop(pipe);
        assert_eq!(seen, (0..ITEMS).collect::<Vec<_>>());
        // Wait for the aborted reader's queue to be dropped as well.
        for _ in 0..100 {
            if freed_on.lock().unwrap().len() == ITEMS {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let freed_on = freed_on.lock().unwrap();
        assert_eq!(freed_on.len(), ITEMS, "every item is freed once");
        let here = std::thread::current().id();
        let on_consumer = freed_on.iter().filter(|t| **t == here).count();
        // The last item may come back after the reader has finished.
        assert!(on_consumer <= 1, "{on_consumer} of {ITEMS} items freed by the consumer");
    }

    #[test]
    fn a_malformed_item_does_not_fail_its_list_page() {
        let page = r#"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"9"},"items":[
            {"metadata":{"name":"a","namespace":"ns","uid":"u1","resourceVersion":"7"},"spec":{"containers":[]}},
            {"metadata":{"name":"b","namespace":"ns","uid":"u2","resourceVersion":"8"},"spec":{"containers":"oops"}},
            {"metadata":{"name":"c","namespace":"ns","uid":"u3","resourceVersion":"9"}}
        ]}"#;
        let list: kube::core::ObjectList<Decoded<Pod>> = serde_json::from_str(page).unwrap();
        let names: Vec<(String, bool)> = list
            .items
            .iter()
            .map(|d| {
                (
                    d.meta().name.clone().unwrap_or_default(),
                    matches!(d, Decoded::Valid(_)),
                )
            })
            .collect();
        assert_eq!(names, [("a".into(), true), ("b".into(), false), ("c".into(), true)]);
        let Decoded::Malformed { metadata, error } = &list.items[1] else {
            unreachable!()
        };
        assert_eq!(metadata.uid.as_deref(), Some("u2"));
        assert!(error.contains("invalid type"), "{error}");
    }

    #[test]
    fn watch_events_decode_leniently_too() {
        let line = r#"{"type":"MODIFIED","object":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"b","namespace":"ns","uid":"u2","resourceVersion":"12"},"spec":{"containers":"oops"}}}"#;
        let event: kube::core::WatchEvent<Decoded<Pod>> = serde_json::from_str(line).unwrap();
        let kube::core::WatchEvent::Modified(Decoded::Malformed { metadata, .. }) = event else {
            panic!("expected a malformed MODIFIED event")
        };
        assert_eq!(metadata.resource_version.as_deref(), Some("12"));
    }

    #[test]
    fn api_errors_are_described_by_code_reason_and_message() {
        let status =
            kube::core::Status::failure("pods is forbidden: User \"x\" cannot list", "Forbidden").with_code(403);
        let e = watcher::Error::InitialListFailed(kube::Error::Api(Box::new(status)));
        assert_eq!(
            error_message(&e),
            "list failed: 403 Forbidden: pods is forbidden: User \"x\" cannot list"
        );
    }

    #[test]
    fn a_proxy_page_is_named_by_its_title_and_long_messages_are_cut() {
        let page = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad \
                    Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
        let not_status = |body: &str, code| {
            let status = kube::core::Status::failure(body, NOT_A_STATUS).with_code(code);
            error_message(&watcher::Error::WatchStartFailed(kube::Error::Api(Box::new(status))))
        };
        assert_eq!(
            not_status(page, 502),
            "watch failed to start: 502 (not an API Status: page titled \"502 Bad Gateway\")"
        );
        assert_eq!(
            not_status("upstream connect error\nor disconnect", 503),
            "watch failed to start: 503 (not an API Status: body \"upstream connect error or disconnect\")"
        );
        assert_eq!(
            not_status("", 504),
            "watch failed to start: 504 (not an API Status: empty body)"
        );
        let long = kube::core::Status::failure(&"x".repeat(5000), "InternalError").with_code(500);
        let message = error_message(&watcher::Error::InitialListFailed(kube::Error::Api(Box::new(long))));
        assert_eq!(
            message,
            format!("list failed: 500 InternalError: {}…", "x".repeat(QUOTED_CHARS))
        );
    }

    #[test]
    fn errors_are_counted_by_reason() {
        let io = |kind| std::io::Error::new(kind, "socket");
        let cases = [
            (watcher::Error::WatchError(status(WATCH_410)), "expired"),
            (
                watcher::Error::InitialListFailed(kube::Error::Api(status(LIST_403))),
                "denied",
            ),
            (watcher::Error::InitialListFailed(api(404, "NotFound")), "not_found"),
            (
                watcher::Error::WatchStartFailed(api(429, "TooManyRequests")),
                "throttled",
            ),
            (
                watcher::Error::InitialListFailed(api(502, NOT_A_STATUS)),
                "server_error",
            ),
            (
                watcher::Error::WatchFailed(kube::Error::ReadEvents(io(std::io::ErrorKind::TimedOut))),
                "timeout",
            ),
            (
                watcher::Error::InitialListFailed(kube::Error::Service(Box::new(io(
                    std::io::ErrorKind::ConnectionReset,
                )))),
                "transport",
            ),
            (watcher::Error::NoResourceVersion, "decode"),
            (
                watcher::Error::WatchFailed(kube::Error::SerdeError(serde_json::from_str::<u8>("x").unwrap_err())),
                "decode",
            ),
            (watcher::Error::InitialListFailed(api(422, "Invalid")), "other"),
        ];
        for (error, want) in cases {
            assert_eq!(ErrorClass::reason(&error), want, "{error:?}");
        }
    }

    /// Status bodies as a real kube-apiserver sends them (shared/reference/apiserver-wire).
    const WATCH_410: &str = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"The resourceVersion for the provided watch is too old.","reason":"Expired","code":410}"#;
    const CONTINUE_410: &str = r#"{"kind":"Status","apiVersion":"v1","metadata":{"continue":"eyJ2Ij"},"status":"Failure","message":"The provided continue parameter is too old to display a consistent list result.","reason":"Expired","code":410}"#;
    const LIST_403: &str = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"nodes is forbidden: User \"realk8s-reader\" cannot list resource \"nodes\" in API group \"\" at the cluster scope","reason":"Forbidden","details":{"kind":"nodes"},"code":403}"#;

    fn status(json: &str) -> Box<kube::core::Status> {
        Box::new(serde_json::from_str(json).unwrap())
    }

    fn api(code: u16, reason: &str) -> kube::Error {
        kube::Error::Api(Box::new(kube::core::Status::failure("m", reason).with_code(code)))
    }

    #[test]
    fn errors_are_classified_for_the_log() {
        use ErrorClass::*;
        let cases = [
            (watcher::Error::WatchError(status(WATCH_410)), Expired),
            (
                watcher::Error::InitialListFailed(kube::Error::Api(status(CONTINUE_410))),
                Expired,
            ),
            (
                watcher::Error::InitialListFailed(kube::Error::Api(status(LIST_403))),
                Denied,
            ),
            (
                watcher::Error::WatchStartFailed(kube::Error::Api(status(LIST_403))),
                Denied,
            ),
            (watcher::Error::InitialListFailed(api(401, "Unauthorized")), Denied),
            (watcher::Error::InitialListFailed(api(404, "NotFound")), NotServed),
            (watcher::Error::InitialListFailed(api(500, "InternalError")), Server),
            (
                watcher::Error::InitialListFailed(api(503, "ServiceUnavailable")),
                Server,
            ),
            (watcher::Error::WatchStartFailed(api(504, "Timeout")), Server),
            (watcher::Error::InitialListFailed(api(429, "TooManyRequests")), Server),
            (
                watcher::Error::WatchError(Box::new(
                    kube::core::Status::failure("etcd", "InternalError").with_code(500),
                )),
                Server,
            ),
            (watcher::Error::InitialListFailed(api(422, "Invalid")), Other),
            (
                watcher::Error::WatchFailed(kube::Error::ReadEvents(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "reset",
                ))),
                Transport,
            ),
            (
                watcher::Error::InitialListFailed(kube::Error::Service(Box::new(std::io::Error::new(
                    std::io::ErrorKind::ConnectionRefused,
                    "refused",
                )))),
                Transport,
            ),
            (watcher::Error::NoResourceVersion, Other),
        ];
        for (error, want) in cases {
            assert_eq!(ErrorClass::of(&error), want, "{error:?}");
        }
        assert_eq!(Expired.level(), tracing::Level::INFO);
        for class in [Denied, NotServed, Server, Transport, Other] {
            assert_eq!(class.level(), tracing::Level::WARN);
            assert!(class.summary().contains("retrying with backoff"));
        }
        assert!(!Expired.summary().contains("retrying"));
        assert_eq!(
            error_message(&watcher::Error::WatchError(status(WATCH_410))),
            "watch error: 410 Expired: The resourceVersion for the provided watch is too old."
        );
    }

    #[test]
    fn one_log_line_per_condition_and_round() {
        let t0 = Instant::now();
        let mut round = ErrorRound::default();
        let forbidden = "list failed: 403 Forbidden: nodes is forbidden";
        assert!(round.is_new_at(ErrorClass::Denied, forbidden, t0));
        // The same error again and again within the round: logged once.
        for s in [1, 30, 100, 200] {
            assert!(!round.is_new_at(ErrorClass::Denied, forbidden, t0 + Duration::from_secs(s)));
        }
        // `Init` (a list attempt starting) is no success.
        round.observe::<Pod>(&Ok(Event::Init), "nodes", "");
        assert!(!round.is_new_at(ErrorClass::Denied, forbidden, t0 + Duration::from_secs(230)));
        // A changed message is a changed condition.
        assert!(round.is_new_at(
            ErrorClass::Server,
            "list failed: 503 ServiceUnavailable: x",
            t0 + Duration::from_secs(240)
        ));
        assert!(round.is_new_at(ErrorClass::Denied, forbidden, t0 + Duration::from_secs(250)));
        // A success ends the round: the same error is news again.
        round.observe::<Pod>(&Ok(Event::InitDone), "nodes", "");
        assert!(round.is_new_at(ErrorClass::Denied, forbidden, t0 + Duration::from_secs(260)));
        round.observe::<Pod>(&Ok(Event::Apply(Pod::default())), "nodes", "");
        assert!(round.is_new_at(ErrorClass::Denied, forbidden, t0 + Duration::from_secs(270)));
        // So does a quiet spell as long as kube's backoff reset (a watch that resumed silently).
        assert!(round.is_new_at(
            ErrorClass::Denied,
            forbidden,
            t0 + Duration::from_secs(270) + ROUND_RESET + Duration::from_secs(1)
        ));
    }

    #[test]
    fn an_outage_logs_one_warning_one_recovery_and_a_relist_as_info() {
        use crate::logging::{LogFormat, LogLevel, capture};
        let forbidden = watcher::Error::InitialListFailed(kube::Error::Api(status(LIST_403)));
        let gone = watcher::Error::WatchError(status(WATCH_410));
        let out = capture(LogFormat::Json, LogLevel::Info, || {
            let mut round = ErrorRound::default();
            for _ in 0..5 {
                round.observe::<Pod>(&Ok(Event::Init), "nodes", "");
                round.report(ErrorClass::of(&forbidden), &error_message(&forbidden), "nodes", "");
            }
            round.observe::<Pod>(&Ok(Event::Apply(Pod::default())), "nodes", "");
            round.report(ErrorClass::of(&gone), &error_message(&gone), "nodes", "");
            round.observe::<Pod>(&Ok(Event::InitDone), "nodes", "");
        });
        let lines: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let got: Vec<(&str, &str)> = lines
            .iter()
            .map(|l| (l["level"].as_str().unwrap(), l["message"].as_str().unwrap()))
            .collect();
        assert_eq!(
            got,
            [
                ("WARN", ErrorClass::Denied.summary()),
                ("INFO", "list/watch recovered"),
                ("INFO", "resourceVersion expired (410 Gone); relisting"),
            ],
            "{out}"
        );
        assert_eq!(lines[0]["resource"], "nodes");
        assert_eq!(
            lines[0]["error"],
            "list failed: 403 Forbidden: nodes is forbidden: User \"realk8s-reader\" cannot list resource \"nodes\" \
             in API group \"\" at the cluster scope"
        );
        assert!(!out.contains("Status {"), "no Debug dump of the Status struct");
    }
}
