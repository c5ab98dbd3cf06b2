//! The gRPC layer (feature `service`): generated proto code, the `Classifier`
//! and `Admin` handlers, conversions between proto messages and the core, the
//! one mapping from errors to `tonic::Status`, model reload, admission and
//! metrics, bearer tokens, the server assembly (health, reflection,
//! limits, TLS, logging, graceful shutdown), and how a client connects
//! (`client`).
//!
//! Handlers stay thin: validate → convert → call `Model::classify` → map the
//! error. Nothing here knows about file formats or Naive Bayes.

pub mod pb {
    //! Code generated from `proto/docclass/v1/*.proto` (`bench.proto` holds
    //! the optional `Transport/Noop`).
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("docclass.v1");
    include!(concat!(env!("OUT_DIR"), "/client/docclass.v1.rs"));

    /// Encoded descriptor set of our protos, for server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/docclass_descriptor.bin"));
}

mod admin_api;
mod auth;
mod classifier_api;
pub mod client;
mod codec;
mod conversions;
mod error;
mod incoming;
mod metrics;
mod metrics_http;
mod noop_api;
mod reload;
mod request_body;
mod rpc_layer;
mod server;
mod state;
mod streams;
mod workers;

pub use admin_api::AdminApi;
pub use auth::{Secret, Security};
pub use classifier_api::ClassifierApi;
pub use error::{code_name, ServiceError};
pub use metrics::Metrics;
pub use metrics_http::serve_metrics;
pub use noop_api::NoopApi;
pub use reload::{ModelFiles, ModelLoader, ReloadError, ReloadRequest, Reloaded, Reloader};
pub use server::{HealthOnly, Server, ServerError, TlsConfig};
pub use state::SERVICE_NAME;
pub use state::{Limits, LoadedModel, ModelHandle, WorkerHook};
