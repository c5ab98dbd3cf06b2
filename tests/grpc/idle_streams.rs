//! A client that opens 1,000 ClassifyStream streams and sends nothing on
//! them: past the admission limit its streams are refused at once, health
//! keeps answering, memory stays bounded, and the idle timeout frees the
//! slots so other clients are served again.
use crate::common::messages::request;
use crate::common::{tiny_model, TestServer};
use docclass::service::pb::{ClassifyOutcome, ClassifyRequest};
use docclass::service::Limits;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::timeout;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;
use tonic::Streaming;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

const IDLE_STREAMS: usize = 1000;

/// No step should take anywhere near this long; a bound so a regression fails
/// instead of hanging the suite.
const STEP: Duration = Duration::from_secs(30);

/// Generous: measured growth is printed by the test; this bound only catches
/// memory that grows with something other than the stream count.
const MAX_GROWTH_BYTES: u64 = 256 << 20;

/// Resident set size of this process (client and in-process server), from
/// /proc; `None` where /proc is not available.
fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

async fn classify_labels(server: &TestServer) -> Vec<String> {
    server
        .client()
        .await
        .classify(request(
            "Troops clashed with militia and artillery shelled rebel positions",
        ))
        .await
        .expect("a normal Classify is answered")
        .into_inner()
        .labels
}

/// Admission slots and the idle timeout used here: small, so the test shows
/// both the refusal past the limit and the recovery after the timeout.
const SLOTS: usize = 64;
const IDLE_TIMEOUT: Duration = Duration::from_secs(2);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_idle_streams_leave_the_server_responsive() {
    let limits = Limits {
        max_concurrent_requests: SLOTS,
        stream_idle_timeout: IDLE_TIMEOUT,
        ..Limits::default()
    };
    let server = TestServer::start_with(Some(tiny_model()), limits, STEP).await;
    assert_eq!(classify_labels(&server).await, ["conflict"]);
    let before = rss_bytes();

    // One misbehaving client, on ten connections (one connection carries at
    // most `max_concurrent_streams`, 100). A stream holds an admission slot
    // for its life, so the first SLOTS streams open and wait for a request
    // that never comes; every other one is refused at once, never queued.
    let mut connections = Vec::new();
    for _ in 0..IDLE_STREAMS / 100 {
        connections.push(server.client().await);
    }
    let mut streams: Vec<Streaming<ClassifyOutcome>> = Vec::new();
    let mut senders = Vec::new();
    let mut refused = 0usize;
    let n_connections = connections.len();
    for i in 0..IDLE_STREAMS {
        let (tx, rx) = mpsc::channel::<ClassifyRequest>(1);
        let opened = timeout(
            STEP,
            connections[i % n_connections].classify_stream(ReceiverStream::new(rx)),
        )
        .await
        .expect("a stream is opened or refused at once");
        match opened {
            Ok(stream) => {
                senders.push(tx);
                streams.push(stream.into_inner());
            }
            Err(status) => {
                assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
                refused += 1;
            }
        }
    }
    assert_eq!((streams.len(), refused), (SLOTS, IDLE_STREAMS - SLOTS));

    // Health still answers while the slots are held.
    let mut health = HealthClient::new(server.channel().await);
    let serving = health
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("health answers")
        .into_inner()
        .status;
    assert_eq!(serving, ServingStatus::Serving as i32);

    if let (Some(before), Some(after)) = (before, rss_bytes()) {
        let growth = after.saturating_sub(before);
        println!("RSS {before} -> {after} bytes after {IDLE_STREAMS} idle stream attempts");
        assert!(
            growth < MAX_GROWTH_BYTES,
            "{IDLE_STREAMS} idle streams grew RSS by {growth} bytes"
        );
    }

    // The idle timeout ends every silent stream with DEADLINE_EXCEEDED and
    // frees its slot: other clients are served again.
    for mut stream in streams {
        let end = timeout(STEP, stream.message())
            .await
            .expect("the idle stream ends");
        match end {
            Err(status) => assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}"),
            Ok(other) => panic!("an idle stream ended with {other:?}"),
        }
    }
    drop(senders);
    assert_eq!(classify_labels(&server).await, ["conflict"]);
    timeout(STEP, server.stop())
        .await
        .expect("the server stops");
}
