//! HTTP/2 rapid reset (CVE-2023-44487): a request whose client resets its
//! stream (RST_STREAM CANCEL) after sending the whole message, but before
//! ending it, reaches no handler. The server classifies nothing for it,
//! counts it as CANCELLED, and keeps serving the same connection.
use crate::common::messages::request;
use crate::common::{tiny_model, TestServer, TROOPS};
use crate::metrics::{assert_sample, http_get, samples, MetricsEndpoint};
use docclass::service::pb::ClassifyBatchRequest;
use docclass::service::{Limits, Server};
use prost::Message;
use std::net::SocketAddr;
use std::time::Duration;
use tonic::codegen::Bytes;

/// `message` in one gRPC frame (uncompressed, with its length prefix).
fn grpc_frame(message: &impl Message) -> Vec<u8> {
    let payload = message.encode_to_vec();
    let mut frame = vec![0];
    frame.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    frame.extend_from_slice(&payload);
    frame
}

/// Sends `method`'s HEADERS and one DATA frame of `body`, ending the
/// stream when `end`.
async fn send(
    h2: &h2::client::SendRequest<Bytes>,
    addr: SocketAddr,
    method: &str,
    body: &[u8],
    end: bool,
) -> (h2::client::ResponseFuture, h2::SendStream<Bytes>) {
    let head = http::Request::post(format!("http://{addr}/docclass.v1.Classifier/{method}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(())
        .expect("a valid request head");
    let mut ready = h2
        .clone()
        .ready()
        .await
        .expect("the connection takes streams");
    let (response, mut stream) = ready.send_request(head, false).expect("HEADERS");
    stream.send_data(body.to_vec().into(), end).expect("DATA");
    (response, stream)
}

#[tokio::test]
async fn a_request_reset_by_its_client_is_never_classified() {
    let server = Server::new(Limits::default(), Duration::from_secs(30)).await;
    let endpoint = MetricsEndpoint::start(&server).await;
    let server = TestServer::start_built(server, Some(tiny_model())).await;

    let tcp = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    let (h2, connection) = h2::client::handshake(tcp).await.expect("HTTP/2 handshake");
    let connection = tokio::spawn(connection);
    let unary = grpc_frame(&request(TROOPS));
    let batch = grpc_frame(&ClassifyBatchRequest {
        documents: vec![request(TROOPS), request(TROOPS)],
    });
    // Each reset comes after the server has taken the stream and read its
    // message: resets of streams not yet taken are h2's to count (GOAWAY
    // past 20), and never reach a handler anyway.
    const RESETS: usize = 10;
    let mut responses = Vec::new();
    for i in 0..RESETS {
        let (method, body) = match i % 2 {
            0 => ("Classify", &unary),
            _ => ("ClassifyBatch", &batch),
        };
        let (response, mut stream) = send(&h2, server.addr, method, body, false).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        stream.send_reset(h2::Reason::CANCEL);
        responses.push(response);
    }
    for response in responses {
        // The stream is gone: no answer reaches the client.
        let answer = tokio::time::timeout(Duration::from_secs(10), response)
            .await
            .expect("the reset stream ends at once");
        assert!(answer.is_err(), "{answer:?}");
    }

    // The same connection still serves a request that ends normally.
    let (response, _stream) = send(&h2, server.addr, "Classify", &unary, true).await;
    let response = response.await.expect("an answer");
    assert_eq!(response.status(), 200);
    let (_, mut body) = response.into_parts();
    let mut answer = Vec::new();
    while let Some(chunk) = body.data().await {
        answer.extend_from_slice(&chunk.expect("a data frame"));
    }
    let trailers = body.trailers().await.expect("trailers").expect("trailers");
    assert_eq!(
        trailers.get("grpc-status").map(|v| v.as_bytes()),
        Some(&b"0"[..])
    );
    assert!(answer.len() > 5, "a ClassifyResponse");
    connection.abort();

    // Every reset is counted as CANCELLED once the server has seen it.
    let mut after = String::new();
    for _ in 0..100 {
        after = http_get(endpoint.addr, "/metrics").await;
        if after.contains(r#"method="docclass.v1.Classifier/ClassifyBatch",code="CANCELLED"} 5"#) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let after = samples(&after);
    for expected in [
        r#"docclass_rpc_requests_total{method="docclass.v1.Classifier/Classify",code="CANCELLED"} 5"#,
        r#"docclass_rpc_requests_total{method="docclass.v1.Classifier/ClassifyBatch",code="CANCELLED"} 5"#,
        r#"docclass_rpc_requests_total{method="docclass.v1.Classifier/Classify",code="OK"} 1"#,
        // Only the request that ended normally was classified.
        "docclass_documents_classified_total 1",
    ] {
        assert_sample(&after, expected);
    }
    endpoint.stop().await;
    server.stop().await;
}
