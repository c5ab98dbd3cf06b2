//! Fitting and scoring. Weights are stored contiguously per feature
//! (`weights[f * n_topics + c]`), so one lookup per term serves every topic.
use super::{softmax_in_place, ClassPriors, LabelSets, NbError, NbValidParams, NbVariant, Result};
use crate::features::{huge_page_vec, CsrMatrix, SparseVec};
use linfa::dataset::DatasetBase;
use linfa::traits::{Fit, PredictInplace};
use ndarray::Array2;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The saved form of a fitted model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedNbData {
    pub params: NbValidParams,
    pub n_topics: u32,
    pub n_features: u32,
    /// Per-topic constant added to every score (log prior for Multinomial NB).
    pub bias: Vec<f64>,
    /// `n_features × n_topics`, row-major by feature.
    pub weights: Vec<f64>,
    /// Training documents per topic.
    pub topic_doc_counts: Vec<u64>,
}

/// A fitted Naive Bayes model.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedNb {
    // Shared with the model's `ModelData`, so a model holds one copy.
    data: Arc<FittedNbData>,
}

impl Fit<CsrMatrix, LabelSets, NbError> for NbValidParams {
    type Object = FittedNb;

    fn fit(&self, dataset: &DatasetBase<CsrMatrix, LabelSets>) -> Result<FittedNb> {
        let counts = TopicCounts::of_labelled(&dataset.records, &dataset.targets)?;
        self.fit_counts(counts)
    }
}

/// What fitting needs from the training documents: summed feature values
/// per topic, per feature, and each topic's document mass.
#[derive(Debug, Clone)]
pub(crate) struct TopicCounts {
    pub(crate) n_topics: usize,
    pub(crate) n_features: usize,
    /// `counts[f * n_topics + c]`: summed values of feature `f` in documents of topic `c`.
    pub(crate) counts: Vec<f64>,
    /// Summed values of each feature over all documents.
    pub(crate) all: Vec<f64>,
    /// Documents per topic (fractional with expected counts); the learned prior.
    pub(crate) mass: Vec<f64>,
    /// Labelled training documents per topic.
    pub(crate) doc_counts: Vec<u64>,
}

impl TopicCounts {
    /// Counts of labelled documents: a document adds its values to each of
    /// its topics.
    pub(crate) fn of_labelled(x: &CsrMatrix, y: &LabelSets) -> Result<TopicCounts> {
        let t = y.n_topics;
        let v = x.n_features();
        if t < 2 {
            return Err(NbError::TooFewTopics(t));
        }
        if x.n_rows() != y.labels.len() {
            return Err(NbError::TargetCount {
                records: x.n_rows(),
                targets: y.labels.len(),
            });
        }
        // Tens of megabytes written at random: huge pages spare most of the
        // page faults and TLB misses.
        let mut counts = huge_page_vec(v * t, 0.0f64);
        let mut all = vec![0.0f64; v];
        let mut doc_counts = vec![0u64; t];
        for (i, labels) in y.labels.iter().enumerate() {
            for &c in labels {
                if c >= t {
                    return Err(NbError::LabelOutOfRange {
                        label: c,
                        topics: t,
                    });
                }
                doc_counts[c] += 1;
            }
            for (f, value) in x.row(i) {
                all[f] += value;
                for &c in labels {
                    counts[f * t + c] += value;
                }
            }
        }
        Ok(TopicCounts {
            n_topics: t,
            n_features: v,
            counts,
            all,
            mass: doc_counts.iter().map(|&n| n as f64).collect(),
            doc_counts,
        })
    }
}

impl NbValidParams {
    /// Fits from counts (labelled, or labelled plus expected counts of
    /// unlabelled documents, see [`super::em`]).
    pub(crate) fn fit_counts(&self, c: TopicCounts) -> Result<FittedNb> {
        let (t, v) = (c.n_topics, c.n_features);
        if let Some(empty) = c.doc_counts.iter().position(|&n| n == 0) {
            if !self.allow_empty_topics {
                return Err(NbError::EmptyTopic(empty));
            }
        }
        let alpha = self.alpha;
        // Weights overwrite the counts in place: no second features × topics buffer.
        let mut weights = c.counts;
        let bias;
        match self.variant {
            NbVariant::Multinomial => {
                let totals = topic_totals(&weights, t);
                let log_denominator: Vec<f64> =
                    totals.iter().map(|n| (n + alpha * v as f64).ln()).collect();
                // Most cells are zero (a term is seen in few topics): their
                // logarithm is the same for every feature.
                let ln_alpha = alpha.ln();
                for row in weights.chunks_exact_mut(t) {
                    for (w, d) in row.iter_mut().zip(&log_denominator) {
                        let ln_count = if *w == 0.0 {
                            ln_alpha
                        } else {
                            (*w + alpha).ln()
                        };
                        *w = ln_count - d;
                    }
                }
                bias = log_priors(&self.priors, &c.mass)?;
            }
            NbVariant::Complement => {
                // Complement counts: everything minus the topic's own documents.
                let grand_total: f64 = c.all.iter().sum();
                let totals = topic_totals(&weights, t);
                let log_denominator: Vec<f64> = totals
                    .iter()
                    .map(|n| (grand_total - n + alpha * v as f64).ln())
                    .collect();
                for (row, total) in weights.chunks_exact_mut(t).zip(&c.all) {
                    // A topic without the term has the whole total as its
                    // complement: one logarithm per feature serves them all.
                    let ln_whole = (total.max(0.0) + alpha).ln();
                    for (w, d) in row.iter_mut().zip(&log_denominator) {
                        let ln_complement = if *w == 0.0 {
                            ln_whole
                        } else {
                            ((total - *w).max(0.0) + alpha).ln()
                        };
                        *w = -(ln_complement - d);
                    }
                }
                bias = vec![0.0; t];
            }
        }
        // A topic without documents is never predicted (finite, so the
        // max-subtracted softmax gives it exactly 0).
        let bias = bias
            .into_iter()
            .zip(&c.doc_counts)
            .map(|(b, &n)| if n == 0 { EMPTY_TOPIC_BIAS } else { b })
            .collect();
        Ok(FittedNb {
            data: Arc::new(FittedNbData {
                params: self.clone(),
                n_topics: t as u32,
                n_features: v as u32,
                bias,
                weights,
                topic_doc_counts: c.doc_counts,
            }),
        })
    }
}

/// Score offset of a topic with no training document (see `allow_empty_topics`).
const EMPTY_TOPIC_BIAS: f64 = -1e30;

/// Per-topic sums of a features × topics row-major table.
fn topic_totals(table: &[f64], t: usize) -> Vec<f64> {
    let mut totals = vec![0.0f64; t];
    for row in table.chunks_exact(t) {
        for (s, x) in totals.iter_mut().zip(row) {
            *s += x;
        }
    }
    totals
}

fn log_priors(priors: &ClassPriors, mass: &[f64]) -> Result<Vec<f64>> {
    let t = mass.len();
    Ok(match priors {
        ClassPriors::Learned => {
            let total: f64 = mass.iter().sum();
            mass.iter().map(|&n| (n / total).ln()).collect()
        }
        ClassPriors::Uniform => vec![-(t as f64).ln(); t],
        ClassPriors::Given(p) => {
            if p.len() != t {
                return Err(NbError::PriorCount {
                    given: p.len(),
                    topics: t,
                });
            }
            p.iter().map(|v| v.ln()).collect()
        }
    })
}

impl FittedNb {
    /// Rebuilds a fitted model from its saved form, checking every dimension
    /// and that every number is finite.
    pub fn from_data(data: impl Into<Arc<FittedNbData>>) -> Result<Self> {
        let data: Arc<FittedNbData> = data.into();
        let (t, v) = (data.n_topics as usize, data.n_features as usize);
        let bad = |m: String| Err(NbError::Inconsistent(m));
        if t < 2 {
            return bad(format!("{t} topics"));
        }
        if data.bias.len() != t || data.topic_doc_counts.len() != t {
            return bad(format!(
                "{} biases, {} counts for {t} topics",
                data.bias.len(),
                data.topic_doc_counts.len()
            ));
        }
        if data.weights.len() != v * t {
            return bad(format!(
                "{} weights for {v} features × {t} topics",
                data.weights.len()
            ));
        }
        if data
            .bias
            .iter()
            .chain(&data.weights)
            .any(|w| !w.is_finite())
        {
            return bad("a weight is not finite".into());
        }
        Ok(Self { data })
    }

    pub fn data(&self) -> &FittedNbData {
        &self.data
    }

    /// The shared saved form.
    pub fn shared_data(&self) -> Arc<FittedNbData> {
        Arc::clone(&self.data)
    }

    pub fn n_topics(&self) -> usize {
        self.data.n_topics as usize
    }

    pub fn n_features(&self) -> usize {
        self.data.n_features as usize
    }

    /// The weights of one feature, one per topic.
    #[inline]
    pub fn feature_weights(&self, feature: usize) -> &[f64] {
        let t = self.n_topics();
        &self.data.weights[feature * t..(feature + 1) * t]
    }

    /// Joint log-likelihood (unnormalised log posterior) of each topic, into `out`.
    pub fn joint_log_likelihood_into(&self, x: &SparseVec, out: &mut [f64]) -> Result<()> {
        out.copy_from_slice(&self.data.bias);
        for (f, value) in x.iter() {
            if f >= self.n_features() {
                return Err(NbError::FeatureOutOfRange {
                    feature: f,
                    n_features: self.n_features(),
                });
            }
            for (o, w) in out.iter_mut().zip(self.feature_weights(f)) {
                *o += value * w;
            }
        }
        Ok(())
    }

    pub fn joint_log_likelihood(&self, x: &SparseVec) -> Result<Vec<f64>> {
        let mut out = vec![0.0; self.n_topics()];
        self.joint_log_likelihood_into(x, &mut out)?;
        Ok(out)
    }

    /// Posterior probability of each topic; finite and summing to 1 for any
    /// document length.
    pub fn predict_proba(&self, x: &SparseVec) -> Result<Vec<f64>> {
        let mut p = self.joint_log_likelihood(x)?;
        softmax_in_place(&mut p);
        Ok(p)
    }

    /// The features that pushed `topic` up the most: `value × (w[topic] −
    /// mean over topics)`, largest first, positive only.
    pub fn explain(&self, x: &SparseVec, topic: usize, top: usize) -> Vec<(usize, f64)> {
        let t = self.n_topics() as f64;
        let mut contributions: Vec<(usize, f64)> = x
            .iter()
            .filter(|&(f, _)| f < self.n_features() && topic < self.n_topics())
            .map(|(f, value)| {
                let w = self.feature_weights(f);
                let mean = w.iter().sum::<f64>() / t;
                (f, value * (w[topic] - mean))
            })
            .filter(|&(_, c)| c > 0.0)
            .collect();
        contributions.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        contributions.truncate(top);
        contributions
    }
}

impl PredictInplace<CsrMatrix, Array2<f64>> for FittedNb {
    /// Fills `y` (documents × topics) with posterior probabilities. Rows whose
    /// features are out of range (a matrix built for another model) get NaN.
    fn predict_inplace(&self, x: &CsrMatrix, y: &mut Array2<f64>) {
        for (i, mut row) in y.rows_mut().into_iter().enumerate().take(x.n_rows()) {
            match self.predict_proba(&x.row_vec(i)) {
                Ok(p) => row.iter_mut().zip(p).for_each(|(o, v)| *o = v),
                Err(_) => row.fill(f64::NAN),
            }
        }
    }

    fn default_target(&self, x: &CsrMatrix) -> Array2<f64> {
        Array2::zeros((x.n_rows(), self.n_topics()))
    }
}
