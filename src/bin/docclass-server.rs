//! `docclass-server`: serves a docclass model over gRPC.
//!
//! With no arguments it serves `models/default.model` on 127.0.0.1:50051.
//! Every flag can also be set by environment variable (DOCCLASS_*).
mod common;

use anyhow::{Context, Result};
use clap::{Parser, ValueEnum};
use docclass::model::{rfc3339_utc, Model};
use docclass::service::{Limits, LoadedModel, Server};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};
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
    /// Log format. Levels come from RUST_LOG (default: info).
    #[arg(long, env = "DOCCLASS_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Also serve docclass.v1.Transport/Noop, the transport-only baseline of `docclass-bench noop`.
    #[arg(long, env = "DOCCLASS_ENABLE_NOOP_RPC")]
    enable_noop_rpc: bool,
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
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

async fn run(cli: Cli) -> Result<bool> {
    let limits = Limits {
        max_text_bytes: cli.max_text_bytes,
        max_batch_documents: cli.max_batch,
        max_message_bytes: cli.max_message_bytes,
        ..Limits::default()
    };
    let listener = tokio::net::TcpListener::bind(cli.addr)
        .await
        .with_context(|| format!("cannot listen on {}", cli.addr))?;
    let local = listener
        .local_addr()
        .context("cannot read the bound address")?;
    let server = Server::new(limits, Duration::from_secs(cli.request_timeout_secs))
        .await
        .with_noop_rpc(cli.enable_noop_rpc);
    let handle = server.handle();
    tracing::info!(addr = %local, model = %cli.model.display(), "listening; loading model");

    // Load off the request path; health turns SERVING once the model is in.
    let (load_failed_tx, load_failed_rx) = oneshot::channel::<()>();
    let path = cli.model.clone();
    let loader = handle.clone();
    tokio::spawn(async move {
        let started = Instant::now();
        let loaded =
            tokio::task::spawn_blocking(move || Model::load(&path).map(|m| (m, path))).await;
        match loaded {
            Ok(Ok((model, path))) => {
                let version = model.version().to_string();
                let topics = model.topics().len();
                let model_id = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                loader
                    .install(LoadedModel {
                        model,
                        model_id,
                        loaded_at: rfc3339_utc(now),
                    })
                    .await;
                tracing::info!(
                    version,
                    topics,
                    load_ms = started.elapsed().as_millis() as u64,
                    "model loaded; SERVING"
                );
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "cannot load the model; shutting down");
                let _ = load_failed_tx.send(());
            }
            Err(e) => {
                tracing::error!(error = %e, "model loader failed; shutting down");
                let _ = load_failed_tx.send(());
            }
        }
    });

    let (stopping_tx, stopping_rx) = tokio::sync::watch::channel(false);
    let health = handle.clone();
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
    let grace = Duration::from_secs(cli.shutdown_grace_secs);
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
    tracing::info!("stopped");
    Ok(!load_failed.load(std::sync::atomic::Ordering::SeqCst))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    match common::run_async(run(cli)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => common::report(&e),
    }
}
