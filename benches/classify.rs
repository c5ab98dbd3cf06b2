//! In-process serving benchmarks (criterion): analysis alone, classification
//! of one document, batch classification, and model load, with the default
//! model.
//!
//! `cargo bench --bench classify` — documents are BBC News articles cut to
//! about 1 KB when `../shared/datasets/bbc_news` is present, otherwise the
//! project's own training documents (about 0.9 KB each). Throughput is
//! reported in documents per second (criterion's "elem/s").
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use docclass::loadgen::input;
use docclass::model::Model;
use std::path::Path;

const MODEL: &str = "models/default.model";
const BBC: &str = "../shared/datasets/bbc_news/bbc_news.jsonl";
const DOC_BYTES: usize = 1024;

/// The benchmark documents and where they came from: the same reading and
/// cutting as `docclass-bench` and `bench/perf.sh`.
fn bench_docs() -> (String, Vec<String>) {
    if let Ok(mut docs) = input::read_jsonl(Path::new(BBC)) {
        input::cut_all(&mut docs, DOC_BYTES);
        let texts = docs.into_iter().map(|d| d.text).collect();
        return (format!("{BBC} cut to {DOC_BYTES} bytes"), texts);
    }
    match input::builtin() {
        Ok(docs) => (
            input::BUILTIN_SOURCE.to_owned(),
            docs.into_iter().map(|d| d.text).collect(),
        ),
        Err(e) => panic!("cannot read the built-in documents: {e}"),
    }
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
