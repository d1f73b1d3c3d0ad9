//! Evaluate: rank candidates by adapter preference, gene history, cost and speed.
//!
//! `score = 1.0 - 0.15 * position + 0.5 * (q - 0.5) [gene for this strategy]
//!          - 0.1 * cost_usd - est_ms / 60_000`
//!
//! Adapter order is the strongest signal (the platform expert's preference);
//! a gene that proved itself lifts its strategy, one that failed lowers it;
//! a dollar of repair cost outweighs a minute of waiting.

use crate::failure::Candidate;
use crate::gene::Gene;

/// `first` (a diagnosis's candidates, which know the failure best because
/// no adapter recognised it), then every adapter's candidates for
/// `failure` in adapter order; each strategy once (the first offer wins).
pub fn construct(
    adapters: &[std::sync::Arc<dyn crate::Adapter>],
    failure: &crate::Failure,
    first: &[Candidate],
) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = first.to_vec();
    for a in adapters {
        for c in a.construct(failure) {
            if !out.iter().any(|x| x.strategy == c.strategy) {
                out.push(c);
            }
        }
    }
    out
}

/// Candidates with scores, best first. Ties keep adapter order.
pub fn rank(candidates: Vec<Candidate>, gene: Option<&Gene>) -> Vec<(Candidate, f64)> {
    let mut scored: Vec<(Candidate, f64)> = candidates
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let mut s = 1.0 - 0.15 * i as f64;
            if let Some(g) = gene.filter(|g| g.strategy == c.strategy) {
                s += 0.5 * (g.q - 0.5);
            }
            s -= 0.1 * (c.est_cost as f64 / 1e6);
            s -= c.est_ms as f64 / 60_000.0;
            (c, s)
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
    scored
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::taxonomy::StrategyId as S;

    #[test]
    fn adapter_order_wins_unless_cost_or_history_say_otherwise() {
        let r = rank(
            vec![
                Candidate::new(S::SwapCurrency, 10_000, 500),
                Candidate::new(S::TopupFromReserve, 10_000, 500),
            ],
            None,
        );
        assert_eq!(r[0].0.strategy, S::SwapCurrency);
        let r = rank(
            vec![
                Candidate::new(S::SwapCurrency, 3_000_000, 500),
                Candidate::new(S::TopupFromReserve, 0, 500),
            ],
            None,
        );
        assert_eq!(
            r[0].0.strategy,
            S::TopupFromReserve,
            "a $3 repair loses to a free one"
        );
    }
}
