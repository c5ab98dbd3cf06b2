//! `docclass`: the command-line client of `docclass-server`.
//!
//! `docclass classify TEXT` classifies text (or standard input, or files),
//! `docclass topics` lists the model's topics, `docclass info` shows where the
//! model comes from and how well it did, `docclass health` checks that the
//! server is SERVING. `--json` prints a command's response as JSON.
//!
//! Every failure is one line on stderr (`error: ...`) and exit code 1.
use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use docclass::cli;
use docclass::service::code_name;
use docclass::service::pb;
use docclass::service::pb::classifier_client::ClassifierClient;
use serde_json::{json, Value};
use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use tonic::transport::{Channel, Endpoint};
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

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
struct ClassifyArgs {
    /// The text (several words are joined with spaces); `-` reads standard
    /// input, as does no TEXT when input is piped.
    #[arg(value_name = "TEXT", conflicts_with = "files")]
    text: Vec<String>,
    /// Classify this file as one document, its id being the file name. Repeatable: several files go in one batch.
    #[arg(long = "file", short = 'f', value_name = "PATH")]
    files: Vec<PathBuf>,
    /// Headline, analysed together with the text.
    #[arg(long)]
    title: Option<String>,
    /// Document id, echoed in the answer.
    #[arg(long, conflicts_with = "files")]
    id: Option<String>,
    /// Language of the text; detected when not given.
    #[arg(long, value_parser = ["en", "fr", "ar"])]
    language: Option<String>,
    /// Show only the N most probable topics (0: all).
    #[arg(long, value_name = "N", default_value_t = 0)]
    top_k: u32,
    /// Show the terms that weighed most for each decided topic.
    #[arg(long)]
    explain: bool,
    /// Terms per explained topic (server default 10, at most 100); implies --explain.
    #[arg(long, value_name = "N")]
    explain_terms: Option<u32>,
    /// Report only this topic id. Repeatable.
    #[arg(long = "topic", value_name = "ID")]
    topics: Vec<String>,
    /// Print the response as JSON.
    #[arg(long)]
    json: bool,
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

// ---------------------------------------------------------------------------
// Connection and errors
// ---------------------------------------------------------------------------

struct Connection {
    channel: Channel,
    timeout: Duration,
}

impl Connection {
    async fn open(addr: &str, timeout: Duration) -> Result<Connection> {
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

    fn classifier(&self) -> ClassifierClient<Channel> {
        ClassifierClient::new(self.channel.clone())
            .max_decoding_message_size(64 << 20)
            .max_encoding_message_size(64 << 20)
    }

    /// A request carrying the deadline, so the server knows it too.
    fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        request.set_timeout(self.timeout);
        request
    }

    fn status_error(&self, status: tonic::Status) -> anyhow::Error {
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
        bail!("--addr {addr:?}: TLS is not supported; docclass-server speaks plain HTTP/2, use http://{rest}");
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
fn status_line(code: Code, message: &str) -> String {
    let message = message.split_whitespace().collect::<Vec<_>>().join(" ");
    if message.is_empty() {
        code_name(code).to_string()
    } else {
        format!("{}: {message}", code_name(code))
    }
}

fn emit_json(value: &Value) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value).context("cannot encode JSON")?;
    text.push('\n');
    cli::emit(&text)
}

// ---------------------------------------------------------------------------
// Text tables
// ---------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum Align {
    Left,
    Right,
}

/// Renders rows as aligned columns separated by two spaces; lines carry no
/// trailing spaces.
fn table(rows: &[Vec<String>], align: &[Align]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0; columns];
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            let pad = " ".repeat(widths[i] - cell.chars().count());
            match align.get(i).copied().unwrap_or(Align::Left) {
                Align::Left => {
                    line.push_str(cell);
                    line.push_str(&pad);
                }
                Align::Right => {
                    line.push_str(&pad);
                    line.push_str(cell);
                }
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Two-column "key  value" lines.
fn fields(rows: &[(&str, String)]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|(k, v)| vec![k.to_string(), v.clone()])
        .collect();
    table(&rows, &[Align::Left, Align::Left])
}

fn percent(p: f64) -> String {
    format!("{:.1}%", p * 100.0)
}

const BAR_CELLS: usize = 20;

/// A bar of `BAR_CELLS` cells for a probability, in eighths of a cell.
fn bar(p: f64) -> String {
    let eighths = (p.clamp(0.0, 1.0) * (BAR_CELLS * 8) as f64).round() as usize;
    let mut s = "█".repeat(eighths / 8);
    const PARTS: [&str; 8] = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];
    s.push_str(PARTS[eighths % 8]);
    s
}

fn threshold_cell(t: f64) -> String {
    if t > 0.0 {
        percent(t)
    } else {
        "argmax".to_string()
    }
}

// ---------------------------------------------------------------------------
// classify
// ---------------------------------------------------------------------------

/// One document to send: id and text.
#[derive(Debug, Default)]
struct Input {
    id: String,
    text: String,
}

fn read_documents(args: &ClassifyArgs) -> Result<Vec<Input>> {
    if !args.files.is_empty() {
        if args.files.len() > 1 && args.title.is_some() {
            bail!("--title describes one document; it cannot be used with several --file");
        }
        return args
            .files
            .iter()
            .map(|path| {
                let text = cli::read_to_string(path)?;
                let id = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| path.display().to_string());
                Ok(Input { id, text })
            })
            .collect();
    }
    let id = args.id.clone().unwrap_or_default();
    let from_stdin = match args.text.as_slice() {
        [] => {
            if std::io::stdin().is_terminal() {
                bail!("no text: give it as an argument, pipe it on standard input, or use --file PATH");
            }
            true
        }
        [dash] if dash == "-" => true,
        _ => false,
    };
    let text = if from_stdin {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read standard input")?;
        text
    } else {
        args.text.join(" ")
    };
    Ok(vec![Input { id, text }])
}

fn classify_request(args: &ClassifyArgs, input: Input) -> pb::ClassifyRequest {
    pb::ClassifyRequest {
        text: input.text,
        title: args.title.clone().unwrap_or_default(),
        id: input.id,
        top_k: args.top_k,
        explain: args.explain || args.explain_terms.is_some(),
        language: args.language.clone().unwrap_or_default(),
        topics: args.topics.clone(),
        explain_terms: args.explain_terms.unwrap_or(0),
    }
}

async fn classify(
    conn: &Connection,
    args: &ClassifyArgs,
    documents: Vec<Input>,
) -> Result<ExitCode> {
    let mut client = conn.classifier();
    if documents.len() == 1 {
        let input = documents.into_iter().next().unwrap_or_default();
        let response = client
            .classify(conn.request(classify_request(args, input)))
            .await
            .map_err(|s| conn.status_error(s))?
            .into_inner();
        if args.json {
            emit_json(&classify_json(&response))?;
        } else {
            cli::emit(&render_classification(
                &response,
                args.language.is_some(),
                true,
            ))?;
        }
        return Ok(ExitCode::SUCCESS);
    }

    let total = documents.len();
    let request = pb::ClassifyBatchRequest {
        documents: documents
            .into_iter()
            .map(|d| classify_request(args, d))
            .collect(),
    };
    let response = client
        .classify_batch(conn.request(request))
        .await
        .map_err(|s| conn.status_error(s))?
        .into_inner();
    let failed = response
        .outcomes
        .iter()
        .filter(|o| !matches!(o.outcome, Some(pb::classify_outcome::Outcome::Result(_))))
        .count();
    if args.json {
        emit_json(&batch_json(&response))?;
    } else {
        cli::emit(&render_batch(&response, args.language.is_some()))?;
    }
    if failed > 0 {
        bail!("{failed} of {total} documents could not be classified");
    }
    Ok(ExitCode::SUCCESS)
}

fn language_name(code: &str) -> &'static str {
    match code {
        "en" => "English",
        "fr" => "French",
        "ar" => "Arabic",
        _ => "",
    }
}

fn render_language(code: &str, hinted: bool) -> String {
    match (language_name(code), hinted) {
        ("", _) if code == "und" => "und (not detected)".to_string(),
        ("", _) => code.to_string(),
        (name, true) => format!("{code} ({name}, from --language)"),
        (name, false) => format!("{code} ({name}, detected)"),
    }
}

/// The readable form of one document's result; `with_version` for a single
/// document, whose answer carries the model version.
fn render_classification(r: &pb::ClassifyResponse, hinted: bool, with_version: bool) -> String {
    let labels = if r.labels.is_empty() {
        "none".to_string()
    } else {
        r.labels.join(", ")
    };
    let mut head = Vec::new();
    // Inside a batch the document is named in the section heading.
    if with_version && !r.id.is_empty() {
        head.push(("document", r.id.clone()));
    }
    head.push(("language", render_language(&r.language, hinted)));
    if with_version {
        head.push(("model version", r.model_version.clone()));
    }
    head.push(("labels", labels));
    let mut out = fields(&head);
    out.push('\n');

    let mut rows = vec![vec![
        String::new(),
        "topic".to_string(),
        "name".to_string(),
        "probability".to_string(),
        "threshold".to_string(),
    ]];
    for t in &r.topics {
        rows.push(vec![
            if t.decided { "✓" } else { "" }.to_string(),
            t.topic.clone(),
            t.name.clone(),
            format!(
                "{:>6}  {:<width$}",
                percent(t.probability),
                bar(t.probability),
                width = BAR_CELLS
            ),
            threshold_cell(t.threshold),
        ]);
    }
    out.push_str(&table(
        &rows,
        &[
            Align::Left,
            Align::Left,
            Align::Left,
            Align::Left,
            Align::Right,
        ],
    ));

    for e in &r.explanations {
        let name = r
            .topics
            .iter()
            .find(|t| t.topic == e.topic)
            .map(|t| format!(" ({})", t.name))
            .unwrap_or_default();
        out.push_str(&format!("\nterms behind {}{name}\n", e.topic));
        if e.terms.is_empty() {
            out.push_str("  (none)\n");
            continue;
        }
        let rows: Vec<Vec<String>> = e
            .terms
            .iter()
            .map(|t| vec![String::new(), t.term.clone(), format!("{:+.3}", t.weight)])
            .collect();
        out.push_str(&table(&rows, &[Align::Left, Align::Left, Align::Right]));
    }
    out
}

fn render_batch(r: &pb::ClassifyBatchResponse, hinted: bool) -> String {
    let mut out = fields(&[
        ("model version", r.model_version.clone()),
        ("documents", r.outcomes.len().to_string()),
    ]);
    for o in &r.outcomes {
        out.push('\n');
        let name = if o.id.is_empty() {
            format!("#{}", o.index)
        } else {
            o.id.clone()
        };
        out.push_str(&format!("── {name}\n"));
        match &o.outcome {
            Some(pb::classify_outcome::Outcome::Result(result)) => {
                out.push_str(&render_classification(result, hinted, false));
            }
            Some(pb::classify_outcome::Outcome::Error(e)) => {
                out.push_str(&format!(
                    "error: {}\n",
                    status_line(Code::from_i32(e.code), &e.message)
                ));
            }
            None => out.push_str("error: the server sent no outcome\n"),
        }
    }
    out
}

fn classify_json(r: &pb::ClassifyResponse) -> Value {
    json!({
        "id": r.id,
        "language": r.language,
        "model_version": r.model_version,
        "labels": r.labels,
        "topics": r.topics.iter().map(|t| json!({
            "topic": t.topic,
            "name": t.name,
            "probability": t.probability,
            "decided": t.decided,
            "threshold": t.threshold,
        })).collect::<Vec<_>>(),
        "explanations": r.explanations.iter().map(|e| json!({
            "topic": e.topic,
            "terms": e.terms.iter().map(|t| json!({
                "term": t.term,
                "weight": t.weight,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

fn batch_json(r: &pb::ClassifyBatchResponse) -> Value {
    json!({
        "model_version": r.model_version,
        "outcomes": r.outcomes.iter().map(|o| {
            let mut v = json!({ "index": o.index, "id": o.id });
            match &o.outcome {
                Some(pb::classify_outcome::Outcome::Result(result)) => {
                    v["result"] = classify_json(result);
                }
                Some(pb::classify_outcome::Outcome::Error(e)) => {
                    v["error"] = json!({
                        "code": e.code,
                        "message": e.message,
                        "field": e.field,
                    });
                }
                None => {}
            }
            v
        }).collect::<Vec<_>>(),
    })
}

// ---------------------------------------------------------------------------
// topics
// ---------------------------------------------------------------------------

async fn topics(conn: &Connection, as_json: bool) -> Result<ExitCode> {
    let r = conn
        .classifier()
        .list_topics(conn.request(pb::ListTopicsRequest {}))
        .await
        .map_err(|s| conn.status_error(s))?
        .into_inner();
    if as_json {
        emit_json(&json!({
            "model_version": r.model_version,
            "topics": r.topics.iter().map(|t| json!({
                "id": t.id,
                "name_en": t.name_en,
                "name_fr": t.name_fr,
                "description": t.description,
                "exclusive": t.exclusive,
                "threshold": t.threshold,
                "training_documents": t.training_documents,
            })).collect::<Vec<_>>(),
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = fields(&[("model version", r.model_version.clone())]);
    out.push('\n');
    let mut rows = vec![[
        "id",
        "English",
        "French",
        "exclusive",
        "threshold",
        "training docs",
    ]
    .map(String::from)
    .to_vec()];
    for t in &r.topics {
        rows.push(vec![
            t.id.clone(),
            t.name_en.clone(),
            t.name_fr.clone(),
            if t.exclusive { "yes" } else { "no" }.to_string(),
            threshold_cell(t.threshold),
            t.training_documents.to_string(),
        ]);
    }
    out.push_str(&table(
        &rows,
        &[
            Align::Left,
            Align::Left,
            Align::Left,
            Align::Left,
            Align::Right,
            Align::Right,
        ],
    ));
    cli::emit(&out)?;
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------------------
// info
// ---------------------------------------------------------------------------

fn metrics_json(h: &pb::HeldOutMetrics) -> Value {
    json!({
        "documents": h.documents,
        "accuracy": h.accuracy,
        "macro_f1": h.macro_f1,
        "micro_f1": h.micro_f1,
        "topics": h.topics.iter().map(|t| json!({
            "topic": t.topic,
            "f1": t.f1,
        })).collect::<Vec<_>>(),
    })
}

/// Accuracy, macro-F1 and micro-F1, one indented row each.
fn metrics_table(h: &pb::HeldOutMetrics) -> String {
    let rows = [
        ("accuracy", h.accuracy),
        ("macro-F1", h.macro_f1),
        ("micro-F1", h.micro_f1),
    ]
    .map(|(k, v)| vec![String::new(), k.to_string(), format!("{v:.4}")]);
    table(&rows, &[Align::Left, Align::Left, Align::Right])
}

fn hyperparameters(raw: &str) -> Value {
    serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_string()))
}

async fn info(conn: &Connection, as_json: bool) -> Result<ExitCode> {
    let m = conn
        .classifier()
        .get_model_info(conn.request(pb::GetModelInfoRequest {}))
        .await
        .map_err(|s| conn.status_error(s))?
        .into_inner();
    let corpus = m.training_corpus.clone().unwrap_or_default();
    if as_json {
        emit_json(&json!({
            "model_version": m.model_version,
            "model_id": m.model_id,
            "created_at": m.created_at,
            "trainer_version": m.trainer_version,
            "format_version": m.format_version,
            "training_corpus": m.training_corpus.as_ref().map(|c| json!({
                "sha256": c.sha256,
                "documents": c.documents,
                "topic_documents": c.topic_documents.iter().map(|t| json!({
                    "topic": t.topic,
                    "documents": t.documents,
                })).collect::<Vec<_>>(),
            })),
            "hyperparameters": hyperparameters(&m.hyperparameters_json),
            "held_out": m.held_out.as_ref().map(metrics_json),
            "evaluations": m.evaluations.iter().map(|e| json!({
                "name": e.name,
                "corpus_sha256": e.corpus_sha256,
                "metrics": e.metrics.as_ref().map(metrics_json),
            })).collect::<Vec<_>>(),
            "features": m.features,
            "loaded_at": m.loaded_at,
            "calibration": m.calibration,
            "semi_supervised": m.semi_supervised.as_ref().map(|s| json!({
                "corpus_sha256": s.corpus_sha256,
                "documents": s.documents,
                "lambda": s.lambda,
                "max_iterations": s.max_iterations,
                "tolerance": s.tolerance,
                "iterations": s.iterations,
                "converged": s.converged,
            })),
        }))?;
        return Ok(ExitCode::SUCCESS);
    }

    let mut out = fields(&[
        ("model version", m.model_version.clone()),
        ("model id", m.model_id.clone()),
        ("created at", m.created_at.clone()),
        ("trainer version", m.trainer_version.clone()),
        ("format version", m.format_version.to_string()),
        ("corpus documents", corpus.documents.to_string()),
        ("corpus sha256", corpus.sha256.clone()),
        ("features", m.features.to_string()),
        ("loaded at", m.loaded_at.clone()),
        ("probabilities", m.calibration.clone()),
        (
            "unlabelled (EM)",
            m.semi_supervised.as_ref().map_or("none".to_string(), |s| {
                format!(
                    "{} documents, lambda {}, {} iterations{}",
                    s.documents,
                    s.lambda,
                    s.iterations,
                    if s.converged { ", converged" } else { "" }
                )
            }),
        ),
    ]);
    out.push('\n');
    match &m.held_out {
        Some(h) => {
            out.push_str(&format!("held-out metrics ({} documents)\n", h.documents));
            out.push_str(&metrics_table(h));
        }
        None => out.push_str("held-out metrics: none (trained without validation)\n"),
    }
    for e in &m.evaluations {
        let Some(h) = &e.metrics else { continue };
        out.push_str(&format!(
            "{} ({} documents, not trained on)\n",
            e.name, h.documents
        ));
        out.push_str(&metrics_table(h));
    }

    // Per topic: training documents and held-out F1, in the model's topic order.
    let mut ids: Vec<&str> = corpus
        .topic_documents
        .iter()
        .map(|t| t.topic.as_str())
        .collect();
    for t in m.held_out.iter().flat_map(|h| &h.topics) {
        if !ids.contains(&t.topic.as_str()) {
            ids.push(&t.topic);
        }
    }
    if !ids.is_empty() {
        let mut rows = vec![vec![
            "topic".to_string(),
            "training docs".to_string(),
            "held-out F1".to_string(),
        ]];
        for id in ids {
            let docs = corpus.topic_documents.iter().find(|t| t.topic == id);
            let f1 = m
                .held_out
                .iter()
                .flat_map(|h| &h.topics)
                .find(|t| t.topic == id);
            rows.push(vec![
                id.to_string(),
                docs.map_or("-".to_string(), |t| t.documents.to_string()),
                f1.map_or("-".to_string(), |t| format!("{:.4}", t.f1)),
            ]);
        }
        out.push('\n');
        out.push_str(&table(&rows, &[Align::Left, Align::Right, Align::Right]));
    }
    out.push_str("\nhyperparameters\n");
    let pretty = match hyperparameters(&m.hyperparameters_json) {
        Value::String(raw) => raw,
        value => serde_json::to_string_pretty(&value).context("cannot encode JSON")?,
    };
    out.push_str(&pretty);
    out.push('\n');
    cli::emit(&out)?;
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------------------
// health
// ---------------------------------------------------------------------------

async fn health(conn: &Connection, service: &str) -> Result<ExitCode> {
    let response = HealthClient::new(conn.channel.clone())
        .check(conn.request(HealthCheckRequest {
            service: service.to_string(),
        }))
        .await
        .map_err(|s| conn.status_error(s))?
        .into_inner();
    let status = ServingStatus::try_from(response.status);
    let name = match status {
        Ok(s) => s.as_str_name().to_string(),
        Err(_) => format!("UNKNOWN_STATUS({})", response.status),
    };
    cli::emit(&format!("{name}\n"))?;
    Ok(if status == Ok(ServingStatus::Serving) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
