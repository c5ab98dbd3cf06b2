//! Request messages and outcome accessors that many test modules need.

use docclass::service::pb::classify_outcome::Outcome;
use docclass::service::pb::{ClassifyOutcome, ClassifyRequest, ClassifyResponse, DocumentError};

/// A request with only its text.
pub fn request(text: &str) -> ClassifyRequest {
    ClassifyRequest {
        text: text.into(),
        ..Default::default()
    }
}

/// A request with an id (echoed in the outcome) and its text.
pub fn request_with_id(id: &str, text: &str) -> ClassifyRequest {
    ClassifyRequest {
        id: id.into(),
        text: text.into(),
        ..Default::default()
    }
}

/// The result in a batch or stream outcome; panics on an error.
pub fn result(outcome: &ClassifyOutcome) -> &ClassifyResponse {
    match &outcome.outcome {
        Some(Outcome::Result(r)) => r,
        other => panic!("expected a result at {}, got {other:?}", outcome.index),
    }
}

/// The per-document error in a batch or stream outcome; panics on a result.
pub fn error(outcome: &ClassifyOutcome) -> &DocumentError {
    match &outcome.outcome {
        Some(Outcome::Error(e)) => e,
        other => panic!("expected an error at {}, got {other:?}", outcome.index),
    }
}
