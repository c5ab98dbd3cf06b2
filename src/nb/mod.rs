//! Naive Bayes on sparse data: Multinomial and Complement NB, multi-label
//! targets, stable probabilities, per-topic thresholds and explanations.
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
//! against (`tests/nb_linfa_reference.rs`).

mod decision;
mod fit;
mod params;

pub use decision::{tune_thresholds, Decision};
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
