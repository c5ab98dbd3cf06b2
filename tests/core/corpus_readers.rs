//! Integration tests for the corpus readers (`docclass::corpus`): each format,
//! and every kind of bad record with its exact `file:line: reason` message.

use docclass::corpus::{
    read_path, Corpus, CorpusError, Document, Format, InvalidRecord, Location, ReadOptions,
};
use docclass::text::Lang;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

fn write(dir: &TempDir, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.path().join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, contents).unwrap();
    path
}

fn read(path: &Path) -> Corpus {
    read_path(path, &ReadOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

fn read_err(path: &Path, options: &ReadOptions) -> String {
    match read_path(path, options) {
        Ok(c) => panic!("expected an error, read {} documents", c.documents.len()),
        Err(e) => e.to_string(),
    }
}

/// The error message for a JSONL file of two good records then `bad_line`
/// (line 3), and the file's path (the file is gone by then; only the path's
/// text is used).
fn jsonl_error(bad_line: &str) -> (String, PathBuf) {
    let dir = TempDir::new().unwrap();
    let contents = format!(
        "{}\n{}\n{bad_line}\n",
        r#"{"text": "fine", "labels": ["a"]}"#, r#"{"text": "also fine", "labels": ["b"]}"#
    );
    let path = write(&dir, "bad.jsonl", contents);
    (read_err(&path, &ReadOptions::default()), path)
}

fn doc(id: &str, text: &str, labels: &[&str]) -> Document {
    Document {
        id: id.to_string(),
        title: None,
        text: text.to_string(),
        labels: labels.iter().map(|l| l.to_string()).collect(),
        lang: None,
        split: None,
    }
}

// ------------------------------------------------------------------ JSONL

#[test]
fn jsonl_labels_list_and_label_string() {
    let dir = TempDir::new().unwrap();
    let path = write(
        &dir,
        "c.jsonl",
        concat!(
            r#"{"text": "Army attacks base", "labels": ["conflict", "security"]}"#,
            "\n",
            r#"{"text": "Markets fall", "label": "economy"}"#,
            "\n",
            "\n",
            "   \n",
            r#"{"id": "x-1", "title": "Headline", "text": "Body text", "labels": ["health"], "lang": "fr", "split": "train"}"#,
            "\r\n",
            r#"{"id": 42, "text": "numeric id", "labels": [7], "title": null, "lang": null}"#,
        ),
    );
    let c = read(&path);
    let name = path.display().to_string();
    assert_eq!(
        c.documents,
        vec![
            doc(
                &format!("{name}:1"),
                "Army attacks base",
                &["conflict", "security"]
            ),
            doc(&format!("{name}:2"), "Markets fall", &["economy"]),
            Document {
                id: "x-1".into(),
                title: Some("Headline".into()),
                text: "Body text".into(),
                labels: vec!["health".into()],
                lang: Some(Lang::Fr),
                split: Some("train".into()),
            },
            doc("42", "numeric id", &["7"]),
        ]
    );
    assert!(c.skipped.is_empty());
    assert_eq!(c.filtered_out, 0);
    assert_eq!(
        c.labels(),
        ["conflict", "security", "economy", "health", "7"]
    );
    assert_eq!(c.documents[2].full_text(), "Headline\n\nBody text");
    assert_eq!(c.documents[0].full_text(), "Army attacks base");
}

#[test]
fn jsonl_lang_codes() {
    let dir = TempDir::new().unwrap();
    let path = write(
        &dir,
        "l.jsonl",
        concat!(
            r#"{"text": "a", "labels": ["x"], "lang": "en"}"#,
            "\n",
            r#"{"text": "b", "labels": ["x"], "lang": "FRA"}"#,
            "\n",
            r#"{"text": "c", "labels": ["x"], "lang": "arabic"}"#,
            "\n",
            r#"{"text": "d", "labels": ["x"], "lang": "und"}"#,
            "\n",
        ),
    );
    let langs: Vec<Option<Lang>> = read(&path).documents.iter().map(|d| d.lang).collect();
    assert_eq!(
        langs,
        [
            Some(Lang::En),
            Some(Lang::Fr),
            Some(Lang::Ar),
            Some(Lang::Unknown)
        ]
    );

    let (msg, path) = jsonl_error(r#"{"text": "d", "labels": ["x"], "lang": "de"}"#);
    assert_eq!(
        msg,
        format!(
            "{}:3: unknown language \"de\" (expected en, fr, ar or und)",
            path.display()
        )
    );
}

#[test]
fn jsonl_split_filtering() {
    let dir = TempDir::new().unwrap();
    let path = write(
        &dir,
        "s.jsonl",
        concat!(
            r#"{"text": "one", "labels": ["a"], "split": "train"}"#,
            "\n",
            r#"{"text": "two", "labels": ["b"], "split": "test"}"#,
            "\n",
            r#"{"text": "three", "labels": ["a"]}"#,
            "\n",
            r#"{"text": "four", "labels": ["b"], "split": "train"}"#,
            "\n",
        ),
    );
    let only = |split: &str| {
        let c = read_path(
            &path,
            &ReadOptions {
                split: Some(split.into()),
                ..Default::default()
            },
        )
        .unwrap();
        (
            c.documents
                .iter()
                .map(|d| d.text.clone())
                .collect::<Vec<_>>(),
            c.filtered_out,
        )
    };
    assert_eq!(
        only("train"),
        (vec!["one".to_string(), "four".to_string()], 2)
    );
    assert_eq!(only("test"), (vec!["two".to_string()], 3));
    assert_eq!(only("dev"), (vec![], 4));
    assert_eq!(read(&path).documents.len(), 4);
}

#[test]
fn split_filter_does_not_hide_bad_records() {
    // A malformed record is an error even when its split would be filtered out.
    let dir = TempDir::new().unwrap();
    let path = write(
        &dir,
        "s.jsonl",
        "{\"text\": \"\", \"labels\": [\"a\"], \"split\": \"test\"}\n",
    );
    let options = ReadOptions {
        split: Some("train".into()),
        ..Default::default()
    };
    assert_eq!(
        read_err(&path, &options),
        format!("{}:1: empty text", path.display())
    );
}

#[test]
fn jsonl_malformed_json() {
    let (msg, path) = jsonl_error(r#"{"text": "oops", "labels": ["a"]"#);
    assert_eq!(
        msg,
        format!(
            "{}:3: malformed JSON: EOF while parsing an object at line 1 column 32",
            path.display()
        )
    );

    let (msg, path) = jsonl_error("not json at all");
    assert_eq!(
        msg,
        format!(
            "{}:3: malformed JSON: expected ident at line 1 column 2",
            path.display()
        )
    );

    let (msg, path) = jsonl_error(r#"["text", "labels"]"#);
    assert_eq!(
        msg,
        format!(
            "{}:3: malformed JSON: expected a JSON object",
            path.display()
        )
    );

    let (msg, path) =
        jsonl_error(r#"{"text": "a", "labels": ["x"]} {"text": "b", "labels": ["y"]}"#);
    assert_eq!(
        msg,
        format!(
            "{}:3: malformed JSON: trailing characters at line 1 column 32",
            path.display()
        )
    );
}

#[test]
fn jsonl_invalid_utf8() {
    let dir = TempDir::new().unwrap();
    let mut bytes = b"{\"text\": \"ok\", \"labels\": [\"a\"]}\n".to_vec();
    bytes.extend_from_slice(b"{\"text\": \"caf\xe9\", \"labels\": [\"a\"]}\n");
    let path = write(&dir, "latin1.jsonl", &bytes);
    assert_eq!(
        read_err(&path, &ReadOptions::default()),
        format!("{}:2: invalid UTF-8 at byte 13 of the line", path.display())
    );
    match read_path(&path, &ReadOptions::default()) {
        Err(CorpusError::Invalid { location, reason }) => {
            assert_eq!(
                location,
                Location {
                    path: path.clone(),
                    line: Some(2)
                }
            );
            assert_eq!(reason, InvalidRecord::InvalidUtf8(13));
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn jsonl_empty_and_whitespace_text() {
    let (msg, path) = jsonl_error(r#"{"text": "", "labels": ["a"]}"#);
    assert_eq!(msg, format!("{}:3: empty text", path.display()));

    let (msg, path) = jsonl_error(r#"{"text": " \t\n\u00a0 ", "labels": ["a"]}"#);
    assert_eq!(msg, format!("{}:3: empty text", path.display()));

    let (msg, path) = jsonl_error(r#"{"labels": ["a"]}"#);
    assert_eq!(msg, format!("{}:3: missing field \"text\"", path.display()));

    let (msg, path) = jsonl_error(r#"{"text": null, "labels": ["a"]}"#);
    assert_eq!(msg, format!("{}:3: missing field \"text\"", path.display()));
}

#[test]
fn jsonl_missing_or_empty_labels() {
    let (msg, path) = jsonl_error(r#"{"text": "no labels here"}"#);
    assert_eq!(msg, format!("{}:3: no labels", path.display()));

    let (msg, path) = jsonl_error(r#"{"text": "null labels", "labels": null}"#);
    assert_eq!(msg, format!("{}:3: no labels", path.display()));

    let (msg, path) = jsonl_error(r#"{"text": "empty list", "labels": []}"#);
    assert_eq!(msg, format!("{}:3: no labels", path.display()));

    let (msg, path) = jsonl_error(r#"{"text": "blank label", "labels": ["a", " "]}"#);
    assert_eq!(msg, format!("{}:3: empty label", path.display()));

    let (msg, path) = jsonl_error(r#"{"text": "blank label", "label": ""}"#);
    assert_eq!(msg, format!("{}:3: empty label", path.display()));
}

#[test]
fn jsonl_wrong_field_types() {
    let cases = [
        (
            r#"{"text": 5, "labels": ["a"]}"#,
            r#"field "text" has the wrong type: expected a string"#,
        ),
        (
            r#"{"text": ["a"], "labels": ["a"]}"#,
            r#"field "text" has the wrong type: expected a string"#,
        ),
        (
            r#"{"text": "t", "labels": 5}"#,
            r#"field "labels" has the wrong type: expected a list of strings"#,
        ),
        (
            r#"{"text": "t", "labels": {"a": 1}}"#,
            r#"field "labels" has the wrong type: expected a list of strings"#,
        ),
        (
            r#"{"text": "t", "labels": ["a", true]}"#,
            r#"field "labels" has the wrong type: expected strings"#,
        ),
        (
            r#"{"text": "t", "labels": [["a"]]}"#,
            r#"field "labels" has the wrong type: expected strings"#,
        ),
        (
            r#"{"text": "t", "labels": ["a"], "title": 3}"#,
            r#"field "title" has the wrong type: expected a string"#,
        ),
        (
            r#"{"text": "t", "labels": ["a"], "lang": 1}"#,
            r#"field "lang" has the wrong type: expected a string"#,
        ),
        (
            r#"{"text": "t", "labels": ["a"], "split": false}"#,
            r#"field "split" has the wrong type: expected a string"#,
        ),
        (
            r#"{"text": "t", "labels": ["a"], "id": [1]}"#,
            r#"field "id" has the wrong type: expected a string"#,
        ),
    ];
    for (line, reason) in cases {
        let (msg, path) = jsonl_error(line);
        assert_eq!(
            msg,
            format!("{}:3: {reason}", path.display()),
            "line {line}"
        );
    }
}

#[test]
fn jsonl_skip_invalid_counts_and_keeps_good_records() {
    let dir = TempDir::new().unwrap();
    let mut bytes = Vec::new();
    bytes.extend_from_slice(b"{\"text\": \"good one\", \"labels\": [\"a\"]}\n"); // 1
    bytes.extend_from_slice(b"{\"text\": \"broken\"\n"); // 2: malformed
    bytes.extend_from_slice(b"{\"text\": \"\xff\", \"labels\": [\"a\"]}\n"); // 3: invalid UTF-8
    bytes.extend_from_slice(b"{\"text\": \"  \", \"labels\": [\"a\"]}\n"); // 4: empty text
    bytes.extend_from_slice(b"\n"); // 5: blank, ignored
    bytes.extend_from_slice(b"{\"text\": \"no labels\"}\n"); // 6
    bytes.extend_from_slice(b"{\"text\": \"good two\", \"labels\": [\"b\"]}\n"); // 7
    bytes.extend_from_slice(b"{\"text\": \"t\", \"labels\": []}"); // 8, no final newline
    let path = write(&dir, "mixed.jsonl", &bytes);

    let options = ReadOptions {
        skip_invalid: true,
        ..Default::default()
    };
    let c = read_path(&path, &options).unwrap();
    let name = path.display().to_string();
    assert_eq!(
        c.documents,
        vec![
            doc(&format!("{name}:1"), "good one", &["a"]),
            doc(&format!("{name}:7"), "good two", &["b"])
        ]
    );
    let skipped: Vec<String> = c.skipped.iter().map(|(l, r)| format!("{l}: {r}")).collect();
    assert_eq!(
        skipped,
        [
            format!("{name}:2: malformed JSON: EOF while parsing an object at line 1 column 17"),
            format!("{name}:3: invalid UTF-8 at byte 10 of the line"),
            format!("{name}:4: empty text"),
            format!("{name}:6: no labels"),
            format!("{name}:8: no labels"),
        ]
    );
    // Without skipping, the first bad record stops the read.
    assert_eq!(
        read_err(&path, &ReadOptions::default()),
        format!("{name}:2: malformed JSON: EOF while parsing an object at line 1 column 17")
    );
}

#[test]
fn byte_order_mark_is_ignored() {
    let dir = TempDir::new().unwrap();
    let path = write(&dir, "bom.jsonl", "\u{feff}{\"text\": \"one\", \"labels\": [\"a\"]}\r\n{\"text\": \"two\", \"labels\": [\"b\"]}\r\n");
    let texts: Vec<String> = read(&path).documents.into_iter().map(|d| d.text).collect();
    assert_eq!(texts, ["one", "two"]);

    let path = write(&dir, "bom.txt", "\u{feff}__label__a one\n__label__b two\n");
    let labels: Vec<Vec<String>> = read(&path)
        .documents
        .into_iter()
        .map(|d| d.labels)
        .collect();
    assert_eq!(labels, [["a"], ["b"]]);

    let path = write(&dir, "bom.csv", "\u{feff}text,labels\none,a\n");
    assert_eq!(read(&path).documents[0].labels, ["a"]);

    // Only at the very start: a BOM on line 2 is text like any other.
    let path = write(
        &dir,
        "bom2.jsonl",
        "{\"text\": \"one\", \"labels\": [\"a\"]}\n\u{feff}{\"text\": \"two\"}\n",
    );
    assert_eq!(
        read_err(&path, &ReadOptions::default()),
        format!(
            "{}:2: malformed JSON: expected value at line 1 column 1",
            path.display()
        )
    );
}

#[test]
fn jsonl_empty_file_reads_no_documents() {
    let dir = TempDir::new().unwrap();
    let path = write(&dir, "empty.jsonl", "");
    let c = read(&path);
    assert!(c.documents.is_empty() && c.skipped.is_empty());
    let path = write(&dir, "blank.ndjson", "\n\n  \n");
    assert!(read(&path).documents.is_empty());
}

// -------------------------------------------------------------------- CSV

#[test]
fn csv_columns_by_name_and_label_separator() {
    let dir = TempDir::new().unwrap();
    let path = write(
        &dir,
        "c.csv",
        "id,labels,text,headline\n\
         1,conflict|security,\"Army attacks, base\",Attack\n\
         2,economy,\"Markets\nfall\",Markets\n\
         3, health | economy |,Vaccines,\n",
    );
    let c = read(&path);
    let name = path.display().to_string();
    assert_eq!(
        c.documents,
        vec![
            doc(
                &format!("{name}:2"),
                "Army attacks, base",
                &["conflict", "security"]
            ),
            doc(&format!("{name}:3"), "Markets\nfall", &["economy"]),
            // The quoted field spans two lines, so this record starts on line 5.
            doc(&format!("{name}:5"), "Vaccines", &["health", "economy"]),
        ]
    );

    // Other columns and separator, with a title column.
    let path = write(
        &dir,
        "d.csv",
        "body,topic,headline\nSome text,a;b,Title one\nMore text,c,\n",
    );
    let options = ReadOptions {
        csv_text_column: "body".into(),
        csv_label_column: "topic".into(),
        csv_title_column: Some("headline".into()),
        csv_label_separator: ';',
        ..Default::default()
    };
    let c = read_path(&path, &options).unwrap();
    let name = path.display().to_string();
    assert_eq!(
        c.documents,
        vec![
            Document {
                title: Some("Title one".into()),
                ..doc(&format!("{name}:2"), "Some text", &["a", "b"])
            },
            Document {
                title: Some(String::new()),
                ..doc(&format!("{name}:3"), "More text", &["c"])
            },
        ]
    );
    assert_eq!(c.documents[0].full_text(), "Title one\n\nSome text");
    assert_eq!(c.documents[1].full_text(), "More text");
}

#[test]
fn csv_missing_column_lists_columns() {
    let dir = TempDir::new().unwrap();
    let path = write(&dir, "c.csv", "body,label\nx,y\n");
    let err = read_path(&path, &ReadOptions::default()).unwrap_err();
    assert!(matches!(err, CorpusError::MissingColumn { .. }));
    assert_eq!(
        err.to_string(),
        format!(
            "{}: CSV has no text column \"text\" (columns: body, label; choose one with --csv-text-column)",
            path.display()
        )
    );

    // Under the default name `labels`, a `label` column is used instead.
    let options = ReadOptions {
        csv_text_column: "body".into(),
        ..Default::default()
    };
    let c = read_path(&path, &options).unwrap();
    assert_eq!(c.documents[0].labels, ["y"]);
    let options = ReadOptions {
        csv_text_column: "body".into(),
        csv_label_column: "topic".into(),
        ..Default::default()
    };
    assert_eq!(
        read_err(&path, &options),
        format!(
            "{}: CSV has no label column \"topic\" (columns: body, label; choose one with --csv-label-column)",
            path.display()
        )
    );

    let options = ReadOptions {
        csv_text_column: "body".into(),
        csv_label_column: "label".into(),
        csv_title_column: Some("title".into()),
        ..Default::default()
    };
    assert_eq!(
        read_err(&path, &options),
        format!(
            "{}: CSV has no title column \"title\" (columns: body, label; choose one with --csv-title-column)",
            path.display()
        )
    );
}

#[test]
fn csv_delimiters_are_detected_or_chosen() {
    let dir = TempDir::new().unwrap();
    for (name, contents) in [
        ("semi.csv", "text;labels\ntroops advanced;war\n"),
        ("tabs.csv", "text\tlabels\ntroops advanced\twar\n"),
        ("plain.tsv", "text\tlabels\ntroops, again, advanced\twar\n"),
    ] {
        let path = write(&dir, name, contents);
        let c = read_path(&path, &ReadOptions::default()).unwrap();
        assert_eq!(c.documents.len(), 1, "{name}");
        assert_eq!(c.documents[0].labels, ["war"], "{name}");
    }
    // Chosen: the header has commas, the data is split on `|`.
    let path = write(&dir, "pipes.csv", "text|labels\na, b and c|war\n");
    let options = ReadOptions {
        csv_delimiter: Some(b'|'),
        csv_label_separator: ';',
        ..Default::default()
    };
    assert_eq!(
        read_path(&path, &options).unwrap().documents[0].text,
        "a, b and c"
    );
}

#[test]
fn csv_bad_records() {
    let dir = TempDir::new().unwrap();
    let path = write(&dir, "c.csv", "text,labels\ngood,a\n,b\n");
    assert_eq!(
        read_err(&path, &ReadOptions::default()),
        format!("{}:3: empty text", path.display())
    );

    let path = write(&dir, "c.csv", "text,labels\ngood,a\nno label,\n");
    assert_eq!(
        read_err(&path, &ReadOptions::default()),
        format!("{}:3: no labels", path.display())
    );

    let path = write(&dir, "c.csv", "text,labels\ngood,a\nseparators only, | |\n");
    assert_eq!(
        read_err(&path, &ReadOptions::default()),
        format!("{}:3: no labels", path.display())
    );

    let path = write(&dir, "c.csv", b"text,labels\ngood,a\ncaf\xe9,b\n");
    assert_eq!(
        read_err(&path, &ReadOptions::default()),
        format!("{}:3: invalid UTF-8 at byte 3 of the line", path.display())
    );

    let path = write(&dir, "c.csv", "text,labels\ngood,a\ntoo,many,fields\n");
    assert_eq!(
        read_err(&path, &ReadOptions::default()),
        format!(
            "{}:3: malformed CSV: CSV error: record 2 (line: 3, byte: 19): found record with 3 fields, but the previous record has 2 fields",
            path.display()
        )
    );
}

#[test]
fn csv_skip_invalid() {
    let dir = TempDir::new().unwrap();
    let path = write(
        &dir,
        "c.csv",
        "text,labels\ngood,a\n,b\ntoo,many,fields\nfine,b\n  ,c\n",
    );
    let options = ReadOptions {
        skip_invalid: true,
        ..Default::default()
    };
    let c = read_path(&path, &options).unwrap();
    let name = path.display().to_string();
    assert_eq!(
        c.documents,
        vec![
            doc(&format!("{name}:2"), "good", &["a"]),
            doc(&format!("{name}:5"), "fine", &["b"])
        ]
    );
    let skipped: Vec<String> = c.skipped.iter().map(|(l, r)| format!("{l}: {r}")).collect();
    assert_eq!(
        skipped,
        [
            format!("{name}:3: empty text"),
            format!(
                "{name}:4: malformed CSV: CSV error: record 3 (line: 4, byte: 22): found record with 3 fields, but the previous record has 2 fields"
            ),
            format!("{name}:6: empty text"),
        ]
    );
}

// --------------------------------------------------------------- fastText

#[test]
fn fasttext_labels_and_text() {
    let dir = TempDir::new().unwrap();
    let path = write(
        &dir,
        "c.txt",
        "__label__conflict __label__security Army attacks base\n\
         __label__economy\tMarkets fall __label__not_a_label\n\
         \n\
           __label__health  Vaccines   arrive  \r\n",
    );
    let c = read(&path);
    let name = path.display().to_string();
    assert_eq!(
        c.documents,
        vec![
            doc(
                &format!("{name}:1"),
                "Army attacks base",
                &["conflict", "security"]
            ),
            doc(
                &format!("{name}:2"),
                "Markets fall __label__not_a_label",
                &["economy"]
            ),
            doc(&format!("{name}:4"), "Vaccines   arrive  ", &["health"]),
        ]
    );
}

#[test]
fn fasttext_bad_lines() {
    let dir = TempDir::new().unwrap();
    let path = write(&dir, "c.ft", "__label__a fine\nno labels on this line\n");
    assert_eq!(
        read_err(&path, &ReadOptions::default()),
        format!(
            "{}:2: no labels (a fastText line starts with __label__NAME, e.g. `__label__sport The match…`)",
            path.display()
        )
    );

    let path = write(&dir, "c.ft", "__label__a fine\n__label__a __label__b\n");
    assert_eq!(
        read_err(&path, &ReadOptions::default()),
        format!("{}:2: empty text", path.display())
    );

    let path = write(&dir, "c.ft", "__label__a fine\n__label__ text\n");
    assert_eq!(
        read_err(&path, &ReadOptions::default()),
        format!("{}:2: empty label", path.display())
    );

    let path = write(&dir, "c.ft", b"__label__a fine\n__label__b \xc3\x28\n");
    assert_eq!(
        read_err(&path, &ReadOptions::default()),
        format!("{}:2: invalid UTF-8 at byte 11 of the line", path.display())
    );
}

#[test]
fn fasttext_with_explicit_format() {
    let dir = TempDir::new().unwrap();
    let path = write(&dir, "corpus.data", "__label__a one\n__label__b two\n");
    let options = ReadOptions {
        format: Some(Format::FastText),
        ..Default::default()
    };
    assert_eq!(read_path(&path, &options).unwrap().documents.len(), 2);
}

// -------------------------------------------------------------- directory

#[test]
fn directory_tree_subfolders_are_labels() {
    let dir = TempDir::new().unwrap();
    write(&dir, "conflict/b.txt", "Army attacks base");
    write(&dir, "conflict/a.txt", "Rebels seize town");
    write(&dir, "economy/1.md", "Markets fall");
    write(&dir, "economy/.hidden.txt", "");
    write(&dir, "economy/.DS_Store", b"\xff\xfe");
    write(&dir, ".git/config", "[core]");
    write(&dir, "README.txt", "not a document");
    std::fs::create_dir_all(dir.path().join("economy/nested")).unwrap();
    std::fs::create_dir_all(dir.path().join("empty_topic")).unwrap();
    let c = read(dir.path());
    assert_eq!(
        c.documents,
        vec![
            doc("conflict/a.txt", "Rebels seize town", &["conflict"]),
            doc("conflict/b.txt", "Army attacks base", &["conflict"]),
            doc("economy/1.md", "Markets fall", &["economy"]),
        ]
    );
    assert_eq!(Format::detect(dir.path()), Some(Format::Directory));
}

#[test]
fn directory_bad_files() {
    let dir = TempDir::new().unwrap();
    write(&dir, "a/good.txt", "fine");
    let empty = write(&dir, "a/empty.txt", " \n\t");
    assert_eq!(
        read_err(dir.path(), &ReadOptions::default()),
        format!("{}: empty text", empty.display())
    );
    std::fs::remove_file(&empty).unwrap();

    let latin1 = write(&dir, "b/latin1.txt", b"caf\xe9");
    assert_eq!(
        read_err(dir.path(), &ReadOptions::default()),
        format!("{}: invalid UTF-8 at byte 3 of the line", latin1.display())
    );

    let c = read_path(
        dir.path(),
        &ReadOptions {
            skip_invalid: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(c.documents, vec![doc("a/good.txt", "fine", &["a"])]);
    assert_eq!(
        c.skipped,
        vec![(
            Location {
                path: latin1,
                line: None
            },
            InvalidRecord::InvalidUtf8(3)
        )]
    );
}

// ------------------------------------------------------------------ misc

#[test]
fn unknown_extension() {
    let dir = TempDir::new().unwrap();
    let path = write(&dir, "corpus.parquet", "x");
    let err = read_path(&path, &ReadOptions::default()).unwrap_err();
    assert!(matches!(&err, CorpusError::UnknownFormat(p) if p == &path));
    assert_eq!(
        err.to_string(),
        format!("cannot tell the format of {} (use a .jsonl, .csv, .tsv or .txt extension, optionally followed by .gz, a directory, or --format)", path.display())
    );
    let path = write(&dir, "no_extension", "x");
    assert!(matches!(
        read_path(&path, &ReadOptions::default()),
        Err(CorpusError::UnknownFormat(_))
    ));
}

#[test]
fn format_detection_and_parsing() {
    for (name, format) in [
        ("a.jsonl", Some(Format::Jsonl)),
        ("a.NDJSON", Some(Format::Jsonl)),
        ("a.csv", Some(Format::Csv)),
        ("a.txt", Some(Format::FastText)),
        ("a.ft", Some(Format::FastText)),
        ("a.fasttext", Some(Format::FastText)),
        ("a.json", None),
        ("a", None),
    ] {
        assert_eq!(Format::detect(Path::new(name)), format, "{name}");
    }
    assert_eq!("jsonl".parse::<Format>(), Ok(Format::Jsonl));
    assert_eq!("dir".parse::<Format>(), Ok(Format::Directory));
    assert_eq!(
        "xml".parse::<Format>(),
        Err("unknown format \"xml\" (expected jsonl, csv, fasttext or dir)".to_string())
    );
}

#[test]
fn missing_file_is_an_io_error() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("absent.jsonl");
    let err = read_path(&path, &ReadOptions::default()).unwrap_err();
    assert!(matches!(err, CorpusError::Io { .. }));
    assert_eq!(
        err.to_string(),
        format!(
            "cannot read {}: No such file or directory (os error 2)",
            path.display()
        )
    );
}

#[test]
fn read_all_concatenates_inputs() {
    let dir = TempDir::new().unwrap();
    let a = write(&dir, "a.jsonl", "{\"text\": \"one\", \"labels\": [\"x\"], \"split\": \"train\"}\n{\"text\": \"two\", \"labels\": [\"y\"]}\n");
    let b = write(&dir, "b.txt", "__label__z three\n");
    let c = Corpus::read_all(&[a, b], &ReadOptions::default()).unwrap();
    let texts: Vec<&str> = c.documents.iter().map(|d| d.text.as_str()).collect();
    assert_eq!(texts, ["one", "two", "three"]);
    assert_eq!(c.labels(), ["x", "y", "z"]);
}

// ------------------------------------------------------- unlabelled and gzip

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn gzip_files_read_as_their_inner_format() {
    let dir = TempDir::new().unwrap();
    let jsonl = "{\"id\": \"a\", \"text\": \"troops crossed\", \"labels\": [\"war\"]}\n";
    let path = dir.path().join("corpus.jsonl.gz");
    std::fs::write(&path, gzip(jsonl.as_bytes())).unwrap();
    let corpus = read_path(&path, &ReadOptions::default()).unwrap();
    assert_eq!(corpus.documents.len(), 1);
    assert_eq!(corpus.documents[0].labels, ["war"]);
    let csv = "text,labels\nmarkets fell,money\n";
    let path = dir.path().join("corpus.csv.gz");
    std::fs::write(&path, gzip(csv.as_bytes())).unwrap();
    assert_eq!(
        read_path(&path, &ReadOptions::default()).unwrap().documents[0].labels,
        ["money"]
    );
    // Not gzip inside: a clear error naming the file.
    let path = write(&dir, "broken.jsonl.gz", "not gzip");
    let err = read_path(&path, &ReadOptions::default()).unwrap_err();
    assert!(
        err.to_string().contains("broken.jsonl.gz") && err.to_string().contains("not valid gzip"),
        "{err}"
    );
}

#[test]
fn unlabelled_reading_needs_no_labels_and_drops_given_ones() {
    let dir = TempDir::new().unwrap();
    let path = write(
        &dir,
        "pool.jsonl",
        "{\"text\": \"no labels here\"}\n{\"text\": \"labelled anyway\", \"labels\": [\"war\"]}\n",
    );
    let options = ReadOptions {
        ignore_labels: true,
        ..ReadOptions::default()
    };
    let corpus = read_path(&path, &options).unwrap();
    assert_eq!(corpus.documents.len(), 2);
    assert!(corpus.documents.iter().all(|d| d.labels.is_empty()));
    // Labelled reading still wants labels.
    let err = read_path(&path, &ReadOptions::default()).unwrap_err();
    assert_eq!(err.to_string(), format!("{}:1: no labels", path.display()));
    // A CSV without a label column reads unlabelled; malformed lines still name file:line.
    let path = write(&dir, "pool.csv", "text\nmarkets fell\n");
    assert_eq!(read_path(&path, &options).unwrap().documents.len(), 1);
    let path = write(&dir, "bad.jsonl", "{\"text\": \"fine\"}\n{not json\n");
    let err = read_path(&path, &options).unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("{}:2: malformed JSON", path.display())),
        "{err}"
    );
    let skipping = ReadOptions {
        skip_invalid: true,
        ..options
    };
    let corpus = read_path(&path, &skipping).unwrap();
    assert_eq!((corpus.documents.len(), corpus.skipped.len()), (1, 1));
}
