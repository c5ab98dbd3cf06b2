//! Accent folding: `été` → `ete`, `œuvre` → `oeuvre`.
//!
//! Canonical decomposition, then combining marks dropped. Arabic diacritics
//! (harakat) are combining marks too, so they are dropped the same way.
use super::TokenFilter;
use crate::text::Lang;
use unicode_normalization::char::{decompose_canonical, is_combining_mark};

#[derive(Debug, Default)]
pub struct AccentFold;

pub(crate) fn fold_str(input: &str, out: &mut String) {
    for c in input.chars() {
        match c {
            'œ' => out.push_str("oe"),
            'Œ' => out.push_str("OE"),
            'æ' => out.push_str("ae"),
            'Æ' => out.push_str("AE"),
            'ß' => out.push_str("ss"),
            _ => decompose_canonical(c, |d| {
                if !is_combining_mark(d) {
                    out.push(d);
                }
            }),
        }
    }
}

impl TokenFilter for AccentFold {
    fn apply(&self, token: &mut String, _lang: Lang) -> bool {
        if !token.is_ascii() {
            let mut folded = String::with_capacity(token.len());
            fold_str(token, &mut folded);
            *token = folded;
        }
        !token.is_empty()
    }
}
