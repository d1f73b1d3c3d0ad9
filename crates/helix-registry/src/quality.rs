//! How much the registry trusts a gene: only what the chain confirmed counts.
//!
//! ```text
//! quality = success_rate × ln(1 + verified_agents) × proof
//! success_rate = S / (S + F)
//! proof = E / (E + 1)
//! ```
//!
//! * `S`: the successes of the agents, each agent counting with the largest
//!   cumulative count it pushed (so pushing the same record a thousand times
//!   counts once) and at most as many as its verified transactions (a
//!   success nobody can check is a claim, not a success).
//! * `F`: the failures of every agent that pushed or reported the gene (a
//!   report needs no evidence: a failure proves nothing on chain), again the
//!   largest count each agent sent.
//! * `verified_agents`: distinct agents with a verified transaction.
//! * `E`: distinct verified transactions (a transaction proves one gene, once).
//!
//! One agent, one transaction, one success: 1 × ln 2 × 0.5 = 0.347, just
//! over the default pull threshold ([`PULL_THRESHOLD`], 0.3), so a single
//! honest, proven repair propagates; one failure report against it gives
//! 0.5 × ln 2 × 0.5 = 0.173 and it stops being served. A gene no agent
//! proved has quality 0 whatever its pushers claim.

/// Genes under this quality are not served to pulls or broadcast.
pub const PULL_THRESHOLD: f64 = 0.3;

/// What the quality is computed from.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Tally {
    /// `S` above.
    pub successes: u64,
    /// `F` above.
    pub failures: u64,
    /// Distinct agents with a verified transaction.
    pub verified_agents: u64,
    /// `E` above.
    pub verified_evidence: u64,
}

/// The rule in the module docs.
pub fn quality(t: Tally) -> f64 {
    let outcomes = t.successes + t.failures;
    if outcomes == 0 || t.verified_agents == 0 || t.verified_evidence == 0 {
        return 0.0;
    }
    let rate = t.successes as f64 / outcomes as f64;
    let agents = (1.0 + t.verified_agents as f64).ln();
    let e = t.verified_evidence as f64;
    rate * agents * (e / (e + 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: u64, f: u64, a: u64, e: u64) -> Tally {
        Tally {
            successes: s,
            failures: f,
            verified_agents: a,
            verified_evidence: e,
        }
    }

    #[test]
    fn the_documented_figures() {
        let one = quality(t(1, 0, 1, 1));
        assert!((one - 2f64.ln() * 0.5).abs() < 1e-12);
        assert!(one > PULL_THRESHOLD);
        let reported = quality(t(1, 1, 1, 1));
        assert!((reported - 0.5 * 2f64.ln() * 0.5).abs() < 1e-12);
        assert!(reported < PULL_THRESHOLD);
    }

    #[test]
    fn nothing_proven_is_worth_nothing() {
        assert_eq!(quality(t(1000, 0, 0, 0)), 0.0);
        assert_eq!(quality(t(1000, 0, 1, 0)), 0.0);
        assert_eq!(quality(t(0, 0, 1, 1)), 0.0);
    }

    #[test]
    fn more_agents_and_more_proof_raise_it() {
        assert!(quality(t(3, 0, 3, 3)) > quality(t(3, 0, 1, 3)));
        assert!(quality(t(3, 0, 1, 3)) > quality(t(3, 0, 1, 1)));
        assert!(quality(t(3, 1, 1, 1)) < quality(t(3, 0, 1, 1)));
    }
}
