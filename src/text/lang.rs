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

/// Function words frequent in English news and rare in French.
const EN_MARKERS: &[&str] = &[
    "the", "and", "of", "to", "is", "was", "for", "that", "with", "on", "said", "by", "from", "at",
    "as", "has", "have", "were", "are", "it", "its", "this", "after", "they", "which", "been",
    "their", "who", "will", "would",
];

/// Function words frequent in French news and rare in English.
const FR_MARKERS: &[&str] = &[
    "le", "la", "les", "de", "des", "du", "et", "en", "un", "une", "est", "dans", "pour", "que",
    "qui", "sur", "au", "aux", "par", "ont", "avec", "ce", "cette", "selon", "il", "elle", "été",
    "sont", "ils", "mais",
];

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
    fn detect_by_markers(&self, prefix: &str) -> Option<Lang> {
        let (mut arabic, mut latin) = (0usize, 0usize);
        for c in prefix.chars().filter(|c| c.is_alphabetic()) {
            if ('\u{0600}'..='\u{06FF}').contains(&c) || ('\u{0750}'..='\u{077F}').contains(&c) {
                arabic += 1;
            } else {
                latin += 1;
            }
        }
        if arabic > latin {
            return self.allowed.contains(&Lang::Ar).then_some(Lang::Ar);
        }
        let (mut en, mut fr) = (0usize, 0usize);
        let mut word = String::new();
        for w in prefix
            .split(|c: char| !c.is_alphabetic())
            .filter(|w| !w.is_empty())
        {
            word.clear();
            word.extend(w.chars().flat_map(char::to_lowercase));
            en += usize::from(EN_MARKERS.contains(&word.as_str()));
            fr += usize::from(FR_MARKERS.contains(&word.as_str()));
        }
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
        if !prefix.chars().any(char::is_alphabetic) {
            return Lang::Unknown;
        }
        if let Some(lang) = self.detect_by_markers(prefix) {
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
