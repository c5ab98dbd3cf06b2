//! ListTopics and GetModelInfo: the model's topics, provenance and metrics.
use crate::common::{tiny_documents, tiny_model, TestServer, TOPICS};
use docclass::model::FORMAT_VERSION;
use docclass::service::pb::{
    GetModelInfoRequest, ListTopicsRequest, TopicCount, TopicMetric, TrainingCorpus,
};

async fn model_info(server: &TestServer) -> docclass::service::pb::ModelInfo {
    server
        .client()
        .await
        .get_model_info(GetModelInfoRequest {})
        .await
        .expect("model info")
        .into_inner()
}

#[tokio::test]
async fn list_topics_reports_ids_names_exclusivity_thresholds_and_counts() {
    let model = tiny_model();
    let version = model.version().to_string();
    let thresholds: Vec<f64> = (0..TOPICS.len())
        .map(|c| model.decision().threshold(c).expect("a thresholds model"))
        .collect();
    let server = TestServer::start(Some(model)).await;
    let response = server
        .client()
        .await
        .list_topics(ListTopicsRequest {})
        .await
        .expect("list topics")
        .into_inner();
    assert_eq!(response.model_version, version);
    let ids: Vec<&str> = response.topics.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, TOPICS, "model order, not alphabetical or by count");
    for (c, t) in response.topics.iter().enumerate() {
        assert_eq!(t.name_en, format!("{} (en)", t.id));
        assert_eq!(t.name_fr, format!("{} (fr)", t.id));
        assert_eq!(t.description, format!("about {}", t.id));
        assert_eq!(t.exclusive, t.id == "other", "{t:?}");
        assert_eq!(t.threshold, thresholds[c], "{t:?}");
        assert!(t.threshold > 0.0 && t.threshold < 1.0, "{t:?}");
    }
    // The tiny corpus: 6 documents per topic, plus one labelled both
    // conflict and disaster.
    let counts: Vec<(&str, u64)> = response
        .topics
        .iter()
        .map(|t| (t.id.as_str(), t.training_documents))
        .collect();
    assert_eq!(counts, [("conflict", 7), ("disaster", 7), ("other", 6)]);
    server.stop().await;
}

#[tokio::test]
async fn model_info_reports_version_provenance_hyperparameters_and_metrics() {
    let model = tiny_model();
    let version = model.version().to_string();
    let features = model.features().n_features() as u64;
    let held_out = model
        .data()
        .provenance
        .held_out
        .clone()
        .expect("trained with k-fold validation");
    let server = TestServer::start(Some(model)).await;
    let info = model_info(&server).await;

    assert_eq!(info.model_version, version);
    assert_eq!(info.model_file, "tiny.model");
    assert_eq!(info.created_at, "2026-01-01T00:00:00Z");
    assert_eq!(info.trainer_version, env!("CARGO_PKG_VERSION"));
    assert_eq!(info.format_version, FORMAT_VERSION);
    assert_eq!(info.loaded_at, "2026-01-01T00:00:00Z");
    assert_eq!(info.features, features);
    assert!(info.features > 0);

    let documents = tiny_documents();
    assert_eq!(documents.len(), 19);
    assert_eq!(
        info.training_corpus,
        Some(TrainingCorpus {
            sha256: docclass::train::corpus_hash(&documents),
            documents: 19,
            topic_documents: vec![
                TopicCount {
                    topic: "conflict".into(),
                    documents: 7
                },
                TopicCount {
                    topic: "disaster".into(),
                    documents: 7
                },
                TopicCount {
                    topic: "other".into(),
                    documents: 6
                },
            ],
        })
    );
    let sha = &info.training_corpus.as_ref().expect("corpus").sha256;
    assert_eq!(sha.len(), 64);
    assert!(sha
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));

    let json: serde_json::Value =
        serde_json::from_str(&info.hyperparameters_json).expect("hyperparameters are JSON");
    assert_eq!(json["validation"], serde_json::json!({ "k_fold": 3 }));
    assert_eq!(json["seed"], 42);
    assert_eq!(json["decision"], "auto");
    assert_eq!(json["nb"]["variant"], "complement");
    assert_eq!(
        json["features"]["mode"],
        serde_json::json!({ "vocabulary": { "min_df": 1, "max_df": 1.0, "max_features": null } })
    );
    let topic_ids: Vec<&str> = json["topics"]
        .as_array()
        .expect("topics")
        .iter()
        .map(|t| t["id"].as_str().expect("id"))
        .collect();
    assert_eq!(topic_ids, TOPICS);
    assert_eq!(json["topics"][2]["exclusive"], true);
    assert!(json.get("created_at").is_none(), "not a hyperparameter");

    let h = info.held_out.expect("held-out metrics");
    // K-fold scores every training document once, out of fold.
    assert_eq!(h.documents, 19);
    assert_eq!(h.accuracy, held_out.accuracy);
    assert_eq!(h.macro_f1, held_out.macro_f1);
    assert_eq!(h.micro_f1, held_out.micro_f1);
    assert_eq!(h.topics.len(), 3);
    assert_eq!(
        h.topics,
        TOPICS
            .iter()
            .zip(&held_out.topic_f1)
            .map(|(t, &f1)| TopicMetric {
                topic: t.to_string(),
                f1
            })
            .collect::<Vec<_>>()
    );
    for m in [h.accuracy, h.macro_f1, h.micro_f1]
        .into_iter()
        .chain(h.topics.iter().map(|t| t.f1))
    {
        assert!((0.0..=1.0).contains(&m), "{m}");
    }
    server.stop().await;
}

#[tokio::test]
async fn model_info_has_no_held_out_metrics_without_validation() {
    let model = tiny_model();
    let mut data = model.data().clone();
    data.provenance.held_out = None;
    let model = docclass::model::Model::from_data(data).expect("valid");
    let server = TestServer::start(Some(model)).await;
    let info = model_info(&server).await;
    assert_eq!(info.held_out, None);
    server.stop().await;
}

#[tokio::test]
async fn model_info_reports_named_evaluations_by_topic() {
    let mut model = tiny_model();
    let documents = tiny_documents();
    let evaluation = docclass::train::evaluate_named(&model, "real-news test (en)", &documents)
        .expect("the tiny corpus scores");
    model.add_evaluation(evaluation.clone());
    let server = TestServer::start(Some(model)).await;
    let info = model_info(&server).await;
    assert_eq!(info.evaluations.len(), 1);
    let e = &info.evaluations[0];
    assert_eq!(e.name, "real-news test (en)");
    assert_eq!(e.corpus_sha256, evaluation.corpus_sha256);
    let m = e.metrics.as_ref().expect("metrics");
    assert_eq!(m.documents, documents.len() as u64);
    assert_eq!(m.macro_f1, evaluation.metrics.macro_f1);
    let topics: Vec<&str> = m.topics.iter().map(|t| t.topic.as_str()).collect();
    assert_eq!(topics, TOPICS);
    server.stop().await;
}

#[tokio::test]
async fn model_info_has_no_evaluations_for_a_model_scored_on_none() {
    let server = TestServer::start(Some(tiny_model())).await;
    let info = model_info(&server).await;
    assert!(info.evaluations.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn model_info_says_how_probabilities_are_made_and_what_em_learned_from() {
    // The tiny model keeps raw posteriors and learned from labelled text only.
    let server = TestServer::start(Some(tiny_model())).await;
    let info = model_info(&server).await;
    assert_eq!(info.calibration, "none");
    assert_eq!(info.semi_supervised, None);
    server.stop().await;

    // Per-topic calibration and EM with unlabelled documents.
    let unlabelled: Vec<docclass::corpus::Document> = tiny_documents()
        .into_iter()
        .map(|mut d| {
            d.id = format!("pool-{}", d.id);
            d.text = format!("{} today", d.text);
            d.labels.clear();
            d
        })
        .collect();
    let mut options = docclass::train::TrainOptions {
        validation: docclass::train::Validation::KFold(3),
        calibration: docclass::train::CalibrationMethod::Platt,
        semi_supervised: Some(docclass::train::SemiSupervisedOptions {
            lambda: 0.5,
            max_iterations: 3,
            ..Default::default()
        }),
        ..Default::default()
    };
    options.features.mode = docclass::features::FeatureMode::Vocabulary {
        min_df: 1,
        max_df: 1.0,
        max_features: None,
    };
    let (model, _) = docclass::train::train_with_unlabelled(
        &tiny_documents(),
        &unlabelled,
        &options,
        &docclass::train::Silent,
    )
    .expect("trains with unlabelled documents");
    let server = TestServer::start(Some(model)).await;
    let info = model_info(&server).await;
    assert_eq!(info.calibration, "platt");
    let semi = info.semi_supervised.expect("a semi-supervised record");
    assert_eq!(semi.documents, unlabelled.len() as u64);
    assert_eq!(semi.lambda, 0.5);
    assert_eq!(semi.max_iterations, 3);
    assert!((1..=3).contains(&semi.iterations), "{semi:?}");
    assert_eq!(
        semi.corpus_sha256,
        docclass::train::corpus_hash(&unlabelled)
    );
    server.stop().await;
}
