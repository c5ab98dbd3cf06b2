//! Helpers for tests that run the real binaries: a `docclass-server`
//! process on a free port (killed on drop), and the `docclass` client.

use serde_json::Value;
use std::fs::File;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Output, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

pub const SERVER: &str = env!("CARGO_BIN_EXE_docclass-server");
pub const CLIENT: &str = env!("CARGO_BIN_EXE_docclass");
pub const BENCH: &str = env!("CARGO_BIN_EXE_docclass-bench");
pub const FIXTURE: &str = "tests/fixtures/tiny-v1.model";
pub const FIXTURE_VERSION: &str = "e824a97ab1ce0869";

/// Texts the fixture classifies as conflict, disaster and other (see tests/core/model_file.rs).
pub const CONFLICT_TEXT: &str = "Artillery shelling as troops and militia clash on the frontline";
pub const DISASTER_TEXT: &str =
    "Rescue teams search the rubble after the earthquake and aftershock";
pub const OTHER_TEXT: &str = "The football festival and a concert at the museum this holiday";

pub const EMPTY_TEXT_ERROR: &str =
    "error: INVALID_ARGUMENT: text is empty or only whitespace; send the document's text\n";

/// How long a server gets to start serving, or to exit.
pub const STARTUP: Duration = Duration::from_secs(60);

/// A port nothing listens on (bound, read, released).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

pub fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A `docclass-server` child process, killed on drop. Its stderr goes to a
/// log file, shown when something goes wrong.
pub struct Server {
    pub child: Child,
    pub addr: String,
    /// Arguments every client call to this server starts with (TLS, tokens).
    client_args: Vec<String>,
    log: PathBuf,
    _dir: TempDir,
}

impl Server {
    /// Spawns the server on a free port; does not wait for it.
    pub fn spawn(model: &str) -> Server {
        let addr = format!("127.0.0.1:{}", free_port());
        Server::spawn_with(&addr, &["--model", model, "--addr", &addr], &[])
    }

    /// Spawns the server with these arguments and environment variables
    /// (`addr` is where the caller made it listen).
    pub fn spawn_with(addr: &str, args: &[&str], envs: &[(&str, &str)]) -> Server {
        Server::spawn_inner(addr, args, envs, false)
    }

    /// [`Server::spawn_with`] with stderr a pipe the caller holds (and may
    /// leave unread) instead of the log file.
    pub fn spawn_with_piped_stderr(addr: &str, args: &[&str]) -> (Server, ChildStderr) {
        let mut server = Server::spawn_inner(addr, args, &[], true);
        let stderr = server.child.stderr.take().expect("stderr pipe");
        (server, stderr)
    }

    fn spawn_inner(addr: &str, args: &[&str], envs: &[(&str, &str)], pipe_stderr: bool) -> Server {
        let dir = TempDir::new().expect("temp dir");
        let log = dir.path().join("server.log");
        // A short grace period, unless the test chose one.
        let grace: &[&str] = if args.contains(&"--shutdown-grace-secs") {
            &[]
        } else {
            &["--shutdown-grace-secs", "1"]
        };
        let child = Command::new(SERVER)
            .args(args)
            .args(grace)
            .current_dir(manifest_dir())
            .env_remove("DOCCLASS_MODEL")
            .env_remove("DOCCLASS_ADDR")
            .env_remove("DOCCLASS_LOG_FORMAT")
            .env_remove("RUST_LOG")
            .env_remove("DOCCLASS_ADMIN_TOKEN")
            .env_remove("DOCCLASS_CLIENT_TOKEN")
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(File::create(&log).expect("log file"))
            .stderr(if pipe_stderr {
                Stdio::piped()
            } else {
                File::create(&log).expect("log file").into()
            })
            .spawn()
            .expect("docclass-server starts");
        Server {
            child,
            addr: addr.to_string(),
            client_args: Vec::new(),
            log,
            _dir: dir,
        }
    }

    /// Makes every client call to this server start with `args`, e.g.
    /// `--ca-cert` for a TLS server.
    pub fn with_client_args(mut self, args: &[&str]) -> Server {
        self.client_args = args.iter().map(|a| a.to_string()).collect();
        self
    }

    /// Sends a signal, e.g. `"HUP"`.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Polls the log (up to `within`) until it contains `text`.
    pub fn wait_for_log(&self, text: &str, within: Duration) {
        let deadline = Instant::now() + within;
        while !self.log().contains(text) {
            assert!(
                Instant::now() < deadline,
                "{text:?} not in the log after {within:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGTERM and waits (up to `within`) for the exit code.
    pub fn terminate(&mut self, within: Duration) -> Option<i32> {
        self.signal("TERM");
        self.wait_exit(within)
    }

    /// Waits (up to `within`) for the process to exit; its exit code.
    pub fn wait_exit(&mut self, within: Duration) -> Option<i32> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status.code();
            }
            assert!(
                Instant::now() < deadline,
                "docclass-server still running {within:?} after the signal:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A server with the fixture model, once its health check says SERVING.
    /// Retries on a new port if another process took the chosen one.
    pub fn serving() -> Server {
        for _ in 0..3 {
            let mut server = Server::spawn(FIXTURE);
            if server.wait_serving() {
                return server;
            }
            let log = server.log();
            assert!(
                log.contains("cannot listen on"),
                "docclass-server exited before serving:\n{log}"
            );
        }
        panic!("could not find a free port for docclass-server");
    }

    /// Polls `docclass health` until it exits 0 (true), or the server exits (false).
    pub fn wait_serving(&mut self) -> bool {
        let deadline = Instant::now() + STARTUP;
        loop {
            if self.child.try_wait().expect("try_wait").is_some() {
                return false;
            }
            let out = self.run(&["--timeout", "2", "health"]);
            if out.status.success() {
                return true;
            }
            assert!(
                Instant::now() < deadline,
                "docclass-server did not report SERVING within {STARTUP:?}; last health: {}{}\nserver log:\n{}",
                stdout(&out),
                stderr(&out),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Runs `docclass --addr <this server> ARGS`, after the client
    /// arguments it was given.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_with_env(args, &[])
    }

    /// [`Server::run`] with these environment variables.
    pub fn run_with_env(&self, args: &[&str], envs: &[(&str, &str)]) -> Output {
        let mut all: Vec<&str> = self.client_args.iter().map(String::as_str).collect();
        all.extend_from_slice(args);
        client_command(&self.addr, &all)
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .output()
            .expect("docclass runs")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the client with `--addr`, no stdin and no inherited DOCCLASS_ADDR.
pub fn client(addr: &str, args: &[&str]) -> Output {
    client_command(addr, args)
        .stdin(Stdio::null())
        .output()
        .expect("docclass runs")
}

pub fn client_command(addr: &str, args: &[&str]) -> Command {
    let mut command = Command::new(CLIENT);
    command
        .arg("--addr")
        .arg(addr)
        .args(args)
        .env_remove("DOCCLASS_ADDR");
    // Credentials come only from the test.
    for var in [
        "DOCCLASS_CA_CERT",
        "DOCCLASS_CLIENT_CERT",
        "DOCCLASS_CLIENT_KEY",
        "DOCCLASS_TOKEN",
        "DOCCLASS_TOKEN_FILE",
        "DOCCLASS_ADMIN_TOKEN",
        "DOCCLASS_ADMIN_TOKEN_FILE",
    ] {
        command.env_remove(var);
    }
    command
}

/// Runs the client with `input` on its standard input.
pub fn client_with_stdin(addr: &str, args: &[&str], input: &str) -> Output {
    let mut child = client_command(addr, args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("docclass runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("docclass finishes")
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("UTF-8 stdout")
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("UTF-8 stderr")
}

/// Asserts exit code 0, no stderr, and returns stdout.
#[track_caller]
pub fn success(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        stdout(out),
        stderr(out)
    );
    assert_eq!(stderr(out), "", "no stderr on success");
    stdout(out)
}

/// Asserts exit code 1 and returns stderr.
#[track_caller]
pub fn failure(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout:\n{}\nstderr:\n{}",
        stdout(out),
        stderr(out)
    );
    stderr(out)
}

pub fn json(out: &Output) -> Value {
    serde_json::from_str(&success(out)).expect("stdout is JSON")
}

#[track_caller]
pub fn assert_close(value: &Value, expected: f64) {
    let v = value.as_f64().expect("a number");
    assert!((v - expected).abs() < 1e-9, "{v} != {expected}");
}
