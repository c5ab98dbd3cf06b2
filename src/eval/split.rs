//! Seeded, stratified splits.
//!
//! [`kfold_splits`] and [`holdout_split`] stratify by one stratum per
//! document (training uses the first label; for multi-label data this
//! balances the primary topic only). [`iterative_kfold_splits`] is iterative
//! stratification (Sechidis, Tsoumakas and Vlahavas, 2011) for multi-label
//! data: it balances every topic across folds. [`cv_splits`] picks between
//! them the way cross-validation (`train::cv`) and tuning do: by label for
//! single-label data, iteratively for multi-label data.
use crate::rng::SplitMix64;
use serde::Serialize;

/// Indices of the training part and the evaluated part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    pub train: Vec<usize>,
    pub test: Vec<usize>,
}

/// Assigns each document a fold in `0..k`, balancing every stratum.
fn assign_folds(strata: &[usize], k: usize, seed: u64) -> Vec<usize> {
    let mut rng = SplitMix64::new(seed);
    let n_strata = strata.iter().copied().max().map_or(0, |m| m + 1);
    let mut groups: Vec<Vec<usize>> = vec![Vec::new(); n_strata];
    for (i, &s) in strata.iter().enumerate() {
        groups[s].push(i);
    }
    let mut fold = vec![0usize; strata.len()];
    // Continue the round-robin across strata so fold sizes stay even overall.
    let mut next = 0usize;
    for group in &mut groups {
        rng.shuffle(group);
        for &i in group.iter() {
            fold[i] = next % k;
            next += 1;
        }
    }
    fold
}

/// `k` stratified folds; each document is in exactly one test part.
pub fn kfold_splits(strata: &[usize], k: usize, seed: u64) -> Vec<Split> {
    let k = k.max(2);
    let fold = assign_folds(strata, k, seed);
    (0..k)
        .map(|f| Split {
            train: (0..strata.len()).filter(|&i| fold[i] != f).collect(),
            test: (0..strata.len()).filter(|&i| fold[i] == f).collect(),
        })
        .collect()
}

/// `k` folds by iterative stratification of multi-label data.
///
/// `labels[i]` holds document `i`'s topics (indices below `n_topics`). With
/// equal fold proportions the algorithm is: repeatedly take the topic with
/// the fewest documents still unassigned (ties: the lower index); give each
/// of its unassigned documents, in a seeded random order, to the fold that
/// has so far received the fewest documents of that topic (ties: the fold
/// with the fewest documents overall; then a seeded random choice). Documents
/// with no topic go to the smallest folds. Rare topics are placed first, so
/// they are spread as evenly as possible, and each document's other topics
/// are counted as it is placed.
pub fn iterative_kfold_splits(
    labels: &[Vec<usize>],
    n_topics: usize,
    k: usize,
    seed: u64,
) -> Vec<Split> {
    let k = k.max(2);
    let n = labels.len();
    let mut rng = SplitMix64::new(seed);
    let mut order: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut order);
    let n_topics = labels
        .iter()
        .flatten()
        .map(|&c| c + 1)
        .max()
        .unwrap_or(0)
        .max(n_topics);
    // Documents of each topic, in the shuffled order.
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); n_topics];
    for &i in &order {
        let mut set = labels[i].clone();
        set.sort_unstable();
        set.dedup();
        for c in set {
            members[c].push(i);
        }
    }
    let mut unassigned_of: Vec<usize> = members.iter().map(Vec::len).collect();
    let mut fold: Vec<Option<usize>> = vec![None; n];
    let mut fold_size = vec![0usize; k];
    let mut topic_in_fold = vec![vec![0usize; k]; n_topics];

    // Among `candidates`, the folds that minimise `key`.
    fn best_by(candidates: Vec<usize>, key: impl Fn(usize) -> usize) -> Vec<usize> {
        let min = candidates.iter().map(|&j| key(j)).min().unwrap_or(0);
        candidates.into_iter().filter(|&j| key(j) == min).collect()
    }
    let mut place = |i: usize,
                     topic: Option<usize>,
                     fold: &mut Vec<Option<usize>>,
                     unassigned_of: &mut Vec<usize>| {
        let mut candidates: Vec<usize> = (0..k).collect();
        if let Some(c) = topic {
            candidates = best_by(candidates, |j| topic_in_fold[c][j]);
        }
        candidates = best_by(candidates, |j| fold_size[j]);
        let j = if candidates.len() == 1 {
            candidates[0]
        } else {
            candidates[rng.below(candidates.len() as u64) as usize]
        };
        fold[i] = Some(j);
        fold_size[j] += 1;
        let mut set = labels[i].clone();
        set.sort_unstable();
        set.dedup();
        for c in set {
            topic_in_fold[c][j] += 1;
            unassigned_of[c] -= 1;
        }
    };
    while let Some(c) = (0..n_topics)
        .filter(|&c| unassigned_of[c] > 0)
        .min_by_key(|&c| (unassigned_of[c], c))
    {
        for &i in &members[c] {
            if fold[i].is_none() {
                place(i, Some(c), &mut fold, &mut unassigned_of);
            }
        }
    }
    for &i in &order {
        if fold[i].is_none() {
            place(i, None, &mut fold, &mut unassigned_of);
        }
    }
    let fold: Vec<usize> = fold.into_iter().map(|f| f.unwrap_or(0)).collect();
    (0..k)
        .map(|f| Split {
            train: (0..n).filter(|&i| fold[i] != f).collect(),
            test: (0..n).filter(|&i| fold[i] == f).collect(),
        })
        .collect()
}

/// One stratified held-out split with about `fraction` of each stratum held
/// out, always leaving at least one document of a stratum for training.
pub fn holdout_split(strata: &[usize], fraction: f64, seed: u64) -> Split {
    let mut rng = SplitMix64::new(seed);
    let n_strata = strata.iter().copied().max().map_or(0, |m| m + 1);
    let mut groups: Vec<Vec<usize>> = vec![Vec::new(); n_strata];
    for (i, &s) in strata.iter().enumerate() {
        groups[s].push(i);
    }
    let mut held = vec![false; strata.len()];
    for group in &mut groups {
        rng.shuffle(group);
        let take =
            ((group.len() as f64 * fraction).round() as usize).min(group.len().saturating_sub(1));
        for &i in group.iter().take(take) {
            held[i] = true;
        }
    }
    Split {
        train: (0..strata.len()).filter(|&i| !held[i]).collect(),
        test: (0..strata.len()).filter(|&i| held[i]).collect(),
    }
}

/// How documents were assigned to folds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stratification {
    /// Single-label data: each topic is spread evenly over the folds.
    ByLabel,
    /// Multi-label data: iterative stratification balances every topic.
    Iterative,
}

/// The `k` seeded, stratified folds cross-validation uses for these label
/// sets, and which stratification that is.
pub fn cv_splits(
    labels: &[Vec<usize>],
    n_topics: usize,
    k: usize,
    seed: u64,
) -> (Vec<Split>, Stratification) {
    if labels.iter().all(|l| l.len() <= 1) {
        let strata: Vec<usize> = labels
            .iter()
            .map(|l| l.first().copied().unwrap_or(0))
            .collect();
        (kfold_splits(&strata, k, seed), Stratification::ByLabel)
    } else {
        (
            iterative_kfold_splits(labels, n_topics, k, seed),
            Stratification::Iterative,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_partition_and_are_deterministic() {
        let strata: Vec<usize> = (0..103).map(|i| i % 4).collect();
        let a = kfold_splits(&strata, 5, 7);
        assert_eq!(a, kfold_splits(&strata, 5, 7));
        let mut seen: Vec<usize> = a.iter().flat_map(|s| s.test.clone()).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..103).collect::<Vec<_>>());
        for s in &a {
            // Each stratum has 25 or 26 documents: 5 or 6 per fold.
            for c in 0..4 {
                let n = s.test.iter().filter(|&&i| strata[i] == c).count();
                assert!((5..=6).contains(&n), "stratum {c} has {n} in a fold");
            }
        }
    }

    #[test]
    fn holdout_keeps_a_training_document_per_stratum() {
        let strata = vec![0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1];
        let s = holdout_split(&strata, 0.5, 1);
        assert!(s.train.contains(&0));
        assert_eq!(s.test.len(), 5);
    }

    /// A seeded multi-label set: topic 0 on most documents, rarer topics
    /// mixed in, some documents with three topics.
    fn multi_label_set(n: usize) -> Vec<Vec<usize>> {
        let mut rng = SplitMix64::new(99);
        (0..n)
            .map(|_| {
                let mut set: Vec<usize> = (0..6)
                    .filter(|&c| rng.below(100) < [60, 30, 20, 10, 5, 3][c])
                    .collect();
                if set.is_empty() {
                    set.push(rng.below(6) as usize);
                }
                set
            })
            .collect()
    }

    #[test]
    fn iterative_folds_partition_balance_every_topic_and_are_deterministic() {
        let labels = multi_label_set(400);
        let k = 5;
        let a = iterative_kfold_splits(&labels, 6, k, 7);
        assert_eq!(a, iterative_kfold_splits(&labels, 6, k, 7));
        assert_ne!(a, iterative_kfold_splits(&labels, 6, k, 8));
        let mut seen: Vec<usize> = a.iter().flat_map(|s| s.test.clone()).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..400).collect::<Vec<_>>());
        for s in &a {
            let mut all: Vec<usize> = s.train.iter().chain(&s.test).copied().collect();
            all.sort_unstable();
            assert_eq!(all, (0..400).collect::<Vec<_>>());
            // Fold sizes follow the topics: near n / k, not exactly.
            assert!(
                (72..=88).contains(&s.test.len()),
                "fold of {}",
                s.test.len()
            );
        }
        for c in 0..6 {
            let total = labels.iter().filter(|l| l.contains(&c)).count();
            let per_fold: Vec<usize> = a
                .iter()
                .map(|s| s.test.iter().filter(|&&i| labels[i].contains(&c)).count())
                .collect();
            let (min, max) = (
                *per_fold.iter().min().unwrap(),
                *per_fold.iter().max().unwrap(),
            );
            // Every topic is spread evenly: at most 1 apart, around total / k.
            assert!(max - min <= 1, "topic {c} ({total}): {per_fold:?}");
            assert!(
                min * k <= total && total <= max * k,
                "topic {c}: {per_fold:?}"
            );
        }
    }

    #[test]
    fn iterative_folds_spread_a_rare_topic() {
        // Topic 1 is on 5 documents only: one per fold.
        let mut labels: Vec<Vec<usize>> = (0..50).map(|_| vec![0]).collect();
        for i in [3, 11, 20, 33, 47] {
            labels[i].push(1);
        }
        labels.push(Vec::new()); // a document with no topic is placed too
        let splits = iterative_kfold_splits(&labels, 2, 5, 1);
        for s in &splits {
            assert_eq!(
                s.test.iter().filter(|&&i| labels[i].contains(&1)).count(),
                1
            );
        }
        let placed: usize = splits.iter().map(|s| s.test.len()).sum();
        assert_eq!(placed, 51);
    }
}
