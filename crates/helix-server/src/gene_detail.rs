//! One gene opened: its q-value and confidence over time (every time it
//! learned, from the event log), and the repairs it made with their
//! evidence (transactions).

use helix_core::{Event, EventKind, GeneKey, StrategyId};
use serde::Serialize;

/// The gene after one outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    /// Unix ms.
    pub at: i64,
    /// Its q-value then.
    pub q: f64,
    /// Its confidence then.
    pub confidence: f64,
    /// Successes so far.
    pub successes: u64,
    /// Failures so far.
    pub failures: u64,
}

/// A repair this gene's strategy made for its failure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Use {
    /// The run (`helix events --repair ID`).
    pub repair_id: u64,
    /// Unix ms of the commit.
    pub at: i64,
    /// Whether the retried call then succeeded (`None`: no outcome logged).
    pub verified: Option<bool>,
    /// Chosen by the gene (immunity) rather than found.
    pub immune: bool,
    /// Its transactions.
    pub tx_hashes: Vec<String>,
}

/// The gene's history in the log.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct History {
    /// Oldest first.
    pub learned: Vec<Point>,
    /// Newest first.
    pub uses: Vec<Use>,
}

/// Reads `events` (newest first, as the log pages them) for `key` and
/// `strategy`.
pub fn history(events: &[Event], key: GeneKey, strategy: StrategyId) -> History {
    let mut h = History::default();
    // Runs that perceived this failure.
    let runs: std::collections::HashSet<u64> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Perceived { failure, .. } if failure.key() == key => Some(e.repair_id),
            _ => None,
        })
        .collect();
    for e in events.iter().rev() {
        match &e.kind {
            EventKind::GeneRecorded { gene } if gene.key == key && gene.strategy == strategy => {
                h.learned.push(Point {
                    at: e.at,
                    q: gene.q,
                    confidence: gene.confidence,
                    successes: gene.successes,
                    failures: gene.failures,
                })
            }
            EventKind::Committed {
                strategy: s,
                tx_hashes,
                ..
            } if *s == strategy && runs.contains(&e.repair_id) => h.uses.push(Use {
                repair_id: e.repair_id,
                at: e.at,
                verified: None,
                immune: false,
                tx_hashes: tx_hashes.clone(),
            }),
            _ => {}
        }
    }
    for u in &mut h.uses {
        for e in events.iter().filter(|e| e.repair_id == u.repair_id) {
            match &e.kind {
                EventKind::Verified { strategy: s, .. } if *s == strategy => {
                    u.verified = Some(true)
                }
                EventKind::VerifyFailed { strategy: s } if *s == strategy => {
                    u.verified = Some(false)
                }
                EventKind::Committing {
                    strategy: s,
                    immune,
                    ..
                } if *s == strategy => u.immune = *immune,
                _ => {}
            }
        }
    }
    h.uses.reverse();
    h
}
