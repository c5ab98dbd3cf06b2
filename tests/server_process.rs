//! The `docclass-server` process: configuration from the environment,
//! structured JSON logs, and shutdown on SIGTERM.
mod common;

use common::process::*;
use serde_json::Value;
use std::time::Duration;

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

#[test]
fn sigterm_goes_not_serving_and_exits_0() {
    let mut server = Server::serving();
    let code = server.terminate(Duration::from_secs(10));
    assert_eq!(code, Some(0), "log:\n{}", server.log());
    let log = server.log();
    assert!(
        log.contains("signal received; NOT_SERVING, finishing requests in flight"),
        "{log}"
    );
    assert!(log.contains("stopped"), "{log}");
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
        "error: INVALID_ARGUMENT: text is 54 bytes, over the limit of 50 bytes\n"
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
