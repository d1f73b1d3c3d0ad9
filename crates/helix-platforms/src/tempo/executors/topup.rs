//! topup_from_reserve: the payer lacks the charged token; a reserve wallet
//! the operator configured sends the shortfall (plus the payment's fee
//! margin), never more than a per-repair cap. It moves funds, so the engine
//! runs it only in full mode. The recipient of the top-up is the request's
//! payer, and only when the payer is the configured agent. The cap holds
//! per logical payment (its idempotency key), across every run that retries
//! it, and never above what the budget reserved for the repair.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use alloy::primitives::Address;
use async_trait::async_trait;
use helix_core::{CommitCtx, CommitError, Committed, Executor, Need, StrategyId};
use serde_json::json;

use helix_tempo::{SendOpts, TempoChain, Wallet};

/// Added to the shortfall so the payment's own fee is covered.
const FEE_MARGIN: u128 = 50_000;

/// A TIP-20 transfer from a reserve wallet to the agent.
#[derive(Debug, Clone)]
pub struct TopupFromReserve {
    rpc: String,
    reserve: Wallet,
    agent: Address,
    max_per_repair: u128,
    /// Topped up so far per logical payment.
    given: Arc<Mutex<HashMap<String, u128>>>,
}

impl TopupFromReserve {
    /// Tops up `agent` from `reserve`, at most `max_per_repair` base units a repair.
    pub fn new(
        rpc: impl Into<String>,
        reserve: Wallet,
        agent: Address,
        max_per_repair: u128,
    ) -> Self {
        TopupFromReserve {
            rpc: rpc.into(),
            reserve,
            agent,
            max_per_repair,
            given: Arc::default(),
        }
    }
}

fn platform(e: impl std::fmt::Display) -> CommitError {
    CommitError::Platform(e.to_string())
}

#[async_trait]
impl Executor for TopupFromReserve {
    fn id(&self) -> StrategyId {
        StrategyId::TopupFromReserve
    }

    fn needs(&self) -> &'static [Need] {
        &[Need::Payer, Need::Currency, Need::Amount]
    }

    fn max_cost(&self) -> Option<u64> {
        // Base units of a 6-decimal USD stablecoin are micro-USD.
        Some(u64::try_from(self.max_per_repair).unwrap_or(u64::MAX))
    }

    async fn commit(&self, ctx: &CommitCtx<'_>) -> Result<Committed, CommitError> {
        let v = ctx.request;
        let payer: Address = v
            .payer
            .as_deref()
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| CommitError::NotApplicable("no payer".into()))?;
        if payer != self.agent {
            return Err(CommitError::NotApplicable(
                "the request is paid by another wallet than the one this reserve serves".into(),
            ));
        }
        let token: Address = v
            .currency
            .as_deref()
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| CommitError::NotApplicable("no currency".into()))?;
        let amount = v
            .amount
            .ok_or_else(|| CommitError::NotApplicable("no amount".into()))?;
        let key = v.idempotency_key.clone().ok_or_else(|| {
            CommitError::NotApplicable(
                "the payment carries no idempotency key to cap the top-up by".into(),
            )
        })?;
        let chain = TempoChain::connect(&self.rpc, &self.reserve).map_err(platform)?;
        let have = chain.balance(token, payer).await.map_err(platform)?;
        let need = (amount + FEE_MARGIN).saturating_sub(have);
        if need == 0 {
            return Err(CommitError::NotApplicable(
                "the payer already holds the amount".into(),
            ));
        }
        let cap = self.max_per_repair.min(u128::from(ctx.max_cost));
        // Counted before the transfer is sent: a transfer whose answer is
        // lost still counts against the payment's cap.
        {
            let mut given = self.given.lock().unwrap_or_else(|p| p.into_inner());
            let so_far = given.get(&key).copied().unwrap_or(0);
            if so_far.saturating_add(need) > cap {
                return Err(CommitError::Unsafe(format!(
                    "top-up of {need} (after {so_far} for this payment) exceeds the cap {cap}"
                )));
            }
            given.insert(key, so_far + need);
        }
        let sent = chain
            .transfer(
                token,
                payer,
                need,
                SendOpts {
                    nonce: None,
                    fee_token: Some(token),
                },
            )
            .await;
        // A transfer whose answer was lost is looked for on chain first.
        let hash = chain
            .reconciled(sent, super::RECONCILE_WAIT)
            .await
            .map_err(platform)?;
        Ok(Committed {
            params: json!({ "topped_up": need.to_string() }),
            // Counted against the repair budget: the reserve's money left it.
            cost: u64::try_from(need).unwrap_or(u64::MAX),
            tx_hashes: vec![hash.to_string()],
            ..Default::default()
        })
    }
}
