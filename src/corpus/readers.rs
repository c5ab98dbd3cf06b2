//! The four readers. Each turns records into documents or `InvalidRecord`s,
//! in input order, reading its file a line (or a CSV record) at a time so
//! memory does not grow with the file; [`Sink`] applies the skip-or-stop
//! policy in one place and hands each [`Record`] to the caller.
use super::{Corpus, CorpusError, Document, Format, InvalidRecord, Location, ReadOptions, Result};
use crate::text::Lang;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

/// What a reader yields, in input order.
#[derive(Debug)]
pub enum Record {
    Document(Document),
    /// A bad record, with `skip_invalid` (else reading stops with an error).
    Skipped(Location, InvalidRecord),
    /// A valid document that the split filter leaves out.
    FilteredOut,
}

/// Hands records to the caller, stopping or skipping on bad ones.
struct Sink<'a> {
    options: &'a ReadOptions,
    /// For errors that say what the format expects.
    format: Format,
    visit: &'a mut dyn FnMut(Record) -> ControlFlow<()>,
}

impl Sink<'_> {
    /// Passes one record on; `Break` when the caller wants no more.
    fn record(
        &mut self,
        location: Location,
        record: std::result::Result<Document, InvalidRecord>,
    ) -> Result<ControlFlow<()>> {
        // Labels are checked here, where it is known whether they are wanted.
        let record = record.and_then(|doc| apply_label_policy(doc, self.options, self.format));
        match record {
            Ok(doc) => {
                let record = self.keep(doc);
                Ok((self.visit)(record))
            }
            Err(reason) if self.options.skip_invalid => {
                Ok((self.visit)(Record::Skipped(location, reason)))
            }
            Err(reason) => Err(CorpusError::Invalid { location, reason }),
        }
    }

    /// A valid document, unless the split filter leaves it out.
    fn keep(&self, doc: Document) -> Record {
        if let Some(split) = &self.options.split {
            if doc.split.as_deref() != Some(split.as_str()) {
                return Record::FilteredOut;
            }
        }
        Record::Document(doc)
    }
}

/// A file opened for reading, through gzip when its name ends in `.gz`.
struct Input<'p> {
    path: &'p Path,
    gzip: bool,
    reader: Box<dyn BufRead + Send + 'p>,
}

impl<'p> Input<'p> {
    fn open(path: &'p Path) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(io_err(path))?;
        let gzip = super::is_gzip(path);
        let reader: Box<dyn BufRead + Send> = if gzip {
            Box::new(BufReader::with_capacity(
                READ_BUFFER,
                flate2::read::MultiGzDecoder::new(BufReader::new(file)),
            ))
        } else {
            Box::new(BufReader::with_capacity(READ_BUFFER, file))
        };
        Ok(Self { path, gzip, reader })
    }

    /// A read error, saying so when the file is not valid gzip.
    fn error(&self, e: std::io::Error) -> CorpusError {
        let source = if self.gzip {
            std::io::Error::new(e.kind(), format!("not valid gzip: {e}"))
        } else {
            e
        };
        CorpusError::Io {
            path: self.path.to_path_buf(),
            source,
        }
    }

    /// The next line into `line` (cleared first), without its `\n`; false at
    /// the end of the file.
    fn next_line(&mut self, line: &mut Vec<u8>) -> Result<bool> {
        line.clear();
        let n = self
            .reader
            .read_until(b'\n', line)
            .map_err(|e| self.error(e))?;
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        Ok(n > 0)
    }
}

/// Read buffer per open file.
const READ_BUFFER: usize = 256 << 10;

/// Reads one input path into memory.
pub fn read_path(path: &Path, options: &ReadOptions) -> Result<Corpus> {
    let mut corpus = Corpus::default();
    // Nothing here stops the read early.
    let _ = visit_path(path, options, &mut |record| {
        match record {
            Record::Document(doc) => corpus.documents.push(doc),
            Record::Skipped(location, reason) => corpus.skipped.push((location, reason)),
            Record::FilteredOut => corpus.filtered_out += 1,
        }
        ControlFlow::Continue(())
    })?;
    Ok(corpus)
}

/// Reads one input path record by record, in input order, handing each to
/// `visit` until it returns `Break` (then this returns `Break` too). Memory
/// is bounded by the longest record, not the file.
pub fn visit_path(
    path: &Path,
    options: &ReadOptions,
    visit: &mut dyn FnMut(Record) -> ControlFlow<()>,
) -> Result<ControlFlow<()>> {
    let format = match options.format {
        Some(f) => f,
        None => {
            Format::detect(path).ok_or_else(|| CorpusError::UnknownFormat(path.to_path_buf()))?
        }
    };
    let mut sink = Sink {
        options,
        format,
        visit,
    };
    match (format, line_parser(format)) {
        (_, Some(parse)) => read_lines(path, &mut sink, parse),
        (Format::Csv, None) => read_csv(path, &mut sink),
        // Every other format without a line parser: a directory.
        (_, None) => read_dir(path, &mut sink),
    }
}

/// Parses one line of a line-per-record file into a document.
type ParseLine = fn(&str, DefaultId<'_>) -> std::result::Result<Document, InvalidRecord>;

/// The line parser of a line-per-record format (JSONL or fastText).
fn line_parser(format: Format) -> Option<ParseLine> {
    match format {
        Format::Jsonl => Some(parse_jsonl_line),
        Format::FastText => Some(parse_fasttext_line),
        Format::Csv | Format::Directory => None,
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> CorpusError + '_ {
    move |source| CorpusError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn read_lines(path: &Path, sink: &mut Sink<'_>, parse: ParseLine) -> Result<ControlFlow<()>> {
    let name = path.display().to_string();
    visit_raw_lines(path, &mut |line, line_no| {
        let location = Location {
            path: path.to_path_buf(),
            line: Some(line_no),
        };
        let record = line.and_then(|line| {
            parse(
                line,
                DefaultId {
                    file: &name,
                    line: line_no,
                },
            )
        });
        sink.record(location, record)
    })
}

/// A line of a line-per-record file, or why it is not one (not UTF-8).
type LineOrWhyNot<'a> = std::result::Result<&'a str, InvalidRecord>;

/// The non-blank lines of a line-per-record file with their numbers (from
/// 1), or why a line is not UTF-8, until `visit` says `Break` or fails. A
/// byte order mark before line 1 and a `\r` before each `\n` are not part of
/// the lines.
fn visit_raw_lines(
    path: &Path,
    visit: &mut dyn FnMut(LineOrWhyNot<'_>, u64) -> Result<ControlFlow<()>>,
) -> Result<ControlFlow<()>> {
    let mut input = Input::open(path)?;
    let mut raw = Vec::new();
    let mut line_no = 0u64;
    while input.next_line(&mut raw)? {
        line_no += 1;
        // A UTF-8 byte order mark (Windows tools write one) is not part of line 1.
        let line = match line_no {
            1 => raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&raw),
            _ => &raw[..],
        };
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let line = match std::str::from_utf8(line) {
            Ok(line) if line.trim().is_empty() => continue,
            Ok(line) => Ok(line),
            Err(e) => Err(InvalidRecord::InvalidUtf8(e.valid_up_to())),
        };
        if visit(line, line_no)?.is_break() {
            return Ok(ControlFlow::Break(()));
        }
    }
    Ok(ControlFlow::Continue(()))
}

/// A line-per-record file read as lines, for callers that parse the lines
/// elsewhere (on other threads): [`LineParser::parse`] gives each line's
/// record exactly as [`visit_path`] would.
pub struct LineParser<'a> {
    path: &'a Path,
    /// `path` as errors and default ids show it.
    name: String,
    options: &'a ReadOptions,
    format: Format,
    parse: ParseLine,
}

impl<'a> LineParser<'a> {
    /// The parser for `path`, if its format is a line-per-record one (JSONL
    /// or fastText).
    pub fn for_path(path: &'a Path, options: &'a ReadOptions) -> Option<LineParser<'a>> {
        let format = options.format.or_else(|| Format::detect(path))?;
        let parse = line_parser(format)?;
        Some(LineParser {
            path,
            name: path.display().to_string(),
            options,
            format,
            parse,
        })
    }

    /// Line `line_no` of the file: a document, after the label policy of
    /// the options, or the error [`visit_path`] would stop at. The split
    /// filter and `skip_invalid` are the caller's.
    pub fn parse(&self, line: &str, line_no: u64) -> Result<Document> {
        let id = DefaultId {
            file: &self.name,
            line: line_no,
        };
        (self.parse)(line, id)
            .and_then(|doc| apply_label_policy(doc, self.options, self.format))
            .map_err(|reason| CorpusError::Invalid {
                location: Location {
                    path: self.path.to_path_buf(),
                    line: Some(line_no),
                },
                reason,
            })
    }
}

/// The non-blank lines of `path` with their numbers, as [`LineParser`]'s
/// callers read them; a line that is not UTF-8 is an error
/// ([`CorpusError::Invalid`]).
pub fn visit_lines(
    path: &Path,
    visit: &mut dyn FnMut(&str, u64) -> ControlFlow<()>,
) -> Result<ControlFlow<()>> {
    visit_raw_lines(path, &mut |line, line_no| match line {
        Ok(line) => Ok(visit(line, line_no)),
        Err(reason) => Err(CorpusError::Invalid {
            location: Location {
                path: path.to_path_buf(),
                line: Some(line_no),
            },
            reason,
        }),
    })
}

/// Labels dropped when they are not wanted, else checked.
fn apply_label_policy(
    mut doc: Document,
    options: &ReadOptions,
    format: Format,
) -> std::result::Result<Document, InvalidRecord> {
    if options.ignore_labels {
        doc.labels.clear();
        return Ok(doc);
    }
    check_labels(&doc, format).map(|()| doc)
}
/// Every reader's check of a record's text; labels are checked by [`Sink`],
/// which knows whether they are wanted.
fn check_text(doc: Document) -> std::result::Result<Document, InvalidRecord> {
    if doc.text.trim().is_empty() {
        return Err(InvalidRecord::EmptyText);
    }
    Ok(doc)
}

fn check_labels(doc: &Document, format: Format) -> std::result::Result<(), InvalidRecord> {
    if doc.labels.is_empty() {
        return Err(match format {
            Format::FastText => InvalidRecord::MissingFastTextLabels,
            _ => InvalidRecord::MissingLabels,
        });
    }
    if doc.labels.iter().any(|l| l.trim().is_empty()) {
        return Err(InvalidRecord::EmptyLabel);
    }
    Ok(())
}

/// Takes `key` out of `obj` as a string, if present: moved, not copied (a
/// text is most of a line's bytes).
fn take_string(
    obj: &mut serde_json::Map<String, Value>,
    key: &'static str,
) -> std::result::Result<Option<String>, InvalidRecord> {
    match obj.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Number(n)) if key == "id" => Ok(Some(n.to_string())),
        Some(_) => Err(InvalidRecord::FieldType(key, "expected a string")),
    }
}

fn parse_jsonl_line(
    line: &str,
    default_id: DefaultId<'_>,
) -> std::result::Result<Document, InvalidRecord> {
    let value: Value =
        serde_json::from_str(line).map_err(|e| InvalidRecord::Json(e.to_string()))?;
    let Value::Object(mut obj) = value else {
        return Err(InvalidRecord::Json("expected a JSON object".into()));
    };
    let text = take_string(&mut obj, "text")?.ok_or(InvalidRecord::MissingField("text"))?;
    let labels = match obj.remove("labels").or_else(|| obj.remove("label")) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => vec![s],
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                Value::Number(n) => Ok(n.to_string()),
                _ => Err(InvalidRecord::FieldType("labels", "expected strings")),
            })
            .collect::<std::result::Result<_, _>>()?,
        Some(_) => {
            return Err(InvalidRecord::FieldType(
                "labels",
                "expected a list of strings",
            ))
        }
    };
    let lang = match take_string(&mut obj, "lang")? {
        Some(code) => Some(code.parse::<Lang>().map_err(InvalidRecord::Lang)?),
        None => None,
    };
    check_text(Document {
        id: take_string(&mut obj, "id")?.unwrap_or_else(|| default_id.to_string()),
        title: take_string(&mut obj, "title")?,
        text,
        labels,
        lang,
        split: take_string(&mut obj, "split")?,
    })
}

/// A document's id when its record gives none: `file:line`. Formatted only
/// when needed.
#[derive(Clone, Copy)]
struct DefaultId<'a> {
    file: &'a str,
    line: u64,
}

impl std::fmt::Display for DefaultId<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

const FASTTEXT_PREFIX: &str = "__label__";

fn parse_fasttext_line(
    line: &str,
    default_id: DefaultId<'_>,
) -> std::result::Result<Document, InvalidRecord> {
    let mut labels = Vec::new();
    let mut rest = line.trim_start();
    while let Some(after) = rest.strip_prefix(FASTTEXT_PREFIX) {
        let end = after.find(char::is_whitespace).unwrap_or(after.len());
        labels.push(after[..end].to_string());
        rest = after[end..].trim_start();
    }
    check_text(Document {
        id: default_id.to_string(),
        title: None,
        text: rest.to_string(),
        labels,
        lang: None,
        split: None,
    })
}

fn read_csv(path: &Path, sink: &mut Sink<'_>) -> Result<ControlFlow<()>> {
    let options = sink.options;
    let mut input = Input::open(path)?;
    // The header line decides the delimiter; the CSV reader then reads it
    // again, followed by the rest of the file.
    let mut header = Vec::new();
    input.next_line(&mut header)?;
    let delimiter = options
        .csv_delimiter
        .unwrap_or_else(|| guess_delimiter(path, &header));
    header.push(b'\n');
    let Input {
        gzip, reader: rest, ..
    } = input;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .delimiter(delimiter)
        .from_reader(std::io::Cursor::new(header).chain(rest));
    let headers = reader
        .byte_headers()
        .map_err(|e| csv_io(path, gzip, e))?
        .clone();
    let find = |name: &str| headers.iter().position(|h| h == name.as_bytes());
    let column = |role: &'static str, name: &str| -> Result<usize> {
        find(name).ok_or_else(|| CorpusError::MissingColumn {
            path: path.to_path_buf(),
            role,
            column: name.to_string(),
            available: headers
                .iter()
                .map(|h| String::from_utf8_lossy(h).into_owned())
                .collect::<Vec<_>>()
                .join(", "),
        })
    };
    let text_col = column("text", &options.csv_text_column)?;
    // An unlabelled corpus needs no label column. Under the default name
    // `labels`, a file that has `label` instead uses it.
    let label_col = if options.ignore_labels {
        None
    } else {
        let default_name = options.csv_label_column == ReadOptions::default().csv_label_column;
        match find(&options.csv_label_column) {
            Some(i) => Some(i),
            None if default_name && find("label").is_some() => find("label"),
            None => Some(column("label", &options.csv_label_column)?),
        }
    };
    let title_col = options
        .csv_title_column
        .as_deref()
        .map(|name| column("title", name))
        .transpose()?;
    let mut record = csv::ByteRecord::new();
    loop {
        let line = reader.position().line();
        let location = Location {
            path: path.to_path_buf(),
            line: Some(line),
        };
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record.position().map_or(line, |p| p.line());
                let location = Location {
                    line: Some(line),
                    ..location
                };
                let field = |i: usize| -> std::result::Result<String, InvalidRecord> {
                    let bytes = record.get(i).unwrap_or_default();
                    std::str::from_utf8(bytes)
                        .map(str::to_string)
                        .map_err(|e| InvalidRecord::InvalidUtf8(e.valid_up_to()))
                };
                let doc = (|| {
                    let labels = match label_col {
                        Some(col) => field(col)?
                            .split(options.csv_label_separator)
                            .map(|l| l.trim().to_string())
                            .filter(|l| !l.is_empty())
                            .collect(),
                        None => Vec::new(),
                    };
                    check_text(Document {
                        id: format!("{}:{line}", path.display()),
                        title: title_col.map(field).transpose()?,
                        text: field(text_col)?,
                        labels,
                        lang: None,
                        split: None,
                    })
                })();
                if sink.record(location, doc)?.is_break() {
                    return Ok(ControlFlow::Break(()));
                }
            }
            Err(e) => {
                if let csv::ErrorKind::Io(_) = e.kind() {
                    return Err(csv_io(path, gzip, e));
                }
                let flow = sink.record(location, Err(InvalidRecord::Csv(e.to_string())))?;
                if flow.is_break() || !sink.options.skip_invalid {
                    return Ok(flow);
                }
            }
        }
    }
    Ok(ControlFlow::Continue(()))
}

/// A tab for `.tsv` files (`.tsv.gz` too); otherwise whichever of `,` `;`
/// and tab splits the header row into the most fields (`,` on a tie).
fn guess_delimiter(path: &Path, header: &[u8]) -> u8 {
    let name = path.to_string_lossy().to_ascii_lowercase();
    if name.ends_with(".tsv") || name.ends_with(".tsv.gz") {
        return b'\t';
    }
    let count = |d: u8| header.iter().filter(|&&b| b == d).count();
    [b';', b'\t'].into_iter().fold(
        b',',
        |best, d| if count(d) > count(best) { d } else { best },
    )
}

fn csv_io(path: &Path, gzip: bool, e: csv::Error) -> CorpusError {
    let message = match gzip {
        true => format!("not valid gzip: {e}"),
        false => e.to_string(),
    };
    CorpusError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(message),
    }
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut entries = std::fs::read_dir(dir)
        .map_err(io_err(dir))?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(io_err(dir))?;
    entries.sort();
    Ok(entries)
}

fn read_dir(root: &Path, sink: &mut Sink<'_>) -> Result<ControlFlow<()>> {
    for label_dir in sorted_entries(root)? {
        if !label_dir.is_dir() {
            continue;
        }
        let Some(label) = label_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
        else {
            continue;
        };
        if label.starts_with('.') {
            continue;
        }
        for file in sorted_entries(&label_dir)? {
            let hidden = file
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'));
            if !file.is_file() || hidden {
                continue;
            }
            let bytes = std::fs::read(&file).map_err(io_err(&file))?;
            let location = Location {
                path: file.clone(),
                line: None,
            };
            let record = match String::from_utf8(bytes) {
                Ok(text) => check_text(Document {
                    id: file
                        .strip_prefix(root)
                        .unwrap_or(&file)
                        .display()
                        .to_string(),
                    title: None,
                    text,
                    labels: vec![label.clone()],
                    lang: None,
                    split: None,
                }),
                Err(e) => Err(InvalidRecord::InvalidUtf8(e.utf8_error().valid_up_to())),
            };
            if sink.record(location, record)?.is_break() {
                return Ok(ControlFlow::Break(()));
            }
        }
    }
    Ok(ControlFlow::Continue(()))
}
