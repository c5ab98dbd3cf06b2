//! The codec our servers decode requests with: prost's encoding, but a
//! request that does not decode (a `string` field that is not UTF-8, a
//! truncated field) is the sender's fault, INVALID_ARGUMENT naming the field,
//! where tonic's own prost codec says INTERNAL.
use super::error::ServiceError;
use prost::Message;
use std::marker::PhantomData;
use tonic::codec::{Codec, DecodeBuf, Decoder};
use tonic::Status;
use tonic_prost::ProstEncoder;

/// Encodes responses `T` as prost does; decodes requests `U` with
/// [`RequestDecoder`]. Named by the generated server code (`build.rs`).
#[derive(Debug, Clone)]
pub struct RequestCodec<T, U>(PhantomData<(T, U)>);

impl<T, U> Default for RequestCodec<T, U> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<T, U> Codec for RequestCodec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = RequestDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstEncoder::default()
    }

    fn decoder(&mut self) -> Self::Decoder {
        RequestDecoder(PhantomData)
    }
}

/// Decodes one request message `U`; see [`RequestCodec`].
#[derive(Debug, Clone)]
pub struct RequestDecoder<U>(PhantomData<U>);

impl<U: Message + Default> Decoder for RequestDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        U::decode(buf)
            .map(Some)
            .map_err(|e| Status::from(undecodable(&e)))
    }
}

/// The error for a request that prost could not decode. prost keeps the
/// fields it was inside private and shows them only in its message,
/// `failed to decode Protobuf message: Inner.field: Outer.field: reason`
/// (innermost first), so they are read back from there: the field becomes
/// the path from the request down, `documents.text`.
pub(crate) fn undecodable(error: &prost::DecodeError) -> ServiceError {
    let shown = error.to_string();
    let rest = shown
        .strip_prefix("failed to decode Protobuf message: ")
        .unwrap_or(&shown);
    let mut fields = Vec::new();
    let mut reason = rest;
    while let Some((place, after)) = reason.split_once(": ") {
        let Some((message, field)) = place.split_once('.') else {
            break;
        };
        let is_name =
            |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !is_name(message) || !is_name(field) {
            break;
        }
        fields.push(field);
        reason = after;
    }
    fields.reverse();
    ServiceError::Undecodable {
        field: fields.join("."),
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::pb::{ClassifyBatchRequest, ClassifyRequest};

    #[test]
    fn names_the_field_path_from_the_request_down() {
        // documents (1) holding a ClassifyRequest whose text (1) is "\xff".
        let bytes = [0x0a, 0x03, 0x0a, 0x01, 0xff];
        let error = ClassifyBatchRequest::decode(&bytes[..]).expect_err("not UTF-8");
        assert_eq!(
            undecodable(&error),
            ServiceError::Undecodable {
                field: "documents.text".into(),
                reason: "invalid string value: data is not UTF-8 encoded".into(),
            }
        );
    }

    #[test]
    fn an_error_outside_any_field_names_none() {
        // Field 1 with wire type 7, which does not exist.
        let error = ClassifyRequest::decode(&[0x0f][..]).expect_err("bad wire type");
        assert_eq!(
            undecodable(&error),
            ServiceError::Undecodable {
                field: String::new(),
                reason: "invalid wire type value: 7".into(),
            }
        );
    }
}
