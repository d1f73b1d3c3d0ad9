//! The monthly repair budget in PostgreSQL, for instances on many machines
//! sharing one Gene Map. The same table and rules as [`crate::SqliteBudget`]:
//! a reservation sums the month's settled spend and open reservations and
//! inserts its own in one transaction, under a transaction-scoped advisory
//! lock, so reservations from any number of processes are serialised by the
//! database and can never pass the cap together. Every call is bounded (a
//! database that stops answering is `Unavailable`, never a hang).

use std::time::Duration;

use async_trait::async_trait;
use helix_core::gene::now_ms;
use helix_core::policy::current_month;
use helix_core::{Budget, BudgetError, BudgetStatus, Reservation, StoreError};
use tokio_postgres::{Client, GenericClient};

use crate::budget::{as_i64, settled_once};
use crate::postgres::{CALL_TIMEOUT, CONNECT_TIMEOUT, open_client, said};

/// Advisory lock key for reservations ("budget" in ASCII).
const BUDGET_LOCK: i64 = 0x62_75_64_67_65_74;

/// As in SQLite: older open reservations belong to a process that is gone.
const STALE_AFTER: Duration = Duration::from_secs(600);

fn unavailable(e: impl std::fmt::Display) -> BudgetError {
    BudgetError::Unavailable(e.to_string())
}

fn db(e: tokio_postgres::Error) -> BudgetError {
    BudgetError::Unavailable(said(&e))
}

/// Connections per budget: reservations from one process run in parallel
/// and are serialised by the database's lock, as across processes.
const CONNECTIONS: usize = 4;

/// A monthly cap in PostgreSQL.
pub struct PostgresBudget {
    clients: Vec<tokio::sync::Mutex<Client>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    next: std::sync::atomic::AtomicUsize,
    cap: u64,
    stale_after: Duration,
    call_timeout: Duration,
}

impl std::fmt::Debug for PostgresBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresBudget")
            .field("cap", &self.cap)
            .finish_non_exhaustive()
    }
}

impl Drop for PostgresBudget {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl PostgresBudget {
    /// Connects to `url` (migrating it like the gene store does) with a cap
    /// in micro-USD per calendar month (UTC).
    pub async fn connect(url: &str, cap: u64) -> Result<Self, StoreError> {
        let (mut clients, mut tasks) = (Vec::new(), Vec::new());
        for _ in 0..CONNECTIONS {
            let (client, task) = open_client(url, CONNECT_TIMEOUT).await?;
            clients.push(tokio::sync::Mutex::new(client));
            tasks.push(task);
        }
        Ok(PostgresBudget {
            clients,
            tasks,
            next: std::sync::atomic::AtomicUsize::new(0),
            cap,
            stale_after: STALE_AFTER,
            call_timeout: CALL_TIMEOUT,
        })
    }

    /// How long a call may take, waiting for a connection and the lock
    /// included, before it is `Unavailable` (default 1 s, under the engine's
    /// store timeout).
    pub fn answer_within(mut self, d: Duration) -> Self {
        self.call_timeout = d;
        self
    }

    /// When an unsettled reservation counts as abandoned (default 10 min).
    pub fn stale_after(mut self, d: Duration) -> Self {
        self.stale_after = d;
        self
    }

    /// A free connection, or the next in turn.
    async fn client(&self) -> tokio::sync::MutexGuard<'_, Client> {
        for c in &self.clients {
            if let Ok(g) = c.try_lock() {
                return g;
            }
        }
        let i = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % self.clients.len();
        self.clients[i].lock().await
    }

    /// The cap.
    pub fn cap(&self) -> u64 {
        self.cap
    }

    /// Settled spend and open reservations of the current month.
    pub async fn usage(&self) -> Result<(u64, u64), BudgetError> {
        within(self.call_timeout, async {
            usage(&*self.client().await, &current_month()).await
        })
        .await
    }

    async fn reserve_now(
        &self,
        amount: u64,
        moves_funds: bool,
    ) -> Result<Reservation, BudgetError> {
        let asked = as_i64(amount)?;
        let month = current_month();
        let mut client = self.client().await;
        let tx = client.transaction().await.map_err(db)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&BUDGET_LOCK])
            .await
            .map_err(db)?;
        let stale_before = now_ms().saturating_sub(self.stale_after.as_millis() as i64);
        tx.execute(
            "UPDATE budget_reservations
                SET settled = TRUE, actual = CASE WHEN moves_funds = 1 THEN amount ELSE 0 END
              WHERE NOT settled AND created_at < $1",
            &[&stale_before],
        )
        .await
        .map_err(db)?;
        let (spent, reserved) = usage(&tx, &month).await?;
        if spent.saturating_add(reserved).saturating_add(amount) > self.cap {
            return Err(BudgetError::CapExceeded {
                spent,
                reserved,
                asked: amount,
                cap: self.cap,
            });
        }
        let row = tx
            .query_one(
                "INSERT INTO budget_reservations (month, amount, created_at, moves_funds)
                 VALUES ($1, $2, $3, $4) RETURNING id",
                &[&month, &asked, &now_ms(), &i64::from(moves_funds)],
            )
            .await
            .map_err(db)?;
        let id: i64 = row.try_get(0).map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(Reservation {
            id: id as u64,
            amount,
            month,
        })
    }
}

async fn usage(c: &impl GenericClient, month: &str) -> Result<(u64, u64), BudgetError> {
    let row = c
        .query_one(
            "SELECT COALESCE(SUM(CASE WHEN settled THEN actual ELSE 0 END), 0)::BIGINT,
                    COALESCE(SUM(CASE WHEN NOT settled THEN amount ELSE 0 END), 0)::BIGINT
             FROM budget_reservations WHERE month = $1",
            &[&month],
        )
        .await
        .map_err(db)?;
    let spent: i64 = row.try_get(0).map_err(db)?;
    let reserved: i64 = row.try_get(1).map_err(db)?;
    Ok((spent.max(0) as u64, reserved.max(0) as u64))
}

/// Runs a budget call within the bound; a cut call is `Unavailable`.
async fn within<T>(
    limit: Duration,
    call: impl Future<Output = Result<T, BudgetError>>,
) -> Result<T, BudgetError> {
    tokio::time::timeout(limit, call)
        .await
        .unwrap_or_else(|_| Err(unavailable(format!("postgres did not answer in {limit:?}"))))
}

#[async_trait]
impl Budget for PostgresBudget {
    async fn status(&self) -> Result<BudgetStatus, BudgetError> {
        let (spent, reserved) = self.usage().await?;
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

    // A reservation cut by the bound may still commit; it is then an open
    // reservation nobody settles, and expires by the stale rule.
    async fn reserve_for(
        &self,
        amount: u64,
        moves_funds: bool,
    ) -> Result<Reservation, BudgetError> {
        within(self.call_timeout, self.reserve_now(amount, moves_funds)).await
    }

    async fn settle(&self, r: Reservation, actual: u64) -> Result<(), BudgetError> {
        let actual = as_i64(actual)?;
        let n = within(self.call_timeout, async {
            self.client()
                .await
                .execute(
                    "UPDATE budget_reservations SET settled = TRUE, actual = $2
                      WHERE id = $1 AND NOT settled",
                    &[&(r.id as i64), &actual],
                )
                .await
                .map_err(db)
        })
        .await?;
        settled_once(n, &r)
    }
}
