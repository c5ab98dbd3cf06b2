//! Overload: past `max_concurrent_requests` pieces of classification work in
//! progress, a unary call is refused at once with RESOURCE_EXHAUSTED, and a
//! stream message gets that as its outcome while the stream goes on (health
//! and admin are exempt). An open stream holds no classification slot; open
//! streams have caps of their own, server-wide and per connection. A stream
//! that sends nothing, or reads nothing, ends after the idle timeout and
//! frees its place. One connection gets at most `max_concurrent_streams`
//! streams.
use crate::common::admin::*;
use crate::common::TestServer;
use docclass::service::pb::classifier_client::ClassifierClient;
use docclass::service::pb::classify_outcome::Outcome;
use docclass::service::pb::ClassifyRequest;
use docclass::service::{Limits, Secret, Security};
use std::time::{Duration, Instant};
use tonic::transport::{Channel, Endpoint};
use tonic::Code;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

/// Bound on any wait, so a regression fails instead of hanging the suite.
const STEP: Duration = Duration::from_secs(30);

async fn start(limits: Limits) -> (ModelDir, TestServer) {
    let dir = ModelDir::new();
    let security = Security {
        admin_token: Secret::new(ADMIN_TOKEN),
        client_token: None,
    };
    let server = dir.server_with(limits, security).await;
    (dir, TestServer::start_built(server, None).await)
}

/// A server with `limits`, a client, and a stream open on it that has
/// answered one document (so it surely holds its place).
async fn start_with_open_stream(
    limits: Limits,
) -> (ModelDir, TestServer, ClassifierClient<Channel>, OpenStream) {
    let (dir, server) = start(limits).await;
    let mut client = ClassifierClient::new(server.channel().await);
    let mut stream = OpenStream::open(&mut client).await;
    assert_eq!(
        stream.round_trip("Floods displaced thousands").await,
        FIXTURE_VERSION
    );
    (dir, server, client, stream)
}

/// Tries to open a stream on `client` and answer one document on it.
async fn try_stream(client: &mut ClassifierClient<Channel>) -> Result<OpenStream, tonic::Status> {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let inbound = client
        .classify_stream(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await?
        .into_inner();
    let mut stream = OpenStream { tx, inbound };
    assert_eq!(
        stream.round_trip("Floods displaced thousands").await,
        FIXTURE_VERSION
    );
    Ok(stream)
}

/// Asserts that a new stream on `client` is refused at once with
/// RESOURCE_EXHAUSTED and `message`.
async fn assert_stream_refused(client: &mut ClassifierClient<Channel>, message: &str) {
    let status = try_stream(client).await.map(|_| ()).expect_err("refused");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert_eq!(status.message(), message);
}

#[tokio::test]
async fn without_a_free_slot_work_is_shed_at_once() {
    // No classification slot at all: every piece of work is over the limit.
    let (_dir, server) = start(Limits {
        max_concurrent_requests: 0,
        ..Limits::default()
    })
    .await;
    let mut client = ClassifierClient::new(server.channel().await);

    let started = Instant::now();
    let status = client
        .classify(conflict_document())
        .await
        .expect_err("shed");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert_eq!(
        status.message(),
        "server overloaded: all 0 slots for this work are taken; retry with backoff"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "refused at once, not queued: {:?}",
        started.elapsed()
    );

    // A stream still opens; its message is refused as its outcome, and the
    // stream goes on.
    let mut stream = OpenStream::open(&mut client).await;
    for _ in 0..2 {
        stream.tx.send(conflict_document()).await.expect("send");
        let outcome = stream
            .inbound
            .message()
            .await
            .expect("the stream goes on")
            .expect("an outcome");
        match outcome.outcome {
            Some(Outcome::Error(e)) => {
                assert_eq!(e.code, Code::ResourceExhausted as i32, "{e:?}")
            }
            other => panic!("expected RESOURCE_EXHAUSTED, got {other:?}"),
        }
    }
    stream.close().await;

    // Probes and admin calls are exempt.
    HealthClient::new(server.channel().await)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("health answers under overload");
    reload(&server, "", false)
        .await
        .expect("reload works under overload");
    server.stop().await;
}

#[tokio::test]
async fn an_open_stream_holds_no_classification_slot() {
    // One slot, and a stream open that has answered a document: the slot is
    // free again between its messages.
    let (_dir, server, mut client, mut stream) = start_with_open_stream(Limits {
        max_concurrent_requests: 1,
        ..Limits::default()
    })
    .await;
    assert_eq!(serving_version(&mut client).await, FIXTURE_VERSION);
    let mut second = try_stream(&mut client).await.expect("a second stream");
    assert_eq!(stream.round_trip("Floods again").await, FIXTURE_VERSION);
    assert_eq!(second.round_trip("And more floods").await, FIXTURE_VERSION);
    second.close().await;
    stream.close().await;
    server.stop().await;
}

#[tokio::test]
async fn a_silent_stream_ends_after_the_idle_timeout_and_frees_its_place() {
    let (_dir, server, mut client, mut stream) = start_with_open_stream(Limits {
        max_streams: 1,
        stream_idle_timeout: Duration::from_millis(300),
        ..Limits::default()
    })
    .await;
    // The one place is taken.
    assert_stream_refused(
        &mut client,
        "too many streams: 1 ClassifyStream streams already open on the server; retry with backoff",
    )
    .await;
    // Send nothing more.
    let status = tokio::time::timeout(Duration::from_secs(10), stream.inbound.message())
        .await
        .expect("the server ends the stream")
        .expect_err("with an error");
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert_eq!(
        status.message(),
        "stream closed: no message for 300 ms (the server's stream idle timeout)"
    );
    // Its place is free again.
    try_stream(&mut client)
        .await
        .expect("a new stream opens")
        .close()
        .await;
    assert_eq!(serving_version(&mut client).await, FIXTURE_VERSION);
    server.stop().await;
}

#[tokio::test]
async fn one_connection_gets_at_most_max_streams_per_connection() {
    let (_dir, server, mut client, stream) = start_with_open_stream(Limits {
        max_streams_per_connection: 1,
        ..Limits::default()
    })
    .await;
    assert_stream_refused(
        &mut client,
        "too many streams on this connection: 1 ClassifyStream streams already open on it",
    )
    .await;
    // Unary calls on the same connection still go through, and another
    // connection may open its own stream.
    assert_eq!(serving_version(&mut client).await, FIXTURE_VERSION);
    let mut other = ClassifierClient::new(server.channel().await);
    try_stream(&mut other)
        .await
        .expect("a stream on another connection")
        .close()
        .await;
    stream.close().await;
    try_stream(&mut client)
        .await
        .expect("the connection's place is free again")
        .close()
        .await;
    server.stop().await;
}

#[tokio::test]
async fn a_stream_that_stops_reading_ends_after_the_idle_timeout_and_frees_its_place() {
    let (_dir, server) = start(Limits {
        max_streams: 1,
        stream_idle_timeout: Duration::from_millis(500),
        ..Limits::default()
    })
    .await;
    // A small HTTP/2 window, so the unread outcomes soon back up to the server.
    let channel = Endpoint::from_shared(server.url())
        .expect("valid url")
        .initial_stream_window_size(65_535)
        .connect()
        .await
        .expect("connect");
    let mut reader = ClassifierClient::new(channel);
    let (tx, rx) = tokio::sync::mpsc::channel::<ClassifyRequest>(16);
    let mut inbound = reader
        .classify_stream(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .expect("stream opens")
        .into_inner();
    // Far more documents than the window and the server's buffer hold; the
    // request side stays open, so the server is never told the stream is
    // done, and it is never idle on the receive side while it has a reply to
    // send.
    const SENT: usize = 5_000;
    let sending = tx.clone();
    let sender = tokio::spawn(async move {
        for i in 0..SENT {
            let request = ClassifyRequest {
                id: format!("doc-{i}"),
                ..conflict_document()
            };
            if sending.send(request).await.is_err() {
                break;
            }
        }
    });

    // The server gives up on the reader and frees its place: another
    // client's stream opens (retried until then, within a generous bound).
    let mut other = ClassifierClient::new(server.channel().await);
    let deadline = Instant::now() + STEP;
    let opened = loop {
        match try_stream(&mut other).await {
            Ok(stream) => break stream,
            Err(status) => {
                assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
                assert!(Instant::now() < deadline, "the place was never freed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    opened.close().await;

    // The reader gets what was sent before, then DEADLINE_EXCEEDED.
    let mut read = 0usize;
    let status = loop {
        match tokio::time::timeout(STEP, inbound.message())
            .await
            .expect("the stream ends")
        {
            Ok(Some(_)) => read += 1,
            Ok(None) => panic!("the stream ended OK after {read} outcomes"),
            Err(status) => break status,
        }
    };
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert_eq!(
        status.message(),
        "stream closed: the client read no response for 500 ms (the server's stream idle timeout)"
    );
    assert!(read < SENT, "all {read} outcomes arrived");
    drop(tx);
    sender.abort();
    server.stop().await;
}

#[tokio::test]
async fn one_connection_gets_at_most_max_concurrent_streams() {
    let (_dir, server, mut client, stream) = start_with_open_stream(Limits {
        max_concurrent_streams: 1,
        ..Limits::default()
    })
    .await;
    // The HTTP/2 peer may not open a second stream on this connection: the
    // call waits client-side until its deadline.
    let mut request = tonic::Request::new(conflict_document());
    request.set_timeout(Duration::from_millis(300));
    let status = client.classify(request).await.expect_err("waits");
    assert_eq!(status.code(), Code::Cancelled, "{status:?}");
    // Another connection is not affected.
    let mut other = ClassifierClient::new(server.channel().await);
    assert_eq!(serving_version(&mut other).await, FIXTURE_VERSION);
    stream.close().await;
    assert_eq!(serving_version(&mut client).await, FIXTURE_VERSION);
    server.stop().await;
}
