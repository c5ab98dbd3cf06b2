//! Document languages and per-document language detection (whatlang).
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A language the analyzer knows. `Unknown` is used when detection has too
/// little text to go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub enum Lang {
    #[serde(rename = "en")]
    En,
    #[serde(rename = "fr")]
    Fr,
    #[serde(rename = "ar")]
    Ar,
    #[serde(rename = "und")]
    Unknown,
}

impl Lang {
    /// ISO 639-1 code, or `und` (undetermined).
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
            Lang::Ar => "ar",
            Lang::Unknown => "und",
        }
    }

    fn to_whatlang(self) -> Option<whatlang::Lang> {
        match self {
            Lang::En => Some(whatlang::Lang::Eng),
            Lang::Fr => Some(whatlang::Lang::Fra),
            Lang::Ar => Some(whatlang::Lang::Ara),
            Lang::Unknown => None,
        }
    }

    fn from_whatlang(lang: whatlang::Lang) -> Lang {
        match lang {
            whatlang::Lang::Eng => Lang::En,
            whatlang::Lang::Fra => Lang::Fr,
            whatlang::Lang::Ara => Lang::Ar,
            _ => Lang::Unknown,
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Lang {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "en" | "eng" | "english" => Ok(Lang::En),
            "fr" | "fra" | "fre" | "french" | "français" => Ok(Lang::Fr),
            "ar" | "ara" | "arabic" => Ok(Lang::Ar),
            "und" | "" | "unknown" => Ok(Lang::Unknown),
            other => Err(format!(
                "unknown language {other:?} (expected en, fr, ar or und)"
            )),
        }
    }
}

/// Detects the language of a text among an allow-list.
///
/// A fast path decides most news text: Arabic script by its letters, English
/// against French by counting a few dozen function words that are frequent
/// in one language and rare in the other. Only when that evidence is weak
/// (short or mixed text) does whatlang's trigram model decide. whatlang alone
/// cost a fifth of all training time.
pub struct LanguageDetector {
    detector: whatlang::Detector,
    allowed: Vec<Lang>,
    default: Lang,
}

/// The language `word` (any case) is a marker of, if any. Markers are
/// function words frequent in English news and rare in French, or the other
/// way round. A `match` compiles to a switch on length and bytes: no
/// allocation and no scan of word lists.
fn marker(word: &str) -> Option<Lang> {
    // Markers are at most 5 bytes, of a-z and é. Only A-Z and É lowercase to
    // those (the Kelvin sign lowercases to k, which no marker has), and
    // neither changes byte length, so a longer word cannot be a marker.
    const MAX_MARKER_BYTES: usize = 5;
    let bytes = word.as_bytes();
    if bytes.len() > MAX_MARKER_BYTES {
        return None;
    }
    let mut buf = [0u8; MAX_MARKER_BYTES];
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b if b.is_ascii() => buf[i] = b.to_ascii_lowercase(),
            // É (C3 89) and é (C3 A9) both become é.
            0xC3 if matches!(bytes.get(i + 1), Some(0x89 | 0xA9)) => {
                buf[i] = 0xC3;
                buf[i + 1] = 0xA9;
                i += 1;
            }
            _ => return None,
        }
        i += 1;
    }
    match &buf[..bytes.len()] {
        b"the" | b"and" | b"of" | b"to" | b"is" | b"was" | b"for" | b"that" | b"with" | b"on"
        | b"said" | b"by" | b"from" | b"at" | b"as" | b"has" | b"have" | b"were" | b"are"
        | b"it" | b"its" | b"this" | b"after" | b"they" | b"which" | b"been" | b"their"
        | b"who" | b"will" | b"would" => Some(Lang::En),
        b"le" | b"la" | b"les" | b"de" | b"des" | b"du" | b"et" | b"en" | b"un" | b"une"
        | b"est" | b"dans" | b"pour" | b"que" | b"qui" | b"sur" | b"au" | b"aux" | b"par"
        | b"ont" | b"avec" | b"ce" | b"cette" | b"selon" | b"il" | b"elle" | b"sont" | b"ils"
        | b"mais" => Some(Lang::Fr),
        // "été"
        [0xC3, 0xA9, b't', 0xC3, 0xA9] => Some(Lang::Fr),
        _ => None,
    }
}

/// The ASCII markers (every marker but "été"), as [`ascii_marker`] packs
/// them, in an open-addressing table built at compile time.
const ASCII_MARKERS: [(&[u8], Lang); 59] = [
    (b"the", Lang::En),
    (b"and", Lang::En),
    (b"of", Lang::En),
    (b"to", Lang::En),
    (b"is", Lang::En),
    (b"was", Lang::En),
    (b"for", Lang::En),
    (b"that", Lang::En),
    (b"with", Lang::En),
    (b"on", Lang::En),
    (b"said", Lang::En),
    (b"by", Lang::En),
    (b"from", Lang::En),
    (b"at", Lang::En),
    (b"as", Lang::En),
    (b"has", Lang::En),
    (b"have", Lang::En),
    (b"were", Lang::En),
    (b"are", Lang::En),
    (b"it", Lang::En),
    (b"its", Lang::En),
    (b"this", Lang::En),
    (b"after", Lang::En),
    (b"they", Lang::En),
    (b"which", Lang::En),
    (b"been", Lang::En),
    (b"their", Lang::En),
    (b"who", Lang::En),
    (b"will", Lang::En),
    (b"would", Lang::En),
    (b"le", Lang::Fr),
    (b"la", Lang::Fr),
    (b"les", Lang::Fr),
    (b"de", Lang::Fr),
    (b"des", Lang::Fr),
    (b"du", Lang::Fr),
    (b"et", Lang::Fr),
    (b"en", Lang::Fr),
    (b"un", Lang::Fr),
    (b"une", Lang::Fr),
    (b"est", Lang::Fr),
    (b"dans", Lang::Fr),
    (b"pour", Lang::Fr),
    (b"que", Lang::Fr),
    (b"qui", Lang::Fr),
    (b"sur", Lang::Fr),
    (b"au", Lang::Fr),
    (b"aux", Lang::Fr),
    (b"par", Lang::Fr),
    (b"ont", Lang::Fr),
    (b"avec", Lang::Fr),
    (b"ce", Lang::Fr),
    (b"cette", Lang::Fr),
    (b"selon", Lang::Fr),
    (b"il", Lang::Fr),
    (b"elle", Lang::Fr),
    (b"sont", Lang::Fr),
    (b"ils", Lang::Fr),
    (b"mais", Lang::Fr),
];

const MARKER_SLOTS: usize = 256;

/// Lowercase ASCII letters of a word of at most 8 bytes, zero-padded, as
/// one number (letters are never zero, so no two words share one; a word of
/// six letters or more never equals a marker, whose sixth byte is zero).
const fn pack_marker(word: &[u8]) -> u64 {
    let mut packed = 0u64;
    let mut i = 0;
    while i < word.len() && i < 8 {
        packed |= ((word[i] | 0x20) as u64) << (8 * i);
        i += 1;
    }
    packed
}

/// A multiplier that gives every ASCII marker its own slot (found by a
/// search; the table below fails to compile if two markers ever share one).
const MARKER_HASH: u64 = 0x594a_fa3a_e9a3_3aef;

const fn marker_slot(packed: u64) -> usize {
    (packed.wrapping_mul(MARKER_HASH) >> 56) as usize
}

/// Packed marker (0 for an empty slot) and its language, by slot: one
/// probe, no chain, so a lookup needs no branch.
static MARKER_TABLE: [(u64, Lang); MARKER_SLOTS] = {
    let mut table = [(0u64, Lang::Unknown); MARKER_SLOTS];
    let mut m = 0;
    while m < ASCII_MARKERS.len() {
        let packed = pack_marker(ASCII_MARKERS[m].0);
        let slot = marker_slot(packed);
        assert!(table[slot].0 == 0, "two markers share a slot");
        table[slot] = (packed, ASCII_MARKERS[m].1);
        m += 1;
    }
    table
};

/// The marker language of the ASCII word packed by [`pack_marker`], as
/// (is English, is French).
#[inline(always)]
fn ascii_marker_flags(packed: u64) -> (bool, bool) {
    let (key, lang) = MARKER_TABLE
        .get(marker_slot(packed))
        .copied()
        .unwrap_or((0, Lang::Unknown));
    let hit = key == packed;
    (hit & (lang == Lang::En), hit & (lang == Lang::Fr))
}

/// [`marker`] for a run of ASCII letters.
#[cfg(test)]
fn ascii_marker(word: &[u8]) -> Option<Lang> {
    match ascii_marker_flags(pack_marker(word)) {
        (true, _) => Some(Lang::En),
        (_, true) => Some(Lang::Fr),
        _ => None,
    }
}

/// What the fast path reads off a text, in one pass: alphabetic characters
/// in Arabic script and in others, and marker words of each language (words
/// being the runs of alphabetic characters).
#[derive(Debug, Default, PartialEq)]
struct ScriptCounts {
    arabic: usize,
    latin: usize,
    en_markers: usize,
    fr_markers: usize,
}

/// [`pack_marker`] of the letters `text[start..end]`, from one word load
/// where eight bytes are there to read.
#[inline(always)]
fn pack_run(text: &[u8], start: usize, end: usize) -> u64 {
    let len = end.saturating_sub(start);
    match text.get(start..start + 8) {
        Some(bytes) => {
            let mut w = [0u8; 8];
            w.copy_from_slice(bytes);
            let keep = if len >= 8 {
                u64::MAX
            } else {
                (1u64 << (8 * len)) - 1
            };
            (u64::from_le_bytes(w) | 0x2020_2020_2020_2020) & keep
        }
        None => pack_marker(text.get(start..end).unwrap_or_default()),
    }
}

/// Whether the letter `c` counts as Arabic script: the Arabic and Arabic
/// Supplement blocks.
#[inline]
fn is_arabic_letter(c: char) -> bool {
    ('\u{0600}'..='\u{06FF}').contains(&c) || ('\u{0750}'..='\u{077F}').contains(&c)
}

impl ScriptCounts {
    /// The counts with a branch per byte: the reference [`ScriptCounts::of_prefix`]
    /// is tested against.
    #[cfg(test)]
    fn of(text: &str) -> ScriptCounts {
        let mut counts = ScriptCounts::default();
        let mut count_marker = |start: usize, end: usize| {
            // No marker is longer than 5 bytes: skip the lookup for the rest.
            if end - start <= 5 {
                match marker(&text[start..end]) {
                    Some(Lang::En) => counts.en_markers += 1,
                    Some(Lang::Fr) => counts.fr_markers += 1,
                    _ => {}
                }
            }
        };
        let (mut arabic, mut latin) = (0usize, 0usize);
        let mut word_start: Option<usize> = None;
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            // A run of ASCII letters in a tight loop: most of Latin-script text.
            let run = i;
            while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
                i += 1;
            }
            if i > run {
                latin += i - run;
                word_start.get_or_insert(run);
            }
            let Some(&b) = bytes.get(i) else {
                break;
            };
            // Other ASCII without decoding; other characters one at a time.
            let (alphabetic, is_arabic, len) = if b.is_ascii() {
                (false, false, 1)
            } else {
                match text[i..].chars().next() {
                    Some(c) => (
                        super::chars::is_alphabetic(c),
                        is_arabic_letter(c),
                        c.len_utf8(),
                    ),
                    None => break,
                }
            };
            if alphabetic {
                if is_arabic {
                    arabic += 1;
                } else {
                    latin += 1;
                }
                word_start.get_or_insert(i);
            } else if let Some(start) = word_start.take() {
                count_marker(start, i);
            }
            i += len;
        }
        if let Some(start) = word_start {
            count_marker(start, bytes.len());
        }
        counts.arabic = arabic;
        counts.latin = latin;
        counts
    }

    /// [`ScriptCounts::of`] for a detection prefix (at most
    /// [`DETECTION_PREFIX_BYTES`]), with a branch per word and per non-ASCII
    /// character rather than per byte. The letters are a bit mask, one bit
    /// per byte: ASCII letters are found eight bytes at a time, and each
    /// non-ASCII character is decoded and, when it is a letter, sets the
    /// bits of all its bytes. Words are the runs of set bits. A run is
    /// looked up packed (see [`pack_run`]), which finds every ASCII marker
    /// and never mistakes bytes of other letters for one; a run of at most
    /// 5 bytes with such bytes in it (it may be "été") asks [`marker`].
    fn of_prefix(text: &str) -> ScriptCounts {
        let bytes = text.as_bytes();
        debug_assert!(bytes.len() <= DETECTION_PREFIX_BYTES);
        const WORDS: usize = DETECTION_PREFIX_BYTES / 64 + 1;
        let mut letters = [0u64; WORDS];
        let mut non_ascii = false;
        for (i, chunk) in bytes.chunks(8).take(WORDS * 8).enumerate() {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            let w = u64::from_le_bytes(w);
            non_ascii |= w & super::tokenizer::HIGH != 0;
            let lanes = super::tokenizer::ascii_letter_lanes(w) >> 7;
            // One bit per byte: gather the lanes' low bits into 8 bits.
            let bits = lanes.wrapping_mul(0x0102_0408_1020_4080) >> 56;
            if let Some(word) = letters.get_mut(i / 8) {
                *word |= bits << (8 * (i % 8));
            }
        }
        let mut counts = ScriptCounts {
            latin: letters.iter().map(|w| w.count_ones() as usize).sum(),
            ..ScriptCounts::default()
        };
        // The bytes of non-ASCII letters, which only runs of text that is
        // not ASCII have.
        let mut wide = [0u64; WORDS];
        if non_ascii {
            let mut i = 0;
            while i < bytes.len() {
                let at = super::chars::next_non_ascii(bytes, i);
                let Some(c) = text.get(at..).and_then(|rest| rest.chars().next()) else {
                    break;
                };
                i = at + c.len_utf8();
                if !super::chars::is_alphabetic(c) {
                    continue;
                }
                if is_arabic_letter(c) {
                    counts.arabic += 1;
                } else {
                    counts.latin += 1;
                }
                for byte in at..i {
                    if let (Some(l), Some(n)) =
                        (letters.get_mut(byte / 64), wide.get_mut(byte / 64))
                    {
                        *l |= 1 << (byte % 64);
                        *n |= 1 << (byte % 64);
                    }
                }
            }
        }
        let has_wide = |start: usize, end: usize| {
            (start..end).any(|b| wide.get(b / 64).is_some_and(|w| w >> (b % 64) & 1 == 1))
        };
        // Runs of set bits: a start is a set bit after a clear one, an end a
        // set bit before a clear one (across word edges too). The k-th end
        // of a word closes its k-th start, or the run still open from the
        // words before. Branches are per word and per run, none per byte.
        let mut open: Option<usize> = None;
        for (w, &cur) in letters.iter().enumerate() {
            let base = w * 64;
            let carry_in = if w == 0 { 0 } else { letters[w - 1] >> 63 };
            let next_low = letters.get(w + 1).map_or(0, |n| n & 1);
            let mut starts = cur & !((cur << 1) | carry_in);
            let mut ends = cur & !((cur >> 1) | (next_low << 63));
            while ends != 0 {
                let end = base + ends.trailing_zeros() as usize + 1;
                ends &= ends - 1;
                let start = match open.take() {
                    Some(start) => start,
                    None => {
                        let start = base + starts.trailing_zeros() as usize;
                        starts &= starts.wrapping_sub(1);
                        start
                    }
                };
                let (en, fr) = if non_ascii && end - start <= 5 && has_wide(start, end) {
                    let lang = text.get(start..end).and_then(marker);
                    (lang == Some(Lang::En), lang == Some(Lang::Fr))
                } else {
                    ascii_marker_flags(pack_run(bytes, start, end))
                };
                counts.en_markers += usize::from(en);
                counts.fr_markers += usize::from(fr);
            }
            if starts != 0 {
                open = Some(base + starts.trailing_zeros() as usize);
            }
        }
        counts
    }
}

/// Marker hits needed, and the margin over the other language.
const MIN_MARKER_HITS: usize = 4;

/// Detection reads at most this many bytes: enough for a reliable guess on
/// news prose, and it keeps detection cost flat on long documents.
const DETECTION_PREFIX_BYTES: usize = 512;

impl LanguageDetector {
    pub fn new(languages: &[Lang], default: Lang) -> Self {
        let allow: Vec<whatlang::Lang> = languages.iter().filter_map(|l| l.to_whatlang()).collect();
        let detector = if allow.is_empty() {
            whatlang::Detector::new()
        } else {
            whatlang::Detector::with_allowlist(allow)
        };
        Self {
            detector,
            allowed: languages.to_vec(),
            default,
        }
    }

    /// The fast path; `None` when the evidence is too weak to decide.
    fn detect_by_markers(&self, counts: &ScriptCounts) -> Option<Lang> {
        if counts.arabic > counts.latin {
            return self.allowed.contains(&Lang::Ar).then_some(Lang::Ar);
        }
        let (en, fr) = (counts.en_markers, counts.fr_markers);
        let pick = |lang: Lang| self.allowed.contains(&lang).then_some(lang);
        if en >= MIN_MARKER_HITS && en >= 2 * fr {
            pick(Lang::En)
        } else if fr >= MIN_MARKER_HITS && fr >= 2 * en {
            pick(Lang::Fr)
        } else {
            None
        }
    }

    pub fn detect(&self, text: &str) -> Lang {
        let mut end = text.len().min(DETECTION_PREFIX_BYTES);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let prefix = &text[..end];
        let counts = ScriptCounts::of_prefix(prefix);
        if counts.arabic + counts.latin == 0 {
            return Lang::Unknown;
        }
        if let Some(lang) = self.detect_by_markers(&counts) {
            return lang;
        }
        // An unreliable guess (tables of figures, all-caps headlines, a few
        // words) falls back to the configured default rather than a coin toss.
        match self.detector.detect(prefix) {
            Some(info) if info.is_reliable() => Lang::from_whatlang(info.lang()),
            _ => self.default,
        }
    }
}

impl fmt::Debug for LanguageDetector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LanguageDetector")
            .field("default", &self.default)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The counts as two separate passes over characters would give them.
    fn reference_counts(text: &str) -> ScriptCounts {
        let mut counts = ScriptCounts::default();
        for c in text.chars().filter(|c| c.is_alphabetic()) {
            if ('\u{0600}'..='\u{06FF}').contains(&c) || ('\u{0750}'..='\u{077F}').contains(&c) {
                counts.arabic += 1;
            } else {
                counts.latin += 1;
            }
        }
        for w in text
            .split(|c: char| !c.is_alphabetic())
            .filter(|w| !w.is_empty())
        {
            match marker(w) {
                Some(Lang::En) => counts.en_markers += 1,
                Some(Lang::Fr) => counts.fr_markers += 1,
                _ => {}
            }
        }
        counts
    }

    proptest::proptest! {
        #[test]
        fn one_pass_counts_agree_with_two_passes(
            s in "[a-zA-Z0-9 ,.'éÉ\u{627}-\u{64A}\u{750}\u{300}\u{1F600}]{0,40}|(the|of|les|été|ÉTÉ|de|x| |, |\u{645})*"
        ) {
            proptest::prop_assert_eq!(ScriptCounts::of(&s), reference_counts(&s));
        }

        #[test]
        fn prefix_counts_agree_with_two_passes(
            s in "[a-zA-Z ,.'\u{e9}\u{c9}\u{e0}\u{d7}\u{f7}\u{ff}\u{153}\u{2019}\u{a0}\u{212a}\u{301}\u{627}-\u{64A}\u{1F600}]{0,200}|(the|of|les|été|ÉTÉ|de|à|x| |, |’|\u{645}|\u{e9}t)*"
        ) {
            let mut end = s.len().min(DETECTION_PREFIX_BYTES);
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            let s = &s[..end];
            proptest::prop_assert_eq!(ScriptCounts::of_prefix(s), reference_counts(s));
        }

        #[test]
        fn ascii_counts_agree_with_the_byte_loop(
            s in "[a-zA-Z0-9 ,.'@\\[`{_-]{0,600}|(the|of|les|de|THE|x|aux|selon|Would|cette| |, |9|-)*"
        ) {
            let s = &s[..s.len().min(DETECTION_PREFIX_BYTES)];
            proptest::prop_assert_eq!(ScriptCounts::of_prefix(s), ScriptCounts::of(s));
        }
    }

    #[test]
    fn ascii_counts_agree_at_word_edges_and_the_prefix_end() {
        let mut cases = vec![
            "a".repeat(512),
            format!("{} the", "b".repeat(508)),
            format!("{} and", "x ".repeat(254)),
            format!("{}the", "a".repeat(63)),
            format!("{}the", " ".repeat(63)),
            format!("{} {}", "q".repeat(64), "q".repeat(64)),
        ];
        // "été" and accented words across the first two words' edge.
        for offset in 55..70 {
            cases.push(format!("{}été z", " ".repeat(offset)));
            cases.push(format!("{}.ÉTÉ", "y".repeat(offset)));
            cases.push(format!("{}l’été à Genève", "x".repeat(offset)));
        }
        // Every ASCII marker at every offset across the first two words.
        for (marker, _) in ASCII_MARKERS {
            let marker = std::str::from_utf8(marker).unwrap_or_default();
            for offset in 0..130 {
                cases.push(format!("{}{marker} z", " ".repeat(offset)));
                cases.push(format!("{}.{marker}", "y".repeat(offset)));
            }
        }
        for s in &cases {
            let s = &s[..s.len().min(DETECTION_PREFIX_BYTES)];
            assert_eq!(ScriptCounts::of_prefix(s), ScriptCounts::of(s), "{s:?}");
        }
    }

    #[test]
    fn detection_reads_an_ascii_prefix_the_same_way_with_other_text_after_it() {
        let detector = LanguageDetector::new(&[Lang::En, Lang::Fr, Lang::Ar], Lang::En);
        let english = "the army said that the troops were on the road and the town was taken ";
        let text = format!("{}{}", english.repeat(8), "l'été à Genève ".repeat(40));
        assert!(text[..DETECTION_PREFIX_BYTES].is_ascii());
        assert!(!text.is_ascii());
        assert_eq!(detector.detect(&text), Lang::En);
        let prefix = &text[..DETECTION_PREFIX_BYTES];
        assert_eq!(ScriptCounts::of_prefix(prefix), ScriptCounts::of(prefix));
    }

    #[test]
    fn the_ascii_marker_table_agrees_with_the_match() {
        for (word, lang) in ASCII_MARKERS {
            let word = std::str::from_utf8(word).unwrap_or_default();
            assert_eq!(marker(word), Some(lang), "{word}");
            assert_eq!(ascii_marker(word.as_bytes()), Some(lang), "{word}");
            let upper = word.to_ascii_uppercase();
            assert_eq!(ascii_marker(upper.as_bytes()), Some(lang), "{upper}");
        }
        for word in ["a", "th", "thee", "xyz", "would", "lesx", "ete", "zzzzz"] {
            assert_eq!(ascii_marker(word.as_bytes()), marker(word), "{word}");
        }
    }

    #[test]
    fn markers_match_in_any_case() {
        assert_eq!(marker("The"), Some(Lang::En));
        assert_eq!(marker("WOULD"), Some(Lang::En));
        assert_eq!(marker("Été"), Some(Lang::Fr));
        assert_eq!(marker("ÉTÉ"), Some(Lang::Fr));
        assert_eq!(marker("selon"), Some(Lang::Fr));
        assert_eq!(marker("theme"), None);
        assert_eq!(marker("ét"), None);
        assert_eq!(marker("événement"), None);
        assert_eq!(marker("ﬁ"), None);
    }

    #[test]
    fn markers_agree_with_full_unicode_lowercasing() {
        // Every case variant of every marker is recognised, and lowercasing
        // a non-marker never turns it into one.
        for word in [
            "the", "of", "which", "les", "été", "cette", "aux", "Kelvin", "İt",
        ] {
            let lower: String = word.chars().flat_map(char::to_lowercase).collect();
            let upper: String = word.chars().flat_map(char::to_uppercase).collect();
            assert_eq!(marker(word), marker(&lower), "{word}");
            assert_eq!(marker(&upper), marker(&lower), "{upper}");
        }
    }
}
