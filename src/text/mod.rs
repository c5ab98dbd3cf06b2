//! Text analysis: turns raw text into a stream of hashed terms.
//!
//! The chain is NFKC normalization → [`tokenizer`] → the configured
//! [`filter`]s in order → word n-grams (and optional character n-grams). It is
//! built by name from an [`AnalyzerConfig`], which is saved inside every model,
//! so serving analyses text exactly as training did.

mod chars;
pub mod filter;
mod lang;
mod memo;
pub mod tokenizer;

pub use lang::{Lang, LanguageDetector};

use crate::hash;
use filter::TokenFilter;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use unicode_normalization::{is_nfkc_quick, IsNormalized, UnicodeNormalization};

/// Errors in an analyzer configuration.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TextError {
    #[error("word_ngrams must be between 1 and {max}, got {got}")]
    WordNgrams { got: u8, max: u8 },
    #[error("char n-gram range {min}..={max} is invalid: need 1 <= min <= max <= 8")]
    CharNgrams { min: u8, max: u8 },
    #[error("length filter bounds are invalid: min_chars {min} > max_chars {max}")]
    LengthBounds { min: usize, max: usize },
    #[error("filter {0:?} appears twice in the chain")]
    DuplicateFilter(String),
}

pub type Result<T> = std::result::Result<T, TextError>;

/// One filter of the chain, by name. Order in [`AnalyzerConfig::filters`] is
/// the order of application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FilterConfig {
    Lowercase,
    Elision,
    StopWords,
    Stem,
    AccentFold,
    Length {
        min_chars: usize,
        max_chars: usize,
    },
    /// Removes invisible format characters (soft hyphen, ZWJ, ZWNJ,
    /// direction marks, word joiner, BOM) from words. New in model format
    /// 5, first in the default chain; older models' chains lack it and
    /// analyse as they always did. Last here because the file stores a
    /// filter by its place in this list.
    StripInvisible,
}

impl FilterConfig {
    fn name(&self) -> &'static str {
        match self {
            FilterConfig::StripInvisible => "strip_invisible",
            FilterConfig::Lowercase => "lowercase",
            FilterConfig::Elision => "elision",
            FilterConfig::StopWords => "stop_words",
            FilterConfig::Stem => "stem",
            FilterConfig::AccentFold => "accent_fold",
            FilterConfig::Length { .. } => "length",
        }
    }
}

/// Character n-grams taken inside each token, with `<` and `>` marking its edges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CharNgrams {
    pub min: u8,
    pub max: u8,
}

/// The analyzer's full configuration; saved in the model.
///
/// | field | default | purpose |
/// |---|---|---|
/// | `nfkc` | `true` | Unicode NFKC normalization before segmentation |
/// | `filters` | strip invisible, lowercase, elision, stop words, stem, accent fold, length 2..=40 | the filter chain, in order |
/// | `word_ngrams` | `2` | word n-grams 1..=n over the filtered tokens (1..=4) |
/// | `char_ngrams` | none | optional character n-grams inside tokens |
/// | `languages` | en, fr, ar | languages language detection may choose from |
/// | `default_language` | en | used when detection gives no answer |
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalyzerConfig {
    pub nfkc: bool,
    pub filters: Vec<FilterConfig>,
    pub word_ngrams: u8,
    pub char_ngrams: Option<CharNgrams>,
    pub languages: Vec<Lang>,
    pub default_language: Lang,
}

pub const MAX_WORD_NGRAMS: u8 = 4;

/// The default filter chain, in its order, keeping tokens of `min_chars`
/// to `max_chars` characters. Invisible characters go first, so that every
/// later filter (elision, stop words, the stemmer) sees the word as it reads.
pub fn default_filters(min_chars: usize, max_chars: usize) -> Vec<FilterConfig> {
    vec![
        FilterConfig::StripInvisible,
        FilterConfig::Lowercase,
        FilterConfig::Elision,
        FilterConfig::StopWords,
        FilterConfig::Stem,
        FilterConfig::AccentFold,
        FilterConfig::Length {
            min_chars,
            max_chars,
        },
    ]
}

impl Default for AnalyzerConfig {
    fn default() -> Self {
        Self {
            nfkc: true,
            filters: default_filters(2, 40),
            word_ngrams: 2,
            char_ngrams: None,
            languages: vec![Lang::En, Lang::Fr, Lang::Ar],
            default_language: Lang::En,
        }
    }
}

impl AnalyzerConfig {
    pub fn validate(&self) -> Result<()> {
        if self.word_ngrams == 0 || self.word_ngrams > MAX_WORD_NGRAMS {
            return Err(TextError::WordNgrams {
                got: self.word_ngrams,
                max: MAX_WORD_NGRAMS,
            });
        }
        if let Some(c) = self.char_ngrams {
            if c.min == 0 || c.min > c.max || c.max > 8 {
                return Err(TextError::CharNgrams {
                    min: c.min,
                    max: c.max,
                });
            }
        }
        let mut seen = Vec::new();
        for f in &self.filters {
            if let FilterConfig::Length {
                min_chars,
                max_chars,
            } = f
            {
                if min_chars > max_chars {
                    return Err(TextError::LengthBounds {
                        min: *min_chars,
                        max: *max_chars,
                    });
                }
            }
            if seen.contains(&f.name()) {
                return Err(TextError::DuplicateFilter(f.name().to_string()));
            }
            seen.push(f.name());
        }
        Ok(())
    }
}

/// One term produced by the analyzer.
#[derive(Debug, Clone, Copy)]
pub struct Term<'a> {
    /// Stable hash of the term; the feature layer maps it to a feature id.
    pub hash: u64,
    kind: TermKind<'a>,
}

#[derive(Debug, Clone, Copy)]
enum TermKind<'a> {
    Words(&'a [String]),
    Chars(&'a str),
}

impl Term<'_> {
    /// The readable form of the term: words joined by spaces, or a character
    /// n-gram shown as `#abc`. Allocates; call it only when the text is needed.
    pub fn text(&self) -> String {
        let mut out = String::new();
        self.write_text(&mut out);
        out
    }

    /// Appends the readable form to `out` (no allocation when it has room).
    pub fn write_text(&self, out: &mut String) {
        match self.kind {
            TermKind::Words(words) => {
                for (i, w) in words.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    out.push_str(w);
                }
            }
            TermKind::Chars(chars) => {
                out.push('#');
                out.push_str(chars);
            }
        }
    }
}

/// Namespace for character n-gram hashes (the bytes of "chargram").
const CHAR_NGRAM_NAMESPACE: u64 = 0x6368_6172_6772_616d;

/// The built analyzer. Cheap to share between threads.
#[derive(Debug)]
pub struct Analyzer {
    config: AnalyzerConfig,
    filters: Vec<Box<dyn TokenFilter>>,
    detector: LanguageDetector,
    /// The filter chain's id in the per-thread token memo, per language.
    memo_chains: [u32; 4],
    /// This analyzer's identity, which [`PayloadKeys`] bind to.
    instance: u64,
}

/// Gives every analyzer built in this process its own identity.
static NEXT_ANALYZER: AtomicU64 = AtomicU64::new(1);

/// Memo ids under which one owner (a feature space) stores a payload with
/// each memoized word, valid with one analyzer: the one given to
/// [`PayloadKeys::bound_to`], or else the first that uses them. With any
/// other analyzer, [`Analyzer::analyze_resolved`] simply passes no payloads.
/// Not saved. A clone gets ids of its own, unbound: sharing ids but not the
/// binding would let two analyzers fill the same entries.
#[derive(Debug)]
pub struct PayloadKeys {
    analyzer: OnceLock<u64>,
    ids: Option<[u32; 4]>,
}

impl PayloadKeys {
    pub fn new() -> Self {
        Self {
            analyzer: OnceLock::new(),
            ids: memo::fresh_chain_ids(),
        }
    }

    /// Keys bound to `analyzer` from the start.
    pub fn bound_to(analyzer: &Analyzer) -> Self {
        let keys = Self::new();
        let _ = keys.analyzer.set(analyzer.instance);
        keys
    }

    fn for_analyzer(&self, analyzer: &Analyzer) -> Option<&[u32; 4]> {
        let ids = self.ids.as_ref()?;
        (*self.analyzer.get_or_init(|| analyzer.instance) == analyzer.instance).then_some(ids)
    }
}

impl Clone for PayloadKeys {
    fn clone(&self) -> Self {
        Self::new()
    }
}

impl Default for PayloadKeys {
    fn default() -> Self {
        Self::new()
    }
}

/// Where the memo's payloads come from: the per-language ids and the
/// function giving a new word's payload from its term hash.
type Payloads<'a, R> = Option<(&'a [u32; 4], &'a R)>;

/// No payloads: the memo ids of the analyzer's own chain.
const NO_PAYLOADS: Payloads<'static, fn(u64) -> u32> = None;

impl Analyzer {
    pub fn new(config: AnalyzerConfig) -> Result<Self> {
        config.validate()?;
        chars::prepare();
        let filters = config
            .filters
            .iter()
            .map(|f| -> Box<dyn TokenFilter> {
                match f {
                    FilterConfig::StripInvisible => Box::new(filter::StripInvisible),
                    FilterConfig::Lowercase => Box::new(filter::Lowercase),
                    FilterConfig::Elision => Box::new(filter::Elision),
                    FilterConfig::StopWords => Box::new(filter::StopWords::default()),
                    FilterConfig::Stem => Box::new(filter::Stem::default()),
                    FilterConfig::AccentFold => Box::new(filter::AccentFold),
                    FilterConfig::Length {
                        min_chars,
                        max_chars,
                    } => Box::new(filter::Length {
                        min_chars: *min_chars,
                        max_chars: *max_chars,
                    }),
                }
            })
            .collect();
        let detector = LanguageDetector::new(&config.languages, config.default_language);
        // In-process only (never saved), so the Debug form is a fine identity.
        let chain_fingerprint = hash::hash_bytes(format!("{:?}", config.filters).as_bytes());
        let memo_chains = [Lang::En, Lang::Fr, Lang::Ar, Lang::Unknown]
            .map(|lang| memo::chain_id(chain_fingerprint, lang.code()));
        Ok(Self {
            config,
            filters,
            detector,
            memo_chains,
            instance: NEXT_ANALYZER.fetch_add(1, Ordering::Relaxed),
        })
    }

    pub fn config(&self) -> &AnalyzerConfig {
        &self.config
    }

    /// `text` as the chain reads it, NFKC-normalised when the configuration
    /// says so, if that is at most `limit` bytes; `None` past `limit`.
    /// Normalisation stops as soon as the limit is passed, so a text that
    /// grows under NFKC (U+FDFA: 3 bytes become 33, and 4 words) costs at most
    /// `limit` bytes of work here. The result analyses exactly as `text` does
    /// (NFKC is idempotent), so callers pass it on instead of normalising
    /// twice.
    pub fn normalized_within<'a>(&self, text: &'a str, limit: usize) -> Option<Cow<'a, str>> {
        if !self.config.nfkc || is_nfkc(text) {
            return (text.len() <= limit).then_some(Cow::Borrowed(text));
        }
        let mut normalized = String::with_capacity(text.len().min(limit));
        for c in text.nfkc() {
            if normalized.len() + c.len_utf8() > limit {
                return None;
            }
            normalized.push(c);
        }
        Some(Cow::Owned(normalized))
    }

    /// The language the analyzer would use for `text`: the hint when given,
    /// otherwise detection.
    pub fn language(&self, text: &str, hint: Option<Lang>) -> Lang {
        match hint {
            Some(lang) if lang != Lang::Unknown => lang,
            _ => self.detector.detect(text),
        }
    }

    /// Runs the chain over `text`, calling `sink` with every term. Returns the
    /// language used.
    pub fn analyze(&self, text: &str, hint: Option<Lang>, sink: &mut dyn FnMut(Term<'_>)) -> Lang {
        self.run(text, hint, true, NO_PAYLOADS, &mut |t: Term<'_>, _| sink(t))
    }

    /// [`Analyzer::analyze`] giving only the terms' hashes: the serving path,
    /// which never needs a term's text and so never copies it.
    /// Generic over the sink, so the whole loop compiles as one function.
    pub fn analyze_hashes<S: FnMut(u64)>(
        &self,
        text: &str,
        hint: Option<Lang>,
        mut sink: S,
    ) -> Lang {
        self.run(text, hint, false, NO_PAYLOADS, &mut |t: Term<'_>, _| {
            sink(t.hash)
        })
    }

    /// [`Analyzer::analyze_hashes`] that also passes each single word's
    /// payload: `resolve(hash)` as it was when the word entered this thread's
    /// memo under `keys`, so a memo hit costs no call to `resolve`. `sink`
    /// gets `Some(payload)` for single words and `None` for n-grams, and for
    /// every term when `keys` belong to another analyzer (or to none).
    /// `resolve` must be a pure function of the hash for the life of `keys`,
    /// and return less than `u32::MAX - 1`.
    pub fn analyze_resolved<R: Fn(u64) -> u32, S: FnMut(u64, Option<u32>)>(
        &self,
        text: &str,
        hint: Option<Lang>,
        keys: &PayloadKeys,
        resolve: R,
        mut sink: S,
    ) -> Lang {
        let payloads = keys.for_analyzer(self).map(|ids| (ids, &resolve));
        self.run(text, hint, false, payloads, &mut |t: Term<'_>, p| {
            sink(t.hash, p)
        })
    }

    /// The chain. Without `keep_text`, the terms passed to `sink` carry no
    /// text (only the hash-only paths, [`Analyzer::analyze_hashes`] and
    /// [`Analyzer::analyze_resolved`], ask for that). With `payloads`, the
    /// memo entries are those of the payload owner's ids.
    // Long on purpose: the per-token loop shares the memo borrow, the reused
    // token buffer and `continue` for dropped tokens; n-grams are `WordWindow`.
    fn run<R: Fn(u64) -> u32, S: FnMut(Term<'_>, Option<u32>)>(
        &self,
        text: &str,
        hint: Option<Lang>,
        keep_text: bool,
        payloads: Payloads<'_, R>,
        sink: &mut S,
    ) -> Lang {
        let keep_text = keep_text || self.config.char_ngrams.is_some();
        let text: Cow<'_, str> = if self.config.nfkc && !is_nfkc(text) {
            Cow::Owned(text.nfkc().collect())
        } else {
            Cow::Borrowed(text)
        };
        let lang = self.language(&text, hint);
        let mut window = WordWindow::new(usize::from(self.config.word_ngrams), keep_text);
        let mut token = String::new();
        // Entries under the analyzer's own ids may be read by a caller that
        // wants text; a payload owner's ids belong to this one analyzer, so
        // whether they want text never changes.
        let store_text = keep_text || payloads.is_none();
        let (key, resolve) = match payloads {
            Some((ids, resolve)) => (ids[lang as usize], Some(resolve)),
            None => (self.memo_chains[lang as usize], None),
        };
        // Token boundaries and memo places first, so the memo can fetch every
        // token's entry at once; then the chain, token by token.
        let mut tokens = crate::scratch::Reused::take(&TOKEN_BUFFER, MAX_KEPT_TOKENS);
        tokens.reserve(text.len() / 5);
        let bytes = text.as_bytes();
        tokenizer::tokenize_spans(&text, |start, end| {
            let raw = bytes.get(start..end).unwrap_or_default();
            tokens.push((start, end, memo::Probe::new(key, raw)));
        });
        memo::with_memo(|mut memo| {
            if let Some(m) = memo.as_deref() {
                m.prefetch(tokens.iter().map(|t| &t.2));
            }
            for (start, end, probe) in tokens.iter() {
                // The filter chain, the term hash and the payload, from the
                // memo when the token was seen recently.
                let (token_hash, payload) = match memo.as_deref().and_then(|m| m.get(key, probe)) {
                    Some(memo::Memoized::Dropped) => continue,
                    Some(memo::Memoized::Kept {
                        hash,
                        payload,
                        slot,
                    }) => {
                        if keep_text {
                            token.clear();
                            if let Some(m) = memo.as_deref() {
                                token.push_str(
                                    std::str::from_utf8(m.text(slot)).unwrap_or_default(),
                                );
                            }
                        }
                        (hash, payload)
                    }
                    None => {
                        // The tokenizer's ranges are char boundaries.
                        let Some(raw) = text.get(*start..*end) else {
                            continue;
                        };
                        token.clear();
                        token.push_str(raw);
                        if !self.filters.iter().all(|f| f.apply(&mut token, lang)) {
                            if let Some(m) = memo.as_deref_mut() {
                                m.put(key, probe, None, store_text);
                            }
                            continue;
                        }
                        let h = hash::hash_bytes(token.as_bytes());
                        let payload = resolve.map_or(memo::NO_PAYLOAD, |r| r(h));
                        if let Some(m) = memo.as_deref_mut() {
                            m.put(key, probe, Some((&token, h, payload)), store_text);
                        }
                        (h, payload)
                    }
                };
                if let Some(range) = self.config.char_ngrams {
                    emit_char_ngrams(&token, range, &mut |t| sink(t, None));
                }
                window.push(token_hash, &mut token, resolve.map(|_| payload), sink);
            }
        });
        lang
    }

    /// The terms of `text` as strings, in order. For tests, explanations and
    /// tools; the hot path uses [`Analyzer::analyze`].
    pub fn terms(&self, text: &str, hint: Option<Lang>) -> (Lang, Vec<String>) {
        let mut out = Vec::new();
        let lang = self.analyze(text, hint, &mut |t| out.push(t.text()));
        (lang, out)
    }
}

/// The last n tokens and their hashes, oldest first, and the word n-grams
/// ending with the newest; buffers are reused.
struct WordWindow {
    n: usize,
    keep_text: bool,
    words: Vec<String>,
    hashes: Vec<u64>,
    filled: usize,
}

impl WordWindow {
    fn new(n: usize, keep_text: bool) -> Self {
        WordWindow {
            n,
            keep_text,
            words: vec![String::new(); n],
            hashes: vec![0; n],
            filled: 0,
        }
    }

    /// Puts the token last (taking its text, when kept, and leaving `token`
    /// a spare buffer) and gives `sink` the n-grams that end with it: the
    /// token itself with `payload`, then the longer ones.
    #[inline]
    fn push<S: FnMut(Term<'_>, Option<u32>)>(
        &mut self,
        token_hash: u64,
        token: &mut String,
        payload: Option<u32>,
        sink: &mut S,
    ) {
        let n = self.n;
        // Shift the window left by one and put the new token last.
        if n > 1 {
            self.hashes.rotate_left(1);
        }
        self.hashes[n - 1] = token_hash;
        if self.keep_text {
            if n > 1 {
                self.words.rotate_left(1);
            }
            std::mem::swap(&mut self.words[n - 1], token);
        }
        self.filled = (self.filled + 1).min(n);
        let words = |k: usize| -> &[String] {
            if self.keep_text {
                &self.words[n - k..]
            } else {
                &[]
            }
        };
        let mut h = token_hash;
        sink(
            Term {
                hash: h,
                kind: TermKind::Words(words(1)),
            },
            payload,
        );
        for k in 2..=self.filled {
            h = hash::combine(self.hashes[n - k], h);
            sink(
                Term {
                    hash: h,
                    kind: TermKind::Words(words(k)),
                },
                None,
            );
        }
    }
}

thread_local! {
    /// [`Analyzer::run`]'s token boundaries and memo probes, reused.
    static TOKEN_BUFFER: Cell<Vec<(usize, usize, memo::Probe)>> = const { Cell::new(Vec::new()) };
}

/// Tokens' room kept in [`TOKEN_BUFFER`] between documents (about 640 KB).
const MAX_KEPT_TOKENS: usize = 1 << 14;

/// Whether `text` is certainly in NFKC already (otherwise it is normalized,
/// which leaves NFKC text unchanged). NFKC's quick check passes over ASCII
/// and over every character of combining class 0 that it answers "Yes" for
/// ([`chars::is_nfkc_stable`]: most letters of French or Arabic text) and
/// starts afresh after them. So checking each run of other characters alone
/// gives the same answer as checking the whole text, and most texts have no
/// such run at all.
pub fn is_nfkc(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    loop {
        i = chars::next_non_ascii(bytes, i);
        if i >= bytes.len() {
            return true;
        }
        // `i` is at a char boundary: it only ever steps over whole ASCII
        // bytes and whole characters. A stable character is stepped over;
        // any other starts a run that ends at the next stable one.
        let start = i;
        let mut rest = text.get(i..).unwrap_or_default().chars();
        match rest.next() {
            Some(c) if chars::is_nfkc_stable(c) => {
                i += c.len_utf8();
                continue;
            }
            Some(c) => i += c.len_utf8(),
            None => return true,
        }
        for c in rest {
            if chars::is_nfkc_stable(c) {
                break;
            }
            i += c.len_utf8();
        }
        match text.get(start..i) {
            Some(run) if is_nfkc_quick(run.chars()) == IsNormalized::Yes => {}
            _ => return false,
        }
    }
}

fn emit_char_ngrams<S: FnMut(Term<'_>)>(token: &str, range: CharNgrams, sink: &mut S) {
    let padded = format!("<{token}>");
    let bounds: Vec<usize> = padded
        .char_indices()
        .map(|(i, _)| i)
        .chain([padded.len()])
        .collect();
    let chars = bounds.len() - 1;
    for size in usize::from(range.min)..=usize::from(range.max) {
        for start in 0..chars.saturating_sub(size - 1) {
            let gram = &padded[bounds[start]..bounds[start + size]];
            let h = hash::namespaced(CHAR_NGRAM_NAMESPACE, hash::hash_bytes(gram.as_bytes()));
            sink(Term {
                hash: h,
                kind: TermKind::Chars(gram),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]
        #[test]
        fn nfkc_check_by_runs_agrees_with_the_whole_text_check(
            s in "[a-z \u{a0}\u{aa}\u{b2}\u{e0}\u{153}\u{2019}\u{2026}\u{e9}\u{301}\u{316}\u{327}\u{fb01}\u{ff21}\u{2460}\u{1100}\u{1161}\u{ac00}\u{627}\u{64b}\u{650}\u{1f600}]{0,24}"
        ) {
            let whole = is_nfkc_quick(s.chars()) == IsNormalized::Yes;
            proptest::prop_assert_eq!(is_nfkc(&s), whole);
        }
    }

    #[test]
    fn normalized_within_bounds_the_nfkc_expansion() {
        let analyzer = Analyzer::new(AnalyzerConfig::default()).expect("default config");
        let ligature = "\u{fdfa}";
        let expanded = analyzer
            .normalized_within(ligature, 64)
            .expect("33 bytes fit in 64");
        assert_eq!(expanded.len(), 33);
        assert!(analyzer.normalized_within(ligature, 32).is_none());
        let plain = "plain ASCII";
        assert!(matches!(
            analyzer.normalized_within(plain, plain.len()),
            Some(Cow::Borrowed(_))
        ));
        assert!(analyzer.normalized_within(plain, plain.len() - 1).is_none());
    }

    #[test]
    fn nfkc_check_reads_past_ascii_blocks() {
        let ascii = "a".repeat(70);
        assert!(is_nfkc(&ascii));
        assert!(is_nfkc(&format!("{ascii}\u{e9}{ascii}")));
        assert!(!is_nfkc(&format!("{ascii}\u{fb01}{ascii}")), "ligature fi");
        assert!(
            !is_nfkc(&format!("{ascii}e\u{316}\u{301}\u{327}")),
            "marks out of order"
        );
        assert!(is_nfkc(""));
    }

    #[test]
    fn default_config_is_valid() {
        assert_eq!(AnalyzerConfig::default().validate(), Ok(()));
    }

    #[test]
    fn rejects_bad_configs() {
        let mut c = AnalyzerConfig {
            word_ngrams: 0,
            ..Default::default()
        };
        assert_eq!(c.validate(), Err(TextError::WordNgrams { got: 0, max: 4 }));
        c.word_ngrams = 1;
        c.char_ngrams = Some(CharNgrams { min: 3, max: 2 });
        assert_eq!(c.validate(), Err(TextError::CharNgrams { min: 3, max: 2 }));
        c.char_ngrams = None;
        c.filters.push(FilterConfig::Lowercase);
        assert_eq!(
            c.validate(),
            Err(TextError::DuplicateFilter("lowercase".into()))
        );
    }
}
