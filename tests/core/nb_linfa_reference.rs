//! The sparse Multinomial NB against `linfa_bayes::MultinomialNb`, the dense
//! reference implementation, on random small corpora.
//!
//! linfa-bayes 0.8.1 has a leftover `dbg!` in `MultinomialNb::fit_with` that
//! prints every class histogram to stderr on every fit: the noise in this
//! test's stderr is expected and harmless.

use docclass::features::{CsrMatrix, SparseVec};
use docclass::nb::{ClassPriors, LabelSets, NbParams, NbVariant};
use linfa::traits::Fit;
use linfa::{Dataset, DatasetBase, ParamGuard};
use linfa_bayes::{MultinomialNb, NaiveBayes};
use ndarray::{Array1, Array2};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Case {
    n_classes: usize,
    n_features: usize,
    /// Documents × features counts.
    counts: Vec<Vec<u32>>,
    labels: Vec<usize>,
    alpha: f64,
    /// Test vectors (dense counts).
    tests: Vec<Vec<u32>>,
}

fn case() -> impl Strategy<Value = Case> {
    (2usize..=4, 2usize..=12, 4usize..=30, 0.01f64..=2.0)
        .prop_flat_map(|(n_classes, n_features, n_docs, alpha)| {
            let counts = prop::collection::vec(prop::collection::vec(0u32..5, n_features), n_docs);
            // The first n_classes documents take labels 0..n_classes (so every class
            // has a document); the rest are random.
            let extra = prop::collection::vec(0..n_classes, n_docs - n_classes);
            let tests = prop::collection::vec(prop::collection::vec(0u32..5, n_features), 1..=5);
            (
                Just(n_classes),
                Just(n_features),
                counts,
                extra,
                Just(alpha),
                tests,
            )
        })
        .prop_map(|(n_classes, n_features, counts, extra, alpha, tests)| {
            let labels = (0..n_classes).chain(extra).collect();
            Case {
                n_classes,
                n_features,
                counts,
                labels,
                alpha,
                tests,
            }
        })
}

fn sparse(dense: &[u32]) -> SparseVec {
    let mut v = SparseVec::default();
    for (i, &c) in dense.iter().enumerate() {
        if c > 0 {
            v.indices.push(i as u32);
            v.values.push(f64::from(c));
        }
    }
    v
}

fn dense(rows: &[Vec<u32>], n_features: usize) -> Array2<f64> {
    Array2::from_shape_fn((rows.len(), n_features), |(i, j)| f64::from(rows[i][j]))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn multinomial_matches_linfa_bayes(c in case()) {
        // Reference: dense linfa-bayes.
        let x = dense(&c.counts, c.n_features);
        let y = Array1::from_vec(c.labels.clone());
        let reference = MultinomialNb::<f64, usize>::params()
            .alpha(c.alpha)
            .fit(&Dataset::new(x, y))
            .expect("linfa-bayes fit");

        // Ours: sparse, single-label sets, learned priors.
        let params = NbParams::new()
            .variant(NbVariant::Multinomial)
            .alpha(c.alpha)
            .priors(ClassPriors::Learned)
            .check()
            .expect("valid params");
        let records = CsrMatrix::from_rows(c.n_features, c.counts.iter().map(|r| sparse(r)));
        let targets = LabelSets::new(c.n_classes, c.labels.iter().map(|&l| vec![l]).collect());
        let ours = params.fit(&DatasetBase::new(records, targets)).expect("docclass fit");

        let tests = dense(&c.tests, c.n_features);
        let expected = reference.joint_log_likelihood(tests.view());
        prop_assert_eq!(expected.len(), c.n_classes);
        for (i, t) in c.tests.iter().enumerate() {
            let jll = ours.joint_log_likelihood(&sparse(t)).expect("in range");
            for (class, got) in jll.iter().enumerate() {
                let want = expected[&class][i];
                prop_assert!(
                    (got - want).abs() <= 1e-9,
                    "test {} class {}: docclass {} vs linfa-bayes {}", i, class, got, want
                );
            }
        }
    }
}
