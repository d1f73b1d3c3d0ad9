//! [`Failure`] (what Perceive decided) and [`Candidate`] (a repair Construct proposes).

use serde::{Deserialize, Serialize};

use crate::signal::Facts;
use crate::taxonomy::{Category, FailureCode, Platform, Severity, StrategyId};

/// The key genes are stored under. Not keyed by platform, which is what makes
/// a repair learned on Tempo heal the same failure on Privy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct GeneKey {
    /// What went wrong.
    pub code: FailureCode,
    /// Where.
    pub category: Category,
}

impl std::fmt::Display for GeneKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.code, self.category)
    }
}

/// Which piece of evidence decided the classification (order of evidence).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Evidence {
    /// A typed error from a known library.
    Typed,
    /// The problem+json `type` of an MPP 402.
    ProblemType,
    /// The platform's own error code.
    PlatformCode,
    /// A JSON-RPC code or a decoded revert selector.
    Rpc,
    /// Facts gathered by probes.
    Probe,
    /// The HTTP status alone.
    Status,
    /// Words in the message.
    Message,
    /// A user adapter's own logic.
    Custom,
    /// A [`Diagnoser`](crate::Diagnoser) (an LLM) for a signal no adapter
    /// recognised; checked against the taxonomy, remembered by fingerprint.
    Diagnosed,
    /// A [`Forecast`](crate::Forecast): the failure is expected (a
    /// recurring window), not seen.
    Forecast,
}

/// A classified failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// What went wrong.
    pub code: FailureCode,
    /// Where.
    pub category: Category,
    /// How bad.
    pub severity: Severity,
    /// Which platform.
    pub platform: Platform,
    /// What decided it.
    pub evidence: Evidence,
    /// Facts from the signal, plus those the adapter read from the message.
    #[serde(default)]
    pub facts: Facts,
}

impl Failure {
    /// A failure no adapter recognised.
    pub fn unknown(platform: Option<Platform>) -> Self {
        Failure {
            code: FailureCode::Unknown,
            category: Category::Unknown,
            severity: Severity::Medium,
            platform: platform.unwrap_or(Platform::Other),
            evidence: Evidence::Message,
            facts: Facts::default(),
        }
    }

    /// The gene key of this failure.
    pub fn key(&self) -> GeneKey {
        GeneKey {
            code: self.code,
            category: self.category,
        }
    }
}

/// Where a candidate came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CandidateSource {
    /// Proposed by an adapter's construct.
    Adapter,
    /// Taken from a stored gene (immunity).
    Gene,
    /// Proposed by a diagnoser for a failure no adapter recognised.
    Diagnosis,
}

/// A repair worth considering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// The repair.
    pub strategy: StrategyId,
    /// Repair parameters (slippage, parts, backoff ...), passed to the executor.
    #[serde(default)]
    pub params: serde_json::Value,
    /// Estimated cost in micro-USD (6 decimals, as TIP-20 stablecoins).
    pub est_cost: u64,
    /// Estimated time to commit, in milliseconds.
    pub est_ms: u64,
    /// Where it came from.
    pub source: CandidateSource,
}

impl Candidate {
    /// A candidate with no parameters.
    pub fn new(strategy: StrategyId, est_cost: u64, est_ms: u64) -> Self {
        Candidate {
            strategy,
            params: serde_json::Value::Null,
            est_cost,
            est_ms,
            source: CandidateSource::Adapter,
        }
    }

    /// Builder-style: set parameters.
    pub fn with_params(mut self, params: serde_json::Value) -> Self {
        self.params = params;
        self
    }
}
