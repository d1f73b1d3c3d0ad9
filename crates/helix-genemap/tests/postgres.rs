//! The PostgreSQL Gene Map against the PostgreSQL on this machine
//! (`HELIX_TEST_POSTGRES`, default postgres://postgres@127.0.0.1:5432/test;
//! scripts/test.sh starts it). Each test works in a schema of its own.

use std::sync::Arc;

use helix_core::{
    Category, FailureCode, GeneKey, GeneSource, GeneStore, Outcome, Platform, StoreError,
    StrategyId,
};
use helix_genemap::PostgresGeneStore;

fn base_url() -> String {
    std::env::var("HELIX_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A fresh schema; returns a URL whose connections use it.
async fn schema() -> String {
    let name = format!("helix_t{:016x}", rand_u64());
    let (client, conn) = tokio_postgres::connect(&base_url(), tokio_postgres::NoTls)
        .await
        .expect("PostgreSQL at HELIX_TEST_POSTGRES (scripts/services.sh starts it)");
    tokio::spawn(conn);
    client
        .batch_execute(&format!("CREATE SCHEMA {name}"))
        .await
        .unwrap();
    format!("{}?options=-c%20search_path%3D{name}", base_url())
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    h.finish()
}

fn outcome(success: bool) -> Outcome {
    let key = GeneKey {
        code: FailureCode::RateLimited,
        category: Category::Throttle,
    };
    Outcome {
        params: serde_json::json!({ "seconds": 1 }),
        ms: 1000,
        ..Outcome::new(key, StrategyId::Backoff, Platform::Http, success)
    }
}

#[tokio::test]
async fn genes_round_trip_and_learn_like_sqlite() {
    let url = schema().await;
    let store = PostgresGeneStore::connect(&url).await.unwrap();
    assert_eq!(
        store.schema_version().await.unwrap(),
        helix_genemap::migrations::LATEST
    );
    let key = outcome(true).key;
    assert!(store.lookup(key).await.unwrap().is_none());
    store.record(&outcome(true)).await.unwrap();
    let g = store.record(&outcome(true)).await.unwrap();
    assert_eq!(g.successes, 2);
    let found = store.lookup(key).await.unwrap().expect("gene");
    assert_eq!(found.strategy, StrategyId::Backoff);
    assert_eq!(found.successes, 2);
    assert_eq!(found.params, serde_json::json!({ "seconds": 1 }));
    // The same learning rule as every store.
    let mut reference = helix_core::Gene::new(&outcome(true));
    reference.learn(&outcome(true));
    reference.learn(&outcome(true));
    assert!(
        (found.q - reference.q).abs() < 1e-9,
        "{} vs {}",
        found.q,
        reference.q
    );
    assert_eq!(store.list().await.unwrap().len(), 1);
    // Reconnecting migrates nothing and keeps the genes.
    let again = PostgresGeneStore::connect(&url).await.unwrap();
    assert_eq!(again.lookup(key).await.unwrap().unwrap().successes, 2);
}

/// Two connections (as two instances) learn the same gene at once: every
/// outcome counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_learning_at_once_lose_nothing() {
    let url = schema().await;
    let a = Arc::new(PostgresGeneStore::connect(&url).await.unwrap());
    let b = Arc::new(PostgresGeneStore::connect(&url).await.unwrap());
    let mut tasks = Vec::new();
    for i in 0..40 {
        let s = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move { s.record(&outcome(true)).await }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let g = a.lookup(outcome(true).key).await.unwrap().unwrap();
    assert_eq!(g.successes, 40);
}

#[tokio::test]
async fn a_corrupt_row_is_skipped_and_a_newer_schema_refused() {
    let url = schema().await;
    let store = PostgresGeneStore::connect(&url).await.unwrap();
    store.record(&outcome(true)).await.unwrap();
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .batch_execute(
            "UPDATE genes SET strategy = 'no_such_strategy';
             INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0);",
        )
        .await
        .unwrap();
    assert!(store.lookup(outcome(true).key).await.unwrap().is_none());
    assert!(store.list().await.unwrap().is_empty());
    match PostgresGeneStore::connect(&url).await {
        Err(StoreError::SchemaTooNew { found: 999, .. }) => {}
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_dead_database_is_a_clear_error_without_the_password() {
    let e = PostgresGeneStore::connect("postgres://helix:s3cret@127.0.0.1:1/test")
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("unavailable"), "{e}");
    assert!(!e.contains("s3cret"), "{e}");
}

#[tokio::test]
async fn diagnoses_are_shared_and_the_first_one_wins() {
    let url = schema().await;
    let a = PostgresGeneStore::connect(&url).await.unwrap();
    let b = PostgresGeneStore::connect(&url).await.unwrap();
    let d = |code| helix_core::Diagnosis {
        code,
        category: Category::Throttle,
        strategies: vec![StrategyId::Backoff],
        source: GeneSource::Llm,
        by: "openai:test".into(),
    };
    assert_eq!(b.diagnosis("fp").await.unwrap(), None);
    a.remember_diagnosis("fp", &d(FailureCode::RateLimited))
        .await
        .unwrap();
    b.remember_diagnosis("fp", &d(FailureCode::Timeout))
        .await
        .unwrap();
    assert_eq!(
        b.diagnosis("fp").await.unwrap(),
        Some(d(FailureCode::RateLimited))
    );
    a.forget_diagnosis("fp").await.unwrap();
    assert_eq!(b.diagnosis("fp").await.unwrap(), None);
}

/// A crash between merging a queued outcome into PostgreSQL and dequeuing
/// it replays it on the next merge: the map learns from it once.
#[tokio::test]
async fn a_queue_replayed_after_a_crash_counts_each_outcome_once() {
    let url = schema().await;
    let dir = tempfile::tempdir().unwrap();
    let local =
        Arc::new(helix_genemap::SqliteGeneStore::open(dir.path().join("local.db")).unwrap());
    let o = outcome(true);
    // Learned during an outage: queued locally...
    local.enqueue(&o).unwrap();
    // ...merged into PostgreSQL, and the process died before the dequeue.
    let shared = PostgresGeneStore::connect(&url).await.unwrap();
    let merged = shared.record(&o).await.unwrap();
    assert_eq!(merged.successes, 1);
    // The next start merges the queue again.
    let store = helix_genemap::FallbackGeneStore::new(&url, local.clone()).await;
    assert!(store.connected().await);
    assert_eq!(store.queued(), 0, "the queue was merged");
    let gene = shared.lookup(o.key).await.unwrap().unwrap();
    assert_eq!((gene.successes, gene.failures), (1, 0), "counted once");
    // A new outcome still counts.
    shared.record(&outcome(true)).await.unwrap();
    assert_eq!(shared.lookup(o.key).await.unwrap().unwrap().successes, 2);
}
