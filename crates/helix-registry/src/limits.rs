//! Per-agent token buckets on push and pull. In a Redis Cluster (one
//! bucket a key, hash-tagged by agent so the script's key has one slot)
//! when the registry runs as several nodes; in process for a single node.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use redis::Script;
use redis::cluster_async::ClusterConnection;

/// A bucket's shape.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Tokens added per second.
    pub per_second: f64,
    /// Most tokens held (the burst).
    pub burst: f64,
}

/// Which bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Pushes and failure reports.
    Push,
    /// Pulls, lists and shows.
    Pull,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Action::Push => "push",
            Action::Pull => "pull",
        }
    }
}

/// Takes a token or says how long until one is free.
#[async_trait]
pub trait Limiter: Send + Sync {
    /// `Err(wait)` when `who` has no token for `action`.
    async fn take(&self, who: &str, action: Action) -> Result<(), Duration>;
}

/// Buckets in this process.
#[derive(Debug)]
pub struct LocalLimiter {
    push: Rate,
    pull: Rate,
    buckets: Mutex<HashMap<(String, Action), (f64, Instant)>>,
}

/// Buckets kept at once; past this the table is cleared (every agent gets
/// a full bucket once, memory stays bounded).
const MAX_BUCKETS: usize = 100_000;

impl LocalLimiter {
    /// Buckets of these shapes.
    pub fn new(push: Rate, pull: Rate) -> Self {
        LocalLimiter {
            push,
            pull,
            buckets: Mutex::new(HashMap::new()),
        }
    }
}

fn refill(tokens: f64, elapsed: Duration, r: Rate) -> f64 {
    (tokens + elapsed.as_secs_f64() * r.per_second).min(r.burst)
}

fn wait_for_one(tokens: f64, r: Rate) -> Duration {
    Duration::from_secs_f64(((1.0 - tokens) / r.per_second).max(0.001))
}

#[async_trait]
impl Limiter for LocalLimiter {
    async fn take(&self, who: &str, action: Action) -> Result<(), Duration> {
        let rate = match action {
            Action::Push => self.push,
            Action::Pull => self.pull,
        };
        let Ok(mut b) = self.buckets.lock() else {
            return Ok(());
        };
        if b.len() >= MAX_BUCKETS {
            b.clear();
        }
        let now = Instant::now();
        let (tokens, at) = b
            .entry((who.to_owned(), action))
            .or_insert((rate.burst, now));
        *tokens = refill(*tokens, now - *at, rate);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(wait_for_one(*tokens, rate))
        }
    }
}

/// The bucket script: the key holds tokens and the time of the last take;
/// Redis's own clock, so registry nodes with skewed clocks agree. Returns
/// 0, or the ms until a token.
const BUCKET: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local held = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(held[1]) or burst
local at = tonumber(held[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) * 1000 / rate) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return wait
";

/// Buckets in a Redis Cluster.
#[derive(Clone)]
pub struct RedisLimiter {
    conn: ClusterConnection,
    push: Rate,
    pull: Rate,
    script: Script,
}

impl std::fmt::Debug for RedisLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLimiter").finish_non_exhaustive()
    }
}

impl RedisLimiter {
    /// Buckets of these shapes over `conn`.
    pub fn new(conn: ClusterConnection, push: Rate, pull: Rate) -> Self {
        RedisLimiter {
            conn,
            push,
            pull,
            script: Script::new(BUCKET),
        }
    }
}

#[async_trait]
impl Limiter for RedisLimiter {
    async fn take(&self, who: &str, action: Action) -> Result<(), Duration> {
        let rate = match action {
            Action::Push => self.push,
            Action::Pull => self.pull,
        };
        let key = format!("helix:rl:{{{who}}}:{}", action.as_str());
        let mut conn = self.conn.clone();
        let wait: Result<u64, _> = self
            .script
            .key(key)
            .arg(rate.per_second)
            .arg(rate.burst)
            .invoke_async(&mut conn)
            .await;
        match wait {
            Ok(0) => Ok(()),
            Ok(ms) => Err(Duration::from_millis(ms)),
            Err(e) => {
                // A rate limiter that is down must not take the registry
                // down with it: let the request through and say so.
                tracing::warn!(target: "helix::registry", error = %e, "rate limiter unavailable; not limiting");
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_bucket_empties_and_says_how_long_to_wait() {
        let r = Rate {
            per_second: 2.0,
            burst: 3.0,
        };
        let l = LocalLimiter::new(r, r);
        for _ in 0..3 {
            assert!(l.take("a", Action::Push).await.is_ok());
        }
        let wait = l.take("a", Action::Push).await.unwrap_err();
        assert!(
            // A token takes 500 ms; the lower bound leaves a loaded machine
            // 250 ms between the takes.
            wait > Duration::from_millis(250) && wait <= Duration::from_millis(500),
            "{wait:?}"
        );
        assert!(
            l.take("b", Action::Push).await.is_ok(),
            "buckets are per agent"
        );
        assert!(l.take("a", Action::Pull).await.is_ok(), "and per action");
    }
}
