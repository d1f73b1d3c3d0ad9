use helix_core::gene::{DEMOTE_AFTER, now_ms};
use helix_core::{
    Category, FailureCode, GeneKey, GeneSource, GeneStore, Outcome, Platform, StoreError,
    StrategyId,
};
use helix_genemap::migrations::{LATEST, MIGRATIONS};
use helix_genemap::{SqliteGeneStore, migrate};
use rusqlite::Connection;

const KEY: GeneKey = GeneKey {
    code: FailureCode::PaymentInsufficient,
    category: Category::Balance,
};

fn outcome(strategy: StrategyId, success: bool, platform: Platform) -> Outcome {
    Outcome {
        params: serde_json::json!({"max_slippage_bps": 50}),
        ms: 120,
        cost: 2_000,
        ..Outcome::new(KEY, strategy, platform, success)
    }
}

fn dump(path: &std::path::Path) -> Vec<String> {
    let c = Connection::open(path).unwrap();
    let mut s = c.prepare("SELECT * FROM genes ORDER BY strategy").unwrap();
    let n = s.column_count();
    s.query_map([], |r| {
        Ok((0..n)
            .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
            .collect::<Vec<_>>()
            .join("|"))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

#[tokio::test]
async fn a_lookup_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.db");
    let store = SqliteGeneStore::open(&path).unwrap();
    store
        .record(&outcome(StrategyId::SwapCurrency, true, Platform::Tempo))
        .await
        .unwrap();
    store
        .record(&outcome(
            StrategyId::TopupFromReserve,
            false,
            Platform::Tempo,
        ))
        .await
        .unwrap();
    let before = dump(&path);
    for _ in 0..10 {
        store.lookup(KEY).await.unwrap();
    }
    assert_eq!(dump(&path), before);
}

#[tokio::test]
async fn genes_persist_learn_and_pick_the_best_strategy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.db");
    {
        let store = SqliteGeneStore::open(&path).unwrap();
        store
            .record(&outcome(
                StrategyId::TopupFromReserve,
                false,
                Platform::Tempo,
            ))
            .await
            .unwrap();
        store
            .record(&outcome(StrategyId::SwapCurrency, true, Platform::Tempo))
            .await
            .unwrap();
        store
            .record(&outcome(StrategyId::SwapCurrency, true, Platform::Privy))
            .await
            .unwrap();
    }
    let store = SqliteGeneStore::open(&path).unwrap();
    let g = store.lookup(KEY).await.unwrap().unwrap();
    assert_eq!(g.strategy, StrategyId::SwapCurrency);
    assert_eq!((g.successes, g.failures), (2, 0));
    assert!((g.q - 0.755).abs() < 1e-9);
    assert_eq!(
        g.platforms,
        vec![Platform::Tempo, Platform::Privy]
            .into_iter()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
    );
    assert_eq!(g.params["max_slippage_bps"], 50);
    assert!((g.mean_cost - 2_000.0).abs() < 1e-9);
    assert_eq!(store.list().await.unwrap().len(), 2);
}

#[tokio::test]
async fn expired_and_demoted_genes_are_misses() {
    let store = SqliteGeneStore::in_memory().unwrap();
    let mut g = store
        .record(&outcome(StrategyId::SwapCurrency, true, Platform::Tempo))
        .await
        .unwrap();
    g.expires_at = Some(now_ms() - 1);
    store.put(&g).unwrap();
    assert!(store.lookup(KEY).await.unwrap().is_none());
    g.expires_at = Some(now_ms() + 60_000);
    store.put(&g).unwrap();
    assert!(store.lookup(KEY).await.unwrap().is_some());
    for _ in 0..DEMOTE_AFTER {
        store
            .record(&outcome(StrategyId::SwapCurrency, false, Platform::Tempo))
            .await
            .unwrap();
    }
    assert!(store.lookup(KEY).await.unwrap().is_none(), "demoted");
}

/// Builds a database at every earlier schema version with a row written the
/// way that version wrote it, then opens it with this build.
#[tokio::test]
async fn migrates_from_every_earlier_version() {
    for from in 0..LATEST {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let mut c = Connection::open(&path).unwrap();
            migrate(&mut c, from).unwrap();
            if from >= 1 {
                c.execute(
                    "INSERT INTO genes (code, category, strategy, params, q, successes, failures, \
                     consecutive_failures, mean_ms, platforms, created_at, last_used_at) \
                     VALUES ('payment-insufficient','balance','swap_currency','null',0.65,1,0,0,80,'tempo',1,2)",
                    [],
                )
                .unwrap();
            }
        }
        let store = SqliteGeneStore::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), LATEST, "from {from}");
        let got = store.lookup(KEY).await.unwrap();
        if from >= 1 {
            let g = got.unwrap_or_else(|| panic!("row kept migrating from {from}"));
            assert_eq!(g.source, GeneSource::Pcec);
            assert_eq!(g.confidence, 1.0);
            assert_eq!(g.expires_at, None);
            assert_eq!(g.successes, 1);
        } else {
            assert!(got.is_none());
        }
        // A second open applies nothing twice.
        drop(store);
        let c = Connection::open(&path).unwrap();
        let n: i64 = c
            .query_row("SELECT COUNT(*) FROM schema_migrations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, MIGRATIONS.len() as i64);
        SqliteGeneStore::open(&path).unwrap();
    }
}

#[tokio::test]
async fn corrupt_rows_are_reported_and_skipped_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.db");
    let store = SqliteGeneStore::open(&path).unwrap();
    store
        .record(&outcome(StrategyId::SwapCurrency, true, Platform::Tempo))
        .await
        .unwrap();
    let c = Connection::open(&path).unwrap();
    c.execute(
        "INSERT INTO genes (code, category, strategy, params, q, created_at, last_used_at) \
         VALUES ('payment-insufficient','balance','teleport_money','{bad json',0.99,1,1)",
        [],
    )
    .unwrap();
    let (genes, bad) = store.scan().unwrap();
    assert_eq!(genes.len(), 1);
    assert_eq!(bad.len(), 1);
    assert!(matches!(&bad[0], StoreError::Corrupt { row, .. } if row.contains("teleport_money")));
    // The lookup still answers with the good gene.
    assert_eq!(
        store.lookup(KEY).await.unwrap().unwrap().strategy,
        StrategyId::SwapCurrency
    );
}

#[test]
fn a_newer_schema_is_refused_and_a_bad_path_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    drop(SqliteGeneStore::open(&path).unwrap());
    Connection::open(&path)
        .unwrap()
        .execute(
            "INSERT INTO schema_migrations VALUES (999, 'future', 0)",
            [],
        )
        .unwrap();
    assert!(matches!(
        SqliteGeneStore::open(&path),
        Err(StoreError::SchemaTooNew { found: 999, .. })
    ));
    let err = SqliteGeneStore::open(dir.path().join("no/such/dir/g.db")).unwrap_err();
    assert!(err.to_string().contains("no/such/dir"), "{err}");
}

#[tokio::test]
async fn concurrent_records_from_two_connections_lose_no_update() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.db");
    let a = std::sync::Arc::new(SqliteGeneStore::open(&path).unwrap());
    let b = std::sync::Arc::new(SqliteGeneStore::open(&path).unwrap());
    let mut tasks = Vec::new();
    for i in 0..40 {
        let s = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            rt.block_on(s.record(&outcome(StrategyId::SwapCurrency, true, Platform::Tempo)))
                .unwrap();
        }));
    }
    for t in tasks {
        t.join().unwrap();
    }
    assert_eq!(a.lookup(KEY).await.unwrap().unwrap().successes, 40);
}

fn diagnosis(code: FailureCode) -> helix_core::Diagnosis {
    helix_core::Diagnosis {
        code,
        category: Category::Throttle,
        strategies: vec![StrategyId::Backoff],
        source: GeneSource::Llm,
        by: "anthropic:test".into(),
    }
}

#[tokio::test]
async fn diagnoses_persist_the_first_one_wins_and_a_corrupt_one_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.db");
    let store = SqliteGeneStore::open(&path).unwrap();
    assert_eq!(store.diagnosis("f1").await.unwrap(), None);
    let first = diagnosis(FailureCode::RateLimited);
    store.remember_diagnosis("f1", &first).await.unwrap();
    store
        .remember_diagnosis("f1", &diagnosis(FailureCode::Timeout))
        .await
        .unwrap();
    drop(store);
    let store = SqliteGeneStore::open(&path).unwrap();
    assert_eq!(store.diagnosis("f1").await.unwrap(), Some(first));
    store.forget_diagnosis("f1").await.unwrap();
    assert_eq!(store.diagnosis("f1").await.unwrap(), None);
    store
        .remember_diagnosis("f1", &diagnosis(FailureCode::RateLimited))
        .await
        .unwrap();
    Connection::open(&path)
        .unwrap()
        .execute(
            "INSERT INTO diagnoses VALUES ('f2', '{\"code\":\"teleport\"}', 0)",
            [],
        )
        .unwrap();
    assert!(matches!(
        store.diagnosis("f2").await,
        Err(StoreError::Corrupt { row, .. }) if row.contains("f2")
    ));
}
