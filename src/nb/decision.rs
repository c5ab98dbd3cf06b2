//! From probabilities to a label set: argmax for single-label models,
//! per-topic thresholds tuned on held-out data for multi-label ones, with an
//! exclusive topic (such as `other`) either winning when most probable or
//! kept as the fallback for documents no other topic claims.
use super::LabelSets;
use crate::text::Lang;
use serde::{Deserialize, Serialize};

/// How a model decides which topics a document carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// The single most probable topic (single-label training data).
    Argmax,
    /// Every topic whose probability reaches its threshold. When none does,
    /// the most probable topic. An `exclusive` topic (such as "other") is
    /// never combined with another: it is decided alone or dropped.
    Thresholds {
        thresholds: Vec<f64>,
        exclusive: Vec<bool>,
    },
    /// Every non-exclusive topic whose probability reaches its threshold; an
    /// exclusive topic (such as "other") only when none does. The thresholds
    /// alone decide the topics: a long text whose words lean towards "other"
    /// overall still gets the topics that clear their thresholds, which is
    /// what each threshold was tuned for.
    ///
    /// A language in `by_language` uses its own thresholds (tuned on that
    /// language's documents: texts of another length and register give
    /// posteriors of another sharpness); other languages use `thresholds`.
    Fallback {
        thresholds: Vec<f64>,
        exclusive: Vec<bool>,
        by_language: Vec<(Lang, Vec<f64>)>,
    },
}

impl Decision {
    /// Per-topic thresholds: [`Decision::Fallback`] when `fallback` (with
    /// `by_language`), else [`Decision::Thresholds`].
    pub fn thresholded(
        thresholds: Vec<f64>,
        exclusive: Vec<bool>,
        fallback: bool,
        by_language: Vec<(Lang, Vec<f64>)>,
    ) -> Decision {
        if fallback {
            Decision::Fallback {
                thresholds,
                exclusive,
                by_language,
            }
        } else {
            Decision::Thresholds {
                thresholds,
                exclusive,
            }
        }
    }

    /// The thresholds and exclusivity flags, for the variants that have them.
    pub fn thresholds_and_exclusive(&self) -> Option<(&[f64], &[bool])> {
        match self {
            Decision::Argmax => None,
            Decision::Thresholds {
                thresholds,
                exclusive,
            }
            | Decision::Fallback {
                thresholds,
                exclusive,
                ..
            } => Some((thresholds, exclusive)),
        }
    }

    /// Whether `topic` passes, for reporting a per-topic `decided` flag.
    pub fn threshold(&self, topic: usize) -> Option<f64> {
        self.thresholds_and_exclusive()
            .and_then(|(thresholds, _)| thresholds.get(topic).copied())
    }

    /// The threshold [`Decision::decide_in`] applies to `topic` for a
    /// document in `lang`: the language's own where it has one.
    pub fn threshold_in(&self, topic: usize, lang: Lang) -> Option<f64> {
        match self.language_thresholds(lang) {
            Some(own) => own.get(topic).copied(),
            None => self.threshold(topic),
        }
    }

    /// Whether `topic` is never combined with another.
    pub fn is_exclusive(&self, topic: usize) -> bool {
        self.thresholds_and_exclusive()
            .and_then(|(_, exclusive)| exclusive.get(topic).copied())
            .unwrap_or(false)
    }

    /// Per-language thresholds for `lang`, if the decision has its own.
    pub fn language_thresholds(&self, lang: Lang) -> Option<&[f64]> {
        match self {
            Decision::Fallback { by_language, .. } => by_language
                .iter()
                .find(|(l, _)| *l == lang)
                .map(|(_, t)| t.as_slice()),
            _ => None,
        }
    }

    /// [`Decision::decide`] for a document in `lang`.
    pub fn decide_in(&self, probs: &[f64], lang: Lang) -> Vec<usize> {
        match (self, self.language_thresholds(lang)) {
            (Decision::Fallback { exclusive, .. }, Some(own)) => {
                fallback_decide(probs, &ranked(probs), own, exclusive)
            }
            _ => self.decide(probs),
        }
    }

    /// Decided topic indices, most probable first. Never empty for a non-empty
    /// `probs`. Language-independent: the default thresholds.
    pub fn decide(&self, probs: &[f64]) -> Vec<usize> {
        let order = ranked(probs);
        let Some(&top) = order.first() else {
            return Vec::new();
        };
        match self {
            Decision::Argmax => vec![top],
            Decision::Thresholds {
                thresholds,
                exclusive,
            } => {
                let is_exclusive = |c: usize| exclusive.get(c).copied().unwrap_or(false);
                if is_exclusive(top) {
                    return vec![top];
                }
                let mut picked: Vec<usize> = order
                    .iter()
                    .copied()
                    .filter(|&c| {
                        !is_exclusive(c) && probs[c] >= thresholds.get(c).copied().unwrap_or(0.5)
                    })
                    .collect();
                if picked.is_empty() {
                    picked.push(top);
                }
                picked
            }
            Decision::Fallback {
                thresholds,
                exclusive,
                ..
            } => fallback_decide(probs, &order, thresholds, exclusive),
        }
    }
}

/// Topic indices, most probable first (ties: the lower index first).
fn ranked(probs: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..probs.len()).collect();
    order.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]).then(a.cmp(&b)));
    order
}

/// [`Decision::Fallback`]'s rule, given `order` = [`ranked`] `probs`: the
/// non-exclusive topics that reach their thresholds, most probable first; if
/// none, the most probable exclusive topic (or the top one when no topic is
/// exclusive).
fn fallback_decide(
    probs: &[f64],
    order: &[usize],
    thresholds: &[f64],
    exclusive: &[bool],
) -> Vec<usize> {
    let Some(&top) = order.first() else {
        return Vec::new();
    };
    let is_exclusive = |c: usize| exclusive.get(c).copied().unwrap_or(false);
    let picked: Vec<usize> = order
        .iter()
        .copied()
        .filter(|&c| !is_exclusive(c) && probs[c] >= thresholds.get(c).copied().unwrap_or(0.5))
        .collect();
    if !picked.is_empty() {
        return picked;
    }
    vec![fallback_topic(order, exclusive).unwrap_or(top)]
}

/// The most probable exclusive topic, given the topics in `order` (most
/// probable first); `None` when no topic is exclusive.
fn fallback_topic(order: &[usize], exclusive: &[bool]) -> Option<usize> {
    order
        .iter()
        .copied()
        .find(|&c| exclusive.get(c).copied().unwrap_or(false))
}

/// Refines `start` for the exact-set accuracy of [`Decision::Fallback`]'s
/// decisions on `probs`, by coordinate ascent over the non-exclusive topics
/// (two passes; candidates 0.01 … 0.99; a topic's threshold moves only when
/// a candidate does strictly better, to the middle of the first best run).
/// Per-topic F1 optima ignore that deciding a topic also decides whether the
/// exclusive topic is decided: on short texts they add topics to documents
/// that are about none.
pub fn refine_thresholds_for_exact_sets(
    probs: &[Vec<f64>],
    gold: &LabelSets,
    exclusive: &[bool],
    start: &[f64],
) -> Vec<f64> {
    let t = start.len();
    let mut thresholds = start.to_vec();
    let is_exclusive = |c: usize| exclusive.get(c).copied().unwrap_or(false);
    let gold_sets: Vec<Vec<usize>> = gold
        .labels
        .iter()
        .map(|l| {
            let mut g = l.clone();
            g.sort_unstable();
            g.dedup();
            g
        })
        .collect();
    // The topic each document falls back to when no topic passes.
    let fallback: Vec<usize> = probs
        .iter()
        .map(|p| {
            let order = ranked(p);
            fallback_topic(&order, exclusive)
                .or(order.first().copied())
                .unwrap_or(0)
        })
        .collect();
    for _ in 0..2 {
        for c in (0..t).filter(|&c| !is_exclusive(c)) {
            // Whether each document is decided exactly right with topic c
            // decided, and without it, the other thresholds held fixed.
            let mut with_c = Vec::with_capacity(probs.len());
            let mut without_c = Vec::with_capacity(probs.len());
            for ((p, g), &fb) in probs.iter().zip(&gold_sets).zip(&fallback) {
                let others: Vec<usize> = (0..t)
                    .filter(|&k| k != c && !is_exclusive(k) && p[k] >= thresholds[k])
                    .collect();
                let mut decided = others.clone();
                decided.push(c);
                decided.sort_unstable();
                with_c.push(decided == *g);
                without_c.push(if others.is_empty() {
                    g.len() == 1 && g[0] == fb
                } else {
                    others == *g
                });
            }
            let exact = |th: f64| -> usize {
                probs
                    .iter()
                    .enumerate()
                    .filter(|(d, p)| {
                        if p[c] >= th {
                            with_c[*d]
                        } else {
                            without_c[*d]
                        }
                    })
                    .count()
            };
            // The middle of the first best run, as `best_threshold` picks,
            // unless the current value is already as good.
            let scores: Vec<usize> = (1..100).map(|k| exact(k as f64 / 100.0)).collect();
            let best = scores.iter().copied().max().unwrap_or(0);
            if exact(thresholds[c]) < best {
                let start = scores.iter().position(|&n| n == best).unwrap_or(0);
                let len = scores[start..].iter().take_while(|&&n| n == best).count();
                thresholds[c] = (start + len / 2 + 1) as f64 / 100.0;
            }
        }
    }
    thresholds
}

/// Held-out positives a topic needs to get its own tuned threshold; rarer
/// topics share one threshold tuned over all topics at once. A threshold fitted
/// to two or three examples mostly fits their noise: on Reuters R90 it sent
/// micro precision to 0.28.
pub const MIN_POSITIVES_FOR_OWN_THRESHOLD: usize = 5;

/// Per-topic thresholds as [`tune_thresholds`] gives them for topics with at
/// least [`MIN_POSITIVES_FOR_OWN_THRESHOLD`] held-out positives, and one shared
/// threshold for the rarer ones: the one maximising micro-F1 over their
/// (document, topic) pairs taken together.
pub fn tune_thresholds_with_fallback(probs: &[Vec<f64>], gold: &LabelSets) -> Vec<f64> {
    let positives: Vec<usize> = (0..gold.n_topics)
        .map(|c| gold.labels.iter().filter(|l| l.contains(&c)).count())
        .collect();
    let rare: Vec<usize> = (0..gold.n_topics)
        .filter(|&c| positives[c] < MIN_POSITIVES_FOR_OWN_THRESHOLD)
        .collect();
    let shared = best_threshold(|th| {
        let (mut tp, mut fp, mut fneg) = (0usize, 0usize, 0usize);
        for (p, l) in probs.iter().zip(&gold.labels) {
            for &c in &rare {
                let pc = p[c];
                match (pc >= th, l.contains(&c)) {
                    (true, true) => tp += 1,
                    (true, false) => fp += 1,
                    (false, true) => fneg += 1,
                    (false, false) => {}
                }
            }
        }
        f1_counts(tp, fp, fneg)
    });
    let own = tune_thresholds(probs, gold, shared);
    (0..gold.n_topics)
        .map(|c| {
            if positives[c] >= MIN_POSITIVES_FOR_OWN_THRESHOLD {
                own[c]
            } else {
                shared
            }
        })
        .collect()
}

fn f1_counts(tp: usize, fp: usize, fneg: usize) -> f64 {
    if tp == 0 {
        0.0
    } else {
        2.0 * tp as f64 / (2 * tp + fp + fneg) as f64
    }
}

/// The candidate threshold (0.01, 0.02 … 0.99) with the best score; ties go to the
/// middle of the first best run, the most robust to noise.
fn best_threshold(score: impl Fn(f64) -> f64) -> f64 {
    let scores: Vec<(f64, f64)> = (1..100)
        .map(|k| k as f64 / 100.0)
        .map(|th| (th, score(th)))
        .collect();
    let best = scores.iter().map(|s| s.1).fold(0.0, f64::max);
    let start = scores.iter().position(|s| s.1 == best).unwrap_or(0);
    let len = scores[start..].iter().take_while(|s| s.1 == best).count();
    scores[start + len / 2].0
}

/// For each topic, the threshold on its probability that maximises that
/// topic's F1 on held-out documents. Candidates are 0.01, 0.02 … 0.99; ties
/// go to the threshold in the middle of the best run, which is the most robust
/// to noise. A topic with no held-out positive keeps `default`.
pub fn tune_thresholds(probs: &[Vec<f64>], gold: &LabelSets, default: f64) -> Vec<f64> {
    let t = gold.n_topics;
    (0..t)
        .map(|c| {
            let positives = gold.labels.iter().filter(|l| l.contains(&c)).count();
            if positives == 0 {
                return default;
            }
            best_threshold(|th| {
                let (mut tp, mut fp) = (0usize, 0usize);
                for (p, l) in probs.iter().zip(&gold.labels) {
                    if p[c] >= th {
                        if l.contains(&c) {
                            tp += 1;
                        } else {
                            fp += 1;
                        }
                    }
                }
                f1_counts(tp, fp, positives - tp)
            })
        })
        .collect()
}
