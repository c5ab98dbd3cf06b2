//! Training-speed benchmark on the 20 Newsgroups train split.
//!
//! `cargo bench --bench training [-- PATH]` — reads the corpus (not timed),
//! then times analysis alone and analysis + fit (no validation), 5 runs each,
//! and prints the median MB/s of raw text on one thread. Skips when the
//! dataset is absent.
#[path = "../examples/common/mod.rs"]
mod common;

use docclass::features::AnalyzedCorpus;
use docclass::text::{Analyzer, FilterConfig};
use docclass::train::{self, Silent, TrainOptions, Validation};
use std::path::PathBuf;
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let path = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .map(PathBuf::from)
        .unwrap_or_else(common::path_20ng_train);
    if !path.exists() {
        println!("skipped: {} not found", path.display());
        return;
    }
    let docs = common::read_or_exit(&path);
    let bytes: usize = docs.iter().map(|d| d.full_text().len()).sum();
    let mb = bytes as f64 / 1e6;
    let texts: Vec<String> = docs.iter().map(|d| d.full_text().into_owned()).collect();
    println!(
        "corpus: {} ({} docs, {mb:.1} MB)",
        path.display(),
        docs.len()
    );
    let default = TrainOptions {
        validation: Validation::None,
        ..TrainOptions::default()
    };
    let mut no_stem = default.clone();
    no_stem
        .analyzer
        .filters
        .retain(|f| *f != FilterConfig::Stem);
    for (name, options) in [
        ("default analyzer (stemming)", default),
        ("without stemming", no_stem),
    ] {
        let mut analyse = Vec::new();
        let mut full = Vec::new();
        for _ in 0..5 {
            let analyzer =
                Analyzer::new(options.analyzer.clone()).expect("default analyzer is valid");
            let t = Instant::now();
            let mut c = AnalyzedCorpus::new(2);
            // As `train::train` does.
            c.reserve_for_text(bytes);
            for text in &texts {
                c.push(&analyzer, text, None);
            }
            analyse.push(t.elapsed().as_secs_f64());
            let t = Instant::now();
            let trained = train::train(&docs, &options, &Silent).expect("training succeeds");
            full.push(t.elapsed().as_secs_f64());
            drop(trained);
        }
        let (analyse, full) = (median(analyse), median(full));
        println!("{name}:");
        println!(
            "  analysis only : median {analyse:.3}s = {:.1} MB/s",
            mb / analyse
        );
        println!(
            "  analysis + fit: median {full:.3}s = {:.1} MB/s",
            mb / full
        );
    }
}
