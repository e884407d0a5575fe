//! Bounds on every API call, so a server that accepts connections and never answers, or stops
//! halfway through a list, costs one `--api-timeout` and an error on `/readyz` instead of a
//! watcher stuck forever; and the faults kube absorbs without telling the watcher (throttled
//! answers it retries, watch connections cut mid-stream that it resumes), counted.
//!
//! Invariant: no list or watch request waits longer than the timeout for its response to
//! start, and no list body waits longer than it for its next bytes. Watch bodies are exempt: a
//! quiet watch is silent for minutes, and kube's watcher bounds those itself (its idle timeout
//! past the server's `timeoutSeconds`).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::Frame;
use kube::client::retry::RetryPolicy;
use kube::client::{Body, DynBody};
use tower::retry::Policy;
use tower::{BoxError, Layer, Service};

use super::{LayerState, ResponseFuture};
use crate::telemetry::Telemetry;

/// Layer that bounds each attempt of a request by the API timeout (see the module docs).
#[derive(Clone)]
pub(super) struct AttemptTimeout {
    pub(super) limit: Duration,
}

impl<S> Layer<S> for AttemptTimeout {
    type Service = AttemptTimeoutService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        AttemptTimeoutService {
            inner,
            limit: self.limit,
        }
    }
}

#[derive(Clone)]
pub(super) struct AttemptTimeoutService<S> {
    inner: S,
    limit: Duration,
}

impl<S> Service<http::Request<Body>> for AttemptTimeoutService<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Box<DynBody>>, Error = BoxError>,
    S::Future: Send + 'static,
{
    type Response = http::Response<Box<DynBody>>;
    type Error = BoxError;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let limit = self.limit;
        let guard_body = request.method() == http::Method::GET && !super::is_watch(&request);
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = tokio::time::timeout(limit, response)
                .await
                .map_err(|_| timeout_error(format!("no answer from the API server within {limit:?}")))??;
            Ok(if guard_body {
                response.map(|body| Box::new(IdleGuard::new(body, limit)) as Box<DynBody>)
            } else {
                response
            })
        })
    }
}

fn timeout_error(message: String) -> BoxError {
    Box::new(std::io::Error::new(std::io::ErrorKind::TimedOut, message))
}

/// A response body that fails when no bytes arrive for `limit`.
struct IdleGuard {
    inner: Box<DynBody>,
    limit: Duration,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl IdleGuard {
    fn new(inner: Box<DynBody>, limit: Duration) -> IdleGuard {
        IdleGuard {
            inner,
            limit,
            deadline: Box::pin(tokio::time::sleep(limit)),
        }
    }
}

impl http_body::Body for IdleGuard {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                let next = tokio::time::Instant::now() + self.limit;
                self.deadline.as_mut().reset(next);
                Poll::Ready(frame)
            }
            Poll::Pending => match self.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    let limit = self.limit;
                    Poll::Ready(Some(Err(timeout_error(format!(
                        "the API server stopped sending a list response for {limit:?}"
                    )))))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// kube's retry of 429/503/504 answers (honouring `Retry-After`), each retried answer counted
/// in `kube_state_exporter_watch_errors_total` (reason `throttled` or `server_error`): the
/// watcher never sees an error that a retry absorbed, and throttling must still show.
#[derive(Clone)]
pub(super) struct CountedRetry {
    policy: RetryPolicy,
    state: Arc<LayerState>,
}

impl CountedRetry {
    pub(super) fn new(state: Arc<LayerState>) -> CountedRetry {
        CountedRetry {
            policy: RetryPolicy::server_retry(),
            state,
        }
    }
}

impl<Res> Policy<http::Request<Body>, http::Response<Res>, BoxError> for CountedRetry {
    type Future = tokio::time::Sleep;

    fn retry(
        &mut self,
        request: &mut http::Request<Body>,
        result: &mut Result<http::Response<Res>, BoxError>,
    ) -> Option<Self::Future> {
        let status = result.as_ref().ok().map(http::Response::status);
        let wait = self.policy.retry(request, result)?;
        if let Some(status) = status
            && let Some((resource, _)) = self.state.classify(request.uri().path())
        {
            let reason = if status == http::StatusCode::TOO_MANY_REQUESTS {
                "throttled"
            } else {
                "server_error"
            };
            self.state
                .telemetry
                .watch_errors
                .with_label_values(&[resource, reason])
                .inc();
            tracing::debug!(resource, %status, "API server answer retried by the client");
        }
        Some(wait)
    }

    fn clone_request(&mut self, request: &http::Request<Body>) -> Option<http::Request<Body>> {
        Policy::<_, http::Response<Res>, BoxError>::clone_request(&mut self.policy, request)
    }
}

/// A watch body that counts its own failure: kube's client turns an error in the middle of a
/// watch stream (a connection cut mid-event) into a quiet end of the stream and resumes from
/// the last whole event, so the watcher never sees it. Counted here as `transport` (or
/// `timeout`) for the kind, with one INFO line: it heals by itself, and a server that stays
/// down is reported by the watch loop's own reconnect errors.
pub(super) struct CountedCut {
    inner: Box<DynBody>,
    resource: &'static str,
    telemetry: Arc<Telemetry>,
}

impl CountedCut {
    pub(super) fn new(inner: Box<DynBody>, resource: &'static str, telemetry: Arc<Telemetry>) -> CountedCut {
        CountedCut {
            inner,
            resource,
            telemetry,
        }
    }
}

impl http_body::Body for CountedCut {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Err(error))) = &polled {
            let reason = if timed_out(error.as_ref()) {
                "timeout"
            } else {
                "transport"
            };
            self.telemetry
                .watch_errors
                .with_label_values(&[self.resource, reason])
                .inc();
            tracing::info!(
                resource = self.resource,
                error = %error,
                "watch connection broke mid-stream; resuming from the last whole event"
            );
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Whether an error or one of its sources is a timeout (the client's own or the socket's).
pub fn timed_out(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(e) = current {
        if e.is::<tokio::time::error::Elapsed>()
            || e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return true;
        }
        current = e.source();
    }
    false
}
