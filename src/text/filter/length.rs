//! Drops tokens shorter or longer than a number of characters.
use super::TokenFilter;
use crate::text::Lang;

#[derive(Debug)]
pub struct Length {
    pub min_chars: usize,
    pub max_chars: usize,
}

impl TokenFilter for Length {
    fn apply(&self, token: &mut String, _lang: Lang) -> bool {
        // Byte length bounds the char count from above: skip counting when it can.
        if token.len() < self.min_chars {
            return false;
        }
        let n = if token.is_ascii() {
            token.len()
        } else {
            token.chars().count()
        };
        n >= self.min_chars && n <= self.max_chars
    }
}
