//! `docclass-eval`: scores trained models on labelled data, compares models,
//! or cross-validates the training options of `docclass-train`.
mod plot;
mod render;

// Fits allocate and free large tables over and over; mimalloc keeps their
// pages for the next fit (see docs/ARCHITECTURE.md, "Crates and why").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::{bail, Context, Result};
use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser};
use docclass::cli::{self, InputArgs, TrainArgs};
use docclass::corpus::{Corpus, Document};
use docclass::eval::{self, EvalReport, Hashes, ModelHashSource, Scored};
use docclass::model::Model;
use docclass::parallel::{self, Threads};
use docclass::train::{corpus_hash, topic_indices, Progress, TrainOptions};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Evaluate docclass models on labelled documents, compare models, or
/// cross-validate training options.
///
/// `--model M` scores a trained model; `--model A --model B` scores both on
/// the same data side by side; `--cv K` trains and scores K times, with the
/// training flags of docclass-train.
#[derive(Debug, Parser)]
#[command(name = "docclass-eval", version)]
struct Cli {
    /// The model file. Repeat to compare models on the same data (differences against the first).
    #[arg(
        long,
        short = 'm',
        value_name = "MODEL",
        required_unless_present = "cv",
        conflicts_with = "cv"
    )]
    model: Vec<PathBuf>,
    /// K-fold cross-validation instead of a model: train with the training flags on K−1 folds (thresholds tuned by their own inner --folds validation), score the held-out fold. Folds are stratified and seeded by --seed.
    #[arg(long, value_name = "K")]
    cv: Option<usize>,
    #[command(flatten)]
    input: InputArgs,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    json: bool,
    /// Drop gold labels the model (or, with --cv, the topics file) does not know, and count them, instead of failing.
    #[arg(long)]
    ignore_unknown: bool,
    /// Write SVG plots to this directory: the confusion matrix (or per-topic errors for multi-label data), per-topic precision-recall curves, and the reliability diagram of the probabilities.
    #[arg(long, value_name = "DIR")]
    plot: Option<PathBuf>,
    /// Write every document's gold and decided topics here, one JSON object per line (`id`, `gold`, `predicted`, most probable first, and `probabilities` by topic), for error analysis. With several models, the first one's; with --cv, the out-of-fold ones.
    #[arg(long, value_name = "FILE")]
    predictions: Option<PathBuf>,
    /// Write the misclassified documents here, worst first, readable: id, gold and decided topics, how far the probabilities were from the gold set (the sum over topics of |gold − probability|), and the start of the text. With several models, the first one's; with --cv, the out-of-fold ones.
    #[arg(long, value_name = "FILE")]
    errors: Option<PathBuf>,
    #[command(flatten, next_help_heading = "Training (with --cv; as docclass-train)")]
    training: TrainArgs,
}

/// One model scored on the data.
struct Scoring {
    path: PathBuf,
    version: String,
    report: EvalReport,
    unknown: usize,
    seconds: f64,
    topics: Vec<String>,
    scored: Scored,
}

/// Maps gold labels to the topic indices of `topics`; unknown labels fail
/// (naming the label and the known topics) or are dropped and counted.
fn gold_sets(
    corpus: &Corpus,
    topics: &[String],
    ignore_unknown: bool,
    knower: &str,
) -> Result<(Vec<Vec<usize>>, usize)> {
    let mut gold = Vec::with_capacity(corpus.documents.len());
    let mut unknown = 0usize;
    for d in &corpus.documents {
        let set = topic_indices(&d.labels, topics, |l| {
            if !ignore_unknown {
                bail!(
                    "document {:?} has label {l:?}, which {knower} does not know (it knows {}); use --ignore-unknown to drop such labels",
                    d.id,
                    topics.join(", ")
                );
            }
            unknown += 1;
            Ok(())
        })?;
        gold.push(set);
    }
    Ok((gold, unknown))
}

fn score_model(
    path: &Path,
    corpus: &Corpus,
    ignore_unknown: bool,
    threads: Threads,
) -> Result<Scoring> {
    let model =
        Model::load(path).with_context(|| format!("cannot load model {}", path.display()))?;
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let topics: Vec<String> = model.topics().iter().map(|t| t.id.clone()).collect();
    let (gold, unknown) = gold_sets(corpus, &topics, ignore_unknown, "the model")?;
    let started = Instant::now();
    let mut scored = Scored::default();
    // Blocks of documents on every thread; results in document order.
    let blocks: Vec<&[Document]> = corpus.documents.chunks(256).collect();
    let classified = parallel::map_in_order(&blocks, threads, |block| {
        block
            .iter()
            .map(|d| model.classify(&d.full_text(), d.lang))
            .collect::<Vec<_>>()
    });
    for (c, g) in classified.into_iter().flatten().zip(gold) {
        scored.push(g, c.decided, c.probabilities);
    }
    let seconds = started.elapsed().as_secs_f64();
    let hashes = Hashes {
        model_sha256: eval::sha256_hex(&bytes),
        model_sha256_of: ModelHashSource::ModelFile,
        data_sha256: corpus_hash(&corpus.documents),
    };
    Ok(Scoring {
        path: path.to_path_buf(),
        version: model.version().to_string(),
        report: EvalReport::new(&scored, &topics, hashes),
        unknown,
        seconds,
        topics,
        scored,
    })
}

/// One JSON line per document: its gold and decided topics by id.
fn write_predictions(
    path: &Path,
    corpus: &Corpus,
    topics: &[String],
    scored: &Scored,
) -> Result<()> {
    let ids = |set: &[usize]| -> Vec<&str> { set.iter().map(|&c| topics[c].as_str()).collect() };
    let mut out = String::new();
    for (i, d) in corpus.documents.iter().enumerate() {
        let probabilities: serde_json::Map<String, Value> = topics
            .iter()
            .zip(&scored.probabilities[i])
            .map(|(t, &p)| (t.clone(), json!(p)))
            .collect();
        let line = json!({
            "id": d.id,
            "gold": ids(&scored.gold[i]),
            "predicted": ids(&scored.predicted[i]),
            "probabilities": probabilities,
        });
        out.push_str(&serde_json::to_string(&line)?);
        out.push('\n');
    }
    std::fs::write(path, out).with_context(|| format!("cannot write {}", path.display()))
}

/// Characters of text shown per misclassified document.
const ERROR_SNIPPET_CHARS: usize = 240;

/// The misclassified documents (decided set ≠ gold set), worst first: by
/// the sum over topics of |gold − probability|, then input order.
fn write_errors(path: &Path, corpus: &Corpus, topics: &[String], scored: &Scored) -> Result<()> {
    let ids = |set: &[usize]| -> String {
        if set.is_empty() {
            return "(none)".to_string();
        }
        set.iter()
            .map(|&c| topics[c].as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let sorted = |set: &[usize]| {
        let mut v = set.to_vec();
        v.sort_unstable();
        v
    };
    let mut wrong: Vec<(f64, usize)> = (0..corpus.documents.len())
        .filter(|&i| sorted(&scored.gold[i]) != sorted(&scored.predicted[i]))
        .map(|i| {
            let distance = scored.probabilities[i]
                .iter()
                .enumerate()
                .map(|(c, &p)| {
                    let gold = if scored.gold[i].contains(&c) {
                        1.0
                    } else {
                        0.0
                    };
                    (gold - p).abs()
                })
                .sum::<f64>();
            (distance, i)
        })
        .collect();
    wrong.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut out = format!(
        "{} of {} documents misclassified, worst first\n\n",
        wrong.len(),
        corpus.documents.len()
    );
    for (distance, i) in wrong {
        let d = &corpus.documents[i];
        let text = d
            .full_text()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let snippet: String = text.chars().take(ERROR_SNIPPET_CHARS).collect();
        let more = if text.chars().count() > ERROR_SNIPPET_CHARS {
            "…"
        } else {
            ""
        };
        out.push_str(&format!(
            "{}\n  gold: {}\n  decided: {}\n  distance: {distance:.3}\n  {snippet}{more}\n\n",
            d.id,
            ids(&scored.gold[i]),
            ids(&scored.predicted[i]),
        ));
    }
    std::fs::write(path, out).with_context(|| format!("cannot write {}", path.display()))
}

/// The report as JSON with the fields every mode adds.
fn report_json(report: &EvalReport, extra: Value) -> Result<Value> {
    let mut value = serde_json::to_value(report)?;
    if let (Some(obj), Value::Object(extra)) = (value.as_object_mut(), extra) {
        obj.extend(extra);
    }
    Ok(value)
}

fn print_json(value: &Value) -> Result<()> {
    cli::emit(&(serde_json::to_string_pretty(value)? + "\n"))
}

fn write_plots(dir: &Path, report: &EvalReport, title: &str) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for path in plot::write_all(dir, report, title)? {
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

fn run_models(cli: &Cli) -> Result<()> {
    let corpus = cli.input.read()?;
    let scorings = cli
        .model
        .iter()
        .map(|p| score_model(p, &corpus, cli.ignore_unknown, cli.training.threads()))
        .collect::<Result<Vec<_>>>()?;
    if let (Some(path), Some(first)) = (&cli.predictions, scorings.first()) {
        write_predictions(path, &corpus, &first.topics, &first.scored)?;
    }
    if let (Some(path), Some(first)) = (&cli.errors, scorings.first()) {
        write_errors(path, &corpus, &first.topics, &first.scored)?;
    }
    if let Some(dir) = &cli.plot {
        for (i, s) in scorings.iter().enumerate() {
            let sub = if scorings.len() == 1 {
                dir.clone()
            } else {
                dir.join(format!("model-{}", i + 1))
            };
            write_plots(&sub, &s.report, &s.path.display().to_string())?;
        }
    }
    let extra = |s: &Scoring| {
        json!({
            "model": s.path.display().to_string(),
            "model_version": s.version,
            "unknown_labels_ignored": s.unknown,
            "skipped_records": corpus.skipped.len(),
        })
    };
    if let [s] = scorings.as_slice() {
        if cli.json {
            return print_json(&report_json(&s.report, extra(s))?);
        }
        let mut out = format!(
            "model {} ({}), {} documents, {:.0} docs/s\n",
            s.path.display(),
            s.version,
            s.report.metrics.documents,
            s.report.metrics.documents as f64 / s.seconds.max(1e-9)
        );
        if s.unknown > 0 {
            out += &format!("{} labels unknown to the model were ignored\n", s.unknown);
        }
        render::report(&mut out, &s.report)?;
        return cli::emit(&out);
    }
    let base = &scorings[0].report.metrics;
    let differences: Vec<eval::Difference> = scorings[1..]
        .iter()
        .map(|s| eval::difference(base, &s.report.metrics))
        .collect();
    if cli.json {
        let models = scorings
            .iter()
            .map(|s| report_json(&s.report, extra(s)))
            .collect::<Result<Vec<_>>>()?;
        let difference = match differences.as_slice() {
            [one] => serde_json::to_value(one)?,
            many => serde_json::to_value(many)?,
        };
        return print_json(&json!({ "models": models, "difference": difference }));
    }
    let columns: Vec<render::ModelColumn> = scorings
        .iter()
        .map(|s| render::ModelColumn {
            path: s.path.display().to_string(),
            version: s.version.clone(),
            report: &s.report,
            unknown: s.unknown,
        })
        .collect();
    let mut out = String::new();
    render::comparison(&mut out, &columns, &differences)?;
    cli::emit(&out)
}

/// A spinner on stderr naming the fold being trained (hidden when stderr is not a terminal).
struct FoldBar(ProgressBar);

impl Progress for FoldBar {
    fn stage(&self, name: &str) {
        self.0
            .set_message(format!("cross-validation: training {name}"));
    }
}

fn run_cv(cli: &Cli, k: usize) -> Result<()> {
    let mut corpus = cli.input.read()?;
    cli.training.check_labels(&corpus.documents)?;
    let mut options: TrainOptions = cli.training.options()?;
    cli.training.derive_topics(&mut options, &corpus)?;
    let mut unknown = 0usize;
    let mut dropped = 0usize;
    if !options.topics.is_empty() {
        let topics: Vec<String> = options.topics.iter().map(|t| t.id.clone()).collect();
        let (gold, n) = gold_sets(&corpus, &topics, cli.ignore_unknown, "the topics file")?;
        unknown = n;
        if unknown > 0 {
            let before = corpus.documents.len();
            let mut kept = Vec::with_capacity(before);
            for (mut d, g) in std::mem::take(&mut corpus.documents).into_iter().zip(gold) {
                d.labels = g.iter().map(|&i| topics[i].clone()).collect();
                if !d.labels.is_empty() {
                    kept.push(d);
                }
            }
            corpus.documents = kept;
            dropped = before - corpus.documents.len();
        }
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    let started = Instant::now();
    let unlabelled = cli
        .training
        .unlabelled_documents(&cli.input, &corpus.documents)?;
    let cv = docclass::train::cv::cross_validate_with(
        &corpus.documents,
        &unlabelled,
        &options,
        k,
        options.seed,
        &FoldBar(bar.clone()),
    );
    bar.finish_and_clear();
    let cv = cv?;
    let seconds = started.elapsed().as_secs_f64();
    let options_json = serde_json::to_string(&options)?;
    let hashes = Hashes {
        model_sha256: eval::sha256_hex(options_json.as_bytes()),
        model_sha256_of: ModelHashSource::TrainOptions,
        data_sha256: corpus_hash(&corpus.documents),
    };
    let report = EvalReport::new(&cv.scored, &cv.topics, hashes);
    if let Some(path) = &cli.predictions {
        write_predictions(path, &corpus, &cv.topics, &cv.scored)?;
    }
    if let Some(path) = &cli.errors {
        write_errors(path, &corpus, &cv.topics, &cv.scored)?;
    }
    if let Some(dir) = &cli.plot {
        write_plots(dir, &report, &format!("{k}-fold cross-validation"))?;
    }
    let summary = cv.summary();
    if cli.json {
        let extra = json!({
            "cv": summary,
            "train_options": serde_json::from_str::<Value>(&options_json)?,
            "unknown_labels_ignored": unknown,
            "documents_without_known_label": dropped,
            "skipped_records": corpus.skipped.len(),
        });
        return print_json(&report_json(&report, extra)?);
    }
    let mut out = String::new();
    render::cv_header(&mut out, &summary, report.metrics.documents, seconds)?;
    if unknown > 0 {
        out += &format!(
            "{unknown} labels unknown to the topics file were ignored; {dropped} documents left without a label were dropped\n"
        );
    }
    out += "out of fold, every document scored once by the model that did not see it:\n\n";
    render::report(&mut out, &report)?;
    cli::emit(&out)
}

/// Training flags given on the command line, for refusing them without --cv.
fn training_flags_given(matches: &ArgMatches) -> Vec<String> {
    TrainArgs::augment_args(clap::Command::new("training"))
        .get_arguments()
        .filter(|a| matches.value_source(a.get_id().as_str()) == Some(ValueSource::CommandLine))
        .map(|a| format!("--{}", a.get_long().unwrap_or(a.get_id().as_str())))
        .collect()
}

fn run(cli: Cli, training_flags: Vec<String>) -> Result<()> {
    match cli.cv {
        Some(k) => run_cv(&cli, k),
        None => {
            if !training_flags.is_empty() {
                bail!(
                    "{} only applies with --cv (a trained model already has its training options)",
                    training_flags.join(", ")
                );
            }
            run_models(&cli)
        }
    }
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    match run(cli, training_flags_given(&matches)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => cli::report(&e),
    }
}
