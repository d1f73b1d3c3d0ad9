//! `helix evolve` against a real NATS: repairs published by the engine's
//! own NATS publisher are learned from, the Gene Map gets new versions of
//! the gene within the bounds, and a restarted worker resumes both its
//! place in the stream and its bandit.

use std::process::Command;
use std::sync::Arc;

use helix_core::{
    Category, Event, EventKind, EventSink, Failure, FailureCode, GeneKey, GeneStore, Outcome,
    Platform, StrategyId,
};
use helix_genemap::{NatsConfig, NatsPublisher, SqliteGeneStore};
use serde_json::{Value, json};

use crate::common::ok;

const KEY: GeneKey = GeneKey {
    code: FailureCode::RateLimited,
    category: Category::Throttle,
};

fn nats() -> String {
    std::env::var("HELIX_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

/// One run: the failure, a backoff with `wait_ms`, and its verdict (the
/// limit resets after 700 ms, so only waits of 750 ms and more work).
fn run(id: u64, wait_ms: u64) -> Vec<Event> {
    let mut failure = Failure::unknown(Some(Platform::Http));
    failure.code = KEY.code;
    failure.category = KEY.category;
    let verdict = if wait_ms >= 750 {
        EventKind::Verified {
            strategy: StrategyId::Backoff,
            ms: wait_ms + 20,
        }
    } else {
        EventKind::VerifyFailed {
            strategy: StrategyId::Backoff,
        }
    };
    [
        EventKind::Perceived {
            failure,
            service: None,
        },
        EventKind::Committing {
            strategy: StrategyId::Backoff,
            immune: true,
            params: json!({ "wait_ms": wait_ms }),
        },
        verdict,
    ]
    .into_iter()
    .enumerate()
    .map(|(seq, kind)| Event {
        repair_id: id,
        seq: seq as u32,
        at: helix_core::gene::now_ms(),
        kind,
    })
    .collect()
}

fn evolve(db: &std::path::Path, stream: &str, extra: &[&str]) -> Value {
    let out = ok(Command::new(env!("CARGO_BIN_EXE_helix"))
        .args(["evolve", "--json", "--db"])
        .arg(db)
        .args(["--nats", &nats(), "--stream", stream, "--prefix", stream])
        .args(["--durable", "worker", "--idle-secs", "2", "--every", "10"])
        .args(extra));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_retunes_a_gene_from_published_repairs_within_its_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("genes.db");
    let map = Arc::new(SqliteGeneStore::open(&db).unwrap());
    map.record(&Outcome {
        params: json!({ "wait_ms": 1_000 }),
        ms: 1_020,
        ..Outcome::new(KEY, StrategyId::Backoff, Platform::Http, true)
    })
    .await
    .unwrap();

    // The events, through the publisher agents use, on a stream of this
    // test's own.
    let stream = format!("evolvetest{:016x}", rand::random::<u64>());
    let mut cfg = NatsConfig::new(&nats(), dir.path().join("buffer.jsonl"));
    cfg.stream = stream.clone();
    cfg.prefix = stream.clone();
    let publisher = NatsPublisher::start(cfg);
    let waits = [100, 250, 500, 750, 1_000, 1_500, 2_000, 4_000];
    for i in 0..80u64 {
        for e in run(i + 1, waits[(i % 8) as usize]) {
            publisher.emit(&e);
        }
    }
    publisher.flush().await;
    assert_eq!(publisher.published(), 240);

    let first = evolve(&db, &stream, &["--max-wait-ms", "1500"]);
    assert_eq!(first["events"], 240, "{first}");
    // 4,000 and 2,000 are past the bound: not learned from.
    assert_eq!(first["trials"], 60, "{first}");
    let retuned = first["retuned"].as_array().unwrap();
    assert!(!retuned.is_empty(), "{first}");
    for r in retuned {
        assert!(r["to"].as_u64().unwrap() <= 1_500, "{r}");
    }
    let versions = map.versions(KEY, StrategyId::Backoff).await.unwrap();
    assert_eq!(versions.len(), retuned.len());
    let last = versions.last().unwrap();
    assert_eq!(last.evidence["optimiser"], helix_evolve::evolver::OPTIMISER);
    // Written at a due point (every 10 trials) where the draw differed.
    let seen = last.evidence["trials"].as_u64().unwrap();
    assert!(seen % 10 == 0 && (10..=60).contains(&seen), "{seen}");
    assert_eq!(last.evidence["best"], 750, "{}", last.evidence);
    let gene = map.lookup(KEY).await.unwrap().unwrap();
    assert_eq!(gene.params, last.params);

    // Restarted: nothing new in the stream, the bandit resumed.
    let again = evolve(&db, &stream, &["--max-wait-ms", "1500"]);
    assert_eq!(
        (again["events"].as_u64(), again["resumed"].as_u64()),
        (Some(0), Some(1)),
        "{again}"
    );
    // The stream was this test's alone.
    let js = async_nats::jetstream::new(async_nats::connect(nats()).await.unwrap());
    js.delete_stream(&stream).await.unwrap();
}
