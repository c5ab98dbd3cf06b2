//! `docclass classify`: one document by Classify, several files by
//! ClassifyBatch, every document of a corpus file by ClassifyStream; the
//! answer as text (labels, a probability bar per topic, explanations) or
//! JSON (one line per document for a corpus file).
use crate::connection::{status_line, Connection};
use crate::output::{
    bar, emit_json, fields, percent, table, threshold_cell,
    Align::{Left, Right},
    BAR_CELLS,
};
use anyhow::{bail, Context, Result};
use clap::Args;
use docclass::cli;
use docclass::predict::PredictionLine;
use docclass::service::pb;
use serde_json::{json, Value};
use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use tonic::Code;

#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// The text, classified as ONE document (several words are joined with
    /// spaces); `-` reads standard input, as does no TEXT when input is
    /// piped, also as one document. For many documents, use --each.
    #[arg(value_name = "TEXT", conflicts_with_all = ["files", "each"])]
    text: Vec<String>,
    /// Classify this file's whole content as ONE document, its id being the file name. Repeatable: several files go in one batch. For a file holding many documents, use --each.
    #[arg(
        long = "file",
        short = 'f',
        value_name = "PATH",
        conflicts_with = "each"
    )]
    files: Vec<PathBuf>,
    /// Classify every document of this corpus file one by one (JSONL, CSV/TSV or fastText, optionally .gz; labels in it are ignored), through one stream, in input order. Prints one JSON line per document: id, decided labels, language and every topic's probability, or the error.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["id", "title"])]
    each: Option<PathBuf>,
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

/// One document to send: id, text, and (from a corpus file) its own title
/// and language.
#[derive(Debug, Default)]
pub struct Input {
    id: String,
    text: String,
    title: String,
    language: Option<String>,
}

pub fn read_documents(args: &ClassifyArgs) -> Result<Vec<Input>> {
    if let Some(path) = &args.each {
        let options = docclass::corpus::ReadOptions {
            ignore_labels: true,
            ..Default::default()
        };
        let corpus = docclass::corpus::read_path(path, &options)
            .with_context(|| format!("--each {}", path.display()))?;
        if corpus.documents.is_empty() {
            bail!("--each {}: the file holds no documents", path.display());
        }
        return Ok(corpus
            .documents
            .into_iter()
            .map(|d| Input {
                id: d.id,
                title: d.title.unwrap_or_default(),
                language: d.lang.map(|l| l.code().to_string()),
                text: d.text,
            })
            .collect());
    }
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
                if docclass::corpus::Format::detect(path)
                    .is_some_and(|f| f != docclass::corpus::Format::FastText)
                    || docclass::corpus::is_gzip(path)
                {
                    eprintln!(
                        "warning: --file {} sends the whole file as one document; to classify each document in it, use --each",
                        path.display()
                    );
                }
                Ok(Input {
                    id,
                    text,
                    ..Input::default()
                })
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
    Ok(vec![Input {
        id,
        text,
        ..Input::default()
    }])
}

fn classify_request(args: &ClassifyArgs, input: Input) -> pb::ClassifyRequest {
    pb::ClassifyRequest {
        text: input.text,
        title: args.title.clone().unwrap_or(input.title),
        id: input.id,
        top_k: args.top_k,
        explain: args.explain || args.explain_terms.is_some(),
        language: args.language.clone().or(input.language).unwrap_or_default(),
        topics: args.topics.clone(),
        explain_terms: args.explain_terms.unwrap_or(0),
    }
}

pub async fn classify(
    conn: &Connection,
    args: &ClassifyArgs,
    documents: Vec<Input>,
) -> Result<ExitCode> {
    let mut client = conn.classifier();
    if args.each.is_some() {
        return classify_each(conn, args, documents).await;
    }
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

/// Requests a stream keeps in flight: enough to keep the server's workers
/// busy, few enough that a slow answer slows the sender.
const STREAM_WINDOW: usize = 64;

/// `--each`: every document through one ClassifyStream, sent as the server
/// takes them; one JSON line per outcome as it arrives (the server answers
/// a stream in order). Exit 1 when some document failed.
async fn classify_each(
    conn: &Connection,
    args: &ClassifyArgs,
    documents: Vec<Input>,
) -> Result<ExitCode> {
    let total = documents.len();
    let requests: Vec<pb::ClassifyRequest> = documents
        .into_iter()
        .map(|d| classify_request(args, d))
        .collect();
    let (sender, receiver) = tokio::sync::mpsc::channel(STREAM_WINDOW);
    let feeder = tokio::spawn(async move {
        for request in requests {
            if sender.send(request).await.is_err() {
                break;
            }
        }
    });
    // A stream of many documents has no overall deadline: each answer
    // comes as its document is classified.
    let mut outcomes = conn
        .classifier()
        .classify_stream(
            conn.untimed_request(tokio_stream::wrappers::ReceiverStream::new(receiver)),
        )
        .await
        .map_err(|s| conn.status_error(s))?
        .into_inner();
    let mut failed = 0usize;
    let mut received = 0usize;
    let mut out = String::new();
    loop {
        let outcome = match outcomes.message().await {
            Ok(Some(outcome)) => outcome,
            Ok(None) => break,
            Err(status) => {
                // What arrived before the stream broke is printed, not lost.
                cli::emit(&out)?;
                return Err(conn.status_error(status).context(format!(
                    "the stream ended after {received} of {total} documents"
                )));
            }
        };
        received += 1;
        let line = match &outcome.outcome {
            // The same line as docclass-predict writes.
            Some(pb::classify_outcome::Outcome::Result(r)) => {
                serde_json::to_string(&PredictionLine {
                    index: outcome.index,
                    id: &outcome.id,
                    labels: r.labels.iter().map(String::as_str).collect(),
                    language: &r.language,
                    probabilities: r
                        .topics
                        .iter()
                        .map(|t| (t.topic.as_str(), t.probability))
                        .collect(),
                    model_version: &r.model_version,
                })?
            }
            Some(pb::classify_outcome::Outcome::Error(e)) => {
                failed += 1;
                serde_json::to_string(&json!({
                    "index": outcome.index,
                    "id": outcome.id,
                    "error": { "code": e.code, "message": e.message, "field": e.field },
                }))?
            }
            None => {
                failed += 1;
                serde_json::to_string(
                    &json!({ "index": outcome.index, "id": outcome.id, "error": { "message": "the server sent no outcome" } }),
                )?
            }
        };
        out.push_str(&line);
        out.push('\n');
        if out.len() > 1 << 16 {
            cli::emit(&std::mem::take(&mut out))?;
        }
    }
    cli::emit(&out)?;
    let _ = feeder.await;
    if received < total {
        bail!("the stream ended after {received} of {total} documents");
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
    out.push_str(&table(&rows, &[Left, Left, Left, Left, Right]));

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
        out.push_str(&table(&rows, &[Left, Left, Right]));
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
