//! Integration tests for the text analysis chain (`docclass::text`).
//!
//! Most tests use `word_ngrams: 1` so the expected term lists are exact and
//! short; one test covers bigrams and one character n-grams.

use docclass::text::filter::is_invisible;
use docclass::text::{Analyzer, AnalyzerConfig, CharNgrams, FilterConfig, Lang, TextError};
use proptest::prelude::*;
use std::time::{Duration, Instant};

fn analyzer(config: AnalyzerConfig) -> Analyzer {
    Analyzer::new(config).expect("valid analyzer config")
}

/// Unigrams through the given filters.
fn unigrams(filters: Vec<FilterConfig>) -> Analyzer {
    analyzer(AnalyzerConfig {
        filters,
        word_ngrams: 1,
        ..Default::default()
    })
}

/// Unigrams through the default filter chain.
fn default_unigrams() -> Analyzer {
    analyzer(AnalyzerConfig {
        word_ngrams: 1,
        ..Default::default()
    })
}

/// Lowercase and elision only: no stop words, no stemming, accents kept.
fn elision_only() -> Analyzer {
    unigrams(vec![FilterConfig::Lowercase, FilterConfig::Elision])
}

fn terms_in(a: &Analyzer, text: &str, lang: Lang) -> Vec<String> {
    let (used, out) = a.terms(text, Some(lang));
    assert_eq!(used, lang, "a hint is used as the language");
    out
}

// ------------------------------------------------- invisible characters

/// The invisible format characters of issue 21, each by name.
const INVISIBLE: &[(char, &str)] = &[
    ('\u{200D}', "zero-width joiner"),
    ('\u{200C}', "zero-width non-joiner"),
    ('\u{200E}', "left-to-right mark"),
    ('\u{200F}', "right-to-left mark"),
    ('\u{FEFF}', "byte order mark"),
    ('\u{2060}', "word joiner"),
    ('\u{00AD}', "soft hyphen"),
];

/// Each character, after a word, inside it, before it, and doubled, leaves
/// the word's terms as they are without it: in English, in French (where
/// elision must still see the apostrophe) and in Arabic.
#[test]
fn each_invisible_character_is_removed_from_words() {
    let a = default_unigrams();
    for &(c, name) in INVISIBLE {
        for (plain, with_it, lang) in [
            ("Troops shelled", format!("Troops{c} shel{c}led"), Lang::En),
            (
                "Troops shelled",
                format!("{c}Troops {c}{c}shelled{c}"),
                Lang::En,
            ),
            (
                "l'armée du gouvernement",
                format!("l{c}'armée du gouver{c}nement{c}"),
                Lang::Fr,
            ),
            ("الحرب في اليمن", format!("ال{c}حرب في الي{c}من"), Lang::Ar),
        ] {
            let expected = terms_in(&a, plain, lang);
            assert!(!expected.is_empty());
            assert_eq!(
                terms_in(&a, &with_it, lang),
                expected,
                "{name} in {with_it:?}"
            );
        }
    }
    assert_eq!(terms_in(&a, "Troops\u{200D}", Lang::En), ["troop"]);
}

/// A chain without the filter (every model before format 5) keeps them.
#[test]
fn a_chain_without_the_filter_keeps_invisible_characters() {
    let a = unigrams(vec![FilterConfig::Lowercase]);
    for &(c, name) in INVISIBLE {
        assert_eq!(
            terms_in(&a, &format!("Troops{c}"), Lang::En),
            [format!("troops{c}")],
            "{name}"
        );
    }
}

/// Zero-width space is a break opportunity, which segmentation already
/// splits at; the filter leaves it to that.
#[test]
fn zero_width_space_still_splits_words() {
    assert_eq!(
        terms_in(&default_unigrams(), "troops\u{200B}shelled", Lang::En),
        ["troop", "shell"]
    );
}

// ---------------------------------------------------------------- elisions

#[test]
fn french_elisions_with_straight_and_curly_apostrophes() {
    let a = elision_only();
    let (lang, out) = a.terms("l'armée d’Irak qu'il jusqu'à lorsqu'elle puisqu'on", None);
    assert_eq!(lang, Lang::Fr);
    assert_eq!(out, ["armée", "irak", "il", "à", "elle", "on"]);
}

#[test]
fn elisions_with_curly_apostrophes_everywhere() {
    let a = elision_only();
    assert_eq!(
        terms_in(
            &a,
            "l’armée d’Irak qu’il jusqu’à lorsqu’elle puisqu’on",
            Lang::Fr
        ),
        ["armée", "irak", "il", "à", "elle", "on"]
    );
}

#[test]
fn elision_is_case_insensitive_and_works_before_lowercasing() {
    // Elision first, then lowercase: the prefix match ignores ASCII case.
    let a = unigrams(vec![FilterConfig::Elision, FilterConfig::Lowercase]);
    assert_eq!(
        terms_in(&a, "L'Armée D’Irak QU'IL Jusqu’à", Lang::Fr),
        ["armée", "irak", "il", "à"]
    );
}

#[test]
fn without_elision_filter_apostrophes_stay_in_the_token() {
    let a = unigrams(vec![FilterConfig::Lowercase]);
    assert_eq!(
        terms_in(&a, "l'armée d’Irak qu'il jusqu'à", Lang::Fr),
        ["l'armée", "d’irak", "qu'il", "jusqu'à"]
    );
}

#[test]
fn lone_elided_article_is_not_emptied() {
    // "l'" followed by nothing: the token is not stripped to an empty string.
    let a = elision_only();
    assert_eq!(terms_in(&a, "aujourd'hui", Lang::Fr), ["aujourd'hui"]);
    assert_eq!(
        terms_in(&a, "presqu'île quoiqu'il", Lang::Fr),
        ["île", "il"]
    );
}

#[test]
fn default_config_drops_french_stop_words_after_elision() {
    let a = default_unigrams();
    let (lang, out) = a.terms("l'armée d’Irak qu'il jusqu'à lorsqu'elle puisqu'on", None);
    assert_eq!(lang, Lang::Fr);
    // "il", "à", "elle", "on" are stop words; "armée" is stemmed and folded.
    assert_eq!(out, ["arme", "irak"]);
    for stop in ["il", "à", "a", "elle", "on"] {
        assert!(
            !out.iter().any(|t| t == stop),
            "stop word {stop:?} survived: {out:?}"
        );
    }
}

// ----------------------------------------------------------------- accents

#[test]
fn accent_folding() {
    let a = unigrams(vec![FilterConfig::Lowercase, FilterConfig::AccentFold]);
    assert_eq!(
        terms_in(&a, "Défense été Œuvre", Lang::Fr),
        ["defense", "ete", "oeuvre"]
    );
    assert_eq!(
        terms_in(&a, "Æsop Straße ÇA", Lang::Fr),
        ["aesop", "strasse", "ca"]
    );
    // Folding is canonical decomposition plus a few ligatures: "ø" has no
    // decomposition, so it stays.
    assert_eq!(terms_in(&a, "Ærø", Lang::Fr), ["aerø"]);
}

#[test]
fn accents_kept_without_accent_fold() {
    let a = unigrams(vec![FilterConfig::Lowercase]);
    assert_eq!(
        terms_in(&a, "Défense été Œuvre", Lang::Fr),
        ["défense", "été", "œuvre"]
    );
}

#[test]
fn default_chain_stems_then_folds() {
    let a = default_unigrams();
    assert_eq!(
        terms_in(&a, "Défense été Œuvre", Lang::Fr),
        ["defens", "oeuvr"]
    );
}

// ----------------------------------------------------------------- hyphens

#[test]
fn hyphenated_words_split_at_hyphens() {
    let a = unigrams(vec![FilterConfig::Lowercase]);
    assert_eq!(
        terms_in(&a, "peut-être Al-Qaïda anti-terroriste", Lang::Fr),
        ["peut", "être", "al", "qaïda", "anti", "terroriste"]
    );
}

#[test]
fn hyphenated_words_with_default_chain() {
    let a = default_unigrams();
    // "peut" and "être" are French stop words.
    assert_eq!(
        terms_in(&a, "peut-être Al-Qaïda anti-terroriste", Lang::Fr),
        ["al", "qaid", "anti", "terror"]
    );
}

// ------------------------------------------------- punctuation and numbers

#[test]
fn unicode_punctuation_is_dropped() {
    let a = unigrams(vec![FilterConfig::Lowercase]);
    assert_eq!(
        terms_in(&a, "« Bonjour » – le — monde… fin", Lang::Fr),
        ["bonjour", "le", "monde", "fin"]
    );
    assert_eq!(
        terms_in(&a, "«Bonjour»–le—monde…fin", Lang::Fr),
        ["bonjour", "le", "monde", "fin"]
    );
    assert!(terms_in(&a, "« » – — … ! ? ; : , .", Lang::Fr).is_empty());
}

#[test]
fn numbers_are_kept_whole() {
    let a = unigrams(vec![FilterConfig::Lowercase]);
    let (lang, out) = a.terms("3,5 1.000 2024", None);
    assert_eq!(out, ["3,5", "1.000", "2024"]);
    // Digits alone are no evidence of a language.
    assert_eq!(lang, Lang::Unknown);
    assert_eq!(
        terms_in(&a, "le 3,5 % et 1.000 morts en 2024.", Lang::Fr),
        ["le", "3,5", "et", "1.000", "morts", "en", "2024"]
    );
    // The default chain keeps numbers too (no stemmer touches them).
    assert_eq!(
        terms_in(&default_unigrams(), "3,5 1.000 2024", Lang::En),
        ["3,5", "1.000", "2024"]
    );
}

#[test]
fn urls_and_emails_kept_whole_and_lowercased() {
    let a = unigrams(vec![FilterConfig::Lowercase]);
    assert_eq!(
        terms_in(
            &a,
            "Voir HTTPS://Example.org/A?b=1, ou écrire à Presse@Defense.Gouv.FR.",
            Lang::Fr
        ),
        [
            "voir",
            "https://example.org/a?b=1",
            "ou",
            "écrire",
            "à",
            "presse@defense.gouv.fr"
        ]
    );
    assert_eq!(
        terms_in(&a, "(www.Example.com)", Lang::En),
        ["www.example.com"]
    );
}

#[test]
fn urls_and_emails_survive_the_default_chain() {
    // Default length filter is 2..=40 characters; these are within it.
    let a = default_unigrams();
    assert_eq!(
        terms_in(
            &a,
            "see https://example.org/a?b=1 or presse@defense.gouv.fr",
            Lang::En
        ),
        ["see", "https://example.org/a?b=1", "presse@defense.gouv.fr"]
    );
}

// --------------------------------------------------- scripts and languages

#[test]
fn mixed_latin_and_arabic() {
    let a = unigrams(vec![FilterConfig::Lowercase]);
    assert_eq!(
        terms_in(&a, "attaque à الموصل اليوم", Lang::Fr),
        ["attaque", "à", "الموصل", "اليوم"]
    );
    // With the default chain and Arabic detected: no Arabic stop list, the
    // Arabic stemmer removes the article, and "à" is too short.
    let (lang, out) = default_unigrams().terms("attaque à الموصل اليوم", None);
    assert_eq!(lang, Lang::Ar);
    assert_eq!(out, ["attaque", "موصل", "يوم"]);
}

#[test]
fn arabic_text_alone() {
    let text = "قتل خمسة جنود في هجوم على قاعدة عسكرية في شمال العراق اليوم";
    let (lang, out) = unigrams(vec![FilterConfig::Lowercase]).terms(text, None);
    assert_eq!(lang, Lang::Ar);
    assert_eq!(
        out,
        [
            "قتل",
            "خمسة",
            "جنود",
            "في",
            "هجوم",
            "على",
            "قاعدة",
            "عسكرية",
            "في",
            "شمال",
            "العراق",
            "اليوم"
        ]
    );
    let (lang, out) = default_unigrams().terms(text, None);
    assert_eq!(lang, Lang::Ar);
    assert_eq!(
        out,
        [
            "قتل", "خمس", "جنود", "في", "هجوم", "علي", "قاعد", "عسكر", "في", "شمال", "عراق", "يوم"
        ]
    );
    for t in &out {
        assert!(
            t.chars().all(|c| ('\u{0600}'..='\u{06FF}').contains(&c)),
            "non-Arabic term {t:?}"
        );
    }
}

#[test]
fn arabic_diacritics_are_folded() {
    // Harakat are combining marks: accent folding drops them.
    let a = unigrams(vec![FilterConfig::AccentFold]);
    assert_eq!(terms_in(&a, "كَتَبَ", Lang::Ar), ["كتب"]);
}

#[test]
fn language_detection() {
    let a = default_unigrams();
    let fr = "Les soldats de l'armée française ont lancé une opération contre les groupes armés dans le nord du pays.";
    let en = "The army launched an operation against armed groups in the north of the country on Monday.";
    let ar = "أطلق الجيش عملية عسكرية ضد الجماعات المسلحة في شمال البلاد يوم الاثنين";
    assert_eq!(a.language(fr, None), Lang::Fr);
    assert_eq!(a.language(en, None), Lang::En);
    assert_eq!(a.language(ar, None), Lang::Ar);
    assert_eq!(
        a.terms(fr, None),
        (
            Lang::Fr,
            [
                "soldat", "arme", "francais", "lanc", "oper", "contr", "group", "arme", "nord",
                "pay"
            ]
            .map(String::from)
            .to_vec()
        )
    );
    assert_eq!(
        a.terms(en, None),
        (
            Lang::En,
            ["armi", "launch", "oper", "arm", "group", "north", "countri", "monday"]
                .map(String::from)
                .to_vec()
        )
    );
    assert_eq!(a.terms(ar, None).0, Lang::Ar);
}

#[test]
fn hint_overrides_detection() {
    let a = default_unigrams();
    let en = "The army launched an operation against armed groups in the north of the country on Monday.";
    assert_eq!(a.language(en, Some(Lang::Fr)), Lang::Fr);
    let (lang, out) = a.terms(en, Some(Lang::Fr));
    assert_eq!(lang, Lang::Fr);
    // French stop words ("on" goes, "the" and "of" stay) and French stemming.
    assert_eq!(
        out,
        [
            "the", "army", "launched", "an", "oper", "against", "armed", "group", "in", "the",
            "north", "of", "the", "country", "monday"
        ]
    );
    // An Unknown hint is no hint: detection runs.
    assert_eq!(a.language(en, Some(Lang::Unknown)), Lang::En);
}

// ----------------------------------------------------------- empty inputs

#[test]
fn empty_and_whitespace_only_text() {
    for a in [
        default_unigrams(),
        analyzer(AnalyzerConfig::default()),
        elision_only(),
    ] {
        for text in ["", " ", "   \t\n ", "\u{00A0}\u{2003}\u{3000}", "\r\n\r\n"] {
            assert_eq!(
                a.terms(text, None),
                (Lang::Unknown, vec![]),
                "text {text:?}"
            );
        }
    }
}

#[test]
fn punctuation_only_text_is_unknown_language() {
    assert_eq!(
        default_unigrams().terms("... !!! --- « »", None),
        (Lang::Unknown, vec![])
    );
}

// ------------------------------------------------------------ huge inputs

#[test]
fn five_megabyte_single_word_gives_no_term() {
    let word = "a".repeat(5_000_000);
    for a in [analyzer(AnalyzerConfig::default()), elision_only()] {
        let started = Instant::now();
        let (_, out) = a.terms(&word, None);
        assert!(out.is_empty(), "{} terms", out.len());
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "took {:?}",
            started.elapsed()
        );
    }
    // Also inside other words and as an e-mail-like chunk.
    let mixed = format!("army {word} base x@{word}.com");
    assert_eq!(
        terms_in(&elision_only(), &mixed, Lang::En),
        ["army", "base"]
    );
}

#[test]
fn tokens_at_the_length_limit() {
    let a = unigrams(vec![]);
    let max = "b".repeat(256);
    let over = "c".repeat(257);
    assert_eq!(
        terms_in(&a, &format!("{max} {over} ok"), Lang::En),
        [max.as_str(), "ok"]
    );
}

#[test]
fn five_megabytes_of_normal_words() {
    let sentence = "army attack base ";
    let n = 5_000_000 / sentence.len();
    let text = sentence.repeat(n);
    assert!(text.len() >= 4_999_000);
    let a = unigrams(vec![FilterConfig::Lowercase]);
    let started = Instant::now();
    let (lang, out) = a.terms(&text, Some(Lang::En));
    assert_eq!(lang, Lang::En);
    assert_eq!(out.len(), 3 * n);
    assert_eq!(&out[..3], ["army", "attack", "base"]);
    assert_eq!(&out[out.len() - 3..], ["army", "attack", "base"]);
    // And through the default chain, with bigrams and detection.
    let (lang, out) = analyzer(AnalyzerConfig::default()).terms(&text, None);
    assert_eq!(lang, Lang::En);
    // 3 unigrams + 3 bigrams per sentence, minus the missing first bigram.
    assert_eq!(out.len(), 6 * n - 1);
    assert_eq!(
        &out[..5],
        ["armi", "attack", "armi attack", "base", "attack base"]
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
}

// ------------------------------------------------------------------- NFKC

#[test]
fn nfkc_normalization() {
    let a = unigrams(vec![FilterConfig::Lowercase]);
    assert_eq!(terms_in(&a, "ﬁnance", Lang::En), ["finance"]);
    assert_eq!(
        terms_in(&a, "２０２４ ＡＢＣ ｆｉｎａｎｃｅ", Lang::En),
        ["2024", "abc", "finance"]
    );
    // Decomposed é (e + U+0301) composes to é.
    assert_eq!(terms_in(&a, "e\u{0301}te\u{0301}", Lang::Fr), ["été"]);
}

#[test]
fn nfkc_can_be_turned_off() {
    let a = analyzer(AnalyzerConfig {
        nfkc: false,
        filters: vec![FilterConfig::Lowercase],
        word_ngrams: 1,
        ..Default::default()
    });
    assert_eq!(terms_in(&a, "ﬁnance", Lang::En), ["ﬁnance"]);
    assert_eq!(terms_in(&a, "２０２４", Lang::En), ["２０２４"]);
}

// ----------------------------------------------------- n-gram generation

#[test]
fn word_bigrams() {
    let a = analyzer(AnalyzerConfig {
        word_ngrams: 2,
        filters: vec![FilterConfig::Lowercase],
        ..Default::default()
    });
    assert_eq!(
        terms_in(&a, "Army attacks the base", Lang::En),
        [
            "army",
            "attacks",
            "army attacks",
            "the",
            "attacks the",
            "base",
            "the base"
        ]
    );
    // Bigrams are formed over the filtered tokens: stop words removed first.
    let d = analyzer(AnalyzerConfig::default());
    assert_eq!(
        terms_in(&d, "Army attacks the base", Lang::En),
        ["armi", "attack", "armi attack", "base", "attack base"]
    );
    assert_eq!(terms_in(&d, "army", Lang::En), ["armi"]);
}

#[test]
fn word_trigrams() {
    let a = analyzer(AnalyzerConfig {
        word_ngrams: 3,
        filters: vec![],
        ..Default::default()
    });
    assert_eq!(
        terms_in(&a, "a b c", Lang::En),
        ["a", "b", "a b", "c", "b c", "a b c"]
    );
}

#[test]
fn char_ngrams() {
    let a = analyzer(AnalyzerConfig {
        word_ngrams: 1,
        filters: vec![FilterConfig::Lowercase],
        char_ngrams: Some(CharNgrams { min: 2, max: 3 }),
        ..Default::default()
    });
    assert_eq!(
        terms_in(&a, "Army été", Lang::En),
        [
            "#<a", "#ar", "#rm", "#my", "#y>", "#<ar", "#arm", "#rmy", "#my>", "army", //
            "#<é", "#ét", "#té", "#é>", "#<ét", "#été", "#té>", "été",
        ]
    );
    // A one-letter token: "<x>" has two bigrams and one trigram.
    assert_eq!(terms_in(&a, "x", Lang::En), ["#<x", "#x>", "#<x>", "x"]);
}

#[test]
fn char_ngrams_longer_than_token() {
    let a = analyzer(AnalyzerConfig {
        word_ngrams: 1,
        filters: vec![],
        char_ngrams: Some(CharNgrams { min: 5, max: 8 }),
        ..Default::default()
    });
    // "<ab>" has 4 characters: no 5-gram fits.
    assert_eq!(terms_in(&a, "ab", Lang::En), ["ab"]);
    assert_eq!(terms_in(&a, "abc", Lang::En), ["#<abc>", "abc"]);
}

// ------------------------------------------------------- invalid configs

fn config_error(config: AnalyzerConfig) -> (TextError, String) {
    let err = Analyzer::new(config.clone()).unwrap_err();
    assert_eq!(
        config.validate().unwrap_err(),
        err,
        "validate() and Analyzer::new agree"
    );
    let msg = err.to_string();
    (err, msg)
}

#[test]
fn invalid_word_ngrams() {
    assert_eq!(
        config_error(AnalyzerConfig {
            word_ngrams: 0,
            ..Default::default()
        }),
        (
            TextError::WordNgrams { got: 0, max: 4 },
            "word_ngrams must be between 1 and 4, got 0".to_string()
        )
    );
    assert_eq!(
        config_error(AnalyzerConfig {
            word_ngrams: 5,
            ..Default::default()
        }),
        (
            TextError::WordNgrams { got: 5, max: 4 },
            "word_ngrams must be between 1 and 4, got 5".to_string()
        )
    );
    for n in 1..=4 {
        assert!(Analyzer::new(AnalyzerConfig {
            word_ngrams: n,
            ..Default::default()
        })
        .is_ok());
    }
}

#[test]
fn invalid_char_ngrams() {
    let with = |min, max| AnalyzerConfig {
        char_ngrams: Some(CharNgrams { min, max }),
        ..Default::default()
    };
    assert_eq!(
        config_error(with(4, 2)),
        (
            TextError::CharNgrams { min: 4, max: 2 },
            "char n-gram range 4..=2 is invalid: need 1 <= min <= max <= 8".to_string()
        )
    );
    assert_eq!(
        config_error(with(0, 3)).0,
        TextError::CharNgrams { min: 0, max: 3 }
    );
    assert_eq!(
        config_error(with(3, 9)).0,
        TextError::CharNgrams { min: 3, max: 9 }
    );
    assert!(Analyzer::new(with(1, 8)).is_ok());
    assert!(Analyzer::new(with(3, 3)).is_ok());
}

#[test]
fn duplicate_filter() {
    let config = AnalyzerConfig {
        filters: vec![
            FilterConfig::Lowercase,
            FilterConfig::Stem,
            FilterConfig::Lowercase,
        ],
        ..Default::default()
    };
    assert_eq!(
        config_error(config),
        (
            TextError::DuplicateFilter("lowercase".into()),
            "filter \"lowercase\" appears twice in the chain".to_string()
        )
    );
    // Two length filters are duplicates even with different bounds.
    let config = AnalyzerConfig {
        filters: vec![
            FilterConfig::Length {
                min_chars: 1,
                max_chars: 5,
            },
            FilterConfig::Length {
                min_chars: 2,
                max_chars: 9,
            },
        ],
        ..Default::default()
    };
    assert_eq!(
        config_error(config),
        (
            TextError::DuplicateFilter("length".into()),
            "filter \"length\" appears twice in the chain".to_string()
        )
    );
}

#[test]
fn invalid_length_bounds() {
    let config = AnalyzerConfig {
        filters: vec![FilterConfig::Length {
            min_chars: 5,
            max_chars: 2,
        }],
        ..Default::default()
    };
    assert_eq!(
        config_error(config),
        (
            TextError::LengthBounds { min: 5, max: 2 },
            "length filter bounds are invalid: min_chars 5 > max_chars 2".to_string()
        )
    );
}

#[test]
fn length_filter_counts_characters_not_bytes() {
    let a = unigrams(vec![FilterConfig::Length {
        min_chars: 3,
        max_chars: 3,
    }]);
    // "été" is 3 characters but 5 bytes; "ab" is too short, "abcd" too long.
    assert_eq!(
        terms_in(&a, "ab été abc abcd يوم", Lang::Fr),
        ["été", "abc", "يوم"]
    );
}

// -------------------------------------------------------------- proptest

fn default_analyzer() -> &'static Analyzer {
    static A: std::sync::OnceLock<Analyzer> = std::sync::OnceLock::new();
    A.get_or_init(|| analyzer(AnalyzerConfig::default()))
}

fn char_ngram_analyzer() -> &'static Analyzer {
    static A: std::sync::OnceLock<Analyzer> = std::sync::OnceLock::new();
    A.get_or_init(|| {
        analyzer(AnalyzerConfig {
            char_ngrams: Some(CharNgrams { min: 2, max: 4 }),
            ..Default::default()
        })
    })
}

/// No length filter: only the other filters guard against empty terms.
fn no_length_analyzer() -> &'static Analyzer {
    static A: std::sync::OnceLock<Analyzer> = std::sync::OnceLock::new();
    A.get_or_init(|| {
        analyzer(AnalyzerConfig {
            filters: vec![
                FilterConfig::StripInvisible,
                FilterConfig::Lowercase,
                FilterConfig::Elision,
                FilterConfig::StopWords,
                FilterConfig::Stem,
                FilterConfig::AccentFold,
            ],
            word_ngrams: 3,
            char_ngrams: Some(CharNgrams { min: 1, max: 3 }),
            ..Default::default()
        })
    })
}

/// Characters that stress segmentation, folding and detection.
fn tricky_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => proptest::char::range('a', 'z'),
        1 => proptest::char::range('A', 'Z'),
        1 => proptest::char::range('0', '9'),
        2 => proptest::sample::select(vec![' ', ' ', '\t', '\n', '\r', '\'', '’', '-', '.', ',', '@', '/', ':', '«', '»', '…', '—']),
        2 => proptest::sample::select(vec!['é', 'è', 'à', 'ç', 'œ', 'Œ', 'ß', 'İ', 'ﬁ', 'Ａ', '２', '\u{0301}', '\u{0308}']),
        3 => proptest::char::range('\u{0600}', '\u{06FF}'),
        1 => proptest::sample::select(vec!['😀', '👩', '🏽', '🇫', '🇷', '\u{200D}', '\u{FE0F}']),
        1 => proptest::sample::select(vec!['\u{200E}', '\u{200F}', '\u{202A}', '\u{202B}', '\u{202C}', '\u{202E}', '\u{2066}', '\u{2069}', '\u{200B}', '\u{FEFF}', '\u{200C}', '\u{2060}', '\u{00AD}', '\u{061C}']),
        1 => proptest::char::range('\u{0000}', '\u{001F}'),
        1 => proptest::sample::select(vec!['\u{007F}', '\u{0085}', '\u{00A0}', '\u{2028}', '\u{2029}', '\u{3000}', '\u{FDFA}', '\u{FFFD}']),
        1 => any::<char>(),
    ]
}

fn tricky_string() -> impl Strategy<Value = String> {
    proptest::collection::vec(tricky_char(), 0..300).prop_map(|chars| chars.into_iter().collect())
}

/// Words and the apostrophe and URL shapes the tokenizer special-cases.
fn wordy_string() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[a-zA-Zéèàç]{1,12}",
        "(l|d|qu|jusqu|lorsqu|puisqu|presqu|quoiqu)['’][a-zéA-Z]{0,8}",
        "(https?://|www\\.)[a-z./?=&]{0,20}",
        "[a-z.%+-]{0,8}@[a-z.@-]{0,10}",
        "[\u{0621}-\u{064A}\u{064B}-\u{0652}]{1,10}",
        "[0-9.,]{1,8}",
        "[-'’.«»…]{1,3}",
    ];
    proptest::collection::vec(
        (
            piece,
            prop_oneof![Just(" "), Just(""), Just("\n"), Just("-")],
        ),
        0..40,
    )
    .prop_map(|parts| parts.into_iter().map(|(p, sep)| p + sep).collect())
}

fn check_terms(a: &Analyzer, text: &str) -> Result<(), TestCaseError> {
    let (lang, out) = a.terms(text, None);
    for t in &out {
        prop_assert!(!t.is_empty(), "empty term from {:?}", text);
        // Every chain tested here strips invisible characters.
        prop_assert!(!t.contains(is_invisible), "{:?} from {:?}", t, text);
    }
    // The hash-level API agrees with the string-level one.
    let mut n = 0usize;
    let lang2 = a.analyze(text, None, &mut |_| n += 1);
    prop_assert_eq!(lang, lang2);
    prop_assert_eq!(n, out.len());
    // Deterministic.
    prop_assert_eq!(a.terms(text, None), (lang, out));
    Ok(())
}

proptest! {
    #[test]
    fn any_string_never_panics(text in any::<String>()) {
        check_terms(default_analyzer(), &text)?;
        check_terms(char_ngram_analyzer(), &text)?;
        check_terms(no_length_analyzer(), &text)?;
    }

    #[test]
    fn tricky_strings_never_panic(text in tricky_string()) {
        check_terms(default_analyzer(), &text)?;
        check_terms(char_ngram_analyzer(), &text)?;
        check_terms(no_length_analyzer(), &text)?;
    }

    #[test]
    fn wordy_strings_never_panic(text in wordy_string()) {
        check_terms(default_analyzer(), &text)?;
        check_terms(char_ngram_analyzer(), &text)?;
        check_terms(no_length_analyzer(), &text)?;
    }

    #[test]
    fn hints_never_panic(text in tricky_string(), lang in proptest::sample::select(vec![Lang::En, Lang::Fr, Lang::Ar, Lang::Unknown])) {
        for a in [default_analyzer(), char_ngram_analyzer(), no_length_analyzer()] {
            let (used, out) = a.terms(&text, Some(lang));
            if lang != Lang::Unknown {
                prop_assert_eq!(used, lang);
            }
            prop_assert!(out.iter().all(|t| !t.is_empty()));
        }
    }
}
