//! ClassifyStream: one outcome per request message, in order, errors in-band.
use crate::common::messages::{request_with_id, result};
use crate::common::{tiny_model, TestServer};
use docclass::model::Model;
use docclass::service::pb::classify_outcome::Outcome;
use docclass::service::pb::{ClassifyOutcome, ClassifyRequest, DocumentError};
use docclass::service::{Limits, LoadedModel};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::timeout;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Code, Status, Streaming};

const TEXTS: [&str; 3] = [
    "Artillery shelled rebel positions as troops clashed with militia",
    "The earthquake destroyed homes and rescue teams searched the rubble",
    "The football club won the cup final in a sold out stadium",
];
const LABELS: [&str; 3] = ["conflict", "disaster", "other"];

/// No test step should take anywhere near this long.
const STEP: Duration = Duration::from_secs(5);

/// Opens a stream fed by the returned sender.
async fn open(server: &TestServer) -> (mpsc::Sender<ClassifyRequest>, Streaming<ClassifyOutcome>) {
    let (tx, rx) = mpsc::channel::<ClassifyRequest>(16);
    let inbound = server
        .client()
        .await
        .classify_stream(ReceiverStream::new(rx))
        .await
        .expect("the stream opens")
        .into_inner();
    (tx, inbound)
}

async fn next(inbound: &mut Streaming<ClassifyOutcome>) -> ClassifyOutcome {
    timeout(STEP, inbound.message())
        .await
        .expect("an outcome in time")
        .expect("no stream error")
        .expect("the stream is still open")
}

#[tokio::test]
async fn n_requests_give_n_outcomes_in_order_then_a_clean_end() {
    let model = tiny_model();
    let version = model.version().to_string();
    let server = TestServer::start(Some(model)).await;
    let (tx, mut inbound) = open(&server).await;
    // Sent ahead of the answers, so the server takes queued messages in
    // chunks: more than one chunk's worth, and the close arriving with one.
    const N: usize = 300;
    let sender = tokio::spawn(async move {
        for i in 0..N {
            tx.send(request_with_id(&format!("s{i}"), TEXTS[i % 3]))
                .await
                .expect("the stream accepts");
        }
        // Dropping `tx` closes the client's side.
    });
    for i in 0..N {
        let o = next(&mut inbound).await;
        assert_eq!(o.index, i as u64);
        assert_eq!(o.id, format!("s{i}"));
        let r = result(&o);
        assert_eq!(r.id, format!("s{i}"));
        assert_eq!(r.labels, [LABELS[i % 3]]);
        assert_eq!(r.model_version, version);
    }
    sender.await.expect("sender task");
    // The client closed its side: the server ends the stream with OK.
    let end = timeout(STEP, inbound.message())
        .await
        .expect("the end in time");
    assert!(matches!(end, Ok(None)), "{end:?}");
    server.stop().await;
}

#[tokio::test]
async fn outcomes_flow_before_the_client_closes_its_side() {
    let server = TestServer::start(Some(tiny_model())).await;
    let (tx, mut inbound) = open(&server).await;
    // Ping-pong: each outcome arrives while the request side is still open.
    for i in 0..5 {
        tx.send(request_with_id(&format!("p{i}"), TEXTS[i % 3]))
            .await
            .expect("send");
        let o = next(&mut inbound).await;
        assert_eq!(
            (o.index, o.id.as_str()),
            (i as u64, format!("p{i}").as_str())
        );
        assert_eq!(result(&o).labels, [LABELS[i % 3]]);
    }
    drop(tx);
    let end = timeout(STEP, inbound.message())
        .await
        .expect("the end in time");
    assert!(matches!(end, Ok(None)), "{end:?}");
    server.stop().await;
}

#[tokio::test]
async fn a_bad_document_gets_an_error_outcome_and_the_stream_goes_on() {
    let server = TestServer::start(Some(tiny_model())).await;
    let (tx, mut inbound) = open(&server).await;
    tx.send(request_with_id("ok-0", TEXTS[0]))
        .await
        .expect("send");
    tx.send(request_with_id("empty", "   "))
        .await
        .expect("send");
    tx.send(ClassifyRequest {
        topics: vec!["war".into()],
        ..request_with_id("bad-topic", TEXTS[1])
    })
    .await
    .expect("send");
    tx.send(request_with_id("ok-3", TEXTS[1]))
        .await
        .expect("send");
    drop(tx);

    let o = next(&mut inbound).await;
    assert_eq!((o.index, o.id.as_str()), (0, "ok-0"));
    assert_eq!(result(&o).labels, ["conflict"]);

    let o = next(&mut inbound).await;
    assert_eq!((o.index, o.id.as_str()), (1, "empty"));
    // Stream messages stand alone: field paths carry no `documents[i].` prefix.
    assert_eq!(
        o.outcome,
        Some(Outcome::Error(DocumentError {
            code: Code::InvalidArgument as i32,
            message: "text is empty or only whitespace; send the document's text".into(),
            field: "text".into(),
        }))
    );

    let o = next(&mut inbound).await;
    assert_eq!((o.index, o.id.as_str()), (2, "bad-topic"));
    assert_eq!(
        o.outcome,
        Some(Outcome::Error(DocumentError {
            code: 3,
            message: "topics[0]: unknown topic \"war\" (known topics: conflict, disaster, other)"
                .into(),
            field: "topics[0]".into(),
        }))
    );

    let o = next(&mut inbound).await;
    assert_eq!((o.index, o.id.as_str()), (3, "ok-3"));
    assert_eq!(result(&o).labels, ["disaster"]);

    let end = timeout(STEP, inbound.message())
        .await
        .expect("the end in time");
    assert!(matches!(end, Ok(None)), "{end:?}");
    server.stop().await;
}

#[tokio::test]
async fn an_empty_stream_ends_cleanly_with_no_outcome() {
    let server = TestServer::start(Some(tiny_model())).await;
    let (tx, mut inbound) = open(&server).await;
    drop(tx);
    let end = timeout(STEP, inbound.message())
        .await
        .expect("the end in time");
    assert!(matches!(end, Ok(None)), "{end:?}");
    server.stop().await;
}

/// The status that ends a stream, under `limits`, after one good message
/// and then one of `text_bytes` bytes of text with the id "xy".
async fn status_after_an_oversized_message(limits: Limits, text_bytes: usize) -> Status {
    let server = TestServer::start_with(Some(tiny_model()), limits, STEP).await;
    let (tx, mut inbound) = open(&server).await;
    tx.send(request_with_id("ok", TEXTS[0]))
        .await
        .expect("send");
    let o = next(&mut inbound).await;
    assert_eq!((o.index, o.id.as_str()), (0, "ok"));
    tx.send(request_with_id("xy", &"a".repeat(text_bytes)))
        .await
        .expect("send");
    let status = timeout(STEP, inbound.message())
        .await
        .expect("the status in time")
        .expect_err("an oversized message fails the stream");
    server.stop().await;
    status
}

#[tokio::test]
async fn a_message_over_the_decode_limit_ends_the_stream_with_its_status() {
    let limits = Limits {
        max_message_bytes: 1024,
        ..Limits::default()
    };
    // 2000 bytes of text + 2 id bytes: 1 + 2 + 2000 + 1 + 1 + 2 = 2007 bytes.
    let status = status_after_an_oversized_message(limits, 2000).await;
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
    assert_eq!(
        status.message(),
        "Error, decoded message length too large: found 2007 bytes, the limit is: 1024 bytes"
    );
}

#[tokio::test]
async fn a_message_over_the_one_document_limit_ends_the_stream_at_its_prefix() {
    let limits = Limits {
        max_text_bytes: 1000,
        ..Limits::default()
    };
    // 1 + 3 + 70,000 + 1 + 1 + 2 = 70,008 bytes.
    let status = status_after_an_oversized_message(limits, 70_000).await;
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
    assert!(
        status.message().starts_with(
            "the request message is 70008 bytes, over this method's limit of 66536 bytes"
        ),
        "{status:?}"
    );
}

#[tokio::test]
async fn a_model_installed_mid_stream_answers_the_next_messages() {
    let model = tiny_model();
    let old_version = model.version().to_string();
    // Same classifier, different provenance: a different content hash.
    let mut data = model.data().clone();
    data.provenance.created_at = "2026-02-02T00:00:00Z".into();
    let newer = Model::from_data(data).expect("valid");
    let new_version = newer.version().to_string();
    assert_ne!(old_version, new_version);

    let server = TestServer::start(Some(model)).await;
    let (tx, mut inbound) = open(&server).await;
    tx.send(request_with_id("before", TEXTS[0]))
        .await
        .expect("send");
    let o = next(&mut inbound).await;
    assert_eq!(result(&o).model_version, old_version);

    server
        .handle
        .install(LoadedModel {
            model: newer,
            model_file: "newer.model".into(),
            loaded_at: "2026-02-02T00:00:01Z".into(),
        })
        .await;
    tx.send(request_with_id("after", TEXTS[0]))
        .await
        .expect("send");
    let o = next(&mut inbound).await;
    assert_eq!((o.index, o.id.as_str()), (1, "after"));
    assert_eq!(result(&o).model_version, new_version);
    drop(tx);
    let end = timeout(STEP, inbound.message())
        .await
        .expect("the end in time");
    assert!(matches!(end, Ok(None)), "{end:?}");
    server.stop().await;
}

/// Dropping the response stream alone does not cancel a bidi call in tonic:
/// the request side stays open (hyper keeps piping it), so the server keeps
/// reading and answering. Closing the request side too ends the call, and the
/// server can then shut down gracefully.
#[tokio::test]
async fn a_client_that_drops_the_response_then_closes_its_side_frees_the_server() {
    let server = TestServer::start(Some(tiny_model())).await;
    let (tx, mut inbound) = open(&server).await;
    tx.send(request_with_id("one", TEXTS[0]))
        .await
        .expect("send");
    let o = next(&mut inbound).await;
    assert_eq!(o.id, "one");
    drop(inbound);
    // The call is still open: the server still accepts messages.
    tx.send(request_with_id("two", TEXTS[0]))
        .await
        .expect("the request side is still open");
    tokio::time::sleep(Duration::from_millis(20)).await;
    tx.send(request_with_id("three", TEXTS[0]))
        .await
        .expect("the request side is still open");
    drop(tx);
    // Graceful shutdown waits for calls in flight: it returns because the
    // abandoned call has ended on the server too.
    timeout(STEP, server.stop())
        .await
        .expect("the server stops: the abandoned stream does not linger");
}
