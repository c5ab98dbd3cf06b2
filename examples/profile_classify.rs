//! Profiling driver (not a benchmark): classifies the first `N` BBC documents
//! cut to 1 KB, `R` times, so `valgrind --tool=callgrind` or `perf` can count
//! the serving path's cost. `cargo run --release --example profile_classify -- N R [analysis]`;
//! `PROFILE_INPUT=FILE.jsonl` reads other documents (French news, say) instead of BBC News.
use docclass::loadgen::input;
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
    let mut docs = match input::read_jsonl(Path::new(
        &std::env::var("PROFILE_INPUT")
            .unwrap_or_else(|_| "../shared/datasets/bbc_news/bbc_news.jsonl".into()),
    )) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    docs.truncate(n);
    input::cut_all(&mut docs, 1024);
    let docs: Vec<String> = docs.into_iter().map(|d| d.text).collect();
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
