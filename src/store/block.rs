//! Packed blocks: a run of objects in key order whose lines are stored family by family, so a
//! scrape copies (or hands to hyper) one contiguous run per family per block instead of one
//! slice per object, and keeps each run's compressed (deflate) fragment once made.
//!
//! Invariants:
//! - A `Packed`'s content is fixed once built; scrapes share it through `Arc`. Only its form
//!   changes: each run's compressed fragment fills once (`OnceLock`), and a compressed run may be
//!   frozen (its lines dropped, the fragment alone kept: the cache is then about the size of the
//!   gzip body) and thawed again by an update that reads it. The lines sit behind a per-run
//!   mutex held only to clone or swap a pointer, never while decoding.
//! - A block's slots are its live objects in key order. A slot's lines are either object `i`
//!   of the packed buffer (`Source::Packed(i)`) or a newer rendering held beside it
//!   (`Source::Loose`).
//! - `changed` has bit `f` clear only if the concatenation of every slot's family-`f` lines
//!   equals the packed run `f`: such a run (and its compressed fragment) can be served as it is. Updates
//!   that leave a family's bytes unchanged do not set its bit; inserts and deletes set the bits
//!   of the families the object has lines in.
//! - When loose and dead bytes reach a quarter of the packed bytes the block is repacked, which
//!   bounds the memory held twice and the scatter work a scrape does for changed families. A
//!   repack rebuilds only the runs of changed families; the others (and their compressed fragments)
//!   are shared with the previous packing, so its cost follows what changed, not block size.

use std::cell::RefCell;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;

use super::gzip::{Fragment, Inflater, MemberWriter};
use super::offsets::Offsets;
use super::{Entry, ObjectKey};
use crate::families::Rendered;

/// Objects per block when blocks are built in one go (relists, splits).
pub const BLOCK_OBJECTS: usize = 128;
/// A block that grows past this many objects is split in two.
const MAX_BLOCK_OBJECTS: usize = 2 * BLOCK_OBJECTS;
/// A block is also cut when its lines reach this size, so offsets stay small and one repack
/// stays short even for kinds with very large objects.
const BLOCK_BYTES: usize = 4 << 20;
/// Repack when loose + dead bytes exceed packed bytes ÷ this.
const REPACK_DIVISOR: usize = 4;

/// One object's lines as a scrape or a repack reads them.
#[derive(Clone, Copy)]
pub enum SourceRef<'a> {
    /// Object `i` of a packed buffer.
    Packed(&'a Packed, u32),
    /// A rendering not yet packed.
    Loose(&'a Rendered),
}

/// Lines borrowed from a rendering or shared from a run (a run may be cold, so its lines are
/// not always there to borrow).
pub enum Lines<'a> {
    /// Part of a loose rendering.
    Borrowed(&'a [u8]),
    /// Part of a run's lines.
    Shared(Bytes),
}

impl std::ops::Deref for Lines<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Lines::Borrowed(b) => b,
            Lines::Shared(b) => b,
        }
    }
}

impl<'a> SourceRef<'a> {
    /// The object's lines of family `f` (thawing the run when cold: only updates read this).
    pub fn lines(self, f: usize) -> Lines<'a> {
        match self {
            SourceRef::Packed(p, i) => Lines::Shared(p.lines(f, i as usize)),
            SourceRef::Loose(r) => Lines::Borrowed(r.family(f)),
        }
    }

    /// Length of the object's lines of family `f`, without reading them.
    pub fn len(self, f: usize) -> usize {
        match self {
            SourceRef::Packed(p, i) => p.object(f, i as usize).len(),
            SourceRef::Loose(r) => r.family(f).len(),
        }
    }

    fn size(self, families: usize) -> usize {
        match self {
            SourceRef::Packed(..) => (0..families).map(|f| self.len(f)).sum(),
            SourceRef::Loose(r) => r.bytes.len(),
        }
    }
}

/// Where a slot's lines are.
#[derive(Clone, Debug)]
pub enum Source {
    /// Object `i` of the block's packed buffer.
    Packed(u32),
    /// A newer rendering held beside the packed buffer until the next repack.
    Loose(Arc<Rendered>),
}

impl Source {
    /// Resolves against the block's packed buffer.
    pub fn with<'a>(&'a self, packed: &'a Packed) -> SourceRef<'a> {
        match self {
            Source::Packed(i) => SourceRef::Packed(packed, *i),
            Source::Loose(r) => SourceRef::Loose(r),
        }
    }
}

/// An owned source for objects that move between blocks (relists, splits).
#[derive(Clone)]
pub enum OwnedSource {
    /// Object `i` of a packed buffer that stays alive while this is held.
    Packed(Arc<Packed>, u32),
    /// A rendering.
    Loose(Arc<Rendered>),
}

impl OwnedSource {
    fn as_ref(&self) -> SourceRef<'_> {
        match self {
            OwnedSource::Packed(p, i) => SourceRef::Packed(p, *i),
            OwnedSource::Loose(r) => SourceRef::Loose(r),
        }
    }
}

/// One family's lines of every object in a block: hot (the lines, and once made their
/// compressed fragment) or cold (the fragment alone). Runs of families that did not change are
/// shared between a block's successive packings.
///
/// A cold run holds its fragment in `state` itself, so its lines can always be had.
struct Run {
    len: usize,
    state: Mutex<RunLines>,
    gzip: OnceLock<Fragment>,
}

impl Run {
    fn new(bytes: Bytes) -> Run {
        super::precompress::count_hot(bytes.len(), true);
        Run {
            len: bytes.len(),
            state: Mutex::new(RunLines::Hot(bytes)),
            gzip: OnceLock::new(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, RunLines> {
        // The guarded value is a pointer swap; a panic elsewhere cannot leave it half-written.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The lines, decoding the fragment when cold (outside the lock), and whether they were
    /// decoded; `keep` stores them back (the run is being updated and will be read again soon).
    fn lines(&self, keep: bool) -> (Bytes, bool) {
        let fragment = match &*self.state() {
            RunLines::Hot(bytes) => return (bytes.clone(), false),
            RunLines::Cold(fragment) => fragment.clone(),
        };
        let bytes = INFLATER.with_borrow_mut(|inflater| inflater.inflate(&fragment));
        if keep {
            let mut state = self.state();
            // Another update may have thawed it meanwhile: count the lines once.
            if matches!(*state, RunLines::Cold(_)) {
                *state = RunLines::Hot(bytes.clone());
                super::precompress::count_hot(self.len, true);
            }
        }
        (bytes, true)
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(|e| e.into_inner());
        if matches!(state, RunLines::Hot(_)) {
            super::precompress::count_hot(self.len, false);
        }
    }
}

thread_local! {
    /// Decoder state for cold runs read outside a scrape (updates, repacks, relists).
    static INFLATER: RefCell<Inflater> = RefCell::default();
}

/// A run's lines: the held bytes when hot, else the fragment to decode.
#[derive(Clone)]
pub enum RunLines {
    /// The run is hot.
    Hot(Bytes),
    /// The run is cold: its lines are this fragment's.
    Cold(Fragment),
}

/// What a repack may reuse from the block's previous packing.
pub struct Reuse<'a> {
    /// The previous packing.
    pub packed: &'a Packed,
    /// Families whose bytes changed since (their runs are rebuilt).
    pub changed: &'a Bits,
    /// Whether objects were added or removed since (offsets must then be recomputed).
    pub members_changed: bool,
}

/// Family-major lines of a block's objects: one run per family, plus every object's offsets.
pub struct Packed {
    objects: usize,
    runs: Box<[Arc<Run>]>,
    /// Object-major: one object's ends for every family sit together (an update compares them
    /// all); 2 bytes each where they fit.
    ends: Offsets,
    len: usize,
    /// A cold run was thawed since the packing was last frozen.
    thawed: AtomicBool,
}

impl std::fmt::Debug for Packed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Packed")
            .field("objects", &self.objects)
            .field("len", &self.len)
            .finish()
    }
}

impl Packed {
    /// Packs `sources` (in key order) for `families` families. With `reuse`, the runs of
    /// families whose bytes did not change are shared with the previous packing, compressed fragment
    /// included, so a repack copies only what changed.
    pub fn build(families: usize, sources: &[SourceRef<'_>], reuse: Option<Reuse<'_>>) -> Packed {
        let objects = sources.len();
        // With the same objects in the same order, unchanged families keep their offsets.
        let mut ends = match &reuse {
            Some(r) if !r.members_changed => r.packed.ends.to_wide(),
            _ => vec![0u32; objects * families],
        };
        let offsets_kept = reuse.as_ref().is_some_and(|r| !r.members_changed);
        let runs: Box<[Arc<Run>]> = (0..families)
            .map(|f| {
                let shared = match &reuse {
                    Some(r) if !r.changed.get(f) => r.packed.runs.get(f).cloned(),
                    _ => None,
                };
                match shared {
                    Some(run) if offsets_kept => run,
                    Some(run) => {
                        let mut len = 0;
                        for (i, source) in sources.iter().enumerate() {
                            len += source.len(f);
                            ends[i * families + f] = u32::try_from(len).unwrap_or(u32::MAX);
                        }
                        debug_assert_eq!(len, run.len);
                        run
                    }
                    None => Arc::new(gather(sources, f, families, &mut ends)),
                }
            })
            .collect();
        Packed {
            objects,
            len: runs.iter().map(|r| r.len).sum(),
            runs,
            ends: Offsets::pack(ends, families),
            thawed: AtomicBool::new(false),
        }
    }

    /// Bytes of lines packed.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Bytes of family `f`'s run (0 out of range), known without decoding it.
    pub fn run_len(&self, f: usize) -> usize {
        self.runs.get(f).map_or(0, |r| r.len)
    }

    /// Family `f`'s lines for a scrape, hot or cold; `None` for an empty run or one out of range.
    pub fn run_lines(&self, f: usize) -> Option<RunLines> {
        let run = self.runs.get(f).filter(|r| r.len > 0)?;
        Some(run.state().clone())
    }

    /// Family `f`'s lines, decoded for this call when cold (a scrape gathering a changed run).
    pub fn run(&self, f: usize) -> Bytes {
        self.runs.get(f).map_or_else(Bytes::new, |r| r.lines(false).0)
    }

    /// Byte range of object `i`'s lines within family `f`'s run.
    pub fn object(&self, f: usize, i: usize) -> Range<usize> {
        let Some(run) = self.runs.get(f) else {
            return 0..0;
        };
        let end_at = |i: usize| self.ends.end(i, f);
        let start = if i == 0 { 0 } else { end_at(i - 1) };
        start..end_at(i).max(start).min(run.len)
    }

    /// Object `i`'s lines of family `f`, thawing the run when cold (updates and repacks read a
    /// block's runs again and again until its next packing).
    fn lines(&self, f: usize, i: usize) -> Bytes {
        let range = self.object(f, i);
        if range.is_empty() {
            return Bytes::new();
        }
        let (bytes, thawed) = self.runs[f].lines(true);
        if thawed {
            self.thawed.store(true, Ordering::Relaxed);
        }
        bytes.slice(range)
    }

    /// Family `f`'s run compressed on its own (see [`Fragment`]), made by whichever comes
    /// first: the background compressor or a gzip scrape. `None` for a family out of range.
    pub fn gzip_fragment(&self, f: usize, writer: &mut MemberWriter) -> Option<Fragment> {
        let run = self.runs.get(f)?;
        Some(run.gzip.get_or_init(|| writer.fragment(&run.lines(false).0)).clone())
    }

    /// Compresses every non-empty run not compressed yet.
    pub fn compress_all(&self, writer: &mut MemberWriter) {
        for (f, run) in self.runs.iter().enumerate() {
            if run.len > 0 && run.gzip.get().is_none() {
                self.gzip_fragment(f, writer);
            }
        }
    }

    /// Drops the lines of every compressed run, keeping the fragment alone (decoded again on
    /// demand); returns the bytes freed.
    pub fn freeze(&self) -> usize {
        self.thawed.store(false, Ordering::Relaxed);
        let mut freed = 0;
        for run in self.runs.iter() {
            if let Some(fragment) = run.gzip.get() {
                let mut state = run.state();
                // A run shared with an older packing (a scrape may hold one) goes cold there
                // too: the same lines, decoded on demand.
                if let RunLines::Hot(bytes) = &*state {
                    freed += bytes.len();
                    super::precompress::count_hot(run.len, false);
                    *state = RunLines::Cold(fragment.clone());
                }
            }
        }
        freed
    }

    /// Whether a cold run was thawed since the last [`Packed::freeze`], clearing the mark.
    pub fn take_thawed(&self) -> bool {
        self.thawed.swap(false, Ordering::Relaxed)
    }

    /// Whether every non-empty run has its compressed fragment.
    #[cfg(test)]
    pub fn is_compressed(&self) -> bool {
        self.runs.iter().all(|r| r.len == 0 || r.gzip.get().is_some())
    }

    /// Whether every non-empty run is cold (its fragment alone held).
    #[cfg(test)]
    pub fn is_frozen(&self) -> bool {
        self.runs
            .iter()
            .all(|r| r.len == 0 || matches!(*r.state(), RunLines::Cold(_)))
    }

    /// Bytes held: lines of hot runs, offsets and compressed fragments.
    pub fn heap_size(&self) -> usize {
        let runs: usize = self
            .runs
            .iter()
            .map(|r| {
                let hot = match &*r.state() {
                    RunLines::Hot(bytes) => bytes.len(),
                    // The fragment is the one counted below (shared, not a copy).
                    RunLines::Cold(_) => 0,
                };
                hot + r.gzip.get().map_or(0, Fragment::heap_size)
            })
            .sum();
        runs + self.ends.heap_size()
    }
}

/// Family `f`'s lines of every source as a new run (filling column `f` of `ends`), with
/// consecutive objects of one packed buffer (contiguous in its run) copied as one slice.
fn gather(sources: &[SourceRef<'_>], f: usize, families: usize, ends: &mut [u32]) -> Run {
    let total: usize = sources.iter().map(|s| s.len(f)).sum();
    let mut bytes = Vec::with_capacity(total);
    // The run being copied from (decoded once if cold) and the range of it not copied yet.
    let mut pending: Option<(&Packed, Bytes, Range<usize>)> = None;
    let mut len = 0;
    for (i, source) in sources.iter().enumerate() {
        match *source {
            SourceRef::Packed(p, at) => {
                let r = p.object(f, at as usize);
                len += r.len();
                match &mut pending {
                    Some((held, _, range)) if std::ptr::eq(*held, p) && range.end == r.start => range.end = r.end,
                    _ if r.is_empty() => {}
                    _ => {
                        let run = match pending.take() {
                            Some((held, run, range)) => {
                                bytes.extend_from_slice(&run[range]);
                                std::ptr::eq(held, p).then_some(run)
                            }
                            None => None,
                        };
                        let run = run.unwrap_or_else(|| p.run(f));
                        pending = Some((p, run, r));
                    }
                }
            }
            SourceRef::Loose(r) => {
                if let Some((_, run, range)) = &mut pending {
                    bytes.extend_from_slice(&run[range.clone()]);
                    *range = range.end..range.end;
                }
                bytes.extend_from_slice(r.family(f));
                len = bytes.len() + pending.as_ref().map_or(0, |(_, _, range)| range.len());
            }
        }
        // Blocks are cut at BLOCK_BYTES, far below u32::MAX.
        ends[i * families + f] = u32::try_from(len).unwrap_or(u32::MAX);
    }
    if let Some((_, run, range)) = pending {
        bytes.extend_from_slice(&run[range]);
    }
    debug_assert_eq!(len, bytes.len());
    Run::new(Bytes::from(bytes))
}

/// Hints the CPU to load the cache line holding `ptr`.
#[inline]
fn prefetch(ptr: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint; it never faults and reads nothing observable.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(ptr.cast())
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = ptr;
}

/// A small fixed-size bit set (one bit per family).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bits(Box<[u64]>);

impl Bits {
    /// All clear, for `n` bits.
    pub fn new(n: usize) -> Self {
        Bits(vec![0; n.div_ceil(64)].into_boxed_slice())
    }

    /// Sets bit `i` (ignored when out of range).
    pub fn set(&mut self, i: usize) {
        if let Some(word) = self.0.get_mut(i / 64) {
            *word |= 1 << (i % 64);
        }
    }

    /// Whether bit `i` is set.
    pub fn get(&self, i: usize) -> bool {
        self.0.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    /// Whether any bit is set.
    pub fn any(&self) -> bool {
        self.0.iter().any(|w| *w != 0)
    }
}

/// One cached object in a block.
#[derive(Debug)]
pub struct Slot {
    /// Output position.
    pub key: ObjectKey,
    /// Identity, version and join facts.
    pub entry: Entry,
    /// Where its lines are.
    pub source: Source,
}

/// Objects in key order plus their packed lines.
pub struct Block {
    families: usize,
    slots: Vec<Slot>,
    packed: Arc<Packed>,
    changed: Bits,
    loose_bytes: usize,
    /// Loose bytes written plus packed bytes orphaned since the last repack.
    churn: usize,
    /// Objects were added or removed since the last repack.
    members_changed: bool,
}

impl Block {
    /// Packs objects (in key order) into a fresh block.
    pub fn pack(families: usize, items: Vec<(ObjectKey, Entry, OwnedSource)>) -> Block {
        let sources: Vec<SourceRef<'_>> = items.iter().map(|(_, _, s)| s.as_ref()).collect();
        let packed = Arc::new(Packed::build(families, &sources, None));
        drop(sources);
        let slots = items
            .into_iter()
            .enumerate()
            .map(|(i, (key, entry, _))| Slot {
                key,
                entry,
                source: Source::Packed(i as u32),
            })
            .collect();
        Block {
            families,
            slots,
            packed,
            changed: Bits::new(families),
            loose_bytes: 0,
            churn: 0,
            members_changed: false,
        }
    }

    /// The objects, in key order.
    pub fn slots(&self) -> &[Slot] {
        &self.slots
    }

    /// The packed lines.
    pub fn packed(&self) -> &Arc<Packed> {
        &self.packed
    }

    /// Families whose packed run no longer matches the slots.
    pub fn changed(&self) -> &Bits {
        &self.changed
    }

    /// Highest key held (blocks are never empty while stored).
    pub fn last_key(&self) -> Option<&ObjectKey> {
        self.slots.last().map(|s| &s.key)
    }

    /// Position of `key` among the slots.
    pub fn find(&self, key: &ObjectKey) -> Result<usize, usize> {
        self.slots.binary_search_by(|s| s.key.cmp(key))
    }

    /// A slot's lines as an owned source (for relists reusing an unchanged rendering).
    pub fn owned_source(&self, i: usize) -> Option<OwnedSource> {
        Some(match &self.slots.get(i)?.source {
            Source::Packed(at) => OwnedSource::Packed(self.packed.clone(), *at),
            Source::Loose(r) => OwnedSource::Loose(r.clone()),
        })
    }

    /// Bytes held: packed runs (with compressed fragments), loose renderings, and each object's key,
    /// identity and join facts.
    pub fn heap_size(&self) -> usize {
        let objects: usize = self.slots.iter().map(|s| s.key.heap_size() + s.entry.heap_size()).sum();
        self.packed.heap_size() + self.loose_bytes + objects + self.slots.capacity() * size_of::<Slot>()
    }

    /// Panics unless the running count of loose bytes (part of the cached-bytes figure) equals
    /// the loose renderings actually held.
    #[cfg(test)]
    pub fn audit(&self) {
        let loose: usize = self
            .slots
            .iter()
            .map(|s| match &s.source {
                Source::Loose(r) => r.heap_size(),
                Source::Packed(_) => 0,
            })
            .sum();
        assert_eq!(self.loose_bytes, loose, "loose bytes counted against loose bytes held");
    }

    /// The slot vector's capacity (memory the cached-bytes figure counts).
    #[cfg(test)]
    pub fn slot_capacity(&self) -> usize {
        self.slots.capacity()
    }

    /// Stores a rendering at `pos` (replacing the slot on `Ok`, inserting on `Err`).
    pub fn upsert(&mut self, pos: Result<usize, usize>, key: ObjectKey, entry: Entry, rendered: Rendered) {
        let families = self.families;
        match pos {
            Ok(i) => {
                let old = self.slots[i].source.with(&self.packed);
                let before: Vec<Lines<'_>> = (0..families).map(|f| old.lines(f)).collect();
                // The old lines sit in as many runs as there are families, each likely a cache
                // miss: start every load before the first comparison waits on one.
                for lines in &before {
                    prefetch(lines.as_ptr());
                }
                let mut identical = true;
                let mut old_size = 0;
                for (f, (before, after)) in before.iter().zip(rendered.families(families)).enumerate() {
                    old_size += before.len();
                    if **before != *after {
                        self.changed.set(f);
                        identical = false;
                    }
                }
                drop(before);
                self.refreeze_when_thawed();
                let slot = &mut self.slots[i];
                slot.entry = entry;
                if identical {
                    // Same bytes: keep serving the held lines; nothing new to store.
                    return;
                }
                let size = rendered.heap_size();
                if let Source::Loose(previous) = &slot.source {
                    self.loose_bytes -= previous.heap_size();
                } else {
                    self.churn += old_size;
                }
                slot.source = Source::Loose(Arc::new(rendered));
                self.loose_bytes += size;
                self.churn += size;
            }
            Err(i) => {
                for f in 0..families {
                    if !rendered.family(f).is_empty() {
                        self.changed.set(f);
                    }
                }
                let size = rendered.heap_size();
                self.members_changed = true;
                self.slots.insert(
                    i,
                    Slot {
                        key,
                        entry,
                        source: Source::Loose(Arc::new(rendered)),
                    },
                );
                self.loose_bytes += size;
                self.churn += size;
            }
        }
    }

    /// Has a packing whose cold runs an update thawed frozen again once the block goes quiet.
    fn refreeze_when_thawed(&self) {
        if self.packed.take_thawed() {
            super::precompress::refreeze_later(&self.packed);
        }
    }

    /// Removes slot `i`.
    pub fn remove(&mut self, i: usize) {
        let slot = self.slots.remove(i);
        self.members_changed = true;
        let lines = slot.source.with(&self.packed);
        for f in 0..self.families {
            if lines.len(f) > 0 {
                self.changed.set(f);
            }
        }
        match &slot.source {
            Source::Loose(r) => self.loose_bytes -= r.heap_size(),
            Source::Packed(_) => self.churn += lines.size(self.families),
        }
    }

    /// The objects with owned sources, in key order (for rebuilding blocks).
    pub fn into_items(self) -> impl Iterator<Item = (ObjectKey, Entry, OwnedSource)> {
        let packed = self.packed;
        self.slots.into_iter().map(move |slot| {
            let source = match slot.source {
                Source::Packed(i) => OwnedSource::Packed(packed.clone(), i),
                Source::Loose(r) => OwnedSource::Loose(r),
            };
            (slot.key, slot.entry, source)
        })
    }

    /// Whether the block has drifted far enough from its packed buffer to repack or split.
    pub fn needs_maintenance(&self) -> bool {
        self.slots.len() > MAX_BLOCK_OBJECTS
            || self.churn * REPACK_DIVISOR > self.packed.len()
            || (self.packed.len() > 2 * BLOCK_BYTES && self.slots.len() > 1)
    }

    /// Repacks (and splits when too large), returning the blocks that replace this one.
    pub fn maintain(self) -> Vec<Block> {
        if self.slots.len() > MAX_BLOCK_OBJECTS || self.packed.len() > 2 * BLOCK_BYTES {
            let mut builder = BlockBuilder::new(self.families);
            for (key, entry, source) in self.into_items() {
                let _ = builder.push(key, entry, source);
            }
            return builder.finish();
        }
        let sources: Vec<SourceRef<'_>> = self.slots.iter().map(|s| s.source.with(&self.packed)).collect();
        let reuse = Reuse {
            packed: &self.packed,
            changed: &self.changed,
            members_changed: self.members_changed,
        };
        let packed = Arc::new(Packed::build(self.families, &sources, Some(reuse)));
        drop(sources);
        let slots = self
            .slots
            .into_iter()
            .enumerate()
            .map(|(i, s)| Slot {
                key: s.key,
                entry: s.entry,
                source: Source::Packed(i as u32),
            })
            .collect();
        vec![Block {
            families: self.families,
            slots,
            packed,
            changed: Bits::new(self.families),
            loose_bytes: 0,
            churn: 0,
            members_changed: false,
        }]
    }
}

/// Cuts a key-ordered stream of objects into packed blocks as it arrives, so the renderings of
/// a large list are folded into blocks (and freed) page by page rather than all at the end.
pub struct BlockBuilder {
    families: usize,
    blocks: Vec<Block>,
    open: Vec<(ObjectKey, Entry, OwnedSource)>,
    open_bytes: usize,
}

impl BlockBuilder {
    /// An empty builder.
    pub fn new(families: usize) -> Self {
        BlockBuilder {
            families,
            blocks: Vec::new(),
            open: Vec::new(),
            open_bytes: 0,
        }
    }

    /// The highest key pushed so far.
    pub fn last_key(&self) -> Option<&ObjectKey> {
        match self.open.last() {
            Some((key, _, _)) => Some(key),
            None => self.blocks.last().and_then(Block::last_key),
        }
    }

    /// Appends an object; keys must arrive in increasing order (the caller checks). Returns the
    /// block this completed, if any.
    pub fn push(&mut self, key: ObjectKey, entry: Entry, source: OwnedSource) -> Option<&Arc<Packed>> {
        self.open_bytes += source.as_ref().size(self.families);
        self.open.push((key, entry, source));
        if self.open.len() >= BLOCK_OBJECTS || self.open_bytes >= BLOCK_BYTES {
            self.seal();
            return self.blocks.last().map(Block::packed);
        }
        None
    }

    fn seal(&mut self) {
        if !self.open.is_empty() {
            let items = std::mem::take(&mut self.open);
            self.blocks.push(Block::pack(self.families, items));
            self.open_bytes = 0;
        }
    }

    /// The blocks, in key order.
    pub fn finish(mut self) -> Vec<Block> {
        self.seal();
        self.blocks
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Uid, Version};

    fn entry(rv: &str) -> Entry {
        Entry {
            uid: Uid::new("u"),
            resource_version: Version::new(rv),
            index: None,
        }
    }

    fn block_of(n: usize) -> Block {
        let items = (0..n)
            .map(|i| {
                let r = Rendered::from_families(&[&format!("a{{i=\"{i}\"}} 1\n"), &format!("b{{i=\"{i}\"}} 1\n")]);
                (
                    ObjectKey::new(Some("ns"), Some(&format!("p{i:03}"))),
                    entry("1"),
                    OwnedSource::Loose(Arc::new(r)),
                )
            })
            .collect();
        Block::pack(2, items)
    }

    #[test]
    fn packed_runs_are_family_major_and_objects_addressable() {
        let block = block_of(3);
        let p = block.packed();
        assert_eq!(&p.run(0)[..], b"a{i=\"0\"} 1\na{i=\"1\"} 1\na{i=\"2\"} 1\n".as_slice());
        assert_eq!(&p.run(1)[p.object(1, 2)], b"b{i=\"2\"} 1\n".as_slice());
        assert!(!block.changed().any());
    }

    #[test]
    fn an_update_marks_only_the_families_whose_bytes_changed() {
        let mut block = block_of(3);
        let key = ObjectKey::new(Some("ns"), Some("p001"));
        let pos = block.find(&key);
        // Same bytes, newer version: nothing changes and nothing loose is held.
        block.upsert(
            pos,
            key.clone(),
            entry("2"),
            Rendered::from_families(&["a{i=\"1\"} 1\n", "b{i=\"1\"} 1\n"]),
        );
        assert!(!block.changed().any());
        assert_eq!(block.loose_bytes, 0);
        assert_eq!(block.slots()[1].entry.resource_version.to_string(), "2");
        block.upsert(
            pos,
            key,
            entry("3"),
            Rendered::from_families(&["a{i=\"1\"} 1\n", "b{i=\"1\"} 2\n"]),
        );
        assert!(!block.changed().get(0));
        assert!(block.changed().get(1));
    }

    #[test]
    fn a_repack_keeps_the_gzip_fragments_of_unchanged_families() {
        let mut block = block_of(8);
        let mut writer = MemberWriter::default();
        let lines_only = block.packed().heap_size();
        let a = block.packed().gzip_fragment(0, &mut writer).unwrap();
        assert_eq!(
            block.packed().heap_size(),
            lines_only + a.heap_size(),
            "fragments count as held bytes"
        );
        let a = a.deflate();
        let b = block.packed().gzip_fragment(1, &mut writer).unwrap().deflate();
        let key = ObjectKey::new(Some("ns"), Some("p003"));
        let pos = block.find(&key);
        block.upsert(
            pos,
            key,
            entry("2"),
            Rendered::from_families(&["a{i=\"3\"} 1\n", "b{i=\"3\"} 9\n"]),
        );
        let mut repacked = block.maintain();
        assert_eq!(repacked.len(), 1);
        let block = repacked.remove(0);
        assert!(!block.changed().any());
        let a2 = block.packed().gzip_fragment(0, &mut writer).unwrap().deflate();
        assert_eq!(a2.as_ptr(), a.as_ptr());
        let b2 = block.packed().gzip_fragment(1, &mut writer).unwrap().deflate();
        // A fragment has no final block; an empty one (0x03 0x00) closes it for decoding alone.
        assert_ne!(b2.as_ptr(), b.as_ptr());
        let mut text = String::new();
        std::io::Read::read_to_string(
            &mut flate2::read::DeflateDecoder::new(&[&b2[..], &[3, 0]].concat()[..]),
            &mut text,
        )
        .unwrap();
        assert!(text.contains("b{i=\"3\"} 9\n"), "{text}");
    }

    #[test]
    fn a_frozen_block_serves_updates_and_repacks_from_its_fragments() {
        let mut block = block_of(8);
        let mut writer = MemberWriter::default();
        let hot = block.packed().heap_size();
        block.packed().compress_all(&mut writer);
        let compressed = block.packed().heap_size();
        let freed = block.packed().freeze();
        assert!(block.packed().is_frozen());
        assert_eq!(freed, block.packed().len());
        assert_eq!(
            block.packed().heap_size(),
            compressed - freed,
            "only fragments and offsets stay"
        );
        assert!(block.packed().heap_size() < hot);
        // A scrape decodes a cold run without thawing it.
        let expected_a: String = (0..8).map(|i| format!("a{{i=\"{i}\"}} 1\n")).collect();
        assert!(matches!(block.packed().run_lines(0), Some(RunLines::Cold(_))));
        assert_eq!(&block.packed().run(0)[..], expected_a.as_bytes());
        assert!(block.packed().is_frozen());
        // An update reads the old lines: the unchanged bytes are recognised, the runs thawed.
        let key = ObjectKey::new(Some("ns"), Some("p005"));
        let pos = block.find(&key);
        block.upsert(
            pos,
            key,
            entry("2"),
            Rendered::from_families(&["a{i=\"5\"} 1\n", "b{i=\"5\"} 7\n"]),
        );
        assert!(!block.changed().get(0));
        assert!(block.changed().get(1));
        assert!(!block.packed().is_frozen());
        let block = block.maintain().remove(0);
        let expected_b: String = (0..8)
            .map(|i| format!("b{{i=\"{i}\"}} {}\n", if i == 5 { 7 } else { 1 }))
            .collect();
        assert_eq!(&block.packed().run(0)[..], expected_a.as_bytes());
        assert_eq!(&block.packed().run(1)[..], expected_b.as_bytes());
        // A deletion from a cold block needs only the offsets.
        block.packed().compress_all(&mut writer);
        block.packed().freeze();
        let mut block = block;
        block.remove(0);
        assert!(block.packed().is_frozen());
        assert!(block.changed().get(0) && block.changed().get(1));
    }

    #[test]
    fn churn_triggers_a_repack_and_growth_a_split() {
        let mut block = block_of(8);
        let key = ObjectKey::new(Some("ns"), Some("p000"));
        let pos = block.find(&key);
        block.upsert(pos, key, entry("2"), Rendered::from_families(&["a{i=\"0\"} 2\n", ""]));
        assert!(!block.needs_maintenance(), "one small change of eight objects");
        for i in 1..4 {
            let key = ObjectKey::new(Some("ns"), Some(&format!("p{i:03}")));
            let pos = block.find(&key);
            block.upsert(pos, key, entry("2"), Rendered::from_families(&["a 2\n", ""]));
        }
        assert!(block.needs_maintenance());
        let mut big = block_of(MAX_BLOCK_OBJECTS);
        let key = ObjectKey::new(Some("ns"), Some("zz"));
        let pos = big.find(&key);
        big.upsert(pos, key, entry("1"), Rendered::from_families(&["a 1\n", ""]));
        assert!(big.needs_maintenance());
        let parts = big.maintain();
        assert_eq!(
            parts.len(),
            3,
            "{} objects cut into blocks of {BLOCK_OBJECTS}",
            MAX_BLOCK_OBJECTS + 1
        );
        assert_eq!(
            parts.iter().map(|b| b.slots().len()).sum::<usize>(),
            MAX_BLOCK_OBJECTS + 1
        );
    }
}
