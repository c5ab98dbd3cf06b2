//! The full evaluation report: the headline metrics of [`evaluate`], plus the
//! confusion matrix (single-label data), per-topic error counts, a per-topic
//! threshold sweep, a calibration table, and the hashes that say what was
//! measured. Built from [`Scored`] documents; the binaries render it.
//!
//! Conventions, as in [`evaluate`]: a precision with nothing predicted is 0
//! (scikit-learn's `zero_division=0`).
use super::metrics::{evaluate, Report};
use super::metrics::{f1, ratio};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Row and column label of the confusion matrix for "no label".
pub const NONE_LABEL: &str = "none";

/// The thresholds of the sweep: 0.05, 0.10, … 0.95 (19 values).
pub fn sweep_thresholds() -> Vec<f64> {
    (1..=19).map(|k| f64::from(k) / 20.0).collect()
}

/// Number of calibration bins, each 0.1 wide.
pub const CALIBRATION_BINS: usize = 10;

/// What was measured, document by document, with topics as indices.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scored {
    /// Gold topic sets.
    pub gold: Vec<Vec<usize>>,
    /// Decided topics, most probable first (as `Model::classify` gives them).
    pub predicted: Vec<Vec<usize>>,
    /// Probability of every topic, in topic order.
    pub probabilities: Vec<Vec<f64>>,
}

impl Scored {
    pub fn push(&mut self, gold: Vec<usize>, predicted: Vec<usize>, probabilities: Vec<f64>) {
        self.gold.push(gold);
        self.predicted.push(predicted);
        self.probabilities.push(probabilities);
    }

    pub fn len(&self) -> usize {
        self.gold.len()
    }

    pub fn is_empty(&self) -> bool {
        self.gold.is_empty()
    }

    /// True when some document has more than one distinct gold topic.
    pub fn is_multi_label(&self) -> bool {
        self.gold.iter().any(|g| {
            let mut g = g.clone();
            g.sort_unstable();
            g.dedup();
            g.len() > 1
        })
    }
}

/// Gold topic × top decided topic, for single-label data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConfusionMatrix {
    /// Row and column labels: the topics in order, then `"none"`.
    pub labels: Vec<String>,
    /// `counts[gold][predicted]`. The gold row is the document's (first) gold
    /// topic, or `none` when it has none; the column is its most probable
    /// decided topic, or `none` when nothing was decided (a text with no term
    /// the model knows). The counts add up to the number of documents.
    pub counts: Vec<Vec<u64>>,
}

/// Builds the confusion matrix of `gold` against the top `predicted` topic.
pub fn confusion_matrix(
    gold: &[Vec<usize>],
    predicted: &[Vec<usize>],
    topics: &[String],
) -> ConfusionMatrix {
    let t = topics.len();
    let mut counts = vec![vec![0u64; t + 1]; t + 1];
    let cell = |set: &[usize]| set.first().copied().filter(|&c| c < t).unwrap_or(t);
    for (g, p) in gold.iter().zip(predicted) {
        counts[cell(g)][cell(p)] += 1;
    }
    let mut labels = topics.to_vec();
    labels.push(NONE_LABEL.to_string());
    ConfusionMatrix { labels, counts }
}

/// One topic's decisions, counted over every document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopicErrors {
    pub topic: String,
    pub true_positives: u64,
    pub false_positives: u64,
    pub false_negatives: u64,
    pub true_negatives: u64,
}

/// Per-topic TP / FP / FN / TN of the decided label sets.
pub fn topic_errors(
    gold: &[Vec<usize>],
    predicted: &[Vec<usize>],
    topics: &[String],
) -> Vec<TopicErrors> {
    topics
        .iter()
        .enumerate()
        .map(|(c, topic)| {
            let mut e = TopicErrors {
                topic: topic.clone(),
                true_positives: 0,
                false_positives: 0,
                false_negatives: 0,
                true_negatives: 0,
            };
            for (g, p) in gold.iter().zip(predicted) {
                match (g.contains(&c), p.contains(&c)) {
                    (true, true) => e.true_positives += 1,
                    (false, true) => e.false_positives += 1,
                    (true, false) => e.false_negatives += 1,
                    (false, false) => e.true_negatives += 1,
                }
            }
            e
        })
        .collect()
}

/// Precision and recall of "probability ≥ threshold" for one topic.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepPoint {
    pub threshold: f64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Documents at or above the threshold.
    pub predicted: u64,
    pub true_positives: u64,
}

/// One topic's threshold sweep.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopicSweep {
    pub topic: String,
    pub support: u64,
    /// One point per threshold of [`sweep_thresholds`].
    pub points: Vec<SweepPoint>,
}

/// For every topic and every threshold of [`sweep_thresholds`]: the precision
/// and recall of deciding the topic when its probability reaches the
/// threshold, independently of the model's own decision rule.
pub fn threshold_sweep(
    gold: &[Vec<usize>],
    probabilities: &[Vec<f64>],
    topics: &[String],
) -> Vec<TopicSweep> {
    let thresholds = sweep_thresholds();
    topics
        .iter()
        .enumerate()
        .map(|(c, topic)| {
            let support = gold.iter().filter(|g| g.contains(&c)).count() as u64;
            let points = thresholds
                .iter()
                .map(|&th| {
                    let (mut predicted, mut tp) = (0u64, 0u64);
                    for (g, p) in gold.iter().zip(probabilities) {
                        if p.get(c).is_some_and(|&v| v >= th) {
                            predicted += 1;
                            if g.contains(&c) {
                                tp += 1;
                            }
                        }
                    }
                    let (precision, recall) = (ratio(tp, predicted), ratio(tp, support));
                    SweepPoint {
                        threshold: th,
                        precision,
                        recall,
                        f1: f1(precision, recall),
                        predicted,
                        true_positives: tp,
                    }
                })
                .collect();
            TopicSweep {
                topic: topic.clone(),
                support,
                points,
            }
        })
        .collect()
}

/// One probability bin of the calibration table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CalibrationBin {
    /// The bin holds probabilities in `[lower, upper)` (the last one includes 1).
    pub lower: f64,
    pub upper: f64,
    /// (document, topic) pairs whose probability falls in the bin.
    pub count: u64,
    /// Mean predicted probability of those pairs; `None` for an empty bin.
    pub mean_predicted: Option<f64>,
    /// Fraction of those pairs where the topic is a gold topic; `None` for an empty bin.
    pub observed_frequency: Option<f64>,
}

/// Predicted probability against observed frequency, over every
/// (document, topic) pair.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Calibration {
    pub bins: Vec<CalibrationBin>,
    /// documents × topics.
    pub pairs: u64,
    /// Σ count/pairs × |mean predicted − observed frequency| over the bins.
    pub expected_calibration_error: f64,
    /// Mean squared difference between probability and 0/1 outcome.
    pub brier_score: f64,
    /// The same two figures for each topic's own pairs, in topic order.
    pub per_topic: Vec<TopicCalibration>,
}

/// One topic's calibration: over its (document, topic) pairs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopicCalibration {
    /// Documents whose gold topics include it.
    pub positives: u64,
    pub expected_calibration_error: f64,
    pub brier_score: f64,
    /// Mean predicted probability against the share of positives.
    pub mean_predicted: f64,
}

/// Bins every (document, topic) probability into [`CALIBRATION_BINS`] bins,
/// over all pairs and per topic.
pub fn calibration(gold: &[Vec<usize>], probabilities: &[Vec<f64>]) -> Calibration {
    let n_topics = probabilities.iter().map(Vec::len).max().unwrap_or(0);
    let per_topic = (0..n_topics)
        .map(|t| {
            let pairs = pooled_calibration(gold, probabilities, Some(t));
            let n = pairs.pairs.max(1) as f64;
            let positives = gold.iter().filter(|g| g.contains(&t)).count() as u64;
            let mean_predicted = probabilities.iter().filter_map(|p| p.get(t)).sum::<f64>() / n;
            TopicCalibration {
                positives,
                expected_calibration_error: pairs.expected_calibration_error,
                brier_score: pairs.brier_score,
                mean_predicted,
            }
        })
        .collect();
    Calibration {
        per_topic,
        ..pooled_calibration(gold, probabilities, None)
    }
}

/// [`calibration`] over the pairs of `only` topic, or of every topic.
fn pooled_calibration(
    gold: &[Vec<usize>],
    probabilities: &[Vec<f64>],
    only: Option<usize>,
) -> Calibration {
    let b = CALIBRATION_BINS;
    let mut count = vec![0u64; b];
    let mut sum_p = vec![0.0f64; b];
    let mut positives = vec![0u64; b];
    let mut squared = 0.0;
    for (g, probs) in gold.iter().zip(probabilities) {
        for (c, &p) in probs.iter().enumerate() {
            if only.is_some_and(|t| t != c) {
                continue;
            }
            let bin = ((p * b as f64).floor().max(0.0) as usize).min(b - 1);
            let y = g.contains(&c);
            count[bin] += 1;
            sum_p[bin] += p;
            if y {
                positives[bin] += 1;
            }
            squared += (p - if y { 1.0 } else { 0.0 }).powi(2);
        }
    }
    let pairs: u64 = count.iter().sum();
    let bins: Vec<CalibrationBin> = (0..b)
        .map(|i| CalibrationBin {
            lower: i as f64 / b as f64,
            upper: (i + 1) as f64 / b as f64,
            count: count[i],
            mean_predicted: (count[i] > 0).then(|| sum_p[i] / count[i] as f64),
            observed_frequency: (count[i] > 0).then(|| ratio(positives[i], count[i])),
        })
        .collect();
    let expected_calibration_error = bins
        .iter()
        .filter_map(|bin| {
            let (m, o) = (bin.mean_predicted?, bin.observed_frequency?);
            Some(ratio(bin.count, pairs) * (m - o).abs())
        })
        .sum();
    Calibration {
        per_topic: Vec::new(),
        bins,
        pairs,
        expected_calibration_error,
        brier_score: if pairs == 0 {
            0.0
        } else {
            squared / pairs as f64
        },
    }
}

/// What the model hash was computed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelHashSource {
    /// The bytes of the model file.
    ModelFile,
    /// The training options as JSON (cross-validation trains its own models).
    TrainOptions,
}

/// Identifies what was measured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hashes {
    /// SHA-256 (hex) of the model file, or of the training options for CV.
    pub model_sha256: String,
    pub model_sha256_of: ModelHashSource,
    /// `train::corpus_hash` of the evaluated documents.
    pub data_sha256: String,
}

/// SHA-256 of `bytes`, as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    crate::hash::hex(&Sha256::digest(bytes))
}

/// Everything the harness reports about one model on one data set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    /// `documents`, `accuracy`, micro/macro P/R/F1, `hamming_loss`, `per_topic`.
    #[serde(flatten)]
    pub metrics: Report,
    /// Some document has several gold topics.
    pub multi_label: bool,
    /// Single-label data only.
    pub confusion_matrix: Option<ConfusionMatrix>,
    pub topic_errors: Vec<TopicErrors>,
    pub threshold_sweep: Vec<TopicSweep>,
    pub calibration: Calibration,
    #[serde(flatten)]
    pub hashes: Hashes,
}

impl EvalReport {
    /// Computes every section from `scored` (topic indices into `topics`).
    pub fn new(scored: &Scored, topics: &[String], hashes: Hashes) -> Self {
        let multi_label = scored.is_multi_label();
        Self {
            metrics: evaluate(&scored.gold, &scored.predicted, topics),
            multi_label,
            confusion_matrix: (!multi_label)
                .then(|| confusion_matrix(&scored.gold, &scored.predicted, topics)),
            topic_errors: topic_errors(&scored.gold, &scored.predicted, topics),
            threshold_sweep: threshold_sweep(&scored.gold, &scored.probabilities, topics),
            calibration: calibration(&scored.gold, &scored.probabilities),
            hashes,
        }
    }
}

/// One topic's F1 in two reports, and the change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopicDifference {
    pub topic: String,
    /// `None` when the model does not know the topic.
    pub f1_a: Option<f64>,
    pub f1_b: Option<f64>,
    /// `f1_b − f1_a`, when both know the topic.
    pub f1_difference: Option<f64>,
}

/// Headline metrics of report B minus those of report A, and per-topic F1.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    pub accuracy: f64,
    pub macro_precision: f64,
    pub macro_recall: f64,
    pub macro_f1: f64,
    pub micro_precision: f64,
    pub micro_recall: f64,
    pub micro_f1: f64,
    pub hamming_loss: f64,
    /// A's topics in order, then B's topics A does not know.
    pub per_topic: Vec<TopicDifference>,
}

/// B − A, matching topics by id.
pub fn difference(a: &Report, b: &Report) -> Difference {
    let mut ids: Vec<&str> = a.per_topic.iter().map(|m| m.topic.as_str()).collect();
    for m in &b.per_topic {
        if !ids.contains(&m.topic.as_str()) {
            ids.push(&m.topic);
        }
    }
    let f1_of = |r: &Report, id: &str| r.per_topic.iter().find(|m| m.topic == id).map(|m| m.f1);
    let per_topic = ids
        .into_iter()
        .map(|id| {
            let (f1_a, f1_b) = (f1_of(a, id), f1_of(b, id));
            TopicDifference {
                topic: id.to_string(),
                f1_a,
                f1_b,
                f1_difference: f1_a.zip(f1_b).map(|(x, y)| y - x),
            }
        })
        .collect();
    Difference {
        accuracy: b.accuracy - a.accuracy,
        macro_precision: b.macro_precision - a.macro_precision,
        macro_recall: b.macro_recall - a.macro_recall,
        macro_f1: b.macro_f1 - a.macro_f1,
        micro_precision: b.micro_precision - a.micro_precision,
        micro_recall: b.micro_recall - a.micro_recall,
        micro_f1: b.micro_f1 - a.micro_f1,
        hamming_loss: b.hamming_loss - a.hamming_loss,
        per_topic,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn confusion_matrix_by_hand() {
        // gold:      a a a b b c  (and one document with no gold topic)
        // predicted: a b a b - c    c      ("-" = nothing decided)
        let gold = vec![vec![0], vec![0], vec![0], vec![1], vec![1], vec![2], vec![]];
        let predicted = vec![
            vec![0],
            vec![1, 0], // top label b
            vec![0],
            vec![1],
            vec![],
            vec![2],
            vec![2],
        ];
        let m = confusion_matrix(&gold, &predicted, &ids(&["a", "b", "c"]));
        assert_eq!(m.labels, ["a", "b", "c", "none"]);
        assert_eq!(
            m.counts,
            vec![
                vec![2, 1, 0, 0],
                vec![0, 1, 0, 1],
                vec![0, 0, 1, 0],
                vec![0, 0, 1, 0],
            ]
        );
        let total: u64 = m.counts.iter().flatten().sum();
        assert_eq!(total, 7);
    }

    #[test]
    fn topic_errors_by_hand() {
        // Multi-label: {a,b} → {a}, {b} → {b,c}, {c} → {}.
        let gold = vec![vec![0, 1], vec![1], vec![2]];
        let predicted = vec![vec![0], vec![1, 2], vec![]];
        let e = topic_errors(&gold, &predicted, &ids(&["a", "b", "c"]));
        let row = |e: &TopicErrors| {
            (
                e.true_positives,
                e.false_positives,
                e.false_negatives,
                e.true_negatives,
            )
        };
        assert_eq!(row(&e[0]), (1, 0, 0, 2));
        assert_eq!(row(&e[1]), (1, 0, 1, 1));
        assert_eq!(row(&e[2]), (0, 1, 1, 1));
    }

    #[test]
    fn sweep_by_hand() {
        assert_eq!(sweep_thresholds().len(), 19);
        assert_eq!(sweep_thresholds()[0], 0.05);
        assert_eq!(sweep_thresholds()[18], 0.95);
        // Topic a's probabilities: 0.9 (gold a), 0.6 (gold a), 0.3 (not a), 0.1 (gold a).
        let gold = vec![vec![0], vec![0], vec![1], vec![0]];
        let probs = vec![
            vec![0.9, 0.1],
            vec![0.6, 0.4],
            vec![0.3, 0.7],
            vec![0.1, 0.9],
        ];
        let s = threshold_sweep(&gold, &probs, &ids(&["a", "b"]));
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].support, 3);
        let a = &s[0].points;
        assert_eq!(a.len(), 19);
        let at = |t: f64| a.iter().find(|p| (p.threshold - t).abs() < 1e-12).unwrap();
        // t = 0.05: all four predicted, 3 right.
        assert_eq!((at(0.05).predicted, at(0.05).true_positives), (4, 3));
        assert_eq!(at(0.05).precision, 0.75);
        assert_eq!(at(0.05).recall, 1.0);
        // t = 0.10: p >= t includes 0.1 exactly.
        assert_eq!(at(0.10).predicted, 4);
        // t = 0.30: 0.9, 0.6, 0.3 → 2 of 3 right, recall 2/3.
        assert_eq!((at(0.30).predicted, at(0.30).true_positives), (3, 2));
        assert_eq!(at(0.30).precision, 2.0 / 3.0);
        assert_eq!(at(0.30).recall, 2.0 / 3.0);
        // t = 0.50: 0.9 and 0.6, both right.
        assert_eq!(at(0.50).precision, 1.0);
        assert_eq!(at(0.50).recall, 2.0 / 3.0);
        assert!((at(0.50).f1 - 0.8).abs() < 1e-12);
        // t = 0.95: nothing predicted: precision 0 (zero_division=0), recall 0.
        assert_eq!((at(0.95).predicted, at(0.95).precision), (0, 0.0));
        assert_eq!(at(0.95).recall, 0.0);
        // Topic b: 0.7 (gold b) and 0.9 (not b) at t = 0.65.
        let b = &s[1].points[12];
        assert_eq!(b.threshold, 0.65);
        assert_eq!((b.predicted, b.true_positives), (2, 1));
    }

    #[test]
    fn calibration_by_hand() {
        let gold = vec![vec![0], vec![1], vec![0]];
        let probs = vec![vec![0.95, 0.05], vec![0.55, 0.45], vec![0.62, 0.38]];
        let c = calibration(&gold, &probs);
        assert_eq!(c.pairs, 6);
        assert_eq!(c.bins.len(), 10);
        let counts: Vec<u64> = c.bins.iter().map(|b| b.count).collect();
        assert_eq!(counts, [1, 0, 0, 1, 1, 1, 1, 0, 0, 1]);
        assert_eq!(c.bins[0].mean_predicted, Some(0.05));
        assert_eq!(c.bins[0].observed_frequency, Some(0.0));
        assert_eq!(c.bins[1].mean_predicted, None);
        assert_eq!(c.bins[4].mean_predicted, Some(0.45));
        assert_eq!(c.bins[4].observed_frequency, Some(1.0));
        assert_eq!(c.bins[5].observed_frequency, Some(0.0));
        assert_eq!(c.bins[6].observed_frequency, Some(1.0));
        assert_eq!(c.bins[9].observed_frequency, Some(1.0));
        assert_eq!((c.bins[9].lower, c.bins[9].upper), (0.9, 1.0));
        // |0.05-0| + |0.38-0| + |0.45-1| + |0.55-0| + |0.62-1| + |0.95-1|, each / 6.
        let ece = (0.05 + 0.38 + 0.55 + 0.55 + 0.38 + 0.05) / 6.0;
        assert!((c.expected_calibration_error - ece).abs() < 1e-12);
        let brier = (0.05f64.powi(2) * 2.0 + 0.55f64.powi(2) * 2.0 + 0.38f64.powi(2) * 2.0) / 6.0;
        assert!((c.brier_score - brier).abs() < 1e-12);
        // Probability 1.0 falls in the last bin, 0.0 in the first.
        let edge = calibration(&[vec![0]], &[vec![1.0, 0.0]]);
        assert_eq!(edge.bins[9].count, 1);
        assert_eq!(edge.bins[0].count, 1);
    }

    #[test]
    fn report_sections_follow_the_data() {
        let topics = ids(&["a", "b"]);
        let mut single = Scored::default();
        single.push(vec![0], vec![0], vec![0.8, 0.2]);
        single.push(vec![1], vec![0], vec![0.6, 0.4]);
        let hashes = Hashes {
            model_sha256: sha256_hex(b""),
            model_sha256_of: ModelHashSource::ModelFile,
            data_sha256: String::new(),
        };
        let r = EvalReport::new(&single, &topics, hashes.clone());
        assert!(!r.multi_label);
        assert_eq!(
            r.confusion_matrix.as_ref().unwrap().counts,
            vec![vec![1, 0, 0], vec![1, 0, 0], vec![0, 0, 0]]
        );
        assert_eq!(r.metrics.accuracy, 0.5);
        let json = serde_json::to_value(&r).unwrap();
        for key in [
            "accuracy",
            "macro_f1",
            "micro_f1",
            "per_topic",
            "confusion_matrix",
            "threshold_sweep",
            "calibration",
            "model_sha256",
            "data_sha256",
        ] {
            assert!(json.get(key).is_some(), "missing {key}");
        }
        assert_eq!(
            json["model_sha256"],
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(json["model_sha256_of"], "model_file");

        let mut multi = single.clone();
        multi.push(vec![0, 1], vec![0], vec![0.5, 0.5]);
        let r = EvalReport::new(&multi, &topics, hashes);
        assert!(r.multi_label);
        assert!(r.confusion_matrix.is_none());
    }

    #[test]
    fn difference_is_b_minus_a() {
        let a = evaluate(&[vec![0], vec![1]], &[vec![0], vec![0]], &ids(&["x", "y"]));
        let b = evaluate(&[vec![0], vec![1]], &[vec![0], vec![1]], &ids(&["x", "z"]));
        let d = difference(&a, &b);
        assert_eq!(d.accuracy, 0.5);
        assert_eq!(d.macro_f1, b.macro_f1 - a.macro_f1);
        let topics: Vec<&str> = d.per_topic.iter().map(|t| t.topic.as_str()).collect();
        assert_eq!(topics, ["x", "y", "z"]);
        assert_eq!(d.per_topic[0].f1_difference, Some(1.0 - 2.0 / 3.0));
        assert_eq!(d.per_topic[1].f1_b, None);
        assert_eq!(d.per_topic[1].f1_difference, None);
        assert_eq!(d.per_topic[2].f1_a, None);
    }
}
