//! Serving's memo keeps each word's feature id beside its term hash, so a
//! memo hit skips the feature lookup. These tests check that vectors come
//! out exactly the same either way: with a cold and a warm memo, through
//! the model's own analyzer (payloads on) and through another analyzer of
//! the same config (payloads off, every term looked up), and with two
//! models of different vocabularies sharing one thread's memo.
use docclass::corpus::Document;
use docclass::features::FeatureSpace;
use docclass::model::Model;
use docclass::text::{Analyzer, AnalyzerConfig, FilterConfig, Lang};
use docclass::train::{self, Silent, TrainOptions, Validation};
use std::path::Path;

const TEXTS: [&str; 8] = [
    "Army units backed by helicopter gunships launched a ground offensive on Tuesday, \
     military spokesmen said. Troops cleared several villages along the main road.",
    "L'armée a lancé jeudi une opération contre les groupes armés ; l'aide humanitaire \
     attend à la frontière. Les négociations reprendront à Genève.",
    "The the the of of and and said said",
    "Zyxwvut qqqq 12345 https://example.org/a?b=1 presse@example.org",
    "",
    // Arabic script (its own memo ids and stemmer).
    "أعلنت وزارة الدفاع أن القوات نفذت عملية عسكرية ضد الجماعات المسلحة",
    // Raw tokens of exactly 15 and 16 bytes (the longest memoized, and the
    // first that bypasses the memo), and a 15-byte word whose lowercase
    // form is longer than 15 bytes (İ lowercases to three bytes).
    "internationally Internationalism İNTERNATIONALS internationally İNTERNATIONALS",
    "Troops troops TROOPS l'armée L'ARMÉE aujourd’hui peut-être 1,000 U.S. forces",
];

fn model() -> Model {
    Model::load(Path::new("models/default.model")).expect("the default model loads")
}

type Vectors = Vec<(Lang, Vec<u32>, Vec<u64>)>;

/// Every text's vector, undetected and with each language hint.
fn vectors_in(space: &FeatureSpace, analyzer: &Analyzer) -> Vectors {
    let mut scratch = Vec::new();
    let hints = [
        None,
        Some(Lang::En),
        Some(Lang::Fr),
        Some(Lang::Ar),
        Some(Lang::Unknown),
    ];
    TEXTS
        .iter()
        .flat_map(|text| hints.iter().map(move |&hint| (text, hint)))
        .map(|(text, hint)| {
            let (lang, v) = space.vectorize(analyzer, text, hint, &mut scratch);
            // Bit patterns: equality must be exact, not approximate.
            (
                lang,
                v.indices,
                v.values.iter().map(|x| x.to_bits()).collect(),
            )
        })
        .collect()
}

fn vectors(model: &Model, analyzer: &Analyzer) -> Vectors {
    vectors_in(model.features(), analyzer)
}

#[test]
fn memoized_feature_ids_give_the_same_vectors_as_lookups() {
    let model = model();
    let other = Analyzer::new(model.analyzer().config().clone()).expect("same config is valid");
    // Without payloads first, so the memo is cold for the model's analyzer.
    let looked_up = vectors(&model, &other);
    let cold = vectors(&model, model.analyzer());
    let warm = vectors(&model, model.analyzer());
    assert_eq!(cold, looked_up);
    assert_eq!(warm, looked_up);
    assert!(looked_up[0].1.len() > 10, "the English text has features");
    assert!(looked_up[4 * 5].1.is_empty(), "the empty text has none");
    // The other analyzer never gets payloads, also after the model's own
    // analyzer has filled the memo.
    assert_eq!(vectors(&model, &other), looked_up);
}

/// A model with a small vocabulary of its own (same analyzer config as the
/// default model's, so both memoize the same words under the same chain).
fn small_model(like: &Model) -> Model {
    let doc = |i: usize, text: &str, label: &str| Document {
        id: format!("d{i}"),
        title: None,
        text: text.to_string(),
        labels: vec![label.to_string()],
        lang: None,
        split: None,
    };
    let docs = [
        doc(
            0,
            "troops launched an offensive and artillery shelled the town",
            "war",
        ),
        doc(
            1,
            "troops and helicopter gunships cleared the villages",
            "war",
        ),
        doc(
            2,
            "negotiations resumed in Geneva as envoys met the minister",
            "talks",
        ),
        doc(
            3,
            "the minister and envoys agreed to resume negotiations",
            "talks",
        ),
    ];
    let mut options = TrainOptions {
        validation: Validation::None,
        ..TrainOptions::default()
    };
    options.analyzer = like.analyzer().config().clone();
    options.features.mode = docclass::features::FeatureMode::Vocabulary {
        min_df: 1,
        max_df: 1.0,
        max_features: None,
    };
    train::train(&docs, &options, &Silent).expect("trains").0
}

#[test]
fn two_feature_spaces_on_one_thread_keep_their_own_ids() {
    // The same words are features of both models under different ids;
    // alternating between them on one thread must never mix their entries.
    let big = model();
    let small = small_model(&big);
    assert_ne!(big.features().n_features(), small.features().n_features());
    let other_big = Analyzer::new(big.analyzer().config().clone()).expect("valid");
    let other_small = Analyzer::new(small.analyzer().config().clone()).expect("valid");
    let big_reference = vectors(&big, &other_big);
    let small_reference = vectors(&small, &other_small);
    assert!(
        !small_reference[0].1.is_empty(),
        "shared words are features"
    );
    for _ in 0..3 {
        assert_eq!(vectors(&small, small.analyzer()), small_reference);
        assert_eq!(vectors(&big, big.analyzer()), big_reference);
    }
    // The big model's analyzer with the small model's space: those ids are
    // bound to the small model's analyzer, so this goes the lookup way.
    assert_eq!(vectors(&small, big.analyzer()), small_reference);
}

#[test]
fn a_clone_of_a_feature_space_never_fills_its_originals_entries() {
    // A clone used with another analyzer (lowercase only: no stemming, so
    // different term hashes for the same raw words) before the model's own
    // analyzer ever runs must not leave entries the model then reads.
    let model = model();
    let reference = vectors(
        &model,
        &Analyzer::new(model.analyzer().config().clone()).expect("valid"),
    );
    // A space fresh from its data is bound to no analyzer yet.
    let space = FeatureSpace::from_data(model.features().shared_data()).expect("valid");
    let clone = space.clone();
    let lowercase_only = Analyzer::new(AnalyzerConfig {
        filters: vec![FilterConfig::Lowercase],
        ..model.analyzer().config().clone()
    })
    .expect("valid");
    let _ = vectors_in(&clone, &lowercase_only);
    assert_eq!(vectors_in(&space, model.analyzer()), reference);
    assert_eq!(vectors(&model, model.analyzer()), reference);
}

#[test]
fn a_model_binds_its_memo_to_its_own_analyzer() {
    // Another analyzer using the model's feature space first must not
    // change what the model's own analyzer computes.
    let model = model();
    let other = Analyzer::new(model.analyzer().config().clone()).expect("valid");
    let first = vectors(&model, &other);
    assert_eq!(vectors(&model, model.analyzer()), first);
    assert_eq!(vectors(&model, model.analyzer()), first);
}
