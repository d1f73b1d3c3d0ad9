//! The shared Gene Map goes away and comes back: PostgreSQL is reached
//! through a gate that really cuts the connection, or that keeps it and
//! stops answering (a black hole). While it is gone the instance learns
//! into its local SQLite map and queues the outcomes; when it returns, the
//! queue is merged into PostgreSQL and nothing is lost.

use std::sync::Arc;
use std::time::{Duration, Instant};

use helix_core::{
    Category, FailureCode, GeneKey, GeneStore, Outcome, Platform, Policy, StrategyId,
};
use helix_genemap::{FallbackGeneStore, PostgresGeneStore, SqliteGeneStore};
use helix_lab::tcp_gate::TcpGate;

/// How long a store may take to find its database again once it answers.
const RECONNECT_WITHIN: Duration = Duration::from_secs(15);

fn outcome() -> Outcome {
    let key = GeneKey {
        code: FailureCode::RateLimited,
        category: Category::Throttle,
    };
    Outcome {
        ms: 100,
        ..Outcome::new(key, StrategyId::Backoff, Platform::Http, true)
    }
}

/// A fresh schema reached through a gate, and its direct URL.
/// A reconnect is tried at most once a second, each try bounded: on a
/// loaded machine the first may miss, so calls go on until one lands.
async fn until_reconnected(store: &FallbackGeneStore) {
    let began = Instant::now();
    while !store.connected().await {
        assert!(began.elapsed() < RECONNECT_WITHIN, "reconnected");
        tokio::time::sleep(Duration::from_millis(200)).await;
        store.lookup(outcome().key).await.unwrap().unwrap();
    }
}

struct Shared {
    admin: tokio_postgres::Client,
    schema: String,
    gate: TcpGate,
    direct: String,
    _dir: tempfile::TempDir,
    store: FallbackGeneStore,
}

impl Shared {
    async fn new(name: &str) -> Shared {
        let base = std::env::var("HELIX_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let schema = format!("helix_{name}_{}", std::process::id());
        let (admin, conn) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
            .await
            .expect("PostgreSQL (scripts/services.sh starts it)");
        tokio::spawn(conn);
        admin
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
            ))
            .await
            .unwrap();
        let gate = TcpGate::start("127.0.0.1:5432".parse().unwrap())
            .await
            .unwrap();
        let url = format!(
            "postgres://postgres@{}/test?options=-c%20search_path%3D{schema}",
            gate.addr
        );
        let dir = tempfile::tempdir().unwrap();
        let local = Arc::new(SqliteGeneStore::open(dir.path().join("local.db")).unwrap());
        let store = FallbackGeneStore::new(&url, local).await;
        assert!(store.connected().await);
        Shared {
            admin,
            direct: format!("{base}?options=-c%20search_path%3D{schema}"),
            schema,
            gate,
            _dir: dir,
            store,
        }
    }

    /// What PostgreSQL itself holds for the test's gene.
    async fn successes_in_postgres(&self) -> u64 {
        let direct = PostgresGeneStore::connect(&self.direct).await.unwrap();
        direct
            .lookup(outcome().key)
            .await
            .unwrap()
            .unwrap()
            .successes
    }

    async fn drop_schema(self) {
        self.admin
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema))
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_down_then_back_loses_no_outcome() {
    let t = Shared::new("degraded").await;
    let store = &t.store;
    store.record(&outcome()).await.unwrap();

    t.gate.close();
    // Learning and lookups go on locally; the outcomes wait.
    let g = store.record(&outcome()).await.unwrap();
    assert!(!store.connected().await);
    assert_eq!(g.successes, 2, "the local map started from what was shared");
    store.record(&outcome()).await.unwrap();
    assert!(store.lookup(outcome().key).await.unwrap().is_some());
    assert_eq!(store.queued(), 2);

    t.gate.open();
    until_reconnected(store).await;
    let g = store.lookup(outcome().key).await.unwrap().unwrap();
    assert_eq!(store.queued(), 0, "the queue was merged");
    assert_eq!(g.successes, 3, "PostgreSQL has every outcome");
    assert_eq!(t.successes_in_postgres().await, 3);
    t.drop_schema().await;
}

/// PostgreSQL keeps the connection and stops answering. Each call returns
/// within the engine's store timeout (so the engine never cuts a record and
/// drops what it learned), the outcomes are queued, and they all reach
/// PostgreSQL once it answers, each once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_postgres_holds_no_call_past_the_bound_and_loses_nothing() {
    let t = Shared::new("hung").await;
    let store = &t.store;
    let bound = Policy::default().store_timeout;
    store.record(&outcome()).await.unwrap();

    t.gate.stall();
    for n in 2..=4 {
        let began = Instant::now();
        let g = store.record(&outcome()).await.unwrap();
        assert!(
            began.elapsed() < bound,
            "record {n} took {:?}",
            began.elapsed()
        );
        assert_eq!(g.successes, n, "learned locally");
        let began = Instant::now();
        store.lookup(outcome().key).await.unwrap().unwrap();
        assert!(began.elapsed() < bound, "lookup took {:?}", began.elapsed());
        // Let the store try (and fail) to reconnect to the black hole.
        tokio::time::sleep(Duration::from_millis(1_050)).await;
    }
    assert!(!store.connected().await);
    assert_eq!(store.queued(), 3);

    t.gate.open();
    until_reconnected(store).await;
    let g = store.lookup(outcome().key).await.unwrap().unwrap();
    assert_eq!(store.queued(), 0, "the queue was merged");
    assert_eq!(g.successes, 4);
    assert_eq!(t.successes_in_postgres().await, 4, "each outcome once");
    t.drop_schema().await;
}
