//! Background compression of new runs (their deflate fragments for gzip scrapes).
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
//! [`MAX_QUEUED`] blocks new work is dropped, which is safe: a scrape compresses what it needs.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use super::block::Packed;
use super::gzip::MemberWriter;

/// Blocks waiting at most: far above a relist of every kind at 100k pods (~1 800 blocks), and at
/// 16 bytes of weak pointer each, a bound of a few MiB.
pub const MAX_QUEUED: usize = 200_000;

/// Sends batches of blocks to the compression thread.
type Queue = Mutex<Sender<Vec<Weak<Packed>>>>;

/// `None` when the thread could not be started (scrapes then compress as before).
static QUEUE: OnceLock<Option<Queue>> = OnceLock::new();

static QUEUED: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static DROPPED: AtomicU64 = AtomicU64::new(0);
static SKIPPED: AtomicU64 = AtomicU64::new(0);

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
}

/// The queue's counters.
pub fn stats() -> QueueStats {
    QueueStats {
        queued: QUEUED.load(Ordering::Relaxed),
        peak: PEAK.load(Ordering::Relaxed),
        dropped: DROPPED.load(Ordering::Relaxed),
        skipped: SKIPPED.load(Ordering::Relaxed),
    }
}

fn start() -> Option<Queue> {
    let (tx, rx) = channel::<Vec<Weak<Packed>>>();
    let spawned = std::thread::Builder::new()
        .name("gzip-precompress".into())
        .spawn(move || {
            let mut writer = MemberWriter::default();
            for batch in rx {
                for packed in batch {
                    match packed.upgrade() {
                        Some(packed) => packed.compress_all(&mut writer),
                        None => {
                            SKIPPED.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    QUEUED.fetch_sub(1, Ordering::Relaxed);
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

/// Queues freshly packed blocks for compression.
pub fn enqueue<'a>(blocks: impl IntoIterator<Item = &'a Arc<Packed>>) {
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
    if tx.send(weak).is_err() {
        QUEUED.fetch_sub(n, Ordering::Relaxed);
    }
}
