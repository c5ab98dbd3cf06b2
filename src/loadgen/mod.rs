//! The load generator behind `docclass-bench` (feature `loadgen`, which
//! turns on `service`): which targets it may hit (loopback only,
//! `target.rs`), the documents it sends (`input.rs`), the gRPC load runs in
//! closed or open loop (`run.rs`) and their report (`report.rs`), and the
//! single-thread in-process measurements of analysis, classification and
//! model load (`in_process.rs`).
//!
//! It drives the server through the generated tonic client only, so what it
//! measures is what any gRPC client would see.

pub mod in_process;
pub mod input;
pub mod report;
pub mod run;
pub mod target;

use std::path::PathBuf;

/// What can stop a benchmark before or during its run.
#[derive(Debug, thiserror::Error)]
pub enum LoadgenError {
    #[error("{addr:?} is not a loopback address: docclass-bench only targets 127.0.0.0/8, ::1 or localhost ({detail})")]
    NotLoopback { addr: String, detail: String },
    #[error("invalid address {addr:?}: {reason}")]
    BadAddress { addr: String, reason: String },
    #[error("invalid option: {0}")]
    BadOption(String),
    #[error("cannot read {}: {source}", path.display())]
    ReadInput {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{source_name}:{line}: {reason}")]
    BadInputLine {
        source_name: String,
        line: usize,
        reason: String,
    },
    #[error("{0} holds no documents")]
    NoDocuments(String),
    #[error("cannot connect to {uri}: {reason}")]
    Connect { uri: String, reason: String },
    #[error("the server was not SERVING within {waited_secs} s (last answer: {last})")]
    NotReady { waited_secs: f64, last: String },
    #[error("cannot start the open loop's pacing thread: {0}")]
    Pacer(std::io::Error),
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
}

pub type Result<T> = std::result::Result<T, LoadgenError>;

/// The median of `values` (mean of the middle two for an even count); 0 when empty.
pub fn median(values: &[f64]) -> f64 {
    let mut sorted: Vec<f64> = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => sorted[n / 2],
        _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
    }
}
