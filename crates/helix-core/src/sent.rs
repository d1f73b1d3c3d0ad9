//! The rule for a payment that has left the agent.
//!
//! Once a credential or a transaction has left the process, a failure says
//! nothing reliable about the money: a server (or a gateway in front of it)
//! may settle and then answer 500, 429 or even a 402 "payment-insufficient".
//! So such a failure is classified `outcome-unknown` whatever its words,
//! unless the signal carries proof: a receipt from the server (then the
//! payment was taken and the receipt is presented), or proof that nothing
//! was charged (a mined receipt with a failed status, or a transaction past
//! its `valid_before` with no receipt), which a probe reads from the chain.
//! While the outcome is unproven, only strategies that cannot make the
//! payment again may run ([`StrategyId::safe_after_send`]).

use std::sync::Arc;

use crate::failure::{Evidence, Failure};
use crate::signal::ErrorSignal;
use crate::taxonomy::{Category, FailureCode, Platform, Severity};
use crate::traits::Adapter;

/// A payment left the agent and nothing proves what became of it.
pub fn outcome_unproven(s: &ErrorSignal) -> bool {
    s.facts.payment_sent && !s.facts.not_charged && s.facts.payment_receipt.is_none()
}

/// A payment left the agent and nothing proves it moved no funds: a
/// receipt says it was taken, or nothing says anything.
pub fn may_have_paid(s: &ErrorSignal) -> bool {
    s.facts.payment_sent && !s.facts.not_charged
}

/// Perceive with the adapters, then the rule above: what the adapters say
/// of an unproven sent payment is kept only for its facts.
pub fn perceive(adapters: &[Arc<dyn Adapter>], s: &ErrorSignal) -> Option<Failure> {
    let found = adapters.iter().find_map(|a| a.perceive(s));
    if !outcome_unproven(s) {
        return found;
    }
    let (platform, facts) = match found {
        Some(f) if f.code == FailureCode::OutcomeUnknown => return Some(f),
        Some(f) => (f.platform, f.facts),
        None => (s.platform.unwrap_or(Platform::Other), s.facts.clone()),
    };
    Some(Failure {
        code: FailureCode::OutcomeUnknown,
        category: Category::Service,
        severity: Severity::Critical,
        platform,
        evidence: Evidence::Typed,
        facts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failure::Candidate;

    struct SaysRateLimited;
    impl Adapter for SaysRateLimited {
        fn name(&self) -> &'static str {
            "t"
        }
        fn perceive(&self, s: &ErrorSignal) -> Option<Failure> {
            (s.http_status == Some(429)).then(|| Failure {
                code: FailureCode::RateLimited,
                category: Category::Throttle,
                severity: Severity::Low,
                platform: Platform::Http,
                evidence: Evidence::Status,
                facts: s.facts.clone(),
            })
        }
        fn construct(&self, _: &Failure) -> Vec<Candidate> {
            Vec::new()
        }
    }

    fn adapters() -> Vec<Arc<dyn Adapter>> {
        vec![Arc::new(SaysRateLimited)]
    }

    #[test]
    fn a_failure_after_the_payment_left_is_an_unknown_outcome() {
        let mut s = ErrorSignal::message("429 Too Many Requests").with_status(429);
        let before = perceive(&adapters(), &s).unwrap();
        assert_eq!(before.code, FailureCode::RateLimited);
        s.facts.payment_sent = true;
        s.facts.tx_hash = Some("0xabc".into());
        let after = perceive(&adapters(), &s).unwrap();
        assert_eq!(after.code, FailureCode::OutcomeUnknown);
        assert_eq!(after.facts.tx_hash.as_deref(), Some("0xabc"));
        // Unrecognised words change nothing: still unknown, never "unrecognised".
        let s2 = ErrorSignal {
            facts: s.facts.clone(),
            ..ErrorSignal::message("teapot")
        };
        assert_eq!(
            perceive(&adapters(), &s2).unwrap().code,
            FailureCode::OutcomeUnknown
        );
    }

    #[test]
    fn proof_either_way_lets_the_adapters_decide() {
        let mut s = ErrorSignal::message("429").with_status(429);
        s.facts.payment_sent = true;
        s.facts.not_charged = true;
        assert_eq!(
            perceive(&adapters(), &s).unwrap().code,
            FailureCode::RateLimited
        );
        s.facts.not_charged = false;
        s.facts.payment_receipt = Some("r".into());
        assert_eq!(
            perceive(&adapters(), &s).unwrap().code,
            FailureCode::RateLimited
        );
        assert!(may_have_paid(&s), "a receipt means it was taken");
    }
}
