//! Hot model reload through `Admin.ReloadModel`: the new version answers
//! every RPC; a file that fails to load, or changes the topics, leaves the
//! old model serving and says why; reloads run one at a time.
use crate::common::admin::*;
use crate::common::messages::request;
use crate::common::{tiny_model, tiny_model_with_misc_topic, TestServer};
use docclass::service::pb::classify_outcome::Outcome;
use docclass::service::pb::{ClassifyBatchRequest, GetModelInfoRequest, ListTopicsRequest};
use docclass::service::{Limits, Security, Server};
use std::time::Duration;
use tonic::Code;

/// Saves the tiny model trained in the test (same topics as the fixture,
/// another version) as `name`, and returns its version.
fn save_tiny(dir: &ModelDir, name: &str) -> String {
    let model = tiny_model();
    model.save(&dir.path(name)).expect("save");
    model.version().to_string()
}

#[tokio::test]
async fn reload_puts_the_new_version_in_every_response() {
    let dir = ModelDir::new();
    let new_version = save_tiny(&dir, "next.model");
    assert_ne!(new_version, FIXTURE_VERSION);
    let server = dir.start().await;
    let mut client = server.client().await;
    assert_eq!(serving_version(&mut client).await, FIXTURE_VERSION);

    // A stream opened before the reload: each message is answered by the
    // model in service when it arrives.
    let mut stream = OpenStream::open(&mut client).await;
    assert_eq!(
        stream.round_trip("Troops clashed with militia").await,
        FIXTURE_VERSION
    );

    let reloaded = reload(&server, "next.model", false).await.expect("reload");
    assert_eq!(reloaded.model_version, new_version);
    assert_eq!(reloaded.previous_model_version, FIXTURE_VERSION);
    assert_eq!(reloaded.model_file, "next.model");
    assert_eq!(reloaded.loaded_at.len(), "2026-01-01T00:00:00Z".len());

    assert_eq!(
        stream.round_trip("Floods displaced thousands").await,
        new_version
    );
    stream.close().await;

    assert_eq!(serving_version(&mut client).await, new_version);
    let batch = client
        .classify_batch(ClassifyBatchRequest {
            documents: vec![request("Aid agencies delivered food")],
        })
        .await
        .expect("batch")
        .into_inner();
    assert_eq!(batch.model_version, new_version);
    let Some(Outcome::Result(result)) = &batch.outcomes[0].outcome else {
        panic!("expected a result");
    };
    assert_eq!(result.model_version, new_version);
    let topics = client
        .list_topics(ListTopicsRequest {})
        .await
        .expect("topics")
        .into_inner();
    assert_eq!(topics.model_version, new_version);
    let info = client
        .get_model_info(GetModelInfoRequest {})
        .await
        .expect("info")
        .into_inner();
    assert_eq!(info.model_version, new_version);
    assert_eq!(info.model_file, "next.model");
    assert_eq!(info.loaded_at, reloaded.loaded_at);
    server.stop().await;
}

#[tokio::test]
async fn an_empty_path_reloads_the_file_in_service() {
    let dir = ModelDir::new();
    let server = dir.start().await;
    let mut client = server.client().await;
    // Replace the file in place (atomic rename, as docclass-train writes it).
    let new_version = save_tiny(&dir, CURRENT);
    let reloaded = reload(&server, "", false).await.expect("reload");
    assert_eq!(reloaded.model_version, new_version);
    assert_eq!(reloaded.previous_model_version, FIXTURE_VERSION);
    assert_eq!(reloaded.model_file, CURRENT);
    assert_eq!(serving_version(&mut client).await, new_version);
    server.stop().await;
}

/// Asserts the reload of `name` fails with `code` and `message`, and the
/// fixture still answers.
async fn assert_refused(server: &TestServer, name: &str, code: Code, message: &str) {
    let status = reload(server, name, false)
        .await
        .expect_err("the reload is refused");
    assert_eq!(status.code(), code, "{status:?}");
    assert_eq!(status.message(), message);
    let mut client = server.client().await;
    assert_eq!(serving_version(&mut client).await, FIXTURE_VERSION);
}

#[tokio::test]
async fn a_file_that_fails_to_load_keeps_the_old_model_serving() {
    let dir = ModelDir::new();
    let good = std::fs::read(dir.path(CURRENT)).expect("read");
    let mut corrupt = good.clone();
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0xff;
    dir.write("corrupt.model", &corrupt);
    dir.write("truncated.model", &good[..good.len() / 2]);
    let mut future = good.clone();
    future[8..12].copy_from_slice(&99u32.to_le_bytes());
    dir.write("future.model", &future);
    dir.write("notes.txt", b"not a model at all");
    let server = dir.start().await;

    assert_refused(
        &server,
        "corrupt.model",
        Code::FailedPrecondition,
        "cannot load \"corrupt.model\": model file is corrupt: checksum mismatch; the previous model stays in service",
    )
    .await;
    assert_refused(
        &server,
        "truncated.model",
        Code::FailedPrecondition,
        &format!(
            "cannot load \"truncated.model\": model file is truncated: expected {} bytes, found {}; the previous model stays in service",
            good.len(),
            good.len() / 2
        ),
    )
    .await;
    assert_refused(
        &server,
        "future.model",
        Code::FailedPrecondition,
        "cannot load \"future.model\": model file format version 99 is not supported (this build reads versions 1 to 5); the previous model stays in service",
    )
    .await;
    assert_refused(
        &server,
        "notes.txt",
        Code::FailedPrecondition,
        "cannot load \"notes.txt\": not a docclass model: wrong magic number (expected \"DOCCLASS\"); the previous model stays in service",
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn a_topic_change_needs_allow_topic_change() {
    let dir = ModelDir::new();
    let misc = tiny_model_with_misc_topic();
    misc.save(&dir.path("misc.model")).expect("save");
    let server = dir.start().await;
    assert_refused(
        &server,
        "misc.model",
        Code::FailedPrecondition,
        "\"misc.model\" has topics [conflict, disaster, misc], the serving model has [conflict, disaster, other]; set allow_topic_change to accept; the previous model stays in service",
    )
    .await;
    let reloaded = reload(&server, "misc.model", true)
        .await
        .expect("accepted with allow_topic_change");
    assert_eq!(reloaded.model_version, misc.version());
    let mut client = server.client().await;
    assert_eq!(serving_version(&mut client).await, misc.version());
    server.stop().await;
}

#[tokio::test]
async fn a_missing_file_is_invalid_argument_and_names_the_field() {
    let dir = ModelDir::new();
    let server = dir.start().await;
    let status = reload(&server, "absent.model", false)
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status
            .message()
            .starts_with("model_path \"absent.model\": no such file in the model directory ("),
        "{}",
        status.message()
    );
    let details = tonic_types::StatusExt::get_error_details(&status);
    let bad_request = details.bad_request().expect("a BadRequest detail");
    assert_eq!(bad_request.field_violations[0].field, "model_path");
    server.stop().await;
}

#[tokio::test]
async fn without_a_model_directory_reload_is_failed_precondition() {
    use docclass::service::pb::ReloadModelRequest;
    use docclass::service::Secret;
    let server = Server::new(Limits::default(), Duration::from_secs(30))
        .await
        .with_security(Security {
            admin_token: Secret::new(ADMIN_TOKEN),
            client_token: None,
        });
    let server = TestServer::start_built(server, Some(tiny_model())).await;
    let status = admin(&server)
        .await
        .reload_model(with_token(ReloadModelRequest::default(), ADMIN_TOKEN))
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(
        status.message(),
        "model_path: the server has no model directory configured, so it cannot reload"
    );
    server.stop().await;
}

#[tokio::test]
async fn concurrent_reloads_run_one_at_a_time() {
    use docclass::service::pb::ReloadModelRequest;
    let dir = ModelDir::new();
    let new_version = save_tiny(&dir, "next.model");
    let server = dir.start().await;
    let client = admin(&server).await;
    // Eight reloads of the same file at once. One at a time, exactly one of
    // them replaces the fixture; the others replace the new model by itself.
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let mut client = client.clone();
            tokio::spawn(async move {
                client
                    .reload_model(with_token(
                        ReloadModelRequest {
                            model_path: "next.model".into(),
                            allow_topic_change: false,
                        },
                        ADMIN_TOKEN,
                    ))
                    .await
            })
        })
        .collect();
    let mut previous = Vec::new();
    for task in tasks {
        let response = task.await.expect("task").expect("reload").into_inner();
        assert_eq!(response.model_version, new_version);
        previous.push(response.previous_model_version);
    }
    assert_eq!(
        previous.iter().filter(|v| *v == FIXTURE_VERSION).count(),
        1,
        "{previous:?}"
    );
    assert_eq!(
        previous.iter().filter(|v| **v == new_version).count(),
        7,
        "{previous:?}"
    );
    server.stop().await;
}
