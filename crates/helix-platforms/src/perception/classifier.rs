//! The built-in adapter: every platform table compiled into one classifier.
//!
//! Order of evidence (SCENARIOS.md): typed errors, then problem+json types,
//! platform error codes, JSON-RPC codes and revert selectors, probe facts,
//! unambiguous statuses (429, 408), then message rules, and last the bare
//! status class (5xx). A message that reports success is never a failure;
//! what nothing recognises stays unknown.

use helix_core::{
    Adapter, Candidate, Category, ErrorSignal, Evidence, Facts, Failure, FailureCode, GeneKey,
    Platform, Severity, StrategyId,
};

use crate::perception::marks::Marks;
use crate::perception::rules::{Rule, RuleSet, Scan};

/// A classification from structured evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// What went wrong.
    pub code: FailureCode,
    /// Where.
    pub category: Category,
    /// How bad.
    pub severity: Severity,
    /// Which evidence decided.
    pub evidence: Evidence,
    /// The evidence says this is no payment failure (a chain error the
    /// platform defines as administration, say): nothing else may force
    /// it into one.
    pub refuse: bool,
}

impl Verdict {
    /// A verdict of medium severity.
    pub const fn new(code: FailureCode, category: Category, evidence: Evidence) -> Self {
        Verdict {
            code,
            category,
            severity: Severity::Medium,
            evidence,
            refuse: false,
        }
    }

    /// Known, and no payment failure.
    pub const fn not_a_payment_failure(evidence: Evidence) -> Self {
        Verdict {
            refuse: true,
            ..Verdict::new(FailureCode::Unknown, Category::Unknown, evidence)
        }
    }
}

/// A repair a platform offers for a gene key.
#[derive(Debug, Clone, Copy)]
pub struct Offer {
    /// The strategy.
    pub strategy: StrategyId,
    /// Estimated cost, micro-USD.
    pub est_cost: u64,
    /// Estimated time, ms.
    pub est_ms: u64,
    /// Default parameters as JSON ("" for none).
    pub params: &'static str,
}

/// Shorthand for table rows.
pub const fn offer(strategy: StrategyId, est_cost: u64, est_ms: u64) -> Offer {
    Offer {
        strategy,
        est_cost,
        est_ms,
        params: "",
    }
}

/// What a platform folder contributes. Every folder has the same shape:
/// `perceive.rs` (structured checks and message rules), `strategies.rs`
/// (offers per gene key) and `tests.rs` (real error strings).
#[derive(Clone, Copy)]
pub struct PlatformTable {
    /// The platform.
    pub platform: Platform,
    /// Checks on typed fields (and on marked structure in the message:
    /// revert data, a problem type), before any message rule.
    pub structured: fn(&ErrorSignal, &Marks) -> Option<Verdict>,
    /// Checks after the message rules found nothing (bare status classes).
    pub fallback: fn(&ErrorSignal, &Marks) -> Option<Verdict>,
    /// Message rules, in priority order.
    pub rules: &'static [Rule],
    /// Repairs per gene key, preferred first.
    pub offers: fn(GeneKey) -> &'static [Offer],
    /// Facts the platform reads from a signal once the verdict is known (a
    /// revert's decoded arguments); fills only what is still unknown.
    pub facts: fn(&ErrorSignal, &Verdict, &mut Facts),
}

/// A table with no facts of its own.
pub fn no_facts(_: &ErrorSignal, _: &Verdict, _: &mut Facts) {}

/// Classifies with a set of platform tables; an [`Adapter`].
pub struct Classifier {
    tables: Vec<PlatformTable>,
    rules: RuleSet,
}

impl std::fmt::Debug for Classifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Classifier")
            .field(
                "platforms",
                &self.tables.iter().map(|t| t.platform).collect::<Vec<_>>(),
            )
            .field("rules", &self.rules.rules().len())
            .finish()
    }
}

impl Classifier {
    /// Compiles the given tables; earlier tables' rules win ties.
    pub fn new(tables: &[PlatformTable]) -> Self {
        let rules = tables
            .iter()
            .flat_map(|t| t.rules.iter().copied())
            .collect();
        Classifier {
            tables: tables.to_vec(),
            rules: RuleSet::new(rules),
        }
    }

    /// The compiled rules.
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// The failure a verdict makes, with the facts of rule `extract`'s
    /// phrases and of every platform's hook. Facts are filled in place: a
    /// `Failure` is some 300 bytes, and each move of one is a copy.
    fn failure(
        &self,
        s: &ErrorSignal,
        v: &Verdict,
        platform: Platform,
        extract: Option<(usize, &Scan)>,
    ) -> Failure {
        let mut f = Failure {
            code: v.code,
            category: v.category,
            severity: v.severity,
            platform: s.platform.unwrap_or(platform),
            evidence: v.evidence,
            facts: s.facts.clone(),
        };
        if let Some((i, scan)) = extract {
            self.rules.extract(i, &s.message, scan, &mut f.facts);
        }
        for t in &self.tables {
            (t.facts)(s, v, &mut f.facts);
        }
        f
    }

    /// Classifies a bare message (as `helix classify` does).
    pub fn classify_message(&self, message: &str) -> Option<Failure> {
        self.perceive(&ErrorSignal::message(message))
    }
}

impl Adapter for Classifier {
    fn name(&self) -> &'static str {
        "builtin"
    }

    fn perceive(&self, s: &ErrorSignal) -> Option<Failure> {
        // One scan serves the rules and tells the structured readers where
        // (and whether) their markers are.
        let mut scan = Scan::default();
        let marks = if s.message.is_empty() {
            Marks::NONE
        } else {
            self.rules.scan_into(&s.message, &mut scan);
            scan.marks(&s.message)
        };
        let mut best: Option<(Verdict, Platform)> = None;
        for t in &self.tables {
            if let Some(v) = (t.structured)(s, &marks)
                && best.as_ref().is_none_or(|(b, _)| v.evidence < b.evidence)
            {
                best = Some((v, t.platform));
            }
        }
        // An empty message leaves the scan empty: no rule matches.
        let matched = self.rules.first_match_at(&scan.hits);
        if let Some((v, platform)) = best {
            if v.refuse {
                return None;
            }
            // The message may still carry numbers the repair needs.
            let extract = matched
                .filter(|&i| self.rules.rules()[i].code == v.code)
                .map(|i| (i, &scan));
            return Some(self.failure(s, &v, platform, extract));
        }
        if self.rules.reports_success(&scan.hits) {
            return None;
        }
        if let Some(i) = matched {
            let r = &self.rules.rules()[i];
            let v = Verdict {
                code: r.code,
                category: r.category,
                severity: r.severity,
                evidence: Evidence::Message,
                refuse: false,
            };
            return Some(self.failure(s, &v, r.platform, Some((i, &scan))));
        }
        self.tables
            .iter()
            .find_map(|t| (t.fallback)(s, &marks).map(|v| self.failure(s, &v, t.platform, None)))
    }

    fn construct(&self, f: &Failure) -> Vec<Candidate> {
        let mut out: Vec<Candidate> = Vec::new();
        for t in &self.tables {
            for o in (t.offers)(f.key()) {
                if out.iter().any(|c| c.strategy == o.strategy) {
                    continue;
                }
                let params = if o.params.is_empty() {
                    serde_json::Value::Null
                } else {
                    serde_json::from_str(o.params).unwrap_or(serde_json::Value::Null)
                };
                out.push(Candidate::new(o.strategy, o.est_cost, o.est_ms).with_params(params));
            }
        }
        out
    }
}

/// No structured check.
pub fn no_check(_: &ErrorSignal, _: &Marks) -> Option<Verdict> {
    None
}
