//! Request bodies as the handlers see them: per-method limits on the size
//! of one message, checked at each message's gRPC length prefix before
//! tonic buffers the message, and a stream the client reset read as the
//! failure it is.
//!
//! tonic's decode limit (`max_message_bytes`, 16 MiB) is one per service and
//! exists for batches. A message of one document (`Classify`, each message
//! of `ClassifyStream`, and `Transport/Noop`, which decodes the same
//! request) can never legitimately exceed `max_text_bytes` plus a little
//! room for its other fields, yet under tonic's limit alone the server
//! copied up to 16 MiB of such a message, growing its buffer as the frames
//! came, before validation refused it: eight clients sending 6 MB requests
//! raised a well-behaved client's p99 three- to fourfold.
//!
//! tonic reads a request body that ends in RST_STREAM(CANCEL) as a normal
//! end of input, so a unary request whose HEADERS and DATA came before the
//! client's reset was classified in full, for a client that had gone: the
//! HTTP/2 rapid-reset flood (CVE-2023-44487) cost the server whole RPCs,
//! without the bound of the per-connection stream limit. Here the reset
//! fails the request before any handler runs, and the RPC counts as
//! CANCELLED ([`ClientReset`]).
use super::error::ServiceError;
use super::state::Limits;
use http_body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use tonic::codegen::Bytes;
use tonic::{Code, Status};

/// Room for a one-document message's fields other than title and text
/// (`id` ≤ 512 bytes, `language` ≤ 32, each `topics` entry ≤ 128, and a
/// few numbers), with a wide margin.
pub(crate) const OTHER_FIELDS_ROOM: usize = 64 << 10;

/// Methods whose every request message holds one document.
const ONE_DOCUMENT_METHODS: &[&str] = &[
    "/docclass.v1.Classifier/Classify",
    "/docclass.v1.Classifier/ClassifyStream",
    "/docclass.v1.Transport/Noop",
];

/// The largest message one document may take under `limits`.
pub(crate) fn one_document_limit(limits: &Limits) -> usize {
    limits.max_text_bytes.saturating_add(OTHER_FIELDS_ROOM)
}

/// The per-message limit of the method at `path`, if it has one of its own
/// (`one_document`: [`one_document_limit`]).
pub(crate) fn for_path(path: &str, one_document: usize) -> Option<usize> {
    ONE_DOCUMENT_METHODS.contains(&path).then_some(one_document)
}

/// Set when the client reset its request stream before the request ended.
/// Shared between the request body, which sees the reset, and whoever
/// records the RPC's outcome, which counts it as CANCELLED: what the client
/// asked for, though the error that stops tonic has another code.
#[derive(Clone, Default)]
pub(crate) struct ClientReset(Arc<AtomicBool>);

impl ClientReset {
    pub(crate) fn is_set(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    fn set(&self) {
        self.0.store(true, Ordering::Release);
    }
}

/// A request body that fails, with OUT_OF_RANGE as tonic's own decode limit
/// does, as soon as a message's length prefix exceeds `limit` (when there
/// is one), and fails when the client resets the stream; the frames before
/// pass through untouched.
pub(crate) struct RequestBody<B> {
    inner: B,
    limit: Option<usize>,
    /// The prefix being read (compression flag, then a big-endian length).
    prefix: [u8; 5],
    prefix_read: usize,
    /// Bytes of the current message's payload still to come.
    payload_left: usize,
    failed: bool,
    reset: ClientReset,
}

impl<B> RequestBody<B> {
    pub(crate) fn new(inner: B, limit: Option<usize>, reset: ClientReset) -> Self {
        Self {
            inner,
            limit,
            prefix: [0; 5],
            prefix_read: 0,
            payload_left: 0,
            failed: false,
            reset,
        }
    }

    /// Follows the framing through `data`; the first message over the limit
    /// is an error.
    fn scan(&mut self, mut data: &[u8]) -> Result<(), ServiceError> {
        let Some(limit) = self.limit else {
            return Ok(());
        };
        while !data.is_empty() {
            if self.payload_left > 0 {
                let skipped = self.payload_left.min(data.len());
                self.payload_left -= skipped;
                data = &data[skipped..];
                continue;
            }
            let taken = (self.prefix.len() - self.prefix_read).min(data.len());
            self.prefix[self.prefix_read..self.prefix_read + taken].copy_from_slice(&data[..taken]);
            self.prefix_read += taken;
            data = &data[taken..];
            if self.prefix_read == self.prefix.len() {
                self.prefix_read = 0;
                let [_, a, b, c, d] = self.prefix;
                let size = u32::from_be_bytes([a, b, c, d]) as usize;
                if size > limit {
                    return Err(ServiceError::MessageTooLarge {
                        size,
                        limit,
                        room: OTHER_FIELDS_ROOM,
                    });
                }
                self.payload_left = size;
            }
        }
        Ok(())
    }
}

impl<B> Body for RequestBody<B>
where
    B: Body<Data = Bytes, Error = Status> + Unpin,
{
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        if self.failed {
            return Poll::Ready(None);
        }
        let polled = ready!(Pin::new(&mut self.inner).poll_frame(cx));
        match &polled {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    if let Err(error) = self.scan(data) {
                        self.failed = true;
                        return Poll::Ready(Some(Err(error.into())));
                    }
                }
            }
            // RST_STREAM(CANCEL) from the client. tonic would take CANCELLED
            // for the end of input, so it gets another code; the RPC is
            // counted as CANCELLED through `reset`.
            Some(Err(status)) if status.code() == Code::Cancelled => {
                self.failed = true;
                self.reset.set();
                return Poll::Ready(Some(Err(Status::aborted(
                    "the client reset the stream before its request ended",
                ))));
            }
            _ => {}
        }
        Poll::Ready(polled)
    }

    fn is_end_stream(&self) -> bool {
        self.failed || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(payload_sizes: &[usize]) -> Vec<u8> {
        let mut out = Vec::new();
        for &size in payload_sizes {
            out.push(0);
            out.extend_from_slice(&(size as u32).to_be_bytes());
            out.extend(std::iter::repeat_n(7u8, size));
        }
        out
    }

    /// Scans `bytes` cut into pieces of `piece` bytes: the framing may
    /// split anywhere, the prefix included.
    fn scan_in_pieces(limit: usize, bytes: &[u8], piece: usize) -> Result<(), ServiceError> {
        let mut body = RequestBody::new((), Some(limit), ClientReset::default());
        bytes.chunks(piece).try_for_each(|chunk| body.scan(chunk))
    }

    #[test]
    fn messages_within_the_limit_pass_however_the_frames_cut_them() {
        let bytes = framed(&[100, 0, 100, 37]);
        for piece in [1, 2, 3, 5, 6, 64, 1000] {
            assert!(scan_in_pieces(100, &bytes, piece).is_ok(), "piece {piece}");
        }
    }

    #[test]
    fn the_first_message_over_the_limit_fails_at_its_prefix() {
        let bytes = framed(&[100, 101]);
        for piece in [1, 4, 5, 106, 1000] {
            match scan_in_pieces(100, &bytes, piece) {
                Err(ServiceError::MessageTooLarge { size, limit, .. }) => {
                    assert_eq!((size, limit), (101, 100), "piece {piece}")
                }
                other => panic!("piece {piece}: {other:?}"),
            }
        }
        // Only its prefix is needed: the payload never arrives here.
        assert!(scan_in_pieces(100, &bytes[..105 + 5], 1000).is_err());
    }

    #[test]
    fn one_document_methods_have_the_text_limit_and_room_for_the_rest() {
        let limits = Limits::default();
        let one = one_document_limit(&limits);
        assert_eq!(one, limits.max_text_bytes + OTHER_FIELDS_ROOM);
        assert_eq!(for_path("/docclass.v1.Classifier/Classify", one), Some(one));
        assert_eq!(
            for_path("/docclass.v1.Classifier/ClassifyStream", one),
            Some(one)
        );
        assert_eq!(for_path("/docclass.v1.Classifier/ClassifyBatch", one), None);
        assert_eq!(for_path("/grpc.health.v1.Health/Check", one), None);
    }
}
