//! Seeded, stratified splits. Documents are stratified by their first label
//! (for multi-label data this balances the primary topic across folds, a
//! simple stand-in for iterative stratification).
use crate::rng::SplitMix64;

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
}
