//! Naive Bayes on sparse data: Multinomial and Complement NB, multi-label
//! targets, semi-supervised fitting by EM, stable probabilities, per-topic
//! calibration and thresholds, and explanations.
//!
//! Follows linfa's estimator conventions: [`NbParams`] →
//! [`linfa::ParamGuard::check`] → [`NbValidParams`] → [`linfa::traits::Fit`] →
//! [`FittedNb`], which implements [`linfa::traits::PredictInplace`].
//!
//! Why not `linfa_bayes::MultinomialNb` itself: the published 0.8.1 takes dense
//! records only (a documents × features matrix: gigabytes on 20 Newsgroups),
//! keeps its fitted parameters private (nothing to save in a model file), prints
//! each class's whole histogram through a leftover `dbg!` on every fit, and its
//! `predict_proba` exponentiates without subtracting the max, so long documents
//! give `NaN`. It stays as the reference the sparse implementation is tested
//! against (`tests/core/nb_linfa_reference.rs`).

mod calibration;
mod decision;
pub mod em;
mod fit;
mod params;

pub use calibration::{one_vs_rest_log_odds, PerTopicCalibration, PerTopicMethod, TopicCalibrator};
pub use decision::{
    refine_thresholds_for_exact_sets, tune_thresholds, tune_thresholds_with_fallback, Decision,
    MIN_POSITIVES_FOR_OWN_THRESHOLD,
};
pub use em::{fit_semi_supervised, EmParams, EmReport, Memberships};
pub use fit::{FittedNb, FittedNbData};
pub use params::{ClassPriors, NbParams, NbValidParams, NbVariant};

/// Errors in NB parameters, targets or a saved fitted model.
#[derive(Debug, thiserror::Error)]
pub enum NbError {
    #[error("alpha must be a finite number > 0, got {0}")]
    Alpha(f64),
    #[error("class priors must be finite and > 0, got {0}")]
    PriorValue(f64),
    #[error("class priors must sum to 1, they sum to {0}")]
    PriorSum(f64),
    #[error("{given} class priors given for {topics} topics")]
    PriorCount { given: usize, topics: usize },
    #[error("{records} documents but {targets} label sets")]
    TargetCount { records: usize, targets: usize },
    #[error("label index {label} is out of range for {topics} topics")]
    LabelOutOfRange { label: usize, topics: usize },
    #[error("need at least 2 topics, got {0}")]
    TooFewTopics(usize),
    #[error("topic {0} has no training documents")]
    EmptyTopic(usize),
    #[error("document vector has feature {feature} but the model has {n_features} features")]
    FeatureOutOfRange { feature: usize, n_features: usize },
    #[error("{0}")]
    EmSetting(String),
    #[error("saved NB parameters are inconsistent: {0}")]
    Inconsistent(String),
    #[error(transparent)]
    Linfa(#[from] linfa::Error),
}

pub type Result<T> = std::result::Result<T, NbError>;

/// Multi-label targets: the topic indices of each document.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelSets {
    pub n_topics: usize,
    pub labels: Vec<Vec<usize>>,
}

impl LabelSets {
    pub fn new(n_topics: usize, labels: Vec<Vec<usize>>) -> Self {
        Self { n_topics, labels }
    }

    /// True when every document has exactly one topic.
    pub fn is_single_label(&self) -> bool {
        self.labels.iter().all(|l| l.len() == 1)
    }

    pub fn subset(&self, rows: &[usize]) -> LabelSets {
        LabelSets {
            n_topics: self.n_topics,
            labels: rows.iter().map(|&r| self.labels[r].clone()).collect(),
        }
    }
}

/// Softmax of `scores / temperature`, in place (see [`softmax_in_place`]).
pub fn softmax_with_temperature(scores: &mut [f64], temperature: f64) {
    if temperature != 1.0 {
        scores.iter_mut().for_each(|s| *s /= temperature);
    }
    softmax_in_place(scores);
}

/// The temperature that makes `softmax(scores / T)` best calibrated on
/// labelled held-out documents: it maximises the mean log-probability of each
/// document's gold topics (spread evenly over them). A golden-section search
/// over ln T in [-7, 7]; the ranking of topics never changes. Documents with
/// no gold topic are ignored; with none at all the temperature is 1.
pub fn fit_temperature(scores: &[Vec<f64>], gold: &LabelSets) -> f64 {
    let rows: Vec<(&Vec<f64>, &Vec<usize>)> = scores
        .iter()
        .zip(&gold.labels)
        .filter(|(_, l)| !l.is_empty())
        .collect();
    if rows.is_empty() {
        return 1.0;
    }
    let loss = |log_t: f64| -> f64 {
        let t = log_t.exp();
        let mut total = 0.0;
        let mut p = Vec::new();
        for (s, labels) in &rows {
            p.clear();
            p.extend_from_slice(s);
            softmax_with_temperature(&mut p, t);
            let w = 1.0 / labels.len() as f64;
            for &c in labels.iter() {
                total -= w * p[c].max(1e-300).ln();
            }
        }
        total
    };
    let (mut lo, mut hi) = (-7.0f64, 7.0f64);
    let ratio = (5f64.sqrt() - 1.0) / 2.0;
    let mut a = hi - ratio * (hi - lo);
    let mut b = lo + ratio * (hi - lo);
    let (mut fa, mut fb) = (loss(a), loss(b));
    for _ in 0..40 {
        if fa <= fb {
            hi = b;
            b = a;
            fb = fa;
            a = hi - ratio * (hi - lo);
            fa = loss(a);
        } else {
            lo = a;
            a = b;
            fa = fb;
            b = lo + ratio * (hi - lo);
            fb = loss(b);
        }
    }
    ((lo + hi) / 2.0).exp()
}

/// Log-sum-exp softmax with the max subtracted: finite for any finite input.
pub fn softmax_in_place(scores: &mut [f64]) {
    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        let n = scores.len() as f64;
        scores.iter_mut().for_each(|s| *s = 1.0 / n);
        return;
    }
    let mut sum = 0.0;
    for s in scores.iter_mut() {
        *s = (*s - max).exp();
        sum += *s;
    }
    for s in scores.iter_mut() {
        *s /= sum;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temperature_sharpens_flat_scores_that_rank_well() {
        // Scores that always rank the gold topic first by a small margin:
        // calibration must sharpen them (T < 1) without changing the ranking.
        let scores: Vec<Vec<f64>> = (0..40)
            .map(|i| {
                if i % 2 == 0 {
                    vec![0.3, 0.0]
                } else {
                    vec![0.0, 0.3]
                }
            })
            .collect();
        let gold = LabelSets::new(2, (0..40).map(|i| vec![i % 2]).collect());
        let t = fit_temperature(&scores, &gold);
        assert!(t < 0.1, "temperature {t}");
        let mut p = scores[0].clone();
        softmax_with_temperature(&mut p, t);
        assert!(p[0] > 0.95 && (p[0] + p[1] - 1.0).abs() < 1e-12, "{p:?}");
    }

    #[test]
    fn temperature_softens_confident_mistakes() {
        // Right 3 times in 4 with huge margins: the best temperature is > 1.
        let scores: Vec<Vec<f64>> = (0..40).map(|_| vec![50.0, 0.0]).collect();
        let gold = LabelSets::new(2, (0..40).map(|i| vec![usize::from(i % 4 == 0)]).collect());
        let t = fit_temperature(&scores, &gold);
        // Optimum: softmax(50/T) = 0.75, i.e. T = 50 / ln 3.
        assert!((t - 50.0 / 3f64.ln()).abs() < 1e-3, "temperature {t}");
    }

    #[test]
    fn temperature_is_one_without_labelled_documents() {
        let gold = LabelSets::new(2, vec![vec![]]);
        assert_eq!(fit_temperature(&[vec![1.0, 0.0]], &gold), 1.0);
    }
}
