//! Fuzz target `grpc_batch_stream`: several `ClassifyRequest` messages at
//! once, as the documents of one `ClassifyBatch` or the messages of one
//! `ClassifyStream`, sent to the server's `Classifier` service in-process
//! (see `grpc_harness.rs`). Each message goes through the same decode →
//! validate → convert → classify path as a unary call; this target adds what
//! only several messages reach: per-document errors beside results, the
//! batch limit, the order and indices of outcomes, and a stream's chunking
//! of messages already received (more than 32 at once) and its end after a
//! message that does not decode.
//!
//! Input: byte 0 is a selector; the rest is split at each `--8<--` into
//! encoded `ClassifyRequest`s, sent unchanged. Selector bit 0: 0 a batch
//! (each message becomes one `documents` entry), 1 a stream. Bits 1–2 repeat
//! the list of messages: 1 or 2 times for a batch, 1, 2, 5 or 40 times for a
//! stream.
//! Oracle (`grpc_harness.rs`): a batch whose bytes prost refuses is refused;
//! one that decodes is answered, or refused as INVALID_ARGUMENT only over the
//! batch limit, with one outcome per document, in order, each a consistent
//! result or an INVALID_ARGUMENT naming `documents[i]`. A stream answers
//! each message up to the first one prost refuses, in order, then ends: with
//! a decode refusal after such a message, else cleanly.
#![no_main]

#[path = "grpc_harness.rs"]
mod grpc_harness;

use grpc_harness::HARNESS;
use libfuzzer_sys::fuzz_target;

const SEPARATOR: &[u8] = b"--8<--";

/// Messages on one stream, at most, whatever the repetition.
const MAX_STREAM_MESSAGES: usize = 200;

/// `data` cut at each [`SEPARATOR`].
fn split_messages(data: &[u8]) -> Vec<&[u8]> {
    let mut messages = Vec::new();
    let mut rest = data;
    while let Some(at) = rest.windows(SEPARATOR.len()).position(|w| w == SEPARATOR) {
        messages.push(&rest[..at]);
        rest = &rest[at + SEPARATOR.len()..];
    }
    messages.push(rest);
    messages
}

/// A `ClassifyBatchRequest` whose `documents` (field 1) are `documents`,
/// encoded by hand so that bytes prost would refuse go out unchanged.
fn batch_message<'a>(documents: impl Iterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut message = Vec::new();
    for document in documents {
        message.push(1 << 3 | 2);
        prost::encoding::encode_varint(document.len() as u64, &mut message);
        message.extend_from_slice(document);
    }
    message
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let messages = split_messages(rest);
    let h = &*HARNESS;
    let repeat = usize::from(selector >> 1 & 3);
    if selector & 1 == 0 {
        let times = 1 + repeat % 2;
        let message = batch_message(
            messages
                .iter()
                .copied()
                .cycle()
                .take(times * messages.len()),
        );
        h.runtime
            .block_on(grpc_harness::classify_batch(h, &message));
    } else {
        let times = [1, 2, 5, 40][repeat];
        let stream: Vec<Vec<u8>> = messages
            .iter()
            .map(|m| m.to_vec())
            .cycle()
            .take((times * messages.len()).min(MAX_STREAM_MESSAGES))
            .collect();
        h.runtime.block_on(grpc_harness::classify_stream(h, stream));
    }
});
