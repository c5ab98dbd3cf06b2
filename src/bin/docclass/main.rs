//! `docclass`: the command-line client of `docclass-server`.
//!
//! `docclass classify TEXT` classifies text (or standard input, or files),
//! `docclass topics` lists the model's topics, `docclass info` shows where the
//! model comes from and how well it did, `docclass health` checks that the
//! server is SERVING, `docclass reload` asks it to load a model file (with
//! the admin token). `--json` prints a command's response as JSON. With
//! `--ca-cert` it speaks TLS (mutual with `--client-cert`/`--client-key`);
//! `--token-file` or `DOCCLASS_TOKEN` gives the bearer token.
//!
//! Every failure is one line on stderr (`error: ...`) and exit code 1, or,
//! when a credential is the cause, the code of its [`connection::Refusal`].
//!
//! One module per command (`classify`, `topics`, `info`, `health`,
//! `reload`), over the connection (`connection`) and the text and JSON
//! output (`output`).
mod classify;
mod connection;
mod health;
mod info;
mod output;
mod reload;
mod topics;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};
use classify::{classify, read_documents, ClassifyArgs};
use connection::{Connection, Credentials, Refusal};
use docclass::cli;
use health::health;
use info::info;
use reload::{read_admin_token, reload, ReloadArgs};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use topics::topics;

/// Client of docclass-server: classify news text, list topics, describe the model, reload it.
#[derive(Debug, Parser)]
#[command(name = "docclass", version, after_help = EXIT_CODES)]
struct Cli {
    /// Server address: HOST:PORT, http://HOST:PORT, or with --ca-cert https://HOST:PORT.
    #[arg(
        long,
        global = true,
        env = "DOCCLASS_ADDR",
        default_value = "127.0.0.1:50051"
    )]
    addr: String,
    /// Seconds to wait for the connection, and for each answer.
    #[arg(long, global = true, value_name = "SECS", default_value = "10", value_parser = cli::parse_seconds)]
    timeout: Duration,
    /// Speak TLS, trusting only server certificates from this CA (PEM).
    #[arg(long, global = true, env = "DOCCLASS_CA_CERT", value_name = "PEM")]
    ca_cert: Option<PathBuf>,
    /// Client certificate (PEM) for mutual TLS; needs --client-key and --ca-cert.
    #[arg(long, global = true, env = "DOCCLASS_CLIENT_CERT", value_name = "PEM", requires_all = ["client_key", "ca_cert"])]
    client_cert: Option<PathBuf>,
    /// Private key (PEM) of --client-cert.
    #[arg(
        long,
        global = true,
        env = "DOCCLASS_CLIENT_KEY",
        value_name = "PEM",
        requires = "client_cert"
    )]
    client_key: Option<PathBuf>,
    /// File holding the bearer token classification calls send (or set DOCCLASS_TOKEN to the token itself).
    #[arg(long, global = true, env = "DOCCLASS_TOKEN_FILE", value_name = "FILE")]
    token_file: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Classify one document (TEXT, standard input, or --file), or several files at once.
    Classify(ClassifyArgs),
    /// List the model's topics: ids, names, thresholds, training documents.
    Topics(JsonArg),
    /// Show the model: version, provenance, held-out metrics, hyperparameters.
    Info(JsonArg),
    /// Check the server's gRPC health; exit code 0 only when SERVING.
    Health(HealthArgs),
    /// Load a model file on the server (Admin/ReloadModel), with the admin token.
    Reload(ReloadArgs),
}

/// The exit codes, shown under `--help` (and listed in the README).
const EXIT_CODES: &str =
    "Exit codes: 0 success (health: SERVING); 1 any other failure; 2 bad flags; \
3 a token, certificate or key file cannot be read or is empty; \
4 the server's certificate is not trusted (--ca-cert); \
5 the server refused the TLS handshake (client certificate missing or from another CA); \
6 the server requires a token and none was given; 7 the server refused the token; \
8 the server refused the admin token; 9 the server has no admin token (admin RPCs disabled).";

#[derive(Debug, Args)]
struct JsonArg {
    /// Print the response as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct HealthArgs {
    /// Service to check ("" is the server as a whole).
    #[arg(long, default_value = "docclass.v1.Classifier")]
    service: String,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli::run_async(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            cli::report(&e);
            Refusal::exit_code(&e)
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    // Read the input before connecting: a missing file is reported as such.
    let documents = match &cli.command {
        Command::Classify(args) => Some(read_documents(args)?),
        _ => None,
    };
    let admin_token = match &cli.command {
        Command::Reload(args) => Some(read_admin_token(args)?),
        _ => None,
    };
    let identity = cli.client_cert.as_deref().zip(cli.client_key.as_deref());
    let credentials =
        Credentials::read(cli.ca_cert.as_deref(), identity, cli.token_file.as_deref())?;
    let conn = Connection::open(&cli.addr, cli.timeout, credentials).await?;
    match cli.command {
        Command::Classify(args) => classify(&conn, &args, documents.unwrap_or_default()).await,
        Command::Topics(a) => topics(&conn, a.json).await,
        Command::Info(a) => info(&conn, a.json).await,
        Command::Health(a) => health(&conn, &a.service).await,
        Command::Reload(args) => reload(&conn, &args, admin_token).await,
    }
}
