//! Scenario 9: agents that buy services from agents. A pays B for a job; B
//! pays a provider C for a part of it; when C fails, B's Helix repairs the
//! cascade with `reroute_via_alt` (another provider of the same service,
//! found through the mesh) or `refund_waterfall` (C refunds B, then B
//! refunds A, each once).
//!
//! The rule that lets a repair change who is paid: a sub-job buys a
//! *service*, so its request names the service as its recipient
//! (`service:<name>`) and the provider it pays as its endpoint. The
//! engine's invariant (the recipient never changes) holds; the provider may
//! change only to one on the operator's list for that service, at a price
//! no higher than the request's amount, and only once every earlier payment
//! for the job came back (checked on chain). A provider that kept the money
//! leaves the job "payment sent, outcome unproven", where only repairs that
//! cannot pay again may run.

mod buy;
mod ledger;
mod messages;
mod recover;
mod reroute;
mod waterfall;

pub use buy::{BuyError, Delivered, SubJob, buy};
pub use ledger::{JournalError, Ledger, Leg, Upstream};
pub use messages::{
    JobRequest, JobResult, Kind, Offer, Quote, QuoteRequest, RefundRequest, Refunded, body, read,
};
pub use reroute::RerouteViaAlt;
pub use waterfall::RefundWaterfall;

use alloy::primitives::B256;
use helix_tempo::{ChainError, Moved, TempoChain};

/// Whether transaction `tx` made the transfer `want` (read from its
/// receipt's logs): what proves a payment or a refund to the agent that
/// did not send it.
pub async fn proves(chain: &TempoChain, tx: B256, want: Moved) -> Result<bool, ChainError> {
    Ok(chain
        .transfers_in(tx)
        .await?
        .is_some_and(|moved| moved.contains(&want)))
}

/// A message id for the relay (at most 64 bytes): `key` itself when short
/// enough, else its keccak-256 in hex. Same key, same id, so a resend is
/// deduplicated by the relay.
pub fn message_id(key: &str) -> String {
    if key.len() <= 64 {
        key.to_owned()
    } else {
        alloy::hex::encode(alloy::primitives::keccak256(key.as_bytes()))
    }
}

/// Sends `body` about `job` to `to` (id `<job>:<what>`, so a resend is
/// deduplicated). A send that fails is logged, not returned: the peer's own
/// wait for it ends in a timeout it handles.
pub async fn tell(
    mail: &crate::Mailbox,
    to: alloy::primitives::Address,
    job: &str,
    what: &str,
    body: serde_json::Value,
) {
    if let Err(e) = mail
        .send(to, &message_id(&format!("{job}:{what}")), body)
        .await
    {
        tracing::warn!(target: "helix::mesh", %to, %job, what, %e, "not sent");
    }
}

/// How a request names the service it buys.
pub fn service_recipient(service: &str) -> String {
    format!("service:{service}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_reads_only_as_its_own_kind() {
        let job = JobRequest {
            job: "j".into(),
            service: "render".into(),
            paid_tx: B256::ZERO,
            amount: 5,
            token: alloy::primitives::Address::ZERO,
        };
        let b = body(&job);
        assert_eq!(read::<JobRequest>(&b), Some(job));
        // Same fields, another kind: serde alone would accept it.
        assert_eq!(read::<QuoteRequest>(&b), None);
        assert_eq!(read::<Refunded>(&serde_json::json!({"job": "j"})), None);
    }

    #[test]
    fn long_keys_become_64_byte_ids_and_stay_stable() {
        let long = format!("job-1:job:{}", B256::repeat_byte(7));
        let id = message_id(&long);
        assert_eq!(id.len(), 64);
        assert_eq!(id, message_id(&long));
        assert_eq!(message_id("short"), "short");
    }
}
