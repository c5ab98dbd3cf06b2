//! Service errors and the single place where they become gRPC statuses.
use super::pb;
use super::reload::ReloadError;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// Characters of a caller-supplied value an error message shows.
pub(crate) const SHOWN_CHARS: usize = 64;

/// A caller-supplied value as an error message shows it: quoted and escaped
/// once (`{:?}`), cut after [`SHOWN_CHARS`] characters with its full length
/// said, so that an error never echoes a large or hostile value back into
/// response headers (where gRPC carries the message, and again in the
/// `BadRequest` details).
pub(crate) fn shown(value: &str) -> String {
    match value.char_indices().nth(SHOWN_CHARS) {
        None => format!("{value:?}"),
        Some((cut, _)) => format!("{:?}… (cut; {} bytes)", &value[..cut], value.len()),
    }
}

/// What can go wrong with a request. Every variant that blames a request
/// field names it, and becomes a `BadRequest` field violation.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ServiceError {
    #[error("{field} is empty or only whitespace; send the document's text")]
    EmptyText { field: String },
    #[error("{field} is {size} bytes{}, over the limit of {limit} bytes (the server's --max-text-bytes)", if *with_title { " with the title" } else { "" })]
    TextTooLarge {
        field: String,
        size: usize,
        limit: usize,
        with_title: bool,
    },
    #[error("{field} is {size} bytes as sent, but over the limit of {limit} bytes once NFKC-normalised (the limit, the server's --max-text-bytes, applies to the text as analysed)")]
    NormalizedTextTooLarge {
        field: String,
        size: usize,
        limit: usize,
    },
    #[error("batch has {size} documents, over the limit of {limit} (the server's --max-batch)")]
    BatchTooLarge { size: usize, limit: usize },
    /// `topic` is the value as [`shown`]: the request's own string is never
    /// kept whole in an error.
    #[error("{field}: unknown topic {topic} (known topics: {known})")]
    UnknownTopic {
        field: String,
        topic: String,
        known: String,
    },
    #[error("{field} is {size} bytes, over the limit of {limit} bytes")]
    FieldTooLong {
        field: String,
        size: usize,
        limit: usize,
    },
    /// A request that prost could not decode; `field` is the path from the
    /// request down (`documents.text`), empty when no field is at fault.
    #[error("the request does not decode as protobuf: {}{reason}", if field.is_empty() { String::new() } else { format!("{field}: ") })]
    Undecodable { field: String, reason: String },
    #[error("{field}: {reason}")]
    InvalidLanguage { field: String, reason: String },
    #[error("{field} is {value}, over the maximum of {max}")]
    TooManyExplainTerms { field: String, value: u32, max: u32 },
    #[error("the request message is {size} bytes, over this method's limit of {limit} bytes for one document: the server's --max-text-bytes ({}) for title and text, plus {room} for the other fields", limit.saturating_sub(*room))]
    MessageTooLarge {
        size: usize,
        limit: usize,
        room: usize,
    },
    #[error("no model is loaded yet; retry when the health check reports SERVING")]
    ModelNotLoaded,
    #[error("internal error: {0}")]
    Internal(String),
    #[error("server overloaded: all {limit} slots for this work are taken; retry with backoff")]
    Overloaded { limit: usize },
    #[error("stream closed: no message for {millis} ms (the server's stream idle timeout)")]
    StreamIdle { millis: u64 },
    #[error("stream closed: the client read no response for {millis} ms (the server's stream idle timeout)")]
    StreamNotRead { millis: u64 },
    #[error("too many streams: {limit} ClassifyStream streams already open on the server; retry with backoff")]
    TooManyStreams { limit: usize },
    #[error(
        "too many streams on this connection: {limit} ClassifyStream streams already open on it"
    )]
    TooManyConnectionStreams { limit: usize },
    #[error("this RPC needs an `authorization: Bearer <token>` header")]
    MissingToken,
    #[error("the bearer token is not valid for this RPC")]
    WrongToken,
    #[error("admin RPCs are disabled: the server has no admin token (--admin-token-file or DOCCLASS_ADMIN_TOKEN)")]
    AdminDisabled,
    #[error("{0}")]
    Reload(#[from] ReloadError),
}

impl ServiceError {
    pub fn code(&self) -> Code {
        match self {
            ServiceError::EmptyText { .. }
            | ServiceError::TextTooLarge { .. }
            | ServiceError::NormalizedTextTooLarge { .. }
            | ServiceError::BatchTooLarge { .. }
            | ServiceError::UnknownTopic { .. }
            | ServiceError::FieldTooLong { .. }
            | ServiceError::InvalidLanguage { .. }
            | ServiceError::Undecodable { .. }
            | ServiceError::TooManyExplainTerms { .. } => Code::InvalidArgument,
            // As tonic's own decode limit answers.
            ServiceError::MessageTooLarge { .. } => Code::OutOfRange,
            ServiceError::ModelNotLoaded => Code::Unavailable,
            ServiceError::Internal(_) => Code::Internal,
            ServiceError::Overloaded { .. }
            | ServiceError::TooManyStreams { .. }
            | ServiceError::TooManyConnectionStreams { .. } => Code::ResourceExhausted,
            ServiceError::StreamIdle { .. } | ServiceError::StreamNotRead { .. } => {
                Code::DeadlineExceeded
            }
            ServiceError::MissingToken | ServiceError::WrongToken => Code::Unauthenticated,
            ServiceError::AdminDisabled => Code::PermissionDenied,
            ServiceError::Reload(e) => match e {
                ReloadError::ParentTraversal { .. }
                | ReloadError::OutsideModelDir { .. }
                | ReloadError::NotFound { .. } => Code::InvalidArgument,
                ReloadError::NoModelDir
                | ReloadError::ModelFileMissing { .. }
                | ReloadError::ModelDirMissing { .. }
                | ReloadError::ModelOutsideDir { .. }
                | ReloadError::Load { .. }
                | ReloadError::TopicsChanged { .. } => Code::FailedPrecondition,
                ReloadError::Cancelled { .. } => Code::Cancelled,
                ReloadError::ShuttingDown => Code::Unavailable,
                ReloadError::LoaderFailed(_) => Code::Internal,
            },
        }
    }

    /// The request field at fault, if one is.
    pub fn field(&self) -> Option<&str> {
        match self {
            ServiceError::EmptyText { field }
            | ServiceError::TextTooLarge { field, .. }
            | ServiceError::NormalizedTextTooLarge { field, .. }
            | ServiceError::UnknownTopic { field, .. }
            | ServiceError::FieldTooLong { field, .. }
            | ServiceError::InvalidLanguage { field, .. }
            | ServiceError::TooManyExplainTerms { field, .. } => Some(field),
            ServiceError::Undecodable { field, .. } => (!field.is_empty()).then_some(field),
            ServiceError::BatchTooLarge { .. } => Some("documents"),
            ServiceError::Reload(e) if e.blames_the_path() => Some("model_path"),
            ServiceError::ModelNotLoaded
            | ServiceError::MessageTooLarge { .. }
            | ServiceError::Internal(_)
            | ServiceError::Overloaded { .. }
            | ServiceError::StreamIdle { .. }
            | ServiceError::StreamNotRead { .. }
            | ServiceError::TooManyStreams { .. }
            | ServiceError::TooManyConnectionStreams { .. }
            | ServiceError::MissingToken
            | ServiceError::WrongToken
            | ServiceError::AdminDisabled
            | ServiceError::Reload(_) => None,
        }
    }

    /// The per-document form used inside batch and stream responses.
    pub fn to_document_error(&self) -> pb::DocumentError {
        pb::DocumentError {
            code: self.code() as i32,
            message: self.to_string(),
            field: self.field().unwrap_or_default().to_string(),
        }
    }
}

impl From<ServiceError> for Status {
    fn from(err: ServiceError) -> Status {
        let message = err.to_string();
        match err.field() {
            Some(field) => {
                let details = ErrorDetails::with_bad_request_violation(field, message.clone());
                Status::with_error_details(err.code(), message, details)
            }
            None => Status::new(err.code(), message),
        }
    }
}

/// The canonical name of a gRPC status code (`INVALID_ARGUMENT`), as clients
/// print it and the load generator counts it.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}
