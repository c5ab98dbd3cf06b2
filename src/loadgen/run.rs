//! gRPC load runs: `unary` (Classify), `batch` (ClassifyBatch), `stream`
//! (ClassifyStream, a window of messages in flight per stream) and `noop`
//! (Transport/Noop), in closed loop (each of `concurrency` workers sends its
//! next request when the previous one is answered) or open loop (`rate`
//! requests per second whatever the answers, at most `concurrency` in
//! flight). A run is always bounded by a duration and/or a request count,
//! after an unmeasured warm-up.
//!
//! Open-loop latency is measured from when a request was *due*, not from
//! when it went out, so a server that falls behind shows it in the
//! percentiles instead of silently slowing the generator down (no
//! coordinated omission). Each request leaves when it is due, paced by a
//! thread on the system's high-resolution timer, not at the next tick of
//! tokio's timer (1 ms resolution), whose lateness would count as the
//! server's latency: a no-op RPC at 10,000/s measured p50 1.4 ms that way.
use super::report::{LoadReport, Stats};
use super::target::Target;
use super::{LoadgenError, Result};
use crate::service::pb;
use crate::service::pb::classifier_client::ClassifierClient;
use crate::service::pb::transport_client::TransportClient;
use crate::service::{code_name, SERVICE_NAME};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Semaphore};
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

/// How long a run lasts when neither a duration nor a request count is given.
pub const DEFAULT_DURATION: Duration = Duration::from_secs(10);

/// Largest message either side decodes: big batches of big documents.
const MAX_MESSAGE_BYTES: usize = 64 << 20;

/// How often `wait_ready` asks the health service.
const READY_POLL: Duration = Duration::from_millis(2);

/// Which RPC a run sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Unary,
    Batch,
    Stream,
    Noop,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Unary => "unary",
            Mode::Batch => "batch",
            Mode::Stream => "stream",
            Mode::Noop => "noop",
        }
    }
}

/// How a run sends its requests and when it stops.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub mode: Mode,
    /// Closed loop: workers. Open loop: most requests in flight. Stream: streams.
    pub concurrency: usize,
    /// HTTP/2 connections the workers share, round-robin.
    pub connections: usize,
    /// Open loop at this many requests per second; `None` is closed loop.
    pub rate: Option<f64>,
    /// Measured time, after the warm-up.
    pub duration: Option<Duration>,
    /// Measured requests (RPCs; stream messages), after the warm-up.
    pub requests: Option<u64>,
    pub warmup: Duration,
    /// Documents per ClassifyBatch.
    pub batch_size: usize,
    /// Messages in flight per stream.
    pub stream_window: usize,
    /// Deadline of each unary or batch RPC.
    pub timeout: Duration,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            mode: Mode::Unary,
            concurrency: 8,
            connections: 1,
            rate: None,
            duration: None,
            requests: None,
            warmup: Duration::ZERO,
            batch_size: 32,
            stream_window: 32,
            timeout: Duration::from_secs(10),
        }
    }
}

impl LoadOptions {
    /// Refuses options that make no sense or an unbounded run.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(LoadgenError::BadOption(m));
        if self.concurrency == 0 || self.concurrency > 100_000 {
            return bad(format!(
                "concurrency must be 1..=100000, got {}",
                self.concurrency
            ));
        }
        if self.connections == 0 || self.connections > self.concurrency {
            return bad(format!(
                "connections must be 1..=concurrency ({}), got {}",
                self.concurrency, self.connections
            ));
        }
        if let Some(rate) = self.rate {
            if !(rate.is_finite() && rate > 0.0 && rate <= 10_000_000.0) {
                return bad(format!(
                    "rate must be a number of requests per second in (0, 1e7], got {rate}"
                ));
            }
            if self.mode == Mode::Stream {
                return bad(
                    "rate applies to unary, batch and noop; stream runs closed loop (use --window)"
                        .into(),
                );
            }
        }
        match (self.duration, self.requests) {
            (None, None) => {
                return bad("the run is unbounded: give a duration and/or a request count".into())
            }
            (Some(d), _) if d.is_zero() => return bad("duration must be more than 0 s".into()),
            (_, Some(0)) => return bad("requests must be at least 1".into()),
            _ => {}
        }
        if self.batch_size == 0 || self.batch_size > 100_000 {
            return bad(format!(
                "batch size must be 1..=100000, got {}",
                self.batch_size
            ));
        }
        if self.stream_window == 0 || self.stream_window > 100_000 {
            return bad(format!(
                "stream window must be 1..=100000, got {}",
                self.stream_window
            ));
        }
        if self.timeout.is_zero() {
            return bad("timeout must be more than 0 s".into());
        }
        Ok(())
    }
}

/// Whether a request may go, and whether it counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Admit {
    Warmup,
    Measured,
    Stop,
}

/// When the measured part starts and ends, and what is left of the budget.
struct Plan {
    measure_start: Instant,
    deadline: Option<Instant>,
    /// Measured requests left; `None` means no count limit.
    budget: Option<AtomicU64>,
}

impl Plan {
    fn admit(&self, at: Instant) -> Admit {
        if self.deadline.is_some_and(|d| at >= d) {
            return Admit::Stop;
        }
        if at < self.measure_start {
            return Admit::Warmup;
        }
        match &self.budget {
            None => Admit::Measured,
            Some(left) => {
                match left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                {
                    Ok(_) => Admit::Measured,
                    Err(_) => Admit::Stop,
                }
            }
        }
    }
}

/// What one answered request brought back.
pub(crate) struct Answer {
    pub documents: u64,
    /// `None` for Noop, which names no model.
    pub version: Option<String>,
    pub document_errors: Vec<Code>,
}

/// The requests a run cycles through, and what every worker shares.
struct Shared {
    options: LoadOptions,
    plan: Plan,
    documents: Vec<pb::ClassifyRequest>,
    batches: Vec<pb::ClassifyBatchRequest>,
    next: AtomicU64,
    stats: Mutex<Stats>,
}

impl Shared {
    fn stats(&self) -> MutexGuard<'_, Stats> {
        // A panicking worker cannot leave the counters half-written in a way
        // that matters for a report.
        self.stats.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn next_index(&self) -> usize {
        self.next.fetch_add(1, Ordering::Relaxed) as usize
    }

    fn document(&self, i: usize) -> pb::ClassifyRequest {
        self.documents[i % self.documents.len()].clone()
    }
}

#[derive(Clone)]
struct Clients {
    classifier: ClassifierClient<Channel>,
    transport: TransportClient<Channel>,
}

impl Clients {
    fn new(channel: Channel) -> Clients {
        Clients {
            classifier: ClassifierClient::new(channel.clone())
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES),
            transport: TransportClient::new(channel)
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES),
        }
    }
}

fn endpoint(target: &Target, timeout: Duration) -> Result<Endpoint> {
    let uri = target.uri();
    crate::service::client::endpoint(uri.clone(), timeout).map_err(|e| LoadgenError::Connect {
        uri,
        reason: e.to_string(),
    })
}

async fn connect(target: &Target, timeout: Duration) -> Result<Channel> {
    endpoint(target, timeout)?
        .connect()
        .await
        .map_err(|e| LoadgenError::Connect {
            uri: target.uri(),
            reason: error_chain(&e),
        })
}

/// An error and its sources on one line.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![err.to_string()];
    let mut source = err.source();
    while let Some(e) = source {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = e.source();
    }
    parts.join(": ")
}

/// Polls the health service until `docclass.v1.Classifier` is SERVING and
/// returns how long after `since` that was; fails `within` after `since`.
/// `since` is the generator's own start, so a script that starts the
/// generator and then the server gets an upper bound of the server's
/// start-up to SERVING.
pub async fn wait_ready(target: &Target, since: Instant, within: Duration) -> Result<Duration> {
    let deadline = since + within;
    let mut last: String;
    let endpoint = endpoint(target, Duration::from_millis(500))?;
    loop {
        match endpoint.connect().await {
            Ok(channel) => {
                let mut health = HealthClient::new(channel);
                loop {
                    let request = HealthCheckRequest {
                        service: SERVICE_NAME.to_string(),
                    };
                    match health.check(request).await {
                        Ok(r) if r.get_ref().status == ServingStatus::Serving as i32 => {
                            return Ok(since.elapsed())
                        }
                        Ok(r) => {
                            last = ServingStatus::try_from(r.get_ref().status)
                                .map(|s| s.as_str_name().to_string())
                                .unwrap_or_else(|_| format!("status {}", r.get_ref().status));
                        }
                        Err(status) => {
                            last = code_name(status.code()).to_string();
                            if status.code() == Code::Unavailable {
                                break; // reconnect
                            }
                        }
                    }
                    if Instant::now() >= deadline {
                        break;
                    }
                    tokio::time::sleep(READY_POLL).await;
                }
            }
            Err(e) => last = format!("cannot connect: {}", error_chain(&e)),
        }
        if Instant::now() >= deadline {
            return Err(LoadgenError::NotReady {
                waited_secs: within.as_secs_f64(),
                last,
            });
        }
        tokio::time::sleep(READY_POLL).await;
    }
}

/// Runs the load described by `options` against `target`, cycling through
/// `documents`, and reports what it measured.
pub async fn run(
    target: &Target,
    documents: Vec<pb::ClassifyRequest>,
    options: &LoadOptions,
) -> Result<LoadReport> {
    options.validate()?;
    if documents.is_empty() {
        return Err(LoadgenError::NoDocuments("the request list".into()));
    }
    let mut clients = Vec::with_capacity(options.connections);
    for _ in 0..options.connections {
        clients.push(Clients::new(connect(target, options.timeout).await?));
    }
    let batches = if options.mode == Mode::Batch {
        build_batches(&documents, options.batch_size)
    } else {
        Vec::new()
    };
    let start = Instant::now();
    let measure_start = start + options.warmup;
    let shared = Arc::new(Shared {
        options: options.clone(),
        plan: Plan {
            measure_start,
            deadline: options.duration.map(|d| measure_start + d),
            budget: options.requests.map(AtomicU64::new),
        },
        documents,
        batches,
        next: AtomicU64::new(0),
        stats: Mutex::new(Stats::new()),
    });
    let mut workers = Vec::new();
    match options.rate {
        Some(rate) => {
            open_loop(rate, &clients, &shared).await?;
        }
        None => {
            for w in 0..options.concurrency {
                let c = clients[w % clients.len()].clone();
                let s = shared.clone();
                workers.push(if options.mode == Mode::Stream {
                    tokio::spawn(stream_worker(c, s))
                } else {
                    tokio::spawn(closed_worker(c, s))
                });
            }
        }
    }
    for worker in workers {
        // A worker that panicked has recorded what it got; the report says the rest.
        let _ = worker.await;
    }
    let stats = std::mem::replace(&mut *shared.stats(), Stats::new());
    Ok(LoadReport::new(target, options, measure_start, stats))
}

/// Batches of `size` documents, taken cyclically, covering every document once at least.
fn build_batches(documents: &[pb::ClassifyRequest], size: usize) -> Vec<pb::ClassifyBatchRequest> {
    let count = documents.len().div_ceil(size).max(1);
    (0..count)
        .map(|b| pb::ClassifyBatchRequest {
            documents: (0..size)
                .map(|j| documents[(b * size + j) % documents.len()].clone())
                .collect(),
        })
        .collect()
}

/// Sends request `i` and waits for its answer.
async fn call(
    clients: &mut Clients,
    shared: &Shared,
    i: usize,
) -> std::result::Result<Answer, Status> {
    let timeout = shared.options.timeout;
    match shared.options.mode {
        // Stream runs go through `stream_worker`; Classify stands in if ever called.
        Mode::Unary | Mode::Stream => {
            let mut request = tonic::Request::new(shared.document(i));
            request.set_timeout(timeout);
            let response = clients.classifier.classify(request).await?.into_inner();
            Ok(Answer {
                documents: 1,
                version: Some(response.model_version),
                document_errors: Vec::new(),
            })
        }
        Mode::Noop => {
            let mut request = tonic::Request::new(shared.document(i));
            request.set_timeout(timeout);
            clients.transport.noop(request).await?;
            Ok(Answer {
                documents: 1,
                version: None,
                document_errors: Vec::new(),
            })
        }
        Mode::Batch => {
            let batch = shared.batches[i % shared.batches.len()].clone();
            let mut request = tonic::Request::new(batch);
            request.set_timeout(timeout);
            let response = clients
                .classifier
                .classify_batch(request)
                .await?
                .into_inner();
            let mut answer = Answer {
                documents: 0,
                version: Some(response.model_version),
                document_errors: Vec::new(),
            };
            for outcome in response.outcomes {
                match outcome.outcome {
                    Some(pb::classify_outcome::Outcome::Result(_)) => answer.documents += 1,
                    Some(pb::classify_outcome::Outcome::Error(e)) => {
                        answer.document_errors.push(Code::from_i32(e.code))
                    }
                    None => answer.document_errors.push(Code::Unknown),
                }
            }
            Ok(answer)
        }
    }
}

async fn closed_worker(mut clients: Clients, shared: Arc<Shared>) {
    loop {
        let sent = Instant::now();
        let admit = shared.plan.admit(sent);
        if admit == Admit::Stop {
            break;
        }
        let i = shared.next_index();
        let result = call(&mut clients, &shared, i).await;
        if admit == Admit::Measured {
            shared.stats().record(sent, result);
        }
    }
}

async fn open_loop(rate: f64, clients: &[Clients], shared: &Arc<Shared>) -> Result<()> {
    let in_flight = Arc::new(Semaphore::new(shared.options.concurrency));
    let mut due_times = pace(rate, shared.clone())?;
    let mut n = 0usize;
    while let Some((due, admit)) = due_times.recv().await {
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            break; // never closed
        };
        let mut c = clients[n % clients.len()].clone();
        n += 1;
        let s = shared.clone();
        tokio::spawn(async move {
            let i = s.next_index();
            let result = call(&mut c, &s, i).await;
            if admit == Admit::Measured {
                s.stats().record(due, result);
            }
            drop(permit);
        });
    }
    // Every permit back means every request has been answered.
    let all = u32::try_from(shared.options.concurrency).unwrap_or(u32::MAX);
    let _ = in_flight.acquire_many(all).await;
    Ok(())
}

/// Due times the pacer may be ahead of the requests sent: past them it
/// waits, and the requests it then hands over late count their lateness.
const PACED_AHEAD: usize = 1024;

/// The due time of each request at `rate`, each sent when it is due by a
/// thread of its own that sleeps on the system's high-resolution timer,
/// until the plan stops admitting. The channel closes after the last one.
fn pace(rate: f64, shared: Arc<Shared>) -> Result<mpsc::Receiver<(Instant, Admit)>> {
    let (tx, rx) = mpsc::channel(PACED_AHEAD);
    let start = Instant::now();
    std::thread::Builder::new()
        .name("docclass-bench-pacer".into())
        .spawn(move || {
            for n in 0u64.. {
                let due = start + Duration::from_secs_f64(n as f64 / rate);
                let admit = shared.plan.admit(due);
                if admit == Admit::Stop {
                    return;
                }
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                if tx.blocking_send((due, admit)).is_err() {
                    return;
                }
            }
        })
        .map_err(LoadgenError::Pacer)?;
    Ok(rx)
}

/// One ClassifyStream: a sender keeps up to `stream_window` messages in
/// flight; outcomes come back in order, so each one matches the oldest
/// pending send.
async fn stream_worker(mut clients: Clients, shared: Arc<Shared>) {
    let window = shared.options.stream_window;
    let (tx, rx) = mpsc::channel::<pb::ClassifyRequest>(window);
    let pending: Arc<Mutex<VecDeque<(Instant, Admit)>>> = Arc::default();
    let slots = Arc::new(Semaphore::new(window));
    let sender = {
        let (shared, pending, slots) = (shared.clone(), pending.clone(), slots.clone());
        tokio::spawn(async move {
            loop {
                let Ok(slot) = slots.acquire().await else {
                    break;
                };
                slot.forget(); // given back when the outcome arrives
                let sent = Instant::now();
                let admit = shared.plan.admit(sent);
                if admit == Admit::Stop {
                    break;
                }
                let request = shared.document(shared.next_index());
                lock(&pending).push_back((sent, admit));
                if tx.send(request).await.is_err() {
                    break;
                }
            }
            // Dropping `tx` ends the request stream; the server then ends its answers.
        })
    };
    let request = tonic::Request::new(tokio_stream::wrappers::ReceiverStream::new(rx));
    match clients.classifier.classify_stream(request).await {
        Err(status) => shared.stats().record_failure(&status),
        Ok(response) => {
            let mut inbound = response.into_inner();
            loop {
                match inbound.message().await {
                    Ok(Some(outcome)) => {
                        let Some((sent, admit)) = lock(&pending).pop_front() else {
                            break;
                        };
                        slots.add_permits(1);
                        if admit == Admit::Measured {
                            shared.stats().record(sent, Ok(stream_answer(outcome)));
                        }
                    }
                    Ok(None) => break,
                    Err(status) => {
                        shared.stats().record_failure(&status);
                        break;
                    }
                }
            }
        }
    }
    sender.abort();
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn stream_answer(outcome: pb::ClassifyOutcome) -> Answer {
    match outcome.outcome {
        Some(pb::classify_outcome::Outcome::Result(r)) => Answer {
            documents: 1,
            version: Some(r.model_version),
            document_errors: Vec::new(),
        },
        Some(pb::classify_outcome::Outcome::Error(e)) => Answer {
            documents: 0,
            version: None,
            document_errors: vec![Code::from_i32(e.code)],
        },
        None => Answer {
            documents: 0,
            version: None,
            document_errors: vec![Code::Unknown],
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> LoadOptions {
        LoadOptions {
            duration: Some(Duration::from_secs(1)),
            ..LoadOptions::default()
        }
    }

    #[test]
    fn unbounded_and_nonsense_options_are_refused() {
        assert!(options().validate().is_ok());
        let refused = [
            LoadOptions {
                duration: None,
                requests: None,
                ..options()
            },
            LoadOptions {
                duration: Some(Duration::ZERO),
                ..options()
            },
            LoadOptions {
                requests: Some(0),
                ..options()
            },
            LoadOptions {
                rate: Some(0.0),
                ..options()
            },
            LoadOptions {
                rate: Some(f64::NAN),
                ..options()
            },
            LoadOptions {
                rate: Some(100.0),
                mode: Mode::Stream,
                ..options()
            },
            LoadOptions {
                concurrency: 0,
                ..options()
            },
            LoadOptions {
                connections: 9,
                ..options()
            },
            LoadOptions {
                batch_size: 0,
                ..options()
            },
        ];
        for o in refused {
            assert!(
                matches!(o.validate(), Err(LoadgenError::BadOption(_))),
                "{o:?} must be refused"
            );
        }
    }

    #[test]
    fn the_budget_stops_after_n_measured_requests() {
        let now = Instant::now();
        let plan = Plan {
            measure_start: now + Duration::from_secs(60),
            deadline: None,
            budget: Some(AtomicU64::new(2)),
        };
        assert_eq!(plan.admit(now), Admit::Warmup);
        let later = now + Duration::from_secs(61);
        assert_eq!(plan.admit(later), Admit::Measured);
        assert_eq!(plan.admit(later), Admit::Measured);
        assert_eq!(plan.admit(later), Admit::Stop);
    }

    #[test]
    fn batches_cover_every_document() {
        let docs: Vec<pb::ClassifyRequest> = (0..5)
            .map(|i| pb::ClassifyRequest {
                id: i.to_string(),
                ..Default::default()
            })
            .collect();
        let batches = build_batches(&docs, 2);
        let ids: Vec<Vec<&str>> = batches
            .iter()
            .map(|b| b.documents.iter().map(|d| d.id.as_str()).collect())
            .collect();
        assert_eq!(ids, vec![vec!["0", "1"], vec!["2", "3"], vec!["4", "0"]]);
    }
}
