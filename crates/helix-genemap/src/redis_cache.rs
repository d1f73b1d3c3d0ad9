//! A Redis read-through cache in front of any Gene Map (usually the shared
//! PostgreSQL one): lookups are answered from Redis for five minutes, and
//! every instance shares the one cached copy.
//!
//! Invalidation: recording an outcome (which may demote a gene) bumps the
//! key's version and deletes the cached copy before `record` returns, so no
//! instance reads the old gene afterwards; it also publishes the key on
//! `helix:genes` for instances that keep copies of their own. A lookup that
//! missed fills the cache only if the version is still the one it saw
//! before reading the store (one atomic script): a slow reader cannot put
//! back a gene another instance has just demoted.
//!
//! Redis down: lookups and records go straight to the store (logged); the
//! cache is an accelerator, never a source of truth.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use helix_core::{Diagnosis, Gene, GeneKey, GeneStore, Outcome, StoreError};
use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;

/// How long a cached lookup lives.
pub const TTL: Duration = Duration::from_secs(300);

/// The channel invalidations are published on.
pub const CHANNEL: &str = "helix:genes";

/// Cached value for "no gene": a miss is cached too.
const NONE: &str = "none";

/// Fill the cache only if the version is unchanged since the read began.
const FILL: &str = r"
local v = redis.call('GET', KEYS[2]) or ''
if v == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
  return 1
end
return 0";

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

/// How long a Redis call may take before the store answers alone.
const CALL_TIMEOUT: Duration = Duration::from_millis(500);

struct Link {
    conn: Option<MultiplexedConnection>,
    next_try: std::time::Instant,
}

/// A Gene Map with a Redis cache in front.
pub struct CachedGeneStore {
    inner: Arc<dyn GeneStore>,
    client: Option<redis::Client>,
    link: tokio::sync::Mutex<Link>,
    prefix: String,
    fill: redis::Script,
}

impl std::fmt::Debug for CachedGeneStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedGeneStore")
            .field("prefix", &self.prefix)
            .field("connected", &self.connected())
            .finish()
    }
}

impl CachedGeneStore {
    /// Caches `inner` in Redis at `url` under keys starting with `prefix`
    /// (instances sharing a Gene Map must share the prefix). When Redis
    /// cannot be reached the store works uncached and says so in the log.
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
                next_try: std::time::Instant::now(),
            }),
            prefix: prefix.to_owned(),
            fill: redis::Script::new(FILL),
        };
        let _ = s.conn().await;
        s
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
        if std::time::Instant::now() < link.next_try {
            return None;
        }
        link.next_try = std::time::Instant::now() + RETRY_EVERY;
        match tokio::time::timeout(
            Duration::from_secs(2),
            client.get_multiplexed_async_connection(),
        )
        .await
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
                tracing::warn!(target: "helix::genemap", "redis did not answer in 2 s; lookups go to the store");
                None
            }
        }
    }

    async fn lost(&self, why: String) {
        tracing::warn!(target: "helix::genemap", %why, "redis lost; lookups go to the store");
        let mut link = self.link.lock().await;
        link.conn = None;
        link.next_try = std::time::Instant::now() + RETRY_EVERY;
    }

    fn keys(&self, key: GeneKey) -> (String, String) {
        let k = format!("{}:gene:{key}", self.prefix);
        let v = format!("{}:ver:{key}", self.prefix);
        (k, v)
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
        let cached = tokio::time::timeout(CALL_TIMEOUT, conn.get::<_, Option<String>>(&k)).await;
        match cached {
            Ok(Ok(Some(s))) if s == NONE => return Ok(None),
            Ok(Ok(Some(s))) => match serde_json::from_str::<Gene>(&s) {
                Ok(g) => return Ok(Some(g)),
                Err(e) => {
                    tracing::warn!(target: "helix::genemap", %e, "unreadable cached gene; reading the store")
                }
            },
            Ok(Ok(None)) => {}
            Ok(Err(e)) => {
                self.lost(e.to_string()).await;
                return self.inner.lookup(key).await;
            }
            Err(_) => {
                self.lost("timed out".into()).await;
                return self.inner.lookup(key).await;
            }
        }
        let seen: String = tokio::time::timeout(CALL_TIMEOUT, conn.get::<_, Option<String>>(&v))
            .await
            .ok()
            .and_then(Result::ok)
            .flatten()
            .unwrap_or_default();
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
                .arg(TTL.as_secs())
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
        if let Some(mut conn) = self.conn().await {
            let (k, v) = self.keys(outcome.key);
            let done = tokio::time::timeout(
                CALL_TIMEOUT,
                redis::pipe()
                    .atomic()
                    .incr(&v, 1)
                    .ignore()
                    // The version must outlive any copy filled under it.
                    .expire(&v, (2 * TTL.as_secs()) as i64)
                    .ignore()
                    .del(&k)
                    .ignore()
                    .publish(CHANNEL, outcome.key.to_string())
                    .ignore()
                    .query_async::<()>(&mut conn),
            )
            .await;
            if !matches!(done, Ok(Ok(()))) {
                // The store has the outcome; a cached copy may now be stale
                // for up to the TTL. Say so loudly.
                tracing::error!(target: "helix::genemap", key = %outcome.key, "redis invalidation failed");
                self.lost("invalidation failed".into()).await;
            }
        }
        Ok(gene)
    }

    async fn list(&self) -> Result<Vec<Gene>, StoreError> {
        self.inner.list().await
    }
}
