//! Bearer tokens: admin RPCs are never open (no token configured →
//! PERMISSION_DENIED), a missing or wrong token is UNAUTHENTICATED, the right
//! one passes; classification can require its own token; health stays open.
use crate::common::admin::*;
use crate::common::TestServer;
use docclass::service::pb::classifier_client::ClassifierClient;
use docclass::service::pb::ReloadModelRequest;
use docclass::service::{Limits, Secret, Security};
use tonic::Code;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

const CLIENT_TOKEN: &str = "client-token-abcdef";

async fn start(security: Security) -> (ModelDir, TestServer) {
    let dir = ModelDir::new();
    let server = dir.server_with(Limits::default(), security).await;
    let server = TestServer::start_built(server, None).await;
    (dir, server)
}

async fn reload_with(server: &TestServer, token: Option<&str>) -> Result<(), tonic::Status> {
    let message = ReloadModelRequest::default();
    let request = match token {
        Some(token) => with_token(message, token),
        None => tonic::Request::new(message),
    };
    admin(server).await.reload_model(request).await.map(|_| ())
}

async fn classify_with(server: &TestServer, token: Option<&str>) -> Result<(), tonic::Status> {
    let request = match token {
        Some(token) => with_token(conflict_document(), token),
        None => tonic::Request::new(conflict_document()),
    };
    let mut client = ClassifierClient::new(server.channel().await);
    client.classify(request).await.map(|_| ())
}

#[track_caller]
fn assert_code(result: Result<(), tonic::Status>, code: Code, message: &str) {
    let status = result.expect_err("refused");
    assert_eq!(status.code(), code, "{status:?}");
    assert_eq!(status.message(), message);
}

const MISSING: &str = "this RPC needs an `authorization: Bearer <token>` header";
const WRONG: &str = "the bearer token is not valid for this RPC";

#[tokio::test]
async fn without_an_admin_token_admin_rpcs_are_permission_denied() {
    let (_dir, server) = start(Security::default()).await;
    let disabled = "admin RPCs are disabled: the server has no admin token (--admin-token-file or DOCCLASS_ADMIN_TOKEN)";
    assert_code(
        reload_with(&server, None).await,
        Code::PermissionDenied,
        disabled,
    );
    assert_code(
        reload_with(&server, Some("anything")).await,
        Code::PermissionDenied,
        disabled,
    );
    // Classification is open when no client token is set.
    classify_with(&server, None).await.expect("open");
    server.stop().await;
}

#[tokio::test]
async fn admin_rpcs_need_the_admin_token() {
    let (_dir, server) = start(Security {
        admin_token: Secret::new(ADMIN_TOKEN),
        client_token: None,
    })
    .await;
    assert_code(
        reload_with(&server, None).await,
        Code::Unauthenticated,
        MISSING,
    );
    assert_code(
        reload_with(&server, Some("admin-token-012345678")).await,
        Code::Unauthenticated,
        WRONG,
    );
    assert_code(
        reload_with(&server, Some("")).await,
        Code::Unauthenticated,
        WRONG,
    );
    let mut basic = tonic::Request::new(ReloadModelRequest::default());
    basic.metadata_mut().insert(
        "authorization",
        format!("Basic {ADMIN_TOKEN}").parse().expect("ASCII"),
    );
    assert_code(
        admin(&server).await.reload_model(basic).await.map(|_| ()),
        Code::Unauthenticated,
        MISSING,
    );
    reload_with(&server, Some(ADMIN_TOKEN))
        .await
        .expect("the right token");
    server.stop().await;
}

#[tokio::test]
async fn a_client_token_guards_classification_but_not_health() {
    let (_dir, server) = start(Security {
        admin_token: Secret::new(ADMIN_TOKEN),
        client_token: Secret::new(CLIENT_TOKEN),
    })
    .await;
    assert_code(
        classify_with(&server, None).await,
        Code::Unauthenticated,
        MISSING,
    );
    assert_code(
        classify_with(&server, Some("client-token-abcdeg")).await,
        Code::Unauthenticated,
        WRONG,
    );
    // The admin token is not a client token.
    assert_code(
        classify_with(&server, Some(ADMIN_TOKEN)).await,
        Code::Unauthenticated,
        WRONG,
    );
    classify_with(&server, Some(CLIENT_TOKEN))
        .await
        .expect("the right token");
    // Streams are checked when they open.
    let mut client = ClassifierClient::new(server.channel().await);
    let status = client
        .classify_stream(tokio_stream::iter([conflict_document()]))
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::Unauthenticated);
    // Probes need no token.
    let health = HealthClient::new(server.channel().await)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("health is open")
        .into_inner();
    assert_eq!(health.status, 1, "SERVING");
    server.stop().await;
}

#[tokio::test]
async fn the_noop_rpc_needs_the_client_token_too() {
    use docclass::service::pb::transport_client::TransportClient;
    let dir = ModelDir::new();
    let server = dir
        .server_with(
            Limits::default(),
            Security {
                admin_token: None,
                client_token: Secret::new(CLIENT_TOKEN),
            },
        )
        .await
        .with_noop_rpc(true);
    let server = TestServer::start_built(server, None).await;
    let mut client = TransportClient::new(server.channel().await);
    let noop = |token: Option<&str>| {
        let message = conflict_document();
        match token {
            Some(token) => with_token(message, token),
            None => tonic::Request::new(message),
        }
    };
    assert_code(
        client.noop(noop(None)).await.map(|_| ()),
        Code::Unauthenticated,
        MISSING,
    );
    assert_code(
        client.noop(noop(Some(ADMIN_TOKEN))).await.map(|_| ()),
        Code::Unauthenticated,
        WRONG,
    );
    client
        .noop(noop(Some(CLIENT_TOKEN)))
        .await
        .expect("the client token passes");
    server.stop().await;
}
