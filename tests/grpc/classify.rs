//! Classify (unary) against an in-process server.
//!
//! Every probability, label and explanation is compared exactly with what the
//! same model computes in-process (`Model::classify`, `Model::explain`): the
//! service must add no arithmetic of its own, only selection and ordering.
use crate::common::messages::request;
use crate::common::{tiny_model, TestServer, TOPICS};
use docclass::model::Model;
use docclass::service::pb::{ClassifyRequest, ClassifyResponse, TopicScore};
use docclass::text::Lang;

/// Decided as both `conflict` and `disaster` by the tiny model.
const MULTI_LABEL: &str =
    "Airstrikes and artillery hit rebel and insurgent positions; aid agencies delivered food";
const CONFLICT_EN: &str = "Artillery shelled rebel positions as troops clashed with militia";
const CONFLICT_FR: &str =
    "Les soldats et les rebelles se sont affrontés dans la ville après des combats";
/// No word of it is in the tiny model's vocabulary.
const UNKNOWN_WORDS: &str = "xyzzy plugh qwerty";

/// An independent copy of the served model, to compute expected values.
fn reference(model: &Model) -> Model {
    Model::from_data(model.data().clone()).expect("the model's own data is valid")
}

async fn start() -> (TestServer, Model) {
    let model = tiny_model();
    let expected = reference(&model);
    (TestServer::start(Some(model)).await, expected)
}

async fn classify(server: &TestServer, req: ClassifyRequest) -> ClassifyResponse {
    server
        .client()
        .await
        .classify(req)
        .await
        .expect("classify succeeds")
        .into_inner()
}

/// The response's scores as `(topic, probability)`.
fn scores(topics: &[TopicScore]) -> Vec<(&str, f64)> {
    topics
        .iter()
        .map(|t| (t.topic.as_str(), t.probability))
        .collect()
}

/// The scores `model` gives `text` for `wanted` topic indices, most probable
/// first (ties by topic order), as the service must report them.
fn expected_scores(
    model: &Model,
    text: &str,
    hint: Option<Lang>,
    wanted: &[usize],
) -> Vec<(String, f64)> {
    let c = model.classify(text, hint);
    let mut order = wanted.to_vec();
    order.sort_by(|&a, &b| {
        c.probabilities[b]
            .total_cmp(&c.probabilities[a])
            .then(a.cmp(&b))
    });
    order
        .into_iter()
        .map(|i| (model.topics()[i].id.clone(), c.probabilities[i]))
        .collect()
}

fn owned(v: Vec<(&str, f64)>) -> Vec<(String, f64)> {
    v.into_iter().map(|(t, p)| (t.to_string(), p)).collect()
}

#[tokio::test]
async fn classify_returns_every_topic_sorted_with_labels_and_version() {
    let model = tiny_model();
    let version = model.version().to_string();
    let server = TestServer::start(Some(model)).await;
    let mut client = server.client().await;
    let response = client
        .classify(ClassifyRequest {
            text: "Artillery shelled rebel positions as troops clashed with militia".into(),
            id: "doc-1".into(),
            ..Default::default()
        })
        .await
        .expect("classify succeeds")
        .into_inner();
    assert_eq!(response.id, "doc-1");
    assert_eq!(response.model_version, version);
    assert_eq!(response.language, "en");
    assert_eq!(response.topics.len(), TOPICS.len());
    assert_eq!(response.topics[0].topic, "conflict");
    assert_eq!(response.topics[0].name, "conflict (en)");
    assert!(response
        .topics
        .windows(2)
        .all(|w| w[0].probability >= w[1].probability));
    let sum: f64 = response.topics.iter().map(|t| t.probability).sum();
    assert!((sum - 1.0).abs() < 1e-9, "probabilities sum to {sum}");
    assert_eq!(response.labels, ["conflict"]);
    assert!(response.topics[0].decided);
    server.stop().await;
}

#[tokio::test]
async fn scores_equal_the_in_process_model_with_thresholds_and_decided_flags() {
    let (server, model) = start().await;
    let response = classify(&server, request(CONFLICT_EN)).await;
    assert_eq!(
        owned(scores(&response.topics)),
        expected_scores(&model, CONFLICT_EN, None, &[0, 1, 2])
    );
    // The tiny model decides by tuned thresholds; each topic reports its own.
    for t in &response.topics {
        let c = model.topic_index(&t.topic).expect("a model topic");
        assert_eq!(
            t.threshold,
            model.decision().threshold(c).expect("thresholds")
        );
        assert_eq!(t.decided, t.topic == "conflict", "{t:?}");
    }
    assert!(
        response.explanations.is_empty(),
        "no explain, no explanations"
    );
    server.stop().await;
}

#[tokio::test]
async fn title_is_analysed_together_with_the_text() {
    let (server, model) = start().await;
    let title = "Earthquake destroys homes";
    let text = "Teams searched for survivors";
    let response = classify(
        &server,
        ClassifyRequest {
            title: title.into(),
            text: text.into(),
            id: "titled".into(),
            ..Default::default()
        },
    )
    .await;
    let combined = format!("{title}\n\n{text}");
    assert_eq!(
        owned(scores(&response.topics)),
        expected_scores(&model, &combined, None, &[0, 1, 2])
    );
    assert_eq!(response.id, "titled");
    assert_eq!(response.labels, ["disaster"]);
    // The title changed the result: the text alone scores differently.
    let text_only = classify(&server, request(text)).await;
    assert_ne!(scores(&text_only.topics), scores(&response.topics));
    assert_eq!(
        owned(scores(&text_only.topics)),
        expected_scores(&model, text, None, &[0, 1, 2])
    );
    server.stop().await;
}

#[tokio::test]
async fn top_k_limits_topics_but_not_labels() {
    let (server, model) = start().await;
    let all = expected_scores(&model, MULTI_LABEL, None, &[0, 1, 2]);

    let two = classify(
        &server,
        ClassifyRequest {
            top_k: 2,
            ..request(MULTI_LABEL)
        },
    )
    .await;
    assert_eq!(two.topics.len(), 2);
    assert_eq!(owned(scores(&two.topics)), all[..2]);

    let one = classify(
        &server,
        ClassifyRequest {
            top_k: 1,
            ..request(MULTI_LABEL)
        },
    )
    .await;
    assert_eq!(owned(scores(&one.topics)), all[..1]);
    // Labels are the decision, independent of how many scores are listed.
    assert_eq!(one.labels, ["conflict", "disaster"]);

    let zero = classify(
        &server,
        ClassifyRequest {
            top_k: 0,
            ..request(MULTI_LABEL)
        },
    )
    .await;
    assert_eq!(owned(scores(&zero.topics)), all);

    // More than there are topics: all of them, no padding.
    let many = classify(
        &server,
        ClassifyRequest {
            top_k: 50,
            ..request(MULTI_LABEL)
        },
    )
    .await;
    assert_eq!(owned(scores(&many.topics)), all);
    server.stop().await;
}

#[tokio::test]
async fn topics_filter_reports_only_those_topics_and_filters_labels() {
    let (server, model) = start().await;
    // Conflict text, conflict filtered out: its label goes too.
    let response = classify(
        &server,
        ClassifyRequest {
            topics: vec!["other".into(), "disaster".into()],
            ..request(CONFLICT_EN)
        },
    )
    .await;
    assert_eq!(
        owned(scores(&response.topics)),
        expected_scores(&model, CONFLICT_EN, None, &[1, 2])
    );
    assert!(response.labels.is_empty(), "{:?}", response.labels);
    assert!(response.topics.iter().all(|t| !t.decided));

    // Multi-label document filtered to one of its labels, with explanations.
    let response = classify(
        &server,
        ClassifyRequest {
            topics: vec!["disaster".into()],
            explain: true,
            ..request(MULTI_LABEL)
        },
    )
    .await;
    assert_eq!(
        owned(scores(&response.topics)),
        expected_scores(&model, MULTI_LABEL, None, &[1])
    );
    assert!(response.topics[0].decided);
    assert_eq!(response.labels, ["disaster"]);
    let explained: Vec<&str> = response
        .explanations
        .iter()
        .map(|e| e.topic.as_str())
        .collect();
    assert_eq!(explained, ["disaster"]);
    // Probabilities are not renormalised over the filtered topics.
    let c = model.classify(MULTI_LABEL, None);
    assert_eq!(response.topics[0].probability, c.probabilities[1]);
    assert!(response.topics[0].probability < 1.0);
    server.stop().await;
}

#[tokio::test]
async fn explain_returns_terms_for_each_decided_topic() {
    let (server, model) = start().await;
    let response = classify(
        &server,
        ClassifyRequest {
            explain: true,
            ..request(MULTI_LABEL)
        },
    )
    .await;
    assert_eq!(response.labels, ["conflict", "disaster"]);
    let c = model.classify(MULTI_LABEL, None);
    let topics: Vec<&str> = response
        .explanations
        .iter()
        .map(|e| e.topic.as_str())
        .collect();
    assert_eq!(topics, ["conflict", "disaster"]);
    for e in &response.explanations {
        assert!(!e.terms.is_empty(), "{} has terms", e.topic);
        assert!(e.terms.len() <= 10, "default is 10 terms");
        assert!(e.terms.iter().all(|t| t.weight > 0.0 && !t.term.is_empty()));
        assert!(e.terms.windows(2).all(|w| w[0].weight >= w[1].weight));
        let index = model.topic_index(&e.topic).expect("a model topic");
        let expected = model.explain(&c, index, 10);
        let got: Vec<(String, f64)> = e.terms.iter().map(|t| (t.term.clone(), t.weight)).collect();
        assert_eq!(got, expected, "{}", e.topic);
    }
    // The terms are analysed forms: lowercased and stemmed.
    let conflict_terms: Vec<&str> = response.explanations[0]
        .terms
        .iter()
        .map(|t| t.term.as_str())
        .collect();
    assert!(conflict_terms.contains(&"rebel"), "{conflict_terms:?}");
    server.stop().await;
}

#[tokio::test]
async fn explain_terms_limits_the_count() {
    let (server, model) = start().await;
    let c = model.classify(MULTI_LABEL, None);
    for n in [1u32, 2, 3] {
        let response = classify(
            &server,
            ClassifyRequest {
                explain: true,
                explain_terms: n,
                ..request(MULTI_LABEL)
            },
        )
        .await;
        assert_eq!(response.explanations.len(), 2);
        for e in &response.explanations {
            assert_eq!(
                e.terms.len(),
                n as usize,
                "{} with explain_terms {n}",
                e.topic
            );
            let index = model.topic_index(&e.topic).expect("a model topic");
            let expected: Vec<String> = model
                .explain(&c, index, n as usize)
                .into_iter()
                .map(|(t, _)| t)
                .collect();
            let got: Vec<String> = e.terms.iter().map(|t| t.term.clone()).collect();
            assert_eq!(got, expected);
        }
    }
    // explain_terms alone, without explain, asks for nothing.
    let response = classify(
        &server,
        ClassifyRequest {
            explain_terms: 3,
            ..request(MULTI_LABEL)
        },
    )
    .await;
    assert!(response.explanations.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn french_hint_gives_french_names_and_language() {
    let (server, model) = start().await;
    let response = classify(
        &server,
        ClassifyRequest {
            language: "fr".into(),
            ..request(CONFLICT_EN)
        },
    )
    .await;
    assert_eq!(response.language, "fr");
    assert_eq!(response.topics.len(), 3);
    for t in &response.topics {
        assert_eq!(t.name, format!("{} (fr)", t.topic));
    }
    // The hint changes the analysis (French stop words and stemmer).
    assert_eq!(
        owned(scores(&response.topics)),
        expected_scores(&model, CONFLICT_EN, Some(Lang::Fr), &[0, 1, 2])
    );
    assert_eq!(response.labels, ["conflict"]);

    // An explicit "en" hint on French text: English names.
    let response = classify(
        &server,
        ClassifyRequest {
            language: " EN ".into(),
            ..request(CONFLICT_FR)
        },
    )
    .await;
    assert_eq!(response.language, "en");
    for t in &response.topics {
        assert_eq!(t.name, format!("{} (en)", t.topic));
    }
    server.stop().await;
}

#[tokio::test]
async fn french_text_is_detected_as_french() {
    let (server, model) = start().await;
    let response = classify(&server, request(CONFLICT_FR)).await;
    assert_eq!(response.language, "fr");
    assert_eq!(response.labels, ["conflict"]);
    assert_eq!(response.topics[0].topic, "conflict");
    assert_eq!(response.topics[0].name, "conflict (fr)");
    for t in &response.topics {
        assert_eq!(t.name, format!("{} (fr)", t.topic));
    }
    assert_eq!(
        owned(scores(&response.topics)),
        expected_scores(&model, CONFLICT_FR, None, &[0, 1, 2])
    );
    server.stop().await;
}

#[tokio::test]
async fn text_with_no_known_word_decides_nothing_and_reports_the_prior() {
    let (server, model) = start().await;
    let response = classify(
        &server,
        ClassifyRequest {
            explain: true,
            ..request(UNKNOWN_WORDS)
        },
    )
    .await;
    assert!(response.labels.is_empty(), "{:?}", response.labels);
    assert!(response.explanations.is_empty());
    assert!(response.topics.iter().all(|t| !t.decided));
    // The training prior: topic document counts over their sum. The tiny
    // corpus has 7 conflict, 7 disaster (one of them shared) and 6 other.
    assert_eq!(model.nb().data().topic_doc_counts, [7, 7, 6]);
    assert_eq!(
        scores(&response.topics),
        [
            ("conflict", 7.0 / 20.0),
            ("disaster", 7.0 / 20.0),
            ("other", 6.0 / 20.0)
        ]
    );
    assert_eq!(
        response.language,
        model.classify(UNKNOWN_WORDS, None).language.code()
    );
    // With a hint, the language is the hint's, and the prior is unchanged.
    let hinted = classify(
        &server,
        ClassifyRequest {
            language: "en".into(),
            ..request(UNKNOWN_WORDS)
        },
    )
    .await;
    assert_eq!(hinted.language, "en");
    assert_eq!(scores(&hinted.topics), scores(&response.topics));
    assert!(hinted.labels.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn multi_label_document_gets_both_labels_and_not_the_exclusive_one() {
    let (server, model) = start().await;
    let response = classify(
        &server,
        ClassifyRequest {
            id: "both".into(),
            ..request(MULTI_LABEL)
        },
    )
    .await;
    assert_eq!(response.id, "both");
    assert_eq!(response.labels, ["conflict", "disaster"]);
    let decided: Vec<(&str, bool)> = response
        .topics
        .iter()
        .map(|t| (t.topic.as_str(), t.decided))
        .collect();
    assert_eq!(
        decided,
        [("conflict", true), ("disaster", true), ("other", false)]
    );
    // Both pass their own thresholds, neither is near 1.
    for t in &response.topics[..2] {
        assert!(t.probability >= t.threshold, "{t:?}");
        assert!(t.probability < 0.9, "{t:?}");
    }
    assert_eq!(
        owned(scores(&response.topics)),
        expected_scores(&model, MULTI_LABEL, None, &[0, 1, 2])
    );
    server.stop().await;
}

/// A model with the fallback decision and thresholds of its own for French
/// reports, for each document, the thresholds it applied.
#[tokio::test]
async fn responses_report_the_thresholds_of_the_documents_language() {
    let model = tiny_model();
    let mut data = model.data().clone();
    let (default, exclusive) = match &data.decision {
        docclass::nb::Decision::Thresholds {
            thresholds,
            exclusive,
        } => (thresholds.clone(), exclusive.clone()),
        other => panic!("the tiny model decides by {other:?}"),
    };
    let french: Vec<f64> = default.iter().map(|t| (t / 2.0).max(0.01)).collect();
    data.decision = docclass::nb::Decision::Fallback {
        thresholds: default.clone(),
        exclusive,
        by_language: vec![(Lang::Fr, french.clone())],
    };
    let model = Model::from_data(data).expect("valid");
    let server = TestServer::start(Some(model)).await;
    let mut client = server.client().await;
    for (language, expected) in [("fr", &french), ("en", &default)] {
        let response = client
            .classify(ClassifyRequest {
                text: "Troops clashed with rebels near the border".into(),
                language: language.into(),
                ..Default::default()
            })
            .await
            .expect("classify")
            .into_inner();
        for score in &response.topics {
            let c = TOPICS
                .iter()
                .position(|t| *t == score.topic)
                .expect("known topic");
            assert_eq!(score.threshold, expected[c], "{language} {}", score.topic);
        }
    }
    server.stop().await;
}
