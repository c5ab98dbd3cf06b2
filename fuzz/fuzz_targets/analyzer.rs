//! Fuzz target `analyzer`: arbitrary bytes as text through `Analyzer::analyze`
//! (default configuration and three others, char n-grams included) and
//! through `LanguageDetector::detect`.
//!
//! Input: byte 0 picks the analyzer and the language hint; the rest is the
//! text, decoded lossily so every input reaches the analyzer (invalid UTF-8
//! becomes U+FFFD, itself worth fuzzing).
#![no_main]

use docclass::text::{Analyzer, AnalyzerConfig, CharNgrams, FilterConfig, Lang, LanguageDetector};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

/// The default configuration, then variants that reach other code: char
/// n-grams at both ends of their range, no NFKC and no filters with the
/// longest word n-grams, and a reordered chain with an Arabic default.
fn configs() -> Vec<AnalyzerConfig> {
    let default = AnalyzerConfig::default();
    vec![
        default.clone(),
        AnalyzerConfig {
            char_ngrams: Some(CharNgrams { min: 1, max: 8 }),
            ..default.clone()
        },
        AnalyzerConfig {
            nfkc: false,
            filters: Vec::new(),
            word_ngrams: 4,
            char_ngrams: Some(CharNgrams { min: 3, max: 5 }),
            ..default.clone()
        },
        AnalyzerConfig {
            filters: vec![
                FilterConfig::AccentFold,
                FilterConfig::Stem,
                FilterConfig::StopWords,
                FilterConfig::Elision,
                FilterConfig::Lowercase,
                FilterConfig::Length {
                    min_chars: 1,
                    max_chars: 3,
                },
                FilterConfig::StripInvisible,
            ],
            word_ngrams: 3,
            languages: vec![Lang::Ar, Lang::Fr],
            default_language: Lang::Ar,
            ..default
        },
    ]
}

static ANALYZERS: LazyLock<Vec<Analyzer>> = LazyLock::new(|| {
    configs()
        .into_iter()
        .map(|c| Analyzer::new(c).expect("the fuzz configurations are valid"))
        .collect()
});

/// Detectors with an allow-list and with none (whatlang may then name any
/// language, which must map to one of ours or `und`).
static DETECTORS: LazyLock<Vec<(Vec<Lang>, LanguageDetector)>> = LazyLock::new(|| {
    [
        (vec![Lang::En, Lang::Fr, Lang::Ar], Lang::En),
        (vec![Lang::Fr], Lang::Fr),
        (Vec::new(), Lang::Unknown),
    ]
    .into_iter()
    .map(|(allowed, default)| {
        let detector = LanguageDetector::new(&allowed, default);
        (allowed, detector)
    })
    .collect()
});

const HINTS: [Option<Lang>; 5] = [
    None,
    Some(Lang::En),
    Some(Lang::Fr),
    Some(Lang::Ar),
    Some(Lang::Unknown),
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, text)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(text);
    let analyzer = &ANALYZERS[usize::from(selector) % ANALYZERS.len()];
    let hint = HINTS[usize::from(selector) / ANALYZERS.len() % HINTS.len()];

    let mut hashes = Vec::new();
    let lang = analyzer.analyze(&text, hint, &mut |term| {
        hashes.push(term.hash);
        // The readable form must be buildable for every term.
        let _ = term.text();
    });
    match hint {
        Some(h) if h != Lang::Unknown => assert_eq!(lang, h, "a hint is obeyed"),
        _ => {
            let config = analyzer.config();
            assert!(
                lang == Lang::Unknown
                    || lang == config.default_language
                    || config.languages.contains(&lang),
                "{lang:?} is outside the analyzer's languages"
            );
        }
    }
    // Analysis is deterministic: the same text gives the same terms.
    let (again, terms) = analyzer.terms(&text, hint);
    assert_eq!(again, lang);
    assert_eq!(terms.len(), hashes.len());

    for (allowed, detector) in DETECTORS.iter() {
        let detected = detector.detect(&text);
        assert!(
            allowed.is_empty() || detected == Lang::Unknown || allowed.contains(&detected),
            "{detected:?} is outside the allow-list {allowed:?}"
        );
    }
});
