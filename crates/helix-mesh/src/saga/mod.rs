//! Sagas: a chain of payments across agents (A pays B, B pays C ...), each
//! step with its compensation (the payee refunds the payer). The
//! coordinator writes its log to PostgreSQL before each action, so one that
//! crashed resumes where it stopped and never runs an action twice: every
//! transfer is logged with its hash and nonce before it is broadcast, and a
//! resumed coordinator asks the chain what became of a logged transfer
//! before it sends anything (as the engine reconciles an outcome-unknown
//! payment).
//!
//! When a step's check fails, the done steps are compensated in reverse
//! order (the refund waterfall: C refunds B, then B refunds A), each once.

mod log;
mod run;
mod view;

use alloy::primitives::Address;
use serde::{Deserialize, Serialize};

pub use log::{Action, ActionStatus, SagaLog, SagaState};
pub use run::{Coordinator, SagaError, SagaOutcome};
pub use view::{ActionView, SagaView, StepView};

/// One TIP-20 transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    /// The payer (its key signs).
    pub from: Address,
    /// The payee.
    pub to: Address,
    /// The TIP-20.
    pub token: Address,
    /// Base units.
    #[serde(with = "amount")]
    pub amount: u128,
}

impl Transfer {
    /// The transfer that undoes this one.
    pub fn reversed(&self) -> Transfer {
        Transfer {
            from: self.to,
            to: self.from,
            ..*self
        }
    }
}

/// A step: a payment, undone by the payee refunding it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// What it is for.
    pub name: String,
    /// The payment.
    pub pay: Transfer,
}

/// A saga's plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Unique per saga (the log's key and every transfer's idempotency key prefix).
    pub id: String,
    /// In order.
    pub steps: Vec<Step>,
}

pub(crate) mod amount {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}
