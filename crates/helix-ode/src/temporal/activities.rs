//! The activities: a step through [`Actions`], heartbeating while it runs
//! so a worker that died is noticed in seconds, not at the step's timeout.
#![allow(missing_docs)] // the SDK's macros add items of their own, undocumented

use std::sync::Arc;
use std::time::Duration;

use temporalio_common::error::ApplicationFailure;
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

use crate::actions::{ActionError, Actions, StepResult};
use crate::validate::Step;

/// How often a running step tells Temporal it is alive.
pub(crate) const HEARTBEAT_EVERY: Duration = Duration::from_secs(1);

/// One step to run.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct StepInput {
    /// The objective (the workflow id).
    pub objective: String,
    /// The step.
    pub step: Step,
    /// Payments are looked for on chain from this block on.
    pub since_block: u64,
}

/// The worker's activities over the agent's [`Actions`].
pub struct OdeActivities {
    actions: Arc<dyn Actions>,
}

impl OdeActivities {
    /// Runs steps with `actions`.
    pub fn new(actions: Arc<dyn Actions>) -> Self {
        OdeActivities { actions }
    }
}

fn failure(e: ActionError) -> ActivityError {
    match e {
        ActionError::Retryable(m) => ApplicationFailure::new(m).into(),
        ActionError::Final(m) => ApplicationFailure::non_retryable(m).into(),
    }
}

#[activities]
impl OdeActivities {
    /// The block payments are looked for from.
    #[activity]
    pub async fn begin(
        self: Arc<Self>,
        _ctx: ActivityContext,
        _objective: String,
    ) -> Result<u64, ActivityError> {
        self.actions.begin().await.map_err(failure)
    }

    /// Runs one step.
    #[activity]
    pub async fn step(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: StepInput,
    ) -> Result<StepResult, ActivityError> {
        let attempt = ctx.info().attempt;
        tracing::info!(target: "helix::ode", objective = %input.objective, step = %input.step.id, attempt, "step");
        let work = self
            .actions
            .run(&input.objective, &input.step, input.since_block);
        let beat = async {
            loop {
                // A lost heartbeat only means Temporal may retry sooner; the
                // payment's memo keeps the retry from paying twice.
                let _ = ctx.record_heartbeat(attempt).await;
                tokio::time::sleep(HEARTBEAT_EVERY).await;
            }
        };
        tokio::select! {
            r = work => r.map_err(failure),
            () = beat => unreachable!("the heartbeat loop never ends"),
        }
    }
}
