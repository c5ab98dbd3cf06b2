//! The `/metrics` endpoint: after a known sequence of RPCs, the counters
//! hold exactly what happened.
use crate::common::admin::*;
use crate::common::{tiny_model, TestServer};
use docclass::service::pb::classifier_client::ClassifierClient;
use docclass::service::pb::{ClassifyBatchRequest, ClassifyRequest};
use docclass::service::{serve_metrics, Limits, Secret, Security, Server};
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::Code;

/// The `/metrics` responder of a server, on a loopback port of its own.
pub(crate) struct MetricsEndpoint {
    pub(crate) addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl MetricsEndpoint {
    pub(crate) async fn start(server: &Server) -> MetricsEndpoint {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(serve_metrics(listener, server.metrics(), async {
            let _ = stopped.await;
        }));
        MetricsEndpoint { addr, stop, task }
    }

    pub(crate) async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.expect("the endpoint stops");
    }
}

/// `GET path` over a plain TCP connection; returns the whole response.
pub(crate) async fn http_get(addr: SocketAddr, path: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes())
        .await
        .expect("write");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .await
        .expect("read to the end");
    response
}

/// The sample lines (no comments), as they appear.
pub(crate) fn samples(response: &str) -> Vec<&str> {
    let (head, body) = response.split_once("\r\n\r\n").expect("a head and a body");
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(
        head.contains("Content-Type: application/openmetrics-text; version=1.0.0; charset=utf-8"),
        "{head}"
    );
    assert!(body.ends_with("# EOF\n"), "{body}");
    body.lines().filter(|l| !l.starts_with('#')).collect()
}

#[track_caller]
pub(crate) fn assert_sample(samples: &[&str], expected: &str) {
    assert!(
        samples.contains(&expected),
        "missing {expected:?} in:\n{}",
        samples.join("\n")
    );
}

#[tokio::test]
async fn counters_hold_exactly_what_happened() {
    let dir = ModelDir::new();
    tiny_model().save(&dir.path("next.model")).expect("save");
    dir.write("broken.model", b"DOCC");
    let server = dir
        .server_with(
            Limits {
                max_concurrent_requests: 1,
                max_streams: 1,
                ..Limits::default()
            },
            Security {
                admin_token: Secret::new(ADMIN_TOKEN),
                client_token: None,
            },
        )
        .await;
    let endpoint = MetricsEndpoint::start(&server).await;
    let metrics_addr = endpoint.addr;
    let server = TestServer::start_built(server, None).await;
    let mut client = ClassifierClient::new(server.channel().await);

    for _ in 0..3 {
        serving_version(&mut client).await;
    }
    let status = client
        .classify(ClassifyRequest::default())
        .await
        .expect_err("empty text");
    assert_eq!(status.code(), Code::InvalidArgument);
    let batch = ClassifyBatchRequest {
        documents: vec![
            conflict_document(),
            ClassifyRequest::default(),
            conflict_document(),
        ],
    };
    client.classify_batch(batch).await.expect("batch");
    reload(&server, "broken.model", false)
        .await
        .expect_err("truncated");
    let reloaded = reload(&server, "next.model", false).await.expect("reload");

    // An open stream holds no classification slot, so the next Classify is
    // answered; it holds the only stream place, so a second stream is refused.
    let mut stream = OpenStream::open(&mut client).await;
    stream.round_trip("Floods displaced thousands").await;
    serving_version(&mut client).await;
    let (_tx, rx) = tokio::sync::mpsc::channel::<ClassifyRequest>(1);
    let status = client
        .classify_stream(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .expect_err("one stream at most");
    assert_eq!(status.code(), Code::ResourceExhausted);

    let during = http_get(metrics_addr, "/metrics").await;
    let during = samples(&during);
    assert_sample(&during, "docclass_rpc_in_flight 1");
    assert_sample(&during, "docclass_streams_open 1");
    stream.close().await;

    let response = http_get(metrics_addr, "/metrics").await;
    let after = samples(&response);
    for expected in [
        r#"docclass_rpc_requests_total{method="docclass.v1.Classifier/Classify",code="OK"} 4"#,
        r#"docclass_rpc_requests_total{method="docclass.v1.Classifier/Classify",code="INVALID_ARGUMENT"} 1"#,
        r#"docclass_rpc_requests_total{method="docclass.v1.Classifier/ClassifyStream",code="RESOURCE_EXHAUSTED"} 1"#,
        r#"docclass_rpc_requests_total{method="docclass.v1.Classifier/ClassifyBatch",code="OK"} 1"#,
        r#"docclass_rpc_requests_total{method="docclass.v1.Classifier/ClassifyStream",code="OK"} 1"#,
        r#"docclass_rpc_requests_total{method="docclass.v1.Admin/ReloadModel",code="FAILED_PRECONDITION"} 1"#,
        r#"docclass_rpc_requests_total{method="docclass.v1.Admin/ReloadModel",code="OK"} 1"#,
        r#"docclass_rpc_latency_seconds_count{method="docclass.v1.Classifier/Classify"} 5"#,
        r#"docclass_rpc_latency_seconds_count{method="docclass.v1.Classifier/ClassifyStream"} 2"#,
        "docclass_rpc_in_flight 0",
        "docclass_rpc_shed_total 0",
        "docclass_streams_open 0",
        "docclass_streams_refused_total 1",
        "docclass_stream_messages_shed_total 0",
        // 4 Classify, 2 of the batch's 3, 1 on the stream.
        "docclass_documents_classified_total 7",
        r#"docclass_model_reloads_total{result="success"} 2"#,
        r#"docclass_model_reloads_total{result="failure"} 1"#,
    ] {
        assert_sample(&after, expected);
    }
    let model_info: Vec<&&str> = after
        .iter()
        .filter(|l| l.starts_with("docclass_model_info"))
        .collect();
    assert_eq!(
        model_info,
        [&format!(
            "docclass_model_info{{version=\"{}\"}} 1",
            reloaded.model_version
        )
        .as_str()]
    );
    let load_seconds = after
        .iter()
        .find_map(|l| l.strip_prefix("docclass_model_load_seconds "))
        .expect("load time");
    assert!(load_seconds.parse::<f64>().expect("a number") > 0.0);
    // Latency buckets are cumulative and end with +Inf = count.
    assert_sample(
        &after,
        r#"docclass_rpc_latency_seconds_bucket{le="+Inf",method="docclass.v1.Classifier/Classify"} 5"#,
    );

    let not_found = http_get(metrics_addr, "/other").await;
    assert!(
        not_found.starts_with("HTTP/1.1 404 Not Found\r\n"),
        "{not_found}"
    );
    server.stop().await;
    endpoint.stop().await;
}

#[tokio::test]
async fn work_shed_for_want_of_a_slot_is_counted() {
    // No classification slot at all: a Classify is shed before it starts,
    // and a stream message gets RESOURCE_EXHAUSTED as its outcome.
    let dir = ModelDir::new();
    let server = dir
        .server_with(
            Limits {
                max_concurrent_requests: 0,
                ..Limits::default()
            },
            Security::default(),
        )
        .await;
    let metrics = server.metrics();
    let server = TestServer::start_built(server, None).await;
    let mut client = ClassifierClient::new(server.channel().await);
    let status = client
        .classify(conflict_document())
        .await
        .expect_err("shed");
    assert_eq!(status.code(), Code::ResourceExhausted);
    let mut stream = OpenStream::open(&mut client).await;
    stream.tx.send(conflict_document()).await.expect("send");
    stream
        .inbound
        .message()
        .await
        .expect("the stream goes on")
        .expect("an outcome");
    stream.close().await;
    let encoded = metrics.encode();
    let after: Vec<&str> = encoded.lines().filter(|l| !l.starts_with('#')).collect();
    for expected in [
        "docclass_rpc_shed_total 1",
        "docclass_stream_messages_shed_total 1",
        "docclass_documents_classified_total 0",
    ] {
        assert_sample(&after, expected);
    }
    server.stop().await;
}
