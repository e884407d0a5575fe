//! Watch streams: newline-delimited `{"type":…,"object":…}` events over a chunked HTTP 200.
//!
//! A watch keeps a cursor (the resourceVersion up to which it has delivered everything) and reads
//! the shared event log from there, woken by the resource's signal. That one mechanism does replay
//! (start from an old resourceVersion), live events, and slow-watcher termination: a watcher whose
//! cursor fell behind the log's compaction floor gets the in-stream ERROR 410 and the stream ends,
//! as a real server closes watchers it cannot keep up.

use super::registry::ResourceDef;
use super::status::{Status, json_stream_response};
use super::store::{Core, Event, EventType, Filter, Stored};
use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::{Instant, Interval};

/// Where a watch starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Synthetic ADDED for every current object, then live. `end_bookmark`: then the BOOKMARK
    /// annotated `k8s.io/initial-events-end: "true"` (sendInitialEvents with bookmarks).
    Initial { end_bookmark: bool },
    /// Live events only, from the current resourceVersion.
    Now,
    /// Logged events after this resourceVersion, then live.
    From(u64),
}

#[derive(Debug, Clone)]
pub struct WatchSpec {
    pub res: usize,
    pub filter: Filter,
    pub meta_only: bool,
    pub bookmarks: bool,
    pub timeout: Duration,
    pub start: Start,
}

const META_PREFIX: &[u8] = br#"{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1""#;
/// Events per drain of the log under the lock.
const DRAIN_EVENTS: usize = 512;
/// Log entries looked at per drain.
const DRAIN_SCAN: usize = 65_536;
/// Initial events are sent in chunks of about this size.
const INITIAL_CHUNK: usize = 64 * 1024;

/// The ERROR event of a watch from (or fallen behind) a compacted resourceVersion
/// (watch-410-expired.http).
pub fn expired_line() -> Bytes {
    let status = Status::failure(410, "Expired", "The resourceVersion for the provided watch is too old.");
    let mut out = br#"{"type":"ERROR","object":"#.to_vec();
    out.extend_from_slice(&status.to_json());
    out.extend_from_slice(b"}\n");
    Bytes::from(out)
}

pub fn push_object(out: &mut Vec<u8>, type_prefix: &[u8], meta_only: bool, json: &[u8], meta_end: usize) {
    if meta_only {
        out.extend_from_slice(META_PREFIX);
        if meta_end > 1 && meta_end <= json.len() {
            out.push(b',');
            out.extend_from_slice(&json[1..meta_end]);
            out.push(b'}');
        } else {
            out.extend_from_slice(br#","metadata":{}}"#);
        }
    } else {
        super::json::splice_type(out, type_prefix, json);
    }
}

fn push_event(out: &mut Vec<u8>, kind: &str, type_prefix: &[u8], meta_only: bool, json: &[u8], meta_end: usize) {
    out.extend_from_slice(br#"{"type":""#);
    out.extend_from_slice(kind.as_bytes());
    out.extend_from_slice(br#"","object":"#);
    push_object(out, type_prefix, meta_only, json, meta_end);
    out.extend_from_slice(b"}\n");
}

/// A BOOKMARK event (watch-pods-bookmarks.http / watchlist-pods-initial-events.http shapes).
pub fn bookmark_line(def: &ResourceDef, meta_only: bool, rv: u64, initial_events_end: bool) -> Bytes {
    let annotations = if initial_events_end {
        r#","annotations":{"k8s.io/initial-events-end":"true"}"#
    } else {
        ""
    };
    let line = if meta_only {
        format!(
            r#"{{"type":"BOOKMARK","object":{{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{{"resourceVersion":"{rv}"{annotations}}}}}}}"#
        )
    } else {
        format!(
            r#"{{"type":"BOOKMARK","object":{{"kind":"{}","apiVersion":"{}","metadata":{{"resourceVersion":"{rv}"{annotations}}}{}}}}}"#,
            def.kind, def.api_version, def.bookmark_tail
        )
    };
    Bytes::from(line + "\n")
}

/// Serves a watch: HTTP 200 now, events as they come.
pub fn serve_watch(core: Arc<Core>, spec: WatchSpec) -> Response {
    let (tx, rx) = mpsc::channel::<Bytes>(16);
    tokio::spawn(run(core, spec, tx));
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        let chunk = rx.recv().await?;
        // After a cut, nothing more: the stream's error ends the response.
        Some((super::cut::watch_chunk(chunk), rx))
    });
    json_stream_response(Body::from_stream(stream))
}

/// What a watch delivers for a logged event, after its selectors: the real server turns a
/// MODIFIED into ADDED/DELETED when the object enters/leaves the selection.
fn deliver(def: &ResourceDef, filter: &Filter, ev: &Event) -> Option<EventType> {
    if !filter.has_selectors() {
        return filter.matches(def, &ev.obj).then_some(ev.kind);
    }
    let now = filter.matches(def, &ev.obj);
    let before = ev.prev.as_ref().is_some_and(|p| filter.matches(def, p));
    match ev.kind {
        EventType::Added => now.then_some(EventType::Added),
        EventType::Deleted => (now || before).then_some(EventType::Deleted),
        EventType::Modified => match (before, now) {
            (true, true) => Some(EventType::Modified),
            (false, true) => Some(EventType::Added),
            (true, false) => Some(EventType::Deleted),
            (false, false) => None,
        },
    }
}

enum Drain {
    Dropped,
    Expired,
    Events {
        batch: Vec<(EventType, Arc<Event>)>,
        more: bool,
        /// The resource was retired (its CRD deleted) and `batch` ends its events: a real server
        /// stops the CRD's storage, which ends its watches.
        gone: bool,
    },
}

/// Takes the next logged events after `cursor` for this watch; advances the cursor.
fn drain(core: &Core, spec: &WatchSpec, def: &ResourceDef, cursor: &mut u64, drop_gen: u64) -> Drain {
    let st = core.lock();
    if st.shutdown || st.drop_gen != drop_gen {
        return Drain::Dropped;
    }
    if *cursor < st.watch_floor(spec.res) {
        return Drain::Expired;
    }
    let start = st.log.partition_point(|e| e.rv <= *cursor);
    let storage = st.storage(spec.res);
    let mut batch = Vec::new();
    let mut more = false;
    for (scanned, ev) in st.log.range(start..).enumerate() {
        if batch.len() >= DRAIN_EVENTS || scanned >= DRAIN_SCAN {
            more = true;
            break;
        }
        if ev.res == storage
            && let Some(kind) = deliver(def, &spec.filter, ev)
        {
            batch.push((kind, ev.clone()));
        }
        *cursor = ev.rv;
    }
    if !more {
        *cursor = (*cursor).max(st.rv);
    }
    // Checked under the state lock, which retiring holds too: either this drain saw the final
    // DELETED events of the CRD's objects, or the resource is still live.
    let gone = !more && !core.reg.is_live(spec.res);
    Drain::Events { batch, more, gone }
}

fn render_batch(type_prefix: &[u8], meta_only: bool, batch: &[(EventType, Arc<Event>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (kind, ev) in batch {
        if let Some(bad) = &ev.malformed {
            let prefix = bad.type_prefix.as_deref().unwrap_or(type_prefix);
            push_event(&mut out, kind.as_str(), prefix, meta_only, &bad.json, bad.meta_end);
        } else if *kind == EventType::Deleted && ev.kind == EventType::Modified {
            // Left the selection: the previous content with this event's resourceVersion.
            let prev = ev.prev.as_ref().unwrap_or(&ev.obj);
            let mut map = prev.to_map();
            if let Some(serde_json::Value::Object(meta)) = map.get_mut("metadata") {
                meta.insert("resourceVersion".into(), serde_json::Value::String(ev.rv.to_string()));
            }
            let (json, meta_end) = super::json::encode_object(&map);
            push_event(&mut out, kind.as_str(), type_prefix, meta_only, &json, meta_end);
        } else {
            push_event(
                &mut out,
                kind.as_str(),
                type_prefix,
                meta_only,
                &ev.obj.json,
                ev.obj.meta_end,
            );
        }
    }
    out
}

async fn tick(interval: &mut Option<Interval>) {
    match interval {
        Some(i) => {
            i.tick().await;
        }
        None => std::future::pending::<()>().await,
    }
}

/// Cursor, drop generation and (for `Start::Initial`) the objects to send first.
type Begin = (u64, u64, Option<Vec<Arc<Stored>>>);

async fn run(core: Arc<Core>, spec: WatchSpec, tx: mpsc::Sender<Bytes>) {
    let def = core.reg.def(spec.res);
    let type_prefix = core.reg.type_prefix(spec.res);
    let storage = core.lock().storage(spec.res);
    let Some(mut res_rx) = core.reg.subscribe(storage) else {
        return;
    };
    let mut ctl_rx = core.control.subscribe();
    let deadline = Instant::now() + spec.timeout;

    // Subscribed first, then read under the lock: every later change wakes us.
    let begin: Option<Begin> = {
        let st = core.lock();
        if st.shutdown || !core.reg.is_live(spec.res) {
            return;
        }
        match spec.start {
            Start::From(r) if r < st.watch_floor(spec.res) => None,
            Start::From(r) => Some((r, st.drop_gen, None)),
            Start::Now => Some((st.rv, st.drop_gen, None)),
            Start::Initial { .. } => Some((
                st.rv,
                st.drop_gen,
                Some(st.scope_items(spec.res, spec.filter.ns.as_deref())),
            )),
        }
    };
    let Some((mut cursor, drop_gen, initial)) = begin else {
        let _ = tx.send(expired_line()).await;
        return;
    };

    if let Some(items) = initial {
        let mut buf = Vec::with_capacity(INITIAL_CHUNK);
        for obj in items.iter().filter(|o| spec.filter.matches(def, o)) {
            push_event(&mut buf, "ADDED", &type_prefix, spec.meta_only, &obj.json, obj.meta_end);
            if buf.len() >= INITIAL_CHUNK && tx.send(Bytes::from(std::mem::take(&mut buf))).await.is_err() {
                return;
            }
        }
        if !buf.is_empty() && tx.send(Bytes::from(buf)).await.is_err() {
            return;
        }
        if spec.start == (Start::Initial { end_bookmark: true })
            && tx.send(bookmark_line(def, spec.meta_only, cursor, true)).await.is_err()
        {
            return;
        }
    }

    let period = core.config.bookmark_interval.max(Duration::from_millis(10));
    let mut bookmarks = spec.bookmarks.then(|| {
        let mut i = tokio::time::interval_at(Instant::now() + period, period);
        i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        i
    });
    let mut bookmark_due = false;
    loop {
        if Instant::now() >= deadline {
            return;
        }
        match drain(&core, &spec, def, &mut cursor, drop_gen) {
            Drain::Dropped => return,
            Drain::Expired => {
                let _ = tx.send(expired_line()).await;
                return;
            }
            Drain::Events { batch, more, gone } => {
                if !batch.is_empty() {
                    let mut lines = render_batch(&type_prefix, spec.meta_only, &batch);
                    if core.take_watch_cut(spec.res) {
                        // Half of the first line, then the connection drops: the client has
                        // to resume from the last event it got whole.
                        let first_line = lines.iter().position(|&b| b == b'\n').unwrap_or(lines.len());
                        lines.truncate(first_line / 2);
                        let _ = tx.send(Bytes::from(lines)).await;
                        let _ = tx.send(super::cut::CUT_HERE).await;
                        return;
                    }
                    if tx.send(Bytes::from(lines)).await.is_err() {
                        return;
                    }
                }
                if gone {
                    return;
                }
                if more {
                    continue;
                }
            }
        }
        if bookmark_due {
            bookmark_due = false;
            if tx
                .send(bookmark_line(def, spec.meta_only, cursor, false))
                .await
                .is_err()
            {
                return;
            }
        }
        tokio::select! {
            r = res_rx.changed() => if r.is_err() { return },
            r = ctl_rx.changed() => if r.is_err() { return },
            _ = tokio::time::sleep_until(deadline) => return,
            _ = tick(&mut bookmarks) => bookmark_due = true,
            _ = tx.closed() => return,
        }
    }
}
