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
pub struct LanguageDetector {
    detector: whatlang::Detector,
    default: Lang,
}

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
        Self { detector, default }
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
        match self.detector.detect(prefix) {
            Some(info) => Lang::from_whatlang(info.lang()),
            None => self.default,
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
