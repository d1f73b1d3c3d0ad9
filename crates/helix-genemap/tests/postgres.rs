//! The PostgreSQL Gene Map against the PostgreSQL on this machine
//! (`HELIX_TEST_POSTGRES`, default postgres://postgres@127.0.0.1:5432/test;
//! scripts/test.sh starts it). Each test works in a schema of its own.

use std::sync::Arc;
use std::time::Duration;

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
    // The claim is no lost update, not speed: forty synced commits queue
    // on one lock, and on a slow disk the last would pass the default bound.
    let patient = |s: PostgresGeneStore| Arc::new(s.answer_within(Duration::from_secs(30)));
    let a = patient(PostgresGeneStore::connect(&url).await.unwrap());
    let b = patient(PostgresGeneStore::connect(&url).await.unwrap());
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

/// A connection to the test's schema, for looking under the store.
async fn direct(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
}

/// Every row of every table in the schema, as text.
async fn dump(c: &tokio_postgres::Client) -> Vec<String> {
    let tables = c
        .query(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() ORDER BY 1",
            &[],
        )
        .await
        .unwrap();
    let mut out = Vec::new();
    for t in tables {
        let name: String = t.get(0);
        for r in c
            .query(&format!("SELECT t::text FROM {name} t ORDER BY 1"), &[])
            .await
            .unwrap()
        {
            out.push(format!("{name}: {}", r.get::<_, String>(0)));
        }
    }
    out
}

#[tokio::test]
async fn a_lookup_changes_no_byte() {
    let url = schema().await;
    let store = PostgresGeneStore::connect(&url).await.unwrap();
    store.record(&outcome(true)).await.unwrap();
    store.record(&outcome(false)).await.unwrap();
    let c = direct(&url).await;
    let before = dump(&c).await;
    assert!(
        before.iter().any(|r| r.starts_with("genes: ")),
        "{before:?}"
    );
    for _ in 0..10 {
        store.lookup(outcome(true).key).await.unwrap().unwrap();
    }
    store.list().await.unwrap();
    assert_eq!(dump(&c).await, before);
}

#[tokio::test]
async fn migrates_from_every_earlier_version() {
    use helix_genemap::migrations::{LATEST, MIGRATIONS};
    for from in 0..LATEST {
        let url = schema().await;
        let c = direct(&url).await;
        c.batch_execute(
            "CREATE TABLE schema_migrations (
                version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
        )
        .await
        .unwrap();
        for m in MIGRATIONS.iter().filter(|m| m.version <= from) {
            c.batch_execute(m.postgres).await.unwrap();
            c.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, 0)",
                &[&m.version, &m.name],
            )
            .await
            .unwrap();
        }
        if from >= 1 {
            c.batch_execute(
                "INSERT INTO genes (code, category, strategy, params, q, successes, failures, \
                 consecutive_failures, mean_ms, platforms, created_at, last_used_at) \
                 VALUES ('rate-limited','throttle','backoff','null',0.65,1,0,0,80,'http',1,2)",
            )
            .await
            .unwrap();
        }
        let store = PostgresGeneStore::connect(&url).await.unwrap();
        assert_eq!(store.schema_version().await.unwrap(), LATEST, "from {from}");
        let got = store.lookup(outcome(true).key).await.unwrap();
        if from >= 1 {
            let g = got.unwrap_or_else(|| panic!("row kept migrating from {from}"));
            assert_eq!(g.source, GeneSource::Pcec);
            assert_eq!(g.confidence, 1.0);
            assert_eq!(g.expires_at, None);
            assert_eq!(g.successes, 1);
        } else {
            assert!(got.is_none());
        }
        drop(store);
        PostgresGeneStore::connect(&url).await.unwrap();
        let n: i64 = c
            .query_one("SELECT COUNT(*) FROM schema_migrations", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, MIGRATIONS.len() as i64, "nothing applied twice");
    }
}

fn event(repair_id: u64, seq: u32) -> helix_core::Event {
    helix_core::Event {
        repair_id,
        seq,
        at: 1_000 + i64::from(seq),
        kind: helix_core::EventKind::GeneMiss {
            key: outcome(true).key,
        },
    }
}

#[tokio::test]
async fn events_are_appended_in_order_and_never_changed() {
    use helix_core::EventSink;
    let url = schema().await;
    let log = helix_genemap::PostgresEventLog::connect(&url)
        .await
        .unwrap();
    for seq in [0, 2, 1] {
        log.emit(&event(u64::MAX - 1, seq));
    }
    log.emit(&event(7, 0));
    log.flush().await;
    let (events, bad) = log.events(u64::MAX - 1).await.unwrap();
    assert!(bad.is_empty());
    assert_eq!(
        events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![0, 1, 2]
    );
    assert_eq!(
        events[0],
        event(u64::MAX - 1, 0),
        "ids above i64::MAX survive"
    );
    assert_eq!(log.repairs(10).await.unwrap().len(), 2);
    // Read back a page at a time, newest first (`/v1/history`).
    let first = log.page(None, 3).await.unwrap();
    assert_eq!(
        first
            .events
            .iter()
            .map(|e| (e.repair_id, e.seq))
            .collect::<Vec<_>>(),
        vec![(7, 0), (u64::MAX - 1, 1), (u64::MAX - 1, 2)]
    );
    let rest = log.page(first.next, 3).await.unwrap();
    assert_eq!(rest.events.len(), 1);
    assert_eq!(rest.next, None, "the start of the log");

    let c = direct(&url).await;
    for sql in ["UPDATE events SET seq = 9", "DELETE FROM events"] {
        let e = c.batch_execute(sql).await.unwrap_err();
        let e = e
            .as_db_error()
            .map(|d| d.message().to_owned())
            .unwrap_or_default();
        assert!(e.contains("append-only"), "{sql}: {e}");
    }
    c.batch_execute(
        "INSERT INTO events (repair_id, seq, at, stage, kind, payload) \
         VALUES (7, 1, 0, 'x', 'x', '{not json')",
    )
    .await
    .unwrap();
    let (events, bad) = log.events(7).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(bad.len(), 1, "the unreadable row is reported");
}

/// On one thread the writer cannot run while events are emitted in a
/// burst: the queue takes what it holds, the rest is dropped and counted,
/// and what was queued is all written.
#[tokio::test(flavor = "current_thread")]
async fn a_full_queue_drops_and_counts_never_blocks() {
    use helix_core::EventSink;
    let url = schema().await;
    let log = helix_genemap::PostgresEventLog::connect(&url)
        .await
        .unwrap();
    let burst = helix_genemap::EVENT_QUEUE + 1_000;
    for seq in 0..burst {
        log.emit(&event(42, seq as u32));
    }
    assert_eq!(log.dropped(), 1_000);
    log.flush().await;
    let (events, bad) = log.events(42).await.unwrap();
    assert!(bad.is_empty());
    assert_eq!(
        events.len(),
        helix_genemap::EVENT_QUEUE,
        "every queued event written"
    );
    assert_eq!(
        events.last().unwrap().seq as usize,
        helix_genemap::EVENT_QUEUE - 1
    );
}
