//! What a plan's steps do in the world, behind one trait: the Temporal
//! worker calls it from its activities, a test or a bench calls it
//! directly. [`crate::tempo::TempoActions`] pays on a Tempo chain.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::validate::Step;

/// What a step did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepResult {
    /// The transaction that made the payment (or the swap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx: Option<String>,
    /// The payment was found already made (an earlier attempt's, by its
    /// memo on chain) and nothing was sent.
    #[serde(default)]
    pub found_on_chain: bool,
    /// The repairs Helix made on the way, in order.
    #[serde(default)]
    pub repairs: Vec<String>,
    /// Every repair came from a gene without construct.
    #[serde(default)]
    pub immune: bool,
    /// Transactions the repairs sent.
    #[serde(default)]
    pub repair_txs: Vec<String>,
    /// Anything worth telling (a notification's text, a balance read).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// Why a step did not finish.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    /// Worth another attempt (a node that did not answer).
    #[error("{0}")]
    Retryable(String),
    /// Another attempt would do the same (Helix gave up, a balance too
    /// low, a transfer on chain that is not the one planned).
    #[error("{0}")]
    Final(String),
}

/// Runs steps. `objective` and the step's id together are the payment's
/// idempotency key: however often a step is attempted, it pays once.
#[async_trait]
pub trait Actions: Send + Sync {
    /// The chain's block number now: a plan's payments are looked for on
    /// chain from here on.
    async fn begin(&self) -> Result<u64, ActionError>;
    /// Runs `step` of `objective` (not `wait_until`, which the workflow
    /// waits out itself). `since_block` is [`Actions::begin`]'s answer.
    async fn run(
        &self,
        objective: &str,
        step: &Step,
        since_block: u64,
    ) -> Result<StepResult, ActionError>;
}

/// The idempotency key of `step` of `objective`.
pub fn payment_key(objective: &str, step: &str) -> String {
    format!("helix-ode/{objective}/{step}")
}
