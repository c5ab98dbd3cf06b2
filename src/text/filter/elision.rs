//! French elision: `l'armée` → `armée`, with `'` or `’`.
use super::TokenFilter;
use crate::text::Lang;

/// Elided articles and conjunctions that are stripped when followed by an
/// apostrophe. Longest first, so `jusqu'` wins over `j'`.
const ELIDED: &[&str] = &[
    "jusqu", "lorsqu", "puisqu", "quoiqu", "presqu", "qu", "l", "d", "j", "n", "s", "c", "m", "t",
];

#[derive(Debug, Default)]
pub struct Elision;

/// Byte length of the elided prefix, apostrophe included, if any.
fn elided_prefix_len(token: &str) -> Option<usize> {
    // The longest prefix is 7 bytes: look for an apostrophe just after it.
    let head = &token.as_bytes()[..token.len().min(10)];
    if !head.contains(&b'\'') && !head.windows(3).any(|w| w == "\u{2019}".as_bytes()) {
        return None;
    }
    for prefix in ELIDED {
        let Some(head) = token.get(..prefix.len()) else {
            continue;
        };
        if !head.eq_ignore_ascii_case(prefix) {
            continue;
        }
        let rest = &token[prefix.len()..];
        for apostrophe in ['\'', '\u{2019}'] {
            if let Some(after) = rest.strip_prefix(apostrophe) {
                if !after.is_empty() {
                    return Some(token.len() - after.len());
                }
            }
        }
    }
    None
}

impl TokenFilter for Elision {
    fn apply(&self, token: &mut String, _lang: Lang) -> bool {
        if let Some(n) = elided_prefix_len(token) {
            token.drain(..n);
        }
        true
    }
}
