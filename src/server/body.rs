//! Scrape bodies produced off the async workers: the chunk iterator (snapshot writing, gzip)
//! runs on a blocking-pool thread and hands chunks to the connection through a bounded queue,
//! so compressing a large scrape never delays the watchers, and a client that stops reading
//! stops production after [`BODY_QUEUE_CHUNKS`] chunks instead of buffering its whole body.
//!
//! A body may also be a sequence of segments written by several threads at once (a plain scrape
//! decodes its cold runs on every core): segment `i` is written by producer `i % n`, each
//! producer has its own bounded queue, and the connection reads the queues in segment order, so
//! the bytes are the same as one producer's and memory stays bounded per producer.

use std::any::Any;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::Frame;
use tokio::sync::mpsc;

/// Chunks queued between a producing thread and the connection. With hyper's own buffer
/// (two chunks) this keeps the socket busy while the next chunk is made.
pub const BODY_QUEUE_CHUNKS: usize = 4;

/// What a producer sends: a chunk, or the end of one of its segments.
enum Piece {
    Chunk(Bytes),
    SegmentEnd,
}

/// A response body fed by `chunks` running on the blocking pool. `hold` lives as long as the
/// body (a scrape permit, a timer recording the scrape when the body is done or abandoned).
pub fn produced<I>(chunks: I, hold: Box<dyn Any + Send>) -> ProducedBody
where
    I: Iterator<Item = Bytes> + Send + 'static,
{
    produced_in_segments(vec![chunks], 1, hold)
}

/// A response body made of `segments` in order, written by up to `producers` blocking-pool
/// threads at once.
pub fn produced_in_segments<I>(segments: Vec<I>, producers: usize, hold: Box<dyn Any + Send>) -> ProducedBody
where
    I: Iterator<Item = Bytes> + Send + 'static,
{
    let total = segments.len();
    let producers = producers.clamp(1, total.max(1));
    let mut shares: Vec<Vec<I>> = (0..producers).map(|_| Vec::new()).collect();
    for (i, segment) in segments.into_iter().enumerate() {
        shares[i % producers].push(segment);
    }
    let rxs = shares
        .into_iter()
        .map(|share| {
            let (tx, rx) = mpsc::channel(BODY_QUEUE_CHUNKS);
            tokio::task::spawn_blocking(move || {
                for segment in share {
                    for chunk in segment {
                        // Waits while the queue is full; fails once the body is dropped (client
                        // gone, deadline passed), which ends production and releases the snapshot.
                        if tx.blocking_send(Piece::Chunk(chunk)).is_err() {
                            return;
                        }
                    }
                    if tx.blocking_send(Piece::SegmentEnd).is_err() {
                        return;
                    }
                }
            });
            rx
        })
        .collect();
    ProducedBody {
        rxs,
        segment: 0,
        total,
        _hold: hold,
    }
}

/// The receiving end of [`produced`] and [`produced_in_segments`].
pub struct ProducedBody {
    /// One queue per producer; segment `i` arrives on queue `i % rxs.len()`.
    rxs: Vec<mpsc::Receiver<Piece>>,
    /// The segment being read.
    segment: usize,
    total: usize,
    _hold: Box<dyn Any + Send>,
}

impl http_body::Body for ProducedBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        loop {
            if self.segment >= self.total {
                return Poll::Ready(None);
            }
            let at = self.segment % self.rxs.len();
            match self.rxs[at].poll_recv(cx) {
                Poll::Ready(Some(Piece::Chunk(chunk))) => return Poll::Ready(Some(Ok(Frame::data(chunk)))),
                Poll::Ready(Some(Piece::SegmentEnd)) => self.segment += 1,
                // A producer stopped before ending its segment (it panicked): fail the body, so
                // the client sees a broken response rather than a silently truncated one.
                Poll::Ready(None) => {
                    self.segment = self.total;
                    return Poll::Ready(Some(Err(std::io::Error::other(
                        "the scrape body's producer stopped before its end",
                    ))));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn segment(i: usize, chunks: usize) -> std::vec::IntoIter<Bytes> {
        (0..chunks)
            .map(|c| Bytes::from(format!("s{i}c{c};")))
            .collect::<Vec<_>>()
            .into_iter()
    }

    #[tokio::test]
    async fn segments_from_several_producers_arrive_in_order() {
        // Uneven segments (some empty, some longer than a queue) from three producers.
        let segments: Vec<_> = (0..10).map(|i| segment(i, (i * 7) % 11)).collect();
        let expected: String = (0..10)
            .flat_map(|i| (0..(i * 7) % 11).map(move |c| format!("s{i}c{c};")))
            .collect();
        let body = produced_in_segments(segments, 3, Box::new(()));
        let bytes = body.collect().await.unwrap().to_bytes();
        assert_eq!(std::str::from_utf8(&bytes).unwrap(), expected);
    }

    #[tokio::test]
    async fn a_producer_that_dies_fails_the_body() {
        let dying = segment(1, 2).chain(std::iter::from_fn(|| panic!("generator bug")));
        let segments: Vec<Box<dyn Iterator<Item = Bytes> + Send>> = vec![Box::new(segment(0, 2)), Box::new(dying)];
        let body = produced_in_segments(segments, 2, Box::new(()));
        let err = body.collect().await.unwrap_err();
        assert!(err.to_string().contains("stopped before its end"), "{err}");
    }
}
