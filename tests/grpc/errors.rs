//! Every error the Classifier service reports: exact code, exact message, and
//! the `google.rpc.BadRequest` field violation naming the field at fault.
use crate::common::messages::request;
use crate::common::{tiny_model, TestServer};
use docclass::service::pb::{ClassifyBatchRequest, ClassifyRequest};
use docclass::service::Limits;
use prost::Message;
use std::time::Duration;
use tonic::{Code, Status};
use tonic_types::{FieldViolation, StatusExt};

/// Asserts an INVALID_ARGUMENT with `message`, and exactly one BadRequest
/// violation on `field` whose description is the same message.
fn assert_invalid_argument(status: &Status, field: &str, message: &str) {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert_eq!(status.message(), message);
    let bad_request = status
        .get_details_bad_request()
        .expect("a google.rpc.BadRequest detail");
    let violations: Vec<_> = bad_request
        .field_violations
        .iter()
        .map(|v: &FieldViolation| {
            (
                v.field.as_str(),
                v.description.as_str(),
                v.reason.as_str(),
                v.localized_message.is_none(),
            )
        })
        .collect();
    assert_eq!(violations, [(field, message, "", true)]);
    // No other detail rides along.
    assert_eq!(status.get_error_details_vec().len(), 1);
}

async fn classify_err(server: &TestServer, req: ClassifyRequest) -> Status {
    server
        .client()
        .await
        .classify(req)
        .await
        .expect_err("the request is refused")
}

fn small_limits() -> Limits {
    Limits {
        max_text_bytes: 1000,
        max_batch_documents: 5,
        ..Limits::default()
    }
}

async fn start_small() -> TestServer {
    TestServer::start_with(Some(tiny_model()), small_limits(), Duration::from_secs(30)).await
}

#[tokio::test]
async fn empty_text_is_invalid_argument_on_text() {
    let server = TestServer::start(Some(tiny_model())).await;
    let status = classify_err(&server, request("")).await;
    assert_invalid_argument(
        &status,
        "text",
        "text is empty or only whitespace; send the document's text",
    );
    // A title does not stand in for the text.
    let status = classify_err(
        &server,
        ClassifyRequest {
            title: "Earthquake destroys homes".into(),
            ..request("")
        },
    )
    .await;
    assert_invalid_argument(
        &status,
        "text",
        "text is empty or only whitespace; send the document's text",
    );
    server.stop().await;
}

#[tokio::test]
async fn whitespace_only_text_is_invalid_argument_on_text() {
    let server = TestServer::start(Some(tiny_model())).await;
    for text in [" ", "\n\t  \r\n", "\u{3000}\u{2003}"] {
        let status = classify_err(&server, request(text)).await;
        assert_invalid_argument(
            &status,
            "text",
            "text is empty or only whitespace; send the document's text",
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn text_over_a_small_limit_is_invalid_argument() {
    let server = start_small().await;
    // Exactly at the limit is accepted.
    let ok = server
        .client()
        .await
        .classify(request(&"a".repeat(1000)))
        .await;
    assert!(ok.is_ok(), "{ok:?}");

    let status = classify_err(&server, request(&"a".repeat(1001))).await;
    assert_invalid_argument(
        &status,
        "text",
        "text is 1001 bytes, over the limit of 1000 bytes (the server's --max-text-bytes)",
    );
    // The limit counts bytes, not characters: 334 × "é" is 668 bytes, 501 is 1002.
    let status = classify_err(&server, request(&"é".repeat(501))).await;
    assert_invalid_argument(
        &status,
        "text",
        "text is 1002 bytes, over the limit of 1000 bytes (the server's --max-text-bytes)",
    );
    // Title and text share the limit.
    let status = classify_err(
        &server,
        ClassifyRequest {
            title: "t".repeat(10),
            ..request(&"a".repeat(991))
        },
    )
    .await;
    assert_invalid_argument(
        &status,
        "text",
        "text is 1001 bytes with the title, over the limit of 1000 bytes (the server's --max-text-bytes)",
    );
    server.stop().await;
}

#[tokio::test]
async fn text_over_the_limit_once_nfkc_normalised_is_invalid_argument() {
    let server = start_small().await;
    // U+FDFA is 3 bytes as sent and 33 once NFKC-normalised (4 words): the
    // limit applies to the text as analysed, so 30 of them (990 bytes
    // analysed) pass, and 100 of them (300 bytes sent) do not.
    let ok = server
        .client()
        .await
        .classify(request(&"\u{fdfa}".repeat(30)))
        .await;
    assert!(ok.is_ok(), "{ok:?}");
    let status = classify_err(&server, request(&"\u{fdfa}".repeat(100))).await;
    assert_invalid_argument(
        &status,
        "text",
        "text is 300 bytes as sent, but over the limit of 1000 bytes once NFKC-normalised (the limit, the server's --max-text-bytes, applies to the text as analysed)",
    );
    // Title and text at the limit pass: the separator between them is not
    // counted.
    let ok = server
        .client()
        .await
        .classify(ClassifyRequest {
            title: "t".repeat(10),
            ..request(&"a".repeat(990))
        })
        .await;
    assert!(ok.is_ok(), "{ok:?}");
    server.stop().await;
}

#[tokio::test]
async fn text_over_the_default_one_mebibyte_limit_is_invalid_argument() {
    let server = TestServer::start(Some(tiny_model())).await;
    assert_eq!(Limits::default().max_text_bytes, 1_048_576);
    let status = classify_err(&server, request(&"a".repeat((1 << 20) + 1))).await;
    assert_invalid_argument(
        &status,
        "text",
        "text is 1048577 bytes, over the limit of 1048576 bytes (the server's --max-text-bytes)",
    );
    server.stop().await;
}

#[tokio::test]
async fn batch_over_its_limit_is_invalid_argument_on_documents() {
    let server = start_small().await;
    let mut client = server.client().await;
    let batch = |n: usize| ClassifyBatchRequest {
        documents: (0..n).map(|_| request("Troops clashed")).collect(),
    };
    let ok = client
        .classify_batch(batch(5))
        .await
        .expect("5 documents are within the limit")
        .into_inner();
    assert_eq!(ok.outcomes.len(), 5);

    let status = client
        .classify_batch(batch(6))
        .await
        .expect_err("6 documents are over the limit");
    assert_invalid_argument(
        &status,
        "documents",
        "batch has 6 documents, over the limit of 5 (the server's --max-batch)",
    );
    server.stop().await;
}

#[tokio::test]
async fn unknown_topic_in_the_filter_is_invalid_argument_on_its_index() {
    let server = TestServer::start(Some(tiny_model())).await;
    let status = classify_err(
        &server,
        ClassifyRequest {
            topics: vec!["war".into()],
            ..request("Troops clashed")
        },
    )
    .await;
    assert_invalid_argument(
        &status,
        "topics[0]",
        "topics[0]: unknown topic \"war\" (known topics: conflict, disaster, other)",
    );
    // The first unknown one is named, at its position; ids are case-sensitive.
    let status = classify_err(
        &server,
        ClassifyRequest {
            topics: vec!["conflict".into(), "Disaster".into(), "war".into()],
            ..request("Troops clashed")
        },
    )
    .await;
    assert_invalid_argument(
        &status,
        "topics[1]",
        "topics[1]: unknown topic \"Disaster\" (known topics: conflict, disaster, other)",
    );
    server.stop().await;
}

#[tokio::test]
async fn bad_language_hint_is_invalid_argument_on_language() {
    let server = TestServer::start(Some(tiny_model())).await;
    let status = classify_err(
        &server,
        ClassifyRequest {
            language: "Klingon".into(),
            ..request("Troops clashed")
        },
    )
    .await;
    assert_invalid_argument(
        &status,
        "language",
        "language: unknown language \"klingon\" (expected en, fr, ar or und)",
    );
    let status = classify_err(
        &server,
        ClassifyRequest {
            language: "de".into(),
            ..request("Truppen kämpften")
        },
    )
    .await;
    assert_invalid_argument(
        &status,
        "language",
        "language: unknown language \"de\" (expected en, fr, ar or und)",
    );
    server.stop().await;
}

#[tokio::test]
async fn explain_terms_over_100_is_invalid_argument() {
    let server = TestServer::start(Some(tiny_model())).await;
    let mut client = server.client().await;
    let ok = client
        .classify(ClassifyRequest {
            explain: true,
            explain_terms: 100,
            ..request("Troops clashed")
        })
        .await;
    assert!(ok.is_ok(), "100 is the maximum: {ok:?}");
    let status = classify_err(
        &server,
        ClassifyRequest {
            explain: true,
            explain_terms: 101,
            ..request("Troops clashed")
        },
    )
    .await;
    assert_invalid_argument(
        &status,
        "explain_terms",
        "explain_terms is 101, over the maximum of 100",
    );
    // Checked even without `explain`.
    let status = classify_err(
        &server,
        ClassifyRequest {
            explain_terms: u32::MAX,
            ..request("Troops clashed")
        },
    )
    .await;
    assert_invalid_argument(
        &status,
        "explain_terms",
        "explain_terms is 4294967295, over the maximum of 100",
    );
    server.stop().await;
}

#[tokio::test]
async fn validation_order_text_first() {
    // Several faults at once: the empty text is reported, not the others.
    let server = TestServer::start(Some(tiny_model())).await;
    let status = classify_err(
        &server,
        ClassifyRequest {
            language: "xx".into(),
            topics: vec!["war".into()],
            explain_terms: 1000,
            ..request("  ")
        },
    )
    .await;
    assert_invalid_argument(
        &status,
        "text",
        "text is empty or only whitespace; send the document's text",
    );
    server.stop().await;
}

/// tonic's decoder refuses a message over `max_decoding_message_size` before
/// the handler runs. tonic 0.14 reports it as OUT_OF_RANGE, not the
/// RESOURCE_EXHAUSTED the gRPC spec lists for "received message larger than
/// the configured limit" (see tonic's `codec/decode.rs`); only the
/// decompression limit uses RESOURCE_EXHAUSTED.
#[tokio::test]
async fn message_over_the_decode_limit_is_out_of_range_from_tonic() {
    let limits = Limits {
        max_message_bytes: 1024,
        ..Limits::default()
    };
    let server = TestServer::start_with(Some(tiny_model()), limits, Duration::from_secs(30)).await;
    let mut client = server.client().await;
    // Within the message limit: served.
    let ok = client.classify(request(&"a".repeat(1000))).await;
    assert!(ok.is_ok(), "{ok:?}");

    // 4000 bytes of text encode as 1 tag byte + 2 length bytes + 4000 = 4003.
    let status = client
        .classify(request(&"a".repeat(4000)))
        .await
        .expect_err("over the decode limit");
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
    assert_eq!(
        status.message(),
        "Error, decoded message length too large: found 4003 bytes, the limit is: 1024 bytes"
    );
    assert!(status.get_details_bad_request().is_none());

    // The same limit guards a batch.
    let status = client
        .classify_batch(ClassifyBatchRequest {
            documents: (0..10).map(|_| request(&"b".repeat(200))).collect(),
        })
        .await
        .expect_err("over the decode limit");
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
    // Each document: tag + 2-byte length + (tag + 2-byte length + 200) = 206.
    assert_eq!(
        status.message(),
        "Error, decoded message length too large: found 2060 bytes, the limit is: 1024 bytes"
    );

    // The connection is still usable afterwards.
    let ok = client.classify(request("Troops clashed")).await;
    assert!(ok.is_ok(), "{ok:?}");
    server.stop().await;
}

/// A message of one document may be at most `max_text_bytes` plus 64 KiB
/// for its other fields: past that it is refused at its length prefix,
/// before tonic buffers it, with OUT_OF_RANGE as tonic's own limit. Within
/// it, the text limit answers as before; batches keep the service's limit.
#[tokio::test]
async fn a_one_document_message_over_the_text_limit_and_its_room_is_refused_at_its_prefix() {
    let limits = Limits {
        max_text_bytes: 1000,
        ..Limits::default()
    };
    let server = TestServer::start_with(Some(tiny_model()), limits, Duration::from_secs(30)).await;
    let mut client = server.client().await;
    let status = client
        .classify(request(&"a".repeat(2000)))
        .await
        .expect_err("over the text limit");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");

    // 70,000 bytes of text: 1 tag byte + 3 length bytes + 70,000.
    let status = client
        .classify(request(&"a".repeat(70_000)))
        .await
        .expect_err("over the one-document message limit");
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
    assert_eq!(
        status.message(),
        "the request message is 70004 bytes, over this method's limit of 66536 bytes for one \
         document: the server's --max-text-bytes (1000) for title and text, plus 65536 for the \
         other fields"
    );

    // A batch of such documents is not one document: each gets its error.
    let batch = client
        .classify_batch(ClassifyBatchRequest {
            documents: (0..3).map(|_| request(&"b".repeat(70_000))).collect(),
        })
        .await
        .expect("a batch within the service's limit")
        .into_inner();
    assert_eq!(batch.outcomes.len(), 3);

    // The connection is still usable afterwards.
    let ok = client.classify(request("Troops clashed")).await;
    assert!(ok.is_ok(), "{ok:?}");
    server.stop().await;
}

/// A batch whose encoding is exactly `bytes` long (about 16 MiB): 17
/// documents of real words, the last cut to make up the length, each under
/// the 1 MiB text limit.
fn batch_of_encoded_len(bytes: usize) -> ClassifyBatchRequest {
    let sentence = "Troops clashed with militia near the border while floods displaced families. ";
    let text = |len: usize| -> String {
        let mut t = sentence.repeat(len / sentence.len() + 1);
        t.truncate(len);
        t
    };
    let documents = 17;
    let mut batch = ClassifyBatchRequest {
        documents: (0..documents).map(|_| request(&text(986_000))).collect(),
    };
    // The last document's length moves the total byte for byte, except where
    // a length prefix gains or loses a byte; a few rounds settle it.
    for _ in 0..8 {
        let len = batch.encoded_len();
        if len == bytes {
            return batch;
        }
        let last = &mut batch.documents[documents - 1].text;
        let target = (last.len() + bytes).saturating_sub(len);
        *last = text(target);
    }
    panic!("no batch of exactly {bytes} bytes");
}

/// The server's 16 MiB message limit (`Limits::max_message_bytes`; tonic's
/// own default is 4 MiB) at its edge: a batch of exactly 16 MiB is answered,
/// one byte more is refused by tonic's decoder with OUT_OF_RANGE.
#[tokio::test]
async fn the_16_mib_message_limit_holds_to_the_byte() {
    let limit = Limits::default().max_message_bytes;
    assert_eq!(limit, 16 << 20);
    let server = TestServer::start(Some(tiny_model())).await;
    let mut client = server.client().await;

    let at_limit = batch_of_encoded_len(limit);
    assert_eq!(at_limit.encoded_len(), limit);
    let answered = client
        .classify_batch(at_limit)
        .await
        .expect("a 16 MiB batch is within the limit")
        .into_inner();
    assert_eq!(answered.outcomes.len(), 17);
    for outcome in &answered.outcomes {
        let labels = &crate::common::messages::result(outcome).labels;
        assert!(labels.contains(&"conflict".to_string()), "{labels:?}");
    }

    let over = batch_of_encoded_len(limit + 1);
    let status = client
        .classify_batch(over)
        .await
        .expect_err("one byte over the limit");
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
    assert_eq!(
        status.message(),
        format!(
            "Error, decoded message length too large: found {} bytes, the limit is: {limit} bytes",
            limit + 1
        )
    );
    // The connection is still usable afterwards.
    assert!(client.classify(request("Troops clashed")).await.is_ok());
    server.stop().await;
}

#[tokio::test]
async fn no_model_loaded_is_unavailable_for_every_rpc() {
    let server = TestServer::start(None).await;
    let mut client = server.client().await;
    let message = "no model is loaded yet; retry when the health check reports SERVING";
    let check = |status: Status| {
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
        assert_eq!(status.message(), message);
        assert!(status.get_details_bad_request().is_none());
        assert!(status.get_error_details_vec().is_empty());
    };
    check(
        client
            .classify(request("Troops clashed"))
            .await
            .expect_err("no model"),
    );
    check(
        client
            .classify_batch(ClassifyBatchRequest {
                documents: vec![request("Troops clashed")],
            })
            .await
            .expect_err("no model"),
    );
    check(
        client
            .list_topics(docclass::service::pb::ListTopicsRequest {})
            .await
            .expect_err("no model"),
    );
    check(
        client
            .get_model_info(docclass::service::pb::GetModelInfoRequest {})
            .await
            .expect_err("no model"),
    );
    // The stream opens, then ends with the status at the first message.
    let mut stream = client
        .classify_stream(tokio_stream::iter(vec![request("Troops clashed")]))
        .await
        .expect("the stream opens")
        .into_inner();
    check(
        stream
            .message()
            .await
            .expect_err("the first message ends the stream"),
    );
    // The model is looked up before the request is validated: even an
    // invalid request is UNAVAILABLE while no model is loaded.
    check(classify_err(&server, request("")).await);
    server.stop().await;
}

#[tokio::test]
async fn batch_limit_is_checked_before_the_model() {
    let server = TestServer::start_with(None, small_limits(), Duration::from_secs(30)).await;
    let status = server
        .client()
        .await
        .classify_batch(ClassifyBatchRequest {
            documents: (0..6).map(|_| request("x")).collect(),
        })
        .await
        .expect_err("over the limit");
    assert_invalid_argument(
        &status,
        "documents",
        "batch has 6 documents, over the limit of 5 (the server's --max-batch)",
    );
    server.stop().await;
}

/// Every byte the status carries in response headers: the message, and the
/// `grpc-status-details-bin` payload that repeats it in a `BadRequest`.
fn header_bytes(status: &Status) -> usize {
    status.message().len() + status.details().len()
}

#[tokio::test]
async fn caller_values_are_never_echoed_whole_into_error_headers() {
    let server = TestServer::start(Some(tiny_model())).await;
    // Oversized values are refused by length, without echoing them; these
    // fit in a one-document message, so validation sees them.
    let huge = "\u{1}".repeat(100_000);
    let cases = [
        (
            ClassifyRequest {
                topics: vec!["conflict".into(), huge.clone()],
                ..request("Troops clashed")
            },
            "topics[1]",
            "topics[1] is 100000 bytes, over the limit of 128 bytes".to_string(),
        ),
        (
            ClassifyRequest {
                id: huge.clone(),
                ..request("Troops clashed")
            },
            "id",
            "id is 100000 bytes, over the limit of 512 bytes".to_string(),
        ),
        (
            ClassifyRequest {
                language: huge.clone(),
                ..request("Troops clashed")
            },
            "language",
            "language is 100000 bytes, over the limit of 32 bytes".to_string(),
        ),
    ];
    for (req, field, message) in cases {
        let status = classify_err(&server, req).await;
        assert_invalid_argument(&status, field, &message);
        assert!(
            header_bytes(&status) < 8 * 1024,
            "{}",
            header_bytes(&status)
        );
    }
    // A value too large for any one-document message is refused at the
    // message's length prefix, and not echoed either.
    let status = classify_err(
        &server,
        ClassifyRequest {
            topics: vec!["\u{1}".repeat(3_000_000)],
            ..request("Troops clashed")
        },
    )
    .await;
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
    assert!(
        header_bytes(&status) < 8 * 1024,
        "{}",
        header_bytes(&status)
    );
    // An unknown topic within the limit is shown cut and escaped once.
    let status = classify_err(
        &server,
        ClassifyRequest {
            topics: vec!["\u{1}".repeat(100)],
            ..request("Troops clashed")
        },
    )
    .await;
    let shown = format!("\"{}\"… (cut; 100 bytes)", "\\u{1}".repeat(64));
    assert_invalid_argument(
        &status,
        "topics[0]",
        &format!("topics[0]: unknown topic {shown} (known topics: conflict, disaster, other)"),
    );
    assert!(header_bytes(&status) < 8 * 1024);
    // The server is still up and answers a well-formed request.
    let ok = server
        .client()
        .await
        .classify(request("Troops clashed with rebels near the border"))
        .await;
    assert!(ok.is_ok(), "{ok:?}");
    server.stop().await;
}
