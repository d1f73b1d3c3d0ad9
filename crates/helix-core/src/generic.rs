//! Executors that need no platform client: waiting (honouring Retry-After),
//! backoff with jitter, a longer deadline, switching to the next entry of a
//! configured list (endpoint, provider, off-ramp, payment method), splitting
//! under a limit, dropping a failing batch call, waiting out a passing
//! cause, and paying less where the caller allows it.

use std::time::Duration;

use async_trait::async_trait;
use rand::Rng;

use crate::patch::Patch;
use crate::taxonomy::StrategyId;
use crate::traits::{CommitCtx, CommitError, Committed, Strategy};

/// Waits as long as the server's Retry-After asks (seconds or HTTP date),
/// `default_wait` when it said nothing, and refuses waits above `max_wait`
/// (the payment should rather go elsewhere).
#[derive(Debug, Clone)]
pub struct Backoff {
    /// Used when the server gave no Retry-After.
    pub default_wait: Duration,
    /// Longest acceptable wait.
    pub max_wait: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            default_wait: Duration::from_secs(1),
            max_wait: Duration::from_secs(30),
        }
    }
}

#[async_trait]
impl Strategy for Backoff {
    fn id(&self) -> StrategyId {
        StrategyId::Backoff
    }

    async fn commit(&self, ctx: &CommitCtx<'_>) -> Result<Committed, CommitError> {
        let wait = ctx.signal.retry_after.unwrap_or(self.default_wait);
        if wait > self.max_wait {
            return Err(CommitError::NotApplicable(format!(
                "server asks to wait {} s, more than the {} s allowed",
                wait.as_secs(),
                self.max_wait.as_secs()
            )));
        }
        tokio::time::sleep(wait).await;
        Ok(Committed {
            params: serde_json::json!({ "waited_ms": wait.as_millis() as u64 }),
            ..Default::default()
        })
    }
}

/// Exponential backoff with full jitter: waits a random time in
/// `[0, min(cap, base * 2^n)]` where n counts repairs so far in the run.
#[derive(Debug, Clone)]
pub struct BackoffRetry {
    /// First window.
    pub base: Duration,
    /// Largest window.
    pub cap: Duration,
}

impl Default for BackoffRetry {
    fn default() -> Self {
        BackoffRetry {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(5),
        }
    }
}

#[async_trait]
impl Strategy for BackoffRetry {
    fn id(&self) -> StrategyId {
        StrategyId::BackoffRetry
    }

    async fn commit(&self, ctx: &CommitCtx<'_>) -> Result<Committed, CommitError> {
        if let Some(wait) = ctx.signal.retry_after {
            // The server's word beats our guess.
            tokio::time::sleep(wait.min(self.cap)).await;
            return Ok(Committed::default());
        }
        let window = self
            .base
            .saturating_mul(1u32 << ctx.repairs_so_far.min(16))
            .min(self.cap);
        let wait = Duration::from_micros(
            rand::rng().random_range(0..=window.as_micros().min(u64::MAX as u128) as u64),
        );
        tokio::time::sleep(wait).await;
        Ok(Committed::default())
    }
}

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
impl Strategy for ExtendDeadline {
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

/// Which field of the request a [`SwitchTo`] list replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SwitchField {
    /// `Patch::Endpoint`.
    Endpoint,
    /// `Patch::PaymentMethod`.
    PaymentMethod,
}

/// Moves the request to the next entry of a configured list after the one it
/// uses now (endpoint, provider, off-ramp, payment method). The list is the
/// operator's: Helix never invents where a payment may go.
#[derive(Debug, Clone)]
pub struct SwitchTo {
    id: StrategyId,
    field: SwitchField,
    options: Vec<String>,
}

impl SwitchTo {
    /// Endpoints for `id` (switch_endpoint, switch_provider, switch_offramp,
    /// switch_service).
    pub fn endpoints(id: StrategyId, urls: impl IntoIterator<Item = impl Into<String>>) -> Self {
        SwitchTo {
            id,
            field: SwitchField::Endpoint,
            options: urls.into_iter().map(Into::into).collect(),
        }
    }

    /// Payment methods the caller has on file, in order of preference.
    pub fn payment_methods(ids: impl IntoIterator<Item = impl Into<String>>) -> Self {
        SwitchTo {
            id: StrategyId::SwitchPaymentMethod,
            field: SwitchField::PaymentMethod,
            options: ids.into_iter().map(Into::into).collect(),
        }
    }
}

#[async_trait]
impl Strategy for SwitchTo {
    fn id(&self) -> StrategyId {
        self.id
    }

    async fn commit(&self, ctx: &CommitCtx<'_>) -> Result<Committed, CommitError> {
        let current = match self.field {
            SwitchField::Endpoint => ctx.request.endpoint.as_deref(),
            SwitchField::PaymentMethod => ctx.request.payment_method.as_deref(),
        };
        let start = current
            .and_then(|c| self.options.iter().position(|o| o == c))
            .map_or(0, |i| i + 1);
        let n = self.options.len();
        let next = (0..n)
            .map(|k| &self.options[(start + k) % n])
            .find(|o| Some(o.as_str()) != current)
            .ok_or_else(|| CommitError::NotApplicable("no alternative configured".into()))?;
        let patch = match self.field {
            SwitchField::Endpoint => Patch::Endpoint { url: next.clone() },
            SwitchField::PaymentMethod => Patch::PaymentMethod { id: next.clone() },
        };
        Ok(Committed {
            patches: vec![patch],
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
impl Strategy for SplitUnderLimit {
    fn id(&self) -> StrategyId {
        StrategyId::SplitTransaction
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
impl Strategy for DropFailingCall {
    fn id(&self) -> StrategyId {
        StrategyId::RemoveAndResubmit
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

/// wait_and_retry: the cause passes by itself (a thin order book that
/// makers refill, a limit that resets): wait, then retry unchanged. The
/// wait is the gene's learned `wait_ms` when it has one.
#[derive(Debug, Clone, Copy)]
pub struct WaitAndRetry {
    /// Wait when nothing was learned.
    pub wait: Duration,
    /// Longest wait a learned value may ask for.
    pub max_wait: Duration,
}

impl Default for WaitAndRetry {
    fn default() -> Self {
        WaitAndRetry {
            wait: Duration::from_secs(2),
            max_wait: Duration::from_secs(30),
        }
    }
}

#[async_trait]
impl Strategy for WaitAndRetry {
    fn id(&self) -> StrategyId {
        StrategyId::WaitAndRetry
    }

    async fn commit(&self, ctx: &CommitCtx<'_>) -> Result<Committed, CommitError> {
        let wait = ctx
            .params
            .get("wait_ms")
            .and_then(serde_json::Value::as_u64)
            .map_or(self.wait, Duration::from_millis)
            .min(self.max_wait);
        tokio::time::sleep(wait).await;
        Ok(Committed {
            params: serde_json::json!({ "wait_ms": wait.as_millis() as u64 }),
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
impl Strategy for ReduceRequest {
    fn id(&self) -> StrategyId {
        StrategyId::ReduceRequest
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failure::Failure;
    use crate::patch::PaymentView;
    use crate::signal::ErrorSignal;
    use crate::taxonomy::Mode;

    fn ctx<'a>(f: &'a Failure, s: &'a ErrorSignal, v: &'a PaymentView) -> CommitCtx<'a> {
        CommitCtx {
            failure: f,
            signal: s,
            request: v,
            params: &serde_json::Value::Null,
            mode: Mode::Auto,
            repairs_so_far: 0,
            max_cost: 0,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn backoff_waits_exactly_what_retry_after_says() {
        let f = Failure::unknown(None);
        let s = ErrorSignal {
            retry_after: Some(Duration::from_secs(7)),
            ..Default::default()
        };
        let v = PaymentView::default();
        let t = tokio::time::Instant::now();
        Backoff::default().commit(&ctx(&f, &s, &v)).await.unwrap();
        assert_eq!(t.elapsed(), Duration::from_secs(7));
        let s = ErrorSignal {
            retry_after: Some(Duration::from_secs(3600)),
            ..Default::default()
        };
        assert!(Backoff::default().commit(&ctx(&f, &s, &v)).await.is_err());
    }

    #[tokio::test]
    async fn switch_moves_to_the_next_option_and_never_to_the_same() {
        let f = Failure::unknown(None);
        let s = ErrorSignal::default();
        let sw = SwitchTo::endpoints(StrategyId::SwitchEndpoint, ["http://a", "http://b"]);
        let v = PaymentView {
            endpoint: Some("http://b".into()),
            ..Default::default()
        };
        let c = sw.commit(&ctx(&f, &s, &v)).await.unwrap();
        assert_eq!(
            c.patches,
            vec![Patch::Endpoint {
                url: "http://a".into()
            }]
        );
        let only = SwitchTo::endpoints(StrategyId::SwitchEndpoint, ["http://b"]);
        assert!(only.commit(&ctx(&f, &s, &v)).await.is_err());
    }
}
