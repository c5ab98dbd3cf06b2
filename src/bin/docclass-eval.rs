//! `docclass-eval`: scores a trained model on labelled data.
mod common;

use anyhow::{bail, Context, Result};
use clap::Parser;
use common::InputArgs;
use docclass::eval;
use docclass::model::Model;
use std::path::PathBuf;
use std::process::ExitCode;

/// Evaluate a docclass model on labelled documents.
#[derive(Debug, Parser)]
#[command(name = "docclass-eval", version, about)]
struct Cli {
    /// The model file.
    #[arg(long, short = 'm', value_name = "MODEL")]
    model: PathBuf,
    #[command(flatten)]
    input: InputArgs,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    json: bool,
    /// Drop labels the model does not know (counted), instead of failing.
    #[arg(long)]
    ignore_unknown: bool,
}

fn run(cli: Cli) -> Result<()> {
    let model = Model::load(&cli.model)
        .with_context(|| format!("cannot load model {}", cli.model.display()))?;
    let corpus = cli.input.read()?;
    let topic_ids: Vec<String> = model.topics().iter().map(|t| t.id.clone()).collect();
    let mut gold = Vec::with_capacity(corpus.documents.len());
    let mut unknown = 0usize;
    for d in &corpus.documents {
        let mut set = Vec::new();
        for l in &d.labels {
            match model.topic_index(l) {
                Some(i) => set.push(i),
                None if cli.ignore_unknown => unknown += 1,
                None => bail!(
                    "document {:?} has label {l:?}, which the model does not know (it knows {}); use --ignore-unknown to drop such labels",
                    d.id,
                    topic_ids.join(", ")
                ),
            }
        }
        gold.push(set);
    }
    let started = std::time::Instant::now();
    let predicted: Vec<Vec<usize>> = corpus
        .documents
        .iter()
        .map(|d| model.classify(&d.full_text(), d.lang).decided)
        .collect();
    let seconds = started.elapsed().as_secs_f64();
    let report = eval::evaluate(&gold, &predicted, &topic_ids);
    if cli.json {
        let mut value = serde_json::to_value(&report)?;
        if let Some(obj) = value.as_object_mut() {
            obj.insert("model_version".into(), model.version().into());
            obj.insert("unknown_labels_ignored".into(), unknown.into());
            obj.insert("skipped_records".into(), corpus.skipped.len().into());
        }
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    println!(
        "model {} ({}), {} documents, {:.0} docs/s",
        cli.model.display(),
        model.version(),
        report.documents,
        report.documents as f64 / seconds.max(1e-9)
    );
    if unknown > 0 {
        println!("{unknown} labels unknown to the model were ignored");
    }
    println!(
        "{:<30} {:>9} {:>9} {:>9} {:>8}",
        "topic", "precision", "recall", "f1", "support"
    );
    for m in &report.per_topic {
        println!(
            "{:<30} {:>9.4} {:>9.4} {:>9.4} {:>8}",
            m.topic, m.precision, m.recall, m.f1, m.support
        );
    }
    println!();
    println!("accuracy (exact set) {:.4}", report.accuracy);
    println!(
        "macro    P {:.4}  R {:.4}  F1 {:.4}",
        report.macro_precision, report.macro_recall, report.macro_f1
    );
    println!(
        "micro    P {:.4}  R {:.4}  F1 {:.4}",
        report.micro_precision, report.micro_recall, report.micro_f1
    );
    println!("hamming loss {:.5}", report.hamming_loss);
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => common::report(&e),
    }
}
