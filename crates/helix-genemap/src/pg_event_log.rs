//! The append-only event log in the shared PostgreSQL Gene Map (the same
//! `events` table and triggers as SQLite, from the one migration list).
//! `emit` is called on the repairing task and must not wait on the
//! network, so events go through a bounded queue to one writer task; when
//! the queue is full an event is dropped and counted, never the payment.
//! `flush` waits until everything queued is written.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use helix_core::{Event, EventSink, StoreError};
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::NoTls;

use crate::postgres::{CALL_TIMEOUT, CONNECT_TIMEOUT, migrate_client, redact, said};
use crate::row::decode_events;

/// Events waiting for the writer; beyond it, events are dropped and counted.
pub const QUEUE: usize = 4096;

enum Msg {
    Event(Box<Event>),
    Flush(oneshot::Sender<()>),
}

/// The event log of a PostgreSQL Gene Map.
pub struct PostgresEventLog {
    tx: mpsc::Sender<Msg>,
    dropped: Arc<AtomicU64>,
    reader: tokio_postgres::Client,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for PostgresEventLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresEventLog")
            .field("dropped", &self.dropped())
            .finish_non_exhaustive()
    }
}

impl Drop for PostgresEventLog {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn db(e: tokio_postgres::Error) -> StoreError {
    StoreError::Unavailable(said(&e))
}

async fn client(
    url: &str,
) -> Result<(tokio_postgres::Client, tokio::task::JoinHandle<()>), StoreError> {
    let (c, conn) = tokio::time::timeout(CONNECT_TIMEOUT, tokio_postgres::connect(url, NoTls))
        .await
        .map_err(|_| unavailable(format!("{}: no answer in {CONNECT_TIMEOUT:?}", redact(url))))?
        .map_err(|e| unavailable(format!("{}: {e}", redact(url))))?;
    let task = tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::warn!(target: "helix::genemap", %e, "event log connection closed");
        }
    });
    Ok((c, task))
}

impl PostgresEventLog {
    /// Connects (twice: a writer and a reader) and migrates.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let (mut writer, wconn) = client(url).await?;
        migrate_client(&mut writer).await?;
        let (reader, rconn) = client(url).await?;
        let (tx, mut rx) = mpsc::channel::<Msg>(QUEUE);
        let write = tokio::spawn(async move {
            while let Some(m) = rx.recv().await {
                match m {
                    // Bounded, so a database that stops answering costs each
                    // event a second and fills the queue (counted drops)
                    // rather than holding the writer for good.
                    Msg::Event(e) => {
                        match tokio::time::timeout(CALL_TIMEOUT, append(&writer, &e)).await {
                            Ok(Ok(())) => {}
                            Ok(Err(err)) => {
                                tracing::warn!(target: "helix::genemap", %err, repair_id = e.repair_id, "event not logged")
                            }
                            Err(_) => {
                                tracing::warn!(target: "helix::genemap", repair_id = e.repair_id, "event not logged: no answer")
                            }
                        }
                    }
                    Msg::Flush(done) => {
                        let _ = done.send(());
                    }
                }
            }
        });
        Ok(PostgresEventLog {
            tx,
            dropped: Arc::default(),
            reader,
            tasks: vec![write, wconn, rconn],
        })
    }

    /// Events dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Waits until every event emitted so far is written.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Msg::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }

    /// The most recent repairs, newest first.
    pub async fn repairs(&self, limit: u32) -> Result<Vec<crate::LoggedRepair>, StoreError> {
        let rows = self
            .reader
            .query(
                "SELECT repair_id, MIN(at), COUNT(*) FROM events GROUP BY repair_id \
                 ORDER BY MIN(id) DESC LIMIT $1",
                &[&i64::from(limit)],
            )
            .await
            .map_err(db)?;
        Ok(rows
            .iter()
            .map(|r| crate::LoggedRepair {
                repair_id: r.get::<_, i64>(0) as u64,
                started_at: r.get(1),
                events: u32::try_from(r.get::<_, i64>(2)).unwrap_or(u32::MAX),
            })
            .collect())
    }

    /// Up to `limit` events older than row `before` (the newest when
    /// `None`), newest first.
    pub async fn page(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> Result<crate::EventPage, StoreError> {
        let rows = self
            .reader
            .query(
                "SELECT id, payload FROM events WHERE id < $1 ORDER BY id DESC LIMIT $2",
                &[&before.unwrap_or(i64::MAX), &i64::from(limit)],
            )
            .await
            .map_err(db)?;
        let rows = id_payload(&rows)?;
        Ok(crate::row::page_of(rows, limit))
    }

    /// The events of one repair, in order, and the rows that do not decode.
    pub async fn events(
        &self,
        repair_id: u64,
    ) -> Result<(Vec<Event>, Vec<StoreError>), StoreError> {
        let rows = self
            .reader
            .query(
                "SELECT id, payload FROM events WHERE repair_id = $1 ORDER BY seq, id",
                &[&(repair_id as i64)],
            )
            .await
            .map_err(db)?;
        let rows = id_payload(&rows)?;
        Ok(decode_events(rows))
    }
}

/// `(id, payload)` of event rows.
fn id_payload(rows: &[tokio_postgres::Row]) -> Result<Vec<(i64, String)>, StoreError> {
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<_, tokio_postgres::Error>>()
        .map_err(db)
}

async fn append(c: &tokio_postgres::Client, e: &Event) -> Result<(), StoreError> {
    let payload = serde_json::to_string(e).map_err(unavailable)?;
    let kind = serde_json::to_value(&e.kind)
        .ok()
        .and_then(|v| v.get("event").and_then(|k| k.as_str()).map(str::to_owned))
        .unwrap_or_default();
    c.execute(
        "INSERT INTO events (repair_id, seq, at, stage, kind, payload) VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &(e.repair_id as i64),
            &(e.seq as i32),
            &e.at,
            &format!("{:?}", e.kind.stage()).to_lowercase(),
            &kind,
            &payload,
        ],
    )
    .await
    .map_err(db)?;
    Ok(())
}

impl EventSink for PostgresEventLog {
    fn emit(&self, event: &Event) {
        if self
            .tx
            .try_send(Msg::Event(Box::new(event.clone())))
            .is_err()
        {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::warn!(target: "helix::genemap", dropped = n, "event log queue full; event dropped");
        }
    }
}
