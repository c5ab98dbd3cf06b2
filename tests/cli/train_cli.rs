//! End-to-end tests of the `docclass-train` and `docclass-eval` binaries on
//! small synthetic corpora written to temporary directories.

use crate::synthetic::{words, TOPICS};
#[cfg(target_os = "linux")]
use crate::util::limit_file_size;
use crate::util::{assert_failure, assert_success, s, stderr, stdout, write, EVAL, TRAIN};
use docclass::model::Model;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tempfile::TempDir;

const CREATED_AT: &str = "2024-05-01T12:00:00Z";

/// A JSONL line for document `i` of topic `t`: six topic words and one filler
/// word, varied by `i` so documents differ but stay separable. The language is
/// declared, so detection on these word lists plays no part.
fn doc_line(t: usize, i: usize) -> String {
    doc_line_in(t, i, "en")
}

fn doc_line_in(t: usize, i: usize, lang: &str) -> String {
    let label = TOPICS[t].0;
    let text = words(t, i);
    format!(
        r#"{{"id": "{label}-{i}", "text": "{}", "labels": ["{label}"], "lang": "{lang}"}}"#,
        text.join(" ")
    )
}

/// `per_topic` documents of each topic, interleaved, one JSONL line each.
fn corpus(per_topic: usize) -> String {
    let mut out = String::new();
    for i in 0..per_topic {
        for t in 0..TOPICS.len() {
            out.push_str(&doc_line(t, i));
            out.push('\n');
        }
    }
    out
}

fn run(bin: &str, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .env_remove("SOURCE_DATE_EPOCH")
        .env("NO_COLOR", "1");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {bin}: {e}"))
}

/// Files in `dir` whose name looks like a leftover temporary model file.
fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.') && n.contains(".tmp-"))
        .collect()
}

/// Trains quietly on `input` with a fixed seed and time; returns the output.
fn train_quiet(input: &Path, output: &Path, extra: &[&str]) -> Output {
    train_seed_7(input, output, &[&["-q"], extra].concat())
}

/// `docclass-train -i INPUT -o OUTPUT --seed 7 --created-at ... EXTRA`.
fn train_seed_7(input: &Path, output: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "-i",
        s(input),
        "-o",
        s(output),
        "--seed",
        "7",
        "--created-at",
        CREATED_AT,
    ];
    args.extend_from_slice(extra);
    run(TRAIN, &args, &[])
}

// ------------------------------------------------------------- training

#[test]
fn train_prints_summary_and_writes_model() {
    let dir = TempDir::new().unwrap();
    let input = write(dir.path(), "train.jsonl", corpus(14));
    let model_path = dir.path().join("topics.model");
    let o = run(
        TRAIN,
        &[
            "-i",
            s(&input),
            "-o",
            s(&model_path),
            "--seed",
            "7",
            "--created-at",
            CREATED_AT,
        ],
        &[],
    );
    assert_success(&o);
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with(&format!(
            "trained {} on 42 documents (0.0 MB), 0 skipped, in ",
            model_path.display()
        )),
        "{out}"
    );
    assert!(lines[1].starts_with("model version "), "{out}");
    assert!(
        lines[1].contains(" features (") && lines[1].ends_with(" distinct terms seen)"),
        "{out}"
    );
    assert_eq!(
        lines[2],
        format!(
            "{:<30} {:>8} {:>8} {:>10}",
            "topic", "docs", "held F1", "threshold"
        )
    );
    // Single-label data: argmax, no thresholds; the topics are separable.
    assert_eq!(
        lines[3],
        format!("{:<30} {:>8} {:>8} {:>10}", "conflict", 14, "1.000", "-")
    );
    assert_eq!(
        lines[4],
        format!("{:<30} {:>8} {:>8} {:>10}", "economy", 14, "1.000", "-")
    );
    assert_eq!(
        lines[5],
        format!("{:<30} {:>8} {:>8} {:>10}", "health", 14, "1.000", "-")
    );
    assert_eq!(
        lines[6],
        "held-out (42 docs): accuracy 1.0000, macro-F1 1.0000, micro-F1 1.0000"
    );
    assert_eq!(lines.len(), 7, "{out}");

    let model = Model::load(&model_path).expect("the written model loads");
    let ids: Vec<&str> = model.topics().iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["conflict", "economy", "health"]);
    assert_eq!(model.data().provenance.created_at, CREATED_AT);
    assert_eq!(model.data().provenance.documents, 42);
    assert!(
        lines[1].starts_with(&format!("model version {}, ", model.version())),
        "{out}"
    );
    assert!(temp_files(dir.path()).is_empty());

    // The model classifies unseen text by vocabulary.
    let decided = |text: &str| -> Vec<String> {
        model
            .classify(text, None)
            .decided
            .iter()
            .map(|&i| model.topics()[i].id.clone())
            .collect()
    };
    assert_eq!(
        decided("troops and artillery near the ceasefire line"),
        ["conflict"]
    );
    assert_eq!(
        decided("inflation hits the currency and stocks"),
        ["economy"]
    );
    assert_eq!(decided("nurses at the clinic treat patients"), ["health"]);
}

#[test]
fn quiet_prints_nothing() {
    let dir = TempDir::new().unwrap();
    let input = write(dir.path(), "train.jsonl", corpus(10));
    let o = train_quiet(&input, &dir.path().join("m.model"), &[]);
    assert_success(&o);
    assert_eq!(stdout(&o), "");
    assert_eq!(stderr(&o), "");
}

#[test]
fn same_inputs_seed_and_time_give_identical_models() {
    let dir = TempDir::new().unwrap();
    let input = write(dir.path(), "train.jsonl", corpus(14));
    let (a, b) = (dir.path().join("a.model"), dir.path().join("b.model"));
    assert_success(&train_quiet(&input, &a, &[]));
    assert_success(&train_quiet(&input, &b, &[]));
    let (bytes_a, bytes_b) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    assert!(!bytes_a.is_empty());
    assert!(
        bytes_a == bytes_b,
        "models differ ({} vs {} bytes)",
        bytes_a.len(),
        bytes_b.len()
    );

    // Multi-label data with tuned thresholds and char n-grams, too.
    let mut multi = corpus(10);
    multi.push_str(r#"{"text": "army hospital doctors soldiers attack clinic", "labels": ["conflict", "health"]}"#);
    multi.push('\n');
    multi.push_str(r#"{"text": "troops virus patients rebels militia nurses", "labels": ["conflict", "health"]}"#);
    multi.push('\n');
    let input = write(dir.path(), "multi.jsonl", multi);
    let extra = ["--char-ngrams", "2-4", "--word-ngrams", "3"];
    let (c, d) = (dir.path().join("c.model"), dir.path().join("d.model"));
    assert_success(&train_quiet(&input, &c, &extra));
    assert_success(&train_quiet(&input, &d, &extra));
    assert!(
        std::fs::read(&c).unwrap() == std::fs::read(&d).unwrap(),
        "multi-label models differ"
    );

    // A different seed changes the validation folds but must still load.
    let e = dir.path().join("e.model");
    let o = run(
        TRAIN,
        &[
            "-i",
            s(&input),
            "-o",
            s(&e),
            "--seed",
            "8",
            "--created-at",
            CREATED_AT,
            "-q",
        ],
        &[],
    );
    assert_success(&o);
    Model::load(&e).unwrap();
}

/// Analysis and the validation and tuning folds run on `--threads`
/// threads; the model must not depend on how many. The corpora hold more
/// documents than one analysis block (64), with unlabelled ones, a tuning
/// grid, and hashed features.
#[test]
fn models_are_byte_identical_whatever_the_thread_count() {
    let dir = TempDir::new().unwrap();
    let input = write(dir.path(), "train.jsonl", corpus(70));
    let pool = write(dir.path(), "pool.jsonl", unlabelled_corpus(150));
    let settings: [&[&str]; 3] = [
        &[],
        &[
            "--tune-alpha",
            "0.1,0.5",
            "--tune-folds",
            "3",
            "--unlabeled",
            s(&pool),
            "--em-iterations",
            "2",
        ],
        &["--hash-bits", "12", "--char-ngrams", "2-4"],
    ];
    for (k, extra) in settings.iter().enumerate() {
        let models: Vec<Vec<u8>> = ["1", "2", "5"]
            .iter()
            .map(|threads| {
                let out = dir.path().join(format!("m{k}-{threads}.model"));
                let mut args = vec!["--threads", threads];
                args.extend_from_slice(extra);
                assert_success(&train_quiet(&input, &out, &args));
                std::fs::read(&out).unwrap()
            })
            .collect();
        assert!(
            models[0] == models[1],
            "settings {k}: 1 and 2 threads differ"
        );
        assert!(
            models[0] == models[2],
            "settings {k}: 1 and 5 threads differ"
        );
    }
}

#[test]
fn source_date_epoch_gives_identical_models() {
    let dir = TempDir::new().unwrap();
    let input = write(dir.path(), "train.jsonl", corpus(12));
    let (a, b) = (dir.path().join("a.model"), dir.path().join("b.model"));
    let env = [("SOURCE_DATE_EPOCH", "1700000000")];
    assert_success(&run(TRAIN, &["-i", s(&input), "-o", s(&a), "-q"], &env));
    assert_success(&run(TRAIN, &["-i", s(&input), "-o", s(&b), "-q"], &env));
    assert!(
        std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap(),
        "models differ"
    );
    assert_eq!(
        Model::load(&a).unwrap().data().provenance.created_at,
        "2023-11-14T22:13:20Z"
    );

    // --created-at wins over SOURCE_DATE_EPOCH.
    let c = dir.path().join("c.model");
    assert_success(&run(
        TRAIN,
        &[
            "-i",
            s(&input),
            "-o",
            s(&c),
            "-q",
            "--created-at",
            CREATED_AT,
        ],
        &env,
    ));
    assert_eq!(
        Model::load(&c).unwrap().data().provenance.created_at,
        CREATED_AT
    );

    // A malformed SOURCE_DATE_EPOCH is an error, before any output is written.
    let d = dir.path().join("d.model");
    let o = run(
        TRAIN,
        &["-i", s(&input), "-o", s(&d), "-q"],
        &[("SOURCE_DATE_EPOCH", "yesterday")],
    );
    let err = assert_failure(&o);
    assert!(
        err.starts_with("error: SOURCE_DATE_EPOCH is not a number of seconds: "),
        "{err}"
    );
    assert!(!d.exists());
}

#[test]
fn summary_lists_held_out_metrics_per_language() {
    let dir = TempDir::new().unwrap();
    let mut text = String::new();
    for i in 0..12 {
        for t in 0..TOPICS.len() {
            text.push_str(&doc_line_in(t, i, if i % 3 == 0 { "fr" } else { "en" }));
            text.push('\n');
        }
    }
    let input = write(dir.path(), "train.jsonl", text);
    let model_path = dir.path().join("m.model");
    let o = run(
        TRAIN,
        &[
            "-i",
            s(&input),
            "-o",
            s(&model_path),
            "--seed",
            "7",
            "--created-at",
            CREATED_AT,
        ],
        &[],
    );
    assert_success(&o);
    let out = stdout(&o);
    let tail: Vec<&str> = out.lines().skip(6).collect();
    assert_eq!(
        tail,
        [
            "held-out (36 docs): accuracy 1.0000, macro-F1 1.0000, micro-F1 1.0000",
            "  [en] (24 docs): accuracy 1.0000, macro-F1 1.0000, micro-F1 1.0000",
            "  [fr] (12 docs): accuracy 1.0000, macro-F1 1.0000, micro-F1 1.0000",
        ],
        "{out}"
    );
}

#[test]
fn no_validation_summary() {
    let dir = TempDir::new().unwrap();
    let input = write(dir.path(), "train.jsonl", corpus(6));
    let model_path = dir.path().join("m.model");
    let o = run(
        TRAIN,
        &[
            "-i",
            s(&input),
            "-o",
            s(&model_path),
            "--no-validation",
            "--created-at",
            CREATED_AT,
        ],
        &[],
    );
    assert_success(&o);
    let out = stdout(&o);
    assert_eq!(
        out.lines().nth(3),
        Some(format!("{:<30} {:>8} {:>8} {:>10}", "conflict", 6, "-", "-").as_str()),
        "{out}"
    );
    assert_eq!(
        out.lines().last(),
        Some("no validation (--no-validation)"),
        "{out}"
    );
    assert!(Model::load(&model_path)
        .unwrap()
        .data()
        .provenance
        .held_out
        .is_none());
}

#[test]
fn tuning_prints_every_candidate_and_stores_the_choice() {
    let dir = TempDir::new().unwrap();
    let input = write(dir.path(), "train.jsonl", corpus(6));
    let model_path = dir.path().join("m.model");
    let card = dir.path().join("card.json");
    let o = train_seed_7(
        &input,
        &model_path,
        &[
            "--card",
            s(&card),
            "--no-validation",
            "--tune-alpha",
            "0.1,1",
            "--tune-nb",
            "complement,multinomial",
            "--tune-folds",
            "3",
        ],
    );
    assert_success(&o);
    let out = stdout(&o);
    assert!(
        out.contains("tuned by 3-fold CV on the training documents (seed 7), by accuracy"),
        "{out}"
    );
    assert_eq!(
        out.lines().filter(|l| l.starts_with("* ")).count(),
        1,
        "{out}"
    );
    let rows = out
        .lines()
        .filter(|l| l.contains(" complement ") || l.contains(" multinomial "));
    assert_eq!(rows.count(), 4, "{out}");
    let card: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&card).unwrap()).unwrap();
    let tuning = &card["summary"]["tuning"];
    assert_eq!(tuning["candidates"].as_array().unwrap().len(), 4);
    let chosen = &tuning["candidates"][tuning["chosen"].as_u64().unwrap() as usize];
    let model = Model::load(&model_path).unwrap();
    let stored: serde_json::Value =
        serde_json::from_str(&model.data().provenance.train_options_json).unwrap();
    assert_eq!(stored["nb"]["alpha"], chosen["alpha"]);
    assert_eq!(stored["tuning"], *tuning);
}

#[test]
fn bad_tuning_lists_are_clear_errors() {
    let dir = TempDir::new().unwrap();
    let input = write(dir.path(), "train.jsonl", corpus(6));
    let output = dir.path().join("m.model");
    for (flag, value, message) in [
        (
            "--tune-alpha",
            "",
            "error: no alpha candidates given: list at least one value, or do not tune alpha",
        ),
        (
            "--tune-alpha",
            "0.1,abc",
            "error: --tune-alpha: \"abc\": not a number",
        ),
        (
            "--tune-alpha",
            "0.1,0",
            "error: alpha candidate 0 is invalid: alpha must be a finite number > 0",
        ),
        (
            "--tune-alpha",
            "inf",
            "error: alpha candidate inf is invalid: alpha must be a finite number > 0",
        ),
        (
            "--tune-min-df",
            "0,2",
            "error: min_df candidate 0 is invalid: min_df must be at least 1",
        ),
        (
            "--tune-nb",
            "bayes",
            "error: --tune-nb: \"bayes\": invalid variant: bayes",
        ),
        (
            "--tune-weighting",
            "tfidf",
            "error: --tune-weighting: \"tfidf\": unknown weighting",
        ),
    ] {
        let o = train_quiet(&input, &output, &[flag, value]);
        assert_failure(&o);
        assert!(
            stderr(&o).starts_with(message),
            "{flag} {value:?}: {}",
            stderr(&o)
        );
    }
    assert!(!output.exists());
}

// ------------------------------------------------------------ bad input

#[test]
fn missing_input_file() {
    let dir = TempDir::new().unwrap();
    let input = dir.path().join("absent.jsonl");
    let model_path = dir.path().join("m.model");
    let err = assert_failure(&train_quiet(&input, &model_path, &[]));
    // The I/O reason appears once, not repeated by the cause chain.
    assert_eq!(
        err,
        format!(
            "error: cannot read {}: No such file or directory (os error 2)\n",
            input.display()
        )
    );
    assert!(!model_path.exists());
}

/// Writes `corpus(5)` with `bad` as line 4, trains, and checks the failure:
/// exit 1, `error: FILE:4: REASON` on stderr, no model, no temp file.
fn assert_bad_line(bad: &[u8], reason: &str) {
    let dir = TempDir::new().unwrap();
    let good = corpus(5);
    let mut lines: Vec<&[u8]> = good.lines().map(str::as_bytes).collect();
    lines.insert(3, bad);
    let input = write(dir.path(), "bad.jsonl", lines.join(&b"\n"[..]));
    let model_path = dir.path().join("out.model");
    let o = train_quiet(&input, &model_path, &[]);
    let err = assert_failure(&o);
    assert_eq!(err, format!("error: {}:4: {reason}\n", input.display()));
    assert_eq!(stdout(&o), "");
    assert!(!model_path.exists(), "a model was written");
    assert_eq!(temp_files(dir.path()), Vec::<String>::new());
}

#[test]
fn malformed_json_line() {
    assert_bad_line(
        br#"{"text": "army", "labels": ["conflict"]"#,
        "malformed JSON: EOF while parsing an object at line 1 column 39",
    );
}

#[test]
fn invalid_utf8_line() {
    assert_bad_line(
        b"{\"text\": \"arm\xe9e\", \"labels\": [\"conflict\"]}",
        "invalid UTF-8 at byte 13 of the line",
    );
}

#[test]
fn empty_text_line() {
    assert_bad_line(br#"{"text": "", "labels": ["conflict"]}"#, "empty text");
    assert_bad_line(br#"{"text": "   ", "labels": ["conflict"]}"#, "empty text");
}

#[test]
fn missing_labels_line() {
    assert_bad_line(br#"{"text": "army attack"}"#, "no labels");
    assert_bad_line(br#"{"text": "army attack", "labels": []}"#, "no labels");
}

#[test]
fn fewer_than_two_topics() {
    let dir = TempDir::new().unwrap();
    let one_topic: String = (0..10).map(|i| doc_line(0, i) + "\n").collect();
    let input = write(dir.path(), "one.jsonl", one_topic);
    let model_path = dir.path().join("out.model");
    let err = assert_failure(&train_quiet(&input, &model_path, &[]));
    assert_eq!(
        err,
        "error: need at least 2 topics to train a classifier, found 1: conflict\n"
    );
    assert!(!model_path.exists());
    assert!(temp_files(dir.path()).is_empty());
}

#[test]
fn empty_input() {
    let dir = TempDir::new().unwrap();
    let input = write(dir.path(), "empty.jsonl", "\n\n");
    let model_path = dir.path().join("out.model");
    let err = assert_failure(&train_quiet(&input, &model_path, &[]));
    assert_eq!(
        err,
        format!(
            "error: the input ({}) holds no documents\n",
            input.display()
        )
    );
    assert!(!model_path.exists());
}

#[test]
fn skip_invalid_trains_and_reports_skipped() {
    let dir = TempDir::new().unwrap();
    let mut bytes = corpus(10).into_bytes();
    bytes.extend_from_slice(b"{\"text\": \"broken\"\n"); // line 31
    bytes.extend_from_slice(b"{\"text\": \"\xff\", \"labels\": [\"health\"]}\n"); // 32
    bytes.extend_from_slice(b"{\"text\": \"\", \"labels\": [\"health\"]}\n"); // 33
    bytes.extend_from_slice(b"{\"text\": \"army\"}\n"); // 34
    let input = write(dir.path(), "train.jsonl", bytes);
    let model_path = dir.path().join("out.model");
    let o = run(
        TRAIN,
        &[
            "-i",
            s(&input),
            "-o",
            s(&model_path),
            "--skip-invalid",
            "--seed",
            "7",
            "--created-at",
            CREATED_AT,
        ],
        &[],
    );
    assert_success(&o);
    let name = input.display();
    assert_eq!(
        stderr(&o),
        format!(
            "warning: skipped {name}:31: malformed JSON: EOF while parsing an object at line 1 column 17\n\
             warning: skipped {name}:32: invalid UTF-8 at byte 10 of the line\n\
             warning: skipped {name}:33: empty text\n\
             warning: skipped {name}:34: no labels\n"
        )
    );
    let out = stdout(&o);
    assert!(
        out.starts_with(&format!(
            "trained {} on 30 documents (0.0 MB), 4 skipped, in ",
            model_path.display()
        )),
        "{out}"
    );
    assert_eq!(
        Model::load(&model_path)
            .unwrap()
            .data()
            .provenance
            .documents,
        30
    );
}

#[test]
fn skip_invalid_caps_warnings() {
    let dir = TempDir::new().unwrap();
    let mut text = corpus(5);
    for _ in 0..25 {
        text.push_str("{oops}\n");
    }
    let input = write(dir.path(), "train.jsonl", text);
    let model_path = dir.path().join("out.model");
    let o = run(
        TRAIN,
        &[
            "-i",
            s(&input),
            "-o",
            s(&model_path),
            "--skip-invalid",
            "-q",
            "--folds",
            "3",
        ],
        &[],
    );
    assert_success(&o);
    let err = stderr(&o);
    assert_eq!(
        err.lines()
            .filter(|l| l.starts_with("warning: skipped "))
            .count(),
        20,
        "{err}"
    );
    assert!(
        err.ends_with("warning: ... and 5 more skipped records\n"),
        "{err}"
    );
}

// ------------------------------------------------------- atomic output

#[test]
fn failed_training_leaves_no_output_or_temp_file() {
    let dir = TempDir::new().unwrap();
    // An earlier model at the output path stays untouched by a failed run.
    let input = write(dir.path(), "train.jsonl", corpus(8));
    let model_path = dir.path().join("keep.model");
    assert_success(&train_quiet(&input, &model_path, &[]));
    let before = std::fs::read(&model_path).unwrap();

    let bad = write(
        dir.path(),
        "bad.jsonl",
        format!("{}{{\"text\": \"\", \"labels\": [\"x\"]}}\n", corpus(3)),
    );
    let err = assert_failure(&train_quiet(&bad, &model_path, &[]));
    assert_eq!(err, format!("error: {}:10: empty text\n", bad.display()));
    assert_eq!(std::fs::read(&model_path).unwrap(), before);
    assert!(temp_files(dir.path()).is_empty());

    // A topic with no documents (declared in a topics file) fails in training.
    let topics = write(
        dir.path(),
        "topics.json",
        r#"[{"id": "conflict"}, {"id": "economy"}, {"id": "health"}, {"id": "sports"}]"#,
    );
    let fresh = dir.path().join("fresh.model");
    let err = assert_failure(&train_quiet(&input, &fresh, &["--topics", s(&topics)]));
    assert_eq!(err, "error: topic \"sports\" has no training documents\n");
    assert!(!fresh.exists());
    assert!(temp_files(dir.path()).is_empty());
}

/// A write that fails partway through the model file (past a file-size
/// limit here, as on a full disk) is an error naming the file, on the serial
/// and the threaded save alike; the model already at the path is untouched
/// and no temporary file stays.
#[cfg(target_os = "linux")]
#[test]
fn a_write_failing_midway_leaves_the_old_model_and_no_temp_file() {
    // 2^16 buckets make a model of about 2.1 MB, so the limit falls inside
    // the save's second 1 MiB chunk.
    const LIMIT_BYTES: u64 = 1536 * 1024;
    let dir = TempDir::new().unwrap();
    let input = write(dir.path(), "train.jsonl", corpus(8));
    let model_path = dir.path().join("keep.model");
    assert_success(&train_quiet(&input, &model_path, &[]));
    let before = std::fs::read(&model_path).unwrap();

    for threads in ["1", "2"] {
        let mut cmd = Command::new(TRAIN);
        cmd.args(["-q", "--no-validation", "--hash-bits", "16"])
            .args(["--threads", threads, "--created-at", CREATED_AT])
            .args(["-i", s(&input), "-o", s(&model_path)]);
        limit_file_size(&mut cmd, LIMIT_BYTES);
        let err = assert_failure(&cmd.output().unwrap());
        let expected = format!("error: cannot write model file {}: ", model_path.display());
        assert!(err.starts_with(&expected), "{threads} threads: {err}");
        assert_eq!(std::fs::read(&model_path).unwrap(), before);
        assert!(
            temp_files(dir.path()).is_empty(),
            "{:?}",
            temp_files(dir.path())
        );
    }
}

#[test]
fn output_path_that_is_a_directory() {
    // Refused before training starts; nothing is written.
    let dir = TempDir::new().unwrap();
    let input = write(dir.path(), "train.jsonl", corpus(8));
    let target = dir.path().join("models");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("inside"), "x").unwrap();
    let err = assert_failure(&train_quiet(&input, &target, &[]));
    assert_eq!(
        err,
        format!("error: --output {} is a directory\n", target.display())
    );
    assert!(target.is_dir());
    assert!(
        temp_files(dir.path()).is_empty(),
        "{:?}",
        temp_files(dir.path())
    );
}

#[test]
fn output_in_missing_directory() {
    let dir = TempDir::new().unwrap();
    let input = write(dir.path(), "train.jsonl", corpus(8));
    let model_path = dir
        .path()
        .join("no")
        .join("such")
        .join("dir")
        .join("m.model");
    let o = train_quiet(&input, &model_path, &[]);
    let err = assert_failure(&o);
    assert_eq!(
        err,
        format!(
            "error: --output {}: directory {} does not exist\n",
            model_path.display(),
            model_path.parent().unwrap().display()
        )
    );
    assert!(!dir.path().join("no").exists());
}

// -------------------------------------------------- decision rules

#[test]
fn fallback_with_per_language_thresholds_stores_each_languages_own() {
    let dir = TempDir::new().unwrap();
    // 330 English documents (enough for thresholds of their own) and 30 French.
    let mut lines = corpus(110);
    for i in 0..10 {
        for t in 0..TOPICS.len() {
            lines.push_str(&doc_line_in(t, 200 + i, "fr"));
            lines.push('\n');
        }
    }
    let input = write(dir.path(), "train.jsonl", lines);
    let model_path = dir.path().join("m.model");
    let flags = ["--decision", "fallback", "--per-language-thresholds"];
    assert_success(&train_quiet(&input, &model_path, &flags));
    let model = Model::load(&model_path).unwrap();
    match &model.data().decision {
        docclass::nb::Decision::Fallback {
            by_language,
            thresholds,
            ..
        } => {
            let langs: Vec<&str> = by_language.iter().map(|(l, _)| l.code()).collect();
            assert_eq!(langs, ["en"], "French has too few documents for its own");
            assert_eq!(by_language[0].1.len(), thresholds.len());
        }
        other => panic!("decision is {other:?}"),
    }
}

#[test]
fn per_language_thresholds_and_exact_set_tuning_need_the_fallback_decision() {
    let dir = TempDir::new().unwrap();
    let input = write(dir.path(), "train.jsonl", corpus(8));
    let model_path = dir.path().join("m.model");
    let err = assert_failure(&train_quiet(
        &input,
        &model_path,
        &["--per-language-thresholds"],
    ));
    assert!(
        err.contains("per-language thresholds need the fallback decision"),
        "{err}"
    );
    assert!(!model_path.exists());
}

// ------------------------------------------------------- --evaluate

#[test]
fn evaluate_records_named_scores_in_the_model_and_card() {
    let dir = TempDir::new().unwrap();
    let input = write(dir.path(), "train.jsonl", corpus(14));
    let unseen = write(dir.path(), "unseen.jsonl", eval_corpus());
    let model_path = dir.path().join("m.model");
    let card = dir.path().join("card.json");
    let named = format!("held test={}", s(&unseen));
    let o = train_seed_7(
        &input,
        &model_path,
        &["--evaluate", &named, "--card", s(&card)],
    );
    assert_success(&o);
    let out = stdout(&o);
    assert!(
        out.contains("held test (12 docs, not trained on): accuracy 1.0000"),
        "{out}"
    );
    let model = Model::load(&model_path).unwrap();
    let evaluations = &model.data().provenance.evaluations;
    assert_eq!(evaluations.len(), 1);
    assert_eq!(evaluations[0].name, "held test");
    assert_eq!(evaluations[0].metrics.documents, 12);
    assert_eq!(evaluations[0].metrics.macro_f1, 1.0);
    assert_eq!(evaluations[0].metrics.topic_f1.len(), model.topics().len());
    assert_eq!(evaluations[0].corpus_sha256.len(), 64);
    let card: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&card).unwrap()).unwrap();
    assert_eq!(card["evaluations"][0]["name"], "held test");
    assert_eq!(card["model_version"], model.version());

    // Scoring a set changes nothing in how the model was fitted: the same
    // training without --evaluate decides identically.
    let plain_path = dir.path().join("plain.model");
    assert_success(&train_quiet(&input, &plain_path, &[]));
    let plain = Model::load(&plain_path).unwrap();
    assert_eq!(plain.data().nb, model.data().nb);
    assert_eq!(plain.data().decision, model.data().decision);
    assert!(plain.data().provenance.evaluations.is_empty());
    assert_ne!(plain.version(), model.version());
}

#[test]
fn evaluate_refuses_a_set_that_shares_a_training_document() {
    let dir = TempDir::new().unwrap();
    let input = write(dir.path(), "train.jsonl", corpus(14));
    let leaky = write(
        dir.path(),
        "leaky.jsonl",
        format!("{}{}\n", eval_corpus(), doc_line(1, 3)),
    );
    let model_path = dir.path().join("m.model");
    let named = format!("leaky={}", s(&leaky));
    let err = assert_failure(&train_quiet(&input, &model_path, &["--evaluate", &named]));
    let id = format!("{}-3", TOPICS[1].0);
    assert!(
        err.contains(&format!("document \"{id}\" is also in the training data")),
        "{err}"
    );
    assert!(!model_path.exists(), "nothing is trained or written");
}

#[test]
fn evaluate_needs_name_equals_path_and_a_readable_set() {
    let dir = TempDir::new().unwrap();
    let input = write(dir.path(), "train.jsonl", corpus(8));
    let model_path = dir.path().join("m.model");
    // A malformed value is a usage error (clap's exit code 2).
    let o = train_quiet(&input, &model_path, &["--evaluate", "no-name"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("expected NAME=PATH"), "{}", stderr(&o));
    // An empty set, or one with a label the model has no topic for, fails
    // before training.
    let empty = write(dir.path(), "empty.jsonl", "");
    let named = format!("empty={}", s(&empty));
    let err = assert_failure(&train_quiet(&input, &model_path, &["--evaluate", &named]));
    assert!(
        err.contains("evaluation set \"empty\" has no documents"),
        "{err}"
    );
    let odd = write(
        dir.path(),
        "odd.jsonl",
        r#"{"id": "x", "text": "alpha beta gamma", "labels": ["sports"]}"#,
    );
    let named = format!("odd={}", s(&odd));
    let err = assert_failure(&train_quiet(&input, &model_path, &["--evaluate", &named]));
    assert!(err.contains("\"sports\""), "{err}");
    assert!(!model_path.exists());
    let missing = dir.path().join("missing.jsonl");
    let named = format!("gone={}", s(&missing));
    let err = assert_failure(&train_quiet(&input, &model_path, &["--evaluate", &named]));
    assert!(err.contains("--evaluate gone="), "{err}");
    assert!(!model_path.exists());
}

// ------------------------------------------------------------------ eval

/// Trains a model on `corpus(14)` in `dir` and returns its path.
fn trained_model(dir: &Path) -> PathBuf {
    let input = write(dir, "train.jsonl", corpus(14));
    let model_path = dir.join("m.model");
    assert_success(&train_quiet(&input, &model_path, &[]));
    model_path
}

/// Held-out style documents: new combinations of each topic's words.
fn eval_corpus() -> String {
    let mut out = String::new();
    for t in 0..TOPICS.len() {
        for i in 20..24 {
            out.push_str(&doc_line(t, i));
            out.push('\n');
        }
    }
    out
}

#[test]
fn eval_writes_each_documents_gold_and_decided_topics() {
    let dir = TempDir::new().unwrap();
    let model_path = trained_model(dir.path());
    let data = write(dir.path(), "eval.jsonl", eval_corpus());
    let predictions = dir.path().join("predictions.jsonl");
    let o = run(
        EVAL,
        &[
            "-m",
            s(&model_path),
            "-i",
            s(&data),
            "--predictions",
            s(&predictions),
            "--json",
        ],
        &[],
    );
    assert_success(&o);
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&predictions)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), 12);
    let first_topic = TOPICS[0].0;
    assert_eq!(lines[0]["id"], format!("{first_topic}-20"));
    assert_eq!(lines[0]["gold"], serde_json::json!([first_topic]));
    assert_eq!(lines[0]["predicted"], serde_json::json!([first_topic]));
    let total: f64 = lines[0]["probabilities"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p.as_f64().unwrap())
        .sum();
    assert!((total - 1.0).abs() < 1e-9, "{total}");
}

#[test]
fn eval_json_report() {
    let dir = TempDir::new().unwrap();
    let model_path = trained_model(dir.path());
    let data = write(dir.path(), "eval.jsonl", eval_corpus());
    let o = run(EVAL, &["-m", s(&model_path), "-i", s(&data), "--json"], &[]);
    assert_success(&o);
    let v: serde_json::Value =
        serde_json::from_str(&stdout(&o)).expect("stdout is one JSON object");
    let obj = v.as_object().expect("a JSON object");
    for key in [
        "accuracy",
        "macro_f1",
        "micro_f1",
        "per_topic",
        "documents",
        "model_version",
    ] {
        assert!(obj.contains_key(key), "missing {key}: {v}");
    }
    assert_eq!(v["documents"], 12);
    assert_eq!(v["accuracy"], 1.0);
    assert_eq!(v["macro_f1"], 1.0);
    assert_eq!(v["micro_f1"], 1.0);
    assert_eq!(v["unknown_labels_ignored"], 0);
    assert_eq!(v["skipped_records"], 0);
    let model = Model::load(&model_path).unwrap();
    assert_eq!(v["model_version"], model.version());
    let per_topic = v["per_topic"].as_array().unwrap();
    let topics: Vec<&str> = per_topic
        .iter()
        .map(|t| t["topic"].as_str().unwrap())
        .collect();
    assert_eq!(topics, ["conflict", "economy", "health"]);
    for t in per_topic {
        assert_eq!(t["support"], 4);
        assert_eq!(t["f1"], 1.0);
    }
}

#[test]
fn eval_table_report() {
    let dir = TempDir::new().unwrap();
    let model_path = trained_model(dir.path());
    let data = write(dir.path(), "eval.jsonl", eval_corpus());
    let o = run(EVAL, &["-m", s(&model_path), "-i", s(&data)], &[]);
    assert_success(&o);
    let out = stdout(&o);
    assert!(
        out.starts_with(&format!("model {} (", model_path.display())),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "{:<30} {:>9.4} {:>9.4} {:>9.4} {:>8}\n",
            "economy", 1.0, 1.0, 1.0, 4
        )),
        "{out}"
    );
    assert!(out.contains("\naccuracy (exact set) 1.0000\n"), "{out}");
}

#[test]
fn eval_unknown_label() {
    let dir = TempDir::new().unwrap();
    let model_path = trained_model(dir.path());
    let mut text = eval_corpus();
    text.push_str(
        r#"{"id": "s-1", "text": "football match tonight army", "labels": ["sports", "conflict"]}"#,
    );
    text.push('\n');
    let data = write(dir.path(), "eval.jsonl", text);

    let o = run(EVAL, &["-m", s(&model_path), "-i", s(&data), "--json"], &[]);
    let err = assert_failure(&o);
    assert_eq!(
        err,
        "error: document \"s-1\" has label \"sports\", which the model does not know (it knows conflict, economy, health); \
         use --ignore-unknown to drop such labels\n"
    );
    assert_eq!(stdout(&o), "");

    let o = run(
        EVAL,
        &[
            "-m",
            s(&model_path),
            "-i",
            s(&data),
            "--json",
            "--ignore-unknown",
        ],
        &[],
    );
    assert_success(&o);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["unknown_labels_ignored"], 1);
    assert_eq!(v["documents"], 13);

    let o = run(
        EVAL,
        &["-m", s(&model_path), "-i", s(&data), "--ignore-unknown"],
        &[],
    );
    assert_success(&o);
    assert!(
        stdout(&o).contains("\n1 labels unknown to the model were ignored\n"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn eval_bad_model_and_bad_data() {
    let dir = TempDir::new().unwrap();
    let model_path = trained_model(dir.path());
    let data = write(dir.path(), "eval.jsonl", eval_corpus());

    let not_a_model = write(dir.path(), "junk.model", "hello world, not a model");
    let err = assert_failure(&run(EVAL, &["-m", s(&not_a_model), "-i", s(&data)], &[]));
    assert_eq!(
        err,
        format!(
            "error: cannot load model {}: not a docclass model: wrong magic number (expected \"DOCCLASS\")\n",
            not_a_model.display()
        )
    );

    let absent = dir.path().join("absent.model");
    let err = assert_failure(&run(EVAL, &["-m", s(&absent), "-i", s(&data)], &[]));
    assert_eq!(
        err,
        format!(
            "error: cannot load model {0}: cannot read model file {0}: No such file or directory (os error 2)\n",
            absent.display()
        )
    );

    let bad = write(
        dir.path(),
        "bad.jsonl",
        format!(
            "{}{{\"text\": 1, \"labels\": [\"health\"]}}\n",
            eval_corpus()
        ),
    );
    let err = assert_failure(&run(EVAL, &["-m", s(&model_path), "-i", s(&bad)], &[]));
    assert_eq!(
        err,
        format!(
            "error: {}:13: field \"text\" has the wrong type: expected a string\n",
            bad.display()
        )
    );

    let o = run(
        EVAL,
        &[
            "-m",
            s(&model_path),
            "-i",
            s(&bad),
            "--skip-invalid",
            "--json",
        ],
        &[],
    );
    assert_success(&o);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["skipped_records"], 1);
    assert_eq!(v["documents"], 12);
}

#[test]
fn eval_split_filter() {
    let dir = TempDir::new().unwrap();
    let model_path = trained_model(dir.path());
    let data = write(
        dir.path(),
        "eval.jsonl",
        concat!(
            r#"{"text": "army troops artillery", "labels": ["conflict"], "split": "test"}"#,
            "\n",
            r#"{"text": "bank budget exports", "labels": ["economy"], "split": "train"}"#,
            "\n",
        ),
    );
    let o = run(
        EVAL,
        &[
            "-m",
            s(&model_path),
            "-i",
            s(&data),
            "--split",
            "test",
            "--json",
        ],
        &[],
    );
    assert_success(&o);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["documents"], 1);

    let err = assert_failure(&run(
        EVAL,
        &["-m", s(&model_path), "-i", s(&data), "--split", "dev"],
        &[],
    ));
    assert_eq!(
        err,
        "error: no documents with split \"dev\" in the input (2 rows had another split)\n"
    );
}

// ------------------------------------------------- semi-supervised (EM) and calibration

/// `n` unlabelled documents, built like the labelled ones but with other ids.
fn unlabelled_corpus(n: usize) -> String {
    let mut out = String::new();
    for i in 0..n {
        let t = i % TOPICS.len();
        out.push_str(&format!(
            r#"{{"id": "pool-{i}", "text": "{}", "lang": "en"}}"#,
            words(t, 1000 + i).join(" ")
        ));
        out.push('\n');
    }
    out
}

#[test]
fn em_training_is_byte_reproducible_and_recorded_in_the_model() {
    let dir = TempDir::new().unwrap();
    let input = write(dir.path(), "train.jsonl", corpus(8));
    let pool = write(dir.path(), "pool.jsonl", unlabelled_corpus(30));
    let train = |name: &str| {
        let out = dir.path().join(name);
        let o = run(
            TRAIN,
            &[
                "-q",
                "-i",
                s(&input),
                "-o",
                s(&out),
                "--created-at",
                CREATED_AT,
                "--folds",
                "3",
                "--unlabeled",
                s(&pool),
                "--em-lambda",
                "0.5",
                "--em-iterations",
                "4",
            ],
            &[],
        );
        assert_success(&o);
        out
    };
    let (a, b) = (train("a.model"), train("b.model"));
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    let model = Model::load(&a).unwrap();
    let semi = model
        .data()
        .provenance
        .semi_supervised
        .as_ref()
        .expect("a semi-supervised record");
    assert_eq!(semi.documents, 30);
    assert_eq!(semi.lambda, 0.5);
    assert_eq!(semi.max_iterations, 4);
    assert!((1..=4).contains(&semi.iterations), "{semi:?}");
}

#[test]
fn bad_unlabelled_input_and_settings_are_clear_errors() {
    let dir = TempDir::new().unwrap();
    let input = write(dir.path(), "train.jsonl", corpus(6));
    let out = dir.path().join("m.model");
    let train = |extra: &[&str]| {
        let mut args = vec!["-q", "-i", s(&input), "-o", s(&out), "--no-validation"];
        args.extend_from_slice(extra);
        run(TRAIN, &args, &[])
    };
    // Malformed line: file:line, or skipped and counted.
    let bad = write(
        dir.path(),
        "bad.jsonl",
        "{\"text\": \"troops army\"}\n{not json\n{\"text\": \"bank markets\"}\n",
    );
    let err = assert_failure(&train(&["--unlabeled", s(&bad)]));
    assert!(
        err.contains(&format!("{}:2: malformed JSON", bad.display())),
        "{err}"
    );
    let o = train(&["--unlabeled", s(&bad), "--skip-invalid"]);
    assert_success(&o);
    assert!(
        stderr(&o).contains(&format!("warning: skipped {}:2", bad.display())),
        "{}",
        stderr(&o)
    );
    // Empty unlabelled set.
    let empty = write(dir.path(), "empty.jsonl", "\n");
    let err = assert_failure(&train(&["--unlabeled", s(&empty)]));
    assert!(
        err.contains("the unlabelled input holds no documents"),
        "{err}"
    );
    // Lambda outside [0, 1].
    let pool = write(dir.path(), "pool.jsonl", unlabelled_corpus(6));
    for lambda in ["--em-lambda=1.5", "--em-lambda=-0.1"] {
        let err = assert_failure(&train(&["--unlabeled", s(&pool), lambda]));
        assert!(
            err.contains("the unlabelled weight (lambda) must be in [0, 1]"),
            "{err}"
        );
    }
    // An evaluation set must not share a document with the unlabelled pool.
    let shared = write(
        dir.path(),
        "held.jsonl",
        format!(
            r#"{{"id": "pool-0", "text": "{}", "labels": ["{}"], "lang": "en"}}"#,
            words(0, 1000).join(" "),
            TOPICS[0].0
        ),
    );
    let named = format!("held={}", shared.display());
    let err = assert_failure(&train(&["--unlabeled", s(&pool), "--evaluate", &named]));
    assert!(
        err.contains("is also in the --unlabeled documents"),
        "{err}"
    );
}

#[test]
fn cross_validation_learns_from_unlabelled_documents_and_never_scores_them() {
    let dir = TempDir::new().unwrap();
    let input = write(dir.path(), "train.jsonl", corpus(6));
    let pool = write(dir.path(), "pool.jsonl", unlabelled_corpus(20));
    let o = run(
        EVAL,
        &[
            "--cv",
            "3",
            "-i",
            s(&input),
            "--no-validation",
            "--unlabeled",
            s(&pool),
            "--json",
        ],
        &[],
    );
    assert_success(&o);
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(report["documents"], 6 * TOPICS.len());
}

#[test]
fn multi_label_models_get_per_topic_probabilities() {
    let dir = TempDir::new().unwrap();
    // Every fourth document also carries the next topic: multi-label data.
    let mut text = String::new();
    for i in 0..12 {
        for (t, topic) in TOPICS.iter().enumerate() {
            let mut words_of = words(t, i);
            let mut labels = vec![format!("\"{}\"", topic.0)];
            if i % 4 == 0 {
                let u = (t + 1) % TOPICS.len();
                words_of.extend(words(u, i));
                labels.push(format!("\"{}\"", TOPICS[u].0));
            }
            text.push_str(&format!(
                r#"{{"id": "{t}-{i}", "text": "{}", "labels": [{}], "lang": "en"}}"#,
                words_of.join(" "),
                labels.join(", ")
            ));
            text.push('\n');
        }
    }
    let input = write(dir.path(), "train.jsonl", text);
    for (flags, per_topic) in [
        (vec![], Some("isotonic")),
        (vec!["--calibration", "platt"], Some("platt")),
        (vec!["--calibration", "temperature"], None),
        (vec!["--no-calibration"], None),
    ] {
        let out = dir.path().join("m.model");
        let mut args = vec!["-q", "-i", s(&input), "-o", s(&out), "--folds", "3"];
        args.extend_from_slice(&flags);
        assert_success(&run(TRAIN, &args, &[]));
        let model = Model::load(&out).unwrap();
        let method = model
            .per_topic_calibration()
            .map(|c| serde_json::to_value(c.method).unwrap());
        assert_eq!(
            method.as_ref().and_then(|m| m.as_str()),
            per_topic,
            "{flags:?}"
        );
        let c = model.classify(&words(0, 99).join(" "), None);
        let sum: f64 = c.probabilities.iter().sum();
        if per_topic.is_none() {
            assert!((sum - 1.0).abs() < 1e-9, "{flags:?}: {sum}");
        }
        assert!(c.probabilities.iter().all(|p| (0.0..=1.0).contains(p)));
    }
}

// ------------------------------------------------------------ CSV as users have it

#[test]
fn csv_with_label_column_semicolons_or_tabs_trains_and_missing_columns_name_the_flag() {
    let dir = TempDir::new().unwrap();
    let rows = |sep: &str, label_header: &str| {
        let mut out = format!("text{sep}{label_header}\n");
        for i in 0..6 {
            for (t, topic) in TOPICS.iter().enumerate() {
                out.push_str(&format!("{}{sep}{}\n", words(t, i).join(" "), topic.0));
            }
        }
        out
    };
    let out = dir.path().join("m.model");
    for (name, contents, extra) in [
        ("label.csv", rows(",", "label"), vec![]),
        ("semi.csv", rows(";", "labels"), vec![]),
        ("tabs.tsv", rows("\t", "labels"), vec![]),
        (
            "pipes.csv",
            rows("|", "labels"),
            vec!["--csv-delimiter", "|"],
        ),
    ] {
        let input = write(dir.path(), name, contents);
        let mut args = vec!["-q", "-i", s(&input), "-o", s(&out), "--no-validation"];
        args.extend_from_slice(&extra);
        assert_success(&run(TRAIN, &args, &[]));
    }
    let input = write(dir.path(), "other.csv", rows(",", "topic"));
    let err = assert_failure(&run(TRAIN, &["-q", "-i", s(&input), "-o", s(&out)], &[]));
    assert!(
        err.contains("CSV has no label column \"labels\" (columns: text, topic; choose one with --csv-label-column)"),
        "{err}"
    );
}

#[test]
fn label_mistakes_warn_and_strict_labels_refuses_them() {
    let dir = TempDir::new().unwrap();
    let mut text = corpus(6);
    text.push_str(&format!(
        r#"{{"id": "odd-1", "text": "{}", "labels": ["Conflict"], "lang": "en"}}"#,
        words(0, 50).join(" ")
    ));
    text.push('\n');
    let input = write(dir.path(), "train.jsonl", text);
    let out = dir.path().join("m.model");
    let args = ["-q", "-i", s(&input), "-o", s(&out), "--no-validation"];
    let o = run(TRAIN, &args, &[]);
    assert_success(&o);
    let err = stderr(&o);
    assert!(
        err.contains(
            "warning: labels \"Conflict\", \"conflict\" differ only in case or surrounding spaces"
        ),
        "{err}"
    );
    assert!(
        err.contains("warning: topic \"Conflict\" has only 1 document (fewer than 5)"),
        "{err}"
    );
    let mut strict = args.to_vec();
    strict.push("--strict-labels");
    let err = assert_failure(&run(TRAIN, &strict, &[]));
    assert!(
        err.starts_with("error: --strict-labels: labels \"Conflict\""),
        "{err}"
    );
}

#[test]
fn a_training_run_killed_at_any_moment_leaves_the_previous_model_intact() {
    let dir = TempDir::new().unwrap();
    let input = write(dir.path(), "train.jsonl", corpus(400));
    let out = dir.path().join("m.model");
    let args = [
        "-q",
        "-i",
        s(&input),
        "-o",
        s(&out),
        "--created-at",
        CREATED_AT,
        "--folds",
        "3",
    ];
    assert_success(&run(TRAIN, &args, &[]));
    let before = std::fs::read(&out).unwrap();
    // SIGKILL at growing delays: some land in analysis, some in fitting,
    // some while the file is written; the run may also finish first.
    for delay_ms in (0..12).map(|k| k * 15) {
        let mut child = Command::new(TRAIN)
            .args(args)
            .env_remove("SOURCE_DATE_EPOCH")
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        let after = std::fs::read(&out).unwrap();
        assert_eq!(
            after, before,
            "killed after {delay_ms} ms: the model file changed"
        );
        Model::load(&out).unwrap_or_else(|e| panic!("killed after {delay_ms} ms: {e}"));
    }
}

#[test]
fn a_document_over_a_megabyte_gets_a_warning() {
    let dir = TempDir::new().unwrap();
    let mut text = corpus(6);
    let huge = format!("{} ", words(0, 7).join(" ")).repeat(40_000);
    assert!(huge.len() > 1 << 20);
    text.push_str(&format!(
        r#"{{"id": "huge", "text": "{huge}", "labels": ["{}"], "lang": "en"}}"#,
        TOPICS[0].0
    ));
    text.push('\n');
    let input = write(dir.path(), "train.jsonl", text);
    let out = dir.path().join("m.model");
    let o = run(
        TRAIN,
        &["-q", "-i", s(&input), "-o", s(&out), "--no-validation"],
        &[],
    );
    assert_success(&o);
    assert!(
        stderr(&o).contains("warning: document \"huge\" is ")
            && stderr(&o).contains("is it several documents read as one?"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn option_errors_name_the_flag_that_fixes_them() {
    let dir = TempDir::new().unwrap();
    let input = write(dir.path(), "train.jsonl", corpus(2));
    let out = dir.path().join("m.model");
    let err = assert_failure(&train_quiet(&input, &out, &["--folds", "50"]));
    assert!(
        err.contains("folds (--folds) must be between 2 and the number of documents (6), got 50; --no-validation skips validation"),
        "{err}"
    );
    let err = assert_failure(&train_quiet(
        &input,
        &out,
        &["--no-validation", "--min-df", "100"],
    ));
    assert!(
        err.contains("no term survived pruning")
            && err.contains("lower --min-df or raise --max-df"),
        "{err}"
    );
    let err = assert_failure(&train_quiet(&input, &out, &["--holdout", "1.5"]));
    assert!(
        err.contains("held-out fraction (--holdout) must be in (0, 1)"),
        "{err}"
    );
}

#[test]
fn a_calibration_method_without_validation_is_refused() {
    let dir = TempDir::new().unwrap();
    let input = write(dir.path(), "train.jsonl", corpus(6));
    let out = dir.path().join("m.model");
    let err = assert_failure(&train_quiet(
        &input,
        &out,
        &["--no-validation", "--calibration", "isotonic"],
    ));
    assert!(
        err.contains("needs validation (--folds or --holdout, not --no-validation)"),
        "{err}"
    );
    // The default (auto) still trains without validation, with raw posteriors.
    assert_success(&train_quiet(&input, &out, &["--no-validation"]));
}
