//! The shared registry: writes to a PostgreSQL primary, reads from its
//! streaming replica while the replica is up and close behind, from the
//! primary otherwise. A push returns the gene as the primary's transaction
//! stored it, so the pusher always reads its own write.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use alloy::primitives::{Address, B256};
use async_trait::async_trait;
use helix_core::GeneKey;
use serde::Serialize;
use tokio::sync::{Mutex, RwLock};
use tokio_postgres::{Client, GenericClient, NoTls, Row};

use super::row::{Cols, decode, merge_platforms, quality_before, same_claim, totals};
use super::{Accept, Merged, RegistryStore, Stats, StoreError, hex_addr, sql};
use crate::store::migrations::MIGRATIONS;
use crate::wire::{GeneId, RegistryGene};

/// Connections to the primary (each transaction holds one).
const POOL: usize = 4;
/// How often the replica's lag is measured.
const PROBE_EVERY: Duration = Duration::from_millis(500);

fn db(e: tokio_postgres::Error) -> StoreError {
    let said = e
        .as_db_error()
        .map(|d| d.message().to_owned())
        .unwrap_or_else(|| e.to_string());
    StoreError::Unavailable(said)
}

impl Cols for Row {
    fn text(&self, i: usize) -> Result<String, StoreError> {
        self.try_get(i)
            .map_err(|e| StoreError::Corrupt(e.to_string()))
    }
    fn int(&self, i: usize) -> Result<i64, StoreError> {
        self.try_get(i)
            .map_err(|e| StoreError::Corrupt(e.to_string()))
    }
    fn real(&self, i: usize) -> Result<f64, StoreError> {
        self.try_get(i)
            .map_err(|e| StoreError::Corrupt(e.to_string()))
    }
}

/// Where reads went and how the replica is doing.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ReplicaState {
    /// A replica is configured.
    pub configured: bool,
    /// It answered the last probe.
    pub up: bool,
    /// Bytes of WAL it is behind the primary at the last probe.
    pub lag_bytes: u64,
    /// Reads it served.
    pub replica_reads: u64,
    /// Reads the primary served.
    pub primary_reads: u64,
}

#[derive(Default)]
struct Routing {
    up: AtomicBool,
    lag: AtomicU64,
    replica_reads: AtomicU64,
    primary_reads: AtomicU64,
}

/// A registry in PostgreSQL, with an optional read replica.
pub struct PostgresRegistry {
    pool: Vec<Mutex<Client>>,
    next: AtomicUsize,
    replica: Option<Arc<RwLock<Option<Client>>>>,
    routing: Arc<Routing>,
    max_lag: u64,
    probe: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for PostgresRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresRegistry")
            .field("pool", &self.pool.len())
            .field("replica", &self.replica.is_some())
            .finish()
    }
}

impl Drop for PostgresRegistry {
    fn drop(&mut self) {
        if let Some(t) = &self.probe {
            t.abort();
        }
    }
}

async fn open(url: &str) -> Result<Client, StoreError> {
    let (client, conn) = tokio_postgres::connect(url, NoTls).await.map_err(db)?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::warn!(target: "helix::registry", error = %e, "postgres connection closed");
        }
    });
    Ok(client)
}

impl PostgresRegistry {
    /// Connects to the primary (applying migrations) and, when given, the
    /// replica; reads fall back to the primary while the replica is down or
    /// more than `max_lag_bytes` of WAL behind.
    pub async fn connect(
        primary: &str,
        replica: Option<&str>,
        max_lag_bytes: u64,
    ) -> Result<Self, StoreError> {
        let mut first = open(primary).await?;
        migrate(&mut first).await?;
        let mut pool = vec![Mutex::new(first)];
        for _ in 1..POOL {
            pool.push(Mutex::new(open(primary).await?));
        }
        let routing = Arc::new(Routing::default());
        let (replica_slot, probe) = match replica {
            Some(url) => {
                let slot = Arc::new(RwLock::new(open(url).await.ok()));
                let probe = tokio::spawn(probe_replica(
                    open(primary).await?,
                    url.to_owned(),
                    slot.clone(),
                    routing.clone(),
                ));
                (Some(slot), Some(probe))
            }
            None => (None, None),
        };
        let me = PostgresRegistry {
            pool,
            next: AtomicUsize::new(0),
            replica: replica_slot,
            routing,
            max_lag: max_lag_bytes,
            probe,
        };
        if me.replica.is_some() {
            me.measure_once().await;
        }
        Ok(me)
    }

    async fn measure_once(&self) {
        // The first probe runs before serving, so the first read already
        // knows whether the replica can take it.
        for _ in 0..20 {
            if self.routing.up.load(Ordering::Relaxed) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Read routing so far.
    pub fn replica_state(&self) -> ReplicaState {
        let r = &self.routing;
        ReplicaState {
            configured: self.replica.is_some(),
            up: r.up.load(Ordering::Relaxed),
            lag_bytes: r.lag.load(Ordering::Relaxed),
            replica_reads: r.replica_reads.load(Ordering::Relaxed),
            primary_reads: r.primary_reads.load(Ordering::Relaxed),
        }
    }

    /// Deletes every registry row (tests).
    pub async fn clear(&self) -> Result<(), StoreError> {
        let c = self.primary().await;
        c.batch_execute(
            "DELETE FROM reg_genes; DELETE FROM reg_contributions; \
             DELETE FROM reg_evidence; DELETE FROM reg_nonces;",
        )
        .await
        .map_err(db)
    }

    async fn primary(&self) -> tokio::sync::MutexGuard<'_, Client> {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.pool.len();
        self.pool[i].lock().await
    }

    /// Runs a read on the replica when it may take it, else on the primary.
    async fn read<T>(
        &self,
        stmt: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
        f: impl Fn(Vec<Row>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let healthy = self.routing.up.load(Ordering::Relaxed)
            && self.routing.lag.load(Ordering::Relaxed) <= self.max_lag;
        if let (true, Some(slot)) = (healthy, &self.replica) {
            let guard = slot.read().await;
            if let Some(c) = guard.as_ref() {
                match c.query(stmt, params).await {
                    Ok(rows) => {
                        self.routing.replica_reads.fetch_add(1, Ordering::Relaxed);
                        return f(rows);
                    }
                    Err(e) => {
                        tracing::warn!(target: "helix::registry", error = %e, "replica read failed; reading the primary");
                        self.routing.up.store(false, Ordering::Relaxed);
                    }
                }
            }
        }
        self.routing.primary_reads.fetch_add(1, Ordering::Relaxed);
        let c = self.primary().await;
        f(c.query(stmt, params).await.map_err(db)?)
    }
}

async fn probe_replica(
    primary: Client,
    url: String,
    slot: Arc<RwLock<Option<Client>>>,
    routing: Arc<Routing>,
) {
    loop {
        let replayed = {
            let guard = slot.read().await;
            match guard.as_ref() {
                Some(c) => c
                    .query_one("SELECT pg_last_wal_replay_lsn()::text", &[])
                    .await
                    .ok()
                    .and_then(|r| r.try_get::<_, Option<String>>(0).ok().flatten()),
                None => None,
            }
        };
        let lag = match &replayed {
            Some(lsn) => primary
                .query_one(
                    "SELECT GREATEST(pg_wal_lsn_diff(pg_current_wal_lsn(), $1::text::pg_lsn), 0)::bigint",
                    &[lsn],
                )
                .await
                .ok()
                .and_then(|r| r.try_get::<_, i64>(0).ok()),
            None => None,
        };
        match lag {
            Some(l) => {
                routing.lag.store(l.max(0) as u64, Ordering::Relaxed);
                routing.up.store(true, Ordering::Relaxed);
            }
            None => {
                if routing.up.swap(false, Ordering::Relaxed) {
                    tracing::warn!(target: "helix::registry", "replica down; reads go to the primary");
                }
                let fresh = open(&url).await.ok();
                *slot.write().await = fresh;
            }
        }
        tokio::time::sleep(PROBE_EVERY).await;
    }
}

async fn migrate(c: &mut Client) -> Result<(), StoreError> {
    let tx = c.transaction().await.map_err(db)?;
    // One migrator at a time across registry nodes.
    tx.batch_execute(
        "SELECT pg_advisory_xact_lock(7226891); \
         CREATE TABLE IF NOT EXISTS registry_migrations \
         (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    )
    .await
    .map_err(db)?;
    let have: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0)::bigint FROM registry_migrations",
            &[],
        )
        .await
        .map_err(db)?
        .get(0);
    for m in MIGRATIONS.iter().filter(|m| m.version > have) {
        tx.batch_execute(m.postgres).await.map_err(db)?;
        tx.execute(
            "INSERT INTO registry_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            &[&m.version, &m.name, &helix_core::gene::now_ms()],
        )
        .await
        .map_err(db)?;
    }
    tx.commit().await.map_err(db)
}

async fn gene_by_id(c: &impl GenericClient, id: &str) -> Result<Option<RegistryGene>, StoreError> {
    c.query_opt(&sql::select_gene(), &[&id])
        .await
        .map_err(db)?
        .map(|r| decode(&r))
        .transpose()
}

async fn retally(c: &impl GenericClient, id: &str, at: i64) -> Result<(), StoreError> {
    let r = c.query_one(sql::TALLY, &[&id]).await.map_err(db)?;
    let mut t = [0i64; 7];
    for (i, v) in t.iter_mut().enumerate() {
        *v = r.try_get(i).map_err(db)?;
    }
    let t = totals(t);
    c.execute(
        sql::SET_TALLY,
        &[
            &t.successes,
            &t.failures,
            &t.agents,
            &t.evidence,
            &t.pushes,
            &t.mean_ms,
            &t.quality,
            &at,
            &t.claimed,
            &id,
        ],
    )
    .await
    .map_err(db)?;
    Ok(())
}

fn rows_to_genes(rows: Vec<Row>) -> Result<Vec<RegistryGene>, StoreError> {
    rows.iter().map(decode).collect()
}

#[async_trait]
impl RegistryStore for PostgresRegistry {
    async fn claim_nonce(&self, agent: Address, nonce: B256, at: i64) -> Result<bool, StoreError> {
        let c = self.primary().await;
        let n = c
            .execute(
                sql::CLAIM_NONCE,
                &[&hex_addr(agent), &nonce.to_string(), &at],
            )
            .await
            .map_err(db)?;
        Ok(n == 1)
    }

    async fn prune_nonces(&self, before: i64) -> Result<u64, StoreError> {
        let c = self.primary().await;
        c.execute(sql::PRUNE_NONCES, &[&before]).await.map_err(db)
    }

    async fn evidence_owner(&self, tx: B256) -> Result<Option<(Address, GeneId)>, StoreError> {
        // Read on the primary: a claim made a moment ago must be seen.
        let c = self.primary().await;
        let row = c
            .query_opt(sql::EVIDENCE_OWNER, &[&tx.to_string()])
            .await
            .map_err(db)?;
        row.map(|r| {
            let a: String = r.try_get(0).map_err(db)?;
            let g: String = r.try_get(1).map_err(db)?;
            Ok((
                a.parse()
                    .map_err(|e| StoreError::Corrupt(format!("{a}: {e}")))?,
                g.parse()
                    .map_err(|e| StoreError::Corrupt(format!("{g}: {e}")))?,
            ))
        })
        .transpose()
    }

    async fn accept(&self, a: Accept<'_>) -> Result<Merged, StoreError> {
        let id = a.id.to_string();
        let agent = hex_addr(a.agent);
        let g = a.gene;
        let params_text =
            serde_json::to_string(&g.params).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut c = self.primary().await;
        let tx = c.transaction().await.map_err(db)?;
        tx.execute(
            sql::INSERT_GENE,
            &[
                &id,
                &g.code.as_str(),
                &g.category.as_str(),
                &g.strategy.as_str(),
                &params_text,
                &"[]",
                &a.at,
            ],
        )
        .await
        .map_err(db)?;
        let state = tx
            .query_one(sql::LOCK_MERGE_STATE, &[&id])
            .await
            .map_err(db)?;
        let stored: String = state.try_get(0).map_err(db)?;
        let was = quality_before(state.try_get(1).map_err(db)?, state.try_get(2).map_err(db)?);
        if let Some(merged) = merge_platforms(&stored, &g.platforms)? {
            tx.execute(sql::SET_PLATFORMS, &[&merged, &id])
                .await
                .map_err(db)?;
        }
        let mut fresh = 0i64;
        for ev in a.evidence {
            let h = ev.tx.to_string();
            fresh += tx
                .execute(
                    sql::INSERT_EVIDENCE,
                    &[&h, &(ev.chain_id as i64), &agent, &id, &a.at],
                )
                .await
                .map_err(db)? as i64;
            let r = tx.query_one(sql::EVIDENCE_OWNER, &[&h]).await.map_err(db)?;
            let owner: (String, String) = (r.try_get(0).map_err(db)?, r.try_get(1).map_err(db)?);
            if !same_claim(&owner, &agent, &id) {
                return Err(StoreError::Claimed(ev.tx));
            }
        }
        tx.execute(
            sql::UPSERT_CONTRIBUTION,
            &[
                &id,
                &agent,
                &(g.successes as i64),
                &(g.failures as i64),
                &(g.mean_ms as i64),
                &fresh,
                &1i64,
                &a.at,
            ],
        )
        .await
        .map_err(db)?;
        retally(&tx, &id, a.at).await?;
        let stored = gene_by_id(&tx, &id)
            .await?
            .ok_or_else(|| StoreError::Unavailable("merged gene vanished".into()))?;
        tx.commit().await.map_err(db)?;
        Ok(Merged {
            gene: stored,
            was,
            new_evidence: fresh.max(0) as u64,
        })
    }

    async fn report(
        &self,
        id: GeneId,
        agent: Address,
        failures: u64,
        at: i64,
    ) -> Result<Option<RegistryGene>, StoreError> {
        let id = id.to_string();
        let mut c = self.primary().await;
        let tx = c.transaction().await.map_err(db)?;
        if tx
            .query_opt(sql::LOCK_MERGE_STATE, &[&id])
            .await
            .map_err(db)?
            .is_none()
        {
            return Ok(None);
        }
        tx.execute(
            sql::UPSERT_CONTRIBUTION,
            &[
                &id,
                &hex_addr(agent),
                &0i64,
                &(failures as i64),
                &0i64,
                &0i64,
                &0i64,
                &at,
            ],
        )
        .await
        .map_err(db)?;
        retally(&tx, &id, at).await?;
        let g = gene_by_id(&tx, &id).await?;
        tx.commit().await.map_err(db)?;
        Ok(g)
    }

    async fn best(
        &self,
        key: GeneKey,
        min_quality: f64,
    ) -> Result<Option<RegistryGene>, StoreError> {
        let stmt = sql::select_best();
        self.read(
            &stmt,
            &[&key.code.as_str(), &key.category.as_str(), &min_quality],
            |rows| rows.first().map(decode).transpose(),
        )
        .await
    }

    async fn show(&self, id: GeneId) -> Result<Option<RegistryGene>, StoreError> {
        let stmt = sql::select_gene();
        let key = id.to_string();
        let Some(mut g) = self
            .read(&stmt, &[&key], |rows| rows.first().map(decode).transpose())
            .await?
        else {
            return Ok(None);
        };
        g.evidence = self
            .read(sql::EVIDENCE_OF, &[&key], |rows| {
                rows.iter()
                    .map(|r| {
                        let tx: String = r.try_get(0).map_err(db)?;
                        tx.parse()
                            .map_err(|e| StoreError::Corrupt(format!("{tx}: {e}")))
                    })
                    .collect()
            })
            .await?;
        Ok(Some(g))
    }

    async fn top(&self, limit: u32) -> Result<Vec<RegistryGene>, StoreError> {
        let stmt = sql::select_top();
        self.read(&stmt, &[&(limit as i64)], rows_to_genes).await
    }

    async fn stats(&self) -> Result<Stats, StoreError> {
        self.read(sql::COUNT_STATS, &[], |rows| {
            let r = rows
                .first()
                .ok_or_else(|| StoreError::Unavailable("no stats row".into()))?;
            let n = |i: usize| r.try_get::<_, i64>(i).map(|v| v.max(0) as u64).map_err(db);
            Ok(Stats {
                genes: n(0)?,
                pushes: n(1)?,
                agents: n(2)?,
                evidence: n(3)?,
            })
        })
        .await
    }

    fn replica_state(&self) -> Option<ReplicaState> {
        Some(PostgresRegistry::replica_state(self))
    }
}
