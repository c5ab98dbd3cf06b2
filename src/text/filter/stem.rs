//! Snowball stemming (rust-stemmers) in the document's language.
use super::TokenFilter;
use crate::hash::FxBuildHasher;
use crate::text::Lang;
use rust_stemmers::{Algorithm, Stemmer};
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;

/// Stems are a pure function of (language, word) and news vocabulary repeats
/// heavily, so each thread keeps a bounded cache; Snowball costs several
/// times a hash lookup.
const CACHE_LIMIT: usize = 200_000;

/// One memo table per stemming language (en, fr, ar).
type StemCache = [HashMap<Box<str>, Box<str>, FxBuildHasher>; 3];

thread_local! {
    static CACHE: RefCell<StemCache> = RefCell::new(Default::default());
}

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
        let (stemmer, slot) = match lang {
            Lang::En => (&self.en, 0),
            Lang::Fr => (&self.fr, 1),
            Lang::Ar => (&self.ar, 2),
            Lang::Unknown => return true,
        };
        CACHE.with(|cache| {
            let mut cache = cache.borrow_mut();
            let map = &mut cache[slot];
            if let Some(stem) = map.get(token.as_str()) {
                token.clear();
                token.push_str(stem);
                return;
            }
            let stem: Box<str> = match stemmer.stem(token) {
                Cow::Owned(s) if !s.is_empty() => s.into(),
                _ => token.as_str().into(),
            };
            if map.len() >= CACHE_LIMIT {
                map.clear();
            }
            map.insert(token.as_str().into(), stem.clone());
            token.clear();
            token.push_str(&stem);
        });
        true
    }
}
