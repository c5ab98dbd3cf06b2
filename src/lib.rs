//! docclass: the classification core, with no async runtime in it.
//!
//! Two paths run through the same code:
//!
//! ```text
//! training: corpus::read_path ─► text::Analyzer ─► features ─► nb (fit, or em) ─► calibration ─► Model::save
//! serving:  request           ─► text::Analyzer ─► features ─► FittedNb::joint_log_likelihood ─► calibration ─► Decision
//! ```
//!
//! The analyzer and feature configuration are saved in the model file, so serving
//! always analyses text exactly as training did. See `docs/ARCHITECTURE.md`.
//!
//! Around the core, each behind a Cargo feature (all on by default):
//! `service` (the gRPC layer), `cli` (what the binaries share) and `loadgen`
//! (the load generator behind `docclass-bench`).

#[cfg(feature = "cli")]
pub mod cli;
pub mod corpus;
pub mod eval;
pub mod features;
pub mod hash;
#[cfg(feature = "loadgen")]
pub mod loadgen;
pub mod model;
pub mod nb;
pub mod parallel;
pub mod predict;
pub mod rng;
mod scratch;
#[cfg(feature = "service")]
pub mod service;
pub mod text;
pub mod train;
