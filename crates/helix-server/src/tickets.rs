//! Repairs committed for callers, waiting for their outcome reports.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use helix_core::Ticket;

/// More waiting repairs than this and the oldest is forgotten (its gene
/// then learns nothing from it).
const MAX_WAITING: usize = 10_000;

pub(crate) struct Tickets {
    ttl: Duration,
    waiting: Mutex<HashMap<u64, (Ticket, Instant)>>,
}

impl Tickets {
    pub fn new(ttl: Duration) -> Self {
        Tickets {
            ttl,
            waiting: Mutex::new(HashMap::new()),
        }
    }

    pub fn put(&self, t: Ticket) {
        let mut w = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        // Expired tickets are refused by `take` anyway; sweep them only
        // when the table is full, not on every repair.
        if w.len() >= MAX_WAITING {
            let ttl = self.ttl;
            w.retain(|_, (_, at)| at.elapsed() < ttl);
        }
        if w.len() >= MAX_WAITING
            && let Some(oldest) = w.iter().min_by_key(|(_, (_, at))| *at).map(|(k, _)| *k)
        {
            tracing::warn!(target: "helix::server", repair_id = oldest, "forgetting the oldest repair awaiting an outcome");
            w.remove(&oldest);
        }
        w.insert(t.repair_id(), (t, Instant::now()));
    }

    /// The ticket, once: a second report for the same repair finds nothing.
    pub fn take(&self, repair_id: u64) -> Option<Ticket> {
        let mut w = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        let (t, at) = w.remove(&repair_id)?;
        (at.elapsed() < self.ttl).then_some(t)
    }
}
