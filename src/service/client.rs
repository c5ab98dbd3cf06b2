//! How a client reaches the server: the tonic endpoint (address, connect
//! timeout), the TLS connection (trust, client identity), and the bearer
//! token it sends. Shared by the `docclass` client and the load generator,
//! and used by the TLS tests, so all connect the same way.
//!
//! TLS is set up here rather than by tonic so that a connection is handed to
//! HTTP/2 only once the server has spoken. With TLS 1.3 the client's side of
//! the handshake ends before the server has checked the client's
//! certificate; a server refusing it answers with an alert one round trip
//! later. Waiting for the server's first bytes turns that refusal into a
//! connection error naming the alert, every time, instead of a race between
//! the alert and the first call (which then failed as UNKNOWN, CANCELLED or
//! a broken pipe, depending on timing).
use super::auth::Secret;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::{Channel, Endpoint, Uri};

/// Errors setting up a client connection.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{what}: {reason}")]
    Pem { what: &'static str, reason: String },
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    #[error(transparent)]
    Transport(#[from] tonic::transport::Error),
}

pub type Result<T> = std::result::Result<T, ClientError>;

/// TLS material of a client, PEM-encoded: the CA its server's certificate
/// must chain to, and for mutual TLS its own certificate and key.
#[derive(Clone)]
pub struct ClientTls {
    pub ca_pem: Vec<u8>,
    /// `(certificate chain, private key)`.
    pub identity: Option<(Vec<u8>, Vec<u8>)>,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTls")
            .field("ca_pem", &format_args!("{} bytes", self.ca_pem.len()))
            .field("identity", &self.identity.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// An endpoint for `http://HOST:PORT`, with TCP_NODELAY (small requests are
/// latency-bound) and `connect_timeout` on the whole connection set-up.
/// [`connect`] adds TLS when asked.
pub fn endpoint(
    uri: String,
    connect_timeout: Duration,
) -> std::result::Result<Endpoint, tonic::transport::Error> {
    Ok(Endpoint::from_shared(uri)?
        .connect_timeout(connect_timeout)
        .tcp_nodelay(true))
}

/// Connects `endpoint`, over TLS with `tls`: the server's certificate must
/// chain to `tls.ca_pem` and name the endpoint's host (a DNS name or an IP
/// address).
pub async fn connect(endpoint: &Endpoint, tls: Option<&ClientTls>) -> Result<Channel> {
    match tls {
        None => Ok(endpoint.connect().await?),
        Some(tls) => Ok(endpoint
            .connect_with_connector(TlsConnector {
                config: Arc::new(client_config(tls)?),
            })
            .await?),
    }
}

/// The rustls configuration for `tls` (ring provider, as the server).
fn client_config(tls: &ClientTls) -> Result<rustls::ClientConfig> {
    let pem = |what: &'static str, reason: String| ClientError::Pem { what, reason };
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&tls.ca_pem) {
        let cert = cert.map_err(|e| pem("CA certificate", e.to_string()))?;
        roots.add(cert)?;
    }
    if roots.is_empty() {
        return Err(pem("CA certificate", "no certificate in the file".into()));
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots);
    let mut config = match &tls.identity {
        None => builder.with_no_client_auth(),
        Some((cert_pem, key_pem)) => {
            let chain = CertificateDer::pem_slice_iter(cert_pem)
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| pem("client certificate", e.to_string()))?;
            if chain.is_empty() {
                return Err(pem(
                    "client certificate",
                    "no certificate in the file".into(),
                ));
            }
            let key = PrivateKeyDer::from_pem_slice(key_pem)
                .map_err(|e| pem("client key", e.to_string()))?;
            builder.with_client_auth_cert(chain, key)?
        }
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}

/// Opens TCP, then TLS, then waits for the server's first bytes.
#[derive(Clone)]
struct TlsConnector {
    config: Arc<rustls::ClientConfig>,
}

type Connecting = Pin<Box<dyn Future<Output = std::io::Result<TokioIo<Heard>>> + Send + 'static>>;

impl tower_service::Service<Uri> for TlsConnector {
    type Response = TokioIo<Heard>;
    type Error = std::io::Error;
    type Future = Connecting;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Connecting {
        let config = self.config.clone();
        Box::pin(async move {
            let invalid =
                |what: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, what);
            let host = uri
                .host()
                .ok_or_else(|| invalid(format!("{uri} has no host")))?
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string();
            let port = uri.port_u16().unwrap_or(443);
            let tcp = TcpStream::connect((host.as_str(), port)).await?;
            tcp.set_nodelay(true)?;
            let name = ServerName::try_from(host.clone())
                .map_err(|_| invalid(format!("{host:?} is not a valid server name")))?;
            let mut stream = tokio_rustls::TlsConnector::from(config)
                .connect(name, tcp)
                .await?;
            // An HTTP/2 server speaks first (its SETTINGS frame); a server
            // that refuses our certificate sends an alert instead, which
            // this read returns as its error.
            let mut first = vec![0; 16 << 10];
            let read = stream.read(&mut first).await?;
            if read == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the server closed the connection after the TLS handshake",
                ));
            }
            first.truncate(read);
            Ok(TokioIo::new(Heard {
                first,
                stream: Box::new(stream),
            }))
        })
    }
}

/// A TLS stream whose first bytes were read ahead: they are read again first.
pub struct Heard {
    first: Vec<u8>,
    stream: Box<TlsStream<TcpStream>>,
}

impl AsyncRead for Heard {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if !self.first.is_empty() {
            let n = self.first.len().min(buf.remaining());
            buf.put_slice(&self.first[..n]);
            self.first.drain(..n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut *self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Heard {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut *self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.stream).poll_shutdown(cx)
    }
}

/// The `authorization: Bearer <token>` value for `token`, marked sensitive
/// (kept out of debug output and HPACK-indexed tables); `None` when the token
/// holds a character a header cannot carry.
pub fn bearer(token: &Secret) -> Option<MetadataValue<Ascii>> {
    let mut value = MetadataValue::try_from(format!("Bearer {}", token.expose())).ok()?;
    value.set_sensitive(true);
    Some(value)
}
