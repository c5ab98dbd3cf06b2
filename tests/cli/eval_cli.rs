//! End-to-end tests of `docclass-eval`: the full report of a trained model,
//! k-fold cross-validation (`--cv`), model comparison (`--model A --model B`),
//! SVG plots (`--plot`), and errors. Small synthetic corpora in temporary
//! directories; the binaries are the ones cargo builds for the tests.

use crate::synthetic::{words, TOPICS};
use crate::util::{assert_failure, assert_success, s, stderr, stdout, write, EVAL, TRAIN};
use docclass::corpus::{Corpus, ReadOptions};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};
use tempfile::TempDir;

fn line(id: &str, text: &[&str], labels: &[&str]) -> String {
    serde_json::json!({ "id": id, "text": text.join(" "), "labels": labels, "lang": "en" })
        .to_string()
        + "\n"
}

/// Single-label: documents `from..to` of every topic, interleaved. `label`
/// maps a topic index to the label written (to train a deliberately wrong model).
fn single_label(from: usize, to: usize, label: impl Fn(usize) -> usize) -> String {
    let mut out = String::new();
    for i in from..to {
        for t in 0..TOPICS.len() {
            out += &line(
                &format!("{}-{i}", TOPICS[t].0),
                &words(t, i),
                &[TOPICS[label(t)].0],
            );
        }
    }
    out
}

/// Multi-label: `n` documents of every topic, and every third `i` a document
/// about topics t and t+1 together.
fn multi_label(n: usize) -> String {
    let mut out = String::new();
    for i in 0..n {
        for (t, (name, _)) in TOPICS.iter().enumerate() {
            out += &line(&format!("{name}-{i}"), &words(t, i), &[name]);
            if i % 3 == 0 {
                let u = (t + 1) % TOPICS.len();
                let mut text = words(t, i);
                text.truncate(4);
                text.extend(words(u, i + 1).into_iter().take(4));
                out += &line(
                    &format!("{name}+{}-{i}", TOPICS[u].0),
                    &text,
                    &[name, TOPICS[u].0],
                );
            }
        }
    }
    out
}

fn run(bin: &str, args: &[&str]) -> Output {
    Command::new(bin)
        .args(args)
        .env_remove("SOURCE_DATE_EPOCH")
        .env("NO_COLOR", "1")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {bin}: {e}"))
}

#[track_caller]
fn json_of(o: &Output) -> Value {
    assert_success(o);
    serde_json::from_str(&stdout(o)).expect("stdout is one JSON object")
}

fn train(input: &Path, output: &Path, extra: &[&str]) {
    let mut args = vec![
        "-i",
        s(input),
        "-o",
        s(output),
        "--created-at",
        "2024-05-01T12:00:00Z",
        "-q",
    ];
    args.extend_from_slice(extra);
    assert_success(&run(TRAIN, &args));
}

fn corpus_hash(path: &Path) -> String {
    let corpus = Corpus::read_all(&[path.to_path_buf()], &ReadOptions::default()).unwrap();
    docclass::train::corpus_hash(&corpus.documents)
}

fn u64_of(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

fn f64_of(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// The structural checks every report passes.
#[track_caller]
fn check_sections(v: &Value, documents: u64, topics: &[&str]) {
    assert_eq!(v["documents"], documents);
    let per_topic: Vec<&str> = v["per_topic"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["topic"].as_str().unwrap())
        .collect();
    assert_eq!(per_topic, topics);
    // Threshold sweep: 19 rows per topic, 0.05 … 0.95.
    let sweep = v["threshold_sweep"].as_array().unwrap();
    assert_eq!(sweep.len(), topics.len());
    for topic in sweep {
        let points = topic["points"].as_array().unwrap();
        assert_eq!(points.len(), 19, "{topic}");
        for (k, p) in points.iter().enumerate() {
            assert!((f64_of(&p["threshold"]) - (k + 1) as f64 * 0.05).abs() < 1e-9);
            assert!(u64_of(&p["true_positives"]) <= u64_of(&p["predicted"]));
        }
        // Raising the threshold never predicts more.
        let predicted: Vec<u64> = points.iter().map(|p| u64_of(&p["predicted"])).collect();
        assert!(predicted.windows(2).all(|w| w[0] >= w[1]), "{predicted:?}");
    }
    // Calibration: 10 bins whose counts add up to documents × topics.
    let bins = v["calibration"]["bins"].as_array().unwrap();
    assert_eq!(bins.len(), 10);
    let pairs: u64 = bins.iter().map(|b| u64_of(&b["count"])).sum();
    assert_eq!(pairs, documents * topics.len() as u64);
    assert_eq!(v["calibration"]["pairs"], pairs);
    // Per-topic errors: every document is counted once per topic.
    for e in v["topic_errors"].as_array().unwrap() {
        let sum: u64 = [
            "true_positives",
            "false_positives",
            "false_negatives",
            "true_negatives",
        ]
        .iter()
        .map(|k| u64_of(&e[*k]))
        .sum();
        assert_eq!(sum, documents, "{e}");
    }
    // Confusion matrix (single-label only): counts add up to the documents.
    if v["multi_label"] == false {
        let cm = &v["confusion_matrix"];
        let mut labels: Vec<&str> = topics.to_vec();
        labels.push("none");
        assert_eq!(cm["labels"], serde_json::json!(labels));
        let total: u64 = cm["counts"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|row| row.as_array().unwrap())
            .map(u64_of)
            .sum();
        assert_eq!(total, documents);
    } else {
        assert!(v["confusion_matrix"].is_null());
    }
    let hex = |k: &str| {
        let h = v[k].as_str().unwrap();
        h.len() == 64 && h.chars().all(|c| c.is_ascii_hexdigit())
    };
    assert!(hex("model_sha256") && hex("data_sha256"), "{v}");
}

const IDS: [&str; 3] = ["conflict", "economy", "health"];

// ------------------------------------------------------------ one model

#[test]
fn model_report_has_every_section_with_exact_values() {
    let dir = TempDir::new().unwrap();
    let model = dir.path().join("m.model");
    train(
        &write(dir.path(), "train.jsonl", single_label(0, 14, |t| t)),
        &model,
        &[],
    );
    let data = write(dir.path(), "eval.jsonl", single_label(20, 24, |t| t));
    let v = json_of(&run(EVAL, &["-m", s(&model), "-i", s(&data), "--json"]));
    check_sections(&v, 12, &IDS);
    assert_eq!(v["accuracy"], 1.0);
    assert_eq!(v["multi_label"], false);
    assert_eq!(
        v["confusion_matrix"]["counts"],
        serde_json::json!([[4, 0, 0, 0], [0, 4, 0, 0], [0, 0, 4, 0], [0, 0, 0, 0]])
    );
    assert_eq!(v["topic_errors"][1]["true_positives"], 4);
    assert_eq!(v["topic_errors"][1]["true_negatives"], 8);
    // Every topic's top probability wins, so at a threshold of 0.05 every
    // gold document is caught: recall 1.
    for topic in v["threshold_sweep"].as_array().unwrap() {
        assert_eq!(topic["support"], 4);
        assert_eq!(topic["points"][0]["recall"], 1.0);
    }
    // Hashes: the model file's bytes, and the evaluated documents.
    let bytes = std::fs::read(&model).unwrap();
    assert_eq!(v["model_sha256"], docclass::eval::sha256_hex(&bytes));
    assert_eq!(v["model_sha256_of"], "model_file");
    assert_eq!(v["data_sha256"], corpus_hash(&data));
    assert_eq!(v["model"], s(&model));

    // The text report shows the same sections.
    let o = run(EVAL, &["-m", s(&model), "-i", s(&data)]);
    assert_success(&o);
    let out = stdout(&o);
    for needle in [
        "\naccuracy (exact set) 1.0000\n",
        &format!(
            "\nmodel sha256 {} (of the model file)\n",
            docclass::eval::sha256_hex(&bytes)
        ),
        &format!("\ndata  sha256 {}\n", corpus_hash(&data)),
        "\nconfusion matrix: rows are the gold topic, columns the top decided topic, numbered as the rows",
        &format!("\n  2 {:<30}{:>5}{:>5}{:>5}{:>5}\n", "economy", 0, 4, 0, 0),
        "\nthreshold sweep: ",
        "\ncalibration over 36 (document, topic) pairs",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in\n{out}");
    }
}

#[test]
fn a_text_with_no_known_term_is_counted_in_the_none_column() {
    let dir = TempDir::new().unwrap();
    let model = dir.path().join("m.model");
    train(
        &write(dir.path(), "train.jsonl", single_label(0, 14, |t| t)),
        &model,
        &[],
    );
    let mut text = single_label(20, 22, |t| t);
    text += &line("blank", &["zzz", "qqq"], &["health"]);
    let data = write(dir.path(), "eval.jsonl", text);
    let v = json_of(&run(EVAL, &["-m", s(&model), "-i", s(&data), "--json"]));
    check_sections(&v, 7, &IDS);
    assert_eq!(
        v["confusion_matrix"]["counts"],
        serde_json::json!([[2, 0, 0, 0], [0, 2, 0, 0], [0, 0, 2, 1], [0, 0, 0, 0]])
    );
}

// -------------------------------------------------------- cross-validation

#[test]
fn cv_is_seeded_stratified_and_deterministic() {
    let dir = TempDir::new().unwrap();
    let data = write(dir.path(), "all.jsonl", single_label(0, 10, |t| t));
    let args = ["--cv", "5", "-i", s(&data), "--seed", "11", "--json"];
    let first = run(EVAL, &args);
    let second = run(EVAL, &args);
    assert_success(&first);
    assert_eq!(stdout(&first), stdout(&second), "same seed, same report");
    let v = json_of(&first);
    check_sections(&v, 30, &IDS);
    assert_eq!(v["accuracy"], 1.0);
    assert_eq!(v["macro_f1"], 1.0);
    assert_eq!(v["model_sha256_of"], "train_options");
    assert_eq!(v["data_sha256"], corpus_hash(&data));
    let cv = &v["cv"];
    assert_eq!(cv["folds"], 5);
    assert_eq!(cv["seed"], 11);
    assert_eq!(cv["stratification"], "by_label");
    let folds = cv["per_fold"].as_array().unwrap();
    assert_eq!(folds.len(), 5);
    for f in folds {
        // 10 documents per topic over 5 folds: 2 of each topic held out.
        assert_eq!(f["test_documents"], 6);
        assert_eq!(f["train_documents"], 24);
    }
    assert_eq!(
        v["confusion_matrix"]["counts"],
        serde_json::json!([[10, 0, 0, 0], [0, 10, 0, 0], [0, 0, 10, 0], [0, 0, 0, 0]])
    );

    // Another seed still scores every document once.
    let v = json_of(&run(
        EVAL,
        &["--cv", "3", "-i", s(&data), "--seed", "12", "--json"],
    ));
    check_sections(&v, 30, &IDS);
    assert_eq!(v["cv"]["per_fold"].as_array().unwrap().len(), 3);
}

#[test]
fn cv_trains_with_exactly_the_options_of_docclass_train() {
    let dir = TempDir::new().unwrap();
    let data = write(dir.path(), "all.jsonl", multi_label(9));
    let topics = write(
        dir.path(),
        "topics.json",
        r#"[{"id": "conflict", "name_en": "Conflict"}, {"id": "economy"}, {"id": "health"}]"#,
    );
    let flags = [
        "--topics",
        s(&topics),
        "--exclusive-topic",
        "health",
        "--nb",
        "multinomial",
        "--alpha",
        "0.3",
        "--word-ngrams",
        "1",
        "--no-idf",
        "--min-df",
        "1",
        "--folds",
        "3",
        "--seed",
        "5",
    ];
    let card = dir.path().join("card.json");
    let mut args = vec!["--card", s(&card)];
    args.extend_from_slice(&flags);
    train(&data, &dir.path().join("m.model"), &args);
    let card: Value = serde_json::from_str(&std::fs::read_to_string(&card).unwrap()).unwrap();

    let mut args = vec!["--cv", "4", "-i", s(&data), "--json"];
    args.extend_from_slice(&flags);
    let v = json_of(&run(EVAL, &args));
    assert_eq!(v["train_options"], card["options"]);
    assert_eq!(v["train_options"]["nb"]["variant"], "multinomial");
    check_sections(&v, 36, &IDS);
    assert_eq!(v["multi_label"], true);
    assert_eq!(v["cv"]["stratification"], "iterative");
    assert_eq!(v["cv"]["seed"], 5);
    let tested: u64 = v["cv"]["per_fold"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| u64_of(&f["test_documents"]))
        .sum();
    assert_eq!(tested, 36);

    // The model hash is of the options: it moves with any option.
    let other: Vec<&str> = args
        .iter()
        .map(|a| if *a == "0.3" { "0.31" } else { a })
        .collect();
    let w = json_of(&run(EVAL, &other));
    assert_ne!(w["model_sha256"], v["model_sha256"]);
    assert_eq!(w["data_sha256"], v["data_sha256"]);
    assert_eq!(
        json_of(&run(EVAL, &args))["model_sha256"],
        v["model_sha256"]
    );

    // Text: the multi-label report has error counts, not a confusion matrix.
    args.retain(|a| *a != "--json");
    let o = run(EVAL, &args);
    assert_success(&o);
    let out = stdout(&o);
    assert!(
        out.starts_with("4-fold cross-validation (iterative stratification (multi-label)), seed 5, 36 documents, "),
        "{out}"
    );
    assert!(
        out.contains("\nper-topic errors (multi-label data"),
        "{out}"
    );
    assert!(!out.contains("confusion matrix: rows"), "{out}");
    assert!(out.contains("(of the training options)"), "{out}");
}

#[test]
fn cv_errors_are_clear() {
    let dir = TempDir::new().unwrap();
    let data = write(dir.path(), "all.jsonl", single_label(0, 4, |t| t));
    let err = assert_failure(&run(EVAL, &["--cv", "50", "-i", s(&data)]));
    // Four documents per topic: each gets a warning first.
    assert!(
        err.starts_with("warning: topic \"conflict\" has only 4 documents (fewer than 5)\n"),
        "{err}"
    );
    assert!(
        err.ends_with("\nerror: invalid option: cross-validation folds (--cv) must be between 2 and the number of documents (12), got 50\n"),
        "{err}"
    );
    // A topic with a single document cannot be held out and trained on.
    let mut text = single_label(0, 4, |t| t);
    text += &line("lonely", &["treaty", "envoy"], &["peace"]);
    let lonely = write(dir.path(), "lonely.jsonl", text);
    let err = assert_failure(&run(EVAL, &["--cv", "3", "-i", s(&lonely)]));
    assert!(
        err.contains("warning: topic \"peace\" has only 1 document (fewer than 5)\n")
            && err.contains("\nerror: cross-validation fold ")
            && err.contains("topic \"peace\" has no training documents"),
        "{err}"
    );
    // Labels the topics file does not declare: an error, or dropped with --ignore-unknown.
    let topics = write(
        dir.path(),
        "topics.json",
        r#"[{"id": "conflict"}, {"id": "economy"}, {"id": "health"}]"#,
    );
    let err = assert_failure(&run(
        EVAL,
        &["--cv", "3", "-i", s(&lonely), "--topics", s(&topics)],
    ));
    assert!(
        err.ends_with(
            "\nerror: document \"lonely\" has label \"peace\", which the topics file does not know \
             (it knows conflict, economy, health); use --ignore-unknown to drop such labels\n"
        ),
        "{err}"
    );
    let v = json_of(&run(
        EVAL,
        &[
            "--cv",
            "3",
            "-i",
            s(&lonely),
            "--topics",
            s(&topics),
            "--ignore-unknown",
            "--json",
        ],
    ));
    assert_eq!(v["unknown_labels_ignored"], 1);
    assert_eq!(v["documents_without_known_label"], 1);
    assert_eq!(v["documents"], 12);
    // Training flags mean nothing for a trained model.
    let model = dir.path().join("m.model");
    train(&data, &model, &[]);
    let err = assert_failure(&run(
        EVAL,
        &[
            "-m",
            s(&model),
            "-i",
            s(&data),
            "--alpha",
            "0.5",
            "--no-idf",
        ],
    ));
    assert!(err.ends_with("error: --no-idf, --alpha only applies with --cv (a trained model already has its training options)\n"), "{err}");
    // --cv and --model exclude each other (a usage error, exit 2).
    let o = run(EVAL, &["--cv", "3", "-m", s(&model), "-i", s(&data)]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

// ------------------------------------------------------------- comparing

#[test]
fn two_models_side_by_side_with_b_minus_a() {
    let dir = TempDir::new().unwrap();
    // A learns economy and health swapped; B learns them right.
    let a = dir.path().join("a.model");
    let b = dir.path().join("b.model");
    let swapped = |t: usize| [0, 2, 1][t];
    train(
        &write(dir.path(), "a.jsonl", single_label(0, 14, swapped)),
        &a,
        &[],
    );
    train(
        &write(dir.path(), "b.jsonl", single_label(0, 14, |t| t)),
        &b,
        &[],
    );
    let data = write(dir.path(), "eval.jsonl", single_label(20, 24, |t| t));
    let v = json_of(&run(
        EVAL,
        &["-m", s(&a), "--model", s(&b), "-i", s(&data), "--json"],
    ));
    let models = v["models"].as_array().unwrap();
    assert_eq!(models.len(), 2);
    assert_eq!(models[0]["model"], s(&a));
    assert_eq!(models[1]["model"], s(&b));
    for m in models {
        check_sections(m, 12, &IDS);
    }
    let (ra, rb, d) = (&models[0], &models[1], &v["difference"]);
    assert!((f64_of(&ra["accuracy"]) - 1.0 / 3.0).abs() < 1e-12);
    assert_eq!(rb["accuracy"], 1.0);
    for key in [
        "accuracy",
        "macro_precision",
        "macro_recall",
        "macro_f1",
        "micro_precision",
        "micro_recall",
        "micro_f1",
        "hamming_loss",
    ] {
        assert_eq!(
            f64_of(&d[key]),
            f64_of(&rb[key]) - f64_of(&ra[key]),
            "{key}"
        );
    }
    let per_topic = d["per_topic"].as_array().unwrap();
    assert_eq!(per_topic.len(), 3);
    for (i, t) in per_topic.iter().enumerate() {
        assert_eq!(t["topic"], IDS[i]);
        assert_eq!(t["f1_a"], ra["per_topic"][i]["f1"]);
        assert_eq!(t["f1_b"], rb["per_topic"][i]["f1"]);
        assert_eq!(
            f64_of(&t["f1_difference"]),
            f64_of(&t["f1_b"]) - f64_of(&t["f1_a"])
        );
    }
    assert_eq!(per_topic[0]["f1_difference"], 0.0);
    assert_eq!(per_topic[1]["f1_difference"], 1.0);
    assert_eq!(ra["confusion_matrix"]["counts"][1][2], 4);

    let o = run(EVAL, &["-m", s(&a), "-m", s(&b), "-i", s(&data)]);
    assert_success(&o);
    let out = stdout(&o);
    assert!(out.starts_with("12 documents, data sha256 "), "{out}");
    assert!(out.contains(&format!("\nA = {} (version ", s(&a))), "{out}");
    assert!(out.contains(&format!("\nB = {} (version ", s(&b))), "{out}");
    assert!(
        out.contains(&format!(
            "\n{:<30} {:>9.4} {:>9.4} {:>+9.4}\n",
            "accuracy (exact set)",
            1.0 / 3.0,
            1.0,
            2.0 / 3.0
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "\n{:<30} {:>9.4} {:>9.4} {:>+9.4}\n",
            "economy", 0.0, 1.0, 1.0
        )),
        "{out}"
    );

    // Three models: one difference per later model, each against the first.
    let v = json_of(&run(
        EVAL,
        &[
            "-m",
            s(&a),
            "-m",
            s(&b),
            "-m",
            s(&a),
            "-i",
            s(&data),
            "--json",
        ],
    ));
    let d = v["difference"].as_array().unwrap();
    assert_eq!(d.len(), 2);
    assert_eq!(d[1]["accuracy"], 0.0);
}

// ----------------------------------------------------------------- plots

fn assert_svg(path: &Path) {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    assert!(text.starts_with("<svg"), "{}", path.display());
    assert!(text.trim_end().ends_with("</svg>"), "{}", path.display());
    assert!(text.len() > 1000, "{} is nearly empty", path.display());
}

#[test]
fn plot_writes_svg_files() {
    let dir = TempDir::new().unwrap();
    let model = dir.path().join("m.model");
    let train_data = write(dir.path(), "train.jsonl", single_label(0, 14, |t| t));
    train(&train_data, &model, &[]);
    let data = write(dir.path(), "eval.jsonl", single_label(20, 24, |t| t));

    let plots = dir.path().join("plots");
    let o = run(
        EVAL,
        &["-m", s(&model), "-i", s(&data), "--plot", s(&plots)],
    );
    assert_success(&o);
    assert_svg(&plots.join("confusion_matrix.svg"));
    assert_svg(&plots.join("pr_curves.svg"));
    let cm = std::fs::read_to_string(plots.join("confusion_matrix.svg")).unwrap();
    for topic in IDS {
        assert!(cm.contains(topic), "{topic} is not labelled");
    }

    // Multi-label cross-validation: per-topic errors instead of a confusion matrix.
    let multi = write(dir.path(), "multi.jsonl", multi_label(6));
    let cv_plots = dir.path().join("cv-plots");
    assert_success(&run(
        EVAL,
        &["--cv", "3", "-i", s(&multi), "--plot", s(&cv_plots)],
    ));
    assert_svg(&cv_plots.join("topic_errors.svg"));
    assert_svg(&cv_plots.join("pr_curves.svg"));
    assert!(!cv_plots.join("confusion_matrix.svg").exists());

    // Comparing: one sub-directory per model.
    let cmp = dir.path().join("cmp");
    assert_success(&run(
        EVAL,
        &[
            "-m",
            s(&model),
            "-m",
            s(&model),
            "-i",
            s(&data),
            "--plot",
            s(&cmp),
        ],
    ));
    for sub in ["model-1", "model-2"] {
        assert_svg(&cmp.join(sub).join("confusion_matrix.svg"));
        assert_svg(&cmp.join(sub).join("pr_curves.svg"));
    }

    // A plot directory that cannot be created is a clear error.
    let blocked = write(dir.path(), "file", "not a directory");
    let err = assert_failure(&run(
        EVAL,
        &["-m", s(&model), "-i", s(&data), "--plot", s(&blocked)],
    ));
    assert!(
        err.starts_with(&format!("error: cannot create {}", blocked.display())),
        "{err}"
    );
}

#[test]
fn each_binary_help_says_what_that_binary_does() {
    for (bin, first) in [
        (TRAIN, "Train a docclass topic model"),
        (
            EVAL,
            "Evaluate docclass models on labelled documents, compare models, or cross-validate training options",
        ),
    ] {
        for flag in ["-h", "--help"] {
            let o = run(bin, &[flag]);
            assert_success(&o);
            let help = stdout(&o);
            assert!(help.starts_with(first), "{bin} {flag}:\n{help}");
            assert!(!help.contains("over gRPC"), "{bin} {flag}:\n{help}");
        }
    }
}

#[test]
fn errors_file_lists_the_misclassified_documents_worst_first() {
    let dir = TempDir::new().unwrap();
    let data = write(dir.path(), "train.jsonl", single_label(0, 8, |t| t));
    let model = dir.path().join("m.model");
    train(&data, &model, &["--no-validation"]);
    // The first topic's documents relabelled as the second: all misclassified.
    let test = write(
        dir.path(),
        "test.jsonl",
        single_label(8, 10, |t| if t == 0 { 1 } else { t }),
    );
    let errors = dir.path().join("errors.txt");
    assert_success(&run(
        EVAL,
        &["-m", s(&model), "-i", s(&test), "--errors", s(&errors)],
    ));
    let text = std::fs::read_to_string(&errors).unwrap();
    let total = 2 * TOPICS.len();
    assert!(
        text.starts_with(&format!(
            "2 of {total} documents misclassified, worst first\n\n"
        )),
        "{text}"
    );
    let first = TOPICS[0].0;
    assert!(
        text.contains(&format!(
            "\n{first}-8\n  gold: {}\n  decided: {first}\n  distance: ",
            TOPICS[1].0
        )),
        "{text}"
    );
    let distances: Vec<f64> = text
        .lines()
        .filter_map(|l| l.strip_prefix("  distance: "))
        .map(|d| d.parse().unwrap())
        .collect();
    assert_eq!(distances.len(), 2);
    assert!(distances[0] >= distances[1], "{distances:?}");
}

#[test]
fn cross_validation_with_a_tuning_grid_shows_each_fold_s_choice() {
    let dir = TempDir::new().unwrap();
    let data = write(dir.path(), "all.jsonl", single_label(0, 10, |t| t));
    let args = [
        "--cv",
        "3",
        "-i",
        s(&data),
        "--no-validation",
        "--tune-alpha",
        "0.1,1",
        "--tune-folds",
        "2",
    ];
    let o = run(EVAL, &args);
    assert_success(&o);
    let text = stdout(&o);
    for fold in 1..=3 {
        assert!(
            text.contains(&format!(
                "\nfold {fold} tuning chose: nb complement, alpha "
            )),
            "{text}"
        );
    }
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let v = json_of(&run(EVAL, &json_args));
    for f in v["cv"]["per_fold"].as_array().unwrap() {
        assert_eq!(f["tuned"]["nb"], "complement", "{f}");
        assert!(f["tuned"]["alpha"].is_number(), "{f}");
    }
}

#[test]
fn cross_validation_writes_out_of_fold_predictions() {
    let dir = TempDir::new().unwrap();
    let data = write(dir.path(), "all.jsonl", single_label(0, 6, |t| t));
    let predictions = dir.path().join("p.jsonl");
    let o = run(
        EVAL,
        &[
            "--cv",
            "3",
            "-i",
            s(&data),
            "--no-validation",
            "--predictions",
            s(&predictions),
        ],
    );
    assert_success(&o);
    let lines: Vec<Value> = std::fs::read_to_string(&predictions)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 6 * TOPICS.len());
    for line in &lines {
        assert!(line["id"].is_string() && line["gold"].is_array(), "{line}");
        assert!(
            line["predicted"].is_array() && line["probabilities"].is_object(),
            "{line}"
        );
    }
}
