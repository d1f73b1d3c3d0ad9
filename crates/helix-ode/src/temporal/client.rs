//! Talking to Temporal: start an objective's workflow, read its progress,
//! cancel it, wait for its report; and run a worker.

use std::sync::Arc;
use std::time::Duration;

use temporalio_client::{
    Client, ClientOptions, Connection, ConnectionOptions, Url, WorkflowCancelOptions,
    WorkflowGetResultOptions, WorkflowQueryOptions, WorkflowStartOptions,
};
use temporalio_sdk::{Runtime, Worker, WorkerOptions};

use super::TASK_QUEUE;
use super::activities::OdeActivities;
use super::workflow::{ObjectiveReport, ObjectiveRun, ObjectiveWorkflow};
use crate::actions::Actions;

/// Why Temporal could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum TemporalError {
    /// The address does not parse.
    #[error("Temporal address {0}: not a URL")]
    Address(String),
    /// No connection.
    #[error("Temporal at {at}: {reason}")]
    Connect {
        /// The address.
        at: String,
        /// Why.
        reason: String,
    },
    /// The call failed.
    #[error("{0}")]
    Call(String),
}

fn call(e: impl std::fmt::Display) -> TemporalError {
    TemporalError::Call(e.to_string())
}

/// A client of one Temporal namespace.
#[derive(Clone)]
pub struct Temporal {
    client: Client,
    at: String,
}

impl std::fmt::Debug for Temporal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Temporal").field("at", &self.at).finish()
    }
}

impl Temporal {
    /// Connects to `at` (`http://127.0.0.1:7233`), namespace `default`.
    pub async fn connect(at: &str) -> Result<Self, TemporalError> {
        let url = Url::parse(at).map_err(|_| TemporalError::Address(at.to_owned()))?;
        let opts = ConnectionOptions::new(url)
            .identity(format!("helix-{}", std::process::id()))
            .build();
        let conn = Connection::connect(opts)
            .await
            .map_err(|e| TemporalError::Connect {
                at: at.to_owned(),
                reason: e.to_string(),
            })?;
        let client = Client::new(conn, ClientOptions::new("default").build()).map_err(call)?;
        Ok(Temporal {
            client,
            at: at.to_owned(),
        })
    }

    pub(super) fn client(&self) -> &Client {
        &self.client
    }

    /// Starts `run` as workflow `id`; answers the run id.
    pub async fn start(&self, id: &str, run: ObjectiveRun) -> Result<String, TemporalError> {
        let h = self
            .client
            .start_workflow(
                ObjectiveWorkflow::run,
                run,
                WorkflowStartOptions::new(TASK_QUEUE, id).build(),
            )
            .await
            .map_err(call)?;
        Ok(h.run_id().unwrap_or_default().to_owned())
    }

    /// Every step's state now (a query: a worker must be running).
    pub async fn progress(&self, id: &str) -> Result<ObjectiveReport, TemporalError> {
        self.client
            .get_workflow_handle::<ObjectiveWorkflow>(id)
            .query(
                ObjectiveWorkflow::progress,
                (),
                WorkflowQueryOptions::default(),
            )
            .await
            .map_err(call)
    }

    /// Asks the workflow to stop starting steps; running ones finish.
    pub async fn cancel(&self, id: &str, reason: &str) -> Result<(), TemporalError> {
        self.client
            .get_workflow_handle::<ObjectiveWorkflow>(id)
            .cancel(WorkflowCancelOptions::builder().reason(reason).build())
            .await
            .map_err(call)
    }

    /// Waits for the workflow's report.
    pub async fn report(&self, id: &str) -> Result<ObjectiveReport, TemporalError> {
        self.client
            .get_workflow_handle::<ObjectiveWorkflow>(id)
            .get_result(WorkflowGetResultOptions::default())
            .await
            .map_err(call)
    }

    /// Runs `body` with a worker for objectives beside it, in this task
    /// (the worker's future is not `Send`), and stops the worker once
    /// `body` has ended.
    pub async fn with_worker<T>(
        &self,
        actions: Arc<dyn Actions>,
        body: impl std::future::Future<Output = T>,
    ) -> Result<T, TemporalError> {
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let worker = self.work(actions, async move {
            let _ = stop_rx.await;
        });
        let body = async move {
            let out = body.await;
            let _ = stop_tx.send(());
            out
        };
        let (worked, out) = tokio::join!(worker, body);
        worked?;
        Ok(out)
    }

    /// Runs a worker for objectives with `actions` until `stop` resolves
    /// (then it stops polling and lets running steps finish).
    pub async fn work(
        &self,
        actions: Arc<dyn Actions>,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), TemporalError> {
        let runtime = Runtime::from_current_tokio(Default::default()).map_err(call)?;
        let opts = WorkerOptions::new(TASK_QUEUE)
            .register_workflow::<ObjectiveWorkflow>()
            .map_err(call)?
            .register_activities(OdeActivities::new(actions))
            // No sticky cache: a worker that dies leaves nothing another
            // must wait out before it takes the workflow over.
            .max_cached_workflows(0usize)
            .sticky_queue_schedule_to_start_timeout(Duration::from_secs(1))
            .build();
        let mut worker = Worker::new(&runtime, self.client.clone(), opts).map_err(call)?;
        let shutdown = worker.shutdown_handle();
        tokio::spawn(async move {
            stop.await;
            shutdown();
        });
        worker.run().await.map_err(call)
    }
}
