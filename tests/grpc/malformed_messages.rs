//! Request messages that do not decode — raw bytes that are not valid UTF-8
//! in a protobuf `string` field, sent in hand-built gRPC frames
//! (`crate::common::raw_grpc`) — get a clear status, and the server stays up.
//!
//! The refusal comes from the server's request decoder, before any handler
//! runs: INVALID_ARGUMENT (the sender's fault, not tonic's INTERNAL), with
//! prost's reason, naming the field path from the request down, also as a
//! `BadRequest` field violation.
use crate::common::messages::request;
use crate::common::raw_grpc;
use crate::common::{tiny_model, TestServer, TROOPS};
use docclass::service::pb::classify_outcome::Outcome;
use docclass::service::pb::{
    ClassifyBatchRequest, ClassifyBatchResponse, ClassifyOutcome, ClassifyResponse,
};
use prost::Message;
use tonic::{Code, Status};
use tonic_types::StatusExt;

/// "café" in Latin-1 and two bytes that never occur in UTF-8.
const NOT_UTF8: &[u8] = b"caf\xe9 \xff\xfe";

/// A `ClassifyRequest` whose `text` (field 1) holds `text` unchecked.
fn request_with_raw_text(text: &[u8]) -> Vec<u8> {
    let mut message = vec![0x0a, text.len() as u8]; // field 1, length-delimited; short text
    message.extend_from_slice(text);
    message
}

fn assert_decode_error(status: &Status, field: &str) {
    assert_refused(
        status,
        field,
        "invalid string value: data is not UTF-8 encoded",
    );
}

/// INVALID_ARGUMENT for `field`, with `reason`, in the message and as the
/// one `BadRequest` violation.
fn assert_refused(status: &Status, field: &str, reason: &str) {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let message = format!("the request does not decode as protobuf: {field}: {reason}");
    assert_eq!(status.message(), message);
    let violations = status
        .get_details_bad_request()
        .expect("a BadRequest detail")
        .field_violations;
    assert_eq!(violations.len(), 1);
    assert_eq!(violations[0].field, field);
    assert_eq!(violations[0].description, message);
}

/// A well-formed Classify on `server`, over a fresh connection.
async fn assert_server_answers(server: &TestServer) {
    let labels = server
        .client()
        .await
        .classify(request(TROOPS))
        .await
        .expect("the server still answers")
        .into_inner()
        .labels;
    assert_eq!(labels, ["conflict"]);
}

#[tokio::test]
async fn invalid_utf8_text_in_classify_is_invalid_argument_naming_the_field() {
    let server = TestServer::start(Some(tiny_model())).await;
    let channel = server.channel().await;
    // The frame itself is fine: the same bytes with valid UTF-8 are answered.
    let ok: ClassifyResponse = raw_grpc::unary(
        channel.clone(),
        raw_grpc::CLASSIFY,
        request_with_raw_text(TROOPS.as_bytes()),
    )
    .await
    .expect("a hand-built frame with valid UTF-8 is answered");
    assert_eq!(ok.labels, ["conflict"]);

    let status = raw_grpc::unary::<ClassifyResponse>(
        channel.clone(),
        raw_grpc::CLASSIFY,
        request_with_raw_text(NOT_UTF8),
    )
    .await
    .expect_err("invalid UTF-8 is refused");
    assert_decode_error(&status, "text");

    // The same connection, and a new one, still work.
    let again: ClassifyResponse = raw_grpc::unary(
        channel,
        raw_grpc::CLASSIFY,
        request_with_raw_text(TROOPS.as_bytes()),
    )
    .await
    .expect("the connection survives the decode error");
    assert_eq!(again, ok);
    assert_server_answers(&server).await;
    server.stop().await;
}

#[tokio::test]
async fn invalid_utf8_in_other_string_fields_names_each_field() {
    let server = TestServer::start(Some(tiny_model())).await;
    let text = request(TROOPS).encode_to_vec();
    // title = 2, id = 3, language = 6, topics = 7.
    for (tag, field) in [
        (0x12, "title"),
        (0x1a, "id"),
        (0x32, "language"),
        (0x3a, "topics"),
    ] {
        let mut message = text.clone();
        message.extend_from_slice(&[tag, NOT_UTF8.len() as u8]);
        message.extend_from_slice(NOT_UTF8);
        let status = raw_grpc::unary::<ClassifyResponse>(
            server.channel().await,
            raw_grpc::CLASSIFY,
            message,
        )
        .await
        .expect_err("invalid UTF-8 is refused");
        assert_decode_error(&status, field);
    }
    assert_server_answers(&server).await;
    server.stop().await;
}

/// One undecodable document fails the whole batch: decoding happens before
/// the handler, so the per-document error slots cannot carry it.
#[tokio::test]
async fn invalid_utf8_in_one_batch_document_fails_the_whole_batch() {
    let server = TestServer::start(Some(tiny_model())).await;
    let good = request(TROOPS).encode_to_vec();
    let bad = request_with_raw_text(NOT_UTF8);
    let mut batch = Vec::new();
    for document in [&good, &bad, &good] {
        batch.push(0x0a); // documents = 1, length-delimited
        batch.push(document.len() as u8);
        batch.extend_from_slice(document);
    }
    let status = raw_grpc::unary::<ClassifyBatchResponse>(
        server.channel().await,
        raw_grpc::CLASSIFY_BATCH,
        batch,
    )
    .await
    .expect_err("the batch does not decode");
    // The path from the request down; prost does not give the index.
    assert_decode_error(&status, "documents.text");

    // A well-formed batch on the same server is answered.
    let ok = server
        .client()
        .await
        .classify_batch(ClassifyBatchRequest {
            documents: vec![request(TROOPS)],
        })
        .await
        .expect("a well-formed batch is answered")
        .into_inner();
    assert_eq!(ok.outcomes.len(), 1);
    server.stop().await;
}

/// In a stream, the outcomes before the bad message arrive, then the stream
/// ends with the decode error; messages after it are never read.
#[tokio::test]
async fn invalid_utf8_in_a_stream_ends_it_after_the_earlier_outcomes() {
    let server = TestServer::start(Some(tiny_model())).await;
    let good = request(TROOPS).encode_to_vec();
    let mut outcomes = raw_grpc::streaming::<ClassifyOutcome>(
        server.channel().await,
        raw_grpc::CLASSIFY_STREAM,
        vec![good.clone(), request_with_raw_text(NOT_UTF8), good],
    )
    .await
    .expect("the stream opens");
    let first = outcomes
        .message()
        .await
        .expect("the first message is fine")
        .expect("an outcome");
    assert_eq!(first.index, 0);
    match first.outcome {
        Some(Outcome::Result(r)) => assert_eq!(r.labels, ["conflict"]),
        other => panic!("expected a result, got {other:?}"),
    }
    let status = outcomes
        .message()
        .await
        .expect_err("the second message does not decode");
    assert_decode_error(&status, "text");
    // The stream is over: the third message is never answered.
    assert!(matches!(outcomes.message().await, Ok(None)));
    assert_server_answers(&server).await;
    server.stop().await;
}

/// Not even a protobuf message: a truncated length-delimited field.
#[tokio::test]
async fn truncated_message_is_invalid_argument_and_the_server_stays_up() {
    let server = TestServer::start(Some(tiny_model())).await;
    // Field 1 says 100 bytes follow; 3 do.
    let status = raw_grpc::unary::<ClassifyResponse>(
        server.channel().await,
        raw_grpc::CLASSIFY,
        vec![0x0a, 100, b'a', b'b', b'c'],
    )
    .await
    .expect_err("a truncated message is refused");
    assert_refused(&status, "text", "buffer underflow");
    assert_server_answers(&server).await;
    server.stop().await;
}
