//! The `docclass-server` process: configuration from the environment,
//! structured JSON logs (written off the request path, so a stalled stderr
//! reader does not stop serving), reload on SIGHUP, and shutdown on SIGTERM with
//! requests in flight; health alone on `--health-addr`.
use crate::common::admin::OpenStream;
use crate::common::process::*;
use crate::common::tiny_model;
use docclass::service::pb::classifier_client::ClassifierClient;
use serde_json::Value;
use std::time::{Duration, Instant};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

/// A sentence that must never appear in the server's logs.
const PRIVATE_TEXT: &str =
    "Artillery shelling as troops and militia clash on the frontline near Kalamazoo-7";

fn wait_or_panic(server: &mut Server) {
    assert!(
        server.wait_serving(),
        "server exited early:\n{}",
        server.log()
    );
}

/// A server on the fixture model with these extra flags and environment,
/// on a free port; not waited for.
fn spawn_fixture(extra: &[&str], envs: &[(&str, &str)]) -> Server {
    let addr = format!("127.0.0.1:{}", free_port());
    let mut args = vec!["--model", FIXTURE, "--addr", &addr];
    args.extend_from_slice(extra);
    Server::spawn_with(&addr, &args, envs)
}

/// [`spawn_fixture`], once SERVING.
fn serving_with(extra: &[&str], envs: &[(&str, &str)]) -> Server {
    let mut server = spawn_fixture(extra, envs);
    wait_or_panic(&mut server);
    server
}

/// A plaintext channel to `server`.
async fn channel_to(server: &Server) -> tonic::transport::Channel {
    tonic::transport::Channel::from_shared(format!("http://{}", server.addr))
        .expect("url")
        .connect()
        .await
        .expect("connect")
}

/// The next status a health `Watch` reports.
async fn next_status(watch: &mut tonic::Streaming<HealthCheckResponse>) -> ServingStatus {
    let response = watch
        .message()
        .await
        .expect("the watch goes on")
        .expect("a status");
    ServingStatus::try_from(response.status).expect("a known status")
}

/// Health is asked, not read from the log: a `Watch` opened before SIGTERM
/// reports NOT_SERVING once the drain has begun, while a stream in flight
/// still gets its answers; the process then exits 0.
#[test]
fn sigterm_turns_health_not_serving_during_the_drain_and_exits_0() {
    let mut server = serving_with(&["--shutdown-grace-secs", "300"], &[]);
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    runtime.block_on(async {
        let channel = channel_to(&server).await;
        let mut watch = HealthClient::new(channel.clone())
            .watch(HealthCheckRequest {
                service: "docclass.v1.Classifier".into(),
            })
            .await
            .expect("watch")
            .into_inner();
        assert_eq!(next_status(&mut watch).await, ServingStatus::Serving);
        let mut stream = OpenStream::open(&mut ClassifierClient::new(channel)).await;
        assert_eq!(stream.round_trip(CONFLICT_TEXT).await, FIXTURE_VERSION);

        server.signal("TERM");
        assert_eq!(next_status(&mut watch).await, ServingStatus::NotServing);
        // Still draining: the stream in flight is answered.
        assert_eq!(stream.round_trip(DISASTER_TEXT).await, FIXTURE_VERSION);
        drop(watch);
        stream.close().await;
    });
    let code = server.wait_exit(STARTUP);
    let log = server.log();
    assert_eq!(code, Some(0), "{log}");
    assert!(
        !log.contains("still in flight after the grace period"),
        "{log}"
    );
    assert!(log.contains("stopped"), "{log}");
}

/// A stream that never ends keeps requests in flight: only the grace
/// period can end the drain (the idle timeout is far longer), and the
/// process then exits 0, saying so in the log.
#[test]
fn a_drain_that_outlasts_the_grace_period_is_cut_off_and_exits_0() {
    let mut server = serving_with(
        &[
            "--shutdown-grace-secs",
            "1",
            "--stream-idle-timeout-secs",
            "3600",
        ],
        &[],
    );
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let stream = runtime.block_on(async {
        let channel = channel_to(&server).await;
        let mut stream = OpenStream::open(&mut ClassifierClient::new(channel)).await;
        assert_eq!(stream.round_trip(CONFLICT_TEXT).await, FIXTURE_VERSION);
        stream
    });
    server.signal("TERM");
    let code = server.wait_exit(STARTUP);
    let log = server.log();
    assert_eq!(code, Some(0), "{log}");
    assert!(
        log.contains("requests still in flight after the grace period; exiting"),
        "{log}"
    );
    runtime.block_on(async move { drop(stream) });
}

#[test]
fn health_addr_serves_health_alone_and_reads_not_serving_through_the_drain() {
    let addr = format!("127.0.0.1:{}", free_port());
    let health_addr = format!("127.0.0.1:{}", free_port());
    let mut server = Server::spawn_with(
        &addr,
        &["--model", FIXTURE, "--addr", &addr],
        &[("DOCCLASS_HEALTH_ADDR", health_addr.as_str())],
    );
    wait_or_panic(&mut server);
    let health = client(&health_addr, &["--timeout", "10", "health"]);
    assert!(health.status.success(), "{}", stderr(&health));
    assert_eq!(stdout(&health), "SERVING\n");
    let topics = client(&health_addr, &["--timeout", "10", "topics"]);
    assert_eq!(failure(&topics), "error: UNIMPLEMENTED\n");

    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    runtime.block_on(async {
        // A stream in progress keeps the server draining after SIGTERM.
        let mut classifier = ClassifierClient::new(
            tonic::transport::Channel::from_shared(format!("http://{addr}"))
                .expect("url")
                .connect()
                .await
                .expect("connect"),
        );
        let mut stream = OpenStream::open(&mut classifier).await;
        assert_eq!(stream.round_trip(CONFLICT_TEXT).await, FIXTURE_VERSION);
        server.signal("TERM");
        server.wait_for_log(
            "signal received; NOT_SERVING, finishing requests in flight",
            Duration::from_secs(10),
        );
        let draining = client(&health_addr, &["--timeout", "10", "health"]);
        assert!(!draining.status.success());
        assert_eq!(stdout(&draining), "NOT_SERVING\n");
        assert_eq!(stream.round_trip(DISASTER_TEXT).await, FIXTURE_VERSION);
        stream.close().await;
    });
    assert_eq!(server.wait_exit(Duration::from_secs(20)), Some(0));
}

#[test]
fn configuration_comes_from_the_environment() {
    let addr = format!("127.0.0.1:{}", free_port());
    let mut server = Server::spawn_with(
        &addr,
        &[],
        &[
            ("DOCCLASS_ADDR", addr.as_str()),
            ("DOCCLASS_MODEL", FIXTURE),
            ("DOCCLASS_MAX_TEXT_BYTES", "50"),
        ],
    );
    wait_or_panic(&mut server);
    let out = server.run(&[
        "classify",
        "this text is longer than fifty bytes, so it is refused",
    ]);
    assert_eq!(
        failure(&out),
        "error: INVALID_ARGUMENT: text is 54 bytes, over the limit of 50 bytes (the server's --max-text-bytes)\n"
    );
    assert_eq!(server.terminate(Duration::from_secs(10)), Some(0));
}

#[test]
fn json_logs_have_one_line_per_rpc_and_never_the_text() {
    let addr = format!("127.0.0.1:{}", free_port());
    let mut server = Server::spawn_with(
        &addr,
        &["--model", FIXTURE, "--addr", &addr, "--log-format", "json"],
        &[],
    );
    wait_or_panic(&mut server);
    success(&server.run(&["classify", PRIVATE_TEXT]));
    failure(&server.run(&["classify", "   "]));
    assert_eq!(server.terminate(Duration::from_secs(10)), Some(0));
    let log = server.log();
    assert!(
        !log.contains("Kalamazoo"),
        "document text leaked into the log:\n{log}"
    );
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let rpcs: Vec<&Value> = lines.iter().filter(|v| v["method"] == "Classify").collect();
    assert_eq!(rpcs.len(), 2, "{log}");
    assert_eq!(rpcs[0]["status"], "Ok");
    assert_eq!(rpcs[0]["documents"], 1);
    assert!(rpcs[0]["latency_us"].as_u64().is_some(), "{}", rpcs[0]);
    assert_eq!(rpcs[0]["level"], "INFO");
    assert_eq!(rpcs[1]["status"], "InvalidArgument");
}

/// The model version `docclass info` reports.
fn info_version(server: &Server) -> String {
    json(&server.run(&["info", "--json"]))["model_version"]
        .as_str()
        .expect("a version")
        .to_string()
}

/// A server on a copy of the fixture in a temporary model directory; the
/// copy's path.
fn serve_a_copy(extra: &[&str]) -> (tempfile::TempDir, std::path::PathBuf, Server) {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let model = dir.path().join("current.model");
    std::fs::copy(manifest_dir().join(FIXTURE), &model).expect("copy the fixture");
    let addr = format!("127.0.0.1:{}", free_port());
    let mut args = vec![
        "--model",
        model.to_str().expect("UTF-8 temp path"),
        "--addr",
        &addr,
    ];
    args.extend_from_slice(extra);
    let mut server = Server::spawn_with(&addr, &args, &[]);
    wait_or_panic(&mut server);
    assert_eq!(info_version(&server), FIXTURE_VERSION);
    (dir, model, server)
}

/// Polls `docclass info` until `version` answers.
fn wait_for_version(server: &Server, version: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while info_version(server) != version {
        assert!(Instant::now() < deadline, "no reload:\n{}", server.log());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sighup_reloads_the_model_file_and_a_bad_file_keeps_the_old_one() {
    let (_dir, model, mut server) = serve_a_copy(&[]);
    let next = tiny_model();
    next.save(&model).expect("replace the model file");
    server.signal("HUP");
    wait_for_version(&server, next.version());
    // Log lines reach the file a moment after they are logged.
    server.wait_for_log(
        "SIGHUP received; reloading the model file",
        Duration::from_secs(20),
    );

    std::fs::write(&model, b"DOCCLASS").expect("truncate the model file");
    server.signal("HUP");
    server.wait_for_log("model reload failed", Duration::from_secs(20));
    let log = server.log();
    assert!(
        log.contains("cannot load \"current.model\": model file is truncated: expected 52 bytes, found 8; the previous model stays in service"),
        "{log}"
    );
    assert_eq!(info_version(&server), next.version());
    assert_eq!(server.terminate(Duration::from_secs(10)), Some(0));
}

#[test]
fn watch_reloads_the_model_file_when_it_changes() {
    let (_dir, model, mut server) = serve_a_copy(&["--watch"]);
    let next = tiny_model();
    next.save(&model).expect("replace the model file");
    wait_for_version(&server, next.version());
    server.wait_for_log("model file changed; reloading", Duration::from_secs(20));
    assert_eq!(server.terminate(Duration::from_secs(10)), Some(0));
}

#[test]
fn sigterm_with_100_streams_in_flight_finishes_them_all_and_exits_0() {
    const STREAMS: usize = 100;
    let mut server = spawn_fixture(
        &[
            "--max-concurrent-requests",
            "200",
            "--shutdown-grace-secs",
            "30",
        ],
        &[],
    );
    let addr = server.addr.clone();
    wait_or_panic(&mut server);
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    runtime.block_on(async {
        // Four connections, 25 streams each; every stream has answered once,
        // so all 100 are in progress on the server.
        let mut streams = Vec::with_capacity(STREAMS);
        for _ in 0..4 {
            let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
                .expect("url")
                .connect()
                .await
                .expect("connect");
            for _ in 0..STREAMS / 4 {
                let mut client = ClassifierClient::new(channel.clone());
                let mut stream = OpenStream::open(&mut client).await;
                assert_eq!(stream.round_trip(CONFLICT_TEXT).await, FIXTURE_VERSION);
                streams.push(stream);
            }
        }
        server.signal("TERM");
        server.wait_for_log(
            "signal received; NOT_SERVING, finishing requests in flight",
            Duration::from_secs(10),
        );
        // Shutdown has begun: every stream still gets its answers and a clean end.
        let tasks: Vec<_> = streams
            .into_iter()
            .map(|mut stream| {
                tokio::spawn(async move {
                    assert_eq!(stream.round_trip(DISASTER_TEXT).await, FIXTURE_VERSION);
                    stream.close().await;
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("the stream finished cleanly");
        }
    });
    let code = server.wait_exit(Duration::from_secs(20));
    let log = server.log();
    assert_eq!(code, Some(0), "{log}");
    assert!(
        !log.contains("still in flight after the grace period"),
        "{log}"
    );
    assert!(log.contains("stopped"), "{log}");
}

/// A reader of stderr that stops reading (a full pipe) must not stop
/// serving: log lines leave the request path through the writer thread's
/// queue. 3,000 RPC lines are several times the 64 KiB a pipe holds.
#[test]
fn a_stalled_stderr_reader_does_not_stop_serving() {
    const RPCS: usize = 3_000;
    let addr = format!("127.0.0.1:{}", free_port());
    // stderr piped and never read until the end.
    let (mut server, mut stderr) =
        Server::spawn_with_piped_stderr(&addr, &["--model", FIXTURE, "--addr", &addr]);
    wait_or_panic(&mut server);
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let answered = runtime.block_on(async {
        let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
            .expect("url")
            .timeout(Duration::from_secs(10))
            .connect()
            .await
            .expect("connect");
        let mut client = ClassifierClient::new(channel);
        let mut answered = 0;
        for _ in 0..RPCS {
            let request = docclass::service::pb::ClassifyRequest {
                text: CONFLICT_TEXT.into(),
                ..Default::default()
            };
            let response = client.classify(request).await.expect("Classify answers");
            assert_eq!(response.into_inner().model_version, FIXTURE_VERSION);
            answered += 1;
        }
        answered
    });
    assert_eq!(answered, RPCS);
    drop(server);
    let mut log = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut log).expect("read stderr");
    assert!(log.contains("method=\"Classify\""), "{log}");
}

/// Started under a soft descriptor limit of 200, the server raises it to the
/// hard limit, so a typical soft limit of 1,024 is not an outage at about
/// 1,000 idle sockets.
#[cfg(target_os = "linux")]
#[test]
fn the_server_raises_its_soft_descriptor_limit_to_the_hard_one() {
    let limits = |pid: u32| -> Option<(u64, u64)> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
        let line = text.lines().find(|l| l.starts_with("Max open files"))?;
        let fields: Vec<&str> = line.split_whitespace().collect();
        Some((fields[3].parse().ok()?, fields[4].parse().ok()?))
    };
    let (_, hard) = limits(std::process::id()).expect("this process's limits");
    if hard <= 200 {
        eprintln!("hard descriptor limit {hard}: nothing to raise here");
        return;
    }
    let addr = format!("127.0.0.1:{}", free_port());
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -Sn 200 && exec {SERVER} --model {FIXTURE} --addr {addr}"
        ))
        .current_dir(manifest_dir())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("sh starts");
    // The limit is raised before the server binds its port: once it
    // accepts a connection, the limit read is the server's own.
    let started = std::time::Instant::now();
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(started.elapsed() < STARTUP, "the server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let (soft, _) = limits(child.id()).expect("the server's limits");
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(soft, hard, "soft limit {soft}, hard {hard}");
}

/// The admin token from `DOCCLASS_ADMIN_TOKEN` guards reloads: the client's
/// reload with that token loads, a wrong one is refused (exit 8).
#[test]
fn the_admin_token_from_the_environment_guards_reload() {
    let server = serving_with(&[], &[("DOCCLASS_ADMIN_TOKEN", "env-s3cret")]);
    let out = server.run_with_env(
        &["reload", "--json"],
        &[("DOCCLASS_ADMIN_TOKEN", "env-s3cret")],
    );
    assert_eq!(json(&out)["model_version"], FIXTURE_VERSION);
    let out = server.run_with_env(&["reload"], &[("DOCCLASS_ADMIN_TOKEN", "wrong")]);
    assert_eq!(
        (out.status.code(), stderr(&out)),
        (
            Some(8),
            "error: the server refused the admin token from DOCCLASS_ADMIN_TOKEN: UNAUTHENTICATED: the bearer token is not valid for this RPC\n".to_string()
        )
    );
}

/// Extra server flags, environment, and where the token came from.
type StartCase<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], String);

/// An empty admin token, from the environment or a file, would leave the
/// admin service guarded by nothing anyone can send: the server refuses to
/// start, naming where the token came from.
#[test]
fn an_empty_admin_token_stops_the_server_at_start_up() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let empty = dir.path().join("admin.token");
    std::fs::write(&empty, "  \n").expect("write the token file");
    let empty = empty.display().to_string();
    let cases: [StartCase; 3] = [
        (
            &[],
            &[("DOCCLASS_ADMIN_TOKEN", "")],
            "DOCCLASS_ADMIN_TOKEN".into(),
        ),
        (
            &[],
            &[("DOCCLASS_ADMIN_TOKEN", " \n ")],
            "DOCCLASS_ADMIN_TOKEN".into(),
        ),
        (&["--admin-token-file", &empty], &[], empty.clone()),
    ];
    for (extra, envs, source) in cases {
        let mut server = spawn_fixture(extra, envs);
        assert_eq!(server.wait_exit(STARTUP), Some(1), "{source}");
        assert_eq!(
            server.log(),
            format!("error: the token from {source} is empty\n")
        );
    }
}

/// `--metrics-addr` serves the Prometheus text at /metrics, counting the
/// calls made to the process.
#[test]
fn metrics_addr_serves_the_counters_of_the_process() {
    let metrics_addr = format!("127.0.0.1:{}", free_port());
    let server = serving_with(&["--metrics-addr", &metrics_addr], &[]);
    success(&server.run(&["classify", CONFLICT_TEXT]));
    failure(&server.run(&["classify", "   "]));
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let response = runtime.block_on(crate::metrics::http_get(
        metrics_addr.parse().expect("socket address"),
        "/metrics",
    ));
    let samples = crate::metrics::samples(&response);
    for expected in [
        format!("docclass_model_info{{version=\"{FIXTURE_VERSION}\"}} 1"),
        r#"docclass_rpc_requests_total{method="docclass.v1.Classifier/Classify",code="OK"} 1"#.into(),
        r#"docclass_rpc_requests_total{method="docclass.v1.Classifier/Classify",code="INVALID_ARGUMENT"} 1"#.into(),
        r#"docclass_model_reloads_total{result="success"} 1"#.into(),
    ] {
        crate::metrics::assert_sample(&samples, &expected);
    }
}

/// 0 classification slots would refuse every classification: the server
/// refuses the setting at start-up rather than run and serve nothing (the
/// library's `Limits` allows 0, which the overload tests use to shed all).
#[test]
fn max_concurrent_requests_0_is_refused_at_start_up() {
    let mut server = spawn_fixture(&["--max-concurrent-requests", "0"], &[]);
    assert_eq!(server.wait_exit(STARTUP), Some(1));
    assert_eq!(
        server.log(),
        "error: --max-concurrent-requests must be at least 1: 0 would refuse everything it limits\n"
    );
    // The environment variable is checked the same way.
    let mut server = spawn_fixture(&[], &[("DOCCLASS_MAX_CONCURRENT_REQUESTS", "0")]);
    assert_eq!(server.wait_exit(STARTUP), Some(1));
    assert!(server
        .log()
        .contains("--max-concurrent-requests must be at least 1"));
}
