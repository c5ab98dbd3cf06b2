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

impl ScriptCounts {
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
                        c.is_alphabetic(),
                        ('\u{0600}'..='\u{06FF}').contains(&c)
                            || ('\u{0750}'..='\u{077F}').contains(&c),
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
        let counts = ScriptCounts::of(prefix);
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
