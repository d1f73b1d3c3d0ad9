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
    nats: Option<Arc<NatsPublisher>>,
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
        match opened {
            Store::Sqlite(s) => all.push(Arc::new(
                SqliteEventLog::open(s.path()).map_err(|e| e.to_string())?,
            )),
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
        Ok(Sinks { all, pg_log, nats })
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
