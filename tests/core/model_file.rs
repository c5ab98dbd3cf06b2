//! The model file: round trips, every kind of damage reported as what it is,
//! and a committed version-1 fixture that must keep loading.

use docclass::corpus::Document;
use docclass::model::{Model, ModelData, ModelError, FORMAT_VERSION, MAGIC};
use docclass::nb::Decision;
use docclass::parallel::Threads;
use docclass::text::{FilterConfig, Lang};
use docclass::train::{self, Silent, TopicSpec, TrainOptions, Validation};
use sha2::{Digest, Sha256};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

const HEADER_LEN: usize = 52;

const CONFLICT: &[&str] = &[
    "troops",
    "artillery",
    "shelling",
    "ceasefire",
    "militia",
    "frontline",
    "soldiers",
    "offensive",
    "rebels",
    "airstrike",
    "army",
    "clashes",
];
const DISASTER: &[&str] = &[
    "earthquake",
    "flood",
    "evacuation",
    "rescue",
    "aftershock",
    "landslide",
    "rainfall",
    "cyclone",
    "survivors",
    "rubble",
    "tsunami",
    "wildfire",
];
const OTHER: &[&str] = &[
    "football", "concert", "festival", "recipe", "election", "museum", "fashion", "tennis",
    "cinema", "album", "garden", "holiday",
];
const COMMON: &[&str] = &[
    "reported",
    "officials",
    "region",
    "sunday",
    "local",
    "people",
];

/// 30 documents: 10 per topic, plus 4 of the conflict ones also labelled
/// disaster (so the model is multi-label and uses tuned thresholds).
fn documents() -> Vec<Document> {
    let mut docs = Vec::new();
    for (t, (topic, words)) in [
        ("conflict", CONFLICT),
        ("disaster", DISASTER),
        ("other", OTHER),
    ]
    .iter()
    .enumerate()
    {
        for i in 0..10 {
            let mut text: Vec<&str> = (0..7).map(|k| words[(i + 3 * k) % words.len()]).collect();
            text.push(COMMON[(i + t) % COMMON.len()]);
            text.push(COMMON[(i * 5 + 1) % COMMON.len()]);
            let mut labels = vec![topic.to_string()];
            if *topic == "conflict" && i % 3 == 0 {
                text.extend((0..3).map(|k| DISASTER[(i + k) % DISASTER.len()]));
                labels.push("disaster".to_string());
            }
            docs.push(Document {
                id: format!("{topic}-{i}"),
                title: (i % 2 == 0).then(|| {
                    format!(
                        "{} {}",
                        words[i % words.len()],
                        words[(i + 1) % words.len()]
                    )
                }),
                text: text.join(" "),
                labels,
                lang: Some(Lang::En),
                split: None,
            });
        }
    }
    docs
}

fn options() -> TrainOptions {
    let spec = |id: &str, en: &str, fr: &str, exclusive: bool| TopicSpec {
        id: id.to_string(),
        name_en: Some(en.to_string()),
        name_fr: Some(fr.to_string()),
        description: format!("{en} news"),
        exclusive,
    };
    TrainOptions {
        validation: Validation::KFold(3),
        topics: vec![
            spec("conflict", "Armed conflict", "Conflit armé", false),
            spec(
                "disaster",
                "Natural disaster",
                "Catastrophe naturelle",
                false,
            ),
            spec("other", "Other", "Autre", true),
        ],
        created_at: "2025-01-01T00:00:00Z".to_string(),
        ..TrainOptions::default()
    }
}

fn tiny_model() -> Model {
    let (model, _summary) =
        train::train(&documents(), &options(), &Silent).expect("training succeeds");
    model
}

const TEXTS: &[&str] = &[
    "Artillery shelling as troops and militia clash on the frontline",
    "Rescue teams search the rubble after the earthquake and aftershock",
    "The football festival and a concert at the museum this holiday",
    "",
];

fn decided_ids(model: &Model, text: &str) -> Vec<String> {
    let c = model.classify(text, Some(Lang::En));
    c.decided
        .iter()
        .map(|&i| model.topics()[i].id.clone())
        .collect()
}

fn assert_same_classification(a: &Model, b: &Model) {
    for text in TEXTS {
        let (ca, cb) = (a.classify(text, None), b.classify(text, None));
        assert_eq!(ca, cb, "{text:?}");
    }
}

/// A file in the format from a payload, with a correct checksum.
fn file_with_payload(version: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&Sha256::digest(payload));
    out.extend_from_slice(payload);
    out
}

fn load_err(bytes: &[u8]) -> ModelError {
    match Model::from_bytes(bytes) {
        Ok(_) => panic!("{} bytes loaded as a model", bytes.len()),
        Err(e) => e,
    }
}

// ---------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------

#[test]
fn the_tiny_model_is_what_the_tests_assume() {
    let model = tiny_model();
    let ids: Vec<&str> = model.topics().iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["conflict", "disaster", "other"]);
    assert!(
        matches!(model.decision(), Decision::Thresholds { exclusive, .. } if exclusive == &[false, false, true])
    );
    assert_eq!(model.data().provenance.created_at, "2025-01-01T00:00:00Z");
    assert_eq!(model.version().len(), 16);
    assert_eq!(decided_ids(&model, TEXTS[0])[0], "conflict");
    assert_eq!(decided_ids(&model, TEXTS[1])[0], "disaster");
    assert_eq!(decided_ids(&model, TEXTS[2]), ["other"]);
}

#[test]
fn bytes_round_trip() {
    let model = tiny_model();
    let bytes = model.to_bytes().unwrap();
    assert_eq!(&bytes[..8], MAGIC);
    assert_eq!(
        u32::from_le_bytes(bytes[8..12].try_into().unwrap()),
        FORMAT_VERSION
    );
    assert_eq!(
        u64::from_le_bytes(bytes[12..20].try_into().unwrap()) as usize,
        bytes.len() - HEADER_LEN
    );
    let back = Model::from_bytes(&bytes).unwrap();
    assert_eq!(back.data(), model.data());
    assert_eq!(back.version(), model.version());
    assert_same_classification(&model, &back);
    // Encoding is deterministic.
    assert_eq!(back.to_bytes().unwrap(), bytes);
}

#[test]
fn version_taken_from_the_encoding_equals_the_computed_one() {
    let model = tiny_model();
    let computed = model.version().to_string();
    // A twin whose version is first asked for after encoding takes it from
    // the encoding's checksum (bytes 20..28) instead of hashing again.
    let twin = Model::from_data(model.data().clone()).unwrap();
    let bytes = twin.to_bytes().unwrap();
    let from_header: String = bytes[20..28].iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(from_header, computed);
    assert_eq!(twin.version(), computed);
}

#[test]
fn from_data_round_trip_keeps_the_version() {
    let model = tiny_model();
    let again = Model::from_data(model.data().clone()).unwrap();
    assert_eq!(again.version(), model.version());
    // The version is a content hash: changing the data changes it.
    let mut data = model.data().clone();
    data.provenance.created_at = "2030-01-01T00:00:00Z".into();
    assert_ne!(Model::from_data(data).unwrap().version(), model.version());
}

#[test]
fn save_load_round_trip_is_atomic() {
    let model = tiny_model();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny.model");
    model.save(&path).unwrap();
    let loaded = Model::load(&path).unwrap();
    assert_eq!(loaded.data(), model.data());
    assert_eq!(loaded.version(), model.version());
    assert_same_classification(&model, &loaded);
    assert_eq!(std::fs::read(&path).unwrap(), model.to_bytes().unwrap());

    // Saving over an existing file replaces it, and leaves no temporary file.
    std::fs::write(&path, b"old contents").unwrap();
    model.save(&path).unwrap();
    assert_eq!(Model::load(&path).unwrap().version(), model.version());
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["tiny.model"], "no .tmp- file may be left behind");
}

#[test]
fn saving_on_threads_streams_the_same_bytes_across_chunks() {
    // A payload of a few of save's 1 MiB chunks, with a partial one last.
    let mut data = tiny_model().data().clone();
    data.provenance.train_options_json = "x".repeat((3 << 20) + 12_345);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.model");
    let want = Model::from_data(data.clone()).unwrap().to_bytes().unwrap();
    // The version computed from the encoding alone, never saved.
    let hashed_version = Model::from_data(data.clone())
        .unwrap()
        .version()
        .to_string();
    for threads in [1, 2, 3] {
        // A model built in memory takes its version from the save.
        let model = Model::from_data(data.clone()).unwrap();
        let threads = Threads::new(NonZeroUsize::new(threads).unwrap());
        model.save_with(&path, threads).unwrap();
        assert!(std::fs::read(&path).unwrap() == want, "{threads:?}");
        assert_eq!(model.version(), Model::load(&path).unwrap().version());
        assert_eq!(model.version(), hashed_version);
    }
}

#[test]
fn save_into_a_missing_directory_is_a_write_error() {
    let model = tiny_model();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-dir").join("tiny.model");
    match model.save(&path) {
        Err(e @ ModelError::Write { .. }) => {
            assert!(
                e.to_string()
                    .starts_with(&format!("cannot write model file {}: ", path.display())),
                "{e}"
            )
        }
        other => panic!("expected a Write error, got {other:?}"),
    }
}

#[test]
fn a_failed_rename_leaves_no_temp_file_and_keeps_the_target() {
    // The temporary file is written, then the rename over a directory fails.
    let model = tiny_model();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("models");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("inside"), "x").unwrap();
    let err = model.save(&target).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cannot write model file {}: Is a directory (os error 21)",
            target.display()
        )
    );
    assert!(target.join("inside").exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

// ---------------------------------------------------------------------------
// Damaged files
// ---------------------------------------------------------------------------

#[test]
fn missing_file_is_a_read_error_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing.model");
    match Model::load(&path) {
        Err(e @ ModelError::Read { .. }) => {
            let ModelError::Read { path: p, source } = &e else {
                unreachable!()
            };
            assert_eq!(p, &path);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
            assert!(
                e.to_string()
                    .starts_with(&format!("cannot read model file {}: ", path.display())),
                "{e}"
            );
        }
        other => panic!("expected a Read error, got {other:?}"),
    }
}

#[test]
fn empty_file_is_not_a_model() {
    let e = load_err(&[]);
    assert!(
        matches!(
            e,
            ModelError::BadMagic {
                expected: "DOCCLASS"
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "not a docclass model: wrong magic number (expected \"DOCCLASS\")"
    );
}

#[test]
fn wrong_magic_is_not_a_model() {
    let mut bytes = tiny_model().to_bytes().unwrap();
    bytes[..8].copy_from_slice(b"GGUF\0\0\0\0");
    let e = load_err(&bytes);
    assert!(matches!(e, ModelError::BadMagic { .. }), "{e:?}");
    assert!(e.to_string().contains("not a docclass model"), "{e}");
    // Short non-model content too.
    assert!(matches!(load_err(b"{}"), ModelError::BadMagic { .. }));
    assert!(matches!(load_err(b"DOCX"), ModelError::BadMagic { .. }));
}

#[test]
fn part_of_the_magic_is_truncated() {
    let e = load_err(b"DOCC");
    assert!(
        matches!(
            e,
            ModelError::Truncated {
                expected: 52,
                found: 4
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "model file is truncated: expected 52 bytes, found 4"
    );
}

#[test]
fn header_cut_short_is_truncated() {
    let bytes = tiny_model().to_bytes().unwrap();
    // Inside the version field, then inside the checksum.
    for cut in [10usize, 8, 30, 51] {
        let e = load_err(&bytes[..cut]);
        match e {
            ModelError::Truncated {
                expected: 52,
                found,
            } => assert_eq!(found, cut as u64),
            other => panic!("cut at {cut}: expected Truncated, got {other:?}"),
        }
    }
    // Exactly the header: the payload is missing.
    match load_err(&bytes[..HEADER_LEN]) {
        ModelError::Truncated {
            expected,
            found: 52,
        } => assert_eq!(expected, bytes.len() as u64),
        other => panic!("expected Truncated, got {other:?}"),
    }
}

#[test]
fn truncated_payload_reports_both_sizes() {
    let bytes = tiny_model().to_bytes().unwrap();
    let n = bytes.len();
    let e = load_err(&bytes[..n - 10]);
    match &e {
        ModelError::Truncated { expected, found } => {
            assert_eq!(*expected, n as u64);
            assert_eq!(*found, (n - 10) as u64);
        }
        other => panic!("expected Truncated, got {other:?}"),
    }
    assert_eq!(
        e.to_string(),
        format!(
            "model file is truncated: expected {n} bytes, found {}",
            n - 10
        )
    );
}

#[test]
fn trailing_bytes_are_reported() {
    let mut bytes = tiny_model().to_bytes().unwrap();
    bytes.extend_from_slice(b"xyz");
    let e = load_err(&bytes);
    assert!(matches!(e, ModelError::TrailingBytes(3)), "{e:?}");
    assert_eq!(
        e.to_string(),
        "model file has 3 unexpected bytes after the payload"
    );
}

#[test]
fn a_flipped_payload_byte_fails_the_checksum() {
    let bytes = tiny_model().to_bytes().unwrap();
    for at in [
        HEADER_LEN,
        HEADER_LEN + (bytes.len() - HEADER_LEN) / 2,
        bytes.len() - 1,
    ] {
        let mut damaged = bytes.clone();
        damaged[at] ^= 0x01;
        let e = load_err(&damaged);
        assert!(
            matches!(e, ModelError::ChecksumMismatch),
            "byte {at}: {e:?}"
        );
        assert_eq!(e.to_string(), "model file is corrupt: checksum mismatch");
    }
    // A flipped checksum byte is a mismatch too.
    let mut damaged = bytes.clone();
    damaged[20] ^= 0x80;
    assert!(matches!(load_err(&damaged), ModelError::ChecksumMismatch));
}

#[test]
fn a_future_format_version_is_unsupported() {
    let mut bytes = tiny_model().to_bytes().unwrap();
    bytes[8..12].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
    let e = load_err(&bytes);
    assert!(
        matches!(
            e,
            ModelError::UnsupportedVersion {
                found: 6,
                oldest: 1,
                newest: 5
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "model file format version 6 is not supported (this build reads versions 1 to 5)"
    );
    // The version is checked before the length: a version-6 header alone says so too.
    assert!(matches!(
        load_err(&bytes[..12]),
        ModelError::UnsupportedVersion { found: 6, .. }
    ));
    assert!(matches!(
        load_err(&file_with_payload(0, b"")),
        ModelError::UnsupportedVersion { found: 0, .. }
    ));
}

#[test]
fn garbage_payload_with_a_valid_checksum_fails_to_decode() {
    let e = load_err(&file_with_payload(FORMAT_VERSION, &[0xff; 64]));
    assert!(matches!(e, ModelError::Decode(_)), "{e:?}");
    assert!(
        e.to_string()
            .starts_with("model file is corrupt: cannot decode payload: "),
        "{e}"
    );
    // An empty payload cannot decode either.
    assert!(matches!(
        load_err(&file_with_payload(FORMAT_VERSION, b"")),
        ModelError::Decode(_)
    ));
}

#[test]
fn extra_bytes_inside_the_payload_fail_to_decode() {
    let model = tiny_model();
    let mut payload = postcard::to_stdvec(model.data()).unwrap();
    // The crate's own encoding is exactly this payload.
    assert_eq!(payload, model.to_bytes().unwrap()[HEADER_LEN..]);
    payload.extend_from_slice(&[0, 0]);
    let e = load_err(&file_with_payload(FORMAT_VERSION, &payload));
    match &e {
        ModelError::Decode(m) => assert_eq!(m, "2 bytes left after the model data"),
        other => panic!("expected Decode, got {other:?}"),
    }
}

/// `data` must be rejected by `Model::from_data`, and by `from_bytes` when
/// written to a well-formed file.
fn assert_invalid(data: ModelData, check: impl Fn(&ModelError)) {
    let e = Model::from_data(data.clone()).expect_err("inconsistent data accepted");
    check(&e);
    let bytes = file_with_payload(FORMAT_VERSION, &postcard::to_stdvec(&data).unwrap());
    check(&load_err(&bytes));
}

#[test]
fn inconsistent_model_data_is_invalid() {
    let base = tiny_model().data().clone();

    let mut fewer_topics = base.clone();
    fewer_topics.topics.pop();
    assert_invalid(fewer_topics, |e| {
        assert!(matches!(e, ModelError::Invalid(_)), "{e:?}");
        assert_eq!(
            e.to_string(),
            "model is invalid: 2 topics in metadata, 3 in the classifier"
        );
    });

    let mut bad_threshold = base.clone();
    bad_threshold.decision = Decision::Thresholds {
        thresholds: vec![0.5, 1.5, 0.5],
        exclusive: vec![false; 3],
    };
    assert_invalid(bad_threshold, |e| {
        assert!(matches!(e, ModelError::Invalid(_)), "{e:?}");
        assert_eq!(
            e.to_string(),
            "model is invalid: a threshold is outside [0, 1]"
        );
    });

    let mut short_thresholds = base.clone();
    short_thresholds.decision = Decision::Thresholds {
        thresholds: vec![0.5; 2],
        exclusive: vec![false; 3],
    };
    assert_invalid(short_thresholds, |e| {
        assert_eq!(
            e.to_string(),
            "model is invalid: 2 thresholds and 3 exclusivity flags for 3 topics"
        )
    });

    let mut duplicate_ids = base.clone();
    duplicate_ids.topics[2].id = "conflict".into();
    assert_invalid(duplicate_ids, |e| {
        assert_eq!(
            e.to_string(),
            "model is invalid: topic ids must be unique and non-empty"
        )
    });

    let mut nan_weight = base.clone();
    std::sync::Arc::make_mut(&mut nan_weight.nb).weights[0] = f64::NAN;
    assert_invalid(nan_weight, |e| {
        assert!(matches!(e, ModelError::Nb(_)), "{e:?}");
        assert_eq!(
            e.to_string(),
            "model is invalid: naive bayes: saved NB parameters are inconsistent: a weight is not finite"
        );
    });

    let mut fewer_features = base.clone();
    let features = std::sync::Arc::make_mut(&mut fewer_features.features);
    features.n_features -= 1;
    features.term_hashes.pop();
    features.term_texts.pop();
    features.idf.pop();
    let v = base.nb.n_features;
    assert_invalid(fewer_features, |e| {
        assert!(matches!(e, ModelError::Invalid(_)), "{e:?}");
        assert_eq!(
            e.to_string(),
            format!(
                "model is invalid: {} features in the feature space, {v} in the classifier",
                v - 1
            )
        );
    });
}

// ---------------------------------------------------------------------------
// The committed version-1 fixture
// ---------------------------------------------------------------------------

fn fixture_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-v1.model")
}

/// Writes the fixture. Run once, by hand, and commit the file:
/// `cargo test --test core -- --ignored model_file::regenerate_fixture`.
/// Regenerating it defeats its purpose (catching format changes that break
/// old files), so only do so for a deliberate new format version.
#[test]
#[ignore = "writes tests/fixtures/tiny-v1.model; run by hand only"]
fn regenerate_fixture() {
    let path = fixture_path();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let model = tiny_model();
    model.save(&path).unwrap();
    println!(
        "wrote {} ({} bytes), version {}",
        path.display(),
        std::fs::metadata(&path).unwrap().len(),
        model.version()
    );
    for text in TEXTS {
        println!("{text:?} → {:?}", decided_ids(&model, text));
    }
}

/// Values observed when the fixture was generated.
const FIXTURE_VERSION: &str = "e824a97ab1ce0869";

#[test]
fn committed_v1_fixture_still_loads() {
    let path = fixture_path();
    let bytes = std::fs::read(&path).expect("tests/fixtures/tiny-v1.model is committed");
    assert!(bytes.len() < 50_000, "fixture is {} bytes", bytes.len());
    assert_eq!(&bytes[..8], MAGIC);
    assert_eq!(
        u32::from_le_bytes(bytes[8..12].try_into().unwrap()),
        1,
        "fixture is format version 1"
    );

    let model = Model::load(&path).expect("the version-1 fixture loads");
    assert_eq!(model.version(), FIXTURE_VERSION);
    let ids: Vec<&str> = model.topics().iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["conflict", "disaster", "other"]);
    assert_eq!(model.topics()[0].name_fr, "Conflit armé");
    assert_eq!(model.data().provenance.created_at, "2025-01-01T00:00:00Z");
    assert_eq!(decided_ids(&model, TEXTS[0]), ["conflict"]);
    assert_eq!(decided_ids(&model, TEXTS[1]), ["disaster"]);
    assert_eq!(decided_ids(&model, TEXTS[2]), ["other"]);
    // No known term: no evidence, so the model reports the training prior
    // (topic document counts 5/17, 7/17, 5/17) and decides nothing.
    let empty = model.classify(TEXTS[3], Some(Lang::En));
    let prior = [5.0 / 17.0, 7.0 / 17.0, 5.0 / 17.0];
    for (p, q) in empty.probabilities.iter().zip(prior) {
        assert!((p - q).abs() < 1e-12, "{:?}", empty.probabilities);
    }
    assert!(decided_ids(&model, TEXTS[3]).is_empty());
    match model.decision() {
        Decision::Thresholds {
            thresholds,
            exclusive,
        } => {
            assert_eq!(thresholds, &[0.21, 0.27, 0.49]);
            assert_eq!(exclusive, &[false, false, true]);
        }
        other => panic!("fixture decision is {other:?}"),
    }
    // A version-1 file reads with temperature 1 (raw posteriors) and keeps its
    // version string; saving it again writes the current format, which reads
    // back to the same data.
    assert_eq!(model.format_version(), 1);
    assert_eq!(model.temperature(), 1.0);
    assert_rewrites_in_the_current_format(&model);
}

/// Saved again, an older file's model is a current-format file that reads
/// back to the same data.
#[track_caller]
fn assert_rewrites_in_the_current_format(model: &Model) {
    let rewritten = model.to_bytes().unwrap();
    assert_eq!(
        u32::from_le_bytes(rewritten[8..12].try_into().unwrap()),
        FORMAT_VERSION
    );
    assert_eq!(Model::from_bytes(&rewritten).unwrap().data(), model.data());
}

// ---------------------------------------------------------------------------
// The committed version-2 fixture
// ---------------------------------------------------------------------------

/// A format-2 model (temperature, no named evaluations), written by
/// `docclass-train -i tiny.jsonl -o tests/fixtures/tiny-v2.model
/// --no-validation --created-at 2025-06-01T00:00:00Z` before format 3
/// existed: 18 documents (6 each of military_operations, humanitarian_aid
/// and other).
#[test]
fn committed_v2_fixture_still_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-v2.model");
    let bytes = std::fs::read(&path).expect("tests/fixtures/tiny-v2.model is committed");
    assert_eq!(
        u32::from_le_bytes(bytes[8..12].try_into().unwrap()),
        2,
        "fixture is format version 2"
    );
    let model = Model::load(&path).expect("the version-2 fixture loads");
    assert_eq!(model.version(), "fbb2f5bae4d67686");
    assert_eq!(model.format_version(), 2);
    let ids: Vec<&str> = model.topics().iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["humanitarian_aid", "military_operations", "other"]);
    let provenance = &model.data().provenance;
    assert_eq!(provenance.created_at, "2025-06-01T00:00:00Z");
    assert_eq!(provenance.documents, 18);
    assert!(provenance.evaluations.is_empty());
    assert_rewrites_in_the_current_format(&model);
}

/// A format-3 model (named evaluations; no per-topic calibration), written by
/// the format-3 `docclass-train -i tiny3.jsonl -o tests/fixtures/tiny-v3.model
/// --folds 3 --min-df 1 --word-ngrams 1 --decision thresholds --created-at
/// 2025-09-01T00:00:00Z`: the first 8 English written-corpus documents of
/// military_operations, humanitarian_aid and other, cut to 400 characters.
/// It must classify as it did: a softmax over topics (summing to 1), not
/// per-topic probabilities.
#[test]
fn committed_v3_fixture_still_loads_and_keeps_its_probabilities() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-v3.model");
    let bytes = std::fs::read(&path).expect("tests/fixtures/tiny-v3.model is committed");
    assert_eq!(u32::from_le_bytes(bytes[8..12].try_into().unwrap()), 3);
    let model = Model::load(&path).expect("the version-3 fixture loads");
    assert_eq!(model.version(), "f16f8708d89a6b17");
    assert_eq!(model.format_version(), 3);
    assert!(model.per_topic_calibration().is_none());
    assert!(model.data().provenance.semi_supervised.is_none());
    let c = model.classify(
        "Troops and tanks advanced on the rebel-held town after artillery shelled its outskirts.",
        Some(Lang::En),
    );
    assert!(
        (c.probabilities.iter().sum::<f64>() - 1.0).abs() < 1e-9,
        "{c:?}"
    );
    let military = model.topic_index("military_operations").unwrap();
    assert_eq!(c.decided, [military], "{c:?}");
    assert_rewrites_in_the_current_format(&model);
}

/// A format-4 model (per-topic calibration; no invisible-character filter),
/// written by the format-4 `docclass-train -i tiny4.jsonl -o
/// tests/fixtures/tiny-v4.model --folds 3 --min-df 1 --word-ngrams 1
/// --decision thresholds --created-at 2026-12-06T00:00:00Z`: the first 8
/// English written-corpus documents of military_operations, humanitarian_aid
/// and other, cut to 400 characters, with their labels. It must analyse and
/// classify as it did: an invisible format character stays part of its word.
#[test]
fn committed_v4_fixture_still_loads_and_analyses_as_before() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-v4.model");
    let bytes = std::fs::read(&path).expect("tests/fixtures/tiny-v4.model is committed");
    assert_eq!(u32::from_le_bytes(bytes[8..12].try_into().unwrap()), 4);
    let model = Model::load(&path).expect("the version-4 fixture loads");
    assert_eq!(model.version(), "77a0c2c5e310e4f2");
    assert_eq!(model.format_version(), 4);
    assert_eq!(
        model.analyzer().config().filters,
        [
            FilterConfig::Lowercase,
            FilterConfig::Elision,
            FilterConfig::StopWords,
            FilterConfig::Stem,
            FilterConfig::AccentFold,
            FilterConfig::Length {
                min_chars: 2,
                max_chars: 40
            },
        ]
    );
    let text = "Iraqi\u{200D} troops\u{AD} raised the national\u{2060} flag over Falluja";
    let (_, terms) = model.analyzer().terms(text, Some(Lang::En));
    assert_eq!(terms, FIXTURE_V4_TERMS);
    let c = model.classify(text, Some(Lang::En));
    // Values observed when the fixture was written.
    assert_eq!(c.decided, [0, 1, 3], "{c:?}");
    let expected = [
        0.5689839572192513,
        0.47073280214063845,
        0.05555555555555555,
        0.1006944444444444,
    ];
    assert_eq!(c.probabilities.len(), expected.len());
    for (p, q) in c.probabilities.iter().zip(expected) {
        assert!((p - q).abs() < 1e-12, "{:?}", c.probabilities);
    }
    assert_rewrites_in_the_current_format(&model);
}

/// The format-4 chain keeps each invisible character in its word, so three
/// of these are terms no model knows (and `troops` is not even stemmed).
const FIXTURE_V4_TERMS: &[&str] = &[
    "iraqi\u{200d}",
    "troops\u{ad}",
    "rais",
    "national\u{2060}",
    "flag",
    "falluja",
];

#[test]
fn named_evaluations_round_trip_and_change_the_version() {
    let mut model = tiny_model();
    let before = model.version().to_string();
    model.add_evaluation(docclass::model::NamedEvaluation {
        name: "real-news test (fr)".into(),
        corpus_sha256: "ab".repeat(32),
        metrics: docclass::model::HeldOutMetrics {
            documents: 7,
            accuracy: 0.5,
            macro_f1: 0.25,
            micro_f1: 0.75,
            topic_f1: vec![0.1, 0.2, 0.3],
        },
    });
    assert_ne!(model.version(), before, "the version covers evaluations");
    let back = Model::from_bytes(&model.to_bytes().unwrap()).unwrap();
    assert_eq!(back.data(), model.data());
    assert_eq!(back.version(), model.version());
    assert_eq!(back.data().provenance.evaluations[0].metrics.documents, 7);
}

#[test]
fn load_checks_the_file_kind_and_header_before_reading_the_payload() {
    let dir = tempfile::TempDir::new().unwrap();
    // A directory, and (on Unix) a FIFO with no writer, which a plain read
    // would wait on forever.
    let err = Model::load(dir.path()).unwrap_err();
    assert!(matches!(err, ModelError::NotAFile(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!("{} is not a regular file", dir.path().display())
    );
    #[cfg(unix)]
    {
        let fifo = dir.path().join("pipe.model");
        let status = std::process::Command::new("mkfifo").arg(&fifo).status();
        if status.is_ok_and(|s| s.success()) {
            assert!(matches!(
                Model::load(&fifo).unwrap_err(),
                ModelError::NotAFile(_)
            ));
        }
    }
    // A header that declares another length: refused by its header alone.
    let mut bytes = tiny_model().to_bytes().unwrap();
    let real = bytes.len() as u64;
    bytes.extend_from_slice(&[0u8; 4096]);
    let path = dir.path().join("padded.model");
    std::fs::write(&path, &bytes).unwrap();
    assert!(matches!(
        Model::load(&path).unwrap_err(),
        ModelError::TrailingBytes(4096)
    ));
    std::fs::write(&path, &bytes[..(real as usize - 10)]).unwrap();
    assert!(matches!(
        Model::load(&path).unwrap_err(),
        ModelError::Truncated { found, .. } if found == real - 10
    ));
    // Not a model at all.
    std::fs::write(&path, vec![b'x'; 1 << 20]).unwrap();
    assert!(matches!(
        Model::load(&path).unwrap_err(),
        ModelError::BadMagic { .. }
    ));
    // And a real one still loads.
    let good = dir.path().join("good.model");
    tiny_model().save(&good).unwrap();
    assert!(Model::load(&good).is_ok());
}

/// A file with a model's header declaring a payload of `payload_len` zero
/// bytes, and that payload: it reads to the end, then fails its checksum.
fn zero_payload_file(path: &std::path::Path, payload_len: u64) {
    let mut header = Vec::new();
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    header.extend_from_slice(&payload_len.to_le_bytes());
    header.extend_from_slice(&[0u8; 32]);
    let file = std::fs::File::create(path).unwrap();
    std::io::Write::write_all(&mut &file, &header).unwrap();
    file.set_len(header.len() as u64 + payload_len).unwrap();
}

#[test]
fn a_cancelled_load_stops_between_chunks() {
    use docclass::model::READ_CHUNK;
    use std::cell::Cell;
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("big.model");
    // Three full chunks and five bytes.
    zero_payload_file(&path, 3 * READ_CHUNK as u64 + 5);
    // Asked before opening, then before each read: four reads with bytes
    // and one that finds the end.
    let asked = Cell::new(0);
    let never = || {
        asked.set(asked.get() + 1);
        false
    };
    let err = Model::load_cancellable(&path, &never).unwrap_err();
    assert!(matches!(err, ModelError::ChecksumMismatch), "{err:?}");
    assert_eq!(asked.get(), 6);
    // Cancelled on the third question: after two chunks, nothing more is read.
    for cancel_at in 1..=6 {
        let asked = Cell::new(0);
        let cancelled = || {
            asked.set(asked.get() + 1);
            asked.get() >= cancel_at
        };
        let err = Model::load_cancellable(&path, &cancelled).unwrap_err();
        assert!(matches!(err, ModelError::Cancelled), "{err:?}");
        assert_eq!(asked.get(), cancel_at, "asked again after the cancellation");
    }
    // Cancelled before anything: the path is not even opened.
    let missing = dir.path().join("absent.model");
    assert!(matches!(
        Model::load_cancellable(&missing, &|| true).unwrap_err(),
        ModelError::Cancelled
    ));
}

#[test]
fn a_load_returns_the_stamp_of_the_file_it_read() {
    use docclass::model::FileStamp;
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("m.model");
    let model = tiny_model();
    model.save(&path).unwrap();
    let (loaded, stamp) = Model::load_cancellable(&path, &|| false).unwrap();
    assert_eq!(loaded.version(), model.version());
    assert_eq!(stamp, FileStamp::of_path(&path).unwrap());
    // Saved again (a new file renamed over the path): another stamp, though
    // the bytes are the same.
    model.save(&path).unwrap();
    assert_ne!(stamp, FileStamp::of_path(&path).unwrap());
    let (_, again) = Model::load_cancellable(&path, &|| false).unwrap();
    assert_eq!(again, FileStamp::of_path(&path).unwrap());
}
