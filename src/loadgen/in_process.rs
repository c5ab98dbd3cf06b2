//! In-process measurements on the calling thread, no gRPC: analysis alone
//! (`FeatureSpace::vectorize`, the text-to-vector half of serving) against
//! full classification (`Model::classify`), and model load time. Each figure
//! is the median of several timed runs; analysis and classification runs
//! alternate so that machine noise hits both alike and their ratio holds.
use super::{median, LoadgenError, Result};
use crate::model::Model;
use serde::Serialize;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

/// How many timed runs, and how long each lasts at least.
#[derive(Debug, Clone, Copy)]
pub struct InProcessOptions {
    pub runs: usize,
    /// A run repeats passes over the documents until this much time has passed.
    pub min_run: Duration,
}

impl InProcessOptions {
    fn validate(&self) -> Result<()> {
        if self.runs == 0 || self.runs > 1000 {
            return Err(LoadgenError::BadOption(format!(
                "runs must be 1..=1000, got {}",
                self.runs
            )));
        }
        Ok(())
    }
}

/// Analysis and classification throughput on one thread.
#[derive(Debug, Clone, Serialize)]
pub struct InProcessReport {
    pub documents: usize,
    pub mean_document_bytes: f64,
    pub runs: usize,
    /// Median documents per second of analysis alone.
    pub analysis_docs_per_sec: f64,
    /// Median documents per second of `Model::classify`.
    pub classify_docs_per_sec: f64,
    /// `classify_docs_per_sec / analysis_docs_per_sec`.
    pub classify_vs_analysis: f64,
    pub analysis_runs: Vec<f64>,
    pub classify_runs: Vec<f64>,
    pub model_version: String,
    pub features: usize,
}

/// Documents per second of `work` over `texts`, repeated for at least `min_run`.
fn timed(texts: &[String], min_run: Duration, mut work: impl FnMut(&str)) -> f64 {
    let started = Instant::now();
    let mut done = 0u64;
    loop {
        for text in texts {
            work(text);
        }
        done += texts.len() as u64;
        let elapsed = started.elapsed();
        if elapsed >= min_run {
            return done as f64 / elapsed.as_secs_f64();
        }
    }
}

/// Measures analysis alone and classification of `texts` with `model`.
pub fn measure(
    model: &Model,
    texts: &[String],
    options: InProcessOptions,
) -> Result<InProcessReport> {
    options.validate()?;
    if texts.is_empty() {
        return Err(LoadgenError::NoDocuments("the document list".into()));
    }
    let mut scratch = Vec::new();
    let mut analysis_runs = Vec::with_capacity(options.runs);
    let mut classify_runs = Vec::with_capacity(options.runs);
    for _ in 0..options.runs {
        analysis_runs.push(timed(texts, options.min_run, |t| {
            black_box(model.features().vectorize(
                model.analyzer(),
                black_box(t),
                None,
                &mut scratch,
            ));
        }));
        classify_runs.push(timed(texts, options.min_run, |t| {
            black_box(model.classify(black_box(t), None));
        }));
    }
    let analysis = median(&analysis_runs);
    let classify = median(&classify_runs);
    Ok(InProcessReport {
        documents: texts.len(),
        mean_document_bytes: texts.iter().map(String::len).sum::<usize>() as f64
            / texts.len() as f64,
        runs: options.runs,
        analysis_docs_per_sec: analysis,
        classify_docs_per_sec: classify,
        classify_vs_analysis: if analysis > 0.0 {
            classify / analysis
        } else {
            0.0
        },
        analysis_runs,
        classify_runs,
        model_version: model.version().to_string(),
        features: model.features().n_features(),
    })
}

/// How long loading a model file takes.
#[derive(Debug, Clone, Serialize)]
pub struct LoadModelReport {
    pub path: String,
    pub file_bytes: u64,
    pub features: usize,
    pub model_version: String,
    pub runs: usize,
    /// Median load time in milliseconds.
    pub load_ms: f64,
    pub load_runs_ms: Vec<f64>,
}

/// Loads `path` `runs` times and reports the median time.
pub fn measure_load(path: &Path, runs: usize) -> Result<LoadModelReport> {
    InProcessOptions {
        runs,
        min_run: Duration::ZERO,
    }
    .validate()?;
    let file_bytes = std::fs::metadata(path)
        .map_err(|source| LoadgenError::ReadInput {
            path: path.to_path_buf(),
            source,
        })?
        .len();
    let mut load_runs_ms = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let started = Instant::now();
        let model = Model::load(path)?;
        load_runs_ms.push(started.elapsed().as_secs_f64() * 1e3);
        // Dropped outside the timing: freeing is not loading.
        last = Some(model);
    }
    let (features, model_version) = last
        .map(|m| (m.features().n_features(), m.version().to_string()))
        .unwrap_or_default();
    Ok(LoadModelReport {
        path: path.display().to_string(),
        file_bytes,
        features,
        model_version,
        runs,
        load_ms: median(&load_runs_ms),
        load_runs_ms,
    })
}
