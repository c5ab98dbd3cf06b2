//! Odd but well-formed input over gRPC: a batch ten times over its limit, and
//! documents of only emoji, control characters, zero-width characters or
//! right-to-left text with bidi marks. Each gets an exact answer and the
//! server stays up. (Empty, whitespace-only and over-size text are covered
//! by `errors.rs`; bytes that are not UTF-8 by `malformed_messages.rs`.)
use crate::common::messages::request;
use crate::common::{tiny_model, TestServer, TROOPS};
use docclass::service::pb::{ClassifyBatchRequest, ClassifyResponse};
use docclass::service::Limits;
use tonic::Code;
use tonic_types::StatusExt;

/// What the tiny model answers when the text holds no term it knows: the
/// training prior (topic document counts 7, 7, 6 over 20) and no decision.
const PRIOR: [(&str, f64); 3] = [
    ("conflict", 7.0 / 20.0),
    ("disaster", 7.0 / 20.0),
    ("other", 6.0 / 20.0),
];

async fn classify(server: &TestServer, text: &str) -> ClassifyResponse {
    server
        .client()
        .await
        .classify(request(text))
        .await
        .unwrap_or_else(|status| panic!("{text:?} is answered, got {status:?}"))
        .into_inner()
}

fn scores(response: &ClassifyResponse) -> Vec<(&str, f64)> {
    response
        .topics
        .iter()
        .map(|t| (t.topic.as_str(), t.probability))
        .collect()
}

/// Asserts the answer for a text with no known term: the prior, nothing
/// decided, and `language`.
fn assert_no_evidence(response: &ClassifyResponse, language: &str) {
    assert_eq!(scores(response), PRIOR);
    assert!(response.labels.is_empty(), "{:?}", response.labels);
    assert!(response.topics.iter().all(|t| !t.decided));
    assert_eq!(response.language, language);
}

#[tokio::test]
async fn ten_thousand_documents_are_refused_naming_the_limit_and_the_server_stays_up() {
    let server = TestServer::start(Some(tiny_model())).await;
    assert_eq!(Limits::default().max_batch_documents, 1000);
    let mut client = server.client().await;
    let status = client
        .classify_batch(ClassifyBatchRequest {
            documents: (0..10_000).map(|_| request(TROOPS)).collect(),
        })
        .await
        .expect_err("10,000 documents are over the limit");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert_eq!(
        status.message(),
        "batch has 10000 documents, over the limit of 1000 (the server's --max-batch)"
    );
    let violations = status
        .get_details_bad_request()
        .expect("a google.rpc.BadRequest detail")
        .field_violations;
    assert_eq!(violations.len(), 1);
    assert_eq!(violations[0].field, "documents");

    // The same client, and a new connection, are still served.
    let ok = client
        .classify_batch(ClassifyBatchRequest {
            documents: vec![request(TROOPS)],
        })
        .await
        .expect("a batch within the limit is answered")
        .into_inner();
    assert_eq!(ok.outcomes.len(), 1);
    assert_eq!(classify(&server, TROOPS).await.labels, ["conflict"]);
    server.stop().await;
}

#[tokio::test]
async fn emoji_only_text_decides_nothing_and_has_no_language() {
    let server = TestServer::start(Some(tiny_model())).await;
    // Flags, skin tones and ZWJ sequences included.
    for text in ["🔥💥😀", "👍🏽 👨‍👩‍👧 🇫🇷 🏳️‍🌈", "⚠️ 🚨 ❗"]
    {
        assert_no_evidence(&classify(&server, text).await, "und");
    }
    server.stop().await;
}

#[tokio::test]
async fn control_characters_alone_decide_nothing_and_between_words_separate_them() {
    let server = TestServer::start(Some(tiny_model())).await;
    // NUL, SOH, BEL, BS, ESC, DEL and C1 CSI: not whitespace, so the text is
    // not "empty", but there is no word in it.
    let controls = "\u{0}\u{1}\u{7}\u{8}\u{1b}\u{7f}\u{9b}";
    assert_no_evidence(&classify(&server, controls).await, "und");

    // Between words they separate them like spaces: the same answer as the
    // clean text.
    let clean = classify(&server, TROOPS).await;
    assert_eq!(clean.labels, ["conflict"]);
    let with_controls = classify(
        &server,
        "Troops\u{0}clashed\u{7}with militia\u{1b}and artillery\u{8}shelled rebel\u{7f}positions",
    )
    .await;
    assert_eq!(with_controls, clean);
    server.stop().await;
}

#[tokio::test]
async fn zero_width_characters_alone_decide_nothing() {
    let server = TestServer::start(Some(tiny_model())).await;
    // ZWJ, ZWNJ, ZWSP, WORD JOINER, BOM: not whitespace to `str::trim`.
    let zero_width = "\u{200D}\u{200C}\u{200B}\u{2060}\u{FEFF}";
    assert_no_evidence(&classify(&server, zero_width).await, "und");

    // Inside an article they do not stop it from being classified.
    let response = classify(
        &server,
        "Troops\u{200D} clashed\u{200B} with\u{2060} militia and\u{FEFF} artillery shelled rebel positions",
    )
    .await;
    assert_eq!(response.labels, ["conflict"]);
    assert_eq!(response.language, "en");
    server.stop().await;
}

#[tokio::test]
async fn right_to_left_text_with_bidi_marks_gets_its_language() {
    let server = TestServer::start(Some(tiny_model())).await;
    // Arabic between RLMs: detected as Arabic; the tiny model knows no
    // Arabic word, so nothing is decided.
    let arabic = "\u{200F}شنّ الجيش غارات جوية على مواقع المتمردين\u{200F}";
    assert_no_evidence(&classify(&server, arabic).await, "ar");

    // Hebrew in an RTL embedding, then an LRM: Hebrew is none of the model's
    // languages (en, fr, ar), so detection falls back to the default, English.
    let hebrew = "\u{202B}הצבא תקף עמדות של המורדים\u{202C}\u{200E}";
    assert_no_evidence(&classify(&server, hebrew).await, "en");

    // English with LRM/RLM marks around words is still classified.
    let marked = classify(
        &server,
        "\u{200F}Troops\u{200E} clashed\u{200F} with militia and artillery shelled rebel positions",
    )
    .await;
    assert_eq!(marked.labels, ["conflict"]);
    assert_eq!(marked.language, "en");
    server.stop().await;
}
