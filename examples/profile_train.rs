//! Profiling driver (not a benchmark): trains on the first `N` documents of
//! the 20 Newsgroups train split with the default options and no validation,
//! so `valgrind --tool=callgrind` or `perf` can count training's cost.
//! `cargo run --release --example profile_train -- N`
mod common;

use docclass::train::{self, Silent, TrainOptions, Validation};

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000);
    let docs: Vec<_> = common::read_20ng_train().into_iter().take(n).collect();
    let bytes: usize = docs.iter().map(|d| d.full_text().len()).sum();
    let options = TrainOptions {
        validation: Validation::None,
        ..TrainOptions::default()
    };
    let start = std::time::Instant::now();
    match train::train(&docs, &options, &Silent) {
        Ok(_) => {
            let secs = start.elapsed().as_secs_f64();
            eprintln!(
                "{} docs, {:.1} MB: {secs:.3}s = {:.1} MB/s",
                docs.len(),
                bytes as f64 / 1e6,
                bytes as f64 / 1e6 / secs
            );
        }
        Err(e) => eprintln!("{e}"),
    }
}
