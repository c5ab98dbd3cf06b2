//! Deadlines (client `grpc-timeout` and the server's request timeout) and
//! graceful shutdown with requests in flight.
//!
//! How tonic 0.14 reports an expired deadline: not DEADLINE_EXCEEDED but
//! CANCELLED with the message "Timeout expired". Both ends have the same
//! `GrpcTimeout` layer: the server's takes the shorter of the request's
//! `grpc-timeout` and `Server::timeout`, the client's (in every `Channel`
//! connection) reads the same `grpc-timeout` header from the outgoing request.
//! When the timer fires first, the layer returns a `TimeoutExpired` error,
//! which tonic maps to `Status::cancelled("Timeout expired")`. With a client
//! deadline the client's own timer usually wins (the status then has no
//! response metadata and its source is the transport's `TimeoutExpired`); with
//! only a server timeout the status comes over the wire.
use crate::common::{hold_each, tiny_model, TestServer};
use docclass::service::pb::classify_outcome::Outcome;
use docclass::service::pb::{ClassifyBatchRequest, ClassifyOutcome, ClassifyRequest};
use docclass::service::{Limits, Server, WorkerHook};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::time::timeout;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;
use tonic::Code;

/// No test step should take anywhere near this long.
const STEP: Duration = Duration::from_secs(10);

/// A document of exactly 1 KiB of conflict-and-disaster prose.
fn one_kib_text() -> String {
    let sentence = "Troops clashed with militia near the border while floods displaced families. ";
    sentence.repeat(1024 / sentence.len() + 1)[..1024].to_string()
}

fn big_batch(n: usize) -> ClassifyBatchRequest {
    let text = one_kib_text();
    ClassifyBatchRequest {
        documents: (0..n)
            .map(|i| ClassifyRequest {
                id: format!("d{i}"),
                text: text.clone(),
                ..Default::default()
            })
            .collect(),
    }
}

/// `n` documents of about 1 KiB whose words are all distinct (and distinct
/// for each `salt`), so that no cache spares any document its full
/// analysis: the batch takes a while.
fn slow_batch(n: usize, salt: &str) -> ClassifyBatchRequest {
    ClassifyBatchRequest {
        documents: (0..n)
            .map(|i| {
                let text: Vec<String> = (0..128).map(|k| format!("{salt}{i}w{k}")).collect();
                ClassifyRequest {
                    id: format!("d{i}"),
                    text: text.join(" "),
                    ..Default::default()
                }
            })
            .collect(),
    }
}

fn small_request() -> ClassifyRequest {
    ClassifyRequest {
        text: "Artillery shelled rebel positions as troops clashed with militia".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn client_deadline_on_a_big_batch_is_cancelled_with_timeout_expired() {
    let server = TestServer::start(Some(tiny_model())).await;
    let mut client = server.client().await;
    let mut request = tonic::Request::new(big_batch(1000));
    request.set_timeout(Duration::from_micros(1));
    // The deadline travels as the `grpc-timeout` header, in the finest unit.
    assert_eq!(
        request
            .metadata()
            .get("grpc-timeout")
            .expect("grpc-timeout set"),
        "1000n"
    );
    let started = Instant::now();
    let status = client
        .classify_batch(request)
        .await
        .expect_err("1 µs is not enough for 1000 documents");
    // Not DEADLINE_EXCEEDED: tonic reports an expired deadline as CANCELLED.
    assert_eq!(status.code(), Code::Cancelled, "{status:?}");
    assert_eq!(status.message(), "Timeout expired");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "the call gives up at once, it does not wait for the batch: {:?}",
        started.elapsed()
    );
    // The connection is unharmed: the next call on the same client works.
    let response = client
        .classify(small_request())
        .await
        .expect("the connection is still usable")
        .into_inner();
    assert_eq!(response.labels, ["conflict"]);
    server.stop().await;
}

#[tokio::test]
async fn a_generous_client_deadline_does_not_interfere() {
    let server = TestServer::start(Some(tiny_model())).await;
    let mut client = server.client().await;
    let mut request = tonic::Request::new(big_batch(10));
    request.set_timeout(Duration::from_secs(30));
    let response = client
        .classify_batch(request)
        .await
        .expect("well within the deadline")
        .into_inner();
    assert_eq!(response.outcomes.len(), 10);
    server.stop().await;
}

#[tokio::test]
async fn server_request_timeout_is_cancelled_timeout_expired_from_the_server() {
    let server = TestServer::start_with(
        Some(tiny_model()),
        Limits::default(),
        Duration::from_millis(1),
    )
    .await;
    let mut client = server.client().await;
    let status = client
        .classify_batch(big_batch(1000))
        .await
        .expect_err("1 ms is not enough for 1000 documents");
    assert_eq!(status.code(), Code::Cancelled, "{status:?}");
    assert_eq!(status.message(), "Timeout expired");
    // It came over the wire: a trailers-only gRPC response from the server
    // (a client-side timeout has no response metadata).
    assert_eq!(
        status
            .metadata()
            .get("content-type")
            .expect("response headers"),
        "application/grpc"
    );
    server.stop().await;
}

/// A worker hook that, while `holding` is set, tells `arrived` and holds
/// each classification on its worker until its call is dropped (a deadline,
/// the server's timeout): the call's end is the event that releases it.
fn hold_until_dropped(holding: Arc<AtomicBool>, arrived: mpsc::UnboundedSender<()>) -> WorkerHook {
    hold_each(holding, arrived, |cancelled| {
        cancelled.load(Ordering::SeqCst)
    })
}

/// The server's timeout covers a call until its response starts; a
/// stream's response starts at once, and its outcomes may flow for longer.
/// Ordered by events: after the stream opens, a unary call is held on its
/// worker until the server's timeout drops it, so when that call comes back
/// CANCELLED the timeout has passed since the stream opened; the stream
/// must still answer. Should the stream itself not open within the timeout
/// (a loaded machine), the test starts again with a longer one.
#[tokio::test]
async fn server_request_timeout_does_not_bound_a_stream_once_it_is_open() {
    let mut request_timeout = Duration::from_millis(50);
    loop {
        let holding = Arc::new(AtomicBool::new(false));
        let (arrived, _arrivals) = mpsc::unbounded_channel();
        let built = Server::new(Limits::default(), request_timeout)
            .await
            .with_worker_hook(hold_until_dropped(holding.clone(), arrived));
        let server = TestServer::start_built(built, Some(tiny_model())).await;
        let mut client = server.client().await;
        let (tx, rx) = mpsc::channel::<ClassifyRequest>(4);
        let mut inbound = match client.classify_stream(ReceiverStream::new(rx)).await {
            Ok(response) => response.into_inner(),
            Err(status) if status.code() == Code::Cancelled && request_timeout < STEP => {
                server.stop().await;
                request_timeout *= 2;
                continue;
            }
            Err(status) => panic!("the stream does not open: {status:?}"),
        };

        holding.store(true, Ordering::SeqCst);
        let status = client
            .classify(small_request())
            .await
            .expect_err("held until the server's timeout");
        assert_eq!(status.code(), Code::Cancelled, "{status:?}");
        assert_eq!(status.message(), "Timeout expired");
        holding.store(false, Ordering::SeqCst);

        for i in 0..3u64 {
            tx.send(ClassifyRequest {
                id: format!("late-{i}"),
                ..small_request()
            })
            .await
            .expect("send");
            let o = timeout(STEP, inbound.message())
                .await
                .expect("in time")
                .expect("no error")
                .expect("an outcome");
            assert_eq!((o.index, o.id), (i, format!("late-{i}")));
        }
        drop(tx);
        let end = timeout(STEP, inbound.message()).await.expect("in time");
        assert!(matches!(end, Ok(None)), "{end:?}");
        server.stop().await;
        return;
    }
}

/// A batch whose deadline has passed must not keep the server busy: its
/// worker stops at the next document. Ordered by events, not by timing: a
/// worker hook holds the batch on its worker, after it took its model, until
/// the server has dropped the call for its deadline; only then does the
/// worker go on, and it must classify nothing more. The server has a single
/// blocking thread, so the next batch runs only after the expired one has
/// finished, and the server's document counter then holds exactly what
/// both classified.
#[test]
fn a_timed_out_batch_stops_its_worker() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let holding = Arc::new(AtomicBool::new(true));
        let (arrived, mut arrivals) = mpsc::unbounded_channel();
        let built = Server::new(Limits::default(), Duration::from_secs(30))
            .await
            .with_worker_hook(hold_until_dropped(holding.clone(), arrived));
        let metrics = built.metrics();
        let server = TestServer::start_built(built, Some(tiny_model())).await;
        let mut client = server.client().await;
        let n = 1000;
        // The deadline must expire while the batch is held, not before it
        // reaches its worker (on a loaded machine the transfer alone can
        // take a while): a call that expired on the way is retried with a
        // longer deadline. Either way the call ends CANCELLED.
        let mut deadline = Duration::from_millis(200);
        loop {
            let mut request = tonic::Request::new(slow_batch(n, "c"));
            request.set_timeout(deadline);
            let status = client
                .classify_batch(request)
                .await
                .expect_err("the deadline expires while the batch is held");
            assert_eq!(status.code(), Code::Cancelled, "{status:?}");
            if arrivals.try_recv().is_ok() {
                break;
            }
            assert!(deadline < STEP, "the batch never reached a worker");
            deadline *= 2;
        }
        holding.store(false, Ordering::SeqCst);

        let response = client
            .classify_batch(ClassifyBatchRequest {
                documents: vec![small_request()],
            })
            .await
            .expect("batch")
            .into_inner();
        assert_eq!(response.outcomes.len(), 1);
        // The expired batch classified none of its 1000 documents.
        assert!(
            metrics
                .encode()
                .lines()
                .any(|line| line == "docclass_documents_classified_total 1"),
            "{}",
            metrics.encode()
        );
        server.stop().await;
    });
}

async fn next_outcome(inbound: &mut tonic::Streaming<ClassifyOutcome>) -> ClassifyOutcome {
    timeout(STEP, inbound.message())
        .await
        .expect("an outcome in time")
        .expect("no stream error")
        .expect("the stream is still open")
}

#[tokio::test]
async fn graceful_shutdown_lets_an_in_flight_stream_finish() {
    let mut server = TestServer::start(Some(tiny_model())).await;
    let url = server.url();
    let mut client = server.client().await;
    let (tx, rx) = mpsc::channel::<ClassifyRequest>(4);
    let mut inbound = client
        .classify_stream(ReceiverStream::new(rx))
        .await
        .expect("the stream opens")
        .into_inner();
    tx.send(ClassifyRequest {
        id: "before".into(),
        ..small_request()
    })
    .await
    .expect("send");
    let o = next_outcome(&mut inbound).await;
    assert_eq!((o.index, o.id.as_str()), (0, "before"));

    let join = server.begin_shutdown();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!join.is_finished(), "the server waits for the open stream");
    // Shutdown closed the listener: a new connection is refused at once.
    let refused = Channel::from_shared(url.clone())
        .expect("url")
        .connect()
        .await;
    assert!(refused.is_err(), "connected during shutdown");

    // The call in flight goes on: more messages, more outcomes.
    for i in 1..=20u64 {
        tx.send(ClassifyRequest {
            id: format!("during-{i}"),
            ..small_request()
        })
        .await
        .expect("send");
        let o = next_outcome(&mut inbound).await;
        assert_eq!((o.index, o.id), (i, format!("during-{i}")));
        assert!(matches!(o.outcome, Some(Outcome::Result(_))));
    }
    assert!(!join.is_finished(), "still waiting for the stream");
    drop(tx);
    let end = timeout(STEP, inbound.message()).await.expect("in time");
    assert!(matches!(end, Ok(None)), "the stream ends with OK: {end:?}");

    let served = timeout(STEP, join)
        .await
        .expect("the server stops once the stream is done")
        .expect("server task");
    assert!(served.is_ok(), "{served:?}");

    // After shutdown: a new connection fails, and the old client cannot
    // reconnect either.
    let err = Channel::from_shared(url)
        .expect("url")
        .connect()
        .await
        .expect_err("nothing listens any more");
    assert!(
        is_connection_refused(&err),
        "expected connection refused, got {err:?}"
    );
    let status = client
        .classify(small_request())
        .await
        .expect_err("the server is gone");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
}

/// Whether `err`'s source chain holds an `io::Error` of kind ConnectionRefused.
fn is_connection_refused(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(err);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return io.kind() == std::io::ErrorKind::ConnectionRefused;
        }
        source = e.source();
    }
    false
}

#[tokio::test]
async fn graceful_shutdown_lets_an_in_flight_batch_finish() {
    let mut server = TestServer::start(Some(tiny_model())).await;
    let mut client = server.client().await;
    let call = tokio::spawn(async move { client.classify_batch(big_batch(300)).await });
    // The request is on the wire (and most likely being classified).
    tokio::time::sleep(Duration::from_millis(30)).await;
    let join = server.begin_shutdown();
    let response = timeout(STEP, call)
        .await
        .expect("the batch completes")
        .expect("call task")
        .expect("the batch in flight succeeds")
        .into_inner();
    assert_eq!(response.outcomes.len(), 300);
    assert!(response
        .outcomes
        .iter()
        .enumerate()
        .all(|(i, o)| o.index == i as u64 && matches!(o.outcome, Some(Outcome::Result(_)))));
    let served = timeout(STEP, join)
        .await
        .expect("the server stops")
        .expect("server task");
    assert!(served.is_ok(), "{served:?}");
}

#[tokio::test]
async fn shutdown_with_idle_clients_is_immediate() {
    let server = TestServer::start(Some(tiny_model())).await;
    let mut client = server.client().await;
    client.classify(small_request()).await.expect("classify");
    // An idle connection does not hold shutdown up.
    timeout(Duration::from_secs(2), server.stop())
        .await
        .expect("stops promptly");
    let status = client
        .classify(small_request())
        .await
        .expect_err("the server is gone");
    // A call can race the client's reading of the close: sent on the old
    // connection, it meets a TCP reset instead (twice in about 130 runs
    // here; likely a last frame of the client's left unread when the
    // server's socket closed). The client's next call finds the server gone.
    let status = match status.code() {
        Code::Unknown if is_connection_reset(&status) => client
            .classify(small_request())
            .await
            .expect_err("the server is gone"),
        _ => status,
    };
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
}

/// Whether `status` reports a connection its peer reset.
fn is_connection_reset(status: &tonic::Status) -> bool {
    let mut source = std::error::Error::source(status);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return io.kind() == std::io::ErrorKind::ConnectionReset;
        }
        source = e.source();
    }
    false
}
