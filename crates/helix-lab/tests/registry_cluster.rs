//! The registry on its shared services, started by `scripts/cluster.sh`:
//! PostgreSQL primary + streaming replica (reads on the replica, counted;
//! the replica really stopped and reads fall back to the primary, and the
//! metrics say so) and a three-node Redis Cluster (per-agent buckets, the
//! hot pull cache and the popularity ranking, hash-tagged keys).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, B256};
use helix_core::{Category, FailureCode, GeneKey, StrategyId};
use helix_lab::registry::shared_gene;
use helix_registry::broadcast::Broadcast;
use helix_registry::cache::{PullCache, RANKING};
use helix_registry::evidence::{EvidenceError, Verifier};
use helix_registry::limits::{Action, Limiter, Rate, RedisLimiter};
use helix_registry::store::{Accept, PostgresRegistry, RegistryStore};
use helix_registry::wire::{Evidence, SharedGene};
use helix_registry::{Registry, quality::PULL_THRESHOLD};
use serde_json::json;

fn primary() -> String {
    std::env::var("HELIX_TEST_PG_PRIMARY")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5440/registry".into())
}
fn replica() -> String {
    std::env::var("HELIX_TEST_PG_REPLICA")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5441/registry".into())
}
fn redis_nodes() -> Vec<String> {
    std::env::var("HELIX_TEST_REDIS_CLUSTER")
        .unwrap_or_else(|_| {
            "redis://127.0.0.1:7100,redis://127.0.0.1:7101,redis://127.0.0.1:7102".into()
        })
        .split(',')
        .map(str::to_owned)
        .collect()
}

fn cluster_sh(cmd: &str) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/cluster.sh");
    let ok = std::process::Command::new(script)
        .arg(cmd)
        .status()
        .unwrap()
        .success();
    assert!(ok, "scripts/cluster.sh {cmd}");
}

fn gene(slippage: u64) -> SharedGene {
    shared_gene(
        KEY,
        StrategyId::SwapCurrency,
        json!({ "max_slippage_bps": slippage }),
        1,
    )
}

const KEY: GeneKey = GeneKey {
    code: FailureCode::PaymentInsufficient,
    category: Category::Balance,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_go_to_the_replica_and_fall_back_to_the_primary_when_it_stops() {
    let store = PostgresRegistry::connect(&primary(), Some(&replica()), 1 << 20)
        .await
        .expect("the registry's PostgreSQL pair (scripts/cluster.sh start)");
    store.clear().await.unwrap();
    let (pg, conn) = tokio_postgres::connect(&primary(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let streaming: String = pg
        .query_one("SELECT state FROM pg_stat_replication LIMIT 1", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(streaming, "streaming");

    let g = gene(50);
    let agent = Address::repeat_byte(1);
    let stored = store
        .accept(Accept {
            id: g.id(),
            gene: &g,
            evidence: &[Evidence {
                chain_id: 1,
                tx: B256::repeat_byte(9),
            }],
            agent,
            at: 1,
        })
        .await
        .unwrap();
    assert_eq!(
        (stored.was, stored.new_evidence),
        (None, 1),
        "a new gene, one new transaction"
    );
    let stored = stored.gene;
    assert_eq!(stored.pushes, 1, "the push returns what the primary stored");

    // The replica serves reads once it has replayed the write.
    let mut seen = None;
    for _ in 0..500 {
        seen = store.show(stored.id).await.unwrap();
        if seen.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(seen.map(|g| g.id), Some(stored.id));
    for _ in 0..10 {
        assert!(store.best(KEY, 0.0).await.unwrap().is_some());
    }
    let before = store.replica_state();
    assert!(before.up && before.replica_reads >= 10, "{before:?}");
    let primary_reads = before.primary_reads;

    // The replica really stops: reads go to the primary, and say so.
    cluster_sh("stop-replica");
    let mut fell_back = false;
    for _ in 0..150 {
        let found = store
            .best(KEY, 0.0)
            .await
            .expect("a read survives the replica's loss");
        assert!(found.is_some());
        let s = store.replica_state();
        if !s.up && s.primary_reads > primary_reads {
            fell_back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    cluster_sh("start-replica");
    assert!(fell_back, "{:?}", store.replica_state());
    let m = helix_registry::metrics::Metrics::default().render(Some(&store.replica_state()));
    assert!(
        m.contains("helix_registry_reads_total{target=\"primary\"}"),
        "{m}"
    );

    // And back: the probe reconnects and the replica serves again.
    let mut back = false;
    for _ in 0..300 {
        let s = store.replica_state();
        if s.up {
            let r = s.replica_reads;
            store.best(KEY, 0.0).await.unwrap();
            if store.replica_state().replica_reads > r {
                back = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(back, "{:?}", store.replica_state());
}

/// Evidence is not this test's subject: every transaction verifies.
struct Trusting;
#[async_trait::async_trait]
impl Verifier for Trusting {
    async fn verify(&self, _: &Evidence, _: Address) -> Result<(), EvidenceError> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buckets_cache_and_ranking_live_in_the_redis_cluster() {
    let conn = PullCache::connect(&redis_nodes())
        .await
        .expect("the Redis Cluster (scripts/cluster.sh start)");
    let slow = Rate {
        per_second: 0.5,
        burst: 2.0,
    };
    let limiter = RedisLimiter::new(conn.clone(), slow, slow);
    let who = format!("0x{:040x}", rand::random::<u128>());
    assert!(limiter.take(&who, Action::Push).await.is_ok());
    assert!(limiter.take(&who, Action::Push).await.is_ok());
    let wait = limiter.take(&who, Action::Push).await.unwrap_err();
    assert!(
        // A token takes 2 s; the lower bound leaves a loaded machine 1.5 s
        // between the takes.
        wait > Duration::from_millis(500) && wait <= Duration::from_millis(2000),
        "{wait:?}"
    );
    assert!(
        limiter.take(&who, Action::Pull).await.is_ok(),
        "its own bucket per action"
    );

    // Pulls through the hot cache: the first reads the store, the second
    // the cache; a push to the key drops the cached answer.
    let store: Arc<dyn RegistryStore> =
        Arc::new(helix_registry::store::SqliteRegistry::in_memory().unwrap());
    let cache = PullCache::new(conn.clone());
    let registry = Registry::new(
        store.clone(),
        Arc::new(Trusting),
        Broadcast::local(),
        Some(cache.clone()),
        PULL_THRESHOLD,
    );
    // Each run is its own key space for the cache: clear what a previous
    // run left for this key.
    cache.invalidate(KEY).await.unwrap();
    assert!(registry.pull(KEY).await.unwrap().is_none());
    let g = gene(50);
    let agent = Address::repeat_byte(7);
    let ev = [Evidence {
        chain_id: 1,
        tx: B256::from(rand::random::<[u8; 32]>()),
    }];
    let stored = store
        .accept(Accept {
            id: g.id(),
            gene: &g,
            evidence: &ev,
            agent,
            at: 1,
        })
        .await
        .unwrap()
        .gene;
    assert!(
        registry.pull(KEY).await.unwrap().is_none(),
        "the cached 'none' still answers"
    );
    cache.invalidate(KEY).await.unwrap();
    let first = registry.pull(KEY).await.unwrap().expect("from the store");
    let hits = |r: &Registry| {
        r.metrics()
            .render(None)
            .lines()
            .find(|l| l.starts_with("helix_registry_pull_cache_hits_total "))
            .map(str::to_owned)
    };
    let before = hits(&registry);
    let second = registry.pull(KEY).await.unwrap().expect("from the cache");
    assert_eq!(first.id, second.id);
    assert_ne!(hits(&registry), before, "the second pull was a cache hit");
    assert_eq!(stored.id, first.id);
    let popular = cache.popular(50).await.unwrap();
    assert!(
        popular
            .iter()
            .any(|(id, n)| *id == first.id.to_string() && *n >= 2.0),
        "{popular:?} in {RANKING}"
    );
}
