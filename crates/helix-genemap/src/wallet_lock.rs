//! Wallet locks in the Gene Map's SQLite file, so processes paying from one
//! wallet run one fund-moving repair at a time between them. A lock is a
//! row with a lease: a holder that died frees the wallet when the lease
//! runs out.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use helix_core::gene::now_ms;
use helix_core::{LockError, StoreError, WalletGuard, WalletLocks};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::migrations::LATEST;

/// Longer than a repair and its retried payment take; a holder gone for
/// this long is presumed dead.
const LEASE: Duration = Duration::from_secs(120);

/// Wallet locks shared through a SQLite file (usually the Gene Map's).
#[derive(Debug, Clone)]
pub struct SqliteWalletLocks {
    path: PathBuf,
    lease: Duration,
}

fn unavailable(e: impl std::fmt::Display) -> LockError {
    LockError::Unavailable(e.to_string())
}

fn open(path: &Path) -> Result<Connection, LockError> {
    let conn = Connection::open(path).map_err(unavailable)?;
    conn.busy_timeout(Duration::from_secs(5))
        .map_err(unavailable)?;
    Ok(conn)
}

impl SqliteWalletLocks {
    /// Locks kept in `path`, migrated like the gene store.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let mut conn = Connection::open(path.as_ref())
            .map_err(|e| StoreError::Unavailable(format!("{}: {e}", path.as_ref().display())))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        crate::migrate(&mut conn, LATEST)?;
        Ok(SqliteWalletLocks {
            path: path.as_ref().to_owned(),
            lease: LEASE,
        })
    }

    /// How long a lock holds without its holder (default 2 min).
    pub fn lease(mut self, d: Duration) -> Self {
        self.lease = d;
        self
    }
}

/// Takes the wallet if it is free or its lease ran out.
fn try_take(
    conn: &mut Connection,
    wallet: &str,
    holder: &str,
    lease: Duration,
) -> Result<bool, LockError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(unavailable)?;
    let now = now_ms();
    let held: Option<i64> = tx
        .query_row(
            "SELECT expires_at FROM wallet_locks WHERE wallet = ?1",
            params![wallet],
            |r| r.get(0),
        )
        .optional()
        .map_err(unavailable)?;
    if held.is_some_and(|until| until > now) {
        return Ok(false);
    }
    tx.execute(
        "INSERT INTO wallet_locks (wallet, holder, expires_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (wallet) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at",
        params![wallet, holder, now + lease.as_millis() as i64],
    )
    .map_err(unavailable)?;
    tx.commit().map_err(unavailable)?;
    Ok(true)
}

/// Frees the wallet when dropped, if it still holds it.
struct Held {
    conn: Arc<Mutex<Connection>>,
    wallet: String,
    holder: String,
}

impl Drop for Held {
    fn drop(&mut self) {
        let Ok(conn) = self.conn.lock() else { return };
        if let Err(e) = conn.execute(
            "DELETE FROM wallet_locks WHERE wallet = ?1 AND holder = ?2",
            params![self.wallet, self.holder],
        ) {
            tracing::warn!(target: "helix::wallet", %e, wallet = %self.wallet, "releasing a wallet failed; its lease frees it");
        }
    }
}

#[async_trait]
impl WalletLocks for SqliteWalletLocks {
    async fn lock(&self, wallet: &str, wait: Duration) -> Result<WalletGuard, LockError> {
        let wallet = wallet.to_ascii_lowercase();
        let holder = format!("{}-{:016x}", std::process::id(), rand::random::<u64>());
        let conn = Arc::new(Mutex::new(open(&self.path)?));
        let start = Instant::now();
        loop {
            let (c, w, h, lease) = (conn.clone(), wallet.clone(), holder.clone(), self.lease);
            let took = tokio::task::spawn_blocking(move || {
                let mut c = c.lock().map_err(|_| unavailable("lock poisoned"))?;
                try_take(&mut c, &w, &h, lease)
            })
            .await
            .map_err(unavailable)??;
            if took {
                return Ok(Box::new(Held {
                    conn,
                    wallet,
                    holder,
                }));
            }
            if start.elapsed() >= wait {
                return Err(LockError::Busy(wallet));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
