//! Snowball stemming (rust-stemmers) in the document's language.
use super::TokenFilter;
use crate::text::Lang;
use rust_stemmers::{Algorithm, Stemmer};
use std::borrow::Cow;
use std::cell::RefCell;
use std::hash::Hasher;

/// Slots per language in the per-thread stem memo. Direct-mapped and small
/// enough to stay in the CPU cache: frequent words (most of any text) hit,
/// rare ones are stemmed again. A large hash map was measured slower than
/// no memo at all, because it outgrew the caches.
const MEMO_SLOTS: usize = 16384;

#[derive(Default, Clone)]
struct MemoSlot {
    word: String,
    stem: String,
}

thread_local! {
    static MEMO: RefCell<Vec<MemoSlot>> = RefCell::new(vec![MemoSlot::default(); 3 * MEMO_SLOTS]);
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
        let (stemmer, base) = match lang {
            Lang::En => (&self.en, 0),
            Lang::Fr => (&self.fr, MEMO_SLOTS),
            Lang::Ar => (&self.ar, 2 * MEMO_SLOTS),
            Lang::Unknown => return true,
        };
        let mut h = crate::hash::FxHasher::default();
        h.write(token.as_bytes());
        let index = base + (h.finish() as usize >> 7) % MEMO_SLOTS;
        MEMO.with(|memo| {
            let mut memo = memo.borrow_mut();
            let slot = &mut memo[index];
            if slot.word != *token {
                slot.word.clear();
                slot.word.push_str(token);
                slot.stem.clear();
                match stemmer.stem(token) {
                    Cow::Owned(stemmed) if !stemmed.is_empty() => slot.stem.push_str(&stemmed),
                    _ => slot.stem.push_str(token),
                }
            }
            token.clear();
            token.push_str(&slot.stem);
        });
        true
    }
}
