//! `docclass`: the command-line client of `docclass-server`.
//!
//! `docclass classify TEXT` classifies text (or standard input, or files),
//! `docclass topics` lists the model's topics, `docclass info` shows where the
//! model comes from and how well it did, `docclass health` checks that the
//! server is SERVING. `--json` prints a command's response as JSON.
//!
//! Every failure is one line on stderr (`error: ...`) and exit code 1.
//!
//! One module per command (`classify`, `topics`, `info`, `health`), over
//! the connection (`connection`) and the text and JSON output (`output`).
mod classify;
mod connection;
mod health;
mod info;
mod output;
mod topics;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};
use classify::{classify, read_documents, ClassifyArgs};
use connection::Connection;
use docclass::cli;
use health::health;
use info::info;
use std::process::ExitCode;
use std::time::Duration;
use topics::topics;

/// Client of docclass-server: classify news text, list topics, describe the model.
#[derive(Debug, Parser)]
#[command(name = "docclass", version)]
struct Cli {
    /// Server address: HOST:PORT or http://HOST:PORT.
    #[arg(
        long,
        global = true,
        env = "DOCCLASS_ADDR",
        default_value = "http://127.0.0.1:50051"
    )]
    addr: String,
    /// Seconds to wait for the connection, and for each answer.
    #[arg(long, global = true, value_name = "SECS", default_value = "10", value_parser = cli::parse_seconds)]
    timeout: Duration,
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
}

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
        Err(e) => cli::report(&e),
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    // Read the input before connecting: a missing file is reported as such.
    let documents = match &cli.command {
        Command::Classify(args) => Some(read_documents(args)?),
        _ => None,
    };
    let conn = Connection::open(&cli.addr, cli.timeout).await?;
    match cli.command {
        Command::Classify(args) => classify(&conn, &args, documents.unwrap_or_default()).await,
        Command::Topics(a) => topics(&conn, a.json).await,
        Command::Info(a) => info(&conn, a.json).await,
        Command::Health(a) => health(&conn, &a.service).await,
    }
}
