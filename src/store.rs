//! The rendered-bytes cache: per kind, per watched namespace scope, object → {uid,
//! resourceVersion, rendered families}. The one module that knows about concurrency.
//!
//! Invariants:
//! - Writers are the watch tasks (one per kind × namespace scope); readers are scrapes.
//! - An update whose resourceVersion is not newer than the one held is ignored (numeric
//!   comparison when both are decimal, as on every etcd-backed server; otherwise any change is
//!   accepted). A delete removes the object only if the UID matches.
//! - A relist is built beside the live map and swapped in whole, so a scrape sees either the old
//!   state or the new one, never a half-filled scope; objects missing from the relist vanish.
//! - A scrape copies one scope's `Arc` pointers under a read lock and renders outside it, so a
//!   writer waits at most for one scope's pointer copy.
//! - Objects are ordered by (namespace, name); scopes of a kind are ordered by namespace, so a
//!   scrape's output is deterministic.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::exposition::Format;
use crate::families::{FamilyHeader, Rendered};

/// Where an object sits in output order.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    /// Namespace (empty for cluster-scoped objects).
    pub namespace: Box<str>,
    /// Object name.
    pub name: Box<str>,
}

impl ObjectKey {
    /// Builds a key from metadata fields.
    pub fn new(namespace: Option<&str>, name: Option<&str>) -> Self {
        ObjectKey {
            namespace: namespace.unwrap_or("").into(),
            name: name.unwrap_or("").into(),
        }
    }
}

/// One cached object.
#[derive(Debug)]
pub struct Entry {
    /// `metadata.uid`.
    pub uid: Box<str>,
    /// `metadata.resourceVersion` of the rendered state.
    pub resource_version: Box<str>,
    /// The object's lines, family by family.
    pub rendered: Rendered,
}

/// What happened to an update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApplyOutcome {
    /// Rendered and stored.
    Stored,
    /// Ignored: the held resourceVersion is the same or newer.
    Stale,
}

/// True when `new` should replace `held`.
fn is_newer(new: &str, held: &str) -> bool {
    match (new.parse::<u64>(), held.parse::<u64>()) {
        (Ok(n), Ok(h)) => n > h,
        _ => new != held,
    }
}

#[derive(Default)]
struct ScopeState {
    objects: BTreeMap<ObjectKey, Arc<Entry>>,
    synced: bool,
    last_error: Option<String>,
    bytes: usize,
}

/// One watched namespace (or all namespaces) of one kind.
pub struct Scope {
    namespace: Option<String>,
    state: RwLock<ScopeState>,
}

impl Scope {
    fn read(&self) -> RwLockReadGuard<'_, ScopeState> {
        // A writer that panicked mid-update leaves a consistent map (every mutation is a single
        // insert/remove/swap), so a poisoned lock is safe to keep using.
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
        if let Some(held) = self.read().objects.get(&key)
            && held.uid.as_ref() == uid
            && !is_newer(rv, &held.resource_version)
        {
            return ApplyOutcome::Stale;
        }
        // Rendering happens outside the lock; the check is repeated under it because another
        // writer for the same scope could have raced (only in tests and `render`).
        let entry = Arc::new(Entry {
            uid: uid.into(),
            resource_version: rv.into(),
            rendered: render(),
        });
        let mut state = self.write();
        if let Some(held) = state.objects.get(&key)
            && held.uid.as_ref() == uid
            && !is_newer(rv, &held.resource_version)
        {
            return ApplyOutcome::Stale;
        }
        let added = entry.rendered.heap_size();
        if let Some(old) = state.objects.insert(key, entry) {
            state.bytes -= old.rendered.heap_size();
        }
        state.bytes += added;
        ApplyOutcome::Stored
    }

    /// Removes a deleted object (only if the UID is the one held).
    pub fn delete(&self, key: &ObjectKey, uid: &str) -> bool {
        let mut state = self.write();
        match state.objects.get(key) {
            Some(held) if held.uid.as_ref() == uid || uid.is_empty() => {
                if let Some(old) = state.objects.remove(key) {
                    state.bytes -= old.rendered.heap_size();
                }
                true
            }
            _ => false,
        }
    }

    /// Starts a relist: a new map is filled beside the live one.
    pub fn begin_relist(&self) -> Relist {
        Relist {
            objects: BTreeMap::new(),
        }
    }

    /// Swaps a finished relist in and marks the scope synced.
    pub fn commit_relist(&self, relist: Relist) {
        let bytes = relist.objects.values().map(|e| e.rendered.heap_size()).sum();
        let mut state = self.write();
        let old = std::mem::replace(&mut state.objects, relist.objects);
        state.bytes = bytes;
        state.synced = true;
        state.last_error = None;
        drop(state);
        // The old map is freed here, outside the lock.
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

    /// The entry held for a key, if any (resourceVersion checks in relists and tests).
    pub fn get(&self, key: &ObjectKey) -> Option<Arc<Entry>> {
        self.read().objects.get(key).cloned()
    }

    fn stats(&self) -> (usize, usize) {
        let s = self.read();
        (s.objects.len(), s.bytes)
    }
}

/// A relist in progress; see [`Scope::begin_relist`].
pub struct Relist {
    objects: BTreeMap<ObjectKey, Arc<Entry>>,
}

impl Relist {
    /// Adds a listed object. An object whose uid and resourceVersion equal the live entry's
    /// reuses that rendering instead of rendering again.
    pub fn apply(&mut self, live: &Scope, key: ObjectKey, uid: &str, rv: &str, render: impl FnOnce() -> Rendered) {
        let entry = match live.get(&key) {
            Some(held) if held.uid.as_ref() == uid && held.resource_version.as_ref() == rv => held,
            _ => Arc::new(Entry {
                uid: uid.into(),
                resource_version: rv.into(),
                rendered: render(),
            }),
        };
        self.objects.insert(key, entry);
    }

    /// Keeps the live entry for an object that was listed but could not be decoded, so a
    /// malformed object loses no data it already had.
    pub fn keep_live(&mut self, live: &Scope, key: ObjectKey) {
        if let Some(held) = live.get(&key) {
            self.objects.insert(key, held);
        }
    }

    /// Objects collected so far.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// True when nothing has been collected.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }
}

/// All scopes of one resource kind plus its family headers.
pub struct KindStore {
    resource: &'static str,
    headers: Arc<[FamilyHeader]>,
    scopes: Vec<Scope>,
}

impl KindStore {
    /// A kind with one scope per namespace (sorted), or one all-namespace scope when
    /// `namespaces` is empty.
    pub fn new(resource: &'static str, headers: Vec<FamilyHeader>, namespaces: &[String]) -> Self {
        let mut namespaces: Vec<String> = namespaces.to_vec();
        namespaces.sort();
        namespaces.dedup();
        let scopes = if namespaces.is_empty() {
            vec![Scope {
                namespace: None,
                state: RwLock::default(),
            }]
        } else {
            namespaces
                .into_iter()
                .map(|n| Scope {
                    namespace: Some(n),
                    state: RwLock::default(),
                })
                .collect()
        };
        KindStore {
            resource,
            headers: headers.into(),
            scopes,
        }
    }

    /// The KSM resource name.
    pub fn resource(&self) -> &'static str {
        self.resource
    }

    /// The scopes, in output order.
    pub fn scopes(&self) -> &[Scope] {
        &self.scopes
    }

    /// The family headers, in output order.
    pub fn headers(&self) -> &[FamilyHeader] {
        &self.headers
    }

    /// Objects held and bytes of rendered output held.
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
    pub fn get(&self, key: &ObjectKey) -> Option<Arc<Entry>> {
        self.scopes
            .iter()
            .find(|s| s.namespace.is_none() || s.namespace.as_deref() == Some(&*key.namespace))
            .and_then(|s| s.get(key))
    }

    /// Visits every entry, one scope's read lock at a time (for joins such as usage coverage).
    pub fn for_each(&self, mut f: impl FnMut(&ObjectKey, &Entry)) {
        for scope in &self.scopes {
            for (key, entry) in &scope.read().objects {
                f(key, entry);
            }
        }
    }

    /// Why this kind is not synced yet (the latest watch error, if any).
    pub fn sync_error(&self) -> Option<String> {
        self.scopes.iter().find_map(|s| s.read().last_error.clone())
    }

    fn snapshot(&self) -> KindSnapshot {
        let mut objects = Vec::new();
        for scope in &self.scopes {
            objects.extend(scope.read().objects.values().cloned());
        }
        KindSnapshot {
            headers: self.headers.clone(),
            objects,
        }
    }
}

/// Every enabled kind, in output order (sorted by resource name, as KSM sorts its writers).
pub struct Store {
    kinds: Vec<Arc<KindStore>>,
}

impl Store {
    /// Builds the store from its kinds.
    pub fn new(mut kinds: Vec<KindStore>) -> Self {
        kinds.sort_by_key(|k| k.resource);
        Store {
            kinds: kinds.into_iter().map(Arc::new).collect(),
        }
    }

    /// The kinds, in output order.
    pub fn kinds(&self) -> &[Arc<KindStore>] {
        &self.kinds
    }

    /// One kind by resource name.
    pub fn kind(&self, resource: &str) -> Option<&Arc<KindStore>> {
        self.kinds.iter().find(|k| k.resource == resource)
    }

    /// Captures what a scrape will write: per kind, pointers to the current entries.
    /// `include` selects kinds by resource name (KSM's `?resources=`/`?exclude_resources=`).
    pub fn snapshot(&self, include: impl Fn(&str) -> bool) -> Snapshot {
        Snapshot {
            kinds: self
                .kinds
                .iter()
                .filter(|k| include(k.resource))
                .map(|k| k.snapshot())
                .collect(),
        }
    }
}

struct KindSnapshot {
    headers: Arc<[FamilyHeader]>,
    objects: Vec<Arc<Entry>>,
}

/// A consistent view for one scrape, written out in chunks without holding any lock.
pub struct Snapshot {
    kinds: Vec<KindSnapshot>,
}

impl Snapshot {
    /// Streams the exposition in chunks of about `chunk_size` bytes.
    pub fn into_chunks(self, format: Format, chunk_size: usize) -> SnapshotChunks {
        SnapshotChunks {
            snapshot: self,
            format,
            chunk_size,
            kind: 0,
            family: 0,
            object: 0,
            header_done: false,
            eof_done: false,
        }
    }

    /// Writes the whole exposition into one buffer (for `render` and tests).
    pub fn to_bytes(self, format: Format) -> Vec<u8> {
        let mut out = Vec::new();
        for chunk in self.into_chunks(format, 1 << 20) {
            out.extend_from_slice(&chunk);
        }
        out
    }

    /// Number of objects captured.
    pub fn object_count(&self) -> usize {
        self.kinds.iter().map(|k| k.objects.len()).sum()
    }
}

/// Iterator over exposition chunks; family-major: for each kind with objects, for each family,
/// the HELP/TYPE lines once and then that family's lines from every object.
pub struct SnapshotChunks {
    snapshot: Snapshot,
    format: Format,
    chunk_size: usize,
    kind: usize,
    family: usize,
    object: usize,
    header_done: bool,
    eof_done: bool,
}

impl Iterator for SnapshotChunks {
    type Item = bytes::Bytes;

    fn next(&mut self) -> Option<bytes::Bytes> {
        let mut out = Vec::with_capacity(self.chunk_size + 4096);
        while out.len() < self.chunk_size {
            let Some(kind) = self.snapshot.kinds.get(self.kind) else {
                if self.format == Format::OpenMetrics && !self.eof_done {
                    self.eof_done = true;
                    out.extend_from_slice(b"# EOF\n");
                }
                break;
            };
            // KSM writes a kind's headers only when it holds at least one object.
            if kind.objects.is_empty() || self.family >= kind.headers.len() {
                self.kind += 1;
                self.family = 0;
                self.object = 0;
                self.header_done = false;
                continue;
            }
            if !self.header_done {
                let header = &kind.headers[self.family];
                out.extend_from_slice(match self.format {
                    Format::Text => &header.text,
                    Format::OpenMetrics => &header.openmetrics,
                });
                self.header_done = true;
            }
            while self.object < kind.objects.len() && out.len() < self.chunk_size {
                prefetch_ahead(&kind.objects, self.object, self.family);
                out.extend_from_slice(kind.objects[self.object].rendered.family(self.family));
                self.object += 1;
            }
            if self.object >= kind.objects.len() {
                self.family += 1;
                self.object = 0;
                self.header_done = false;
            }
        }
        if out.is_empty() { None } else { Some(out.into()) }
    }
}

/// Each family pass visits every object's buffer once, in a different heap allocation each time,
/// so a scrape of a large cache is bound by memory latency, not bandwidth. Three prefetch stages
/// run ahead of the copy (the entry, then its offsets, then its slice) so the loads of later
/// objects overlap the copy of the current one. Prefetches never fault and change no data.
#[inline]
fn prefetch_ahead(objects: &[Arc<Entry>], at: usize, family: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        const STAGE: usize = 8;
        if let Some(entry) = objects.get(at + 3 * STAGE) {
            // SAFETY: prefetching is a hint; any address is allowed and nothing is dereferenced.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(Arc::as_ptr(entry).cast()) };
        }
        if let Some(entry) = objects.get(at + 2 * STAGE) {
            let ends = entry.rendered.ends.as_ptr().wrapping_add(family.saturating_sub(1));
            // SAFETY: as above.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(ends.cast()) };
        }
        if let Some(entry) = objects.get(at + STAGE) {
            let slice = entry.rendered.family(family);
            let mut line = 0;
            while line < slice.len() {
                // SAFETY: as above; the address is inside the slice.
                unsafe { _mm_prefetch::<_MM_HINT_T0>(slice.as_ptr().wrapping_add(line).cast()) };
                line += 64;
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (objects, at, family);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::MetricType;

    fn rendered(lines: &[&str]) -> Rendered {
        let mut bytes = Vec::new();
        let mut ends = Vec::new();
        for l in lines {
            bytes.extend_from_slice(l.as_bytes());
            ends.push(bytes.len() as u32);
        }
        Rendered {
            bytes: bytes.into(),
            ends: ends.into(),
            index: None,
        }
    }

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
        let scope = &store.kinds()[0].scopes()[0];
        scope.apply(ObjectKey::new(Some("ns"), Some("z")), "u1", "5", || {
            rendered(&["a{p=\"z\"} 1\n", "b{p=\"z\"} 2\n"])
        });
        scope.apply(ObjectKey::new(Some("ns"), Some("a")), "u2", "6", || {
            rendered(&["a{p=\"a\"} 1\n", ""])
        });
        assert_eq!(
            text(&store),
            "# HELP a A.\n# TYPE a gauge\na{p=\"a\"} 1\na{p=\"z\"} 1\n# HELP b B.\n# TYPE b counter\nb{p=\"z\"} 2\n"
        );
        // Byte-identical on a second scrape of the same state.
        assert_eq!(text(&store), text(&store));
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
        let scope = &store.kinds()[0].scopes()[0];
        let key = ObjectKey::new(Some("ns"), Some("p"));
        assert_eq!(
            scope.apply(key.clone(), "u", "10", || rendered(&["a 10\n", ""])),
            ApplyOutcome::Stored
        );
        let mut rendered_again = false;
        assert_eq!(
            scope.apply(key.clone(), "u", "9", || {
                rendered_again = true;
                rendered(&["a 9\n", ""])
            }),
            ApplyOutcome::Stale
        );
        assert!(!rendered_again, "a stale update must not be rendered");
        assert_eq!(
            scope.apply(key.clone(), "u", "10", || rendered(&["a 10b\n", ""])),
            ApplyOutcome::Stale
        );
        assert_eq!(
            scope.apply(key.clone(), "u", "11", || rendered(&["a 11\n", ""])),
            ApplyOutcome::Stored
        );
        assert_eq!(scope.get(&key).unwrap().resource_version.as_ref(), "11");
        // "100" > "99" numerically even though it sorts lower as a string.
        assert_eq!(
            scope.apply(key.clone(), "u", "100", || rendered(&["a 100\n", ""])),
            ApplyOutcome::Stored
        );
        assert_eq!(
            scope.apply(key.clone(), "u", "99", || rendered(&["a 99\n", ""])),
            ApplyOutcome::Stale
        );
        // Opaque (non-numeric) versions: any different one is accepted.
        assert_eq!(
            scope.apply(key.clone(), "u", "abc", || rendered(&["a x\n", ""])),
            ApplyOutcome::Stored
        );
        // A recreated object (new uid) always replaces the old one.
        assert_eq!(
            scope.apply(key.clone(), "u2", "1", || rendered(&["a new\n", ""])),
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
        let scope = &store.kinds()[0].scopes()[0];
        let key = ObjectKey::new(Some("ns"), Some("p"));
        scope.apply(key.clone(), "new-uid", "3", || rendered(&["a 1\n", ""]));
        assert!(!scope.delete(&key, "old-uid"));
        assert!(scope.get(&key).is_some());
        assert!(scope.delete(&key, "new-uid"));
        assert!(scope.get(&key).is_none());
        assert_eq!(store.kinds()[0].stats(), (0, 0));
    }

    #[test]
    fn relist_swaps_atomically_and_drops_vanished_objects() {
        let store = Store::new(vec![kind()]);
        let scope = &store.kinds()[0].scopes()[0];
        for (name, uid) in [("keep", "u1"), ("gone", "u2")] {
            scope.apply(ObjectKey::new(Some("ns"), Some(name)), uid, "1", || {
                rendered(&[&format!("a{{o=\"{name}\"}} 1\n"), ""])
            });
        }
        let before = text(&store);
        let mut relist = scope.begin_relist();
        let mut renders = 0;
        relist.apply(scope, ObjectKey::new(Some("ns"), Some("keep")), "u1", "1", || {
            renders += 1;
            rendered(&["unused\n", ""])
        });
        relist.apply(scope, ObjectKey::new(Some("ns"), Some("new")), "u3", "7", || {
            renders += 1;
            rendered(&["a{o=\"new\"} 1\n", ""])
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
            let scope = &store.kinds()[0].scopes()[0];
            let mut relist = scope.begin_relist();
            for i in 0..n {
                relist.apply(
                    scope,
                    ObjectKey::new(Some("ns"), Some(&format!("p{i:04}"))),
                    "u",
                    "1",
                    || rendered(&["a 1\n", ""]),
                );
            }
            scope.commit_relist(relist);
        }
        let writer = {
            let store = store.clone();
            std::thread::spawn(move || {
                let scope = &store.kinds()[0].scopes()[0];
                for round in 0..50 {
                    let mut relist = scope.begin_relist();
                    for i in 0..n {
                        relist.apply(
                            scope,
                            ObjectKey::new(Some("ns"), Some(&format!("p{i:04}"))),
                            &format!("u{round}"),
                            "1",
                            || rendered(&["a 1\n", ""]),
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
        let scope = &store.kinds()[0].scopes()[0];
        for i in 0..100 {
            scope.apply(ObjectKey::new(Some("ns"), Some(&format!("p{i:03}"))), "u", "1", || {
                rendered(&[&format!("a{{i=\"{i}\"}} 1\n"), &format!("b{{i=\"{i}\"}} 2\n")])
            });
        }
        let whole = store.snapshot(|_| true).to_bytes(Format::Text);
        let chunked: Vec<u8> = store
            .snapshot(|_| true)
            .into_chunks(Format::Text, 64)
            .flat_map(|c| c.to_vec())
            .collect();
        assert_eq!(whole, chunked);
    }

    #[test]
    fn resource_filter_selects_kinds() {
        let store = Store::new(vec![kind()]);
        store.kinds()[0].scopes()[0].apply(ObjectKey::new(Some("ns"), Some("p")), "u", "1", || {
            rendered(&["a 1\n", ""])
        });
        assert_eq!(store.snapshot(|r| r != "pods").object_count(), 0);
        assert_eq!(store.snapshot(|r| r == "pods").object_count(), 1);
    }
}
