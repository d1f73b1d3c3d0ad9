//! The Redis cache against the Redis on this machine (`HELIX_TEST_REDIS`,
//! default redis://127.0.0.1:6379; scripts/test.sh starts it). Two
//! instances share one Gene Map file and one cache prefix, as two agent
//! processes would share PostgreSQL and Redis.

use std::sync::Arc;

use helix_core::gene::{DEMOTE_AFTER, now_ms};
use helix_core::{Category, FailureCode, GeneKey, GeneStore, Outcome, Platform, StrategyId};
use helix_genemap::{CachedGeneStore, SqliteGeneStore};
use redis::AsyncCommands;

fn redis_url() -> String {
    std::env::var("HELIX_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn outcome(success: bool) -> Outcome {
    let key = GeneKey {
        code: FailureCode::RateLimited,
        category: Category::Throttle,
    };
    Outcome {
        ms: 100,
        ..Outcome::new(key, StrategyId::Backoff, Platform::Http, success)
    }
}

struct Two {
    _dir: tempfile::TempDir,
    a: CachedGeneStore,
    b: CachedGeneStore,
    prefix: String,
}

async fn two() -> Two {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("genes.db");
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let prefix = format!("helix-test-{}-{}-{n}", std::process::id(), now_ms());
    let store =
        |p: &std::path::Path| -> Arc<dyn GeneStore> { Arc::new(SqliteGeneStore::open(p).unwrap()) };
    let a = CachedGeneStore::connect(&redis_url(), &prefix, store(&path)).await;
    let b = CachedGeneStore::connect(&redis_url(), &prefix, store(&path)).await;
    assert!(
        a.connected() && b.connected(),
        "Redis at HELIX_TEST_REDIS (scripts/services.sh starts it)"
    );
    Two {
        _dir: dir,
        a,
        b,
        prefix,
    }
}

async fn cached(prefix: &str, key: GeneKey) -> Option<String> {
    let client = redis::Client::open(redis_url()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    c.get(format!("{prefix}:gene:{key}")).await.unwrap()
}

#[tokio::test]
async fn a_lookup_fills_the_shared_cache_and_a_record_invalidates_it() {
    let t = two().await;
    let key = outcome(true).key;
    t.a.record(&outcome(true)).await.unwrap();
    assert!(cached(&t.prefix, key).await.is_none());
    let g = t.b.lookup(key).await.unwrap().expect("B finds A's gene");
    assert_eq!(g.successes, 1);
    let c = cached(&t.prefix, key)
        .await
        .expect("B's lookup filled the cache");
    assert!(c.contains("backoff"), "{c}");
    t.a.record(&outcome(true)).await.unwrap();
    assert!(
        cached(&t.prefix, key).await.is_none(),
        "A's record invalidated it"
    );
    assert_eq!(t.b.lookup(key).await.unwrap().unwrap().successes, 2);
}

/// B has the gene cached; A's failures demote it. B must never be handed
/// the demoted gene again, from the cache or anywhere.
#[tokio::test]
async fn a_gene_demoted_by_another_instance_is_never_served_from_the_cache() {
    let t = two().await;
    let key = outcome(true).key;
    t.a.record(&outcome(true)).await.unwrap();
    assert!(t.b.lookup(key).await.unwrap().is_some());
    assert!(cached(&t.prefix, key).await.is_some(), "B cached it");
    for _ in 0..DEMOTE_AFTER {
        t.a.record(&outcome(false)).await.unwrap();
    }
    assert!(
        t.b.lookup(key).await.unwrap().is_none(),
        "the demoted gene is not served"
    );
}

#[tokio::test]
async fn redis_down_means_uncached_not_broken() {
    let dir = tempfile::tempdir().unwrap();
    let inner: Arc<dyn GeneStore> =
        Arc::new(SqliteGeneStore::open(dir.path().join("g.db")).unwrap());
    let s = CachedGeneStore::connect("redis://127.0.0.1:1", "helix-down", inner).await;
    assert!(!s.connected());
    s.record(&outcome(true)).await.unwrap();
    assert!(s.lookup(outcome(true).key).await.unwrap().is_some());
}
