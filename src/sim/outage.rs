//! The connection layer of [`Faults::outage`](super::Faults::outage): a listener whose
//! connections fail every read and write while the outage lasts, so clients see the socket
//! errors of a server that is down, not an HTTP answer.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use super::store::Core;

/// Accepts TCP connections for axum; each is cut while the outage lasts.
pub struct GatedListener {
    pub inner: TcpListener,
    pub core: Arc<Core>,
}

impl axum::serve::Listener for GatedListener {
    type Io = GatedStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (GatedStream, std::net::SocketAddr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    if self.core.outage.load(Ordering::SeqCst) {
                        continue;
                    }
                    let core = self.core.clone();
                    return (GatedStream { inner: stream, core }, addr);
                }
                // Out of descriptors and the like: wait rather than spin (as axum's own listener).
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.inner.local_addr()
    }
}

/// A connection that fails while the outage lasts.
pub struct GatedStream {
    inner: TcpStream,
    core: Arc<Core>,
}

impl GatedStream {
    fn cut(&self) -> Option<io::Error> {
        self.core
            .outage
            .load(Ordering::SeqCst)
            .then(|| io::Error::new(io::ErrorKind::ConnectionReset, "simulated outage"))
    }
}

impl AsyncRead for GatedStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if let Some(e) = self.cut() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for GatedStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if let Some(e) = self.cut() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
