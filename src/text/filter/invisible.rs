//! Removes invisible format characters from inside words: `Troops\u{200D}`
//! and `gouver\u{AD}nement` become `Troops` and `gouvernement`.
//!
//! UAX #29 segmentation treats these characters (Word_Break Format and ZWJ)
//! as part of the word they touch, so without this filter a word copied from
//! a web page with a soft hyphen or a direction mark in it is a term no model
//! knows.
//!
//! Removed, not split at, because none of them marks a word boundary in the
//! languages analysed:
//! - soft hyphen (U+00AD): a hyphenation point inside a word (French and
//!   English text from web pages and PDFs carries it);
//! - ZWNJ and ZWJ (U+200C, U+200D): ask for a non-joined or joined letter
//!   form, or break a ligature (`Auf\u{200C}lage`), inside one word. In
//!   Arabic script they choose letter shapes; in Persian ZWNJ sits inside a
//!   word (`می\u{200C}خواهم`, one verb) and splitting there would cut the
//!   prefix from its stem, while removing it gives the spelling many texts
//!   use anyway;
//! - LRM, RLM and the Arabic letter mark (U+200E, U+200F, U+061C), and the
//!   bidirectional embeddings, overrides and isolates (U+202A–U+202E,
//!   U+2066–U+2069): display direction only, usually beside digits or
//!   punctuation in mixed Arabic and Latin text;
//! - word joiner and BOM (U+2060, U+FEFF, the latter also "zero-width
//!   no-break space"): they say there is *no* break here; and the invisible
//!   mathematical operators (U+2061–U+2064).
//!
//! Zero-width space (U+200B) is not among them: it is a break opportunity,
//! and UAX #29 already splits at it.
use super::TokenFilter;
use crate::text::Lang;

#[derive(Debug, Default)]
pub struct StripInvisible;

/// Whether `c` is one of the invisible format characters the filter removes.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{AD}'
            | '\u{61C}'
            | '\u{200C}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

impl TokenFilter for StripInvisible {
    fn apply(&self, token: &mut String, _lang: Lang) -> bool {
        // ASCII tokens, most of them, hold none; others are rewritten only
        // when they do.
        if !token.is_ascii() && token.contains(is_invisible) {
            token.retain(|c| !is_invisible(c));
        }
        !token.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip(token: &str) -> (String, bool) {
        let mut token = token.to_string();
        let kept = StripInvisible.apply(&mut token, Lang::En);
        (token, kept)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]
        /// The filter's shortcuts (ASCII tokens, tokens without any of the
        /// characters) agree with removing every invisible character.
        #[test]
        fn agrees_with_removing_every_invisible_character(
            s in "[a-zA-Z\u{e9}\u{627}\u{644}\u{AD}\u{61C}\u{200B}-\u{2010}\u{2029}-\u{202F}\u{205F}-\u{2070}\u{FEFE}-\u{FF00}]{0,12}"
        ) {
            let reference: String = s.chars().filter(|&c| !is_invisible(c)).collect();
            let kept = !reference.is_empty();
            proptest::prop_assert_eq!(strip(&s), (reference, kept));
        }
    }

    #[test]
    fn a_token_of_invisible_characters_only_is_dropped() {
        assert_eq!(strip("\u{200D}\u{FEFF}"), (String::new(), false));
        assert_eq!(strip("plain"), ("plain".to_string(), true));
        // Zero-width space and the characters next to the ranges stay.
        assert_eq!(
            strip("a\u{200B}\u{2010}\u{2065}\u{202F}b"),
            ("a\u{200B}\u{2010}\u{2065}\u{202F}b".to_string(), true)
        );
    }
}
