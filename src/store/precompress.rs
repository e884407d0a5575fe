//! Background compression of new runs (their deflate fragments for gzip scrapes), and
//! freezing: once a run is compressed its lines are dropped and the fragment is all the
//! store keeps (a plain scrape decodes it on the fly), which is what holds the cache near the
//! size of the gzip body rather than the plain one.
//!
//! Without it, the first gzip scrape after a list or relist compresses the whole body while
//! Prometheus waits (3 s at 100k pods on one core, growing with the cluster toward the 10 s
//! scrape timeout). Freshly packed blocks are queued here and one low-key thread compresses
//! their runs; a scrape that gets there first compresses a run itself, and both share the result
//! through the run's `OnceLock`, so no run is compressed twice.
//!
//! The queue holds weak references: a block replaced before its turn (heavy churn repacks
//! blocks faster than one thread compresses them) is freed by the store at once instead of
//! waiting in the queue, so the queue costs a pointer per block whatever the churn. Past
//! [`MAX_QUEUED`] blocks new work is dropped, which is safe: a scrape compresses what it needs
//! (those blocks then stay hot).
//!
//! An update to a cold block thaws the runs it reads (an update compares the object's old lines
//! and a repack copies them), and the block registers here: [`REFREEZE_AFTER`] later it is
//! frozen again, so a block that keeps changing is decoded once per period, not once per
//! update, and one that went quiet does not stay hot.
//!
//! Hot lines are counted ([`hot_bytes`]) and bounded ([`set_hot_budget`]): churn spread over
//! many blocks (a real cluster's pods and leases change everywhere) would otherwise keep most
//! blocks thawed and the cache back at the size of the plain body. Past the budget the blocks
//! thawed longest ago are frozen at once, so memory stays bounded and sustained churn costs CPU
//! (a block decoded again by its next update) instead.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use super::block::Packed;
use super::gzip::MemberWriter;

/// Blocks waiting at most: far above a relist of every kind at 100k pods (~1 800 blocks), and at
/// 16 bytes of weak pointer each, a bound of a few MiB.
pub const MAX_QUEUED: usize = 200_000;

/// How long a thawed block stays hot before it is frozen again.
#[cfg(not(test))]
pub const REFREEZE_AFTER: Duration = Duration::from_secs(10);
/// In unit tests a thawed block is only frozen again by the hot-lines budget, so a test can
/// tell the two apart without timing anything.
#[cfg(test)]
pub const REFREEZE_AFTER: Duration = Duration::from_secs(3600);

/// Freed bytes after which the allocator is asked to return free pages to the system.
const TRIM_AFTER_BYTES: usize = 32 << 20;

/// What the compression thread is sent.
enum Work {
    /// Freshly packed blocks: compress, then freeze now or after [`REFREEZE_AFTER`].
    Compress(Vec<Weak<Packed>>, Freeze),
    /// A block an update thawed: freeze again after [`REFREEZE_AFTER`].
    Refreeze(Weak<Packed>),
}

/// Sends work to the compression thread.
type Queue = Mutex<Sender<Work>>;

/// `None` when the thread could not be started (scrapes then compress as before).
static QUEUE: OnceLock<Option<Queue>> = OnceLock::new();

static QUEUED: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static DROPPED: AtomicU64 = AtomicU64::new(0);
static SKIPPED: AtomicU64 = AtomicU64::new(0);
/// Whether compressed runs drop their lines (`--cache-plain-lines` turns it off).
static FREEZE: AtomicBool = AtomicBool::new(true);
/// Bytes of lines held by hot runs (packed and not frozen yet, or thawed).
static HOT: AtomicUsize = AtomicUsize::new(0);
/// Hot bytes past which thawed blocks are frozen before their time.
static HOT_BUDGET: AtomicUsize = AtomicUsize::new(DEFAULT_HOT_BUDGET);
/// Thawed blocks frozen before [`REFREEZE_AFTER`] because the budget was reached.
static EARLY: AtomicU64 = AtomicU64::new(0);

/// Default of [`set_hot_budget`] (`--max-hot-lines-mib`).
pub const DEFAULT_HOT_BUDGET: usize = 64 << 20;

/// Bounds the lines thawed blocks keep hot; past it the oldest are frozen at once.
pub fn set_hot_budget(bytes: usize) {
    HOT_BUDGET.store(bytes, Ordering::Relaxed);
}

/// Bytes of lines held by hot runs now.
pub fn hot_bytes() -> usize {
    HOT.load(Ordering::Relaxed)
}

/// Records a run's lines becoming hot (`true`) or being dropped (`false`).
pub(super) fn count_hot(len: usize, hot: bool) {
    if hot {
        HOT.fetch_add(len, Ordering::Relaxed);
    } else {
        HOT.fetch_sub(len, Ordering::Relaxed);
    }
}

fn over_budget() -> bool {
    HOT.load(Ordering::Relaxed) > HOT_BUDGET.load(Ordering::Relaxed)
}

/// Whether compressed runs are frozen (their lines dropped); on by default.
pub fn set_freeze(on: bool) {
    FREEZE.store(on, Ordering::Relaxed);
}

/// What the background compression has seen, for telemetry and `bench`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Blocks waiting now.
    pub queued: usize,
    /// Most blocks ever waiting at once.
    pub peak: usize,
    /// Blocks not queued because the queue was full.
    pub dropped: u64,
    /// Queued blocks that were replaced (and freed) before their turn.
    pub skipped: u64,
    /// Bytes of lines held by hot runs.
    pub hot_bytes: usize,
    /// Thawed blocks frozen early because hot lines reached the budget.
    pub early_freezes: u64,
}

/// The queue's counters.
pub fn stats() -> QueueStats {
    QueueStats {
        queued: QUEUED.load(Ordering::Relaxed),
        peak: PEAK.load(Ordering::Relaxed),
        dropped: DROPPED.load(Ordering::Relaxed),
        skipped: SKIPPED.load(Ordering::Relaxed),
        hot_bytes: hot_bytes(),
        early_freezes: EARLY.load(Ordering::Relaxed),
    }
}

fn start() -> Option<Queue> {
    let (tx, rx) = channel::<Work>();
    let spawned = std::thread::Builder::new()
        .name("gzip-precompress".into())
        .spawn(move || {
            let mut writer = MemberWriter::default();
            let mut thawed: VecDeque<(Instant, Weak<Packed>)> = VecDeque::new();
            let mut freed = 0;
            loop {
                let wait = thawed.front().map_or(Duration::from_secs(3600), |(due, _)| {
                    due.saturating_duration_since(Instant::now())
                });
                match rx.recv_timeout(wait) {
                    Ok(Work::Compress(batch, freeze)) => {
                        for weak in batch {
                            match weak.upgrade() {
                                Some(packed) => {
                                    packed.compress_all(&mut writer);
                                    match freeze {
                                        _ if !FREEZE.load(Ordering::Relaxed) => {}
                                        Freeze::Now => freed += packed.freeze(),
                                        Freeze::Later => thawed.push_back((Instant::now() + REFREEZE_AFTER, weak)),
                                    }
                                }
                                None => {
                                    SKIPPED.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                            QUEUED.fetch_sub(1, Ordering::Relaxed);
                        }
                    }
                    Ok(Work::Refreeze(packed)) => thawed.push_back((Instant::now() + REFREEZE_AFTER, packed)),
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => return,
                }
                while let Some((due, _)) = thawed.front()
                    && *due <= Instant::now()
                {
                    if let Some((_, packed)) = thawed.pop_front()
                        && let Some(packed) = packed.upgrade()
                    {
                        freed += packed.freeze();
                    }
                }
                while over_budget()
                    && let Some((_, packed)) = thawed.pop_front()
                {
                    if let Some(packed) = packed.upgrade() {
                        let bytes = packed.freeze();
                        if bytes > 0 {
                            EARLY.fetch_add(1, Ordering::Relaxed);
                        }
                        freed += bytes;
                    }
                }
                // Freed runs leave holes between the fragments that stay; glibc keeps those pages
                // until asked. Once the queue is drained, so a sync trims once per burst.
                if freed >= TRIM_AFTER_BYTES && QUEUED.load(Ordering::Relaxed) == 0 {
                    release_free_pages();
                    freed = 0;
                }
            }
        });
    match spawned {
        Ok(_) => Some(Mutex::new(tx)),
        Err(e) => {
            tracing::warn!(error = %e, "cannot start the gzip precompression thread; the first gzip scrape will compress");
            None
        }
    }
}

/// Returns the allocator's free pages to the system.
fn release_free_pages() {
    #[cfg(all(target_os = "linux", target_env = "gnu", not(feature = "mimalloc")))]
    // SAFETY: malloc_trim only walks glibc's own free lists; it takes no pointers.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Has a block an update thawed frozen again after [`REFREEZE_AFTER`].
pub fn refreeze_later(packed: &Arc<Packed>) {
    if !FREEZE.load(Ordering::Relaxed) {
        return;
    }
    if let Some(queue) = QUEUE.get_or_init(start) {
        let tx = queue.lock().unwrap_or_else(|e| e.into_inner());
        let _ = tx.send(Work::Refreeze(Arc::downgrade(packed)));
    }
}

/// When compressed blocks drop their lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freeze {
    /// Right after compression: listed blocks, which nothing is about to update.
    Now,
    /// [`REFREEZE_AFTER`] later: repacked blocks, which are changing (freezing them at once
    /// would decode them again at the next update).
    Later,
}

/// Queues freshly packed blocks for compression.
pub fn enqueue<'a>(blocks: impl IntoIterator<Item = &'a Arc<Packed>>, freeze: Freeze) {
    let weak: Vec<Weak<Packed>> = blocks.into_iter().map(Arc::downgrade).collect();
    if weak.is_empty() {
        return;
    }
    let Some(queue) = QUEUE.get_or_init(start) else {
        return;
    };
    let n = weak.len();
    let queued = QUEUED.fetch_add(n, Ordering::Relaxed) + n;
    if queued > MAX_QUEUED {
        QUEUED.fetch_sub(n, Ordering::Relaxed);
        DROPPED.fetch_add(n as u64, Ordering::Relaxed);
        return;
    }
    PEAK.fetch_max(queued, Ordering::Relaxed);
    // The receiver lives as long as the process; a poisoned lock only means another sender
    // panicked between two sends, which leaves the channel intact.
    let tx = queue.lock().unwrap_or_else(|e| e.into_inner());
    if tx.send(Work::Compress(weak, freeze)).is_err() {
        QUEUED.fetch_sub(n, Ordering::Relaxed);
    }
}
