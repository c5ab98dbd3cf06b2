//! Metrics over topic decisions.
//!
//! Definitions follow scikit-learn's `classification_report`: a topic's
//! precision is 0 when it is never predicted (`zero_division=0`); macro
//! averages run over topics that occur in the gold labels or the predictions;
//! micro averages pool every (document, topic) decision. Accuracy is exact-set
//! match, which is plain accuracy for single-label data. Hamming loss is the
//! fraction of wrong (document, topic) decisions.
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopicMetrics {
    pub topic: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: u64,
    pub predicted: u64,
    pub true_positives: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub documents: u64,
    pub accuracy: f64,
    pub micro_precision: f64,
    pub micro_recall: f64,
    pub micro_f1: f64,
    pub macro_precision: f64,
    pub macro_recall: f64,
    pub macro_f1: f64,
    pub hamming_loss: f64,
    pub per_topic: Vec<TopicMetrics>,
}

/// `num / den`, 0 when `den` is 0 (scikit-learn's `zero_division=0`).
pub(crate) fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// Harmonic mean of precision and recall, 0 when both are 0.
pub(crate) fn f1(p: f64, r: f64) -> f64 {
    if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    }
}

/// Scores `predicted` label sets against `gold` ones (topic indices into `topics`).
pub fn evaluate(gold: &[Vec<usize>], predicted: &[Vec<usize>], topics: &[String]) -> Report {
    let t = topics.len();
    let n = gold.len().min(predicted.len());
    let (mut tp, mut support, mut pred) = (vec![0u64; t], vec![0u64; t], vec![0u64; t]);
    let mut exact = 0u64;
    let mut wrong_decisions = 0u64;
    for (g, p) in gold.iter().zip(predicted).take(n) {
        let mut g: Vec<usize> = g.iter().copied().filter(|&c| c < t).collect();
        let mut p: Vec<usize> = p.iter().copied().filter(|&c| c < t).collect();
        g.sort_unstable();
        g.dedup();
        p.sort_unstable();
        p.dedup();
        if g == p {
            exact += 1;
        }
        for &c in &g {
            support[c] += 1;
            if p.binary_search(&c).is_ok() {
                tp[c] += 1;
            } else {
                wrong_decisions += 1;
            }
        }
        for &c in &p {
            pred[c] += 1;
            if g.binary_search(&c).is_err() {
                wrong_decisions += 1;
            }
        }
    }
    let per_topic: Vec<TopicMetrics> = (0..t)
        .map(|c| {
            let precision = ratio(tp[c], pred[c]);
            let recall = ratio(tp[c], support[c]);
            TopicMetrics {
                topic: topics[c].clone(),
                precision,
                recall,
                f1: f1(precision, recall),
                support: support[c],
                predicted: pred[c],
                true_positives: tp[c],
            }
        })
        .collect();
    let present: Vec<&TopicMetrics> = per_topic
        .iter()
        .filter(|m| m.support > 0 || m.predicted > 0)
        .collect();
    let macro_avg = |f: fn(&TopicMetrics) -> f64| {
        if present.is_empty() {
            0.0
        } else {
            present.iter().map(|m| f(m)).sum::<f64>() / present.len() as f64
        }
    };
    let (tp_all, sup_all, pred_all) = (tp.iter().sum(), support.iter().sum(), pred.iter().sum());
    let micro_precision = ratio(tp_all, pred_all);
    let micro_recall = ratio(tp_all, sup_all);
    Report {
        documents: n as u64,
        accuracy: ratio(exact, n as u64),
        micro_precision,
        micro_recall,
        micro_f1: f1(micro_precision, micro_recall),
        macro_precision: macro_avg(|m| m.precision),
        macro_recall: macro_avg(|m| m.recall),
        macro_f1: macro_avg(|m| m.f1),
        hamming_loss: ratio(wrong_decisions, n as u64 * t as u64),
        per_topic,
    }
}
