//! A SQLite write that waits for another process's write lock must not
//! hold the async thread: on a one-thread runtime, a ticker keeps ticking
//! while a record and a budget reservation wait for a lock held 400 ms.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use helix_core::{
    Budget, Category, FailureCode, GeneKey, GeneStore, Outcome, Platform, StrategyId,
};
use helix_genemap::{SqliteBudget, SqliteGeneStore};
use rusqlite::Connection;

const HELD: Duration = Duration::from_millis(400);

/// Holds the file's write lock for [`HELD`] from another connection (as
/// another process would); returns once the lock is taken.
fn hold_write_lock(path: &std::path::Path) -> std::thread::JoinHandle<()> {
    let (tx, rx) = std::sync::mpsc::channel();
    let path = path.to_path_buf();
    let t = std::thread::spawn(move || {
        let c = Connection::open(&path).unwrap();
        c.execute_batch("BEGIN IMMEDIATE").unwrap();
        tx.send(()).unwrap();
        std::thread::sleep(HELD);
        c.execute_batch("COMMIT").unwrap();
    });
    rx.recv().unwrap();
    t
}

/// Ticks every 10 ms on the runtime's one thread.
fn ticker() -> Arc<AtomicU32> {
    let n = Arc::new(AtomicU32::new(0));
    let m = n.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(10)).await;
            m.fetch_add(1, Ordering::SeqCst);
        }
    });
    n
}

fn outcome() -> Outcome {
    let key = GeneKey {
        code: FailureCode::RateLimited,
        category: Category::Throttle,
    };
    Outcome::new(key, StrategyId::Backoff, Platform::Http, true)
}

#[tokio::test(flavor = "current_thread")]
async fn a_record_waiting_for_a_lock_leaves_the_runtime_running() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("genes.db");
    let store = SqliteGeneStore::open(&path).unwrap();
    let ticks = ticker();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let holder = hold_write_lock(&path);
    let before = ticks.load(Ordering::SeqCst);
    store.record(&outcome()).await.unwrap();
    let during = ticks.load(Ordering::SeqCst) - before;
    holder.join().unwrap();
    assert!(
        during >= 10,
        "the runtime ticked {during} times while the record waited"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_reservation_waiting_for_a_lock_leaves_the_runtime_running() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("genes.db");
    let budget = SqliteBudget::open(&path, 1_000_000).unwrap();
    let ticks = ticker();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let holder = hold_write_lock(&path);
    let before = ticks.load(Ordering::SeqCst);
    let r = budget.reserve(1_000).await.unwrap();
    let during = ticks.load(Ordering::SeqCst) - before;
    holder.join().unwrap();
    budget.settle(r, 1_000).await.unwrap();
    assert!(
        during >= 10,
        "the runtime ticked {during} times while the reservation waited"
    );
}

/// Polled by another executor (no Tokio runtime), a record and a
/// reservation still complete: they run in place.
#[test]
fn outside_a_tokio_runtime_they_run_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("genes.db");
    let store = SqliteGeneStore::open(&path).unwrap();
    let g = futures_lite_block_on(store.record(&outcome())).unwrap();
    assert_eq!(g.successes, 1);
    let budget = SqliteBudget::open(&path, 1_000_000).unwrap();
    let r = futures_lite_block_on(budget.reserve(1_000)).unwrap();
    futures_lite_block_on(budget.settle(r, 1_000)).unwrap();
    assert_eq!(budget.usage().unwrap(), (1_000, 0));
}

/// A minimal executor: polls with a no-op waker until ready.
fn futures_lite_block_on<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::yield_now();
    }
}
