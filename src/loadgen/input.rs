//! The documents a benchmark sends: a JSONL file (`text`, optional `title`;
//! other fields ignored) or the built-in corpus (the project's own
//! `training-data/`, compiled in), optionally cut at a word boundary to about
//! N bytes, as the 1 KB news documents are.
use super::{LoadgenError, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One benchmark document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BenchDoc {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub title: String,
    pub text: String,
}

macro_rules! training_files {
    ($($lang:literal / $topic:literal),* $(,)?) => {
        &[$((
            concat!("training-data/", $lang, "/", $topic, ".jsonl"),
            include_str!(concat!("../../training-data/", $lang, "/", $topic, ".jsonl")),
        )),*]
    };
}

/// The built-in corpus: every file of `training-data/`, English then French.
const BUILTIN: &[(&str, &str)] = training_files![
    "en" / "counter_messaging",
    "en" / "diplomacy",
    "en" / "foreign_terrorist_fighters",
    "en" / "humanitarian_aid",
    "en" / "law_enforcement",
    "en" / "military_operations",
    "en" / "other",
    "en" / "stabilization",
    "en" / "terrorist_attacks",
    "en" / "terrorist_financing",
    "fr" / "counter_messaging",
    "fr" / "diplomacy",
    "fr" / "foreign_terrorist_fighters",
    "fr" / "humanitarian_aid",
    "fr" / "law_enforcement",
    "fr" / "military_operations",
    "fr" / "other",
    "fr" / "stabilization",
    "fr" / "terrorist_attacks",
    "fr" / "terrorist_financing",
];

/// Where the built-in documents come from, for reports.
pub const BUILTIN_SOURCE: &str = "built-in training-data/{en,fr}/*.jsonl";

/// The built-in corpus (about 1,800 news articles, 0.9 KB each on average).
pub fn builtin() -> Result<Vec<BenchDoc>> {
    let mut docs = Vec::new();
    for (name, content) in BUILTIN {
        docs.extend(parse_jsonl(name, content)?);
    }
    Ok(docs)
}

/// Reads a JSONL file of documents.
pub fn read_jsonl(path: &Path) -> Result<Vec<BenchDoc>> {
    let content = std::fs::read_to_string(path).map_err(|source| LoadgenError::ReadInput {
        path: path.to_path_buf(),
        source,
    })?;
    let docs = parse_jsonl(&path.display().to_string(), &content)?;
    if docs.is_empty() {
        return Err(LoadgenError::NoDocuments(path.display().to_string()));
    }
    Ok(docs)
}

/// Parses JSONL content; blank lines are skipped, a line without a non-empty
/// `text` string is an error naming `source_name:line`.
pub fn parse_jsonl(source_name: &str, content: &str) -> Result<Vec<BenchDoc>> {
    let mut docs = Vec::new();
    for (i, line) in content.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |reason: String| LoadgenError::BadInputLine {
            source_name: source_name.to_string(),
            line: i + 1,
            reason,
        };
        let doc: BenchDoc = serde_json::from_str(line)
            .map_err(|e| bad(format!("not a JSON object with a \"text\" string: {e}")))?;
        if doc.text.trim().is_empty() {
            return Err(bad("\"text\" is empty".to_string()));
        }
        docs.push(doc);
    }
    Ok(docs)
}

/// `text` cut at the last whitespace before `max_bytes` (at a character
/// boundary when a single word is longer); unchanged when it is not longer.
pub fn cut(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    match text[..end].rfind(char::is_whitespace) {
        Some(i) if i > 0 => text[..i].trim_end(),
        _ => &text[..end],
    }
}

/// Cuts every document's text to about `max_bytes` (titles are kept).
pub fn cut_all(docs: &mut [BenchDoc], max_bytes: usize) {
    for doc in docs {
        let len = cut(&doc.text, max_bytes).len();
        doc.text.truncate(len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_stops_at_a_word_boundary() {
        assert_eq!(cut("alpha beta gamma", 100), "alpha beta gamma");
        assert_eq!(cut("alpha beta gamma", 12), "alpha beta");
        assert_eq!(cut("alpha  beta gamma", 8), "alpha");
        assert_eq!(cut("alphabetagamma", 5), "alpha");
        // 'é' is two bytes: never cut inside it.
        assert_eq!(cut("ééé", 3), "é");
    }

    #[test]
    fn jsonl_reads_text_and_title_and_names_bad_lines() {
        let docs = parse_jsonl(
            "x.jsonl",
            "{\"text\": \"a b\", \"title\": \"T\", \"labels\": [\"x\"]}\n\n{\"text\": \"c\"}\n",
        )
        .expect("valid");
        assert_eq!(
            docs,
            vec![
                BenchDoc {
                    title: "T".into(),
                    text: "a b".into()
                },
                BenchDoc {
                    title: String::new(),
                    text: "c".into()
                }
            ]
        );
        let err =
            parse_jsonl("x.jsonl", "{\"text\": \"a\"}\n{\"title\": \"t\"}\n").expect_err("no text");
        assert!(err.to_string().starts_with("x.jsonl:2: "), "{err}");
        let err = parse_jsonl("x.jsonl", "{\"text\": \"  \"}\n").expect_err("empty");
        assert_eq!(err.to_string(), "x.jsonl:1: \"text\" is empty");
    }

    #[test]
    fn builtin_corpus_is_the_training_data() {
        let docs = builtin().expect("the training data parses");
        assert!(docs.len() > 1000, "{} documents", docs.len());
        assert!(docs.iter().all(|d| !d.text.is_empty()));
    }
}
