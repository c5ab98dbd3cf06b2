//! Word segmentation: Unicode word boundaries (UAX #29) inside
//! whitespace-separated chunks, with URLs and e-mail addresses kept whole.
//!
//! UAX #29 already keeps `l'armée`, `aujourd’hui`, `3.5` and `1,000` as one
//! word, splits `peut-être` at the hyphen, and drops punctuation such as
//! « » – — …. Arabic script segments the same way.

use unicode_segmentation::UnicodeSegmentation;

/// Tokens longer than this are dropped before any filter sees them: no real
/// word is this long, and it keeps a 5 MB "word" from reaching the stemmer.
pub const MAX_TOKEN_BYTES: usize = 256;

/// Calls `emit` with each token of `text`, in order.
pub fn tokenize(text: &str, mut emit: impl FnMut(&str)) {
    tokenize_spans(text, |start, end| {
        if let Some(token) = text.get(start..end) {
            emit(token);
        }
    });
}

/// Calls `emit` with the byte range `start..end` of each token of `text`, in
/// order; both ends are char boundaries. The analyzer takes ranges: it reads
/// most tokens' bytes only, and slicing a `str` checks both boundaries again.
pub fn tokenize_spans(text: &str, mut emit: impl FnMut(usize, usize)) {
    // Every path below emits through this, which drops oversized tokens.
    let mut emit = |start: usize, end: usize| {
        if end - start <= MAX_TOKEN_BYTES {
            emit(start, end);
        }
    };
    // One pass over bytes splits at ASCII whitespace, which is most of the
    // whitespace in any text, and recognises the usual chunk: one run of
    // ASCII letters and digits with ASCII punctuation around it, which is
    // exactly one word (see `plain_word`). Chunks with other bytes are split
    // again at Unicode whitespace, so the result is `split_whitespace`'s, and
    // segmented in full.
    let bytes = text.as_bytes();
    let mut i = 0;
    loop {
        while i < bytes.len() && BYTE_CLASS[usize::from(bytes[i])] == SPACE {
            i += 1;
        }
        if i >= bytes.len() {
            break;
        }
        let start = i;
        // The first and last letter or digit, whether anything else came
        // between them, and whether `_` or a non-ASCII byte occurred.
        let (mut first, mut last, mut gap) = (usize::MAX, 0usize, false);
        let (mut underscore, mut non_ascii) = (false, false);
        while i < bytes.len() {
            // A run of letters and digits in a tight loop: most bytes are in one.
            let run = i;
            i = alnum_run_end(bytes, i);
            if i > run {
                if first == usize::MAX {
                    first = run;
                } else {
                    gap = true;
                }
                last = i - 1;
            }
            if i >= bytes.len() {
                break;
            }
            match BYTE_CLASS[usize::from(bytes[i])] {
                SPACE => break,
                UNDERSCORE => underscore = true,
                NON_ASCII => non_ascii = true,
                _ => {}
            }
            i += 1;
        }
        // Both ends of the chunk are at ASCII bytes or the text's ends: char
        // boundaries. Only the rare chunks below need it as a `str`.
        if non_ascii {
            for piece in text.get(start..i).unwrap_or_default().split_whitespace() {
                segment_chunk(text, piece, &mut emit);
            }
        } else if first == usize::MAX {
            // No letter or digit: no word.
        } else if underscore {
            segment_chunk(text, text.get(start..i).unwrap_or_default(), &mut emit);
        } else if gap {
            segment_ascii_chunk(text, first, last, &mut emit);
        } else {
            // Both ends are at ASCII bytes or the text's end.
            emit(first, last + 1);
        }
    }
}

/// The end of the run of ASCII letters and digits starting at `i`: eight
/// bytes per step (SWAR), so a word costs a branch or two rather than one
/// per byte, and the byte loop only finishes the text's last bytes.
#[inline(always)]
fn alnum_run_end(bytes: &[u8], mut i: usize) -> usize {
    while let Some(chunk) = bytes.get(i..i + 8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let w = u64::from_le_bytes(w);
        let x = w & LOW7;
        let digit = lanes_at_least(x, b'0') & !lanes_at_least(x, b'9' + 1);
        // Non-ASCII bytes (high bit set) are never letters or digits.
        let alnum = (digit | ascii_letter_lanes(w)) & !w;
        let other = !alnum & HIGH;
        if other != 0 {
            return i + (other.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < bytes.len() && BYTE_CLASS[usize::from(bytes[i])] == ALNUM {
        i += 1;
    }
    i
}

/// The high bit of each byte of a word: set in exactly the non-ASCII bytes.
pub(super) const HIGH: u64 = 0x8080_8080_8080_8080;
const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;

/// The high bit of each lane of the seven-bit lanes `x` that is at least
/// `c`: x + (0x80 - c) sets it exactly then, and lanes of seven-bit values
/// never carry into each other.
#[inline(always)]
fn lanes_at_least(x: u64, c: u8) -> u64 {
    x.wrapping_add(u64::from(0x80 - c) * 0x0101_0101_0101_0101) & HIGH
}

/// The high bit of each byte of `w` (eight bytes, little-endian) that is an
/// ASCII letter of either case; non-ASCII bytes are never letters.
#[inline(always)]
pub(super) fn ascii_letter_lanes(w: u64) -> u64 {
    let folded = (w & LOW7) | 0x2020_2020_2020_2020;
    lanes_at_least(folded, b'a') & !lanes_at_least(folded, b'z' + 1) & !w & HIGH
}

const SPACE: u8 = 0;
const ALNUM: u8 = 1;
const UNDERSCORE: u8 = 2;
const OTHER_ASCII: u8 = 3;
const NON_ASCII: u8 = 4;

/// The class of every byte. SPACE is Unicode's White_Space in ASCII (with
/// U+000B, which `u8::is_ascii_whitespace` leaves out).
static BYTE_CLASS: [u8; 256] = {
    let mut table = [NON_ASCII; 256];
    let mut b = 0;
    while b < 128 {
        table[b] = match b as u8 {
            b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r' => SPACE,
            b'_' => UNDERSCORE,
            c if c.is_ascii_alphanumeric() => ALNUM,
            _ => OTHER_ASCII,
        };
        b += 1;
    }
    table
};

/// Tokens of a whitespace-free chunk of ASCII other than `_` whose letters
/// and digits are `first..=last` of `text`, with something else between
/// them: a URL or e-mail address whole, otherwise UAX #29's words without
/// running the segmenter. For such a chunk the rules come down to: runs of
/// letters and digits join across one `.` or `'` between two letters or two
/// digits (WB6/7, WB11/12), one `:` between two letters (WB6/7), one `,` or
/// `;` between two digits (WB11/12); everything else breaks. A property test
/// checks this against the segmenter.
fn segment_ascii_chunk(text: &str, first: usize, last: usize, emit: &mut impl FnMut(usize, usize)) {
    let Some(trimmed) = text.get(first..=last) else {
        return;
    };
    if is_url(trimmed) || is_email(trimmed) {
        emit(first, last + 1);
        return;
    }
    // Every index below is inside `first..=last`, or just past a run that
    // starts there.
    let bytes = text.as_bytes();
    let mut word_start = first;
    let mut i = first;
    loop {
        i = alnum_run_end(bytes, i);
        // `i` ends a run of letters and digits; does the word go on?
        let joins = i < last
            && bytes[i + 1].is_ascii_alphanumeric()
            && matches!(
                (
                    bytes[i - 1].is_ascii_digit(),
                    bytes[i + 1].is_ascii_digit(),
                    bytes[i]
                ),
                (false, false, b'.' | b'\'' | b':') | (true, true, b'.' | b'\'' | b',' | b';')
            );
        if joins {
            i += 1;
            continue;
        }
        emit(word_start, i);
        // The next run of letters and digits, if any.
        while i <= last && !bytes[i].is_ascii_alphanumeric() {
            i += 1;
        }
        if i > last {
            return;
        }
        word_start = i;
    }
}

/// Tokens of one whitespace-free chunk: a URL or e-mail address whole,
/// otherwise its UAX #29 words.
fn segment_chunk(text: &str, chunk: &str, emit: &mut impl FnMut(usize, usize)) {
    // Every word below is a subslice of `chunk`, itself one of `text`.
    let mut emit_word = |word: &str| {
        let start = word.as_ptr() as usize - text.as_ptr() as usize;
        emit(start, start + word.len());
    };
    let trimmed = chunk.trim_matches(|c: char| !c.is_alphanumeric());
    if let Some(word) = plain_word(chunk, trimmed) {
        emit_word(word);
        return;
    }
    if is_url(trimmed) || is_email(trimmed) {
        emit_word(trimmed);
        return;
    }
    for word in chunk.unicode_words() {
        emit_word(word);
    }
}

/// The one word of `chunk` when UAX #29 would give exactly `trimmed` (the
/// chunk without its leading and trailing non-alphanumerics), decided without
/// running the segmenter: most chunks of news text are a plain word with at
/// most some ASCII punctuation around it.
///
/// That holds when `trimmed` is only ASCII letters and digits and Latin-1 or
/// Latin Extended-A letters (all of Word_Break ALetter or Numeric, so they
/// never break apart), and the punctuation around it is ASCII other than `_`
/// (the only ASCII ExtendNumLet, which would join the word). Every other
/// chunk goes through the full segmenter; a property test checks the two
/// agree.
fn plain_word<'a>(chunk: &str, trimmed: &'a str) -> Option<&'a str> {
    if trimmed.is_empty() {
        return None;
    }
    let start = trimmed.as_ptr() as usize - chunk.as_ptr() as usize;
    let around = chunk.as_bytes()[..start]
        .iter()
        .chain(&chunk.as_bytes()[start + trimmed.len()..]);
    if !around.into_iter().all(|&b| b.is_ascii() && b != b'_') {
        return None;
    }
    let is_plain = |c: char| {
        c.is_ascii_alphanumeric() || (('\u{C0}'..='\u{17F}').contains(&c) && c != '×' && c != '÷')
    };
    trimmed.chars().all(is_plain).then_some(trimmed)
}

fn is_url(s: &str) -> bool {
    let lower_prefix =
        |p: &str| s.len() > p.len() && s.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p));
    lower_prefix("http://") || lower_prefix("https://") || lower_prefix("www.")
}

fn is_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((user, domain)) => {
            !user.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.contains('@')
                && user
                    .chars()
                    .chain(domain.chars())
                    .all(|c| c.is_alphanumeric() || "._%+-".contains(c))
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(s: &str) -> Vec<String> {
        let mut out = Vec::new();
        tokenize(s, |t| out.push(t.to_string()));
        out
    }

    #[test]
    fn keeps_urls_and_emails_whole() {
        assert_eq!(
            tokens("Voir https://example.org/a?b=1, ou écrire à presse@defense.gouv.fr."),
            [
                "Voir",
                "https://example.org/a?b=1",
                "ou",
                "écrire",
                "à",
                "presse@defense.gouv.fr"
            ]
        );
    }

    /// The tokenizer without its plain-word shortcut.
    fn reference_tokens(s: &str) -> Vec<String> {
        let mut out = Vec::new();
        for chunk in s.split_whitespace() {
            let trimmed = chunk.trim_matches(|c: char| !c.is_alphanumeric());
            if is_url(trimmed) || is_email(trimmed) {
                if trimmed.len() <= MAX_TOKEN_BYTES {
                    out.push(trimmed.to_string());
                }
                continue;
            }
            out.extend(
                chunk
                    .unicode_words()
                    .filter(|w| w.len() <= MAX_TOKEN_BYTES)
                    .map(str::to_string),
            );
        }
        out
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        #[test]
        fn plain_word_shortcut_agrees_with_the_segmenter(
            s in "[a-zA-Z0-9 _.,;:'\"()!?@/&%\t\n\u{B}\u{C}\u{1C}\u{A0}\u{2009}-]{0,24}|(https://x.y/z|www.a.b|a@b.cd|_|é| |, |\n)*|[a-zé' .,_\u{C0}-\u{17F}\u{180}-\u{24F}\u{300}\u{2019}\u{AB}\u{BB}\u{D7}\u{200D}\u{5D0}\u{627}\u{660}\u{3042}\u{1F600}]{0,16}"
        ) {
            proptest::prop_assert_eq!(tokens(&s), reference_tokens(&s));
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(5000))]
        #[test]
        fn ascii_chunk_rules_agree_with_the_segmenter(
            s in "[ab19.,;:'\"/&@()!-]{0,20}|([a-z]{1,3}|[0-9]{1,3}|[.,;:'-]|www.|http://|a@b.c| )*"
        ) {
            proptest::prop_assert_eq!(tokens(&s), reference_tokens(&s));
        }
    }

    #[test]
    fn plain_words_keep_their_punctuation_rules() {
        for s in [
            "U.S. forces",
            "3.5 km",
            "l'armée",
            "aujourd’hui",
            "peut-être",
            "_x y_",
            "«guerre»",
            "(Reuters) -",
            "élysée, ŒUVRE.",
            "1,000.5 a.b.c. don't 3:30 a:b 1;2 a;b 2.x x.2 well-known 1'0 a1.2b 4-3 'quoted' U.S.-led",
        ] {
            assert_eq!(tokens(s), reference_tokens(s), "{s}");
        }
    }

    #[test]
    fn alnum_runs_end_where_the_byte_loop_ends_them() {
        let bytes: Vec<u8> = (0..=255u8).collect();
        for b in 0..=255u8 {
            // The byte after a run of seven alphanumerics, in each lane.
            for lane in 0..8 {
                let mut text = vec![b'a'; 20];
                text[lane] = b;
                let by_loop = (0..text.len())
                    .find(|&i| !text[i].is_ascii_alphanumeric())
                    .unwrap_or(text.len());
                assert_eq!(alnum_run_end(&text, 0), by_loop, "byte {b:#x} at {lane}");
            }
        }
        assert_eq!(alnum_run_end(&bytes[b'0' as usize..], 0), 10);
        assert_eq!(alnum_run_end(b"abc", 0), 3);
        assert_eq!(alnum_run_end(b"", 0), 0);
    }

    #[test]
    fn drops_oversized_tokens() {
        let long = "a".repeat(MAX_TOKEN_BYTES + 1);
        assert_eq!(tokens(&format!("x {long} y")), ["x", "y"]);
        // Through each other path: ASCII with punctuation inside, a URL,
        // non-ASCII (the plain-word check) and the full segmenter.
        let mixed = format!("x {long}-b https://{long} é{long} «{long}» y");
        assert_eq!(tokens(&mixed), ["x", "b", "y"]);
        assert_eq!(tokens(&mixed), reference_tokens(&mixed));
    }
}
