//! Bulk prediction from corpus files (`docclass-predict`): documents are read
//! as a stream, classified on a fixed number of threads, and written as JSON
//! lines ([`PredictionLine`]) in input order. Memory is bounded by the
//! documents in flight (a few blocks per thread), whatever the input's size.
//!
//! With one thread everything runs inline. With more, one thread reads,
//! `threads` threads classify blocks of documents, and the caller's thread
//! writes the blocks back in order. Line-per-record inputs (JSONL, fastText)
//! are handed over as lines, which the classification threads parse, so the
//! reading thread does little more than find line ends; other inputs (CSV,
//! directories), and runs that skip bad records or filter by split (where a
//! document's index is only known once the lines before it are parsed), are
//! parsed by the reading thread. A block holds its slot from the
//! moment it is read until it is written, so a slow block cannot let the
//! others pile up behind it.

use crate::corpus::{
    self, CorpusError, Document, InvalidRecord, LineParser, Location, ReadOptions, Record,
};
use crate::model::{Classification, Model};
use serde::ser::{SerializeMap, Serializer};
use std::collections::BTreeMap;
use std::io::Write;
use std::num::NonZeroUsize;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::{mpsc, Arc, Mutex};

/// One document's prediction, as one JSON line: what `docclass-predict`
/// writes and what `docclass classify --each` prints.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PredictionLine<'a> {
    /// Position in the input, from 0.
    pub index: u64,
    pub id: &'a str,
    /// The decided topics, most probable first.
    pub labels: Vec<&'a str>,
    /// ISO 639-1 code of the language the text was analysed as.
    pub language: &'a str,
    /// Topic id → probability, most probable first.
    #[serde(serialize_with = "ordered_map")]
    pub probabilities: Vec<(&'a str, f64)>,
    pub model_version: &'a str,
}

/// Pairs as a JSON object, in their order.
fn ordered_map<S: Serializer>(
    pairs: &[(&str, f64)],
    serializer: S,
) -> std::result::Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(Some(pairs.len()))?;
    for (key, value) in pairs {
        map.serialize_entry(key, value)?;
    }
    map.end()
}

impl<'a> PredictionLine<'a> {
    /// The line for document `id`, classified by `model`. `top_k` (0: all)
    /// bounds the topics listed under `probabilities`.
    pub fn new(
        model: &'a Model,
        index: u64,
        id: &'a str,
        classification: &Classification,
        top_k: usize,
    ) -> Self {
        let topics = model.topics();
        let mut ranked = classification.ranked();
        if top_k > 0 {
            ranked.truncate(top_k);
        }
        Self {
            index,
            id,
            labels: classification
                .decided
                .iter()
                .map(|&c| topics[c].id.as_str())
                .collect(),
            language: classification.language.code(),
            probabilities: ranked
                .into_iter()
                .map(|c| (topics[c].id.as_str(), classification.probabilities[c]))
                .collect(),
            model_version: model.version(),
        }
    }

    /// Appends the line, with its newline, to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        // Writing plain data into a Vec cannot fail.
        if serde_json::to_writer(&mut *out, self).is_ok() {
            out.push(b'\n');
        }
    }
}

/// How to predict.
#[derive(Debug, Clone)]
pub struct PredictOptions {
    /// How to read the inputs (labels are ignored whatever this says).
    pub read: ReadOptions,
    /// Classification threads.
    pub threads: NonZeroUsize,
    /// Topics listed per line under `probabilities` (0: all).
    pub top_k: usize,
}

/// What a run read and wrote.
#[derive(Debug, Default)]
pub struct PredictSummary {
    /// Documents classified and written.
    pub documents: u64,
    /// Bad records skipped (with `skip_invalid`).
    pub skipped: u64,
    /// The first [`corpus::SKIPPED_LISTED`] of them, for the report.
    pub skipped_examples: Vec<(Location, InvalidRecord)>,
    /// Rows the split filter left out.
    pub filtered_out: u64,
}

/// Errors of a prediction run. Lines written before the error stay written.
#[derive(Debug, thiserror::Error)]
pub enum PredictError {
    #[error(transparent)]
    Corpus(#[from] CorpusError),
    #[error("cannot write the predictions")]
    Write(#[source] std::io::Error),
    #[error("cannot start a prediction thread")]
    Spawn(#[source] std::io::Error),
    #[error("a prediction thread failed: {0}")]
    ThreadFailed(String),
}

pub type Result<T> = std::result::Result<T, PredictError>;

/// A block closes at this many documents…
const BLOCK_DOCUMENTS: usize = 256;
/// …or this many bytes of text, whichever comes first.
const BLOCK_TEXT_BYTES: usize = 1 << 20;
/// Blocks alive at once (read, queued, classified or waiting for their
/// turn to be written), per classification thread.
const BLOCKS_IN_FLIGHT_PER_THREAD: usize = 4;
/// The inline path writes whenever this much output has gathered.
const WRITE_BYTES: usize = 1 << 16;

/// Classifies every document of `inputs`, in order, writing one
/// [`PredictionLine`] per document to `out`.
pub fn predict(
    model: &Model,
    inputs: &[PathBuf],
    options: &PredictOptions,
    out: &mut dyn Write,
) -> Result<PredictSummary> {
    let read = ReadOptions {
        ignore_labels: true,
        ..options.read.clone()
    };
    let summary = match options.threads.get() {
        1 => predict_inline(model, inputs, &read, options.top_k, out)?,
        threads => predict_parallel(model, inputs, &read, options.top_k, threads, out)?,
    };
    out.flush().map_err(PredictError::Write)?;
    Ok(summary)
}

/// Reads every input in order, counting what is skipped and handing each
/// document to `on_document` until it returns `Break`.
fn read_inputs(
    inputs: &[PathBuf],
    read: &ReadOptions,
    summary: &mut PredictSummary,
    on_document: &mut dyn FnMut(Document) -> ControlFlow<()>,
) -> corpus::Result<()> {
    for path in inputs {
        let flow = corpus::visit_path(path, read, &mut |record| match record {
            Record::Document(doc) => on_document(doc),
            Record::Skipped(location, reason) => {
                summary.skipped += 1;
                if summary.skipped_examples.len() < corpus::SKIPPED_LISTED {
                    summary.skipped_examples.push((location, reason));
                }
                ControlFlow::Continue(())
            }
            Record::FilteredOut => {
                summary.filtered_out += 1;
                ControlFlow::Continue(())
            }
        })?;
        if flow.is_break() {
            break;
        }
    }
    Ok(())
}

fn write_prediction(model: &Model, index: u64, doc: &Document, top_k: usize, out: &mut Vec<u8>) {
    let classification = model.classify(&doc.full_text(), doc.lang);
    PredictionLine::new(model, index, &doc.id, &classification, top_k).write_to(out);
}

fn predict_inline(
    model: &Model,
    inputs: &[PathBuf],
    read: &ReadOptions,
    top_k: usize,
    out: &mut dyn Write,
) -> Result<PredictSummary> {
    let mut summary = PredictSummary::default();
    let mut documents = 0u64;
    let mut lines = Vec::with_capacity(WRITE_BYTES * 2);
    let mut write_error = None;
    let read_result = read_inputs(inputs, read, &mut summary, &mut |doc| {
        write_prediction(model, documents, &doc, top_k, &mut lines);
        documents += 1;
        if lines.len() >= WRITE_BYTES {
            if let Err(e) = out.write_all(&lines) {
                write_error = Some(e);
                return ControlFlow::Break(());
            }
            lines.clear();
        }
        ControlFlow::Continue(())
    });
    // What was classified before a bad record is written, then the error.
    if write_error.is_none() {
        if let Err(e) = out.write_all(&lines) {
            write_error = Some(e);
        }
    }
    if let Some(e) = write_error {
        return Err(PredictError::Write(e));
    }
    read_result?;
    summary.documents = documents;
    Ok(summary)
}

/// Documents read together, classified by one thread.
struct Block {
    seq: u64,
    first_index: u64,
    work: Work,
    text_bytes: usize,
}

/// What a block holds.
enum Work {
    /// Documents the reading thread parsed.
    Documents(Vec<Document>),
    /// Lines of input `input`, back to back in `text`, each with its end in
    /// `text` and its line number: the classification thread parses them,
    /// so that parsing runs on every thread instead of on the reader's.
    Lines {
        input: usize,
        text: String,
        lines: Vec<(usize, u64)>,
    },
}

impl Work {
    /// Empty: documents, or the lines of input `lines_of`.
    fn new(lines_of: Option<usize>) -> Self {
        match lines_of {
            None => Work::Documents(Vec::with_capacity(BLOCK_DOCUMENTS)),
            Some(input) => Work::Lines {
                input,
                text: String::new(),
                lines: Vec::with_capacity(BLOCK_DOCUMENTS),
            },
        }
    }
}

impl Block {
    fn new(seq: u64, first_index: u64, lines_of: Option<usize>) -> Self {
        Self {
            seq,
            first_index,
            work: Work::new(lines_of),
            text_bytes: 0,
        }
    }

    fn len(&self) -> usize {
        match &self.work {
            Work::Documents(documents) => documents.len(),
            Work::Lines { lines, .. } => lines.len(),
        }
    }

    fn is_full(&self) -> bool {
        self.len() >= BLOCK_DOCUMENTS || self.text_bytes >= BLOCK_TEXT_BYTES
    }

    /// This block, to be sent; an empty one, the next in sequence, takes
    /// its place, starting at document `next_index`.
    fn close(&mut self, next_index: u64, lines_of: Option<usize>) -> Block {
        let next = Block::new(self.seq + 1, next_index, lines_of);
        std::mem::replace(self, next)
    }
}

/// A classified block: its lines, or why its thread failed; and, when one
/// of its input lines was not a valid record, where and why (its lines
/// stop before that one).
struct Classified {
    seq: u64,
    documents: u64,
    lines: std::result::Result<Vec<u8>, String>,
    invalid: Option<CorpusError>,
}

/// The parsers with which the classification threads parse blocks of lines,
/// one per input, if lines are theirs to parse: when every input is read a
/// line per record, and every valid line is a document. Without
/// `skip_invalid` or a split filter, a line's document index is then known
/// as it is read (the lines before it that were not blank), and the first
/// invalid line ends the run.
fn line_parsers<'a>(paths: &'a [PathBuf], read: &'a ReadOptions) -> Option<Vec<LineParser<'a>>> {
    if read.skip_invalid || read.split.is_some() {
        return None;
    }
    paths
        .iter()
        .map(|path| LineParser::for_path(path, read))
        .collect()
}

fn predict_parallel(
    model: &Model,
    inputs: &[PathBuf],
    read: &ReadOptions,
    top_k: usize,
    threads: usize,
    out: &mut dyn Write,
) -> Result<PredictSummary> {
    let in_flight = threads * BLOCKS_IN_FLIGHT_PER_THREAD;
    let line_parsers = line_parsers(inputs, read);
    let line_parsers = line_parsers.as_deref();
    std::thread::scope(|scope| {
        let (block_tx, block_rx) = mpsc::sync_channel::<Block>(threads);
        // Shared by the classification threads only, so that when they
        // have all stopped the reader's sends fail instead of blocking.
        let block_rx = Arc::new(Mutex::new(block_rx));
        let (classified_tx, classified_rx) = mpsc::channel::<Classified>();
        // A block takes a slot before it is queued and gives it back once
        // written: at most `in_flight` blocks are alive at once.
        let (slot_tx, slot_rx) = mpsc::sync_channel::<()>(in_flight);
        for _ in 0..in_flight {
            let _ = slot_tx.send(());
        }

        let by_lines = line_parsers.is_some();
        let reader = std::thread::Builder::new()
            .name("docclass-read".into())
            .spawn_scoped(scope, move || {
                read_blocks(inputs, read, by_lines, &block_tx, &slot_rx)
            })
            .map_err(PredictError::Spawn)?;
        for i in 0..threads {
            let block_rx = Arc::clone(&block_rx);
            let classified_tx = classified_tx.clone();
            std::thread::Builder::new()
                .name(format!("docclass-predict-{i}"))
                .spawn_scoped(scope, move || {
                    classify_blocks(model, top_k, line_parsers, &block_rx, &classified_tx)
                })
                .map_err(PredictError::Spawn)?;
        }
        drop((block_rx, classified_tx));

        let written = write_in_order(classified_rx, slot_tx, out);
        let (read_result, blocks_sent) = reader
            .join()
            .map_err(|_| PredictError::ThreadFailed("the reading thread panicked".into()))?;
        let (documents, blocks_written) = written?;
        if blocks_written != blocks_sent {
            return Err(PredictError::ThreadFailed(format!(
                "{} of {blocks_sent} blocks were never classified",
                blocks_sent.saturating_sub(blocks_written)
            )));
        }
        // A bad record: what came before it is written, then the error.
        let mut summary = read_result?;
        summary.documents = documents;
        Ok(summary)
    })
}

/// The reading thread: blocks of documents (or, `by_lines`, of lines) to
/// the classification threads, each after taking a slot. Returns what was
/// read and the number of blocks sent; on a corpus error, the blocks read
/// before it are still sent.
fn read_blocks(
    inputs: &[PathBuf],
    read: &ReadOptions,
    by_lines: bool,
    block_tx: &mpsc::SyncSender<Block>,
    slot_rx: &mpsc::Receiver<()>,
) -> (corpus::Result<PredictSummary>, u64) {
    let mut summary = PredictSummary::default();
    let lines_of = |input: usize| by_lines.then_some(input);
    let mut block = Block::new(0, 0, lines_of(0));
    let mut next_index = 0u64;
    // False once the writer or the classification threads have stopped.
    let send = |block: Block| slot_rx.recv().is_ok() && block_tx.send(block).is_ok();
    let read_result = if by_lines {
        let mut result = Ok(());
        for (input, path) in inputs.iter().enumerate() {
            if block.len() > 0 {
                if !send(block.close(next_index, lines_of(input))) {
                    break;
                }
            } else {
                block.work = Work::new(lines_of(input));
            }
            let visited = corpus::visit_lines(path, &mut |line, line_no| {
                if let Work::Lines { text, lines, .. } = &mut block.work {
                    text.push_str(line);
                    lines.push((text.len(), line_no));
                }
                block.text_bytes += line.len();
                next_index += 1;
                if block.is_full() && !send(block.close(next_index, lines_of(input))) {
                    return ControlFlow::Break(());
                }
                ControlFlow::Continue(())
            });
            match visited {
                Ok(ControlFlow::Continue(())) => {}
                Ok(ControlFlow::Break(())) => break,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        result
    } else {
        read_inputs(inputs, read, &mut summary, &mut |doc| {
            block.text_bytes += doc.text.len() + doc.title.as_ref().map_or(0, String::len);
            if let Work::Documents(documents) = &mut block.work {
                documents.push(doc);
            }
            next_index += 1;
            if block.is_full() && !send(block.close(next_index, None)) {
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        })
    };
    let mut sent = block.seq;
    if block.len() > 0 && send(block) {
        sent += 1;
    }
    (read_result.map(|()| summary), sent)
}

/// A classification thread: blocks in, lines out, until either side closes.
fn classify_blocks(
    model: &Model,
    top_k: usize,
    line_parsers: Option<&[LineParser<'_>]>,
    block_rx: &Mutex<mpsc::Receiver<Block>>,
    classified_tx: &mpsc::Sender<Classified>,
) {
    loop {
        let block = match block_rx.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        let Ok(block) = block else { return };
        let mut documents = block.len() as u64;
        let mut invalid = None;
        let lines = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut out = Vec::with_capacity(block.text_bytes / 4 + 4096);
            match &block.work {
                Work::Documents(docs) => {
                    for (index, doc) in (block.first_index..).zip(docs) {
                        write_prediction(model, index, doc, top_k, &mut out);
                    }
                }
                Work::Lines { input, text, lines } => {
                    // The reader only makes blocks of lines for inputs that
                    // have a parser; this would be a bug, said as such.
                    let Some(parser) = line_parsers.and_then(|parsers| parsers.get(*input)) else {
                        return Err(format!("no line parser for input {input}"));
                    };
                    let mut start = 0;
                    for (index, &(end, line_no)) in (block.first_index..).zip(lines) {
                        let line = text.get(start..end).unwrap_or_default();
                        start = end;
                        match parser.parse(line, line_no) {
                            Ok(doc) => write_prediction(model, index, &doc, top_k, &mut out),
                            Err(error) => {
                                documents = index - block.first_index;
                                invalid = Some(error);
                                break;
                            }
                        }
                    }
                }
            }
            Ok(out)
        }))
        .map_err(|panic| {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            format!(
                "classifying documents {}–{} panicked: {what}",
                block.first_index,
                block.first_index + block.len() as u64
            )
        })
        .and_then(|lines| lines);
        let classified = Classified {
            seq: block.seq,
            documents,
            lines,
            invalid,
        };
        if classified_tx.send(classified).is_err() {
            return;
        }
    }
}

/// The caller's thread: writes classified blocks in sequence order, giving
/// each one's slot back once written. Returns the documents and blocks
/// written.
fn write_in_order(
    classified_rx: mpsc::Receiver<Classified>,
    slot_tx: mpsc::SyncSender<()>,
    out: &mut dyn Write,
) -> Result<(u64, u64)> {
    let mut waiting: BTreeMap<u64, Classified> = BTreeMap::new();
    let (mut next_seq, mut documents) = (0u64, 0u64);
    for classified in classified_rx {
        waiting.insert(classified.seq, classified);
        while let Some(block) = waiting.remove(&next_seq) {
            // Returning here drops the receiver and the slots, which stops
            // the reader and the classification threads.
            let lines = block.lines.map_err(PredictError::ThreadFailed)?;
            out.write_all(&lines).map_err(PredictError::Write)?;
            documents += block.documents;
            // A bad record: what came before it is written, then the error.
            if let Some(invalid) = block.invalid {
                return Err(PredictError::Corpus(invalid));
            }
            next_seq += 1;
            let _ = slot_tx.send(());
        }
    }
    Ok((documents, next_seq))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probabilities_serialise_as_an_object_in_rank_order() {
        let line = PredictionLine {
            index: 3,
            id: "a\"b",
            labels: vec!["war"],
            language: "en",
            probabilities: vec![("war", 0.75), ("aid", 0.25)],
            model_version: "v",
        };
        let mut out = Vec::new();
        line.write_to(&mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"index\":3,\"id\":\"a\\\"b\",\"labels\":[\"war\"],\"language\":\"en\",\
             \"probabilities\":{\"war\":0.75,\"aid\":0.25},\"model_version\":\"v\"}\n"
        );
    }
}
