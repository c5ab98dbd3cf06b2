//! `docclass-server`: serves a docclass model over gRPC.
//!
//! With no arguments it serves `models/default.model` on 127.0.0.1:50051.
//! Every flag can also be set by environment variable (DOCCLASS_*). SIGHUP
//! reloads the model file in service; SIGTERM and Ctrl-C shut down gracefully.
use anyhow::{bail, Context, Result};
use clap::{Parser, ValueEnum};
use docclass::cli;
use docclass::cli::log_writer::{self, BatchedLogGuard};
use docclass::service::{
    serve_metrics, Limits, ModelFiles, ReloadRequest, Reloader, Security, Server, TlsConfig,
};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// Serve a docclass topic model over gRPC.
#[derive(Debug, Parser)]
#[command(name = "docclass-server", version, about)]
struct Cli {
    /// Model file to serve.
    #[arg(long, env = "DOCCLASS_MODEL", default_value = "models/default.model")]
    model: PathBuf,
    /// Address to listen on.
    #[arg(long, env = "DOCCLASS_ADDR", default_value = "127.0.0.1:50051")]
    addr: SocketAddr,
    /// Largest document (title + text) accepted, in bytes.
    #[arg(long, env = "DOCCLASS_MAX_TEXT_BYTES", default_value_t = Limits::default().max_text_bytes)]
    max_text_bytes: usize,
    /// Most documents accepted in one ClassifyBatch.
    #[arg(long, env = "DOCCLASS_MAX_BATCH", default_value_t = Limits::default().max_batch_documents)]
    max_batch: usize,
    /// Largest gRPC message decoded or encoded, in bytes.
    #[arg(long, env = "DOCCLASS_MAX_MESSAGE_BYTES", default_value_t = Limits::default().max_message_bytes)]
    max_message_bytes: usize,
    /// Server-side limit on any request's duration, in seconds (client deadlines apply too).
    #[arg(long, env = "DOCCLASS_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    request_timeout_secs: u64,
    /// How long shutdown waits for requests in flight, in seconds.
    #[arg(long, env = "DOCCLASS_SHUTDOWN_GRACE_SECS", default_value_t = 30)]
    shutdown_grace_secs: u64,
    /// Directory that reloads may load models from (default: the directory of --model).
    #[arg(long, env = "DOCCLASS_MODEL_DIR")]
    model_dir: Option<PathBuf>,
    /// Poll the model file in service every 2 s and reload it when its modification time changes.
    #[arg(long, env = "DOCCLASS_WATCH")]
    watch: bool,
    /// Classification work in progress server-wide: unary and batch calls, and stream messages while classified; more is refused with RESOURCE_EXHAUSTED.
    #[arg(long, env = "DOCCLASS_MAX_CONCURRENT_REQUESTS", default_value_t = Limits::default().max_concurrent_requests)]
    max_concurrent_requests: usize,
    /// ClassifyStream streams open at once server-wide; more are refused with RESOURCE_EXHAUSTED (counted in docclass_streams_refused). An idle stream holds no classification slot.
    #[arg(long, env = "DOCCLASS_MAX_STREAMS", default_value_t = Limits::default().max_streams)]
    max_streams: usize,
    /// ClassifyStream streams open at once on one connection; keep it below --max-concurrent-streams so unary calls fit beside them.
    #[arg(long, env = "DOCCLASS_MAX_STREAMS_PER_CONNECTION", default_value_t = Limits::default().max_streams_per_connection)]
    max_streams_per_connection: usize,
    /// HTTP/2 streams one connection may have open at once.
    #[arg(long, env = "DOCCLASS_MAX_CONCURRENT_STREAMS", default_value_t = Limits::default().max_concurrent_streams)]
    max_concurrent_streams: u32,
    /// A ClassifyStream that sends nothing, or reads no response, for this many seconds is ended (DEADLINE_EXCEEDED).
    #[arg(long, env = "DOCCLASS_STREAM_IDLE_TIMEOUT_SECS", default_value_t = Limits::default().stream_idle_timeout.as_secs())]
    stream_idle_timeout_secs: u64,
    /// Client connections open at once on the gRPC port; one more takes the place of the quietest connection with no unary or batch call in progress (docclass_connections_evicted), or is closed at once if every one has one (docclass_connections_refused).
    #[arg(long, env = "DOCCLASS_MAX_CONNECTIONS", default_value_t = Limits::default().max_connections)]
    max_connections: usize,
    /// A new connection that has not sent an HTTP/2 preface (33 bytes) within this many seconds is closed, silent or stalled part-way; with TLS, also the handshake's deadline.
    #[arg(long, env = "DOCCLASS_CONNECTION_TIMEOUT_SECS", default_value_t = Limits::default().connection_first_bytes_timeout.as_secs())]
    connection_timeout_secs: u64,
    /// Health Watch and reflection streams open at once (they need no token); more are refused with RESOURCE_EXHAUSTED.
    #[arg(long, env = "DOCCLASS_MAX_SIDE_STREAMS", default_value_t = Limits::default().max_side_streams)]
    max_side_streams: usize,
    /// A health Watch or reflection stream ends with DEADLINE_EXCEEDED after this many seconds.
    #[arg(long, env = "DOCCLASS_SIDE_STREAM_LIFETIME_SECS", default_value_t = Limits::default().side_stream_lifetime.as_secs())]
    side_stream_lifetime_secs: u64,
    /// TLS certificate chain (PEM). With --tls-key, the server speaks TLS only.
    #[arg(long, env = "DOCCLASS_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, env = "DOCCLASS_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// CA certificate (PEM) that client certificates must chain to: mutual TLS.
    #[arg(long, env = "DOCCLASS_TLS_CLIENT_CA", requires = "tls_cert")]
    tls_client_ca: Option<PathBuf>,
    /// File holding the bearer token admin RPCs require (or set DOCCLASS_ADMIN_TOKEN). Without one, admin RPCs are refused.
    #[arg(long, env = "DOCCLASS_ADMIN_TOKEN_FILE")]
    admin_token_file: Option<PathBuf>,
    /// File holding a bearer token classification RPCs then require (or set DOCCLASS_CLIENT_TOKEN).
    #[arg(long, env = "DOCCLASS_CLIENT_TOKEN_FILE")]
    client_token_file: Option<PathBuf>,
    /// Serve Prometheus metrics at http://ADDR/metrics (off unless set; e.g. 127.0.0.1:9090).
    #[arg(long, env = "DOCCLASS_METRICS_ADDR")]
    metrics_addr: Option<SocketAddr>,
    /// Also serve grpc.health.v1 alone, in plaintext, on this address (off unless set): for probes that cannot speak TLS, such as the kubelet's gRPC probe. Same statuses as the main address.
    #[arg(long, env = "DOCCLASS_HEALTH_ADDR")]
    health_addr: Option<SocketAddr>,
    /// Log format. Levels come from RUST_LOG (default: info).
    #[arg(long, env = "DOCCLASS_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Also serve docclass.v1.Transport/Noop, the transport-only baseline of `docclass-bench noop`.
    #[arg(long, env = "DOCCLASS_ENABLE_NOOP_RPC")]
    enable_noop_rpc: bool,
}

/// Installs the subscriber. Lines are formatted on the thread that logs and
/// written in batches by a writer thread ([`log_writer`]): a write to stderr
/// is a system call, and a stalled reader of stderr (a full pipe) would
/// otherwise stop every runtime thread that logs. The guard writes what is
/// left when dropped.
fn init_logging(format: LogFormat) -> Result<BatchedLogGuard> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    use std::io::IsTerminal;
    let ansi = std::io::stderr().is_terminal();
    let (writer, guard) = log_writer::batched_log(std::io::stderr(), "docclass-log")
        .context("cannot start the log writer thread")?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(ansi);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
    Ok(guard)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}

fn read_tls(cli: &Cli) -> Result<Option<TlsConfig>> {
    let (Some(cert), Some(key)) = (&cli.tls_cert, &cli.tls_key) else {
        return Ok(None);
    };
    let read = |path: &PathBuf, what: &str| {
        std::fs::read(path).with_context(|| format!("cannot read {what} {}", path.display()))
    };
    Ok(Some(TlsConfig {
        cert_pem: read(cert, "TLS certificate")?,
        key_pem: read(key, "TLS key")?,
        client_ca_pem: cli
            .tls_client_ca
            .as_ref()
            .map(|ca| read(ca, "client CA certificate"))
            .transpose()?,
    }))
}

/// SIGHUP's handler, installed at start-up: until then SIGHUP would kill the
/// process (its default action).
#[cfg(unix)]
fn listen_for_sighup() -> Option<tokio::signal::unix::Signal> {
    let hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup());
    if hangup.is_err() {
        tracing::warn!("cannot listen for SIGHUP; reload through the Admin service instead");
    }
    hangup.ok()
}

/// Reloads the model file in service on every SIGHUP.
#[cfg(unix)]
async fn reload_on_sighup(mut hangup: tokio::signal::unix::Signal, reloader: Arc<Reloader>) {
    while hangup.recv().await.is_some() {
        tracing::info!("SIGHUP received; reloading the model file");
        // The reloader logs and counts the outcome.
        let _ = reloader.reload(ReloadRequest::default()).await;
    }
}

/// Every 2 s, reloads the model file in service when the file at its path
/// is no longer the one loaded (another file renamed over it, or the file
/// rewritten), as its stamp says: a file an admin reload has just loaded
/// is the one in service, so it is not loaded again. A file that failed to
/// load is not tried again until it changes.
async fn watch_model_file(reloader: Arc<Reloader>) {
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    let mut refused = None;
    loop {
        tick.tick().await;
        let Some(stamp) = reloader.changed_file().await else {
            tracing::debug!("model file unchanged");
            continue;
        };
        if refused == Some(stamp) {
            continue;
        }
        tracing::info!("model file changed; reloading");
        // The reloader logs and counts the outcome.
        refused = reloader
            .reload(ReloadRequest::default())
            .await
            .err()
            .map(|_| stamp);
    }
}

/// Descriptors kept beyond the connection cap: the listener, the model and
/// token files, the metrics port, the log pipe, tokio's own.
const SPARE_DESCRIPTORS: u64 = 64;

/// Raises the soft descriptor limit to the hard one (a typical soft limit of
/// 1,024 is a full outage at about 1,000 idle sockets), and returns the
/// connection cap that fits under it: `max_connections`, or fewer, with a
/// warning. Under the cap, a new connection can take a quiet one's place;
/// past the descriptors, accept can only fail and back off.
fn fit_connections_to_descriptors(max_connections: usize) -> usize {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => {
            let room = limit.saturating_sub(SPARE_DESCRIPTORS).max(1);
            if (max_connections as u64) > room {
                tracing::warn!(
                    descriptor_limit = limit,
                    max_connections,
                    lowered_to = room,
                    "the descriptor limit leaves too little room for --max-connections; lowering the connection cap to fit"
                );
                return room as usize;
            }
            tracing::debug!(descriptor_limit = limit, "descriptor limit");
        }
        Err(e) => tracing::warn!(error = %e, "cannot read or raise the descriptor limit"),
    }
    max_connections
}

/// Fixes glibc's mmap threshold at its default, 128 KiB. Left to itself,
/// glibc raises the threshold to the size of the largest block freed, so
/// once a reload has freed a model's multi-megabyte buffers, later ones come
/// from the heap and their pages stay with the process: 40 reloads by SIGHUP
/// took RSS from 17 to 31 MB, against 17 to 20 MB with the threshold fixed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn fix_mmap_threshold() {
    // SAFETY: mallopt sets one allocator parameter; glibc takes its own locks.
    let accepted = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, 128 << 10) };
    if accepted != 1 {
        tracing::debug!("glibc refused to fix the mmap threshold");
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn fix_mmap_threshold() {}

/// The limits the flags give, each checked to be at least 1.
fn limits_from(cli: &Cli) -> Result<Limits> {
    let limits = Limits {
        max_text_bytes: cli.max_text_bytes,
        max_batch_documents: cli.max_batch,
        max_message_bytes: cli.max_message_bytes,
        max_concurrent_requests: cli.max_concurrent_requests,
        max_streams: cli.max_streams,
        max_streams_per_connection: cli.max_streams_per_connection,
        max_concurrent_streams: cli.max_concurrent_streams,
        stream_idle_timeout: Duration::from_secs(cli.stream_idle_timeout_secs),
        max_connections: cli.max_connections,
        connection_first_bytes_timeout: Duration::from_secs(cli.connection_timeout_secs),
        max_side_streams: cli.max_side_streams,
        side_stream_lifetime: Duration::from_secs(cli.side_stream_lifetime_secs),
        ..Limits::default()
    };
    let zero = [
        (
            "--max-concurrent-requests",
            limits.max_concurrent_requests == 0,
        ),
        ("--max-streams", limits.max_streams == 0),
        (
            "--max-streams-per-connection",
            limits.max_streams_per_connection == 0,
        ),
        (
            "--max-concurrent-streams",
            limits.max_concurrent_streams == 0,
        ),
        ("--max-connections", limits.max_connections == 0),
        (
            "--connection-timeout-secs",
            limits.connection_first_bytes_timeout.is_zero(),
        ),
        ("--max-side-streams", limits.max_side_streams == 0),
        (
            "--side-stream-lifetime-secs",
            limits.side_stream_lifetime.is_zero(),
        ),
    ];
    // 0 would refuse every request of its kind (or close every connection
    // at once): a server that serves nothing is a mistake, not a setting.
    if let Some((flag, _)) = zero.iter().find(|(_, is_zero)| *is_zero) {
        bail!("{flag} must be at least 1: 0 would refuse everything it limits");
    }
    Ok(limits)
}

/// The model file inside its directory (`--model-dir`, else the model's
/// own folder); `None`, logged, when it is not there.
fn model_files(cli: &Cli) -> Option<ModelFiles> {
    let model_dir = match &cli.model_dir {
        Some(dir) => dir.clone(),
        None => match cli.model.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        },
    };
    match ModelFiles::new(&model_dir, &cli.model) {
        Ok(files) => Some(files),
        Err(e) => {
            tracing::error!(
                error = %e,
                "--model must name an existing file inside the model directory (--model-dir); shutting down"
            );
            None
        }
    }
}

/// Serves `/metrics` on `--metrics-addr`, if given, until the returned
/// notifier fires.
async fn start_metrics(cli: &Cli, server: &Server) -> Result<std::sync::Arc<tokio::sync::Notify>> {
    let metrics_stop = std::sync::Arc::new(tokio::sync::Notify::new());
    if let Some(addr) = cli.metrics_addr {
        let metrics_listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen for metrics on {addr}"))?;
        tracing::info!(addr = %addr, "metrics at /metrics");
        let stop = metrics_stop.clone();
        tokio::spawn(serve_metrics(
            metrics_listener,
            server.metrics(),
            async move { stop.notified().await },
        ));
    }
    Ok(metrics_stop)
}

/// Serves health alone on `--health-addr`, if given, until the returned
/// notifier fires (after the drain: probes there read NOT_SERVING while it
/// lasts).
async fn start_health(cli: &Cli, server: &Server) -> Result<std::sync::Arc<tokio::sync::Notify>> {
    let health_stop = std::sync::Arc::new(tokio::sync::Notify::new());
    if let Some(addr) = cli.health_addr {
        let health_listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen for health checks on {addr}"))?;
        tracing::info!(addr = %addr, "health checks alone, plaintext");
        let stop = health_stop.clone();
        let health = server.health_only();
        tokio::spawn(async move {
            if let Err(e) = health
                .serve(health_listener, async move { stop.notified().await })
                .await
            {
                tracing::error!(error = %e, "the health listener failed");
            }
        });
    }
    Ok(health_stop)
}

/// Loads the first model off the request path (health turns SERVING once
/// it is in), then reloads on SIGHUP and, with `--watch`, on file changes.
/// The receiver fires if the first load fails.
fn load_first_model(cli: &Cli, reloader: Arc<Reloader>) -> oneshot::Receiver<()> {
    #[cfg(unix)]
    let hangup = listen_for_sighup();
    let (load_failed_tx, load_failed_rx) = oneshot::channel::<()>();
    let watch = cli.watch;
    tokio::spawn(async move {
        match reloader.reload(ReloadRequest::default()).await {
            Ok(_) => {
                tracing::info!("SERVING");
                // Compares with the stamp of the file just loaded, so a
                // change made during the first load is not missed.
                if watch {
                    tokio::spawn(watch_model_file(reloader.clone()));
                }
                #[cfg(unix)]
                if let Some(hangup) = hangup {
                    tokio::spawn(reload_on_sighup(hangup, reloader.clone()));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot load the model; shutting down");
                let _ = load_failed_tx.send(());
            }
        }
    });
    load_failed_rx
}

/// Serves until a signal or a failed first load, then turns NOT_SERVING and
/// drains for at most `grace`. True when the first load did not fail.
async fn serve_until_stopped(
    server: Server,
    listener: tokio::net::TcpListener,
    load_failed_rx: oneshot::Receiver<()>,
    grace: Duration,
) -> Result<bool> {
    let (stopping_tx, stopping_rx) = tokio::sync::watch::channel(false);
    let health = server.handle();
    let load_failed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load_failed_flag = load_failed.clone();
    let shutdown = async move {
        tokio::select! {
            _ = shutdown_signal() => tracing::info!("signal received; NOT_SERVING, finishing requests in flight"),
            Ok(()) = load_failed_rx => load_failed_flag.store(true, std::sync::atomic::Ordering::SeqCst),
        }
        health.set_not_serving().await;
        let _ = stopping_tx.send(true);
    };
    let serving = server.serve(listener, shutdown);
    tokio::pin!(serving);
    let mut stopping = stopping_rx;
    let result = tokio::select! {
        r = &mut serving => r,
        _ = async {
            let _ = stopping.wait_for(|s| *s).await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!(grace_secs = grace.as_secs(), "requests still in flight after the grace period; exiting");
            Ok(())
        }
    };
    result.context("server failed")?;
    Ok(!load_failed.load(std::sync::atomic::Ordering::SeqCst))
}

async fn run(cli: Cli) -> Result<bool> {
    let mut limits = limits_from(&cli)?;
    let Some(files) = model_files(&cli) else {
        return Ok(false);
    };
    let security = Security {
        admin_token: cli::read_token(cli.admin_token_file.as_deref(), "DOCCLASS_ADMIN_TOKEN")?,
        client_token: cli::read_token(cli.client_token_file.as_deref(), "DOCCLASS_CLIENT_TOKEN")?,
    };
    let tls = read_tls(&cli)?;
    limits.max_connections = fit_connections_to_descriptors(limits.max_connections);
    fix_mmap_threshold();
    let listener = tokio::net::TcpListener::bind(cli.addr)
        .await
        .with_context(|| format!("cannot listen on {}", cli.addr))?;
    let local = listener
        .local_addr()
        .context("cannot read the bound address")?;
    let mut server = Server::new(limits, Duration::from_secs(cli.request_timeout_secs))
        .await
        .with_model_files(files)
        .with_security(security)
        .with_noop_rpc(cli.enable_noop_rpc);
    if let Some(tls) = tls {
        server = server.with_tls(tls);
    }
    tracing::info!(
        addr = %local,
        model = %cli.model.display(),
        tls = cli.tls_cert.is_some(),
        mutual_tls = cli.tls_client_ca.is_some(),
        "listening; loading model"
    );
    let metrics_stop = start_metrics(&cli, &server).await?;
    let health_stop = start_health(&cli, &server).await?;
    let load_failed = load_first_model(&cli, server.reloader());
    let grace = Duration::from_secs(cli.shutdown_grace_secs);
    let served = serve_until_stopped(server, listener, load_failed, grace).await;
    metrics_stop.notify_one();
    health_stop.notify_one();
    let loaded = served?;
    tracing::info!("stopped");
    Ok(loaded)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let log_guard = match init_logging(cli.log_format) {
        Ok(guard) => guard,
        Err(e) => return cli::report(&e),
    };
    let outcome = cli::run_async(run(cli));
    // Write the waiting lines first, so they come before a final error.
    let dropped = log_guard.finish();
    if dropped > 0 {
        eprintln!("warning: {dropped} log lines were dropped because the log buffer was full");
    }
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => cli::report(&e),
    }
}
