//! Classify (unary) against an in-process server.
mod common;

use common::{TestServer, TOPICS};
use docclass::service::pb::ClassifyRequest;

#[tokio::test]
async fn classify_returns_every_topic_sorted_with_labels_and_version() {
    let model = common::tiny_model();
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
