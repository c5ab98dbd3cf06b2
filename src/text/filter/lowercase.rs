//! Lowercasing, with an ASCII fast path that edits in place.
use super::TokenFilter;
use crate::text::Lang;

#[derive(Debug, Default)]
pub struct Lowercase;

impl TokenFilter for Lowercase {
    fn apply(&self, token: &mut String, _lang: Lang) -> bool {
        if token.is_ascii() {
            token.make_ascii_lowercase();
        } else if token.chars().any(char::is_uppercase) {
            *token = token.to_lowercase();
        }
        true
    }
}
