//! Per-topic calibrated probabilities for multi-label models: each topic's
//! probability is the chance that the topic applies to the document, on its
//! own, so the probabilities of one document need not sum to 1.
//!
//! The score calibrated is the topic's one-vs-rest log-odds under the NB
//! posterior, `jll[t] − log Σ_{u≠t} exp(jll[u])` (the logit of the softmax
//! probability, computed without losing the tails). Each topic maps it to a
//! probability with a map fitted on out-of-fold scores: Platt scaling (a
//! sigmoid, two numbers) or isotonic regression (a monotone step function,
//! interpolated between the ends of its steps).
use super::LabelSets;
use serde::{Deserialize, Serialize};

/// How a topic's one-vs-rest log-odds becomes a probability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TopicCalibrator {
    /// `1 / (1 + exp(−(slope × score + intercept)))`.
    Platt { slope: f64, intercept: f64 },
    /// Knots of a non-decreasing map, `scores` ascending; linear between
    /// knots, constant beyond the ends.
    Isotonic {
        scores: Vec<f64>,
        probabilities: Vec<f64>,
    },
}

/// The calibration method a map is fitted with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PerTopicMethod {
    Platt,
    Isotonic,
}

/// One calibrator per topic, in topic order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerTopicCalibration {
    pub method: PerTopicMethod,
    pub topics: Vec<TopicCalibrator>,
}

impl PerTopicCalibration {
    /// Fits one map per topic on out-of-fold joint log-likelihoods `jll`
    /// (one row per document) against the gold topics.
    pub fn fit(method: PerTopicMethod, jll: &[Vec<f64>], gold: &LabelSets) -> Self {
        let n_topics = gold.n_topics;
        let log_odds: Vec<Vec<f64>> = jll
            .iter()
            .map(|row| {
                let mut s = vec![0.0; row.len()];
                one_vs_rest_log_odds(row, &mut s);
                s
            })
            .collect();
        let topics = (0..n_topics)
            .map(|t| {
                let points: Vec<(f64, bool)> = log_odds
                    .iter()
                    .zip(&gold.labels)
                    .filter_map(|(s, labels)| s.get(t).map(|&x| (x, labels.contains(&t))))
                    .collect();
                match method {
                    PerTopicMethod::Platt => fit_platt(&points),
                    PerTopicMethod::Isotonic => fit_isotonic(&points),
                }
            })
            .collect();
        Self { method, topics }
    }

    /// Turns a document's joint log-likelihoods into calibrated per-topic
    /// probabilities, in place.
    pub fn apply(&self, scores: &mut [f64]) {
        log_odds_in_place(scores);
        for (score, calibrator) in scores.iter_mut().zip(&self.topics) {
            *score = calibrator.probability(*score);
        }
    }

    /// Checks the maps: one per topic, finite, probabilities in [0, 1],
    /// isotonic knots ascending and non-decreasing.
    pub fn validate(&self, n_topics: usize) -> std::result::Result<(), String> {
        if self.topics.len() != n_topics {
            return Err(format!(
                "{} calibration maps for {n_topics} topics",
                self.topics.len()
            ));
        }
        for (t, c) in self.topics.iter().enumerate() {
            let ok = match c {
                TopicCalibrator::Platt { slope, intercept } => {
                    slope.is_finite() && intercept.is_finite()
                }
                TopicCalibrator::Isotonic {
                    scores,
                    probabilities,
                } => {
                    !scores.is_empty()
                        && scores.len() == probabilities.len()
                        && scores.iter().all(|x| x.is_finite())
                        && probabilities.iter().all(|p| (0.0..=1.0).contains(p))
                        && scores.windows(2).all(|w| w[0] <= w[1])
                        && probabilities.windows(2).all(|w| w[0] <= w[1])
                }
            };
            if !ok {
                return Err(format!("calibration map of topic {t} is invalid"));
            }
        }
        Ok(())
    }
}

impl TopicCalibrator {
    /// The calibrated probability of a one-vs-rest log-odds `score`.
    pub fn probability(&self, score: f64) -> f64 {
        match self {
            TopicCalibrator::Platt { slope, intercept } => sigmoid(slope * score + intercept),
            TopicCalibrator::Isotonic {
                scores,
                probabilities,
            } => {
                let n = scores.len();
                if n == 0 || score.is_nan() {
                    return 0.0;
                }
                // First knot strictly above `score`.
                let above = scores.partition_point(|&x| x <= score);
                if above == 0 {
                    return probabilities[0];
                }
                if above == n {
                    return probabilities[n - 1];
                }
                let (x0, x1) = (scores[above - 1], scores[above]);
                let (y0, y1) = (probabilities[above - 1], probabilities[above]);
                if x1 > x0 {
                    y0 + (y1 - y0) * (score - x0) / (x1 - x0)
                } else {
                    y1
                }
            }
        }
    }
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// `out[t] = jll[t] − log Σ_{u≠t} exp(jll[u])`: the log-odds of topic `t`
/// against all the others under the softmax posterior. O(topics): the sum
/// over the others is the total minus the topic's own term, except for the
/// top topic, whose others are summed afresh around the runner-up (the
/// subtraction would cancel there). With one topic the log-odds is +∞,
/// clamped to a large finite value.
pub fn one_vs_rest_log_odds(jll: &[f64], out: &mut [f64]) {
    out.copy_from_slice(jll);
    log_odds_in_place(out);
}

/// [`one_vs_rest_log_odds`] in place, so serving allocates nothing: every
/// aggregate is taken before the first score is overwritten.
fn log_odds_in_place(scores: &mut [f64]) {
    let n = scores.len();
    if n == 0 {
        return;
    }
    if n == 1 {
        scores[0] = MAX_LOG_ODDS;
        return;
    }
    // NaN carries no evidence: treat it as the least likely score.
    for v in scores.iter_mut() {
        if v.is_nan() {
            *v = f64::NEG_INFINITY;
        }
    }
    let mut top = 0;
    for (i, &v) in scores.iter().enumerate() {
        if v > scores[top] {
            top = i;
        }
    }
    let max = scores[top];
    if max == f64::NEG_INFINITY {
        // No topic has any likelihood: no evidence either way.
        scores.iter_mut().for_each(|v| *v = 0.0);
        return;
    }
    let total: f64 = scores.iter().map(|&v| (v - max).exp()).sum();
    let runner_up = scores
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != top)
        .map(|(_, &v)| v)
        .fold(f64::NEG_INFINITY, f64::max);
    let rest: f64 = scores
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != top)
        .map(|(_, &u)| (u - runner_up).exp())
        .sum();
    // Every other topic impossible: the top one is certain.
    let others_of_top = if runner_up == f64::NEG_INFINITY {
        f64::NEG_INFINITY
    } else {
        runner_up + rest.ln()
    };
    for (t, v) in scores.iter_mut().enumerate() {
        let others = if t == top {
            others_of_top
        } else {
            // Includes the top topic's term (1), so no cancellation.
            max + (total - (*v - max).exp()).ln()
        };
        *v = (*v - others).clamp(-MAX_LOG_ODDS, MAX_LOG_ODDS);
    }
}

/// Log-odds beyond this carry no more information (a probability within
/// 1e-300 of 0 or 1) and would only put infinities in the maps.
const MAX_LOG_ODDS: f64 = 690.0;

/// Platt scaling by Newton's method with a backtracking line search on the
/// log loss, with Platt's smoothed targets (`(N₊+1)/(N₊+2)` and
/// `1/(N₋+2)`), so a topic with few positives is not pushed to 0 or 1
/// (Lin, Lin and Weng, "A note on Platt's probabilistic outputs", 2007).
fn fit_platt(points: &[(f64, bool)]) -> TopicCalibrator {
    let positives = points.iter().filter(|p| p.1).count() as f64;
    let negatives = points.len() as f64 - positives;
    let (hi, lo) = smoothed_targets(positives, negatives);
    let targets: Vec<f64> = points.iter().map(|p| if p.1 { hi } else { lo }).collect();
    // Scores are log-odds: scale them so the search starts well conditioned.
    let scale = points
        .iter()
        .map(|p| p.0.abs())
        .fold(0.0f64, f64::max)
        .max(1.0);
    let xs: Vec<f64> = points.iter().map(|p| p.0 / scale).collect();
    let loss = |a: f64, b: f64| -> f64 {
        xs.iter()
            .zip(&targets)
            .map(|(&x, &y)| {
                let z = a * x + b;
                // log(1 + e^z) − y z, stable for either sign of z.
                let softplus = if z > 0.0 {
                    z + (-z).exp().ln_1p()
                } else {
                    z.exp().ln_1p()
                };
                softplus - y * z
            })
            .sum()
    };
    let mut a = 0.0;
    let mut b = ((positives + 1.0) / (negatives + 1.0)).ln();
    let mut current = loss(a, b);
    for _ in 0..100 {
        let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 1e-12, 0.0, 1e-12);
        for (&x, &y) in xs.iter().zip(&targets) {
            let p = sigmoid(a * x + b);
            let d = p - y;
            let w = p * (1.0 - p);
            ga += d * x;
            gb += d;
            haa += w * x * x;
            hab += w * x;
            hbb += w;
        }
        if ga.abs() < 1e-9 && gb.abs() < 1e-9 {
            break;
        }
        let det = haa * hbb - hab * hab;
        if det.abs() < 1e-300 {
            break;
        }
        let da = -(hbb * ga - hab * gb) / det;
        let db = -(haa * gb - hab * ga) / det;
        let mut step = 1.0;
        let mut improved = false;
        while step > 1e-10 {
            let (na, nb) = (a + step * da, b + step * db);
            let l = loss(na, nb);
            if l < current {
                a = na;
                b = nb;
                improved = current - l > 1e-12 * current.abs().max(1.0);
                current = l;
                break;
            }
            step /= 2.0;
        }
        if !improved {
            break;
        }
    }
    TopicCalibrator::Platt {
        slope: a / scale,
        intercept: b,
    }
}

/// Platt's targets for a positive and a negative outcome: `(N₊+1)/(N₊+2)`
/// and `1/(N₋+2)`.
fn smoothed_targets(positives: f64, negatives: f64) -> (f64, f64) {
    (
        (positives + 1.0) / (positives + 2.0),
        1.0 / (negatives + 2.0),
    )
}

/// Isotonic regression by pool-adjacent-violators over the scores in
/// ascending order (ties pooled first), kept as the two ends of each
/// constant step. The outcomes are Platt's smoothed targets, as in
/// [`fit_platt`]: an affine map of 0/1, so the steps are the same, but the
/// ends stay off exactly 0 and 1, which no finite sample can show.
fn fit_isotonic(points: &[(f64, bool)]) -> TopicCalibrator {
    let positives = points.iter().filter(|p| p.1).count() as f64;
    let negatives = points.len() as f64 - positives;
    let (hi, lo) = smoothed_targets(positives, negatives);
    let mut sorted: Vec<(f64, f64)> = points
        .iter()
        .map(|&(x, y)| (x, if y { hi } else { lo }))
        .collect();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Blocks: (first score, last score, sum of y, weight).
    let mut blocks: Vec<(f64, f64, f64, f64)> = Vec::new();
    for (x, y) in sorted {
        match blocks.last_mut() {
            Some(last) if last.1 == x => {
                last.2 += y;
                last.3 += 1.0;
            }
            _ => blocks.push((x, x, y, 1.0)),
        }
        while blocks.len() >= 2 {
            let n = blocks.len();
            let (prev, last) = (blocks[n - 2], blocks[n - 1]);
            if prev.2 / prev.3 <= last.2 / last.3 {
                break;
            }
            blocks[n - 2] = (prev.0, last.1, prev.2 + last.2, prev.3 + last.3);
            blocks.pop();
        }
    }
    if blocks.is_empty() {
        return TopicCalibrator::Isotonic {
            scores: vec![0.0],
            probabilities: vec![0.0],
        };
    }
    let mut scores = Vec::with_capacity(blocks.len() * 2);
    let mut probabilities = Vec::with_capacity(blocks.len() * 2);
    for (first, last, sum, weight) in blocks {
        let p = (sum / weight).clamp(0.0, 1.0);
        scores.push(first);
        probabilities.push(p);
        if last > first {
            scores.push(last);
            probabilities.push(p);
        }
    }
    TopicCalibrator::Isotonic {
        scores,
        probabilities,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slow_log_odds(jll: &[f64]) -> Vec<f64> {
        (0..jll.len())
            .map(|t| {
                let others: f64 = jll
                    .iter()
                    .enumerate()
                    .filter(|&(i, _)| i != t)
                    .map(|(_, v)| v.exp())
                    .sum();
                jll[t] - others.ln()
            })
            .collect()
    }

    #[test]
    fn log_odds_match_the_direct_formula_and_keep_the_tails() {
        let mut rng = crate::rng::SplitMix64::new(7);
        let mut cases = vec![
            vec![-3.0, -1.0, -2.5, -0.5],
            vec![0.0, 0.0, 0.0],
            vec![-10.0, -10.0, 4.0],
        ];
        // Random score vectors of 2 to 12 topics, spread over ±30 nats.
        for _ in 0..500 {
            let n = 2 + (rng.next_u64() % 11) as usize;
            cases.push(
                (0..n)
                    .map(|_| (rng.next_u64() % 60_000) as f64 / 1000.0 - 30.0)
                    .collect(),
            );
        }
        for jll in cases {
            let mut fast = vec![0.0; jll.len()];
            one_vs_rest_log_odds(&jll, &mut fast);
            for (a, b) in fast.iter().zip(slow_log_odds(&jll)) {
                assert!((a - b).abs() < 1e-9, "{fast:?} vs direct");
            }
        }
        // Impossible topics and NaN: finite, defined log-odds.
        let mut out = vec![0.0; 3];
        one_vs_rest_log_odds(&[0.0, f64::NEG_INFINITY, f64::NAN], &mut out);
        assert_eq!(out, [MAX_LOG_ODDS, -MAX_LOG_ODDS, -MAX_LOG_ODDS]);
        one_vs_rest_log_odds(&[f64::NEG_INFINITY; 3], &mut out);
        assert_eq!(out, [0.0; 3]);
        // A 400-nat margin: the softmax probability rounds to 1, the log-odds do not.
        let mut out = vec![0.0; 2];
        one_vs_rest_log_odds(&[-1000.0, -600.0], &mut out);
        assert!((out[1] - 400.0).abs() < 1e-9 && (out[0] + 400.0).abs() < 1e-9);
    }

    #[test]
    fn platt_recovers_a_known_sigmoid() {
        // Outcomes drawn deterministically with P(y) = sigmoid(2x − 1).
        let mut points = Vec::new();
        for i in 0..4000 {
            let x = -3.0 + 6.0 * (i as f64 / 4000.0);
            let p = sigmoid(2.0 * x - 1.0);
            let u = ((i as u64).wrapping_mul(2654435761) % 10_000) as f64 / 10_000.0;
            points.push((x, u < p));
        }
        let TopicCalibrator::Platt { slope, intercept } = fit_platt(&points) else {
            unreachable!()
        };
        assert!((slope - 2.0).abs() < 0.25, "slope {slope}");
        assert!((intercept + 1.0).abs() < 0.2, "intercept {intercept}");
    }

    #[test]
    fn isotonic_is_monotone_and_fits_the_steps() {
        let points = vec![
            (0.0, false),
            (1.0, false),
            (2.0, true),
            (3.0, false),
            (4.0, true),
            (5.0, true),
        ];
        let c = fit_isotonic(&points);
        let p: Vec<f64> = (0..=5).map(|x| c.probability(x as f64)).collect();
        assert!(p.windows(2).all(|w| w[0] <= w[1]), "{p:?}");
        // Smoothed targets: 3 positives give 4/5, 3 negatives 1/5.
        let (hi, lo) = (0.8, 0.2);
        assert!(
            (p[0] - lo).abs() < 1e-12 && (p[5] - hi).abs() < 1e-12,
            "{p:?}"
        );
        let mid = (lo + hi) / 2.0;
        assert!(
            (p[2] - mid).abs() < 1e-12 && (p[3] - mid).abs() < 1e-12,
            "{p:?}"
        );
        assert_eq!(c.probability(-100.0), p[0]);
        assert_eq!(c.probability(100.0), p[5]);
    }

    #[test]
    fn calibrated_topics_are_independent_probabilities() {
        // Two topics that often come together: both get a high probability.
        let jll: Vec<Vec<f64>> = (0..200)
            .map(|i| match i % 4 {
                0 => vec![0.0, 0.1, -5.0],
                1 => vec![0.1, 0.0, -5.0],
                2 => vec![-5.0, -5.0, 0.0],
                _ => vec![0.0, 0.0, -5.0],
            })
            .collect();
        let gold = LabelSets::new(
            3,
            (0..200)
                .map(|i| if i % 4 == 2 { vec![2] } else { vec![0, 1] })
                .collect(),
        );
        for method in [PerTopicMethod::Platt, PerTopicMethod::Isotonic] {
            let cal = PerTopicCalibration::fit(method, &jll, &gold);
            cal.validate(3).unwrap();
            let mut p = jll[0].clone();
            cal.apply(&mut p);
            assert!(p[0] > 0.9 && p[1] > 0.9 && p[2] < 0.1, "{method:?}: {p:?}");
        }
    }
}
