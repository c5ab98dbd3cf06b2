//! `docclass-train`: fits a Naive Bayes topic model on labelled corpora and
//! writes the model file atomically.

// Fits allocate and free large tables over and over; mimalloc keeps their
// pages for the next fit (see docs/ARCHITECTURE.md, "Crates and why").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::{bail, Context, Result};
use clap::Parser;
use docclass::cli::table::{fixed_line, Align::Left, Align::Right};
use docclass::cli::{self, InputArgs, TrainArgs};
use docclass::corpus::{Corpus, ReadOptions};
use docclass::model::rfc3339_utc;
use docclass::train::tune::{weighting_name, TuningReport};
use docclass::train::{self, Progress, TrainOptions};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// Train a docclass topic model.
#[derive(Debug, Parser)]
#[command(name = "docclass-train", version)]
struct Cli {
    #[command(flatten)]
    input: InputArgs,
    /// Where to write the model (written to a temporary file, then renamed).
    #[arg(long, short = 'o', value_name = "MODEL")]
    output: PathBuf,
    /// Write a JSON summary (model card) here.
    #[arg(long, value_name = "FILE")]
    card: Option<PathBuf>,
    #[command(flatten)]
    training: TrainArgs,
    /// Creation time stored in the model (RFC 3339). Default: $SOURCE_DATE_EPOCH, else now.
    /// Fix it to get byte-identical models from identical inputs.
    #[arg(long)]
    created_at: Option<String>,
    /// No progress bar or summary.
    #[arg(long, short = 'q')]
    quiet: bool,
    /// Score the finished model on a labelled JSONL set it never learns from
    /// and record the scores in the model under NAME (shown by GetModelInfo
    /// and the card). Repeatable. The set takes no part in training, tuning
    /// or thresholds, and must share no document id or text with the
    /// training data.
    #[arg(long, value_name = "NAME=PATH", value_parser = parse_named_path)]
    evaluate: Vec<(String, PathBuf)>,
}

fn parse_named_path(raw: &str) -> std::result::Result<(String, PathBuf), String> {
    match raw.split_once('=') {
        Some((name, path)) if !name.trim().is_empty() && !path.is_empty() => {
            Ok((name.trim().to_string(), PathBuf::from(path)))
        }
        _ => Err(format!(
            "expected NAME=PATH (e.g. \"real-news test (fr)=training-data/real/test/fr.jsonl\"), got {raw:?}"
        )),
    }
}

impl Cli {
    fn options(&self) -> Result<TrainOptions> {
        let mut options = self.training.options()?;
        options.created_at = self.created_at()?;
        Ok(options)
    }

    fn created_at(&self) -> Result<String> {
        if let Some(t) = &self.created_at {
            return Ok(t.clone());
        }
        let secs = match std::env::var("SOURCE_DATE_EPOCH") {
            Ok(v) => v
                .trim()
                .parse::<u64>()
                .context("SOURCE_DATE_EPOCH is not a number of seconds")?,
            Err(_) => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        };
        Ok(rfc3339_utc(secs))
    }
}

struct Bar(ProgressBar);

impl Progress for Bar {
    fn analysed(&self, n: usize) {
        if n.is_multiple_of(64) {
            self.0.set_position(n as u64);
        }
    }
    fn stage(&self, name: &str) {
        self.0.set_message(name.to_string());
    }
}

fn run(cli: Cli) -> Result<()> {
    let started = Instant::now();
    let mut options = cli.options()?;
    // Fail before a long training run, not after it.
    for (flag, path) in [
        ("--output", Some(&cli.output)),
        ("--card", cli.card.as_ref()),
    ] {
        let Some(path) = path else { continue };
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => std::path::Path::new("."),
        };
        if !dir.is_dir() {
            bail!(
                "{flag} {}: directory {} does not exist",
                path.display(),
                dir.display()
            );
        }
        if path.is_dir() {
            bail!("{flag} {} is a directory", path.display());
        }
    }
    let corpus = cli.input.read()?;
    cli.training.check_labels(&corpus.documents)?;
    cli.training.derive_topics(&mut options, &corpus)?;
    let unlabelled = cli
        .training
        .unlabelled_documents(&cli.input, &corpus.documents)?;
    // Read and checked before training, so a bad set fails at once.
    let mut evaluation_sets = Vec::with_capacity(cli.evaluate.len());
    for (name, path) in &cli.evaluate {
        let context = || format!("--evaluate {name}={}", path.display());
        let set = Corpus::read_all(std::slice::from_ref(path), &ReadOptions::default())
            .with_context(context)?;
        train::check_evaluation_set(name, &corpus.documents, &options, &set.documents)
            .with_context(context)?;
        if let Some(id) = train::first_shared_document(&unlabelled, &set.documents) {
            bail!(
                "{}: document {id:?} is also in the --unlabeled documents; an evaluation set must be disjoint from everything the model learns from",
                context()
            );
        }
        evaluation_sets.push((name, set.documents));
    }
    let bar = if cli.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(corpus.documents.len() as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg:>10} [{bar:30}] {pos}/{len} docs ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message("analysing");
    bar.set_length((corpus.documents.len() + unlabelled.len()) as u64);
    let (mut model, summary) =
        train::train_with_unlabelled(&corpus.documents, &unlabelled, &options, &Bar(bar.clone()))?;
    for (name, documents) in &evaluation_sets {
        bar.set_message(format!("scoring {name}"));
        let evaluation = train::evaluate_named(&model, name, documents)?;
        model.add_evaluation(evaluation);
    }
    bar.finish_and_clear();
    model.save_with(&cli.output, options.threads)?;
    if let Some(card) = &cli.card {
        let json = serde_json::json!({
            "model_version": model.version(),
            "created_at": model.data().provenance.created_at,
            "corpus_sha256": model.data().provenance.corpus_sha256,
            "options": options,
            "summary": summary,
            "evaluations": model.data().provenance.evaluations,
        });
        std::fs::write(card, serde_json::to_string_pretty(&json)? + "\n")
            .with_context(|| format!("cannot write {}", card.display()))?;
    }
    if !cli.quiet {
        let bytes: usize = corpus.documents.iter().map(|d| d.text.len()).sum();
        println!(
            "trained {} on {} documents ({:.1} MB), {} skipped, in {:.2}s",
            cli.output.display(),
            summary.documents,
            bytes as f64 / 1e6,
            corpus.skipped.len(),
            started.elapsed().as_secs_f64()
        );
        println!(
            "model version {}, {} features ({} distinct terms seen)",
            model.version(),
            summary.features,
            summary.distinct_terms
        );
        let columns = [(Left, 30), (Right, 8), (Right, 8), (Right, 10)];
        let header = ["topic", "docs", "held F1", "threshold"].map(String::from);
        println!("{}", fixed_line(&columns, &header));
        for (i, topic) in summary.topics.iter().enumerate() {
            let f1 = summary
                .held_out
                .as_ref()
                .map_or("-".to_string(), |r| format!("{:.3}", r.per_topic[i].f1));
            let th = summary
                .thresholds
                .as_ref()
                .map_or("-".to_string(), |t| format!("{:.2}", t[i]));
            let docs = summary.topic_documents[i].to_string();
            println!("{}", fixed_line(&columns, &[topic.clone(), docs, f1, th]));
        }
        match &summary.held_out {
            Some(r) => println!(
                "held-out ({} docs): accuracy {:.4}, macro-F1 {:.4}, micro-F1 {:.4}",
                r.documents, r.accuracy, r.macro_f1, r.micro_f1
            ),
            None => println!("no validation (--no-validation)"),
        }
        for e in &model.data().provenance.evaluations {
            println!(
                "{} ({} docs, not trained on): accuracy {:.4}, macro-F1 {:.4}, micro-F1 {:.4}",
                e.name,
                e.metrics.documents,
                e.metrics.accuracy,
                e.metrics.macro_f1,
                e.metrics.micro_f1
            );
        }
        if let Some(t) = &summary.tuning {
            print_tuning(t);
        }
        if summary.held_out_by_language.len() > 1 {
            for (lang, r) in &summary.held_out_by_language {
                println!(
                    "  [{lang}] ({} docs): accuracy {:.4}, macro-F1 {:.4}, micro-F1 {:.4}",
                    r.documents, r.accuracy, r.macro_f1, r.micro_f1
                );
            }
        }
    }
    Ok(())
}

/// The tuning table: every candidate's inner-CV scores, the chosen one starred.
fn print_tuning(t: &TuningReport) {
    println!(
        "tuned by {}-fold CV on the training documents (seed {}), by {}; chosen: *",
        t.folds,
        t.seed,
        t.metric.name()
    );
    // The first column stars the chosen candidate.
    let columns = [
        (Left, 1),
        (Left, 12),
        (Right, 8),
        (Right, 6),
        (Left, 11),
        (Right, 8),
        (Right, 8),
        (Right, 8),
    ];
    let header = [
        "",
        "nb",
        "alpha",
        "min_df",
        "weighting",
        "accuracy",
        "macro-F1",
        "micro-F1",
    ]
    .map(String::from);
    println!("{}", fixed_line(&columns, &header));
    for (i, s) in t.candidates.iter().enumerate() {
        let c = &s.candidate;
        let cells = [
            if i == t.chosen { "*" } else { " " }.to_string(),
            c.nb.name().to_string(),
            c.alpha.to_string(),
            c.min_df.map_or("-".to_string(), |m| m.to_string()),
            weighting_name(c.weighting),
            format!("{:.4}", s.accuracy),
            format!("{:.4}", s.macro_f1),
            format!("{:.4}", s.micro_f1),
        ];
        println!("{}", fixed_line(&columns, &cells));
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => cli::report(&e),
    }
}
