//! In-process serving benchmarks (criterion): analysis alone, classification
//! of one document, batch classification, and model load, with the default
//! model.
//!
//! `cargo bench --bench classify` — documents are BBC News articles cut to
//! about 1 KB when `../shared/datasets/bbc_news` is present, otherwise the
//! project's own training documents (about 0.9 KB each). Throughput is
//! reported in documents per second (criterion's "elem/s").
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use docclass::model::Model;
use std::path::Path;

const MODEL: &str = "models/default.model";
const BBC: &str = "../shared/datasets/bbc_news/bbc_news.jsonl";
const DOC_BYTES: usize = 1024;

/// Cuts `text` at the last whitespace before `max` bytes.
fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    match text[..end].rfind(char::is_whitespace) {
        Some(i) => &text[..i],
        None => &text[..end],
    }
}

fn texts_from_jsonl(path: &Path) -> Vec<String> {
    let Ok(raw) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    raw.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v.get("text").and_then(|t| t.as_str()).map(str::to_owned))
        .collect()
}

/// The benchmark documents and where they came from.
pub fn bench_docs() -> (String, Vec<String>) {
    let bbc = texts_from_jsonl(Path::new(BBC));
    if !bbc.is_empty() {
        let docs = bbc.iter().map(|t| cut(t, DOC_BYTES).to_owned()).collect();
        return (format!("{BBC} cut to {DOC_BYTES} bytes"), docs);
    }
    let mut docs = Vec::new();
    for lang in ["en", "fr"] {
        let Ok(dir) = std::fs::read_dir(Path::new("training-data").join(lang)) else {
            continue;
        };
        let mut files: Vec<_> = dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
        files.sort();
        for f in files {
            docs.extend(texts_from_jsonl(&f));
        }
    }
    ("training-data/".to_owned(), docs)
}

fn benches(c: &mut Criterion) {
    let model = match Model::load(Path::new(MODEL)) {
        Ok(m) => m,
        Err(e) => panic!("cannot load {MODEL}: {e}"),
    };
    let (source, docs) = bench_docs();
    assert!(!docs.is_empty(), "no benchmark documents found");
    let mean = docs.iter().map(String::len).sum::<usize>() / docs.len();
    eprintln!("documents: {} from {source}, mean {mean} bytes", docs.len());

    let mut group = c.benchmark_group("per_document");
    group.throughput(Throughput::Elements(1));
    let mut i = 0usize;
    let mut next = || {
        i = (i + 1) % docs.len();
        docs[i].as_str()
    };
    let mut scratch = Vec::new();
    group.bench_function("analysis", |b| {
        b.iter(|| {
            model
                .features()
                .vectorize(model.analyzer(), next(), None, &mut scratch)
        })
    });
    group.bench_function("classify", |b| b.iter(|| model.classify(next(), None)));
    group.finish();

    let batch: Vec<&str> = docs.iter().take(256).map(String::as_str).collect();
    let mut group = c.benchmark_group("batch");
    group.throughput(Throughput::Elements(batch.len() as u64));
    group.bench_function("classify_256", |b| {
        b.iter(|| {
            batch
                .iter()
                .map(|t| model.classify(t, None))
                .collect::<Vec<_>>()
        })
    });
    group.finish();

    let mut group = c.benchmark_group("model");
    group.sample_size(20);
    group.bench_function("load_default", |b| {
        b.iter_batched(
            || (),
            |()| Model::load(Path::new(MODEL)),
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(classify, benches);
criterion_main!(classify);
