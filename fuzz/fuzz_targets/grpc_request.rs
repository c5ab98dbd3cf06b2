//! Fuzz target `grpc_request`: arbitrary bytes as the protobuf message of a
//! `Classify`, `ClassifyBatch` or `ClassifyStream` call to the server's
//! `Classifier` service, called in-process (small limits, the tiny test
//! model; see `grpc_harness.rs`), so the bytes go through tonic's decoding,
//! the service's validation and conversion, and `Model::classify`.
//!
//! Input: byte 0 picks the RPC; the rest is the message, sent unchanged.
//! Oracle: prost decodes the same bytes locally. Bytes prost refuses must be
//! refused (INTERNAL, or INVALID_ARGUMENT naming the field); a message that
//! decodes is either answered or refused as INVALID_ARGUMENT, and an answer
//! must be consistent with the request and, for plain requests, with the
//! in-process model.
#![no_main]

#[path = "grpc_harness.rs"]
mod grpc_harness;

use docclass::service::pb;
use grpc_harness::{check_response, exchange, raw_grpc, Harness, HARNESS};
use libfuzzer_sys::fuzz_target;
use tonic::Code;

async fn classify(h: &Harness, message: &[u8]) {
    let exchanged =
        exchange::<pb::ClassifyRequest, pb::ClassifyResponse>(h, raw_grpc::CLASSIFY, message);
    match exchanged.await {
        None => {}
        Some((req, Err(status))) => {
            assert_eq!(status.code(), Code::InvalidArgument, "{req:?}: {status:?}")
        }
        Some((req, Ok(resp))) => check_response(&h.reference, &req, &resp),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, message)) = data.split_first() else {
        return;
    };
    let h = &*HARNESS;
    match selector % 3 {
        0 => h.runtime.block_on(classify(h, message)),
        1 => h.runtime.block_on(grpc_harness::classify_batch(h, message)),
        _ => h
            .runtime
            .block_on(grpc_harness::classify_stream(h, vec![message.to_vec()])),
    }
});
