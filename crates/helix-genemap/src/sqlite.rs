//! The embedded Gene Map: one SQLite file in WAL mode.
//!
//! Calls run on the caller's task under a mutex rather than on a blocking
//! pool: a lookup is a few microseconds of indexed read, less than the
//! hand-off to `spawn_blocking` would cost. Writers in other processes are
//! serialised by SQLite (`BEGIN IMMEDIATE` with a busy timeout).

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use helix_core::gene::{best_of, now_ms};
use helix_core::{Gene, GeneKey, GeneSource, GeneStore, Outcome, Platform, StoreError};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use crate::migrations::{LATEST, MIGRATIONS};

const COLUMNS: &str = "code, category, strategy, params, q, successes, failures, \
    consecutive_failures, mean_ms, platforms, created_at, last_used_at, source, confidence, \
    expires_at, mean_cost";

/// A Gene Map in a SQLite file.
#[derive(Debug)]
pub struct SqliteGeneStore {
    conn: Mutex<Connection>,
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
            conn: Mutex::new(conn),
            path,
        })
    }

    /// The file this store lives in.
    pub fn path(&self) -> &Path {
        &self.path
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
        write(&*self.conn()?, g)
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
        write(&tx, &gene)?;
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
        self.record_sync(outcome)
    }

    async fn list(&self) -> Result<Vec<Gene>, StoreError> {
        let (genes, bad) = self.scan()?;
        for e in bad {
            tracing::warn!(target: "helix::genemap", %e, "skipping unreadable gene row");
        }
        Ok(genes)
    }
}

fn write(conn: &Connection, g: &Gene) -> Result<(), StoreError> {
    let platforms: Vec<&str> = g.platforms.iter().map(|p| p.as_str()).collect();
    conn.execute(
        &format!(
            "INSERT OR REPLACE INTO genes ({COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
        ),
        params![
            g.key.code.as_str(),
            g.key.category.as_str(),
            g.strategy.as_str(),
            g.params.to_string(),
            g.q,
            g.successes as i64,
            g.failures as i64,
            i64::from(g.consecutive_failures),
            g.mean_ms,
            platforms.join(","),
            g.created_at,
            g.last_used_at,
            g.source.as_str(),
            g.confidence,
            g.expires_at,
            g.mean_cost,
        ],
    )
    .map_err(unavailable)?;
    Ok(())
}

/// Reads one row; a row that does not parse is an `Err` inside the `Ok`, so
/// one bad row never hides the others.
fn read_row(r: &Row<'_>) -> rusqlite::Result<Result<Gene, StoreError>> {
    let code: String = r.get(0)?;
    let category: String = r.get(1)?;
    let strategy: String = r.get(2)?;
    let id = format!("{code}/{category}/{strategy}");
    let corrupt = |reason: String| StoreError::Corrupt {
        row: id.clone(),
        reason,
    };
    let params: String = r.get(3)?;
    let platforms: String = r.get(9)?;
    let source: String = r.get(12)?;
    let parsed = (|| {
        let key = GeneKey {
            code: code.parse().map_err(|e| corrupt(format!("{e}")))?,
            category: category.parse().map_err(|e| corrupt(format!("{e}")))?,
        };
        let platforms = platforms
            .split(',')
            .filter(|p| !p.is_empty())
            .map(|p| p.parse::<Platform>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| corrupt(format!("{e}")))?;
        let counts = |i: usize, v: i64| {
            u64::try_from(v).map_err(|_| corrupt(format!("negative count in column {i}")))
        };
        Ok(Gene {
            key,
            strategy: strategy.parse().map_err(|e| corrupt(format!("{e}")))?,
            params: serde_json::from_str(&params).map_err(|e| corrupt(format!("params: {e}")))?,
            q: r.get(4).map_err(|e| corrupt(e.to_string()))?,
            successes: counts(5, r.get(5).map_err(|e| corrupt(e.to_string()))?)?,
            failures: counts(6, r.get(6).map_err(|e| corrupt(e.to_string()))?)?,
            consecutive_failures: u32::try_from(
                r.get::<_, i64>(7).map_err(|e| corrupt(e.to_string()))?,
            )
            .map_err(|_| corrupt("consecutive_failures out of range".into()))?,
            mean_ms: r.get(8).map_err(|e| corrupt(e.to_string()))?,
            platforms,
            source: GeneSource::parse(&source)
                .ok_or_else(|| corrupt(format!("unknown source `{source}`")))?,
            confidence: r.get(13).map_err(|e| corrupt(e.to_string()))?,
            expires_at: r.get(14).map_err(|e| corrupt(e.to_string()))?,
            created_at: r.get(10).map_err(|e| corrupt(e.to_string()))?,
            last_used_at: r.get(11).map_err(|e| corrupt(e.to_string()))?,
            mean_cost: r.get(15).map_err(|e| corrupt(e.to_string()))?,
        })
    })();
    Ok(parsed)
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
