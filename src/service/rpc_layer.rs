//! The tower layer every RPC passes through: admission (a server-wide bound
//! on classification work in progress; past it a request is refused at once
//! with RESOURCE_EXHAUSTED, never queued), per-RPC metrics (method, status
//! code, latency, in flight), and the request bodies of `request_body`
//! (per-method message limits; a stream the client reset counts as
//! CANCELLED and reaches no handler).
//!
//! A unary or batch call holds its admission slot until the last frame of
//! its response (tower's `ConcurrencyLimit` would release it when the headers
//! are sent, and it queues instead of refusing). `ClassifyStream` is not
//! admitted here: an open stream is not work, so it holds a slot only while
//! one of its messages is classified (the handler takes it from the same
//! [`Admission`]), and open streams have caps of their own (`streams.rs`).
//! Health checks, reflection and admin calls are exempt, so a saturated
//! server still answers probes and can be reloaded. The long-lived side
//! streams (health `Watch`, reflection) need no token, so they have an
//! admission of their own and a bounded life: past it they end with
//! DEADLINE_EXCEEDED (clients watch again).
use super::error::ServiceError;
use super::incoming::{AnswerOwed, ConnectionInfo};
use super::metrics::Metrics;
use super::request_body::{self, ClientReset, RequestBody};
use http_body::{Body, Frame, SizeHint};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::time::Sleep;
use tonic::codegen::Bytes;
use tonic::{Code, Status};

/// Path prefixes of services that are never shed.
const EXEMPT_PREFIXES: &[&str] = &["/grpc.health.", "/grpc.reflection.", "/docclass.v1.Admin/"];

/// RPCs whose handler takes admission itself, per message, not per call.
const ADMITTED_BY_HANDLER: &[&str] = &["/docclass.v1.Classifier/ClassifyStream"];

/// Streams open to anyone, without a token: bounded by their own admission
/// and lifetime instead.
const SIDE_STREAMS: &[&str] = &[
    "/grpc.health.v1.Health/Watch",
    "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
];

/// Counts work in progress against a limit, without a lock.
#[derive(Debug)]
pub(crate) struct Admission {
    in_progress: AtomicUsize,
    limit: usize,
}

impl Admission {
    pub(crate) fn new(limit: usize) -> Arc<Admission> {
        Arc::new(Admission {
            in_progress: AtomicUsize::new(0),
            limit,
        })
    }

    /// The limit: how many may be in progress at once.
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// A slot, or `None` at once when all are taken.
    pub(crate) fn try_enter(self: &Arc<Self>) -> Option<AdmissionSlot> {
        self.in_progress
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.limit).then_some(n + 1)
            })
            .ok()
            .map(|_| AdmissionSlot(self.clone()))
    }
}

/// One admitted piece of work; frees its slot when dropped.
pub(crate) struct AdmissionSlot(Arc<Admission>);

impl Drop for AdmissionSlot {
    fn drop(&mut self) {
        self.0.in_progress.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Builds [`RpcService`]s.
#[derive(Clone)]
pub(crate) struct RpcLayer {
    admission: Arc<Admission>,
    side: SideStreams,
    metrics: Arc<Metrics>,
    /// The largest message of one document (`request_body`).
    one_document: usize,
}

/// The side streams' own admission and lifetime.
#[derive(Clone)]
pub(crate) struct SideStreams {
    pub(crate) admission: Arc<Admission>,
    pub(crate) lifetime: Duration,
}

impl RpcLayer {
    pub(crate) fn new(
        admission: Arc<Admission>,
        side: SideStreams,
        metrics: Arc<Metrics>,
        one_document: usize,
    ) -> Self {
        Self {
            admission,
            side,
            metrics,
            one_document,
        }
    }
}

impl<S> tower_layer::Layer<S> for RpcLayer {
    type Service = RpcService<S>;

    fn layer(&self, inner: S) -> RpcService<S> {
        RpcService {
            inner,
            admission: self.admission.clone(),
            side: self.side.clone(),
            metrics: self.metrics.clone(),
            one_document: self.one_document,
        }
    }
}

#[derive(Clone)]
pub(crate) struct RpcService<S> {
    inner: S,
    admission: Arc<Admission>,
    side: SideStreams,
    metrics: Arc<Metrics>,
    one_document: usize,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<S, B> tower_service::Service<http::Request<tonic::body::Body>> for RpcService<S>
where
    S: tower_service::Service<http::Request<tonic::body::Body>, Response = http::Response<B>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Body<Data = Bytes> + Unpin + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        let started = Instant::now();
        let path = request.uri().path();
        let method = self.metrics.method_index(path);
        let side = SIDE_STREAMS.contains(&path);
        let admission = if side {
            Some(&self.side.admission)
        } else if EXEMPT_PREFIXES.iter().any(|p| path.starts_with(p))
            || ADMITTED_BY_HANDLER.contains(&path)
        {
            None
        } else {
            Some(&self.admission)
        };
        let slot = match admission {
            None => None,
            Some(admission) => match admission.try_enter() {
                Some(slot) => Some(slot),
                None => {
                    let status = Status::from(ServiceError::Overloaded {
                        limit: admission.limit,
                    });
                    self.metrics
                        .rpc_shed(method, status.code(), started.elapsed());
                    return Box::pin(std::future::ready(Ok(status.into_http())));
                }
            },
        };
        let lifetime = side.then_some(self.side.lifetime);
        // A connection with an answer owed is never evicted for a new one;
        // a stream's connection is judged by its client's last bytes.
        let owed = if side || ADMITTED_BY_HANDLER.contains(&path) {
            None
        } else {
            ConnectionInfo::of(request.extensions()).map(|c| c.place.answer_owed())
        };
        let limit = request_body::for_path(path, self.one_document);
        let reset = ClientReset::default();
        let request = request
            .map(|body| tonic::body::Body::new(RequestBody::new(body, limit, reset.clone())));
        self.metrics.rpc_started();
        let mut tracker = RpcTracker {
            metrics: self.metrics.clone(),
            method,
            started,
            slot,
            owed,
            reset,
            done: false,
        };
        // The clone is ready only if `self.inner` was polled ready: swap them.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let response = inner.call(request).await?;
            let (parts, body) = response.into_parts();
            // A trailers-only response (every error) carries its status in
            // the headers and has no body to watch.
            if let Some(code) = grpc_status(&parts.headers) {
                tracker.finish(code);
            }
            let body = TrackedBody {
                inner: body,
                tracker,
                deadline: lifetime.map(|d| Box::pin(tokio::time::sleep(d))),
                ended: false,
            };
            Ok(http::Response::from_parts(
                parts,
                tonic::body::Body::new(body),
            ))
        })
    }
}

fn grpc_status(headers: &http::HeaderMap) -> Option<Code> {
    headers
        .get("grpc-status")
        .map(|v| Code::from_bytes(v.as_bytes()))
}

/// Records one RPC's outcome exactly once and frees its admission slot
/// (and its connection, for eviction: `incoming.rs`). If
/// dropped unfinished (client gone, deadline, server timeout), or if the
/// client reset its request, the RPC counts as CANCELLED, which is what the
/// client saw.
struct RpcTracker {
    metrics: Arc<Metrics>,
    method: usize,
    started: Instant,
    slot: Option<AdmissionSlot>,
    owed: Option<AnswerOwed>,
    reset: ClientReset,
    done: bool,
}

impl RpcTracker {
    fn finish(&mut self, code: Code) {
        if !self.done {
            self.done = true;
            let code = if self.reset.is_set() {
                Code::Cancelled
            } else {
                code
            };
            self.slot = None;
            self.owed = None;
            self.metrics
                .rpc_finished(self.method, code, self.started.elapsed());
        }
    }
}

impl Drop for RpcTracker {
    fn drop(&mut self) {
        self.finish(Code::Cancelled);
    }
}

/// A response body that reports the status in its trailers as they pass;
/// with a deadline (side streams), it ends there with DEADLINE_EXCEEDED.
struct TrackedBody<B> {
    inner: B,
    tracker: RpcTracker,
    deadline: Option<Pin<Box<Sleep>>>,
    ended: bool,
}

impl<B> Body for TrackedBody<B>
where
    B: Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        if self.ended {
            return Poll::Ready(None);
        }
        let expired = self
            .deadline
            .as_mut()
            .is_some_and(|d| d.as_mut().poll(cx).is_ready());
        if expired {
            self.ended = true;
            self.tracker.finish(Code::DeadlineExceeded);
            let mut trailers = http::HeaderMap::new();
            trailers.insert("grpc-status", http::HeaderValue::from_static("4"));
            trailers.insert(
                "grpc-message",
                http::HeaderValue::from_static("stream lifetime reached; open a new one"),
            );
            return Poll::Ready(Some(Ok(Frame::trailers(trailers))));
        }
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(code) = frame.trailers_ref().and_then(grpc_status) {
                    self.tracker.finish(code);
                }
            }
            Poll::Ready(Some(Err(_))) => self.tracker.finish(Code::Unknown),
            Poll::Ready(None) => self.tracker.finish(Code::Unknown),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
