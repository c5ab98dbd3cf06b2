//! Stop-word removal with a list per language.
//!
//! The lists live beside this module (`stopwords/*.txt`). Each set also holds
//! the accent-folded form of every word, so the filter works whether it runs
//! before or after folding. Text in a language without a list keeps its words,
//! except for `Lang::Unknown`, which uses the union of all lists.
use super::fold::fold_str;
use super::TokenFilter;
use crate::hash::FxBuildHasher;
use crate::text::Lang;
use std::collections::HashSet;

type WordSet = HashSet<String, FxBuildHasher>;

const EN: &str = include_str!("../stopwords/en.txt");
const FR: &str = include_str!("../stopwords/fr.txt");

#[derive(Debug)]
pub struct StopWords {
    en: WordSet,
    fr: WordSet,
}

fn load(list: &str) -> WordSet {
    let mut set = WordSet::default();
    for word in list.lines().map(str::trim).filter(|w| !w.is_empty()) {
        let mut folded = String::new();
        fold_str(word, &mut folded);
        set.insert(folded);
        set.insert(word.to_string());
    }
    set
}

impl Default for StopWords {
    fn default() -> Self {
        Self {
            en: load(EN),
            fr: load(FR),
        }
    }
}

impl StopWords {
    pub fn is_stop_word(&self, word: &str, lang: Lang) -> bool {
        match lang {
            Lang::En => self.en.contains(word),
            Lang::Fr => self.fr.contains(word),
            Lang::Ar => false,
            Lang::Unknown => self.en.contains(word) || self.fr.contains(word),
        }
    }
}

impl TokenFilter for StopWords {
    fn apply(&self, token: &mut String, lang: Lang) -> bool {
        !self.is_stop_word(token, lang)
    }
}
