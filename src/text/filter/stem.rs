//! Snowball stemming (rust-stemmers) in the document's language.
use super::TokenFilter;
use crate::text::Lang;
use rust_stemmers::{Algorithm, Stemmer};
use std::borrow::Cow;
pub struct Stem {
    en: Stemmer,
    fr: Stemmer,
    ar: Stemmer,
}

impl std::fmt::Debug for Stem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Stem")
    }
}

impl Default for Stem {
    fn default() -> Self {
        Self {
            en: Stemmer::create(Algorithm::English),
            fr: Stemmer::create(Algorithm::French),
            ar: Stemmer::create(Algorithm::Arabic),
        }
    }
}

impl TokenFilter for Stem {
    fn apply(&self, token: &mut String, lang: Lang) -> bool {
        let stemmer = match lang {
            Lang::En => &self.en,
            Lang::Fr => &self.fr,
            Lang::Ar => &self.ar,
            Lang::Unknown => return true,
        };
        // A memo of stems was measured slower than stemming directly: the
        // table outgrows the CPU caches on a large corpus.
        if let Cow::Owned(stemmed) = stemmer.stem(token) {
            if !stemmed.is_empty() {
                *token = stemmed;
            }
        }
        true
    }
}
