//! The training pipeline: documents + options → a validated [`Model`] and a
//! summary. Binaries and the evaluation harness share it, so cross-validation
//! trains exactly as `docclass-train` does.
//!
//! Steps: analyse every document once; if a tuning grid is given, choose its
//! best candidate by inner cross-validation on these documents ([`tune`]);
//! if validation is on, fit on each training part and collect out-of-fold
//! probabilities, tune per-topic thresholds on them (multi-label data) and
//! measure held-out metrics; then fit the final model on all documents with
//! those thresholds.

pub mod tune;

use crate::corpus::Document;
use crate::eval::{self, Split};
use crate::features::{
    AnalyzedCorpus, FeatureError, FeatureMode, FeatureParams, FeatureSpace, SparseVec,
};
use crate::model::{HeldOutMetrics, Model, ModelError, NamedEvaluation, Provenance, TopicMeta};
use crate::nb::{
    fit_temperature, refine_thresholds_for_exact_sets, softmax_with_temperature,
    tune_thresholds_with_fallback, Decision, LabelSets, NbError, NbParams, NbValidParams,
};
use crate::text::{Analyzer, AnalyzerConfig, Lang, TextError};
use linfa::dataset::DatasetBase;
use linfa::traits::Fit;
use linfa::ParamGuard;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
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
/// | `calibrate` | `true` | fit a probability temperature out of fold |
/// | `tune` | nothing tuned | candidates chosen by inner CV, see [`TuneParams`] |
/// | `topics` | from the labels, sorted | ids, names, exclusivity |
/// | `created_at` | now | RFC 3339 time stored in the model |
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainOptions {
    pub analyzer: AnalyzerConfig,
    pub features: FeatureParams,
    pub nb: NbValidParams,
    pub validation: Validation,
    pub decision: DecisionMode,
    pub seed: u64,
    /// Fit a probability temperature on out-of-fold scores (needs validation).
    #[serde(default)]
    pub calibrate: bool,
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
            tune: TuneParams::default(),
            per_language_thresholds: false,
            threshold_objective: ThresholdObjective::TopicF1,
            topics: Vec::new(),
            created_at: String::new(),
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
    /// Probability temperature fitted out of fold (1 without validation).
    pub temperature: f64,
    /// The tuning grid's scores and choice, when a grid was given.
    pub tuning: Option<TuningReport>,
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
    if docs.is_empty() {
        return Err(TrainError::NoDocuments);
    }
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
    if options.threshold_objective == ThresholdObjective::ExactSet && !fallback {
        return Err(TrainError::InvalidOption(
            "thresholds tuned for exact sets need the fallback decision (--decision fallback)"
                .into(),
        ));
    }

    // Checked before the (long) analysis, so a bad option fails at once.
    let strata: Vec<usize> = labels
        .labels
        .iter()
        .map(|l| l.first().copied().unwrap_or(0))
        .collect();
    let splits: Vec<Split> = match options.validation {
        Validation::None => Vec::new(),
        Validation::Holdout(f) => {
            if !(f > 0.0 && f < 1.0) {
                return Err(TrainError::InvalidOption(format!(
                    "held-out fraction must be in (0, 1), got {f}"
                )));
            }
            vec![eval::holdout_split(&strata, f, options.seed)]
        }
        Validation::KFold(k) => {
            if k < 2 || k as usize > docs.len() {
                return Err(TrainError::InvalidOption(format!(
                    "folds must be between 2 and the number of documents ({}), got {k}",
                    docs.len()
                )));
            }
            eval::kfold_splits(&strata, k as usize, options.seed)
        }
    };

    let analyzer = Analyzer::new(options.analyzer.clone())?;
    options.features.validate()?;
    if options.tune.is_active() {
        options.tune.validate(&options.features)?;
    }
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
    for (i, d) in docs.iter().enumerate() {
        corpus.push(&analyzer, &d.full_text(), d.lang);
        progress.analysed(i + 1);
    }
    let inputs = OutOfFoldInputs {
        docs,
        calibrate: options.calibrate,
        corpus: &corpus,
        labels: &labels,
        splits: &splits,
        use_thresholds,
        fallback,
        per_language_thresholds: options.per_language_thresholds,
        threshold_objective: options.threshold_objective,
        exclusive: &exclusive,
        topic_ids: &topic_ids,
    };

    let (tuned, tuning) = if options.tune.is_active() {
        progress.stage("tuning");
        let report = tune::select(options, &inputs, multi_label)?;
        (
            tune::apply(options, &report.chosen().candidate)?,
            Some(report),
        )
    } else {
        (options.clone(), None)
    };
    let options = &tuned;

    let OutOfFold {
        held_out,
        held_out_by_language,
        thresholds,
        thresholds_by_language,
        temperature,
    } = if splits.is_empty() {
        // No validation: raw posteriors, no metrics, untuned thresholds.
        OutOfFold {
            held_out: None,
            held_out_by_language: Default::default(),
            thresholds: None,
            thresholds_by_language: Vec::new(),
            temperature: 1.0,
        }
    } else {
        progress.stage("validating");
        // A rare topic can be missing from a fold's training part.
        let nb = [options.nb.allowing_empty_topics()];
        let oof = fold_scores(&options.features, &nb, &corpus, &labels, &splits)?;
        judge_out_of_fold(&inputs, oof.into_iter().next().unwrap_or_default())
    };
    let decision = match (&thresholds, use_thresholds) {
        (Some(t), true) => Decision::thresholded(
            t.clone(),
            exclusive,
            fallback,
            thresholds_by_language.clone(),
        ),
        // No validation data to tune on: the posterior's natural cut.
        (None, true) => {
            Decision::thresholded(vec![0.5; topics.len()], exclusive, fallback, Vec::new())
        }
        _ => Decision::Argmax,
    };

    progress.stage("fitting");
    let all: Vec<usize> = (0..docs.len()).collect();
    let features = FeatureSpace::fit(&options.features, &corpus, &all)?;
    let x = features.matrix(&corpus, &all);
    let space = features.into_space();
    let distinct_terms = corpus.distinct_terms();
    // The analysed corpus is the largest structure; free it before the
    // features × topics table is built.
    drop(corpus);
    let nb = options.nb.fit(&DatasetBase::new(x, labels))?;
    let summary = TrainSummary {
        documents: docs.len(),
        distinct_terms,
        features: space.n_features(),
        topics: topic_ids.clone(),
        topic_documents: nb.data().topic_doc_counts.clone(),
        multi_label,
        held_out: held_out.clone(),
        held_out_by_language,
        thresholds,
        thresholds_by_language: thresholds_by_language
            .iter()
            .map(|(lang, t)| (lang.code().to_string(), t.clone()))
            .collect(),
        temperature,
        tuning: tuning.clone(),
    };
    // The options as used (tuned values in place), and what tuning measured.
    let options_json = match &tuning {
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
    };
    let provenance = Provenance {
        created_at: options.created_at.clone(),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        corpus_sha256: corpus_hash(docs),
        documents: docs.len() as u64,
        topic_documents: nb.data().topic_doc_counts.clone(),
        train_options_json: options_json,
        held_out: held_out.as_ref().map(stored_metrics),
        evaluations: Vec::new(),
    };
    let model = Model::from_parts(
        analyzer,
        space,
        nb,
        decision,
        topics,
        provenance,
        temperature,
    )?;
    Ok((model, summary))
}

/// What validation measured and fitted.
pub(crate) struct OutOfFold {
    held_out: Option<eval::Report>,
    held_out_by_language: std::collections::BTreeMap<String, eval::Report>,
    thresholds: Option<Vec<f64>>,
    thresholds_by_language: Vec<(Lang, Vec<f64>)>,
    temperature: f64,
}

/// What judging out-of-fold scores needs besides the scores.
#[derive(Clone, Copy)]
pub(crate) struct OutOfFoldInputs<'a> {
    docs: &'a [Document],
    /// Fit a probability temperature (see [`TrainOptions::calibrate`]).
    calibrate: bool,
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
}

/// Out-of-fold joint log-likelihoods of every document (`None` for one in no
/// test part), one table per entry of `nbs`: on each split, the feature space
/// is fitted on the training part once and serves every NB parameter set.
pub(crate) fn fold_scores(
    features: &FeatureParams,
    nbs: &[NbValidParams],
    corpus: &AnalyzedCorpus,
    labels: &LabelSets,
    splits: &[Split],
) -> Result<Vec<Vec<Option<Vec<f64>>>>> {
    let mut oof: Vec<Vec<Option<Vec<f64>>>> = vec![vec![None; corpus.len()]; nbs.len()];
    for split in splits {
        let fitted = FeatureSpace::fit(features, corpus, &split.train)?;
        let x = fitted.matrix(corpus, &split.train);
        let test: Vec<SparseVec> = split
            .test
            .iter()
            .map(|&i| fitted.transform(&corpus.docs[i]))
            .collect();
        let dataset = DatasetBase::new(x, labels.subset(&split.train));
        for (params, scores) in nbs.iter().zip(oof.iter_mut()) {
            let nb = params.fit(&dataset)?;
            for (&i, v) in split.test.iter().zip(&test) {
                scores[i] = Some(nb.joint_log_likelihood(v)?);
            }
        }
    }
    Ok(oof)
}

/// From out-of-fold scores (see [`fold_scores`]): fits the temperature and
/// thresholds the final model keeps, and measures the held-out metrics (each
/// fold decided with values fitted on the other folds).
pub(crate) fn judge_out_of_fold(
    inputs: &OutOfFoldInputs<'_>,
    oof: Vec<Option<Vec<f64>>>,
) -> OutOfFold {
    let OutOfFoldInputs {
        docs,
        calibrate: fit_temperature_out_of_fold,
        corpus,
        labels,
        splits,
        use_thresholds,
        fallback,
        per_language_thresholds,
        threshold_objective,
        exclusive,
        topic_ids,
    } = *inputs;
    let tune = |p: &[Vec<f64>], g: &LabelSets| -> Vec<f64> {
        let per_topic = tune_thresholds_with_fallback(p, g);
        match threshold_objective {
            ThresholdObjective::TopicF1 => per_topic,
            ThresholdObjective::ExactSet => {
                refine_thresholds_for_exact_sets(p, g, exclusive, &per_topic)
            }
        }
    };
    let mut held_out_by_language = std::collections::BTreeMap::new();
    let mut thresholds = None;
    let scored: Vec<usize> = (0..docs.len()).filter(|&i| oof[i].is_some()).collect();
    let scores: Vec<Vec<f64>> = scored.iter().filter_map(|&i| oof[i].clone()).collect();
    let gold = labels.subset(&scored);
    let calibrate = |rows: &[usize]| -> (f64, Vec<Vec<f64>>) {
        let s: Vec<Vec<f64>> = rows.iter().map(|&k| scores[k].clone()).collect();
        let g = gold.subset(rows);
        let t = if fit_temperature_out_of_fold {
            fit_temperature(&s, &g)
        } else {
            1.0
        };
        let probs = scores
            .iter()
            .map(|row| {
                let mut p = row.clone();
                softmax_with_temperature(&mut p, t);
                p
            })
            .collect();
        (t, probs)
    };
    // The model keeps the temperature and thresholds fitted on every
    // out-of-fold score. The *reported* metrics must not be measured on
    // the data they were fitted on: with several folds, each fold is
    // decided with a temperature and thresholds fitted on the other folds
    // only. (A single hold-out split has nothing else to fit on, so its
    // metrics are optimistic.)
    let all_rows: Vec<usize> = (0..scored.len()).collect();
    let (t, probs) = calibrate(&all_rows);
    let temperature = t;
    let mut fold_of = vec![0usize; docs.len()];
    for (f, split) in splits.iter().enumerate() {
        for &i in &split.test {
            fold_of[i] = f;
        }
    }
    let other_rows = |f: usize| -> Vec<usize> {
        if splits.len() > 1 {
            (0..scored.len())
                .filter(|&k| fold_of[scored[k]] != f)
                .collect()
        } else {
            all_rows.clone()
        }
    };
    // A document's language: declared, else detected (as `Model::classify`
    // picks the thresholds it applies).
    let language_of = |i: usize| docs[i].lang.or(corpus.docs[i].lang);
    let language_of_row = |k: usize| language_of(scored[k]);
    // Languages with thresholds of their own: decided once, on every scored
    // document, so that each fold is decided as the model will be.
    let own_languages: Vec<Lang> = if per_language_thresholds {
        let mut counts: std::collections::BTreeMap<Lang, usize> = Default::default();
        for k in 0..scored.len() {
            if let Some(lang) = language_of_row(k) {
                *counts.entry(lang).or_default() += 1;
            }
        }
        counts
            .into_iter()
            .filter(|&(_, n)| n >= MIN_DOCUMENTS_FOR_LANGUAGE_THRESHOLDS)
            .map(|(lang, _)| lang)
            .collect()
    } else {
        Vec::new()
    };
    // Thresholds of each of those languages, tuned on its part of `rows`.
    let tune_by_language = |rows: &[usize], probs: &[Vec<f64>]| -> Vec<(Lang, Vec<f64>)> {
        own_languages
            .iter()
            .map(|&lang| {
                let own: Vec<usize> = rows
                    .iter()
                    .copied()
                    .filter(|&k| language_of_row(k) == Some(lang))
                    .collect();
                let p: Vec<Vec<f64>> = own.iter().map(|&k| probs[k].clone()).collect();
                (lang, tune(&p, &gold.subset(&own)))
            })
            .collect()
    };
    let mut thresholds_by_language = Vec::new();
    if use_thresholds {
        thresholds = Some(tune(&probs, &gold));
        thresholds_by_language = tune_by_language(&all_rows, &probs);
    }
    let mut predicted: Vec<Vec<usize>> = vec![Vec::new(); scored.len()];
    for f in 0..splits.len() {
        let rows = other_rows(f);
        let (_, fold_probs) = calibrate(&rows);
        let decision = if use_thresholds {
            let p: Vec<Vec<f64>> = rows.iter().map(|&k| fold_probs[k].clone()).collect();
            Decision::thresholded(
                tune(&p, &gold.subset(&rows)),
                exclusive.to_vec(),
                fallback,
                tune_by_language(&rows, &fold_probs),
            )
        } else {
            Decision::Argmax
        };
        for k in (0..scored.len()).filter(|&k| fold_of[scored[k]] == f) {
            predicted[k] = match language_of_row(k) {
                Some(lang) => decision.decide_in(&fold_probs[k], lang),
                None => decision.decide(&fold_probs[k]),
            };
        }
    }
    let held_out = eval::evaluate(&gold.labels, &predicted, topic_ids);
    let language_code = |i: usize| language_of(i).map_or("und", |l| l.code());
    let mut languages: Vec<&str> = scored.iter().map(|&i| language_code(i)).collect();
    languages.sort_unstable();
    languages.dedup();
    for lang in languages {
        let rows: Vec<usize> = (0..scored.len())
            .filter(|&k| language_code(scored[k]) == lang)
            .collect();
        let g: Vec<Vec<usize>> = rows.iter().map(|&k| gold.labels[k].clone()).collect();
        let p: Vec<Vec<usize>> = rows.iter().map(|&k| predicted[k].clone()).collect();
        held_out_by_language.insert(lang.to_string(), eval::evaluate(&g, &p, topic_ids));
    }
    OutOfFold {
        held_out: Some(held_out),
        held_out_by_language,
        thresholds,
        thresholds_by_language,
        temperature,
    }
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

pub(crate) fn label_sets(docs: &[Document], topic_ids: &[String]) -> Result<LabelSets> {
    let mut labels = Vec::with_capacity(docs.len());
    for d in docs {
        let mut set = Vec::with_capacity(d.labels.len());
        for l in &d.labels {
            let c =
                topic_ids
                    .iter()
                    .position(|t| t == l)
                    .ok_or_else(|| TrainError::UnknownLabel {
                        id: d.id.clone(),
                        label: l.clone(),
                        known: topic_ids.join(", "),
                    })?;
            if !set.contains(&c) {
                set.push(c);
            }
        }
        labels.push(set);
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

/// SHA-256 over every document's id, text and labels, in order.
pub fn corpus_hash(docs: &[Document]) -> String {
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
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}
