//! In-process measurements, no gRPC: a "touch the text" floor
//! (`split_whitespace` and a sum of token lengths), analysis alone
//! (`FeatureSpace::vectorize`, the text-to-vector half of serving) and full
//! classification (`Model::classify`) on one thread, classification on
//! several threads at once, and model load time. Each figure is the median
//! of several timed runs; the measurements alternate within each round so
//! that machine noise hits them alike and their ratios hold.
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
    /// Threads for the multi-threaded classification figure (1: not measured).
    pub threads: usize,
}

impl InProcessOptions {
    fn validate(&self) -> Result<()> {
        if self.runs == 0 || self.runs > 1000 {
            return Err(LoadgenError::BadOption(format!(
                "runs must be 1..=1000, got {}",
                self.runs
            )));
        }
        if self.threads == 0 || self.threads > 1024 {
            return Err(LoadgenError::BadOption(format!(
                "threads must be 1..=1024, got {}",
                self.threads
            )));
        }
        Ok(())
    }
}

/// Analysis and classification throughput.
#[derive(Debug, Clone, Serialize)]
pub struct InProcessReport {
    pub documents: usize,
    pub mean_document_bytes: f64,
    pub runs: usize,
    /// Median documents per second of the floor: `split_whitespace` and a
    /// sum of token lengths, the least any classifier must do per document.
    pub floor_docs_per_sec: f64,
    /// `classify_docs_per_sec / floor_docs_per_sec`.
    pub classify_vs_floor: f64,
    /// Median documents per second of analysis alone.
    pub analysis_docs_per_sec: f64,
    /// Median documents per second of `Model::classify`.
    pub classify_docs_per_sec: f64,
    /// `classify_docs_per_sec / analysis_docs_per_sec`.
    pub classify_vs_analysis: f64,
    /// Threads of the multi-threaded figure (1: not measured).
    pub threads: usize,
    /// Median documents per second of `Model::classify` on `threads`
    /// threads at once, all together; 0 when `threads` is 1.
    pub classify_threads_docs_per_sec: f64,
    /// `classify_threads_docs_per_sec / classify_docs_per_sec`.
    pub thread_scaling: f64,
    pub floor_runs: Vec<f64>,
    pub analysis_runs: Vec<f64>,
    pub classify_runs: Vec<f64>,
    pub classify_threads_runs: Vec<f64>,
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

/// Documents per second of `Model::classify` over `texts` on `threads`
/// threads at once (each over all of `texts`), summed.
fn timed_threads(model: &Model, texts: &[String], min_run: Duration, threads: usize) -> f64 {
    let start = std::sync::Barrier::new(threads);
    std::thread::scope(|scope| {
        let runs: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    start.wait();
                    timed(texts, min_run, |t| {
                        black_box(model.classify(black_box(t), None));
                    })
                })
            })
            .collect();
        // A thread that panicked contributes nothing; classify does not panic.
        runs.into_iter().map(|r| r.join().unwrap_or(0.0)).sum()
    })
}

fn ratio(numerator: f64, denominator: f64) -> f64 {
    if denominator > 0.0 {
        numerator / denominator
    } else {
        0.0
    }
}

/// Measures the floor, analysis alone and classification of `texts` with
/// `model`, on one thread and on `options.threads`.
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
    let mut floor_runs = Vec::with_capacity(options.runs);
    let mut analysis_runs = Vec::with_capacity(options.runs);
    let mut classify_runs = Vec::with_capacity(options.runs);
    let mut classify_threads_runs = Vec::with_capacity(options.runs);
    for _ in 0..options.runs {
        floor_runs.push(timed(texts, options.min_run, |t| {
            black_box(black_box(t).split_whitespace().map(str::len).sum::<usize>());
        }));
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
        if options.threads > 1 {
            classify_threads_runs.push(timed_threads(
                model,
                texts,
                options.min_run,
                options.threads,
            ));
        }
    }
    let floor = median(&floor_runs);
    let analysis = median(&analysis_runs);
    let classify = median(&classify_runs);
    let classify_threads = match classify_threads_runs.is_empty() {
        true => 0.0,
        false => median(&classify_threads_runs),
    };
    Ok(InProcessReport {
        documents: texts.len(),
        mean_document_bytes: texts.iter().map(String::len).sum::<usize>() as f64
            / texts.len() as f64,
        runs: options.runs,
        floor_docs_per_sec: floor,
        classify_vs_floor: ratio(classify, floor),
        analysis_docs_per_sec: analysis,
        classify_docs_per_sec: classify,
        classify_vs_analysis: ratio(classify, analysis),
        threads: options.threads,
        classify_threads_docs_per_sec: classify_threads,
        thread_scaling: ratio(classify_threads, classify),
        floor_runs,
        analysis_runs,
        classify_runs,
        classify_threads_runs,
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
        threads: 1,
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
