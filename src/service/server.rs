//! Server assembly: our services, gRPC health and reflection, message-size
//! limits, a server-side request timeout (client deadlines are honoured too,
//! by tonic's `grpc-timeout` handling), admission and metrics (`rpc_layer`),
//! bearer tokens, TLS, and graceful shutdown; and health alone on a listener
//! of its own (`HealthOnly`), for probes that cannot speak TLS.
use super::admin_api::AdminApi;
use super::auth::{RequireToken, Security, WhenUnset};
use super::classifier_api::ClassifierApi;
use super::incoming::Incoming;
use super::metrics::Metrics;
use super::noop_api::NoopApi;
use super::pb;
use super::pb::admin_server::AdminServer;
use super::pb::classifier_server::ClassifierServer;
use super::pb::transport_server::TransportServer;
use super::reload::{ModelFiles, ModelLoader, Reloader};
use super::request_body;
use super::rpc_layer::{Admission, RpcLayer, SideStreams};
use super::state::{Limits, ModelHandle, State, WorkerHook};
use super::streams::Streams;
use crate::model::Model;
use arc_swap::ArcSwapOption;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Identity, ServerTlsConfig};
use tonic_health::ServingStatus;

/// Errors starting or running the server.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot build the reflection service: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("transport error: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("cannot start accepting connections: {0}")]
    Accept(#[source] std::io::Error),
}

/// TLS material, PEM-encoded. With `client_ca_pem`, clients must present a
/// certificate signed by that CA (mutual TLS).
#[derive(Clone)]
pub struct TlsConfig {
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
    pub client_ca_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig")
            .field("cert_pem", &format_args!("{} bytes", self.cert_pem.len()))
            .field("key_pem", &format_args!("<redacted>"))
            .field("mutual", &self.client_ca_pem.is_some())
            .finish()
    }
}

impl TlsConfig {
    /// `handshake_timeout`: a client that has not finished its TLS
    /// handshake by then is dropped (one that stalls part-way would hold its
    /// connection for ever).
    fn to_tonic(&self, handshake_timeout: Duration) -> ServerTlsConfig {
        let config = ServerTlsConfig::new()
            .identity(Identity::from_pem(&self.cert_pem, &self.key_pem))
            .timeout(handshake_timeout);
        match &self.client_ca_pem {
            Some(ca) => config.client_ca_root(Certificate::from_pem(ca)),
            None => config,
        }
    }
}

/// A configured server, not yet serving. Its [`ModelHandle`] puts models in
/// service and drives the health status; its [`Reloader`] loads model files.
pub struct Server {
    handle: ModelHandle,
    health_service:
        tonic_health::pb::health_server::HealthServer<tonic_health::server::HealthService>,
    limits: Limits,
    request_timeout: Duration,
    security: Security,
    tls: Option<TlsConfig>,
    metrics: Arc<Metrics>,
    reloader: Arc<Reloader>,
    /// Where the reloader may read model files from, and how.
    files: Option<ModelFiles>,
    loader: Arc<ModelLoader>,
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
        let metrics = Arc::new(Metrics::new(&[
            pb::FILE_DESCRIPTOR_SET,
            tonic_health::pb::FILE_DESCRIPTOR_SET,
            tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
            tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
        ]));
        let state = Arc::new(State {
            slot: ArcSwapOption::empty(),
            limits,
            metrics: metrics.clone(),
            work: Admission::new(limits.max_concurrent_requests),
            streams: Arc::new(Streams::new(
                limits.max_streams,
                limits.max_streams_per_connection,
                metrics.clone(),
            )),
            workers: super::workers::Workers::for_this_machine(),
            worker_hook: std::sync::OnceLock::new(),
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
        let loader: Arc<ModelLoader> = Arc::new(Model::load_cancellable);
        let reloader = Arc::new(Reloader::new(
            handle.clone(),
            metrics.clone(),
            None,
            loader.clone(),
        ));
        Server {
            handle,
            health_service,
            limits,
            request_timeout,
            security: Security::default(),
            tls: None,
            metrics,
            reloader,
            files: None,
            loader,
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

    /// Runs `hook` on the worker thread before each classification (see
    /// [`WorkerHook`]); for tests. A second hook is ignored.
    #[doc(hidden)]
    pub fn with_worker_hook(self, hook: WorkerHook) -> Server {
        let _ = self.handle.state.worker_hook.set(hook);
        self
    }

    pub fn handle(&self) -> ModelHandle {
        self.handle.clone()
    }

    /// `grpc.health.v1.Health` alone, for a second listener with no TLS
    /// (`docclass-server --health-addr`): the kubelet's gRPC probe cannot
    /// speak TLS, yet must read the statuses this server reports.
    pub fn health_only(&self) -> HealthOnly {
        HealthOnly {
            service: self.health_service.clone(),
        }
    }

    /// Lets the server (re)load models from `files`' directory. Call before
    /// [`Server::reloader`].
    pub fn with_model_files(mut self, files: ModelFiles) -> Server {
        self.files = Some(files);
        self.with_new_reloader()
    }

    /// Reads model files with `loader` instead of
    /// [`Model::load_cancellable`]: a test can hold a load in progress and
    /// watch its cancellation flag. Call before [`Server::reloader`].
    pub fn with_model_loader(mut self, loader: Arc<ModelLoader>) -> Server {
        self.loader = loader;
        self.with_new_reloader()
    }

    fn with_new_reloader(mut self) -> Server {
        self.reloader = Arc::new(Reloader::new(
            self.handle.clone(),
            self.metrics.clone(),
            self.files.clone(),
            self.loader.clone(),
        ));
        self
    }

    /// Bearer tokens for the admin and classification services.
    pub fn with_security(mut self, security: Security) -> Server {
        self.security = security;
        self
    }

    /// Serves over TLS instead of plaintext.
    pub fn with_tls(mut self, tls: TlsConfig) -> Server {
        self.tls = Some(tls);
        self
    }

    /// Loads model files: the first load, SIGHUP, and the admin RPC.
    pub fn reloader(&self) -> Arc<Reloader> {
        self.reloader.clone()
    }

    /// The server's metrics, for the `/metrics` endpoint.
    pub fn metrics(&self) -> Arc<Metrics> {
        self.metrics.clone()
    }

    /// The `Classifier` service with the message-size limits, as
    /// [`Server::serve`] mounts it (there behind the token check and the
    /// admission layer). A tower service, so it can also be called
    /// in-process, without a transport: the gRPC fuzz targets do.
    pub fn classifier(&self) -> ClassifierServer<ClassifierApi> {
        ClassifierServer::new(ClassifierApi::new(self.handle.state.clone()))
            .max_decoding_message_size(self.limits.max_message_bytes)
            .max_encoding_message_size(self.limits.max_message_bytes)
    }

    /// Serves on `listener` until `shutdown` resolves, then stops accepting
    /// connections, stops the reload in progress (its load at the next
    /// chunk) and lets requests in flight finish.
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
        let classifier = InterceptedService::new(
            self.classifier(),
            RequireToken::new(self.security.client_token.clone(), WhenUnset::Allow),
        );
        let admin = InterceptedService::new(
            AdminServer::new(AdminApi::new(self.reloader.clone())),
            RequireToken::new(self.security.admin_token.clone(), WhenUnset::Refuse),
        );
        // Same decode limit and client token as Classify: Noop measures the
        // transport of the same requests, and is no way around the token.
        let noop = self.noop_rpc.then(|| {
            InterceptedService::new(
                TransportServer::new(NoopApi)
                    .max_decoding_message_size(self.limits.max_message_bytes),
                RequireToken::new(self.security.client_token.clone(), WhenUnset::Allow),
            )
        });
        let reloader = self.reloader.clone();
        let shutdown = async move {
            shutdown.await;
            reloader.stop();
        };
        let mut builder = tonic::transport::Server::builder();
        if let Some(tls) = &self.tls {
            builder =
                builder.tls_config(tls.to_tonic(self.limits.connection_first_bytes_timeout))?;
        }
        let admission = self.handle.state.work.clone();
        let side_streams = SideStreams {
            admission: Admission::new(self.limits.max_side_streams),
            lifetime: self.limits.side_stream_lifetime,
        };
        // Bounded accepting on a thread of its own (cap, eviction,
        // first-bytes deadline, EMFILE backoff); it also sets TCP_NODELAY,
        // which tonic ignores for a listener we bind.
        let incoming = Incoming::new(
            listener,
            self.limits.max_connections,
            self.limits.connection_first_bytes_timeout,
            self.metrics.clone(),
        )
        .map_err(ServerError::Accept)?;
        builder
            .timeout(self.request_timeout)
            .http2_keepalive_interval(Some(Duration::from_secs(30)))
            // HTTP/2 rapid reset (CVE-2023-44487): a connection whose client
            // resets more streams than this before the server has taken them
            // gets GOAWAY. h2's own default, stated so that a dependency
            // update cannot lift it unnoticed (bench/hostile.sh measures it).
            .http2_max_pending_accept_reset_streams(Some(20))
            .max_concurrent_streams(self.limits.max_concurrent_streams)
            .layer(RpcLayer::new(
                admission,
                side_streams,
                self.metrics.clone(),
                request_body::one_document_limit(&self.limits),
            ))
            .add_service(self.health_service)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            .add_service(classifier)
            .add_service(admin)
            .add_optional_service(noop)
            .serve_with_incoming_shutdown(incoming, shutdown)
            .await?;
        Ok(())
    }
}

/// The health service of a [`Server`] on a listener of its own, in
/// plaintext, answering the same statuses (SERVING once a model is in,
/// NOT_SERVING from shutdown on) and nothing else.
pub struct HealthOnly {
    service: tonic_health::pb::health_server::HealthServer<tonic_health::server::HealthService>,
}

impl HealthOnly {
    /// Serves until `shutdown` resolves. Probes call `Check`; a few
    /// streams per connection are enough for them.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), ServerError> {
        tonic::transport::Server::builder()
            .max_concurrent_streams(Some(HEALTH_ONLY_STREAMS_PER_CONNECTION))
            .add_service(self.service)
            .serve_with_incoming_shutdown(
                tokio_stream::wrappers::TcpListenerStream::new(listener),
                shutdown,
            )
            .await?;
        Ok(())
    }
}

/// HTTP/2 streams per connection on the health-only listener.
const HEALTH_ONLY_STREAMS_PER_CONNECTION: u32 = 4;
