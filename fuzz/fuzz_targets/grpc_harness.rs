//! Shared by the gRPC fuzz targets (`grpc_request`, `grpc_batch_stream`): the
//! server's `Classifier` service (`Server::classifier`, small limits, the tiny
//! test model) called in-process through a raw-bytes gRPC client
//! (`tests/grpc/common/raw_grpc.rs`), and the checks of its answers.
//!
//! In-process, not over loopback TCP: each input still goes through tonic's
//! framing and decoding, the handlers, their trip to the blocking pool,
//! validation, conversion and `Model::classify`, but not through HTTP/2 and
//! a socket, which took most of every execution (and most of the coverage
//! counters libFuzzer scans after each one). One current-thread runtime
//! runs client and server on the fuzzing thread.

// Each target calls a part of it.
#[allow(dead_code)]
#[path = "../../tests/grpc/common/raw_grpc.rs"]
pub mod raw_grpc;

use docclass::model::Model;
use docclass::service::pb;
use docclass::service::pb::classifier_server::ClassifierServer;
use docclass::service::{ClassifierApi, Limits, LoadedModel, Server};
use prost::Message;
use std::sync::LazyLock;
use std::time::Duration;
use tonic::{Code, Status};

/// Small limits, so inputs of a few KiB reach the limit checks; the rest
/// as served by default (its stream idle timeout is above libFuzzer's
/// -timeout, so a hang is reported by libFuzzer).
fn limits() -> Limits {
    Limits {
        max_text_bytes: 1024,
        max_batch_documents: 4,
        max_message_bytes: 1 << 20,
        ..Limits::default()
    }
}

const MODEL_FILE: &[u8] = include_bytes!("../../tests/fixtures/tiny-v1.model");

pub struct Harness {
    pub runtime: tokio::runtime::Runtime,
    pub service: ClassifierServer<ClassifierApi>,
    /// The same model as the server's, to check answers against.
    pub reference: Model,
}

/// Built once per process, on the first input.
pub static HARNESS: LazyLock<Harness> = LazyLock::new(|| {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let load = || Model::from_bytes(MODEL_FILE).expect("the committed tiny model loads");
    let served = load();
    let service = runtime.block_on(async move {
        let server = Server::new(limits(), Duration::from_secs(120)).await;
        server
            .handle()
            .install(LoadedModel {
                model: served,
                model_file: "tiny-v1.model".into(),
                loaded_at: "2026-01-01T00:00:00Z".into(),
            })
            .await;
        server.classifier()
    });
    Harness {
        runtime,
        service,
        reference: load(),
    }
});

/// Whether `status` is how the server refuses bytes prost cannot decode:
/// INVALID_ARGUMENT, naming the bad field where it can.
pub fn is_decode_refusal(status: &Status) -> bool {
    status.code() == Code::InvalidArgument
}

/// Checks one answered document against its request.
pub fn check_response(reference: &Model, req: &pb::ClassifyRequest, resp: &pb::ClassifyResponse) {
    let ids: Vec<&str> = reference.topics().iter().map(|t| t.id.as_str()).collect();
    assert_eq!(resp.id, req.id);
    assert_eq!(resp.model_version, reference.version());
    assert!(resp.topics.len() <= ids.len());
    if req.top_k > 0 {
        assert!(resp.topics.len() <= req.top_k as usize);
    }
    for t in &resp.topics {
        assert!(ids.contains(&t.topic.as_str()), "{t:?}");
        assert!((0.0..=1.0).contains(&t.probability), "{t:?}");
    }
    for label in &resp.labels {
        assert!(ids.contains(&label.as_str()), "{label}");
    }
    if !req.explain {
        assert!(resp.explanations.is_empty());
    }
    // A plain request is exactly the in-process model's answer.
    if req.title.trim().is_empty() && req.topics.is_empty() && req.language.trim().is_empty() {
        let expected = reference.classify(&req.text, None);
        let labels: Vec<&str> = expected.decided.iter().map(|&c| ids[c]).collect();
        assert_eq!(resp.labels, labels);
        assert_eq!(resp.language, expected.language.code());
    }
}

/// Checks outcome `index` of a batch or stream; `prefix` starts its error
/// field paths.
pub fn check_outcome(
    reference: &Model,
    index: usize,
    prefix: &str,
    req: &pb::ClassifyRequest,
    outcome: &pb::ClassifyOutcome,
) {
    assert_eq!(outcome.index, index as u64);
    assert_eq!(outcome.id, req.id);
    match &outcome.outcome {
        Some(pb::classify_outcome::Outcome::Result(r)) => check_response(reference, req, r),
        Some(pb::classify_outcome::Outcome::Error(e)) => {
            assert_eq!(e.code, Code::InvalidArgument as i32, "{e:?}");
            assert!(e.field.starts_with(prefix), "{e:?}");
        }
        None => panic!("outcome {index} is empty"),
    }
}

/// Sends `message` to unary `method` and checks the decode oracle: bytes
/// prost refuses must be refused. Returns the decoded request and the
/// server's answer when prost accepts the bytes.
pub async fn exchange<Req, Resp>(
    h: &Harness,
    method: &'static str,
    message: &[u8],
) -> Option<(Req, Result<Resp, Status>)>
where
    Req: Message + Default,
    Resp: Message + Default + Sync + std::fmt::Debug + 'static,
{
    let decoded = Req::decode(message);
    let answer = raw_grpc::unary::<Resp>(h.service.clone(), method, message.to_vec()).await;
    match (decoded, answer) {
        (Err(_), Err(status)) => {
            assert!(is_decode_refusal(&status), "{status:?}");
            None
        }
        (Err(e), Ok(resp)) => panic!("answered bytes prost refuses ({e}): {resp:?}"),
        (Ok(req), answer) => Some((req, answer)),
    }
}

/// Sends a `ClassifyBatch` message and checks the answer: refused only over
/// the batch limit, else one outcome per document, in order.
pub async fn classify_batch(h: &Harness, message: &[u8]) {
    let exchanged = exchange::<pb::ClassifyBatchRequest, pb::ClassifyBatchResponse>(
        h,
        raw_grpc::CLASSIFY_BATCH,
        message,
    );
    match exchanged.await {
        None => {}
        Some((req, Err(status))) => {
            assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
            assert!(req.documents.len() > limits().max_batch_documents);
        }
        Some((req, Ok(resp))) => {
            assert_eq!(resp.model_version, h.reference.version());
            assert_eq!(resp.outcomes.len(), req.documents.len());
            for (i, (doc, outcome)) in req.documents.iter().zip(&resp.outcomes).enumerate() {
                check_outcome(&h.reference, i, &format!("documents[{i}]."), doc, outcome);
            }
        }
    }
}

/// Sends `messages` on one `ClassifyStream` and checks what comes back:
/// one outcome per message, in order, up to the first message prost refuses;
/// then the stream ends, with a decode refusal if there was such a message.
pub async fn classify_stream(h: &Harness, messages: Vec<Vec<u8>>) {
    let decoded: Vec<_> = messages
        .iter()
        .map(|m| pb::ClassifyRequest::decode(m.as_slice()))
        .collect();
    let good = decoded.iter().take_while(|d| d.is_ok()).count();
    let mut outcomes = raw_grpc::streaming::<pb::ClassifyOutcome>(
        h.service.clone(),
        raw_grpc::CLASSIFY_STREAM,
        messages,
    )
    .await
    .expect("the stream opens");
    for (index, req) in decoded.iter().map_while(|d| d.as_ref().ok()).enumerate() {
        match outcomes.message().await {
            Ok(Some(outcome)) => check_outcome(&h.reference, index, "", req, &outcome),
            other => panic!("message {index} of {good} valid: {other:?}"),
        }
    }
    let end = outcomes.message().await;
    if good < decoded.len() {
        match end {
            Err(status) => assert!(is_decode_refusal(&status), "{status:?}"),
            Ok(other) => panic!("message {good} does not decode, yet: {other:?}"),
        }
    } else {
        assert!(matches!(end, Ok(None)), "{end:?}");
    }
}
