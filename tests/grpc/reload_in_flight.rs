//! A unary call and a batch finish on the model they started with while a
//! reload puts another in service during them. Ordered by events: a worker
//! hook holds each call on its worker, after it has taken its model, until
//! the reload has answered; only then does the call go on.
use crate::common::admin::*;
use crate::common::messages::request;
use crate::common::{hold_each, tiny_model, TestServer};
use docclass::service::pb::classify_outcome::Outcome;
use docclass::service::pb::ClassifyBatchRequest;
use docclass::service::{Limits, Secret, Security, WorkerHook};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::timeout;

/// No step should take anywhere near this long.
const STEP: Duration = Duration::from_secs(30);

/// Holds each classification on its worker, while `holding` is set, until
/// `released` is: tells `arrived` first. A call dropped meanwhile goes on.
fn hold_until_released(
    holding: Arc<AtomicBool>,
    released: Arc<AtomicBool>,
    arrived: mpsc::UnboundedSender<()>,
) -> WorkerHook {
    hold_each(holding, arrived, move |cancelled| {
        released.load(Ordering::SeqCst) || cancelled.load(Ordering::SeqCst)
    })
}

/// The hook's switches and its arrivals, driven from the test.
struct Gate {
    holding: Arc<AtomicBool>,
    released: Arc<AtomicBool>,
    arrivals: mpsc::UnboundedReceiver<()>,
}

impl Gate {
    /// Runs `call` held on its worker across a reload of `model_path`, which
    /// must put `version` in service; returns the call's own answer.
    async fn across_reload<T: Send + 'static>(
        &mut self,
        server: &TestServer,
        model_path: &str,
        version: &str,
        call: impl std::future::Future<Output = T> + Send + 'static,
    ) -> T {
        self.holding.store(true, Ordering::SeqCst);
        self.released.store(false, Ordering::SeqCst);
        let call = tokio::spawn(call);
        timeout(STEP, self.arrivals.recv())
            .await
            .expect("the call reaches its worker");
        let reloaded = reload(server, model_path, false).await.expect("reload");
        assert_eq!(reloaded.model_version, version);
        self.holding.store(false, Ordering::SeqCst);
        self.released.store(true, Ordering::SeqCst);
        timeout(STEP, call)
            .await
            .expect("the call finishes")
            .expect("call task")
    }
}

#[tokio::test]
async fn calls_in_flight_finish_on_their_model_across_a_reload() {
    let dir = ModelDir::new();
    let next = tiny_model();
    next.save(&dir.path("next.model")).expect("save");
    let next_version = next.version().to_string();
    assert_ne!(next_version, FIXTURE_VERSION);

    let (arrived, arrivals) = mpsc::unbounded_channel();
    let mut gate = Gate {
        holding: Arc::new(AtomicBool::new(false)),
        released: Arc::new(AtomicBool::new(false)),
        arrivals,
    };
    let security = Security {
        admin_token: Secret::new(ADMIN_TOKEN),
        client_token: None,
    };
    let built = dir
        .server_with(Limits::default(), security)
        .await
        .with_worker_hook(hold_until_released(
            gate.holding.clone(),
            gate.released.clone(),
            arrived,
        ));
    let server = TestServer::start_built(built, None).await;
    let mut client = server.client().await;
    assert_eq!(serving_version(&mut client).await, FIXTURE_VERSION);

    // A unary call, held on its worker with the fixture model, across a
    // reload to next.model. One call at a time: a one-core machine has one
    // worker.
    let mut unary = client.clone();
    let answered = gate
        .across_reload(&server, "next.model", &next_version, async move {
            unary.classify(conflict_document()).await
        })
        .await
        .expect("Classify succeeds")
        .into_inner();
    assert_eq!(answered.model_version, FIXTURE_VERSION);
    assert_eq!(answered.labels, ["conflict"]);
    assert_eq!(serving_version(&mut client).await, next_version);

    // A batch, held with next.model, across a reload back to the fixture.
    let mut batch = client.clone();
    let documents = (0..20)
        .map(|i| request(&format!("Troops clashed with militia, report {i}")))
        .collect();
    let answered = gate
        .across_reload(&server, CURRENT, FIXTURE_VERSION, async move {
            batch
                .classify_batch(ClassifyBatchRequest { documents })
                .await
        })
        .await
        .expect("ClassifyBatch succeeds")
        .into_inner();
    assert_eq!(answered.model_version, next_version);
    assert_eq!(answered.outcomes.len(), 20);
    for outcome in &answered.outcomes {
        let Some(Outcome::Result(result)) = &outcome.outcome else {
            panic!("expected a result: {outcome:?}");
        };
        assert_eq!(result.model_version, next_version);
    }
    assert_eq!(serving_version(&mut client).await, FIXTURE_VERSION);
    server.stop().await;
}
