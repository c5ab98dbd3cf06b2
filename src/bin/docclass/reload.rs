//! `docclass reload`: asks the server to load a model file (`Admin/ReloadModel`)
//! with the admin token, and prints the version now in service.
use crate::connection::{read_bearer, status_line, Connection, Refusal};
use crate::output::{emit_json, fields};
use anyhow::Result;
use clap::Args;
use docclass::cli;
use docclass::service::pb;
use docclass::service::pb::admin_client::AdminClient;
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::Code;

#[derive(Debug, Args)]
pub struct ReloadArgs {
    /// Model file to load, relative to the server's model directory; without it, the file in service is read again.
    #[arg(long, value_name = "P")]
    path: Option<String>,
    /// Accept a model whose topics differ from those of the model in service.
    #[arg(long)]
    allow_topic_change: bool,
    /// File holding the admin token (or set DOCCLASS_ADMIN_TOKEN to the token itself).
    #[arg(long, env = "DOCCLASS_ADMIN_TOKEN_FILE", value_name = "FILE")]
    admin_token_file: Option<PathBuf>,
    /// Print the response as JSON.
    #[arg(long)]
    json: bool,
}

/// The admin token's `authorization` value and where it came from. Read
/// before connecting: without one the server would refuse the call.
pub struct AdminToken(MetadataValue<Ascii>, String);

pub fn read_admin_token(args: &ReloadArgs) -> Result<AdminToken> {
    match read_bearer(
        args.admin_token_file.as_deref(),
        "--admin-token-file",
        "DOCCLASS_ADMIN_TOKEN",
    )? {
        Some((value, source)) => Ok(AdminToken(value, source)),
        None => Err(no_admin_token()),
    }
}

fn no_admin_token() -> anyhow::Error {
    Refusal::TokenMissing.because(
        "reload needs the admin token: give --admin-token-file FILE or set DOCCLASS_ADMIN_TOKEN",
    )
}

/// Calls ReloadModel with `token` (from [`read_admin_token`]).
pub async fn reload(
    conn: &Connection,
    args: &ReloadArgs,
    token: Option<AdminToken>,
) -> Result<ExitCode> {
    let AdminToken(value, source) = token.ok_or_else(no_admin_token)?;
    let mut request = conn.request(pb::ReloadModelRequest {
        model_path: args.path.clone().unwrap_or_default(),
        allow_topic_change: args.allow_topic_change,
    });
    // The admin token, not the client token, authorises this call.
    request.metadata_mut().insert("authorization", value);
    let response = AdminClient::new(conn.channel.clone())
        .reload_model(request)
        .await
        .map_err(|status| match status.code() {
            Code::Unauthenticated => Refusal::AdminTokenRefused.because(format!(
                "the server refused the admin token from {source}: {}",
                status_line(status.code(), status.message())
            )),
            Code::PermissionDenied => {
                Refusal::AdminDisabled.because(status_line(status.code(), status.message()))
            }
            _ => conn.call_error(status),
        })?
        .into_inner();
    if args.json {
        emit_json(&json!({
            "model_version": response.model_version,
            "previous_model_version": response.previous_model_version,
            "model_file": response.model_file,
            "load_time_ms": response.load_time_ms,
            "loaded_at": response.loaded_at,
        }))?;
    } else {
        cli::emit(&fields(&[
            ("model version", response.model_version),
            ("previous version", response.previous_model_version),
            ("model file", response.model_file),
            ("load time", format!("{} ms", response.load_time_ms)),
            ("loaded at", response.loaded_at),
        ]))?;
    }
    Ok(ExitCode::SUCCESS)
}
