//! A Redis read-through cache in front of any Gene Map (usually the shared
//! PostgreSQL one): every instance shares one cached copy of a gene, and a
//! copy lives for a short lease ([`LEASE`], 1 s by default).
//!
//! The guarantee: once `record` returns, no instance is served the gene as
//! it was before that outcome (a demoted gene is never served again),
//! whatever Redis did. Two mechanisms give it:
//!
//! - recording bumps the key's version and deletes the copy; a lookup that
//!   missed fills the cache only if the version is still the one it saw
//!   before reading the store (one script), so a slow reader cannot put the
//!   old gene back;
//! - every copy expires one lease after the store read that produced it
//!   began (measured on Redis's clock, in the same scripts). When the
//!   invalidation cannot be done (Redis down, a partition, a timeout),
//!   `record` waits out the lease before returning, so every copy that could
//!   hold the old gene has expired by then. That costs the lease once per
//!   record while Redis is unreachable, never a stale gene.
//!
//! A short lease still takes almost every lookup of a hot key off the
//! database: one fill per key per lease, whatever the rate.
//!
//! Redis down: lookups and records go straight to the store (logged); the
//! cache is an accelerator, never a source of truth.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use helix_core::{
    Diagnosis, Gene, GeneKey, GeneStore, GeneVersion, Outcome, StoreError, StrategyId,
};
use redis::aio::MultiplexedConnection;

/// How long a cached copy lives after the store read that produced it.
pub const LEASE: Duration = Duration::from_secs(1);

/// Cached value for "no gene": a miss is cached too.
const NONE: &str = "none";

/// The cached copy, the version, and Redis's clock (ms), in one call.
const READ: &str = r"
local t = redis.call('TIME')
return {redis.call('GET', KEYS[1]) or false, redis.call('GET', KEYS[2]) or '',
        tostring(t[1] * 1000 + math.floor(t[2] / 1000))}";

/// Fill only if the version is unchanged since the read began, for what is
/// left of the lease counted from that beginning (ARGV: version, value,
/// began ms, lease ms).
const FILL: &str = r"
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local left = tonumber(ARGV[3]) + tonumber(ARGV[4]) - now
local v = redis.call('GET', KEYS[2]) or ''
if v == ARGV[1] and left > 0 then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', left)
  return 1
end
return 0";

/// How long a version outlives the copies filled under it.
const VERSION_TTL: Duration = Duration::from_secs(600);

/// Added to the wait after a failed invalidation: the lease is counted on
/// Redis's clock from a moment before the store read; this covers the two
/// clocks' rate difference over one lease, with room to spare.
const MARGIN: Duration = Duration::from_millis(50);

/// Whether Redis at `url` answers PING.
pub async fn ping(url: &str) -> Result<(), String> {
    let client = redis::Client::open(url).map_err(|e| e.to_string())?;
    let mut conn = tokio::time::timeout(
        Duration::from_secs(2),
        client.get_multiplexed_async_connection(),
    )
    .await
    .map_err(|_| "no answer in 2 s".to_string())?
    .map_err(|e| e.to_string())?;
    redis::cmd("PING")
        .query_async::<String>(&mut conn)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// How often a lost Redis is tried again.
const RETRY_EVERY: Duration = Duration::from_secs(1);

/// How long a (re)connection may take: a Redis that accepts and never
/// answers costs a lookup this much once a second at most.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(300);

/// How long a Redis call may take before the store answers alone.
const CALL_TIMEOUT: Duration = Duration::from_millis(300);

struct Link {
    conn: Option<MultiplexedConnection>,
    next_try: Instant,
}

/// A Gene Map with a Redis cache in front.
pub struct CachedGeneStore {
    inner: Arc<dyn GeneStore>,
    client: Option<redis::Client>,
    link: tokio::sync::Mutex<Link>,
    prefix: String,
    lease: Duration,
    read: redis::Script,
    fill: redis::Script,
}

impl std::fmt::Debug for CachedGeneStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedGeneStore")
            .field("prefix", &self.prefix)
            .field("lease", &self.lease)
            .field("connected", &self.connected())
            .finish()
    }
}

impl CachedGeneStore {
    /// Caches `inner` in Redis at `url` under keys starting with `prefix`
    /// (instances sharing a Gene Map must share the prefix and the lease).
    /// When Redis cannot be reached the store works uncached and says so in
    /// the log.
    pub async fn connect(url: &str, prefix: &str, inner: Arc<dyn GeneStore>) -> Self {
        let client = redis::Client::open(url)
            .inspect_err(|e| {
                tracing::warn!(target: "helix::genemap", %e, "bad redis url; lookups go to the store")
            })
            .ok();
        let s = CachedGeneStore {
            inner,
            client,
            link: tokio::sync::Mutex::new(Link {
                conn: None,
                next_try: Instant::now(),
            }),
            prefix: prefix.to_owned(),
            lease: LEASE,
            read: redis::Script::new(READ),
            fill: redis::Script::new(FILL),
        };
        let _ = s.conn().await;
        s
    }

    /// Sets how long a copy lives (default [`LEASE`]). A record that cannot
    /// invalidate waits this long, so keep it below the engine's store
    /// timeout.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// Whether a Redis connection is in use now.
    pub fn connected(&self) -> bool {
        self.link.try_lock().is_ok_and(|l| l.conn.is_some())
    }

    /// The connection, reconnecting at most once a second after a loss.
    async fn conn(&self) -> Option<MultiplexedConnection> {
        let client = self.client.as_ref()?;
        let mut link = self.link.lock().await;
        if let Some(c) = &link.conn {
            return Some(c.clone());
        }
        if Instant::now() < link.next_try {
            return None;
        }
        link.next_try = Instant::now() + RETRY_EVERY;
        match tokio::time::timeout(CONNECT_TIMEOUT, client.get_multiplexed_async_connection()).await
        {
            Ok(Ok(c)) => {
                link.conn = Some(c.clone());
                Some(c)
            }
            Ok(Err(e)) => {
                tracing::warn!(target: "helix::genemap", %e, "redis unavailable; lookups go to the store");
                None
            }
            Err(_) => {
                tracing::warn!(target: "helix::genemap", "redis did not answer; lookups go to the store");
                None
            }
        }
    }

    async fn lost(&self, why: &str) {
        tracing::warn!(target: "helix::genemap", %why, "redis lost; lookups go to the store");
        let mut link = self.link.lock().await;
        link.conn = None;
        link.next_try = Instant::now() + RETRY_EVERY;
    }

    fn keys(&self, key: GeneKey) -> (String, String) {
        let k = format!("{}:gene:{key}", self.prefix);
        let v = format!("{}:ver:{key}", self.prefix);
        (k, v)
    }

    /// Bumps the key's version and deletes its copy; false when Redis did
    /// not confirm both.
    async fn invalidate(&self, key: GeneKey) -> bool {
        let Some(mut conn) = self.conn().await else {
            return false;
        };
        let (k, v) = self.keys(key);
        let done = tokio::time::timeout(
            CALL_TIMEOUT,
            redis::pipe()
                .atomic()
                .incr(&v, 1)
                .ignore()
                .expire(&v, VERSION_TTL.as_secs() as i64)
                .ignore()
                .del(&k)
                .ignore()
                .query_async::<()>(&mut conn),
        )
        .await;
        match done {
            Ok(Ok(())) => true,
            Ok(Err(e)) => {
                self.lost(&e.to_string()).await;
                false
            }
            Err(_) => {
                self.lost("invalidation timed out").await;
                false
            }
        }
    }
}

#[async_trait]
impl GeneStore for CachedGeneStore {
    // Diagnoses are read only for failures no adapter recognises, rarely
    // enough that the database answers them directly.
    async fn diagnosis(&self, fingerprint: &str) -> Result<Option<Diagnosis>, StoreError> {
        self.inner.diagnosis(fingerprint).await
    }

    async fn remember_diagnosis(&self, fingerprint: &str, d: &Diagnosis) -> Result<(), StoreError> {
        self.inner.remember_diagnosis(fingerprint, d).await
    }

    async fn forget_diagnosis(&self, fingerprint: &str) -> Result<(), StoreError> {
        self.inner.forget_diagnosis(fingerprint).await
    }

    async fn lookup(&self, key: GeneKey) -> Result<Option<Gene>, StoreError> {
        let Some(mut conn) = self.conn().await else {
            return self.inner.lookup(key).await;
        };
        let (k, v) = self.keys(key);
        let read = tokio::time::timeout(
            CALL_TIMEOUT,
            self.read
                .key(&k)
                .key(&v)
                .invoke_async::<(Option<String>, String, String)>(&mut conn),
        )
        .await;
        let (cached, seen, began) = match read {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                self.lost(&e.to_string()).await;
                return self.inner.lookup(key).await;
            }
            Err(_) => {
                self.lost("timed out").await;
                return self.inner.lookup(key).await;
            }
        };
        match cached.as_deref() {
            Some(NONE) => return Ok(None),
            Some(s) => match serde_json::from_str::<Gene>(s) {
                Ok(g) => return Ok(Some(g)),
                Err(e) => {
                    tracing::warn!(target: "helix::genemap", %e, "unreadable cached gene; reading the store")
                }
            },
            None => {}
        }
        let found = self.inner.lookup(key).await?;
        let value = match &found {
            Some(g) => serde_json::to_string(g).unwrap_or_else(|_| NONE.into()),
            None => NONE.into(),
        };
        let filled = tokio::time::timeout(
            CALL_TIMEOUT,
            self.fill
                .key(&k)
                .key(&v)
                .arg(&seen)
                .arg(&value)
                .arg(&began)
                .arg(self.lease.as_millis() as u64)
                .invoke_async::<i32>(&mut conn),
        )
        .await;
        if !matches!(filled, Ok(Ok(_))) {
            tracing::warn!(target: "helix::genemap", "redis fill failed");
        }
        Ok(found)
    }

    async fn record(&self, outcome: &Outcome) -> Result<Gene, StoreError> {
        let gene = self.inner.record(outcome).await?;
        let written = Instant::now();
        if self.client.is_some() && !self.invalidate(outcome.key).await {
            // Another instance may hold the gene as it was; its copy expires
            // within a lease of this write.
            tracing::error!(target: "helix::genemap", key = %outcome.key, lease = ?self.lease,
                "redis invalidation failed; waiting out the lease");
            tokio::time::sleep_until((written + self.lease + MARGIN).into()).await;
        }
        Ok(gene)
    }

    async fn list(&self) -> Result<Vec<Gene>, StoreError> {
        self.inner.list().await
    }

    async fn adopt(&self, gene: &Gene) -> Result<bool, StoreError> {
        let stored = self.inner.adopt(gene).await?;
        // A cached "no gene" for this key would hide the adopted one.
        if stored && self.client.is_some() && !self.invalidate(gene.key).await {
            tracing::warn!(target: "helix::genemap", key = %gene.key, "redis invalidation failed after adopting a gene");
        }
        Ok(stored)
    }

    async fn retune(
        &self,
        key: GeneKey,
        strategy: StrategyId,
        params: &serde_json::Value,
        evidence: &serde_json::Value,
    ) -> Result<Option<u32>, StoreError> {
        let v = self.inner.retune(key, strategy, params, evidence).await?;
        // A cached gene would keep the old parameters.
        if v.is_some() && self.client.is_some() && !self.invalidate(key).await {
            tracing::warn!(target: "helix::genemap", %key, "redis invalidation failed after a retune");
        }
        Ok(v)
    }

    async fn versions(
        &self,
        key: GeneKey,
        strategy: StrategyId,
    ) -> Result<Vec<GeneVersion>, StoreError> {
        self.inner.versions(key, strategy).await
    }
}
