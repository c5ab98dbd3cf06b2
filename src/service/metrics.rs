//! Prometheus metrics: what the server counts, and their OpenMetrics text.
//!
//! The request path only touches atomics: per-RPC counters and latency
//! histograms live in a table fixed at start-up (one row per known method,
//! indexed without a lock), and prometheus-client's counters and gauges are
//! atomic. The labelled families behind a lock (model version, reload
//! results) change only on a reload.
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use prost::Message;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tonic::Code;

/// The method label for paths that are not one of our RPCs (so a client
/// cannot grow the label set by inventing paths).
pub const OTHER_METHOD: &str = "other";

/// Latency bucket upper bounds, in seconds.
const LATENCY_BUCKETS: [f64; 16] = [
    0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
    10.0, 30.0,
];

/// gRPC status codes 0 (OK) to 16 (UNAUTHENTICATED).
const CODES: usize = 17;

/// Label values: the canonical gRPC names.
const CODE_NAMES: [&str; CODES] = [
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];

/// A latency histogram made of atomics only.
#[derive(Debug, Default)]
struct LatencyHistogram {
    /// Per bucket, not cumulative; the last one is +Inf.
    buckets: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    sum_nanos: AtomicU64,
    count: AtomicU64,
}

impl LatencyHistogram {
    fn observe(&self, latency: Duration) {
        let seconds = latency.as_secs_f64();
        let bucket = LATENCY_BUCKETS
            .iter()
            .position(|&bound| seconds <= bound)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }
}

/// Counts and latencies per (method, status code).
#[derive(Debug)]
struct RpcTable {
    /// `package.Service/Method`; the last entry is [`OTHER_METHOD`].
    methods: Vec<String>,
    index: HashMap<String, usize>,
    counts: Vec<[AtomicU64; CODES]>,
    latency: Vec<LatencyHistogram>,
}

impl RpcTable {
    fn new(mut methods: Vec<String>) -> RpcTable {
        methods.sort();
        methods.dedup();
        methods.push(OTHER_METHOD.to_string());
        let index = methods
            .iter()
            .enumerate()
            .map(|(i, m)| (format!("/{m}"), i))
            .collect();
        let counts = methods.iter().map(|_| Default::default()).collect();
        let latency = methods.iter().map(|_| Default::default()).collect();
        RpcTable {
            methods,
            index,
            counts,
            latency,
        }
    }
}

/// Encodes the RPC table at scrape time; only rows that saw traffic.
#[derive(Debug)]
struct RpcCollector(Arc<RpcTable>);

impl Collector for RpcCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let table = &self.0;
        let mut requests = encoder.encode_descriptor(
            "docclass_rpc_requests",
            "RPCs finished, by method and gRPC status code (shed requests included)",
            None,
            MetricType::Counter,
        )?;
        for (method, counts) in table.methods.iter().zip(&table.counts) {
            for (code, count) in CODE_NAMES.iter().zip(counts) {
                let value = count.load(Ordering::Relaxed);
                if value > 0 {
                    let labels = [("method", method.as_str()), ("code", *code)];
                    requests
                        .encode_family(&labels)?
                        .encode_counter::<NoLabelSet, _, u64>(&value, None)?;
                }
            }
        }
        let mut latency = encoder.encode_descriptor(
            "docclass_rpc_latency_seconds",
            "RPC latency from arrival to the last byte of the response (a stream's whole life), by method",
            None,
            MetricType::Histogram,
        )?;
        for (method, histogram) in table.methods.iter().zip(&table.latency) {
            let count = histogram.count.load(Ordering::Relaxed);
            if count == 0 {
                continue;
            }
            let sum = histogram.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
            let buckets: Vec<(f64, u64)> = LATENCY_BUCKETS
                .iter()
                .copied()
                .chain([f64::INFINITY])
                .zip(&histogram.buckets)
                .map(|(bound, n)| (bound, n.load(Ordering::Relaxed)))
                .collect();
            let labels = [("method", method.as_str())];
            latency
                .encode_family(&labels)?
                .encode_histogram::<NoLabelSet>(sum, count, &buckets, None)?;
        }
        Ok(())
    }
}

type Labels = Vec<(String, String)>;

/// Every metric the server exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    rpcs: Arc<RpcTable>,
    in_flight: Gauge,
    shed: Counter,
    documents: Counter,
    model_info: Family<Labels, Gauge>,
    model_load_seconds: Gauge<f64, AtomicU64>,
    reloads: Family<Labels, Counter>,
    connections_open: Gauge,
    connections_refused: Counter,
    connections_evicted: Counter,
    connections_timed_out: Counter,
    accept_failures: Counter,
    streams_open: Gauge,
    streams_refused: Counter,
    stream_messages_shed: Counter,
}

impl Metrics {
    /// Metrics for a server whose RPCs are the methods of these encoded
    /// `FileDescriptorSet`s (other paths are counted as [`OTHER_METHOD`]).
    pub fn new(descriptor_sets: &[&[u8]]) -> Metrics {
        let rpcs = Arc::new(RpcTable::new(method_names(descriptor_sets)));
        let in_flight = Gauge::default();
        let shed = Counter::default();
        let documents = Counter::default();
        let model_info = Family::<Labels, Gauge>::default();
        let model_load_seconds = Gauge::<f64, AtomicU64>::default();
        let reloads = Family::<Labels, Counter>::default();
        for result in ["success", "failure", "cancelled"] {
            drop(reloads.get_or_create(&vec![("result".to_string(), result.to_string())]));
        }
        let connections_open = Gauge::default();
        let connections_refused = Counter::default();
        let connections_evicted = Counter::default();
        let connections_timed_out = Counter::default();
        let accept_failures = Counter::default();
        let streams_open = Gauge::default();
        let streams_refused = Counter::default();
        let stream_messages_shed = Counter::default();
        let mut registry = Registry::default();
        registry.register_collector(Box::new(RpcCollector(rpcs.clone())));
        registry.register(
            "docclass_connections_open",
            "Client connections open on the gRPC port",
            connections_open.clone(),
        );
        registry.register(
            "docclass_connections_refused",
            "Connections closed at once because --max-connections were open and every one had an RPC in progress",
            connections_refused.clone(),
        );
        registry.register(
            "docclass_connections_evicted",
            "Quiet connections closed to make room for a new one at --max-connections",
            connections_evicted.clone(),
        );
        registry.register(
            "docclass_connections_timed_out",
            "Connections closed because the client sent nothing before the connection deadline",
            connections_timed_out.clone(),
        );
        registry.register(
            "docclass_accept_failures",
            "Accepts that failed for want of file descriptors or another resource (the server backs off)",
            accept_failures.clone(),
        );
        registry.register(
            "docclass_streams_open",
            "ClassifyStream streams open (they hold no classification slot while idle)",
            streams_open.clone(),
        );
        registry.register(
            "docclass_streams_refused",
            "ClassifyStream streams refused with RESOURCE_EXHAUSTED because --max-streams or --max-streams-per-connection were open",
            streams_refused.clone(),
        );
        registry.register(
            "docclass_stream_messages_shed",
            "ClassifyStream messages answered RESOURCE_EXHAUSTED because every classification slot was taken (the stream goes on)",
            stream_messages_shed.clone(),
        );
        registry.register(
            "docclass_rpc_in_flight",
            "RPCs in progress (an open stream counts until it ends, though it holds a classification slot only while a message is classified)",
            in_flight.clone(),
        );
        registry.register(
            "docclass_rpc_shed",
            "RPCs refused with RESOURCE_EXHAUSTED because the concurrency limit was reached",
            shed.clone(),
        );
        registry.register(
            "docclass_documents_classified",
            "Documents classified (one per Classify, per batch or stream document that got a result)",
            documents.clone(),
        );
        registry.register(
            "docclass_model_info",
            "The model in service: 1 for its version",
            model_info.clone(),
        );
        registry.register(
            "docclass_model_load_seconds",
            "Time the last successful model load took (read and validate the file)",
            model_load_seconds.clone(),
        );
        registry.register(
            "docclass_model_reloads",
            "Model loads and reloads, by result: success, failure (the file was refused), cancelled (the caller gave up, or the server was shutting down)",
            reloads.clone(),
        );
        Metrics {
            registry,
            rpcs,
            in_flight,
            shed,
            documents,
            model_info,
            model_load_seconds,
            reloads,
            connections_open,
            connections_refused,
            connections_evicted,
            connections_timed_out,
            accept_failures,
            streams_open,
            streams_refused,
            stream_messages_shed,
        }
    }

    pub(crate) fn connection_opened(&self) {
        self.connections_open.inc();
    }

    pub(crate) fn connection_closed(&self) {
        self.connections_open.dec();
    }

    pub(crate) fn connection_refused(&self) {
        self.connections_refused.inc();
    }

    pub(crate) fn connection_evicted(&self) {
        self.connections_evicted.inc();
    }

    pub(crate) fn connection_timed_out(&self) {
        self.connections_timed_out.inc();
    }

    pub(crate) fn accept_failed(&self) {
        self.accept_failures.inc();
    }

    pub(crate) fn stream_opened(&self) {
        self.streams_open.inc();
    }

    pub(crate) fn stream_closed(&self) {
        self.streams_open.dec();
    }

    pub(crate) fn stream_refused(&self) {
        self.streams_refused.inc();
    }

    pub(crate) fn stream_message_shed(&self) {
        self.stream_messages_shed.inc();
    }

    /// The row for a request path such as `/docclass.v1.Classifier/Classify`.
    pub(crate) fn method_index(&self, path: &str) -> usize {
        self.rpcs
            .index
            .get(path)
            .copied()
            .unwrap_or(self.rpcs.methods.len() - 1)
    }

    pub(crate) fn rpc_started(&self) {
        self.in_flight.inc();
    }

    pub(crate) fn rpc_finished(&self, method: usize, code: Code, latency: Duration) {
        self.in_flight.dec();
        self.rpc_counted(method, code, latency);
    }

    /// An RPC refused before it started.
    pub(crate) fn rpc_shed(&self, method: usize, code: Code, latency: Duration) {
        self.shed.inc();
        self.rpc_counted(method, code, latency);
    }

    fn rpc_counted(&self, method: usize, code: Code, latency: Duration) {
        let code = (code as usize).min(CODES - 1);
        if let (Some(counts), Some(histogram)) =
            (self.rpcs.counts.get(method), self.rpcs.latency.get(method))
        {
            counts[code].fetch_add(1, Ordering::Relaxed);
            histogram.observe(latency);
        }
    }

    pub(crate) fn documents_classified(&self, n: u64) {
        if n > 0 {
            self.documents.inc_by(n);
        }
    }

    /// The model in service changed (reload or direct install).
    pub(crate) fn model_installed(&self, version: &str) {
        self.model_info.clear();
        self.model_info
            .get_or_create(&vec![("version".to_string(), version.to_string())])
            .set(1);
    }

    pub(crate) fn reload_succeeded(&self, version: &str, load_time: Duration) {
        self.model_installed(version);
        self.model_load_seconds.set(load_time.as_secs_f64());
        self.reload_ended("success");
    }

    pub(crate) fn reload_failed(&self) {
        self.reload_ended("failure");
    }

    pub(crate) fn reload_cancelled(&self) {
        self.reload_ended("cancelled");
    }

    fn reload_ended(&self, result: &str) {
        self.reloads
            .get_or_create(&vec![("result".to_string(), result.to_string())])
            .inc();
    }

    /// Everything, in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail; an encoder error would be a bug in
        // a metric, and an empty scrape is the honest answer to it.
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// `package.Service/Method` for every method in the descriptor sets.
fn method_names(descriptor_sets: &[&[u8]]) -> Vec<String> {
    let mut names = Vec::new();
    for bytes in descriptor_sets {
        let Ok(set) = prost_types::FileDescriptorSet::decode(*bytes) else {
            continue;
        };
        for file in set.file {
            let package = file.package.unwrap_or_default();
            for service in file.service {
                let service_name = service.name.unwrap_or_default();
                for method in service.method {
                    let method_name = method.name.unwrap_or_default();
                    names.push(if package.is_empty() {
                        format!("{service_name}/{method_name}")
                    } else {
                        format!("{package}.{service_name}/{method_name}")
                    });
                }
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_come_from_the_descriptors_and_unknown_paths_are_other() {
        let metrics = Metrics::new(&[super::super::pb::FILE_DESCRIPTOR_SET]);
        let classify = metrics.method_index("/docclass.v1.Classifier/Classify");
        assert_eq!(
            metrics.rpcs.methods[classify],
            "docclass.v1.Classifier/Classify"
        );
        let other = metrics.method_index("/docclass.v1.Classifier/Invented");
        assert_eq!(metrics.rpcs.methods[other], OTHER_METHOD);
    }

    #[test]
    fn histogram_buckets_and_sum() {
        let h = LatencyHistogram::default();
        h.observe(Duration::from_micros(200));
        h.observe(Duration::from_secs(60));
        assert_eq!(h.buckets[0].load(Ordering::Relaxed), 1);
        assert_eq!(h.buckets[LATENCY_BUCKETS.len()].load(Ordering::Relaxed), 1);
        assert_eq!(h.count.load(Ordering::Relaxed), 2);
        assert_eq!(h.sum_nanos.load(Ordering::Relaxed), 60_000_200_000);
    }
}
