//! Gene versions (`GeneStore::retune`): the SQLite and PostgreSQL Gene
//! Maps number them from 1 without gaps or repeats, even with tuners
//! racing, keep each one's evidence, and give the gene the newest
//! parameters without touching what it learned.

use std::sync::Arc;

use helix_core::{Category, FailureCode, GeneKey, GeneStore, Outcome, Platform, StrategyId};
use helix_genemap::{PostgresGeneStore, SqliteGeneStore};
use serde_json::json;

const KEY: GeneKey = GeneKey {
    code: FailureCode::RateLimited,
    category: Category::Throttle,
};

async fn exercise(store: Arc<dyn GeneStore>) {
    // No gene yet: nothing to retune.
    let none = store
        .retune(
            KEY,
            StrategyId::Backoff,
            &json!({ "wait_ms": 500 }),
            &json!({}),
        )
        .await
        .unwrap();
    assert_eq!(none, None);
    assert!(
        store
            .versions(KEY, StrategyId::Backoff)
            .await
            .unwrap()
            .is_empty()
    );

    let learned = store
        .record(&Outcome {
            params: json!({ "wait_ms": 1_000 }),
            ms: 1_020,
            ..Outcome::new(KEY, StrategyId::Backoff, Platform::Http, true)
        })
        .await
        .unwrap();

    // Eight tuners at once: versions 1..=8, each once.
    let mut tasks = Vec::new();
    for i in 0..8u64 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            s.retune(
                KEY,
                StrategyId::Backoff,
                &json!({ "wait_ms": 100 * (i + 1) }),
                &json!({ "tuner": i }),
            )
            .await
            .unwrap()
            .unwrap()
        }));
    }
    let mut got = Vec::new();
    for t in tasks {
        got.push(t.await.unwrap());
    }
    got.sort_unstable();
    assert_eq!(got, (1..=8).collect::<Vec<u32>>());

    let versions = store.versions(KEY, StrategyId::Backoff).await.unwrap();
    assert_eq!(versions.len(), 8);
    for (i, v) in versions.iter().enumerate() {
        assert_eq!(v.version, i as u32 + 1);
        let tuner = v.evidence["tuner"].as_u64().unwrap();
        assert_eq!(v.params["wait_ms"], 100 * (tuner + 1), "{v:?}");
    }
    let gene = store.lookup(KEY).await.unwrap().unwrap();
    assert_eq!(gene.params, versions[7].params, "the newest version");
    assert_eq!(
        (gene.successes, gene.failures, gene.q),
        (learned.successes, learned.failures, learned.q),
        "what it learned stays"
    );
    // Another strategy of the same failure has versions of its own.
    assert!(
        store
            .versions(KEY, StrategyId::BackoffRetry)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_numbers_versions_once_each() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteGeneStore::open(dir.path().join("g.db")).unwrap());
    exercise(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_numbers_versions_once_each() {
    let base = std::env::var("HELIX_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let name = format!("helix_v{:016x}", rand::random::<u64>());
    let (client, conn) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
        .await
        .expect("PostgreSQL (scripts/services.sh starts it)");
    tokio::spawn(conn);
    client
        .batch_execute(&format!("CREATE SCHEMA {name}"))
        .await
        .unwrap();
    let url = format!("{base}?options=-c%20search_path%3D{name}");
    // Two connections: the versions are numbered in the database, not in
    // one client.
    let a = Arc::new(PostgresGeneStore::connect(&url).await.unwrap());
    let b = Arc::new(PostgresGeneStore::connect(&url).await.unwrap());
    exercise(Arc::new(Split(a, b))).await;
    client
        .batch_execute(&format!("DROP SCHEMA {name} CASCADE"))
        .await
        .unwrap();
}

/// Alternates retunes between two stores on one database.
struct Split(Arc<PostgresGeneStore>, Arc<PostgresGeneStore>);

#[async_trait::async_trait]
impl GeneStore for Split {
    async fn lookup(
        &self,
        key: GeneKey,
    ) -> Result<Option<helix_core::Gene>, helix_core::StoreError> {
        self.0.lookup(key).await
    }
    async fn record(&self, o: &Outcome) -> Result<helix_core::Gene, helix_core::StoreError> {
        self.0.record(o).await
    }
    async fn list(&self) -> Result<Vec<helix_core::Gene>, helix_core::StoreError> {
        self.0.list().await
    }
    async fn diagnosis(
        &self,
        f: &str,
    ) -> Result<Option<helix_core::Diagnosis>, helix_core::StoreError> {
        self.0.diagnosis(f).await
    }
    async fn remember_diagnosis(
        &self,
        f: &str,
        d: &helix_core::Diagnosis,
    ) -> Result<(), helix_core::StoreError> {
        self.0.remember_diagnosis(f, d).await
    }
    async fn forget_diagnosis(&self, f: &str) -> Result<(), helix_core::StoreError> {
        self.0.forget_diagnosis(f).await
    }
    async fn retune(
        &self,
        key: GeneKey,
        strategy: StrategyId,
        params: &serde_json::Value,
        evidence: &serde_json::Value,
    ) -> Result<Option<u32>, helix_core::StoreError> {
        let which = if evidence["tuner"].as_u64().unwrap_or(0).is_multiple_of(2) {
            &self.0
        } else {
            &self.1
        };
        which.retune(key, strategy, params, evidence).await
    }
    async fn versions(
        &self,
        key: GeneKey,
        strategy: StrategyId,
    ) -> Result<Vec<helix_core::GeneVersion>, helix_core::StoreError> {
        self.1.versions(key, strategy).await
    }
}
