//! `helix events` (the event log of a Gene Map, SQLite or PostgreSQL) and
//! `helix replay` (re-derive a logged repair's decisions from its logged
//! inputs).

use std::process::ExitCode;
use std::sync::Arc;

use helix_core::{Adapter, Event, StoreError};
use helix_genemap::{LoggedRepair, PostgresEventLog, SqliteEventLog};

use crate::timeline;

/// The event log of a Gene Map: the SQLite file's or PostgreSQL's.
pub(crate) enum Log {
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

    /// Up to `limit` events older than `before`, newest first.
    pub(crate) fn page(
        &self,
        rt: &tokio::runtime::Runtime,
        before: Option<i64>,
        limit: u32,
    ) -> Result<helix_genemap::EventPage, String> {
        match self {
            Log::Sqlite(l) => l.page(before, limit),
            Log::Postgres(l) => rt.block_on(l.page(before, limit)),
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

pub(crate) fn open(db: &str) -> Result<(Log, tokio::runtime::Runtime), String> {
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

/// Which repairs `helix events` lists.
pub struct Filter {
    /// Started within this long (`2h`).
    pub since: Option<String>,
    /// Of this failure (`code` or `code/category`).
    pub failure: Option<String>,
    /// At most this many.
    pub limit: u32,
}

/// Repairs a filter reads through at most, newest first.
const SCAN: u32 = 5_000;

/// The most recent repairs, newest first: local time, failure, repair,
/// result and duration.
pub fn recent(db: &str, f: &Filter, json: bool) -> Result<ExitCode, String> {
    let since = f.since.as_deref().map(timeline::parse_since).transpose()?;
    let (log, rt) = open(db)?;
    let filtered = since.is_some() || f.failure.is_some();
    let repairs = log.repairs(&rt, if filtered { SCAN } else { f.limit })?;
    let now = helix_core::gene::now_ms();
    let mut lines = Vec::new();
    for r in repairs {
        if since.is_some_and(|s| r.started_at < now - s) {
            // Newest first: everything after this one is older still.
            break;
        }
        let (events, bad) = log.events(&rt, r.repair_id)?;
        for e in &bad {
            eprintln!("helix: repair {}: unreadable: {e}", r.repair_id);
        }
        let line = timeline::summarize(r.repair_id, &events);
        if f.failure
            .as_deref()
            .is_some_and(|want| !timeline::is_about(&line, want))
        {
            continue;
        }
        lines.push(line);
        if lines.len() >= f.limit as usize {
            break;
        }
    }
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&lines).map_err(|e| e.to_string())?
        );
    } else if lines.is_empty() {
        println!("no repairs logged in {db} match");
    } else {
        print!("{}", timeline::table(&lines));
    }
    Ok(ExitCode::SUCCESS)
}

/// The events of one repair, in order.
pub fn show(db: &str, id: u64, json: bool) -> Result<ExitCode, String> {
    let (log, rt) = open(db)?;
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
                "{:>3} {:<23} {:<9} {payload}",
                e.seq,
                timeline::local(e.at),
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
