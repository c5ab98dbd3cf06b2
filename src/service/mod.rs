//! The gRPC layer (feature `service`): generated proto code, the `Classifier`
//! handler, conversions between proto messages and the core, the one mapping
//! from errors to `tonic::Status`, and the server assembly (health,
//! reflection, limits, logging, graceful shutdown).
//!
//! Handlers stay thin: validate → convert → call `Model::classify` → map the
//! error. Nothing here knows about file formats or Naive Bayes.

pub mod pb {
    //! Code generated from `proto/docclass/v1/` (`classifier.proto`, and
    //! `bench.proto` for the optional `Transport/Noop`).
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("docclass.v1");

    /// Encoded descriptor set of our protos, for server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/docclass_descriptor.bin"));
}

mod classifier_api;
mod conversions;
mod error;
mod noop_api;
mod server;
mod state;

pub use classifier_api::ClassifierApi;
pub use error::{code_name, ServiceError};
pub use noop_api::NoopApi;
pub use server::{Server, ServerError};
pub use state::SERVICE_NAME;
pub use state::{Limits, LoadedModel, ModelHandle};
