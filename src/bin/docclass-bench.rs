//! `docclass-bench`: the load generator of docclass-server, and in-process
//! throughput measurements.
//!
//! `unary`, `batch`, `stream` and `noop` load a running server (loopback
//! only) in closed or open loop and report RPCs/s, documents/s, latency
//! percentiles, errors by code and documents per model version;
//! `in-process` measures analysis and classification on one thread;
//! `load-model` times model loading; `cut` writes the cut documents a run
//! would send, so other tools can be fed exactly the same text.
//!
//! Exit codes: 0 ok; 1 refused options or a failed set-up (2: clap's usage
//! errors); 3 the run had failed RPCs or refused documents; 4 a response
//! carried a model version not given with `--expect-version`. A run that
//! happened prints its report in every case.
use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use docclass::cli;
use docclass::loadgen::in_process::{self, InProcessOptions};
use docclass::loadgen::input::{self, BenchDoc};
use docclass::loadgen::run::{self, LoadOptions, Mode, DEFAULT_DURATION};
use docclass::loadgen::target::loopback_target;
use docclass::model::Model;
use docclass::service::pb;
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Load generator for docclass-server (loopback only), and in-process throughput.
#[derive(Debug, Parser)]
#[command(name = "docclass-bench", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Load Classifier/Classify, one document per RPC.
    Unary(LoadArgs),
    /// Load Classifier/ClassifyBatch.
    Batch {
        /// Documents per batch.
        #[arg(long, value_name = "N", default_value_t = 32)]
        batch_size: usize,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Load Classifier/ClassifyStream: one stream per --concurrency.
    Stream {
        /// Messages in flight per stream.
        #[arg(long, value_name = "N", default_value_t = 32)]
        window: usize,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Load Transport/Noop (docclass-server --enable-noop-rpc): the transport alone.
    Noop(LoadArgs),
    /// Analysis-alone and classification documents/s on one thread, no gRPC.
    InProcess(InProcessArgs),
    /// Model load time, median of several loads.
    LoadModel {
        /// The model file.
        model: PathBuf,
        /// Loads to time.
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write the documents a run would send (after --cut-bytes) as JSONL.
    Cut {
        #[command(flatten)]
        docs: DocArgs,
        /// Output file (default: standard output).
        #[arg(long, short = 'o')]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
struct DocArgs {
    /// JSONL documents (`text`, optional `title`); default: the built-in training-data corpus.
    #[arg(long, value_name = "FILE.jsonl")]
    input: Option<PathBuf>,
    /// Cut each text at a word boundary to about N bytes.
    #[arg(long, value_name = "N")]
    cut_bytes: Option<usize>,
}

impl DocArgs {
    /// The documents and a description of where they came from.
    fn read(&self) -> Result<(Vec<BenchDoc>, String)> {
        let (mut docs, mut source) = match &self.input {
            Some(path) => (input::read_jsonl(path)?, path.display().to_string()),
            None => (input::builtin()?, input::BUILTIN_SOURCE.to_string()),
        };
        if let Some(n) = self.cut_bytes {
            anyhow::ensure!(n > 0, "--cut-bytes must be at least 1");
            input::cut_all(&mut docs, n);
            source.push_str(&format!(" cut to {n} bytes"));
        }
        Ok((docs, source))
    }
}

#[derive(Debug, Args)]
struct LoadArgs {
    /// Server address, loopback only: 127.0.0.0/8, [::1] or localhost, as HOST:PORT or http://HOST:PORT.
    #[arg(long, env = "DOCCLASS_ADDR", default_value = "127.0.0.1:50051")]
    addr: String,
    /// Closed loop: workers sending back to back. Open loop (--rate): most requests in flight. Stream: streams.
    #[arg(long, short = 'c', default_value_t = 8)]
    concurrency: usize,
    /// HTTP/2 connections shared by the workers.
    #[arg(long, default_value_t = 1)]
    connections: usize,
    /// Open loop: send this many requests per second whatever the answers.
    #[arg(long, value_name = "PER_SEC")]
    rate: Option<f64>,
    /// Measured seconds (default 10 when --requests is not given either).
    #[arg(long, value_name = "SECS", value_parser = parse_seconds_or_zero)]
    duration: Option<Duration>,
    /// Measured requests (stream: messages).
    #[arg(long, value_name = "N")]
    requests: Option<u64>,
    /// Unmeasured seconds before measuring.
    #[arg(long, value_name = "SECS", default_value = "1", value_parser = parse_seconds_or_zero)]
    warmup: Duration,
    /// Deadline of each RPC, in seconds.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = cli::parse_seconds)]
    timeout: Duration,
    /// First wait up to SECS for health SERVING; reports how long after this program started it turned SERVING.
    #[arg(long, value_name = "SECS", value_parser = cli::parse_seconds)]
    wait_ready: Option<Duration>,
    /// Fail (exit 4) if any response carries another model version. Repeatable.
    #[arg(long = "expect-version", value_name = "VERSION")]
    expect_versions: Vec<String>,
    #[command(flatten)]
    docs: DocArgs,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct InProcessArgs {
    /// The model file.
    #[arg(long)]
    model: PathBuf,
    #[command(flatten)]
    docs: DocArgs,
    /// Timed runs of each measurement; the median is reported.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Each run repeats passes over the documents for at least this many seconds.
    #[arg(long, value_name = "SECS", default_value = "1", value_parser = cli::parse_seconds)]
    run_secs: Duration,
    /// Also classify on this many threads at once and report the total
    /// against one thread (1: one thread only).
    #[arg(long, default_value_t = 1, value_name = "N")]
    threads: usize,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

fn parse_seconds_or_zero(s: &str) -> std::result::Result<Duration, String> {
    if s.trim().parse::<f64>() == Ok(0.0) {
        return Ok(Duration::ZERO);
    }
    cli::parse_seconds(s)
}

fn main() -> ExitCode {
    // --wait-ready counts from here: the generator's own start.
    let started = Instant::now();
    let cli = Cli::parse();
    match cli.command {
        Command::Unary(load) => load_run(started, Mode::Unary, 32, 32, load),
        Command::Batch { batch_size, load } => load_run(started, Mode::Batch, batch_size, 32, load),
        Command::Stream { window, load } => load_run(started, Mode::Stream, 32, window, load),
        Command::Noop(load) => load_run(started, Mode::Noop, 32, 32, load),
        Command::InProcess(args) => finish(in_process(args)),
        Command::LoadModel { model, runs, json } => finish(load_model(model, runs, json)),
        Command::Cut { docs, output } => finish(cut(docs, output)),
    }
}

fn finish(result: Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => cli::report(&e),
    }
}

fn print<T: Serialize>(value: &T, json: bool, text: impl FnOnce() -> String) -> Result<()> {
    let out = if json {
        let mut s = serde_json::to_string_pretty(value).context("cannot encode JSON")?;
        s.push('\n');
        s
    } else {
        text()
    };
    cli::emit(&out)
}

fn load_run(
    started: Instant,
    mode: Mode,
    batch_size: usize,
    stream_window: usize,
    args: LoadArgs,
) -> ExitCode {
    let options = LoadOptions {
        mode,
        concurrency: args.concurrency,
        connections: args.connections,
        rate: args.rate,
        duration: match (args.duration, args.requests) {
            (None, None) => Some(DEFAULT_DURATION),
            (d, _) => d,
        },
        requests: args.requests,
        warmup: args.warmup,
        batch_size,
        stream_window,
        timeout: args.timeout,
    };
    let report = match cli::run_async(load(started, &args, &options)) {
        Ok(report) => report,
        Err(e) => return cli::report(&e),
    };
    if let Err(e) = print(&report, args.json, || report.to_text()) {
        return cli::report(&e);
    }
    if report.has_unexpected_versions() {
        ExitCode::from(4)
    } else if report.has_errors() {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    }
}

async fn load(
    started: Instant,
    args: &LoadArgs,
    options: &LoadOptions,
) -> Result<docclass::loadgen::report::LoadReport> {
    // Everything that can be refused is refused before any request goes out.
    let target = loopback_target(&args.addr)?;
    options.validate()?;
    let (docs, source) = args.docs.read()?;
    let mean_bytes = docs
        .iter()
        .map(|d| d.title.len() + d.text.len())
        .sum::<usize>() as f64
        / docs.len() as f64;
    let requests: Vec<pb::ClassifyRequest> = docs
        .into_iter()
        .map(|d| pb::ClassifyRequest {
            text: d.text,
            title: d.title,
            ..Default::default()
        })
        .collect();
    let ready_after = match args.wait_ready {
        Some(within) => Some(run::wait_ready(&target, started, within).await?),
        None => None,
    };
    let mut report = run::run(&target, requests, options).await?;
    report.ready_after_ms = ready_after.map(|d| d.as_secs_f64() * 1e3);
    report.documents_source = source;
    report.mean_document_bytes = mean_bytes;
    report.expect_versions(&args.expect_versions);
    Ok(report)
}

fn in_process(args: InProcessArgs) -> Result<()> {
    let model = Model::load(&args.model)
        .with_context(|| format!("cannot load {}", args.model.display()))?;
    let (docs, source) = args.docs.read()?;
    // Text only, as the Python baselines it is compared with see it.
    let texts: Vec<String> = docs.into_iter().map(|d| d.text).collect();
    let report = in_process::measure(
        &model,
        &texts,
        InProcessOptions {
            runs: args.runs,
            min_run: args.run_secs,
            threads: args.threads,
        },
    )?;
    #[derive(Serialize)]
    struct Out<'a> {
        model: String,
        documents_source: &'a str,
        #[serde(flatten)]
        report: &'a in_process::InProcessReport,
    }
    let out = Out {
        model: args.model.display().to_string(),
        documents_source: &source,
        report: &report,
    };
    print(&out, args.json, || {
        let mut text = format!(
            "in-process: {} ({} features, version {})\n\
             documents       {} from {source}, mean {:.0} bytes; medians of {} runs\n\
             floor           {:.0} docs/s (split_whitespace and a sum of token lengths)\n\
             analysis alone  {:.0} docs/s\n\
             classification  {:.0} docs/s on one thread: {:.1}% of analysis alone, {:.1}% of the floor\n",
            out.model,
            report.features,
            report.model_version,
            report.documents,
            report.mean_document_bytes,
            report.runs,
            report.floor_docs_per_sec,
            report.analysis_docs_per_sec,
            report.classify_docs_per_sec,
            report.classify_vs_analysis * 100.0,
            report.classify_vs_floor * 100.0,
        );
        if report.threads > 1 {
            text.push_str(&format!(
                "classification  {:.0} docs/s on {} threads: {:.2}x one thread\n",
                report.classify_threads_docs_per_sec, report.threads, report.thread_scaling
            ));
        }
        text
    })
}

fn load_model(model: PathBuf, runs: usize, json: bool) -> Result<()> {
    let report = in_process::measure_load(&model, runs)?;
    print(&report, json, || {
        format!(
            "{}: {} bytes, {} features, version {}\nload {:.1} ms (median of {})\n",
            report.path,
            report.file_bytes,
            report.features,
            report.model_version,
            report.load_ms,
            report.runs
        )
    })
}

fn cut(docs: DocArgs, output: Option<PathBuf>) -> Result<()> {
    let (docs, _) = docs.read()?;
    let mut out = String::new();
    for doc in &docs {
        out.push_str(&serde_json::to_string(doc).context("cannot encode JSON")?);
        out.push('\n');
    }
    match output {
        Some(path) => {
            std::fs::write(&path, out).with_context(|| format!("cannot write {}", path.display()))
        }
        None => cli::emit(&out),
    }
}
