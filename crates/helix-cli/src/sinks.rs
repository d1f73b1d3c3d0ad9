//! Where a command's events go besides the terminal: the append-only event
//! log in the Gene Map's database, and NATS JetStream when configured.

use std::sync::Arc;

use helix_core::EventSink;
use helix_genemap::{NatsConfig, NatsPublisher, PostgresEventLog, SqliteEventLog};

use crate::store::Store;

/// The durable sinks of one command; flush them before exiting.
pub struct Sinks {
    /// Every sink, tracing first.
    pub all: Vec<Arc<dyn EventSink>>,
    pg_log: Option<Arc<PostgresEventLog>>,
    sqlite_log: Option<Arc<SqliteEventLog>>,
    nats: Option<Arc<NatsPublisher>>,
}

/// The event log read back for `helix serve`'s `/v1/history`.
enum Logged {
    Sqlite(Arc<SqliteEventLog>),
    Postgres(Arc<PostgresEventLog>),
}

#[async_trait::async_trait]
impl helix_server::History for Logged {
    async fn page(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> Result<helix_server::HistoryPage, String> {
        let page = match self {
            Logged::Sqlite(l) => {
                let l = l.clone();
                tokio::task::spawn_blocking(move || l.page(before, limit))
                    .await
                    .map_err(|e| e.to_string())?
            }
            Logged::Postgres(l) => l.page(before, limit).await,
        }
        .map_err(|e| e.to_string())?;
        for e in &page.bad {
            tracing::warn!(target: "helix::server", %e, "an unreadable event was skipped");
        }
        Ok(helix_server::HistoryPage {
            events: page.events,
            next: page.next,
            unreadable: page.bad.len(),
        })
    }
}

impl Sinks {
    /// The log in `opened`'s database (SQLite file or PostgreSQL), and
    /// NATS (`[events] nats`, HELIX_NATS_URL) buffered on disk beside the
    /// Gene Map while it is down.
    pub async fn open(
        opened: &Store,
        db: &str,
        settings: &crate::config::Config,
    ) -> Result<Sinks, String> {
        let mut all: Vec<Arc<dyn EventSink>> = vec![Arc::new(helix_core::TracingSink)];
        let mut pg_log = None;
        let mut sqlite_log = None;
        match opened {
            Store::Sqlite(s) => {
                let l = Arc::new(SqliteEventLog::open(s.path()).map_err(|e| e.to_string())?);
                all.push(l.clone());
                sqlite_log = Some(l);
            }
            _ => match PostgresEventLog::connect(db).await {
                Ok(l) => {
                    let l = Arc::new(l);
                    all.push(l.clone());
                    pg_log = Some(l);
                }
                Err(e) => eprintln!("helix: events are not logged: {e}"),
            },
        }
        let nats = settings.nats().map(|url| {
            let buffer = match opened {
                Store::Sqlite(s) => s.path().with_extension("events.jsonl"),
                _ => std::path::PathBuf::from("helix-events.jsonl"),
            };
            Arc::new(NatsPublisher::start(NatsConfig::new(url, buffer)))
        });
        if let Some(n) = &nats {
            all.push(n.clone());
        }
        Ok(Sinks {
            all,
            pg_log,
            sqlite_log,
            nats,
        })
    }

    /// The event log, to read back (what `/v1/history` serves).
    pub fn history(&self) -> Option<Arc<dyn helix_server::History>> {
        match (&self.sqlite_log, &self.pg_log) {
            (Some(l), _) => Some(Arc::new(Logged::Sqlite(l.clone()))),
            (None, Some(l)) => Some(Arc::new(Logged::Postgres(l.clone()))),
            _ => None,
        }
    }

    /// Waits for queued events to be written and says what reached NATS.
    pub async fn flush(&self) {
        if let Some(n) = &self.nats {
            n.flush().await;
            eprintln!(
                "helix: {} event(s) published to NATS, {} buffered on disk",
                n.published(),
                n.buffered()
            );
        }
        if let Some(l) = &self.pg_log {
            l.flush().await;
            if l.dropped() > 0 {
                eprintln!(
                    "helix: {} event(s) dropped from the log (queue full)",
                    l.dropped()
                );
            }
        }
    }
}
