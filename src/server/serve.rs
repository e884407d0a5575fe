//! The listeners' own accept loop on hyper: per-connection deadlines (KSM's `--server-*`
//! timeouts with Go's `net/http` meanings), TLS, basic auth, extra headers and the rate limit
//! from the web config, and graceful shutdown.
//!
//! Each connection has one deadline at a time, enforced by its task (the socket is closed when
//! it passes), following the phase the connection is in:
//! - waiting for a request head (from accept, TLS handshake included, or from the first byte
//!   of a keep-alive request): `--server-read-header-timeout` (and `--server-read-timeout`);
//! - serving: from the request head to the last byte of the response handed to the socket,
//!   `--server-write-timeout`, so a client that stops reading is cut and frees its scrape;
//! - idle between keep-alive requests: `--server-idle-timeout`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header};
use base64::Engine;
use bytes::Bytes;
use hyper::body::Incoming;
use hyper::service::Service;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::ServerOptions;
use super::tls::TlsReloader;
use super::web_config::{RateLimit, WebConfig};

/// hyper's per-connection buffer limit: the request head must fit, and the response bytes
/// hyper queues before it stops pulling the body. hyper's default (~400 KiB) would let each
/// stalled scrape hold that much more; two chunks keep the pipe full.
const HTTP_BUFFER: usize = 2 * super::CHUNK_SIZE;

/// Distinct credentials whose bcrypt result is remembered (as the toolkit does).
const AUTH_CACHE_ENTRIES: usize = 100;

/// Serves `router` on `listener` until `shutdown` resolves, then stops accepting (new
/// connections are refused), lets requests in flight finish for up to the options' grace
/// period, and closes what is left.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    options: &ServerOptions,
    shutdown: impl Future<Output = ()> + Send,
) -> io::Result<()> {
    let shared = Arc::new(Listener::new(router, options));
    let (drain, draining) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    // Scrape bodies end with a short chunk; Nagle would hold it back.
                    let _ = stream.set_nodelay(true);
                    connections.spawn(connection(stream, peer, shared.clone(), draining.clone()));
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let _ = drain.send(true);
    let grace = options.shutdown_grace_period;
    let drained = tokio::time::timeout(grace, async { while connections.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(
            connections = connections.len(),
            grace = ?grace,
            "shutdown grace period over; closing connections still serving"
        );
        connections.abort_all();
        while connections.join_next().await.is_some() {}
    }
    Ok(())
}

/// What every connection of one listener shares.
struct Listener {
    service: TowerToHyperService<Router>,
    timeouts: Deadlines,
    tls: Option<Arc<TlsReloader>>,
    web: Option<Arc<WebConfig>>,
    auth: Option<BasicAuth>,
    rate: Option<Mutex<TokenBucket>>,
}

impl Listener {
    fn new(router: Router, options: &ServerOptions) -> Listener {
        let web = options.web.clone();
        Listener {
            service: TowerToHyperService::new(router),
            timeouts: Deadlines::from(options),
            tls: options.tls.clone(),
            auth: web
                .as_ref()
                .filter(|w| !w.users.is_empty())
                .map(|w| BasicAuth::new(w.users.clone())),
            rate: web
                .as_ref()
                .and_then(|w| w.rate_limit)
                .map(|r| Mutex::new(TokenBucket::new(r))),
            web,
        }
    }

    async fn respond(&self, req: Request<Incoming>) -> Response<Body> {
        if let Some(rate) = &self.rate
            && !rate.lock().unwrap_or_else(|e| e.into_inner()).allow()
        {
            return plain(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests\n");
        }
        let mut response = match &self.auth {
            Some(auth) if !auth.check(req.headers()).await => {
                let mut r = plain(StatusCode::UNAUTHORIZED, "Unauthorized\n");
                r.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic"));
                r
            }
            _ => match self.service.call(req).await {
                Ok(r) => r,
                Err(never) => match never {},
            },
        };
        if let Some(web) = &self.web {
            for (name, value) in &web.headers {
                response.headers_mut().insert(name.clone(), value.clone());
            }
        }
        response
    }
}

fn plain(status: StatusCode, text: &'static str) -> Response<Body> {
    let mut r = Response::new(Body::from(text));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// One accepted connection: TLS handshake if configured, then HTTP/1.1 until the client
/// leaves, a deadline passes, or the listener drains.
async fn connection(stream: TcpStream, peer: SocketAddr, shared: Arc<Listener>, mut draining: watch::Receiver<bool>) {
    let clock = Arc::new(Clock::new(shared.timeouts));
    let expired = clock.clone().expired();
    tokio::pin!(expired);
    let Some(tls) = &shared.tls else {
        return http(
            TimedIo::new(stream, clock.clone()),
            peer,
            shared.clone(),
            clock,
            expired,
            draining,
        )
        .await;
    };
    let acceptor = tokio_rustls::TlsAcceptor::from(tls.current());
    let stream = tokio::select! {
        accepted = acceptor.accept(stream) => match accepted {
            Ok(s) => s,
            Err(e) => {
                tracing::debug!(%peer, error = %e, "TLS handshake failed");
                return;
            }
        },
        _ = &mut expired => {
            tracing::debug!(%peer, "TLS handshake timed out");
            return;
        }
        _ = draining.wait_for(|d| *d) => return,
    };
    // As in Go, the request head gets its own timeout once the handshake is done.
    clock.set(Phase::Head);
    http(
        TimedIo::new(stream, clock.clone()),
        peer,
        shared.clone(),
        clock,
        expired,
        draining,
    )
    .await
}

async fn http<IO>(
    io: TimedIo<IO>,
    peer: SocketAddr,
    shared: Arc<Listener>,
    clock: Arc<Clock>,
    mut expired: Pin<&mut impl Future<Output = ()>>,
    mut draining: watch::Receiver<bool>,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = ConnService { shared, clock, peer };
    let conn = hyper::server::conn::http1::Builder::new()
        .max_buf_size(HTTP_BUFFER)
        .serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    let mut closing = false;
    loop {
        tokio::select! {
            done = conn.as_mut() => {
                if let Err(e) = done {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
                return;
            }
            _ = &mut expired => {
                // Dropping the connection closes the socket, cutting a response mid-body.
                tracing::debug!(%peer, "connection deadline passed; closing it");
                return;
            }
            _ = draining.wait_for(|d| *d), if !closing => {
                // Finish the response in flight, then close instead of keeping alive.
                conn.as_mut().graceful_shutdown();
                closing = true;
            }
        }
    }
}

/// Hands requests to the listener, tracking the connection's phase.
struct ConnService {
    shared: Arc<Listener>,
    clock: Arc<Clock>,
    peer: SocketAddr,
}

impl Service<Request<Incoming>> for ConnService {
    type Response = Response<TrackedBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, mut req: Request<Incoming>) -> Self::Future {
        self.clock.set(Phase::Serving);
        let guard = ResponseGuard(self.clock.clone());
        let shared = self.shared.clone();
        req.extensions_mut().insert(ConnectInfo(self.peer));
        Box::pin(async move {
            let response = shared.respond(req).await;
            Ok(response.map(|inner| TrackedBody { inner, _guard: guard }))
        })
    }
}

/// The response body as hyper sees it; dropping it (sent or abandoned) moves the connection
/// on to flushing the last bytes.
pub struct TrackedBody {
    inner: Body,
    _guard: ResponseGuard,
}

impl http_body::Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Marks the response finished when dropped.
pub struct ResponseGuard(Arc<Clock>);

impl Drop for ResponseGuard {
    fn drop(&mut self) {
        self.0.response_done();
    }
}

/// The effective deadlines, Go's rules applied: a zero timeout is none; the head is bounded by
/// both the read-header and the read timeout; idle falls back to the read timeout.
#[derive(Clone, Copy, Debug)]
struct Deadlines {
    head: Option<Duration>,
    serving: Option<Duration>,
    idle: Option<Duration>,
}

impl From<&ServerOptions> for Deadlines {
    fn from(o: &ServerOptions) -> Deadlines {
        let some = |d: Duration| (!d.is_zero()).then_some(d);
        let (read, header) = (some(o.read_timeout), some(o.read_header_timeout));
        Deadlines {
            head: match (read, header) {
                (Some(r), Some(h)) => Some(r.min(h)),
                (r, h) => r.or(h),
            },
            serving: some(o.write_timeout),
            idle: some(o.idle_timeout).or(read),
        }
    }
}

/// Where a connection is in its request cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Reading a request head.
    Head,
    /// A request is being answered.
    Serving,
    /// The response body is done; its last bytes are being flushed.
    Flushing,
    /// Between keep-alive requests.
    Idle,
}

/// A connection's phase and its deadline.
struct Clock {
    deadlines: Deadlines,
    state: Mutex<(Phase, Option<Instant>)>,
    changed: Notify,
}

impl Clock {
    fn new(deadlines: Deadlines) -> Clock {
        let clock = Clock {
            deadlines,
            state: Mutex::new((Phase::Head, None)),
            changed: Notify::new(),
        };
        clock.set(Phase::Head);
        clock
    }

    fn set(&self, phase: Phase) {
        let limit = match phase {
            Phase::Head => self.deadlines.head,
            Phase::Serving => self.deadlines.serving,
            // Flushing keeps the serving deadline: the response is not written yet.
            Phase::Flushing => return self.transition(Phase::Serving, Phase::Flushing),
            Phase::Idle => self.deadlines.idle,
        };
        *self.state.lock().unwrap_or_else(|e| e.into_inner()) = (phase, limit.map(|d| Instant::now() + d));
        // One waiter (the connection task); a stored permit covers a change made before it waits.
        self.changed.notify_one();
    }

    /// Moves from `from` to `to` (same deadline) if the connection is in `from`.
    fn transition(&self, from: Phase, to: Phase) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.0 == from {
            state.0 = to;
        }
    }

    fn phase(&self) -> Phase {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).0
    }

    fn response_done(&self) {
        self.set(Phase::Flushing);
    }

    /// Everything hyper wrote reached the socket: after a finished response, the connection
    /// is idle.
    fn flushed(&self) {
        if self.phase() == Phase::Flushing {
            self.set(Phase::Idle);
        }
    }

    /// Bytes arrived: on an idle connection, a new request head has started.
    fn read_some(&self) {
        if self.phase() == Phase::Idle {
            self.set(Phase::Head);
        }
    }

    /// Resolves once the current deadline passes.
    async fn expired(self: Arc<Self>) {
        loop {
            let deadline = self.state.lock().unwrap_or_else(|e| e.into_inner()).1;
            match deadline {
                None => self.changed.notified().await,
                Some(at) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(at) => {
                            let now = self.state.lock().unwrap_or_else(|e| e.into_inner()).1;
                            if now.is_some_and(|d| d <= Instant::now()) {
                                return;
                            }
                        }
                        _ = self.changed.notified() => {}
                    }
                }
            }
        }
    }
}

/// The connection's byte stream, reporting reads and completed flushes to its clock.
struct TimedIo<T> {
    inner: T,
    clock: Arc<Clock>,
}

impl<T> TimedIo<T> {
    fn new(inner: T, clock: Arc<Clock>) -> Self {
        TimedIo { inner, clock }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for TimedIo<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.clock.read_some();
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for TimedIo<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_flush(cx);
        if matches!(polled, Poll::Ready(Ok(()))) {
            self.clock.flushed();
        }
        polled
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// `rate_limit`: Go's `rate.Limiter` (one token per interval, bucket of `burst`, starts full).
struct TokenBucket {
    limit: RateLimit,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    fn new(limit: RateLimit) -> TokenBucket {
        TokenBucket {
            limit,
            tokens: f64::from(limit.burst),
            last: Instant::now(),
        }
    }

    fn allow(&mut self) -> bool {
        let now = Instant::now();
        let refill = now.duration_since(self.last).as_secs_f64() / self.limit.interval.as_secs_f64();
        self.tokens = (self.tokens + refill).min(f64::from(self.limit.burst));
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// `basic_auth_users`: bcrypt checks off the async workers, one at a time (they are CPU-heavy
/// by design), with results remembered per credential so a scraper pays once.
struct BasicAuth {
    users: std::collections::BTreeMap<String, String>,
    cache: Mutex<HashMap<(String, String, String), bool>>,
    bcrypt: Semaphore,
    /// A hash of the users' cost checked for unknown users, so timing does not reveal names.
    decoy: Arc<OnceLock<String>>,
}

impl BasicAuth {
    fn new(users: std::collections::BTreeMap<String, String>) -> BasicAuth {
        BasicAuth {
            users,
            cache: Mutex::new(HashMap::new()),
            bcrypt: Semaphore::new(1),
            decoy: Arc::new(OnceLock::new()),
        }
    }

    async fn check(&self, headers: &HeaderMap) -> bool {
        let Some((user, password)) = basic_credentials(headers) else {
            return false;
        };
        let known = self.users.get(&user).cloned();
        let key = (user, known.clone().unwrap_or_default(), password.clone());
        if let Some(ok) = self.cache.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return *ok;
        }
        let Ok(_permit) = self.bcrypt.acquire().await else {
            return false;
        };
        let cost = self
            .users
            .values()
            .next()
            .and_then(|h| h.parse::<bcrypt::HashParts>().ok())
            .map_or(bcrypt::DEFAULT_COST, |p| p.get_cost());
        let decoy = self.decoy.clone();
        let verified = tokio::task::spawn_blocking(move || match &known {
            Some(hash) => bcrypt::verify(&password, hash).unwrap_or(false),
            None => {
                let hash = decoy.get_or_init(|| bcrypt::hash("decoy", cost).unwrap_or_default());
                let _ = bcrypt::verify(&password, hash);
                false
            }
        })
        .await
        .unwrap_or(false);
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= AUTH_CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert(key, verified);
        verified
    }
}

/// `Authorization: Basic …` as (user, password).
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}
