//! Two properties of non-ASCII characters that analysis asks about for every
//! such character of a document, read from one table for the Basic
//! Multilingual Plane instead of Unicode's range tables.
//!
//! French news has an accented letter every few words. For each one,
//! `char::is_alphabetic` (language detection) and the NFKC quick check
//! (normalization) each search a range table. Both properties are fixed by
//! the Unicode version the crates carry, so the table is built from those
//! same functions once per process and gives exactly their answers;
//! characters past the BMP (rare in news) still ask the functions.

use std::sync::LazyLock;
use unicode_normalization::char::canonical_combining_class;
use unicode_normalization::{is_nfkc_quick, IsNormalized};

const ALPHABETIC: u8 = 1;
/// Canonical combining class 0 and NFKC quick check "Yes": NFKC leaves the
/// character as it is, and its quick check starts afresh after it, exactly
/// as after an ASCII character.
const NFKC_STABLE: u8 = 2;

fn properties(c: char) -> u8 {
    let mut bits = 0;
    if c.is_alphabetic() {
        bits |= ALPHABETIC;
    }
    if canonical_combining_class(c) == 0 && is_nfkc_quick(std::iter::once(c)) == IsNormalized::Yes {
        bits |= NFKC_STABLE;
    }
    bits
}

/// The BMP's properties, by code point (surrogates, which are not
/// characters, get none).
static BMP: LazyLock<Box<[u8]>> = LazyLock::new(|| {
    (0..=0xFFFFu32)
        .map(|code| char::from_u32(code).map_or(0, properties))
        .collect()
});

/// Builds the table now, so that the first document analysed does not pay
/// for it (a few milliseconds).
pub(crate) fn prepare() {
    LazyLock::force(&BMP);
}

#[inline]
fn lookup(c: char) -> u8 {
    match BMP.get(c as usize) {
        Some(&bits) => bits,
        None => properties(c),
    }
}

/// `c.is_alphabetic()`.
#[inline]
pub(crate) fn is_alphabetic(c: char) -> bool {
    c.is_ascii_alphabetic() || (!c.is_ascii() && lookup(c) & ALPHABETIC != 0)
}

/// Whether `c` is ASCII, or of combining class 0 and NFKC quick check "Yes"
/// (see [`NFKC_STABLE`]).
#[inline]
pub(crate) fn is_nfkc_stable(c: char) -> bool {
    c.is_ascii() || lookup(c) & NFKC_STABLE != 0
}

/// The index of the first byte at or after `from` that is not ASCII, or
/// `bytes.len()`: eight bytes per step, since in French text such bytes come
/// a few words apart.
#[inline]
pub(crate) fn next_non_ascii(bytes: &[u8], from: usize) -> usize {
    let mut i = from;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let high = u64::from_le_bytes(w) & super::tokenizer::HIGH;
        if high != 0 {
            return i + (high.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < bytes.len() && bytes[i].is_ascii() {
        i += 1;
    }
    i.min(bytes.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn next_non_ascii_finds_the_first(s in "[a-z \u{e9}\u{2019}]{0,40}", from in 0usize..48) {
            let bytes = s.as_bytes();
            let expected = (from..bytes.len()).find(|&i| !bytes[i].is_ascii()).unwrap_or(bytes.len());
            proptest::prop_assert_eq!(next_non_ascii(bytes, from), expected.max(from.min(bytes.len())));
        }
    }

    #[test]
    fn the_table_agrees_with_the_functions_everywhere() {
        for code in 0..=0x10FFFFu32 {
            let Some(c) = char::from_u32(code) else {
                continue;
            };
            assert_eq!(is_alphabetic(c), c.is_alphabetic(), "{code:#x}");
            let stable = c.is_ascii()
                || (canonical_combining_class(c) == 0
                    && is_nfkc_quick(std::iter::once(c)) == IsNormalized::Yes);
            assert_eq!(is_nfkc_stable(c), stable, "{code:#x}");
        }
    }

    #[test]
    fn french_and_arabic_letters() {
        for c in ['é', 'à', 'ç', 'œ', 'Ê', 'ب'] {
            assert!(is_alphabetic(c) && is_nfkc_stable(c), "{c}");
        }
        // No-break space and the ellipsis change under NFKC; a combining
        // accent is not a starter; ’ and « are not letters.
        for c in ['\u{a0}', '\u{2026}', '\u{301}'] {
            assert!(!is_nfkc_stable(c), "{c:?}");
        }
        for c in ['’', '«', '\u{a0}'] {
            assert!(!is_alphabetic(c), "{c:?}");
        }
    }
}
