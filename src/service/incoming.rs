//! Accepting connections, bounded: at most `max_connections` open at once (a
//! new one beyond is closed at once and counted), a deadline by which a new
//! connection must have sent at least an HTTP/2 preface's worth of bytes (a
//! socket that never speaks, or stops part-way through the preface, holds a
//! descriptor, and nothing above this layer would ever close it: hyper waits
//! for the preface for ever), and a backoff when
//! accept fails for want of descriptors (or any other resource), logged once
//! per interval (retrying at once spun a core and starved every other task).
use super::metrics::Metrics;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Sleep;
use tonic::transport::server::{Connected, TcpConnectInfo};

/// The first and the longest wait before accepting again after EMFILE/ENFILE.
const BACKOFF_FIRST: Duration = Duration::from_millis(10);
const BACKOFF_MAX: Duration = Duration::from_secs(1);
/// At most one log line per this long about running out of descriptors.
const LOG_INTERVAL: Duration = Duration::from_secs(10);

/// The listener as a stream of bounded connections, for tonic.
pub(crate) struct Incoming {
    listener: TcpListener,
    permits: Arc<Semaphore>,
    first_bytes_timeout: Duration,
    metrics: Arc<Metrics>,
    backoff: Option<Pin<Box<Sleep>>>,
    next_backoff: Duration,
    last_logged: Option<Instant>,
    failures_since_log: u64,
}

impl Incoming {
    pub(crate) fn new(
        listener: TcpListener,
        max_connections: usize,
        first_bytes_timeout: Duration,
        metrics: Arc<Metrics>,
    ) -> Incoming {
        Incoming {
            listener,
            permits: Arc::new(Semaphore::new(max_connections)),
            first_bytes_timeout,
            metrics,
            backoff: None,
            next_backoff: BACKOFF_FIRST,
            last_logged: None,
            failures_since_log: 0,
        }
    }

    /// Backs off before accepting again, logging at most once per interval.
    fn accept_failed(&mut self, error: &io::Error) {
        self.metrics.accept_failed();
        self.failures_since_log += 1;
        let now = Instant::now();
        if self
            .last_logged
            .is_none_or(|at| now.duration_since(at) >= LOG_INTERVAL)
        {
            if is_out_of_descriptors(error) {
                tracing::warn!(
                    error = %error,
                    failures = self.failures_since_log,
                    "accept failed: out of file descriptors; backing off (raise the descriptor limit or lower --max-connections)"
                );
            } else {
                tracing::warn!(error = %error, failures = self.failures_since_log, "accept failed; backing off");
            }
            self.last_logged = Some(now);
            self.failures_since_log = 0;
        }
        self.backoff = Some(Box::pin(tokio::time::sleep(self.next_backoff)));
        self.next_backoff = (self.next_backoff * 2).min(BACKOFF_MAX);
    }
}

/// EMFILE or ENFILE: the process or the system has no descriptor left.
fn is_out_of_descriptors(error: &io::Error) -> bool {
    matches!(error.raw_os_error(), Some(code) if code == libc_emfile() || code == libc_enfile())
}

#[cfg(target_os = "linux")]
fn libc_emfile() -> i32 {
    libc::EMFILE
}
#[cfg(target_os = "linux")]
fn libc_enfile() -> i32 {
    libc::ENFILE
}
// The POSIX values, for platforms where libc is not a dependency.
#[cfg(not(target_os = "linux"))]
fn libc_emfile() -> i32 {
    24
}
#[cfg(not(target_os = "linux"))]
fn libc_enfile() -> i32 {
    23
}

impl tokio_stream::Stream for Incoming {
    type Item = io::Result<Connection>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(sleep) = this.backoff.as_mut() {
                ready!(sleep.as_mut().poll(cx));
                this.backoff = None;
            }
            match ready!(this.listener.poll_accept(cx)) {
                Ok((stream, _)) => {
                    this.next_backoff = BACKOFF_FIRST;
                    let Ok(permit) = this.permits.clone().try_acquire_owned() else {
                        // Over the cap: closed at once (dropping it), counted.
                        this.metrics.connection_refused();
                        continue;
                    };
                    // With Nagle on, a response written in two pieces waited
                    // for the client's delayed ACK (about 40 ms per unary RPC).
                    if let Err(e) = stream.set_nodelay(true) {
                        tracing::debug!(error = %e, "cannot set TCP_NODELAY");
                    }
                    return Poll::Ready(Some(Ok(Connection::new(
                        stream,
                        permit,
                        this.first_bytes_timeout,
                        this.metrics.clone(),
                    ))));
                }
                // A connection that failed before it was accepted (reset,
                // aborted): nothing to serve, nothing to back off from.
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionAborted
                            | io::ErrorKind::ConnectionReset
                            | io::ErrorKind::Interrupted
                    ) =>
                {
                    tracing::debug!(error = %e, "accept failed")
                }
                // Out of descriptors or memory: retrying at once would spin.
                Err(e) => this.accept_failed(&e),
            }
        }
    }
}

/// Bytes a client must send before the connection deadline: the HTTP/2
/// client preface (24 bytes) and the header of the SETTINGS frame that must
/// follow it (9). Over TLS the bytes are TLS records, which any ClientHello
/// exceeds; tonic's TLS handshake timeout, set to the same deadline, covers
/// the rest of the handshake.
pub(crate) const HANDSHAKE_BYTES: usize = 24 + 9;

/// An accepted connection: holds its place under the cap until dropped, and
/// fails its reads if the peer has not sent [`HANDSHAKE_BYTES`] before the
/// deadline.
pub(crate) struct Connection {
    stream: TcpStream,
    _permit: OwnedSemaphorePermit,
    /// Until `HANDSHAKE_BYTES` have arrived.
    deadline: Option<Pin<Box<Sleep>>>,
    received: usize,
    metrics: Arc<Metrics>,
}

impl Connection {
    fn new(
        stream: TcpStream,
        permit: OwnedSemaphorePermit,
        first_bytes_timeout: Duration,
        metrics: Arc<Metrics>,
    ) -> Connection {
        metrics.connection_opened();
        Connection {
            stream,
            _permit: permit,
            deadline: Some(Box::pin(tokio::time::sleep(first_bytes_timeout))),
            received: 0,
            metrics,
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.metrics.connection_closed();
    }
}

impl Connected for Connection {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.stream.connect_info()
    }
}

impl AsyncRead for Connection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(result) => {
                this.received = this
                    .received
                    .saturating_add(buf.filled().len().saturating_sub(before));
                if this.received >= HANDSHAKE_BYTES {
                    this.deadline = None;
                }
                Poll::Ready(result)
            }
            Poll::Pending => {
                let expired = this
                    .deadline
                    .as_mut()
                    .is_some_and(|deadline| deadline.as_mut().poll(cx).is_ready());
                if !expired {
                    return Poll::Pending;
                }
                this.deadline = None;
                this.metrics.connection_timed_out();
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no HTTP/2 preface from the client before the connection deadline",
                )))
            }
        }
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
