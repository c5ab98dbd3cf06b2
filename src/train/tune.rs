//! Hyperparameter selection by inner cross-validation on the training
//! documents only.
//!
//! The options that do not change text analysis (Naive Bayes variant and
//! smoothing, `min_df`, term weighting) are chosen here: every candidate in
//! the grid is scored by stratified k-fold cross-validation over the already
//! analysed corpus (no text is analysed again), with the decision rule the
//! final model uses (argmax, or per-topic thresholds and temperature fitted
//! on the other folds for multi-label data), and the best one is kept.
//! Folds are seeded with the training seed, so tuning is deterministic.
//!
//! The test documents a model is later evaluated on are never seen: only the
//! documents given to [`train`](super::train) take part.

use super::{fold_scores, judge_out_of_fold, OutOfFoldInputs, TrainOptions};
use crate::eval;
use crate::features::{FeatureMode, FeatureParams, Weighting};
use crate::nb::{NbError, NbParams, NbValidParams, NbVariant};
use linfa::ParamGuard;
use serde::{Deserialize, Serialize};

/// Errors in a tuning grid.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TuneError {
    #[error("no {0} candidates given: list at least one value, or do not tune {0}")]
    NoCandidates(&'static str),
    #[error("alpha candidate {0} is invalid: alpha must be a finite number > 0")]
    Alpha(f64),
    #[error("min_df candidate {0} is invalid: min_df must be at least 1")]
    MinDf(u32),
    #[error("min_df cannot be tuned with feature hashing (no vocabulary)")]
    MinDfWithHashing,
    #[error("{what} candidate {value} is listed twice")]
    Duplicate { what: &'static str, value: String },
    #[error(
        "tuning folds (--tune-folds) must be between 2 and the number of documents ({documents}), got {folds}"
    )]
    Folds { folds: u32, documents: usize },
    #[error("unknown weighting {0:?}: use `raw`, or components log, idf, l2 joined by `+` (e.g. log+idf+l2)")]
    Weighting(String),
}

pub type Result<T> = std::result::Result<T, TuneError>;

/// The score candidates are ranked by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TuneMetric {
    /// Accuracy for single-label data, micro-F1 for multi-label data.
    Auto,
    /// Exact-set accuracy (plain accuracy for single-label data).
    Accuracy,
    MicroF1,
    MacroF1,
}

impl TuneMetric {
    /// `Auto` resolved for data that is (or is not) multi-label.
    pub fn resolve(self, multi_label: bool) -> TuneMetric {
        match (self, multi_label) {
            (TuneMetric::Auto, false) => TuneMetric::Accuracy,
            (TuneMetric::Auto, true) => TuneMetric::MicroF1,
            (m, _) => m,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            TuneMetric::Auto => "auto",
            TuneMetric::Accuracy => "accuracy",
            TuneMetric::MicroF1 => "micro-F1",
            TuneMetric::MacroF1 => "macro-F1",
        }
    }

    fn of(self, r: &eval::Report) -> f64 {
        match self {
            TuneMetric::Accuracy | TuneMetric::Auto => r.accuracy,
            TuneMetric::MicroF1 => r.micro_f1,
            TuneMetric::MacroF1 => r.macro_f1,
        }
    }
}

/// The tuning grid. A list left `None` is not tuned: the training option's
/// own value is used. The grid is every combination of the lists.
///
/// | field | default | range |
/// |---|---|---|
/// | `alpha` | `None` | finite values > 0, no repeats, at least one |
/// | `nb` | `None` | `Multinomial`, `Complement`, no repeats, at least one |
/// | `min_df` | `None` | values ≥ 1, no repeats, at least one; vocabulary mode only |
/// | `weighting` | `None` | any [`Weighting`], no repeats, at least one |
/// | `folds` | `5` | `2..=` number of training documents |
/// | `metric` | `Auto` (accuracy, or micro-F1 for multi-label data) | see [`TuneMetric`] |
///
/// Ties go to the candidate met first: weightings, then `min_df` values,
/// then variants, then alphas, each in the order listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TuneParams {
    pub alpha: Option<Vec<f64>>,
    pub nb: Option<Vec<NbVariant>>,
    pub min_df: Option<Vec<u32>>,
    pub weighting: Option<Vec<Weighting>>,
    pub folds: u32,
    pub metric: TuneMetric,
}

impl Default for TuneParams {
    fn default() -> Self {
        Self {
            alpha: None,
            nb: None,
            min_df: None,
            weighting: None,
            folds: 5,
            metric: TuneMetric::Auto,
        }
    }
}

impl TuneParams {
    /// True when at least one option is tuned.
    pub fn is_active(&self) -> bool {
        self.alpha.is_some()
            || self.nb.is_some()
            || self.min_df.is_some()
            || self.weighting.is_some()
    }

    /// True when nothing is tuned.
    pub fn is_inactive(&self) -> bool {
        !self.is_active()
    }

    /// Checks the candidate lists (not the folds, which need the corpus size).
    pub fn validate(&self, features: &FeatureParams) -> Result<()> {
        if let Some(alphas) = &self.alpha {
            if let Some(&bad) = alphas.iter().find(|a| !(a.is_finite() && **a > 0.0)) {
                return Err(TuneError::Alpha(bad));
            }
            distinct("alpha", alphas)?;
        }
        if let Some(variants) = &self.nb {
            distinct("NB variant", variants)?;
        }
        if let Some(min_dfs) = &self.min_df {
            if let Some(&bad) = min_dfs.iter().find(|&&m| m == 0) {
                return Err(TuneError::MinDf(bad));
            }
            if matches!(features.mode, FeatureMode::Hashing { .. }) {
                return Err(TuneError::MinDfWithHashing);
            }
            distinct("min_df", min_dfs)?;
        }
        if let Some(weightings) = &self.weighting {
            distinct("weighting", weightings)?;
        }
        Ok(())
    }

    /// The smallest `min_df` any candidate (or the options) uses: the
    /// analysed corpus must keep the text of terms that frequent.
    pub fn smallest_min_df(&self, features: &FeatureParams) -> u32 {
        let own = match features.mode {
            FeatureMode::Vocabulary { min_df, .. } => min_df,
            FeatureMode::Hashing { .. } => 1,
        };
        self.min_df
            .iter()
            .flatten()
            .copied()
            .chain([own])
            .min()
            .unwrap_or(own)
    }
}

/// Fails on an empty list or a value listed twice.
fn distinct<T: PartialEq + std::fmt::Debug>(what: &'static str, values: &[T]) -> Result<()> {
    if values.is_empty() {
        return Err(TuneError::NoCandidates(what));
    }
    for (i, v) in values.iter().enumerate() {
        if values[..i].contains(v) {
            return Err(TuneError::Duplicate {
                what,
                value: format!("{v:?}"),
            });
        }
    }
    Ok(())
}

/// A weighting's short name: `raw`, or its components joined by `+`
/// (`log` for sublinear TF, `idf`, `l2`), e.g. `log+idf+l2`.
pub fn weighting_name(w: Weighting) -> String {
    let parts: Vec<&str> = [
        (w.sublinear_tf, "log"),
        (w.idf, "idf"),
        (w.l2_normalize, "l2"),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|&(_, name)| name)
    .collect();
    if parts.is_empty() {
        "raw".to_string()
    } else {
        parts.join("+")
    }
}

/// Parses a [`weighting_name`].
pub fn parse_weighting(name: &str) -> Result<Weighting> {
    let name = name.trim();
    let mut w = Weighting::RAW_COUNTS;
    if name == "raw" {
        return Ok(w);
    }
    for part in name.split('+') {
        let flag = match part.trim() {
            "log" => &mut w.sublinear_tf,
            "idf" => &mut w.idf,
            "l2" => &mut w.l2_normalize,
            _ => return Err(TuneError::Weighting(name.to_string())),
        };
        if *flag {
            return Err(TuneError::Weighting(name.to_string()));
        }
        *flag = true;
    }
    Ok(w)
}

/// One point of the grid.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    pub nb: NbVariant,
    pub alpha: f64,
    /// `None` in hashing mode.
    pub min_df: Option<u32>,
    pub weighting: Weighting,
}

impl std::fmt::Display for Candidate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "nb {}, alpha {}", self.nb.name(), self.alpha)?;
        if let Some(min_df) = self.min_df {
            write!(f, ", min_df {min_df}")?;
        }
        write!(f, ", weighting {}", weighting_name(self.weighting))
    }
}

/// A candidate and its out-of-fold metrics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CandidateScore {
    #[serde(flatten)]
    pub candidate: Candidate,
    /// The value of the tuning metric.
    pub score: f64,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub micro_f1: f64,
}

/// What tuning measured and chose; saved in the model's provenance and card.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TuningReport {
    /// The metric candidates were ranked by (never `Auto`).
    pub metric: TuneMetric,
    pub folds: u32,
    pub seed: u64,
    /// Every candidate, in grid order.
    pub candidates: Vec<CandidateScore>,
    /// Index of the chosen candidate in `candidates`.
    pub chosen: usize,
}

impl TuningReport {
    pub fn chosen(&self) -> &CandidateScore {
        &self.candidates[self.chosen]
    }
}

/// The feature parameters with `min_df` and weighting replaced.
fn with_features(base: &FeatureParams, min_df: Option<u32>, weighting: Weighting) -> FeatureParams {
    let mut p = base.clone();
    p.weighting = weighting;
    if let (FeatureMode::Vocabulary { min_df: m, .. }, Some(v)) = (&mut p.mode, min_df) {
        *m = v;
    }
    p
}

fn nb_params(base: &NbValidParams, variant: NbVariant, alpha: f64) -> super::Result<NbValidParams> {
    NbParams::new()
        .variant(variant)
        .alpha(alpha)
        .priors(base.priors().clone())
        .check()
        .map_err(|e: NbError| e.into())
}

/// `options` with the candidate's values.
pub(super) fn apply(options: &TrainOptions, c: &Candidate) -> super::Result<TrainOptions> {
    let mut out = options.clone();
    out.nb = nb_params(&options.nb, c.nb, c.alpha)?;
    out.features = with_features(&options.features, c.min_df, c.weighting);
    Ok(out)
}

/// Scores every candidate of `options.tune` by inner cross-validation on the
/// analysed training corpus and returns the report (the best candidate is
/// `report.chosen()`). `inputs.splits` is ignored: the tuning folds are made
/// here.
pub(super) fn select(
    options: &TrainOptions,
    inputs: &OutOfFoldInputs<'_>,
    multi_label: bool,
) -> super::Result<TuningReport> {
    let tune = &options.tune;
    tune.validate(&options.features)?;
    let n = inputs.labels.labels.len();
    if tune.folds < 2 || tune.folds as usize > n {
        return Err(TuneError::Folds {
            folds: tune.folds,
            documents: n,
        }
        .into());
    }
    let (splits, _) = eval::cv_splits(
        &inputs.labels.labels,
        inputs.labels.n_topics,
        tune.folds as usize,
        options.seed,
    );
    let inputs = OutOfFoldInputs {
        splits: &splits,
        // A temperature never reorders topics, so without thresholds it
        // cannot change a decision; per-topic maps can.
        calibration: match inputs.calibration {
            super::CalibrationPlan::Temperature if !inputs.use_thresholds => {
                super::CalibrationPlan::Off
            }
            plan => plan,
        },
        ..*inputs
    };
    let own_min_df = match options.features.mode {
        FeatureMode::Vocabulary { min_df, .. } => Some(min_df),
        FeatureMode::Hashing { .. } => None,
    };
    let weightings = tune
        .weighting
        .clone()
        .unwrap_or_else(|| vec![options.features.weighting]);
    let min_dfs: Vec<Option<u32>> = match &tune.min_df {
        Some(v) => v.iter().map(|&m| Some(m)).collect(),
        None => vec![own_min_df],
    };
    let variants = tune
        .nb
        .clone()
        .unwrap_or_else(|| vec![options.nb.variant()]);
    let alphas = tune
        .alpha
        .clone()
        .unwrap_or_else(|| vec![options.nb.alpha()]);
    let metric = tune.metric.resolve(multi_label);

    let mut candidates = Vec::new();
    for &weighting in &weightings {
        for &min_df in &min_dfs {
            // One vocabulary per fold serves every NB candidate.
            let features = with_features(&options.features, min_df, weighting);
            let mut group = Vec::new();
            let mut nbs = Vec::new();
            for &nb in &variants {
                for &alpha in &alphas {
                    nbs.push(nb_params(&options.nb, nb, alpha)?.allowing_empty_topics());
                    group.push(Candidate {
                        nb,
                        alpha,
                        min_df,
                        weighting,
                    });
                }
            }
            let scores = fold_scores(
                &features,
                &nbs,
                inputs.corpus,
                inputs.labels,
                &splits,
                inputs.semi,
                options.threads,
            )?;
            for (candidate, oof) in group.into_iter().zip(scores) {
                let r = judge_out_of_fold(&inputs, oof)
                    .held_out
                    .unwrap_or_else(|| eval::evaluate(&[], &[], inputs.topic_ids));
                candidates.push(CandidateScore {
                    candidate,
                    score: metric.of(&r),
                    accuracy: r.accuracy,
                    macro_f1: r.macro_f1,
                    micro_f1: r.micro_f1,
                });
            }
        }
    }
    // The first of the best: a strict comparison keeps earlier candidates on ties.
    let mut chosen = 0;
    for (i, c) in candidates.iter().enumerate() {
        if c.score > candidates[chosen].score {
            chosen = i;
        }
    }
    Ok(TuningReport {
        metric,
        folds: tune.folds,
        seed: options.seed,
        candidates,
        chosen,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::testing::{doc, TOPIC_WORDS};
    use crate::corpus::Document;
    use crate::train::{train, Silent, TrainError, Validation};

    /// 40 documents, 26 "war" and 14 "money", each with four of its topic's
    /// six words and one of four shared filler words.
    fn corpus() -> Vec<Document> {
        let words = TOPIC_WORDS;
        let filler = ["today", "report", "people", "city"];
        (0..40)
            .map(|i| {
                let t = usize::from(i >= 26);
                let mut text: Vec<&str> = (0..4).map(|k| words[t][(i + k) % 6]).collect();
                text.push(filler[i % 4]);
                doc(i, &[["war", "money"][t]], &text.join(" "))
            })
            .collect()
    }

    fn options(tune: TuneParams) -> TrainOptions {
        TrainOptions {
            validation: Validation::None,
            nb: NbParams::new()
                .variant(NbVariant::Multinomial)
                .check()
                .unwrap(),
            features: FeatureParams {
                weighting: Weighting::RAW_COUNTS,
                ..FeatureParams::default()
            },
            tune,
            created_at: "2024-01-01T00:00:00Z".into(),
            ..TrainOptions::default()
        }
    }

    #[test]
    fn picks_the_known_best_alpha() {
        // Multinomial NB on raw counts: a huge alpha flattens every word
        // likelihood, so only the prior speaks and every document goes to
        // the majority topic (26 of 40); a small alpha separates the topics.
        let tune = TuneParams {
            alpha: Some(vec![1e9, 0.1, 1e8]),
            folds: 4,
            ..TuneParams::default()
        };
        let (model, summary) = train(&corpus(), &options(tune), &Silent).unwrap();
        let report = summary.tuning.expect("tuning report");
        assert_eq!(report.metric, TuneMetric::Accuracy);
        assert_eq!(report.candidates.len(), 3);
        assert_eq!(report.chosen, 1, "{report:?}");
        assert_eq!(report.chosen().candidate.alpha, 0.1);
        assert_eq!(report.candidates[1].accuracy, 1.0);
        assert_eq!(report.candidates[0].accuracy, 26.0 / 40.0);
        assert_eq!(model.data().nb.params.alpha(), 0.1);
        // The provenance names the choice and every candidate's score.
        let json: serde_json::Value =
            serde_json::from_str(&model.data().provenance.train_options_json).unwrap();
        assert_eq!(json["nb"]["alpha"], 0.1);
        assert_eq!(json["tuning"]["chosen"], 1);
        assert_eq!(json["tuning"]["candidates"][0]["accuracy"], 0.65);
    }

    #[test]
    fn scores_match_cross_validation_of_each_candidate() {
        // The tuner's out-of-fold accuracy for a candidate is what
        // cross-validating that candidate's options on the same folds gives.
        let docs = corpus();
        let tune = TuneParams {
            alpha: Some(vec![0.5, 3.0]),
            nb: Some(vec![NbVariant::Complement, NbVariant::Multinomial]),
            min_df: Some(vec![1, 3]),
            folds: 3,
            ..TuneParams::default()
        };
        let opts = options(tune.clone());
        let (_, summary) = train(&docs, &opts, &Silent).unwrap();
        let report = summary.tuning.unwrap();
        assert_eq!(report.candidates.len(), 8);
        for c in &report.candidates {
            let mut plain = apply(&opts, &c.candidate).unwrap();
            plain.tune = TuneParams::default();
            let cv = crate::train::cv::cross_validate(&docs, &plain, 3, opts.seed).unwrap();
            let r = eval::evaluate(&cv.scored.gold, &cv.scored.predicted, &cv.topics);
            assert_eq!(c.accuracy, r.accuracy, "{c:?}");
        }
    }

    #[test]
    fn same_seed_gives_identical_models() {
        let tune = TuneParams {
            alpha: Some(vec![0.05, 0.5, 2.0]),
            weighting: Some(vec![Weighting::default(), Weighting::RAW_COUNTS]),
            ..TuneParams::default()
        };
        let opts = options(tune);
        let a = train(&corpus(), &opts, &Silent).unwrap().0;
        let b = train(&corpus(), &opts, &Silent).unwrap().0;
        assert_eq!(a.to_bytes().unwrap(), b.to_bytes().unwrap());
    }

    fn tune_error(tune: TuneParams) -> String {
        match train(&corpus(), &options(tune), &Silent) {
            Err(e @ TrainError::Tune(_)) => e.to_string(),
            other => panic!("expected a tuning error, got {other:?}"),
        }
    }

    #[test]
    fn bad_grids_are_clear_errors() {
        let alpha = |v: Vec<f64>| TuneParams {
            alpha: Some(v),
            ..TuneParams::default()
        };
        assert_eq!(
            tune_error(alpha(vec![])),
            "no alpha candidates given: list at least one value, or do not tune alpha"
        );
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let e = tune_error(alpha(vec![0.1, bad]));
            assert!(
                e.starts_with(&format!("alpha candidate {bad} is invalid")),
                "{e}"
            );
        }
        assert_eq!(
            tune_error(alpha(vec![0.1, 0.1])),
            "alpha candidate 0.1 is listed twice"
        );
        let e = tune_error(TuneParams {
            min_df: Some(vec![0]),
            ..TuneParams::default()
        });
        assert!(e.contains("min_df must be at least 1"), "{e}");
        let e = tune_error(TuneParams {
            nb: Some(vec![]),
            ..TuneParams::default()
        });
        assert!(e.starts_with("no NB variant candidates"), "{e}");
        let e = tune_error(TuneParams {
            alpha: Some(vec![0.1]),
            folds: 41,
            ..TuneParams::default()
        });
        assert_eq!(
            e,
            "tuning folds (--tune-folds) must be between 2 and the number of documents (40), got 41"
        );
    }

    #[test]
    fn weighting_names_round_trip() {
        for name in ["raw", "log", "idf", "l2", "log+idf", "log+idf+l2", "idf+l2"] {
            let w = parse_weighting(name).unwrap();
            assert_eq!(weighting_name(w), name);
        }
        assert_eq!(
            parse_weighting("l2+log").unwrap(),
            parse_weighting("log+l2").unwrap()
        );
        for bad in ["", "tfidf", "log+log", "raw+idf"] {
            assert!(
                matches!(parse_weighting(bad), Err(TuneError::Weighting(_))),
                "{bad}"
            );
        }
    }
}
