//! Fuzz target `model_file`: arbitrary bytes through the model loader
//! (`Model::from_bytes`, which `Model::load` calls after reading the file).
//! It must return a model or a clean error: never panic, hang or exhaust
//! memory. A model that loads must then classify, explain and save.
//!
//! Input: byte 0 picks the mode.
//! - even: the rest is a whole file, so the header checks are fuzzed (magic,
//!   version, length, checksum);
//! - odd: the rest is a payload, and the target writes a valid header for it
//!   (format version 1 when bit 1 is set, else 2 when bit 2 is set, else
//!   the current one; the right length and SHA-256), so mutations get past the checksum to postcard decoding and the
//!   model's cross-checks, which a random file never would.
#![no_main]

use docclass::model::{Model, FORMAT_VERSION, MAGIC};
use docclass::text::Lang;
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};

/// Texts that reach the scoring code of the seed models (their topics are
/// conflict, disaster and other), plus one no model knows a word of.
const TEXTS: [&str; 4] = [
    "Troops and militia clashed near the border as artillery shelled the rebel positions",
    "Le séisme a détruit des maisons et les secours cherchent des survivants",
    "The football club won the cup final with a late goal",
    "zzzz qqqq",
];

/// A model file around `payload`, with a correct header.
fn with_header(version: u32, payload: &[u8]) -> Vec<u8> {
    let mut file = Vec::with_capacity(52 + payload.len());
    file.extend_from_slice(MAGIC);
    file.extend_from_slice(&version.to_le_bytes());
    file.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    file.extend_from_slice(&Sha256::digest(payload));
    file.extend_from_slice(payload);
    file
}

/// What a server does with a model it loaded.
fn exercise(model: &Model) {
    let topics = model.topics().len();
    for (i, text) in TEXTS.iter().enumerate() {
        let hint = [None, Some(Lang::Fr), Some(Lang::Ar), None][i];
        let result = model.classify(text, hint);
        assert_eq!(result.probabilities.len(), topics);
        for &c in &result.decided {
            assert!(c < topics, "decided topic {c} of {topics}");
            let _ = model.explain(&result, c, 10);
            let _ = model.topics()[c].name(result.language);
        }
    }
    // Anything the loader accepts can be saved and loaded again.
    let bytes = model.to_bytes().expect("a loaded model encodes");
    Model::from_bytes(&bytes).expect("a re-encoded model loads");
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let loaded = if mode & 1 == 0 {
        Model::from_bytes(rest)
    } else {
        let version = if mode & 2 != 0 {
            1
        } else if mode & 4 != 0 {
            2
        } else {
            FORMAT_VERSION
        };
        Model::from_bytes(&with_header(version, rest))
    };
    match loaded {
        Ok(model) => exercise(&model),
        // Every error renders (the server logs it and exits).
        Err(e) => drop(e.to_string()),
    }
});
