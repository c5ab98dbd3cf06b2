//! Reloads that end early: a caller that gives up (a disconnect; a deadline
//! drops the handler the same way), shutdown, a FIFO, a file that is not a
//! model. A load held in progress by a gated loader shows the order of
//! events: the one-at-a-time lock is held until a cancelled load has really
//! ended, so at most one load runs, and a cancelled one is counted apart.
use crate::common::admin::*;
use crate::common::{tiny_model, TestServer};
use docclass::model::{FileStamp, Model, ModelError};
use docclass::service::{
    Limits, Metrics, ModelFiles, ModelLoader, ReloadError, ReloadRequest, Reloader, Secret,
    Security, Server,
};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tonic::Code;

/// Files whose name starts with this are held by the [`Gate`].
const HELD: &str = "held";

/// A loader that reads files named `held*` only when the test releases
/// them: it reports each such load as it starts, and when it sees its
/// cancellation flag it reports that too and waits for a release before it
/// returns, as a load stopping at its next chunk would. Other files load
/// at once, through the real loader.
struct Gate {
    started: Mutex<Sender<PathBuf>>,
    saw_cancel: Mutex<Sender<PathBuf>>,
    releases: Mutex<Receiver<()>>,
    running: AtomicUsize,
    most_running: AtomicUsize,
}

/// The test's side of a [`Gate`].
struct GateControl {
    gate: Arc<Gate>,
    started: Receiver<PathBuf>,
    saw_cancel: Receiver<PathBuf>,
    release: Sender<()>,
}

/// How long the test waits for an event that must come (never reached
/// when the code works; it turns a hang into a failure).
const EVENT: Duration = Duration::from_secs(60);

impl GateControl {
    fn new() -> GateControl {
        let (started_tx, started) = channel();
        let (saw_cancel_tx, saw_cancel) = channel();
        let (release, releases) = channel();
        GateControl {
            gate: Arc::new(Gate {
                started: Mutex::new(started_tx),
                saw_cancel: Mutex::new(saw_cancel_tx),
                releases: Mutex::new(releases),
                running: AtomicUsize::new(0),
                most_running: AtomicUsize::new(0),
            }),
            started,
            saw_cancel,
            release,
        }
    }
}

impl Gate {
    fn load(
        &self,
        path: &Path,
        cancelled: &dyn Fn() -> bool,
    ) -> docclass::model::Result<(Model, FileStamp)> {
        let held = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(HELD));
        if !held {
            return Model::load_cancellable(path, cancelled);
        }
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_running.fetch_max(now, Ordering::SeqCst);
        let _ = self.started.lock().expect("lock").send(path.to_path_buf());
        let releases = self.releases.lock().expect("lock");
        let result = loop {
            if cancelled() {
                let _ = self
                    .saw_cancel
                    .lock()
                    .expect("lock")
                    .send(path.to_path_buf());
                let _ = releases.recv_timeout(EVENT);
                break Err(ModelError::Cancelled);
            }
            // Polls the flag, as the real loader does between chunks.
            match releases.recv_timeout(Duration::from_millis(5)) {
                Ok(()) => break Model::load_cancellable(path, cancelled),
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => break Err(ModelError::Cancelled),
            }
        };
        self.running.fetch_sub(1, Ordering::SeqCst);
        result
    }
}

impl GateControl {
    fn loader(&self) -> Arc<ModelLoader> {
        let gate = self.gate.clone();
        Arc::new(move |path: &Path, cancelled: &dyn Fn() -> bool| gate.load(path, cancelled))
    }

    fn next_started(&self) -> PathBuf {
        self.started
            .recv_timeout(EVENT)
            .expect("a held load starts")
    }

    fn next_cancel_seen(&self) -> PathBuf {
        self.saw_cancel
            .recv_timeout(EVENT)
            .expect("the held load sees its cancellation flag")
    }

    fn release(&self) {
        self.release.send(()).expect("the gate is alive");
    }
}

/// A started server, its reloader and its metrics.
struct Gated {
    server: TestServer,
    reloader: Arc<Reloader>,
    metrics: Arc<Metrics>,
}

/// A model directory holding `next` as `held-next.model`, the file the
/// gated reloads load.
fn dir_holding(next: &Model) -> ModelDir {
    let dir = ModelDir::new();
    next.save(&dir.path("held-next.model")).expect("save");
    dir
}

/// A server on a model directory (the fixture in service), reading files
/// through `gate`.
async fn gated_server(dir: &ModelDir, gate: &GateControl) -> Gated {
    let files = ModelFiles::new(dir.dir.path(), &dir.path(CURRENT)).expect("model files");
    let server = Server::new(Limits::default(), Duration::from_secs(30))
        .await
        .with_model_files(files)
        .with_model_loader(gate.loader())
        .with_security(Security {
            admin_token: Secret::new(ADMIN_TOKEN),
            client_token: None,
        });
    let reloader = server.reloader();
    let metrics = server.metrics();
    reloader
        .reload(ReloadRequest::default())
        .await
        .expect("the fixture loads");
    Gated {
        server: TestServer::start_built(server, None).await,
        reloader,
        metrics,
    }
}

/// The reload counter's samples, in the order success, failure, cancelled.
fn reload_counts(metrics: &Metrics) -> [String; 3] {
    let text = metrics.encode();
    ["success", "failure", "cancelled"].map(|result| {
        let prefix = format!("docclass_model_reloads_total{{result=\"{result}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} in:\n{text}"))
            .to_string()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_whose_caller_gives_up_holds_the_lock_until_its_load_ends() {
    let next = tiny_model();
    let dir = dir_holding(&next);
    let gate = GateControl::new();
    let Gated {
        server, metrics, ..
    } = gated_server(&dir, &gate).await;

    // A starts loading, and its caller gives up (the call is dropped: the
    // client resets the stream, and the server drops the handler).
    let first = tokio::spawn({
        let server_url = server.url();
        async move { reload_at(&server_url, "held-next.model").await }
    });
    assert_eq!(
        gate.next_started(),
        dir.dir
            .path()
            .canonicalize()
            .unwrap()
            .join("held-next.model")
    );
    // B asks for the same file while A's load runs.
    let second = tokio::spawn({
        let server_url = server.url();
        async move { reload_at(&server_url, "held-next.model").await }
    });
    first.abort();
    assert!(first.await.expect_err("aborted").is_cancelled());
    gate.next_cancel_seen();
    // A's load has not ended yet (it waits for a release), so B has not
    // started one.
    assert!(gate.started.try_recv().is_err(), "a second load started");
    gate.release();
    // Only now may B load; it replaces the fixture: A installed nothing.
    gate.next_started();
    gate.release();
    let reloaded = second.await.expect("task").expect("B reloads");
    assert_eq!(reloaded.model_version, next.version());
    assert_eq!(reloaded.previous_model_version, FIXTURE_VERSION);
    assert_eq!(gate.gate.most_running.load(Ordering::SeqCst), 1);
    // The first load, B, and A cancelled.
    assert_eq!(reload_counts(&metrics), ["2", "0", "1"]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_past_its_deadline_stops_its_load() {
    let dir = dir_holding(&tiny_model());
    let gate = GateControl::new();
    let Gated {
        server, metrics, ..
    } = gated_server(&dir, &gate).await;
    // The held load is never released: only the deadline can end it.
    let mut request = with_token(
        docclass::service::pb::ReloadModelRequest {
            model_path: "held-next.model".into(),
            allow_topic_change: false,
        },
        ADMIN_TOKEN,
    );
    request.set_timeout(Duration::from_millis(200));
    let status = admin(&server)
        .await
        .reload_model(request)
        .await
        .expect_err("the deadline passes");
    // tonic reports an expired deadline as CANCELLED (see deadline_shutdown.rs).
    assert_eq!(status.code(), Code::Cancelled, "{status:?}");
    gate.next_started();
    gate.next_cancel_seen();
    gate.release();
    // The next reload can only run once the cancelled load has ended.
    let reloaded = reload(&server, "", false).await.expect("reload");
    assert_eq!(reloaded.model_version, FIXTURE_VERSION);
    assert_eq!(reload_counts(&metrics), ["2", "0", "1"]);
    assert_eq!(gate.gate.most_running.load(Ordering::SeqCst), 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_the_load_in_progress_and_refuses_new_reloads() {
    let dir = dir_holding(&tiny_model());
    let gate = GateControl::new();
    let Gated {
        mut server,
        reloader,
        metrics,
    } = gated_server(&dir, &gate).await;
    let call = tokio::spawn({
        let server_url = server.url();
        async move { reload_at(&server_url, "held-next.model").await }
    });
    gate.next_started();
    let join = server.begin_shutdown();
    // Shutdown raises the load's flag; its load stops; the call in flight
    // is answered, and the server stops.
    gate.next_cancel_seen();
    gate.release();
    let status = call.await.expect("task").expect_err("refused");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert_eq!(
        status.message(),
        "the server is shutting down; no more reloads"
    );
    join.await
        .expect("server task")
        .expect("server ran cleanly");
    // No new reload starts after shutdown.
    let err = reloader
        .reload(ReloadRequest::default())
        .await
        .expect_err("refused");
    assert!(matches!(err, ReloadError::ShuttingDown), "{err:?}");
    assert_eq!(
        reload_counts(&metrics),
        ["1", "0", "2"],
        "the first load; the held load and the late reload cancelled"
    );
}

/// Reloads `model_path` on the server at `url` with the admin token.
async fn reload_at(
    url: &str,
    model_path: &str,
) -> Result<docclass::service::pb::ReloadModelResponse, tonic::Status> {
    let channel = tonic::transport::Channel::from_shared(url.to_string())
        .expect("url")
        .connect()
        .await
        .expect("connect");
    docclass::service::pb::admin_client::AdminClient::new(channel)
        .reload_model(with_token(
            docclass::service::pb::ReloadModelRequest {
                model_path: model_path.into(),
                allow_topic_change: false,
            },
            ADMIN_TOKEN,
        ))
        .await
        .map(tonic::Response::into_inner)
}

/// Makes a FIFO at `path`.
pub fn make_fifo(path: &Path) {
    let made = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(made.success(), "mkfifo {}", path.display());
}

#[cfg(unix)]
#[tokio::test]
async fn a_fifo_is_refused_at_once_every_time() {
    let dir = ModelDir::new();
    let fifo = dir.path("pipe.model");
    make_fifo(&fifo);
    let server = dir.start().await;
    // Each answer comes only once its load has ended (the lock is held
    // until then), so none is left waiting on the FIFO.
    for _ in 0..5 {
        let status = reload(&server, "pipe.model", false)
            .await
            .expect_err("refused");
        assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
        assert_eq!(
            status.message(),
            format!(
                "cannot load \"pipe.model\": {} is not a regular file; the previous model stays in service",
                fifo.canonicalize().expect("canonical").display()
            )
        );
    }
    let mut client = server.client().await;
    assert_eq!(serving_version(&mut client).await, FIXTURE_VERSION);
    server.stop().await;
}

#[tokio::test]
async fn a_failed_first_load_says_no_model_is_in_service() {
    let dir = ModelDir::new();
    dir.write(CURRENT, b"not a model at all");
    let files = ModelFiles::new(dir.dir.path(), &dir.path(CURRENT)).expect("model files");
    let server = Server::new(Limits::default(), Duration::from_secs(30))
        .await
        .with_model_files(files);
    let err = server
        .reloader()
        .reload(ReloadRequest::default())
        .await
        .expect_err("not a model");
    assert_eq!(
        err.to_string(),
        "cannot load \"current.model\": not a docclass model: wrong magic number (expected \"DOCCLASS\"); no model is in service"
    );
}

#[test]
fn model_files_name_the_path_at_fault() {
    let dir = ModelDir::new();
    let missing = dir.path("absent.model");
    let err = ModelFiles::new(dir.dir.path(), &missing).expect_err("no such file");
    assert!(
        err.to_string().starts_with(&format!(
            "model file {} cannot be read: ",
            missing.display()
        )),
        "{err}"
    );
    let no_dir = dir.path("no-such-dir");
    let err = ModelFiles::new(&no_dir, &dir.path(CURRENT)).expect_err("no such directory");
    assert!(
        err.to_string().starts_with(&format!(
            "model directory {} cannot be read: ",
            no_dir.display()
        )),
        "{err}"
    );
    let other = ModelDir::new();
    let err = ModelFiles::new(other.dir.path(), &dir.path(CURRENT)).expect_err("outside");
    assert_eq!(
        err.to_string(),
        format!(
            "model file {} is not inside the model directory {}",
            dir.path(CURRENT).display(),
            other.dir.path().display()
        )
    );
}

/// The runtime the binaries run on returns once their work is done, even
/// with a blocking thread stuck (here on a channel nobody sends to; in
/// production, a read from hung storage).
#[test]
fn run_async_does_not_wait_for_a_stuck_blocking_thread() {
    let (stuck_tx, stuck_rx) = channel::<()>();
    let (entered_tx, entered_rx) = channel::<()>();
    let (done_tx, done_rx) = channel();
    std::thread::spawn(move || {
        let outcome = docclass::cli::run_async(async move {
            tokio::task::spawn_blocking(move || {
                let _ = entered_tx.send(());
                let _ = stuck_rx.recv();
            });
            entered_rx
                .recv_timeout(EVENT)
                .expect("the blocking task runs");
            Ok(7)
        });
        let _ = done_tx.send(outcome.expect("ran"));
    });
    assert_eq!(
        done_rx
            .recv_timeout(EVENT)
            .expect("run_async returned while the blocking thread is still stuck"),
        7
    );
    drop(stuck_tx);
}
