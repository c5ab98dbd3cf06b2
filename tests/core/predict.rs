//! Bulk prediction (`docclass::predict`) with the default model: the same
//! lines in the same order whatever the thread count, each one what
//! classifying its document alone gives; bad records named by `file:line`
//! (the lines before them written) or skipped and counted; a failing writer
//! stops every thread instead of hanging.

use docclass::corpus::ReadOptions;
use docclass::model::Model;
use docclass::predict::{predict, PredictError, PredictOptions, PredictionLine};
use std::io::Write;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use tempfile::TempDir;

fn model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| {
        Model::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("models/default.model"))
            .expect("the default model loads")
    })
}

const TEXTS: [&str; 4] = [
    "Les ministres des affaires étrangères se sont réunis à Rabat pour une conférence sur la coopération régionale.",
    "Troops and armoured vehicles moved into the northern district after a night of artillery fire.",
    "The aid agency delivered food and tents to families displaced by the floods.",
    "Police arrested three men suspected of wiring money to an armed group abroad.",
];

/// `n` documents in JSONL, cycling through [`TEXTS`], each with its number
/// in the text so that no two lines are the same.
fn jsonl(n: usize) -> String {
    (0..n)
        .map(|i| {
            let text = format!("{} ({i})", TEXTS[i % TEXTS.len()]);
            format!(
                "{}\n",
                serde_json::json!({ "id": format!("doc-{i}"), "text": text })
            )
        })
        .collect()
}

fn write(dir: &TempDir, name: &str, contents: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

fn options(threads: usize) -> PredictOptions {
    PredictOptions {
        read: ReadOptions::default(),
        threads: NonZeroUsize::new(threads).unwrap(),
        top_k: 0,
    }
}

fn run(inputs: &[PathBuf], options: &PredictOptions) -> (Result<u64, PredictError>, String) {
    let mut out = Vec::new();
    let result = predict(model(), inputs, options, &mut out).map(|s| s.documents);
    (result, String::from_utf8(out).unwrap())
}

#[test]
fn lines_are_in_input_order_and_identical_whatever_the_thread_count() {
    let dir = TempDir::new().unwrap();
    // Several blocks per file, and two files.
    let inputs = [
        write(&dir, "a.jsonl", &jsonl(700)),
        write(&dir, "b.jsonl", &jsonl(300)),
    ];
    let (one, expected) = run(&inputs, &options(1));
    assert_eq!(one.unwrap(), 1000);
    for threads in [2, 3, 8] {
        let (n, lines) = run(&inputs, &options(threads));
        assert_eq!(n.unwrap(), 1000);
        assert!(lines == expected, "{threads} threads gave other lines");
    }

    // Each line is what classifying its document alone gives.
    let lines: Vec<serde_json::Value> = expected
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for (i, line) in lines.iter().enumerate().step_by(97) {
        let id = format!("doc-{}", i % 700);
        let text = format!("{} ({})", TEXTS[(i % 700) % TEXTS.len()], i % 700);
        let c = model().classify(&text, None);
        let mut want = Vec::new();
        PredictionLine::new(model(), i as u64, &id, &c, 0).write_to(&mut want);
        let want: serde_json::Value = serde_json::from_slice(&want).unwrap();
        assert_eq!(line, &want);
    }
    assert_eq!(lines[0]["model_version"], model().version());
    assert_eq!(
        lines[0]["probabilities"].as_object().unwrap().len(),
        model().topics().len()
    );
}

#[test]
fn top_k_lists_the_most_probable_topics_first() {
    let dir = TempDir::new().unwrap();
    let input = write(&dir, "a.jsonl", &jsonl(4));
    let (_, all) = run(std::slice::from_ref(&input), &options(1));
    let (_, top) = run(
        std::slice::from_ref(&input),
        &PredictOptions {
            top_k: 2,
            ..options(2)
        },
    );
    for (all, top) in all.lines().zip(top.lines()) {
        // The raw text keeps the written order of the object's keys.
        let key_order = |line: &str| -> Vec<String> {
            let key = "\"probabilities\":{";
            let object = &line[line.find(key).unwrap() + key.len()..];
            let object = &object[..object.find('}').unwrap()];
            object
                .split(',')
                .map(|pair| pair.split('"').nth(1).unwrap_or_default().to_string())
                .collect()
        };
        let (all_keys, top_keys) = (key_order(all), key_order(top));
        assert_eq!(top_keys.len(), 2);
        assert_eq!(top_keys[..], all_keys[..2]);
        let all: serde_json::Value = serde_json::from_str(all).unwrap();
        let probabilities: Vec<f64> = all_keys
            .iter()
            .map(|k| all["probabilities"][k].as_f64().unwrap())
            .collect();
        assert!(probabilities.windows(2).all(|w| w[0] >= w[1]));
    }
}

#[test]
fn a_bad_record_is_named_after_the_lines_before_it_are_written() {
    let dir = TempDir::new().unwrap();
    let mut text = jsonl(600);
    text.push_str("{\"text\": \n");
    text.push_str(&jsonl(10));
    let input = write(&dir, "bad.jsonl", &text);
    for threads in [1, 2] {
        let (result, lines) = run(std::slice::from_ref(&input), &options(threads));
        let err = result.unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("{}:601: malformed JSON", input.display())),
            "{err}"
        );
        assert_eq!(lines.lines().count(), 600, "{threads} threads");
    }

    // Skipped and counted instead; the documents after it are classified.
    let skipping = PredictOptions {
        read: ReadOptions {
            skip_invalid: true,
            ..ReadOptions::default()
        },
        ..options(2)
    };
    let mut out = Vec::new();
    let summary = predict(model(), &[input], &skipping, &mut out).unwrap();
    assert_eq!((summary.documents, summary.skipped), (610, 1));
    assert_eq!(summary.skipped_examples[0].0.line, Some(601));
    let last: serde_json::Value =
        serde_json::from_str(String::from_utf8(out).unwrap().lines().last().unwrap()).unwrap();
    assert_eq!(last["index"], 609);
}

#[test]
fn threads_that_parse_lines_read_them_as_one_thread_does() {
    // With more than one thread, the classification threads parse
    // line-per-record files: the byte order mark, CRLF ends, blank and
    // whitespace-only lines, ids from `file:line`, and a document index that
    // runs on across blank lines and files must all come out the same.
    let dir = TempDir::new().unwrap();
    let mut first = String::from("\u{feff}");
    for (i, line) in jsonl(300).lines().enumerate() {
        first.push_str(line);
        first.push_str(if i % 7 == 0 { "\r\n\n \u{a0}\n" } else { "\n" });
    }
    first.push_str("{\"text\": \"No id: the file and line name it.\"}\n");
    let fasttext: String = (0..300)
        .map(|i| format!("__label__x {} ({i})\n", TEXTS[i % TEXTS.len()]))
        .collect();
    let inputs = [
        write(&dir, "a.jsonl", &first),
        write(&dir, "b.txt", &fasttext),
    ];
    let (one, expected) = run(&inputs, &options(1));
    assert_eq!(one.unwrap(), 601);
    for threads in [2, 3] {
        let (n, lines) = run(&inputs, &options(threads));
        assert_eq!(n.unwrap(), 601);
        assert!(lines == expected, "{threads} threads gave other lines");
    }
    let last_of_first: serde_json::Value =
        serde_json::from_str(expected.lines().nth(300).unwrap()).unwrap();
    assert_eq!(last_of_first["index"], 300);
    let line_no = first.lines().count();
    assert_eq!(
        last_of_first["id"],
        format!("{}:{line_no}", inputs[0].display())
    );

    // A bad line in the second file, and a line that is not UTF-8 in a
    // third: each is named, after the documents before it.
    let mut bad = jsonl(300);
    bad.push_str("[\"not an object\"]\n");
    let bad = write(&dir, "bad.jsonl", &bad);
    let (result, lines) = run(&[inputs[0].clone(), bad.clone()], &options(2));
    let err = result.unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "{}:301: malformed JSON: expected a JSON object",
            bad.display()
        )
    );
    assert_eq!(lines.lines().count(), 601);
    let mut not_utf8 = jsonl(5).into_bytes();
    not_utf8.extend_from_slice(b"{\"text\": \"\xff\"}\n");
    let not_utf8_path = dir.path().join("latin1.jsonl");
    std::fs::write(&not_utf8_path, not_utf8).unwrap();
    let (result, lines) = run(std::slice::from_ref(&not_utf8_path), &options(2));
    let err = result.unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("{}:6:", not_utf8_path.display())),
        "{err}"
    );
    assert_eq!(lines.lines().count(), 5);
}

#[test]
fn labels_in_the_input_are_ignored_and_every_format_reads() {
    let dir = TempDir::new().unwrap();
    let inputs = [
        write(
            &dir,
            "a.txt",
            "__label__war Troops crossed the river at dawn.\n",
        ),
        write(
            &dir,
            "b.csv",
            "text,labels\nThe ministers met in Rabat.,not_a_topic\n",
        ),
        write(&dir, "c.jsonl", "{\"text\": \"Aid reached the camp.\"}\n"),
    ];
    let (n, lines) = run(&inputs, &options(2));
    assert_eq!(n.unwrap(), 3);
    let ids: Vec<String> = lines
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].to_string())
        .collect();
    assert_eq!(ids.len(), 3);
    assert!(
        ids[0].contains("a.txt:1") && ids[2].contains("c.jsonl:1"),
        "{ids:?}"
    );
}

/// Accepts `limit` bytes, then fails every write.
struct FailingWriter {
    written: usize,
    limit: usize,
}

impl Write for FailingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.written + buf.len() > self.limit {
            return Err(std::io::Error::other("disk full"));
        }
        self.written += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_failing_writer_stops_every_thread() {
    let dir = TempDir::new().unwrap();
    let input = write(&dir, "a.jsonl", &jsonl(5000));
    for threads in [1, 4] {
        let mut out = FailingWriter {
            written: 0,
            limit: 100_000,
        };
        let err = predict(
            model(),
            std::slice::from_ref(&input),
            &options(threads),
            &mut out,
        )
        .unwrap_err();
        assert!(matches!(err, PredictError::Write(_)), "{err}");
        assert!(out.written <= 100_000);
    }
}
