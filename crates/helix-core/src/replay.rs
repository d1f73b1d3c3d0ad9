//! Deterministic replay: a logged repair's decisions re-derived from its
//! logged inputs. For each failure of the run the log holds the signal
//! Perceive saw (after the probes), the gene the lookup returned, and what
//! was constructed and ranked. Replay classifies the signal again with the
//! given adapters, constructs again, ranks again against the logged gene,
//! and reports the first place each decision differs, or that none does.
//! Nothing is executed and no store is read. A diagnosis (an LLM's answer)
//! is an input like the signal: the logged one is used, never asked again.

use std::sync::Arc;

use crate::evaluate::{construct, rank};
use crate::event::{Event, EventKind};
use crate::failure::Candidate;
use crate::gene::Gene;
use crate::taxonomy::StrategyId;
use crate::traits::Adapter;

/// Scores are equal when they differ by less than this.
const EPS: f64 = 1e-9;

/// What a replay found.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Replay {
    /// The repair replayed.
    pub repair_id: u64,
    /// Failures (observed signals) re-decided.
    pub decisions: usize,
    /// Where the replayed decisions differ from the log, in log order.
    pub differences: Vec<String>,
}

impl Replay {
    /// The same decisions resulted.
    pub fn same(&self) -> bool {
        self.differences.is_empty() && self.decisions > 0
    }
}

/// Replays the events of one repair (any order; sorted by `seq` here).
pub fn replay(adapters: &[Arc<dyn Adapter>], events: &[Event]) -> Replay {
    let mut events: Vec<&Event> = events.iter().collect();
    events.sort_by_key(|e| e.seq);
    let repair_id = events.first().map_or(0, |e| e.repair_id);
    let mut out = Replay {
        repair_id,
        decisions: 0,
        differences: Vec::new(),
    };
    let mut perceived = None;
    let mut gene: Option<Gene> = None;
    let mut candidates: Vec<Candidate> = Vec::new();
    let mut signal = None;
    let mut diagnosed: Vec<Candidate> = Vec::new();
    for e in events {
        let at = format!("seq {}", e.seq);
        match &e.kind {
            EventKind::Observed { signal: s } => {
                out.decisions += 1;
                perceived = crate::sent::perceive(adapters, s);
                signal = Some(s);
                gene = None;
                candidates.clear();
                diagnosed.clear();
            }
            EventKind::Diagnosed { diagnosis, .. } => match (&perceived, signal) {
                (Some(f), _) => out.differences.push(format!(
                    "{at}: perceive gives {}, the log has a diagnosis instead",
                    f.key()
                )),
                (None, Some(s)) => {
                    perceived = Some(diagnosis.failure(s));
                    diagnosed = diagnosis.candidates();
                }
                (None, None) => out.differences.push(format!(
                    "{at}: a diagnosis with no observed signal before it"
                )),
            },
            EventKind::Perceived { failure, .. } => match &perceived {
                Some(f) if f == failure => {}
                Some(f) => out.differences.push(format!(
                    "{at}: perceive gives {} ({:?} evidence), the log has {} ({:?})",
                    f.key(),
                    f.evidence,
                    failure.key(),
                    failure.evidence
                )),
                None => out.differences.push(format!(
                    "{at}: perceive recognises nothing, the log has {}",
                    failure.key()
                )),
            },
            EventKind::Unrecognised { .. } => {
                if let Some(f) = &perceived {
                    out.differences.push(format!(
                        "{at}: perceive gives {}, the log has unrecognised",
                        f.key()
                    ));
                }
            }
            EventKind::GeneHit { gene: g } => gene = Some(g.clone()),
            EventKind::GeneMiss { .. } => gene = None,
            EventKind::Constructed { candidates: logged } => {
                candidates = perceived
                    .as_ref()
                    .map(|f| construct(adapters, f, &diagnosed))
                    .unwrap_or_default();
                let now: Vec<StrategyId> = candidates.iter().map(|c| c.strategy).collect();
                if &now != logged {
                    out.differences.push(format!(
                        "{at}: construct gives {now:?}, the log has {logged:?}"
                    ));
                }
            }
            EventKind::Evaluated { ranked: logged } => {
                let now = rank(candidates.clone(), gene.as_ref());
                let same = now.len() == logged.len()
                    && now
                        .iter()
                        .zip(logged)
                        .all(|((c, s), (ls, lsc))| c.strategy == *ls && (s - lsc).abs() < EPS);
                if !same {
                    let now: Vec<(StrategyId, f64)> =
                        now.iter().map(|(c, s)| (c.strategy, *s)).collect();
                    out.differences.push(format!(
                        "{at}: evaluate gives {now:?}, the log has {logged:?}"
                    ));
                }
            }
            _ => {}
        }
    }
    out
}
