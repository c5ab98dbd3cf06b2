//! The fitted feature space: term hash → feature id, plus IDF weights.
use super::counting::{DocCounter, TermTable};
use super::{FeatureError, FeatureMode, FeatureParams, Result, SparseVec, Weighting};
use crate::text::{Analyzer, Lang};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

/// Term hashes are already well mixed, so the lookup table uses them as is.
#[derive(Default, Clone, Copy)]
pub struct PassThroughHasher(u64);

impl Hasher for PassThroughHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys are hashed; fold any other input for completeness.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type HashIndex<V> = HashMap<u64, V, BuildHasherDefault<PassThroughHasher>>;

/// One analysed document: its distinct term hashes with counts, in order of
/// first occurrence.
#[derive(Debug, Clone, Default)]
pub struct DocTerms {
    pub lang: Option<Lang>,
    pub terms: Vec<(u64, u32)>,
}

/// A corpus analysed once, so vocabularies can be fitted on any subset of it
/// (held-out splits, folds) without analysing the text again.
#[derive(Debug, Default)]
pub struct AnalyzedCorpus {
    pub docs: Vec<DocTerms>,
    /// Document frequency of every term, and the text of those seen in at
    /// least `text_min_df` documents.
    terms: TermTable,
    /// False for hashing spaces, which need neither document frequencies of
    /// terms nor their text: analysis then skips the table.
    track_terms: bool,
    counter: DocCounter,
    /// The current document's distinct terms' texts, back to back, and each
    /// one's byte range (in the counter's order).
    doc_texts: String,
    doc_spans: Vec<(usize, usize)>,
}

impl AnalyzedCorpus {
    /// `text_min_df`: terms rarer than this keep no text (they cannot survive a
    /// vocabulary with that `min_df`), which bounds memory on large corpora.
    pub fn new(text_min_df: u32) -> Self {
        Self {
            terms: TermTable::new(text_min_df),
            track_terms: true,
            ..Default::default()
        }
    }

    /// A corpus for feature hashing: no vocabulary statistics are kept, so
    /// analysis touches no global table.
    pub fn for_hashing() -> Self {
        Self::default()
    }

    /// Analyses one document and appends it.
    pub fn push(&mut self, analyzer: &Analyzer, text: &str, hint: Option<Lang>) -> Lang {
        let Self {
            docs,
            terms,
            track_terms,
            counter,
            doc_texts,
            doc_spans,
        } = self;
        // Occurrences are counted in a per-document table as they come; each
        // distinct term's text is copied once, and the corpus table is
        // updated once per distinct term, after the document.
        let lang = if *track_terms {
            doc_texts.clear();
            doc_spans.clear();
            let lang = analyzer.analyze(text, hint, &mut |t| {
                if counter.add(t.hash) {
                    let start = doc_texts.len();
                    t.write_text(doc_texts);
                    doc_spans.push((start, doc_texts.len()));
                }
            });
            terms.add_document(counter.hashes(), |i| {
                doc_spans
                    .get(i)
                    .and_then(|&(start, end)| doc_texts.get(start..end))
                    .unwrap_or_default()
            });
            lang
        } else {
            analyzer.analyze_hashes(text, hint, |h| {
                counter.add(h);
            })
        };
        docs.push(DocTerms {
            lang: Some(lang),
            terms: counter.take(),
        });
        lang
    }

    pub fn len(&self) -> usize {
        self.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// Number of distinct terms seen.
    pub fn distinct_terms(&self) -> usize {
        self.terms.len()
    }
}

/// The serialisable form of a fitted feature space (the lookup table is
/// rebuilt on load).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureSpaceData {
    pub params: FeatureParams,
    pub n_features: u32,
    /// Vocabulary mode: term hash and text per feature id. Empty when hashing.
    pub term_hashes: Vec<u64>,
    pub term_texts: Vec<String>,
    /// IDF per feature; empty when IDF weighting is off.
    pub idf: Vec<f64>,
}

/// A fitted feature space.
#[derive(Debug, Clone)]
pub struct FeatureSpace {
    // Shared with the model's `ModelData`, so a model holds one copy.
    data: Arc<FeatureSpaceData>,
    lookup: HashIndex<u32>,
}

impl FeatureSpace {
    /// Fits the vocabulary (or hashing space) and IDF on the documents `subset`
    /// of `corpus`.
    pub fn fit(params: &FeatureParams, corpus: &AnalyzedCorpus, subset: &[usize]) -> Result<Self> {
        params.validate()?;
        let n_docs = subset.len();
        let data = match params.mode {
            FeatureMode::Vocabulary {
                min_df,
                max_df,
                max_features,
            } => {
                if !corpus.track_terms {
                    return Err(FeatureError::Inconsistent(
                        "a vocabulary needs a corpus analysed with term statistics".into(),
                    ));
                }
                let max_df_docs = (max_df * n_docs as f64).floor().max(1.0) as u32;
                let keep = |d: u32| d >= min_df && (max_df >= 1.0 || d <= max_df_docs);
                let mut kept: Vec<(u64, u32, &str)> = if subset.len() == corpus.docs.len() {
                    corpus
                        .terms
                        .iter()
                        .filter(|&(_, d, _)| keep(d))
                        .filter_map(|(h, d, text)| Some((h, d, text?)))
                        .collect()
                } else {
                    let mut counts: HashIndex<u32> = HashIndex::default();
                    for &i in subset {
                        for &(h, _) in &corpus.docs[i].terms {
                            *counts.entry(h).or_insert(0) += 1;
                        }
                    }
                    counts
                        .into_iter()
                        .filter(|&(_, d)| keep(d))
                        .filter_map(|(h, d)| Some((h, d, corpus.terms.text_of(h)?)))
                        .collect()
                };
                if let Some(cap) = max_features {
                    // Most frequent first; text breaks ties so the result is deterministic.
                    kept.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.2.cmp(b.2)));
                    kept.truncate(cap as usize);
                }
                if kept.is_empty() {
                    return Err(FeatureError::EmptyVocabulary { min_df, max_df });
                }
                // Feature ids in term-text order: stable across runs and readable.
                kept.sort_unstable_by(|a, b| a.2.cmp(b.2).then(a.0.cmp(&b.0)));
                let idf = if params.weighting.idf {
                    kept.iter()
                        .map(|&(_, d, _)| smooth_idf(n_docs, d))
                        .collect()
                } else {
                    Vec::new()
                };
                FeatureSpaceData {
                    params: params.clone(),
                    n_features: kept.len() as u32,
                    term_hashes: kept.iter().map(|k| k.0).collect(),
                    term_texts: kept.iter().map(|k| k.2.to_string()).collect(),
                    idf,
                }
            }
            FeatureMode::Hashing { bits } => {
                let n_features = 1u32 << bits;
                let idf = if params.weighting.idf {
                    let mut df = vec![0u32; n_features as usize];
                    for &i in subset {
                        let mut buckets: Vec<u32> = corpus.docs[i]
                            .terms
                            .iter()
                            .map(|&(h, _)| bucket(h, bits))
                            .collect();
                        buckets.sort_unstable();
                        buckets.dedup();
                        for b in buckets {
                            df[b as usize] += 1;
                        }
                    }
                    df.iter().map(|&d| smooth_idf(n_docs, d)).collect()
                } else {
                    Vec::new()
                };
                FeatureSpaceData {
                    params: params.clone(),
                    n_features,
                    term_hashes: Vec::new(),
                    term_texts: Vec::new(),
                    idf,
                }
            }
        };
        Self::from_data(data)
    }

    /// Rebuilds a feature space from its saved form, checking it is consistent.
    pub fn from_data(data: impl Into<Arc<FeatureSpaceData>>) -> Result<Self> {
        let data: Arc<FeatureSpaceData> = data.into();
        data.params.validate()?;
        let n = data.n_features as usize;
        let bad = |m: String| Err(FeatureError::Inconsistent(m));
        if !data.idf.is_empty() && data.idf.len() != n {
            return bad(format!("{} IDF weights for {n} features", data.idf.len()));
        }
        if data.params.weighting.idf == data.idf.is_empty() {
            return bad("IDF weights present and IDF setting disagree".into());
        }
        if data.idf.iter().any(|v| !v.is_finite() || *v <= 0.0) {
            return bad("an IDF weight is not a positive finite number".into());
        }
        let mut lookup = HashIndex::default();
        match data.params.mode {
            FeatureMode::Vocabulary { .. } => {
                if data.term_hashes.len() != n || data.term_texts.len() != n {
                    return bad(format!(
                        "{} term hashes and {} term texts for {n} features",
                        data.term_hashes.len(),
                        data.term_texts.len()
                    ));
                }
                lookup.reserve(n);
                for (id, &h) in data.term_hashes.iter().enumerate() {
                    if lookup.insert(h, id as u32).is_some() {
                        return bad(format!("term {:?} appears twice", data.term_texts[id]));
                    }
                }
            }
            FeatureMode::Hashing { bits } => {
                if n != 1usize << bits {
                    return bad(format!("{n} features for {bits} hash bits"));
                }
            }
        }
        Ok(Self { data, lookup })
    }

    pub fn data(&self) -> &FeatureSpaceData {
        &self.data
    }

    /// The shared saved form.
    pub fn shared_data(&self) -> Arc<FeatureSpaceData> {
        Arc::clone(&self.data)
    }

    pub fn n_features(&self) -> usize {
        self.data.n_features as usize
    }

    pub fn weighting(&self) -> Weighting {
        self.data.params.weighting
    }

    /// The readable term behind a feature id, when the space keeps text.
    pub fn term_text(&self, feature: usize) -> Option<&str> {
        self.data.term_texts.get(feature).map(String::as_str)
    }

    #[inline]
    fn feature_of(&self, hash: u64) -> Option<u32> {
        match self.data.params.mode {
            FeatureMode::Vocabulary { .. } => self.lookup.get(&hash).copied(),
            FeatureMode::Hashing { bits } => Some(bucket(hash, bits)),
        }
    }

    /// Weighted vector of an already analysed document.
    pub fn transform(&self, doc: &DocTerms) -> SparseVec {
        let mut pairs: Vec<(u32, f64)> = doc
            .terms
            .iter()
            .filter_map(|&(h, c)| self.feature_of(h).map(|f| (f, f64::from(c))))
            .collect();
        pairs.sort_unstable_by_key(|p| p.0);
        let mut v = SparseVec::default();
        for (f, c) in pairs {
            match v.indices.last() {
                // Hashing can send two terms to one bucket.
                Some(&last) if last == f => {
                    if let Some(x) = v.values.last_mut() {
                        *x += c;
                    }
                }
                _ => {
                    v.indices.push(f);
                    v.values.push(c);
                }
            }
        }
        self.weigh(&mut v);
        v
    }

    /// Analyses and vectorizes raw text in one pass (the serving path).
    /// `scratch` is reused between calls to avoid reallocating.
    pub fn vectorize(
        &self,
        analyzer: &Analyzer,
        text: &str,
        hint: Option<Lang>,
        scratch: &mut Vec<u32>,
    ) -> (Lang, SparseVec) {
        scratch.clear();
        let lang = analyzer.analyze_hashes(text, hint, |h| {
            if let Some(f) = self.feature_of(h) {
                scratch.push(f);
            }
        });
        let mut v = SparseVec::from_ids(scratch);
        self.weigh(&mut v);
        (lang, v)
    }

    fn weigh(&self, v: &mut SparseVec) {
        let w = self.data.params.weighting;
        if w.sublinear_tf {
            for x in &mut v.values {
                *x = 1.0 + x.ln();
            }
        }
        if w.idf {
            for (x, &f) in v.values.iter_mut().zip(&v.indices) {
                *x *= self.data.idf[f as usize];
            }
        }
        if w.l2_normalize {
            let norm = v.values.iter().map(|x| x * x).sum::<f64>().sqrt();
            if norm > 0.0 {
                for x in &mut v.values {
                    *x /= norm;
                }
            }
        }
    }
}

#[inline]
fn bucket(hash: u64, bits: u8) -> u32 {
    (hash >> (64 - u32::from(bits))) as u32
}

fn smooth_idf(n_docs: usize, df: u32) -> f64 {
    ((1.0 + n_docs as f64) / (1.0 + f64::from(df))).ln() + 1.0
}
