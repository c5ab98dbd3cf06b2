//! Overload: past `max_concurrent_requests` RPCs in progress, a request is
//! refused at once with RESOURCE_EXHAUSTED (health and admin are exempt); a
//! silent stream ends after the idle timeout; one connection gets at most
//! `max_concurrent_streams` streams.
use crate::common::admin::*;
use crate::common::TestServer;
use docclass::service::pb::classifier_client::ClassifierClient;
use docclass::service::pb::ClassifyRequest;
use docclass::service::{Limits, Secret, Security};
use std::time::{Duration, Instant};
use tonic::transport::Channel;
use tonic::Code;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

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
/// answered one document (so it surely holds its slot).
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

#[tokio::test]
async fn past_the_limit_requests_are_shed_at_once() {
    // An open stream holds the one slot for as long as it lives.
    let (_dir, server, mut client, stream) = start_with_open_stream(Limits {
        max_concurrent_requests: 1,
        ..Limits::default()
    })
    .await;

    let started = Instant::now();
    let status = client
        .classify(conflict_document())
        .await
        .expect_err("shed");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert_eq!(
        status.message(),
        "server overloaded: 1 requests already in flight; retry with backoff"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "refused at once, not queued: {:?}",
        started.elapsed()
    );
    // So is a second stream.
    let (_tx, rx) = tokio::sync::mpsc::channel::<ClassifyRequest>(1);
    let status = client
        .classify_stream(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .expect_err("shed");
    assert_eq!(status.code(), Code::ResourceExhausted);

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

    // The slot is free again once the stream has ended.
    stream.close().await;
    assert_eq!(serving_version(&mut client).await, FIXTURE_VERSION);
    server.stop().await;
}

#[tokio::test]
async fn a_silent_stream_ends_after_the_idle_timeout_and_frees_its_slot() {
    let (_dir, server, mut client, mut stream) = start_with_open_stream(Limits {
        max_concurrent_requests: 1,
        stream_idle_timeout: Duration::from_millis(300),
        ..Limits::default()
    })
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
    assert_eq!(serving_version(&mut client).await, FIXTURE_VERSION);
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
