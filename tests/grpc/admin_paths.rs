//! `Admin.ReloadModel` loads only files inside the model directory: `..`,
//! absolute paths elsewhere, and symlinks that lead out are refused with
//! INVALID_ARGUMENT, and the model in service stays.
use crate::common::admin::*;
use crate::common::{tiny_model, TestServer};
use std::os::unix::fs::symlink;
use tempfile::TempDir;
use tonic::Code;

/// A directory beside the model directory, holding a valid model.
fn outside_dir() -> TempDir {
    let outside = TempDir::new().expect("temp dir");
    tiny_model()
        .save(&outside.path().join("outside.model"))
        .expect("save");
    outside
}

async fn assert_outside(server: &TestServer, model_path: &str, message: &str) {
    let status = reload(server, model_path, false)
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert_eq!(status.message(), message);
    let details = tonic_types::StatusExt::get_error_details(&status);
    let bad_request = details.bad_request().expect("a BadRequest detail");
    assert_eq!(bad_request.field_violations[0].field, "model_path");
    let mut client = server.client().await;
    assert_eq!(serving_version(&mut client).await, FIXTURE_VERSION);
}

#[tokio::test]
async fn parent_traversal_is_refused() {
    let dir = ModelDir::new();
    let outside = outside_dir();
    let server = dir.start().await;
    let name = outside
        .path()
        .file_name()
        .expect("a name")
        .to_string_lossy()
        .into_owned();
    // The file exists: the refusal is about the path, not a missing file.
    let traversal = format!("../{name}/outside.model");
    assert!(dir.path(&traversal).exists());
    assert_outside(
        &server,
        &traversal,
        &format!(
            "model_path {traversal:?}: `..` is not allowed; name a file inside the model directory"
        ),
    )
    .await;
    // `..` that stays inside is refused too: no path games at all.
    assert_outside(
        &server,
        "sub/../current.model",
        "model_path \"sub/../current.model\": `..` is not allowed; name a file inside the model directory",
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn an_absolute_path_outside_is_refused_and_one_inside_is_accepted() {
    let dir = ModelDir::new();
    let outside = outside_dir();
    let server = dir.start().await;
    let absolute = outside.path().join("outside.model");
    let absolute = absolute.to_str().expect("UTF-8 temp path");
    assert_outside(
        &server,
        absolute,
        &format!("model_path {absolute:?} resolves outside the model directory"),
    )
    .await;
    assert_outside(
        &server,
        "/etc/passwd",
        "model_path \"/etc/passwd\" resolves outside the model directory",
    )
    .await;
    let inside = dir.path(CURRENT);
    let reloaded = reload(&server, inside.to_str().expect("UTF-8"), false)
        .await
        .expect("an absolute path inside the directory is fine");
    assert_eq!(reloaded.model_version, FIXTURE_VERSION);
    server.stop().await;
}

#[tokio::test]
async fn symlinks_that_escape_are_refused() {
    let dir = ModelDir::new();
    let outside = outside_dir();
    symlink(
        outside.path().join("outside.model"),
        dir.path("escape.model"),
    )
    .expect("symlink");
    symlink(outside.path(), dir.path("linked-dir")).expect("symlink");
    let server = dir.start().await;
    assert_outside(
        &server,
        "escape.model",
        "model_path \"escape.model\" resolves outside the model directory",
    )
    .await;
    assert_outside(
        &server,
        "linked-dir/outside.model",
        "model_path \"linked-dir/outside.model\" resolves outside the model directory",
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn a_symlink_inside_the_directory_is_followed() {
    let dir = ModelDir::new();
    tiny_model().save(&dir.path("2026-05.model")).expect("save");
    symlink(dir.path("2026-05.model"), dir.path("latest.model")).expect("symlink");
    let server = dir.start().await;
    let reloaded = reload(&server, "latest.model", false)
        .await
        .expect("a link to a file inside is fine");
    assert_eq!(reloaded.model_version, tiny_model().version());
    // The model file is the one the link resolves to.
    assert_eq!(reloaded.model_file, "2026-05.model");
    server.stop().await;
}

#[tokio::test]
async fn the_directory_itself_is_not_a_model() {
    let dir = ModelDir::new();
    let server = dir.start().await;
    assert_outside(
        &server,
        ".",
        "model_path \".\" resolves outside the model directory",
    )
    .await;
    server.stop().await;
}
