//! Background compression of new runs (their deflate fragments for gzip scrapes).
//!
//! Without it, the first gzip scrape after a list or relist compresses the whole body while
//! Prometheus waits (3 s at 100k pods on one core, growing with the cluster toward the 10 s
//! scrape timeout). Freshly packed blocks are queued here and one low-key thread compresses
//! their runs; a scrape that gets there first compresses a run itself, and both share the result
//! through the run's `OnceLock`, so no run is compressed twice.

use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex, OnceLock};

use super::block::Packed;
use super::gzip::MemberWriter;

/// Sends batches of blocks to the compression thread.
type Queue = Mutex<Sender<Vec<Arc<Packed>>>>;

/// `None` when the thread could not be started (scrapes then compress as before).
static QUEUE: OnceLock<Option<Queue>> = OnceLock::new();

fn start() -> Option<Queue> {
    let (tx, rx) = channel::<Vec<Arc<Packed>>>();
    let spawned = std::thread::Builder::new()
        .name("gzip-precompress".into())
        .spawn(move || {
            let mut writer = MemberWriter::default();
            for batch in rx {
                for packed in batch {
                    // Only this queue holds it: the block was replaced before its turn came.
                    if Arc::strong_count(&packed) > 1 {
                        packed.compress_all(&mut writer);
                    }
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
pub fn enqueue(batch: Vec<Arc<Packed>>) {
    if batch.is_empty() {
        return;
    }
    if let Some(queue) = QUEUE.get_or_init(start) {
        // The receiver lives as long as the process; a poisoned lock only means another sender
        // panicked between two sends, which leaves the channel intact.
        let tx = queue.lock().unwrap_or_else(|e| e.into_inner());
        let _ = tx.send(batch);
    }
}
