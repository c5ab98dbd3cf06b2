//! ClassifyBatch: answers in request order, per-document errors in their slot.
use crate::common::messages::{error, request_with_id, result};
use crate::common::{tiny_model, TestServer};
use docclass::model::Model;
use docclass::service::pb::classify_outcome::Outcome;
use docclass::service::pb::{ClassifyBatchRequest, ClassifyRequest, DocumentError};

const TEXTS: [(&str, &str); 4] = [
    (
        "a",
        "Artillery shelled rebel positions as troops clashed with militia",
    ),
    (
        "b",
        "The earthquake destroyed homes and rescue teams searched the rubble",
    ),
    (
        "c",
        "The football club won the cup final in a sold out stadium",
    ),
    (
        "d",
        "Airstrikes and artillery hit rebel and insurgent positions; aid agencies delivered food",
    ),
];

/// The labels the in-process model decides for `text`.
fn labels(model: &Model, text: &str) -> Vec<String> {
    model
        .classify(text, None)
        .decided
        .into_iter()
        .map(|c| model.topics()[c].id.clone())
        .collect()
}

#[tokio::test]
async fn batch_answers_in_order_with_index_and_id_echoed() {
    let model = tiny_model();
    let version = model.version().to_string();
    let reference = Model::from_data(model.data().clone()).expect("valid");
    let server = TestServer::start(Some(model)).await;
    let mut client = server.client().await;
    let response = client
        .classify_batch(ClassifyBatchRequest {
            documents: TEXTS
                .iter()
                .map(|(id, text)| request_with_id(id, text))
                .collect(),
        })
        .await
        .expect("batch succeeds")
        .into_inner();
    assert_eq!(response.model_version, version);
    assert_eq!(response.outcomes.len(), TEXTS.len());
    for (i, ((id, text), outcome)) in TEXTS.iter().zip(&response.outcomes).enumerate() {
        assert_eq!(outcome.index, i as u64);
        assert_eq!(outcome.id, *id);
        let r = result(outcome);
        assert_eq!(r.id, *id, "the response echoes the id too");
        assert_eq!(r.model_version, version);
        assert_eq!(r.language, "en");
        assert_eq!(r.topics.len(), 3);
        assert_eq!(r.labels, labels(&reference, text));
        // Exactly what a unary Classify of the same document answers.
        let unary = client
            .classify(request_with_id(id, text))
            .await
            .expect("classify")
            .into_inner();
        assert_eq!(*r, unary);
    }
    let all_labels: Vec<&[String]> = response
        .outcomes
        .iter()
        .map(|o| result(o).labels.as_slice())
        .collect();
    assert_eq!(
        all_labels,
        [
            &["conflict".to_string()][..],
            &["disaster".to_string()][..],
            &["other".to_string()][..],
            &["conflict".to_string(), "disaster".to_string()][..],
        ]
    );
    server.stop().await;
}

#[tokio::test]
async fn a_bad_document_gets_its_own_error_and_the_others_succeed() {
    let server = TestServer::start(Some(tiny_model())).await;
    let mut client = server.client().await;
    let response = client
        .classify_batch(ClassifyBatchRequest {
            documents: vec![
                request_with_id("first", TEXTS[0].1),
                request_with_id("empty", ""),
                request_with_id("third", TEXTS[1].1),
                ClassifyRequest {
                    topics: vec!["conflict".into(), "war".into()],
                    ..request_with_id("fourth", TEXTS[2].1)
                },
                ClassifyRequest {
                    language: "xx".into(),
                    ..request_with_id("fifth", TEXTS[2].1)
                },
                ClassifyRequest {
                    explain: true,
                    explain_terms: 101,
                    ..request_with_id("sixth", TEXTS[2].1)
                },
                request_with_id("last", TEXTS[2].1),
            ],
        })
        .await
        .expect("a bad document does not fail the batch")
        .into_inner();
    let ids: Vec<(u64, &str)> = response
        .outcomes
        .iter()
        .map(|o| (o.index, o.id.as_str()))
        .collect();
    assert_eq!(
        ids,
        [
            (0, "first"),
            (1, "empty"),
            (2, "third"),
            (3, "fourth"),
            (4, "fifth"),
            (5, "sixth"),
            (6, "last")
        ]
    );
    assert_eq!(result(&response.outcomes[0]).labels, ["conflict"]);
    assert_eq!(
        *error(&response.outcomes[1]),
        DocumentError {
            code: 3,
            message: "documents[1].text is empty or only whitespace; send the document's text"
                .into(),
            field: "documents[1].text".into(),
        }
    );
    assert_eq!(result(&response.outcomes[2]).labels, ["disaster"]);
    assert_eq!(
        *error(&response.outcomes[3]),
        DocumentError {
            code: tonic::Code::InvalidArgument as i32,
            message: "documents[3].topics[1]: unknown topic \"war\" (known topics: conflict, disaster, other)".into(),
            field: "documents[3].topics[1]".into(),
        }
    );
    assert_eq!(
        *error(&response.outcomes[4]),
        DocumentError {
            code: 3,
            message: "documents[4].language: unknown language \"xx\" (expected en, fr, ar or und)"
                .into(),
            field: "documents[4].language".into(),
        }
    );
    assert_eq!(
        *error(&response.outcomes[5]),
        DocumentError {
            code: 3,
            message: "documents[5].explain_terms is 101, over the maximum of 100".into(),
            field: "documents[5].explain_terms".into(),
        }
    );
    assert_eq!(result(&response.outcomes[6]).labels, ["other"]);
    server.stop().await;
}

#[tokio::test]
async fn a_document_over_the_text_limit_fails_alone() {
    let limits = docclass::service::Limits {
        max_text_bytes: 100,
        ..Default::default()
    };
    let server = TestServer::start_with(
        Some(tiny_model()),
        limits,
        std::time::Duration::from_secs(30),
    )
    .await;
    let response = server
        .client()
        .await
        .classify_batch(ClassifyBatchRequest {
            documents: vec![
                request_with_id("long", &"a".repeat(101)),
                request_with_id("ok", TEXTS[0].1),
                ClassifyRequest {
                    title: "t".repeat(50),
                    ..request_with_id("titled", &"a".repeat(51))
                },
            ],
        })
        .await
        .expect("batch succeeds")
        .into_inner();
    assert_eq!(
        *error(&response.outcomes[0]),
        DocumentError {
            code: 3,
            message: "documents[0].text is 101 bytes, over the limit of 100 bytes (the server's --max-text-bytes)".into(),
            field: "documents[0].text".into(),
        }
    );
    assert_eq!(result(&response.outcomes[1]).labels, ["conflict"]);
    assert_eq!(
        *error(&response.outcomes[2]),
        DocumentError {
            code: 3,
            message: "documents[2].text is 101 bytes with the title, over the limit of 100 bytes (the server's --max-text-bytes)"
                .into(),
            field: "documents[2].text".into(),
        }
    );
    server.stop().await;
}

#[tokio::test]
async fn empty_batch_gives_empty_outcomes_and_the_model_version() {
    let model = tiny_model();
    let version = model.version().to_string();
    let server = TestServer::start(Some(model)).await;
    let response = server
        .client()
        .await
        .classify_batch(ClassifyBatchRequest { documents: vec![] })
        .await
        .expect("an empty batch is fine")
        .into_inner();
    assert!(response.outcomes.is_empty());
    assert_eq!(response.model_version, version);
    assert_eq!(version.len(), 16, "a 16-hex-digit content hash: {version}");
    server.stop().await;
}

#[tokio::test]
async fn batch_at_the_default_limit_of_1000_documents_is_answered() {
    let server = TestServer::start(Some(tiny_model())).await;
    let documents: Vec<ClassifyRequest> = (0..1000)
        .map(|i| request_with_id(&format!("d{i}"), TEXTS[i % TEXTS.len()].1))
        .collect();
    let response = server
        .client()
        .await
        .classify_batch(ClassifyBatchRequest { documents })
        .await
        .expect("1000 documents are within the default limit")
        .into_inner();
    assert_eq!(response.outcomes.len(), 1000);
    for (i, o) in response.outcomes.iter().enumerate() {
        assert_eq!(o.index, i as u64);
        assert_eq!(o.id, format!("d{i}"));
        assert!(matches!(o.outcome, Some(Outcome::Result(_))));
    }
    server.stop().await;
}

/// A batch with more text than one classification thread should take alone
/// is cut into parts, one per thread: every outcome still comes back in its
/// slot, equal to what a unary call answers, and a bad document in a later
/// part keeps its own index in its error.
#[tokio::test]
async fn a_large_batch_is_split_across_threads_and_answered_in_order() {
    use docclass::service::{Limits, Server, WorkerHook};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let trips = Arc::new(AtomicUsize::new(0));
    let counter = trips.clone();
    let server = Server::new(Limits::default(), std::time::Duration::from_secs(30))
        .await
        .with_worker_hook(WorkerHook(Arc::new(move |_: &_| {
            counter.fetch_add(1, Ordering::SeqCst);
        })));
    let server = TestServer::start_built(server, Some(tiny_model())).await;
    let mut client = server.client().await;
    // 48 documents of about 4 KB: 192 KB of text.
    let documents: Vec<ClassifyRequest> = (0..48)
        .map(|i| {
            let (_, text) = TEXTS[i % TEXTS.len()];
            let text = format!("{text}. ").repeat(4096 / text.len() + 1);
            match i {
                41 => request_with_id("bad", ""),
                _ => request_with_id(&format!("doc-{i}"), &text),
            }
        })
        .collect();
    let response = client
        .classify_batch(ClassifyBatchRequest {
            documents: documents.clone(),
        })
        .await
        .expect("batch succeeds")
        .into_inner();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(trips.load(Ordering::SeqCst), threads.min(192 / 32));
    assert_eq!(response.outcomes.len(), 48);
    for (i, (outcome, request)) in response.outcomes.iter().zip(documents).enumerate() {
        assert_eq!(
            (outcome.index, outcome.id.as_str()),
            (i as u64, request.id.as_str())
        );
        if i == 41 {
            assert_eq!(error(outcome).field, "documents[41].text");
            continue;
        }
        let unary = client
            .classify(request)
            .await
            .expect("classify")
            .into_inner();
        assert_eq!(*result(outcome), unary);
    }
    server.stop().await;
}
