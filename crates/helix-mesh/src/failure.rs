//! Failures told upstream. When an agent cannot do a job it was paid for
//! (its own payment or service failed), it tells its payer why, through
//! the mesh, so the payer's Helix perceives a cascade failure with its
//! cause rather than waiting out a timeout.
//!
//! The notice travels as a message body `{"kind": "failure", ...}`; the
//! payer turns it into an [`ErrorSignal`] whose text names the failing
//! downstream agent, which Helix classifies as cascade-failure/cascade
//! (repairs: `reroute_via_alt`, `refund_waterfall`).

use alloy::primitives::Address;
use helix_core::{ErrorSignal, Platform};
use serde::{Deserialize, Serialize};

/// Longest cause carried (a hostile agent cannot send a novel).
pub const MAX_CAUSE: usize = 1024;

/// A downstream agent could not do a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename = "failure")]
pub struct FailureNotice {
    /// The job (the payer's id for it).
    pub job: String,
    /// The agent that failed (the sender; checked against the message's
    /// authenticated sender before it is believed).
    pub agent: Address,
    /// What failed, in the failing agent's words (its error text).
    pub cause: String,
    /// The HTTP status its service answered, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The transaction that gave the payer its money back, when the
    /// failing agent refunded (the payer checks it on chain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_tx: Option<alloy::primitives::B256>,
}

impl FailureNotice {
    /// The message body.
    pub fn body(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// A notice from a received message body, if it is one and it names
    /// its real sender (`from`, authenticated by the mesh).
    pub fn read(from: Address, body: &serde_json::Value) -> Option<FailureNotice> {
        let mut n: FailureNotice = serde_json::from_value(body.clone()).ok()?;
        if n.agent != from {
            return None;
        }
        if n.cause.len() > MAX_CAUSE {
            let mut end = MAX_CAUSE;
            while !n.cause.is_char_boundary(end) {
                end -= 1;
            }
            n.cause.truncate(end);
        }
        Some(n)
    }

    /// The signal the payer's Helix perceives.
    pub fn signal(&self) -> ErrorSignal {
        let s = ErrorSignal::message(format!(
            "downstream agent {} failed on job {}: {}",
            self.agent, self.job, self.cause
        ))
        .with_platform(Platform::Tempo);
        match self.status {
            Some(st) => s.with_status(st),
            None => s,
        }
    }
}
