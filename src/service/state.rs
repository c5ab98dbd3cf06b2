//! Shared server state: the model slot (swapped atomically, so in-flight
//! requests finish on the model they started with), limits, and health.
use super::metrics::Metrics;
use super::rpc_layer::Admission;
use super::streams::Streams;
use crate::model::Model;
use arc_swap::ArcSwapOption;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tonic_health::server::HealthReporter;
use tonic_health::ServingStatus;

/// Request limits.
///
/// | limit | default | why |
/// |---|---|---|
/// | `max_text_bytes` | 1 MiB | title + text of one document |
/// | `max_batch_documents` | 1,000 | documents per `ClassifyBatch` |
/// | `max_message_bytes` | 16 MiB | gRPC decode/encode limit (tonic's default decode limit is 4 MiB, too small for a full batch); a message of one document (`Classify`, each `ClassifyStream` message) may be at most `max_text_bytes` plus 64 KiB, refused at its length prefix (`request_body.rs`) |
/// | `max_explain_terms` | 100 | terms per explained topic |
/// | `max_concurrent_requests` | 64 | classification work in progress server-wide: unary and batch calls, and stream messages while they are classified (an open stream holds no slot between messages); past it, RESOURCE_EXHAUSTED at once (for a stream message, as that message's outcome). Health, reflection and admin calls are exempt |
/// | `max_streams` | 1,024 | `ClassifyStream` streams open at once server-wide; one more is refused with RESOURCE_EXHAUSTED |
/// | `max_streams_per_connection` | 64 | such streams open at once on one connection, below `max_concurrent_streams` so unary calls still fit beside them |
/// | `max_concurrent_streams` | 100 | HTTP/2 streams (RPCs) one connection may have open (`SETTINGS_MAX_CONCURRENT_STREAMS`) |
/// | `stream_idle_timeout` | 60 s | a `ClassifyStream` that sends no message for this long, or does not read a response for this long, ends with DEADLINE_EXCEEDED, freeing its place |
/// | `max_connections` | 1,024 | client connections open at once on the gRPC port (each holds a file descriptor); one more takes the place of the quietest connection with no unary or batch call in progress, or is closed at once when every one has one (`incoming.rs`) |
/// | `connection_first_bytes_timeout` | 10 s | a new connection that has not sent an HTTP/2 preface's worth of bytes (33) by then is closed, whether it stays silent or stops part-way; with TLS, also the TLS handshake's deadline |
/// | `max_side_streams` | 256 | health `Watch` and reflection streams open at once server-wide (they need no token); past it, RESOURCE_EXHAUSTED |
/// | `side_stream_lifetime` | 10 min | such a stream then ends with DEADLINE_EXCEEDED; the client opens a new one |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_text_bytes: usize,
    pub max_batch_documents: usize,
    pub max_message_bytes: usize,
    pub max_explain_terms: u32,
    pub max_concurrent_requests: usize,
    pub max_streams: usize,
    pub max_streams_per_connection: usize,
    pub max_concurrent_streams: u32,
    pub stream_idle_timeout: Duration,
    pub max_connections: usize,
    pub connection_first_bytes_timeout: Duration,
    pub max_side_streams: usize,
    pub side_stream_lifetime: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_text_bytes: 1 << 20,
            max_batch_documents: 1000,
            max_message_bytes: 16 << 20,
            max_explain_terms: 100,
            max_concurrent_requests: 64,
            max_streams: 1024,
            max_streams_per_connection: 64,
            max_concurrent_streams: 100,
            stream_idle_timeout: Duration::from_secs(60),
            max_connections: 1024,
            connection_first_bytes_timeout: Duration::from_secs(10),
            max_side_streams: 256,
            side_stream_lifetime: Duration::from_secs(600),
        }
    }
}

/// A model in service, with where it came from and when it was loaded.
#[derive(Debug)]
pub struct LoadedModel {
    pub model: Model,
    /// The model's file name, e.g. `default.model`.
    pub model_file: String,
    /// RFC 3339.
    pub loaded_at: String,
}

/// The fully qualified service name, as health checks and reflection see it.
pub const SERVICE_NAME: &str = "docclass.v1.Classifier";

#[derive(Debug)]
pub(crate) struct State {
    pub(crate) slot: ArcSwapOption<LoadedModel>,
    pub(crate) limits: Limits,
    pub(crate) metrics: Arc<Metrics>,
    /// Classification work in progress (unary and batch calls, stream
    /// messages being classified): `rpc_layer` admits unary and batch calls
    /// against it, the stream handler each message.
    pub(crate) work: Arc<Admission>,
    /// Open `ClassifyStream` streams, under their own caps.
    pub(crate) streams: Arc<Streams>,
    /// The classification threads.
    pub(crate) workers: super::workers::Workers,
    /// Run on the worker thread before each classification; none in service.
    pub(crate) worker_hook: OnceLock<WorkerHook>,
}

/// A function run on the worker thread before each classification's work
/// (unary call, batch, stream chunk), with the call's cancel flag, which is
/// set once the call is dropped. For tests: a hook that blocks holds a call
/// after it has taken its model and its worker, so a test can order a
/// reload or a deadline against it by events instead of by timing.
#[derive(Clone)]
pub struct WorkerHook(pub Arc<dyn Fn(&AtomicBool) + Send + Sync>);

impl std::fmt::Debug for WorkerHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WorkerHook")
    }
}

/// Controls the model in service and the health status. Cheap to clone.
#[derive(Clone)]
pub struct ModelHandle {
    pub(crate) state: Arc<State>,
    pub(crate) health: HealthReporter,
}

impl ModelHandle {
    /// Puts `model` in service and reports SERVING.
    pub async fn install(&self, model: LoadedModel) {
        self.state.metrics.model_installed(model.model.version());
        self.state.slot.store(Some(Arc::new(model)));
        self.set_status(ServingStatus::Serving).await;
    }

    /// Reports NOT_SERVING (at shutdown); requests in flight still finish.
    pub async fn set_not_serving(&self) {
        self.set_status(ServingStatus::NotServing).await;
    }

    async fn set_status(&self, status: ServingStatus) {
        self.health.set_service_status(SERVICE_NAME, status).await;
        self.health.set_service_status("", status).await;
    }

    /// The model in service, if any.
    pub fn current(&self) -> Option<Arc<LoadedModel>> {
        self.state.slot.load_full()
    }
}
