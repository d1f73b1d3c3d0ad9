//! Buying a service from another agent: pay it on chain, send it the job,
//! wait for the result or its failure notice.

use std::time::Duration;

use alloy::primitives::{Address, B256};
use helix_core::{ErrorSignal, IntoSignal, Patch, PaymentView, Platform, Refused, Repairable};
use helix_tempo::{ChainError, Moved, SendOpts, TempoChain};

use super::messages::{JobRequest, JobResult, body, read};
use super::{Ledger, message_id, proves, service_recipient};
use crate::client::ClientError;
use crate::failure::FailureNotice;
use crate::mailbox::Mailbox;

/// A sub-job bought from whichever provider of `service` the request
/// names (see the module's rule on who may be paid).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubJob {
    /// The job (one id per logical purchase; the ledger's key).
    pub job: String,
    /// The service bought; the request's recipient.
    pub service: String,
    /// The provider paid; the request's endpoint.
    pub provider: Address,
    /// The TIP-20 paid in.
    pub token: Address,
    /// The most paid, base units.
    pub amount: u128,
    /// Pay fees in this TIP-20.
    pub fee_token: Option<Address>,
    /// Set by `refund_waterfall`: the job ended refunded by this transaction.
    pub refunded: Option<B256>,
}

impl Repairable for SubJob {
    fn view(&self) -> PaymentView {
        PaymentView {
            recipient: Some(service_recipient(&self.service)),
            amount: Some(self.amount),
            currency: Some(self.token.to_string()),
            fee_token: self.fee_token.map(|t| t.to_string()),
            endpoint: Some(self.provider.to_string()),
            idempotency_key: Some(self.job.clone()),
            ..Default::default()
        }
    }

    fn apply(&mut self, patch: &Patch) -> Result<(), Refused> {
        let bad = |reason: String| Refused {
            patch: patch.kind(),
            reason,
        };
        match patch {
            Patch::Endpoint { url } => {
                self.provider = url
                    .parse()
                    .map_err(|_| bad(format!("{url} is not an agent address")))?;
                Ok(())
            }
            Patch::UseExisting { id } => {
                self.refunded = Some(
                    id.parse()
                        .map_err(|_| bad(format!("{id} is not a transaction hash")))?,
                );
                Ok(())
            }
            other => Err(Refused::unsupported(other)),
        }
    }
}

/// How a bought job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivered {
    /// The provider did it.
    Output {
        /// Who did it.
        provider: Address,
        /// What it produced.
        output: String,
    },
    /// Nobody could; the buyer's own payer got its money back by this
    /// transaction (a refund waterfall).
    Refunded(B256),
}

/// Why a bought job did not deliver.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BuyError {
    /// The provider said it failed.
    #[error("downstream agent {} failed on job {}: {}", .notice.agent, .notice.job, .notice.cause)]
    Failed {
        /// Its notice.
        notice: FailureNotice,
        /// The payment that left for it.
        paid_tx: B256,
        /// Its refund was proven on chain.
        refunded: bool,
    },
    /// The provider did not answer in time (its payment is out).
    #[error(
        "downstream agent {provider} failed to answer job {job} within {secs} s (paid by {paid_tx})"
    )]
    Silent {
        /// Who.
        provider: Address,
        /// The job.
        job: String,
        /// The payment.
        paid_tx: B256,
        /// How long it was given.
        secs: u64,
    },
    /// An earlier payment for this job has not come back: paying now could
    /// pay twice.
    #[error("job {job}: the payment {paid_tx} to {provider} has not come back; not paying again")]
    StillOut {
        /// The job.
        job: String,
        /// Who holds it.
        provider: Address,
        /// The payment.
        paid_tx: B256,
    },
    /// The payment failed.
    #[error("paying for job {job}: {error}")]
    Pay {
        /// The job.
        job: String,
        /// The chain's error.
        error: ChainError,
    },
    /// The job could not be sent (its payment is out).
    #[error("sending job {job} (paid by {paid_tx}): {error}")]
    Mesh {
        /// The job.
        job: String,
        /// The payment.
        paid_tx: B256,
        /// The mesh's error.
        error: ClientError,
    },
}

impl IntoSignal for BuyError {
    fn to_signal(&self) -> ErrorSignal {
        match self {
            BuyError::Failed {
                notice,
                paid_tx,
                refunded,
            } => {
                let mut s = notice.signal();
                s.facts.tx_hash = Some(paid_tx.to_string());
                s.facts.payment_sent = true;
                // A refund proven on chain: the provider kept nothing.
                s.facts.not_charged = *refunded;
                s
            }
            BuyError::Silent { paid_tx, .. }
            | BuyError::StillOut { paid_tx, .. }
            | BuyError::Mesh { paid_tx, .. } => {
                let mut s = ErrorSignal::message(self.to_string()).with_platform(Platform::Tempo);
                s.facts.tx_hash = Some(paid_tx.to_string());
                s.facts.payment_sent = true;
                s
            }
            BuyError::Pay { error, .. } => error.to_signal(),
        }
    }
}

/// Buys `req` once: pays its provider (written to `ledger` before the
/// transfer is broadcast), sends the job, and waits up to `wait` for its
/// result or failure. Never pays while an earlier payment for the job is
/// out. A failure notice's refund is believed only as proven on chain.
pub async fn buy(
    mail: &Mailbox,
    chain: &TempoChain,
    ledger: &Ledger,
    req: &SubJob,
    wait: Duration,
) -> Result<Delivered, BuyError> {
    if let Some(tx) = req.refunded {
        return Ok(Delivered::Refunded(tx));
    }
    let job = req.job.as_str();
    if let Some(leg) = ledger.open_leg(job) {
        return Err(BuyError::StillOut {
            job: job.to_owned(),
            provider: leg.provider,
            paid_tx: leg.paid_tx,
        });
    }
    let record = |hash: B256, _nonce: u64| -> Result<(), ChainError> {
        ledger.paid(job, req.provider, hash, req.amount);
        Ok(())
    };
    let opts = SendOpts {
        nonce: None,
        fee_token: req.fee_token,
    };
    let sent = chain
        .transfer_recorded(req.token, req.provider, req.amount, opts, &record)
        .await;
    let paid_tx = match chain.reconciled(sent, Duration::from_secs(5)).await {
        Ok(h) => h,
        Err(error) => {
            if let ChainError::Reverted { hash } = &error
                && let Ok(h) = hash.parse()
            {
                ledger.void(job, h);
            } else if matches!(error, ChainError::Rpc(_)) {
                // The node answered with a refusal: the transaction is not
                // in its pool. Its ledger entry is void only where the chain
                // says, in an answer, that it has no receipt; a failed
                // question (or any other error: a transport that may have
                // carried it) leaves the payment out, blocking a second.
                for leg in ledger.legs(job) {
                    if leg.refund_tx.is_none()
                        && matches!(chain.receipt(leg.paid_tx).await, Ok(None))
                    {
                        ledger.void(job, leg.paid_tx);
                    }
                }
            }
            return Err(BuyError::Pay {
                job: job.to_owned(),
                error,
            });
        }
    };
    let request = JobRequest {
        job: job.to_owned(),
        service: req.service.clone(),
        paid_tx,
        amount: req.amount,
        token: req.token,
    };
    mail.send(
        req.provider,
        &message_id(&format!("{job}:job:{paid_tx}")),
        body(&request),
    )
    .await
    .map_err(|error| BuyError::Mesh {
        job: job.to_owned(),
        paid_tx,
        error,
    })?;
    let provider = req.provider;
    let answer = mail
        .wait(wait, |m| {
            m.from == provider
                && m.body["job"].as_str() == Some(job)
                && matches!(m.body["kind"].as_str(), Some("result" | "failure"))
        })
        .await;
    let Some(m) = answer else {
        return Err(BuyError::Silent {
            provider,
            job: job.to_owned(),
            paid_tx,
            secs: wait.as_secs(),
        });
    };
    if let Some(r) = read::<JobResult>(&m.body) {
        return Ok(Delivered::Output {
            provider,
            output: r.output,
        });
    }
    let notice = FailureNotice::read(m.from, &m.body).unwrap_or_else(|| FailureNotice {
        job: job.to_owned(),
        agent: provider,
        cause: "an unreadable failure notice".into(),
        status: None,
        refund_tx: None,
    });
    let mut refunded = false;
    if let Some(refund) = notice.refund_tx {
        let back = Moved {
            token: req.token,
            from: provider,
            to: chain.address(),
            amount: req.amount,
        };
        refunded = proves(chain, refund, back).await.unwrap_or(false)
            && ledger.refunded(job, paid_tx, refund);
        if !refunded {
            tracing::warn!(target: "helix::mesh", %provider, %refund, "a claimed refund is not on chain");
        }
    }
    Err(BuyError::Failed {
        notice,
        paid_tx,
        refunded,
    })
}
