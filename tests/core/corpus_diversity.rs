//! The rules of the written domain corpus in `training-data/{en,fr}/*.jsonl`,
//! enforced on the committed corpus. This mirrors `scripts/check_corpus.py`
//! (and is what CI enforces):
//!
//! 1. every line is a JSON object with string `id`, `lang` (`en`|`fr`),
//!    `title`, `text` and a non-empty `labels` list drawn from the topic ids
//!    of `training-data/topics.json`; `other` is never combined; ids are
//!    unique; the first label is the file's topic and `lang` is the folder;
//! 2. title + text is 60 to 250 words long;
//! 3. no two documents share more than 30% of their word 5-gram shingles;
//! 4. no sentence of 12 words or more appears in two different documents;
//! 5. per language: >= 60 documents per domain topic, >= 150 `other`, and
//!    >= 15% of the domain documents carry two or more labels;
//! 6. per language and topic: >= 1,500 distinct word types.
//!
//! Words are split exactly as the Python does (`re.findall(r"\w+", s.lower())`),
//! not with the library's analyzer. Each rule is a function over parsed lines
//! or documents; the `detects_*` tests at the bottom feed it synthetic
//! documents that break the rule, to show that the rule can fail.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const LANGS: [&str; 2] = ["en", "fr"];
const OTHER: &str = "other";
const TOPIC_COUNT: usize = 10;
const MIN_WORDS: usize = 60;
const MAX_WORDS: usize = 250;
const SHINGLE_LEN: usize = 5;
const MAX_JACCARD: f64 = 0.30;
const MIN_SENTENCE_WORDS: usize = 12;
const MIN_DOMAIN_DOCS: usize = 60;
const MIN_OTHER_DOCS: usize = 150;
const MIN_MULTI_LABEL_SHARE: f64 = 0.15;
const MIN_WORD_TYPES: usize = 1500;
/// At most this many offending items are printed per failing rule.
const MAX_REPORTED: usize = 100;

// ---------------------------------------------------------------------------
// Text splitting (mirrors the Python regexes)

/// `re.findall(r"\w+", s.lower())`: maximal runs of Unicode alphanumeric
/// characters or `_` in the lowercased string.
fn words(s: &str) -> Vec<String> {
    s.to_lowercase()
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `re.split(r"[.!?…]+", text)` (empty pieces have no words, so they are
/// dropped here).
fn sentences(text: &str) -> impl Iterator<Item = &str> {
    text.split(['.', '!', '?', '…']).filter(|s| !s.is_empty())
}

// ---------------------------------------------------------------------------
// Corpus model and loading

/// One non-blank line of a corpus file.
#[derive(Debug, Clone)]
struct Line {
    /// Where the line is, e.g. `en/diplomacy.jsonl:3`.
    location: String,
    /// Name of the directory holding the file (`en`, `fr`).
    folder: String,
    /// File name without `.jsonl` (the file's topic).
    stem: String,
    raw: String,
}

/// A line that has the shape of a document (a JSON object with string `id`,
/// `lang`, `title`, `text` and a list of strings `labels`). Whether its values
/// are valid is rule 1's business; the other rules work on these.
#[derive(Debug, Clone)]
struct Doc {
    location: String,
    id: String,
    lang: String,
    title: String,
    text: String,
    labels: Vec<String>,
}

impl Doc {
    fn name(&self) -> String {
        format!("{} ({})", self.id, self.location)
    }

    fn has(&self, topic: &str) -> bool {
        self.labels.iter().any(|l| l == topic)
    }

    fn is_domain(&self) -> bool {
        !self.has(OTHER)
    }
}

struct Corpus {
    topics: Vec<String>,
    lines: Vec<Line>,
    docs: Vec<Doc>,
}

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("training-data")
}

fn read_topics(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let value: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
    let topics: Vec<String> = value
        .as_array()
        .unwrap_or_else(|| panic!("{} is not a JSON array", path.display()))
        .iter()
        .map(|t| {
            t["id"]
                .as_str()
                .unwrap_or_else(|| panic!("topic without a string id in {}: {t}", path.display()))
                .to_owned()
        })
        .collect();
    assert_eq!(
        topics.len(),
        TOPIC_COUNT,
        "{} should list {TOPIC_COUNT} topics: {topics:?}",
        path.display()
    );
    assert!(
        topics.iter().any(|t| t == OTHER),
        "{} has no `{OTHER}` topic: {topics:?}",
        path.display()
    );
    topics
}

/// All `*.jsonl` files under `dir`, recursively, in sorted order.
fn jsonl_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            jsonl_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "jsonl") {
            out.push(path);
        }
    }
}

fn read_lines(root: &Path) -> Vec<Line> {
    let mut files = Vec::new();
    // The written corpus only: training-data/real/ has rules of its own
    // (real_news_corpus.rs).
    for lang in LANGS {
        jsonl_files(&root.join(lang), &mut files);
    }
    let mut lines = Vec::new();
    for path in files {
        let contents = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let relative = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .display()
            .to_string();
        let folder = path
            .parent()
            .and_then(Path::file_name)
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        for (n, raw) in contents.lines().enumerate() {
            if raw.trim().is_empty() {
                continue;
            }
            lines.push(Line {
                location: format!("{relative}:{}", n + 1),
                folder: folder.clone(),
                stem: stem.clone(),
                raw: raw.to_owned(),
            });
        }
    }
    lines
}

/// The document on a line, if the line has the shape of one.
fn parse_doc(line: &Line) -> Option<Doc> {
    let value: Value = serde_json::from_str(&line.raw).ok()?;
    let string = |key: &str| value.get(key)?.as_str().map(str::to_owned);
    let labels = value
        .get("labels")?
        .as_array()?
        .iter()
        .map(|l| l.as_str().map(str::to_owned))
        .collect::<Option<Vec<_>>>()?;
    Some(Doc {
        location: line.location.clone(),
        id: string("id")?,
        lang: string("lang")?,
        title: string("title")?,
        text: string("text")?,
        labels,
    })
}

fn corpus() -> &'static Corpus {
    static CORPUS: OnceLock<Corpus> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let root = data_dir();
        let topics = read_topics(&root.join("topics.json"));
        let lines = read_lines(&root);
        assert!(!lines.is_empty(), "no documents under {}", root.display());
        let docs = lines.iter().filter_map(parse_doc).collect();
        Corpus {
            topics,
            lines,
            docs,
        }
    })
}

fn assert_no_violations(rule: &str, violations: &[String]) {
    if violations.is_empty() {
        return;
    }
    let mut listed = violations
        .iter()
        .take(MAX_REPORTED)
        .map(|v| format!("  {v}"))
        .collect::<Vec<_>>()
        .join("\n");
    if violations.len() > MAX_REPORTED {
        listed.push_str(&format!(
            "\n  ... and {} more",
            violations.len() - MAX_REPORTED
        ));
    }
    panic!(
        "{rule}: {} violation(s) in training-data/:\n{listed}",
        violations.len()
    );
}

// ---------------------------------------------------------------------------
// Rule 1: schema, taxonomy, ids, file placement

fn check_schema(lines: &[Line], topics: &[String]) -> Vec<String> {
    let mut errors = Vec::new();
    let mut ids: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for line in lines {
        let at = &line.location;
        let value: Value = match serde_json::from_str(&line.raw) {
            Ok(value) => value,
            Err(e) => {
                errors.push(format!("{at}: bad JSON: {e}"));
                continue;
            }
        };
        let Some(object) = value.as_object() else {
            errors.push(format!("{at}: not a JSON object: {value}"));
            continue;
        };
        let id = object.get("id").and_then(Value::as_str);
        let who = format!("{at} (id {})", id.unwrap_or("?"));
        for key in ["id", "lang", "title", "text"] {
            match object.get(key) {
                None => errors.push(format!("{who}: missing {key}")),
                Some(Value::String(_)) => {}
                Some(other) => errors.push(format!("{who}: {key} is not a string: {other}")),
            }
        }
        if let Some(id) = id {
            ids.entry(id.to_owned()).or_default().push(at);
        }
        if let Some(lang) = object.get("lang").and_then(Value::as_str) {
            if !LANGS.contains(&lang) {
                errors.push(format!("{who}: lang {lang:?} is not one of {LANGS:?}"));
            }
            if lang != line.folder {
                errors.push(format!(
                    "{who}: lang {lang:?} but the file is in folder {:?}",
                    line.folder
                ));
            }
        }
        let labels = match object.get("labels") {
            None => {
                errors.push(format!("{who}: missing labels"));
                continue;
            }
            Some(Value::Array(labels)) => labels,
            Some(other) => {
                errors.push(format!("{who}: labels is not a list: {other}"));
                continue;
            }
        };
        if labels.is_empty() {
            errors.push(format!("{who}: empty labels"));
            continue;
        }
        let labels: Vec<&str> = match labels.iter().map(Value::as_str).collect() {
            Some(labels) => labels,
            None => {
                errors.push(format!("{who}: labels are not all strings: {labels:?}"));
                continue;
            }
        };
        for label in &labels {
            if !topics.iter().any(|t| t == label) {
                errors.push(format!("{who}: unknown label {label:?} in {labels:?}"));
            }
        }
        if labels.contains(&OTHER) && labels.len() > 1 {
            errors.push(format!(
                "{who}: {OTHER} combined with another topic: {labels:?}"
            ));
        }
        if labels[0] != line.stem {
            errors.push(format!(
                "{who}: first label {:?} is not the file's topic {:?}",
                labels[0], line.stem
            ));
        }
    }
    for (id, places) in ids {
        if places.len() > 1 {
            errors.push(format!("duplicate id {id} at {}", places.join(", ")));
        }
    }
    errors
}

#[test]
fn every_line_is_a_valid_document() {
    let corpus = corpus();
    assert_no_violations(
        "rule 1 (schema, labels, ids, placement)",
        &check_schema(&corpus.lines, &corpus.topics),
    );
}

// ---------------------------------------------------------------------------
// Rule 2: length

fn check_length(docs: &[Doc]) -> Vec<String> {
    docs.iter()
        .filter_map(|d| {
            let n = words(&format!("{} {}", d.title, d.text)).len();
            (!(MIN_WORDS..=MAX_WORDS).contains(&n)).then(|| {
                format!(
                    "{}: {n} words in title + text (want {MIN_WORDS}-{MAX_WORDS})",
                    d.name()
                )
            })
        })
        .collect()
}

#[test]
fn documents_have_60_to_250_words() {
    assert_no_violations("rule 2 (length)", &check_length(&corpus().docs));
}

// ---------------------------------------------------------------------------
// Rule 3: near duplicates (Jaccard over word 5-gram shingles of the text)

/// Pairs of documents (indices into `docs`, with their Jaccard similarity)
/// sharing more than `MAX_JACCARD` of their text's 5-gram shingles.
fn similar_pairs(docs: &[Doc]) -> Vec<(usize, usize, f64)> {
    // Intern words so that a shingle is five integers.
    let mut vocabulary: HashMap<String, u32> = HashMap::new();
    let shingles: Vec<HashSet<[u32; SHINGLE_LEN]>> = docs
        .iter()
        .map(|d| {
            let ids: Vec<u32> = words(&d.text)
                .into_iter()
                .map(|w| {
                    let next = vocabulary.len() as u32;
                    *vocabulary.entry(w).or_insert(next)
                })
                .collect();
            ids.windows(SHINGLE_LEN)
                .map(|w| w.try_into().expect("window of SHINGLE_LEN"))
                .collect()
        })
        .collect();
    let mut index: HashMap<[u32; SHINGLE_LEN], Vec<usize>> = HashMap::new();
    for (i, set) in shingles.iter().enumerate() {
        for shingle in set {
            index.entry(*shingle).or_default().push(i);
        }
    }
    // Documents are pushed in increasing order, so a < b in every pair.
    let mut shared: HashMap<(usize, usize), usize> = HashMap::new();
    for holders in index.values().filter(|h| h.len() > 1) {
        for (k, &a) in holders.iter().enumerate() {
            for &b in &holders[k + 1..] {
                *shared.entry((a, b)).or_default() += 1;
            }
        }
    }
    let mut pairs: Vec<(usize, usize, f64)> = shared
        .into_iter()
        .filter_map(|((a, b), c)| {
            let jaccard = c as f64 / (shingles[a].len() + shingles[b].len() - c) as f64;
            (jaccard > MAX_JACCARD).then_some((a, b, jaccard))
        })
        .collect();
    pairs.sort_by_key(|&(a, b, _)| (a, b));
    pairs
}

fn check_near_duplicates(docs: &[Doc]) -> Vec<String> {
    similar_pairs(docs)
        .into_iter()
        .map(|(a, b, j)| {
            format!(
                "shingle Jaccard {j:.2} (max {MAX_JACCARD:.2}) between {} and {}",
                docs[a].name(),
                docs[b].name()
            )
        })
        .collect()
}

#[test]
fn no_two_documents_share_over_30_percent_of_shingles() {
    assert_no_violations(
        "rule 3 (near duplicates)",
        &check_near_duplicates(&corpus().docs),
    );
}

// ---------------------------------------------------------------------------
// Rule 4: repeated long sentences

fn check_repeated_sentences(docs: &[Doc]) -> Vec<String> {
    let mut errors = Vec::new();
    // Normalised sentence -> the first document it was seen in.
    let mut seen: HashMap<String, &Doc> = HashMap::new();
    for d in docs {
        for sentence in sentences(&d.text) {
            let w = words(sentence);
            if w.len() < MIN_SENTENCE_WORDS {
                continue;
            }
            let key = w.join(" ");
            match seen.get(&key) {
                Some(first) if first.id != d.id => errors.push(format!(
                    "sentence of {} words repeated in {} and {}: {key:?}",
                    w.len(),
                    first.name(),
                    d.name()
                )),
                Some(_) => {}
                None => {
                    seen.insert(key, d);
                }
            }
        }
    }
    errors
}

#[test]
fn no_long_sentence_appears_in_two_documents() {
    assert_no_violations(
        "rule 4 (repeated sentences)",
        &check_repeated_sentences(&corpus().docs),
    );
}

// ---------------------------------------------------------------------------
// Rule 5: documents per topic and multi-label share, per language

fn check_counts(docs: &[Doc], topics: &[String]) -> Vec<String> {
    let mut errors = Vec::new();
    for lang in LANGS {
        let in_lang: Vec<&Doc> = docs.iter().filter(|d| d.lang == lang).collect();
        for topic in topics {
            let n = in_lang.iter().filter(|d| d.has(topic)).count();
            let need = if topic == OTHER {
                MIN_OTHER_DOCS
            } else {
                MIN_DOMAIN_DOCS
            };
            if n < need {
                errors.push(format!(
                    "[{lang}] {topic}: {n} documents carry it (need {need})"
                ));
            }
        }
        let domain: Vec<&&Doc> = in_lang.iter().filter(|d| d.is_domain()).collect();
        let multi = domain.iter().filter(|d| d.labels.len() >= 2).count();
        let share = multi as f64 / domain.len().max(1) as f64;
        if share < MIN_MULTI_LABEL_SHARE {
            errors.push(format!(
                "[{lang}] {multi} of {} domain documents are multi-label ({:.1}%, need {:.0}%)",
                domain.len(),
                100.0 * share,
                100.0 * MIN_MULTI_LABEL_SHARE
            ));
        }
    }
    errors
}

#[test]
fn every_topic_has_enough_documents_per_language() {
    let corpus = corpus();
    assert_no_violations(
        "rule 5 (documents per topic, multi-label share)",
        &check_counts(&corpus.docs, &corpus.topics),
    );
}

// ---------------------------------------------------------------------------
// Rule 6: vocabulary per language and topic

fn check_vocabulary(docs: &[Doc], topics: &[String]) -> Vec<String> {
    let mut errors = Vec::new();
    for lang in LANGS {
        for topic in topics {
            let carrying: Vec<&Doc> = docs
                .iter()
                .filter(|d| d.lang == lang && d.has(topic))
                .collect();
            let types: BTreeSet<String> = carrying
                .iter()
                .flat_map(|d| words(&format!("{} {}", d.title, d.text)))
                .collect();
            if types.len() < MIN_WORD_TYPES {
                errors.push(format!(
                    "[{lang}] {topic}: {} distinct word types over {} documents (need {MIN_WORD_TYPES})",
                    types.len(),
                    carrying.len()
                ));
            }
        }
    }
    errors
}

#[test]
fn every_topic_has_a_rich_vocabulary_per_language() {
    let corpus = corpus();
    assert_no_violations(
        "rule 6 (word types per topic)",
        &check_vocabulary(&corpus.docs, &corpus.topics),
    );
}

// ---------------------------------------------------------------------------
// The rules can fail: synthetic documents that break each one.

fn test_topics() -> Vec<String> {
    read_topics(&data_dir().join("topics.json"))
}

fn domain_topics() -> Vec<String> {
    test_topics().into_iter().filter(|t| t != OTHER).collect()
}

fn doc(id: &str, lang: &str, labels: &[&str], title: &str, text: &str) -> Doc {
    Doc {
        location: format!("synthetic:{id}"),
        id: id.to_owned(),
        lang: lang.to_owned(),
        title: title.to_owned(),
        text: text.to_owned(),
        labels: labels.iter().map(|l| l.to_string()).collect(),
    }
}

/// `n` words, all different and unique to `tag`.
fn filler(tag: &str, n: usize) -> String {
    (0..n)
        .map(|i| format!("{tag}w{i}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn line(folder: &str, stem: &str, raw: &str) -> Line {
    Line {
        location: format!("{folder}/{stem}.jsonl:1"),
        folder: folder.to_owned(),
        stem: stem.to_owned(),
        raw: raw.to_owned(),
    }
}

#[test]
fn words_mirror_the_python_regex() {
    assert_eq!(
        words("L'Armée a tiré 3 obus—à 10h30… snake_case, ÉTÉ «Œuvre» e-mail!"),
        [
            "l",
            "armée",
            "a",
            "tiré",
            "3",
            "obus",
            "à",
            "10h30",
            "snake_case",
            "été",
            "œuvre",
            "e",
            "mail"
        ]
    );
    assert_eq!(words("  ... —  "), Vec::<String>::new());
    let pieces: Vec<&str> = sentences("One. Two?! Three… Four").collect();
    assert_eq!(pieces, ["One", " Two", " Three", " Four"]);
}

#[test]
fn detects_schema_violations() {
    let topics = test_topics();
    let good = r#"{"id": "en-diplomacy-001", "lang": "en", "title": "T", "text": "x", "labels": ["diplomacy", "law_enforcement"]}"#;
    assert_eq!(
        check_schema(&[line("en", "diplomacy", good)], &topics),
        Vec::<String>::new()
    );
    let bad = [
        ("en", "diplomacy", r#"{"id": "a", "lang": "en""#, "bad JSON"),
        ("en", "diplomacy", r#"["diplomacy"]"#, "not a JSON object"),
        (
            "en",
            "diplomacy",
            r#"{"id": "a", "lang": "en", "text": "x", "labels": ["diplomacy"]}"#,
            "missing title",
        ),
        (
            "en",
            "diplomacy",
            r#"{"id": 7, "lang": "en", "title": "T", "text": "x", "labels": ["diplomacy"]}"#,
            "id is not a string",
        ),
        (
            "en",
            "diplomacy",
            r#"{"id": "a", "lang": "en", "title": "T", "text": "x"}"#,
            "missing labels",
        ),
        (
            "en",
            "diplomacy",
            r#"{"id": "a", "lang": "en", "title": "T", "text": "x", "labels": []}"#,
            "empty labels",
        ),
        (
            "en",
            "diplomacy",
            r#"{"id": "a", "lang": "en", "title": "T", "text": "x", "labels": "diplomacy"}"#,
            "labels is not a list",
        ),
        (
            "en",
            "diplomacy",
            r#"{"id": "a", "lang": "en", "title": "T", "text": "x", "labels": ["diplomacy", 3]}"#,
            "labels are not all strings",
        ),
        (
            "en",
            "diplomacy",
            r#"{"id": "a", "lang": "en", "title": "T", "text": "x", "labels": ["diplomacy", "sports"]}"#,
            "unknown label \"sports\"",
        ),
        (
            "en",
            "other",
            r#"{"id": "a", "lang": "en", "title": "T", "text": "x", "labels": ["other", "diplomacy"]}"#,
            "other combined",
        ),
        (
            "en",
            "diplomacy",
            r#"{"id": "a", "lang": "en", "title": "T", "text": "x", "labels": ["law_enforcement", "diplomacy"]}"#,
            "is not the file's topic \"diplomacy\"",
        ),
        (
            "de",
            "diplomacy",
            r#"{"id": "a", "lang": "de", "title": "T", "text": "x", "labels": ["diplomacy"]}"#,
            "lang \"de\" is not one of",
        ),
        (
            "fr",
            "diplomacy",
            r#"{"id": "a", "lang": "en", "title": "T", "text": "x", "labels": ["diplomacy"]}"#,
            "but the file is in folder \"fr\"",
        ),
    ];
    for (folder, stem, raw, expected) in bad {
        let errors = check_schema(&[line(folder, stem, raw)], &topics);
        assert!(
            errors.iter().any(|e| e.contains(expected)),
            "{raw}: expected an error containing {expected:?}, got {errors:?}"
        );
    }
    let duplicated = [
        line("en", "diplomacy", good),
        line("fr", "diplomacy", &good.replace("\"en\"", "\"fr\"")),
    ];
    assert_eq!(
        check_schema(&duplicated, &topics),
        ["duplicate id en-diplomacy-001 at en/diplomacy.jsonl:1, fr/diplomacy.jsonl:1"]
    );
}

#[test]
fn detects_wrong_lengths() {
    let docs = [
        doc("short", "en", &["diplomacy"], "Two words", &filler("a", 57)),
        doc("min", "en", &["diplomacy"], "Two words", &filler("b", 58)),
        doc("max", "en", &["diplomacy"], "Two words", &filler("c", 248)),
        doc("long", "en", &["diplomacy"], "Two words", &filler("d", 249)),
        // Punctuation does not count; "l'État" is two words.
        doc(
            "apostrophes",
            "fr",
            &["diplomacy"],
            "—",
            &"l'État, ".repeat(30),
        ),
    ];
    let errors = check_length(&docs);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].starts_with("short ") && errors[0].contains(": 59 words"));
    assert!(errors[1].starts_with("long ") && errors[1].contains(": 251 words"));
}

#[test]
fn detects_near_duplicates() {
    let base = filler("x", 120);
    let edited = base.replacen("xw60", "changed", 1);
    let docs = [
        doc("original", "en", &["diplomacy"], "T", &base),
        doc("unrelated", "en", &["diplomacy"], "T", &filler("y", 120)),
        doc("copy", "fr", &["diplomacy"], "Other title", &edited),
    ];
    let errors = check_near_duplicates(&docs);
    assert_eq!(errors.len(), 1, "{errors:?}");
    // 116 shingles each, 111 shared: 111 / 121.
    assert!(
        errors[0].contains("Jaccard 0.92")
            && errors[0].contains("original (synthetic:original)")
            && errors[0].contains("copy (synthetic:copy)"),
        "{errors:?}"
    );
}

#[test]
fn near_duplicate_threshold_is_strictly_above_30_percent() {
    // Two 134-word texts (130 shingles each) sharing a `prefix`-word start:
    // prefix - 4 shared shingles. 64 words: 60 / (260 - 60) = 0.30 exactly,
    // which is allowed; 65 words: 61 / 199 = 0.31, which is not.
    let pair = |prefix: usize| {
        let shared = filler("s", prefix);
        [
            doc(
                "a",
                "en",
                &["diplomacy"],
                "",
                &format!("{shared} {}", filler("a", 134 - prefix)),
            ),
            doc(
                "b",
                "en",
                &["diplomacy"],
                "",
                &format!("{shared} {}", filler("b", 134 - prefix)),
            ),
        ]
    };
    assert_eq!(check_near_duplicates(&pair(64)), Vec::<String>::new());
    let errors = check_near_duplicates(&pair(65));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("Jaccard 0.31"), "{errors:?}");
    // Repeating a shingle inside one document does not inflate the count,
    // and texts too short for a shingle are fine.
    let repeated = [
        doc("r1", "en", &["diplomacy"], "", &"a b c d e ".repeat(20)),
        doc(
            "r2",
            "en",
            &["diplomacy"],
            "",
            &format!("a b c d e {}", filler("z", 40)),
        ),
        doc("tiny", "en", &["diplomacy"], "", "a b c d"),
    ];
    // r1 has 5 distinct shingles, r2 has 41; they share 1: 1 / 45.
    assert_eq!(check_near_duplicates(&repeated), Vec::<String>::new());
}

#[test]
fn detects_repeated_sentences() {
    let twelve = "The envoy met the ministers of the coalition in Washington on Monday";
    let eleven = "The envoy met the ministers of the coalition in Washington today";
    assert_eq!(words(twelve).len(), 12);
    assert_eq!(words(eleven).len(), 11);
    let docs = [
        doc(
            "first",
            "en",
            &["diplomacy"],
            "T",
            &format!("{twelve}. {eleven}! {twelve}?"),
        ),
        // Same words, different case and punctuation: still the same sentence.
        doc(
            "second",
            "en",
            &["diplomacy"],
            "T",
            &format!(
                "Intro… {}. {eleven}!",
                twelve.to_uppercase().replace(' ', " - ")
            ),
        ),
        doc("third", "en", &["diplomacy"], "T", &format!("{eleven}.")),
    ];
    let errors = check_repeated_sentences(&docs);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("first (synthetic:first) and second (synthetic:second)"),
        "{errors:?}"
    );
    // Repeating a sentence within one document is allowed.
    assert_eq!(check_repeated_sentences(&docs[..1]), Vec::<String>::new());
}

/// For each language and domain topic i: `single` documents labelled
/// [t_i] and `multi` labelled [t_i, t_i+1]; plus `others` `other` documents.
fn count_corpus(single: usize, multi: usize, others: usize) -> Vec<Doc> {
    let domain = domain_topics();
    let mut docs = Vec::new();
    for lang in LANGS {
        for (i, topic) in domain.iter().enumerate() {
            let next = &domain[(i + 1) % domain.len()];
            for k in 0..single + multi {
                let mut labels = vec![topic.as_str()];
                if k >= single {
                    labels.push(next.as_str());
                }
                docs.push(doc(&format!("{lang}-{topic}-{k}"), lang, &labels, "", ""));
            }
        }
        for k in 0..others {
            docs.push(doc(&format!("{lang}-other-{k}"), lang, &[OTHER], "", ""));
        }
    }
    docs
}

#[test]
fn detects_too_few_documents() {
    let topics = test_topics();
    // 50 + 10 + 10 = 70 documents per domain topic, 10 / 60 multi-label.
    assert_eq!(
        check_counts(&count_corpus(50, 10, 150), &topics),
        Vec::<String>::new()
    );
    assert_eq!(
        check_counts(&count_corpus(50, 10, 149), &topics),
        [
            "[en] other: 149 documents carry it (need 150)",
            "[fr] other: 149 documents carry it (need 150)"
        ]
    );
    // Drop 11 single-label French diplomacy documents: 59 left.
    let docs: Vec<Doc> = count_corpus(50, 10, 150)
        .into_iter()
        .filter(|d| {
            let k: usize =
                d.id.rsplit('-')
                    .next()
                    .and_then(|k| k.parse().ok())
                    .unwrap();
            !(d.lang == "fr" && d.labels == ["diplomacy"] && k < 11)
        })
        .collect();
    assert_eq!(
        check_counts(&docs, &topics),
        ["[fr] diplomacy: 59 documents carry it (need 60)"]
    );
    // A language with no documents at all fails every count.
    let english: Vec<Doc> = count_corpus(50, 10, 150)
        .into_iter()
        .filter(|d| d.lang == "en")
        .collect();
    let errors = check_counts(&english, &topics);
    assert_eq!(errors.len(), TOPIC_COUNT + 1, "{errors:?}");
    assert!(errors.iter().all(|e| e.starts_with("[fr] ")), "{errors:?}");
}

#[test]
fn detects_too_few_multi_label_documents() {
    let topics = test_topics();
    // 9 of 66 = 13.6% multi-label, though every topic has 75 documents.
    assert_eq!(
        check_counts(&count_corpus(57, 9, 150), &topics),
        [
            "[en] 81 of 594 domain documents are multi-label (13.6%, need 15%)",
            "[fr] 81 of 594 domain documents are multi-label (13.6%, need 15%)"
        ]
    );
    // 9 of 60 = 15% exactly is enough.
    assert_eq!(
        check_counts(&count_corpus(51, 9, 150), &topics),
        Vec::<String>::new()
    );
}

#[test]
fn detects_poor_vocabulary() {
    let topics = test_topics();
    // Per language and topic, two documents with 750 distinct words each.
    let corpus_with = |poor: Option<(&str, &str)>| {
        let mut docs = Vec::new();
        for lang in LANGS {
            for topic in &topics {
                for half in 0..2 {
                    let tag = format!("{lang}{topic}{half}");
                    let mut text = filler(&tag, 750);
                    if poor == Some((lang, topic.as_str())) && half == 1 {
                        // Case does not make a new type: one word fewer.
                        text = text.replacen(&format!("{tag}w0 "), "", 1);
                        text.push_str(&format!(" {}", format!("{tag}w1").to_uppercase()));
                    }
                    docs.push(doc(&tag, lang, &[topic.as_str()], "", &text));
                }
            }
        }
        docs
    };
    assert_eq!(
        check_vocabulary(&corpus_with(None), &topics),
        Vec::<String>::new()
    );
    assert_eq!(
        check_vocabulary(&corpus_with(Some(("en", "stabilization"))), &topics),
        ["[en] stabilization: 1499 distinct word types over 2 documents (need 1500)"]
    );
    // Title words count: one new word in the title fixes it.
    let mut docs = corpus_with(Some(("en", "stabilization")));
    docs.iter_mut()
        .find(|d| d.id == "enstabilization1")
        .expect("the poor document")
        .title = "Fresh".into();
    assert_eq!(check_vocabulary(&docs, &topics), Vec::<String>::new());
}
