//! What a load run measured: counters and the latency histogram while it
//! runs (`Stats`), and the report it ends with (`LoadReport`): RPCs/s,
//! documents/s, latency percentiles, errors by gRPC status code, documents
//! per model version, as JSON (stable keys) or as text.
use super::run::{Answer, LoadOptions, Mode};
use super::target::Target;
use crate::service::code_name;
use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Instant;
use tonic::Status;

/// Latencies are recorded in nanoseconds, 3 significant digits, up to 10 minutes.
const MAX_LATENCY_NS: u64 = 600_000_000_000;

/// Counters of the measured part of a run.
pub(crate) struct Stats {
    latency_ns: Option<Histogram<u64>>,
    ok_rpcs: u64,
    failed_rpcs: u64,
    documents: u64,
    errors: BTreeMap<&'static str, u64>,
    document_errors: BTreeMap<&'static str, u64>,
    versions: BTreeMap<String, u64>,
    last_answer: Option<Instant>,
}

impl Stats {
    pub(crate) fn new() -> Stats {
        Stats {
            // Bounds are constants that hdrhistogram accepts; a failure
            // would only lose the percentiles, never the run.
            latency_ns: Histogram::new_with_bounds(1, MAX_LATENCY_NS, 3).ok(),
            ok_rpcs: 0,
            failed_rpcs: 0,
            documents: 0,
            errors: BTreeMap::new(),
            document_errors: BTreeMap::new(),
            versions: BTreeMap::new(),
            last_answer: None,
        }
    }

    /// Records a request sent (or due, in open loop) at `sent` and answered now.
    pub(crate) fn record(&mut self, sent: Instant, result: Result<Answer, Status>) {
        let now = Instant::now();
        self.last_answer = Some(now);
        let answer = match result {
            Ok(answer) => answer,
            Err(status) => {
                *self.errors.entry(code_name(status.code())).or_default() += 1;
                self.failed_rpcs += 1;
                return;
            }
        };
        self.ok_rpcs += 1;
        if let Some(h) = &mut self.latency_ns {
            let ns = u64::try_from(now.duration_since(sent).as_nanos()).unwrap_or(u64::MAX);
            h.saturating_record(ns.max(1));
        }
        self.documents += answer.documents;
        for code in answer.document_errors {
            *self.document_errors.entry(code_name(code)).or_default() += 1;
        }
        if let Some(version) = answer.version {
            if answer.documents > 0 {
                match self.versions.get_mut(&version) {
                    Some(n) => *n += answer.documents,
                    None => {
                        self.versions.insert(version, answer.documents);
                    }
                }
            }
        }
    }

    /// Records a call that failed as a whole (a stream that broke).
    pub(crate) fn record_failure(&mut self, status: &Status) {
        self.last_answer = Some(Instant::now());
        *self.errors.entry(code_name(status.code())).or_default() += 1;
        self.failed_rpcs += 1;
    }
}

/// Latency percentiles of the successful RPCs, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Latency {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub mean: f64,
}

/// The report of one load run. Its JSON keys are stable: scripts read them.
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    pub mode: &'static str,
    pub target: String,
    pub concurrency: usize,
    pub connections: usize,
    /// Open-loop rate, requests per second; `null` for closed loop.
    pub rate: Option<f64>,
    pub batch_size: Option<usize>,
    pub stream_window: Option<usize>,
    pub warmup_secs: f64,
    /// From the end of the warm-up to the last measured answer.
    pub measured_secs: f64,
    /// Successful RPCs (stream: answered messages).
    pub rpcs: u64,
    pub failed_rpcs: u64,
    /// Documents answered with a result.
    pub documents: u64,
    pub rpcs_per_sec: f64,
    pub documents_per_sec: f64,
    pub latency_ms: Latency,
    /// Failed RPCs by gRPC status code.
    pub errors: BTreeMap<String, u64>,
    /// Documents refused inside batch or stream answers, by code.
    pub document_errors: BTreeMap<String, u64>,
    /// Documents answered per model version.
    pub model_versions: BTreeMap<String, u64>,
    /// Versions the run was told to expect (`--expect-version`); empty: any.
    pub expected_versions: Vec<String>,
    /// Documents answered by a version not expected.
    pub unexpected_versions: BTreeMap<String, u64>,
    /// How long the server took to turn SERVING (`--wait-ready`).
    pub ready_after_ms: Option<f64>,
    pub documents_source: String,
    pub mean_document_bytes: f64,
}

impl LoadReport {
    pub(crate) fn new(
        target: &Target,
        options: &LoadOptions,
        measure_start: Instant,
        stats: Stats,
    ) -> LoadReport {
        let measured_secs = stats
            .last_answer
            .map(|t| t.saturating_duration_since(measure_start).as_secs_f64())
            .unwrap_or(0.0);
        let per_sec = |n: u64| {
            if measured_secs > 0.0 {
                n as f64 / measured_secs
            } else {
                0.0
            }
        };
        let ms = |ns: u64| ns as f64 / 1e6;
        let latency_ms = match &stats.latency_ns {
            Some(h) if !h.is_empty() => Latency {
                p50: ms(h.value_at_quantile(0.50)),
                p90: ms(h.value_at_quantile(0.90)),
                p99: ms(h.value_at_quantile(0.99)),
                p999: ms(h.value_at_quantile(0.999)),
                max: ms(h.max()),
                mean: h.mean() / 1e6,
            },
            _ => Latency::default(),
        };
        let names = |m: BTreeMap<&'static str, u64>| {
            m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
        };
        LoadReport {
            mode: options.mode.name(),
            target: target.addr.to_string(),
            concurrency: options.concurrency,
            connections: options.connections,
            rate: options.rate,
            batch_size: (options.mode == Mode::Batch).then_some(options.batch_size),
            stream_window: (options.mode == Mode::Stream).then_some(options.stream_window),
            warmup_secs: options.warmup.as_secs_f64(),
            measured_secs,
            rpcs: stats.ok_rpcs,
            failed_rpcs: stats.failed_rpcs,
            documents: stats.documents,
            rpcs_per_sec: per_sec(stats.ok_rpcs),
            documents_per_sec: per_sec(stats.documents),
            latency_ms,
            errors: names(stats.errors),
            document_errors: names(stats.document_errors),
            model_versions: stats.versions,
            expected_versions: Vec::new(),
            unexpected_versions: BTreeMap::new(),
            ready_after_ms: None,
            documents_source: String::new(),
            mean_document_bytes: 0.0,
        }
    }

    /// Marks every answered version outside `expected` (none given: any is fine).
    pub fn expect_versions(&mut self, expected: &[String]) {
        self.expected_versions = expected.to_vec();
        self.unexpected_versions = if expected.is_empty() {
            BTreeMap::new()
        } else {
            self.model_versions
                .iter()
                .filter(|(v, _)| !expected.contains(v))
                .map(|(v, n)| (v.clone(), *n))
                .collect()
        };
    }

    pub fn has_errors(&self) -> bool {
        self.failed_rpcs > 0 || !self.document_errors.is_empty()
    }

    pub fn has_unexpected_versions(&self) -> bool {
        !self.unexpected_versions.is_empty()
    }

    /// The human-readable report.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let shape = match (self.rate, self.batch_size, self.stream_window) {
            (Some(rate), _, _) => format!(
                "open loop at {rate} requests/s, at most {} in flight",
                self.concurrency
            ),
            (None, _, Some(w)) => format!("{} streams, window {w}", self.concurrency),
            (None, _, None) => format!("closed loop, concurrency {}", self.concurrency),
        };
        let batch = self
            .batch_size
            .map(|b| format!(", {b} documents per batch"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "docclass-bench {} -> {} ({shape}{batch}, {} connection{})",
            self.mode,
            self.target,
            self.connections,
            if self.connections == 1 { "" } else { "s" }
        );
        if let Some(ms) = self.ready_after_ms {
            let _ = writeln!(out, "ready          SERVING after {ms:.1} ms");
        }
        let _ = writeln!(
            out,
            "documents      {}, mean {:.0} bytes",
            self.documents_source, self.mean_document_bytes
        );
        let _ = writeln!(
            out,
            "measured       {:.2} s after {:.1} s warm-up",
            self.measured_secs, self.warmup_secs
        );
        let _ = writeln!(
            out,
            "RPCs           {} ok, {} failed: {:.1} RPC/s",
            self.rpcs, self.failed_rpcs, self.rpcs_per_sec
        );
        let _ = writeln!(
            out,
            "documents/s    {:.1} ({} documents)",
            self.documents_per_sec, self.documents
        );
        let l = &self.latency_ms;
        let _ = writeln!(
            out,
            "latency ms     p50 {:.3}  p90 {:.3}  p99 {:.3}  p99.9 {:.3}  max {:.3}  mean {:.3}",
            l.p50, l.p90, l.p99, l.p999, l.max, l.mean
        );
        let counts = |m: &BTreeMap<String, u64>| {
            if m.is_empty() {
                "none".to_string()
            } else {
                m.iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        let _ = writeln!(out, "errors         {}", counts(&self.errors));
        if !self.document_errors.is_empty() {
            let _ = writeln!(out, "document errors {}", counts(&self.document_errors));
        }
        if self.mode != "noop" {
            let _ = writeln!(out, "model versions {}", counts(&self.model_versions));
        }
        if self.has_unexpected_versions() {
            let _ = writeln!(
                out,
                "UNEXPECTED     {} (expected {})",
                counts(&self.unexpected_versions),
                self.expected_versions.join(", ")
            );
        }
        out
    }
}
