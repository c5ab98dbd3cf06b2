//! Shared helpers for the gRPC integration tests: a small model trained in
//! the test, and an in-process server on 127.0.0.1:0 with a shutdown signal.

pub mod admin;
pub mod messages;
pub mod process;
pub mod raw_grpc;
pub mod tls;

use docclass::corpus::Document;
use docclass::model::Model;
use docclass::service::pb::classifier_client::ClassifierClient;
use docclass::service::{Limits, LoadedModel, ModelHandle, Server, WorkerHook};
use docclass::text::Lang;
use docclass::train::{self, Silent, TopicSpec, TrainOptions, Validation};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tonic::transport::Channel;

/// A sentence [`tiny_model`] decides as `conflict`.
pub const TROOPS: &str = "Troops clashed with militia and artillery shelled rebel positions";

/// Topic ids of [`tiny_model`].
pub const TOPICS: [&str; 3] = ["conflict", "disaster", "other"];

const CONFLICT: &[&str] = &[
    "Troops and militia clashed near the border as artillery shelled the rebel positions overnight",
    "The army launched an offensive against insurgents and airstrikes hit a weapons depot",
    "Soldiers retook the town after fighting with armed groups and rebels fled the artillery",
    "Militia fighters ambushed an army convoy and troops returned fire with heavy artillery",
    "Airstrikes pounded insurgent bases while ground troops advanced on the rebel stronghold",
    "Les soldats ont repris la ville après des combats avec les rebelles et les milices armées",
];
const DISASTER: &[&str] = &[
    "The earthquake destroyed homes and rescue teams searched the rubble for survivors",
    "Floods displaced thousands and aid agencies delivered food, tents and clean water",
    "A cyclone flattened villages and relief workers set up shelters for the homeless",
    "Rescue teams pulled survivors from the rubble after the earthquake and aftershocks",
    "Aid convoys brought food and medicine to families displaced by the floods",
    "Le séisme a détruit des maisons et les secours cherchent des survivants dans les décombres",
];
const OTHER: &[&str] = &[
    "The football club won the cup final with a late goal in front of a sold out stadium",
    "The museum opened an exhibition of paintings and the festival drew large crowds",
    "Shares rose on the stock market after the company reported strong quarterly profits",
    "The orchestra played a concert of symphonies at the festival on Saturday night",
    "The tennis champion won the final in straight sets to lift the trophy",
    "Le club de football a remporté la finale de la coupe devant un stade comble",
];

/// Documents for [`tiny_model`]: each topic's sentences, plus one two-topic document.
pub fn tiny_documents() -> Vec<Document> {
    let mut docs = Vec::new();
    for (label, texts) in [
        ("conflict", CONFLICT),
        ("disaster", DISASTER),
        ("other", OTHER),
    ] {
        for (i, text) in texts.iter().enumerate() {
            docs.push(Document {
                id: format!("{label}-{i}"),
                title: None,
                text: text.to_string(),
                labels: vec![label.to_string()],
                lang: Some(if text.starts_with("Le") {
                    Lang::Fr
                } else {
                    Lang::En
                }),
                split: None,
            });
        }
    }
    docs.push(Document {
        id: "both-0".into(),
        title: None,
        text: "Fighting between troops and militia displaced thousands and aid agencies delivered food and tents".into(),
        labels: vec!["conflict".into(), "disaster".into()],
        lang: Some(Lang::En),
        split: None,
    });
    docs
}

/// A small three-topic model trained in the test (`other` exclusive, tuned thresholds).
pub fn tiny_model() -> Model {
    let topics = TOPICS
        .iter()
        .map(|id| TopicSpec {
            id: id.to_string(),
            name_en: Some(format!("{id} (en)")),
            name_fr: Some(format!("{id} (fr)")),
            description: format!("about {id}"),
            exclusive: *id == "other",
        })
        .collect();
    let mut options = TrainOptions {
        validation: Validation::KFold(3),
        // Raw posteriors: the assertions on decided labels were written for them.
        calibrate: false,
        topics,
        ..TrainOptions::default()
    };
    options.features.mode = docclass::features::FeatureMode::Vocabulary {
        min_df: 1,
        max_df: 1.0,
        max_features: None,
    };
    options.created_at = "2026-01-01T00:00:00Z".into();
    let (model, _) =
        train::train(&tiny_documents(), &options, &Silent).expect("the tiny corpus trains");
    model
}

/// [`tiny_model`] with one topic id changed: `other` becomes `misc`.
pub fn tiny_model_with_misc_topic() -> Model {
    let mut documents = tiny_documents();
    for doc in &mut documents {
        for label in &mut doc.labels {
            if label == "other" {
                *label = "misc".into();
            }
        }
    }
    let topics = ["conflict", "disaster", "misc"]
        .iter()
        .map(|id| TopicSpec {
            id: id.to_string(),
            name_en: None,
            name_fr: None,
            description: format!("about {id}"),
            exclusive: *id == "misc",
        })
        .collect();
    let options = TrainOptions {
        validation: Validation::KFold(3),
        topics,
        created_at: "2026-01-01T00:00:00Z".into(),
        ..TrainOptions::default()
    };
    let (model, _) = train::train(&documents, &options, &Silent).expect("the tiny corpus trains");
    model
}

/// A server running in-process on an ephemeral loopback port.
pub struct TestServer {
    pub addr: SocketAddr,
    pub handle: ModelHandle,
    shutdown: Option<oneshot::Sender<()>>,
    join: Option<tokio::task::JoinHandle<Result<(), docclass::service::ServerError>>>,
}

impl TestServer {
    /// Starts a server with `model` installed (or none), and default limits.
    pub async fn start(model: Option<Model>) -> TestServer {
        Self::start_with(model, Limits::default(), Duration::from_secs(30)).await
    }

    pub async fn start_with(model: Option<Model>, limits: Limits, timeout: Duration) -> TestServer {
        Self::start_built(Server::new(limits, timeout).await, model).await
    }

    /// Starts a server with `model` installed (or none) that also serves
    /// `docclass.v1.Transport/Noop`, as `docclass-server --enable-noop-rpc` does.
    pub async fn start_with_noop_rpc(model: Option<Model>) -> TestServer {
        let server = Server::new(Limits::default(), Duration::from_secs(30))
            .await
            .with_noop_rpc(true);
        Self::start_built(server, model).await
    }

    /// Starts a server the test configured itself (tokens, TLS, model files).
    pub async fn start_built(server: Server, model: Option<Model>) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let handle = server.handle();
        if let Some(model) = model {
            handle
                .install(LoadedModel {
                    model,
                    model_file: "tiny.model".into(),
                    loaded_at: "2026-01-01T00:00:00Z".into(),
                })
                .await;
        }
        let (tx, rx) = oneshot::channel::<()>();
        let join = tokio::spawn(server.serve(listener, async {
            let _ = rx.await;
        }));
        TestServer {
            addr,
            handle,
            shutdown: Some(tx),
            join: Some(join),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn channel(&self) -> Channel {
        Channel::from_shared(self.url())
            .expect("valid url")
            .connect()
            .await
            .expect("connect to the test server")
    }

    pub async fn client(&self) -> ClassifierClient<Channel> {
        ClassifierClient::new(self.channel().await)
            .max_decoding_message_size(64 << 20)
            .max_encoding_message_size(64 << 20)
    }

    /// Signals shutdown and waits for the server to stop.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(join) = self.join.take() {
            join.await
                .expect("server task")
                .expect("server ran cleanly");
        }
    }

    /// Signals shutdown and returns the server task, to await later.
    pub fn begin_shutdown(
        &mut self,
    ) -> tokio::task::JoinHandle<Result<(), docclass::service::ServerError>> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.join.take().expect("server task not yet taken")
    }
}

/// A worker hook that, while `holding` is set, tells `arrived` and holds
/// each classification on its worker until `released(cancelled)` is true
/// (`cancelled`: its call was dropped). The tests' ways to keep work in
/// progress while they look at what the server does meanwhile.
pub fn hold_each(
    holding: Arc<AtomicBool>,
    arrived: mpsc::UnboundedSender<()>,
    released: impl Fn(&AtomicBool) -> bool + Send + Sync + 'static,
) -> WorkerHook {
    WorkerHook(Arc::new(move |cancelled: &AtomicBool| {
        if !holding.load(Ordering::SeqCst) {
            return;
        }
        let _ = arrived.send(());
        while !released(cancelled) {
            std::thread::park_timeout(Duration::from_millis(1));
        }
    }))
}
