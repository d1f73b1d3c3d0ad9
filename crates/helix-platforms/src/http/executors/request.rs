//! Executors that change the request itself: a longer deadline, a split
//! under a limit, a batch without its failing call, a smaller amount where
//! the caller allows it.

use std::time::Duration;

use async_trait::async_trait;
use helix_core::{CommitCtx, CommitError, Committed, Executor, Need, Patch, StrategyId};

/// Gives the call `factor` times its current deadline, up to `max`.
#[derive(Debug, Clone)]
pub struct ExtendDeadline {
    /// Multiplier.
    pub factor: u32,
    /// Upper bound.
    pub max: Duration,
    /// Assumed when the request states no deadline.
    pub assumed: Duration,
}

impl Default for ExtendDeadline {
    fn default() -> Self {
        ExtendDeadline {
            factor: 3,
            max: Duration::from_secs(60),
            assumed: Duration::from_secs(10),
        }
    }
}

#[async_trait]
impl Executor for ExtendDeadline {
    fn id(&self) -> StrategyId {
        StrategyId::ExtendDeadline
    }

    async fn commit(&self, ctx: &CommitCtx<'_>) -> Result<Committed, CommitError> {
        let now = ctx
            .request
            .deadline_ms
            .unwrap_or(self.assumed.as_millis() as u64);
        let max = self.max.as_millis() as u64;
        if now >= max {
            return Err(CommitError::NotApplicable(format!(
                "deadline already {now} ms, the maximum is {max} ms"
            )));
        }
        let ms = now.saturating_mul(u64::from(self.factor)).min(max);
        Ok(Committed {
            patches: vec![Patch::Deadline { ms }],
            params: serde_json::json!({ "deadline_ms": ms }),
            ..Default::default()
        })
    }
}

/// split_transaction: splits a payment into parts under the limit the
/// platform named (facts `limit_amount` and `required_amount`). The total is
/// unchanged; the request performs the parts and must track what it sent.
#[derive(Debug, Clone, Copy)]
pub struct SplitUnderLimit {
    /// Most parts accepted.
    pub max_parts: u32,
}

impl Default for SplitUnderLimit {
    fn default() -> Self {
        SplitUnderLimit { max_parts: 20 }
    }
}

#[async_trait]
impl Executor for SplitUnderLimit {
    fn id(&self) -> StrategyId {
        StrategyId::SplitTransaction
    }

    fn needs(&self) -> &'static [Need] {
        &[Need::Amount]
    }

    async fn commit(&self, ctx: &CommitCtx<'_>) -> Result<Committed, CommitError> {
        let f = &ctx.failure.facts;
        let limit = f
            .limit_amount
            .filter(|l| *l > 0)
            .ok_or_else(|| CommitError::NotApplicable("the platform named no limit".into()))?;
        let total = f
            .required_amount
            .or(ctx.request.amount)
            .ok_or_else(|| CommitError::NotApplicable("no amount to split".into()))?;
        let parts = total.div_ceil(limit);
        if parts < 2 || parts > u128::from(self.max_parts) {
            return Err(CommitError::NotApplicable(format!(
                "{parts} parts of at most {limit} (allowed 2..={})",
                self.max_parts
            )));
        }
        Ok(Committed {
            patches: vec![Patch::Split {
                parts: parts as u32,
            }],
            ..Default::default()
        })
    }
}

/// remove_and_resubmit: drops the call the chain named as failing from a
/// batch (the request refuses to drop its payment call).
#[derive(Debug, Clone, Copy, Default)]
pub struct DropFailingCall;

#[async_trait]
impl Executor for DropFailingCall {
    fn id(&self) -> StrategyId {
        StrategyId::RemoveAndResubmit
    }

    fn needs(&self) -> &'static [Need] {
        &[Need::FailingCall]
    }

    async fn commit(&self, ctx: &CommitCtx<'_>) -> Result<Committed, CommitError> {
        let index =
            ctx.failure.facts.failing_call.ok_or_else(|| {
                CommitError::NotApplicable("the failing call is not known".into())
            })?;
        Ok(Committed {
            patches: vec![Patch::DropCall { index }],
            ..Default::default()
        })
    }
}

/// reduce_request: pays what the payer can (its balance, or under the
/// limit the platform named) instead of the whole amount. The engine runs
/// it only when the caller accepts a partial payment; the amount never
/// rises and never reaches zero.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReduceRequest;

#[async_trait]
impl Executor for ReduceRequest {
    fn id(&self) -> StrategyId {
        StrategyId::ReduceRequest
    }

    fn needs(&self) -> &'static [Need] {
        &[Need::Amount]
    }

    async fn commit(&self, ctx: &CommitCtx<'_>) -> Result<Committed, CommitError> {
        let amount = ctx
            .request
            .amount
            .ok_or_else(|| CommitError::NotApplicable("no amount".into()))?;
        let f = &ctx.failure.facts;
        let can = [f.payer_balance, f.limit_amount]
            .into_iter()
            .flatten()
            .min()
            .ok_or_else(|| {
                CommitError::NotApplicable("neither a balance nor a limit is known".into())
            })?;
        if can == 0 || can >= amount {
            return Err(CommitError::NotApplicable(format!(
                "{can} of {amount} is no partial payment"
            )));
        }
        Ok(Committed {
            patches: vec![Patch::Amount { amount: can }],
            ..Default::default()
        })
    }
}
