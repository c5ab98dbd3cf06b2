//! The fitted feature space: term hash → feature id, plus IDF weights.
use super::counting::{DocCounter, TermTable};
use super::{CsrMatrix, FeatureError, FeatureMode, FeatureParams, Result, SparseVec, Weighting};
use crate::parallel::Threads;
use crate::text::{Analyzer, Lang, PayloadKeys};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};

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

/// One analysed document: its distinct terms with counts, in order of first
/// occurrence. A term is named by its id in the corpus (vocabulary corpora)
/// or by its hash bucket (hashing corpora).
#[derive(Debug, Clone, Default)]
pub struct DocTerms {
    pub lang: Option<Lang>,
    pub terms: Vec<(u32, u32)>,
}

/// The most distinct terms [`AnalyzedCorpus::reserve_for_text`] makes room
/// for.
const RESERVED_TERMS_CAP: usize = 1 << 21;

/// How a corpus names its terms.
#[derive(Debug)]
enum TermIds {
    /// Dense ids, with document frequencies and texts for fitting a
    /// vocabulary.
    Vocabulary(TermTable),
    /// Hash buckets of a `bits`-bit hashing space: no table at all.
    Hashing { bits: u8 },
}

/// A corpus analysed once, so vocabularies can be fitted on any subset of it
/// (held-out splits, folds) without analysing the text again.
#[derive(Debug)]
pub struct AnalyzedCorpus {
    pub docs: Vec<DocTerms>,
    ids: TermIds,
    counter: DocCounter,
    /// The current document's distinct terms' texts, back to back, each
    /// one's byte range, and their ids (all in the counter's order).
    doc_texts: String,
    doc_spans: Vec<(usize, usize)>,
    doc_ids: Vec<u32>,
}

impl AnalyzedCorpus {
    fn with_ids(ids: TermIds) -> Self {
        Self {
            docs: Vec::new(),
            ids,
            counter: DocCounter::default(),
            doc_texts: String::new(),
            doc_spans: Vec::new(),
            doc_ids: Vec::new(),
        }
    }

    /// A corpus for a vocabulary. `text_min_df`: terms rarer than this keep
    /// no text (they cannot survive a vocabulary with that `min_df`), which
    /// bounds memory on large corpora.
    pub fn new(text_min_df: u32) -> Self {
        Self::with_ids(TermIds::Vocabulary(TermTable::new(text_min_df)))
    }

    /// A corpus for feature hashing into 2^`bits` buckets: no vocabulary
    /// statistics are kept, so analysis touches no corpus-wide table.
    pub fn for_hashing(bits: u8) -> Self {
        Self::with_ids(TermIds::Hashing { bits })
    }

    /// Sizes the corpus table for `bytes` of text still to come, so it need
    /// not grow while they are analysed. A guess: 20 Newsgroups has about one
    /// distinct term (words and bigrams) per 20 bytes, and larger corpora
    /// have fewer, so the guess is capped at 2^21 terms (64 MiB); past that the table grows as needed. No effect on the
    /// result, or on a hashing corpus.
    pub fn reserve_for_text(&mut self, bytes: usize) {
        if let TermIds::Vocabulary(table) = &mut self.ids {
            table.reserve((table.len() + bytes / 20).min(RESERVED_TERMS_CAP));
        }
    }

    /// Analyses one document and appends it.
    pub fn push(&mut self, analyzer: &Analyzer, text: &str, hint: Option<Lang>) -> Lang {
        let Self {
            docs,
            ids,
            counter,
            doc_texts,
            doc_spans,
            doc_ids,
        } = self;
        counter.clear();
        // Occurrences are counted in a per-document table as they come; each
        // distinct term's text is copied once, and the corpus table is
        // updated once per distinct term, after the document.
        let (lang, terms) = match ids {
            TermIds::Vocabulary(table) => {
                doc_texts.clear();
                doc_spans.clear();
                doc_ids.clear();
                let lang = analyzer.analyze(text, hint, &mut |t| {
                    if counter.add(t.hash) {
                        let start = doc_texts.len();
                        t.write_text(doc_texts);
                        doc_spans.push((start, doc_texts.len()));
                    }
                });
                let text_of = |i: usize| {
                    doc_spans
                        .get(i)
                        .and_then(|&(start, end)| doc_texts.get(start..end))
                        .unwrap_or_default()
                };
                table.add_document(counter.hashes(), text_of, doc_ids);
                let terms = doc_ids
                    .iter()
                    .zip(counter.counted())
                    .map(|(&id, (_, count))| (id, count))
                    .collect();
                (lang, terms)
            }
            TermIds::Hashing { bits } => {
                let bits = *bits;
                let lang = analyzer.analyze_hashes(text, hint, |h| {
                    counter.add(u64::from(bucket(h, bits)));
                });
                let terms = counter.counted().map(|(b, c)| (b as u32, c)).collect();
                (lang, terms)
            }
        };
        docs.push(DocTerms {
            lang: Some(lang),
            terms,
        });
        lang
    }

    /// Analyses documents `0..count` (`document(i)` gives a text and its
    /// language hint) and appends them in order, on up to `threads` threads,
    /// calling `appended(n)` after each one with the number appended so far.
    /// The corpus is the one [`AnalyzedCorpus::push`] would build, whatever
    /// the thread count: the threads analyse blocks of documents into their
    /// distinct terms, and this thread numbers them in document order.
    pub fn extend<'t>(
        &mut self,
        analyzer: &Analyzer,
        count: usize,
        document: &(dyn Fn(usize) -> (Cow<'t, str>, Option<Lang>) + Sync),
        threads: Threads,
        appended: &mut dyn FnMut(usize),
    ) {
        if threads.get() <= 1 || count <= EXTEND_BLOCK {
            for i in 0..count {
                let (text, hint) = document(i);
                self.push(analyzer, &text, hint);
                appended(i + 1);
            }
            return;
        }
        let texts = match &self.ids {
            TermIds::Vocabulary(_) => TermTexts::Keep,
            TermIds::Hashing { bits } => TermTexts::Bucket(*bits),
        };
        let blocks = count.div_ceil(EXTEND_BLOCK);
        let next_block = AtomicUsize::new(0);
        // A block takes a slot before it is analysed and gives it back once
        // appended, so blocks waiting for their turn stay few.
        let in_flight = threads.get() * EXTEND_BLOCKS_IN_FLIGHT_PER_THREAD;
        let (slot_tx, slot_rx) = mpsc::sync_channel::<()>(in_flight);
        for _ in 0..in_flight {
            let _ = slot_tx.send(());
        }
        let slot_rx = Mutex::new(slot_rx);
        let (done_tx, done_rx) = mpsc::channel::<(usize, std::thread::Result<Vec<PendingDoc>>)>();
        std::thread::scope(|scope| {
            for _ in 0..threads.get().min(blocks) {
                let done_tx = done_tx.clone();
                let (next_block, slot_rx) = (&next_block, &slot_rx);
                scope.spawn(move || {
                    let mut counter = DocCounter::default();
                    loop {
                        let slot = slot_rx.lock().map(|rx| rx.recv());
                        if !matches!(slot, Ok(Ok(()))) {
                            return;
                        }
                        let block = next_block.fetch_add(1, Ordering::Relaxed);
                        if block >= blocks {
                            return;
                        }
                        let documents = block * EXTEND_BLOCK..count.min((block + 1) * EXTEND_BLOCK);
                        // A panic is raised again on the calling thread.
                        let analysed = catch_unwind(AssertUnwindSafe(|| {
                            documents
                                .map(|i| {
                                    let (text, hint) = document(i);
                                    PendingDoc::analyse(analyzer, &text, hint, texts, &mut counter)
                                })
                                .collect()
                        }));
                        let failed = analysed.is_err();
                        if done_tx.send((block, analysed)).is_err() || failed {
                            return;
                        }
                    }
                });
            }
            drop(done_tx);
            let mut waiting = std::collections::BTreeMap::new();
            let (mut next, mut appended_so_far) = (0usize, 0usize);
            for (block, analysed) in done_rx.iter() {
                let analysed = analysed.unwrap_or_else(|panic| resume_unwind(panic));
                waiting.insert(block, analysed);
                while let Some(analysed) = waiting.remove(&next) {
                    for doc in analysed {
                        self.append(doc);
                        appended_so_far += 1;
                        appended(appended_so_far);
                    }
                    next += 1;
                    let _ = slot_tx.send(());
                }
                if next == blocks {
                    break;
                }
            }
            // Wakes the threads waiting for a slot, so the scope can end.
            drop(slot_tx);
        });
    }

    /// Appends a document analysed by [`PendingDoc::analyse`].
    fn append(&mut self, doc: PendingDoc) {
        let terms = match &mut self.ids {
            TermIds::Vocabulary(table) => {
                let ids = &mut self.doc_ids;
                ids.clear();
                let text_of = |i: usize| {
                    doc.spans
                        .get(i)
                        .and_then(|&(start, end)| doc.texts.get(start as usize..end as usize))
                        .unwrap_or_default()
                };
                table.add_document(doc.counted.iter().map(|&(h, _)| h), text_of, ids);
                ids.iter()
                    .zip(&doc.counted)
                    .map(|(&id, &(_, count))| (id, count))
                    .collect()
            }
            TermIds::Hashing { .. } => doc
                .counted
                .iter()
                .map(|&(bucket, count)| (bucket as u32, count))
                .collect(),
        };
        self.docs.push(DocTerms {
            lang: Some(doc.lang),
            terms,
        });
    }

    pub fn len(&self) -> usize {
        self.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// Number of distinct terms seen (0 for a hashing corpus, which does not
    /// count them).
    pub fn distinct_terms(&self) -> usize {
        match &self.ids {
            TermIds::Vocabulary(table) => table.len(),
            TermIds::Hashing { .. } => 0,
        }
    }
}

/// Documents a thread of [`AnalyzedCorpus::extend`] analyses at a time.
const EXTEND_BLOCK: usize = 64;
/// Blocks alive at once (analysed or waiting to be appended), per thread.
const EXTEND_BLOCKS_IN_FLIGHT_PER_THREAD: usize = 4;

/// What an analysing thread keeps of each term.
#[derive(Debug, Clone, Copy)]
enum TermTexts {
    /// Its hash and text (vocabulary corpora).
    Keep,
    /// Its bucket of a hashing space of this many bits.
    Bucket(u8),
}

/// A document analysed on another thread, not yet numbered into the corpus:
/// its distinct terms' hashes (or buckets) with counts, in order of first
/// occurrence, and, for a vocabulary, their texts.
#[derive(Debug)]
struct PendingDoc {
    lang: Lang,
    counted: Vec<(u64, u32)>,
    texts: String,
    spans: Vec<(u32, u32)>,
}

impl PendingDoc {
    fn analyse(
        analyzer: &Analyzer,
        text: &str,
        hint: Option<Lang>,
        keep: TermTexts,
        counter: &mut DocCounter,
    ) -> Self {
        counter.clear();
        let (mut texts, mut spans) = (String::new(), Vec::new());
        let lang = match keep {
            TermTexts::Keep => analyzer.analyze(text, hint, &mut |t| {
                if counter.add(t.hash) {
                    let start = texts.len() as u32;
                    t.write_text(&mut texts);
                    spans.push((start, texts.len() as u32));
                }
            }),
            TermTexts::Bucket(bits) => analyzer.analyze_hashes(text, hint, |h| {
                counter.add(u64::from(bucket(h, bits)));
            }),
        };
        PendingDoc {
            lang,
            counted: counter.counted().collect(),
            texts,
            spans,
        }
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
    /// Where serving's per-thread memo keeps each word's feature id.
    memo_keys: PayloadKeys,
}

/// The memo payload of a word that is not a feature.
const NOT_A_FEATURE: u32 = u32::MAX - 2;

impl FeatureSpace {
    /// Fits the vocabulary (or hashing space) and IDF on the documents `subset`
    /// of `corpus`.
    pub fn fit(
        params: &FeatureParams,
        corpus: &AnalyzedCorpus,
        subset: &[usize],
    ) -> Result<FittedFeatures> {
        params.validate()?;
        let (data, feature_of_term) = match (&params.mode, &corpus.ids) {
            (
                &FeatureMode::Vocabulary {
                    min_df,
                    max_df,
                    max_features,
                },
                TermIds::Vocabulary(table),
            ) => {
                let kept = kept_terms(corpus, table, subset, min_df, max_df, max_features)?;
                fit_vocabulary(params, table, subset.len(), kept)?
            }
            (&FeatureMode::Hashing { bits }, &TermIds::Hashing { bits: corpus_bits })
                if bits == corpus_bits =>
            {
                (fit_hashing(params, corpus, subset, bits), Vec::new())
            }
            _ => {
                return Err(FeatureError::Inconsistent(format!(
                    "the corpus was analysed for another feature mode than {:?}",
                    params.mode
                )))
            }
        };
        Ok(FittedFeatures {
            space: Self::from_data(data)?,
            feature_of_term,
        })
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
        // The ids above these are the memo's "not a feature" and markers.
        if data.n_features >= NOT_A_FEATURE {
            return bad(format!("{n} features is more than a space can hold"));
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
        Ok(Self {
            data,
            lookup,
            memo_keys: PayloadKeys::new(),
        })
    }

    /// Ties serving's memoized feature ids to `analyzer`, the one this
    /// space will be used with (a model's own), so that no earlier call with
    /// another analyzer can claim them.
    pub fn bind_memo_to(&mut self, analyzer: &Analyzer) {
        self.memo_keys = PayloadKeys::bound_to(analyzer);
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

    pub fn vectorize(
        &self,
        analyzer: &Analyzer,
        text: &str,
        hint: Option<Lang>,
        scratch: &mut Vec<u32>,
    ) -> (Lang, SparseVec) {
        scratch.clear();
        let resolve = |h| self.feature_of(h).unwrap_or(NOT_A_FEATURE);
        let lang = analyzer.analyze_resolved(text, hint, &self.memo_keys, resolve, |h, word| {
            // A word's feature comes from the memo; n-grams are looked up.
            match word.or_else(|| self.feature_of(h)) {
                Some(NOT_A_FEATURE) | None => {}
                Some(f) => scratch.push(f),
            }
        });
        let mut v = SparseVec::from_ids(scratch);
        self.weigh(&mut v);
        (lang, v)
    }

    fn weigh(&self, v: &mut SparseVec) {
        self.weigh_row(&v.indices, &mut v.values);
    }

    /// Weighs one row's raw counts in place (`values[k]` counts feature
    /// `indices[k]`).
    fn weigh_row(&self, indices: &[u32], values: &mut [f64]) {
        let w = self.data.params.weighting;
        if w.sublinear_tf {
            for x in values.iter_mut() {
                *x = sublinear_tf(*x);
            }
        }
        if w.idf {
            for (x, &f) in values.iter_mut().zip(indices) {
                *x *= self.data.idf[f as usize];
            }
        }
        if w.l2_normalize {
            let norm = values.iter().map(|x| x * x).sum::<f64>().sqrt();
            if norm > 0.0 {
                for x in values.iter_mut() {
                    *x /= norm;
                }
            }
        }
    }
}

/// `1 + ln(tf)`. Most terms occur once in a document, and `ln(1)` is exactly
/// 0, so that case skips the logarithm with the same result.
#[inline]
fn sublinear_tf(tf: f64) -> f64 {
    if tf == 1.0 {
        1.0
    } else {
        1.0 + tf.ln()
    }
}

/// A feature space fitted on (part of) an analysed corpus, with the map from
/// the corpus's term ids to its features.
#[derive(Debug)]
pub struct FittedFeatures {
    pub space: FeatureSpace,
    /// By vocabulary term id: its feature, or [`NO_FEATURE`]. Empty for a
    /// hashing space, whose term ids are its features.
    feature_of_term: Vec<u32>,
}

const NO_FEATURE: u32 = u32::MAX;

impl FittedFeatures {
    /// The weighted feature vector of an analysed document of the corpus.
    pub fn transform(&self, doc: &DocTerms) -> SparseVec {
        let mut v = SparseVec::default();
        self.transform_into(doc, &mut Vec::new(), &mut v);
        v
    }

    /// [`FittedFeatures::transform`] into `out`, reusing its buffers and
    /// `scratch`.
    fn transform_into(&self, doc: &DocTerms, scratch: &mut Vec<u64>, out: &mut SparseVec) {
        // (feature << 32 | count): one integer sort orders the features.
        scratch.clear();
        if self.feature_of_term.is_empty() {
            scratch.extend(
                doc.terms
                    .iter()
                    .map(|&(b, c)| u64::from(b) << 32 | u64::from(c)),
            );
        } else {
            scratch.extend(doc.terms.iter().filter_map(|&(id, c)| {
                let f = *self.feature_of_term.get(id as usize)?;
                (f != NO_FEATURE).then_some(u64::from(f) << 32 | u64::from(c))
            }));
        }
        // Distinct terms have distinct features, so sorting is all it takes.
        scratch.sort_unstable();
        out.indices.clear();
        out.values.clear();
        out.indices
            .extend(scratch.iter().map(|&p| (p >> 32) as u32));
        out.values
            .extend(scratch.iter().map(|&p| f64::from(p as u32)));
        self.space.weigh(out);
    }

    /// The weighted vectors of the corpus documents `rows`, as a matrix.
    pub fn matrix(&self, corpus: &AnalyzedCorpus, rows: &[usize]) -> CsrMatrix {
        // Sized once for every row's terms, pruned or not.
        let bound = rows.iter().map(|&i| corpus.docs[i].terms.len()).sum();
        let mut m = CsrMatrix::with_capacity(self.space.n_features(), rows.len(), bound);
        let (mut scratch, mut row) = (Vec::new(), SparseVec::default());
        for &i in rows {
            self.transform_into(&corpus.docs[i], &mut scratch, &mut row);
            m.push_row(&row);
        }
        m
    }

    pub fn into_space(self) -> FeatureSpace {
        self.space
    }
}

/// Sorts vocabulary entries `(hash, df, text, id)` by text, then hash: the
/// feature order saved in models.
///
/// Each comparison first looks at the texts' first 16 bytes, read once into
/// an integer beside the entry's index, and reads the texts themselves only
/// when those are equal. Comparing the texts directly spent most of the time
/// on cache misses, since they lie scattered in first-seen order (20
/// Newsgroups: about 313,000 terms, 150–300 ms).
/// The terms a vocabulary keeps from the `subset` documents, as (term id,
/// document frequency, text): those within `min_df` and `max_df`, the
/// `max_features` most frequent of them if capped.
fn kept_terms<'t>(
    corpus: &AnalyzedCorpus,
    table: &'t TermTable,
    subset: &[usize],
    min_df: u32,
    max_df: f64,
    max_features: Option<u32>,
) -> Result<Vec<(u32, u32, &'t str)>> {
    let max_df_docs = (max_df * subset.len() as f64).floor().max(1.0) as u32;
    let keep = |d: u32| d >= min_df && (max_df >= 1.0 || d <= max_df_docs);
    let kept_term = |(id, d): (u32, u32)| Some((id, d, table.text(id)?));
    let mut kept: Vec<(u32, u32, &str)> = if subset.len() == corpus.docs.len() {
        table
            .document_frequencies()
            .filter(|&(_, d)| keep(d))
            .filter_map(kept_term)
            .collect()
    } else {
        (0u32..)
            .zip(document_frequencies(corpus, subset, table.len()))
            .filter(|&(_, d)| d > 0 && keep(d))
            .filter_map(kept_term)
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
    Ok(kept)
}

/// A vocabulary space of the `kept` terms, and each term id's feature.
fn fit_vocabulary(
    params: &FeatureParams,
    table: &TermTable,
    n_docs: usize,
    kept: Vec<(u32, u32, &str)>,
) -> Result<(FeatureSpaceData, Vec<u32>)> {
    let hash_of = |id: u32| {
        table
            .hash(id)
            .ok_or_else(|| FeatureError::Inconsistent(format!("term id {id} is not in the corpus")))
    };
    // Feature ids in term-text order: stable across runs and readable.
    let kept = kept
        .into_iter()
        .map(|(id, d, text)| Ok((hash_of(id)?, d, text, id)))
        .collect::<Result<Vec<_>>>()?;
    let kept = sort_by_text(kept);
    let idf = if params.weighting.idf {
        kept.iter()
            .map(|&(_, d, _, _)| smooth_idf(n_docs, d))
            .collect()
    } else {
        Vec::new()
    };
    let mut feature_of_term = vec![NO_FEATURE; table.len()];
    for (feature, &(_, _, _, id)) in (0u32..).zip(&kept) {
        feature_of_term[id as usize] = feature;
    }
    let data = FeatureSpaceData {
        params: params.clone(),
        n_features: kept.len() as u32,
        term_hashes: kept.iter().map(|k| k.0).collect(),
        term_texts: kept.iter().map(|k| k.2.to_string()).collect(),
        idf,
    };
    Ok((data, feature_of_term))
}

/// A `bits`-bit hashing space, with IDF from the `subset` documents.
fn fit_hashing(
    params: &FeatureParams,
    corpus: &AnalyzedCorpus,
    subset: &[usize],
    bits: u8,
) -> FeatureSpaceData {
    let n_features = 1u32 << bits;
    let idf = if params.weighting.idf {
        // A document's buckets are distinct already.
        document_frequencies(corpus, subset, n_features as usize)
            .iter()
            .map(|&d| smooth_idf(subset.len(), d))
            .collect()
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

/// How many of the `subset` documents hold each of `ids` term ids (or
/// buckets).
fn document_frequencies(corpus: &AnalyzedCorpus, subset: &[usize], ids: usize) -> Vec<u32> {
    let mut df = vec![0u32; ids];
    for &i in subset {
        for &(id, _) in &corpus.docs[i].terms {
            df[id as usize] += 1;
        }
    }
    df
}

fn sort_by_text(kept: Vec<(u64, u32, &str, u32)>) -> Vec<(u64, u32, &str, u32)> {
    let mut order: Vec<(u128, u32)> = (0u32..)
        .zip(&kept)
        .map(|(i, k)| (text_prefix(k.2), i))
        .collect();
    order.sort_unstable_by(|a, b| {
        a.0.cmp(&b.0).then_with(|| {
            let (x, y) = (&kept[a.1 as usize], &kept[b.1 as usize]);
            x.2.cmp(y.2).then(x.0.cmp(&y.0))
        })
    });
    order.into_iter().map(|(_, i)| kept[i as usize]).collect()
}

/// The first 16 bytes of `text`, zero-padded, as a big-endian integer. If
/// two prefixes differ, they order as the texts do (byte order: a text that
/// ends first pads with 0, which no byte that can follow is below); equal prefixes
/// decide nothing.
fn text_prefix(text: &str) -> u128 {
    let mut bytes = [0u8; 16];
    let n = text.len().min(16);
    bytes[..n].copy_from_slice(&text.as_bytes()[..n]);
    u128::from_be_bytes(bytes)
}

#[inline]
fn bucket(hash: u64, bits: u8) -> u32 {
    (hash >> (64 - u32::from(bits))) as u32
}

fn smooth_idf(n_docs: usize, df: u32) -> f64 {
    ((1.0 + n_docs as f64) / (1.0 + f64::from(df))).ln() + 1.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_by_text_then_hash_whatever_the_shared_prefix() {
        let texts = [
            "zebra",
            "abcdefghijklmnopq",
            "abcdefghijklmnop",
            "abcdefghijklmnopa",
            "ab",
            "ab\0",
            "\u{e9}t\u{e9}",
            "ab",
            "",
        ];
        let kept: Vec<(u64, u32, &str, u32)> = (0u32..)
            .zip(texts)
            // Hashes run against the input order, so the tie between the two
            // "ab" is decided by hash.
            .map(|(i, t)| (100 - u64::from(i), 1, t, i))
            .collect();
        let sorted = sort_by_text(kept.clone());
        let mut expected = kept;
        expected.sort_by(|a, b| a.2.cmp(b.2).then(a.0.cmp(&b.0)));
        assert_eq!(sorted, expected);
        let ids: Vec<u32> = sorted.iter().map(|k| k.3).collect();
        assert_eq!(ids, [8, 7, 4, 5, 2, 3, 1, 0, 6]);
    }

    #[test]
    fn sublinear_tf_skips_only_the_logarithm_of_one() {
        assert_eq!(sublinear_tf(1.0).to_bits(), (1.0 + 1f64.ln()).to_bits());
        assert_eq!(sublinear_tf(3.0).to_bits(), (1.0 + 3f64.ln()).to_bits());
    }

    #[test]
    fn matrix_rows_are_the_documents_transforms() {
        let analyzer = Analyzer::new(crate::text::AnalyzerConfig::default()).unwrap();
        let mut corpus = AnalyzedCorpus::new(1);
        for text in [
            "rockets launch rockets",
            "the launch was delayed",
            "rain delayed the match",
        ] {
            corpus.push(&analyzer, text, Some(Lang::En));
        }
        let params = FeatureParams {
            mode: FeatureMode::Vocabulary {
                min_df: 1,
                max_df: 1.0,
                max_features: None,
            },
            ..FeatureParams::default()
        };
        let fitted = FeatureSpace::fit(&params, &corpus, &[0, 1, 2]).unwrap();
        let rows = [2, 0];
        let m = fitted.matrix(&corpus, &rows);
        assert_eq!(m.n_rows(), 2);
        for (r, &i) in rows.iter().enumerate() {
            let v = fitted.transform(&corpus.docs[i]);
            assert_eq!(m.row_vec(r), v);
            assert!(v.indices.windows(2).all(|w| w[0] < w[1]));
            let norm: f64 = v.values.iter().map(|x| x * x).sum();
            assert!((norm - 1.0).abs() < 1e-12);
        }
        // "rocket" occurs twice in document 0, in no other: the largest weight.
        let v = fitted.transform(&corpus.docs[0]);
        let top = v
            .iter()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(f, _)| fitted.space.term_text(f));
        assert_eq!(top, Some(Some("rocket")));
    }
}
