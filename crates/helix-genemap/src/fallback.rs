//! Degraded operation for the shared Gene Map: while PostgreSQL cannot be
//! reached, an instance goes on with its local SQLite Gene Map (lookups and
//! learning), queues every outcome there, and when PostgreSQL answers again
//! replays the queue into it, oldest first, before anything else. Nothing
//! learned during the outage is lost, and a payment never waits on a dead
//! database for longer than one failed call.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use helix_core::{
    Diagnosis, Gene, GeneKey, GeneStore, GeneVersion, Outcome, StoreError, StrategyId,
};
use tokio::sync::Mutex;

use crate::postgres::PostgresGeneStore;
use crate::sqlite::SqliteGeneStore;

/// How often a lost PostgreSQL is tried again.
const RETRY_EVERY: Duration = Duration::from_secs(1);

/// How long one connection attempt may take. With a call's own bound
/// (`postgres::CALL_TIMEOUT`) it stays under the engine's store timeout, so
/// a stalled database never costs a payment what it learned.
const RECONNECT_TIMEOUT: Duration = Duration::from_millis(600);

struct State {
    primary: Option<Arc<PostgresGeneStore>>,
    next_try: Instant,
}

/// PostgreSQL first, the local SQLite Gene Map while it is down.
pub struct FallbackGeneStore {
    url: String,
    local: Arc<SqliteGeneStore>,
    state: Mutex<State>,
}

impl std::fmt::Debug for FallbackGeneStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FallbackGeneStore")
            .field("local", &self.local.path())
            .finish_non_exhaustive()
    }
}

impl FallbackGeneStore {
    /// Uses PostgreSQL at `url`, falling back to `local`. Connecting now is
    /// attempted but not required.
    pub async fn new(url: &str, local: Arc<SqliteGeneStore>) -> Self {
        let s = FallbackGeneStore {
            url: url.to_owned(),
            local,
            state: Mutex::new(State {
                primary: None,
                next_try: Instant::now(),
            }),
        };
        // At start-up no payment waits: allow a first migration its time.
        s.state.lock().await.next_try = Instant::now() + RETRY_EVERY;
        match PostgresGeneStore::connect(url).await {
            Ok(p) => s.adopt(Arc::new(p)).await,
            Err(e) => {
                tracing::warn!(target: "helix::genemap", %e, "shared Gene Map unavailable; using the local one");
            }
        }
        s
    }

    /// Whether PostgreSQL is in use now.
    pub async fn connected(&self) -> bool {
        self.state.lock().await.primary.is_some()
    }

    /// Outcomes waiting for PostgreSQL.
    pub fn queued(&self) -> usize {
        self.local.queued().map_or(0, |q| q.len())
    }

    /// The primary, reconnecting (and merging the queue) when it is due.
    async fn primary(&self) -> Option<Arc<PostgresGeneStore>> {
        let mut st = self.state.lock().await;
        if let Some(p) = &st.primary {
            return Some(p.clone());
        }
        if Instant::now() < st.next_try {
            return None;
        }
        st.next_try = Instant::now() + RETRY_EVERY;
        let p = match PostgresGeneStore::connect_within(&self.url, RECONNECT_TIMEOUT).await {
            Ok(p) => Arc::new(p),
            Err(e) => {
                tracing::warn!(target: "helix::genemap", %e, "shared Gene Map unavailable; using the local one");
                return None;
            }
        };
        if let Err(e) = self.merge(&p).await {
            tracing::warn!(target: "helix::genemap", %e, "merging queued outcomes failed; will retry");
            return None;
        }
        st.primary = Some(p.clone());
        Some(p)
    }

    /// Takes `p` as the primary once the queue is merged into it.
    async fn adopt(&self, p: Arc<PostgresGeneStore>) {
        let mut st = self.state.lock().await;
        match self.merge(&p).await {
            Ok(()) => st.primary = Some(p),
            Err(e) => {
                tracing::warn!(target: "helix::genemap", %e, "merging queued outcomes failed; will retry")
            }
        }
    }

    async fn merge(&self, p: &PostgresGeneStore) -> Result<(), StoreError> {
        let queue = self.local.queued()?;
        let n = queue.len();
        for (id, o) in queue {
            match o {
                Ok(o) => {
                    p.record(&o).await?;
                }
                Err(e) => {
                    tracing::error!(target: "helix::genemap", %e, "dropping an unreadable queued outcome");
                }
            }
            self.local.dequeue(id)?;
        }
        if n > 0 {
            tracing::info!(target: "helix::genemap", merged = n, "queued outcomes merged into the shared Gene Map");
        }
        Ok(())
    }

    async fn lost(&self, e: &StoreError) {
        tracing::warn!(target: "helix::genemap", %e, "shared Gene Map lost; using the local one");
        let mut st = self.state.lock().await;
        st.primary = None;
        st.next_try = Instant::now() + RETRY_EVERY;
    }
}

#[async_trait]
impl GeneStore for FallbackGeneStore {
    async fn lookup(&self, key: GeneKey) -> Result<Option<Gene>, StoreError> {
        if let Some(p) = self.primary().await {
            match p.lookup(key).await {
                Ok(g) => return Ok(g),
                Err(e) => self.lost(&e).await,
            }
        }
        self.local.lookup(key).await
    }

    async fn record(&self, o: &Outcome) -> Result<Gene, StoreError> {
        if let Some(p) = self.primary().await {
            match p.record(o).await {
                Ok(g) => {
                    // The local map follows the shared one, so an outage
                    // starts from what was known.
                    if let Err(e) = self.local.put(&g) {
                        tracing::warn!(target: "helix::genemap", %e, "local copy not updated");
                    }
                    return Ok(g);
                }
                Err(e) => self.lost(&e).await,
            }
        }
        self.local.enqueue(o)?;
        self.local.record(o).await
    }

    async fn adopt(&self, gene: &Gene) -> Result<bool, StoreError> {
        if let Some(p) = self.primary().await {
            match p.adopt(gene).await {
                Ok(stored) => {
                    let _ = self.local.adopt(gene).await;
                    return Ok(stored);
                }
                Err(e) => self.lost(&e).await,
            }
        }
        self.local.adopt(gene).await
    }

    async fn retune(
        &self,
        key: GeneKey,
        strategy: StrategyId,
        params: &serde_json::Value,
        evidence: &serde_json::Value,
    ) -> Result<Option<u32>, StoreError> {
        // Tuning is not urgent: it waits for the primary rather than fork
        // the versions into the local file.
        match self.primary().await {
            Some(p) => {
                let v = p.retune(key, strategy, params, evidence).await?;
                let _ = self.local.retune(key, strategy, params, evidence).await;
                Ok(v)
            }
            None => Err(StoreError::Unavailable(
                "the primary gene map is down; retune later".into(),
            )),
        }
    }

    async fn versions(
        &self,
        key: GeneKey,
        strategy: StrategyId,
    ) -> Result<Vec<GeneVersion>, StoreError> {
        match self.primary().await {
            Some(p) => p.versions(key, strategy).await,
            None => self.local.versions(key, strategy).await,
        }
    }

    async fn list(&self) -> Result<Vec<Gene>, StoreError> {
        if let Some(p) = self.primary().await {
            match p.list().await {
                Ok(g) => return Ok(g),
                Err(e) => self.lost(&e).await,
            }
        }
        self.local.list().await
    }

    async fn diagnosis(&self, fingerprint: &str) -> Result<Option<Diagnosis>, StoreError> {
        if let Some(p) = self.primary().await {
            match p.diagnosis(fingerprint).await {
                Ok(Some(d)) => return Ok(Some(d)),
                Ok(None) => {
                    // Learned here during an outage: share it now.
                    let local = self.local.diagnosis(fingerprint).await?;
                    if let Some(d) = &local
                        && let Err(e) = p.remember_diagnosis(fingerprint, d).await
                    {
                        self.lost(&e).await;
                    }
                    return Ok(local);
                }
                Err(e) => self.lost(&e).await,
            }
        }
        self.local.diagnosis(fingerprint).await
    }

    async fn remember_diagnosis(&self, fingerprint: &str, d: &Diagnosis) -> Result<(), StoreError> {
        self.local.remember_diagnosis(fingerprint, d).await?;
        if let Some(p) = self.primary().await
            && let Err(e) = p.remember_diagnosis(fingerprint, d).await
        {
            self.lost(&e).await;
        }
        Ok(())
    }

    async fn forget_diagnosis(&self, fingerprint: &str) -> Result<(), StoreError> {
        self.local.forget_diagnosis(fingerprint).await?;
        if let Some(p) = self.primary().await
            && let Err(e) = p.forget_diagnosis(fingerprint).await
        {
            self.lost(&e).await;
        }
        Ok(())
    }
}
