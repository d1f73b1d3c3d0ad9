//! Getting back a payment a failed provider holds, before anything else is
//! paid for the job.

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::Address;
use helix_core::CommitError;
use helix_tempo::{Moved, TempoChain};

use super::messages::{RefundRequest, Refunded, body, read};
use super::{Ledger, message_id, proves};
use crate::mailbox::Mailbox;

/// What the cascade repairs act through: the agent's mailbox, its chain
/// client and its ledger of payments per job.
#[derive(Clone)]
pub(super) struct Side {
    pub(super) mail: Mailbox,
    pub(super) chain: TempoChain,
    pub(super) ledger: Arc<Ledger>,
}

impl Side {
    /// Every payment for `job` is back (proven on chain), asking each
    /// provider that still holds one for its refund and waiting up to
    /// `wait`; an error names the payment still out.
    pub(super) async fn recover(
        &self,
        job: &str,
        token: Address,
        wait: Duration,
    ) -> Result<(), CommitError> {
        recover(&self.mail, &self.chain, &self.ledger, job, token, wait).await
    }
}

async fn recover(
    mail: &Mailbox,
    chain: &TempoChain,
    ledger: &Ledger,
    job: &str,
    token: Address,
    wait: Duration,
) -> Result<(), CommitError> {
    while let Some(leg) = ledger.open_leg(job) {
        let ask = RefundRequest {
            job: job.to_owned(),
            paid_tx: leg.paid_tx,
        };
        mail.send(
            leg.provider,
            &message_id(&format!("{job}:refund:{}", leg.paid_tx)),
            body(&ask),
        )
        .await
        .map_err(|e| CommitError::Platform(format!("asking {} for a refund: {e}", leg.provider)))?;
        let paid = leg.paid_tx;
        let answer = mail
            .wait(wait, |m| {
                m.from == leg.provider
                    && read::<Refunded>(&m.body).is_some_and(|r| r.job == job && r.paid_tx == paid)
            })
            .await
            .and_then(|m| read::<Refunded>(&m.body));
        let Some(r) = answer else {
            return Err(CommitError::Unsafe(format!(
                "the payment {paid} to {} for job {job} has not come back; nothing more is paid for it",
                leg.provider
            )));
        };
        let back = Moved {
            token,
            from: leg.provider,
            to: chain.address(),
            amount: leg.amount,
        };
        let proven = proves(chain, r.refund_tx, back)
            .await
            .map_err(|e| CommitError::Platform(format!("reading refund {}: {e}", r.refund_tx)))?;
        if !(proven && ledger.refunded(job, paid, r.refund_tx)) {
            return Err(CommitError::Unsafe(format!(
                "{} claims refund {} for {paid}, which the chain does not show (or it refunds another payment)",
                leg.provider, r.refund_tx
            )));
        }
    }
    Ok(())
}
