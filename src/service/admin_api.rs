//! The `docclass.v1.Admin` handlers (behind the admin token): convert the
//! request, call the [`Reloader`], map the error. Each RPC logs one line.
use super::error::ServiceError;
use super::pb;
use super::pb::admin_server::Admin;
use super::reload::{ReloadRequest, Reloader};
use std::sync::Arc;
use std::time::Instant;
use tonic::{Code, Request, Response, Status};

/// Implements the `Admin` service.
#[derive(Clone)]
pub struct AdminApi {
    reloader: Arc<Reloader>,
}

impl AdminApi {
    pub(crate) fn new(reloader: Arc<Reloader>) -> Self {
        Self { reloader }
    }
}

#[tonic::async_trait]
impl Admin for AdminApi {
    async fn reload_model(
        &self,
        request: Request<pb::ReloadModelRequest>,
    ) -> Result<Response<pb::ReloadModelResponse>, Status> {
        let started = Instant::now();
        let request = request.into_inner();
        let result = self
            .reloader
            .reload(ReloadRequest {
                model_path: request.model_path,
                allow_topic_change: request.allow_topic_change,
            })
            .await
            .map_err(ServiceError::from);
        let code = result.as_ref().err().map_or(Code::Ok, ServiceError::code);
        tracing::info!(
            target: "docclass::rpc",
            method = "ReloadModel",
            status = ?code,
            latency_us = started.elapsed().as_micros() as u64,
            "rpc"
        );
        let reloaded = result?;
        Ok(Response::new(pb::ReloadModelResponse {
            model_version: reloaded.model_version,
            previous_model_version: reloaded.previous_version.unwrap_or_default(),
            model_file: reloaded.model_file,
            load_time_ms: u64::try_from(reloaded.load_time.as_millis()).unwrap_or(u64::MAX),
            loaded_at: reloaded.loaded_at,
        }))
    }
}
