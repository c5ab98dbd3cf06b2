//! The `docclass.v1.Classifier` handlers: validate → convert → classify → map
//! the error. Each RPC logs one line: method, status, latency, documents.
//! Classification (unary, batch, stream messages) runs on the
//! classification threads (`workers.rs`) unless it is cheap by
//! construction; a batch with enough text is split across them.
use super::conversions::{
    classify_response, document_input, model_info, topics_response, FieldPrefix,
};
use super::error::ServiceError;
use super::incoming::ConnectionInfo;
use super::pb;
use super::pb::classifier_server::Classifier;
use super::state::{LoadedModel, State};
use super::workers::{run_here, Cost};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};
use tokio_stream::{Stream, StreamExt};
use tonic::{Code, Request, Response, Status, Streaming};

/// Outcomes buffered per stream before the server stops reading the client's
/// messages: a slow reader applies back-pressure instead of growing memory.
const STREAM_BUFFER: usize = 32;

/// Implements the `Classifier` service over the shared state.
#[derive(Clone)]
pub struct ClassifierApi {
    state: Arc<State>,
}

impl ClassifierApi {
    pub(crate) fn new(state: Arc<State>) -> Self {
        Self { state }
    }

    fn model(&self) -> Result<Arc<LoadedModel>, ServiceError> {
        self.state
            .slot
            .load_full()
            .ok_or(ServiceError::ModelNotLoaded)
    }
}

fn log_rpc(method: &str, code: Code, started: Instant, documents: usize) {
    tracing::info!(
        target: "docclass::rpc",
        method,
        status = ?code,
        latency_us = started.elapsed().as_micros() as u64,
        documents,
        "rpc"
    );
}

/// Logs and returns a handler's result.
fn finish<T>(
    method: &str,
    started: Instant,
    documents: usize,
    result: Result<T, ServiceError>,
) -> Result<Response<T>, Status> {
    match result {
        Ok(v) => {
            log_rpc(method, Code::Ok, started, documents);
            Ok(Response::new(v))
        }
        Err(e) => {
            log_rpc(method, e.code(), started, documents);
            Err(e.into())
        }
    }
}

/// Classifies one validated-or-not request against `loaded`.
fn classify_one(
    loaded: &LoadedModel,
    state: &State,
    req: pb::ClassifyRequest,
    prefix: FieldPrefix,
) -> Result<pb::ClassifyResponse, ServiceError> {
    let input = document_input(req, prefix, loaded, &state.limits)?;
    let result = loaded.model.classify(&input.text, input.hint);
    Ok(classify_response(loaded, &input, &result))
}

/// One outcome of a batch or stream: a result, or this document's error.
fn outcome(
    loaded: &LoadedModel,
    state: &State,
    index: u64,
    req: pb::ClassifyRequest,
    prefix: FieldPrefix,
) -> pb::ClassifyOutcome {
    let id = req.id.clone();
    let outcome = match classify_one(loaded, state, req, prefix) {
        Ok(r) => pb::classify_outcome::Outcome::Result(r),
        Err(e) => pb::classify_outcome::Outcome::Error(e.to_document_error()),
    };
    pb::ClassifyOutcome {
        index,
        id,
        outcome: Some(outcome),
    }
}

/// How many outcomes are results (documents classified), not errors.
fn classified(outcomes: &[pb::ClassifyOutcome]) -> u64 {
    outcomes
        .iter()
        .filter(|o| matches!(o.outcome, Some(pb::classify_outcome::Outcome::Result(_))))
        .count() as u64
}

/// Sets its flag when dropped.
#[derive(Default)]
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Runs `work`, of `cost`, here when it is cheap, else on a classification
/// thread (`State::workers`). `work` gets a flag set when this future is
/// dropped (client cancel, deadline, server timeout); dropping it while it
/// waits for a thread stops the wait, and a batch stops between documents.
async fn on_worker<T, F>(state: &State, cost: Cost, work: F) -> Result<T, ServiceError>
where
    T: Send + 'static,
    F: FnOnce(&AtomicBool) -> T + Send + 'static,
{
    let hook = state.worker_hook.get().cloned();
    // A test's hook holds work where a test can see it: on the pool.
    if cost.is_cheap() && hook.is_none() {
        return run_here(|| work(&AtomicBool::new(false)));
    }
    let cancel = CancelOnDrop::default();
    let cancelled = cancel.0.clone();
    state
        .workers
        .run(cost, move || {
            if let Some(hook) = hook {
                (hook.0)(&cancelled);
            }
            work(&cancelled)
        })
        .await
}

/// Text bytes of a batch per classification thread, at least, before the
/// batch is split across threads: below it, the extra trips to the pool
/// cost more than the wait they save.
const BATCH_SPLIT_BYTES: usize = 32 << 10;

/// The outcomes of a batch, in order. A batch with enough text is cut into
/// contiguous parts of about equal text, one per classification thread, so
/// that one large batch does not wait on a single core. Each part stops
/// between documents once this future is dropped (deadline, server timeout,
/// client cancel): nobody will read the rest.
async fn batch_outcomes(
    state: &Arc<State>,
    loaded: &Arc<LoadedModel>,
    documents: Vec<pb::ClassifyRequest>,
) -> Result<Vec<pb::ClassifyOutcome>, ServiceError> {
    let sizes: Vec<usize> = documents.iter().map(text_bytes).collect();
    let total_bytes: usize = sizes.iter().sum();
    let parts = (total_bytes / BATCH_SPLIT_BYTES)
        .clamp(1, state.workers.threads().max(1))
        .min(documents.len().max(1));
    let mut remaining = documents.into_iter();
    let mut tasks = tokio::task::JoinSet::new();
    let (mut first, mut bytes_through) = (0usize, 0usize);
    let mut parts_started = 0usize;
    for (i, &size) in sizes.iter().enumerate() {
        bytes_through += size;
        // Part k (from 1) ends once the parts so far hold k/parts of the
        // text; the last part ends with the batch.
        let part = parts_started + 1;
        let last = i + 1 == sizes.len();
        if !last && (part == parts || bytes_through * parts < total_bytes * part) {
            continue;
        }
        let requests: Vec<_> = remaining.by_ref().take(i + 1 - first).collect();
        let (state, loaded, start) = (state.clone(), loaded.clone(), first);
        let cost = Cost::of(requests.iter().flat_map(texts));
        tasks.spawn(async move {
            let worker_state = state.clone();
            let outcomes = on_worker(&state, cost, move |cancelled| {
                (start..)
                    .zip(requests)
                    .take_while(|_| !cancelled.load(Ordering::Relaxed))
                    .map(|(i, req)| {
                        let prefix = FieldPrefix::BatchDocument(i);
                        outcome(&loaded, &worker_state, i as u64, req, prefix)
                    })
                    .collect::<Vec<_>>()
            })
            .await;
            (start, outcomes)
        });
        parts_started += 1;
        first = i + 1;
    }
    // Dropping the set (this future dropped) aborts the parts still running.
    let mut done = Vec::with_capacity(tasks.len());
    while let Some(part) = tasks.join_next().await {
        let (start, outcomes) =
            part.map_err(|e| ServiceError::Internal(format!("a batch part did not finish: {e}")))?;
        done.push((start, outcomes?));
    }
    done.sort_unstable_by_key(|&(start, _)| start);
    Ok(done
        .into_iter()
        .flat_map(|(_, outcomes)| outcomes)
        .collect())
}

/// The text a request carries, as sent: what its classification costs.
fn text_bytes(req: &pb::ClassifyRequest) -> usize {
    req.text.len() + req.title.len()
}

/// The texts a request carries, for its [`Cost`].
fn texts(req: &pb::ClassifyRequest) -> [&str; 2] {
    [req.title.as_str(), req.text.as_str()]
}

/// Messages a stream hands to a worker at once, at most: those already
/// received when the first is taken. One trip to a worker thread and back
/// costs more than classifying a short document, so a stream whose client
/// sends ahead classifies its queued messages in one trip, in order.
const STREAM_CHUNK_MESSAGES: usize = STREAM_BUFFER;
/// Text bytes (title and text) in such a chunk beyond its first message,
/// at most, so that one trip stays short.
const STREAM_CHUNK_BYTES: usize = 1 << 20;

/// The outcomes of stream messages `index..`, classified in one trip to a
/// worker under a classification slot held only meanwhile; with every slot
/// taken, each message's outcome is RESOURCE_EXHAUSTED at once and the
/// stream goes on. An error ends the stream.
async fn stream_outcomes(
    state: &Arc<State>,
    index: u64,
    requests: Vec<pb::ClassifyRequest>,
) -> Result<Vec<pb::ClassifyOutcome>, ServiceError> {
    let loaded = state.slot.load_full().ok_or(ServiceError::ModelNotLoaded)?;
    let Some(_slot) = state.work.try_enter() else {
        let error = ServiceError::Overloaded {
            limit: state.work.limit(),
        }
        .to_document_error();
        return Ok((index..)
            .zip(requests)
            .map(|(index, req)| {
                state.metrics.stream_message_shed();
                pb::ClassifyOutcome {
                    index,
                    id: req.id,
                    outcome: Some(pb::classify_outcome::Outcome::Error(error.clone())),
                }
            })
            .collect());
    };
    let worker_state = state.clone();
    let cost = Cost::of(requests.iter().flat_map(texts));
    let done = on_worker(state, cost, move |_| {
        (index..)
            .zip(requests)
            .map(|(index, req)| outcome(&loaded, &worker_state, index, req, FieldPrefix::Request))
            .collect::<Vec<_>>()
    })
    .await?;
    state.metrics.documents_classified(classified(&done));
    Ok(done)
}

/// The messages already received after `first`, up to the chunk bounds, and
/// how the inbound side ended if it did meanwhile (`Some(Ok(()))`: the
/// client finished; `Some(Err(_))`: a bad message). Never waits.
fn take_ready(
    inbound: &mut Streaming<pb::ClassifyRequest>,
    first: pb::ClassifyRequest,
) -> (Vec<pb::ClassifyRequest>, Option<Result<(), Status>>) {
    let mut bytes = 0usize;
    let mut chunk = vec![first];
    let waker = std::task::Waker::noop();
    let mut cx = Context::from_waker(waker);
    while chunk.len() < STREAM_CHUNK_MESSAGES && bytes < STREAM_CHUNK_BYTES {
        match Pin::new(&mut *inbound).poll_next(&mut cx) {
            Poll::Ready(Some(Ok(req))) => {
                bytes += text_bytes(&req);
                chunk.push(req);
            }
            Poll::Ready(Some(Err(status))) => return (chunk, Some(Err(status))),
            Poll::Ready(None) => return (chunk, Some(Ok(()))),
            Poll::Pending => break,
        }
    }
    (chunk, None)
}

/// The response side of a stream: the outcomes as the handler sends them,
/// then the status the handler ended with, if not OK. The end travels apart
/// from the outcomes, so it is never stuck behind a full buffer when the
/// reader has stopped reading.
struct Outcomes {
    outcomes: mpsc::Receiver<pb::ClassifyOutcome>,
    end: Option<oneshot::Receiver<Status>>,
}

impl Stream for Outcomes {
    type Item = Result<pb::ClassifyOutcome, Status>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(outcome) = ready!(self.outcomes.poll_recv(cx)) {
            return Poll::Ready(Some(Ok(outcome)));
        }
        // Every sender is gone, so the handler has finished, and it sends
        // its end before it lets go of its sender.
        let end = self.end.take().and_then(|mut end| end.try_recv().ok());
        Poll::Ready(end.map(Err))
    }
}

type OutcomeStream =
    Pin<Box<dyn Stream<Item = Result<pb::ClassifyOutcome, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl Classifier for ClassifierApi {
    async fn classify(
        &self,
        request: Request<pb::ClassifyRequest>,
    ) -> Result<Response<pb::ClassifyResponse>, Status> {
        let started = Instant::now();
        let req = request.into_inner();
        let result = match self.model() {
            Ok(loaded) => {
                let state = self.state.clone();
                on_worker(&self.state, Cost::of(texts(&req)), move |_| {
                    classify_one(&loaded, &state, req, FieldPrefix::Request)
                })
                .await
                .and_then(|r| r)
            }
            Err(e) => Err(e),
        };
        if result.is_ok() {
            self.state.metrics.documents_classified(1);
        }
        finish("Classify", started, 1, result)
    }

    async fn classify_batch(
        &self,
        request: Request<pb::ClassifyBatchRequest>,
    ) -> Result<Response<pb::ClassifyBatchResponse>, Status> {
        let started = Instant::now();
        let documents = request.into_inner().documents;
        let n = documents.len();
        let result = async {
            let limit = self.state.limits.max_batch_documents;
            if n > limit {
                return Err(ServiceError::BatchTooLarge { size: n, limit });
            }
            // One model for the whole batch, even if another is swapped in meanwhile.
            let loaded = self.model()?;
            let state = self.state.clone();
            let outcomes = batch_outcomes(&state, &loaded, documents).await?;
            state.metrics.documents_classified(classified(&outcomes));
            Ok(pb::ClassifyBatchResponse {
                outcomes,
                model_version: loaded.model.version().to_string(),
            })
        }
        .await;
        finish("ClassifyBatch", started, n, result)
    }

    type ClassifyStreamStream = OutcomeStream;

    async fn classify_stream(
        &self,
        request: Request<Streaming<pb::ClassifyRequest>>,
    ) -> Result<Response<Self::ClassifyStreamStream>, Status> {
        let started = Instant::now();
        // Its place among the open streams, held until the stream ends; no
        // classification slot is held between messages.
        let place =
            match self.state.streams.open(
                ConnectionInfo::of(request.extensions()).and_then(ConnectionInfo::remote_addr),
            ) {
                Ok(place) => place,
                Err(e) => {
                    log_rpc("ClassifyStream", e.code(), started, 0);
                    return Err(e.into());
                }
            };
        let mut inbound = request.into_inner();
        let state = self.state.clone();
        let idle = state.limits.stream_idle_timeout;
        let millis = u64::try_from(idle.as_millis()).unwrap_or(u64::MAX);
        let (tx, rx) = mpsc::channel::<pb::ClassifyOutcome>(STREAM_BUFFER);
        let (end_tx, end_rx) = oneshot::channel::<Status>();
        tokio::spawn(async move {
            let mut index = 0u64;
            let ended: Result<(), Status> = loop {
                // A client that keeps a stream open and silent would keep
                // its place for ever.
                let req = match tokio::time::timeout(idle, inbound.next()).await {
                    Ok(Some(Ok(req))) => req,
                    Ok(Some(Err(status))) => break Err(status),
                    Ok(None) => break Ok(()),
                    Err(_) => break Err(ServiceError::StreamIdle { millis }.into()),
                };
                let (chunk, inbound_end) = take_ready(&mut inbound, req);
                let outcomes = match stream_outcomes(&state, index, chunk).await {
                    Ok(outcomes) => outcomes,
                    Err(e) => break Err(e.into()),
                };
                // So would one that stops reading: the send waits on it.
                let mut sent = Ok(());
                for done in outcomes {
                    match tokio::time::timeout(idle, tx.send(done)).await {
                        Ok(Ok(())) => index += 1,
                        // The client went away: stop reading.
                        Ok(Err(_)) => sent = Err(Status::cancelled("the client went away")),
                        Err(_) => sent = Err(ServiceError::StreamNotRead { millis }.into()),
                    }
                    if sent.is_err() {
                        break;
                    }
                }
                if let Err(status) = sent {
                    break Err(status);
                }
                if let Some(end) = inbound_end {
                    break end;
                }
            };
            // Free the place before the client can see the end.
            drop(place);
            let code = ended.as_ref().err().map_or(Code::Ok, Status::code);
            if let Err(status) = ended {
                // Nobody left to tell if the client has gone.
                drop(end_tx.send(status));
            }
            log_rpc("ClassifyStream", code, started, index as usize);
        });
        Ok(Response::new(Box::pin(Outcomes {
            outcomes: rx,
            end: Some(end_rx),
        })))
    }

    async fn list_topics(
        &self,
        _request: Request<pb::ListTopicsRequest>,
    ) -> Result<Response<pb::ListTopicsResponse>, Status> {
        let started = Instant::now();
        let result = self.model().map(|loaded| topics_response(&loaded));
        finish("ListTopics", started, 0, result)
    }

    async fn get_model_info(
        &self,
        _request: Request<pb::GetModelInfoRequest>,
    ) -> Result<Response<pb::ModelInfo>, Status> {
        let started = Instant::now();
        let result = self.model().map(|loaded| model_info(&loaded));
        finish("GetModelInfo", started, 0, result)
    }
}
