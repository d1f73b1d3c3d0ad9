//! Wallet locks shared through one SQLite file: each instance opens its
//! own connection, as separate processes do.

use std::time::Duration;

use helix_core::{LockError, WalletLocks};
use helix_genemap::SqliteWalletLocks;

#[tokio::test]
async fn one_holder_per_wallet_across_connections_and_a_dead_holder_expires() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("genes.db");
    let a = SqliteWalletLocks::open(&path).unwrap();
    let b = SqliteWalletLocks::open(&path).unwrap();
    let wait = Duration::from_millis(100);

    let held = a.lock("0xAgent", wait).await.unwrap();
    assert!(matches!(
        b.lock("0xagent", wait).await,
        Err(LockError::Busy(_))
    ));
    assert!(
        b.lock("0xother", wait).await.is_ok(),
        "other wallets are free"
    );
    drop(held);
    let again = b.lock("0xagent", wait).await.expect("released on drop");
    drop(again);

    // A holder that dies never releases: its lease does. The lease is long
    // enough that a slow disk's commit cannot outlast it before the check.
    let short = SqliteWalletLocks::open(&path)
        .unwrap()
        .lease(Duration::from_secs(1));
    std::mem::forget(short.lock("0xagent", wait).await.unwrap());
    assert!(matches!(
        b.lock("0xagent", Duration::from_millis(50)).await,
        Err(LockError::Busy(_))
    ));
    assert!(b.lock("0xagent", Duration::from_secs(10)).await.is_ok());
}
