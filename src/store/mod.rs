//! The rendered-bytes cache: per kind, per watched namespace scope, objects in key order with
//! their identity and their rendered lines. The one module that knows about concurrency.
//!
//! Layout: a scope is a sorted run of [`block`]s of about 128 objects whose lines are packed
//! family by family, so a scrape writes each family as one run per block (and, gzipped, as one
//! cached deflate fragment per run, spliced into one gzip stream) instead of one slice per
//! object; updates sit beside the packed buffer until a repack folds them in. [`snapshot`]
//! writes a scrape out; [`precompress`] compresses new runs in the background.
//!
//! Invariants:
//! - Writers are the watch tasks (one per kind × namespace scope); readers are scrapes.
//! - An update whose resourceVersion is not newer than the one held is ignored (numeric
//!   comparison when both are decimal, as on every etcd-backed server; otherwise any change is
//!   accepted). A delete removes the object only if the UID matches.
//! - A relist is built beside the live blocks and swapped in whole, so a scrape sees either the
//!   old state or the new one, never a half-filled scope; objects missing from the relist vanish.
//! - A scrape copies one scope's block pointers under a read lock and writes outside it, so a
//!   writer waits at most for one scope's pointer copy, and a scrape for one object's render;
//!   packed buffers are immutable.
//! - Objects are ordered by (namespace, name); scopes of a kind are ordered by namespace, so a
//!   scrape's output is deterministic.

mod block;
mod gzip;
mod identity;
mod offsets;
pub mod precompress;
mod snapshot;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::families::{FamilyHeader, ObjectIndex, Rendered};
use block::{Block, BlockBuilder, OwnedSource};
pub use gzip::MemberWriter;
pub use identity::{ObjectKey, Uid, Version};
use snapshot::{BlockView, Changes, KindSnapshot};
pub use snapshot::{Encoding, Snapshot, SnapshotChunks};

/// What the store knows about one object besides its lines.
#[derive(Clone, Debug)]
pub struct Entry {
    /// `metadata.uid`.
    pub uid: Uid,
    /// `metadata.resourceVersion` of the rendered state.
    pub resource_version: Version,
    /// Join facts for kinds that have them (see [`ObjectIndex`]).
    pub index: Option<Box<ObjectIndex>>,
}

impl Entry {
    /// Bytes it holds on the heap (its strings and its index; the entry itself sits in its slot).
    pub fn heap_size(&self) -> usize {
        let index = self
            .index
            .as_ref()
            .map_or(0, |i| size_of::<ObjectIndex>() + i.node.len());
        self.uid.heap_size() + self.resource_version.heap_size() + index
    }

    fn new(uid: &str, rv: &str, rendered: &mut Rendered) -> Entry {
        Entry {
            uid: Uid::new(uid),
            resource_version: Version::new(rv),
            index: rendered.index.take(),
        }
    }
}

/// What happened to an update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApplyOutcome {
    /// Rendered and stored.
    Stored,
    /// Ignored: the held resourceVersion is the same or newer.
    Stale,
}

/// True when an update (uid, rv) must be ignored given what is held.
fn is_stale(held: &Entry, uid: &str, rv: &str) -> bool {
    held.uid.is(uid) && !held.resource_version.is_older_than(rv)
}

#[derive(Default)]
struct ScopeState {
    /// Non-empty blocks in key order.
    blocks: Vec<Block>,
    synced: bool,
    last_error: Option<String>,
}

impl ScopeState {
    /// The block a key belongs in (the first whose last key is not below it).
    fn block_for(&self, key: &ObjectKey) -> Option<usize> {
        let last = self.blocks.len().checked_sub(1)?;
        Some(
            self.blocks
                .partition_point(|b| b.last_key().is_some_and(|k| k < key))
                .min(last),
        )
    }

    fn locate(&self, key: &ObjectKey) -> Option<(usize, usize)> {
        let b = self.block_for(key)?;
        let i = self.blocks[b].find(key).ok()?;
        Some((b, i))
    }

    fn entry(&self, key: &ObjectKey) -> Option<&Entry> {
        self.locate(key).map(|(b, i)| &self.blocks[b].slots()[i].entry)
    }

    /// Where `key` is or would go: its block and its slot (`Err` = insertion point).
    fn position(&self, key: &ObjectKey) -> Option<(usize, Result<usize, usize>)> {
        let b = self.block_for(key)?;
        Some((b, self.blocks[b].find(key)))
    }

    fn upsert(
        &mut self,
        families: usize,
        at: Option<(usize, Result<usize, usize>)>,
        key: ObjectKey,
        entry: Entry,
        rendered: Rendered,
    ) {
        let Some((b, pos)) = at else {
            let source = OwnedSource::Loose(Arc::new(rendered));
            self.blocks.push(Block::pack(families, vec![(key, entry, source)]));
            return;
        };
        self.blocks[b].upsert(pos, key, entry, rendered);
        self.maintain(b);
    }

    /// Repacks or splits block `b` when it has drifted; drops it when empty.
    fn maintain(&mut self, b: usize) {
        if self.blocks[b].slots().is_empty() {
            self.blocks.remove(b);
        } else if self.blocks[b].needs_maintenance() {
            let replaced = self.blocks.remove(b).maintain();
            precompress::enqueue(replaced.iter().map(Block::packed), precompress::Freeze::Later);
            self.blocks.splice(b..b, replaced);
        }
    }
}

/// One watched namespace (or all namespaces) of one kind.
pub struct Scope {
    namespace: Option<String>,
    families: usize,
    state: RwLock<ScopeState>,
}

impl Scope {
    fn read(&self) -> RwLockReadGuard<'_, ScopeState> {
        // A writer that panicked mid-update leaves blocks that are each consistent (every
        // mutation of a block completes before the next begins), so a poisoned lock is kept.
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, ScopeState> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The namespace this scope watches (`None` = all).
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    /// Applies an added/modified object. `render` runs only when the update is newer.
    pub fn apply(&self, key: ObjectKey, uid: &str, rv: &str, render: impl FnOnce() -> Rendered) -> ApplyOutcome {
        // One lookup, under the write lock, serves the version check and the store. Rendering
        // under the lock delays a scrape's pointer capture by one object's render at most, and
        // a generator cannot unwind through it (panics are caught per family).
        let mut state = self.write();
        let at = state.position(&key);
        if let Some((b, Ok(i))) = at
            && is_stale(&state.blocks[b].slots()[i].entry, uid, rv)
        {
            return ApplyOutcome::Stale;
        }
        let mut rendered = render();
        let entry = Entry::new(uid, rv, &mut rendered);
        state.upsert(self.families, at, key, entry, rendered);
        ApplyOutcome::Stored
    }

    /// Removes a deleted object (only if the UID is the one held).
    pub fn delete(&self, key: &ObjectKey, uid: &str) -> bool {
        let mut state = self.write();
        let Some((b, i)) = state.locate(key) else {
            return false;
        };
        let held = &state.blocks[b].slots()[i].entry;
        if !held.uid.is(uid) && !uid.is_empty() {
            return false;
        }
        state.blocks[b].remove(i);
        state.maintain(b);
        true
    }

    /// Drops every object whose UID `keep` rejects (a shard handing objects over); returns how
    /// many were dropped.
    pub fn retain(&self, keep: impl Fn(&str) -> bool) -> usize {
        let mut state = self.write();
        let mut dropped = 0;
        let mut b = 0;
        while b < state.blocks.len() {
            let before = state.blocks.len();
            let mut i = 0;
            while i < state.blocks[b].slots().len() {
                if state.blocks[b].slots()[i].entry.uid.with_str(&keep) {
                    i += 1;
                } else {
                    state.blocks[b].remove(i);
                    dropped += 1;
                }
            }
            state.maintain(b);
            // `maintain` drops an emptied block (the next one moves to `b`) or splits it (its
            // parts stand at `b..`, all already filtered).
            let after = state.blocks.len();
            if after >= before {
                b += 1 + (after - before);
            }
        }
        dropped
    }

    /// Starts a relist: new blocks are filled beside the live ones.
    pub fn begin_relist(&self) -> Relist {
        Relist {
            builder: BlockBuilder::new(self.families),
            unsorted: BTreeMap::new(),
            len: 0,
        }
    }

    /// Swaps a finished relist in and marks the scope synced.
    pub fn commit_relist(&self, relist: Relist) {
        let blocks = relist.finish(self.families);
        precompress::enqueue(blocks.iter().map(Block::packed), precompress::Freeze::Now);
        let mut state = self.write();
        let old = std::mem::replace(&mut state.blocks, blocks);
        state.synced = true;
        state.last_error = None;
        drop(state);
        // The old blocks are freed here, outside the lock.
        drop(old);
    }

    /// Records the latest watch error (shown by `/readyz` while not synced).
    pub fn set_error(&self, error: Option<String>) {
        self.write().last_error = error;
    }

    /// Whether the first full list has been stored.
    pub fn is_synced(&self) -> bool {
        self.read().synced
    }

    /// The entry held for a key, if any (resourceVersion checks, joins, tests).
    pub fn get(&self, key: &ObjectKey) -> Option<Entry> {
        self.read().entry(key).cloned()
    }

    /// The held entry and its lines, for a relist that keeps them.
    fn held(&self, key: &ObjectKey) -> Option<(Entry, OwnedSource)> {
        let state = self.read();
        let (b, i) = state.locate(key)?;
        let block = &state.blocks[b];
        Some((block.slots()[i].entry.clone(), block.owned_source(i)?))
    }

    /// Compresses and freezes every block now (tests; the background thread does it in time).
    #[cfg(test)]
    fn freeze_all(&self) {
        let mut writer = gzip::MemberWriter::default();
        for block in &self.read().blocks {
            block.packed().compress_all(&mut writer);
            block.packed().freeze();
            assert!(block.packed().is_frozen());
        }
    }

    /// Audits every block's accounting, and returns each block's packing and slot capacity:
    /// what an update changes besides the objects.
    #[cfg(test)]
    fn audit(&self) -> Vec<(Arc<block::Packed>, usize)> {
        let s = self.read();
        s.blocks
            .iter()
            .map(|b| {
                b.audit();
                (b.packed().clone(), b.slot_capacity())
            })
            .collect()
    }

    fn stats(&self) -> (usize, usize) {
        let s = self.read();
        s.blocks
            .iter()
            .fold((0, 0), |(n, bytes), b| (n + b.slots().len(), bytes + b.heap_size()))
    }

    fn capture(&self, views: &mut Vec<BlockView>) -> usize {
        let state = self.read();
        let mut objects = 0;
        for block in &state.blocks {
            objects += block.slots().len();
            let changes = block.changed().any().then(|| {
                Box::new(Changes {
                    changed: block.changed().clone(),
                    sources: block.slots().iter().map(|s| s.source.clone()).collect(),
                })
            });
            views.push(BlockView {
                packed: block.packed().clone(),
                changes,
            });
        }
        objects
    }
}

/// A relist in progress; see [`Scope::begin_relist`].
///
/// Lists arrive in key order from real API servers, so objects are packed into blocks as they
/// come and each page's renderings are freed right away; objects that arrive out of order wait
/// in a map and are merged in at the commit.
pub struct Relist {
    builder: BlockBuilder,
    unsorted: BTreeMap<ObjectKey, (Entry, OwnedSource)>,
    len: usize,
}

impl Relist {
    /// Adds a listed object. An object whose uid and resourceVersion equal the live entry's
    /// reuses that rendering instead of rendering again.
    pub fn apply(&mut self, live: &Scope, key: ObjectKey, uid: &str, rv: &str, render: impl FnOnce() -> Rendered) {
        let (entry, source) = match live.held(&key) {
            Some((held, source)) if held.uid.is(uid) && held.resource_version.is(rv) => (held, source),
            _ => {
                let mut rendered = render();
                let entry = Entry::new(uid, rv, &mut rendered);
                (entry, OwnedSource::Loose(Arc::new(rendered)))
            }
        };
        self.add(key, entry, source);
    }

    /// Keeps the live entry for an object that was listed but could not be decoded, so a
    /// malformed object loses no data it already had.
    pub fn keep_live(&mut self, live: &Scope, key: ObjectKey) {
        if let Some((entry, source)) = live.held(&key) {
            self.add(key, entry, source);
        }
    }

    fn add(&mut self, key: ObjectKey, entry: Entry, source: OwnedSource) {
        self.len += 1;
        if self.builder.last_key().is_none_or(|last| &key > last) {
            // Compressed (and frozen) while the list goes on, so a sync never holds the whole
            // kind's lines at once.
            if let Some(sealed) = self.builder.push(key, entry, source) {
                precompress::enqueue([sealed], precompress::Freeze::Now);
            }
        } else {
            self.unsorted.insert(key, (entry, source));
        }
    }

    /// Objects collected so far (an object listed twice counts twice).
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing has been collected.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The blocks, with out-of-order objects merged in (they win over an in-order copy).
    fn finish(self, families: usize) -> Vec<Block> {
        let blocks = self.builder.finish();
        if self.unsorted.is_empty() {
            return blocks;
        }
        let mut merged = BlockBuilder::new(families);
        let mut extra = self.unsorted.into_iter().peekable();
        for (key, entry, source) in blocks.into_iter().flat_map(Block::into_items) {
            while let Some((k, (e, s))) = extra.next_if(|(k, _)| *k <= key) {
                let _ = merged.push(k, e, s);
            }
            if merged.last_key() != Some(&key) {
                let _ = merged.push(key, entry, source);
            }
        }
        for (k, (e, s)) in extra {
            let _ = merged.push(k, e, s);
        }
        merged.finish()
    }
}

/// All scopes of one resource kind plus its family headers.
pub struct KindStore {
    resource: Cow<'static, str>,
    headers: Arc<[FamilyHeader]>,
    scopes: Vec<Scope>,
}

impl KindStore {
    /// A kind with one scope per namespace (sorted), or one all-namespace scope when
    /// `namespaces` is empty.
    pub fn new(resource: impl Into<Cow<'static, str>>, headers: Vec<FamilyHeader>, namespaces: &[String]) -> Self {
        let families = headers.len();
        let mut namespaces: Vec<Option<String>> = namespaces.iter().cloned().map(Some).collect();
        namespaces.sort();
        namespaces.dedup();
        if namespaces.is_empty() {
            namespaces.push(None);
        }
        KindStore {
            resource: resource.into(),
            headers: headers.into(),
            scopes: namespaces
                .into_iter()
                .map(|namespace| Scope {
                    namespace,
                    families,
                    state: RwLock::default(),
                })
                .collect(),
        }
    }

    /// The KSM resource name.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// The scopes, in output order.
    pub fn scopes(&self) -> &[Scope] {
        &self.scopes
    }

    /// The family headers, in output order.
    pub fn headers(&self) -> &[FamilyHeader] {
        &self.headers
    }

    /// Objects held and bytes held for them (packed lines, compressed fragments, loose renderings, keys
    /// and identities).
    pub fn stats(&self) -> (usize, usize) {
        self.scopes
            .iter()
            .map(Scope::stats)
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    }

    /// True once every scope finished its first list.
    pub fn is_synced(&self) -> bool {
        self.scopes.iter().all(Scope::is_synced)
    }

    /// The entry for an object, from whichever scope holds its namespace.
    pub fn get(&self, key: &ObjectKey) -> Option<Entry> {
        self.scopes
            .iter()
            .find(|s| s.namespace.is_none() || s.namespace.as_deref() == Some(key.namespace()))
            .and_then(|s| s.get(key))
    }

    /// Visits every entry, one scope's read lock at a time (for joins such as usage coverage).
    pub fn for_each(&self, mut f: impl FnMut(&ObjectKey, &Entry)) {
        for scope in &self.scopes {
            for block in &scope.read().blocks {
                for slot in block.slots() {
                    f(&slot.key, &slot.entry);
                }
            }
        }
    }

    /// Why this kind is not synced yet (the latest watch error, if any).
    pub fn sync_error(&self) -> Option<String> {
        self.scopes.iter().find_map(|s| s.read().last_error.clone())
    }

    fn snapshot(&self) -> KindSnapshot {
        let mut blocks = Vec::new();
        let objects = self.scopes.iter().map(|s| s.capture(&mut blocks)).sum();
        KindSnapshot {
            headers: self.headers.clone(),
            blocks,
            objects,
        }
    }
}

/// Every enabled kind, in output order (sorted by resource name, as KSM sorts its writers).
///
/// The set of kinds changes at run time only for custom resources (a CRD appears or goes, a
/// config reload adds or drops a resource); a scrape copies the list under a read lock, so it
/// sees one set of kinds throughout.
pub struct Store {
    kinds: RwLock<Arc<[Arc<KindStore>]>>,
}

impl Store {
    /// Builds the store from its kinds.
    pub fn new(kinds: Vec<KindStore>) -> Self {
        let store = Store {
            kinds: RwLock::new(Arc::from(Vec::new())),
        };
        for kind in kinds {
            store.put_kind(Arc::new(kind));
        }
        store
    }

    /// The kinds, in output order (a copy of the list: kinds added or removed later do not
    /// show in it).
    pub fn kinds(&self) -> Arc<[Arc<KindStore>]> {
        self.kinds.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// One kind by resource name.
    pub fn kind(&self, resource: &str) -> Option<Arc<KindStore>> {
        self.kinds().iter().find(|k| k.resource == resource).cloned()
    }

    /// Adds a kind, or replaces the kind of the same resource name (whose objects go with it).
    pub fn put_kind(&self, kind: Arc<KindStore>) {
        let mut kinds = self.kinds.write().unwrap_or_else(|e| e.into_inner());
        let mut next: Vec<Arc<KindStore>> = kinds.iter().filter(|k| k.resource != kind.resource).cloned().collect();
        let at = next.partition_point(|k| k.resource < kind.resource);
        next.insert(at, kind);
        *kinds = next.into();
    }

    /// Removes a kind and every object of it; returns it when it was there.
    pub fn remove_kind(&self, resource: &str) -> Option<Arc<KindStore>> {
        let mut kinds = self.kinds.write().unwrap_or_else(|e| e.into_inner());
        let at = kinds.iter().position(|k| k.resource == resource)?;
        let mut next = kinds.to_vec();
        let removed = next.remove(at);
        *kinds = next.into();
        Some(removed)
    }

    /// Captures what a scrape will write: per kind, pointers to the current blocks.
    /// `include` selects kinds by resource name (KSM's `?resources=`/`?exclude_resources=`).
    pub fn snapshot(&self, include: impl Fn(&str) -> bool) -> Snapshot {
        Snapshot::new(
            self.kinds()
                .iter()
                .filter(|k| include(&k.resource))
                .map(|k| k.snapshot())
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::{Format, MetricType};

    fn kind() -> KindStore {
        KindStore::new(
            "pods",
            vec![
                FamilyHeader::new("a", "A.", MetricType::Gauge),
                FamilyHeader::new("b", "B.", MetricType::Counter),
            ],
            &[],
        )
    }

    fn text(store: &Store) -> String {
        String::from_utf8(store.snapshot(|_| true).to_bytes(Format::Text)).unwrap()
    }

    #[test]
    fn output_is_family_major_and_sorted() {
        let store = Store::new(vec![kind()]);
        let kind = store.kinds()[0].clone();
        let scope = &kind.scopes()[0];
        scope.apply(ObjectKey::new(Some("ns"), Some("z")), "u1", "5", || {
            Rendered::from_families(&["a{p=\"z\"} 1\n", "b{p=\"z\"} 2\n"])
        });
        scope.apply(ObjectKey::new(Some("ns"), Some("a")), "u2", "6", || {
            Rendered::from_families(&["a{p=\"a\"} 1\n", ""])
        });
        assert_eq!(
            text(&store),
            "# HELP a A.\n# TYPE a gauge\na{p=\"a\"} 1\na{p=\"z\"} 1\n# HELP b B.\n# TYPE b counter\nb{p=\"z\"} 2\n"
        );
        // Byte-identical on a second scrape of the same state.
        assert_eq!(text(&store), text(&store));
    }

    #[test]
    fn a_family_name_two_kinds_share_is_one_family() {
        let widgets = KindStore::new(
            "widgets.acme.example",
            vec![
                FamilyHeader::new("ready", "Ready.", MetricType::Gauge),
                FamilyHeader::new("widget_size", "Size.", MetricType::Gauge),
            ],
            &[],
        );
        let gadgets = KindStore::new(
            "gadgets.acme.example",
            vec![
                FamilyHeader::new("gadget_info", "Info.", MetricType::Gauge),
                FamilyHeader::new("ready", "Ready.", MetricType::Gauge),
            ],
            &[],
        );
        let empty = KindStore::new(
            "zeds.acme.example",
            vec![FamilyHeader::new("ready", "Ready.", MetricType::Gauge)],
            &[],
        );
        let store = Store::new(vec![widgets, gadgets, empty]);
        let put = |kind: usize, name: &str, lines: &[&str]| {
            store.kinds()[kind].scopes()[0].apply(ObjectKey::new(None, Some(name)), name, "1", || {
                Rendered::from_families(lines)
            });
        };
        // Kinds are sorted: gadgets (0), widgets (1), zeds (2).
        put(0, "g1", &["gadget_info{g=\"1\"} 1\n", "ready{g=\"1\"} 1\n"]);
        put(1, "w1", &["ready{w=\"1\"} 0\n", "widget_size{w=\"1\"} 3\n"]);
        let expected = "# HELP gadget_info Info.\n# TYPE gadget_info gauge\ngadget_info{g=\"1\"} 1\n\
                        # HELP ready Ready.\n# TYPE ready gauge\nready{g=\"1\"} 1\nready{w=\"1\"} 0\n\
                        # HELP widget_size Size.\n# TYPE widget_size gauge\nwidget_size{w=\"1\"} 3\n";
        assert_eq!(text(&store), expected);
        for segment_bytes in [0, 5, usize::MAX] {
            let joined: Vec<u8> = store
                .snapshot(|_| true)
                .into_segments(Format::Text, 64, segment_bytes)
                .into_iter()
                .flatten()
                .flat_map(|c| c.to_vec())
                .collect();
            assert_eq!(
                String::from_utf8(joined).unwrap(),
                expected,
                "segments of {segment_bytes}"
            );
        }
        // A kind holding no object adds nothing, even to a family it shares; nor does a kind left
        // out of the scrape.
        put(1, "w2", &["", ""]);
        store.kinds()[1].scopes()[0].delete(&ObjectKey::new(None, Some("w1")), "w1");
        store.kinds()[1].scopes()[0].delete(&ObjectKey::new(None, Some("w2")), "w2");
        assert_eq!(
            text(&store),
            "# HELP gadget_info Info.\n# TYPE gadget_info gauge\ngadget_info{g=\"1\"} 1\n# HELP ready Ready.\n# TYPE ready gauge\nready{g=\"1\"} 1\n"
        );
        let only_widgets = store.snapshot(|r| r == "widgets.acme.example").to_bytes(Format::Text);
        assert!(only_widgets.is_empty());
    }

    #[test]
    fn openmetrics_ends_with_eof_and_empty_kinds_write_nothing() {
        let store = Store::new(vec![kind()]);
        assert_eq!(text(&store), "");
        let om = String::from_utf8(store.snapshot(|_| true).to_bytes(Format::OpenMetrics)).unwrap();
        assert_eq!(om, "# EOF\n");
    }

    #[test]
    fn older_or_equal_resource_versions_are_ignored() {
        let store = Store::new(vec![kind()]);
        let kind = store.kinds()[0].clone();
        let scope = &kind.scopes()[0];
        let key = ObjectKey::new(Some("ns"), Some("p"));
        assert_eq!(
            scope.apply(key.clone(), "u", "10", || Rendered::from_families(&["a 10\n", ""])),
            ApplyOutcome::Stored
        );
        let mut rendered_again = false;
        assert_eq!(
            scope.apply(key.clone(), "u", "9", || {
                rendered_again = true;
                Rendered::from_families(&["a 9\n", ""])
            }),
            ApplyOutcome::Stale
        );
        assert!(!rendered_again, "a stale update must not be rendered");
        assert_eq!(
            scope.apply(key.clone(), "u", "10", || Rendered::from_families(&["a 10b\n", ""])),
            ApplyOutcome::Stale
        );
        assert_eq!(
            scope.apply(key.clone(), "u", "11", || Rendered::from_families(&["a 11\n", ""])),
            ApplyOutcome::Stored
        );
        assert_eq!(scope.get(&key).unwrap().resource_version.to_string(), "11");
        // "100" > "99" numerically even though it sorts lower as a string.
        assert_eq!(
            scope.apply(key.clone(), "u", "100", || Rendered::from_families(&["a 100\n", ""])),
            ApplyOutcome::Stored
        );
        assert_eq!(
            scope.apply(key.clone(), "u", "99", || Rendered::from_families(&["a 99\n", ""])),
            ApplyOutcome::Stale
        );
        // Opaque (non-numeric) versions: any different one is accepted.
        assert_eq!(
            scope.apply(key.clone(), "u", "abc", || Rendered::from_families(&["a x\n", ""])),
            ApplyOutcome::Stored
        );
        // A recreated object (new uid) always replaces the old one.
        assert_eq!(
            scope.apply(key.clone(), "u2", "1", || Rendered::from_families(&["a new\n", ""])),
            ApplyOutcome::Stored
        );
        assert_eq!(
            text(&store),
            "# HELP a A.\n# TYPE a gauge\na new\n# HELP b B.\n# TYPE b counter\n"
        );
    }

    #[test]
    fn delete_needs_the_matching_uid() {
        let store = Store::new(vec![kind()]);
        let kind = store.kinds()[0].clone();
        let scope = &kind.scopes()[0];
        let key = ObjectKey::new(Some("ns"), Some("p"));
        scope.apply(key.clone(), "new-uid", "3", || Rendered::from_families(&["a 1\n", ""]));
        assert!(!scope.delete(&key, "old-uid"));
        assert!(scope.get(&key).is_some());
        assert!(scope.delete(&key, "new-uid"));
        assert!(scope.get(&key).is_none());
        assert_eq!(store.kinds()[0].stats(), (0, 0));
    }

    #[test]
    fn retain_drops_exactly_the_rejected_uids_across_blocks() {
        let store = Store::new(vec![kind()]);
        let kind = store.kinds()[0].clone();
        let scope = &kind.scopes()[0];
        // Enough objects for several blocks; every third one, and a whole run of 300, leave.
        for i in 0..1000 {
            let name = format!("p{i:04}");
            let line = format!("a{{p=\"{name}\"}} 1\n");
            scope.apply(ObjectKey::new(Some("ns"), Some(&name)), &format!("u{i}"), "1", || {
                Rendered::from_families(&[&line, ""])
            });
        }
        let leaves = |i: usize| i.is_multiple_of(3) || (400..700).contains(&i);
        let dropped = scope.retain(|uid| !leaves(uid[1..].parse().unwrap()));
        assert_eq!(dropped, (0..1000).filter(|i| leaves(*i)).count());
        let expected: String = (0..1000)
            .filter(|i| !leaves(*i))
            .map(|i| format!("a{{p=\"p{i:04}\"}} 1\n"))
            .collect();
        assert_eq!(
            text(&store),
            format!("# HELP a A.\n# TYPE a gauge\n{expected}# HELP b B.\n# TYPE b counter\n")
        );
        assert_eq!(store.kinds()[0].stats().0, 1000 - dropped);
        assert_eq!(scope.retain(|_| true), 0);
    }

    #[test]
    fn relist_swaps_atomically_and_drops_vanished_objects() {
        let store = Store::new(vec![kind()]);
        let kind = store.kinds()[0].clone();
        let scope = &kind.scopes()[0];
        for (name, uid) in [("keep", "u1"), ("gone", "u2")] {
            scope.apply(ObjectKey::new(Some("ns"), Some(name)), uid, "1", || {
                Rendered::from_families(&[&format!("a{{o=\"{name}\"}} 1\n"), ""])
            });
        }
        let before = text(&store);
        let mut relist = scope.begin_relist();
        let mut renders = 0;
        relist.apply(scope, ObjectKey::new(Some("ns"), Some("keep")), "u1", "1", || {
            renders += 1;
            Rendered::from_families(&["unused\n", ""])
        });
        relist.apply(scope, ObjectKey::new(Some("ns"), Some("new")), "u3", "7", || {
            renders += 1;
            Rendered::from_families(&["a{o=\"new\"} 1\n", ""])
        });
        // Until the commit, scrapes still see exactly the old state.
        assert_eq!(text(&store), before);
        assert!(!scope.is_synced());
        scope.commit_relist(relist);
        assert!(scope.is_synced());
        assert_eq!(renders, 1, "an unchanged object reuses its rendering");
        assert_eq!(
            text(&store),
            "# HELP a A.\n# TYPE a gauge\na{o=\"keep\"} 1\na{o=\"new\"} 1\n# HELP b B.\n# TYPE b counter\n"
        );
    }

    #[test]
    fn concurrent_scrapes_never_see_a_partial_relist() {
        let store = Arc::new(Store::new(vec![kind()]));
        let n = 200;
        {
            let kind = store.kinds()[0].clone();
            let scope = &kind.scopes()[0];
            let mut relist = scope.begin_relist();
            for i in 0..n {
                relist.apply(
                    scope,
                    ObjectKey::new(Some("ns"), Some(&format!("p{i:04}"))),
                    "u",
                    "1",
                    || Rendered::from_families(&["a 1\n", ""]),
                );
            }
            scope.commit_relist(relist);
        }
        let writer = {
            let store = store.clone();
            std::thread::spawn(move || {
                let kind = store.kinds()[0].clone();
                let scope = &kind.scopes()[0];
                for round in 0..50 {
                    let mut relist = scope.begin_relist();
                    for i in 0..n {
                        relist.apply(
                            scope,
                            ObjectKey::new(Some("ns"), Some(&format!("p{i:04}"))),
                            &format!("u{round}"),
                            "1",
                            || Rendered::from_families(&["a 1\n", ""]),
                        );
                    }
                    scope.commit_relist(relist);
                }
            })
        };
        for _ in 0..200 {
            assert_eq!(store.snapshot(|_| true).object_count(), n);
        }
        writer.join().unwrap();
        assert_eq!(store.snapshot(|_| true).object_count(), n);
    }

    #[test]
    fn chunks_concatenate_to_the_same_bytes() {
        let store = Store::new(vec![kind()]);
        let kind = store.kinds()[0].clone();
        let scope = &kind.scopes()[0];
        for i in 0..100 {
            scope.apply(ObjectKey::new(Some("ns"), Some(&format!("p{i:03}"))), "u", "1", || {
                Rendered::from_families(&[&format!("a{{i=\"{i}\"}} 1\n"), &format!("b{{i=\"{i}\"}} 2\n")])
            });
        }
        let whole = store.snapshot(|_| true).to_bytes(Format::Text);
        let chunked: Vec<u8> = store
            .snapshot(|_| true)
            .into_chunks(Format::Text, Encoding::Identity, 64)
            .flat_map(|c| c.to_vec())
            .collect();
        assert_eq!(whole, chunked);
    }

    #[test]
    fn relisted_blocks_are_compressed_and_frozen_in_the_background() {
        let store = Store::new(vec![kind()]);
        let kind = store.kinds()[0].clone();
        let scope = &kind.scopes()[0];
        let hot_bytes = |scope: &Scope| scope.read().blocks.iter().map(|b| b.packed().len()).sum::<usize>();
        let mut relist = scope.begin_relist();
        for i in 0..300 {
            relist.apply(
                scope,
                ObjectKey::new(Some("ns"), Some(&format!("p{i:03}"))),
                "u",
                "1",
                || Rendered::from_families(&[&format!("a{{i=\"{i}\",node=\"node-pool-a-{}\",image=\"registry.example.com/team/service:v1.2.3\"}} 1\n", i % 7), ""]),
            );
        }
        scope.commit_relist(relist);
        // Not a timing assertion: the deadline only bounds how long a broken queue can hang.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !scope.read().blocks.iter().all(|b| b.packed().is_frozen()) {
            assert!(std::time::Instant::now() < deadline, "runs never compressed and frozen");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        // Only fragments and offsets are held for the lines now: far less than the lines.
        let held: usize = scope.read().blocks.iter().map(|b| b.packed().heap_size()).sum();
        assert!(
            held * 3 < hot_bytes(scope),
            "held {held} for {} bytes of lines",
            hot_bytes(scope)
        );
        // A plain scrape decodes the cold runs without thawing them.
        let plain = text(&store);
        assert!(
            plain
                .contains("a{i=\"299\",node=\"node-pool-a-5\",image=\"registry.example.com/team/service:v1.2.3\"} 1\n"),
            "{plain}"
        );
        assert!(scope.read().blocks.iter().all(|b| b.packed().is_frozen()));
        // A gzip scrape now only sends what is there, and it decodes to the plain text.
        let gz: Vec<u8> = store
            .snapshot(|_| true)
            .into_chunks(Format::Text, Encoding::Gzip, 4096)
            .flat_map(|c| c.to_vec())
            .collect();
        let mut unzipped = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut unzipped).unwrap();
        assert_eq!(unzipped, plain);

        // An update reads the object's old lines: its block thaws (and stays so: the quiet
        // period is an hour in unit tests, so only the budget can freeze it again).
        let early_before = precompress::stats().early_freezes;
        scope.apply(ObjectKey::new(Some("ns"), Some("p005")), "u", "2", || {
            Rendered::from_families(&["a{i=\"5\"} 2\n", ""])
        });
        assert!(!scope.read().blocks.iter().all(|b| b.packed().is_frozen()));
        // Past the budget (one byte: exceeded whatever the tests running alongside hold), the
        // next thaw has every thawed block frozen again at once.
        precompress::set_hot_budget(1);
        scope.apply(ObjectKey::new(Some("ns"), Some("p200")), "u", "2", || {
            Rendered::from_families(&["a{i=\"200\"} 2\n", ""])
        });
        while !scope.read().blocks.iter().all(|b| b.packed().is_frozen()) {
            assert!(
                std::time::Instant::now() < deadline,
                "the budget never froze the thawed blocks"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        precompress::set_hot_budget(precompress::DEFAULT_HOT_BUDGET);
        assert!(precompress::stats().early_freezes >= early_before + 2);
        let plain = text(&store);
        assert!(plain.contains("a{i=\"5\"} 2\na{i=\"6\",node="), "{plain}");
        assert!(plain.contains("a{i=\"200\"} 2\n"), "{plain}");
    }

    #[test]
    fn resource_filter_selects_kinds() {
        let store = Store::new(vec![kind()]);
        store.kinds()[0].scopes()[0].apply(ObjectKey::new(Some("ns"), Some("p")), "u", "1", || {
            Rendered::from_families(&["a 1\n", ""])
        });
        assert_eq!(store.snapshot(|r| r != "pods").object_count(), 0);
        assert_eq!(store.snapshot(|r| r == "pods").object_count(), 1);
    }
}

#[cfg(test)]
mod model_tests;
