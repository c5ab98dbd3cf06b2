//! Corpus readers: JSONL, CSV, fastText and directory trees (files may be
//! gzip-compressed, `.jsonl.gz`), into [`Document`]s, either all at once
//! ([`read_path`]) or one record at a time ([`visit_path`], for inputs
//! larger than memory). Every bad record is reported as `file:line` with a
//! reason; with `skip_invalid` such records are counted and skipped instead.
//! Unlabelled corpora are read with `ignore_labels`.

mod readers;

pub use readers::{read_path, visit_lines, visit_path, LineParser, Record};

use crate::text::Lang;
use serde::Serialize;
use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};

/// One document, labelled unless read with `ignore_labels`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Document {
    pub id: String,
    pub title: Option<String>,
    pub text: String,
    pub labels: Vec<String>,
    pub lang: Option<Lang>,
    pub split: Option<String>,
}

impl Document {
    /// The text the classifier sees: title and body (the body alone,
    /// borrowed, when there is no title).
    pub fn full_text(&self) -> Cow<'_, str> {
        match &self.title {
            Some(t) if !t.trim().is_empty() => Cow::Owned(format!("{t}\n\n{}", self.text)),
            _ => Cow::Borrowed(&self.text),
        }
    }
}

/// Input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per line: `text`, `labels`, optional `id`, `title`, `lang`, `split`.
    Jsonl,
    /// A CSV file with a header row; columns named in [`ReadOptions`].
    Csv,
    /// fastText: `__label__a __label__b text`.
    FastText,
    /// A directory whose sub-folders are labels, one document per file.
    Directory,
}

impl Format {
    /// Guesses the format from the path: a directory, or the file extension
    /// (under a `.gz` one).
    pub fn detect(path: &Path) -> Option<Format> {
        if path.is_dir() {
            return Some(Format::Directory);
        }
        let path = if is_gzip(path) {
            Path::new(path.file_stem()?)
        } else {
            path
        };
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "jsonl" | "ndjson" => Some(Format::Jsonl),
            "csv" | "tsv" => Some(Format::Csv),
            "txt" | "ft" | "fasttext" => Some(Format::FastText),
            _ => None,
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "jsonl" => Ok(Format::Jsonl),
            "csv" => Ok(Format::Csv),
            "fasttext" => Ok(Format::FastText),
            "dir" | "directory" => Ok(Format::Directory),
            other => Err(format!(
                "unknown format {other:?} (expected jsonl, csv, fasttext or dir)"
            )),
        }
    }
}

/// Whether a file is read through gzip (its name ends in `.gz`).
pub fn is_gzip(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"))
}

/// How to read a corpus.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// `None`: detect from the path.
    pub format: Option<Format>,
    /// Keep only JSONL rows whose `split` equals this.
    pub split: Option<String>,
    /// Skip and count bad records instead of stopping at the first.
    pub skip_invalid: bool,
    pub csv_text_column: String,
    pub csv_label_column: String,
    pub csv_title_column: Option<String>,
    /// Separates several labels inside one CSV cell.
    pub csv_label_separator: char,
    /// The CSV field delimiter; `None`: a tab for `.tsv` files, else
    /// whichever of `,` `;` and tab splits the header row into the most
    /// columns (`,` on a tie).
    pub csv_delimiter: Option<u8>,
    /// Read documents without labels (an unlabelled corpus): labels are not
    /// required, and any given are dropped.
    pub ignore_labels: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self {
            format: None,
            split: None,
            skip_invalid: false,
            csv_text_column: "text".into(),
            csv_label_column: "labels".into(),
            csv_title_column: None,
            csv_label_separator: '|',
            csv_delimiter: None,
            ignore_labels: false,
        }
    }
}

/// Where a record came from: `file:line`, or a file for directory corpora.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub path: PathBuf,
    pub line: Option<u64>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}", self.path.display()),
            None => write!(f, "{}", self.path.display()),
        }
    }
}

/// Why a record is invalid.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InvalidRecord {
    #[error("invalid UTF-8 at byte {0} of the line")]
    InvalidUtf8(usize),
    #[error("malformed JSON: {0}")]
    Json(String),
    #[error("malformed CSV: {0}")]
    Csv(String),
    #[error("field {0:?} has the wrong type: {1}")]
    FieldType(&'static str, &'static str),
    #[error("missing field {0:?}")]
    MissingField(&'static str),
    #[error("empty text")]
    EmptyText,
    #[error("no labels")]
    MissingLabels,
    #[error(
        "no labels (a fastText line starts with __label__NAME, e.g. `__label__sport The match…`)"
    )]
    MissingFastTextLabels,
    #[error("empty label")]
    EmptyLabel,
    #[error("{0}")]
    Lang(String),
}

/// Errors reading a corpus.
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{location}: {reason}")]
    Invalid {
        location: Location,
        reason: InvalidRecord,
    },
    #[error("cannot tell the format of {0} (use a .jsonl, .csv, .tsv or .txt extension, optionally followed by .gz, a directory, or --format)")]
    UnknownFormat(PathBuf),
    #[error("{path}: CSV has no {role} column {column:?} (columns: {available}; choose one with --csv-{role}-column)")]
    MissingColumn {
        path: PathBuf,
        /// `text`, `label` or `title`.
        role: &'static str,
        column: String,
        available: String,
    },
}

pub type Result<T> = std::result::Result<T, CorpusError>;

/// Skipped records that a report lists one by one; the rest are counted.
pub const SKIPPED_LISTED: usize = 20;

/// What a read produced: the documents, and the records skipped.
#[derive(Debug, Default)]
pub struct Corpus {
    pub documents: Vec<Document>,
    pub skipped: Vec<(Location, InvalidRecord)>,
    /// Rows left out by the split filter.
    pub filtered_out: usize,
}

impl Corpus {
    /// Reads several inputs into one corpus, in order.
    pub fn read_all(paths: &[PathBuf], options: &ReadOptions) -> Result<Corpus> {
        let mut all = Corpus::default();
        for p in paths {
            let c = read_path(p, options)?;
            all.documents.extend(c.documents);
            all.skipped.extend(c.skipped);
            all.filtered_out += c.filtered_out;
        }
        Ok(all)
    }

    /// Distinct labels in first-seen order.
    pub fn labels(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for d in &self.documents {
            for l in &d.labels {
                if !out.contains(l) {
                    out.push(l.clone());
                }
            }
        }
        out
    }
}

/// Small corpora for the unit tests of the layers above.
#[cfg(test)]
pub(crate) mod testing {
    use super::Document;

    /// Six words of a "war" topic and six of a "money" topic.
    pub(crate) const TOPIC_WORDS: [[&str; 6]; 2] = [
        [
            "army",
            "troops",
            "rebels",
            "artillery",
            "militia",
            "soldiers",
        ],
        ["bank", "markets", "budget", "exports", "stocks", "currency"],
    ];

    /// Document `d{i}` in English with these labels and text.
    pub(crate) fn doc(i: usize, labels: &[&str], text: &str) -> Document {
        Document {
            id: format!("d{i}"),
            title: None,
            text: text.to_string(),
            labels: labels.iter().map(|s| s.to_string()).collect(),
            lang: Some(crate::text::Lang::En),
            split: None,
        }
    }
}
