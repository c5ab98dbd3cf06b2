//! The training pipeline: documents + options → a validated [`Model`] and a
//! summary. Binaries and cross-validation ([`cv`]) share it, so
//! cross-validation trains exactly as `docclass-train` does.
//!
//! Steps: analyse every document once (unlabelled ones too, for
//! semi-supervised training); if a tuning grid is given, choose its best
//! candidate by inner cross-validation on these documents ([`tune`]); if
//! validation is on, fit on each training part (by EM with the unlabelled
//! documents, when given) and collect out-of-fold scores, fit the
//! probability calibration and tune per-topic thresholds on them (labelled
//! documents only) and measure held-out metrics; then fit the final model
//! on all documents (beside the folds' fits when there are threads to
//! share) with that calibration and those thresholds.

pub mod cv;
pub mod tune;

use crate::corpus::Document;
use crate::eval::{self, Split};
use crate::features::CsrMatrix;
use crate::features::{
    AnalyzedCorpus, FeatureError, FeatureMode, FeatureParams, FeatureSpace, FittedFeatures,
    SparseVec,
};
use crate::model::{
    HeldOutMetrics, Model, ModelError, NamedEvaluation, ProbabilityCalibration, Provenance,
    SemiSupervised, TopicMeta,
};
use crate::nb::{
    fit_semi_supervised, fit_temperature, refine_thresholds_for_exact_sets,
    softmax_with_temperature, tune_thresholds_with_fallback, Decision, EmParams, EmReport,
    FittedNb, LabelSets, Memberships, NbError, NbParams, NbValidParams, PerTopicCalibration,
    PerTopicMethod,
};
use crate::parallel::{self, Threads};
use crate::text::{Analyzer, AnalyzerConfig, Lang, TextError};
use linfa::dataset::DatasetBase;
use linfa::traits::Fit;
use linfa::ParamGuard;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::borrow::Borrow;
use tune::{TuneError, TuneParams, TuningReport};

/// Errors while training.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("no training documents")]
    NoDocuments,
    #[error("need at least 2 topics to train a classifier, found {}: {}", .0.len(), .0.join(", "))]
    TooFewTopics(Vec<String>),
    #[error(
        "document {id:?} has label {label:?}, which is not among the declared topics ({known})"
    )]
    UnknownLabel {
        id: String,
        label: String,
        known: String,
    },
    #[error("topic {0:?} has no training documents")]
    TopicWithoutDocuments(String),
    #[error("invalid option: {0}")]
    InvalidOption(String),
    #[error(
        "semi-supervised training needs unlabelled documents, and the unlabelled set is empty"
    )]
    NoUnlabelledDocuments,
    /// Cross-validation: training on one fold's training part failed.
    #[error("cross-validation fold {fold} of {folds}: {source}")]
    Fold {
        fold: usize,
        folds: usize,
        source: Box<TrainError>,
    },
    #[error(transparent)]
    Text(#[from] TextError),
    #[error(transparent)]
    Features(#[from] FeatureError),
    #[error(transparent)]
    Nb(#[from] NbError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Tune(#[from] TuneError),
}

pub type Result<T> = std::result::Result<T, TrainError>;

/// How thresholds are tuned and metrics measured before the final fit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Validation {
    None,
    /// Hold out this fraction, stratified by first label.
    Holdout(f64),
    /// K stratified folds; every document is scored once out of fold.
    KFold(u32),
}

/// How label sets are decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionMode {
    /// Argmax when every training document has one label, thresholds otherwise.
    Auto,
    Argmax,
    Thresholds,
    /// Thresholds, with exclusive topics decided only when no other topic
    /// reaches its threshold ([`Decision::Fallback`]).
    Fallback,
}

/// A declared topic: metadata, and whether it is exclusive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopicSpec {
    pub id: String,
    #[serde(default)]
    pub name_en: Option<String>,
    #[serde(default)]
    pub name_fr: Option<String>,
    #[serde(default)]
    pub description: String,
    /// Never combined with another topic (for example `other`).
    #[serde(default)]
    pub exclusive: bool,
}

/// Everything that decides the trained model.
///
/// | field | default | purpose |
/// |---|---|---|
/// | `analyzer` | [`AnalyzerConfig::default`] | text analysis chain |
/// | `features` | [`FeatureParams::default`] | vocabulary and weighting |
/// | `nb` | Complement NB, alpha 0.1 | see [`NbValidParams`] |
/// | `validation` | `KFold(5)` | threshold tuning and reported metrics |
/// | `decision` | `Auto` | argmax or per-topic thresholds |
/// | `seed` | `42` | shuffles for splits |
/// | `calibrate` | `true` | fit probability calibration out of fold |
/// | `calibration` | `Auto` | temperature, or per-topic Platt / isotonic maps |
/// | `semi_supervised` | off | EM with unlabelled documents, see [`SemiSupervisedOptions`] |
/// | `tune` | nothing tuned | candidates chosen by inner CV, see [`TuneParams`] |
/// | `topics` | from the labels, sorted | ids, names, exclusivity |
/// | `created_at` | now | RFC 3339 time stored in the model |
/// | `threads` | 1 | threads to use (the model does not depend on it) |
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainOptions {
    pub analyzer: AnalyzerConfig,
    pub features: FeatureParams,
    pub nb: NbValidParams,
    pub validation: Validation,
    pub decision: DecisionMode,
    pub seed: u64,
    /// Fit probability calibration on out-of-fold scores (needs validation).
    #[serde(default)]
    pub calibrate: bool,
    /// Which calibration `calibrate` fits.
    #[serde(default)]
    pub calibration: CalibrationMethod,
    /// Learn from unlabelled documents too, by EM (left out of the saved
    /// options when off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub semi_supervised: Option<SemiSupervisedOptions>,
    /// Candidates for NB variant, alpha, min_df and weighting, chosen by
    /// inner cross-validation on the training documents before the final fit.
    /// (Left out of the saved options when nothing is tuned, so such models
    /// stay as they were.)
    #[serde(default, skip_serializing_if = "TuneParams::is_inactive")]
    pub tune: TuneParams,
    /// With [`DecisionMode::Fallback`]: thresholds tuned on each language's
    /// validated documents too, for languages with at least
    /// [`MIN_DOCUMENTS_FOR_LANGUAGE_THRESHOLDS`] of them. (Left out of the
    /// saved options when off, so older models' options read as before.)
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub per_language_thresholds: bool,
    /// What the thresholds are tuned for (left out of the saved options at
    /// its default).
    #[serde(default, skip_serializing_if = "ThresholdObjective::is_topic_f1")]
    pub threshold_objective: ThresholdObjective,
    pub topics: Vec<TopicSpec>,
    #[serde(skip)]
    pub created_at: String,
    /// Threads for analysis and for the folds of validation and tuning. The
    /// model is byte-identical whatever the count, so it is not saved.
    #[serde(skip)]
    pub threads: Threads,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            analyzer: AnalyzerConfig::default(),
            features: FeatureParams::default(),
            nb: default_nb(),
            validation: Validation::KFold(5),
            decision: DecisionMode::Auto,
            seed: 42,
            calibrate: true,
            calibration: CalibrationMethod::Auto,
            semi_supervised: None,
            tune: TuneParams::default(),
            per_language_thresholds: false,
            threshold_objective: ThresholdObjective::TopicF1,
            topics: Vec::new(),
            created_at: String::new(),
            threads: Threads::ONE,
        }
    }
}

/// How out-of-fold scores calibrate the probabilities a model serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CalibrationMethod {
    /// Single-label data: `Temperature`. Multi-label data: per-topic
    /// [`AUTO_PER_TOPIC_METHOD`] maps.
    #[default]
    Auto,
    /// One temperature for the softmax over topics (probabilities sum to 1).
    Temperature,
    /// Per topic, Platt scaling of the topic's one-vs-rest log-odds.
    Platt,
    /// Per topic, isotonic regression of the topic's one-vs-rest log-odds.
    Isotonic,
}

/// The per-topic method `Auto` picks for multi-label data (see
/// docs/BENCHMARKS.md for the measurement that chose it).
pub const AUTO_PER_TOPIC_METHOD: PerTopicMethod = PerTopicMethod::Isotonic;

/// The calibration a training run fits, once the data is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CalibrationPlan {
    /// Raw posteriors (temperature 1).
    Off,
    Temperature,
    PerTopic(PerTopicMethod),
}

impl CalibrationPlan {
    fn new(options: &TrainOptions, multi_label: bool) -> CalibrationPlan {
        match (options.calibrate, options.calibration, multi_label) {
            (false, _, _) => CalibrationPlan::Off,
            (true, CalibrationMethod::Auto, false) | (true, CalibrationMethod::Temperature, _) => {
                CalibrationPlan::Temperature
            }
            (true, CalibrationMethod::Auto, true) => {
                CalibrationPlan::PerTopic(AUTO_PER_TOPIC_METHOD)
            }
            (true, CalibrationMethod::Platt, _) => CalibrationPlan::PerTopic(PerTopicMethod::Platt),
            (true, CalibrationMethod::Isotonic, _) => {
                CalibrationPlan::PerTopic(PerTopicMethod::Isotonic)
            }
        }
    }

    /// Fits the calibration on rows of joint log-likelihoods.
    fn fit(self, scores: &[Vec<f64>], gold: &LabelSets) -> Calibrator {
        match self {
            CalibrationPlan::Off => Calibrator::Temperature(1.0),
            CalibrationPlan::Temperature => Calibrator::Temperature(fit_temperature(scores, gold)),
            CalibrationPlan::PerTopic(method) => {
                Calibrator::PerTopic(PerTopicCalibration::fit(method, scores, gold))
            }
        }
    }
}

/// A fitted calibration: from joint log-likelihoods to probabilities.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Calibrator {
    Temperature(f64),
    PerTopic(PerTopicCalibration),
}

impl Calibrator {
    fn apply(&self, scores: &mut [f64]) {
        match self {
            Calibrator::Temperature(t) => softmax_with_temperature(scores, *t),
            Calibrator::PerTopic(maps) => maps.apply(scores),
        }
    }

    /// The model's temperature and per-topic maps.
    fn into_model_calibration(self) -> ProbabilityCalibration {
        match self {
            Calibrator::Temperature(temperature) => ProbabilityCalibration {
                temperature,
                per_topic: None,
            },
            Calibrator::PerTopic(maps) => ProbabilityCalibration {
                temperature: 1.0,
                per_topic: Some(maps),
            },
        }
    }
}

/// Semi-supervised training by EM (Nigam et al. 2000, EM-λ).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SemiSupervisedOptions {
    /// λ, the weight of an unlabelled document against a labelled one, in [0, 1].
    pub lambda: f64,
    /// EM iterations (M-steps) at most.
    pub max_iterations: u32,
    /// Relative change of the log-likelihood under which EM stops.
    pub tolerance: f64,
    /// Use at most this many unlabelled documents, drawn with `seed`.
    #[serde(default)]
    pub sample: Option<usize>,
    /// Seed of that draw.
    pub seed: u64,
}

impl Default for SemiSupervisedOptions {
    fn default() -> Self {
        Self {
            lambda: 0.1,
            max_iterations: 10,
            tolerance: 1e-4,
            sample: None,
            seed: 42,
        }
    }
}

impl SemiSupervisedOptions {
    fn em(&self) -> EmParams {
        EmParams {
            lambda: self.lambda,
            max_iterations: self.max_iterations,
            tolerance: self.tolerance,
        }
    }

    /// The unlabelled documents used: all of them, or a seeded draw of
    /// `sample`, in input order.
    fn draw<'a>(&self, unlabelled: &'a [Document]) -> Vec<&'a Document> {
        match self.sample {
            Some(n) if n < unlabelled.len() => {
                let mut picked: Vec<usize> = (0..unlabelled.len()).collect();
                crate::rng::SplitMix64::new(self.seed).shuffle(&mut picked);
                picked.truncate(n);
                picked.sort_unstable();
                picked.iter().map(|&i| &unlabelled[i]).collect()
            }
            _ => unlabelled.iter().collect(),
        }
    }
}

/// What per-topic thresholds are tuned for on out-of-fold probabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdObjective {
    /// Each topic's own F1.
    #[default]
    TopicF1,
    /// Then, with [`DecisionMode::Fallback`], the exact-set accuracy of the
    /// whole decision ([`refine_thresholds_for_exact_sets`]).
    ExactSet,
}

impl ThresholdObjective {
    fn is_topic_f1(&self) -> bool {
        *self == ThresholdObjective::TopicF1
    }
}

/// Validated documents a language needs for thresholds of its own; with
/// fewer, a per-topic F1 optimum is mostly noise.
pub const MIN_DOCUMENTS_FOR_LANGUAGE_THRESHOLDS: usize = 300;

fn default_nb() -> NbValidParams {
    match NbParams::new().check() {
        Ok(p) => p,
        // The defaults are valid by construction; this arm is unreachable.
        Err(_) => unreachable!("default NB parameters are valid"),
    }
}

/// What training did, for the summary line and the model card.
#[derive(Debug, Clone, Serialize)]
pub struct TrainSummary {
    pub documents: usize,
    pub distinct_terms: usize,
    pub features: usize,
    pub topics: Vec<String>,
    pub topic_documents: Vec<u64>,
    pub multi_label: bool,
    pub held_out: Option<eval::Report>,
    /// Held-out metrics per document language (declared, else detected).
    pub held_out_by_language: std::collections::BTreeMap<String, eval::Report>,
    pub thresholds: Option<Vec<f64>>,
    /// Thresholds of each language that has its own (per-language thresholds).
    pub thresholds_by_language: std::collections::BTreeMap<String, Vec<f64>>,
    /// Probability temperature fitted out of fold (1 without validation,
    /// and with per-topic calibration).
    pub temperature: f64,
    /// The per-topic calibration method, when the model has one.
    pub per_topic_calibration: Option<PerTopicMethod>,
    /// What EM did in the final fit, when unlabelled documents were given.
    pub semi_supervised: Option<SemiSupervisedSummary>,
    /// The tuning grid's scores and choice, when a grid was given.
    pub tuning: Option<TuningReport>,
}

/// EM in the final fit.
#[derive(Debug, Clone, Serialize)]
pub struct SemiSupervisedSummary {
    pub unlabelled_documents: usize,
    pub corpus_sha256: String,
    pub lambda: f64,
    pub report: EmReport,
}

/// Progress callbacks: `analysed(n)` after each document, `stage(name)` at each step.
pub trait Progress {
    fn analysed(&self, _documents: usize) {}
    fn stage(&self, _name: &str) {}
}

/// No progress reporting.
pub struct Silent;
impl Progress for Silent {}

/// Trains a model on `docs`.
pub fn train(
    docs: &[Document],
    options: &TrainOptions,
    progress: &dyn Progress,
) -> Result<(Model, TrainSummary)> {
    train_with_unlabelled(docs, &[], options, progress)
}

/// Trains a model on labelled `docs` and, with
/// [`TrainOptions::semi_supervised`], on `unlabelled` documents by EM (their
/// labels, if any, are ignored). Calibration and thresholds are fitted on
/// the labelled documents' out-of-fold scores only.
pub fn train_with_unlabelled(
    docs: &[Document],
    unlabelled: &[Document],
    options: &TrainOptions,
    progress: &dyn Progress,
) -> Result<(Model, TrainSummary)> {
    if docs.is_empty() {
        return Err(TrainError::NoDocuments);
    }
    let unlabelled = unlabelled_sample(unlabelled, options)?;
    let plan = topics_and_labels(docs, options)?;
    // Checked before the (long) analysis, so a bad option fails at once.
    let splits = validation_splits(docs.len(), &plan.labels, options)?;
    let analyzer = Analyzer::new(options.analyzer.clone())?;
    check_feature_options(options)?;

    let corpus = analyse(docs, &unlabelled, &analyzer, options, progress);
    // Unlabelled documents follow the labelled ones in the analysed corpus.
    let unlabelled_rows: Vec<usize> = (docs.len()..docs.len() + unlabelled.len()).collect();
    let exclusive_topics = plan.exclusive.clone();
    let semi = semi_supervised_fit(options, &unlabelled_rows, &exclusive_topics, &plan);
    let inputs = OutOfFoldInputs {
        docs,
        calibration: CalibrationPlan::new(options, plan.multi_label),
        semi,
        corpus: &corpus,
        labels: &plan.labels,
        splits: &splits,
        use_thresholds: plan.use_thresholds,
        fallback: plan.fallback,
        per_language_thresholds: options.per_language_thresholds,
        threshold_objective: options.threshold_objective,
        exclusive: &plan.exclusive,
        topic_ids: &plan.topic_ids,
        threads: options.threads,
    };

    let (tuned, tuning) = tune_options(options, &inputs, plan.multi_label, progress)?;
    let options = &tuned;
    // With threads to share, the final fit is one more task beside the
    // folds' fits: after five folds on two threads, one thread would
    // otherwise be left alone for the last fold and again for the final
    // fit. On one thread (or with nothing to validate) it comes last, and
    // takes the analysed corpus to free it before its NB table.
    let (out_of_fold, fit) = if options.threads.get() > 1 && !splits.is_empty() {
        validate_beside_final_fit(options, &inputs, progress)?
    } else {
        let out_of_fold = validate_out_of_fold(options, &inputs, progress)?;
        progress.stage("fitting");
        let fit = final_fit(options, corpus, &plan.labels, semi)?;
        (out_of_fold, fit)
    };
    let calibration = out_of_fold.calibrator.into_model_calibration();
    let decision = final_decision(
        &out_of_fold.thresholds,
        &out_of_fold.thresholds_by_language,
        plan.use_thresholds,
        plan.exclusive,
        plan.fallback,
        plan.topics.len(),
    );

    let summary = TrainSummary {
        documents: docs.len(),
        distinct_terms: fit.distinct_terms,
        features: fit.space.n_features(),
        topics: plan.topic_ids.clone(),
        topic_documents: fit.nb.data().topic_doc_counts.clone(),
        multi_label: plan.multi_label,
        held_out: out_of_fold.held_out.clone(),
        held_out_by_language: out_of_fold.held_out_by_language,
        thresholds: out_of_fold.thresholds,
        thresholds_by_language: out_of_fold
            .thresholds_by_language
            .iter()
            .map(|(lang, t)| (lang.code().to_string(), t.clone()))
            .collect(),
        temperature: calibration.temperature,
        per_topic_calibration: calibration.per_topic.as_ref().map(|c| c.method),
        semi_supervised: fit.em_report.as_ref().map(|report| SemiSupervisedSummary {
            unlabelled_documents: unlabelled.len(),
            corpus_sha256: corpus_hash(unlabelled.iter().copied()),
            lambda: options.semi_supervised.map_or(0.0, |s| s.lambda),
            report: report.clone(),
        }),
        tuning,
    };
    let provenance = provenance(
        docs,
        options,
        &summary,
        &fit.nb,
        out_of_fold.held_out.as_ref(),
    );
    let model = Model::from_parts(
        analyzer,
        fit.space,
        fit.nb,
        decision,
        plan.topics,
        provenance,
        calibration,
    )?;
    Ok((model, summary))
}

/// The unlabelled documents EM will use: none without semi-supervised
/// settings, else the settings' sample of `unlabelled`.
fn unlabelled_sample<'a>(
    unlabelled: &'a [Document],
    options: &TrainOptions,
) -> Result<Vec<&'a Document>> {
    Ok(match &options.semi_supervised {
        None if !unlabelled.is_empty() => {
            return Err(TrainError::InvalidOption(
                "unlabelled documents were given without semi-supervised settings".into(),
            ))
        }
        None => Vec::new(),
        Some(_) if unlabelled.is_empty() => return Err(TrainError::NoUnlabelledDocuments),
        Some(semi) => {
            semi.em().validate()?;
            if semi.sample == Some(0) {
                return Err(TrainError::InvalidOption(
                    "the unlabelled sample size must be at least 1".into(),
                ));
            }
            semi.draw(unlabelled)
        }
    })
}

/// The topics a model learns, each document's labels as topic indices, and
/// how the model will decide.
struct TopicsAndLabels {
    topics: Vec<TopicMeta>,
    /// Per topic: whether it excludes the others.
    exclusive: Vec<bool>,
    topic_ids: Vec<String>,
    labels: LabelSets,
    multi_label: bool,
    /// See [`decision_settings`].
    use_thresholds: bool,
    fallback: bool,
}

/// Resolves the topics and maps the labels; fails on fewer than two topics,
/// on a topic without documents, then on decision options that do not fit.
fn topics_and_labels(docs: &[Document], options: &TrainOptions) -> Result<TopicsAndLabels> {
    let (topics, exclusive) = resolve_topics(docs, &options.topics);
    let topic_ids: Vec<String> = topics.iter().map(|t| t.id.clone()).collect();
    let labels = label_sets(docs, &topic_ids)?;
    if topics.len() < 2 {
        return Err(TrainError::TooFewTopics(topic_ids));
    }
    for (c, id) in topic_ids.iter().enumerate() {
        if !labels.labels.iter().any(|l| l.contains(&c)) {
            return Err(TrainError::TopicWithoutDocuments(id.clone()));
        }
    }
    let multi_label = !labels.is_single_label();
    let (use_thresholds, fallback) = decision_settings(options, multi_label)?;
    Ok(TopicsAndLabels {
        topics,
        exclusive,
        topic_ids,
        labels,
        multi_label,
        use_thresholds,
        fallback,
    })
}

/// Whether the model decides by thresholds, and whether they decide as
/// [`Decision::Fallback`]; fails on threshold options the decision ignores.
fn decision_settings(options: &TrainOptions, multi_label: bool) -> Result<(bool, bool)> {
    let use_thresholds = match options.decision {
        DecisionMode::Auto => multi_label,
        DecisionMode::Argmax => false,
        DecisionMode::Thresholds | DecisionMode::Fallback => true,
    };
    let fallback = options.decision == DecisionMode::Fallback;
    if options.per_language_thresholds && !fallback {
        return Err(TrainError::InvalidOption(
            "per-language thresholds need the fallback decision (--decision fallback)".into(),
        ));
    }
    if options.calibrate
        && options.calibration != CalibrationMethod::Auto
        && options.validation == Validation::None
    {
        return Err(TrainError::InvalidOption(
            "a calibration method is fitted on out-of-fold scores and needs validation (--folds or --holdout, not --no-validation)".into(),
        ));
    }
    if options.threshold_objective == ThresholdObjective::ExactSet && !fallback {
        return Err(TrainError::InvalidOption(
            "thresholds tuned for exact sets need the fallback decision (--decision fallback)"
                .into(),
        ));
    }
    Ok((use_thresholds, fallback))
}

/// The validation splits of `documents` documents, stratified by each
/// document's first label.
fn validation_splits(
    documents: usize,
    labels: &LabelSets,
    options: &TrainOptions,
) -> Result<Vec<Split>> {
    let strata: Vec<usize> = labels
        .labels
        .iter()
        .map(|l| l.first().copied().unwrap_or(0))
        .collect();
    Ok(match options.validation {
        Validation::None => Vec::new(),
        Validation::Holdout(f) => {
            if !(f > 0.0 && f < 1.0) {
                return Err(TrainError::InvalidOption(format!(
                    "held-out fraction (--holdout) must be in (0, 1), got {f}"
                )));
            }
            vec![eval::holdout_split(&strata, f, options.seed)]
        }
        Validation::KFold(k) => {
            if k < 2 || k as usize > documents {
                return Err(TrainError::InvalidOption(format!(
                    "folds (--folds) must be between 2 and the number of documents ({documents}), got {k}; --no-validation skips validation"
                )));
            }
            eval::kfold_splits(&strata, k as usize, options.seed)
        }
    })
}

/// Checks the feature options and the tuning grid against them.
fn check_feature_options(options: &TrainOptions) -> Result<()> {
    options.features.validate()?;
    if options.tune.is_active() {
        options.tune.validate(&options.features)?;
    }
    Ok(())
}

/// Analyses the labelled documents, then the unlabelled ones, once.
fn analyse(
    docs: &[Document],
    unlabelled: &[&Document],
    analyzer: &Analyzer,
    options: &TrainOptions,
    progress: &dyn Progress,
) -> AnalyzedCorpus {
    // Every min_df a tuning candidate may use must find its terms' text.
    let text_min_df = options.tune.smallest_min_df(&options.features);
    let mut corpus = match options.features.mode {
        FeatureMode::Vocabulary { .. } => AnalyzedCorpus::new(text_min_df),
        FeatureMode::Hashing { bits } => AnalyzedCorpus::for_hashing(bits),
    };
    // Titles and bodies: near enough the analysed text, for a size guess.
    corpus.reserve_for_text(
        docs.iter()
            .map(|d| d.text.len() + d.title.as_ref().map_or(0, String::len))
            .sum(),
    );
    let document = |i: usize| {
        let d = docs.get(i).unwrap_or_else(|| unlabelled[i - docs.len()]);
        (d.full_text(), d.lang)
    };
    corpus.extend(
        analyzer,
        docs.len() + unlabelled.len(),
        &document,
        options.threads,
        &mut |n| progress.analysed(n),
    );
    corpus
}

/// The unlabelled side of the fits (none without semi-supervised settings):
/// the unlabelled documents' `rows` in the analysed corpus.
fn semi_supervised_fit<'a>(
    options: &TrainOptions,
    rows: &'a [usize],
    exclusive: &'a [bool],
    plan: &TopicsAndLabels,
) -> Option<SemiSupervisedFit<'a>> {
    options.semi_supervised.map(|semi| SemiSupervisedFit {
        rows,
        em: semi.em(),
        memberships: if plan.multi_label {
            Memberships::MultiLabel
        } else {
            Memberships::Posterior
        },
        exclusive,
    })
}

/// The options to train with: the tuning grid's best candidate applied, and
/// what tuning measured; the options as given when there is no grid.
fn tune_options(
    options: &TrainOptions,
    inputs: &OutOfFoldInputs<'_>,
    multi_label: bool,
    progress: &dyn Progress,
) -> Result<(TrainOptions, Option<TuningReport>)> {
    if !options.tune.is_active() {
        return Ok((options.clone(), None));
    }
    progress.stage("tuning");
    let report = tune::select(options, inputs, multi_label)?;
    Ok((
        tune::apply(options, &report.chosen().candidate)?,
        Some(report),
    ))
}

/// Out-of-fold scores on the validation splits, judged (see
/// [`judge_out_of_fold`]). Without validation: raw posteriors, no metrics,
/// untuned thresholds.
fn validate_out_of_fold(
    options: &TrainOptions,
    inputs: &OutOfFoldInputs<'_>,
    progress: &dyn Progress,
) -> Result<OutOfFold> {
    if inputs.splits.is_empty() {
        return Ok(OutOfFold {
            held_out: None,
            held_out_by_language: Default::default(),
            thresholds: None,
            thresholds_by_language: Vec::new(),
            calibrator: Calibrator::Temperature(1.0),
        });
    }
    progress.stage("validating");
    let oof = fold_scores(
        &options.features,
        &fold_nb(options),
        inputs.corpus,
        inputs.labels,
        inputs.splits,
        inputs.semi,
        options.threads,
    )?;
    Ok(judge_out_of_fold(
        inputs,
        oof.into_iter().next().unwrap_or_default(),
    ))
}

/// The NB parameters of the validation folds' fits: a rare topic can be
/// missing from a fold's training part.
fn fold_nb(options: &TrainOptions) -> [NbValidParams; 1] {
    [options.nb.allowing_empty_topics()]
}

/// [`validate_out_of_fold`] with the final fit as one more task on the
/// same threads, first, as the longest. A fold's error comes first, as it
/// would without the final fit.
fn validate_beside_final_fit(
    options: &TrainOptions,
    inputs: &OutOfFoldInputs<'_>,
    progress: &dyn Progress,
) -> Result<(OutOfFold, FinalFit)> {
    enum Task<'s> {
        FinalFit,
        Fold(&'s Split),
    }
    enum Done {
        FinalFit(Result<FinalFit>),
        Fold(Result<SplitScores>),
    }
    progress.stage("validating");
    let nb = fold_nb(options);
    let final_fit = || final_fit(options, inputs.corpus, inputs.labels, inputs.semi);
    let tasks: Vec<Task<'_>> = std::iter::once(Task::FinalFit)
        .chain(inputs.splits.iter().map(Task::Fold))
        .collect();
    let done = parallel::map_in_order(&tasks, options.threads, |task| match task {
        Task::FinalFit => Done::FinalFit(final_fit()),
        Task::Fold(split) => Done::Fold(split_scores(
            &options.features,
            &nb,
            inputs.corpus,
            inputs.labels,
            split,
            inputs.semi,
        )),
    });
    let mut fit = None;
    let mut folds = Vec::with_capacity(inputs.splits.len());
    for task in done {
        match task {
            Done::FinalFit(f) => fit = Some(f),
            Done::Fold(scores) => folds.push(scores),
        }
    }
    let oof = gather_out_of_fold(folds, inputs.labels.labels.len(), nb.len())?;
    // `map_in_order` gives every task's result, so the final fit is there.
    let fit = fit.unwrap_or_else(final_fit)?;
    let out_of_fold = judge_out_of_fold(inputs, oof.into_iter().next().unwrap_or_default());
    Ok((out_of_fold, fit))
}

/// The final model's decision: the validated thresholds, if it decides by
/// thresholds.
fn final_decision(
    thresholds: &Option<Vec<f64>>,
    thresholds_by_language: &[(Lang, Vec<f64>)],
    use_thresholds: bool,
    exclusive: Vec<bool>,
    fallback: bool,
    topics: usize,
) -> Decision {
    match (thresholds, use_thresholds) {
        (Some(t), true) => Decision::thresholded(
            t.clone(),
            exclusive,
            fallback,
            thresholds_by_language.to_vec(),
        ),
        // No validation data to tune on: the posterior's natural cut.
        (None, true) => Decision::thresholded(vec![0.5; topics], exclusive, fallback, Vec::new()),
        _ => Decision::Argmax,
    }
}

/// What the final fit on every labelled document gives.
struct FinalFit {
    space: FeatureSpace,
    nb: FittedNb,
    em_report: Option<EmReport>,
    distinct_terms: usize,
}

/// Fits the feature space and NB on every labelled document (and the
/// unlabelled ones, by EM, with `semi`). Given the analysed corpus itself
/// (not a reference), frees it before the features × topics table is built:
/// it is the largest structure, and once validation is done nothing else
/// needs it.
fn final_fit(
    options: &TrainOptions,
    corpus: impl Borrow<AnalyzedCorpus>,
    labels: &LabelSets,
    semi: Option<SemiSupervisedFit<'_>>,
) -> Result<FinalFit> {
    let all: Vec<usize> = (0..labels.labels.len()).collect();
    let features = fit_space(&options.features, corpus.borrow(), &all, semi)?;
    let x = features.matrix(corpus.borrow(), &all);
    let u = semi.map(|semi| features.matrix(corpus.borrow(), semi.rows));
    let space = features.into_space();
    let distinct_terms = corpus.borrow().distinct_terms();
    drop(corpus);
    let labelled = DatasetBase::new(x, labels.clone());
    let (nb, em_report) = fit_nb(&options.nb, &labelled, u.as_ref(), semi)?;
    Ok(FinalFit {
        space,
        nb,
        em_report,
        distinct_terms,
    })
}

/// What the model records of how it was made.
fn provenance(
    docs: &[Document],
    options: &TrainOptions,
    summary: &TrainSummary,
    nb: &FittedNb,
    held_out: Option<&eval::Report>,
) -> Provenance {
    Provenance {
        created_at: options.created_at.clone(),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        corpus_sha256: corpus_hash(docs),
        documents: docs.len() as u64,
        topic_documents: nb.data().topic_doc_counts.clone(),
        train_options_json: options_json(options, summary.tuning.as_ref()),
        held_out: held_out.map(stored_metrics),
        evaluations: Vec::new(),
        semi_supervised: match (&summary.semi_supervised, options.semi_supervised) {
            (Some(done), Some(semi)) => Some(SemiSupervised {
                corpus_sha256: done.corpus_sha256.clone(),
                documents: done.unlabelled_documents as u64,
                lambda: semi.lambda,
                max_iterations: semi.max_iterations,
                tolerance: semi.tolerance,
                iterations: done.report.iterations,
                converged: done.report.converged,
            }),
            _ => None,
        },
    }
}

/// The options as used (tuned values in place), and what tuning measured.
fn options_json(options: &TrainOptions, tuning: Option<&TuningReport>) -> String {
    match tuning {
        None => serde_json::to_string(options).unwrap_or_default(),
        Some(t) => {
            let mut value = serde_json::to_value(options).unwrap_or_default();
            if let Some(obj) = value.as_object_mut() {
                obj.insert(
                    "tuning".to_string(),
                    serde_json::to_value(t).unwrap_or_default(),
                );
            }
            value.to_string()
        }
    }
}

/// The unlabelled side of a semi-supervised fit.
#[derive(Clone, Copy)]
pub(crate) struct SemiSupervisedFit<'a> {
    /// The unlabelled documents' rows in the analysed corpus.
    rows: &'a [usize],
    em: EmParams,
    memberships: Memberships,
    exclusive: &'a [bool],
}

/// The feature space of a fit: learned from the labelled `rows` and the
/// unlabelled documents, so that words only they hold get weights.
fn fit_space(
    features: &FeatureParams,
    corpus: &AnalyzedCorpus,
    rows: &[usize],
    semi: Option<SemiSupervisedFit<'_>>,
) -> Result<FittedFeatures> {
    Ok(match semi {
        None => FeatureSpace::fit(features, corpus, rows)?,
        Some(semi) => {
            let both: Vec<usize> = rows.iter().chain(semi.rows).copied().collect();
            FeatureSpace::fit(features, corpus, &both)?
        }
    })
}

/// NB on the labelled matrix `x`; by EM with the unlabelled matrix `u`
/// when `semi` is given.
fn fit_nb(
    params: &NbValidParams,
    labelled: &DatasetBase<CsrMatrix, LabelSets>,
    u: Option<&CsrMatrix>,
    semi: Option<SemiSupervisedFit<'_>>,
) -> Result<(FittedNb, Option<EmReport>)> {
    match (semi, u) {
        (Some(semi), Some(u)) => {
            let (nb, report) = fit_semi_supervised(
                params,
                &labelled.records,
                &labelled.targets,
                u,
                &semi.em,
                semi.memberships,
                semi.exclusive,
            )?;
            Ok((nb, Some(report)))
        }
        _ => Ok((params.fit(labelled)?, None)),
    }
}

/// What validation measured and fitted.
pub(crate) struct OutOfFold {
    held_out: Option<eval::Report>,
    held_out_by_language: std::collections::BTreeMap<String, eval::Report>,
    thresholds: Option<Vec<f64>>,
    thresholds_by_language: Vec<(Lang, Vec<f64>)>,
    calibrator: Calibrator,
}

/// What judging out-of-fold scores needs besides the scores.
#[derive(Clone, Copy)]
pub(crate) struct OutOfFoldInputs<'a> {
    docs: &'a [Document],
    /// The calibration to fit (see [`TrainOptions::calibration`]).
    calibration: CalibrationPlan,
    /// Unlabelled documents for EM, if any.
    semi: Option<SemiSupervisedFit<'a>>,
    corpus: &'a AnalyzedCorpus,
    labels: &'a LabelSets,
    splits: &'a [Split],
    use_thresholds: bool,
    /// Thresholds decide as [`Decision::Fallback`].
    fallback: bool,
    /// See [`TrainOptions::per_language_thresholds`].
    per_language_thresholds: bool,
    threshold_objective: ThresholdObjective,
    exclusive: &'a [bool],
    topic_ids: &'a [String],
    /// Threads for the calibrations and thresholds judging fits: the
    /// model's, on every row, and each fold's.
    threads: Threads,
}

/// Per NB parameter set, each document's out-of-fold joint log-likelihoods
/// (`None` for a document in no test part).
type OutOfFoldScores = Vec<Vec<Option<Vec<f64>>>>;

/// Out-of-fold joint log-likelihoods of every document (`None` for one in no
/// test part), one table per entry of `nbs`: on each split, the feature space
/// is fitted on the training part once and serves every NB parameter set.
pub(crate) fn fold_scores(
    features: &FeatureParams,
    nbs: &[NbValidParams],
    corpus: &AnalyzedCorpus,
    labels: &LabelSets,
    splits: &[Split],
    semi: Option<SemiSupervisedFit<'_>>,
    threads: Threads,
) -> Result<OutOfFoldScores> {
    // Folds are independent: each is fitted whole on one thread, and the
    // scores are gathered in fold order, so the result does not depend on
    // the thread count.
    let per_split = parallel::map_in_order(splits, threads, |split| {
        split_scores(features, nbs, corpus, labels, split, semi)
    });
    gather_out_of_fold(per_split, labels.labels.len(), nbs.len())
}

/// The out-of-fold tables of `documents` documents and `tables` NB
/// parameter sets, from each split's scores in fold order; the first
/// split's error, if any.
fn gather_out_of_fold(
    per_split: Vec<Result<SplitScores>>,
    documents: usize,
    tables: usize,
) -> Result<OutOfFoldScores> {
    let mut oof: OutOfFoldScores = vec![vec![None; documents]; tables];
    for split_scores in per_split {
        for (scores, fold) in oof.iter_mut().zip(split_scores?) {
            for (i, score) in fold {
                scores[i] = Some(score);
            }
        }
    }
    Ok(oof)
}

/// Per NB parameter set, one split's test documents with their joint
/// log-likelihoods.
type SplitScores = Vec<Vec<(usize, Vec<f64>)>>;

/// One split's test documents with their joint log-likelihoods, per entry
/// of `nbs`, from fits on its training part.
fn split_scores(
    features: &FeatureParams,
    nbs: &[NbValidParams],
    corpus: &AnalyzedCorpus,
    labels: &LabelSets,
    split: &Split,
    semi: Option<SemiSupervisedFit<'_>>,
) -> Result<SplitScores> {
    let fitted = fit_space(features, corpus, &split.train, semi)?;
    let x = fitted.matrix(corpus, &split.train);
    let test: Vec<SparseVec> = split
        .test
        .iter()
        .map(|&i| fitted.transform(&corpus.docs[i]))
        .collect();
    let dataset = DatasetBase::new(x, labels.subset(&split.train));
    let u = semi.map(|semi| fitted.matrix(corpus, semi.rows));
    nbs.iter()
        .map(|params| {
            let (nb, _) = fit_nb(params, &dataset, u.as_ref(), semi)?;
            split
                .test
                .iter()
                .zip(&test)
                .map(|(&i, v)| Ok((i, nb.joint_log_likelihood(v)?)))
                .collect::<Result<Vec<_>>>()
        })
        .collect()
}

/// From out-of-fold scores (see [`fold_scores`]): fits the temperature and
/// thresholds the final model keeps, and measures the held-out metrics (each
/// fold decided with values fitted on the other folds).
pub(crate) fn judge_out_of_fold(
    inputs: &OutOfFoldInputs<'_>,
    oof: Vec<Option<Vec<f64>>>,
) -> OutOfFold {
    let judge = Judge::new(inputs, oof);
    // The model keeps the temperature and thresholds fitted on every
    // out-of-fold score. The *reported* metrics must not be measured on
    // the data they were fitted on: with several folds, each fold is
    // decided with a temperature and thresholds fitted on the other folds
    // only (see [`Judge::predict_fold`]). Those fits are independent, so
    // they run on the threads, each whole on one.
    let tasks: Vec<Option<usize>> = std::iter::once(None)
        .chain((0..inputs.splits.len()).map(Some))
        .collect();
    let judged = parallel::map_in_order(&tasks, inputs.threads, |task| match *task {
        None => Judged::Model(judge.fit_on_every_row()),
        Some(f) => Judged::Fold(judge.predict_fold(f)),
    });
    let mut model_values = None;
    let mut predicted: Vec<Vec<usize>> = vec![Vec::new(); judge.scored.len()];
    for task in judged {
        match task {
            Judged::Model(values) => model_values = Some(values),
            Judged::Fold(rows) => {
                for (k, topics) in rows {
                    predicted[k] = topics;
                }
            }
        }
    }
    let (calibrator, thresholds, thresholds_by_language) =
        model_values.unwrap_or_else(|| judge.fit_on_every_row());
    OutOfFold {
        held_out: Some(eval::evaluate(
            &judge.gold.labels,
            &predicted,
            inputs.topic_ids,
        )),
        held_out_by_language: judge.metrics_by_language(&predicted),
        thresholds,
        thresholds_by_language,
        calibrator,
    }
}

/// The model's calibration, thresholds and thresholds by language.
type ModelValues = (Calibrator, Option<Vec<f64>>, Vec<(Lang, Vec<f64>)>);

/// What one of [`judge_out_of_fold`]'s tasks gives.
enum Judged {
    Model(ModelValues),
    /// A fold's rows and their predicted topics.
    Fold(Vec<(usize, Vec<usize>)>),
}

/// Out-of-fold scores with what judging them needs. Rows (`k`) number the
/// scored documents; `scored[k]` is a row's document (`i`).
struct Judge<'a> {
    inputs: &'a OutOfFoldInputs<'a>,
    /// The documents in some test part.
    scored: Vec<usize>,
    /// Their scores.
    scores: Vec<Vec<f64>>,
    /// Their labels.
    gold: LabelSets,
    /// Each document's test fold.
    fold_of: Vec<usize>,
    /// Languages with thresholds of their own: decided once, on every
    /// scored document, so that each fold is decided as the model will be.
    own_languages: Vec<Lang>,
}

impl<'a> Judge<'a> {
    fn new(inputs: &'a OutOfFoldInputs<'a>, oof: Vec<Option<Vec<f64>>>) -> Self {
        let docs = inputs.docs;
        let scored: Vec<usize> = (0..docs.len()).filter(|&i| oof[i].is_some()).collect();
        let scores: Vec<Vec<f64>> = scored.iter().filter_map(|&i| oof[i].clone()).collect();
        let gold = inputs.labels.subset(&scored);
        let mut fold_of = vec![0usize; docs.len()];
        for (f, split) in inputs.splits.iter().enumerate() {
            for &i in &split.test {
                fold_of[i] = f;
            }
        }
        let mut judge = Judge {
            inputs,
            scored,
            scores,
            gold,
            fold_of,
            own_languages: Vec::new(),
        };
        if inputs.per_language_thresholds {
            let mut counts: std::collections::BTreeMap<Lang, usize> = Default::default();
            for k in 0..judge.scored.len() {
                if let Some(lang) = judge.language_of_row(k) {
                    *counts.entry(lang).or_default() += 1;
                }
            }
            judge.own_languages = counts
                .into_iter()
                .filter(|&(_, n)| n >= MIN_DOCUMENTS_FOR_LANGUAGE_THRESHOLDS)
                .map(|(lang, _)| lang)
                .collect();
        }
        judge
    }

    /// A document's language: declared, else detected (as `Model::classify`
    /// picks the thresholds it applies).
    fn language_of(&self, i: usize) -> Option<Lang> {
        self.inputs.docs[i].lang.or(self.inputs.corpus.docs[i].lang)
    }

    fn language_of_row(&self, k: usize) -> Option<Lang> {
        self.language_of(self.scored[k])
    }

    /// Thresholds tuned on probabilities `p` with labels `g`.
    fn tune(&self, p: &[Vec<f64>], g: &LabelSets) -> Vec<f64> {
        let per_topic = tune_thresholds_with_fallback(p, g);
        match self.inputs.threshold_objective {
            ThresholdObjective::TopicF1 => per_topic,
            ThresholdObjective::ExactSet => {
                refine_thresholds_for_exact_sets(p, g, self.inputs.exclusive, &per_topic)
            }
        }
    }

    /// The calibration fitted on `rows`, and every row's probabilities by it.
    fn calibrate(&self, rows: &[usize]) -> (Calibrator, Vec<Vec<f64>>) {
        let s: Vec<Vec<f64>> = rows.iter().map(|&k| self.scores[k].clone()).collect();
        let calibrator = self.inputs.calibration.fit(&s, &self.gold.subset(rows));
        let probs = self
            .scores
            .iter()
            .map(|row| {
                let mut p = row.clone();
                calibrator.apply(&mut p);
                p
            })
            .collect();
        (calibrator, probs)
    }

    /// The rows fold `f` is decided with values fitted on: the other folds'.
    /// (A single hold-out split has nothing else to fit on, so its metrics
    /// are optimistic.)
    fn other_rows(&self, f: usize) -> Vec<usize> {
        if self.inputs.splits.len() > 1 {
            (0..self.scored.len())
                .filter(|&k| self.fold_of[self.scored[k]] != f)
                .collect()
        } else {
            (0..self.scored.len()).collect()
        }
    }

    /// Thresholds of each own language, tuned on its part of `rows`.
    fn tune_by_language(&self, rows: &[usize], probs: &[Vec<f64>]) -> Vec<(Lang, Vec<f64>)> {
        self.own_languages
            .iter()
            .map(|&lang| {
                let own: Vec<usize> = rows
                    .iter()
                    .copied()
                    .filter(|&k| self.language_of_row(k) == Some(lang))
                    .collect();
                let p: Vec<Vec<f64>> = own.iter().map(|&k| probs[k].clone()).collect();
                (lang, self.tune(&p, &self.gold.subset(&own)))
            })
            .collect()
    }

    /// The model's calibration and thresholds: fitted on every row.
    fn fit_on_every_row(&self) -> ModelValues {
        let all_rows: Vec<usize> = (0..self.scored.len()).collect();
        let (calibrator, probs) = self.calibrate(&all_rows);
        if !self.inputs.use_thresholds {
            return (calibrator, None, Vec::new());
        }
        let thresholds = self.tune(&probs, &self.gold);
        let by_language = self.tune_by_language(&all_rows, &probs);
        (calibrator, Some(thresholds), by_language)
    }

    /// Fold `f`'s rows with their predicted topics, decided with a
    /// calibration and thresholds fitted on the other folds.
    fn predict_fold(&self, f: usize) -> Vec<(usize, Vec<usize>)> {
        let rows = self.other_rows(f);
        let (_, fold_probs) = self.calibrate(&rows);
        let decision = if self.inputs.use_thresholds {
            let p: Vec<Vec<f64>> = rows.iter().map(|&k| fold_probs[k].clone()).collect();
            Decision::thresholded(
                self.tune(&p, &self.gold.subset(&rows)),
                self.inputs.exclusive.to_vec(),
                self.inputs.fallback,
                self.tune_by_language(&rows, &fold_probs),
            )
        } else {
            Decision::Argmax
        };
        (0..self.scored.len())
            .filter(|&k| self.fold_of[self.scored[k]] == f)
            .map(|k| {
                let topics = match self.language_of_row(k) {
                    Some(lang) => decision.decide_in(&fold_probs[k], lang),
                    None => decision.decide(&fold_probs[k]),
                };
                (k, topics)
            })
            .collect()
    }

    /// Held-out metrics of each language (`und` when unknown).
    fn metrics_by_language(
        &self,
        predicted: &[Vec<usize>],
    ) -> std::collections::BTreeMap<String, eval::Report> {
        let language_code = |i: usize| self.language_of(i).map_or("und", |l| l.code());
        let mut languages: Vec<&str> = self.scored.iter().map(|&i| language_code(i)).collect();
        languages.sort_unstable();
        languages.dedup();
        let mut by_language = std::collections::BTreeMap::new();
        for lang in languages {
            let rows: Vec<usize> = (0..self.scored.len())
                .filter(|&k| language_code(self.scored[k]) == lang)
                .collect();
            let g: Vec<Vec<usize>> = rows.iter().map(|&k| self.gold.labels[k].clone()).collect();
            let p: Vec<Vec<usize>> = rows.iter().map(|&k| predicted[k].clone()).collect();
            by_language.insert(
                lang.to_string(),
                eval::evaluate(&g, &p, self.inputs.topic_ids),
            );
        }
        by_language
    }
}

/// A likely mistake in training labels, found before training.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelWarning {
    /// Labels that differ only in case or surrounding white space: one
    /// topic written several ways becomes several topics.
    LookAlike(Vec<String>),
    /// A label holding `,` or `;`: probably several labels joined with a
    /// separator the reader does not split on.
    ListLike(String),
    /// A topic with fewer than [`MIN_TOPIC_DOCUMENTS`] documents.
    Rare { label: String, documents: usize },
}

/// Documents a topic needs before a model can learn much about it.
pub const MIN_TOPIC_DOCUMENTS: usize = 5;

impl std::fmt::Display for LabelWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LabelWarning::LookAlike(labels) => write!(
                f,
                "labels {} differ only in case or surrounding spaces, and become separate topics",
                labels
                    .iter()
                    .map(|l| format!("{l:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            LabelWarning::ListLike(label) => write!(
                f,
                "label {label:?} contains ',' or ';': if it holds several labels, split them (CSV: --csv-label-separator)"
            ),
            LabelWarning::Rare { label, documents } => write!(
                f,
                "topic {label:?} has only {documents} document{} (fewer than {MIN_TOPIC_DOCUMENTS})",
                if *documents == 1 { "" } else { "s" }
            ),
        }
    }
}

/// Likely label mistakes in `docs`, in a stable order: look-alikes, then
/// list-like labels, then rare topics (each by label).
pub fn label_warnings(docs: &[Document]) -> Vec<LabelWarning> {
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    for d in docs {
        for l in &d.labels {
            *counts.entry(l.as_str()).or_default() += 1;
        }
    }
    let mut by_key: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for label in counts.keys() {
        by_key
            .entry(label.trim().to_lowercase())
            .or_default()
            .push(label.to_string());
    }
    let mut warnings: Vec<LabelWarning> = by_key
        .into_values()
        .filter(|group| group.len() > 1)
        .map(LabelWarning::LookAlike)
        .collect();
    warnings.extend(
        counts
            .keys()
            .filter(|l| l.contains([',', ';']))
            .map(|l| LabelWarning::ListLike(l.to_string())),
    );
    warnings.extend(
        counts
            .iter()
            .filter(|&(_, &n)| n < MIN_TOPIC_DOCUMENTS)
            .map(|(l, &n)| LabelWarning::Rare {
                label: l.to_string(),
                documents: n,
            }),
    );
    warnings
}

/// The declared topics, or (none declared) one per label, sorted by id.
pub(crate) fn topic_specs(docs: &[Document], declared: &[TopicSpec]) -> Vec<TopicSpec> {
    if !declared.is_empty() {
        return declared.to_vec();
    }
    let mut ids: Vec<&str> = docs
        .iter()
        .flat_map(|d| d.labels.iter().map(String::as_str))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids.into_iter()
        .map(|id| TopicSpec {
            id: id.to_string(),
            name_en: None,
            name_fr: None,
            description: String::new(),
            exclusive: false,
        })
        .collect()
}

/// The topic list (declared topics in their order, or the labels sorted) and
/// each topic's exclusivity.
fn resolve_topics(docs: &[Document], declared: &[TopicSpec]) -> (Vec<TopicMeta>, Vec<bool>) {
    let specs = topic_specs(docs, declared);
    let exclusive = specs.iter().map(|s| s.exclusive).collect();
    let topics = specs
        .into_iter()
        .map(|s| {
            let name_en = s.name_en.clone().unwrap_or_else(|| s.id.clone());
            TopicMeta {
                name_fr: s.name_fr.unwrap_or_else(|| name_en.clone()),
                name_en,
                id: s.id,
                description: s.description,
            }
        })
        .collect();
    (topics, exclusive)
}

/// One document's `labels` as indices into `topics`, each once, in label
/// order; `unknown` decides what a label not in `topics` does: an error
/// stops, `Ok` skips the label.
pub fn topic_indices<E>(
    labels: &[String],
    topics: &[String],
    mut unknown: impl FnMut(&str) -> std::result::Result<(), E>,
) -> std::result::Result<Vec<usize>, E> {
    let mut set = Vec::with_capacity(labels.len());
    for l in labels {
        match topics.iter().position(|t| t == l) {
            Some(c) if set.contains(&c) => {}
            Some(c) => set.push(c),
            None => unknown(l)?,
        }
    }
    Ok(set)
}

/// Every document's labels as topic indices; an unknown label fails.
pub(crate) fn label_sets(docs: &[Document], topic_ids: &[String]) -> Result<LabelSets> {
    let mut labels = Vec::with_capacity(docs.len());
    for d in docs {
        labels.push(topic_indices(&d.labels, topic_ids, |l| {
            Err(TrainError::UnknownLabel {
                id: d.id.clone(),
                label: l.to_string(),
                known: topic_ids.join(", "),
            })
        })?);
    }
    Ok(LabelSets::new(topic_ids.len(), labels))
}

/// The part of a report a model file keeps.
fn stored_metrics(r: &eval::Report) -> HeldOutMetrics {
    HeldOutMetrics {
        documents: r.documents,
        accuracy: r.accuracy,
        macro_f1: r.macro_f1,
        micro_f1: r.micro_f1,
        topic_f1: r.per_topic.iter().map(|m| m.f1).collect(),
    }
}

/// Scores a finished model on `docs`, a labelled set that took no part in
/// its training, under `name`; [`Model::add_evaluation`] records the result.
/// Only the model's decisions are scored: nothing here feeds back into
/// training. A label the model does not know is an error.
pub fn evaluate_named(model: &Model, name: &str, docs: &[Document]) -> Result<NamedEvaluation> {
    if docs.is_empty() {
        return Err(TrainError::InvalidOption(format!(
            "evaluation set {name:?} has no documents"
        )));
    }
    let topic_ids: Vec<String> = model.topics().iter().map(|t| t.id.clone()).collect();
    let gold = label_sets(docs, &topic_ids)?.labels;
    let predicted: Vec<Vec<usize>> = docs
        .iter()
        .map(|d| model.classify(&d.full_text(), d.lang).decided)
        .collect();
    let report = eval::evaluate(&gold, &predicted, &topic_ids);
    Ok(NamedEvaluation {
        name: name.to_string(),
        corpus_sha256: corpus_hash(docs),
        metrics: stored_metrics(&report),
    })
}

/// The id of the first document of `held` that is also in `training`, by id
/// or by the same text (white space aside): a set that shares one is no
/// independent test.
pub fn first_shared_document(training: &[Document], held: &[Document]) -> Option<String> {
    let words = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
    let ids: std::collections::HashSet<&str> = training.iter().map(|d| d.id.as_str()).collect();
    let texts: std::collections::HashSet<String> =
        training.iter().map(|d| words(&d.text)).collect();
    held.iter()
        .find(|d| ids.contains(d.id.as_str()) || texts.contains(&words(&d.text)))
        .map(|d| d.id.clone())
}

/// Checks, before a long training run, that `set` can be scored under
/// `name` as an evaluation of the model `training` and `options` give: not
/// empty, every label one of the model's topics, and no document shared
/// with the training data.
pub fn check_evaluation_set(
    name: &str,
    training: &[Document],
    options: &TrainOptions,
    set: &[Document],
) -> Result<()> {
    if set.is_empty() {
        return Err(TrainError::InvalidOption(format!(
            "evaluation set {name:?} has no documents"
        )));
    }
    let topic_ids: Vec<String> = topic_specs(training, &options.topics)
        .into_iter()
        .map(|t| t.id)
        .collect();
    label_sets(set, &topic_ids)?;
    if let Some(id) = first_shared_document(training, set) {
        return Err(TrainError::InvalidOption(format!(
            "evaluation set {name:?}: document {id:?} is also in the training data; an evaluation set must be disjoint from it"
        )));
    }
    Ok(())
}

/// SHA-256 over every document's id, title, text and labels, in order.
pub fn corpus_hash<'a>(docs: impl IntoIterator<Item = &'a Document>) -> String {
    let mut h = Sha256::new();
    for d in docs {
        for part in [
            d.id.as_str(),
            d.title.as_deref().unwrap_or(""),
            d.text.as_str(),
        ] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        for l in &d.labels {
            h.update((l.len() as u64).to_le_bytes());
            h.update(l.as_bytes());
        }
    }
    crate::hash::hex(&h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::testing::doc;

    #[test]
    fn look_alike_list_like_and_rare_labels_are_reported() {
        let mut docs: Vec<Document> = (0..6).map(|i| doc(i, &["sport"], "match")).collect();
        docs.push(doc(6, &["Sport"], "goal"));
        docs.push(doc(7, &["business,news"], "shares"));
        docs.extend((8..14).map(|i| doc(i, &["news"], "story")));
        let warnings = label_warnings(&docs);
        assert_eq!(
            warnings,
            [
                LabelWarning::LookAlike(vec!["Sport".into(), "sport".into()]),
                LabelWarning::ListLike("business,news".into()),
                LabelWarning::Rare {
                    label: "Sport".into(),
                    documents: 1
                },
                LabelWarning::Rare {
                    label: "business,news".into(),
                    documents: 1
                },
            ]
        );
        assert_eq!(
            warnings[0].to_string(),
            "labels \"Sport\", \"sport\" differ only in case or surrounding spaces, and become separate topics"
        );
        let clean: Vec<Document> = (0..10)
            .map(|i| doc(i, &[["a", "b"][i % 2]], "text"))
            .collect();
        assert!(label_warnings(&clean).is_empty());
    }
}
