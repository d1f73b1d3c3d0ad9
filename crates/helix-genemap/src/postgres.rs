//! The shared Gene Map on PostgreSQL: the same logical schema and the same
//! migration list as SQLite (each migration's `postgres` dialect), so every
//! agent instance pointed at one database learns from every other.
//!
//! Driver: `tokio-postgres`. It is async (a lookup never blocks the
//! runtime), pipelines queries from many tasks over one connection, and
//! carries no query macros or build-time database access, which keeps the
//! build and the SQL plain. Migrations and gene updates are serialised
//! across processes with transaction-scoped advisory locks.

use std::time::Duration;

use async_trait::async_trait;
use helix_core::gene::{best_of, now_ms};
use helix_core::{
    Diagnosis, Gene, GeneKey, GeneStore, GeneVersion, Outcome, StoreError, StrategyId,
};
use tokio_postgres::{Client, NoTls, Row};

use crate::migrations::{LATEST, MIGRATIONS};
use crate::row::{COLUMNS, RawGene, decode_diagnosis, encode_diagnosis};

/// Advisory lock key for migrations ("helix" in ASCII).
const MIGRATION_LOCK: i64 = 0x68_65_6c_69_78;

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// What the database said: the driver's own text is only "db error".
pub(crate) fn said(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(d) => format!("{}: {}", d.severity(), d.message()),
        None => e.to_string(),
    }
}

fn db(e: tokio_postgres::Error) -> StoreError {
    StoreError::Unavailable(said(&e))
}

/// A Gene Map in PostgreSQL.
pub struct PostgresGeneStore {
    /// Lookups share the connection; a record takes it alone for its
    /// transaction (the driver's transactions borrow the client mutably).
    client: tokio::sync::RwLock<Client>,
    task: tokio::task::JoinHandle<()>,
    call_timeout: Duration,
}

impl std::fmt::Debug for PostgresGeneStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresGeneStore").finish_non_exhaustive()
    }
}

impl Drop for PostgresGeneStore {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl PostgresGeneStore {
    /// Connects to `url` (`postgres://user@host:port/db`) and migrates it to
    /// this build's schema. A database with a newer schema is refused.
    /// Gives up after [`CONNECT_TIMEOUT`].
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_within(url, CONNECT_TIMEOUT).await
    }

    /// [`PostgresGeneStore::connect`], giving up after `limit` (connecting
    /// and migrating together).
    pub async fn connect_within(url: &str, limit: Duration) -> Result<Self, StoreError> {
        let (client, task) = open_client(url, limit).await?;
        Ok(PostgresGeneStore {
            client: tokio::sync::RwLock::new(client),
            task,
            call_timeout: CALL_TIMEOUT,
        })
    }

    /// How long a call may take, waiting for the write lock included,
    /// before it is `Unavailable` (default [`CALL_TIMEOUT`], under the
    /// engine's store timeout).
    pub fn answer_within(mut self, d: Duration) -> Self {
        self.call_timeout = d;
        self
    }

    /// Removes every gene (`helix-lab demo --fresh`, tests).
    pub async fn clear(&self) -> Result<u64, StoreError> {
        self.client
            .read()
            .await
            .execute("DELETE FROM genes", &[])
            .await
            .map_err(db)
    }

    /// The schema version of the database.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        let row = self
            .client
            .read()
            .await
            .query_one(
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                &[],
            )
            .await
            .map_err(db)?;
        Ok(row.get(0))
    }
}

/// A migrated connection to `url` and the task driving it, within `limit`.
pub(crate) async fn open_client(
    url: &str,
    limit: Duration,
) -> Result<(Client, tokio::task::JoinHandle<()>), StoreError> {
    bounded(limit, async {
        let (mut client, conn) = tokio_postgres::connect(url, NoTls)
            .await
            .map_err(|e| unavailable(format!("{}: {e}", redact(url))))?;
        let task = tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::warn!(target: "helix::genemap", %e, "postgres connection closed");
            }
        });
        match migrate_client(&mut client).await {
            Ok(()) => Ok((client, task)),
            Err(e) => {
                task.abort();
                Err(e)
            }
        }
    })
    .await
}

/// Whether PostgreSQL at `url` answers a query (nothing is migrated).
pub async fn ping(url: &str) -> Result<(), StoreError> {
    bounded(Duration::from_secs(2), async {
        let (client, conn) = tokio_postgres::connect(url, NoTls)
            .await
            .map_err(|e| unavailable(format!("{}: {e}", redact(url))))?;
        let task = tokio::spawn(conn);
        let r = client.simple_query("SELECT 1").await.map(|_| ());
        task.abort();
        r.map_err(db)
    })
    .await
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            let user = creds.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..s + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// Migrates the database behind `client` to this build's schema.
pub(crate) async fn migrate_client(client: &mut Client) -> Result<(), StoreError> {
    let tx = client.transaction().await.map_err(db)?;
    // Two processes starting at once: the second waits, then finds the
    // schema current.
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(db)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    )
    .await
    .map_err(db)?;
    let current: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            &[],
        )
        .await
        .map_err(db)?
        .get(0);
    if current > LATEST {
        return Err(StoreError::SchemaTooNew {
            found: current,
            supported: LATEST,
        });
    }
    for m in MIGRATIONS.iter().filter(|m| m.version > current) {
        tx.batch_execute(m.postgres).await.map_err(|e| {
            unavailable(format!(
                "migration {} ({}): {}",
                m.version,
                m.name,
                said(&e)
            ))
        })?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            &[&m.version, &m.name, &now_ms()],
        )
        .await
        .map_err(db)?;
        tracing::info!(target: "helix::genemap", version = m.version, name = m.name, "migrated (postgres)");
    }
    tx.commit().await.map_err(db)
}

fn read_row(r: &Row) -> Result<Gene, StoreError> {
    RawGene::read(r)
}

fn rows_to_genes(rows: &[Row]) -> Vec<Gene> {
    rows.iter()
        .filter_map(|r| match read_row(r) {
            Ok(g) => Some(g),
            Err(e) => {
                tracing::warn!(target: "helix::genemap", %e, "skipping unreadable gene row");
                None
            }
        })
        .collect()
}

/// How long connecting (and migrating) may take by default.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long one call may wait for PostgreSQL. A database that accepted the
/// connection and stopped answering must not hold a payment: the call fails
/// (`Unavailable`) and the fallback store takes over.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(1);

async fn bounded<T>(
    limit: Duration,
    call: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    tokio::time::timeout(limit, call)
        .await
        .unwrap_or_else(|_| Err(unavailable(format!("postgres did not answer in {limit:?}"))))
}

#[async_trait]
impl GeneStore for PostgresGeneStore {
    async fn diagnosis(&self, fingerprint: &str) -> Result<Option<Diagnosis>, StoreError> {
        bounded(self.call_timeout, self.diagnosis_now(fingerprint)).await
    }

    async fn remember_diagnosis(&self, fingerprint: &str, d: &Diagnosis) -> Result<(), StoreError> {
        bounded(
            self.call_timeout,
            self.remember_diagnosis_now(fingerprint, d),
        )
        .await
    }

    async fn forget_diagnosis(&self, fingerprint: &str) -> Result<(), StoreError> {
        bounded(self.call_timeout, self.forget_diagnosis_now(fingerprint)).await
    }

    async fn lookup(&self, key: GeneKey) -> Result<Option<Gene>, StoreError> {
        bounded(self.call_timeout, self.lookup_now(key)).await
    }

    // A record cut by the bound may still commit; the outcome's id keeps a
    // replay of it from counting twice.
    async fn record(&self, o: &Outcome) -> Result<Gene, StoreError> {
        bounded(self.call_timeout, self.record_now(o)).await
    }

    async fn list(&self) -> Result<Vec<Gene>, StoreError> {
        bounded(self.call_timeout, self.list_now()).await
    }

    async fn adopt(&self, gene: &Gene) -> Result<bool, StoreError> {
        bounded(self.call_timeout, self.adopt_now(gene)).await
    }

    async fn retune(
        &self,
        key: GeneKey,
        strategy: StrategyId,
        params: &serde_json::Value,
        evidence: &serde_json::Value,
    ) -> Result<Option<u32>, StoreError> {
        bounded(
            self.call_timeout,
            self.retune_now(key, strategy, params, evidence),
        )
        .await
    }

    async fn versions(
        &self,
        key: GeneKey,
        strategy: StrategyId,
    ) -> Result<Vec<GeneVersion>, StoreError> {
        let rows = bounded(self.call_timeout, async {
            self.client
                .read()
                .await
                .query(
                    "SELECT version, params, evidence, created_at FROM gene_versions \
                     WHERE code = $1 AND category = $2 AND strategy = $3 ORDER BY version",
                    &[
                        &key.code.as_str(),
                        &key.category.as_str(),
                        &strategy.as_str(),
                    ],
                )
                .await
                .map_err(db)
        })
        .await?;
        rows.iter()
            .map(|r| {
                let v: i64 = r.try_get(0).map_err(db)?;
                let p: String = r.try_get(1).map_err(db)?;
                let e: String = r.try_get(2).map_err(db)?;
                let at: i64 = r.try_get(3).map_err(db)?;
                crate::row::version(&key, strategy, v, &p, &e, at)
            })
            .collect()
    }
}

impl PostgresGeneStore {
    async fn diagnosis_now(&self, fingerprint: &str) -> Result<Option<Diagnosis>, StoreError> {
        let row = self
            .client
            .read()
            .await
            .query_opt(
                "SELECT payload FROM diagnoses WHERE fingerprint = $1",
                &[&fingerprint],
            )
            .await
            .map_err(db)?;
        row.map(|r| {
            let payload: String = r.try_get(0).map_err(db)?;
            decode_diagnosis(fingerprint, &payload)
        })
        .transpose()
    }

    async fn remember_diagnosis_now(
        &self,
        fingerprint: &str,
        d: &Diagnosis,
    ) -> Result<(), StoreError> {
        let payload = encode_diagnosis(d)?;
        self.client
            .read()
            .await
            .execute(
                "INSERT INTO diagnoses (fingerprint, payload, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (fingerprint) DO NOTHING",
                &[&fingerprint, &payload, &now_ms()],
            )
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn forget_diagnosis_now(&self, fingerprint: &str) -> Result<(), StoreError> {
        self.client
            .read()
            .await
            .execute(
                "DELETE FROM diagnoses WHERE fingerprint = $1",
                &[&fingerprint],
            )
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn lookup_now(&self, key: GeneKey) -> Result<Option<Gene>, StoreError> {
        let rows = self
            .client
            .read()
            .await
            .query(
                &format!("SELECT {COLUMNS} FROM genes WHERE code = $1 AND category = $2"),
                &[&key.code.as_str(), &key.category.as_str()],
            )
            .await
            .map_err(db)?;
        Ok(best_of(&rows_to_genes(&rows), now_ms()).cloned())
    }

    async fn record_now(&self, o: &Outcome) -> Result<Gene, StoreError> {
        // One transaction per outcome under a lock on the gene's key, so
        // two instances learning the same gene at once both count.
        let mut client = self.client.write().await;
        let tx = client.transaction().await.map_err(db)?;
        let id = format!(
            "{}/{}/{}",
            o.key.code.as_str(),
            o.key.category.as_str(),
            o.strategy.as_str()
        );
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            &[&id],
        )
        .await
        .map_err(db)?;
        let existing = tx
            .query_opt(
                &format!(
                    "SELECT {COLUMNS} FROM genes WHERE code = $1 AND category = $2 AND strategy = $3"
                ),
                &[
                    &o.key.code.as_str(),
                    &o.key.category.as_str(),
                    &o.strategy.as_str(),
                ],
            )
            .await
            .map_err(db)?;
        // An outcome this map already learned from (a queue replayed after
        // a crash between record and dequeue) is not learned twice.
        if o.id != 0 {
            let fresh = tx
                .execute(
                    "INSERT INTO applied_outcomes (id, applied_at) VALUES ($1, $2) \
                     ON CONFLICT (id) DO NOTHING",
                    &[&(o.id as i64), &now_ms()],
                )
                .await
                .map_err(db)?;
            if fresh == 0
                && let Some(Ok(g)) = existing.as_ref().map(read_row)
            {
                tx.commit().await.map_err(db)?;
                return Ok(g);
            }
        }
        let mut gene = match existing.as_ref().map(read_row) {
            Some(Ok(g)) => g,
            // As in SQLite: a corrupt row is replaced by what this outcome
            // proves, never guessed at.
            Some(Err(e)) => {
                tracing::warn!(target: "helix::genemap", %e, "replacing unreadable gene row");
                Gene::new(o)
            }
            None => Gene::new(o),
        };
        gene.learn(o);
        let r = RawGene::encode(&gene);
        tx.execute(
            &insert(
                "DO UPDATE SET \
                 params = EXCLUDED.params, q = EXCLUDED.q, successes = EXCLUDED.successes, \
                 failures = EXCLUDED.failures, consecutive_failures = EXCLUDED.consecutive_failures, \
                 mean_ms = EXCLUDED.mean_ms, platforms = EXCLUDED.platforms, \
                 created_at = EXCLUDED.created_at, last_used_at = EXCLUDED.last_used_at, \
                 source = EXCLUDED.source, confidence = EXCLUDED.confidence, \
                 expires_at = EXCLUDED.expires_at, mean_cost = EXCLUDED.mean_cost",
            ),
            &values(&r),
        )
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(gene)
    }

    async fn adopt_now(&self, g: &Gene) -> Result<bool, StoreError> {
        let r = RawGene::encode(g);
        let n = self
            .client
            .read()
            .await
            .execute(&insert("DO NOTHING"), &values(&r))
            .await
            .map_err(db)?;
        Ok(n == 1)
    }

    async fn retune_now(
        &self,
        key: GeneKey,
        strategy: StrategyId,
        params: &serde_json::Value,
        evidence: &serde_json::Value,
    ) -> Result<Option<u32>, StoreError> {
        let (p, e) = (params.to_string(), evidence.to_string());
        let (code, category, strat) = (key.code.as_str(), key.category.as_str(), strategy.as_str());
        let mut client = self.client.write().await;
        let tx = client.transaction().await.map_err(db)?;
        // The UPDATE comes first: it locks the gene's row until commit, so
        // retunes of one gene read the highest version one after another.
        let changed = tx
            .execute(
                "UPDATE genes SET params = $4 WHERE code = $1 AND category = $2 AND strategy = $3",
                &[&code, &category, &strat, &p],
            )
            .await
            .map_err(db)?;
        if changed == 0 {
            return Ok(None);
        }
        let version: i64 = tx
            .query_one(
                "SELECT COALESCE(MAX(version), 0) + 1 FROM gene_versions \
                 WHERE code = $1 AND category = $2 AND strategy = $3",
                &[&code, &category, &strat],
            )
            .await
            .map_err(db)?
            .try_get(0)
            .map_err(db)?;
        tx.execute(
            "INSERT INTO gene_versions (code, category, strategy, version, params, evidence, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[&code, &category, &strat, &version, &p, &e, &now_ms()],
        )
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(Some(version as u32))
    }

    async fn list_now(&self) -> Result<Vec<Gene>, StoreError> {
        let rows = self
            .client
            .read()
            .await
            .query(
                &format!("SELECT {COLUMNS} FROM genes ORDER BY code, category, q DESC"),
                &[],
            )
            .await
            .map_err(db)?;
        Ok(rows_to_genes(&rows))
    }
}

/// A gene row's insert; `on_conflict` says what a row already there gets.
fn insert(on_conflict: &str) -> String {
    format!(
        "INSERT INTO genes ({COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
         ON CONFLICT (code, category, strategy) {on_conflict}"
    )
}

/// The row's values in [`COLUMNS`] order.
fn values(r: &RawGene) -> [&(dyn tokio_postgres::types::ToSql + Sync); 16] {
    [
        &r.code,
        &r.category,
        &r.strategy,
        &r.params,
        &r.q,
        &r.successes,
        &r.failures,
        &r.consecutive_failures,
        &r.mean_ms,
        &r.platforms,
        &r.created_at,
        &r.last_used_at,
        &r.source,
        &r.confidence,
        &r.expires_at,
        &r.mean_cost,
    ]
}
