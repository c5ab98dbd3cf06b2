//! Connections: a silent socket, or one that stops part-way through the
//! HTTP/2 preface, is closed after the connection deadline; at
//! `max_connections`, a new connection takes the place of the quietest
//! (one that owes no answer), or is closed at once when every one owes an
//! answer; none of it stops a well-behaved client.
use crate::common::{hold_each, tiny_model, TestServer};
use docclass::service::pb::ClassifyRequest;
use docclass::service::{Limits, Server, WorkerHook};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

fn request() -> ClassifyRequest {
    ClassifyRequest {
        text: "Troops clashed with rebels near the border".into(),
        ..Default::default()
    }
}

/// Reads (the server's HTTP/2 preface, if it sends one) until the server
/// closes the socket (EOF or reset); `false` if it is still open after
/// `within`.
async fn closed_within(socket: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 256];
    let drained = async {
        loop {
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    };
    tokio::time::timeout(within, drained).await.is_ok()
}

/// Limits of `max_connections`, with a first-bytes deadline long enough
/// that no silent socket is closed by it during a test: only the cap acts.
fn capped(max_connections: usize) -> Limits {
    Limits {
        max_connections,
        connection_first_bytes_timeout: Duration::from_secs(60),
        ..Limits::default()
    }
}

#[tokio::test]
async fn a_silent_connection_is_closed_after_the_deadline_and_others_are_served() {
    let limits = Limits {
        connection_first_bytes_timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let server = TestServer::start_with(Some(tiny_model()), limits, Duration::from_secs(30)).await;
    let mut silent = Vec::new();
    for _ in 0..20 {
        silent.push(TcpStream::connect(server.addr).await.expect("connect"));
    }
    // A client that speaks is served while the silent sockets wait.
    let mut client = server.client().await;
    client.classify(request()).await.expect("served");
    for socket in &mut silent {
        assert!(
            closed_within(socket, Duration::from_secs(5)).await,
            "a silent connection stayed open"
        );
    }
    // Nor does a connection that stops part-way through the HTTP/2 preface
    // outlive the deadline.
    let mut partial = TcpStream::connect(server.addr).await.expect("connect");
    partial
        .write_all(&b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"[..14])
        .await
        .expect("write");
    assert!(
        closed_within(&mut partial, Duration::from_secs(5)).await,
        "a connection that sent part of the preface stayed open"
    );
    // A connection that spoke is not bound by the deadline: after a pause
    // longer than it, the same channel still works.
    tokio::time::sleep(Duration::from_millis(600)).await;
    client.classify(request()).await.expect("still served");
    server.stop().await;
}

#[tokio::test]
async fn at_the_cap_a_new_connection_takes_the_place_of_the_quietest() {
    let limits = capped(3);
    let server = TestServer::start_with(Some(tiny_model()), limits, Duration::from_secs(30)).await;
    // Three silent sockets fill the cap, the first the quietest longest.
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(server.addr).await.expect("connect"));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The server does not speak to a socket that has not spoken: a silent
    // one costs no HTTP/2 set-up (the server's SETTINGS would be here).
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut first = [0u8; 1];
    for socket in &held {
        assert!(matches!(
            socket.try_read(&mut first),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock
        ));
    }
    // A client that arrives now is served, in the first one's place.
    let mut client = server.client().await;
    client.classify(request()).await.expect("served at the cap");
    assert!(
        closed_within(&mut held[0], Duration::from_secs(5)).await,
        "the quietest connection stayed open"
    );
    for socket in &mut held[1..] {
        assert!(
            !closed_within(socket, Duration::from_millis(100)).await,
            "a connection other than the quietest was closed"
        );
    }
    // The client spoke last, so the next newcomer takes the second place.
    let mut next = server.client().await;
    next.classify(request()).await.expect("served at the cap");
    assert!(closed_within(&mut held[1], Duration::from_secs(5)).await);
    client.classify(request()).await.expect("still served");
    drop(held);
    server.stop().await;
}

#[tokio::test]
async fn a_connection_that_never_spoke_goes_before_a_quieter_one_that_did() {
    let limits = capped(3);
    let server = TestServer::start_with(Some(tiny_model()), limits, Duration::from_secs(30)).await;
    // A client speaks, then two sockets that never do arrive after it: the
    // client is the one that has sent nothing for longest.
    let mut client = server.client().await;
    client.classify(request()).await.expect("served");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut silent = Vec::new();
    for _ in 0..2 {
        silent.push(TcpStream::connect(server.addr).await.expect("connect"));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A newcomer takes a silent socket's place, not the client's.
    let mut newcomer = server.client().await;
    newcomer
        .classify(request())
        .await
        .expect("served at the cap");
    assert!(closed_within(&mut silent[0], Duration::from_secs(5)).await);
    assert!(!closed_within(&mut silent[1], Duration::from_millis(100)).await);
    client
        .classify(request())
        .await
        .expect("the client that spoke kept its connection");
    drop(silent);
    server.stop().await;
}

/// A worker hook that, while `holding` is set, tells `arrived` and holds
/// each classification until `holding` is cleared.
fn hold_while(holding: Arc<AtomicBool>, arrived: mpsc::UnboundedSender<()>) -> WorkerHook {
    let switch = holding.clone();
    hold_each(holding, arrived, move |_| !switch.load(Ordering::SeqCst))
}

#[tokio::test]
async fn a_connection_that_owes_an_answer_keeps_its_place_and_a_newcomer_is_refused() {
    let limits = capped(2);
    let holding = Arc::new(AtomicBool::new(true));
    let (arrived, mut arrivals) = mpsc::unbounded_channel();
    let built = Server::new(limits, Duration::from_secs(30))
        .await
        .with_worker_hook(hold_while(holding.clone(), arrived));
    let server = TestServer::start_built(built, Some(tiny_model())).await;
    // Two connections, each with a Classify held in progress.
    let mut calls = Vec::new();
    for _ in 0..2 {
        let mut client = server.client().await;
        calls.push(tokio::spawn(
            async move { client.classify(request()).await },
        ));
        arrivals.recv().await.expect("the call reached its worker");
    }
    let mut over = TcpStream::connect(server.addr).await.expect("connect");
    assert!(
        closed_within(&mut over, Duration::from_secs(5)).await,
        "a connection over the cap stayed open while every place owed an answer"
    );
    holding.store(false, Ordering::SeqCst);
    for call in calls {
        call.await
            .expect("the call's task")
            .expect("answered, not evicted");
    }
    server.stop().await;
}
