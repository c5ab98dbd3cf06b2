//! TLS and mutual TLS with certificates made in the test (rcgen): a TLS
//! client that trusts the CA is served; a plaintext client is not; with a
//! client CA configured, a client without a certificate from that CA is
//! refused. Health alone answers in plaintext on a listener of its own.
use crate::common::admin::*;
use crate::common::tls::{tls_channel, Authority, Issued, SERVER_NAMES};
use crate::common::{tiny_model, TestServer};
use docclass::service::pb::classifier_client::ClassifierClient;
use docclass::service::{Limits, Server, TlsConfig, SERVICE_NAME};
use std::time::Duration;
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

async fn tls_server(server_cert: &Issued, client_ca: Option<&Authority>) -> Server {
    Server::new(Limits::default(), Duration::from_secs(30))
        .await
        .with_tls(TlsConfig {
            cert_pem: server_cert.cert_pem.clone().into_bytes(),
            key_pem: server_cert.key_pem.clone().into_bytes(),
            client_ca_pem: client_ca.map(|ca| ca.pem().into_bytes()),
        })
}

async fn start_tls(server_cert: &Issued, client_ca: Option<&Authority>) -> TestServer {
    TestServer::start_built(tls_server(server_cert, client_ca).await, Some(tiny_model())).await
}

/// Connects and classifies one document; the error as text if either fails
/// (for a connection, the I/O error that ended it: rustls's reason).
async fn classify_over<E: std::error::Error + 'static>(
    channel: Result<Channel, E>,
) -> Result<String, String> {
    let channel = channel.map_err(|e| format!("connect: {}", io_cause(&e)))?;
    ClassifierClient::new(channel)
        .classify(conflict_document())
        .await
        .map(|r| r.into_inner().model_version)
        .map_err(|status| format!("{:?}: {}", status.code(), status.message()))
}

/// The I/O error in an error's source chain, as text, else the error's own.
fn io_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut source = Some(err);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return io.to_string();
        }
        source = e.source();
    }
    err.to_string()
}

#[tokio::test]
async fn a_tls_client_is_served_and_a_plaintext_one_is_not() {
    let ca = Authority::new("docclass test CA");
    let server = start_tls(&ca.issue(SERVER_NAMES), None).await;
    let version = classify_over(tls_channel(server.addr, &ca, None).await)
        .await
        .expect("served over TLS");
    assert_eq!(version, tiny_model().version());

    let plaintext = tokio::time::timeout(
        Duration::from_secs(10),
        classify_over(
            Channel::from_shared(server.url())
                .expect("url")
                .connect()
                .await,
        ),
    )
    .await
    .expect("fails, does not hang");
    // The TLS server cannot parse a plaintext HTTP/2 preface: it answers
    // with a TLS alert, which the client cannot read as HTTP/2, or the
    // connection drops first (a transport error); which one depends on when
    // the client's bytes reach the TLS acceptor.
    let refusal = plaintext.expect_err("refused");
    assert!(
        refusal == "Unknown: transport error" || refusal.starts_with("Internal: h2 protocol error"),
        "{refusal}"
    );

    // A client that does not trust the server's CA refuses it.
    let stranger = Authority::new("another CA");
    let untrusted = classify_over(tls_channel(server.addr, &stranger, None).await).await;
    assert_eq!(
        untrusted,
        Err("connect: invalid peer certificate: UnknownIssuer".to_string())
    );
    server.stop().await;
}

#[tokio::test]
async fn mutual_tls_refuses_clients_without_a_certificate_from_the_client_ca() {
    let ca = Authority::new("docclass test CA");
    let clients = Authority::new("docclass client CA");
    let server = start_tls(&ca.issue(SERVER_NAMES), Some(&clients)).await;

    let no_cert = classify_over(tls_channel(server.addr, &ca, None).await).await;
    // The server refuses with a TLS alert naming why. Under TLS 1.3 the
    // client's side of the handshake is done before the server has checked
    // its certificate, so with tonic's own TLS the alert raced the first
    // call, which failed as UNKNOWN, CANCELLED or a broken pipe; the
    // client's connector waits for the server's first bytes, so the alert
    // is the connection's error, every time.
    assert_eq!(
        no_cert,
        Err("connect: received fatal alert: CertificateRequired".to_string())
    );
    let wrong_ca =
        classify_over(tls_channel(server.addr, &ca, Some(&ca.issue(&["client"]))).await).await;
    assert_eq!(
        wrong_ca,
        Err("connect: received fatal alert: UnknownCA".to_string())
    );

    let version =
        classify_over(tls_channel(server.addr, &ca, Some(&clients.issue(&["client"]))).await)
            .await
            .expect("a client certificate from the client CA is accepted");
    assert_eq!(version, tiny_model().version());
    server.stop().await;
}

async fn health_status(health: &mut HealthClient<Channel>) -> Result<i32, tonic::Status> {
    health
        .check(HealthCheckRequest {
            service: SERVICE_NAME.into(),
        })
        .await
        .map(|r| r.into_inner().status)
}

#[tokio::test]
async fn health_alone_answers_in_plaintext_beside_a_tls_server() {
    let ca = Authority::new("docclass test CA");
    let server = tls_server(&ca.issue(&["localhost"]), None).await;
    let health_only = server.health_only();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let health_addr = listener.local_addr().expect("local addr");
    let (stop_health, health_stopped) = tokio::sync::oneshot::channel::<()>();
    let health_task = tokio::spawn(health_only.serve(listener, async {
        let _ = health_stopped.await;
    }));
    let server = TestServer::start_built(server, Some(tiny_model())).await;
    let plaintext = Channel::from_shared(format!("http://{health_addr}"))
        .expect("url")
        .connect()
        .await
        .expect("a plaintext connection to the health listener");
    let mut health = HealthClient::new(plaintext.clone());

    assert_eq!(
        health_status(&mut health).await.expect("answered"),
        ServingStatus::Serving as i32
    );
    server.handle.set_not_serving().await;
    assert_eq!(
        health_status(&mut health).await.expect("answered"),
        ServingStatus::NotServing as i32
    );
    // Nothing else is served there: classification stays behind TLS.
    let status = ClassifierClient::new(plaintext)
        .classify(conflict_document())
        .await
        .expect_err("not served on the health listener");
    assert_eq!(status.code(), tonic::Code::Unimplemented);

    let _ = stop_health.send(());
    health_task
        .await
        .expect("health task")
        .expect("the health listener ran cleanly");
    server.stop().await;
}

/// Over TLS the server still knows which connection a stream came on, so
/// the per-connection stream cap holds there too.
#[tokio::test]
async fn the_per_connection_stream_cap_holds_over_tls() {
    let ca = Authority::new("docclass test CA");
    let server = start_tls(&ca.issue(SERVER_NAMES), None).await;
    let channel = tls_channel(server.addr, &ca, None)
        .await
        .expect("connect over TLS");
    let mut client = ClassifierClient::new(channel);
    let mut open = Vec::new();
    for _ in 0..Limits::default().max_streams_per_connection {
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        let stream = client
            .classify_stream(tokio_stream::wrappers::ReceiverStream::new(rx))
            .await
            .expect("a stream under the cap opens");
        open.push((tx, stream));
    }
    let (_tx, rx) = tokio::sync::mpsc::channel(1);
    let status = client
        .classify_stream(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .expect_err("one stream over the connection's cap");
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains("connection"), "{status:?}");
    drop(open);
    server.stop().await;
}
