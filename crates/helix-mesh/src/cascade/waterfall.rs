//! refund_waterfall: nobody can do the job, so the money goes back up the
//! chain: the failed provider refunds this agent (asked if it has not),
//! then this agent refunds its own payer, once.

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::B256;
use async_trait::async_trait;
use helix_core::{CommitCtx, CommitError, Committed, Executor, Patch, StrategyId};
use helix_tempo::{ChainError, SendOpts, TempoChain};

use super::recover::Side;
use super::reroute::read_job;
use super::{Ledger, message_id};
use crate::failure::FailureNotice;
use crate::mailbox::Mailbox;

/// Gives a job's payment back to the agent that paid for it, after every
/// payment this agent made for the job came back; tells the payer why.
pub struct RefundWaterfall {
    side: Side,
    fee_token: Option<alloy::primitives::Address>,
    /// How long a failed provider has to refund.
    pub wait: Duration,
}

impl RefundWaterfall {
    /// Refunds from `chain`'s account, fees in `fee_token`.
    pub fn new(
        mail: Mailbox,
        chain: TempoChain,
        ledger: Arc<Ledger>,
        fee_token: Option<alloy::primitives::Address>,
    ) -> Self {
        RefundWaterfall {
            side: Side {
                mail,
                chain,
                ledger,
            },
            fee_token,
            wait: Duration::from_secs(5),
        }
    }

    /// The refund that stands for `job`, or a new one; never two.
    async fn refund(&self, job: &str) -> Result<B256, CommitError> {
        let up = self
            .side
            .ledger
            .upstream(job)
            .ok_or_else(|| CommitError::NotApplicable(format!("nobody paid for job {job}")))?;
        if let Some(tx) = up.refund_tx {
            return match self.side.chain.receipt(tx).await {
                Ok(Some(true)) => Ok(tx),
                _ => Err(CommitError::Platform(format!(
                    "refund {tx} for job {job} has no successful receipt; it is not sent again"
                ))),
            };
        }
        let record = |hash: B256, _nonce: u64| -> Result<(), ChainError> {
            match self.side.ledger.mark_refund(job, hash) {
                Some(h) if h == hash => Ok(()),
                _ => Err(ChainError::Transport(format!(
                    "job {job} is being refunded by another transaction"
                ))),
            }
        };
        let opts = SendOpts {
            nonce: None,
            fee_token: self.fee_token,
        };
        let sent = self
            .side
            .chain
            .transfer_recorded(up.token, up.payer, up.amount, opts, &record)
            .await;
        if let Err(ChainError::Rpc(_)) = &sent
            && let Some(up) = self.side.ledger.upstream(job)
            && let Some(h) = up.refund_tx
            && matches!(self.side.chain.receipt(h).await, Ok(None))
        {
            // The node refused it and the chain answers that no receipt
            // exists: no refund exists; the next try may send. A question
            // that failed keeps the mark (never two refunds).
            self.side.ledger.unmark_refund(job, h);
        }
        let hash = self
            .side
            .chain
            .reconciled(sent, Duration::from_secs(10))
            .await
            .map_err(|e| CommitError::Platform(format!("refunding {}: {e}", up.payer)))?;
        Ok(hash)
    }
}

#[async_trait]
impl Executor for RefundWaterfall {
    fn id(&self) -> StrategyId {
        StrategyId::RefundWaterfall
    }

    async fn commit(&self, ctx: &CommitCtx<'_>) -> Result<Committed, CommitError> {
        let (job, _, token, _) = read_job(ctx)?;
        self.side.recover(&job, token, self.wait).await?;
        let hash = self.refund(&job).await?;
        if let Some(up) = self.side.ledger.upstream(&job) {
            let notice = FailureNotice {
                job: job.clone(),
                agent: self.side.mail.address(),
                cause: ctx.signal.message.clone(),
                status: None,
                refund_tx: Some(hash),
            };
            if let Err(e) = self
                .side
                .mail
                .send(
                    up.payer,
                    &message_id(&format!("{job}:failure")),
                    notice.body(),
                )
                .await
            {
                // The refund stands; the payer finds it on chain.
                tracing::warn!(target: "helix::mesh", %job, %e, "the payer was not told");
            }
        }
        Ok(Committed {
            patches: vec![Patch::UseExisting {
                id: hash.to_string(),
            }],
            tx_hashes: vec![hash.to_string()],
            ..Default::default()
        })
    }
}
