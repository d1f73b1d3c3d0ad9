//! The monthly repair budget, persisted next to the genes.
//!
//! A reservation is an insert under `BEGIN IMMEDIATE`, after summing the
//! month's settled spend and open reservations in the same transaction, so
//! concurrent tasks and processes sharing the file can never reserve past the
//! cap together; settle replaces it with the actual cost. A reservation its
//! process never settled (a crash) expires after [`SqliteBudget::stale_after`]:
//! booked in full when its repair could move funds (never overspend on a
//! guess), released when it could not.
//!
//! A reservation may wait on another process's write lock (up to the busy
//! timeout), so every call runs on the blocking pool, never on the async
//! threads that carry payments.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use helix_core::gene::now_ms;
use helix_core::policy::current_month;
use helix_core::{Budget, BudgetError, BudgetStatus, Reservation, StoreError};
use rusqlite::{Connection, TransactionBehavior, params};

use crate::migrations::LATEST;

/// A monthly cap in a SQLite file (usually the Gene Map's).
#[derive(Debug)]
pub struct SqliteBudget {
    conn: Arc<Mutex<Connection>>,
    cap: u64,
    stale_after: Duration,
}

/// Longer than any repair holds a reservation (commit timeouts are
/// seconds): an older open one belongs to a process that is gone.
const STALE_AFTER: Duration = Duration::from_secs(600);

fn unavailable(e: impl std::fmt::Display) -> BudgetError {
    BudgetError::Unavailable(e.to_string())
}

impl SqliteBudget {
    /// Opens the file (migrating it like the gene store does) with a cap in
    /// micro-USD per calendar month (UTC).
    pub fn open(path: impl AsRef<Path>, cap: u64) -> Result<Self, StoreError> {
        let mut conn = Connection::open(path.as_ref())
            .map_err(|e| StoreError::Unavailable(format!("{}: {e}", path.as_ref().display())))?;
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        crate::migrate(&mut conn, LATEST)?;
        Ok(SqliteBudget {
            conn: Arc::new(Mutex::new(conn)),
            cap,
            stale_after: STALE_AFTER,
        })
    }

    /// When an unsettled reservation counts as abandoned (default 10 min).
    pub fn stale_after(mut self, d: Duration) -> Self {
        self.stale_after = d;
        self
    }

    /// The cap.
    pub fn cap(&self) -> u64 {
        self.cap
    }

    /// Settled spend and open reservations of the current month.
    pub fn usage(&self) -> Result<(u64, u64), BudgetError> {
        let conn = self.conn.lock().map_err(|_| unavailable("lock poisoned"))?;
        usage(&conn, &current_month())
    }
}

fn usage(conn: &Connection, month: &str) -> Result<(u64, u64), BudgetError> {
    conn.query_row(
        "SELECT COALESCE(SUM(CASE WHEN settled = 1 THEN actual ELSE 0 END), 0),
                COALESCE(SUM(CASE WHEN settled = 0 THEN amount ELSE 0 END), 0)
         FROM budget_reservations WHERE month = ?1",
        params![month],
        |r| {
            Ok((
                r.get::<_, i64>(0)?.max(0) as u64,
                r.get::<_, i64>(1)?.max(0) as u64,
            ))
        },
    )
    .map_err(unavailable)
}

#[async_trait]
impl Budget for SqliteBudget {
    async fn status(&self) -> Result<BudgetStatus, BudgetError> {
        let (spent, reserved) = self.usage()?;
        Ok(BudgetStatus {
            month: current_month(),
            cap: self.cap,
            spent,
            reserved,
        })
    }

    async fn reserve(&self, amount: u64) -> Result<Reservation, BudgetError> {
        self.reserve_for(amount, true).await
    }

    async fn reserve_for(
        &self,
        amount: u64,
        moves_funds: bool,
    ) -> Result<Reservation, BudgetError> {
        let (conn, cap) = (self.conn.clone(), self.cap);
        let stale_before = now_ms().saturating_sub(self.stale_after.as_millis() as i64);
        blocking(move || reserve(&conn, cap, amount, moves_funds, stale_before)).await
    }

    async fn settle(&self, r: Reservation, actual: u64) -> Result<(), BudgetError> {
        let conn = self.conn.clone();
        blocking(move || settle(&conn, r, actual)).await
    }
}

/// Runs `f` on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BudgetError> + Send + 'static,
) -> Result<T, BudgetError> {
    // Outside a Tokio runtime there is no blocking pool: run here.
    if tokio::runtime::Handle::try_current().is_err() {
        return f();
    }
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(unavailable(format!("budget call failed: {e}"))))
}

fn reserve(
    conn: &Mutex<Connection>,
    cap: u64,
    amount: u64,
    moves_funds: bool,
    stale_before: i64,
) -> Result<Reservation, BudgetError> {
    let mut conn = conn.lock().map_err(|_| unavailable("lock poisoned"))?;
    let month = current_month();
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(unavailable)?;
    tx.execute(
        "UPDATE budget_reservations
            SET settled = 1, actual = CASE WHEN moves_funds = 1 THEN amount ELSE 0 END
          WHERE settled = 0 AND created_at < ?1",
        params![stale_before],
    )
    .map_err(unavailable)?;
    let (spent, reserved) = usage(&tx, &month)?;
    if spent.saturating_add(reserved).saturating_add(amount) > cap {
        return Err(BudgetError::CapExceeded {
            spent,
            reserved,
            asked: amount,
            cap,
        });
    }
    tx.execute(
        "INSERT INTO budget_reservations (month, amount, created_at, moves_funds)
         VALUES (?1, ?2, ?3, ?4)",
        params![month, as_i64(amount)?, now_ms(), i64::from(moves_funds)],
    )
    .map_err(unavailable)?;
    let id = tx.last_insert_rowid();
    tx.commit().map_err(unavailable)?;
    Ok(Reservation {
        id: id as u64,
        amount,
        month,
    })
}

fn settle(conn: &Mutex<Connection>, r: Reservation, actual: u64) -> Result<(), BudgetError> {
    let conn = conn.lock().map_err(|_| unavailable("lock poisoned"))?;
    let n = conn
        .execute(
            "UPDATE budget_reservations SET settled = 1, actual = ?2 WHERE id = ?1 AND settled = 0",
            params![r.id as i64, as_i64(actual)?],
        )
        .map_err(unavailable)?;
    settled_once(n as u64, &r)
}

/// A settlement must change exactly its own open reservation.
pub(crate) fn settled_once(rows: u64, r: &Reservation) -> Result<(), BudgetError> {
    if rows == 1 {
        Ok(())
    } else {
        Err(unavailable(format!(
            "reservation {} unknown or already settled",
            r.id
        )))
    }
}

/// The amounts a reservation table holds are signed 64-bit.
pub(crate) fn as_i64(v: u64) -> Result<i64, BudgetError> {
    i64::try_from(v).map_err(|_| unavailable(format!("amount {v} out of range")))
}
