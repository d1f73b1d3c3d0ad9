//! The Redis cache when one instance loses Redis (the lab's TcpGate in
//! front of `HELIX_TEST_REDIS`, default 127.0.0.1:6379) while another
//! still reaches it: learning goes on through the store, and once a record
//! returns no instance is served the gene as it was before, though the
//! instance that recorded could not invalidate the shared copy.

use std::sync::Arc;
use std::time::{Duration, Instant};

use helix_core::gene::{DEMOTE_AFTER, now_ms};
use helix_core::{Category, FailureCode, GeneKey, GeneStore, Outcome, Platform, StrategyId};
use helix_genemap::{CachedGeneStore, SqliteGeneStore};
use helix_lab::tcp_gate::TcpGate;
use redis::AsyncCommands;

fn outcome(success: bool) -> Outcome {
    let key = GeneKey {
        code: FailureCode::ServerError,
        category: Category::Service,
    };
    Outcome {
        ms: 10,
        ..Outcome::new(key, StrategyId::BackoffRetry, Platform::Http, success)
    }
}

const LEASE: Duration = Duration::from_millis(400);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_that_cannot_reach_redis_still_never_leaves_a_stale_gene_served() {
    let upstream = std::env::var("HELIX_TEST_REDIS").unwrap_or_else(|_| "127.0.0.1:6379".into());
    let gate = TcpGate::start(upstream.parse().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.db");
    let open = || -> Arc<dyn GeneStore> { Arc::new(SqliteGeneStore::open(&path).unwrap()) };
    let prefix = format!("helix-outage-{}-{}", std::process::id(), now_ms());
    // `far` reaches Redis through the gate; `near` directly, all along.
    let far = CachedGeneStore::connect(&format!("redis://{}", gate.addr), &prefix, open())
        .await
        .lease(LEASE);
    let near = CachedGeneStore::connect(&format!("redis://{upstream}"), &prefix, open())
        .await
        .lease(LEASE);
    assert!(far.connected() && near.connected());
    let key = outcome(true).key;
    let cache_key = format!("{prefix}:gene:{key}");
    let direct = redis::Client::open(format!("redis://{upstream}")).unwrap();
    let mut direct = direct.get_multiplexed_async_connection().await.unwrap();

    far.record(&outcome(true)).await.unwrap();
    assert_eq!(near.lookup(key).await.unwrap().unwrap().successes, 1);
    assert!(
        direct.exists::<_, bool>(&cache_key).await.unwrap(),
        "near cached it"
    );

    gate.close();
    let began = Instant::now();
    let g = far.record(&outcome(true)).await.unwrap();
    assert_eq!(g.successes, 2, "learning goes on without Redis");
    assert!(began.elapsed() >= LEASE, "the record waited out the lease");
    assert!(!far.connected());
    assert_eq!(
        near.lookup(key).await.unwrap().unwrap().successes,
        2,
        "near is not served the copy far could not invalidate"
    );
    for _ in 0..DEMOTE_AFTER {
        far.record(&outcome(false)).await.unwrap();
    }
    assert!(
        near.lookup(key).await.unwrap().is_none(),
        "a gene demoted while its recorder had no Redis is never served"
    );
    assert!(far.lookup(key).await.unwrap().is_none());

    gate.open();
    // A reconnect is tried at most once a second, each try bounded: on a
    // loaded machine the first may miss, so the next record tries again.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    far.record(&outcome(true)).await.unwrap();
    let began = std::time::Instant::now();
    while !far.connected() {
        assert!(began.elapsed() < Duration::from_secs(15), "reconnected");
        tokio::time::sleep(Duration::from_millis(1_100)).await;
        far.lookup(key).await.unwrap();
    }
    let g = near.lookup(key).await.unwrap().unwrap();
    assert_eq!(
        (g.successes, g.failures),
        (3, DEMOTE_AFTER as u64),
        "near reads what far learned"
    );
    assert!(
        direct.exists::<_, bool>(&cache_key).await.unwrap(),
        "the cache is filled again"
    );
    assert_eq!(far.lookup(key).await.unwrap().unwrap().successes, 3);
}

/// Redis keeps the connection and stops answering: a lookup costs at most
/// a call's bound, a record at most the lease more, both well within the
/// engine's store timeout, and nothing is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_redis_holds_no_call_past_the_bound() {
    let upstream = std::env::var("HELIX_TEST_REDIS").unwrap_or_else(|_| "127.0.0.1:6379".into());
    let gate = TcpGate::start(upstream.parse().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let inner: Arc<dyn GeneStore> =
        Arc::new(SqliteGeneStore::open(dir.path().join("g.db")).unwrap());
    let prefix = format!("helix-hung-{}-{}", std::process::id(), now_ms());
    let store = CachedGeneStore::connect(&format!("redis://{}", gate.addr), &prefix, inner)
        .await
        .lease(LEASE);
    assert!(store.connected());
    let key = outcome(true).key;
    store.record(&outcome(true)).await.unwrap();
    store.lookup(key).await.unwrap().unwrap();

    gate.stall();
    let bound = helix_core::Policy::default().store_timeout;
    for n in 2..=3u64 {
        let began = Instant::now();
        let g = store.record(&outcome(true)).await.unwrap();
        assert_eq!(g.successes, n);
        assert!(began.elapsed() < bound, "record took {:?}", began.elapsed());
        let began = Instant::now();
        assert_eq!(store.lookup(key).await.unwrap().unwrap().successes, n);
        assert!(began.elapsed() < bound, "lookup took {:?}", began.elapsed());
        tokio::time::sleep(Duration::from_millis(1_050)).await;
    }
    assert!(!store.connected());
}
