//! Scrape bodies produced off the async workers: the chunk iterator (snapshot writing, gzip)
//! runs on a blocking-pool thread and hands chunks to the connection through a bounded queue,
//! so compressing a large scrape never delays the watchers, and a client that stops reading
//! stops production after [`BODY_QUEUE_CHUNKS`] chunks instead of buffering its whole body.

use std::any::Any;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::Frame;
use tokio::sync::mpsc;

/// Chunks queued between the producing thread and the connection. With hyper's own buffer
/// (two chunks) this keeps the socket busy while the next chunk is made.
pub const BODY_QUEUE_CHUNKS: usize = 4;

/// A response body fed by `chunks` running on the blocking pool. `hold` lives as long as the
/// body (a scrape permit, a timer recording the scrape when the body is done or abandoned).
pub fn produced<I>(chunks: I, hold: Box<dyn Any + Send>) -> ProducedBody
where
    I: Iterator<Item = Bytes> + Send + 'static,
{
    let (tx, rx) = mpsc::channel(BODY_QUEUE_CHUNKS);
    tokio::task::spawn_blocking(move || {
        for chunk in chunks {
            // Waits while the queue is full; fails once the body is dropped (client gone,
            // deadline passed), which ends production and releases the snapshot.
            if tx.blocking_send(chunk).is_err() {
                return;
            }
        }
    });
    ProducedBody { rx, _hold: hold }
}

/// The receiving end of [`produced`].
pub struct ProducedBody {
    rx: mpsc::Receiver<Bytes>,
    _hold: Box<dyn Any + Send>,
}

impl http_body::Body for ProducedBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.rx.poll_recv(cx).map(|chunk| chunk.map(|c| Ok(Frame::data(c))))
    }
}
