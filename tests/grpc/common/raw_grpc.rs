//! A gRPC client that sends pre-encoded protobuf bytes as the request
//! message, so a test can put on the wire what no generated client would
//! (invalid UTF-8 in a string field, a truncated field). Responses are decoded
//! with prost as usual. Used by the gRPC tests and, included by path, by the
//! gRPC fuzz targets in `fuzz/`, which call the server's service in-process.

use prost::bytes::BufMut;
use std::marker::PhantomData;
use tonic::body::Body;
use tonic::client::GrpcService;
use tonic::codec::{Codec, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::codegen::{Body as HttpBody, StdError};
use tonic::{Request, Status, Streaming};

pub const CLASSIFY: &str = "/docclass.v1.Classifier/Classify";
pub const CLASSIFY_BATCH: &str = "/docclass.v1.Classifier/ClassifyBatch";
pub const CLASSIFY_STREAM: &str = "/docclass.v1.Classifier/ClassifyStream";

/// Writes the request bytes into the gRPC frame unchanged.
pub struct RawBytesEncoder;

impl Encoder for RawBytesEncoder {
    type Item = Vec<u8>;
    type Error = Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

/// Raw bytes out, prost message `U` in.
pub struct RawRequestCodec<U>(PhantomData<U>);

impl<U> Default for RawRequestCodec<U> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<U: prost::Message + Default + Send + 'static> Codec for RawRequestCodec<U> {
    type Encode = Vec<u8>;
    type Decode = U;
    type Encoder = RawBytesEncoder;
    type Decoder = tonic_prost::ProstDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        RawBytesEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        tonic_prost::ProstDecoder::default()
    }
}

async fn ready<T>(service: T) -> Result<tonic::client::Grpc<T>, Status>
where
    T: GrpcService<Body>,
{
    let mut grpc = tonic::client::Grpc::new(service);
    grpc.ready()
        .await
        .map_err(|e| Status::unavailable(format!("channel not ready: {}", e.into())))?;
    Ok(grpc)
}

/// Calls unary `method` (e.g. [`CLASSIFY`]) with `message` as the encoded
/// request, over `service`: a [`tonic::transport::Channel`], or a server's service called
/// in-process.
pub async fn unary<U: prost::Message + Default + Send + Sync + 'static>(
    service: impl GrpcService<Body, ResponseBody: Send + 'static + HttpBody<Error: Into<StdError>>>,
    method: &'static str,
    message: Vec<u8>,
) -> Result<U, Status> {
    let mut grpc = ready(service).await?;
    grpc.unary(
        Request::new(message),
        PathAndQuery::from_static(method),
        RawRequestCodec::default(),
    )
    .await
    .map(tonic::Response::into_inner)
}

/// Opens bidirectional `method` and sends `messages` as encoded requests,
/// then closes the client side.
pub async fn streaming<U: prost::Message + Default + Send + Sync + 'static>(
    service: impl GrpcService<Body, ResponseBody: Send + 'static + HttpBody<Error: Into<StdError>>>,
    method: &'static str,
    messages: Vec<Vec<u8>>,
) -> Result<Streaming<U>, Status> {
    let mut grpc = ready(service).await?;
    grpc.streaming(
        Request::new(tokio_stream::iter(messages)),
        PathAndQuery::from_static(method),
        RawRequestCodec::default(),
    )
    .await
    .map(tonic::Response::into_inner)
}
