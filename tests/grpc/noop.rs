//! `docclass.v1.Transport/Noop`: UNIMPLEMENTED unless the server enables it;
//! enabled, it decodes a ClassifyRequest and answers an empty response.
//!
//! `NoopResponse` has no fields, so comparing a decoded response with
//! `NoopResponse {}` says nothing; these tests read the response's bytes
//! as they came (none), and show the request is decoded by sending one that
//! does not decode.
use crate::common::raw_grpc::RawBytesEncoder;
use crate::common::{tiny_model, TestServer};
use docclass::service::pb::transport_client::TransportClient;
use docclass::service::pb::ClassifyRequest;
use prost::bytes::Buf;
use prost::Message;
use tonic::codec::{Codec, DecodeBuf, Decoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;
use tonic::{Code, Status};

const NOOP: &str = "/docclass.v1.Transport/Noop";

/// Raw bytes both ways: the request as given, the response as received.
#[derive(Default)]
struct RawCodec;

struct RawBytesDecoder;

impl Decoder for RawBytesDecoder {
    type Item = Vec<u8>;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining()).to_vec()))
    }
}

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawBytesEncoder;
    type Decoder = RawBytesDecoder;

    fn encoder(&mut self) -> RawBytesEncoder {
        RawBytesEncoder
    }

    fn decoder(&mut self) -> RawBytesDecoder {
        RawBytesDecoder
    }
}

/// Calls Noop with `message` as the encoded request; the response's bytes.
async fn noop_bytes(channel: Channel, message: Vec<u8>) -> Result<Vec<u8>, Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.expect("channel ready");
    grpc.unary(
        tonic::Request::new(message),
        PathAndQuery::from_static(NOOP),
        RawCodec,
    )
    .await
    .map(tonic::Response::into_inner)
}

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
    let channel = server.channel().await;

    // An OK status and a response message of zero bytes.
    let response = noop_bytes(channel.clone(), request().encode_to_vec())
        .await
        .expect("noop is on");
    assert_eq!(response, Vec::<u8>::new());
    // Noop needs no model and reads nothing of the request, not even its text.
    let response = noop_bytes(channel.clone(), Vec::new())
        .await
        .expect("an empty request is fine");
    assert_eq!(response, Vec::<u8>::new());
    // But it does decode it: bytes that are no ClassifyRequest (text, field
    // 1, holding invalid UTF-8) are refused as Classify would refuse them.
    let status = noop_bytes(channel, vec![0x0a, 0x02, 0xff, 0xfe])
        .await
        .expect_err("the request does not decode");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert_eq!(
        status.message(),
        "the request does not decode as protobuf: text: invalid string value: data is not UTF-8 encoded"
    );

    server.stop().await;
}

#[tokio::test]
async fn noop_works_before_a_model_is_loaded() {
    let server = TestServer::start_with_noop_rpc(None).await;
    let response = noop_bytes(server.channel().await, request().encode_to_vec())
        .await
        .expect("noop needs no model");
    assert_eq!(response, Vec::<u8>::new());
    // Classify on the same server has no model to answer with.
    let mut client = server.client().await;
    let status = client.classify(request()).await.expect_err("no model yet");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");

    server.stop().await;
}
