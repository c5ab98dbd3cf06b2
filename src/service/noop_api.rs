//! The `docclass.v1.Transport` handler: `Noop` decodes a `ClassifyRequest`
//! and answers an empty response, so the load generator can measure what the
//! transport alone costs. Served only with `--enable-noop-rpc`.
use super::pb;
use super::pb::transport_server::Transport;
use tonic::{Request, Response, Status};

/// Implements the `Transport` service: no state, no model, no logging (a log
/// line would be a cost `Noop` is meant to leave out).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoopApi;

#[tonic::async_trait]
impl Transport for NoopApi {
    async fn noop(
        &self,
        request: Request<pb::ClassifyRequest>,
    ) -> Result<Response<pb::NoopResponse>, Status> {
        // The request is decoded by now; dropping it is the whole job.
        drop(request);
        Ok(Response::new(pb::NoopResponse {}))
    }
}
