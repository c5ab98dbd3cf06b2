//! A client that tries to open 1,000 ClassifyStream streams and sends
//! nothing on them: past the stream cap its streams are refused at once, the
//! open ones hold no classification slot (unary calls from other clients
//! are not shed), health keeps answering, memory stays bounded, and streams
//! that end, by their client or by the idle timeout, free their places so
//! new streams open again.
//!
//! No step races a clock: the 1,000 opens run under an idle timeout far
//! longer than any step, so none of the streams can end before the checks
//! that need them open; the idle timeout has a test of its own, in which
//! every step waits for an event (a stream's end).
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

/// Classification slots, the stream cap and the idle timeout used here:
/// more streams than slots, so a stream that held a slot would show.
const SLOTS: usize = 64;
const MAX_STREAMS: usize = 500;
/// Longer than the whole test may take (each step is bounded by `STEP`):
/// no stream of the first test ends by itself.
const IDLE_TIMEOUT: Duration = Duration::from_secs(3600);
/// Unary calls sent at once while the streams are open: fewer than the slots,
/// so none of them may be shed.
const UNARY_CALLS: usize = 50;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_idle_streams_leave_the_server_responsive() {
    let limits = Limits {
        max_concurrent_requests: SLOTS,
        max_streams: MAX_STREAMS,
        stream_idle_timeout: IDLE_TIMEOUT,
        ..Limits::default()
    };
    let server = TestServer::start_with(Some(tiny_model()), limits, STEP).await;
    assert_eq!(classify_labels(&server).await, ["conflict"]);
    let before = rss_bytes();

    // One misbehaving client, on twelve connections (one connection carries
    // at most `max_streams_per_connection`, 64). The first MAX_STREAMS
    // streams open and wait for a request that never comes; every other one
    // is refused at once, never queued.
    let mut connections = Vec::new();
    for _ in 0..12 {
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
    assert_eq!(
        (streams.len(), refused),
        (MAX_STREAMS, IDLE_STREAMS - MAX_STREAMS)
    );

    // Idle streams hold no classification slot: unary calls from another
    // client, all at once, are all answered.
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..UNARY_CALLS {
        let mut client = server.client().await;
        calls.spawn(async move {
            client
                .classify(request("Troops clashed with militia near the border"))
                .await
                .map(|r| r.into_inner().labels)
        });
    }
    while let Some(answered) = timeout(STEP, calls.join_next())
        .await
        .expect("the unary calls finish")
    {
        let labels = answered
            .expect("call task")
            .expect("no unary call is shed while idle streams are open");
        assert_eq!(labels, ["conflict"]);
    }

    // Health still answers while the streams are open.
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

    // Streams their client ends free their places: a new stream opens.
    drop(senders);
    for mut stream in streams {
        let end = timeout(STEP, stream.message())
            .await
            .expect("the stream ends");
        assert!(matches!(end, Ok(None)), "{end:?}");
    }
    let (tx, rx) = mpsc::channel::<ClassifyRequest>(1);
    let mut fresh = connections[0]
        .classify_stream(ReceiverStream::new(rx))
        .await
        .expect("a new stream opens once the idle ones have ended")
        .into_inner();
    assert_answers(&tx, &mut fresh).await;
    drop(tx);
    assert_eq!(classify_labels(&server).await, ["conflict"]);
    timeout(STEP, server.stop())
        .await
        .expect("the server stops");
}

/// Sends a conflict document on an open stream and checks its outcome.
async fn assert_answers(
    tx: &mpsc::Sender<ClassifyRequest>,
    stream: &mut Streaming<ClassifyOutcome>,
) {
    send_conflict(tx).await;
    assert_next_is_conflict(stream).await;
}

async fn send_conflict(tx: &mpsc::Sender<ClassifyRequest>) {
    tx.send(request(
        "Troops clashed with militia and artillery shelled rebel positions",
    ))
    .await
    .expect("send");
}

async fn assert_next_is_conflict(stream: &mut Streaming<ClassifyOutcome>) {
    let outcome = timeout(STEP, stream.message())
        .await
        .expect("an answer")
        .expect("no error")
        .expect("an outcome");
    assert_eq!(
        crate::common::messages::result(&outcome).labels,
        ["conflict"]
    );
}

/// The idle timeout ends every silent stream with DEADLINE_EXCEEDED and
/// frees its place: as many new streams open again, and answer. Each step
/// waits for an event; the timeout only decides when the ends arrive.
#[tokio::test]
async fn the_idle_timeout_ends_silent_streams_and_frees_their_places() {
    const CAP: usize = 4;
    let limits = Limits {
        max_streams: CAP,
        stream_idle_timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let server = TestServer::start_with(Some(tiny_model()), limits, STEP).await;
    let mut client = server.client().await;
    let mut idle = Vec::new();
    for _ in 0..CAP {
        let (tx, rx) = mpsc::channel::<ClassifyRequest>(1);
        let stream = timeout(STEP, client.classify_stream(ReceiverStream::new(rx)))
            .await
            .expect("opened at once")
            .expect("under the cap")
            .into_inner();
        idle.push((tx, stream));
    }
    for (_tx, stream) in &mut idle {
        let end = timeout(STEP, stream.message())
            .await
            .expect("the idle stream ends");
        match end {
            Err(status) => assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}"),
            Ok(other) => panic!("an idle stream ended with {other:?}"),
        }
    }
    // Every place is free again (a place is freed before its stream's end
    // is sent): the cap's worth of streams opens, and each answers. Each
    // document is queued before its stream opens, so the stream is never
    // idle before it is answered.
    let mut fresh = Vec::new();
    for _ in 0..CAP {
        let (tx, rx) = mpsc::channel::<ClassifyRequest>(1);
        send_conflict(&tx).await;
        let mut stream = timeout(STEP, client.classify_stream(ReceiverStream::new(rx)))
            .await
            .expect("opened at once")
            .expect("the idle streams' places are free")
            .into_inner();
        assert_next_is_conflict(&mut stream).await;
        fresh.push((tx, stream));
    }
    drop(fresh);
    server.stop().await;
}
