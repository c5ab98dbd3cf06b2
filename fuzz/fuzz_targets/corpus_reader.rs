//! Fuzz target `corpus_reader`: arbitrary bytes as a corpus file read by
//! `docclass::corpus::read_path` (what `docclass-train` reads): JSONL, CSV
//! (comma, semicolon or tab, guessed or from a `.tsv` name) and fastText,
//! plain or gzip-compressed, with the reading options that change what a
//! record must hold. It must give documents or a clean error: never panic,
//! hang or exhaust memory.
//!
//! Input: byte 0 is a selector; the rest is the file's content, written to a
//! scratch file (the readers take a path) under the temporary directory.
//! Selector bits 0–1: the format (JSONL, CSV, fastText, CSV named `.tsv`);
//! bit 2: the content is compressed first (a `.gz` file that decodes to the
//! rest); bit 3: the rest is taken as the bytes of a `.gz` file as they are
//! (bit 2 wins); bit 4: `ignore_labels`; bit 5: keep only `split` = `train`;
//! bit 6: CSV `title` column and `;` between labels; bit 7: the format is
//! detected from the file name instead of given.
//!
//! Oracle: each file is read twice, stopping at the first bad record and
//! skipping bad records. Both succeed with the same documents and nothing
//! skipped, or the first fails at the record the second skips first, for the
//! same reason, or both fail with the same error. Every document kept has a
//! non-blank text, labels as the options ask (none when ignored, else
//! non-blank ones, fastText labels without spaces), and the asked split;
//! skipped lines are lines of the file. A compressed file reads as its
//! plain content does.
#![no_main]

use docclass::corpus::{read_path, Corpus, CorpusError, Format, ReadOptions};
use libfuzzer_sys::fuzz_target;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

/// A scratch directory for this process's files: in memory (`/dev/shm`)
/// where there is one, else under the temporary directory.
static SCRATCH: LazyLock<PathBuf> = LazyLock::new(|| {
    let shm = Path::new("/dev/shm");
    let parent = if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    let dir = parent.join(format!("docclass-fuzz-corpus-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create the scratch directory");
    dir
});

/// A scratch file, removed when dropped, so that a run leaves only an empty
/// directory behind.
struct ScratchFile(PathBuf);

impl Drop for ScratchFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Writes `bytes` to a new file `name` in the scratch directory. A new file,
/// not a truncated one: ext4 flushes a file rewritten after truncation to
/// disk when it is closed, which made every execution wait on the disk.
fn write(name: &str, bytes: &[u8]) -> ScratchFile {
    let path = SCRATCH.join(name);
    let _ = std::fs::remove_file(&path);
    std::fs::write(&path, bytes).expect("write the scratch file");
    ScratchFile(path)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("gzip into memory");
    encoder.finish().expect("gzip into memory")
}

/// Checks what a successful read kept.
fn check_corpus(corpus: &Corpus, options: &ReadOptions, format: Format, content: Option<&[u8]>) {
    for doc in &corpus.documents {
        assert!(!doc.text.trim().is_empty(), "{doc:?}");
        assert!(doc.full_text().contains(&doc.text));
        if options.ignore_labels {
            assert!(doc.labels.is_empty(), "{doc:?}");
        } else {
            assert!(!doc.labels.is_empty(), "{doc:?}");
            assert!(doc.labels.iter().all(|l| !l.trim().is_empty()), "{doc:?}");
        }
        if format == Format::FastText {
            assert!(doc.labels.iter().all(|l| !l.contains(char::is_whitespace)));
            assert!(!doc.text.starts_with("__label__"), "{doc:?}");
        }
        if let Some(split) = &options.split {
            assert_eq!(doc.split.as_ref(), Some(split), "{doc:?}");
        }
    }
    let labels = corpus.labels();
    assert!(labels
        .iter()
        .enumerate()
        .all(|(i, l)| !labels[..i].contains(l)));
    // Line-based formats: a skipped line is a line of the file.
    if let (Some(content), Format::Jsonl | Format::FastText) = (content, format) {
        let lines = content.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
        for (location, _) in &corpus.skipped {
            let line = location.line.expect("a line-based record has a line");
            assert!((1..=lines).contains(&line), "{location} of {lines} lines");
        }
    }
}

/// Reads `path` stopping at the first bad record and skipping bad records,
/// checks that the two agree, and returns the skipping read.
fn read_both(
    path: &Path,
    options: &ReadOptions,
    format: Format,
    content: Option<&[u8]>,
) -> Result<Corpus, CorpusError> {
    let strict = read_path(path, options);
    let lenient = read_path(
        path,
        &ReadOptions {
            skip_invalid: true,
            ..options.clone()
        },
    );
    match (&strict, &lenient) {
        (Ok(strict), Ok(lenient)) => {
            assert!(strict.skipped.is_empty());
            assert!(lenient.skipped.is_empty(), "{:?}", lenient.skipped);
            assert_eq!(strict.documents, lenient.documents);
            assert_eq!(strict.filtered_out, lenient.filtered_out);
            check_corpus(strict, options, format, content);
        }
        (Err(CorpusError::Invalid { location, reason }), Ok(lenient)) => {
            let first = lenient.skipped.first().expect("the bad record is skipped");
            assert_eq!((&first.0, &first.1), (location, reason));
            check_corpus(lenient, options, format, content);
        }
        (Err(strict), Err(lenient)) => {
            assert!(!matches!(strict, CorpusError::Invalid { .. }), "{strict}");
            assert_eq!(strict.to_string(), lenient.to_string());
        }
        (strict, lenient) => panic!("strict {strict:?}, skipping {lenient:?}"),
    }
    // Every error renders: docclass-train prints it.
    if let Err(e) = &strict {
        drop(e.to_string());
    }
    lenient
}

/// A document without its id, which names the file it came from.
fn content_of(corpus: &Corpus) -> Vec<(&str, &Option<String>, &[String])> {
    corpus
        .documents
        .iter()
        .map(|d| (d.text.as_str(), &d.title, d.labels.as_slice()))
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, content)) = data.split_first() else {
        return;
    };
    let (format, extension) = match selector & 3 {
        0 => (Format::Jsonl, "jsonl"),
        1 => (Format::Csv, "csv"),
        2 => (Format::FastText, "txt"),
        _ => (Format::Csv, "tsv"),
    };
    let options = ReadOptions {
        format: (selector & 0x80 == 0).then_some(format),
        split: (selector & 0x20 != 0).then(|| "train".to_string()),
        skip_invalid: false,
        csv_title_column: (selector & 0x40 != 0).then(|| "title".to_string()),
        csv_label_separator: if selector & 0x40 != 0 { ';' } else { '|' },
        ignore_labels: selector & 0x10 != 0,
        ..ReadOptions::default()
    };
    if selector & 4 != 0 {
        let path = write(&format!("corpus.{extension}.gz"), &gzip(content));
        let compressed = read_both(&path.0, &options, format, Some(content));
        let path = write(&format!("corpus.{extension}"), content);
        let plain = read_both(&path.0, &options, format, Some(content));
        match (&compressed, &plain) {
            (Ok(compressed), Ok(plain)) => {
                assert_eq!(content_of(compressed), content_of(plain));
                assert_eq!(compressed.skipped.len(), plain.skipped.len());
            }
            (Err(_), Err(_)) => {}
            (compressed, plain) => panic!("gzip {compressed:?}, plain {plain:?}"),
        }
    } else if selector & 8 != 0 {
        let path = write(&format!("corpus.{extension}.gz"), content);
        let _ = read_both(&path.0, &options, format, None);
    } else {
        let path = write(&format!("corpus.{extension}"), content);
        let _ = read_both(&path.0, &options, format, Some(content));
    }
});
