//! Model reload: which files may be loaded (only those inside the model
//! directory), loading them off the request path, checking the topic set,
//! and the atomic swap. The admin RPC, SIGHUP and the server's first load all
//! go through [`Reloader::reload`], one reload at a time.
use super::error::shown;
use super::metrics::Metrics;
use super::state::{LoadedModel, ModelHandle};
use crate::model::{rfc3339_utc, Model};
use std::path::{Component, Path, PathBuf};
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
    #[error(
        "cannot load {}: {reason}; the previous model stays in service",
        shown(path)
    )]
    Load { path: String, reason: String },
    #[error("{} has topics [{new}], the serving model has [{old}]; set allow_topic_change to accept; the previous model stays in service", shown(path))]
    TopicsChanged {
        path: String,
        old: String,
        new: String,
    },
    #[error("model loader failed: {0}")]
    LoaderFailed(String),
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
    /// `dir` must exist; `current` (absolute, or relative to the working
    /// directory) must be a file inside it.
    pub fn new(dir: &Path, current: &Path) -> Result<ModelFiles> {
        let dir = dir.canonicalize().map_err(|e| ReloadError::NotFound {
            path: dir.display().to_string(),
            reason: e.to_string(),
        })?;
        let current = confine(&dir, current, &current.display().to_string())?;
        Ok(ModelFiles { dir, current })
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

/// Loads models into the [`ModelHandle`]'s slot, one reload at a time.
pub struct Reloader {
    handle: ModelHandle,
    metrics: Arc<Metrics>,
    /// Also the lock that serializes reloads.
    files: Mutex<Option<ModelFiles>>,
}

impl Reloader {
    pub(crate) fn new(
        handle: ModelHandle,
        metrics: Arc<Metrics>,
        files: Option<ModelFiles>,
    ) -> Reloader {
        Reloader {
            handle,
            metrics,
            files: Mutex::new(files),
        }
    }

    /// The model file in service (or to load first), if a directory is set.
    pub async fn current_file(&self) -> Option<PathBuf> {
        self.files.lock().await.as_ref().map(|f| f.current.clone())
    }

    /// Loads the requested file off the async workers, checks it, and swaps
    /// it in. On failure the model in service stays, and the failure is
    /// logged and counted.
    pub async fn reload(&self, request: ReloadRequest) -> Result<Reloaded> {
        let mut files = self.files.lock().await;
        let result = self.reload_locked(files.as_mut(), &request).await;
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
            Err(e) => {
                self.metrics.reload_failed();
                tracing::warn!(error = %e, model_path = %request.model_path, "model reload failed");
            }
        }
        result
    }

    async fn reload_locked(
        &self,
        files: Option<&mut ModelFiles>,
        request: &ReloadRequest,
    ) -> Result<Reloaded> {
        let files = files.ok_or(ReloadError::NoModelDir)?;
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
        let started = Instant::now();
        let to_load = path.clone();
        let model = tokio::task::spawn_blocking(move || Model::load(&to_load))
            .await
            .map_err(|e| ReloadError::LoaderFailed(e.to_string()))?
            .map_err(|e| ReloadError::Load {
                path: shown.clone(),
                reason: e.to_string(),
            })?;
        let load_time = started.elapsed();
        let previous = self.handle.current();
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
        Ok(Reloaded {
            model_version,
            previous_version: previous.map(|p| p.model.version().to_string()),
            model_file,
            loaded_at,
            load_time,
            path,
        })
    }
}

/// Topic ids, sorted: the set a client can ask for.
fn topic_ids(model: &Model) -> Vec<String> {
    let mut ids: Vec<String> = model.topics().iter().map(|t| t.id.clone()).collect();
    ids.sort();
    ids
}
