//! Profiling driver (not a benchmark): times each stage of a training run
//! on the 20 Newsgroups train split with the default options and no
//! validation — analysis, vocabulary fit, vectors, NB fit, model assembly,
//! encoding — so a change can be traced to the stage it speeds up.
//! `cargo run --release --example train_stages -- [RUNS] [--no-stem]`
mod common;

use docclass::features::{AnalyzedCorpus, FeatureSpace};
use docclass::model::{Model, Provenance};
use docclass::nb::Decision;
use docclass::text::{Analyzer, FilterConfig};
use docclass::train::{self, TrainOptions};
use linfa::dataset::DatasetBase;
use linfa::traits::Fit;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runs: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(5);
    let docs = common::read_20ng_train();
    let texts: Vec<String> = docs.iter().map(|d| d.full_text().into_owned()).collect();
    let mb = texts.iter().map(String::len).sum::<usize>() as f64 / 1e6;
    let mut options = TrainOptions::default();
    if args.iter().any(|a| a == "--no-stem") {
        options
            .analyzer
            .filters
            .retain(|f| *f != FilterConfig::Stem);
    }
    let mut topics: Vec<String> = docs.iter().flat_map(|d| d.labels.clone()).collect();
    topics.sort_unstable();
    topics.dedup();
    let labels: Vec<Vec<usize>> = docs
        .iter()
        .map(|d| {
            d.labels
                .iter()
                .filter_map(|l| topics.iter().position(|t| t == l))
                .collect()
        })
        .collect();
    let names = [
        "analysis",
        "vocabulary",
        "vectors",
        "nb fit",
        "assemble",
        "encode",
    ];
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    for _ in 0..runs {
        let mut lap = Instant::now();
        let mut stage = |k: usize| {
            times[k].push(lap.elapsed().as_secs_f64() * 1e3);
            lap = Instant::now();
        };
        let Ok(analyzer) = Analyzer::new(options.analyzer.clone()) else {
            return;
        };
        let mut c = AnalyzedCorpus::new(2);
        c.reserve_for_text(texts.iter().map(String::len).sum());
        for (d, text) in docs.iter().zip(&texts) {
            c.push(&analyzer, text, d.lang);
        }
        stage(0);
        let all: Vec<usize> = (0..docs.len()).collect();
        let Ok(fitted) = FeatureSpace::fit(&options.features, &c, &all) else {
            return;
        };
        stage(1);
        let x = fitted.matrix(&c, &all);
        drop(c);
        stage(2);
        let dataset = DatasetBase::new(
            x,
            docclass::nb::LabelSets::new(topics.len(), labels.clone()),
        );
        let Ok(nb) = options.nb.fit(&dataset) else {
            return;
        };
        stage(3);
        let provenance = Provenance {
            created_at: String::new(),
            tool_version: String::new(),
            corpus_sha256: train::corpus_hash(&docs),
            documents: docs.len() as u64,
            topic_documents: nb.data().topic_doc_counts.clone(),
            train_options_json: String::new(),
            held_out: None,
            evaluations: Vec::new(),
            semi_supervised: None,
        };
        let topic_meta = topics
            .iter()
            .map(|t| docclass::model::TopicMeta::from_id(t))
            .collect();
        let Ok(model) = Model::from_parts(
            analyzer,
            fitted.into_space(),
            nb,
            Decision::Argmax,
            topic_meta,
            provenance,
            docclass::model::ProbabilityCalibration::none(),
        ) else {
            return;
        };
        stage(4);
        let bytes = model.to_bytes().map(|b| b.len()).unwrap_or(0);
        stage(5);
        std::hint::black_box(bytes);
    }
    println!("{mb:.1} MB, {runs} runs, median ms:");
    let mut total = 0.0;
    for (name, mut t) in names.iter().zip(times) {
        t.sort_by(f64::total_cmp);
        let m = t[t.len() / 2];
        total += m;
        println!("  {name:<11} {m:8.1}");
    }
    println!("  {:<11} {total:8.1} = {:.1} MB/s", "sum", mb / total * 1e3);
}
