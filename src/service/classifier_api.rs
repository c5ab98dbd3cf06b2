//! The `docclass.v1.Classifier` handlers: validate → convert → classify → map
//! the error. Each RPC logs one line: method, status, latency, documents.
//! Every classification (unary, batch, stream message) runs on the blocking
//! pool under a bounded number of workers, never on the async workers.
use super::conversions::{
    classify_response, document_input, model_info, topics_response, FieldPrefix,
};
use super::error::ServiceError;
use super::pb;
use super::pb::classifier_server::Classifier;
use super::state::{LoadedModel, State};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;
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

/// Runs `work` on the blocking pool once one of the classification workers
/// (`State::workers`, one per core) is free: classification never runs on the
/// async workers, which must stay free for health checks, reflection and
/// I/O. `work` gets a flag set when this future is dropped (client cancel,
/// deadline, server timeout); dropping it while it waits for a worker stops
/// the wait, and a batch stops between documents.
async fn on_worker<T, F>(state: &State, work: F) -> Result<T, ServiceError>
where
    T: Send + 'static,
    F: FnOnce(&AtomicBool) -> T + Send + 'static,
{
    let cancel = CancelOnDrop::default();
    let cancelled = cancel.0.clone();
    let worker = state
        .workers
        .clone()
        .acquire_owned()
        .await
        .map_err(|e| ServiceError::Internal(format!("classification workers closed: {e}")))?;
    tokio::task::spawn_blocking(move || {
        let _worker = worker;
        work(&cancelled)
    })
    .await
    .map_err(|e| ServiceError::Internal(format!("classification worker failed: {e}")))
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
                on_worker(&self.state, move |_| {
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
            // Stops between documents once this future is dropped (deadline,
            // server timeout, client cancel): nobody will read the rest.
            on_worker(&self.state.clone(), move |cancelled| {
                let outcomes = documents
                    .into_iter()
                    .enumerate()
                    .take_while(|_| !cancelled.load(Ordering::Relaxed))
                    .map(|(i, req)| {
                        outcome(
                            &loaded,
                            &state,
                            i as u64,
                            req,
                            FieldPrefix::BatchDocument(i),
                        )
                    })
                    .collect::<Vec<_>>();
                state.metrics.documents_classified(classified(&outcomes));
                pb::ClassifyBatchResponse {
                    outcomes,
                    model_version: loaded.model.version().to_string(),
                }
            })
            .await
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
        let mut inbound = request.into_inner();
        let state = self.state.clone();
        let idle = state.limits.stream_idle_timeout;
        let (tx, rx) =
            tokio::sync::mpsc::channel::<Result<pb::ClassifyOutcome, Status>>(STREAM_BUFFER);
        tokio::spawn(async move {
            let mut index = 0u64;
            let mut code = Code::Ok;
            loop {
                // A client that keeps a stream open and silent would hold
                // its admission slot for ever.
                let message = match tokio::time::timeout(idle, inbound.next()).await {
                    Ok(Some(message)) => message,
                    Ok(None) => break,
                    Err(_) => Err(Status::from(ServiceError::StreamIdle {
                        millis: u64::try_from(idle.as_millis()).unwrap_or(u64::MAX),
                    })),
                };
                let item = match message {
                    Ok(req) => match state.slot.load_full() {
                        Some(loaded) => {
                            let worker_state = state.clone();
                            // One message at a time: outcomes keep their order.
                            on_worker(&state, move |_| {
                                outcome(&loaded, &worker_state, index, req, FieldPrefix::Request)
                            })
                            .await
                            .inspect(|done| {
                                state
                                    .metrics
                                    .documents_classified(classified(std::slice::from_ref(done)))
                            })
                            .map_err(Status::from)
                        }
                        None => Err(Status::from(ServiceError::ModelNotLoaded)),
                    },
                    Err(status) => Err(status),
                };
                let failed = item.as_ref().err().map(Status::code);
                // The client went away: stop reading.
                if tx.send(item).await.is_err() {
                    code = Code::Cancelled;
                    break;
                }
                index += 1;
                if let Some(c) = failed {
                    code = c;
                    break;
                }
            }
            log_rpc("ClassifyStream", code, started, index as usize);
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
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
