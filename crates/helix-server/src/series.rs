//! The dashboard's charts, computed from the event log over a window:
//! repairs per bucket by result, the immune hit ratio, run latency p50/p99
//! and per-stage p99, repair spending (cumulative) against the budget, and
//! the results per failure over the whole window.

use std::collections::{BTreeMap, HashMap};

use helix_core::{Event, EventKind};

use crate::metrics::{FailureStats, stage_name};
use serde::Serialize;

/// A window and its bucket width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// The last hour, by minute.
    Hour,
    /// The last day, by 15 minutes.
    Day,
    /// The last 30 days, by day.
    Month,
}

impl Span {
    /// From `hour`, `day` or `month`.
    pub fn parse(s: &str) -> Option<Span> {
        match s {
            "hour" => Some(Span::Hour),
            "day" => Some(Span::Day),
            "month" => Some(Span::Month),
            _ => None,
        }
    }

    /// (bucket width, buckets), ms.
    pub fn shape(self) -> (i64, usize) {
        match self {
            Span::Hour => (60_000, 60),
            Span::Day => (900_000, 96),
            Span::Month => (86_400_000, 30),
        }
    }
}

/// Per bucket, oldest first; `null` where a bucket has nothing to say.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Series {
    /// Bucket starts, unix seconds (what uPlot's time axis takes).
    pub t: Vec<i64>,
    /// Runs that ended verified.
    pub verified: Vec<u64>,
    /// Runs whose retried call failed again.
    pub verify_failed: Vec<u64>,
    /// Runs that gave up (no repair, or none allowed).
    pub gave_up: Vec<u64>,
    /// Failures nothing recognised.
    pub unrecognised: Vec<u64>,
    /// Gene hits over perceived failures.
    pub immune_ratio: Vec<Option<f64>>,
    /// Run duration (first to last event) p50, ms.
    pub latency_p50_ms: Vec<Option<f64>>,
    /// Run duration p99, ms.
    pub latency_p99_ms: Vec<Option<f64>>,
    /// Per stage, the time spent reaching it (from the previous event), p99, ms.
    pub stage_p99_ms: BTreeMap<String, Vec<Option<f64>>>,
    /// Repair spending since the window began, micro-USD (cumulative).
    pub spent_micro_usd: Vec<u64>,
    /// Per failure (`code/category`), over the whole window: times
    /// perceived, and how its runs ended there.
    pub by_failure: Vec<FailureStats>,
    /// Events read.
    pub events: usize,
}

fn quantile(v: &mut [f64], q: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let i = ((v.len() - 1) as f64 * q).round() as usize;
    Some(v[i])
}

/// The series of `events` (any order) for the `span` ending at `now_ms`.
pub fn compute(events: &[Event], span: Span, now_ms: i64) -> Series {
    let (width, n) = span.shape();
    let end = now_ms - now_ms.rem_euclid(width) + width;
    let start = end - width * n as i64;
    let bucket = |at: i64| -> Option<usize> {
        (at >= start && at < end).then(|| ((at - start) / width) as usize)
    };
    let mut s = Series {
        t: (0..n).map(|i| (start + width * i as i64) / 1000).collect(),
        verified: vec![0; n],
        verify_failed: vec![0; n],
        gave_up: vec![0; n],
        unrecognised: vec![0; n],
        spent_micro_usd: vec![0; n],
        events: events.len(),
        ..Series::default()
    };
    let mut perceived = vec![0u64; n];
    let mut hits = vec![0u64; n];
    let mut spent = vec![0u64; n];
    // Per run: first and last event time, in order of seq.
    let mut runs: HashMap<u64, Vec<&Event>> = HashMap::new();
    for e in events {
        runs.entry(e.repair_id).or_default().push(e);
    }
    let mut durations: Vec<Vec<f64>> = vec![Vec::new(); n];
    let mut stages: BTreeMap<&'static str, Vec<Vec<f64>>> = BTreeMap::new();
    let mut failures: BTreeMap<helix_core::GeneKey, FailureStats> = BTreeMap::new();
    for run in runs.values_mut() {
        run.sort_by_key(|e| e.seq);
        let (Some(first), Some(last)) = (run.first(), run.last()) else {
            continue;
        };
        let ended = run.iter().any(|e| {
            matches!(
                e.kind,
                EventKind::Verified { .. }
                    | EventKind::VerifyFailed { .. }
                    | EventKind::GaveUp { .. }
            )
        });
        if ended && let Some(b) = bucket(last.at) {
            durations[b].push((last.at - first.at) as f64);
        }
        for pair in run.windows(2) {
            if let Some(b) = bucket(pair[1].at) {
                let name = stage_name(pair[1].kind.stage());
                stages.entry(name).or_insert_with(|| vec![Vec::new(); n])[b]
                    .push((pair[1].at - pair[0].at) as f64);
            }
        }
        // The run's failure, even when it was perceived before the window.
        let key = run.iter().find_map(|e| match &e.kind {
            EventKind::Perceived { failure, .. } => Some(failure.key()),
            _ => None,
        });
        for e in run.iter() {
            let Some(b) = bucket(e.at) else { continue };
            let counter: Option<fn(&mut FailureStats) -> &mut u64> = match &e.kind {
                EventKind::Perceived { .. } => Some(|f| &mut f.seen),
                EventKind::Verified { .. } => Some(|f| &mut f.verified),
                EventKind::VerifyFailed { .. } => Some(|f| &mut f.verify_failed),
                EventKind::GaveUp { .. } => Some(|f| &mut f.gave_up),
                EventKind::GeneHit { .. } => Some(|f| &mut f.immune),
                _ => None,
            };
            if let (Some(k), Some(counter)) = (key, counter) {
                let f = failures.entry(k).or_insert_with(|| FailureStats {
                    key: k.to_string(),
                    ..FailureStats::default()
                });
                *counter(f) += 1;
            }
            match &e.kind {
                EventKind::Verified { .. } => s.verified[b] += 1,
                EventKind::VerifyFailed { .. } => s.verify_failed[b] += 1,
                EventKind::GaveUp { .. } => s.gave_up[b] += 1,
                EventKind::Unrecognised { .. } => s.unrecognised[b] += 1,
                EventKind::Perceived { .. } => perceived[b] += 1,
                EventKind::GeneHit { .. } => hits[b] += 1,
                EventKind::Committed { cost, .. } => spent[b] += cost,
                _ => {}
            }
        }
    }
    s.immune_ratio = (0..n)
        .map(|b| (perceived[b] > 0).then(|| hits[b] as f64 / perceived[b] as f64))
        .collect();
    s.latency_p50_ms = durations.iter_mut().map(|d| quantile(d, 0.5)).collect();
    s.latency_p99_ms = durations.iter_mut().map(|d| quantile(d, 0.99)).collect();
    s.stage_p99_ms = stages
        .into_iter()
        .map(|(k, mut v)| {
            (
                k.to_owned(),
                v.iter_mut().map(|d| quantile(d, 0.99)).collect(),
            )
        })
        .collect();
    s.by_failure = failures.into_values().collect();
    let mut acc = 0;
    for (b, v) in spent.iter().enumerate() {
        acc += v;
        s.spent_micro_usd[b] = acc;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use helix_core::{GaveUp, StrategyId};

    fn ev(repair_id: u64, seq: u32, at: i64, kind: EventKind) -> Event {
        Event {
            repair_id,
            seq,
            at,
            kind,
        }
    }

    #[test]
    fn runs_land_in_their_buckets_with_their_results() {
        let now = 10 * 60_000 + 30_000;
        let events = vec![
            ev(
                1,
                0,
                9 * 60_000,
                EventKind::CallFailed {
                    attempt: 1,
                    status: None,
                    message: "x".into(),
                },
            ),
            ev(
                1,
                1,
                9 * 60_000 + 200,
                EventKind::Committed {
                    strategy: StrategyId::Backoff,
                    patches: vec![],
                    ms: 5,
                    cost: 1_500,
                    tx_hashes: vec![],
                },
            ),
            ev(
                1,
                2,
                9 * 60_000 + 400,
                EventKind::Verified {
                    strategy: StrategyId::Backoff,
                    ms: 7,
                },
            ),
            ev(
                2,
                0,
                10 * 60_000,
                EventKind::CallFailed {
                    attempt: 1,
                    status: None,
                    message: "y".into(),
                },
            ),
            ev(
                2,
                1,
                10 * 60_000 + 100,
                EventKind::gave_up(GaveUp::Unrecognised),
            ),
            // Before the window: not counted.
            ev(
                3,
                0,
                -3_600_000,
                EventKind::Verified {
                    strategy: StrategyId::Backoff,
                    ms: 1,
                },
            ),
        ];
        let s = compute(&events, Span::Hour, now);
        assert_eq!(s.t.len(), 60);
        assert!(s.by_failure.is_empty(), "no run was perceived");
        let last = 59;
        assert_eq!(s.verified[last - 1], 1);
        assert_eq!(s.gave_up[last], 1);
        assert_eq!(s.verified.iter().sum::<u64>(), 1, "the old run is outside");
        assert_eq!(s.latency_p50_ms[last - 1], Some(400.0));
        assert_eq!(s.spent_micro_usd[last], 1_500, "cumulative");
        assert_eq!(s.spent_micro_usd[last - 2], 0);
        assert!(s.stage_p99_ms.contains_key("commit"));
        assert_eq!(s.immune_ratio[last], None, "nothing perceived there");
    }

    #[test]
    fn results_per_failure_count_what_happened_in_the_window() {
        use helix_core::{Category, FailureCode, Gene, GeneKey, Outcome, Platform};
        let now = 10 * 60_000 + 30_000;
        let key = GeneKey {
            code: FailureCode::RateLimited,
            category: Category::Throttle,
        };
        let perceived = || EventKind::Perceived {
            failure: helix_core::Failure {
                code: key.code,
                category: key.category,
                ..helix_core::Failure::unknown(Some(Platform::Http))
            },
            service: None,
        };
        let hit = EventKind::GeneHit {
            gene: Gene::new(&Outcome::new(
                key,
                StrategyId::Backoff,
                Platform::Http,
                true,
            )),
        };
        let verified = || EventKind::Verified {
            strategy: StrategyId::Backoff,
            ms: 1,
        };
        let events = vec![
            // Perceived an hour ago, verified in the window: the result
            // counts for its failure, the sighting does not.
            ev(1, 0, now - 3_700_000, perceived()),
            ev(1, 1, 9 * 60_000, verified()),
            ev(2, 0, 9 * 60_000, perceived()),
            ev(2, 1, 9 * 60_000 + 10, hit),
            ev(2, 2, 9 * 60_000 + 20, verified()),
            ev(3, 0, 10 * 60_000, perceived()),
            ev(
                3,
                1,
                10 * 60_000 + 5,
                EventKind::gave_up(GaveUp::Unrecognised),
            ),
            // Wholly before the window.
            ev(4, 0, now - 7_200_000, perceived()),
            ev(4, 1, now - 7_200_000 + 5, verified()),
        ];
        let s = compute(&events, Span::Hour, now);
        assert_eq!(
            s.by_failure,
            vec![FailureStats {
                key: "rate-limited/throttle".into(),
                seen: 2,
                verified: 2,
                verify_failed: 0,
                gave_up: 1,
                immune: 1,
            }]
        );
    }
}
