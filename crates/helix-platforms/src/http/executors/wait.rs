//! Executors that wait: as long as the server's Retry-After asks, with
//! jittered backoff, or out a cause that passes by itself.

use std::time::Duration;

use async_trait::async_trait;
use helix_core::{CommitCtx, CommitError, Committed, Executor, StrategyId};
use rand::Rng;

/// Waits as long as the server's Retry-After asks (seconds or HTTP date);
/// when it said nothing, the gene's `wait_ms` (a learned or tuned value),
/// else `default_wait`; refuses waits above `max_wait` (the payment should
/// rather go elsewhere).
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
impl Executor for Backoff {
    fn id(&self) -> StrategyId {
        StrategyId::Backoff
    }

    async fn commit(&self, ctx: &CommitCtx<'_>) -> Result<Committed, CommitError> {
        let told = ctx.signal.retry_after;
        let own = ctx
            .params
            .get("wait_ms")
            .and_then(serde_json::Value::as_u64)
            .map_or(self.default_wait, Duration::from_millis);
        let wait = told.unwrap_or(own);
        if wait > self.max_wait {
            return Err(CommitError::NotApplicable(format!(
                "server asks to wait {} s, more than the {} s allowed",
                wait.as_secs(),
                self.max_wait.as_secs()
            )));
        }
        tokio::time::sleep(wait).await;
        // The gene keeps its own wait: a server's Retry-After is this
        // call's, not the next one's.
        let mut params = serde_json::json!({ "wait_ms": own.as_millis() as u64 });
        if told.is_some() {
            params["waited_ms"] = serde_json::json!(wait.as_millis() as u64);
        }
        Ok(Committed {
            params,
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
impl Executor for BackoffRetry {
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
impl Executor for WaitAndRetry {
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
