//! `docclass.v1.Transport/Noop`: UNIMPLEMENTED unless the server enables it;
//! enabled, it decodes a ClassifyRequest and answers an empty response.
use crate::common::{tiny_model, TestServer};
use docclass::service::pb::transport_client::TransportClient;
use docclass::service::pb::{ClassifyRequest, NoopResponse};
use tonic::Code;

fn request() -> ClassifyRequest {
    ClassifyRequest {
        text: "Troops and militia clashed near the border".into(),
        title: "Border clashes".into(),
        id: "noop-1".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn noop_is_unimplemented_by_default() {
    let server = TestServer::start(Some(tiny_model())).await;
    let mut client = TransportClient::new(server.channel().await);

    let status = client.noop(request()).await.expect_err("noop is off");
    assert_eq!(status.code(), Code::Unimplemented);

    server.stop().await;
}

#[tokio::test]
async fn noop_answers_an_empty_response_when_enabled() {
    let server = TestServer::start_with_noop_rpc(Some(tiny_model())).await;
    let mut client = TransportClient::new(server.channel().await);

    let response = client.noop(request()).await.expect("noop is on");
    assert_eq!(response.into_inner(), NoopResponse {});
    // Noop needs no model and reads nothing of the request, not even its text.
    let response = client
        .noop(ClassifyRequest::default())
        .await
        .expect("an empty request is fine");
    assert_eq!(response.into_inner(), NoopResponse {});

    server.stop().await;
}

#[tokio::test]
async fn noop_works_before_a_model_is_loaded() {
    let server = TestServer::start_with_noop_rpc(None).await;
    let mut client = TransportClient::new(server.channel().await);

    let response = client.noop(request()).await.expect("noop needs no model");
    assert_eq!(response.into_inner(), NoopResponse {});

    server.stop().await;
}
