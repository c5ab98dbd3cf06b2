//! gRPC health (grpc.health.v1) and server reflection (grpc.reflection.v1).
use crate::common::{tiny_model, TestServer};
use docclass::service::pb::{ClassifyRequest, ListTopicsRequest};
use docclass::service::LoadedModel;
use std::time::Duration;
use tokio::time::timeout;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
use tonic_reflection::pb::v1::{ServerReflectionRequest, ServerReflectionResponse};

const SERVICE: &str = "docclass.v1.Classifier";
const STEP: Duration = Duration::from_secs(5);

async fn status_of(health: &mut HealthClient<tonic::transport::Channel>, service: &str) -> i32 {
    health
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await
        .unwrap_or_else(|e| panic!("health check of {service:?}: {e:?}"))
        .into_inner()
        .status
}

fn loaded(model: docclass::model::Model) -> LoadedModel {
    LoadedModel {
        model,
        model_file: "late.model".into(),
        loaded_at: "2026-03-03T03:03:03Z".into(),
    }
}

#[tokio::test]
async fn not_serving_until_a_model_is_installed_then_serving() {
    let server = TestServer::start(None).await;
    let mut health = HealthClient::new(server.channel().await);
    let mut client = server.client().await;

    assert_eq!(
        status_of(&mut health, SERVICE).await,
        ServingStatus::NotServing as i32
    );
    assert_eq!(
        status_of(&mut health, "").await,
        ServingStatus::NotServing as i32
    );
    let status = client
        .classify(ClassifyRequest {
            text: "Troops clashed with militia".into(),
            ..Default::default()
        })
        .await
        .expect_err("no model yet");
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(
        status.message(),
        "no model is loaded yet; retry when the health check reports SERVING"
    );
    assert!(server.handle.current().is_none());

    let model = tiny_model();
    let version = model.version().to_string();
    server.handle.install(loaded(model)).await;

    assert_eq!(
        status_of(&mut health, SERVICE).await,
        ServingStatus::Serving as i32
    );
    assert_eq!(
        status_of(&mut health, "").await,
        ServingStatus::Serving as i32
    );
    assert_eq!(
        server.handle.current().expect("installed").model.version(),
        version
    );
    let response = client
        .classify(ClassifyRequest {
            text: "Troops clashed with militia".into(),
            ..Default::default()
        })
        .await
        .expect("classify works once the model is in")
        .into_inner();
    assert_eq!(response.labels, ["conflict"]);
    assert_eq!(response.model_version, version);
    let info = client
        .get_model_info(docclass::service::pb::GetModelInfoRequest {})
        .await
        .expect("model info")
        .into_inner();
    assert_eq!(info.model_file, "late.model");
    assert_eq!(info.loaded_at, "2026-03-03T03:03:03Z");
    server.stop().await;
}

#[tokio::test]
async fn unknown_health_service_is_not_found() {
    let server = TestServer::start(Some(tiny_model())).await;
    let mut health = HealthClient::new(server.channel().await);
    let status = health
        .check(HealthCheckRequest {
            service: "docclass.v1.Nope".into(),
        })
        .await
        .expect_err("not registered");
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(status.message(), "service not registered");
    server.stop().await;
}

#[tokio::test]
async fn health_watch_sees_the_model_arrive_and_not_serving_at_shutdown() {
    let server = TestServer::start(None).await;
    let mut health = HealthClient::new(server.channel().await);
    let mut watch = health
        .watch(HealthCheckRequest {
            service: SERVICE.into(),
        })
        .await
        .expect("watch")
        .into_inner();
    let mut next = async || {
        timeout(STEP, watch.message())
            .await
            .expect("a status in time")
            .expect("no error")
            .expect("still watching")
            .status
    };
    assert_eq!(next().await, ServingStatus::NotServing as i32);
    server.handle.install(loaded(tiny_model())).await;
    assert_eq!(next().await, ServingStatus::Serving as i32);
    server.handle.set_not_serving().await;
    assert_eq!(next().await, ServingStatus::NotServing as i32);
    // NOT_SERVING is advisory: the model stays and requests are still served.
    let response = server
        .client()
        .await
        .list_topics(ListTopicsRequest {})
        .await
        .expect("still answering")
        .into_inner();
    assert_eq!(response.topics.len(), 3);
    drop(watch);
    server.stop().await;
}

async fn reflect(
    server: &TestServer,
    requests: Vec<MessageRequest>,
) -> Vec<ServerReflectionResponse> {
    let mut client = ServerReflectionClient::new(server.channel().await);
    let n = requests.len();
    let outbound = tokio_stream::iter(requests.into_iter().map(|r| ServerReflectionRequest {
        host: String::new(),
        message_request: Some(r),
    }));
    let mut inbound = client
        .server_reflection_info(outbound)
        .await
        .expect("reflection stream")
        .into_inner();
    let mut responses = Vec::new();
    while let Some(r) = timeout(STEP, inbound.message())
        .await
        .expect("a response in time")
        .expect("no reflection error")
    {
        responses.push(r);
    }
    assert_eq!(responses.len(), n, "one response per request");
    responses
}

#[tokio::test]
async fn reflection_lists_the_classifier_health_and_reflection_services() {
    // Reflection works with or without a model.
    let server = TestServer::start(None).await;
    let responses = reflect(&server, vec![MessageRequest::ListServices(String::new())]).await;
    let Some(MessageResponse::ListServicesResponse(list)) = &responses[0].message_response else {
        panic!("expected a service list, got {:?}", responses[0]);
    };
    let mut names: Vec<&str> = list.service.iter().map(|s| s.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "docclass.v1.Admin",
            "docclass.v1.Classifier",
            // Listed always (one descriptor set); answers UNIMPLEMENTED unless enabled.
            "docclass.v1.Transport",
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection"
        ]
    );
    server.stop().await;
}

#[tokio::test]
async fn reflection_v1alpha_is_served_too() {
    use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient as AlphaClient;
    use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest as AlphaRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse as AlphaResponse;
    let server = TestServer::start(None).await;
    let mut client = AlphaClient::new(server.channel().await);
    let outbound = tokio_stream::iter([tonic_reflection::pb::v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(AlphaRequest::ListServices(String::new())),
    }]);
    let mut inbound = client
        .server_reflection_info(outbound)
        .await
        .expect("v1alpha reflection stream")
        .into_inner();
    let response = timeout(STEP, inbound.message())
        .await
        .expect("in time")
        .expect("no error")
        .expect("a response");
    let Some(AlphaResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("expected a service list");
    };
    let mut names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "docclass.v1.Admin",
            "docclass.v1.Classifier",
            // Listed always (one descriptor set); answers UNIMPLEMENTED unless enabled.
            "docclass.v1.Transport",
            "grpc.health.v1.Health",
            "grpc.reflection.v1alpha.ServerReflection"
        ]
    );
    server.stop().await;
}

/// The parts of `google.protobuf.FileDescriptorProto` the test reads; prost
/// skips the other fields.
#[derive(Clone, PartialEq, prost::Message)]
struct FileDescriptorProto {
    #[prost(string, optional, tag = "1")]
    name: Option<String>,
    #[prost(string, optional, tag = "2")]
    package: Option<String>,
    #[prost(message, repeated, tag = "4")]
    message_type: Vec<NamedProto>,
    #[prost(message, repeated, tag = "6")]
    service: Vec<ServiceDescriptorProto>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct NamedProto {
    #[prost(string, optional, tag = "1")]
    name: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct ServiceDescriptorProto {
    #[prost(string, optional, tag = "1")]
    name: Option<String>,
    #[prost(message, repeated, tag = "2")]
    method: Vec<MethodDescriptorProto>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct MethodDescriptorProto {
    #[prost(string, optional, tag = "1")]
    name: Option<String>,
    #[prost(string, optional, tag = "2")]
    input_type: Option<String>,
    #[prost(string, optional, tag = "3")]
    output_type: Option<String>,
    #[prost(bool, optional, tag = "5")]
    client_streaming: Option<bool>,
    #[prost(bool, optional, tag = "6")]
    server_streaming: Option<bool>,
}

fn descriptors(response: &ServerReflectionResponse) -> Vec<FileDescriptorProto> {
    let Some(MessageResponse::FileDescriptorResponse(files)) = &response.message_response else {
        panic!("expected file descriptors, got {response:?}");
    };
    files
        .file_descriptor_proto
        .iter()
        .map(|bytes| prost::Message::decode(bytes.as_slice()).expect("a FileDescriptorProto"))
        .collect()
}

#[tokio::test]
async fn reflection_returns_the_classifier_descriptor() {
    let server = TestServer::start(Some(tiny_model())).await;
    let responses = reflect(
        &server,
        vec![
            MessageRequest::FileContainingSymbol(SERVICE.into()),
            MessageRequest::FileContainingSymbol("docclass.v1.Classifier.ClassifyStream".into()),
            MessageRequest::FileContainingSymbol("docclass.v1.ClassifyOutcome".into()),
            MessageRequest::FileByFilename("docclass/v1/classifier.proto".into()),
        ],
    )
    .await;

    let files = descriptors(&responses[0]);
    assert_eq!(files.len(), 1, "the proto imports nothing");
    let file = &files[0];
    assert_eq!(file.name.as_deref(), Some("docclass/v1/classifier.proto"));
    assert_eq!(file.package.as_deref(), Some("docclass.v1"));
    assert_eq!(file.service.len(), 1);
    let service = &file.service[0];
    assert_eq!(service.name.as_deref(), Some("Classifier"));
    let methods: Vec<(&str, &str, &str, bool, bool)> = service
        .method
        .iter()
        .map(|m| {
            (
                m.name.as_deref().unwrap_or_default(),
                m.input_type.as_deref().unwrap_or_default(),
                m.output_type.as_deref().unwrap_or_default(),
                m.client_streaming.unwrap_or(false),
                m.server_streaming.unwrap_or(false),
            )
        })
        .collect();
    assert_eq!(
        methods,
        [
            (
                "Classify",
                ".docclass.v1.ClassifyRequest",
                ".docclass.v1.ClassifyResponse",
                false,
                false
            ),
            (
                "ClassifyBatch",
                ".docclass.v1.ClassifyBatchRequest",
                ".docclass.v1.ClassifyBatchResponse",
                false,
                false
            ),
            (
                "ClassifyStream",
                ".docclass.v1.ClassifyRequest",
                ".docclass.v1.ClassifyOutcome",
                true,
                true
            ),
            (
                "ListTopics",
                ".docclass.v1.ListTopicsRequest",
                ".docclass.v1.ListTopicsResponse",
                false,
                false
            ),
            (
                "GetModelInfo",
                ".docclass.v1.GetModelInfoRequest",
                ".docclass.v1.ModelInfo",
                false,
                false
            ),
        ]
    );
    let messages: Vec<&str> = file
        .message_type
        .iter()
        .filter_map(|m| m.name.as_deref())
        .collect();
    for m in [
        "ClassifyRequest",
        "ClassifyOutcome",
        "DocumentError",
        "ModelInfo",
    ] {
        assert!(messages.contains(&m), "{m} in {messages:?}");
    }
    // A method, a message and the file name all lead to the same file.
    for r in &responses[1..4] {
        assert_eq!(descriptors(r), files);
    }
    server.stop().await;
}

/// tonic-reflection ends the stream with a NOT_FOUND status for an unknown
/// symbol, rather than the in-band `ErrorResponse` the reflection proto
/// describes.
#[tokio::test]
async fn reflection_of_an_unknown_symbol_ends_the_stream_with_not_found() {
    let server = TestServer::start(Some(tiny_model())).await;
    let mut client = ServerReflectionClient::new(server.channel().await);
    let outbound = tokio_stream::iter([ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::FileContainingSymbol(
            "docclass.v1.Nope".into(),
        )),
    }]);
    let mut inbound = client
        .server_reflection_info(outbound)
        .await
        .expect("reflection stream")
        .into_inner();
    let status = timeout(STEP, inbound.message())
        .await
        .expect("an answer in time")
        .expect_err("an unknown symbol");
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(status.message(), "symbol 'docclass.v1.Nope' not found");
    server.stop().await;
}

fn watch_request() -> HealthCheckRequest {
    HealthCheckRequest {
        service: String::new(),
    }
}

/// Watch and reflection streams need no token, so they are bounded: past
/// `max_side_streams` one is refused, while checks and classification go on.
#[tokio::test]
async fn side_streams_have_their_own_cap_and_the_rest_is_served() {
    let limits = docclass::service::Limits {
        max_side_streams: 3,
        ..Default::default()
    };
    let server = TestServer::start_with(Some(tiny_model()), limits, Duration::from_secs(30)).await;
    let mut health = HealthClient::new(server.channel().await);
    let mut open = Vec::new();
    for _ in 0..3 {
        let mut watch = health
            .watch(watch_request())
            .await
            .expect("watch")
            .into_inner();
        // The first message: the stream is open and holds its place.
        watch.message().await.expect("status").expect("a status");
        open.push(watch);
    }
    let refused = health
        .watch(watch_request())
        .await
        .expect_err("a fourth watch is refused");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    let mut reflection = ServerReflectionClient::new(server.channel().await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let refused = reflection
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .expect_err("reflection streams share the cap");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    // Checks and classification are not side streams.
    assert_eq!(
        status_of(&mut health, "").await,
        ServingStatus::Serving as i32
    );
    server
        .client()
        .await
        .classify(ClassifyRequest {
            text: "Troops clashed with rebels".into(),
            ..Default::default()
        })
        .await
        .expect("classification is served");
    // A stream that ends gives its place back.
    drop(open.pop());
    let mut served = false;
    for _ in 0..50 {
        if health.watch(watch_request()).await.is_ok() {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(served, "no watch was admitted after one ended");
    // Open streams would hold the graceful shutdown until their lifetime.
    drop(open);
    drop(health);
    server.stop().await;
}

#[tokio::test]
async fn a_side_stream_ends_with_deadline_exceeded_at_its_lifetime() {
    let limits = docclass::service::Limits {
        side_stream_lifetime: Duration::from_millis(300),
        ..Default::default()
    };
    let server = TestServer::start_with(Some(tiny_model()), limits, Duration::from_secs(30)).await;
    let mut health = HealthClient::new(server.channel().await);
    let mut watch = health
        .watch(watch_request())
        .await
        .expect("watch")
        .into_inner();
    let first = watch.message().await.expect("status").expect("a status");
    assert_eq!(first.status, ServingStatus::Serving as i32);
    let ended = timeout(Duration::from_secs(5), watch.message())
        .await
        .expect("the stream ends within its lifetime")
        .expect_err("it ends with a status");
    assert_eq!(ended.code(), Code::DeadlineExceeded, "{ended:?}");
    server.stop().await;
}
