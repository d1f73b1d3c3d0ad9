use helix_core::{Category as K, FailureCode as C, GeneKey, StrategyId as S};

use crate::perception::{Offer, offer};

/// Privy's own failure; nonce, fee and chain failures share Tempo's genes.
pub fn offers(k: GeneKey) -> &'static [Offer] {
    match (k.code, k.category) {
        (C::PolicyViolation, K::Policy) => const { &[offer(S::SplitTransaction, 2_000, 600)] },
        _ => const { &[] },
    }
}
