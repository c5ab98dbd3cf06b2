//! Profiling driver (not a benchmark): classifies the first `N` BBC documents
//! cut to 1 KB, `R` times, so `valgrind --tool=callgrind` or `perf` can count
//! the serving path's cost. `cargo run --release --example profile_classify -- N R [analysis]`
use docclass::model::Model;
use std::path::Path;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(500);
    let rounds: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(1);
    let analysis_only = args.get(3).is_some_and(|a| a == "analysis");
    let model = match Model::load(Path::new("models/default.model")) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let raw =
        std::fs::read_to_string("../shared/datasets/bbc_news/bbc_news.jsonl").unwrap_or_default();
    let docs: Vec<String> = raw
        .lines()
        .take(n)
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| {
            v["text"].as_str().map(|t| {
                let mut end = t.len().min(1024);
                while !t.is_char_boundary(end) {
                    end -= 1;
                }
                let cut = &t[..end];
                cut[..cut.rfind(char::is_whitespace).unwrap_or(cut.len())].to_string()
            })
        })
        .collect();
    let mut total = 0usize;
    let mut scratch = Vec::new();
    let start = std::time::Instant::now();
    for _ in 0..rounds {
        for d in &docs {
            if analysis_only {
                total += model
                    .features()
                    .vectorize(model.analyzer(), d, None, &mut scratch)
                    .1
                    .nnz();
            } else {
                total += model.classify(d, None).decided.len();
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "{} docs x {rounds}: {:.0} docs/s (checksum {total})",
        docs.len(),
        (docs.len() * rounds) as f64 / secs
    );
}
