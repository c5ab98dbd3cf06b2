//! The model: analyzer config + feature space + fitted NB + decision rule +
//! topic metadata + provenance, and its versioned file format.
//!
//! [`Model::classify`] is the one place text becomes topics, used by the
//! server, the evaluation harness and the CLI alike.

mod file;

pub use file::{FileStamp, FORMAT_VERSION, MAGIC, OLDEST_READABLE_VERSION, READ_CHUNK};

use crate::features::{FeatureError, FeatureSpace, FeatureSpaceData, SparseVec};
use crate::nb::{
    softmax_with_temperature, Decision, FittedNb, FittedNbData, NbError, PerTopicCalibration,
};
use crate::text::{Analyzer, AnalyzerConfig, Lang, TextError};
use serde::{Deserialize, Serialize};
use std::cell::Cell;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

thread_local! {
    /// [`Model::classify`]'s feature ids of the document, reused.
    static FEATURE_IDS: Cell<Vec<u32>> = const { Cell::new(Vec::new()) };
}

/// Feature ids' room kept in [`FEATURE_IDS`] between documents (256 KB).
const MAX_KEPT_IDS: usize = 1 << 16;

/// Errors loading, saving or using a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("cannot read model file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write model file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} is not a regular file")]
    NotAFile(PathBuf),
    #[error("loading was cancelled")]
    Cancelled,
    #[error("not a docclass model: wrong magic number (expected {expected:?})")]
    BadMagic { expected: &'static str },
    #[error("model file format version {found} is not supported (this build reads versions {oldest} to {newest})")]
    UnsupportedVersion {
        found: u32,
        oldest: u32,
        newest: u32,
    },
    #[error("model file is truncated: expected {expected} bytes, found {found}")]
    Truncated { expected: u64, found: u64 },
    #[error("model file has {0} unexpected bytes after the payload")]
    TrailingBytes(u64),
    #[error("model file is corrupt: checksum mismatch")]
    ChecksumMismatch,
    #[error("model file is corrupt: cannot decode payload: {0}")]
    Decode(String),
    #[error("cannot encode model: {0}")]
    Encode(String),
    #[error("model is invalid: {0}")]
    Invalid(String),
    #[error("model is invalid: analyzer: {0}")]
    Analyzer(#[from] TextError),
    #[error("model is invalid: features: {0}")]
    Features(#[from] FeatureError),
    #[error("model is invalid: naive bayes: {0}")]
    Nb(#[from] NbError),
}

pub type Result<T> = std::result::Result<T, ModelError>;

/// A topic's id and display names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicMeta {
    pub id: String,
    pub name_en: String,
    pub name_fr: String,
    pub description: String,
}

impl TopicMeta {
    /// A topic known only by its id (names default to the id).
    pub fn from_id(id: &str) -> Self {
        Self {
            id: id.to_string(),
            name_en: id.to_string(),
            name_fr: id.to_string(),
            description: String::new(),
        }
    }

    /// Display name in `lang`, English when the language has none.
    pub fn name(&self, lang: Lang) -> &str {
        match lang {
            Lang::Fr => &self.name_fr,
            _ => &self.name_en,
        }
    }
}

/// Metrics measured on held-out data during training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeldOutMetrics {
    pub documents: u64,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub micro_f1: f64,
    /// F1 per topic, in topic order.
    pub topic_f1: Vec<f64>,
}

/// Where a model came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// RFC 3339 UTC.
    pub created_at: String,
    pub tool_version: String,
    /// SHA-256 of the training documents (ids, texts and labels, in order).
    pub corpus_sha256: String,
    pub documents: u64,
    /// Training documents per topic, in topic order.
    pub topic_documents: Vec<u64>,
    /// The training options, as JSON, for reproducibility.
    pub train_options_json: String,
    pub held_out: Option<HeldOutMetrics>,
    /// The finished model scored on labelled sets it never learned from
    /// (such as the frozen real-news test split), recorded when it was trained.
    pub evaluations: Vec<NamedEvaluation>,
    /// Unlabelled documents the model also learned from, by EM.
    pub semi_supervised: Option<SemiSupervised>,
}

/// What semi-supervised (EM) training used and did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SemiSupervised {
    /// SHA-256 of the unlabelled documents used (ids, titles and texts, in order).
    pub corpus_sha256: String,
    pub documents: u64,
    /// Weight of an unlabelled document against a labelled one.
    pub lambda: f64,
    pub max_iterations: u32,
    pub tolerance: f64,
    /// M-steps run in the final fit.
    pub iterations: u32,
    /// Whether the tolerance stopped EM before `max_iterations`.
    pub converged: bool,
}

/// A trained model's scores on one named labelled set that took no part in
/// its training or tuning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedEvaluation {
    /// What the set is, e.g. `real-news test (fr)`.
    pub name: String,
    /// SHA-256 of the set's documents (ids, texts and labels, in order).
    pub corpus_sha256: String,
    pub metrics: HeldOutMetrics,
}

/// Everything a model file stores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelData {
    pub analyzer: AnalyzerConfig,
    /// Shared with the runtime feature space (one copy in memory).
    pub features: Arc<FeatureSpaceData>,
    /// Shared with the runtime classifier (one copy in memory).
    pub nb: Arc<FittedNbData>,
    pub decision: Decision,
    pub topics: Vec<TopicMeta>,
    pub provenance: Provenance,
    /// Probability temperature: topic probabilities are
    /// `softmax(joint log-likelihood / temperature)`. Fitted on out-of-fold
    /// scores so that probabilities are calibrated; 1 when not fitted.
    /// Unused when `per_topic` is set.
    pub temperature: f64,
    /// Per-topic calibration (multi-label models): each topic's probability
    /// is its own calibrated chance of applying, and the probabilities of a
    /// document need not sum to 1.
    pub per_topic: Option<PerTopicCalibration>,
}

/// How a model turns joint log-likelihoods into probabilities (see
/// [`ModelData::temperature`] and [`ModelData::per_topic`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ProbabilityCalibration {
    pub temperature: f64,
    pub per_topic: Option<PerTopicCalibration>,
}

impl ProbabilityCalibration {
    /// Raw posteriors: temperature 1, no per-topic maps.
    pub fn none() -> Self {
        Self {
            temperature: 1.0,
            per_topic: None,
        }
    }
}

/// A loaded, validated model, ready to classify.
#[derive(Debug)]
pub struct Model {
    data: ModelData,
    analyzer: Analyzer,
    features: FeatureSpace,
    nb: FittedNb,
    /// The content hash: the stored one for a model read from a file; for a
    /// model built in memory, computed on first use (hashing a large model's
    /// encoding took about 120 ms of a 20 Newsgroups training run, which
    /// saving then repeated) or taken from the encoding when it is saved.
    version: OnceLock<String>,
    /// The file format it was read from (the current one when built in memory).
    format_version: u32,
}

/// The result of classifying one document.
#[derive(Debug, Clone, PartialEq)]
pub struct Classification {
    pub language: Lang,
    /// Probability per topic, in topic order: the chance each topic applies
    /// (per-topic calibration; need not sum to 1), else the posterior over
    /// topics (sums to 1).
    pub probabilities: Vec<f64>,
    /// Decided topic indices, most probable first. Empty when the text has
    /// no term the model knows.
    pub decided: Vec<usize>,
    /// The document's feature vector, kept for explanations.
    pub vector: SparseVec,
}

impl Classification {
    /// Topic indices, most probable first (topic order breaks ties): the
    /// order in which responses and prediction lines list topics.
    pub fn ranked(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.probabilities.len()).collect();
        order.sort_by(|&a, &b| {
            self.probabilities[b]
                .total_cmp(&self.probabilities[a])
                .then(a.cmp(&b))
        });
        order
    }
}

impl Model {
    /// Validates `data` and builds the runtime pieces.
    pub fn from_data(data: ModelData) -> Result<Self> {
        Self::from_data_with_version(data, None)
    }

    /// [`Model::from_data`] with the version already known (read from a
    /// file's checksum), which saves re-encoding the whole model to hash it.
    pub(crate) fn from_data_with_version(data: ModelData, version: Option<String>) -> Result<Self> {
        let analyzer = Analyzer::new(data.analyzer.clone())?;
        let features = FeatureSpace::from_data(Arc::clone(&data.features))?;
        let nb = FittedNb::from_data(Arc::clone(&data.nb))?;
        Self::assemble(data, analyzer, features, nb, version)
    }

    /// Builds a model from freshly fitted parts, without re-validating and
    /// re-indexing what fitting already produced (the training path).
    pub fn from_parts(
        analyzer: Analyzer,
        features: FeatureSpace,
        nb: FittedNb,
        decision: Decision,
        topics: Vec<TopicMeta>,
        provenance: Provenance,
        calibration: ProbabilityCalibration,
    ) -> Result<Self> {
        let ProbabilityCalibration {
            temperature,
            per_topic,
        } = calibration;
        let data = ModelData {
            analyzer: analyzer.config().clone(),
            features: features.shared_data(),
            nb: nb.shared_data(),
            decision,
            topics,
            provenance,
            temperature,
            per_topic,
        };
        Self::assemble(data, analyzer, features, nb, None)
    }

    /// Cross-checks the parts against each other.
    fn assemble(
        data: ModelData,
        analyzer: Analyzer,
        mut features: FeatureSpace,
        nb: FittedNb,
        version: Option<String>,
    ) -> Result<Self> {
        features.bind_memo_to(&analyzer);
        let t = data.topics.len();
        if nb.n_topics() != t {
            return Err(ModelError::Invalid(format!(
                "{} topics in metadata, {} in the classifier",
                t,
                nb.n_topics()
            )));
        }
        if nb.n_features() != features.n_features() {
            return Err(ModelError::Invalid(format!(
                "{} features in the feature space, {} in the classifier",
                features.n_features(),
                nb.n_features()
            )));
        }
        let mut ids: Vec<&str> = data.topics.iter().map(|m| m.id.as_str()).collect();
        ids.sort_unstable();
        if ids.windows(2).any(|w| w[0] == w[1]) || ids.iter().any(|id| id.is_empty()) {
            return Err(ModelError::Invalid(
                "topic ids must be unique and non-empty".into(),
            ));
        }
        if let Some((thresholds, exclusive)) = data.decision.thresholds_and_exclusive() {
            if thresholds.len() != t || exclusive.len() != t {
                return Err(ModelError::Invalid(format!(
                    "{} thresholds and {} exclusivity flags for {t} topics",
                    thresholds.len(),
                    exclusive.len()
                )));
            }
            if thresholds.iter().any(|v| !(0.0..=1.0).contains(v)) {
                return Err(ModelError::Invalid("a threshold is outside [0, 1]".into()));
            }
            if let Decision::Fallback { by_language, .. } = &data.decision {
                for (lang, own) in by_language {
                    if own.len() != t || own.iter().any(|v| !(0.0..=1.0).contains(v)) {
                        return Err(ModelError::Invalid(format!(
                            "the {} thresholds are not {t} values in [0, 1]",
                            lang.code()
                        )));
                    }
                }
            }
        }
        if !(data.temperature.is_finite() && data.temperature > 0.0) {
            return Err(ModelError::Invalid(format!(
                "temperature must be a finite number > 0, got {}",
                data.temperature
            )));
        }
        if let Some(per_topic) = &data.per_topic {
            per_topic.validate(t).map_err(ModelError::Invalid)?;
        }
        Ok(Self {
            data,
            analyzer,
            features,
            nb,
            version: version.map(OnceLock::from).unwrap_or_default(),
            format_version: FORMAT_VERSION,
        })
    }

    pub fn data(&self) -> &ModelData {
        &self.data
    }

    pub fn topics(&self) -> &[TopicMeta] {
        &self.data.topics
    }

    pub fn topic_index(&self, id: &str) -> Option<usize> {
        self.data.topics.iter().position(|t| t.id == id)
    }

    pub fn analyzer(&self) -> &Analyzer {
        &self.analyzer
    }

    pub fn features(&self) -> &FeatureSpace {
        &self.features
    }

    pub fn nb(&self) -> &FittedNb {
        &self.nb
    }

    pub fn decision(&self) -> &Decision {
        &self.data.decision
    }

    /// Content hash of the model (hex, 16 digits): two files with the same
    /// version classify identically.
    pub fn version(&self) -> &str {
        self.version.get_or_init(|| file::version_of(&self.data))
    }

    /// Records `evaluation` in the provenance. The content changes, so the
    /// version is recomputed from the new encoding, in the current format.
    pub fn add_evaluation(&mut self, evaluation: NamedEvaluation) {
        self.data.provenance.evaluations.push(evaluation);
        self.version = OnceLock::new();
        self.format_version = FORMAT_VERSION;
    }

    /// The file format version the model was read from.
    pub fn format_version(&self) -> u32 {
        self.format_version
    }

    /// The probability temperature (see [`ModelData::temperature`]).
    pub fn temperature(&self) -> f64 {
        self.data.temperature
    }

    /// The per-topic calibration, if the model has one (see [`ModelData::per_topic`]).
    pub fn per_topic_calibration(&self) -> Option<&PerTopicCalibration> {
        self.data.per_topic.as_ref()
    }

    /// Probabilities from joint log-likelihoods, in place: per-topic
    /// calibrated, or the tempered softmax.
    pub fn probabilities_in_place(&self, scores: &mut [f64]) {
        match &self.data.per_topic {
            Some(per_topic) => per_topic.apply(scores),
            None => softmax_with_temperature(scores, self.data.temperature),
        }
    }

    /// Classifies one text. `hint` overrides language detection.
    pub fn classify(&self, text: &str, hint: Option<Lang>) -> Classification {
        let mut ids = crate::scratch::Reused::take(&FEATURE_IDS, MAX_KEPT_IDS);
        let (language, vector) = self
            .features
            .vectorize(&self.analyzer, text, hint, &mut ids);
        if vector.nnz() == 0 {
            // No term the model knows: there is no evidence for any topic.
            // Report the training prior and decide nothing, rather than let
            // flat scores pass low thresholds. Per topic, the prior is the
            // share of training documents that carry it.
            let counts = &self.nb.data().topic_doc_counts;
            let total = match self.data.per_topic {
                Some(_) => self.data.provenance.documents,
                None => counts.iter().sum::<u64>(),
            }
            .max(1) as f64;
            let probabilities = counts
                .iter()
                .map(|&n| (n as f64 / total).min(1.0))
                .collect();
            return Classification {
                language,
                probabilities,
                decided: Vec::new(),
                vector,
            };
        }
        // The vector comes from this model's own feature space, so every
        // feature is in range; uniform probabilities are the safe fallback.
        let probabilities = match self.nb.joint_log_likelihood(&vector) {
            Ok(mut scores) => {
                self.probabilities_in_place(&mut scores);
                scores
            }
            Err(_) => vec![1.0 / self.nb.n_topics() as f64; self.nb.n_topics()],
        };
        let decided = self.data.decision.decide_in(&probabilities, language);
        Classification {
            language,
            probabilities,
            decided,
            vector,
        }
    }

    /// The terms that contributed most to `topic` in a classified document.
    pub fn explain(
        &self,
        classification: &Classification,
        topic: usize,
        top: usize,
    ) -> Vec<(String, f64)> {
        self.nb
            .explain(&classification.vector, topic, top)
            .into_iter()
            .map(|(f, w)| {
                (
                    self.features
                        .term_text(f)
                        .map_or_else(|| format!("feature#{f}"), str::to_string),
                    w,
                )
            })
            .collect()
    }
}

/// Formats seconds since the Unix epoch as RFC 3339 UTC (`2026-11-29T07:14:31Z`).
pub fn rfc3339_utc(unix_seconds: u64) -> String {
    let days = (unix_seconds / 86_400) as i64;
    let secs = unix_seconds % 86_400;
    // Civil-from-days (H. Hinnant), valid for the proleptic Gregorian calendar.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_rfc3339() {
        assert_eq!(super::rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339_utc(1_796_022_871), "2026-11-30T07:14:31Z");
        assert_eq!(super::rfc3339_utc(951_782_400), "2000-02-29T00:00:00Z");
    }
}
