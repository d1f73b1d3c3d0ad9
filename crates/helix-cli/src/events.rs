//! `helix events` (the event log of a Gene Map, SQLite or PostgreSQL) and
//! `helix replay` (re-derive a logged repair's decisions from its logged
//! inputs).

use std::process::ExitCode;
use std::sync::Arc;

use helix_core::{Adapter, Event, StoreError};
use helix_genemap::{LoggedRepair, PostgresEventLog, SqliteEventLog};

/// The event log of a Gene Map: the SQLite file's or PostgreSQL's.
enum Log {
    Sqlite(SqliteEventLog),
    Postgres(PostgresEventLog),
}

type Read = (Vec<Event>, Vec<StoreError>);

impl Log {
    fn events(&self, rt: &tokio::runtime::Runtime, id: u64) -> Result<Read, String> {
        match self {
            Log::Sqlite(l) => l.events(id),
            Log::Postgres(l) => rt.block_on(l.events(id)),
        }
        .map_err(|e| e.to_string())
    }

    fn repairs(&self, rt: &tokio::runtime::Runtime, n: u32) -> Result<Vec<LoggedRepair>, String> {
        match self {
            Log::Sqlite(l) => l.repairs(n),
            Log::Postgres(l) => rt.block_on(l.repairs(n)),
        }
        .map_err(|e| e.to_string())
    }
}

fn open(db: &str) -> Result<(Log, tokio::runtime::Runtime), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    if db.starts_with("postgres://") || db.starts_with("postgresql://") {
        let log = rt
            .block_on(PostgresEventLog::connect(db))
            .map_err(|e| e.to_string())?;
        return Ok((Log::Postgres(log), rt));
    }
    let path = db.strip_prefix("sqlite://").unwrap_or(db);
    if !std::path::Path::new(path).exists() {
        return Err(format!(
            "no Gene Map at {path} (run `helix-lab demo --db {path}` first)"
        ));
    }
    let log = SqliteEventLog::open(path).map_err(|e| e.to_string())?;
    Ok((Log::Sqlite(log), rt))
}

/// Prints the log of one repair, or the most recent repairs.
pub fn list(db: &str, repair: Option<u64>, json: bool) -> Result<ExitCode, String> {
    let (log, rt) = open(db)?;
    let Some(id) = repair else {
        let repairs = log.repairs(&rt, 50)?;
        if json {
            println!(
                "{}",
                serde_json::to_string_pretty(&repairs).map_err(|e| e.to_string())?
            );
        } else {
            println!("{:>20} {:>15} {:>6}", "repair", "started (ms)", "events");
            for r in repairs {
                println!("{:>20} {:>15} {:>6}", r.repair_id, r.started_at, r.events);
            }
        }
        return Ok(ExitCode::SUCCESS);
    };
    let (events, bad) = log.events(&rt, id)?;
    for e in &bad {
        eprintln!("helix: unreadable: {e}");
    }
    if events.is_empty() {
        return Err(format!("no events for repair {id} in {db}"));
    }
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&events).map_err(|e| e.to_string())?
        );
    } else {
        for e in &events {
            let payload = serde_json::to_string(&e.kind).unwrap_or_default();
            println!(
                "{:>3} {:>14} {:<9} {payload}",
                e.seq,
                e.at,
                format!("{:?}", e.kind.stage())
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Replays one repair with the built-in adapters; exit 1 when a decision
/// differs from the log.
pub fn replay(db: &str, id: u64, json: bool) -> Result<ExitCode, String> {
    let (log, rt) = open(db)?;
    let (events, bad) = log.events(&rt, id)?;
    if !bad.is_empty() {
        return Err(format!(
            "repair {id}: {} unreadable event(s); replay needs them all",
            bad.len()
        ));
    }
    if events.is_empty() {
        return Err(format!("no events for repair {id} in {db}"));
    }
    let adapters: Vec<Arc<dyn Adapter>> = vec![Arc::new(helix_platforms::builtin())];
    let r = helix_core::replay::replay(&adapters, &events);
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&r).map_err(|e| e.to_string())?
        );
    } else if r.same() {
        println!(
            "repair {id}: {} decision(s) replayed from the logged inputs; the same decisions result",
            r.decisions
        );
    } else if r.decisions == 0 {
        println!("repair {id}: the log holds no observed signal to replay");
    } else {
        println!("repair {id}: the replay differs from the log:");
        for d in &r.differences {
            println!("  {d}");
        }
    }
    Ok(if r.same() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
