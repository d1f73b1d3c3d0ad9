//! Genes: what worked, stored so the next identical failure is repaired at once.
//!
//! # The learning rule
//!
//! Every backend applies [`Gene::learn`], so SQLite, PostgreSQL and the
//! in-memory store agree on every number:
//!
//! * q-value: exponential moving average of verified outcomes,
//!   `q <- q + ALPHA * (r - q)` with `r = 1` for a verified success and
//!   `r = 0` for a failure, `ALPHA = 0.3`, starting from `q = 0.5`. One success
//!   gives 0.65, two give 0.755; one failure from new gives 0.35.
//! * confidence: starts at the source's prior (pcec 1.0 because the repair
//!   was verified, llm 0.6, human 0.9, registry 0.3), which the outcome
//!   that gives birth to the gene does not change, and rises only with
//!   later verified successes, `c <- c + 0.1 * (1 - c)`; failures leave it
//!   alone (q carries the bad news).
//! * consecutive failures: reset by a success; at [`DEMOTE_AFTER`] (at one
//!   for a gene pulled from a registry) the gene is demoted and no longer
//!   used for immunity.
//! * mean repair time and cost: running means over verified successes.

use serde::{Deserialize, Serialize};

use crate::failure::GeneKey;
use crate::taxonomy::{Platform, StrategyId};

/// Learning rate of the q-value.
pub const ALPHA: f64 = 0.3;
/// q of a gene before its first outcome.
pub const Q_START: f64 = 0.5;
/// A gene with this many consecutive failures is demoted.
pub const DEMOTE_AFTER: u32 = 3;

/// Who made a gene.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GeneSource {
    /// The PCEC loop verified it.
    Pcec,
    /// Proposed by the LLM fallback.
    Llm,
    /// Written by a person.
    Human,
    /// Pulled from a gene registry.
    Registry,
}

impl GeneSource {
    /// The stable string form.
    pub const fn as_str(self) -> &'static str {
        match self {
            GeneSource::Pcec => "pcec",
            GeneSource::Llm => "llm",
            GeneSource::Human => "human",
            GeneSource::Registry => "registry",
        }
    }

    /// Parses the stable string form.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pcec" => GeneSource::Pcec,
            "llm" => GeneSource::Llm,
            "human" => GeneSource::Human,
            "registry" => GeneSource::Registry,
            _ => return None,
        })
    }

    /// Consecutive failures that demote a gene of this source: a gene
    /// pulled from a registry is a stranger's claim, so its first local
    /// failure is enough.
    pub const fn demote_after(self) -> u32 {
        match self {
            GeneSource::Registry => 1,
            _ => DEMOTE_AFTER,
        }
    }

    /// Confidence of a gene born from this source.
    pub const fn prior_confidence(self) -> f64 {
        match self {
            GeneSource::Pcec => 1.0,
            GeneSource::Llm => 0.6,
            GeneSource::Human => 0.9,
            GeneSource::Registry => 0.3,
        }
    }
}

/// A stored repair for one (code, category) and one strategy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gene {
    /// The failure it repairs.
    pub key: GeneKey,
    /// The repair.
    pub strategy: StrategyId,
    /// The parameters that worked.
    pub params: serde_json::Value,
    /// Learned value, see the module docs.
    pub q: f64,
    /// Verified successes.
    pub successes: u64,
    /// Failures (commit or verify).
    pub failures: u64,
    /// Failures since the last success.
    pub consecutive_failures: u32,
    /// Mean time of a successful repair, ms.
    pub mean_ms: f64,
    /// Mean money spent by a successful repair, micro-USD (the estimate an
    /// immune repair reserves against the budget).
    pub mean_cost: f64,
    /// Platforms the gene has been used on, sorted.
    pub platforms: Vec<Platform>,
    /// Who made it.
    pub source: GeneSource,
    /// See the module docs.
    pub confidence: f64,
    /// After this (unix ms) the gene is a miss.
    pub expires_at: Option<i64>,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms of the last recorded outcome.
    pub last_used_at: i64,
}

/// One set of parameters a gene was given by a tuner (`GeneStore::retune`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneVersion {
    /// 1 for the first retune of this gene, then up by one.
    pub version: u32,
    /// The parameters from then on.
    pub params: serde_json::Value,
    /// Why: what the tuner had seen (its trials per candidate value).
    pub evidence: serde_json::Value,
    /// Unix ms.
    pub created_at: i64,
}

/// One verified (or failed) use of a strategy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// The failure.
    pub key: GeneKey,
    /// The repair used.
    pub strategy: StrategyId,
    /// Its parameters.
    pub params: serde_json::Value,
    /// Whether the retried payment succeeded.
    pub success: bool,
    /// Time of the repair, ms.
    pub ms: u64,
    /// Money spent by the repair, micro-USD.
    pub cost: u64,
    /// Where it happened.
    pub platform: Platform,
    /// Who proposed the repair.
    pub source: GeneSource,
    /// Unix ms.
    pub at: i64,
    /// This outcome's identity, so a store that is handed it twice (a queue
    /// replayed after a crash between record and dequeue) learns from it
    /// once. 0: none (an outcome from before ids; never deduplicated).
    #[serde(default)]
    pub id: u64,
    /// The repair's own transactions (hashes), which prove it to a gene
    /// registry; empty for a repair that sent none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
}

/// A fresh outcome id: random, never 0.
pub fn outcome_id() -> u64 {
    rand::random::<u64>() | 1
}

impl Outcome {
    /// An outcome of a repair found by the PCEC loop, now, with no
    /// parameters, time or cost; set the rest with struct update syntax.
    pub fn new(key: GeneKey, strategy: StrategyId, platform: Platform, success: bool) -> Self {
        Outcome {
            key,
            strategy,
            params: serde_json::Value::Null,
            success,
            ms: 0,
            cost: 0,
            platform,
            source: GeneSource::Pcec,
            at: now_ms(),
            id: outcome_id(),
            evidence: Vec::new(),
        }
    }
}

impl Gene {
    /// A gene before any outcome.
    pub fn new(o: &Outcome) -> Self {
        Gene {
            key: o.key,
            strategy: o.strategy,
            params: o.params.clone(),
            q: Q_START,
            successes: 0,
            failures: 0,
            consecutive_failures: 0,
            mean_ms: 0.0,
            mean_cost: 0.0,
            platforms: Vec::new(),
            source: o.source,
            confidence: o.source.prior_confidence(),
            expires_at: None,
            created_at: o.at,
            last_used_at: o.at,
        }
    }

    /// Applies one outcome (the learning rule in the module docs).
    pub fn learn(&mut self, o: &Outcome) {
        let born_now = self.successes == 0 && self.failures == 0;
        let r = if o.success { 1.0 } else { 0.0 };
        self.q += ALPHA * (r - self.q);
        if o.success {
            self.successes += 1;
            self.consecutive_failures = 0;
            let n = self.successes as f64;
            self.mean_ms += (o.ms as f64 - self.mean_ms) / n;
            self.mean_cost += (o.cost as f64 - self.mean_cost) / n;
            if !born_now {
                self.confidence += 0.1 * (1.0 - self.confidence);
            }
            if !o.params.is_null() {
                self.params = o.params.clone();
            }
        } else {
            self.failures += 1;
            self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        }
        if let Err(i) = self.platforms.binary_search(&o.platform) {
            self.platforms.insert(i, o.platform);
        }
        self.last_used_at = self.last_used_at.max(o.at);
    }

    /// Whether the gene may answer a lookup at `now` (unix ms).
    pub fn is_live(&self, now: i64) -> bool {
        self.expires_at.is_none_or(|t| t > now)
            && self.consecutive_failures < self.source.demote_after()
    }
}

/// Picks the best live gene: highest q, then most successes.
pub fn best_of<'a>(genes: impl IntoIterator<Item = &'a Gene>, now: i64) -> Option<&'a Gene> {
    genes.into_iter().filter(|g| g.is_live(now)).max_by(|a, b| {
        a.q.total_cmp(&b.q)
            .then(a.successes.cmp(&b.successes))
            .then(b.strategy.cmp(&a.strategy))
    })
}

/// Current time as unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::taxonomy::{Category, FailureCode};

    fn outcome(success: bool) -> Outcome {
        let key = GeneKey {
            code: FailureCode::RateLimited,
            category: Category::Throttle,
        };
        Outcome {
            ms: 100,
            at: 1,
            ..Outcome::new(key, StrategyId::Backoff, Platform::Http, success)
        }
    }

    #[test]
    fn learning_rule_matches_the_documented_numbers() {
        let mut g = Gene::new(&outcome(true));
        g.learn(&outcome(true));
        assert!((g.q - 0.65).abs() < 1e-9);
        g.learn(&outcome(true));
        assert!((g.q - 0.755).abs() < 1e-9);
        let mut f = Gene::new(&outcome(false));
        f.learn(&outcome(false));
        assert!((f.q - 0.35).abs() < 1e-9);
        assert_eq!(f.failures, 1);
    }

    #[test]
    fn demoted_and_expired_genes_are_not_live() {
        let mut g = Gene::new(&outcome(true));
        g.learn(&outcome(true));
        assert!(g.is_live(10));
        for _ in 0..DEMOTE_AFTER {
            g.learn(&outcome(false));
        }
        assert!(!g.is_live(10));
        g.learn(&outcome(true));
        assert!(g.is_live(10));
        g.expires_at = Some(10);
        assert!(!g.is_live(10));
        assert!(g.is_live(9));
    }

    #[test]
    fn llm_confidence_rises_only_with_successes() {
        let mut o = outcome(false);
        o.source = GeneSource::Llm;
        o.success = true;
        let mut g = Gene::new(&o);
        g.learn(&o);
        assert_eq!(g.confidence, 0.6, "birth keeps the prior");
        o.success = false;
        g.learn(&o);
        assert_eq!(g.confidence, 0.6, "a failure never raises it");
        o.success = true;
        g.learn(&o);
        assert!((g.confidence - 0.64).abs() < 1e-12, "{}", g.confidence);
    }
}
