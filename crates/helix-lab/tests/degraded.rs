//! The shared Gene Map goes away and comes back: PostgreSQL is reached
//! through a gate that really cuts the connection. While it is down the
//! instance learns into its local SQLite map and queues the outcomes; when
//! it returns, the queue is merged into PostgreSQL and nothing is lost.

use std::sync::Arc;
use std::time::Duration;

use helix_core::{Category, FailureCode, GeneKey, GeneStore, Outcome, Platform, StrategyId};
use helix_genemap::{FallbackGeneStore, PostgresGeneStore, SqliteGeneStore};
use helix_lab::tcp_gate::TcpGate;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_down_then_back_loses_no_outcome() {
    let base = std::env::var("HELIX_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let schema = format!("helix_degraded_{}", std::process::id());
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
    store.record(&outcome()).await.unwrap();

    gate.close();
    // Learning and lookups go on locally; the outcomes wait.
    let g = store.record(&outcome()).await.unwrap();
    assert!(!store.connected().await);
    assert_eq!(g.successes, 2, "the local map started from what was shared");
    store.record(&outcome()).await.unwrap();
    assert!(store.lookup(outcome().key).await.unwrap().is_some());
    assert_eq!(store.queued(), 2);

    gate.open();
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let g = store.lookup(outcome().key).await.unwrap().unwrap();
    assert!(store.connected().await, "reconnected");
    assert_eq!(store.queued(), 0, "the queue was merged");
    assert_eq!(g.successes, 3, "PostgreSQL has every outcome");

    let direct = PostgresGeneStore::connect(&format!("{base}?options=-c%20search_path%3D{schema}"))
        .await
        .unwrap();
    assert_eq!(
        direct
            .lookup(outcome().key)
            .await
            .unwrap()
            .unwrap()
            .successes,
        3
    );
    admin
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .await
        .unwrap();
}
