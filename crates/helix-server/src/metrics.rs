//! Counters and per-stage latency histograms, fed by the engine's events,
//! rendered as Prometheus text and as the dashboard's summary.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Instant;

use helix_core::{BudgetStatus, Event, EventKind, EventSink, GeneKey, Stage};
use serde::Serialize;

/// Upper bounds of the latency buckets, seconds.
const BUCKETS: [f64; 12] = [
    0.000_1, 0.000_5, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0,
];

/// Runs tracked at once for stage timing; past this the table is reset
/// (a few stage samples are lost, never memory).
const MAX_TRACKED: usize = 10_000;

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, secs: f64) {
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            self.counts[i] += 1;
        }
        self.count += 1;
        self.sum += secs;
    }
}

/// Results for one kind of failure (one gene key).
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct FailureStats {
    /// `code/category`.
    pub key: String,
    /// Times it was perceived.
    pub seen: u64,
    /// Repairs verified by the retried call.
    pub verified: u64,
    /// Repairs whose retried call failed.
    pub verify_failed: u64,
    /// Runs that ended without a repair.
    pub gave_up: u64,
    /// Gene hits.
    pub immune: u64,
}

#[derive(Debug, Default)]
struct State {
    failures: u64,
    verified: u64,
    verify_failed: u64,
    gave_up: u64,
    unrecognised: u64,
    immune_hits: u64,
    gene_misses: u64,
    diagnoses_asked: u64,
    diagnoses_remembered: u64,
    diagnoses_failed: u64,
    commits: u64,
    commit_failures: u64,
    demotions: u64,
    cost: u64,
    stages: BTreeMap<&'static str, Histogram>,
    last: HashMap<u64, Instant>,
    keys: HashMap<u64, GeneKey>,
    by_failure: BTreeMap<GeneKey, FailureStats>,
}

/// The server's counters; an [`EventSink`].
#[derive(Debug, Default)]
pub struct Metrics {
    state: Mutex<State>,
}

pub(crate) fn stage_name(s: Stage) -> &'static str {
    match s {
        Stage::Call => "call",
        Stage::Perceive => "perceive",
        Stage::Gene => "gene",
        Stage::Construct => "construct",
        Stage::Evaluate => "evaluate",
        Stage::Commit => "commit",
        Stage::Verify => "verify",
        Stage::Record => "record",
        Stage::End => "end",
    }
}

impl EventSink for Metrics {
    fn emit(&self, e: &Event) {
        let now = Instant::now();
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if s.last.len() >= MAX_TRACKED {
            s.last.clear();
            s.keys.clear();
        }
        // Time since the run's previous event is spent in this event's stage.
        if let Some(prev) = s.last.insert(e.repair_id, now) {
            let name = stage_name(e.kind.stage());
            s.stages
                .entry(name)
                .or_default()
                .observe((now - prev).as_secs_f64());
        }
        let key = s.keys.get(&e.repair_id).copied();
        let per_key = |s: &mut State, f: fn(&mut FailureStats)| {
            if let Some(k) = key {
                f(s.by_failure.entry(k).or_default());
            }
        };
        match &e.kind {
            EventKind::CallFailed { attempt: 1, .. } => s.failures += 1,
            EventKind::Perceived { failure, .. } => {
                let k = failure.key();
                s.keys.insert(e.repair_id, k);
                let st = s.by_failure.entry(k).or_default();
                st.key = k.to_string();
                st.seen += 1;
            }
            EventKind::Unrecognised { .. } => s.unrecognised += 1,
            EventKind::Diagnosed { remembered, .. } => {
                if *remembered {
                    s.diagnoses_remembered += 1
                } else {
                    s.diagnoses_asked += 1
                }
            }
            EventKind::DiagnoseFailed { .. } => s.diagnoses_failed += 1,
            EventKind::GeneHit { .. } => {
                s.immune_hits += 1;
                per_key(&mut s, |f| f.immune += 1);
            }
            EventKind::GeneMiss { .. } => s.gene_misses += 1,
            EventKind::Committed { cost, .. } => {
                s.commits += 1;
                s.cost = s.cost.saturating_add(*cost);
            }
            EventKind::CommitFailed { .. } => s.commit_failures += 1,
            // The record that took a gene to its source's failure limit.
            EventKind::GeneRecorded { gene }
                if gene.consecutive_failures == gene.source.demote_after() =>
            {
                s.demotions += 1
            }
            EventKind::Verified { .. } => {
                s.verified += 1;
                per_key(&mut s, |f| f.verified += 1);
            }
            EventKind::VerifyFailed { .. } => {
                s.verify_failed += 1;
                per_key(&mut s, |f| f.verify_failed += 1);
            }
            EventKind::GaveUp { .. } => {
                s.gave_up += 1;
                per_key(&mut s, |f| f.gave_up += 1);
            }
            _ => {}
        }
    }
}

/// The dashboard's numbers.
#[derive(Debug, Serialize)]
pub struct Summary {
    /// Calls that failed and entered the loop.
    pub failures: u64,
    /// Repairs verified.
    pub verified: u64,
    /// Repairs whose retry failed.
    pub verify_failed: u64,
    /// Runs ended without a repair.
    pub gave_up: u64,
    /// Failures nothing recognised.
    pub unrecognised: u64,
    /// Gene hits.
    pub immune_hits: u64,
    /// LLM diagnoses asked (not remembered).
    pub diagnoses_asked: u64,
    /// Money spent on repairs, micro-USD.
    pub repair_cost_micro_usd: u64,
    /// Per kind of failure.
    pub by_failure: Vec<FailureStats>,
    /// The budget, when one is configured.
    pub budget: Option<BudgetStatus>,
}

impl Metrics {
    /// Totals and results per failure.
    pub fn summary(&self, budget: Option<BudgetStatus>) -> Summary {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        Summary {
            failures: s.failures,
            verified: s.verified,
            verify_failed: s.verify_failed,
            gave_up: s.gave_up,
            unrecognised: s.unrecognised,
            immune_hits: s.immune_hits,
            diagnoses_asked: s.diagnoses_asked,
            repair_cost_micro_usd: s.cost,
            by_failure: s.by_failure.values().cloned().collect(),
            budget,
        }
    }

    /// Prometheus text exposition format 0.0.4.
    pub fn render(&self, budget: Option<&BudgetStatus>) -> String {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut o = String::new();
        let mut counter = |name: &str, help: &str, rows: &[(&str, u64)]| {
            let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} counter");
            for (labels, v) in rows {
                let _ = writeln!(o, "{name}{labels} {v}");
            }
        };
        counter(
            "helix_failures_total",
            "Calls that failed and entered the PCEC loop.",
            &[("", s.failures)],
        );
        counter(
            "helix_repairs_total",
            "Repair outcomes: verified by the retried call, retry failed, or no repair.",
            &[
                ("{result=\"verified\"}", s.verified),
                ("{result=\"verify_failed\"}", s.verify_failed),
                ("{result=\"gave_up\"}", s.gave_up),
            ],
        );
        counter(
            "helix_unrecognised_total",
            "Failures no adapter or diagnosis recognised.",
            &[("", s.unrecognised)],
        );
        counter(
            "helix_immune_hits_total",
            "Failures answered by a live gene (immunity).",
            &[("", s.immune_hits)],
        );
        counter(
            "helix_gene_misses_total",
            "Failures with no live gene.",
            &[("", s.gene_misses)],
        );
        counter(
            "helix_diagnoses_total",
            "Diagnoses of unrecognised failures: asked of the LLM, remembered, or failed.",
            &[
                ("{how=\"asked\"}", s.diagnoses_asked),
                ("{how=\"remembered\"}", s.diagnoses_remembered),
                ("{how=\"failed\"}", s.diagnoses_failed),
            ],
        );
        counter(
            "helix_commits_total",
            "Repairs committed (acted).",
            &[("", s.commits)],
        );
        counter(
            "helix_commit_failures_total",
            "Repairs whose commit failed.",
            &[("", s.commit_failures)],
        );
        counter(
            "helix_gene_demotions_total",
            "Genes demoted: their consecutive failures reached their source's limit.",
            &[("", s.demotions)],
        );
        counter(
            "helix_repair_cost_micro_usd_total",
            "Money spent acting on repairs, micro-USD.",
            &[("", s.cost)],
        );
        let name = "helix_stage_latency_seconds";
        let _ = writeln!(
            o,
            "# HELP {name} Time from a run's previous event to an event of this stage.\n# TYPE {name} histogram"
        );
        for (stage, h) in &s.stages {
            let mut cumulative = 0;
            for (b, c) in BUCKETS.iter().zip(h.counts) {
                cumulative += c;
                let _ = writeln!(
                    o,
                    "{name}_bucket{{stage=\"{stage}\",le=\"{b}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                o,
                "{name}_bucket{{stage=\"{stage}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(o, "{name}_sum{{stage=\"{stage}\"}} {}", h.sum);
            let _ = writeln!(o, "{name}_count{{stage=\"{stage}\"}} {}", h.count);
        }
        if let Some(b) = budget {
            for (n, help, v) in [
                ("cap", "The monthly repair budget", b.cap),
                ("spent", "Repair costs settled this month", b.spent),
                ("reserved", "Held by repairs in flight", b.reserved),
            ] {
                let _ = writeln!(
                    o,
                    "# HELP helix_budget_{n}_micro_usd {help}, micro-USD.\n# TYPE helix_budget_{n}_micro_usd gauge\nhelix_budget_{n}_micro_usd {v}"
                );
            }
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use helix_core::{Category, FailureCode, Gene, Outcome, Platform, StrategyId};

    fn recorded(consecutive_failures: u32) -> Event {
        let key = GeneKey {
            code: FailureCode::RateLimited,
            category: Category::Throttle,
        };
        let mut gene = Gene::new(&Outcome::new(
            key,
            StrategyId::BackoffRetry,
            Platform::Http,
            false,
        ));
        gene.consecutive_failures = consecutive_failures;
        Event {
            repair_id: 1,
            seq: 0,
            at: 0,
            kind: EventKind::GeneRecorded { gene },
        }
    }

    #[test]
    fn a_demotion_is_counted_once_when_the_limit_is_reached() {
        let m = Metrics::default();
        let limit = helix_core::GeneSource::Pcec.demote_after();
        for n in 0..=limit + 2 {
            m.emit(&recorded(n));
        }
        assert!(
            m.render(None).contains("\nhelix_gene_demotions_total 1\n"),
            "{}",
            m.render(None)
        );
    }
}
