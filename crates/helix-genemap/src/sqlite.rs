//! The embedded Gene Map: one SQLite file in WAL mode.
//!
//! Reads run on the caller's task under a mutex rather than on a blocking
//! pool: a lookup is a few microseconds of indexed read (WAL readers never
//! wait for a writer), less than the hand-off to `spawn_blocking` would
//! cost. A record may wait for another process's write lock (`BEGIN
//! IMMEDIATE` with a busy timeout), so it runs on the blocking pool and
//! never holds an async thread that carries payments.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use helix_core::gene::{best_of, now_ms};
use helix_core::{
    Diagnosis, Gene, GeneKey, GeneStore, GeneVersion, Outcome, StoreError, StrategyId,
};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use crate::migrations::{LATEST, MIGRATIONS};
use crate::row::{COLUMNS, RawGene, decode_diagnosis, encode_diagnosis};

/// A waiting outcome: its queue id, and the outcome or why it is unreadable.
pub type Queued = (i64, Result<Outcome, StoreError>);

/// A Gene Map in a SQLite file.
#[derive(Debug)]
pub struct SqliteGeneStore {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

impl SqliteGeneStore {
    /// Opens (creating if needed) the file and brings its schema up to date.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let conn =
            Connection::open(&path).map_err(|e| unavailable(format!("{}: {e}", path.display())))?;
        Self::init(conn, path)
    }

    /// A private in-memory database (tests, benchmarks).
    pub fn in_memory() -> Result<Self, StoreError> {
        let conn = Connection::open_in_memory().map_err(unavailable)?;
        Self::init(conn, PathBuf::from(":memory:"))
    }

    fn init(mut conn: Connection, path: PathBuf) -> Result<Self, StoreError> {
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(unavailable)?;
        // WAL: readers never block the writer; NORMAL is durable across
        // process crashes, which is what a gene needs.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(unavailable)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(unavailable)?;
        migrate(&mut conn, LATEST)?;
        Ok(SqliteGeneStore {
            conn: Arc::new(Mutex::new(conn)),
            path,
        })
    }

    /// The file this store lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Another handle on the same connection, for the blocking pool.
    fn handle(&self) -> SqliteGeneStore {
        SqliteGeneStore {
            conn: self.conn.clone(),
            path: self.path.clone(),
        }
    }

    fn conn(&self) -> Result<std::sync::MutexGuard<'_, Connection>, StoreError> {
        self.conn
            .lock()
            .map_err(|_| unavailable("connection lock poisoned"))
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        version(&*self.conn()?)
    }

    /// Every readable gene and an error for each row that could not be read.
    pub fn scan(&self) -> Result<(Vec<Gene>, Vec<StoreError>), StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM genes ORDER BY code, category, q DESC"
            ))
            .map_err(unavailable)?;
        let rows = stmt.query_map([], read_row).map_err(unavailable)?;
        let mut genes = Vec::new();
        let mut bad = Vec::new();
        for r in rows {
            match r.map_err(unavailable)? {
                Ok(g) => genes.push(g),
                Err(e) => bad.push(e),
            }
        }
        Ok((genes, bad))
    }

    /// Deletes every gene (the demo's `--fresh`). Returns how many were removed.
    pub fn clear(&self) -> Result<usize, StoreError> {
        self.conn()?
            .execute("DELETE FROM genes", [])
            .map_err(unavailable)
    }

    /// Writes a gene as it is (seeding, replication, tests).
    pub fn put(&self, g: &Gene) -> Result<(), StoreError> {
        write(&*self.conn()?, g, "INSERT OR REPLACE").map(drop)
    }

    /// Keeps an outcome for a shared Gene Map that could not take it now.
    pub fn enqueue(&self, o: &Outcome) -> Result<(), StoreError> {
        let payload = serde_json::to_string(o).map_err(unavailable)?;
        self.conn()?
            .execute(
                "INSERT INTO outcome_queue (payload, created_at) VALUES (?1, ?2)",
                params![payload, now_ms()],
            )
            .map_err(unavailable)?;
        Ok(())
    }

    /// The waiting outcomes, oldest first, with their queue ids. A row that
    /// does not decode is reported as corrupt (and left in place).
    pub fn queued(&self) -> Result<Vec<Queued>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare("SELECT id, payload FROM outcome_queue ORDER BY id")
            .map_err(unavailable)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
            .map_err(unavailable)?;
        let mut out = Vec::new();
        for row in rows {
            let (id, payload) = row.map_err(unavailable)?;
            let o = serde_json::from_str(&payload).map_err(|e| StoreError::Corrupt {
                row: format!("queued outcome {id}"),
                reason: e.to_string(),
            });
            out.push((id, o));
        }
        Ok(out)
    }

    /// Removes a delivered outcome from the queue.
    pub fn dequeue(&self, id: i64) -> Result<(), StoreError> {
        self.conn()?
            .execute("DELETE FROM outcome_queue WHERE id = ?1", params![id])
            .map_err(unavailable)?;
        Ok(())
    }

    fn lookup_sync(&self, key: GeneKey) -> Result<Option<Gene>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM genes WHERE code = ?1 AND category = ?2"
            ))
            .map_err(unavailable)?;
        let rows = stmt
            .query_map(params![key.code.as_str(), key.category.as_str()], read_row)
            .map_err(unavailable)?;
        let mut genes = Vec::with_capacity(2);
        for r in rows {
            match r.map_err(unavailable)? {
                Ok(g) => genes.push(g),
                Err(e) => {
                    tracing::warn!(target: "helix::genemap", %e, "skipping unreadable gene row")
                }
            }
        }
        Ok(best_of(&genes, now_ms()).cloned())
    }

    fn record_sync(&self, o: &Outcome) -> Result<Gene, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(unavailable)?;
        let existing = tx
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM genes WHERE code = ?1 AND category = ?2 AND strategy = ?3"
                ),
                params![
                    o.key.code.as_str(),
                    o.key.category.as_str(),
                    o.strategy.as_str()
                ],
                read_row,
            )
            .optional()
            .map_err(unavailable)?;
        if o.id != 0 {
            let fresh = tx
                .execute(
                    "INSERT INTO applied_outcomes (id, applied_at) VALUES (?1, ?2) \
                     ON CONFLICT (id) DO NOTHING",
                    params![o.id as i64, now_ms()],
                )
                .map_err(unavailable)?;
            if fresh == 0
                && let Some(Ok(g)) = &existing
            {
                let g = g.clone();
                tx.commit().map_err(unavailable)?;
                return Ok(g);
            }
        }
        let mut gene = match existing {
            Some(Ok(g)) => g,
            // A corrupt row is replaced by a fresh gene rather than guessed at;
            // the outcome being recorded is real evidence, the row was not.
            Some(Err(e)) => {
                tracing::warn!(target: "helix::genemap", %e, "replacing unreadable gene row");
                Gene::new(o)
            }
            None => Gene::new(o),
        };
        gene.learn(o);
        write(&tx, &gene, "INSERT OR REPLACE")?;
        tx.commit().map_err(unavailable)?;
        Ok(gene)
    }
}

#[async_trait]
impl GeneStore for SqliteGeneStore {
    async fn lookup(&self, key: GeneKey) -> Result<Option<Gene>, StoreError> {
        self.lookup_sync(key)
    }

    async fn record(&self, outcome: &Outcome) -> Result<Gene, StoreError> {
        // Outside a Tokio runtime (another executor, a plain poll) there is
        // no blocking pool to hand the write to: it runs here.
        if tokio::runtime::Handle::try_current().is_err() {
            return self.record_sync(outcome);
        }
        let (me, o) = (self.handle(), outcome.clone());
        tokio::task::spawn_blocking(move || me.record_sync(&o))
            .await
            .unwrap_or_else(|e| Err(unavailable(format!("record failed: {e}"))))
    }

    async fn adopt(&self, gene: &Gene) -> Result<bool, StoreError> {
        // One indexed insert; the busy timeout bounds a wait on another
        // process's write lock.
        Ok(write(&*self.conn()?, gene, "INSERT OR IGNORE")? == 1)
    }

    async fn list(&self) -> Result<Vec<Gene>, StoreError> {
        let (genes, bad) = self.scan()?;
        for e in bad {
            tracing::warn!(target: "helix::genemap", %e, "skipping unreadable gene row");
        }
        Ok(genes)
    }

    async fn diagnosis(&self, fingerprint: &str) -> Result<Option<Diagnosis>, StoreError> {
        let conn = self.conn()?;
        let payload: Option<String> = conn
            .query_row(
                "SELECT payload FROM diagnoses WHERE fingerprint = ?1",
                params![fingerprint],
                |r| r.get(0),
            )
            .optional()
            .map_err(unavailable)?;
        payload
            .map(|p| decode_diagnosis(fingerprint, &p))
            .transpose()
    }

    async fn remember_diagnosis(&self, fingerprint: &str, d: &Diagnosis) -> Result<(), StoreError> {
        let payload = encode_diagnosis(d)?;
        self.conn()?
            .execute(
                "INSERT INTO diagnoses (fingerprint, payload, created_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (fingerprint) DO NOTHING",
                params![fingerprint, payload, now_ms()],
            )
            .map_err(unavailable)?;
        Ok(())
    }

    async fn forget_diagnosis(&self, fingerprint: &str) -> Result<(), StoreError> {
        self.conn()?
            .execute(
                "DELETE FROM diagnoses WHERE fingerprint = ?1",
                params![fingerprint],
            )
            .map_err(unavailable)?;
        Ok(())
    }

    async fn retune(
        &self,
        key: GeneKey,
        strategy: StrategyId,
        params: &serde_json::Value,
        evidence: &serde_json::Value,
    ) -> Result<Option<u32>, StoreError> {
        let (p, e) = (params.to_string(), evidence.to_string());
        let ids = [key.code.as_str(), key.category.as_str(), strategy.as_str()];
        let mut conn = self.conn()?;
        // IMMEDIATE: the write lock is taken before the version is read, so
        // two tuners cannot both take the same number.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(unavailable)?;
        let changed = tx
            .execute(
                "UPDATE genes SET params = ?4 WHERE code = ?1 AND category = ?2 AND strategy = ?3",
                params![ids[0], ids[1], ids[2], p],
            )
            .map_err(unavailable)?;
        if changed == 0 {
            return Ok(None);
        }
        let version: i64 = tx
            .query_row(
                "SELECT COALESCE(MAX(version), 0) + 1 FROM gene_versions \
                 WHERE code = ?1 AND category = ?2 AND strategy = ?3",
                params![ids[0], ids[1], ids[2]],
                |r| r.get(0),
            )
            .map_err(unavailable)?;
        tx.execute(
            "INSERT INTO gene_versions (code, category, strategy, version, params, evidence, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![ids[0], ids[1], ids[2], version, p, e, now_ms()],
        )
        .map_err(unavailable)?;
        tx.commit().map_err(unavailable)?;
        Ok(Some(version as u32))
    }

    async fn versions(
        &self,
        key: GeneKey,
        strategy: StrategyId,
    ) -> Result<Vec<GeneVersion>, StoreError> {
        let conn = self.conn()?;
        let mut st = conn
            .prepare(
                "SELECT version, params, evidence, created_at FROM gene_versions \
                 WHERE code = ?1 AND category = ?2 AND strategy = ?3 ORDER BY version",
            )
            .map_err(unavailable)?;
        let rows = st
            .query_map(
                params![key.code.as_str(), key.category.as_str(), strategy.as_str()],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?,
                    ))
                },
            )
            .map_err(unavailable)?;
        let mut out = Vec::new();
        for row in rows {
            let (v, p, e, at) = row.map_err(unavailable)?;
            out.push(crate::row::version(&key, strategy, v, &p, &e, at)?);
        }
        Ok(out)
    }
}

/// Writes a row with `verb` (`INSERT OR REPLACE`, or `INSERT OR IGNORE`
/// to keep what is there); returns the rows written.
fn write(conn: &Connection, g: &Gene, verb: &str) -> Result<usize, StoreError> {
    let r = RawGene::encode(g);
    conn.execute(
        &format!(
            "{verb} INTO genes ({COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
        ),
        params![
            r.code,
            r.category,
            r.strategy,
            r.params,
            r.q,
            r.successes,
            r.failures,
            r.consecutive_failures,
            r.mean_ms,
            r.platforms,
            r.created_at,
            r.last_used_at,
            r.source,
            r.confidence,
            r.expires_at,
            r.mean_cost,
        ],
    )
    .map_err(unavailable)
}

/// Reads a row; a column of the wrong type is a corrupt row, not an error
/// of the whole read.
fn read_row(r: &Row<'_>) -> rusqlite::Result<Result<Gene, StoreError>> {
    Ok(RawGene::read(r))
}

fn version(conn: &Connection) -> Result<i64, StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
    )
    .map_err(unavailable)?;
    conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )
    .map_err(unavailable)
}

/// Applies migrations up to `target`, each in its own transaction.
pub fn migrate(conn: &mut Connection, target: i64) -> Result<(), StoreError> {
    let current = version(conn)?;
    if current > LATEST {
        return Err(StoreError::SchemaTooNew {
            found: current,
            supported: LATEST,
        });
    }
    for m in MIGRATIONS
        .iter()
        .filter(|m| m.version > current && m.version <= target)
    {
        let tx = conn.transaction().map_err(unavailable)?;
        tx.execute_batch(m.sqlite)
            .map_err(|e| unavailable(format!("migration {} ({}): {e}", m.version, m.name)))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            params![m.version, m.name, now_ms()],
        )
        .map_err(unavailable)?;
        tx.commit().map_err(unavailable)?;
        tracing::info!(target: "helix::genemap", version = m.version, name = m.name, "migrated");
    }
    Ok(())
}
