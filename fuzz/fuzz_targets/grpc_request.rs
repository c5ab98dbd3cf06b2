//! Fuzz target `grpc_request`: arbitrary bytes as the protobuf message of a
//! `Classify`, `ClassifyBatch` or `ClassifyStream` call to a real in-process
//! server (loopback TCP, small limits, the tiny test model), so the bytes go
//! through tonic's decoding, the service's validation and conversion, and
//! `Model::classify`.
//!
//! Input: byte 0 picks the RPC; the rest is the message, sent unchanged.
//! Oracle: prost decodes the same bytes locally. Bytes prost refuses must come
//! back as INTERNAL (tonic's decode error); a message that decodes is either
//! answered or refused as INVALID_ARGUMENT, and an answer must be consistent
//! with the request and, for plain requests, with the in-process model.
#![no_main]

#[path = "../../tests/grpc/common/raw_grpc.rs"]
mod raw_grpc;

use docclass::model::Model;
use docclass::service::pb;
use docclass::service::{Limits, LoadedModel, Server};
use libfuzzer_sys::fuzz_target;
use prost::Message;
use std::sync::LazyLock;
use std::time::Duration;
use tonic::transport::Channel;
use tonic::{Code, Status};

/// Small limits, so inputs of a few KiB reach the limit checks.
const LIMITS: Limits = Limits {
    max_text_bytes: 1024,
    max_batch_documents: 4,
    max_message_bytes: 1 << 20,
    max_explain_terms: 100,
    // One fuzz input at a time: admission never sheds it.
    max_concurrent_requests: 64,
    max_streams: 1024,
    max_streams_per_connection: 64,
    max_concurrent_streams: 100,
    stream_idle_timeout: Duration::from_secs(60),
    max_connections: 1024,
    connection_first_bytes_timeout: Duration::from_secs(10),
    max_side_streams: 256,
    side_stream_lifetime: Duration::from_secs(600),
};

const MODEL_FILE: &[u8] = include_bytes!("../../tests/fixtures/tiny-v1.model");

struct Harness {
    runtime: tokio::runtime::Runtime,
    channel: Channel,
    /// The same model as the server's, to check answers against.
    reference: Model,
}

static HARNESS: LazyLock<Harness> = LazyLock::new(|| {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let load = || Model::from_bytes(MODEL_FILE).expect("the committed tiny model loads");
    let served = load();
    let channel = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        // A server-side timeout well above libFuzzer's -timeout, so a hang is
        // reported by libFuzzer rather than hidden as DEADLINE_EXCEEDED.
        let server = Server::new(LIMITS, Duration::from_secs(120)).await;
        server
            .handle()
            .install(LoadedModel {
                model: served,
                model_id: "tiny-v1.model".into(),
                loaded_at: "2026-01-01T00:00:00Z".into(),
            })
            .await;
        tokio::spawn(server.serve(listener, std::future::pending()));
        Channel::from_shared(format!("http://{addr}"))
            .expect("valid url")
            .connect()
            .await
            .expect("connect to the fuzz server")
    });
    Harness {
        runtime,
        channel,
        reference: load(),
    }
});

/// Checks one answered document against its request.
fn check_response(reference: &Model, req: &pb::ClassifyRequest, resp: &pb::ClassifyResponse) {
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
fn check_outcome(
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
/// prost refuses must be refused as INVALID_ARGUMENT. Returns the decoded request
/// and the server's answer when prost accepts the bytes.
async fn exchange<Req, Resp>(
    h: &Harness,
    method: &'static str,
    message: &[u8],
) -> Option<(Req, Result<Resp, Status>)>
where
    Req: Message + Default,
    Resp: Message + Default + Sync + std::fmt::Debug + 'static,
{
    let decoded = Req::decode(message);
    let answer = raw_grpc::unary::<Resp>(h.channel.clone(), method, message.to_vec()).await;
    match (decoded, answer) {
        (Err(_), Err(status)) => {
            assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
            None
        }
        (Err(e), Ok(resp)) => panic!("answered bytes prost refuses ({e}): {resp:?}"),
        (Ok(req), answer) => Some((req, answer)),
    }
}

async fn classify(h: &Harness, message: &[u8]) {
    let exchanged =
        exchange::<pb::ClassifyRequest, pb::ClassifyResponse>(h, raw_grpc::CLASSIFY, message);
    match exchanged.await {
        None => {}
        Some((req, Err(status))) => {
            assert_eq!(status.code(), Code::InvalidArgument, "{req:?}: {status:?}")
        }
        Some((req, Ok(resp))) => check_response(&h.reference, &req, &resp),
    }
}

async fn classify_batch(h: &Harness, message: &[u8]) {
    let exchanged = exchange::<pb::ClassifyBatchRequest, pb::ClassifyBatchResponse>(
        h,
        raw_grpc::CLASSIFY_BATCH,
        message,
    );
    match exchanged.await {
        None => {}
        Some((req, Err(status))) => {
            assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
            assert!(req.documents.len() > LIMITS.max_batch_documents);
        }
        Some((req, Ok(resp))) => {
            assert_eq!(resp.outcomes.len(), req.documents.len());
            for (i, (doc, outcome)) in req.documents.iter().zip(&resp.outcomes).enumerate() {
                check_outcome(&h.reference, i, &format!("documents[{i}]."), doc, outcome);
            }
        }
    }
}

async fn classify_stream(h: &Harness, message: &[u8]) {
    let decoded = pb::ClassifyRequest::decode(message);
    let mut outcomes = raw_grpc::streaming::<pb::ClassifyOutcome>(
        h.channel.clone(),
        raw_grpc::CLASSIFY_STREAM,
        vec![message.to_vec()],
    )
    .await
    .expect("the stream opens");
    let first = outcomes.message().await;
    match (decoded, first) {
        (Err(_), Err(status)) => {
            assert_eq!(status.code(), Code::InvalidArgument, "{status:?}")
        }
        (Err(e), Ok(outcome)) => panic!("answered bytes prost refuses ({e}): {outcome:?}"),
        (Ok(req), Err(status)) => panic!("{req:?} ended the stream: {status:?}"),
        (Ok(req), Ok(outcome)) => {
            let outcome = outcome.expect("one outcome per request");
            check_outcome(&h.reference, 0, "", &req, &outcome);
            let end = outcomes.message().await;
            assert!(matches!(end, Ok(None)), "{end:?}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, message)) = data.split_first() else {
        return;
    };
    let h = &*HARNESS;
    match selector % 3 {
        0 => h.runtime.block_on(classify(h, message)),
        1 => h.runtime.block_on(classify_batch(h, message)),
        _ => h.runtime.block_on(classify_stream(h, message)),
    }
});
