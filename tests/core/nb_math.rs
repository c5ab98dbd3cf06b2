//! The Naive Bayes arithmetic, checked against values worked out by hand (and
//! cross-checked with scikit-learn 1.9.1, whose outputs are quoted in the
//! comments; the tests themselves need no Python).

// scikit-learn's outputs are quoted verbatim, ln 2 among them.
#![allow(clippy::approx_constant)]

use docclass::eval::evaluate;
use docclass::features::{CsrMatrix, SparseVec};
use docclass::nb::{
    softmax_in_place, tune_thresholds, ClassPriors, Decision, FittedNb, LabelSets, NbError,
    NbParams, NbVariant,
};
use docclass::text::Lang;
use linfa::traits::{Fit, Predict, PredictInplace};
use linfa::{DatasetBase, ParamGuard};
use ndarray::Array2;

const EPS: f64 = 1e-12;

fn close(actual: f64, expected: f64, what: &str) {
    assert!(
        (actual - expected).abs() <= EPS,
        "{what}: got {actual:e}, expected {expected:e} (diff {:e})",
        (actual - expected).abs()
    );
}

fn close_all(actual: &[f64], expected: &[f64], what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}: lengths differ");
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        close(*a, *e, &format!("{what}[{i}]"));
    }
}

/// A sparse vector from a dense slice, dropping zeros.
fn sv(dense: &[f64]) -> SparseVec {
    let mut v = SparseVec::default();
    for (i, &x) in dense.iter().enumerate() {
        if x != 0.0 {
            v.indices.push(i as u32);
            v.values.push(x);
        }
    }
    v
}

fn dataset(
    n_features: usize,
    rows: &[&[f64]],
    n_topics: usize,
    labels: &[&[usize]],
) -> DatasetBase<CsrMatrix, LabelSets> {
    let x = CsrMatrix::from_rows(n_features, rows.iter().map(|r| sv(r)));
    let y = LabelSets::new(n_topics, labels.iter().map(|l| l.to_vec()).collect());
    DatasetBase::new(x, y)
}

/// The shared toy corpus: 3 documents, 3 features, 2 topics.
///
/// ```text
///        f0 f1 f2   topic
/// d0  [  2, 1, 0 ]  0
/// d1  [  0, 1, 3 ]  1
/// d2  [  1, 0, 1 ]  0
/// ```
fn toy() -> DatasetBase<CsrMatrix, LabelSets> {
    dataset(
        3,
        &[&[2.0, 1.0, 0.0], &[0.0, 1.0, 3.0], &[1.0, 0.0, 1.0]],
        2,
        &[&[0], &[1], &[0]],
    )
}

fn fit(
    variant: NbVariant,
    alpha: f64,
    priors: ClassPriors,
    ds: &DatasetBase<CsrMatrix, LabelSets>,
) -> FittedNb {
    NbParams::new()
        .variant(variant)
        .alpha(alpha)
        .priors(priors)
        .check()
        .expect("valid params")
        .fit(ds)
        .expect("fit")
}

// ---------------------------------------------------------------------------
// Multinomial NB
// ---------------------------------------------------------------------------

#[test]
fn multinomial_matches_hand_computation() {
    let nb = fit(NbVariant::Multinomial, 1.0, ClassPriors::Learned, &toy());
    assert_eq!(nb.n_topics(), 2);
    assert_eq!(nb.n_features(), 3);
    assert_eq!(nb.data().topic_doc_counts, vec![2, 1]);

    // Counts per topic:   topic 0 = d0 + d2 = [3, 1, 1], total 5
    //                     topic 1 = d1      = [0, 1, 3], total 4
    // Denominators (alpha = 1, V = 3): topic 0: 5 + 3 = 8, topic 1: 4 + 3 = 7.
    // w[f][c] = ln(count + 1) - ln(denominator):
    //   f0: ln(4/8), ln(1/7)
    //   f1: ln(2/8), ln(2/7)
    //   f2: ln(2/8), ln(4/7)
    let ln = f64::ln;
    close_all(
        nb.feature_weights(0),
        &[ln(4.0 / 8.0), ln(1.0 / 7.0)],
        "w[f0]",
    );
    close_all(
        nb.feature_weights(1),
        &[ln(2.0 / 8.0), ln(2.0 / 7.0)],
        "w[f1]",
    );
    close_all(
        nb.feature_weights(2),
        &[ln(2.0 / 8.0), ln(4.0 / 7.0)],
        "w[f2]",
    );
    // scikit-learn MultinomialNB(alpha=1.0).fit(X, y).feature_log_prob_ (transposed):
    close_all(
        nb.feature_weights(0),
        &[-0.6931471805599452, -1.9459101490553132],
        "sklearn w[f0]",
    );
    close_all(
        nb.feature_weights(1),
        &[-1.3862943611198904, -1.252762968495368],
        "sklearn w[f1]",
    );
    close_all(
        nb.feature_weights(2),
        &[-1.3862943611198904, -0.5596157879354227],
        "sklearn w[f2]",
    );

    // Learned priors: 2 of 3 documents in topic 0, 1 of 3 in topic 1.
    close_all(&nb.data().bias, &[ln(2.0 / 3.0), ln(1.0 / 3.0)], "bias");

    // Test vector x = [1, 0, 2]:
    //   jll0 = ln(2/3) + 1·ln(1/2) + 2·ln(1/4) = ln(2/3 · 1/2 · 1/16) = ln(1/48)
    //   jll1 = ln(1/3) + 1·ln(1/7) + 2·ln(4/7) = ln(1/3 · 1/7 · 16/49) = ln(16/1029)
    // Posterior: p0 = (1/48) / (1/48 + 16/1029) = 1029 / (1029 + 768) = 343/599,
    //            p1 = 256/599.
    let x = sv(&[1.0, 0.0, 2.0]);
    let jll = nb.joint_log_likelihood(&x).unwrap();
    close_all(&jll, &[ln(1.0 / 48.0), ln(16.0 / 1029.0)], "jll");
    // sklearn: predict_joint_log_proba([[1, 0, 2]]) = [[-3.8712010109078907, -4.163754013594269]]
    close_all(
        &jll,
        &[-3.8712010109078907, -4.163754013594269],
        "sklearn jll",
    );
    let p = nb.predict_proba(&x).unwrap();
    close_all(&p, &[343.0 / 599.0, 256.0 / 599.0], "proba");
    // sklearn: predict_proba = [[0.5726210350584308, 0.4273789649415691]]
    close_all(
        &p,
        &[0.5726210350584308, 0.4273789649415691],
        "sklearn proba",
    );
}

#[test]
fn multinomial_uniform_and_given_priors() {
    let ln = f64::ln;
    let uniform = fit(NbVariant::Multinomial, 1.0, ClassPriors::Uniform, &toy());
    close_all(&uniform.data().bias, &[ln(0.5), ln(0.5)], "uniform bias");
    let given = fit(
        NbVariant::Multinomial,
        1.0,
        ClassPriors::Given(vec![0.25, 0.75]),
        &toy(),
    );
    close_all(&given.data().bias, &[ln(0.25), ln(0.75)], "given bias");
    // Priors only move the bias: weights are the same.
    assert_eq!(uniform.data().weights, given.data().weights);
    // With x = [1, 0, 2] and uniform priors: p0 ∝ 1/2·1/16 = 1/32, p1 ∝ 1/7·16/49 = 16/343,
    // p0 = 343 / (343 + 512) = 343/855.
    let p = uniform.predict_proba(&sv(&[1.0, 0.0, 2.0])).unwrap();
    close_all(&p, &[343.0 / 855.0, 512.0 / 855.0], "uniform proba");
}

#[test]
fn empty_document_scores_to_the_priors() {
    let nb = fit(NbVariant::Multinomial, 1.0, ClassPriors::Learned, &toy());
    let p = nb.predict_proba(&SparseVec::default()).unwrap();
    close_all(&p, &[2.0 / 3.0, 1.0 / 3.0], "empty doc");
}

#[test]
fn feature_out_of_range_is_an_error() {
    let nb = fit(NbVariant::Multinomial, 1.0, ClassPriors::Learned, &toy());
    let x = SparseVec {
        indices: vec![1, 3],
        values: vec![1.0, 1.0],
    };
    match nb.joint_log_likelihood(&x) {
        Err(NbError::FeatureOutOfRange {
            feature: 3,
            n_features: 3,
        }) => {}
        other => panic!("expected FeatureOutOfRange, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// Complement NB
// ---------------------------------------------------------------------------

#[test]
fn complement_matches_hand_computation_and_sklearn() {
    let nb = fit(NbVariant::Complement, 1.0, ClassPriors::Learned, &toy());
    // All documents: [3, 2, 4], grand total 9.
    // Complement of topic 0 = topic 1's documents: [0, 1, 3], total 4 → denominator 4 + 1·3 = 7
    // Complement of topic 1 = topic 0's documents: [3, 1, 1], total 5 → denominator 5 + 1·3 = 8
    // w[f][c] = -(ln(complement count + 1) - ln(denominator)):
    //   f0: -ln(1/7) = ln 7,   -ln(4/8) = ln 2
    //   f1: -ln(2/7) = ln 3.5, -ln(2/8) = ln 4
    //   f2: -ln(4/7) = ln 1.75,-ln(2/8) = ln 4
    let ln = f64::ln;
    close_all(nb.feature_weights(0), &[ln(7.0), ln(2.0)], "w[f0]");
    close_all(nb.feature_weights(1), &[ln(3.5), ln(4.0)], "w[f1]");
    close_all(nb.feature_weights(2), &[ln(1.75), ln(4.0)], "w[f2]");
    // scikit-learn ComplementNB(alpha=1.0, norm=False).fit(X, y).feature_log_prob_ (transposed):
    close_all(
        nb.feature_weights(0),
        &[1.9459101490553135, 0.6931471805599453],
        "sklearn w[f0]",
    );
    close_all(
        nb.feature_weights(1),
        &[1.252762968495368, 1.3862943611198906],
        "sklearn w[f1]",
    );
    close_all(
        nb.feature_weights(2),
        &[0.5596157879354228, 1.3862943611198906],
        "sklearn w[f2]",
    );

    // Complement NB ignores priors (sklearn adds class_log_prior_ only when there is one class).
    assert_eq!(nb.data().bias, vec![0.0, 0.0]);
    let given = fit(
        NbVariant::Complement,
        1.0,
        ClassPriors::Given(vec![0.1, 0.9]),
        &toy(),
    );
    assert_eq!(given.data().bias, vec![0.0, 0.0]);
    assert_eq!(given.data().weights, nb.data().weights);

    // x = [1, 0, 2]:
    //   jll0 = ln 7 + 2·ln(7/4) = ln(343/16)
    //   jll1 = ln 2 + 2·ln 4    = ln 32
    //   p0 = (343/16) / (343/16 + 32) = 343 / (343 + 512) = 343/855, p1 = 512/855
    let x = sv(&[1.0, 0.0, 2.0]);
    let jll = nb.joint_log_likelihood(&x).unwrap();
    close_all(&jll, &[ln(343.0 / 16.0), ln(32.0)], "jll");
    // sklearn: predict_joint_log_proba = [[3.0651417249261588, 3.4657359027997265]]
    close_all(
        &jll,
        &[3.0651417249261588, 3.4657359027997265],
        "sklearn jll",
    );
    let p = nb.predict_proba(&x).unwrap();
    close_all(&p, &[343.0 / 855.0, 512.0 / 855.0], "proba");
    // sklearn: predict_proba = [[0.4011695906432748, 0.598830409356725]]
    close_all(
        &p,
        &[0.4011695906432748, 0.598830409356725],
        "sklearn proba",
    );
}

// ---------------------------------------------------------------------------
// Multi-label fit
// ---------------------------------------------------------------------------

#[test]
fn multi_label_document_counts_for_every_topic() {
    // ```text
    //        f0 f1   topics
    // d0  [  1, 2 ]  {0, 1}
    // d1  [  3, 0 ]  {0}
    // d2  [  0, 1 ]  {1}
    // ```
    // Topic 0 = d0 + d1 = [4, 2], total 6 → denominator 6 + 2 = 8
    // Topic 1 = d0 + d2 = [1, 3], total 4 → denominator 4 + 2 = 6
    let ds = dataset(
        2,
        &[&[1.0, 2.0], &[3.0, 0.0], &[0.0, 1.0]],
        2,
        &[&[0, 1], &[0], &[1]],
    );
    let nb = fit(NbVariant::Multinomial, 1.0, ClassPriors::Learned, &ds);
    let ln = f64::ln;
    close_all(
        nb.feature_weights(0),
        &[ln(5.0 / 8.0), ln(2.0 / 6.0)],
        "w[f0]",
    );
    close_all(
        nb.feature_weights(1),
        &[ln(3.0 / 8.0), ln(4.0 / 6.0)],
        "w[f1]",
    );
    // Each topic has 2 of the 4 (document, topic) pairs.
    assert_eq!(nb.data().topic_doc_counts, vec![2, 2]);
    close_all(&nb.data().bias, &[ln(0.5), ln(0.5)], "bias");

    // Complement NB: all = [4, 3] (d0 once), grand total 7.
    // Complement of topic 0 = all − [4, 2] = [0, 1], total 7 − 6 = 1 → denominator 3
    // Complement of topic 1 = all − [1, 3] = [3, 0], total 7 − 4 = 3 → denominator 5
    let cnb = fit(NbVariant::Complement, 1.0, ClassPriors::Learned, &ds);
    close_all(
        cnb.feature_weights(0),
        &[-ln(1.0 / 3.0), -ln(4.0 / 5.0)],
        "cnb w[f0]",
    );
    close_all(
        cnb.feature_weights(1),
        &[-ln(2.0 / 3.0), -ln(1.0 / 5.0)],
        "cnb w[f1]",
    );
}

// ---------------------------------------------------------------------------
// Parameter checks and fit errors
// ---------------------------------------------------------------------------

#[test]
fn alpha_must_be_finite_and_positive() {
    for bad in [0.0, -0.5, f64::NAN, f64::INFINITY] {
        match NbParams::new().alpha(bad).check() {
            Err(NbError::Alpha(a)) => {
                assert!(a == bad || (a.is_nan() && bad.is_nan()), "{a} vs {bad}")
            }
            other => panic!("alpha {bad}: expected NbError::Alpha, got {other:?}"),
        }
    }
    let err = NbParams::new().alpha(0.0).check().unwrap_err();
    assert_eq!(err.to_string(), "alpha must be a finite number > 0, got 0");
    // check_ref agrees with check.
    assert!(matches!(
        NbParams::new().alpha(-1.0).check_ref(),
        Err(NbError::Alpha(_))
    ));
    // Fitting unchecked parameters goes through the same check.
    assert!(matches!(
        NbParams::new().alpha(0.0).fit(&toy()),
        Err(NbError::Alpha(_))
    ));
    // The defaults are valid.
    let p = NbParams::new().check().unwrap();
    assert_eq!(p.variant(), NbVariant::Complement);
    assert_eq!(p.alpha(), 0.1);
    assert_eq!(p.priors(), &ClassPriors::Learned);
}

#[test]
fn given_priors_are_checked() {
    match NbParams::new()
        .priors(ClassPriors::Given(vec![0.5, 0.6]))
        .check()
    {
        Err(NbError::PriorSum(s)) => close(s, 1.1, "prior sum"),
        other => panic!("expected PriorSum, got {other:?}"),
    }
    for bad in [0.0, -0.25, f64::NAN] {
        match NbParams::new()
            .priors(ClassPriors::Given(vec![bad, 1.0 - bad]))
            .check()
        {
            Err(NbError::PriorValue(v)) => assert!(v == bad || (v.is_nan() && bad.is_nan())),
            other => panic!("prior {bad}: expected PriorValue, got {other:?}"),
        }
    }
    // Valid, but one per topic is required: caught at fit time.
    let params = NbParams::new()
        .variant(NbVariant::Multinomial)
        .priors(ClassPriors::Given(vec![0.25, 0.25, 0.5]))
        .check()
        .expect("valid on their own");
    match params.fit(&toy()) {
        Err(NbError::PriorCount {
            given: 3,
            topics: 2,
        }) => {}
        other => panic!("expected PriorCount, got {other:?}"),
    }
}

#[test]
fn fit_rejects_bad_targets() {
    let params = NbParams::new().check().unwrap();

    let one_topic = dataset(2, &[&[1.0, 0.0], &[0.0, 1.0]], 1, &[&[0], &[0]]);
    assert!(matches!(
        params.fit(&one_topic),
        Err(NbError::TooFewTopics(1))
    ));

    let empty_topic = dataset(2, &[&[1.0, 0.0], &[0.0, 1.0]], 3, &[&[0], &[1]]);
    match params.fit(&empty_topic) {
        Err(e @ NbError::EmptyTopic(2)) => {
            assert_eq!(e.to_string(), "topic 2 has no training documents")
        }
        other => panic!("expected EmptyTopic(2), got {other:?}"),
    }

    let out_of_range = dataset(2, &[&[1.0, 0.0], &[0.0, 1.0]], 2, &[&[0], &[1, 5]]);
    match params.fit(&out_of_range) {
        Err(
            e @ NbError::LabelOutOfRange {
                label: 5,
                topics: 2,
            },
        ) => {
            assert_eq!(e.to_string(), "label index 5 is out of range for 2 topics")
        }
        other => panic!("expected LabelOutOfRange, got {other:?}"),
    }

    let x = CsrMatrix::from_rows(2, [sv(&[1.0, 0.0]), sv(&[0.0, 1.0])]);
    let mismatch = DatasetBase::new(x, LabelSets::new(2, vec![vec![0]]));
    assert!(matches!(
        params.fit(&mismatch),
        Err(NbError::TargetCount {
            records: 2,
            targets: 1
        })
    ));
}

// ---------------------------------------------------------------------------
// Numerical stability on long documents
// ---------------------------------------------------------------------------

/// What `linfa_bayes` 0.8.1 does: exponentiate the joint log-likelihoods, then normalise.
fn naive_proba(jll: &[f64]) -> Vec<f64> {
    let e: Vec<f64> = jll.iter().map(|v| v.exp()).collect();
    let sum: f64 = e.iter().sum();
    e.iter().map(|v| v / sum).collect()
}

fn assert_is_distribution(p: &[f64], what: &str) {
    assert!(
        p.iter().all(|v| v.is_finite() && (0.0..=1.0).contains(v)),
        "{what}: {p:?}"
    );
    close(p.iter().sum::<f64>(), 1.0, &format!("{what}: sum"));
}

#[test]
fn one_feature_repeated_5000_times_is_stable() {
    let x = SparseVec {
        indices: vec![2],
        values: vec![5000.0],
    };
    for variant in [NbVariant::Multinomial, NbVariant::Complement] {
        let nb = fit(variant, 1.0, ClassPriors::Learned, &toy());
        let jll = nb.joint_log_likelihood(&x).unwrap();
        let p = nb.predict_proba(&x).unwrap();
        assert_is_distribution(&p, &format!("{variant:?}"));
        // Topic 1 owns feature 2 (count 3 of 4): it wins, overwhelmingly.
        assert_eq!(p[0], 0.0, "{variant:?}: {p:?}");
        close(p[1], 1.0, "p[1]");
        match variant {
            // jll ≈ 5000·ln(1/4) and 5000·ln(4/7): exp underflows to 0 for both,
            // so exp-then-normalise divides 0 by 0.
            NbVariant::Multinomial => {
                assert!(jll.iter().all(|v| v.exp() == 0.0), "{jll:?}");
                assert!(naive_proba(&jll).iter().all(|v| v.is_nan()));
            }
            // Complement weights are positive: jll ≈ 5000·ln 1.75 and 5000·ln 4,
            // exp overflows to +∞ for both, and ∞/∞ is NaN.
            NbVariant::Complement => {
                assert!(jll.iter().all(|v| v.exp() == f64::INFINITY), "{jll:?}");
                assert!(naive_proba(&jll).iter().all(|v| v.is_nan()));
            }
        }
    }
}

#[test]
fn five_thousand_distinct_features_are_stable() {
    const V: usize = 5000;
    // Topic 0 uses the even features, topic 1 the odd ones, topic 2 every third.
    let rows: Vec<SparseVec> = (0..3)
        .map(|c| {
            let ids: Vec<u32> = (0..V as u32)
                .filter(|f| f % (c as u32 + 2) == 0 || (c == 1 && f % 2 == 1))
                .collect();
            SparseVec {
                values: vec![1.0; ids.len()],
                indices: ids,
            }
        })
        .collect();
    let x = CsrMatrix::from_rows(V, rows);
    let ds = DatasetBase::new(x, LabelSets::new(3, vec![vec![0], vec![1], vec![2]]));
    let long = SparseVec {
        indices: (0..V as u32).collect(),
        values: vec![1.0; V],
    };
    for variant in [NbVariant::Multinomial, NbVariant::Complement] {
        let nb = fit(variant, 0.5, ClassPriors::Learned, &ds);
        let jll = nb.joint_log_likelihood(&long).unwrap();
        let p = nb.predict_proba(&long).unwrap();
        assert_is_distribution(&p, &format!("{variant:?}"));
        let exps: Vec<f64> = jll.iter().map(|v| v.exp()).collect();
        match variant {
            NbVariant::Multinomial => assert!(exps.iter().all(|&e| e == 0.0), "{jll:?}"),
            NbVariant::Complement => assert!(exps.iter().all(|&e| e == f64::INFINITY), "{jll:?}"),
        }
        assert!(
            naive_proba(&jll).iter().all(|v| v.is_nan()),
            "the naive method should fail"
        );
    }
}

#[test]
fn softmax_handles_extremes() {
    // exp(-1e6) underflows, but the difference of 1 is exact: p0 = 1 / (1 + e^-1).
    let mut s = [-1e6, -1e6 - 1.0];
    softmax_in_place(&mut s);
    let e = (-1.0f64).exp();
    close_all(&s, &[1.0 / (1.0 + e), e / (1.0 + e)], "shifted");
    let mut inf = [f64::NEG_INFINITY; 4];
    softmax_in_place(&mut inf);
    assert_eq!(inf, [0.25; 4]);
}

// ---------------------------------------------------------------------------
// linfa PredictInplace
// ---------------------------------------------------------------------------

#[test]
fn predict_fills_rows_that_sum_to_one() {
    let ds = toy();
    for variant in [NbVariant::Multinomial, NbVariant::Complement] {
        let nb = fit(variant, 1.0, ClassPriors::Learned, &ds);
        let test = CsrMatrix::from_rows(
            3,
            [
                sv(&[1.0, 0.0, 2.0]),
                sv(&[0.0, 0.0, 0.0]),
                sv(&[7.0, 1.0, 0.0]),
            ],
        );
        // Through linfa's Predict (on a dataset) and through PredictInplace directly.
        let probs: Array2<f64> = nb.predict(&DatasetBase::new(test.clone(), ()));
        let mut inplace = nb.default_target(&test);
        nb.predict_inplace(&test, &mut inplace);
        assert_eq!(probs, inplace);
        assert_eq!(probs.dim(), (3, 2));
        for (i, row) in probs.rows().into_iter().enumerate() {
            close(row.sum(), 1.0, &format!("{variant:?} row {i}"));
            let single = nb.predict_proba(&test.row_vec(i)).unwrap();
            close_all(row.as_slice().unwrap(), &single, "row vs predict_proba");
        }
    }
    // A matrix built for a larger feature space: that row becomes NaN, the rest are scored.
    let nb = fit(NbVariant::Multinomial, 1.0, ClassPriors::Learned, &ds);
    let wide = CsrMatrix::from_rows(5, [sv(&[1.0, 0.0, 2.0]), sv(&[0.0, 0.0, 0.0, 0.0, 1.0])]);
    let mut probs = nb.default_target(&wide);
    nb.predict_inplace(&wide, &mut probs);
    close_all(
        probs.row(0).as_slice().unwrap(),
        &[343.0 / 599.0, 256.0 / 599.0],
        "row 0",
    );
    assert!(probs.row(1).iter().all(|v| v.is_nan()));
}

// ---------------------------------------------------------------------------
// Decisions and threshold tuning
// ---------------------------------------------------------------------------

fn thresholds(t: &[f64], exclusive: &[bool]) -> Decision {
    Decision::Thresholds {
        thresholds: t.to_vec(),
        exclusive: exclusive.to_vec(),
    }
}

#[test]
fn argmax_picks_the_top_topic() {
    assert_eq!(Decision::Argmax.decide(&[0.2, 0.5, 0.3]), vec![1]);
    // Ties go to the lower index.
    assert_eq!(Decision::Argmax.decide(&[0.4, 0.2, 0.4]), vec![0]);
    assert_eq!(Decision::Argmax.decide(&[]), Vec::<usize>::new());
    assert_eq!(Decision::Argmax.threshold(0), None);
}

#[test]
fn thresholds_pick_every_topic_above_its_threshold_most_probable_first() {
    let d = thresholds(&[0.3, 0.3, 0.3, 0.5], &[false; 4]);
    assert_eq!(d.decide(&[0.31, 0.04, 0.4, 0.25]), vec![2, 0]);
    // Exactly at the threshold passes.
    assert_eq!(d.decide(&[0.3, 0.3, 0.2, 0.2]), vec![0, 1]);
    // Per-topic thresholds: topic 3 needs 0.5.
    assert_eq!(d.decide(&[0.1, 0.0, 0.45, 0.45]), vec![2]);
    assert_eq!(d.threshold(3), Some(0.5));
    assert_eq!(d.threshold(9), None);
}

#[test]
fn thresholds_with_none_above_fall_back_to_the_top() {
    let d = thresholds(&[0.6, 0.6, 0.6], &[false; 3]);
    assert_eq!(d.decide(&[0.3, 0.45, 0.25]), vec![1]);
}

#[test]
fn exclusive_topic_on_top_is_decided_alone() {
    let d = thresholds(&[0.2, 0.2, 0.2], &[false, false, true]);
    assert_eq!(d.decide(&[0.3, 0.25, 0.45]), vec![2]);
}

#[test]
fn exclusive_topic_not_on_top_is_never_combined() {
    let d = thresholds(&[0.2, 0.2, 0.2], &[false, false, true]);
    // Topic 2 passes its threshold but is not on top: dropped.
    assert_eq!(d.decide(&[0.45, 0.25, 0.3]), vec![0, 1]);
    // Nothing else passes: the top (non-exclusive) topic, never the exclusive one.
    let strict = thresholds(&[0.9, 0.9, 0.1], &[false, false, true]);
    assert_eq!(strict.decide(&[0.5, 0.1, 0.4]), vec![0]);
}

fn fallback(
    thresholds: &[f64],
    exclusive: &[bool],
    by_language: Vec<(Lang, Vec<f64>)>,
) -> Decision {
    Decision::Fallback {
        thresholds: thresholds.to_vec(),
        exclusive: exclusive.to_vec(),
        by_language,
    }
}

#[test]
fn fallback_decides_topics_over_a_more_probable_exclusive_one() {
    let d = fallback(&[0.2, 0.2, 0.2], &[false, false, true], Vec::new());
    // `other` (2) is on top, but topic 0 clears its threshold: topic 0 alone.
    assert_eq!(d.decide(&[0.3, 0.15, 0.55]), vec![0]);
    // Several topics clear theirs: most probable first, `other` never added.
    assert_eq!(d.decide(&[0.25, 0.3, 0.45]), vec![1, 0]);
    assert_eq!(d.threshold(1), Some(0.2));
    assert!(d.is_exclusive(2));
}

#[test]
fn fallback_goes_to_the_exclusive_topic_when_no_topic_clears_its_threshold() {
    let d = fallback(&[0.5, 0.5, 0.5], &[false, false, true], Vec::new());
    // Even when a non-exclusive topic is the most probable.
    assert_eq!(d.decide(&[0.45, 0.3, 0.25]), vec![2]);
    // With no exclusive topic declared: the most probable topic.
    let none = fallback(&[0.5, 0.5, 0.5], &[false; 3], Vec::new());
    assert_eq!(none.decide(&[0.2, 0.45, 0.35]), vec![1]);
    assert_eq!(none.decide(&[]), Vec::<usize>::new());
}

#[test]
fn fallback_uses_a_languages_own_thresholds_and_the_default_for_others() {
    let d = fallback(
        &[0.5, 0.5, 0.5],
        &[false, false, true],
        vec![(Lang::Fr, vec![0.1, 0.9, 0.5])],
    );
    let probs = [0.2, 0.45, 0.35];
    assert_eq!(d.decide_in(&probs, Lang::Fr), vec![0]);
    assert_eq!(d.decide_in(&probs, Lang::En), vec![2]);
    assert_eq!(d.decide(&probs), vec![2]);
    assert_eq!(d.language_thresholds(Lang::Fr), Some(&[0.1, 0.9, 0.5][..]));
    assert_eq!(d.language_thresholds(Lang::En), None);
    // The other variants have no per-language thresholds.
    let t = thresholds(&[0.1, 0.9, 0.5], &[false, false, true]);
    assert_eq!(t.decide_in(&probs, Lang::Fr), t.decide(&probs));
}

#[test]
fn exact_set_refinement_raises_a_threshold_that_adds_topics_to_other_documents() {
    // Topic 0 at 0.3 catches its one document but also claims two `other`
    // documents (2 exact of 4); at 0.5 it keeps its document and leaves the
    // others to `other` (4 of 4).
    let probs = vec![
        vec![0.6, 0.1, 0.3],
        vec![0.35, 0.1, 0.55],
        vec![0.4, 0.1, 0.5],
        vec![0.1, 0.1, 0.8],
    ];
    let gold = LabelSets::new(3, vec![vec![0], vec![2], vec![2], vec![2]]);
    let exclusive = [false, false, true];
    let refined =
        docclass::nb::refine_thresholds_for_exact_sets(&probs, &gold, &exclusive, &[0.3, 0.5, 0.5]);
    assert!(refined[0] > 0.4 && refined[0] <= 0.6, "{refined:?}");
    assert_eq!(refined[0], 0.51, "the middle of the run 0.41..=0.60");
    assert_eq!(
        refined[2], 0.5,
        "the exclusive topic's threshold is not used"
    );
    let d = fallback(&refined, &exclusive, Vec::new());
    let decided: Vec<Vec<usize>> = probs.iter().map(|p| d.decide(p)).collect();
    assert_eq!(decided, [vec![0], vec![2], vec![2], vec![2]]);
    // Already exact: nothing moves.
    let again = docclass::nb::refine_thresholds_for_exact_sets(&probs, &gold, &exclusive, &refined);
    assert_eq!(again, refined);
}

#[test]
fn tune_thresholds_picks_the_middle_of_the_first_best_run() {
    // Four held-out documents, three topics:
    //
    //   doc  p0    p1    p2   gold
    //   0    0.9   0.7   0.0  {0, 1}
    //   1    0.6   0.5   0.0  {0}
    //   2    0.4   0.35  0.0  {1}
    //   3    0.2   0.1   0.0  {}
    //
    // Topic 0 (positives at 0.9 and 0.6, negatives at 0.4 and 0.2), F1 at threshold th:
    //   th ≤ 0.2        tp 2 fp 2 fn 0  → 4/6
    //   0.2 < th ≤ 0.4  tp 2 fp 1       → 4/5
    //   0.4 < th ≤ 0.6  tp 2 fp 0       → 1      ← best: 0.41 … 0.60, 20 candidates
    //   0.6 < th ≤ 0.9  tp 1 fn 1       → 2/3
    //   Middle of the run: index 10 of 0.41..0.60 → 0.51.
    // Topic 1 (positives at 0.7 and 0.35, negatives at 0.5 and 0.1):
    //   th ≤ 0.1        tp 2 fp 2       → 4/6
    //   0.1 < th ≤ 0.35 tp 2 fp 1       → 4/5    ← best: 0.11 … 0.35, 25 candidates
    //   0.35 < th ≤ 0.5 tp 1 fp 1 fn 1  → 1/2
    //   0.5 < th ≤ 0.7  tp 1 fn 1       → 2/3
    //   Middle: index 25/2 = 12 of 0.11..0.35 → 0.23.
    // Topic 2 has no positives: keeps the default.
    let probs = vec![
        vec![0.9, 0.7, 0.0],
        vec![0.6, 0.5, 0.0],
        vec![0.4, 0.35, 0.0],
        vec![0.2, 0.1, 0.0],
    ];
    let gold = LabelSets::new(3, vec![vec![0, 1], vec![0], vec![1], vec![]]);
    assert_eq!(tune_thresholds(&probs, &gold, 0.42), vec![0.51, 0.23, 0.42]);
}

#[test]
fn tune_thresholds_prefers_the_first_of_two_equal_runs() {
    // One topic; positives at 0.9 and 0.3, negatives at 0.6 and 0.5:
    //   th ≤ 0.3        tp 2 fp 2 fn 0  → 2·2/(4+2) = 2/3   ← first best run: 0.01 … 0.30
    //   0.3 < th ≤ 0.5  tp 1 fp 2 fn 1  → 2/5
    //   0.5 < th ≤ 0.6  tp 1 fp 1 fn 1  → 1/2
    //   0.6 < th ≤ 0.9  tp 1 fp 0 fn 1  → 2/3               ← second, equal run: ignored
    //   Middle of 0.01..0.30 (30 candidates): index 15 → 0.16.
    let probs = vec![
        vec![0.9, 0.1],
        vec![0.6, 0.4],
        vec![0.5, 0.5],
        vec![0.3, 0.7],
    ];
    let gold = LabelSets::new(2, vec![vec![0], vec![1], vec![1], vec![0, 1]]);
    let t = tune_thresholds(&probs, &gold, 0.5);
    assert_eq!(t[0], 0.16);
}

// ---------------------------------------------------------------------------
// Evaluation metrics
// ---------------------------------------------------------------------------

fn ids(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[test]
fn single_label_metrics_with_a_predicted_zero_support_topic() {
    // y_true = [0, 0, 1, 1, 0], y_pred = [0, 2, 1, 0, 0]; topic 2 ("c") is never
    // true but is predicted once.
    //   a: support 3, predicted 3 (docs 0, 3, 4), tp 2 → P 2/3, R 2/3, F1 2/3
    //   b: support 2, predicted 1 (doc 2),        tp 1 → P 1,   R 1/2, F1 2/3
    //   c: support 0, predicted 1 (doc 1),        tp 0 → P 0,   R 0,   F1 0
    //   micro: tp 3 of 5 predicted, 5 true → P = R = F1 = 3/5 (= accuracy)
    //   macro over a, b, c: P = 5/9, R = 7/18, F1 = 4/9
    // scikit-learn 1.9.1:
    //   precision_recall_fscore_support(y_true, y_pred, average="micro", zero_division=0)
    const SK_MICRO: (f64, f64, f64) = (0.6, 0.6, 0.6);
    //   precision_recall_fscore_support(y_true, y_pred, average="macro", zero_division=0)
    const SK_MACRO: (f64, f64, f64) = (0.5555555555555555, 0.38888888888888884, 0.4444444444444444);
    //   accuracy_score(y_true, y_pred)
    const SK_ACCURACY: f64 = 0.6;
    //   hamming_loss(MultiLabelBinarizer(classes=[0, 1, 2]) indicators of y_true, y_pred):
    //   4 wrong (document, topic) cells of 15. (Note: sklearn's hamming_loss on the
    //   1-D multiclass labels gives 0.4 = 1 - accuracy instead; docclass always
    //   counts per (document, topic) decision, as for the indicator matrices.)
    const SK_HAMMING_INDICATOR: f64 = 0.26666666666666666;

    let gold = vec![vec![0], vec![0], vec![1], vec![1], vec![0]];
    let pred = vec![vec![0], vec![2], vec![1], vec![0], vec![0]];
    let r = evaluate(&gold, &pred, &ids(&["a", "b", "c"]));
    assert_eq!(r.documents, 5);
    close(r.accuracy, 3.0 / 5.0, "accuracy");
    close(r.accuracy, SK_ACCURACY, "sklearn accuracy");
    close(r.micro_precision, 3.0 / 5.0, "micro P");
    close(r.micro_recall, 3.0 / 5.0, "micro R");
    close(r.micro_f1, 3.0 / 5.0, "micro F1");
    close(r.macro_precision, 5.0 / 9.0, "macro P");
    close(r.macro_recall, 7.0 / 18.0, "macro R");
    close(r.macro_f1, 4.0 / 9.0, "macro F1");
    close(r.hamming_loss, 4.0 / 15.0, "hamming");
    let (p, rc, f) = SK_MICRO;
    close(r.micro_precision, p, "sklearn micro P");
    close(r.micro_recall, rc, "sklearn micro R");
    close(r.micro_f1, f, "sklearn micro F1");
    let (p, rc, f) = SK_MACRO;
    close(r.macro_precision, p, "sklearn macro P");
    close(r.macro_recall, rc, "sklearn macro R");
    close(r.macro_f1, f, "sklearn macro F1");
    close(r.hamming_loss, SK_HAMMING_INDICATOR, "sklearn hamming");

    let per: Vec<(u64, u64, u64)> = r
        .per_topic
        .iter()
        .map(|m| (m.support, m.predicted, m.true_positives))
        .collect();
    assert_eq!(per, vec![(3, 3, 2), (2, 1, 1), (0, 1, 0)]);
    let c = &r.per_topic[2];
    assert_eq!(c.topic, "c");
    assert_eq!((c.precision, c.recall, c.f1), (0.0, 0.0, 0.0));
    close(r.per_topic[0].f1, 2.0 / 3.0, "a F1");
    close(r.per_topic[1].precision, 1.0, "b P");
    close(r.per_topic[1].recall, 0.5, "b R");
    close(r.per_topic[1].f1, 2.0 / 3.0, "b F1");
}

#[test]
fn macro_average_skips_topics_neither_true_nor_predicted() {
    // Topic "c" never occurs: sklearn with labels inferred from y_true ∪ y_pred
    // averages over a and b only.
    let gold = vec![vec![0], vec![1]];
    let pred = vec![vec![0], vec![0]];
    let r = evaluate(&gold, &pred, &ids(&["a", "b", "c"]));
    // a: P 1/2, R 1, F1 2/3; b: P 0, R 0, F1 0 → macro F1 = 1/3.
    // sklearn: f1_score([0, 1], [0, 0], average="macro", zero_division=0) = 0.3333333333333333
    close(r.macro_f1, 1.0 / 3.0, "macro F1");
    close(r.macro_precision, 0.25, "macro P");
    close(r.macro_recall, 0.5, "macro R");
}

#[test]
fn multi_label_metrics() {
    // gold = [{0,1}, {1}, {2}, {0,2}, {1}], pred = [{0,1}, {1,2}, {}, {0}, {1}]
    //   exact matches: docs 0 and 4 → accuracy 2/5
    //   wrong cells: doc 1 (2 predicted), doc 2 (2 missed), doc 3 (2 missed) → 3/15
    //   topic 0: support 2, predicted 2, tp 2; topic 1: 3, 3, 3; topic 2: 2, 1, 0
    //   micro: tp 5, predicted 6, true 7 → P 5/6, R 5/7, F1 10/13
    //   macro: P = R = F1 = (1 + 1 + 0)/3 = 2/3
    // scikit-learn 1.9.1, on MultiLabelBinarizer(classes=[0, 1, 2]) indicator matrices G, P:
    //   accuracy_score(G, P) (subset accuracy)
    const SK_ACCURACY: f64 = 0.4;
    //   hamming_loss(G, P)
    const SK_HAMMING: f64 = 0.2;
    //   precision_recall_fscore_support(G, P, average="micro", zero_division=0)
    const SK_MICRO: (f64, f64, f64) = (0.8333333333333334, 0.7142857142857143, 0.7692307692307693);
    //   precision_recall_fscore_support(G, P, average="macro", zero_division=0)
    const SK_MACRO: (f64, f64, f64) = (0.6666666666666666, 0.6666666666666666, 0.6666666666666666);

    let gold = vec![vec![0, 1], vec![1], vec![2], vec![0, 2], vec![1]];
    // Order and duplicates inside a label set do not matter.
    let pred = vec![vec![1, 0], vec![1, 2], vec![], vec![0, 0], vec![1]];
    let r = evaluate(&gold, &pred, &ids(&["a", "b", "c"]));
    close(r.accuracy, 2.0 / 5.0, "accuracy");
    close(r.accuracy, SK_ACCURACY, "sklearn accuracy");
    close(r.hamming_loss, 3.0 / 15.0, "hamming");
    close(r.hamming_loss, SK_HAMMING, "sklearn hamming");
    close(r.micro_precision, 5.0 / 6.0, "micro P");
    close(r.micro_recall, 5.0 / 7.0, "micro R");
    close(r.micro_f1, 10.0 / 13.0, "micro F1");
    close(r.micro_precision, SK_MICRO.0, "sklearn micro P");
    close(r.micro_recall, SK_MICRO.1, "sklearn micro R");
    close(r.micro_f1, SK_MICRO.2, "sklearn micro F1");
    close(r.macro_precision, SK_MACRO.0, "sklearn macro P");
    close(r.macro_recall, SK_MACRO.1, "sklearn macro R");
    close(r.macro_f1, SK_MACRO.2, "sklearn macro F1");
    let per: Vec<(u64, u64, u64)> = r
        .per_topic
        .iter()
        .map(|m| (m.support, m.predicted, m.true_positives))
        .collect();
    assert_eq!(per, vec![(2, 2, 2), (3, 3, 3), (2, 1, 0)]);
}

/// Exactly decided documents under [`Decision::Fallback`], decided one by
/// one: the slow reference for the exact-set refinement.
fn exact_sets(
    probs: &[Vec<f64>],
    gold: &[Vec<usize>],
    thresholds: &[f64],
    exclusive: &[bool],
) -> usize {
    let d = fallback(thresholds, exclusive, Vec::new());
    probs
        .iter()
        .zip(gold)
        .filter(|(p, g)| {
            let mut decided = d.decide(p);
            decided.sort_unstable();
            decided == **g
        })
        .count()
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 200, ..Default::default() })]
    /// Refining never decides fewer documents exactly than the thresholds it
    /// starts from, counted by deciding each document with `Decision::decide`.
    #[test]
    fn exact_set_refinement_never_loses_exact_documents(
        docs in proptest::collection::vec(
            (proptest::collection::vec(0.0f64..1.0, 4), 0usize..8),
            1..40,
        ),
        start in proptest::collection::vec(1usize..100, 4),
    ) {
        // Topic 3 is exclusive; gold is {3} or a non-empty subset of {0, 1, 2}.
        let exclusive = [false, false, false, true];
        let probs: Vec<Vec<f64>> = docs
            .iter()
            .map(|(raw, _)| {
                let total: f64 = raw.iter().sum::<f64>() + 1e-9;
                raw.iter().map(|x| x / total).collect()
            })
            .collect();
        let gold: Vec<Vec<usize>> = docs
            .iter()
            .map(|(_, bits)| {
                let set: Vec<usize> = (0..3).filter(|c| bits & (1 << c) != 0).collect();
                if set.is_empty() { vec![3] } else { set }
            })
            .collect();
        let start: Vec<f64> = start.iter().map(|&k| k as f64 / 100.0).collect();
        let labels = LabelSets::new(4, gold.clone());
        let refined = docclass::nb::refine_thresholds_for_exact_sets(&probs, &labels, &exclusive, &start);
        proptest::prop_assert_eq!(refined[3], start[3]);
        proptest::prop_assert!(
            exact_sets(&probs, &gold, &refined, &exclusive) >= exact_sets(&probs, &gold, &start, &exclusive)
        );
    }
}
