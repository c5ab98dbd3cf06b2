//! Everything that serves or calls gRPC, so everything that needs the
//! `service` feature: the in-process server (`docclass::service::Server` on a
//! loopback port) through tonic clients and raw frames, and the real
//! binaries, `docclass-server`, the `docclass` client and `docclass-bench`.
//! One test binary for all of them (one link step instead of one per file);
//! each module is one concern, `common` holds the shared helpers.

mod common;

mod admin_paths;
mod admin_reload;
mod auth;
mod bad_input;
mod batch;
mod bench_cli;
mod classify;
mod client_cli;
mod client_credentials;
mod connections;
mod deadline_shutdown;
mod errors;
mod health_reflection;
mod idle_streams;
mod malformed_messages;
mod metrics;
mod noop;
mod overload;
mod quickstart;
mod rapid_reset;
mod reload_cancel;
mod reload_in_flight;
mod reload_process;
mod server_process;
mod stream;
mod tls;
mod topics_info;
