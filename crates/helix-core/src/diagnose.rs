//! Diagnosis of failures no adapter recognises: a [`Diagnoser`] (an LLM in
//! `helix-llm`) is asked once per kind of failure, its answer is checked
//! against the taxonomy and remembered in the gene store under the signal's
//! [`fingerprint`], and from then on the remembered diagnosis and the gene
//! answer without asking again.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::failure::{Candidate, CandidateSource, Evidence, Failure};
use crate::gene::GeneSource;
use crate::signal::ErrorSignal;
use crate::taxonomy::{Category, FailureCode, Platform, Severity, StrategyId};

/// At most this many strategies are taken from one diagnosis.
pub const MAX_DIAGNOSED_STRATEGIES: usize = 4;

/// A classification and repairs proposed for an unrecognised signal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diagnosis {
    /// What went wrong (never `unknown`).
    pub code: FailureCode,
    /// Where.
    pub category: Category,
    /// Repairs worth trying, best first, each once.
    pub strategies: Vec<StrategyId>,
    /// Who diagnosed it (genes born from it carry this source).
    pub source: GeneSource,
    /// The diagnoser's name and model, for the event log.
    pub by: String,
}

/// Why a diagnosis is refused or could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiagnoseError {
    /// The answer was not the JSON asked for, or named things outside the
    /// taxonomy. Never used.
    #[error("diagnosis rejected: {0}")]
    Rejected(String),
    /// No diagnoser answered (down, timed out, refused).
    #[error("no diagnosis: {0}")]
    Unavailable(String),
}

impl Diagnosis {
    /// Checks the diagnosis is usable: a known code and category, at least
    /// one strategy, none repeated. Keeps the first
    /// [`MAX_DIAGNOSED_STRATEGIES`].
    pub fn validated(mut self) -> Result<Self, DiagnoseError> {
        if self.code.is_unknown() || self.category == Category::Unknown {
            return Err(DiagnoseError::Rejected(
                "the diagnosis says unknown; nothing to repair".into(),
            ));
        }
        if self.strategies.is_empty() {
            return Err(DiagnoseError::Rejected("no strategy proposed".into()));
        }
        let mut seen = Vec::with_capacity(self.strategies.len());
        for s in &self.strategies {
            if seen.contains(s) {
                return Err(DiagnoseError::Rejected(format!("strategy {s} repeated")));
            }
            seen.push(*s);
        }
        self.strategies.truncate(MAX_DIAGNOSED_STRATEGIES);
        Ok(self)
    }

    /// The failure this diagnosis stands for, on the signal's platform.
    pub fn failure(&self, signal: &ErrorSignal) -> Failure {
        Failure {
            code: self.code,
            category: self.category,
            severity: Severity::Medium,
            platform: signal.platform.unwrap_or(Platform::Other),
            evidence: Evidence::Diagnosed,
            facts: signal.facts.clone(),
        }
    }

    /// The proposed strategies as candidates, best first. Costs are unknown
    /// until a gene learns them; the budget's per-repair ceiling still holds
    /// at commit.
    pub fn candidates(&self) -> Vec<Candidate> {
        self.strategies
            .iter()
            .map(|s| Candidate {
                source: CandidateSource::Diagnosis,
                ..Candidate::new(*s, 0, 1_000)
            })
            .collect()
    }
}

/// Classifies what the adapters could not. May do I/O; called at most once
/// per fingerprint while the gene store remembers its answers.
#[async_trait]
pub trait Diagnoser: Send + Sync {
    /// A short name for events.
    fn name(&self) -> &str;
    /// A checked diagnosis, or why there is none.
    async fn diagnose(&self, signal: &ErrorSignal) -> Result<Diagnosis, DiagnoseError>;
}

/// A stable name for "this kind of failure": the platform, status, codes and
/// the message with its numbers, hex and quoted values masked, hashed with
/// 64-bit FNV-1a. Stable across processes and builds (no std hasher), so
/// instances sharing a gene store share diagnoses.
pub fn fingerprint(signal: &ErrorSignal) -> String {
    let mut h = crate::fnv::Fnv1a::new();
    // Each field ends in 0xff, which no UTF-8 text contains.
    let mut field = |b: &[u8]| {
        h.bytes(b).bytes(&[0xff]);
    };
    field(signal.platform.map_or("", |p| p.as_str()).as_bytes());
    field(&signal.http_status.unwrap_or(0).to_le_bytes());
    field(&signal.rpc_code.unwrap_or(0).to_le_bytes());
    field(signal.problem_type.as_deref().unwrap_or("").as_bytes());
    field(signal.platform_code.as_deref().unwrap_or("").as_bytes());
    field(signal.error_type.as_deref().unwrap_or("").as_bytes());
    let selector = signal
        .revert_data
        .as_deref()
        .map_or("", |d| &d[..d.len().min(10)]);
    field(selector.as_bytes());
    field(mask(&signal.message).as_bytes());
    format!("{:016x}", h.finish())
}

/// Lowercases and replaces runs of digits (and hex after `0x`) and quoted
/// values with `#`, so two occurrences differing only in amounts, ids or
/// addresses share a fingerprint.
fn mask(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            if c == '0' && matches!(chars.peek(), Some('x') | Some('X')) {
                chars.next();
            }
            while chars.peek().is_some_and(|n| n.is_ascii_hexdigit()) {
                chars.next();
            }
            out.push('#');
        } else if c == '"' || c == '\'' {
            for n in chars.by_ref() {
                if n == c {
                    break;
                }
            }
            out.push('#');
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(m: &str) -> ErrorSignal {
        ErrorSignal::message(m)
    }

    #[test]
    fn numbers_addresses_and_quoted_values_do_not_change_the_fingerprint() {
        let a = fingerprint(&sig(
            "Vault 17 locked for 0xAbC123 until 1700000000 ('ops')",
        ));
        let b = fingerprint(&sig(
            "vault 9 LOCKED for 0xfff until 1800000000 ('treasury')",
        ));
        assert_eq!(a, b);
        assert_eq!(a.len(), 16);
    }

    #[test]
    fn different_words_status_or_platform_change_it() {
        let base = fingerprint(&sig("vault locked"));
        assert_ne!(base, fingerprint(&sig("vault unlocked")));
        let mut s = sig("vault locked");
        s.http_status = Some(409);
        assert_ne!(base, fingerprint(&s));
        let mut p = sig("vault locked");
        p.platform = Some(Platform::Tempo);
        assert_ne!(base, fingerprint(&p));
    }

    #[test]
    fn the_fingerprint_is_pinned_across_builds() {
        // Shared stores hold these; a change here orphans every diagnosis.
        assert_eq!(fingerprint(&sig("")), "d9348d5b2c850f8d");
    }

    fn diag(code: FailureCode, strategies: Vec<StrategyId>) -> Diagnosis {
        Diagnosis {
            code,
            category: Category::Throttle,
            strategies,
            source: GeneSource::Llm,
            by: "test".into(),
        }
    }

    #[test]
    fn unknown_empty_or_repeated_answers_are_rejected() {
        use StrategyId::*;
        assert!(
            diag(FailureCode::Unknown, vec![Backoff])
                .validated()
                .is_err()
        );
        assert!(diag(FailureCode::RateLimited, vec![]).validated().is_err());
        assert!(
            diag(FailureCode::RateLimited, vec![Backoff, Backoff])
                .validated()
                .is_err()
        );
        let ok = diag(
            FailureCode::RateLimited,
            vec![
                Backoff,
                BackoffRetry,
                SwitchEndpoint,
                SwitchProvider,
                SwitchService,
            ],
        )
        .validated()
        .unwrap();
        assert_eq!(ok.strategies.len(), MAX_DIAGNOSED_STRATEGIES);
        assert!(
            ok.candidates()
                .iter()
                .all(|c| c.source == CandidateSource::Diagnosis)
        );
    }
}
