//! Connections: a silent socket, or one that stops part-way through the
//! HTTP/2 preface, is closed after the connection deadline, a
//! connection over `max_connections` is closed at once, and neither stops a
//! well-behaved client.
use crate::common::{tiny_model, TestServer};
use docclass::service::pb::ClassifyRequest;
use docclass::service::Limits;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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
async fn connections_over_the_cap_are_closed_at_once_and_served_again_when_below() {
    let limits = Limits {
        max_connections: 3,
        connection_first_bytes_timeout: Duration::from_secs(60),
        ..Limits::default()
    };
    let server = TestServer::start_with(Some(tiny_model()), limits, Duration::from_secs(30)).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(server.addr).await.expect("connect"));
    }
    // Give the server time to accept the three before the fourth arrives.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut over = TcpStream::connect(server.addr).await.expect("connect");
    assert!(
        closed_within(&mut over, Duration::from_secs(5)).await,
        "the connection over the cap stayed open"
    );
    for socket in &mut held {
        assert!(
            !closed_within(socket, Duration::from_millis(100)).await,
            "a connection under the cap was closed"
        );
    }
    drop(held);
    // Below the cap again: a client is served.
    let mut served = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let channel = tonic::transport::Channel::from_shared(server.url())
            .expect("url")
            .connect()
            .await;
        if let Ok(channel) = channel {
            let mut client =
                docclass::service::pb::classifier_client::ClassifierClient::new(channel);
            if client.classify(request()).await.is_ok() {
                served = true;
                break;
            }
        }
    }
    assert!(
        served,
        "no client was served after the held connections closed"
    );
    server.stop().await;
}
