//! The connection to the server: `--addr`, `--timeout`, TLS (`--ca-cert`,
//! `--client-cert`/`--client-key`) and the bearer token (`--token-file` or
//! `DOCCLASS_TOKEN`), and failures (connection, TLS, token and gRPC status)
//! turned into one readable line, with their own exit code
//! ([`Refusal`]) where the cause is a credential.
use anyhow::{anyhow, bail, Result};
use docclass::cli;
use docclass::service::client::{bearer, connect, endpoint, ClientError, ClientTls};
use docclass::service::code_name;
use docclass::service::pb::classifier_client::ClassifierClient;
use docclass::service::Secret;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::Channel;
use tonic::Code;

/// Failures caused by a credential, each with its own exit code, so a
/// script can tell "fix the certificate" from "fix the token" from "the
/// server is down" (1). The codes are listed in the README ("Client CLI").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A token, certificate or key file cannot be read or holds nothing usable.
    CredentialFile = 3,
    /// The server's certificate does not chain to `--ca-cert`, or does not
    /// name the host of `--addr`.
    ServerNotTrusted = 4,
    /// The server ended the TLS handshake: it requires a client certificate
    /// from its CA, and none was given or ours is from another CA.
    ClientCertRefused = 5,
    /// The server requires a bearer token and none was given.
    TokenMissing = 6,
    /// The server refused the bearer token given.
    TokenRefused = 7,
    /// The server refused the admin token given.
    AdminTokenRefused = 8,
    /// The server has no admin token, so it refuses every admin RPC.
    AdminDisabled = 9,
}

/// An error line and the [`Refusal`] it stands for.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Refused {
    pub refusal: Refusal,
    message: String,
}

impl Refusal {
    pub fn because(self, message: impl Into<String>) -> anyhow::Error {
        Refused {
            refusal: self,
            message: message.into(),
        }
        .into()
    }

    /// The exit code of a failure: its refusal's, else 1.
    pub fn exit_code(err: &anyhow::Error) -> ExitCode {
        match err.downcast_ref::<Refused>() {
            Some(refused) => ExitCode::from(refused.refusal as u8),
            None => ExitCode::FAILURE,
        }
    }
}

/// What the client authenticates with, read from files before connecting.
pub struct Credentials {
    tls: Option<ClientTls>,
    /// `authorization` value and where the token came from (for messages).
    token: Option<(MetadataValue<Ascii>, String)>,
}

impl Credentials {
    /// Reads `--ca-cert`, `--client-cert`/`--client-key` and the token
    /// (`--token-file`, else `DOCCLASS_TOKEN`). An unreadable file is
    /// [`Refusal::CredentialFile`].
    pub fn read(
        ca_cert: Option<&Path>,
        client_identity: Option<(&Path, &Path)>,
        token_file: Option<&Path>,
    ) -> Result<Credentials> {
        let tls = match ca_cert {
            Some(ca) => Some(ClientTls {
                ca_pem: read_pem(ca, "--ca-cert")?,
                identity: match client_identity {
                    Some((cert, key)) => Some((
                        read_pem(cert, "--client-cert")?,
                        read_pem(key, "--client-key")?,
                    )),
                    None => None,
                },
            }),
            None => None,
        };
        let token = read_bearer(token_file, "--token-file", "DOCCLASS_TOKEN")?;
        Ok(Credentials { tls, token })
    }
}

/// A PEM file's bytes; unreadable or holding no PEM block is
/// [`Refusal::CredentialFile`].
fn read_pem(path: &Path, flag: &str) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).map_err(|e| {
        Refusal::CredentialFile.because(format!("cannot read {flag} {}: {e}", path.display()))
    })?;
    if !bytes
        .windows(b"-----BEGIN ".len())
        .any(|w| w == b"-----BEGIN ")
    {
        return Err(Refusal::CredentialFile.because(format!(
            "{flag} {}: not a PEM file (no -----BEGIN line)",
            path.display()
        )));
    }
    Ok(bytes)
}

/// The bearer header for a token from `file` (named by `flag`), else from
/// the environment variable `env`; `None` when neither is given.
pub fn read_bearer(
    file: Option<&Path>,
    flag: &str,
    env: &str,
) -> Result<Option<(MetadataValue<Ascii>, String)>> {
    let source = match file {
        Some(path) => format!("{flag} {}", path.display()),
        None => env.to_string(),
    };
    let credential = |message: String| Refusal::CredentialFile.because(message);
    let Some(secret): Option<Secret> =
        cli::read_token(file, env).map_err(|e| credential(format!("{e:#}")))?
    else {
        return Ok(None);
    };
    let value = bearer(&secret).ok_or_else(|| {
        credential(format!(
            "the token from {source} holds a character an HTTP header cannot carry"
        ))
    })?;
    Ok(Some((value, source)))
}

/// A channel to the server, the deadline every request carries, and the
/// token each one sends.
pub struct Connection {
    pub channel: Channel,
    timeout: Duration,
    token: Option<(MetadataValue<Ascii>, String)>,
}

impl Connection {
    pub async fn open(
        addr: &str,
        timeout: Duration,
        credentials: Credentials,
    ) -> Result<Connection> {
        let tls = credentials.tls.as_ref();
        let uri = normalize_addr(addr, tls.is_some())?;
        // The endpoint is always http://: TLS, if any, is the connector's.
        let plain = uri.replacen("https://", "http://", 1);
        let endpoint = endpoint(plain, timeout)
            .map_err(|_| {
                anyhow!("invalid --addr {addr:?}: expected HOST:PORT or http://HOST:PORT")
            })?
            .timeout(timeout);
        let connecting = connect(&endpoint, tls);
        // The connect timeout covers the connector; this also bounds the
        // HTTP/2 handshake.
        let channel =
            match tokio::time::timeout(timeout + Duration::from_millis(100), connecting).await {
                Ok(Ok(channel)) => channel,
                Ok(Err(ClientError::Transport(e))) => {
                    if let Some(refused) = tls_refusal(&e) {
                        return Err(refused.context(format!("cannot connect to {uri}")));
                    }
                    bail!("cannot connect to {uri}: {}", connect_reason(&e, timeout))
                }
                Ok(Err(e)) => return Err(Refusal::CredentialFile.because(e.to_string())),
                Err(_) => bail!(
                    "cannot connect to {uri}: no answer within {} (is docclass-server running?)",
                    seconds(timeout)
                ),
            };
        Ok(Connection {
            channel,
            timeout,
            token: credentials.token,
        })
    }

    pub fn classifier(&self) -> ClassifierClient<Channel> {
        ClassifierClient::new(self.channel.clone())
            .max_decoding_message_size(64 << 20)
            .max_encoding_message_size(64 << 20)
    }

    /// A request carrying the deadline, so the server knows it too, and the
    /// bearer token.
    pub fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = self.untimed_request(message);
        request.set_timeout(self.timeout);
        request
    }

    /// A request carrying the bearer token but no deadline (a stream of many
    /// documents takes as long as they do).
    pub fn untimed_request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        if let Some((value, _)) = &self.token {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        request
    }

    /// A failed classification call (Classifier, Health) as one line; a
    /// refused token or client certificate as its [`Refusal`].
    pub fn status_error(&self, status: tonic::Status) -> anyhow::Error {
        if status.code() == Code::Unauthenticated {
            return match &self.token {
                Some((_, source)) => Refusal::TokenRefused.because(format!(
                    "the server refused the token from {source}: {}",
                    status_line(status.code(), status.message())
                )),
                None => Refusal::TokenMissing.because(format!(
                    "the server requires a token: give --token-file FILE or set DOCCLASS_TOKEN ({})",
                    status_line(status.code(), status.message())
                )),
            };
        }
        self.call_error(status)
    }

    /// A failed call as one line, whatever the service: the deadline, a TLS
    /// handshake the server ended, or the status code and message.
    pub fn call_error(&self, status: tonic::Status) -> anyhow::Error {
        // tonic reports its own deadline as CANCELLED "Timeout expired".
        if matches!(status.code(), Code::Cancelled | Code::DeadlineExceeded)
            && status.message().eq_ignore_ascii_case("timeout expired")
        {
            return anyhow!(
                "DEADLINE_EXCEEDED: no answer within {} (see --timeout)",
                seconds(self.timeout)
            );
        }
        if let Some(refused) = status_source(&status).and_then(tls_refusal) {
            return refused;
        }
        anyhow!(status_line(status.code(), status.message()))
    }
}

fn status_source(status: &tonic::Status) -> Option<&(dyn std::error::Error + 'static)> {
    std::error::Error::source(status)
}

/// The TLS reason in an error chain, if any: a server certificate we do not
/// trust ([`Refusal::ServerNotTrusted`]), or an alert by which the server
/// ended the connection because of our certificate, missing or from another
/// CA ([`Refusal::ClientCertRefused`]). The connector waits for the server's
/// first bytes, so both show when connecting (or reconnecting, in a call).
fn tls_refusal(err: &(dyn std::error::Error + 'static)) -> Option<anyhow::Error> {
    let mut source = Some(err);
    while let Some(e) = source {
        let inner = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .map(|inner| inner as &(dyn std::error::Error + 'static));
        for candidate in [Some(e), inner].into_iter().flatten() {
            if let Some(rustls::Error::InvalidCertificate(why)) =
                candidate.downcast_ref::<rustls::Error>()
            {
                return Some(Refusal::ServerNotTrusted.because(format!(
                    "the server's certificate is not trusted ({why:?}): --ca-cert must be the CA that signed it, and --addr a name or address it was issued for"
                )));
            }
        }
        // tokio-rustls passes an alert received after the handshake on as
        // text: rustls's "received fatal alert: NAME".
        if let Some(alert) = inner.map(|inner| inner.to_string()).and_then(|text| {
            text.strip_prefix("received fatal alert: ")
                .map(str::to_string)
        }) {
            if CLIENT_CERTIFICATE_ALERTS.contains(&alert.as_str()) {
                return Some(Refusal::ClientCertRefused.because(format!(
                    "the server refused our TLS certificate ({alert}): it requires a client certificate from its CA (--client-cert, --client-key)"
                )));
            }
        }
        source = e.source();
    }
    None
}

/// TLS alerts a server sends about the client's certificate.
const CLIENT_CERTIFICATE_ALERTS: &[&str] = &[
    "CertificateRequired",
    "BadCertificate",
    "UnsupportedCertificate",
    "CertificateRevoked",
    "CertificateExpired",
    "CertificateUnknown",
    "UnknownCA",
    "AccessDenied",
];

/// `127.0.0.1:50051` → `http://127.0.0.1:50051`, or `https://…` with TLS;
/// a scheme that contradicts `--ca-cert` is an error.
fn normalize_addr(addr: &str, tls: bool) -> Result<String> {
    let addr = addr.trim().trim_end_matches('/');
    if addr.is_empty() {
        bail!("--addr is empty: expected HOST:PORT or http://HOST:PORT");
    }
    let (scheme, rest) = match addr.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, addr),
    };
    match (scheme, tls) {
        (None, false) | (Some("http"), false) => Ok(format!("http://{rest}")),
        (None, true) | (Some("https"), true) => Ok(format!("https://{rest}")),
        (Some("https"), false) => bail!(
            "--addr {addr:?}: TLS needs --ca-cert FILE, the CA that signed the server's certificate"
        ),
        (Some("http"), true) => bail!(
            "--addr {addr:?}: --ca-cert means TLS; use https://{rest} or HOST:PORT"
        ),
        (Some(_), _) => bail!(
            "--addr {addr:?}: unsupported scheme; expected HOST:PORT, http://HOST:PORT or (with --ca-cert) https://HOST:PORT"
        ),
    }
}

/// Why a connection failed, in a few words (no error-type dump).
fn connect_reason(err: &(dyn std::error::Error + 'static), timeout: Duration) -> String {
    let mut io: Option<&std::io::Error> = None;
    let mut timed_out = false;
    let mut last = err.to_string();
    let mut source = Some(err);
    while let Some(e) = source {
        if io.is_none() {
            io = e.downcast_ref::<std::io::Error>();
        }
        if e.is::<tonic::TimeoutExpired>() {
            timed_out = true;
        }
        last = e.to_string();
        source = e.source();
    }
    let hint = " (is docclass-server running?)";
    if timed_out {
        return format!("no answer within {}{hint}", seconds(timeout));
    }
    match io {
        Some(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            format!("connection refused{hint}")
        }
        Some(e) if e.kind() == std::io::ErrorKind::TimedOut => {
            format!("no answer within {}{hint}", seconds(timeout))
        }
        Some(e) => tidy(&e.to_string()),
        None => tidy(&last),
    }
}

/// Drops "(os error N)" and lowercases the first letter of a system message.
fn tidy(message: &str) -> String {
    let message = match message.find(" (os error") {
        Some(i) => &message[..i],
        None => message,
    };
    let mut chars = message.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn seconds(d: Duration) -> String {
    format!("{}s", d.as_secs_f64())
}

/// `INVALID_ARGUMENT: message`, on one line.
pub fn status_line(code: Code, message: &str) -> String {
    let message = message.split_whitespace().collect::<Vec<_>>().join(" ");
    if message.is_empty() {
        code_name(code).to_string()
    } else {
        format!("{}: {message}", code_name(code))
    }
}
