//! A client that opens 1,000 ClassifyStream streams and sends nothing on
//! them: the server keeps answering other clients, and holding the idle
//! streams costs a bounded amount of memory.
mod common;

use common::TestServer;
use docclass::service::pb::{ClassifyOutcome, ClassifyRequest};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::timeout;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Streaming;

const IDLE_STREAMS: usize = 1000;

/// No step should take anywhere near this long; a bound so a regression fails
/// instead of hanging the suite.
const STEP: Duration = Duration::from_secs(30);

/// Generous: measured growth is printed by the test; this bound only catches
/// memory that grows with something other than the stream count.
const MAX_GROWTH_BYTES: u64 = 256 << 20;

fn request(text: &str) -> ClassifyRequest {
    ClassifyRequest {
        text: text.into(),
        ..Default::default()
    }
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_idle_streams_leave_the_server_responsive() {
    let server = TestServer::start(Some(common::tiny_model())).await;
    assert_eq!(classify_labels(&server).await, ["conflict"]);
    let before = rss_bytes();

    // All on one connection, as one misbehaving client would do. Each stream
    // opens (the server answers with headers) and then waits for a request
    // that never comes.
    let mut idle = server.client().await;
    let mut streams: Vec<Streaming<ClassifyOutcome>> = Vec::with_capacity(IDLE_STREAMS);
    let mut senders = Vec::with_capacity(IDLE_STREAMS);
    for _ in 0..IDLE_STREAMS {
        let (tx, rx) = mpsc::channel::<ClassifyRequest>(1);
        let stream = idle
            .classify_stream(ReceiverStream::new(rx))
            .await
            .expect("an idle stream opens")
            .into_inner();
        senders.push(tx);
        streams.push(stream);
    }

    // Another connection is served normally, and so is the idle client's own.
    assert_eq!(classify_labels(&server).await, ["conflict"]);
    let own = idle
        .classify(request("The earthquake destroyed homes"))
        .await
        .expect("the idle client's connection still serves unary calls")
        .into_inner();
    assert_eq!(own.labels, ["disaster"]);

    if let (Some(before), Some(after)) = (before, rss_bytes()) {
        let growth = after.saturating_sub(before);
        println!(
            "RSS {before} -> {after} bytes with {IDLE_STREAMS} idle streams: {} bytes per stream",
            growth / IDLE_STREAMS as u64
        );
        assert!(
            growth < MAX_GROWTH_BYTES,
            "{IDLE_STREAMS} idle streams grew RSS by {growth} bytes"
        );
    }

    // The client closes its side of every stream: each ends cleanly with no
    // outcome, and the server can then shut down.
    drop(senders);
    for mut stream in streams {
        let end = timeout(STEP, stream.message())
            .await
            .expect("the stream ends");
        assert!(matches!(end, Ok(None)), "{end:?}");
    }
    assert_eq!(classify_labels(&server).await, ["conflict"]);
    timeout(STEP, server.stop())
        .await
        .expect("the server stops");
}
