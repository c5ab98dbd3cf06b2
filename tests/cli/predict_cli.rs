//! `docclass-predict` end to end with the default model: lines on standard
//! output or in `--output` (renamed from `.partial` only when complete),
//! `--top-k`, `--skip-invalid`, and errors that name the record or flag.

use crate::util::{assert_failure, assert_success, s, stderr, stdout, write, PREDICT};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tempfile::TempDir;

fn default_model() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models/default.model")
}

fn predict(args: &[&str]) -> Output {
    let model = default_model();
    Command::new(PREDICT)
        .arg("--model")
        .arg(&model)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {PREDICT}: {e}"))
}

fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

const CORPUS: &str = concat!(
    "{\"id\": \"rabat\", \"text\": \"Les ministres des affaires étrangères se sont réunis à Rabat pour une conférence sur la coopération régionale et la lutte contre le terrorisme.\"}\n",
    "{\"id\": \"floods\", \"text\": \"The aid agency delivered food, water and tents to families displaced by the floods.\"}\n",
    "{\"text\": \"Troops and armoured vehicles moved into the northern district after a night of artillery fire.\"}\n",
);

#[test]
fn writes_one_line_per_document_in_order() {
    let dir = TempDir::new().unwrap();
    let input = write(dir.path(), "news.jsonl", CORPUS);
    let o = predict(&["--input", s(&input), "--threads", "2"]);
    assert_success(&o);
    let lines = lines(&stdout(&o));
    assert_eq!(lines.len(), 3);
    let ids: Vec<&str> = lines.iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(ids[..2], ["rabat", "floods"]);
    assert_eq!(ids[2], format!("{}:3", input.display()));
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["index"], i);
        for key in ["labels", "language", "probabilities", "model_version"] {
            assert!(!line[key].is_null(), "no {key} in {line}");
        }
    }
    assert_eq!(lines[0]["language"], "fr");
    assert!(
        stderr(&o).contains("classified 3 documents"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn output_file_appears_only_when_complete() {
    let dir = TempDir::new().unwrap();
    let input = write(dir.path(), "news.jsonl", CORPUS);
    let output = dir.path().join("out.jsonl");
    let o = predict(&["-i", s(&input), "-o", s(&output), "--top-k", "1", "-q"]);
    assert_success(&o);
    assert_eq!(stderr(&o), "");
    let written = lines(&std::fs::read_to_string(&output).unwrap());
    assert_eq!(written.len(), 3);
    assert!(written
        .iter()
        .all(|l| l["probabilities"].as_object().unwrap().len() == 1));
    assert!(!dir.path().join("out.jsonl.partial").exists());

    // A bad record: the lines before it are kept in out2.jsonl.partial, and
    // out2.jsonl is not created.
    let bad = write(
        dir.path(),
        "bad.jsonl",
        format!("{CORPUS}{{\"text\": 5}}\n"),
    );
    let output = dir.path().join("out2.jsonl");
    let o = predict(&["-i", s(&bad), "-o", s(&output)]);
    let err = assert_failure(&o);
    assert!(
        err.contains(&format!(
            "{}:4: field \"text\" has the wrong type",
            bad.display()
        )),
        "{err}"
    );
    assert!(err.contains("out2.jsonl.partial"), "{err}");
    assert!(!output.exists());
    let partial = std::fs::read_to_string(dir.path().join("out2.jsonl.partial")).unwrap();
    assert_eq!(lines(&partial).len(), 3);

    // Skipped and counted instead.
    let o = predict(&["-i", s(&bad), "-o", s(&output), "--skip-invalid"]);
    assert_success(&o);
    assert!(
        stderr(&o).contains("skipped 1 invalid records"),
        "{}",
        stderr(&o)
    );
    assert_eq!(lines(&std::fs::read_to_string(&output).unwrap()).len(), 3);
}

/// Output that cannot be written to the end (past a file-size limit, as on
/// a full disk) is an error that says where the lines written so far are,
/// on one thread and on two; the output path itself is never created.
#[cfg(target_os = "linux")]
#[test]
fn a_write_failing_midway_keeps_the_partial_lines() {
    let dir = TempDir::new().unwrap();
    let input = write(dir.path(), "news.jsonl", CORPUS.repeat(200));
    for threads in ["1", "2"] {
        let output = dir.path().join(format!("out-{threads}.jsonl"));
        let mut cmd = Command::new(PREDICT);
        cmd.args(["--model", s(&default_model()), "--threads", threads])
            .args(["-i", s(&input), "-o", s(&output)]);
        crate::util::limit_file_size(&mut cmd, 64 * 1024);
        let err = assert_failure(&cmd.output().unwrap());
        let partial = dir.path().join(format!("out-{threads}.jsonl.partial"));
        let expected = format!(
            "error: the lines written so far are in {} (not renamed to {}): cannot write the predictions: ",
            partial.display(),
            output.display()
        );
        assert!(err.starts_with(&expected), "{threads} threads: {err}");
        assert!(!output.exists());
        // Whole lines up to the limit; the last one may be cut by it.
        let written = std::fs::read_to_string(&partial).unwrap();
        assert!(written.len() <= 64 * 1024 && written.lines().count() > 10);
    }
}

#[test]
fn bad_arguments_are_named() {
    let dir = TempDir::new().unwrap();
    let input = write(dir.path(), "news.jsonl", CORPUS);
    let o = Command::new(PREDICT)
        .args([
            "--model",
            s(&dir.path().join("missing.model")),
            "-i",
            s(&input),
        ])
        .output()
        .unwrap();
    let err = assert_failure(&o);
    assert!(err.contains("missing.model"), "{err}");

    let o = predict(&["-i", s(&input), "--threads", "0"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--threads"), "{}", stderr(&o));

    let o = predict(&["-i", s(&dir.path().join("news.unknown"))]);
    let err = assert_failure(&o);
    assert!(err.contains("cannot"), "{err}");
}
