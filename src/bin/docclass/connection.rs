//! The connection to the server: `--addr` and `--timeout`, and failures
//! (connection and gRPC status) turned into one readable line.
use anyhow::{anyhow, bail, Result};
use docclass::service::code_name;
use docclass::service::pb::classifier_client::ClassifierClient;
use std::time::Duration;
use tonic::transport::{Channel, Endpoint};
use tonic::Code;

/// A channel to the server, and the deadline every request carries.
pub struct Connection {
    pub channel: Channel,
    timeout: Duration,
}

impl Connection {
    pub async fn open(addr: &str, timeout: Duration) -> Result<Connection> {
        let uri = normalize_addr(addr)?;
        let endpoint = Endpoint::from_shared(uri.clone())
            .map_err(|_| {
                anyhow!("invalid --addr {addr:?}: expected HOST:PORT or http://HOST:PORT")
            })?
            .connect_timeout(timeout)
            .timeout(timeout);
        let connecting = endpoint.connect();
        // The connect timeout covers TCP only; this also bounds the HTTP/2 handshake.
        let channel =
            match tokio::time::timeout(timeout + Duration::from_millis(100), connecting).await {
                Ok(Ok(channel)) => channel,
                Ok(Err(e)) => bail!("cannot connect to {uri}: {}", connect_reason(&e, timeout)),
                Err(_) => bail!(
                    "cannot connect to {uri}: no answer within {} (is docclass-server running?)",
                    seconds(timeout)
                ),
            };
        Ok(Connection { channel, timeout })
    }

    pub fn classifier(&self) -> ClassifierClient<Channel> {
        ClassifierClient::new(self.channel.clone())
            .max_decoding_message_size(64 << 20)
            .max_encoding_message_size(64 << 20)
    }

    /// A request carrying the deadline, so the server knows it too.
    pub fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        request.set_timeout(self.timeout);
        request
    }

    pub fn status_error(&self, status: tonic::Status) -> anyhow::Error {
        // tonic reports its own deadline as CANCELLED "Timeout expired".
        if matches!(status.code(), Code::Cancelled | Code::DeadlineExceeded)
            && status.message().eq_ignore_ascii_case("timeout expired")
        {
            return anyhow!(
                "DEADLINE_EXCEEDED: no answer within {} (see --timeout)",
                seconds(self.timeout)
            );
        }
        anyhow!(status_line(status.code(), status.message()))
    }
}

/// `127.0.0.1:50051` → `http://127.0.0.1:50051`; `http://…` is kept.
fn normalize_addr(addr: &str) -> Result<String> {
    let addr = addr.trim();
    if addr.is_empty() {
        bail!("--addr is empty: expected HOST:PORT or http://HOST:PORT");
    }
    if let Some(rest) = addr.strip_prefix("https://") {
        bail!("--addr {addr:?}: this client does not speak TLS yet (the server can); for a plaintext server use http://{rest}");
    }
    if addr.starts_with("http://") {
        Ok(addr.trim_end_matches('/').to_string())
    } else if addr.contains("://") {
        bail!("--addr {addr:?}: unsupported scheme; expected HOST:PORT or http://HOST:PORT")
    } else {
        Ok(format!("http://{}", addr.trim_end_matches('/')))
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
