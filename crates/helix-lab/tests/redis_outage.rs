//! The Redis cache when Redis goes away and comes back (the lab's TcpGate
//! in front of `HELIX_TEST_REDIS`, default 127.0.0.1:6379): lookups and
//! records go to the store meanwhile, never fail; once Redis is back the
//! cache is used again.

use std::sync::Arc;
use std::time::Duration;

use helix_core::gene::now_ms;
use helix_core::{Category, FailureCode, GeneKey, GeneStore, Outcome, Platform, StrategyId};
use helix_genemap::{CachedGeneStore, SqliteGeneStore};
use helix_lab::tcp_gate::TcpGate;
use redis::AsyncCommands;

fn outcome() -> Outcome {
    let key = GeneKey {
        code: FailureCode::ServerError,
        category: Category::Service,
    };
    Outcome {
        ms: 10,
        ..Outcome::new(key, StrategyId::BackoffRetry, Platform::Http, true)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_then_back() {
    let upstream = std::env::var("HELIX_TEST_REDIS").unwrap_or_else(|_| "127.0.0.1:6379".into());
    let gate = TcpGate::start(upstream.parse().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let inner: Arc<dyn GeneStore> =
        Arc::new(SqliteGeneStore::open(dir.path().join("g.db")).unwrap());
    let prefix = format!("helix-outage-{}-{}", std::process::id(), now_ms());
    let store = CachedGeneStore::connect(&format!("redis://{}", gate.addr), &prefix, inner).await;
    assert!(store.connected());
    let key = outcome().key;
    let cache_key = format!("{prefix}:gene:{key}");
    let direct = redis::Client::open(format!("redis://{upstream}")).unwrap();
    let mut direct = direct.get_multiplexed_async_connection().await.unwrap();

    store.record(&outcome()).await.unwrap();
    assert!(store.lookup(key).await.unwrap().is_some());
    assert!(
        direct.exists::<_, bool>(&cache_key).await.unwrap(),
        "cached"
    );

    gate.close();
    let g = store.record(&outcome()).await.unwrap();
    assert_eq!(g.successes, 2, "learning goes on without Redis");
    assert_eq!(store.lookup(key).await.unwrap().unwrap().successes, 2);
    assert!(!store.connected());

    gate.open();
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let _: () = direct.del(&cache_key).await.unwrap();
    assert_eq!(store.lookup(key).await.unwrap().unwrap().successes, 2);
    assert!(store.connected(), "reconnected");
    assert!(
        direct.exists::<_, bool>(&cache_key).await.unwrap(),
        "the cache is filled again"
    );
}
