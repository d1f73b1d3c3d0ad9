//! `helix predict` over an event log: a failure that came back at the same
//! hour in each of the last four weeks is a window; one loud outage is not;
//! a bad argument is a clear error.

use std::process::Command;

use helix_core::{
    Category, Event, EventKind, EventSink, Evidence, Facts, Failure, FailureCode, Platform,
    Severity,
};
use helix_genemap::SqliteEventLog;
use serde_json::Value;

use crate::common::ok;

fn perceived(at_hour: i64, n: u64, code: FailureCode, category: Category) -> Event {
    Event {
        repair_id: rand::random::<u64>() >> 1,
        seq: 0,
        at: at_hour * 3_600_000 + (n as i64 % 60) * 1_000,
        kind: EventKind::Perceived {
            failure: Failure {
                code,
                category,
                severity: Severity::Medium,
                platform: Platform::Tempo,
                evidence: Evidence::Message,
                facts: Facts::default(),
            },
            // Logged before services were: counted under the platform.
            service: None,
        },
    }
}

#[test]
fn a_failure_back_at_the_same_hour_every_week_is_a_window() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("genes.db");
    let log = SqliteEventLog::open(&db).unwrap();
    let now_hour = helix_core::gene::now_ms() / 3_600_000;
    let balance = (FailureCode::PaymentInsufficient, Category::Balance);
    // A background of one failure every other hour for four weeks.
    for h in (now_hour - 4 * 168 + 1..=now_hour).step_by(2) {
        log.emit(&perceived(h, 0, balance.0, balance.1));
    }
    // Thirty failures at the same hour, 1 to 4 weeks ago (the hour 100 hours
    // before now, minus whole weeks).
    let slot = now_hour - 100;
    for week in 0..4 {
        for n in 0..30 {
            log.emit(&perceived(slot - week * 168, n, balance.0, balance.1));
        }
    }
    // One outage, sixty failures, once.
    for n in 0..60 {
        log.emit(&perceived(now_hour - 300, n, balance.0, balance.1));
    }
    drop(log);

    let out = ok(Command::new(env!("CARGO_BIN_EXE_helix"))
        .args(["predict", "--json", "--db"])
        .arg(&db));
    let windows: Value = serde_json::from_slice(&out.stdout).unwrap();
    let windows = windows.as_array().unwrap();
    assert_eq!(windows.len(), 1, "{windows:?}");
    let w = &windows[0];
    assert_eq!(w["key"]["code"], "payment-insufficient/balance");
    assert_eq!(w["key"]["service"], "tempo");
    assert_eq!(
        w["hour_of_week"].as_i64().unwrap(),
        (slot + 72).rem_euclid(168)
    );
    assert_eq!(w["weeks_elevated"], 4);

    let text = Command::new(env!("CARGO_BIN_EXE_helix"))
        .args(["predict", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("UTC") && text.contains("payment-insufficient/balance"),
        "{text}"
    );

    let bad = Command::new(env!("CARGO_BIN_EXE_helix"))
        .args(["predict", "--weeks", "0", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--weeks"));

    // The agent's own command reads the same windows before it pays.
    let pay = Command::new(env!("CARGO_BIN_EXE_helix"))
        .args([
            "pay",
            "http://127.0.0.1:9/paid",
            "--rpc",
            "http://127.0.0.1:9",
        ])
        .args([
            "--key-file",
            "/nonexistent",
            "--forecast-weeks",
            "0",
            "--db",
        ])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(pay.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&pay.stderr).contains("--forecast-weeks"),
        "{}",
        String::from_utf8_lossy(&pay.stderr)
    );
}

/// In PostgreSQL the counts land in `failure_hours`, a partition per UTC
/// month, created as the months are written.
#[test]
fn the_counts_are_kept_in_monthly_partitions_in_postgres() {
    let base = std::env::var("HELIX_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let schema = format!("helix_predict_{}", std::process::id());
    let url = format!("{base}?options=-c%20search_path%3D{schema}");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let now_hour = helix_core::gene::now_ms() / 3_600_000;
    // Two failures an hour apart five weeks ago would fall outside the
    // window; these are 1 and 20 days old, so they may span two months.
    let hours = [now_hour - 24, now_hour - 20 * 24];
    rt.block_on(async {
        let (c, conn) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
            .await
            .expect("PostgreSQL (scripts/services.sh starts it)");
        tokio::spawn(conn);
        c.batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .await
        .unwrap();
        let log = helix_genemap::PostgresEventLog::connect(&url)
            .await
            .unwrap();
        for h in hours {
            for n in 0..3 {
                log.emit(&perceived(
                    h,
                    n,
                    FailureCode::RateLimited,
                    Category::Throttle,
                ));
            }
        }
        log.flush().await;
    });
    ok(Command::new(env!("CARGO_BIN_EXE_helix")).args(["predict", "--json", "--db", &url]));
    rt.block_on(async {
        let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        let parts: Vec<String> = c
            .query(
                "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
                 WHERE i.inhparent = 'failure_hours'::regclass ORDER BY 1",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        let want: std::collections::BTreeSet<String> = hours
            .iter()
            .map(|h| helix_genemap::failure_hours::month_of(*h).0)
            .collect();
        assert_eq!(parts, want.into_iter().collect::<Vec<_>>());
        let rows = c
            .query(
                "SELECT hour, failures FROM failure_hours ORDER BY hour",
                &[],
            )
            .await
            .unwrap();
        let got: Vec<(i64, i64)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        assert_eq!(got, vec![(hours[1], 3), (hours[0], 3)]);
        c.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
            .await
            .unwrap();
    });
}
