//! End-to-end tests of the `docclass` client CLI against a real
//! `docclass-server` process serving the committed fixture model
//! (`tests/fixtures/tiny-v1.model`: topics conflict, disaster, other).
//!
//! Each test starts its own server on a free port and kills it when done
//! (the `Server` guard's `Drop`), so tests run in parallel.

use crate::common::process::*;
use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

const CONFLICT_TABLE: &str =
    "   topic     name              probability                   threshold
✓  conflict  Armed conflict     99.3%  ███████████████████▉      21.0%
   disaster  Natural disaster    0.4%  ▏                         27.0%
   other     Other               0.2%                            49.0%
";

const DISASTER_TABLE: &str =
    "   topic     name              probability                   threshold
✓  disaster  Natural disaster   99.1%  ███████████████████▉      27.0%
   conflict  Armed conflict      0.5%  ▏                         21.0%
   other     Other               0.4%  ▏                         49.0%
";

#[test]
fn classify_prints_language_version_labels_and_topic_table() {
    let server = Server::serving();
    let out = server.run(&["classify", CONFLICT_TEXT]);
    assert_eq!(
        success(&out),
        format!(
            "language       en (English, detected)
model version  {FIXTURE_VERSION}
labels         conflict

{CONFLICT_TABLE}"
        )
    );

    // Several words are one text; --id is echoed; --explain-terms implies --explain.
    let words: Vec<&str> = CONFLICT_TEXT.split(' ').collect();
    let mut args = vec!["classify", "--id", "wire-7", "--explain-terms", "3"];
    args.extend(&words);
    assert_eq!(
        success(&server.run(&args)),
        format!(
            "document       wire-7
language       en (English, detected)
model version  {FIXTURE_VERSION}
labels         conflict

{CONFLICT_TABLE}
terms behind conflict (Armed conflict)
  militia  +0.723
  shell    +0.715
  clash    +0.696
"
        )
    );

    // The topic filter keeps only the requested topics.
    let out = server.run(&[
        "classify", "--topic", "disaster", "--topic", "other", OTHER_TEXT,
    ]);
    assert_eq!(
        success(&out),
        format!(
            "language       en (English, detected)
model version  {FIXTURE_VERSION}
labels         other

   topic     name              probability                   threshold
✓  other     Other              99.4%  ███████████████████▉      49.0%
   disaster  Natural disaster    0.2%                            27.0%
"
        )
    );
}

#[test]
fn classify_json_carries_the_whole_response() {
    let server = Server::serving();
    let v = json(&server.run(&[
        "classify",
        "--json",
        "--id",
        "d1",
        "--explain",
        "--explain-terms",
        "2",
        "--language",
        "en",
        CONFLICT_TEXT,
    ]));
    assert_eq!(v["id"], "d1");
    assert_eq!(v["language"], "en");
    assert_eq!(v["model_version"], FIXTURE_VERSION);
    assert_eq!(v["labels"], serde_json::json!(["conflict"]));
    let topics = v["topics"].as_array().expect("topics");
    let ids: Vec<&str> = topics
        .iter()
        .map(|t| t["topic"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["conflict", "disaster", "other"]);
    assert_eq!(topics[0]["name"], "Armed conflict");
    assert_eq!(topics[0]["decided"], true);
    assert_eq!(topics[1]["decided"], false);
    assert_close(&topics[0]["threshold"], 0.21);
    assert_close(&topics[2]["threshold"], 0.49);
    let sum: f64 = topics
        .iter()
        .map(|t| t["probability"].as_f64().unwrap())
        .sum();
    assert!((sum - 1.0).abs() < 1e-9, "probabilities sum to {sum}");
    let explanations = v["explanations"].as_array().expect("explanations");
    assert_eq!(explanations.len(), 1);
    assert_eq!(explanations[0]["topic"], "conflict");
    let terms: Vec<&str> = explanations[0]["terms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["term"].as_str().unwrap())
        .collect();
    assert_eq!(terms, ["militia", "shell"]);

    // --top-k keeps the most probable topic only.
    let v = json(&server.run(&["classify", "--json", "--top-k", "1", DISASTER_TEXT]));
    assert_eq!(v["topics"].as_array().unwrap().len(), 1);
    assert_eq!(v["topics"][0]["topic"], "disaster");
    assert_eq!(v["explanations"], serde_json::json!([]));
}

#[test]
fn classify_reads_standard_input() {
    let server = Server::serving();
    let expected = format!(
        "language       en (English, detected)
model version  {FIXTURE_VERSION}
labels         disaster

{DISASTER_TABLE}"
    );
    // `-` reads stdin; so does no TEXT when stdin is not a terminal.
    let out = client_with_stdin(&server.addr, &["classify", "-"], DISASTER_TEXT);
    assert_eq!(success(&out), expected);
    let out = client_with_stdin(&server.addr, &["classify"], &format!("{DISASTER_TEXT}\n"));
    assert_eq!(success(&out), expected);
    let out = client_with_stdin(
        &server.addr,
        &["classify", "--language", "en"],
        DISASTER_TEXT,
    );
    assert_eq!(
        success(&out),
        expected.replace("(English, detected)", "(English, from --language)")
    );
}

#[test]
fn classify_files_in_one_batch() {
    let server = Server::serving();
    let dir = TempDir::new().unwrap();
    let a = dir.path().join("a.txt");
    let b = dir.path().join("b.txt");
    let empty = dir.path().join("empty.txt");
    std::fs::write(&a, format!("{CONFLICT_TEXT}\n")).unwrap();
    std::fs::write(&b, DISASTER_TEXT).unwrap();
    std::fs::write(&empty, "  \n").unwrap();
    let (a, b, empty) = (
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        empty.to_str().unwrap(),
    );

    let out = server.run(&["classify", "--file", a, "--file", b]);
    assert_eq!(
        success(&out),
        format!(
            "model version  {FIXTURE_VERSION}
documents      2

── a.txt
language  en (English, detected)
labels    conflict

{CONFLICT_TABLE}
── b.txt
language  en (English, detected)
labels    disaster

{DISASTER_TABLE}"
        )
    );

    let v = json(&server.run(&["classify", "--json", "-f", a, "-f", b]));
    assert_eq!(v["model_version"], FIXTURE_VERSION);
    let outcomes = v["outcomes"].as_array().unwrap();
    assert_eq!(outcomes.len(), 2);
    for (i, (id, label)) in [("a.txt", "conflict"), ("b.txt", "disaster")]
        .into_iter()
        .enumerate()
    {
        assert_eq!(outcomes[i]["index"], i);
        assert_eq!(outcomes[i]["id"], id);
        assert_eq!(outcomes[i]["result"]["id"], id);
        assert_eq!(outcomes[i]["result"]["labels"], serde_json::json!([label]));
    }

    // A bad document gets its own error; the others are still answered, and
    // the exit code says something failed.
    let out = server.run(&["classify", "-f", a, "-f", empty]);
    assert_eq!(
        failure(&out),
        "error: 1 of 2 documents could not be classified\n"
    );
    assert_eq!(
        stdout(&out),
        format!(
            "model version  {FIXTURE_VERSION}
documents      2

── a.txt
language  en (English, detected)
labels    conflict

{CONFLICT_TABLE}
── empty.txt
error: INVALID_ARGUMENT: documents[1].text is empty or only whitespace; send the document's text
"
        )
    );

    // A single file is one Classify call, named by the file.
    let out = server.run(&["classify", "--file", b]);
    assert!(success(&out).starts_with("document       b.txt\nlanguage "));

    // A missing file is reported as such.
    let missing = dir.path().join("missing.txt");
    let out = server.run(&["classify", "--file", missing.to_str().unwrap()]);
    let err = failure(&out);
    assert!(
        err.starts_with(&format!("error: cannot read {}: ", missing.display())),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn topics_table_and_json() {
    let server = Server::serving();
    assert_eq!(
        success(&server.run(&["topics"])),
        format!(
            "model version  {FIXTURE_VERSION}

id        English           French                 exclusive  threshold  training docs
conflict  Armed conflict    Conflit armé           no             21.0%             10
disaster  Natural disaster  Catastrophe naturelle  no             27.0%             14
other     Other             Autre                  yes            49.0%             10
"
        )
    );
    let v = json(&server.run(&["topics", "--json"]));
    assert_eq!(v["model_version"], FIXTURE_VERSION);
    let topics = v["topics"].as_array().unwrap();
    assert_eq!(topics.len(), 3);
    assert_eq!(topics[0]["id"], "conflict");
    assert_eq!(topics[0]["name_en"], "Armed conflict");
    assert_eq!(topics[0]["name_fr"], "Conflit armé");
    assert_eq!(topics[0]["description"], "Armed conflict news");
    assert_eq!(topics[0]["exclusive"], false);
    assert_eq!(topics[2]["exclusive"], true);
    assert_close(&topics[1]["threshold"], 0.27);
    assert_eq!(topics[1]["training_documents"], 14);
}

#[test]
fn info_shows_provenance_metrics_and_hyperparameters() {
    let server = Server::serving();
    let text = success(&server.run(&["info"]));
    // `loaded at` is when this server loaded the model: check its shape only.
    let loaded_at = text
        .lines()
        .find_map(|l| l.strip_prefix("loaded at         "))
        .expect("a loaded-at line");
    assert!(
        loaded_at.len() == 20 && loaded_at.ends_with('Z') && loaded_at.as_bytes()[10] == b'T',
        "{loaded_at:?}"
    );
    let text = text.replace(loaded_at, "<loaded_at>");
    let (head, hyper) = text
        .split_once("\nhyperparameters\n")
        .expect("a hyperparameters section");
    assert_eq!(
        head,
        format!(
            "model version     {FIXTURE_VERSION}
model file        tiny-v1.model
created at        2025-01-01T00:00:00Z
trainer version   0.1.0
format version    1
corpus documents  30
corpus sha256     a9d15c21b4e4ef9304cb84909b6347bf40c56b842a1cafcb11f835c4826c158c
features          93
loaded at         <loaded_at>
probabilities     none
unlabelled (EM)   none

held-out metrics (30 documents)
  accuracy  1.0000
  macro-F1  1.0000
  micro-F1  1.0000

topic     training docs  held-out F1
conflict             10       1.0000
disaster             14       1.0000
other                10       1.0000
"
        )
    );
    // Pretty-printed JSON, on several lines.
    let parsed: Value = serde_json::from_str(hyper).expect("hyperparameters are JSON");
    assert_eq!(parsed["seed"], 42);
    assert_eq!(parsed["validation"]["k_fold"], 3);
    assert!(hyper.starts_with("{\n  \""), "{hyper}");

    let v = json(&server.run(&["info", "--json"]));
    assert_eq!(v["model_version"], FIXTURE_VERSION);
    assert_eq!(v["model_file"], "tiny-v1.model");
    assert_eq!(v["created_at"], "2025-01-01T00:00:00Z");
    assert_eq!(v["format_version"], 1);
    assert_eq!(v["features"], 93);
    assert_eq!(v["training_corpus"]["documents"], 30);
    assert_eq!(
        v["training_corpus"]["topic_documents"][1]["topic"],
        "disaster"
    );
    assert_eq!(v["training_corpus"]["topic_documents"][1]["documents"], 14);
    assert_eq!(v["held_out"]["documents"], 30);
    assert_close(&v["held_out"]["macro_f1"], 1.0);
    assert_eq!(v["held_out"]["topics"][2]["topic"], "other");
    assert_eq!(v["hyperparameters"]["nb"]["variant"], "complement");
    assert_eq!(v["loaded_at"], loaded_at);
}

#[test]
fn health_reports_serving_and_honours_the_address_forms() {
    let server = Server::serving();
    assert_eq!(success(&server.run(&["health"])), "SERVING\n");
    assert_eq!(
        success(&server.run(&["health", "--service", ""])),
        "SERVING\n"
    );
    let with_scheme = format!("http://{}", server.addr);
    assert_eq!(success(&client(&with_scheme, &["health"])), "SERVING\n");
    // DOCCLASS_ADDR stands in for --addr.
    let out = Command::new(CLIENT)
        .arg("health")
        .env("DOCCLASS_ADDR", &server.addr)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(success(&out), "SERVING\n");

    let out = server.run(&["health", "--service", "no.such.Service"]);
    assert_eq!(failure(&out), "error: NOT_FOUND: service not registered\n");
    assert_eq!(stdout(&out), "");
}

#[test]
fn invalid_requests_print_the_status_code_and_message() {
    let server = Server::serving();
    let out = server.run(&["classify", ""]);
    assert_eq!(failure(&out), EMPTY_TEXT_ERROR);
    assert_eq!(stdout(&out), "");

    let out = client_with_stdin(&server.addr, &["classify", "-"], " \n\t");
    assert_eq!(failure(&out), EMPTY_TEXT_ERROR);

    let out = server.run(&["classify", "--topic", "sports", CONFLICT_TEXT]);
    assert_eq!(
        failure(&out),
        "error: INVALID_ARGUMENT: topics[0]: unknown topic \"sports\" (known topics: conflict, disaster, other)\n"
    );
    let out = server.run(&["classify", "--explain-terms", "101", CONFLICT_TEXT]);
    assert_eq!(
        failure(&out),
        "error: INVALID_ARGUMENT: explain_terms is 101, over the maximum of 100\n"
    );
}

#[test]
fn unreachable_server_is_one_line_and_exit_1() {
    let port = free_port();
    for args in [
        &["classify", "some text"][..],
        &["topics"],
        &["info", "--json"],
        &["health"],
    ] {
        let out = client(&format!("127.0.0.1:{port}"), args);
        let err = failure(&out);
        assert_eq!(
            err,
            format!("error: cannot connect to http://127.0.0.1:{port}: connection refused (is docclass-server running?)\n"),
            "{args:?}"
        );
        assert!(err.contains("cannot connect"));
        assert_eq!(err.lines().count(), 1);
        assert_eq!(stdout(&out), "");
    }

    let out = client("https://127.0.0.1:1", &["health"]);
    let err = failure(&out);
    assert_eq!(
        err,
        "error: --addr \"https://127.0.0.1:1\": TLS needs --ca-cert FILE, the CA that signed the server's certificate\n"
    );
}

#[test]
fn server_with_a_missing_model_exits_1_naming_the_path() {
    let missing = "tests/fixtures/no-such.model";
    let mut server = Server::spawn(missing);
    let deadline = Instant::now() + STARTUP;
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "docclass-server still running with a missing model:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let log = server.log();
    assert_eq!(status.code(), Some(1), "server log:\n{log}");
    assert!(
        log.lines()
            .any(|l| l.contains("ERROR") && l.contains(missing)),
        "an ERROR line names {missing}:\n{log}"
    );

    // Nothing serves there any more: health fails with the connection error.
    let out = server.run(&["health"]);
    let err = failure(&out);
    assert!(err.starts_with("error: cannot connect to "), "{err}");
    assert_eq!(stdout(&out), "");
}

#[test]
fn classify_each_sends_every_document_of_a_corpus_file_in_order() {
    let server = Server::serving();
    let dir = TempDir::new().unwrap();
    // 150 documents, more than the client keeps in flight, alternating
    // topics; one with an empty text fails on its own.
    let mut lines = String::new();
    for i in 0..150 {
        let text = if i == 7 {
            " ".to_string()
        } else if i % 2 == 0 {
            CONFLICT_TEXT.to_string()
        } else {
            DISASTER_TEXT.to_string()
        };
        lines.push_str(&serde_json::json!({ "id": format!("doc-{i}"), "text": text }).to_string());
        lines.push('\n');
    }
    let path = dir.path().join("many.jsonl");
    std::fs::write(&path, lines).unwrap();
    let path = path.to_str().unwrap();

    let out = server.run(&["classify", "--each", path]);
    // The empty text is refused by the reader (file:line), before any request.
    let err = failure(&out);
    assert!(err.contains("many.jsonl:8: empty text"), "{err}");

    let good: String = (0..150)
        .filter(|&i| i != 7)
        .map(|i| {
            let text = if i % 2 == 0 {
                CONFLICT_TEXT
            } else {
                DISASTER_TEXT
            };
            serde_json::json!({ "id": format!("doc-{i}"), "text": text }).to_string() + "\n"
        })
        .collect();
    let path = dir.path().join("good.jsonl");
    std::fs::write(&path, good).unwrap();
    let out = server.run(&["classify", "--each", path.to_str().unwrap()]);
    let text = success(&out);
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 149);
    for (n, (line, i)) in lines.iter().zip((0..150).filter(|&i| i != 7)).enumerate() {
        assert_eq!(line["index"], n as u64, "{line}");
        assert_eq!(line["id"], format!("doc-{i}"), "{line}");
        let expected = if i % 2 == 0 { "conflict" } else { "disaster" };
        assert_eq!(line["labels"][0], expected, "{line}");
        assert!(
            line["probabilities"][expected].as_f64().unwrap() > 0.5,
            "{line}"
        );
    }

    // --file sends a whole corpus file as one document, and says so.
    let out = server.run(&["classify", "--file", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains(
            "sends the whole file as one document; to classify each document in it, use --each"
        ),
        "{}",
        stderr(&out)
    );
}
