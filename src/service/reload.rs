//! Model reload: which files may be loaded (only those inside the model
//! directory), loading them off the request path, checking the topic set,
//! and the atomic swap. The admin RPC, SIGHUP, `--watch` and the server's
//! first load all go through [`Reloader::reload`], one reload at a time.
//!
//! A reload runs in a task of its own, which holds the one-at-a-time lock
//! until its load has really ended: a caller that gives up (a deadline, a
//! disconnect) only raises the load's cancellation flag, which the loader
//! reads between chunks of the file. So however many callers give up, at
//! most one load runs, and a cancelled one is logged and counted.
use super::error::shown;
use super::metrics::Metrics;
use super::state::{LoadedModel, ModelHandle};
use crate::model::{rfc3339_utc, FileStamp, Model, ModelError};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::Mutex;

/// Why a reload did not happen. The model in service stays in service.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReloadError {
    #[error("model_path: the server has no model directory configured, so it cannot reload")]
    NoModelDir,
    #[error(
        "model_path {}: `..` is not allowed; name a file inside the model directory",
        shown(path)
    )]
    ParentTraversal { path: String },
    #[error("model_path {} resolves outside the model directory", shown(path))]
    OutsideModelDir { path: String },
    #[error(
        "model_path {}: no such file in the model directory ({reason})",
        shown(path)
    )]
    NotFound { path: String, reason: String },
    #[error("model file {} cannot be read: {reason}", path.display())]
    ModelFileMissing { path: PathBuf, reason: String },
    #[error("model directory {} cannot be read: {reason}", path.display())]
    ModelDirMissing { path: PathBuf, reason: String },
    #[error("model file {} is not inside the model directory {}", path.display(), dir.display())]
    ModelOutsideDir { path: PathBuf, dir: PathBuf },
    #[error("cannot load {}: {reason}; {}", shown(path), kept(*previous_kept))]
    Load {
        path: String,
        reason: String,
        /// A model was in service, and still is.
        previous_kept: bool,
    },
    #[error("{} has topics [{new}], the serving model has [{old}]; set allow_topic_change to accept; the previous model stays in service", shown(path))]
    TopicsChanged {
        path: String,
        old: String,
        new: String,
    },
    #[error("reload of {} cancelled before it finished (the caller gave up); the model in service stays", shown(path))]
    Cancelled { path: String },
    #[error("the server is shutting down; no more reloads")]
    ShuttingDown,
    #[error("model loader failed: {0}")]
    LoaderFailed(String),
}

/// What a failed load leaves in service.
fn kept(previous_kept: bool) -> &'static str {
    if previous_kept {
        "the previous model stays in service"
    } else {
        "no model is in service"
    }
}

impl ReloadError {
    /// True when the request's `model_path` is at fault.
    pub fn blames_the_path(&self) -> bool {
        matches!(
            self,
            ReloadError::ParentTraversal { .. }
                | ReloadError::OutsideModelDir { .. }
                | ReloadError::NotFound { .. }
        )
    }
}

pub type Result<T> = std::result::Result<T, ReloadError>;

/// The directory models may be loaded from, and the file in service.
#[derive(Debug, Clone)]
pub struct ModelFiles {
    /// Canonical (absolute, no symlinks).
    dir: PathBuf,
    /// Canonical; inside `dir`.
    current: PathBuf,
}

impl ModelFiles {
    /// `current` (absolute, or relative to the working directory) must be
    /// a file inside `dir`. The errors name the path at fault as given,
    /// with the working directory when it is relative.
    pub fn new(dir: &Path, current: &Path) -> Result<ModelFiles> {
        let canonical_current =
            current
                .canonicalize()
                .map_err(|e| ReloadError::ModelFileMissing {
                    path: as_given(current),
                    reason: e.to_string(),
                })?;
        let canonical_dir = dir
            .canonicalize()
            .map_err(|e| ReloadError::ModelDirMissing {
                path: as_given(dir),
                reason: e.to_string(),
            })?;
        if !canonical_current.starts_with(&canonical_dir) || canonical_current == canonical_dir {
            return Err(ReloadError::ModelOutsideDir {
                path: as_given(current),
                dir: as_given(dir),
            });
        }
        Ok(ModelFiles {
            dir: canonical_dir,
            current: canonical_current,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file in service (or to load first).
    pub fn current(&self) -> &Path {
        &self.current
    }

    /// Resolves a request's `model_path`: relative to the model directory;
    /// `..` refused outright; the canonical result (symlinks followed) must
    /// still be inside the directory.
    pub fn resolve(&self, model_path: &str) -> Result<PathBuf> {
        let requested = Path::new(model_path);
        for component in requested.components() {
            if component == Component::ParentDir {
                return Err(ReloadError::ParentTraversal {
                    path: model_path.to_string(),
                });
            }
        }
        // An absolute path is accepted only if it lands inside the directory.
        let candidate = self.dir.join(requested);
        confine(&self.dir, &candidate, model_path)
    }
}

/// `path` as given, joined to the working directory when relative, so an
/// error says where it was looked for.
fn as_given(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Canonicalizes `path` and checks it lies inside the canonical `dir`.
fn confine(dir: &Path, path: &Path, shown: &str) -> Result<PathBuf> {
    let canonical = path.canonicalize().map_err(|e| ReloadError::NotFound {
        path: shown.to_string(),
        reason: e.to_string(),
    })?;
    if !canonical.starts_with(dir) || canonical == dir {
        return Err(ReloadError::OutsideModelDir {
            path: shown.to_string(),
        });
    }
    Ok(canonical)
}

/// What a reload asks for.
#[derive(Debug, Clone, Default)]
pub struct ReloadRequest {
    /// Relative to the model directory; empty = the file in service.
    pub model_path: String,
    pub allow_topic_change: bool,
}

/// A reload that happened.
#[derive(Debug, Clone)]
pub struct Reloaded {
    pub model_version: String,
    /// `None` when no model was in service.
    pub previous_version: Option<String>,
    pub model_file: String,
    pub loaded_at: String,
    pub load_time: Duration,
    pub path: PathBuf,
}

/// Reads a model file, giving up when the flag it is passed says so;
/// returns the model and the stamp of the file it read.
pub type ModelLoader =
    dyn Fn(&Path, &dyn Fn() -> bool) -> crate::model::Result<(Model, FileStamp)> + Send + Sync;

/// Loads models into the [`ModelHandle`]'s slot, one reload at a time.
pub struct Reloader {
    shared: Arc<Shared>,
}

/// What a reload's task needs, shared with the [`Reloader`].
struct Shared {
    handle: ModelHandle,
    metrics: Arc<Metrics>,
    loader: Arc<ModelLoader>,
    /// Also the lock that serializes reloads, held by a reload's task until
    /// its load has ended.
    files: Mutex<Files>,
    /// Set at shutdown: the load in progress stops, and no other starts.
    stopping: Arc<AtomicBool>,
}

/// The model files, and the stamp of the file in service.
struct Files {
    files: Option<ModelFiles>,
    /// The stamp of the file the model in service was read from.
    loaded: Option<FileStamp>,
}

/// Raises a reload's cancellation flag when the caller stops waiting.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl Reloader {
    pub(crate) fn new(
        handle: ModelHandle,
        metrics: Arc<Metrics>,
        files: Option<ModelFiles>,
        loader: Arc<ModelLoader>,
    ) -> Reloader {
        Reloader {
            shared: Arc::new(Shared {
                handle,
                metrics,
                loader,
                files: Mutex::new(Files {
                    files,
                    loaded: None,
                }),
                stopping: Arc::new(AtomicBool::new(false)),
            }),
        }
    }

    /// The stamp of the file now at the path in service, when it is not the
    /// file the model in service was read from (`None` before the first
    /// load, and when the file cannot be read).
    pub async fn changed_file(&self) -> Option<FileStamp> {
        let files = self.shared.files.lock().await;
        let loaded = files.loaded?;
        let now = FileStamp::of_path(&files.files.as_ref()?.current).ok()?;
        (now != loaded).then_some(now)
    }

    /// Loads the requested file off the async workers, checks it, and swaps
    /// it in. On failure the model in service stays, and the failure is
    /// logged and counted. If the caller stops waiting, the load stops at
    /// its next chunk, and the lock is released only then.
    pub async fn reload(&self, request: ReloadRequest) -> Result<Reloaded> {
        let cancelled = Arc::new(AtomicBool::new(false));
        let _cancel_on_drop = CancelOnDrop(cancelled.clone());
        let shared = self.shared.clone();
        tokio::spawn(async move { shared.reload(request, cancelled).await })
            .await
            .map_err(|e| ReloadError::LoaderFailed(e.to_string()))?
    }

    /// Stops the load in progress (at its next chunk) and refuses new
    /// reloads: the server is shutting down.
    pub fn stop(&self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
    }
}

impl Shared {
    async fn reload(&self, request: ReloadRequest, cancelled: Arc<AtomicBool>) -> Result<Reloaded> {
        let started = Instant::now();
        let mut files = self.files.lock().await;
        let result = self.reload_locked(&mut files, &request, cancelled).await;
        drop(files);
        match &result {
            Ok(r) => {
                self.metrics.reload_succeeded(&r.model_version, r.load_time);
                tracing::info!(
                    version = %r.model_version,
                    previous = r.previous_version.as_deref().unwrap_or(""),
                    path = %r.path.display(),
                    load_ms = r.load_time.as_millis() as u64,
                    "model loaded; in service"
                );
            }
            Err(e @ (ReloadError::Cancelled { .. } | ReloadError::ShuttingDown)) => {
                self.metrics.reload_cancelled();
                tracing::warn!(
                    error = %e,
                    model_path = %request.model_path,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "model reload cancelled"
                );
            }
            Err(e) => {
                self.metrics.reload_failed();
                tracing::warn!(
                    error = %e,
                    model_path = %request.model_path,
                    elapsed_us = started.elapsed().as_micros() as u64,
                    "model reload failed"
                );
            }
        }
        result
    }

    async fn reload_locked(
        &self,
        state: &mut Files,
        request: &ReloadRequest,
        cancelled: Arc<AtomicBool>,
    ) -> Result<Reloaded> {
        if self.stopping.load(Ordering::SeqCst) {
            return Err(ReloadError::ShuttingDown);
        }
        let files = state.files.as_mut().ok_or(ReloadError::NoModelDir)?;
        let path = if request.model_path.is_empty() {
            files.current.clone()
        } else {
            files.resolve(&request.model_path)?
        };
        let shown = path
            .strip_prefix(&files.dir)
            .unwrap_or(&path)
            .display()
            .to_string();
        let stopping = self.stopping.clone();
        let gave_up = move || cancelled.load(Ordering::SeqCst) || stopping.load(Ordering::SeqCst);
        let why_stopped = |stopping: &AtomicBool| {
            if stopping.load(Ordering::SeqCst) {
                ReloadError::ShuttingDown
            } else {
                ReloadError::Cancelled {
                    path: shown.clone(),
                }
            }
        };
        let previous = self.handle.current();
        let started = Instant::now();
        let to_load = path.clone();
        let loader = self.loader.clone();
        tracing::debug!(path = %path.display(), "loading model file");
        let loaded = tokio::task::spawn_blocking(move || {
            let result = loader(&to_load, &gave_up);
            // Asked once more, so a load that ended after its caller gave up is not installed.
            (result, gave_up())
        })
        .await
        .map_err(|e| ReloadError::LoaderFailed(e.to_string()))?;
        let (model, stamp) = match loaded {
            (Err(ModelError::Cancelled), _) | (Ok(_), true) => {
                return Err(why_stopped(&self.stopping))
            }
            (Err(e), _) => {
                return Err(ReloadError::Load {
                    path: shown,
                    reason: e.to_string(),
                    previous_kept: previous.is_some(),
                })
            }
            (Ok(loaded), false) => loaded,
        };
        let load_time = started.elapsed();
        if let Some(previous) = &previous {
            let old = topic_ids(&previous.model);
            let new = topic_ids(&model);
            if old != new && !request.allow_topic_change {
                return Err(ReloadError::TopicsChanged {
                    path: shown,
                    old: old.join(", "),
                    new: new.join(", "),
                });
            }
        }
        let model_version = model.version().to_string();
        let model_file = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let loaded_at = rfc3339_utc(now);
        self.handle
            .install(LoadedModel {
                model,
                model_file: model_file.clone(),
                loaded_at: loaded_at.clone(),
            })
            .await;
        files.current = path.clone();
        state.loaded = Some(stamp);
        let previous_version = previous.as_ref().map(|p| p.model.version().to_string());
        if let Some(previous) = previous {
            // Not awaited: the reply need not wait for requests in flight.
            tokio::spawn(release_replaced(previous));
        }
        Ok(Reloaded {
            model_version,
            previous_version,
            model_file,
            loaded_at,
            load_time,
            path,
        })
    }
}

/// How long [`release_replaced`] waits for requests in flight to let go of
/// a replaced model: each holds it for one classification.
const RELEASE_WAIT: Duration = Duration::from_secs(2);

/// Drops the reloader's hold on a model just replaced, waits (at most
/// [`RELEASE_WAIT`]) until requests in flight have let go of it too, then
/// hands the free memory of every malloc arena back to the system.
///
/// A model is tens of thousands of small blocks (its terms' text) in the
/// arena of the thread that loaded it. Freed, they leave holes that the next
/// models and the arena's other users fill in a different order each time,
/// so the free pages an arena keeps inside itself can grow from one reload
/// to the next; glibc only returns the free space at an arena's top.
async fn release_replaced(previous: Arc<LoadedModel>) {
    let replaced = Arc::downgrade(&previous);
    drop(previous);
    let deadline = Instant::now() + RELEASE_WAIT;
    while replaced.strong_count() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Walks every arena under its lock: off the async workers.
    let _ = tokio::task::spawn_blocking(trim_malloc_arenas).await;
}

/// glibc's `malloc_trim(0)`: returns the free pages of every arena (not only
/// their tops) to the system. Nothing to do with other allocators.
fn trim_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes each arena's lock itself; it frees nothing
    // that is in use.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Topic ids, sorted: the set a client can ask for.
fn topic_ids(model: &Model) -> Vec<String> {
    let mut ids: Vec<String> = model.topics().iter().map(|t| t.id.clone()).collect();
    ids.sort();
    ids
}
