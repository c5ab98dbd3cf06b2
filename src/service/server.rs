//! Server assembly: our service, gRPC health and reflection, message-size
//! limits, a server-side request timeout (client deadlines are honoured too,
//! by tonic's `grpc-timeout` handling), and graceful shutdown.
use super::classifier_api::ClassifierApi;
use super::noop_api::NoopApi;
use super::pb;
use super::pb::classifier_server::ClassifierServer;
use super::pb::transport_server::TransportServer;
use super::state::{Limits, ModelHandle, State};
use arc_swap::ArcSwapOption;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;

/// Errors starting or running the server.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot build the reflection service: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("transport error: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// A configured server, not yet serving. Its [`ModelHandle`] puts models in
/// service and drives the health status.
pub struct Server {
    handle: ModelHandle,
    health_service:
        tonic_health::pb::health_server::HealthServer<tonic_health::server::HealthService>,
    limits: Limits,
    request_timeout: Duration,
    /// Also serve `docclass.v1.Transport/Noop` (load-generator baseline).
    noop_rpc: bool,
}

impl Server {
    /// A server with no model yet: health reports NOT_SERVING and
    /// classification answers UNAVAILABLE until [`ModelHandle::install`].
    pub async fn new(limits: Limits, request_timeout: Duration) -> Server {
        let health = tonic_health::server::HealthReporter::new();
        let health_service = tonic_health::pb::health_server::HealthServer::new(
            tonic_health::server::HealthService::from_health_reporter(health.clone()),
        );
        let state = Arc::new(State {
            slot: ArcSwapOption::empty(),
            limits,
        });
        let handle = ModelHandle { state, health };
        handle
            .health
            .set_service_status(super::state::SERVICE_NAME, ServingStatus::NotServing)
            .await;
        handle
            .health
            .set_service_status("", ServingStatus::NotServing)
            .await;
        Server {
            handle,
            health_service,
            limits,
            request_timeout,
            noop_rpc: false,
        }
    }

    /// Also serves `docclass.v1.Transport/Noop`, which decodes a
    /// `ClassifyRequest` and answers nothing: the baseline `docclass-bench
    /// noop` compares Classify with. Off by default (UNIMPLEMENTED).
    pub fn with_noop_rpc(mut self, enabled: bool) -> Server {
        self.noop_rpc = enabled;
        self
    }

    pub fn handle(&self) -> ModelHandle {
        self.handle.clone()
    }

    /// Serves on `listener` until `shutdown` resolves, then stops accepting
    /// connections and lets requests in flight finish.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), ServerError> {
        let reflection_v1 = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            // google.rpc error details, so reflection clients can decode BadRequest.
            .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
            .build_v1()?;
        let reflection_v1alpha = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
            .build_v1alpha()?;
        let classifier = ClassifierServer::new(ClassifierApi::new(self.handle.state.clone()))
            .max_decoding_message_size(self.limits.max_message_bytes)
            .max_encoding_message_size(self.limits.max_message_bytes);
        // Same decode limit as Classify, so both read the same requests.
        let noop = self.noop_rpc.then(|| {
            TransportServer::new(NoopApi).max_decoding_message_size(self.limits.max_message_bytes)
        });
        // tonic ignores the builder's `tcp_nodelay` for a listener we bind
        // ourselves, so set it on each accepted socket: with Nagle on, a
        // response written in two pieces waited for the client's delayed ACK
        // (about 40 ms per unary Classify, measured by bench/perf.sh).
        let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
        tonic::transport::Server::builder()
            .timeout(self.request_timeout)
            .http2_keepalive_interval(Some(Duration::from_secs(30)))
            .add_service(self.health_service)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            .add_service(classifier)
            .add_optional_service(noop)
            .serve_with_incoming_shutdown(incoming, shutdown)
            .await?;
        Ok(())
    }
}
