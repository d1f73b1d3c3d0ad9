//! One fund-moving repair at a time per wallet.
//!
//! Two runs paying from one wallet both see the same short balance; each
//! would swap (or top up) the whole shortfall. A repair that moves funds
//! therefore holds its wallet's lock from before it reads the balance until
//! the retried payment has answered, so the second run reads the balance
//! the first one left. The default lock serves one process; a store shared
//! by processes offers its own (`helix_genemap`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

/// A held wallet lock; dropping it releases the wallet.
pub type WalletGuard = Box<dyn Send + Sync>;

/// The lock could not be taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LockError {
    /// Another repair held the wallet for longer than the wait.
    #[error("wallet {0} is busy with another repair")]
    Busy(String),
    /// The lock store failed; nothing moves funds without it.
    #[error("wallet lock unavailable: {0}")]
    Unavailable(String),
}

/// Per-wallet mutual exclusion for repairs that move funds.
#[async_trait]
pub trait WalletLocks: Send + Sync {
    /// Waits (at most `wait`) for the wallet and holds it until the guard drops.
    async fn lock(&self, wallet: &str, wait: std::time::Duration)
    -> Result<WalletGuard, LockError>;
}

/// Wallet locks within one process.
#[derive(Debug, Default)]
pub struct MemoryWalletLocks {
    wallets: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl MemoryWalletLocks {
    /// No wallet held.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl WalletLocks for MemoryWalletLocks {
    async fn lock(
        &self,
        wallet: &str,
        wait: std::time::Duration,
    ) -> Result<WalletGuard, LockError> {
        let m = {
            let mut all = self
                .wallets
                .lock()
                .map_err(|_| LockError::Unavailable("lock table poisoned".into()))?;
            all.entry(wallet.to_ascii_lowercase()).or_default().clone()
        };
        match tokio::time::timeout(wait, m.lock_owned()).await {
            Ok(g) => Ok(Box::new(g)),
            Err(_) => Err(LockError::Busy(wallet.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_wallet_is_held_until_its_guard_drops() {
        let l = MemoryWalletLocks::new();
        let g = l.lock("0xAB", Duration::from_millis(10)).await.unwrap();
        assert!(matches!(
            l.lock("0xab", Duration::from_millis(20)).await,
            Err(LockError::Busy(_))
        ));
        assert!(l.lock("0xcd", Duration::from_millis(10)).await.is_ok());
        drop(g);
        assert!(l.lock("0xab", Duration::from_millis(10)).await.is_ok());
    }
}
