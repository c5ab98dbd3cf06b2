//! Per-method limits on the size of one request message, checked at each
//! message's gRPC length prefix as the request body arrives, before tonic
//! buffers the message.
//!
//! tonic's decode limit (`max_message_bytes`, 16 MiB) is one per service and
//! exists for batches. A message of one document (`Classify`, each message
//! of `ClassifyStream`, and `Transport/Noop`, which decodes the same
//! request) can never legitimately exceed `max_text_bytes` plus a little
//! room for its other fields, yet under tonic's limit alone the server
//! copied up to 16 MiB of such a message, growing its buffer as the frames
//! came, before validation refused it: eight clients sending 6 MB requests
//! raised a well-behaved client's p99 three- to fourfold.
use super::error::ServiceError;
use super::state::Limits;
use http_body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tonic::codegen::Bytes;
use tonic::Status;

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

/// A request body that fails, with OUT_OF_RANGE as tonic's own decode limit
/// does, as soon as a message's length prefix exceeds `limit`; the frames
/// before pass through untouched.
pub(crate) struct LimitedBody<B> {
    inner: B,
    limit: usize,
    /// The prefix being read (compression flag, then a big-endian length).
    prefix: [u8; 5],
    prefix_read: usize,
    /// Bytes of the current message's payload still to come.
    payload_left: usize,
    failed: bool,
}

impl<B> LimitedBody<B> {
    pub(crate) fn new(inner: B, limit: usize) -> Self {
        Self {
            inner,
            limit,
            prefix: [0; 5],
            prefix_read: 0,
            payload_left: 0,
            failed: false,
        }
    }

    /// Follows the framing through `data`; the first message over the limit
    /// is an error.
    fn scan(&mut self, mut data: &[u8]) -> Result<(), ServiceError> {
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
                if size > self.limit {
                    return Err(ServiceError::MessageTooLarge {
                        size,
                        limit: self.limit,
                        room: OTHER_FIELDS_ROOM,
                    });
                }
                self.payload_left = size;
            }
        }
        Ok(())
    }
}

impl<B> Body for LimitedBody<B>
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
        if let Some(Ok(frame)) = &polled {
            if let Some(data) = frame.data_ref() {
                if let Err(error) = self.scan(data) {
                    self.failed = true;
                    return Poll::Ready(Some(Err(error.into())));
                }
            }
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
        let mut body = LimitedBody::new((), limit);
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
