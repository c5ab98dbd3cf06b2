//! Helpers for the admin, auth and metrics tests: a model directory in a
//! temporary folder, a server that loads from it, and bearer-token requests.

use super::TestServer;
use docclass::service::pb::admin_client::AdminClient;
use docclass::service::pb::classifier_client::ClassifierClient;
use docclass::service::pb::{ClassifyRequest, ReloadModelRequest};
use docclass::service::{Limits, ModelFiles, ReloadRequest, Secret, Security, Server};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tempfile::TempDir;
use tonic::transport::Channel;

pub use super::process::{FIXTURE, FIXTURE_VERSION};
/// The file the server starts with, inside [`ModelDir`].
pub const CURRENT: &str = "current.model";
pub const ADMIN_TOKEN: &str = "admin-token-0123456789";

/// A temporary model directory holding [`CURRENT`] (a copy of the fixture).
pub struct ModelDir {
    pub dir: TempDir,
}

impl ModelDir {
    pub fn new() -> ModelDir {
        let dir = TempDir::new().expect("temp dir");
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE),
            dir.path().join(CURRENT),
        )
        .expect("copy the fixture");
        ModelDir { dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, bytes: &[u8]) {
        std::fs::write(self.path(name), bytes).expect("write a model file");
    }

    /// A server that loads models from this directory, with `security`,
    /// its first model loaded through the reloader.
    pub async fn server_with(&self, limits: Limits, security: Security) -> Server {
        let files = ModelFiles::new(self.dir.path(), &self.path(CURRENT)).expect("model files");
        let server = Server::new(limits, Duration::from_secs(30))
            .await
            .with_model_files(files)
            .with_security(security);
        server
            .reloader()
            .reload(ReloadRequest::default())
            .await
            .expect("the fixture loads");
        server
    }

    /// [`ModelDir::server_with`] default limits and the admin token, started.
    pub async fn start(&self) -> TestServer {
        let security = Security {
            admin_token: Secret::new(ADMIN_TOKEN),
            client_token: None,
        };
        TestServer::start_built(self.server_with(Limits::default(), security).await, None).await
    }
}

/// `message` with `authorization: Bearer <token>`.
pub fn with_token<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("ASCII header"),
    );
    request
}

pub async fn admin(server: &TestServer) -> AdminClient<Channel> {
    AdminClient::new(server.channel().await)
}

/// Asks for a reload with the admin token.
pub async fn reload(
    server: &TestServer,
    model_path: &str,
    allow_topic_change: bool,
) -> Result<docclass::service::pb::ReloadModelResponse, tonic::Status> {
    admin(server)
        .await
        .reload_model(with_token(
            ReloadModelRequest {
                model_path: model_path.into(),
                allow_topic_change,
            },
            ADMIN_TOKEN,
        ))
        .await
        .map(tonic::Response::into_inner)
}

/// A document about armed conflict.
pub fn conflict_document() -> ClassifyRequest {
    ClassifyRequest {
        text: "Troops and militia clashed near the border".into(),
        ..Default::default()
    }
}

/// The version that answers a Classify.
pub async fn serving_version(client: &mut ClassifierClient<Channel>) -> String {
    client
        .classify(conflict_document())
        .await
        .expect("Classify succeeds")
        .into_inner()
        .model_version
}

/// An open `ClassifyStream`: the sender for its requests and its outcomes.
pub struct OpenStream {
    pub tx: tokio::sync::mpsc::Sender<ClassifyRequest>,
    pub inbound: tonic::Streaming<docclass::service::pb::ClassifyOutcome>,
}

impl OpenStream {
    /// Opens a stream.
    pub async fn open(client: &mut ClassifierClient<Channel>) -> OpenStream {
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let inbound = client
            .classify_stream(tokio_stream::wrappers::ReceiverStream::new(rx))
            .await
            .expect("stream opens")
            .into_inner();
        OpenStream { tx, inbound }
    }

    /// Sends one document and returns the model version of its result.
    pub async fn round_trip(&mut self, text: &str) -> String {
        use docclass::service::pb::classify_outcome::Outcome;
        self.tx
            .send(ClassifyRequest {
                text: text.into(),
                ..Default::default()
            })
            .await
            .expect("send");
        let outcome = self
            .inbound
            .message()
            .await
            .expect("no error")
            .expect("an outcome");
        match outcome.outcome {
            Some(Outcome::Result(result)) => result.model_version,
            other => panic!("expected a result, got {other:?}"),
        }
    }

    /// Closes the request side and waits for the server to end the stream.
    pub async fn close(mut self) {
        drop(self.tx);
        assert!(self.inbound.message().await.expect("clean end").is_none());
    }
}
