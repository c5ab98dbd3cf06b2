//! Reload and shutdown in the `docclass-server` process: a reload whose
//! caller gives up is logged and counted, SIGTERM does not wait for a load,
//! a FIFO leaks no thread, `--watch` does not load again what the admin RPC
//! has just loaded, and start-up errors name what is wrong.
use crate::common::admin::{with_token, ADMIN_TOKEN};
use crate::common::process::*;
use crate::common::tiny_model;
use crate::reload_cancel::make_fifo;
use docclass::service::pb::admin_client::AdminClient;
use docclass::service::pb::{ReloadModelRequest, ReloadModelResponse};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tempfile::TempDir;
use tonic::Code;

/// Logs the reload start and the watch's checks too.
const DEBUG_LOG: &str = "info,docclass::service::reload=debug,docclass_server=debug";

/// A server on a temporary model directory holding `current.model` (a copy
/// of the fixture), with the admin token and `extra` flags, once serving.
struct ReloadServer {
    dir: TempDir,
    server: Server,
    metrics_addr: String,
}

impl ReloadServer {
    fn start(extra: &[&str]) -> ReloadServer {
        let dir = TempDir::new().expect("temp dir");
        let model = dir.path().join("current.model");
        std::fs::copy(manifest_dir().join(FIXTURE), &model).expect("copy the fixture");
        let addr = format!("127.0.0.1:{}", free_port());
        let metrics_addr = format!("127.0.0.1:{}", free_port());
        let mut args = vec![
            "--model",
            model.to_str().expect("UTF-8 temp path"),
            "--addr",
            &addr,
            "--metrics-addr",
            &metrics_addr,
        ];
        args.extend_from_slice(extra);
        let mut server = Server::spawn_with(
            &addr,
            &args,
            &[
                ("DOCCLASS_ADMIN_TOKEN", ADMIN_TOKEN),
                ("RUST_LOG", DEBUG_LOG),
            ],
        );
        assert!(
            server.wait_serving(),
            "server exited early:\n{}",
            server.log()
        );
        ReloadServer {
            dir,
            server,
            metrics_addr,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// The server's `/metrics` body.
    fn metrics(&self) -> String {
        let mut stream =
            std::net::TcpStream::connect(&self.metrics_addr).expect("connect to /metrics");
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
            .expect("write");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read");
        response
    }

    /// How many times `text` appears in the log.
    fn log_count(&self, text: &str) -> usize {
        self.server.log().matches(text).count()
    }

    /// Polls the log until `text` appears more than `seen` times.
    fn wait_for_more(&self, text: &str, seen: usize) {
        let deadline = std::time::Instant::now() + STARTUP;
        while self.log_count(text) <= seen {
            assert!(
                std::time::Instant::now() < deadline,
                "{text:?} did not appear again:\n{}",
                self.server.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Asks the server at `url` to reload `model_path`.
async fn reload(url: String, model_path: &str) -> Result<ReloadModelResponse, tonic::Status> {
    let channel = tonic::transport::Channel::from_shared(url)
        .expect("url")
        .connect()
        .await
        .expect("connect");
    AdminClient::new(channel)
        .reload_model(with_token(
            ReloadModelRequest {
                model_path: model_path.into(),
                allow_topic_change: false,
            },
            ADMIN_TOKEN,
        ))
        .await
        .map(tonic::Response::into_inner)
}

/// A 1 GiB file (sparse: it takes no disk) whose header is a model's and
/// declares its length, so the loader reads it all before its checksum
/// fails: a slow load, stopped only by cancellation.
fn slow_file(path: &Path) {
    const PAYLOAD: u64 = 1 << 30;
    let mut header = Vec::new();
    header.extend_from_slice(docclass::model::MAGIC);
    header.extend_from_slice(&docclass::model::FORMAT_VERSION.to_le_bytes());
    header.extend_from_slice(&PAYLOAD.to_le_bytes());
    header.extend_from_slice(&[0u8; 32]);
    let mut file = std::fs::File::create(path).expect("create");
    file.write_all(&header).expect("write the header");
    file.set_len(header.len() as u64 + PAYLOAD)
        .expect("extend the file");
}

const LOADING_SLOW: &str = "loading model file path=";

#[test]
fn a_reload_whose_caller_gives_up_is_logged_and_counted_and_frees_the_lock() {
    let mut s = ReloadServer::start(&[]);
    slow_file(&s.path("slow.model"));
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let loads_before = s.log_count(LOADING_SLOW);
    let call = runtime.spawn(reload(s.url(), "slow.model"));
    s.wait_for_more(LOADING_SLOW, loads_before);
    // The client goes away mid-load.
    call.abort();
    s.server
        .wait_for_log("model reload cancelled", Duration::from_secs(60));
    let log = s.server.log();
    assert!(
        log.contains(
            "reload of \"slow.model\" cancelled before it finished (the caller gave up); the model in service stays"
        ),
        "{log}"
    );
    let metrics = s.metrics();
    for line in [
        "docclass_model_reloads_total{result=\"success\"} 1",
        "docclass_model_reloads_total{result=\"failure\"} 0",
        "docclass_model_reloads_total{result=\"cancelled\"} 1",
    ] {
        assert!(metrics.contains(line), "no {line:?} in:\n{metrics}");
    }
    // The lock is free again: the next reload runs.
    let reloaded = runtime
        .block_on(reload(s.url(), ""))
        .expect("the next reload");
    assert_eq!(reloaded.previous_model_version, FIXTURE_VERSION);
    assert_eq!(s.server.terminate(Duration::from_secs(10)), Some(0));
}

#[test]
fn sigterm_during_a_load_stops_it_and_exits_well_within_the_grace_period() {
    let mut s = ReloadServer::start(&["--shutdown-grace-secs", "60"]);
    slow_file(&s.path("slow.model"));
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let loads_before = s.log_count(LOADING_SLOW);
    let call = runtime.spawn(reload(s.url(), "slow.model"));
    s.wait_for_more(LOADING_SLOW, loads_before);
    s.server.signal("TERM");
    // Well before the 60 s grace period: nothing waits for the load.
    assert_eq!(s.server.wait_exit(Duration::from_secs(30)), Some(0));
    let status = runtime
        .block_on(call)
        .expect("task")
        .expect_err("the reload is refused");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert_eq!(
        status.message(),
        "the server is shutting down; no more reloads"
    );
    let log = s.server.log();
    assert!(log.contains("model reload cancelled"), "{log}");
    assert!(log.contains("stopped"), "{log}");
    assert!(!log.contains("after the grace period"), "{log}");
}

/// Threads of process `pid`.
fn threads(pid: u32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("a Threads line")
}

#[cfg(target_os = "linux")]
#[test]
fn a_fifo_in_the_model_directory_is_refused_without_leaking_threads() {
    let mut s = ReloadServer::start(&[]);
    make_fifo(&s.path("pipe.model"));
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let refuse = || {
        let status = runtime
            .block_on(reload(s.url(), "pipe.model"))
            .expect_err("a FIFO is not a model");
        assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
        assert!(
            status
                .message()
                .ends_with("pipe.model is not a regular file; the previous model stays in service"),
            "{}",
            status.message()
        );
    };
    refuse();
    let before = threads(s.server.child.id());
    for _ in 0..10 {
        refuse();
    }
    // A thread left waiting on the FIFO per try would be 10 more; one
    // more may be a fresh blocking thread the pool started meanwhile.
    let after = threads(s.server.child.id());
    assert!(after <= before + 1, "threads went from {before} to {after}");
    assert_eq!(s.server.terminate(Duration::from_secs(10)), Some(0));
}

#[test]
fn watch_does_not_load_again_a_file_the_admin_rpc_has_just_loaded() {
    let mut s = ReloadServer::start(&["--watch"]);
    let next = tiny_model();
    next.save(&s.path("next.model")).expect("save");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let reloaded = runtime
        .block_on(reload(s.url(), "next.model"))
        .expect("reload");
    assert_eq!(reloaded.model_version, next.version());
    // Two checks of the watch after the reload have found nothing to do.
    let checks = s.log_count("model file unchanged");
    s.wait_for_more("model file unchanged", checks + 1);
    let log = s.server.log();
    assert!(!log.contains("model file changed; reloading"), "{log}");
    assert_eq!(s.log_count("model loaded; in service"), 2, "{log}");
    // A real change to the file in service is still picked up.
    let changed = tiny_model_saved_again(&s.path("next.model"));
    s.server
        .wait_for_log("model file changed; reloading", Duration::from_secs(60));
    s.wait_for_more("model loaded; in service", 2);
    assert_eq!(changed, next.version(), "same model, new file");
    assert_eq!(s.log_count("model file changed; reloading"), 1);
    assert_eq!(s.server.terminate(Duration::from_secs(10)), Some(0));
}

/// Saves the tiny model over `path` again (a new file renamed over it);
/// its version.
fn tiny_model_saved_again(path: &Path) -> String {
    let model = tiny_model();
    model.save(path).expect("save");
    model.version().to_string()
}

#[test]
fn a_file_that_is_not_a_model_at_start_says_no_model_is_in_service() {
    let dir = TempDir::new().expect("temp dir");
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "not a model").expect("write");
    let addr = format!("127.0.0.1:{}", free_port());
    let mut server = Server::spawn_with(
        &addr,
        &["--model", notes.to_str().expect("UTF-8"), "--addr", &addr],
        &[],
    );
    assert_eq!(server.wait_exit(STARTUP), Some(1));
    let log = server.log();
    assert!(
        log.contains("cannot load the model; shutting down error=cannot load \"notes.txt\": not a docclass model: wrong magic number (expected \"DOCCLASS\"); no model is in service"),
        "{log}"
    );
    assert!(!log.contains("previous model"), "{log}");
}

#[test]
fn started_outside_the_repository_the_server_names_the_missing_model_file() {
    let elsewhere = TempDir::new().expect("temp dir");
    let addr = format!("127.0.0.1:{}", free_port());
    let output = std::process::Command::new(SERVER)
        .args(["--addr", &addr])
        .current_dir(elsewhere.path())
        .env_remove("DOCCLASS_MODEL")
        .env_remove("DOCCLASS_MODEL_DIR")
        .env_remove("RUST_LOG")
        .output()
        .expect("docclass-server runs");
    assert_eq!(output.status.code(), Some(1));
    let log = String::from_utf8_lossy(&output.stderr);
    let expected = format!(
        "model file {} cannot be read: No such file or directory",
        elsewhere.path().join("models/default.model").display()
    );
    assert!(log.contains(&expected), "no {expected:?} in:\n{log}");
}
