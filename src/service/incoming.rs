//! Accepting connections, bounded: at most `max_connections` open at once, a
//! deadline by which a new connection must have sent at least an HTTP/2
//! preface's worth of bytes (a new connection reaches tonic only once its
//! client has sent something) (a socket that never speaks, or stops part-way
//! through the preface, holds a descriptor, and nothing above this layer
//! would ever close it: hyper waits for the preface for ever), and a backoff
//! when accept fails for want of descriptors (or any other resource), logged
//! once per interval (retrying at once spun a core and starved every other
//! task).
//!
//! At the cap, a new connection takes the [`Place`] of the quietest open
//! one: among those with no unary or batch RPC in progress, the one that
//! has sent nothing for the longest (counted as evicted). Only when every
//! connection owes an answer is the new one closed at once (refused). Out
//! of descriptors, the quietest is closed the same way before accept is
//! tried again.
//! Refusing always, as a plain cap does, let 2,000 silent sockets, each
//! reopened when closed, keep every new client out.
use super::metrics::Metrics;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::futures::OwnedNotified;
use tokio::sync::{mpsc, Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::Sleep;
use tonic::transport::server::{Connected, TcpConnectInfo, TlsConnectInfo};

/// The first and the longest wait before accepting again after EMFILE/ENFILE.
const BACKOFF_FIRST: Duration = Duration::from_millis(10);
const BACKOFF_MAX: Duration = Duration::from_secs(1);
/// At most one log line per this long about running out of descriptors.
const LOG_INTERVAL: Duration = Duration::from_secs(10);

/// One open connection's place under the cap. Shared by the connection, the
/// accept loop (which may give the place to a newer connection) and the RPC
/// layer (which marks an answer owed while a unary or batch RPC runs).
pub(crate) struct Place {
    /// Held while the connection is open, unless evicted.
    permit: Mutex<Option<OwnedSemaphorePermit>>,
    /// When the client last sent bytes (or connected), in milliseconds
    /// since the accept loop started.
    last_read_ms: AtomicU64,
    /// Unary and batch RPCs in progress.
    rpcs_owed: AtomicUsize,
    evicted: AtomicBool,
    closed: AtomicBool,
    /// Wakes the connection when it is evicted.
    eviction: Arc<Notify>,
}

impl Place {
    fn new(permit: OwnedSemaphorePermit, now_ms: u64) -> Place {
        Place {
            permit: Mutex::new(Some(permit)),
            last_read_ms: AtomicU64::new(now_ms),
            rpcs_owed: AtomicUsize::new(0),
            evicted: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            eviction: Arc::new(Notify::new()),
        }
    }

    /// An RPC that owes the client an answer starts; the connection is not
    /// evicted until the returned guard is dropped.
    pub(crate) fn answer_owed(self: &Arc<Self>) -> AnswerOwed {
        self.rpcs_owed.fetch_add(1, Ordering::AcqRel);
        AnswerOwed(self.clone())
    }

    fn evictable(&self) -> bool {
        self.rpcs_owed.load(Ordering::Acquire) == 0
            && !self.evicted.load(Ordering::Acquire)
            && !self.closed.load(Ordering::Acquire)
    }

    /// Takes this connection's permit for another, and wakes the connection
    /// to close; `None` if it has closed or was evicted meanwhile.
    fn evict(&self) -> Option<OwnedSemaphorePermit> {
        if self.evicted.swap(true, Ordering::AcqRel) {
            return None;
        }
        let permit = self
            .permit
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        self.eviction.notify_one();
        permit
    }
}

/// An answer owed on a connection (see [`Place::answer_owed`]).
pub(crate) struct AnswerOwed(Arc<Place>);

impl Drop for AnswerOwed {
    fn drop(&mut self) {
        self.0.rpcs_owed.fetch_sub(1, Ordering::AcqRel);
    }
}

/// What the RPC layer learns of the connection a request came on: its
/// peer, and its [`Place`]. Put in each request's extensions by tonic.
#[derive(Clone)]
pub(crate) struct ConnectionInfo {
    tcp: TcpConnectInfo,
    pub(crate) place: Arc<Place>,
}

impl ConnectionInfo {
    /// The connection `extensions` (a request's) came on, plain or TLS.
    pub(crate) fn of(extensions: &http::Extensions) -> Option<&ConnectionInfo> {
        extensions.get::<ConnectionInfo>().or_else(|| {
            extensions
                .get::<TlsConnectInfo<ConnectionInfo>>()
                .map(TlsConnectInfo::get_ref)
        })
    }

    pub(crate) fn remote_addr(&self) -> Option<SocketAddr> {
        self.tcp.remote_addr()
    }
}

/// The listener as a stream of bounded connections, for tonic.
pub(crate) struct Incoming {
    listener: TcpListener,
    permits: Arc<Semaphore>,
    max_connections: usize,
    /// Every open connection's place (and some closed ones, dropped at the
    /// next sweep).
    places: Vec<Arc<Place>>,
    epoch: Instant,
    /// New connections whose clients have sent their first bytes.
    spoken: (
        mpsc::UnboundedSender<Connection>,
        mpsc::UnboundedReceiver<Connection>,
    ),
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
            max_connections,
            places: Vec::new(),
            epoch: Instant::now(),
            spoken: mpsc::unbounded_channel(),
            first_bytes_timeout,
            metrics,
            backoff: None,
            next_backoff: BACKOFF_FIRST,
            last_logged: None,
            failures_since_log: 0,
        }
    }

    /// Backs off before accepting again, logging at most once per interval.
    /// Out of descriptors, it also closes the quietest connection, as at the
    /// cap, so that the next accept finds a descriptor.
    fn accept_failed(&mut self, error: &io::Error) {
        self.metrics.accept_failed();
        if is_out_of_descriptors(error) {
            drop(self.evict_quietest());
        }
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

impl Incoming {
    /// A permit for a new connection: a free one, or the quietest
    /// evictable connection's; `None` when every connection owes an answer.
    fn place_for_new_connection(&mut self) -> Option<OwnedSemaphorePermit> {
        if let Ok(permit) = self.permits.clone().try_acquire_owned() {
            return Some(permit);
        }
        self.evict_quietest()
    }

    /// Closes the quietest connection that owes no answer, and returns its
    /// permit (or a permit freed meanwhile); `None` if every one owes one.
    fn evict_quietest(&mut self) -> Option<OwnedSemaphorePermit> {
        self.places.retain(|p| !p.closed.load(Ordering::Acquire));
        loop {
            let quietest = self
                .places
                .iter()
                .filter(|p| p.evictable())
                .min_by_key(|p| p.last_read_ms.load(Ordering::Relaxed))?;
            if let Some(permit) = quietest.evict() {
                self.metrics.connection_evicted();
                return Some(permit);
            }
            // It closed meanwhile, freeing its permit.
            if let Ok(permit) = self.permits.clone().try_acquire_owned() {
                return Some(permit);
            }
        }
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
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
            // The senders include our own, so the channel never ends.
            if let Poll::Ready(Some(connection)) = this.spoken.1.poll_recv(cx) {
                return Poll::Ready(Some(Ok(connection)));
            }
            if let Some(sleep) = this.backoff.as_mut() {
                ready!(sleep.as_mut().poll(cx));
                this.backoff = None;
            }
            match ready!(this.listener.poll_accept(cx)) {
                Ok((stream, _)) => {
                    this.next_backoff = BACKOFF_FIRST;
                    let Some(permit) = this.place_for_new_connection() else {
                        // Over the cap: closed at once (dropping it), counted.
                        this.metrics.connection_refused();
                        continue;
                    };
                    // With Nagle on, a response written in two pieces waited
                    // for the client's delayed ACK (about 40 ms per unary RPC).
                    if let Err(e) = stream.set_nodelay(true) {
                        tracing::debug!(error = %e, "cannot set TCP_NODELAY");
                    }
                    let place = Arc::new(Place::new(permit, this.now_ms()));
                    if this.places.len() >= 2 * this.max_connections {
                        this.places.retain(|p| !p.closed.load(Ordering::Acquire));
                    }
                    this.places.push(place.clone());
                    let connection = Connection::new(
                        stream,
                        place,
                        this.epoch,
                        this.first_bytes_timeout,
                        this.metrics.clone(),
                    );
                    tokio::spawn(until_it_speaks(connection, this.spoken.0.clone()));
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

/// Holds a new connection until its client sends something, and only then
/// hands it to `spoken` (for tonic): a socket that stays silent until the
/// deadline, or loses its place first, is closed without ever costing an
/// HTTP/2 connection's set-up (buffers, timers, the server's SETTINGS).
/// Every HTTP/2 or TLS client speaks first.
async fn until_it_speaks(mut connection: Connection, spoken: mpsc::UnboundedSender<Connection>) {
    let spoke = {
        let Connection {
            stream,
            eviction,
            deadline,
            metrics,
            ..
        } = &mut connection;
        let deadline = async {
            match deadline.as_mut() {
                Some(deadline) => deadline.as_mut().await,
                None => std::future::pending().await,
            }
        };
        let mut first = [0u8; 1];
        tokio::select! {
            // `readable` alone may wake with nothing to read; `peek` waits
            // for a byte (or the end of the stream) and leaves it there.
            peeked = stream.peek(&mut first) => peeked.is_ok(),
            () = eviction.as_mut() => false,
            () = deadline => {
                metrics.connection_timed_out();
                false
            }
        }
    };
    if spoke {
        // Fails only once the server has stopped accepting: then it closes.
        let _ = spoken.send(connection);
    }
}

/// Bytes a client must send before the connection deadline: the HTTP/2
/// client preface (24 bytes) and the header of the SETTINGS frame that must
/// follow it (9). Over TLS the bytes are TLS records, which any ClientHello
/// exceeds; tonic's TLS handshake timeout, set to the same deadline, covers
/// the rest of the handshake.
pub(crate) const HANDSHAKE_BYTES: usize = 24 + 9;

/// An accepted connection: holds its place under the cap until dropped or
/// evicted, fails its reads if the peer has not sent [`HANDSHAKE_BYTES`]
/// before the deadline, and fails them once evicted.
pub(crate) struct Connection {
    stream: TcpStream,
    place: Arc<Place>,
    epoch: Instant,
    eviction: Pin<Box<OwnedNotified>>,
    /// Until `HANDSHAKE_BYTES` have arrived.
    deadline: Option<Pin<Box<Sleep>>>,
    received: usize,
    metrics: Arc<Metrics>,
}

impl Connection {
    fn new(
        stream: TcpStream,
        place: Arc<Place>,
        epoch: Instant,
        first_bytes_timeout: Duration,
        metrics: Arc<Metrics>,
    ) -> Connection {
        metrics.connection_opened();
        Connection {
            stream,
            eviction: Box::pin(place.eviction.clone().notified_owned()),
            place,
            epoch,
            deadline: Some(Box::pin(tokio::time::sleep(first_bytes_timeout))),
            received: 0,
            metrics,
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.place.closed.store(true, Ordering::Release);
        // Frees the place at once, not when the accept loop next sweeps.
        self.place
            .permit
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        self.metrics.connection_closed();
    }
}

impl Connected for Connection {
    type ConnectInfo = ConnectionInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        ConnectionInfo {
            tcp: self.stream.connect_info(),
            place: self.place.clone(),
        }
    }
}

/// A read on a connection whose place went to a newer one.
fn evicted() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "closed to make room for a new connection at --max-connections",
    )
}

impl AsyncRead for Connection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.place.evicted.load(Ordering::Acquire) {
            return Poll::Ready(Err(evicted()));
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(result) => {
                let read = buf.filled().len().saturating_sub(before);
                if read > 0 {
                    this.place
                        .last_read_ms
                        .store(this.epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
                }
                this.received = this.received.saturating_add(read);
                if this.received >= HANDSHAKE_BYTES {
                    this.deadline = None;
                }
                Poll::Ready(result)
            }
            Poll::Pending => {
                if this.eviction.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Err(evicted()));
                }
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
