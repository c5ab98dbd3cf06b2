//! `docclass health`: the server's gRPC health status for a service.
use crate::connection::Connection;
use anyhow::Result;
use docclass::cli;
use std::process::ExitCode;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

pub async fn health(conn: &Connection, service: &str) -> Result<ExitCode> {
    let response = HealthClient::new(conn.channel.clone())
        .check(conn.request(HealthCheckRequest {
            service: service.to_string(),
        }))
        .await
        .map_err(|s| conn.status_error(s))?
        .into_inner();
    let status = ServingStatus::try_from(response.status);
    let name = match status {
        Ok(s) => s.as_str_name().to_string(),
        Err(_) => format!("UNKNOWN_STATUS({})", response.status),
    };
    cli::emit(&format!("{name}\n"))?;
    Ok(if status == Ok(ServingStatus::Serving) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
