use helix_core::{Category as K, FailureCode as C, GeneKey, StrategyId as S};

use crate::perception::{Offer, offer};

pub fn offers(k: GeneKey) -> &'static [Offer] {
    match (k.code, k.category) {
        (C::CardDeclined, K::Card) => {
            const {
                &[
                    offer(S::SwitchPaymentMethod, 0, 400),
                    offer(S::ReduceRequest, 0, 10),
                    offer(S::HoldAndNotify, 0, 100),
                ]
            }
        }
        (C::CardExpired, K::Card) => {
            const {
                &[
                    offer(S::SwitchPaymentMethod, 0, 400),
                    offer(S::HoldAndNotify, 0, 100),
                ]
            }
        }
        (C::IdempotencyConflict, K::Request) => const { &[offer(S::ResolveIdempotency, 0, 300)] },
        (C::ActionRequired, K::Card) => const { &[offer(S::HoldAndNotify, 0, 100)] },
        _ => const { &[] },
    }
}
