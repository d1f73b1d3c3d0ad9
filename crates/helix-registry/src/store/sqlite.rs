//! The single-node registry: one SQLite file (WAL). Every write is one
//! `BEGIN IMMEDIATE` transaction on the blocking pool, so concurrent pushes
//! of one gene merge one after another.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy::primitives::{Address, B256};
use async_trait::async_trait;
use helix_core::GeneKey;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::row::{Cols, decode, merge_platforms, quality_before, same_claim, totals};
use super::{Accept, Merged, RegistryStore, Stats, StoreError, hex_addr, sql};
use crate::store::migrations::MIGRATIONS;
use crate::wire::{GeneId, RegistryGene};

/// A registry in a SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteRegistry {
    conn: Arc<Mutex<Connection>>,
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

impl Cols for rusqlite::Row<'_> {
    fn text(&self, i: usize) -> Result<String, StoreError> {
        self.get(i).map_err(|e| StoreError::Corrupt(e.to_string()))
    }
    fn int(&self, i: usize) -> Result<i64, StoreError> {
        self.get(i).map_err(|e| StoreError::Corrupt(e.to_string()))
    }
    fn real(&self, i: usize) -> Result<f64, StoreError> {
        self.get(i).map_err(|e| StoreError::Corrupt(e.to_string()))
    }
}

impl SqliteRegistry {
    /// Opens (creating) the file and applies the migrations.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref();
        let conn =
            Connection::open(path).map_err(|e| unavailable(format!("{}: {e}", path.display())))?;
        Self::init(conn)
    }

    /// A private in-memory registry (tests, benchmarks).
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory().map_err(unavailable)?)
    }

    fn init(mut conn: Connection) -> Result<Self, StoreError> {
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(unavailable)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(unavailable)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(unavailable)?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(unavailable)?;
        tx.execute_batch(
            "CREATE TABLE IF NOT EXISTS registry_migrations \
             (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
        )
        .map_err(unavailable)?;
        let have: i64 = tx
            .query_row(
                "SELECT COALESCE(MAX(version), 0) FROM registry_migrations",
                [],
                |r| r.get(0),
            )
            .map_err(unavailable)?;
        for m in MIGRATIONS.iter().filter(|m| m.version > have) {
            tx.execute_batch(m.sqlite)
                .map_err(|e| unavailable(format!("migration {} ({}): {e}", m.version, m.name)))?;
            tx.execute(
                "INSERT INTO registry_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
                params![m.version, m.name, helix_core::gene::now_ms()],
            )
            .map_err(unavailable)?;
        }
        tx.commit().map_err(unavailable)?;
        Ok(SqliteRegistry {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut c = conn
                .lock()
                .map_err(|_| unavailable("registry connection lock poisoned"))?;
            f(&mut c)
        })
        .await
        .map_err(unavailable)?
    }
}

fn gene_by_id(c: &Connection, id: &str) -> Result<Option<RegistryGene>, StoreError> {
    let row = c
        .query_row(&sql::select_gene(), [id], |r| Ok(decode(r)))
        .optional()
        .map_err(unavailable)?;
    row.transpose()
}

fn retally(c: &Connection, id: &str, at: i64) -> Result<(), StoreError> {
    let t: [i64; 7] = c
        .query_row(sql::TALLY, [id], |r| {
            Ok([
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ])
        })
        .map_err(unavailable)?;
    let t = totals(t);
    c.execute(
        sql::SET_TALLY,
        params![
            t.successes,
            t.failures,
            t.agents,
            t.evidence,
            t.pushes,
            t.mean_ms,
            t.quality,
            at,
            t.claimed,
            id
        ],
    )
    .map_err(unavailable)?;
    Ok(())
}

#[async_trait]
impl RegistryStore for SqliteRegistry {
    async fn claim_nonce(&self, agent: Address, nonce: B256, at: i64) -> Result<bool, StoreError> {
        self.with(move |c| {
            let n = c
                .execute(
                    sql::CLAIM_NONCE,
                    params![hex_addr(agent), nonce.to_string(), at],
                )
                .map_err(unavailable)?;
            Ok(n == 1)
        })
        .await
    }

    async fn prune_nonces(&self, before: i64) -> Result<u64, StoreError> {
        self.with(move |c| {
            let n = c
                .execute(sql::PRUNE_NONCES, [before])
                .map_err(unavailable)?;
            Ok(n as u64)
        })
        .await
    }

    async fn evidence_owner(&self, tx: B256) -> Result<Option<(Address, GeneId)>, StoreError> {
        self.with(move |c| {
            let row: Option<(String, String)> = c
                .query_row(sql::EVIDENCE_OWNER, [tx.to_string()], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()
                .map_err(unavailable)?;
            row.map(|(a, g)| {
                Ok((
                    a.parse()
                        .map_err(|e| StoreError::Corrupt(format!("{a}: {e}")))?,
                    g.parse()
                        .map_err(|e| StoreError::Corrupt(format!("{g}: {e}")))?,
                ))
            })
            .transpose()
        })
        .await
    }

    async fn accept(&self, a: Accept<'_>) -> Result<Merged, StoreError> {
        let id = a.id.to_string();
        let gene = a.gene.clone();
        let evidence = a.evidence.to_vec();
        let agent = hex_addr(a.agent);
        let at = a.at;
        self.with(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            let params_text = serde_json::to_string(&gene.params).map_err(unavailable)?;
            tx.execute(
                sql::INSERT_GENE,
                params![
                    id,
                    gene.code.as_str(),
                    gene.category.as_str(),
                    gene.strategy.as_str(),
                    params_text,
                    "[]",
                    at
                ],
            )
            .map_err(unavailable)?;
            let (stored, quality, pushes): (String, f64, i64) = tx
                .query_row(sql::SELECT_MERGE_STATE, [&id], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .map_err(unavailable)?;
            if let Some(merged) = merge_platforms(&stored, &gene.platforms)? {
                tx.execute(sql::SET_PLATFORMS, params![merged, id])
                    .map_err(unavailable)?;
            }
            let mut fresh = 0i64;
            for ev in &evidence {
                let h = ev.tx.to_string();
                fresh += tx
                    .execute(
                        sql::INSERT_EVIDENCE,
                        params![h, ev.chain_id as i64, agent, id, at],
                    )
                    .map_err(unavailable)? as i64;
                let owner: (String, String) = tx
                    .query_row(sql::EVIDENCE_OWNER, [&h], |r| Ok((r.get(0)?, r.get(1)?)))
                    .map_err(unavailable)?;
                if !same_claim(&owner, &agent, &id) {
                    return Err(StoreError::Claimed(ev.tx));
                }
            }
            tx.execute(
                sql::UPSERT_CONTRIBUTION,
                params![
                    id,
                    agent,
                    gene.successes as i64,
                    gene.failures as i64,
                    gene.mean_ms as i64,
                    fresh,
                    1i64,
                    at
                ],
            )
            .map_err(unavailable)?;
            retally(&tx, &id, at)?;
            let g = gene_by_id(&tx, &id)?.ok_or_else(|| unavailable("merged gene vanished"))?;
            tx.commit().map_err(unavailable)?;
            Ok(Merged {
                gene: g,
                was: quality_before(quality, pushes),
                new_evidence: fresh.max(0) as u64,
            })
        })
        .await
    }

    async fn report(
        &self,
        id: GeneId,
        agent: Address,
        failures: u64,
        at: i64,
    ) -> Result<Option<RegistryGene>, StoreError> {
        let id = id.to_string();
        let agent = hex_addr(agent);
        self.with(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            if gene_by_id(&tx, &id)?.is_none() {
                return Ok(None);
            }
            tx.execute(
                sql::UPSERT_CONTRIBUTION,
                params![id, agent, 0i64, failures as i64, 0i64, 0i64, 0i64, at],
            )
            .map_err(unavailable)?;
            retally(&tx, &id, at)?;
            let g = gene_by_id(&tx, &id)?;
            tx.commit().map_err(unavailable)?;
            Ok(g)
        })
        .await
    }

    async fn best(
        &self,
        key: GeneKey,
        min_quality: f64,
    ) -> Result<Option<RegistryGene>, StoreError> {
        self.with(move |c| {
            c.query_row(
                &sql::select_best(),
                params![key.code.as_str(), key.category.as_str(), min_quality],
                |r| Ok(decode(r)),
            )
            .optional()
            .map_err(unavailable)?
            .transpose()
        })
        .await
    }

    async fn show(&self, id: GeneId) -> Result<Option<RegistryGene>, StoreError> {
        self.with(move |c| {
            let Some(mut g) = gene_by_id(c, &id.to_string())? else {
                return Ok(None);
            };
            let mut st = c.prepare(sql::EVIDENCE_OF).map_err(unavailable)?;
            let rows = st
                .query_map([id.to_string()], |r| r.get::<_, String>(0))
                .map_err(unavailable)?;
            for r in rows {
                let tx = r.map_err(unavailable)?;
                g.evidence.push(
                    tx.parse()
                        .map_err(|e| StoreError::Corrupt(format!("{tx}: {e}")))?,
                );
            }
            Ok(Some(g))
        })
        .await
    }

    async fn top(&self, limit: u32) -> Result<Vec<RegistryGene>, StoreError> {
        self.with(move |c| {
            let mut st = c.prepare(&sql::select_top()).map_err(unavailable)?;
            let rows = st
                .query_map([limit as i64], |r| Ok(decode(r)))
                .map_err(unavailable)?;
            let mut out = Vec::new();
            for r in rows {
                out.push(r.map_err(unavailable)??);
            }
            Ok(out)
        })
        .await
    }

    async fn stats(&self) -> Result<Stats, StoreError> {
        self.with(|c| {
            c.query_row(sql::COUNT_STATS, [], |r| {
                let n = |i: usize| r.get::<_, i64>(i).map(|v| v.max(0) as u64);
                Ok(Stats {
                    genes: n(0)?,
                    pushes: n(1)?,
                    agents: n(2)?,
                    evidence: n(3)?,
                })
            })
            .map_err(unavailable)
        })
        .await
    }
}
