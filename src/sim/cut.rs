//! Broken response bodies: a list page that stops half-way, either for good (the connection is
//! reset) or for a while (a stalled server or proxy), and the marker that makes a watch stream end
//! with an error in the middle of an event line. Used by the body faults of [`super::Faults`].

use std::io;
use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use futures::StreamExt;

/// What happens to the next list response of a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListBodyFault {
    /// Half of the first chunk, then the connection is reset.
    Reset,
    /// Half of the first chunk, then nothing for this long, then the rest.
    Stall(Duration),
}

/// Sent on a watch's channel after a partial line: the stream ends with a connection error there.
/// Never a real chunk (event batches are never empty).
pub const CUT_HERE: Bytes = Bytes::new();

/// The error a cut watch stream or a reset list body ends with.
pub fn connection_reset() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionReset,
        "connection reset by the simulated fault",
    )
}

/// A watch body from its channel's chunks; [`CUT_HERE`] ends it with an error.
pub fn watch_chunk(chunk: Bytes) -> Result<Bytes, io::Error> {
    if chunk.is_empty() {
        Err(connection_reset())
    } else {
        Ok(chunk)
    }
}

/// Where a broken list body is.
enum Stage {
    First,
    ThenFail,
    ThenStall(Duration, Bytes),
    Rest,
    Done,
}

/// `response` (a list answer) with `fault` applied to its body; status and headers unchanged
/// (a stalled body keeps its length, a reset one is cut short of it).
pub fn break_list_body(response: Response, fault: ListBodyFault) -> Response {
    let (parts, body) = response.into_parts();
    let chunks = body.into_data_stream();
    let stream = futures::stream::unfold((chunks, Stage::First), move |(mut chunks, stage)| async move {
        let (item, next) = match stage {
            Stage::Done => return None,
            Stage::ThenFail => (Err(connection_reset()), Stage::Done),
            Stage::ThenStall(d, rest) => {
                tokio::time::sleep(d).await;
                (Ok(rest), Stage::Rest)
            }
            Stage::Rest => match chunks.next().await? {
                Ok(chunk) => (Ok(chunk), Stage::Rest),
                Err(e) => (Err(io::Error::other(e)), Stage::Done),
            },
            Stage::First => {
                let chunk = match chunks.next().await? {
                    Ok(chunk) => chunk,
                    Err(e) => return Some((Err(io::Error::other(e)), (chunks, Stage::Done))),
                };
                let half = chunk.len() / 2;
                let next = match fault {
                    ListBodyFault::Reset => Stage::ThenFail,
                    ListBodyFault::Stall(d) => Stage::ThenStall(d, chunk.slice(half..)),
                };
                (Ok(chunk.slice(..half)), next)
            }
        };
        Some((item, (chunks, next)))
    });
    Response::from_parts(parts, Body::from_stream(stream))
}
