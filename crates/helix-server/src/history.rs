//! What happened before the dashboard was opened: the event log, read a
//! page at a time, newest first (`GET /v1/history`).

use async_trait::async_trait;
use helix_core::Event;
use serde::Serialize;

/// One page of the log.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HistoryPage {
    /// Newest first, in the shape `/v1/events` streams them.
    pub events: Vec<Event>,
    /// Pass as `before` for the next (older) page; absent at the start of
    /// the log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<i64>,
    /// Rows that could not be read (skipped).
    #[serde(skip_serializing_if = "is_zero")]
    pub unreadable: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Events of `log` at or after `since` (unix ms; all when `None`), newest
/// first, at most about `max` of them (whole pages).
pub(crate) async fn read_back(
    log: &dyn History,
    since: Option<i64>,
    max: usize,
) -> Result<Vec<Event>, String> {
    let since = since.unwrap_or(i64::MIN);
    let mut events = Vec::new();
    let mut before = None;
    loop {
        let page = log.page(before, 1_000).await?;
        let older = page.events.last().is_none_or(|e| e.at < since);
        events.extend(page.events.into_iter().filter(|e| e.at >= since));
        match page.next {
            Some(n) if !older && events.len() < max => before = Some(n),
            _ => return Ok(events),
        }
    }
}

/// An event log the server can read back (the Gene Map's, wired by
/// `helix serve`).
#[async_trait]
pub trait History: Send + Sync {
    /// Up to `limit` events older than `before` (the newest when `None`).
    async fn page(&self, before: Option<i64>, limit: u32) -> Result<HistoryPage, String>;
}
