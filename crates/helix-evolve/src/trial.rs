//! A trial: one repair with a tunable parameter, and how it ended. Read
//! from the engine's events of each run (`repair_id`): the failure's key
//! (`perceived`, a gene hit, a forecast), the parameters a repair was
//! committed with (`committing`), then `verified` (its time) or
//! `verify_failed` / `commit_failed`.

use std::collections::{HashMap, VecDeque};

use helix_core::{Event, EventKind, GeneKey, StrategyId};

use crate::knobs::{Knob, knob};

/// One repair with a tunable parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Trial {
    /// The failure.
    pub key: GeneKey,
    /// The repair.
    pub strategy: StrategyId,
    /// The parameter's value it ran with.
    pub value: u64,
    /// The retried call succeeded.
    pub success: bool,
    /// Repair time (commit plus retried call), ms; 0 when it failed.
    pub ms: u64,
}

impl Trial {
    /// Its reward in [0, 1]: 0 for a failure, exp(-ms / scale) for a
    /// success, so a fast success is worth more than a slow one and a
    /// failed try (which costs a further repair) nothing.
    pub fn reward(&self, k: &Knob) -> f64 {
        if self.success {
            (-(self.ms as f64) / k.scale_ms).exp()
        } else {
            0.0
        }
    }
}

#[derive(Debug, Default)]
struct Run {
    key: Option<GeneKey>,
    pending: Option<(StrategyId, u64)>,
}

/// Runs being read; bounded, the oldest forgotten first (a run whose end
/// never arrives must not hold memory for ever).
#[derive(Debug)]
pub struct Pairing {
    runs: HashMap<u64, Run>,
    order: VecDeque<u64>,
    max_runs: usize,
}

impl Default for Pairing {
    fn default() -> Self {
        Pairing {
            runs: HashMap::new(),
            order: VecDeque::new(),
            max_runs: 10_000,
        }
    }
}

impl Pairing {
    /// Runs held now.
    pub fn open(&self) -> usize {
        self.runs.len()
    }

    fn run(&mut self, id: u64) -> &mut Run {
        if !self.runs.contains_key(&id) {
            // Ended runs leave their ids behind in `order`: skip those when
            // evicting, and drop them once they outnumber the live ones.
            while self.runs.len() >= self.max_runs {
                match self.order.pop_front() {
                    Some(old) => {
                        self.runs.remove(&old);
                    }
                    None => break,
                }
            }
            if self.order.len() >= 2 * self.max_runs {
                let runs = &self.runs;
                self.order.retain(|i| runs.contains_key(i));
            }
            self.order.push_back(id);
        }
        self.runs.entry(id).or_default()
    }

    /// Reads one event; the trial it completes, if any.
    pub fn observe(&mut self, e: &Event) -> Option<Trial> {
        let id = e.repair_id;
        match &e.kind {
            EventKind::Perceived { failure, .. } => {
                self.run(id).key = Some(failure.key());
                None
            }
            EventKind::GeneHit { gene } => {
                self.run(id).key = Some(gene.key);
                None
            }
            EventKind::Predicted { key } => {
                self.run(id).key = Some(*key);
                None
            }
            EventKind::Committing {
                strategy, params, ..
            } => {
                let run = self.run(id);
                // A repair whose parameters do not name the value ran with
                // its executor's own default, which differs by deployment
                // (the lab's backoff waits 250 ms, an agent's 500): not a
                // trial of any value.
                run.pending = knob(*strategy).and_then(|k| {
                    let v = params.get(k.param).and_then(serde_json::Value::as_u64)?;
                    Some((*strategy, v))
                });
                None
            }
            EventKind::Verified { strategy, ms } => self.close(id, *strategy, true, *ms),
            EventKind::VerifyFailed { strategy } | EventKind::CommitFailed { strategy, .. } => {
                self.close(id, *strategy, false, 0)
            }
            EventKind::GaveUp { .. } => {
                self.runs.remove(&id);
                None
            }
            _ => None,
        }
    }

    fn close(&mut self, id: u64, strategy: StrategyId, success: bool, ms: u64) -> Option<Trial> {
        let run = self.runs.get_mut(&id)?;
        let (s, value) = run.pending.take()?;
        let key = run.key;
        // A verified repair ends the run, as giving up does; a failed one
        // may be followed by the next repair.
        if success {
            self.runs.remove(&id);
        }
        if s != strategy {
            return None;
        }
        Some(Trial {
            key: key?,
            strategy,
            value,
            success,
            ms: if success { ms } else { 0 },
        })
    }
}

#[cfg(test)]
mod tests {
    use helix_core::{Category, FailureCode};
    use serde_json::json;

    use super::*;

    const KEY: GeneKey = GeneKey {
        code: FailureCode::RateLimited,
        category: Category::Throttle,
    };

    fn ev(id: u64, seq: u32, kind: EventKind) -> Event {
        Event {
            repair_id: id,
            seq,
            at: 0,
            kind,
        }
    }

    #[test]
    fn a_run_gives_one_trial_per_tunable_repair_with_its_value_and_verdict() {
        let mut p = Pairing::default();
        let events = [
            ev(1, 0, EventKind::Predicted { key: KEY }),
            ev(
                1,
                1,
                EventKind::Committing {
                    strategy: StrategyId::Backoff,
                    immune: true,
                    params: json!({ "wait_ms": 250 }),
                },
            ),
            ev(
                1,
                2,
                EventKind::VerifyFailed {
                    strategy: StrategyId::Backoff,
                },
            ),
            ev(
                1,
                3,
                EventKind::Committing {
                    strategy: StrategyId::Backoff,
                    immune: false,
                    params: serde_json::Value::Null,
                },
            ),
            ev(
                1,
                4,
                EventKind::Verified {
                    strategy: StrategyId::Backoff,
                    ms: 1_020,
                },
            ),
        ];
        let trials: Vec<Trial> = events.iter().filter_map(|e| p.observe(e)).collect();
        assert_eq!(
            trials,
            [
                Trial {
                    key: KEY,
                    strategy: StrategyId::Backoff,
                    value: 250,
                    success: false,
                    ms: 0
                },
                // The second repair named no wait: not a trial.
            ]
        );
        let k = knob(StrategyId::Backoff).unwrap();
        assert_eq!(trials[0].reward(k), 0.0);
        let won = Trial {
            success: true,
            ms: 1_020,
            ..trials[0].clone()
        };
        assert!((won.reward(k) - (-1_020.0f64 / 2_000.0).exp()).abs() < 1e-12);
    }

    #[test]
    fn repairs_without_a_knob_and_runs_without_a_key_give_nothing() {
        let mut p = Pairing::default();
        let commit = |id, s| {
            ev(
                id,
                1,
                EventKind::Committing {
                    strategy: s,
                    immune: false,
                    params: serde_json::Value::Null,
                },
            )
        };
        assert!(
            p.observe(&ev(1, 0, EventKind::Predicted { key: KEY }))
                .is_none()
        );
        p.observe(&commit(1, StrategyId::SwitchFeeToken));
        let done = |id, s| ev(id, 2, EventKind::Verified { strategy: s, ms: 5 });
        assert!(p.observe(&done(1, StrategyId::SwitchFeeToken)).is_none());
        // Run 2 never said what failed.
        p.observe(&commit(2, StrategyId::Backoff));
        assert!(p.observe(&done(2, StrategyId::Backoff)).is_none());
    }

    #[test]
    fn held_runs_are_bounded() {
        let mut p = Pairing {
            max_runs: 3,
            ..Pairing::default()
        };
        for id in 0..10 {
            p.observe(&ev(id, 0, EventKind::Predicted { key: KEY }));
        }
        assert_eq!(p.open(), 3);
        // Runs that end (verified) free their place, and their ids do not
        // pile up in the eviction order.
        for id in 100..1_000 {
            p.observe(&ev(id, 0, EventKind::Predicted { key: KEY }));
            p.observe(&ev(
                id,
                1,
                EventKind::Committing {
                    strategy: StrategyId::Backoff,
                    immune: true,
                    params: json!({ "wait_ms": 500 }),
                },
            ));
            let t = p.observe(&ev(
                id,
                2,
                EventKind::Verified {
                    strategy: StrategyId::Backoff,
                    ms: 510,
                },
            ));
            assert!(t.is_some());
        }
        assert!(p.open() <= 3, "{}", p.open());
        assert!(p.order.len() <= 6, "{}", p.order.len());
    }
}
