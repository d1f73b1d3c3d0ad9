//! Running a saga from its log: forward, then (when a step's check fails)
//! the refund waterfall; each action once, across crashes.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, B256};
use helix_tempo::{ChainError, SendOpts, TempoChain};

use super::log::{Action, ActionStatus, SagaLog, SagaState};
use super::{Plan, Transfer};

/// How a saga ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SagaOutcome {
    /// Every step paid and checked.
    Completed,
    /// Step `failed_step`'s check failed; every paid step was refunded.
    Compensated {
        /// The step whose check failed.
        failed_step: usize,
        /// Why.
        reason: String,
    },
}

/// Why a saga could not go on (it resumes from its log when run again).
#[derive(Debug, Clone, thiserror::Error)]
pub enum SagaError {
    /// The log could not be read or written.
    #[error("saga log: {0}")]
    Log(String),
    /// A transfer failed for good.
    #[error("transfer for {action:?}: {reason}")]
    Chain {
        /// Which action.
        action: Action,
        /// The chain's error.
        reason: String,
    },
    /// The coordinator holds no key for a payer.
    #[error("no key for payer {0}")]
    NoPayer(Address),
}

/// Runs sagas for the payers whose keys it holds.
pub struct Coordinator {
    log: Arc<SagaLog>,
    payers: HashMap<Address, TempoChain>,
    fee_token: Option<Address>,
    /// Stops (for a crash test) after this many refunds: prints
    /// `paused after N refund(s)` and waits to be killed.
    pub pause_after_refunds: Option<usize>,
}

impl std::fmt::Debug for Coordinator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Coordinator")
            .field("payers", &self.payers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Coordinator {
    /// A coordinator signing for `payers`, paying fees in `fee_token`.
    pub fn new(log: SagaLog, payers: Vec<TempoChain>, fee_token: Option<Address>) -> Self {
        Coordinator {
            log: Arc::new(log),
            payers: payers.into_iter().map(|c| (c.address(), c)).collect(),
            fee_token,
            pause_after_refunds: None,
        }
    }

    /// The log.
    pub fn log(&self) -> &SagaLog {
        &self.log
    }

    /// Runs (or resumes) `plan`; `check(i)` is step `i`'s business check
    /// after its payment (the paid service did its part), and must be safe
    /// to ask again: a coordinator that crashed after a payment asks again.
    pub async fn run<F>(&self, plan: &Plan, mut check: F) -> Result<SagaOutcome, SagaError>
    where
        F: AsyncFnMut(usize) -> Result<(), String>,
    {
        let (plan, mut state) = self.log.begin(plan).await.map_err(SagaError::Log)?;
        let id = plan.id.as_str();
        if state == SagaState::Forward {
            for (i, step) in plan.steps.iter().enumerate() {
                self.execute(id, Action::Pay(i), &step.pay).await?;
                if let Err(reason) = check(i).await {
                    let reason = format!("step {i} ({}): {reason}", step.name);
                    tracing::warn!(target: "helix::saga", saga = id, %reason, "a step failed; refunding in reverse");
                    self.log
                        .set_state(id, SagaState::Compensating, Some((i, &reason)))
                        .await
                        .map_err(SagaError::Log)?;
                    state = SagaState::Compensating;
                    break;
                }
            }
            if state == SagaState::Forward {
                self.log
                    .set_state(id, SagaState::Completed, None)
                    .await
                    .map_err(SagaError::Log)?;
                return Ok(SagaOutcome::Completed);
            }
        }
        let (failed_step, reason) = self
            .log
            .failure(id)
            .await
            .map_err(SagaError::Log)?
            .unwrap_or_default();
        if state == SagaState::Compensating {
            let mut refunds = 0;
            for (i, step) in plan.steps.iter().enumerate().rev() {
                // Only what was paid is refunded; a payment that was logged
                // as sent is first asked of the chain.
                let paid = match self
                    .log
                    .status(id, Action::Pay(i))
                    .await
                    .map_err(SagaError::Log)?
                {
                    ActionStatus::Done { .. } => true,
                    ActionStatus::Sent { hash, .. } => self.landed(&step.pay, &hash).await?,
                    ActionStatus::Untouched => false,
                };
                if !paid {
                    continue;
                }
                self.execute(id, Action::Refund(i), &step.pay.reversed())
                    .await?;
                refunds += 1;
                if self.pause_after_refunds == Some(refunds) {
                    println!("paused after {refunds} refund(s)");
                    let _ = std::io::stdout().flush();
                    std::future::pending::<()>().await;
                }
            }
            self.log
                .set_state(id, SagaState::Compensated, None)
                .await
                .map_err(SagaError::Log)?;
        }
        Ok(match state {
            SagaState::Completed => SagaOutcome::Completed,
            _ => SagaOutcome::Compensated {
                failed_step,
                reason,
            },
        })
    }

    fn payer(&self, t: &Transfer) -> Result<&TempoChain, SagaError> {
        self.payers.get(&t.from).ok_or(SagaError::NoPayer(t.from))
    }

    async fn landed(&self, t: &Transfer, hash: &str) -> Result<bool, SagaError> {
        let h: B256 = hash
            .parse()
            .map_err(|_| SagaError::Log(format!("bad hash {hash}")))?;
        let chain = self.payer(t)?;
        Ok(chain.receipt(h).await.ok().flatten() == Some(true))
    }

    /// Performs one action exactly once: done is skipped; sent is asked of
    /// the chain (landed: done; not landed and its nonce unused: sent again
    /// with the same nonce, so at most one of the two can land).
    async fn execute(&self, id: &str, a: Action, t: &Transfer) -> Result<String, SagaError> {
        let chain = self.payer(t)?;
        let nonce = match self.log.status(id, a).await.map_err(SagaError::Log)? {
            ActionStatus::Done { hash } => return Ok(hash),
            ActionStatus::Sent { hash, nonce } => {
                if self.landed(t, &hash).await? {
                    self.log.done(id, a, &hash).await.map_err(SagaError::Log)?;
                    tracing::info!(target: "helix::saga", saga = id, ?a, %hash, "found landed after a restart");
                    return Ok(hash);
                }
                let mined = chain.mined_nonce().await.map_err(|e| chain_err(a, e))?;
                if mined > nonce {
                    // The nonce went to a transaction that is not ours (a
                    // reverted one of ours has a receipt): send fresh.
                    chain.nonce().await.map_err(|e| chain_err(a, e))?
                } else {
                    nonce
                }
            }
            ActionStatus::Untouched => chain.nonce().await.map_err(|e| chain_err(a, e))?,
        };
        let log = self.log.clone();
        let saga = id.to_owned();
        let record = move |hash: B256, n: u64| -> Result<(), ChainError> {
            // Written before the broadcast; the send waits for it.
            let log = log.clone();
            let saga = saga.clone();
            tokio::task::block_in_place(|| {
                tokio::runtime::Handle::current().block_on(log.sent(&saga, a, &hash.to_string(), n))
            })
            .map_err(ChainError::Transport)
        };
        let opts = SendOpts {
            nonce: Some(nonce),
            fee_token: self.fee_token,
        };
        let sent = chain
            .transfer_recorded(t.token, t.to, t.amount, opts, &record)
            .await;
        let hash = chain
            .reconciled(sent, Duration::from_secs(10))
            .await
            .map_err(|e| chain_err(a, e))?
            .to_string();
        self.log.done(id, a, &hash).await.map_err(SagaError::Log)?;
        tracing::info!(target: "helix::saga", saga = id, ?a, %hash, "transfer landed");
        Ok(hash)
    }
}

fn chain_err(a: Action, e: ChainError) -> SagaError {
    SagaError::Chain {
        action: a,
        reason: e.to_string(),
    }
}
