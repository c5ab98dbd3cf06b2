//! Semi-supervised fitting by Expectation–Maximization (Nigam, McCallum,
//! Thrun and Mitchell, "Text Classification from Labeled and Unlabeled
//! Documents using EM", Machine Learning 39, 2000), with EM-λ's weight on
//! the unlabelled documents.
//!
//! Start from the model fitted on the labelled documents; then repeat: the
//! E-step gives every unlabelled document its topic memberships under the
//! current model (its posterior, sharpened by the temperature that fits the
//! labelled documents), the M-step refits on the labelled counts plus λ
//! times the unlabelled documents' expected counts. Stops after `max_iterations`
//! M-steps, or once the log-likelihood changes by less than `tolerance`
//! (relative). Everything runs in a fixed order on one thread, so the same
//! inputs give the same model, bit for bit.
use super::fit::TopicCounts;
use super::{
    fit_temperature, softmax_with_temperature, FittedNb, LabelSets, NbError, NbValidParams, Result,
};
use crate::features::{huge_page_vec, CsrMatrix};
use serde::{Deserialize, Serialize};

/// EM's settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EmParams {
    /// Weight of an unlabelled document against a labelled one, in [0, 1].
    pub lambda: f64,
    /// M-steps at most.
    pub max_iterations: u32,
    /// Stop when `|ℓ_k − ℓ_{k−1}| ≤ tolerance × |ℓ_{k−1}|`.
    pub tolerance: f64,
}

impl EmParams {
    pub fn validate(&self) -> Result<()> {
        if !(0.0..=1.0).contains(&self.lambda) {
            return Err(NbError::EmSetting(format!(
                "the unlabelled weight (lambda) must be in [0, 1], got {}",
                self.lambda
            )));
        }
        if self.max_iterations == 0 {
            return Err(NbError::EmSetting(
                "EM needs at least 1 iteration".to_string(),
            ));
        }
        if !(self.tolerance.is_finite() && self.tolerance >= 0.0) {
            return Err(NbError::EmSetting(format!(
                "the EM tolerance must be a finite number >= 0, got {}",
                self.tolerance
            )));
        }
        Ok(())
    }
}

/// How memberships are drawn from the posterior in the E-step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Memberships {
    /// The softmax posterior (one topic per document, as in single-label data).
    Posterior,
    /// Multi-label data, where a labelled document counts fully in each of
    /// its topics: the mass of the exclusive topics (`other`) is the chance
    /// the document is theirs; the rest, `1 − e`, goes to the other topics
    /// in proportion to their posterior, the most probable counting fully,
    /// so a document that looks like two topics counts for both, as one
    /// labelled with both would.
    MultiLabel,
}

/// What EM did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmReport {
    /// M-steps run.
    pub iterations: u32,
    /// The log-likelihood (labelled + λ × unlabelled) before each M-step.
    pub log_likelihoods: Vec<f64>,
    /// Whether the tolerance stopped it before `max_iterations`.
    pub converged: bool,
}

/// Fits NB on labelled documents `x`, `y` and unlabelled documents
/// `unlabelled` (same feature space) by EM. `exclusive` flags the topics
/// never combined with another (used by [`Memberships::MultiLabel`]).
pub fn fit_semi_supervised(
    params: &NbValidParams,
    x: &CsrMatrix,
    y: &LabelSets,
    unlabelled: &CsrMatrix,
    em: &EmParams,
    memberships: Memberships,
    exclusive: &[bool],
) -> Result<(FittedNb, EmReport)> {
    em.validate()?;
    if unlabelled.n_features() != x.n_features() {
        return Err(NbError::Inconsistent(format!(
            "unlabelled documents have {} features, labelled ones {}",
            unlabelled.n_features(),
            x.n_features()
        )));
    }
    let base = TopicCounts::of_labelled(x, y)?;
    let (t, v) = (base.n_topics, base.n_features);
    let mut nb = params.fit_counts(base.clone())?;
    let mut report = EmReport {
        iterations: 0,
        log_likelihoods: Vec::new(),
        converged: false,
    };
    let mut jll = vec![0.0; t];
    for _ in 0..em.max_iterations {
        let mut next = TopicCounts {
            counts: huge_page_vec(v * t, 0.0f64),
            ..base.clone_without_counts()
        };
        next.counts.copy_from_slice(&base.counts);
        // The labelled documents' scores under the current model serve both
        // the E-step's temperature and the log-likelihood.
        let labelled = labelled_scores(&nb, x);
        let temperature = fit_temperature(&labelled, y);
        let mut unlabelled_ll = 0.0;
        for i in 0..unlabelled.n_rows() {
            row_log_likelihood(&nb, unlabelled, i, &mut jll);
            unlabelled_ll += log_sum_exp(&jll);
            softmax_with_temperature(&mut jll, temperature);
            if memberships == Memberships::MultiLabel {
                spread_multi_label(&mut jll, exclusive);
            }
            for (c, r) in jll.iter().enumerate() {
                next.mass[c] += em.lambda * r;
            }
            for (f, value) in unlabelled.row(i) {
                let weighted = em.lambda * value;
                next.all[f] += weighted;
                let cell = &mut next.counts[f * t..(f + 1) * t];
                for (n, r) in cell.iter_mut().zip(&jll) {
                    *n += weighted * r;
                }
            }
        }
        let ll = labelled_log_likelihood(&labelled, y) + em.lambda * unlabelled_ll;
        let previous = report.log_likelihoods.last().copied();
        report.log_likelihoods.push(ll);
        if let Some(previous) = previous {
            if (ll - previous).abs() <= em.tolerance * previous.abs() {
                report.converged = true;
                break;
            }
        }
        nb = params.fit_counts(next)?;
        report.iterations += 1;
    }
    Ok((nb, report))
}

impl TopicCounts {
    /// A copy with an empty count table (the caller fills it).
    fn clone_without_counts(&self) -> TopicCounts {
        TopicCounts {
            n_topics: self.n_topics,
            n_features: self.n_features,
            counts: Vec::new(),
            all: self.all.clone(),
            mass: self.mass.clone(),
            doc_counts: self.doc_counts.clone(),
        }
    }
}

/// Σ over labelled documents of the mean joint log-likelihood of their topics.
fn labelled_log_likelihood(scores: &[Vec<f64>], y: &LabelSets) -> f64 {
    let mut total = 0.0;
    for (jll, labels) in scores.iter().zip(&y.labels) {
        if labels.is_empty() {
            continue;
        }
        total += labels.iter().map(|&c| jll[c]).sum::<f64>() / labels.len() as f64;
    }
    total
}

/// Joint log-likelihoods of row `i` of `x`, built in `nb`'s feature space
/// (checked once by the caller), without copying the row.
fn row_log_likelihood(nb: &FittedNb, x: &CsrMatrix, i: usize, out: &mut [f64]) {
    out.copy_from_slice(&nb.data().bias);
    for (f, value) in x.row(i) {
        for (o, w) in out.iter_mut().zip(nb.feature_weights(f)) {
            *o += value * w;
        }
    }
}

/// The labelled documents' joint log-likelihoods under the current model.
/// The E-step sharpens posteriors with the temperature that best fits these
/// (see [`fit_temperature`]): NB posteriors on L2-normalised TF-IDF vectors
/// are flat, and flat memberships spread every unlabelled document over
/// every topic and wash the topics out (20 Newsgroups, 20 labelled per
/// group: accuracy 0.661 supervised, 0.617 by EM at temperature 1, 0.770 at
/// this temperature; docs/BENCHMARKS.md).
fn labelled_scores(nb: &FittedNb, x: &CsrMatrix) -> Vec<Vec<f64>> {
    (0..x.n_rows())
        .map(|i| {
            let mut jll = vec![0.0; nb.n_topics()];
            row_log_likelihood(nb, x, i, &mut jll);
            jll
        })
        .collect()
}

fn log_sum_exp(values: &[f64]) -> f64 {
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        return max;
    }
    max + values.iter().map(|v| (v - max).exp()).sum::<f64>().ln()
}

/// [`Memberships::MultiLabel`], in place on a posterior.
fn spread_multi_label(posterior: &mut [f64], exclusive: &[bool]) {
    let is_exclusive = |c: usize| exclusive.get(c).copied().unwrap_or(false);
    let top = (0..posterior.len())
        .filter(|&c| !is_exclusive(c))
        .map(|c| posterior[c])
        .fold(0.0f64, f64::max);
    if top <= 0.0 {
        return;
    }
    let exclusive_mass: f64 = (0..posterior.len())
        .filter(|&c| is_exclusive(c))
        .map(|c| posterior[c])
        .sum();
    let scale = (1.0 - exclusive_mass).max(0.0) / top;
    for (c, p) in posterior.iter_mut().enumerate() {
        if !is_exclusive(c) {
            *p *= scale;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::SparseVec;
    use linfa::ParamGuard;

    /// Rows over 6 features: topic 0 words are 0–2, topic 1 words are 3–5.
    fn matrix(rows: &[&[usize]]) -> CsrMatrix {
        CsrMatrix::from_rows(
            6,
            rows.iter().map(|r| {
                let mut ids: Vec<u32> = r.iter().map(|&f| f as u32).collect();
                SparseVec::from_ids(&mut ids)
            }),
        )
    }

    fn params() -> NbValidParams {
        crate::nb::NbParams::new()
            .variant(crate::nb::NbVariant::Multinomial)
            .check()
            .unwrap()
    }

    fn em_fit(
        x: &CsrMatrix,
        y: &LabelSets,
        u: &CsrMatrix,
        em: &EmParams,
    ) -> Result<(FittedNb, EmReport)> {
        fit_semi_supervised(&params(), x, y, u, em, Memberships::Posterior, &[false; 2])
    }

    fn supervised(x: &CsrMatrix, y: &LabelSets) -> FittedNb {
        params()
            .fit_counts(TopicCounts::of_labelled(x, y).unwrap())
            .unwrap()
    }

    #[test]
    fn unlabelled_documents_teach_words_the_labelled_ones_lack() {
        // Labelled: feature 0 for topic 0, feature 3 for topic 1. Unlabelled
        // documents pair 0 with 2 and 3 with 5: EM learns that 2 means topic 0.
        let x = matrix(&[&[0], &[3]]);
        let y = LabelSets::new(2, vec![vec![0], vec![1]]);
        let u = matrix(&[&[0, 2], &[0, 2, 2], &[3, 5], &[3, 5, 5]]);
        let em = EmParams {
            lambda: 1.0,
            max_iterations: 10,
            tolerance: 1e-9,
        };
        let supervised = supervised(&x, &y);
        let (semi, report) = em_fit(&x, &y, &u, &em).unwrap();
        let only_2 = SparseVec::from_ids(&mut [2]);
        let before = supervised.predict_proba(&only_2).unwrap();
        let after = semi.predict_proba(&only_2).unwrap();
        assert!((before[0] - 0.5).abs() < 1e-9, "{before:?}");
        assert!(after[0] > 0.8, "{after:?}");
        assert!(report.iterations >= 1);
        // The objective rose.
        let ll = &report.log_likelihoods;
        assert!(ll.len() >= 2 && ll[ll.len() - 1] > ll[0], "{ll:?}");
        // Same inputs, same model, bit for bit.
        let (again, _) = em_fit(&x, &y, &u, &em).unwrap();
        assert_eq!(semi, again);
    }

    #[test]
    fn lambda_zero_is_the_supervised_model_and_bad_settings_are_refused() {
        let x = matrix(&[&[0], &[3]]);
        let y = LabelSets::new(2, vec![vec![0], vec![1]]);
        let u = matrix(&[&[0, 2]]);
        let em = EmParams {
            lambda: 0.0,
            max_iterations: 3,
            tolerance: 0.0,
        };
        let supervised = supervised(&x, &y);
        let (semi, _) = em_fit(&x, &y, &u, &em).unwrap();
        assert_eq!(semi, supervised);
        for (lambda, iterations, tolerance) in [
            (1.5, 3, 0.0),
            (-0.1, 3, 0.0),
            (0.5, 0, 0.0),
            (0.5, 3, f64::NAN),
        ] {
            let em = EmParams {
                lambda,
                max_iterations: iterations,
                tolerance,
            };
            let err = em_fit(&x, &y, &u, &em).unwrap_err();
            assert!(matches!(err, NbError::EmSetting(_)), "{err}");
        }
    }

    #[test]
    fn multi_label_memberships_keep_the_exclusive_topic_apart() {
        let mut p = vec![0.4, 0.4, 0.2];
        spread_multi_label(&mut p, &[false, false, true]);
        assert!(
            (p[0] - 0.8).abs() < 1e-12 && (p[0] - p[1]).abs() < 1e-12,
            "{p:?}"
        );
        assert!((p[2] - 0.2).abs() < 1e-12);
    }
}
