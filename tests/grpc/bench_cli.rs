//! `docclass-bench`: refused arguments, and a short run of every mode against
//! an in-process server (exit status and JSON report), plus the in-process,
//! load-model and cut commands. Counts are asserted exactly; no timings.
use crate::common::process::{
    failure, json, manifest_dir, stdout, BENCH, FIXTURE, FIXTURE_VERSION,
};
use crate::common::{tiny_model, TestServer};
use serde_json::{json, Value};
use std::process::{Command, Output};

/// Runs docclass-bench off the async workers, so the in-process server keeps serving.
async fn bench(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(BENCH)
            .args(&args)
            .current_dir(manifest_dir())
            .env_remove("DOCCLASS_ADDR")
            .output()
            .expect("docclass-bench runs")
    })
    .await
    .expect("the blocking task finishes")
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// `MODE --addr ADDR --warmup 0 --json` and the rest.
fn run_args(mode: &str, server: &TestServer, rest: &[&str]) -> Vec<String> {
    let addr = server.addr.to_string();
    let mut v = args(&[mode, "--addr", &addr, "--warmup", "0", "--json"]);
    v.extend(args(rest));
    v
}

const LOAD_KEYS: &[&str] = &[
    "batch_size",
    "concurrency",
    "connections",
    "document_errors",
    "documents",
    "documents_per_sec",
    "documents_source",
    "errors",
    "expected_versions",
    "failed_rpcs",
    "latency_ms",
    "mean_document_bytes",
    "measured_secs",
    "mode",
    "model_versions",
    "rate",
    "ready_after_ms",
    "rpcs",
    "rpcs_per_sec",
    "stream_window",
    "target",
    "unexpected_versions",
    "warmup_secs",
];

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .expect("a JSON object")
        .keys()
        .cloned()
        .collect();
    k.sort();
    k
}

/// Checks the shape every load report has, and the counts.
#[track_caller]
fn assert_load_report(report: &Value, mode: &str, rpcs: u64, documents: u64) {
    assert_eq!(keys(report), LOAD_KEYS);
    assert_eq!(
        keys(&report["latency_ms"]),
        ["max", "mean", "p50", "p90", "p99", "p999"]
    );
    assert_eq!(report["mode"], mode);
    assert_eq!(report["rpcs"], rpcs);
    assert_eq!(report["failed_rpcs"], 0);
    assert_eq!(report["documents"], documents);
    assert_eq!(report["errors"], json!({}));
    assert_eq!(report["document_errors"], json!({}));
    assert!(report["rpcs_per_sec"].as_f64().is_some_and(|r| r > 0.0));
    assert!(report["latency_ms"]["p50"]
        .as_f64()
        .is_some_and(|p| p > 0.0));
}

async fn serving() -> (TestServer, String) {
    let model = tiny_model();
    let version = model.version().to_string();
    (TestServer::start_with_noop_rpc(Some(model)).await, version)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_loopback_targets_are_refused() {
    for (addr, detail) in [
        ("10.1.2.3:50051", "10.1.2.3 is not loopback"),
        (
            "example.com:50051",
            "host names other than localhost are refused, got \"example.com\"",
        ),
    ] {
        let out = bench(args(&["unary", "--addr", addr, "--requests", "1"])).await;
        assert_eq!(
            failure(&out),
            format!("error: {addr:?} is not a loopback address: docclass-bench only targets 127.0.0.0/8, ::1 or localhost ({detail})\n")
        );
        assert_eq!(stdout(&out), "");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_rates_and_unbounded_runs_are_refused() {
    // Nothing listens on port 1: refusal comes before any connection.
    for (flags, message) in [
        (
            vec!["--rate", "0"],
            "error: invalid option: rate must be a number of requests per second in (0, 1e7], got 0\n",
        ),
        (
            vec!["--rate=-5"],
            "error: invalid option: rate must be a number of requests per second in (0, 1e7], got -5\n",
        ),
        (
            vec!["--duration", "0"],
            "error: invalid option: duration must be more than 0 s\n",
        ),
        (
            vec!["--requests", "0"],
            "error: invalid option: requests must be at least 1\n",
        ),
    ] {
        let mut a = args(&["unary", "--addr", "127.0.0.1:1"]);
        a.extend(args(&flags));
        let out = bench(a).await;
        assert_eq!(failure(&out), message, "{flags:?}");
    }
    let out = bench(args(&["stream", "--addr", "127.0.0.1:1", "--rate", "10"])).await;
    assert_eq!(
        failure(&out),
        "error: invalid option: rate applies to unary, batch and noop; stream runs closed loop (use --window)\n"
    );
    // Not a number of seconds at all: clap's usage error.
    let out = bench(args(&["unary", "--duration", "inf"])).await;
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unary_closed_and_open_loop() {
    let (server, version) = serving().await;
    let out = bench(run_args("unary", &server, &["--requests", "20", "-c", "3"])).await;
    let report = json(&out);
    assert_load_report(&report, "unary", 20, 20);
    assert_eq!(report["model_versions"], json!({ version.as_str(): 20 }));
    assert_eq!(report["concurrency"], 3);
    assert_eq!(report["rate"], Value::Null);
    assert_eq!(
        report["documents_source"],
        "built-in training-data/{en,fr}/*.jsonl"
    );

    let out = bench(run_args(
        "unary",
        &server,
        &["--requests", "10", "--rate", "200", "--connections", "2"],
    ))
    .await;
    let report = json(&out);
    assert_load_report(&report, "unary", 10, 10);
    assert_eq!(report["rate"], 200.0);
    assert_eq!(report["connections"], 2);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_stream_and_noop() {
    let (server, version) = serving().await;
    let out = bench(run_args(
        "batch",
        &server,
        &["--requests", "5", "--batch-size", "4", "-c", "2"],
    ))
    .await;
    let report = json(&out);
    assert_load_report(&report, "batch", 5, 20);
    assert_eq!(report["batch_size"], 4);
    assert_eq!(report["model_versions"], json!({ version.as_str(): 20 }));

    let out = bench(run_args(
        "stream",
        &server,
        &["--requests", "30", "--window", "4", "-c", "2"],
    ))
    .await;
    let report = json(&out);
    assert_load_report(&report, "stream", 30, 30);
    assert_eq!(report["stream_window"], 4);
    assert_eq!(report["model_versions"], json!({ version.as_str(): 30 }));

    let out = bench(run_args("noop", &server, &["--requests", "15"])).await;
    let report = json(&out);
    assert_load_report(&report, "noop", 15, 15);
    assert_eq!(report["model_versions"], json!({}));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn input_file_cut_and_wait_ready() {
    let (server, _) = serving().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("docs.jsonl");
    std::fs::write(
        &input,
        "{\"title\": \"Clashes\", \"text\": \"Troops and militia clashed near the border overnight\"}\n\
         {\"text\": \"The earthquake destroyed homes and rescue teams searched the rubble\"}\n",
    )
    .expect("write input");
    let input = input.display().to_string();
    let out = bench(run_args(
        "unary",
        &server,
        &[
            "--requests",
            "4",
            "--input",
            &input,
            "--cut-bytes",
            "20",
            "--wait-ready",
            "5",
        ],
    ))
    .await;
    let report = json(&out);
    assert_load_report(&report, "unary", 4, 4);
    assert_eq!(
        report["documents_source"],
        format!("{input} cut to 20 bytes")
    );
    // "Clashes" + "Troops and militia", "The earthquake"
    assert_eq!(report["mean_document_bytes"], (7.0 + 18.0 + 14.0) / 2.0);
    assert!(report["ready_after_ms"]
        .as_f64()
        .is_some_and(|ms| ms >= 0.0));

    let out = bench(args(&["cut", "--input", &input, "--cut-bytes", "20"])).await;
    assert_eq!(
        stdout(&out),
        "{\"title\":\"Clashes\",\"text\":\"Troops and militia\"}\n{\"text\":\"The earthquake\"}\n"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unexpected_versions_and_errors_fail_the_run() {
    let (server, version) = serving().await;
    let out = bench(run_args(
        "unary",
        &server,
        &["--requests", "6", "--expect-version", "0000000000000000"],
    ))
    .await;
    assert_eq!(out.status.code(), Some(4));
    let report: Value = serde_json::from_str(&stdout(&out)).expect("JSON report");
    assert_eq!(
        report["unexpected_versions"],
        json!({ version.as_str(): 6 })
    );
    assert_eq!(report["expected_versions"], json!(["0000000000000000"]));

    let out = bench(run_args(
        "unary",
        &server,
        &["--requests", "6", "--expect-version", &version],
    ))
    .await;
    assert_eq!(json(&out)["unexpected_versions"], json!({}));
    server.stop().await;

    // Without --enable-noop-rpc every Noop fails UNIMPLEMENTED.
    let server = TestServer::start(Some(tiny_model())).await;
    let out = bench(run_args("noop", &server, &["--requests", "5"])).await;
    assert_eq!(out.status.code(), Some(3));
    let report: Value = serde_json::from_str(&stdout(&out)).expect("JSON report");
    assert_eq!(report["errors"], json!({"UNIMPLEMENTED": 5}));
    assert_eq!(report["rpcs"], 0);
    assert_eq!(report["failed_rpcs"], 5);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_process_and_load_model() {
    let out = bench(args(&[
        "in-process",
        "--model",
        FIXTURE,
        "--runs",
        "3",
        "--run-secs",
        "0.01",
        "--cut-bytes",
        "1024",
        "--threads",
        "2",
        "--json",
    ]))
    .await;
    let report = json(&out);
    assert_eq!(
        keys(&report),
        [
            "analysis_docs_per_sec",
            "analysis_runs",
            "classify_docs_per_sec",
            "classify_runs",
            "classify_threads_docs_per_sec",
            "classify_threads_runs",
            "classify_vs_analysis",
            "classify_vs_floor",
            "documents",
            "documents_source",
            "features",
            "floor_docs_per_sec",
            "floor_runs",
            "mean_document_bytes",
            "model",
            "model_version",
            "runs",
            "thread_scaling",
            "threads"
        ]
    );
    assert_eq!(report["model_version"], FIXTURE_VERSION);
    assert_eq!(
        (report["runs"].as_u64(), report["threads"].as_u64()),
        (Some(3), Some(2))
    );
    for runs in [
        "floor_runs",
        "analysis_runs",
        "classify_runs",
        "classify_threads_runs",
    ] {
        assert_eq!(report[runs].as_array().map(Vec::len), Some(3), "{runs}");
    }
    for figure in [
        "classify_docs_per_sec",
        "floor_docs_per_sec",
        "thread_scaling",
    ] {
        assert!(report[figure].as_f64().is_some_and(|d| d > 0.0), "{figure}");
    }

    let out = bench(args(&["load-model", FIXTURE, "--runs", "2", "--json"])).await;
    let report = json(&out);
    assert_eq!(
        keys(&report),
        [
            "features",
            "file_bytes",
            "load_ms",
            "load_runs_ms",
            "model_version",
            "path",
            "runs"
        ]
    );
    assert_eq!(report["model_version"], FIXTURE_VERSION);
    assert_eq!(report["load_runs_ms"].as_array().map(Vec::len), Some(2));

    let out = bench(args(&["load-model", "no/such.model"])).await;
    assert!(failure(&out).starts_with("error: cannot read no/such.model: "));
}
