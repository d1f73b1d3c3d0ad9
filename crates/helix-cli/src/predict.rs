//! `helix predict`: recurring failure windows in a Gene Map's event log, or
//! the engine scored on simulated months.
//!
//! The event log holds failures, not the calls that succeeded, so over a
//! real log every hour is taken to carry the same traffic (a stated
//! assumption: a busy hour's failures look like a window). The simulation
//! knows its calls.

use std::collections::BTreeMap;
use std::process::ExitCode;

use helix_genemap::failure_hours::{HourCount, PostgresFailureHours, put_sqlite};
use helix_predict::{Detector, Key, Window};

use crate::forecast;

/// Windows in the last `weeks` weeks of `db`'s event log.
pub fn from_log(db: &str, weeks: u32, json: bool) -> Result<ExitCode, String> {
    let (seen, rt) = forecast::read(db, weeks)?;
    let stored = store(db, &rt, seen.start, &seen.failures)?;
    let windows: Vec<Window> = seen.windows();
    let failures = &seen.failures;
    eprintln!("helix: {stored} service-hour(s) of failures written to failure_hours");
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&windows).map_err(|e| e.to_string())?
        );
    } else if windows.is_empty() {
        println!(
            "no recurring failure windows in the last {weeks} week(s) of {db} ({} kinds of failure seen)",
            failures.len()
        );
    } else {
        println!(
            "{:<16} {:<24} {:<34} {:>8} {:>10} {:>6}",
            "when", "service", "failure", "x normal", "p", "weeks"
        );
        for w in &windows {
            println!(
                "{:<16} {:<24} {:<34} {:>8.1} {:>10.1e} {:>3}/{}",
                w.label,
                w.key.service,
                w.key.code,
                w.rate / w.baseline,
                w.p_value,
                w.weeks_elevated,
                w.weeks
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes the hourly failure counts to the Gene Map's `failure_hours`
/// (PostgreSQL: a partition per month); answers how many rows.
fn store(
    db: &str,
    rt: &tokio::runtime::Runtime,
    start: i64,
    failures: &BTreeMap<Key, Vec<u64>>,
) -> Result<usize, String> {
    let rows: Vec<HourCount> = failures
        .iter()
        .flat_map(|(k, f)| {
            f.iter()
                .enumerate()
                .filter(|(_, n)| **n > 0)
                .map(|(i, n)| HourCount {
                    hour: start + i as i64,
                    service: k.service.clone(),
                    code: k.code.clone(),
                    calls: None,
                    failures: *n,
                })
        })
        .collect();
    if db.starts_with("postgres://") || db.starts_with("postgresql://") {
        rt.block_on(async { PostgresFailureHours::connect(db).await?.put(&rows).await })
    } else {
        put_sqlite(
            std::path::Path::new(db.strip_prefix("sqlite://").unwrap_or(db)),
            &rows,
        )
    }
    .map_err(|e| format!("failure_hours: {e}"))?;
    Ok(rows.len())
}

/// The engine on `seeds` simulated months (docs/PREDICT.md).
pub fn simulate(seeds: u64) -> Result<ExitCode, String> {
    if seeds == 0 {
        return Err("--seeds must be at least 1".into());
    }
    let d = Detector::default();
    let scores: Vec<_> = (1..=seeds)
        .map(|s| helix_predict::simulate::run(s, &d))
        .collect();
    let summary = helix_predict::simulate::summary(&scores);
    println!(
        "{}",
        serde_json::to_string_pretty(&summary).map_err(|e| e.to_string())?
    );
    Ok(ExitCode::SUCCESS)
}
