//! The append-only event log in the Gene Map's SQLite file: every PCEC
//! event with its repair id, sequence number, time, stage and payload (the
//! whole event as JSON). The table's triggers refuse updates and deletes.
//! Writing never stops a payment: a failed write is logged and dropped
//! from the log, never from the run.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use helix_core::{Event, EventSink, StoreError};
use rusqlite::{Connection, params};

use crate::migrations::LATEST;
use crate::row::decode_events;
use crate::sqlite::migrate;

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// The event log of one Gene Map file.
#[derive(Debug)]
pub struct SqliteEventLog {
    conn: Mutex<Connection>,
}

/// One repair in the log.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LoggedRepair {
    /// Its id.
    pub repair_id: u64,
    /// When its first event was written, Unix ms.
    pub started_at: i64,
    /// Events logged.
    pub events: u32,
}

impl SqliteEventLog {
    /// Opens the log in `path` (migrating the file like the Gene Map does).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref();
        let mut conn =
            Connection::open(path).map_err(|e| unavailable(format!("{}: {e}", path.display())))?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(unavailable)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(unavailable)?;
        migrate(&mut conn, LATEST)?;
        Ok(SqliteEventLog {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> Result<std::sync::MutexGuard<'_, Connection>, StoreError> {
        self.conn
            .lock()
            .map_err(|_| unavailable("event log lock poisoned"))
    }

    fn append(&self, e: &Event) -> Result<(), StoreError> {
        let payload = serde_json::to_string(e).map_err(unavailable)?;
        let kind = serde_json::to_value(&e.kind)
            .ok()
            .and_then(|v| v.get("event").and_then(|k| k.as_str()).map(str::to_owned))
            .unwrap_or_default();
        self.conn()?
            .execute(
                "INSERT INTO events (repair_id, seq, at, stage, kind, payload) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    e.repair_id as i64,
                    e.seq,
                    e.at,
                    format!("{:?}", e.kind.stage()).to_lowercase(),
                    kind,
                    payload
                ],
            )
            .map_err(unavailable)?;
        Ok(())
    }

    /// Up to `limit` events older than row `before` (the newest when
    /// `None`), newest first.
    pub fn page(&self, before: Option<i64>, limit: u32) -> Result<crate::EventPage, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare("SELECT id, payload FROM events WHERE id < ?1 ORDER BY id DESC LIMIT ?2")
            .map_err(unavailable)?;
        let rows = stmt
            .query_map(params![before.unwrap_or(i64::MAX), limit], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(unavailable)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(unavailable)?;
        Ok(crate::row::page_of(rows, limit))
    }

    /// The events of one repair, in order. Rows that do not decode are
    /// reported, not skipped silently.
    pub fn events(&self, repair_id: u64) -> Result<(Vec<Event>, Vec<StoreError>), StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare("SELECT id, payload FROM events WHERE repair_id = ?1 ORDER BY seq, id")
            .map_err(unavailable)?;
        let rows = stmt
            .query_map(params![repair_id as i64], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(unavailable)?;
        let rows = rows.collect::<Result<Vec<_>, _>>().map_err(unavailable)?;
        Ok(decode_events(rows))
    }

    /// The most recent repairs, newest first.
    pub fn repairs(&self, limit: u32) -> Result<Vec<LoggedRepair>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare(
                "SELECT repair_id, MIN(at), COUNT(*) FROM events GROUP BY repair_id \
                 ORDER BY MIN(id) DESC LIMIT ?1",
            )
            .map_err(unavailable)?;
        let rows = stmt
            .query_map(params![limit], |r| {
                Ok(LoggedRepair {
                    repair_id: r.get::<_, i64>(0)? as u64,
                    started_at: r.get(1)?,
                    events: r.get(2)?,
                })
            })
            .map_err(unavailable)?;
        rows.collect::<Result<_, _>>().map_err(unavailable)
    }
}

impl EventSink for SqliteEventLog {
    fn emit(&self, event: &Event) {
        if let Err(e) = self.append(event) {
            tracing::warn!(target: "helix::genemap", %e, repair_id = event.repair_id, "event not logged");
        }
    }
}
